/* SPDX-License-Identifier: GPL-2.0-only */
/* Words typed against a command table (match.c): dispatch, help, `?` and
 * completion. */
#ifndef FOSCTL_MATCH_H
#define FOSCTL_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "table.h"

/* the table every function below works on */
void fosctl_match_use(const struct fosctl_command *v, size_t n);

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

#endif
