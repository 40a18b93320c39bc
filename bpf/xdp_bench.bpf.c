// SPDX-License-Identifier: GPL-2.0-only
/*
 * Programs for the benchmarks in bench/.
 *
 * fos_xdp_drop   XDP_DROP without touching the packet: the cost floor.
 * fos_xdp_count  counts frames in fos_rx_count and drops them: a receiver that
 *                measures the offered rate when no filter is attached.
 * fos_xdp_gen    a traffic generator for BPF_PROG_TEST_RUN with
 *                BPF_F_TEST_XDP_LIVE_FRAMES: on every frame it writes the
 *                Ethernet, IPv4 and UDP headers from the template below (the
 *                page pool recycles frames without copying data_in again, so a
 *                frame may come back rewritten by its receiver), varies the
 *                source port and address, counts the frame in fos_gen_count
 *                and returns XDP_TX. The frame length is the length of
 *                data_in (at least 42 bytes; shorter frames are dropped).
 *
 * Template, set through the skeleton's rodata before load:
 *   fos_gen_dst_mac, fos_gen_src_mac  Ethernet addresses
 *   fos_gen_saddr, fos_gen_daddr      IPv4 addresses, network byte order;
 *                                     fos_gen_saddr is the first source address
 *   fos_gen_sport                     first source port, host byte order
 *   fos_gen_dport                     destination port, host byte order
 *   fos_gen_n_sports                  distinct source ports (0 counts as 1)
 *   fos_gen_n_saddrs                  distinct source addresses (0 counts as 1)
 * Frame n (per CPU) goes from source port fos_gen_sport + n % n_sports and
 * source address fos_gen_saddr + (n / n_sports) % n_saddrs, so every
 * combination appears once per n_sports * n_saddrs frames.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u8 fos_gen_dst_mac[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x02};
const volatile __u8 fos_gen_src_mac[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x01};
const volatile __be32 fos_gen_saddr = bpf_htonl(0xc6120001); /* 198.18.0.1 */
const volatile __be32 fos_gen_daddr = bpf_htonl(0xc6130001); /* 198.19.0.1 */
const volatile __u16 fos_gen_sport = 1024;
const volatile __u16 fos_gen_dport = 9;
const volatile __u32 fos_gen_n_sports = 1;
const volatile __u32 fos_gen_n_saddrs = 1;

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

static __always_inline __sum16 _fos_ipv4_csum(const struct iphdr *iph)
{
	const __u16 *w = (const __u16 *)iph;
	__u32 sum = 0;
	int i;

#pragma unroll
	for (i = 0; i < (int)(sizeof(*iph) / 2); i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__sum16)~sum;
}

SEC("xdp")
int fos_xdp_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	struct udphdr *uh = (void *)(iph + 1);
	__u32 zero = 0, len, n_sports, n_saddrs;
	__u64 *count, seq;
	int i;

	if ((void *)(uh + 1) > data_end)
		return XDP_DROP;
	count = bpf_map_lookup_elem(&fos_gen_count, &zero);
	if (!count)
		return XDP_DROP;
	seq = (*count)++;
	len = bpf_xdp_get_buff_len(ctx) - sizeof(*eth);
	n_sports = fos_gen_n_sports ? fos_gen_n_sports : 1;
	n_saddrs = fos_gen_n_saddrs ? fos_gen_n_saddrs : 1;

#pragma unroll
	for (i = 0; i < ETH_ALEN; i++) {
		eth->h_dest[i] = fos_gen_dst_mac[i];
		eth->h_source[i] = fos_gen_src_mac[i];
	}
	eth->h_proto = bpf_htons(ETH_P_IP);

	iph->version = 4;
	iph->ihl = sizeof(*iph) / 4;
	iph->tos = 0;
	iph->tot_len = bpf_htons(len);
	iph->id = bpf_htons((__u16)seq);
	iph->frag_off = bpf_htons(0x4000); /* DF */
	iph->ttl = 64;
	iph->protocol = IPPROTO_UDP;
	iph->check = 0;
	iph->saddr = bpf_htonl(bpf_ntohl(fos_gen_saddr) + (__u32)((seq / n_sports) % n_saddrs));
	iph->daddr = fos_gen_daddr;
	iph->check = _fos_ipv4_csum(iph);

	uh->source = bpf_htons((__u16)(fos_gen_sport + seq % n_sports));
	uh->dest = bpf_htons(fos_gen_dport);
	uh->len = bpf_htons(len - sizeof(*iph));
	uh->check = 0; /* optional over IPv4 */
	return XDP_TX;
}
