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
 *   5. the slot's rules in order, first match wins;
 *   6. the slot's default action.
 *
 * A rule matches when all its conditions hold: protocol (FOS_PROTO_ANY or equal),
 * source/destination in a set, source/destination port in one of the rule's
 * ranges (an empty range list matches nothing). Packets without ports (ICMP, ...)
 * never match a port condition. A non-first fragment whose first fragment was
 * not seen has no ports: a port condition holds for it only when the rule
 * drops, so such a fragment can neither slip past a port rule that dropped its
 * first fragment nor be let in by a port rule that passes. Rule actions outside
 * enum fos_action drop.
 *
 * The verdict of a first fragment decided by a rule or the default action is
 * kept in fos_frags for the rest of the datagram, with the slot and rule that
 * decided it, so the later fragments count on the same counter even after a
 * slot flip.
 *
 * Counters (fos_stats, per CPU): every packet adds to PACKETS and BYTES and to
 * exactly one of PASSED, DROPPED, REDIRECTED, so PACKETS = PASSED + DROPPED +
 * REDIRECTED. The reason counters (NON_IP, MALFORMED, WHITELIST, BLACKLIST,
 * DEFAULT, REDIRECT_FAIL) and FRAGMENTS / FRAG_NO_FIRST come on top. A redirect
 * whose ifindex is not in fos_tx_ports drops and counts DROPPED and
 * REDIRECT_FAIL. Per-rule counters (fos_rule_stats) and fos_default_st count
 * the packets the rule or default action decided, whatever the outcome of a
 * redirect.
 *
 * The program has no load-time settings (no rodata). Loading it needs
 * CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON (or root): the verifier allows the
 * packet pointer arithmetic of the parser, and data_end - data, only with
 * CAP_PERFMON.
 */
#include "parse.bpf.h"
#include "fos/abi.h"

char LICENSE[] SEC("license") = "GPL";

/* both slots' rule tables, slot-major */
#define FOS_RULE_ENTRIES (FOS_SLOTS * FOS_MAX_RULES)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fos_ctl);
} fos_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FOS_SLOTS);
	__type(key, __u32);
	__type(value, struct fos_slot);
} fos_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FOS_RULE_ENTRIES);
	__type(key, __u32);
	__type(value, struct fos_rule);
} fos_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FOS_RULE_ENTRIES);
	__type(key, __u32);
	__type(value, struct fos_rule_counter);
} fos_rule_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FOS_SLOTS);
	__type(key, __u32);
	__type(value, struct fos_rule_counter);
} fos_default_st SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, _FOS_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} fos_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FOS_FRAG_MAX_ENTRIES);
	__type(key, struct fos_frag_key);
	__type(value, struct fos_frag_value);
} fos_frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 64);
	__type(key, __u32); /* ifindex */
	__type(value, struct bpf_devmap_val);
} fos_tx_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, FOS_SETS_MAX_ENTRIES);
	__type(key, struct fos_set_key);
	__type(value, struct fos_set_value);
} fos_sets SEC(".maps");

/* Rules are matched by a global function, FOS_RULE_BATCH rules per call: the
 * verifier checks it once rather than once per parse path (as it would an
 * inlined loop or a bpf_loop callback), and a packet pays one call per batch
 * rather than one per rule. 64 keeps both verification time and calls low. */
#define FOS_RULE_BATCH 64

/* what the rule walk needs; lives on the program's stack */
struct _fos_match {
	struct fos_pkt pkt;
	__u32 base; /* slot * FOS_MAX_RULES */
	__u32 n_rules;
	bool ports_unknown; /* non-first fragment of TCP/UDP (or unknown L4), no first seen */
	bool proto_unknown; /* ... and its L4 protocol is not known either */
};

static __always_inline void _fos_stat_add(__u32 idx, __u64 v)
{
	__u64 *c = bpf_map_lookup_elem(&fos_stats, &idx);

	if (c)
		*c += v;
}

static __always_inline void _fos_counter_add(void *map, __u32 idx, __u64 len)
{
	struct fos_rule_counter *c = bpf_map_lookup_elem(map, &idx);

	if (c) {
		c->packets++;
		c->bytes += len;
	}
}

static __always_inline bool _fos_set_has(__u32 set_id, const __u8 *addr)
{
	struct fos_set_key k;

	k.prefixlen = FOS_SET_KEY_PREFIX + 128;
	k.set_id = bpf_htonl(set_id);
	__builtin_memcpy(k.addr, __builtin_assume_aligned(addr, 8), sizeof(k.addr));
	return bpf_map_lookup_elem(&fos_sets, &k) != NULL;
}

static __always_inline bool _fos_port_in(const struct fos_port_range *rg, __u32 n, __u16 port)
{
	int i;

	for (i = 0; i < FOS_RULE_MAX_PORTS; i++) {
		if (i >= n)
			break;
		if (port >= rg[i].lo && port <= rg[i].hi)
			return true;
	}
	return false;
}

static __always_inline bool _fos_rule_matches(const struct fos_rule *r, const struct _fos_match *m)
{
	const struct fos_pkt *p = &m->pkt;
	__u32 flags = r->flags;

	if (r->proto != FOS_PROTO_ANY && r->proto != p->proto &&
	    !(m->proto_unknown && r->action == FOS_ACT_DROP))
		return false;
	if (flags & (FOS_RULE_F_SPORT | FOS_RULE_F_DPORT)) {
		if (p->flags & FOS_PKT_F_PORTS) {
			if ((flags & FOS_RULE_F_SPORT) &&
			    !_fos_port_in(r->sport, r->n_sport, p->sport))
				return false;
			if ((flags & FOS_RULE_F_DPORT) &&
			    !_fos_port_in(r->dport, r->n_dport, p->dport))
				return false;
		} else if (!(m->ports_unknown && r->action == FOS_ACT_DROP)) {
			return false;
		}
	}
	if ((flags & FOS_RULE_F_SRC) && !_fos_set_has(r->src_set, p->saddr))
		return false;
	if ((flags & FOS_RULE_F_DST) && !_fos_set_has(r->dst_set, p->daddr))
		return false;
	return true;
}

/*
 * The rules [first, first + FOS_RULE_BATCH) of the walk, in order, up to
 * m->n_rules: the index of the first that matches, or -1. A global function,
 * so the verifier checks it once, whatever the parse path that called it.
 */
__noinline int fos_xdp_filter_match(const struct _fos_match *m, __u32 first)
{
	__u32 key, end;
	int j;

	if (!m)
		return -1;
	end = m->n_rules < first + FOS_RULE_BATCH ? m->n_rules : first + FOS_RULE_BATCH;
	end += m->base;
	key = m->base + first;
	for (j = 0; j < FOS_RULE_BATCH; j++, key++) {
		const struct fos_rule *r;

		if (key >= end)
			return -1;
		r = bpf_map_lookup_elem(&fos_rules, &key);
		if (!r)
			return -1;
		if (_fos_rule_matches(r, m))
			return key - m->base;
	}
	return -1;
}

static __always_inline int _fos_pass(void)
{
	_fos_stat_add(FOS_STAT_PASSED, 1);
	return XDP_PASS;
}

static __always_inline int _fos_drop(void)
{
	_fos_stat_add(FOS_STAT_DROPPED, 1);
	return XDP_DROP;
}

static __always_inline int _fos_act(__u8 action, __u32 ifindex)
{
	long r;

	switch (action) {
	case FOS_ACT_PASS:
		return _fos_pass();
	case FOS_ACT_REDIRECT:
		r = bpf_redirect_map(&fos_tx_ports, ifindex, XDP_DROP);
		if (r == XDP_REDIRECT) {
			_fos_stat_add(FOS_STAT_REDIRECTED, 1);
			return XDP_REDIRECT;
		}
		_fos_stat_add(FOS_STAT_REDIRECT_FAIL, 1);
		return _fos_drop();
	default:
		return _fos_drop();
	}
}

static __always_inline void _fos_frag_key(const struct fos_pkt *p, struct fos_frag_key *k)
{
	__builtin_memcpy(k->saddr, p->saddr, sizeof(k->saddr));
	__builtin_memcpy(k->daddr, p->daddr, sizeof(k->daddr));
	k->id = p->frag_id;
	k->proto = p->frag_proto;
	k->_pad[0] = 0;
	k->_pad[1] = 0;
	k->_pad[2] = 0;
}

/* Count a verdict on the rule (rule index + 1) or default (0) of slot. */
static __always_inline void _fos_count_decision(__u32 slot, __u32 rule, __u64 len)
{
	if (rule) {
		_fos_counter_add(&fos_rule_stats, slot * FOS_MAX_RULES + rule - 1, len);
	} else {
		_fos_counter_add(&fos_default_st, slot, len);
		_fos_stat_add(FOS_STAT_DEFAULT, 1);
	}
}

SEC("xdp")
int fos_xdp_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 len = data_end - data;
	struct _fos_match m = {};
	const struct fos_slot *s;
	struct fos_ctl *ctl;
	struct fos_frag_key fk;
	__u32 zero = 0, slot, n_rules, rule, ifindex, b;
	__u8 action;
	int r, hit = -1;

	_fos_stat_add(FOS_STAT_PACKETS, 1);
	_fos_stat_add(FOS_STAT_BYTES, len);

	r = fos_parse_packet(data, data_end, &m.pkt);
	if (r == FOS_PARSE_NOT_IP) {
		_fos_stat_add(FOS_STAT_NON_IP, 1);
		return _fos_pass();
	}
	if (r != FOS_PARSE_OK) {
		_fos_stat_add(FOS_STAT_MALFORMED, 1);
		return _fos_drop();
	}

	ctl = bpf_map_lookup_elem(&fos_ctl, &zero);
	slot = ctl ? *(volatile __u32 *)&ctl->active : 0;
	if (slot >= FOS_SLOTS)
		slot = 0;
	s = bpf_map_lookup_elem(&fos_slots, &slot);
	if (!s)
		return _fos_drop();

	if ((s->flags & FOS_SLOT_F_WHITELIST) && _fos_set_has(s->whitelist_set, m.pkt.saddr)) {
		_fos_stat_add(FOS_STAT_WHITELIST, 1);
		return _fos_pass();
	}
	if ((s->flags & FOS_SLOT_F_BLACKLIST) && _fos_set_has(s->blacklist_set, m.pkt.saddr)) {
		_fos_stat_add(FOS_STAT_BLACKLIST, 1);
		return _fos_drop();
	}

	if (m.pkt.flags & FOS_PKT_F_FRAGMENT) {
		_fos_stat_add(FOS_STAT_FRAGMENTS, 1);
		_fos_frag_key(&m.pkt, &fk);
		if (!(m.pkt.flags & FOS_PKT_F_FIRST_FRAG)) {
			const struct fos_frag_value *fv = bpf_map_lookup_elem(&fos_frags, &fk);

			if (fv) {
				action = fv->action;
				ifindex = fv->ifindex;
				_fos_count_decision(fv->slot < FOS_SLOTS ? fv->slot : 0,
						    fv->rule <= FOS_MAX_RULES ? fv->rule : 0, len);
				return _fos_act(action, ifindex);
			}
			_fos_stat_add(FOS_STAT_FRAG_NO_FIRST, 1);
			m.proto_unknown = m.pkt.flags & FOS_PKT_F_L4_UNKNOWN;
			m.ports_unknown = m.proto_unknown || m.pkt.proto == IPPROTO_TCP ||
					  m.pkt.proto == IPPROTO_UDP;
		}
	}

	n_rules = s->n_rules;
	if (n_rules > FOS_MAX_RULES)
		n_rules = FOS_MAX_RULES;
	m.base = slot * FOS_MAX_RULES;
	m.n_rules = n_rules;
	for (b = 0; b < FOS_MAX_RULES / FOS_RULE_BATCH; b++) {
		if (b * FOS_RULE_BATCH >= n_rules)
			break;
		hit = fos_xdp_filter_match(&m, b * FOS_RULE_BATCH);
		if (hit >= 0)
			break;
	}

	if (hit >= 0) {
		const struct fos_rule *rl;
		__u32 key = m.base + hit;

		rl = bpf_map_lookup_elem(&fos_rules, &key);
		if (!rl)
			return _fos_drop();
		action = rl->action;
		ifindex = rl->ifindex;
		rule = hit + 1;
	} else {
		action = s->default_action;
		ifindex = s->default_ifindex;
		rule = 0;
	}
	_fos_count_decision(slot, rule, len);

	if (m.pkt.flags & FOS_PKT_F_FIRST_FRAG) {
		struct fos_frag_value fv = {
		    .action = action,
		    .slot = slot,
		    .rule = rule,
		    .ifindex = ifindex,
		};

		bpf_map_update_elem(&fos_frags, &fk, &fv, BPF_ANY);
	}
	return _fos_act(action, ifindex);
}
