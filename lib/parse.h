/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Parsers for the values an operator writes: addresses, CIDRs, ports and
 * port ranges, protocol names, rates and durations. Each returns 0 or a
 * negative errno and writes its output only on success. On failure the
 * optional `err` buffer (may be NULL) receives a one-line reason that names
 * the input, e.g. "70000 is out of range 0-65535".
 */
#ifndef FOS_PARSE_H
#define FOS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FOS_ERRBUF 256

/* An address of either family, stored as 16 bytes: IPv4 as ::ffff:a.b.c.d. */
struct fos_addr {
	uint8_t b[16];
};

struct fos_cidr {
	struct fos_addr addr;
	int family;   /* AF_INET or AF_INET6 */
	uint8_t plen; /* 0-32 for AF_INET, 0-128 for AF_INET6 */
};

/* "192.0.2.1" or "2001:db8::1" */
int fos_parse_addr(const char *s, struct fos_addr *ret, int *ret_family, char *err);
/* "192.0.2.0/24", "2001:db8::/32"; a bare address is a host prefix (/32, /128).
 * Host bits set beyond the prefix are an error that names the network. */
int fos_parse_cidr(const char *s, struct fos_cidr *ret, char *err);
/* canonical text form, "192.0.2.0/24"; buf of at least FOS_CIDR_STRLEN */
#define FOS_CIDR_STRLEN 64
const char *fos_cidr_to_string(const struct fos_cidr *c, char *buf, size_t len);
bool fos_addr_is_v4(const struct fos_addr *a);
/* an IPv4 prefix: written as IPv4, or as IPv6 inside ::ffff:0:0/96 */
bool fos_cidr_is_v4(const struct fos_cidr *c);
/* prefix length in the 128-bit space (IPv4 plen + 96) */
unsigned fos_cidr_plen128(const struct fos_cidr *c);

/* a port number 0-65535 */
int fos_parse_port(const char *s, uint16_t *ret, char *err);
/* "80", "8000-8100" (lo <= hi) */
int fos_parse_port_range(const char *s, uint16_t *ret_lo, uint16_t *ret_hi, char *err);

/* "tcp", "udp", "icmp", "icmpv6", "any" (case-insensitive) -> IP protocol
 * number; "any" -> 0 */
int fos_parse_protocol(const char *s, uint8_t *ret, char *err);
const char *fos_protocol_to_string(uint8_t proto);

/* bits per second: "10Mbps", "1Gbps", "512kbps", "100bps", "1.5Gbps",
 * "unlimited" (-> UINT64_MAX). Units are SI (k = 1000). */
int fos_parse_rate(const char *s, uint64_t *ret_bps, char *err);
/* "30s", "5m", "1h", "1d", "250ms", "1h30m", or a plain number of seconds
 * -> milliseconds */
int fos_parse_duration(const char *s, uint64_t *ret_ms, char *err);

#endif
