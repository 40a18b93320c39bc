// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "cleanup.h"
#include "parse.h"

/* Fill the caller's error buffer, if there is one, and return r. */
__attribute__((format(printf, 3, 4))) static int _fos_parse_err(char *err, int r, const char *fmt,
								...)
{
	va_list ap;

	if (!err)
		return r;
	va_start(ap, fmt);
	vsnprintf(err, FOS_ERRBUF, fmt, ap);
	va_end(ap);
	return r;
}

static bool _fos_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Parse a non-empty run of decimal digits that makes up all of s[0..len).
 * A value above UINT64_MAX is -ERANGE; anything that is not a digit is
 * -EINVAL, checked over the whole run so that junk wins over size.
 */
static int _fos_parse_digits(const char *s, size_t len, uint64_t *ret)
{
	uint64_t v = 0;
	bool overflow = false;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!_fos_is_digit(s[i]))
			return -EINVAL;
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v))
			overflow = true;
	}
	if (overflow)
		return -ERANGE;
	*ret = v;
	return 0;
}

bool fos_addr_is_v4(const struct fos_addr *a)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(a->b, prefix, sizeof(prefix)) == 0;
}

bool fos_cidr_is_v4(const struct fos_cidr *c)
{
	return fos_addr_is_v4(&c->addr) && fos_cidr_plen128(c) >= 96;
}

/* Parse exactly an address, without producing a message. */
static int _fos_addr_from_text(const char *s, struct fos_addr *ret, int *ret_family)
{
	struct fos_addr a = {};
	int family;

	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, a.b) != 1)
			return -EINVAL;
		family = AF_INET6;
	} else {
		if (inet_pton(AF_INET, s, a.b + 12) != 1)
			return -EINVAL;
		a.b[10] = 0xff;
		a.b[11] = 0xff;
		family = AF_INET;
	}
	*ret = a;
	*ret_family = family;
	return 0;
}

int fos_parse_addr(const char *s, struct fos_addr *ret, int *ret_family, char *err)
{
	struct fos_addr a;
	int family, r;

	assert(s);
	assert(ret);
	assert(ret_family);

	if (*s == '\0')
		return _fos_parse_err(err, -EINVAL, "an empty string is not an IP address");
	r = _fos_addr_from_text(s, &a, &family);
	if (r < 0)
		return _fos_parse_err(err, r, "%s is not an IP address", s);
	*ret = a;
	*ret_family = family;
	return 0;
}

unsigned fos_cidr_plen128(const struct fos_cidr *c)
{
	return c->family == AF_INET ? c->plen + 96U : c->plen;
}

/* Clear every bit of a beyond the first plen128 bits; true if any was set. */
static bool _fos_addr_mask(struct fos_addr *a, unsigned plen128)
{
	bool had_host_bits = false;

	for (unsigned i = 0; i < sizeof(a->b); i++) {
		unsigned first_bit = i * 8;
		uint8_t keep;

		if (plen128 >= first_bit + 8)
			keep = 0xff;
		else if (plen128 <= first_bit)
			keep = 0;
		else
			keep = (uint8_t)(0xff << (8 - (plen128 - first_bit)));
		if (a->b[i] & ~keep)
			had_host_bits = true;
		a->b[i] &= keep;
	}
	return had_host_bits;
}

const char *fos_cidr_to_string(const struct fos_cidr *c, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	int n;

	assert(c);
	assert(buf);

	if (c->family == AF_INET) {
		if (!inet_ntop(AF_INET, c->addr.b + 12, addr, sizeof(addr)))
			return NULL;
	} else if (c->family == AF_INET6) {
		if (!inet_ntop(AF_INET6, c->addr.b, addr, sizeof(addr)))
			return NULL;
	} else {
		return NULL;
	}
	n = snprintf(buf, len, "%s/%u", addr, (unsigned)c->plen);
	if (n < 0 || (size_t)n >= len)
		return NULL;
	return buf;
}

int fos_parse_cidr(const char *s, struct fos_cidr *ret, char *err)
{
	char addr_text[INET6_ADDRSTRLEN];
	const char *slash, *plen_text;
	struct fos_cidr c = {};
	unsigned max_plen;
	uint64_t plen;
	size_t addr_len;
	int r;

	assert(s);
	assert(ret);

	if (*s == '\0')
		return _fos_parse_err(err, -EINVAL, "an empty string is not a CIDR");

	slash = strchr(s, '/');
	addr_len = slash ? (size_t)(slash - s) : strlen(s);
	if (addr_len == 0)
		return _fos_parse_err(err, -EINVAL, "%s: the address is missing", s);
	/* Longer than any address text: it cannot parse, so do not copy it. */
	if (addr_len >= sizeof(addr_text))
		return _fos_parse_err(err, -EINVAL, "%s is not a CIDR", s);
	memcpy(addr_text, s, addr_len);
	addr_text[addr_len] = '\0';

	r = _fos_addr_from_text(addr_text, &c.addr, &c.family);
	if (r < 0) {
		if (!slash)
			return _fos_parse_err(err, r, "%s is not an IP address", s);
		return _fos_parse_err(err, r, "%s: %s is not an IP address", s, addr_text);
	}
	max_plen = c.family == AF_INET ? 32 : 128;

	if (!slash) {
		c.plen = (uint8_t)max_plen;
	} else {
		plen_text = slash + 1;
		if (*plen_text == '\0')
			return _fos_parse_err(err, -EINVAL, "%s: the prefix length is missing", s);
		r = _fos_parse_digits(plen_text, strlen(plen_text), &plen);
		if (r == -EINVAL)
			return _fos_parse_err(err, r, "%s: %s is not a prefix length", s,
					      plen_text);
		if (r < 0 || plen > max_plen)
			return _fos_parse_err(err, -ERANGE,
					      "%s: prefix length %s is out of range 0-%u", s,
					      plen_text, max_plen);
		c.plen = (uint8_t)plen;
	}

	if (_fos_addr_mask(&c.addr, fos_cidr_plen128(&c))) {
		char net[FOS_CIDR_STRLEN];

		return _fos_parse_err(err, -EINVAL, "%s: host bits set, the network is %s", s,
				      fos_cidr_to_string(&c, net, sizeof(net)));
	}
	/* an IPv4 prefix written in its IPv4-mapped IPv6 form is that IPv4
	 * prefix: one family, one spelling, wherever it is checked or shown */
	if (c.family == AF_INET6 && fos_cidr_is_v4(&c)) {
		c.family = AF_INET;
		c.plen -= 96;
	}
	*ret = c;
	return 0;
}

/* A port with no prefix on the message; ctx names the whole input when the
 * port is part of something larger. */
static int _fos_parse_port_ctx(const char *s, size_t len, const char *ctx, uint16_t *ret, char *err)
{
	const char *sep = ctx ? ": " : "";
	uint64_t v;
	int r;

	if (!ctx)
		ctx = "";
	r = _fos_parse_digits(s, len, &v);
	if (r == -EINVAL)
		return _fos_parse_err(err, r, "%s%s%.*s is not a port number", ctx, sep, (int)len,
				      s);
	if (r < 0 || v > UINT16_MAX)
		return _fos_parse_err(err, -ERANGE, "%s%s%.*s is out of range 0-65535", ctx, sep,
				      (int)len, s);
	*ret = (uint16_t)v;
	return 0;
}

int fos_parse_port(const char *s, uint16_t *ret, char *err)
{
	assert(s);
	assert(ret);

	if (*s == '\0')
		return _fos_parse_err(err, -EINVAL, "an empty string is not a port number");
	return _fos_parse_port_ctx(s, strlen(s), NULL, ret, err);
}

int fos_parse_port_range(const char *s, uint16_t *ret_lo, uint16_t *ret_hi, char *err)
{
	const char *dash;
	uint16_t lo, hi;
	int r;

	assert(s);
	assert(ret_lo);
	assert(ret_hi);

	if (*s == '\0')
		return _fos_parse_err(err, -EINVAL, "an empty string is not a port range");

	dash = strchr(s, '-');
	if (!dash) {
		r = _fos_parse_port_ctx(s, strlen(s), NULL, &lo, err);
		if (r < 0)
			return r;
		*ret_lo = lo;
		*ret_hi = lo;
		return 0;
	}

	if (dash == s)
		return _fos_parse_err(err, -EINVAL, "%s: the range start is missing", s);
	if (dash[1] == '\0')
		return _fos_parse_err(err, -EINVAL, "%s: the range end is missing", s);
	r = _fos_parse_port_ctx(s, (size_t)(dash - s), s, &lo, err);
	if (r < 0)
		return r;
	r = _fos_parse_port_ctx(dash + 1, strlen(dash + 1), s, &hi, err);
	if (r < 0)
		return r;
	if (lo > hi)
		return _fos_parse_err(err, -EINVAL, "%s: range start is above its end", s);
	*ret_lo = lo;
	*ret_hi = hi;
	return 0;
}

/* The first name listed for a number is its canonical one. */
static const struct {
	const char *name;
	uint8_t proto;
} fos_protocols[] = {
    {"any", 0}, {"icmp", 1}, {"tcp", 6}, {"udp", 17}, {"icmpv6", 58}, {"ipv6-icmp", 58},
};

int fos_parse_protocol(const char *s, uint8_t *ret, char *err)
{
	assert(s);
	assert(ret);

	for (size_t i = 0; i < ARRAY_SIZE(fos_protocols); i++)
		if (strcasecmp(s, fos_protocols[i].name) == 0) {
			*ret = fos_protocols[i].proto;
			return 0;
		}
	if (*s == '\0')
		return _fos_parse_err(err, -EINVAL,
				      "an empty string is not a protocol "
				      "(use tcp, udp, icmp, icmpv6 or any)");
	return _fos_parse_err(err, -EINVAL,
			      "%s is not a protocol (use tcp, udp, icmp, icmpv6 or any)", s);
}

const char *fos_protocol_to_string(uint8_t proto)
{
	for (size_t i = 0; i < ARRAY_SIZE(fos_protocols); i++)
		if (fos_protocols[i].proto == proto)
			return fos_protocols[i].name;
	return NULL;
}

/* Decimal exponents of the rate prefixes: "" k M G T. */
static int _fos_rate_exponent(const char *unit, unsigned *ret)
{
	unsigned e;

	switch (*unit) {
	case 'k':
	case 'K':
		e = 3;
		break;
	case 'm':
	case 'M':
		e = 6;
		break;
	case 'g':
	case 'G':
		e = 9;
		break;
	case 't':
	case 'T':
		e = 12;
		break;
	default:
		e = 0;
		break;
	}
	if (strcmp(unit + (e ? 1 : 0), "bps") != 0)
		return -EINVAL;
	*ret = e;
	return 0;
}

static int _fos_pow10(unsigned e, uint64_t *v)
{
	for (unsigned i = 0; i < e; i++)
		if (__builtin_mul_overflow(*v, 10, v))
			return -ERANGE;
	return 0;
}

int fos_parse_rate(const char *s, uint64_t *ret_bps, char *err)
{
	const char *p = s, *int_part, *frac_part = NULL;
	size_t int_len, frac_len = 0;
	uint64_t v, frac = 0;
	unsigned e;
	int r;

	assert(s);
	assert(ret_bps);

	if (*s == '\0')
		return _fos_parse_err(err, -EINVAL, "an empty string is not a rate");
	if (strcasecmp(s, "unlimited") == 0) {
		*ret_bps = UINT64_MAX;
		return 0;
	}
	if (*s == '-')
		return _fos_parse_err(err, -EINVAL, "%s: a rate cannot be negative", s);

	int_part = p;
	while (_fos_is_digit(*p))
		p++;
	int_len = (size_t)(p - int_part);
	if (int_len == 0)
		return _fos_parse_err(err, -EINVAL, "%s is not a rate", s);
	if (*p == '.') {
		frac_part = ++p;
		while (_fos_is_digit(*p))
			p++;
		frac_len = (size_t)(p - frac_part);
		if (frac_len == 0)
			return _fos_parse_err(err, -EINVAL, "%s is not a rate", s);
	}
	if (*p == '\0')
		return _fos_parse_err(
		    err, -EINVAL, "%s: the unit is missing (use bps, kbps, Mbps, Gbps or Tbps)", s);
	if (_fos_rate_exponent(p, &e) < 0)
		return _fos_parse_err(
		    err, -EINVAL, "%s: unknown unit %s (use bps, kbps, Mbps, Gbps or Tbps)", s, p);

	/* Exact decimal arithmetic: trailing zeros of the fraction carry no
	 * value, and whatever remains must fit in the unit's exponent. */
	while (frac_len > 0 && frac_part[frac_len - 1] == '0')
		frac_len--;
	if (frac_len > e)
		return _fos_parse_err(err, -EINVAL, "%s: not a whole number of bits per second", s);
	if (frac_len > 0) {
		r = _fos_parse_digits(frac_part, frac_len, &frac);
		if (r < 0)
			return _fos_parse_err(err, r, "%s: the rate is out of range", s);
	}

	r = _fos_parse_digits(int_part, int_len, &v);
	if (r >= 0)
		r = _fos_pow10((unsigned)frac_len, &v);
	if (r >= 0 && __builtin_add_overflow(v, frac, &v))
		r = -ERANGE;
	if (r >= 0)
		r = _fos_pow10(e - (unsigned)frac_len, &v);
	/* UINT64_MAX itself means "unlimited", so it is out of range as a number. */
	if (r < 0 || v == UINT64_MAX)
		return _fos_parse_err(err, -ERANGE, "%s: the rate is out of range", s);
	*ret_bps = v;
	return 0;
}

static const struct {
	const char *unit;
	uint64_t ms;
} fos_duration_units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 60 * 60 * 1000}, {"d", 24 * 60 * 60 * 1000},
};

int fos_parse_duration(const char *s, uint64_t *ret_ms, char *err)
{
	const char *p = s;
	uint64_t total = 0;

	assert(s);
	assert(ret_ms);

	if (*s == '\0')
		return _fos_parse_err(err, -EINVAL, "an empty string is not a duration");
	if (*s == '-')
		return _fos_parse_err(err, -EINVAL, "%s: a duration cannot be negative", s);

	while (*p) {
		const char *num = p;
		uint64_t v, mult = 0;
		size_t num_len;
		int r;

		while (_fos_is_digit(*p))
			p++;
		num_len = (size_t)(p - num);
		if (num_len == 0)
			return _fos_parse_err(err, -EINVAL, "%s is not a duration", s);
		r = _fos_parse_digits(num, num_len, &v);
		if (r < 0)
			return _fos_parse_err(err, r, "%s: the duration is out of range", s);

		if (*p == '\0') {
			/* A bare number means seconds, but only on its own. */
			if (num != s)
				return _fos_parse_err(err, -EINVAL, "%s: %.*s has no unit", s,
						      (int)num_len, num);
			mult = 1000;
		} else {
			size_t unit_len = strcspn(p, "0123456789");

			for (size_t i = 0; i < ARRAY_SIZE(fos_duration_units); i++)
				if (strlen(fos_duration_units[i].unit) == unit_len &&
				    strncmp(p, fos_duration_units[i].unit, unit_len) == 0) {
					mult = fos_duration_units[i].ms;
					break;
				}
			if (mult == 0)
				return _fos_parse_err(
				    err, -EINVAL, "%s: unknown unit %.*s (use ms, s, m, h or d)", s,
				    (int)unit_len, p);
			p += unit_len;
		}

		if (__builtin_mul_overflow(v, mult, &v) || __builtin_add_overflow(total, v, &total))
			return _fos_parse_err(err, -ERANGE, "%s: the duration is out of range", s);
	}
	*ret_ms = total;
	return 0;
}
