/* SPDX-License-Identifier: GPL-2.0-only */
/* The median of the runs of a benchmark case, shared by the ns/packet
 * benchmarks (bench-filter, bench-ct, bench-ddos). */
#ifndef FOS_BENCH_MEDIAN_H
#define FOS_BENCH_MEDIAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

static inline int bench_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The median of the n values of v; sorts v. */
static inline double bench_median(uint32_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), bench_cmp_u32);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

#endif
