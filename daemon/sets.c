// SPDX-License-Identifier: GPL-2.0-only
/* IP sets in the global LPM trie: one id per set, entries keyed (id, prefix). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <bpf/bpf.h>

#include "cleanup.h"
#include "fwd.h"
#include "log.h"

void fos_rset_free(struct fos_rset *s)
{
	if (!s)
		return;
	free(s->e);
	free(s->file);
	s->e = NULL;
	s->file = NULL;
	s->n = s->cap = 0;
}

int fos_rset_append(struct fos_rset *s, const struct fos_cidr *c, uint32_t flags)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct fos_set_entry *e = realloc(s->e, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		s->e = e;
		s->cap = cap;
	}
	s->e[s->n].cidr = *c;
	s->e[s->n].flags = flags;
	s->n++;
	return 0;
}

static bool _fos_cidr_eq(const struct fos_cidr *a, const struct fos_cidr *b)
{
	return fos_cidr_plen128(a) == fos_cidr_plen128(b) &&
	       memcmp(a->addr.b, b->addr.b, sizeof(a->addr.b)) == 0;
}

ssize_t fos_rset_find(const struct fos_rset *s, const struct fos_cidr *c)
{
	for (size_t i = 0; i < s->n; i++)
		if (_fos_cidr_eq(&s->e[i].cidr, c))
			return (ssize_t)i;
	return -ENOENT;
}

size_t fos_rset_count(const struct fos_rset *s, uint32_t flag)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		if (s->e[i].flags & flag)
			n++;
	return n;
}

void fos_set_key_from_cidr(uint32_t set_id, const struct fos_cidr *c, struct fos_set_key *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->prefixlen = FOS_SET_KEY_PREFIX + fos_cidr_plen128(c);
	ret->set_id = htonl(set_id | (fos_cidr_is_v4(c) ? FOS_SET_ID_V4 : 0));
	memcpy(ret->addr, c->addr.b, sizeof(ret->addr));
}

void fos_cidr_from_set_key(const struct fos_set_key *k, struct fos_cidr *ret)
{
	unsigned plen = k->prefixlen - FOS_SET_KEY_PREFIX;

	memset(ret, 0, sizeof(*ret));
	memcpy(ret->addr.b, k->addr, sizeof(ret->addr.b));
	if (ntohl(k->set_id) & FOS_SET_ID_V4) {
		ret->family = AF_INET;
		ret->plen = plen - 96;
	} else {
		ret->family = AF_INET6;
		ret->plen = plen;
	}
}

#define SETS_BATCH 8192

int fos_sets_write(int sets_fd, int meta_fd, const struct fos_rset *s, uint64_t generation)
{
	_cleanup_free_ struct fos_set_key *keys = NULL;
	_cleanup_free_ struct fos_set_value *vals = NULL;
	struct fos_set_meta meta = {
	    .flags = s->meta_flags,
	    .generation = generation,
	};
	bool batch = true;
	int r;

	keys = calloc(SETS_BATCH, sizeof(*keys));
	vals = calloc(SETS_BATCH, sizeof(*vals));
	if (!keys || !vals)
		return -ENOMEM;

	snprintf(meta.name, sizeof(meta.name), "%s", s->name);
	if (bpf_map_update_elem(meta_fd, &s->id, &meta, BPF_ANY) < 0)
		return -errno;

	for (size_t off = 0; off < s->n; off += SETS_BATCH) {
		uint32_t cnt = s->n - off < SETS_BATCH ? s->n - off : SETS_BATCH;

		for (uint32_t i = 0; i < cnt; i++) {
			fos_set_key_from_cidr(s->id, &s->e[off + i].cidr, &keys[i]);
			vals[i] = (struct fos_set_value){.flags = s->e[off + i].flags};
		}
		if (batch) {
			uint32_t done = cnt;

			r = bpf_map_update_batch(sets_fd, keys, vals, &done, NULL);
			if (r == 0)
				continue;
			r = -errno;
			if (r != -EINVAL && r != -EOPNOTSUPP && r != -524 /* ENOTSUPP */)
				return r;
			batch = false;
		}
		for (uint32_t i = 0; i < cnt; i++)
			if (bpf_map_update_elem(sets_fd, &keys[i], &vals[i], BPF_ANY) < 0)
				return -errno;
	}
	return 0;
}

void fos_sets_erase(int sets_fd, int meta_fd, const struct fos_rset *s)
{
	_cleanup_free_ struct fos_set_key *keys = calloc(SETS_BATCH, sizeof(*keys));
	bool batch = keys != NULL;
	struct fos_set_key k;

	for (size_t off = 0; batch && off < s->n; off += SETS_BATCH) {
		uint32_t cnt = s->n - off < SETS_BATCH ? s->n - off : SETS_BATCH;
		uint32_t done = cnt;

		for (uint32_t i = 0; i < cnt; i++)
			fos_set_key_from_cidr(s->id, &s->e[off + i].cidr, &keys[i]);
		if (bpf_map_delete_batch(sets_fd, keys, &done, NULL) == 0)
			continue;
		/* no batch delete here, or an entry already gone: one at a time */
		for (uint32_t i = 0; i < cnt; i++)
			(void)bpf_map_delete_elem(sets_fd, &keys[i]);
	}
	for (size_t i = 0; !batch && i < s->n; i++) {
		fos_set_key_from_cidr(s->id, &s->e[i].cidr, &k);
		(void)bpf_map_delete_elem(sets_fd, &k);
	}
	(void)bpf_map_delete_elem(meta_fd, &s->id);
}

int fos_sets_add_entry(int sets_fd, uint32_t id, const struct fos_cidr *c, uint32_t flags)
{
	struct fos_set_key k;
	struct fos_set_value v = {.flags = flags};

	fos_set_key_from_cidr(id, c, &k);
	if (bpf_map_update_elem(sets_fd, &k, &v, BPF_ANY) < 0)
		return -errno;
	return 0;
}

int fos_sets_del_entry(int sets_fd, uint32_t id, const struct fos_cidr *c)
{
	struct fos_set_key k;

	fos_set_key_from_cidr(id, c, &k);
	if (bpf_map_delete_elem(sets_fd, &k) < 0)
		return -errno;
	return 0;
}

static struct fos_rset *_fos_sets_by_id(struct fos_rset *v, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].id == id)
			return &v[i];
	return NULL;
}

/* Add one entry read back from the trie to the set of its id. */
static int _fos_sets_collect(struct fos_rset **v, size_t *n, struct fos_rset **last,
			     uint32_t *max_id, const struct fos_set_key *k,
			     const struct fos_set_value *val)
{
	uint32_t sid = ntohl(k->set_id) & FOS_SET_ID_MAX;
	struct fos_rset *s = *last && (*last)->id == sid ? *last : _fos_sets_by_id(*v, *n, sid);
	struct fos_cidr c;

	if (!s) {
		struct fos_rset *nv = realloc(*v, (*n + 1) * sizeof(**v));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		s = &nv[(*n)++];
		memset(s, 0, sizeof(*s));
		s->id = sid;
	}
	*last = s;
	if (sid > *max_id)
		*max_id = sid;
	fos_cidr_from_set_key(k, &c);
	return fos_rset_append(s, &c, val->flags);
}

int fos_sets_read_all(int sets_fd, int meta_fd, struct fos_rset **ret, size_t *ret_n,
		      uint32_t *ret_max_id)
{
	struct fos_rset *v = NULL;
	size_t n = 0;
	uint32_t max_id = 0, id, *prev = NULL;
	struct fos_set_key k, *pk = NULL;
	_cleanup_free_ struct fos_set_key *keys = NULL;
	_cleanup_free_ struct fos_set_value *vals = NULL;
	struct fos_set_key token;
	struct fos_rset *last = NULL;
	bool batched = false;
	int r = 0;

	/* metadata first: every set that has a name */
	while (bpf_map_get_next_key(meta_fd, prev, &id) == 0) {
		struct fos_set_meta meta;
		struct fos_rset *nv;

		prev = &id;
		if (bpf_map_lookup_elem(meta_fd, &id, &meta) < 0)
			continue;
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			r = -ENOMEM;
			goto fail;
		}
		v = nv;
		memset(&v[n], 0, sizeof(v[n]));
		meta.name[sizeof(meta.name) - 1] = 0;
		snprintf(v[n].name, sizeof(v[n].name), "%s", meta.name);
		v[n].id = id;
		v[n].meta_flags = meta.flags;
		n++;
		if (id > max_id)
			max_id = id;
	}

	/* entries: grouped by the id in their key; entries of unnamed ids are
	 * collected under an empty name so the caller can erase them. Read in
	 * batches where the kernel can, else key by key. */
	keys = calloc(SETS_BATCH, sizeof(*keys));
	vals = calloc(SETS_BATCH, sizeof(*vals));
	if (!keys || !vals) {
		r = -ENOMEM;
		goto fail;
	}
	for (bool more = true, first = true; more; first = false) {
		uint32_t cnt = SETS_BATCH;

		r = bpf_map_lookup_batch(sets_fd, first ? NULL : &token, &token, keys, vals, &cnt,
					 NULL);
		if (r < 0 && errno != ENOENT) {
			if (first && (errno == EINVAL || errno == EOPNOTSUPP || errno == 524))
				break; /* no batch lookup: the loop below */
			r = -errno;
			goto fail;
		}
		more = r == 0;
		batched = true;
		for (uint32_t i = 0; i < cnt; i++) {
			r = _fos_sets_collect(&v, &n, &last, &max_id, &keys[i], &vals[i]);
			if (r < 0)
				goto fail;
		}
	}
	while (!batched && bpf_map_get_next_key(sets_fd, pk, &k) == 0) {
		struct fos_set_value val;

		pk = &k;
		if (bpf_map_lookup_elem(sets_fd, &k, &val) < 0)
			continue;
		r = _fos_sets_collect(&v, &n, &last, &max_id, &k, &val);
		if (r < 0)
			goto fail;
	}

	*ret = v;
	*ret_n = n;
	*ret_max_id = max_id;
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		fos_rset_free(&v[i]);
	free(v);
	return r;
}
