// SPDX-License-Identifier: GPL-2.0-only
/* A command line split into words. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cmdline.h"

void fosctl_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static bool _fosctl_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int fosctl_split(const char *line, bool lenient, char ***ret_tokens, size_t *ret_n,
		 bool *ret_trailing_blank)
{
	_cleanup_(fosctl_strv_freep) char **tokens = NULL;
	_cleanup_free_ char *word = NULL;
	size_t n = 0, len = strlen(line);
	const char *p = line;
	bool trailing_blank = true;
	char quote = 0;

	/* No line has more words than half its length plus one. */
	tokens = calloc(len / 2 + 2, sizeof(*tokens));
	word = malloc(len + 1);
	if (!tokens || !word)
		return -ENOMEM;

	for (;;) {
		const char *start = p;
		size_t w = 0;

		while (_fosctl_blank(*p))
			p++;
		if (*p == '\0') {
			trailing_blank = p != start || n == 0;
			break;
		}

		for (; *p && (quote || !_fosctl_blank(*p)); p++) {
			if (quote && *p == quote)
				quote = 0;
			else if (!quote && (*p == '\'' || *p == '"'))
				quote = *p;
			else if (*p == '\\' && quote != '\'' && p[1] != '\0')
				word[w++] = *++p;
			else
				word[w++] = *p;
		}
		if (quote && !lenient)
			return -EINVAL;

		tokens[n] = strndup(word, w);
		if (!tokens[n])
			return -ENOMEM;
		n++;
	}

	if (ret_trailing_blank)
		*ret_trailing_blank = trailing_blank;
	*ret_n = n;
	*ret_tokens = TAKE_PTR(tokens);
	return 0;
}
