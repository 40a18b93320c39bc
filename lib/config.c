// SPDX-License-Identifier: GPL-2.0-only
/*
 * The config loader: reads fwd.conf and fwd.d/\*.conf with libconfig, checks
 * every setting against the schema and builds one struct fos_config.
 *
 * Every problem is recorded as "file:line: path: what is wrong" and loading
 * carries on, so one run reports all of them; a config with any error is never
 * handed out. The path names the setting as the operator wrote it, with list
 * indices counted within its own file: "programs[0].settings.actions.rules[2]".
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
#include "log.h"

#define FOS_PRIORITY_DEFAULT 100
#define FOS_PRIORITY_MAX     65535
#define FOS_TC_PRIORITY_MIN  1		   /* tc filter priority 0 means "pick one" */
#define FOS_CT_TIMEOUT_MAX   2147483647ULL /* seconds */
#define FOS_SETTING_PATH_MAX 512
#define FOS_DDOS_COUNT_MAX   1000000000LL /* rates, bursts, thresholds, connectionsPerIP */

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

static const char *const prog_type_names[] = {
    [FOS_PROG_XDP] = "xdp",
    [FOS_PROG_TC_INGRESS] = "tc-ingress",
    [FOS_PROG_TC_EGRESS] = "tc-egress",
};
static_assert(ARRAY_SIZE(prog_type_names) == _FOS_PROG_TYPE_MAX, "prog_type_names incomplete");

/* Program types the schema knows but fwd cannot load yet. */
static const char *const prog_types_planned[] = {
    "sockops",
    "sk_msg",
    "cgroup",
    NULL,
};

static const char *const ct_class_names[] = {
    [FOS_CT_NEW] = "new",
    [FOS_CT_ESTABLISHED] = "established",
    [FOS_CT_RELATED] = "related",
    [FOS_CT_INVALID] = "invalid",
};
static_assert(ARRAY_SIZE(ct_class_names) == _FOS_CT_CLASS_MAX, "ct_class_names incomplete");

static const char *const ct_invalid_names[] = {
    [FOS_CT_INVALID_DROP] = "drop",
    [FOS_CT_INVALID_PASS] = "pass",
    [FOS_CT_INVALID_RULES] = "rules",
};
static_assert(ARRAY_SIZE(ct_invalid_names) == _FOS_CT_INVALID_MAX, "ct_invalid_names incomplete");

static const char *const cfg_action_names[] = {
    [FOS_CFG_PASS] = "pass",
    [FOS_CFG_DROP] = "drop",
    [FOS_CFG_REDIRECT] = "redirect",
};
static_assert(ARRAY_SIZE(cfg_action_names) == _FOS_CFG_ACTION_MAX, "cfg_action_names incomplete");

static const char *const log_level_names[] = {"debug", "info", "notice", "warning", "error", NULL};

/* The keys each group may hold, and those recognised but not supported yet. */
static const char *const top_keys[] = {"daemon", "conntrack", "ipSets", "programs", NULL};
/* Sections of the resources whose feature is not built yet: refused with one
 * line naming the feature (the rest of the file is still checked). */
static const struct {
	const char *key;
	const char *feature;
} top_planned[] = {
    {"trafficControl", "QoS (the TrafficControl resource)"},
    {"natConfigs", "NAT44/NAT66 (the NATConfig resource)"},
    {"containerPolicies", "container policy enforcement (the ContainerPolicy resource)"},
};
static const char *const daemon_keys[] = {"socket", "pinDir", "logLevel", NULL};
static const char *const conntrack_keys[] = {
    "maxConnections", "tcpTimeout",  "tcpSynTimeout", "tcpFinTimeout",
    "udpTimeout",     "icmpTimeout", "invalid",	      NULL,
};
static const char *const set_keys[] = {"name", "entries", "file", NULL};
static const char *const program_keys[] = {
    "name", "description", "type", "interface", "priority", "settings", NULL,
};
static const char *const settings_keys[] = {
    "blacklist",	  "whitelist",		 "stateful",	       "actions", "rateLimiting",
    "synFloodProtection", "icmpFloodProtection", "udpFloodProtection", NULL,
};
static const char *const rate_limiting_keys[] = {
    "enabled",
    "packetsPerSecond",
    "burst",
    "connectionsPerSecond",
    "connectionsBurst",
    "connectionsPerIP",
    "ipv6PrefixLength",
    "blockDuration",
    NULL,
};
static const char *const syn_flood_keys[] = {
    "enabled", "threshold", "always", "holdTime", "authTimeout", NULL,
};
static const char *const flood_keys[] = {
    "enabled", "perSource", "perSourceBurst", "total", "totalBurst", "blockDuration", NULL,
};
static const char *const list_ref_keys[] = {"enabled", "ipSetRef", NULL};
static const char *const actions_keys[] = {"default", "defaultInterface", "rules", NULL};
static const char *const rule_keys[] = {"match", "action", "interface", NULL};
static const char *const match_keys[] = {
    "protocol", "srcCIDR", "dstCIDR", "srcPort", "dstPort", "srcPorts", "dstPorts", "state", NULL,
};

const char *fos_prog_type_to_string(enum fos_prog_type t)
{
	if ((unsigned)t >= ARRAY_SIZE(prog_type_names))
		return NULL;
	return prog_type_names[t];
}

const char *fos_cfg_action_to_string(enum fos_cfg_action a)
{
	if ((unsigned)a >= ARRAY_SIZE(cfg_action_names))
		return NULL;
	return cfg_action_names[a];
}

const char *fos_ct_invalid_to_string(uint8_t v)
{
	if (v >= ARRAY_SIZE(ct_invalid_names))
		return NULL;
	return ct_invalid_names[v];
}

const char *fos_ct_class_to_string(unsigned c)
{
	if (c >= ARRAY_SIZE(ct_class_names))
		return NULL;
	return ct_class_names[c];
}

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

static void _fos_source_done(struct fos_source *s)
{
	free(s->file);
	s->file = NULL;
}

static void _fos_ipset_done(struct fos_ipset *s)
{
	_fos_source_done(&s->src);
	free(s->entries);
	s->entries = NULL;
	s->n_entries = 0;
	free(s->file);
	s->file = NULL;
}

static void _fos_rule_done(struct fos_rule_cfg *r)
{
	_fos_source_done(&r->src);
	free(r->match.src);
	r->match.src = NULL;
	free(r->match.dst);
	r->match.dst = NULL;
}

static void _fos_program_done(struct fos_program *p)
{
	_fos_source_done(&p->src);
	free(p->description);
	p->description = NULL;
	_fos_source_done(&p->blacklist.src);
	_fos_source_done(&p->whitelist.src);
	_fos_source_done(&p->ddos.rate_src);
	_fos_source_done(&p->ddos.syn_src);
	_fos_source_done(&p->ddos.icmp_src);
	_fos_source_done(&p->ddos.udp_src);
	for (size_t i = 0; i < p->n_rules; i++)
		_fos_rule_done(&p->rules[i]);
	free(p->rules);
	p->rules = NULL;
	p->n_rules = 0;
}

void fos_config_free(struct fos_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_sets; i++)
		_fos_ipset_done(&c->sets[i]);
	free(c->sets);
	for (size_t i = 0; i < c->n_programs; i++)
		_fos_program_done(&c->programs[i]);
	free(c->programs);
	_fos_source_done(&c->conntrack.src);
	for (size_t i = 0; i < c->n_notes; i++)
		free(c->notes[i]);
	free(c->notes);
	free(c->path);
	free(c);
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

bool fos_program_has_ddos(const struct fos_program *p)
{
	if (!p)
		return false;
	return p->ddos.rate_enabled || p->ddos.syn_enabled || p->ddos.icmp_enabled ||
	       p->ddos.udp_enabled;
}

const struct fos_program *fos_config_find_program(const struct fos_config *c, const char *name)
{
	if (!c || !name)
		return NULL;
	for (size_t i = 0; i < c->n_programs; i++)
		if (strcmp(c->programs[i].name, name) == 0)
			return &c->programs[i];
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
static unsigned _fos_cidrs_families(const struct fos_cidr *v, size_t n)
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
/* Open a config or set file for reading: regular files only (a FIFO or a
 * device would block or never end), at most FOS_CONFIG_FILE_MAX bytes.
 * Returns a FILE or NULL with errno set. */
#define FOS_CONFIG_FILE_MAX (512U * 1024 * 1024)

static const char *_fos_open_strerror(int r)
{
	if (r == -EINVAL)
		return "not a regular file";
	return strerror(-r);
}

static FILE *_fos_fopen_regular(const char *path)
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

/* ---- paths --------------------------------------------------------------- */

/* rel as seen from the directory holding base: "sets/x.txt" beside
 * "/etc/fos/fwd.conf" is "/etc/fos/sets/x.txt". */
static int _fos_path_beside(const char *base, const char *rel, char **ret)
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

/* The directory part of path, or NULL (the working directory) if it has none. */
static int _fos_dirname(const char *path, char **ret)
{
	const char *slash = strrchr(path, '/');
	char *d;

	if (!slash) {
		*ret = NULL;
		return 0;
	}
	d = strndup(path, slash == path ? 1 : (size_t)(slash - path));
	if (!d)
		return -ENOMEM;
	*ret = d;
	return 0;
}

/* ---- the loader ---------------------------------------------------------- */

/* An ipSetRef, checked once every file is read: it may name a set defined in
 * any of them. */
struct fos_pending_ref {
	char *path; /* of the list group: "programs[0].settings.blacklist" */
	char *file;
	int line;
	char *set;
};

/* Where a setting was, for a message about it once every file is read. */
struct fos_where {
	char *path; /* "programs[1].priority" */
	char *file;
	int line;
};

/* The settings of a loaded program that checks across programs point at:
 * one entry per fos_config.programs entry. */
struct fos_program_where {
	struct fos_where priority; /* the priority, or the program if it has none */
	struct fos_where stateful; /* settings.stateful, if set */
};

struct fos_loader {
	struct fos_config *cfg;
	struct fos_errors *errs; /* may be NULL */
	const char *file;	 /* the file being read, as opened */
	unsigned n_failed;	 /* errors found, counted even if errs could not store them */
	int io_error;		 /* first -errno of a file that could not be read */
	struct fos_pending_ref *refs;
	size_t n_refs;
	struct fos_where *invalid_states; /* state conditions that only invalid packets meet */
	size_t n_invalid_states;
	struct fos_program_where *programs; /* as many as cfg->programs once a program is added */
	size_t n_programs;
	bool conntrack_seen;	    /* a conntrack group was read */
	bool conntrack_invalid_bad; /* ... and its invalid setting was wrong */
};

static void _fos_where_done(struct fos_where *w)
{
	free(w->path);
	w->path = NULL;
	free(w->file);
	w->file = NULL;
}

static void _fos_program_where_done(struct fos_program_where *w)
{
	_fos_where_done(&w->priority);
	_fos_where_done(&w->stateful);
}

static void _fos_loader_done(struct fos_loader *ld)
{
	for (size_t i = 0; i < ld->n_refs; i++) {
		free(ld->refs[i].path);
		free(ld->refs[i].file);
		free(ld->refs[i].set);
	}
	free(ld->refs);
	ld->refs = NULL;
	ld->n_refs = 0;
	for (size_t i = 0; i < ld->n_invalid_states; i++)
		_fos_where_done(&ld->invalid_states[i]);
	free(ld->invalid_states);
	ld->invalid_states = NULL;
	ld->n_invalid_states = 0;
	for (size_t i = 0; i < ld->n_programs; i++)
		_fos_program_where_done(&ld->programs[i]);
	free(ld->programs);
	ld->programs = NULL;
	ld->n_programs = 0;
}

static const char *_fos_setting_file(const struct fos_loader *ld, const config_setting_t *s)
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

static const char *_fos_setting_path(const config_setting_t *s, char *buf, size_t len)
{
	buf[0] = '\0';
	_fos_path_append(s, buf, len);
	return buf;
}

/* Record an error about the setting `where`, at the line of the setting `at`
 * (which may be where itself, or the member of where that is in conflict). */
__attribute__((format(printf, 4, 5))) static void _fos_err_at(struct fos_loader *ld,
							      const config_setting_t *where,
							      const config_setting_t *at,
							      const char *fmt, ...)
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

#define _fos_err(ld, s, ...) _fos_err_at(ld, s, s, __VA_ARGS__)

/* Remember the setting `where`, at the line of `at`, for _fos_err_where(). */
static int _fos_where_set(const struct fos_loader *ld, const config_setting_t *where,
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
__attribute__((format(printf, 3, 4))) static void
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

/* A whole file failed: "path: reason". */
static void _fos_file_failed(struct fos_loader *ld, const char *path, int r)
{
	fos_errors_add(ld->errs, path, 0, "%s", _fos_open_strerror(r));
	ld->n_failed++;
	if (ld->io_error == 0)
		ld->io_error = r;
}

static int _fos_source_set(const struct fos_loader *ld, const config_setting_t *s,
			   struct fos_source *src)
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

static const char *_fos_kind(const config_setting_t *s)
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

static bool _fos_is_int(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_INT ||
	       config_setting_type(s) == CONFIG_TYPE_INT64;
}

static bool _fos_want_group(struct fos_loader *ld, const config_setting_t *s)
{
	if (config_setting_is_group(s))
		return true;
	_fos_err(ld, s, "expected a group, got %s", _fos_kind(s));
	return false;
}

/* A list ( ... ) or an array [ ... ]. */
static bool _fos_want_list(struct fos_loader *ld, const config_setting_t *s)
{
	if (config_setting_is_list(s) || config_setting_is_array(s))
		return true;
	_fos_err(ld, s, "expected a list, got %s", _fos_kind(s));
	return false;
}

static const char *_fos_string(struct fos_loader *ld, const config_setting_t *s)
{
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return config_setting_get_string(s);
	_fos_err(ld, s, "expected a string, got %s", _fos_kind(s));
	return NULL;
}

static bool _fos_int(struct fos_loader *ld, const config_setting_t *s, long long lo, long long hi,
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

static bool _fos_bool(struct fos_loader *ld, const config_setting_t *s, bool *ret)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		_fos_err(ld, s, "expected a boolean, got %s", _fos_kind(s));
		return false;
	}
	*ret = config_setting_get_bool(s);
	return true;
}

static bool _fos_strv_contains(const char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (strcmp(*v, s) == 0)
			return true;
	return false;
}

/* "a, b, c" into buf. */
static const char *_fos_strv_join(const char *const *v, size_t n, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && v[i] && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i > 0 ? ", " : "", v[i]);
	return buf;
}

/* A string setting that must be one of names[n]: its index, or an error
 * "unknown WHAT "v" (valid: ...)". */
static bool _fos_choice(struct fos_loader *ld, const config_setting_t *s, const char *const *names,
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

static void _fos_unknown_key(struct fos_loader *ld, const config_setting_t *s,
			     const char *const *known)
{
	const char *hint = _fos_key_suggest(config_setting_name(s), known);

	if (hint)
		_fos_err(ld, s, "unknown key (did you mean \"%s\"?)", hint);
	else
		_fos_err(ld, s, "unknown key");
}

static void _fos_check_keys(struct fos_loader *ld, const config_setting_t *group,
			    const char *const *known)
{
	int n = config_setting_length(group);

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);

		if (!_fos_strv_contains(known, config_setting_name(s)))
			_fos_unknown_key(ld, s, known);
	}
}

static const config_setting_t *_fos_required(struct fos_loader *ld, const config_setting_t *group,
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

static bool _fos_name(struct fos_loader *ld, const config_setting_t *s, char ret[FOS_NAME_MAX])
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
static bool _fos_ifname(struct fos_loader *ld, const config_setting_t *s, char ret[FOS_IFNAME_MAX])
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

/* ---- daemon -------------------------------------------------------------- */

static void _fos_parse_daemon(struct fos_loader *ld, const config_setting_t *g)
{
	struct fos_daemon_cfg *d = &ld->cfg->daemon;
	const config_setting_t *s;
	const char *v;

	if (!_fos_want_group(ld, g))
		return;
	_fos_check_keys(ld, g, daemon_keys);

	s = config_setting_get_member(g, "socket");
	if (s && (v = _fos_string(ld, s))) {
		size_t len = strlen(v);

		if (len == 0)
			_fos_err(ld, s, "an empty string is not a socket path");
		else if (len >= sizeof(d->socket))
			_fos_err(ld, s, "path is %zu characters long, a socket address holds %zu",
				 len, sizeof(d->socket) - 1);
		else
			memcpy(d->socket, v, len + 1);
	}

	s = config_setting_get_member(g, "pinDir");
	if (s && (v = _fos_string(ld, s))) {
		size_t len = strlen(v);

		if (v[0] != '/')
			_fos_err(ld, s, "\"%s\" is not an absolute path", v);
		else if (len >= sizeof(d->pin_dir))
			_fos_err(ld, s, "path is %zu characters long, at most %zu are allowed", len,
				 sizeof(d->pin_dir) - 1);
		else
			memcpy(d->pin_dir, v, len + 1);
	}

	s = config_setting_get_member(g, "logLevel");
	if (s && (v = _fos_string(ld, s))) {
		char valid[128];

		if (_fos_strv_contains(log_level_names, v))
			snprintf(d->log_level, sizeof(d->log_level), "%s", v);
		else
			_fos_err(ld, s, "unknown log level \"%s\" (valid: %s)", v,
				 _fos_strv_join(log_level_names, SIZE_MAX, valid, sizeof(valid)));
	}
}

/* ---- conntrack ----------------------------------------------------------- */

/* A timeout: an integer number of seconds, or a duration string ("5m",
 * "1h30m") that comes to whole seconds. */
static bool _fos_seconds(struct fos_loader *ld, const config_setting_t *s, uint32_t *ret)
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

static bool _fos_ct_invalid(struct fos_loader *ld, const config_setting_t *s, uint8_t *ret)
{
	size_t i;

	if (!_fos_choice(ld, s, ct_invalid_names, ARRAY_SIZE(ct_invalid_names), "value", &i))
		return false;
	*ret = (uint8_t)i;
	return true;
}

/* The group may be in the main file or in one drop-in, not in two files. */
static int _fos_parse_conntrack(struct fos_loader *ld, const config_setting_t *g)
{
	struct fos_conntrack_cfg *ct = &ld->cfg->conntrack;
	const struct {
		const char *key;
		uint32_t *value;
	} timeouts[] = {
	    {"tcpTimeout", &ct->tcp_timeout},	     {"tcpSynTimeout", &ct->tcp_syn_timeout},
	    {"tcpFinTimeout", &ct->tcp_fin_timeout}, {"udpTimeout", &ct->udp_timeout},
	    {"icmpTimeout", &ct->icmp_timeout},
	};
	const config_setting_t *s;
	long long v;
	int r;

	if (ld->conntrack_seen) {
		_fos_err(ld, g, "already defined at %s:%d; the group may be set in one file only",
			 ct->src.file, ct->src.line);
		return 0;
	}
	ld->conntrack_seen = true;
	r = _fos_source_set(ld, g, &ct->src);
	if (r < 0)
		return r;
	if (!_fos_want_group(ld, g))
		return 0;
	_fos_check_keys(ld, g, conntrack_keys);

	s = config_setting_get_member(g, "maxConnections");
	if (s && _fos_int(ld, s, 1, FOS_CT_MAX_CONNECTIONS, &v))
		ct->max_connections = (uint32_t)v;

	for (size_t i = 0; i < ARRAY_SIZE(timeouts); i++) {
		s = config_setting_get_member(g, timeouts[i].key);
		if (s)
			_fos_seconds(ld, s, timeouts[i].value);
	}

	s = config_setting_get_member(g, "invalid");
	if (s && !_fos_ct_invalid(ld, s, &ct->invalid))
		ld->conntrack_invalid_bad = true;
	return 0;
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

/* Parse every group of a list (ipSets, programs) with parse_one. */
static int _fos_parse_list(struct fos_loader *ld, const config_setting_t *list,
			   int (*parse_one)(struct fos_loader *ld, const config_setting_t *g))
{
	int n, r;

	if (!_fos_want_list(ld, list))
		return 0;
	n = config_setting_length(list);
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);

		if (!_fos_want_group(ld, g))
			continue;
		r = parse_one(ld, g);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- match --------------------------------------------------------------- */

/* srcCIDR/dstCIDR: one string, or a non-empty list of them. */
static int _fos_parse_cidrs(struct fos_loader *ld, const config_setting_t *s, struct fos_cidr **ret,
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

/* One port span: 22, or "8000-8100" (or "22"). */
static bool _fos_port_span(struct fos_loader *ld, const config_setting_t *s,
			   struct fos_port_span *ret)
{
	if (_fos_is_int(s)) {
		long long v = config_setting_get_int64(s);

		if (v < 0 || v > UINT16_MAX) {
			_fos_err(ld, s, "%lld is out of range 0-65535", v);
			return false;
		}
		ret->lo = ret->hi = (uint16_t)v;
		return true;
	}
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		char err[FOS_ERRBUF] = "";
		uint16_t lo, hi;

		if (fos_parse_port_range(config_setting_get_string(s), &lo, &hi, err) < 0) {
			_fos_err(ld, s, "%s", err[0] ? err : "not a port range");
			return false;
		}
		ret->lo = lo;
		ret->hi = hi;
		return true;
	}
	_fos_err(ld, s, "expected an integer or a \"lo-hi\" string, got %s", _fos_kind(s));
	return false;
}

/* srcPort and srcPorts (or the dst pair) of one match, merged into spans[]. */
static void _fos_parse_ports(struct fos_loader *ld, const config_setting_t *match,
			     const char *one_key, const char *list_key, const char *what,
			     struct fos_port_span spans[FOS_MAX_PORT_SPANS], size_t *ret_n)
{
	const config_setting_t *one = config_setting_get_member(match, one_key);
	const config_setting_t *list = config_setting_get_member(match, list_key);
	size_t n = 0, total = 0;
	struct fos_port_span span;

	if (one) {
		total++;
		if (_fos_port_span(ld, one, &span))
			spans[n++] = span;
	}
	if (list && _fos_want_list(ld, list)) {
		int len = config_setting_length(list);

		if (len == 0)
			_fos_err(ld, list, "an empty list matches nothing");
		for (int i = 0; i < len; i++) {
			total++;
			if (_fos_port_span(ld, config_setting_get_elem(list, (unsigned)i), &span) &&
			    n < FOS_MAX_PORT_SPANS)
				spans[n++] = span;
		}
	}
	if (total > FOS_MAX_PORT_SPANS)
		_fos_err_at(ld, match, list, "%zu %s port ranges, at most %d are allowed", total,
			    what, FOS_MAX_PORT_SPANS);
	*ret_n = n;
}

/* protocol icmp with an IPv6 CIDR (or icmpv6 with an IPv4 one) never matches. */
static void _fos_check_icmp_family(struct fos_loader *ld, const config_setting_t *match,
				   const config_setting_t *s, const char *key,
				   const struct fos_cidr *v, size_t n, uint8_t protocol)
{
	char text[FOS_CIDR_STRLEN];
	const char *proto, *family;
	int bad;

	if (protocol == IPPROTO_ICMP) {
		bad = AF_INET6;
		proto = "icmp";
		family = "IPv6";
	} else if (protocol == IPPROTO_ICMPV6) {
		bad = AF_INET;
		proto = "icmpv6";
		family = "IPv4";
	} else {
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (v[i].family == bad) {
			_fos_err_at(ld, match, s, "protocol \"%s\" never matches the %s %s \"%s\"",
				    proto, family, key,
				    fos_cidr_to_string(&v[i], text, sizeof(text)) ?: "?");
			return;
		}
}

static bool _fos_ct_class(struct fos_loader *ld, const config_setting_t *s, uint8_t *bits)
{
	size_t i;

	if (!_fos_choice(ld, s, ct_class_names, ARRAY_SIZE(ct_class_names), "state", &i))
		return false;
	*bits |= (uint8_t)(1U << i);
	return true;
}

/* state: one name, or a non-empty list of them; *ret is written only if
 * every name is known. */
static bool _fos_parse_state(struct fos_loader *ld, const config_setting_t *s, uint8_t *ret)
{
	uint8_t bits = 0;
	bool ok = true;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		ok = _fos_ct_class(ld, s, &bits);
	} else if (config_setting_is_list(s) || config_setting_is_array(s)) {
		int len = config_setting_length(s);

		if (len == 0) {
			_fos_err(ld, s, "an empty list matches nothing");
			return false;
		}
		for (int i = 0; i < len; i++)
			if (!_fos_ct_class(ld, config_setting_get_elem(s, (unsigned)i), &bits))
				ok = false;
	} else {
		_fos_err(ld, s, "expected a string or a list of strings, got %s", _fos_kind(s));
		return false;
	}
	if (ok)
		*ret = bits;
	return ok;
}

static int _fos_parse_match(struct fos_loader *ld, const config_setting_t *g, struct fos_match *m)
{
	static const char *const port_keys[] = {"srcPort", "srcPorts", "dstPort", "dstPorts"};
	const config_setting_t *s, *src_s, *dst_s;
	bool proto_ok = true;
	int r;

	_fos_check_keys(ld, g, match_keys);

	s = config_setting_get_member(g, "protocol");
	if (s) {
		const char *v = _fos_string(ld, s);
		char err[FOS_ERRBUF] = "";

		if (!v) {
			proto_ok = false;
		} else if (fos_parse_protocol(v, &m->protocol, err) < 0) {
			_fos_err(ld, s, "%s", err[0] ? err : "not a protocol");
			proto_ok = false;
		}
	}

	src_s = config_setting_get_member(g, "srcCIDR");
	if (src_s) {
		r = _fos_parse_cidrs(ld, src_s, &m->src, &m->n_src);
		if (r < 0)
			return r;
	}
	dst_s = config_setting_get_member(g, "dstCIDR");
	if (dst_s) {
		r = _fos_parse_cidrs(ld, dst_s, &m->dst, &m->n_dst);
		if (r < 0)
			return r;
	}

	_fos_parse_ports(ld, g, "srcPort", "srcPorts", "source", m->sport, &m->n_sport);
	_fos_parse_ports(ld, g, "dstPort", "dstPorts", "destination", m->dport, &m->n_dport);

	s = config_setting_get_member(g, "state");
	if (s)
		_fos_parse_state(ld, s, &m->state);

	if (proto_ok) {
		if (m->protocol != IPPROTO_TCP && m->protocol != IPPROTO_UDP)
			for (size_t i = 0; i < ARRAY_SIZE(port_keys); i++) {
				s = config_setting_get_member(g, port_keys[i]);
				if (s)
					_fos_err_at(ld, g, s,
						    "%s needs protocol \"tcp\" or \"udp\"",
						    port_keys[i]);
			}
		if (src_s)
			_fos_check_icmp_family(ld, g, src_s, "srcCIDR", m->src, m->n_src,
					       m->protocol);
		if (dst_s)
			_fos_check_icmp_family(ld, g, dst_s, "dstCIDR", m->dst, m->n_dst,
					       m->protocol);
	}

	if (m->n_src > 0 && m->n_dst > 0) {
		unsigned fs = _fos_cidrs_families(m->src, m->n_src);
		unsigned fd = _fos_cidrs_families(m->dst, m->n_dst);

		if ((fs & fd) == 0)
			_fos_err_at(ld, g, dst_s,
				    "srcCIDR is only %s and dstCIDR only %s: the rule could never "
				    "match",
				    fs == 1 ? "IPv4" : "IPv6", fd == 1 ? "IPv4" : "IPv6");
	}
	return 0;
}

/* ---- programs ------------------------------------------------------------ */

static bool _fos_action(struct fos_loader *ld, const config_setting_t *s, enum fos_cfg_action *ret)
{
	size_t i;

	if (!_fos_choice(ld, s, cfg_action_names, ARRAY_SIZE(cfg_action_names), "action", &i))
		return false;
	*ret = (enum fos_cfg_action)i;
	return true;
}

static bool _fos_prog_is_tc(enum fos_prog_type t)
{
	return t == FOS_PROG_TC_INGRESS || t == FOS_PROG_TC_EGRESS;
}

static void _fos_prog_type(struct fos_loader *ld, const config_setting_t *s,
			   enum fos_prog_type *ret)
{
	const char *v = _fos_string(ld, s);
	char supported[64], planned[128];

	if (!v)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(prog_type_names); i++)
		if (strcmp(v, prog_type_names[i]) == 0) {
			*ret = (enum fos_prog_type)i;
			return;
		}

	_fos_strv_join(prog_type_names, ARRAY_SIZE(prog_type_names), supported, sizeof(supported));
	if (_fos_strv_contains(prog_types_planned, v))
		_fos_err(ld, s, "type \"%s\" is not supported yet (supported: %s)", v, supported);
	else
		_fos_err(ld, s, "unknown type \"%s\" (valid: %s, %s)", v, supported,
			 _fos_strv_join(prog_types_planned, SIZE_MAX, planned, sizeof(planned)));
}

/*
 * A state condition s (that parsed to state) against its program: a stateful
 * program passes established and related packets before its rules, so only
 * new packets reach them, and invalid ones if conntrack.invalid is "rules"
 * (known only once every file is read). stateful_known is false if
 * settings.stateful was wrong.
 */
static int _fos_check_state(struct fos_loader *ld, const config_setting_t *s,
			    const struct fos_program *p, bool stateful_known, uint8_t state)
{
	const unsigned passed = 1U << FOS_CT_ESTABLISHED | 1U << FOS_CT_RELATED;
	struct fos_where *v;

	if (!p->stateful) {
		if (stateful_known)
			_fos_err(ld, s, "a state condition needs settings.stateful = true");
		return 0;
	}
	if ((state & ~passed) == 0) {
		_fos_err(ld, s,
			 "a rule for established or related packets never matches: a stateful "
			 "program passes them before the rules");
		return 0;
	}
	if (state & 1U << FOS_CT_NEW)
		return 0;

	v = reallocarray(ld->invalid_states, ld->n_invalid_states + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	ld->invalid_states = v;
	v[ld->n_invalid_states] = (struct fos_where){};
	ld->n_invalid_states++;
	return _fos_where_set(ld, s, s, &v[ld->n_invalid_states - 1]);
}

static int _fos_parse_rule(struct fos_loader *ld, const config_setting_t *g,
			   const struct fos_program *p, bool stateful_known,
			   struct fos_rule_cfg *rule)
{
	const config_setting_t *m, *a, *i;
	bool action_ok = false;
	int r;

	_fos_check_keys(ld, g, rule_keys);
	r = _fos_source_set(ld, g, &rule->src);
	if (r < 0)
		return r;

	m = _fos_required(ld, g, "match");
	if (m && _fos_want_group(ld, m)) {
		r = _fos_parse_match(ld, m, &rule->match);
		if (r < 0)
			return r;
		if (rule->match.state != 0) {
			r = _fos_check_state(ld, config_setting_get_member(m, "state"), p,
					     stateful_known, rule->match.state);
			if (r < 0)
				return r;
		}
	}

	a = _fos_required(ld, g, "action");
	if (a)
		action_ok = _fos_action(ld, a, &rule->action);

	i = config_setting_get_member(g, "interface");
	if (i)
		_fos_ifname(ld, i, rule->interface);

	if (action_ok && rule->action == FOS_CFG_REDIRECT && !i)
		_fos_err_at(ld, g, a, "action \"redirect\" needs an interface");
	if (action_ok && rule->action != FOS_CFG_REDIRECT && i)
		_fos_err_at(ld, g, i, "interface is only valid with action \"redirect\"");
	return 0;
}

static int _fos_parse_actions(struct fos_loader *ld, const config_setting_t *g,
			      struct fos_program *p, bool stateful_known)
{
	const config_setting_t *def, *def_if, *rules;
	bool def_ok = true;
	int r;

	if (!_fos_want_group(ld, g))
		return 0;
	_fos_check_keys(ld, g, actions_keys);

	def = config_setting_get_member(g, "default");
	if (def)
		def_ok = _fos_action(ld, def, &p->default_action);
	def_if = config_setting_get_member(g, "defaultInterface");
	if (def_if)
		_fos_ifname(ld, def_if, p->default_interface);
	if (def_ok && p->default_action == FOS_CFG_REDIRECT && !def_if)
		_fos_err_at(ld, g, def, "default \"redirect\" needs a defaultInterface");
	if (def_ok && p->default_action != FOS_CFG_REDIRECT && def_if)
		_fos_err_at(ld, g, def_if,
			    "defaultInterface is only valid with default \"redirect\"");

	rules = config_setting_get_member(g, "rules");
	if (rules && _fos_want_list(ld, rules)) {
		int n = config_setting_length(rules);

		if (n > (int)FOS_MAX_RULES)
			_fos_err(ld, rules, "%d rules, at most %u are allowed", n, FOS_MAX_RULES);
		if (n > 0) {
			p->rules = calloc((size_t)n, sizeof(*p->rules));
			if (!p->rules)
				return -ENOMEM;
		}
		for (int i = 0; i < n; i++) {
			const config_setting_t *rg = config_setting_get_elem(rules, (unsigned)i);

			if (!_fos_want_group(ld, rg))
				continue;
			/* Counted before parsing, so a half-built rule is freed too. */
			r = _fos_parse_rule(ld, rg, p, stateful_known, &p->rules[p->n_rules++]);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int _fos_parse_list_ref(struct fos_loader *ld, const config_setting_t *g,
			       struct fos_list_ref *ref)
{
	const config_setting_t *enabled_s, *ref_s;
	struct fos_pending_ref *refs;
	char path[FOS_SETTING_PATH_MAX];
	const char *v;
	int r;

	if (!_fos_want_group(ld, g))
		return 0;
	_fos_check_keys(ld, g, list_ref_keys);

	enabled_s = config_setting_get_member(g, "enabled");
	if (enabled_s)
		_fos_bool(ld, enabled_s, &ref->enabled);

	ref_s = config_setting_get_member(g, "ipSetRef");
	r = _fos_source_set(ld, ref_s ?: g, &ref->src);
	if (r < 0)
		return r;
	if (ref->enabled && !ref_s)
		_fos_err_at(ld, g, enabled_s, "enabled = true needs an ipSetRef");
	if (!ref_s || !(v = _fos_string(ld, ref_s)))
		return 0;

	if (strlen(v) < sizeof(ref->set))
		strcpy(ref->set, v);

	refs = reallocarray(ld->refs, ld->n_refs + 1, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	ld->refs = refs;
	refs[ld->n_refs] = (struct fos_pending_ref){
	    .path = strdup(_fos_setting_path(g, path, sizeof(path))),
	    .file = strdup(_fos_setting_file(ld, ref_s)),
	    .line = config_setting_source_line(ref_s),
	    .set = strdup(v),
	};
	ld->n_refs++;
	if (!refs[ld->n_refs - 1].path || !refs[ld->n_refs - 1].file || !refs[ld->n_refs - 1].set)
		return -ENOMEM;
	return 0;
}

/* ---- DDoS protections ---------------------------------------------------- */

/* A rate, burst, threshold or connection count of a DDoS group. */
static bool _fos_ddos_count(struct fos_loader *ld, const config_setting_t *s, uint32_t *ret)
{
	long long v;

	if (!_fos_is_int(s)) {
		_fos_err(ld, s, "must be 1-%lld, not %s", FOS_DDOS_COUNT_MAX, _fos_kind(s));
		return false;
	}
	v = config_setting_get_int64(s);
	if (v < 1 || v > FOS_DDOS_COUNT_MAX) {
		_fos_err(ld, s, "must be 1-%lld, not %lld", FOS_DDOS_COUNT_MAX, v);
		return false;
	}
	*ret = (uint32_t)v;
	return true;
}

/* The rate rate_key of group g with its burst burst_key, which defaults to
 * the rate and is only allowed with it. Returns whether the rate is given. */
static bool _fos_ddos_rate(struct fos_loader *ld, const config_setting_t *g, const char *rate_key,
			   const char *burst_key, struct fos_rate_cfg *ret)
{
	const config_setting_t *rate_s = config_setting_get_member(g, rate_key);
	const config_setting_t *burst_s = config_setting_get_member(g, burst_key);
	struct fos_rate_cfg rate = {};
	bool ok = true;

	if (rate_s)
		ok = _fos_ddos_count(ld, rate_s, &rate.rate);
	if (burst_s) {
		if (!_fos_ddos_count(ld, burst_s, &rate.burst))
			ok = false;
		else if (!rate_s) {
			_fos_err_at(ld, g, burst_s, "%s needs %s", burst_key, rate_key);
			ok = false;
		}
	}
	if (ok && rate_s) {
		if (!burst_s)
			rate.burst = rate.rate;
		*ret = rate;
	}
	return rate_s != NULL;
}

/* What a DDoS group needs to know of the rest of its program's settings;
 * the *_known fields are false where that setting is wrong, so that no
 * second error follows from the first. */
struct fos_ddos_ctx {
	const struct fos_program *p;
	bool stateful_given; /* settings.stateful is set */
	bool stateful_known;
	bool blacklist_known;
	bool blacklist_ok; /* settings.blacklist is enabled and has an ipSetRef */
};

/* blockDuration: the source goes into the blacklist set, so there must be one. */
static void _fos_ddos_block(struct fos_loader *ld, const config_setting_t *g,
			    const struct fos_ddos_ctx *ctx, uint32_t *ret)
{
	const config_setting_t *s = config_setting_get_member(g, "blockDuration");

	if (!s || !_fos_seconds(ld, s, ret))
		return;
	if (ctx->blacklist_known && !ctx->blacklist_ok)
		_fos_err_at(ld, g, s,
			    "blockDuration needs settings.blacklist enabled with an ipSetRef");
}

/*
 * What every DDoS group starts with: it is a group, of an xdp program, with
 * known keys and an enabled setting, or a boolean, short for a group with
 * only enabled (synFloodProtection = true, as the EBPFProgram CRD writes it).
 * Records where it is in *src. Returns 1 if the rest of the group is to be
 * read, 2 for the boolean form (nothing more to read), 0 if neither, or
 * -errno; *ret_enabled is set if enabled is given and valid, and
 * *ret_enabled_known says so.
 */
static int _fos_ddos_group(struct fos_loader *ld, const config_setting_t *g,
			   const struct fos_ddos_ctx *ctx, const char *const *keys,
			   struct fos_source *src, bool *ret_enabled, bool *ret_enabled_known)
{
	const config_setting_t *s;
	int r;

	*ret_enabled_known = false;
	if (_fos_prog_is_tc(ctx->p->type)) {
		_fos_err(ld, g, "only xdp programs have DDoS protection");
		return 0;
	}
	if (config_setting_type(g) == CONFIG_TYPE_BOOL) {
		r = _fos_source_set(ld, g, src);
		if (r < 0)
			return r;
		*ret_enabled = config_setting_get_bool(g);
		*ret_enabled_known = true;
		return 2;
	}
	if (!config_setting_is_group(g)) {
		_fos_err(ld, g, "expected true, false or a group, got %s", _fos_kind(g));
		return 0;
	}
	r = _fos_source_set(ld, g, src);
	if (r < 0)
		return r;
	_fos_check_keys(ld, g, keys);

	s = config_setting_get_member(g, "enabled");
	if (!s)
		_fos_err(ld, g, "enabled is required: true turns the protection on");
	else
		*ret_enabled_known = _fos_bool(ld, s, ret_enabled);
	return 1;
}

static int _fos_parse_rate_limiting(struct fos_loader *ld, const config_setting_t *g,
				    const struct fos_ddos_ctx *ctx, struct fos_ddos_settings *d)
{
	const config_setting_t *cpi_s, *s;
	bool enabled_known, pps, cps;
	long long v;
	int r;

	r = _fos_ddos_group(ld, g, ctx, rate_limiting_keys, &d->rate_src, &d->rate_enabled,
			    &enabled_known);
	if (r <= 0)
		return r;
	if (r == 2)
		goto defaults;

	pps = _fos_ddos_rate(ld, g, "packetsPerSecond", "burst", &d->pps);
	cps = _fos_ddos_rate(ld, g, "connectionsPerSecond", "connectionsBurst", &d->cps);

	cpi_s = config_setting_get_member(g, "connectionsPerIP");
	if (cpi_s) {
		_fos_ddos_count(ld, cpi_s, &d->conns_per_ip);
		/* the connection table counts them: a stateful program reads it */
		if (ctx->stateful_given && ctx->stateful_known && !ctx->p->stateful)
			_fos_err_at(ld, g, cpi_s,
				    "connectionsPerIP counts each source's connections in the "
				    "connection table, which settings.stateful = false turns off: "
				    "leave stateful out (connectionsPerIP turns it on) or set it "
				    "to true");
	}

	s = config_setting_get_member(g, "ipv6PrefixLength");
	if (s && _fos_int(ld, s, 1, 128, &v))
		d->v6_plen = (uint8_t)v;

	_fos_ddos_block(ld, g, ctx, &d->rate_block);

	if (pps || cps || cpi_s)
		return 0;
defaults:
	/* enabled with no limit of its own */
	d->pps = (struct fos_rate_cfg){FOS_DDOS_DEFAULT_PPS, 2 * FOS_DDOS_DEFAULT_PPS};
	d->cps = (struct fos_rate_cfg){FOS_DDOS_DEFAULT_CPS, 2 * FOS_DDOS_DEFAULT_CPS};
	return 0;
}

static int _fos_parse_syn_flood(struct fos_loader *ld, const config_setting_t *g,
				const struct fos_ddos_ctx *ctx, struct fos_ddos_settings *d)
{
	const config_setting_t *threshold_s, *always_s, *s;
	bool enabled_known, always_known = true;
	int r;

	r = _fos_ddos_group(ld, g, ctx, syn_flood_keys, &d->syn_src, &d->syn_enabled,
			    &enabled_known);
	if (r <= 0)
		return r;
	if (r == 2) {
		d->syn_threshold = FOS_DDOS_DEFAULT_SYN_THRESHOLD;
		return 0;
	}

	always_s = config_setting_get_member(g, "always");
	if (always_s)
		always_known = _fos_bool(ld, always_s, &d->syn_always);
	threshold_s = config_setting_get_member(g, "threshold");
	if (threshold_s)
		_fos_ddos_count(ld, threshold_s, &d->syn_threshold);
	if (always_known && d->syn_always && threshold_s)
		_fos_err_at(ld, g, threshold_s, "threshold is not allowed with always = true");
	else if (!threshold_s && !(always_known && d->syn_always))
		d->syn_threshold = FOS_DDOS_DEFAULT_SYN_THRESHOLD;

	s = config_setting_get_member(g, "holdTime");
	if (s)
		_fos_seconds(ld, s, &d->syn_hold);
	s = config_setting_get_member(g, "authTimeout");
	if (s)
		_fos_seconds(ld, s, &d->syn_auth_timeout);
	return 0;
}

/* icmpFloodProtection and udpFloodProtection: the same keys for their
 * protocol. */
static int _fos_parse_flood(struct fos_loader *ld, const config_setting_t *g,
			    const struct fos_ddos_ctx *ctx, struct fos_source *src, bool *enabled,
			    struct fos_rate_cfg *per_src, struct fos_rate_cfg *total,
			    uint32_t *block, uint32_t default_per_src, uint32_t default_total)
{
	bool enabled_known;
	int r;

	r = _fos_ddos_group(ld, g, ctx, flood_keys, src, enabled, &enabled_known);
	if (r <= 0)
		return r;
	if (r == 1) {
		bool has_per_src = _fos_ddos_rate(ld, g, "perSource", "perSourceBurst", per_src);
		bool has_total = _fos_ddos_rate(ld, g, "total", "totalBurst", total);

		_fos_ddos_block(ld, g, ctx, block);
		if (has_per_src || has_total)
			return 0;
	}
	/* enabled with no limit of its own */
	*per_src = (struct fos_rate_cfg){default_per_src, 2 * default_per_src};
	*total = (struct fos_rate_cfg){default_total, default_total};
	return 0;
}

/* The four DDoS groups of settings g; ctx says what they depend on. */
static int _fos_parse_ddos(struct fos_loader *ld, const config_setting_t *g,
			   const struct fos_ddos_ctx *ctx, struct fos_ddos_settings *d)
{
	const config_setting_t *s;
	int r;

	s = config_setting_get_member(g, "rateLimiting");
	if (s) {
		r = _fos_parse_rate_limiting(ld, s, ctx, d);
		if (r < 0)
			return r;
	}
	s = config_setting_get_member(g, "synFloodProtection");
	if (s) {
		r = _fos_parse_syn_flood(ld, s, ctx, d);
		if (r < 0)
			return r;
	}
	s = config_setting_get_member(g, "icmpFloodProtection");
	if (s) {
		r = _fos_parse_flood(ld, s, ctx, &d->icmp_src, &d->icmp_enabled, &d->icmp_per_src,
				     &d->icmp_total, &d->icmp_block, FOS_DDOS_DEFAULT_ICMP_PER_SRC,
				     FOS_DDOS_DEFAULT_ICMP_TOTAL);
		if (r < 0)
			return r;
	}
	s = config_setting_get_member(g, "udpFloodProtection");
	if (s) {
		r = _fos_parse_flood(ld, s, ctx, &d->udp_src, &d->udp_enabled, &d->udp_per_src,
				     &d->udp_total, &d->udp_block, FOS_DDOS_DEFAULT_UDP_PER_SRC,
				     FOS_DDOS_DEFAULT_UDP_TOTAL);
		if (r < 0)
			return r;
	}
	return 0;
}

static int _fos_parse_settings(struct fos_loader *ld, const config_setting_t *g,
			       struct fos_program *p)
{
	struct fos_ddos_ctx ddos = {.p = p, .blacklist_known = true};
	const config_setting_t *s;
	bool stateful_known = true;
	int r;

	if (!_fos_want_group(ld, g))
		return 0;
	_fos_check_keys(ld, g, settings_keys);

	/* before the rules, whose state conditions need it */
	s = config_setting_get_member(g, "stateful");
	if (s)
		stateful_known = _fos_bool(ld, s, &p->stateful);

	s = config_setting_get_member(g, "blacklist");
	if (s) {
		unsigned failed = ld->n_failed;

		r = _fos_parse_list_ref(ld, s, &p->blacklist);
		if (r < 0)
			return r;
		ddos.blacklist_known = ld->n_failed == failed;
		ddos.blacklist_ok =
		    p->blacklist.enabled && config_setting_get_member(s, "ipSetRef") != NULL;
	}
	s = config_setting_get_member(g, "whitelist");
	if (s) {
		r = _fos_parse_list_ref(ld, s, &p->whitelist);
		if (r < 0)
			return r;
	}

	/* after stateful and the blacklist, which their settings depend on */
	ddos.stateful_given = config_setting_get_member(g, "stateful") != NULL;
	ddos.stateful_known = stateful_known;
	r = _fos_parse_ddos(ld, g, &ddos, &p->ddos);
	if (r < 0)
		return r;
	if (!ddos.stateful_given && p->ddos.rate_enabled && p->ddos.conns_per_ip) {
		p->stateful = true;
		p->stateful_implied = true;
	}

	s = config_setting_get_member(g, "actions");
	if (s) {
		r = _fos_parse_actions(ld, s, p, stateful_known);
		if (r < 0)
			return r;
	}
	return 0;
}

static int _fos_parse_program(struct fos_loader *ld, const config_setting_t *g)
{
	_cleanup_(_fos_program_done) struct fos_program p = {
	    .type = FOS_PROG_XDP,
	    .priority = FOS_PRIORITY_DEFAULT,
	    .ddos =
		{
		    .v6_plen = FOS_DDOS_DEFAULT_V6_PLEN,
		    .syn_hold = FOS_DDOS_DEFAULT_SYN_HOLD,
		    .syn_auth_timeout = FOS_DDOS_DEFAULT_AUTH_TIMEOUT,
		},
	    .default_action = FOS_CFG_PASS,
	};
	_cleanup_(_fos_program_where_done) struct fos_program_where where = {};
	const config_setting_t *name_s, *prio_s, *settings_s, *s;
	struct fos_program_where *wv;
	struct fos_program *progs;
	long long prio;
	bool named;
	int r;

	_fos_check_keys(ld, g, program_keys);
	name_s = _fos_required(ld, g, "name");
	named = name_s && _fos_name(ld, name_s, p.name);
	if (named && strchr(p.name, '.')) {
		/* a program is pinned in a directory of its name */
		_fos_err(ld, name_s,
			 "a program name may not contain \".\" (the BPF filesystem "
			 "refuses it): \"%s\"",
			 p.name);
		named = false;
	}
	r = _fos_source_set(ld, name_s ?: g, &p.src);
	if (r < 0)
		return r;

	s = config_setting_get_member(g, "description");
	if (s) {
		const char *v = _fos_string(ld, s);

		if (v) {
			p.description = strdup(v);
			if (!p.description)
				return -ENOMEM;
		}
	}

	s = _fos_required(ld, g, "type");
	if (s)
		_fos_prog_type(ld, s, &p.type);

	s = _fos_required(ld, g, "interface");
	if (s)
		_fos_ifname(ld, s, p.interface);

	prio_s = config_setting_get_member(g, "priority");
	if (prio_s && _fos_int(ld, prio_s, _fos_prog_is_tc(p.type) ? FOS_TC_PRIORITY_MIN : 0,
			       FOS_PRIORITY_MAX, &prio))
		p.priority = (int)prio;

	settings_s = config_setting_get_member(g, "settings");
	if (settings_s) {
		r = _fos_parse_settings(ld, settings_s, &p);
		if (r < 0)
			return r;
	}

	if (named) {
		const struct fos_program *other = fos_config_find_program(ld->cfg, p.name);

		if (other)
			_fos_err(ld, name_s, "program \"%s\" is already defined at %s:%d", p.name,
				 other->src.file, other->src.line);
	}

	r = _fos_where_set(ld, prio_s ?: g, prio_s ?: name_s ?: g, &where.priority);
	if (r < 0)
		return r;
	if (p.stateful && !p.stateful_implied) {
		s = config_setting_get_member(settings_s, "stateful");
		r = _fos_where_set(ld, s, s, &where.stateful);
		if (r < 0)
			return r;
	}

	wv = reallocarray(ld->programs, ld->n_programs + 1, sizeof(*wv));
	if (!wv)
		return -ENOMEM;
	ld->programs = wv;
	progs = reallocarray(ld->cfg->programs, ld->cfg->n_programs + 1, sizeof(*progs));
	if (!progs)
		return -ENOMEM;
	ld->cfg->programs = progs;
	progs[ld->cfg->n_programs++] = p;
	p = (struct fos_program){};
	wv[ld->n_programs++] = where;
	where = (struct fos_program_where){};
	return 0;
}

/* ---- files --------------------------------------------------------------- */

/* One parsed file: the main one may hold every top-level key, a drop-in every
 * one but daemon. */
static int _fos_load_root(struct fos_loader *ld, const config_t *c, bool main)
{
	const config_setting_t *root = config_root_setting(c), *s;
	int r;

	for (int i = 0; i < config_setting_length(root); i++) {
		const config_setting_t *e = config_setting_get_elem(root, (unsigned)i);
		const char *name = config_setting_name(e);
		bool planned = false;

		for (size_t j = 0; j < ARRAY_SIZE(top_planned); j++)
			if (strcmp(name, top_planned[j].key) == 0) {
				_fos_err(ld, e, "%s is not built into fos %s yet",
					 top_planned[j].feature, FOS_VERSION);
				planned = true;
			}
		if (!planned && !_fos_strv_contains(top_keys, name))
			_fos_unknown_key(ld, e, top_keys);
	}

	s = config_setting_get_member(root, "daemon");
	if (s && !main)
		_fos_err(ld, s, "only allowed in the main config file");
	else if (s)
		_fos_parse_daemon(ld, s);

	s = config_setting_get_member(root, "conntrack");
	if (s) {
		r = _fos_parse_conntrack(ld, s);
		if (r < 0)
			return r;
	}

	s = config_setting_get_member(root, "ipSets");
	if (s) {
		r = _fos_parse_list(ld, s, _fos_parse_set);
		if (r < 0)
			return r;
	}
	s = config_setting_get_member(root, "programs");
	if (s) {
		r = _fos_parse_list(ld, s, _fos_parse_program);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Parse a file from f, or text if f is NULL; name is the file as opened. */
static int _fos_load_one(struct fos_loader *ld, const char *name, FILE *f, const char *text,
			 bool main)
{
	_cleanup_free_ char *dir = NULL;
	config_t c;
	int r;

	r = _fos_dirname(name, &dir);
	if (r < 0)
		return r;

	config_init(&c);
	/* @include "x.conf" is relative to the including file, not to the cwd. */
	if (dir)
		config_set_include_dir(&c, dir);
	ld->file = name;
	if (f ? config_read(&c, f) : config_read_string(&c, text)) {
		r = _fos_load_root(ld, &c, main);
	} else {
		const char *why = config_error_text(&c) ?: "syntax error";
		const char *hint = "";

		if (strcmp(why, "mismatched element type in array") == 0)
			hint = " (use a list ( 22, \"8000-8100\" ) to mix numbers and ranges)";
		fos_errors_add(ld->errs, config_error_file(&c) ?: name, config_error_line(&c),
			       "%s%s", why, hint);
		ld->n_failed++;
		r = 0;
	}
	ld->file = NULL;
	config_destroy(&c);
	return r;
}

static int _fos_load_file(struct fos_loader *ld, const char *path, bool main)
{
	_cleanup_fclose_ FILE *f = NULL;

	f = _fos_fopen_regular(path);
	if (!f) {
		_fos_file_failed(ld, path, -errno);
		return 0;
	}
	log_debug("Reading %s", path);
	return _fos_load_one(ld, path, f, NULL, main);
}

static int _fos_dropin_filter(const struct dirent *d)
{
	size_t len = strlen(d->d_name);

	return d->d_name[0] != '.' && len > strlen(".conf") &&
	       strcmp(d->d_name + len - strlen(".conf"), ".conf") == 0;
}

/* Byte order, so the order does not depend on the locale. */
static int _fos_dropin_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int _fos_load_dropins(struct fos_loader *ld, const char *main_path)
{
	_cleanup_free_ char *dir = NULL;
	struct dirent **names = NULL;
	int n, r;

	r = _fos_path_beside(main_path, "fwd.d", &dir);
	if (r < 0)
		return r;
	n = scandir(dir, &names, _fos_dropin_filter, _fos_dropin_cmp);
	if (n < 0) {
		r = -errno;
		if (r != -ENOENT)
			_fos_file_failed(ld, dir, r);
		return 0;
	}

	r = 0;
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *path = NULL;
		struct stat st;

		if (r >= 0 && asprintf(&path, "%s/%s", dir, names[i]->d_name) < 0) {
			path = NULL;
			r = -ENOMEM;
		}
		if (r >= 0) {
			if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
				log_debug("%s: not a regular file, ignoring", path);
			else
				r = _fos_load_file(ld, path, false);
		}
		free(names[i]);
	}
	free(names);
	return r;
}

static void _fos_resolve_refs(struct fos_loader *ld)
{
	for (size_t i = 0; i < ld->n_refs; i++) {
		const struct fos_pending_ref *ref = &ld->refs[i];

		if (fos_config_find_set(ld->cfg, ref->set))
			continue;
		fos_errors_add(ld->errs, ref->file, ref->line, "%s: ipSetRef \"%s\": no such ipSet",
			       ref->path, ref->set);
		ld->n_failed++;
	}
}

/* A state condition without "new" matches only if invalid packets reach the
 * rules. */
static void _fos_check_invalid_states(struct fos_loader *ld)
{
	uint8_t invalid = ld->cfg->conntrack.invalid;

	if (invalid == FOS_CT_INVALID_RULES || ld->conntrack_invalid_bad)
		return;
	for (size_t i = 0; i < ld->n_invalid_states; i++)
		_fos_err_where(ld, &ld->invalid_states[i],
			       "a rule for invalid packets never matches unless conntrack.invalid "
			       "= \"rules\" (it is \"%s\")",
			       fos_ct_invalid_to_string(invalid));
}

static const char *_fos_tc_direction(enum fos_prog_type t)
{
	return t == FOS_PROG_TC_INGRESS ? "ingress" : "egress";
}

static enum fos_prog_type _fos_tc_other(enum fos_prog_type t)
{
	return t == FOS_PROG_TC_INGRESS ? FOS_PROG_TC_EGRESS : FOS_PROG_TC_INGRESS;
}

static bool _fos_tc_stateful_on(const struct fos_config *c, const char *ifname,
				enum fos_prog_type t)
{
	for (size_t i = 0; i < c->n_programs; i++)
		if (c->programs[i].type == t && c->programs[i].stateful &&
		    strcmp(c->programs[i].interface, ifname) == 0)
			return true;
	return false;
}

/* p's conntrack tracker: on the other direction of its interface, at its
 * priority, unless a stateful program of its own runs there. */
static bool _fos_tc_has_tracker(const struct fos_config *c, const struct fos_program *p)
{
	return p->stateful && !_fos_tc_stateful_on(c, p->interface, _fos_tc_other(p->type));
}

/*
 * The tc filters the TC programs need, one per interface, direction and
 * priority: each program's own, and the tracker of each stateful one. A
 * conflict is reported at the later program, naming the earlier.
 */
static void _fos_check_tc(struct fos_loader *ld)
{
	static const char tracker[] = "the conntrack tracker of the stateful program ";
	const struct fos_config *c = ld->cfg;

	for (size_t j = 0; j < c->n_programs; j++) {
		const struct fos_program *b = &c->programs[j];
		const struct fos_program_where *bw = &ld->programs[j];

		if (!_fos_prog_is_tc(b->type) || b->interface[0] == '\0')
			continue;
		for (size_t i = 0; i < j; i++) {
			const struct fos_program *a = &c->programs[i];
			bool a_tracks, b_tracks;

			if (!_fos_prog_is_tc(a->type) || strcmp(a->interface, b->interface) != 0)
				continue;

			if (a->type == b->type && a->stateful && b->stateful)
				_fos_err_where(
				    ld, &bw->stateful,
				    "\"%s\" and \"%s\" (%s:%d) are both stateful %s "
				    "programs on %s; at most one is allowed per interface "
				    "and direction",
				    b->name, a->name, a->src.file, a->src.line,
				    fos_prog_type_to_string(b->type), b->interface);
			if (a->priority != b->priority)
				continue;
			/* on other directions, only a tracker meets the other program */
			a_tracks = a->type != b->type && _fos_tc_has_tracker(c, a);
			b_tracks = a->type != b->type && _fos_tc_has_tracker(c, b);
			if (a->type != b->type && !a_tracks && !b_tracks)
				continue;
			_fos_err_where(ld, &bw->priority,
				       "%s\"%s\" and %s\"%s\" (%s:%d) would both use the tc filter "
				       "at %s %s priority %d; give one of them another priority",
				       b_tracks ? tracker : "program ", b->name,
				       a_tracks ? tracker : "program ", a->name, a->src.file,
				       a->src.line, b->interface,
				       _fos_tc_direction(b_tracks ? a->type : b->type),
				       b->priority);
		}
	}
}

static int _fos_note(struct fos_config *c, const struct fos_source *src, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int _fos_note(struct fos_config *c, const struct fos_source *src, const char *fmt, ...)
{
	_cleanup_free_ char *text = NULL;
	char *line, **v;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	if (asprintf(&line, "%s:%d: %s", src->file ? src->file : c->path, src->line, text) < 0)
		return -ENOMEM;
	v = realloc(c->notes, (c->n_notes + 1) * sizeof(*v));
	if (!v) {
		free(line);
		return -ENOMEM;
	}
	c->notes = v;
	c->notes[c->n_notes++] = line;
	return 0;
}

static bool _fos_tc_priority_used(const struct fos_config *c, const char *ifname, int prio)
{
	for (size_t i = 0; i < c->n_programs; i++)
		if (_fos_prog_is_tc(c->programs[i].type) && c->programs[i].priority == prio &&
		    strcmp(c->programs[i].interface, ifname) == 0)
			return true;
	return false;
}

/*
 * rateLimiting.connectionsPerIP counts the connections each source has open
 * in the connection table, which stateful TC programs fill. On an interface
 * without one, fwd adds its own: "conntrack-<interface>", a tc-ingress
 * program that only tracks (fos_tc_track there and, as for every stateful
 * TC program, on egress), at the highest TC priority the interface's
 * programs leave free, so it sees what they pass.
 */
static int _fos_add_conn_trackers(struct fos_loader *ld)
{
	struct fos_config *c = ld->cfg;
	size_t n = c->n_programs;

	for (size_t i = 0; i < n; i++) {
		const struct fos_program *x = &c->programs[i];
		struct fos_program t = {.type = FOS_PROG_TC_INGRESS,
					.stateful = true,
					.track_only = true,
					.default_action = FOS_CFG_PASS};
		struct fos_program *v;
		int prio, r;

		if (x->type != FOS_PROG_XDP || !x->ddos.rate_enabled || !x->ddos.conns_per_ip)
			continue;
		if (x->stateful_implied) {
			r = _fos_note(c, &x->ddos.rate_src,
				      "program \"%s\": rateLimiting.connectionsPerIP turns on "
				      "connection tracking (settings.stateful = true): established "
				      "and related packets pass without its rules",
				      x->name);
			if (r < 0)
				return r;
		}
		if (_fos_tc_stateful_on(c, x->interface, FOS_PROG_TC_INGRESS) ||
		    _fos_tc_stateful_on(c, x->interface, FOS_PROG_TC_EGRESS))
			continue; /* a stateful TC program (the tracker itself, too) */
		snprintf(t.name, sizeof(t.name), "conntrack-%s", x->interface);
		if (fos_config_find_program(c, t.name)) {
			ld->n_failed++;
			fos_errors_add(ld->errs, x->ddos.rate_src.file, x->ddos.rate_src.line,
				       "programs \"%s\": rateLimiting.connectionsPerIP needs "
				       "connection tracking on %s, and the program fwd adds for it "
				       "is named \"%s\", which is taken",
				       x->name, x->interface, t.name);
			continue;
		}
		for (prio = FOS_PRIORITY_MAX; prio >= FOS_TC_PRIORITY_MIN; prio--)
			if (!_fos_tc_priority_used(c, x->interface, prio))
				break;
		t.priority = prio;
		snprintf(t.interface, sizeof(t.interface), "%s", x->interface);
		t.src.file = strdup(x->ddos.rate_src.file ? x->ddos.rate_src.file : c->path);
		if (asprintf(&t.description,
			     "connection tracking on %s for the connectionsPerIP of \"%s\"",
			     x->interface, x->name) < 0)
			t.description = NULL;
		if (!t.src.file || !t.description) {
			_fos_program_done(&t);
			return -ENOMEM;
		}
		t.src.line = x->ddos.rate_src.line;
		v = realloc(c->programs, (c->n_programs + 1) * sizeof(*v));
		if (!v) {
			_fos_program_done(&t);
			return -ENOMEM;
		}
		c->programs = v;
		c->programs[c->n_programs++] = t;
		x = &c->programs[i];
		r = _fos_note(c, &x->ddos.rate_src,
			      "program \"%s\": connectionsPerIP: tracking the connections of %s "
			      "with program \"%s\" (tc-ingress and tc-egress, priority %d)",
			      x->name, x->interface, t.name, t.priority);
		if (r < 0)
			return r;
	}
	return 0;
}

static int _fos_config_new(const char *path, struct fos_config **ret)
{
	_cleanup_(fos_config_freep) struct fos_config *c = NULL;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->path = strdup(path);
	if (!c->path)
		return -ENOMEM;
	snprintf(c->daemon.socket, sizeof(c->daemon.socket), "%s", FOS_DEFAULT_SOCKET);
	snprintf(c->daemon.pin_dir, sizeof(c->daemon.pin_dir), "%s", FOS_DEFAULT_PIN_DIR);
	snprintf(c->daemon.log_level, sizeof(c->daemon.log_level), "%s", "info");
	c->conntrack = (struct fos_conntrack_cfg){
	    .src = {.file = strdup(path)},
	    .max_connections = FOS_CT_DEFAULT_MAX,
	    .tcp_timeout = FOS_CT_DEFAULT_TCP_TIMEOUT,
	    .tcp_syn_timeout = FOS_CT_DEFAULT_TCP_SYN_TIMEOUT,
	    .tcp_fin_timeout = FOS_CT_DEFAULT_TCP_FIN_TIMEOUT,
	    .udp_timeout = FOS_CT_DEFAULT_UDP_TIMEOUT,
	    .icmp_timeout = FOS_CT_DEFAULT_ICMP_TIMEOUT,
	    .invalid = FOS_CT_INVALID_DROP,
	};
	if (!c->conntrack.src.file)
		return -ENOMEM;
	*ret = TAKE_PTR(c);
	return 0;
}

/* text == NULL: read the file name and its fwd.d/; else parse text alone. */
static int _fos_config_load(const char *name, const char *text, struct fos_config **ret,
			    struct fos_errors *errs)
{
	_cleanup_(_fos_loader_done) struct fos_loader ld = {.errs = errs};
	_cleanup_(fos_config_freep) struct fos_config *cfg = NULL;
	int r;

	assert(name);
	assert(ret);

	r = _fos_config_new(name, &cfg);
	if (r < 0)
		return r;
	ld.cfg = cfg;

	if (text) {
		r = _fos_load_one(&ld, name, NULL, text, true);
	} else {
		r = _fos_load_file(&ld, name, true);
		/* Without its main file a config is not worth checking further. */
		if (r >= 0 && ld.io_error == 0)
			r = _fos_load_dropins(&ld, name);
	}
	if (r < 0)
		return r;
	_fos_resolve_refs(&ld);
	_fos_check_invalid_states(&ld);
	_fos_check_tc(&ld);
	if (ld.n_failed == 0) {
		r = _fos_add_conn_trackers(&ld);
		if (r < 0)
			return r;
	}

	if (ld.n_failed > 0) {
		log_debug("%s: %u problem(s) found", name, ld.n_failed);
		return ld.io_error ?: -EINVAL;
	}
	log_debug("%s: %zu ipSet(s), %zu program(s)", name, cfg->n_sets, cfg->n_programs);
	*ret = TAKE_PTR(cfg);
	return 0;
}

int fos_config_load(const char *path, struct fos_config **ret, struct fos_errors *errs)
{
	return _fos_config_load(path, NULL, ret, errs);
}

int fos_config_load_string(const char *name, const char *text, struct fos_config **ret,
			   struct fos_errors *errs)
{
	assert(text);
	return _fos_config_load(name, text, ret, errs);
}

/* ---- interfaces ---------------------------------------------------------- */

static bool _fos_same_file(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) == 0 : a == b;
}

int fos_config_check_interfaces(const struct fos_config *c, unsigned (*resolve)(const char *),
				struct fos_errors *errs)
{
	size_t first = 0;
	bool failed = false;

	assert(c);

	if (!resolve)
		resolve = if_nametoindex;

	for (size_t i = 0; i < c->n_programs; i++) {
		const struct fos_program *p = &c->programs[i];
		size_t idx;

		/* Messages count programs within their own file, as loading does:
		 * each file's programs are contiguous and in order. */
		if (i > 0 && !_fos_same_file(p->src.file, c->programs[i - 1].src.file))
			first = i;
		idx = i - first;

		if (resolve(p->interface) == 0) {
			fos_errors_add(errs, p->src.file, p->src.line,
				       "programs[%zu].interface: no such interface \"%s\"", idx,
				       p->interface);
			failed = true;
		}
		if (p->default_action == FOS_CFG_REDIRECT && resolve(p->default_interface) == 0) {
			fos_errors_add(errs, p->src.file, p->src.line,
				       "programs[%zu].settings.actions.defaultInterface: no such "
				       "interface \"%s\"",
				       idx, p->default_interface);
			failed = true;
		}
		for (size_t j = 0; j < p->n_rules; j++) {
			const struct fos_rule_cfg *rule = &p->rules[j];

			if (rule->action != FOS_CFG_REDIRECT || resolve(rule->interface) != 0)
				continue;
			fos_errors_add(
			    errs, rule->src.file, rule->src.line,
			    "programs[%zu].settings.actions.rules[%zu].interface: no such "
			    "interface \"%s\"",
			    idx, j, rule->interface);
			failed = true;
		}
	}
	return failed ? -EINVAL : 0;
}
