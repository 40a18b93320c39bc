/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Connection tracking for the BPF programs: what a parsed packet is to the
 * global table fos_ct (its enum fos_ct_class), and the table update it
 * brings. The layout is in fos/abi.h, "connection tracking".
 *
 * fos_ct_classify() builds the packet's canonical key, looks the entry up and
 * runs the state machine below without writing anything; it returns the
 * class and leaves in a struct fos_ct_res the key and the entry the packet
 * makes (op, state, flags). With update (the TC programs), a packet of class
 * ESTABLISHED is written to its entry at once: it passes whatever the rules
 * say. A NEW packet is written by fos_ct_commit() once the caller knows the
 * packet passes; the XDP filter never writes.
 *
 * Keys: end 0 is the (address, port) pair that is smaller, the addresses
 * compared as bytes in memcmp order, then the port numbers; ICMP/ICMPv6 echo
 * flows use the echo identifier as both ports, protocols without ports 0.
 * Every byte of the key not set is zero.
 *
 * Open flows per source (fos_ct_src, for rateLimiting.connectionsPerIP)
 * follow the rule in fos/abi.h: an entry with FOS_CT_F_COUNTED holds one
 * count for its opener. An insert adds it, a TCP entry entering TIME_WAIT or
 * CLOSE gives it up, a reopen moves it to the new opener.
 *
 * Time is CLOCK_BOOTTIME (bpf_ktime_get_boot_ns). An entry whose last packet
 * is older than its timeout (fos_ct_cfg.timeout_ns by enum fos_ct_timeout:
 * TCP by state, UDP and other protocols, ICMP echo) counts as absent.
 *
 * TCP, flag by flag (window-agnostic). "syn" is a SYN without ACK, RST or
 * FIN, "syn-ack" a SYN with ACK; orig/reply the direction of the sender
 * against the end that opened the flow. A SYN with RST or FIN, and a
 * segment with none of SYN, ACK, FIN, RST, is INVALID in every state.
 *
 *   state (entry)  packet                           next state         class
 *   -------------  -------------------------------  -----------------  -----------
 *   none/expired   syn                              SYN_SENT, new orig NEW
 *   none/expired   anything else                    (no entry)         INVALID
 *   any            reply RST, or orig RST after a   CLOSE              ESTABLISHED
 *                  reply was seen
 *   any            orig RST, no reply seen yet      CLOSE              NEW
 *   TIME_WAIT,     syn (either end)                 SYN_SENT, new orig NEW (reopened)
 *   CLOSE
 *   SYN_SENT       orig syn (retransmit)            SYN_SENT           NEW
 *   SYN_SENT       orig, anything else              -                  INVALID
 *   SYN_SENT       reply syn-ack                    SYN_RECV           ESTABLISHED
 *   SYN_SENT       reply syn (simultaneous open)    SYN_RECV + SIMOPEN ESTABLISHED
 *   SYN_SENT       reply, anything else             -                  INVALID
 *   SYN_RECV       reply syn-ack, orig syn          SYN_RECV           ESTABLISHED
 *                  (either end's syn or syn-ack with SIMOPEN)
 *   SYN_RECV       any other SYN                    -                  INVALID
 *   SYN_RECV       FIN from end e                   FIN_WAIT + FIN<e>  ESTABLISHED
 *   SYN_RECV       orig ACK (either end's with      ESTABLISHED        ESTABLISHED
 *                  SIMOPEN)
 *   SYN_RECV       reply ACK                        SYN_RECV           ESTABLISHED
 *   ESTABLISHED    FIN from end e                   FIN_WAIT + FIN<e>  ESTABLISHED
 *   FIN_WAIT       FIN from the other end           TIME_WAIT + FIN<e> ESTABLISHED
 *   FIN_WAIT       ACK from the other end           CLOSE_WAIT         ESTABLISHED
 *   CLOSE_WAIT     FIN from the other end           TIME_WAIT + FIN<e> ESTABLISHED
 *   ESTABLISHED .. any SYN                          -                  INVALID
 *   TIME_WAIT
 *   CLOSE          any SYN but a syn; anything      -                  INVALID
 *                  when no reply was ever seen
 *   any other packet of a state from SYN_RECV on:   unchanged          ESTABLISHED
 *
 * "The other end" is the end whose FIN flag is not set. An ESTABLISHED packet
 * from the reply direction sets FOS_CT_F_SEEN_REPLY.
 *
 * UDP and other protocols: no live entry -> NEW, an entry in FOS_CTS_NEW with
 * the sender as originator; a packet from the other end -> ESTABLISHED, state
 * FOS_CTS_ESTABLISHED and SEEN_REPLY; the originator's packets are NEW until
 * then (the rules see them again, as with Linux conntrack), ESTABLISHED after.
 *
 * ICMP/ICMPv6: an echo request is a UDP-like flow of the echo identifier; an
 * echo reply needs a live entry (else INVALID) and, from the originator, a
 * reply seen before. An error (ICMP 3, 11, 12; ICMPv6 1-4) is RELATED when
 * the flow of the packet it quotes (the embedded IP header, IPv4 with
 * options or IPv6 with up to FOS_CT_INNER_EXT_MAX extension headers, and the
 * first 8 bytes of its L4 header) has a live entry, else INVALID; an
 * embedded header that is truncated is INVALID and counts
 * FOS_CT_STAT_ICMP_NO_INNER. Neighbour discovery (ICMPv6 133-137, hop limit
 * 255) is FOS_CT_UNTRACKED. Other types are NEW and never tracked.
 */
#ifndef FOS_CONNTRACK_BPF_H
#define FOS_CONNTRACK_BPF_H

#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/errno.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "ct_maps.bpf.h"
#include "fos/abi.h"
#include "icmp.bpf.h"
#include "parse.bpf.h"

/* the class of IPv6 neighbour discovery: passes before the rules, never
 * tracked */
#define FOS_CT_UNTRACKED _FOS_CT_CLASS_MAX

/* IPv6 extension headers walked in a packet an ICMPv6 error quotes */
#define FOS_CT_INNER_EXT_MAX 3

#define _FOS_TCP_FIN 0x01
#define _FOS_TCP_SYN 0x02
#define _FOS_TCP_RST 0x04
#define _FOS_TCP_ACK 0x10

#define _FOS_ICMP6_ERR_MAX   4 /* types 1-4: the ICMPv6 errors */
#define _FOS_ICMP6_ECHO	     128
#define _FOS_ICMP6_ECHOREPLY 129
#define _FOS_ICMP6_ND_MIN    133 /* router solicitation .. redirect */
#define _FOS_ICMP6_ND_MAX    137

/* what the packet does to the table */
enum fos_ct_op {
	FOS_CT_OP_NONE = 0, /* nothing */
	FOS_CT_OP_UPDATE,   /* the entry gets the new state, flags, counters, last_ns */
	FOS_CT_OP_CREATE,   /* a new entry */
	FOS_CT_OP_REOPEN,   /* an expired or closed entry is reused in place by a new flow */
};

/* One packet's view of the table, from fos_ct_classify() to fos_ct_commit(). */
struct fos_ct_res {
	struct fos_ct_key key;
	__u64 now;    /* bpf_ktime_get_boot_ns() */
	__u32 flags;  /* the entry's flags after the packet (FOS_CT_F_COUNTED aside) */
	__u32 flags0; /* ... before it */
	__u8 cls;     /* enum fos_ct_class or FOS_CT_UNTRACKED */
	__u8 op;      /* enum fos_ct_op */
	__u8 state;   /* the entry's state after the packet */
	__u8 dir;     /* enum fos_ct_dir of the packet */
	__u8 state0;  /* the entry's state before the packet */
	__u8 _pad[3];
};

static __always_inline void _fos_ct_stat(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&fos_ct_stats, &idx);

	if (c)
		*c += 1;
}

/* len bytes at off of the packet; xdp is a constant that picks the helper of
 * the program type */
static __always_inline long _fos_ct_load(void *ctx, bool xdp, __u32 off, void *to, __u32 len)
{
	if (xdp)
		return bpf_xdp_load_bytes(ctx, off, to, len);
	return bpf_skb_load_bytes(ctx, off, to, len);
}

/* (a, ap) against (b, bp): -1, 0 or 1; a and b are 8-byte aligned */
static __always_inline int _fos_ct_end_cmp(const __u8 *a, __u16 ap, const __u8 *b, __u16 bp)
{
	const __u64 *x = __builtin_assume_aligned(a, 8);
	const __u64 *y = __builtin_assume_aligned(b, 8);
	__u64 u = bpf_be64_to_cpu(x[0]), v = bpf_be64_to_cpu(y[0]);

	if (u == v) {
		u = bpf_be64_to_cpu(x[1]);
		v = bpf_be64_to_cpu(y[1]);
	}
	if (u == v) {
		u = ap;
		v = bp;
	}
	return u < v ? -1 : u > v;
}

/* The key of the flow of a packet (saddr, sport) -> (daddr, dport), whose
 * other bytes the caller zeroed; returns the sender's end, 0 or 1. */
static __always_inline __u32 _fos_ct_key_set(struct fos_ct_key *k, const __u8 *saddr, __u16 sport,
					     const __u8 *daddr, __u16 dport, __u8 proto, __u32 zone)
{
	__u32 end = _fos_ct_end_cmp(saddr, sport, daddr, dport) > 0;

	if (end) {
		__builtin_memcpy(k->addr[0], __builtin_assume_aligned(daddr, 8), 16);
		__builtin_memcpy(k->addr[1], __builtin_assume_aligned(saddr, 8), 16);
		k->port[0] = dport;
		k->port[1] = sport;
	} else {
		__builtin_memcpy(k->addr[0], __builtin_assume_aligned(saddr, 8), 16);
		__builtin_memcpy(k->addr[1], __builtin_assume_aligned(daddr, 8), 16);
		k->port[0] = sport;
		k->port[1] = dport;
	}
	k->zone = zone;
	k->proto = proto;
	return end;
}

/* Has e seen a packet within its timeout? */
static __always_inline bool _fos_ct_live(const struct fos_ct_value *e, __u8 proto, __u64 now)
{
	const struct fos_ct_cfg *cfg;
	__u32 zero = 0;
	__u64 last;

	cfg = bpf_map_lookup_elem(&fos_ct_cfg, &zero);
	if (!cfg)
		return false;
	/* another CPU may have stamped it after our clock read */
	last = *(volatile __u64 *)&e->last_ns;
	return now <= last || now - last <= cfg->timeout_ns[fos_ct_timeout_of(proto, e->state)];
}

/* No live entry: the packet from end opens a flow. */
static __always_inline void _fos_ct_open(struct fos_ct_res *r, bool exists, __u32 end, __u8 state)
{
	r->cls = FOS_CT_NEW;
	r->op = exists ? FOS_CT_OP_REOPEN : FOS_CT_OP_CREATE;
	r->state = state;
	r->flags = end ? FOS_CT_F_ORIG1 : 0;
	r->dir = FOS_CT_DIR_ORIG;
}

/* The entry e (live) before the packet from end: r's direction and starting
 * point. */
static __always_inline void _fos_ct_from(struct fos_ct_res *r, const struct fos_ct_value *e,
					 __u32 end)
{
	r->state0 = e->state;
	r->flags0 = *(volatile const __u32 *)&e->flags;
	r->state = r->state0;
	r->flags = r->flags0;
	r->dir = end == !!(r->flags0 & FOS_CT_F_ORIG1) ? FOS_CT_DIR_ORIG : FOS_CT_DIR_REPLY;
	r->op = FOS_CT_OP_UPDATE;
}

/* The TCP state machine of the table above; e is the live entry or NULL,
 * exists says whether the key is in the table at all. */
static __always_inline void _fos_ct_tcp(struct fos_ct_res *r, const struct fos_ct_value *e,
					bool exists, __u32 end, __u8 tf)
{
	bool syn = tf & _FOS_TCP_SYN, ack = tf & _FOS_TCP_ACK;
	bool fin = tf & _FOS_TCP_FIN, rst = tf & _FOS_TCP_RST;
	bool syn_only = syn && !ack && !fin && !rst;
	__u8 cls = FOS_CT_ESTABLISHED, fin_me;
	bool orig, simopen;

	r->cls = FOS_CT_INVALID;
	if ((syn && (fin || rst)) || !(syn || ack || fin || rst))
		return;
	if (!e) {
		if (syn_only)
			_fos_ct_open(r, exists, end, FOS_CTS_SYN_SENT);
		return;
	}
	if (syn_only && (e->state == FOS_CTS_TIME_WAIT || e->state == FOS_CTS_CLOSE)) {
		_fos_ct_open(r, true, end, FOS_CTS_SYN_SENT);
		return;
	}
	_fos_ct_from(r, e, end);
	orig = r->dir == FOS_CT_DIR_ORIG;
	simopen = r->flags0 & FOS_CT_F_SIMOPEN;
	fin_me = end ? FOS_CT_F_FIN1 : FOS_CT_F_FIN0;

	if (rst) {
		/* a refused connection's RST reaches the client as part of the flow */
		r->state = FOS_CTS_CLOSE;
		if (orig && !(r->flags0 & FOS_CT_F_SEEN_REPLY))
			cls = FOS_CT_NEW;
	} else {
		switch (r->state0) {
		case FOS_CTS_SYN_SENT:
			if (orig)
				cls = syn_only ? FOS_CT_NEW : FOS_CT_INVALID;
			else if (syn)
				r->state = FOS_CTS_SYN_RECV;
			else
				cls = FOS_CT_INVALID;
			if (!orig && syn_only)
				r->flags |= FOS_CT_F_SIMOPEN;
			break;
		case FOS_CTS_SYN_RECV:
			if (syn) {
				if (!simopen && (ack ? orig : !orig))
					cls = FOS_CT_INVALID;
			} else if (fin) {
				r->state = FOS_CTS_FIN_WAIT;
				r->flags |= fin_me;
			} else if (orig || simopen) {
				r->state = FOS_CTS_ESTABLISHED;
			}
			break;
		case FOS_CTS_ESTABLISHED:
			if (syn) {
				cls = FOS_CT_INVALID;
			} else if (fin) {
				r->state = FOS_CTS_FIN_WAIT;
				r->flags |= fin_me;
			}
			break;
		case FOS_CTS_FIN_WAIT:
			if (syn) {
				cls = FOS_CT_INVALID;
			} else if (!(r->flags0 & fin_me)) {
				r->state = fin ? FOS_CTS_TIME_WAIT : FOS_CTS_CLOSE_WAIT;
				if (fin)
					r->flags |= fin_me;
			}
			break;
		case FOS_CTS_CLOSE_WAIT:
			if (syn) {
				cls = FOS_CT_INVALID;
			} else if (fin && !(r->flags0 & fin_me)) {
				r->state = FOS_CTS_TIME_WAIT;
				r->flags |= fin_me;
			}
			break;
		case FOS_CTS_TIME_WAIT:
			if (syn)
				cls = FOS_CT_INVALID;
			break;
		case FOS_CTS_CLOSE:
			if (syn || !(r->flags0 & FOS_CT_F_SEEN_REPLY))
				cls = FOS_CT_INVALID;
			break;
		default:
			cls = FOS_CT_INVALID;
			break;
		}
	}
	if (cls == FOS_CT_INVALID) {
		r->op = FOS_CT_OP_NONE;
		r->state = r->state0;
		r->flags = r->flags0;
	} else if (cls == FOS_CT_ESTABLISHED && !orig) {
		r->flags |= FOS_CT_F_SEEN_REPLY;
	}
	r->cls = cls;
}

/* UDP, other protocols and ICMP echo, e and exists as for TCP; reply_only:
 * an echo reply, which opens nothing. */
static __always_inline void _fos_ct_plain(struct fos_ct_res *r, const struct fos_ct_value *e,
					  bool exists, __u32 end, bool reply_only)
{
	if (!e) {
		if (reply_only)
			r->cls = FOS_CT_INVALID;
		else
			_fos_ct_open(r, exists, end, FOS_CTS_NEW);
		return;
	}
	_fos_ct_from(r, e, end);
	if (r->dir == FOS_CT_DIR_REPLY) {
		r->cls = FOS_CT_ESTABLISHED;
		r->state = FOS_CTS_ESTABLISHED;
		r->flags |= FOS_CT_F_SEEN_REPLY;
	} else if (r->flags0 & FOS_CT_F_SEEN_REPLY) {
		r->cls = FOS_CT_ESTABLISHED;
	} else if (reply_only) {
		r->cls = FOS_CT_INVALID;
		r->op = FOS_CT_OP_NONE;
	} else {
		r->cls = FOS_CT_NEW;
	}
}

/* The fos_ct_src key of the end of key that opened the flow (by the
 * FOS_CT_F_ORIG1 bit of flags), IPv6 cut to FOS_CT_SRC_V6_PLEN. */
static __always_inline void _fos_ct_src_key(struct fos_ddos_addr *a, const struct fos_ct_key *key,
					    __u32 flags)
{
	__builtin_memcpy(a->addr, key->addr[(flags & FOS_CT_F_ORIG1) ? 1 : 0], sizeof(a->addr));
	if (!_fos_ipv6_v4mapped((const struct in6_addr *)a->addr))
		__builtin_memset(&a->addr[FOS_CT_SRC_V6_PLEN / 8], 0, 16 - FOS_CT_SRC_V6_PLEN / 8);
}

/* One more open flow for the opener of key (by flags) in fos_ct_src; false
 * when no count could be made (the map is full). */
static __always_inline bool _fos_ct_src_add(const struct fos_ct_key *key, __u32 flags)
{
	struct fos_ddos_addr k;
	const __u64 one = 1;
	__u64 *n;

	_fos_ct_src_key(&k, key, flags);
	n = bpf_map_lookup_elem(&fos_ct_src, &k);
	if (!n) {
		if (bpf_map_update_elem(&fos_ct_src, &k, &one, BPF_NOEXIST) == 0)
			return true;
		/* another CPU created it first */
		n = bpf_map_lookup_elem(&fos_ct_src, &k);
		if (!n)
			return false;
	}
	__sync_fetch_and_add(n, 1);
	return true;
}

/* One open flow fewer for the opener of key (by flags), never below 0. The
 * count stays at 0 for fwd to delete: a delete here could lose another CPU's
 * add to the same count. */
static __always_inline void _fos_ct_src_sub(const struct fos_ct_key *key, __u32 flags)
{
	struct fos_ddos_addr k;
	__u64 *n, v;

	_fos_ct_src_key(&k, key, flags);
	n = bpf_map_lookup_elem(&fos_ct_src, &k);
	if (!n)
		return;
	for (int i = 0; i < 8; i++) {
		v = *(volatile __u64 *)n;
		if (v == 0 || __sync_val_compare_and_swap(n, v, v - 1) == v)
			return;
	}
}

/* A TCP entry in TIME_WAIT or CLOSE is no longer an open flow: it gives up
 * its count. Of CPUs racing on one entry, only the one whose atomic and
 * finds FOS_CT_F_COUNTED set subtracts. */
static __always_inline void _fos_ct_release(struct fos_ct_value *e, const struct fos_ct_key *key)
{
	__u32 old;

	if (!(*(volatile __u32 *)&e->flags & FOS_CT_F_COUNTED))
		return;
	old = __sync_fetch_and_and(&e->flags, ~(__u32)FOS_CT_F_COUNTED);
	if (old & FOS_CT_F_COUNTED)
		_fos_ct_src_sub(key, old);
}

/* The packet's counters and state on its (live) entry. */
static __always_inline void _fos_ct_touch(struct fos_ct_value *e, const struct fos_ct_res *r,
					  __u64 len)
{
	__u32 d = r->dir & 1, gained = r->flags & ~r->flags0 & ~(__u32)FOS_CT_F_COUNTED;

	if (r->state != r->state0)
		e->state = r->state;
	/* flags only gain bits here, atomically: a concurrent update keeps its
	 * own, and a cleared FOS_CT_F_COUNTED is never set again */
	if (gained)
		__sync_fetch_and_or(&e->flags, gained);
	e->last_ns = r->now;
	__sync_fetch_and_add(&e->packets[d], 1);
	__sync_fetch_and_add(&e->bytes[d], len);
	if (r->key.proto == IPPROTO_TCP &&
	    (r->state == FOS_CTS_TIME_WAIT || r->state == FOS_CTS_CLOSE))
		_fos_ct_release(e, &r->key);
}

/* A reopen takes the entry over for r's flow: its flags become r's, with
 * FOS_CT_F_COUNTED if counted, in one compare-and-exchange, so that each
 * count the entry held is moved exactly once: the new opener gains 1 and,
 * if the entry was COUNTED, its previous opener loses 1. False when other
 * CPUs kept changing the flags (the entry is then left as they made it). */
static __always_inline bool _fos_ct_take_over(struct fos_ct_value *e, const struct fos_ct_res *r)
{
	bool counted = _fos_ct_src_add(&r->key, r->flags);
	__u32 want = r->flags | (counted ? FOS_CT_F_COUNTED : 0), old;

	for (int i = 0; i < 4; i++) {
		old = *(volatile __u32 *)&e->flags;
		if (__sync_val_compare_and_swap(&e->flags, old, want) == old) {
			if (old & FOS_CT_F_COUNTED)
				_fos_ct_src_sub(&r->key, old);
			return true;
		}
	}
	if (counted)
		_fos_ct_src_sub(&r->key, r->flags);
	return false;
}

/*
 * An ICMP error: RELATED when the flow of the packet it quotes has a live
 * entry, else INVALID. off is where the quoted IP header starts, end where
 * the ICMP message ends.
 */
static __always_inline int _fos_ct_related(void *ctx, bool xdp, const struct fos_pkt *p, __u32 zone,
					   struct fos_ct_res *r)
{
	__u8 saddr[16] __attribute__((aligned(8)));
	__u8 daddr[16] __attribute__((aligned(8)));
	__u32 off = p->l4_off + 8, end = p->l4_off + p->l4_len;
	const struct fos_ct_value *e;
	__u16 sport = 0, dport = 0;
	__u8 proto, l4[8];

	r->cls = FOS_CT_INVALID;
	if (p->proto == IPPROTO_ICMP) {
		struct iphdr ih;

		if (off + sizeof(ih) > end || _fos_ct_load(ctx, xdp, off, &ih, sizeof(ih)) < 0)
			goto no_inner;
		/* a non-first fragment carries no L4 header to match */
		if (ih.version != 4 || ih.ihl < 5 || (bpf_ntohs(ih.frag_off) & FOS_IP_OFFSET))
			goto no_inner;
		proto = ih.protocol;
		_fos_addr_set_v4(saddr, ih.saddr);
		_fos_addr_set_v4(daddr, ih.daddr);
		off += ih.ihl * 4;
	} else {
		struct ipv6hdr ih;
		__u8 nh;

		if (off + sizeof(ih) > end || _fos_ct_load(ctx, xdp, off, &ih, sizeof(ih)) < 0)
			goto no_inner;
		if (ih.version != 6)
			goto no_inner;
		_fos_addr_set_v6(saddr, &ih.saddr);
		_fos_addr_set_v6(daddr, &ih.daddr);
		nh = ih.nexthdr;
		off += sizeof(ih);
		for (int i = 0; i < FOS_CT_INNER_EXT_MAX; i++) {
			__u8 eh[8];
			__u32 len;

			if (!_fos_ipv6_is_ext(nh))
				break;
			if (off + sizeof(eh) > end ||
			    _fos_ct_load(ctx, xdp, off, eh, sizeof(eh)) < 0)
				goto no_inner;
			if (nh == IPPROTO_FRAGMENT) {
				if (((eh[2] << 8) | eh[3]) & FOS_IP6_OFFSET)
					goto no_inner;
				len = sizeof(eh);
			} else if (nh == IPPROTO_AH) {
				len = (eh[1] + 2) * 4;
			} else {
				len = (eh[1] + 1) * 8;
			}
			nh = eh[0];
			off += len;
		}
		if (_fos_ipv6_is_ext(nh))
			goto no_inner;
		proto = nh;
	}

	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_ICMP ||
	    proto == IPPROTO_ICMPV6) {
		if (off + sizeof(l4) > end || _fos_ct_load(ctx, xdp, off, l4, sizeof(l4)) < 0)
			goto no_inner;
		if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
			sport = (l4[0] << 8) | l4[1];
			dport = (l4[2] << 8) | l4[3];
		} else if (proto == IPPROTO_ICMP
			       ? l4[0] == FOS_ICMP_ECHO || l4[0] == FOS_ICMP_ECHOREPLY
			       : l4[0] == _FOS_ICMP6_ECHO || l4[0] == _FOS_ICMP6_ECHOREPLY) {
			sport = (l4[4] << 8) | l4[5];
			dport = sport;
		} else {
			/* no error is sent about an error: no flow to match */
			return r->cls;
		}
	}
	_fos_ct_key_set(&r->key, saddr, sport, daddr, dport, proto, zone);
	e = bpf_map_lookup_elem(&fos_ct, &r->key);
	if (e && _fos_ct_live(e, proto, r->now))
		r->cls = FOS_CT_RELATED;
	return r->cls;
no_inner:
	_fos_ct_stat(FOS_CT_STAT_ICMP_NO_INNER);
	return r->cls;
}

enum _fos_ct_icmp_kind {
	_FOS_CT_ICMP_OTHER = 0, /* NEW, not tracked */
	_FOS_CT_ICMP_ECHO,
	_FOS_CT_ICMP_ECHOREPLY,
	_FOS_CT_ICMP_ERROR,
	_FOS_CT_ICMP_ND,
};

static __always_inline int _fos_ct_icmp_kind(const struct fos_pkt *p)
{
	__u8 t = p->icmp_type;

	if (p->proto == IPPROTO_ICMP) {
		if (t == FOS_ICMP_ECHO)
			return _FOS_CT_ICMP_ECHO;
		if (t == FOS_ICMP_ECHOREPLY)
			return _FOS_CT_ICMP_ECHOREPLY;
		if (t == FOS_ICMP_DEST_UNREACH || t == FOS_ICMP_TIME_EXCEEDED ||
		    t == FOS_ICMP_PARAMETERPROB)
			return _FOS_CT_ICMP_ERROR;
		return _FOS_CT_ICMP_OTHER;
	}
	if (t == _FOS_ICMP6_ECHO)
		return _FOS_CT_ICMP_ECHO;
	if (t == _FOS_ICMP6_ECHOREPLY)
		return _FOS_CT_ICMP_ECHOREPLY;
	if (t >= 1 && t <= _FOS_ICMP6_ERR_MAX)
		return _FOS_CT_ICMP_ERROR;
	if (t >= _FOS_ICMP6_ND_MIN && t <= _FOS_ICMP6_ND_MAX && p->ttl == 255)
		return _FOS_CT_ICMP_ND;
	return _FOS_CT_ICMP_OTHER;
}

/*
 * The class of p (an IP packet that is not a non-first fragment) in zone,
 * with *r for fos_ct_commit(). With update, an ESTABLISHED packet is written
 * to its entry (len bytes). xdp names the program type of ctx.
 */
static __always_inline int fos_ct_classify(void *ctx, bool xdp, const struct fos_pkt *p, __u32 zone,
					   bool update, __u64 len, struct fos_ct_res *r)
{
	struct fos_ct_value *e;
	__u16 sport = 0, dport = 0;
	bool echo_reply = false, exists;
	__u32 end;

	__builtin_memset(r, 0, sizeof(*r));
	r->now = bpf_ktime_get_boot_ns();
	if (p->flags & FOS_PKT_F_PORTS) {
		sport = p->sport;
		dport = p->dport;
	} else if (p->flags & FOS_PKT_F_ICMP) {
		__be16 id;

		switch (_fos_ct_icmp_kind(p)) {
		case _FOS_CT_ICMP_ECHOREPLY:
			echo_reply = true;
			/* fall through */
		case _FOS_CT_ICMP_ECHO:
			if (p->l4_len < 8 || _fos_ct_load(ctx, xdp, p->l4_off + 4, &id, 2) < 0) {
				r->cls = FOS_CT_INVALID;
				return r->cls;
			}
			sport = bpf_ntohs(id);
			dport = sport;
			break;
		case _FOS_CT_ICMP_ERROR:
			return _fos_ct_related(ctx, xdp, p, zone, r);
		case _FOS_CT_ICMP_ND:
			r->cls = FOS_CT_UNTRACKED;
			return r->cls;
		default:
			r->cls = FOS_CT_NEW;
			return r->cls;
		}
	}

	end = _fos_ct_key_set(&r->key, p->saddr, sport, p->daddr, dport, p->proto, zone);
	e = bpf_map_lookup_elem(&fos_ct, &r->key);
	exists = e != NULL;
	/* an expired entry counts as absent */
	if (e && !_fos_ct_live(e, p->proto, r->now))
		e = NULL;
	if (p->proto == IPPROTO_TCP)
		_fos_ct_tcp(r, e, exists, end, p->tcp_flags);
	else
		_fos_ct_plain(r, e, exists, end, echo_reply);
	if (update && e && r->cls == FOS_CT_ESTABLISHED && r->op == FOS_CT_OP_UPDATE) {
		_fos_ct_touch(e, r, len);
		r->op = FOS_CT_OP_NONE;
	}
	return r->cls;
}

/* A new entry for r's flow, if the table has room: 0, -ENOSPC when it is at
 * fos_ct_cfg.max_entries, or another -errno of the map. */
static __always_inline int _fos_ct_insert(const struct fos_ct_res *r, __u64 len, __u32 ifindex)
{
	__u32 zero = 0, one = FOS_CT_COUNT_REMOVED;
	struct fos_ct_value v = {};
	const struct fos_ct_cfg *cfg;
	struct fos_ct_value *e;
	__u64 *ins, *rem;
	long err;

	cfg = bpf_map_lookup_elem(&fos_ct_cfg, &zero);
	ins = bpf_map_lookup_elem(&fos_ct_count, &zero);
	rem = bpf_map_lookup_elem(&fos_ct_count, &one);
	if (!cfg || !ins || !rem) {
		_fos_ct_stat(FOS_CT_STAT_INSERT_FAIL);
		return -ENOENT;
	}
	if (*ins >= *rem + cfg->max_entries) {
		_fos_ct_stat(FOS_CT_STAT_INSERT_FAIL);
		return -ENOSPC;
	}
	v.first_ns = r->now;
	v.last_ns = r->now;
	v.packets[r->dir & 1] = 1;
	v.bytes[r->dir & 1] = len;
	v.state = r->state;
	v.ifindex = ifindex;
	/* counted before it is in the table, so that no CPU can release the
	 * entry's count before it was added */
	if (_fos_ct_src_add(&r->key, r->flags))
		v.flags = r->flags | FOS_CT_F_COUNTED;
	else
		v.flags = r->flags;
	err = bpf_map_update_elem(&fos_ct, &r->key, &v, BPF_NOEXIST);
	if (err == 0) {
		__sync_fetch_and_add(ins, 1);
		_fos_ct_stat(FOS_CT_STAT_CREATED);
		return 0;
	}
	if (v.flags & FOS_CT_F_COUNTED)
		_fos_ct_src_sub(&r->key, v.flags);
	if (err == -EEXIST) {
		/* another CPU inserted the flow first */
		e = bpf_map_lookup_elem(&fos_ct, &r->key);
		if (e) {
			e->last_ns = r->now;
			__sync_fetch_and_add(&e->packets[r->dir & 1], 1);
			__sync_fetch_and_add(&e->bytes[r->dir & 1], len);
			return 0;
		}
	}
	_fos_ct_stat(FOS_CT_STAT_INSERT_FAIL);
	return err < 0 ? (int)err : -ENOENT;
}

/*
 * Write what a NEW packet (len bytes, through the program on ifindex) does
 * to the table, once the caller knows it passes: 0, -ENOSPC when the table
 * is full, another -errno when the map refused the entry. Both failures
 * count FOS_CT_STAT_INSERT_FAIL.
 */
static __always_inline int fos_ct_commit(const struct fos_ct_res *r, __u64 len, __u32 ifindex)
{
	struct fos_ct_value *e;

	switch (r->op) {
	case FOS_CT_OP_UPDATE:
		e = bpf_map_lookup_elem(&fos_ct, &r->key);
		if (e) {
			_fos_ct_touch(e, r, len);
			return 0;
		}
		break;
	case FOS_CT_OP_REOPEN:
		e = bpf_map_lookup_elem(&fos_ct, &r->key);
		if (e) {
			if (!_fos_ct_take_over(e, r))
				return 0;
			e->first_ns = r->now;
			e->last_ns = r->now;
			e->packets[FOS_CT_DIR_ORIG] = 1;
			e->packets[FOS_CT_DIR_REPLY] = 0;
			e->bytes[FOS_CT_DIR_ORIG] = len;
			e->bytes[FOS_CT_DIR_REPLY] = 0;
			e->state = r->state;
			e->ifindex = ifindex;
			__builtin_memset(e->nat_addr, 0, sizeof(e->nat_addr));
			e->nat_port = 0;
			e->nat_flags = 0;
			_fos_ct_stat(FOS_CT_STAT_REOPENED);
			return 0;
		}
		break;
	case FOS_CT_OP_CREATE:
		break;
	default:
		return 0;
	}
	/* no entry, or it went away since the lookup */
	return _fos_ct_insert(r, len, ifindex);
}

#endif /* FOS_CONNTRACK_BPF_H */
