// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench-ddos: the cost of the DDoS mitigation of fos_xdp_filter per packet,
 * in ns, through BPF_PROG_TEST_RUN (the same frame run `repeat` times; caches
 * stay warm, so this is a lower bound), next to the filter without it.
 *
 * Both programs have an empty ruleset with the default action pass and a
 * blacklist set of one source; the DDoS program is loaded with fos_ddos and
 * every protection armed: rateLimiting (packetsPerSecond, connectionsPerSecond),
 * synFloodProtection always, icmpFloodProtection and udpFloodProtection. The
 * cases:
 *   - no DDoS: a UDP packet through the filter loaded without fos_ddos;
 *   - rate limits, conforming: a UDP packet of a source under every limit
 *     (the limits are far above what a run sends);
 *   - ICMP flood: an echo request of a source over its perSource limit, dropped;
 *   - SYN cookie: a SYN answered with a SYN-ACK (XDP_TX);
 *   - proved source: a SYN of a source that answered a cookie with its RST
 *     before the timing (as a client does), passed on to the rules;
 *   - blacklist: a packet of the blacklisted source, dropped.
 * Before timing, each case runs once and must give its verdict and move its
 * counter. The cases run in turn, runs times each; the median of the kernel's
 * per-run average is reported. A test run with repeat runs the program again
 * and again on the same buffer, so the SYN cookie case, whose first run turns
 * the SYN into a SYN-ACK, is timed one packet per test run instead (the mean
 * of SINGLE_CALLS runs); the kernel's clock is then read around each packet,
 * which adds its own cost: the same is measured for the no-DDoS UDP packet
 * as that case's peer.
 *
 *   bench-ddos [-n RUNS] [-r REPEAT]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cleanup.h"
#include "fos/abi.h"
#include "log.h"
#include "csum.h"
#include "median.h"
#include "xdp_filter.skel.h"
#include "pkt_util.h"

#define EXIT_SKIP 77

#define RUNS_MIN       5
#define RUNS_DEFAULT   7
#define RUNS_MAX       64
#define REPEAT_DEFAULT 1000000U

#define FRAME_MAX    128
#define SINGLE_CALLS 20000U
#define BLACK_SET    1
#define NS	     1000000000ULL

struct frame {
	uint8_t b[FRAME_MAX];
	size_t len;
};

/* the counter a case moves */
struct check {
	bool ddos_stat; /* fos_ddos_stats, else fos_stats */
	uint32_t idx;
};

struct bench_case {
	const char *name;
	bool ddos;   /* the program loaded with fos_ddos */
	bool single; /* one packet per test run: the program rewrites the frame */
	const struct frame *frame;
	uint32_t verdict;
	struct check check;
	uint32_t ns[RUNS_MAX];
};

static void filter_skel_freep(struct fos_xdp_filter **p)
{
	fos_xdp_filter__destroy(*p);
	*p = NULL;
}

/* ---- frames ---------------------------------------------------------------- */

/* Ethernet + IPv4 + UDP (18 bytes of payload), ICMP echo or a TCP SYN. */
static int build(uint8_t proto, const char *src, const char *dst, struct frame *ret)
{
	static const uint8_t mac_dst[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x02};
	static const uint8_t mac_src[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x01};
	struct frame f = {0};
	uint8_t *ip = f.b + ETH_HLEN, *l4 = ip + 20;
	size_t l4len;

	memcpy(f.b, mac_dst, ETH_ALEN);
	memcpy(f.b + ETH_ALEN, mac_src, ETH_ALEN);
	put16(f.b + 2 * ETH_ALEN, ETH_P_IP);
	switch (proto) {
	case IPPROTO_UDP:
		put16(l4, 1024);
		put16(l4 + 2, 9);
		l4len = 8 + 18;
		put16(l4 + 4, l4len);
		break;
	case IPPROTO_ICMP:
		l4[0] = 8;
		put16(l4 + 4, 0x1234);
		l4len = 8 + 18;
		break;
	default:
		put16(l4, 40000);
		put16(l4 + 2, 80);
		put32(l4 + 4, 0x01020304);
		l4[12] = 6 << 4; /* an MSS option */
		l4[13] = 0x02;	 /* SYN */
		put16(l4 + 14, 64240);
		l4[20] = 2;
		l4[21] = 4;
		put16(l4 + 22, 1460);
		l4len = 24;
		break;
	}
	ip[0] = 0x45;
	put16(ip + 2, 20 + l4len);
	put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = proto;
	if (inet_pton(AF_INET, src, ip + 12) != 1 || inet_pton(AF_INET, dst, ip + 16) != 1)
		return -EINVAL;
	put16(ip + 10, bench_csum(ip, 20, 0));
	f.len = ETH_HLEN + 20 + l4len;
	*ret = f;
	return 0;
}

/* ---- the programs ---------------------------------------------------------- */

static struct fos_ddos_rate rate(uint64_t per_sec, uint64_t burst)
{
	struct fos_ddos_rate r = {.interval_ns = NS / per_sec};

	r.tolerance_ns = (burst - 1) * r.interval_ns;
	return r;
}

static int put(struct bpf_map *map, const void *k, size_t klen, const void *v, size_t vlen)
{
	return bpf_map__update_elem(map, k, klen, v, vlen, BPF_ANY) < 0 ? -errno : 0;
}

/* A filter with slot 0 live: no rules, default pass, blacklist BLACK_SET
 * holding black/32; with ddos, every protection armed. */
static int load(bool ddos, const char *black, struct fos_xdp_filter **ret)
{
	_cleanup_(filter_skel_freep) struct fos_xdp_filter *skel = NULL;
	struct fos_slot slot = {.flags = FOS_SLOT_F_BLACKLIST,
				.blacklist_set = BLACK_SET,
				.default_action = FOS_ACT_PASS,
				.generation = 1};
	struct fos_set_key4 bk = {.prefixlen = FOS_SET_KEY_PREFIX + 32, .set_id = htonl(BLACK_SET)};
	struct fos_set_value bv = {.flags = FOS_SET_F_CONFIG};
	struct fos_ctl ctl = {.active = 0};
	uint32_t zero = 0;
	int r;

	skel = fos_xdp_filter__open();
	if (!skel)
		return log_error_errno(-errno, "cannot open fos_xdp_filter");
	skel->rodata->fos_ddos = ddos;
	if (fos_xdp_filter__load(skel) < 0)
		return log_error_errno(-errno, "cannot load fos_xdp_filter (fos_ddos %d)", ddos);
	if (inet_pton(AF_INET, black, bk.addr) != 1)
		return -EINVAL;
	r = put(skel->maps.fos_sets4, &bk, sizeof(bk), &bv, sizeof(bv));
	if (r == 0)
		r = put(skel->maps.fos_slots, &zero, sizeof(zero), &slot, sizeof(slot));
	if (r == 0)
		r = put(skel->maps.fos_ctl, &zero, sizeof(zero), &ctl, sizeof(ctl));
	if (r == 0 && ddos) {
		/* limits no run reaches, but the ICMP one: 1 per second, which
		 * the first packet of a run uses up */
		struct fos_ddos_cfg c = {
		    .flags = FOS_DDOS_F_RATE | FOS_DDOS_F_SYN | FOS_DDOS_F_SYN_ALWAYS |
			     FOS_DDOS_F_ICMP | FOS_DDOS_F_UDP,
		    .v6_plen = 64,
		    .pkt = rate(1000000000, 1000000000),
		    .conn = rate(1000000000, 1000000000),
		    .icmp_src = rate(1, 1),
		    .udp_src = rate(1000000000, 1000000000),
		    .udp_all = rate(1000000000, 1000000000),
		    .auth_ns = 3600 * NS,
		};
		r = put(skel->maps.fos_ddos_cfg, &zero, sizeof(zero), &c, sizeof(c));
	}
	if (r < 0)
		return log_error_errno(r, "cannot fill the filter's maps");
	*ret = TAKE_PTR(skel);
	return 0;
}

/* ---- running ----------------------------------------------------------------- */

static int counter(struct fos_xdp_filter *skel, const struct check *c, uint64_t *ret)
{
	int n_cpus = libbpf_num_possible_cpus();
	_cleanup_free_ uint64_t *v = NULL;
	struct bpf_map *map = c->ddos_stat ? skel->maps.fos_ddos_stats : skel->maps.fos_stats;
	uint64_t sum = 0;

	if (n_cpus <= 0)
		return -EINVAL;
	v = calloc(n_cpus, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map__lookup_elem(map, &c->idx, sizeof(c->idx), v, sizeof(*v) * n_cpus, 0) < 0)
		return -errno;
	for (int i = 0; i < n_cpus; i++)
		sum += v[i];
	*ret = sum;
	return 0;
}

static int run_prog(int prog_fd, const struct frame *f, uint32_t repeat, uint32_t *ret_verdict,
		    uint32_t *ret_ns)
{
	uint8_t out[FRAME_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->b, .data_size_in = f->len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &opts) < 0)
		return -errno;
	*ret_verdict = opts.retval;
	*ret_ns = opts.duration;
	return 0;
}

/* The source of the SYN syn proves itself as a client does: the SYN is
 * answered with a cookie (XDP_TX), an RST carrying it back is dropped, and
 * from then on the source's SYNs pass. */
static int prove(int prog_fd, const struct frame *syn)
{
	const size_t l4 = ETH_HLEN + 20; /* the TCP header */
	struct frame rst = *syn, out;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = syn->b, .data_size_in = syn->len,
		    .data_out = out.b, .data_size_out = sizeof(out.b), .repeat = 1);

	if (bpf_prog_test_run_opts(prog_fd, &opts) < 0)
		return log_error_errno(-errno, "proving a source: test run");
	if (opts.retval != XDP_TX || opts.data_size_out < l4 + 8)
		return log_error_errno(-EPROTO, "proving a source: its SYN got %s, not a cookie",
				       verdict_name(true, (int)opts.retval));
	/* the SYN-ACK's sequence number is the cookie: the RST's, as it came */
	memcpy(rst.b + l4 + 4, out.b + l4 + 4, 4);
	rst.b[l4 + 13] = 0x04; /* RST */
	opts.data_in = rst.b;
	opts.data_size_in = rst.len;
	opts.data_size_out = sizeof(out.b);
	if (bpf_prog_test_run_opts(prog_fd, &opts) < 0)
		return log_error_errno(-errno, "proving a source: test run");
	if (opts.retval != XDP_DROP)
		return log_error_errno(-EPROTO, "proving a source: its RST got %s, not a drop",
				       verdict_name(true, (int)opts.retval));
	return 0;
}

/* The mean of SINGLE_CALLS test runs of one packet each. */
static int run_single(int prog_fd, const struct frame *f, uint32_t *ret_ns)
{
	uint64_t sum = 0;

	for (uint32_t i = 0; i < SINGLE_CALLS; i++) {
		uint32_t verdict, ns;
		int r = run_prog(prog_fd, f, 1, &verdict, &ns);

		if (r < 0)
			return r;
		sum += ns;
	}
	*ret_ns = (uint32_t)(sum / SINGLE_CALLS);
	return 0;
}

static int verify_case(const struct bench_case *c, struct fos_xdp_filter *skel)
{
	uint64_t before, after;
	uint32_t verdict, ns;
	int r;

	r = counter(skel, &c->check, &before);
	if (r < 0)
		return log_error_errno(r, "%s: cannot read counters", c->name);
	r = run_prog(bpf_program__fd(skel->progs.fos_xdp_filter), c->frame, 1, &verdict, &ns);
	if (r < 0)
		return log_error_errno(r, "%s: test run", c->name);
	if (verdict != c->verdict)
		return log_error_errno(-EPROTO, "%s: verdict %s, expected %s", c->name,
				       verdict_name(true, (int)verdict),
				       verdict_name(true, (int)c->verdict));
	r = counter(skel, &c->check, &after);
	if (r < 0)
		return log_error_errno(r, "%s: cannot read counters", c->name);
	if (after != before + 1)
		return log_error_errno(-EPROTO,
				       "%s: the packet did not take the path named (counter "
				       "%llu -> %llu)",
				       c->name, (unsigned long long)before,
				       (unsigned long long)after);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: bench-ddos [-n RUNS] [-r REPEAT]\n"
		   "ns/packet of fos_xdp_filter's DDoS mitigation through BPF_PROG_TEST_RUN.\n\n"
		   "  -n, --runs N    runs per case, median reported (default 7, min 5)\n"
		   "  -r, --repeat N  packets per run (default 1000000)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"runs", required_argument, NULL, 'n'},
	    {"repeat", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	_cleanup_(filter_skel_freep) struct fos_xdp_filter *plain = NULL, *ddos = NULL;
	unsigned long runs = RUNS_DEFAULT, repeat = REPEAT_DEFAULT;
	struct frame f_udp, f_icmp, f_syn, f_proved, f_black;
	char *end;
	int c, r;

	while ((c = getopt_long(argc, argv, "n:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
		case 'r':
			errno = 0;
			*(c == 'n' ? &runs : &repeat) = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end) {
				usage(stderr);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || runs < RUNS_MIN || runs > RUNS_MAX || repeat < 1 ||
	    repeat > UINT32_MAX) {
		usage(stderr);
		return 2;
	}
	if (geteuid() != 0) {
		printf("bench-ddos: SKIP: needs root (BPF_PROG_TEST_RUN on XDP programs)\n");
		return EXIT_SKIP;
	}

	if (build(IPPROTO_UDP, "198.18.0.1", "198.19.0.1", &f_udp) < 0 ||
	    build(IPPROTO_ICMP, "198.18.0.2", "198.19.0.1", &f_icmp) < 0 ||
	    build(IPPROTO_TCP, "198.18.0.3", "198.19.0.1", &f_syn) < 0 ||
	    build(IPPROTO_TCP, "198.18.0.4", "198.19.0.1", &f_proved) < 0 ||
	    build(IPPROTO_UDP, "198.18.0.5", "198.19.0.1", &f_black) < 0) {
		log_error("cannot build the frames");
		return 1;
	}
	if (load(false, "198.18.0.5", &plain) < 0 || load(true, "198.18.0.5", &ddos) < 0 ||
	    prove(bpf_program__fd(ddos->progs.fos_xdp_filter), &f_proved) < 0)
		return 1;

	struct bench_case cases[] = {
	    {.name = "no DDoS, UDP -> default",
	     .frame = &f_udp,
	     .verdict = XDP_PASS,
	     .check = {false, FOS_STAT_DEFAULT}},
	    {.name = "DDoS, UDP under the limits -> default",
	     .ddos = true,
	     .frame = &f_udp,
	     .verdict = XDP_PASS,
	     .check = {false, FOS_STAT_DEFAULT}},
	    {.name = "DDoS, ICMP flood, over perSource -> drop",
	     .ddos = true,
	     .frame = &f_icmp,
	     .verdict = XDP_DROP,
	     .check = {true, FOS_DDOS_STAT_DROP_ICMP_FLOOD}},
	    {.name = "no DDoS, UDP -> default (1 per run)",
	     .single = true,
	     .frame = &f_udp,
	     .verdict = XDP_PASS,
	     .check = {false, FOS_STAT_DEFAULT}},
	    {.name = "DDoS, SYN -> SYN cookie, XDP_TX (1 per run)",
	     .ddos = true,
	     .single = true,
	     .frame = &f_syn,
	     .verdict = XDP_TX,
	     .check = {true, FOS_DDOS_STAT_COOKIES_SENT}},
	    {.name = "DDoS, SYN of a proved source -> default",
	     .ddos = true,
	     .frame = &f_proved,
	     .verdict = XDP_PASS,
	     .check = {false, FOS_STAT_DEFAULT}},
	    {.name = "DDoS, blacklisted source -> drop",
	     .ddos = true,
	     .frame = &f_black,
	     .verdict = XDP_DROP,
	     .check = {true, FOS_DDOS_STAT_DROP_BLACKLIST}},
	    {.name = "no DDoS, blacklisted source -> drop",
	     .frame = &f_black,
	     .verdict = XDP_DROP,
	     .check = {false, FOS_STAT_BLACKLIST}},
	};
	const size_t n_cases = sizeof(cases) / sizeof(cases[0]);

	/* the ICMP source's first packet conforms; from the second on it is over */
	{
		uint32_t verdict, ns;

		r = run_prog(bpf_program__fd(ddos->progs.fos_xdp_filter), &f_icmp, 1, &verdict,
			     &ns);
		if (r < 0 || verdict != XDP_PASS) {
			log_error("the first ICMP packet did not pass");
			return 1;
		}
	}
	for (size_t i = 0; i < n_cases; i++)
		if (verify_case(&cases[i], cases[i].ddos ? ddos : plain) < 0)
			return 1;

	for (unsigned long run = 0; run < runs; run++)
		for (size_t i = 0; i < n_cases; i++) {
			struct fos_xdp_filter *skel = cases[i].ddos ? ddos : plain;
			uint32_t verdict;

			if (cases[i].single)
				r = run_single(bpf_program__fd(skel->progs.fos_xdp_filter),
					       cases[i].frame, &cases[i].ns[run]);
			else
				r = run_prog(bpf_program__fd(skel->progs.fos_xdp_filter),
					     cases[i].frame, (uint32_t)repeat, &verdict,
					     &cases[i].ns[run]);
			if (r < 0) {
				log_error_errno(r, "%s: test run", cases[i].name);
				return 1;
			}
		}

	printf("bench-ddos: ns/packet via BPF_PROG_TEST_RUN, repeat %lu, median of %lu runs\n",
	       repeat, runs);
	printf("empty ruleset, default pass, a blacklist of one source; DDoS: every protection "
	       "armed, SYN cookies always; IPv4 frames of 60-64 bytes\n\n");
	printf("%-44s %-9s %7s %5s %5s %10s\n", "case", "verdict", "ns/pkt", "min", "max",
	       "x no DDoS");
	double base = 0;

	for (size_t i = 0; i < n_cases; i++) {
		double med = bench_median(cases[i].ns, runs);

		if (i == 0)
			base = med;
		printf("%-44s %-9s %7.1f %5u %5u %10.2f\n", cases[i].name,
		       verdict_name(true, (int)cases[i].verdict), med, cases[i].ns[0],
		       cases[i].ns[runs - 1], base > 0 ? med / base : 0.0);
	}
	return 0;
}
