// SPDX-License-Identifier: GPL-2.0-only
/*
 * fos_xdp_filter: the XDP packet filter.
 *
 * Per packet, with the slot that fos_ctl.active names (read once):
 *   1. not IP -> XDP_PASS; truncated or malformed IP -> XDP_DROP;
 *   2. source in the slot's whitelist set (FOS_SLOT_F_WHITELIST) -> XDP_PASS;
 *      the whitelist wins over the blacklist, so trusted sources stay reachable;
 *   3. source in the slot's blacklist set (FOS_SLOT_F_BLACKLIST) -> XDP_DROP;
 *   4. a non-first fragment whose first fragment was seen -> that verdict;
 *   5. stateful (fos_stateful) only: the packet's conntrack class, read from
 *      the table that the TC programs keep (this program never writes it):
 *      ESTABLISHED, RELATED and IPv6 neighbour discovery -> XDP_PASS without
 *      the rules; INVALID -> as fos_ct_cfg.invalid says (drop, pass, or the
 *      rules with state INVALID); NEW, and a non-first fragment whose first
 *      fragment was not seen -> the rules with state NEW;
 *   6. the slot's rules in order, first match wins;
 *   7. the slot's default action.
 * The matching, the fragment memory and the rule counters are those of
 * filter.bpf.h; a first fragment's verdict, whoever made it, is kept for its
 * datagram.
 *
 * Counters (fos_stats, per CPU): every packet adds to PACKETS and BYTES and to
 * exactly one of PASSED, DROPPED, REDIRECTED, so PACKETS = PASSED + DROPPED +
 * REDIRECTED. The reason counters (NON_IP, MALFORMED, WHITELIST, BLACKLIST,
 * DEFAULT, REDIRECT_FAIL), FRAGMENTS / FRAG_NO_FIRST and, stateful, the
 * packet's conntrack class (CT_NEW, ...) come on top. A redirect whose ifindex
 * is not in fos_tx_ports drops and counts DROPPED and REDIRECT_FAIL. Per-rule
 * counters (fos_rule_stats) and fos_default_st count the packets the rule or
 * default action decided, whatever the outcome of a redirect.
 *
 * DDoS mitigation (fos_ddos, ddos.bpf.h): after the lists, the SYN stage,
 * packetsPerSecond and the ICMP/UDP floods (fos_xdp_ddos); after the
 * conntrack class, for a packet that opens a connection, connectionsPerSecond
 * and connectionsPerIP (fos_xdp_ddos_conn); a blacklist drop also counts in
 * fos_ddos_stats. A packet they drop counts DROPPED; a SYN answered with a
 * cookie (XDP_TX: the frame is the SYN-ACK) counts DROPPED too, as the SYN
 * itself goes no further.
 *
 * Load-time settings (rodata): fos_stateful, false by default; then the
 * verifier sees no conntrack code at all and every packet has class NEW.
 * fos_ddos, false by default; then it sees no DDoS code. fos_sim_clock
 * (filter.bpf.h), for the packet tests only.
 * Stateful, fwd hands the program the global fos_ct and fos_ct_cfg
 * (bpf_map__reuse_fd; ct_maps.bpf.h). Loading it needs CAP_BPF, CAP_NET_ADMIN
 * and CAP_PERFMON (or root): the verifier allows the packet pointer
 * arithmetic of the parser, and data_end - data, only with CAP_PERFMON.
 */
#include "conntrack.bpf.h"
#include "ct_maps.bpf.h"
#include "ddos.bpf.h"
#include "filter.bpf.h"
#include "fos/abi.h"

char LICENSE[] SEC("license") = "GPL";

const volatile bool fos_stateful = false;
const volatile bool fos_ddos = false;

/* The next XDP program of the interface, in priority order (entry 0; empty
 * for the last): a packet this program passes runs it next. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} fos_next SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 64);
	__type(key, __u32); /* ifindex */
	__type(value, struct bpf_devmap_val);
} fos_tx_ports SEC(".maps");

/* Passed: on to the interface's next XDP program, if any, else the stack. */
static __always_inline int _fos_pass(struct xdp_md *ctx)
{
	fos_stat_add(FOS_STAT_PASSED, 1);
	bpf_tail_call(ctx, &fos_next, 0);
	return XDP_PASS;
}

static __always_inline int _fos_drop(void)
{
	fos_stat_add(FOS_STAT_DROPPED, 1);
	return XDP_DROP;
}

static __always_inline int _fos_act(struct xdp_md *ctx, const struct fos_verdict *v)
{
	long r;

	switch (v->action) {
	case FOS_ACT_PASS:
		return _fos_pass(ctx);
	case FOS_ACT_REDIRECT:
		r = bpf_redirect_map(&fos_tx_ports, v->ifindex, XDP_DROP);
		if (r == XDP_REDIRECT) {
			fos_stat_add(FOS_STAT_REDIRECTED, 1);
			return XDP_REDIRECT;
		}
		fos_stat_add(FOS_STAT_REDIRECT_FAIL, 1);
		return _fos_drop();
	default:
		return _fos_drop();
	}
}

/* Does p open a connection, for connectionsPerSecond and connectionsPerIP?
 * A TCP SYN; stateful, one of class NEW that the table has no live entry for
 * (a SYN or a UDP packet). */
static __always_inline bool _fos_opens_connection(const struct fos_pkt *p, __u32 ct_class,
						  __u8 ct_op)
{
	if (!(p->flags & FOS_PKT_F_PORTS))
		return false;
	if (!fos_stateful)
		return p->proto == IPPROTO_TCP &&
		       (p->tcp_flags & (_FOS_TCP_SYN | _FOS_TCP_ACK)) == _FOS_TCP_SYN;
	return ct_class == FOS_CT_NEW && (ct_op == FOS_CT_OP_CREATE || ct_op == FOS_CT_OP_REOPEN) &&
	       (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP);
}

/* The class of p in zone (conntrack.bpf.h), the table only read; -1
 * without p or r. */
__noinline int fos_xdp_ct_classify(struct xdp_md *ctx, const struct fos_pkt *p, __u32 zone,
				   struct fos_ct_res *r)
{
	if (!p || !r)
		return -1;
	return fos_ct_classify(ctx, true, p, zone, false, 0, r);
}

SEC("xdp")
int fos_xdp_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 len = data_end - data;
	struct fos_pkt pkt = {};
	bool frag_no_first = false;
	const struct fos_slot *s;
	struct fos_verdict v;
	struct fos_frag_key fk;
	struct fos_ct_res ct;
	__u32 slot, ct_class = FOS_CT_NEW;
	__u8 ct_op = FOS_CT_OP_CREATE;
	__u64 ddos_now = 0;
	int r;

	fos_stat_add(FOS_STAT_PACKETS, 1);
	fos_stat_add(FOS_STAT_BYTES, len);

	r = fos_parse_packet(data, data_end, &pkt);
	if (r == FOS_PARSE_NOT_IP) {
		fos_stat_add(FOS_STAT_NON_IP, 1);
		return _fos_pass(ctx);
	}
	if (r != FOS_PARSE_OK) {
		fos_stat_add(FOS_STAT_MALFORMED, 1);
		return _fos_drop();
	}

	s = fos_filter_slot(&slot);
	if (!s)
		return _fos_drop();
	switch (fos_filter_lists(s, &pkt)) {
	case FOS_LIST_PASS:
		return _fos_pass(ctx);
	case FOS_LIST_DROP:
		if (fos_ddos)
			fos_xdp_ddos_blacklisted(&pkt, slot);
		return _fos_drop();
	default:
		break;
	}

	if (fos_ddos) {
		r = fos_xdp_ddos(ctx, &pkt, slot, &ddos_now);
		if (r == FOS_DDOS_TX) {
			fos_stat_add(FOS_STAT_DROPPED, 1);
			return XDP_TX;
		}
		if (r != FOS_DDOS_GO)
			return _fos_drop();
	}

	if (pkt.flags & FOS_PKT_F_FRAGMENT) {
		fos_stat_add(FOS_STAT_FRAGMENTS, 1);
		fos_filter_frag_key(&pkt, &fk);
		if (!(pkt.flags & FOS_PKT_F_FIRST_FRAG)) {
			if (fos_filter_frag_recall(&fk, len, &v))
				return _fos_act(ctx, &v);
			frag_no_first = true;
		}
	}

	if (fos_stateful) {
		int cls = FOS_CT_NEW;

		if (!frag_no_first) {
			cls = fos_xdp_ct_classify(ctx, &pkt, s->zone, &ct);
			ct_op = ct.op;
		}
		if (fos_filter_ct_policy(cls, &ct_class, &v))
			goto decided;
	}

	if (fos_ddos && _fos_opens_connection(&pkt, ct_class, ct_op) &&
	    fos_xdp_ddos_conn(&pkt, slot, fos_stateful, ddos_now) != FOS_DDOS_GO)
		return _fos_drop();

	if (fos_filter_rules(&pkt, len, slot, s, frag_no_first, ct_class, &v) < 0)
		return _fos_drop();
decided:
	if (pkt.flags & FOS_PKT_F_FIRST_FRAG)
		fos_filter_frag_remember(&fk, slot, s, &v);
	return _fos_act(ctx, &v);
}
