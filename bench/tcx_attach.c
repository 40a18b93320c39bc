// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench-tcx-attach PROG_PIN IFNAME ingress|egress LINK_PIN: the pinned
 * program on the interface's tcx hook (at the end), its link pinned at
 * LINK_PIN (removing the pin detaches it). Exit 77 where the kernel has no
 * tcx; the bare-hook cases of the benchmarks use it as fwd attaches.
 * bench-tcx-attach --probe: exit 0 where the kernel has tcx, 77 where not.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "tcx.h"

int main(int argc, char **argv)
{
	unsigned ifindex;
	int prog, link;

	if (argc == 2 && strcmp(argv[1], "--probe") == 0)
		return fos_tcx_supported() ? 0 : 77;
	if (argc != 5 || (strcmp(argv[3], "ingress") != 0 && strcmp(argv[3], "egress") != 0)) {
		fprintf(stderr,
			"usage: bench-tcx-attach PROG_PIN IFNAME ingress|egress LINK_PIN\n");
		return 2;
	}
	if (!fos_tcx_supported()) {
		fprintf(stderr, "bench-tcx-attach: this kernel has no tcx hooks\n");
		return 77;
	}
	ifindex = if_nametoindex(argv[2]);
	if (!ifindex) {
		fprintf(stderr, "bench-tcx-attach: no interface %s\n", argv[2]);
		return 1;
	}
	prog = bpf_obj_get(argv[1]);
	if (prog < 0) {
		fprintf(stderr, "bench-tcx-attach: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	link = fos_tcx_link_create(prog, ifindex, strcmp(argv[3], "ingress") == 0, 0, -1);
	if (link < 0) {
		fprintf(stderr, "bench-tcx-attach: cannot attach to tcx %s of %s: %s\n", argv[3],
			argv[2], strerror(-link));
		return 1;
	}
	if (bpf_obj_pin(link, argv[4]) < 0) {
		fprintf(stderr, "bench-tcx-attach: cannot pin the link as %s: %s\n", argv[4],
			strerror(errno));
		return 1;
	}
	close(link);
	close(prog);
	return 0;
}
