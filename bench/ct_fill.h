/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The flows the connection-tracking benchmarks put in a table from user
 * space, and the writer that puts them there.
 *
 * Flow i (0-based) is TCP from client BENCH_CT_FILL_SADDR + i /
 * BENCH_CT_FILL_PORTS, port BENCH_CT_FILL_SPORT + i % BENCH_CT_FILL_PORTS,
 * to server BENCH_CT_SERVER port BENCH_CT_SERVER_PORT, zone 0: with up to
 * 1M flows the clients are 172.16.0.0 - 172.16.3.208, all below the server
 * (198.19.0.1), so the client is end 0 of the key and the originator. Its
 * entry is ESTABLISHED with a reply seen, as a flow after its handshake.
 * bpf/tc_bench.bpf.c's fos_tc_bench_wrap makes the packets of these flows
 * from the same numbers.
 */
#ifndef FOS_BENCH_CT_FILL_H
#define FOS_BENCH_CT_FILL_H

#include <stdint.h>

#include "fos/abi.h"

#define BENCH_CT_FILL_SADDR  0xac100000U /* 172.16.0.0, host order */
#define BENCH_CT_FILL_SPORT  10000U
#define BENCH_CT_FILL_PORTS  1024U
#define BENCH_CT_SERVER	     0xc6130001U /* 198.19.0.1 */
#define BENCH_CT_SERVER_PORT 80U
#define BENCH_CT_FILL_MAX    (1024U * 1024U * 16U)

/* The key of the IPv4 flow (saddr, sport) -> (daddr, dport), addresses in
 * host order, zone 0, its ends in the canonical order. */
void bench_ct_key_v4(uint32_t saddr, uint16_t sport, uint32_t daddr, uint16_t dport, uint8_t proto,
		     struct fos_ct_key *ret);

/* The key of flow i. */
void bench_ct_fill_key(uint32_t i, struct fos_ct_key *ret);

/* Is flow i one of the expired ones, when a fraction of the flows is? The
 * expired flows are spread evenly over the numbers. */
int bench_ct_fill_expired(uint32_t i, double expired_fraction);

/*
 * Write flows 0 .. count-1 into the table ct_fd (an existing entry is
 * replaced) with bpf_map_update_batch: the live ones last seen at now_ns,
 * the expired ones at expired_ns (both CLOCK_BOOTTIME). Returns the number
 * written, or -errno.
 */
int64_t bench_ct_fill(int ct_fd, uint32_t count, double expired_fraction, uint64_t now_ns,
		      uint64_t expired_ns);

/* Delete n keys from ct_fd, skipping those that are not there; returns the
 * number deleted, or -errno. */
int64_t bench_ct_delete(int ct_fd, const struct fos_ct_key *keys, uint32_t n);

/* Add n to entry idx of a fos_ct_count map. */
int bench_ct_count_add(int count_fd, uint32_t idx, uint64_t n);

/* CLOCK_BOOTTIME in ns, the clock of the table's times. */
uint64_t bench_boottime_ns(void);

#endif
