// SPDX-License-Identifier: GPL-2.0-only
/*
 * The connection tracking feature: its IPC methods (show, summary, clear),
 * its part of the apply (the table, its settings, growing it), its
 * collector, and its row of fos_features.
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

#define CT_STREAM_CHUNK 500 /* flows per message: about 200 kB of JSON, a few ms to make */

/* ---- conntrack ----------------------------------------------------------- */

static const char *_fos_proto_name(uint8_t p)
{
	switch (p) {
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 1:
		return "icmp";
	case 58:
		return "icmpv6";
	default:
		return NULL;
	}
}

static bool _fos_addr_is_v4(const uint8_t a[16])
{
	static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(a, pfx, sizeof(pfx)) == 0;
}

static json_object *_fos_addr_json(const uint8_t a[16])
{
	char buf[INET6_ADDRSTRLEN];

	if (_fos_addr_is_v4(a))
		inet_ntop(AF_INET, a + 12, buf, sizeof(buf));
	else
		inet_ntop(AF_INET6, a, buf, sizeof(buf));
	return json_object_new_string(buf);
}

/* the filter parameters shared by show and clear; 0 or an error sent */
static int _fos_ct_filter(struct fos_peer *peer, json_object *params, bool with_limit,
			  struct fos_ct_filter *f, bool *ret_sent)
{
	static const char *const known[] = {"src",   "dst",  "proto", "port",
					    "state", "zone", "limit"};
	const char *src = _fos_param_str(params, "src"), *dst = _fos_param_str(params, "dst");
	char err[FOS_ERRBUF] = "";
	json_object *v;

	*f = (struct fos_ct_filter){.proto = -1, .port = -1, .state = -1, .zone = -1};
	*ret_sent = true;
	/* a filter misread as absent would widen the selection (for clear: the
	 * whole table), so every parameter must be known and well typed */
	if (params) {
		json_object_object_foreach(params, key, val)
		{
			size_t n = ARRAY_SIZE(known) - (with_limit ? 0 : 1);
			bool ok = false;

			for (size_t i = 0; i < n && !ok; i++)
				ok = strcmp(key, known[i]) == 0;
			if (!ok)
				return _fos_error(peer, "fos.InvalidParameter",
						  "unknown parameter \"%s\"", key);
			if ((strcmp(key, "src") == 0 || strcmp(key, "dst") == 0) &&
			    !json_object_is_type(val, json_type_string))
				return _fos_error(peer, "fos.InvalidParameter",
						  "%s: expected a CIDR string", key);
		}
	}
	if (src) {
		if (fos_parse_cidr(src, &f->src, err) < 0)
			return _fos_error(peer, "fos.InvalidParameter", "src: %s", err);
		f->has_src = true;
	}
	if (dst) {
		if (fos_parse_cidr(dst, &f->dst, err) < 0)
			return _fos_error(peer, "fos.InvalidParameter", "dst: %s", err);
		f->has_dst = true;
	}
	if (params && json_object_object_get_ex(params, "proto", &v)) {
		char perr[FOS_ERRBUF];
		uint8_t pn = 0;
		int pr = -1;

		if (json_object_is_type(v, json_type_int))
			pr = json_object_get_int(v);
		else if (json_object_is_type(v, json_type_string) &&
			 fos_parse_protocol(json_object_get_string(v), &pn, perr) == 0)
			pr = pn;
		if (pr < 0 || pr > 255)
			return _fos_error(peer, "fos.InvalidParameter",
					  "proto: expected tcp, udp, icmp, icmpv6 or 0-255");
		f->proto = pr;
	}
	if (params && json_object_object_get_ex(params, "port", &v)) {
		int64_t port =
		    json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;

		if (port < 0 || port > 65535)
			return _fos_error(peer, "fos.InvalidParameter", "port: expected 0-65535");
		f->port = (int)port;
	}
	if (params && json_object_object_get_ex(params, "state", &v)) {
		int st = json_object_is_type(v, json_type_string)
			     ? fos_ct_state_from_string(json_object_get_string(v))
			     : -EINVAL;

		if (st < 0)
			return _fos_error(peer, "fos.InvalidParameter",
					  "state: expected new, syn_sent, syn_recv, established, "
					  "fin_wait, close_wait, time_wait or close");
		f->state = st;
	}
	if (params && json_object_object_get_ex(params, "zone", &v)) {
		int64_t z = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;

		if (z < 0 || z > UINT32_MAX)
			return _fos_error(peer, "fos.InvalidParameter",
					  "zone: expected 0-4294967295");
		f->zone = z;
	}
	*ret_sent = false;
	return 0;
}

/* show, summary and clear walk the table a step at a time (a job of the
 * client's): a table of millions of flows never holds the event loop */
enum _fos_ct_op {
	_FOS_CT_SHOW,
	_FOS_CT_SUMMARY,
	_FOS_CT_CLEAR,
};

struct _fos_ct_sum {
	uint64_t n[256][_FOS_CTS_MAX];
};

struct _fos_ct_job {
	enum _fos_ct_op op;
	struct fos_manager *m;
	struct fos_peer *peer;
	struct fos_ct_filter f;
	struct fos_ct_cursor cur;
	json_object *a; /* show: entries not sent yet */
	uint64_t matched, emitted, limit, now, removed;
	int err; /* a send that failed */
	struct _fos_ct_sum *sum;
};

#define FOS_CT_STEP_NS (2ULL * 1000 * 1000)

static json_object *_fos_ct_entry_json(struct fos_manager *m, const struct fos_ct_key *k,
				       const struct fos_ct_value *v, uint64_t now)
{
	unsigned o = (v->flags & FOS_CT_F_ORIG1) ? 1 : 0;
	json_object *e = json_object_new_object(), *pk = json_object_new_object(),
		    *by = json_object_new_object();
	const char *pn = _fos_proto_name(k->proto);
	char ifname[IF_NAMESIZE] = "";

	json_object_object_add(e, "proto",
			       pn ? json_object_new_string(pn) : json_object_new_int(k->proto));
	json_object_object_add(
	    e, "family", json_object_new_string(_fos_addr_is_v4(k->addr[0]) ? "ipv4" : "ipv6"));
	json_object_object_add(e, "zone", json_object_new_int64(k->zone));
	json_object_object_add(e, "src", _fos_addr_json(k->addr[o]));
	json_object_object_add(e, "dst", _fos_addr_json(k->addr[o ^ 1]));
	if (k->proto == 6 || k->proto == 17) {
		json_object_object_add(e, "sport", json_object_new_int(k->port[o]));
		json_object_object_add(e, "dport", json_object_new_int(k->port[o ^ 1]));
	} else if (k->proto == 1 || k->proto == 58) {
		json_object_object_add(e, "icmpId", json_object_new_int(k->port[0]));
	}
	json_object_object_add(e, "state",
			       json_object_new_string(fos_ct_state_to_string(v->state)));
	json_object_object_add(e, "timeout",
			       json_object_new_int64((int64_t)fos_ct_timeout_left(m, k, v, now)));
	json_object_object_add(
	    e, "age",
	    json_object_new_int64(now > v->first_ns ? (int64_t)((now - v->first_ns) / 1000000000ULL)
						    : 0));
	json_object_object_add(e, "seenReply",
			       json_object_new_boolean(v->flags & FOS_CT_F_SEEN_REPLY));
	if (!if_indextoname(v->ifindex, ifname))
		ifname[0] = 0;
	json_object_object_add(e, "interface", json_object_new_string(ifname));
	json_object_object_add(pk, "orig", json_object_new_uint64(v->packets[FOS_CT_DIR_ORIG]));
	json_object_object_add(pk, "reply", json_object_new_uint64(v->packets[FOS_CT_DIR_REPLY]));
	json_object_object_add(by, "orig", json_object_new_uint64(v->bytes[FOS_CT_DIR_ORIG]));
	json_object_object_add(by, "reply", json_object_new_uint64(v->bytes[FOS_CT_DIR_REPLY]));
	json_object_object_add(e, "packets", pk);
	json_object_object_add(e, "bytes", by);
	return e;
}

static int _fos_ct_job_one(void *u, const struct fos_ct_key *k, const struct fos_ct_value *v)
{
	struct _fos_ct_job *j = u;
	json_object *o, *msg;
	int r;

	switch (j->op) {
	case _FOS_CT_SUMMARY:
		if (v->state < _FOS_CTS_MAX)
			j->sum->n[k->proto][v->state]++;
		return 0;
	case _FOS_CT_CLEAR:
		if (fos_ct_clear_one(j->m, k) == 0)
			j->removed++;
		return 0;
	case _FOS_CT_SHOW:
		break;
	}
	/* at the limit the walk stops: the rest of the table is not read */
	if (j->limit && j->emitted >= j->limit)
		return -ECANCELED;
	j->matched++;
	json_object_array_add(j->a, _fos_ct_entry_json(j->m, k, v, j->now));
	if (++j->emitted % CT_STREAM_CHUNK)
		return 0;
	o = json_object_new_object();
	json_object_object_add(o, "entries", j->a);
	j->a = json_object_new_array();
	msg = fos_ipc_reply(o, true);
	r = fos_peer_send(j->peer, msg);
	json_object_put(msg);
	if (r < 0) {
		j->err = r;
		return r;
	}
	return 0;
}

static json_object *_fos_ct_summary_json(struct fos_manager *m, const struct _fos_ct_sum *sum)
{
	const struct fos_conntrack_cfg *cc = m->cfg ? &m->cfg->conntrack : NULL;
	uint64_t entries = 0, st[_FOS_CT_STAT_MAX] = {0};
	uint32_t max = cc ? cc->max_connections : FOS_CT_DEFAULT_MAX;
	json_object *o, *to, *gc, *pa;

	if (m->ctmaps)
		(void)fos_ct_counts(m, &entries, st);
	o = json_object_new_object();
	json_object_object_add(o, "active", json_object_new_boolean(m->ctmaps != NULL));
	json_object_object_add(o, "maxConnections", json_object_new_int64(max));
	json_object_object_add(o, "capacity", json_object_new_int64(m->ct_capacity));
	json_object_object_add(o, "entries", json_object_new_uint64(entries));
	json_object_object_add(o, "fill",
			       json_object_new_double(max ? 100.0 * (double)entries / max : 0));
	json_object_object_add(o, "created", json_object_new_uint64(st[FOS_CT_STAT_CREATED]));
	json_object_object_add(o, "insertFailures",
			       json_object_new_uint64(st[FOS_CT_STAT_INSERT_FAIL]));
	json_object_object_add(o, "reopened", json_object_new_uint64(st[FOS_CT_STAT_REOPENED]));
	json_object_object_add(o, "icmpErrorsTruncated",
			       json_object_new_uint64(st[FOS_CT_STAT_ICMP_NO_INNER]));
	json_object_object_add(o, "invalid",
			       json_object_new_string(fos_ct_invalid_to_string(
				   cc ? cc->invalid : FOS_CT_INVALID_DROP)));
	to = json_object_new_object();
	if (cc) {
		json_object_object_add(to, "tcp", json_object_new_int64(cc->tcp_timeout));
		json_object_object_add(to, "tcpSyn", json_object_new_int64(cc->tcp_syn_timeout));
		json_object_object_add(to, "tcpFin", json_object_new_int64(cc->tcp_fin_timeout));
		json_object_object_add(to, "udp", json_object_new_int64(cc->udp_timeout));
		json_object_object_add(to, "icmp", json_object_new_int64(cc->icmp_timeout));
	}
	json_object_object_add(o, "timeouts", to);
	gc = json_object_new_object();
	json_object_object_add(gc, "runs", json_object_new_uint64(m->gc.runs));
	json_object_object_add(gc, "removed", json_object_new_uint64(m->gc.removed));
	json_object_object_add(gc, "cleared", json_object_new_uint64(m->gc.cleared));
	json_object_object_add(gc, "released", json_object_new_uint64(m->gc.drift));
	json_object_object_add(gc, "lastRunAt", _fos_time((time_t)m->gc.last_run));
	json_object_object_add(gc, "lastRunMs", json_object_new_double(m->gc.last_run_ms));
	json_object_object_add(gc, "maxStepMs", json_object_new_double(m->gc.max_step_ms));
	json_object_object_add(gc, "intervalMs", json_object_new_int64(m->gc.interval_ms));
	json_object_object_add(o, "gc", gc);
	pa = json_object_new_array();
	for (unsigned p = 0; p < 256; p++) {
		json_object *po, *so;
		uint64_t total = 0;
		const char *pn;

		for (unsigned k = 0; k < _FOS_CTS_MAX; k++)
			total += sum->n[p][k];
		if (!total)
			continue;
		po = json_object_new_object();
		so = json_object_new_object();
		pn = _fos_proto_name((uint8_t)p);
		json_object_object_add(
		    po, "proto", pn ? json_object_new_string(pn) : json_object_new_int((int)p));
		json_object_object_add(po, "entries", json_object_new_uint64(total));
		for (unsigned k = 0; k < _FOS_CTS_MAX; k++)
			if (sum->n[p][k])
				json_object_object_add(so, fos_ct_state_to_string(k),
						       json_object_new_uint64(sum->n[p][k]));
		json_object_object_add(po, "states", so);
		json_object_array_add(pa, po);
	}
	json_object_object_add(o, "protocols", pa);
	return o;
}

static void _fos_ct_job_free(void *state)
{
	struct _fos_ct_job *j = state;

	if (!j)
		return;
	json_object_put(j->a);
	free(j->sum);
	free(j);
}

static int _fos_ct_job_step(struct fos_manager *m, struct fos_peer *peer, void *state)
{
	struct _fos_ct_job *j = state;
	bool complete = true;
	json_object *o;
	int r;

	r = fos_ct_walk_step(m, &j->cur, j->op == _FOS_CT_SUMMARY ? NULL : &j->f, _fos_ct_job_one,
			     j, FOS_CT_STEP_NS);
	if (j->err < 0)
		return j->err;
	if (r == -ECANCELED) {
		complete = false;
		r = 0;
	}
	if (r < 0)
		return _fos_error(peer, "fos.Failed", "cannot read the connection table: %s",
				  strerror(-r)) < 0
			   ? -EIO
			   : 0;
	if (r > 0)
		return 1;
	switch (j->op) {
	case _FOS_CT_SHOW:
		o = json_object_new_object();
		json_object_object_add(o, "entries", TAKE_PTR(j->a));
		json_object_object_add(o, "matched", json_object_new_uint64(j->matched));
		json_object_object_add(o, "scanned", json_object_new_uint64(j->cur.scanned));
		json_object_object_add(o, "complete", json_object_new_boolean(complete));
		break;
	case _FOS_CT_SUMMARY:
		o = _fos_ct_summary_json(m, j->sum);
		break;
	default:
		log_info("clear conntrack: %llu entries removed", (unsigned long long)j->removed);
		o = json_object_new_object();
		json_object_object_add(o, "removed", json_object_new_uint64(j->removed));
		break;
	}
	r = _fos_reply(peer, o);
	return r < 0 ? r : 0;
}

static int _fos_ct_job_start(struct fos_manager *m, struct fos_peer *peer, enum _fos_ct_op op,
			     json_object *params)
{
	struct _fos_ct_job *j = calloc(1, sizeof(*j));
	json_object *v;
	bool sent;
	int r;

	if (!j)
		return -ENOMEM;
	j->op = op;
	j->m = m;
	j->peer = peer;
	if (op == _FOS_CT_SUMMARY) {
		j->sum = calloc(1, sizeof(*j->sum));
		if (!j->sum) {
			free(j);
			return -ENOMEM;
		}
	} else {
		r = _fos_ct_filter(peer, params, op == _FOS_CT_SHOW, &j->f, &sent);
		if (sent) {
			free(j);
			return r;
		}
	}
	if (op == _FOS_CT_SHOW && params && json_object_object_get_ex(params, "limit", &v)) {
		int64_t l = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;

		if (l < 1) {
			free(j);
			return _fos_error(peer, "fos.InvalidParameter",
					  "limit: expected 1 or more");
		}
		j->limit = (uint64_t)l;
	}
	j->now = fos_boottime_ns();
	j->a = json_object_new_array();
	peer->job =
	    (struct fos_job){.step = _fos_ct_job_step, .free = _fos_ct_job_free, .state = j};
	return 0;
}

static int _fos_show_conntrack(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	return _fos_ct_job_start(m, peer, _FOS_CT_SHOW, params);
}

static int _fos_show_ct_summary(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	(void)params;
	return _fos_ct_job_start(m, peer, _FOS_CT_SUMMARY, NULL);
}

static int _fos_clear_conntrack(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	return _fos_ct_job_start(m, peer, _FOS_CT_CLEAR, params);
}

static const struct fos_method fos_ct_methods[] = {
    {"fos.Show.Conntrack", false, _fos_show_conntrack},
    {"fos.Show.ConntrackSummary", false, _fos_show_ct_summary},
    {"fos.Clear.Conntrack", true, _fos_clear_conntrack},
};

/* before the programs: the stateful ones share the table */
static int _fos_ct_feature_open(struct fos_manager *m, const struct fos_config *cfg)
{
	char err[512];
	int r;

	if (!cfg)
		return 0;
	r = fos_ct_open(m, &cfg->conntrack, fos_config_any_stateful(cfg), err, sizeof(err));
	if (r < 0)
		log_error("%s", err); /* err names the errno already */
	return r;
}

static void _fos_ct_feature_close(struct fos_manager *m)
{
	fos_ctmaps__destroy(m->ctmaps);
	m->ctmaps = NULL;
}

/* what one apply changes of the table */
struct _fos_ct_tx {
	struct fos_ctmaps *grown; /* a bigger table replacing the running one */
	bool written;		  /* the settings of the new config were written */
};

/* the table before any stateful program is loaded, grown if the config
 * wants more connections than it holds */
static int _fos_ct_prepare(struct fos_manager *m, struct fos_apply *a, void **tx)
{
	const struct fos_conntrack_cfg *c = &a->cfg->conntrack;
	struct _fos_ct_tx *t = calloc(1, sizeof(*t));
	char err[512];
	int r;

	if (!t)
		return -ENOMEM;
	*tx = t;
	r = fos_ct_open(m, c, fos_config_any_stateful(a->cfg), err, sizeof(err));
	if (r == 0)
		r = fos_ct_prepare_grow(m, c, &t->grown, &a->ct, err, sizeof(err));
	if (r < 0) {
		fos_errors_add(a->errs, c->src.file, c->src.line, "%s", err);
		return r;
	}
	a->ct_replaced = t->grown != NULL;
	return 0;
}

/* timeouts and limits before the flips: a stateful program never runs
 * without them */
static int _fos_ct_stage(struct fos_manager *m, struct fos_apply *a, void *tx)
{
	const struct fos_conntrack_cfg *c = &a->cfg->conntrack;
	struct _fos_ct_tx *t = tx;
	int r = fos_ct_write_cfg(m, c);

	if (r < 0) {
		fos_errors_add(a->errs, c->src.file, c->src.line,
			       "conntrack: cannot write the table's settings: %s", strerror(-r));
		return r;
	}
	t->written = true;
	return 0;
}

/* every program now runs on the grown table: it becomes the table */
static void _fos_ct_commit(struct fos_manager *m, struct fos_apply *a, void *tx)
{
	struct _fos_ct_tx *t = tx;

	(void)a;
	if (t->grown)
		(void)fos_ct_commit_grow(m, TAKE_PTR(t->grown));
	free(t);
}

static void _fos_ct_abort(struct fos_manager *m, struct fos_apply *a, void *tx)
{
	struct _fos_ct_tx *t = tx;

	(void)a;
	if (!t)
		return;
	if (t->written && m->cfg)
		(void)fos_ct_write_cfg(m, &m->cfg->conntrack);
	fos_ctmaps__destroy(t->grown);
	free(t);
}

/* the connection table's collector, a few ms at a time */
static uint32_t _fos_ct_tick(struct fos_manager *m)
{
	uint64_t now = fos_clock_ns(CLOCK_MONOTONIC) / 1000000;

	if (!m->ctmaps)
		return UINT32_MAX;
	if (now >= m->gc.next_ms)
		m->gc.next_ms = now + fos_ct_gc_step(m, FOS_FEATURE_STEP_NS);
	return m->gc.next_ms > now ? (uint32_t)(m->gc.next_ms - now) : 0;
}

const struct fos_feature fos_feature_conntrack = {
    .name = "conntrack",
    .open = _fos_ct_feature_open,
    .close = _fos_ct_feature_close,
    .prepare = _fos_ct_prepare,
    .stage = _fos_ct_stage,
    .commit = _fos_ct_commit,
    .abort = _fos_ct_abort,
    .tick = _fos_ct_tick,
    .methods = fos_ct_methods,
    .n_methods = ARRAY_SIZE(fos_ct_methods),
};
