/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the packet tests and the benchmarks share: big-endian writers for
 * crafted frames, the names of the program counters, and the names of
 * verdicts.
 */
#ifndef FOS_PKT_UTIL_H
#define FOS_PKT_UTIL_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <stdbool.h>
#include <stdint.h>

#include "fos/abi.h"

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static const char *const stat_names[] = {
    [FOS_STAT_PACKETS] = "packets",
    [FOS_STAT_BYTES] = "bytes",
    [FOS_STAT_PASSED] = "passed",
    [FOS_STAT_DROPPED] = "dropped",
    [FOS_STAT_REDIRECTED] = "redirected",
    [FOS_STAT_BLACKLIST] = "blacklist",
    [FOS_STAT_WHITELIST] = "whitelist",
    [FOS_STAT_DEFAULT] = "default",
    [FOS_STAT_MALFORMED] = "malformed",
    [FOS_STAT_NON_IP] = "non_ip",
    [FOS_STAT_FRAGMENTS] = "fragments",
    [FOS_STAT_FRAG_NO_FIRST] = "frag_no_first",
    [FOS_STAT_REDIRECT_FAIL] = "redirect_fail",
    [FOS_STAT_CT_NEW] = "ct_new",
    [FOS_STAT_CT_ESTABLISHED] = "ct_established",
    [FOS_STAT_CT_RELATED] = "ct_related",
    [FOS_STAT_CT_INVALID] = "ct_invalid",
    [FOS_STAT_CT_UNTRACKED] = "ct_untracked",
    [FOS_STAT_CT_FULL] = "ct_full",
};
_Static_assert(sizeof(stat_names) / sizeof(stat_names[0]) == _FOS_STAT_MAX,
	       "a name for every fos_stat");

/* an XDP action or a TC verdict, by name */
static inline const char *verdict_name(bool xdp, int v)
{
	if (xdp)
		switch (v) {
		case XDP_ABORTED:
			return "XDP_ABORTED";
		case XDP_DROP:
			return "XDP_DROP";
		case XDP_PASS:
			return "XDP_PASS";
		case XDP_TX:
			return "XDP_TX";
		case XDP_REDIRECT:
			return "XDP_REDIRECT";
		default:
			return "XDP_?";
		}
	switch (v) {
	case TC_ACT_UNSPEC:
		return "TC_ACT_UNSPEC";
	case TC_ACT_OK:
		return "TC_ACT_OK";
	case TC_ACT_SHOT:
		return "TC_ACT_SHOT";
	case TC_ACT_REDIRECT:
		return "TC_ACT_REDIRECT";
	default:
		return "TC_ACT_?";
	}
}

#endif
