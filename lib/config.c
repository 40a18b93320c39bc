// SPDX-License-Identifier: GPL-2.0-only
/*
 * The config reader: reads fwd.conf and fwd.d/\*.conf with libconfig, hands
 * each top-level key to its section (the table `sections` below; one file
 * lib/conf_<section>.c each) and builds one struct fos_config.
 *
 * Every problem is recorded as "file:line: path: what is wrong" and loading
 * carries on, so one run reports all of them; a config with any error is never
 * handed out. The path names the setting as the operator wrote it, with list
 * indices counted within its own file: "programs[0].settings.actions.rules[2]".
 * The helpers sections share (typed values, key checks, names, errors) are
 * declared in config_reader.h.
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

/* Sections of the resources whose feature is not built yet. */
static const struct fos_conf_section planned_traffic_control = {
    .key = "trafficControl", .feature = "QoS (the TrafficControl resource)"};

static const struct fos_conf_section planned_container_policies = {
    .key = "containerPolicies",
    .feature = "container policy enforcement (the ContainerPolicy resource)"};

/*
 * Every section of the config, in the order they are parsed and checked: a
 * feature adds its section here (and, if it adds groups to a program's
 * settings, to fos_conf_settings_exts), and nowhere else in the reader.
 */
static const struct fos_conf_section *const sections[] = {
    &fos_conf_daemon, &fos_conf_conntrack,	&fos_conf_sets, &fos_conf_programs,
    &fos_conf_ddos,   &planned_traffic_control, &fos_conf_nat,	&planned_container_policies,
};

const struct fos_conf_settings_ext *const fos_conf_settings_exts[] = {
    &fos_conf_ddos_settings,
    NULL,
};

void fos_config_free(struct fos_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
		if (sections[i]->done)
			sections[i]->done(c);
	fos_errors_clear(&c->notes);
	free(c->path);
	free(c);
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

/* A whole file failed: "path: reason". */
static void _fos_file_failed(struct fos_loader *ld, const char *path, int r)
{
	fos_errors_add(ld->errs, path, 0, "%s", _fos_open_strerror(r));
	ld->n_failed++;
	if (ld->io_error == 0)
		ld->io_error = r;
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

/* ---- files --------------------------------------------------------------- */
/* One parsed file: the main one may hold every top-level key, a drop-in every
 * one but daemon. */
static int _fos_load_root(struct fos_loader *ld, const config_t *c, bool main)
{
	const config_setting_t *root = config_root_setting(c);
	const char *keys[ARRAY_SIZE(sections) + 1];
	size_t n = 0;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
		if (sections[i]->key && !sections[i]->feature)
			keys[n++] = sections[i]->key;
	keys[n] = NULL;

	for (int i = 0; i < config_setting_length(root); i++) {
		const config_setting_t *e = config_setting_get_elem(root, (unsigned)i);
		const char *name = config_setting_name(e);
		const struct fos_conf_section *sec = NULL;

		for (size_t j = 0; j < ARRAY_SIZE(sections) && !sec; j++)
			if (sections[j]->key && strcmp(name, sections[j]->key) == 0)
				sec = sections[j];
		if (!sec)
			_fos_unknown_key(ld, e, keys);
		else if (sec->feature)
			_fos_err(ld, e, "%s is not built into fos %s yet", sec->feature,
				 FOS_VERSION);
	}

	/* in table order: a section may depend on one before it */
	for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
		const struct fos_conf_section *sec = sections[i];
		const config_setting_t *s;

		if (!sec->key || sec->feature || !sec->parse)
			continue;
		s = config_setting_get_member(root, sec->key);
		if (!s)
			continue;
		if (sec->main_only && !main) {
			_fos_err(ld, s, "only allowed in the main config file");
			continue;
		}
		r = sec->list ? _fos_parse_list(ld, s, sec->parse) : sec->parse(ld, s);
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
	for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
		if (sections[i]->check) {
			r = sections[i]->check(&ld);
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
