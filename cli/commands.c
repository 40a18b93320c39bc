// SPDX-License-Identifier: GPL-2.0-only
/* The command table and the parameters each command sends. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fos/abi.h"
#include "cleanup.h"
#include "commands.h"
#include "print.h"

/* A decimal number 0..max, digits only. */
static int _fosctl_parse_uint(const char *s, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

static json_object *_fosctl_json_uint(uint64_t v)
{
	return json_object_new_int64((int64_t)v);
}

static int _fosctl_value_cidr(const char *s, json_object **ret, char *err)
{
	struct fos_cidr cidr;

	if (fos_parse_cidr(s, &cidr, err) < 0) {
		if (err[0] == '\0')
			snprintf(err, FOS_ERRBUF, "invalid CIDR \"%s\"", s);
		return -EINVAL;
	}
	*ret = json_object_new_string(s);
	return *ret ? 0 : -ENOMEM;
}

/* A name goes as its canonical name, a number as the number. */
static int _fosctl_value_proto(const char *s, json_object **ret, char *err)
{
	uint64_t n;
	uint8_t proto;

	if (_fosctl_parse_uint(s, UINT8_MAX, &n) == 0 && n != FOS_PROTO_ANY)
		*ret = _fosctl_json_uint(n);
	else if (fos_parse_protocol(s, &proto, NULL) == 0 && proto != FOS_PROTO_ANY)
		*ret = json_object_new_string(fos_protocol_to_string(proto));
	else {
		snprintf(err, FOS_ERRBUF,
			 "\"%s\" is not tcp, udp, icmp, icmpv6 or a protocol number 1-255", s);
		return -EINVAL;
	}
	return *ret ? 0 : -ENOMEM;
}

static int _fosctl_value_port(const char *s, json_object **ret, char *err)
{
	uint16_t port;

	if (fos_parse_port(s, &port, err) < 0)
		return -EINVAL;
	*ret = _fosctl_json_uint(port);
	return *ret ? 0 : -ENOMEM;
}

static const char *const fosctl_protos[] = {"tcp", "udp", "icmp", "icmpv6", NULL};
static const char *const fosctl_ct_states[] = {
    "new",	  "syn_sent",  "syn_recv", "established", "fin_wait",
    "close_wait", "time_wait", "close",	   NULL,
};

static int _fosctl_value_ct_state(const char *s, json_object **ret, char *err)
{
	for (size_t i = 0; fosctl_ct_states[i]; i++)
		if (strcasecmp(s, fosctl_ct_states[i]) == 0) {
			*ret = json_object_new_string(fosctl_ct_states[i]);
			return *ret ? 0 : -ENOMEM;
		}
	snprintf(err, FOS_ERRBUF, "\"%s\" is not a connection state (%s)", s,
		 fosctl_arg_kind_help(FOSCTL_ARG_CT_STATE));
	return -EINVAL;
}

static int _fosctl_value_zone(const char *s, json_object **ret, char *err)
{
	uint64_t n;

	if (_fosctl_parse_uint(s, UINT32_MAX, &n) < 0) {
		snprintf(err, FOS_ERRBUF, "\"%s\" is not a zone number 0-%" PRIu32, s, UINT32_MAX);
		return -EINVAL;
	}
	*ret = _fosctl_json_uint(n);
	return *ret ? 0 : -ENOMEM;
}

static int _fosctl_value_limit(const char *s, json_object **ret, char *err)
{
	uint64_t n;

	if (_fosctl_parse_uint(s, UINT32_MAX, &n) < 0 || n == 0) {
		snprintf(err, FOS_ERRBUF, "\"%s\" is not a number 1-%" PRIu32, s, UINT32_MAX);
		return -EINVAL;
	}
	*ret = _fosctl_json_uint(n);
	return *ret ? 0 : -ENOMEM;
}

/* A program name as a filter's value: any name, fwd says whether it exists. */
static int _fosctl_value_name(const char *s, json_object **ret, char *err)
{
	if (s[0] == '\0') {
		snprintf(err, FOS_ERRBUF, "an empty name");
		return -EINVAL;
	}
	*ret = json_object_new_string(s);
	return *ret ? 0 : -ENOMEM;
}

#define FOSCTL_TOP_LIMIT_MAX 10000

static int _fosctl_value_top_limit(const char *s, json_object **ret, char *err)
{
	uint64_t n;

	if (_fosctl_parse_uint(s, FOSCTL_TOP_LIMIT_MAX, &n) < 0 || n == 0) {
		snprintf(err, FOS_ERRBUF, "\"%s\" is not a number 1-%d", s, FOSCTL_TOP_LIMIT_MAX);
		return -EINVAL;
	}
	*ret = _fosctl_json_uint(n);
	return *ret ? 0 : -ENOMEM;
}

/* Whole seconds 1-INT32_MAX, written as a number or as a duration ("1h30m"):
 * sent as the number of seconds. */
static int _fosctl_value_timeout(const char *s, json_object **ret, char *err)
{
	uint64_t ms;

	if (fos_parse_duration(s, &ms, NULL) < 0 || ms == 0 || ms / 1000 > INT32_MAX) {
		snprintf(err, FOS_ERRBUF,
			 "\"%s\" is not a number of seconds 1-%d or a duration such as 5m or 1h30m",
			 s, INT32_MAX);
		return -EINVAL;
	}
	if (ms % 1000 != 0) {
		snprintf(err, FOS_ERRBUF, "\"%s\" is not a whole number of seconds", s);
		return -EINVAL;
	}
	*ret = _fosctl_json_uint(ms / 1000);
	return *ret ? 0 : -ENOMEM;
}

static const struct {
	const char *help;
	const char *method;	   /* completes from this method's reply */
	const char *array;	   /* ... the "name" of each element of this array */
	const char *const *values; /* completes from this list */
	/* as a filter's value: checked, then sent as *ret; -EINVAL and a reason
	 * in err (FOS_ERRBUF) if it is not one */
	int (*parse)(const char *s, json_object **ret, char *err);
} fosctl_arg_kinds[] = {
    [FOSCTL_ARG_PROGRAM] = {"a program name", "fos.Show.Programs", "programs",
			    .parse = _fosctl_value_name},
    [FOSCTL_ARG_SET] = {"an IP set name", "fos.Show.Sets", "sets"},
    [FOSCTL_ARG_MAP] = {"a BPF map name", "fos.Show.Maps", "maps"},
    [FOSCTL_ARG_CIDR] = {"an address or prefix: 192.0.2.0/24, 2001:db8::/32",
			 .parse = _fosctl_value_cidr},
    [FOSCTL_ARG_FILE] = {"a configuration file"},
    [FOSCTL_ARG_PROTO] = {"tcp, udp, icmp, icmpv6 or an IP protocol number 1-255",
			  .values = fosctl_protos, .parse = _fosctl_value_proto},
    [FOSCTL_ARG_PORT] = {"a port number 0-65535", .parse = _fosctl_value_port},
    [FOSCTL_ARG_CT_STATE] = {"new, syn_sent, syn_recv, established, fin_wait, close_wait, "
			     "time_wait or close",
			     .values = fosctl_ct_states, .parse = _fosctl_value_ct_state},
    [FOSCTL_ARG_ZONE] = {"a conntrack zone: the routing table of a VRF, 0 outside one",
			 .parse = _fosctl_value_zone},
    [FOSCTL_ARG_LIMIT] = {"a number of entries, 1 or more", .parse = _fosctl_value_limit},
    [FOSCTL_ARG_TOP_LIMIT] = {"a number of sources, 1-10000", .parse = _fosctl_value_top_limit},
    [FOSCTL_ARG_TIMEOUT] = {"seconds 1-2147483647, or a duration: 90, 5m, 1h30m, 1d",
			    .parse = _fosctl_value_timeout},
};
static_assert(ARRAY_SIZE(fosctl_arg_kinds) == _FOSCTL_ARG_KIND_MAX, "fosctl_arg_kinds");

const char *fosctl_arg_kind_help(enum fosctl_arg_kind kind)
{
	assert(kind < _FOSCTL_ARG_KIND_MAX);
	return fosctl_arg_kinds[kind].help;
}

const char *fosctl_arg_kind_method(enum fosctl_arg_kind kind, const char **ret_array)
{
	assert(kind < _FOSCTL_ARG_KIND_MAX);
	if (fosctl_arg_kinds[kind].method)
		*ret_array = fosctl_arg_kinds[kind].array;
	return fosctl_arg_kinds[kind].method;
}

const char *const *fosctl_arg_kind_values(enum fosctl_arg_kind kind)
{
	assert(kind < _FOSCTL_ARG_KIND_MAX);
	return fosctl_arg_kinds[kind].values;
}

bool fosctl_arg_kind_is_filter(enum fosctl_arg_kind kind)
{
	assert(kind < _FOSCTL_ARG_KIND_MAX);
	return fosctl_arg_kinds[kind].parse;
}

int fosctl_filter_find(const struct fosctl_filter *filters, const char *keyword,
		       const struct fosctl_filter **ret)
{
	const struct fosctl_filter *found = NULL;
	size_t n = 0, len = strlen(keyword);

	if (len == 0)
		return -ENOENT;
	for (const struct fosctl_filter *f = filters; f && f->keyword; f++) {
		if (strcmp(f->keyword, keyword) == 0) {
			*ret = f;
			return 0;
		}
		if (strncmp(f->keyword, keyword, len) == 0) {
			found = f;
			n++;
		}
	}
	if (n == 0)
		return -ENOENT;
	if (n > 1)
		return -EINVAL;
	*ret = found;
	return 0;
}

static int _fosctl_params_add(json_object *params, const char *key, const char *value)
{
	json_object *v = json_object_new_string(value);

	if (!v)
		return -ENOMEM;
	if (json_object_object_add(params, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/* {key: args[0]}, or {} without an argument. */
static int _fosctl_params_one(const char *key, char *const *args, size_t n_args,
			      json_object **ret_params)
{
	_cleanup_(fosctl_json_putp) json_object *params = json_object_new_object();
	int r;

	if (!params)
		return -ENOMEM;
	if (n_args > 0) {
		r = _fosctl_params_add(params, key, args[0]);
		if (r < 0)
			return r;
	}
	*ret_params = TAKE_PTR(params);
	return 0;
}

static int _fosctl_build_name(char *const *args, size_t n_args, json_object **ret_params, char *err)
{
	(void)err;
	return _fosctl_params_one("name", args, n_args, ret_params);
}

static int _fosctl_build_program(char *const *args, size_t n_args, json_object **ret_params,
				 char *err)
{
	(void)err;
	return _fosctl_params_one("program", args, n_args, ret_params);
}

/* set add/del NAME CIDR: the CIDR is checked here, so a typo is a usage error. */
static int _fosctl_build_set_entry(char *const *args, size_t n_args, json_object **ret_params,
				   char *err)
{
	_cleanup_(fosctl_json_putp) json_object *params = NULL;
	struct fos_cidr cidr;
	int r;

	assert(n_args == 2);
	r = fos_parse_cidr(args[1], &cidr, err);
	if (r < 0) {
		if (err[0] == '\0')
			snprintf(err, FOS_ERRBUF, "invalid CIDR \"%s\"", args[1]);
		return -EINVAL;
	}

	r = _fosctl_params_one("name", args, n_args, &params);
	if (r < 0)
		return r;
	r = _fosctl_params_add(params, "cidr", args[1]);
	if (r < 0)
		return r;
	*ret_params = TAKE_PTR(params);
	return 0;
}

/* fwd runs elsewhere: it gets an absolute path. A file that does not exist is
 * fwd's to report, so the path is then only made absolute, not resolved. */
static int _fosctl_build_file(char *const *args, size_t n_args, json_object **ret_params, char *err)
{
	_cleanup_free_ char *path = NULL;
	const char *file = args[0];

	assert(n_args == 1);
	if (file[0] == '\0') {
		snprintf(err, FOS_ERRBUF, "empty file name");
		return -EINVAL;
	}

	path = realpath(file, NULL);
	if (!path && file[0] == '/') {
		path = strdup(file);
	} else if (!path) {
		_cleanup_free_ char *cwd = getcwd(NULL, 0);

		if (!cwd)
			return -errno;
		if (asprintf(&path, "%s/%s", cwd, file) < 0) {
			path = NULL;
			return -ENOMEM;
		}
	}
	if (!path)
		return -ENOMEM;

	return _fosctl_params_one("file", (char *const[]){path}, 1, ret_params);
}

/* "proto, port": the keywords that start with prefix. */
static void _fosctl_filter_candidates(const struct fosctl_filter *filters, const char *prefix,
				      char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (const struct fosctl_filter *f = filters; f->keyword && off < len; f++) {
		int w;

		if (strncmp(f->keyword, prefix, strlen(prefix)) != 0)
			continue;
		w = snprintf(buf + off, len - off, "%s%s", off > 0 ? ", " : "", f->keyword);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

/* The filters typed, each checked, into the parameters in the table's order
 * (so the request does not depend on the order they were typed in). */
static int _fosctl_build_filters(const struct fosctl_filter *filters, const char *noun,
				 char *const *args, size_t n_args, json_object **ret_params,
				 char *err)
{
	_cleanup_(fosctl_json_putp) json_object *typed = json_object_new_object();
	_cleanup_(fosctl_json_putp) json_object *params = json_object_new_object();
	char reason[FOS_ERRBUF];
	int r;

	if (!typed || !params)
		return -ENOMEM;
	for (size_t i = 0; i < n_args; i += 2) {
		const struct fosctl_filter *f;
		json_object *v = NULL;

		r = fosctl_filter_find(filters, args[i], &f);
		if (r == -ENOENT) {
			snprintf(err, FOS_ERRBUF, "unknown %s \"%s\"", noun, args[i]);
			return -EINVAL;
		}
		if (r < 0) {
			_fosctl_filter_candidates(filters, args[i], reason, sizeof(reason));
			snprintf(err, FOS_ERRBUF, "ambiguous %s \"%s\", could be: %s", noun,
				 args[i], reason);
			return -EINVAL;
		}
		if (json_object_object_get_ex(typed, f->keyword, NULL)) {
			snprintf(err, FOS_ERRBUF, "%s \"%s\" given twice", noun, f->keyword);
			return -EINVAL;
		}
		if (i + 1 == n_args) {
			snprintf(err, FOS_ERRBUF, "missing %s after \"%s\"", f->value, f->keyword);
			return -EINVAL;
		}

		reason[0] = '\0';
		r = fosctl_arg_kinds[f->kind].parse(args[i + 1], &v, reason);
		if (r == -EINVAL) {
			snprintf(err, FOS_ERRBUF, "%s: %s", f->keyword, reason);
			return -EINVAL;
		}
		if (r < 0)
			return r;
		if (json_object_object_add(typed, f->keyword, v) < 0) {
			json_object_put(v);
			return -ENOMEM;
		}
	}

	for (const struct fosctl_filter *f = filters; f->keyword; f++) {
		json_object *v;

		if (!json_object_object_get_ex(typed, f->keyword, &v))
			continue;
		if (json_object_object_add(params, f->keyword, json_object_get(v)) < 0) {
			json_object_put(v);
			return -ENOMEM;
		}
	}
	*ret_params = TAKE_PTR(params);
	return 0;
}

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

static const struct fosctl_filter fosctl_set_add_options[] = {
    {"timeout", "SECONDS", FOSCTL_ARG_TIMEOUT, "remove the entry again after this long"},
    {},
};

/* set add NAME CIDR [timeout SECONDS] */
static int _fosctl_build_set_add(char *const *args, size_t n_args, json_object **ret_params,
				 char *err)
{
	_cleanup_(fosctl_json_putp) json_object *params = NULL, *options = NULL;
	int r;

	assert(n_args >= 2);
	r = _fosctl_build_set_entry(args, 2, &params, err);
	if (r < 0)
		return r;
	r = _fosctl_build_filters(fosctl_set_add_options, "option", args + 2, n_args - 2, &options,
				  err);
	if (r < 0)
		return r;
	json_object_object_foreach(options, key, value)
	{
		if (json_object_object_add(params, key, json_object_get(value)) < 0) {
			json_object_put(value);
			return -ENOMEM;
		}
	}
	*ret_params = TAKE_PTR(params);
	return 0;
}

static int _fosctl_run_help(struct fosctl *f)
{
	printf("Commands (words may be abbreviated; '?' shows what may come next):\n");
	if (fosctl_help_print(fosctl_cmdset_all(f->shell), 0, stdout) < 0) {
		fprintf(stderr, "fosctl: out of memory\n");
		return FOSCTL_EXIT_DAEMON;
	}
	return FOSCTL_EXIT_OK;
}

static int _fosctl_run_quit(struct fosctl *f)
{
	(void)f;
	return FOSCTL_QUIT;
}

const struct fosctl_command fosctl_commands[] = {
    {
	.words = {"show", "status"},
	.help = "Daemon version, uptime, configuration and last reload",
	.method = "fos.Show.Status",
	.print = fosctl_print_status,
    },
    {
	.words = {"show", "programs"},
	.help = "List the programs with their state and counters",
	.method = "fos.Show.Programs",
	.print = fosctl_print_programs,
    },
    {
	.words = {"show", "program"},
	.args = {{.name = "NAME", .kind = FOSCTL_ARG_PROGRAM}},
	.help = "One program's state, maps, metrics and counters",
	.method = "fos.Show.Program",
	.build = _fosctl_build_name,
	.print = fosctl_print_program,
    },
    {
	.words = {"show", "rules"},
	.args = {{.name = "PROGRAM", .kind = FOSCTL_ARG_PROGRAM, .optional = true}},
	.help = "Rules and their hit counters, of every program or of one",
	.method = "fos.Show.Rules",
	.build = _fosctl_build_program,
	.print = fosctl_print_rules,
    },
    {
	.words = {"show", "sets"},
	.help = "List the IP sets",
	.method = "fos.Show.Sets",
	.print = fosctl_print_sets,
    },
    {
	.words = {"show", "set"},
	.args = {{.name = "NAME", .kind = FOSCTL_ARG_SET}},
	.help = "The entries of an IP set",
	.method = "fos.Show.Set",
	.build = _fosctl_build_name,
	.print = fosctl_print_set,
    },
    {
	.words = {"show", "maps"},
	.help = "List the BPF maps with their fill level",
	.method = "fos.Show.Maps",
	.print = fosctl_print_maps,
    },
    {
	.words = {"show", "map"},
	.args = {{.name = "NAME", .kind = FOSCTL_ARG_MAP}},
	.help = "Dump the entries of a BPF map",
	.method = "fos.Show.Map",
	.build = _fosctl_build_name,
	.print = fosctl_print_map,
    },
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
    {
	.words = {"set", "add"},
	.args = {{.name = "NAME", .kind = FOSCTL_ARG_SET},
		 {.name = "CIDR", .kind = FOSCTL_ARG_CIDR}},
	.filters = fosctl_set_add_options,
	.options = true,
	.help = "Add a run-time entry to an IP set, for a time or until removed",
	.method = "fos.Set.Add",
	.build = _fosctl_build_set_add,
	.print = fosctl_print_set_add,
    },
    {
	.words = {"set", "del"},
	.args = {{.name = "NAME", .kind = FOSCTL_ARG_SET},
		 {.name = "CIDR", .kind = FOSCTL_ARG_CIDR}},
	.help = "Remove a run-time entry from an IP set",
	.method = "fos.Set.Del",
	.build = _fosctl_build_set_entry,
	.print = fosctl_print_set_del,
    },
    {
	.words = {"clear", "conntrack"},
	.filters = fosctl_ct_clear_filters,
	.help = "Remove tracked connections, all or those the filters select",
	.method = "fos.Clear.Conntrack",
	.build = _fosctl_build_ct_clear,
	.print = fosctl_print_conntrack_clear,
    },
    {
	.words = {"reload"},
	.help = "Reload the configuration; on any error the running one stays",
	.method = "fos.Reload",
	.print = fosctl_print_reload,
    },
    {
	.words = {"config", "check"},
	.args = {{.name = "FILE", .kind = FOSCTL_ARG_FILE}},
	.help = "Validate a configuration file without applying it",
	.method = "fos.Config.Check",
	.build = _fosctl_build_file,
	.print = fosctl_print_config_check,
    },
    {
	.words = {"help"},
	.help = "List the commands",
	.run = _fosctl_run_help,
    },
    {
	.words = {"quit"},
	.help = "Leave the shell",
	.shell_only = true,
	.run = _fosctl_run_quit,
    },
    {
	.words = {"exit"},
	.help = "Leave the shell",
	.shell_only = true,
	.run = _fosctl_run_quit,
    },
};
const size_t fosctl_n_commands = ARRAY_SIZE(fosctl_commands);
static_assert(ARRAY_SIZE(fosctl_commands) <= sizeof(fosctl_cmdset) * CHAR_BIT,
	      "fosctl_cmdset too small");

size_t fosctl_command_n_words(const struct fosctl_command *c)
{
	size_t n = 0;

	while (n < FOSCTL_WORDS_MAX && c->words[n])
		n++;
	return n;
}

void fosctl_command_arity(const struct fosctl_command *c, size_t *ret_min, size_t *ret_max)
{
	size_t min = 0, max = 0;

	for (; max < FOSCTL_ARGS_MAX && c->args[max].name; max++)
		if (!c->args[max].optional)
			min = max + 1;
	*ret_min = min;
	*ret_max = max;
}

const char *fosctl_command_filter_noun(const struct fosctl_command *c)
{
	return c->options ? "option" : "filter";
}

fosctl_cmdset fosctl_cmdset_all(bool shell)
{
	fosctl_cmdset set = 0;

	for (size_t i = 0; i < fosctl_n_commands; i++)
		if (shell || !fosctl_commands[i].shell_only)
			set |= (fosctl_cmdset)1 << i;
	return set;
}
