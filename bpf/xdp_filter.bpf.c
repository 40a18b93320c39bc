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
 * source/destination in the rule's CIDR lists, source/destination port in one
 * of the rule's ranges (an empty range list matches nothing). Packets without
 * ports (ICMP, ...) never match a port condition. A non-first fragment whose
 * first fragment was not seen has no ports: a port condition holds for it only
 * when the rule drops, so such a fragment can neither slip past a port rule
 * that dropped its first fragment nor be let in by a port rule that passes.
 * Rule actions outside enum fos_action drop.
 *
 * The rules are not walked: user space compiles them (lib/classify.c) into
 * per-dimension tables of rule bitmaps (fos/abi.h, "the rule classifier"). A
 * packet looks up one bitmap per dimension the slot uses (L4 protocol and
 * destination port; source port; source and destination address, LPM tries),
 * ANDs them and takes the lowest set bit: the first rule that matches, in a
 * time that depends on the number of 64-rule words, not on the rules.
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
#include "sets.bpf.h"
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
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FOS_SLOTS *FOS_CLS_PORT_CLASSES *FOS_CLS_PORT_ENTRIES);
	__type(key, __u32);
	__type(value, struct fos_cls_ports);
} fos_cls_dport SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FOS_SLOTS *FOS_CLS_PORT_ENTRIES);
	__type(key, __u32);
	__type(value, struct fos_cls_ports);
} fos_cls_sport SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FOS_SLOTS *FOS_CLS_MAX_BITMAPS);
	__type(key, __u32);
	__type(value, struct fos_cls_bitmap);
} fos_cls_bitmaps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, FOS_SLOTS *FOS_CLS_MAX_PREFIXES);
	__type(key, struct fos_cls_addr_key);
	__type(value, __u32);
} fos_cls_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, FOS_SLOTS *FOS_CLS_MAX_PREFIXES);
	__type(key, struct fos_cls_addr_key4);
	__type(value, __u32);
} fos_cls_addrs4 SEC(".maps");

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

static __always_inline bool _fos_set_has(__u32 set_id, const __u8 *addr, bool v4)
{
	if (v4) {
		struct fos_set_key4 k;

		k.prefixlen = FOS_SET_KEY_PREFIX + 32;
		k.set_id = bpf_htonl(set_id);
		__builtin_memcpy(k.addr, addr + 12, sizeof(k.addr));
		return bpf_map_lookup_elem(&fos_sets4, &k) != NULL;
	} else {
		struct fos_set_key k;

		k.prefixlen = FOS_SET_KEY_PREFIX + 128;
		k.set_id = bpf_htonl(set_id);
		__builtin_memcpy(k.addr, __builtin_assume_aligned(addr, 8), sizeof(k.addr));
		return bpf_map_lookup_elem(&fos_sets, &k) != NULL;
	}
}

static __always_inline const struct fos_cls_bitmap *_fos_bitmap(__u32 slot, __u32 idx)
{
	__u32 k = slot * FOS_CLS_MAX_BITMAPS + (idx & (FOS_CLS_MAX_BITMAPS - 1));

	return bpf_map_lookup_elem(&fos_cls_bitmaps, &k);
}

/* the bitmap of the longest rule prefix that holds addr, else dflt's */
static __always_inline const struct fos_cls_bitmap *
_fos_addr_bitmap(__u32 slot, __u8 dim, const __u8 *addr, bool v4, __u32 dflt)
{
	const __u32 *v;

	if (v4) {
		struct fos_cls_addr_key4 k;

		k.prefixlen = FOS_CLS_ADDR_KEY_PREFIX + 32;
		k.slot = slot;
		k.dim = dim;
		k._pad[0] = 0;
		k._pad[1] = 0;
		__builtin_memcpy(k.addr, addr + 12, sizeof(k.addr));
		v = bpf_map_lookup_elem(&fos_cls_addrs4, &k);
	} else {
		struct fos_cls_addr_key k;

		k.prefixlen = FOS_CLS_ADDR_KEY_PREFIX + 128;
		k.slot = slot;
		k.dim = dim;
		k.v4 = 0;
		k._pad = 0;
		__builtin_memcpy(k.addr, __builtin_assume_aligned(addr, 8), sizeof(k.addr));
		v = bpf_map_lookup_elem(&fos_cls_addrs, &k);
	}
	return _fos_bitmap(slot, v ? *v : dflt);
}

/* index of the lowest set bit of w (w != 0), without branches: the bits below
 * it, counted */
static __always_inline __u32 _fos_ctz64(__u64 w)
{
	__u64 x = (w & -w) - 1;

	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (x * 0x0101010101010101ULL) >> 56;
}

/*
 * The first rule of slot that matches p: the lowest bit set in the AND of the
 * bitmaps of every dimension the slot uses, or -1. A skipped dimension reuses
 * the L4 bitmap, so the AND stays one expression. A global function, so the
 * verifier checks it once rather than once per parse path.
 */
/* Is any rule in all three bitmaps (over the first nw words)? */
static __always_inline bool _fos_any(const struct fos_cls_bitmap *a, const struct fos_cls_bitmap *b,
				     const struct fos_cls_bitmap *c, __u32 nw)
{
	__u64 any = 0;

	for (__u32 i = 0; i < FOS_CLS_WORDS; i++) {
		if (i >= nw)
			break;
		any |= a->w[i] & b->w[i] & c->w[i];
	}
	return any != 0;
}

__noinline int fos_xdp_filter_classify(const struct fos_pkt *p, __u32 slot, __u32 frag_no_first)
{
	const struct fos_cls_bitmap *l4, *sp, *sa, *da;
	const struct fos_slot *s;
	__u32 flags, cls, bm, k, nw, i;

	if (!p || slot >= FOS_SLOTS)
		return -1;
	s = bpf_map_lookup_elem(&fos_slots, &slot);
	if (!s)
		return -1;
	flags = s->flags;

	if (p->flags & FOS_PKT_F_PORTS) {
		const struct fos_cls_ports *pe;

		cls = p->proto == IPPROTO_TCP ? FOS_CLS_TCP : FOS_CLS_UDP;
		k = (slot * FOS_CLS_PORT_CLASSES + cls) * FOS_CLS_PORT_ENTRIES +
		    p->dport / FOS_CLS_PORT_GROUP;
		pe = bpf_map_lookup_elem(&fos_cls_dport, &k);
		if (!pe)
			return -1;
		bm = pe->bm[p->dport % FOS_CLS_PORT_GROUP];
	} else {
		if (p->flags & FOS_PKT_F_L4_UNKNOWN)
			cls = FOS_CLS_UNKNOWN;
		else if (p->proto == IPPROTO_TCP)
			cls = FOS_CLS_TCP;
		else if (p->proto == IPPROTO_UDP)
			cls = FOS_CLS_UDP;
		else if (p->proto == IPPROTO_ICMP)
			cls = FOS_CLS_ICMP;
		else if (p->proto == IPPROTO_ICMPV6)
			cls = FOS_CLS_ICMPV6;
		else
			cls = FOS_CLS_OTHER;
		bm = frag_no_first ? s->frag_bm[cls] : s->noport_bm[cls];
	}
	l4 = _fos_bitmap(slot, bm);
	if (!l4)
		return -1;
	sp = l4;
	sa = l4;
	da = l4;
	if ((flags & FOS_SLOT_F_CLS_SPORT) && (p->flags & FOS_PKT_F_PORTS)) {
		const struct fos_cls_ports *pe;

		k = slot * FOS_CLS_PORT_ENTRIES + p->sport / FOS_CLS_PORT_GROUP;
		pe = bpf_map_lookup_elem(&fos_cls_sport, &k);
		if (!pe)
			return -1;
		sp = _fos_bitmap(slot, pe->bm[p->sport % FOS_CLS_PORT_GROUP]);
		if (!sp)
			return -1;
	}
	nw = s->n_words;
	/* the prefix lookups cost most: skip them once no rule is left */
	if ((flags & FOS_SLOT_F_CLS_SRC) && !_fos_any(l4, sp, sp, nw))
		return -1;
	if (flags & FOS_SLOT_F_CLS_SRC) {
		sa = _fos_addr_bitmap(slot, FOS_CLS_DIM_SRC, p->saddr, p->family == FOS_AF_INET,
				      s->src_default_bm);
		if (!sa)
			return -1;
	}
	if ((flags & FOS_SLOT_F_CLS_DST) && !_fos_any(l4, sp, sa, nw))
		return -1;
	if (flags & FOS_SLOT_F_CLS_DST) {
		da = _fos_addr_bitmap(slot, FOS_CLS_DIM_DST, p->daddr, p->family == FOS_AF_INET,
				      s->dst_default_bm);
		if (!da)
			return -1;
	}
	for (i = 0; i < FOS_CLS_WORDS; i++) {
		__u64 w;

		if (i >= nw)
			break;
		w = l4->w[i] & sp->w[i] & sa->w[i] & da->w[i];
		if (w)
			return i * 64 + _fos_ctz64(w);
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
	struct fos_pkt pkt = {};
	bool frag_no_first = false;
	const struct fos_slot *s;
	struct fos_ctl *ctl;
	struct fos_frag_key fk;
	__u32 zero = 0, slot, n_rules, rule, ifindex;
	__u8 action;
	int r, hit = -1;

	_fos_stat_add(FOS_STAT_PACKETS, 1);
	_fos_stat_add(FOS_STAT_BYTES, len);

	r = fos_parse_packet(data, data_end, &pkt);
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

	if ((s->flags & FOS_SLOT_F_WHITELIST) &&
	    _fos_set_has(s->whitelist_set, pkt.saddr, pkt.family == FOS_AF_INET)) {
		_fos_stat_add(FOS_STAT_WHITELIST, 1);
		return _fos_pass();
	}
	if ((s->flags & FOS_SLOT_F_BLACKLIST) &&
	    _fos_set_has(s->blacklist_set, pkt.saddr, pkt.family == FOS_AF_INET)) {
		_fos_stat_add(FOS_STAT_BLACKLIST, 1);
		return _fos_drop();
	}

	if (pkt.flags & FOS_PKT_F_FRAGMENT) {
		_fos_stat_add(FOS_STAT_FRAGMENTS, 1);
		_fos_frag_key(&pkt, &fk);
		if (!(pkt.flags & FOS_PKT_F_FIRST_FRAG)) {
			const struct fos_frag_value *fv = bpf_map_lookup_elem(&fos_frags, &fk);

			if (fv) {
				__u32 fslot = fv->slot < FOS_SLOTS ? fv->slot : 0;
				const struct fos_slot *fs = bpf_map_lookup_elem(&fos_slots, &fslot);

				action = fv->action;
				ifindex = fv->ifindex;
				/* the rule that decided is counted while its slot still
				 * holds that ruleset */
				if (fs && (__u32)fs->generation == fv->generation)
					_fos_count_decision(
					    fslot, fv->rule <= FOS_MAX_RULES ? fv->rule : 0, len);
				return _fos_act(action, ifindex);
			}
			_fos_stat_add(FOS_STAT_FRAG_NO_FIRST, 1);
			frag_no_first = true;
		}
	}

	n_rules = s->n_rules;
	if (n_rules > FOS_MAX_RULES)
		n_rules = FOS_MAX_RULES;
	if (n_rules) {
		hit = fos_xdp_filter_classify(&pkt, slot, frag_no_first);
		if (hit >= (int)n_rules)
			hit = -1;
	}

	if (hit >= 0) {
		const struct fos_rule *rl;
		__u32 key = slot * FOS_MAX_RULES + hit;

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

	if (pkt.flags & FOS_PKT_F_FIRST_FRAG) {
		struct fos_frag_value fv = {
		    .action = action,
		    .slot = slot,
		    .rule = rule,
		    .ifindex = ifindex,
		    .generation = (__u32)s->generation,
		};

		bpf_map_update_elem(&fos_frags, &fk, &fv, BPF_ANY);
	}
	return _fos_act(action, ifindex);
}
