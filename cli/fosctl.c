// SPDX-License-Identifier: GPL-2.0-only
/* fosctl: one-shot commands, a batch from standard input, or the shell. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "config.h"
#include "shell.h"

#ifndef FOS_VERSION
#define FOS_VERSION "unknown"
#endif

static void _fosctl_usage(FILE *out)
{
	fprintf(out,
		"Usage: fosctl [-j|--json] [-s|--socket PATH] [-h|--help] [-V|--version] "
		"[COMMAND...]\n"
		"\n"
		"Query and control fwd, the fos daemon.\n"
		"\n"
		"  -j, --json         print replies as JSON\n"
		"  -s, --socket PATH  fwd's control socket (default: $FOS_SOCKET or %s)\n"
		"  -h, --help         show this help\n"
		"  -V, --version      show the version\n"
		"\n"
		"Without a command, fosctl reads commands: as an interactive shell when\n"
		"standard input is a terminal, otherwise one per line until one fails.\n"
		"\n"
		"Commands (words may be abbreviated):\n",
		FOS_DEFAULT_SOCKET);
	fosctl_help_print(fosctl_cmdset_all(false), 0, out);
}

/* Commands from a pipe or file, one per line, stopping at the first failure. */
static int _fosctl_batch(struct fosctl *f, FILE *in)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	while (getline(&line, &cap, in) >= 0) {
		int r = fosctl_exec_line(f, line);

		fflush(stdout);
		if (r == FOSCTL_QUIT)
			break;
		if (r != FOSCTL_EXIT_OK)
			return r;
	}
	return FOSCTL_EXIT_OK;
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"socket", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {},
	};
	const char *env = getenv("FOS_SOCKET");
	struct fosctl f = {
	    .socket = env && *env ? env : FOS_DEFAULT_SOCKET,
	    .fd = -1,
	};
	int c, r;

	fosctl_commands_init();

	/* A daemon that goes away must be an error, not a signal. */
	signal(SIGPIPE, SIG_IGN);

	while ((c = getopt_long(argc, argv, "+js:hV", options, NULL)) >= 0) {
		switch (c) {
		case 'j':
			f.json = true;
			break;
		case 's':
			f.socket = optarg;
			break;
		case 'h':
			_fosctl_usage(stdout);
			return FOSCTL_EXIT_OK;
		case 'V':
			printf("fosctl %s\n", FOS_VERSION);
			return FOSCTL_EXIT_OK;
		default:
			_fosctl_usage(stderr);
			return FOSCTL_EXIT_USAGE;
		}
	}

	if (optind < argc) {
		r = fosctl_exec(&f, argv + optind, (size_t)(argc - optind));
	} else {
		f.shell = true;
		r = isatty(STDIN_FILENO) ? fosctl_shell_run(&f) : _fosctl_batch(&f, stdin);
	}

	fosctl_disconnect(&f);
	if (fflush(stdout) != 0 && r == FOSCTL_EXIT_OK)
		r = FOSCTL_EXIT_DAEMON;
	return r;
}
