/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The XDP filter's config section turned into map contents: one ruleset
 * (slot header, rule array, compiled classifier) built from a program's
 * config, written into the inactive slot of a loaded filter and made live
 * by flipping the control map. fwd, the packet tests and the benchmarks all
 * fill the filter through here.
 */
#ifndef FOS_FILTER_H
#define FOS_FILTER_H

#include <stdbool.h>
#include <stdint.h>

#include "classify.h"
#include "cls_maps.h"
#include "config.h"
#include "fos/abi.h"

/* The rule maps of one filter program (fos_xdp_filter or fos_tc): the same
 * names in both objects, so FOS_FILTER_MAPS(skel) fills it from either. */
struct fos_filter_maps {
	int ctl;	/* fos_ctl */
	int slots;	/* fos_slots */
	int rules;	/* fos_rules */
	int rule_stats; /* fos_rule_stats */
	int default_st; /* fos_default_st */
	struct fos_cls_fds cls;
};

#define FOS_FILTER_MAPS(skel)                                                                      \
	((struct fos_filter_maps){                                                                 \
	    .ctl = bpf_map__fd((skel)->maps.fos_ctl),                                              \
	    .slots = bpf_map__fd((skel)->maps.fos_slots),                                          \
	    .rules = bpf_map__fd((skel)->maps.fos_rules),                                          \
	    .rule_stats = bpf_map__fd((skel)->maps.fos_rule_stats),                                \
	    .default_st = bpf_map__fd((skel)->maps.fos_default_st),                                \
	    .cls =                                                                                 \
		{                                                                                  \
		    .dport = bpf_map__fd((skel)->maps.fos_cls_dport),                              \
		    .sport = bpf_map__fd((skel)->maps.fos_cls_sport),                              \
		    .bitmaps = bpf_map__fd((skel)->maps.fos_cls_bitmaps),                          \
		    .addrs = bpf_map__fd((skel)->maps.fos_cls_addrs),                              \
		    .addrs4 = bpf_map__fd((skel)->maps.fos_cls_addrs4),                            \
		},                                                                                 \
	})

struct fos_filter_rs {
	struct fos_slot slot;
	struct fos_rule *rules; /* slot.n_rules of them */
	struct fos_classifier *cls;
};

/* The set ids a ruleset names: the lists, and (for show) each rule's CIDR
 * lists; the id arrays have one entry per rule and may be NULL. */
struct fos_filter_ids {
	uint32_t blacklist;
	uint32_t whitelist;
	const uint32_t *rule_src;
	const uint32_t *rule_dst;
};

/* Build c's ruleset. Interfaces are resolved with if_nametoindex; every
 * problem is added to errs with the file:line of the program or rule. */
int fos_filter_build(const struct fos_program *c, const struct fos_filter_ids *ids,
		     struct fos_filter_rs *ret, struct fos_errors *errs);
void fos_filter_rs_free(struct fos_filter_rs *rs);

/* Does slot of the filter hold exactly rs (the generation aside)? */
bool fos_filter_slot_holds(const struct fos_filter_maps *fm, uint32_t slot,
			   const struct fos_filter_rs *rs);
/* Write rs into slot, which packets must not be using: rules, zeroed
 * counters, classifier tables, then the slot header. */
int fos_filter_write_slot(const struct fos_filter_maps *fm, uint32_t slot,
			  const struct fos_filter_rs *rs);
/* Make slot the live one. */
int fos_filter_flip(const struct fos_filter_maps *fm, uint32_t slot);

#endif
