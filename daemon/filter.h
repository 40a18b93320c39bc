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
#include "config.h"
#include "fos/abi.h"

struct fos_xdp_filter;

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

/* Does slot of skel hold exactly rs (the generation aside)? */
bool fos_filter_slot_holds(struct fos_xdp_filter *skel, uint32_t slot,
			   const struct fos_filter_rs *rs);
/* Write rs into slot, which packets must not be using: rules, zeroed
 * counters, classifier tables, then the slot header. */
int fos_filter_write_slot(struct fos_xdp_filter *skel, uint32_t slot,
			  const struct fos_filter_rs *rs);
/* Make slot the live one. */
int fos_filter_flip(struct fos_xdp_filter *skel, uint32_t slot);

#endif
