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
#include "cmd_util.h"
#include "output.h"
#include "parse.h"
#include "print.h"

static const struct fosctl_column fosctl_kv_columns[] = {{"KEY", false}, {"VALUE", false}};

void _fosctl_kv_init(struct fosctl_table *t)
{
	fosctl_table_init(t, fosctl_kv_columns, ARRAY_SIZE(fosctl_kv_columns), false);
}

/* A "key: value" row with the value at path in o. */
void _fosctl_kv(struct fosctl_table *t, const char *key, json_object *o, const char *path)
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

const char *_fosctl_str(json_object *o, const char *path)
{
	json_object *v = fosctl_json_get(o, path);

	return v && !json_object_is_type(v, json_type_null) ? json_object_get_string(v) : NULL;
}

bool _fosctl_bool(json_object *o, const char *path)
{
	return json_object_get_boolean(fosctl_json_get(o, path));
}

/* A reply value as text; a missing or null value never reaches printf. */
const char *_fosctl_text(json_object *v)
{
	const char *r = v ? json_object_get_string(v) : NULL;

	return r ? r : "-";
}

/* Whether the value at path is there and not null. */
bool _fosctl_has(json_object *o, const char *path)
{
	return fosctl_json_get(o, path) != NULL;
}

/* An IP protocol by name where it has one: 6 and "tcp" are "tcp", 47 "47". */
const char *_fosctl_proto(json_object *v, char *buf, size_t len)
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

int _fosctl_print_table(struct fosctl_table *t)
{
	return fosctl_table_print(t, stdout);
}

bool _fosctl_is_number(json_object *v)
{
	return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

/* Seconds as "5m0s"; anything but a number as its text. */
const char *_fosctl_seconds(json_object *v, char *buf, size_t len)
{
	if (!_fosctl_is_number(v))
		return _fosctl_text(v);
	if (json_object_get_double(v) < 0)
		return _fosctl_text(v);
	return fosctl_format_duration((uint64_t)json_object_get_double(v), buf, len);
}

int _fosctl_list_open(struct fosctl_list *l)
{
	*l = (struct fosctl_list){.empty = true};
	l->s = open_memstream(&l->text, &l->len);
	return l->s ? 0 : -ENOMEM;
}

__attribute__((format(printf, 2, 3))) void _fosctl_list_add(struct fosctl_list *l, const char *fmt,
							    ...)
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
char *_fosctl_list_close(struct fosctl_list *l)
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
