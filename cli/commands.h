/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fosctl's one command table. Dispatch, `help`, `?` and tab completion all
 * read it, so they cannot disagree about what exists.
 *
 * A command is a fixed sequence of words ("show", "program") followed by
 * arguments (NAME, CIDR, ...). Every word may be abbreviated to a prefix; a
 * prefix that fits several words is resolved by the number of arguments that
 * follow ("sh prog" is "show programs", "sh prog x" is "show program x"),
 * and is an ambiguity error otherwise. A token that fits a word is that word,
 * not an argument of a shorter command ("show conntrack summary").
 *
 * After its arguments a command may take filters: "keyword value" pairs in
 * any order, each keyword at most once and abbreviable like a word
 * ("show conntrack state established proto tcp"). A command with few of them
 * calls them options and spells each out in its syntax ("[timeout SECONDS]").
 */
#ifndef FOSCTL_COMMANDS_H
#define FOSCTL_COMMANDS_H

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

extern const struct fosctl_command fosctl_commands[];
extern const size_t fosctl_n_commands;

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

/* Every command usable here: shell-only ones only in the shell. */
fosctl_cmdset fosctl_cmdset_all(bool shell);

enum fosctl_match_result {
	FOSCTL_MATCH_OK,
	FOSCTL_MATCH_UNKNOWN,	 /* a word fits no command */
	FOSCTL_MATCH_AMBIGUOUS,	 /* several commands fit */
	FOSCTL_MATCH_INCOMPLETE, /* the words stop before a command does */
	FOSCTL_MATCH_MISSING,	 /* fewer arguments than the command needs */
	FOSCTL_MATCH_EXTRA,	 /* more arguments than the command takes */
	_FOSCTL_MATCH_MAX,
};

struct fosctl_match {
	enum fosctl_match_result result;
	const struct fosctl_command *command; /* OK, MISSING, EXTRA */
	fosctl_cmdset candidates;	      /* the commands the message is about */
	size_t token;			      /* the token that went wrong */
};

void fosctl_match(char *const *tokens, size_t n, bool shell, struct fosctl_match *ret);
/* A failed match as "fosctl: ..." with the help of the commands concerned. */
void fosctl_match_explain(const struct fosctl_match *m, char *const *tokens, size_t n, FILE *f);

/* The commands that tokens[0..n) can still grow into, with a word or an
 * argument at position n or (for `?`'s "<cr>") ending there. */
fosctl_cmdset fosctl_context(char *const *tokens, size_t n, bool shell);

/* Help lines for set: each command's syntax from word `from` on and its help. */
int fosctl_help_print(fosctl_cmdset set, size_t from, FILE *f);
/* "filter" or "option": what the "keyword value" pairs of c are called. */
const char *fosctl_command_filter_noun(const struct fosctl_command *c);
/* Help lines for the filters of c ("  src CIDR  ..."); nothing without any. */
int fosctl_help_filters(const struct fosctl_command *c, FILE *f);
/* What may come at position n after tokens[0..n), for `?`; partial is the
 * part of the word typed so far ("" if none). */
int fosctl_help_context(char *const *tokens, size_t n, const char *partial, bool shell, FILE *f);

/*
 * Candidates for the word at position n that start with partial: fixed words
 * (command words, filter keywords not given yet, values of kinds with a fixed
 * list) into *ret_words (NULL-terminated, sorted, unique; free with
 * fosctl_strv_free), and the kinds of arguments possible there as a bit mask
 * (1 << enum fosctl_arg_kind) in *ret_kinds.
 */
int fosctl_complete(char *const *tokens, size_t n, const char *partial, bool shell,
		    char ***ret_words, unsigned *ret_kinds);

/*
 * Split a line into words at blanks; '...' and "..." quote, backslash
 * escapes. A line ending inside quotes is -EINVAL unless lenient (completion
 * works on half-typed lines). *ret_trailing_blank tells whether the line
 * ends between words (may be NULL).
 */
int fosctl_split(const char *line, bool lenient, char ***ret_tokens, size_t *ret_n,
		 bool *ret_trailing_blank);

void fosctl_strv_free(char **v);
static inline void fosctl_strv_freep(char ***v)
{
	fosctl_strv_free(*v);
	*v = NULL;
}

/* Run one command (already split into words): the exit code, or FOSCTL_QUIT. */
int fosctl_exec(struct fosctl *f, char *const *tokens, size_t n);
/* Run one line of text; blank lines and "#" comments do nothing. */
int fosctl_exec_line(struct fosctl *f, const char *line);

#endif
