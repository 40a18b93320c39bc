// SPDX-License-Identifier: GPL-2.0-only
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fos/abi.h"
#include "cleanup.h"
#include "output.h"
#include "parse.h"
#include "print.h"

static const struct fosctl_column fosctl_kv_columns[] = {{"KEY", false}, {"VALUE", false}};

#define FOSCTL_TIME_STRLEN 64

static void _fosctl_kv_init(struct fosctl_table *t)
{
	fosctl_table_init(t, fosctl_kv_columns, ARRAY_SIZE(fosctl_kv_columns), false);
}

/* A "key: value" row with the value at path in o. */
static void _fosctl_kv(struct fosctl_table *t, const char *key, json_object *o, const char *path)
{
	fosctl_table_add(t, "%s:", key);
	fosctl_table_add_value(t, fosctl_json_get(o, path));
}

static void _fosctl_kv_time(struct fosctl_table *t, const char *key, json_object *o,
			    const char *path)
{
	char buf[FOSCTL_TIME_STRLEN];

	fosctl_table_add(t, "%s:", key);
	fosctl_table_add(t, "%s", fosctl_format_time(fosctl_json_get(o, path), buf, sizeof(buf)));
}

/* A count: the length of an array, or the number itself. */
static void _fosctl_add_count(struct fosctl_table *t, json_object *v)
{
	if (json_object_is_type(v, json_type_array))
		fosctl_table_add(t, "%zu", json_object_array_length(v));
	else
		fosctl_table_add_value(t, v);
}

static const char *_fosctl_str(json_object *o, const char *path)
{
	json_object *v = fosctl_json_get(o, path);

	return v && !json_object_is_type(v, json_type_null) ? json_object_get_string(v) : NULL;
}

static bool _fosctl_bool(json_object *o, const char *path)
{
	return json_object_get_boolean(fosctl_json_get(o, path));
}

/* A reply value as text; a missing or null value never reaches printf. */
static const char *_fosctl_text(json_object *v)
{
	const char *r = v ? json_object_get_string(v) : NULL;

	return r ? r : "-";
}

/* Whether the value at path is there and not null. */
static bool _fosctl_has(json_object *o, const char *path)
{
	return fosctl_json_get(o, path) != NULL;
}

#define FOSCTL_PROTO_STRLEN 24

/* An IP protocol by name where it has one: 6 and "tcp" are "tcp", 47 "47". */
static const char *_fosctl_proto(json_object *v, char *buf, size_t len)
{
	const char *name;

	if (!json_object_is_type(v, json_type_int))
		return _fosctl_text(v);
	if (json_object_get_int64(v) >= 0 && json_object_get_int64(v) <= UINT8_MAX) {
		name = fos_protocol_to_string((uint8_t)json_object_get_int64(v));
		if (name)
			return name;
	}
	snprintf(buf, len, "%" PRId64, json_object_get_int64(v));
	return buf;
}

static int _fosctl_print_table(struct fosctl_table *t)
{
	return fosctl_table_print(t, stdout);
}

static bool _fosctl_is_number(json_object *v)
{
	return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

/* Seconds as "5m0s"; anything but a number as its text. */
static const char *_fosctl_seconds(json_object *v, char *buf, size_t len)
{
	if (!_fosctl_is_number(v))
		return _fosctl_text(v);
	if (json_object_get_double(v) < 0)
		return _fosctl_text(v);
	return fosctl_format_duration((uint64_t)json_object_get_double(v), buf, len);
}

/* Text built piece by piece, ", " between the pieces; the first failure to
 * allocate is kept in error. */
struct fosctl_list {
	char *text;
	size_t len;
	FILE *s;
	bool empty;
};

static int _fosctl_list_open(struct fosctl_list *l)
{
	*l = (struct fosctl_list){.empty = true};
	l->s = open_memstream(&l->text, &l->len);
	return l->s ? 0 : -ENOMEM;
}

__attribute__((format(printf, 2, 3))) static void _fosctl_list_add(struct fosctl_list *l,
								   const char *fmt, ...)
{
	va_list ap;

	if (!l->empty)
		fputs(", ", l->s);
	va_start(ap, fmt);
	vfprintf(l->s, fmt, ap);
	va_end(ap);
	l->empty = false;
}

/* The text, or NULL when out of memory; the caller frees it. */
static char *_fosctl_list_close(struct fosctl_list *l)
{
	if (fclose(l->s) != 0) {
		free(l->text);
		return NULL;
	}
	return l->text;
}

int fosctl_print_status(json_object *p)
{
	_cleanup_(fosctl_table_done) struct fosctl_table t = {};
	json_object *uptime = fosctl_json_get(p, "uptime"), *reload, *errors;
	char buf[FOSCTL_TIME_STRLEN];
	size_t n_errors;

	_fosctl_kv_init(&t);
	_fosctl_kv(&t, "version", p, "version");
	_fosctl_kv(&t, "pid", p, "pid");
	fosctl_table_add(&t, "uptime:");
	if (json_object_is_type(uptime, json_type_int) ||
	    json_object_is_type(uptime, json_type_double))
		fosctl_table_add(&t, "%s",
				 fosctl_format_duration((uint64_t)json_object_get_int64(uptime),
							buf, sizeof(buf)));
	else
		fosctl_table_add_value(&t, uptime);
	_fosctl_kv(&t, "config", p, "config");
	_fosctl_kv(&t, "generation", p, "generation");
	_fosctl_kv(&t, "pin dir", p, "pinDir");
	_fosctl_kv(&t, "socket", p, "socket");

	reload = fosctl_json_get(p, "lastReload");
	fosctl_table_add(&t, "last reload:");
	if (!json_object_is_type(reload, json_type_object)) {
		fosctl_table_add(&t, "never");
	} else {
		fosctl_table_add(
		    &t, "%s, %s",
		    fosctl_format_time(fosctl_json_get(reload, "time"), buf, sizeof(buf)),
		    _fosctl_bool(reload, "ok") ? "ok" : "failed");
		if (_fosctl_str(reload, "message") && *_fosctl_str(reload, "message"))
			_fosctl_kv(&t, "reload message", reload, "message");
		errors = fosctl_json_array(reload, "errors", &n_errors);
		for (size_t i = 0; i < n_errors; i++) {
			fosctl_table_add(&t, "%s", i == 0 ? "reload errors:" : "");
			fosctl_table_add_value(&t, json_object_array_get_idx(errors, i));
		}
	}
	return _fosctl_print_table(&t);
}

static const struct fosctl_column fosctl_programs_columns[] = {
    {"NAME", false},   {"TYPE", false},	    {"INTERFACE", false}, {"PRIO", true},
    {"MODE", false},   {"ATTACHED", false}, {"STATEFUL", false},  {"RULES", true},
    {"PACKETS", true}, {"DROPPED", true},
};

/* How a program is attached: the XDP mode, or "tc prio 10 handle 1" for a TC
 * program (its direction is in its type). */
static void _fosctl_add_mode(struct fosctl_table *t, json_object *prog)
{
	json_object *tc = fosctl_json_get(prog, "tc");
	json_object *prio = fosctl_json_get(tc, "priority"),
		    *handle = fosctl_json_get(tc, "handle");

	if (_fosctl_has(prog, "mode") || !json_object_is_type(tc, json_type_object)) {
		fosctl_table_add_value(t, fosctl_json_get(prog, "mode"));
		return;
	}
	fosctl_table_add(t, "tc%s%s%s%s", prio ? " prio " : "", prio ? _fosctl_text(prio) : "",
			 handle ? " handle " : "", handle ? _fosctl_text(handle) : "");
}

int fosctl_print_programs(json_object *p)
{
	_cleanup_(fosctl_table_done) struct fosctl_table t = {};
	size_t n;
	json_object *programs = fosctl_json_array(p, "programs", &n);

	fosctl_table_init(&t, fosctl_programs_columns, ARRAY_SIZE(fosctl_programs_columns), true);
	for (size_t i = 0; i < n; i++) {
		json_object *prog = json_object_array_get_idx(programs, i);

		fosctl_table_add_value(&t, fosctl_json_get(prog, "name"));
		fosctl_table_add_value(&t, fosctl_json_get(prog, "type"));
		fosctl_table_add_value(&t, fosctl_json_get(prog, "interface"));
		fosctl_table_add_value(&t, fosctl_json_get(prog, "priority"));
		_fosctl_add_mode(&t, prog);
		fosctl_table_add_value(&t, fosctl_json_get(prog, "attached"));
		fosctl_table_add_value(&t, fosctl_json_get(prog, "stateful"));
		_fosctl_add_count(&t, fosctl_json_get(prog, "rules"));
		fosctl_table_add_value(&t, fosctl_json_get(prog, "packets"));
		fosctl_table_add_value(&t, fosctl_json_get(prog, "dropped"));
	}
	return _fosctl_print_table(&t);
}

int fosctl_print_program(json_object *p)
{
	static const char *const tc_rows[][2] = {
	    {"tc direction", "direction"},
	    {"tc priority", "priority"},
	    {"tc handle", "handle"},
	    {"tracker priority", "trackerPriority"},
	};
	_cleanup_(fosctl_table_done) struct fosctl_table t = {};
	json_object *counters = fosctl_json_get(p, "counters"), *tc = fosctl_json_get(p, "tc");

	_fosctl_kv_init(&t);
	_fosctl_kv(&t, "name", p, "name");
	if (_fosctl_str(p, "description"))
		_fosctl_kv(&t, "description", p, "description");
	_fosctl_kv(&t, "type", p, "type");
	_fosctl_kv(&t, "interface", p, "interface");
	_fosctl_kv(&t, "priority", p, "priority");
	if (_fosctl_has(p, "stateful"))
		_fosctl_kv(&t, "stateful", p, "stateful");
	/* An XDP program has a mode and a link, a TC program its filter. */
	if (!json_object_is_type(tc, json_type_object))
		tc = NULL;
	if (_fosctl_has(p, "mode") || !tc)
		_fosctl_kv(&t, "mode", p, "mode");
	_fosctl_kv(&t, "prog id", p, "progId");
	if (_fosctl_has(p, "linkId") || !tc)
		_fosctl_kv(&t, "link id", p, "linkId");
	for (size_t i = 0; tc && i < ARRAY_SIZE(tc_rows); i++)
		if (_fosctl_has(tc, tc_rows[i][1]))
			_fosctl_kv(&t, tc_rows[i][0], tc, tc_rows[i][1]);
	_fosctl_kv(&t, "loaded", p, "status.loaded");
	_fosctl_kv(&t, "attached", p, "status.attached");
	_fosctl_kv(&t, "map refs", p, "status.mapRefs");
	_fosctl_kv(&t, "packets processed", p, "status.metrics.packetsProcessed");
	_fosctl_kv(&t, "packets dropped", p, "status.metrics.packetsDropped");
	_fosctl_kv(&t, "packets passed", p, "status.metrics.packetsPassed");
	_fosctl_kv(&t, "packets redirected", p, "status.metrics.packetsRedirected");
	_fosctl_kv(&t, "bytes", p, "status.metrics.bytes");
	_fosctl_kv_time(&t, "last updated", p, "status.lastUpdated");

	if (json_object_is_type(counters, json_type_object)) {
		fosctl_table_add(&t, "counters:");
		fosctl_table_add(&t, "%s", "");
		json_object_object_foreach(counters, key, value)
		{
			fosctl_table_add(&t, "  %s:", key);
			fosctl_table_add_value(&t, value);
		}
	}
	return _fosctl_print_table(&t);
}

/* One port or range: 22, "8000-8100", {"from":8000,"to":8100}, [8000, 8100]. */
static void _fosctl_port_format(json_object *v, FILE *s)
{
	static const char *const pairs[][2] = {{"from", "to"}, {"lo", "hi"}, {"start", "end"}};
	json_object *lo = NULL, *hi = NULL;

	if (json_object_is_type(v, json_type_array) && json_object_array_length(v) == 2) {
		lo = json_object_array_get_idx(v, 0);
		hi = json_object_array_get_idx(v, 1);
	} else if (json_object_is_type(v, json_type_object)) {
		for (size_t i = 0; i < ARRAY_SIZE(pairs) && !lo; i++)
			if (json_object_object_get_ex(v, pairs[i][0], &lo))
				json_object_object_get_ex(v, pairs[i][1], &hi);
	}

	if (!lo) {
		fputs(json_object_is_type(v, json_type_string) ? json_object_get_string(v)
							       : fosctl_json_compact(v),
		      s);
		return;
	}
	fputs(_fosctl_text(lo), s);
	if (hi && json_object_get_int64(hi) != json_object_get_int64(lo))
		fprintf(s, "-%s", _fosctl_text(hi));
}

static void _fosctl_match_list(json_object *match, const char *key, const char *label, bool ports,
			       FILE *s)
{
	json_object *v = fosctl_json_get(match, key);
	size_t n;

	if (!v || json_object_is_type(v, json_type_null))
		return;
	if (!json_object_is_type(v, json_type_array)) {
		fprintf(s, " %s %s", label, _fosctl_text(v));
		return;
	}
	n = json_object_array_length(v);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);

		fputs(i == 0 ? " " : ",", s);
		if (i == 0)
			fprintf(s, "%s ", label);
		if (ports)
			_fosctl_port_format(e, s);
		else
			fputs(_fosctl_text(e), s);
	}
}

char *fosctl_match_format(json_object *match)
{
	json_object *proto = fosctl_json_get(match, "protocol");
	char buf[FOSCTL_PROTO_STRLEN];
	char *text = NULL;
	size_t len = 0;
	FILE *s;

	s = open_memstream(&text, &len);
	if (!s)
		return NULL;

	if (json_object_is_type(proto, json_type_int) && json_object_get_int(proto) > 0 &&
	    json_object_get_int(proto) < 256)
		fprintf(s, " proto %s", _fosctl_proto(proto, buf, sizeof(buf)));
	else if (json_object_is_type(proto, json_type_string) &&
		 strcmp(json_object_get_string(proto), "any") != 0 &&
		 json_object_get_string_len(proto) > 0)
		fprintf(s, " proto %s", _fosctl_text(proto));
	_fosctl_match_list(match, "srcCIDR", "src", false, s);
	_fosctl_match_list(match, "dstCIDR", "dst", false, s);
	_fosctl_match_list(match, "srcPorts", "sport", true, s);
	_fosctl_match_list(match, "dstPorts", "dport", true, s);
	_fosctl_match_list(match, "state", "state", false, s);

	if (fclose(s) != 0) {
		free(text);
		return NULL;
	}
	if (len == 0) {
		free(text);
		return strdup("any");
	}
	memmove(text, text + 1, len);
	return text;
}

static void _fosctl_add_action(struct fosctl_table *t, json_object *o)
{
	const char *action = _fosctl_str(o, "action");
	const char *ifname = _fosctl_str(o, "interface");

	if (ifname && *ifname)
		fosctl_table_add(t, "%s %s", action ? action : "-", ifname);
	else
		fosctl_table_add(t, "%s", action ? action : "-");
}

static const struct fosctl_column fosctl_rules_columns[] = {
    {"INDEX", false}, {"ACTION", false}, {"MATCH", false}, {"PACKETS", true}, {"BYTES", true},
};

int fosctl_print_rules(json_object *p)
{
	size_t n;
	json_object *programs = fosctl_json_array(p, "programs", &n);

	for (size_t i = 0; i < n; i++) {
		_cleanup_(fosctl_table_done) struct fosctl_table t = {};
		json_object *prog = json_object_array_get_idx(programs, i);
		json_object *def = fosctl_json_get(prog, "default");
		size_t n_rules;
		json_object *rules = fosctl_json_array(prog, "rules", &n_rules);
		const char *name = _fosctl_str(prog, "name");
		int r;

		fosctl_table_init(&t, fosctl_rules_columns, ARRAY_SIZE(fosctl_rules_columns), true);
		for (size_t j = 0; j < n_rules; j++) {
			json_object *rule = json_object_array_get_idx(rules, j);
			char *match = fosctl_match_format(fosctl_json_get(rule, "match"));

			fosctl_table_add_value(&t, fosctl_json_get(rule, "index"));
			_fosctl_add_action(&t, rule);
			fosctl_table_add(&t, "%s", match ? match : "");
			if (!match)
				t.error = -ENOMEM;
			free(match);
			fosctl_table_add_value(&t, fosctl_json_get(rule, "packets"));
			fosctl_table_add_value(&t, fosctl_json_get(rule, "bytes"));
		}
		fosctl_table_add(&t, "default");
		_fosctl_add_action(&t, def);
		fosctl_table_add(&t, "%s", "");
		fosctl_table_add_value(&t, fosctl_json_get(def, "packets"));
		fosctl_table_add_value(&t, fosctl_json_get(def, "bytes"));

		printf("%sprogram %s:\n", i > 0 ? "\n" : "", name ? name : "-");
		r = _fosctl_print_table(&t);
		if (r < 0)
			return r;
	}
	return 0;
}

static const struct fosctl_column fosctl_sets_columns[] = {
    {"NAME", false}, {"ENTRIES", true}, {"CONFIG", true}, {"DYNAMIC", true}, {"USED-BY", false},
};

int fosctl_print_sets(json_object *p)
{
	_cleanup_(fosctl_table_done) struct fosctl_table t = {};
	size_t n;
	json_object *sets = fosctl_json_array(p, "sets", &n);

	fosctl_table_init(&t, fosctl_sets_columns, ARRAY_SIZE(fosctl_sets_columns), true);
	for (size_t i = 0; i < n; i++) {
		json_object *set = json_object_array_get_idx(sets, i);

		fosctl_table_add_value(&t, fosctl_json_get(set, "name"));
		fosctl_table_add_value(&t, fosctl_json_get(set, "entries"));
		fosctl_table_add_value(&t, fosctl_json_get(set, "configEntries"));
		fosctl_table_add_value(&t, fosctl_json_get(set, "dynamicEntries"));
		fosctl_table_add_value(&t, fosctl_json_get(set, "usedBy"));
	}
	return _fosctl_print_table(&t);
}

static const struct fosctl_column fosctl_set_columns[] = {
    {"CIDR", false},
    {"TYPE", false},
    {"EXPIRES", true},
};

/* TYPE: "config" from the configuration, "dynamic" added at run time, "auto"
 * added by a DDoS protection; EXPIRES: the time left, "-" for none. */
int fosctl_print_set(json_object *p)
{
	_cleanup_(fosctl_table_done) struct fosctl_table t = {};
	char buf[FOSCTL_TIME_STRLEN];
	size_t n;
	json_object *entries = fosctl_json_array(p, "entries", &n);

	if (n == 0)
		return 0;
	fosctl_table_init(&t, fosctl_set_columns, ARRAY_SIZE(fosctl_set_columns), true);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(entries, i);
		const char *cidr = json_object_is_type(e, json_type_string)
				       ? json_object_get_string(e)
				       : _fosctl_str(e, "cidr");

		fosctl_table_add(&t, "%s", cidr ? cidr : "-");
		fosctl_table_add(&t, "%s",
				 _fosctl_bool(e, "auto")      ? "auto"
				 : _fosctl_bool(e, "dynamic") ? "dynamic"
							      : "config");
		fosctl_table_add(&t, "%s",
				 _fosctl_seconds(fosctl_json_get(e, "expires"), buf, sizeof(buf)));
	}
	return _fosctl_print_table(&t);
}

static const struct fosctl_column fosctl_maps_columns[] = {
    {"NAME", false}, {"TYPE", false},	{"KEY", true},	 {"VALUE", true},
    {"MAX", true},   {"ENTRIES", true}, {"FILL%", true},
};

int fosctl_print_maps(json_object *p)
{
	_cleanup_(fosctl_table_done) struct fosctl_table t = {};
	size_t n;
	json_object *maps = fosctl_json_array(p, "maps", &n);

	fosctl_table_init(&t, fosctl_maps_columns, ARRAY_SIZE(fosctl_maps_columns), true);
	for (size_t i = 0; i < n; i++) {
		json_object *map = json_object_array_get_idx(maps, i);
		json_object *max = fosctl_json_get(map, "maxEntries");
		json_object *entries = fosctl_json_get(map, "entries");

		fosctl_table_add_value(&t, fosctl_json_get(map, "name"));
		fosctl_table_add_value(&t, fosctl_json_get(map, "type"));
		fosctl_table_add_value(&t, fosctl_json_get(map, "keySize"));
		fosctl_table_add_value(&t, fosctl_json_get(map, "valueSize"));
		fosctl_table_add_value(&t, max);
		fosctl_table_add_value(&t, entries);
		if (json_object_is_type(entries, json_type_int) &&
		    json_object_is_type(max, json_type_int) && json_object_get_int64(max) > 0)
			fosctl_table_add(&t, "%.1f",
					 100.0 * (double)json_object_get_int64(entries) /
					     (double)json_object_get_int64(max));
		else
			fosctl_table_add(&t, "-");
	}
	return _fosctl_print_table(&t);
}

int fosctl_print_map(json_object *p)
{
	size_t n;
	json_object *entries = fosctl_json_array(p, "entries", &n);

	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(entries, i);
		_cleanup_free_ char *key = strdup(fosctl_json_compact(fosctl_json_get(e, "key")));

		if (!key)
			return -ENOMEM;
		printf("%s => %s\n", key, fosctl_json_compact(fosctl_json_get(e, "value")));
	}
	return 0;
}

int fosctl_print_set_add(json_object *p)
{
	const char *name = _fosctl_str(p, "name"), *cidr = _fosctl_str(p, "cidr");
	json_object *expires = fosctl_json_get(p, "expires");
	char buf[FOSCTL_TIME_STRLEN];

	/* A timed entry: the time left, or else the timeout it was given. */
	if (!_fosctl_is_number(expires))
		expires = fosctl_json_get(p, "timeout");
	if (_fosctl_bool(p, "added"))
		printf("added %s to set %s", cidr ? cidr : "-", name ? name : "-");
	else
		printf("%s was already in set %s", cidr ? cidr : "-", name ? name : "-");
	if (_fosctl_is_number(expires))
		printf(", expires in %s", _fosctl_seconds(expires, buf, sizeof(buf)));
	putchar('\n');
	return 0;
}

int fosctl_print_set_del(json_object *p)
{
	const char *name = _fosctl_str(p, "name"), *cidr = _fosctl_str(p, "cidr");

	if (_fosctl_bool(p, "removed"))
		printf("removed %s from set %s\n", cidr ? cidr : "-", name ? name : "-");
	else
		printf("%s was not in set %s\n", cidr ? cidr : "-", name ? name : "-");
	return 0;
}

int fosctl_print_reload(json_object *p)
{
	const char *message = _fosctl_str(p, "message");
	const char *generation = _fosctl_str(p, "generation");

	printf("reloaded, generation %s%s%s\n", generation ? generation : "-",
	       message && *message ? ": " : "", message ? message : "");
	return 0;
}

int fosctl_print_config_check(json_object *p)
{
	json_object *programs = fosctl_json_get(p, "programs"), *sets = fosctl_json_get(p, "sets");
	const char *file = _fosctl_str(p, "file");

	printf("%s: %s", file ? file : "-", _fosctl_bool(p, "ok") ? "ok" : "not ok");
	if (programs && sets) {
		_cleanup_free_ char *np = NULL, *ns = NULL;

		if (json_object_is_type(programs, json_type_array) &&
		    asprintf(&np, "%zu", json_object_array_length(programs)) < 0)
			return -ENOMEM;
		if (json_object_is_type(sets, json_type_array) &&
		    asprintf(&ns, "%zu", json_object_array_length(sets)) < 0)
			return -ENOMEM;
		printf(" (%s programs, %s sets)", np ? np : json_object_get_string(programs),
		       ns ? ns : json_object_get_string(sets));
	}
	putchar('\n');
	return 0;
}

/* "10.0.0.1:40000", "[2001:db8::1]:53"; the address alone without a port. */
static void _fosctl_endpoint_format(json_object *addr, json_object *port, FILE *s)
{
	const char *a = _fosctl_text(addr);

	if (!port)
		fputs(a, s);
	else if (strchr(a, ':'))
		fprintf(s, "[%s]:%s", a, _fosctl_text(port));
	else
		fprintf(s, "%s:%s", a, _fosctl_text(port));
}

/* "src:sport -> dst:dport", with " id=N" for an ICMP echo flow. */
static char *_fosctl_flow_format(json_object *e)
{
	json_object *id = fosctl_json_get(e, "icmpId");
	char *text = NULL;
	size_t len = 0;
	FILE *s;

	s = open_memstream(&text, &len);
	if (!s)
		return NULL;
	_fosctl_endpoint_format(fosctl_json_get(e, "src"), fosctl_json_get(e, "sport"), s);
	fputs(" -> ", s);
	_fosctl_endpoint_format(fosctl_json_get(e, "dst"), fosctl_json_get(e, "dport"), s);
	if (id)
		fprintf(s, " id=%s", _fosctl_text(id));
	if (fclose(s) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* A {orig, reply} pair as "orig/reply". */
static void _fosctl_add_directions(struct fosctl_table *t, json_object *e, const char *key)
{
	json_object *v = fosctl_json_get(e, key);

	fosctl_table_add(t, "%s/%s", _fosctl_text(fosctl_json_get(v, "orig")),
			 _fosctl_text(fosctl_json_get(v, "reply")));
}

static const struct fosctl_column fosctl_conntrack_columns[] = {
    {"PROTO", false},  {"STATE", false},  {"FLOW", false}, {"ZONE", true},
    {"TIMEOUT", true}, {"PACKETS", true}, {"BYTES", true}, {"INTERFACE", false},
};

int fosctl_print_conntrack(json_object *p)
{
	_cleanup_(fosctl_table_done) struct fosctl_table t = {};
	char buf[FOSCTL_PROTO_STRLEN];
	size_t n;
	json_object *entries = fosctl_json_array(p, "entries", &n);
	int r;

	if (!entries)
		return -EBADMSG;

	fosctl_table_init(&t, fosctl_conntrack_columns, ARRAY_SIZE(fosctl_conntrack_columns), true);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(entries, i);
		json_object *timeout = fosctl_json_get(e, "timeout");
		char *flow = _fosctl_flow_format(e);

		fosctl_table_add(&t, "%s",
				 _fosctl_proto(fosctl_json_get(e, "proto"), buf, sizeof(buf)));
		fosctl_table_add_value(&t, fosctl_json_get(e, "state"));
		fosctl_table_add(&t, "%s", flow ? flow : "");
		if (!flow)
			t.error = -ENOMEM;
		free(flow);
		fosctl_table_add_value(&t, fosctl_json_get(e, "zone"));
		/* 0: expired, the collector has not removed it yet */
		if (json_object_is_type(timeout, json_type_int) &&
		    json_object_get_int64(timeout) == 0)
			fosctl_table_add(&t, "expired");
		else
			fosctl_table_add_value(&t, timeout);
		_fosctl_add_directions(&t, e, "packets");
		_fosctl_add_directions(&t, e, "bytes");
		fosctl_table_add_value(&t, fosctl_json_get(e, "interface"));
	}
	if (n > 0) {
		r = _fosctl_print_table(&t);
		if (r < 0)
			return r;
	}
	printf("%zu flow%s shown (%s matched, %s scanned)\n", n, n == 1 ? "" : "s",
	       _fosctl_text(fosctl_json_get(p, "matched")),
	       _fosctl_text(fosctl_json_get(p, "scanned")));
	return 0;
}

/* "key: value unit", the unit only after a number. */
static void _fosctl_kv_unit(struct fosctl_table *t, const char *key, json_object *o,
			    const char *path, const char *unit)
{
	json_object *v = fosctl_json_get(o, path);

	fosctl_table_add(t, "%s:", key);
	if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
		fosctl_table_add(t, "%s%s", json_object_get_string(v), unit);
	else
		fosctl_table_add_value(t, v);
}

/* "1200 (established 1000, syn_sent 150)": entries and their states. */
static void _fosctl_add_states(struct fosctl_table *t, json_object *proto)
{
	json_object *states = fosctl_json_get(proto, "states");
	char *text = NULL;
	size_t len = 0;
	bool first = true;
	FILE *s;

	s = open_memstream(&text, &len);
	if (!s) {
		t->error = -ENOMEM;
		return;
	}
	fputs(_fosctl_text(fosctl_json_get(proto, "entries")), s);
	if (json_object_is_type(states, json_type_object)) {
		json_object_object_foreach(states, state, count)
		{
			fprintf(s, "%s%s %s", first ? " (" : ", ", state, _fosctl_text(count));
			first = false;
		}
		if (!first)
			fputc(')', s);
	}
	if (fclose(s) != 0) {
		free(text);
		t->error = -ENOMEM;
		return;
	}
	fosctl_table_add(t, "%s", text);
	free(text);
}

int fosctl_print_conntrack_summary(json_object *p)
{
	_cleanup_(fosctl_table_done) struct fosctl_table t = {};
	json_object *timeouts = fosctl_json_get(p, "timeouts"), *gc = fosctl_json_get(p, "gc");
	json_object *last = fosctl_json_get(gc, "lastRunAt"), *runs = fosctl_json_get(gc, "runs");
	char buf[FOSCTL_TIME_STRLEN];
	size_t n;
	json_object *protocols = fosctl_json_array(p, "protocols", &n);

	_fosctl_kv_init(&t);
	_fosctl_kv(&t, "max connections", p, "maxConnections");
	_fosctl_kv(&t, "capacity", p, "capacity");
	_fosctl_kv(&t, "entries", p, "entries");
	fosctl_table_add(&t, "fill:");
	if (json_object_is_type(fosctl_json_get(p, "fill"), json_type_int) ||
	    json_object_is_type(fosctl_json_get(p, "fill"), json_type_double))
		fosctl_table_add(&t, "%.1f%%", json_object_get_double(fosctl_json_get(p, "fill")));
	else
		fosctl_table_add_value(&t, fosctl_json_get(p, "fill"));
	_fosctl_kv(&t, "created", p, "created");
	_fosctl_kv(&t, "insert failures", p, "insertFailures");
	_fosctl_kv(&t, "reopened", p, "reopened");
	_fosctl_kv(&t, "invalid policy", p, "invalid");

	fosctl_table_add(&t, "timeouts:");
	if (json_object_is_type(timeouts, json_type_object)) {
		fosctl_table_add(&t, "%s", "");
		json_object_object_foreach(timeouts, key, value)
		{
			fosctl_table_add(&t, "  %s:", key);
			if (json_object_is_type(value, json_type_int))
				fosctl_table_add(&t, "%ss", json_object_get_string(value));
			else
				fosctl_table_add_value(&t, value);
		}
	} else {
		fosctl_table_add_value(&t, timeouts);
	}

	fosctl_table_add(&t, "gc:");
	fosctl_table_add(&t, "%s", json_object_is_type(gc, json_type_object) ? "" : "-");
	_fosctl_kv(&t, "  runs", gc, "runs");
	_fosctl_kv(&t, "  removed", gc, "removed");
	fosctl_table_add(&t, "  last run:");
	if ((json_object_is_type(runs, json_type_int) && json_object_get_int64(runs) == 0) ||
	    (json_object_is_type(last, json_type_int) && json_object_get_int64(last) == 0))
		fosctl_table_add(&t, "never");
	else if (!last)
		fosctl_table_add(&t, "-");
	else if (_fosctl_has(gc, "lastRunMs"))
		fosctl_table_add(&t, "%s, took %s ms", fosctl_format_time(last, buf, sizeof(buf)),
				 _fosctl_text(fosctl_json_get(gc, "lastRunMs")));
	else
		fosctl_table_add(&t, "%s", fosctl_format_time(last, buf, sizeof(buf)));
	_fosctl_kv_unit(&t, "  max step", gc, "maxStepMs", " ms");
	_fosctl_kv_unit(&t, "  interval", gc, "intervalMs", " ms");

	if (protocols) {
		fosctl_table_add(&t, "protocols:");
		fosctl_table_add(&t, "%s", n == 0 ? "-" : "");
	}
	for (size_t i = 0; i < n; i++) {
		json_object *proto = json_object_array_get_idx(protocols, i);
		char pbuf[FOSCTL_PROTO_STRLEN];

		fosctl_table_add(
		    &t,
		    "  %s:", _fosctl_proto(fosctl_json_get(proto, "proto"), pbuf, sizeof(pbuf)));
		_fosctl_add_states(&t, proto);
	}
	return _fosctl_print_table(&t);
}

int fosctl_print_conntrack_clear(json_object *p)
{
	json_object *removed = fosctl_json_get(p, "removed");

	if (!json_object_is_type(removed, json_type_int))
		return -EBADMSG;
	printf("removed %" PRId64 " entr%s\n", json_object_get_int64(removed),
	       json_object_get_int64(removed) == 1 ? "y" : "ies");
	return 0;
}

static void _fosctl_print_error(json_object *reply)
{
	json_object *params = fosctl_json_get(reply, "parameters"), *errors;
	const char *message = _fosctl_str(params, "message");
	size_t n;

	fprintf(stderr, "fosctl: %s\n",
		message && *message ? message
				    : json_object_get_string(fosctl_json_get(reply, "error")));
	errors = fosctl_json_array(params, "errors", &n);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s\n",
			json_object_get_string(json_object_array_get_idx(errors, i)));
}

int fosctl_print_reply(const struct fosctl *f, const struct fosctl_command *cmd, json_object *reply)
{
	json_object *params = fosctl_json_get(reply, "parameters");
	int r;

	if (fosctl_json_get(reply, "error")) {
		if (f->json)
			fosctl_json_print(reply, stdout);
		else
			_fosctl_print_error(reply);
		return FOSCTL_EXIT_DAEMON;
	}

	if (!json_object_is_type(params, json_type_object)) {
		fprintf(stderr, "fosctl: %s: reply without parameters\n", cmd->method);
		return FOSCTL_EXIT_DAEMON;
	}
	r = f->json ? fosctl_json_print(params, stdout) : cmd->print(params);
	if (r == -EBADMSG) {
		fprintf(stderr, "fosctl: %s: fwd sent a malformed reply\n", cmd->method);
		return FOSCTL_EXIT_DAEMON;
	}
	if (r < 0) {
		fprintf(stderr, "fosctl: cannot print the reply: %s\n", strerror(-r));
		return FOSCTL_EXIT_DAEMON;
	}
	return FOSCTL_EXIT_OK;
}

/* DDoS mitigation */

/* The drop reasons by fwd's names, in enum fos_ddos_reason's order, and as
 * fosctl shows them. */
static const char *const fosctl_ddos_reasons[][2] = {
    [FOS_DDOS_RATE] = {"rate", "rate"},
    [FOS_DDOS_CONN_RATE] = {"connRate", "conn-rate"},
    [FOS_DDOS_CONN_LIMIT] = {"connLimit", "conn-limit"},
    [FOS_DDOS_SYN_FLOOD] = {"synFlood", "syn-flood"},
    [FOS_DDOS_ICMP_FLOOD] = {"icmpFlood", "icmp-flood"},
    [FOS_DDOS_UDP_FLOOD] = {"udpFlood", "udp-flood"},
    [FOS_DDOS_BLACKLIST] = {"blacklist", "blacklist"},
};
static_assert(ARRAY_SIZE(fosctl_ddos_reasons) == _FOS_DDOS_REASON_MAX, "fosctl_ddos_reasons");

/* A reason's name as shown; one fosctl does not know keeps fwd's name. */
static const char *_fosctl_ddos_reason(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(fosctl_ddos_reasons); i++)
		if (strcmp(fosctl_ddos_reasons[i][0], key) == 0)
			return fosctl_ddos_reasons[i][1];
	return key;
}

struct fosctl_count {
	const char *name;
	int64_t n;
	size_t order;
};

static int _fosctl_count_cmp(const void *a, const void *b)
{
	const struct fosctl_count *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* "icmp-flood 1200, rate 4": the reasons that dropped, the most first (ties
 * in fwd's order); "none" when none did. NULL when out of memory. */
static char *_fosctl_ddos_drops_format(json_object *drops)
{
	_cleanup_free_ struct fosctl_count *counts = NULL;
	struct fosctl_list l;
	size_t n = 0;

	if (json_object_is_type(drops, json_type_object)) {
		counts = calloc((size_t)json_object_object_length(drops) + 1, sizeof(*counts));
		if (!counts)
			return NULL;
		json_object_object_foreach(drops, key, value)
		{
			if (!json_object_is_type(value, json_type_int) ||
			    json_object_get_int64(value) <= 0)
				continue;
			counts[n] = (struct fosctl_count){_fosctl_ddos_reason(key),
							  json_object_get_int64(value), n};
			n++;
		}
	}
	if (n == 0)
		return strdup(json_object_is_type(drops, json_type_object) ? "none" : "-");
	qsort(counts, n, sizeof(*counts), _fosctl_count_cmp);

	if (_fosctl_list_open(&l) < 0)
		return NULL;
	for (size_t i = 0; i < n; i++)
		_fosctl_list_add(&l, "%s %" PRId64, counts[i].name, counts[i].n);
	return _fosctl_list_close(&l);
}

/* " burst 20000" when the burst is there. */
static void _fosctl_ddos_rate(struct fosctl_list *l, json_object *o, const char *rate,
			      const char *burst, const char *what)
{
	json_object *b = fosctl_json_get(o, burst);

	if (!_fosctl_has(o, rate))
		return;
	_fosctl_list_add(l, "%s %s%s%s", _fosctl_text(fosctl_json_get(o, rate)), what,
			 b ? " burst " : "", b ? _fosctl_text(b) : "");
}

static void _fosctl_ddos_duration(struct fosctl_list *l, json_object *o, const char *key,
				  const char *label)
{
	char buf[FOSCTL_TIME_STRLEN];

	if (_fosctl_has(o, key))
		_fosctl_list_add(l, "%s %s", label,
				 _fosctl_seconds(fosctl_json_get(o, key), buf, sizeof(buf)));
}

static void _fosctl_ddos_rate_limiting(struct fosctl_list *l, json_object *o)
{
	_fosctl_ddos_rate(l, o, "packetsPerSecond", "burst", "pps");
	_fosctl_ddos_rate(l, o, "connectionsPerSecond", "connectionsBurst", "conn/s");
	if (_fosctl_has(o, "connectionsPerIP"))
		_fosctl_list_add(l, "%s conn per source",
				 _fosctl_text(fosctl_json_get(o, "connectionsPerIP")));
	if (_fosctl_has(o, "ipv6PrefixLength"))
		_fosctl_list_add(l, "IPv6 per /%s",
				 _fosctl_text(fosctl_json_get(o, "ipv6PrefixLength")));
	_fosctl_ddos_duration(l, o, "blockDuration", "block");
}

static void _fosctl_ddos_syn_flood(struct fosctl_list *l, json_object *o)
{
	json_object *engaged = fosctl_json_get(o, "engagedDestinations");

	if (_fosctl_bool(o, "always"))
		_fosctl_list_add(l, "cookies always");
	else if (_fosctl_has(o, "threshold"))
		_fosctl_list_add(l, "threshold %s SYN/s",
				 _fosctl_text(fosctl_json_get(o, "threshold")));
	_fosctl_ddos_duration(l, o, "holdTime", "hold");
	_fosctl_ddos_duration(l, o, "authTimeout", "auth");
	if (json_object_is_type(engaged, json_type_int) && json_object_get_int64(engaged) > 0)
		_fosctl_list_add(l, "%" PRId64 " destination%s engaged",
				 json_object_get_int64(engaged),
				 json_object_get_int64(engaged) == 1 ? "" : "s");
}

/* icmpFloodProtection and udpFloodProtection */
static void _fosctl_ddos_flood(struct fosctl_list *l, json_object *o)
{
	_fosctl_ddos_rate(l, o, "perSource", "perSourceBurst", "pps per source");
	_fosctl_ddos_rate(l, o, "total", "totalBurst", "pps total");
	_fosctl_ddos_duration(l, o, "blockDuration", "block");
}

static const struct {
	const char *name;
	void (*settings)(struct fosctl_list *l, json_object *o);
} fosctl_ddos_protections[] = {
    {"rateLimiting", _fosctl_ddos_rate_limiting},
    {"synFloodProtection", _fosctl_ddos_syn_flood},
    {"icmpFloodProtection", _fosctl_ddos_flood},
    {"udpFloodProtection", _fosctl_ddos_flood},
};

/* "engaged  10000 pps burst 20000, block 5m0s": the state, then the settings. */
static void _fosctl_add_protection(struct fosctl_table *t, const char *name, json_object *o)
{
	const char *state = _fosctl_bool(o, "engaged") ? "engaged"
			    : _fosctl_bool(o, "armed") ? "armed"
						       : "off";
	_cleanup_free_ char *settings = NULL;
	struct fosctl_list l;

	if (_fosctl_list_open(&l) < 0) {
		t->error = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(fosctl_ddos_protections); i++)
		if (strcmp(fosctl_ddos_protections[i].name, name) == 0)
			fosctl_ddos_protections[i].settings(&l, o);
	settings = _fosctl_list_close(&l);
	if (!settings) {
		t->error = -ENOMEM;
		return;
	}
	fosctl_table_add(t, "%s:", name);
	if (settings[0])
		fosctl_table_add(t, "%-7s  %s", state, settings);
	else
		fosctl_table_add(t, "%s", state);
}

static int _fosctl_print_ddos_program(json_object *prog)
{
	_cleanup_(fosctl_table_done) struct fosctl_table t = {};
	json_object *protections = fosctl_json_get(prog, "protections");
	json_object *cookies = fosctl_json_get(prog, "cookies");
	json_object *lost = fosctl_json_get(prog, "eventsLost");
	json_object *failed = fosctl_json_get(prog, "blockFailed");
	char *drops;

	_fosctl_kv_init(&t);
	t.indent = 2;
	if (json_object_is_type(protections, json_type_object)) {
		json_object_object_foreach(protections, name, o)
		{
			_fosctl_add_protection(&t, name, o);
		}
	}

	drops = _fosctl_ddos_drops_format(fosctl_json_get(prog, "drops"));
	fosctl_table_add(&t, "drops:");
	fosctl_table_add(&t, "%s", drops ? drops : "");
	if (!drops)
		t.error = -ENOMEM;
	free(drops);
	fosctl_table_add(&t, "cookies:");
	if (json_object_is_type(cookies, json_type_object))
		fosctl_table_add(&t, "sent %s, proved %s, bad %s",
				 _fosctl_text(fosctl_json_get(cookies, "sent")),
				 _fosctl_text(fosctl_json_get(cookies, "proved")),
				 _fosctl_text(fosctl_json_get(cookies, "bad")));
	else
		fosctl_table_add_value(&t, cookies);
	_fosctl_kv(&t, "blocked", prog, "blocked");
	if (failed &&
	    !(json_object_is_type(failed, json_type_int) && json_object_get_int64(failed) == 0))
		_fosctl_kv(&t, "blocks failed", prog, "blockFailed");
	if (lost && !(json_object_is_type(lost, json_type_int) && json_object_get_int64(lost) == 0))
		_fosctl_kv(&t, "events lost", prog, "eventsLost");
	if (_fosctl_has(prog, "trackedSources"))
		_fosctl_kv(&t, "tracked sources", prog, "trackedSources");

	printf("program %s on %s:\n", _fosctl_text(fosctl_json_get(prog, "name")),
	       _fosctl_text(fosctl_json_get(prog, "interface")));
	return _fosctl_print_table(&t);
}

int fosctl_print_ddos(json_object *p)
{
	size_t n;
	json_object *programs = fosctl_json_array(p, "programs", &n);

	if (!programs)
		return -EBADMSG;
	if (n == 0)
		printf("no program has DDoS protection\n");
	for (size_t i = 0; i < n; i++) {
		int r;

		if (i > 0)
			putchar('\n');
		r = _fosctl_print_ddos_program(json_object_array_get_idx(programs, i));
		if (r < 0)
			return r;
	}
	return 0;
}

/* How long ago: "1.5s ago" below a minute, "2m5s ago" above. */
static void _fosctl_add_ago(struct fosctl_table *t, json_object *v)
{
	char buf[FOSCTL_TIME_STRLEN];
	double s = json_object_get_double(v);

	/* fwd leaves "lastDrop" out for a source whose drops were never timed */
	if (!v)
		fosctl_table_add(t, "-");
	else if (!_fosctl_is_number(v) || s < 0)
		fosctl_table_add_value(t, v);
	else if (s < 60)
		fosctl_table_add(t, "%.1fs ago", s);
	else
		fosctl_table_add(t, "%s ago",
				 fosctl_format_duration((uint64_t)s, buf, sizeof(buf)));
}

static const struct fosctl_column fosctl_ddos_top_columns[] = {
    {"SOURCE", false},	{"PROGRAM", false}, {"DROPS", true},
    {"REASONS", false}, {"LAST", true},	    {"BLOCKED", true},
};

int fosctl_print_ddos_top(json_object *p)
{
	_cleanup_(fosctl_table_done) struct fosctl_table t = {};
	char buf[FOSCTL_TIME_STRLEN];
	size_t n;
	json_object *sources = fosctl_json_array(p, "sources", &n);

	if (!sources)
		return -EBADMSG;
	if (n == 0) {
		printf("no source was dropped\n");
		return 0;
	}

	fosctl_table_init(&t, fosctl_ddos_top_columns, ARRAY_SIZE(fosctl_ddos_top_columns), true);
	for (size_t i = 0; i < n; i++) {
		json_object *src = json_object_array_get_idx(sources, i);
		char *reasons = _fosctl_ddos_drops_format(fosctl_json_get(src, "drops"));

		fosctl_table_add_value(&t, fosctl_json_get(src, "source"));
		fosctl_table_add_value(&t, fosctl_json_get(src, "program"));
		fosctl_table_add_value(&t, fosctl_json_get(src, "total"));
		fosctl_table_add(&t, "%s", reasons ? reasons : "");
		if (!reasons)
			t.error = -ENOMEM;
		free(reasons);
		_fosctl_add_ago(&t, fosctl_json_get(src, "lastDrop"));
		fosctl_table_add(
		    &t, "%s", _fosctl_seconds(fosctl_json_get(src, "blocked"), buf, sizeof(buf)));
	}
	return _fosctl_print_table(&t);
}
