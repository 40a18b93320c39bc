// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench-ct: the cost of connection tracking per packet, in ns, through
 * BPF_PROG_TEST_RUN (the kernel's average over `repeat` runs of one frame;
 * the median of several such runs is reported).
 *
 * Objects, all loaded by this program:
 *   stateful fos_tc twice: one whose table holds only the benchmark's own
 *   flow (1 entry), one whose table is sized as fwd sizes it for
 *   conntrack.maxConnections = 1.1 x FILL (FILL + FOS_CT_MAP_SLACK) and
 *   filled from user space with FILL established TCP flows (bench/ct_fill.h,
 *   bpf_map_update_batch), fos_ct_cfg.max_entries 1.1 x FILL; a stateless
 *   fos_tc; the XDP filter loaded stateful over each of the two tables
 *   (bpf_map__reuse_fd, as fwd shares them); the bare programs
 *   fos_tc_bench_ok (TC_ACT_OK) and fos_xdp_drop; and fos_tc_bench_wrap
 *   (bpf/tc_bench.bpf.c), which gives every packet another flow and
 *   tail-calls the program in its PROG_ARRAY.
 *
 * Every filter runs the same small ruleset, written with fwd's own writers
 * (daemon/filter.h) from a config: default drop and five rules, the fourth
 * passing TCP to port 80, the second UDP to port 53. The conntrack timeouts
 * are fwd's defaults' order of magnitude (TCP established 1 day).
 *
 * Frames: the established packet is a TCP ACK of 198.18.0.1:40000 ->
 * 198.19.0.1:80, whose flow is opened by a handshake through each stateful
 * firewall (SYN, SYN-ACK, ACK) before timing, so its entry is ESTABLISHED.
 * The stateless firewall passes the same ACK by the port-80 rule. A UDP
 * frame to port 53 whose flow has seen no reply is NEW every time: the
 * rules pass it and its entry is updated (the path of one-way traffic,
 * bench_ct_fwd.sh's). Through the wrapper: the same ACK rewritten to each of the FILL filled flows
 * in turn (a different entry every packet, cache-cold lookups), and a 60-byte UDP frame to port 53
 * from a new source address/port every packet (each a NEW flow the rule passes: an insert into the
 * table of FILL entries). The inserts of a run are deleted from user space after it, and counted as
 * removed, so each run inserts into a table of FILL entries and the table stays below the insert
 * gate; a run that meets the gate (or the map refusing) is reported.
 *
 * The wrapper's own cost (rewrite + tail call) is measured by the same
 * wrapper tail-calling fos_tc_bench_ok: net = raw - (wrapper->bare - bare
 * TC), the figure comparable to a program run directly.
 *
 * Before timing, each case runs once and must give its verdict and move its
 * counter by one (ESTABLISHED or NEW class, a rule, an insert); every timed
 * run must move it by its repeat count. The cases run in turn, runs times
 * each, pinned to one CPU. Like every BPF_PROG_TEST_RUN figure these are
 * lower bounds: the program's code and maps stay in the caches, except for
 * what the cycled and new flows make cold on purpose.
 *
 *   bench-ct [-n RUNS] [-r REPEAT] [-i INSERTS] [-f FILL] [-c CPU]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cleanup.h"
#include "config.h"
#include "ct_fill.h"
#include "filter.h"
#include "fos/abi.h"
#include "log.h"
#include "median.h"
#include "tc.skel.h"
#include "tc_bench.skel.h"
#include "xdp_bench.skel.h"
#include "xdp_filter.skel.h"
#include "pkt_util.h"

#define EXIT_SKIP 77

#define RUNS_MIN	5
#define RUNS_DEFAULT	7
#define RUNS_MAX	64
#define REPEAT_DEFAULT	1000000U
#define INSERTS_DEFAULT 50000U
#define FILL_DEFAULT	1000000U
#define SMALL_MAX	65536U
#define NS		1000000000ULL
#define TARGET_EST_NS	80.0

#define FRAME_MAX 128

/* the new flows of the insert case: source 10.128.0.0 + n / NEW_PORTS, port
 * NEW_SPORT + n % NEW_PORTS, to the server's port 53 */
#define NEW_SADDR 0x0a800000U
#define NEW_SPORT 1024U
#define NEW_PORTS 64000U
#define NEW_DPORT 53U

/* the ruleset: rule 3 passes the ACK (port 80), rule 1 the UDP (port 53) */
#define RULE_TCP80 3U
static const char ruleset_conf[] =
    "programs = ( { name = \"bench\"; type = \"tc-ingress\"; interface = \"lo\";\n"
    "  settings = { stateful = true; actions = { default = \"drop\"; rules = (\n"
    "    { match = { protocol = \"tcp\"; dstPort = 22; srcCIDR = [ \"10.0.0.0/8\" ]; };"
    " action = \"pass\"; },\n"
    "    { match = { protocol = \"udp\"; dstPort = 53; }; action = \"pass\"; },\n"
    "    { match = { protocol = \"tcp\"; dstPorts = [ \"8000-8099\" ]; }; action = \"drop\"; },\n"
    "    { match = { protocol = \"tcp\"; dstPort = 80; }; action = \"pass\"; },\n"
    "    { match = { protocol = \"icmp\"; }; action = \"pass\"; }\n"
    "  ); }; }; } );\n";
#define RULESET_N_RULES 5

struct frame {
	uint8_t b[FRAME_MAX];
	size_t len;
};

/* a per-packet counter: entry idx of a per-CPU map of u64s values per CPU */
struct counter {
	int fd; /* -1: none */
	uint32_t idx;
	size_t u64s;
	const char *what;
};

enum tpl {
	TPL_NONE,
	TPL_EST, /* the filled flows, in turn */
	TPL_NEW, /* a new flow every packet */
};

struct bench_case {
	const char *name;
	int fd;
	bool xdp;
	const struct frame *frame;
	uint32_t repeat;
	int verdict;
	struct counter ctr;
	enum tpl tpl;	 /* through the wrapper */
	int target_fd;	 /* ... which tail-calls this program */
	bool insert;	 /* delete the run's new flows after it */
	bool est_target; /* print against the established target */
	uint32_t ns[RUNS_MAX];
	unsigned short_runs; /* timed runs whose counter moved less than repeat */
};

struct objs {
	struct fos_tc *tc_small, *tc_full, *tc_stateless;
	struct fos_xdp_filter *xdp_small, *xdp_full;
	struct fos_tc_bench *tcb;
	struct fos_xdp_bench *xdpb;
	int n_cpus;
};

static void objs_free(struct objs *o)
{
	fos_tc__destroy(o->tc_small);
	fos_tc__destroy(o->tc_full);
	fos_tc__destroy(o->tc_stateless);
	fos_xdp_filter__destroy(o->xdp_small);
	fos_xdp_filter__destroy(o->xdp_full);
	fos_tc_bench__destroy(o->tcb);
	fos_xdp_bench__destroy(o->xdpb);
	memset(o, 0, sizeof(*o));
}

/* ---- frames ---------------------------------------------------------------- */

static uint32_t sum16(uint32_t s, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Ethernet + IPv4 + TCP (flags) or UDP (flags 0), 60 bytes, checksums set. */
static void build_frame(uint8_t proto, uint32_t saddr, uint16_t sport, uint32_t daddr,
			uint16_t dport, uint8_t tcp_flags, struct frame *ret)
{
	static const uint8_t mac_dst[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x02};
	static const uint8_t mac_src[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x01};
	uint8_t *ip = ret->b + ETH_HLEN, *l4 = ip + 20;
	size_t l4_len = 60 - ETH_HLEN - 20;
	uint32_t s;

	memset(ret, 0, sizeof(*ret));
	memcpy(ret->b, mac_dst, ETH_ALEN);
	memcpy(ret->b + ETH_ALEN, mac_src, ETH_ALEN);
	put16(ret->b + 2 * ETH_ALEN, ETH_P_IP);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + l4_len));
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = proto;
	put32(ip + 12, saddr);
	put32(ip + 16, daddr);
	put16(ip + 10, fold(sum16(0, ip, 20)));
	put16(l4, sport);
	put16(l4 + 2, dport);
	if (proto == IPPROTO_TCP) {
		put32(l4 + 4, 0x1000 + (tcp_flags & 0x02 ? 0 : 1));
		put32(l4 + 8, tcp_flags & 0x10 ? 0x2001 : 0);
		l4[12] = 5 << 4;
		l4[13] = tcp_flags;
		put16(l4 + 14, 65535);
	} else {
		put16(l4 + 4, (uint16_t)l4_len);
	}
	for (size_t i = proto == IPPROTO_TCP ? 20 : 8; i < l4_len; i++)
		l4[i] = (uint8_t)(0x5a ^ i);
	s = sum16(0, ip + 12, 8) + proto + (uint32_t)l4_len;
	put16(l4 + (proto == IPPROTO_TCP ? 16 : 6), fold(sum16(s, l4, l4_len)));
	ret->len = 60;
}

/* ---- loading ----------------------------------------------------------------- */

static const char *const ct_map_names[] = {"fos_ct", "fos_ct_cfg", "fos_ct_count", "fos_ct_stats"};

/* Give obj the connection table maps of from; those obj does not have are
 * skipped (the XDP filter has only the table and its settings). */
static int reuse_ct_maps(struct bpf_object *obj, struct bpf_object *from)
{
	for (size_t i = 0; i < ARRAY_SIZE(ct_map_names); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, ct_map_names[i]);
		struct bpf_map *f = bpf_object__find_map_by_name(from, ct_map_names[i]);

		if (!m)
			continue;
		if (!f)
			return -ENOENT;
		if (bpf_map__reuse_fd(m, bpf_map__fd(f)) < 0)
			return -errno;
	}
	return 0;
}

/* fos_tc, stateful or not, with a table of its own of `capacity` slots, or
 * the table of `share`. */
static int load_tc(bool stateful, uint32_t capacity, struct fos_tc *share, struct fos_tc **ret)
{
	struct fos_tc *s = fos_tc__open();
	int r;

	if (!s)
		return -errno;
	s->rodata->fos_stateful = stateful;
	r = share ? reuse_ct_maps(s->obj, share->obj)
		  : bpf_map__set_max_entries(s->maps.fos_ct, capacity);
	if (r == 0)
		r = fos_tc__load(s);
	if (r < 0) {
		fos_tc__destroy(s);
		return r;
	}
	*ret = s;
	return 0;
}

static int load_xdp(struct fos_tc *share, struct fos_xdp_filter **ret)
{
	struct fos_xdp_filter *s = fos_xdp_filter__open();
	int r;

	if (!s)
		return -errno;
	s->rodata->fos_stateful = true;
	r = reuse_ct_maps(s->obj, share->obj);
	if (r == 0)
		r = fos_xdp_filter__load(s);
	if (r < 0) {
		fos_xdp_filter__destroy(s);
		return r;
	}
	*ret = s;
	return 0;
}

/* The ruleset into slot 1 of a filter, then live. */
static int apply_ruleset(const struct fos_program *p, const struct fos_filter_maps *fm)
{
	struct fos_filter_ids ids = {0};
	struct fos_filter_rs rs = {0};
	struct fos_errors errs = {0};
	int r;

	r = fos_filter_build(p, &ids, &rs, &errs);
	for (size_t i = 0; i < errs.n; i++)
		log_error("%s", errs.msgs[i]);
	fos_errors_clear(&errs);
	if (r < 0)
		return r;
	rs.slot.generation = 1;
	r = fos_filter_write_slot(fm, 1, &rs);
	if (r == 0)
		r = fos_filter_flip(fm, 1);
	fos_filter_rs_free(&rs);
	return r;
}

static int write_ct_cfg(struct fos_tc *tc, uint64_t max_entries)
{
	struct fos_ct_cfg c = {
	    .timeout_ns =
		{
		    [FOS_CTT_TCP_SYN] = 60 * NS,
		    [FOS_CTT_TCP_EST] = 86400 * NS,
		    [FOS_CTT_TCP_FIN] = 120 * NS,
		    [FOS_CTT_TCP_CLOSE] = FOS_CT_CLOSE_TIMEOUT * NS,
		    [FOS_CTT_UDP] = 120 * NS,
		    [FOS_CTT_ICMP] = 30 * NS,
		},
	    .max_entries = max_entries,
	    .invalid = FOS_CT_INVALID_DROP,
	};
	uint32_t zero = 0;

	if (bpf_map__update_elem(tc->maps.fos_ct_cfg, &zero, sizeof(zero), &c, sizeof(c), BPF_ANY) <
	    0)
		return -errno;
	return 0;
}

/* ---- counters and runs ----------------------------------------------------------- */

static int percpu_u64s(int fd, uint32_t idx, int n_cpus, size_t u64s, uint64_t *ret_per_cpu)
{
	_cleanup_free_ uint64_t *v = calloc((size_t)n_cpus * u64s, sizeof(*v));

	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &idx, v) < 0)
		return -errno;
	/* the first u64 of each CPU's value: the counter, or a rule's packets */
	for (int c = 0; c < n_cpus; c++)
		ret_per_cpu[c] = v[(size_t)c * u64s];
	return 0;
}

static int counter_read(const struct counter *c, int n_cpus, uint64_t *ret)
{
	uint64_t v[n_cpus], sum = 0;
	int r;

	if (c->fd < 0) {
		*ret = 0;
		return 0;
	}
	r = percpu_u64s(c->fd, c->idx, n_cpus, c->u64s, v);
	if (r < 0)
		return r;
	for (int i = 0; i < n_cpus; i++)
		sum += v[i];
	*ret = sum;
	return 0;
}

static int run_prog(const struct bench_case *c, uint32_t repeat, uint32_t *ret_verdict,
		    uint32_t *ret_ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = c->frame->b, .data_size_in = c->frame->len,
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(c->fd, &opts) < 0)
		return -errno;
	*ret_verdict = opts.retval;
	*ret_ns = opts.duration;
	return 0;
}

/* The wrapper's PROG_ARRAY and template for case c. */
static int wrap_prepare(struct objs *o, const struct bench_case *c, uint32_t fill)
{
	uint32_t zero = 0;

	if (c->tpl == TPL_NONE)
		return 0;
	if (bpf_map__update_elem(o->tcb->maps.fos_bench_jmp, &zero, sizeof(zero), &c->target_fd,
				 sizeof(c->target_fd), BPF_ANY) < 0)
		return -errno;
	if (c->tpl == TPL_EST) {
		o->tcb->bss->fos_bench_saddr = BENCH_CT_FILL_SADDR;
		o->tcb->bss->fos_bench_sport = BENCH_CT_FILL_SPORT;
		o->tcb->bss->fos_bench_ports = BENCH_CT_FILL_PORTS;
		o->tcb->bss->fos_bench_flows = fill;
	} else {
		o->tcb->bss->fos_bench_saddr = NEW_SADDR;
		o->tcb->bss->fos_bench_sport = NEW_SPORT;
		o->tcb->bss->fos_bench_ports = NEW_PORTS;
		o->tcb->bss->fos_bench_flows = 0;
	}
	return 0;
}

/* The key of new flow n (TPL_NEW). */
static void new_flow_key(uint64_t n, struct fos_ct_key *ret)
{
	bench_ct_key_v4(NEW_SADDR + (uint32_t)(n / NEW_PORTS),
			(uint16_t)(NEW_SPORT + n % NEW_PORTS), BENCH_CT_SERVER, NEW_DPORT,
			IPPROTO_UDP, ret);
}

/* Delete the flows the wrapper made new between the sequence numbers seq0
 * and seq1 (per CPU) and count them removed; returns how many. */
static int64_t drop_new_flows(struct objs *o, const uint64_t *seq0, const uint64_t *seq1)
{
	int ct_fd = bpf_map__fd(o->tc_full->maps.fos_ct);
	int64_t total = 0;
	int r;

	for (int c = 0; c < o->n_cpus; c++) {
		uint64_t n = seq1[c] - seq0[c];
		_cleanup_free_ struct fos_ct_key *keys = NULL;
		int64_t d;

		if (!n)
			continue;
		keys = calloc(n, sizeof(*keys));
		if (!keys)
			return -ENOMEM;
		for (uint64_t i = 0; i < n; i++)
			new_flow_key(seq0[c] + i, &keys[i]);
		d = bench_ct_delete(ct_fd, keys, (uint32_t)n);
		if (d < 0)
			return d;
		total += d;
	}
	r = bench_ct_count_add(bpf_map__fd(o->tc_full->maps.fos_ct_count), FOS_CT_COUNT_REMOVED,
			       (uint64_t)total);
	if (r < 0)
		return r;
	return total;
}

/* One run of c with repeat packets: its verdict, its counter moved by
 * repeat (else, for an insert case, counted in short_runs; for the others
 * an error), the inserts removed again. */
static int run_case(struct objs *o, struct bench_case *c, uint32_t repeat, uint32_t fill,
		    uint32_t *ret_ns)
{
	int seq_fd = bpf_map__fd(o->tcb->maps.fos_bench_seq);
	uint64_t before = 0, after = 0, seq0[o->n_cpus], seq1[o->n_cpus];
	uint32_t verdict = 0, ns = 0;
	int r;

	r = wrap_prepare(o, c, fill);
	if (r < 0)
		return log_error_errno(r, "%s: cannot set the wrapper up", c->name);
	r = counter_read(&c->ctr, o->n_cpus, &before);
	if (r == 0 && c->insert)
		r = percpu_u64s(seq_fd, 0, o->n_cpus, 1, seq0);
	if (r < 0)
		return log_error_errno(r, "%s: cannot read counters", c->name);
	r = run_prog(c, repeat, &verdict, &ns);
	if (r < 0)
		return log_error_errno(r, "%s: test run", c->name);
	if ((int)verdict != c->verdict)
		return log_error_errno(-EPROTO, "%s: verdict %s, expected %s", c->name,
				       verdict_name(c->xdp, (int)verdict),
				       verdict_name(c->xdp, c->verdict));
	r = counter_read(&c->ctr, o->n_cpus, &after);
	if (r < 0)
		return log_error_errno(r, "%s: cannot read counters", c->name);
	if (c->ctr.fd >= 0 && after - before != repeat) {
		if (!c->insert)
			return log_error_errno(-EPROTO,
					       "%s: %s moved by %llu in a run of %u packets: the "
					       "packets did not take the path named",
					       c->name, c->ctr.what,
					       (unsigned long long)(after - before), repeat);
		c->short_runs++;
	}
	if (c->insert) {
		int64_t d;

		r = percpu_u64s(seq_fd, 0, o->n_cpus, 1, seq1);
		if (r < 0)
			return log_error_errno(r, "%s: cannot read the wrapper's sequence",
					       c->name);
		d = drop_new_flows(o, seq0, seq1);
		if (d < 0)
			return log_error_errno((int)d, "%s: cannot remove the new flows", c->name);
		if ((uint64_t)d != after - before)
			return log_error_errno(-EPROTO, "%s: %llu flows inserted, %lld removed",
					       c->name, (unsigned long long)(after - before),
					       (long long)d);
	}
	*ret_ns = ns;
	return 0;
}

/* A TCP handshake of the ACK's flow through a stateful firewall. */
static int establish(struct objs *o, struct fos_tc *tc, const char *what)
{
	struct frame syn, synack, ack;
	struct bench_case c = {.name = what,
			       .fd = bpf_program__fd(tc->progs.fos_tc_fw),
			       .verdict = TC_ACT_UNSPEC,
			       .ctr = {.fd = -1}};
	const struct frame *fs[] = {&syn, &synack, &ack};
	uint32_t ns;

	build_frame(IPPROTO_TCP, 0xc6120001, 40000, BENCH_CT_SERVER, 80, 0x02, &syn);
	build_frame(IPPROTO_TCP, BENCH_CT_SERVER, 80, 0xc6120001, 40000, 0x12, &synack);
	build_frame(IPPROTO_TCP, 0xc6120001, 40000, BENCH_CT_SERVER, 80, 0x10, &ack);
	for (size_t i = 0; i < ARRAY_SIZE(fs); i++) {
		int r;

		c.frame = fs[i];
		r = run_case(o, &c, 1, 0, &ns);
		if (r < 0)
			return r;
	}
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: bench-ct [-n RUNS] [-r REPEAT] [-i INSERTS] [-f FILL] [-c CPU]\n"
		   "ns/packet of connection tracking through BPF_PROG_TEST_RUN.\n\n"
		   "  -n, --runs N      runs per case, median reported (default 7, min 5)\n"
		   "  -r, --repeat N    packets per run (default 1000000)\n"
		   "  -i, --inserts N   packets per run of the insert case (default 50000)\n"
		   "  -f, --fill N      flows in the full table (default 1000000)\n"
		   "  -c, --cpu N       CPU to run on (default 0)\n");
}

static int parse_ul(const char *s, unsigned long min, unsigned long max, unsigned long *ret)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

enum {
	C_BARE_TC,
	C_STATELESS,
	C_EST_SMALL,
	C_EST_FULL,
	C_UDP_UNREPLIED,
	C_BARE_XDP,
	C_XDP_SMALL,
	C_XDP_FULL,
	C_WRAP_EST_BARE,
	C_WRAP_EST,
	C_WRAP_NEW_BARE,
	C_WRAP_NEW,
	_C_MAX,
};

struct bench {
	struct objs o;
	uint32_t fill;	    /* flows in the full table */
	uint64_t max_full;  /* its fos_ct_cfg.max_entries */
	uint64_t cap_full;  /* its slots */
	int64_t filled;	    /* flows written */
	double fill_ms;	    /* ... in this time */
	struct frame f_ack; /* the established flow's ACK */
	struct frame f_udp; /* UDP to port 53 */
	struct bench_case cases[_C_MAX];
	char names[_C_MAX][64];
};

/* Load every object, write the ruleset and the tables' settings, open the
 * established flow in both tables and fill the full one. */
static int bench_setup(struct bench *b, const struct fos_program *p)
{
	struct objs *o = &b->o;
	uint64_t now;
	double t0;
	int r;

	b->max_full = b->fill + b->fill / 10;
	b->cap_full = b->max_full + FOS_CT_MAP_SLACK(b->max_full);
	r = load_tc(true, SMALL_MAX + FOS_CT_MAP_SLACK(SMALL_MAX), NULL, &o->tc_small);
	if (r == 0)
		r = load_tc(true, (uint32_t)b->cap_full, NULL, &o->tc_full);
	if (r == 0)
		r = load_tc(false, 0, o->tc_small, &o->tc_stateless);
	if (r == 0)
		r = load_xdp(o->tc_small, &o->xdp_small);
	if (r == 0)
		r = load_xdp(o->tc_full, &o->xdp_full);
	if (r < 0)
		return log_error_errno(r, "cannot load the filter programs");
	o->tcb = fos_tc_bench__open_and_load();
	o->xdpb = o->tcb ? fos_xdp_bench__open_and_load() : NULL;
	if (!o->tcb || !o->xdpb)
		return log_error_errno(-errno, "cannot load the bench programs");

	const struct fos_filter_maps fms[] = {
	    FOS_FILTER_MAPS(o->tc_small),     FOS_FILTER_MAPS(o->tc_full),
	    FOS_FILTER_MAPS(o->tc_stateless), FOS_FILTER_MAPS(o->xdp_small),
	    FOS_FILTER_MAPS(o->xdp_full),
	};
	for (size_t i = 0; i < ARRAY_SIZE(fms); i++) {
		r = apply_ruleset(p, &fms[i]);
		if (r < 0)
			return log_error_errno(r, "cannot write the ruleset");
	}
	r = write_ct_cfg(o->tc_small, SMALL_MAX);
	if (r == 0)
		r = write_ct_cfg(o->tc_full, b->max_full);
	if (r == 0)
		r = establish(o, o->tc_small, "handshake, small table");
	if (r == 0)
		r = establish(o, o->tc_full, "handshake, full table");
	if (r < 0)
		return log_error_errno(r, "cannot set the tables up");

	t0 = now_ms();
	now = bench_boottime_ns();
	b->filled = bench_ct_fill(bpf_map__fd(o->tc_full->maps.fos_ct), b->fill, 0, now, now);
	b->fill_ms = now_ms() - t0;
	if (b->filled < 0)
		return log_error_errno((int)b->filled, "cannot fill the table with %u flows",
				       b->fill);
	/* as if the datapath had inserted them: the gate counts them */
	r = bench_ct_count_add(bpf_map__fd(o->tc_full->maps.fos_ct_count), FOS_CT_COUNT_INSERTED,
			       (uint64_t)b->filled);
	if (r < 0)
		return log_error_errno(r, "cannot count the filled flows");

	build_frame(IPPROTO_TCP, 0xc6120001, 40000, BENCH_CT_SERVER, 80, 0x10, &b->f_ack);
	build_frame(IPPROTO_UDP, 0xc6120001, NEW_SPORT, BENCH_CT_SERVER, NEW_DPORT, 0, &b->f_udp);
	return 0;
}

static struct counter stat_counter(struct bpf_map *stats, uint32_t idx, const char *what)
{
	return (struct counter){bpf_map__fd(stats), idx, 1, what};
}

/* The cases, in the order they run and print. */
static void bench_cases(struct bench *b, uint32_t repeat, uint32_t inserts)
{
	const struct objs *o = &b->o;
	const struct counter none = {.fd = -1};
	const struct counter rule80 = {
	    bpf_map__fd(o->tc_stateless->maps.fos_rule_stats), FOS_MAX_RULES + RULE_TCP80,
	    sizeof(struct fos_rule_counter) / sizeof(uint64_t), "the port-80 rule's counter"};
	const struct counter est_small =
	    stat_counter(o->tc_small->maps.fos_stats, FOS_STAT_CT_ESTABLISHED, "ct_established");
	const struct counter est_full =
	    stat_counter(o->tc_full->maps.fos_stats, FOS_STAT_CT_ESTABLISHED, "ct_established");
	const struct counter new_small =
	    stat_counter(o->tc_small->maps.fos_stats, FOS_STAT_CT_NEW, "ct_new");
	const struct counter created =
	    stat_counter(o->tc_full->maps.fos_ct_stats, FOS_CT_STAT_CREATED, "ct created");
	const int fw_small = bpf_program__fd(o->tc_small->progs.fos_tc_fw);
	const int fw_full = bpf_program__fd(o->tc_full->progs.fos_tc_fw);
	const int wrap = bpf_program__fd(o->tcb->progs.fos_tc_bench_wrap);
	const int ok = bpf_program__fd(o->tcb->progs.fos_tc_bench_ok);
	struct bench_case *c = b->cases;

	c[C_BARE_TC] = (struct bench_case){
	    .name = "bare TC (fos_tc_bench_ok)", .fd = ok, .verdict = TC_ACT_OK, .ctr = none};
	c[C_STATELESS] =
	    (struct bench_case){.name = "fos_tc_fw stateless, ACK -> rule",
				.fd = bpf_program__fd(o->tc_stateless->progs.fos_tc_fw),
				.verdict = TC_ACT_UNSPEC,
				.ctr = rule80};
	c[C_EST_SMALL] = (struct bench_case){.name = "fos_tc_fw stateful, established, 1 entry",
					     .fd = fw_small,
					     .verdict = TC_ACT_UNSPEC,
					     .ctr = est_small,
					     .est_target = true};
	c[C_EST_FULL] = (struct bench_case){.name = "fos_tc_fw stateful, established, %uk",
					    .fd = fw_full,
					    .verdict = TC_ACT_UNSPEC,
					    .ctr = est_full,
					    .est_target = true};
	c[C_UDP_UNREPLIED] =
	    (struct bench_case){.name = "fos_tc_fw stateful, UDP unreplied (NEW), 1 entry",
				.fd = fw_small,
				.frame = &b->f_udp,
				.verdict = TC_ACT_UNSPEC,
				.ctr = new_small};
	c[C_BARE_XDP] = (struct bench_case){.name = "bare XDP (fos_xdp_drop)",
					    .fd = bpf_program__fd(o->xdpb->progs.fos_xdp_drop),
					    .xdp = true,
					    .verdict = XDP_DROP,
					    .ctr = none};
	c[C_XDP_SMALL] =
	    (struct bench_case){.name = "fos_xdp_filter stateful, established, 1 entry",
				.fd = bpf_program__fd(o->xdp_small->progs.fos_xdp_filter),
				.xdp = true,
				.verdict = XDP_PASS,
				.ctr = stat_counter(o->xdp_small->maps.fos_stats,
						    FOS_STAT_CT_ESTABLISHED, "ct_established")};
	c[C_XDP_FULL] =
	    (struct bench_case){.name = "fos_xdp_filter stateful, established, %uk",
				.fd = bpf_program__fd(o->xdp_full->progs.fos_xdp_filter),
				.xdp = true,
				.verdict = XDP_PASS,
				.ctr = stat_counter(o->xdp_full->maps.fos_stats,
						    FOS_STAT_CT_ESTABLISHED, "ct_established")};
	c[C_WRAP_EST_BARE] = (struct bench_case){.name = "wrapper -> bare TC (ACK rewritten)",
						 .fd = wrap,
						 .verdict = TC_ACT_OK,
						 .ctr = none,
						 .tpl = TPL_EST,
						 .target_fd = ok};
	c[C_WRAP_EST] = (struct bench_case){.name = "wrapper -> fos_tc_fw, established, %uk cycled",
					    .fd = wrap,
					    .verdict = TC_ACT_UNSPEC,
					    .ctr = est_full,
					    .tpl = TPL_EST,
					    .target_fd = fw_full};
	c[C_WRAP_NEW_BARE] = (struct bench_case){.name = "wrapper -> bare TC (UDP rewritten)",
						 .fd = wrap,
						 .frame = &b->f_udp,
						 .repeat = inserts,
						 .verdict = TC_ACT_OK,
						 .ctr = none,
						 .tpl = TPL_NEW,
						 .target_fd = ok};
	c[C_WRAP_NEW] =
	    (struct bench_case){.name = "wrapper -> fos_tc_fw, new flow (insert) at %uk",
				.fd = wrap,
				.frame = &b->f_udp,
				.repeat = inserts,
				.verdict = TC_ACT_UNSPEC,
				.ctr = created,
				.tpl = TPL_NEW,
				.target_fd = fw_full,
				.insert = true};

	for (int i = 0; i < _C_MAX; i++) {
		if (!c[i].frame)
			c[i].frame = &b->f_ack;
		if (!c[i].repeat)
			c[i].repeat = repeat;
		if (strstr(c[i].name, "%uk")) {
			/* the name holds the size of the full table */
			snprintf(b->names[i], sizeof(b->names[i]), c[i].name, b->fill / 1000);
			c[i].name = b->names[i];
		}
	}
}

/* Each case once with one packet, then every case in turn, runs times. */
static int bench_run(struct bench *b, unsigned long runs)
{
	uint32_t ns;
	int r;

	for (int i = 0; i < _C_MAX; i++) {
		r = run_case(&b->o, &b->cases[i], 1, b->fill, &ns);
		if (r < 0)
			return r;
		b->cases[i].short_runs = 0;
	}
	for (unsigned long run = 0; run < runs; run++)
		for (int i = 0; i < _C_MAX; i++) {
			struct bench_case *c = &b->cases[i];

			r = run_case(&b->o, c, c->repeat, b->fill, &c->ns[run]);
			if (r < 0)
				return r;
		}
	return 0;
}

static const char *target_met(double v)
{
	return v <= TARGET_EST_NS ? "met" : "NOT met";
}

static void bench_print(struct bench *b, unsigned long runs, unsigned long cpu)
{
	struct bench_case *c = b->cases;
	double med[_C_MAX], net_est, net_new;

	printf("bench-ct: ns/packet via BPF_PROG_TEST_RUN, median of %lu runs, CPU %lu; repeat %u "
	       "(inserts: %u per run)\n",
	       runs, cpu, c[C_BARE_TC].repeat, c[C_WRAP_NEW].repeat);
	printf("ruleset: default drop + %d rules (written by daemon/filter.c); full table: %lld "
	       "flows written in %.0f ms (bpf_map_update_batch), %llu slots, max_entries %llu\n\n",
	       RULESET_N_RULES, (long long)b->filled, b->fill_ms, (unsigned long long)b->cap_full,
	       (unsigned long long)b->max_full);
	printf("%-50s %-13s %7s %5s %5s %7s  %s\n", "case", "verdict", "ns/pkt", "min", "max",
	       "x bare", "target");
	for (int i = 0; i < _C_MAX; i++)
		med[i] = bench_median(c[i].ns, runs); /* sorts: [0] is the minimum */
	for (int i = 0; i < _C_MAX; i++) {
		double base = c[i].xdp ? med[C_BARE_XDP] : med[C_BARE_TC];
		char target[32] = "";

		if (c[i].est_target && c[i].tpl == TPL_NONE)
			snprintf(target, sizeof(target), "<= %.0f: %s", TARGET_EST_NS,
				 target_met(med[i]));
		printf("%-50s %-13s %7.1f %5u %5u %7.2f  %s\n", c[i].name,
		       verdict_name(c[i].xdp, c[i].verdict), med[i], c[i].ns[0], c[i].ns[runs - 1],
		       base > 0 ? med[i] / base : 0.0, target);
	}

	net_est = med[C_WRAP_EST] - (med[C_WRAP_EST_BARE] - med[C_BARE_TC]);
	net_new = med[C_WRAP_NEW] - (med[C_WRAP_NEW_BARE] - med[C_BARE_TC]);
	printf("\nthrough the wrapper (another flow every packet): wrapper = wrapper -> bare TC - "
	       "bare "
	       "TC,\nnet = raw - wrapper, comparable to the rows above\n");
	printf("%-50s %7s %8s %7s  %s\n", "case", "raw", "wrapper", "net", "target");
	printf("%-50s %7.1f %8.1f %7.1f  <= %.0f: %s\n", c[C_WRAP_EST].name, med[C_WRAP_EST],
	       med[C_WRAP_EST_BARE] - med[C_BARE_TC], net_est, TARGET_EST_NS, target_met(net_est));
	printf("%-50s %7.1f %8.1f %7.1f\n", c[C_WRAP_NEW].name, med[C_WRAP_NEW],
	       med[C_WRAP_NEW_BARE] - med[C_BARE_TC], net_new);

	printf("\nover the stateless firewall (%.0f ns): established %+.0f ns (1 entry), %+.0f ns "
	       "(%uk, same flow), %+.0f ns (%uk, flows cycled); UDP unreplied %+.0f ns; "
	       "insert %+.0f ns\n",
	       med[C_STATELESS], med[C_EST_SMALL] - med[C_STATELESS],
	       med[C_EST_FULL] - med[C_STATELESS], b->fill / 1000, net_est - med[C_STATELESS],
	       b->fill / 1000, med[C_UDP_UNREPLIED] - med[C_STATELESS], net_new - med[C_STATELESS]);
	if (c[C_WRAP_NEW].short_runs)
		printf("note: in %u of %lu insert runs not every packet was inserted (the gate or "
		       "the map refused): that figure mixes inserts and refusals\n",
		       c[C_WRAP_NEW].short_runs, runs);
	else
		printf("every insert run inserted every packet (%u new flows per run, removed "
		       "after it: the table held %lld-%lld entries, max_entries %llu)\n",
		       c[C_WRAP_NEW].repeat, (long long)b->filled + 1,
		       (long long)b->filled + 1 + c[C_WRAP_NEW].repeat,
		       (unsigned long long)b->max_full);
}

static void bench_free(struct bench **b)
{
	if (*b)
		objs_free(&(*b)->o);
	free(*b);
	*b = NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"runs", required_argument, NULL, 'n'},
	    {"repeat", required_argument, NULL, 'r'},
	    {"inserts", required_argument, NULL, 'i'},
	    {"fill", required_argument, NULL, 'f'},
	    {"cpu", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	unsigned long runs = RUNS_DEFAULT, repeat = REPEAT_DEFAULT, inserts = INSERTS_DEFAULT;
	unsigned long fill = FILL_DEFAULT, cpu = 0;
	_cleanup_(fos_config_freep) struct fos_config *cfg = NULL;
	_cleanup_(bench_free) struct bench *b = NULL;
	struct fos_errors errs = {0};
	cpu_set_t set;
	int c, r;

	while ((c = getopt_long(argc, argv, "n:r:i:f:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			r = parse_ul(optarg, RUNS_MIN, RUNS_MAX, &runs);
			break;
		case 'r':
			r = parse_ul(optarg, 1, UINT32_MAX, &repeat);
			break;
		case 'i':
			r = parse_ul(optarg, 1, 1000000, &inserts);
			break;
		case 'f':
			r = parse_ul(optarg, 10, BENCH_CT_FILL_MAX, &fill);
			break;
		case 'c':
			r = parse_ul(optarg, 0, CPU_SETSIZE - 1, &cpu);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			r = -EINVAL;
			break;
		}
		if (r < 0) {
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (inserts + 1 > fill / 10) {
		fprintf(stderr,
			"bench-ct: --inserts %lu leaves no headroom in a table of %lu flows "
			"(at most %lu)\n",
			inserts, fill, fill / 10 - 1);
		return 2;
	}
	if (geteuid() != 0) {
		printf("bench-ct: SKIP: needs root (BPF_PROG_TEST_RUN, maps of 1M entries)\n");
		return EXIT_SKIP;
	}
	libbpf_set_print(libbpf_print);

	/* one CPU: the wrapper's per-CPU sequence must not move under us */
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		log_error_errno(-errno, "cannot run on CPU %lu", cpu);
		return 1;
	}

	r = fos_config_load_string("bench-ct.conf", ruleset_conf, &cfg, &errs);
	for (size_t i = 0; i < errs.n; i++)
		log_error("%s", errs.msgs[i]);
	fos_errors_clear(&errs);
	if (r < 0 || cfg->n_programs != 1 || cfg->programs[0].n_rules != RULESET_N_RULES) {
		log_error("the bench ruleset does not parse as expected");
		return 1;
	}

	b = calloc(1, sizeof(*b));
	if (!b)
		return 1;
	b->fill = (uint32_t)fill;
	b->o.n_cpus = libbpf_num_possible_cpus();
	if (b->o.n_cpus <= 0) {
		log_error_errno(b->o.n_cpus, "cannot count the CPUs");
		return 1;
	}
	if (bench_setup(b, &cfg->programs[0]) < 0)
		return 1;
	bench_cases(b, (uint32_t)repeat, (uint32_t)inserts);
	if (bench_run(b, runs) < 0)
		return 1;
	bench_print(b, runs, cpu);
	return 0;
}
