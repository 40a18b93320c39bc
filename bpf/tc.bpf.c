// SPDX-License-Identifier: GPL-2.0-only
/*
 * The TC programs: fos_tc_fw, the (stateful) firewall on the configured hook,
 * and fos_tc_track, the connection tracker on the other direction of the
 * same interface. Both are direct-action classifiers and read the same slot:
 * the tracker tracks in the zone of the firewall's ruleset.
 *
 * fos_tc_fw, per packet, with the slot that fos_ctl.active names (read once):
 *   1. not IP -> pass; truncated or malformed IP -> drop (MALFORMED);
 *   2. whitelist -> pass, blacklist -> drop, as in fos_xdp_filter;
 *   3. a non-first fragment whose first fragment was seen -> that verdict;
 *   4. stateful (fos_stateful), every other packet has a conntrack class
 *      (conntrack.bpf.h): ESTABLISHED and RELATED pass without the rules and
 *      an ESTABLISHED packet updates its entry; IPv6 neighbour discovery
 *      passes (UNTRACKED); INVALID drops, passes or goes to the rules with
 *      state INVALID as fos_ct_cfg.invalid says; NEW goes to the rules with
 *      state NEW, as does a non-first fragment whose first fragment was not
 *      seen;
 *   5. the slot's rules in order, first match wins (filter.bpf.h), else the
 *      default action. A NEW packet they pass creates or updates its entry
 *      (a redirected one does not: it leaves by another interface, whose
 *      own program tracks it); when the table is full
 *      (fos_ct_cfg.max_entries) it is dropped instead and counts CT_FULL.
 * A first fragment's verdict, whoever made it, is kept for its datagram.
 *
 * Verdicts: pass -> TC_ACT_UNSPEC, so lower-priority filters still run and
 * the packet goes on; drop -> TC_ACT_SHOT; redirect -> bpf_redirect() to the
 * rule's (or default's) ifindex, TC_ACT_REDIRECT; a redirect without a target
 * drops and counts REDIRECT_FAIL. The counters are those of fos_xdp_filter
 * (PACKETS = PASSED + DROPPED + REDIRECTED, reasons on top) plus the
 * conntrack class of each packet in stateful mode.
 *
 * fos_tc_track: parse, classify and update the table; a NEW packet creates or
 * updates its entry (when the table is full it counts
 * FOS_CT_STAT_INSERT_FAIL and passes all the same). It has no policy: it
 * never drops and always returns TC_ACT_UNSPEC. It counts PACKETS, BYTES,
 * PASSED, NON_IP, MALFORMED, FRAGMENTS and the classes in fos_stats, which it
 * shares with fos_tc_fw. fos_stateful does not apply to it: it is conntrack
 * only, and fwd loads it (bpf_program__set_autoload) for stateful programs.
 *
 * Load-time settings (rodata): fos_stateful. When false, fos_tc_fw has no
 * conntrack code for the verifier to see, and every packet has class NEW.
 *
 * Maps: the filter's (filter.bpf.h), the set tries (sets.bpf.h) and the
 * connection table (ct_maps.bpf.h), which fwd shares by bpf_map__reuse_fd,
 * and fos_tc_attach, which only fwd writes: where it attached the programs.
 *
 * The parser reads the headers in the skb's linear part; when they are not
 * all there, FOS_TC_PULL_MAX bytes (or the whole skb if shorter) are pulled
 * in and the packet parsed again. The lengths in the IP headers are checked
 * against skb->len, so a GSO packet is not taken for truncated.
 */
#include <linux/pkt_cls.h>

#include "conntrack.bpf.h"
#include "ct_maps.bpf.h"
#include "filter.bpf.h"
#include "fos/abi.h"

char LICENSE[] SEC("license") = "GPL";

/* bytes pulled into the linear part when the headers are not all there */
#define FOS_TC_PULL_MAX 512U

const volatile bool fos_stateful = false;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, _FOS_TC_ATTACH_MAX);
	__type(key, __u32);
	__type(value, struct fos_tc_attach);
} fos_tc_attach SEC(".maps");

/* Parse the skb's linear part into *pkt (zeroed here). A global function:
 * checked once, though called again after a pull. */
__noinline int fos_tc_parse(struct __sk_buff *skb, struct fos_pkt *pkt)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	if (!pkt)
		return FOS_PARSE_MALFORMED;
	__builtin_memset(pkt, 0, sizeof(*pkt));
	return fos_parse_packet_len(data, data_end, skb->len, pkt);
}

/* The class of p in zone (conntrack.bpf.h), an ESTABLISHED packet written
 * to its entry; -1 without p or r. */
__noinline int fos_tc_ct_classify(struct __sk_buff *skb, const struct fos_pkt *p, __u32 zone,
				  struct fos_ct_res *r)
{
	if (!p || !r)
		return -1;
	return fos_ct_classify(skb, false, p, zone, true, skb->len, r);
}

/* fos_ct_commit() for a NEW packet that passes. */
__noinline int fos_tc_ct_commit(const struct fos_ct_res *r, __u32 len, __u32 ifindex)
{
	if (!r)
		return -EINVAL;
	return fos_ct_commit(r, len, ifindex);
}

static __always_inline int _fos_tc_parse(struct __sk_buff *skb, struct fos_pkt *pkt)
{
	__u32 linear = skb->data_end - skb->data;
	int r = fos_tc_parse(skb, pkt);

	if (r == FOS_PARSE_MALFORMED && linear < skb->len) {
		__u32 want = skb->len < FOS_TC_PULL_MAX ? skb->len : FOS_TC_PULL_MAX;

		if (want > linear && bpf_skb_pull_data(skb, want) == 0)
			r = fos_tc_parse(skb, pkt);
	}
	return r;
}

static __always_inline int _fos_pass(void)
{
	fos_stat_add(FOS_STAT_PASSED, 1);
	return TC_ACT_UNSPEC;
}

static __always_inline int _fos_drop(void)
{
	fos_stat_add(FOS_STAT_DROPPED, 1);
	return TC_ACT_SHOT;
}

static __always_inline int _fos_act(const struct fos_verdict *v)
{
	long r;

	switch (v->action) {
	case FOS_ACT_PASS:
		return _fos_pass();
	case FOS_ACT_REDIRECT:
		if (v->ifindex) {
			r = bpf_redirect(v->ifindex, 0);
			if (r == TC_ACT_REDIRECT) {
				fos_stat_add(FOS_STAT_REDIRECTED, 1);
				return TC_ACT_REDIRECT;
			}
		}
		fos_stat_add(FOS_STAT_REDIRECT_FAIL, 1);
		return _fos_drop();
	default:
		return _fos_drop();
	}
}

SEC("tc")
int fos_tc_fw(struct __sk_buff *skb)
{
	__u64 len = skb->len;
	struct fos_pkt pkt;
	struct fos_ct_res ct;
	struct fos_verdict v;
	struct fos_frag_key fk;
	const struct fos_slot *s;
	bool frag_no_first = false, track = false;
	__u32 slot, ct_class = FOS_CT_NEW;
	int r;

	fos_stat_add(FOS_STAT_PACKETS, 1);
	fos_stat_add(FOS_STAT_BYTES, len);

	r = _fos_tc_parse(skb, &pkt);
	if (r == FOS_PARSE_NOT_IP) {
		fos_stat_add(FOS_STAT_NON_IP, 1);
		return _fos_pass();
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
		return _fos_pass();
	case FOS_LIST_DROP:
		return _fos_drop();
	default:
		break;
	}

	if (pkt.flags & FOS_PKT_F_FRAGMENT) {
		fos_stat_add(FOS_STAT_FRAGMENTS, 1);
		fos_filter_frag_key(&pkt, &fk);
		if (!(pkt.flags & FOS_PKT_F_FIRST_FRAG)) {
			if (fos_filter_frag_recall(&fk, len, &v))
				return _fos_act(&v);
			frag_no_first = true;
		}
	}

	if (fos_stateful) {
		int cls = FOS_CT_NEW;

		if (!frag_no_first) {
			cls = fos_tc_ct_classify(skb, &pkt, s->zone, &ct);
			track = cls == FOS_CT_NEW && ct.op != FOS_CT_OP_NONE;
		}
		if (fos_filter_ct_policy(cls, &ct_class, &v))
			goto decided;
	}

	if (fos_filter_rules(&pkt, len, slot, s, frag_no_first, ct_class, &v) < 0)
		return _fos_drop();
	if (track && v.action == FOS_ACT_PASS &&
	    fos_tc_ct_commit(&ct, len, skb->ifindex) == -ENOSPC) {
		fos_stat_add(FOS_STAT_CT_FULL, 1);
		v.action = FOS_ACT_DROP;
	}
decided:
	if (pkt.flags & FOS_PKT_F_FIRST_FRAG)
		fos_filter_frag_remember(&fk, slot, s, &v);
	return _fos_act(&v);
}

SEC("tc")
int fos_tc_track(struct __sk_buff *skb)
{
	__u64 len = skb->len;
	struct fos_pkt pkt;
	struct fos_ct_res ct;
	const struct fos_slot *s;
	__u32 slot;
	int r;

	fos_stat_add(FOS_STAT_PACKETS, 1);
	fos_stat_add(FOS_STAT_BYTES, len);
	fos_stat_add(FOS_STAT_PASSED, 1);

	r = _fos_tc_parse(skb, &pkt);
	if (r == FOS_PARSE_NOT_IP) {
		fos_stat_add(FOS_STAT_NON_IP, 1);
		return TC_ACT_UNSPEC;
	}
	if (r != FOS_PARSE_OK) {
		fos_stat_add(FOS_STAT_MALFORMED, 1);
		return TC_ACT_UNSPEC;
	}
	if (pkt.flags & FOS_PKT_F_FRAGMENT) {
		fos_stat_add(FOS_STAT_FRAGMENTS, 1);
		/* the first fragment stands for its datagram */
		if (!(pkt.flags & FOS_PKT_F_FIRST_FRAG))
			return TC_ACT_UNSPEC;
	}

	s = fos_filter_slot(&slot);
	r = fos_tc_ct_classify(skb, &pkt, s ? s->zone : 0, &ct);
	fos_filter_ct_stat(r);
	if (r == FOS_CT_NEW && ct.op != FOS_CT_OP_NONE)
		fos_tc_ct_commit(&ct, len, skb->ifindex);
	return TC_ACT_UNSPEC;
}
