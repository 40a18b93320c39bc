/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The text form of each reply type; -j bypasses these and prints the reply's
 * parameters as they came (fosctl_print_reply() picks one or the other).
 * A printer shows a missing or null field as "-"; it returns -EBADMSG only
 * when the reply lacks what the output is made of (a list's array).
 */
#ifndef FOSCTL_PRINT_H
#define FOSCTL_PRINT_H

#include <json-c/json.h>
#include <stdbool.h>

#include "commands.h"

int fosctl_print_status(json_object *p);
int fosctl_print_programs(json_object *p);
int fosctl_print_program(json_object *p);
int fosctl_print_rules(json_object *p);
int fosctl_print_sets(json_object *p);
int fosctl_print_set(json_object *p);
int fosctl_print_maps(json_object *p);
int fosctl_print_map(json_object *p);
int fosctl_print_set_add(json_object *p);
int fosctl_print_set_del(json_object *p);
int fosctl_print_reload(json_object *p);
int fosctl_print_config_check(json_object *p);
int fosctl_print_conntrack(json_object *p);
int fosctl_print_conntrack_summary(json_object *p);
int fosctl_print_conntrack_clear(json_object *p);
int fosctl_print_ddos(json_object *p);
int fosctl_print_ddos_top(json_object *p);

/* A rule's match in one line: "proto tcp src 10.0.0.0/8 dport 22,8000-8100
 * state new", "any" when it matches everything. Caller frees; NULL when out
 * of memory. */
char *fosctl_match_format(json_object *match);

/* Print a reply (an error or parameters) for cmd: the exit code. */
int fosctl_print_reply(const struct fosctl *f, const struct fosctl_command *cmd,
		       json_object *reply);

#endif
