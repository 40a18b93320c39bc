// SPDX-License-Identifier: GPL-2.0-only
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "output.h"

#define FOSCTL_JSON_PRETTY                                                                         \
	(JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)
#define FOSCTL_JSON_COMPACT (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

void fosctl_table_init(struct fosctl_table *t, const struct fosctl_column *columns,
		       size_t n_columns, bool header)
{
	assert(n_columns > 0);
	*t = (struct fosctl_table){
	    .columns = columns,
	    .n_columns = n_columns,
	    .header = header,
	};
}

void fosctl_table_done(struct fosctl_table *t)
{
	for (size_t i = 0; i < t->n_cells; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->n_cells = t->cap = 0;
}

/* Takes ownership of cell, which may be NULL after a failed allocation. */
static void _fosctl_table_push(struct fosctl_table *t, char *cell)
{
	if (!cell) {
		t->error = -ENOMEM;
		return;
	}
	if (t->n_cells == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **cells = reallocarray(t->cells, cap, sizeof(*cells));

		if (!cells) {
			free(cell);
			t->error = -ENOMEM;
			return;
		}
		t->cells = cells;
		t->cap = cap;
	}
	t->cells[t->n_cells++] = cell;
}

void fosctl_table_add(struct fosctl_table *t, const char *fmt, ...)
{
	char *cell;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&cell, fmt, ap);
	va_end(ap);
	_fosctl_table_push(t, r < 0 ? NULL : cell);
}

void fosctl_table_add_value(struct fosctl_table *t, json_object *v)
{
	_fosctl_table_push(t, fosctl_value_format(v));
}

static void _fosctl_table_row(const struct fosctl_table *t, const size_t *width,
			      const char *const *row, size_t n, FILE *f)
{
	size_t last = n;

	/* Trailing empty cells print nothing, not even separators. */
	while (last > 0 && row[last - 1][0] == '\0')
		last--;

	fprintf(f, "%*s", (int)t->indent, "");
	for (size_t c = 0; c < last; c++) {
		const struct fosctl_column *col = &t->columns[c];
		int pad = (int)width[c];

		if (c > 0)
			fputs("  ", f);
		if (col->right)
			fprintf(f, "%*s", pad, row[c]);
		else if (c + 1 == last)
			fputs(row[c], f);
		else
			fprintf(f, "%-*s", pad, row[c]);
	}
	fputc('\n', f);
}

int fosctl_table_print(const struct fosctl_table *t, FILE *f)
{
	_cleanup_free_ size_t *width = NULL;
	_cleanup_free_ const char **titles = NULL;
	size_t n = t->n_columns;

	if (t->error < 0)
		return t->error;

	width = calloc(n, sizeof(*width));
	titles = calloc(n, sizeof(*titles));
	if (!width || !titles)
		return -ENOMEM;

	for (size_t c = 0; c < n; c++) {
		titles[c] = t->columns[c].title ? t->columns[c].title : "";
		if (t->header)
			width[c] = strlen(titles[c]);
	}
	for (size_t i = 0; i < t->n_cells; i++) {
		size_t w = strlen(t->cells[i]);

		if (w > width[i % n])
			width[i % n] = w;
	}

	if (t->header)
		_fosctl_table_row(t, width, titles, n, f);
	for (size_t i = 0; i < t->n_cells; i += n) {
		size_t cells = t->n_cells - i < n ? t->n_cells - i : n;

		_fosctl_table_row(t, width, (const char *const *)t->cells + i, cells, f);
	}
	return 0;
}

static char *_fosctl_array_format(json_object *v)
{
	size_t n = json_object_array_length(v);
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (n == 0)
		return strdup("-");

	f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *e = fosctl_value_format(json_object_array_get_idx(v, i));

		if (!e) {
			fclose(f);
			free(text);
			return NULL;
		}
		fprintf(f, "%s%s", i > 0 ? ", " : "", e);
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

char *fosctl_value_format(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return strdup("-");
	case json_type_boolean:
		return strdup(json_object_get_boolean(v) ? "yes" : "no");
	case json_type_array:
		return _fosctl_array_format(v);
	case json_type_object:
		return strdup(fosctl_json_compact(v));
	case json_type_string:
	case json_type_int:
	case json_type_double:
		break;
	}
	return strdup(json_object_get_string(v));
}

json_object *fosctl_json_get(json_object *o, const char *path)
{
	const char *p = path;

	while (o && *p) {
		const char *dot = strchrnul(p, '.');
		char key[128];
		size_t len = (size_t)(dot - p);

		if (len >= sizeof(key) || !json_object_is_type(o, json_type_object))
			return NULL;
		memcpy(key, p, len);
		key[len] = '\0';
		if (!json_object_object_get_ex(o, key, &o))
			return NULL;
		p = *dot ? dot + 1 : dot;
	}
	return o;
}

json_object *fosctl_json_array(json_object *o, const char *path, size_t *ret_n)
{
	json_object *a = fosctl_json_get(o, path);

	if (!json_object_is_type(a, json_type_array)) {
		*ret_n = 0;
		return NULL;
	}
	*ret_n = json_object_array_length(a);
	return a;
}

const char *fosctl_format_duration(uint64_t seconds, char *buf, size_t len)
{
	static const struct {
		char unit;
		uint64_t seconds;
	} units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
	size_t off = 0;
	bool started = false;

	assert(len > 0);
	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		uint64_t n = seconds / units[i].seconds;
		int w;

		seconds %= units[i].seconds;
		if (n == 0 && !started && units[i].unit != 's')
			continue;
		started = true;
		w = snprintf(buf + off, len - off, "%" PRIu64 "%c", n, units[i].unit);
		if (w < 0 || (size_t)w >= len - off)
			break;
		off += (size_t)w;
	}
	return buf;
}

/* RFC 3339 ("2024-05-01T10:00:00.123Z", "...+02:00") to Unix seconds. */
static int _fosctl_parse_rfc3339(const char *s, time_t *ret)
{
	struct tm tm = {};
	const char *p;
	long offset = 0;
	time_t t;

	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		p = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	if (!p)
		return -EINVAL;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int hh, mm, n = 0;

		if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 || n != 5)
			return -EINVAL;
		offset = (hh * 60L + mm) * 60L * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;

	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ret = t - offset;
	return 0;
}

const char *fosctl_format_time(json_object *v, char *buf, size_t len)
{
	struct tm tm;
	time_t t;

	assert(len > 0);
	switch (json_object_get_type(v)) {
	case json_type_int:
		t = (time_t)json_object_get_int64(v);
		break;
	case json_type_double:
		t = (time_t)json_object_get_double(v);
		break;
	case json_type_string:
		if (_fosctl_parse_rfc3339(json_object_get_string(v), &t) == 0)
			break;
		snprintf(buf, len, "%s", json_object_get_string(v));
		return buf;
	case json_type_null:
		snprintf(buf, len, "-");
		return buf;
	default:
		snprintf(buf, len, "%s", fosctl_json_compact(v));
		return buf;
	}

	if (!localtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
	return buf;
}

int fosctl_json_print(json_object *v, FILE *f)
{
	const char *s = json_object_to_json_string_ext(v, FOSCTL_JSON_PRETTY);

	if (!s)
		return -ENOMEM;
	fprintf(f, "%s\n", s);
	return 0;
}

const char *fosctl_json_compact(json_object *v)
{
	const char *s = json_object_to_json_string_ext(v, FOSCTL_JSON_COMPACT);

	return s ? s : "null";
}
