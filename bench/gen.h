/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bench-gen's options and its senders: fos_xdp_gen run with live frames
 * (gen.c), and, where the kernel refuses live-frame test runs, the same
 * frames sent through an AF_PACKET socket (gen_packet.c): as seeds that
 * fos_tc_gen multiplies on the interface's TC egress hook, or, with a rate
 * cap or without that hook, built here one by one.
 */
#ifndef FOS_BENCH_GEN_H
#define FOS_BENCH_GEN_H

#include <linux/if_ether.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* fos_gen_mode values of bpf/xdp_bench.bpf.c */
enum gen_mode {
	GEN_UDP = 0,
	GEN_SYN = 1,
	GEN_ICMP = 2,
};

struct gen_opts {
	unsigned ifindex;
	enum gen_mode mode;
	unsigned long pps;	   /* 0: as fast as possible */
	struct in_addr src_prefix; /* --src-prefix: random sources inside it */
	unsigned src_plen;	   /* its length; 32 = none */
	double seconds;
	size_t frame_len;
	uint8_t src_mac[ETH_ALEN];
	uint8_t dst_mac[ETH_ALEN];
	bool have_src_mac, have_dst_mac;
	struct in_addr saddr, daddr;
	uint16_t sport, dport;
	uint32_t n_sports, n_saddrs;
};

/* fos_tc_gen's seeds: the mark they leave with, the frames made of each */
#define GEN_SEED_MARK 0x0f05eed0U
#define GEN_COPIES    32U

/* the signal that ends a run (SIGALRM: its time is up), 0 while it goes on */
extern volatile sig_atomic_t gen_stop_signal;

double gen_now_s(void);

/*
 * Send o's frames through an AF_PACKET socket bound to o->ifindex (the
 * qdisc bypassed, as a driver's transmit) until o->seconds have passed or a
 * signal ends the run: frame n as fos_xdp_gen writes its n-th. *ret_frames:
 * frames the interface took, *ret_seconds: how long it ran. 0 or -errno.
 *
 * With seed_mark, the frames are seeds for fos_tc_gen on the interface's
 * TC egress hook instead: they leave marked with it, through the egress
 * hook (not bypassed), and are not built here; *ret_frames counts seeds.
 */
int gen_packet_run(const struct gen_opts *o, uint32_t seed_mark, uint64_t *ret_frames,
		   double *ret_seconds);

#endif
