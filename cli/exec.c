// SPDX-License-Identifier: GPL-2.0-only
/* One command line, from words to an exit code: match, build, call, print. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "commands.h"
#include "ipc.h"
#include "print.h"

static int _fosctl_usage_error(const struct fosctl_command *c, const char *message)
{
	fprintf(stderr, "fosctl: %s\nusage:\n", message);
	fosctl_help_print((fosctl_cmdset)1 << (c - fosctl_commands), 0, stderr);
	if (c->filters) {
		fprintf(stderr, "%ss:\n", fosctl_command_filter_noun(c));
		fosctl_help_filters(c, stderr);
	}
	return FOSCTL_EXIT_USAGE;
}

int fosctl_exec(struct fosctl *f, char *const *tokens, size_t n)
{
	_cleanup_(fosctl_json_putp) json_object *params = NULL, *reply = NULL;
	const struct fosctl_command *c;
	struct fosctl_match m;
	char err[FOS_ERRBUF] = "";
	size_t words;
	int r;

	fosctl_match(tokens, n, f->shell, &m);
	if (m.result != FOSCTL_MATCH_OK) {
		fosctl_match_explain(&m, tokens, n, stderr);
		return FOSCTL_EXIT_USAGE;
	}
	c = m.command;
	if (c->run)
		return c->run(f);

	words = fosctl_command_n_words(c);
	if (c->build) {
		r = c->build(tokens + words, n - words, &params, err);
		if (r == -EINVAL)
			return _fosctl_usage_error(c, err);
		if (r < 0) {
			fprintf(stderr, "fosctl: %s\n", strerror(-r));
			return FOSCTL_EXIT_DAEMON;
		}
	}

	r = fosctl_connect(f);
	if (r == -EPROTO) {
		fprintf(stderr,
			"fosctl: fwd at %s speaks another protocol version than this fosctl (%d); "
			"use the fosctl that came with it\n",
			f->socket, FOS_IPC_PROTOCOL);
		return FOSCTL_EXIT_DAEMON;
	}
	if (r == -EBADMSG) {
		fprintf(stderr, "fosctl: %s does not answer like fwd\n", f->socket);
		return FOSCTL_EXIT_DAEMON;
	}
	if (r < 0) {
		fprintf(stderr, "fosctl: cannot connect to %s: %s (is fwd running?)\n", f->socket,
			strerror(-r));
		return FOSCTL_EXIT_CONNECT;
	}
	r = fosctl_call(f, c->method, TAKE_PTR(params), &reply);
	if (r == -EBADMSG || r == -EMSGSIZE) {
		/* connected, but the answer is not one fosctl understands */
		fprintf(stderr, "fosctl: %s: fwd sent a malformed reply: %s\n", c->method,
			strerror(-r));
		return FOSCTL_EXIT_DAEMON;
	}
	if (r < 0) {
		fprintf(stderr, "fosctl: %s failed on %s: %s\n", c->method, f->socket,
			strerror(-r));
		return FOSCTL_EXIT_CONNECT;
	}
	return fosctl_print_reply(f, c, reply);
}

int fosctl_exec_line(struct fosctl *f, const char *line)
{
	_cleanup_(fosctl_strv_freep) char **tokens = NULL;
	size_t n;
	int r;

	line += strspn(line, " \t\r\n");
	if (line[0] == '#')
		return FOSCTL_EXIT_OK;

	r = fosctl_split(line, false, &tokens, &n, NULL);
	if (r == -EINVAL) {
		fprintf(stderr, "fosctl: unterminated quote in \"%.*s\"\n",
			(int)strcspn(line, "\r\n"), line);
		return FOSCTL_EXIT_USAGE;
	}
	if (r < 0) {
		fprintf(stderr, "fosctl: %s\n", strerror(-r));
		return FOSCTL_EXIT_DAEMON;
	}
	if (n == 0)
		return FOSCTL_EXIT_OK;
	return fosctl_exec(f, tokens, n);
}
