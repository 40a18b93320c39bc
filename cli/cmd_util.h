// SPDX-License-Identifier: GPL-2.0-only
/* What fosctl's command files share: the argument parsers and parameter
 * builders of commands.c, the table and list printers of print.c. */
#ifndef FOSCTL_CMD_UTIL_H
#define FOSCTL_CMD_UTIL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "commands.h"
#include "output.h"

#define FOSCTL_TIME_STRLEN  64
#define FOSCTL_PROTO_STRLEN 24

/* Text built piece by piece, ", " between the pieces; the first failure to
 * allocate is kept in error. */
struct fosctl_list {
	char *text;
	size_t len;
	FILE *s;
	bool empty;
};

int _fosctl_params_add(json_object *params, const char *key, const char *value);
int _fosctl_params_one(const char *key, char *const *args, size_t n_args, json_object **ret_params);
int _fosctl_build_name(char *const *args, size_t n_args, json_object **ret_params, char *err);
int _fosctl_build_program(char *const *args, size_t n_args, json_object **ret_params, char *err);
int _fosctl_build_filters(const struct fosctl_filter *filters, const char *noun, char *const *args,
			  size_t n_args, json_object **ret_params, char *err);
void _fosctl_kv_init(struct fosctl_table *t);
void _fosctl_kv(struct fosctl_table *t, const char *key, json_object *o, const char *path);
const char *_fosctl_str(json_object *o, const char *path);
bool _fosctl_bool(json_object *o, const char *path);
const char *_fosctl_text(json_object *v);
bool _fosctl_has(json_object *o, const char *path);
const char *_fosctl_proto(json_object *v, char *buf, size_t len);
int _fosctl_print_table(struct fosctl_table *t);
bool _fosctl_is_number(json_object *v);
const char *_fosctl_seconds(json_object *v, char *buf, size_t len);
int _fosctl_list_open(struct fosctl_list *l);
char *_fosctl_list_close(struct fosctl_list *l);
__attribute__((format(printf, 2, 3))) void _fosctl_list_add(struct fosctl_list *l, const char *fmt,
							    ...);

#endif
