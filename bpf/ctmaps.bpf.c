// SPDX-License-Identifier: GPL-2.0-only
/* The global connection table and its settings, created and pinned by fwd
 * when the first stateful program is applied; every stateful program shares
 * them by fd. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "fos/abi.h"
#include "ct_maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";
