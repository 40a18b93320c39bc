/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internet checksums (RFC 1071) summed by the program itself. The sum is
 * byte-order independent: words are added as they lie in memory, and the
 * folded result is stored the same way.
 */
#ifndef FOS_CSUM_BPF_H
#define FOS_CSUM_BPF_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

/* Adds n 16-bit words at p to sum, without folding. */
static __always_inline __u64 fos_csum_add16(__u64 sum, const void *p, int n)
{
	const __u16 *w = p;
	int i;

#pragma unroll
	for (i = 0; i < n; i++)
		sum += w[i];
	return sum;
}

/* A sum of 16- or 32-bit words folded to 16 bits and complemented, as
 * stored in a header. */
static __always_inline __u16 fos_csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

#endif /* FOS_CSUM_BPF_H */
