// SPDX-License-Identifier: GPL-2.0-only
/* Writing a compiled classifier into a filter's maps (see cls_maps.h). */
#include <bpf/bpf.h>
#include <errno.h>
#include <stddef.h>
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

/* remove every prefix of slot from an address trie (keys of key_size bytes,
 * the slot byte right after prefixlen in both layouts) */
static int _fos_addrs_clear(int fd, uint32_t slot, size_t key_size)
{
	_cleanup_free_ uint8_t *stale = NULL;
	uint8_t key[sizeof(struct fos_cls_addr_key)], next[sizeof(struct fos_cls_addr_key)];
	size_t n = 0, cap = 0;
	bool first = true;

	while (bpf_map_get_next_key(fd, first ? NULL : key, next) == 0) {
		first = false;
		memcpy(key, next, key_size);
		if (next[offsetof(struct fos_cls_addr_key, slot)] != slot)
			continue;
		if (n == cap) {
			uint8_t *v;

			cap = cap ? cap * 2 : 256;
			v = realloc(stale, cap * key_size);
			if (!v)
				return -ENOMEM;
			stale = v;
		}
		memcpy(stale + n++ * key_size, next, key_size);
	}
	if (errno != ENOENT)
		return -errno;
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, stale + i * key_size) < 0 && errno != ENOENT)
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
	r = _fos_addrs_clear(fds->addrs, slot, sizeof(struct fos_cls_addr_key));
	if (r == 0)
		r = _fos_addrs_clear(fds->addrs4, slot, sizeof(struct fos_cls_addr_key4));
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->n_prefixes; i++) {
		struct fos_cls_addr_key k = c->prefixes[i].key;

		k.slot = slot;
		if (k.v4) {
			/* IPv4 prefixes are compiled as ::ffff:a.b.c.d/96+plen */
			struct fos_cls_addr_key4 k4 = {
			    .prefixlen = k.prefixlen - 96,
			    .slot = k.slot,
			    .dim = k.dim,
			};

			memcpy(k4.addr, k.addr + 12, sizeof(k4.addr));
			r = bpf_map_update_elem(fds->addrs4, &k4, &c->prefixes[i].bm, BPF_ANY);
		} else {
			r = bpf_map_update_elem(fds->addrs, &k, &c->prefixes[i].bm, BPF_ANY);
		}
		if (r < 0)
			return -errno;
	}
	return 0;
}
