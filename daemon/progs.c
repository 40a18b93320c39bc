// SPDX-License-Identifier: GPL-2.0-only
/* Program manager: load the filter, pin its maps, attach with a bpf_link, adopt
 * a pinned link after a restart, replace the program under a live link. */
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cleanup.h"
#include "fwd.h"
#include "log.h"
#include "filter.h"
#include "tc.skel.h"
#include "xdp_filter.skel.h"

void fos_prog_unload(struct fos_prog_rt *p)
{
	fos_xdp_filter__destroy(p->skel);
	p->skel = NULL;
	fos_tc__destroy(p->tc);
	p->tc = NULL;
}

bool fos_prog_loaded(const struct fos_prog_rt *p)
{
	return p->skel || p->tc;
}

void fos_prog_rt_free(struct fos_prog_rt *p)
{
	if (!p)
		return;
	/* never detach here: the pinned link (XDP) or the tc filter keeps the
	 * datapath in place */
	if (p->link) {
		bpf_link__disconnect(p->link);
		bpf_link__destroy(p->link);
	}
	fos_prog_unload(p);
	free(p->set_ids);
	free(p);
}

void fos_prog_filter_maps(const struct fos_prog_rt *p, struct fos_filter_maps *ret)
{
	if (p->tc)
		*ret = FOS_FILTER_MAPS(p->tc);
	else
		*ret = FOS_FILTER_MAPS(p->skel);
}

int fos_prog_main_fd(const struct fos_prog_rt *p)
{
	if (p->tc)
		return bpf_program__fd(p->tc->progs.fos_tc_fw);
	if (p->skel)
		return bpf_program__fd(p->skel->progs.fos_xdp_filter);
	return -1;
}

static int _fos_reuse_pinned(struct bpf_map *map, const char *path)
{
	struct bpf_map_info info;
	_cleanup_close_ int fd = fos_pinned_map_open(path, &info);

	if (fd < 0)
		return fd;
	if (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
	    info.value_size != bpf_map__value_size(map) ||
	    info.max_entries != bpf_map__max_entries(map))
		return -EINVAL;
	return bpf_map__reuse_fd(map, fd);
}

static const char *const _fos_ct_map_names[] = {"fos_ct", "fos_ct_cfg", "fos_ct_count",
						"fos_ct_stats", "fos_ct_src"};

/* the XDP object's DDoS maps: pinned and full size only when it is loaded
 * with DDoS mitigation; otherwise its code never touches them, and they are
 * left private and as small as the kernel allows (the LRU maps alone take
 * tens of MB at full size) */
const char *const fos_ddos_map_names[] = {
    "fos_ddos_cfg",   "fos_ddos_src",	 "fos_ddos_dst", "fos_ddos_auth", "fos_ddos_state",
    "fos_ddos_stats", "fos_ddos_events", "fos_ddos_agg", "fos_ddos_hint", NULL};

static bool _fos_is_ddos_map(const struct bpf_map *map)
{
	for (size_t i = 0; fos_ddos_map_names[i]; i++)
		if (strcmp(bpf_map__name(map), fos_ddos_map_names[i]) == 0)
			return true;
	return false;
}

static int _fos_ddos_map_shrink(struct bpf_map *map)
{
	long page = sysconf(_SC_PAGESIZE);

	switch (bpf_map__type(map)) {
	case BPF_MAP_TYPE_LRU_HASH:
		return bpf_map__set_max_entries(map, 64);
	case BPF_MAP_TYPE_RINGBUF:
		return bpf_map__set_max_entries(map, page > 0 ? (uint32_t)page : 4096);
	default:
		/* the arrays: one entry (fos_ddos_hint is half a MB) */
		return bpf_map__set_max_entries(map, 1);
	}
}

void fos_prog_unpin_ddos(const char *pin_dir)
{
	char path[640];

	for (size_t i = 0; fos_ddos_map_names[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, fos_ddos_map_names[i]);
		(void)unlink(path);
	}
}

static bool _fos_is_shared_map(const struct bpf_map *map)
{
	const char *n = bpf_map__name(map);

	if (strcmp(n, "fos_sets") == 0 || strcmp(n, "fos_sets4") == 0)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(_fos_ct_map_names); i++)
		if (strcmp(n, _fos_ct_map_names[i]) == 0)
			return true;
	return false;
}

/* The maps every program shares (sets, connection table) by fd; the rest
 * pinned under pin_dir. Without a connection table (a stateless program)
 * its maps are left private and as small as the kernel allows: the
 * program's code never touches them. */
static int _fos_prepare_maps(struct bpf_object *obj, const char *pin_dir,
			     const struct fos_set_maps *sets, const struct fos_ct_fds *ct,
			     bool stateful, bool ddos, char *err, size_t errlen)
{
	const int ct_fds[] = {ct ? ct->ct : -1, ct ? ct->cfg : -1, ct ? ct->count : -1,
			      ct ? ct->stats : -1, ct ? ct->src : -1};
	struct bpf_map *map;
	int r;

	r = bpf_map__reuse_fd(bpf_object__find_map_by_name(obj, "fos_sets"), sets->v6);
	if (r == 0)
		r = bpf_map__reuse_fd(bpf_object__find_map_by_name(obj, "fos_sets4"), sets->v4);
	if (r < 0) {
		snprintf(err, errlen, "cannot share the set map: %s", strerror(-r));
		return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(_fos_ct_map_names); i++) {
		map = bpf_object__find_map_by_name(obj, _fos_ct_map_names[i]);
		if (!map)
			continue;
		if (stateful && ct_fds[i] < 0) {
			snprintf(err, errlen, "the connection table is not open");
			return -ENOENT;
		}
		r = stateful ? bpf_map__reuse_fd(map, ct_fds[i])
		    : bpf_map__type(map) == BPF_MAP_TYPE_LRU_HASH
			? bpf_map__set_max_entries(map, 64)
			: 0;
		if (r < 0) {
			snprintf(err, errlen, "cannot share the connection table: %s",
				 strerror(-r));
			return r;
		}
	}
	/* a throw-away load (pin_dir NULL) only needs the verifier's verdict */
	bpf_object__for_each_map(map, obj)
	{
		if (!_fos_is_ddos_map(map) || (ddos && pin_dir))
			continue;
		r = _fos_ddos_map_shrink(map);
		if (r < 0) {
			snprintf(err, errlen, "cannot size map %s: %s", bpf_map__name(map),
				 strerror(-r));
			return r;
		}
	}
	if (!pin_dir)
		return 0;

	r = fos_mkdir_p(pin_dir, 0700);
	if (r < 0) {
		snprintf(err, errlen, "cannot create %s: %s", pin_dir, strerror(-r));
		return r;
	}
	bpf_object__for_each_map(map, obj)
	{
		char path[640];

		if (_fos_is_shared_map(map) || bpf_map__is_internal(map) ||
		    (!ddos && _fos_is_ddos_map(map)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_map__name(map));
		if (bpf_map__type(map) == BPF_MAP_TYPE_DEVMAP_HASH && access(path, F_OK) == 0) {
			/* the kernel adds BPF_F_RDONLY_PROG to device maps, which
			 * libbpf's compatibility check for pinned maps rejects:
			 * reuse this one by hand */
			r = _fos_reuse_pinned(map, path);
			if (r < 0) {
				snprintf(err, errlen, "cannot reuse pinned map %s: %s", path,
					 strerror(-r));
				return r;
			}
			continue;
		}
		r = bpf_map__set_pin_path(map, path);
		if (r < 0) {
			snprintf(err, errlen, "cannot set pin path %s: %s", path, strerror(-r));
			return r;
		}
	}
	return 0;
}

int fos_prog_load(struct fos_prog_rt *p, const char *pin_dir, const struct fos_set_maps *sets,
		  const struct fos_ct_fds *ct, char *err, size_t errlen)
{
	const char *what = p->type == FOS_PROG_XDP ? "XDP filter" : "TC program";
	struct fos_xdp_filter *xs = NULL;
	struct fos_tc *ts = NULL;
	struct bpf_object *obj;
	int r;

	if (p->type == FOS_PROG_XDP) {
		xs = fos_xdp_filter__open();
		obj = xs ? xs->obj : NULL;
	} else {
		ts = fos_tc__open();
		obj = ts ? ts->obj : NULL;
	}
	if (!obj) {
		r = -errno;
		snprintf(err, errlen, "cannot open the %s object: %s", what, strerror(-r));
		return r;
	}
	if (xs) {
		xs->rodata->fos_stateful = p->stateful;
		xs->rodata->fos_ddos = p->ddos;
	} else {
		ts->rodata->fos_stateful = p->stateful;
		/* the tracker serves only a stateful firewall */
		if (!p->stateful)
			bpf_program__set_autoload(ts->progs.fos_tc_track, false);
	}

	r = _fos_prepare_maps(obj, pin_dir, sets, ct, p->stateful, p->ddos && xs, err, errlen);
	if (r < 0)
		goto fail;
	/* an instance for another place in the chain points on with a map of its
	 * own; the running instance keeps the pinned one until the switch */
	if (xs && p->private_next)
		(void)bpf_map__set_pin_path(xs->maps.fos_next, NULL);
	r = xs ? fos_xdp_filter__load(xs) : fos_tc__load(ts);
	if (r < 0) {
		snprintf(err, errlen,
			 "the kernel refused the %s: %s (the verifier log is in fwd's log)", what,
			 strerror(-r));
		goto fail;
	}
	p->skel = xs;
	p->tc = ts;
	p->loaded_at = time(NULL);
	return 0;
fail:
	fos_xdp_filter__destroy(xs);
	fos_tc__destroy(ts);
	return r;
}

int fos_xdp_query(unsigned ifindex, uint32_t *ret_prog_id, char *ret_name, size_t namelen,
		  const char **ret_mode)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, opts);
	int r;

	r = bpf_xdp_query(ifindex, 0, &opts);
	if (r < 0)
		return r;
	*ret_prog_id = opts.prog_id;
	if (ret_mode)
		*ret_mode = opts.attach_mode == XDP_ATTACHED_DRV     ? "native"
			    : opts.attach_mode == XDP_ATTACHED_SKB   ? "generic"
			    : opts.attach_mode == XDP_ATTACHED_HW    ? "offload"
			    : opts.attach_mode == XDP_ATTACHED_MULTI ? "multi"
								     : "none";
	if (ret_name && namelen) {
		ret_name[0] = 0;
		if (opts.prog_id) {
			struct bpf_prog_info info = {};
			uint32_t len = sizeof(info);
			_cleanup_close_ int fd = bpf_prog_get_fd_by_id(opts.prog_id);

			if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
				snprintf(ret_name, namelen, "%s", info.name);
		}
	}
	return 0;
}

int fos_prog_adopt_link(struct fos_prog_rt *p, const char *link_pin, char *err, size_t errlen)
{
	struct bpf_link_info info = {};
	uint32_t len = sizeof(info);
	struct bpf_link *link;
	int r;

	link = bpf_link__open(link_pin);
	if (!link) {
		r = -errno;
		snprintf(err, errlen, "cannot open pinned link %s: %s", link_pin, strerror(-r));
		return r;
	}
	if (bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot query pinned link %s: %s", link_pin, strerror(-r));
		bpf_link__destroy(link);
		return r;
	}
	if (info.type != BPF_LINK_TYPE_XDP) {
		snprintf(err, errlen, "pinned link %s is not an XDP link", link_pin);
		bpf_link__destroy(link);
		return -EINVAL;
	}
	p->link = link;
	p->ifindex = info.xdp.ifindex;
	if (!if_indextoname(p->ifindex, p->ifname))
		p->ifname[0] = 0;
	return 0;
}

unsigned fos_link_ifindex(struct bpf_link *link)
{
	struct bpf_link_info info = {};
	uint32_t len = sizeof(info);

	if (!link || bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len) < 0)
		return 0;
	return info.type == BPF_LINK_TYPE_XDP ? info.xdp.ifindex : 0;
}

void fos_prog_detach(struct fos_prog_rt *p)
{
	if (!p->link)
		return;
	(void)bpf_link__unpin(p->link);
	(void)bpf_link__detach(p->link);
	bpf_link__destroy(p->link);
	p->link = NULL;
}

int fos_prog_ids(const struct fos_prog_rt *p, uint32_t *ret_prog_id, uint32_t *ret_link_id)
{
	uint32_t prog_id = 0, link_id = 0;

	if (p->link) {
		struct bpf_link_info info = {};
		uint32_t len = sizeof(info);

		if (bpf_obj_get_info_by_fd(bpf_link__fd(p->link), &info, &len) == 0) {
			link_id = info.id;
			prog_id = info.prog_id;
		}
	}
	if (!prog_id && fos_prog_loaded(p)) {
		struct bpf_prog_info info = {};
		uint32_t len = sizeof(info);

		if (bpf_obj_get_info_by_fd(fos_prog_main_fd(p), &info, &len) == 0)
			prog_id = info.id;
	}
	*ret_prog_id = prog_id;
	*ret_link_id = link_id;
	return 0;
}

static int _fos_percpu_sum(int fd, uint32_t key, size_t words, uint64_t *ret)
{
	int ncpu = libbpf_num_possible_cpus();
	_cleanup_free_ uint64_t *v = NULL;

	if (ncpu <= 0)
		return -EINVAL;
	v = calloc((size_t)ncpu * words, sizeof(uint64_t));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, v) < 0)
		return -errno;
	memset(ret, 0, words * sizeof(uint64_t));
	for (int c = 0; c < ncpu; c++)
		for (size_t w = 0; w < words; w++)
			ret[w] += v[(size_t)c * words + w];
	return 0;
}

int fos_prog_stats(const struct fos_prog_rt *p, uint64_t ret_stats[_FOS_STAT_MAX])
{
	int fd;

	if (!fos_prog_loaded(p))
		return -ENODEV;
	fd = p->tc ? bpf_map__fd(p->tc->maps.fos_stats) : bpf_map__fd(p->skel->maps.fos_stats);
	for (uint32_t i = 0; i < _FOS_STAT_MAX; i++) {
		int r = _fos_percpu_sum(fd, i, 1, &ret_stats[i]);

		if (r < 0)
			return r;
	}
	return 0;
}

int fos_prog_rule_counter(const struct fos_prog_rt *p, uint32_t slot, uint32_t idx, bool dflt,
			  struct fos_rule_counter *ret)
{
	struct fos_filter_maps fm;
	uint64_t v[2];
	int r;

	if (!fos_prog_loaded(p))
		return -ENODEV;
	fos_prog_filter_maps(p, &fm);
	if (dflt)
		r = _fos_percpu_sum(fm.default_st, slot, 2, v);
	else
		r = _fos_percpu_sum(fm.rule_stats, slot * FOS_MAX_RULES + idx, 2, v);
	if (r < 0)
		return r;
	ret->packets = v[0];
	ret->bytes = v[1];
	return 0;
}
