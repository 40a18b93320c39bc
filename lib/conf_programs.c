// SPDX-License-Identifier: GPL-2.0-only
/*
 * The config section of programs (the EBPFProgram resource): type,
 * interface, priority, the filter's settings (blacklist, whitelist,
 * stateful, actions and rules) and the checks across programs.
 */
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fos/abi.h>

#include "cleanup.h"
#include "config.h"
#include "config_reader.h"
#include "log.h"

static const char *const prog_type_names[] = {
    [FOS_PROG_XDP] = "xdp",
    [FOS_PROG_TC_INGRESS] = "tc-ingress",
    [FOS_PROG_TC_EGRESS] = "tc-egress",
};

static_assert(ARRAY_SIZE(prog_type_names) == _FOS_PROG_TYPE_MAX, "prog_type_names incomplete");

/* Program types the schema knows but fwd cannot load yet. */
static const char *const prog_types_planned[] = {
    "sockops",
    "sk_msg",
    "cgroup",
    NULL,
};

static const char *const cfg_action_names[] = {
    [FOS_CFG_PASS] = "pass",
    [FOS_CFG_DROP] = "drop",
    [FOS_CFG_REDIRECT] = "redirect",
};

static_assert(ARRAY_SIZE(cfg_action_names) == _FOS_CFG_ACTION_MAX, "cfg_action_names incomplete");

static const char *const program_keys[] = {
    "name", "description", "type", "interface", "priority", "settings", NULL,
};

/* the filter's own; the features of fos_conf_settings_exts add theirs */
static const char *const settings_keys[] = {"blacklist", "whitelist", "stateful", "actions", NULL};

static const char *const list_ref_keys[] = {"enabled", "ipSetRef", NULL};

static const char *const actions_keys[] = {"default", "defaultInterface", "rules", NULL};

static const char *const rule_keys[] = {"match", "action", "interface", NULL};

static const char *const match_keys[] = {
    "protocol", "srcCIDR", "dstCIDR", "srcPort", "dstPort", "srcPorts", "dstPorts", "state", NULL,
};

const char *fos_prog_type_to_string(enum fos_prog_type t)
{
	if ((unsigned)t >= ARRAY_SIZE(prog_type_names))
		return NULL;
	return prog_type_names[t];
}

const char *fos_cfg_action_to_string(enum fos_cfg_action a)
{
	if ((unsigned)a >= ARRAY_SIZE(cfg_action_names))
		return NULL;
	return cfg_action_names[a];
}

static void _fos_rule_done(struct fos_rule_cfg *r)
{
	_fos_source_done(&r->src);
	free(r->match.src);
	r->match.src = NULL;
	free(r->match.dst);
	r->match.dst = NULL;
}

void _fos_program_done(struct fos_program *p)
{
	_fos_source_done(&p->src);
	free(p->description);
	p->description = NULL;
	_fos_source_done(&p->blacklist.src);
	_fos_source_done(&p->whitelist.src);
	_fos_source_done(&p->ddos.rate_src);
	_fos_source_done(&p->ddos.syn_src);
	_fos_source_done(&p->ddos.icmp_src);
	_fos_source_done(&p->ddos.udp_src);
	for (size_t i = 0; i < p->n_rules; i++)
		_fos_rule_done(&p->rules[i]);
	free(p->rules);
	p->rules = NULL;
	p->n_rules = 0;
}

bool fos_config_any_stateful(const struct fos_config *c)
{
	for (size_t i = 0; c && i < c->n_programs; i++)
		if (c->programs[i].stateful)
			return true;
	return false;
}

const struct fos_program *fos_config_find_program(const struct fos_config *c, const char *name)
{
	if (!c || !name)
		return NULL;
	for (size_t i = 0; i < c->n_programs; i++)
		if (strcmp(c->programs[i].name, name) == 0)
			return &c->programs[i];
	return NULL;
}

/* One port span: 22, or "8000-8100" (or "22"). */
static bool _fos_port_span(struct fos_loader *ld, const config_setting_t *s,
			   struct fos_port_span *ret)
{
	if (_fos_is_int(s)) {
		long long v = config_setting_get_int64(s);

		if (v < 0 || v > UINT16_MAX) {
			_fos_err(ld, s, "%lld is out of range 0-65535", v);
			return false;
		}
		ret->lo = ret->hi = (uint16_t)v;
		return true;
	}
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		char err[FOS_ERRBUF] = "";
		uint16_t lo, hi;

		if (fos_parse_port_range(config_setting_get_string(s), &lo, &hi, err) < 0) {
			_fos_err(ld, s, "%s", err[0] ? err : "not a port range");
			return false;
		}
		ret->lo = lo;
		ret->hi = hi;
		return true;
	}
	_fos_err(ld, s, "expected an integer or a \"lo-hi\" string, got %s", _fos_kind(s));
	return false;
}

/* srcPort and srcPorts (or the dst pair) of one match, merged into spans[]. */
static void _fos_parse_ports(struct fos_loader *ld, const config_setting_t *match,
			     const char *one_key, const char *list_key, const char *what,
			     struct fos_port_span spans[FOS_MAX_PORT_SPANS], size_t *ret_n)
{
	const config_setting_t *one = config_setting_get_member(match, one_key);
	const config_setting_t *list = config_setting_get_member(match, list_key);
	size_t n = 0, total = 0;
	struct fos_port_span span;

	if (one) {
		total++;
		if (_fos_port_span(ld, one, &span))
			spans[n++] = span;
	}
	if (list && _fos_want_list(ld, list)) {
		int len = config_setting_length(list);

		if (len == 0)
			_fos_err(ld, list, "an empty list matches nothing");
		for (int i = 0; i < len; i++) {
			total++;
			if (_fos_port_span(ld, config_setting_get_elem(list, (unsigned)i), &span) &&
			    n < FOS_MAX_PORT_SPANS)
				spans[n++] = span;
		}
	}
	if (total > FOS_MAX_PORT_SPANS)
		_fos_err_at(ld, match, list, "%zu %s port ranges, at most %d are allowed", total,
			    what, FOS_MAX_PORT_SPANS);
	*ret_n = n;
}

/* protocol icmp with an IPv6 CIDR (or icmpv6 with an IPv4 one) never matches. */
static void _fos_check_icmp_family(struct fos_loader *ld, const config_setting_t *match,
				   const config_setting_t *s, const char *key,
				   const struct fos_cidr *v, size_t n, uint8_t protocol)
{
	char text[FOS_CIDR_STRLEN];
	const char *proto, *family;
	int bad;

	if (protocol == IPPROTO_ICMP) {
		bad = AF_INET6;
		proto = "icmp";
		family = "IPv6";
	} else if (protocol == IPPROTO_ICMPV6) {
		bad = AF_INET;
		proto = "icmpv6";
		family = "IPv4";
	} else {
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (v[i].family == bad) {
			_fos_err_at(ld, match, s, "protocol \"%s\" never matches the %s %s \"%s\"",
				    proto, family, key,
				    fos_cidr_to_string(&v[i], text, sizeof(text)) ?: "?");
			return;
		}
}

static bool _fos_ct_class(struct fos_loader *ld, const config_setting_t *s, uint8_t *bits)
{
	size_t i;

	if (!_fos_choice(ld, s, ct_class_names, ARRAY_SIZE(ct_class_names), "state", &i))
		return false;
	*bits |= (uint8_t)(1U << i);
	return true;
}

/* state: one name, or a non-empty list of them; *ret is written only if
 * every name is known. */
static bool _fos_parse_state(struct fos_loader *ld, const config_setting_t *s, uint8_t *ret)
{
	uint8_t bits = 0;
	bool ok = true;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		ok = _fos_ct_class(ld, s, &bits);
	} else if (config_setting_is_list(s) || config_setting_is_array(s)) {
		int len = config_setting_length(s);

		if (len == 0) {
			_fos_err(ld, s, "an empty list matches nothing");
			return false;
		}
		for (int i = 0; i < len; i++)
			if (!_fos_ct_class(ld, config_setting_get_elem(s, (unsigned)i), &bits))
				ok = false;
	} else {
		_fos_err(ld, s, "expected a string or a list of strings, got %s", _fos_kind(s));
		return false;
	}
	if (ok)
		*ret = bits;
	return ok;
}

static int _fos_parse_match(struct fos_loader *ld, const config_setting_t *g, struct fos_match *m)
{
	static const char *const port_keys[] = {"srcPort", "srcPorts", "dstPort", "dstPorts"};
	const config_setting_t *s, *src_s, *dst_s;
	bool proto_ok = true;
	int r;

	_fos_check_keys(ld, g, match_keys);

	s = config_setting_get_member(g, "protocol");
	if (s) {
		const char *v = _fos_string(ld, s);
		char err[FOS_ERRBUF] = "";

		if (!v) {
			proto_ok = false;
		} else if (fos_parse_protocol(v, &m->protocol, err) < 0) {
			_fos_err(ld, s, "%s", err[0] ? err : "not a protocol");
			proto_ok = false;
		}
	}

	src_s = config_setting_get_member(g, "srcCIDR");
	if (src_s) {
		r = _fos_parse_cidrs(ld, src_s, &m->src, &m->n_src);
		if (r < 0)
			return r;
	}
	dst_s = config_setting_get_member(g, "dstCIDR");
	if (dst_s) {
		r = _fos_parse_cidrs(ld, dst_s, &m->dst, &m->n_dst);
		if (r < 0)
			return r;
	}

	_fos_parse_ports(ld, g, "srcPort", "srcPorts", "source", m->sport, &m->n_sport);
	_fos_parse_ports(ld, g, "dstPort", "dstPorts", "destination", m->dport, &m->n_dport);

	s = config_setting_get_member(g, "state");
	if (s)
		_fos_parse_state(ld, s, &m->state);

	if (proto_ok) {
		if (m->protocol != IPPROTO_TCP && m->protocol != IPPROTO_UDP)
			for (size_t i = 0; i < ARRAY_SIZE(port_keys); i++) {
				s = config_setting_get_member(g, port_keys[i]);
				if (s)
					_fos_err_at(ld, g, s,
						    "%s needs protocol \"tcp\" or \"udp\"",
						    port_keys[i]);
			}
		if (src_s)
			_fos_check_icmp_family(ld, g, src_s, "srcCIDR", m->src, m->n_src,
					       m->protocol);
		if (dst_s)
			_fos_check_icmp_family(ld, g, dst_s, "dstCIDR", m->dst, m->n_dst,
					       m->protocol);
	}

	if (m->n_src > 0 && m->n_dst > 0) {
		unsigned fs = _fos_cidrs_families(m->src, m->n_src);
		unsigned fd = _fos_cidrs_families(m->dst, m->n_dst);

		if ((fs & fd) == 0)
			_fos_err_at(ld, g, dst_s,
				    "srcCIDR is only %s and dstCIDR only %s: the rule could never "
				    "match",
				    fs == 1 ? "IPv4" : "IPv6", fd == 1 ? "IPv4" : "IPv6");
	}
	return 0;
}

/* ---- programs ------------------------------------------------------------ */
static bool _fos_action(struct fos_loader *ld, const config_setting_t *s, enum fos_cfg_action *ret)
{
	size_t i;

	if (!_fos_choice(ld, s, cfg_action_names, ARRAY_SIZE(cfg_action_names), "action", &i))
		return false;
	*ret = (enum fos_cfg_action)i;
	return true;
}

bool _fos_prog_is_tc(enum fos_prog_type t)
{
	return t == FOS_PROG_TC_INGRESS || t == FOS_PROG_TC_EGRESS;
}

static void _fos_prog_type(struct fos_loader *ld, const config_setting_t *s,
			   enum fos_prog_type *ret)
{
	const char *v = _fos_string(ld, s);
	char supported[64], planned[128];

	if (!v)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(prog_type_names); i++)
		if (strcmp(v, prog_type_names[i]) == 0) {
			*ret = (enum fos_prog_type)i;
			return;
		}

	_fos_strv_join(prog_type_names, ARRAY_SIZE(prog_type_names), supported, sizeof(supported));
	if (_fos_strv_contains(prog_types_planned, v))
		_fos_err(ld, s, "type \"%s\" is not supported yet (supported: %s)", v, supported);
	else
		_fos_err(ld, s, "unknown type \"%s\" (valid: %s, %s)", v, supported,
			 _fos_strv_join(prog_types_planned, SIZE_MAX, planned, sizeof(planned)));
}

/*
 * A state condition s (that parsed to state) against its program: a stateful
 * program passes established and related packets before its rules, so only
 * new packets reach them, and invalid ones if conntrack.invalid is "rules"
 * (known only once every file is read). stateful_known is false if
 * settings.stateful was wrong.
 */
static int _fos_check_state(struct fos_loader *ld, const config_setting_t *s,
			    const struct fos_program *p, bool stateful_known, uint8_t state)
{
	const unsigned passed = 1U << FOS_CT_ESTABLISHED | 1U << FOS_CT_RELATED;
	struct fos_where *v;

	if (!p->stateful) {
		if (stateful_known)
			_fos_err(ld, s, "a state condition needs settings.stateful = true");
		return 0;
	}
	if ((state & ~passed) == 0) {
		_fos_err(ld, s,
			 "a rule for established or related packets never matches: a stateful "
			 "program passes them before the rules");
		return 0;
	}
	if (state & 1U << FOS_CT_NEW)
		return 0;

	v = reallocarray(ld->invalid_states, ld->n_invalid_states + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	ld->invalid_states = v;
	v[ld->n_invalid_states] = (struct fos_where){};
	ld->n_invalid_states++;
	return _fos_where_set(ld, s, s, &v[ld->n_invalid_states - 1]);
}

static int _fos_parse_rule(struct fos_loader *ld, const config_setting_t *g,
			   const struct fos_program *p, bool stateful_known,
			   struct fos_rule_cfg *rule)
{
	const config_setting_t *m, *a, *i;
	bool action_ok = false;
	int r;

	_fos_check_keys(ld, g, rule_keys);
	r = _fos_source_set(ld, g, &rule->src);
	if (r < 0)
		return r;

	m = _fos_required(ld, g, "match");
	if (m && _fos_want_group(ld, m)) {
		r = _fos_parse_match(ld, m, &rule->match);
		if (r < 0)
			return r;
		if (rule->match.state != 0) {
			r = _fos_check_state(ld, config_setting_get_member(m, "state"), p,
					     stateful_known, rule->match.state);
			if (r < 0)
				return r;
		}
	}

	a = _fos_required(ld, g, "action");
	if (a)
		action_ok = _fos_action(ld, a, &rule->action);

	i = config_setting_get_member(g, "interface");
	if (i)
		_fos_ifname(ld, i, rule->interface);

	if (action_ok && rule->action == FOS_CFG_REDIRECT && !i)
		_fos_err_at(ld, g, a, "action \"redirect\" needs an interface");
	if (action_ok && rule->action != FOS_CFG_REDIRECT && i)
		_fos_err_at(ld, g, i, "interface is only valid with action \"redirect\"");
	return 0;
}

static int _fos_parse_actions(struct fos_loader *ld, const config_setting_t *g,
			      struct fos_program *p, bool stateful_known)
{
	const config_setting_t *def, *def_if, *rules;
	bool def_ok = true;
	int r;

	if (!_fos_want_group(ld, g))
		return 0;
	_fos_check_keys(ld, g, actions_keys);

	def = config_setting_get_member(g, "default");
	if (def)
		def_ok = _fos_action(ld, def, &p->default_action);
	def_if = config_setting_get_member(g, "defaultInterface");
	if (def_if)
		_fos_ifname(ld, def_if, p->default_interface);
	if (def_ok && p->default_action == FOS_CFG_REDIRECT && !def_if)
		_fos_err_at(ld, g, def, "default \"redirect\" needs a defaultInterface");
	if (def_ok && p->default_action != FOS_CFG_REDIRECT && def_if)
		_fos_err_at(ld, g, def_if,
			    "defaultInterface is only valid with default \"redirect\"");

	rules = config_setting_get_member(g, "rules");
	if (rules && _fos_want_list(ld, rules)) {
		int n = config_setting_length(rules);

		if (n > (int)FOS_MAX_RULES)
			_fos_err(ld, rules, "%d rules, at most %u are allowed", n, FOS_MAX_RULES);
		if (n > 0) {
			p->rules = calloc((size_t)n, sizeof(*p->rules));
			if (!p->rules)
				return -ENOMEM;
		}
		for (int i = 0; i < n; i++) {
			const config_setting_t *rg = config_setting_get_elem(rules, (unsigned)i);

			if (!_fos_want_group(ld, rg))
				continue;
			/* Counted before parsing, so a half-built rule is freed too. */
			r = _fos_parse_rule(ld, rg, p, stateful_known, &p->rules[p->n_rules++]);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int _fos_parse_list_ref(struct fos_loader *ld, const config_setting_t *g,
			       struct fos_list_ref *ref)
{
	const config_setting_t *enabled_s, *ref_s;
	struct fos_pending_ref *refs;
	char path[FOS_SETTING_PATH_MAX];
	const char *v;
	int r;

	if (!_fos_want_group(ld, g))
		return 0;
	_fos_check_keys(ld, g, list_ref_keys);

	enabled_s = config_setting_get_member(g, "enabled");
	if (enabled_s)
		_fos_bool(ld, enabled_s, &ref->enabled);

	ref_s = config_setting_get_member(g, "ipSetRef");
	r = _fos_source_set(ld, ref_s ?: g, &ref->src);
	if (r < 0)
		return r;
	if (ref->enabled && !ref_s)
		_fos_err_at(ld, g, enabled_s, "enabled = true needs an ipSetRef");
	if (!ref_s || !(v = _fos_string(ld, ref_s)))
		return 0;

	if (strlen(v) < sizeof(ref->set))
		strcpy(ref->set, v);

	refs = reallocarray(ld->refs, ld->n_refs + 1, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	ld->refs = refs;
	refs[ld->n_refs] = (struct fos_pending_ref){
	    .path = strdup(_fos_setting_path(g, path, sizeof(path))),
	    .file = strdup(_fos_setting_file(ld, ref_s)),
	    .line = config_setting_source_line(ref_s),
	    .set = strdup(v),
	};
	ld->n_refs++;
	if (!refs[ld->n_refs - 1].path || !refs[ld->n_refs - 1].file || !refs[ld->n_refs - 1].set)
		return -ENOMEM;
	return 0;
}

static int _fos_parse_settings(struct fos_loader *ld, const config_setting_t *g,
			       struct fos_program *p)
{
	struct fos_settings_ctx ctx = {.p = p, .blacklist_known = true};
	const char *keys[64];
	const config_setting_t *s;
	bool stateful_known = true;
	size_t n = 0;
	int r;

	if (!_fos_want_group(ld, g))
		return 0;
	for (size_t i = 0; settings_keys[i]; i++)
		keys[n++] = settings_keys[i];
	for (size_t e = 0; fos_conf_settings_exts[e]; e++)
		for (size_t i = 0; fos_conf_settings_exts[e]->keys[i] && n + 1 < ARRAY_SIZE(keys);
		     i++)
			keys[n++] = fos_conf_settings_exts[e]->keys[i];
	keys[n] = NULL;
	_fos_check_keys(ld, g, keys);

	/* before the rules, whose state conditions need it */
	s = config_setting_get_member(g, "stateful");
	if (s)
		stateful_known = _fos_bool(ld, s, &p->stateful);

	s = config_setting_get_member(g, "blacklist");
	if (s) {
		unsigned failed = ld->n_failed;

		r = _fos_parse_list_ref(ld, s, &p->blacklist);
		if (r < 0)
			return r;
		ctx.blacklist_known = ld->n_failed == failed;
		ctx.blacklist_ok =
		    p->blacklist.enabled && config_setting_get_member(s, "ipSetRef") != NULL;
	}
	s = config_setting_get_member(g, "whitelist");
	if (s) {
		r = _fos_parse_list_ref(ld, s, &p->whitelist);
		if (r < 0)
			return r;
	}

	/* after stateful and the blacklist, which their settings depend on */
	ctx.stateful_given = config_setting_get_member(g, "stateful") != NULL;
	ctx.stateful_known = stateful_known;
	for (size_t e = 0; fos_conf_settings_exts[e]; e++) {
		r = fos_conf_settings_exts[e]->parse(ld, g, &ctx);
		if (r < 0)
			return r;
	}

	s = config_setting_get_member(g, "actions");
	if (s) {
		r = _fos_parse_actions(ld, s, p, stateful_known);
		if (r < 0)
			return r;
	}
	return 0;
}

static int _fos_parse_program(struct fos_loader *ld, const config_setting_t *g)
{
	_cleanup_(_fos_program_done) struct fos_program p = {
	    .type = FOS_PROG_XDP,
	    .priority = FOS_PRIORITY_DEFAULT,
	    .ddos =
		{
		    .v6_plen = FOS_DDOS_DEFAULT_V6_PLEN,
		    .syn_hold = FOS_DDOS_DEFAULT_SYN_HOLD,
		    .syn_auth_timeout = FOS_DDOS_DEFAULT_AUTH_TIMEOUT,
		},
	    .default_action = FOS_CFG_PASS,
	};
	_cleanup_(_fos_program_where_done) struct fos_program_where where = {};
	const config_setting_t *name_s, *prio_s, *settings_s, *s;
	struct fos_program_where *wv;
	struct fos_program *progs;
	long long prio;
	bool named;
	int r;

	_fos_check_keys(ld, g, program_keys);
	name_s = _fos_required(ld, g, "name");
	named = name_s && _fos_name(ld, name_s, p.name);
	if (named && strchr(p.name, '.')) {
		/* a program is pinned in a directory of its name */
		_fos_err(ld, name_s,
			 "a program name may not contain \".\" (the BPF filesystem "
			 "refuses it): \"%s\"",
			 p.name);
		named = false;
	}
	r = _fos_source_set(ld, name_s ?: g, &p.src);
	if (r < 0)
		return r;

	s = config_setting_get_member(g, "description");
	if (s) {
		const char *v = _fos_string(ld, s);

		if (v) {
			p.description = strdup(v);
			if (!p.description)
				return -ENOMEM;
		}
	}

	s = _fos_required(ld, g, "type");
	if (s)
		_fos_prog_type(ld, s, &p.type);

	s = _fos_required(ld, g, "interface");
	if (s)
		_fos_ifname(ld, s, p.interface);

	prio_s = config_setting_get_member(g, "priority");
	if (prio_s && _fos_int(ld, prio_s, _fos_prog_is_tc(p.type) ? FOS_TC_PRIORITY_MIN : 0,
			       FOS_PRIORITY_MAX, &prio))
		p.priority = (int)prio;

	settings_s = config_setting_get_member(g, "settings");
	if (settings_s) {
		r = _fos_parse_settings(ld, settings_s, &p);
		if (r < 0)
			return r;
	}

	if (named) {
		const struct fos_program *other = fos_config_find_program(ld->cfg, p.name);

		if (other)
			_fos_err(ld, name_s, "program \"%s\" is already defined at %s:%d", p.name,
				 other->src.file, other->src.line);
	}

	r = _fos_where_set(ld, prio_s ?: g, prio_s ?: name_s ?: g, &where.priority);
	if (r < 0)
		return r;
	if (p.stateful && !p.stateful_implied) {
		s = config_setting_get_member(settings_s, "stateful");
		r = _fos_where_set(ld, s, s, &where.stateful);
		if (r < 0)
			return r;
	}

	wv = reallocarray(ld->programs, ld->n_programs + 1, sizeof(*wv));
	if (!wv)
		return -ENOMEM;
	ld->programs = wv;
	progs = reallocarray(ld->cfg->programs, ld->cfg->n_programs + 1, sizeof(*progs));
	if (!progs)
		return -ENOMEM;
	ld->cfg->programs = progs;
	progs[ld->cfg->n_programs++] = p;
	p = (struct fos_program){};
	wv[ld->n_programs++] = where;
	where = (struct fos_program_where){};
	return 0;
}

static void _fos_resolve_refs(struct fos_loader *ld)
{
	for (size_t i = 0; i < ld->n_refs; i++) {
		const struct fos_pending_ref *ref = &ld->refs[i];

		if (fos_config_find_set(ld->cfg, ref->set))
			continue;
		fos_errors_add(ld->errs, ref->file, ref->line, "%s: ipSetRef \"%s\": no such ipSet",
			       ref->path, ref->set);
		ld->n_failed++;
	}
}

/* A state condition without "new" matches only if invalid packets reach the
 * rules. */
static void _fos_check_invalid_states(struct fos_loader *ld)
{
	uint8_t invalid = ld->cfg->conntrack.invalid;

	if (invalid == FOS_CT_INVALID_RULES || ld->conntrack_invalid_bad)
		return;
	for (size_t i = 0; i < ld->n_invalid_states; i++)
		_fos_err_where(ld, &ld->invalid_states[i],
			       "a rule for invalid packets never matches unless conntrack.invalid "
			       "= \"rules\" (it is \"%s\")",
			       fos_ct_invalid_to_string(invalid));
}

static const char *_fos_tc_direction(enum fos_prog_type t)
{
	return t == FOS_PROG_TC_INGRESS ? "ingress" : "egress";
}

static enum fos_prog_type _fos_tc_other(enum fos_prog_type t)
{
	return t == FOS_PROG_TC_INGRESS ? FOS_PROG_TC_EGRESS : FOS_PROG_TC_INGRESS;
}

bool _fos_tc_stateful_on(const struct fos_config *c, const char *ifname, enum fos_prog_type t)
{
	for (size_t i = 0; i < c->n_programs; i++)
		if (c->programs[i].type == t && c->programs[i].stateful &&
		    strcmp(c->programs[i].interface, ifname) == 0)
			return true;
	return false;
}

/* p's conntrack tracker: on the other direction of its interface, at its
 * priority, unless a stateful program of its own runs there. */
static bool _fos_tc_has_tracker(const struct fos_config *c, const struct fos_program *p)
{
	return p->stateful && !_fos_tc_stateful_on(c, p->interface, _fos_tc_other(p->type));
}

/*
 * The tc filters the TC programs need, one per interface, direction and
 * priority: each program's own, and the tracker of each stateful one. A
 * conflict is reported at the later program, naming the earlier.
 */
static void _fos_check_tc(struct fos_loader *ld)
{
	static const char tracker[] = "the conntrack tracker of the stateful program ";
	const struct fos_config *c = ld->cfg;

	for (size_t j = 0; j < c->n_programs; j++) {
		const struct fos_program *b = &c->programs[j];
		const struct fos_program_where *bw = &ld->programs[j];

		if (!_fos_prog_is_tc(b->type) || b->interface[0] == '\0')
			continue;
		for (size_t i = 0; i < j; i++) {
			const struct fos_program *a = &c->programs[i];
			bool a_tracks, b_tracks;

			if (!_fos_prog_is_tc(a->type) || strcmp(a->interface, b->interface) != 0)
				continue;

			if (a->type == b->type && a->stateful && b->stateful)
				_fos_err_where(
				    ld, &bw->stateful,
				    "\"%s\" and \"%s\" (%s:%d) are both stateful %s "
				    "programs on %s; at most one is allowed per interface "
				    "and direction",
				    b->name, a->name, a->src.file, a->src.line,
				    fos_prog_type_to_string(b->type), b->interface);
			if (a->priority != b->priority)
				continue;
			/* on other directions, only a tracker meets the other program */
			a_tracks = a->type != b->type && _fos_tc_has_tracker(c, a);
			b_tracks = a->type != b->type && _fos_tc_has_tracker(c, b);
			if (a->type != b->type && !a_tracks && !b_tracks)
				continue;
			_fos_err_where(ld, &bw->priority,
				       "%s\"%s\" and %s\"%s\" (%s:%d) would both use the tc filter "
				       "at %s %s priority %d; give one of them another priority",
				       b_tracks ? tracker : "program ", b->name,
				       a_tracks ? tracker : "program ", a->name, a->src.file,
				       a->src.line, b->interface,
				       _fos_tc_direction(b_tracks ? a->type : b->type),
				       b->priority);
		}
	}
}

/* ---- interfaces ---------------------------------------------------------- */
static bool _fos_same_file(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) == 0 : a == b;
}

int fos_config_check_interfaces(const struct fos_config *c, unsigned (*resolve)(const char *),
				struct fos_errors *errs)
{
	size_t first = 0;
	bool failed = false;

	assert(c);

	if (!resolve)
		resolve = if_nametoindex;

	for (size_t i = 0; i < c->n_programs; i++) {
		const struct fos_program *p = &c->programs[i];
		size_t idx;

		/* Messages count programs within their own file, as loading does:
		 * each file's programs are contiguous and in order. */
		if (i > 0 && !_fos_same_file(p->src.file, c->programs[i - 1].src.file))
			first = i;
		idx = i - first;

		if (resolve(p->interface) == 0) {
			fos_errors_add(errs, p->src.file, p->src.line,
				       "programs[%zu].interface: no such interface \"%s\"", idx,
				       p->interface);
			failed = true;
		}
		if (p->default_action == FOS_CFG_REDIRECT && resolve(p->default_interface) == 0) {
			fos_errors_add(errs, p->src.file, p->src.line,
				       "programs[%zu].settings.actions.defaultInterface: no such "
				       "interface \"%s\"",
				       idx, p->default_interface);
			failed = true;
		}
		for (size_t j = 0; j < p->n_rules; j++) {
			const struct fos_rule_cfg *rule = &p->rules[j];

			if (rule->action != FOS_CFG_REDIRECT || resolve(rule->interface) != 0)
				continue;
			fos_errors_add(
			    errs, rule->src.file, rule->src.line,
			    "programs[%zu].settings.actions.rules[%zu].interface: no such "
			    "interface \"%s\"",
			    idx, j, rule->interface);
			failed = true;
		}
	}
	return failed ? -EINVAL : 0;
}

static int _fos_programs_check(struct fos_loader *ld)
{
	_fos_resolve_refs(ld);
	_fos_check_invalid_states(ld);
	_fos_check_tc(ld);
	return 0;
}

static void _fos_programs_done(struct fos_config *c)
{
	for (size_t i = 0; i < c->n_programs; i++)
		_fos_program_done(&c->programs[i]);
	free(c->programs);
	c->programs = NULL;
	c->n_programs = 0;
}

const struct fos_conf_section fos_conf_programs = {
    .key = "programs",
    .list = true,
    .parse = _fos_parse_program,
    .check = _fos_programs_check,
    .done = _fos_programs_done,
};
