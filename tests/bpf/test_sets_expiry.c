/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Timed set entries (daemon/sets.c): the expiry steps fwd runs from its event
 * loop, against the real global set tries (fos_global, unpinned), and the
 * read-back of timed entries on start-up. The last test puts 1M timed entries
 * in one set and prints how long the steps that remove them hold the loop.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fos/abi.h"
#include "fwd.h"
#include "global.skel.h"

#define SEC_NS	 1000000000ULL
#define BUDGET	 (2ULL * 1000 * 1000)
#define NOW	 (1000 * SEC_NS) /* a fixed "now" for the steps */
#define BIG_N	 (1000 * 1000)
#define BIG_PLEN 32

static struct fos_global *g;
static struct fos_set_maps maps;

static void setup(void)
{
	g = fos_global__open_and_load();
	ck_assert_ptr_nonnull(g);
	maps = (struct fos_set_maps){bpf_map__fd(g->maps.fos_sets), bpf_map__fd(g->maps.fos_sets4),
				     bpf_map__fd(g->maps.fos_set_meta)};
}

static void teardown(void)
{
	fos_global__destroy(g);
	g = NULL;
}

static struct fos_cidr cidr(const char *s)
{
	struct fos_cidr c;

	ck_assert_msg(fos_parse_cidr(s, &c, NULL) == 0, "bad CIDR %s", s);
	return c;
}

static ssize_t find(const struct fos_rset *s, const char *c)
{
	struct fos_cidr x = cidr(c);

	return fos_rset_find(s, &x);
}

static void add(struct fos_rset *s, const char *c, uint32_t flags, uint64_t expires_ns)
{
	struct fos_set_entry e = {.cidr = cidr(c), .flags = flags, .expires_ns = expires_ns};

	ck_assert_int_eq(fos_rset_append_entry(s, &e), 0);
}

/* the value of c in set id's trie: 0, or -ENOENT when absent */
static int map_get(uint32_t id, const char *c, struct fos_set_value *ret)
{
	struct fos_cidr x = cidr(c);
	int r;

	if (fos_cidr_is_v4(&x)) {
		struct fos_set_key4 k = {.prefixlen =
					     FOS_SET_KEY_PREFIX + fos_cidr_plen128(&x) - 96,
					 .set_id = htonl(id)};

		memcpy(k.addr, x.addr.b + 12, 4);
		r = bpf_map_lookup_elem(maps.v4, &k, ret);
	} else {
		struct fos_set_key k = {.prefixlen = FOS_SET_KEY_PREFIX + fos_cidr_plen128(&x),
					.set_id = htonl(id)};

		memcpy(k.addr, x.addr.b, 16);
		r = bpf_map_lookup_elem(maps.v6, &k, ret);
	}
	return r < 0 ? -errno : 0;
}

static void new_set(struct fos_rset *s, const char *name, uint32_t id)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->id = id;
	s->meta_flags = FOS_SET_META_F_NAMED;
}

static struct fos_cidr v4_host(uint32_t a)
{
	struct fos_cidr c = {.family = AF_INET, .plen = BIG_PLEN};

	c.addr.b[10] = c.addr.b[11] = 0xff;
	c.addr.b[12] = a >> 24;
	c.addr.b[13] = a >> 16;
	c.addr.b[14] = a >> 8;
	c.addr.b[15] = a;
	return c;
}

/* s's index agrees with its entries: one slot per entry, each entry found
 * (at its own position, or at another with the same CIDR) */
static void check_index(const struct fos_rset *s)
{
	size_t used = 0;

	for (size_t k = 0; k < s->idx_cap; k++)
		if (s->idx[k]) {
			ck_assert_uint_le(s->idx[k], s->n);
			used++;
		}
	ck_assert_uint_eq(used, s->n);
	for (size_t i = 0; i < s->n; i++) {
		ssize_t j = fos_rset_find(s, &s->e[i].cidr);

		ck_assert_int_ge(j, 0);
		ck_assert_mem_eq(&s->e[j].cidr.addr, &s->e[i].cidr.addr, sizeof(s->e[i].cidr.addr));
		ck_assert_uint_eq(fos_cidr_plen128(&s->e[j].cidr), fos_cidr_plen128(&s->e[i].cidr));
	}
}

/* run steps at now until the pass is over; the number of steps */
static unsigned run_steps(struct fos_rset *sets, size_t n, struct fos_set_expiry *x, uint64_t now,
			  uint64_t budget, uint32_t *ret_ms)
{
	unsigned steps = 0;
	uint32_t ms;

	do {
		ms = fos_sets_expire_step(&maps, sets, n, x, now, budget);
		steps++;
		ck_assert_uint_lt(steps, 100000);
	} while (ms == 0);
	*ret_ms = ms;
	return steps;
}

START_TEST(test_expire_basic)
{
	struct fos_rset s;
	struct fos_set_expiry x = {};
	struct fos_set_value v;
	uint32_t ms;

	new_set(&s, "blocked", 7);
	add(&s, "10.9.0.0/24", FOS_SET_F_CONFIG, 0);
	add(&s, "10.1.1.1/32", FOS_SET_F_DYNAMIC, NOW - 1);
	add(&s, "10.1.1.2/32", FOS_SET_F_DYNAMIC, NOW + 2500 * 1000 * 1000ULL);
	add(&s, "fd00::1/128", FOS_SET_F_DYNAMIC | FOS_SET_F_AUTO, NOW - SEC_NS);
	add(&s, "10.1.1.3/32", FOS_SET_F_DYNAMIC, 0);
	ck_assert_int_eq(fos_sets_write(&maps, &s, 1), 0);
	ck_assert_int_eq(map_get(7, "10.1.1.2/32", &v), 0);
	ck_assert_uint_eq(v.expires_ns, NOW + 2500 * 1000 * 1000ULL);
	ck_assert_uint_eq(v.flags, FOS_SET_F_DYNAMIC);

	fos_sets_expiry_reset(&x, &s, 1);
	ck_assert_uint_eq(x.next_ns, NOW - SEC_NS);
	/* before the earliest expiry: nothing to do, the wait until it */
	ck_assert_uint_eq(fos_sets_expire_step(&maps, &s, 1, &x, NOW - 2 * SEC_NS, BUDGET), 1000);
	ck_assert_uint_eq(fos_sets_expire_step(&maps, &s, 1, &x, NOW - SEC_NS - 5000000, BUDGET),
			  5);
	ck_assert_uint_eq(s.n, 5);

	run_steps(&s, 1, &x, NOW, BUDGET, &ms);
	/* the next one expires in 2.5 s: looked at again within a second */
	ck_assert_uint_eq(ms, 1000);
	ck_assert_uint_eq(x.next_ns, NOW + 2500 * 1000 * 1000ULL);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_uint_eq(s.expired, 2);
	ck_assert_int_lt(find(&s, "10.1.1.1/32"), 0);
	ck_assert_int_lt(find(&s, "fd00::1/128"), 0);
	ck_assert_int_eq(map_get(7, "10.1.1.1/32", &v), -ENOENT);
	ck_assert_int_eq(map_get(7, "fd00::1/128", &v), -ENOENT);
	ck_assert_int_eq(map_get(7, "10.9.0.0/24", &v), 0);
	ck_assert_int_eq(map_get(7, "10.1.1.3/32", &v), 0);
	ck_assert_uint_eq(fos_rset_count_timed(&s), 1);

	run_steps(&s, 1, &x, NOW + 3 * SEC_NS, BUDGET, &ms);
	ck_assert_uint_eq(ms, UINT32_MAX); /* nothing left that can expire */
	ck_assert_uint_eq(x.next_ns, 0);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_uint_eq(s.expired, 3);
	ck_assert_int_eq(map_get(7, "10.1.1.2/32", &v), -ENOENT);
	fos_rset_free(&s);
}
END_TEST

START_TEST(test_expire_nothing_timed)
{
	struct fos_rset s;
	struct fos_set_expiry x = {};

	new_set(&s, "blocked", 3);
	add(&s, "10.9.0.0/24", FOS_SET_F_CONFIG, 0);
	add(&s, "10.1.1.3/32", FOS_SET_F_DYNAMIC, 0);
	ck_assert_int_eq(fos_sets_write(&maps, &s, 1), 0);
	fos_sets_expiry_reset(&x, &s, 1);
	ck_assert_uint_eq(fos_sets_expire_step(&maps, &s, 1, &x, NOW, BUDGET), UINT32_MAX);
	ck_assert(!x.passing);
	ck_assert_uint_eq(s.n, 2);
	fos_rset_free(&s);
}
END_TEST

/* The datapath blocked the source again: the map's later expiry wins. */
START_TEST(test_expire_map_later)
{
	struct fos_rset s;
	struct fos_set_expiry x = {};
	struct fos_cidr c = cidr("198.18.0.5/32");
	struct fos_set_value v;
	uint32_t ms;

	new_set(&s, "blocked", 4);
	add(&s, "198.18.0.5/32", FOS_SET_F_DYNAMIC | FOS_SET_F_AUTO, NOW - 1);
	ck_assert_int_eq(fos_sets_write(&maps, &s, 1), 0);
	ck_assert_int_eq(fos_sets_add_entry(&maps, 4, &c, FOS_SET_F_DYNAMIC | FOS_SET_F_AUTO,
					    NOW + 300 * SEC_NS),
			 0);
	fos_sets_expiry_reset(&x, &s, 1);
	run_steps(&s, 1, &x, NOW, BUDGET, &ms);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(s.expired, 0);
	ck_assert_uint_eq(s.e[0].expires_ns, NOW + 300 * SEC_NS);
	ck_assert_uint_eq(x.next_ns, NOW + 300 * SEC_NS);
	ck_assert_int_eq(map_get(4, "198.18.0.5/32", &v), 0);
	fos_rset_free(&s);
}
END_TEST

/* Entries appended to a list after the last step (as the datapath's blocks
 * are recorded) are found by the next step. */
START_TEST(test_expire_appended)
{
	struct fos_rset s;
	struct fos_set_expiry x = {};
	struct fos_set_value v;
	uint32_t ms;

	new_set(&s, "blocked", 5);
	add(&s, "10.9.0.0/24", FOS_SET_F_CONFIG, 0);
	ck_assert_int_eq(fos_sets_write(&maps, &s, 1), 0);
	fos_sets_expiry_reset(&x, &s, 1);
	ck_assert_uint_eq(fos_sets_expire_step(&maps, &s, 1, &x, NOW, BUDGET), UINT32_MAX);

	add(&s, "198.18.0.9/32", FOS_SET_F_DYNAMIC | FOS_SET_F_AUTO, NOW + SEC_NS / 2);
	ck_assert_int_eq(
	    fos_sets_add_entry(&maps, 5, &s.e[1].cidr, s.e[1].flags, s.e[1].expires_ns), 0);
	ck_assert_uint_eq(fos_sets_expire_step(&maps, &s, 1, &x, NOW, BUDGET), 500);
	ck_assert_uint_eq(s.n, 2);
	run_steps(&s, 1, &x, NOW + SEC_NS / 2, BUDGET, &ms);
	ck_assert_uint_eq(ms, UINT32_MAX);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(s.expired, 1);
	ck_assert_int_eq(map_get(5, "198.18.0.9/32", &v), -ENOENT);
	fos_rset_free(&s);
}
END_TEST

/* Steps cut short by their budget resume where they stopped, also when an
 * entry before the pass's position is removed in between (set del). */
START_TEST(test_expire_resumes)
{
	struct fos_rset s[2];
	struct fos_set_expiry x = {};
	unsigned steps = 0;
	char buf[64];
	uint32_t ms;

	new_set(&s[0], "a", 10);
	new_set(&s[1], "b", 11);
	for (unsigned i = 0; i < 3000; i++) {
		snprintf(buf, sizeof(buf), "10.%u.%u.0/24", i / 256, i % 256);
		/* every third entry has not expired yet */
		add(&s[i % 2], buf, FOS_SET_F_DYNAMIC, i % 3 ? NOW - 1 : NOW + SEC_NS);
	}
	ck_assert_int_eq(fos_sets_write(&maps, &s[0], 1), 0);
	ck_assert_int_eq(fos_sets_write(&maps, &s[1], 1), 0);
	fos_sets_expiry_reset(&x, s, 2);
	/* a budget of 0: a step looks at a few hundred entries at most */
	ck_assert_uint_eq(fos_sets_expire_step(&maps, s, 2, &x, NOW, 0), 0);
	ck_assert(x.passing);
	ck_assert_uint_gt(x.i, 2);
	fos_sets_remove_at(&x, s, x.set, 0);
	fos_sets_remove_at(&x, s, x.set, 1);
	while (fos_sets_expire_step(&maps, s, 2, &x, NOW, 0) == 0)
		steps++;
	ck_assert_uint_gt(steps, 5);
	ms = fos_sets_expire_step(&maps, s, 2, &x, NOW, 0);
	ck_assert_uint_eq(ms, 1000);
	/* the 1000 that had not expired, less the two removed */
	ck_assert_uint_eq(s[0].n + s[1].n, 998);
	for (unsigned k = 0; k < 2; k++)
		for (size_t i = 0; i < s[k].n; i++)
			ck_assert_uint_eq(s[k].e[i].expires_ns, NOW + SEC_NS);
	ck_assert_uint_eq(s[0].expired + s[1].expired, 2000);
	ck_assert_uint_eq(x.removed, 2000);
	check_index(&s[0]);
	check_index(&s[1]);
	ck_assert_int_lt(find(&s[1], "10.0.1.0/24"), 0); /* expired */
	fos_rset_free(&s[0]);
	fos_rset_free(&s[1]);
}
END_TEST

/* fwd restarting: timed entries come back with their expiry and flags,
 * expired ones are deleted and counted. */
START_TEST(test_read_back)
{
	struct fos_rset s, *all = NULL;
	uint64_t now = fos_sets_now_ns();
	struct fos_set_value v;
	size_t n = 0;
	uint32_t max_id = 0;

	new_set(&s, "blocked", 9);
	add(&s, "10.9.0.0/24", FOS_SET_F_CONFIG, 0);
	add(&s, "10.1.1.1/32", FOS_SET_F_DYNAMIC, now - 1);
	add(&s, "10.1.1.2/32", FOS_SET_F_DYNAMIC, now + 60 * SEC_NS);
	add(&s, "fd00::5/128", FOS_SET_F_DYNAMIC | FOS_SET_F_AUTO, now + 30 * SEC_NS);
	add(&s, "fd00::6/128", FOS_SET_F_DYNAMIC | FOS_SET_F_AUTO, now - SEC_NS);
	ck_assert_int_eq(fos_sets_write(&maps, &s, 1), 0);
	ck_assert_int_eq(fos_sets_read_all(&maps, &all, &n, &max_id), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(all[0].name, "blocked");
	ck_assert_uint_eq(all[0].n, 3);
	ck_assert_uint_eq(all[0].expired, 2);
	for (size_t i = 0; i < s.n; i++) {
		ssize_t j = fos_rset_find(&all[0], &s.e[i].cidr);

		if (s.e[i].expires_ns && s.e[i].expires_ns <= now) {
			ck_assert_int_lt(j, 0);
			continue;
		}
		ck_assert_int_ge(j, 0);
		ck_assert_uint_eq(all[0].e[j].flags, s.e[i].flags);
		ck_assert_uint_eq(all[0].e[j].expires_ns, s.e[i].expires_ns);
	}
	ck_assert_int_eq(map_get(9, "10.1.1.1/32", &v), -ENOENT);
	ck_assert_int_eq(map_get(9, "fd00::6/128", &v), -ENOENT);
	ck_assert_int_eq(map_get(9, "fd00::5/128", &v), 0);
	for (size_t i = 0; i < n; i++)
		fos_rset_free(&all[i]);
	free(all);
	fos_rset_free(&s);
}
END_TEST

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * SEC_NS + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* 1M timed entries in one set: while none can expire a step scans nothing;
 * when all expire together no step holds the loop much past its budget. */
START_TEST(test_expire_million)
{
	struct fos_rset s;
	struct fos_set_expiry x = {};
	uint64_t t0, t, worst = 0, worst_cpu = 0, total = 0, total_cpu = 0, idle;
	unsigned steps = 0, over = 0;
	struct fos_set_value v;
	uint32_t ms;

	new_set(&s, "big", 20);
	for (uint32_t i = 0; i < BIG_N; i++) {
		struct fos_set_entry e = {.cidr = v4_host(0x0a000000U + i), /* 10.0.0.0 + i */
					  .flags = FOS_SET_F_DYNAMIC,
					  .expires_ns =
					      NOW + SEC_NS + i % 1000}; /* all within 1 µs */

		ck_assert_int_eq(fos_rset_append_entry(&s, &e), 0);
	}
	t0 = mono_ns();
	ck_assert_int_eq(fos_sets_write(&maps, &s, 1), 0);
	printf("sets-expiry: wrote %u timed entries in %.0f ms\n", BIG_N,
	       (double)(mono_ns() - t0) / 1e6);
	fos_sets_expiry_reset(&x, &s, 1);

	t0 = mono_ns();
	ck_assert_uint_eq(fos_sets_expire_step(&maps, &s, 1, &x, NOW, BUDGET), 1000);
	idle = mono_ns() - t0;
	ck_assert(!x.passing);
	printf("sets-expiry: a step before any expiry: %.1f us\n", (double)idle / 1e3);

	/* wall time, which a busy machine stretches, and the CPU time the
	 * steps took, which it does not */
	do {
		uint64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), c;

		t0 = mono_ns();
		ms = fos_sets_expire_step(&maps, &s, 1, &x, NOW + 2 * SEC_NS, BUDGET);
		t = mono_ns() - t0;
		c = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
		total += t;
		worst = t > worst ? t : worst;
		worst_cpu = c > worst_cpu ? c : worst_cpu;
		total_cpu += c;
		over += t > 2 * BUDGET;
		steps++;
	} while (ms == 0);
	printf("sets-expiry: %u entries removed in %u steps of a %.0f ms budget: "
	       "%.0f ms in all, %.0f ns per entry, longest step %.2f ms, %u steps over twice the "
	       "budget; longest in CPU time %.2f ms\n",
	       BIG_N, steps, (double)BUDGET / 1e6, (double)total / 1e6, (double)total / BIG_N,
	       (double)worst / 1e6, over, (double)worst_cpu / 1e6);
	ck_assert_uint_eq(ms, UINT32_MAX);
	ck_assert_uint_eq(s.n, 0);
	ck_assert_uint_eq(s.expired, BIG_N);
	ck_assert_uint_gt(steps, 10);
	/* bounded: the steps' own work stays near their budget; a few take
	 * longer when the kernel frees deleted trie nodes in their time */
	ck_assert_uint_lt(total_cpu / steps, 2 * BUDGET);
	ck_assert_uint_lt(worst_cpu, 50 * BUDGET);
	/* a handful logged at info, the rest at debug and summed up once the
	 * minute is over */
	ck_assert_uint_eq(x.log_shown, 8);
	ck_assert_uint_eq(x.log_quiet, BIG_N - 8);
	ck_assert_uint_eq(fos_sets_expire_step(&maps, &s, 1, &x, NOW + 3 * SEC_NS, BUDGET), 1000);
	ck_assert_uint_eq(fos_sets_expire_step(&maps, &s, 1, &x, NOW + 63 * SEC_NS, BUDGET),
			  UINT32_MAX);
	ck_assert_uint_eq(x.log_quiet, 0);
	ck_assert_int_eq(map_get(20, "10.0.0.1/32", &v), -ENOENT);
	ck_assert_int_eq(map_get(20, "10.15.66.63/32", &v), -ENOENT);
	fos_rset_free(&s);
}
END_TEST

/* The index by CIDR against a plain list under random appends (duplicates,
 * IPv4 and IPv6, many prefixes of one address), swap removals and ordered
 * removals: every entry is found, nothing removed is. */
START_TEST(test_rset_index)
{
	struct fos_rset s;
	struct fos_set_expiry x = {};
	uint64_t seed = 12345;

	new_set(&s, "idx", 30);
	for (unsigned round = 0; round < 20000; round++) {
		struct fos_set_entry e = {.flags = FOS_SET_F_DYNAMIC};
		unsigned op;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		op = (unsigned)(seed >> 33) % 10;
		if (op < 6 || s.n == 0) {
			/* a small space of CIDRs, so duplicates and collisions happen */
			unsigned a = (unsigned)(seed >> 40) % 512;

			if (a & 1) {
				e.cidr = v4_host(0xc6120000U + a);
				e.cidr.plen = 24 + (uint8_t)(a % 9);
			} else {
				e.cidr.family = AF_INET6;
				e.cidr.plen = 64;
				e.cidr.addr.b[0] = 0xfd;
				e.cidr.addr.b[7] = (uint8_t)a;
			}
			if (op == 0)
				ck_assert_int_eq(fos_rset_append_entry(&s, &e), 0);
			else
				ck_assert_int_ge(fos_rset_add(&s, &e, NULL), 0);
		} else if (op < 9) {
			fos_rset_remove_swap(&s, (size_t)(seed >> 20) % s.n);
			s.seen = s.seen > s.n ? s.n : s.seen;
		} else {
			fos_sets_remove_at(&x, &s, 0, (size_t)(seed >> 20) % s.n);
		}
		if (round % 997 == 0)
			check_index(&s);
	}
	check_index(&s);
	/* a CIDR is absent once every entry with it has gone */
	while (s.n) {
		struct fos_cidr c = s.e[0].cidr;
		ssize_t j;

		while ((j = fos_rset_find(&s, &c)) >= 0)
			fos_rset_remove_swap(&s, (size_t)j);
		for (size_t i = 0; i < s.n; i++)
			ck_assert(memcmp(&s.e[i].cidr.addr, &c.addr, sizeof(c.addr)) != 0 ||
				  fos_cidr_plen128(&s.e[i].cidr) != fos_cidr_plen128(&c));
	}
	check_index(&s);
	fos_rset_free(&s);
	ck_assert_ptr_null(s.idx);
	ck_assert_int_eq(find(&s, "10.0.0.1/32"), -ENOENT);
}
END_TEST

/* the lookup fwd made before sets had an index: a scan of every entry */
static ssize_t find_linear(const struct fos_rset *s, const struct fos_cidr *c)
{
	for (size_t i = 0; i < s->n; i++)
		if (fos_cidr_plen128(&s->e[i].cidr) == fos_cidr_plen128(c) &&
		    memcmp(s->e[i].cidr.addr.b, c->addr.b, sizeof(c->addr.b)) == 0)
			return (ssize_t)i;
	return -ENOENT;
}

/* A block event as fwd records it (fos_rset_add: look the CIDR up, append
 * it if absent) on a set of 1M entries: 10,000 new sources, then the same
 * again (found, nothing added). Prints the cost per event, and for a
 * sample the cost of the scan the lookup used to be. */
#define EVENTS_N 10000
START_TEST(test_block_events_million)
{
	struct fos_rset s;
	uint64_t t0, t_new, t_dup, t_lin;
	unsigned lin_n = 20;

	new_set(&s, "blocked", 40);
	t0 = mono_ns();
	for (uint32_t i = 0; i < BIG_N; i++) {
		struct fos_set_entry e = {.cidr = v4_host(0x0a000000U + i),
					  .flags = FOS_SET_F_CONFIG};

		ck_assert_int_eq(fos_rset_append_entry(&s, &e), 0);
	}
	printf("sets-index: appended %u entries in %.0f ms\n", BIG_N,
	       (double)(mono_ns() - t0) / 1e6);

	t0 = mono_ns();
	for (uint32_t i = 0; i < EVENTS_N; i++) {
		struct fos_set_entry e = {.cidr = v4_host(0xc6120000U + i * 7),
					  .flags = FOS_SET_F_DYNAMIC | FOS_SET_F_AUTO,
					  .expires_ns = NOW + 300 * SEC_NS};

		ck_assert_int_eq(fos_rset_add(&s, &e, NULL), 1);
	}
	t_new = mono_ns() - t0;
	t0 = mono_ns();
	for (uint32_t i = 0; i < EVENTS_N; i++) {
		struct fos_set_entry e = {.cidr = v4_host(0xc6120000U + i * 7)};
		size_t at;

		ck_assert_int_eq(fos_rset_add(&s, &e, &at), 0);
		ck_assert_uint_eq(at, BIG_N + i);
	}
	t_dup = mono_ns() - t0;
	ck_assert_uint_eq(s.n, BIG_N + EVENTS_N);

	/* the old scan, on sources that are not in the set (a full pass each) */
	t0 = mono_ns();
	for (unsigned i = 0; i < lin_n; i++) {
		struct fos_cidr c = v4_host(0xcb007100U + i);

		ck_assert_int_lt(find_linear(&s, &c), 0);
	}
	t_lin = mono_ns() - t0;
	printf("sets-index: %u block events on a set of %u entries: %.0f ns per new source, "
	       "%.0f ns per known source; a linear scan took %.0f ns per new source\n",
	       EVENTS_N, BIG_N, (double)t_new / EVENTS_N, (double)t_dup / EVENTS_N,
	       (double)t_lin / lin_n);
	/* generous for a loaded or sanitized build: the scan took ms */
	ck_assert_uint_lt(t_new / EVENTS_N, 50 * 1000);
	ck_assert_uint_lt(t_dup / EVENTS_N, 50 * 1000);
	fos_rset_free(&s);
}
END_TEST

static Suite *sets_expiry_suite(void)
{
	Suite *s = suite_create("sets_expiry");
	TCase *tc = tcase_create("expiry");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_expire_basic);
	tcase_add_test(tc, test_expire_nothing_timed);
	tcase_add_test(tc, test_expire_map_later);
	tcase_add_test(tc, test_expire_appended);
	tcase_add_test(tc, test_expire_resumes);
	tcase_add_test(tc, test_read_back);
	tcase_add_test(tc, test_expire_million);
	tcase_add_test(tc, test_rset_index);
	tcase_add_test(tc, test_block_events_million);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	struct fos_global *probe;
	SRunner *sr;
	int failed;

	if (geteuid() != 0) {
		printf("SKIP: test-sets-expiry needs root to create BPF maps\n");
		return 77;
	}
	probe = fos_global__open_and_load();
	if (!probe) {
		printf("SKIP: cannot create the global set maps here (%s)\n", strerror(errno));
		return 77;
	}
	fos_global__destroy(probe);
	setbuf(stdout, NULL);
	sr = srunner_create(sets_expiry_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
