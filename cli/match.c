// SPDX-License-Identifier: GPL-2.0-only
/* Words typed against the command table: dispatch, help and completion. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cmdline.h"
#include "match.h"
#include "table.h"
#include "output.h"

/* Iterate over the commands in a set, in table order. */
#define FOREACH_COMMAND(c, set)                                                                    \
	for (fosctl_cmdset _rest = (set); _rest; _rest &= _rest - 1)                               \
		for (const struct fosctl_command *c = &_fosctl_tab[__builtin_ctz(_rest)]; c;       \
		     c = NULL)

#define FOSCTL_BIT_OF(c) ((fosctl_cmdset)1 << ((c)-_fosctl_tab))

/* the command table, handed in by fosctl_commands_init() */
static const struct fosctl_command *_fosctl_tab;
static size_t _fosctl_n_tab;

void fosctl_match_use(const struct fosctl_command *v, size_t n)
{
	_fosctl_tab = v;
	_fosctl_n_tab = n;
}

fosctl_cmdset fosctl_cmdset_all(bool shell)
{
	fosctl_cmdset set = 0;

	for (size_t i = 0; i < _fosctl_n_tab; i++)
		if (shell || !_fosctl_tab[i].shell_only)
			set |= (fosctl_cmdset)1 << i;
	return set;
}

static bool _fosctl_prefix(const char *prefix, const char *word)
{
	return strncmp(prefix, word, strlen(prefix)) == 0;
}

static size_t _fosctl_count(fosctl_cmdset set)
{
	return (size_t)__builtin_popcount(set);
}

/*
 * Keep the commands of set that tokens[0..n) fit word by word: a token at a
 * word's position must be a prefix of that word, a word typed in full beats
 * the words it is a prefix of ("set" is not "sets"), and a token that fits a
 * word is not an argument ("show conntrack summary" is not a filter). Tokens
 * past a command's words are its arguments and are not looked at. Returns
 * the set; if it becomes empty, *ret_failed is the token that fitted nothing.
 */
static fosctl_cmdset _fosctl_filter(char *const *tokens, size_t n, fosctl_cmdset set,
				    size_t *ret_failed)
{
	for (size_t t = 0; t < n; t++) {
		fosctl_cmdset words = 0, exact = 0, args = 0;

		FOREACH_COMMAND(c, set)
		{
			if (t >= fosctl_command_n_words(c))
				args |= FOSCTL_BIT_OF(c);
			else if (strcmp(tokens[t], c->words[t]) == 0)
				exact |= FOSCTL_BIT_OF(c);
			else if (_fosctl_prefix(tokens[t], c->words[t]))
				words |= FOSCTL_BIT_OF(c);
		}
		if ((exact | words | args) == 0) {
			*ret_failed = t;
			return 0;
		}
		set = exact ? exact : words ? words : args;
	}
	return set;
}

/* The first position below n where the commands of set have different words. */
static bool _fosctl_diverge(fosctl_cmdset set, size_t n, size_t *ret_pos)
{
	for (size_t t = 0; t < n; t++) {
		const char *word = NULL;

		FOREACH_COMMAND(c, set)
		{
			const char *w = t < fosctl_command_n_words(c) ? c->words[t] : NULL;

			if (!w)
				continue;
			if (word && strcmp(word, w) != 0) {
				*ret_pos = t;
				return true;
			}
			word = w;
		}
	}
	return false;
}

void fosctl_match(char *const *tokens, size_t n, bool shell, struct fosctl_match *ret)
{
	fosctl_cmdset all = fosctl_cmdset_all(shell), set, complete = 0, fit = 0;
	size_t failed = 0, pos;

	*ret = (struct fosctl_match){};

	set = _fosctl_filter(tokens, n, all, &failed);
	if (!set) {
		/* Help for the commands that the tokens before it do fit. */
		fosctl_cmdset before = _fosctl_filter(tokens, failed, all, &pos);

		ret->result = FOSCTL_MATCH_UNKNOWN;
		ret->token = failed;
		FOREACH_COMMAND(c, before)
		{
			if (failed < fosctl_command_n_words(c))
				ret->candidates |= FOSCTL_BIT_OF(c);
		}
		return;
	}

	FOREACH_COMMAND(c, set)
	{
		size_t words = fosctl_command_n_words(c), min, max;

		if (words > n)
			continue;
		complete |= FOSCTL_BIT_OF(c);
		fosctl_command_arity(c, &min, &max);
		/* Filters are checked when the parameters are built, with a
		 * message that names the filter. */
		if (n - words >= min && (n - words <= max || c->filters))
			fit |= FOSCTL_BIT_OF(c);
	}

	if (_fosctl_count(fit) == 1) {
		ret->result = FOSCTL_MATCH_OK;
		ret->command = &_fosctl_tab[__builtin_ctz(fit)];
		ret->candidates = fit;
		return;
	}
	if (_fosctl_count(fit) > 1 || _fosctl_count(complete) > 1) {
		ret->result = FOSCTL_MATCH_AMBIGUOUS;
		ret->candidates = fit ? fit : complete;
		_fosctl_diverge(ret->candidates, n, &ret->token);
		return;
	}
	if (complete) {
		const struct fosctl_command *c = &_fosctl_tab[__builtin_ctz(complete)];
		size_t min, max, words = fosctl_command_n_words(c);

		fosctl_command_arity(c, &min, &max);
		ret->result = n - words < min ? FOSCTL_MATCH_MISSING : FOSCTL_MATCH_EXTRA;
		ret->command = c;
		ret->candidates = complete;
		ret->token = n - words < min ? n : words + max;
		return;
	}

	ret->candidates = set;
	if (_fosctl_diverge(set, n, &pos)) {
		ret->result = FOSCTL_MATCH_AMBIGUOUS;
		ret->token = pos;
	} else {
		ret->result = FOSCTL_MATCH_INCOMPLETE;
		ret->token = n;
	}
}

static void _fosctl_print_words(char *const *tokens, size_t n, FILE *f)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i > 0 ? " " : "", tokens[i]);
}

static void _fosctl_print_command_words(const struct fosctl_command *c, FILE *f)
{
	_fosctl_print_words((char *const *)c->words, fosctl_command_n_words(c), f);
}

/* The distinct ways the commands of set begin, up to `words` words. */
static void _fosctl_print_alternatives(fosctl_cmdset set, size_t words, FILE *f)
{
	fosctl_cmdset printed = 0;

	FOREACH_COMMAND(c, set)
	{
		size_t len = fosctl_command_n_words(c) < words ? fosctl_command_n_words(c) : words;
		bool seen = false;

		FOREACH_COMMAND(p, printed)
		{
			bool same = fosctl_command_n_words(p) >= len;

			for (size_t w = 0; same && w < len; w++)
				same = strcmp(p->words[w], c->words[w]) == 0;
			seen = seen || same;
		}
		if (seen)
			continue;
		fprintf(f, "%s", printed ? ", " : "");
		_fosctl_print_words((char *const *)c->words, len, f);
		printed |= FOSCTL_BIT_OF(c);
	}
}

void fosctl_match_explain(const struct fosctl_match *m, char *const *tokens, size_t n, FILE *f)
{
	const struct fosctl_command *c = m->command;
	size_t words = c ? fosctl_command_n_words(c) : 0, min = 0, max = 0;
	struct fosctl_match shell;

	if (c)
		fosctl_command_arity(c, &min, &max);

	fputs("fosctl: ", f);
	switch (m->result) {
	case FOSCTL_MATCH_OK:
		return;
	case FOSCTL_MATCH_UNKNOWN:
		fosctl_match(tokens, n, true, &shell);
		if (shell.result == FOSCTL_MATCH_OK && shell.command->shell_only) {
			fprintf(f, "\"%s\" only works in the interactive shell\n", tokens[0]);
			return;
		}
		fputs("unknown command \"", f);
		_fosctl_print_words(tokens, m->token + 1, f);
		fputs("\"\n", f);
		break;
	case FOSCTL_MATCH_AMBIGUOUS:
		fputs("ambiguous command \"", f);
		_fosctl_print_words(tokens, n, f);
		fputs("\", could be: ", f);
		_fosctl_print_alternatives(m->candidates, m->token + 1, f);
		fputc('\n', f);
		break;
	case FOSCTL_MATCH_INCOMPLETE:
		fputs("incomplete command \"", f);
		_fosctl_print_words(tokens, n, f);
		fputs("\"\n", f);
		break;
	case FOSCTL_MATCH_MISSING:
		fprintf(f, "missing argument %s for \"", c->args[n - words].name);
		_fosctl_print_command_words(c, f);
		fputs("\"\n", f);
		break;
	case FOSCTL_MATCH_EXTRA:
		fprintf(f, "unexpected argument \"%s\" for \"", tokens[words + max]);
		_fosctl_print_command_words(c, f);
		fputs("\"\n", f);
		break;
	case _FOSCTL_MATCH_MAX:
		break;
	}

	fputs(_fosctl_count(m->candidates) == 1 ? "usage:\n" : "commands:\n", f);
	fosctl_help_print(m->candidates, 0, f);
}

/* "program NAME", "rules [PROGRAM]": the syntax of c from word `from` on. */
static char *_fosctl_syntax(const struct fosctl_command *c, size_t from)
{
	size_t words = fosctl_command_n_words(c);
	char *text = NULL;
	size_t len = 0;
	bool first = true;
	FILE *s;

	s = open_memstream(&text, &len);
	if (!s)
		return NULL;
	for (size_t w = from; w < words; w++, first = false)
		fprintf(s, "%s%s", first ? "" : " ", c->words[w]);
	for (size_t a = 0; a < FOSCTL_ARGS_MAX && c->args[a].name; a++, first = false)
		fprintf(s, c->args[a].optional ? "%s[%s]" : "%s%s", first ? "" : " ",
			c->args[a].name);
	if (c->filters && c->options)
		for (const struct fosctl_filter *fl = c->filters; fl->keyword; fl++, first = false)
			fprintf(s, "%s[%s %s]", first ? "" : " ", fl->keyword, fl->value);
	else if (c->filters)
		fprintf(s, "%s[FILTER...]", first ? "" : " ");
	if (fclose(s) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static const struct fosctl_column fosctl_help_columns[] = {{"SYNTAX", false}, {"HELP", false}};

static void _fosctl_help_init(struct fosctl_table *t)
{
	fosctl_table_init(t, fosctl_help_columns, ARRAY_SIZE(fosctl_help_columns), false);
	t->indent = 2;
}

static void _fosctl_help_rows(struct fosctl_table *t, fosctl_cmdset set, size_t from)
{
	FOREACH_COMMAND(c, set)
	{
		char *syntax = _fosctl_syntax(c, from);

		fosctl_table_add(t, "%s", syntax ? syntax : "");
		fosctl_table_add(t, "%s", c->help);
		if (!syntax)
			t->error = -ENOMEM;
		free(syntax);
	}
}

int fosctl_help_print(fosctl_cmdset set, size_t from, FILE *f)
{
	_cleanup_(fosctl_table_done) struct fosctl_table t = {};

	_fosctl_help_init(&t);
	_fosctl_help_rows(&t, set, from);
	return fosctl_table_print(&t, f);
}

int fosctl_help_filters(const struct fosctl_command *c, FILE *f)
{
	_cleanup_(fosctl_table_done) struct fosctl_table t = {};

	_fosctl_help_init(&t);
	for (const struct fosctl_filter *fl = c->filters; fl && fl->keyword; fl++) {
		fosctl_table_add(&t, "%s %s", fl->keyword, fl->value);
		fosctl_table_add(&t, "%s", fl->help);
	}
	return fosctl_table_print(&t, f);
}

/* What a command takes at a position. */
enum fosctl_next_type {
	FOSCTL_NEXT_NOTHING,
	FOSCTL_NEXT_WORD,
	FOSCTL_NEXT_ARG,
	FOSCTL_NEXT_KEYWORD, /* a filter's keyword */
	FOSCTL_NEXT_VALUE,   /* the value of the filter before it */
	_FOSCTL_NEXT_MAX,
};

struct fosctl_next {
	enum fosctl_next_type type;
	const char *word;		    /* WORD */
	const struct fosctl_arg *arg;	    /* ARG */
	const struct fosctl_filter *filter; /* VALUE */
	bool end;			    /* the command may end before it */
};

/* What c takes at position n after tokens[0..n), which fit it. */
static void _fosctl_next(const struct fosctl_command *c, char *const *tokens, size_t n,
			 struct fosctl_next *ret)
{
	size_t nw = fosctl_command_n_words(c), min, max;

	fosctl_command_arity(c, &min, &max);
	*ret = (struct fosctl_next){};
	if (n < nw) {
		ret->type = FOSCTL_NEXT_WORD;
		ret->word = c->words[n];
		return;
	}
	ret->end = n >= nw + min;
	if (n < nw + max) {
		ret->type = FOSCTL_NEXT_ARG;
		ret->arg = &c->args[n - nw];
		return;
	}
	if (!c->filters) {
		ret->end = ret->end && n == nw + max;
		return;
	}
	if ((n - nw - max) % 2 == 0) {
		ret->type = FOSCTL_NEXT_KEYWORD;
		return;
	}
	ret->end = false;
	if (fosctl_filter_find(c->filters, tokens[n - 1], &ret->filter) == 0)
		ret->type = FOSCTL_NEXT_VALUE;
}

/* Whether filter f of c is among tokens[0..n) already. */
static bool _fosctl_filter_given(const struct fosctl_command *c, const struct fosctl_filter *f,
				 char *const *tokens, size_t n)
{
	size_t min, max;

	fosctl_command_arity(c, &min, &max);
	for (size_t t = fosctl_command_n_words(c) + max; t < n; t += 2) {
		const struct fosctl_filter *given;

		if (fosctl_filter_find(c->filters, tokens[t], &given) == 0 && given == f)
			return true;
	}
	return false;
}

fosctl_cmdset fosctl_context(char *const *tokens, size_t n, bool shell)
{
	fosctl_cmdset set, ctx = 0;
	size_t failed;

	set = _fosctl_filter(tokens, n, fosctl_cmdset_all(shell), &failed);
	FOREACH_COMMAND(c, set)
	{
		size_t min, max;

		fosctl_command_arity(c, &min, &max);
		if (n <= fosctl_command_n_words(c) + max || c->filters)
			ctx |= FOSCTL_BIT_OF(c);
	}
	return ctx;
}

int fosctl_help_context(char *const *tokens, size_t n, const char *partial, bool shell, FILE *f)
{
	_cleanup_(fosctl_table_done) struct fosctl_table t = {};
	fosctl_cmdset set = fosctl_context(tokens, n, shell), words = 0;
	unsigned kinds = 0;
	bool end = false;
	size_t pos;

	/* Where the words typed so far are ambiguous, show whole commands. */
	bool whole = _fosctl_diverge(set, n, &pos);

	FOREACH_COMMAND(c, set)
	{
		struct fosctl_next next;

		_fosctl_next(c, tokens, n, &next);
		if (next.type == FOSCTL_NEXT_WORD && _fosctl_prefix(partial, next.word))
			words |= FOSCTL_BIT_OF(c);
	}

	_fosctl_help_init(&t);
	_fosctl_help_rows(&t, words, whole ? 0 : n);
	FOREACH_COMMAND(c, set)
	{
		struct fosctl_next next;

		_fosctl_next(c, tokens, n, &next);
		end = end || (next.end && partial[0] == '\0');
		switch (next.type) {
		case FOSCTL_NEXT_ARG:
			/* One line per kind, even if several commands take it here. */
			if (kinds & (1U << next.arg->kind))
				break;
			kinds |= 1U << next.arg->kind;
			fosctl_table_add(&t, "%s", next.arg->name);
			fosctl_table_add(&t, "%s", fosctl_arg_kind_help(next.arg->kind));
			break;
		case FOSCTL_NEXT_KEYWORD:
			for (const struct fosctl_filter *fl = c->filters; fl->keyword; fl++) {
				if (!_fosctl_prefix(partial, fl->keyword) ||
				    _fosctl_filter_given(c, fl, tokens, n))
					continue;
				fosctl_table_add(&t, "%s %s", fl->keyword, fl->value);
				fosctl_table_add(&t, "%s", fl->help);
			}
			break;
		case FOSCTL_NEXT_VALUE:
			if (kinds & (1U << next.filter->kind))
				break;
			kinds |= 1U << next.filter->kind;
			fosctl_table_add(&t, "%s", next.filter->value);
			fosctl_table_add(&t, "%s", fosctl_arg_kind_help(next.filter->kind));
			break;
		case FOSCTL_NEXT_NOTHING:
		case FOSCTL_NEXT_WORD:
		case _FOSCTL_NEXT_MAX:
			break;
		}
	}
	if (end) {
		fosctl_table_add(&t, "<cr>");
		fosctl_table_add(&t, "run the command");
	}

	if (t.n_cells == 0 && t.error == 0) {
		fprintf(f, "  (nothing may follow \"%s\")\n", partial);
		return 0;
	}
	return fosctl_table_print(&t, f);
}

static int _fosctl_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append a copy of word to the NULL-terminated *v of *n words. */
static int _fosctl_strv_push(char ***v, size_t *n, const char *word)
{
	char **grown = reallocarray(*v, *n + 2, sizeof(**v));

	if (!grown)
		return -ENOMEM;
	*v = grown;
	grown[*n] = strdup(word);
	if (!grown[*n])
		return -ENOMEM;
	grown[++*n] = NULL;
	return 0;
}

/* The values of a fixed-list kind that start with partial. */
static int _fosctl_push_values(enum fosctl_arg_kind kind, const char *partial, char ***v, size_t *n)
{
	const char *const *values = fosctl_arg_kind_values(kind);

	for (size_t i = 0; values && values[i]; i++)
		if (_fosctl_prefix(partial, values[i]) && _fosctl_strv_push(v, n, values[i]) < 0)
			return -ENOMEM;
	return 0;
}

int fosctl_complete(char *const *tokens, size_t n, const char *partial, bool shell,
		    char ***ret_words, unsigned *ret_kinds)
{
	fosctl_cmdset set = fosctl_context(tokens, n, shell);
	_cleanup_(fosctl_strv_freep) char **words = NULL;
	size_t n_words = 0, kept = 0;
	unsigned kinds = 0;

	words = calloc(1, sizeof(*words));
	if (!words)
		return -ENOMEM;

	FOREACH_COMMAND(c, set)
	{
		struct fosctl_next next;
		int r = 0;

		_fosctl_next(c, tokens, n, &next);
		switch (next.type) {
		case FOSCTL_NEXT_WORD:
			if (_fosctl_prefix(partial, next.word))
				r = _fosctl_strv_push(&words, &n_words, next.word);
			break;
		case FOSCTL_NEXT_ARG:
			kinds |= 1U << next.arg->kind;
			r = _fosctl_push_values(next.arg->kind, partial, &words, &n_words);
			break;
		case FOSCTL_NEXT_KEYWORD:
			for (const struct fosctl_filter *fl = c->filters; fl->keyword && r == 0;
			     fl++)
				if (_fosctl_prefix(partial, fl->keyword) &&
				    !_fosctl_filter_given(c, fl, tokens, n))
					r = _fosctl_strv_push(&words, &n_words, fl->keyword);
			break;
		case FOSCTL_NEXT_VALUE:
			kinds |= 1U << next.filter->kind;
			r = _fosctl_push_values(next.filter->kind, partial, &words, &n_words);
			break;
		case FOSCTL_NEXT_NOTHING:
		case _FOSCTL_NEXT_MAX:
			break;
		}
		if (r < 0)
			return r;
	}

	qsort(words, n_words, sizeof(*words), _fosctl_cmp_str);
	for (size_t i = 0; i < n_words; i++) {
		if (kept > 0 && strcmp(words[kept - 1], words[i]) == 0) {
			free(words[i]);
			words[i] = NULL;
			continue;
		}
		words[kept++] = words[i];
		if (kept - 1 != i)
			words[i] = NULL;
	}

	*ret_words = TAKE_PTR(words);
	*ret_kinds = kinds;
	return 0;
}
