/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The NAT mapping table as fwd sees it (fos/nat.h): the five maps mapped
 * into fwd's memory, read and written with the same indexes, locks and
 * free ring as the datapath.
 */
#ifndef FOS_DAEMON_NAT_TABLE_H
#define FOS_DAEMON_NAT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fos/nat.h"

struct fos_nat;

struct fos_nat_tab {
	struct fos_nat_map *rec;
	struct fos_nat_group *idx;
	uint32_t *ring;
	struct fos_nat_hdr *hdr;
	struct fos_nat_locks *locks;
	size_t rec_len, idx_len, ring_len, hdr_len, locks_len;
	uint32_t cap, groups;
};

/* a removed mapping's id goes back to the free ring this long after */
#define FOS_NAT_GRACE_NS 1000000000ULL

/* the table's size for this many mappings (maxConnections and port maps):
 * some to spare, in steps of 1024, within FOS_NAT_MAP_MIN..MAX */
uint32_t fos_nat_tab_cap_for(uint64_t mappings);
/* every mapping gone and every id free (only while no program runs on it:
 * the benchmarks between runs) */
void fos_nat_tab_reset(struct fos_nat_tab *t);
/* the maps' sizes and the programs' constants for cap mappings, set on an
 * object not loaded yet */
void fos_nat_tab_size(struct fos_nat *skel, uint32_t cap);
/* the mappings of the table pinned in dir (0: none) */
uint32_t fos_nat_tab_pinned_cap(const char *dir);
/* the loaded object's table mapped in t; a new one gets its free ring */
int fos_nat_tab_map(struct fos_nat_tab *t, struct fos_nat *skel);
/* the table pinned in dir (fwd's pin directory's nat/), mapped */
int fos_nat_tab_open_pinned(struct fos_nat_tab *t, const char *dir);
void fos_nat_tab_unmap(struct fos_nat_tab *t);
/* the bytes the table takes in the kernel */
uint64_t fos_nat_tab_bytes(const struct fos_nat_tab *t);

/* the OUT and IN keys of a mapping */
void fos_nat_out_key(const struct fos_nat_map *m, struct fos_nat_key *k);
void fos_nat_in_key(const struct fos_nat_map *m, struct fos_nat_key *k);

/* the id of k's live mapping, or -1 */
int64_t fos_nat_tab_find(const struct fos_nat_tab *t, const struct fos_nat_key *k);
/* a mapping (m's keys, its state made live) added: 0 and *ret_id, -EEXIST
 * if either end is mapped, -ENOSPC when the table or a window is full,
 * -EBUSY when a lock stayed taken */
int fos_nat_tab_insert(struct fos_nat_tab *t, const struct fos_nat_map *m, uint32_t *ret_id);
/* mapping id taken out of both indexes: its id comes back after the grace */
void fos_nat_tab_remove(struct fos_nat_tab *t, uint32_t id, uint64_t now);
/* a removed mapping whose grace is over given back: true if it was */
bool fos_nat_tab_reclaim(struct fos_nat_tab *t, uint32_t id, uint64_t now);
/* ids free and live right now (the ring's length; cap minus that) */
uint32_t fos_nat_tab_free(const struct fos_nat_tab *t);

#endif
