// SPDX-License-Identifier: GPL-2.0-only
/* fosctl's connection to fwd: opened on first use, kept for the shell. */
#include <errno.h>
#include <poll.h>

#include "cleanup.h"
#include "fosctl.h"
#include "ipc.h"

void fosctl_disconnect(struct fosctl *f)
{
	fos_closep(&f->fd);
}

/* fwd never speaks unasked: an idle connection that is readable was closed. */
static bool _fosctl_connection_dead(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) != 0;
}

/* fos.GetInfo first: a daemon speaking another protocol is refused before
 * anything is sent that it might read differently. */
static int _fosctl_check_protocol(struct fosctl *f)
{
	json_object *reply = NULL, *p, *proto;
	int r;

	r = fos_ipc_call(f->fd, "fos.GetInfo", NULL, &reply);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(reply, "parameters", &p) ||
	    !json_object_object_get_ex(p, "protocol", &proto) ||
	    !json_object_is_type(proto, json_type_int))
		r = -EBADMSG;
	else if (json_object_get_int(proto) != FOS_IPC_PROTOCOL)
		r = -EPROTO;
	json_object_put(reply);
	return r;
}

int fosctl_connect(struct fosctl *f)
{
	int fd, r;

	if (f->fd >= 0 && _fosctl_connection_dead(f->fd))
		fosctl_disconnect(f);
	if (f->fd >= 0)
		return 0;

	fd = fos_ipc_connect(f->socket);
	if (fd < 0)
		return fd;
	f->fd = fd;
	r = _fosctl_check_protocol(f);
	if (r < 0)
		fosctl_disconnect(f);
	return r;
}

int fosctl_call(struct fosctl *f, const char *method, json_object *params, json_object **ret_reply)
{
	int r;

	r = fosctl_connect(f);
	if (r < 0) {
		json_object_put(params);
		return r;
	}
	r = fos_ipc_call(f->fd, method, params, ret_reply);
	if (r < 0)
		fosctl_disconnect(f);
	return r;
}
