// SPDX-License-Identifier: GPL-2.0-only
/*
 * fosctl's commands of NAT (show nat, show nat mappings, clear nat): their
 * rows, their filters and how the replies print.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cmd_util.h"
#include "commands.h"
#include "output.h"

static const struct fosctl_filter fosctl_nat_filters[] = {
    {"config", "NAME", FOSCTL_ARG_NAT, "the natConfig the mapping belongs to"},
    {"address", "CIDR", FOSCTL_ARG_CIDR, "its internal or external address"},
    {"protocol", "PROTO", FOSCTL_ARG_PROTO, "its IP protocol"},
    {},
};

static int _fosctl_build_nat(char *const *args, size_t n_args, json_object **ret_params, char *err)
{
	return _fosctl_build_filters(fosctl_nat_filters, "filter", args, n_args, ret_params, err);
}

static int _fosctl_build_nat_mappings(char *const *args, size_t n_args, json_object **ret_params,
				      char *err)
{
	int r = _fosctl_build_nat(args, n_args, ret_params, err);

	if (r < 0)
		return r;
	return json_object_object_add(*ret_params, "mappings", json_object_new_boolean(1)) < 0
		   ? -ENOMEM
		   : 0;
}

static const struct fosctl_column fosctl_nat_columns[] = {
    {"NAME", false},	 {"TYPE", false},	{"IP", false},	    {"INSIDE", false},
    {"OUTSIDE", false},	 {"MAPPING", false},	{"MAPPINGS", true}, {"TRANSLATIONS", true},
    {"EXHAUSTED", true}, {"OTHER DROPS", true}, {"ACTIVE", false},
};

static const struct fosctl_column fosctl_nat_addr_columns[] = {
    {"EXTERNAL ADDRESS", false},
    {"PORTS IN USE", true},
};

static int64_t _fosctl_int(json_object *o, const char *path)
{
	json_object *v = fosctl_json_get(o, path);

	return json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
}

static double _fosctl_double(json_object *o, const char *path)
{
	json_object *v = fosctl_json_get(o, path);

	return json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)
		   ? json_object_get_double(v)
		   : 0;
}

int fosctl_print_nat(json_object *p)
{
	_cleanup_(fosctl_table_done) struct fosctl_table t = {};
	size_t n, na;
	json_object *cfgs = fosctl_json_array(p, "configs", &n);
	json_object *addrs = fosctl_json_array(p, "externalAddresses", &na);
	int r;

	if (!cfgs)
		return -EBADMSG;
	if (n == 0) {
		printf("no natConfigs\n");
		return 0;
	}
	fosctl_table_init(&t, fosctl_nat_columns, ARRAY_SIZE(fosctl_nat_columns), true);
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(cfgs, i);
		int64_t other = _fosctl_int(c, "counters.dropsFull") +
				_fosctl_int(c, "counters.dropsNoAddress") +
				_fosctl_int(c, "counters.dropsFiltered") +
				_fosctl_int(c, "counters.dropsFragment") +
				_fosctl_int(c, "counters.dropsMalformed") +
				_fosctl_int(c, "counters.dropsContended");

		fosctl_table_add(&t, "%s", _fosctl_str(c, "name"));
		fosctl_table_add(&t, "%s", _fosctl_str(c, "type"));
		fosctl_table_add(&t, "%s", _fosctl_str(c, "ipVersion"));
		fosctl_table_add(&t, "%s", _fosctl_str(c, "interfaces.source"));
		fosctl_table_add(&t, "%s", _fosctl_str(c, "interfaces.destination"));
		fosctl_table_add(&t, "%s%s",
				 _fosctl_bool(c, "endpointIndependent") ? "independent"
									: "dependent",
				 _fosctl_bool(c, "hairpinning") ? ", hairpin" : "");
		fosctl_table_add(&t, "%" PRId64 "/%" PRId64, _fosctl_int(c, "mappings"),
				 _fosctl_int(c, "maxConnections"));
		fosctl_table_add(&t, "%" PRId64, _fosctl_int(c, "translationCount"));
		fosctl_table_add(&t, "%" PRId64, _fosctl_int(c, "counters.dropsExhausted"));
		fosctl_table_add(&t, "%" PRId64, other);
		fosctl_table_add(&t, "%s", _fosctl_bool(c, "active") ? "yes" : "no");
	}
	r = _fosctl_print_table(&t);
	if (r < 0)
		return r;
	if (json_object_object_get_ex(p, "tableSize", NULL))
		printf("table: room for %" PRId64 " mappings\n", _fosctl_int(p, "tableSize"));
	if (json_object_object_get_ex(p, "gc", NULL))
		printf("collector: %" PRId64 " expired, %" PRId64 " ended by reloads, %" PRId64
		       " moved to another way out; %" PRId64
		       " walks, the last %.1f ms, every %" PRId64 " ms\n",
		       _fosctl_int(p, "expired"), _fosctl_int(p, "ended"), _fosctl_int(p, "moved"),
		       _fosctl_int(p, "gc.walks"), _fosctl_double(p, "gc.lastWalkMs"),
		       _fosctl_int(p, "gc.intervalMs"));
	if (na == 0)
		return 0;
	printf("\n");
	fosctl_table_done(&t);
	fosctl_table_init(&t, fosctl_nat_addr_columns, ARRAY_SIZE(fosctl_nat_addr_columns), true);
	for (size_t i = 0; i < na; i++) {
		json_object *a = json_object_array_get_idx(addrs, i);

		fosctl_table_add(&t, "%s", _fosctl_str(a, "address"));
		fosctl_table_add(&t, "%" PRId64, _fosctl_int(a, "portsInUse"));
	}
	return _fosctl_print_table(&t);
}

static const struct fosctl_column fosctl_nat_map_columns[] = {
    {"PROTO", false},  {"INTERNAL", false}, {"EXTERNAL", false},
    {"REMOTE", false}, {"IDLE", true},	    {"CONFIG", false},
};

static const char *_fosctl_end(json_object *m, const char *addr, const char *port, char *buf,
			       size_t len)
{
	const char *a = _fosctl_str(m, addr);

	if (!fosctl_json_get(m, addr))
		return "*";
	if (strchr(a, ':'))
		snprintf(buf, len, "[%s]:%" PRId64, a, _fosctl_int(m, port));
	else
		snprintf(buf, len, "%s:%" PRId64, a, _fosctl_int(m, port));
	return buf;
}

int fosctl_print_nat_mappings(json_object *p)
{
	_cleanup_(fosctl_table_done) struct fosctl_table t = {};
	size_t n;
	json_object *maps = fosctl_json_array(p, "mappings", &n);
	char b1[80], b2[80], b3[80], pbuf[FOSCTL_PROTO_STRLEN], dur[32];
	int r;

	if (!maps)
		return -EBADMSG;
	fosctl_table_init(&t, fosctl_nat_map_columns, ARRAY_SIZE(fosctl_nat_map_columns), true);
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(maps, i);

		fosctl_table_add(&t, "%s",
				 _fosctl_proto(fosctl_json_get(m, "protocol"), pbuf, sizeof(pbuf)));
		fosctl_table_add(&t, "%s",
				 _fosctl_end(m, "internal", "internalPort", b1, sizeof(b1)));
		fosctl_table_add(&t, "%s",
				 _fosctl_end(m, "external", "externalPort", b2, sizeof(b2)));
		fosctl_table_add(&t, "%s", _fosctl_end(m, "remote", "remotePort", b3, sizeof(b3)));
		if (_fosctl_bool(m, "static"))
			fosctl_table_add(&t, "static");
		else
			fosctl_table_add(
			    &t, "%s",
			    fosctl_format_duration((uint64_t)_fosctl_int(m, "idleSeconds"), dur,
						   sizeof(dur)));
		fosctl_table_add(&t, "%s", _fosctl_str(m, "config"));
	}
	r = _fosctl_print_table(&t);
	if (r == 0)
		printf("%" PRId64 " mapping%s%s\n", _fosctl_int(p, "matching"),
		       _fosctl_int(p, "matching") == 1 ? "" : "s",
		       _fosctl_bool(p, "truncated") ? " (the first listed)" : "");
	return r;
}

int fosctl_print_nat_clear(json_object *p)
{
	json_object *removed = fosctl_json_get(p, "removed");

	if (!json_object_is_type(removed, json_type_int))
		return -EBADMSG;
	printf("removed %" PRId64 " mapping%s\n", json_object_get_int64(removed),
	       json_object_get_int64(removed) == 1 ? "" : "s");
	if (json_object_get_boolean(fosctl_json_get(p, "complete")) == 0 &&
	    fosctl_json_get(p, "complete"))
		printf("(a reload replaced the table meanwhile: run it again for the rest)\n");
	return 0;
}

static const struct fosctl_command fosctl_nat_commands_rows[] = {
    {
	.words = {"show", "nat"},
	.filters = fosctl_nat_filters,
	.help = "NAT: each natConfig's mappings, translations and drops; ports in use",
	.method = "fos.Show.Nat",
	.build = _fosctl_build_nat,
	.print = fosctl_print_nat,
    },
    {
	.words = {"show", "nat", "mappings"},
	.filters = fosctl_nat_filters,
	.help = "NAT mappings, all or those the filters select",
	.method = "fos.Show.Nat",
	.build = _fosctl_build_nat_mappings,
	.print = fosctl_print_nat_mappings,
    },
    {
	.words = {"clear", "nat"},
	.filters = fosctl_nat_filters,
	.help = "End NAT mappings (not port maps), all or those the filters select",
	.method = "fos.Clear.Nat",
	.build = _fosctl_build_nat,
	.print = fosctl_print_nat_clear,
    },
};

const struct fosctl_command_rows fosctl_nat_commands = {fosctl_nat_commands_rows,
							ARRAY_SIZE(fosctl_nat_commands_rows)};
