/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The global connection table (fos/abi.h, "connection tracking"), declared
 * once for every object that uses it: fwd creates and pins the maps
 * (global.bpf.c), sizing fos_ct to conntrack.maxConnections plus
 * FOS_CT_MAP_SLACK before load, and hands their fds to each program
 * (bpf_map__reuse_fd), so all programs share one table.
 */
#ifndef FOS_CT_MAPS_BPF_H
#define FOS_CT_MAPS_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "fos/abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FOS_CT_DEFAULT_MAX + FOS_CT_MAP_SLACK(FOS_CT_DEFAULT_MAX));
	__type(key, struct fos_ct_key);
	__type(value, struct fos_ct_value);
} fos_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fos_ct_cfg);
} fos_ct_cfg SEC(".maps");

/* by enum fos_ct_count_idx */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, _FOS_CT_COUNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} fos_ct_count SEC(".maps");

/* the flows each source opened that fos_ct holds (fos/abi.h, fos_ct_src):
 * the datapath adds, fwd's collector subtracts */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, FOS_CT_SRC_MAX);
	__type(key, struct fos_ddos_addr);
	__type(value, __u64);
} fos_ct_src SEC(".maps");

/* by enum fos_ct_stat */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, _FOS_CT_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} fos_ct_stats SEC(".maps");

#endif
