// SPDX-License-Identifier: GPL-2.0-only
/*
 * DDoS mitigation in fwd: a program's protections turned into its
 * fos_ddos_cfg (written with each rule slot, so both go live with one flip),
 * the datapath's block events (a ring buffer per program, all polled through
 * one libbpf ring_buffer from the event loop) recorded as dynamic entries of
 * the blacklist sets, and the counters and tables that show ddos reads.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cleanup.h"
#include "fwd.h"
#include "log.h"
#include "xdp_filter.skel.h"

#define NS_PER_S 1000000000ULL

/* a protection counts as engaged this long after it last acted */
#define FOS_DDOS_ENGAGED_NS (2 * NS_PER_S)

static const char *const _fos_ddos_reason_names[] = {
    [FOS_DDOS_RATE] = "rate",
    [FOS_DDOS_CONN_RATE] = "conn-rate",
    [FOS_DDOS_CONN_LIMIT] = "conn-limit",
    [FOS_DDOS_SYN_FLOOD] = "syn-flood",
    [FOS_DDOS_ICMP_FLOOD] = "icmp-flood",
    [FOS_DDOS_UDP_FLOOD] = "udp-flood",
    [FOS_DDOS_BLACKLIST] = "blacklist",
};
static_assert(ARRAY_SIZE(_fos_ddos_reason_names) == _FOS_DDOS_REASON_MAX,
	      "_fos_ddos_reason_names incomplete");

const char *fos_ddos_reason_to_string(unsigned r)
{
	return r < ARRAY_SIZE(_fos_ddos_reason_names) ? _fos_ddos_reason_names[r] : "unknown";
}

/* GCRA parameters of a rate with its burst (fos/abi.h, struct fos_ddos_rate) */
static struct fos_ddos_rate _fos_ddos_rate(const struct fos_rate_cfg *c)
{
	struct fos_ddos_rate r = {};
	uint32_t burst;

	if (!c->rate)
		return r;
	burst = c->burst ? c->burst : c->rate;
	r.interval_ns = NS_PER_S / c->rate;
	if (!r.interval_ns)
		r.interval_ns = 1;
	r.tolerance_ns = (uint64_t)(burst - 1) * r.interval_ns;
	return r;
}

void fos_ddos_cfg_from(const struct fos_program *c, uint32_t block_set, struct fos_ddos_cfg *ret)
{
	const struct fos_ddos_settings *d = &c->ddos;
	struct fos_ddos_cfg k = {};

	if (!fos_program_has_ddos(c)) {
		*ret = k;
		return;
	}
	k.v6_plen = d->v6_plen ? d->v6_plen : FOS_DDOS_DEFAULT_V6_PLEN;
	if (d->rate_enabled) {
		uint64_t block = (uint64_t)d->rate_block * NS_PER_S;

		k.flags |= FOS_DDOS_F_RATE;
		k.pkt = _fos_ddos_rate(&d->pps);
		k.conn = _fos_ddos_rate(&d->cps);
		k.conn_limit = d->conns_per_ip;
		k.block_ns[FOS_DDOS_RATE] = block;
		k.block_ns[FOS_DDOS_CONN_RATE] = block;
		k.block_ns[FOS_DDOS_CONN_LIMIT] = block;
	}
	if (d->syn_enabled) {
		k.flags |= FOS_DDOS_F_SYN;
		if (d->syn_always) {
			k.flags |= FOS_DDOS_F_SYN_ALWAYS;
		} else {
			/* a destination may take a second's worth of SYNs at once
			 * before cookies start */
			struct fos_rate_cfg t = {.rate = d->syn_threshold,
						 .burst = d->syn_threshold};

			k.syn_dst = _fos_ddos_rate(&t);
		}
		k.syn_hold_ns =
		    (uint64_t)(d->syn_hold ? d->syn_hold : FOS_DDOS_DEFAULT_SYN_HOLD) * NS_PER_S;
		k.auth_ns = (uint64_t)(d->syn_auth_timeout ? d->syn_auth_timeout
							   : FOS_DDOS_DEFAULT_AUTH_TIMEOUT) *
			    NS_PER_S;
	}
	if (d->icmp_enabled) {
		k.flags |= FOS_DDOS_F_ICMP;
		k.icmp_src = _fos_ddos_rate(&d->icmp_per_src);
		k.icmp_all = _fos_ddos_rate(&d->icmp_total);
		k.block_ns[FOS_DDOS_ICMP_FLOOD] = (uint64_t)d->icmp_block * NS_PER_S;
	}
	if (d->udp_enabled) {
		k.flags |= FOS_DDOS_F_UDP;
		k.udp_src = _fos_ddos_rate(&d->udp_per_src);
		k.udp_all = _fos_ddos_rate(&d->udp_total);
		k.block_ns[FOS_DDOS_UDP_FLOOD] = (uint64_t)d->udp_block * NS_PER_S;
	}
	/* SYN cookies and the blacklist itself never block */
	k.block_set = c->blacklist.enabled ? block_set : FOS_SET_ID_NONE;
	*ret = k;
}

static int _fos_ddos_fd(const struct fos_prog_rt *p, int which)
{
	if (!p->skel || !p->ddos)
		return -1;
	switch (which) {
	case 0:
		return bpf_map__fd(p->skel->maps.fos_ddos_cfg);
	case 1:
		return bpf_map__fd(p->skel->maps.fos_ddos_stats);
	case 2:
		return bpf_map__fd(p->skel->maps.fos_ddos_state);
	case 3:
		return bpf_map__fd(p->skel->maps.fos_ddos_src);
	case 4:
		return bpf_map__fd(p->skel->maps.fos_ddos_dst);
	default:
		return bpf_map__fd(p->skel->maps.fos_ddos_events);
	}
}

bool fos_ddos_cfg_holds(const struct fos_prog_rt *p, uint32_t slot, const struct fos_ddos_cfg *cfg)
{
	struct fos_ddos_cfg cur;
	int fd = _fos_ddos_fd(p, 0);

	/* an object without DDoS mitigation never reads its settings */
	if (fd < 0)
		return true;
	if (bpf_map_lookup_elem(fd, &slot, &cur) < 0)
		return false;
	return memcmp(&cur, cfg, sizeof(cur)) == 0;
}

int fos_ddos_write_cfg(const struct fos_prog_rt *p, uint32_t slot, const struct fos_ddos_cfg *cfg)
{
	int fd = _fos_ddos_fd(p, 0);

	if (fd < 0)
		return 0;
	if (bpf_map_update_elem(fd, &slot, cfg, BPF_ANY) < 0)
		return -errno;
	return 0;
}

/* ---- block events ------------------------------------------------------- */

static struct fos_rset *_fos_set_by_id(struct fos_manager *m, uint32_t id)
{
	for (size_t i = 0; i < m->n_sets; i++)
		if (m->sets[i].id == id)
			return &m->sets[i];
	return NULL;
}

static const char *_fos_set_alias(const struct fos_manager *m, uint32_t id)
{
	for (size_t i = 0; i < m->n_set_aliases; i++)
		if (m->set_aliases[i].id == id)
			return m->set_aliases[i].name;
	return NULL;
}

static unsigned long long _fos_secs_left(uint64_t expires_ns, uint64_t now)
{
	return expires_ns > now ? (expires_ns - now + NS_PER_S / 2) / NS_PER_S : 0;
}

uint32_t fos_ddos_log_flush(struct fos_manager *m, uint64_t now_ns)
{
	uint64_t end = m->ddos_log_since_ns + NS_PER_S;

	if (!m->ddos_log_skipped)
		return UINT32_MAX;
	if (now_ns < end)
		return (uint32_t)((end - now_ns + 999999) / 1000000);
	log_info("ddos: %llu more sources blocked within a second, not logged one by one "
		 "(fosctl show set lists them)",
		 (unsigned long long)m->ddos_log_skipped);
	m->ddos_log_skipped = 0;
	return UINT32_MAX;
}

/* May a block be logged at now_ns? Else it is counted for the summary. */
static bool _fos_ddos_log_ok(struct fos_manager *m, uint64_t now_ns)
{
	if (now_ns - m->ddos_log_since_ns >= NS_PER_S) {
		(void)fos_ddos_log_flush(m, now_ns);
		m->ddos_log_since_ns = now_ns;
		m->ddos_log_n = 0;
	}
	if (m->ddos_log_n < FOS_DDOS_LOG_PER_S) {
		m->ddos_log_n++;
		return true;
	}
	m->ddos_log_skipped++;
	return false;
}

/* A block the datapath made under the old id of a set a reload renumbered
 * (before the flip, or by a packet still running the old slot): the live set
 * of that name takes the entry, and the old id's entry goes, since nothing
 * reads that id any more and nothing else would erase it. */
static void _fos_ddos_move(struct fos_manager *m, const struct fos_ddos_event *ev,
			   const struct fos_cidr *c, const char *buf, uint64_t now)
{
	const char *name = _fos_set_alias(m, ev->set_id);
	struct fos_set_entry e = {
	    .cidr = *c, .flags = FOS_SET_F_DYNAMIC | FOS_SET_F_AUTO, .expires_ns = ev->expires_ns};
	struct fos_rset *s = name ? fos_manager_find_set(m, name) : NULL;
	ssize_t i;
	int r;

	if (!name) {
		log_debug("ddos: blocked %s in set id %u, which no set has had since fwd started",
			  buf, ev->set_id);
		return;
	}
	r = fos_sets_del_entry(&m->set_maps, ev->set_id, c);
	if (r < 0 && r != -ENOENT)
		log_warning_errno(r,
				  "ddos: cannot delete %s under the replaced id %u of set %s, "
				  "ignoring",
				  buf, ev->set_id, name);
	if (!s) {
		log_info("ddos: blocked %s in set %s, which a reload removed; not kept", buf, name);
		return;
	}
	if (ev->expires_ns <= now)
		return;
	i = fos_rset_find(s, c);
	/* already there for at least as long (a config or permanent entry, or a
	 * later block) */
	if (i >= 0 && (!(s->e[i].flags & FOS_SET_F_DYNAMIC) || !s->e[i].expires_ns ||
		       s->e[i].expires_ns >= e.expires_ns))
		return;
	r = fos_sets_add_entry(&m->set_maps, s->id, c, e.flags, e.expires_ns);
	if (r < 0) {
		log_warning_errno(r, "ddos: cannot move %s into set %s after a reload, ignoring",
				  buf, name);
		return;
	}
	if (i >= 0) {
		s->e[i] = e;
		fos_sets_expiry_note(&m->set_exp, e.expires_ns);
	} else if ((r = fos_rset_append_entry(s, &e)) < 0) {
		/* blocked all the same, but fwd will not list or expire it */
		log_warning_errno(r, "ddos: cannot record %s in set %s, ignoring", buf, name);
		return;
	}
	if (_fos_ddos_log_ok(m, now))
		log_info("ddos: blocked %s in set %s for %llu s (%s; made under the id a reload "
			 "replaced)",
			 buf, name, _fos_secs_left(e.expires_ns, now),
			 fos_ddos_reason_to_string(ev->reason));
}

static int _fos_ddos_event(void *ctx, void *data, size_t size)
{
	struct fos_manager *m = ctx;
	const struct fos_ddos_event *ev = data;
	char buf[FOS_CIDR_STRLEN];
	struct fos_cidr c = {};
	struct fos_rset *s;
	uint64_t now = fos_boottime_ns();
	int r;

	if (size < sizeof(*ev))
		goto next;
	memcpy(c.addr.b, ev->addr, sizeof(c.addr.b));
	c.family = fos_addr_is_v4(&c.addr) ? AF_INET : AF_INET6;
	c.plen = ev->prefixlen;
	if (c.plen > (c.family == AF_INET ? 32 : 128))
		goto next;
	fos_cidr_to_string(&c, buf, sizeof(buf));
	/* the set the datapath wrote is the one the live slot names, or one a
	 * reload has since given a new id */
	s = _fos_set_by_id(m, ev->set_id);
	if (!s) {
		_fos_ddos_move(m, ev, &c, buf, now);
		goto next;
	}
	r = fos_rset_add(s,
			 &(struct fos_set_entry){.cidr = c,
						 .flags = FOS_SET_F_DYNAMIC | FOS_SET_F_AUTO,
						 .expires_ns = ev->expires_ns},
			 NULL);
	if (r < 0)
		log_warning_errno(r, "ddos: cannot record %s in set %s, ignoring", buf, s->name);
	else if (r > 0 && _fos_ddos_log_ok(m, now))
		log_info("ddos: blocked %s in set %s for %llu s (%s)", buf, s->name,
			 _fos_secs_left(ev->expires_ns, now),
			 fos_ddos_reason_to_string(ev->reason));
next:
	/* out of time: libbpf has moved past this record and stops here */
	if (m->ddos_rb_deadline_ns && fos_boottime_ns() >= m->ddos_rb_deadline_ns) {
		m->ddos_rb_stopped = true;
		return -EAGAIN;
	}
	return 0;
}

void fos_ddos_events_close(struct fos_manager *m)
{
	if (!m->ddos_rb)
		return;
	/* what the programs reported so far is recorded before their objects
	 * may go */
	(void)fos_ddos_events_consume(m, 0);
	ring_buffer__free(m->ddos_rb);
	m->ddos_rb = NULL;
	m->ddos_rb_gen++;
}

int fos_ddos_events_open(struct fos_manager *m)
{
	struct ring_buffer *rb = NULL;
	int r;

	fos_ddos_events_close(m);
	for (size_t i = 0; i < m->n_progs; i++) {
		int fd = _fos_ddos_fd(m->progs[i], 5);

		if (fd < 0)
			continue;
		if (!rb) {
			rb = ring_buffer__new(fd, _fos_ddos_event, m, NULL);
			r = rb ? 0 : -errno;
		} else {
			r = ring_buffer__add(rb, fd, _fos_ddos_event, m);
		}
		if (r < 0) {
			ring_buffer__free(rb);
			return log_error_errno(r,
					       "ddos: cannot watch the block events of program %s; "
					       "blocked sources will not be listed in their sets",
					       m->progs[i]->name);
		}
	}
	m->ddos_rb = rb;
	m->ddos_rb_gen++;
	return 0;
}

int fos_ddos_events_fd(const struct fos_manager *m)
{
	return m->ddos_rb ? ring_buffer__epoll_fd(m->ddos_rb) : -1;
}

int fos_ddos_events_consume(struct fos_manager *m, uint64_t budget_ns)
{
	int r;

	if (!m->ddos_rb)
		return 0;
	m->ddos_rb_deadline_ns = budget_ns ? fos_boottime_ns() + budget_ns : 0;
	m->ddos_rb_stopped = false;
	r = ring_buffer__consume(m->ddos_rb);
	m->ddos_rb_deadline_ns = 0;
	if (m->ddos_rb_stopped)
		return 1;
	return r < 0 ? r : 0;
}

/* ---- show ---------------------------------------------------------------- */

/* The source and destination tables are LRU hashes of up to
 * FOS_DDOS_SRC_MAX entries: reading one whole takes around 100 ms, so they
 * are read a step at a time, a few ms each, between the event loop's other
 * work. A walk holds fds of its own on the tables: a reload that replaces or
 * removes the program between two steps cannot free them under it, and
 * fos_ddos_tables_current() tells the walk that happened. */

static int _fos_ddos_map_id(int fd, uint32_t *ret)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	if (fd < 0)
		return -ENODEV;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return -errno;
	*ret = info.id;
	return 0;
}

static int _fos_ddos_map_dup(int fd, uint32_t *ret_id)
{
	uint32_t id;
	int r, nfd;

	r = _fos_ddos_map_id(fd, &id);
	if (r < 0)
		return r;
	nfd = bpf_map_get_fd_by_id(id);
	if (nfd < 0)
		return -errno;
	*ret_id = id;
	return nfd;
}

void fos_ddos_tables_close(struct fos_ddos_tables *t)
{
	if (!t)
		return;
	if (t->src >= 0)
		close(t->src);
	if (t->dst >= 0)
		close(t->dst);
	t->src = t->dst = -1;
}

int fos_ddos_tables_open(const struct fos_prog_rt *p, struct fos_ddos_tables *ret)
{
	struct fos_ddos_tables t = {.src = -1, .dst = -1};
	uint32_t dst_id;
	int r;

	if (!p->skel || !p->ddos)
		return -ENODEV;
	r = _fos_ddos_map_dup(_fos_ddos_fd(p, 3), &t.src_id);
	if (r < 0)
		return r;
	t.src = r;
	r = _fos_ddos_map_dup(_fos_ddos_fd(p, 4), &dst_id);
	if (r < 0) {
		fos_ddos_tables_close(&t);
		return r;
	}
	t.dst = r;
	*ret = t;
	return 0;
}

bool fos_ddos_tables_current(const struct fos_prog_rt *p, const struct fos_ddos_tables *t)
{
	uint32_t id;

	return p && p->skel && p->ddos && _fos_ddos_map_id(_fos_ddos_fd(p, 3), &id) == 0 &&
	       id == t->src_id;
}

static void _fos_dst_one(void *u, const void *k, const void *v)
{
	struct fos_ddos_cursor *c = u;
	const struct fos_ddos_dst *d = v;

	(void)k;
	if (d->engaged_until > c->now)
		c->count++;
}

static void _fos_src_one(void *u, const void *k, const void *v)
{
	(void)k;
	(void)v;
	((struct fos_ddos_cursor *)u)->count++;
}

int fos_ddos_count_sources_step(const struct fos_ddos_tables *t, struct fos_ddos_cursor *c,
				uint64_t budget_ns)
{
	return fos_map_walk_step(t->src, sizeof(struct fos_ddos_addr), sizeof(struct fos_ddos_src),
				 FOS_DDOS_SRC_MAX, &c->walk, _fos_src_one, c, budget_ns);
}

int fos_ddos_count_engaged_step(const struct fos_ddos_tables *t, struct fos_ddos_cursor *c,
				uint64_t budget_ns)
{
	return fos_map_walk_step(t->dst, sizeof(struct fos_ddos_addr), sizeof(struct fos_ddos_dst),
				 FOS_DDOS_DST_MAX, &c->walk, _fos_dst_one, c, budget_ns);
}

int fos_ddos_status(const struct fos_prog_rt *p, struct fos_ddos_status *ret)
{
	int ncpu = libbpf_num_possible_cpus(), fd;
	struct fos_ddos_status st = {};
	_cleanup_free_ uint64_t *pc = NULL;
	uint64_t now = fos_boottime_ns();

	if (!p->skel || !p->ddos)
		return -ENODEV;
	if (ncpu <= 0)
		return -EINVAL;
	pc = calloc((size_t)ncpu, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	fd = _fos_ddos_fd(p, 1);
	for (uint32_t k = 0; k < _FOS_DDOS_STAT_MAX; k++) {
		if (bpf_map_lookup_elem(fd, &k, pc) < 0)
			return -errno;
		for (int c = 0; c < ncpu; c++)
			st.stats[k] += pc[c];
	}
	fd = _fos_ddos_fd(p, 2);
	for (uint32_t k = 0; k < _FOS_DDOS_P_MAX; k++) {
		struct fos_ddos_state s = {};

		if (bpf_map_lookup_elem(fd, &k, &s) < 0)
			return -errno;
		st.engaged[k] = s.last_active_ns && (s.last_active_ns >= now ||
						     now - s.last_active_ns <= FOS_DDOS_ENGAGED_NS);
	}
	*ret = st;
	return 0;
}

/* ---- the top sources ------------------------------------------------------ */

void fos_ddos_top_free(struct fos_ddos_top *t)
{
	if (!t)
		return;
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}

static uint64_t _fos_src_total(const struct fos_ddos_src *s)
{
	uint64_t t = 0;

	for (int i = 0; i < _FOS_DDOS_REASON_MAX; i++)
		t += s->drops[i];
	return t;
}

static void _fos_heap_down(struct fos_ddos_top_entry *v, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, min = i;
		struct fos_ddos_top_entry t;

		if (l < n && v[l].total < v[min].total)
			min = l;
		if (r < n && v[r].total < v[min].total)
			min = r;
		if (min == i)
			return;
		t = v[i];
		v[i] = v[min];
		v[min] = t;
		i = min;
	}
}

static void _fos_heap_up(struct fos_ddos_top_entry *v, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		struct fos_ddos_top_entry t;

		if (v[parent].total <= v[i].total)
			return;
		t = v[i];
		v[i] = v[parent];
		v[parent] = t;
		i = parent;
	}
}

struct _fos_top_walk {
	struct fos_ddos_top *t;
	uint32_t prog;
};

/* the heap keeps the cap largest totals, its smallest at the root */
static void _fos_top_one(void *u, const void *key, const void *v)
{
	const struct fos_ddos_addr *k = key;
	struct _fos_top_walk *w = u;
	struct fos_ddos_top *t = w->t;
	const struct fos_ddos_src *s = v;
	struct fos_ddos_top_entry e;

	e.total = _fos_src_total(s);
	if (!e.total)
		return;
	if (t->n == t->cap && e.total <= t->v[0].total)
		return;
	e.prog = w->prog;
	e.addr = *k;
	e.src = *s;
	if (t->n < t->cap) {
		t->v[t->n] = e;
		_fos_heap_up(t->v, t->n++);
	} else {
		t->v[0] = e;
		_fos_heap_down(t->v, t->n, 0);
	}
}

static int _fos_top_cmp(const void *a, const void *b)
{
	const struct fos_ddos_top_entry *x = a, *y = b;

	return x->total < y->total ? 1 : x->total > y->total ? -1 : 0;
}

int fos_ddos_top_step(struct fos_ddos_top *t, uint32_t prog, const struct fos_ddos_tables *tb,
		      struct fos_ddos_cursor *c, uint64_t budget_ns)
{
	struct _fos_top_walk w = {.t = t, .prog = prog};

	if (!t->v) {
		t->v = calloc(t->cap ? t->cap : 1, sizeof(*t->v));
		if (!t->v)
			return -ENOMEM;
	}
	return fos_map_walk_step(tb->src, sizeof(struct fos_ddos_addr), sizeof(struct fos_ddos_src),
				 FOS_DDOS_SRC_MAX, &c->walk, _fos_top_one, &w, budget_ns);
}

void fos_ddos_top_sort(struct fos_ddos_top *t)
{
	if (t->n)
		qsort(t->v, t->n, sizeof(*t->v), _fos_top_cmp);
}

void fos_ddos_prefix_cidr(unsigned v6_plen, const struct fos_ddos_addr *a, struct fos_cidr *ret)
{
	struct fos_cidr c = {};

	memcpy(c.addr.b, a->addr, sizeof(c.addr.b));
	if (fos_addr_is_v4(&c.addr)) {
		c.family = AF_INET;
		c.plen = 32;
	} else {
		c.family = AF_INET6;
		c.plen = v6_plen ? v6_plen : FOS_DDOS_DEFAULT_V6_PLEN;
	}
	*ret = c;
}

void fos_ddos_source_cidr(const struct fos_prog_rt *p, const struct fos_ddos_addr *a,
			  struct fos_cidr *ret)
{
	fos_ddos_prefix_cidr(p->cfg ? p->cfg->ddos.v6_plen : 0, a, ret);
}
