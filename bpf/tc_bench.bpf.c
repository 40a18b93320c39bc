// SPDX-License-Identifier: GPL-2.0-only
/*
 * TC programs for bench/bench_ct.c.
 *
 * fos_tc_bench_ok    returns TC_ACT_OK without touching the packet: the cost
 *                    floor of a TC program under BPF_PROG_TEST_RUN, and the
 *                    trivial target that measures fos_tc_bench_wrap alone.
 * fos_tc_bench_wrap  BPF_PROG_TEST_RUN repeats the same bytes; this program
 *                    gives every run of an IPv4 TCP or UDP frame another
 *                    flow, then tail-calls slot 0 of fos_bench_jmp (the
 *                    program under test, put there from user space). It
 *                    returns TC_ACT_SHOT when the frame is not IPv4 TCP/UDP
 *                    without options or when the tail call fails.
 *
 * Flow n (n counts the frames of this CPU in fos_bench_seq) is flow
 * i = n % fos_bench_flows (i = n when fos_bench_flows is 0, so every frame
 * is a new flow), whose source is
 *   address fos_bench_saddr + i / fos_bench_ports (host order)
 *   port    fos_bench_sport + i % fos_bench_ports
 * The IPv4 header checksum is updated; so is the TCP checksum, and a UDP
 * checksum is set to 0 (none, valid over IPv4). User space sets the
 * template (in .bss) between runs.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

/* the template (.bss, set from user space between runs) */
__u32 fos_bench_saddr;
__u32 fos_bench_sport;
__u32 fos_bench_ports; /* 0 counts as 1 */
__u32 fos_bench_flows;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} fos_bench_seq SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} fos_bench_jmp SEC(".maps");

SEC("tc")
int fos_tc_bench_ok(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

/* a 16-bit one's complement checksum after a 32-bit word of what it covers
 * changed from `from` to `to` (RFC 1624, eqn. 3) */
static __always_inline __u16 _fos_csum_replace(__u16 check, __u32 from, __u32 to)
{
	__u32 sum = (__u16)~check;

	sum += (__u16)~from + (__u16) ~(from >> 16);
	sum += (to & 0xffff) + (to >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

SEC("tc")
int fos_tc_bench_wrap(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	__u32 zero = 0, ports, saddr, old_saddr;
	__u16 sport, old_sport;
	__u64 *seq, n, i;

	if ((void *)(iph + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || iph->ihl != 5)
		return TC_ACT_SHOT;
	seq = bpf_map_lookup_elem(&fos_bench_seq, &zero);
	if (!seq)
		return TC_ACT_SHOT;
	n = (*seq)++;
	i = fos_bench_flows ? n % fos_bench_flows : n;
	ports = fos_bench_ports ? fos_bench_ports : 1;
	saddr = bpf_htonl(fos_bench_saddr + (__u32)(i / ports));
	sport = bpf_htons((__u16)(fos_bench_sport + i % ports));
	old_saddr = iph->saddr;

	if (iph->protocol == IPPROTO_TCP) {
		struct tcphdr *th = (void *)(iph + 1);
		__u16 check;

		if ((void *)(th + 1) > data_end)
			return TC_ACT_SHOT;
		old_sport = th->source;
		check = _fos_csum_replace(th->check, old_saddr, saddr);
		th->check = _fos_csum_replace(check, old_sport, sport);
		th->source = sport;
	} else if (iph->protocol == IPPROTO_UDP) {
		struct udphdr *uh = (void *)(iph + 1);

		if ((void *)(uh + 1) > data_end)
			return TC_ACT_SHOT;
		uh->check = 0;
		uh->source = sport;
	} else {
		return TC_ACT_SHOT;
	}
	iph->check = _fos_csum_replace(iph->check, old_saddr, saddr);
	iph->saddr = saddr;

	bpf_tail_call(skb, &fos_bench_jmp, 0);
	return TC_ACT_SHOT;
}
