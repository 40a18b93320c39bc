// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench-ct-fill: benchmark flows into the connection table fwd pinned, and
 * a watch on what its collector removes. For bench/bench_ct_gc.sh.
 *
 *   bench-ct-fill [--rewrite] PIN COUNT EXPIRED_FRACTION
 *       write flows 0 .. COUNT-1 of bench/ct_fill.h into PIN/global/fos_ct
 *       (PIN is fwd's pin directory) with bpf_map_update_batch, the given
 *       fraction of them (0 to 1, spread evenly) expired: last seen their
 *       timeout (fos_ct_cfg, TCP established) plus a minute ago; the others
 *       last seen now. The entries are counted as inserted in fos_ct_count,
 *       as if the datapath had made them, unless --rewrite says they are
 *       already there (their values are replaced). Prints
 *       "filled N expired E ms T".
 *   bench-ct-fill --counts PIN
 *       prints "inserted I removed R entries E" from fos_ct_count.
 *   bench-ct-fill --wait-removed PIN TARGET [TIMEOUT_S]
 *       polls fos_ct_count's removed counter every millisecond until it
 *       reaches TARGET; prints "first_ms F done_ms D removed R": the times
 *       from the start to the counter's first move and to TARGET. Exits 1
 *       on the timeout (default 120 s).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cleanup.h"
#include "ct_fill.h"
#include "fos/abi.h"
#include "log.h"

#define EXIT_SKIP 77
#define NS	  1000000000ULL

static int open_pinned(const char *pin, const char *name)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/global/%s", pin, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return log_error_errno(-errno, "cannot open %s", path);
	return fd;
}

static int read_counts(int fd, uint64_t *ret_inserted, uint64_t *ret_removed)
{
	uint32_t k = FOS_CT_COUNT_INSERTED;

	if (bpf_map_lookup_elem(fd, &k, ret_inserted) < 0)
		return -errno;
	k = FOS_CT_COUNT_REMOVED;
	if (bpf_map_lookup_elem(fd, &k, ret_removed) < 0)
		return -errno;
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int do_fill(const char *pin, uint32_t count, double fraction, bool rewrite)
{
	_cleanup_close_ int ct = -1, cfg = -1, cnt = -1;
	struct fos_ct_cfg c;
	uint64_t now, expired_ns, expired = 0;
	uint32_t zero = 0;
	double t0;
	int64_t n;
	int r;

	ct = open_pinned(pin, "fos_ct");
	cfg = open_pinned(pin, "fos_ct_cfg");
	cnt = open_pinned(pin, "fos_ct_count");
	if (ct < 0 || cfg < 0 || cnt < 0)
		return -ENOENT;
	if (bpf_map_lookup_elem(cfg, &zero, &c) < 0)
		return log_error_errno(-errno, "cannot read fos_ct_cfg");
	now = bench_boottime_ns();
	if (fraction > 0 && now <= c.timeout_ns[FOS_CTT_TCP_EST] + 60 * NS) {
		printf("bench-ct-fill: SKIP: the machine has been up %llu s, less than the TCP "
		       "timeout plus a minute (%llu s): no entry can be that old\n",
		       (unsigned long long)(now / NS),
		       (unsigned long long)(c.timeout_ns[FOS_CTT_TCP_EST] / NS + 60));
		return EXIT_SKIP;
	}
	expired_ns = fraction > 0 ? now - c.timeout_ns[FOS_CTT_TCP_EST] - 60 * NS : now;
	t0 = now_ms();
	n = bench_ct_fill(ct, count, fraction, now, expired_ns);
	if (n < 0)
		return log_error_errno((int)n, "cannot write %u flows", count);
	if (!rewrite) {
		r = bench_ct_count_add(cnt, FOS_CT_COUNT_INSERTED, (uint64_t)n);
		if (r < 0)
			return log_error_errno(r, "cannot count the flows in fos_ct_count");
	}
	for (uint32_t i = 0; i < count; i++)
		expired += bench_ct_fill_expired(i, fraction);
	printf("filled %lld expired %llu ms %.1f\n", (long long)n, (unsigned long long)expired,
	       now_ms() - t0);
	return 0;
}

static int do_counts(const char *pin)
{
	_cleanup_close_ int cnt = open_pinned(pin, "fos_ct_count");
	uint64_t ins, rem;
	int r;

	if (cnt < 0)
		return cnt;
	r = read_counts(cnt, &ins, &rem);
	if (r < 0)
		return log_error_errno(r, "cannot read fos_ct_count");
	printf("inserted %llu removed %llu entries %llu\n", (unsigned long long)ins,
	       (unsigned long long)rem, (unsigned long long)(ins > rem ? ins - rem : 0));
	return 0;
}

static int do_wait(const char *pin, uint64_t target, double timeout_s)
{
	_cleanup_close_ int cnt = open_pinned(pin, "fos_ct_count");
	struct timespec ms = {.tv_nsec = 1000 * 1000};
	double t0 = now_ms(), first = -1;
	uint64_t ins, rem, rem0 = 0;
	bool have0 = false;
	int r;

	if (cnt < 0)
		return cnt;
	for (;;) {
		double t = now_ms() - t0;

		r = read_counts(cnt, &ins, &rem);
		if (r < 0)
			return log_error_errno(r, "cannot read fos_ct_count");
		if (!have0) {
			rem0 = rem;
			have0 = true;
		}
		if (first < 0 && rem != rem0)
			first = t;
		if (rem >= target) {
			printf("first_ms %.1f done_ms %.1f removed %llu\n", first < 0 ? t : first,
			       t, (unsigned long long)rem);
			return 0;
		}
		if (t > timeout_s * 1e3)
			return log_error_errno(
			    -ETIMEDOUT, "the removed counter is at %llu after %.0f s, not %llu",
			    (unsigned long long)rem, timeout_s, (unsigned long long)target);
		nanosleep(&ms, NULL);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: bench-ct-fill [--rewrite] PIN COUNT EXPIRED_FRACTION\n"
		   "       bench-ct-fill --counts PIN\n"
		   "       bench-ct-fill --wait-removed PIN TARGET [TIMEOUT_S]\n");
}

static int parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int parse_double(const char *s, double min, double max, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_REWRITE = 256, OPT_COUNTS, OPT_WAIT };
	static const struct option opts[] = {
	    {"rewrite", no_argument, NULL, OPT_REWRITE},
	    {"counts", no_argument, NULL, OPT_COUNTS},
	    {"wait-removed", no_argument, NULL, OPT_WAIT},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	bool rewrite = false, counts = false, wait = false;
	double fraction = 0, timeout = 120;
	uint64_t count = 0, target = 0;
	int c, r, nargs;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_REWRITE:
			rewrite = true;
			break;
		case OPT_COUNTS:
			counts = true;
			break;
		case OPT_WAIT:
			wait = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	nargs = argc - optind;
	if (counts + wait + (!counts && !wait) != 1 || (counts && nargs != 1) ||
	    (wait && (nargs < 2 || nargs > 3)) || (!counts && !wait && nargs != 3)) {
		usage(stderr);
		return 2;
	}
	if (geteuid() != 0) {
		printf("bench-ct-fill: SKIP: needs root (pinned BPF maps)\n");
		return EXIT_SKIP;
	}
	if (counts)
		return do_counts(argv[optind]) < 0 ? 1 : 0;
	if (wait) {
		if (parse_u64(argv[optind + 1], UINT64_MAX, &target) < 0 ||
		    (nargs == 3 && parse_double(argv[optind + 2], 0.001, 3600, &timeout) < 0)) {
			usage(stderr);
			return 2;
		}
		return do_wait(argv[optind], target, timeout) < 0 ? 1 : 0;
	}
	if (parse_u64(argv[optind + 1], BENCH_CT_FILL_MAX, &count) < 0 ||
	    parse_double(argv[optind + 2], 0, 1, &fraction) < 0) {
		usage(stderr);
		return 2;
	}
	r = do_fill(argv[optind], (uint32_t)count, fraction, rewrite);
	if (r == EXIT_SKIP)
		return EXIT_SKIP;
	return r < 0 ? 1 : 0;
}
