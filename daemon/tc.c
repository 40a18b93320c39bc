// SPDX-License-Identifier: GPL-2.0-only
/*
 * TC attachment. A hook is (interface, direction, priority); fos puts a
 * program there one of two ways:
 *
 *   tcx (Linux 6.6 and later, daemon.tcAttach "auto" or "tcx"): a bpf_link
 *   of the interface's tcx hook, pinned as tcx/IFINDEX-DIR-PRIORITY under
 *   the pin directory so that it stays without fwd. fos's links of a hook
 *   run in priority order (a new one goes before the first of higher
 *   priority, else after the last of lower), all of them before any filter
 *   of a clsact qdisc. A program is replaced by updating its link (atomic).
 *   The record of the hook has handle 0.
 *
 *   clsact (older kernels, or daemon.tcAttach "clsact"): a direct-action
 *   bpf filter of the clsact qdisc with fos's handle and the priority. A
 *   tc filter is not a bpf_link: it stays in place without fwd. A program is
 *   replaced in place (the kernel swaps it atomically). A filter fos did not
 *   put on a hook is never replaced or removed.
 *
 * A restarted fwd finds its hooks again through the program's pinned
 * fos_tc_attach map. A hook keeps the way it was attached for as long as it
 * is: a filter of an older fwd is replaced in place, not moved to tcx.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cleanup.h"
#include "fwd.h"
#include "log.h"
#include "tc.skel.h"
#include "tcx.h"

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

/* ---- tcx ------------------------------------------------------------------ */
static char _fos_tcx_dir[FOS_PIN_DIR_MAX + 8];
static enum fos_tc_mode _fos_mode = FOS_TC_MODE_AUTO;

bool fos_tc_kernel_has_tcx(void)
{
	return fos_tcx_supported();
}

int fos_tc_setup(const char *pin_dir, enum fos_tc_mode mode, char *err, size_t errlen)
{
	if (mode == FOS_TC_MODE_TCX && !fos_tc_kernel_has_tcx()) {
		snprintf(err, errlen,
			 "daemon.tcAttach = \"tcx\": this kernel has no tcx hooks (Linux 6.6 or "
			 "later has them); use \"auto\" or \"clsact\"");
		return -EOPNOTSUPP;
	}
	if (pin_dir)
		snprintf(_fos_tcx_dir, sizeof(_fos_tcx_dir), "%s/tcx", pin_dir);
	_fos_mode = mode;
	return 0;
}

const char *fos_tc_mode_in_use(void)
{
	return _fos_mode != FOS_TC_MODE_CLSACT && fos_tc_kernel_has_tcx() ? "tcx" : "clsact";
}

static bool _fos_use_tcx(void)
{
	return _fos_tcx_dir[0] && _fos_mode != FOS_TC_MODE_CLSACT && fos_tc_kernel_has_tcx();
}

static void _fos_tcx_path(unsigned ifindex, bool ingress, uint16_t priority, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%u-%s-%u", _fos_tcx_dir, ifindex, ingress ? "ingress" : "egress",
		 priority);
}

/* the pinned link at (ifindex, ingress, priority): fd, or -1 */
static int _fos_tcx_open(unsigned ifindex, bool ingress, uint16_t priority)
{
	char path[FOS_PIN_DIR_MAX + 64];

	if (!_fos_tcx_dir[0])
		return -1;
	_fos_tcx_path(ifindex, ingress, priority, path, sizeof(path));
	return bpf_obj_get(path);
}

/* the program the pinned link of a hook runs, 0 if none (or the interface
 * went away) */
static uint32_t _fos_tcx_prog(unsigned ifindex, bool ingress, uint16_t priority)
{
	_cleanup_close_ int fd = _fos_tcx_open(ifindex, ingress, priority);
	uint32_t ifi, prog;

	if (fd < 0 || fos_tcx_link_info(fd, &ifi, &prog) < 0 || ifi != ifindex)
		return 0;
	return prog;
}

/* Where a new link of priority goes among fos's links of the hook: before
 * the first of higher priority, else after the last of lower. *ret_fd: the
 * link to place it by (-1: none, append). */
static uint32_t _fos_tcx_place(unsigned ifindex, bool ingress, uint16_t priority, int *ret_fd)
{
	char prefix[32], path[FOS_PIN_DIR_MAX + 64];
	long above = -1, below = -1;
	DIR *d = opendir(_fos_tcx_dir);
	struct dirent *de;

	*ret_fd = -1;
	if (!d)
		return 0;
	snprintf(prefix, sizeof(prefix), "%u-%s-", ifindex, ingress ? "ingress" : "egress");
	while ((de = readdir(d))) {
		char *end;
		long p;

		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		p = strtol(de->d_name + strlen(prefix), &end, 10);
		if (*end || p == priority || !_fos_tcx_prog(ifindex, ingress, (uint16_t)p))
			continue;
		if (p > priority && (above < 0 || p < above))
			above = p;
		if (p < priority && p > below)
			below = p;
	}
	closedir(d);
	if (above < 0 && below < 0)
		return 0;
	_fos_tcx_path(ifindex, ingress, (uint16_t)(above >= 0 ? above : below), path, sizeof(path));
	*ret_fd = bpf_obj_get(path);
	if (*ret_fd < 0)
		return 0;
	return (above >= 0 ? FOS_TCX_BEFORE : FOS_TCX_AFTER) | FOS_TCX_LINK;
}

static int _fos_tcx_attach(unsigned ifindex, bool ingress, uint16_t priority, int prog_fd,
			   struct fos_tc_attach *ret, char *err, size_t errlen)
{
	const char *dir = ingress ? "ingress" : "egress";
	char path[FOS_PIN_DIR_MAX + 64];
	_cleanup_close_ int cur = _fos_tcx_open(ifindex, ingress, priority);
	_cleanup_close_ int rel = -1;
	_cleanup_close_ int lfd = -1;
	uint32_t ifi = 0, prog = 0, flags;
	int r;

	_fos_tcx_path(ifindex, ingress, priority, path, sizeof(path));
	if (cur >= 0) {
		if (fos_tcx_link_info(cur, &ifi, &prog) == 0 && ifi == ifindex) {
			/* fos's link of the hook: its program replaced */
			if (prog != fos_prog_fd_id(prog_fd) &&
			    bpf_link_update(cur, prog_fd, NULL) < 0) {
				r = -errno;
				snprintf(err, errlen,
					 "cannot replace the program of the tcx %s link at "
					 "priority %u: %s",
					 dir, priority, strerror(-r));
				return r;
			}
			*ret = (struct fos_tc_attach){.ifindex = ifindex,
						      .prog_id = fos_prog_fd_id(prog_fd),
						      .priority = priority,
						      .ingress = ingress};
			return 0;
		}
		/* a link of an interface that went away (another one may have
		 * its index now) */
		(void)unlink(path);
	}
	r = fos_mkdir_p(_fos_tcx_dir, 0700);
	if (r < 0) {
		snprintf(err, errlen, "cannot make %s: %s", _fos_tcx_dir, strerror(-r));
		return r;
	}
	flags = _fos_tcx_place(ifindex, ingress, priority, &rel);
	lfd = fos_tcx_link_create(prog_fd, ifindex, ingress, flags, rel);
	if (lfd < 0) {
		r = lfd;
		snprintf(err, errlen, "cannot attach to tcx %s at priority %u: %s", dir, priority,
			 strerror(-r));
		return r;
	}
	if (bpf_obj_pin(lfd, path) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot pin the tcx %s link as %s: %s", dir, path,
			 strerror(-r));
		(void)bpf_link_detach(lfd);
		return r;
	}
	*ret = (struct fos_tc_attach){.ifindex = ifindex,
				      .prog_id = fos_prog_fd_id(prog_fd),
				      .priority = priority,
				      .ingress = ingress};
	return 0;
}

static void _fos_tcx_detach(const struct fos_tc_attach *at)
{
	char path[FOS_PIN_DIR_MAX + 64];
	_cleanup_close_ int fd = _fos_tcx_open(at->ifindex, at->ingress, at->priority);
	uint32_t ifi = 0, prog = 0;

	if (fd < 0)
		return;
	if (fos_tcx_link_info(fd, &ifi, &prog) == 0 && ifi == at->ifindex && prog != at->prog_id)
		return; /* it runs another program of fos now: not this record's */
	if (ifi && bpf_link_detach(fd) < 0 && errno != EINVAL && errno != ENOLINK)
		log_warning_errno(-errno, "cannot detach the tcx %s link on ifindex %u, ignoring",
				  at->ingress ? "ingress" : "egress", at->ifindex);
	_fos_tcx_path(at->ifindex, at->ingress, at->priority, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		log_warning_errno(-errno, "cannot remove %s, ignoring", path);
}

bool fos_tc_move_needs_new_prog(const struct fos_tc_attach *at, size_t n, unsigned ifindex,
				uint16_t priority)
{
	for (size_t i = 0; i < n; i++)
		if (at[i].ifindex && at[i].ifindex == ifindex &&
		    at[i].handle == FOS_TC_HANDLE_TCX && at[i].priority != priority)
			return true;
	return false;
}

/* ---- clsact ---------------------------------------------------------------- */
static uint32_t _fos_clsact_query(const struct fos_tc_attach *at)
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

uint32_t fos_tc_query_hook(const struct fos_tc_attach *at)
{
	uint32_t id;

	if (!at->ifindex)
		return 0;
	if (at->handle == FOS_TC_HANDLE_TCX)
		return _fos_tcx_prog(at->ifindex, at->ingress, at->priority);
	/* a hook asked about by its place: a filter there, else a link */
	id = _fos_clsact_query(&(struct fos_tc_attach){.ifindex = at->ifindex,
						       .handle = FOS_TC_HANDLE,
						       .priority = at->priority,
						       .ingress = at->ingress});
	return id ? id : _fos_tcx_prog(at->ifindex, at->ingress, at->priority);
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

	/* a hook keeps the way it was attached */
	if (_fos_tcx_dir[0] && fos_tc_kernel_has_tcx() && _fos_tcx_prog(ifindex, ingress, priority))
		return _fos_tcx_attach(ifindex, ingress, priority, prog_fd, ret, err, errlen);
	if (_fos_use_tcx()) {
		/* fos's filter of an older fwd at this place stays a filter */
		bool mine = false;

		cur = _fos_clsact_query(&at);
		for (size_t i = 0; cur && i < n_ours && !mine; i++)
			mine = ours[i] == cur;
		if (!mine)
			return _fos_tcx_attach(ifindex, ingress, priority, prog_fd, ret, err,
					       errlen);
	}
	_fos_tc_hook(ifindex, ingress, &h);
	old = libbpf_set_print(_fos_quiet);
	r = bpf_tc_hook_create(&h);
	libbpf_set_print(old);
	if (r < 0 && r != -EEXIST) {
		snprintf(err, errlen, "cannot add a clsact qdisc for TC %s: %s", dir, strerror(-r));
		return r;
	}
	cur = _fos_clsact_query(&at);
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
	if (at->handle == FOS_TC_HANDLE_TCX) {
		_fos_tcx_detach(at);
		return;
	}
	cur = _fos_clsact_query(at);
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
