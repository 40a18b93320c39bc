/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tcx hooks (Linux 6.6 and later): bpf_links of an interface's TC ingress or
 * egress, several per hook in an order. Their uapi is newer than the
 * headers and the libbpf fos builds with: the attach types, flags and
 * attribute layouts here are the kernel's (include/uapi/linux/bpf.h).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define FOS_TCX_BEFORE (1U << 3)  /* BPF_F_BEFORE: before the relative one */
#define FOS_TCX_AFTER  (1U << 4)  /* BPF_F_AFTER */
#define FOS_TCX_LINK   (1U << 13) /* BPF_F_LINK: the relative one is a link fd */

/* the kernel has tcx hooks */
bool fos_tcx_supported(void);
/* A link of prog_fd on ifindex's ingress or egress, placed by flags
 * relative to the link relative_fd (flags 0: at the end). fd, or -errno. */
int fos_tcx_link_create(int prog_fd, unsigned ifindex, bool ingress, uint32_t flags,
			int relative_fd);
/* The interface (0: it went away) and program of the tcx link fd: 0, or
 * -errno (-EINVAL: not a tcx link). */
int fos_tcx_link_info(int fd, uint32_t *ret_ifindex, uint32_t *ret_prog_id);
