// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the config reader and its sections share (config_reader.h): error
 * reports with file, line and the setting's path, typed values, key checks
 * with suggestions, names, durations, files to read.
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

static_assert(FOS_MAX_PORT_SPANS == FOS_RULE_MAX_PORTS, "port spans per rule differ from the ABI");

static_assert((int)FOS_CFG_PASS == (int)FOS_ACT_PASS && (int)FOS_CFG_DROP == (int)FOS_ACT_DROP &&
		  (int)FOS_CFG_REDIRECT == (int)FOS_ACT_REDIRECT,
	      "config actions and ABI actions differ");

static_assert(_FOS_CT_CLASS_MAX <= 8, "fos_match.state holds one bit per conntrack class");

static_assert(FOS_CT_DEFAULT_MAX <= FOS_CT_MAX_CONNECTIONS,
	      "default conntrack size over the limit");

static_assert(sizeof(((struct fos_daemon_cfg *)NULL)->socket) ==
		  sizeof(((struct sockaddr_un *)NULL)->sun_path),
	      "daemon.socket must hold exactly a sockaddr_un path");

void fos_errors_add(struct fos_errors *e, const char *file, int line, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL, *full = NULL;
	char **msgs;
	va_list ap;
	int r;

	if (!e)
		return;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		msg = NULL;
		return;
	}

	if (file && line > 0)
		r = asprintf(&full, "%s:%d: %s", file, line, msg);
	else if (file)
		r = asprintf(&full, "%s: %s", file, msg);
	else
		full = TAKE_PTR(msg);
	if (r < 0) {
		full = NULL;
		return;
	}

	msgs = reallocarray(e->msgs, e->n + 1, sizeof(*msgs));
	if (!msgs)
		return;
	e->msgs = msgs;
	e->msgs[e->n++] = TAKE_PTR(full);
}

void fos_errors_clear(struct fos_errors *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++)
		free(e->msgs[i]);
	free(e->msgs);
	e->msgs = NULL;
	e->n = 0;
}

/* ---- the model ----------------------------------------------------------- */
void _fos_source_done(struct fos_source *s)
{
	free(s->file);
	s->file = NULL;
}

/* ---- files to read --------------------------------------------------------- */
/* Open a config or set file for reading: regular files only (a FIFO or a
 * device would block or never end), at most FOS_CONFIG_FILE_MAX bytes.
 * Returns a FILE or NULL with errno set. */
#define FOS_CONFIG_FILE_MAX (512U * 1024 * 1024)

/* what a failed _fos_fopen_regular() means, in words */
const char *_fos_open_strerror(int r)
{
	if (r == -EINVAL)
		return "not a regular file";
	return strerror(-r);
}

FILE *_fos_fopen_regular(const char *path)
{
	struct stat st;
	FILE *f;
	int fd;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > FOS_CONFIG_FILE_MAX) {
		int e = S_ISDIR(st.st_mode) ? EISDIR : !S_ISREG(st.st_mode) ? EINVAL : EFBIG;

		close(fd);
		errno = e;
		return NULL;
	}
	f = fdopen(fd, "r");
	if (!f) {
		int e = errno;

		close(fd);
		errno = e;
	}
	return f;
}

/* ---- paths --------------------------------------------------------------- */
/* rel as seen from the directory holding base: "sets/x.txt" beside
 * "/etc/fos/fwd.conf" is "/etc/fos/sets/x.txt". */
int _fos_path_beside(const char *base, const char *rel, char **ret)
{
	const char *slash = strrchr(base, '/');
	char *p;

	if (rel[0] == '/' || !slash)
		p = strdup(rel);
	else if (asprintf(&p, "%.*s/%s", (int)(slash - base), base, rel) < 0)
		p = NULL;
	if (!p)
		return -ENOMEM;
	*ret = p;
	return 0;
}

void _fos_where_done(struct fos_where *w)
{
	free(w->path);
	w->path = NULL;
	free(w->file);
	w->file = NULL;
}

const char *_fos_setting_file(const struct fos_loader *ld, const config_setting_t *s)
{
	return config_setting_source_file(s) ?: ld->file;
}

static void _fos_path_append(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *parent = config_setting_parent(s);
	size_t n;

	if (!parent)
		return;
	_fos_path_append(parent, buf, len);
	n = strlen(buf);
	if (config_setting_is_group(parent))
		snprintf(buf + n, len - n, "%s%s", n > 0 ? "." : "", config_setting_name(s));
	else
		snprintf(buf + n, len - n, "[%d]", config_setting_index(s));
}

const char *_fos_setting_path(const config_setting_t *s, char *buf, size_t len)
{
	buf[0] = '\0';
	_fos_path_append(s, buf, len);
	return buf;
}

/* Record an error about the setting `where`, at the line of the setting `at`
 * (which may be where itself, or the member of where that is in conflict). */
__attribute__((format(printf, 4, 5))) void _fos_err_at(struct fos_loader *ld,
						       const config_setting_t *where,
						       const config_setting_t *at, const char *fmt,
						       ...)
{
	char path[FOS_SETTING_PATH_MAX];
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int r;

	ld->n_failed++;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		msg = NULL;
		return;
	}
	fos_errors_add(ld->errs, _fos_setting_file(ld, at), config_setting_source_line(at),
		       "%s: %s", _fos_setting_path(where, path, sizeof(path)), msg);
}

/* Remember the setting `where`, at the line of `at`, for _fos_err_where(). */
int _fos_where_set(const struct fos_loader *ld, const config_setting_t *where,
		   const config_setting_t *at, struct fos_where *w)
{
	char buf[FOS_SETTING_PATH_MAX];
	_cleanup_free_ char *path = NULL, *file = NULL;

	path = strdup(_fos_setting_path(where, buf, sizeof(buf)));
	file = strdup(_fos_setting_file(ld, at));
	if (!path || !file)
		return -ENOMEM;
	_fos_where_done(w);
	w->path = TAKE_PTR(path);
	w->file = TAKE_PTR(file);
	w->line = config_setting_source_line(at);
	return 0;
}

/* An error about a setting of a file that is no longer open. */
__attribute__((format(printf, 3, 4))) void
_fos_err_where(struct fos_loader *ld, const struct fos_where *w, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int r;

	ld->n_failed++;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		msg = NULL;
		return;
	}
	fos_errors_add(ld->errs, w->file, w->line, "%s: %s", w->path, msg);
}

int _fos_source_set(const struct fos_loader *ld, const config_setting_t *s, struct fos_source *src)
{
	char *file = strdup(_fos_setting_file(ld, s));

	if (!file)
		return -ENOMEM;
	free(src->file);
	src->file = file;
	src->line = config_setting_source_line(s);
	return 0;
}

/* ---- typed values -------------------------------------------------------- */
const char *_fos_kind(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	default:
		return "nothing";
	}
}

bool _fos_is_int(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_INT ||
	       config_setting_type(s) == CONFIG_TYPE_INT64;
}

bool _fos_want_group(struct fos_loader *ld, const config_setting_t *s)
{
	if (config_setting_is_group(s))
		return true;
	_fos_err(ld, s, "expected a group, got %s", _fos_kind(s));
	return false;
}

/* A list ( ... ) or an array [ ... ]. */
bool _fos_want_list(struct fos_loader *ld, const config_setting_t *s)
{
	if (config_setting_is_list(s) || config_setting_is_array(s))
		return true;
	_fos_err(ld, s, "expected a list, got %s", _fos_kind(s));
	return false;
}

const char *_fos_string(struct fos_loader *ld, const config_setting_t *s)
{
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return config_setting_get_string(s);
	_fos_err(ld, s, "expected a string, got %s", _fos_kind(s));
	return NULL;
}

bool _fos_int(struct fos_loader *ld, const config_setting_t *s, long long lo, long long hi,
	      long long *ret)
{
	long long v;

	if (!_fos_is_int(s)) {
		_fos_err(ld, s, "expected an integer, got %s", _fos_kind(s));
		return false;
	}
	v = config_setting_get_int64(s);
	if (v < lo || v > hi) {
		_fos_err(ld, s, "%lld is out of range %lld-%lld", v, lo, hi);
		return false;
	}
	*ret = v;
	return true;
}

bool _fos_bool(struct fos_loader *ld, const config_setting_t *s, bool *ret)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		_fos_err(ld, s, "expected a boolean, got %s", _fos_kind(s));
		return false;
	}
	*ret = config_setting_get_bool(s);
	return true;
}

bool _fos_strv_contains(const char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (strcmp(*v, s) == 0)
			return true;
	return false;
}

/* "a, b, c" into buf. */
const char *_fos_strv_join(const char *const *v, size_t n, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && v[i] && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i > 0 ? ", " : "", v[i]);
	return buf;
}

/* A string setting that must be one of names[n]: its index, or an error
 * "unknown WHAT "v" (valid: ...)". */
bool _fos_choice(struct fos_loader *ld, const config_setting_t *s, const char *const *names,
		 size_t n, const char *what, size_t *ret)
{
	const char *v = _fos_string(ld, s);
	char valid[128];

	if (!v)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v, names[i]) == 0) {
			*ret = i;
			return true;
		}
	_fos_err(ld, s, "unknown %s \"%s\" (valid: %s)", what, v,
		 _fos_strv_join(names, n, valid, sizeof(valid)));
	return false;
}

/* ---- keys ---------------------------------------------------------------- */
/* Case-insensitive Levenshtein distance; keys this long never get a hint. */
static unsigned _fos_key_distance(const char *a, const char *b)
{
	unsigned row[FOS_NAME_MAX + 1];
	size_t la = strlen(a), lb = strlen(b);

	if (la > FOS_NAME_MAX || lb > FOS_NAME_MAX)
		return UINT_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];

		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned cost =
			    tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			unsigned best = diag + cost;

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The known key closest to a mistyped one, if one is close enough to be
 * the likely intent. */
static const char *_fos_key_suggest(const char *key, const char *const *known)
{
	unsigned limit = strlen(key) <= 4 ? 1 : 2, best = UINT_MAX;
	const char *hint = NULL;

	for (; *known; known++) {
		unsigned d = _fos_key_distance(key, *known);

		if (d <= limit && d < best) {
			best = d;
			hint = *known;
		}
	}
	return hint;
}

void _fos_unknown_key(struct fos_loader *ld, const config_setting_t *s, const char *const *known)
{
	const char *hint = _fos_key_suggest(config_setting_name(s), known);

	if (hint)
		_fos_err(ld, s, "unknown key (did you mean \"%s\"?)", hint);
	else
		_fos_err(ld, s, "unknown key");
}

void _fos_check_keys(struct fos_loader *ld, const config_setting_t *group, const char *const *known)
{
	int n = config_setting_length(group);

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);

		if (!_fos_strv_contains(known, config_setting_name(s)))
			_fos_unknown_key(ld, s, known);
	}
}

const config_setting_t *_fos_required(struct fos_loader *ld, const config_setting_t *group,
				      const char *key)
{
	const config_setting_t *s = config_setting_get_member(group, key);

	if (!s)
		_fos_err(ld, group, "%s is required", key);
	return s;
}

/* ---- names --------------------------------------------------------------- */
static bool _fos_name_is_valid(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len >= FOS_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
			return false;
	return true;
}

bool _fos_name(struct fos_loader *ld, const config_setting_t *s, char ret[FOS_NAME_MAX])
{
	const char *v = _fos_string(ld, s);

	if (!v)
		return false;
	if (!_fos_name_is_valid(v)) {
		_fos_err(
		    ld, s,
		    "\"%s\" is not a valid name (use 1-%d letters, digits, \".\", \"_\" or \"-\")",
		    v, FOS_NAME_MAX - 1);
		return false;
	}
	strcpy(ret, v);
	return true;
}

/* The kernel's rules for a network device name (dev_valid_name()). */
bool _fos_ifname(struct fos_loader *ld, const config_setting_t *s, char ret[FOS_IFNAME_MAX])
{
	const char *v = _fos_string(ld, s);

	if (!v)
		return false;
	if (*v == '\0') {
		_fos_err(ld, s, "an empty string is not an interface name");
		return false;
	}
	if (strlen(v) >= FOS_IFNAME_MAX) {
		_fos_err(ld, s, "\"%s\" is longer than %d characters", v, FOS_IFNAME_MAX - 1);
		return false;
	}
	for (const char *p = v; *p; p++)
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p)) {
			_fos_err(ld, s, "\"%s\" is not a valid interface name", v);
			return false;
		}
	if (strcmp(v, ".") == 0 || strcmp(v, "..") == 0) {
		_fos_err(ld, s, "\"%s\" is not a valid interface name", v);
		return false;
	}
	strcpy(ret, v);
	return true;
}

/* ---- durations ----------------------------------------------------------- */
/* A timeout: an integer number of seconds, or a duration string ("5m",
 * "1h30m") that comes to whole seconds. */
bool _fos_seconds(struct fos_loader *ld, const config_setting_t *s, uint32_t *ret)
{
	unsigned long long secs;

	if (_fos_is_int(s)) {
		long long v = config_setting_get_int64(s);

		if (v <= 0) {
			_fos_err(ld, s, "must be a positive number of seconds");
			return false;
		}
		secs = (unsigned long long)v;
	} else if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		const char *v = config_setting_get_string(s);
		char err[FOS_ERRBUF] = "";
		uint64_t ms;

		if (v[0] == '-') {
			_fos_err(ld, s, "must be a positive number of seconds");
			return false;
		}
		if (fos_parse_duration(v, &ms, err) < 0) {
			_fos_err(ld, s, "%s", err[0] ? err : "not a duration");
			return false;
		}
		if (ms % 1000 != 0) {
			_fos_err(ld, s, "%s is not a whole number of seconds", v);
			return false;
		}
		secs = ms / 1000;
		if (secs == 0) {
			_fos_err(ld, s, "must be a positive number of seconds");
			return false;
		}
	} else {
		_fos_err(ld, s, "expected an integer or a duration string, got %s", _fos_kind(s));
		return false;
	}
	if (secs > FOS_CT_TIMEOUT_MAX) {
		_fos_err(ld, s, "%llu seconds is out of range 1-%llu", secs, FOS_CT_TIMEOUT_MAX);
		return false;
	}
	*ret = (uint32_t)secs;
	return true;
}

void _fos_program_where_done(struct fos_program_where *w)
{
	_fos_where_done(&w->priority);
	_fos_where_done(&w->stateful);
}
