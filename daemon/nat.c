// SPDX-License-Identifier: GPL-2.0-only
/*
 * NAT's engine: the object of bpf/nat.bpf.c with its maps pinned in
 * <pinDir>/nat, what a config writes to them (rules, source prefixes, the
 * external interfaces' addresses, the port maps' mappings), the TC hooks
 * the programs sit on, and the collector that ends mappings once they time
 * out or the config no longer allows them.
 *
 * A natConfig keeps its rule id across reloads and restarts (the names are
 * pinned by id), so the mappings it made stay its own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>

#include "cleanup.h"
#include "log.h"
#include "nat.h"
#include "nat.skel.h"

static const char *const prog_names[] = {
    [FOS_NAT_PROG_IN] = "nat-in",
    [FOS_NAT_PROG_OUT] = "nat-out",
    [FOS_NAT_PROG_HAIRPIN] = "nat-hairpin",
};

const char *fos_nat_prog_name(enum fos_nat_prog p)
{
	return (unsigned)p < _FOS_NAT_PROG_MAX ? prog_names[p] : "?";
}

int fos_nat_map_fd(const struct fos_nat_rt *rt)
{
	return rt && rt->skel ? bpf_map__fd(rt->skel->maps.fos_nat) : -1;
}

static void _fos_addr16(uint8_t out[16], const struct fos_addr *a)
{
	memcpy(out, a->b, 16);
}

/* ---- the object -------------------------------------------------------------- */
uint32_t fos_nat_capacity(const struct fos_config *cfg)
{
	uint64_t n = 0;

	for (size_t i = 0; cfg && i < cfg->n_nats; i++) {
		const struct fos_nat_cfg *c = &cfg->nats[i];

		n += c->max_connections;
		for (size_t j = 0; j < c->n_maps; j++)
			n += (uint64_t)(c->maps[j].ext_hi - c->maps[j].ext_lo + 1U) *
			     (c->families == (FOS_NAT_FAM_V4 | FOS_NAT_FAM_V6) ? 2 : 1);
	}
	return fos_nat_tab_cap_for(n);
}

uint32_t fos_nat_table_size(const struct fos_nat_rt *rt)
{
	return rt && rt->skel ? rt->tab.cap : 0;
}

int fos_nat_load(struct fos_manager *m, struct fos_nat_rt *rt, uint32_t size, char *err,
		 size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct fos_nat *skel;
	const char *what;
	uint32_t pinned;
	int r;

	if (rt->skel)
		return 0;
	snprintf(rt->dir, sizeof(rt->dir), "%s/" FOS_NAT_PIN_SUBDIR, m->pin_dir);
	r = fos_mkdir_p(rt->dir, 0700);
	if (r < 0) {
		snprintf(err, errlen, "cannot make %s: %s", rt->dir, strerror(-r));
		return r;
	}
	opts.pin_root_path = rt->dir;
	skel = fos_nat__open_opts(&opts);
	if (!skel) {
		r = -errno;
		snprintf(err, errlen, "cannot open the NAT object: %s", strerror(-r));
		return r;
	}
	/* a pinned table is taken as it is (an apply that needs more grows it) */
	pinned = fos_nat_tab_pinned_cap(rt->dir);
	fos_nat_tab_size(skel, pinned ? pinned : size);
	r = fos_nat__load(skel);
	what = "load the NAT programs";
	if (r == 0) {
		r = fos_nat_tab_map(&rt->tab, skel);
		what = "map the NAT table into memory";
	}
	if (r < 0) {
		snprintf(err, errlen,
			 "cannot %s: %s (maps pinned in %s by another version of fwd? fwd --flush "
			 "removes them)",
			 what, strerror(-r), rt->dir);
		fos_nat__destroy(skel);
		return r;
	}
	rt->skel = skel;
	return 0;
}

static int _fos_prog_fd(const struct fos_nat_rt *rt, enum fos_nat_prog p)
{
	switch (p) {
	case FOS_NAT_PROG_IN:
		return bpf_program__fd(rt->skel->progs.fos_nat_in);
	case FOS_NAT_PROG_OUT:
		return bpf_program__fd(rt->skel->progs.fos_nat_out);
	default:
		return bpf_program__fd(rt->skel->progs.fos_nat_hairpin);
	}
}

/* which program a hook holds, by its direction and priority */
static enum fos_nat_prog _fos_hook_prog(const struct fos_tc_attach *at)
{
	if (!at->ingress)
		return FOS_NAT_PROG_OUT;
	return at->flags ? FOS_NAT_PROG_HAIRPIN : FOS_NAT_PROG_IN;
}

static void _fos_save_hooks(struct fos_nat_rt *rt)
{
	int fd = bpf_map__fd(rt->skel->maps.fos_tc_attach);

	for (uint32_t i = 0; i < FOS_NAT_HOOKS_MAX; i++)
		if (bpf_map_update_elem(fd, &i, &rt->hooks[i], BPF_ANY) < 0)
			log_warning_errno(-errno, "nat: cannot record TC hook %u", i);
}

/* the maps of the mapping table, which a grown table has its own of */
static bool _fos_table_map(const struct fos_nat *skel, const struct bpf_map *m)
{
	return m == skel->maps.fos_nat || m == skel->maps.fos_nat_idx ||
	       m == skel->maps.fos_nat_free || m == skel->maps.fos_nat_hdr ||
	       m == skel->maps.fos_nat_lock;
}

/* A bigger table: a second object whose maps are the running one's but
 * the table's, sized for size mappings and not pinned yet. */
int fos_nat_grow_prepare(struct fos_nat_rt *rt, uint32_t size, struct fos_nat **ret, char *err,
			 size_t errlen)
{
	struct fos_nat *skel = fos_nat__open();
	struct bpf_map *nm, *om;
	int r;

	if (!skel) {
		r = -errno;
		snprintf(err, errlen, "cannot open the NAT object: %s", strerror(-r));
		return r;
	}
	bpf_object__for_each_map(nm, skel->obj)
	{
		(void)bpf_map__set_pin_path(nm, NULL);
		if (_fos_table_map(skel, nm) || bpf_map__is_internal(nm))
			continue;
		om = bpf_object__find_map_by_name(rt->skel->obj, bpf_map__name(nm));
		r = om ? bpf_map__reuse_fd(nm, bpf_map__fd(om)) : -ENOENT;
		if (r < 0) {
			snprintf(err, errlen, "cannot share map %s with the new NAT table: %s",
				 bpf_map__name(nm), strerror(-r));
			fos_nat__destroy(skel);
			return r;
		}
	}
	fos_nat_tab_size(skel, size);
	r = fos_nat__load(skel);
	if (r < 0) {
		snprintf(err, errlen,
			 "cannot load the NAT programs with a table of %u mappings: %s", size,
			 strerror(-r));
		fos_nat__destroy(skel);
		return r;
	}
	*ret = skel;
	return 0;
}

uint64_t fos_nat_now_ns(void)
{
	return fos_clock_ns(CLOCK_MONOTONIC_COARSE);
}

static void _fos_count_removed(const struct fos_nat_rt *rt, uint32_t id, uint64_t n);

/* every live mapping of from that to lacks, copied; returns how many, and
 * in *ret_lost those whose external port to gave to another meanwhile.
 * The last pass counts the mappings it could not copy as removed (they
 * end with the old table). */
static size_t _fos_copy_table(const struct fos_nat_rt *rt, const struct fos_nat_tab *from,
			      struct fos_nat_tab *to, bool last, size_t *ret_lost)
{
	uint32_t gone[FOS_NAT_RULES_MAX] = {0};
	size_t n = 0;

	for (uint32_t id = 0; id < from->cap; id++) {
		struct fos_nat_map m = from->rec[id];
		struct fos_nat_key ok;
		int r;

		if (__atomic_load_n(&from->rec[id].state, __ATOMIC_ACQUIRE) != FOS_NAT_S_LIVE ||
		    m.state != FOS_NAT_S_LIVE)
			continue;
		fos_nat_out_key(&m, &ok);
		if (fos_nat_tab_find(to, &ok) >= 0)
			continue;
		r = fos_nat_tab_insert(to, &m, NULL);
		if (r == 0) {
			n++;
			continue;
		}
		if (!last)
			continue; /* the last pass tries it again */
		if (r == -EEXIST)
			(*ret_lost)++;
		if (!(m.flags & FOS_NAT_F_STATIC))
			gone[m.rule]++;
	}
	for (uint32_t id = 0; id < FOS_NAT_RULES_MAX; id++)
		_fos_count_removed(rt, id, gone[id]);
	return n;
}

/* Once the apply is through: every mapping copied into the new table, the
 * hooks switched to its programs, what the old programs made meanwhile
 * copied too, and the new table pinned in the old one's place. */
void fos_nat_grow_commit(struct fos_nat_rt *rt, struct fos_nat *skel)
{
	uint32_t old_size = fos_nat_table_size(rt);
	struct fos_nat *old = rt->skel;
	struct fos_nat_tab from = rt->tab, to;
	size_t lost = 0, n, late;
	struct bpf_map *map;
	int r;

	r = fos_nat_tab_map(&to, skel);
	if (r < 0) {
		log_error_errno(-r, "nat: cannot map the grown table into memory; the table stays "
				    "as it was");
		fos_nat__destroy(skel);
		return;
	}
	n = _fos_copy_table(rt, &from, &to, false, &lost);
	rt->skel = skel;
	rt->tab = to;
	rt->walking = false; /* the collector starts again on the new table */
	for (size_t i = 0; i < FOS_NAT_HOOKS_MAX; i++) {
		struct fos_tc_attach *at = &rt->hooks[i];
		uint32_t ours = at->prog_id;
		uint32_t flags = at->flags;
		char err[512];

		if (!at->ifindex)
			continue;
		if (fos_tc_attach_hook(at->ifindex, at->ingress, at->priority,
				       _fos_prog_fd(rt, _fos_hook_prog(at)), &ours, 1, at, err,
				       sizeof(err)) < 0)
			log_warning("nat: cannot move the TC hook on ifindex %u to the grown "
				    "table: %s",
				    at->ifindex, err);
		at->flags = flags;
	}
	_fos_save_hooks(rt);
	late = _fos_copy_table(rt, &from, &to, true, &lost);
	bpf_object__for_each_map(map, skel->obj)
	{
		char path[600];

		if (!_fos_table_map(skel, map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", rt->dir, bpf_map__name(map));
		(void)unlink(path);
		if (bpf_map__pin(map, path) < 0)
			log_error_errno(-errno,
					"nat: cannot pin the grown table's %s at %s; a restarted "
					"fwd would not find its mappings",
					bpf_map__name(map), path);
	}
	fos_nat_tab_unmap(&from);
	fos_nat__destroy(old);
	log_info("nat: table grown from %u to %u mappings (%zu moved, %zu made during the "
		 "move%s)",
		 old_size, fos_nat_table_size(rt), n, late, lost ? ", some lost their port" : "");
	if (lost)
		log_warning("nat: %zu mapping%s made during the move lost their external port to "
			    "a new one; their flows get a new mapping",
			    lost, lost == 1 ? "" : "s");
}

void fos_nat_unload(struct fos_nat_rt *rt)
{
	fos_nat_tab_unmap(&rt->tab);
	fos_nat__destroy(rt->skel);
	rt->skel = NULL;
}

void fos_nat_unload_unpin(struct fos_nat_rt *rt)
{
	if (rt->skel)
		(void)bpf_object__unpin_maps(rt->skel->obj, NULL);
	fos_nat_unload(rt);
	(void)rmdir(rt->dir);
}

static int _fos_push_key(struct fos_nat_key **v, size_t *n, size_t *cap,
			 const struct fos_nat_key *k);

static int _fos_static_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct fos_nat_key));
}

/* After a restart: the names by id, the hooks (their programs replaced by
 * this object's in place), and the port maps' mappings. */
int fos_nat_adopt(struct fos_nat_rt *rt)
{
	int nfd = bpf_map__fd(rt->skel->maps.fos_nat_names);
	int afd = bpf_map__fd(rt->skel->maps.fos_tc_attach);
	struct fos_nat_key *st = NULL;
	size_t hooks = 0, n = 0, cap = 0;
	uint64_t now = fos_nat_now_ns();

	for (uint32_t i = 1; i < FOS_NAT_RULES_MAX; i++) {
		struct fos_nat_name n = {};

		if (bpf_map_lookup_elem(nfd, &i, &n) == 0) {
			n.name[sizeof(n.name) - 1] = '\0';
			snprintf(rt->names[i], sizeof(rt->names[i]), "%s", n.name);
		}
	}
	for (uint32_t i = 0; i < FOS_NAT_HOOKS_MAX; i++) {
		struct fos_tc_attach at = {};
		char err[512];
		uint32_t ours;

		if (bpf_map_lookup_elem(afd, &i, &at) < 0 || !at.ifindex)
			continue;
		ours = at.prog_id;
		if (fos_tc_attach_hook(at.ifindex, at.ingress, at.priority,
				       _fos_prog_fd(rt, _fos_hook_prog(&at)), &ours, 1,
				       &rt->hooks[i], err, sizeof(err)) < 0) {
			log_warning("nat: cannot take over the TC hook on ifindex %u: %s",
				    at.ifindex, err);
			continue;
		}
		rt->hooks[i].flags = at.flags;
		hooks++;
	}
	_fos_save_hooks(rt);
	/* the port maps' mappings; one a killed fwd left half made goes */
	for (uint32_t id = 0; id < rt->tab.cap; id++) {
		struct fos_nat_map *m = &rt->tab.rec[id];
		struct fos_nat_key k;

		if (m->state == FOS_NAT_S_BUSY) {
			m->state = FOS_NAT_S_LIVE;
			fos_nat_tab_remove(&rt->tab, id, now);
			continue;
		}
		if (m->state != FOS_NAT_S_LIVE || !(m->flags & FOS_NAT_F_STATIC))
			continue;
		fos_nat_in_key(m, &k);
		if (_fos_push_key(&st, &n, &cap, &k) < 0) {
			free(st);
			return -ENOMEM;
		}
	}
	free(rt->statics);
	rt->statics = st;
	rt->n_statics = n;
	if (rt->n_statics)
		qsort(rt->statics, rt->n_statics, sizeof(*rt->statics), _fos_static_cmp);
	if (hooks)
		log_info("nat: took over %zu TC hook%s from %s", hooks, hooks == 1 ? "" : "s",
			 rt->dir);
	return 0;
}

/* ---- addresses --------------------------------------------------------------- */
struct _fos_addrs {
	struct nl_sock *sk;
	struct nl_cache *cache;
};

static void _fos_addrs_done(struct _fos_addrs *a)
{
	if (a->cache)
		nl_cache_free(a->cache);
	if (a->sk)
		nl_socket_free(a->sk);
}

static int _fos_addrs_read(struct _fos_addrs *a)
{
	int r;

	a->sk = nl_socket_alloc();
	if (!a->sk)
		return -ENOMEM;
	r = nl_connect(a->sk, NETLINK_ROUTE);
	if (r == 0)
		r = rtnl_addr_alloc_cache(a->sk, &a->cache);
	return r < 0 ? -EIO : 0;
}

/* the address masquerade uses on ifindex, per family: IPv4 a primary one,
 * IPv6 a global one neither tentative, deprecated nor temporary; the one
 * in use (cur) while it is still there */
static void _fos_pick_addrs(const struct _fos_addrs *a, unsigned ifindex,
			    const struct fos_nat_ifaddr *cur, struct fos_nat_ifaddr *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (struct nl_object *o = nl_cache_get_first(a->cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *ad = (struct rtnl_addr *)o;
		struct nl_addr *local = rtnl_addr_get_local(ad);
		unsigned fl = rtnl_addr_get_flags(ad);
		int fam = rtnl_addr_get_family(ad);
		uint8_t b[16];

		if ((unsigned)rtnl_addr_get_ifindex(ad) != ifindex || !local ||
		    rtnl_addr_get_scope(ad) != RT_SCOPE_UNIVERSE)
			continue;
		if (fam == AF_INET && nl_addr_get_len(local) == 4 && !(fl & IFA_F_SECONDARY)) {
			memset(b, 0, 10);
			b[10] = b[11] = 0xff;
			memcpy(b + 12, nl_addr_get_binary_addr(local), 4);
			if (!(ret->flags & FOS_NAT_IF_V4) || (cur && (cur->flags & FOS_NAT_IF_V4) &&
							      memcmp(cur->addr4, b, 16) == 0)) {
				memcpy(ret->addr4, b, 16);
				ret->flags |= FOS_NAT_IF_V4;
			}
		} else if (fam == AF_INET6 && nl_addr_get_len(local) == 16 &&
			   !(fl & (IFA_F_TENTATIVE | IFA_F_DEPRECATED | IFA_F_TEMPORARY |
				   IFA_F_DADFAILED))) {
			memcpy(b, nl_addr_get_binary_addr(local), 16);
			if (!(ret->flags & FOS_NAT_IF_V6) || (cur && (cur->flags & FOS_NAT_IF_V6) &&
							      memcmp(cur->addr6, b, 16) == 0)) {
				memcpy(ret->addr6, b, 16);
				ret->flags |= FOS_NAT_IF_V6;
			}
		}
	}
}

/* is a on a network of one of the router's interfaces? */
static bool _fos_on_a_network(const struct _fos_addrs *a, const struct fos_addr *x, int family)
{
	for (struct nl_object *o = nl_cache_get_first(a->cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *ad = (struct rtnl_addr *)o;
		struct nl_addr *local = rtnl_addr_get_local(ad);
		const uint8_t *p, *q = family == AF_INET ? x->b + 12 : x->b;
		unsigned plen = (unsigned)rtnl_addr_get_prefixlen(ad), i;

		if (!local || rtnl_addr_get_family(ad) != family)
			continue;
		p = nl_addr_get_binary_addr(local);
		for (i = 0; i < plen; i++)
			if (((p[i / 8] ^ q[i / 8]) >> (7 - i % 8)) & 1)
				break;
		if (i == plen && plen > 0)
			return true;
	}
	return false;
}

int fos_nat_ifaddr_get(const struct fos_nat_rt *rt, unsigned ifindex, struct fos_nat_ifaddr *ret)
{
	uint32_t k = ifindex;

	if (!rt->skel)
		return -ENOENT;
	return bpf_map_lookup_elem(bpf_map__fd(rt->skel->maps.fos_nat_ifaddr), &k, ret) < 0 ? -errno
											    : 0;
}

/* the addresses masquerade uses on ext (named ifname), picked again and
 * written; a change from what was there is logged. static_maps: a port
 * map leaves by it. True if they changed. */
static bool _fos_ifaddr_update(struct fos_nat_rt *rt, const struct _fos_addrs *a, uint32_t ext,
			       const char *ifname, bool static_maps, int *ret_err)
{
	int ifa = bpf_map__fd(rt->skel->maps.fos_nat_ifaddr);
	struct fos_nat_ifaddr cur = {}, ia;
	bool had = bpf_map_lookup_elem(ifa, &ext, &cur) == 0;

	*ret_err = 0;
	_fos_pick_addrs(a, ext, &cur, &ia);
	if (static_maps || (cur.flags & FOS_NAT_IF_STATIC_MAPS))
		ia.flags |= FOS_NAT_IF_STATIC_MAPS;
	if (had && ia.flags == cur.flags && memcmp(ia.addr4, cur.addr4, 16) == 0 &&
	    memcmp(ia.addr6, cur.addr6, 16) == 0)
		return false;
	if (bpf_map_update_elem(ifa, &ext, &ia, BPF_ANY) < 0) {
		*ret_err = -errno;
		return false;
	}
	if (had && ((ia.flags ^ cur.flags) & (FOS_NAT_IF_V4 | FOS_NAT_IF_V6) ||
		    memcmp(ia.addr4, cur.addr4, 16) != 0 || memcmp(ia.addr6, cur.addr6, 16) != 0)) {
		char b4[INET6_ADDRSTRLEN] = "none", b6[INET6_ADDRSTRLEN] = "none";

		if (ia.flags & FOS_NAT_IF_V4)
			inet_ntop(AF_INET, ia.addr4 + 12, b4, sizeof(b4));
		if (ia.flags & FOS_NAT_IF_V6)
			inet_ntop(AF_INET6, ia.addr6, b6, sizeof(b6));
		log_info("nat: %s now masquerades as %s and %s", ifname, b4, b6);
	}
	return true;
}

/* ---- ids ----------------------------------------------------------------------- */
uint32_t fos_nat_id_of(const struct fos_nat_rt *rt, const struct fos_config *cfg, size_t i)
{
	(void)cfg;
	return rt->ids ? rt->ids[i] : 0;
}

uint64_t fos_nat_mappings(const struct fos_nat_rt *rt, uint32_t id)
{
	int fd = bpf_map__fd(rt->skel->maps.fos_nat_count);
	uint32_t c = FOS_NAT_COUNT_CREATED(id), d = FOS_NAT_COUNT_REMOVED(id);
	uint64_t a = 0, b = 0;

	(void)bpf_map_lookup_elem(fd, &c, &a);
	(void)bpf_map_lookup_elem(fd, &d, &b);
	return a > b ? a - b : 0;
}

int fos_nat_rule_stats(const struct fos_nat_rt *rt, uint32_t id, uint64_t ret[_FOS_NAT_STAT_MAX])
{
	int fd = bpf_map__fd(rt->skel->maps.fos_nat_stats), ncpu = libbpf_num_possible_cpus();
	_cleanup_free_ uint64_t *v = NULL;

	memset(ret, 0, sizeof(uint64_t) * _FOS_NAT_STAT_MAX);
	if (ncpu <= 0)
		return -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint32_t s = 0; s < _FOS_NAT_STAT_MAX; s++) {
		uint32_t k = id * _FOS_NAT_STAT_MAX + s;

		if (bpf_map_lookup_elem(fd, &k, v) < 0)
			return -errno;
		for (int c = 0; c < ncpu; c++)
			ret[s] += v[c];
	}
	return 0;
}

static bool _fos_id_busy(const struct fos_nat_rt *rt, uint32_t id)
{
	return rt->names[id][0] != '\0' || (rt->skel && fos_nat_mappings(rt, id) > 0);
}

int fos_nat_plan(struct fos_nat_rt *rt, const struct fos_config *cfg, struct fos_nat_tx *tx,
		 struct fos_errors *errs)
{
	_cleanup_(_fos_addrs_done) struct _fos_addrs a = {};
	bool taken[FOS_NAT_RULES_MAX] = {};
	bool failed = false;
	size_t nh = 0;
	int r;

	tx->ids = calloc(cfg->n_nats ? cfg->n_nats : 1, sizeof(*tx->ids));
	if (!tx->ids)
		return -ENOMEM;
	r = _fos_addrs_read(&a);
	if (r < 0) {
		fos_errors_add(errs, cfg->path, 0,
			       "natConfigs: cannot read the interfaces' "
			       "addresses over netlink");
		return r;
	}
	/* ids: a name keeps its own; a new one takes the lowest that is free
	 * and holds no mapping of a removed natConfig */
	for (size_t i = 0; i < cfg->n_nats; i++)
		for (uint32_t id = 1; id < FOS_NAT_RULES_MAX; id++)
			if (strcmp(rt->names[id], cfg->nats[i].name) == 0) {
				tx->ids[i] = id;
				taken[id] = true;
				break;
			}
	for (size_t i = 0; i < cfg->n_nats; i++) {
		uint32_t id;

		if (tx->ids[i])
			continue;
		for (id = 1; id < FOS_NAT_RULES_MAX; id++)
			if (!taken[id] && !_fos_id_busy(rt, id))
				break;
		if (id == FOS_NAT_RULES_MAX) /* all held by mappings: take one anyway */
			for (id = 1; id < FOS_NAT_RULES_MAX && taken[id]; id++)
				;
		tx->ids[i] = id;
		taken[id] = true;
	}
	memset(tx->names, 0, sizeof(tx->names));
	for (size_t i = 0; i < cfg->n_nats; i++)
		snprintf(tx->names[tx->ids[i]], sizeof(tx->names[0]), "%s", cfg->nats[i].name);

	for (size_t i = 0; i < cfg->n_nats; i++) {
		const struct fos_nat_cfg *c = &cfg->nats[i];
		unsigned in = if_nametoindex(c->source_if), out = if_nametoindex(c->dest_if);
		struct fos_nat_ifaddr ia;

		if (!in) {
			fos_errors_add(
			    errs, c->src.file, c->src.line,
			    "natConfigs \"%s\": interfaces.source: no such interface \"%s\"",
			    c->name, c->source_if);
			failed = true;
		}
		if (!out) {
			fos_errors_add(
			    errs, c->src.file, c->src.line,
			    "natConfigs \"%s\": interfaces.destination: no such interface "
			    "\"%s\"",
			    c->name, c->dest_if);
			failed = true;
			continue;
		}
		_fos_pick_addrs(&a, out, NULL, &ia);
		for (size_t k = 0; k < c->n_maps; k++) {
			const struct fos_nat_portmap *pm = &c->maps[k];
			char buf[INET6_ADDRSTRLEN] = "";
			bool have = pm->family == AF_INET
					? (c->type == FOS_NAT_STATIC ? c->has_ext4
								     : (ia.flags & FOS_NAT_IF_V4))
					: (c->type == FOS_NAT_STATIC ? c->has_ext6
								     : (ia.flags & FOS_NAT_IF_V6));

			if (!have) {
				fos_errors_add(
				    errs, pm->src.file, pm->src.line,
				    "natConfigs \"%s\": a port map on %s, which has no %s "
				    "address to publish it on",
				    c->name, c->dest_if, pm->family == AF_INET ? "IPv4" : "IPv6");
				failed = true;
			}
			if (!_fos_on_a_network(&a, &pm->internal_ip, pm->family)) {
				inet_ntop(pm->family,
					  pm->family == AF_INET ? pm->internal_ip.b + 12
								: pm->internal_ip.b,
					  buf, sizeof(buf));
				fos_errors_add(errs, pm->src.file, pm->src.line,
					       "natConfigs \"%s\": internalIP %s is outside every "
					       "network of the router's interfaces",
					       c->name, buf);
				failed = true;
			}
		}
		if (c->type == FOS_NAT_MASQUERADE &&
		    !(ia.flags & ((c->families & FOS_NAT_FAM_V4 ? FOS_NAT_IF_V4 : 0) |
				  (c->families & FOS_NAT_FAM_V6 ? FOS_NAT_IF_V6 : 0))))
			log_notice("natConfigs \"%s\": %s has no address to masquerade with yet; "
				   "new flows are dropped until it has one",
				   c->name, c->dest_if);
		if (!in)
			continue;
		/* the hooks this config needs */
		for (int h = 0; h < 3; h++) {
			struct fos_tc_attach want = {
			    .ifindex = h == 2 ? in : out,
			    .handle = FOS_TC_HANDLE,
			    .priority = h == 1 ? FOS_TC_PRIORITY_NAT_OUT : FOS_TC_PRIORITY_NAT_IN,
			    .ingress = h != 1,
			    .flags = h == 2,
			};
			bool dup = false;

			if (h == 2 && !c->hairpinning)
				continue;
			for (size_t j = 0; j < nh; j++) {
				const struct fos_tc_attach *x = &tx->hooks[j];

				if (x->ifindex != want.ifindex || x->ingress != want.ingress)
					continue;
				if (x->flags != want.flags) {
					fos_errors_add(errs, c->src.file, c->src.line,
						       "natConfigs \"%s\": %s is the inside of one "
						       "natConfig and the outside of another; NAT "
						       "cannot be both there",
						       c->name, h == 2 ? c->source_if : c->dest_if);
					failed = true;
				}
				dup = true;
			}
			if (!dup && nh < FOS_NAT_HOOKS_MAX)
				tx->hooks[nh++] = want;
		}
	}
	return failed ? -EINVAL : 0;
}

/* ---- writing a config ---------------------------------------------------------- */
static void _fos_src_key(struct fos_nat_src_key *k, unsigned ext, unsigned src,
			 const struct fos_cidr *c)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = FOS_NAT_SRC_PREFIX + fos_cidr_plen128(c);
	k->ext_ifindex = htonl(ext);
	k->src_ifindex = htonl(src);
	_fos_addr16(k->addr, &c->addr);
}

static int _fos_write_src(int fd, const struct fos_nat_cfg *c, uint32_t id,
			  struct fos_nat_src_key **keys, size_t *n, size_t *cap)
{
	static const struct fos_cidr any4 = {.addr.b = {[10] = 0xff, [11] = 0xff},
					     .family = AF_INET};
	static const struct fos_cidr any6 = {.family = AF_INET6};
	unsigned ext = if_nametoindex(c->dest_if), src = if_nametoindex(c->source_if);
	struct fos_cidr dflt[2];
	const struct fos_cidr *srcs = c->sources;
	size_t ns = c->n_sources;

	if (!ns) {
		if (c->families & FOS_NAT_FAM_V4)
			dflt[ns++] = any4;
		if (c->families & FOS_NAT_FAM_V6)
			dflt[ns++] = any6;
		srcs = dflt;
	}
	for (size_t pass = 0; pass < 2; pass++) {
		const struct fos_cidr *v = pass ? c->excludes : srcs;
		size_t nv = pass ? c->n_excludes : ns;
		uint32_t val = pass ? 0 : id;

		for (size_t i = 0; i < nv; i++) {
			struct fos_nat_src_key k;

			if (*n == *cap) {
				size_t nc = *cap ? 2 * *cap : 16;
				struct fos_nat_src_key *x = reallocarray(*keys, nc, sizeof(*x));

				if (!x)
					return -ENOMEM;
				*keys = x;
				*cap = nc;
			}
			_fos_src_key(&k, ext, src, &v[i]);
			if (bpf_map_update_elem(fd, &k, &val, BPF_ANY) < 0)
				return -errno;
			(*keys)[(*n)++] = k;
		}
	}
	return 0;
}

static void _fos_rule_of(const struct fos_nat_cfg *c, struct fos_nat_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->flags = FOS_NAT_R_ACTIVE;
	if (c->type == FOS_NAT_STATIC) {
		r->flags |= FOS_NAT_R_STATIC;
		if (c->has_ext4)
			_fos_addr16(r->addr4, &c->ext4);
		if (c->has_ext6)
			_fos_addr16(r->addr6, &c->ext6);
	}
	if (c->endpoint_independent)
		r->flags |= FOS_NAT_R_EIM;
	if (c->hairpinning)
		r->flags |= FOS_NAT_R_HAIRPIN;
	if (c->families & FOS_NAT_FAM_V4)
		r->flags |= FOS_NAT_R_V4;
	if (c->families & FOS_NAT_FAM_V6)
		r->flags |= FOS_NAT_R_V6;
	if (c->has_range) {
		r->flags |= FOS_NAT_R_RANGE;
		r->port_lo = c->port_lo;
		r->port_hi = c->port_hi;
	}
	r->timeout_ns[FOS_NATT_TCP_EST] = (uint64_t)c->tcp_timeout * 1000000000ULL;
	r->timeout_ns[FOS_NATT_TCP_TRANS] = (uint64_t)FOS_NAT_TCP_TRANSITORY * 1000000000ULL;
	r->timeout_ns[FOS_NATT_UDP] = (uint64_t)c->udp_timeout * 1000000000ULL;
	r->timeout_ns[FOS_NATT_ICMP] = (uint64_t)FOS_NAT_ICMP_TIMEOUT * 1000000000ULL;
	r->ext_ifindex = if_nametoindex(c->dest_if);
	r->src_ifindex = if_nametoindex(c->source_if);
	r->max_mappings = c->max_connections;
}

/* fos_nat_extaddr made what the external interfaces' addresses and the
 * static rules' externalIPs are now: the new ones added before the old ones
 * go, so an address that stays is never missing */
static int _fos_extaddr_sync(struct fos_nat_rt *rt, const struct fos_config *cfg)
{
	static const uint8_t zero[16];
	int xfd = bpf_map__fd(rt->skel->maps.fos_nat_extaddr);
	int ifa = bpf_map__fd(rt->skel->maps.fos_nat_ifaddr);
	uint8_t want[FOS_NAT_EXTADDR_MAX][16], k[16], next[16];
	size_t n = 0;
	uint32_t one = 1, ik, inext;
	bool first = true;

	/* every external interface's addresses */
	while (bpf_map_get_next_key(ifa, first ? NULL : &ik, &inext) == 0) {
		struct fos_nat_ifaddr ia;

		first = false;
		ik = inext;
		if (bpf_map_lookup_elem(ifa, &ik, &ia) < 0)
			continue;
		if ((ia.flags & FOS_NAT_IF_V4) && n < FOS_NAT_EXTADDR_MAX)
			memcpy(want[n++], ia.addr4, 16);
		if ((ia.flags & FOS_NAT_IF_V6) && n < FOS_NAT_EXTADDR_MAX)
			memcpy(want[n++], ia.addr6, 16);
	}
	for (size_t i = 0; cfg && i < cfg->n_nats && n + 2 <= FOS_NAT_EXTADDR_MAX; i++) {
		const struct fos_nat_cfg *c = &cfg->nats[i];

		if (c->type != FOS_NAT_STATIC)
			continue;
		if (c->has_ext4)
			_fos_addr16(want[n++], &c->ext4);
		if (c->has_ext6)
			_fos_addr16(want[n++], &c->ext6);
	}
	for (size_t i = 0; i < n; i++)
		if (memcmp(want[i], zero, 16) != 0 &&
		    bpf_map_update_elem(xfd, want[i], &one, BPF_ANY) < 0)
			return -errno;
	/* the bits after the new addresses, before the old ones go: a bit of
	 * an address in both stays set throughout */
	{
		_cleanup_free_ struct fos_nat_extbits *eb = calloc(1, sizeof(*eb));
		uint32_t z = 0;

		if (!eb)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++)
			if (memcmp(want[i], zero, 16) != 0) {
				uint32_t bit = fos_nat_extbit(want[i]);

				eb->w[bit / 64] |= 1ULL << (bit % 64);
			}
		if (bpf_map_update_elem(bpf_map__fd(rt->skel->maps.fos_nat_extbits), &z, eb,
					BPF_ANY) < 0)
			return -errno;
	}
	first = true;
	while (bpf_map_get_next_key(xfd, first ? NULL : k, next) == 0) {
		bool keep = false;

		first = false;
		memcpy(k, next, 16);
		for (size_t i = 0; i < n && !keep; i++)
			keep = memcmp(want[i], k, 16) == 0;
		if (!keep && bpf_map_delete_elem(xfd, k) == 0)
			first = true; /* the walk starts again without it */
	}
	return 0;
}

/* the external address of c's port maps of family on its interface */
static bool _fos_map_ext(const struct fos_nat_cfg *c, const struct fos_nat_ifaddr *ia, int family,
			 uint8_t out[16])
{
	if (c->type == FOS_NAT_STATIC) {
		if (family == AF_INET ? !c->has_ext4 : !c->has_ext6)
			return false;
		_fos_addr16(out, family == AF_INET ? &c->ext4 : &c->ext6);
		return true;
	}
	if (!(ia->flags & (family == AF_INET ? FOS_NAT_IF_V4 : FOS_NAT_IF_V6)))
		return false;
	memcpy(out, family == AF_INET ? ia->addr4 : ia->addr6, 16);
	return true;
}

static int _fos_push_key(struct fos_nat_key **v, size_t *n, size_t *cap,
			 const struct fos_nat_key *k)
{
	if (*n == *cap) {
		size_t nc = *cap ? 2 * *cap : 64;
		struct fos_nat_key *x = reallocarray(*v, nc, sizeof(*x));

		if (!x)
			return -ENOMEM;
		*v = x;
		*cap = nc;
	}
	(*v)[(*n)++] = *k;
	return 0;
}

static void _fos_count_removed(const struct fos_nat_rt *rt, uint32_t id, uint64_t n)
{
	int fd = bpf_map__fd(rt->skel->maps.fos_nat_count);
	uint32_t k = FOS_NAT_COUNT_REMOVED(id);
	uint64_t v = 0;

	if (id >= FOS_NAT_RULES_MAX || !n)
		return;
	(void)bpf_map_lookup_elem(fd, &k, &v);
	v += n;
	(void)bpf_map_update_elem(fd, &k, &v, BPF_ANY);
}

int fos_nat_remove(struct fos_nat_rt *rt, uint32_t id)
{
	struct fos_nat_map *m;

	if (!rt->skel || id >= rt->tab.cap)
		return -ENOENT;
	m = &rt->tab.rec[id];
	if (__atomic_load_n(&m->state, __ATOMIC_ACQUIRE) != FOS_NAT_S_LIVE)
		return -ENOENT;
	fos_nat_tab_remove(&rt->tab, id, fos_nat_now_ns());
	if (!(m->flags & FOS_NAT_F_STATIC))
		_fos_count_removed(rt, m->rule, 1);
	return 0;
}

int fos_nat_sync(struct fos_nat_rt *rt, const struct fos_config *cfg, struct fos_nat_tx *tx,
		 struct fos_errors *errs)
{
	_cleanup_(_fos_addrs_done) struct _fos_addrs a = {};
	_cleanup_free_ struct fos_nat_src_key *keys = NULL;
	int rules = bpf_map__fd(rt->skel->maps.fos_nat_rules);
	int names = bpf_map__fd(rt->skel->maps.fos_nat_names);
	int ifa = bpf_map__fd(rt->skel->maps.fos_nat_ifaddr);
	int srcs = bpf_map__fd(rt->skel->maps.fos_nat_src);
	size_t nk = 0, capk = 0, caps = 0;
	int r;

	r = _fos_addrs_read(&a);
	if (r < 0)
		goto fail;
	free(tx->statics);
	tx->statics = NULL;
	tx->n_statics = 0;
	for (size_t i = 0; i < cfg->n_nats; i++) {
		const struct fos_nat_cfg *c = &cfg->nats[i];
		uint32_t id = tx->ids[i], ext = if_nametoindex(c->dest_if);
		struct fos_nat_ifaddr ia;
		struct fos_nat_rule rule;
		struct fos_nat_name nm = {};

		_fos_rule_of(c, &rule);
		snprintf(nm.name, sizeof(nm.name), "%s", c->name);
		if (bpf_map_update_elem(rules, &id, &rule, BPF_ANY) < 0 ||
		    bpf_map_update_elem(names, &id, &nm, BPF_ANY) < 0) {
			r = -errno;
			goto fail;
		}
		{
			bool maps = false;

			for (size_t j = 0; j < cfg->n_nats; j++)
				if (cfg->nats[j].n_maps &&
				    strcmp(cfg->nats[j].dest_if, c->dest_if) == 0)
					maps = true;
			(void)_fos_ifaddr_update(rt, &a, ext, c->dest_if, maps, &r);
			if (r < 0)
				goto fail;
			if (bpf_map_lookup_elem(ifa, &ext, &ia) < 0)
				memset(&ia, 0, sizeof(ia));
		}
		r = _fos_write_src(srcs, c, id, &keys, &nk, &capk);
		if (r < 0)
			goto fail;

		for (size_t k = 0; k < c->n_maps; k++) {
			const struct fos_nat_portmap *pm = &c->maps[k];
			uint8_t xa[16];

			if (!_fos_map_ext(c, &ia, pm->family, xa))
				continue; /* masquerade: written once the interface has one */
			for (unsigned p = pm->ext_lo; p <= pm->ext_hi; p++) {
				struct fos_nat_map nm = {.flags = FOS_NAT_F_STATIC};
				struct fos_nat_key ok, ik;
				int64_t old;

				_fos_addr16(nm.iaddr, &pm->internal_ip);
				nm.iport = (uint16_t)(pm->int_lo + (p - pm->ext_lo));
				memcpy(nm.eaddr, xa, 16);
				nm.eport = (uint16_t)p;
				nm.proto = pm->protocol;
				nm.ifindex = ext;
				nm.rule = (uint8_t)id;
				if (c->hairpinning)
					nm.flags |= FOS_NAT_F_HAIRPIN;
				fos_nat_out_key(&nm, &ok);
				fos_nat_in_key(&nm, &ik);
				/* the port map as it is already, changed in place;
				 * anything else on its external end gives it up */
				old = fos_nat_tab_find(&rt->tab, &ik);
				if (old >= 0) {
					struct fos_nat_map *x = &rt->tab.rec[old];

					if ((x->flags & FOS_NAT_F_STATIC) &&
					    memcmp(x->iaddr, nm.iaddr, 16) == 0 &&
					    x->iport == nm.iport) {
						x->ifindex = nm.ifindex;
						x->rule = nm.rule;
						x->flags = nm.flags;
						r = _fos_push_key(&tx->statics, &tx->n_statics,
								  &caps, &ik);
						if (r < 0)
							goto fail;
						continue;
					}
					(void)fos_nat_remove(rt, (uint32_t)old);
				}
				/* a dynamic mapping of the server's own port too,
				 * and a port map of it on an address the interface
				 * no longer has; a second port map of the same
				 * server is found by its external end only (its
				 * answers leave by the first's) */
				old = fos_nat_tab_find(&rt->tab, &ok);
				if (old >= 0 &&
				    (!(rt->tab.rec[old].flags & FOS_NAT_F_STATIC) ||
				     memcmp(rt->tab.rec[old].eaddr, nm.eaddr, 16) != 0 ||
				     rt->tab.rec[old].ifindex != nm.ifindex))
					(void)fos_nat_remove(rt, (uint32_t)old);
				r = fos_nat_tab_insert(&rt->tab, &nm, NULL);
				if (r < 0)
					goto fail;
				r = _fos_push_key(&tx->statics, &tx->n_statics, &caps, &ik);
				if (r < 0)
					goto fail;
			}
		}
	}
	if (tx->n_statics)
		qsort(tx->statics, tx->n_statics, sizeof(*tx->statics), _fos_static_cmp);

	/* source prefixes the config no longer has */
	{
		struct fos_nat_src_key k, next;
		bool first = true;
		_cleanup_free_ struct fos_nat_src_key *stale = NULL;
		size_t ns = 0, caps2 = 0;

		while (bpf_map_get_next_key(srcs, first ? NULL : &k, &next) == 0) {
			bool keep = false;

			first = false;
			k = next;
			for (size_t i = 0; i < nk && !keep; i++)
				keep = memcmp(&keys[i], &k, sizeof(k)) == 0;
			if (keep)
				continue;
			if (ns == caps2) {
				size_t nc = caps2 ? 2 * caps2 : 16;
				struct fos_nat_src_key *x = reallocarray(stale, nc, sizeof(*x));

				if (!x) {
					r = -ENOMEM;
					goto fail;
				}
				stale = x;
				caps2 = nc;
			}
			stale[ns++] = k;
		}
		for (size_t i = 0; i < ns; i++)
			(void)bpf_map_delete_elem(srcs, &stale[i]);
	}

	r = _fos_extaddr_sync(rt, cfg);
	if (r < 0)
		goto fail;

	/* the hooks: each program on its hooks, in place where it was */
	for (size_t i = 0; i < FOS_NAT_HOOKS_MAX && tx->hooks[i].ifindex; i++) {
		struct fos_tc_attach *h = &tx->hooks[i];
		uint32_t ours[FOS_NAT_HOOKS_MAX];
		size_t no = 0;
		char err[512];

		for (size_t j = 0; j < FOS_NAT_HOOKS_MAX; j++)
			if (rt->hooks[j].ifindex == h->ifindex &&
			    rt->hooks[j].ingress == h->ingress)
				ours[no++] = rt->hooks[j].prog_id;
		r = fos_tc_attach_hook(h->ifindex, h->ingress, h->priority,
				       _fos_prog_fd(rt, _fos_hook_prog(h)), ours, no, h, err,
				       sizeof(err));
		h->flags = _fos_hook_prog(h) == FOS_NAT_PROG_HAIRPIN;
		if (r < 0) {
			char ifname[IF_NAMESIZE] = "?";

			if_indextoname(h->ifindex, ifname);
			fos_errors_add(errs, cfg->path, 0, "natConfigs: %s: %s: %s", ifname,
				       fos_nat_prog_name(_fos_hook_prog(h)), err);
			return r;
		}
	}
	tx->staged = true;
	return 0;
fail:
	fos_errors_add(errs, cfg->path, 0, "natConfigs: cannot write the NAT tables: %s",
		       strerror(-r));
	return r;
}

/* After the flips: what the new config no longer has goes. */
void fos_nat_prune(struct fos_nat_rt *rt, const struct fos_config *cfg, struct fos_nat_tx *tx)
{
	int rules = bpf_map__fd(rt->skel->maps.fos_nat_rules);
	int names = bpf_map__fd(rt->skel->maps.fos_nat_names);

	(void)cfg;
	/* rules of removed natConfigs */
	for (uint32_t id = 1; id < FOS_NAT_RULES_MAX; id++) {
		struct fos_nat_rule zero = {};
		struct fos_nat_name nn = {};

		if (tx->names[id][0] || !rt->names[id][0])
			continue;
		(void)bpf_map_update_elem(rules, &id, &zero, BPF_ANY);
		(void)bpf_map_update_elem(names, &id, &nn, BPF_ANY);
	}
	memcpy(rt->names, tx->names, sizeof(rt->names));
	/* port maps no longer configured */
	for (size_t i = 0; i < rt->n_statics; i++)
		if (!tx->n_statics || !bsearch(&rt->statics[i], tx->statics, tx->n_statics,
					       sizeof(*tx->statics), _fos_static_cmp)) {
			int64_t id = fos_nat_tab_find(&rt->tab, &rt->statics[i]);

			if (id >= 0 && (rt->tab.rec[id].flags & FOS_NAT_F_STATIC))
				(void)fos_nat_remove(rt, (uint32_t)id);
		}
	free(rt->statics);
	rt->statics = tx->statics;
	rt->n_statics = tx->n_statics;
	tx->statics = NULL;
	tx->n_statics = 0;
	/* hooks no longer needed */
	for (size_t j = 0; j < FOS_NAT_HOOKS_MAX; j++) {
		bool keep = false;

		if (!rt->hooks[j].ifindex)
			continue;
		for (size_t i = 0; i < FOS_NAT_HOOKS_MAX && tx->hooks[i].ifindex && !keep; i++)
			keep = tx->hooks[i].ifindex == rt->hooks[j].ifindex &&
			       tx->hooks[i].ingress == rt->hooks[j].ingress &&
			       tx->hooks[i].priority == rt->hooks[j].priority;
		if (!keep)
			fos_tc_detach_hook(&rt->hooks[j]);
	}
	memcpy(rt->hooks, tx->hooks, sizeof(rt->hooks));
	_fos_save_hooks(rt);
	free(rt->ids);
	rt->ids = tx->ids;
	tx->ids = NULL;
	/* mappings the new config does not allow end in the next walk, one
	 * from the start (a walk under way has passed some already) */
	rt->revalidate = true;
	rt->walking = false;
	rt->next_ms = 0;
}

/* ---- following the addresses ---------------------------------------------------- */
bool fos_nat_refresh_addrs(struct fos_nat_rt *rt, const struct fos_config *cfg)
{
	_cleanup_(_fos_addrs_done) struct _fos_addrs a = {};
	bool changed = false;
	int r;

	if (!cfg || !cfg->n_nats || _fos_addrs_read(&a) < 0)
		return false;
	for (size_t i = 0; i < cfg->n_nats; i++) {
		uint32_t ext = if_nametoindex(cfg->nats[i].dest_if);

		if (ext && _fos_ifaddr_update(rt, &a, ext, cfg->nats[i].dest_if, false, &r))
			changed = true;
	}
	if (changed && _fos_extaddr_sync(rt, cfg) < 0)
		log_warning_errno(-errno, "nat: cannot record the external addresses; hairpinning "
					  "to a new one waits for the next reload");
	return changed;
}

/* ---- the collector --------------------------------------------------------------- */
static bool _fos_cidr_has(const struct fos_cidr *c, const uint8_t a[16])
{
	unsigned plen = fos_cidr_plen128(c);

	for (unsigned i = 0; i < plen; i++)
		if (((c->addr.b[i / 8] ^ a[i / 8]) >> (7 - i % 8)) & 1)
			return false;
	return true;
}

bool fos_nat_mapping_allowed(const struct fos_nat_rt *rt, const struct fos_nat_cfg *c,
			     const struct fos_nat_map *m)
{
	struct fos_nat_ifaddr ia = {};
	bool v4 = memcmp(m->iaddr, (const uint8_t[12]){[10] = 0xff, [11] = 0xff}, 12) == 0;
	bool in = c->n_sources == 0, dependent = m->flags & FOS_NAT_F_APDF;
	uint8_t want[16];

	if (!(c->families & (v4 ? FOS_NAT_FAM_V4 : FOS_NAT_FAM_V6)))
		return false;
	if (m->ifindex != if_nametoindex(c->dest_if))
		return false;
	if (dependent == c->endpoint_independent)
		return false;
	if (c->has_range && (m->eport < c->port_lo || m->eport > c->port_hi) && m->iport != 0)
		return false;
	for (size_t i = 0; i < c->n_sources && !in; i++)
		in = _fos_cidr_has(&c->sources[i], m->iaddr);
	for (size_t i = 0; i < c->n_excludes && in; i++)
		in = !_fos_cidr_has(&c->excludes[i], m->iaddr);
	if (!in)
		return false;
	(void)fos_nat_ifaddr_get(rt, m->ifindex, &ia);
	if (!_fos_map_ext(c, &ia, v4 ? AF_INET : AF_INET6, want))
		return false;
	return memcmp(want, m->eaddr, 16) == 0;
}

static const struct fos_nat_cfg *_fos_cfg_of(const struct fos_nat_rt *rt,
					     const struct fos_config *cfg, uint32_t id)
{
	for (size_t i = 0; cfg && rt->ids && i < cfg->n_nats; i++)
		if (rt->ids[i] == id)
			return &cfg->nats[i];
	return NULL;
}

/* has the mapping m outlived its timeout? */
static bool _fos_expired(const struct fos_nat_cfg *c, const struct fos_nat_map *m, uint64_t now)
{
	uint64_t last = m->last_ns, est = m->est_ns, to;

	if (m->proto == IPPROTO_TCP) {
		if (!(m->flags & FOS_NAT_F_CLOSING) && est &&
		    now - est < (uint64_t)c->tcp_timeout * 1000000000ULL)
			return false;
		to = FOS_NAT_TCP_TRANSITORY;
	} else if (m->proto == IPPROTO_ICMP || m->proto == IPPROTO_ICMPV6) {
		to = FOS_NAT_ICMP_TIMEOUT;
	} else {
		to = c->udp_timeout;
	}
	return now > last && now - last >= to * 1000000000ULL;
}

/* A natConfig whose flows a stateful program tracks: its mappings live as
 * long as the connection table's entry of their latest flow. One with an
 * entry is kept past its own timeout; one without (the entry expired, was
 * cleared, or never made) ends once it has been idle this long. */
#define FOS_NAT_CT_GRACE 5ULL /* s */

void fos_nat_note_tracking(struct fos_nat_rt *rt, const struct fos_config *cfg)
{
	memset(rt->tracked, 0, sizeof(rt->tracked));
	memset(rt->zone, 0, sizeof(rt->zone));
	for (size_t i = 0; cfg && rt->ids && i < cfg->n_nats; i++) {
		const struct fos_nat_cfg *c = &cfg->nats[i];
		uint32_t id = rt->ids[i];

		if (!id || id >= FOS_NAT_RULES_MAX)
			continue;
		for (size_t j = 0; j < cfg->n_programs; j++) {
			const struct fos_program *p = &cfg->programs[j];

			if (p->stateful &&
			    (p->type == FOS_PROG_TC_INGRESS || p->type == FOS_PROG_TC_EGRESS) &&
			    (strcmp(p->interface, c->source_if) == 0 ||
			     strcmp(p->interface, c->dest_if) == 0)) {
				rt->tracked[id] = true;
				(void)fos_nl_zone(if_nametoindex(p->interface), &rt->zone[id]);
				break;
			}
		}
	}
}

/* Is the flow of mapping m with the remote (ra, rport) in the connection
 * table? The table sees it with the internal end, before SNAT and after
 * DNAT. */
static bool _fos_ct_has_flow(const struct fos_nat_rt *rt, const struct fos_nat_map *m,
			     const uint8_t ra[16], uint16_t rport)
{
	struct fos_ct_key ck = {.proto = m->proto, .zone = rt->zone[m->rule]};
	struct fos_ct_value cv;
	uint16_t lport = m->iport;
	int c;

	if (m->proto == IPPROTO_ICMP || m->proto == IPPROTO_ICMPV6)
		rport = lport; /* an echo flow: its identifier as both ports */
	c = memcmp(m->iaddr, ra, 16);
	if (c < 0 || (c == 0 && lport <= rport)) {
		memcpy(ck.addr[0], m->iaddr, 16);
		memcpy(ck.addr[1], ra, 16);
		ck.port[0] = lport;
		ck.port[1] = rport;
	} else {
		memcpy(ck.addr[0], ra, 16);
		memcpy(ck.addr[1], m->iaddr, 16);
		ck.port[0] = rport;
		ck.port[1] = lport;
	}
	return bpf_map_lookup_elem(rt->ct_fd, &ck, &cv) == 0;
}

/* Is a flow of mapping m in the connection table: that of its latest
 * packet out, or (endpoint independent) of its latest packet in? */
static bool _fos_ct_has(const struct fos_nat_rt *rt, const struct fos_nat_map *m)
{
	static const uint8_t zero[16];

	if (_fos_ct_has_flow(rt, m, m->raddr, m->rport))
		return true;
	return !(m->flags & FOS_NAT_F_APDF) && memcmp(m->rin, zero, 16) != 0 &&
	       (memcmp(m->rin, m->raddr, 16) != 0 || m->rin_port != m->rport) &&
	       _fos_ct_has_flow(rt, m, m->rin, m->rin_port);
}

/* a flow from the inside to a mapping's external end: the table sees it
 * translated (if at all), so such a mapping keeps its own timeouts */
static bool _fos_hairpinned(const struct fos_nat_rt *rt, const struct fos_nat_map *m)
{
	uint32_t one;

	return bpf_map_lookup_elem(bpf_map__fd(rt->skel->maps.fos_nat_extaddr), m->raddr, &one) ==
	       0;
}

/* ms from the end of a walk to the next: ten times the walk's own time,
 * so that the collector takes a tenth of a CPU at most, within these */
#define FOS_NAT_GC_INTERVAL	1000
#define FOS_NAT_GC_INTERVAL_MAX 10000

struct _fos_gc {
	struct fos_nat_rt *rt;
	const struct fos_config *cfg;
	uint64_t now;
	uint32_t removed[FOS_NAT_RULES_MAX]; /* by rule id, counted at the step's end */
};

static void _fos_gc_remove(struct _fos_gc *g, uint32_t id, const struct fos_nat_map *m)
{
	fos_nat_tab_remove(&g->rt->tab, id, g->now);
	g->removed[m->rule]++;
}

/* the shortest idleness after which a mapping of proto can have expired
 * (_fos_expired: TCP ends no sooner than its transitory timeout) */
static uint64_t _fos_min_idle_ns(const struct fos_nat_cfg *c, uint8_t proto)
{
	uint64_t s;

	if (proto == IPPROTO_TCP)
		s = FOS_NAT_TCP_TRANSITORY;
	else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6)
		s = FOS_NAT_ICMP_TIMEOUT;
	else
		s = c->udp_timeout;
	return s * 1000000000ULL;
}

/*
 * One record. A removed one whose grace is over goes back to the free
 * ring; a mapping that saw a packet more recently than it could expire
 * costs nothing more. The record is read again just before it is removed
 * (a packet may have come meanwhile).
 */
static void _fos_gc_one(struct _fos_gc *g, uint32_t id)
{
	struct fos_nat_rt *rt = g->rt;
	struct fos_nat_map *live = &rt->tab.rec[id], m;
	const struct fos_nat_cfg *c;
	uint64_t now = g->now;
	uint8_t st = __atomic_load_n(&live->state, __ATOMIC_ACQUIRE);

	if (st == FOS_NAT_S_DEAD) {
		(void)fos_nat_tab_reclaim(&rt->tab, id, now);
		return;
	}
	if (st != FOS_NAT_S_LIVE)
		return;
	m = *live;
	if (m.flags & FOS_NAT_F_STATIC)
		return;
	if (m.flags & FOS_NAT_F_MOVED) {
		/* its flow leaves by another way out now: the next packet makes
		 * a mapping of that one */
		_fos_gc_remove(g, id, &m);
		rt->moved++;
		return;
	}
	c = _fos_cfg_of(rt, g->cfg, m.rule);
	if (!c || (rt->revalidate && !fos_nat_mapping_allowed(rt, c, &m))) {
		_fos_gc_remove(g, id, &m);
		rt->ended++;
		return;
	}
	if (rt->ct_fd >= 0 && rt->tracked[m.rule]) {
		/* the connection table's entry decides, not the own timeouts,
		 * but for a hairpinned flow, which it sees translated */
		const uint64_t grace = FOS_NAT_CT_GRACE * 1000000000ULL;

		if (now <= m.last_ns || now - m.last_ns < grace)
			return;
		if (!_fos_hairpinned(rt, &m)) {
			if (_fos_ct_has(rt, &m))
				return;
			if (live->last_ns != m.last_ns)
				return;
			_fos_gc_remove(g, id, &m);
			rt->expired++;
			return;
		}
	}
	if (now <= m.last_ns || now - m.last_ns < _fos_min_idle_ns(c, m.proto))
		return;
	if (!_fos_expired(c, &m, now))
		return;
	m = *live;
	if (m.state != FOS_NAT_S_LIVE || !_fos_expired(c, &m, now))
		return;
	_fos_gc_remove(g, id, &m);
	rt->expired++;
}

uint32_t fos_nat_gc_step(struct fos_nat_rt *rt, const struct fos_config *cfg, uint64_t budget_ns)
{
	uint64_t t0 = fos_clock_ns(CLOCK_MONOTONIC), step;
	struct _fos_gc g = {.rt = rt, .cfg = cfg, .now = fos_nat_now_ns()};
	bool done = false;

	if (!rt->skel || !rt->tab.rec)
		return UINT32_MAX;
	if (!rt->walking) {
		rt->walking = true;
		rt->walk_pos = 0;
		rt->walk_ns = 0;
	}
	while (!done) {
		uint32_t end =
		    rt->walk_pos + 4096 < rt->tab.cap ? rt->walk_pos + 4096 : rt->tab.cap;

		for (uint32_t id = rt->walk_pos; id < end; id++)
			_fos_gc_one(&g, id);
		rt->walk_pos = end;
		done = end >= rt->tab.cap;
		if (!done && fos_clock_ns(CLOCK_MONOTONIC) - t0 >= budget_ns)
			break;
	}
	for (uint32_t id = 0; id < FOS_NAT_RULES_MAX; id++)
		_fos_count_removed(rt, id, g.removed[id]);
	step = fos_clock_ns(CLOCK_MONOTONIC) - t0;
	rt->walk_ns += step;
	if (step > rt->max_step_ns)
		rt->max_step_ns = step;
	if (!done)
		return 0;
	rt->walking = false;
	/* a reload's check of every mapping holds once a walk saw them all */
	rt->revalidate = false;
	rt->walks++;
	rt->last_walk_ns = rt->walk_ns;
	rt->interval_ms = (uint32_t)(rt->walk_ns / 100000); /* 10 x, in ms */
	if (rt->interval_ms < FOS_NAT_GC_INTERVAL)
		rt->interval_ms = FOS_NAT_GC_INTERVAL;
	if (rt->interval_ms > FOS_NAT_GC_INTERVAL_MAX)
		rt->interval_ms = FOS_NAT_GC_INTERVAL_MAX;
	rt->next_ms = fos_clock_ns(CLOCK_MONOTONIC) / 1000000 + rt->interval_ms;
	return rt->interval_ms;
}
