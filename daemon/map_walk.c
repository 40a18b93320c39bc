// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>

#include <bpf/bpf.h>

#include "cleanup.h"
#include "map_walk.h"
#include "fwd.h"

/* the biggest batch a bucket may make a step take */
#define FOS_MAP_WALK_GROWN_MAX (1U << 16)

int fos_map_walk_step(int fd, size_t ksize, size_t vsize, uint32_t max, struct fos_map_walk *w,
		      void (*cb)(void *u, const void *k, const void *v), void *u,
		      uint64_t budget_ns)
{
	uint32_t batch = w->batch ? w->batch : FOS_MAP_WALK_BATCH;
	_cleanup_free_ uint8_t *keys = NULL, *vals = NULL;
	uint64_t t0 = fos_boottime_ns();

	if (w->done)
		return 0;
	/* a bucket holding more entries than a batch takes is read whole,
	 * with a batch grown for it */
	if (w->grown > batch)
		batch = w->grown;
	keys = calloc(batch, ksize);
	vals = calloc(batch, vsize);
	if (!keys || !vals)
		return -ENOMEM;
	do {
		uint32_t count = batch, out = 0;
		int r = bpf_map_lookup_batch(fd, w->started ? &w->pos : NULL, &out, keys, vals,
					     &count, NULL);

		if (r < 0 && errno == ENOSPC && count == 0 && batch < FOS_MAP_WALK_GROWN_MAX) {
			w->grown = batch * 2;
			return 1;
		}
		if (r < 0 && errno != ENOENT)
			return -errno;
		for (uint32_t i = 0; i < count && w->seen < max; i++, w->seen++)
			cb(u, keys + (size_t)i * ksize, vals + (size_t)i * vsize);
		/* only that bucket needed the bigger batch */
		if (count)
			w->grown = 0;
		if (r < 0 || w->seen >= max) {
			w->done = true;
			return 0;
		}
		w->pos = out;
		w->started = true;
	} while (fos_boottime_ns() - t0 < budget_ns);
	return 1;
}

int fos_map_walk_all(int fd, size_t ksize, size_t vsize, uint32_t max,
		     void (*cb)(void *u, const void *k, const void *v), void *u)
{
	struct fos_map_walk w = {0};
	int r;

	while ((r = fos_map_walk_step(fd, ksize, vsize, max, &w, cb, u, UINT64_MAX)) > 0)
		;
	return r;
}
