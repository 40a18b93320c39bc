/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Packet tests for NAT: fos_nat_out and fos_nat_in with crafted frames
 * through BPF_PROG_TEST_RUN. The maps are written as fwd writes them (a
 * rule, its source prefix, the external interface's addresses); each test
 * loads a fresh object. Every translated frame is checked field by field
 * and its checksums against a recomputation from scratch: the IPv4 header,
 * TCP/UDP with the pseudo header, ICMP, ICMPv6, and inside an ICMP error
 * the quoted packet's.
 *
 * The external interface is lo (test runs need an interface that exists);
 * the internal one is a number the program only compares.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "fos/abi.h"
#include "fos/nat.h"
#include "nat.skel.h"
#include "nat_table.h"
#include "pkt_main.h"
#include "pkt_util.h"
#include "tc_bench.skel.h"

/* frames are written {family, src, dst, proto, sport, dport, .more = ...} */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define EXT_IF 1  /* lo */
#define INT_IF 77 /* compared only */
#define RULE   1

static int n_cpus;
static struct fos_nat *skel;
static struct fos_nat_tab tab;

/* ---- frames ------------------------------------------------------------------ */
struct pkt {
	uint8_t b[512];
	size_t len, l3, l4;
	int family;
};

static void addr_of(int family, const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (family == AF_INET) {
		out[10] = out[11] = 0xff;
		ck_assert_int_eq(inet_pton(AF_INET, s, out + 12), 1);
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, s, out), 1);
	}
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* the L4 checksum of the datagram at l4 (len bytes) over addresses at ip */
static uint16_t l4_sum(int family, const uint8_t *ip, uint8_t proto, const uint8_t *l4, size_t len)
{
	uint32_t s = 0;

	if (proto == 1) /* ICMP: no pseudo header */
		return fold(sum16(l4, len, 0));
	if (family == AF_INET)
		s = sum16(ip + 12, 8, 0);
	else
		s = sum16(ip + 8, 32, 0);
	s += proto + (uint32_t)len;
	return fold(sum16(l4, len, s));
}

/* an IPv4 or IPv6 frame: L4 header (tcp, udp, icmp echo/error) and body */
struct spec {
	int family;
	const char *src, *dst;
	uint8_t proto; /* 6, 17, 1, 58 */
	uint16_t sport, dport;
	uint8_t tflags;
	uint8_t type, code; /* ICMP */
	uint16_t id;
	const uint8_t *body;
	size_t body_len;
	bool udp_nocsum;
	bool frag;	 /* a non-first fragment (IPv4) */
	bool first_frag; /* the first fragment of a datagram (IPv4) */
	uint16_t ip_id;	 /* 0: 0x1234 */
};

static void build(const struct spec *s, struct pkt *p)
{
	uint8_t *ip, *l4;
	size_t hl, l4len;
	uint8_t a[16];

	memset(p, 0, sizeof(*p));
	p->family = s->family;
	memset(p->b, 0x02, 12);
	put16(p->b + 12, s->family == AF_INET ? 0x0800 : 0x86dd);
	p->l3 = 14;
	ip = p->b + p->l3;
	hl = s->family == AF_INET ? 20 : 40;
	p->l4 = p->l3 + hl;
	l4 = p->b + p->l4;
	switch (s->proto) {
	case 6:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put32(l4 + 4, 1000);
		l4[12] = 5 << 4;
		l4[13] = s->tflags;
		put16(l4 + 14, 65535);
		l4len = 20;
		break;
	case 17:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		l4len = 8;
		break;
	default:
		l4[0] = s->type;
		l4[1] = s->code;
		if (s->type == 8 || s->type == 0 || s->type == 128 || s->type == 129) {
			put16(l4 + 4, s->id);
			put16(l4 + 6, 1);
		}
		l4len = 8;
		break;
	}
	if (s->body)
		memcpy(l4 + l4len, s->body, s->body_len);
	else
		for (size_t i = 0; i < 16; i++)
			l4[l4len + i] = (uint8_t)(0xa0 + i);
	l4len += s->body ? s->body_len : 16;
	if (s->family == AF_INET) {
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(20 + l4len));
		put16(ip + 4, s->ip_id ? s->ip_id : 0x1234);
		if (s->frag)
			put16(ip + 6, 0x0010); /* offset 16 * 8 */
		if (s->first_frag)
			put16(ip + 6, 0x2000); /* more fragments, offset 0 */
		ip[8] = 64;
		ip[9] = s->proto;
		addr_of(AF_INET, s->src, a);
		memcpy(ip + 12, a + 12, 4);
		addr_of(AF_INET, s->dst, a);
		memcpy(ip + 16, a + 12, 4);
		put16(ip + 10, fold(sum16(ip, 20, 0)));
	} else {
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)l4len);
		ip[6] = s->proto;
		ip[7] = 64;
		addr_of(AF_INET6, s->src, ip + 8);
		addr_of(AF_INET6, s->dst, ip + 24);
	}
	if (!s->frag) {
		size_t co = s->proto == 6 ? 16 : s->proto == 17 ? 6 : 2;

		if (!(s->proto == 17 && s->udp_nocsum)) {
			uint16_t c = l4_sum(s->family, ip, s->proto, l4, l4len);

			put16(l4 + co, s->proto == 17 && c == 0 ? 0xffff : c);
		}
	}
	p->len = p->l4 + l4len;
}

/* the checksums of p (and of an ICMP error's quoted packet) are right */
static void check_sums(const struct pkt *p)
{
	const uint8_t *ip = p->b + p->l3, *l4 = p->b + p->l4;
	size_t l4len = p->len - p->l4;
	uint8_t proto = p->family == AF_INET ? ip[9] : ip[6];

	if (p->family == AF_INET)
		ck_assert_uint_eq(fold(sum16(ip, 20, 0)), 0);
	if (proto == 17 && l4[6] == 0 && l4[7] == 0 && p->family == AF_INET)
		return; /* no checksum */
	{
		uint32_t s = 0;

		if (proto != 1) {
			s = p->family == AF_INET ? sum16(ip + 12, 8, 0) : sum16(ip + 8, 32, 0);
			s += proto + (uint32_t)l4len;
		}
		ck_assert_msg(fold(sum16(l4, l4len, s)) == 0, "L4 checksum of proto %u is wrong",
			      proto);
	}
}

/* ---- the object -------------------------------------------------------------------- */
static int load(void)
{
	struct bpf_map *m;

	skel = fos_nat__open();
	if (!skel)
		return -errno;
	bpf_object__for_each_map(m, skel->obj)(void) bpf_map__set_pin_path(m, NULL);
	fos_nat_tab_size(skel, FOS_NAT_MAP_MIN);
	if (fos_nat__load(skel) < 0)
		return -errno;
	return fos_nat_tab_map(&tab, skel);
}

static int probe(void)
{
	int r = load();

	fos_nat_tab_unmap(&tab);
	fos_nat__destroy(skel);
	skel = NULL;
	return r;
}

struct rule_opts {
	bool eim, hairpin, range, is_static;
	uint16_t lo, hi;
	unsigned families; /* FOS_NAT_R_V4 | FOS_NAT_R_V6 */
	uint32_t max;
};

/* natConfig RULE: 10.0.0.0/8 and fd00::/16 from INT_IF, out by EXT_IF as
 * 203.0.113.1 / 2001:db8::1, excluding 10.9.0.0/16 */
static void setup(const struct rule_opts *o)
{
	struct fos_nat_rule r = {};
	struct fos_nat_ifaddr ia = {};
	struct fos_nat_src_key k = {};
	uint32_t id = RULE, ext = EXT_IF, zero = 0;

	ck_assert_int_eq(load(), 0);
	r.flags = FOS_NAT_R_ACTIVE | (o->families ? o->families : FOS_NAT_R_V4 | FOS_NAT_R_V6);
	if (o->eim)
		r.flags |= FOS_NAT_R_EIM;
	if (o->hairpin)
		r.flags |= FOS_NAT_R_HAIRPIN;
	if (o->range) {
		r.flags |= FOS_NAT_R_RANGE;
		r.port_lo = o->lo;
		r.port_hi = o->hi;
	}
	if (o->is_static) {
		r.flags |= FOS_NAT_R_STATIC;
		addr_of(AF_INET, "192.0.2.50", r.addr4);
		addr_of(AF_INET6, "2001:db8::50", r.addr6);
	}
	r.ext_ifindex = EXT_IF;
	r.src_ifindex = INT_IF;
	r.max_mappings = o->max ? o->max : 1000;
	ck_assert_int_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.fos_nat_rules), &id, &r, 0), 0);
	addr_of(AF_INET, "203.0.113.1", ia.addr4);
	addr_of(AF_INET6, "2001:db8::1", ia.addr6);
	ia.flags = FOS_NAT_IF_V4 | FOS_NAT_IF_V6 | FOS_NAT_IF_STATIC_MAPS;
	ck_assert_int_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.fos_nat_ifaddr), &ext, &ia, 0),
			 0);
	{
		static const char *const ext_addrs[] = {"203.0.113.1", "2001:db8::1", "192.0.2.50",
							"2001:db8::50"};
		static struct fos_nat_extbits bits;
		uint32_t one = 1;

		memset(&bits, 0, sizeof(bits));

		for (size_t i = 0; i < 4; i++) {
			uint8_t a[16];

			addr_of(strchr(ext_addrs[i], ':') ? AF_INET6 : AF_INET, ext_addrs[i], a);
			ck_assert_int_eq(bpf_map_update_elem(
					     bpf_map__fd(skel->maps.fos_nat_extaddr), a, &one, 0),
					 0);
			bits.w[fos_nat_extbit(a) / 64] |= 1ULL << (fos_nat_extbit(a) % 64);
		}
		ck_assert_int_eq(
		    bpf_map_update_elem(bpf_map__fd(skel->maps.fos_nat_extbits), &zero, &bits, 0),
		    0);
	}
	k.ext_ifindex = htonl(EXT_IF);
	k.src_ifindex = htonl(INT_IF);
	k.prefixlen = FOS_NAT_SRC_PREFIX + 96 + 8;
	addr_of(AF_INET, "10.0.0.0", k.addr);
	ck_assert_int_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.fos_nat_src), &k, &id, 0), 0);
	k.prefixlen = FOS_NAT_SRC_PREFIX + 96 + 16;
	addr_of(AF_INET, "10.9.0.0", k.addr);
	ck_assert_int_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.fos_nat_src), &k, &zero, 0), 0);
	k.prefixlen = FOS_NAT_SRC_PREFIX + 16;
	addr_of(AF_INET6, "fd00::", k.addr);
	ck_assert_int_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.fos_nat_src), &k, &id, 0), 0);
}

static void teardown(void)
{
	fos_nat_tab_unmap(&tab);
	fos_nat__destroy(skel);
	skel = NULL;
}

/* run p through prog on ifindex, from ingress_if; p becomes the result */
static int run_on(struct bpf_program *prog, struct pkt *p, uint32_t ifindex, uint32_t ingress_if)
{
	uint8_t out[sizeof(p->b) + 64];
	struct __sk_buff ctx = {.ifindex = ifindex, .ingress_ifindex = ingress_if};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->b, .data_size_in = (uint32_t)p->len,
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	ck_assert_int_eq(bpf_prog_test_run_opts(bpf_program__fd(prog), &opts), 0);
	ck_assert_uint_eq(opts.data_size_out, p->len);
	memcpy(p->b, out, p->len);
	return (int)opts.retval;
}

/* ... on the external interface (out or in) */
static int run(struct bpf_program *prog, struct pkt *p, uint32_t ingress_if)
{
	return run_on(prog, p, EXT_IF, ingress_if);
}

static int out(struct pkt *p)
{
	return run(skel->progs.fos_nat_out, p, INT_IF);
}

static int in(struct pkt *p)
{
	return run(skel->progs.fos_nat_in, p, EXT_IF);
}

static uint64_t stat(uint32_t rule, uint32_t s)
{
	uint32_t k = rule * _FOS_NAT_STAT_MAX + s;
	uint64_t v[512] = {0}, sum = 0;

	ck_assert_int_le(n_cpus, 512);
	ck_assert_int_eq(bpf_map_lookup_elem(bpf_map__fd(skel->maps.fos_nat_stats), &k, v), 0);
	for (int i = 0; i < n_cpus; i++)
		sum += v[i];
	return sum;
}

static void assert_src(const struct pkt *p, const char *addr, uint16_t port)
{
	uint8_t a[16];

	addr_of(p->family, addr, a);
	if (p->family == AF_INET)
		ck_assert_mem_eq(p->b + p->l3 + 12, a + 12, 4);
	else
		ck_assert_mem_eq(p->b + p->l3 + 8, a, 16);
	if (port)
		ck_assert_uint_eq((uint16_t)(p->b[p->l4] << 8 | p->b[p->l4 + 1]), port);
}

static void assert_dst(const struct pkt *p, const char *addr, uint16_t port)
{
	uint8_t a[16];

	addr_of(p->family, addr, a);
	if (p->family == AF_INET)
		ck_assert_mem_eq(p->b + p->l3 + 16, a + 12, 4);
	else
		ck_assert_mem_eq(p->b + p->l3 + 24, a, 16);
	if (port)
		ck_assert_uint_eq((uint16_t)(p->b[p->l4 + 2] << 8 | p->b[p->l4 + 3]), port);
}

static uint16_t sport_of(const struct pkt *p)
{
	return (uint16_t)(p->b[p->l4] << 8 | p->b[p->l4 + 1]);
}

/* ---- tests ------------------------------------------------------------------------- */
START_TEST(test_tcp_v4_both_ways)
{
	struct spec s = {AF_INET, "10.0.0.5", "198.51.100.7", 6, 40000, 80, .tflags = 0x02};
	struct pkt p;

	setup(&(struct rule_opts){.eim = true});
	build(&s, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "203.0.113.1", 40000);
	assert_dst(&p, "198.51.100.7", 80);
	check_sums(&p);
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_CREATED), 1);
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_KEPT_PORT), 1);
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_OUT), 1);

	/* the answer goes back to the inside */
	build(&(struct spec){AF_INET, "198.51.100.7", "203.0.113.1", 6, 80, 40000, .tflags = 0x12},
	      &p);
	ck_assert_int_eq(in(&p), TC_ACT_UNSPEC);
	assert_src(&p, "198.51.100.7", 80);
	assert_dst(&p, "10.0.0.5", 40000);
	check_sums(&p);
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_IN), 1);

	/* the next packet of the flow makes no new mapping */
	s.tflags = 0x10;
	build(&s, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "203.0.113.1", 40000);
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_CREATED), 1);
	teardown();
}
END_TEST

START_TEST(test_udp_v6_and_zero_checksum)
{
	struct pkt p;

	setup(&(struct rule_opts){.eim = true});
	build(&(struct spec){AF_INET6, "fd00::5", "2001:db8:99::7", 17, 5000, 53}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "2001:db8::1", 5000);
	check_sums(&p);
	build(&(struct spec){AF_INET6, "2001:db8:99::7", "2001:db8::1", 17, 53, 5000}, &p);
	ck_assert_int_eq(in(&p), TC_ACT_UNSPEC);
	assert_dst(&p, "fd00::5", 5000);
	check_sums(&p);

	/* a UDP/IPv4 datagram without a checksum keeps none */
	build(&(struct spec){AF_INET, "10.0.0.5", "198.51.100.7", 17, 5001, 53, .udp_nocsum = true},
	      &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "203.0.113.1", 5001);
	ck_assert_uint_eq(p.b[p.l4 + 6] | p.b[p.l4 + 7], 0);
	check_sums(&p);
	teardown();
}
END_TEST

/* the mapping record of an IPv4 OUT key (independent mapping) */
static struct fos_nat_map *out_rec(const char *addr, uint16_t port, uint8_t proto)
{
	struct fos_nat_key k = {.port = port, .proto = proto, .dir = FOS_NAT_OUT};
	int id;

	addr_of(AF_INET, addr, k.addr);
	id = fos_nat_tab_find(&tab, &k);
	ck_assert_int_ge(id, 0);
	return &tab.rec[id];
}

/* Packets of an existing mapping that fos_nat_out translates the short way
 * (untagged IPv4 TCP/UDP, no options, not a fragment) come out as the full
 * way makes them: source and port, every checksum, the stamps and the
 * remote kept; and the ones it leaves to the full way still are. */
START_TEST(test_established_v4)
{
	struct spec u = {AF_INET, "10.0.0.5", "198.51.100.7", 17, 20000, 53};
	struct spec t = {AF_INET, "10.0.0.5", "198.51.100.7", 6, 40000, 80, .tflags = 0x02};
	struct fos_nat_map *m;
	struct pkt p;
	uint16_t tport;

	setup(&(struct rule_opts){.eim = true, .range = true, .lo = 20000, .hi = 20003});
	build(&u, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	/* UDP, the port kept; then one to another remote */
	build(&u, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "203.0.113.1", 20000);
	assert_dst(&p, "198.51.100.7", 53);
	check_sums(&p);
	u.dst = "198.51.100.8";
	u.dport = 5353;
	build(&u, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	check_sums(&p);
	m = out_rec("10.0.0.5", 20000, 17);
	{
		uint8_t r[16];

		addr_of(AF_INET, "198.51.100.8", r);
		ck_assert_mem_eq(m->raddr, r, 16);
		ck_assert_uint_eq(m->rport, 5353);
	}
	/* UDP without a checksum keeps none */
	u.udp_nocsum = true;
	build(&u, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "203.0.113.1", 20000);
	ck_assert_uint_eq(p.b[p.l4 + 6] | p.b[p.l4 + 7], 0);
	check_sums(&p);
	/* another host's 20000 got 20002: both checksum changes */
	u = (struct spec){AF_INET, "10.0.0.6", "198.51.100.7", 17, 20000, 53};
	build(&u, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	ck_assert_uint_eq(sport_of(&p), 20002);
	build(&u, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "203.0.113.1", 20002);
	check_sums(&p);

	/* TCP (40000 is outside the range: another port): mid-connection
	 * segments stamp est_ns; a FIN marks the mapping closing and the next
	 * segment of the connection clears that */
	build(&t, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	tport = sport_of(&p);
	ck_assert_uint_ge(tport, 20000);
	ck_assert_uint_le(tport, 20003);
	m = out_rec("10.0.0.5", 40000, 6);
	ck_assert_uint_eq(m->est_ns, 0);
	t.tflags = 0x10;
	build(&t, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "203.0.113.1", tport);
	check_sums(&p);
	ck_assert_uint_ne(m->est_ns, 0);
	ck_assert_uint_ge(m->last_ns, m->est_ns);
	t.tflags = 0x11;
	build(&t, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	check_sums(&p);
	ck_assert(m->flags & FOS_NAT_F_CLOSING);
	t.tflags = 0x10;
	build(&t, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	ck_assert(!(m->flags & FOS_NAT_F_CLOSING));
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_CREATED), 3);
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_OUT), 10);

	/* with IP options the full way translates it */
	build(&t, &p);
	memmove(p.b + p.l4 + 4, p.b + p.l4, p.len - p.l4);
	memset(p.b + p.l4, 1, 4); /* four NOPs */
	p.b[p.l3] = 0x46;
	put16(p.b + p.l3 + 2, (uint16_t)(p.len - p.l3 + 4));
	put16(p.b + p.l3 + 10, 0);
	put16(p.b + p.l3 + 10, fold(sum16(p.b + p.l3, 24, 0)));
	p.l4 += 4;
	p.len += 4;
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "203.0.113.1", tport);
	ck_assert_uint_eq(fold(sum16(p.b + p.l3, 24, 0)), 0);
	{
		uint32_t sum = sum16(p.b + p.l3 + 12, 8, 0) + 6 + (uint32_t)(p.len - p.l4);

		ck_assert_uint_eq(fold(sum16(p.b + p.l4, p.len - p.l4, sum)), 0);
	}
	teardown();
}
END_TEST

/* A port held by another mapping: the next one gets another port of the
 * range, UDP one of the same parity; with all taken the flow is dropped and
 * counted. */
START_TEST(test_ports_collide_and_exhaust)
{
	struct pkt p;
	uint16_t a, b;

	setup(&(struct rule_opts){.eim = true, .range = true, .lo = 20000, .hi = 20003});
	build(&(struct spec){AF_INET, "10.0.0.5", "198.51.100.7", 17, 20000, 53}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "203.0.113.1", 20000); /* kept: free and in the range */
	build(&(struct spec){AF_INET, "10.0.0.6", "198.51.100.7", 17, 20000, 53}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	a = sport_of(&p);
	ck_assert_uint_eq(a, 20002); /* the other even port */
	check_sums(&p);
	/* no even port left for UDP */
	build(&(struct spec){AF_INET, "10.0.0.7", "198.51.100.7", 17, 30000, 53}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_SHOT);
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_EXHAUSTED), 1);
	/* an odd one gets an odd port */
	build(&(struct spec){AF_INET, "10.0.0.7", "198.51.100.7", 17, 30001, 53}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	b = sport_of(&p);
	ck_assert(b == 20001 || b == 20003);
	/* TCP has its own ports: 20000 is free for it */
	build(&(struct spec){AF_INET, "10.0.0.8", "198.51.100.7", 6, 20000, 80, .tflags = 2}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	ck_assert_uint_eq(sport_of(&p), 20000);
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_CREATED), 4);
	teardown();
}
END_TEST

/* maxConnections: the rule's mappings are counted */
START_TEST(test_max_mappings)
{
	struct pkt p;

	setup(&(struct rule_opts){.eim = true, .max = 2});
	for (int i = 0; i < 3; i++) {
		build(&(struct spec){AF_INET, "10.0.0.5", "198.51.100.7", 17, (uint16_t)(6000 + i),
				     53},
		      &p);
		ck_assert_int_eq(out(&p), i < 2 ? TC_ACT_UNSPEC : TC_ACT_SHOT);
	}
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_FULL), 1);
	teardown();
}
END_TEST

/* endpointIndependent = false: a second destination gets a mapping of its
 * own, and only the remote of a mapping may answer through it */
START_TEST(test_dependent_mapping_and_filtering)
{
	struct pkt p;
	uint16_t first, second;

	setup(&(struct rule_opts){.eim = false});
	build(&(struct spec){AF_INET, "10.0.0.5", "198.51.100.7", 17, 7000, 3478}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	first = sport_of(&p);
	build(&(struct spec){AF_INET, "10.0.0.5", "198.51.100.8", 17, 7000, 3478}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	second = sport_of(&p);
	ck_assert_uint_ne(first, second);
	/* the first remote answers, another port of it or another host may not */
	build(&(struct spec){AF_INET, "198.51.100.7", "203.0.113.1", 17, 3478, first}, &p);
	ck_assert_int_eq(in(&p), TC_ACT_UNSPEC);
	assert_dst(&p, "10.0.0.5", 7000);
	build(&(struct spec){AF_INET, "198.51.100.7", "203.0.113.1", 17, 3479, first}, &p);
	ck_assert_int_eq(in(&p), TC_ACT_SHOT);
	build(&(struct spec){AF_INET, "198.51.100.9", "203.0.113.1", 17, 3478, first}, &p);
	ck_assert_int_eq(in(&p), TC_ACT_SHOT);
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_FILTERED), 2);
	teardown();
}
END_TEST

/* endpointIndependent = true: one mapping whatever the destination, and any
 * remote may use it */
START_TEST(test_independent_mapping_and_filtering)
{
	struct pkt p;

	setup(&(struct rule_opts){.eim = true});
	build(&(struct spec){AF_INET, "10.0.0.5", "198.51.100.7", 17, 7000, 3478}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	build(&(struct spec){AF_INET, "10.0.0.5", "198.51.100.8", 17, 7000, 3478}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	ck_assert_uint_eq(sport_of(&p), 7000);
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_CREATED), 1);
	build(&(struct spec){AF_INET, "198.51.100.9", "203.0.113.1", 17, 1234, 7000}, &p);
	ck_assert_int_eq(in(&p), TC_ACT_UNSPEC);
	assert_dst(&p, "10.0.0.5", 7000);
	check_sums(&p);
	teardown();
}
END_TEST

START_TEST(test_icmp_echo)
{
	struct pkt p;
	uint8_t k16[16];
	struct fos_nat_map other = {
	    .proto = 1, .eport = 0x77, .iport = 1, .rule = RULE, .ifindex = EXT_IF};

	setup(&(struct rule_opts){.eim = true});
	/* the identifier 0x77 is taken by another mapping: a new one is chosen */
	addr_of(AF_INET, "203.0.113.1", k16);
	memcpy(other.eaddr, k16, 16);
	addr_of(AF_INET, "10.0.0.99", other.iaddr);
	ck_assert_int_eq(fos_nat_tab_insert(&tab, &other, NULL), 0);
	build(&(struct spec){AF_INET, "10.0.0.5", "198.51.100.7", 1, .type = 8, .id = 0x77}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "203.0.113.1", 0);
	{
		uint16_t id = (uint16_t)(p.b[p.l4 + 4] << 8 | p.b[p.l4 + 5]);

		ck_assert_uint_ne(id, 0x77);
		check_sums(&p);
		build(
		    &(struct spec){AF_INET, "198.51.100.7", "203.0.113.1", 1, .type = 0, .id = id},
		    &p);
		ck_assert_int_eq(in(&p), TC_ACT_UNSPEC);
		assert_dst(&p, "10.0.0.5", 0);
		ck_assert_uint_eq((uint16_t)(p.b[p.l4 + 4] << 8 | p.b[p.l4 + 5]), 0x77);
		check_sums(&p);
	}
	/* the identifier 0 from two hosts: the first keeps it, the second gets
	 * another (0 is an identifier like the others, not "no ports") */
	build(&(struct spec){AF_INET, "10.0.0.6", "198.51.100.7", 1, .type = 8, .id = 0}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	ck_assert_uint_eq((uint16_t)(p.b[p.l4 + 4] << 8 | p.b[p.l4 + 5]), 0);
	check_sums(&p);
	build(&(struct spec){AF_INET, "10.0.0.7", "198.51.100.7", 1, .type = 8, .id = 0}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "203.0.113.1", 0);
	ck_assert_uint_ne((uint16_t)(p.b[p.l4 + 4] << 8 | p.b[p.l4 + 5]), 0);
	check_sums(&p);
	/* ICMPv6 echo */
	build(&(struct spec){AF_INET6, "fd00::5", "2001:db8:99::7", 58, .type = 128, .id = 9}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "2001:db8::1", 0);
	check_sums(&p);
	build(&(struct spec){AF_INET6, "2001:db8:99::7", "2001:db8::1", 58, .type = 129, .id = 9},
	      &p);
	ck_assert_int_eq(in(&p), TC_ACT_UNSPEC);
	assert_dst(&p, "fd00::5", 0);
	check_sums(&p);
	teardown();
}
END_TEST

/* An ICMP error about a translated packet goes to the internal host with
 * the quoted packet translated back, every checksum right. */
START_TEST(test_icmp_errors)
{
	struct pkt p, q;
	uint16_t xport;

	setup(&(struct rule_opts){.eim = true, .range = true, .lo = 30000, .hi = 30000});
	/* UDP out: the port becomes 30000 */
	build(&(struct spec){AF_INET, "10.0.0.5", "198.51.100.7", 17, 4444, 33434}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	xport = sport_of(&p);
	ck_assert_uint_eq(xport, 30000);
	/* time exceeded from a router on the way, quoting what left the NAT */
	build(&(struct spec){AF_INET, "192.0.2.99", "203.0.113.1", 1, .type = 11, .code = 0,
			     .body = p.b + p.l3, .body_len = 28},
	      &q);
	ck_assert_int_eq(in(&q), TC_ACT_UNSPEC);
	assert_dst(&q, "10.0.0.5", 0);
	check_sums(&q);
	{
		const uint8_t *inner = q.b + q.l4 + 8;
		uint8_t a[16];

		addr_of(AF_INET, "10.0.0.5", a);
		ck_assert_mem_eq(inner + 12, a + 12, 4);
		ck_assert_uint_eq(fold(sum16(inner, 20, 0)), 0);
		ck_assert_uint_eq((uint16_t)(inner[20] << 8 | inner[21]), 4444);
	}
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_ICMP_ERROR), 1);

	teardown();

	/* TCP, with fragmentation needed quoting the whole TCP header */
	setup(&(struct rule_opts){.eim = true});
	build(&(struct spec){AF_INET, "10.0.0.6", "198.51.100.7", 6, 5555, 80, .tflags = 0x10}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	build(&(struct spec){AF_INET, "192.0.2.99", "203.0.113.1", 1, .type = 3, .code = 4,
			     .body = p.b + p.l3, .body_len = p.len - p.l3},
	      &q);
	ck_assert_int_eq(in(&q), TC_ACT_UNSPEC);
	assert_dst(&q, "10.0.0.6", 0);
	check_sums(&q);
	{
		const uint8_t *inner = q.b + q.l4 + 8;
		struct pkt ip = {.family = AF_INET, .l3 = 0, .l4 = 20, .len = p.len - p.l3};

		/* the whole segment is quoted: its IP and TCP checksums hold too */
		memcpy(ip.b, inner, ip.len);
		check_sums(&ip);
		assert_src(&ip, "10.0.0.6", 5555);
	}

	/* ICMPv6 packet too big */
	build(&(struct spec){AF_INET6, "fd00::5", "2001:db8:99::7", 17, 4444, 53}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	build(&(struct spec){AF_INET6, "2001:db8:77::1", "2001:db8::1", 58, .type = 2, .code = 0,
			     .body = p.b + p.l3, .body_len = 48},
	      &q);
	ck_assert_int_eq(in(&q), TC_ACT_UNSPEC);
	assert_dst(&q, "fd00::5", 0);
	check_sums(&q);
	{
		uint8_t a[16];

		addr_of(AF_INET6, "fd00::5", a);
		ck_assert_mem_eq(q.b + q.l4 + 8 + 8, a, 16);
	}
	teardown();
}
END_TEST

/* A port map: DNAT in, its server's answers out by the map whatever the
 * source rules say; an excluded source and an unknown one pass untouched. */
START_TEST(test_static_map_and_exclude)
{
	struct pkt p;
	struct fos_nat_map pm = {.proto = 6,
				 .iport = 80,
				 .eport = 8080,
				 .flags = FOS_NAT_F_STATIC,
				 .rule = RULE,
				 .ifindex = EXT_IF};
	size_t before;

	setup(&(struct rule_opts){.eim = true});
	addr_of(AF_INET, "203.0.113.1", pm.eaddr);
	addr_of(AF_INET, "10.9.1.10", pm.iaddr);
	ck_assert_int_eq(fos_nat_tab_insert(&tab, &pm, NULL), 0);

	build(&(struct spec){AF_INET, "198.51.100.7", "203.0.113.1", 6, 50000, 8080, .tflags = 2},
	      &p);
	ck_assert_int_eq(in(&p), TC_ACT_UNSPEC);
	assert_dst(&p, "10.9.1.10", 80);
	check_sums(&p);
	/* the server is in an excluded prefix: its answers leave by the map */
	build(&(struct spec){AF_INET, "10.9.1.10", "198.51.100.7", 6, 80, 50000, .tflags = 0x12},
	      &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "203.0.113.1", 8080);
	check_sums(&p);
	/* another host of the excluded prefix is not translated */
	build(&(struct spec){AF_INET, "10.9.1.11", "198.51.100.7", 6, 81, 50000, .tflags = 2}, &p);
	{
		struct pkt same = p;

		ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
		ck_assert_mem_eq(p.b, same.b, p.len);
	}
	/* nor is a source outside every rule, nor traffic the router sends */
	build(&(struct spec){AF_INET, "172.16.0.1", "198.51.100.7", 17, 81, 53}, &p);
	{
		struct pkt same = p;

		ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
		ck_assert_mem_eq(p.b, same.b, p.len);
		p = same;
		ck_assert_int_eq(run(skel->progs.fos_nat_out, &p, 0), TC_ACT_UNSPEC);
		ck_assert_mem_eq(p.b, same.b, p.len);
	}
	before = (size_t)stat(RULE, FOS_NAT_STAT_CREATED);
	ck_assert_uint_eq(before, 0);

	/* the server refuses what came in by the map: its error leaves with
	 * the quoted packet as the remote sent it (RFC 5508) */
	{
		struct pkt q;
		const uint8_t *inner;
		struct pkt ip = {.family = AF_INET, .l3 = 0, .l4 = 20};
		uint8_t a[16];

		build(
		    &(struct spec){AF_INET, "198.51.100.7", "10.9.1.10", 6, 50000, 80, .tflags = 2},
		    &p);
		build(&(struct spec){AF_INET, "10.9.1.10", "198.51.100.7", 1, .type = 3, .code = 3,
				     .body = p.b + p.l3, .body_len = p.len - p.l3},
		      &q);
		ck_assert_int_eq(out(&q), TC_ACT_UNSPEC);
		assert_src(&q, "203.0.113.1", 0);
		check_sums(&q);
		inner = q.b + q.l4 + 8;
		ip.len = p.len - p.l3;
		memcpy(ip.b, inner, ip.len);
		check_sums(&ip);
		assert_dst(&ip, "203.0.113.1", 8080);
		addr_of(AF_INET, "198.51.100.7", a);
		ck_assert_mem_eq(inner + 12, a + 12, 4);
		ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_ICMP_ERROR), 1);
	}
	teardown();
}
END_TEST

/* a non-first fragment of a translated source cannot be mapped: dropped,
 * counted; one of a source NAT leaves alone passes */
START_TEST(test_fragments)
{
	struct pkt p;

	setup(&(struct rule_opts){.eim = true});
	/* a fragment after the first, none seen: translated by its address */
	build(&(struct spec){AF_INET, "10.0.0.5", "198.51.100.7", 17, 1, 2, .frag = true}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "203.0.113.1", 0);
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_FRAGMENT), 0);
	/* IPv6 too */
	build(&(struct spec){AF_INET6, "fd00::5", "2001:db8:99::7", 17, 1, 2, .frag = true}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "2001:db8::1", 0);
	build(&(struct spec){AF_INET, "172.16.0.1", "198.51.100.7", 17, 1, 2, .frag = true}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "172.16.0.1", 0);
	teardown();
}
END_TEST

/* A fragmented datagram: its first fragment is mapped by its ports, the
 * fragments after it (which carry none) get the same address, both ways;
 * a fragment whose first was never seen is still dropped. */
START_TEST(test_fragments_follow_first)
{
	struct pkt p;
	uint8_t a[16];

	setup(&(struct rule_opts){.eim = true});
	build(&(struct spec){AF_INET, "10.0.0.5", "198.51.100.7", 17, 4000, 53, .first_frag = true},
	      &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "203.0.113.1", 4000);
	check_sums(&p);
	build(&(struct spec){AF_INET, "10.0.0.5", "198.51.100.7", 17, 1, 2, .frag = true}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "203.0.113.1", 0);
	ck_assert_uint_eq(fold(sum16(p.b + p.l3, 20, 0)), 0);
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_OUT), 2);
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_FRAGMENT), 0);
	/* another datagram of the same source, its first fragment not seen
	 * yet (out of order): the source it gets needs no ports */
	build(&(struct spec){AF_INET, "10.0.0.5", "198.51.100.7", 17, 1, 2, .frag = true,
			     .ip_id = 0x4321},
	      &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "203.0.113.1", 0);
	ck_assert_uint_eq(fold(sum16(p.b + p.l3, 20, 0)), 0);
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_OUT), 3);
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_FRAGMENT), 0);
	/* one from a source no natConfig translates passes as it is */
	build(&(struct spec){AF_INET, "192.0.2.9", "198.51.100.7", 17, 1, 2, .frag = true,
			     .ip_id = 0x4322},
	      &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "192.0.2.9", 0);
	/* on the way in, one before its first fragment has no mapping to go
	 * by: the stack's, untranslated (for the router's own address) */
	build(&(struct spec){AF_INET, "198.51.100.7", "203.0.113.1", 17, 1, 2, .frag = true,
			     .ip_id = 0x4323},
	      &p);
	ck_assert_int_eq(in(&p), TC_ACT_UNSPEC);
	addr_of(AF_INET, "203.0.113.1", a);
	ck_assert_mem_eq(p.b + p.l3 + 16, a + 12, 4);
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_IN), 0);

	/* the answer, fragmented too */
	build(&(struct spec){AF_INET, "198.51.100.7", "203.0.113.1", 17, 53, 4000,
			     .first_frag = true, .ip_id = 0x7777},
	      &p);
	ck_assert_int_eq(in(&p), TC_ACT_UNSPEC);
	assert_dst(&p, "10.0.0.5", 4000);
	check_sums(&p);
	build(&(struct spec){AF_INET, "198.51.100.7", "203.0.113.1", 17, 1, 2, .frag = true,
			     .ip_id = 0x7777},
	      &p);
	ck_assert_int_eq(in(&p), TC_ACT_UNSPEC);
	addr_of(AF_INET, "10.0.0.5", a);
	ck_assert_mem_eq(p.b + p.l3 + 16, a + 12, 4);
	ck_assert_uint_eq(fold(sum16(p.b + p.l3, 20, 0)), 0);
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_IN), 2);
	teardown();
}
END_TEST

/* type static: the configured address, not the interface's */
START_TEST(test_static_snat)
{
	struct pkt p;

	setup(&(struct rule_opts){.eim = true, .is_static = true});
	build(&(struct spec){AF_INET, "10.0.0.5", "198.51.100.7", 6, 1234, 80, .tflags = 2}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "192.0.2.50", 1234);
	check_sums(&p);
	build(&(struct spec){AF_INET6, "fd00::5", "2001:db8:99::7", 6, 1234, 80, .tflags = 2}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "2001:db8::50", 1234);
	check_sums(&p);
	teardown();
}
END_TEST

/* masquerade on an interface without an address of the family: dropped */
START_TEST(test_no_address)
{
	struct pkt p;
	struct fos_nat_ifaddr ia = {.flags = FOS_NAT_IF_V4};
	uint32_t ext = EXT_IF;

	setup(&(struct rule_opts){.eim = true});
	addr_of(AF_INET, "203.0.113.1", ia.addr4);
	ck_assert_int_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.fos_nat_ifaddr), &ext, &ia, 0),
			 0);
	build(&(struct spec){AF_INET6, "fd00::5", "2001:db8:99::7", 17, 1, 2}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_SHOT);
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_NO_ADDRESS), 1);
	teardown();
}
END_TEST

/* ---- the mapping table -------------------------------------------------------------- */
/* the clock of mappings (bpf_ktime_get_coarse_ns) */
static uint64_t fos_nat_now_test(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct fos_nat_map tmap(uint32_t n, uint8_t proto)
{
	struct fos_nat_map m = {.proto = proto, .rule = RULE, .ifindex = EXT_IF};
	uint32_t a = htonl(0x0a000000U + n + 1);

	addr_of(AF_INET, "0.0.0.0", m.iaddr);
	memcpy(m.iaddr + 12, &a, 4);
	m.iport = 40000;
	addr_of(AF_INET, "203.0.113.1", m.eaddr);
	m.eport = (uint16_t)(1024 + n % 64000);
	return m;
}

/* fwd's side: each end maps once; a removed mapping is gone at once, its id
 * free again only after the grace; ids and buckets come back over and over */
START_TEST(test_table_user)
{
	struct fos_nat_map m = tmap(1, IPPROTO_TCP), x;
	struct fos_nat_key ok, ik;
	uint32_t id, id2, free0;
	uint64_t now = fos_nat_now_test();

	ck_assert_int_eq(load(), 0);
	free0 = fos_nat_tab_free(&tab);
	ck_assert_uint_eq(free0, tab.cap);
	ck_assert_int_eq(fos_nat_tab_insert(&tab, &m, &id), 0);
	fos_nat_out_key(&m, &ok);
	fos_nat_in_key(&m, &ik);
	ck_assert_int_eq(fos_nat_tab_find(&tab, &ok), id);
	ck_assert_int_eq(fos_nat_tab_find(&tab, &ik), id);
	ck_assert_uint_eq(tab.rec[id].state, FOS_NAT_S_LIVE);
	/* the same internal end again, the same external end again */
	x = tmap(1, IPPROTO_TCP);
	x.eport = 5000;
	ck_assert_int_eq(fos_nat_tab_insert(&tab, &x, NULL), -EEXIST);
	x = tmap(2, IPPROTO_TCP);
	x.eport = m.eport;
	ck_assert_int_eq(fos_nat_tab_insert(&tab, &x, NULL), -EEXIST);
	/* the other protocol is another mapping */
	x = tmap(1, IPPROTO_UDP);
	ck_assert_int_eq(fos_nat_tab_insert(&tab, &x, &id2), 0);
	ck_assert_uint_ne(id, id2);
	ck_assert_uint_eq(fos_nat_tab_free(&tab), free0 - 2);

	fos_nat_tab_remove(&tab, id, now);
	ck_assert_int_eq(fos_nat_tab_find(&tab, &ok), -1);
	ck_assert_int_eq(fos_nat_tab_find(&tab, &ik), -1);
	ck_assert_int_eq(fos_nat_tab_find(&tab, &(struct fos_nat_key){0}), -1);
	ck_assert_uint_eq(tab.rec[id].state, FOS_NAT_S_DEAD);
	ck_assert(!fos_nat_tab_reclaim(&tab, id, now + FOS_NAT_GRACE_NS / 2));
	ck_assert(fos_nat_tab_reclaim(&tab, id, now + FOS_NAT_GRACE_NS));
	ck_assert(!fos_nat_tab_reclaim(&tab, id, now + FOS_NAT_GRACE_NS));
	ck_assert_uint_eq(fos_nat_tab_free(&tab), free0 - 1);
	ck_assert_int_eq(fos_nat_tab_find(&tab, &(struct fos_nat_key){.dir = FOS_NAT_IN}), -1);

	/* three tables' worth of mappings, each removed and given back before
	 * the next: removed buckets are used again, none is lost */
	for (uint32_t n = 10; n < 10 + 3 * tab.cap; n++) {
		struct fos_nat_map y = tmap(n, IPPROTO_TCP);
		uint32_t yid;

		ck_assert_int_eq(fos_nat_tab_insert(&tab, &y, &yid), 0);
		fos_nat_tab_remove(&tab, yid, now);
		ck_assert(fos_nat_tab_reclaim(&tab, yid, now + FOS_NAT_GRACE_NS));
	}
	ck_assert_uint_eq(fos_nat_tab_free(&tab), free0 - 1);
	fos_nat_out_key(&x, &ok);
	ck_assert_int_eq(fos_nat_tab_find(&tab, &ok), id2);

	/* full: every id taken, then no more (nothing else goes wrong) */
	{
		uint32_t made = 1, n;
		int r = 0;

		for (n = 100000; n < 100000 + tab.cap; n++) {
			struct fos_nat_map y = tmap(n, IPPROTO_TCP);

			r = fos_nat_tab_insert(&tab, &y, NULL);
			if (r < 0)
				break;
			made++;
		}
		ck_assert_int_eq(r, -ENOSPC);
		/* windows of four groups of 16 in indexes of two buckets per
		 * mapping: the ids run out before a window does */
		ck_assert_uint_eq(made, tab.cap);
	}
	teardown();
}
END_TEST

/* The datapath's mappings as fwd sees them: found by their ends, removed
 * (the next packet in is not translated; the next out makes another), and
 * their ids used again once given back. */
START_TEST(test_table_datapath)
{
	struct pkt p;
	struct fos_nat_key ok = {.proto = 17, .dir = FOS_NAT_OUT, .port = 5000};
	int64_t id;
	uint64_t now = fos_nat_now_test();

	setup(&(struct rule_opts){.eim = true});
	build(&(struct spec){AF_INET, "10.0.0.5", "198.51.100.7", 17, 5000, 53}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	addr_of(AF_INET, "10.0.0.5", ok.addr);
	id = fos_nat_tab_find(&tab, &ok);
	ck_assert_int_ge(id, 0);
	ck_assert_uint_eq(tab.rec[id].eport, 5000);
	ck_assert_uint_eq(tab.rec[id].rport, 53); /* the latest remote out */
	ck_assert_uint_eq(fos_nat_tab_free(&tab), tab.cap - 1);
	fos_nat_tab_remove(&tab, (uint32_t)id, now);
	build(&(struct spec){AF_INET, "198.51.100.7", "203.0.113.1", 17, 53, 5000}, &p);
	ck_assert_int_eq(in(&p), TC_ACT_UNSPEC);
	assert_dst(&p, "203.0.113.1", 5000);
	ck_assert(fos_nat_tab_reclaim(&tab, (uint32_t)id, now + FOS_NAT_GRACE_NS));
	ck_assert_uint_eq(fos_nat_tab_free(&tab), tab.cap);
	build(&(struct spec){AF_INET, "10.0.0.5", "198.51.100.7", 17, 5000, 53}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	ck_assert_int_ge(fos_nat_tab_find(&tab, &ok), 0);
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_CREATED), 2);
	teardown();
}
END_TEST

/* The hairpin program's first look: a packet from the inside for an address
 * whose bit is clear goes on untouched without a look-up; one for an
 * external address with a mapping is hairpinned (translated, then counted as
 * sent back inside or, with no route for it here, as a drop) */
START_TEST(test_hairpin_prefilter)
{
	struct fos_nat_map pm = {.proto = 6,
				 .iport = 80,
				 .eport = 8080,
				 .flags = FOS_NAT_F_STATIC | FOS_NAT_F_HAIRPIN,
				 .rule = RULE,
				 .ifindex = EXT_IF};
	struct fos_nat_extbits none = {0};
	struct pkt p, q;
	uint32_t zero = 0;
	int v;

	setup(&(struct rule_opts){.eim = true, .hairpin = true});
	/* test runs need a device that exists: the inside is lo here too */
	{
		struct fos_nat_src_key k = {.prefixlen = FOS_NAT_SRC_PREFIX + 96 + 8};
		struct fos_nat_rule r;
		uint32_t id = RULE;

		ck_assert_int_eq(
		    bpf_map_lookup_elem(bpf_map__fd(skel->maps.fos_nat_rules), &id, &r), 0);
		r.src_ifindex = EXT_IF;
		ck_assert_int_eq(
		    bpf_map_update_elem(bpf_map__fd(skel->maps.fos_nat_rules), &id, &r, 0), 0);
		k.ext_ifindex = htonl(EXT_IF);
		k.src_ifindex = htonl(EXT_IF);
		addr_of(AF_INET, "10.0.0.0", k.addr);
		ck_assert_int_eq(
		    bpf_map_update_elem(bpf_map__fd(skel->maps.fos_nat_src), &k, &id, 0), 0);
	}
	addr_of(AF_INET, "203.0.113.1", pm.eaddr);
	addr_of(AF_INET, "10.9.1.10", pm.iaddr);
	ck_assert_int_eq(fos_nat_tab_insert(&tab, &pm, NULL), 0);
	/* not an external address: untouched */
	build(&(struct spec){AF_INET, "10.0.0.5", "198.51.100.7", 6, 5555, 8080, .tflags = 2}, &p);
	q = p;
	ck_assert_int_eq(run_on(skel->progs.fos_nat_hairpin, &p, EXT_IF, EXT_IF), TC_ACT_UNSPEC);
	ck_assert_mem_eq(p.b, q.b, p.len);
	/* the port map's external end */
	build(&(struct spec){AF_INET, "10.0.0.5", "203.0.113.1", 6, 5555, 8080, .tflags = 2}, &p);
	v = run_on(skel->progs.fos_nat_hairpin, &p, EXT_IF, EXT_IF);
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_HAIRPIN) + stat(RULE, FOS_NAT_STAT_MALFORMED), 1);
	ck_assert(v == TC_ACT_REDIRECT || v == TC_ACT_SHOT);
	/* rewritten by the helpers before the route is asked: to the server,
	 * from the sender's own mapping, one hop less, every checksum right */
	assert_dst(&p, "10.9.1.10", 80);
	assert_src(&p, "203.0.113.1", 5555);
	ck_assert_uint_eq(p.b[p.l3 + 8], 63);
	check_sums(&p);
	/* its bit clear (as fwd leaves it for an address no natConfig has): not
	 * looked at */
	ck_assert_int_eq(
	    bpf_map_update_elem(bpf_map__fd(skel->maps.fos_nat_extbits), &zero, &none, 0), 0);
	build(&(struct spec){AF_INET, "10.0.0.5", "203.0.113.1", 6, 5555, 8080, .tflags = 2}, &p);
	q = p;
	ck_assert_int_eq(run_on(skel->progs.fos_nat_hairpin, &p, EXT_IF, EXT_IF), TC_ACT_UNSPEC);
	ck_assert_mem_eq(p.b, q.b, p.len);
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_HAIRPIN) + stat(RULE, FOS_NAT_STAT_MALFORMED), 1);
	teardown();
}
END_TEST

/* Does prog begin with the kernel's unclone prologue (if the packet is a
 * clone: bpf_skb_pull_data(skb, 0))? The verifier puts it in front of a
 * program that writes packet data in place: a byte load from the context,
 * a test, a jump over the call. */
static bool has_unclone_prologue(struct bpf_program *prog)
{
	struct bpf_insn insns[16];
	struct bpf_prog_info info = {.xlated_prog_len = sizeof(insns),
				     .xlated_prog_insns = (uint64_t)(uintptr_t)insns};
	uint32_t len = sizeof(info);

	ck_assert_int_eq(bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len), 0);
	ck_assert_uint_ge(info.xlated_prog_len, sizeof(insns));
	return insns[0].code == (BPF_LDX | BPF_MEM | BPF_B) && insns[0].src_reg == BPF_REG_1 &&
	       BPF_CLASS(insns[2].code) == BPF_JMP && BPF_OP(insns[2].code) == BPF_JEQ &&
	       insns[5].code == (BPF_JMP | BPF_CALL);
}

/* The hairpin program sees every packet from the inside and rewrites almost
 * none: it writes by the helpers, so the kernel does not make each cloned
 * packet writable before it runs (as it must for fos_nat_out, which rewrites
 * them all in place). */
START_TEST(test_hairpin_no_unclone)
{
	setup(&(struct rule_opts){.eim = true, .hairpin = true});
	ck_assert_msg(has_unclone_prologue(skel->progs.fos_nat_out),
		      "the prologue is not recognised in fos_nat_out, which writes in place");
	ck_assert_msg(!has_unclone_prologue(skel->progs.fos_nat_hairpin),
		      "fos_nat_hairpin writes packet data in place");
	teardown();
}
END_TEST

/* A stripe that stays locked (fwd stopped in the middle of a write): the new
 * mapping behind it is dropped and counted, nothing else is touched, and the
 * next packet after the lock is given back makes it. */
START_TEST(test_table_locked)
{
	struct fos_nat_map m = {.proto = 17, .iport = 6000};
	struct fos_nat_key ok;
	struct pkt p;
	uint32_t s, *w;

	setup(&(struct rule_opts){.eim = true});
	addr_of(AF_INET, "10.0.0.8", m.iaddr);
	fos_nat_out_key(&m, &ok);
	s = fos_nat_group_of(fos_nat_hash(&ok), tab.groups) % FOS_NAT_LOCKS;
	w = &tab.locks[s / FOS_NAT_GROUP].l[s % FOS_NAT_GROUP];
	*w = 1;
	build(&(struct spec){AF_INET, "10.0.0.8", "198.51.100.7", 17, 6000, 53}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_SHOT);
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_CONTENDED), 1);
	ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_CREATED), 0);
	ck_assert_uint_eq(fos_nat_tab_free(&tab), tab.cap);
	*w = 0;
	build(&(struct spec){AF_INET, "10.0.0.8", "198.51.100.7", 17, 6000, 53}, &p);
	ck_assert_int_eq(out(&p), TC_ACT_UNSPEC);
	assert_src(&p, "203.0.113.1", 6000);
	ck_assert_int_ge(fos_nat_tab_find(&tab, &ok), 0);
	ck_assert_uint_eq(*w, 0);
	teardown();
}
END_TEST

/* Two CPUs make mappings at once, the same sources in the same order (the
 * wrapper's sequence is per CPU), all with source port 10000: every source
 * gets one mapping, every mapping an external port of its own. */
#define RACE_SOURCES 3000U

struct race {
	struct fos_tc_bench *tcb;
	struct pkt frame;
	int cpu, err;
};

static void *race_run(void *u)
{
	struct race *r = u;
	struct __sk_buff ctx = {.ifindex = EXT_IF, .ingress_ifindex = INT_IF};
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		r->err = -errno;
		return NULL;
	}
	{
		/* all of them in one run: the CPUs meet in the kernel, not
		 * between system calls */
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = r->frame.b,
			    .data_size_in = (uint32_t)r->frame.len, .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = RACE_SOURCES);

		if (bpf_prog_test_run_opts(bpf_program__fd(r->tcb->progs.fos_tc_bench_wrap),
					   &opts) < 0)
			r->err = -errno;
	}
	return NULL;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct fos_nat_key));
}

START_TEST(test_table_two_cpus)
{
	struct fos_tc_bench *tcb;
	struct race r[2] = {};
	pthread_t th[2];
	uint32_t zero = 0;
	struct fos_nat_key *ins, *outs;
	int fd, cfd;

	if (n_cpus < 2)
		return; /* one CPU: nothing runs at once */
	setup(&(struct rule_opts){.eim = true, .max = 2 * RACE_SOURCES});
	tcb = fos_tc_bench__open_and_load();
	ck_assert_ptr_nonnull(tcb);
	tcb->bss->fos_bench_sport = 10000;
	tcb->bss->fos_bench_ports = 1;
	tcb->bss->fos_bench_flows = 0;
	fd = bpf_program__fd(skel->progs.fos_nat_out);
	ck_assert_int_eq(bpf_map_update_elem(bpf_map__fd(tcb->maps.fos_bench_jmp), &zero, &fd, 0),
			 0);
	cfd = bpf_map__fd(skel->maps.fos_nat_count);
	ins = calloc(tab.cap, sizeof(*ins));
	outs = calloc(tab.cap, sizeof(*outs));
	ck_assert_ptr_nonnull(ins);
	ck_assert_ptr_nonnull(outs);
	/* rounds of their own sources, on an empty table each */
	for (uint32_t round = 0; round < 8; round++) {
		uint64_t shot, out0 = stat(RULE, FOS_NAT_STAT_OUT), made0, c0 = 0;
		uint32_t live = 0, ci = FOS_NAT_COUNT_REMOVED(RULE);

		fos_nat_tab_reset(&tab);
		/* what the reset removed is counted as fwd counts its removals */
		ck_assert_int_eq(
		    bpf_map_lookup_elem(cfd, &(uint32_t){FOS_NAT_COUNT_CREATED(RULE)}, &c0), 0);
		ck_assert_int_eq(bpf_map_update_elem(cfd, &ci, &c0, 0), 0);
		made0 = stat(RULE, FOS_NAT_STAT_CREATED);
		shot = stat(RULE, FOS_NAT_STAT_CONTENDED);
		tcb->bss->fos_bench_saddr = 0x0a010000U + round * 0x10000U; /* + n */
		for (int i = 0; i < 2; i++) {
			r[i].tcb = tcb;
			r[i].cpu = i;
			build(&(struct spec){AF_INET, "10.1.0.0", "198.51.100.1", 17, 10000, 53},
			      &r[i].frame);
			ck_assert_int_eq(pthread_create(&th[i], NULL, race_run, &r[i]), 0);
		}
		for (int i = 0; i < 2; i++) {
			ck_assert_int_eq(pthread_join(th[i], NULL), 0);
			ck_assert_int_eq(r[i].err, 0);
		}
		shot = stat(RULE, FOS_NAT_STAT_CONTENDED) - shot;
		ck_assert_uint_le(shot, RACE_SOURCES / 100);
		ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_OUT) - out0, 2 * RACE_SOURCES - shot);
		for (uint32_t id = 0; id < tab.cap; id++) {
			if (tab.rec[id].state == FOS_NAT_S_LIVE) {
				fos_nat_in_key(&tab.rec[id], &ins[live]);
				fos_nat_out_key(&tab.rec[id], &outs[live]);
				ck_assert_int_eq(fos_nat_tab_find(&tab, &ins[live]), id);
				ck_assert_int_eq(fos_nat_tab_find(&tab, &outs[live]), id);
				live++;
			} else {
				/* a CPU that found its source mapped by the other
				 * made nothing */
				ck_assert_uint_eq(tab.rec[id].state, FOS_NAT_S_FREE);
			}
		}
		ck_assert_uint_ge(live, RACE_SOURCES - shot);
		ck_assert_uint_le(live, RACE_SOURCES);
		ck_assert_uint_eq(stat(RULE, FOS_NAT_STAT_CREATED) - made0, live);
		qsort(ins, live, sizeof(*ins), key_cmp);
		qsort(outs, live, sizeof(*outs), key_cmp);
		for (uint32_t i = 1; i < live; i++) {
			ck_assert_int_ne(key_cmp(&ins[i - 1], &ins[i]), 0);
			ck_assert_int_ne(key_cmp(&outs[i - 1], &outs[i]), 0);
		}
	}
	free(ins);
	free(outs);
	fos_tc_bench__destroy(tcb);
	teardown();
}
END_TEST

static Suite *nat_suite(void)
{
	Suite *s = suite_create("tc_nat");
	TCase *tc = tcase_create("nat");

	tcase_set_timeout(tc, 120);

	tcase_add_test(tc, test_tcp_v4_both_ways);
	tcase_add_test(tc, test_udp_v6_and_zero_checksum);
	tcase_add_test(tc, test_established_v4);
	tcase_add_test(tc, test_ports_collide_and_exhaust);
	tcase_add_test(tc, test_max_mappings);
	tcase_add_test(tc, test_dependent_mapping_and_filtering);
	tcase_add_test(tc, test_independent_mapping_and_filtering);
	tcase_add_test(tc, test_icmp_echo);
	tcase_add_test(tc, test_icmp_errors);
	tcase_add_test(tc, test_static_map_and_exclude);
	tcase_add_test(tc, test_fragments);
	tcase_add_test(tc, test_fragments_follow_first);
	tcase_add_test(tc, test_static_snat);
	tcase_add_test(tc, test_no_address);
	tcase_add_test(tc, test_table_user);
	tcase_add_test(tc, test_table_datapath);
	tcase_add_test(tc, test_table_locked);
	tcase_add_test(tc, test_hairpin_prefilter);
	tcase_add_test(tc, test_hairpin_no_unclone);
	tcase_add_test(tc, test_table_two_cpus);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return pkt_test_main("test-tc-nat", "the NAT programs", probe, nat_suite, &n_cpus);
}
