// SPDX-License-Identifier: GPL-2.0-only
/*
 * fos_xdp_pass: passes every frame. For the test and demo namespaces: a veth
 * hands frames sent to it with XDP_TX or an XDP redirect (fos's SYN cookie
 * answers, redirects) to the stack only when an XDP program runs on it, so
 * the receiving end of such a veth gets this one:
 *     ip link set dev DEV xdp obj xdp_pass.bpf.o sec xdp
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int fos_xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
