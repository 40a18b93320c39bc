// SPDX-License-Identifier: GPL-2.0-only
/* Interface facts fwd needs from rtnetlink. */
#include <errno.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vrf.h>

#include "fwd.h"
#include "log.h"

int fos_nl_zone(unsigned ifindex, uint32_t *ret_zone)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct rtnl_link *link = NULL, *master = NULL;
	uint32_t zone = 0;
	int r, mi;

	if (!sk)
		return -ENOMEM;
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		r = -EIO;
		goto out;
	}
	r = rtnl_link_get_kernel(sk, (int)ifindex, NULL, &link);
	if (r < 0) {
		r = -ENODEV;
		goto out;
	}
	mi = rtnl_link_get_master(link);
	if (mi > 0 && rtnl_link_get_kernel(sk, mi, NULL, &master) == 0 &&
	    rtnl_link_is_vrf(master)) {
		if (rtnl_link_vrf_get_tableid(master, &zone) < 0)
			zone = 0;
	}
	*ret_zone = zone;
	r = 0;
out:
	rtnl_link_put(master);
	rtnl_link_put(link);
	nl_socket_free(sk);
	return r;
}
