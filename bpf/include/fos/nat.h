/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * NAT44/NAT66 (natConfigs, the NATConfig resource): the maps shared by the
 * NAT programs (bpf/nat.bpf.c) and fwd (daemon/nat.c). Addresses are 16
 * bytes, IPv4 as ::ffff:a.b.c.d; ports and ICMP echo identifiers in host
 * order.
 *
 * A mapping is one record of fos_nat (an array), found through two hash
 * indexes in fos_nat_idx: OUT, by the internal end (address, port and, for
 * an address-and-port-dependent mapping, the remote end), and IN, by the
 * external end. An index is an array of groups of FOS_NAT_GROUP buckets (a
 * cache line); a key lives in the FOS_NAT_WINDOW groups from the one its
 * hash picks, its bucket holding the record's id and 8 bits of the hash.
 * A bucket goes from empty to used, used to removed (FOS_NAT_B_TOMB) and
 * removed to used, never back to empty, so a reader that scans a window
 * without a lock never misses a key that is there.
 *
 * Writers of an index take the lock of the group's stripe (fos_nat_lock),
 * OUT before IN, each held only while its key is looked for and claimed:
 * an internal end gets one mapping, an external (address, port, protocol)
 * one mapping, whatever the mode and however many CPUs make mappings at
 * once. Record ids come from a ring of free ids (fos_nat_free, with
 * fos_nat_hdr's head and tail): the datapath takes them (compare and
 * exchange on the head), fwd gives them back (the tail) a grace period
 * after it removed their mapping, so that no program still reads a record
 * when it is used again. fwd removes mappings that outlived their timeout;
 * the datapath never judges age.
 *
 * Static port maps (portMappings) are mappings fwd writes with
 * FOS_NAT_F_STATIC: never expired, endpoint independent.
 */
#ifndef FOS_NAT_H
#define FOS_NAT_H

#include <linux/types.h>

#define FOS_NAT_RULES_MAX    256U	/* natConfigs entries, ids 1..255 */
#define FOS_NAT_PREFIXES_MAX 4096U	/* sourceCIDRs + excludeCIDRs + defaults */
#define FOS_NAT_IF_MAX	     256U	/* external interfaces */
#define FOS_NAT_MAP_MAX	     (8U << 20) /* mappings of fos_nat */
#define FOS_NAT_MAP_MIN	     (1U << 13) /* fwd sizes it from the config */
#define FOS_NAT_MAP_SLACK    1024U
#define FOS_NAT_PROBES	     32U   /* ports tried for one new mapping */
#define FOS_NAT_PORT_LO	     1024U /* the range without portRange */
#define FOS_NAT_PORT_HI	     65535U
#define FOS_NAT_SRC_PREFIX   64U /* bits of the two ifindexes before the address */

enum fos_nat_dir {
	FOS_NAT_OUT = 1,     /* keyed by the internal end */
	FOS_NAT_IN = 2,	     /* keyed by the external end */
	FOS_NAT_HAIRPIN = 3, /* fos_nat_frag only: a datagram turned back inside */
};

/* a key of an index: OUT (addr, port, proto and, dependent, raddr and
 * rport; zero for an independent one) or IN (addr, port, proto) */
struct fos_nat_key {
	__u8 addr[16] __attribute__((aligned(8))); /* OUT: internal; IN: external */
	__u8 raddr[16];				   /* OUT, dependent mapping: the remote */
	__u16 port;
	__u16 rport; /* OUT, dependent mapping: the remote port */
	__u8 proto;
	__u8 dir; /* enum fos_nat_dir */
	__u8 _pad[2];
};
_Static_assert(sizeof(struct fos_nat_key) == 40, "fos_nat_key layout");

enum fos_nat_flags {
	FOS_NAT_F_STATIC = 1U << 0, /* a port map: never expires */
	/* address-and-port-dependent: the OUT key has the remote end, and
	 * only that remote may send in */
	FOS_NAT_F_APDF = 1U << 1,
	FOS_NAT_F_CLOSING = 1U << 2, /* TCP: a FIN or RST was seen */
	FOS_NAT_F_HAIRPIN = 1U << 3, /* made under hairpinning (shown; the rule decides) */
	/* its flow now leaves by another external interface (the route
	 * changed); its packets are dropped until fwd ends it and the next
	 * one makes a mapping of the new way out */
	FOS_NAT_F_MOVED = 1U << 4,
};

enum fos_nat_state {
	FOS_NAT_S_FREE = 0, /* its id is in the free ring */
	FOS_NAT_S_BUSY,	    /* being made */
	FOS_NAT_S_LIVE,
	FOS_NAT_S_DEAD, /* removed from the indexes; its id goes back after a grace */
};

/* fos_nat, an array (mmapable) by id: one mapping */
struct fos_nat_map {
	__u8 iaddr[16] __attribute__((aligned(8))); /* the internal end */
	__u8 eaddr[16];				    /* the external end */
	/* dependent: the remote of the OUT key, the only one allowed in;
	 * independent: the remote of the latest packet out */
	__u8 raddr[16];
	__u8 rin[16];  /* independent: the remote of the latest packet in */
	__u64 last_ns; /* CLOCK_MONOTONIC_COARSE of the last packet */
	__u64 est_ns;  /* ... of the last mid-connection TCP segment */
	__u32 ifindex; /* the external interface */
	__u16 iport, eport;
	__u16 rport, rin_port;
	__u8 rule; /* natConfigs id (fos_nat_rules index) */
	__u8 proto;
	__u8 flags; /* enum fos_nat_flags */
	__u8 state; /* enum fos_nat_state */
};
_Static_assert(sizeof(struct fos_nat_map) == 96, "fos_nat_map layout");

/* fos_nat_idx, an array (mmapable) of groups: the OUT index's, then the
 * IN index's, fos_nat_groups each (two buckets per mapping) */
#define FOS_NAT_GROUP	   16U
#define FOS_NAT_WINDOW	   4U
#define FOS_NAT_B_EMPTY	   0U
#define FOS_NAT_B_TOMB	   0x00ffffffU
#define FOS_NAT_B_ID(b)	   ((b)&0x00ffffffU) /* id + 1 */
#define FOS_NAT_B_TAG(b)   ((b) >> 24)
#define FOS_NAT_B(id, tag) ((__u32)(tag) << 24 | ((id) + 1U))
struct fos_nat_group {
	__u32 b[FOS_NAT_GROUP];
};

/* groups of an index for cap mappings */
static inline __u32 fos_nat_groups_for(__u32 cap)
{
	return (2U * cap + FOS_NAT_GROUP - 1) / FOS_NAT_GROUP;
}

/* fos_nat_lock, an array (mmapable) of stripes, FOS_NAT_LOCKS per index
 * (OUT's first); a group's stripe is its number modulo FOS_NAT_LOCKS */
#define FOS_NAT_LOCKS 1024U
struct fos_nat_locks {
	__u32 l[FOS_NAT_GROUP];
};
#define FOS_NAT_LOCK_ELEMS (2U * FOS_NAT_LOCKS / FOS_NAT_GROUP)

/* fos_nat_hdr, one entry: the free ring's ends (ids taken from head, given
 * back at tail; tail - head ids are free), apart so that the datapath's
 * compare and exchange and fwd's writes do not share a line */
struct fos_nat_hdr {
	__u64 head;
	__u8 _pad1[56];
	__u64 tail;
	__u32 cap;    /* the table's mappings, fos_nat's entries; 0: not set up yet */
	__u32 layout; /* FOS_NAT_LAYOUT of the fwd that set it up */
	__u8 _pad2[48];
};
_Static_assert(sizeof(struct fos_nat_hdr) == 128, "fos_nat_hdr layout");

/* What the indexes are built with (the hash below): a pinned table of
 * another layout is not taken. */
#define FOS_NAT_LAYOUT 2U

/* a word of a key as the machine reads it: the datapath and fwd run on
 * the same one */
static inline __u64 _fos_nat_word64(const __u8 *p)
{
	__u64 w;

	__builtin_memcpy(&w, p, 8);
	return w;
}

/* The hash of a key, the same in the datapath and in fwd: the words of the
 * key multiplied by odd constants side by side (no chain of dependent
 * multiplies on the path of every packet), folded, one multiply to mix. */
static inline __u32 fos_nat_hash(const struct fos_nat_key *k)
{
	__u64 t = (__u64)k->port << 32 | (__u64)k->proto << 8 | k->dir;
	__u64 h = _fos_nat_word64(k->addr) * 0x9e3779b97f4a7c15ULL ^
		  _fos_nat_word64(k->addr + 8) * 0xc2b2ae3d27d4eb4fULL;

	/* an independent OUT key's remote is all zero: it adds nothing */
	if (k->dir != FOS_NAT_IN) {
		t |= (__u64)k->rport << 48;
		h ^= _fos_nat_word64(k->raddr) * 0x165667b19e3779f9ULL ^
		     _fos_nat_word64(k->raddr + 8) * 0xd6e8feb86659fd93ULL;
	}
	h ^= t * 0x94d049bb133111ebULL;
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	return (__u32)(h >> 32);
}

/* the 8 bits of the hash a bucket keeps */
#define FOS_NAT_TAG(h) ((h)&0xffU)

/* the first group of a hash's window in an index of n groups */
static inline __u32 fos_nat_group_of(__u32 hash, __u32 n)
{
	return (__u32)(((__u64)hash * n) >> 32);
}

/* fos_nat_src, an LPM trie: which natConfig a packet leaving ext_ifindex
 * that came in by src_ifindex belongs to, by its source address. An entry
 * of an excludeCIDR has rule 0. */
struct fos_nat_src_key {
	__u32 prefixlen; /* FOS_NAT_SRC_PREFIX + prefix (IPv4: 96 + plen) */
	__be32 ext_ifindex;
	__be32 src_ifindex;
	__u8 addr[16];
};
_Static_assert(sizeof(struct fos_nat_src_key) == 28, "fos_nat_src_key layout");

enum fos_nat_timeout {
	FOS_NATT_TCP_EST = 0, /* connectionTracking.tcpTimeout */
	FOS_NATT_TCP_TRANS,   /* a TCP mapping not (or no longer) established */
	FOS_NATT_UDP,	      /* connectionTracking.udpTimeout; other protocols too */
	FOS_NATT_ICMP,	      /* ICMP echo */
	_FOS_NATT_MAX,
};

enum fos_nat_rule_flags {
	FOS_NAT_R_ACTIVE = 1U << 0,
	FOS_NAT_R_STATIC = 1U << 1,  /* type static: addr4/addr6 are the external addresses */
	FOS_NAT_R_EIM = 1U << 2,     /* endpointIndependent: mapping and filtering */
	FOS_NAT_R_HAIRPIN = 1U << 3, /* hairpinning */
	FOS_NAT_R_V4 = 1U << 4,	     /* ipVersion ipv4 or both */
	FOS_NAT_R_V6 = 1U << 5,	     /* ipVersion ipv6 or both */
	FOS_NAT_R_RANGE = 1U << 6,   /* portRange given: every port from it */
};

/* fos_nat_rules, an array by rule id */
struct fos_nat_rule {
	__u8 addr4[16]; /* type static */
	__u8 addr6[16];
	__u64 timeout_ns[_FOS_NATT_MAX];
	__u32 flags; /* enum fos_nat_rule_flags */
	__u32 ext_ifindex;
	__u32 max_mappings; /* connectionTracking.maxConnections */
	__u16 port_lo, port_hi;
	__u32 src_ifindex; /* interfaces.source */
	__u32 _pad;
};
_Static_assert(sizeof(struct fos_nat_rule) == 88, "fos_nat_rule layout");

/* fos_nat_frag, an LRU hash keyed by fos_frag_key (fos/abi.h) of a
 * fragmented datagram as it arrived: the translation its first fragment
 * (the one with the ports) got, for the fragments after it, which carry no
 * ports. One that comes before its first is translated by address alone
 * on the way out (the natConfig's external address), left to the stack on
 * the way in. */
#define FOS_NAT_FRAG_MAX 16384U

struct fos_nat_frag {
	__u8 addr[16];	/* the new source (OUT, HAIRPIN) or destination (IN) */
	__u8 daddr[16]; /* HAIRPIN: the new destination */
	__u32 ifindex;	/* the external interface (HAIRPIN: the internal one) */
	__u16 rule;
	__u8 dir; /* enum fos_nat_dir */
	__u8 _pad;
};
_Static_assert(sizeof(struct fos_nat_frag) == 40, "fos_nat_frag layout");

/* fos_nat_extaddr, a small hash: every external address a mapping may have
 * (the external interfaces' as masquerade uses them, externalIP's), value
 * unused. The hairpin program, which sees every packet from the inside,
 * asks it before it looks for a mapping in the big table. */
#define FOS_NAT_EXTADDR_MAX (2U * FOS_NAT_IF_MAX + 2U * FOS_NAT_RULES_MAX)

/* fos_nat_extbits (one entry): a bit per hash of an address, set for every
 * address of fos_nat_extaddr, so that the hairpin program tells most
 * packets from the inside are for none with one load; a set bit sends it
 * to fos_nat_extaddr, which decides */
#define FOS_NAT_EXTBITS 65536U
struct fos_nat_extbits {
	__u64 w[FOS_NAT_EXTBITS / 64];
};

static inline __u32 fos_nat_extbit(const __u8 *a)
{
	__u64 h = _fos_nat_word64(a) * 0x9e3779b97f4a7c15ULL ^
		  _fos_nat_word64(a + 8) * 0xc2b2ae3d27d4eb4fULL;

	return (__u32)(h >> 48) & (FOS_NAT_EXTBITS - 1);
}

/* fos_nat_ifaddr, a hash by ifindex: the addresses masquerade uses, which
 * fwd keeps as the interface's own (netlink address events) */
enum fos_nat_if_flags {
	FOS_NAT_IF_V4 = 1U << 0,
	FOS_NAT_IF_V6 = 1U << 1,
	FOS_NAT_IF_STATIC_MAPS = 1U << 2, /* port maps leave by it */
};
struct fos_nat_ifaddr {
	__u8 addr4[16];
	__u8 addr6[16];
	__u32 flags;
	__u32 _pad;
};
_Static_assert(sizeof(struct fos_nat_ifaddr) == 40, "fos_nat_ifaddr layout");

/* fos_nat_count, an array of two counters per rule id, at 2 * id: mappings
 * the datapath made (atomics), and at 2 * id + 1: mappings fwd removed;
 * their difference is checked against the rule's max_mappings */
#define FOS_NAT_COUNT_CREATED(id) (2U * (id))
#define FOS_NAT_COUNT_REMOVED(id) (2U * (id) + 1)

/* fos_nat_names (fwd's only): the natConfig name of each rule id, so that a
 * restarted fwd gives every natConfig its id again */
struct fos_nat_name {
	char name[64];
};

/* fos_tc_attach (fwd's only): the TC hooks the NAT programs are on, struct
 * fos_tc_attach of fos/abi.h, prog_id 0 for a free entry */
#define FOS_NAT_HOOKS_MAX 192U

/* fos_nat_stats, per CPU, by rule id * _FOS_NAT_STAT_MAX + enum */
enum fos_nat_stat {
	FOS_NAT_STAT_OUT = 0,	 /* packets translated on the way out */
	FOS_NAT_STAT_IN,	 /* ... on the way in */
	FOS_NAT_STAT_CREATED,	 /* mappings made */
	FOS_NAT_STAT_KEPT_PORT,	 /* ... that kept the internal port */
	FOS_NAT_STAT_EXHAUSTED,	 /* dropped: no free port in FOS_NAT_PROBES tries */
	FOS_NAT_STAT_FULL,	 /* dropped: maxConnections mappings, or the table full */
	FOS_NAT_STAT_NO_ADDRESS, /* dropped: the external interface has no address */
	FOS_NAT_STAT_FILTERED,	 /* dropped: not from a dependent mapping's remote */
	FOS_NAT_STAT_FRAGMENT,	 /* dropped: a fragment out before its first, no address for it */
	FOS_NAT_STAT_HAIRPIN,	 /* packets turned back inside (hairpinning) */
	FOS_NAT_STAT_ICMP_ERROR, /* ICMP errors translated, the quoted packet too */
	FOS_NAT_STAT_MALFORMED,	 /* dropped: headers the translation cannot rewrite */
	FOS_NAT_STAT_CONTENDED,	 /* dropped: a new mapping's index stayed locked */
	_FOS_NAT_STAT_MAX,
};

#endif /* FOS_NAT_H */
