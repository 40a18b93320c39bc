// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench-nat-fill: benchmark mappings written into the NAT table fwd pinned.
 * For bench/bench_nat_gc.sh.
 *
 *   bench-nat-fill PIN RULE IFINDEX EXTADDR COUNT [AGE_S [FIRST]]
 *       writes COUNT endpoint-independent mappings of natConfig id RULE
 *       leaving by IFINDEX into PIN/nat/fos_nat (PIN is fwd's pin
 *       directory), both entries of each, with bpf_map_update_batch:
 *       mappings FIRST (default 0) to FIRST + COUNT - 1; mapping i is TCP
 *       for even i, UDP for odd, from 10.0.0.0 + i/2 + 1 port 40000 to
 *       EXTADDR (IPv4) port 1024 + (i/2) % 64512, the next address after
 *       each 64512 ports. All were last seen AGE_S seconds ago (default 0:
 *       now); the TCP ones established if AGE_S is 0, else not (so that
 *       their transitory timeout applies). They are counted as made in
 *       fos_nat_count, as if the datapath had made them. Prints "filled N
 *       ms T".
 *   bench-nat-fill --removed PIN RULE
 *       prints the count of RULE's mappings fwd has removed (fos_nat_count).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "cleanup.h"
#include "fos/nat.h"
#include "log.h"

#define BATCH 4096U
#define PORTS (65536U - 1024U)

/* the clock of mappings (bpf_ktime_get_coarse_ns) */
static uint64_t nat_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void v4mapped(uint8_t a[16], uint32_t host_order)
{
	uint32_t be = htonl(host_order);

	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	memcpy(a + 12, &be, 4);
}

/* the OUT entry (keys[2j], vals[2j]) and IN entry (2j + 1) of mapping i */
static void mapping(uint32_t i, uint32_t rule, uint32_t ifindex, uint32_t ext, uint64_t last,
		    bool old, struct fos_nat_key *keys, struct fos_nat_value *vals)
{
	uint32_t n = i >> 1;
	uint8_t proto = (i & 1) ? IPPROTO_UDP : IPPROTO_TCP;
	struct fos_nat_key *ok = &keys[0], *ik = &keys[1];
	struct fos_nat_value *ov = &vals[0], *iv = &vals[1];

	memset(ok, 0, 2 * sizeof(*ok));
	memset(ov, 0, 2 * sizeof(*ov));
	v4mapped(ok->addr, 0x0a000000U + n + 1);
	ok->port = 40000;
	ok->proto = proto;
	ok->dir = FOS_NAT_OUT;
	v4mapped(ik->addr, ext + n / PORTS);
	ik->port = (uint16_t)(1024 + n % PORTS);
	ik->proto = proto;
	ik->dir = FOS_NAT_IN;

	memcpy(ov->addr, ik->addr, 16);
	ov->port = ik->port;
	memcpy(iv->addr, ok->addr, 16);
	iv->port = ok->port;
	for (int d = 0; d < 2; d++) {
		vals[d].ifindex = ifindex;
		vals[d].rule = (uint16_t)rule;
		vals[d].last_ns = last;
		if (proto == IPPROTO_TCP && !old)
			vals[d].est_ns = last;
	}
	v4mapped(ov->raddr, 0xc6336401U); /* 198.51.100.1:53 */
	ov->rport = 53;
}

static int parse_u32(const char *s, uint32_t max, uint32_t *ret)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	_cleanup_free_ struct fos_nat_key *keys = NULL;
	_cleanup_free_ struct fos_nat_value *vals = NULL;
	_cleanup_close_ int fd = -1, cnt = -1;
	uint32_t rule, ifindex, count, age = 0, first = 0, ci;
	struct in_addr ext;
	char path[4096];
	uint64_t last, made;
	double t0;

	if (argc == 4 && strcmp(argv[1], "--removed") == 0) {
		uint64_t removed;

		if (parse_u32(argv[3], FOS_NAT_RULES_MAX - 1, &rule) < 0 || rule == 0) {
			fprintf(stderr, "Usage: bench-nat-fill --removed PIN RULE\n");
			return 2;
		}
		snprintf(path, sizeof(path), "%s/nat/fos_nat_count", argv[2]);
		cnt = bpf_obj_get(path);
		ci = FOS_NAT_COUNT_REMOVED(rule);
		if (cnt < 0 || bpf_map_lookup_elem(cnt, &ci, &removed) < 0)
			return log_error_errno(-errno, "cannot read %s", path), 1;
		printf("%" PRIu64 "\n", removed);
		return 0;
	}
	if (argc < 6 || argc > 8 || parse_u32(argv[2], FOS_NAT_RULES_MAX - 1, &rule) < 0 ||
	    rule == 0 || parse_u32(argv[3], UINT32_MAX, &ifindex) < 0 ||
	    inet_pton(AF_INET, argv[4], &ext) != 1 ||
	    parse_u32(argv[5], FOS_NAT_MAP_MAX / 2, &count) < 0 ||
	    (argc >= 7 && parse_u32(argv[6], 365U * 86400U, &age) < 0) ||
	    (argc == 8 && parse_u32(argv[7], FOS_NAT_MAP_MAX / 2, &first) < 0)) {
		fprintf(stderr,
			"Usage: bench-nat-fill PIN RULE IFINDEX EXTADDR COUNT [AGE_S [FIRST]]\n"
			"       bench-nat-fill --removed PIN RULE\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/nat/fos_nat", argv[1]);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return log_error_errno(-errno, "cannot open %s", path), 1;
	snprintf(path, sizeof(path), "%s/nat/fos_nat_count", argv[1]);
	cnt = bpf_obj_get(path);
	if (cnt < 0)
		return log_error_errno(-errno, "cannot open %s", path), 1;
	keys = calloc(2 * BATCH, sizeof(*keys));
	vals = calloc(2 * BATCH, sizeof(*vals));
	if (!keys || !vals)
		return log_error_errno(-ENOMEM, "out of memory"), 1;
	last = nat_now_ns();
	if (last <= (uint64_t)age * 1000000000ULL)
		return log_error_errno(-ERANGE,
				       "the clock is at %" PRIu64 " s: no mapping is %u s old",
				       (uint64_t)(last / 1000000000ULL), age),
		       1;
	last -= (uint64_t)age * 1000000000ULL;
	t0 = now_ms();
	for (uint32_t i = 0; i < count;) {
		uint32_t n = 0, entries;

		for (; n < BATCH && i < count; n++, i++)
			mapping(first + i, rule, ifindex, ntohl(ext.s_addr), last, age > 0,
				&keys[2 * n], &vals[2 * n]);
		entries = 2 * n;
		if (bpf_map_update_batch(fd, keys, vals, &entries, NULL) < 0)
			return log_error_errno(-errno, "cannot write mappings (%u of %u written)",
					       i - n + entries / 2, count),
			       1;
	}
	ci = FOS_NAT_COUNT_CREATED(rule);
	if (bpf_map_lookup_elem(cnt, &ci, &made) < 0)
		return log_error_errno(-errno, "cannot read fos_nat_count"), 1;
	made += count;
	if (bpf_map_update_elem(cnt, &ci, &made, BPF_ANY) < 0)
		return log_error_errno(-errno, "cannot write fos_nat_count"), 1;
	printf("filled %u ms %.1f\n", count, now_ms() - t0);
	return 0;
}
