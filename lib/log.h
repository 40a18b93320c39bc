/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef FOS_LOG_H
#define FOS_LOG_H

#include <syslog.h>

enum fos_log_target {
	FOS_LOG_STDERR,	 /* plain lines */
	FOS_LOG_JOURNAL, /* "<N>" priority prefixes, for journald */
};

void fos_log_set_level(int level);
int fos_log_get_level(void);
void fos_log_set_target(enum fos_log_target t);
/* "debug", "info", "notice", "warning", "error" -> LOG_*; -EINVAL if unknown */
int fos_log_level_from_string(const char *s);
const char *fos_log_level_to_string(int level);

__attribute__((format(printf, 3, 4))) int fos_log_internal(int level, int error, const char *fmt,
							   ...);

#define log_full_errno(level, error, ...) fos_log_internal(level, error, __VA_ARGS__)
#define log_debug(...)			  fos_log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)			  fos_log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)			  fos_log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...)		  fos_log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)			  fos_log_internal(LOG_ERR, 0, __VA_ARGS__)
/* log with ": strerror(-r)" appended and return r (negative errno) */
#define log_error_errno(r, ...)	  fos_log_internal(LOG_ERR, r, __VA_ARGS__)
#define log_warning_errno(r, ...) fos_log_internal(LOG_WARNING, r, __VA_ARGS__)
#define log_debug_errno(r, ...)	  fos_log_internal(LOG_DEBUG, r, __VA_ARGS__)

#endif
