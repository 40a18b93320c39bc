// SPDX-License-Identifier: GPL-2.0-only
/*
 * The NAT mapping table from fwd's side (fos/nat.h has the layout and the
 * rules both sides keep): mapped with mmap, so that the collector and
 * `show nat` read records, not one map entry per system call.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cleanup.h"
#include "nat.skel.h"
#include "nat_table.h"

uint32_t fos_nat_tab_cap_for(uint64_t mappings)
{
	/* to spare: a sixteenth (so that the indexes stay under half full
	 * and ids removed a moment ago, waiting for their grace, leave room),
	 * at least FOS_NAT_MAP_SLACK */
	uint64_t spare = mappings / 16 > FOS_NAT_MAP_SLACK ? mappings / 16 : FOS_NAT_MAP_SLACK;
	uint64_t n = (mappings + spare + 1023) & ~1023ULL;

	if (n < FOS_NAT_MAP_MIN)
		n = FOS_NAT_MAP_MIN;
	if (n > FOS_NAT_MAP_MAX)
		n = FOS_NAT_MAP_MAX;
	return (uint32_t)n;
}

void fos_nat_tab_size(struct fos_nat *skel, uint32_t cap)
{
	uint32_t groups = fos_nat_groups_for(cap);

	(void)bpf_map__set_max_entries(skel->maps.fos_nat, cap);
	(void)bpf_map__set_max_entries(skel->maps.fos_nat_idx, 2 * groups);
	(void)bpf_map__set_max_entries(skel->maps.fos_nat_free, (cap + 1) / 2);
	skel->rodata->fos_nat_cap = cap;
	skel->rodata->fos_nat_groups = groups;
}

uint32_t fos_nat_tab_pinned_cap(const char *dir)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);
	char path[600];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "%s/fos_nat", dir);
	fd = bpf_obj_get(path);
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return 0;
	return info.max_entries;
}

static void *_fos_mmap(int fd, size_t *ret_len)
{
	struct bpf_map_info info = {};
	uint32_t ilen = sizeof(info);
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len;
	void *p;

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &ilen) < 0)
		return NULL;
	len = ((size_t)info.max_entries * ((info.value_size + 7) & ~7U) + page - 1) & ~(page - 1);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	*ret_len = len;
	return p;
}

void fos_nat_tab_unmap(struct fos_nat_tab *t)
{
	if (t->rec)
		munmap(t->rec, t->rec_len);
	if (t->idx)
		munmap(t->idx, t->idx_len);
	if (t->ring)
		munmap(t->ring, t->ring_len);
	if (t->hdr)
		munmap(t->hdr, t->hdr_len);
	if (t->locks)
		munmap(t->locks, t->locks_len);
	*t = (struct fos_nat_tab){0};
}

/* the table of the maps fds (fos_nat, _idx, _free, _hdr, _lock) */
static int _fos_tab_map_fds(struct fos_nat_tab *t, const int fds[5])
{
	int r;

	*t = (struct fos_nat_tab){0};
	t->rec = _fos_mmap(fds[0], &t->rec_len);
	t->idx = _fos_mmap(fds[1], &t->idx_len);
	t->ring = _fos_mmap(fds[2], &t->ring_len);
	t->hdr = _fos_mmap(fds[3], &t->hdr_len);
	t->locks = _fos_mmap(fds[4], &t->locks_len);
	if (!t->rec || !t->idx || !t->ring || !t->hdr || !t->locks) {
		r = errno ? -errno : -ENOMEM;
		fos_nat_tab_unmap(t);
		return r;
	}
	t->cap = (uint32_t)(t->rec_len / sizeof(struct fos_nat_map));
	t->groups = (uint32_t)(t->idx_len / sizeof(struct fos_nat_group) / 2);
	{
		struct bpf_map_info info = {};
		uint32_t ilen = sizeof(info);

		if (bpf_obj_get_info_by_fd(fds[0], &info, &ilen) == 0)
			t->cap = info.max_entries;
		ilen = sizeof(info);
		if (bpf_obj_get_info_by_fd(fds[1], &info, &ilen) == 0)
			t->groups = info.max_entries / 2;
	}
	if (t->cap == 0 || t->groups != fos_nat_groups_for(t->cap) ||
	    t->ring_len / sizeof(uint32_t) < t->cap || t->locks_len < FOS_NAT_LOCK_ELEMS * 64) {
		fos_nat_tab_unmap(t);
		return -EINVAL;
	}
	if (t->hdr->cap == 0) {
		/* a new table: every id free */
		for (uint32_t i = 0; i < t->cap; i++)
			t->ring[i] = i;
		t->hdr->head = 0;
		__atomic_store_n(&t->hdr->tail, (uint64_t)t->cap, __ATOMIC_RELEASE);
		t->hdr->layout = FOS_NAT_LAYOUT;
		t->hdr->cap = t->cap;
	} else if (t->hdr->cap != t->cap || t->hdr->layout != FOS_NAT_LAYOUT) {
		fos_nat_tab_unmap(t);
		return -EINVAL;
	}
	return 0;
}

int fos_nat_tab_map(struct fos_nat_tab *t, struct fos_nat *skel)
{
	const int fds[5] = {bpf_map__fd(skel->maps.fos_nat), bpf_map__fd(skel->maps.fos_nat_idx),
			    bpf_map__fd(skel->maps.fos_nat_free),
			    bpf_map__fd(skel->maps.fos_nat_hdr),
			    bpf_map__fd(skel->maps.fos_nat_lock)};

	return _fos_tab_map_fds(t, fds);
}

int fos_nat_tab_open_pinned(struct fos_nat_tab *t, const char *dir)
{
	static const char *const names[5] = {"fos_nat", "fos_nat_idx", "fos_nat_free",
					     "fos_nat_hdr", "fos_nat_lock"};
	int fds[5], r;

	for (int i = 0; i < 5; i++) {
		char path[600];

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		fds[i] = bpf_obj_get(path);
	}
	r = _fos_tab_map_fds(t, fds);
	for (int i = 0; i < 5; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return r;
}

void fos_nat_tab_reset(struct fos_nat_tab *t)
{
	memset(t->rec, 0, t->rec_len);
	memset(t->idx, 0, t->idx_len);
	memset(t->locks, 0, t->locks_len);
	for (uint32_t i = 0; i < t->cap; i++)
		t->ring[i] = i;
	t->hdr->head = 0;
	t->hdr->tail = t->cap;
}

uint64_t fos_nat_tab_bytes(const struct fos_nat_tab *t)
{
	return (uint64_t)t->rec_len + t->idx_len + t->ring_len + t->hdr_len + t->locks_len;
}

uint32_t fos_nat_tab_free(const struct fos_nat_tab *t)
{
	uint64_t h = __atomic_load_n(&t->hdr->head, __ATOMIC_ACQUIRE);
	uint64_t tl = __atomic_load_n(&t->hdr->tail, __ATOMIC_ACQUIRE);

	return tl > h ? (uint32_t)(tl - h) : 0;
}

void fos_nat_out_key(const struct fos_nat_map *m, struct fos_nat_key *k)
{
	*k = (struct fos_nat_key){.port = m->iport, .proto = m->proto, .dir = FOS_NAT_OUT};
	memcpy(k->addr, m->iaddr, 16);
	if (m->flags & FOS_NAT_F_APDF) {
		memcpy(k->raddr, m->raddr, 16);
		k->rport = m->rport;
	}
}

void fos_nat_in_key(const struct fos_nat_map *m, struct fos_nat_key *k)
{
	*k = (struct fos_nat_key){.port = m->eport, .proto = m->proto, .dir = FOS_NAT_IN};
	memcpy(k->addr, m->eaddr, 16);
}

static bool _fos_key_is(const struct fos_nat_map *m, const struct fos_nat_key *k)
{
	static const uint8_t zero[16];

	if (m->proto != k->proto)
		return false;
	if (k->dir == FOS_NAT_IN)
		return m->eport == k->port && memcmp(m->eaddr, k->addr, 16) == 0;
	if (m->iport != k->port || memcmp(m->iaddr, k->addr, 16) != 0)
		return false;
	if (m->flags & FOS_NAT_F_APDF)
		return m->rport == k->rport && memcmp(m->raddr, k->raddr, 16) == 0;
	return k->rport == 0 && memcmp(k->raddr, zero, 16) == 0;
}

static uint32_t *_fos_bucket(const struct fos_nat_tab *t, bool in, uint32_t g, uint32_t w,
			     uint32_t i)
{
	uint32_t n = g + w;

	if (n >= t->groups)
		n -= t->groups;
	return &t->idx[(in ? t->groups : 0) + n].b[i];
}

static int64_t _fos_find(const struct fos_nat_tab *t, const struct fos_nat_key *k, bool busy)
{
	uint32_t h = fos_nat_hash(k), g = fos_nat_group_of(h, t->groups);
	bool in = k->dir == FOS_NAT_IN;

	for (uint32_t w = 0; w < FOS_NAT_WINDOW; w++)
		for (uint32_t i = 0; i < FOS_NAT_GROUP; i++) {
			uint32_t b = __atomic_load_n(_fos_bucket(t, in, g, w, i), __ATOMIC_ACQUIRE);
			uint32_t id1 = FOS_NAT_B_ID(b);
			const struct fos_nat_map *m;
			uint8_t st;

			if (id1 == FOS_NAT_B_EMPTY)
				return -1;
			if (id1 == FOS_NAT_B_TOMB || FOS_NAT_B_TAG(b) != FOS_NAT_TAG(h) ||
			    id1 - 1 >= t->cap)
				continue;
			m = &t->rec[id1 - 1];
			st = __atomic_load_n(&m->state, __ATOMIC_ACQUIRE);
			if ((st == FOS_NAT_S_LIVE || (busy && st == FOS_NAT_S_BUSY)) &&
			    _fos_key_is(m, k))
				return id1 - 1;
		}
	return -1;
}

int64_t fos_nat_tab_find(const struct fos_nat_tab *t, const struct fos_nat_key *k)
{
	return t->rec ? _fos_find(t, k, false) : -1;
}

/* claim: a free bucket of k's window claimed for id (the caller holds k's
 * stripe); else id's bucket there marked removed. 0, or -ENOSPC when there
 * was none (the window full; id not in it). */
static int _fos_put(struct fos_nat_tab *t, const struct fos_nat_key *k, uint32_t id, bool claim)
{
	uint32_t h = fos_nat_hash(k), g = fos_nat_group_of(h, t->groups);
	uint32_t nb = claim ? FOS_NAT_B(id, FOS_NAT_TAG(h)) : FOS_NAT_B_TOMB;
	bool in = k->dir == FOS_NAT_IN;

	for (uint32_t w = 0; w < FOS_NAT_WINDOW; w++)
		for (uint32_t i = 0; i < FOS_NAT_GROUP; i++) {
			uint32_t *p = _fos_bucket(t, in, g, w, i);
			uint32_t b = __atomic_load_n(p, __ATOMIC_ACQUIRE), id1 = FOS_NAT_B_ID(b);

			if (claim ? id1 != FOS_NAT_B_EMPTY && id1 != FOS_NAT_B_TOMB : id1 != id + 1)
				continue;
			if (__atomic_compare_exchange_n(p, &b, nb, false, __ATOMIC_SEQ_CST,
							__ATOMIC_SEQ_CST))
				return 0;
		}
	return -ENOSPC;
}

static uint32_t *_fos_lock_word(struct fos_nat_tab *t, const struct fos_nat_key *k)
{
	uint32_t s = fos_nat_group_of(fos_nat_hash(k), t->groups) % FOS_NAT_LOCKS;

	if (k->dir == FOS_NAT_IN)
		s += FOS_NAT_LOCKS;
	return &t->locks[s / FOS_NAT_GROUP].l[s % FOS_NAT_GROUP];
}

/* a stripe taken, yielding now and then: a datapath CPU holds one for a
 * mapping's making, well under a microsecond */
static int _fos_take(struct fos_nat_tab *t, const struct fos_nat_key *k)
{
	uint32_t *w = _fos_lock_word(t, k);

	for (int i = 0; i < 100000; i++) {
		uint32_t zero = 0;

		if (__atomic_compare_exchange_n(w, &zero, 1, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return 0;
		if (i % 64 == 63)
			sched_yield();
	}
	return -EBUSY;
}

static void _fos_give(struct fos_nat_tab *t, const struct fos_nat_key *k)
{
	__atomic_store_n(_fos_lock_word(t, k), 0, __ATOMIC_RELEASE);
}

static int64_t _fos_alloc(struct fos_nat_tab *t)
{
	for (int i = 0; i < 1000; i++) {
		uint64_t h = __atomic_load_n(&t->hdr->head, __ATOMIC_ACQUIRE);
		uint64_t tl = __atomic_load_n(&t->hdr->tail, __ATOMIC_ACQUIRE);
		uint32_t id;

		if (h >= tl)
			return -ENOSPC;
		id = __atomic_load_n(&t->ring[h % t->cap], __ATOMIC_ACQUIRE);
		if (__atomic_compare_exchange_n(&t->hdr->head, &h, h + 1, false, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			return id < t->cap ? (int64_t)id : -EIO;
	}
	return -EBUSY;
}

static void _fos_push(struct fos_nat_tab *t, uint32_t id)
{
	uint64_t tl = __atomic_load_n(&t->hdr->tail, __ATOMIC_ACQUIRE);

	__atomic_store_n(&t->ring[tl % t->cap], id, __ATOMIC_RELEASE);
	__atomic_store_n(&t->hdr->tail, tl + 1, __ATOMIC_RELEASE);
}

int fos_nat_tab_insert(struct fos_nat_tab *t, const struct fos_nat_map *m, uint32_t *ret_id)
{
	struct fos_nat_key ok, ik;
	struct fos_nat_map *x;
	bool in_only = false;
	int64_t id;
	int r;

	if (!t->rec)
		return -ENOENT;
	fos_nat_out_key(m, &ok);
	fos_nat_in_key(m, &ik);
	r = _fos_take(t, &ok);
	if (r < 0)
		return r;
	id = _fos_find(t, &ok, true);
	if (id >= 0) {
		/* a second port map of one server: found by its external end
		 * only, its answers leave by the first's */
		if (!(m->flags & FOS_NAT_F_STATIC) || !(t->rec[id].flags & FOS_NAT_F_STATIC)) {
			_fos_give(t, &ok);
			return -EEXIST;
		}
		in_only = true;
	}
	r = _fos_take(t, &ik);
	if (r < 0) {
		_fos_give(t, &ok);
		return r;
	}
	if (_fos_find(t, &ik, true) >= 0) {
		r = -EEXIST;
		goto out;
	}
	id = _fos_alloc(t);
	if (id < 0) {
		r = (int)id;
		goto out;
	}
	x = &t->rec[id];
	*x = *m;
	x->state = FOS_NAT_S_BUSY;
	r = _fos_put(t, &ik, (uint32_t)id, true);
	if (r == 0 && !in_only) {
		r = _fos_put(t, &ok, (uint32_t)id, true);
		if (r < 0)
			(void)_fos_put(t, &ik, (uint32_t)id, false);
	}
	if (r < 0) {
		x->last_ns = 0; /* given back at the next look */
		__atomic_store_n(&x->state, FOS_NAT_S_DEAD, __ATOMIC_RELEASE);
		goto out;
	}
	__atomic_store_n(&x->state, FOS_NAT_S_LIVE, __ATOMIC_RELEASE);
	if (ret_id)
		*ret_id = (uint32_t)id;
out:
	_fos_give(t, &ik);
	_fos_give(t, &ok);
	return r;
}

void fos_nat_tab_remove(struct fos_nat_tab *t, uint32_t id, uint64_t now)
{
	struct fos_nat_map *m;
	struct fos_nat_key k;

	if (!t->rec || id >= t->cap)
		return;
	m = &t->rec[id];
	if (__atomic_load_n(&m->state, __ATOMIC_ACQUIRE) != FOS_NAT_S_LIVE)
		return;
	fos_nat_in_key(m, &k);
	(void)_fos_put(t, &k, id, false);
	fos_nat_out_key(m, &k);
	(void)_fos_put(t, &k, id, false);
	m->last_ns = now;
	__atomic_store_n(&m->state, FOS_NAT_S_DEAD, __ATOMIC_RELEASE);
}

bool fos_nat_tab_reclaim(struct fos_nat_tab *t, uint32_t id, uint64_t now)
{
	struct fos_nat_map *m;

	if (!t->rec || id >= t->cap)
		return false;
	m = &t->rec[id];
	if (__atomic_load_n(&m->state, __ATOMIC_ACQUIRE) != FOS_NAT_S_DEAD)
		return false;
	if (now > m->last_ns && now - m->last_ns < FOS_NAT_GRACE_NS)
		return false;
	memset(m, 0, sizeof(*m)); /* FOS_NAT_S_FREE */
	_fos_push(t, id);
	return true;
}
