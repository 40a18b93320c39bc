// SPDX-License-Identifier: GPL-2.0-only
/*
 * fosctl's commands of the IP sets (show sets, show set, set add, set del):
 * their rows, how their arguments become parameters and how the replies
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

static const struct fosctl_column fosctl_sets_columns[] = {
    {"NAME", false}, {"ENTRIES", true}, {"CONFIG", true}, {"DYNAMIC", true}, {"USED-BY", false},
};

static const struct fosctl_column fosctl_set_columns[] = {
    {"CIDR", false},
    {"TYPE", false},
    {"EXPIRES", true},
};

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

static const struct fosctl_command fosctl_filter_commands_rows[] = {
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
};

const struct fosctl_command_rows fosctl_filter_commands = {fosctl_filter_commands_rows,
							   ARRAY_SIZE(fosctl_filter_commands_rows)};
