/* SPDX-License-Identifier: GPL-2.0-only */
/* The Internet checksum of the benchmarks' frames (RFC 1071), in user space. */
#ifndef FOS_BENCH_CSUM_H
#define FOS_BENCH_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* the checksum of len bytes at p (len even) on top of the partial sum
 * sum (a pseudo header's, or 0), in host order */
static inline uint16_t bench_csum(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

#endif
