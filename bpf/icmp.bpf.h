/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ICMPv4 header (RFC 792) and the types the BPF programs use.
 *
 * Declared here rather than taken from <linux/icmp.h>: that header includes
 * <linux/if.h>, which includes the C library's <sys/socket.h>, and a BPF
 * object is built from the kernel's uapi headers alone (see nolibc/).
 */
#ifndef FOS_ICMP_BPF_H
#define FOS_ICMP_BPF_H

#include <linux/types.h>

#define FOS_ICMP_ECHOREPLY     0
#define FOS_ICMP_DEST_UNREACH  3
#define FOS_ICMP_ECHO	       8
#define FOS_ICMP_TIME_EXCEEDED 11
#define FOS_ICMP_PARAMETERPROB 12

struct fos_icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 id;	 /* echo request / reply */
	__be16 sequence; /* echo request / reply */
};

#endif
