/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * DDoS mitigation of the XDP filter (fos/abi.h, "DDoS mitigation (XDP)"):
 * the per-program maps and the stages a packet of a program loaded with
 * fos_ddos goes through after the whitelist and the blacklist.
 *
 *   fos_xdp_ddos()       before conntrack: the SYN stage (cookies), then
 *                        packetsPerSecond, then the ICMP and UDP floods (per
 *                        source, then in total);
 *   fos_xdp_ddos_conn()  after conntrack, for a packet that opens a
 *                        connection: connectionsPerSecond and
 *                        connectionsPerIP;
 *   fos_xdp_ddos_blacklisted()  the DDoS counters of a blacklist drop.
 * Each is a global function, so the verifier checks it once, and none is
 * reachable (so none is verified) in a program without fos_ddos.
 *
 * Sources are counted by prefix: IPv4 /32, IPv6 /fos_ddos_cfg.v6_plen
 * (fos_ddos_src); a proved source by its full address (fos_ddos_auth); a
 * destination's SYN rate by its full address (fos_ddos_dst).
 *
 * Limits are GCRA buckets: a packet at time t conforms if tat <= t +
 * tolerance, and then tat = max(tat, t) + interval. A bucket is shared by
 * the CPUs, so tat is advanced with an atomic compare-and-exchange: a packet
 * conforms only if it moved tat from the value it judged, else it judges the
 * new value. After _FOS_GCRA_TRIES lost races the packet passes without
 * moving tat: the races mean other packets conformed, not that the bucket is
 * empty, and a source must never be dropped or blocked for contention. A tat
 * beyond what the bucket's settings allow (t + tolerance + interval, left by
 * looser settings before a reload) is judged as that bound, so tightening a
 * limit never holds a source back for longer than the new settings say.
 *
 * SYN cookies: a SYN (without ACK or RST) to a destination whose SYN rate is
 * over synFloodProtection.threshold (it stays engaged syn_hold_ns after the
 * rate was last over) or to any destination with FOS_DDOS_F_SYN_ALWAYS, from
 * a source not in fos_ddos_auth, is answered in place: the frame becomes a
 * SYN-ACK back to its sender (MACs, addresses and ports swapped, TTL / hop
 * limit 64, VLAN tags kept, TCP options and payload cut, checksums
 * recomputed) whose sequence and acknowledgment numbers are the kernel's SYN
 * cookie of the 4-tuple with sequence number 0 (bpf_tcp_raw_gen_syncookie_*
 * over a header built on the stack), and goes out with XDP_TX. That ACK number
 * is not acceptable to a real client, which answers with an RST whose
 * sequence number is the cookie; such an RST (without SYN) to an engaged
 * destination is checked (bpf_tcp_raw_check_syncookie_*, as if it were the
 * ACK of a handshake with sequence 0: seq 1, ack = cookie + 1): a valid one
 * puts the source into fos_ddos_auth for auth_ns, sets its bit in
 * fos_ddos_hint, and is dropped; a wrong one counts COOKIES_BAD and goes on
 * (it may belong to a real connection). The client's SYN retransmission then
 * passes: a SYN counts as proved when its source's hint bit is set and its
 * fos_ddos_auth entry has not expired (no bit, no lookup). A SYN with IPv4
 * options, IPv6 extension headers or fragmented, to an engaged destination,
 * is dropped. Answered SYNs count per destination and, when rateLimiting or
 * a flood protection tracks sources, on their source if it is tracked
 * already: spoofed sources would flood fos_ddos_src otherwise.
 *
 * A drop counts FOS_DDOS_STAT_DROP_* and drops[reason] of its source, and
 * marks its protection active (fos_ddos_state). With block_ns[reason] and
 * block_set, a source not blocked already goes into the block set for
 * block_ns, as a dynamic entry that expires, and fwd hears of it on
 * fos_ddos_events.
 */
#ifndef FOS_DDOS_BPF_H
#define FOS_DDOS_BPF_H

#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "conntrack.bpf.h"
#include "csum.bpf.h"
#include "ct_maps.bpf.h"
#include "filter.bpf.h"
#include "fos/abi.h"
#include "parse.bpf.h"

/* what a stage decided */
enum fos_ddos_verdict {
	FOS_DDOS_GO = 0, /* on to the next stage */
	FOS_DDOS_DROP,	 /* dropped */
	FOS_DDOS_TX,	 /* answered with a SYN cookie: the frame is the SYN-ACK, XDP_TX */
};

/* fos_ddos_agg: the aggregate buckets */
enum _fos_ddos_agg_idx {
	_FOS_DDOS_AGG_ICMP = 0,
	_FOS_DDOS_AGG_UDP = 1,
	_FOS_DDOS_AGG_MAX,
};

#define _FOS_GCRA_TRIES	    8
#define _FOS_BLOCK_RETRY_NS 1000000000ULL /* a failed block is tried again after this */
#define _FOS_ETH_MIN_FRAME  60		  /* bytes of a minimal Ethernet frame, without FCS */
#define _FOS_SYNACK_WIN	    1024	  /* window of the SYN-ACK: any value, it is never used */
#define _FOS_SYNACK_TTL	    64
#define _FOS_IPV4_DF	    0x4000
#define _FOS_TCP_HDR_LEN    20

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FOS_SLOTS);
	__type(key, __u32);
	__type(value, struct fos_ddos_cfg);
} fos_ddos_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FOS_DDOS_SRC_MAX);
	__type(key, struct fos_ddos_addr);
	__type(value, struct fos_ddos_src);
} fos_ddos_src SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FOS_DDOS_DST_MAX);
	__type(key, struct fos_ddos_addr);
	__type(value, struct fos_ddos_dst);
} fos_ddos_dst SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FOS_DDOS_AUTH_MAX);
	__type(key, struct fos_ddos_addr);
	__type(value, struct fos_ddos_auth);
} fos_ddos_auth SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, _FOS_DDOS_P_MAX);
	__type(key, __u32);
	__type(value, struct fos_ddos_state);
} fos_ddos_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, _FOS_DDOS_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} fos_ddos_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FOS_DDOS_EVENTS_SZ);
} fos_ddos_events SEC(".maps");

/* which sources may be proved (fos/abi.h, fos_ddos_hint) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FOS_DDOS_HINT_GENS *FOS_DDOS_HINT_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} fos_ddos_hint SEC(".maps");

/* the tat of each aggregate bucket, by enum _fos_ddos_agg_idx */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, _FOS_DDOS_AGG_MAX);
	__type(key, __u32);
	__type(value, __u64);
} fos_ddos_agg SEC(".maps");

/* One packet's view of the DDoS state. */
struct _fos_ddos_ctx {
	const struct fos_ddos_cfg *cfg;
	struct fos_ddos_src *src; /* the source's entry, once looked up */
	struct fos_ddos_addr key; /* the source prefix */
	__u64 now;
	__u32 plen; /* of key: 32 (IPv4) or v6_plen */
	bool v4;
};

static __always_inline void fos_ddos_stat_add(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&fos_ddos_stats, &idx);

	if (c)
		*c += 1;
}

/* Does a packet at now conform to bucket r of theoretical arrival time *tat?
 * If so, *tat has been advanced. */
static __always_inline bool _fos_gcra(__u64 *tat, const struct fos_ddos_rate *r, __u64 now)
{
	__u64 interval = r->interval_ns, limit = now + r->tolerance_ns;

	if (!interval)
		return true;
	for (int i = 0; i < _FOS_GCRA_TRIES; i++) {
		__u64 old = *(volatile __u64 *)tat, cur = old;

		if (cur > limit + interval)
			cur = limit + interval;
		if (cur > limit) {
			if (cur != old)
				__sync_val_compare_and_swap(tat, old, cur);
			return false;
		}
		if (__sync_val_compare_and_swap(tat, old, (cur > now ? cur : now) + interval) ==
		    old)
			return true;
	}
	return true;
}

/* a with the bits beyond plen (0-128) cleared */
static __always_inline void _fos_ddos_mask(struct fos_ddos_addr *a, __u32 plen)
{
	__u64 *w = (__u64 *)a->addr;

	if (plen >= 128)
		return;
	if (plen <= 64) {
		w[1] = 0;
		if (plen == 0)
			w[0] = 0;
		else if (plen < 64)
			w[0] &= bpf_cpu_to_be64(~0ULL << (64 - plen));
	} else {
		w[1] &= bpf_cpu_to_be64(~0ULL << (128 - plen));
	}
}

/* The IPv6 prefix length sources are counted by: v6_plen, 128 if unset. */
static __always_inline __u32 _fos_ddos_v6_plen(const struct fos_ddos_cfg *c)
{
	__u32 plen = c->v6_plen;

	return plen && plen <= 128 ? plen : 128;
}

/* d for p of the live slot at now: 0, or -1 without a configuration. */
static __always_inline int _fos_ddos_ctx_init(struct _fos_ddos_ctx *d, const struct fos_pkt *p,
					      __u32 slot, __u64 now)
{
	d->cfg = bpf_map_lookup_elem(&fos_ddos_cfg, &slot);
	if (!d->cfg)
		return -1;
	d->src = NULL;
	d->now = now;
	d->v4 = p->family == FOS_AF_INET;
	d->plen = d->v4 ? 32 : _fos_ddos_v6_plen(d->cfg);
	__builtin_memcpy(d->key.addr, p->saddr, sizeof(d->key.addr));
	if (!d->v4)
		_fos_ddos_mask(&d->key, d->plen);
	return 0;
}

/* The source's entry, created (zeroed) if it has none. */
static __always_inline struct fos_ddos_src *_fos_ddos_src(struct _fos_ddos_ctx *d)
{
	static const struct fos_ddos_src zero;

	if (d->src)
		return d->src;
	d->src = bpf_map_lookup_elem(&fos_ddos_src, &d->key);
	if (d->src)
		return d->src;
	bpf_map_update_elem(&fos_ddos_src, &d->key, &zero, BPF_NOEXIST);
	d->src = bpf_map_lookup_elem(&fos_ddos_src, &d->key);
	return d->src;
}

static __always_inline __u32 _fos_ddos_prot_of(__u32 reason)
{
	switch (reason) {
	case FOS_DDOS_SYN_FLOOD:
		return FOS_DDOS_P_SYN;
	case FOS_DDOS_ICMP_FLOOD:
		return FOS_DDOS_P_ICMP;
	case FOS_DDOS_UDP_FLOOD:
		return FOS_DDOS_P_UDP;
	default:
		return FOS_DDOS_P_RATE;
	}
}

/* The protection dropped or answered a packet now. */
static __always_inline void _fos_ddos_active(__u32 prot, __u64 now)
{
	struct fos_ddos_state *st = bpf_map_lookup_elem(&fos_ddos_state, &prot);

	/* a shared line: written only when it would move by the resolution */
	if (st && (now < st->last_active_ns || now - st->last_active_ns >= FOS_DDOS_ACTIVE_RES_NS))
		st->last_active_ns = now;
}

/* Put the source prefix into the block set for block_ns, and tell fwd. */
static __always_inline void _fos_ddos_block(struct _fos_ddos_ctx *d, struct fos_ddos_src *src,
					    __u32 reason, __u64 block_ns)
{
	struct fos_set_value v = {
	    .flags = FOS_SET_F_DYNAMIC | FOS_SET_F_AUTO,
	    .expires_ns = d->now + block_ns,
	};
	__u32 set_id = d->cfg->block_set;
	struct fos_ddos_event *ev;
	long err;

	/* once per block: another CPU may get here at the same time, the
	 * second insert then fails with EEXIST */
	if (d->v4) {
		struct fos_set_key4 k = {
		    .prefixlen = FOS_SET_KEY_PREFIX + 32,
		    .set_id = bpf_htonl(set_id),
		};

		__builtin_memcpy(k.addr, &d->key.addr[12], sizeof(k.addr));
		err = bpf_map_update_elem(&fos_sets4, &k, &v, BPF_NOEXIST);
	} else {
		struct fos_set_key k = {
		    .prefixlen = FOS_SET_KEY_PREFIX + d->plen,
		    .set_id = bpf_htonl(set_id),
		};

		__builtin_memcpy(k.addr, d->key.addr, sizeof(k.addr));
		err = bpf_map_update_elem(&fos_sets, &k, &v, BPF_NOEXIST);
	}
	if (err == -EEXIST) {
		/* blocked already (by another CPU, or listed by hand) */
		src->blocked_until_ns = v.expires_ns;
		return;
	}
	if (err) {
		/* the set's trie is full, or no memory: counted, and tried
		 * again at most once a second */
		src->blocked_until_ns = d->now + _FOS_BLOCK_RETRY_NS;
		fos_ddos_stat_add(FOS_DDOS_STAT_BLOCK_FAILED);
		return;
	}
	src->blocked_until_ns = v.expires_ns;
	fos_ddos_stat_add(FOS_DDOS_STAT_BLOCKED);
	ev = bpf_ringbuf_reserve(&fos_ddos_events, sizeof(*ev), 0);
	if (!ev) {
		fos_ddos_stat_add(FOS_DDOS_STAT_EVENTS_LOST);
		return;
	}
	__builtin_memcpy(ev->addr, d->key.addr, sizeof(ev->addr));
	ev->prefixlen = d->plen;
	ev->reason = reason;
	ev->_pad[0] = 0;
	ev->_pad[1] = 0;
	ev->set_id = set_id;
	ev->expires_ns = v.expires_ns;
	bpf_ringbuf_submit(ev, 0);
}

/* Count a drop for reason on the source's entry (created with track) and,
 * with may_block, block the source if its protection says so. A drop by a
 * total (all sources) limit never blocks: the source whose packet happened
 * to be over it need not be the one flooding. */
static __always_inline int _fos_ddos_drop(struct _fos_ddos_ctx *d, __u32 reason, bool track,
					  bool may_block)
{
	struct fos_ddos_src *src;
	__u64 block_ns;

	if (reason >= _FOS_DDOS_REASON_MAX)
		return FOS_DDOS_DROP;
	fos_ddos_stat_add(FOS_DDOS_STAT_DROP_RATE + reason);
	_fos_ddos_active(_fos_ddos_prot_of(reason), d->now);
	src = track ? _fos_ddos_src(d) : d->src;
	if (!src)
		return FOS_DDOS_DROP;
	__sync_fetch_and_add(&src->drops[reason], 1);
	src->last_drop_ns = d->now;
	block_ns = d->cfg->block_ns[reason];
	if (may_block && block_ns && d->cfg->block_set && src->blocked_until_ns <= d->now)
		_fos_ddos_block(d, src, reason, block_ns);
	return FOS_DDOS_DROP;
}

/* The SYN cookie of p's 4-tuple with sequence number 0, or -1. */
static __always_inline __s64 _fos_ddos_cookie(const struct fos_pkt *p)
{
	struct tcphdr th = {};

	th.source = bpf_htons(p->sport);
	th.dest = bpf_htons(p->dport);
	th.doff = _FOS_TCP_HDR_LEN / 4;
	th.syn = 1;
	if (p->family == FOS_AF_INET) {
		struct iphdr ih = {};

		ih.version = 4;
		ih.ihl = 5;
		ih.protocol = IPPROTO_TCP;
		__builtin_memcpy(&ih.saddr, &p->saddr[12], 4);
		__builtin_memcpy(&ih.daddr, &p->daddr[12], 4);
		return bpf_tcp_raw_gen_syncookie_ipv4(&ih, &th, sizeof(th));
	} else {
		struct ipv6hdr ih = {};

		ih.version = 6;
		ih.nexthdr = IPPROTO_TCP;
		__builtin_memcpy(&ih.saddr, p->saddr, 16);
		__builtin_memcpy(&ih.daddr, p->daddr, 16);
		return bpf_tcp_raw_gen_syncookie_ipv6(&ih, &th, sizeof(th));
	}
}

/* Is the RST p, with sequence number seq (host order), the answer to one of
 * our SYN-ACKs? */
static __always_inline bool _fos_ddos_cookie_ok(const struct fos_pkt *p, __u32 seq)
{
	struct tcphdr th = {};

	th.source = bpf_htons(p->sport);
	th.dest = bpf_htons(p->dport);
	th.seq = bpf_htonl(1);
	th.ack_seq = bpf_htonl(seq + 1);
	th.doff = _FOS_TCP_HDR_LEN / 4;
	th.ack = 1;
	if (p->family == FOS_AF_INET) {
		struct iphdr ih = {};

		ih.version = 4;
		ih.ihl = 5;
		ih.protocol = IPPROTO_TCP;
		__builtin_memcpy(&ih.saddr, &p->saddr[12], 4);
		__builtin_memcpy(&ih.daddr, &p->daddr[12], 4);
		return bpf_tcp_raw_check_syncookie_ipv4(&ih, &th) == 0;
	} else {
		struct ipv6hdr ih = {};

		ih.version = 6;
		ih.nexthdr = IPPROTO_TCP;
		__builtin_memcpy(&ih.saddr, p->saddr, 16);
		__builtin_memcpy(&ih.daddr, p->daddr, 16);
		return bpf_tcp_raw_check_syncookie_ipv6(&ih, &th) == 0;
	}
}

/* the largest l3_off a SYN-ACK is written at: Ethernet and two VLAN tags */
#define _FOS_SYNACK_L3_MAX (14 + 2 * 4)

/*
 * Turn the SYN p in the frame into the SYN-ACK carrying cookie, in place
 * through packet pointers: everything after the TCP header's first 20 bytes
 * is cut, down to a frame of 60 bytes (what is left beyond the IP length is
 * padding; a shorter frame keeps its length), so the answer is never larger
 * than a minimal frame. The checksums are summed over the headers as
 * written. 0, or -1 when the frame cannot be rewritten (then it is dropped).
 */
static __always_inline int _fos_ddos_synack(struct xdp_md *ctx, const struct fos_pkt *p,
					    __u32 cookie)
{
	__u32 l3 = p->l3_off,
	      hlen = p->family == FOS_AF_INET ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
	__u32 new_len = l3 + hlen + _FOS_TCP_HDR_LEN, *w;
	void *data, *data_end;
	struct tcphdr *th;
	__u16 *mac, t0, t1, t2;
	__u64 sum;
	int delta;

	if (l3 > _FOS_SYNACK_L3_MAX || p->l4_off != l3 + hlen)
		return -1;
	if (new_len < _FOS_ETH_MIN_FRAME)
		new_len = _FOS_ETH_MIN_FRAME;
	delta = (int)new_len - (int)(ctx->data_end - ctx->data);
	if (delta < 0 && bpf_xdp_adjust_tail(ctx, delta) < 0)
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;

	/* the MACs swapped: back to where the SYN came from */
	mac = data;
	if ((void *)(mac + 6) > data_end)
		return -1;
	t0 = mac[0];
	t1 = mac[1];
	t2 = mac[2];
	mac[0] = mac[3];
	mac[1] = mac[4];
	mac[2] = mac[5];
	mac[3] = t0;
	mac[4] = t1;
	mac[5] = t2;

	if (p->family == FOS_AF_INET) {
		struct iphdr *ih = data + l3;
		__be32 a;

		th = (void *)(ih + 1);
		if ((void *)(th + 1) > data_end)
			return -1;
		a = ih->saddr;
		ih->saddr = ih->daddr;
		ih->daddr = a;
		ih->version = 4;
		ih->ihl = 5;
		ih->tos = 0;
		ih->tot_len = bpf_htons(sizeof(*ih) + _FOS_TCP_HDR_LEN);
		ih->id = 0;
		ih->frag_off = bpf_htons(_FOS_IPV4_DF);
		ih->ttl = _FOS_SYNACK_TTL;
		ih->protocol = IPPROTO_TCP;
		ih->check = 0;
		w = (__u32 *)ih;
		ih->check = fos_csum_fold((__u64)w[0] + w[1] + w[2] + w[3] + w[4]);
		/* the pseudo-header: the addresses, then zero, protocol, TCP length */
		sum = (__u64)ih->saddr + ih->daddr +
		      bpf_htonl((IPPROTO_TCP << 16) | _FOS_TCP_HDR_LEN);
	} else {
		struct ipv6hdr *ih = data + l3;
		__u32 i, a;

		th = (void *)(ih + 1);
		if ((void *)(th + 1) > data_end)
			return -1;
		w = (__u32 *)&ih->saddr;
		sum = 0;
#pragma unroll
		for (i = 0; i < 4; i++) {
			a = w[i];
			w[i] = w[i + 4];
			w[i + 4] = a;
			sum += (__u64)w[i] + a;
		}
		*(__be32 *)ih = bpf_htonl(0x60000000); /* version 6, no class or label */
		ih->payload_len = bpf_htons(_FOS_TCP_HDR_LEN);
		ih->nexthdr = IPPROTO_TCP;
		ih->hop_limit = _FOS_SYNACK_TTL;
		/* the pseudo-header: the addresses, 32-bit TCP length, next header */
		sum += bpf_htonl(_FOS_TCP_HDR_LEN) + bpf_htonl(IPPROTO_TCP);
	}

	th->source = bpf_htons(p->dport);
	th->dest = bpf_htons(p->sport);
	th->seq = bpf_htonl(cookie);
	th->ack_seq = bpf_htonl(cookie);
	w = (__u32 *)th;
	w[3] = bpf_htonl((_FOS_TCP_HDR_LEN / 4) << 28 | (__u32)(_FOS_TCP_SYN | _FOS_TCP_ACK) << 16 |
			 _FOS_SYNACK_WIN);
	w[4] = 0; /* checksum, urgent pointer */
	th->check = fos_csum_fold(sum + w[0] + w[1] + w[2] + w[3]);
	return 0;
}

#define _FOS_HINT_TRIES 8

/* The hint word of generation gen (fos_ddos_hint), or NULL. */
static __always_inline __u64 *_fos_ddos_hint_word(__u64 gen, __u32 word)
{
	__u32 k = fos_ddos_hint_key(gen, word);

	return bpf_map_lookup_elem(&fos_ddos_hint, &k);
}

/* The source of p was proved at now: its bit in the generations of now and
 * the next one. A word tagged with another generation is taken over: one
 * numbering never has two live generations in a slot (they are
 * FOS_DDOS_HINT_GENS apart), and a word of another numbering (auth_ns
 * changed) is stale whatever its tag. */
static __always_inline void _fos_ddos_hint_set(const struct fos_pkt *p, __u64 now, __u64 auth_ns)
{
	__u64 gen, old, *w;
	__u32 word, bit, i, t, tag;

	if (!auth_ns)
		return;
	gen = now / auth_ns;
	fos_ddos_hint_pos(p->saddr, &word, &bit);
#pragma unroll
	for (i = 0; i < 2; i++, gen++) {
		w = _fos_ddos_hint_word(gen, word);
		if (!w)
			continue;
		for (t = 0; t < _FOS_HINT_TRIES; t++) {
			old = *(volatile __u64 *)w;
			tag = (__u32)(old >> 32);
			if (tag == (__u32)gen) {
				__sync_fetch_and_or(w, 1ULL << bit);
				break;
			}
			if (__sync_val_compare_and_swap(w, old, gen << 32 | 1ULL << bit) == old)
				break;
		}
	}
}

/* Has the source of p answered a cookie within auth_ns? Looked up in
 * fos_ddos_auth only when its hint bit says it may have. */
static __always_inline bool _fos_ddos_proved(const struct fos_pkt *p, const struct fos_ddos_cfg *c,
					     __u64 now)
{
	const struct fos_ddos_auth *a;
	__u64 gen, v, *w;
	__u32 word, bit;

	if (c->auth_ns) {
		gen = now / c->auth_ns;
		fos_ddos_hint_pos(p->saddr, &word, &bit);
		w = _fos_ddos_hint_word(gen, word);
		if (w) {
			v = *(volatile __u64 *)w;
			if ((__u32)(v >> 32) != (__u32)gen || !(v & (1ULL << bit)))
				return false;
		}
	}
	a = bpf_map_lookup_elem(&fos_ddos_auth, p->saddr);
	return a && a->expires_ns > now;
}

/*
 * The SYN stage for a TCP packet p: a SYN to an engaged destination from a
 * source not proved is answered with a cookie (FOS_DDOS_TX) or dropped; an
 * RST with a valid cookie proves its source and is dropped.
 */
static __always_inline int _fos_ddos_syn(struct xdp_md *ctx, const struct fos_pkt *p,
					 struct _fos_ddos_ctx *d)
{
	const struct fos_ddos_cfg *c = d->cfg;
	bool always = c->flags & FOS_DDOS_F_SYN_ALWAYS;
	__u8 tf = p->tcp_flags;
	struct fos_ddos_dst *dst;
	struct fos_ddos_src *src;
	__s64 cookie;

	if ((tf & (_FOS_TCP_SYN | _FOS_TCP_ACK | _FOS_TCP_RST)) == _FOS_TCP_SYN) {
		static const struct fos_ddos_dst zero;

		/* always: no threshold, so no destination's rate to follow */
		dst = NULL;
		if (!always) {
			dst = bpf_map_lookup_elem(&fos_ddos_dst, p->daddr);
			if (!dst) {
				bpf_map_update_elem(&fos_ddos_dst, p->daddr, &zero, BPF_NOEXIST);
				dst = bpf_map_lookup_elem(&fos_ddos_dst, p->daddr);
			}
			if (dst) {
				__sync_fetch_and_add(&dst->syns, 1);
				if (!_fos_gcra(&dst->tat, &c->syn_dst, d->now))
					dst->engaged_until = d->now + c->syn_hold_ns;
			}
			if (!(dst && dst->engaged_until > d->now))
				return FOS_DDOS_GO;
		}
		if (_fos_ddos_proved(p, c, d->now))
			return FOS_DDOS_GO;
		/* a header a cookie cannot answer: options, extension headers, fragments */
		if ((p->flags & FOS_PKT_F_FRAGMENT) ||
		    p->l4_off - p->l3_off !=
			(d->v4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr)))
			return _fos_ddos_drop(d, FOS_DDOS_SYN_FLOOD, false, false);
		cookie = _fos_ddos_cookie(p);
		if (cookie < 0 || _fos_ddos_synack(ctx, p, (__u32)cookie) < 0)
			return _fos_ddos_drop(d, FOS_DDOS_SYN_FLOOD, false, false);
		fos_ddos_stat_add(FOS_DDOS_STAT_COOKIES_SENT);
		fos_ddos_stat_add(FOS_DDOS_STAT_DROP_SYN_FLOOD);
		_fos_ddos_active(FOS_DDOS_P_SYN, d->now);
		if (dst)
			__sync_fetch_and_add(&dst->cookies, 1);
		/* only the other protections track sources */
		if (c->flags & (FOS_DDOS_F_RATE | FOS_DDOS_F_ICMP | FOS_DDOS_F_UDP)) {
			src = bpf_map_lookup_elem(&fos_ddos_src, &d->key);
			if (src)
				__sync_fetch_and_add(&src->drops[FOS_DDOS_SYN_FLOOD], 1);
		}
		return FOS_DDOS_TX;
	}

	if ((tf & (_FOS_TCP_SYN | _FOS_TCP_RST)) == _FOS_TCP_RST) {
		struct fos_ddos_auth a;
		__be32 seq;

		if (!always) {
			dst = bpf_map_lookup_elem(&fos_ddos_dst, p->daddr);
			if (!dst || dst->engaged_until <= d->now)
				return FOS_DDOS_GO;
		}
		if (bpf_xdp_load_bytes(ctx, p->l4_off + 4, &seq, sizeof(seq)) < 0 ||
		    !_fos_ddos_cookie_ok(p, bpf_ntohl(seq))) {
			fos_ddos_stat_add(FOS_DDOS_STAT_COOKIES_BAD);
			return FOS_DDOS_GO;
		}
		a.expires_ns = d->now + c->auth_ns;
		if (bpf_map_update_elem(&fos_ddos_auth, p->saddr, &a, BPF_ANY) == 0)
			_fos_ddos_hint_set(p, d->now, c->auth_ns);
		fos_ddos_stat_add(FOS_DDOS_STAT_COOKIES_OK);
		_fos_ddos_active(FOS_DDOS_P_SYN, d->now);
		return FOS_DDOS_DROP;
	}
	return FOS_DDOS_GO;
}

/* One flood protection: the source's bucket, then the aggregate one. */
static __always_inline int _fos_ddos_flood(struct _fos_ddos_ctx *d, __u64 *src_tat,
					   const struct fos_ddos_rate *per_src,
					   const struct fos_ddos_rate *all, __u32 agg, __u32 reason)
{
	__u64 *tat;

	if (src_tat && !_fos_gcra(src_tat, per_src, d->now))
		return _fos_ddos_drop(d, reason, true, true);
	if (!all->interval_ns)
		return FOS_DDOS_GO;
	tat = bpf_map_lookup_elem(&fos_ddos_agg, &agg);
	if (tat && !_fos_gcra(tat, all, d->now))
		return _fos_ddos_drop(d, reason, false, false);
	return FOS_DDOS_GO;
}

/*
 * The stages before conntrack for p (parsed, neither whitelisted nor
 * blacklisted) under the DDoS settings of slot: enum fos_ddos_verdict. With
 * FOS_DDOS_TX the frame has become the SYN-ACK to send back. The time it
 * judged the packet at goes to *ret_now, for fos_xdp_ddos_conn(): the clock
 * is read once per packet, it costs as much as a map lookup.
 */
__noinline int fos_xdp_ddos(struct xdp_md *ctx, const struct fos_pkt *p, __u32 slot, __u64 *ret_now)
{
	struct _fos_ddos_ctx d;
	struct fos_ddos_src *src;
	__u32 flags;
	bool icmp, udp;
	int r;

	if (!ctx || !p || !ret_now)
		return FOS_DDOS_GO;
	*ret_now = fos_now();
	if (_fos_ddos_ctx_init(&d, p, slot, *ret_now) < 0)
		return FOS_DDOS_GO;
	flags = d.cfg->flags;

	if ((flags & FOS_DDOS_F_SYN) && p->proto == IPPROTO_TCP && (p->flags & FOS_PKT_F_PORTS)) {
		r = _fos_ddos_syn(ctx, p, &d);
		if (r != FOS_DDOS_GO)
			return r;
	}

	icmp =
	    (flags & FOS_DDOS_F_ICMP) && (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6);
	udp = (flags & FOS_DDOS_F_UDP) && p->proto == IPPROTO_UDP;
	if (!((flags & FOS_DDOS_F_RATE) && d.cfg->pkt.interval_ns) && !icmp && !udp)
		return FOS_DDOS_GO;
	src = NULL;
	if ((flags & FOS_DDOS_F_RATE) && d.cfg->pkt.interval_ns) {
		src = _fos_ddos_src(&d);
		if (src && !_fos_gcra(&src->tat_pkt, &d.cfg->pkt, d.now))
			return _fos_ddos_drop(&d, FOS_DDOS_RATE, true, true);
	}
	if (icmp) {
		if (d.cfg->icmp_src.interval_ns)
			src = _fos_ddos_src(&d);
		return _fos_ddos_flood(
		    &d, d.cfg->icmp_src.interval_ns && src ? &src->tat_icmp : NULL,
		    &d.cfg->icmp_src, &d.cfg->icmp_all, _FOS_DDOS_AGG_ICMP, FOS_DDOS_ICMP_FLOOD);
	}
	if (udp) {
		if (d.cfg->udp_src.interval_ns)
			src = _fos_ddos_src(&d);
		return _fos_ddos_flood(&d, d.cfg->udp_src.interval_ns && src ? &src->tat_udp : NULL,
				       &d.cfg->udp_src, &d.cfg->udp_all, _FOS_DDOS_AGG_UDP,
				       FOS_DDOS_UDP_FLOOD);
	}
	return FOS_DDOS_GO;
}

/*
 * The stage after conntrack for p, a packet that opens a connection (a TCP
 * SYN; in a stateful program one of a flow the table does not know):
 * connectionsPerSecond, then, stateful, connectionsPerIP against the flows
 * fos_ct_src counts for the source, judged at now (fos_xdp_ddos()'s).
 * FOS_DDOS_GO or FOS_DDOS_DROP.
 */
__noinline int fos_xdp_ddos_conn(const struct fos_pkt *p, __u32 slot, __u32 stateful, __u64 now)
{
	struct fos_ddos_addr ck;
	struct _fos_ddos_ctx d;
	struct fos_ddos_src *src;
	const __u64 *n;

	if (!p || _fos_ddos_ctx_init(&d, p, slot, now) < 0 || !(d.cfg->flags & FOS_DDOS_F_RATE))
		return FOS_DDOS_GO;
	if (d.cfg->conn.interval_ns) {
		src = _fos_ddos_src(&d);
		if (src && !_fos_gcra(&src->tat_conn, &d.cfg->conn, d.now))
			return _fos_ddos_drop(&d, FOS_DDOS_CONN_RATE, true, true);
	}
	if (stateful && d.cfg->conn_limit) {
		__builtin_memcpy(ck.addr, p->saddr, sizeof(ck.addr));
		if (!d.v4)
			_fos_ddos_mask(&ck, FOS_CT_SRC_V6_PLEN);
		n = bpf_map_lookup_elem(&fos_ct_src, &ck);
		if (n && *n >= d.cfg->conn_limit)
			return _fos_ddos_drop(&d, FOS_DDOS_CONN_LIMIT, true, true);
	}
	return FOS_DDOS_GO;
}

/* A blacklist drop of p: FOS_DDOS_STAT_DROP_BLACKLIST, and drops[BLACKLIST]
 * of its source if it is tracked. Always 0. */
__noinline int fos_xdp_ddos_blacklisted(const struct fos_pkt *p, __u32 slot)
{
	struct _fos_ddos_ctx d;
	struct fos_ddos_src *src;

	fos_ddos_stat_add(FOS_DDOS_STAT_DROP_BLACKLIST);
	/* the clock only for a tracked source */
	if (!p || _fos_ddos_ctx_init(&d, p, slot, 0) < 0)
		return 0;
	src = bpf_map_lookup_elem(&fos_ddos_src, &d.key);
	if (src) {
		__sync_fetch_and_add(&src->drops[FOS_DDOS_BLACKLIST], 1);
		src->last_drop_ns = fos_now();
	}
	return 0;
}

#endif /* FOS_DDOS_BPF_H */
