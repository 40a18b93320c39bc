// SPDX-License-Identifier: GPL-2.0-only
/* fosctl without fwd: the command table, matching, completion, `?` help,
 * parameters, the text each reply type prints, and whole commands against a
 * fake fwd (the requests sent, the output and the exit codes). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "output.h"
#include "print.h"

static void strv_freep(char ***v)
{
	fosctl_strv_free(*v);
	*v = NULL;
}

/* The command whose words are these ("show conntrack summary"). */
static const struct fosctl_command *find(const char *words)
{
	_cleanup_(strv_freep) char **w = NULL;
	size_t n;

	ck_assert_int_eq(fosctl_split(words, false, &w, &n, NULL), 0);
	for (size_t i = 0; i < fosctl_n_commands; i++) {
		const struct fosctl_command *c = &fosctl_commands[i];
		bool same = fosctl_command_n_words(c) == n;

		for (size_t j = 0; same && j < n; j++)
			same = strcmp(c->words[j], w[j]) == 0;
		if (same)
			return c;
	}
	ck_abort_msg("no command %s", words);
	return NULL;
}

static struct fosctl_match match_line(const char *line, bool shell)
{
	_cleanup_(strv_freep) char **tokens = NULL;
	struct fosctl_match m;
	size_t n;

	ck_assert_int_eq(fosctl_split(line, false, &tokens, &n, NULL), 0);
	fosctl_match(tokens, n, shell, &m);
	return m;
}

static void assert_matches(const char *line, const char *words)
{
	struct fosctl_match m = match_line(line, false);

	ck_assert_msg(m.result == FOSCTL_MATCH_OK, "\"%s\" gave %d", line, m.result);
	ck_assert_ptr_eq(m.command, find(words));
}

/* What fosctl_match_explain() prints for a line. */
static char *explain(const char *line, bool shell)
{
	_cleanup_(strv_freep) char **tokens = NULL;
	struct fosctl_match m;
	char *text = NULL;
	size_t n, len;
	FILE *f;

	ck_assert_int_eq(fosctl_split(line, false, &tokens, &n, NULL), 0);
	fosctl_match(tokens, n, shell, &m);
	f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	fosctl_match_explain(&m, tokens, n, f);
	fclose(f);
	return text;
}

/* What `?` prints with the cursor at the end of line. */
static char *help_at(const char *line)
{
	_cleanup_(strv_freep) char **tokens = NULL;
	const char *partial = "";
	bool trailing;
	char *text = NULL;
	size_t n, len;
	FILE *f;

	ck_assert_int_eq(fosctl_split(line, true, &tokens, &n, &trailing), 0);
	if (!trailing)
		partial = tokens[--n];
	f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fosctl_help_context(tokens, n, partial, true, f), 0);
	fclose(f);
	return text;
}

/* Standard output of fn(params), params given as JSON text. */
static char *print_capture(int (*fn)(json_object *), const char *json)
{
	json_object *p = json_tokener_parse(json);
	char *text;
	long len;
	FILE *tmp;
	int saved;

	ck_assert_ptr_nonnull(p);
	fflush(stdout);
	tmp = tmpfile();
	ck_assert_ptr_nonnull(tmp);
	saved = dup(STDOUT_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(tmp), STDOUT_FILENO), 0);
	ck_assert_int_eq(fn(p), 0);
	fflush(stdout);
	ck_assert_int_ge(dup2(saved, STDOUT_FILENO), 0);
	close(saved);
	json_object_put(p);

	len = ftell(tmp);
	ck_assert_int_ge(len, 0);
	text = calloc(1, (size_t)len + 1);
	ck_assert_ptr_nonnull(text);
	rewind(tmp);
	ck_assert_uint_eq(fread(text, 1, (size_t)len, tmp), (size_t)len);
	fclose(tmp);
	return text;
}

/* a fake fwd */

#define PEER_PARTS_MAX	  4
#define PEER_REQUESTS_MAX 8

/* The messages the peer sends for one request: a reply, or a stream's parts. */
struct step {
	const char *parts[PEER_PARTS_MAX];
};

#define PEER_INFO "{\"parameters\": {\"version\": \"0\", \"protocol\": 1, \"abi\": 4}}"

struct result {
	int rc;
	char *out, *err;
	char *requests[PEER_REQUESTS_MAX]; /* as sent, the NUL left off */
	size_t n_requests;
	bool connected;
};

static void result_done(struct result *r)
{
	free(r->out);
	free(r->err);
	for (size_t i = 0; i < r->n_requests; i++)
		free(r->requests[i]);
	*r = (struct result){};
}

static char *read_all(int fd)
{
	char *text = NULL;
	size_t len = 0;
	FILE *s = open_memstream(&text, &len);
	char buf[4096];
	ssize_t n;

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, s);
	ck_assert_int_eq(n, 0);
	fclose(s);
	return text;
}

/* The peer: one connection; each request is copied to `log` (NUL-ended) and
 * answered with the next step, after the GetInfo that fosctl sends first. */
static void peer_serve(int listen_fd, int log, const struct step *steps, size_t n_steps)
{
	int fd = accept(listen_fd, NULL, NULL);
	char buf[65536];
	size_t len = 0;

	if (fd < 0)
		_exit(1);
	for (size_t i = 0; i <= n_steps; i++) {
		const struct step info = {{PEER_INFO}};
		const struct step *step = i == 0 ? &info : &steps[i - 1];
		char *end;
		ssize_t n;

		while (!(end = memchr(buf, '\0', len))) {
			n = read(fd, buf + len, sizeof(buf) - len);
			if (n <= 0)
				_exit(0);
			len += (size_t)n;
		}
		if (i > 0 && write(log, buf, (size_t)(end - buf) + 1) < 0)
			_exit(1);
		len -= (size_t)(end - buf) + 1;
		memmove(buf, end + 1, len);
		for (size_t p = 0; p < PEER_PARTS_MAX && step->parts[p]; p++)
			if (write(fd, step->parts[p], strlen(step->parts[p]) + 1) < 0)
				_exit(1);
	}
	_exit(0);
}

/*
 * Run one fosctl command line against a peer that answers with steps (none:
 * nothing listens behind the socket's backlog, and the result tells whether
 * fosctl connected at all).
 */
static void run(const char *line, bool json, const struct step *steps, size_t n_steps,
		struct result *ret)
{
	char dir[] = "/tmp/fosctl-peer-XXXXXX", path[128];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_(strv_freep) char **tokens = NULL;
	struct fosctl f = {.socket = path, .fd = -1};
	FILE *out = tmpfile(), *err = tmpfile(), *log = tmpfile();
	int listen_fd, saved_out, saved_err, status;
	_cleanup_free_ char *requests = NULL;
	pid_t pid = -1;
	size_t n;

	*ret = (struct result){};
	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_nonnull(log);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fwd.sock", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(listen_fd, 0);
	ck_assert_int_eq(bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(listen_fd, 4), 0);

	if (n_steps > 0) {
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			fcntl(listen_fd, F_SETFL, 0);
			peer_serve(listen_fd, fileno(log), steps, n_steps);
		}
	}

	ck_assert_int_eq(fosctl_split(line, false, &tokens, &n, NULL), 0);
	f.json = json;
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(STDOUT_FILENO);
	saved_err = dup(STDERR_FILENO);
	ck_assert_int_ge(dup2(fileno(out), STDOUT_FILENO), 0);
	ck_assert_int_ge(dup2(fileno(err), STDERR_FILENO), 0);
	ret->rc = fosctl_exec(&f, tokens, n);
	fflush(stdout);
	fflush(stderr);
	ck_assert_int_ge(dup2(saved_out, STDOUT_FILENO), 0);
	ck_assert_int_ge(dup2(saved_err, STDERR_FILENO), 0);
	close(saved_out);
	close(saved_err);
	fosctl_disconnect(&f);

	if (pid > 0) {
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the peer failed");
		ret->connected = true;
	} else {
		int fd = accept(listen_fd, NULL, NULL);

		ret->connected = fd >= 0;
		if (fd >= 0)
			close(fd);
	}
	close(listen_fd);
	unlink(path);
	rmdir(dir);

	ret->out = read_all(fileno(out));
	ret->err = read_all(fileno(err));
	requests = read_all(fileno(log));
	fclose(out);
	fclose(err);
	fclose(log);
	for (size_t off = 0; requests[off] && ret->n_requests < PEER_REQUESTS_MAX;) {
		ret->requests[ret->n_requests] = strdup(requests + off);
		ck_assert_ptr_nonnull(ret->requests[ret->n_requests]);
		off += strlen(requests + off) + 1;
		ret->n_requests++;
	}
}

/* The command sent exactly this one request. */
static void assert_request(const struct result *r, const char *request)
{
	ck_assert_uint_eq(r->n_requests, 1);
	ck_assert_str_eq(r->requests[0], request);
}

/* the table */

START_TEST(test_table_consistent)
{
	for (size_t i = 0; i < fosctl_n_commands; i++) {
		const struct fosctl_command *c = &fosctl_commands[i];
		size_t min, max;

		ck_assert_uint_ge(fosctl_command_n_words(c), 1);
		ck_assert_ptr_nonnull(c->help);
		/* A command either asks the daemon (and prints its reply) or runs here. */
		ck_assert_msg(!!c->method != !!c->run, "%s", c->words[0]);
		if (c->method)
			ck_assert_ptr_nonnull(c->print);
		if ((c->args[0].name || c->filters) && c->method)
			ck_assert_ptr_nonnull(c->build);
		for (const struct fosctl_filter *f = c->filters; f && f->keyword; f++) {
			ck_assert_msg(fosctl_arg_kind_is_filter(f->kind), "%s", f->keyword);
			ck_assert_ptr_nonnull(f->value);
			ck_assert_ptr_nonnull(f->help);
		}

		fosctl_command_arity(c, &min, &max);
		for (size_t a = 0; a < max; a++)
			ck_assert_msg(c->args[a].optional == (a >= min),
				      "only trailing arguments may be optional");

		for (size_t j = 0; j < i; j++) {
			const struct fosctl_command *o = &fosctl_commands[j];
			bool same = fosctl_command_n_words(o) == fosctl_command_n_words(c);

			for (size_t w = 0; same && w < fosctl_command_n_words(c); w++)
				same = strcmp(o->words[w], c->words[w]) == 0;
			ck_assert_msg(!same, "two commands \"%s\"", c->words[0]);
		}
	}
}
END_TEST

/* Every value of a fixed list is named in its kind's help. */
START_TEST(test_kind_values_in_help)
{
	for (unsigned k = 0; k < _FOSCTL_ARG_KIND_MAX; k++) {
		const char *const *values = fosctl_arg_kind_values(k);

		for (size_t i = 0; values && values[i]; i++)
			ck_assert_msg(strstr(fosctl_arg_kind_help(k), values[i]), "%s", values[i]);
	}
}
END_TEST

/* splitting */

START_TEST(test_split)
{
	_cleanup_(strv_freep) char **t = NULL;
	size_t n;
	bool trailing;

	ck_assert_int_eq(fosctl_split("  show   program\tx ", false, &t, &n, &trailing), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(t[0], "show");
	ck_assert_str_eq(t[1], "program");
	ck_assert_str_eq(t[2], "x");
	ck_assert_ptr_null(t[3]);
	ck_assert(trailing);
	strv_freep(&t);

	ck_assert_int_eq(
	    fosctl_split("config check \"my file\" 'a\"b' c\\ d", false, &t, &n, &trailing), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(t[2], "my file");
	ck_assert_str_eq(t[3], "a\"b");
	ck_assert_str_eq(t[4], "c d");
	ck_assert(!trailing);
	strv_freep(&t);

	ck_assert_int_eq(fosctl_split("", false, &t, &n, &trailing), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert(trailing);
	strv_freep(&t);

	/* An escaped blank at the end belongs to the word. */
	ck_assert_int_eq(fosctl_split("a\\ ", false, &t, &n, &trailing), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(t[0], "a ");
	ck_assert(!trailing);
	strv_freep(&t);

	ck_assert_int_eq(fosctl_split("config check \"half", false, &t, &n, NULL), -EINVAL);
	ck_assert_int_eq(fosctl_split("config check \"half", true, &t, &n, &trailing), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(t[2], "half");
	ck_assert(!trailing);
}
END_TEST

/* matching */

START_TEST(test_match_exact_and_prefix)
{
	assert_matches("show status", "show status");
	assert_matches("show programs", "show programs");
	assert_matches("show program x", "show program");
	assert_matches("sh stat", "show status");
	assert_matches("show rules", "show rules");
	assert_matches("show rules xdp-filter", "show rules");
	assert_matches("set a blocked 10.0.0.0/8", "set add");
	assert_matches("se d blocked 10.0.0.0/8", "set del");
	assert_matches("con ch /etc/fos/fwd.conf", "config check");
	assert_matches("rel", "reload");
	assert_matches("h", "help");
}
END_TEST

START_TEST(test_match_prefix_by_arity)
{
	/* "prog" fits "program" and "programs": the argument count decides. */
	assert_matches("sh prog", "show programs");
	assert_matches("sh prog xdp-filter", "show program");
	assert_matches("show se", "show sets");
	assert_matches("show se blocked", "show set");
	assert_matches("show m", "show maps");
	assert_matches("show m fos_rules", "show map");
}
END_TEST

START_TEST(test_match_exact_word_wins)
{
	/* Typed in full, "program" is that command: no falling back to "programs". */
	struct fosctl_match m = match_line("show program", false);

	ck_assert_int_eq(m.result, FOSCTL_MATCH_MISSING);
	ck_assert_ptr_eq(m.command, find("show program"));

	m = match_line("show set", false);
	ck_assert_int_eq(m.result, FOSCTL_MATCH_MISSING);
	ck_assert_ptr_eq(m.command, find("show set"));
}
END_TEST

START_TEST(test_match_errors)
{
	struct fosctl_match m;

	m = match_line("frob", false);
	ck_assert_int_eq(m.result, FOSCTL_MATCH_UNKNOWN);
	ck_assert_uint_eq(m.token, 0);

	m = match_line("show frob", false);
	ck_assert_int_eq(m.result, FOSCTL_MATCH_UNKNOWN);
	ck_assert_uint_eq(m.token, 1);
	/* The help offered is that of the "show" commands only. */
	for (size_t i = 0; i < fosctl_n_commands; i++)
		ck_assert_int_eq(!!(m.candidates & (1U << i)),
				 strcmp(fosctl_commands[i].words[0], "show") == 0);

	m = match_line("s", false);
	ck_assert_int_eq(m.result, FOSCTL_MATCH_AMBIGUOUS);
	ck_assert_uint_eq(m.token, 0);

	m = match_line("show", false);
	ck_assert_int_eq(m.result, FOSCTL_MATCH_INCOMPLETE);

	m = match_line("show status now", false);
	ck_assert_int_eq(m.result, FOSCTL_MATCH_EXTRA);
	ck_assert_uint_eq(m.token, 2);

	m = match_line("set add blocked", false);
	ck_assert_int_eq(m.result, FOSCTL_MATCH_MISSING);
	ck_assert_uint_eq(m.token, 3);

	m = match_line("sh prog a b", false);
	ck_assert_int_eq(m.result, FOSCTL_MATCH_AMBIGUOUS);
}
END_TEST

START_TEST(test_match_shell_only)
{
	struct fosctl_match m = match_line("quit", false);

	ck_assert_int_eq(m.result, FOSCTL_MATCH_UNKNOWN);
	m = match_line("quit", true);
	ck_assert_int_eq(m.result, FOSCTL_MATCH_OK);
	ck_assert_ptr_eq(m.command, find("quit"));
	m = match_line("ex", true);
	ck_assert_int_eq(m.result, FOSCTL_MATCH_OK);
	ck_assert_ptr_eq(m.command, find("exit"));
}
END_TEST

START_TEST(test_explain)
{
	_cleanup_free_ char *unknown = explain("show frob", false);
	_cleanup_free_ char *ambiguous = explain("s", false);
	_cleanup_free_ char *ambiguous2 = explain("sh prog a b", false);
	_cleanup_free_ char *missing = explain("show program", false);
	_cleanup_free_ char *extra = explain("reload now", false);
	_cleanup_free_ char *shell = explain("quit", false);

	ck_assert_str_eq(
	    unknown,
	    "fosctl: unknown command \"show frob\"\n"
	    "commands:\n"
	    "  show status                             Daemon version, uptime, configuration and "
	    "last reload\n"
	    "  show programs                           List the programs with their state and "
	    "counters\n"
	    "  show program NAME                       One program's state, maps, metrics and "
	    "counters\n"
	    "  show rules [PROGRAM]                    Rules and their hit counters, of every "
	    "program or of one\n"
	    "  show maps                               List the BPF maps with their fill level\n"
	    "  show map NAME                           Dump the entries of a BPF map\n"
	    "  show sets                               List the IP sets\n"
	    "  show set NAME                           The entries of an IP set\n"
	    "  show conntrack [FILTER...]              Tracked connections, all or those the "
	    "filters select\n"
	    "  show conntrack summary                  Connection table size and fill, counters, "
	    "collector, states\n"
	    "  show ddos [PROGRAM]                     DDoS protections and their drops, of "
	    "every program or of one\n"
	    "  show ddos top [limit N] [program NAME]  The sources with the most DDoS drops\n"
	    "  show nat [FILTER...]                    NAT: each natConfig's mappings, "
	    "translations and drops; ports in use\n"
	    "  show nat mappings [FILTER...]           NAT mappings, all or those the filters "
	    "select\n");
	ck_assert_msg(strncmp(ambiguous, "fosctl: ambiguous command \"s\", could be: show, set\n",
			      strlen("fosctl: ambiguous command \"s\", could be: show, set\n")) ==
			  0,
		      "%s", ambiguous);
	ck_assert_ptr_nonnull(strstr(ambiguous2, "could be: show programs, show program\n"));
	ck_assert_str_eq(missing, "fosctl: missing argument NAME for \"show program\"\n"
				  "usage:\n"
				  "  show program NAME  One program's state, maps, metrics and "
				  "counters\n");
	ck_assert_ptr_nonnull(
	    strstr(extra, "fosctl: unexpected argument \"now\" for \"reload\"\n"));
	ck_assert_str_eq(shell, "fosctl: \"quit\" only works in the interactive shell\n");
}
END_TEST

/* completion and `?` */

START_TEST(test_complete_words)
{
	_cleanup_(strv_freep) char **w = NULL;
	char *show[] = {"show"}, *program[] = {"show", "program"}, *check[] = {"config", "check"},
	     *status[] = {"show", "status"};
	unsigned kinds;

	ck_assert_int_eq(fosctl_complete(NULL, 0, "", false, &w, &kinds), 0);
	ck_assert_str_eq(w[0], "clear");
	ck_assert_str_eq(w[1], "config");
	ck_assert_str_eq(w[2], "help");
	ck_assert_str_eq(w[3], "reload");
	ck_assert_str_eq(w[4], "set");
	ck_assert_str_eq(w[5], "show");
	ck_assert_ptr_null(w[6]);
	ck_assert_uint_eq(kinds, 0);
	strv_freep(&w);

	ck_assert_int_eq(fosctl_complete(NULL, 0, "e", true, &w, &kinds), 0);
	ck_assert_str_eq(w[0], "exit");
	ck_assert_ptr_null(w[1]);
	strv_freep(&w);

	ck_assert_int_eq(fosctl_complete(show, 1, "pro", true, &w, &kinds), 0);
	ck_assert_str_eq(w[0], "program");
	ck_assert_str_eq(w[1], "programs");
	ck_assert_ptr_null(w[2]);
	strv_freep(&w);

	ck_assert_int_eq(fosctl_complete(program, 2, "", true, &w, &kinds), 0);
	ck_assert_ptr_null(w[0]);
	ck_assert_uint_eq(kinds, 1U << FOSCTL_ARG_PROGRAM);
	strv_freep(&w);

	ck_assert_int_eq(fosctl_complete(check, 2, "fw", true, &w, &kinds), 0);
	ck_assert_ptr_null(w[0]);
	ck_assert_uint_eq(kinds, 1U << FOSCTL_ARG_FILE);
	strv_freep(&w);

	/* Nothing comes after a complete command. */
	ck_assert_int_eq(fosctl_complete(status, 2, "", true, &w, &kinds), 0);
	ck_assert_ptr_null(w[0]);
	ck_assert_uint_eq(kinds, 0);
}
END_TEST

START_TEST(test_help_context)
{
	_cleanup_free_ char *show = help_at("show ");
	_cleanup_free_ char *pro = help_at("show pro");
	_cleanup_free_ char *rules = help_at("show rules ");
	_cleanup_free_ char *cidr = help_at("set add blocked ");
	_cleanup_free_ char *end = help_at("set add blocked 10.0.0.0/8 ");
	_cleanup_free_ char *ambiguous = help_at("s ");
	_cleanup_free_ char *none = help_at("reload x");

	ck_assert_str_eq(show, "  status                             Daemon version, "
			       "uptime, configuration and last reload\n"
			       "  programs                           List the programs with "
			       "their state and counters\n"
			       "  program NAME                       One program's state, "
			       "maps, metrics and counters\n"
			       "  rules [PROGRAM]                    Rules and their hit "
			       "counters, of every program or of one\n"
			       "  maps                               List the BPF maps with "
			       "their fill level\n"
			       "  map NAME                           Dump the entries of a "
			       "BPF map\n"
			       "  sets                               List the IP "
			       "sets\n"
			       "  set NAME                           The entries of an IP "
			       "set\n"
			       "  conntrack [FILTER...]              Tracked connections, "
			       "all or those the filters select\n"
			       "  conntrack summary                  Connection table size "
			       "and fill, counters, collector, states\n"
			       "  ddos [PROGRAM]                     DDoS protections and "
			       "their drops, of every program or of one\n"
			       "  ddos top [limit N] [program NAME]  The sources with the "
			       "most DDoS drops\n"
			       "  nat [FILTER...]                    NAT: each natConfig's "
			       "mappings, translations and drops; ports in use\n"
			       "  nat mappings [FILTER...]           NAT mappings, all or "
			       "those the filters select\n");
	ck_assert_str_eq(pro, "  programs      List the programs with their state and counters\n"
			      "  program NAME  One program's state, maps, metrics and counters\n");
	ck_assert_str_eq(rules, "  PROGRAM  a program name\n"
				"  <cr>     run the command\n");
	ck_assert_str_eq(cidr, "  CIDR  an address or prefix: 192.0.2.0/24, 2001:db8::/32\n");
	ck_assert_str_eq(end, "  timeout SECONDS  remove the entry again after this long\n"
			      "  <cr>             run the command\n");
	/* "s" is "show" or "set": the whole commands are shown. */
	ck_assert_ptr_nonnull(strstr(ambiguous, "  show status "));
	ck_assert_ptr_nonnull(strstr(ambiguous, "  set add NAME CIDR "));
	ck_assert_str_eq(none, "  (nothing may follow \"x\")\n");
}
END_TEST

/* parameters */

START_TEST(test_build_set_entry)
{
	const struct fosctl_command *c = find("set add");
	char *good[] = {"blocked", "192.0.2.0/24"}, *bad[] = {"blocked", "192.0.2.1/24"};
	json_object *params = NULL;
	char err[FOS_ERRBUF] = "";

	ck_assert_int_eq(c->build(good, 2, &params, err), 0);
	ck_assert_str_eq(json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN |
								    JSON_C_TO_STRING_NOSLASHESCAPE),
			 "{\"name\":\"blocked\",\"cidr\":\"192.0.2.0/24\"}");
	json_object_put(params);
	params = NULL;

	/* Refused here, with the parser's reason, before fwd is asked. */
	ck_assert_int_eq(c->build(bad, 2, &params, err), -EINVAL);
	ck_assert_ptr_null(params);
	ck_assert_ptr_nonnull(strstr(err, "192.0.2.1/24"));
}
END_TEST

START_TEST(test_build_file_absolute)
{
	const struct fosctl_command *c = find("config check");
	char dir[] = "/tmp/fosctl-test-XXXXXX", *rel[] = {"fwd.conf"}, *missing[] = {"nope.conf"};
	_cleanup_free_ char *cwd = getcwd(NULL, 0), *file = NULL, *nope = NULL;
	json_object *params = NULL, *v;
	char err[FOS_ERRBUF] = "";
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chdir(dir), 0);
	f = fopen("fwd.conf", "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);

	ck_assert_int_eq(c->build(rel, 1, &params, err), 0);
	ck_assert(json_object_object_get_ex(params, "file", &v));
	ck_assert_int_ge(asprintf(&file, "%s/fwd.conf", dir), 0);
	ck_assert_str_eq(json_object_get_string(v), file);
	json_object_put(params);

	/* A file that is not there is still sent, absolute, for fwd to report. */
	ck_assert_int_eq(c->build(missing, 1, &params, err), 0);
	ck_assert(json_object_object_get_ex(params, "file", &v));
	ck_assert_int_ge(asprintf(&nope, "%s/nope.conf", dir), 0);
	ck_assert_str_eq(json_object_get_string(v), nope);
	json_object_put(params);

	ck_assert_int_eq(unlink("fwd.conf"), 0);
	ck_assert_int_eq(chdir(cwd), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_build_optional)
{
	const struct fosctl_command *c = find("show rules");
	char *prog[] = {"xdp-filter"};
	json_object *params = NULL;
	char err[FOS_ERRBUF] = "";

	ck_assert_int_eq(c->build(prog, 0, &params, err), 0);
	ck_assert_str_eq(json_object_to_json_string(params), "{ }");
	json_object_put(params);
	ck_assert_int_eq(c->build(prog, 1, &params, err), 0);
	ck_assert_str_eq(json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN),
			 "{\"program\":\"xdp-filter\"}");
	json_object_put(params);
}
END_TEST

/* output */

START_TEST(test_table)
{
	static const struct fosctl_column cols[] = {{"NAME", false}, {"N", true}, {"NOTE", false}};
	_cleanup_(fosctl_table_done) struct fosctl_table t = {};
	char *text = NULL;
	size_t len;
	FILE *f;

	fosctl_table_init(&t, cols, 3, true);
	fosctl_table_add(&t, "a");
	fosctl_table_add(&t, "%d", 12345);
	fosctl_table_add(&t, "x");
	fosctl_table_add(&t, "longer-name");
	fosctl_table_add(&t, "7");
	fosctl_table_add(&t, "%s", "");

	f = open_memstream(&text, &len);
	ck_assert_int_eq(fosctl_table_print(&t, f), 0);
	fclose(f);
	ck_assert_str_eq(text, "NAME             N  NOTE\n"
			       "a            12345  x\n"
			       "longer-name      7\n");
	free(text);
}
END_TEST

START_TEST(test_value_format)
{
	const struct {
		const char *json, *text;
	} cases[] = {
	    {"null", "-"},
	    {"true", "yes"},
	    {"false", "no"},
	    {"42", "42"},
	    {"\"a/b\"", "a/b"},
	    {"[]", "-"},
	    {"[\"fos_rules\", \"fos_sets\"]", "fos_rules, fos_sets"},
	    {"{\"a\": [1, 2], \"p\": \"x/y\"}", "{\"a\":[1,2],\"p\":\"x/y\"}"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_object *v = json_tokener_parse(cases[i].json);
		_cleanup_free_ char *text = fosctl_value_format(v);

		ck_assert_str_eq(text, cases[i].text);
		json_object_put(v);
	}
	{
		_cleanup_free_ char *text = fosctl_value_format(NULL);

		ck_assert_str_eq(text, "-");
	}
}
END_TEST

START_TEST(test_duration)
{
	char buf[64];

	ck_assert_str_eq(fosctl_format_duration(93784, buf, sizeof(buf)), "1d2h3m4s");
	ck_assert_str_eq(fosctl_format_duration(0, buf, sizeof(buf)), "0s");
	ck_assert_str_eq(fosctl_format_duration(59, buf, sizeof(buf)), "59s");
	ck_assert_str_eq(fosctl_format_duration(180, buf, sizeof(buf)), "3m0s");
	ck_assert_str_eq(fosctl_format_duration(86400, buf, sizeof(buf)), "1d0h0m0s");
}
END_TEST

START_TEST(test_time)
{
	const struct {
		const char *json, *text;
	} cases[] = {
	    {"0", "1970-01-01 00:00:00 UTC"},
	    {"1714557600", "2024-05-01 10:00:00 UTC"},
	    {"1714557600.75", "2024-05-01 10:00:00 UTC"},
	    {"\"2024-05-01T10:00:00Z\"", "2024-05-01 10:00:00 UTC"},
	    {"\"2024-05-01T12:00:00.123+02:00\"", "2024-05-01 10:00:00 UTC"},
	    {"\"yesterday\"", "yesterday"},
	    {"null", "-"},
	};
	char buf[64];

	setenv("TZ", "UTC", 1);
	tzset();
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_object *v = json_tokener_parse(cases[i].json);

		ck_assert_str_eq(fosctl_format_time(v, buf, sizeof(buf)), cases[i].text);
		json_object_put(v);
	}
}
END_TEST

START_TEST(test_rule_match_format)
{
	const struct {
		const char *json, *text;
	} cases[] = {
	    {"{\"protocol\": \"tcp\", \"srcCIDR\": [\"10.0.0.0/8\"], \"dstCIDR\": [],"
	     " \"srcPorts\": [], \"dstPorts\": [22, \"8000-8100\"]}",
	     "proto tcp src 10.0.0.0/8 dport 22,8000-8100"},
	    {"{\"protocol\": \"any\", \"srcCIDR\": [], \"dstCIDR\": [], \"srcPorts\": [],"
	     " \"dstPorts\": []}",
	     "any"},
	    {"{\"protocol\": 17, \"dstCIDR\": [\"192.0.2.0/24\", \"2001:db8::/32\"],"
	     " \"srcPorts\": [{\"from\": 1024, \"to\": 65535}, {\"from\": 53, \"to\": 53}]}",
	     "proto udp dst 192.0.2.0/24,2001:db8::/32 sport 1024-65535,53"},
	    {"{}", "any"},
	    /* nulls and wrong types from a broken daemon print, never crash */
	    {"{\"srcCIDR\": [null, \"10.0.0.0/8\"], \"dstCIDR\": [1, null], \"dstPorts\": [null]}",
	     "src -,10.0.0.0/8 dst 1,- dport null"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_object *v = json_tokener_parse(cases[i].json);
		_cleanup_free_ char *text = fosctl_match_format(v);

		ck_assert_str_eq(text, cases[i].text);
		json_object_put(v);
	}
}
END_TEST

START_TEST(test_print_programs)
{
	_cleanup_free_ char *text = print_capture(
	    fosctl_print_programs,
	    "{\"programs\": [{\"name\": \"ddos-protection\", \"type\": \"xdp\", \"interface\":"
	    " \"eth0\", \"priority\": 1, \"loaded\": true, \"attached\": true, \"mode\":"
	    " \"native\", \"progId\": 12, \"linkId\": 3, \"rules\": 0, \"packets\": 123456789,"
	    " \"dropped\": 42}, {\"name\": \"xdp-filter\", \"type\": \"xdp\", \"interface\":"
	    " \"eth1\", \"priority\": 10, \"attached\": false, \"mode\": \"generic\","
	    " \"rules\": [1, 2], \"packets\": 5, \"dropped\": 0}]}");

	ck_assert_str_eq(text, "NAME             TYPE  INTERFACE  PRIO  MODE     ATTACHED  "
			       "STATEFUL  RULES    PACKETS  DROPPED\n"
			       "ddos-protection  xdp   eth0          1  native   yes       -       "
			       "      0  123456789       42\n"
			       "xdp-filter       xdp   eth1         10  generic  no        -       "
			       "      2          5        0\n");
}
END_TEST

START_TEST(test_print_rules)
{
	_cleanup_free_ char *text = print_capture(
	    fosctl_print_rules,
	    "{\"programs\": [{\"name\": \"xdp-filter\", \"default\": {\"action\": \"pass\","
	    " \"packets\": 1000, \"bytes\": 64000}, \"rules\": [{\"index\": 0, \"match\":"
	    " {\"protocol\": \"tcp\", \"srcCIDR\": [\"10.0.0.0/8\"], \"dstPorts\": [22]},"
	    " \"action\": \"redirect\", \"interface\": \"veth1\", \"packets\": 10, \"bytes\":"
	    " 600}]}, {\"name\": \"ddos\", \"default\": {\"action\": \"drop\", \"packets\": 1,"
	    " \"bytes\": 60}, \"rules\": []}]}");

	ck_assert_str_eq(text,
			 "program xdp-filter:\n"
			 "INDEX    ACTION          MATCH                              PACKETS  "
			 "BYTES\n"
			 "0        redirect veth1  proto tcp src 10.0.0.0/8 dport 22       10  "
			 "  600\n"
			 "default  pass                                                  1000  "
			 "64000\n"
			 "\n"
			 "program ddos:\n"
			 "INDEX    ACTION  MATCH  PACKETS  BYTES\n"
			 "default  drop                 1     60\n");
}
END_TEST

START_TEST(test_print_status)
{
	_cleanup_free_ char *text = NULL;

	setenv("TZ", "UTC", 1);
	tzset();
	text = print_capture(fosctl_print_status,
			     "{\"version\": \"0.1.0\", \"pid\": 42, \"uptime\": 93784, \"config\":"
			     " \"/etc/fos/fwd.conf\", \"generation\": 3, \"pinDir\":"
			     " \"/sys/fs/bpf/fos\", \"socket\": \"/run/fos/fwd.sock\","
			     " \"lastReload\": {\"time\": 1714557600, \"ok\": false, \"message\":"
			     " \"2 errors\", \"errors\": [\"a.conf:1: x\", \"a.conf:2: y\"]}}");
	ck_assert_str_eq(text, "version:         0.1.0\n"
			       "pid:             42\n"
			       "uptime:          1d2h3m4s\n"
			       "config:          /etc/fos/fwd.conf\n"
			       "generation:      3\n"
			       "pin dir:         /sys/fs/bpf/fos\n"
			       "socket:          /run/fos/fwd.sock\n"
			       "last reload:     2024-05-01 10:00:00 UTC, failed\n"
			       "reload message:  2 errors\n"
			       "reload errors:   a.conf:1: x\n"
			       "                 a.conf:2: y\n");
}
END_TEST

START_TEST(test_print_sets_and_maps)
{
	_cleanup_free_ char *sets = print_capture(
	    fosctl_print_sets,
	    "{\"sets\": [{\"name\": \"blocked\", \"entries\": 3, \"configEntries\": 2,"
	    " \"dynamicEntries\": 1, \"usedBy\": [\"xdp-filter\", \"ddos\"]}, {\"name\": \"ok\","
	    " \"entries\": 0, \"configEntries\": 0, \"dynamicEntries\": 0, \"usedBy\": []}]}");
	_cleanup_free_ char *set = print_capture(
	    fosctl_print_set,
	    "{\"name\": \"blocked\", \"entries\": [{\"cidr\": \"10.0.0.0/8\","
	    " \"dynamic\": false}, {\"cidr\": \"192.0.2.7/32\", \"dynamic\": true}]}");
	_cleanup_free_ char *maps = print_capture(
	    fosctl_print_maps,
	    "{\"maps\": [{\"name\": \"fos_rules\", \"type\": \"array\", \"keySize\": 4,"
	    " \"valueSize\": 64, \"maxEntries\": 1024, \"entries\": 256, \"id\": 5,"
	    " \"pinned\": true}, {\"name\": \"fos_ct\", \"type\": \"lru_hash\", \"keySize\": 40,"
	    " \"valueSize\": 32, \"maxEntries\": 0}]}");
	_cleanup_free_ char *map = print_capture(
	    fosctl_print_map, "{\"name\": \"fos_rules\", \"entries\": [{\"key\": 0, \"value\":"
			      " {\"action\": \"drop\", \"path\": \"/x\"}}, {\"key\": {\"a\": 1},"
			      " \"value\": [1, 2]}]}");

	ck_assert_str_eq(sets, "NAME     ENTRIES  CONFIG  DYNAMIC  USED-BY\n"
			       "blocked        3       2        1  xdp-filter, ddos\n"
			       "ok             0       0        0  -\n");
	ck_assert_str_eq(set, "CIDR          TYPE     EXPIRES\n"
			      "10.0.0.0/8    config         -\n"
			      "192.0.2.7/32  dynamic        -\n");
	ck_assert_str_eq(maps, "NAME       TYPE      KEY  VALUE   MAX  ENTRIES  FILL%\n"
			       "fos_rules  array       4     64  1024      256   25.0\n"
			       "fos_ct     lru_hash   40     32     0        -      -\n");
	ck_assert_str_eq(map, "0 => {\"action\":\"drop\",\"path\":\"/x\"}\n"
			      "{\"a\":1} => [1,2]\n");
}
END_TEST

/* conntrack */

#define CT_E1                                                                                      \
	"{\"proto\": \"tcp\", \"family\": \"ipv4\", \"zone\": 0, \"src\": \"10.0.0.2\", \"dst\":"  \
	" \"192.0.2.1\", \"sport\": 40000, \"dport\": 443, \"state\": \"established\","            \
	" \"timeout\": 431990, \"age\": 10, \"seenReply\": true, \"interface\": \"eth0\","         \
	" \"packets\": {\"orig\": 12, \"reply\": 10}, \"bytes\": {\"orig\": 1500, \"reply\":"      \
	" 12000}}"
#define CT_E2                                                                                      \
	"{\"proto\": \"udp\", \"family\": \"ipv6\", \"zone\": 7, \"src\": \"2001:db8::1\","        \
	" \"dst\": \"2001:db8::53\", \"sport\": 5353, \"dport\": 53, \"state\": \"new\","          \
	" \"timeout\": 0, \"age\": 120, \"seenReply\": false, \"interface\": \"eth1\","            \
	" \"packets\": {\"orig\": 1, \"reply\": 0}, \"bytes\": {\"orig\": 80, \"reply\": 0}}"
#define CT_E3                                                                                      \
	"{\"proto\": \"icmp\", \"family\": \"ipv4\", \"zone\": 0, \"src\": \"10.0.0.2\", \"dst\":" \
	" \"192.0.2.9\", \"icmpId\": 1234, \"state\": \"established\", \"timeout\": 29, \"age\":"  \
	" 1, \"seenReply\": true, \"interface\": \"eth0\", \"packets\": {\"orig\": 3, \"reply\":"  \
	" 3}, \"bytes\": {\"orig\": 252, \"reply\": 252}}"
#define CT_E4                                                                                      \
	"{\"proto\": 47, \"family\": \"ipv4\", \"zone\": 0, \"src\": \"10.0.0.2\", \"dst\":"       \
	" \"10.0.0.3\", \"state\": \"new\", \"timeout\": 100, \"age\": 20, \"seenReply\": false,"  \
	" \"interface\": \"gre1\", \"packets\": {\"orig\": 2, \"reply\": 0}, \"bytes\": "          \
	"{\"orig\":"                                                                               \
	" 200, \"reply\": 0}}"

/* A stream of two parts; the first carries the totals. */
static const struct step ct_stream = {{
    "{\"parameters\": {\"entries\": [" CT_E1 ", " CT_E2 "], \"matched\": 4, \"scanned\": 1000},"
    " \"continues\": true}",
    "{\"parameters\": {\"entries\": [" CT_E3 ", " CT_E4 "]}}",
}};

#define CT_EMPTY "{\"parameters\": {\"entries\": [], \"matched\": 0, \"scanned\": 0}}"

START_TEST(test_ct_requests)
{
	const struct {
		const char *line, *request;
	} cases[] = {
	    {"show conntrack", "{\"method\":\"fos.Show.Conntrack\",\"parameters\":{}}"},
	    {"show conntrack src 10.0.0.0/8",
	     "{\"method\":\"fos.Show.Conntrack\",\"parameters\":{\"src\":\"10.0.0.0/8\"}}"},
	    {"show conntrack dst 2001:db8::/32 proto tcp",
	     "{\"method\":\"fos.Show.Conntrack\",\"parameters\":{\"dst\":\"2001:db8::/32\","
	     "\"proto\":\"tcp\"}}"},
	    /* any order in, the table's order out; numbers as numbers */
	    {"show conntrack limit 10 zone 7 state established port 443 proto 6 dst 192.0.2.1"
	     " src 10.0.0.0/8",
	     "{\"method\":\"fos.Show.Conntrack\",\"parameters\":{\"src\":\"10.0.0.0/8\","
	     "\"dst\":\"192.0.2.1\",\"proto\":6,\"port\":443,\"state\":\"established\","
	     "\"zone\":7,\"limit\":10}}"},
	    /* keywords abbreviated, names in any case, sent canonical */
	    {"sh conn st ESTABLISHED pr ICMPv6 l 1",
	     "{\"method\":\"fos.Show.Conntrack\",\"parameters\":{\"proto\":\"icmpv6\","
	     "\"state\":\"established\",\"limit\":1}}"},
	    {"show conntrack proto ipv6-icmp port 0 zone 4294967295",
	     "{\"method\":\"fos.Show.Conntrack\",\"parameters\":{\"proto\":\"icmpv6\","
	     "\"port\":0,\"zone\":4294967295}}"},
	    {"show conntrack proto 255 port 65535 state close_wait",
	     "{\"method\":\"fos.Show.Conntrack\",\"parameters\":{\"proto\":255,"
	     "\"port\":65535,\"state\":\"close_wait\"}}"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct step reply = {{CT_EMPTY}};
		struct result r;

		run(cases[i].line, false, &reply, 1, &r);
		ck_assert_msg(r.rc == FOSCTL_EXIT_OK, "%s: %d %s", cases[i].line, r.rc, r.err);
		assert_request(&r, cases[i].request);
		ck_assert_str_eq(r.out, "0 flows shown (0 matched, 0 scanned)\n");
		result_done(&r);
	}
}
END_TEST

START_TEST(test_ct_summary_and_clear_requests)
{
	const struct {
		const char *line, *request, *reply, *out;
	} cases[] = {
	    {"show conntrack summary",
	     "{\"method\":\"fos.Show.ConntrackSummary\",\"parameters\":{}}",
	     "{\"parameters\": {\"entries\": 0}}", NULL},
	    {"sh conn sum", "{\"method\":\"fos.Show.ConntrackSummary\",\"parameters\":{}}",
	     "{\"parameters\": {\"entries\": 0}}", NULL},
	    /* "s" could be a filter only if it named one, so it is "summary" */
	    {"show conntrack s", "{\"method\":\"fos.Show.ConntrackSummary\",\"parameters\":{}}",
	     "{\"parameters\": {\"entries\": 0}}", NULL},
	    {"clear conntrack", "{\"method\":\"fos.Clear.Conntrack\",\"parameters\":{}}",
	     "{\"parameters\": {\"removed\": 1234}}", "removed 1234 entries\n"},
	    {"clear conntrack state time_wait src 10.0.0.0/8 port 80",
	     "{\"method\":\"fos.Clear.Conntrack\",\"parameters\":{\"src\":\"10.0.0.0/8\","
	     "\"port\":80,\"state\":\"time_wait\"}}",
	     "{\"parameters\": {\"removed\": 1}}", "removed 1 entry\n"},
	    {"cl c zone 3 dst 2001:db8::1 proto udp",
	     "{\"method\":\"fos.Clear.Conntrack\",\"parameters\":{\"dst\":\"2001:db8::1\","
	     "\"proto\":\"udp\",\"zone\":3}}",
	     "{\"parameters\": {\"removed\": 0}}", "removed 0 entries\n"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct step reply = {{cases[i].reply}};
		struct result r;

		run(cases[i].line, false, &reply, 1, &r);
		ck_assert_msg(r.rc == FOSCTL_EXIT_OK, "%s: %d %s", cases[i].line, r.rc, r.err);
		assert_request(&r, cases[i].request);
		if (cases[i].out)
			ck_assert_str_eq(r.out, cases[i].out);
		result_done(&r);
	}
}
END_TEST

START_TEST(test_ct_show_stream)
{
	struct result r;

	run("show conntrack", false, &ct_stream, 1, &r);
	ck_assert_int_eq(r.rc, FOSCTL_EXIT_OK);
	ck_assert_str_eq(r.err, "");
	ck_assert_str_eq(r.out, "PROTO  STATE        FLOW                                     ZONE "
				" TIMEOUT  PACKETS       BYTES  INTERFACE\n"
				"tcp    established  10.0.0.2:40000 -> 192.0.2.1:443             0 "
				"  431990    12/10  1500/12000  eth0\n"
				"udp    new          [2001:db8::1]:5353 -> [2001:db8::53]:53     7 "
				" expired      1/0        80/0  eth1\n"
				"icmp   established  10.0.0.2 -> 192.0.2.9 id=1234               0 "
				"      29      3/3     252/252  eth0\n"
				"47     new          10.0.0.2 -> 10.0.0.3                        0 "
				"     100      2/0       200/0  gre1\n"
				"4 flows shown (4 matched, 1000 scanned)\n");
	result_done(&r);
}
END_TEST

/* -j prints the reply the stream parts make up, as it came. */
START_TEST(test_ct_show_json)
{
	json_object *got, *want;
	struct result r;

	run("show conntrack", true, &ct_stream, 1, &r);
	ck_assert_int_eq(r.rc, FOSCTL_EXIT_OK);
	got = json_tokener_parse(r.out);
	want = json_tokener_parse("{\"entries\": [" CT_E1 ", " CT_E2 ", " CT_E3 ", " CT_E4 "],"
				  " \"matched\": 4, \"scanned\": 1000}");
	ck_assert_ptr_nonnull(got);
	ck_assert_ptr_nonnull(want);
	ck_assert_msg(json_object_equal(got, want), "%s", r.out);
	json_object_put(got);
	json_object_put(want);
	result_done(&r);
}
END_TEST

#define CT_SUMMARY                                                                                 \
	"{\"parameters\": {\"maxConnections\": 1000000, \"capacity\": 1078500, \"entries\":"       \
	" 1234, \"fill\": 0.1234, \"created\": 56789, \"insertFailures\": 2, \"reopened\": 12,"    \
	" \"invalid\": \"drop\", \"timeouts\": {\"tcp\": 432000, \"tcpSyn\": 120, \"tcpFin\":"     \
	" 120, \"udp\": 120, \"icmp\": 30}, \"gc\": {\"runs\": 100, \"removed\": 4444,"            \
	" \"lastRunAt\": 1714557600, \"lastRunMs\": 12, \"maxStepMs\": 3, \"intervalMs\":"         \
	" 1000}, \"protocols\": [{\"proto\": \"tcp\", \"entries\": 1200, \"states\":"              \
	" {\"established\": 1000, \"syn_sent\": 150, \"time_wait\": 50}}, {\"proto\": \"udp\","    \
	" \"entries\": 30, \"states\": {\"new\": 4, \"established\": 26}}, {\"proto\": 58,"        \
	" \"entries\": 4, \"states\": {}}]}}"

START_TEST(test_ct_summary)
{
	const struct step reply = {{CT_SUMMARY}};
	struct result r;

	setenv("TZ", "UTC", 1);
	tzset();
	run("show conntrack summary", false, &reply, 1, &r);
	ck_assert_int_eq(r.rc, FOSCTL_EXIT_OK);
	ck_assert_str_eq(r.out,
			 "max connections:  1000000\n"
			 "capacity:         1078500\n"
			 "entries:          1234\n"
			 "fill:             0.1%\n"
			 "created:          56789\n"
			 "insert failures:  2\n"
			 "reopened:         12\n"
			 "invalid policy:   drop\n"
			 "timeouts:\n"
			 "  tcp:            432000s\n"
			 "  tcpSyn:         120s\n"
			 "  tcpFin:         120s\n"
			 "  udp:            120s\n"
			 "  icmp:           30s\n"
			 "gc:\n"
			 "  runs:           100\n"
			 "  removed:        4444\n"
			 "  last run:       2024-05-01 10:00:00 UTC, took 12 ms\n"
			 "  max step:       3 ms\n"
			 "  interval:       1000 ms\n"
			 "protocols:\n"
			 "  tcp:            1200 (established 1000, syn_sent 150, time_wait 50)\n"
			 "  udp:            30 (new 4, established 26)\n"
			 "  icmpv6:         4\n");
	result_done(&r);
}
END_TEST

START_TEST(test_ct_daemon_errors)
{
	const struct step denied = {{"{\"error\": \"fos.PermissionDenied\", \"parameters\":"
				     " {\"message\": \"clearing conntrack entries needs"
				     " CAP_NET_ADMIN\"}}"}};
	const struct step invalid = {{"{\"error\": \"fos.InvalidParameter\", \"parameters\":"
				      " {\"message\": \"state: not a state\"}}"}};
	const struct step midstream = {{
	    "{\"parameters\": {\"entries\": [" CT_E1 "]}, \"continues\": true}",
	    "{\"error\": \"fos.Failed\", \"parameters\": {\"message\": \"the table went away\"}}",
	}};
	json_object *e;
	struct result r;

	run("clear conntrack", false, &denied, 1, &r);
	ck_assert_int_eq(r.rc, FOSCTL_EXIT_DAEMON);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err, "fosctl: clearing conntrack entries needs CAP_NET_ADMIN\n");
	result_done(&r);

	/* -j: the error itself, on standard output */
	run("clear conntrack", true, &denied, 1, &r);
	ck_assert_int_eq(r.rc, FOSCTL_EXIT_DAEMON);
	e = json_tokener_parse(r.out);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(e, "error")),
			 "fos.PermissionDenied");
	json_object_put(e);
	result_done(&r);

	run("show conntrack state new", false, &invalid, 1, &r);
	ck_assert_int_eq(r.rc, FOSCTL_EXIT_DAEMON);
	ck_assert_str_eq(r.err, "fosctl: state: not a state\n");
	result_done(&r);

	/* an error ends a stream: nothing of it is printed */
	run("show conntrack", false, &midstream, 1, &r);
	ck_assert_int_eq(r.rc, FOSCTL_EXIT_DAEMON);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err, "fosctl: the table went away\n");
	result_done(&r);
}
END_TEST

START_TEST(test_ct_malformed)
{
	const struct {
		const char *line, *reply[PEER_PARTS_MAX], *err;
	} cases[] = {
	    {"show conntrack",
	     {"{\"parameters\": {\"matched\": 1, \"scanned\": 2}}"},
	     "fosctl: fos.Show.Conntrack: fwd sent a malformed reply\n"},
	    {"show conntrack",
	     {"{\"parameters\": {\"entries\": null}}"},
	     "fosctl: fos.Show.Conntrack: fwd sent a malformed reply\n"},
	    {"show conntrack",
	     {"{\"parameters\": {\"entries\": [" CT_E1 "]}, \"continues\": true}",
	      "{\"parameters\": {\"matched\": 1}}"},
	     "fosctl: fos.Show.Conntrack: fwd sent a malformed reply: Bad message\n"},
	    {"show conntrack summary",
	     {"{\"parameters\": null}"},
	     "fosctl: fos.Show.ConntrackSummary: fwd sent a malformed reply: Bad message\n"},
	    {"clear conntrack",
	     {"{\"parameters\": {\"removed\": null}}"},
	     "fosctl: fos.Clear.Conntrack: fwd sent a malformed reply\n"},
	    {"clear conntrack",
	     {"{\"parameters\": {}}"},
	     "fosctl: fos.Clear.Conntrack: fwd sent a malformed reply\n"},
	    {"clear conntrack",
	     {"{\"error\": null}"},
	     "fosctl: fos.Clear.Conntrack: fwd sent a malformed reply: Bad message\n"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct step reply = {};
		struct result r;

		memcpy(reply.parts, cases[i].reply, sizeof(reply.parts));
		run(cases[i].line, false, &reply, 1, &r);
		ck_assert_msg(r.rc == FOSCTL_EXIT_DAEMON, "case %zu: %d", i, r.rc);
		ck_assert_str_eq(r.out, "");
		ck_assert_str_eq(r.err, cases[i].err);
		result_done(&r);
	}
}
END_TEST

/* Missing, null and mistyped fields print as "-", never crash. */
START_TEST(test_ct_missing_fields)
{
	const struct step flows = {{"{\"parameters\": {\"entries\": [{}, {\"proto\": null, \"src\":"
				    " null, \"sport\": null, \"dst\": \"2001:db8::1\", \"dport\":"
				    " 53, \"packets\": null, \"bytes\": {\"orig\": null},"
				    " \"timeout\": \"soon\", \"icmpId\": null}, 5, null]}}"}};
	const struct step summary = {{"{\"parameters\": {\"fill\": null, \"timeouts\": [],"
				      " \"gc\": 7, \"protocols\": [5, {\"states\": null}]}}"}};
	const struct step empty = {{"{\"parameters\": {}}"}};
	struct result r;

	run("show conntrack", false, &flows, 1, &r);
	ck_assert_int_eq(r.rc, FOSCTL_EXIT_OK);
	ck_assert_str_eq(
	    r.out, "PROTO  STATE  FLOW                   ZONE  TIMEOUT  PACKETS  BYTES  INTERFACE\n"
		   "-      -      - -> -                    -        -      -/-    -/-  -\n"
		   "-      -      - -> [2001:db8::1]:53     -     soon      -/-    -/-  -\n"
		   "-      -      - -> -                    -        -      -/-    -/-  -\n"
		   "-      -      - -> -                    -        -      -/-    -/-  -\n"
		   "4 flows shown (- matched, - scanned)\n");
	result_done(&r);

	run("show conntrack summary", false, &summary, 1, &r);
	ck_assert_int_eq(r.rc, FOSCTL_EXIT_OK);
	ck_assert_str_eq(r.out, "max connections:  -\n"
				"capacity:         -\n"
				"entries:          -\n"
				"fill:             -\n"
				"created:          -\n"
				"insert failures:  -\n"
				"reopened:         -\n"
				"invalid policy:   -\n"
				"timeouts:         -\n"
				"gc:               -\n"
				"  runs:           -\n"
				"  removed:        -\n"
				"  last run:       -\n"
				"  max step:       -\n"
				"  interval:       -\n"
				"protocols:\n"
				"  -:              -\n"
				"  -:              -\n");
	result_done(&r);

	run("show conntrack summary", false, &empty, 1, &r);
	ck_assert_int_eq(r.rc, FOSCTL_EXIT_OK);
	ck_assert_ptr_nonnull(strstr(r.out, "\ngc:               -\n"));
	ck_assert_ptr_null(strstr(r.out, "protocols"));
	result_done(&r);
}
END_TEST

/* Refused before connecting: exit 2, the reason and the filters. */
START_TEST(test_ct_usage_errors)
{
	const struct {
		const char *line, *err;
	} cases[] = {
	    {"show conntrack src 10.0.0.1/8",
	     "fosctl: src: 10.0.0.1/8: host bits set, the network is 10.0.0.0/8\n"},
	    {"show conntrack dst banana", "fosctl: dst: banana is not an IP address\n"},
	    {"show conntrack state estab",
	     "fosctl: state: \"estab\" is not a connection state (new, syn_sent, syn_recv,"
	     " established, fin_wait, close_wait, time_wait or close)\n"},
	    {"show conntrack proto sctp",
	     "fosctl: proto: \"sctp\" is not tcp, udp, icmp, icmpv6 or a protocol number"
	     " 1-255\n"},
	    {"show conntrack proto any",
	     "fosctl: proto: \"any\" is not tcp, udp, icmp, icmpv6 or a protocol number"
	     " 1-255\n"},
	    {"show conntrack proto 256",
	     "fosctl: proto: \"256\" is not tcp, udp, icmp, icmpv6 or a protocol number"
	     " 1-255\n"},
	    {"show conntrack port 70000", "fosctl: port: 70000 is out of range 0-65535\n"},
	    {"show conntrack port -1", "fosctl: port: -1 is not a port number\n"},
	    {"show conntrack zone 4294967296",
	     "fosctl: zone: \"4294967296\" is not a zone number 0-4294967295\n"},
	    {"show conntrack limit 0", "fosctl: limit: \"0\" is not a number 1-4294967295\n"},
	    {"show conntrack limit 10x", "fosctl: limit: \"10x\" is not a number 1-4294967295\n"},
	    {"show conntrack src", "fosctl: missing CIDR after \"src\"\n"},
	    {"show conntrack proto tcp state", "fosctl: missing STATE after \"state\"\n"},
	    {"show conntrack frob 1", "fosctl: unknown filter \"frob\"\n"},
	    {"show conntrack 10.0.0.0/8", "fosctl: unknown filter \"10.0.0.0/8\"\n"},
	    {"show conntrack p 1", "fosctl: ambiguous filter \"p\", could be: proto, port\n"},
	    {"show conntrack src 10.0.0.0/8 sr 10.0.0.0/8", "fosctl: filter \"src\" given twice\n"},
	    {"clear conntrack limit 5", "fosctl: unknown filter \"limit\"\n"},
	    {"clear conntrack state", "fosctl: missing STATE after \"state\"\n"},
	};
	struct result r;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *nl;

		run(cases[i].line, false, NULL, 0, &r);
		ck_assert_msg(r.rc == FOSCTL_EXIT_USAGE, "%s: %d", cases[i].line, r.rc);
		ck_assert_msg(!r.connected, "%s: connected", cases[i].line);
		ck_assert_str_eq(r.out, "");
		nl = strchr(r.err, '\n');
		ck_assert_ptr_nonnull(nl);
		ck_assert_msg(strncmp(r.err, cases[i].err, (size_t)(nl - r.err) + 1) == 0 &&
				  strlen(cases[i].err) == (size_t)(nl - r.err) + 1,
			      "%s:\n%s", cases[i].line, r.err);
		/* the usage with the filters follows */
		ck_assert_ptr_nonnull(strstr(r.err, "\nusage:\n  "));
		ck_assert_ptr_nonnull(strstr(r.err, "conntrack [FILTER...]  "));
		ck_assert_ptr_nonnull(strstr(r.err, "\nfilters:\n  src CIDR "));
		ck_assert_int_eq(!!strstr(r.err, "\n  limit N "), cases[i].line[0] == 's');
		result_done(&r);
	}

	/* the words themselves: the matcher's errors */
	run("show conntrack summary now", false, NULL, 0, &r);
	ck_assert_int_eq(r.rc, FOSCTL_EXIT_USAGE);
	ck_assert(!r.connected);
	ck_assert_str_eq(r.err,
			 "fosctl: unexpected argument \"now\" for \"show conntrack summary\"\n"
			 "usage:\n"
			 "  show conntrack summary  Connection table size and fill, counters,"
			 " collector, states\n");
	result_done(&r);
}
END_TEST

START_TEST(test_ct_usage_text)
{
	struct result r;

	run("show conntrack src", false, NULL, 0, &r);
	ck_assert_str_eq(r.err,
			 "fosctl: missing CIDR after \"src\"\n"
			 "usage:\n"
			 "  show conntrack [FILTER...]  Tracked connections, all or those the "
			 "filters select\n"
			 "filters:\n"
			 "  src CIDR     the flow's original source (the end that opened it)\n"
			 "  dst CIDR     the flow's original destination\n"
			 "  proto PROTO  the IP protocol\n"
			 "  port PORT    either end's port, or the ICMP echo id\n"
			 "  state STATE  the entry's state\n"
			 "  zone ZONE    the conntrack zone\n"
			 "  limit N      at most N flows (matched still counts all)\n");
	result_done(&r);
}
END_TEST

START_TEST(test_ct_match)
{
	struct fosctl_match m;

	assert_matches("show conntrack", "show conntrack");
	assert_matches("show conntrack summary", "show conntrack summary");
	assert_matches("sh conn sum", "show conntrack summary");
	assert_matches("show conntrack s", "show conntrack summary");
	assert_matches("show conntrack state new", "show conntrack");
	assert_matches("show conntrack src", "show conntrack");
	assert_matches("show conntrack st new src 10.0.0.0/8 limit", "show conntrack");
	assert_matches("clear conntrack", "clear conntrack");
	assert_matches("cl conn port 22", "clear conntrack");

	m = match_line("show conntrack summary now", false);
	ck_assert_int_eq(m.result, FOSCTL_MATCH_EXTRA);
	ck_assert_ptr_eq(m.command, find("show conntrack summary"));
	ck_assert_uint_eq(m.token, 3);

	m = match_line("c", false);
	ck_assert_int_eq(m.result, FOSCTL_MATCH_AMBIGUOUS);
	m = match_line("clear", false);
	ck_assert_int_eq(m.result, FOSCTL_MATCH_INCOMPLETE);
}
END_TEST

/* The candidates for the word after line (split at blanks), starting with partial. */
static char *complete_at(const char *line, const char *partial, unsigned *ret_kinds)
{
	_cleanup_(strv_freep) char **tokens = NULL, **words = NULL;
	char *text = NULL;
	size_t n, len;
	FILE *f;

	ck_assert_int_eq(fosctl_split(line, false, &tokens, &n, NULL), 0);
	ck_assert_int_eq(fosctl_complete(tokens, n, partial, true, &words, ret_kinds), 0);
	f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	for (size_t i = 0; words[i]; i++)
		fprintf(f, "%s%s", i > 0 ? " " : "", words[i]);
	fclose(f);
	return text;
}

START_TEST(test_ct_complete)
{
	const struct {
		const char *line, *partial, *words;
		unsigned kinds;
	} cases[] = {
	    {"show", "con", "conntrack", 0},
	    {"", "cl", "clear", 0},
	    {"clear", "", "conntrack nat", 0},
	    {"show conntrack", "", "dst limit port proto src state summary zone", 0},
	    {"show conntrack", "s", "src state summary", 0},
	    {"clear conntrack", "", "dst port proto src state zone", 0},
	    {"clear conntrack", "st", "state", 0},
	    /* a filter given is not offered again; summary is no filter */
	    {"show conntrack src 10.0.0.0/8", "s", "state", 0},
	    {"show conntrack st new pr tcp", "", "dst limit port src zone", 0},
	    {"show conntrack proto", "", "icmp icmpv6 tcp udp", 1U << FOSCTL_ARG_PROTO},
	    {"show conntrack proto", "icmp", "icmp icmpv6", 1U << FOSCTL_ARG_PROTO},
	    {"clear conntrack src 10.0.0.0/8 st", "",
	     "close close_wait established fin_wait new "
	     "syn_recv syn_sent time_wait",
	     1U << FOSCTL_ARG_CT_STATE},
	    {"show conntrack state", "s", "syn_recv syn_sent", 1U << FOSCTL_ARG_CT_STATE},
	    {"show conntrack src", "", "", 1U << FOSCTL_ARG_CIDR},
	    {"show conntrack limit", "", "", 1U << FOSCTL_ARG_LIMIT},
	    /* nothing after an unknown keyword, nor after summary */
	    {"show conntrack frob", "", "", 0},
	    {"show conntrack summary", "", "", 0},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		unsigned kinds;
		_cleanup_free_ char *words = complete_at(cases[i].line, cases[i].partial, &kinds);

		ck_assert_msg(strcmp(words, cases[i].words) == 0, "\"%s\" + \"%s\": \"%s\"",
			      cases[i].line, cases[i].partial, words);
		ck_assert_msg(kinds == cases[i].kinds, "\"%s\": kinds %x", cases[i].line, kinds);
	}
}
END_TEST

START_TEST(test_ct_help_context)
{
	_cleanup_free_ char *show = help_at("show conntrack ");
	_cleanup_free_ char *st = help_at("show conntrack st");
	_cleanup_free_ char *proto = help_at("show conntrack proto ");
	_cleanup_free_ char *state = help_at("clear conntrack state ");
	_cleanup_free_ char *rest = help_at("clear conntrack state new zone 1 src 10.0.0.0/8 ");
	_cleanup_free_ char *summary = help_at("show conntrack summary ");
	_cleanup_free_ char *unknown = help_at("show conntrack frob ");

	ck_assert_str_eq(show,
			 "  summary      Connection table size and fill, counters, collector,"
			 " states\n"
			 "  src CIDR     the flow's original source (the end that opened it)\n"
			 "  dst CIDR     the flow's original destination\n"
			 "  proto PROTO  the IP protocol\n"
			 "  port PORT    either end's port, or the ICMP echo id\n"
			 "  state STATE  the entry's state\n"
			 "  zone ZONE    the conntrack zone\n"
			 "  limit N      at most N flows (matched still counts all)\n"
			 "  <cr>         run the command\n");
	ck_assert_str_eq(st, "  state STATE  the entry's state\n");
	ck_assert_str_eq(proto, "  PROTO  tcp, udp, icmp, icmpv6 or an IP protocol number 1-255\n");
	ck_assert_str_eq(state, "  STATE  new, syn_sent, syn_recv, established, fin_wait,"
				" close_wait, time_wait or close\n");
	ck_assert_str_eq(rest, "  dst CIDR     the flow's original destination\n"
			       "  proto PROTO  the IP protocol\n"
			       "  port PORT    either end's port, or the ICMP echo id\n"
			       "  <cr>         run the command\n");
	ck_assert_str_eq(summary, "  <cr>  run the command\n");
	ck_assert_str_eq(unknown, "  (nothing may follow \"\")\n");
}
END_TEST

START_TEST(test_print_rules_state)
{
	_cleanup_free_ char *text = print_capture(
	    fosctl_print_rules,
	    "{\"programs\": [{\"name\": \"tc-in\", \"default\": {\"action\": \"drop\","
	    " \"packets\": 3, \"bytes\": 180}, \"rules\": [{\"index\": 0, \"match\": {\"protocol\":"
	    " \"any\", \"state\": [\"established\", \"related\"]}, \"action\": \"pass\","
	    " \"packets\": 90, \"bytes\": 9000}, {\"index\": 1, \"match\": {\"protocol\": 6,"
	    " \"dstPorts\": [22], \"state\": [\"new\"]}, \"action\": \"pass\", \"packets\": 2,"
	    " \"bytes\": 120}, {\"index\": 2, \"match\": {\"state\": []}, \"action\": \"drop\","
	    " \"packets\": 0, \"bytes\": 0}, {\"index\": 3, \"match\": {\"state\": null,"
	    " \"protocol\": 47}, \"action\": \"drop\", \"packets\": 0, \"bytes\": 0}]}]}");

	ck_assert_str_eq(text, "program tc-in:\n"
			       "INDEX    ACTION  MATCH                         PACKETS  BYTES\n"
			       "0        pass    state established,related          90   9000\n"
			       "1        pass    proto tcp dport 22 state new        2    120\n"
			       "2        drop    any                                 0      0\n"
			       "3        drop    proto 47                            0      0\n"
			       "default  drop                                        3    180\n");
}
END_TEST

#define TC_PROGRAM                                                                                 \
	"{\"name\": \"edge-in\", \"type\": \"tc-ingress\", \"interface\": \"eth0\", \"priority\":" \
	" 5, \"stateful\": true, \"progId\": 40, \"tc\": {\"handle\": 1, \"priority\": 49152,"     \
	" \"direction\": \"ingress\", \"trackerPriority\": 49153}, \"attached\": true, \"rules\":" \
	" 3, \"packets\": 10, \"dropped\": 1, \"status\": {\"loaded\": true, \"attached\": true}}"

START_TEST(test_print_programs_tc)
{
	_cleanup_free_ char *list = print_capture(
	    fosctl_print_programs,
	    "{\"programs\": [" TC_PROGRAM ", {\"name\": \"edge-out\", \"type\": \"tc-egress\","
	    " \"interface\": \"eth0\", \"priority\": 6, \"stateful\": false, \"tc\": {\"handle\":"
	    " null}, \"attached\": false, \"rules\": 0, \"packets\": 0, \"dropped\": 0},"
	    " {\"name\": \"xdp\", \"type\": \"xdp\", \"mode\": \"native\", \"tc\": null}]}");
	_cleanup_free_ char *one = print_capture(fosctl_print_program, TC_PROGRAM);
	_cleanup_free_ char *partial = print_capture(
	    fosctl_print_program, "{\"name\": \"edge-out\", \"type\": \"tc-egress\", \"tc\":"
				  " {\"priority\": null, \"direction\": \"egress\"}}");

	ck_assert_str_eq(list, "NAME      TYPE        INTERFACE  PRIO  MODE                    "
			       "ATTACHED  STATEFUL  RULES  PACKETS  DROPPED\n"
			       "edge-in   tc-ingress  eth0          5  tc prio 49152 handle 1  "
			       "yes       yes           3       10        1\n"
			       "edge-out  tc-egress   eth0          6  tc                      "
			       "no        no            0        0        0\n"
			       "xdp       xdp         -             -  native                  "
			       "-         -             -        -        -\n");
	ck_assert_str_eq(one, "name:                edge-in\n"
			      "type:                tc-ingress\n"
			      "interface:           eth0\n"
			      "priority:            5\n"
			      "stateful:            yes\n"
			      "prog id:             40\n"
			      "tc direction:        ingress\n"
			      "tc priority:         49152\n"
			      "tc handle:           1\n"
			      "tracker priority:    49153\n"
			      "loaded:              yes\n"
			      "attached:            yes\n"
			      "map refs:            -\n"
			      "packets processed:   -\n"
			      "packets dropped:     -\n"
			      "packets passed:      -\n"
			      "packets redirected:  -\n"
			      "bytes:               -\n"
			      "last updated:        -\n");
	ck_assert_ptr_nonnull(strstr(partial, "\ntc direction:        egress\n"));
	ck_assert_ptr_null(strstr(partial, "tc priority"));
	ck_assert_ptr_null(strstr(partial, "mode:"));
	ck_assert_ptr_null(strstr(partial, "stateful:"));
}
END_TEST

/* DDoS mitigation and timed set entries */

#define DDOS_PROGRAM                                                                               \
	"{\"name\": \"ddos-protection\", \"interface\": \"eth0\", \"protections\": {"              \
	"\"rateLimiting\": {\"armed\": true, \"engaged\": false, \"packetsPerSecond\": 10000,"     \
	" \"burst\": 20000, \"connectionsPerSecond\": 50, \"connectionsBurst\": 100,"              \
	" \"connectionsPerIP\": 200, \"ipv6PrefixLength\": 64, \"blockDuration\": 300},"           \
	" \"synFloodProtection\": {\"armed\": true, \"engaged\": true, \"threshold\": 1000,"       \
	" \"always\": false, \"holdTime\": 10, \"authTimeout\": 300, \"engagedDestinations\": 1}," \
	" \"icmpFloodProtection\": {\"armed\": false, \"engaged\": false},"                        \
	" \"udpFloodProtection\": {\"armed\": false, \"engaged\": false}},"                        \
	" \"drops\": {\"rate\": 0, \"connRate\": 0, \"connLimit\": 0, \"synFlood\": 123,"          \
	" \"icmpFlood\": 0, \"udpFlood\": 0, \"blacklist\": 0}, \"cookies\": {\"sent\": 123,"      \
	" \"proved\": 1, \"bad\": 0}, \"blocked\": 0, \"eventsLost\": 0, \"trackedSources\": 17}"
#define DDOS_EDGE                                                                                  \
	"{\"name\": \"edge\", \"interface\": \"eth1\", \"protections\": {"                         \
	"\"rateLimiting\": {\"armed\": false, \"engaged\": false},"                                \
	" \"synFloodProtection\": {\"armed\": true, \"engaged\": false, \"always\": true,"         \
	" \"holdTime\": 10, \"authTimeout\": 3600, \"engagedDestinations\": 0},"                   \
	" \"icmpFloodProtection\": {\"armed\": true, \"engaged\": true, \"perSource\": 100,"       \
	" \"perSourceBurst\": 100, \"total\": 1000, \"totalBurst\": 2000, \"blockDuration\": 60}," \
	" \"udpFloodProtection\": {\"armed\": true, \"engaged\": false, \"total\": 50000}},"       \
	" \"drops\": {\"rate\": 4, \"connRate\": 0, \"connLimit\": 0, \"synFlood\": 0,"            \
	" \"icmpFlood\": 1200, \"udpFlood\": 4, \"blacklist\": 9}, \"cookies\": {\"sent\": 0,"     \
	" \"proved\": 0, \"bad\": 0}, \"blocked\": 2, \"blockFailed\": 7, \"eventsLost\": 3,"      \
	" \"trackedSources\": 5}"
#define DDOS_REPLY "{\"parameters\": {\"programs\": [" DDOS_PROGRAM "]}}"

#define DDOS_TOP_SOURCES                                                                           \
	"[{\"program\": \"edge\", \"source\": \"198.18.0.5/32\", \"drops\": {\"rate\": 4,"         \
	" \"connRate\": 0, \"connLimit\": 0, \"synFlood\": 0, \"icmpFlood\": 1200, \"udpFlood\":"  \
	" 0, \"blacklist\": 0}, \"total\": 1204, \"lastDrop\": 1.5, \"blocked\": 250},"            \
	" {\"program\": \"ddos-protection\", \"source\": \"2001:db8:1:2::/64\", \"drops\":"        \
	" {\"rate\": 0, \"connRate\": 3, \"connLimit\": 3, \"synFlood\": 0, \"icmpFlood\": 0,"     \
	" \"udpFlood\": 0, \"blacklist\": 0}, \"total\": 6, \"lastDrop\": 125.25}]"
#define DDOS_TOP_REPLY "{\"parameters\": {\"sources\": " DDOS_TOP_SOURCES "}}"

#define SET_TIMED                                                                                  \
	"{\"name\": \"blocked\", \"entries\": [{\"cidr\": \"10.0.0.0/8\", \"dynamic\": false},"    \
	" {\"cidr\": \"192.0.2.7/32\", \"dynamic\": true}, {\"cidr\": \"192.0.2.8/32\","           \
	" \"dynamic\": true, \"expires\": 299}, {\"cidr\": \"198.18.0.5/32\", \"dynamic\": true,"  \
	" \"auto\": true, \"expires\": 3599}, {\"cidr\": \"2001:db8:1:2::/64\", \"dynamic\":"      \
	" true, \"auto\": true, \"expires\": 0}]}"

START_TEST(test_ddos_match)
{
	struct fosctl_match m;

	assert_matches("show ddos", "show ddos");
	assert_matches("show ddos ddos-protection", "show ddos");
	assert_matches("sh dd", "show ddos");
	assert_matches("show ddos top", "show ddos top");
	assert_matches("sh dd t", "show ddos top");
	assert_matches("show ddos top limit 5 program edge", "show ddos top");
	assert_matches("set add blocked 192.0.2.1 timeout 300", "set add");

	m = match_line("show ddos a b", false);
	ck_assert_int_eq(m.result, FOSCTL_MATCH_EXTRA);
	ck_assert_ptr_eq(m.command, find("show ddos"));
}
END_TEST

START_TEST(test_ddos_requests)
{
	const struct {
		const char *line, *request, *reply;
	} cases[] = {
	    {"show ddos", "{\"method\":\"fos.Show.Ddos\",\"parameters\":{}}", DDOS_REPLY},
	    {"sh dd ddos-protection",
	     "{\"method\":\"fos.Show.Ddos\",\"parameters\":{\"program\":\"ddos-protection\"}}",
	     DDOS_REPLY},
	    {"show ddos top", "{\"method\":\"fos.Show.DdosTop\",\"parameters\":{}}",
	     DDOS_TOP_REPLY},
	    /* any order in, the table's order out; the limit as a number */
	    {"show ddos top program edge limit 10000",
	     "{\"method\":\"fos.Show.DdosTop\",\"parameters\":{\"limit\":10000,"
	     "\"program\":\"edge\"}}",
	     DDOS_TOP_REPLY},
	    {"sh dd t l 1 p ddos-protection",
	     "{\"method\":\"fos.Show.DdosTop\",\"parameters\":{\"limit\":1,"
	     "\"program\":\"ddos-protection\"}}",
	     DDOS_TOP_REPLY},
	    {"set add blocked 192.0.2.1 timeout 300",
	     "{\"method\":\"fos.Set.Add\",\"parameters\":{\"name\":\"blocked\","
	     "\"cidr\":\"192.0.2.1\",\"timeout\":300}}",
	     "{\"parameters\": {\"name\": \"blocked\", \"cidr\": \"192.0.2.1/32\", \"added\":"
	     " true}}"},
	    /* durations go as seconds */
	    {"set add blocked 2001:db8::/64 timeout 5m",
	     "{\"method\":\"fos.Set.Add\",\"parameters\":{\"name\":\"blocked\","
	     "\"cidr\":\"2001:db8::/64\",\"timeout\":300}}",
	     "{\"parameters\": {\"name\": \"blocked\", \"cidr\": \"2001:db8::/64\", \"added\":"
	     " true}}"},
	    {"se a blocked 10.0.0.0/8 t 1h30m",
	     "{\"method\":\"fos.Set.Add\",\"parameters\":{\"name\":\"blocked\","
	     "\"cidr\":\"10.0.0.0/8\",\"timeout\":5400}}",
	     "{\"parameters\": {\"name\": \"blocked\", \"cidr\": \"10.0.0.0/8\", \"added\":"
	     " true}}"},
	    {"set add blocked 10.0.0.0/8 timeout 2147483647",
	     "{\"method\":\"fos.Set.Add\",\"parameters\":{\"name\":\"blocked\","
	     "\"cidr\":\"10.0.0.0/8\",\"timeout\":2147483647}}",
	     "{\"parameters\": {\"name\": \"blocked\", \"cidr\": \"10.0.0.0/8\", \"added\":"
	     " true}}"},
	    /* without a timeout, as before */
	    {"set add blocked 10.0.0.0/8",
	     "{\"method\":\"fos.Set.Add\",\"parameters\":{\"name\":\"blocked\","
	     "\"cidr\":\"10.0.0.0/8\"}}",
	     "{\"parameters\": {\"name\": \"blocked\", \"cidr\": \"10.0.0.0/8\", \"added\":"
	     " true}}"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct step reply = {{cases[i].reply}};
		struct result r;

		run(cases[i].line, false, &reply, 1, &r);
		ck_assert_msg(r.rc == FOSCTL_EXIT_OK, "%s: %d %s", cases[i].line, r.rc, r.err);
		assert_request(&r, cases[i].request);
		ck_assert_str_eq(r.err, "");
		result_done(&r);
	}
}
END_TEST

START_TEST(test_ddos_show)
{
	const struct step one = {{DDOS_REPLY}};
	const struct step two = {
	    {"{\"parameters\": {\"programs\": [" DDOS_PROGRAM ", " DDOS_EDGE "]}}"}};
	const struct step none = {{"{\"parameters\": {\"programs\": []}}"}};
	struct result r;

	run("show ddos", false, &one, 1, &r);
	ck_assert_int_eq(r.rc, FOSCTL_EXIT_OK);
	ck_assert_str_eq(r.err, "");
	ck_assert_str_eq(r.out,
			 "program ddos-protection on eth0:\n"
			 "  rateLimiting:         armed    10000 pps burst 20000, 50 conn/s burst"
			 " 100, 200 conn per source, IPv6 per /64, block 5m0s\n"
			 "  synFloodProtection:   engaged  threshold 1000 SYN/s, hold 10s, auth"
			 " 5m0s, 1 destination engaged\n"
			 "  icmpFloodProtection:  off\n"
			 "  udpFloodProtection:   off\n"
			 "  drops:                syn-flood 123\n"
			 "  cookies:              sent 123, proved 1, bad 0\n"
			 "  blocked:              0\n"
			 "  tracked sources:      17\n");
	result_done(&r);

	/* drops most first; events lost only when some were */
	run("show ddos", false, &two, 1, &r);
	ck_assert_int_eq(r.rc, FOSCTL_EXIT_OK);
	ck_assert_ptr_nonnull(strstr(r.out,
				     "  tracked sources:      17\n"
				     "\n"
				     "program edge on eth1:\n"
				     "  rateLimiting:         off\n"
				     "  synFloodProtection:   armed    cookies always, hold 10s,"
				     " auth 1h0m0s\n"
				     "  icmpFloodProtection:  engaged  100 pps per source burst"
				     " 100, 1000 pps total burst 2000, block 1m0s\n"
				     "  udpFloodProtection:   armed    50000 pps total\n"
				     "  drops:                icmp-flood 1200, blacklist 9, rate 4,"
				     " udp-flood 4\n"
				     "  cookies:              sent 0, proved 0, bad 0\n"
				     "  blocked:              2\n"
				     "  blocks failed:        7\n"
				     "  events lost:          3\n"
				     "  tracked sources:      5\n"));
	ck_assert_ptr_null(strstr(r.out, "events lost:          0"));
	/* the first program has none: only the second's line */
	ck_assert_ptr_nonnull(strstr(r.out, "blocks failed:"));
	ck_assert_ptr_null(strstr(strstr(r.out, "blocks failed:") + 1, "blocks failed:"));
	result_done(&r);

	run("show ddos", false, &none, 1, &r);
	ck_assert_int_eq(r.rc, FOSCTL_EXIT_OK);
	ck_assert_str_eq(r.out, "no program has DDoS protection\n");
	result_done(&r);
}
END_TEST

/* -j prints fwd's reply as it came. */
static void assert_json_out(const char *line, const char *reply, const char *want_json)
{
	const struct step step = {{reply}};
	json_object *got, *want;
	struct result r;

	run(line, true, &step, 1, &r);
	ck_assert_int_eq(r.rc, FOSCTL_EXIT_OK);
	got = json_tokener_parse(r.out);
	want = json_tokener_parse(want_json);
	ck_assert_ptr_nonnull(got);
	ck_assert_ptr_nonnull(want);
	ck_assert_msg(json_object_equal(got, want), "%s", r.out);
	json_object_put(got);
	json_object_put(want);
	result_done(&r);
}

START_TEST(test_ddos_json)
{
	assert_json_out("show ddos", DDOS_REPLY, "{\"programs\": [" DDOS_PROGRAM "]}");
	assert_json_out("show ddos top", DDOS_TOP_REPLY, "{\"sources\": " DDOS_TOP_SOURCES "}");
	assert_json_out("show set blocked", "{\"parameters\": " SET_TIMED "}", SET_TIMED);
}
END_TEST

START_TEST(test_ddos_top)
{
	const struct step top = {{DDOS_TOP_REPLY}};
	const struct step none = {{"{\"parameters\": {\"sources\": []}}"}};
	const struct step odd = {
	    {"{\"parameters\": {\"sources\": [{}, {\"source\": \"192.0.2.1/32\", \"drops\": {},"
	     " \"total\": 0, \"lastDrop\": \"now\", \"blocked\": null}]}}"}};
	struct result r;

	run("show ddos top", false, &top, 1, &r);
	ck_assert_int_eq(r.rc, FOSCTL_EXIT_OK);
	ck_assert_str_eq(r.out,
			 "SOURCE             PROGRAM          DROPS  REASONS                "
			 "        LAST  BLOCKED\n"
			 "198.18.0.5/32      edge              1204  icmp-flood 1200, rate 4"
			 "    1.5s ago    4m10s\n"
			 "2001:db8:1:2::/64  ddos-protection      6  conn-rate 3, conn-limit 3"
			 "  2m5s ago        -\n");
	result_done(&r);

	run("show ddos top", false, &none, 1, &r);
	ck_assert_int_eq(r.rc, FOSCTL_EXIT_OK);
	ck_assert_str_eq(r.out, "no source was dropped\n");
	result_done(&r);

	/* a source without "lastDrop" (its drops were never timed): "-" */
	const struct step untimed = {
	    {"{\"parameters\": {\"sources\": [{\"program\": \"edge\", \"source\":"
	     " \"198.18.0.9/32\", \"drops\": {\"udpFlood\": 7}, \"total\": 7}]}}"}};

	run("show ddos top", false, &untimed, 1, &r);
	ck_assert_int_eq(r.rc, FOSCTL_EXIT_OK);
	ck_assert_str_eq(r.out, "SOURCE         PROGRAM  DROPS  REASONS      LAST  BLOCKED\n"
				"198.18.0.9/32  edge         7  udp-flood 7     -        -\n");
	result_done(&r);

	/* missing and mistyped fields print as "-" or as they came */
	run("show ddos top", false, &odd, 1, &r);
	ck_assert_int_eq(r.rc, FOSCTL_EXIT_OK);
	ck_assert_str_eq(r.out, "SOURCE        PROGRAM  DROPS  REASONS  LAST  BLOCKED\n"
				"-             -            -  -           -        -\n"
				"192.0.2.1/32  -            0  none      now        -\n");
	result_done(&r);
}
END_TEST

START_TEST(test_ddos_malformed)
{
	const struct {
		const char *line, *reply, *err;
	} cases[] = {
	    {"show ddos", "{\"parameters\": {}}",
	     "fosctl: fos.Show.Ddos: fwd sent a malformed reply\n"},
	    {"show ddos", "{\"parameters\": {\"programs\": {}}}",
	     "fosctl: fos.Show.Ddos: fwd sent a malformed reply\n"},
	    {"show ddos top", "{\"parameters\": {\"sources\": null}}",
	     "fosctl: fos.Show.DdosTop: fwd sent a malformed reply\n"},
	    {"show ddos nosuch",
	     "{\"error\": \"fos.NoSuchProgram\", \"parameters\": {\"message\": \"no program named"
	     " \\\"nosuch\\\"\"}}",
	     "fosctl: no program named \"nosuch\"\n"},
	    {"show ddos xdp",
	     "{\"error\": \"fos.InvalidParameter\", \"parameters\": {\"message\": \"program xdp"
	     " has no DDoS protection\"}}",
	     "fosctl: program xdp has no DDoS protection\n"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct step reply = {{cases[i].reply}};
		struct result r;

		run(cases[i].line, false, &reply, 1, &r);
		ck_assert_msg(r.rc == FOSCTL_EXIT_DAEMON, "case %zu: %d", i, r.rc);
		ck_assert_str_eq(r.out, "");
		ck_assert_str_eq(r.err, cases[i].err);
		result_done(&r);
	}
}
END_TEST

/* Missing, null and mistyped fields print, never crash. */
START_TEST(test_ddos_missing_fields)
{
	const struct step odd = {{"{\"parameters\": {\"programs\": [{}, 5, {\"name\": \"x\","
				  " \"protections\": {\"rateLimiting\": {\"armed\": true,"
				  " \"packetsPerSecond\": null, \"blockDuration\": \"long\"},"
				  " \"tcpFloodProtection\": {\"armed\": true}}, \"drops\":"
				  " {\"rate\": \"many\", \"newReason\": 7}, \"cookies\": 3,"
				  " \"blocked\": null, \"eventsLost\": null}]}}"}};
	struct result r;

	run("show ddos", false, &odd, 1, &r);
	ck_assert_int_eq(r.rc, FOSCTL_EXIT_OK);
	ck_assert_str_eq(r.out, "program - on -:\n"
				"  drops:    -\n"
				"  cookies:  -\n"
				"  blocked:  -\n"
				"\n"
				"program - on -:\n"
				"  drops:    -\n"
				"  cookies:  -\n"
				"  blocked:  -\n"
				"\n"
				"program x on -:\n"
				"  rateLimiting:        armed    block long\n"
				"  tcpFloodProtection:  armed\n"
				"  drops:               newReason 7\n"
				"  cookies:             3\n"
				"  blocked:             -\n");
	result_done(&r);
}
END_TEST

START_TEST(test_set_timed)
{
	const struct step set = {{"{\"parameters\": " SET_TIMED "}"}};
	const struct {
		const char *reply, *out;
	} adds[] = {
	    /* fwd's time left, or the timeout echoed */
	    {"{\"parameters\": {\"name\": \"blocked\", \"cidr\": \"192.0.2.1/32\", \"added\": true,"
	     " \"expires\": 300}}",
	     "added 192.0.2.1/32 to set blocked, expires in 5m0s\n"},
	    {"{\"parameters\": {\"name\": \"blocked\", \"cidr\": \"192.0.2.1/32\", \"added\": true,"
	     " \"timeout\": 5400}}",
	     "added 192.0.2.1/32 to set blocked, expires in 1h30m0s\n"},
	    {"{\"parameters\": {\"name\": \"blocked\", \"cidr\": \"192.0.2.1/32\", \"added\":"
	     " false, \"expires\": 42}}",
	     "192.0.2.1/32 was already in set blocked, expires in 42s\n"},
	    {"{\"parameters\": {\"name\": \"blocked\", \"cidr\": \"192.0.2.1/32\", \"added\":"
	     " true}}",
	     "added 192.0.2.1/32 to set blocked\n"},
	};
	struct result r;

	run("show set blocked", false, &set, 1, &r);
	ck_assert_int_eq(r.rc, FOSCTL_EXIT_OK);
	ck_assert_str_eq(r.out, "CIDR               TYPE     EXPIRES\n"
				"10.0.0.0/8         config         -\n"
				"192.0.2.7/32       dynamic        -\n"
				"192.0.2.8/32       dynamic    4m59s\n"
				"198.18.0.5/32      auto      59m59s\n"
				"2001:db8:1:2::/64  auto          0s\n");
	result_done(&r);

	for (size_t i = 0; i < ARRAY_SIZE(adds); i++) {
		const struct step reply = {{adds[i].reply}};

		run("set add blocked 192.0.2.1 timeout 300", false, &reply, 1, &r);
		ck_assert_int_eq(r.rc, FOSCTL_EXIT_OK);
		ck_assert_str_eq(r.out, adds[i].out);
		result_done(&r);
	}
}
END_TEST

/* Refused before connecting: exit 2, the reason and the usage. */
START_TEST(test_ddos_usage_errors)
{
	const struct {
		const char *line, *err, *usage;
	} cases[] = {
	    {"show ddos top limit 0", "fosctl: limit: \"0\" is not a number 1-10000\n",
	     "  show ddos top [limit N] [program NAME]  "},
	    {"show ddos top limit abc", "fosctl: limit: \"abc\" is not a number 1-10000\n",
	     "  show ddos top [limit N] [program NAME]  "},
	    {"show ddos top limit 10001", "fosctl: limit: \"10001\" is not a number 1-10000\n",
	     "  show ddos top [limit N] [program NAME]  "},
	    {"show ddos top limit -1", "fosctl: limit: \"-1\" is not a number 1-10000\n",
	     "  show ddos top [limit N] [program NAME]  "},
	    {"show ddos top limit", "fosctl: missing N after \"limit\"\n",
	     "  show ddos top [limit N] [program NAME]  "},
	    {"show ddos top frob 1", "fosctl: unknown option \"frob\"\n",
	     "  show ddos top [limit N] [program NAME]  "},
	    {"show ddos top limit 5 l 6", "fosctl: option \"limit\" given twice\n",
	     "  show ddos top [limit N] [program NAME]  "},
	    {"show ddos top program ''", "fosctl: program: an empty name\n",
	     "  show ddos top [limit N] [program NAME]  "},
	    {"set add blocked 192.0.2.1 timeout 0",
	     "fosctl: timeout: \"0\" is not a number of seconds 1-2147483647 or a duration such"
	     " as 5m or 1h30m\n",
	     "  set add NAME CIDR [timeout SECONDS]  "},
	    {"set add blocked 192.0.2.1 timeout -5",
	     "fosctl: timeout: \"-5\" is not a number of seconds 1-2147483647 or a duration such"
	     " as 5m or 1h30m\n",
	     "  set add NAME CIDR [timeout SECONDS]  "},
	    {"set add blocked 192.0.2.1 timeout 2147483648",
	     "fosctl: timeout: \"2147483648\" is not a number of seconds 1-2147483647 or a"
	     " duration such as 5m or 1h30m\n",
	     "  set add NAME CIDR [timeout SECONDS]  "},
	    {"set add blocked 192.0.2.1 timeout 5x",
	     "fosctl: timeout: \"5x\" is not a number of seconds 1-2147483647 or a duration such"
	     " as 5m or 1h30m\n",
	     "  set add NAME CIDR [timeout SECONDS]  "},
	    {"set add blocked 192.0.2.1 timeout 1500ms",
	     "fosctl: timeout: \"1500ms\" is not a whole number of seconds\n",
	     "  set add NAME CIDR [timeout SECONDS]  "},
	    {"set add blocked 192.0.2.1 timeout", "fosctl: missing SECONDS after \"timeout\"\n",
	     "  set add NAME CIDR [timeout SECONDS]  "},
	    {"set add blocked 192.0.2.1 forever 1", "fosctl: unknown option \"forever\"\n",
	     "  set add NAME CIDR [timeout SECONDS]  "},
	    {"set add blocked 192.0.2.1/24 timeout 5m",
	     "fosctl: 192.0.2.1/24: host bits set, the network is 192.0.2.0/24\n",
	     "  set add NAME CIDR [timeout SECONDS]  "},
	    {"show ddos a b", "fosctl: unexpected argument \"b\" for \"show ddos\"\n",
	     "  show ddos [PROGRAM]  "},
	    {"set del blocked 192.0.2.1 timeout 5",
	     "fosctl: unexpected argument \"timeout\" for \"set del\"\n", "  set del NAME CIDR  "},
	};
	struct result r;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *nl;

		run(cases[i].line, false, NULL, 0, &r);
		ck_assert_msg(r.rc == FOSCTL_EXIT_USAGE, "%s: %d", cases[i].line, r.rc);
		ck_assert_msg(!r.connected, "%s: connected", cases[i].line);
		ck_assert_str_eq(r.out, "");
		nl = strchr(r.err, '\n');
		ck_assert_ptr_nonnull(nl);
		ck_assert_msg(strncmp(r.err, cases[i].err, (size_t)(nl - r.err) + 1) == 0 &&
				  strlen(cases[i].err) == (size_t)(nl - r.err) + 1,
			      "%s:\n%s", cases[i].line, r.err);
		ck_assert_msg(strstr(r.err, "\nusage:\n") && strstr(r.err, cases[i].usage),
			      "%s:\n%s", cases[i].line, r.err);
		result_done(&r);
	}
}
END_TEST

START_TEST(test_ddos_usage_text)
{
	struct result r;

	run("show ddos top limit 0", false, NULL, 0, &r);
	ck_assert_str_eq(r.err,
			 "fosctl: limit: \"0\" is not a number 1-10000\n"
			 "usage:\n"
			 "  show ddos top [limit N] [program NAME]  The sources with the most"
			 " DDoS drops\n"
			 "options:\n"
			 "  limit N       at most N sources, those with the most drops (10)\n"
			 "  program NAME  only the sources of this program\n");
	result_done(&r);

	run("set add blocked 192.0.2.1 timeout 0", false, NULL, 0, &r);
	ck_assert_ptr_nonnull(strstr(r.err, "usage:\n"
					    "  set add NAME CIDR [timeout SECONDS]  Add a run-time"
					    " entry to an IP set, for a time or until removed\n"
					    "options:\n"
					    "  timeout SECONDS  remove the entry again after this"
					    " long\n"));
	result_done(&r);
}
END_TEST

START_TEST(test_ddos_complete)
{
	const struct {
		const char *line, *partial, *words;
		unsigned kinds;
	} cases[] = {
	    {"show", "d", "ddos", 0},
	    /* after "show ddos": the word "top" or a program name */
	    {"show ddos", "", "top", 1U << FOSCTL_ARG_PROGRAM},
	    {"show ddos", "t", "top", 1U << FOSCTL_ARG_PROGRAM},
	    {"show ddos ddos-protection", "", "", 0},
	    {"show ddos top", "", "limit program", 0},
	    {"show ddos top", "p", "program", 0},
	    {"show ddos top limit 5", "", "program", 0},
	    {"show ddos top program", "", "", 1U << FOSCTL_ARG_PROGRAM},
	    {"show ddos top limit", "", "", 1U << FOSCTL_ARG_TOP_LIMIT},
	    {"show ddos top program edge limit 5", "", "", 0},
	    {"set add blocked 192.0.2.1", "", "timeout", 0},
	    {"set add blocked 192.0.2.1 timeout", "", "", 1U << FOSCTL_ARG_TIMEOUT},
	    {"set del blocked 192.0.2.1", "", "", 0},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		unsigned kinds;
		_cleanup_free_ char *words = complete_at(cases[i].line, cases[i].partial, &kinds);

		ck_assert_msg(strcmp(words, cases[i].words) == 0, "\"%s\" + \"%s\": \"%s\"",
			      cases[i].line, cases[i].partial, words);
		ck_assert_msg(kinds == cases[i].kinds, "\"%s\": kinds %x", cases[i].line, kinds);
	}
}
END_TEST

START_TEST(test_ddos_help_context)
{
	_cleanup_free_ char *ddos = help_at("show ddos ");
	_cleanup_free_ char *top = help_at("show ddos top ");
	_cleanup_free_ char *limit = help_at("show ddos top limit ");
	_cleanup_free_ char *rest = help_at("show ddos top limit 5 ");
	_cleanup_free_ char *prog = help_at("show ddos edge ");
	_cleanup_free_ char *add = help_at("set add blocked 10.0.0.0/8 ");
	_cleanup_free_ char *timeout = help_at("set add blocked 10.0.0.0/8 timeout ");

	ck_assert_str_eq(ddos, "  top [limit N] [program NAME]  The sources with the most DDoS"
			       " drops\n"
			       "  PROGRAM                       a program name\n"
			       "  <cr>                          run the command\n");
	ck_assert_str_eq(top, "  limit N       at most N sources, those with the most drops (10)\n"
			      "  program NAME  only the sources of this program\n"
			      "  <cr>          run the command\n");
	ck_assert_str_eq(limit, "  N  a number of sources, 1-10000\n");
	ck_assert_str_eq(rest, "  program NAME  only the sources of this program\n"
			       "  <cr>          run the command\n");
	ck_assert_str_eq(prog, "  <cr>  run the command\n");
	ck_assert_str_eq(add, "  timeout SECONDS  remove the entry again after this long\n"
			      "  <cr>             run the command\n");
	ck_assert_str_eq(timeout,
			 "  SECONDS  seconds 1-2147483647, or a duration: 90, 5m, 1h30m, 1d\n");
}
END_TEST

static Suite *fosctl_suite(void)
{
	Suite *s = suite_create("fosctl");
	TCase *tc;

	tc = tcase_create("table");
	tcase_add_test(tc, test_table_consistent);
	tcase_add_test(tc, test_kind_values_in_help);
	suite_add_tcase(s, tc);

	tc = tcase_create("split");
	tcase_add_test(tc, test_split);
	suite_add_tcase(s, tc);

	tc = tcase_create("match");
	tcase_add_test(tc, test_match_exact_and_prefix);
	tcase_add_test(tc, test_match_prefix_by_arity);
	tcase_add_test(tc, test_match_exact_word_wins);
	tcase_add_test(tc, test_match_errors);
	tcase_add_test(tc, test_match_shell_only);
	tcase_add_test(tc, test_explain);
	suite_add_tcase(s, tc);

	tc = tcase_create("complete");
	tcase_add_test(tc, test_complete_words);
	tcase_add_test(tc, test_help_context);
	suite_add_tcase(s, tc);

	tc = tcase_create("build");
	tcase_add_test(tc, test_build_set_entry);
	tcase_add_test(tc, test_build_file_absolute);
	tcase_add_test(tc, test_build_optional);
	suite_add_tcase(s, tc);

	tc = tcase_create("output");
	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_value_format);
	tcase_add_test(tc, test_duration);
	tcase_add_test(tc, test_time);
	tcase_add_test(tc, test_rule_match_format);
	tcase_add_test(tc, test_print_programs);
	tcase_add_test(tc, test_print_rules);
	tcase_add_test(tc, test_print_status);
	tcase_add_test(tc, test_print_sets_and_maps);
	tcase_add_test(tc, test_print_rules_state);
	tcase_add_test(tc, test_print_programs_tc);
	suite_add_tcase(s, tc);

	tc = tcase_create("conntrack");
	tcase_add_test(tc, test_ct_match);
	tcase_add_test(tc, test_ct_complete);
	tcase_add_test(tc, test_ct_help_context);
	tcase_add_test(tc, test_ct_requests);
	tcase_add_test(tc, test_ct_summary_and_clear_requests);
	tcase_add_test(tc, test_ct_show_stream);
	tcase_add_test(tc, test_ct_show_json);
	tcase_add_test(tc, test_ct_summary);
	tcase_add_test(tc, test_ct_daemon_errors);
	tcase_add_test(tc, test_ct_malformed);
	tcase_add_test(tc, test_ct_missing_fields);
	tcase_add_test(tc, test_ct_usage_errors);
	tcase_add_test(tc, test_ct_usage_text);
	suite_add_tcase(s, tc);

	tc = tcase_create("ddos");
	tcase_add_test(tc, test_ddos_match);
	tcase_add_test(tc, test_ddos_requests);
	tcase_add_test(tc, test_ddos_show);
	tcase_add_test(tc, test_ddos_json);
	tcase_add_test(tc, test_ddos_top);
	tcase_add_test(tc, test_ddos_malformed);
	tcase_add_test(tc, test_ddos_missing_fields);
	tcase_add_test(tc, test_set_timed);
	tcase_add_test(tc, test_ddos_usage_errors);
	tcase_add_test(tc, test_ddos_usage_text);
	tcase_add_test(tc, test_ddos_complete);
	tcase_add_test(tc, test_ddos_help_context);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	fosctl_commands_init();
	sr = srunner_create(fosctl_suite());

	/* a fake fwd that hangs up must fail a test, not kill it */
	signal(SIGPIPE, SIG_IGN);

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
