// SPDX-License-Identifier: GPL-2.0-only
/*
 * NAT44/NAT66 (natConfigs): three direct-action TC programs over the maps of
 * fos/nat.h, all of one object, whose maps fwd pins (daemon/nat.c).
 *
 *   fos_nat_out      egress of an external interface (interfaces.destination),
 *                    after the firewall's programs there: the source of a
 *                    packet that came in by a natConfig's interfaces.source,
 *                    from its sourceCIDRs and not its excludeCIDRs (fos_nat_src),
 *                    becomes the external address and port of its mapping,
 *                    made now if it has none. Answers of a port map's server
 *                    leave by the port map's own mapping, whatever their source.
 *   fos_nat_in       ingress of an external interface, before the firewall's
 *                    programs: a packet to the external end of a mapping goes
 *                    to its internal end. An ICMP error about a translated
 *                    packet is translated back with the packet it quotes.
 *   fos_nat_hairpin  ingress of an internal interface, when a natConfig has
 *                    hairpinning: a packet to the external end of a mapping
 *                    goes to its internal end with its own source translated,
 *                    and is sent on by the FIB (the kernel would take a local
 *                    source arriving from inside for a martian).
 *
 * Mapping (fos/nat.h): endpoint independent (FOS_NAT_R_EIM) keys a mapping's
 * OUT index by the internal end alone, so every destination sees the same
 * external port; otherwise by the internal end and the remote end, and the
 * mapping admits only that remote in (FOS_NAT_F_APDF). A new mapping keeps the
 * internal port if it is free (and inside portRange, if one is given), else
 * tries FOS_NAT_PROBES ports of the range (in turn from a random place in a
 * small range, each drawn at random in a big one); UDP keeps the port's
 * parity. A mapping is made under the lock of its internal end's stripe,
 * its port claimed under the lock of the external end's (fos/nat.h): of two
 * CPUs making the same mapping at once, the second finds the first's.
 *
 * Drops, each counted (enum fos_nat_stat): no free port (EXHAUSTED), the
 * natConfig's maxConnections reached or the table full (FULL), masquerade on
 * an interface without an address of the family (NO_ADDRESS), an inbound
 * packet not from a dependent mapping's remote (FILTERED), a non-first
 * fragment that would be translated but whose first fragment was not seen
 * (FRAGMENT: the fragments after a first one get its translation, from
 * fos_nat_frag), headers the
 * translation cannot rewrite (MALFORMED). Everything else passes unchanged:
 * TC_ACT_UNSPEC, so the programs after it run.
 *
 * Checksums are updated incrementally: L4 ones by the kernel's helper,
 * which also keeps CHECKSUM_PARTIAL (GSO) packets right (a UDP/IPv4 zero
 * checksum stays zero), the IPv4 header's here, written in place with the
 * address.
 */
#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/errno.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "fos/abi.h"
#include "fos/nat.h"
#include "icmp.bpf.h"
#include "parse.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define FOS_NAT_PULL_MAX 512U

#define _NAT_TCP_FIN	     0x01
#define _NAT_TCP_SYN	     0x02
#define _NAT_TCP_RST	     0x04
#define _NAT_ICMP6_ECHO	     128
#define _NAT_ICMP6_ECHOREPLY 129

/* the mapping table (fos/nat.h); fwd sizes fos_nat, fos_nat_idx and
 * fos_nat_free for the config and sets fos_nat_cap and fos_nat_groups to
 * match before it loads the object */
const volatile __u32 fos_nat_cap = FOS_NAT_MAP_MIN;
const volatile __u32 fos_nat_groups = FOS_NAT_MAP_MIN / 8;

struct {
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, FOS_NAT_MAP_MIN);
	__type(key, __u32);
	__type(value, struct fos_nat_map);
} fos_nat SEC(".maps");

struct {
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 2 * (FOS_NAT_MAP_MIN / 8));
	__type(key, __u32);
	__type(value, struct fos_nat_group);
} fos_nat_idx SEC(".maps");

struct {
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, FOS_NAT_MAP_MIN / 2);
	__type(key, __u32);
	__type(value, __u64); /* two ids */
} fos_nat_free SEC(".maps");

struct {
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fos_nat_hdr);
} fos_nat_hdr SEC(".maps");

struct {
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, FOS_NAT_LOCK_ELEMS);
	__type(key, __u32);
	__type(value, struct fos_nat_locks);
} fos_nat_lock SEC(".maps");

struct {
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, FOS_NAT_PREFIXES_MAX);
	__type(key, struct fos_nat_src_key);
	__type(value, __u32);
} fos_nat_src SEC(".maps");

struct {
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FOS_NAT_RULES_MAX);
	__type(key, __u32);
	__type(value, struct fos_nat_rule);
} fos_nat_rules SEC(".maps");

struct {
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FOS_NAT_IF_MAX);
	__type(key, __u32);
	__type(value, struct fos_nat_ifaddr);
} fos_nat_ifaddr SEC(".maps");

struct {
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * FOS_NAT_RULES_MAX);
	__type(key, __u32);
	__type(value, __u64);
} fos_nat_count SEC(".maps");

struct {
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FOS_NAT_RULES_MAX);
	__type(key, __u32);
	__type(value, struct fos_nat_name);
} fos_nat_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FOS_NAT_FRAG_MAX);
	__type(key, struct fos_frag_key);
	__type(value, struct fos_nat_frag);
} fos_nat_frag SEC(".maps");

struct {
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FOS_NAT_EXTADDR_MAX);
	__type(key, __u8[16]);
	__type(value, __u32);
} fos_nat_extaddr SEC(".maps");

struct {
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fos_nat_extbits);
} fos_nat_extbits SEC(".maps");

struct {
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FOS_NAT_HOOKS_MAX);
	__type(key, __u32);
	__type(value, struct fos_tc_attach);
} fos_tc_attach SEC(".maps");

struct {
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FOS_NAT_RULES_MAX *_FOS_NAT_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} fos_nat_stats SEC(".maps");

/* a new mapping in the making: its IN key and the ports to try, kept
 * here rather than on the stack */
struct _nat_new {
	struct fos_nat_key ik;
	__u64 now;
	__u32 first, cnt, start;
	int mid;
	__u16 want, port;
	__u8 parity, noports, keep, found, flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct _nat_new);
} fos_nat_scratch SEC(".maps");

/* a hairpinned first fragment's key as it arrived, kept here rather than
 * on the stack until the fragment is translated */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fos_frag_key);
} fos_nat_fkey SEC(".maps");

static __always_inline void _nat_stat(__u32 rule, __u32 stat)
{
	__u32 idx = rule * _FOS_NAT_STAT_MAX + stat;
	__u64 *c;

	if (rule >= FOS_NAT_RULES_MAX)
		return;
	c = bpf_map_lookup_elem(&fos_nat_stats, &idx);
	if (c)
		*c += 1;
}

static __always_inline bool _nat_addr_eq(const __u8 *a, const __u8 *b)
{
	const __u64 *x = __builtin_assume_aligned(a, 8), *y = __builtin_assume_aligned(b, 8);

	return x[0] == y[0] && x[1] == y[1];
}

/* ---- the mapping table (fos/nat.h) ------------------------------------------ */
static __always_inline struct fos_nat_map *_nat_rec(__u32 id)
{
	return bpf_map_lookup_elem(&fos_nat, &id);
}

static __always_inline bool _nat_zero16(const __u8 *a)
{
	const __u64 *x = __builtin_assume_aligned(a, 8);

	return (x[0] | x[1]) == 0;
}

/* is m the mapping of k? */
static __always_inline bool _nat_key_is(const struct fos_nat_map *m, const struct fos_nat_key *k)
{
	if (m->proto != k->proto)
		return false;
	if (k->dir == FOS_NAT_IN)
		return m->eport == k->port && _nat_addr_eq(m->eaddr, k->addr);
	if (m->iport != k->port || !_nat_addr_eq(m->iaddr, k->addr))
		return false;
	if (m->flags & FOS_NAT_F_APDF)
		return m->rport == k->rport && _nat_addr_eq(m->raddr, k->raddr);
	return k->rport == 0 && _nat_zero16(k->raddr);
}

/* the index group w of the window that starts at g */
static __always_inline struct fos_nat_group *_nat_group(bool in, __u32 g, __u32 w)
{
	__u32 n = fos_nat_groups, i = g + w;

	if (i >= n)
		i -= n;
	if (in)
		i += n;
	return bpf_map_lookup_elem(&fos_nat_idx, &i);
}

/* The id of k's mapping, or -1. busy: a mapping still being made counts
 * (a writer, under the lock, asking whether the key is taken). */
__noinline int fos_nat_find(const struct fos_nat_key *k, __u32 busy)
{
	__u32 h, g, tag;
	bool in;

	if (!k)
		return -1;
	h = fos_nat_hash(k);
	tag = FOS_NAT_TAG(h);
	g = fos_nat_group_of(h, fos_nat_groups);
	in = k->dir == FOS_NAT_IN;
	for (__u32 w = 0; w < FOS_NAT_WINDOW; w++) {
		struct fos_nat_group *grp = _nat_group(in, g, w);

		if (!grp)
			return -1;
		for (__u32 i = 0; i < FOS_NAT_GROUP; i++) {
			__u32 b = *(volatile __u32 *)&grp->b[i], id1 = FOS_NAT_B_ID(b);
			struct fos_nat_map *m;

			if (id1 == FOS_NAT_B_EMPTY)
				return -1;
			if (id1 == FOS_NAT_B_TOMB || FOS_NAT_B_TAG(b) != tag)
				continue;
			m = _nat_rec(id1 - 1);
			if (m &&
			    (m->state == FOS_NAT_S_LIVE || (busy && m->state == FOS_NAT_S_BUSY)) &&
			    _nat_key_is(m, k))
				return (int)(id1 - 1);
		}
	}
	return -1;
}

/* claim: a free bucket of k's window claimed for id (the caller holds k's
 * stripe); else id's bucket there marked removed. 0, or -1 when there was
 * none (the window full; id not in it). */
__noinline int fos_nat_put(const struct fos_nat_key *k, __u32 id, __u32 claim)
{
	__u32 h, g, nb;
	bool in;

	if (!k)
		return -1;
	h = fos_nat_hash(k);
	g = fos_nat_group_of(h, fos_nat_groups);
	nb = claim ? FOS_NAT_B(id, FOS_NAT_TAG(h)) : FOS_NAT_B_TOMB;
	in = k->dir == FOS_NAT_IN;
	for (__u32 w = 0; w < FOS_NAT_WINDOW; w++) {
		struct fos_nat_group *grp = _nat_group(in, g, w);

		if (!grp)
			return -1;
		for (__u32 i = 0; i < FOS_NAT_GROUP; i++) {
			__u32 b = *(volatile __u32 *)&grp->b[i], id1 = FOS_NAT_B_ID(b);

			if (claim ? id1 != FOS_NAT_B_EMPTY && id1 != FOS_NAT_B_TOMB : id1 != id + 1)
				continue;
			if (__sync_val_compare_and_swap(&grp->b[i], b, nb) == b)
				return 0;
		}
	}
	return -1;
}

static __always_inline __u32 *_nat_lock_word(const struct fos_nat_key *k)
{
	__u32 s = fos_nat_group_of(fos_nat_hash(k), fos_nat_groups) % FOS_NAT_LOCKS, e;
	struct fos_nat_locks *l;

	if (k->dir == FOS_NAT_IN)
		s += FOS_NAT_LOCKS;
	e = s / FOS_NAT_GROUP;
	l = bpf_map_lookup_elem(&fos_nat_lock, &e);
	return l ? &l->l[s % FOS_NAT_GROUP] : NULL;
}

/* k's stripe taken: 0, or -1 when it stayed taken (another CPU, or fwd,
 * holds it far longer than making a mapping takes) */
#define _NAT_SPINS 65536

struct _nat_spin {
	__u32 *w;
	int got;
};

static long _nat_spin_once(__u32 i, void *ctx)
{
	struct _nat_spin *sp = ctx;
	__u32 *w = sp->w;

	(void)i;
	if (!w)
		return 1;
	if (*(volatile __u32 *)w == 0 && __sync_val_compare_and_swap(w, 0, 1) == 0) {
		sp->got = 1;
		return 1;
	}
	return 0;
}

__noinline int fos_nat_take(const struct fos_nat_key *k)
{
	struct _nat_spin sp = {};

	if (!k)
		return -1;
	sp.w = _nat_lock_word(k);
	if (!sp.w)
		return -1;
	if (__sync_val_compare_and_swap(sp.w, 0, 1) == 0)
		return 0;
	bpf_loop(_NAT_SPINS, _nat_spin_once, &sp, 0);
	return sp.got ? 0 : -1;
}

__noinline int fos_nat_give(const struct fos_nat_key *k)
{
	__u32 *w;

	if (!k)
		return -1;
	w = _nat_lock_word(k);
	if (!w)
		return -1;
	__sync_lock_test_and_set(w, 0);
	return 0;
}

/* An id from the free ring: the id, -1 when there is none, -2 when other
 * CPUs kept taking the one it tried. */
__noinline int fos_nat_alloc(void)
{
	__u32 zero = 0, cap = fos_nat_cap;
	struct fos_nat_hdr *hd = bpf_map_lookup_elem(&fos_nat_hdr, &zero);

	if (!hd || cap == 0)
		return -1;
	for (int t = 0; t < 16; t++) {
		__u64 h = *(volatile __u64 *)&hd->head, tl = *(volatile __u64 *)&hd->tail;
		__u32 slot, e, id;
		__u32 *ids;

		if (h >= tl)
			return -1;
		slot = (__u32)(h % cap);
		e = slot / 2;
		ids = bpf_map_lookup_elem(&fos_nat_free, &e);
		if (!ids)
			return -1;
		id = *(volatile __u32 *)&ids[slot & 1];
		if (__sync_val_compare_and_swap(&hd->head, h, h + 1) == h)
			return id < cap ? (int)id : -1;
	}
	return -2;
}

static __always_inline struct fos_nat_map *_nat_get(const struct fos_nat_key *k)
{
	int id = fos_nat_find(k, 0);

	return id < 0 ? NULL : _nat_rec((__u32)id);
}

/* ---- parsing ---------------------------------------------------------------- */
__noinline int fos_nat_parse(struct __sk_buff *skb, struct fos_pkt *pkt)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	if (!pkt)
		return FOS_PARSE_MALFORMED;
	__builtin_memset(pkt, 0, sizeof(*pkt));
	return fos_parse_packet_len(data, data_end, skb->len, pkt);
}

static __always_inline int _nat_parse(struct __sk_buff *skb, struct fos_pkt *pkt)
{
	__u32 linear = skb->data_end - skb->data;
	int r = fos_nat_parse(skb, pkt);

	if (r == FOS_PARSE_MALFORMED && linear < skb->len) {
		__u32 want = skb->len < FOS_NAT_PULL_MAX ? skb->len : FOS_NAT_PULL_MAX;

		if (want > linear && bpf_skb_pull_data(skb, want) == 0)
			r = fos_nat_parse(skb, pkt);
	}
	return r;
}

/* The ports a packet is mapped by: TCP/UDP ports, or an ICMP echo's
 * identifier as the port (remote port 0); 0 and 0 for protocols without
 * ports. *query: an ICMP echo request (opens a mapping) or reply; false for
 * other ICMP messages, which have no mapping of their own. */
enum _nat_kind {
	_NAT_PORTS = 0, /* TCP, UDP */
	_NAT_ECHO_REQ,
	_NAT_ECHO_REP,
	_NAT_ICMP_ERR,
	_NAT_ICMP_OTHER,
	_NAT_NOPORTS, /* other protocols */
};

static __always_inline int _nat_kind(const struct fos_pkt *p)
{
	__u8 t = p->icmp_type;

	if (p->flags & FOS_PKT_F_PORTS)
		return _NAT_PORTS;
	if (!(p->flags & FOS_PKT_F_ICMP))
		return _NAT_NOPORTS;
	if (p->proto == IPPROTO_ICMP) {
		if (t == FOS_ICMP_ECHO)
			return _NAT_ECHO_REQ;
		if (t == FOS_ICMP_ECHOREPLY)
			return _NAT_ECHO_REP;
		if (t == FOS_ICMP_DEST_UNREACH || t == FOS_ICMP_TIME_EXCEEDED ||
		    t == FOS_ICMP_PARAMETERPROB)
			return _NAT_ICMP_ERR;
		return _NAT_ICMP_OTHER;
	}
	if (t == _NAT_ICMP6_ECHO)
		return _NAT_ECHO_REQ;
	if (t == _NAT_ICMP6_ECHOREPLY)
		return _NAT_ECHO_REP;
	if (t >= 1 && t <= 4)
		return _NAT_ICMP_ERR;
	return _NAT_ICMP_OTHER;
}

static __always_inline int _nat_echo_id(struct __sk_buff *skb, const struct fos_pkt *p, __u16 *id)
{
	__be16 v;

	if (p->l4_len < 8 || bpf_skb_load_bytes(skb, p->l4_off + 4, &v, 2) < 0)
		return -1;
	*id = bpf_ntohs(v);
	return 0;
}

/* ---- rewriting ---------------------------------------------------------------- */
/* where the L4 checksum is, and how the helper must treat it; 0: none */
static __always_inline __u32 _nat_csum_off(const struct fos_pkt *p, __u64 *flags, bool *pseudo)
{
	*flags = 0;
	*pseudo = true;
	switch (p->proto) {
	case IPPROTO_TCP:
		return p->l4_off + 16;
	case IPPROTO_UDP:
		*flags = BPF_F_MARK_MANGLED_0;
		return p->l4_off + 6;
	case IPPROTO_ICMP:
		*pseudo = false;
		return p->l4_off + 2;
	case IPPROTO_ICMPV6:
		return p->l4_off + 2;
	default:
		return 0;
	}
}

static __always_inline __u16 _nat_fold(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)((s & 0xffff) + (s >> 16));
}

/* checksum field c (as in the packet) after a change whose sum is d */
static __always_inline __be16 _nat_csum_adj(__be16 c, __u64 d)
{
	return (__be16)~_nat_fold((__u16)~c + d);
}

/* n bytes of the frame at off, when they are in its linear part (headers
 * the parser read are), for a direct read or write; NULL otherwise. A
 * program that writes the packet this way has the kernel unclone a cloned
 * skb before it runs. */
static __always_inline void *_nat_ptr(struct __sk_buff *skb, __u32 off, __u32 n)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	if (off > FOS_NAT_PULL_MAX || data + off + n > data_end)
		return NULL;
	return data + off;
}

/* the checksum field c (as in the packet) after the 32-bit word from became
 * to (both as in the packet), RFC 1624 */
static __always_inline __be16 _nat_csum4(__be16 c, __be32 from, __be32 to)
{
	__u32 nf = ~(__u32)from, t = (__u32)to;

	return _nat_csum_adj(c, (__u64)(nf & 0xffff) + (nf >> 16) + (t & 0xffff) + (t >> 16));
}

/* Rewrite the source (src) or destination address of p to a (16 bytes),
 * with the IPv4 header and L4 checksums; p's copy is updated too. The L4
 * checksum is the kernel's helper's (it knows CHECKSUM_PARTIAL); the
 * address and the IPv4 header checksum are written in place where the
 * header is linear and direct (a constant) is true, by the helpers
 * otherwise. A program that never writes in place has no unclone
 * prologue: the kernel makes a cloned packet writable before such a
 * program runs, whatever it then does with the packet; fos_nat_hairpin,
 * which rewrites few of the packets it sees, writes by the helpers. */
static __always_inline int _nat_set_addr(struct __sk_buff *skb, struct fos_pkt *p, bool src,
					 const __u8 *a, bool direct)
{
	__u8 *cur = src ? p->saddr : p->daddr;
	bool pseudo, l4 = !(p->flags & FOS_PKT_F_FRAGMENT) || (p->flags & FOS_PKT_F_FIRST_FRAG);
	__u64 cflags;
	__u32 coff = _nat_csum_off(p, &cflags, &pseudo);

	if (p->family == FOS_AF_INET) {
		__be32 from, to;

		__builtin_memcpy(&from, cur + 12, 4);
		__builtin_memcpy(&to, a + 12, 4);
		struct iphdr *ip;

		if (l4 && coff && pseudo &&
		    bpf_l4_csum_replace(skb, coff, from, to, cflags | BPF_F_PSEUDO_HDR | 4) < 0)
			return -1;
		ip = direct ? _nat_ptr(skb, p->l3_off, sizeof(*ip)) : NULL;
		if (ip) {
			ip->check = _nat_csum4(ip->check, from, to);
			if (src)
				ip->saddr = to;
			else
				ip->daddr = to;
		} else if (bpf_l3_csum_replace(skb, p->l3_off + 10, from, to, 4) < 0 ||
			   bpf_skb_store_bytes(skb, p->l3_off + (src ? 12 : 16), &to, 4, 0) < 0) {
			return -1;
		}
	} else {
		__u8 from[16], to[16];
		__s64 diff;

		__builtin_memcpy(from, cur, 16);
		__builtin_memcpy(to, a, 16);
		diff = bpf_csum_diff((__be32 *)from, 16, (__be32 *)to, 16, 0);
		__u8 *dst;

		if (l4 && coff && pseudo &&
		    bpf_l4_csum_replace(skb, coff, 0, diff, cflags | BPF_F_PSEUDO_HDR) < 0)
			return -1;
		dst = direct ? _nat_ptr(skb, p->l3_off + (src ? 8 : 24), 16) : NULL;
		if (dst)
			__builtin_memcpy(dst, to, 16);
		else if (bpf_skb_store_bytes(skb, p->l3_off + (src ? 8 : 24), to, 16, 0) < 0)
			return -1;
	}
	__builtin_memcpy(cur, a, 16);
	return 0;
}

/* Rewrite the source (src) or destination port of p, or an ICMP echo's
 * identifier, to port (host order); direct as _nat_set_addr's. */
static __always_inline int _nat_set_port(struct __sk_buff *skb, struct fos_pkt *p, bool src,
					 __u16 port, bool direct)
{
	bool pseudo;
	__u64 cflags;
	__u32 coff = _nat_csum_off(p, &cflags, &pseudo), off;
	__be16 from, to = bpf_htons(port);

	if (p->flags & FOS_PKT_F_PORTS) {
		off = p->l4_off + (src ? 0 : 2);
		from = bpf_htons(src ? p->sport : p->dport);
		if (src)
			p->sport = port;
		else
			p->dport = port;
	} else if (p->flags & FOS_PKT_F_ICMP) {
		off = p->l4_off + 4;
		if (bpf_skb_load_bytes(skb, off, &from, 2) < 0)
			return -1;
	} else {
		return 0;
	}
	if (from == to)
		return 0;
	if (bpf_l4_csum_replace(skb, coff, from, to, cflags | 2) < 0)
		return -1;
	{
		__be16 *f = direct ? _nat_ptr(skb, off, 2) : NULL;

		if (f) {
			*f = to;
			return 0;
		}
	}
	return bpf_skb_store_bytes(skb, off, &to, 2, 0) < 0 ? -1 : 0;
}

/* ---- mappings ------------------------------------------------------------------ */
/* the packet's ends as a mapping sees them */
struct _nat_ends {
	__u16 sport, dport; /* ICMP echo: identifier, 0 */
	int kind;
};

static __always_inline int _nat_ends(struct __sk_buff *skb, const struct fos_pkt *p,
				     struct _nat_ends *e)
{
	__u16 id;

	e->sport = 0;
	e->dport = 0;
	e->kind = _nat_kind(p);
	switch (e->kind) {
	case _NAT_PORTS:
		e->sport = p->sport;
		e->dport = p->dport;
		return 0;
	case _NAT_ECHO_REQ:
	case _NAT_ECHO_REP:
		if (_nat_echo_id(skb, p, &id) < 0)
			return -1;
		e->sport = id;
		return 0;
	default:
		return 0;
	}
}

/* the clock of mappings: CLOCK_MONOTONIC_COARSE (a tick's resolution is
 * plenty for timeouts of minutes, and it reads no clock source) */
static __always_inline __u64 _nat_now(void)
{
	return bpf_ktime_get_coarse_ns();
}

static __always_inline void _nat_stamp(struct fos_nat_map *v, const struct fos_pkt *p, __u64 now)
{
	v->last_ns = now;
	if (p->proto != IPPROTO_TCP || (v->flags & FOS_NAT_F_STATIC))
		return;
	if (p->tcp_flags & (_NAT_TCP_FIN | _NAT_TCP_RST)) {
		if (!(v->flags & FOS_NAT_F_CLOSING))
			v->flags |= FOS_NAT_F_CLOSING;
	} else if (!(p->tcp_flags & _NAT_TCP_SYN)) {
		v->est_ns = now;
		if (v->flags & FOS_NAT_F_CLOSING)
			v->flags &= ~FOS_NAT_F_CLOSING;
	}
}

/* The external address of a new mapping of rule on ext_if: 0, or -1 when
 * there is none (masquerade on an interface without an address of the
 * family) */
static __always_inline int _nat_ext_addr(const struct fos_nat_rule *rule, __u32 ext_if, bool v4,
					 __u8 *ret)
{
	const struct fos_nat_ifaddr *ia;

	if (rule->flags & FOS_NAT_R_STATIC) {
		__builtin_memcpy(ret, v4 ? rule->addr4 : rule->addr6, 16);
		return 0;
	}
	ia = bpf_map_lookup_elem(&fos_nat_ifaddr, &ext_if);
	if (!ia || !(ia->flags & (v4 ? FOS_NAT_IF_V4 : FOS_NAT_IF_V6)))
		return -1;
	__builtin_memcpy(ret, v4 ? ia->addr4 : ia->addr6, 16);
	return 0;
}

/* Make the mapping of okey (the packet p's internal end, remote raddr:rport
 * for a dependent one) under rule id on ext_if: its id (the mapping another
 * CPU made of okey a moment ago, if one did), or -1 with the reason
 * counted. */
__noinline int fos_nat_create(const struct fos_nat_key *okey, __u32 id, __u32 ext_if)
{
	const struct fos_nat_rule *rule;
	struct fos_nat_map *m = NULL;
	struct _nat_new *nn;
	__u64 *created, *removed;
	__u32 ci, zero = 0, lo, hi;
	int r;

	if (!okey)
		return -1;
	nn = bpf_map_lookup_elem(&fos_nat_scratch, &zero);
	if (!nn)
		return -1;
	__builtin_memset(nn, 0, sizeof(*nn));
	rule = bpf_map_lookup_elem(&fos_nat_rules, &id);
	ci = FOS_NAT_COUNT_CREATED(id);
	created = bpf_map_lookup_elem(&fos_nat_count, &ci);
	ci = FOS_NAT_COUNT_REMOVED(id);
	removed = bpf_map_lookup_elem(&fos_nat_count, &ci);
	if (!rule || !created || !removed)
		return -1;
	if (_nat_ext_addr(rule, ext_if, _fos_ipv6_v4mapped((const struct in6_addr *)okey->addr),
			  nn->ik.addr) < 0) {
		_nat_stat(id, FOS_NAT_STAT_NO_ADDRESS);
		return -1;
	}
	if (*created - *removed >= rule->max_mappings) {
		_nat_stat(id, FOS_NAT_STAT_FULL);
		return -1;
	}
	nn->ik.proto = okey->proto;
	nn->ik.dir = FOS_NAT_IN;
	nn->now = _nat_now();
	nn->mid = -1;
	nn->flags = (rule->flags & FOS_NAT_R_EIM ? 0 : FOS_NAT_F_APDF) |
		    (rule->flags & FOS_NAT_R_HAIRPIN ? FOS_NAT_F_HAIRPIN : 0);

	nn->want = okey->port;
	if (rule->flags & FOS_NAT_R_RANGE) {
		lo = rule->port_lo;
		hi = rule->port_hi;
	} else {
		lo = FOS_NAT_PORT_LO;
		hi = FOS_NAT_PORT_HI;
	}
	if (lo == 0 || hi < lo || hi > 65535)
		return -1;
	/* the internal port itself, when it is free (protocols without ports:
	 * port 0 is the only one; an ICMP echo identifier may be 0 too) */
	nn->noports = okey->proto != IPPROTO_TCP && okey->proto != IPPROTO_UDP &&
		      okey->proto != IPPROTO_ICMP && okey->proto != IPPROTO_ICMPV6;
	nn->keep =
	    nn->noports || !(rule->flags & FOS_NAT_R_RANGE) || (nn->want >= lo && nn->want <= hi);
	if (!nn->noports) {
		nn->parity = okey->proto == IPPROTO_UDP && hi > lo;
		nn->first = lo;
		nn->cnt = hi - lo + 1;
		if (nn->parity) {
			nn->first = lo + ((lo ^ nn->want) & 1);
			nn->cnt = (hi - nn->first) / 2 + 1;
		}
		nn->start = bpf_get_prandom_u32();
	}

	/* the internal end, under its stripe's lock: another CPU may have
	 * mapped it a moment ago */
	if (fos_nat_take(okey) < 0) {
		_nat_stat(id, FOS_NAT_STAT_CONTENDED);
		return -1;
	}
	r = fos_nat_find(okey, 1);
	if (r >= 0) {
		fos_nat_give(okey);
		return r;
	}

	/* then a port: the kept one, or FOS_NAT_PROBES of the range (in a
	 * range no bigger than the probes port by port from a random start;
	 * in a bigger one each probe a port of its own, drawn at random, so
	 * that runs of taken ports cost no more than scattered ones) */
	for (__u32 i = 0; i <= FOS_NAT_PROBES; i++) {
		__u32 cnt = nn->cnt;

		if (i == 0) {
			if (!nn->keep)
				continue;
			nn->port = nn->want;
		} else {
			__u32 j = i - 1, k;

			if (nn->noports || j >= cnt || cnt == 0)
				break;
			k = cnt <= FOS_NAT_PROBES ? (nn->start + j) % cnt
						  : (j ? bpf_get_prandom_u32() : nn->start) % cnt;
			nn->port = (__u16)(nn->parity ? nn->first + 2 * k : nn->first + k);
		}
		nn->ik.port = nn->port;
		if (fos_nat_take(&nn->ik) < 0)
			continue;
		if (fos_nat_find(&nn->ik, 1) >= 0) {
			fos_nat_give(&nn->ik);
			continue;
		}
		if (!m) {
			nn->mid = fos_nat_alloc();
			if (nn->mid >= 0)
				m = _nat_rec((__u32)nn->mid);
			if (!m) {
				fos_nat_give(&nn->ik);
				fos_nat_give(okey);
				_nat_stat(id, nn->mid == -2 ? FOS_NAT_STAT_CONTENDED
							    : FOS_NAT_STAT_FULL);
				return -1;
			}
			m->state = FOS_NAT_S_BUSY;
			__builtin_memcpy(m->iaddr, okey->addr, 16);
			__builtin_memcpy(m->eaddr, nn->ik.addr, 16);
			__builtin_memcpy(m->raddr, okey->raddr, 16);
			__builtin_memset(m->rin, 0, 16);
			m->last_ns = nn->now;
			m->est_ns = 0;
			m->ifindex = ext_if;
			m->iport = okey->port;
			m->rport = okey->rport;
			m->rin_port = 0;
			m->rule = (__u8)id;
			m->proto = okey->proto;
			m->flags = nn->flags;
		}
		m->eport = nn->port;
		r = fos_nat_put(&nn->ik, (__u32)nn->mid, 1);
		fos_nat_give(&nn->ik);
		if (r == 0) {
			nn->found = 1;
			break;
		}
	}
	if (!nn->found || !m) {
		if (m) {
			m->last_ns = nn->now;
			m->state = FOS_NAT_S_DEAD; /* fwd gives the id back */
		}
		fos_nat_give(okey);
		_nat_stat(id, FOS_NAT_STAT_EXHAUSTED);
		return -1;
	}
	if (fos_nat_put(okey, (__u32)nn->mid, 1) < 0) {
		fos_nat_put(&nn->ik, (__u32)nn->mid, 0);
		m->last_ns = nn->now;
		m->state = FOS_NAT_S_DEAD;
		fos_nat_give(okey);
		_nat_stat(id, FOS_NAT_STAT_FULL);
		return -1;
	}
	m->state = FOS_NAT_S_LIVE;
	fos_nat_give(okey);
	__sync_fetch_and_add(created, 1);
	_nat_stat(id, FOS_NAT_STAT_CREATED);
	if (nn->port == nn->want)
		_nat_stat(id, FOS_NAT_STAT_KEPT_PORT);
	return nn->mid;
}

/* the mapping fos_nat_create made, or NULL */
static __always_inline struct fos_nat_map *_nat_create(const struct fos_nat_key *okey, __u32 id,
						       __u32 ext_if)
{
	int mid = fos_nat_create(okey, id, ext_if);

	return mid < 0 ? NULL : _nat_rec((__u32)mid);
}

/* Is the mapping v one of ext_if? One made for another external interface
 * (the flow's route changed) is marked for fwd to end; its packets are
 * dropped meanwhile, not sent with another interface's address. A port
 * map's mapping is fwd's: only not used. */
static __always_inline bool _nat_ours(struct fos_nat_map *v, __u32 ext_if)
{
	if (v->ifindex == ext_if)
		return true;
	if (!(v->flags & (FOS_NAT_F_STATIC | FOS_NAT_F_MOVED)))
		v->flags |= FOS_NAT_F_MOVED;
	return false;
}

/* Is v an endpoint-independent mapping made for this way out (ext_if, from
 * src_if) by a natConfig that still maps it (a reload that no longer does
 * ends the mapping)? Its natConfig's id, or 0. */
static __always_inline __u32 _nat_eim_rule(const struct fos_nat_map *v, __u32 ext_if, __u32 src_if,
					   bool v4)
{
	const struct fos_nat_rule *rule;
	__u32 id;

	if (!v || v->ifindex != ext_if || (v->flags & FOS_NAT_F_STATIC))
		return 0;
	id = v->rule;
	rule = bpf_map_lookup_elem(&fos_nat_rules, &id);
	if (!rule || !(rule->flags & FOS_NAT_R_ACTIVE) || !(rule->flags & FOS_NAT_R_EIM) ||
	    !(rule->flags & (v4 ? FOS_NAT_R_V4 : FOS_NAT_R_V6)) || rule->ext_ifindex != ext_if ||
	    rule->src_ifindex != src_if)
		return 0;
	return id;
}

/* the remote end of the mapping's latest flow: fwd asks the connection
 * table about that flow before it ends the mapping */
static __always_inline void _nat_note_remote(struct fos_nat_map *v, const __u8 *raddr, __u16 rport)
{
	if (!(v->flags & (FOS_NAT_F_STATIC | FOS_NAT_F_APDF)) &&
	    (v->rport != rport || !_nat_addr_eq(v->raddr, raddr))) {
		__builtin_memcpy(v->raddr, raddr, 16);
		v->rport = rport;
	}
}

/* The mapping that translates p's source on its way out of ext_if, having
 * come in by src_if: found, made (with create), or NULL. *ret_rule: the
 * natConfig (0: none; the packet is not to be translated unless a port
 * map's mapping is found). */
static __always_inline struct fos_nat_map *
_nat_out_mapping(const struct fos_pkt *p, const struct _nat_ends *e, __u32 ext_if, __u32 src_if,
		 bool create, const __u8 *raddr, __u16 rport, __u32 *ret_rule)
{
	struct fos_nat_src_key sk = {};
	struct fos_nat_key k = {};
	const struct fos_nat_ifaddr *ia;
	const struct fos_nat_rule *rule;
	struct fos_nat_map *v, *eim;
	__u32 *idp, id = 0;
	bool v4 = p->family == FOS_AF_INET;

	*ret_rule = 0;
	__builtin_memcpy(k.addr, p->saddr, 16);
	k.port = e->sport;
	k.proto = p->proto;
	k.dir = FOS_NAT_OUT;
	/* the common case first: an endpoint-independent mapping of this
	 * source, made for this way out by a natConfig that still maps it
	 * (a reload that no longer does ends the mapping) */
	v = eim = _nat_get(&k);
	id = _nat_eim_rule(v, ext_if, src_if, v4);
	if (id) {
		*ret_rule = id;
		return v;
	}

	sk.prefixlen = FOS_NAT_SRC_PREFIX + 128;
	sk.ext_ifindex = bpf_htonl(ext_if);
	sk.src_ifindex = bpf_htonl(src_if);
	__builtin_memcpy(sk.addr, p->saddr, 16);
	idp = bpf_map_lookup_elem(&fos_nat_src, &sk);
	if (idp)
		id = *idp;

	if (id) {
		rule = bpf_map_lookup_elem(&fos_nat_rules, &id);
		if (!rule || !(rule->flags & FOS_NAT_R_ACTIVE) ||
		    !(rule->flags & (v4 ? FOS_NAT_R_V4 : FOS_NAT_R_V6)))
			id = 0;
		else if (!(rule->flags & FOS_NAT_R_EIM)) {
			struct fos_nat_key dk = k;

			__builtin_memcpy(dk.raddr, raddr, 16);
			dk.rport = rport;
			v = _nat_get(&dk);
			if (v) {
				*ret_rule = id;
				return _nat_ours(v, ext_if) ? v : NULL;
			}
			/* a port map's mapping is endpoint independent */
			v = eim;
			if (v && (v->flags & FOS_NAT_F_STATIC) && v->ifindex == ext_if) {
				*ret_rule = id;
				return v;
			}
			*ret_rule = id;
			if (!create || e->kind == _NAT_ECHO_REP)
				return NULL;
			return _nat_create(&dk, id, ext_if);
		}
	}
	if (!id) {
		/* the answers of a port map's server */
		ia = bpf_map_lookup_elem(&fos_nat_ifaddr, &ext_if);
		if (!ia || !(ia->flags & FOS_NAT_IF_STATIC_MAPS))
			return NULL;
		v = eim;
		if (v && (v->flags & FOS_NAT_F_STATIC) && v->ifindex == ext_if) {
			*ret_rule = v->rule;
			return v;
		}
		return NULL;
	}
	*ret_rule = id;
	/* the mapping looked up first (a record found stays what it is until
	 * this program returns: fwd gives a removed one's id back only after
	 * FOS_NAT_GRACE_NS) */
	v = eim;
	if (v)
		return _nat_ours(v, ext_if) ? v : NULL;
	if (!create || e->kind == _NAT_ECHO_REP)
		return NULL;
	return _nat_create(&k, id, ext_if);
}

/* ---- ICMP errors (RFC 5508) ------------------------------------------------------ */
/*
 * An ICMP error quotes a packet of the flow; on the way in, the quoted
 * packet is one the NAT sent (its source the external end of a mapping): it
 * and the outer destination go back to the internal end. Every rewrite of
 * the quoted bytes is folded into the ICMP checksum as well.
 */
/* rewrite the 16-bit field at off from `from` to `to`, folding the change
 * into the ICMP checksum at icsum */
static __always_inline int _nat_icmp_put16(struct __sk_buff *skb, __u32 icsum, __u32 off,
					   __be16 from, __be16 to)
{
	if (from == to)
		return 0;
	if (bpf_l4_csum_replace(skb, icsum, from, to, 2) < 0)
		return -1;
	return bpf_skb_store_bytes(skb, off, &to, 2, 0) < 0 ? -1 : 0;
}

/*
 * in: an error coming in about a packet the NAT sent out: the quoted
 * source is the external end of a mapping (its IN key) and goes back to the
 * internal end, as does the outer destination. out: an error an inside host
 * (or the router) sends about a packet that came in translated: the quoted
 * destination is an internal end (its OUT key) and becomes the external end,
 * as does the outer source.
 */
static __always_inline int _nat_icmp(struct __sk_buff *skb, struct fos_pkt *p, bool out)
{
	__u32 off = p->l4_off + 8, end = p->l4_off + p->l4_len, l4off, icsum = p->l4_off + 2;
	__u8 iaddr[16] __attribute__((aligned(8))); /* the quoted end that is ours */
	__u8 oaddr[16] __attribute__((aligned(8))); /* the quoted other end */
	__u8 to[16] __attribute__((aligned(8)));
	struct fos_nat_key k = {};
	struct fos_nat_map *v;
	__u32 ccoff = 0, poff;
	__be16 fp, tp, oc;
	__u64 dsum;
	__s64 d;
	__u16 iport, oport = 0;
	__u8 proto, l4[8];
	bool v4 = p->family == FOS_AF_INET, l4pseudo = true;

	if (v4) {
		struct iphdr ih;

		if (off + sizeof(ih) > end || bpf_skb_load_bytes(skb, off, &ih, sizeof(ih)) < 0)
			return 0;
		if (ih.version != 4 || ih.ihl < 5 || (bpf_ntohs(ih.frag_off) & FOS_IP_OFFSET))
			return 0;
		proto = ih.protocol;
		_fos_addr_set_v4(iaddr, out ? ih.daddr : ih.saddr);
		_fos_addr_set_v4(oaddr, out ? ih.saddr : ih.daddr);
		l4off = off + ih.ihl * 4;
	} else {
		struct ipv6hdr ih;

		if (off + sizeof(ih) > end || bpf_skb_load_bytes(skb, off, &ih, sizeof(ih)) < 0)
			return 0;
		if (ih.version != 6)
			return 0;
		proto = ih.nexthdr;
		_fos_addr_set_v6(iaddr, out ? &ih.daddr : &ih.saddr);
		_fos_addr_set_v6(oaddr, out ? &ih.saddr : &ih.daddr);
		l4off = off + sizeof(ih);
	}
	if (l4off + 8 > end || bpf_skb_load_bytes(skb, l4off, l4, 8) < 0)
		return 0;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		iport = out ? (l4[2] << 8) | l4[3] : (l4[0] << 8) | l4[1];
		oport = out ? (l4[0] << 8) | l4[1] : (l4[2] << 8) | l4[3];
		poff = out ? l4off + 2 : l4off;
		if (proto == IPPROTO_UDP && (l4[6] | l4[7]))
			ccoff = l4off + 6;
		else if (proto == IPPROTO_TCP && l4off + 18 <= end)
			ccoff = l4off + 16;
	} else if (!out && ((proto == IPPROTO_ICMP && l4[0] == FOS_ICMP_ECHO) ||
			    (proto == IPPROTO_ICMPV6 && l4[0] == _NAT_ICMP6_ECHO))) {
		iport = (l4[4] << 8) | l4[5];
		poff = l4off + 4;
		ccoff = l4off + 2;
		l4pseudo = proto == IPPROTO_ICMPV6;
	} else {
		return 0;
	}

	__builtin_memcpy(k.addr, iaddr, 16);
	k.port = iport;
	k.proto = proto;
	k.dir = out ? FOS_NAT_OUT : FOS_NAT_IN;
	if (out) {
		/* a dependent mapping first, then an independent one */
		struct fos_nat_key dk = k;

		__builtin_memcpy(dk.raddr, oaddr, 16);
		dk.rport = oport;
		v = _nat_get(&dk);
		if (!v)
			v = _nat_get(&k);
	} else {
		v = _nat_get(&k);
	}
	if (!v || v->ifindex != skb->ifindex)
		return 0;
	__builtin_memcpy(to, out ? v->eaddr : v->iaddr, 16);
	fp = bpf_htons(iport);
	tp = bpf_htons(out ? v->eport : v->iport);

	/* the change of the quoted source address, as a sum */
	if (v4)
		d = bpf_csum_diff((__be32 *)(iaddr + 12), 4, (__be32 *)(to + 12), 4, 0);
	else
		d = bpf_csum_diff((__be32 *)iaddr, 16, (__be32 *)to, 16, 0);
	if (d < 0)
		return -1;

	/* the quoted IPv4 header's checksum */
	if (v4) {
		if (bpf_skb_load_bytes(skb, off + 10, &oc, 2) < 0)
			return -1;
		if (_nat_icmp_put16(skb, icsum, off + 10, oc, _nat_csum_adj(oc, (__u32)d)) < 0)
			return -1;
	}
	/* the quoted L4 checksum: the port, and the address if it is in
	 * the pseudo header */
	if (ccoff) {
		if (bpf_skb_load_bytes(skb, ccoff, &oc, 2) < 0)
			return -1;
		dsum = (__u16)~fp + (__u16)tp;
		if (l4pseudo)
			dsum += (__u32)d;
		{
			__be16 nc = _nat_csum_adj(oc, dsum);

			if (proto == IPPROTO_UDP && nc == 0)
				nc = 0xffff;
			if (_nat_icmp_put16(skb, icsum, ccoff, oc, nc) < 0)
				return -1;
		}
	}
	/* the quoted address and port */
	if (bpf_l4_csum_replace(skb, icsum, 0, d, 0) < 0)
		return -1;
	if (v4) {
		if (bpf_skb_store_bytes(skb, off + (out ? 16 : 12), to + 12, 4, 0) < 0)
			return -1;
	} else if (bpf_skb_store_bytes(skb, off + (out ? 24 : 8), to, 16, 0) < 0) {
		return -1;
	}
	if (_nat_icmp_put16(skb, icsum, poff, fp, tp) < 0)
		return -1;
	/* the outer destination, or source (and, ICMPv6, its pseudo header) */
	if (_nat_set_addr(skb, p, out, to, true) < 0)
		return -1;
	_nat_stat(v->rule, FOS_NAT_STAT_ICMP_ERROR);
	return 1;
}

/* ---- the programs ------------------------------------------------------------------ */
/* Translate the destination of p to the internal end of mapping v. */
static __always_inline int _nat_dnat(struct __sk_buff *skb, struct fos_pkt *p,
				     const struct _nat_ends *e, struct fos_nat_map *v, bool direct)
{
	__u8 to[16] __attribute__((aligned(8)));
	__u16 port = v->iport;

	__builtin_memcpy(to, v->iaddr, 16);
	if (_nat_set_addr(skb, p, false, to, direct) < 0)
		return -1;
	if (e->kind == _NAT_PORTS)
		return _nat_set_port(skb, p, false, port, direct);
	if (e->kind == _NAT_ECHO_REP)
		return _nat_set_port(skb, p, false, port, direct);
	return 0;
}

static __always_inline int _nat_snat(struct __sk_buff *skb, struct fos_pkt *p,
				     const struct _nat_ends *e, struct fos_nat_map *v, bool direct)
{
	__u8 to[16] __attribute__((aligned(8)));
	__u16 port = v->eport;

	__builtin_memcpy(to, v->eaddr, 16);
	if (_nat_set_addr(skb, p, true, to, direct) < 0)
		return -1;
	if (e->kind == _NAT_PORTS || e->kind == _NAT_ECHO_REQ || e->kind == _NAT_ECHO_REP)
		return _nat_set_port(skb, p, true, port, direct);
	return 0;
}

/* ---- fragments ---------------------------------------------------------------- */
static __always_inline void _nat_frag_key(const struct fos_pkt *p, struct fos_frag_key *k)
{
	__builtin_memcpy(k->saddr, p->saddr, 16);
	__builtin_memcpy(k->daddr, p->daddr, 16);
	k->id = p->frag_id;
	k->proto = p->frag_proto;
}

/* the first fragment of a datagram was translated (p as it arrived): its
 * followers get the same address */
static __always_inline void _nat_frag_note(const struct fos_pkt *p, const __u8 *addr, __u32 ifindex,
					   __u16 rule, __u8 dir)
{
	struct fos_frag_key k = {};
	struct fos_nat_frag f = {.ifindex = ifindex, .rule = rule, .dir = dir};

	if (!(p->flags & FOS_PKT_F_FIRST_FRAG))
		return;
	_nat_frag_key(p, &k);
	__builtin_memcpy(f.addr, addr, 16);
	bpf_map_update_elem(&fos_nat_frag, &k, &f, BPF_ANY);
}

/* a later fragment of a datagram whose first was translated: 1 done, 0 not
 * one of those, -1 it could not be rewritten */
static __always_inline int _nat_frag_follow(struct __sk_buff *skb, struct fos_pkt *p, __u8 dir,
					    __u32 ext_if)
{
	struct fos_frag_key k = {};
	struct fos_nat_frag *f;
	__u8 to[16] __attribute__((aligned(8)));

	_nat_frag_key(p, &k);
	f = bpf_map_lookup_elem(&fos_nat_frag, &k);
	if (!f || f->dir != dir || f->ifindex != ext_if)
		return 0;
	__builtin_memcpy(to, f->addr, 16);
	if (_nat_set_addr(skb, p, dir == FOS_NAT_OUT, to, true) < 0) {
		_nat_stat(f->rule, FOS_NAT_STAT_MALFORMED);
		return -1;
	}
	_nat_stat(f->rule, dir == FOS_NAT_OUT ? FOS_NAT_STAT_OUT : FOS_NAT_STAT_IN);
	return 1;
}

/* ---- the common packet out, the short way ------------------------------------------ */
/*
 * Most packets leaving the external interface are untagged IPv4 TCP or UDP
 * datagrams, not fragments, without IP options, from a source that has an
 * endpoint-independent mapping made for this way out. _nat_out_fast reads
 * what those need from the headers in place into p and e, instead of the
 * full parse, and translates them as the full way does (_nat_eim_rule,
 * _nat_stamp, _nat_note_remote, _nat_snat). 1: translated; 0: not such a
 * packet, untouched (the full way decides); -1: to be dropped.
 */
static __always_inline int _nat_out_fast(struct __sk_buff *skb, struct fos_pkt *p,
					 struct _nat_ends *e)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	__u8 *l4 = (void *)(ip + 1);
	struct fos_nat_key k = {};
	struct fos_nat_map *v;
	__u32 tot, rule;
	int id;

	if ((void *)(l4 + sizeof(struct udphdr)) > data_end ||
	    eth->h_proto != bpf_htons(ETH_P_IP) || *(__u8 *)ip != 0x45 ||
	    (ip->frag_off & bpf_htons(0x3fff)))
		return 0;
	tot = bpf_ntohs(ip->tot_len);
	if (tot < sizeof(*ip) || sizeof(*eth) + tot > skb->len)
		return 0;
	__builtin_memset(p, 0, sizeof(*p));
	p->proto = ip->protocol;
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = (void *)l4;

		if ((void *)(th + 1) > data_end || th->doff < 5 ||
		    th->doff * 4U > tot - sizeof(*ip))
			return 0;
		p->tcp_flags = l4[13];
	} else if (p->proto != IPPROTO_UDP || tot - sizeof(*ip) < sizeof(struct udphdr)) {
		return 0;
	}
	p->family = FOS_AF_INET;
	p->flags = FOS_PKT_F_PORTS;
	p->l3_off = sizeof(*eth);
	p->l4_off = sizeof(*eth) + sizeof(*ip);
	p->l4_len = tot - sizeof(*ip);
	p->ttl = ip->ttl;
	p->sport = bpf_ntohs(*(__be16 *)l4);
	p->dport = bpf_ntohs(*(__be16 *)(l4 + 2));
	_fos_addr_set_v4(p->saddr, ip->saddr);
	_fos_addr_set_v4(p->daddr, ip->daddr);
	e->kind = _NAT_PORTS;
	e->sport = p->sport;
	e->dport = p->dport;

	__builtin_memcpy(k.addr, p->saddr, 16);
	k.port = p->sport;
	k.proto = p->proto;
	k.dir = FOS_NAT_OUT;
	id = fos_nat_find(&k, 0);
	v = id < 0 ? NULL : _nat_rec((__u32)id);
	rule = _nat_eim_rule(v, skb->ifindex, skb->ingress_ifindex, true);
	if (!rule || !v)
		return 0;
	_nat_stamp(v, p, _nat_now());
	_nat_note_remote(v, p->daddr, p->dport);
	if (_nat_snat(skb, p, e, v, true) < 0) {
		_nat_stat(rule, FOS_NAT_STAT_MALFORMED);
		return -1;
	}
	_nat_stat(rule, FOS_NAT_STAT_OUT);
	return 1;
}

SEC("tc")
int fos_nat_out(struct __sk_buff *skb)
{
	struct fos_nat_map *v;
	struct _nat_ends e;
	struct fos_pkt pkt;
	__u8 raddr[16] __attribute__((aligned(8)));
	__u32 rule;
	int r;

	r = _nat_out_fast(skb, &pkt, &e);
	if (r)
		return r > 0 ? TC_ACT_UNSPEC : TC_ACT_SHOT;
	r = _nat_parse(skb, &pkt);
	if (r != FOS_PARSE_OK)
		return TC_ACT_UNSPEC;
	if (_nat_ends(skb, &pkt, &e) < 0)
		return TC_ACT_UNSPEC;
	if (e.kind == _NAT_ICMP_ERR) {
		r = _nat_icmp(skb, &pkt, true);
		if (r < 0) {
			_nat_stat(0, FOS_NAT_STAT_MALFORMED);
			return TC_ACT_SHOT;
		}
		return TC_ACT_UNSPEC;
	}
	if (e.kind == _NAT_ICMP_OTHER)
		return TC_ACT_UNSPEC;
	__builtin_memcpy(raddr, pkt.daddr, 16);
	if ((pkt.flags & FOS_PKT_F_FRAGMENT) && !(pkt.flags & FOS_PKT_F_FIRST_FRAG)) {
		/* no ports to map it by: its first fragment's translation, or,
		 * known only if it is not to be translated, passed */
		struct _nat_ends ne = {.kind = _NAT_NOPORTS};

		r = _nat_frag_follow(skb, &pkt, FOS_NAT_OUT, skb->ifindex);
		if (r)
			return r > 0 ? TC_ACT_UNSPEC : TC_ACT_SHOT;

		v = _nat_out_mapping(&pkt, &ne, skb->ifindex, skb->ingress_ifindex, false, raddr, 0,
				     &rule);
		if (!rule && !v)
			return TC_ACT_UNSPEC;
		/* before its first fragment (out of order): what the source
		 * becomes needs no ports, it is the natConfig's external
		 * address, which the first fragment's mapping gets too */
		if (rule) {
			__u32 rid = rule;
			const struct fos_nat_rule *rr = bpf_map_lookup_elem(&fos_nat_rules, &rid);
			__u8 to[16] __attribute__((aligned(8)));

			if (rr &&
			    _nat_ext_addr(rr, skb->ifindex, pkt.family == FOS_AF_INET, to) == 0) {
				if (_nat_set_addr(skb, &pkt, true, to, true) < 0) {
					_nat_stat(rule, FOS_NAT_STAT_MALFORMED);
					return TC_ACT_SHOT;
				}
				_nat_stat(rule, FOS_NAT_STAT_OUT);
				return TC_ACT_UNSPEC;
			}
		}
		_nat_stat(rule, FOS_NAT_STAT_FRAGMENT);
		return TC_ACT_SHOT;
	}
	v = _nat_out_mapping(&pkt, &e, skb->ifindex, skb->ingress_ifindex, true, raddr, e.dport,
			     &rule);
	if (!v)
		return rule ? TC_ACT_SHOT : TC_ACT_UNSPEC;
	if (pkt.flags & FOS_PKT_F_FIRST_FRAG)
		_nat_frag_note(&pkt, v->eaddr, skb->ifindex, (__u16)rule, FOS_NAT_OUT);
	_nat_stamp(v, &pkt, _nat_now());
	_nat_note_remote(v, raddr, e.dport);
	if (_nat_snat(skb, &pkt, &e, v, true) < 0) {
		_nat_stat(rule, FOS_NAT_STAT_MALFORMED);
		return TC_ACT_SHOT;
	}
	_nat_stat(rule, FOS_NAT_STAT_OUT);
	return TC_ACT_UNSPEC;
}

/* The mapping of p's destination (its external end); NULL when there is none, or (with
 * *filtered) when a dependent mapping's filter refuses p's source, given as
 * (saddr, sport). */
static __always_inline struct fos_nat_map *_nat_in_mapping(const struct fos_pkt *p,
							   const struct _nat_ends *e,
							   const __u8 *saddr, __u16 sport,
							   bool *filtered)
{
	struct fos_nat_key k = {};
	struct fos_nat_map *v;

	*filtered = false;
	if (e->kind == _NAT_ECHO_REQ || e->kind == _NAT_ICMP_ERR || e->kind == _NAT_ICMP_OTHER)
		return NULL;
	__builtin_memcpy(k.addr, p->daddr, 16);
	k.port = e->kind == _NAT_PORTS ? e->dport : e->sport;
	k.proto = p->proto;
	k.dir = FOS_NAT_IN;
	v = _nat_get(&k);
	if (!v)
		return NULL;
	if ((v->flags & FOS_NAT_F_APDF) &&
	    (!_nat_addr_eq(v->raddr, saddr) || (e->kind == _NAT_PORTS && v->rport != sport))) {
		*filtered = true;
		return NULL;
	}
	return v;
}

SEC("tc")
int fos_nat_in(struct __sk_buff *skb)
{
	struct fos_nat_map *v;
	struct _nat_ends e;
	struct fos_pkt pkt;
	bool filtered;
	int r;

	r = _nat_parse(skb, &pkt);
	if (r != FOS_PARSE_OK)
		return TC_ACT_UNSPEC;
	if ((pkt.flags & FOS_PKT_F_FRAGMENT) && !(pkt.flags & FOS_PKT_F_FIRST_FRAG)) {
		r = _nat_frag_follow(skb, &pkt, FOS_NAT_IN, skb->ifindex);
		return r < 0 ? TC_ACT_SHOT : TC_ACT_UNSPEC;
	}
	if (_nat_ends(skb, &pkt, &e) < 0)
		return TC_ACT_UNSPEC;
	if (e.kind == _NAT_ICMP_ERR) {
		r = _nat_icmp(skb, &pkt, false);
		if (r < 0) {
			_nat_stat(0, FOS_NAT_STAT_MALFORMED);
			return TC_ACT_SHOT;
		}
		return TC_ACT_UNSPEC;
	}
	v = _nat_in_mapping(&pkt, &e, pkt.saddr, e.sport, &filtered);
	if (!v) {
		if (!filtered)
			return TC_ACT_UNSPEC;
		{
			struct fos_nat_key k = {};
			struct fos_nat_map *f;

			__builtin_memcpy(k.addr, pkt.daddr, 16);
			k.port = e.kind == _NAT_PORTS ? e.dport : e.sport;
			k.proto = pkt.proto;
			k.dir = FOS_NAT_IN;
			f = _nat_get(&k);
			_nat_stat(f ? f->rule : 0, FOS_NAT_STAT_FILTERED);
		}
		return TC_ACT_SHOT;
	}
	if (v->ifindex != skb->ifindex)
		return TC_ACT_UNSPEC;
	if (pkt.flags & FOS_PKT_F_FIRST_FRAG)
		_nat_frag_note(&pkt, v->iaddr, skb->ifindex, v->rule, FOS_NAT_IN);
	_nat_stamp(v, &pkt, _nat_now());
	/* an endpoint-independent mapping: the remote of the latest packet in
	 * (fwd asks the connection table about its flow too) */
	if (!(v->flags & (FOS_NAT_F_APDF | FOS_NAT_F_STATIC)) &&
	    (v->rin_port != e.sport || !_nat_addr_eq(v->rin, pkt.saddr))) {
		__builtin_memcpy(v->rin, pkt.saddr, 16);
		v->rin_port = e.sport;
	}
	if (_nat_dnat(skb, &pkt, &e, v, true) < 0) {
		_nat_stat(v->rule, FOS_NAT_STAT_MALFORMED);
		return TC_ACT_SHOT;
	}
	_nat_stat(v->rule, FOS_NAT_STAT_IN);
	return TC_ACT_UNSPEC;
}

/* A hairpinned packet, translated, sent back inside: it loses a hop as a
 * routed one does (the caller checked it has one to lose) and leaves by
 * the route to its new destination. */
static __always_inline int _nat_hairpin_send(struct __sk_buff *skb, struct fos_pkt *p, __u32 rule)
{
	struct bpf_fib_lookup fib = {};
	__u8 ttl = p->ttl - 1;
	int r;

	if (p->family == FOS_AF_INET) {
		__be16 from = bpf_htons((__u16)((ttl + 1) << 8 | p->proto));
		__be16 to = bpf_htons((__u16)(ttl << 8 | p->proto));

		if (bpf_l3_csum_replace(skb, p->l3_off + 10, from, to, 2) < 0 ||
		    bpf_skb_store_bytes(skb, p->l3_off + 8, &ttl, 1, 0) < 0) {
			_nat_stat(rule, FOS_NAT_STAT_MALFORMED);
			return TC_ACT_SHOT;
		}
	} else if (bpf_skb_store_bytes(skb, p->l3_off + 7, &ttl, 1, 0) < 0) {
		_nat_stat(rule, FOS_NAT_STAT_MALFORMED);
		return TC_ACT_SHOT;
	}

	/* routed as the stack routes what comes in by this interface: to
	 * whichever inside interface the new destination is on; no tot_len,
	 * so that the kernel checks the packet itself against the MTU (a GSO
	 * packet by its segments) */
	fib.ifindex = skb->ifindex;
	fib.l4_protocol = p->proto;
	fib.sport = bpf_htons(p->sport);
	fib.dport = bpf_htons(p->dport);
	if (p->family == FOS_AF_INET) {
		fib.family = 2; /* AF_INET */
		__builtin_memcpy(&fib.ipv4_src, p->saddr + 12, 4);
		__builtin_memcpy(&fib.ipv4_dst, p->daddr + 12, 4);
	} else {
		fib.family = 10; /* AF_INET6 */
		__builtin_memcpy(fib.ipv6_src, p->saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, p->daddr, 16);
	}
	r = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	if (r != BPF_FIB_LKUP_RET_SUCCESS && r != BPF_FIB_LKUP_RET_NO_NEIGH) {
		_nat_stat(rule, FOS_NAT_STAT_MALFORMED);
		return TC_ACT_SHOT;
	}
	_nat_stat(rule, FOS_NAT_STAT_HAIRPIN);
	return bpf_redirect_neigh(fib.ifindex, NULL, 0, 0);
}

/* a later fragment of a hairpinned datagram: its first fragment's two
 * translations; not one of those: the stack's */
static __always_inline int _nat_hairpin_follow(struct __sk_buff *skb, struct fos_pkt *p)
{
	struct fos_frag_key k = {};
	struct fos_nat_frag *f;
	__u8 src[16] __attribute__((aligned(8)));
	__u8 dst[16] __attribute__((aligned(8)));
	__u32 rule;

	_nat_frag_key(p, &k);
	f = bpf_map_lookup_elem(&fos_nat_frag, &k);
	if (!f || f->dir != FOS_NAT_HAIRPIN || f->ifindex != skb->ifindex || p->ttl <= 1)
		return TC_ACT_UNSPEC;
	__builtin_memcpy(src, f->addr, 16);
	__builtin_memcpy(dst, f->daddr, 16);
	rule = f->rule;
	if (_nat_set_addr(skb, p, false, dst, false) < 0 ||
	    _nat_set_addr(skb, p, true, src, false) < 0) {
		_nat_stat(rule, FOS_NAT_STAT_MALFORMED);
		return TC_ACT_SHOT;
	}
	return _nat_hairpin_send(skb, p, rule);
}

/* Is the frame's destination an external address? Most packets from the
 * inside are for none, which a look at the untagged IPv4 or IPv6 header
 * tells before a full parse; false only then (anything else, a VLAN tag or
 * a short frame, goes the whole way). Every packet hairpinning turns round,
 * a non-first fragment too, is for an external address as it arrives. */
static __always_inline bool _nat_hairpin_maybe(struct __sk_buff *skb)
{
	__u8 a[16] __attribute__((aligned(8))) = {};
	struct ethhdr *eth = _nat_ptr(skb, 0, sizeof(*eth));

	if (!eth)
		return true;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = _nat_ptr(skb, sizeof(*eth), sizeof(*ip));

		if (!ip)
			return true;
		_fos_addr_set_v4(a, ip->daddr);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = _nat_ptr(skb, sizeof(*eth), sizeof(*ip6));

		if (!ip6)
			return true;
		__builtin_memcpy(a, &ip6->daddr, 16);
	} else {
		return true;
	}
	{
		__u32 zero = 0, bit = fos_nat_extbit(a);
		struct fos_nat_extbits *eb = bpf_map_lookup_elem(&fos_nat_extbits, &zero);

		if (eb && !(eb->w[(bit / 64) % (FOS_NAT_EXTBITS / 64)] & (1ULL << (bit % 64))))
			return false;
	}
	return bpf_map_lookup_elem(&fos_nat_extaddr, a) != NULL;
}

SEC("tc")
int fos_nat_hairpin(struct __sk_buff *skb)
{
	struct fos_nat_map *vin, *vout;
	struct fos_frag_key *fk;
	__u32 zero = 0;
	struct _nat_ends e;
	struct fos_pkt pkt;
	__u8 raddr[16] __attribute__((aligned(8)));
	__u8 xsrc[16] __attribute__((aligned(8)));
	__u32 rule, ext_if;
	__u16 xport;
	bool filtered;
	int r;

	if (!_nat_hairpin_maybe(skb))
		return TC_ACT_UNSPEC;
	r = _nat_parse(skb, &pkt);
	if (r != FOS_PARSE_OK)
		return TC_ACT_UNSPEC;
	if ((pkt.flags & FOS_PKT_F_FRAGMENT) && !(pkt.flags & FOS_PKT_F_FIRST_FRAG))
		return _nat_hairpin_follow(skb, &pkt);
	if (_nat_ends(skb, &pkt, &e) < 0)
		return TC_ACT_UNSPEC;
	if (e.kind != _NAT_PORTS && e.kind != _NAT_ECHO_REP && e.kind != _NAT_NOPORTS)
		return TC_ACT_UNSPEC;
	/* is it for an external address at all (most packets are not), then
	 * for the external end of a mapping that admits inside hosts? */
	if (!bpf_map_lookup_elem(&fos_nat_extaddr, pkt.daddr))
		return TC_ACT_UNSPEC;
	{
		struct fos_nat_key k = {};

		__builtin_memcpy(k.addr, pkt.daddr, 16);
		k.port = e.kind == _NAT_PORTS ? e.dport : e.sport;
		k.proto = pkt.proto;
		k.dir = FOS_NAT_IN;
		vin = _nat_get(&k);
	}
	if (!vin)
		return TC_ACT_UNSPEC;
	/* the natConfig's hairpinning as it is now, not as it was when the
	 * mapping was made */
	{
		__u32 rid = vin->rule;
		const struct fos_nat_rule *hr = bpf_map_lookup_elem(&fos_nat_rules, &rid);

		if (!hr || !(hr->flags & FOS_NAT_R_HAIRPIN))
			return TC_ACT_UNSPEC;
	}
	ext_if = vin->ifindex;

	/* the sender's own mapping, towards the external end it addressed */
	__builtin_memcpy(raddr, pkt.daddr, 16);
	vout = _nat_out_mapping(&pkt, &e, ext_if, skb->ifindex, true, raddr, e.dport, &rule);
	if (!vout)
		return rule ? TC_ACT_SHOT : TC_ACT_UNSPEC;
	__builtin_memcpy(xsrc, vout->eaddr, 16);
	xport = vout->eport;
	vin = _nat_in_mapping(&pkt, &e, xsrc, xport, &filtered);
	if (!vin) {
		if (filtered)
			_nat_stat(rule, FOS_NAT_STAT_FILTERED);
		return filtered ? TC_ACT_SHOT : TC_ACT_UNSPEC;
	}
	/* forwarded, it loses a hop as routed packets do; one with none left
	 * is the router's own, as the stack would take it */
	if (pkt.ttl <= 1)
		return TC_ACT_UNSPEC;
	fk = bpf_map_lookup_elem(&fos_nat_fkey, &zero);
	if (!fk)
		return TC_ACT_UNSPEC;
	if (pkt.flags & FOS_PKT_F_FIRST_FRAG)
		_nat_frag_key(&pkt, fk); /* as it arrived */
	_nat_stamp(vout, &pkt, _nat_now());
	_nat_stamp(vin, &pkt, _nat_now());
	if (_nat_dnat(skb, &pkt, &e, vin, false) < 0 || _nat_snat(skb, &pkt, &e, vout, false) < 0) {
		_nat_stat(rule, FOS_NAT_STAT_MALFORMED);
		return TC_ACT_SHOT;
	}
	if (pkt.flags & FOS_PKT_F_FIRST_FRAG) {
		struct fos_nat_frag f = {
		    .ifindex = skb->ifindex, .rule = (__u16)rule, .dir = FOS_NAT_HAIRPIN};

		__builtin_memcpy(f.addr, pkt.saddr, 16);
		__builtin_memcpy(f.daddr, pkt.daddr, 16);
		bpf_map_update_elem(&fos_nat_frag, fk, &f, BPF_ANY);
	}
	return _nat_hairpin_send(skb, &pkt, rule);
}
