// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "cleanup.h"
#include "commands.h"
#include "shell.h"

/* readline's callbacks take no context: the shell's lives here. */
static struct {
	struct fosctl *f;
	char **matches; /* candidates of the completion in progress */
	size_t next;
} fosctl_shell;

/* Names the daemon knows for an argument kind, those starting with prefix,
 * appended to *list; nothing when the daemon cannot be asked. */
static void _fosctl_shell_names(enum fosctl_arg_kind kind, const char *prefix, char ***list,
				size_t *n)
{
	_cleanup_(fosctl_json_putp) json_object *reply = NULL;
	const char *method, *array = NULL;
	json_object *items;
	size_t n_items;

	method = fosctl_arg_kind_method(kind, &array);
	if (!method || fosctl_call(fosctl_shell.f, method, NULL, &reply) < 0)
		return;
	if (!json_object_object_get_ex(reply, "parameters", &items) ||
	    !json_object_object_get_ex(items, array, &items) ||
	    !json_object_is_type(items, json_type_array))
		return;

	n_items = json_object_array_length(items);
	for (size_t i = 0; i < n_items; i++) {
		json_object *name;
		char **grown, *s;

		if (!json_object_object_get_ex(json_object_array_get_idx(items, i), "name",
					       &name) ||
		    !json_object_is_type(name, json_type_string) ||
		    strncmp(json_object_get_string(name), prefix, strlen(prefix)) != 0)
			continue;
		s = strdup(json_object_get_string(name));
		grown = s ? reallocarray(*list, *n + 2, sizeof(**list)) : NULL;
		if (!grown) {
			free(s);
			return;
		}
		grown[(*n)++] = s;
		grown[*n] = NULL;
		*list = grown;
	}
}

static char *_fosctl_shell_generator(const char *text, int state)
{
	(void)text;
	if (state == 0)
		fosctl_shell.next = 0;
	if (!fosctl_shell.matches || !fosctl_shell.matches[fosctl_shell.next])
		return NULL;
	return strdup(fosctl_shell.matches[fosctl_shell.next++]);
}

/* The words before the cursor's word, and that word's typed part. */
static int _fosctl_shell_words(size_t end, char ***ret_tokens, size_t *ret_n, char **ret_partial)
{
	_cleanup_(fosctl_strv_freep) char **tokens = NULL;
	_cleanup_free_ char *head = strndup(rl_line_buffer, end);
	char *partial = NULL;
	bool trailing_blank;
	size_t n;
	int r;

	if (!head)
		return -ENOMEM;
	r = fosctl_split(head, true, &tokens, &n, &trailing_blank);
	if (r < 0)
		return r;
	if (!trailing_blank && n > 0) {
		partial = tokens[--n];
		tokens[n] = NULL;
	} else {
		partial = strdup("");
		if (!partial)
			return -ENOMEM;
	}
	*ret_tokens = TAKE_PTR(tokens);
	*ret_n = n;
	*ret_partial = partial;
	return 0;
}

static char **_fosctl_shell_complete(const char *text, int start, int end)
{
	_cleanup_(fosctl_strv_freep) char **tokens = NULL;
	_cleanup_free_ char *partial = NULL;
	char **words = NULL;
	unsigned kinds = 0;
	size_t n, n_words = 0;

	(void)end;
	rl_attempted_completion_over = 1;
	fosctl_strv_freep(&fosctl_shell.matches);

	/* The word being completed starts at `start` (after an opening quote,
	 * if any); what is before it decides what may come. */
	if (_fosctl_shell_words((size_t)start, &tokens, &n, &partial) < 0)
		return NULL;
	if (fosctl_complete(tokens, n, text, true, &words, &kinds) < 0)
		return NULL;
	while (words[n_words])
		n_words++;

	if (n_words == 0 && (kinds & (1U << FOSCTL_ARG_FILE))) {
		fosctl_strv_free(words);
		rl_attempted_completion_over = 0;
		return rl_completion_matches(text, rl_filename_completion_function);
	}
	for (unsigned k = 0; k < _FOSCTL_ARG_KIND_MAX; k++)
		if (kinds & (1U << k))
			_fosctl_shell_names(k, text, &words, &n_words);

	fosctl_shell.matches = words;
	return rl_completion_matches(text, _fosctl_shell_generator);
}

/* `?`: what may come at the cursor, then the line as it was. */
static int _fosctl_shell_help_key(int count, int key)
{
	_cleanup_(fosctl_strv_freep) char **tokens = NULL;
	_cleanup_free_ char *partial = NULL;
	size_t n;

	(void)count;
	(void)key;
	fputc('\n', rl_outstream);
	if (_fosctl_shell_words((size_t)rl_point, &tokens, &n, &partial) < 0 ||
	    fosctl_help_context(tokens, n, partial, true, rl_outstream) < 0)
		fputs("fosctl: out of memory\n", rl_outstream);
	fflush(rl_outstream);
	rl_on_new_line();
	rl_redisplay();
	return 0;
}

/*
 * Ctrl-C while editing drops the line and gives a fresh prompt, as on a
 * router. It reaches readline as a key, not as SIGINT: the terminal's
 * interrupt character is disabled only while readline has it, so Ctrl-C
 * during a command still interrupts fosctl.
 */
static void _fosctl_shell_prep_terminal(int meta)
{
	int fd = fileno(rl_instream);
	struct termios t;

	rl_prep_terminal(meta);
	if (tcgetattr(fd, &t) < 0)
		return;
	t.c_cc[VINTR] = _POSIX_VDISABLE;
	tcsetattr(fd, TCSANOW, &t);
}

static int _fosctl_shell_cancel_key(int count, int key)
{
	(void)count;
	(void)key;
	rl_point = rl_end;
	rl_redisplay();
	fputs("^C\n", rl_outstream);
	rl_replace_line("", 0);
	rl_done = 1;
	return 0;
}

static char *_fosctl_history_path(void)
{
	const char *env = getenv("FOSCTL_HISTORY"), *home = getenv("HOME");
	char *path;

	if (env && *env)
		return strdup(env);
	if (!home || !*home) {
		const struct passwd *pw = getpwuid(getuid());

		home = pw ? pw->pw_dir : NULL;
	}
	if (!home || asprintf(&path, "%s/.fosctl_history", home) < 0)
		return NULL;
	return path;
}

static void _fosctl_history_add(const char *line)
{
	const HIST_ENTRY *last = history_get(history_base + history_length - 1);

	if (line[strspn(line, " \t")] == '\0')
		return;
	if (last && strcmp(last->line, line) == 0)
		return;
	add_history(line);
}

int fosctl_shell_run(struct fosctl *f)
{
	_cleanup_free_ char *history = _fosctl_history_path();

	fosctl_shell.f = f;
	rl_readline_name = "fosctl";
	rl_attempted_completion_function = _fosctl_shell_complete;
	rl_basic_word_break_characters = " \t\n";
	rl_completer_quote_characters = "\"'";
	rl_prep_term_function = _fosctl_shell_prep_terminal;
	/* The same keys whether the user's inputrc picks emacs or vi editing. */
	rl_bind_key_in_map(CTRL('C'), _fosctl_shell_cancel_key, emacs_standard_keymap);
	rl_bind_key_in_map(CTRL('C'), _fosctl_shell_cancel_key, vi_insertion_keymap);
	rl_bind_key_in_map(CTRL('C'), _fosctl_shell_cancel_key, vi_movement_keymap);
	rl_bind_key_in_map('?', _fosctl_shell_help_key, emacs_standard_keymap);
	rl_bind_key_in_map('?', _fosctl_shell_help_key, vi_insertion_keymap);
	/* Like a router: an ambiguous word lists its completions at once. */
	rl_variable_bind("show-all-if-ambiguous", "on");

	using_history();
	stifle_history(FOSCTL_HISTORY_MAX);
	if (history)
		read_history(history);

	for (;;) {
		_cleanup_free_ char *line = NULL;
		int r;

		line = readline(FOSCTL_PROMPT);
		if (!line) {
			fputc('\n', stdout);
			break;
		}
		_fosctl_history_add(line);

		r = fosctl_exec_line(f, line);
		fflush(stdout);
		if (r == FOSCTL_QUIT)
			break;
	}

	fosctl_strv_freep(&fosctl_shell.matches);
	if (history && write_history(history) == 0)
		history_truncate_file(history, FOSCTL_HISTORY_MAX);
	return FOSCTL_EXIT_OK;
}
