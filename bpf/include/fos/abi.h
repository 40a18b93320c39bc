/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one header shared by the BPF programs and user space: map keys and
 * values, enums and flags. Every struct has explicit padding and a size check,
 * so both sides agree on the layout byte for byte.
 */
#ifndef FOS_ABI_H
#define FOS_ABI_H

#include <linux/types.h>

#define FOS_ABI_VERSION 5

/* ---- IP sets ----------------------------------------------------------
 * All named sets (and the anonymous sets made from a rule's CIDR lists) live
 * in one global LPM trie. An address is stored as 16 bytes: IPv6 as is,
 * IPv4 as an IPv4-mapped IPv6 address (::ffff:a.b.c.d). The key's prefix
 * length covers the 32-bit set id followed by the address, so a lookup for
 * set S only ever matches entries of set S.
 */
#define FOS_SETS_MAX_ENTRIES (4U * 1024 * 1024)
#define FOS_SET_ID_NONE	     0U
#define FOS_SET_ID_MAX	     0x7fffffffU
#define FOS_SET_KEY_PREFIX   32U /* bits of set_id before the address */

struct fos_set_key {
	__u32 prefixlen; /* FOS_SET_KEY_PREFIX + address prefix (v4: 96 + plen) */
	__be32 set_id;	 /* big endian: the trie matches bits from the top */
	__u8 addr[16];
};
_Static_assert(sizeof(struct fos_set_key) == 24, "fos_set_key layout");

/* IPv4 entries live in a trie of their own (fos_sets4): a quarter of the key
 * to compare at every node, and no IPv6 prefix such as ::/0 can cover them. */
struct fos_set_key4 {
	__u32 prefixlen; /* FOS_SET_KEY_PREFIX + prefix (0-32) */
	__be32 set_id;
	__u8 addr[4];
};
_Static_assert(sizeof(struct fos_set_key4) == 12, "fos_set_key4 layout");

enum fos_set_entry_flags {
	FOS_SET_F_CONFIG = 1U << 0,  /* from the config file or ipSets[].file */
	FOS_SET_F_DYNAMIC = 1U << 1, /* added at run time (fosctl set add) */
	FOS_SET_F_AUTO = 1U << 2,    /* added by the datapath (a DDoS block), with
				      * FOS_SET_F_DYNAMIC */
};

/* An entry with expires_ns is gone at that time: the datapath treats it as
 * absent from then on (and may delete it), fwd deletes it soon after. */
struct fos_set_value {
	__u32 flags; /* enum fos_set_entry_flags */
	__u32 _pad;
	__u64 expires_ns; /* CLOCK_BOOTTIME ns; 0 = never */
};
_Static_assert(sizeof(struct fos_set_value) == 16, "fos_set_value layout");

/* ---- filter rules -------------------------------------------------------
 * Each filter program has its own rule table, double-buffered: two slots of
 * FOS_MAX_RULES rules. User space writes the inactive slot, then flips the
 * active index in the control map; a packet reads the index once and so sees
 * one complete ruleset.
 */
#define FOS_MAX_RULES	   1024U
#define FOS_RULE_MAX_PORTS 16U /* port ranges per rule and direction */
#define FOS_SLOTS	   2U

enum fos_action {
	FOS_ACT_PASS = 0,
	FOS_ACT_DROP = 1,
	FOS_ACT_REDIRECT = 2,
	_FOS_ACT_MAX,
};

/* protocol match: 0 = any; else the IP protocol number (1, 6, 17, 58) */
#define FOS_PROTO_ANY 0

enum fos_rule_flags {
	FOS_RULE_F_SPORT = 1U << 0, /* sport[] is a condition */
	FOS_RULE_F_DPORT = 1U << 1, /* dport[] is a condition */
	FOS_RULE_F_SRC = 1U << 2,   /* src_set is a condition */
	FOS_RULE_F_DST = 1U << 3,   /* dst_set is a condition */
	FOS_RULE_F_STATE = 1U << 4, /* state is a condition (stateful programs) */
};

struct fos_port_range {
	__u16 lo; /* host byte order, inclusive */
	__u16 hi;
};

struct fos_rule {
	__u32 flags;   /* enum fos_rule_flags */
	__u32 src_set; /* set id of the source CIDRs (for show; the filter matches
			* them through the classifier tables below) */
	__u32 dst_set; /* set id of the destination CIDRs */
	__u32 ifindex; /* redirect target */
	__u8 proto;    /* FOS_PROTO_ANY or IP protocol */
	__u8 action;   /* enum fos_action */
	__u8 n_sport;
	__u8 n_dport;
	__u8 state; /* FOS_RULE_F_STATE: bit 1 << enum fos_ct_class per state that matches */
	__u8 _pad[3];
	struct fos_port_range sport[FOS_RULE_MAX_PORTS];
	struct fos_port_range dport[FOS_RULE_MAX_PORTS];
};
_Static_assert(sizeof(struct fos_rule) == 152, "fos_rule layout");

enum fos_slot_flags {
	FOS_SLOT_F_BLACKLIST = 1U << 0,
	FOS_SLOT_F_WHITELIST = 1U << 1,
	FOS_SLOT_F_CLS_SPORT = 1U << 2, /* some rule has a source port condition */
	FOS_SLOT_F_CLS_SRC = 1U << 3,	/* some rule has a source CIDR condition */
	FOS_SLOT_F_CLS_DST = 1U << 4,	/* some rule has a destination CIDR condition */
	FOS_SLOT_F_CLS_STATE = 1U << 5, /* some rule has a state condition */
};

/* ---- the rule classifier ------------------------------------------------
 * The rules of a slot are compiled (lib/classify.c) into one table per packet
 * dimension. Each table gives the index of a bitmap of the rules that the
 * dimension allows, in fos_cls_bitmaps; a packet's candidates are the AND of
 * its dimensions' bitmaps and the first set bit (the lowest rule index) is the
 * matching rule. The dimensions:
 *   L4       the protocol class and destination port: fos_cls_dport for TCP
 *            and UDP packets with ports, else the slot's noport_bm[class] or,
 *            for a non-first fragment whose first fragment was not seen,
 *            frag_bm[class];
 *   sport    fos_cls_sport (with FOS_SLOT_F_CLS_SPORT, for packets with ports);
 *   src, dst fos_cls_addrs, an LPM trie; an address no prefix covers gets the
 *            slot's src_default_bm / dst_default_bm (with FOS_SLOT_F_CLS_SRC /
 *            FOS_SLOT_F_CLS_DST).
 * A dimension no rule uses is skipped. Every table is double-buffered with
 * the slot: index slot * <entries per slot> + ...
 */
#define FOS_CLS_WORDS	     (FOS_MAX_RULES / 64) /* u64 words of a rule bitmap */
#define FOS_CLS_MAX_BITMAPS  8192U		  /* distinct rule bitmaps per slot */
#define FOS_CLS_MAX_PREFIXES 65536U		  /* distinct src + dst rule prefixes per slot */
#define FOS_CLS_PORT_GROUP   4U			  /* ports per fos_cls_ports entry */
#define FOS_CLS_PORT_ENTRIES (65536U / FOS_CLS_PORT_GROUP)

enum fos_cls_class {
	FOS_CLS_TCP = 0, /* the two classes with a fos_cls_dport table */
	FOS_CLS_UDP,
	FOS_CLS_ICMP,
	FOS_CLS_ICMPV6,
	FOS_CLS_OTHER,	 /* any other IP protocol */
	FOS_CLS_UNKNOWN, /* IPv6 non-first fragment whose L4 protocol is not known */
	_FOS_CLS_MAX,
};
#define FOS_CLS_PORT_CLASSES 2U

enum fos_cls_dim {
	FOS_CLS_DIM_SRC = 0,
	FOS_CLS_DIM_DST = 1,
};

/* bitmap indexes of FOS_CLS_PORT_GROUP consecutive ports; key of port p in
 * fos_cls_dport: (slot * FOS_CLS_PORT_CLASSES + class) * FOS_CLS_PORT_ENTRIES +
 * p / FOS_CLS_PORT_GROUP; in fos_cls_sport: slot * FOS_CLS_PORT_ENTRIES + p /
 * FOS_CLS_PORT_GROUP */
struct fos_cls_ports {
	__u16 bm[FOS_CLS_PORT_GROUP];
};
_Static_assert(sizeof(struct fos_cls_ports) == 8, "fos_cls_ports layout");

/* rule i is bit i % 64 of w[i / 64]; fos_cls_bitmaps key: slot *
 * FOS_CLS_MAX_BITMAPS + bitmap index */
struct fos_cls_bitmap {
	__u64 w[FOS_CLS_WORDS];
};
_Static_assert(sizeof(struct fos_cls_bitmap) == 128, "fos_cls_bitmap layout");

/* fos_cls_addrs key: the prefix covers slot, dim and _pad (32 bits) and then
 * the address, 16 bytes as in fos_set_key; the value is a bitmap index (__u32) */
#define FOS_CLS_ADDR_KEY_PREFIX 32U

struct fos_cls_addr_key {
	__u32 prefixlen; /* FOS_CLS_ADDR_KEY_PREFIX + address prefix (v4: 96 + plen) */
	__u8 slot;
	__u8 dim; /* enum fos_cls_dim */
	__u8 v4;  /* 1 for IPv4 prefixes and packets: the families never mix */
	__u8 _pad;
	__u8 addr[16];
};
_Static_assert(sizeof(struct fos_cls_addr_key) == 24, "fos_cls_addr_key layout");

/* the IPv4 prefixes of the classifier, in their own trie (fos_cls_addrs4) */
struct fos_cls_addr_key4 {
	__u32 prefixlen; /* FOS_CLS_ADDR_KEY_PREFIX + prefix (0-32) */
	__u8 slot;
	__u8 dim;
	__u8 _pad[2];
	__u8 addr[4];
};
_Static_assert(sizeof(struct fos_cls_addr_key4) == 12, "fos_cls_addr_key4 layout");

/* One ruleset: the header of a slot. */
struct fos_slot {
	__u32 n_rules;
	__u32 flags;	     /* enum fos_slot_flags */
	__u32 blacklist_set; /* set id */
	__u32 whitelist_set; /* set id */
	__u8 default_action; /* enum fos_action */
	__u8 _pad[3];
	__u32 default_ifindex; /* redirect target of the default action */
	__u64 generation;      /* config generation that wrote this slot */
	__u64 cls_hash;	       /* FNV-1a 64 of the compiled classifier tables */
	__u16 n_words;	       /* bitmap words in use: (n_rules + 63) / 64 */
	__u16 n_bitmaps;       /* bitmaps written to fos_cls_bitmaps */
	__u16 src_default_bm;  /* bitmap of a source address no rule prefix covers */
	__u16 dst_default_bm;
	__u16 noport_bm[_FOS_CLS_MAX]; /* L4 bitmap of a packet without ports */
	__u16 frag_bm[_FOS_CLS_MAX];   /* ... of a non-first fragment, first not seen */
	__u32 zone;		       /* conntrack zone of the program's interface */
	__u16 state_bm[4];	       /* bitmap of the rules a packet of each enum fos_ct_class
					* may match (with FOS_SLOT_F_CLS_STATE) */
	__u32 _pad2;
};
_Static_assert(sizeof(struct fos_slot) == 88, "fos_slot layout");

/* The control map: which slot is live. */
struct fos_ctl {
	__u32 active; /* 0 or 1 */
	__u32 _pad;
};
_Static_assert(sizeof(struct fos_ctl) == 8, "fos_ctl layout");

/* per-rule counters, per CPU, indexed by slot * FOS_MAX_RULES + rule */
struct fos_rule_counter {
	__u64 packets;
	__u64 bytes;
};
_Static_assert(sizeof(struct fos_rule_counter) == 16, "fos_rule_counter layout");

/* per-program counters, per CPU, indexed by enum fos_stat */
enum fos_stat {
	FOS_STAT_PACKETS = 0, /* every packet the program saw */
	FOS_STAT_BYTES,
	FOS_STAT_PASSED,
	FOS_STAT_DROPPED,
	FOS_STAT_REDIRECTED,
	FOS_STAT_BLACKLIST,	/* dropped by the blacklist */
	FOS_STAT_WHITELIST,	/* passed by the whitelist */
	FOS_STAT_DEFAULT,	/* decided by the default action */
	FOS_STAT_MALFORMED,	/* truncated or malformed IP headers, dropped */
	FOS_STAT_NON_IP,	/* not IPv4/IPv6, passed */
	FOS_STAT_FRAGMENTS,	/* IP fragments seen */
	FOS_STAT_FRAG_NO_FIRST, /* non-first fragments whose first fragment was not seen */
	FOS_STAT_REDIRECT_FAIL, /* redirect target missing: dropped */
	/* stateful programs: the conntrack class of each IP packet */
	FOS_STAT_CT_NEW,	 /* NEW: evaluated by the rules */
	FOS_STAT_CT_ESTABLISHED, /* ESTABLISHED: passed without the rules */
	FOS_STAT_CT_RELATED,	 /* RELATED (ICMP errors of a tracked flow): passed */
	FOS_STAT_CT_INVALID,	 /* INVALID: handled as conntrack.invalid says */
	FOS_STAT_CT_UNTRACKED,	 /* IPv6 neighbour discovery: passed, never tracked */
	FOS_STAT_CT_FULL,	 /* NEW flow allowed but the table is full: dropped */
	_FOS_STAT_MAX,
};

/* ---- fragments ----------------------------------------------------------
 * The verdict for a fragmented datagram is decided on its first fragment and
 * remembered here, so later fragments follow it. A non-first fragment seen
 * without its first fragment is judged without ports: rules that need a port
 * to pass do not match it, rules that would drop on ports do.
 */
#define FOS_FRAG_MAX_ENTRIES 65536U

struct fos_frag_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 id; /* IPv4: the 16-bit id; IPv6: the 32-bit identification */
	__u8 proto;
	__u8 _pad[3];
};
_Static_assert(sizeof(struct fos_frag_key) == 40, "fos_frag_key layout");

struct fos_frag_value {
	__u8 action; /* enum fos_action */
	__u8 slot;   /* the slot whose rule or default action decided */
	__u8 _pad[2];
	__u32 rule; /* matching rule index + 1 (in that slot); 0 = default/list */
	__u32 ifindex;
	__u32 generation; /* low bits of the slot's generation: counters of a slot
			   * rewritten since are not the rule's any more */
};
_Static_assert(sizeof(struct fos_frag_value) == 16, "fos_frag_value layout");

/* ---- connection tracking -----------------------------------------------
 * One global table, fos_ct (an LRU hash pinned by fwd, shared by every
 * stateful program), keyed by zone + 5-tuple in a canonical order so both
 * directions of a flow find the same entry: end 0 is the (address, port) pair
 * that is smaller (addresses compared as bytes, memcmp order, then the port
 * number), end 1 the other. Addresses are 16 bytes, IPv4 as ::ffff:a.b.c.d.
 * ICMP/ICMPv6 echo flows use the echo identifier as both ports; protocols
 * without ports use 0.
 *
 * The zone keeps identical tuples of two VRFs apart: it is the routing table
 * of the interface's VRF (0 outside a VRF), in the slot of each program.
 *
 * NAT keeps its mappings in a table of its own (fos/nat.h); the entries
 * here see a translated flow by its inside addresses (NAT's programs run
 * first on ingress and last on egress), and fwd ends a tracked flow's
 * mapping once its entry here is gone. The nat_* fields are unused.
 *
 * Entries are created by the TC programs (the policy program on the
 * configured hook, the tracker on the other direction of the interface);
 * the XDP filter only reads them. fwd removes expired entries.
 */
#define FOS_CT_DEFAULT_MAX 1000000U

/* what a packet is to the table */
enum fos_ct_class {
	FOS_CT_NEW = 0,	    /* opens a flow, or its flow has seen no reply yet */
	FOS_CT_ESTABLISHED, /* a flow that has seen both directions */
	FOS_CT_RELATED,	    /* an ICMP error about a tracked flow */
	FOS_CT_INVALID, /* out of state: an ACK without an entry, a SYN-ACK without a SYN, ... */
	_FOS_CT_CLASS_MAX,
};
_Static_assert(_FOS_CT_CLASS_MAX == 4, "fos_slot.state_bm has one entry per class");

/* the state of an entry */
enum fos_ct_state {
	FOS_CTS_NEW = 0,     /* UDP, ICMP echo, other protocols: no reply seen yet */
	FOS_CTS_SYN_SENT,    /* TCP: SYN seen */
	FOS_CTS_SYN_RECV,    /* TCP: SYN-ACK (or a simultaneous-open SYN) seen */
	FOS_CTS_ESTABLISHED, /* TCP: handshake done; others: a reply was seen */
	FOS_CTS_FIN_WAIT,    /* TCP: the first FIN seen */
	FOS_CTS_CLOSE_WAIT,  /* TCP: that FIN acknowledged by the other end */
	FOS_CTS_TIME_WAIT,   /* TCP: FINs seen from both ends */
	FOS_CTS_CLOSE,	     /* TCP: RST seen */
	_FOS_CTS_MAX,
};

/* which configured timeout an entry has, by protocol and state */
enum fos_ct_timeout {
	FOS_CTT_TCP_SYN = 0, /* SYN_SENT, SYN_RECV: tcpSynTimeout */
	FOS_CTT_TCP_EST,     /* ESTABLISHED: tcpTimeout */
	FOS_CTT_TCP_FIN,     /* FIN_WAIT, CLOSE_WAIT, TIME_WAIT: tcpFinTimeout */
	FOS_CTT_TCP_CLOSE,   /* CLOSE: FOS_CT_CLOSE_TIMEOUT */
	FOS_CTT_UDP,	     /* UDP and protocols without ports: udpTimeout */
	FOS_CTT_ICMP,	     /* ICMP/ICMPv6 echo: icmpTimeout */
	_FOS_CTT_MAX,
};
#define FOS_CT_CLOSE_TIMEOUT 10U /* seconds */

/* The timeout of an entry of IP protocol proto in enum fos_ct_state state:
 * the one rule the datapath and fwd's collector both follow. */
static inline enum fos_ct_timeout fos_ct_timeout_of(__u8 proto, __u8 state)
{
	if (proto == 1 || proto == 58) /* ICMP, ICMPv6 */
		return FOS_CTT_ICMP;
	if (proto != 6) /* not TCP */
		return FOS_CTT_UDP;
	switch (state) {
	case FOS_CTS_SYN_SENT:
	case FOS_CTS_SYN_RECV:
		return FOS_CTT_TCP_SYN;
	case FOS_CTS_FIN_WAIT:
	case FOS_CTS_CLOSE_WAIT:
	case FOS_CTS_TIME_WAIT:
		return FOS_CTT_TCP_FIN;
	case FOS_CTS_CLOSE:
		return FOS_CTT_TCP_CLOSE;
	default:
		return FOS_CTT_TCP_EST;
	}
}

enum fos_ct_flags {
	FOS_CT_F_ORIG1 = 1U << 0,      /* the flow was opened by end 1 (else end 0) */
	FOS_CT_F_SEEN_REPLY = 1U << 1, /* a packet came from the other end */
	FOS_CT_F_FIN0 = 1U << 2,       /* end 0 sent a FIN */
	FOS_CT_F_FIN1 = 1U << 3,       /* end 1 sent a FIN */
	FOS_CT_F_SIMOPEN = 1U << 4,    /* TCP simultaneous open */
	FOS_CT_F_COUNTED = 1U << 5,    /* the entry holds 1 in fos_ct_src for its opener */
};

struct fos_ct_key {
	__u8 addr[2][16] __attribute__((aligned(8))); /* end 0, end 1 */
	__u16 port[2];				      /* host order */
	__u32 zone;
	__u8 proto;
	__u8 _pad[7];
};
_Static_assert(sizeof(struct fos_ct_key) == 48, "fos_ct_key layout");

enum fos_ct_dir {
	FOS_CT_DIR_ORIG = 0,  /* from the end that opened the flow */
	FOS_CT_DIR_REPLY = 1, /* from the other end */
};

struct fos_ct_value {
	__u64 first_ns;	  /* CLOCK_BOOTTIME (bpf_ktime_get_boot_ns) */
	__u64 last_ns;	  /* last packet; the entry expires timeout after it */
	__u64 packets[2]; /* by enum fos_ct_dir */
	__u64 bytes[2];
	__u8 state; /* enum fos_ct_state */
	__u8 _pad[3];
	__u32 flags;   /* enum fos_ct_flags; 32 bits so CPUs can change them atomically */
	__u32 ifindex; /* interface whose program created the entry */
	/* unused (zero) */
	__u16 nat_port;
	__u8 nat_flags;
	__u8 _pad2;
	__u8 nat_addr[16];
};
_Static_assert(sizeof(struct fos_ct_value) == 80, "fos_ct_value layout");

enum fos_ct_invalid {
	FOS_CT_INVALID_DROP = 0, /* dropped before the rules */
	FOS_CT_INVALID_PASS,	 /* passed without the rules */
	FOS_CT_INVALID_RULES,	 /* evaluated by the rules (state "invalid" matches) */
	_FOS_CT_INVALID_MAX,
};

/* fos_ct_cfg, one entry, written by fwd */
struct fos_ct_cfg {
	__u64 timeout_ns[_FOS_CTT_MAX]; /* by enum fos_ct_timeout */
	__u64 max_entries;		/* conntrack.maxConnections: no insert beyond it */
	__u8 invalid;			/* enum fos_ct_invalid */
	__u8 _pad[7];
};
_Static_assert(sizeof(struct fos_ct_cfg) == 64, "fos_ct_cfg layout");

/* fos_ct_count, an array of two __u64: entries the datapath inserted (it adds
 * with atomics) and entries fwd removed (written by fwd only); their
 * difference is the number of entries, checked against max_entries. */
enum fos_ct_count_idx {
	FOS_CT_COUNT_INSERTED = 0,
	FOS_CT_COUNT_REMOVED = 1,
	_FOS_CT_COUNT_MAX,
};

/* fos_ct_stats, per CPU, global */
enum fos_ct_stat {
	FOS_CT_STAT_CREATED = 0,   /* entries inserted */
	FOS_CT_STAT_INSERT_FAIL,   /* a flow not tracked: table at max_entries (or map full) */
	FOS_CT_STAT_REOPENED,	   /* an expired or closed entry reused by a new flow */
	FOS_CT_STAT_ICMP_NO_INNER, /* ICMP error whose embedded header is truncated */
	_FOS_CT_STAT_MAX,
};

/*
 * fos_ct_src (global hash, key struct fos_ddos_addr: the address of the end
 * that opened a flow, IPv6 with the bits beyond FOS_CT_SRC_V6_PLEN cleared;
 * value __u64): the open flows of each source, for
 * rateLimiting.connectionsPerIP. A flow is open from the insert of its entry
 * until, for TCP, its entry enters TIME_WAIT (FINs from both ends) or CLOSE
 * (an RST), and for every protocol until fwd removes the entry (expired, or
 * `clear conntrack`). UDP and other flows are open until they expire.
 *
 * One rule keeps the count exact: an entry with FOS_CT_F_COUNTED holds 1 in
 * its opener's count, an entry without it holds nothing.
 *  - the datapath adds 1 and sets the flag when it inserts an entry;
 *  - it clears the flag with an atomic and, and subtracts 1 only if the flag
 *    was set, when a TCP entry enters TIME_WAIT or CLOSE: of CPUs racing on
 *    one entry exactly one subtracts;
 *  - a reopen (an expired or closed entry reused by a new flow, whose opener
 *    may be the other end) moves the count: 1 off the old opener if the
 *    entry was COUNTED, 1 onto the new opener, the flag set, in one
 *    compare-and-exchange of the flags;
 *  - fwd subtracts 1 for an entry it removes only if the removed value was
 *    COUNTED. Counts never go below 0; fwd deletes a count at 0.
 * While fwd grows the table, old and new programs run on two copies of
 * it; daemon/conntrack.c (_fos_ct_merge) resolves each flow held by both so
 * the one kept carries the one count (see there for the remaining window).
 */
#define FOS_CT_SRC_V6_PLEN 64U
#define FOS_CT_SRC_MAX	   1048576U

/* the map holds max_entries plus this much room, so per-CPU LRU caches never
 * force an eviction below max_entries */
#define FOS_CT_MAP_SLACK(max) ((max) / 16 + 16384)

/* ---- TC attachment ---------------------------------------------------------
 * Where fwd attached a TC program (fos_tc_attach, per program, pinned with its
 * maps), so a restarted fwd, and fwd --flush, find the filters again.
 */
enum fos_tc_attach_idx {
	FOS_TC_ATTACH_POLICY = 0, /* the configured hook */
	FOS_TC_ATTACH_TRACK = 1,  /* the tracker on the other direction */
	_FOS_TC_ATTACH_MAX,
};

enum fos_tc_attach_flags {
	FOS_TC_ATTACH_F_STATEFUL = 1U << 0, /* loaded with conntrack */
};

struct fos_tc_attach {
	__u32 ifindex; /* 0: not attached */
	__u32 handle;
	__u32 prog_id;
	__u16 priority;
	__u8 ingress; /* 1 ingress, 0 egress */
	__u8 flags;   /* enum fos_tc_attach_flags (entry FOS_TC_ATTACH_POLICY) */
};
_Static_assert(sizeof(struct fos_tc_attach) == 16, "fos_tc_attach layout");

/* ---- DDoS mitigation (XDP) -------------------------------------------------
 * An XDP program with any of rateLimiting, synFloodProtection,
 * icmpFloodProtection or udpFloodProtection is loaded with rodata fos_ddos
 * set; then, after the whitelist and blacklist and before conntrack and the
 * rules, each packet goes through (bpf/ddos.bpf.h):
 *   1. synFloodProtection, TCP SYN without ACK to a destination whose SYN
 *      rate is over the threshold (or always): a source that has not proved
 *      itself gets a SYN-ACK (XDP_TX) whose acknowledgment number is a SYN
 *      cookie of the kernel (bpf_tcp_raw_gen_syncookie_*, computed over the
 *      4-tuple with sequence number 0) and so not acceptable to it: a real
 *      client answers with an RST carrying the cookie as its sequence number,
 *      which proves the source (fos_ddos_auth, authTimeout) and is dropped;
 *      the client's SYN retransmission then passes. Spoofed sources never
 *      answer, so their SYNs reach neither conntrack nor the service.
 *   2. rateLimiting.packetsPerSecond per source (IPv4 /32, IPv6 /v6_plen);
 *   3. icmpFloodProtection, udpFloodProtection: per source, then in total;
 *   4. rateLimiting.connectionsPerSecond per source, for TCP SYNs and (in a
 *      stateful program) UDP packets of flows the table does not know;
 *      rateLimiting.connectionsPerIP against fos_ct_src (stateful programs).
 * Limits are GCRA buckets (fos_ddos_rate): a packet at time t conforms if
 * tat <= t + tolerance, and then tat = max(tat, t) + interval; a packet that
 * does not conform is dropped and counted under its reason. A source whose
 * packet is dropped by a protection with block_ns is put into the program's
 * blacklist set for block_ns, as a dynamic entry with expires_ns, and fwd is
 * told through fos_ddos_events.
 */
enum fos_ddos_reason {
	FOS_DDOS_RATE = 0,   /* rateLimiting.packetsPerSecond */
	FOS_DDOS_CONN_RATE,  /* rateLimiting.connectionsPerSecond */
	FOS_DDOS_CONN_LIMIT, /* rateLimiting.connectionsPerIP */
	FOS_DDOS_SYN_FLOOD,  /* synFloodProtection: SYN answered with a cookie, not passed */
	FOS_DDOS_ICMP_FLOOD, /* icmpFloodProtection */
	FOS_DDOS_UDP_FLOOD,  /* udpFloodProtection */
	FOS_DDOS_BLACKLIST,  /* dropped by the blacklist (in fos_ddos_src only for
			      * sources already tracked there) */
	_FOS_DDOS_REASON_MAX,
};

/* the protections, as fos_ddos_cfg.flags and for "armed" */
enum fos_ddos_prot {
	FOS_DDOS_P_RATE = 0, /* rateLimiting */
	FOS_DDOS_P_SYN,	     /* synFloodProtection */
	FOS_DDOS_P_ICMP,     /* icmpFloodProtection */
	FOS_DDOS_P_UDP,	     /* udpFloodProtection */
	_FOS_DDOS_P_MAX,
};

enum fos_ddos_flags {
	FOS_DDOS_F_RATE = 1U << FOS_DDOS_P_RATE,
	FOS_DDOS_F_SYN = 1U << FOS_DDOS_P_SYN,
	FOS_DDOS_F_ICMP = 1U << FOS_DDOS_P_ICMP,
	FOS_DDOS_F_UDP = 1U << FOS_DDOS_P_UDP,
	FOS_DDOS_F_SYN_ALWAYS = 1U << 8, /* cookies for every SYN, no threshold */
};

/* A GCRA bucket's parameters: interval_ns = 1e9 / rate (packets per second),
 * tolerance_ns = (burst - 1) * interval_ns. interval_ns 0: no limit. */
struct fos_ddos_rate {
	__u64 interval_ns;
	__u64 tolerance_ns;
};
_Static_assert(sizeof(struct fos_ddos_rate) == 16, "fos_ddos_rate layout");

/* fos_ddos_cfg, per program, one entry per rule slot (FOS_SLOTS), written
 * with the slot and live with it when fos_ctl flips */
struct fos_ddos_cfg {
	__u32 flags;  /* enum fos_ddos_flags */
	__u8 v6_plen; /* ipv6PrefixLength: IPv6 sources are aggregated by this prefix */
	__u8 _pad[3];
	struct fos_ddos_rate pkt;      /* rateLimiting.packetsPerSecond, burst */
	struct fos_ddos_rate conn;     /* rateLimiting.connectionsPerSecond, connectionsBurst */
	struct fos_ddos_rate syn_dst;  /* synFloodProtection.threshold, per destination */
	struct fos_ddos_rate icmp_src; /* icmpFloodProtection.perSource, perSourceBurst */
	struct fos_ddos_rate icmp_all; /* icmpFloodProtection.total, totalBurst */
	struct fos_ddos_rate udp_src;  /* udpFloodProtection.perSource, ... */
	struct fos_ddos_rate udp_all;  /* udpFloodProtection.total, ... */
	__u64 conn_limit;	       /* rateLimiting.connectionsPerIP; 0 = none */
	__u64 syn_hold_ns;	       /* cookies stay on for a destination this long after
					* its SYN rate was last over the threshold */
	__u64 auth_ns;		       /* synFloodProtection.authTimeout */
	__u64 block_ns[_FOS_DDOS_REASON_MAX]; /* blockDuration of the protection that
					       * drops for the reason; 0 = no block */
	__u32 block_set;		      /* set id of the blacklist to block into */
	__u32 _pad2;
};
_Static_assert(sizeof(struct fos_ddos_cfg) == 208, "fos_ddos_cfg layout");

/* fos_ddos_src key: a source address as 16 bytes (IPv4 as ::ffff:a.b.c.d),
 * IPv6 with the bits beyond v6_plen cleared */
struct fos_ddos_addr {
	__u8 addr[16];
};
_Static_assert(sizeof(struct fos_ddos_addr) == 16, "fos_ddos_addr layout");

/* fos_ddos_src value (LRU hash, per program): a source's buckets and drops */
struct fos_ddos_src {
	__u64 tat_pkt; /* GCRA theoretical arrival times, CLOCK_BOOTTIME ns */
	__u64 tat_conn;
	__u64 tat_icmp;
	__u64 tat_udp;
	__u64 drops[_FOS_DDOS_REASON_MAX]; /* atomic adds */
	__u64 last_drop_ns;
	__u64 blocked_until_ns; /* put into the block set until then */
};
_Static_assert(sizeof(struct fos_ddos_src) == 104, "fos_ddos_src layout");

/* fos_ddos_dst value (LRU hash, per program, key struct fos_ddos_addr): the
 * SYN rate of one destination, for synFloodProtection with a threshold */
struct fos_ddos_dst {
	__u64 tat;	     /* GCRA at syn_dst */
	__u64 engaged_until; /* cookies answer SYNs to it until then */
	__u64 syns;	     /* SYNs seen */
	__u64 cookies;	     /* SYN-ACK cookies sent */
};
_Static_assert(sizeof(struct fos_ddos_dst) == 32, "fos_ddos_dst layout");

/* fos_ddos_auth value (LRU hash, per program, key struct fos_ddos_addr of the
 * full source address): a source that answered a cookie */
struct fos_ddos_auth {
	__u64 expires_ns;
};
_Static_assert(sizeof(struct fos_ddos_auth) == 8, "fos_ddos_auth layout");

/* fos_ddos_state, per program, one entry per enum fos_ddos_prot: when the
 * protection last dropped or answered a packet (CLOCK_BOOTTIME ns), so fwd can
 * say whether it is engaged */
struct fos_ddos_state {
	__u64 last_active_ns;
};
_Static_assert(sizeof(struct fos_ddos_state) == 8, "fos_ddos_state layout");

/* per-program counters, per CPU (fos_ddos_stats), by enum fos_ddos_stat */
enum fos_ddos_stat {
	FOS_DDOS_STAT_DROP_RATE = 0, /* FOS_DDOS_STAT_DROP_RATE + enum fos_ddos_reason */
	FOS_DDOS_STAT_DROP_CONN_RATE,
	FOS_DDOS_STAT_DROP_CONN_LIMIT,
	FOS_DDOS_STAT_DROP_SYN_FLOOD,
	FOS_DDOS_STAT_DROP_ICMP_FLOOD,
	FOS_DDOS_STAT_DROP_UDP_FLOOD,
	FOS_DDOS_STAT_DROP_BLACKLIST,
	FOS_DDOS_STAT_COOKIES_SENT, /* SYN-ACKs with a cookie sent (XDP_TX) */
	FOS_DDOS_STAT_COOKIES_OK,   /* RSTs with a valid cookie: source proved */
	FOS_DDOS_STAT_COOKIES_BAD,  /* RSTs to an engaged destination with a wrong cookie */
	FOS_DDOS_STAT_BLOCKED,	    /* sources put into the block set */
	FOS_DDOS_STAT_EVENTS_LOST,  /* events fos_ddos_events had no room for */
	FOS_DDOS_STAT_BLOCK_FAILED, /* blocks the set's trie had no room for (tried
				     * again a second later) */
	_FOS_DDOS_STAT_MAX,
};
_Static_assert(FOS_DDOS_STAT_DROP_BLACKLIST == FOS_DDOS_STAT_DROP_RATE + FOS_DDOS_BLACKLIST,
	       "drop counters follow enum fos_ddos_reason");

/* fos_ddos_events (ring buffer, per program): a source the datapath blocked */
struct fos_ddos_event {
	__u8 addr[16];	/* the blocked prefix, IPv4 as ::ffff:a.b.c.d */
	__u8 prefixlen; /* of the address: 32 for IPv4, v6_plen for IPv6 */
	__u8 reason;	/* enum fos_ddos_reason */
	__u8 _pad[2];
	__u32 set_id;	  /* the set it went into */
	__u64 expires_ns; /* CLOCK_BOOTTIME */
};
_Static_assert(sizeof(struct fos_ddos_event) == 32, "fos_ddos_event layout");

#define FOS_DDOS_SRC_MAX   262144U	 /* sources tracked per program (LRU) */
#define FOS_DDOS_DST_MAX   65536U	 /* destinations tracked for SYN rates (LRU) */
#define FOS_DDOS_AUTH_MAX  262144U	 /* proved sources (LRU) */
#define FOS_DDOS_EVENTS_SZ (256U * 1024) /* bytes of fos_ddos_events */

/* fos_ddos_state.last_active_ns is written at most once per this long */
#define FOS_DDOS_ACTIVE_RES_NS 1000000ULL

/*
 * fos_ddos_hint (array of __u64, per program): which sources may be in
 * fos_ddos_auth, so a SYN from a source that never proved itself (every SYN
 * of a spoofed flood) is answered without a lookup in that large table.
 * Time is cut into generations of auth_ns (g = now / auth_ns); generation g
 * has the words [(g % FOS_DDOS_HINT_GENS) * FOS_DDOS_HINT_WORDS, + WORDS).
 * A word is (tag << 32) | bits: its 32 bits count only while tag == (__u32)g.
 * A source proved at t (it passes until t + auth_ns) sets its bit in
 * generations g(t) and g(t) + 1, which cover every SYN it may still send; a
 * SYN looks fos_ddos_auth up only when its bit is set in the generation of
 * now. A bit shared with another source costs a lookup, never a verdict.
 * Bits are placed by fos_ddos_hint_pos() from the address's 16 bytes.
 */
#define FOS_DDOS_HINT_WORDS_LOG 14
#define FOS_DDOS_HINT_WORDS	(1U << FOS_DDOS_HINT_WORDS_LOG)
#define FOS_DDOS_HINT_GENS	4U

/* The key in fos_ddos_hint of word (0 .. FOS_DDOS_HINT_WORDS - 1) of
 * generation gen. */
static inline __u32 fos_ddos_hint_key(__u64 gen, __u32 word)
{
	return (__u32)(gen % FOS_DDOS_HINT_GENS) * FOS_DDOS_HINT_WORDS + word;
}

/* The word (0 .. FOS_DDOS_HINT_WORDS - 1) and bit (0-31) of a source given
 * as 16 bytes (IPv4 as ::ffff:a.b.c.d) in its generation's words: the top
 * bits of a multiplicative hash of the address's two halves. */
static inline void fos_ddos_hint_pos(const __u8 addr[16], __u32 *word, __u32 *bit)
{
	__u64 a, b, h;

	__builtin_memcpy(&a, addr, 8);
	__builtin_memcpy(&b, addr + 8, 8);
	h = (a * 0xff51afd7ed558ccdULL ^ b) * 0x9e3779b97f4a7c15ULL;
	*word = (__u32)(h >> (64 - FOS_DDOS_HINT_WORDS_LOG));
	*bit = (__u32)(h >> (64 - FOS_DDOS_HINT_WORDS_LOG - 5)) & 31;
}

/* ---- set metadata --------------------------------------------------------
 * Global map beside fos_sets: set id -> the set's name, so a restarted fwd
 * knows which entries belong to which configured set.
 */
#define FOS_SET_META_MAX 65536U

enum fos_set_meta_flags {
	FOS_SET_META_F_NAMED = 1U << 0, /* an ipSets[] entry */
	FOS_SET_META_F_ANON = 1U << 1,	/* made from a rule's CIDR list */
};

struct fos_set_meta {
	char name[128]; /* ipSets[].name, or "<program>/rules[N].src|dst" */
	__u32 flags;	/* enum fos_set_meta_flags */
	__u32 _pad;
	__u64 generation; /* config generation that wrote the set */
};
_Static_assert(sizeof(struct fos_set_meta) == 144, "fos_set_meta layout");

/* ---- daemon state ---------------------------------------------------------
 * Global one-entry array: what a restarted fwd continues from.
 */
struct fos_state {
	__u64 generation; /* last config generation applied */
	__u32 abi;	  /* FOS_ABI_VERSION of the fwd that made the pinned maps */
	__u32 _pad;
	__u64 _reserved[2];
};
_Static_assert(sizeof(struct fos_state) == 32, "fos_state layout");

#endif /* FOS_ABI_H */
