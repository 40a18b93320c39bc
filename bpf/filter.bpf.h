/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The rule machinery of the filter programs (fos_xdp_filter, fos_tc_fw): the
 * per-program maps, the whitelist and blacklist, the rule classifier, the
 * fragment verdict memory and the counters. The verdict is hook-agnostic (a
 * struct fos_verdict: enum fos_action, redirect ifindex, deciding rule); each
 * program turns it into its hook's return code and counts the outcome
 * (PASSED, DROPPED, REDIRECTED) itself.
 *
 * A rule matches when all its conditions hold: protocol (FOS_PROTO_ANY or
 * equal), source/destination in the rule's CIDR lists, source/destination
 * port in one of the rule's ranges (an empty range list matches nothing),
 * and, in a stateful program, the packet's conntrack class in the rule's
 * state list. Packets without ports (ICMP, ...) never match a port condition.
 * A non-first fragment whose first fragment was not seen has no ports: a port
 * condition holds for it only when the rule drops, so such a fragment can
 * neither slip past a port rule that dropped its first fragment nor be let in
 * by a port rule that passes. A stateless program classifies every packet as
 * FOS_CT_NEW. Rule actions outside enum fos_action drop.
 *
 * The rules are not walked: user space compiles them (lib/classify.c) into
 * per-dimension tables of rule bitmaps (fos/abi.h, "the rule classifier"). A
 * packet looks up one bitmap per dimension the slot uses (L4 protocol and
 * destination port; source port; conntrack class; source and destination
 * address, LPM tries), ANDs them and takes the lowest set bit: the first rule
 * that matches, in a time that depends on the number of 64-rule words, not on
 * the rules.
 *
 * A stateful program classifies a packet with the tracker (conntrack.bpf.h)
 * first; fos_filter_ct_policy() says what the class means to the filter:
 * ESTABLISHED, RELATED and UNTRACKED pass without the rules, INVALID as
 * fos_ct_cfg.invalid says, NEW goes to the rules.
 *
 * The verdict of a first fragment is kept in fos_frags for the rest of the
 * datagram, with the slot and rule that decided it, so the later fragments
 * count on the same counter even after a slot flip. A verdict that no rule
 * or default action made (conntrack's) is kept with rule _FOS_FRAG_RULE_NONE
 * and the later fragments count on no rule.
 */
#ifndef FOS_FILTER_BPF_H
#define FOS_FILTER_BPF_H

#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "conntrack.bpf.h"
#include "ct_maps.bpf.h"
#include "fos/abi.h"
#include "parse.bpf.h"
#include "sets.bpf.h"

/* both slots' rule tables, slot-major */
#define FOS_RULE_ENTRIES (FOS_SLOTS * FOS_MAX_RULES)

/* fos_frag_value.rule of a verdict no rule or default action made */
#define _FOS_FRAG_RULE_NONE (FOS_MAX_RULES + 1)

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

/* What the filter decided for a packet. */
struct fos_verdict {
	__u32 action;  /* enum fos_action */
	__u32 ifindex; /* FOS_ACT_REDIRECT: the target */
	__u32 rule;    /* deciding rule index + 1; 0: the default action or a list;
			* _FOS_FRAG_RULE_NONE: conntrack */
};

/* The outcome of the whitelist and blacklist. */
enum fos_list_result {
	FOS_LIST_NONE = 0, /* neither list decided: on to conntrack and the rules */
	FOS_LIST_PASS,	   /* the source is whitelisted */
	FOS_LIST_DROP,	   /* the source is blacklisted */
};

static __always_inline void fos_stat_add(__u32 idx, __u64 v)
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

/*
 * "Now" for the datapath's clocks (CLOCK_BOOTTIME ns). With fos_sim_clock,
 * which only the packet tests set, it is fos_sim_now, so they can drive time.
 */
const volatile bool fos_sim_clock = false;
__u64 fos_sim_now;

static __always_inline __u64 fos_now(void)
{
	if (fos_sim_clock)
		return *(volatile __u64 *)&fos_sim_now;
	return bpf_ktime_get_boot_ns();
}

/* set-key prefix lengths searched for the entry a lookup matched */
#define _FOS_SET_PLEN_STEPS 8 /* ceil(log2(129)) */
/* expired entries removed from one lookup before it gives up */
#define _FOS_SET_EXPIRED_MAX 4

/*
 * The key a lookup of k's full address matched, e, whose prefix length the
 * trie does not return: the shortest prefix length whose lookup still finds
 * e, by bisection (a lookup at length L finds e exactly when e's length is
 * at most L). The length of the key is set to it.
 */
static __always_inline void _fos_set_find_plen(void *map, __u32 *prefixlen, __u32 full,
					       const void *k, const void *e)
{
	__u32 lo = FOS_SET_KEY_PREFIX, hi = full;

	for (int i = 0; i < _FOS_SET_PLEN_STEPS; i++) {
		__u32 mid = (lo + hi) / 2;

		if (lo >= hi)
			break;
		*prefixlen = mid;
		if (bpf_map_lookup_elem(map, k) == e)
			hi = mid;
		else
			lo = mid + 1;
	}
	*prefixlen = hi;
}

/*
 * Is addr in set set_id, where an entry matched that carries an expiry?
 * Entries whose expires_ns has passed are deleted and the lookup repeated, so
 * a shorter prefix of the set may still hold the address. A global function:
 * verified once, called only when a matching entry has an expiry.
 */
__noinline int fos_set_has_timed(__u32 set_id, const struct fos_ddos_addr *a, __u32 v4)
{
	struct fos_set_key4 k4 = {};
	struct fos_set_key k6 = {};
	const struct fos_set_value *e;
	__u64 now;

	if (!a)
		return 0;
	now = fos_now();
	k4.set_id = bpf_htonl(set_id);
	__builtin_memcpy(k4.addr, &a->addr[12], sizeof(k4.addr));
	k6.set_id = bpf_htonl(set_id);
	__builtin_memcpy(k6.addr, a->addr, sizeof(k6.addr));
	for (int i = 0; i < _FOS_SET_EXPIRED_MAX; i++) {
		if (v4) {
			k4.prefixlen = FOS_SET_KEY_PREFIX + 32;
			e = bpf_map_lookup_elem(&fos_sets4, &k4);
		} else {
			k6.prefixlen = FOS_SET_KEY_PREFIX + 128;
			e = bpf_map_lookup_elem(&fos_sets, &k6);
		}
		if (!e)
			return 0;
		if (!e->expires_ns || e->expires_ns > now)
			return 1;
		if (v4) {
			_fos_set_find_plen(&fos_sets4, &k4.prefixlen, FOS_SET_KEY_PREFIX + 32, &k4,
					   e);
			bpf_map_delete_elem(&fos_sets4, &k4);
		} else {
			_fos_set_find_plen(&fos_sets, &k6.prefixlen, FOS_SET_KEY_PREFIX + 128, &k6,
					   e);
			bpf_map_delete_elem(&fos_sets, &k6);
		}
	}
	return 0;
}

/* Is addr in set set_id? An entry without expiry answers at once. */
static __always_inline bool _fos_set_has(__u32 set_id, const __u8 *addr, bool v4)
{
	const struct fos_set_value *e;

	if (v4) {
		struct fos_set_key4 k;

		k.prefixlen = FOS_SET_KEY_PREFIX + 32;
		k.set_id = bpf_htonl(set_id);
		__builtin_memcpy(k.addr, addr + 12, sizeof(k.addr));
		e = bpf_map_lookup_elem(&fos_sets4, &k);
	} else {
		struct fos_set_key k;

		k.prefixlen = FOS_SET_KEY_PREFIX + 128;
		k.set_id = bpf_htonl(set_id);
		__builtin_memcpy(k.addr, __builtin_assume_aligned(addr, 8), sizeof(k.addr));
		e = bpf_map_lookup_elem(&fos_sets, &k);
	}
	if (!e)
		return false;
	if (!e->expires_ns)
		return true;
	return fos_set_has_timed(set_id, (const struct fos_ddos_addr *)addr, v4);
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

/*
 * The first rule of slot that matches p of conntrack class ct_class (enum
 * fos_ct_class): the lowest bit set in the AND of the bitmaps of every
 * dimension the slot uses, or -1. A skipped dimension reuses the L4 bitmap,
 * and the state bitmap takes the place of a skipped one (a fifth operand
 * only when all are used), so the AND stays one expression of four. A
 * global function, so the verifier checks it once rather than once per parse
 * path.
 */
__noinline int fos_filter_classify(const struct fos_pkt *p, __u32 slot, __u32 frag_no_first,
				   __u32 ct_class)
{
	const struct fos_cls_bitmap *l4, *sp, *sa, *da, *x;
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
	x = l4;
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
	if (flags & FOS_SLOT_F_CLS_STATE) {
		const struct fos_cls_bitmap *st;

		st = _fos_bitmap(slot, s->state_bm[ct_class & (_FOS_CT_CLASS_MAX - 1)]);
		if (!st)
			return -1;
		if (sp == l4)
			sp = st;
		else if (!(flags & FOS_SLOT_F_CLS_SRC))
			sa = st;
		else if (!(flags & FOS_SLOT_F_CLS_DST))
			da = st;
		else
			x = st;
	}
	nw = s->n_words;
	/* the prefix lookups cost most: skip them once no rule is left (an early
	 * exit only, so the state bitmap counts here when it is in sp) */
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
	if (x != l4) {
		/* every dimension in use: the state bitmap is a fifth operand */
		for (i = 0; i < FOS_CLS_WORDS; i++) {
			__u64 w;

			if (i >= nw)
				break;
			w = l4->w[i] & sp->w[i] & sa->w[i] & da->w[i] & x->w[i];
			if (w)
				return i * 64 + _fos_ctz64(w);
		}
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

/* The live slot, as fos_ctl names it (read once): its header, and its index
 * in *ret_slot. */
static __always_inline const struct fos_slot *fos_filter_slot(__u32 *ret_slot)
{
	struct fos_ctl *ctl;
	__u32 zero = 0, slot;

	ctl = bpf_map_lookup_elem(&fos_ctl, &zero);
	slot = ctl ? *(volatile __u32 *)&ctl->active : 0;
	if (slot >= FOS_SLOTS)
		slot = 0;
	*ret_slot = slot;
	return bpf_map_lookup_elem(&fos_slots, &slot);
}

/* The whitelist wins over the blacklist, so trusted sources stay reachable.
 * An entry whose expires_ns has passed (fos_now()) counts as absent and is
 * deleted on the way. */
static __always_inline enum fos_list_result fos_filter_lists(const struct fos_slot *s,
							     const struct fos_pkt *p)
{
	if ((s->flags & FOS_SLOT_F_WHITELIST) &&
	    _fos_set_has(s->whitelist_set, p->saddr, p->family == FOS_AF_INET)) {
		fos_stat_add(FOS_STAT_WHITELIST, 1);
		return FOS_LIST_PASS;
	}
	if ((s->flags & FOS_SLOT_F_BLACKLIST) &&
	    _fos_set_has(s->blacklist_set, p->saddr, p->family == FOS_AF_INET)) {
		fos_stat_add(FOS_STAT_BLACKLIST, 1);
		return FOS_LIST_DROP;
	}
	return FOS_LIST_NONE;
}

static __always_inline void fos_filter_frag_key(const struct fos_pkt *p, struct fos_frag_key *k)
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
		fos_stat_add(FOS_STAT_DEFAULT, 1);
	}
}

/*
 * A non-first fragment: true and *v if its first fragment's verdict is
 * known, counted on the rule or default that made it while that rule's slot
 * still holds the same ruleset; else false, counted FRAG_NO_FIRST.
 */
static __always_inline bool fos_filter_frag_recall(const struct fos_frag_key *fk, __u64 len,
						   struct fos_verdict *v)
{
	const struct fos_frag_value *fv = bpf_map_lookup_elem(&fos_frags, fk);
	const struct fos_slot *fs;
	__u32 fslot;

	if (!fv) {
		fos_stat_add(FOS_STAT_FRAG_NO_FIRST, 1);
		return false;
	}
	fslot = fv->slot < FOS_SLOTS ? fv->slot : 0;
	fs = bpf_map_lookup_elem(&fos_slots, &fslot);
	v->action = fv->action;
	v->ifindex = fv->ifindex;
	v->rule = fv->rule;
	if (fs && (__u32)fs->generation == fv->generation && v->rule <= FOS_MAX_RULES)
		_fos_count_decision(fslot, v->rule, len);
	return true;
}

/* Keep a first fragment's verdict for the rest of its datagram. */
static __always_inline void fos_filter_frag_remember(const struct fos_frag_key *fk, __u32 slot,
						     const struct fos_slot *s,
						     const struct fos_verdict *v)
{
	struct fos_frag_value fv = {
	    .action = v->action,
	    .slot = slot,
	    .rule = v->rule,
	    .ifindex = v->ifindex,
	    .generation = (__u32)s->generation,
	};

	bpf_map_update_elem(&fos_frags, fk, &fv, BPF_ANY);
}

/*
 * The verdict of slot's rules, or of its default action, for p of conntrack
 * class ct_class, counted on that rule or the default: 0 and *v, or -1 when
 * the rule cannot be read (the caller drops).
 */
static __always_inline int fos_filter_rules(const struct fos_pkt *p, __u64 len, __u32 slot,
					    const struct fos_slot *s, bool frag_no_first,
					    __u32 ct_class, struct fos_verdict *v)
{
	__u32 n_rules = s->n_rules;
	int hit = -1;

	if (n_rules > FOS_MAX_RULES)
		n_rules = FOS_MAX_RULES;
	if (n_rules) {
		hit = fos_filter_classify(p, slot, frag_no_first, ct_class);
		if (hit >= (int)n_rules)
			hit = -1;
	}
	if (hit >= 0) {
		const struct fos_rule *rl;
		__u32 key = slot * FOS_MAX_RULES + hit;

		rl = bpf_map_lookup_elem(&fos_rules, &key);
		if (!rl)
			return -1;
		v->action = rl->action;
		v->ifindex = rl->ifindex;
		v->rule = hit + 1;
	} else {
		v->action = s->default_action;
		v->ifindex = s->default_ifindex;
		v->rule = 0;
	}
	_fos_count_decision(slot, v->rule, len);
	return 0;
}

/* Count a packet's class (fos_ct_classify()'s result) in fos_stats; a
 * failed classification counts as INVALID. */
static __always_inline void fos_filter_ct_stat(int cls)
{
	switch (cls) {
	case FOS_CT_NEW:
		fos_stat_add(FOS_STAT_CT_NEW, 1);
		break;
	case FOS_CT_ESTABLISHED:
		fos_stat_add(FOS_STAT_CT_ESTABLISHED, 1);
		break;
	case FOS_CT_RELATED:
		fos_stat_add(FOS_STAT_CT_RELATED, 1);
		break;
	case FOS_CT_UNTRACKED:
		fos_stat_add(FOS_STAT_CT_UNTRACKED, 1);
		break;
	default:
		fos_stat_add(FOS_STAT_CT_INVALID, 1);
		break;
	}
}

/*
 * What a stateful filter does with a packet of class cls, counted: false and
 * the class the rules see in *ret_class, or true and the verdict in *v when
 * conntrack decides alone (ESTABLISHED, RELATED, UNTRACKED pass; INVALID as
 * fos_ct_cfg.invalid says).
 */
static __always_inline bool fos_filter_ct_policy(int cls, __u32 *ret_class, struct fos_verdict *v)
{
	const struct fos_ct_cfg *cfg;
	__u32 zero = 0;

	fos_filter_ct_stat(cls);
	v->action = FOS_ACT_PASS;
	v->ifindex = 0;
	v->rule = _FOS_FRAG_RULE_NONE;
	switch (cls) {
	case FOS_CT_NEW:
		*ret_class = FOS_CT_NEW;
		return false;
	case FOS_CT_ESTABLISHED:
	case FOS_CT_RELATED:
	case FOS_CT_UNTRACKED:
		return true;
	default:
		break;
	}
	cfg = bpf_map_lookup_elem(&fos_ct_cfg, &zero);
	switch (cfg ? cfg->invalid : FOS_CT_INVALID_DROP) {
	case FOS_CT_INVALID_PASS:
		return true;
	case FOS_CT_INVALID_RULES:
		*ret_class = FOS_CT_INVALID;
		return false;
	default:
		v->action = FOS_ACT_DROP;
		return true;
	}
}

#endif /* FOS_FILTER_BPF_H */
