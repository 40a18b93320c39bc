/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The rule classifier compiler: turns a slot's ordered rules (struct fos_rule,
 * as the filter's rule table holds them, plus each rule's CIDR lists) into the
 * per-dimension tables of fos/abi.h that the filter programs (fos_xdp_filter,
 * fos_tc_fw) AND together to find the first matching rule without walking
 * the rules.
 *
 * The tables keep the rule walk's semantics exactly: a rule matches a packet
 * when its protocol, port, CIDR and state conditions all hold; a port
 * condition never holds for a packet without ports, except for a non-first
 * fragment of TCP, UDP or an unknown L4 protocol whose first fragment was not
 * seen, for which it holds when the rule drops (and so does the protocol
 * condition when the L4 protocol is unknown). A state condition
 * (FOS_RULE_F_STATE) holds when the bit of the packet's conntrack class is
 * set in the rule's state; an empty state list holds for no packet. The
 * lowest matching index wins.
 *
 * Pure C, no libbpf: the daemon and the tests write the tables to the maps.
 */
#ifndef FOS_CLASSIFY_H
#define FOS_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fos/abi.h"
#include "parse.h"

/* The CIDR lists of one rule: its FOS_RULE_F_SRC / FOS_RULE_F_DST conditions.
 * A condition with an empty list holds for no address. */
struct fos_cls_cidrs {
	const struct fos_cidr *src;
	size_t n_src;
	const struct fos_cidr *dst;
	size_t n_dst;
};

/* one fos_cls_addrs entry; key.slot is 0 until written to a slot */
struct fos_cls_prefix {
	struct fos_cls_addr_key key;
	uint32_t bm;
};

struct fos_classifier {
	uint32_t n_rules;
	uint32_t flags; /* FOS_SLOT_F_CLS_* */
	uint16_t n_words;
	uint16_t n_bitmaps;
	uint16_t src_default_bm;
	uint16_t dst_default_bm;
	uint16_t noport_bm[_FOS_CLS_MAX];
	uint16_t frag_bm[_FOS_CLS_MAX];
	uint16_t state_bm[_FOS_CT_CLASS_MAX]; /* with FOS_SLOT_F_CLS_STATE */
	struct fos_cls_ports dport[FOS_CLS_PORT_CLASSES][FOS_CLS_PORT_ENTRIES];
	struct fos_cls_ports sport[FOS_CLS_PORT_ENTRIES];
	struct fos_cls_bitmap *bitmaps; /* n_bitmaps */
	struct fos_cls_prefix *prefixes;
	size_t n_prefixes;
	uint64_t hash; /* FNV-1a 64 over everything above */
};

/*
 * Compile n_rules rules; cidrs (NULL if no rule has CIDR conditions) has one
 * entry per rule. Fails with -E2BIG when there are more than FOS_MAX_RULES
 * rules, more than FOS_CLS_MAX_BITMAPS distinct rule combinations or more than
 * FOS_CLS_MAX_PREFIXES distinct prefixes, and -EINVAL for a protocol other
 * than any, TCP, UDP, ICMP and ICMPv6; err (may be NULL) then says why.
 */
int fos_classify_compile(const struct fos_rule *rules, size_t n_rules,
			 const struct fos_cls_cidrs *cidrs, char *err, size_t errlen,
			 struct fos_classifier **ret);
void fos_classify_free(struct fos_classifier **c);

/* Copy the classifier's header fields (flags, bitmap indexes, hash) into a
 * slot; the slot's other fields are left as they are. */
void fos_classify_slot(const struct fos_classifier *c, struct fos_slot *s);

/* A packet as the classifier sees it. */
struct fos_cls_pkt {
	uint8_t proto;	    /* L4 protocol */
	bool ports;	    /* sport/dport are valid (TCP, UDP) */
	bool frag_no_first; /* non-first fragment whose first fragment was not seen */
	bool l4_unknown;    /* ... whose L4 protocol is not known */
	uint8_t ct_class;   /* enum fos_ct_class (FOS_CT_NEW in a stateless program) */
	uint16_t sport, dport;
	uint8_t saddr[16]; /* IPv4 as ::ffff:a.b.c.d */
	uint8_t daddr[16];
};

/* The packet's class, as the filter computes it. */
enum fos_cls_class fos_classify_class(uint8_t proto, bool l4_unknown);

/* The rule the tables select for p, as the filter looks it up: its index, or
 * -1 for none. */
int fos_classify_lookup(const struct fos_classifier *c, const struct fos_cls_pkt *p);

#endif
