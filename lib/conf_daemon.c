// SPDX-License-Identifier: GPL-2.0-only
/*
 * The config section of the daemon group: the control socket, the pin
 * directory, the log level.
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

static const char *const log_level_names[] = {"debug", "info", "notice", "warning", "error", NULL};

static const char *const daemon_keys[] = {"socket", "pinDir", "logLevel", "tcAttach", NULL};

static const char *const tc_mode_names[] = {"auto", "tcx", "clsact", NULL};

const char *fos_tc_mode_to_string(enum fos_tc_mode m)
{
	return (unsigned)m < 3 ? tc_mode_names[m] : "?";
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

	s = config_setting_get_member(g, "tcAttach");
	if (s && (v = _fos_string(ld, s))) {
		char valid[64];
		bool found = false;

		for (uint8_t i = 0; tc_mode_names[i]; i++)
			if (strcmp(tc_mode_names[i], v) == 0) {
				d->tc_mode = i;
				found = true;
			}
		if (!found)
			_fos_err(ld, s, "unknown TC attach mode \"%s\" (valid: %s)", v,
				 _fos_strv_join(tc_mode_names, SIZE_MAX, valid, sizeof(valid)));
	}
}

static int _fos_daemon_parse(struct fos_loader *ld, const config_setting_t *s)
{
	_fos_parse_daemon(ld, s);
	return 0;
}

const struct fos_conf_section fos_conf_daemon = {
    .key = "daemon",
    .main_only = true,
    .parse = _fos_daemon_parse,
};
