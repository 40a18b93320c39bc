// SPDX-License-Identifier: GPL-2.0-only
/*
 * fosctl's commands of DDoS mitigation (show ddos, show ddos top): their
 * rows, how their arguments become parameters and how the replies print.
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

static const struct fosctl_filter fosctl_ddos_top_options[] = {
    {"limit", "N", FOSCTL_ARG_TOP_LIMIT, "at most N sources, those with the most drops (10)"},
    {"program", "NAME", FOSCTL_ARG_PROGRAM, "only the sources of this program"},
    {},
};

static int _fosctl_build_ddos_top(char *const *args, size_t n_args, json_object **ret_params,
				  char *err)
{
	return _fosctl_build_filters(fosctl_ddos_top_options, "option", args, n_args, ret_params,
				     err);
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

static const struct fosctl_command fosctl_ddos_commands_rows[] = {
    {
	.words = {"show", "ddos"},
	.args = {{.name = "PROGRAM", .kind = FOSCTL_ARG_PROGRAM, .optional = true}},
	.help = "DDoS protections and their drops, of every program or of one",
	.method = "fos.Show.Ddos",
	.build = _fosctl_build_program,
	.print = fosctl_print_ddos,
    },
    {
	.words = {"show", "ddos", "top"},
	.filters = fosctl_ddos_top_options,
	.options = true,
	.help = "The sources with the most DDoS drops",
	.method = "fos.Show.DdosTop",
	.build = _fosctl_build_ddos_top,
	.print = fosctl_print_ddos_top,
    },
};

const struct fosctl_command_rows fosctl_ddos_commands = {fosctl_ddos_commands_rows,
							 ARRAY_SIZE(fosctl_ddos_commands_rows)};
