/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bench-gen: a traffic generator for the veth benchmarks and the flood tests:
 * UDP, TCP SYNs from random sources inside a prefix, or ICMP echo requests.
 *
 * Loads fos_xdp_gen (bpf/xdp_bench.bpf.c) with its template set from the
 * options and runs it with BPF_PROG_TEST_RUN and BPF_F_TEST_XDP_LIVE_FRAMES:
 * every frame the program returns XDP_TX for leaves through the interface
 * given, so it arrives on the veth peer. One long test run (a huge repeat
 * count) is stopped by SIGALRM after the given time; the call then fails with
 * EINTR, and the frames sent are read from the program's per-CPU counter.
 * Short calls would each build and tear down a page pool, which blocks for
 * tens of milliseconds. With --pps the program itself holds frames back until
 * their time has come (the sending CPU spins meanwhile).
 *
 * A kernel that refuses live-frame test runs gets the same frames another
 * way, said once on stderr: seeds through an AF_PACKET socket that
 * fos_tc_gen, on the interface's tc egress hook for the run, writes and
 * clones GEN_COPIES times each; with --pps, or where that hook cannot be
 * had, every frame built and sent through the socket (gen_packet.c).
 *
 * SIGINT and SIGTERM end the run early, as the timer does.
 *
 * Prints one line: "frames N seconds S mpps M".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>

#include "cleanup.h"
#include "log.h"
#include "gen.h"
#include "xdp_bench.skel.h"

#define EXIT_SKIP 77

#define FRAME_MIN      42 /* Ethernet + IPv4 + UDP headers */
#define FRAME_MIN_SYN  58 /* Ethernet + IPv4 + TCP with the MSS option */
#define FRAME_MIN_ICMP 58 /* Ethernet + IPv4 + ICMP echo with 16 bytes of data */
#define FRAME_MAX      1500
#define GEN_PPS_MAX    100000000UL
#ifndef ENOTSUPP
#define ENOTSUPP 524 /* the kernel's own "operation not supported" */
#endif

volatile sig_atomic_t gen_stop_signal;

static void on_signal(int sig)
{
	gen_stop_signal = sig;
}

static void gen_freep(struct fos_xdp_bench **p)
{
	fos_xdp_bench__destroy(*p);
	*p = NULL;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: bench-gen -i IFACE [OPTIONS]\n"
		   "Send frames out of IFACE (to its veth peer) with fos_xdp_gen.\n\n"
		   "  -i, --interface IF   interface to send from (name or index), required\n"
		   "  -m, --mode M         udp (default), syn: TCP SYNs with random source\n"
		   "                       ports and sequence numbers, icmp: echo requests\n"
		   "  -t, --seconds S      how long to send (default 5)\n"
		   "  -l, --length N       frame length in bytes without FCS (default 60;\n"
		   "                       at least 42 for udp, 58 for syn and icmp)\n"
		   "  -r, --pps N          send at most N frames per second (default: as fast\n"
		   "                       as the CPU can; the CPU spins between frames)\n"
		   "      --src-prefix P   a random source address inside the IPv4 prefix P\n"
		   "                       (e.g. 198.18.128.0/17) for every frame\n"
		   "      --src-mac MAC    source MAC (default: the interface's)\n"
		   "      --dst-mac MAC    destination MAC (default ff:ff:ff:ff:ff:ff)\n"
		   "      --saddr A        first IPv4 source address (default 198.18.0.1)\n"
		   "      --daddr A        IPv4 destination address (default 198.19.0.1)\n"
		   "      --sport P        first UDP source port; ICMP identifier (default 1024)\n"
		   "      --dport P        UDP or TCP destination port (default 9)\n"
		   "      --sports N       distinct source ports (default 1)\n"
		   "      --saddrs N       distinct source addresses (default 1)\n");
}

static int parse_mac(const char *s, uint8_t ret[ETH_ALEN])
{
	unsigned v[ETH_ALEN];
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != ETH_ALEN)
		return -EINVAL;
	for (i = 0; i < ETH_ALEN; i++) {
		if (v[i] > 0xff)
			return -EINVAL;
	}
	for (i = 0; i < ETH_ALEN; i++)
		ret[i] = (uint8_t)v[i];
	return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* The MAC address of an interface of this namespace, from sysfs. */
static int read_mac(const char *ifname, uint8_t ret[ETH_ALEN])
{
	_cleanup_fclose_ FILE *f = NULL;
	char path[128], buf[64];

	snprintf(path, sizeof(path), "/sys/class/net/%s/address", ifname);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		return -EIO;
	buf[strcspn(buf, "\n")] = 0;
	return parse_mac(buf, ret);
}

/* "A.B.C.D/N": the prefix's first address and its length (0-32). */
static int parse_prefix(const char *s, struct in_addr *ret_addr, unsigned *ret_plen)
{
	char buf[INET_ADDRSTRLEN + 4];
	unsigned long plen;
	struct in_addr a;
	char *slash;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = 0;
	if (inet_pton(AF_INET, buf, &a) != 1 || parse_uint(slash + 1, 32, &plen) < 0)
		return -EINVAL;
	if (plen < 32)
		a.s_addr &= htonl(plen ? UINT32_MAX << (32 - plen) : 0);
	*ret_addr = a;
	*ret_plen = (unsigned)plen;
	return 0;
}

static int parse_args(int argc, char **argv, struct gen_opts *o)
{
	enum {
		OPT_SRC_MAC = 256,
		OPT_DST_MAC,
		OPT_SADDR,
		OPT_DADDR,
		OPT_SPORT,
		OPT_DPORT,
		OPT_SPORTS,
		OPT_SADDRS,
		OPT_SRC_PREFIX
	};
	static const struct option opts[] = {
	    {"interface", required_argument, NULL, 'i'},
	    {"mode", required_argument, NULL, 'm'},
	    {"pps", required_argument, NULL, 'r'},
	    {"src-prefix", required_argument, NULL, OPT_SRC_PREFIX},
	    {"seconds", required_argument, NULL, 't'},
	    {"length", required_argument, NULL, 'l'},
	    {"src-mac", required_argument, NULL, OPT_SRC_MAC},
	    {"dst-mac", required_argument, NULL, OPT_DST_MAC},
	    {"saddr", required_argument, NULL, OPT_SADDR},
	    {"daddr", required_argument, NULL, OPT_DADDR},
	    {"sport", required_argument, NULL, OPT_SPORT},
	    {"dport", required_argument, NULL, OPT_DPORT},
	    {"sports", required_argument, NULL, OPT_SPORTS},
	    {"saddrs", required_argument, NULL, OPT_SADDRS},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	char ifname[IF_NAMESIZE] = "";
	unsigned long v;
	size_t frame_min;
	char *end;
	int c, r = 0;

	while ((c = getopt_long(argc, argv, "i:m:r:t:l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o->ifindex = if_nametoindex(optarg);
			if (!o->ifindex && parse_uint(optarg, UINT32_MAX, &v) == 0) {
				o->ifindex = (unsigned)v;
				if (!if_indextoname(o->ifindex, ifname))
					o->ifindex = 0;
			} else {
				snprintf(ifname, sizeof(ifname), "%s", optarg);
			}
			if (!o->ifindex)
				return log_error_errno(-ENODEV, "no interface %s", optarg);
			break;
		case 'm':
			if (strcmp(optarg, "udp") == 0)
				o->mode = GEN_UDP;
			else if (strcmp(optarg, "syn") == 0)
				o->mode = GEN_SYN;
			else if (strcmp(optarg, "icmp") == 0)
				o->mode = GEN_ICMP;
			else
				return log_error_errno(-EINVAL, "--mode %s: udp, syn or icmp",
						       optarg);
			break;
		case 'r':
			r = parse_uint(optarg, GEN_PPS_MAX, &v);
			if (r < 0 || v == 0)
				return log_error_errno(-EINVAL, "--pps %s: 1-%lu", optarg,
						       GEN_PPS_MAX);
			o->pps = v;
			break;
		case OPT_SRC_PREFIX:
			r = parse_prefix(optarg, &o->src_prefix, &o->src_plen);
			if (r < 0)
				return log_error_errno(r, "bad IPv4 prefix %s", optarg);
			break;
		case 't':
			errno = 0;
			o->seconds = strtod(optarg, &end);
			if (errno || end == optarg || *end || o->seconds <= 0 || o->seconds > 3600)
				return log_error_errno(-EINVAL, "--seconds %s", optarg);
			break;
		case 'l':
			r = parse_uint(optarg, FRAME_MAX, &v);
			if (r < 0 || v < FRAME_MIN)
				return log_error_errno(-EINVAL, "--length %s: %d-%d", optarg,
						       FRAME_MIN, FRAME_MAX);
			o->frame_len = v;
			break;
		case OPT_SRC_MAC:
		case OPT_DST_MAC:
			r = parse_mac(optarg, c == OPT_SRC_MAC ? o->src_mac : o->dst_mac);
			if (r < 0)
				return log_error_errno(r, "bad MAC address %s", optarg);
			if (c == OPT_SRC_MAC)
				o->have_src_mac = true;
			else
				o->have_dst_mac = true;
			break;
		case OPT_SADDR:
		case OPT_DADDR:
			if (inet_pton(AF_INET, optarg, c == OPT_SADDR ? &o->saddr : &o->daddr) != 1)
				return log_error_errno(-EINVAL, "bad IPv4 address %s", optarg);
			break;
		case OPT_SPORT:
		case OPT_DPORT:
			r = parse_uint(optarg, UINT16_MAX, &v);
			if (r < 0)
				return log_error_errno(r, "bad port %s", optarg);
			if (c == OPT_SPORT)
				o->sport = (uint16_t)v;
			else
				o->dport = (uint16_t)v;
			break;
		case OPT_SPORTS:
		case OPT_SADDRS:
			r = parse_uint(optarg, UINT32_MAX, &v);
			if (r < 0 || v == 0)
				return log_error_errno(-EINVAL, "bad count %s", optarg);
			if (c == OPT_SPORTS)
				o->n_sports = (uint32_t)v;
			else
				o->n_saddrs = (uint32_t)v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc || !o->ifindex) {
		usage(stderr);
		return -EINVAL;
	}

	frame_min = o->mode == GEN_SYN	  ? FRAME_MIN_SYN
		    : o->mode == GEN_ICMP ? FRAME_MIN_ICMP
					  : FRAME_MIN;
	if (o->frame_len < frame_min)
		return log_error_errno(-EINVAL, "--length %zu: --mode %s needs at least %zu bytes",
				       o->frame_len, o->mode == GEN_SYN ? "syn" : "icmp",
				       frame_min);

	if (o->src_plen < 32)
		o->saddr = o->src_prefix;

	if (!o->have_src_mac) {
		r = read_mac(ifname, o->src_mac);
		if (r < 0)
			return log_error_errno(r, "cannot read the MAC address of %s", ifname);
	}
	if (!o->have_dst_mac)
		memset(o->dst_mac, 0xff, ETH_ALEN);
	return 0;
}

static void set_rodata(struct fos_xdp_bench *skel, const struct gen_opts *o)
{
	struct fos_xdp_bench__rodata *ro = skel->rodata;

	memcpy((void *)ro->fos_gen_src_mac, o->src_mac, ETH_ALEN);
	memcpy((void *)ro->fos_gen_dst_mac, o->dst_mac, ETH_ALEN);
	ro->fos_gen_saddr = o->saddr.s_addr;
	ro->fos_gen_daddr = o->daddr.s_addr;
	ro->fos_gen_sport = o->sport;
	ro->fos_gen_dport = o->dport;
	ro->fos_gen_n_sports = o->n_sports;
	ro->fos_gen_n_saddrs = o->n_saddrs;
	ro->fos_gen_mode = o->mode;
	ro->fos_gen_src_mask = o->src_plen < 32 ? htonl(UINT32_MAX >> o->src_plen) : 0;
	ro->fos_gen_interval_ns = o->pps ? 1000000000ULL / o->pps : 0;
	ro->fos_gen_seed_mark = GEN_SEED_MARK;
	ro->fos_gen_copies = GEN_COPIES;
}

static int frames_sent(struct fos_xdp_bench *skel, uint64_t *ret)
{
	int n_cpus = libbpf_num_possible_cpus();
	_cleanup_free_ uint64_t *v = NULL;
	uint32_t zero = 0;
	uint64_t sum = 0;

	if (n_cpus <= 0)
		return n_cpus < 0 ? n_cpus : -EINVAL;
	v = calloc(n_cpus, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map__lookup_elem(skel->maps.fos_gen_count, &zero, sizeof(zero), v,
				 sizeof(*v) * n_cpus, 0) < 0)
		return -errno;
	for (int i = 0; i < n_cpus; i++)
		sum += v[i];
	*ret = sum;
	return 0;
}

double gen_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One long live-frames run, until a signal; returns the seconds it ran. */
static int run_live(struct fos_xdp_bench *skel, const struct gen_opts *o, double *ret_seconds)
{
	uint8_t frame[FRAME_MAX] = {0};
	/* the kernel wants data_end to be the frame's length */
	struct xdp_md ctx = {.data_end = o->frame_len, .ingress_ifindex = o->ifindex};
	struct itimerval it = {0};
	double t0, t1;
	int r;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = o->frame_len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = UINT32_MAX,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

	it.it_value.tv_sec = (time_t)o->seconds;
	it.it_value.tv_usec = (suseconds_t)((o->seconds - (double)it.it_value.tv_sec) * 1e6);
	t0 = gen_now_s();
	if (setitimer(ITIMER_REAL, &it, NULL) < 0)
		return -errno;
	r = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.fos_xdp_gen), &opts);
	t1 = gen_now_s();
	if (r < 0)
		r = -errno;
	if (r < 0 && r != -EINTR) {
		it = (struct itimerval){0};
		(void)setitimer(ITIMER_REAL, &it, NULL);
		/* EPERM, EOPNOTSUPP, EINVAL: a kernel that refuses live
		 * frames; the caller may send another way */
		if (r == -EPERM || r == -EOPNOTSUPP || r == -EINVAL || r == -ENOTSUPP)
			return r;
		return log_error_errno(r, "live-frames test run");
	}
	*ret_seconds = t1 - t0;
	return 0;
}

/*
 * Seeds through an AF_PACKET socket, fos_tc_gen on the interface's tc egress
 * multiplying them (a clsact filter of its own, removed after the run): 0,
 * -EOPNOTSUPP when the hook cannot be had (the caller sends without it), or
 * another -errno, said.
 */
static int run_cloned(struct fos_xdp_bench *skel, const struct gen_opts *o, uint64_t *ret_frames,
		      double *ret_seconds)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)o->ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, tc, .prog_fd = bpf_program__fd(skel->progs.fos_tc_gen));
	uint64_t seeds = 0;
	bool made_hook;
	int r, rd;

	r = bpf_tc_hook_create(&hook);
	if (r < 0 && r != -EEXIST) {
		log_error_errno(r, "cannot make a clsact qdisc on ifindex %u", o->ifindex);
		return -EOPNOTSUPP;
	}
	made_hook = r == 0;
	r = bpf_tc_attach(&hook, &tc);
	if (r < 0) {
		log_error_errno(r, "cannot attach fos_tc_gen to ifindex %u", o->ifindex);
		if (made_hook)
			(void)bpf_tc_hook_destroy(&hook);
		return -EOPNOTSUPP;
	}
	r = gen_packet_run(o, GEN_SEED_MARK, &seeds, ret_seconds);
	tc.prog_fd = 0;
	tc.prog_id = 0;
	tc.flags = 0;
	rd = bpf_tc_detach(&hook, &tc);
	if (rd < 0)
		log_error_errno(rd, "cannot detach fos_tc_gen from ifindex %u", o->ifindex);
	if (made_hook) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS; /* the qdisc */
		(void)bpf_tc_hook_destroy(&hook);
	}
	if (r < 0)
		return r == -EOPNOTSUPP ? -EIO : r;
	r = frames_sent(skel, ret_frames);
	if (r < 0)
		return log_error_errno(r, "cannot read the frame counter");
	return 0;
}

int main(int argc, char **argv)
{
	_cleanup_(gen_freep) struct fos_xdp_bench *skel = NULL;
	struct gen_opts o = {
	    .seconds = 5,
	    .frame_len = 60,
	    .sport = 1024,
	    .dport = 9,
	    .n_sports = 1,
	    .n_saddrs = 1,
	    .src_plen = 32,
	};
	struct sigaction sa = {.sa_handler = on_signal};
	uint64_t frames = 0;
	double secs = 0;
	int r;

	inet_pton(AF_INET, "198.18.0.1", &o.saddr);
	inet_pton(AF_INET, "198.19.0.1", &o.daddr);
	if (parse_args(argc, argv, &o) < 0)
		return 2;
	if (geteuid() != 0) {
		fprintf(stderr, "bench-gen: needs root (BPF_PROG_TEST_RUN with live frames)\n");
		return EXIT_SKIP;
	}

	/* no SA_RESTART: a live-frames test run must come back with EINTR */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGTERM, &sa, NULL) < 0) {
		log_error_errno(-errno, "cannot handle signals");
		return 1;
	}

	skel = fos_xdp_bench__open();
	if (!skel) {
		log_error_errno(-errno, "cannot open the bench BPF object");
		return 1;
	}
	set_rodata(skel, &o);
	r = fos_xdp_bench__load(skel);
	if (r < 0) {
		log_error_errno(r, "cannot load the bench BPF object");
		return 1;
	}
	r = run_live(skel, &o, &secs);
	if (r == -EPERM || r == -EOPNOTSUPP || r == -EINVAL || r == -ENOTSUPP) {
		int refused = r;

		r = o.pps ? -EOPNOTSUPP : run_cloned(skel, &o, &frames, &secs);
		if (r == 0) {
			fprintf(
			    stderr,
			    "bench-gen: this kernel refuses live-frame test runs (%s): AF_PACKET "
			    "seeds went out, each made %u frames by fos_tc_gen on the tc egress "
			    "hook\n",
			    strerror(-refused), GEN_COPIES);
		} else if (r == -EOPNOTSUPP) {
			fprintf(stderr,
				"bench-gen: this kernel refuses live-frame test runs (%s): the "
				"frames go out through an AF_PACKET socket instead%s\n",
				strerror(-refused),
				o.pps ? " (one by one: a rate cap)" : " (no tc egress hook)");
			if (gen_packet_run(&o, 0, &frames, &secs) < 0)
				return 1;
		} else {
			return 1;
		}
	} else if (r < 0) {
		return 1;
	} else {
		r = frames_sent(skel, &frames);
		if (r < 0) {
			log_error_errno(r, "cannot read the frame counter");
			return 1;
		}
	}
	printf("frames %llu seconds %.3f mpps %.3f\n", (unsigned long long)frames, secs,
	       secs > 0 ? frames / secs / 1e6 : 0.0);
	return 0;
}
