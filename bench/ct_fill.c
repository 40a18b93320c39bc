// SPDX-License-Identifier: GPL-2.0-only
/* The benchmark flows of a connection table and their writer (ct_fill.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "cleanup.h"
#include "ct_fill.h"

#define FILL_BATCH 8192U

static void addr_v4(uint8_t out[16], uint32_t a)
{
	memset(out, 0, 16);
	out[10] = 0xff;
	out[11] = 0xff;
	out[12] = (uint8_t)(a >> 24);
	out[13] = (uint8_t)(a >> 16);
	out[14] = (uint8_t)(a >> 8);
	out[15] = (uint8_t)a;
}

void bench_ct_key_v4(uint32_t saddr, uint16_t sport, uint32_t daddr, uint16_t dport, uint8_t proto,
		     struct fos_ct_key *ret)
{
	/* end 0 is the smaller (address, port): IPv4-mapped addresses compare
	 * in memcmp order as the host-order numbers do */
	bool swap = saddr > daddr || (saddr == daddr && sport > dport);

	memset(ret, 0, sizeof(*ret));
	addr_v4(ret->addr[0], swap ? daddr : saddr);
	addr_v4(ret->addr[1], swap ? saddr : daddr);
	ret->port[0] = swap ? dport : sport;
	ret->port[1] = swap ? sport : dport;
	ret->proto = proto;
}

void bench_ct_fill_key(uint32_t i, struct fos_ct_key *ret)
{
	bench_ct_key_v4(BENCH_CT_FILL_SADDR + i / BENCH_CT_FILL_PORTS,
			(uint16_t)(BENCH_CT_FILL_SPORT + i % BENCH_CT_FILL_PORTS), BENCH_CT_SERVER,
			BENCH_CT_SERVER_PORT, 6, ret);
}

int bench_ct_fill_expired(uint32_t i, double expired_fraction)
{
	/* flow i is expired when [i, i + 1) * fraction crosses an integer */
	return (uint64_t)((i + 1) * expired_fraction) > (uint64_t)(i * expired_fraction);
}

int64_t bench_ct_fill(int ct_fd, uint32_t count, double expired_fraction, uint64_t now_ns,
		      uint64_t expired_ns)
{
	_cleanup_free_ struct fos_ct_key *keys = calloc(FILL_BATCH, sizeof(*keys));
	_cleanup_free_ struct fos_ct_value *vals = calloc(FILL_BATCH, sizeof(*vals));
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
	uint32_t done = 0;

	if (!keys || !vals)
		return -ENOMEM;
	while (done < count) {
		uint32_t n = count - done < FILL_BATCH ? count - done : FILL_BATCH, k = n;

		for (uint32_t j = 0; j < n; j++) {
			uint32_t i = done + j;
			uint64_t t =
			    bench_ct_fill_expired(i, expired_fraction) ? expired_ns : now_ns;

			bench_ct_fill_key(i, &keys[j]);
			vals[j] = (struct fos_ct_value){
			    .first_ns = t,
			    .last_ns = t,
			    .packets = {4, 3},
			    .bytes = {260, 180},
			    .state = FOS_CTS_ESTABLISHED,
			    .flags = FOS_CT_F_SEEN_REPLY,
			};
		}
		if (bpf_map_update_batch(ct_fd, keys, vals, &k, &opts) < 0)
			return -errno;
		done += n;
	}
	return done;
}

int64_t bench_ct_delete(int ct_fd, const struct fos_ct_key *keys, uint32_t n)
{
	int64_t deleted = 0;
	uint32_t at = 0;

	while (at < n) {
		uint32_t k = n - at;

		if (bpf_map_delete_batch(ct_fd, keys + at, &k, NULL) == 0) {
			deleted += k;
			break;
		}
		if (errno != ENOENT)
			return -errno;
		/* keys + at + k is not there: step over it */
		deleted += k;
		at += k + 1;
	}
	return deleted;
}

int bench_ct_count_add(int count_fd, uint32_t idx, uint64_t n)
{
	uint64_t v = 0;

	if (bpf_map_lookup_elem(count_fd, &idx, &v) < 0)
		return -errno;
	v += n;
	if (bpf_map_update_elem(count_fd, &idx, &v, BPF_ANY) < 0)
		return -errno;
	return 0;
}

uint64_t bench_boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
