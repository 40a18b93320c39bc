// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"

static int log_level = LOG_INFO;
static enum fos_log_target log_target = FOS_LOG_STDERR;

static const char *const level_names[] = {
    [LOG_EMERG] = "emerg",     [LOG_ALERT] = "alert",	[LOG_CRIT] = "crit", [LOG_ERR] = "error",
    [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

void fos_log_set_level(int level)
{
	log_level = level;
}

int fos_log_get_level(void)
{
	return log_level;
}

void fos_log_set_target(enum fos_log_target t)
{
	log_target = t;
}

int fos_log_level_from_string(const char *s)
{
	for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return i;
	if (strcasecmp(s, "err") == 0)
		return LOG_ERR;
	return -EINVAL;
}

const char *fos_log_level_to_string(int level)
{
	if (level < 0 || level > LOG_DEBUG)
		return "unknown";
	return level_names[level];
}

int fos_log_internal(int level, int error, const char *fmt, ...)
{
	int saved = errno;

	if (level <= log_level) {
		char buf[2048];
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		if (log_target == FOS_LOG_JOURNAL)
			fprintf(stderr, "<%d>", level);
		if (error != 0)
			fprintf(stderr, "%s: %s\n", buf, strerror(error < 0 ? -error : error));
		else
			fprintf(stderr, "%s\n", buf);
	}
	errno = saved;
	return error < 0 ? error : -(error);
}
