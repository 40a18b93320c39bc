// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench-rtt: latency of fwd's control socket.
 *
 *   bench-rtt -s SOCK ipc [-n N]          N fos.GetInfo calls over one
 *                                         connection (after 10 unmeasured ones)
 *   bench-rtt exec [-n N] [--label L] -- CMD [ARG..]
 *                                         run CMD N times (fork, exec, wait;
 *                                         its output to /dev/null); every run
 *                                         must exit 0; L names it in the output
 *   bench-rtt -s SOCK wait [--since T] [--timeout S]
 *                                         poll every millisecond until fwd
 *                                         answers fos.GetInfo; print the time
 *                                         since T (seconds since the epoch, as
 *                                         bash's $EPOCHREALTIME) or since start
 *
 * ipc and exec print "NAME: n N median M us p99 P us min A us max B us"
 * (p99 by nearest rank);
 * wait prints "ready_ms MS".
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "ipc.h"
#include "log.h"

#define WARMUP 10

static void json_putp(json_object **o)
{
	if (*o)
		json_object_put(*o);
	*o = NULL;
}

static double now_us(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *name, double *v, size_t n)
{
	size_t p99 = (n * 99 + 99) / 100; /* nearest rank */
	double med;

	qsort(v, n, sizeof(*v), cmp_double);
	med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	printf("%s: n %zu median %.1f us p99 %.1f us min %.1f us max %.1f us\n", name, n, med,
	       v[p99 - 1], v[0], v[n - 1]);
}

/* One fos.GetInfo call; a reply with "error" is an error. */
static int get_info(int fd)
{
	_cleanup_(json_putp) json_object *reply = NULL;
	json_object *v;
	int r;

	r = fos_ipc_call(fd, "fos.GetInfo", NULL, &reply);
	if (r < 0)
		return r;
	if (json_object_object_get_ex(reply, "error", &v))
		return -EPROTO;
	return 0;
}

static int do_ipc(const char *sock, size_t n)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ double *v = NULL;
	int r;

	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	fd = fos_ipc_connect(sock);
	if (fd < 0)
		return log_error_errno(fd, "cannot connect to %s", sock);
	for (size_t i = 0; i < WARMUP + n; i++) {
		double t0 = now_us(CLOCK_MONOTONIC);

		r = get_info(fd);
		if (r < 0)
			return log_error_errno(r, "fos.GetInfo");
		if (i >= WARMUP)
			v[i - WARMUP] = now_us(CLOCK_MONOTONIC) - t0;
	}
	report("ipc fos.GetInfo, one connection", v, n);
	return 0;
}

static int run_once(char **argv, double *ret_us)
{
	double t0 = now_us(CLOCK_MONOTONIC);
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	*ret_us = now_us(CLOCK_MONOTONIC) - t0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -ECHILD;
	return 0;
}

static int do_exec(char **argv, size_t n, const char *label)
{
	_cleanup_free_ double *v = NULL;
	int r;

	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r = run_once(argv, &v[i]);
		if (r < 0)
			return log_error_errno(r, "run %zu of %s failed", i, argv[0]);
	}
	report(label ? label : argv[0], v, n);
	return 0;
}

static int do_wait(const char *sock, double since_us, double timeout_s)
{
	double start = now_us(CLOCK_REALTIME);
	double t0 = since_us > 0 ? since_us : start;
	struct timespec ms = {.tv_nsec = 1000 * 1000};

	for (;;) {
		_cleanup_close_ int fd = fos_ipc_connect(sock);

		if (fd >= 0 && get_info(fd) == 0)
			break;
		if (now_us(CLOCK_REALTIME) - start > timeout_s * 1e6)
			return log_error_errno(-ETIMEDOUT, "%s did not answer within %.0f s", sock,
					       timeout_s);
		nanosleep(&ms, NULL);
	}
	printf("ready_ms %.1f\n", (now_us(CLOCK_REALTIME) - t0) / 1e3);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: bench-rtt -s SOCK ipc [-n N]\n"
		   "       bench-rtt exec [-n N] [--label L] -- CMD [ARG...]\n"
		   "       bench-rtt -s SOCK wait [--since EPOCH_SECONDS] [--timeout S]\n");
}

int main(int argc, char **argv)
{
	enum { OPT_SINCE = 256, OPT_TIMEOUT, OPT_LABEL };
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"count", required_argument, NULL, 'n'},
	    {"since", required_argument, NULL, OPT_SINCE},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"label", required_argument, NULL, OPT_LABEL},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	const char *sock = NULL, *label = NULL, *mode;
	unsigned long n = 0;
	double since_us = 0, timeout_s = 60;
	char *end;
	int c, r;

	/* a daemon that goes away must be an error, not a signal */
	signal(SIGPIPE, SIG_IGN);

	/* options may follow the mode word, up to "--" */
	while ((c = getopt_long(argc, argv, "s:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'n':
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || n == 0 || n > 10000000) {
				usage(stderr);
				return 2;
			}
			break;
		case OPT_SINCE:
		case OPT_TIMEOUT:
			errno = 0;
			*(c == OPT_SINCE ? &since_us : &timeout_s) = strtod(optarg, &end);
			if (errno || end == optarg || *end) {
				usage(stderr);
				return 2;
			}
			break;
		case OPT_LABEL:
			label = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	mode = argv[optind++];
	if (strcmp(mode, "exec") == 0) {
		if (optind >= argc) {
			usage(stderr);
			return 2;
		}
		r = do_exec(argv + optind, n ? n : 200, label);
	} else if (!sock || optind != argc) {
		usage(stderr);
		return 2;
	} else if (strcmp(mode, "ipc") == 0) {
		r = do_ipc(sock, n ? n : 1000);
	} else if (strcmp(mode, "wait") == 0) {
		r = do_wait(sock, since_us * 1e6, timeout_s);
	} else {
		usage(stderr);
		return 2;
	}
	return r < 0 ? 1 : 0;
}
