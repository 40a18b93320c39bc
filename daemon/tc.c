// SPDX-License-Identifier: GPL-2.0-only
/*
 * TC attachment: fos's programs sit in the clsact qdisc of an interface as
 * direct-action bpf filters with fos's handle and the configured priority.
 * A tc filter is not a bpf_link: it stays in place without fwd, and a
 * restarted fwd finds it again through the program's pinned fos_tc_attach
 * map, replacing the program in place (the kernel swaps it atomically).
 * A filter fos did not put on a hook is never replaced or removed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cleanup.h"
#include "fwd.h"
#include "log.h"
#include "tc.skel.h"

/* libbpf logs the kernel's message for every failed netlink request; an
 * existing clsact qdisc or an empty hook are expected answers, not errors */
static int _fos_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static void _fos_tc_hook(unsigned ifindex, bool ingress, struct bpf_tc_hook *h)
{
	memset(h, 0, sizeof(*h));
	h->sz = sizeof(*h);
	h->ifindex = (int)ifindex;
	h->attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS;
}

static void _fos_tc_opts(uint16_t priority, struct bpf_tc_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	o->handle = FOS_TC_HANDLE;
	o->priority = priority;
}

uint32_t fos_tc_query_hook(const struct fos_tc_attach *at)
{
	struct bpf_tc_hook h;
	struct bpf_tc_opts o;
	libbpf_print_fn_t old;
	int r;

	if (!at->ifindex)
		return 0;

	_fos_tc_hook(at->ifindex, at->ingress, &h);
	_fos_tc_opts(at->priority, &o);
	old = libbpf_set_print(_fos_quiet);
	r = bpf_tc_query(&h, &o);
	libbpf_set_print(old);
	if (r < 0)
		return 0;
	return o.prog_id;
}

uint32_t fos_prog_fd_id(int fd)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return 0;
	return info.id;
}

static void _fos_prog_name(uint32_t id, char *buf, size_t len)
{
	struct bpf_prog_info info = {};
	uint32_t ilen = sizeof(info);
	_cleanup_close_ int fd = bpf_prog_get_fd_by_id(id);

	buf[0] = 0;
	if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &ilen) == 0)
		snprintf(buf, len, "%s", info.name);
}

int fos_tc_attach_hook(unsigned ifindex, bool ingress, uint16_t priority, int prog_fd,
		       const uint32_t *ours, size_t n_ours, struct fos_tc_attach *ret, char *err,
		       size_t errlen)
{
	struct fos_tc_attach at = {
	    .ifindex = ifindex, .handle = FOS_TC_HANDLE, .priority = priority, .ingress = ingress};
	const char *dir = ingress ? "ingress" : "egress";
	struct bpf_tc_hook h;
	struct bpf_tc_opts o;
	libbpf_print_fn_t old;
	uint32_t cur;
	int r;

	_fos_tc_hook(ifindex, ingress, &h);
	old = libbpf_set_print(_fos_quiet);
	r = bpf_tc_hook_create(&h);
	libbpf_set_print(old);
	if (r < 0 && r != -EEXIST) {
		snprintf(err, errlen, "cannot add a clsact qdisc for TC %s: %s", dir, strerror(-r));
		return r;
	}
	cur = fos_tc_query_hook(&at);
	if (cur) {
		bool mine = false;
		char name[32];

		for (size_t i = 0; i < n_ours && !mine; i++)
			mine = ours[i] && ours[i] == cur;
		if (!mine) {
			_fos_prog_name(cur, name, sizeof(name));
			snprintf(err, errlen,
				 "TC %s already has a filter at priority %u, handle 0x%x (program "
				 "id %u, \"%s\") that fos did not attach; refusing to replace it",
				 dir, priority, FOS_TC_HANDLE, cur, name);
			return -EBUSY;
		}
	}
	_fos_tc_opts(priority, &o);
	o.prog_fd = prog_fd;
	o.flags = cur ? BPF_TC_F_REPLACE : 0;
	r = bpf_tc_attach(&h, &o);
	if (r < 0) {
		snprintf(err, errlen, "cannot attach to TC %s at priority %u: %s%s", dir, priority,
			 strerror(-r),
			 r == -EINVAL ? " (a tc filter of another kind or protocol may hold that "
					"priority: see tc filter show; the kernel's reason is in "
					"fwd's log)"
				      : "");
		return r;
	}
	at.prog_id = o.prog_id ? o.prog_id : fos_prog_fd_id(prog_fd);
	*ret = at;
	return 0;
}

void fos_tc_detach_hook(const struct fos_tc_attach *at)
{
	struct bpf_tc_hook h;
	struct bpf_tc_opts o;
	uint32_t cur;
	int r;

	if (!at->ifindex)
		return;
	cur = fos_tc_query_hook(at);
	if (!cur || cur != at->prog_id)
		return; /* gone, or replaced by someone else: not ours to remove */
	_fos_tc_hook(at->ifindex, at->ingress, &h);
	_fos_tc_opts(at->priority, &o);
	r = bpf_tc_detach(&h, &o);
	if (r < 0 && r != -ENOENT)
		log_warning_errno(r, "cannot detach the TC %s filter on ifindex %u, ignoring",
				  at->ingress ? "ingress" : "egress", at->ifindex);
}

int fos_tc_save_attach(struct fos_prog_rt *p)
{
	int fd;

	if (!p->tc)
		return -ENODEV;
	fd = bpf_map__fd(p->tc->maps.fos_tc_attach);
	for (uint32_t i = 0; i < _FOS_TC_ATTACH_MAX; i++) {
		struct fos_tc_attach at = p->tc_at[i];

		if (i == FOS_TC_ATTACH_POLICY)
			at.flags = p->stateful ? FOS_TC_ATTACH_F_STATEFUL : 0;
		if (bpf_map_update_elem(fd, &i, &at, BPF_ANY) < 0)
			return -errno;
	}
	return 0;
}

int fos_tc_read_attach(struct fos_prog_rt *p)
{
	int fd;

	if (!p->tc)
		return -ENODEV;
	fd = bpf_map__fd(p->tc->maps.fos_tc_attach);
	for (uint32_t i = 0; i < _FOS_TC_ATTACH_MAX; i++)
		if (bpf_map_lookup_elem(fd, &i, &p->tc_at[i]) < 0)
			return -errno;
	return 0;
}

void fos_tc_flush_attach(int map_fd)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info), n = _FOS_TC_ATTACH_MAX;

	/* a feature's record of its hooks may hold more entries */
	if (bpf_obj_get_info_by_fd(map_fd, &info, &len) == 0 && info.max_entries &&
	    info.value_size == sizeof(struct fos_tc_attach))
		n = info.max_entries;
	for (uint32_t i = 0; i < n; i++) {
		struct fos_tc_attach at;

		if (bpf_map_lookup_elem(map_fd, &i, &at) == 0)
			fos_tc_detach_hook(&at);
	}
}
