/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The benchmark ruleset, written three ways from one description so that
 * every benchmark measures the same thing:
 *
 *   blacklist.txt  the set file: BENCH_BL_V4_24 IPv4 /24s in 10.0.0.0/9,
 *                  BENCH_BL_V4_32 IPv4 /32s in 172.16.0.0/12 and
 *                  BENCH_BL_V6_48 IPv6 /48s in 2001:db8::/32, none adjacent
 *   fwd.conf       program "bench" (XDP) on the interface given: the set as
 *                  its blacklist, BENCH_N_RULES rules, default drop
 *   empty.conf     program "bench" with no lists and no rules, default drop
 *   filter.nft     the same as fwd.conf for nftables: table netdev fosbench,
 *                  the set split into an ipv4_addr and an ipv6_addr set with
 *                  flags interval, one nft rule per fos rule, then a counted
 *                  drop on the ingress hook of the interface
 *
 * Rule i (0-based) of the BENCH_N_RULES, by i % 4:
 *   0  tcp dstPort 1000+i                                      drop
 *   1  udp dstPorts (2000+i, "3000+10i-3009+10i")              drop
 *   2  tcp srcCIDR 10.200.i.0/24 dstPort 4000+i                pass
 *   3  udp srcCIDR 10.201.i.0/24 dstCIDR 198.19.0.0/16
 *      dstPort 5000+i                                          pass
 * No rule matches UDP to port 9 (what bench-gen sends), so such packets
 * from outside the blacklist match none of the rules and meet the default
 * action.
 * The last rule (i = 99) matches UDP from 10.201.99.0/24 to 198.19.0.0/16
 * port 5099.
 */
#ifndef FOS_BENCH_RULESET_H
#define FOS_BENCH_RULESET_H

#define BENCH_BL_V4_24 8000
#define BENCH_BL_V4_32 1500
#define BENCH_BL_V6_48 500
#define BENCH_BL_TOTAL (BENCH_BL_V4_24 + BENCH_BL_V4_32 + BENCH_BL_V6_48)
#define BENCH_N_RULES  100

#define BENCH_PROG_NAME "bench"
#define BENCH_SET_NAME	"blacklist"

/* Write the files above into dir (which must exist) for interface ifname. */
int bench_ruleset_write(const char *dir, const char *ifname);

#endif
