/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A walk of a BPF hash map in steps: bpf_map_lookup_batch from where the
 * last step stopped (a bucket, so entries deleted meanwhile never send it
 * back to the start), for about a time budget each, so that the event loop
 * never waits on a big table for long.
 */
#ifndef FOS_MAP_WALK_H
#define FOS_MAP_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FOS_MAP_WALK_BATCH 1024U /* entries per lookup by default */

struct fos_map_walk {
	bool started, done;
	uint32_t pos;	/* bpf_map_lookup_batch position */
	uint32_t seen;	/* entries read */
	uint32_t batch; /* entries per lookup; 0: FOS_MAP_WALK_BATCH */
	uint32_t grown; /* a bucket held more than batch: lookups take this many */
};

/* One step: batches until budget_ns has passed (at least one; 0: one
 * batch), cb for every entry, at most max entries in all (a walk ends
 * however fast the datapath adds). 1 while there is more, 0 at the end,
 * -errno. */
int fos_map_walk_step(int fd, size_t ksize, size_t vsize, uint32_t max, struct fos_map_walk *w,
		      void (*cb)(void *u, const void *k, const void *v), void *u,
		      uint64_t budget_ns);

/* A whole walk at once: 0, or -errno */
int fos_map_walk_all(int fd, size_t ksize, size_t vsize, uint32_t max,
		     void (*cb)(void *u, const void *k, const void *v), void *u);

#endif /* FOS_MAP_WALK_H */
