// SPDX-License-Identifier: GPL-2.0-only
/*
 * The DDoS mitigation feature: its IPC methods (show ddos, show ddos top),
 * the block events of the datapath, and its row of fos_features.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "cleanup.h"
#include "feature.h"
#include "fwd.h"
#include "methods.h"
#include "ipc.h"
#include "log.h"
#include "ctmaps.skel.h"
#include "global.skel.h"
#include "tc.skel.h"
#include "xdp_filter.skel.h"

/* ---- DDoS mitigation ------------------------------------------------------ */

/* Every parameter must be one the method knows: a misspelt "program" would
 * otherwise widen the answer to every program. */
static int _fos_params_known(struct fos_peer *peer, json_object *params, const char *const *known,
			     size_t n, bool *ret_sent)
{
	*ret_sent = false;
	if (!params)
		return 0;
	json_object_object_foreach(params, key, val)
	{
		bool ok = false;

		(void)val;
		for (size_t i = 0; i < n && !ok; i++)
			ok = strcmp(key, known[i]) == 0;
		if (!ok) {
			*ret_sent = true;
			return _fos_error(peer, "fos.InvalidParameter", "unknown parameter \"%s\"",
					  key);
		}
	}
	return 0;
}

/* the "program" parameter: NULL for every DDoS program, or the one it names,
 * which must exist and have a protection on */
static int _fos_ddos_program(struct fos_manager *m, struct fos_peer *peer, json_object *params,
			     struct fos_prog_rt **ret, bool *ret_sent)
{
	json_object *v;
	const char *name;
	struct fos_prog_rt *p;

	*ret = NULL;
	*ret_sent = true;
	if (!params || !json_object_object_get_ex(params, "program", &v)) {
		*ret_sent = false;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return _fos_error(peer, "fos.InvalidParameter", "program: expected a name");
	name = json_object_get_string(v);
	p = fos_manager_find_prog(m, name);
	if (!p)
		return _fos_error(peer, "fos.NoSuchProgram", "no program named \"%s\"", name);
	if (!p->ddos || !p->cfg)
		return _fos_error(peer, "fos.InvalidParameter", "program %s has no DDoS protection",
				  name);
	*ret = p;
	*ret_sent = false;
	return 0;
}

static bool _fos_ddos_listed(const struct fos_prog_rt *p, const struct fos_prog_rt *only)
{
	return p->ddos && p->cfg && (!only || p == only);
}

static void _fos_add_u64(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

static json_object *_fos_ddos_prot(bool armed, bool engaged)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "armed", json_object_new_boolean(armed));
	json_object_object_add(o, "engaged", json_object_new_boolean(armed && engaged));
	return o;
}

/* a rate and its burst, when the rate is configured */
static void _fos_ddos_rate_json(json_object *o, const char *rate_key, const char *burst_key,
				const struct fos_rate_cfg *r)
{
	if (!r->rate)
		return;
	_fos_add_u64(o, rate_key, r->rate);
	_fos_add_u64(o, burst_key, r->burst ? r->burst : r->rate);
}

static json_object *_fos_ddos_flood_json(bool armed, bool engaged, const struct fos_rate_cfg *src,
					 const struct fos_rate_cfg *total, uint32_t block)
{
	json_object *o = _fos_ddos_prot(armed, engaged);

	if (!armed)
		return o;
	_fos_ddos_rate_json(o, "perSource", "perSourceBurst", src);
	_fos_ddos_rate_json(o, "total", "totalBurst", total);
	if (block)
		_fos_add_u64(o, "blockDuration", block);
	return o;
}

static json_object *_fos_ddos_drops_json(const __u64 drops[_FOS_DDOS_REASON_MAX])
{
	static const char *const keys[] = {
	    [FOS_DDOS_RATE] = "rate",
	    [FOS_DDOS_CONN_RATE] = "connRate",
	    [FOS_DDOS_CONN_LIMIT] = "connLimit",
	    [FOS_DDOS_SYN_FLOOD] = "synFlood",
	    [FOS_DDOS_ICMP_FLOOD] = "icmpFlood",
	    [FOS_DDOS_UDP_FLOOD] = "udpFlood",
	    [FOS_DDOS_BLACKLIST] = "blacklist",
	};
	static_assert(ARRAY_SIZE(keys) == _FOS_DDOS_REASON_MAX, "a drops key per reason");
	json_object *o = json_object_new_object();

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		_fos_add_u64(o, keys[i], drops[i]);
	return o;
}

static json_object *_fos_ddos_prog_json(const struct fos_prog_rt *p,
					const struct fos_ddos_status *st)
{
	const struct fos_ddos_settings *d = &p->cfg->ddos;
	json_object *o = json_object_new_object(), *pr = json_object_new_object(), *x;
	__u64 drops[_FOS_DDOS_REASON_MAX];

	json_object_object_add(o, "name", json_object_new_string(p->name));
	json_object_object_add(o, "interface", json_object_new_string(p->ifname));

	x = _fos_ddos_prot(d->rate_enabled, st->engaged[FOS_DDOS_P_RATE]);
	if (d->rate_enabled) {
		_fos_ddos_rate_json(x, "packetsPerSecond", "burst", &d->pps);
		_fos_ddos_rate_json(x, "connectionsPerSecond", "connectionsBurst", &d->cps);
		if (d->conns_per_ip)
			_fos_add_u64(x, "connectionsPerIP", d->conns_per_ip);
		_fos_add_u64(x, "ipv6PrefixLength",
			     d->v6_plen ? d->v6_plen : FOS_DDOS_DEFAULT_V6_PLEN);
		if (d->rate_block)
			_fos_add_u64(x, "blockDuration", d->rate_block);
	}
	json_object_object_add(pr, "rateLimiting", x);

	x = _fos_ddos_prot(d->syn_enabled, st->engaged[FOS_DDOS_P_SYN]);
	if (d->syn_enabled) {
		if (!d->syn_always)
			_fos_add_u64(x, "threshold", d->syn_threshold);
		json_object_object_add(x, "always", json_object_new_boolean(d->syn_always));
		_fos_add_u64(x, "holdTime", d->syn_hold ? d->syn_hold : FOS_DDOS_DEFAULT_SYN_HOLD);
		_fos_add_u64(x, "authTimeout",
			     d->syn_auth_timeout ? d->syn_auth_timeout
						 : FOS_DDOS_DEFAULT_AUTH_TIMEOUT);
		_fos_add_u64(x, "engagedDestinations", st->engaged_dsts);
	}
	json_object_object_add(pr, "synFloodProtection", x);
	json_object_object_add(pr, "icmpFloodProtection",
			       _fos_ddos_flood_json(d->icmp_enabled, st->engaged[FOS_DDOS_P_ICMP],
						    &d->icmp_per_src, &d->icmp_total,
						    d->icmp_block));
	json_object_object_add(pr, "udpFloodProtection",
			       _fos_ddos_flood_json(d->udp_enabled, st->engaged[FOS_DDOS_P_UDP],
						    &d->udp_per_src, &d->udp_total, d->udp_block));
	json_object_object_add(o, "protections", pr);

	for (int i = 0; i < _FOS_DDOS_REASON_MAX; i++)
		drops[i] = st->stats[FOS_DDOS_STAT_DROP_RATE + i];
	json_object_object_add(o, "drops", _fos_ddos_drops_json(drops));
	x = json_object_new_object();
	_fos_add_u64(x, "sent", st->stats[FOS_DDOS_STAT_COOKIES_SENT]);
	_fos_add_u64(x, "proved", st->stats[FOS_DDOS_STAT_COOKIES_OK]);
	_fos_add_u64(x, "bad", st->stats[FOS_DDOS_STAT_COOKIES_BAD]);
	json_object_object_add(o, "cookies", x);
	_fos_add_u64(o, "blocked", st->stats[FOS_DDOS_STAT_BLOCKED]);
	_fos_add_u64(o, "eventsLost", st->stats[FOS_DDOS_STAT_EVENTS_LOST]);
	_fos_add_u64(o, "blockFailed", st->stats[FOS_DDOS_STAT_BLOCK_FAILED]);
	_fos_add_u64(o, "trackedSources", st->tracked_sources);
	return o;
}

/* seconds with one decimal, as a JSON number */
static json_object *_fos_seconds1(uint64_t ns)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.1f", (double)ns / 1e9);
	return json_object_new_double_s((double)ns / 1e9, buf);
}

static json_object *_fos_ddos_top_json(const struct fos_ddos_top_entry *e, const char *prog,
				       unsigned v6_plen, uint64_t now)
{
	json_object *o = json_object_new_object();
	char buf[FOS_CIDR_STRLEN];
	struct fos_cidr c;

	fos_ddos_prefix_cidr(v6_plen, &e->addr, &c);
	json_object_object_add(o, "program", json_object_new_string(prog));
	json_object_object_add(o, "source",
			       json_object_new_string(fos_cidr_to_string(&c, buf, sizeof(buf))));
	json_object_object_add(o, "drops", _fos_ddos_drops_json(e->src.drops));
	_fos_add_u64(o, "total", e->total);
	/* a source whose drops were never timed (0) has no last drop to show */
	if (e->src.last_drop_ns)
		json_object_object_add(
		    o, "lastDrop",
		    _fos_seconds1(now > e->src.last_drop_ns ? now - e->src.last_drop_ns : 0));
	if (e->src.blocked_until_ns > now)
		_fos_add_u64(o, "blocked",
			     (e->src.blocked_until_ns - now + 999999999ULL) / 1000000000ULL);
	return o;
}

/* show ddos and show ddos top read the programs' source tables (show ddos
 * also the destination tables) a step at a time, as a job of the client's:
 * a full table takes around 100 ms to read, which would stall the event
 * loop. show ddos counts trackedSources this way too: the datapath adds and
 * the LRU evicts sources without fwd knowing, so only a walk can count them. */
#define FOS_DDOS_STEP_NS (2ULL * 1000 * 1000)

/* For tests: FOS_TEST_DDOS_STEP=N makes each step read a single batch of N
 * entries (1-1024), so that a walk spans many turns of the event loop. */
#define FOS_DDOS_STEP_ENV "FOS_TEST_DDOS_STEP"

struct _fos_ddos_prog {
	char name[FOS_NAME_MAX];
	unsigned v6_plen;
	struct fos_ddos_tables tb;
	uint64_t engaged_dsts, sources;
};

struct _fos_ddos_job {
	bool top;
	struct _fos_ddos_prog *p;
	size_t n, cur;
	bool dsts_done; /* show ddos: the current program's destinations are counted */
	struct fos_ddos_cursor c;
	uint32_t batch;
	uint64_t budget_ns;
	struct fos_ddos_top t;
};

static void _fos_ddos_job_free(void *state)
{
	struct _fos_ddos_job *j = state;

	if (!j)
		return;
	for (size_t i = 0; i < j->n; i++)
		fos_ddos_tables_close(&j->p[i].tb);
	free(j->p);
	fos_ddos_top_free(&j->t);
	free(j);
}

/* the program of dp, if it is still the one whose tables the job reads */
static struct fos_prog_rt *_fos_ddos_job_prog(struct fos_manager *m,
					      const struct _fos_ddos_prog *dp)
{
	struct fos_prog_rt *p = fos_manager_find_prog(m, dp->name);

	return p && _fos_ddos_listed(p, NULL) && fos_ddos_tables_current(p, &dp->tb) ? p : NULL;
}

/* a reply of the job's: what was sent, or the failure to send it */
static int _fos_ddos_job_sent(int r)
{
	return r < 0 ? -EIO : 0;
}

static int _fos_ddos_job_gone(struct fos_peer *peer, const char *name)
{
	return _fos_ddos_job_sent(_fos_error(peer, "fos.Failed",
					     "program %s was removed or reloaded with new DDoS "
					     "tables while they were read; ask again",
					     name));
}

static int _fos_ddos_status_reply(struct fos_manager *m, struct fos_peer *peer,
				  struct _fos_ddos_job *j)
{
	json_object *o, *a = json_object_new_array();

	for (size_t i = 0; i < j->n; i++) {
		struct fos_prog_rt *p = _fos_ddos_job_prog(m, &j->p[i]);
		struct fos_ddos_status st;
		int r;

		if (!p) {
			json_object_put(a);
			return _fos_ddos_job_gone(peer, j->p[i].name);
		}
		r = fos_ddos_status(p, &st);
		if (r < 0) {
			json_object_put(a);
			return _fos_ddos_job_sent(_fos_error(
			    peer, "fos.Failed", "cannot read the DDoS state of program %s: %s",
			    p->name, strerror(-r)));
		}
		st.engaged_dsts = j->p[i].engaged_dsts;
		if (st.engaged_dsts)
			st.engaged[FOS_DDOS_P_SYN] = true;
		st.tracked_sources = j->p[i].sources;
		json_object_array_add(a, _fos_ddos_prog_json(p, &st));
	}
	o = json_object_new_object();
	json_object_object_add(o, "programs", a);
	return _fos_ddos_job_sent(_fos_reply(peer, o));
}

static int _fos_ddos_top_reply(struct fos_peer *peer, struct _fos_ddos_job *j)
{
	uint64_t now = fos_boottime_ns();
	json_object *o, *a = json_object_new_array();

	fos_ddos_top_sort(&j->t);
	for (size_t i = 0; i < j->t.n; i++) {
		const struct fos_ddos_top_entry *e = &j->t.v[i];
		const struct _fos_ddos_prog *dp = &j->p[e->prog];

		json_object_array_add(a, _fos_ddos_top_json(e, dp->name, dp->v6_plen, now));
	}
	o = json_object_new_object();
	json_object_object_add(o, "sources", a);
	return _fos_ddos_job_sent(_fos_reply(peer, o));
}

/* Read for about the budget, a table after another; every program is checked
 * before its tables are read on, so one removed or reloaded in between ends
 * the job with a clear message. */
static int _fos_ddos_job_step(struct fos_manager *m, struct fos_peer *peer, void *state)
{
	struct _fos_ddos_job *j = state;
	uint64_t t0 = fos_boottime_ns();

	while (j->cur < j->n) {
		struct _fos_ddos_prog *dp = &j->p[j->cur];
		uint64_t used = fos_boottime_ns() - t0;
		uint64_t left = used < j->budget_ns ? j->budget_ns - used : 0;
		int r;

		if (!_fos_ddos_job_prog(m, dp))
			return _fos_ddos_job_gone(peer, dp->name);
		if (j->top)
			r = fos_ddos_top_step(&j->t, (uint32_t)j->cur, &dp->tb, &j->c, left);
		else if (!j->dsts_done)
			r = fos_ddos_count_engaged_step(&dp->tb, &j->c, left);
		else
			r = fos_ddos_count_sources_step(&dp->tb, &j->c, left);
		if (r < 0)
			return _fos_ddos_job_sent(_fos_error(
			    peer, "fos.Failed", "cannot read the DDoS tables of program %s: %s",
			    dp->name, strerror(-r)));
		if (r > 0)
			return 1;
		if (!j->top && !j->dsts_done) {
			dp->engaged_dsts = j->c.count;
			j->dsts_done = true;
		} else {
			dp->sources = j->c.count;
			j->dsts_done = false;
			j->cur++;
		}
		j->c = (struct fos_ddos_cursor){.walk.batch = j->batch, .now = fos_boottime_ns()};
		if (fos_boottime_ns() - t0 >= j->budget_ns)
			return 1;
	}
	return j->top ? _fos_ddos_top_reply(peer, j) : _fos_ddos_status_reply(m, peer, j);
}

/* Start a job over the DDoS programs (only, if not NULL); takes t. */
static int _fos_ddos_job_start(struct fos_manager *m, struct fos_peer *peer, bool top,
			       const struct fos_prog_rt *only, struct fos_ddos_top *t)
{
	struct _fos_ddos_job *j = calloc(1, sizeof(*j));
	const char *env = getenv(FOS_DDOS_STEP_ENV);
	int r;

	if (!j) {
		fos_ddos_top_free(t);
		return -ENOMEM;
	}
	j->top = top;
	if (t)
		j->t = *t;
	j->budget_ns = FOS_DDOS_STEP_NS;
	if (env) {
		unsigned long v = strtoul(env, NULL, 10);

		if (v >= 1 && v <= 1024) {
			j->batch = (uint32_t)v;
			j->budget_ns = 0;
		}
	}
	j->p = calloc(m->n_progs ? m->n_progs : 1, sizeof(*j->p));
	if (!j->p) {
		_fos_ddos_job_free(j);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->n_progs; i++) {
		const struct fos_prog_rt *p = m->progs[i];
		struct _fos_ddos_prog *dp = &j->p[j->n];

		if (!_fos_ddos_listed(p, only))
			continue;
		r = fos_ddos_tables_open(p, &dp->tb);
		if (r < 0) {
			_fos_ddos_job_free(j);
			return _fos_error(peer, "fos.Failed",
					  "cannot open the DDoS tables of program %s: %s", p->name,
					  strerror(-r));
		}
		snprintf(dp->name, sizeof(dp->name), "%s", p->name);
		dp->v6_plen = p->cfg->ddos.v6_plen;
		j->n++;
	}
	j->c = (struct fos_ddos_cursor){.walk.batch = j->batch, .now = fos_boottime_ns()};
	peer->job =
	    (struct fos_job){.step = _fos_ddos_job_step, .free = _fos_ddos_job_free, .state = j};
	return 0;
}

static int _fos_show_ddos(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	static const char *const known[] = {"program"};
	struct fos_prog_rt *only;
	bool sent;
	int r;

	r = _fos_params_known(peer, params, known, ARRAY_SIZE(known), &sent);
	if (sent)
		return r;
	r = _fos_ddos_program(m, peer, params, &only, &sent);
	if (sent)
		return r;
	return _fos_ddos_job_start(m, peer, false, only, NULL);
}

static int _fos_show_ddos_top(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	static const char *const known[] = {"program", "limit"};
	struct fos_ddos_top t = {.cap = 10};
	struct fos_prog_rt *only;
	json_object *v;
	bool sent;
	int r;

	r = _fos_params_known(peer, params, known, ARRAY_SIZE(known), &sent);
	if (sent)
		return r;
	if (params && json_object_object_get_ex(params, "limit", &v)) {
		int64_t l = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;

		if (l < 1 || l > 10000)
			return _fos_error(peer, "fos.InvalidParameter", "limit: expected 1-10000");
		t.cap = (size_t)l;
	}
	r = _fos_ddos_program(m, peer, params, &only, &sent);
	if (sent)
		return r;
	return _fos_ddos_job_start(m, peer, true, only, &t);
}

static const struct fos_method fos_ddos_methods[] = {
    {"fos.Show.Ddos", false, _fos_show_ddos},
    {"fos.Show.DdosTop", false, _fos_show_ddos_top},
};

/* the block events' ring buffer reads the program objects an apply may free:
 * it is made again after every apply */
static void _fos_ddos_quiesce(struct fos_manager *m)
{
	fos_ddos_events_close(m);
}

/* blocks made while the apply ran, some under the ids of sets it retired:
 * read now, while those sets' entries are still known, before
 * fos_manager_gc() erases them */
static void _fos_ddos_resume(struct fos_manager *m)
{
	if (fos_ddos_events_open(m) == 0)
		(void)fos_ddos_events_consume(m, 0);
}

static bool _fos_ddos_slot_holds(const struct fos_prog_rt *obj, uint32_t slot,
				 const struct fos_program *cfg, uint32_t blacklist_set)
{
	struct fos_ddos_cfg d;

	fos_ddos_cfg_from(cfg, blacklist_set, &d);
	return fos_ddos_cfg_holds(obj, slot, &d);
}

static int _fos_ddos_slot_write(const struct fos_prog_rt *obj, uint32_t slot,
				const struct fos_program *cfg, uint32_t blacklist_set)
{
	struct fos_ddos_cfg d;

	fos_ddos_cfg_from(cfg, blacklist_set, &d);
	return fos_ddos_write_cfg(obj, slot, &d);
}

/* the summary of the blocks left out of the log */
static uint32_t _fos_ddos_tick(struct fos_manager *m)
{
	return fos_ddos_log_flush(m, fos_boottime_ns());
}

static int _fos_ddos_events_fd(struct fos_manager *m, unsigned *ret_gen)
{
	*ret_gen = m->ddos_rb_gen;
	return fos_ddos_events_fd(m);
}

static int _fos_ddos_events(struct fos_manager *m)
{
	int r = fos_ddos_events_consume(m, FOS_FEATURE_STEP_NS);

	if (r < 0)
		log_warning_errno(r, "cannot read the DDoS block events, ignoring");
	return r;
}

const struct fos_feature fos_feature_ddos = {
    .name = "ddos",
    .close = _fos_ddos_quiesce,
    .quiesce = _fos_ddos_quiesce,
    .resume = _fos_ddos_resume,
    .slot_holds = _fos_ddos_slot_holds,
    .slot_write = _fos_ddos_slot_write,
    .tick = _fos_ddos_tick,
    .events_fd = _fos_ddos_events_fd,
    .events = _fos_ddos_events,
    .methods = fos_ddos_methods,
    .n_methods = ARRAY_SIZE(fos_ddos_methods),
};
