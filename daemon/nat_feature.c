// SPDX-License-Identifier: GPL-2.0-only
/*
 * The NAT feature (natConfigs): its part of the apply, the address events
 * that masquerade follows, the collector, its IPC methods (show nat, clear
 * nat) and its row of fos_features. The engine is nat.c.
 *
 * Order against the firewall on one interface: the NAT programs take TC
 * priority 1 on ingress and 65535 on egress (FOS_TC_PRIORITY_NAT_*), so a
 * packet coming in is translated to its internal end before the firewall
 * and conntrack see it, and a packet going out after; both see internal
 * addresses only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "cleanup.h"
#include "feature.h"
#include "fwd.h"
#include "log.h"
#include "methods.h"
#include "nat.h"
#include "nat.skel.h"
#include "parse.h"

extern const struct fos_feature fos_feature_nat;

static const char *const stat_names[_FOS_NAT_STAT_MAX] = {
    [FOS_NAT_STAT_OUT] = "translatedOut",	  [FOS_NAT_STAT_IN] = "translatedIn",
    [FOS_NAT_STAT_CREATED] = "mappingsCreated",	  [FOS_NAT_STAT_KEPT_PORT] = "portsKept",
    [FOS_NAT_STAT_EXHAUSTED] = "dropsExhausted",  [FOS_NAT_STAT_FULL] = "dropsFull",
    [FOS_NAT_STAT_NO_ADDRESS] = "dropsNoAddress", [FOS_NAT_STAT_FILTERED] = "dropsFiltered",
    [FOS_NAT_STAT_FRAGMENT] = "dropsFragment",	  [FOS_NAT_STAT_HAIRPIN] = "hairpinned",
    [FOS_NAT_STAT_ICMP_ERROR] = "icmpErrors",	  [FOS_NAT_STAT_MALFORMED] = "dropsMalformed",
    [FOS_NAT_STAT_CONTENDED] = "dropsContended",
};
_Static_assert(FOS_NAT_STAT_CONTENDED + 1 == _FOS_NAT_STAT_MAX, "a name for every counter");

struct fos_nat_rt *fos_nat_rt(struct fos_manager *m)
{
	void **slot = fos_feature_state(m, &fos_feature_nat);

	if (!slot)
		return NULL;
	if (!*slot)
		*slot = calloc(1, sizeof(struct fos_nat_rt));
	return *slot;
}

static bool _fos_pinned(const struct fos_manager *m)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/nat/fos_nat", m->pin_dir);
	return access(path, F_OK) == 0;
}

/* ---- address events ------------------------------------------------------------ */
static int _fos_nl_open(struct fos_nat_rt *rt)
{
	struct nl_sock *sk;

	if (rt->nl)
		return 0;
	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	nl_socket_disable_seq_check(sk);
	if (nl_connect(sk, NETLINK_ROUTE) < 0 ||
	    nl_socket_add_memberships(sk, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, 0) < 0 ||
	    nl_socket_set_nonblocking(sk) < 0) {
		nl_socket_free(sk);
		return -EIO;
	}
	rt->nl = sk;
	rt->nl_gen++;
	return 0;
}

static void _fos_nl_close(struct fos_nat_rt *rt)
{
	if (!rt->nl)
		return;
	nl_socket_free(rt->nl);
	rt->nl = NULL;
	rt->nl_gen++;
}

static int _fos_nat_events_fd(struct fos_manager *m, unsigned *ret_gen)
{
	struct fos_nat_rt *rt = fos_nat_rt(m);

	*ret_gen = rt ? rt->nl_gen : 0;
	return rt && rt->nl ? nl_socket_get_fd(rt->nl) : -1;
}

/* an address came or went: masquerade takes the interface's address now,
 * port maps move to it, and mappings of the old one end */
static int _fos_nat_events(struct fos_manager *m)
{
	struct fos_nat_rt *rt = fos_nat_rt(m);
	char buf[16384];
	int fd;

	if (!rt || !rt->nl)
		return 0;
	fd = nl_socket_get_fd(rt->nl);
	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
	}
	if (rt->skel && m->cfg && fos_nat_refresh_addrs(rt, m->cfg)) {
		struct fos_errors errs = {};
		struct fos_nat_tx tx = {};

		/* the port maps on the new address: the same config again */
		tx.ids = calloc(m->cfg->n_nats ? m->cfg->n_nats : 1, sizeof(*tx.ids));
		if (tx.ids) {
			if (rt->ids && m->cfg->n_nats)
				memcpy(tx.ids, rt->ids, m->cfg->n_nats * sizeof(*tx.ids));
			memcpy(tx.names, rt->names, sizeof(tx.names));
			memcpy(tx.hooks, rt->hooks, sizeof(tx.hooks));
			if (fos_nat_sync(rt, m->cfg, &tx, &errs) == 0)
				fos_nat_prune(rt, m->cfg, &tx);
			for (size_t i = 0; i < errs.n; i++)
				log_warning("%s", errs.msgs[i]);
			fos_errors_clear(&errs);
			free(tx.ids);
			free(tx.statics);
		}
	}
	return 0;
}

static int _fos_key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct fos_nat_key));
}

/* ---- the apply ------------------------------------------------------------------- */
static int _fos_nat_open(struct fos_manager *m, const struct fos_config *cfg)
{
	struct fos_nat_rt *rt;
	char err[512];
	int r;

	if (!_fos_pinned(m) && !(cfg && cfg->n_nats))
		return 0;
	rt = fos_nat_rt(m);
	if (!rt)
		return -ENOMEM;
	r = fos_nat_load(m, rt, fos_nat_capacity(cfg), err, sizeof(err));
	if (r < 0) {
		log_error("nat: %s", err);
		return r;
	}
	r = fos_nat_adopt(rt);
	if (r < 0)
		return log_error_errno(r, "nat: cannot read the pinned NAT state");
	return 0;
}

static void _fos_nat_close(struct fos_manager *m)
{
	void **slot = fos_feature_state(m, &fos_feature_nat);
	struct fos_nat_rt *rt = slot ? *slot : NULL;

	if (!rt)
		return;
	_fos_nl_close(rt);
	fos_nat_unload(rt);
	free(rt->ids);
	free(rt->statics);
	free(rt->logged);
	free(rt);
	*slot = NULL;
}

static int _fos_nat_prepare(struct fos_manager *m, struct fos_apply *a, void **tx)
{
	struct fos_nat_rt *rt;
	struct fos_nat_tx *t;
	char err[512];
	int r;

	if (!a->cfg->n_nats) {
		void **slot = fos_feature_state(m, &fos_feature_nat);

		if (!slot || !*slot || !((struct fos_nat_rt *)*slot)->skel)
			return 0; /* never had NAT: nothing to do */
	}
	rt = fos_nat_rt(m);
	t = calloc(1, sizeof(*t));
	if (!rt || !t) {
		free(t);
		return -ENOMEM;
	}
	*tx = t;
	r = fos_nat_plan(rt, a->cfg, t, a->errs);
	if (r < 0)
		return r;
	if (!rt->skel) {
		r = fos_nat_load(m, rt, fos_nat_capacity(a->cfg), err, sizeof(err));
		if (r < 0) {
			fos_errors_add(a->errs, a->cfg->nats[0].src.file, a->cfg->nats[0].src.line,
				       "natConfigs: %s", err);
			return r;
		}
		t->loaded_now = true;
	}
	if (fos_nat_capacity(a->cfg) > fos_nat_table_size(rt)) {
		r = fos_nat_grow_prepare(rt, fos_nat_capacity(a->cfg), &t->grown, err, sizeof(err));
		if (r < 0) {
			fos_errors_add(a->errs, a->cfg->nats[0].src.file, a->cfg->nats[0].src.line,
				       "natConfigs: %s", err);
			return r;
		}
	}
	return 0;
}

static int _fos_nat_stage(struct fos_manager *m, struct fos_apply *a, void *tx)
{
	struct fos_nat_rt *rt = fos_nat_rt(m);
	struct fos_nat_tx *t = tx;

	if (!t)
		return 0;
	return fos_nat_sync(rt, a->cfg, t, a->errs);
}

static void _fos_nat_tx_free(struct fos_nat_tx *t)
{
	if (!t)
		return;
	free(t->ids);
	free(t->statics);
	fos_nat__destroy(t->grown);
	free(t);
}

static void _fos_nat_commit(struct fos_manager *m, struct fos_apply *a, void *tx)
{
	struct fos_nat_rt *rt = fos_nat_rt(m);
	struct fos_nat_tx *t = tx;

	if (!t)
		return;
	fos_nat_prune(rt, a->cfg, t);
	fos_nat_note_tracking(rt, a->cfg);
	if (t->grown)
		fos_nat_grow_commit(rt, TAKE_PTR(t->grown));
	if (a->cfg->n_nats) {
		if (_fos_nl_open(rt) < 0)
			log_warning("nat: cannot watch address changes; masquerade follows them "
				    "on reload only");
		log_info("nat: %zu natConfig%s on %s", a->cfg->n_nats,
			 a->cfg->n_nats == 1 ? "" : "s", rt->dir);
	} else {
		_fos_nl_close(rt);
	}
	_fos_nat_tx_free(t);
}

static void _fos_nat_abort(struct fos_manager *m, struct fos_apply *a, void *tx)
{
	struct fos_nat_rt *rt = fos_nat_rt(m);
	struct fos_nat_tx *t = tx;

	(void)a;
	if (!t)
		return;
	if (t->staged) {
		/* put back what the running config wrote, and take off the hooks
		 * only this apply added */
		struct fos_nat_tx back = {};
		struct fos_errors errs = {};
		const struct fos_config *old = m->cfg;
		size_t n = old ? old->n_nats : 0;

		for (size_t i = 0; i < FOS_NAT_HOOKS_MAX && t->hooks[i].ifindex; i++) {
			bool had = false;

			for (size_t j = 0; j < FOS_NAT_HOOKS_MAX && !had; j++)
				had = rt->hooks[j].ifindex == t->hooks[i].ifindex &&
				      rt->hooks[j].ingress == t->hooks[i].ingress;
			if (!had)
				fos_tc_detach_hook(&t->hooks[i]);
		}
		back.ids = calloc(n ? n : 1, sizeof(*back.ids));
		if (back.ids && old) {
			if (rt->ids && n)
				memcpy(back.ids, rt->ids, n * sizeof(*back.ids));
			memcpy(back.names, rt->names, sizeof(back.names));
			memcpy(back.hooks, rt->hooks, sizeof(back.hooks));
			(void)fos_nat_sync(rt, old, &back, &errs);
			/* the port maps only this apply wrote */
			for (size_t i = 0; i < t->n_statics; i++)
				if (!back.n_statics ||
				    !bsearch(&t->statics[i], back.statics, back.n_statics,
					     sizeof(*back.statics), _fos_key_cmp)) {
					int64_t id = fos_nat_tab_find(&rt->tab, &t->statics[i]);

					if (id >= 0 && (rt->tab.rec[id].flags & FOS_NAT_F_STATIC))
						(void)fos_nat_remove(rt, (uint32_t)id);
				}
		}
		fos_errors_clear(&errs);
		free(back.ids);
		free(back.statics);
	}
	if (t->loaded_now && !(m->cfg && m->cfg->n_nats))
		fos_nat_unload_unpin(rt);
	_fos_nat_tx_free(t);
}

/* fwd --check: the checks of an apply against a NAT state of nothing, and
 * the programs through the verifier on maps of their own */
static int _fos_nat_check(const struct fos_config *cfg, struct fos_errors *errs)
{
	_cleanup_free_ struct fos_nat_rt *rt = NULL;
	struct fos_nat_tx t = {};
	struct fos_nat *skel;
	struct bpf_map *map;
	int r;

	if (!cfg->n_nats)
		return 0;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	r = fos_nat_plan(rt, cfg, &t, errs);
	free(t.ids);
	free(t.statics);
	if (r < 0)
		return r;
	skel = fos_nat__open();
	if (!skel) {
		r = -errno;
		fos_errors_add(errs, cfg->nats[0].src.file, cfg->nats[0].src.line,
			       "natConfigs: cannot open the NAT programs: %s", strerror(-r));
		return r;
	}
	bpf_object__for_each_map(map, skel->obj)(void) bpf_map__set_pin_path(map, NULL);
	r = fos_nat__load(skel);
	if (r < 0)
		fos_errors_add(errs, cfg->nats[0].src.file, cfg->nats[0].src.line,
			       "natConfigs: the NAT programs do not load: %s", strerror(-r));
	fos_nat__destroy(skel);
	return r;
}

/* ---- the collector and the log ------------------------------------------------------- */
static uint32_t _fos_nat_tick(struct fos_manager *m)
{
	void **slot = fos_feature_state(m, &fos_feature_nat);
	struct fos_nat_rt *rt = slot ? *slot : NULL;
	uint64_t now = fos_clock_ns(CLOCK_MONOTONIC) / 1000000;
	uint32_t wait = UINT32_MAX;

	if (!rt || !rt->skel)
		return UINT32_MAX;
	if (now >= rt->next_ms) {
		uint32_t ms;

		rt->ct_fd = m->ct.ct;
		ms = fos_nat_gc_step(rt, m->cfg, FOS_FEATURE_STEP_NS);

		rt->next_ms = now + ms;
	}
	wait = rt->next_ms > now ? (uint32_t)(rt->next_ms - now) : 0;
	/* drops for want of ports, room or the table's lock, once a second at
	 * most */
	if (now >= rt->next_log_ms && m->cfg) {
		if (!rt->logged)
			rt->logged = calloc(3 * FOS_NAT_RULES_MAX, sizeof(*rt->logged));
		for (size_t i = 0; rt->logged && i < m->cfg->n_nats; i++) {
			uint32_t id = fos_nat_id_of(rt, m->cfg, i);
			uint64_t st[_FOS_NAT_STAT_MAX];

			if (!id || fos_nat_rule_stats(rt, id, st) < 0)
				continue;
			if (st[FOS_NAT_STAT_EXHAUSTED] > rt->logged[3 * id])
				log_warning(
				    "natConfigs \"%s\": %" PRIu64 " new flow%s dropped: no "
				    "free external port (%" PRIu64 " in all)",
				    m->cfg->nats[i].name,
				    st[FOS_NAT_STAT_EXHAUSTED] - rt->logged[3 * id],
				    st[FOS_NAT_STAT_EXHAUSTED] - rt->logged[3 * id] == 1 ? "" : "s",
				    st[FOS_NAT_STAT_EXHAUSTED]);
			if (st[FOS_NAT_STAT_FULL] > rt->logged[3 * id + 1])
				log_warning(
				    "natConfigs \"%s\": %" PRIu64 " new flow%s dropped: "
				    "maxConnections (%u) mappings reached",
				    m->cfg->nats[i].name,
				    st[FOS_NAT_STAT_FULL] - rt->logged[3 * id + 1],
				    st[FOS_NAT_STAT_FULL] - rt->logged[3 * id + 1] == 1 ? "" : "s",
				    m->cfg->nats[i].max_connections);
			if (st[FOS_NAT_STAT_CONTENDED] > rt->logged[3 * id + 2])
				log_warning("natConfigs \"%s\": %" PRIu64
					    " new flow%s dropped: the mapping "
					    "table stayed locked (%" PRIu64 " in all)",
					    m->cfg->nats[i].name,
					    st[FOS_NAT_STAT_CONTENDED] - rt->logged[3 * id + 2],
					    st[FOS_NAT_STAT_CONTENDED] - rt->logged[3 * id + 2] == 1
						? ""
						: "s",
					    st[FOS_NAT_STAT_CONTENDED]);
			rt->logged[3 * id] = st[FOS_NAT_STAT_EXHAUSTED];
			rt->logged[3 * id + 1] = st[FOS_NAT_STAT_FULL];
			rt->logged[3 * id + 2] = st[FOS_NAT_STAT_CONTENDED];
		}
		rt->next_log_ms = now + 1000;
	}
	if (m->cfg && m->cfg->n_nats && rt->next_log_ms - now < wait)
		wait = (uint32_t)(rt->next_log_ms - now);
	return wait;
}

/* ---- methods ------------------------------------------------------------------------- */
static const char *_fos_proto(uint8_t p)
{
	switch (p) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	default:
		return NULL;
	}
}

static json_object *_fos_addr_json(const uint8_t a[16])
{
	static const uint8_t pfx[12] = {[10] = 0xff, [11] = 0xff};
	char buf[INET6_ADDRSTRLEN];

	if (memcmp(a, pfx, 12) == 0)
		inet_ntop(AF_INET, a + 12, buf, sizeof(buf));
	else
		inet_ntop(AF_INET6, a, buf, sizeof(buf));
	return json_object_new_string(buf);
}

static json_object *_fos_proto_json(uint8_t p)
{
	const char *n = _fos_proto(p);

	return n ? json_object_new_string(n) : json_object_new_int(p);
}

/* the filters of show/clear nat */
struct _fos_nat_filter {
	uint32_t id; /* 0: any */
	bool has_cidr;
	struct fos_cidr cidr; /* the internal or the external address in it */
	int proto;	      /* -1: any */
};

static int _fos_nat_filter(struct fos_manager *m, struct fos_nat_rt *rt, struct fos_peer *peer,
			   json_object *params, struct _fos_nat_filter *f, bool *sent)
{
	static const char *const known[] = {"config", "address", "protocol", "mappings"};
	const char *name = _fos_param_str(params, "config");
	const char *addr = _fos_param_str(params, "address");
	json_object *pv;

	*sent = true;
	memset(f, 0, sizeof(f[0]));
	f->proto = -1;
	if (params) {
		json_object_object_foreach(params, key, val)
		{
			bool ok = false;

			(void)val;
			for (size_t i = 0; i < ARRAY_SIZE(known) && !ok; i++)
				ok = strcmp(key, known[i]) == 0;
			if (!ok)
				return _fos_error(peer, "fos.InvalidParameter",
						  "unknown parameter \"%s\"", key);
		}
	}
	if (name) {
		for (size_t i = 0; m->cfg && i < m->cfg->n_nats && !f->id; i++)
			if (strcmp(m->cfg->nats[i].name, name) == 0)
				f->id = fos_nat_id_of(rt, m->cfg, i);
		if (!f->id)
			return _fos_error(peer, "fos.NoSuchNat", "no natConfig named \"%s\"", name);
	}
	if (addr) {
		char err[FOS_ERRBUF] = "";

		if (fos_parse_cidr(addr, &f->cidr, err) < 0)
			return _fos_error(peer, "fos.InvalidParameter", "address: %s", err);
		f->has_cidr = true;
	}
	if (params && json_object_object_get_ex(params, "protocol", &pv)) {
		uint8_t p;
		char err[FOS_ERRBUF] = "";

		if (json_object_is_type(pv, json_type_int) && json_object_get_int(pv) >= 0 &&
		    json_object_get_int(pv) <= 255)
			f->proto = json_object_get_int(pv);
		else if (json_object_is_type(pv, json_type_string) &&
			 fos_parse_protocol(json_object_get_string(pv), &p, err) == 0)
			f->proto = p;
		else
			return _fos_error(peer, "fos.InvalidParameter", "protocol: %s",
					  err[0] ? err : "expected a protocol");
	}
	*sent = false;
	return 0;
}

static bool _fos_in_cidr(const struct fos_cidr *c, const uint8_t a[16])
{
	unsigned plen = fos_cidr_plen128(c);

	for (unsigned i = 0; i < plen; i++)
		if (((c->addr.b[i / 8] ^ a[i / 8]) >> (7 - i % 8)) & 1)
			return false;
	return true;
}

static bool _fos_nat_match(const struct _fos_nat_filter *f, const struct fos_nat_map *m)
{
	if (f->id && m->rule != f->id)
		return false;
	if (f->proto >= 0 && m->proto != f->proto)
		return false;
	if (f->has_cidr && !_fos_in_cidr(&f->cidr, m->iaddr) && !_fos_in_cidr(&f->cidr, m->eaddr))
		return false;
	return true;
}

#define FOS_NAT_SHOW_MAX   10000 /* mappings listed by one show */
#define FOS_NAT_SHOW_ADDRS 64	 /* external addresses counted by one show */

/* what a show reads in its walk of the table */
struct _fos_show {
	const struct _fos_nat_filter *f;
	const struct fos_nat_rt *rt;
	json_object *maps; /* NULL: only counted */
	uint64_t now;
	uint64_t per_addr_n[FOS_NAT_SHOW_ADDRS];
	uint8_t per_addr[FOS_NAT_SHOW_ADDRS][16];
	size_t n_addr, listed, total;
};

static void _fos_show_one(struct _fos_show *w, const struct fos_nat_map *m)
{
	json_object *e;
	size_t i;

	for (i = 0; i < w->n_addr; i++)
		if (memcmp(w->per_addr[i], m->eaddr, 16) == 0)
			break;
	if (i == w->n_addr && w->n_addr < FOS_NAT_SHOW_ADDRS)
		memcpy(w->per_addr[w->n_addr++], m->eaddr, 16);
	if (i < FOS_NAT_SHOW_ADDRS)
		w->per_addr_n[i]++;
	if (!_fos_nat_match(w->f, m))
		return;
	w->total++;
	if (!w->maps || w->listed >= FOS_NAT_SHOW_MAX)
		return;
	e = json_object_new_object();
	json_object_object_add(e, "config", json_object_new_string(w->rt->names[m->rule]));
	json_object_object_add(e, "protocol", _fos_proto_json(m->proto));
	json_object_object_add(e, "internal", _fos_addr_json(m->iaddr));
	json_object_object_add(e, "internalPort", json_object_new_int(m->iport));
	json_object_object_add(e, "external", _fos_addr_json(m->eaddr));
	json_object_object_add(e, "externalPort", json_object_new_int(m->eport));
	if (m->flags & FOS_NAT_F_APDF) {
		json_object_object_add(e, "remote", _fos_addr_json(m->raddr));
		json_object_object_add(e, "remotePort", json_object_new_int(m->rport));
	}
	json_object_object_add(e, "static", json_object_new_boolean(m->flags & FOS_NAT_F_STATIC));
	json_object_object_add(
	    e, "idleSeconds",
	    json_object_new_int64(w->now > m->last_ns && m->last_ns
				      ? (int64_t)((w->now - m->last_ns) / 1000000000ULL)
				      : 0));
	json_object_array_add(w->maps, e);
	w->listed++;
}

/* the mappings a clear removes: their ids, and their OUT keys to tell
 * them from a mapping that took the id since */
struct _fos_clear_item {
	uint32_t id;
	struct fos_nat_key k;
};

struct _fos_clear {
	const struct _fos_nat_filter *f;
	struct _fos_clear_item *del;
	size_t n, cap;
	bool failed;
};

static void _fos_clear_one(struct _fos_clear *c, uint32_t id, const struct fos_nat_map *m)
{
	if (c->failed || (m->flags & FOS_NAT_F_STATIC) || !_fos_nat_match(c->f, m))
		return;
	if (c->n == c->cap) {
		size_t nc = c->cap ? 2 * c->cap : 256;
		struct _fos_clear_item *x = reallocarray(c->del, nc, sizeof(*x));

		if (!x) {
			c->failed = true;
			return;
		}
		c->del = x;
		c->cap = nc;
	}
	c->del[c->n].id = id;
	fos_nat_out_key(m, &c->del[c->n].k);
	c->n++;
}

/*
 * show nat and clear nat walk the table a step at a time (a job of the
 * client's), so that a table of millions of mappings never holds the event
 * loop; a clear then removes what it found a step at a time too.
 */
struct _fos_nat_job {
	bool clear;
	struct fos_nat_rt *rt;
	uint32_t table_id; /* the map the walk reads */
	struct _fos_nat_filter f;
	uint32_t pos; /* the next record the walk reads */
	bool walked, complete;
	struct _fos_show w;
	struct _fos_clear c;
	size_t next, removed; /* clear: the next of c.del to remove; removed so far */
};

/* show nat's reply once its walk is done (j NULL: no table to walk) */
static int _fos_show_reply(struct fos_manager *m, struct fos_peer *peer, struct fos_nat_rt *rt,
			   struct _fos_nat_job *j)
{
	static const struct _fos_nat_filter none = {.proto = -1};
	json_object *o = json_object_new_object(), *cfgs = json_object_new_array();
	json_object *ext = json_object_new_array(), *maps = j ? TAKE_PTR(j->w.maps) : NULL;
	const struct _fos_nat_filter *fp = j ? &j->f : &none;
	const struct _fos_show empty = {0}, *wp = j ? &j->w : &empty;

	for (size_t i = 0; i < wp->n_addr; i++) {
		json_object *e = json_object_new_object();

		json_object_object_add(e, "address", _fos_addr_json(wp->per_addr[i]));
		json_object_object_add(e, "portsInUse",
				       json_object_new_int64((int64_t)wp->per_addr_n[i]));
		json_object_array_add(ext, e);
	}
	for (size_t i = 0; m->cfg && i < m->cfg->n_nats; i++) {
		const struct fos_nat_cfg *c = &m->cfg->nats[i];
		uint32_t id = rt ? fos_nat_id_of(rt, m->cfg, i) : 0;
		json_object *e = json_object_new_object(), *refs = json_object_new_array();
		json_object *st = json_object_new_object(), *ifs = json_object_new_object();
		uint64_t s[_FOS_NAT_STAT_MAX] = {0};
		bool active = rt && rt->skel && id;

		if (fp->id && fp->id != id) {
			json_object_put(e);
			json_object_put(refs);
			json_object_put(st);
			json_object_put(ifs);
			continue;
		}
		if (active)
			(void)fos_nat_rule_stats(rt, id, s);
		json_object_object_add(e, "name", json_object_new_string(c->name));
		if (c->description)
			json_object_object_add(e, "description",
					       json_object_new_string(c->description));
		json_object_object_add(ifs, "source", json_object_new_string(c->source_if));
		json_object_object_add(ifs, "destination", json_object_new_string(c->dest_if));
		json_object_object_add(e, "interfaces", ifs);
		json_object_object_add(e, "type",
				       json_object_new_string(fos_nat_type_to_string(c->type)));
		json_object_object_add(
		    e, "ipVersion",
		    json_object_new_string(fos_nat_families_to_string(c->families)));
		json_object_object_add(e, "endpointIndependent",
				       json_object_new_boolean(c->endpoint_independent));
		json_object_object_add(e, "hairpinning", json_object_new_boolean(c->hairpinning));
		json_object_object_add(e, "portMappings", json_object_new_int((int)c->n_maps));
		json_object_object_add(e, "maxConnections",
				       json_object_new_int64(c->max_connections));
		/* the CRD's status */
		json_object_object_add(e, "active", json_object_new_boolean(active));
		json_object_array_add(refs,
				      json_object_new_string(fos_nat_prog_name(FOS_NAT_PROG_IN)));
		json_object_array_add(refs,
				      json_object_new_string(fos_nat_prog_name(FOS_NAT_PROG_OUT)));
		if (c->hairpinning)
			json_object_array_add(
			    refs, json_object_new_string(fos_nat_prog_name(FOS_NAT_PROG_HAIRPIN)));
		json_object_object_add(e, "programRefs", refs);
		json_object_object_add(
		    e, "translationCount",
		    json_object_new_int64((int64_t)(s[FOS_NAT_STAT_OUT] + s[FOS_NAT_STAT_IN])));
		json_object_object_add(
		    e, "mappings",
		    json_object_new_int64(active ? (int64_t)fos_nat_mappings(rt, id) : 0));
		for (int k = 0; k < _FOS_NAT_STAT_MAX; k++)
			json_object_object_add(st, stat_names[k],
					       json_object_new_int64((int64_t)s[k]));
		json_object_object_add(e, "counters", st);
		json_object_array_add(cfgs, e);
	}
	json_object_object_add(o, "configs", cfgs);
	json_object_object_add(o, "externalAddresses", ext);
	json_object_object_add(o, "matching", json_object_new_int64((int64_t)wp->total));
	if (rt) {
		/* the mappings the table has room for */
		json_object_object_add(o, "tableSize",
				       json_object_new_int64((int64_t)fos_nat_table_size(rt)));
		json_object_object_add(o, "expired", json_object_new_int64((int64_t)rt->expired));
		json_object_object_add(o, "ended", json_object_new_int64((int64_t)rt->ended));
		json_object_object_add(o, "moved", json_object_new_int64((int64_t)rt->moved));
		{
			json_object *gc = json_object_new_object();

			json_object_object_add(gc, "walks",
					       json_object_new_int64((int64_t)rt->walks));
			json_object_object_add(
			    gc, "lastWalkMs",
			    json_object_new_double((double)rt->last_walk_ns / 1e6));
			json_object_object_add(
			    gc, "maxStepMs", json_object_new_double((double)rt->max_step_ns / 1e6));
			json_object_object_add(gc, "intervalMs",
					       json_object_new_int64(rt->interval_ms));
			json_object_object_add(o, "gc", gc);
		}
	}
	if (maps) {
		json_object_object_add(o, "mappings", maps);
		json_object_object_add(o, "truncated",
				       json_object_new_boolean(wp->total > wp->listed));
	}
	/* false: a reload replaced the table (or NAT) during the walk */
	json_object_object_add(o, "complete", json_object_new_boolean(!j || j->complete));
	return _fos_reply(peer, o);
}

/* the kernel's id of the mapping table, 0 for none */
static uint32_t _fos_table_id(const struct fos_nat_rt *rt)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	if (!rt || !rt->skel || bpf_obj_get_info_by_fd(fos_nat_map_fd(rt), &info, &len) < 0)
		return 0;
	return info.id;
}

static void _fos_nat_job_free(void *state)
{
	struct _fos_nat_job *j = state;

	if (!j)
		return;
	json_object_put(j->w.maps);
	free(j->c.del);
	free(j);
}

/* a clear's removals, for about a step: 1 while there are more */
static int _fos_clear_some(struct fos_nat_rt *rt, struct _fos_nat_job *j)
{
	uint64_t t0 = fos_clock_ns(CLOCK_MONOTONIC);

	while (j->next < j->c.n) {
		const struct _fos_clear_item *it = &j->c.del[j->next++];
		struct fos_nat_key k;
		struct fos_nat_map mm;

		/* as it is now: a reload meanwhile may have made it a port
		 * map's, or the table grown (the mapping found again by its
		 * key) */
		if (it->id >= rt->tab.cap || rt->tab.rec[it->id].state != FOS_NAT_S_LIVE)
			continue;
		mm = rt->tab.rec[it->id];
		fos_nat_out_key(&mm, &k);
		if (memcmp(&k, &it->k, sizeof(k)) != 0) {
			int64_t id = fos_nat_tab_find(&rt->tab, &it->k);

			if (id < 0)
				continue;
			mm = rt->tab.rec[id];
			if (!(mm.flags & FOS_NAT_F_STATIC) && _fos_nat_match(&j->f, &mm) &&
			    fos_nat_remove(rt, (uint32_t)id) == 0)
				j->removed++;
		} else if (!(mm.flags & FOS_NAT_F_STATIC) && _fos_nat_match(&j->f, &mm) &&
			   fos_nat_remove(rt, it->id) == 0) {
			j->removed++;
		}
		if ((j->next & 255) == 0 &&
		    fos_clock_ns(CLOCK_MONOTONIC) - t0 >= FOS_FEATURE_STEP_NS)
			return 1;
	}
	return 0;
}

/* a step of the walk: 1 while there is more */
static int _fos_nat_walk_some(struct fos_nat_rt *rt, struct _fos_nat_job *j)
{
	uint64_t t0 = fos_clock_ns(CLOCK_MONOTONIC);

	while (j->pos < rt->tab.cap) {
		uint32_t end = j->pos + 4096 < rt->tab.cap ? j->pos + 4096 : rt->tab.cap;

		for (uint32_t id = j->pos; id < end; id++) {
			struct fos_nat_map mm;

			if (__atomic_load_n(&rt->tab.rec[id].state, __ATOMIC_ACQUIRE) !=
			    FOS_NAT_S_LIVE)
				continue;
			mm = rt->tab.rec[id];
			if (j->clear)
				_fos_clear_one(&j->c, id, &mm);
			else
				_fos_show_one(&j->w, &mm);
		}
		j->pos = end;
		if (end < rt->tab.cap && fos_clock_ns(CLOCK_MONOTONIC) - t0 >= FOS_FEATURE_STEP_NS)
			return 1;
	}
	return 0;
}

static int _fos_nat_job_step(struct fos_manager *m, struct fos_peer *peer, void *state)
{
	void **slot = fos_feature_state(m, &fos_feature_nat);
	struct fos_nat_rt *rt = slot ? *slot : NULL;
	struct _fos_nat_job *j = state;
	bool same = rt && rt == j->rt && _fos_table_id(rt) == j->table_id;
	json_object *o;
	int r;

	if (!j->walked) {
		if (same) {
			if (_fos_nat_walk_some(rt, j) > 0)
				return 1;
			if (j->c.failed)
				return _fos_error(peer, "fos.Failed",
						  "cannot read the mapping table: out of memory") <
					       0
					   ? -EIO
					   : 0;
		}
		j->walked = true;
		j->complete = same;
	}
	if (!j->clear)
		return _fos_show_reply(m, peer, rt, j);
	if (!rt || !rt->skel)
		return _fos_error(peer, "fos.NoNat", "NAT was unconfigured during the clear") < 0
			   ? -EIO
			   : 0;
	/* a grown table holds the same mappings: they are removed from it */
	if (_fos_clear_some(rt, j) > 0)
		return 1;
	rt->ended += j->removed;
	log_info("clear nat: %zu mapping%s removed", j->removed, j->removed == 1 ? "" : "s");
	o = json_object_new_object();
	json_object_object_add(o, "removed", json_object_new_int64((int64_t)j->removed));
	/* false: a reload replaced the table during the walk, which saw only
	 * part of it */
	json_object_object_add(o, "complete", json_object_new_boolean(j->complete));
	r = _fos_reply(peer, o);
	return r < 0 ? r : 0;
}

static int _fos_nat_job_start(struct fos_manager *m, struct fos_peer *peer, bool clear,
			      json_object *params)
{
	void **slot = fos_feature_state(m, &fos_feature_nat);
	struct fos_nat_rt *rt = slot ? *slot : NULL;
	struct _fos_nat_job *j;
	json_object *v;
	bool sent;
	int r;

	if (!rt || !rt->skel) {
		if (clear)
			return _fos_error(peer, "fos.NoNat", "NAT is not configured");
		return _fos_show_reply(m, peer, rt, NULL);
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	r = _fos_nat_filter(m, rt, peer, params, &j->f, &sent);
	if (sent) {
		free(j);
		return r;
	}
	j->clear = clear;
	j->rt = rt;
	j->table_id = _fos_table_id(rt);
	j->c.f = &j->f;
	j->w.f = &j->f;
	j->w.rt = rt;
	j->w.now = fos_nat_now_ns();
	if (!clear && params && json_object_object_get_ex(params, "mappings", &v) &&
	    json_object_get_boolean(v))
		j->w.maps = json_object_new_array();
	peer->job =
	    (struct fos_job){.step = _fos_nat_job_step, .free = _fos_nat_job_free, .state = j};
	return 0;
}

static int _fos_show_nat(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	return _fos_nat_job_start(m, peer, false, params);
}

static int _fos_clear_nat(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	return _fos_nat_job_start(m, peer, true, params);
}

static const struct fos_method fos_nat_methods[] = {
    {"fos.Show.Nat", false, _fos_show_nat},
    {"fos.Clear.Nat", true, _fos_clear_nat},
};

const struct fos_feature fos_feature_nat = {
    .name = "nat",
    .pin_subdir = FOS_NAT_PIN_SUBDIR,
    .open = _fos_nat_open,
    .close = _fos_nat_close,
    .prepare = _fos_nat_prepare,
    .stage = _fos_nat_stage,
    .commit = _fos_nat_commit,
    .abort = _fos_nat_abort,
    .check = _fos_nat_check,
    .tick = _fos_nat_tick,
    .events_fd = _fos_nat_events_fd,
    .events = _fos_nat_events,
    .methods = fos_nat_methods,
    .n_methods = ARRAY_SIZE(fos_nat_methods),
};
