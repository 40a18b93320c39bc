// SPDX-License-Identifier: GPL-2.0-only
/*
 * The config section of ipSets: named sets of networks, given inline or in
 * files, and the CIDR lists the rules use.
 */
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fos/abi.h>

#include "cleanup.h"
#include "config.h"
#include "config_reader.h"
#include "log.h"

static const char *const set_keys[] = {"name", "entries", "file", NULL};

static void _fos_ipset_done(struct fos_ipset *s)
{
	_fos_source_done(&s->src);
	free(s->entries);
	s->entries = NULL;
	s->n_entries = 0;
	free(s->file);
	s->file = NULL;
}

const struct fos_ipset *fos_config_find_set(const struct fos_config *c, const char *name)
{
	if (!c || !name)
		return NULL;
	for (size_t i = 0; i < c->n_sets; i++)
		if (strcmp(c->sets[i].name, name) == 0)
			return &c->sets[i];
	return NULL;
}

/* ---- CIDR lists ---------------------------------------------------------- */
/* 10.9.0.0/24 and ::ffff:10.9.0.0/120 are one prefix: compare in the
 * 128-bit space the datapath uses */
static int _fos_cidr_cmp(const struct fos_cidr *a, const struct fos_cidr *b)
{
	unsigned pa = fos_cidr_plen128(a), pb = fos_cidr_plen128(b);

	if (pa != pb)
		return pa < pb ? -1 : 1;
	return memcmp(a->addr.b, b->addr.b, sizeof(a->addr.b));
}

struct fos_cidr_pos {
	struct fos_cidr cidr;
	size_t pos;
};

static int _fos_cidr_pos_cmp(const void *a, const void *b)
{
	const struct fos_cidr_pos *x = a, *y = b;
	int r = _fos_cidr_cmp(&x->cidr, &y->cidr);

	if (r != 0)
		return r;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Drop repeated entries in place, keeping the first of each and the order.
 * Sorting a copy keeps this O(n log n) for set files of any size. */
static int _fos_cidrs_dedup(struct fos_cidr *v, size_t *n)
{
	_cleanup_free_ struct fos_cidr_pos *sorted = NULL;
	_cleanup_free_ bool *repeated = NULL;
	size_t out = 0;

	if (*n < 2)
		return 0;
	sorted = calloc(*n, sizeof(*sorted));
	repeated = calloc(*n, sizeof(*repeated));
	if (!sorted || !repeated)
		return -ENOMEM;

	for (size_t i = 0; i < *n; i++)
		sorted[i] = (struct fos_cidr_pos){.cidr = v[i], .pos = i};
	qsort(sorted, *n, sizeof(*sorted), _fos_cidr_pos_cmp);
	for (size_t i = 1; i < *n; i++)
		if (_fos_cidr_cmp(&sorted[i].cidr, &sorted[i - 1].cidr) == 0)
			repeated[sorted[i].pos] = true;

	for (size_t i = 0; i < *n; i++)
		if (!repeated[i])
			v[out++] = v[i];
	*n = out;
	return 0;
}

static int _fos_cidrs_push(struct fos_cidr **v, size_t *n, size_t *cap, const struct fos_cidr *c)
{
	if (*n == *cap) {
		size_t new_cap = *cap ? *cap * 2 : 16;
		struct fos_cidr *nv = reallocarray(*v, new_cap, sizeof(**v));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = new_cap;
	}
	(*v)[(*n)++] = *c;
	return 0;
}

/* Bit 0: some entry is IPv4; bit 1: some entry is IPv6. */
unsigned _fos_cidrs_families(const struct fos_cidr *v, size_t n)
{
	unsigned f = 0;

	for (size_t i = 0; i < n; i++)
		f |= v[i].family == AF_INET ? 1U : 2U;
	return f;
}

/* ---- set files ----------------------------------------------------------- */

/*
 * Parse the lines of an open set file into a new array. Lines that are not a
 * CIDR are recorded as "path:line: reason" and make it return -EINVAL once the
 * whole file is read. A read error returns -errno without recording anything:
 * the caller knows best where to report it.
 */
static int _fos_ipset_read_stream(FILE *f, const char *path, struct fos_cidr **ret, size_t *ret_n,
				  struct fos_errors *errs)
{
	_cleanup_free_ struct fos_cidr *v = NULL;
	_cleanup_free_ char *line = NULL;
	size_t n = 0, cap = 0, len = 0;
	unsigned long lineno = 0;
	bool bad = false;
	int r;

	errno = 0;
	while (getline(&line, &len, f) >= 0) {
		char err[FOS_ERRBUF] = "";
		struct fos_cidr c;
		char *s = line, *end;

		lineno++;
		s[strcspn(s, "#")] = '\0';
		while (isspace((unsigned char)*s))
			s++;
		end = s + strlen(s);
		while (end > s && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*s == '\0')
			continue;

		if (fos_parse_cidr(s, &c, err) < 0) {
			fos_errors_add(errs, path, (int)lineno, "%s", err[0] ? err : "not a CIDR");
			bad = true;
			continue;
		}
		r = _fos_cidrs_push(&v, &n, &cap, &c);
		if (r < 0)
			return r;
	}
	if (ferror(f))
		return errno > 0 ? -errno : -EIO;
	if (bad)
		return -EINVAL;

	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

/* Append add[] to *entries and drop repeats; returns how many entries the
 * list grew by. */
static int _fos_cidrs_merge(struct fos_cidr **entries, size_t *n, const struct fos_cidr *add,
			    size_t n_add)
{
	_cleanup_free_ struct fos_cidr *v = NULL;
	size_t total = *n + n_add;
	int r;

	if (total == 0)
		return 0;
	v = calloc(total, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (*n > 0)
		memcpy(v, *entries, *n * sizeof(*v));
	if (n_add > 0)
		memcpy(v + *n, add, n_add * sizeof(*v));
	r = _fos_cidrs_dedup(v, &total);
	if (r < 0)
		return r;

	r = (int)(total - *n);
	free(*entries);
	*entries = TAKE_PTR(v);
	*n = total;
	return r;
}

int fos_ipset_read_file(const char *path, struct fos_cidr **entries, size_t *n,
			struct fos_errors *errs)
{
	_cleanup_free_ struct fos_cidr *v = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	size_t n_read = 0;
	int r;

	assert(path);
	assert(entries);
	assert(n);

	f = _fos_fopen_regular(path);
	if (!f) {
		r = -errno;
		fos_errors_add(errs, path, 0, "%s", _fos_open_strerror(r));
		return r;
	}
	r = _fos_ipset_read_stream(f, path, &v, &n_read, errs);
	if (r == -EINVAL || r == -ENOMEM)
		return r;
	if (r < 0) {
		fos_errors_add(errs, path, 0, "%s", strerror(-r));
		return r;
	}
	return _fos_cidrs_merge(entries, n, v, n_read);
}

/* ---- ipSets -------------------------------------------------------------- */
static int _fos_cidr_push_setting(struct fos_loader *ld, const config_setting_t *s,
				  struct fos_cidr **v, size_t *n, size_t *cap)
{
	char err[FOS_ERRBUF] = "";
	struct fos_cidr c;
	const char *text;

	text = _fos_string(ld, s);
	if (!text)
		return 0;
	if (fos_parse_cidr(text, &c, err) < 0) {
		_fos_err(ld, s, "%s", err[0] ? err : "not a CIDR");
		return 0;
	}
	return _fos_cidrs_push(v, n, cap, &c);
}

/* Append the CIDRs of a set file to v[]; problems are reported at the `file`
 * setting s, bad lines at their own line of the set file. */
static int _fos_set_file_read(struct fos_loader *ld, const config_setting_t *s, const char *path,
			      struct fos_cidr **v, size_t *n, size_t *cap)
{
	_cleanup_free_ struct fos_cidr *fv = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	size_t fn = 0;
	int r;

	f = _fos_fopen_regular(path);
	if (!f) {
		r = -errno;
		_fos_err(ld, s, "cannot read \"%s\": %s", path, _fos_open_strerror(r));
		return 0;
	}
	r = _fos_ipset_read_stream(f, path, &fv, &fn, ld->errs);
	if (r == -ENOMEM)
		return r;
	if (r == -EINVAL) {
		ld->n_failed++;
		return 0;
	}
	if (r < 0) {
		_fos_err(ld, s, "cannot read \"%s\": %s", path, strerror(-r));
		return 0;
	}
	for (size_t i = 0; i < fn; i++) {
		r = _fos_cidrs_push(v, n, cap, &fv[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int _fos_parse_set(struct fos_loader *ld, const config_setting_t *g)
{
	_cleanup_(_fos_ipset_done) struct fos_ipset set = {};
	const config_setting_t *name_s, *s;
	struct fos_ipset *sets;
	size_t cap = 0;
	bool named;
	int r;

	_fos_check_keys(ld, g, set_keys);
	name_s = _fos_required(ld, g, "name");
	named = name_s && _fos_name(ld, name_s, set.name);
	r = _fos_source_set(ld, name_s ?: g, &set.src);
	if (r < 0)
		return r;

	s = config_setting_get_member(g, "entries");
	if (s && _fos_want_list(ld, s)) {
		int n = config_setting_length(s);

		for (int i = 0; i < n; i++) {
			r = _fos_cidr_push_setting(ld, config_setting_get_elem(s, (unsigned)i),
						   &set.entries, &set.n_entries, &cap);
			if (r < 0)
				return r;
		}
	}

	s = config_setting_get_member(g, "file");
	if (s) {
		const char *v = _fos_string(ld, s);

		if (v && *v == '\0') {
			_fos_err(ld, s, "an empty string is not a file name");
		} else if (v) {
			r = _fos_path_beside(_fos_setting_file(ld, s), v, &set.file);
			if (r < 0)
				return r;
			r = _fos_set_file_read(ld, s, set.file, &set.entries, &set.n_entries, &cap);
			if (r < 0)
				return r;
		}
	}

	r = _fos_cidrs_dedup(set.entries, &set.n_entries);
	if (r < 0)
		return r;

	if (named) {
		const struct fos_ipset *other = fos_config_find_set(ld->cfg, set.name);

		if (other)
			_fos_err(ld, name_s, "ipSet \"%s\" is already defined at %s:%d", set.name,
				 other->src.file, other->src.line);
	}

	sets = reallocarray(ld->cfg->sets, ld->cfg->n_sets + 1, sizeof(*sets));
	if (!sets)
		return -ENOMEM;
	ld->cfg->sets = sets;
	sets[ld->cfg->n_sets++] = set;
	set = (struct fos_ipset){};
	return 0;
}

/* ---- CIDR settings of the rules ------------------------------------------- */
/* srcCIDR/dstCIDR: one string, or a non-empty list of them. */
int _fos_parse_cidrs(struct fos_loader *ld, const config_setting_t *s, struct fos_cidr **ret,
		     size_t *ret_n)
{
	_cleanup_free_ struct fos_cidr *v = NULL;
	size_t n = 0, cap = 0;
	int r;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		r = _fos_cidr_push_setting(ld, s, &v, &n, &cap);
		if (r < 0)
			return r;
	} else if (config_setting_is_list(s) || config_setting_is_array(s)) {
		int len = config_setting_length(s);

		if (len == 0)
			_fos_err(ld, s, "an empty list matches nothing");
		for (int i = 0; i < len; i++) {
			r = _fos_cidr_push_setting(ld, config_setting_get_elem(s, (unsigned)i), &v,
						   &n, &cap);
			if (r < 0)
				return r;
		}
	} else {
		_fos_err(ld, s, "expected a string or a list of strings, got %s", _fos_kind(s));
	}

	r = _fos_cidrs_dedup(v, &n);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

static void _fos_sets_done(struct fos_config *c)
{
	for (size_t i = 0; i < c->n_sets; i++)
		_fos_ipset_done(&c->sets[i]);
	free(c->sets);
	c->sets = NULL;
	c->n_sets = 0;
}

const struct fos_conf_section fos_conf_sets = {
    .key = "ipSets",
    .list = true,
    .parse = _fos_parse_set,
    .done = _fos_sets_done,
};
