// SPDX-License-Identifier: GPL-2.0-only
/* Writing a compiled classifier into a filter's maps (see cls_maps.h). */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cls_maps.h"

/* keys first, first + 1, ... ; values n consecutive elements of vsize bytes */
static int _fos_array_write(int fd, uint32_t first, const void *vals, uint32_t n, size_t vsize)
{
	_cleanup_free_ uint32_t *keys = NULL;
	uint32_t done = n;

	if (!n)
		return 0;
	keys = malloc(n * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		keys[i] = first + i;
	if (bpf_map_update_batch(fd, keys, vals, &done, NULL) == 0)
		return 0;
	if (errno != EINVAL && errno != EOPNOTSUPP && errno != 524 /* ENOTSUPP */)
		return -errno;
	for (uint32_t i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, &keys[i], (const uint8_t *)vals + i * vsize, BPF_ANY) <
		    0)
			return -errno;
	return 0;
}

/* remove every prefix of slot from the address trie */
static int _fos_addrs_clear(int fd, uint32_t slot)
{
	_cleanup_free_ struct fos_cls_addr_key *stale = NULL;
	struct fos_cls_addr_key key, next;
	size_t n = 0, cap = 0;
	bool first = true;

	while (bpf_map_get_next_key(fd, first ? NULL : &key, &next) == 0) {
		first = false;
		key = next;
		if (next.slot != slot)
			continue;
		if (n == cap) {
			struct fos_cls_addr_key *v;

			cap = cap ? cap * 2 : 256;
			v = realloc(stale, cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			stale = v;
		}
		stale[n++] = next;
	}
	if (errno != ENOENT)
		return -errno;
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, &stale[i]) < 0 && errno != ENOENT)
			return -errno;
	return 0;
}

int fos_cls_maps_write(const struct fos_cls_fds *fds, uint32_t slot, const struct fos_classifier *c)
{
	int r;

	if (slot >= FOS_SLOTS)
		return -EINVAL;
	r = _fos_array_write(fds->dport, slot * FOS_CLS_PORT_CLASSES * FOS_CLS_PORT_ENTRIES,
			     c->dport, FOS_CLS_PORT_CLASSES * FOS_CLS_PORT_ENTRIES,
			     sizeof(c->dport[0][0]));
	if (r < 0)
		return r;
	if (c->flags & FOS_SLOT_F_CLS_SPORT) {
		r = _fos_array_write(fds->sport, slot * FOS_CLS_PORT_ENTRIES, c->sport,
				     FOS_CLS_PORT_ENTRIES, sizeof(c->sport[0]));
		if (r < 0)
			return r;
	}
	r = _fos_array_write(fds->bitmaps, slot * FOS_CLS_MAX_BITMAPS, c->bitmaps, c->n_bitmaps,
			     sizeof(c->bitmaps[0]));
	if (r < 0)
		return r;
	r = _fos_addrs_clear(fds->addrs, slot);
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->n_prefixes; i++) {
		struct fos_cls_addr_key k = c->prefixes[i].key;

		k.slot = slot;
		if (bpf_map_update_elem(fds->addrs, &k, &c->prefixes[i].bm, BPF_ANY) < 0)
			return -errno;
	}
	return 0;
}
