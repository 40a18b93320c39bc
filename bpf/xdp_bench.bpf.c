// SPDX-License-Identifier: GPL-2.0-only
/*
 * Programs for the benchmarks in bench/.
 *
 * fos_xdp_drop   XDP_DROP without touching the packet: the cost floor.
 * fos_xdp_count  counts frames in fos_rx_count and drops them: a receiver that
 *                measures the offered rate when no filter is attached.
 * fos_xdp_sink_spoofed  drops IPv4 frames to 198.18.128.0/17, the prefix the
 *                benchmarks spoof sources from, and passes the rest: a host
 *                under a spoofed flood never sees the answers to the spoofed
 *                addresses, while its own traffic goes to its stack.
 * fos_xdp_gen    a traffic generator for BPF_PROG_TEST_RUN with
 *                BPF_F_TEST_XDP_LIVE_FRAMES: on every frame it writes the
 *                Ethernet, IPv4 and transport headers from the template below
 *                (the page pool recycles frames without copying data_in again,
 *                so a frame may come back rewritten by its receiver), varies
 *                the source, counts the frame in fos_gen_count and returns
 *                XDP_TX. The frame length is the length of data_in; frames
 *                too short for the mode's headers are dropped.
 * fos_tc_gen     the same frames where the kernel refuses live-frame test
 *                runs: on a TC egress hook, every frame marked
 *                fos_gen_seed_mark (sent by bench-gen through an AF_PACKET
 *                socket with that mark) becomes fos_gen_copies frames: it
 *                is written as the next frame and a clone of it leaves
 *                (bpf_clone_redirect to the same interface's egress), over
 *                again, and the seed itself leaves as the last one. Frames
 *                without the mark pass untouched. No rate cap.
 *
 * Template, set through the skeleton's rodata before load:
 *   fos_gen_mode                      enum fos_gen_mode: what each frame carries
 *   fos_gen_dst_mac, fos_gen_src_mac  Ethernet addresses
 *   fos_gen_saddr, fos_gen_daddr      IPv4 addresses, network byte order;
 *                                     fos_gen_saddr is the first source address
 *   fos_gen_sport                     first source port, host byte order
 *   fos_gen_dport                     destination port, host byte order
 *   fos_gen_n_sports                  distinct source ports (0 counts as 1)
 *   fos_gen_n_saddrs                  distinct source addresses (0 counts as 1)
 *   fos_gen_src_mask                  host mask, network byte order: when not 0,
 *                                     every frame's source address is
 *                                     fos_gen_saddr with the mask's bits random
 *                                     (a random source inside a prefix)
 *   fos_gen_interval_ns               when not 0, at most one frame per interval
 *                                     leaves (a rate cap): a frame that comes
 *                                     too early is dropped uncounted, so the
 *                                     sending CPU spins while it waits
 *
 * FOS_GEN_UDP (at least 42 bytes): UDP; frame n (per CPU) goes from source
 * port fos_gen_sport + n % n_sports and source address fos_gen_saddr +
 * (n / n_sports) % n_saddrs, so every combination appears once per n_sports *
 * n_saddrs frames.
 * FOS_GEN_SYN (at least 58 bytes): a TCP SYN with an MSS option, from a random
 * source port (1024-65535) and a random sequence number, to fos_gen_dport;
 * source addresses as for UDP.
 * FOS_GEN_ICMP (at least 58 bytes): an ICMP echo request with 16 bytes of
 * data, identifier fos_gen_sport and sequence number n; source addresses as
 * for UDP.
 * IPv4, TCP and ICMP checksums are computed for every frame; bytes of the
 * frame beyond the IPv4 total length are Ethernet padding.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "csum.bpf.h"
#include "icmp.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u8 fos_gen_dst_mac[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x02};
const volatile __u8 fos_gen_src_mac[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x01};
const volatile __be32 fos_gen_saddr = bpf_htonl(0xc6120001); /* 198.18.0.1 */
const volatile __be32 fos_gen_daddr = bpf_htonl(0xc6130001); /* 198.19.0.1 */
const volatile __u16 fos_gen_sport = 1024;
const volatile __u16 fos_gen_dport = 9;
const volatile __u32 fos_gen_n_sports = 1;
const volatile __u32 fos_gen_n_saddrs = 1;
const volatile __be32 fos_gen_src_mask = 0;
const volatile __u64 fos_gen_interval_ns = 0;

enum fos_gen_mode {
	FOS_GEN_UDP = 0,
	FOS_GEN_SYN = 1,
	FOS_GEN_ICMP = 2,
};
const volatile __u32 fos_gen_mode = FOS_GEN_UDP;
/* fos_tc_gen: the mark of a seed, the frames made of one (at most
 * FOS_GEN_COPIES_MAX) */
const volatile __u32 fos_gen_seed_mark = 0;
const volatile __u32 fos_gen_copies = 1;

#define FOS_GEN_TCP_HLEN    24 /* a TCP header with the MSS option */
#define FOS_GEN_ICMP_DATA   16
#define FOS_GEN_CATCH_UP_NS 50000000ULL /* 50 ms */
#define FOS_GEN_COPIES_MAX  64

/* the rate cap: the earliest time the next frame may leave. One for all
 * CPUs: the single test run may move between them. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} fos_gen_next SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} fos_gen_count SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} fos_rx_count SEC(".maps");

SEC("xdp")
int fos_xdp_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int fos_xdp_count(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *c = bpf_map_lookup_elem(&fos_rx_count, &zero);

	if (c)
		*c += 1;
	return XDP_DROP;
}

SEC("xdp")
int fos_xdp_sink_spoofed(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);

	if ((void *)(iph + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	/* 198.18.128.0/17 */
	if ((bpf_ntohl(iph->daddr) & 0xffff8000U) == 0xc6128000U)
		return XDP_DROP;
	return XDP_PASS;
}

/* 0 when the frame must wait for the rate cap */
static __always_inline int _fos_gen_paced(void)
{
	__u32 zero = 0;
	__u64 now, *next;

	if (!fos_gen_interval_ns)
		return 1;
	next = bpf_map_lookup_elem(&fos_gen_next, &zero);
	if (!next)
		return 0;
	now = bpf_ktime_get_ns();
	if (now < *next)
		return 0;
	/* frames held up by a short stall (the run preempted) leave at once, so
	 * the rate holds on average; after a long pause (the first frame) the
	 * schedule starts again from now rather than send a burst */
	if (*next + FOS_GEN_CATCH_UP_NS < now)
		*next = now;
	*next += fos_gen_interval_ns;
	return 1;
}

static __always_inline __be32 _fos_gen_saddr(__u64 seq, __u32 n_sports)
{
	__u32 n_saddrs = fos_gen_n_saddrs ? fos_gen_n_saddrs : 1;

	if (fos_gen_src_mask)
		return (fos_gen_saddr & ~fos_gen_src_mask) |
		       (bpf_get_prandom_u32() & fos_gen_src_mask);
	return bpf_htonl(bpf_ntohl(fos_gen_saddr) + (__u32)((seq / n_sports) % n_saddrs));
}

static __always_inline void _fos_gen_ip(struct ethhdr *eth, struct iphdr *iph, __u64 seq,
					__u8 proto, __u32 tot_len, __be32 saddr)
{
	int i;

#pragma unroll
	for (i = 0; i < ETH_ALEN; i++) {
		eth->h_dest[i] = fos_gen_dst_mac[i];
		eth->h_source[i] = fos_gen_src_mac[i];
	}
	eth->h_proto = bpf_htons(ETH_P_IP);

	iph->version = 4;
	iph->ihl = sizeof(*iph) / 4;
	iph->tos = 0;
	iph->tot_len = bpf_htons(tot_len);
	iph->id = bpf_htons((__u16)seq);
	iph->frag_off = bpf_htons(0x4000); /* DF */
	iph->ttl = 64;
	iph->protocol = proto;
	iph->check = 0;
	iph->saddr = saddr;
	iph->daddr = fos_gen_daddr;
	iph->check = fos_csum_fold(fos_csum_add16(0, iph, sizeof(*iph) / 2));
}

/* The next frame written over the one at data (len bytes from the IPv4
 * header on) and counted: 0, or -1 when it is too short for the mode. */
static __always_inline int _fos_gen_write(void *data, void *data_end, __u32 len)
{
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	__u32 zero = 0, n_sports;
	__u64 *count, seq;

	if ((void *)(iph + 1) > data_end)
		return -1;
	count = bpf_map_lookup_elem(&fos_gen_count, &zero);
	if (!count)
		return -1;
	n_sports = fos_gen_n_sports ? fos_gen_n_sports : 1;

	if (fos_gen_mode == FOS_GEN_SYN) {
		struct tcphdr *th = (void *)(iph + 1);
		__u8 *opt = (void *)(th + 1);
		__u32 rnd = bpf_get_prandom_u32();
		__u64 sum;

		if ((void *)opt + 4 > data_end)
			return -1;
		seq = (*count)++;
		_fos_gen_ip(eth, iph, seq, IPPROTO_TCP, sizeof(*iph) + FOS_GEN_TCP_HLEN,
			    _fos_gen_saddr(seq, n_sports));
		th->source = bpf_htons((__u16)(1024 + rnd % (65536 - 1024)));
		th->dest = bpf_htons(fos_gen_dport);
		th->seq = bpf_get_prandom_u32();
		th->ack_seq = 0;
		/* data offset 6 words, SYN */
		*((__u16 *)th + 6) = bpf_htons((FOS_GEN_TCP_HLEN / 4) << 12 | 0x02);
		th->window = bpf_htons(64240);
		th->check = 0;
		th->urg_ptr = 0;
		opt[0] = 2; /* MSS, length 4, 1460 */
		opt[1] = 4;
		opt[2] = 1460 >> 8;
		opt[3] = 1460 & 0xff;
		/* pseudo header: addresses, protocol, TCP length */
		sum = fos_csum_add16(0, &iph->saddr, 4);
		sum += bpf_htons(IPPROTO_TCP) + bpf_htons(FOS_GEN_TCP_HLEN);
		sum = fos_csum_add16(sum, th, FOS_GEN_TCP_HLEN / 2);
		th->check = fos_csum_fold(sum);
		return 0;
	}

	if (fos_gen_mode == FOS_GEN_ICMP) {
		struct fos_icmphdr *ih = (void *)(iph + 1);
		__u8 *payload = (void *)(ih + 1);
		int i;

		if ((void *)payload + FOS_GEN_ICMP_DATA > data_end)
			return -1;
		seq = (*count)++;
		_fos_gen_ip(eth, iph, seq, IPPROTO_ICMP,
			    sizeof(*iph) + sizeof(*ih) + FOS_GEN_ICMP_DATA,
			    _fos_gen_saddr(seq, n_sports));
		ih->type = FOS_ICMP_ECHO;
		ih->code = 0;
		ih->checksum = 0;
		ih->id = bpf_htons(fos_gen_sport);
		ih->sequence = bpf_htons((__u16)seq);
#pragma unroll
		for (i = 0; i < FOS_GEN_ICMP_DATA; i++)
			payload[i] = (__u8)i;
		ih->checksum =
		    fos_csum_fold(fos_csum_add16(0, ih, (sizeof(*ih) + FOS_GEN_ICMP_DATA) / 2));
		return 0;
	}

	{
		struct udphdr *uh = (void *)(iph + 1);

		if ((void *)(uh + 1) > data_end)
			return -1;
		seq = (*count)++;
		_fos_gen_ip(eth, iph, seq, IPPROTO_UDP, len, _fos_gen_saddr(seq, n_sports));
		uh->source = bpf_htons((__u16)(fos_gen_sport + seq % n_sports));
		uh->dest = bpf_htons(fos_gen_dport);
		uh->len = bpf_htons(len - sizeof(*iph));
		uh->check = 0; /* optional over IPv4 */
		return 0;
	}
}

SEC("xdp")
int fos_xdp_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (data + sizeof(struct ethhdr) + sizeof(struct iphdr) > data_end)
		return XDP_DROP;
	if (!_fos_gen_paced())
		return XDP_DROP;
	if (_fos_gen_write(data, data_end, bpf_xdp_get_buff_len(ctx) - sizeof(struct ethhdr)) < 0)
		return XDP_DROP;
	return XDP_TX;
}

SEC("tc")
int fos_tc_gen(struct __sk_buff *skb)
{
	__u32 copies = fos_gen_copies < 1 ? 1 : fos_gen_copies;

	if (!fos_gen_seed_mark || skb->mark != fos_gen_seed_mark)
		return TC_ACT_OK;
	skb->mark = 0; /* its clones pass this program when they leave */
	for (__u32 i = 0; i < FOS_GEN_COPIES_MAX; i++) {
		void *data, *data_end;

		/* the seed's own copy of the data: the clone sent last
		 * shares it until this */
		if (bpf_skb_pull_data(skb, skb->len) < 0)
			return TC_ACT_SHOT;
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		if (_fos_gen_write(data, data_end, skb->len - sizeof(struct ethhdr)) < 0)
			return TC_ACT_SHOT;
		if (i + 1 >= copies)
			break;
		/* a full transmit queue drops the clone, counted as sent, as
		 * XDP_TX into a full ring is; a clone not made is not */
		if (bpf_clone_redirect(skb, skb->ifindex, 0) < 0) {
			__u32 zero = 0;
			__u64 *count = bpf_map_lookup_elem(&fos_gen_count, &zero);

			if (count && *count)
				(*count)--;
			return TC_ACT_SHOT;
		}
	}
	return TC_ACT_OK;
}
