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
	uint64_t n = FOS_NAT_MAP_SLACK;
	uint32_t cap = FOS_NAT_MAP_MIN;

	for (size_t i = 0; cfg && i < cfg->n_nats; i++) {
		const struct fos_nat_cfg *c = &cfg->nats[i];

		n += 2ULL * c->max_connections;
		for (size_t j = 0; j < c->n_maps; j++)
			n += 2ULL * (c->maps[j].ext_hi - c->maps[j].ext_lo + 1U) *
			     (c->families == (FOS_NAT_FAM_V4 | FOS_NAT_FAM_V6) ? 2 : 1);
	}
	while (cap < n && cap < FOS_NAT_MAP_MAX)
		cap <<= 1;
	return cap;
}

uint32_t fos_nat_table_size(const struct fos_nat_rt *rt)
{
	return rt && rt->skel ? bpf_map__max_entries(rt->skel->maps.fos_nat) : 0;
}

/* the size of the table pinned in dir, 0 if there is none */
static uint32_t _fos_pinned_size(const char *dir)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);
	char path[600];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "%s/fos_nat", dir);
	fd = bpf_obj_get(path);
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return 0;
	return info.max_entries;
}

int fos_nat_load(struct fos_manager *m, struct fos_nat_rt *rt, uint32_t size, char *err,
		 size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct fos_nat *skel;
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
	pinned = _fos_pinned_size(rt->dir);
	(void)bpf_map__set_max_entries(skel->maps.fos_nat, pinned ? pinned : size);
	r = fos_nat__load(skel);
	if (r < 0) {
		snprintf(err, errlen,
			 "cannot load the NAT programs: %s (maps pinned in %s by another version "
			 "of fwd? fwd --flush removes them)",
			 strerror(-r), rt->dir);
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

/* A bigger table: a second object whose maps are the running one's but
 * fos_nat, sized for size entries and not pinned yet. */
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
		if (nm == skel->maps.fos_nat || nm == skel->maps.fos_nat_scratch)
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
	(void)bpf_map__set_max_entries(skel->maps.fos_nat, size);
	r = fos_nat__load(skel);
	if (r < 0) {
		snprintf(err, errlen, "cannot load the NAT programs with a table of %u entries: %s",
			 size, strerror(-r));
		fos_nat__destroy(skel);
		return r;
	}
	*ret = skel;
	return 0;
}

/* the mapping of an OUT entry (k, v) of from copied into to: IN first (the
 * claim of the external port), then OUT; 0, -EEXIST if to has either end
 * already, -errno */
static int _fos_copy_mapping(int from, int to, const struct fos_nat_key *k,
			     const struct fos_nat_value *v)
{
	struct fos_nat_key ik = {.port = v->port, .proto = k->proto, .dir = FOS_NAT_IN};
	struct fos_nat_value iv;

	memcpy(ik.addr, v->addr, sizeof(ik.addr));
	if (bpf_map_lookup_elem(from, &ik, &iv) < 0)
		return -ENOENT; /* half of one: the collector's to end */
	if (bpf_map_update_elem(to, &ik, &iv, BPF_NOEXIST) < 0)
		return -errno;
	if (bpf_map_update_elem(to, k, v, BPF_NOEXIST) < 0) {
		int r = -errno;

		(void)bpf_map_delete_elem(to, &ik);
		return r;
	}
	return 0;
}

uint64_t fos_nat_now_ns(void)
{
	return fos_clock_ns(CLOCK_MONOTONIC_COARSE);
}

static void _fos_count_removed(const struct fos_nat_rt *rt, uint32_t id, uint64_t n);

struct _fos_copy {
	int from, to;
	size_t n, lost;
	/* the last pass: mappings not copied end with the old table, by rule */
	bool last;
	uint32_t gone[FOS_NAT_RULES_MAX];
};

static void _fos_copy_one(void *u, const void *key, const void *val)
{
	struct _fos_copy *c = u;
	const struct fos_nat_key *k = key;
	struct fos_nat_value cur;

	const struct fos_nat_value *v = val;
	int r;

	if (k->dir != FOS_NAT_OUT || bpf_map_lookup_elem(c->to, k, &cur) == 0)
		return;
	r = _fos_copy_mapping(c->from, c->to, k, v);
	if (r == 0) {
		c->n++;
		return;
	}
	if (!c->last)
		return; /* the last pass tries it again */
	if (r == -EEXIST)
		c->lost++;
	if (!(v->flags & FOS_NAT_F_STATIC) && v->rule < FOS_NAT_RULES_MAX)
		c->gone[v->rule]++;
}

/* every mapping of from that to lacks, copied; returns how many, and in
 * *ret_lost those whose external port to gave to another meanwhile. The
 * last pass counts the mappings it could not copy as removed (they end
 * with the old table). */
static size_t _fos_copy_table(const struct fos_nat_rt *rt, int from, int to, bool last,
			      size_t *ret_lost)
{
	struct _fos_copy *c = calloc(1, sizeof(*c));
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);
	size_t n;
	int r;

	if (!c)
		return 0;
	c->from = from;
	c->to = to;
	c->last = last;
	if (bpf_obj_get_info_by_fd(from, &info, &len) < 0) {
		free(c);
		return 0;
	}
	r = fos_map_walk_all(from, sizeof(struct fos_nat_key), sizeof(struct fos_nat_value),
			     info.max_entries, _fos_copy_one, c);
	if (r < 0)
		log_warning("nat: reading the table to grow it stopped: %s; the mappings not "
			    "read end with it",
			    strerror(-r));
	for (uint32_t id = 0; id < FOS_NAT_RULES_MAX; id++)
		_fos_count_removed(rt, id, c->gone[id]);
	*ret_lost += c->lost;
	n = c->n;
	free(c);
	return n;
}

/* Once the apply is through: every mapping copied into the new table, the
 * hooks switched to its programs, what the old programs made meanwhile
 * copied too, and the new table pinned in the old one's place. */
void fos_nat_grow_commit(struct fos_nat_rt *rt, struct fos_nat *skel)
{
	int from = fos_nat_map_fd(rt), to = bpf_map__fd(skel->maps.fos_nat);
	uint32_t old_size = fos_nat_table_size(rt);
	struct fos_nat *old = rt->skel;
	size_t lost = 0, n, late;
	char path[600];

	n = _fos_copy_table(rt, from, to, false, &lost);
	rt->skel = skel;
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
	late = _fos_copy_table(rt, from, to, true, &lost);
	snprintf(path, sizeof(path), "%s/fos_nat", rt->dir);
	(void)unlink(path);
	if (bpf_map__pin(skel->maps.fos_nat, path) < 0)
		log_error_errno(-errno,
				"nat: cannot pin the grown table at %s; a restarted fwd would "
				"not find its mappings",
				path);
	(void)bpf_map__set_pin_path(skel->maps.fos_nat, path);
	fos_nat__destroy(old);
	log_info("nat: table grown from %u to %u entries (%zu mappings moved, %zu made during "
		 "the move%s)",
		 old_size, fos_nat_table_size(rt), n, late, lost ? ", some lost their port" : "");
	if (lost)
		log_warning("nat: %zu mapping%s made during the move lost their external port to "
			    "a new one; their flows get a new mapping",
			    lost, lost == 1 ? "" : "s");
}

void fos_nat_unload(struct fos_nat_rt *rt)
{
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

static int _fos_static_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct fos_nat_key));
}

struct _fos_statics {
	struct fos_nat_key *v;
	size_t n, cap;
	bool failed;
};

static void _fos_static_one(void *u, const void *key, const void *val)
{
	struct _fos_statics *st = u;
	const struct fos_nat_value *v = val;

	if (!(v->flags & FOS_NAT_F_STATIC) || st->failed)
		return;
	if (st->n == st->cap) {
		size_t nc = st->cap ? 2 * st->cap : 64;
		struct fos_nat_key *x = reallocarray(st->v, nc, sizeof(*x));

		if (!x) {
			st->failed = true;
			return;
		}
		st->v = x;
		st->cap = nc;
	}
	memcpy(&st->v[st->n++], key, sizeof(*st->v));
}

/* After a restart: the names by id, the hooks (their programs replaced by
 * this object's in place), and the port maps' entries. */
int fos_nat_adopt(struct fos_nat_rt *rt)
{
	int nfd = bpf_map__fd(rt->skel->maps.fos_nat_names);
	int afd = bpf_map__fd(rt->skel->maps.fos_tc_attach);
	int mfd = fos_nat_map_fd(rt);
	struct _fos_statics st = {0};
	size_t hooks = 0;
	int r;

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
	r = fos_map_walk_all(mfd, sizeof(struct fos_nat_key), sizeof(struct fos_nat_value),
			     fos_nat_table_size(rt), _fos_static_one, &st);
	free(rt->statics);
	rt->statics = st.v;
	rt->n_statics = st.n;
	if (r < 0 || st.failed)
		return r < 0 ? r : -ENOMEM;
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

/* the OUT key a dynamic IN entry belongs to */
static void _fos_out_key_of(const struct fos_nat_key *in, const struct fos_nat_value *iv,
			    struct fos_nat_key *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->addr, iv->addr, 16);
	out->port = iv->port;
	out->proto = in->proto;
	out->dir = FOS_NAT_OUT;
	if (iv->flags & FOS_NAT_F_APDF) {
		memcpy(out->raddr, iv->raddr, 16);
		out->rport = iv->rport;
	}
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

/* Both entries of the mapping (out, v), not counted: IN first, so that no
 * packet finds the port's way in once it is free for another mapping; only
 * while it is the mapping's own (in_ours: known to be) */
static int _fos_unmap(int fd, const struct fos_nat_key *out, const struct fos_nat_value *v,
		      bool in_ours)
{
	struct fos_nat_key in = {};
	struct fos_nat_value iv;

	memcpy(in.addr, v->addr, 16);
	in.port = v->port;
	in.proto = out->proto;
	in.dir = FOS_NAT_IN;
	if (in_ours || (bpf_map_lookup_elem(fd, &in, &iv) == 0 &&
			memcmp(iv.addr, out->addr, 16) == 0 && iv.port == out->port))
		(void)bpf_map_delete_elem(fd, &in);
	return bpf_map_delete_elem(fd, out) < 0 ? -errno : 0;
}

int fos_nat_remove(struct fos_nat_rt *rt, const struct fos_nat_key *out,
		   const struct fos_nat_value *v)
{
	int r = _fos_unmap(fos_nat_map_fd(rt), out, v, false);

	if (r == 0 && !(v->flags & FOS_NAT_F_STATIC))
		_fos_count_removed(rt, v->rule, 1);
	return r;
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
	int mfd = fos_nat_map_fd(rt);
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
				struct fos_nat_key ok = {.proto = pm->protocol, .dir = FOS_NAT_OUT};
				struct fos_nat_key ik = {.proto = pm->protocol, .dir = FOS_NAT_IN};
				struct fos_nat_value ov = {.flags = FOS_NAT_F_STATIC}, iv, old;
				uint16_t ip = (uint16_t)(pm->int_lo + (p - pm->ext_lo));

				_fos_addr16(ok.addr, &pm->internal_ip);
				ok.port = ip;
				memcpy(ik.addr, xa, 16);
				ik.port = (uint16_t)p;
				memcpy(ov.addr, xa, 16);
				ov.port = (uint16_t)p;
				ov.ifindex = ext;
				ov.rule = (uint16_t)id;
				iv = ov;
				_fos_addr16(iv.addr, &pm->internal_ip);
				iv.port = ip;
				if (c->hairpinning)
					iv.flags |= FOS_NAT_F_HAIRPIN;
				/* a dynamic mapping on the port gives it up */
				if (bpf_map_lookup_elem(mfd, &ik, &old) == 0 &&
				    !(old.flags & FOS_NAT_F_STATIC)) {
					struct fos_nat_key dk;
					struct fos_nat_value dv;

					_fos_out_key_of(&ik, &old, &dk);
					if (bpf_map_lookup_elem(mfd, &dk, &dv) == 0)
						(void)fos_nat_remove(rt, &dk, &dv);
					else
						(void)bpf_map_delete_elem(mfd, &ik);
				}
				if (bpf_map_lookup_elem(mfd, &ok, &old) == 0 &&
				    !(old.flags & FOS_NAT_F_STATIC))
					(void)fos_nat_remove(rt, &ok, &old);
				if (bpf_map_update_elem(mfd, &ik, &iv, BPF_ANY) < 0 ||
				    bpf_map_update_elem(mfd, &ok, &ov, BPF_ANY) < 0) {
					r = -errno;
					goto fail;
				}
				r = _fos_push_key(&tx->statics, &tx->n_statics, &caps, &ik);
				if (r == 0)
					r = _fos_push_key(&tx->statics, &tx->n_statics, &caps, &ok);
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
	int mfd = fos_nat_map_fd(rt);

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
					       sizeof(*tx->statics), _fos_static_cmp))
			(void)bpf_map_delete_elem(mfd, &rt->statics[i]);
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
			     const struct fos_nat_key *k, const struct fos_nat_value *v)
{
	static const uint8_t zero[16];
	struct fos_nat_ifaddr ia = {};
	bool v4 = memcmp(k->addr, (const uint8_t[12]){[10] = 0xff, [11] = 0xff}, 12) == 0;
	bool in = c->n_sources == 0, dependent = memcmp(k->raddr, zero, 16) != 0 || k->rport;
	uint8_t want[16];

	if (!(c->families & (v4 ? FOS_NAT_FAM_V4 : FOS_NAT_FAM_V6)))
		return false;
	if (v->ifindex != if_nametoindex(c->dest_if))
		return false;
	if (dependent == c->endpoint_independent)
		return false;
	if (c->has_range && (v->port < c->port_lo || v->port > c->port_hi) && k->port != 0)
		return false;
	for (size_t i = 0; i < c->n_sources && !in; i++)
		in = _fos_cidr_has(&c->sources[i], k->addr);
	for (size_t i = 0; i < c->n_excludes && in; i++)
		in = !_fos_cidr_has(&c->excludes[i], k->addr);
	if (!in)
		return false;
	(void)fos_nat_ifaddr_get(rt, v->ifindex, &ia);
	if (!_fos_map_ext(c, &ia, v4 ? AF_INET : AF_INET6, want))
		return false;
	return memcmp(want, v->addr, 16) == 0;
}

static const struct fos_nat_cfg *_fos_cfg_of(const struct fos_nat_rt *rt,
					     const struct fos_config *cfg, uint32_t id)
{
	for (size_t i = 0; cfg && rt->ids && i < cfg->n_nats; i++)
		if (rt->ids[i] == id)
			return &cfg->nats[i];
	return NULL;
}

/* has the mapping (OUT value v, IN value iv if found) outlived its timeout? */
static bool _fos_expired(const struct fos_nat_cfg *c, uint8_t proto, const struct fos_nat_value *v,
			 const struct fos_nat_value *iv, uint64_t now)
{
	uint64_t last = v->last_ns, est = v->est_ns, to;
	bool closing = v->flags & FOS_NAT_F_CLOSING;

	if (iv) {
		if (iv->last_ns > last)
			last = iv->last_ns;
		if (iv->est_ns > est)
			est = iv->est_ns;
		closing = closing || (iv->flags & FOS_NAT_F_CLOSING);
	}
	if (proto == IPPROTO_TCP) {
		if (!closing && est && now - est < (uint64_t)c->tcp_timeout * 1000000000ULL)
			return false;
		to = FOS_NAT_TCP_TRANSITORY;
	} else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
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

/* Is the flow of the OUT mapping (k, rule) with the remote (ra, rport) in
 * the connection table? The table sees it with the internal end, before
 * SNAT and after DNAT. */
static bool _fos_ct_has_flow(const struct fos_nat_rt *rt, const struct fos_nat_key *k,
			     uint32_t rule, const uint8_t ra[16], uint16_t rport)
{
	struct fos_ct_key ck = {.proto = k->proto,
				.zone = rule < FOS_NAT_RULES_MAX ? rt->zone[rule] : 0};
	struct fos_ct_value cv;
	uint16_t lport = k->port;
	int c;

	if (k->proto == IPPROTO_ICMP || k->proto == IPPROTO_ICMPV6)
		rport = lport; /* an echo flow: its identifier as both ports */
	c = memcmp(k->addr, ra, 16);
	if (c < 0 || (c == 0 && lport <= rport)) {
		memcpy(ck.addr[0], k->addr, 16);
		memcpy(ck.addr[1], ra, 16);
		ck.port[0] = lport;
		ck.port[1] = rport;
	} else {
		memcpy(ck.addr[0], ra, 16);
		memcpy(ck.addr[1], k->addr, 16);
		ck.port[0] = rport;
		ck.port[1] = lport;
	}
	return bpf_map_lookup_elem(rt->ct_fd, &ck, &cv) == 0;
}

/* Is a flow of the OUT mapping (k, v) in the connection table: that of its
 * latest packet out, or (endpoint independent, iv its IN entry or NULL) of
 * its latest packet in? */
static bool _fos_ct_has(const struct fos_nat_rt *rt, const struct fos_nat_key *k,
			const struct fos_nat_value *v, const struct fos_nat_value *iv)
{
	static const uint8_t zero[16];
	bool dependent = memcmp(k->raddr, zero, 16) != 0 || k->rport;

	if (dependent)
		return _fos_ct_has_flow(rt, k, v->rule, k->raddr, k->rport);
	if (_fos_ct_has_flow(rt, k, v->rule, v->raddr, v->rport))
		return true;
	return iv && !(iv->flags & FOS_NAT_F_APDF) && memcmp(iv->raddr, zero, 16) != 0 &&
	       (memcmp(iv->raddr, v->raddr, 16) != 0 || iv->rport != v->rport) &&
	       _fos_ct_has_flow(rt, k, v->rule, iv->raddr, iv->rport);
}

/* a flow from the inside to a mapping's external end: the table sees it
 * translated (if at all), so such a mapping keeps its own timeouts */
static bool _fos_hairpinned(const struct fos_nat_rt *rt, const struct fos_nat_key *k,
			    const struct fos_nat_value *v)
{
	static const uint8_t zero[16];
	const uint8_t *ra = memcmp(k->raddr, zero, 16) != 0 || k->rport ? k->raddr : v->raddr;
	uint32_t one;

	return bpf_map_lookup_elem(bpf_map__fd(rt->skel->maps.fos_nat_extaddr), ra, &one) == 0;
}

/* ms from the end of a walk to the next: ten times the walk's own time,
 * so that the collector takes a tenth of a CPU at most, within these */
#define FOS_NAT_GC_INTERVAL	1000
#define FOS_NAT_GC_INTERVAL_MAX 10000
/* a port claimed by a mapping that was never made is looked for every this
 * many walks: only a CPU that lost a race (and fwd killed between a
 * mapping's two deletes) leaves one */
#define FOS_NAT_ORPHAN_WALKS 10
#define FOS_NAT_ORPHAN_AGE   (10ULL * 1000000000ULL)

struct _fos_gc {
	struct fos_nat_rt *rt;
	const struct fos_config *cfg;
	int fd;
	uint64_t now;
	bool orphans;
	uint32_t removed[FOS_NAT_RULES_MAX]; /* by rule id, counted at the step's end */
};

static bool _fos_gc_remove(struct _fos_gc *g, const struct fos_nat_key *k,
			   const struct fos_nat_value *v, bool in_ours)
{
	if (_fos_unmap(g->fd, k, v, in_ours) < 0)
		return false;
	if (v->rule < FOS_NAT_RULES_MAX)
		g->removed[v->rule]++;
	return true;
}

/* the IN entry of the OUT mapping (k, v), when it is the mapping's */
static bool _fos_in_of(int fd, const struct fos_nat_key *k, const struct fos_nat_value *v,
		       struct fos_nat_value *ret)
{
	struct fos_nat_key ik = {.proto = k->proto, .dir = FOS_NAT_IN};

	memcpy(ik.addr, v->addr, 16);
	ik.port = v->port;
	return bpf_map_lookup_elem(fd, &ik, ret) == 0 && memcmp(ret->addr, k->addr, 16) == 0 &&
	       ret->port == k->port;
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
 * One entry as the walk's batch read it (vb). A mapping whose OUT entry saw
 * a packet more recently than it could expire costs no look-up at all; the
 * others are judged with their IN entry, and read again before they are
 * removed (a packet may have come since the batch was read).
 */
static void _fos_gc_one(void *u, const void *key, const void *val)
{
	struct _fos_gc *g = u;
	struct fos_nat_rt *rt = g->rt;
	const struct fos_nat_key *k = key;
	const struct fos_nat_value *vb = val;
	struct fos_nat_value v, iv;
	const struct fos_nat_cfg *c;
	uint64_t now = g->now, last;
	bool have_in;

	if (vb->flags & FOS_NAT_F_STATIC)
		return;
	if (k->dir == FOS_NAT_IN) {
		struct fos_nat_key ok;
		struct fos_nat_value ov;

		if (!g->orphans || now <= vb->last_ns || now - vb->last_ns <= FOS_NAT_ORPHAN_AGE)
			return;
		_fos_out_key_of(k, vb, &ok);
		if (bpf_map_lookup_elem(g->fd, &ok, &ov) < 0 &&
		    bpf_map_lookup_elem(g->fd, k, &v) == 0 && now > v.last_ns &&
		    now - v.last_ns > FOS_NAT_ORPHAN_AGE)
			(void)bpf_map_delete_elem(g->fd, k);
		return;
	}
	if (vb->flags & FOS_NAT_F_MOVED) {
		/* its flow leaves by another way out now: the next packet makes
		 * a mapping of that one */
		if (_fos_gc_remove(g, k, vb, false))
			rt->moved++;
		return;
	}
	c = _fos_cfg_of(rt, g->cfg, vb->rule);
	if (!c || (rt->revalidate && !fos_nat_mapping_allowed(rt, c, k, vb))) {
		if (_fos_gc_remove(g, k, vb, false))
			rt->ended++;
		return;
	}
	if (rt->ct_fd >= 0 && vb->rule < FOS_NAT_RULES_MAX && rt->tracked[vb->rule]) {
		/* the connection table's entry decides, not the own timeouts,
		 * but for a hairpinned flow, which it sees translated */
		const uint64_t grace = FOS_NAT_CT_GRACE * 1000000000ULL;

		if (now <= vb->last_ns || now - vb->last_ns < grace)
			return;
		if (!_fos_hairpinned(rt, k, vb)) {
			have_in = _fos_in_of(g->fd, k, vb, &iv);
			last = have_in && iv.last_ns > vb->last_ns ? iv.last_ns : vb->last_ns;
			if (now <= last || now - last < grace ||
			    _fos_ct_has(rt, k, vb, have_in ? &iv : NULL))
				return;
			if (bpf_map_lookup_elem(g->fd, k, &v) < 0 || v.last_ns != vb->last_ns)
				return;
			if (_fos_gc_remove(g, k, &v, have_in))
				rt->expired++;
			return;
		}
	}
	if (now <= vb->last_ns || now - vb->last_ns < _fos_min_idle_ns(c, k->proto))
		return;
	have_in = _fos_in_of(g->fd, k, vb, &iv);
	if (!_fos_expired(c, k->proto, vb, have_in ? &iv : NULL, now))
		return;
	if (bpf_map_lookup_elem(g->fd, k, &v) < 0 ||
	    !_fos_expired(c, k->proto, &v, have_in ? &iv : NULL, now))
		return;
	if (_fos_gc_remove(g, k, &v, have_in))
		rt->expired++;
}

uint32_t fos_nat_gc_step(struct fos_nat_rt *rt, const struct fos_config *cfg, uint64_t budget_ns)
{
	int fd = fos_nat_map_fd(rt);
	uint64_t t0 = fos_clock_ns(CLOCK_MONOTONIC), step;
	struct _fos_gc g = {.rt = rt, .cfg = cfg, .fd = fd, .now = fos_nat_now_ns()};
	int r;

	if (fd < 0)
		return UINT32_MAX;
	if (!rt->walking) {
		rt->walking = true;
		rt->walk = (struct fos_map_walk){0};
		rt->walk_ns = 0;
	}
	g.orphans = rt->walks % FOS_NAT_ORPHAN_WALKS == 0;
	r = fos_map_walk_step(fd, sizeof(struct fos_nat_key), sizeof(struct fos_nat_value),
			      fos_nat_table_size(rt), &rt->walk, _fos_gc_one, &g, budget_ns);
	for (uint32_t id = 0; id < FOS_NAT_RULES_MAX; id++)
		_fos_count_removed(rt, id, g.removed[id]);
	step = fos_clock_ns(CLOCK_MONOTONIC) - t0;
	rt->walk_ns += step;
	if (step > rt->max_step_ns)
		rt->max_step_ns = step;
	if (r > 0)
		return 0;
	if (r < 0)
		log_warning("nat: the walk of the mapping table stopped: %s", strerror(-r));
	rt->walking = false;
	/* a reload's check of every mapping holds once a walk saw them all */
	if (r == 0 && rt->walk.seen < fos_nat_table_size(rt))
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
