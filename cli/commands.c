// SPDX-License-Identifier: GPL-2.0-only
/*
 * The core's commands (status, programs, rules, maps, reload, config check,
 * help, quit) with the parameters they send, and the table of every
 * feature's rows, put together in the order help lists them.
 */
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
#include "cmd_util.h"
#include "commands.h"
#include "print.h"

int _fosctl_params_add(json_object *params, const char *key, const char *value)
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
int _fosctl_params_one(const char *key, char *const *args, size_t n_args, json_object **ret_params)
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

int _fosctl_build_name(char *const *args, size_t n_args, json_object **ret_params, char *err)
{
	(void)err;
	return _fosctl_params_one("name", args, n_args, ret_params);
}

int _fosctl_build_program(char *const *args, size_t n_args, json_object **ret_params, char *err)
{
	(void)err;
	return _fosctl_params_one("program", args, n_args, ret_params);
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
int _fosctl_build_filters(const struct fosctl_filter *filters, const char *noun, char *const *args,
			  size_t n_args, json_object **ret_params, char *err)
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
		r = fosctl_arg_kind_parse(f->kind, args[i + 1], &v, reason);
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

/* the core's commands: the daemon, its programs and maps, the shell */
static const struct fosctl_command fosctl_core_rows[] = {
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

static const struct fosctl_command_rows fosctl_core_commands = {fosctl_core_rows,
								ARRAY_SIZE(fosctl_core_rows)};

/* The core's rows, then every feature's: a feature adds its rows here. */
static const struct fosctl_command_rows *const fosctl_groups[] = {
    &fosctl_core_commands, &fosctl_filter_commands, &fosctl_conntrack_commands,
    &fosctl_ddos_commands, &fosctl_nat_commands,
};

struct fosctl_command fosctl_commands[FOSCTL_COMMANDS_MAX];
size_t fosctl_n_commands;
static_assert(FOSCTL_COMMANDS_MAX <= sizeof(fosctl_cmdset) * CHAR_BIT, "fosctl_cmdset too small");

static bool _fosctl_is_show(const struct fosctl_command *c)
{
	return strcmp(c->words[0], "show") == 0;
}

/* The table in the order help lists it: every "show" command (the core's,
 * then each feature's), the features' other commands, the core's others. */
void fosctl_commands_init(void)
{
	size_t n = 0;

	if (fosctl_n_commands)
		return;
	for (int pass = 0; pass < 3; pass++)
		for (size_t g = 0; g < ARRAY_SIZE(fosctl_groups); g++)
			for (size_t i = 0; i < fosctl_groups[g]->n; i++) {
				const struct fosctl_command *c = &fosctl_groups[g]->v[i];
				bool show = _fosctl_is_show(c);

				if ((pass == 0 && show) || (pass == 1 && !show && g > 0) ||
				    (pass == 2 && !show && g == 0)) {
					assert(n < FOSCTL_COMMANDS_MAX);
					fosctl_commands[n++] = *c;
				}
			}
	fosctl_n_commands = n;
	fosctl_match_use(fosctl_commands, n);
}
