/* SPDX-License-Identifier: GPL-2.0-only */
/* Writing a compiled classifier (lib/classify.h) into a filter's maps. */
#ifndef FOS_CLS_MAPS_H
#define FOS_CLS_MAPS_H

#include <stdint.h>

#include "classify.h"

/* the classifier maps of one fos_xdp_filter */
struct fos_cls_fds {
	int dport;   /* fos_cls_dport */
	int sport;   /* fos_cls_sport */
	int bitmaps; /* fos_cls_bitmaps */
	int addrs;   /* fos_cls_addrs: IPv6 prefixes */
	int addrs4;  /* fos_cls_addrs4: IPv4 prefixes */
};

/*
 * Write c's tables into slot (which packets must not be using): the port
 * tables, the bitmaps and the address prefixes, after removing the prefixes
 * an earlier ruleset left in that slot. The slot header (fos_classify_slot)
 * is the caller's to write afterwards.
 */
int fos_cls_maps_write(const struct fos_cls_fds *fds, uint32_t slot,
		       const struct fos_classifier *c);

#endif
