// SPDX-License-Identifier: GPL-2.0-only
/* IP sets in the global LPM trie: one id per set, entries keyed (id, prefix). */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cleanup.h"
#include "fwd.h"
#include "log.h"

/* ---- the entries and their index by CIDR ----------------------------------
 * Open addressing with linear probing. Every position of e has a slot of its
 * own, so a CIDR listed twice is still found and a removal takes out exactly
 * the slot of its position; a deleted slot is filled by shifting the probe
 * run after it back (no tombstones), so lookups never slow down with churn.
 * The hash is keyed by a random seed: the CIDRs of blocked sources are chosen
 * by whoever sends the packets. */

#define RSET_IDX_MIN 16

static uint64_t _fos_rset_seed;

static uint64_t _fos_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t _fos_cidr_hash(const struct fos_cidr *c)
{
	uint64_t hi, lo;

	if (!_fos_rset_seed) {
		uint64_t seed = 0;

		if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
			seed = fos_sets_now_ns() ^ ((uint64_t)getpid() << 32);
		_fos_rset_seed = seed | 1;
	}
	memcpy(&hi, c->addr.b, 8);
	memcpy(&lo, c->addr.b + 8, 8);
	return _fos_mix64(hi ^ _fos_mix64(lo ^ _fos_mix64(_fos_rset_seed ^ fos_cidr_plen128(c))));
}

static bool _fos_cidr_eq(const struct fos_cidr *a, const struct fos_cidr *b)
{
	return fos_cidr_plen128(a) == fos_cidr_plen128(b) &&
	       memcmp(a->addr.b, b->addr.b, sizeof(a->addr.b)) == 0;
}

static size_t _fos_idx_home(const struct fos_rset *s, const struct fos_cidr *c)
{
	return (size_t)_fos_cidr_hash(c) & (s->idx_cap - 1);
}

static void _fos_idx_put(struct fos_rset *s, size_t pos)
{
	size_t mask = s->idx_cap - 1, k = _fos_idx_home(s, &s->e[pos].cidr);

	while (s->idx[k])
		k = (k + 1) & mask;
	s->idx[k] = (uint32_t)pos + 1;
}

/* the slot that holds position pos */
static size_t _fos_idx_slot(const struct fos_rset *s, size_t pos)
{
	size_t mask = s->idx_cap - 1, k = _fos_idx_home(s, &s->e[pos].cidr);

	while (s->idx[k] != pos + 1) {
		assert(s->idx[k]);
		k = (k + 1) & mask;
	}
	return k;
}

/* Empty slot k and move later slots of its probe run back where their own
 * run allows. The entries the slots name must still be in e. */
static void _fos_idx_del(struct fos_rset *s, size_t k)
{
	size_t mask = s->idx_cap - 1, j = k;

	s->idx[k] = 0;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!s->idx[j])
			return;
		home = _fos_idx_home(s, &s->e[s->idx[j] - 1].cidr);
		/* it stays if its home lies cyclically in (k, j] */
		if (k <= j ? (k < home && home <= j) : (k < home || home <= j))
			continue;
		s->idx[k] = s->idx[j];
		s->idx[j] = 0;
		k = j;
	}
}

/* room in the index for n entries, rebuilt from e when it grows */
static int _fos_idx_reserve(struct fos_rset *s, size_t n)
{
	size_t cap = s->idx_cap ? s->idx_cap : RSET_IDX_MIN;
	uint32_t *v;

	if (n >= UINT32_MAX)
		return -E2BIG;
	if (s->idx && n <= s->idx_cap / 2)
		return 0;
	while (n > cap / 2)
		cap *= 2;
	v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	free(s->idx);
	s->idx = v;
	s->idx_cap = cap;
	for (size_t i = 0; i < s->n; i++)
		_fos_idx_put(s, i);
	return 0;
}

void fos_rset_free(struct fos_rset *s)
{
	if (!s)
		return;
	free(s->e);
	free(s->file);
	free(s->idx);
	s->e = NULL;
	s->file = NULL;
	s->idx = NULL;
	s->n = s->cap = s->idx_cap = 0;
}

int fos_rset_append(struct fos_rset *s, const struct fos_cidr *c, uint32_t flags)
{
	struct fos_set_entry e = {.cidr = *c, .flags = flags};

	return fos_rset_append_entry(s, &e);
}

int fos_rset_append_entry(struct fos_rset *s, const struct fos_set_entry *e)
{
	int r;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct fos_set_entry *e = realloc(s->e, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		s->e = e;
		s->cap = cap;
	}
	r = _fos_idx_reserve(s, s->n + 1);
	if (r < 0)
		return r;
	s->e[s->n] = *e;
	_fos_idx_put(s, s->n);
	s->n++;
	return 0;
}

ssize_t fos_rset_find(const struct fos_rset *s, const struct fos_cidr *c)
{
	size_t mask, k;

	if (!s->idx)
		return -ENOENT;
	mask = s->idx_cap - 1;
	for (k = _fos_idx_home(s, c); s->idx[k]; k = (k + 1) & mask)
		if (_fos_cidr_eq(&s->e[s->idx[k] - 1].cidr, c))
			return (ssize_t)s->idx[k] - 1;
	return -ENOENT;
}

int fos_rset_add(struct fos_rset *s, const struct fos_set_entry *e, size_t *ret_i)
{
	ssize_t i = fos_rset_find(s, &e->cidr);
	int r;

	if (i >= 0) {
		if (ret_i)
			*ret_i = (size_t)i;
		return 0;
	}
	r = fos_rset_append_entry(s, e);
	if (r < 0)
		return r;
	if (ret_i)
		*ret_i = s->n - 1;
	return 1;
}

void fos_rset_remove_swap(struct fos_rset *s, size_t i)
{
	size_t last = s->n - 1;

	assert(i < s->n);
	_fos_idx_del(s, _fos_idx_slot(s, i));
	if (i != last) {
		s->idx[_fos_idx_slot(s, last)] = (uint32_t)i + 1;
		s->e[i] = s->e[last];
	}
	s->n--;
}

/* Remove entry i keeping the order: the positions after it move down by one
 * in the index as in e (a pass over the slots, no hashing). */
static void _fos_rset_remove_ordered(struct fos_rset *s, size_t i)
{
	assert(i < s->n);
	_fos_idx_del(s, _fos_idx_slot(s, i));
	memmove(&s->e[i], &s->e[i + 1], (s->n - i - 1) * sizeof(s->e[0]));
	s->n--;
	if (i == s->n)
		return;
	for (size_t k = 0; k < s->idx_cap; k++)
		if (s->idx[k] > i + 1)
			s->idx[k]--;
}

size_t fos_rset_count(const struct fos_rset *s, uint32_t flag)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		if (s->e[i].flags & flag)
			n++;
	return n;
}

/* A set entry as the key of its family's trie: IPv4 in fos_sets4 (4-byte
 * address), IPv6 in fos_sets. */
union fos_any_set_key {
	struct fos_set_key k6;
	struct fos_set_key4 k4;
};

static size_t _fos_set_key_of(uint32_t set_id, const struct fos_cidr *c, union fos_any_set_key *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (fos_cidr_is_v4(c)) {
		ret->k4.prefixlen = FOS_SET_KEY_PREFIX + fos_cidr_plen128(c) - 96;
		ret->k4.set_id = htonl(set_id);
		memcpy(ret->k4.addr, c->addr.b + 12, sizeof(ret->k4.addr));
		return sizeof(ret->k4);
	}
	ret->k6.prefixlen = FOS_SET_KEY_PREFIX + fos_cidr_plen128(c);
	ret->k6.set_id = htonl(set_id);
	memcpy(ret->k6.addr, c->addr.b, sizeof(ret->k6.addr));
	return sizeof(ret->k6);
}

static void _fos_cidr_of_key(const void *key, bool v4, struct fos_cidr *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (v4) {
		const struct fos_set_key4 *k = key;

		ret->family = AF_INET;
		ret->plen = k->prefixlen - FOS_SET_KEY_PREFIX;
		ret->addr.b[10] = 0xff;
		ret->addr.b[11] = 0xff;
		memcpy(ret->addr.b + 12, k->addr, sizeof(k->addr));
	} else {
		const struct fos_set_key *k = key;

		ret->family = AF_INET6;
		ret->plen = k->prefixlen - FOS_SET_KEY_PREFIX;
		memcpy(ret->addr.b, k->addr, sizeof(ret->addr.b));
	}
}

#define SETS_BATCH 8192

/* Batched updates (vals) or deletes (vals NULL) of cnt keys of key_size bytes,
 * one by one where the kernel has no batch for the map. */
static int _fos_sets_batch(int fd, void *keys, struct fos_set_value *vals, uint32_t cnt,
			   size_t key_size, bool *batch)
{
	if (cnt == 0)
		return 0;
	if (*batch) {
		uint32_t done = cnt;
		int r = vals ? bpf_map_update_batch(fd, keys, vals, &done, NULL)
			     : bpf_map_delete_batch(fd, keys, &done, NULL);

		if (r == 0)
			return 0;
		r = -errno;
		if (vals && r != -EINVAL && r != -EOPNOTSUPP && r != -524 /* ENOTSUPP */)
			return r;
		/* a delete batch stops at an entry already gone: finish one by one */
		if (vals)
			*batch = false;
	}
	for (uint32_t i = 0; i < cnt; i++) {
		void *k = (uint8_t *)keys + i * key_size;

		if (vals) {
			if (bpf_map_update_elem(fd, k, &vals[i], BPF_ANY) < 0)
				return -errno;
		} else {
			(void)bpf_map_delete_elem(fd, k);
		}
	}
	return 0;
}

/* Write (or with write false, delete) every entry of s, family by family. */
static int _fos_sets_apply(const struct fos_set_maps *maps, const struct fos_rset *s, bool write)
{
	_cleanup_free_ union fos_any_set_key *k4 = calloc(SETS_BATCH, sizeof(*k4));
	_cleanup_free_ union fos_any_set_key *k6 = calloc(SETS_BATCH, sizeof(*k6));
	_cleanup_free_ struct fos_set_key4 *p4 = calloc(SETS_BATCH, sizeof(*p4));
	_cleanup_free_ struct fos_set_key *p6 = calloc(SETS_BATCH, sizeof(*p6));
	_cleanup_free_ struct fos_set_value *v4 = calloc(SETS_BATCH, sizeof(*v4));
	_cleanup_free_ struct fos_set_value *v6 = calloc(SETS_BATCH, sizeof(*v6));
	bool b4 = true, b6 = true;
	uint32_t n4 = 0, n6 = 0;
	int r;

	if (!k4 || !k6 || !p4 || !p6 || !v4 || !v6)
		return -ENOMEM;
	for (size_t i = 0; i <= s->n; i++) {
		if (i < s->n) {
			union fos_any_set_key k;
			struct fos_set_value v = {.flags = s->e[i].flags,
						  .expires_ns = s->e[i].expires_ns};

			if (_fos_set_key_of(s->id, &s->e[i].cidr, &k) == sizeof(k.k4)) {
				p4[n4] = k.k4;
				v4[n4++] = v;
			} else {
				p6[n6] = k.k6;
				v6[n6++] = v;
			}
		}
		if (n4 == SETS_BATCH || (i == s->n && n4)) {
			r = _fos_sets_batch(maps->v4, p4, write ? v4 : NULL, n4, sizeof(*p4), &b4);
			if (r < 0)
				return r;
			n4 = 0;
		}
		if (n6 == SETS_BATCH || (i == s->n && n6)) {
			r = _fos_sets_batch(maps->v6, p6, write ? v6 : NULL, n6, sizeof(*p6), &b6);
			if (r < 0)
				return r;
			n6 = 0;
		}
	}
	return 0;
}

int fos_sets_write(const struct fos_set_maps *maps, const struct fos_rset *s, uint64_t generation)
{
	struct fos_set_meta meta = {
	    .flags = s->meta_flags,
	    .generation = generation,
	};

	snprintf(meta.name, sizeof(meta.name), "%s", s->name);
	if (bpf_map_update_elem(maps->meta, &s->id, &meta, BPF_ANY) < 0)
		return -errno;
	return _fos_sets_apply(maps, s, true);
}

void fos_sets_erase(const struct fos_set_maps *maps, const struct fos_rset *s)
{
	(void)_fos_sets_apply(maps, s, false);
	(void)bpf_map_delete_elem(maps->meta, &s->id);
}

int fos_sets_add_entry(const struct fos_set_maps *maps, uint32_t id, const struct fos_cidr *c,
		       uint32_t flags, uint64_t expires_ns)
{
	union fos_any_set_key k;
	struct fos_set_value v = {.flags = flags, .expires_ns = expires_ns};
	int fd = _fos_set_key_of(id, c, &k) == sizeof(k.k4) ? maps->v4 : maps->v6;

	if (bpf_map_update_elem(fd, &k, &v, BPF_ANY) < 0)
		return -errno;
	return 0;
}

int fos_sets_del_entry(const struct fos_set_maps *maps, uint32_t id, const struct fos_cidr *c)
{
	union fos_any_set_key k;
	int fd = _fos_set_key_of(id, c, &k) == sizeof(k.k4) ? maps->v4 : maps->v6;

	if (bpf_map_delete_elem(fd, &k) < 0)
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

struct _fos_reader {
	struct fos_rset *v;
	size_t n;
	struct fos_rset *last;
	uint32_t max_id;
	uint64_t now_ns;
	/* keys of entries found expired, deleted once the walk is over (a trie
	 * walk restarts from the top when its position is deleted under it) */
	union fos_any_set_key *stale;
	size_t n_stale, cap_stale;
};

static int _fos_reader_stale(struct _fos_reader *rd, const void *key, size_t ksz)
{
	if (rd->n_stale == rd->cap_stale) {
		size_t cap = rd->cap_stale ? rd->cap_stale * 2 : 64;
		union fos_any_set_key *v = realloc(rd->stale, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		rd->stale = v;
		rd->cap_stale = cap;
	}
	memset(&rd->stale[rd->n_stale], 0, sizeof(rd->stale[0]));
	memcpy(&rd->stale[rd->n_stale++], key, ksz);
	return 0;
}

/* Add one entry read back from a trie to the set of its id. */
static int _fos_sets_collect(struct _fos_reader *rd, const void *key, bool v4,
			     const struct fos_set_value *val)
{
	/* set_id sits right after prefixlen in both key layouts */
	uint32_t sid = ntohl(((const struct fos_set_key4 *)key)->set_id) & FOS_SET_ID_MAX;
	struct fos_rset *s =
	    rd->last && rd->last->id == sid ? rd->last : _fos_sets_by_id(rd->v, rd->n, sid);
	struct fos_set_entry e = {};

	if (!s) {
		struct fos_rset *nv = realloc(rd->v, (rd->n + 1) * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		rd->v = nv;
		s = &nv[rd->n++];
		memset(s, 0, sizeof(*s));
		s->id = sid;
	}
	rd->last = s;
	if (sid > rd->max_id)
		rd->max_id = sid;
	if (val->expires_ns && val->expires_ns <= rd->now_ns) {
		/* expired while no fwd ran */
		s->expired++;
		return _fos_reader_stale(
		    rd, key, v4 ? sizeof(struct fos_set_key4) : sizeof(struct fos_set_key));
	}
	_fos_cidr_of_key(key, v4, &e.cidr);
	e.flags = val->flags;
	e.expires_ns = val->expires_ns;
	return fos_rset_append_entry(s, &e);
}

/* Every entry of one trie: in batches where the kernel can, else key by key. */
static int _fos_sets_read_map(struct _fos_reader *rd, int fd, bool v4)
{
	size_t ksz = v4 ? sizeof(struct fos_set_key4) : sizeof(struct fos_set_key);
	_cleanup_free_ uint8_t *keys = calloc(SETS_BATCH, ksz);
	_cleanup_free_ struct fos_set_value *vals = calloc(SETS_BATCH, sizeof(*vals));
	union fos_any_set_key token, k;
	bool batched = false;
	int r;

	if (!keys || !vals)
		return -ENOMEM;
	for (bool more = true, first = true; more; first = false) {
		uint32_t cnt = SETS_BATCH;

		r = bpf_map_lookup_batch(fd, first ? NULL : &token, &token, keys, vals, &cnt, NULL);
		if (r < 0 && errno != ENOENT) {
			if (first && (errno == EINVAL || errno == EOPNOTSUPP || errno == 524))
				break;
			return -errno;
		}
		more = r == 0;
		batched = true;
		for (uint32_t i = 0; i < cnt; i++) {
			r = _fos_sets_collect(rd, keys + i * ksz, v4, &vals[i]);
			if (r < 0)
				return r;
		}
	}
	for (bool first = true; !batched && bpf_map_get_next_key(fd, first ? NULL : &k, &k) == 0;
	     first = false) {
		struct fos_set_value val;

		if (bpf_map_lookup_elem(fd, &k, &val) < 0)
			continue;
		r = _fos_sets_collect(rd, &k, v4, &val);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < rd->n_stale; i++)
		(void)bpf_map_delete_elem(fd, &rd->stale[i]);
	if (rd->n_stale)
		log_info("removed %zu set entries that expired while fwd was not running",
			 rd->n_stale);
	rd->n_stale = 0;
	return 0;
}

int fos_sets_read_all(const struct fos_set_maps *maps, struct fos_rset **ret, size_t *ret_n,
		      uint32_t *ret_max_id)
{
	struct _fos_reader rd = {.now_ns = fos_sets_now_ns()};
	uint32_t id, *prev = NULL;
	int r = 0;

	/* metadata first: every set that has a name */
	while (bpf_map_get_next_key(maps->meta, prev, &id) == 0) {
		struct fos_set_meta meta;
		struct fos_rset *nv;

		prev = &id;
		if (bpf_map_lookup_elem(maps->meta, &id, &meta) < 0)
			continue;
		nv = realloc(rd.v, (rd.n + 1) * sizeof(*nv));
		if (!nv) {
			r = -ENOMEM;
			goto fail;
		}
		rd.v = nv;
		memset(&nv[rd.n], 0, sizeof(nv[rd.n]));
		meta.name[sizeof(meta.name) - 1] = 0;
		snprintf(nv[rd.n].name, sizeof(nv[rd.n].name), "%s", meta.name);
		nv[rd.n].id = id;
		nv[rd.n].meta_flags = meta.flags;
		rd.n++;
		if (id > rd.max_id)
			rd.max_id = id;
	}

	/* entries, grouped by the id in their key; entries of unnamed ids are
	 * collected under an empty name so the caller can erase them */
	r = _fos_sets_read_map(&rd, maps->v4, true);
	if (r == 0)
		r = _fos_sets_read_map(&rd, maps->v6, false);
	free(rd.stale);
	if (r < 0)
		goto fail;
	*ret = rd.v;
	*ret_n = rd.n;
	*ret_max_id = rd.max_id;
	return 0;
fail:
	for (size_t i = 0; i < rd.n; i++)
		fos_rset_free(&rd.v[i]);
	free(rd.v);
	return r;
}

/* ---- expiry --------------------------------------------------------------
 * Timed entries are removed a bounded step at a time from the event loop. The
 * earliest expiry of all timed entries (x->next_ns) says when a pass over the
 * sets is due, so nothing is scanned while nothing can expire. Entries
 * appended to a set by anyone (the datapath's blocks arrive that way) sit at
 * index s->seen or later until a step folds their expiry in. */

/* removals log at info for the first few of a minute, at debug after */
#define SETS_EXPIRE_LOG_INFO   8
#define SETS_EXPIRE_LOG_WINDOW (60ULL * 1000000000ULL)
/* units of work between two looks at the clock: an entry looked at is one */
#define SETS_EXPIRE_CHECK 256

uint64_t fos_sets_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t _fos_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void _fos_min_expiry(uint64_t *min, uint64_t expires_ns)
{
	if (expires_ns && (!*min || expires_ns < *min))
		*min = expires_ns;
}

void fos_sets_expiry_note(struct fos_set_expiry *x, uint64_t expires_ns)
{
	_fos_min_expiry(&x->next_ns, expires_ns);
	if (x->passing)
		_fos_min_expiry(&x->pass_next_ns, expires_ns);
}

void fos_sets_expiry_reset(struct fos_set_expiry *x, struct fos_rset *sets, size_t n)
{
	x->next_ns = 0;
	x->passing = false;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < sets[i].n; j++)
			_fos_min_expiry(&x->next_ns, sets[i].e[j].expires_ns);
		sets[i].seen = sets[i].n;
	}
}

void fos_sets_remove_at(struct fos_set_expiry *x, struct fos_rset *sets, size_t si, size_t i)
{
	struct fos_rset *s = &sets[si];

	_fos_rset_remove_ordered(s, i);
	if (i < s->seen)
		s->seen--;
	/* the pass must not skip the entry that moved into its position */
	if (x->passing && x->set == si && i < x->i)
		x->i--;
}

size_t fos_rset_count_timed(const struct fos_rset *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		if (s->e[i].expires_ns)
			n++;
	return n;
}

/* The entry at s->e[i] has expired by fwd's list: remove it from the map and
 * the list (1), unless the map holds a later expiry for it (the datapath
 * blocked the source again), which the list then takes (0). */
/* A new minute of removal logs once the last is over: the count of those
 * logged at debug only in it. */
static void _fos_sets_expiry_log_window(struct fos_set_expiry *x, uint64_t now_ns)
{
	if (now_ns - x->log_window_ns < SETS_EXPIRE_LOG_WINDOW)
		return;
	if (x->log_quiet)
		log_info("%" PRIu64 " more set entries expired and were removed (logged at debug "
			 "level)",
			 x->log_quiet);
	x->log_window_ns = now_ns;
	x->log_shown = 0;
	x->log_quiet = 0;
}

static void _fos_sets_expiry_log(struct fos_set_expiry *x, const struct fos_rset *s,
				 const char *cidr, uint64_t now_ns)
{
	_fos_sets_expiry_log_window(x, now_ns);
	if (x->log_shown < SETS_EXPIRE_LOG_INFO) {
		x->log_shown++;
		log_info("set %s: %s expired, removed", s->name, cidr);
	} else {
		x->log_quiet++;
		log_debug("set %s: %s expired, removed", s->name, cidr);
	}
}

static int _fos_sets_expire_one(const struct fos_set_maps *maps, struct fos_set_expiry *x,
				struct fos_rset *s, size_t i, uint64_t now_ns)
{
	struct fos_set_entry *e = &s->e[i];
	union fos_any_set_key k;
	struct fos_set_value v;
	char buf[FOS_CIDR_STRLEN];
	int fd = _fos_set_key_of(s->id, &e->cidr, &k) == sizeof(k.k4) ? maps->v4 : maps->v6;

	if (bpf_map_lookup_elem(fd, &k, &v) == 0 && (v.expires_ns == 0 || v.expires_ns > now_ns)) {
		e->flags = v.flags;
		e->expires_ns = v.expires_ns;
		return 0;
	}
	fos_cidr_to_string(&e->cidr, buf, sizeof(buf));
	if (bpf_map_delete_elem(fd, &k) < 0 && errno != ENOENT)
		/* the datapath treats it as absent all the same */
		log_warning("set %s: cannot delete expired entry %s: %s, ignoring", s->name, buf,
			    strerror(errno));
	_fos_sets_expiry_log(x, s, buf, now_ns);
	/* the last entry takes its place: O(1) however many expire together */
	fos_rset_remove_swap(s, i);
	if (s->seen > s->n)
		s->seen = s->n;
	s->expired++;
	return 1;
}

static uint32_t _fos_ms_until(uint64_t then_ns, uint64_t now_ns)
{
	uint64_t ms;

	if (!then_ns)
		return UINT32_MAX;
	if (then_ns <= now_ns)
		return 0;
	ms = (then_ns - now_ns + 999999) / 1000000;
	/* CLOCK_BOOTTIME runs on through a suspend, the loop's timeout does not:
	 * look again at least once a second */
	return ms < 1000 ? (uint32_t)ms : 1000;
}

uint32_t fos_sets_expire_step(const struct fos_set_maps *maps, struct fos_rset *sets, size_t n,
			      struct fos_set_expiry *x, uint64_t now_ns, uint64_t budget_ns)
{
	uint64_t start;
	unsigned work = 0;

	/* entries appended since the last step */
	for (size_t i = 0; i < n; i++) {
		struct fos_rset *s = &sets[i];

		for (size_t j = s->seen; j < s->n; j++)
			fos_sets_expiry_note(x, s->e[j].expires_ns);
		s->seen = s->n;
	}
	if (!x->passing) {
		if (x->log_quiet) {
			/* wake up for the summary of the quiet removals */
			uint64_t then = x->log_window_ns + SETS_EXPIRE_LOG_WINDOW;

			_fos_sets_expiry_log_window(x, now_ns);
			if (x->log_quiet && (!x->next_ns || then < x->next_ns))
				return _fos_ms_until(then, now_ns);
		}
		if (!x->next_ns || now_ns < x->next_ns)
			return _fos_ms_until(x->next_ns, now_ns);
		x->passing = true;
		x->set = 0;
		x->i = 0;
		x->pass_next_ns = 0;
	}
	start = _fos_mono_ns();
	for (; x->set < n; x->set++, x->i = 0) {
		struct fos_rset *s = &sets[x->set];

		while (x->i < s->n) {
			struct fos_set_entry *e = &s->e[x->i];

			/* the clock is read every few hundred entries looked at, or
			 * every few removals (two syscalls each) */
			if (work >= SETS_EXPIRE_CHECK) {
				uint64_t t = _fos_mono_ns() - start;

				work = 0;
				if (t >= budget_ns) {
					x->last_step_ns = t;
					return 0;
				}
			}
			work++;
			if (e->expires_ns && e->expires_ns <= now_ns) {
				work += SETS_EXPIRE_CHECK / 16;
				if (_fos_sets_expire_one(maps, x, s, x->i, now_ns) > 0) {
					x->removed++;
					continue; /* another entry is at x->i now */
				}
			}
			_fos_min_expiry(&x->pass_next_ns, e->expires_ns);
			x->i++;
		}
	}
	x->passing = false;
	x->next_ns = x->pass_next_ns;
	x->last_step_ns = _fos_mono_ns() - start;
	return _fos_ms_until(x->next_ns, now_ns);
}
