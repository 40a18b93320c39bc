/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The main() the packet tests share: skip (77) without root or where loading
 * the program is not permitted, fail where it cannot load otherwise, count
 * the CPUs (for the per-CPU counters), then run the suite.
 */
#ifndef FOS_PKT_MAIN_H
#define FOS_PKT_MAIN_H

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#define PKT_EXIT_SKIP 77

/* libbpf's messages but its debug ones */
static int pkt_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/*
 * test: the test's name for the messages; what: the program the probe loads;
 * probe: loads it once and unloads it, 0 or a negative errno; *n_cpus gets
 * the possible CPUs.
 */
static inline int pkt_test_main(const char *test, const char *what, int (*probe)(void),
				Suite *(*suite)(void), int *n_cpus)
{
	SRunner *sr;
	int r, failed;

	if (geteuid() != 0) {
		printf("SKIP: %s needs root to load BPF programs and run them with "
		       "BPF_PROG_TEST_RUN\n",
		       test);
		return PKT_EXIT_SKIP;
	}
	libbpf_set_print(pkt_libbpf_print);
	r = probe();
	if (r == -EPERM) {
		printf("SKIP: loading %s is not permitted here (%s)\n", what, strerror(-r));
		return PKT_EXIT_SKIP;
	}
	if (r < 0) {
		fprintf(stderr, "loading %s failed: %s\n", what, strerror(-r));
		return 1;
	}
	*n_cpus = libbpf_num_possible_cpus();
	if (*n_cpus <= 0) {
		fprintf(stderr, "cannot count possible CPUs: %s\n", strerror(-*n_cpus));
		return 1;
	}
	sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

#endif /* FOS_PKT_MAIN_H */
