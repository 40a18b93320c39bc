/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Building blocks for fosctl's text output: aligned tables (also used for
 * "key: value" blocks and help listings), rendering of JSON values for
 * humans, times and durations; and the one JSON printer used by -j.
 */
#ifndef FOSCTL_OUTPUT_H
#define FOSCTL_OUTPUT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct fosctl_column {
	const char *title;
	bool right; /* right-aligned (numbers) */
};

/*
 * Cells are added row by row, left to right. Adding never fails visibly: an
 * allocation failure is remembered and returned by fosctl_table_print(), so a
 * printer can add all its cells and check once.
 */
struct fosctl_table {
	const struct fosctl_column *columns;
	size_t n_columns;
	bool header;	 /* print the titles as the first row */
	unsigned indent; /* spaces before each row */
	char **cells;
	size_t n_cells;
	size_t cap;
	int error;
};

void fosctl_table_init(struct fosctl_table *t, const struct fosctl_column *columns,
		       size_t n_columns, bool header);
void fosctl_table_done(struct fosctl_table *t);
__attribute__((format(printf, 2, 3))) void fosctl_table_add(struct fosctl_table *t, const char *fmt,
							    ...);
/* A cell holding a JSON value as fosctl_value_format() renders it. */
void fosctl_table_add_value(struct fosctl_table *t, json_object *v);
/* Columns are separated by two spaces; trailing blanks are not printed. */
int fosctl_table_print(const struct fosctl_table *t, FILE *f);

/*
 * A JSON value for a human: missing/null "-", booleans "yes"/"no", strings
 * unquoted, arrays joined with ", " ("-" when empty), objects as compact
 * JSON. Returns NULL only when out of memory.
 */
char *fosctl_value_format(json_object *v);

/* Look up a dotted path ("status.metrics.bytes"); NULL if any part is missing. */
json_object *fosctl_json_get(json_object *o, const char *path);
/* The array at path, or NULL; *ret_n is its length (0 if absent). */
json_object *fosctl_json_array(json_object *o, const char *path, size_t *ret_n);

/* Seconds as "1d2h3m4s", from the largest non-zero unit down: "3m0s", "0s". */
const char *fosctl_format_duration(uint64_t seconds, char *buf, size_t len);
/*
 * A point in time as local time "2024-05-01 12:00:00 CEST". v holds Unix
 * seconds (integer or fraction) or an RFC 3339 string; anything else is
 * shown as its text. Returns buf.
 */
const char *fosctl_format_time(json_object *v, char *buf, size_t len);

/* JSON for -j: pretty, spaced, slashes unescaped, newline-terminated. */
int fosctl_json_print(json_object *v, FILE *f);
/* One-line JSON, slashes unescaped. */
const char *fosctl_json_compact(json_object *v);

#endif
