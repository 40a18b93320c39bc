/* SPDX-License-Identifier: GPL-2.0-only */
/* A command line as words (cmdline.c). */
#ifndef FOSCTL_CMDLINE_H
#define FOSCTL_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Split a line into words at blanks; '...' and "..." quote, backslash
 * escapes. A line ending inside quotes is -EINVAL unless lenient (completion
 * works on half-typed lines). *ret_trailing_blank tells whether the line
 * ends between words (may be NULL).
 */
int fosctl_split(const char *line, bool lenient, char ***ret_tokens, size_t *ret_n,
		 bool *ret_trailing_blank);

void fosctl_strv_free(char **v);
static inline void fosctl_strv_freep(char ***v)
{
	fosctl_strv_free(*v);
	*v = NULL;
}

#endif
