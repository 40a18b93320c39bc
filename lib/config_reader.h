// SPDX-License-Identifier: GPL-2.0-only
/*
 * The config reader's interface to its sections (lib/conf_*.c): the loader
 * state, error reporting with file:line and the setting's path, typed
 * values, key checks and names. Not part of libfos's public API.
 */
#ifndef FOS_CONFIG_READER_H
#define FOS_CONFIG_READER_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#define FOS_PRIORITY_DEFAULT 100
#define FOS_PRIORITY_MAX     65535
#define FOS_TC_PRIORITY_MIN  1		   /* tc filter priority 0 means "pick one" */
#define FOS_CT_TIMEOUT_MAX   2147483647ULL /* seconds */
#define FOS_SETTING_PATH_MAX 512
#define FOS_DDOS_COUNT_MAX   1000000000LL /* rates, bursts, thresholds, connectionsPerIP */

extern const char *const ct_class_names[_FOS_CT_CLASS_MAX];

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

/*
 * One top-level key of the config, as a feature contributes it. The reader
 * (config.c) knows nothing of what a section holds: it hands each section its
 * setting from every file, then runs the sections' checks, then frees the
 * model through them. A section whose feature is not built yet has only a
 * key and the feature's name, and is refused with one line naming it.
 */
struct fos_conf_section {
	const char *key;     /* NULL: a section with no key of its own (checks only) */
	const char *feature; /* not built yet: "NAT44/NAT66 (the NATConfig resource)" */
	bool main_only;	     /* only in the main file, not in fwd.d/ */
	bool list;	     /* a list of groups: parse is called for each group */
	int (*parse)(struct fos_loader *ld, const config_setting_t *s);
	/* once every file is read, in table order: checks across entries, files
	 * and sections; the model may be completed here */
	int (*check)(struct fos_loader *ld);
	void (*done)(struct fos_config *c); /* frees the section's part of the model */
};

/* the sections, in the order config.c runs them */
extern const struct fos_conf_section fos_conf_daemon;
extern const struct fos_conf_section fos_conf_conntrack;
extern const struct fos_conf_section fos_conf_sets;
extern const struct fos_conf_section fos_conf_programs;
extern const struct fos_conf_section fos_conf_ddos;
extern const struct fos_conf_section fos_conf_nat;

/*
 * What a program's settings tell the groups a feature adds to them (the DDoS
 * protections): the *_known fields are false where that setting is wrong, so
 * that no second error follows from the first.
 */
struct fos_settings_ctx {
	struct fos_program *p;
	bool stateful_given; /* settings.stateful is set */
	bool stateful_known;
	bool blacklist_known;
	bool blacklist_ok; /* settings.blacklist is enabled and has an ipSetRef */
};

/* Groups a feature adds to an EBPFProgram's settings, beside the filter's. */
struct fos_conf_settings_ext {
	const char *const *keys;
	/* g is the whole settings group; parse reads its own keys of it */
	int (*parse)(struct fos_loader *ld, const config_setting_t *g,
		     const struct fos_settings_ctx *ctx);
};
extern const struct fos_conf_settings_ext fos_conf_ddos_settings;
/* the extensions of a program's settings, NULL-terminated (config.c) */
extern const struct fos_conf_settings_ext *const fos_conf_settings_exts[];

#define _fos_err(ld, s, ...) _fos_err_at(ld, s, s, __VA_ARGS__)

void _fos_source_done(struct fos_source *s);
unsigned _fos_cidrs_families(const struct fos_cidr *v, size_t n);
const char *_fos_open_strerror(int r);
FILE *_fos_fopen_regular(const char *path);
int _fos_path_beside(const char *base, const char *rel, char **ret);
void _fos_where_done(struct fos_where *w);
void _fos_program_where_done(struct fos_program_where *w);
const char *_fos_setting_file(const struct fos_loader *ld, const config_setting_t *s);
const char *_fos_setting_path(const config_setting_t *s, char *buf, size_t len);
__attribute__((format(printf, 4, 5))) void _fos_err_at(struct fos_loader *ld,
						       const config_setting_t *where,
						       const config_setting_t *at, const char *fmt,
						       ...);
int _fos_where_set(const struct fos_loader *ld, const config_setting_t *where,
		   const config_setting_t *at, struct fos_where *w);
__attribute__((format(printf, 3, 4))) void
_fos_err_where(struct fos_loader *ld, const struct fos_where *w, const char *fmt, ...);
int _fos_source_set(const struct fos_loader *ld, const config_setting_t *s, struct fos_source *src);
const char *_fos_kind(const config_setting_t *s);
bool _fos_is_int(const config_setting_t *s);
bool _fos_want_group(struct fos_loader *ld, const config_setting_t *s);
bool _fos_want_list(struct fos_loader *ld, const config_setting_t *s);
const char *_fos_string(struct fos_loader *ld, const config_setting_t *s);
bool _fos_int(struct fos_loader *ld, const config_setting_t *s, long long lo, long long hi,
	      long long *ret);
bool _fos_bool(struct fos_loader *ld, const config_setting_t *s, bool *ret);
bool _fos_strv_contains(const char *const *v, const char *s);
const char *_fos_strv_join(const char *const *v, size_t n, char *buf, size_t len);
bool _fos_choice(struct fos_loader *ld, const config_setting_t *s, const char *const *names,
		 size_t n, const char *what, size_t *ret);
void _fos_unknown_key(struct fos_loader *ld, const config_setting_t *s, const char *const *known);
void _fos_check_keys(struct fos_loader *ld, const config_setting_t *group,
		     const char *const *known);
const config_setting_t *_fos_required(struct fos_loader *ld, const config_setting_t *group,
				      const char *key);
bool _fos_name(struct fos_loader *ld, const config_setting_t *s, char ret[FOS_NAME_MAX]);
bool _fos_ifname(struct fos_loader *ld, const config_setting_t *s, char ret[FOS_IFNAME_MAX]);
bool _fos_seconds(struct fos_loader *ld, const config_setting_t *s, uint32_t *ret);
int _fos_parse_cidrs(struct fos_loader *ld, const config_setting_t *s, struct fos_cidr **ret,
		     size_t *ret_n);
bool _fos_prog_is_tc(enum fos_prog_type t);
void _fos_program_done(struct fos_program *p);
bool _fos_tc_stateful_on(const struct fos_config *c, const char *ifname, enum fos_prog_type t);

#endif
