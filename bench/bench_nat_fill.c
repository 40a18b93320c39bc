// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench-nat-fill: benchmark mappings written into the NAT table fwd pinned.
 * For bench/bench_nat_gc.sh.
 *
 *   bench-nat-fill PIN RULE IFINDEX EXTADDR COUNT [AGE_S [FIRST]]
 *       writes COUNT endpoint-independent mappings of natConfig id RULE
 *       leaving by IFINDEX into the table fwd pinned in PIN/nat/ (PIN is
 *       fwd's pin directory), through its memory as fwd writes it:
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
#include "nat_table.h"

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

/* mapping i */
static void mapping(uint32_t i, uint32_t rule, uint32_t ifindex, uint32_t ext, uint64_t last,
		    bool old, struct fos_nat_map *m)
{
	uint32_t n = i >> 1;
	uint8_t proto = (i & 1) ? IPPROTO_UDP : IPPROTO_TCP;

	memset(m, 0, sizeof(*m));
	v4mapped(m->iaddr, 0x0a000000U + n + 1);
	m->iport = 40000;
	m->proto = proto;
	v4mapped(m->eaddr, ext + n / PORTS);
	m->eport = (uint16_t)(1024 + n % PORTS);
	m->ifindex = ifindex;
	m->rule = (uint8_t)rule;
	m->last_ns = last;
	if (proto == IPPROTO_TCP && !old)
		m->est_ns = last;
	v4mapped(m->raddr, 0xc6336401U); /* 198.51.100.1:53 */
	m->rport = 53;
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
	struct fos_nat_tab tab;
	_cleanup_close_ int cnt = -1;
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
	    parse_u32(argv[5], FOS_NAT_MAP_MAX, &count) < 0 ||
	    (argc >= 7 && parse_u32(argv[6], 365U * 86400U, &age) < 0) ||
	    (argc == 8 && parse_u32(argv[7], FOS_NAT_MAP_MAX, &first) < 0)) {
		fprintf(stderr,
			"Usage: bench-nat-fill PIN RULE IFINDEX EXTADDR COUNT [AGE_S [FIRST]]\n"
			"       bench-nat-fill --removed PIN RULE\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/nat", argv[1]);
	if (fos_nat_tab_open_pinned(&tab, path) < 0)
		return log_error_errno(-errno, "cannot map the NAT table pinned in %s", path), 1;
	snprintf(path, sizeof(path), "%s/nat/fos_nat_count", argv[1]);
	cnt = bpf_obj_get(path);
	if (cnt < 0)
		return log_error_errno(-errno, "cannot open %s", path), 1;
	last = nat_now_ns();
	if (last <= (uint64_t)age * 1000000000ULL)
		return log_error_errno(-ERANGE,
				       "the clock is at %" PRIu64 " s: no mapping is %u s old",
				       (uint64_t)(last / 1000000000ULL), age),
		       1;
	last -= (uint64_t)age * 1000000000ULL;
	t0 = now_ms();
	for (uint32_t i = 0; i < count; i++) {
		struct fos_nat_map m;
		int r;

		mapping(first + i, rule, ifindex, ntohl(ext.s_addr), last, age > 0, &m);
		r = fos_nat_tab_insert(&tab, &m, NULL);
		if (r < 0)
			return log_error_errno(r, "cannot write mappings (%u of %u written)", i,
					       count),
			       1;
	}
	fos_nat_tab_unmap(&tab);
	ci = FOS_NAT_COUNT_CREATED(rule);
	if (bpf_map_lookup_elem(cnt, &ci, &made) < 0)
		return log_error_errno(-errno, "cannot read fos_nat_count"), 1;
	made += count;
	if (bpf_map_update_elem(cnt, &ci, &made, BPF_ANY) < 0)
		return log_error_errno(-errno, "cannot write fos_nat_count"), 1;
	printf("filled %u ms %.1f\n", count, now_ms() - t0);
	return 0;
}
