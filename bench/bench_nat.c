// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench-nat: what NAT costs per packet and per mapping, through
 * BPF_PROG_TEST_RUN, and what a mapping occupies in the kernel.
 *
 * One NAT object (bpf/nat.bpf.c, unpinned) holds one natConfig as fwd
 * writes it: masquerade of 10.0.0.0/8 coming in by ifindex 77, out by lo
 * (test runs need an interface that exists) as 203.0.113.1, endpoint
 * independent, its table sized for maxConnections = the mappings made here
 * (as fwd sizes it). fos_tc_bench_wrap (bpf/tc_bench.bpf.c) gives every run
 * of a 60-byte UDP frame 10.0.0.0:10000 -> 198.51.100.1:53 another source,
 * then tail-calls fos_nat_out, which translates it:
 *
 *   mapped, 1 flow        the same mapping every packet (warm)
 *   mapped, FLOWS flows   the FLOWS mappings in turn
 *   new mapping           a new internal address every packet: a mapping
 *                         made (source port kept: free on the external
 *                         address), its record and two index buckets
 *   new, port taken       the same source port from a new address every
 *                         packet once it is taken: another port probed and
 *                         claimed
 *
 * The wrapper's own cost (rewrite + tail call into fos_tc_bench_ok) is
 * subtracted: net = raw - wrapper. The new-mapping cases run INSERTS
 * packets per run and the table is emptied between runs, so each run
 * starts from the same state. Every case checks its verdict and that
 * fos_nat_stats moved by the packets it ran (translations, mappings
 * made).
 *
 * Memory: the kernel's own account of the table's five maps (memlock in
 * their fdinfo), which fwd makes whole for maxConnections and some to
 * spare, per mapping of maxConnections; and the same after FLOWS mappings
 * were made (nothing is allocated per mapping).
 *
 *   bench-nat [-n RUNS] [-r REPEAT] [-i INSERTS] [-f FLOWS] [-c CPU]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fos/nat.h"
#include "csum.h"
#include "median.h"
#include "nat.skel.h"
#include "nat_table.h"
#include "tc_bench.skel.h"

#define EXT_IF	  1  /* lo */
#define INT_IF	  77 /* compared only */
#define RULE	  1
#define SADDR	  0x0a000000U /* 10.0.0.0, host order */
#define SPORT	  10000U
#define DADDR	  "198.51.100.1"
#define FRAME_LEN 60
#define MAX_RUNS  101
#define NEW_BASE  0x0a800000U /* 10.128.0.0: the new mappings' sources */

struct bench {
	struct fos_nat *nat;
	struct fos_nat_tab tab;
	struct fos_tc_bench *tcb;
	uint8_t frame[FRAME_LEN];
	int n_cpus;
	uint32_t table, maxconn;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* 60 bytes: Ethernet, IPv4, UDP (checksum 0) SADDR:SPORT -> DADDR:53 */
static void build_frame(uint8_t *f)
{
	uint8_t *ip = f + 14, *udp = ip + 20;
	struct in_addr d;

	memset(f, 0, FRAME_LEN);
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	put16(f + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, FRAME_LEN - 14);
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	put32(ip + 12, SADDR);
	inet_pton(AF_INET, DADDR, &d);
	memcpy(ip + 16, &d, 4);
	put16(ip + 10, bench_csum(ip, 20, 0));
	put16(udp, SPORT);
	put16(udp + 2, 53);
	put16(udp + 4, FRAME_LEN - 14 - 20);
}

static void v4(uint8_t out[16], const char *s)
{
	memset(out, 0, 16);
	out[10] = out[11] = 0xff;
	inet_pton(AF_INET, s, out + 12);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

/* the object, its table sized as fwd sizes it for maxConnections = mappings */
static int load(struct bench *b, uint32_t mappings)
{
	struct fos_nat_rule r = {};
	struct fos_nat_ifaddr ia = {.flags = FOS_NAT_IF_V4};
	struct fos_nat_src_key k = {};
	uint32_t id = RULE, ext = EXT_IF, cap = fos_nat_tab_cap_for(mappings);
	struct bpf_map *m;
	int err;

	b->nat = fos_nat__open();
	b->tcb = fos_tc_bench__open_and_load();
	if (!b->nat || !b->tcb)
		return -errno;
	bpf_object__for_each_map(m, b->nat->obj)(void) bpf_map__set_pin_path(m, NULL);
	fos_nat_tab_size(b->nat, cap);
	err = fos_nat__load(b->nat);
	if (err)
		return err;
	err = fos_nat_tab_map(&b->tab, b->nat);
	if (err)
		return err;
	b->table = cap;
	b->maxconn = mappings;
	r.flags = FOS_NAT_R_ACTIVE | FOS_NAT_R_V4 | FOS_NAT_R_EIM;
	r.ext_ifindex = EXT_IF;
	r.src_ifindex = INT_IF;
	r.max_mappings = mappings;
	for (int t = 0; t < _FOS_NATT_MAX; t++)
		r.timeout_ns[t] = 300ULL * 1000000000ULL;
	v4(ia.addr4, "203.0.113.1");
	k.ext_ifindex = htonl(EXT_IF);
	k.src_ifindex = htonl(INT_IF);
	k.prefixlen = FOS_NAT_SRC_PREFIX + 96 + 8;
	v4(k.addr, "10.0.0.0");
	if (bpf_map_update_elem(bpf_map__fd(b->nat->maps.fos_nat_rules), &id, &r, 0) < 0 ||
	    bpf_map_update_elem(bpf_map__fd(b->nat->maps.fos_nat_ifaddr), &ext, &ia, 0) < 0 ||
	    bpf_map_update_elem(bpf_map__fd(b->nat->maps.fos_nat_src), &k, &id, 0) < 0)
		return -errno;
	return 0;
}

static int set_target(struct bench *b, struct bpf_program *p)
{
	uint32_t zero = 0;
	int fd = bpf_program__fd(p);

	return bpf_map__update_elem(b->tcb->maps.fos_bench_jmp, &zero, sizeof(zero), &fd,
				    sizeof(fd), BPF_ANY);
}

static uint64_t stat_sum(struct bench *b, uint32_t s)
{
	uint32_t k = RULE * _FOS_NAT_STAT_MAX + s;
	uint64_t *v = calloc((size_t)b->n_cpus, sizeof(*v)), sum = 0;

	if (v && bpf_map_lookup_elem(bpf_map__fd(b->nat->maps.fos_nat_stats), &k, v) == 0)
		for (int i = 0; i < b->n_cpus; i++)
			sum += v[i];
	free(v);
	return sum;
}

/* one test run of repeat frames through the wrapper: ns per frame */
static int run(struct bench *b, uint32_t repeat, uint32_t *ret_verdict, uint32_t *ret_ns)
{
	struct __sk_buff ctx = {.ifindex = EXT_IF, .ingress_ifindex = INT_IF};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = b->frame, .data_size_in = FRAME_LEN,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = repeat);

	if (bpf_prog_test_run_opts(bpf_program__fd(b->tcb->progs.fos_tc_bench_wrap), &opts) < 0)
		return -errno;
	*ret_verdict = opts.retval;
	*ret_ns = opts.duration;
	return 0;
}

/* every mapping gone and the mapping counts back to 0 */
static void empty_table(struct bench *b)
{
	int cfd = bpf_map__fd(b->nat->maps.fos_nat_count);
	uint64_t zero = 0;

	fos_nat_tab_reset(&b->tab);
	for (uint32_t i = 2 * RULE; i <= 2 * RULE + 1; i++)
		(void)bpf_map_update_elem(cfd, &i, &zero, BPF_ANY);
}

static void template(struct bench *b, uint32_t saddr, uint32_t ports, uint32_t flows)
{
	uint64_t zero[512] = {0};
	uint32_t k = 0;

	b->tcb->bss->fos_bench_saddr = saddr;
	b->tcb->bss->fos_bench_sport = SPORT;
	b->tcb->bss->fos_bench_ports = ports;
	b->tcb->bss->fos_bench_flows = flows;
	/* the sequence starts at 0 on every CPU */
	(void)bpf_map_update_elem(bpf_map__fd(b->tcb->maps.fos_bench_seq), &k, zero, BPF_ANY);
}

/* the kernel's account of a map, in bytes (memlock of its fdinfo) */
static uint64_t map_bytes(const struct bpf_map *m)
{
	char path[64], line[256];
	uint64_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", bpf_map__fd(m));
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %" SCNu64, &v) == 1)
			break;
	fclose(f);
	return v;
}

/* the table's five maps */
static uint64_t table_bytes(struct bench *b)
{
	return map_bytes(b->nat->maps.fos_nat) + map_bytes(b->nat->maps.fos_nat_idx) +
	       map_bytes(b->nat->maps.fos_nat_free) + map_bytes(b->nat->maps.fos_nat_hdr) +
	       map_bytes(b->nat->maps.fos_nat_lock);
}

struct result {
	const char *name;
	uint32_t ns[MAX_RUNS];
	size_t n;
	double med;
};

static int fail(const char *what, int err)
{
	fprintf(stderr, "bench-nat: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench-nat [-n RUNS] [-r REPEAT] [-i INSERTS] [-f FLOWS] [-c CPU]\n"
		"  -n RUNS     runs per case, the median reported (default 15, at most 101)\n"
		"  -r REPEAT   frames per run of the mapped cases (default 1000000)\n"
		"  -i INSERTS  new mappings per run of the new-mapping cases (default 20000)\n"
		"  -f FLOWS    mappings of the cycled case and the memory figure (default 10000)\n"
		"  -c CPU      the CPU to run on (default 0)\n");
}

int main(int argc, char **argv)
{
	unsigned long runs = 15, repeat = 1000000, inserts = 20000, flows = 10000, cpu = 0;
	struct bench b = {};
	struct result wrap = {.name = "wrapper alone (rewrite + tail call)"},
		      one = {.name = "translated, 1 mapping (warm)"},
		      many = {.name = "translated, FLOWS mappings"},
		      fresh = {.name = "new mapping, source port kept"},
		      taken = {.name = "new mapping, source port taken: probed"};
	uint64_t bytes0, bytes1;
	cpu_set_t set;
	int c, err;

	while ((c = getopt(argc, argv, "n:r:i:f:c:h")) != -1) {
		char *end;
		unsigned long v;

		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (!optarg) {
			usage(stderr);
			return 2;
		}
		errno = 0;
		v = strtoul(optarg, &end, 10);
		if (errno || *end || end == optarg) {
			usage(stderr);
			return 2;
		}
		switch (c) {
		case 'n':
			runs = v;
			break;
		case 'r':
			repeat = v;
			break;
		case 'i':
			inserts = v;
			break;
		case 'f':
			flows = v;
			break;
		case 'c':
			cpu = v;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (runs < 1 || runs > MAX_RUNS || repeat < 1 || inserts < 1 || inserts > 30000 ||
	    flows < 1 || flows > 1000000) {
		fprintf(stderr,
			"bench-nat: RUNS 1-%d, REPEAT >= 1, INSERTS 1-30000 (ports of "
			"one parity on one address), FLOWS 1-1000000\n",
			MAX_RUNS);
		return 2;
	}
	if (geteuid() != 0) {
		printf("bench-nat: SKIP: needs root\n");
		return 77;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		return fail("cannot pin to the CPU", errno);
	libbpf_set_print(libbpf_print);
	b.n_cpus = libbpf_num_possible_cpus();
	build_frame(b.frame);
	err = load(&b, (uint32_t)(flows > 2 * inserts ? flows : 2 * inserts));
	if (err)
		return fail("cannot load the NAT object", err);

	/* memory: the empty table, then FLOWS mappings made through the datapath */
	bytes0 = table_bytes(&b);
	if ((err = set_target(&b, b.nat->progs.fos_nat_out)) < 0)
		return fail("cannot set the wrapper's target", err);
	template(&b, SADDR, 1, 0);
	{
		uint32_t v, ns;

		if ((err = run(&b, (uint32_t)flows, &v, &ns)) < 0)
			return fail("test run", err);
		if (stat_sum(&b, FOS_NAT_STAT_CREATED) != flows)
			return fail("the FLOWS mappings were not all made", EPROTO);
	}
	bytes1 = table_bytes(&b);

	for (unsigned long r = 0; r < runs; r++) {
		uint32_t v, ns;
		uint64_t s0;

		/* the wrapper alone */
		if ((err = set_target(&b, b.tcb->progs.fos_tc_bench_ok)) < 0)
			return fail("cannot set the wrapper's target", err);
		template(&b, SADDR, 1, 1);
		if ((err = run(&b, (uint32_t)repeat, &v, &ns)) < 0 || (int)v != TC_ACT_OK)
			return fail("the wrapper alone", err ? err : EPROTO);
		wrap.ns[wrap.n++] = ns;

		if ((err = set_target(&b, b.nat->progs.fos_nat_out)) < 0)
			return fail("cannot set the wrapper's target", err);
		/* mapped: one, then FLOWS in turn (made above) */
		template(&b, SADDR, 1, 1);
		s0 = stat_sum(&b, FOS_NAT_STAT_OUT);
		if ((err = run(&b, (uint32_t)repeat, &v, &ns)) < 0 || (int)v != TC_ACT_UNSPEC ||
		    stat_sum(&b, FOS_NAT_STAT_OUT) - s0 != repeat)
			return fail("translated, 1 mapping: not every frame translated",
				    err ? err : EPROTO);
		one.ns[one.n++] = ns;
		template(&b, SADDR, 1, (uint32_t)flows);
		s0 = stat_sum(&b, FOS_NAT_STAT_OUT);
		if ((err = run(&b, (uint32_t)repeat, &v, &ns)) < 0 || (int)v != TC_ACT_UNSPEC ||
		    stat_sum(&b, FOS_NAT_STAT_OUT) - s0 != repeat)
			return fail("translated, FLOWS mappings: not every frame translated",
				    err ? err : EPROTO);
		many.ns[many.n++] = ns;
		if (stat_sum(&b, FOS_NAT_STAT_CREATED) != flows)
			return fail("the cycled flows made new mappings", EPROTO);
	}
	empty_table(&b);
	for (unsigned long r = 0; r < runs; r++) {
		uint32_t v, ns;
		uint64_t c0, k0, x0;

		/* new sources, each with its own source port: kept */
		template(&b, NEW_BASE, (uint32_t)inserts, 0);
		c0 = stat_sum(&b, FOS_NAT_STAT_CREATED);
		k0 = stat_sum(&b, FOS_NAT_STAT_KEPT_PORT);
		if ((err = run(&b, (uint32_t)inserts, &v, &ns)) < 0 || (int)v != TC_ACT_UNSPEC ||
		    stat_sum(&b, FOS_NAT_STAT_CREATED) - c0 != inserts ||
		    stat_sum(&b, FOS_NAT_STAT_KEPT_PORT) - k0 != inserts)
			return fail("new mappings, port kept: not one per frame",
				    err ? err : EPROTO);
		fresh.ns[fresh.n++] = ns;
		/* the same sources again from other addresses: the port is
		 * taken by the mapping above, another is probed (at the density
		 * this ends at, a rare mapping finds no free port in its probes:
		 * counted, exhaustion) */
		template(&b, NEW_BASE + 0x100000U, (uint32_t)inserts, 0);
		c0 = stat_sum(&b, FOS_NAT_STAT_CREATED);
		k0 = stat_sum(&b, FOS_NAT_STAT_KEPT_PORT);
		x0 = stat_sum(&b, FOS_NAT_STAT_EXHAUSTED);
		if ((err = run(&b, (uint32_t)inserts, &v, &ns)) < 0 ||
		    stat_sum(&b, FOS_NAT_STAT_CREATED) - c0 +
			    (stat_sum(&b, FOS_NAT_STAT_EXHAUSTED) - x0) !=
			inserts ||
		    stat_sum(&b, FOS_NAT_STAT_KEPT_PORT) != k0)
			return fail("new mappings, port taken: not one per frame, or a port kept",
				    err ? err : EPROTO);
		taken.ns[taken.n++] = ns;
		empty_table(&b);
	}

	wrap.med = bench_median(wrap.ns, wrap.n);
	one.med = bench_median(one.ns, one.n);
	many.med = bench_median(many.ns, many.n);
	fresh.med = bench_median(fresh.ns, fresh.n);
	taken.med = bench_median(taken.ns, taken.n);
	printf("bench-nat: fos_nat_out through BPF_PROG_TEST_RUN on CPU %lu, medians of %lu runs "
	       "(%lu frames per mapped run, %lu new mappings per new-mapping run), table of %u "
	       "entries\n",
	       cpu, runs, repeat, inserts, b.table);
	printf("%-44s %8s %8s\n", "case", "raw ns", "net ns");
	printf("%-44s %8.1f %8s\n", wrap.name, wrap.med, "-");
	printf("%-44s %8.1f %8.1f\n", one.name, one.med, one.med - wrap.med);
	printf("translated, %-32lu %8.1f %8.1f\n", flows, many.med, many.med - wrap.med);
	printf("%-44s %8.1f %8.1f  (goal < 1000 ns: %s)\n", fresh.name, fresh.med,
	       fresh.med - wrap.med, fresh.med - wrap.med < 1000 ? "met" : "NOT met");
	printf("%-44s %8.1f %8.1f  (goal < 1000 ns: %s)\n", taken.name, taken.med,
	       taken.med - wrap.med, taken.med - wrap.med < 1000 ? "met" : "NOT met");
	printf("ports not found in %u probes while the external address's ports of one "
	       "parity went from %lu to %lu in use: %" PRIu64 " of %lu new mappings\n",
	       FOS_NAT_PROBES, inserts / 2, inserts, stat_sum(&b, FOS_NAT_STAT_EXHAUSTED),
	       runs * inserts);
	{
		/* the table is made whole for maxConnections (fwd sizes it for
		 * the natConfigs' sum and some to spare): its bytes per
		 * mapping of maxConnections, and what FLOWS made added */
		double per = (double)bytes0 / (double)b.maxconn;

		printf("memory: %" PRIu64 " bytes for the table of %u mappings fwd makes for "
		       "maxConnections = %lu, %" PRIu64 " with %lu mappings made: %.0f bytes per "
		       "mapping of maxConnections (goal <= 128: %s)\n",
		       bytes0, b.table, (unsigned long)b.maxconn, bytes1, flows, per,
		       per <= 128 ? "met" : "NOT met");
	}
	fos_nat__destroy(b.nat);
	fos_tc_bench__destroy(b.tcb);
	return 0;
}
