// SPDX-License-Identifier: GPL-2.0-only
/*
 * fosctl's commands of the connection table (show conntrack, show conntrack
 * summary, clear conntrack): their rows, their filters and how the replies
 * print.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fos/abi.h>

#include "cleanup.h"
#include "cmd_util.h"
#include "commands.h"
#include "config.h"
#include "output.h"
#include "parse.h"
#include "print.h"

static const struct fosctl_column fosctl_conntrack_columns[] = {
    {"PROTO", false},  {"STATE", false},  {"FLOW", false}, {"ZONE", true},
    {"TIMEOUT", true}, {"PACKETS", true}, {"BYTES", true}, {"INTERFACE", false},
};

/* What selects flows, for show conntrack and clear conntrack alike. */
/* clang-format off */
#define FOSCTL_CT_FILTERS \
	{"src", "CIDR", FOSCTL_ARG_CIDR, "the flow's original source (the end that opened it)"}, \
	{"dst", "CIDR", FOSCTL_ARG_CIDR, "the flow's original destination"}, \
	{"proto", "PROTO", FOSCTL_ARG_PROTO, "the IP protocol"}, \
	{"port", "PORT", FOSCTL_ARG_PORT, "either end's port, or the ICMP echo id"}, \
	{"state", "STATE", FOSCTL_ARG_CT_STATE, "the entry's state"}, \
	{"zone", "ZONE", FOSCTL_ARG_ZONE, "the conntrack zone"}

/* clang-format on */
static const struct fosctl_filter fosctl_ct_show_filters[] = {
    FOSCTL_CT_FILTERS,
    {"limit", "N", FOSCTL_ARG_LIMIT, "at most N flows (matched still counts all)"},
    {},
};

static const struct fosctl_filter fosctl_ct_clear_filters[] = {
    FOSCTL_CT_FILTERS,
    {},
};

static int _fosctl_build_ct_show(char *const *args, size_t n_args, json_object **ret_params,
				 char *err)
{
	return _fosctl_build_filters(fosctl_ct_show_filters, "filter", args, n_args, ret_params,
				     err);
}

static int _fosctl_build_ct_clear(char *const *args, size_t n_args, json_object **ret_params,
				  char *err)
{
	return _fosctl_build_filters(fosctl_ct_clear_filters, "filter", args, n_args, ret_params,
				     err);
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

static const struct fosctl_command fosctl_conntrack_commands_rows[] = {
    {
	.words = {"show", "conntrack"},
	.filters = fosctl_ct_show_filters,
	.help = "Tracked connections, all or those the filters select",
	.method = "fos.Show.Conntrack",
	.build = _fosctl_build_ct_show,
	.print = fosctl_print_conntrack,
    },
    {
	.words = {"show", "conntrack", "summary"},
	.help = "Connection table size and fill, counters, collector, states",
	.method = "fos.Show.ConntrackSummary",
	.print = fosctl_print_conntrack_summary,
    },
    {
	.words = {"clear", "conntrack"},
	.filters = fosctl_ct_clear_filters,
	.help = "Remove tracked connections, all or those the filters select",
	.method = "fos.Clear.Conntrack",
	.build = _fosctl_build_ct_clear,
	.print = fosctl_print_conntrack_clear,
    },
};

const struct fosctl_command_rows fosctl_conntrack_commands = {
    fosctl_conntrack_commands_rows, ARRAY_SIZE(fosctl_conntrack_commands_rows)};
