/* SPDX-License-Identifier: GPL-2.0-only */
/* The global set tries, declared once for every object that reads them: fwd
 * creates and pins them (global.bpf.c) and hands their fds to each program. */
#ifndef FOS_SETS_BPF_H
#define FOS_SETS_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "fos/abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, FOS_SETS_MAX_ENTRIES);
	__type(key, struct fos_set_key);
	__type(value, struct fos_set_value);
} fos_sets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, FOS_SETS_MAX_ENTRIES);
	__type(key, struct fos_set_key4);
	__type(value, struct fos_set_value);
} fos_sets4 SEC(".maps");

#endif
