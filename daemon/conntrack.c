// SPDX-License-Identifier: GPL-2.0-only
/*
 * The connection table in user space: creating (or adopting) the pinned
 * table, writing its settings, the collector that removes expired entries,
 * and the walks behind show and clear conntrack.
 *
 * The table is created when the first stateful program is applied, sized
 * conntrack.maxConnections plus FOS_CT_MAP_SLACK so the LRU map never has to
 * evict below the limit the datapath enforces. A pinned table is adopted as
 * it is; one too small for the configured size is replaced, its entries
 * copied, when fwd starts. A reload may lower the limit, or raise it within
 * the table's capacity.
 *
 * The collector walks the table in steps of a few milliseconds
 * (bpf_map_lookup_batch), so the event loop never waits on it for long, and
 * starts a new walk after an interval that shrinks as the table fills.
 */
#include <assert.h>
#include <errno.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cleanup.h"
#include "ctmaps.skel.h"
#include "fwd.h"
#include "log.h"

/* entries per bpf_map_lookup_batch: a batch of expired entries costs a
 * lookup and a delete each, about 0.7 ms for 256, so a step of the
 * collector overshoots its budget by less than that */
#define FOS_CT_BATCH 256U

static const char *const ct_state_names[] = {
    [FOS_CTS_NEW] = "new",
    [FOS_CTS_SYN_SENT] = "syn_sent",
    [FOS_CTS_SYN_RECV] = "syn_recv",
    [FOS_CTS_ESTABLISHED] = "established",
    [FOS_CTS_FIN_WAIT] = "fin_wait",
    [FOS_CTS_CLOSE_WAIT] = "close_wait",
    [FOS_CTS_TIME_WAIT] = "time_wait",
    [FOS_CTS_CLOSE] = "close",
};
static_assert(ARRAY_SIZE(ct_state_names) == _FOS_CTS_MAX, "ct_state_names incomplete");

const char *fos_ct_state_to_string(unsigned s)
{
	return s < ARRAY_SIZE(ct_state_names) ? ct_state_names[s] : "unknown";
}

int fos_ct_state_from_string(const char *s)
{
	for (unsigned i = 0; i < ARRAY_SIZE(ct_state_names); i++)
		if (strcmp(s, ct_state_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

static uint32_t _fos_capacity(uint32_t max)
{
	return max + FOS_CT_MAP_SLACK(max);
}

static int _fos_pinned_capacity(const char *path, uint32_t *ret)
{
	struct bpf_map_info info;
	_cleanup_close_ int fd = fos_pinned_map_open(path, &info);

	if (fd < 0)
		return fd;
	*ret = info.max_entries;
	return 0;
}

static void _fos_ct_src_release(struct fos_manager *m, const struct fos_ct_key *k,
				const struct fos_ct_value *v);

/* Every entry of table from, in batches: each(u, key, value) returns 1 if it
 * wrote the entry to the other table, 0 if not. Returns the count written. */
static int64_t _fos_ct_transfer(int from,
				int (*each)(void *u, const struct fos_ct_key *k,
					    const struct fos_ct_value *v),
				void *u)
{
	_cleanup_free_ struct fos_ct_key *keys = calloc(FOS_CT_BATCH, sizeof(*keys));
	_cleanup_free_ struct fos_ct_value *vals = calloc(FOS_CT_BATCH, sizeof(*vals));
	uint8_t in[64], out[64];
	bool first = true;
	int64_t n = 0;

	if (!keys || !vals)
		return -ENOMEM;
	for (;;) {
		uint32_t count = FOS_CT_BATCH;
		int r =
		    bpf_map_lookup_batch(from, first ? NULL : in, out, keys, vals, &count, NULL);

		if (r < 0 && errno != ENOENT)
			return -errno;
		for (uint32_t i = 0; i < count; i++)
			if (each(u, &keys[i], &vals[i]) > 0)
				n++;
		if (r < 0)
			break;
		memcpy(in, out, sizeof(in));
		first = false;
	}
	return n;
}

/* into the table whose fd *u is: k unless it holds k as recent already */
static int _fos_ct_copy_one(void *u, const struct fos_ct_key *k, const struct fos_ct_value *v)
{
	int to = *(const int *)u;
	struct fos_ct_value cur;

	if (bpf_map_lookup_elem(to, k, &cur) == 0 && cur.last_ns >= v->last_ns)
		return 0;
	return bpf_map_update_elem(to, k, v, BPF_ANY) == 0;
}

/* Copy the entries of from into to: those to lacks, and those from has seen
 * a packet of since to's copy was taken. Returns the count copied. */
static int64_t _fos_ct_copy(int from, int to)
{
	return _fos_ct_transfer(from, _fos_ct_copy_one, &to);
}

/*
 * The last copy of a grow, once the new programs run: o, the old table's
 * entry for k, against the new table's entry n. Each entry with
 * FOS_CT_F_COUNTED holds one count in fos_ct_src (fos/abi.h), and only the
 * new table survives, so the entry kept must carry exactly the counts the
 * two tables hold between them for k:
 *  - one flow (the same first_ns: the first copy of o): both entries share
 *    the one count taken when it opened. If one side gave it up (a close
 *    seen by its programs), that side is kept, else the newer one.
 *  - o's flow opened before the first copy began (t0): the new table held it
 *    too, and the new programs reused the entry for another flow, moving
 *    that count: n is kept. Likewise o is kept when n is the first copy of
 *    a flow the old programs replaced since.
 *  - both flows opened since t0 (one flow inserted by both objects, or two
 *    flows on one tuple): each holds its own count; the newer entry is kept
 *    and the other's count, if it has one, is given back.
 * What remains inexact: a close of one flow seen by an old and a new program
 * (a packet through two interfaces during the grow) gives its count back
 * twice; an entry the new programs change between the read and this write is
 * overwritten as before; and a flow that opened while the first copy ran,
 * was copied, and was reused in the new table gives one count back too many.
 * All err by one flow of a source, towards letting it through.
 * Returns 1 when o was written, 0 when n was kept, -errno.
 */
static int _fos_ct_merge(struct fos_manager *m, int to, const struct fos_ct_key *k,
			 const struct fos_ct_value *o, uint64_t t0)
{
	struct fos_ct_value n;
	bool oc = o->flags & FOS_CT_F_COUNTED, keep_old;

	for (int tries = 0; tries < 2; tries++) {
		if (bpf_map_lookup_elem(to, k, &n) < 0) {
			if (bpf_map_update_elem(to, k, o, BPF_NOEXIST) == 0)
				return 1;
			if (errno != EEXIST)
				return -errno;
			/* the new programs inserted it meanwhile */
			continue;
		}
		if (n.first_ns == o->first_ns) {
			bool nc = n.flags & FOS_CT_F_COUNTED;

			keep_old = oc != nc ? !oc : o->last_ns > n.last_ns;
		} else if (o->first_ns < t0) {
			keep_old = false;
		} else if (n.first_ns < t0) {
			keep_old = true;
		} else {
			keep_old = o->last_ns > n.last_ns;
			_fos_ct_src_release(m, k, keep_old ? &n : o);
		}
		if (!keep_old)
			return 0;
		if (bpf_map_update_elem(to, k, o, BPF_ANY) < 0)
			return -errno;
		return 1;
	}
	return -EBUSY;
}

struct _fos_ct_catch_up {
	struct fos_manager *m;
	int to;
	uint64_t t0;
};

static int _fos_ct_catch_up_one(void *u, const struct fos_ct_key *k, const struct fos_ct_value *v)
{
	struct _fos_ct_catch_up *c = u;

	return _fos_ct_merge(c->m, c->to, k, v, c->t0) > 0;
}

/* The last copy of a grow: every entry of from merged into to. Returns the
 * count written. */
static int64_t _fos_ct_catch_up(struct fos_manager *m, int from, int to, uint64_t t0)
{
	struct _fos_ct_catch_up c = {.m = m, .to = to, .t0 = t0};

	return _fos_ct_transfer(from, _fos_ct_catch_up_one, &c);
}

/* fos_ct first: the others are always the pinned ones */
static const char *const _fos_ct_names[] = {"fos_ct", "fos_ct_cfg", "fos_ct_count", "fos_ct_stats",
					    "fos_ct_src"};

/* Load the table's object: fos_ct pinned or not (a table made to replace the
 * pinned one), the settings and counters always the pinned ones. */
static int _fos_ct_load(const char *pin_dir, uint32_t capacity, bool pin_ct,
			struct fos_ctmaps **ret, char *err, size_t errlen)
{
	struct fos_ctmaps *skel = fos_ctmaps__open();
	char path[512];
	int r;

	if (!skel) {
		r = -errno;
		snprintf(err, errlen, "cannot open the connection table object: %s", strerror(-r));
		return r;
	}
	r = bpf_map__set_max_entries(skel->maps.fos_ct, capacity);
	for (size_t i = pin_ct ? 0 : 1; i < ARRAY_SIZE(_fos_ct_names) && r == 0; i++) {
		snprintf(path, sizeof(path), "%s/global/%s", pin_dir, _fos_ct_names[i]);
		r = bpf_map__set_pin_path(bpf_object__find_map_by_name(skel->obj, _fos_ct_names[i]),
					  path);
	}
	if (r == 0)
		r = fos_ctmaps__load(skel);
	if (r < 0) {
		snprintf(err, errlen,
			 "cannot create the connection table of %u entries in %s/global: %s",
			 capacity, pin_dir, strerror(-r));
		fos_ctmaps__destroy(skel);
		return r;
	}
	*ret = skel;
	return 0;
}

static void _fos_ct_use(struct fos_manager *m, struct fos_ctmaps *skel)
{
	m->ctmaps = skel;
	m->ct = (struct fos_ct_fds){
	    .ct = bpf_map__fd(skel->maps.fos_ct),
	    .cfg = bpf_map__fd(skel->maps.fos_ct_cfg),
	    .count = bpf_map__fd(skel->maps.fos_ct_count),
	    .stats = bpf_map__fd(skel->maps.fos_ct_stats),
	    .src = bpf_map__fd(skel->maps.fos_ct_src),
	};
	m->ct_capacity = bpf_map__max_entries(skel->maps.fos_ct);
}

/* Does a table of capacity hold max connections, with room left for the
 * LRU's per-CPU caches? */
static bool _fos_ct_fits(uint32_t capacity, uint32_t max)
{
	return (uint64_t)max + max / 32 + 16384 <= capacity;
}

int fos_ct_open(struct fos_manager *m, const struct fos_conntrack_cfg *cfg, bool want, char *err,
		size_t errlen)
{
	uint32_t cap = _fos_capacity(cfg->max_connections);
	struct fos_ctmaps *skel;
	char path[512];
	bool exists;
	int r;

	if (m->ctmaps)
		return 0;
	snprintf(path, sizeof(path), "%s/global/fos_ct", m->pin_dir);
	exists = access(path, F_OK) == 0;
	if (!exists && !want)
		return 0;
	if (exists) {
		/* adopted as it is; an apply that needs more grows it */
		r = _fos_pinned_capacity(path, &cap);
		if (r < 0) {
			snprintf(err, errlen, "cannot open the pinned connection table %s: %s",
				 path, strerror(-r));
			return r;
		}
	}
	r = _fos_ct_load(m->pin_dir, cap, true, &skel, err, errlen);
	if (r < 0)
		return r;
	_fos_ct_use(m, skel);
	m->gc.interval_ms = 1000;
	m->gc.next_walk_ns = 0;
	if (exists)
		log_info("adopted the connection table (%u entries) from %s/global", cap,
			 m->pin_dir);
	else
		log_info("created the connection table: %u connections (%u slots)",
			 cfg->max_connections, cap);
	return 0;
}

int fos_ct_prepare_grow(struct fos_manager *m, const struct fos_conntrack_cfg *cfg,
			struct fos_ctmaps **ret, struct fos_ct_fds *ret_fds, char *err,
			size_t errlen)
{
	uint32_t cap = _fos_capacity(cfg->max_connections);
	struct fos_ctmaps *skel;
	int64_t n;
	int r;

	*ret = NULL;
	*ret_fds = m->ct;
	if (!m->ctmaps || _fos_ct_fits(m->ct_capacity, cfg->max_connections))
		return 0;
	r = _fos_ct_load(m->pin_dir, cap, false, &skel, err, errlen);
	if (r < 0)
		return r;
	m->ct_grow_ns = fos_boottime_ns();
	n = _fos_ct_copy(m->ct.ct, bpf_map__fd(skel->maps.fos_ct));
	if (n < 0) {
		snprintf(err, errlen, "cannot copy the connection table: %s", strerror((int)-n));
		fos_ctmaps__destroy(skel);
		return (int)n;
	}
	*ret = skel;
	*ret_fds = (struct fos_ct_fds){
	    .ct = bpf_map__fd(skel->maps.fos_ct),
	    .cfg = bpf_map__fd(skel->maps.fos_ct_cfg),
	    .count = bpf_map__fd(skel->maps.fos_ct_count),
	    .stats = bpf_map__fd(skel->maps.fos_ct_stats),
	    .src = bpf_map__fd(skel->maps.fos_ct_src),
	};
	return 1;
}

int fos_ct_commit_grow(struct fos_manager *m, struct fos_ctmaps *skel)
{
	uint32_t old_cap = m->ct_capacity;
	char path[512];
	int64_t n;
	int r;

	/* what the old programs did since the first copy, until they were
	 * replaced; then the pin, so that a restarted fwd finds the new table */
	n = _fos_ct_catch_up(m, m->ct.ct, bpf_map__fd(skel->maps.fos_ct), m->ct_grow_ns);
	snprintf(path, sizeof(path), "%s/global/fos_ct", m->pin_dir);
	(void)unlink(path);
	r = bpf_map__pin(skel->maps.fos_ct, path);
	if (r < 0)
		log_error_errno(r,
				"cannot pin the grown connection table at %s; a restarted fwd "
				"will not find it",
				path);
	fos_ctmaps__destroy(m->ctmaps);
	_fos_ct_use(m, skel);
	log_info("connection table grown from %u to %u entries (%lld flows caught up after the "
		 "first copy)",
		 old_cap, m->ct_capacity, (long long)(n < 0 ? 0 : n));
	return r;
}

int fos_ct_write_cfg(struct fos_manager *m, const struct fos_conntrack_cfg *cfg)
{
	struct fos_ct_cfg c = {
	    .timeout_ns =
		{
		    [FOS_CTT_TCP_SYN] = cfg->tcp_syn_timeout * 1000000000ULL,
		    [FOS_CTT_TCP_EST] = cfg->tcp_timeout * 1000000000ULL,
		    [FOS_CTT_TCP_FIN] = cfg->tcp_fin_timeout * 1000000000ULL,
		    [FOS_CTT_TCP_CLOSE] = FOS_CT_CLOSE_TIMEOUT * 1000000000ULL,
		    [FOS_CTT_UDP] = cfg->udp_timeout * 1000000000ULL,
		    [FOS_CTT_ICMP] = cfg->icmp_timeout * 1000000000ULL,
		},
	    .max_entries = cfg->max_connections,
	    .invalid = cfg->invalid,
	};
	uint32_t k = 0;

	if (!m->ctmaps)
		return 0;
	if (bpf_map_update_elem(m->ct.cfg, &k, &c, BPF_ANY) < 0)
		return -errno;
	return 0;
}

static int _fos_ct_read_cfg(const struct fos_manager *m, struct fos_ct_cfg *ret)
{
	uint32_t k = 0;

	if (bpf_map_lookup_elem(m->ct.cfg, &k, ret) < 0)
		return -errno;
	return 0;
}

static uint64_t _fos_left(const struct fos_ct_cfg *c, const struct fos_ct_key *k,
			  const struct fos_ct_value *v, uint64_t now_ns)
{
	uint64_t t = c->timeout_ns[fos_ct_timeout_of(k->proto, v->state)];
	uint64_t age = now_ns > v->last_ns ? now_ns - v->last_ns : 0;

	/* the datapath still uses an entry whose age equals its timeout */
	return age > t ? 0 : t - age + 1;
}

uint64_t fos_ct_timeout_left(const struct fos_manager *m, const struct fos_ct_key *k,
			     const struct fos_ct_value *v, uint64_t now_ns)
{
	struct fos_ct_cfg c;

	if (_fos_ct_read_cfg(m, &c) < 0)
		return 0;
	return _fos_left(&c, k, v, now_ns) / 1000000000ULL;
}

int fos_ct_counts(const struct fos_manager *m, uint64_t *ret_entries,
		  uint64_t ret_stats[_FOS_CT_STAT_MAX])
{
	uint64_t v[_FOS_CT_COUNT_MAX] = {0};
	int ncpu = libbpf_num_possible_cpus();

	if (!m->ctmaps)
		return -ENODEV;
	for (uint32_t k = 0; k < _FOS_CT_COUNT_MAX; k++)
		if (bpf_map_lookup_elem(m->ct.count, &k, &v[k]) < 0)
			return -errno;
	*ret_entries = v[FOS_CT_COUNT_INSERTED] > v[FOS_CT_COUNT_REMOVED]
			   ? v[FOS_CT_COUNT_INSERTED] - v[FOS_CT_COUNT_REMOVED]
			   : 0;
	if (ret_stats) {
		_cleanup_free_ uint64_t *pc = NULL;

		if (ncpu <= 0)
			return -EINVAL;
		pc = calloc((size_t)ncpu, sizeof(uint64_t));
		if (!pc)
			return -ENOMEM;
		for (uint32_t k = 0; k < _FOS_CT_STAT_MAX; k++) {
			ret_stats[k] = 0;
			if (bpf_map_lookup_elem(m->ct.stats, &k, pc) < 0)
				return -errno;
			for (int c = 0; c < ncpu; c++)
				ret_stats[k] += pc[c];
		}
	}
	return 0;
}

/* fwd is the only writer of the removed counter */
static void _fos_ct_add_removed(struct fos_manager *m, uint64_t n)
{
	uint32_t k = FOS_CT_COUNT_REMOVED;
	uint64_t v = 0;

	if (!n)
		return;
	(void)bpf_map_lookup_elem(m->ct.count, &k, &v);
	v += n;
	if (bpf_map_update_elem(m->ct.count, &k, &v, BPF_ANY) < 0)
		log_warning_errno(-errno, "cannot update the connection count, ignoring");
}

static uint64_t _fos_ct_inserted(const struct fos_manager *m)
{
	uint32_t k = FOS_CT_COUNT_INSERTED;
	uint64_t v = 0;

	(void)bpf_map_lookup_elem(m->ct.count, &k, &v);
	return v;
}

/*
 * The count (inserted - removed) misses entries that left the table without
 * fwd: the LRU map's own evictions, or a table fwd did not collect while it
 * was down. After a complete walk that found live entries, the count may
 * exceed live by at most what was inserted during the walk (the walk may
 * have missed those); anything beyond that is drift, given back to the gate.
 */
static void _fos_ct_reconcile(struct fos_manager *m, uint64_t live, uint64_t inserted0)
{
	uint64_t ins = _fos_ct_inserted(m), entries = 0, during, drift;

	if (fos_ct_counts(m, &entries, NULL) < 0)
		return;
	during = ins > inserted0 ? ins - inserted0 : 0;
	if (entries <= live + during)
		return;
	drift = entries - live - during;
	_fos_ct_add_removed(m, drift);
	m->gc.drift += drift;
	log_debug("conntrack: %llu entries counted but not in the table, released",
		  (unsigned long long)drift);
}

static bool _fos_is_v4(const uint8_t a[16]);

/*
 * One flow fewer for the source that opened the flow of a removed entry v,
 * if v still held its count (FOS_CT_F_COUNTED; fos_ct_src, counted for
 * rateLimiting.connectionsPerIP): the count goes down by one, and is deleted
 * when it reaches 0, never below. The datapath adds atomically, but a map
 * value cannot be decremented atomically from user space: an add that lands
 * between this read and this write is lost, and the source may then open one
 * flow more than its limit. That needs a new flow of the same source in the
 * same microseconds as an old one is removed, and errs on the side of letting
 * traffic through.
 */
static void _fos_ct_src_release(struct fos_manager *m, const struct fos_ct_key *k,
				const struct fos_ct_value *v)
{
	struct fos_ddos_addr a;
	uint64_t n;

	if (m->ct.src < 0 || !(v->flags & FOS_CT_F_COUNTED))
		return;
	memcpy(a.addr, k->addr[(v->flags & FOS_CT_F_ORIG1) ? 1 : 0], sizeof(a.addr));
	if (!_fos_is_v4(a.addr))
		memset(a.addr + FOS_CT_SRC_V6_PLEN / 8, 0, sizeof(a.addr) - FOS_CT_SRC_V6_PLEN / 8);
	if (bpf_map_lookup_elem(m->ct.src, &a, &n) < 0)
		return;
	if (n <= 1) {
		(void)bpf_map_delete_elem(m->ct.src, &a);
		return;
	}
	n--;
	if (bpf_map_update_elem(m->ct.src, &a, &n, BPF_EXIST) < 0)
		log_debug("conntrack: cannot update a source's flow count: %s", strerror(errno));
}

/*
 * Delete the counts of fos_ct_src at 0, after each walk of the table: the
 * datapath leaves a count at 0 when a flow closes (a delete there could lose
 * another CPU's add). An add between the look here and the delete is lost,
 * as in _fos_ct_src_release().
 */
static void _fos_ct_src_sweep(struct fos_manager *m)
{
	_cleanup_free_ struct fos_ddos_addr *keys = calloc(FOS_CT_BATCH, sizeof(*keys));
	_cleanup_free_ uint64_t *vals = calloc(FOS_CT_BATCH, sizeof(*vals));
	uint8_t in[64], out[64];
	bool first = true;
	uint64_t v;

	if (m->ct.src < 0 || !keys || !vals)
		return;
	for (;;) {
		uint32_t count = FOS_CT_BATCH;
		int r = bpf_map_lookup_batch(m->ct.src, first ? NULL : in, out, keys, vals, &count,
					     NULL);

		if (r < 0 && errno != ENOENT)
			return;
		for (uint32_t i = 0; i < count; i++)
			if (vals[i] == 0 && bpf_map_lookup_elem(m->ct.src, &keys[i], &v) == 0 &&
			    v == 0)
				(void)bpf_map_delete_elem(m->ct.src, &keys[i]);
		if (r < 0)
			return;
		memcpy(in, out, sizeof(in));
		first = false;
	}
}

/* Delete k, returning the value as it was deleted (whose count it held);
 * the kernel's lookup-and-delete where the map type has it. */
static int _fos_ct_take(struct fos_manager *m, const struct fos_ct_key *k, struct fos_ct_value *ret)
{
	if (bpf_map_lookup_and_delete_elem(m->ct.ct, k, ret) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != EINVAL)
		return -errno;
	if (bpf_map_lookup_elem(m->ct.ct, k, ret) < 0 || bpf_map_delete_elem(m->ct.ct, k) < 0)
		return -errno;
	return 0;
}

/* Delete k if it is still expired (a packet may have refreshed it since it
 * was read). A packet that reuses the entry between the second look and the
 * delete still loses it: the map has no compare-and-delete. Its flow is then
 * new to the table, which only a flow idle for its whole timeout can meet;
 * the count given back is the one the deleted value held. */
static bool _fos_ct_reap(struct fos_manager *m, const struct fos_ct_cfg *c,
			 const struct fos_ct_key *k, uint64_t now)
{
	struct fos_ct_value cur;

	if (bpf_map_lookup_elem(m->ct.ct, k, &cur) < 0)
		return false;
	if (_fos_left(c, k, &cur, now) > 0)
		return false;
	if (_fos_ct_take(m, k, &cur) < 0)
		return false;
	_fos_ct_src_release(m, k, &cur);
	return true;
}

static uint32_t _fos_gc_interval(const struct fos_manager *m, uint64_t live, uint64_t removed,
				 double walk_ms)
{
	uint64_t max = m->cfg ? m->cfg->conntrack.max_connections : FOS_CT_DEFAULT_MAX;
	double fill = max ? (double)live / (double)max : 0, floor;
	uint32_t ms;

	/* a fuller table, or one whose entries expire fast, is walked sooner */
	if (fill >= 0.75 || removed * 4 > live + removed)
		ms = 1000;
	else if (fill >= 0.5)
		ms = 2000;
	else if (fill >= 0.25)
		ms = 5000;
	else
		ms = 10000;
	/* but the collector takes at most a fifth of a CPU under pressure, a
	 * tenth otherwise */
	floor = walk_ms * (ms == 1000 ? 4 : 9);
	if (floor > ms)
		ms = floor > 60000 ? 60000 : (uint32_t)floor;
	return ms;
}

uint32_t fos_ct_gc_step(struct fos_manager *m, uint64_t budget_ns)
{
	_cleanup_free_ struct fos_ct_key *keys = NULL;
	_cleanup_free_ struct fos_ct_value *vals = NULL;
	struct fos_ct_gc *g = &m->gc;
	uint64_t t0 = fos_clock_ns(CLOCK_MONOTONIC), now_boot, removed = 0, elapsed;
	struct fos_ct_cfg c;
	bool done = false;
	double ms;

	if (!m->ctmaps)
		return UINT32_MAX;
	if (!g->walking) {
		if (t0 < g->next_walk_ns)
			return (uint32_t)((g->next_walk_ns - t0) / 1000000ULL) + 1;
		g->walking = true;
		g->have_cursor = false;
		g->walk_seen = g->walk_live = 0;
		g->walk_ms = 0;
		g->walk_inserted0 = _fos_ct_inserted(m);
	}
	keys = calloc(FOS_CT_BATCH, sizeof(*keys));
	vals = calloc(FOS_CT_BATCH, sizeof(*vals));
	if (!keys || !vals || _fos_ct_read_cfg(m, &c) < 0)
		return 1000;
	now_boot = fos_clock_ns(CLOCK_BOOTTIME);
	do {
		uint32_t count = FOS_CT_BATCH;
		uint8_t out[sizeof(g->cursor)];
		int r = bpf_map_lookup_batch(m->ct.ct, g->have_cursor ? g->cursor : NULL, out, keys,
					     vals, &count, NULL);

		if (r < 0 && errno != ENOENT) {
			log_warning_errno(-errno, "conntrack collector: cannot read the table, "
						  "ignoring");
			done = true;
			break;
		}
		for (uint32_t i = 0; i < count; i++) {
			g->walk_seen++;
			if (_fos_left(&c, &keys[i], &vals[i], now_boot) == 0 &&
			    _fos_ct_reap(m, &c, &keys[i], now_boot))
				removed++;
			else
				g->walk_live++;
		}
		if (r < 0) {
			done = true;
			break;
		}
		memcpy(g->cursor, out, sizeof(g->cursor));
		g->have_cursor = true;
		elapsed = fos_clock_ns(CLOCK_MONOTONIC) - t0;
	} while (elapsed < budget_ns);

	_fos_ct_add_removed(m, removed);
	g->removed += removed;
	ms = (double)(fos_clock_ns(CLOCK_MONOTONIC) - t0) / 1e6;
	g->walk_ms += ms;
	if (ms > g->max_step_ms)
		g->max_step_ms = ms;
	if (!done)
		return 0;
	_fos_ct_reconcile(m, g->walk_live, g->walk_inserted0);
	_fos_ct_src_sweep(m);
	g->walking = false;
	g->runs++;
	g->last_run = (uint64_t)time(NULL);
	g->last_run_ms = g->walk_ms;
	g->interval_ms = _fos_gc_interval(m, g->walk_live, g->walk_seen - g->walk_live, g->walk_ms);
	g->next_walk_ns = fos_clock_ns(CLOCK_MONOTONIC) + (uint64_t)g->interval_ms * 1000000ULL;
	return g->interval_ms;
}

static bool _fos_in_cidr(const struct fos_cidr *c, const uint8_t addr[16], bool v4)
{
	/* both hold IPv4 in their last four bytes */
	const uint8_t *a = v4 ? addr + 12 : addr, *p = v4 ? c->addr.b + 12 : c->addr.b;
	unsigned bits = c->plen, full = bits / 8;

	if ((c->family == AF_INET) != v4)
		return false;
	if (memcmp(a, p, full) != 0)
		return false;
	if (bits % 8) {
		uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));

		if ((a[full] & mask) != (p[full] & mask))
			return false;
	}
	return true;
}

static bool _fos_is_v4(const uint8_t a[16])
{
	static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(a, pfx, sizeof(pfx)) == 0;
}

bool fos_ct_filter_match(const struct fos_ct_filter *f, const struct fos_ct_key *k,
			 const struct fos_ct_value *v)
{
	unsigned o = (v->flags & FOS_CT_F_ORIG1) ? 1 : 0;
	bool v4 = _fos_is_v4(k->addr[0]);

	if (!f)
		return true;
	if (f->proto >= 0 && k->proto != f->proto)
		return false;
	if (f->port >= 0 && k->port[0] != f->port && k->port[1] != f->port)
		return false;
	if (f->state >= 0 && v->state != f->state)
		return false;
	if (f->zone >= 0 && k->zone != (uint32_t)f->zone)
		return false;
	if (f->has_src && !_fos_in_cidr(&f->src, k->addr[o], v4))
		return false;
	if (f->has_dst && !_fos_in_cidr(&f->dst, k->addr[o ^ 1], v4))
		return false;
	return true;
}

int fos_ct_walk_step(struct fos_manager *m, struct fos_ct_cursor *c, const struct fos_ct_filter *f,
		     int (*cb)(void *u, const struct fos_ct_key *k, const struct fos_ct_value *v),
		     void *u, uint64_t budget_ns)
{
	_cleanup_free_ struct fos_ct_key *keys = calloc(FOS_CT_BATCH, sizeof(*keys));
	_cleanup_free_ struct fos_ct_value *vals = calloc(FOS_CT_BATCH, sizeof(*vals));
	uint64_t t0 = fos_clock_ns(CLOCK_MONOTONIC);

	if (!keys || !vals)
		return -ENOMEM;
	if (!m->ctmaps || c->done) {
		c->done = true;
		return 0;
	}
	do {
		uint32_t count = FOS_CT_BATCH;
		uint8_t out[sizeof(c->pos)];
		int r = bpf_map_lookup_batch(m->ct.ct, c->started ? c->pos : NULL, out, keys, vals,
					     &count, NULL);

		if (r < 0 && errno != ENOENT)
			return -errno;
		for (uint32_t i = 0; i < count; i++) {
			int k;

			c->scanned++;
			if (!fos_ct_filter_match(f, &keys[i], &vals[i]))
				continue;
			k = cb(u, &keys[i], &vals[i]);
			if (k < 0)
				return k;
		}
		if (r < 0) {
			c->done = true;
			return 0;
		}
		memcpy(c->pos, out, sizeof(c->pos));
		c->started = true;
	} while (fos_clock_ns(CLOCK_MONOTONIC) - t0 < budget_ns);
	return 1;
}

int fos_ct_clear_one(struct fos_manager *m, const struct fos_ct_key *k)
{
	struct fos_ct_value v;

	int r;

	/* the value as it was deleted: whose flow it was, whether it counted */
	r = _fos_ct_take(m, k, &v);
	if (r < 0)
		return r;
	_fos_ct_src_release(m, k, &v);
	_fos_ct_add_removed(m, 1);
	m->gc.cleared++;
	return 0;
}
