// SPDX-License-Identifier: GPL-2.0-only
/* The command table and the parameters each command sends. */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "print.h"

static const struct {
	const char *help;
	const char *method; /* completes from this method's reply */
	const char *array;  /* ... the "name" of each element of this array */
} fosctl_arg_kinds[] = {
    [FOSCTL_ARG_PROGRAM] = {"a program name", "fos.Show.Programs", "programs"},
    [FOSCTL_ARG_SET] = {"an IP set name", "fos.Show.Sets", "sets"},
    [FOSCTL_ARG_MAP] = {"a BPF map name", "fos.Show.Maps", "maps"},
    [FOSCTL_ARG_CIDR] = {"an address or prefix: 192.0.2.0/24, 2001:db8::/32", NULL, NULL},
    [FOSCTL_ARG_FILE] = {"a configuration file", NULL, NULL},
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
	.words = {"set", "add"},
	.args = {{.name = "NAME", .kind = FOSCTL_ARG_SET},
		 {.name = "CIDR", .kind = FOSCTL_ARG_CIDR}},
	.help = "Add a run-time entry to an IP set",
	.method = "fos.Set.Add",
	.build = _fosctl_build_set_entry,
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

fosctl_cmdset fosctl_cmdset_all(bool shell)
{
	fosctl_cmdset set = 0;

	for (size_t i = 0; i < fosctl_n_commands; i++)
		if (shell || !fosctl_commands[i].shell_only)
			set |= (fosctl_cmdset)1 << i;
	return set;
}
