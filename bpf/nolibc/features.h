/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every C library header on Debian starts by including <features.h>; the
 * BPF objects are compiled with this directory first on the include path, so
 * a C library header reached from bpf/ (directly or through a kernel uapi
 * header that includes one) stops the build here, on every machine, instead
 * of compiling where some package happens to be installed and failing where
 * it is not. Declare what is needed in bpf/ instead (see icmp.bpf.h).
 */
#error "a BPF object includes a C library header: bpf/ builds from kernel uapi headers only"
