// SPDX-License-Identifier: GPL-2.0-only
/*
 * The IPC dispatcher and the core's methods (info, status, programs, maps,
 * reload and check): a request names a method, found in the core's table or
 * a feature's (feature.h), which replies with JSON.
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

#define STREAM_CHUNK 20000

int _fos_reply(struct fos_peer *peer, json_object *params)
{
	json_object *msg = fos_ipc_reply(params, false);
	int r = fos_peer_send(peer, msg);

	json_object_put(msg);
	return r;
}

int _fos_error(struct fos_peer *peer, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int _fos_error(struct fos_peer *peer, const char *error, const char *fmt, ...)
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

const char *_fos_param_str(json_object *params, const char *key)
{
	json_object *v;

	if (!params || !json_object_object_get_ex(params, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

json_object *_fos_time(time_t t)
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
	json_object_object_add(
	    o, "attachment",
	    json_object_new_string(at->handle == FOS_TC_HANDLE_TCX ? "tcx" : "clsact"));
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

static const struct fos_method fos_core_methods[] = {
    {"fos.GetInfo", false, _fos_get_info},
    {"fos.Show.Status", false, _fos_show_status},
    {"fos.Show.Programs", false, _fos_show_programs},
    {"fos.Show.Program", false, _fos_show_program},
    {"fos.Show.Rules", false, _fos_show_rules},
    {"fos.Show.Maps", false, _fos_show_maps},
    {"fos.Show.Map", false, _fos_show_map},
    {"fos.Reload", true, _fos_reload},
    {"fos.Config.Check", false, _fos_config_check},
};

/* The core's methods, then every feature's. */
static const struct fos_method *_fos_method_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(fos_core_methods); i++)
		if (strcmp(fos_core_methods[i].name, name) == 0)
			return &fos_core_methods[i];
	for (size_t f = 0; fos_features[f]; f++)
		for (size_t i = 0; i < fos_features[f]->n_methods; i++)
			if (strcmp(fos_features[f]->methods[i].name, name) == 0)
				return &fos_features[f]->methods[i];
	return NULL;
}

void fos_peer_job_free(struct fos_peer *peer)
{
	if (peer->job.free)
		peer->job.free(peer->job.state);
	peer->job = (struct fos_job){};
}

int fos_methods_dispatch(struct fos_manager *m, struct fos_peer *peer, json_object *req)
{
	json_object *jm, *params = NULL;
	const struct fos_method *mt;
	const char *method;

	if (!json_object_object_get_ex(req, "method", &jm) ||
	    !json_object_is_type(jm, json_type_string))
		return _fos_error(peer, "fos.InvalidParameter", "request has no \"method\"");
	method = json_object_get_string(jm);
	(void)json_object_object_get_ex(req, "parameters", &params);
	if (params && !json_object_is_type(params, json_type_object))
		return _fos_error(peer, "fos.InvalidParameter", "\"parameters\" must be an object");

	mt = _fos_method_find(method);
	if (mt) {
		if (mt->mutates && !peer->privileged)
			return _fos_error(peer, "fos.PermissionDenied",
					  "%s changes the router: it needs root or the \"fos\" "
					  "group (uid %u is neither)",
					  method, (unsigned)peer->uid);
		log_debug("ipc: %s from pid %d uid %u", method, (int)peer->pid,
			  (unsigned)peer->uid);
		return mt->fn(m, peer, params);
	}
	return _fos_error(peer, "fos.MethodNotFound", "unknown method \"%s\"", method);
}
