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

#include "cmdline.h"
#include "match.h"
#include "table.h"

extern const struct fosctl_command_rows fosctl_filter_commands;	   /* cmd_filter.c */
extern const struct fosctl_command_rows fosctl_conntrack_commands; /* cmd_conntrack.c */
extern const struct fosctl_command_rows fosctl_nat_commands;	   /* cmd_nat.c */
extern const struct fosctl_command_rows fosctl_ddos_commands;	   /* cmd_ddos.c */

/* Every command, once fosctl_commands_init() has put the rows together (in
 * the order help lists them) and handed them to the matcher. */
#define FOSCTL_COMMANDS_MAX 32
extern struct fosctl_command fosctl_commands[FOSCTL_COMMANDS_MAX];
extern size_t fosctl_n_commands;
void fosctl_commands_init(void);

/* Run one command (already split into words): the exit code, or FOSCTL_QUIT. */
int fosctl_exec(struct fosctl *f, char *const *tokens, size_t n);
/* Run one line of text; blank lines and "#" comments do nothing. */
int fosctl_exec_line(struct fosctl *f, const char *line);

#endif
