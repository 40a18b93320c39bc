// SPDX-License-Identifier: GPL-2.0-only
/* The IPC method table: one entry per method, typed parameters, JSON replies. */
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
#include "fwd.h"
#include "ipc.h"
#include "log.h"
#include "ctmaps.skel.h"
#include "global.skel.h"
#include "tc.skel.h"
#include "xdp_filter.skel.h"

#define STREAM_CHUNK	20000
#define CT_STREAM_CHUNK 500 /* flows per message: about 200 kB of JSON, a few ms to make */

static int _fos_reply(struct fos_peer *peer, json_object *params)
{
	json_object *msg = fos_ipc_reply(params, false);
	int r = fos_peer_send(peer, msg);

	json_object_put(msg);
	return r;
}

static int _fos_error(struct fos_peer *peer, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int _fos_error(struct fos_peer *peer, const char *error, const char *fmt, ...)
{
	char buf[1024];
	json_object *msg;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	msg = fos_ipc_error(error, buf, NULL);
	r = fos_peer_send(peer, msg);
	json_object_put(msg);
	return r;
}

static const char *_fos_param_str(json_object *params, const char *key)
{
	json_object *v;

	if (!params || !json_object_object_get_ex(params, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static json_object *_fos_time(time_t t)
{
	char buf[64];
	struct tm tm;

	if (!t)
		return NULL;
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_object_new_string(buf);
}

static json_object *_fos_strings(char **v, size_t n)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

/* ---- info and status ---------------------------------------------------- */

static int _fos_get_info(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	json_object *o = json_object_new_object();

	(void)m;
	(void)params;
	json_object_object_add(o, "version", json_object_new_string(FOS_VERSION));
	json_object_object_add(o, "protocol", json_object_new_int(FOS_IPC_PROTOCOL));
	json_object_object_add(o, "abi", json_object_new_int(FOS_ABI_VERSION));
	return _fos_reply(peer, o);
}

static int _fos_show_status(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	json_object *o = json_object_new_object(), *lr = json_object_new_object();

	(void)params;
	json_object_object_add(o, "version", json_object_new_string(FOS_VERSION));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "uptime", json_object_new_int64(time(NULL) - m->started_at));
	json_object_object_add(o, "config", json_object_new_string(m->config_path));
	json_object_object_add(o, "generation", json_object_new_uint64(m->generation));
	json_object_object_add(o, "pinDir", json_object_new_string(m->pin_dir));
	json_object_object_add(o, "socket",
			       json_object_new_string(m->socket_path ? m->socket_path : ""));
	json_object_object_add(o, "programs", json_object_new_int((int)m->n_progs));
	json_object_object_add(o, "sets", json_object_new_int((int)m->n_sets));
	json_object_object_add(lr, "time", _fos_time(m->reload_time));
	json_object_object_add(lr, "ok", json_object_new_boolean(m->reload_ok));
	json_object_object_add(lr, "message",
			       json_object_new_string(m->reload_message ? m->reload_message : ""));
	json_object_object_add(lr, "errors",
			       _fos_strings(m->reload_errors.msgs, m->reload_errors.n));
	json_object_object_add(o, "lastReload", lr);
	return _fos_reply(peer, o);
}

/* ---- programs ----------------------------------------------------------- */

static bool _fos_tc_running(const struct fos_prog_rt *p, int i)
{
	return p->tc_at[i].ifindex && fos_tc_query_hook(&p->tc_at[i]) == p->tc_at[i].prog_id;
}

static const char *_fos_mode(const struct fos_prog_rt *p)
{
	uint32_t id = 0;
	const char *mode = "none";

	if (p->tc)
		return _fos_tc_running(p, FOS_TC_ATTACH_POLICY) ? "tc" : "none";
	/* a program further down an XDP chain runs in the mode of the first */
	if ((!p->link && p->chain_pos < 2) || fos_xdp_query(p->ifindex, &id, NULL, 0, &mode) < 0)
		return "none";
	return mode;
}

/* the kernel's view: a link detached behind our back is not "attached", nor
 * a tc filter someone removed or replaced */
static bool _fos_attached(const struct fos_prog_rt *p)
{
	if (p->tc)
		return _fos_tc_running(p, FOS_TC_ATTACH_POLICY);
	if (!p->link)
		return p->chain_pos > 1; /* the previous program of its chain passes on to it */
	return fos_link_ifindex(p->link) != 0;
}

static json_object *_fos_tc_hook_json(const struct fos_prog_rt *p, int i)
{
	const struct fos_tc_attach *at = &p->tc_at[i];
	json_object *o = json_object_new_object();
	char ifname[IF_NAMESIZE] = "";

	if (!if_indextoname(at->ifindex, ifname))
		ifname[0] = 0;
	json_object_object_add(o, "interface", json_object_new_string(ifname));
	json_object_object_add(o, "direction",
			       json_object_new_string(at->ingress ? "ingress" : "egress"));
	json_object_object_add(o, "priority", json_object_new_int(at->priority));
	json_object_object_add(o, "handle", json_object_new_int64(at->handle));
	json_object_object_add(o, "progId", json_object_new_int64(at->prog_id));
	json_object_object_add(o, "attached", json_object_new_boolean(_fos_tc_running(p, i)));
	return o;
}

static json_object *_fos_prog_brief(const struct fos_prog_rt *p)
{
	json_object *o = json_object_new_object();
	uint64_t st[_FOS_STAT_MAX] = {0};
	uint32_t pid, lid;

	fos_prog_ids(p, &pid, &lid);
	(void)fos_prog_stats(p, st);
	json_object_object_add(o, "name", json_object_new_string(p->name));
	json_object_object_add(o, "type",
			       json_object_new_string(p->cfg ? fos_prog_type_to_string(p->cfg->type)
						      : p->tc ? "tc"
							      : "xdp"));
	json_object_object_add(o, "stateful", json_object_new_boolean(p->stateful));
	json_object_object_add(o, "ddos", json_object_new_boolean(p->ddos));
	json_object_object_add(o, "interface", json_object_new_string(p->ifname));
	json_object_object_add(o, "priority", json_object_new_int(p->cfg ? p->cfg->priority : 0));
	json_object_object_add(o, "loaded", json_object_new_boolean(fos_prog_loaded(p)));
	json_object_object_add(o, "attached", json_object_new_boolean(_fos_attached(p)));
	json_object_object_add(o, "mode", json_object_new_string(_fos_mode(p)));
	json_object_object_add(o, "progId", json_object_new_int64(pid));
	json_object_object_add(o, "linkId", json_object_new_int64(lid));
	if (p->tc) {
		json_object *tc = _fos_tc_hook_json(p, FOS_TC_ATTACH_POLICY);

		if (p->tc_at[FOS_TC_ATTACH_TRACK].ifindex)
			json_object_object_add(tc, "tracker",
					       _fos_tc_hook_json(p, FOS_TC_ATTACH_TRACK));
		json_object_object_add(o, "tc", tc);
	} else if (p->chain_pos) {
		/* its place among the XDP programs of its interface */
		json_object *ch = json_object_new_object();

		json_object_object_add(ch, "position", json_object_new_int((int)p->chain_pos));
		json_object_object_add(
		    ch, "next", p->chain_next[0] ? json_object_new_string(p->chain_next) : NULL);
		json_object_object_add(o, "chain", ch);
	} else {
		json_object_object_add(o, "chain", NULL);
	}
	json_object_object_add(o, "rules", json_object_new_int(p->cfg ? (int)p->cfg->n_rules : 0));
	json_object_object_add(o, "packets", json_object_new_uint64(st[FOS_STAT_PACKETS]));
	json_object_object_add(o, "dropped", json_object_new_uint64(st[FOS_STAT_DROPPED]));
	return o;
}

static int _fos_show_programs(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();

	(void)params;
	for (size_t i = 0; i < m->n_progs; i++)
		json_object_array_add(a, _fos_prog_brief(m->progs[i]));
	json_object_object_add(o, "programs", a);
	return _fos_reply(peer, o);
}

static const char *const _fos_map_names[] = {
    "fos_ctl",	       "fos_slots",	"fos_rules",	  "fos_rule_stats", "fos_default_st",
    "fos_stats",       "fos_frags",	"fos_tx_ports",	  "fos_cls_dport",  "fos_cls_sport",
    "fos_cls_bitmaps", "fos_cls_addrs", "fos_cls_addrs4",
};

static int _fos_show_program(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	const char *name = _fos_param_str(params, "name");
	struct fos_prog_rt *p;
	json_object *o, *st, *met, *refs, *cnt;
	uint64_t s[_FOS_STAT_MAX] = {0};

	if (!name)
		return _fos_error(peer, "fos.InvalidParameter", "parameter \"name\" is required");
	p = fos_manager_find_prog(m, name);
	if (!p)
		return _fos_error(peer, "fos.NoSuchProgram", "no program named \"%s\"", name);

	o = _fos_prog_brief(p);
	(void)fos_prog_stats(p, s);
	json_object_object_add(
	    o, "description",
	    json_object_new_string(p->cfg && p->cfg->description ? p->cfg->description : ""));
	json_object_object_add(o, "generation", json_object_new_uint64(p->generation));
	st = json_object_new_object();
	json_object_object_add(st, "loaded", json_object_new_boolean(fos_prog_loaded(p)));
	json_object_object_add(st, "attached", json_object_new_boolean(_fos_attached(p)));
	refs = json_object_new_array();
	json_object_array_add(refs, json_object_new_string("fos_sets"));
	json_object_array_add(refs, json_object_new_string("fos_sets4"));
	if (p->stateful) {
		json_object_array_add(refs, json_object_new_string("fos_ct"));
		json_object_array_add(refs, json_object_new_string("fos_ct_cfg"));
	}
	for (size_t i = 0; i < ARRAY_SIZE(_fos_map_names); i++) {
		char buf[160];

		if (p->tc && strcmp(_fos_map_names[i], "fos_tx_ports") == 0)
			continue;
		snprintf(buf, sizeof(buf), "%s/%s", p->name, _fos_map_names[i]);
		json_object_array_add(refs, json_object_new_string(buf));
	}
	if (p->ddos) {
		char buf[160];

		for (size_t i = 0; fos_ddos_map_names[i]; i++) {
			snprintf(buf, sizeof(buf), "%s/%s", p->name, fos_ddos_map_names[i]);
			json_object_array_add(refs, json_object_new_string(buf));
		}
		if (p->stateful)
			json_object_array_add(refs, json_object_new_string("fos_ct_src"));
	}
	if (p->tc) {
		char buf[160];

		snprintf(buf, sizeof(buf), "%s/fos_tc_attach", p->name);
		json_object_array_add(refs, json_object_new_string(buf));
	}
	json_object_object_add(st, "mapRefs", refs);
	met = json_object_new_object();
	json_object_object_add(met, "packetsProcessed",
			       json_object_new_uint64(s[FOS_STAT_PACKETS]));
	json_object_object_add(met, "packetsDropped", json_object_new_uint64(s[FOS_STAT_DROPPED]));
	json_object_object_add(met, "packetsPassed", json_object_new_uint64(s[FOS_STAT_PASSED]));
	json_object_object_add(met, "packetsRedirected",
			       json_object_new_uint64(s[FOS_STAT_REDIRECTED]));
	json_object_object_add(met, "bytes", json_object_new_uint64(s[FOS_STAT_BYTES]));
	json_object_object_add(st, "metrics", met);
	json_object_object_add(st, "lastUpdated", _fos_time(p->updated_at));
	json_object_object_add(o, "status", st);
	cnt = json_object_new_object();
	json_object_object_add(cnt, "blacklist", json_object_new_uint64(s[FOS_STAT_BLACKLIST]));
	json_object_object_add(cnt, "whitelist", json_object_new_uint64(s[FOS_STAT_WHITELIST]));
	json_object_object_add(cnt, "default", json_object_new_uint64(s[FOS_STAT_DEFAULT]));
	json_object_object_add(cnt, "malformed", json_object_new_uint64(s[FOS_STAT_MALFORMED]));
	json_object_object_add(cnt, "nonIp", json_object_new_uint64(s[FOS_STAT_NON_IP]));
	json_object_object_add(cnt, "fragments", json_object_new_uint64(s[FOS_STAT_FRAGMENTS]));
	json_object_object_add(cnt, "fragmentsWithoutFirst",
			       json_object_new_uint64(s[FOS_STAT_FRAG_NO_FIRST]));
	json_object_object_add(cnt, "redirectFailed",
			       json_object_new_uint64(s[FOS_STAT_REDIRECT_FAIL]));
	if (p->stateful) {
		json_object *ct = json_object_new_object();

		json_object_object_add(ct, "new", json_object_new_uint64(s[FOS_STAT_CT_NEW]));
		json_object_object_add(ct, "established",
				       json_object_new_uint64(s[FOS_STAT_CT_ESTABLISHED]));
		json_object_object_add(ct, "related",
				       json_object_new_uint64(s[FOS_STAT_CT_RELATED]));
		json_object_object_add(ct, "invalid",
				       json_object_new_uint64(s[FOS_STAT_CT_INVALID]));
		json_object_object_add(ct, "untracked",
				       json_object_new_uint64(s[FOS_STAT_CT_UNTRACKED]));
		json_object_object_add(ct, "tableFull",
				       json_object_new_uint64(s[FOS_STAT_CT_FULL]));
		json_object_object_add(cnt, "conntrack", ct);
	}
	json_object_object_add(o, "counters", cnt);
	return _fos_reply(peer, o);
}

static json_object *_fos_cidrs(const struct fos_cidr *v, size_t n)
{
	json_object *a = json_object_new_array();
	char buf[FOS_CIDR_STRLEN];

	for (size_t i = 0; i < n; i++)
		json_object_array_add(
		    a, json_object_new_string(fos_cidr_to_string(&v[i], buf, sizeof(buf))));
	return a;
}

static json_object *_fos_ports(const struct fos_port_span *v, size_t n)
{
	json_object *a = json_object_new_array();
	char buf[16];

	for (size_t i = 0; i < n; i++) {
		if (v[i].lo == v[i].hi)
			snprintf(buf, sizeof(buf), "%u", v[i].lo);
		else
			snprintf(buf, sizeof(buf), "%u-%u", v[i].lo, v[i].hi);
		json_object_array_add(a, json_object_new_string(buf));
	}
	return a;
}

static json_object *_fos_prog_rules(const struct fos_prog_rt *p)
{
	json_object *o = json_object_new_object(), *rules = json_object_new_array(), *d;
	const struct fos_program *c = p->cfg;
	struct fos_rule_counter rc;

	json_object_object_add(o, "name", json_object_new_string(p->name));
	d = json_object_new_object();
	json_object_object_add(
	    d, "action",
	    json_object_new_string(fos_cfg_action_to_string(c ? c->default_action : FOS_CFG_PASS)));
	if (c && c->default_action == FOS_CFG_REDIRECT)
		json_object_object_add(d, "interface",
				       json_object_new_string(c->default_interface));
	memset(&rc, 0, sizeof(rc));
	(void)fos_prog_rule_counter(p, p->active, 0, true, &rc);
	json_object_object_add(d, "packets", json_object_new_uint64(rc.packets));
	json_object_object_add(d, "bytes", json_object_new_uint64(rc.bytes));
	json_object_object_add(o, "default", d);

	for (size_t i = 0; c && i < c->n_rules; i++) {
		const struct fos_rule_cfg *r = &c->rules[i];
		json_object *ro = json_object_new_object(), *mo = json_object_new_object();

		json_object_object_add(ro, "index", json_object_new_int((int)i));
		json_object_object_add(
		    mo, "protocol",
		    json_object_new_string(fos_protocol_to_string(r->match.protocol) ?: "any"));
		json_object_object_add(mo, "srcCIDR", _fos_cidrs(r->match.src, r->match.n_src));
		json_object_object_add(mo, "dstCIDR", _fos_cidrs(r->match.dst, r->match.n_dst));
		json_object_object_add(mo, "srcPorts",
				       _fos_ports(r->match.sport, r->match.n_sport));
		json_object_object_add(mo, "dstPorts",
				       _fos_ports(r->match.dport, r->match.n_dport));
		if (r->match.state) {
			json_object *sa = json_object_new_array();

			for (unsigned k = 0; k < _FOS_CT_CLASS_MAX; k++)
				if (r->match.state & (1U << k))
					json_object_array_add(
					    sa, json_object_new_string(fos_ct_class_to_string(k)));
			json_object_object_add(mo, "state", sa);
		}
		json_object_object_add(ro, "match", mo);
		json_object_object_add(ro, "action",
				       json_object_new_string(fos_cfg_action_to_string(r->action)));
		if (r->action == FOS_CFG_REDIRECT)
			json_object_object_add(ro, "interface",
					       json_object_new_string(r->interface));
		memset(&rc, 0, sizeof(rc));
		(void)fos_prog_rule_counter(p, p->active, (uint32_t)i, false, &rc);
		json_object_object_add(ro, "packets", json_object_new_uint64(rc.packets));
		json_object_object_add(ro, "bytes", json_object_new_uint64(rc.bytes));
		json_object_array_add(rules, ro);
	}
	json_object_object_add(o, "rules", rules);
	return o;
}

static int _fos_show_rules(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	const char *name = _fos_param_str(params, "program");
	json_object *o, *a;

	if (name && !fos_manager_find_prog(m, name))
		return _fos_error(peer, "fos.NoSuchProgram", "no program named \"%s\"", name);
	o = json_object_new_object();
	a = json_object_new_array();
	for (size_t i = 0; i < m->n_progs; i++)
		if (!name || strcmp(name, m->progs[i]->name) == 0)
			json_object_array_add(a, _fos_prog_rules(m->progs[i]));
	json_object_object_add(o, "programs", a);
	return _fos_reply(peer, o);
}

/* ---- sets --------------------------------------------------------------- */

static json_object *_fos_set_users(struct fos_manager *m, const char *set)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; m->cfg && i < m->cfg->n_programs; i++) {
		const struct fos_program *p = &m->cfg->programs[i];

		if ((p->blacklist.enabled && strcmp(p->blacklist.set, set) == 0) ||
		    (p->whitelist.enabled && strcmp(p->whitelist.set, set) == 0))
			json_object_array_add(a, json_object_new_string(p->name));
	}
	return a;
}

static int _fos_show_sets(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();

	(void)params;
	for (size_t i = 0; i < m->n_sets; i++) {
		const struct fos_rset *s = &m->sets[i];
		json_object *so = json_object_new_object();

		json_object_object_add(so, "name", json_object_new_string(s->name));
		json_object_object_add(so, "entries", json_object_new_int64((int64_t)s->n));
		json_object_object_add(
		    so, "configEntries",
		    json_object_new_int64((int64_t)fos_rset_count(s, FOS_SET_F_CONFIG)));
		json_object_object_add(
		    so, "dynamicEntries",
		    json_object_new_int64((int64_t)fos_rset_count(s, FOS_SET_F_DYNAMIC)));
		json_object_object_add(so, "timedEntries",
				       json_object_new_int64((int64_t)fos_rset_count_timed(s)));
		json_object_object_add(so, "expired", json_object_new_int64((int64_t)s->expired));
		if (s->file)
			json_object_object_add(so, "file", json_object_new_string(s->file));
		json_object_object_add(so, "usedBy", _fos_set_users(m, s->name));
		json_object_array_add(a, so);
	}
	json_object_object_add(o, "sets", a);
	return _fos_reply(peer, o);
}

/* whole seconds an entry has left, rounded up (0 once expired) */
static int64_t _fos_expires_s(uint64_t expires_ns, uint64_t now_ns)
{
	if (expires_ns <= now_ns)
		return 0;
	return (int64_t)((expires_ns - now_ns + 999999999ULL) / 1000000000ULL);
}

static int _fos_show_set(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	const char *name = _fos_param_str(params, "name");
	const struct fos_rset *s;
	uint64_t now = fos_sets_now_ns();
	size_t off = 0;

	if (!name)
		return _fos_error(peer, "fos.InvalidParameter", "parameter \"name\" is required");
	s = fos_manager_find_set(m, name);
	if (!s)
		return _fos_error(peer, "fos.NoSuchSet", "no set named \"%s\"", name);
	do {
		json_object *o = json_object_new_object(), *a = json_object_new_array(), *msg;
		size_t end = off + STREAM_CHUNK < s->n ? off + STREAM_CHUNK : s->n;
		char buf[FOS_CIDR_STRLEN];
		int r;

		json_object_object_add(o, "name", json_object_new_string(s->name));
		json_object_object_add(o, "expired", json_object_new_int64((int64_t)s->expired));
		for (size_t i = off; i < end; i++) {
			json_object *e = json_object_new_object();

			json_object_object_add(e, "cidr",
					       json_object_new_string(fos_cidr_to_string(
						   &s->e[i].cidr, buf, sizeof(buf))));
			json_object_object_add(
			    e, "dynamic",
			    json_object_new_boolean(s->e[i].flags & FOS_SET_F_DYNAMIC));
			if (s->e[i].expires_ns)
				json_object_object_add(
				    e, "expires",
				    json_object_new_int64(_fos_expires_s(s->e[i].expires_ns, now)));
			if (s->e[i].flags & FOS_SET_F_AUTO)
				json_object_object_add(e, "auto", json_object_new_boolean(true));
			json_object_array_add(a, e);
		}
		json_object_object_add(o, "entries", a);
		msg = fos_ipc_reply(o, end < s->n);
		r = fos_peer_send(peer, msg);
		json_object_put(msg);
		if (r < 0)
			return r;
		off = end;
	} while (off < s->n);
	return 0;
}

/* "timeout" of fos.Set.Add: absent (0), or whole seconds 1-2147483647 */
static int _fos_param_timeout(json_object *params, uint32_t *ret, char *err, size_t errlen)
{
	json_object *v;
	int64_t t;

	if (!params || !json_object_object_get_ex(params, "timeout", &v)) {
		*ret = 0;
		return 0;
	}
	if (!json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen,
			 "parameter \"timeout\" must be a whole number of seconds, 1-2147483647");
		return -EINVAL;
	}
	errno = 0;
	t = json_object_get_int64(v);
	if (errno != 0 || t < 1 || t > INT32_MAX) {
		snprintf(err, errlen, "parameter \"timeout\" must be 1-2147483647 seconds, not %s",
			 json_object_to_json_string(v));
		return -ERANGE;
	}
	*ret = (uint32_t)t;
	return 0;
}

static int _fos_set_change(struct fos_manager *m, struct fos_peer *peer, json_object *params,
			   bool add)
{
	const char *name = _fos_param_str(params, "name");
	const char *cidr = _fos_param_str(params, "cidr");
	char err[FOS_ERRBUF] = "", buf[FOS_CIDR_STRLEN];
	const struct fos_set_entry *e = NULL;
	const struct fos_rset *s;
	uint32_t timeout = 0;
	struct fos_cidr c;
	json_object *o;
	ssize_t i;
	int r;

	if (!name || !cidr)
		return _fos_error(peer, "fos.InvalidParameter",
				  "parameters \"name\" and \"cidr\" are required");
	r = fos_parse_cidr(cidr, &c, err);
	if (r < 0)
		return _fos_error(peer, "fos.InvalidParameter", "%s", err);
	if (!add && params && json_object_object_get_ex(params, "timeout", NULL))
		return _fos_error(peer, "fos.InvalidParameter", "fos.Set.Del takes no \"timeout\"");
	if (add && _fos_param_timeout(params, &timeout, err, sizeof(err)) < 0)
		return _fos_error(peer, "fos.InvalidParameter", "%s", err);
	r = add ? fos_manager_set_add(m, name, &c, timeout, err, sizeof(err))
		: fos_manager_set_del(m, name, &c, err, sizeof(err));
	if (r == -ENOENT)
		return _fos_error(peer, "fos.NoSuchSet", "%s", err);
	if (r < 0)
		return _fos_error(
		    peer, r == -ESRCH || r == -EPERM ? "fos.InvalidParameter" : "fos.Failed", "%s",
		    err[0] ? err : strerror(-r));
	fos_cidr_to_string(&c, buf, sizeof(buf));
	s = add ? fos_manager_find_set(m, name) : NULL;
	i = s ? fos_rset_find(s, &c) : -ENOENT;
	if (i >= 0 && s->e[i].expires_ns)
		e = &s->e[i];
	if (!add)
		log_info("set %s: removed %s", name, buf);
	else if (e)
		log_info("set %s: %s %s, expires in %" PRIu32 " s", name,
			 r > 0 ? "added" : "updated", buf, timeout);
	else
		log_info("set %s: %s %s", name, r > 0 ? "added" : "already has", buf);
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "cidr", json_object_new_string(buf));
	json_object_object_add(o, add ? "added" : "removed",
			       json_object_new_boolean(add ? r > 0 : true));
	if (e)
		json_object_object_add(
		    o, "expires",
		    json_object_new_int64(_fos_expires_s(e->expires_ns, fos_sets_now_ns())));
	return _fos_reply(peer, o);
}

static int _fos_set_add(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	return _fos_set_change(m, peer, params, true);
}

static int _fos_set_del(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	return _fos_set_change(m, peer, params, false);
}

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
		j->c = (struct fos_ddos_cursor){.batch = j->batch, .now = fos_boottime_ns()};
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
	j->c = (struct fos_ddos_cursor){.batch = j->batch, .now = fos_boottime_ns()};
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

/* ---- maps --------------------------------------------------------------- */

struct _fos_map_ref {
	char name[192];
	int fd; /* borrowed */
};

/* maps every program shares, listed once under their own names */
static bool _fos_shared_map(const char *n)
{
	static const char *const shared[] = {"fos_sets",   "fos_sets4",	   "fos_ct",
					     "fos_ct_cfg", "fos_ct_count", "fos_ct_stats",
					     "fos_ct_src"};

	for (size_t i = 0; i < ARRAY_SIZE(shared); i++)
		if (strcmp(n, shared[i]) == 0)
			return true;
	return false;
}

static size_t _fos_list_maps(struct fos_manager *m, struct _fos_map_ref *v, size_t cap)
{
	size_t n = 0;

	if (m->global && n + 4 <= cap) {
		snprintf(v[n].name, sizeof(v[n].name), "fos_sets");
		v[n++].fd = m->set_maps.v6;
		snprintf(v[n].name, sizeof(v[n].name), "fos_sets4");
		v[n++].fd = m->set_maps.v4;
		snprintf(v[n].name, sizeof(v[n].name), "fos_set_meta");
		v[n++].fd = m->set_maps.meta;
		snprintf(v[n].name, sizeof(v[n].name), "fos_state");
		v[n++].fd = bpf_map__fd(m->global->maps.fos_state);
	}
	if (m->ctmaps) {
		struct bpf_map *map;

		bpf_object__for_each_map(map, m->ctmaps->obj)
		{
			if (n >= cap || bpf_map__is_internal(map))
				continue;
			snprintf(v[n].name, sizeof(v[n].name), "%s", bpf_map__name(map));
			v[n++].fd = bpf_map__fd(map);
		}
	}
	for (size_t i = 0; i < m->n_progs; i++) {
		struct fos_prog_rt *p = m->progs[i];
		struct bpf_object *obj = p->tc ? p->tc->obj : p->skel ? p->skel->obj : NULL;
		struct bpf_map *map;

		if (!obj)
			continue;
		bpf_object__for_each_map(map, obj)
		{
			const char *mn = bpf_map__name(map);

			/* the shared maps are listed once, above; a stateless
			 * program's own connection table maps are unused */
			if (n >= cap || bpf_map__is_internal(map) || _fos_shared_map(mn))
				continue;
			snprintf(v[n].name, sizeof(v[n].name), "%s/%s", p->name,
				 bpf_map__name(map));
			v[n++].fd = bpf_map__fd(map);
		}
	}
	return n;
}

static const char *_fos_map_type(uint32_t t)
{
	const char *s = libbpf_bpf_map_type_str(t);

	return s ? s : "unknown";
}

/* count entries by walking keys (bounded by max_entries) */
static int64_t _fos_map_fill(int fd, const struct bpf_map_info *info)
{
	_cleanup_free_ uint8_t *k = NULL, *nk = NULL;
	int64_t n = 0;
	bool first = true;

	if (info->type == BPF_MAP_TYPE_ARRAY || info->type == BPF_MAP_TYPE_PERCPU_ARRAY)
		return info->max_entries;
	k = calloc(1, info->key_size);
	nk = calloc(1, info->key_size);
	if (!k || !nk)
		return -ENOMEM;
	while (bpf_map_get_next_key(fd, first ? NULL : k, nk) == 0) {
		memcpy(k, nk, info->key_size);
		first = false;
		if (++n > (int64_t)info->max_entries)
			break;
	}
	return n;
}

static int _fos_show_maps(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	struct _fos_map_ref refs[256];
	size_t n = _fos_list_maps(m, refs, ARRAY_SIZE(refs));
	json_object *o = json_object_new_object(), *a = json_object_new_array();

	(void)params;
	for (size_t i = 0; i < n; i++) {
		struct bpf_map_info info = {};
		uint32_t len = sizeof(info);
		json_object *mo;

		if (bpf_obj_get_info_by_fd(refs[i].fd, &info, &len) < 0)
			continue;
		mo = json_object_new_object();
		json_object_object_add(mo, "name", json_object_new_string(refs[i].name));
		json_object_object_add(mo, "type",
				       json_object_new_string(_fos_map_type(info.type)));
		json_object_object_add(mo, "id", json_object_new_int64(info.id));
		json_object_object_add(mo, "keySize", json_object_new_int64(info.key_size));
		json_object_object_add(mo, "valueSize", json_object_new_int64(info.value_size));
		json_object_object_add(mo, "maxEntries", json_object_new_int64(info.max_entries));
		if (refs[i].fd == m->ct.ct) {
			/* a walk of the connection table would stall the loop: its count */
			uint64_t e = 0;

			(void)fos_ct_counts(m, &e, NULL);
			json_object_object_add(mo, "entries", json_object_new_int64((int64_t)e));
		} else {
			json_object_object_add(
			    mo, "entries", json_object_new_int64(_fos_map_fill(refs[i].fd, &info)));
		}
		json_object_object_add(mo, "pinned", json_object_new_boolean(true));
		json_object_array_add(a, mo);
	}
	json_object_object_add(o, "maps", a);
	return _fos_reply(peer, o);
}

static bool _fos_is_percpu(uint32_t t)
{
	return t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH ||
	       t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static int _fos_show_map(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	const char *name = _fos_param_str(params, "name");
	struct _fos_map_ref refs[256];
	size_t n = _fos_list_maps(m, refs, ARRAY_SIZE(refs));
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);
	struct btf *btf = NULL;
	_cleanup_free_ uint8_t *k = NULL, *nk = NULL, *v = NULL;
	bool percpu, first = true, more;
	int ncpu, fd = -1, r = 0;
	size_t vsz, emitted = 0;
	json_object *o, *a;

	if (!name)
		return _fos_error(peer, "fos.InvalidParameter", "parameter \"name\" is required");
	for (size_t i = 0; i < n && fd < 0; i++)
		if (strcmp(refs[i].name, name) == 0)
			fd = refs[i].fd;
	if (fd < 0)
		return _fos_error(peer, "fos.NoSuchMap", "no map named \"%s\"", name);
	if (fd == m->ct.ct)
		return _fos_error(
		    peer, "fos.InvalidParameter",
		    "fos_ct is the connection table, up to millions of flows: use show "
		    "conntrack (with filters and a limit) instead of a dump of the map");
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return _fos_error(peer, "fos.Failed", "cannot query map %s: %s", name,
				  strerror(errno));
	if (info.btf_id)
		btf = btf__load_from_kernel_by_id(info.btf_id);
	percpu = _fos_is_percpu(info.type);
	ncpu = libbpf_num_possible_cpus();
	vsz = percpu ? ((info.value_size + 7) / 8 * 8) * (size_t)ncpu : info.value_size;
	k = calloc(1, info.key_size);
	nk = calloc(1, info.key_size);
	v = calloc(1, vsz);
	if (!k || !nk || !v) {
		btf__free(btf);
		return -ENOMEM;
	}

	o = json_object_new_object();
	a = json_object_new_array();
	more = bpf_map_get_next_key(fd, NULL, nk) == 0;
	while (more) {
		json_object *e, *val;

		memcpy(k, nk, info.key_size);
		first = false;
		more = bpf_map_get_next_key(fd, k, nk) == 0;
		if (bpf_map_lookup_elem(fd, k, v) < 0)
			continue;
		e = json_object_new_object();
		json_object_object_add(
		    e, "key", fos_btf_to_json(btf, info.btf_key_type_id, k, info.key_size));
		if (percpu) {
			size_t stride = (info.value_size + 7) / 8 * 8;

			val = json_object_new_array();
			for (int c = 0; c < ncpu; c++)
				json_object_array_add(
				    val, fos_btf_to_json(btf, info.btf_value_type_id,
							 v + stride * c, info.value_size));
		} else {
			val = fos_btf_to_json(btf, info.btf_value_type_id, v, info.value_size);
		}
		json_object_object_add(e, "value", val);
		json_object_array_add(a, e);
		if (++emitted % STREAM_CHUNK == 0 && more) {
			json_object *msg;

			json_object_object_add(o, "name", json_object_new_string(name));
			json_object_object_add(o, "entries", a);
			msg = fos_ipc_reply(TAKE_PTR(o), true);
			r = fos_peer_send(peer, msg);
			json_object_put(msg);
			if (r < 0)
				goto out;
			o = json_object_new_object();
			a = json_object_new_array();
		}
	}
	(void)first;
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "type", json_object_new_string(_fos_map_type(info.type)));
	json_object_object_add(o, "perCpu", json_object_new_boolean(percpu));
	json_object_object_add(o, "entries", a);
	r = _fos_reply(peer, o);
	o = NULL;
out:
	json_object_put(o);
	btf__free(btf);
	return r;
}

/* ---- reload and check --------------------------------------------------- */

static json_object *_fos_errors_json(const struct fos_errors *e)
{
	return _fos_strings(e->msgs, e->n);
}

static int _fos_config_error(struct fos_peer *peer, const char *what, struct fos_errors *errs)
{
	json_object *p = json_object_new_object(), *msg;
	char buf[1024];
	int r;

	snprintf(buf, sizeof(buf), "%s: %zu error%s", what, errs->n, errs->n == 1 ? "" : "s");
	json_object_object_add(p, "errors", _fos_errors_json(errs));
	msg = fos_ipc_error("fos.ConfigInvalid", buf, p);
	r = fos_peer_send(peer, msg);
	json_object_put(msg);
	return r;
}

static int _fos_reload(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	struct fos_errors errs = {};
	json_object *o;
	int r;

	(void)params;
	r = fos_manager_reload_logged(m, NULL, &errs);
	if (r < 0) {
		r = _fos_config_error(peer, "reload rejected, the running config stays in force",
				      &errs);
		fos_errors_clear(&errs);
		return r;
	}
	o = json_object_new_object();
	json_object_object_add(o, "generation", json_object_new_uint64(m->generation));
	json_object_object_add(o, "message", json_object_new_string(m->reload_message));
	return _fos_reply(peer, o);
}

static int _fos_config_check(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	const char *file = _fos_param_str(params, "file");
	struct fos_errors errs = {};
	struct fos_config *cfg = NULL;
	json_object *o;
	int r;

	(void)m;
	if (!file)
		return _fos_error(peer, "fos.InvalidParameter", "parameter \"file\" is required");
	r = fos_manager_check(file, &errs, &cfg);
	if (r < 0) {
		r = _fos_config_error(peer, file, &errs);
		fos_errors_clear(&errs);
		return r;
	}
	o = json_object_new_object();
	json_object_object_add(o, "file", json_object_new_string(file));
	json_object_object_add(o, "ok", json_object_new_boolean(true));
	json_object_object_add(o, "programs", json_object_new_int((int)cfg->n_programs));
	json_object_object_add(o, "sets", json_object_new_int((int)cfg->n_sets));
	fos_config_free(cfg);
	return _fos_reply(peer, o);
}

/* ---- the table ---------------------------------------------------------- */

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

struct fos_method {
	const char *name;
	bool mutates;
	int (*fn)(struct fos_manager *m, struct fos_peer *peer, json_object *params);
};

static const struct fos_method fos_methods[] = {
    {"fos.GetInfo", false, _fos_get_info},
    {"fos.Show.Status", false, _fos_show_status},
    {"fos.Show.Programs", false, _fos_show_programs},
    {"fos.Show.Program", false, _fos_show_program},
    {"fos.Show.Rules", false, _fos_show_rules},
    {"fos.Show.Sets", false, _fos_show_sets},
    {"fos.Show.Set", false, _fos_show_set},
    {"fos.Show.Maps", false, _fos_show_maps},
    {"fos.Show.Map", false, _fos_show_map},
    {"fos.Set.Add", true, _fos_set_add},
    {"fos.Set.Del", true, _fos_set_del},
    {"fos.Reload", true, _fos_reload},
    {"fos.Config.Check", false, _fos_config_check},
    {"fos.Show.Conntrack", false, _fos_show_conntrack},
    {"fos.Show.ConntrackSummary", false, _fos_show_ct_summary},
    {"fos.Clear.Conntrack", true, _fos_clear_conntrack},
    {"fos.Show.Ddos", false, _fos_show_ddos},
    {"fos.Show.DdosTop", false, _fos_show_ddos_top},
};

void fos_peer_job_free(struct fos_peer *peer)
{
	if (peer->job.free)
		peer->job.free(peer->job.state);
	peer->job = (struct fos_job){};
}

int fos_methods_dispatch(struct fos_manager *m, struct fos_peer *peer, json_object *req)
{
	json_object *jm, *params = NULL;
	const char *method;

	if (!json_object_object_get_ex(req, "method", &jm) ||
	    !json_object_is_type(jm, json_type_string))
		return _fos_error(peer, "fos.InvalidParameter", "request has no \"method\"");
	method = json_object_get_string(jm);
	(void)json_object_object_get_ex(req, "parameters", &params);
	if (params && !json_object_is_type(params, json_type_object))
		return _fos_error(peer, "fos.InvalidParameter", "\"parameters\" must be an object");

	for (size_t i = 0; i < ARRAY_SIZE(fos_methods); i++) {
		if (strcmp(fos_methods[i].name, method) != 0)
			continue;
		if (fos_methods[i].mutates && !peer->privileged)
			return _fos_error(peer, "fos.PermissionDenied",
					  "%s changes the router: it needs root or the \"fos\" "
					  "group (uid %u is neither)",
					  method, (unsigned)peer->uid);
		log_debug("ipc: %s from pid %d uid %u", method, (int)peer->pid,
			  (unsigned)peer->uid);
		return fos_methods[i].fn(m, peer, params);
	}
	return _fos_error(peer, "fos.MethodNotFound", "unknown method \"%s\"", method);
}
