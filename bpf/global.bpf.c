// SPDX-License-Identifier: GPL-2.0-only
/* Maps shared by every fos program, created and pinned once by fwd (the
 * connection table has an object of its own, ctmaps.bpf.c, made only when a
 * program needs it). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "fos/abi.h"
#include "sets.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FOS_SET_META_MAX);
	__type(key, __u32);
	__type(value, struct fos_set_meta);
} fos_set_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fos_state);
} fos_state SEC(".maps");

char LICENSE[] SEC("license") = "GPL";
