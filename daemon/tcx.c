// SPDX-License-Identifier: GPL-2.0-only
/* tcx hooks through the bpf syscall (see tcx.h). */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "tcx.h"

#define _FOS_BPF_TCX_INGRESS   46
#define _FOS_BPF_TCX_EGRESS    47
#define _FOS_BPF_LINK_TYPE_TCX 11

struct _fos_tcx_create { /* union bpf_attr, BPF_LINK_CREATE of a tcx hook */
	uint32_t prog_fd;
	uint32_t target_ifindex;
	uint32_t attach_type;
	uint32_t flags;
	uint32_t relative_fd;
	uint32_t pad;
	uint64_t expected_revision;
};

struct _fos_tcx_info { /* struct bpf_link_info of a tcx link */
	uint32_t type;
	uint32_t id;
	uint32_t prog_id;
	uint32_t pad;
	uint32_t ifindex;
	uint32_t attach_type;
	uint64_t rest[6];
};

bool fos_tcx_supported(void)
{
	static int have = -1;

	if (have < 0) {
		uint32_t flags = 0, cnt = 0;

		/* a query of a hook type the kernel does not know is EINVAL */
		have = bpf_prog_query(1 /* lo */, _FOS_BPF_TCX_INGRESS, 0, &flags, NULL, &cnt) == 0;
	}
	return have;
}

int fos_tcx_link_create(int prog_fd, unsigned ifindex, bool ingress, uint32_t flags,
			int relative_fd)
{
	struct _fos_tcx_create a = {
	    .prog_fd = (uint32_t)prog_fd,
	    .target_ifindex = ifindex,
	    .attach_type = ingress ? _FOS_BPF_TCX_INGRESS : _FOS_BPF_TCX_EGRESS,
	    .flags = flags,
	    .relative_fd = flags ? (uint32_t)relative_fd : 0,
	};
	long fd = syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));

	return fd < 0 ? -errno : (int)fd;
}

int fos_tcx_link_info(int fd, uint32_t *ret_ifindex, uint32_t *ret_prog_id)
{
	struct _fos_tcx_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return -errno;
	if (info.type != _FOS_BPF_LINK_TYPE_TCX)
		return -EINVAL;
	*ret_ifindex = info.ifindex;
	*ret_prog_id = info.prog_id;
	return 0;
}
