/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A command table of fosctl: what a command is (its words, arguments and
 * filters, the method it calls and how its reply prints) and the kinds of
 * arguments. The rows are the core's (commands.c) and each feature's
 * (cmd_<feature>.c); match.c works on the table it is handed.
 */
#ifndef FOSCTL_TABLE_H
#define FOSCTL_TABLE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fosctl.h"
#include "parse.h"

#define FOSCTL_WORDS_MAX 3
#define FOSCTL_ARGS_MAX	 2

/* What an argument holds: decides its help text and how it completes. */
enum fosctl_arg_kind {
	FOSCTL_ARG_PROGRAM, /* completes from fos.Show.Programs */
	FOSCTL_ARG_SET,	    /* completes from fos.Show.Sets */
	FOSCTL_ARG_MAP,	    /* completes from fos.Show.Maps */
	FOSCTL_ARG_CIDR,
	FOSCTL_ARG_FILE,  /* completes file names */
	FOSCTL_ARG_PROTO, /* completes from a fixed list */
	FOSCTL_ARG_PORT,
	FOSCTL_ARG_CT_STATE, /* a conntrack entry state; completes from a fixed list */
	FOSCTL_ARG_ZONE,
	FOSCTL_ARG_LIMIT,
	FOSCTL_ARG_TOP_LIMIT, /* a number of sources, 1-10000 */
	FOSCTL_ARG_TIMEOUT,   /* seconds, or a duration ("5m") */
	FOSCTL_ARG_NAT,	      /* a natConfig; completes from fos.Show.Nat */
	_FOSCTL_ARG_KIND_MAX,
};

struct fosctl_arg {
	const char *name; /* placeholder shown in help: "NAME"; NULL ends the list */
	enum fosctl_arg_kind kind;
	bool optional; /* only trailing arguments may be optional */
};

/* A "keyword value" pair; the keyword is also the parameter's name. */
struct fosctl_filter {
	const char *keyword; /* NULL ends the list */
	const char *value;   /* placeholder shown in help: "CIDR" */
	enum fosctl_arg_kind kind;
	const char *help;
};

struct fosctl_command {
	const char *words[FOSCTL_WORDS_MAX + 1]; /* NULL-terminated */
	struct fosctl_arg args[FOSCTL_ARGS_MAX + 1];
	const struct fosctl_filter *filters; /* after the arguments; NULL if none */
	bool options; /* the filters are options: "[limit N]" each, not "[FILTER...]" */
	const char *help;
	bool shell_only; /* meaningless in a one-shot command: quit, exit */

	/* A daemon command: the method, its parameters and its reply's text form.
	 * build() gets the arguments only; it fails with -EINVAL and a message in
	 * err (FOS_ERRBUF) for a bad argument. NULL build sends {}. */
	const char *method;
	int (*build)(char *const *args, size_t n_args, json_object **ret_params, char *err);
	int (*print)(json_object *params);

	/* A local command: returns an exit code or FOSCTL_QUIT. */
	int (*run)(struct fosctl *f);
};

/* One feature's commands (or the core's). */
struct fosctl_command_rows {
	const struct fosctl_command *v;
	size_t n;
};
/* A set of commands, as bits indexed like fosctl_commands[]. */
typedef uint32_t fosctl_cmdset;

size_t fosctl_command_n_words(const struct fosctl_command *c);
void fosctl_command_arity(const struct fosctl_command *c, size_t *ret_min, size_t *ret_max);
/* The placeholder help for an argument kind ("an IP set name"). */
const char *fosctl_arg_kind_help(enum fosctl_arg_kind kind);
/* For kinds that complete from the daemon: the method and the reply's array
 * whose elements carry "name". NULL when the kind does not. */
const char *fosctl_arg_kind_method(enum fosctl_arg_kind kind, const char **ret_array);
/* For kinds that complete from a fixed list: the list, NULL-terminated. */
const char *const *fosctl_arg_kind_values(enum fosctl_arg_kind kind);
/* Whether a filter value of this kind can be checked and sent. */
bool fosctl_arg_kind_is_filter(enum fosctl_arg_kind kind);

/* The filter a keyword (or a prefix of one) names: 0 and *ret, -ENOENT if
 * none, -EINVAL if several. */
int fosctl_filter_find(const struct fosctl_filter *filters, const char *keyword,
		       const struct fosctl_filter **ret);
/* Check a filter value of this kind (fosctl_arg_kind_is_filter) and make
 * the parameter it sends: 0 and *ret, -EINVAL and a reason in err. */
int fosctl_arg_kind_parse(enum fosctl_arg_kind kind, const char *s, json_object **ret, char *err);
/* "filter" or "option": what the "keyword value" pairs of c are called. */
const char *fosctl_command_filter_noun(const struct fosctl_command *c);

#endif
