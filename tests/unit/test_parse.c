// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cleanup.h"
#include "parse.h"

/* An input that must fail with this errno and exactly this message. */
struct bad_case {
	const char *in;
	int r;
	const char *msg;
};

static void assert_v4(const struct fos_addr *a, const char *dotted)
{
	uint8_t want[16] = {[10] = 0xff, [11] = 0xff};

	ck_assert_int_eq(inet_pton(AF_INET, dotted, want + 12), 1);
	ck_assert_mem_eq(a->b, want, 16);
}

/* addresses */

START_TEST(test_cidr_v4_mapped)
{
	struct fos_cidr c;
	char buf[FOS_CIDR_STRLEN];

	/* ::ffff:0:0/96 and longer are IPv4 prefixes, shown as such */
	ck_assert_int_eq(fos_parse_cidr("::ffff:10.0.0.0/104", &c, NULL), 0);
	ck_assert_int_eq(c.family, AF_INET);
	ck_assert_uint_eq(c.plen, 8);
	ck_assert_str_eq(fos_cidr_to_string(&c, buf, sizeof(buf)), "10.0.0.0/8");
	ck_assert(fos_cidr_is_v4(&c));
	ck_assert_int_eq(fos_parse_cidr("::ffff:192.0.2.1", &c, NULL), 0);
	ck_assert_str_eq(fos_cidr_to_string(&c, buf, sizeof(buf)), "192.0.2.1/32");
	ck_assert_int_eq(fos_parse_cidr("::ffff:0:0/96", &c, NULL), 0);
	ck_assert_str_eq(fos_cidr_to_string(&c, buf, sizeof(buf)), "0.0.0.0/0");
	/* shorter than /96 covers more than IPv4: an IPv6 prefix */
	ck_assert_int_eq(fos_parse_cidr("::/80", &c, NULL), 0);
	ck_assert_int_eq(c.family, AF_INET6);
	ck_assert(!fos_cidr_is_v4(&c));
	ck_assert_int_eq(fos_parse_cidr("::/0", &c, NULL), 0);
	ck_assert(!fos_cidr_is_v4(&c));
}
END_TEST

START_TEST(test_addr_v4)
{
	struct fos_addr a;
	int family = 0;

	ck_assert_int_eq(fos_parse_addr("192.0.2.1", &a, &family, NULL), 0);
	ck_assert_int_eq(family, AF_INET);
	assert_v4(&a, "192.0.2.1");
	ck_assert(fos_addr_is_v4(&a));

	ck_assert_int_eq(fos_parse_addr("0.0.0.0", &a, &family, NULL), 0);
	assert_v4(&a, "0.0.0.0");
	ck_assert_int_eq(fos_parse_addr("255.255.255.255", &a, &family, NULL), 0);
	assert_v4(&a, "255.255.255.255");
}
END_TEST

START_TEST(test_addr_v6)
{
	static const uint8_t want[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x01};
	struct fos_addr a;
	int family = 0;

	ck_assert_int_eq(fos_parse_addr("2001:db8::1", &a, &family, NULL), 0);
	ck_assert_int_eq(family, AF_INET6);
	ck_assert_mem_eq(a.b, want, 16);
	ck_assert(!fos_addr_is_v4(&a));

	ck_assert_int_eq(fos_parse_addr("2001:DB8:0:0:0:0:0:1", &a, &family, NULL), 0);
	ck_assert_mem_eq(a.b, want, 16);

	/* Written as IPv6, it stays IPv6 even though the bytes are v4-mapped. */
	ck_assert_int_eq(fos_parse_addr("::ffff:192.0.2.1", &a, &family, NULL), 0);
	ck_assert_int_eq(family, AF_INET6);
	assert_v4(&a, "192.0.2.1");
	ck_assert(fos_addr_is_v4(&a));
}
END_TEST

START_TEST(test_addr_bad)
{
	static const struct bad_case cases[] = {
	    {"", -EINVAL, "an empty string is not an IP address"},
	    {"1.2.3", -EINVAL, "1.2.3 is not an IP address"},
	    {"256.1.1.1", -EINVAL, "256.1.1.1 is not an IP address"},
	    {"01.2.3.4", -EINVAL, "01.2.3.4 is not an IP address"},
	    {" 1.2.3.4", -EINVAL, " 1.2.3.4 is not an IP address"},
	    {"1.2.3.4 ", -EINVAL, "1.2.3.4  is not an IP address"},
	    {"1.2.3.4x", -EINVAL, "1.2.3.4x is not an IP address"},
	    {"1.2.3.4/32", -EINVAL, "1.2.3.4/32 is not an IP address"},
	    {"2001:db8:::1", -EINVAL, "2001:db8:::1 is not an IP address"},
	    {"fe80::1%eth0", -EINVAL, "fe80::1%eth0 is not an IP address"},
	    {"router", -EINVAL, "router is not an IP address"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct fos_addr a = {.b = {0xaa}};
		char err[FOS_ERRBUF] = "";
		int family = -1;

		ck_assert_msg(fos_parse_addr(cases[i].in, &a, &family, err) == cases[i].r,
			      "input \"%s\"", cases[i].in);
		ck_assert_str_eq(err, cases[i].msg);
		/* outputs are written only on success */
		ck_assert_int_eq(a.b[0], 0xaa);
		ck_assert_int_eq(family, -1);
		ck_assert_int_eq(fos_parse_addr(cases[i].in, &a, &family, NULL), cases[i].r);
	}
}
END_TEST

/* CIDRs */

static void assert_cidr(const char *in, int family, unsigned plen, const char *canonical)
{
	char buf[FOS_CIDR_STRLEN];
	struct fos_cidr c;
	char err[FOS_ERRBUF] = "";

	ck_assert_msg(fos_parse_cidr(in, &c, err) == 0, "%s: %s", in, err);
	ck_assert_int_eq(c.family, family);
	ck_assert_uint_eq(c.plen, plen);
	ck_assert_ptr_eq(fos_cidr_to_string(&c, buf, sizeof(buf)), buf);
	ck_assert_str_eq(buf, canonical);
}

START_TEST(test_cidr_good)
{
	assert_cidr("192.0.2.0/24", AF_INET, 24, "192.0.2.0/24");
	assert_cidr("192.0.2.1", AF_INET, 32, "192.0.2.1/32");
	assert_cidr("192.0.2.128/25", AF_INET, 25, "192.0.2.128/25");
	assert_cidr("0.0.0.0/0", AF_INET, 0, "0.0.0.0/0");
	assert_cidr("10.0.0.0/8", AF_INET, 8, "10.0.0.0/8");
	assert_cidr("2001:db8::/32", AF_INET6, 32, "2001:db8::/32");
	assert_cidr("2001:DB8:0:0:0::/48", AF_INET6, 48, "2001:db8::/48");
	assert_cidr("2001:db8::1", AF_INET6, 128, "2001:db8::1/128");
	assert_cidr("::/0", AF_INET6, 0, "::/0");
	assert_cidr("2001:db8:8000::/33", AF_INET6, 33, "2001:db8:8000::/33");
}
END_TEST

START_TEST(test_cidr_layout)
{
	struct fos_cidr c;

	ck_assert_int_eq(fos_parse_cidr("192.0.2.0/24", &c, NULL), 0);
	assert_v4(&c.addr, "192.0.2.0");
	ck_assert_uint_eq(fos_cidr_plen128(&c), 120);

	ck_assert_int_eq(fos_parse_cidr("0.0.0.0/0", &c, NULL), 0);
	ck_assert_uint_eq(fos_cidr_plen128(&c), 96);

	ck_assert_int_eq(fos_parse_cidr("2001:db8::/32", &c, NULL), 0);
	ck_assert_uint_eq(fos_cidr_plen128(&c), 32);
	ck_assert(!fos_addr_is_v4(&c.addr));
}
END_TEST

START_TEST(test_cidr_bad)
{
	static const struct bad_case cases[] = {
	    {"", -EINVAL, "an empty string is not a CIDR"},
	    {"192.0.2.0/33", -ERANGE, "192.0.2.0/33: prefix length 33 is out of range 0-32"},
	    {"2001:db8::/129", -ERANGE, "2001:db8::/129: prefix length 129 is out of range 0-128"},
	    {"10.0.0.0/99999999999999999999", -ERANGE,
	     "10.0.0.0/99999999999999999999: prefix length 99999999999999999999 is out of "
	     "range 0-32"},
	    {"10.0.0.1/8", -EINVAL, "10.0.0.1/8: host bits set, the network is 10.0.0.0/8"},
	    {"192.0.2.129/25", -EINVAL,
	     "192.0.2.129/25: host bits set, the network is 192.0.2.128/25"},
	    {"2001:db8::1/32", -EINVAL,
	     "2001:db8::1/32: host bits set, the network is 2001:db8::/32"},
	    {"2001:db8:c000::/33", -EINVAL,
	     "2001:db8:c000::/33: host bits set, the network is 2001:db8:8000::/33"},
	    {"192.0.2.0/", -EINVAL, "192.0.2.0/: the prefix length is missing"},
	    {"/24", -EINVAL, "/24: the address is missing"},
	    {"192.0.2.0/abc", -EINVAL, "192.0.2.0/abc: abc is not a prefix length"},
	    {"192.0.2.0/-1", -EINVAL, "192.0.2.0/-1: -1 is not a prefix length"},
	    {"192.0.2.0/+24", -EINVAL, "192.0.2.0/+24: +24 is not a prefix length"},
	    {"192.0.2.0/24 ", -EINVAL, "192.0.2.0/24 : 24  is not a prefix length"},
	    {"192.0.2.0/24/8", -EINVAL, "192.0.2.0/24/8: 24/8 is not a prefix length"},
	    {" 192.0.2.0/24", -EINVAL, " 192.0.2.0/24:  192.0.2.0 is not an IP address"},
	    {"net/24", -EINVAL, "net/24: net is not an IP address"},
	    {"garbage", -EINVAL, "garbage is not an IP address"},
	    {"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa/64", -EINVAL,
	     "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa/64 is not a CIDR"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct fos_cidr c = {.plen = 77};
		char err[FOS_ERRBUF] = "";

		ck_assert_msg(fos_parse_cidr(cases[i].in, &c, err) == cases[i].r, "input \"%s\"",
			      cases[i].in);
		ck_assert_str_eq(err, cases[i].msg);
		ck_assert_uint_eq(c.plen, 77);
		ck_assert_int_eq(fos_parse_cidr(cases[i].in, &c, NULL), cases[i].r);
	}
}
END_TEST

START_TEST(test_cidr_to_string_limits)
{
	struct fos_cidr c;
	char small[8];
	char buf[FOS_CIDR_STRLEN];

	ck_assert_int_eq(fos_parse_cidr("192.0.2.0/24", &c, NULL), 0);
	ck_assert_ptr_null(fos_cidr_to_string(&c, small, sizeof(small)));

	c.family = AF_UNIX;
	ck_assert_ptr_null(fos_cidr_to_string(&c, buf, sizeof(buf)));

	/* the longest IPv6 text fits the documented buffer */
	ck_assert_int_eq(fos_parse_cidr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &c, NULL), 0);
	ck_assert_str_eq(fos_cidr_to_string(&c, buf, sizeof(buf)),
			 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
}
END_TEST

/* ports */

START_TEST(test_port_good)
{
	uint16_t p = 1;

	ck_assert_int_eq(fos_parse_port("0", &p, NULL), 0);
	ck_assert_uint_eq(p, 0);
	ck_assert_int_eq(fos_parse_port("80", &p, NULL), 0);
	ck_assert_uint_eq(p, 80);
	ck_assert_int_eq(fos_parse_port("65535", &p, NULL), 0);
	ck_assert_uint_eq(p, 65535);
	ck_assert_int_eq(fos_parse_port("0443", &p, NULL), 0);
	ck_assert_uint_eq(p, 443);
}
END_TEST

START_TEST(test_port_bad)
{
	static const struct bad_case cases[] = {
	    {"", -EINVAL, "an empty string is not a port number"},
	    {"70000", -ERANGE, "70000 is out of range 0-65535"},
	    {"65536", -ERANGE, "65536 is out of range 0-65535"},
	    {"99999999999999999999999", -ERANGE, "99999999999999999999999 is out of range 0-65535"},
	    {"abc", -EINVAL, "abc is not a port number"},
	    {"-1", -EINVAL, "-1 is not a port number"},
	    {"+80", -EINVAL, "+80 is not a port number"},
	    {"0x50", -EINVAL, "0x50 is not a port number"},
	    {" 80", -EINVAL, " 80 is not a port number"},
	    {"80 ", -EINVAL, "80  is not a port number"},
	    {"80-90", -EINVAL, "80-90 is not a port number"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[FOS_ERRBUF] = "";
		uint16_t p = 4242;

		ck_assert_msg(fos_parse_port(cases[i].in, &p, err) == cases[i].r, "input \"%s\"",
			      cases[i].in);
		ck_assert_str_eq(err, cases[i].msg);
		ck_assert_uint_eq(p, 4242);
		ck_assert_int_eq(fos_parse_port(cases[i].in, &p, NULL), cases[i].r);
	}
}
END_TEST

START_TEST(test_port_range_good)
{
	uint16_t lo = 1, hi = 1;

	ck_assert_int_eq(fos_parse_port_range("80", &lo, &hi, NULL), 0);
	ck_assert_uint_eq(lo, 80);
	ck_assert_uint_eq(hi, 80);
	ck_assert_int_eq(fos_parse_port_range("8000-8100", &lo, &hi, NULL), 0);
	ck_assert_uint_eq(lo, 8000);
	ck_assert_uint_eq(hi, 8100);
	ck_assert_int_eq(fos_parse_port_range("0-65535", &lo, &hi, NULL), 0);
	ck_assert_uint_eq(lo, 0);
	ck_assert_uint_eq(hi, 65535);
	ck_assert_int_eq(fos_parse_port_range("53-53", &lo, &hi, NULL), 0);
	ck_assert_uint_eq(lo, 53);
	ck_assert_uint_eq(hi, 53);
}
END_TEST

START_TEST(test_port_range_bad)
{
	static const struct bad_case cases[] = {
	    {"", -EINVAL, "an empty string is not a port range"},
	    {"9000-8000", -EINVAL, "9000-8000: range start is above its end"},
	    {"80-", -EINVAL, "80-: the range end is missing"},
	    {"-80", -EINVAL, "-80: the range start is missing"},
	    {"a-80", -EINVAL, "a-80: a is not a port number"},
	    {"80-b", -EINVAL, "80-b: b is not a port number"},
	    {"80-70000", -ERANGE, "80-70000: 70000 is out of range 0-65535"},
	    {"70000-80", -ERANGE, "70000-80: 70000 is out of range 0-65535"},
	    {"1-2-3", -EINVAL, "1-2-3: 2-3 is not a port number"},
	    {"80 - 90", -EINVAL, "80 - 90: 80  is not a port number"},
	    {"70000", -ERANGE, "70000 is out of range 0-65535"},
	    {"http", -EINVAL, "http is not a port number"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[FOS_ERRBUF] = "";
		uint16_t lo = 4242, hi = 4242;

		ck_assert_msg(fos_parse_port_range(cases[i].in, &lo, &hi, err) == cases[i].r,
			      "input \"%s\"", cases[i].in);
		ck_assert_str_eq(err, cases[i].msg);
		ck_assert_uint_eq(lo, 4242);
		ck_assert_uint_eq(hi, 4242);
		ck_assert_int_eq(fos_parse_port_range(cases[i].in, &lo, &hi, NULL), cases[i].r);
	}
}
END_TEST

/* protocols */

START_TEST(test_protocol_good)
{
	static const struct {
		const char *in;
		uint8_t proto;
	} cases[] = {
	    {"tcp", 6},	    {"TCP", 6},	    {"udp", 17},       {"Udp", 17}, {"icmp", 1},
	    {"icmpv6", 58}, {"ICMPv6", 58}, {"ipv6-icmp", 58}, {"any", 0},  {"ANY", 0},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t p = 99;

		ck_assert_msg(fos_parse_protocol(cases[i].in, &p, NULL) == 0, "input \"%s\"",
			      cases[i].in);
		ck_assert_uint_eq(p, cases[i].proto);
	}
}
END_TEST

START_TEST(test_protocol_bad)
{
	static const struct bad_case cases[] = {
	    {"", -EINVAL, "an empty string is not a protocol (use tcp, udp, icmp, icmpv6 or any)"},
	    {"gre", -EINVAL, "gre is not a protocol (use tcp, udp, icmp, icmpv6 or any)"},
	    {"6", -EINVAL, "6 is not a protocol (use tcp, udp, icmp, icmpv6 or any)"},
	    {"tcp ", -EINVAL, "tcp  is not a protocol (use tcp, udp, icmp, icmpv6 or any)"},
	    {"tcpx", -EINVAL, "tcpx is not a protocol (use tcp, udp, icmp, icmpv6 or any)"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[FOS_ERRBUF] = "";
		uint8_t p = 99;

		ck_assert_msg(fos_parse_protocol(cases[i].in, &p, err) == cases[i].r,
			      "input \"%s\"", cases[i].in);
		ck_assert_str_eq(err, cases[i].msg);
		ck_assert_uint_eq(p, 99);
		ck_assert_int_eq(fos_parse_protocol(cases[i].in, &p, NULL), cases[i].r);
	}
}
END_TEST

START_TEST(test_protocol_to_string)
{
	ck_assert_str_eq(fos_protocol_to_string(0), "any");
	ck_assert_str_eq(fos_protocol_to_string(1), "icmp");
	ck_assert_str_eq(fos_protocol_to_string(6), "tcp");
	ck_assert_str_eq(fos_protocol_to_string(17), "udp");
	ck_assert_str_eq(fos_protocol_to_string(58), "icmpv6");
	ck_assert_ptr_null(fos_protocol_to_string(47));
	ck_assert_ptr_null(fos_protocol_to_string(255));

	/* every name that prints parses back to its number */
	for (unsigned n = 0; n < 256; n++) {
		const char *name = fos_protocol_to_string((uint8_t)n);
		uint8_t p;

		if (!name)
			continue;
		ck_assert_int_eq(fos_parse_protocol(name, &p, NULL), 0);
		ck_assert_uint_eq(p, n);
	}
}
END_TEST

/* rates */

START_TEST(test_rate_good)
{
	static const struct {
		const char *in;
		uint64_t bps;
	} cases[] = {
	    {"0bps", 0},
	    {"100bps", 100},
	    {"512kbps", 512000},
	    {"512Kbps", 512000},
	    {"10Mbps", 10000000},
	    {"10mbps", 10000000},
	    {"1Gbps", 1000000000},
	    {"1gbps", 1000000000},
	    {"1.5Gbps", 1500000000},
	    {"2Tbps", 2000000000000},
	    {"0.001kbps", 1},
	    {"1.0bps", 1},
	    {"1.25000Mbps", 1250000},
	    {"0.000000000001Tbps", 1},
	    {"18446744073709551614bps", UINT64_MAX - 1},
	    {"18446744Tbps", 18446744000000000000U},
	    {"unlimited", UINT64_MAX},
	    {"Unlimited", UINT64_MAX},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[FOS_ERRBUF] = "";
		uint64_t v = 42;

		ck_assert_msg(fos_parse_rate(cases[i].in, &v, err) == 0, "%s: %s", cases[i].in,
			      err);
		ck_assert_msg(v == cases[i].bps, "%s gave %llu", cases[i].in,
			      (unsigned long long)v);
	}
}
END_TEST

START_TEST(test_rate_bad)
{
	static const struct bad_case cases[] = {
	    {"", -EINVAL, "an empty string is not a rate"},
	    {"10", -EINVAL, "10: the unit is missing (use bps, kbps, Mbps, Gbps or Tbps)"},
	    {"1.5", -EINVAL, "1.5: the unit is missing (use bps, kbps, Mbps, Gbps or Tbps)"},
	    {"10M", -EINVAL, "10M: unknown unit M (use bps, kbps, Mbps, Gbps or Tbps)"},
	    {"10MBps", -EINVAL, "10MBps: unknown unit MBps (use bps, kbps, Mbps, Gbps or Tbps)"},
	    {"10Mbit", -EINVAL, "10Mbit: unknown unit Mbit (use bps, kbps, Mbps, Gbps or Tbps)"},
	    {"10Pbps", -EINVAL, "10Pbps: unknown unit Pbps (use bps, kbps, Mbps, Gbps or Tbps)"},
	    {"10 Mbps", -EINVAL, "10 Mbps: unknown unit  Mbps (use bps, kbps, Mbps, Gbps or Tbps)"},
	    {"10Mbps ", -EINVAL, "10Mbps : unknown unit Mbps  (use bps, kbps, Mbps, Gbps or Tbps)"},
	    {"-5Mbps", -EINVAL, "-5Mbps: a rate cannot be negative"},
	    {"+5Mbps", -EINVAL, "+5Mbps is not a rate"},
	    {" 5Mbps", -EINVAL, " 5Mbps is not a rate"},
	    {".5Gbps", -EINVAL, ".5Gbps is not a rate"},
	    {"5.Gbps", -EINVAL, "5.Gbps is not a rate"},
	    {"fast", -EINVAL, "fast is not a rate"},
	    {"1.5bps", -EINVAL, "1.5bps: not a whole number of bits per second"},
	    {"0.0001kbps", -EINVAL, "0.0001kbps: not a whole number of bits per second"},
	    {"18446744073709551615bps", -ERANGE,
	     "18446744073709551615bps: the rate is out of range"},
	    {"18446744073709551616bps", -ERANGE,
	     "18446744073709551616bps: the rate is out of range"},
	    {"18446745Tbps", -ERANGE, "18446745Tbps: the rate is out of range"},
	    {"99999999999999999999999.5kbps", -ERANGE,
	     "99999999999999999999999.5kbps: the rate is out of range"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[FOS_ERRBUF] = "";
		uint64_t v = 42;

		ck_assert_msg(fos_parse_rate(cases[i].in, &v, err) == cases[i].r, "input \"%s\"",
			      cases[i].in);
		ck_assert_str_eq(err, cases[i].msg);
		ck_assert_uint_eq(v, 42);
		ck_assert_int_eq(fos_parse_rate(cases[i].in, &v, NULL), cases[i].r);
	}
}
END_TEST

/* durations */

START_TEST(test_duration_good)
{
	static const struct {
		const char *in;
		uint64_t ms;
	} cases[] = {
	    {"0", 0},
	    {"30", 30000},
	    {"0s", 0},
	    {"30s", 30000},
	    {"5m", 300000},
	    {"1h", 3600000},
	    {"1d", 86400000},
	    {"250ms", 250},
	    {"1h30m", 5400000},
	    {"1d2h3m4s5ms", 93784005},
	    {"90s", 90000},
	    {"1m1m", 120000},
	    {"213503982334d", 213503982334ULL * 86400000},
	    {"18446744073709551615ms", UINT64_MAX},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[FOS_ERRBUF] = "";
		uint64_t v = 42;

		ck_assert_msg(fos_parse_duration(cases[i].in, &v, err) == 0, "%s: %s", cases[i].in,
			      err);
		ck_assert_msg(v == cases[i].ms, "%s gave %llu", cases[i].in, (unsigned long long)v);
	}
}
END_TEST

START_TEST(test_duration_bad)
{
	static const struct bad_case cases[] = {
	    {"", -EINVAL, "an empty string is not a duration"},
	    {"abc", -EINVAL, "abc is not a duration"},
	    {"s", -EINVAL, "s is not a duration"},
	    {"-5s", -EINVAL, "-5s: a duration cannot be negative"},
	    {"+5s", -EINVAL, "+5s is not a duration"},
	    {" 5s", -EINVAL, " 5s is not a duration"},
	    {"5s ", -EINVAL, "5s : unknown unit s  (use ms, s, m, h or d)"},
	    {"5 s", -EINVAL, "5 s: unknown unit  s (use ms, s, m, h or d)"},
	    {"1h30", -EINVAL, "1h30: 30 has no unit"},
	    {"5x", -EINVAL, "5x: unknown unit x (use ms, s, m, h or d)"},
	    {"5mx", -EINVAL, "5mx: unknown unit mx (use ms, s, m, h or d)"},
	    {"5S", -EINVAL, "5S: unknown unit S (use ms, s, m, h or d)"},
	    {"5sec", -EINVAL, "5sec: unknown unit sec (use ms, s, m, h or d)"},
	    {"1.5h", -EINVAL, "1.5h: unknown unit . (use ms, s, m, h or d)"},
	    {"18446744073709551616", -ERANGE, "18446744073709551616: the duration is out of range"},
	    {"18446744073709551615", -ERANGE, "18446744073709551615: the duration is out of range"},
	    {"213503982335d", -ERANGE, "213503982335d: the duration is out of range"},
	    {"213503982334d213503982334d", -ERANGE,
	     "213503982334d213503982334d: the duration is out of range"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[FOS_ERRBUF] = "";
		uint64_t v = 42;

		ck_assert_msg(fos_parse_duration(cases[i].in, &v, err) == cases[i].r,
			      "input \"%s\"", cases[i].in);
		ck_assert_str_eq(err, cases[i].msg);
		ck_assert_uint_eq(v, 42);
		ck_assert_int_eq(fos_parse_duration(cases[i].in, &v, NULL), cases[i].r);
	}
}
END_TEST

/* error buffer */

START_TEST(test_err_truncated)
{
	char long_input[FOS_ERRBUF * 2];
	char err[FOS_ERRBUF + 1];
	uint16_t p;

	memset(long_input, 'x', sizeof(long_input) - 1);
	long_input[sizeof(long_input) - 1] = '\0';
	memset(err, '#', sizeof(err));

	ck_assert_int_eq(fos_parse_port(long_input, &p, err), -EINVAL);
	/* The message is cut to FOS_ERRBUF bytes, NUL included, and nothing
	 * beyond the buffer is touched. */
	ck_assert_uint_eq(strlen(err), FOS_ERRBUF - 1);
	ck_assert_int_eq(err[FOS_ERRBUF], '#');
}
END_TEST

static Suite *parse_suite(void)
{
	Suite *s = suite_create("parse");
	TCase *tc;

	tc = tcase_create("addr");
	tcase_add_test(tc, test_cidr_v4_mapped);
	tcase_add_test(tc, test_addr_v4);
	tcase_add_test(tc, test_addr_v6);
	tcase_add_test(tc, test_addr_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("cidr");
	tcase_add_test(tc, test_cidr_good);
	tcase_add_test(tc, test_cidr_layout);
	tcase_add_test(tc, test_cidr_bad);
	tcase_add_test(tc, test_cidr_to_string_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("port");
	tcase_add_test(tc, test_port_good);
	tcase_add_test(tc, test_port_bad);
	tcase_add_test(tc, test_port_range_good);
	tcase_add_test(tc, test_port_range_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("protocol");
	tcase_add_test(tc, test_protocol_good);
	tcase_add_test(tc, test_protocol_bad);
	tcase_add_test(tc, test_protocol_to_string);
	suite_add_tcase(s, tc);

	tc = tcase_create("rate");
	tcase_add_test(tc, test_rate_good);
	tcase_add_test(tc, test_rate_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("duration");
	tcase_add_test(tc, test_duration_good);
	tcase_add_test(tc, test_duration_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("errbuf");
	tcase_add_test(tc, test_err_truncated);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(parse_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
