/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Packet tests for fos_xdp_filter: crafted frames through BPF_PROG_TEST_RUN,
 * asserting the XDP verdict, that the frame leaves unmodified, and the exact
 * values of every fos_stats counter and of the per-rule and default counters.
 * Every test loads a fresh copy of the program (Check forks per test), so the
 * counters start at zero.
 *
 * Rules and sets are written as the daemon writes them: the rule table, and
 * the classifier tables compiled by lib/classify from the slot's rules and the
 * CIDRs of the sets they name (cls_maps.c writes them). Changing a rule or a
 * set recompiles every slot written so far.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/bpf.h>

#include "classify.h"
#include "cls_maps.h"
#include "fos/abi.h"
#include "fwd.h"
#include "xdp_filter.skel.h"
#include "pkt_main.h"
#include "pkt_util.h"

#define MAX_PKT 512

#define P_ICMP	 1
#define P_TCP	 6
#define P_UDP	 17
#define P_ICMPV6 58

#define NH_HOPOPTS  0
#define NH_FRAGMENT 44
#define NH_DSTOPTS  60
#define NH_ROUTING  43
#define NH_AH	    51

/* reason counters expected on top of PACKETS, BYTES and the verdict counter */
#define R(stat) (1U << (stat))

static struct fos_xdp_filter *skel;
static int prog_fd;
static int n_cpus;
static uint64_t exp_stats[_FOS_STAT_MAX];

/* ---- packet crafting ---------------------------------------------------- */

struct pkt {
	uint8_t b[MAX_PKT];
	size_t len;
	size_t l3; /* offset of the IP header */
	size_t l4; /* offset of the L4 header (or fragment data) */
};

struct spec {
	int family; /* AF_INET, AF_INET6, or 0 for a non-IP frame of eth_type */
	uint16_t eth_type;
	const char *src;
	const char *dst;
	uint8_t proto;
	uint16_t sport;
	uint16_t dport;
	int n_vlan;
	uint16_t tpid[3];
	uint16_t vid[3];
	int ip_opt_len; /* IPv4 option bytes (NOPs), a multiple of 4 */
	int n_v6_ext;	/* IPv6: a hop-by-hop header, then destination options headers */
	bool frag;
	uint16_t frag_off; /* 8-byte units */
	bool mf;
	uint32_t frag_id;
	bool frag_dstopts; /* IPv6: destination options in the fragmentable part */
	bool v6_rh_ah;	   /* IPv6: a routing header and a 24-byte AH after the others */
	size_t payload;
};

static const uint8_t mac_dst[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
static const uint8_t mac_src[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

static uint16_t csum16(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void ipv4_fix_csum(struct pkt *p)
{
	uint8_t *ip = p->b + p->l3;
	size_t hl = (ip[0] & 0x0f) * 4;

	put16(ip + 10, 0);
	put16(ip + 10, csum16(ip, hl));
	ck_assert_uint_eq(csum16(ip, hl), 0);
}

static void addr_v4(const char *s, uint8_t out[4])
{
	ck_assert_msg(inet_pton(AF_INET, s, out) == 1, "bad IPv4 address %s", s);
}

static void addr_v6(const char *s, uint8_t out[16])
{
	ck_assert_msg(inet_pton(AF_INET6, s, out) == 1, "bad IPv6 address %s", s);
}

static size_t put_l4(const struct spec *s, uint8_t *l4)
{
	switch (s->proto) {
	case P_TCP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put32(l4 + 4, 0x01020304);
		l4[12] = 5 << 4; /* data offset */
		l4[13] = 0x02;	 /* SYN */
		put16(l4 + 14, 65535);
		return 20;
	case P_UDP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		return 8;
	case P_ICMP:
	case P_ICMPV6:
		l4[0] = s->proto == P_ICMP ? 8 : 128; /* echo request */
		put16(l4 + 4, 0x1234);		      /* id */
		put16(l4 + 6, 1);		      /* sequence */
		return 8;
	default:
		return 0;
	}
}

static void build(const struct spec *s, struct pkt *p)
{
	uint8_t *b = p->b;
	size_t o = 12, l4len = 0, i;
	bool nonfirst = s->frag && s->frag_off;

	memset(p, 0, sizeof(*p));
	memcpy(b, mac_dst, 6);
	memcpy(b + 6, mac_src, 6);
	for (i = 0; i < (size_t)s->n_vlan; i++, o += 4) {
		put16(b + o, s->tpid[i]);
		put16(b + o + 2, s->vid[i]);
	}
	put16(b + o, s->family == AF_INET    ? ETH_P_IP
		     : s->family == AF_INET6 ? ETH_P_IPV6
					     : s->eth_type);
	o += 2;
	p->l3 = o;

	if (s->family == AF_INET) {
		uint8_t *ip = b + o;
		size_t hl = 20 + s->ip_opt_len;
		uint16_t fo = s->frag_off | (s->mf ? 0x2000 : 0);

		ip[0] = 0x40 | (hl / 4);
		put16(ip + 4, s->frag ? s->frag_id : 0x4242);
		put16(ip + 6, s->frag ? fo : 0x4000);
		ip[8] = 64;
		ip[9] = s->proto;
		addr_v4(s->src, ip + 12);
		addr_v4(s->dst, ip + 16);
		memset(ip + 20, 1, s->ip_opt_len); /* NOP options */
		o += hl;
	} else if (s->family == AF_INET6) {
		uint8_t *ip = b + o;
		uint8_t chain[12];
		int n = 0, k;

		for (k = 0; k < s->n_v6_ext; k++)
			chain[n++] = k == 0 ? NH_HOPOPTS : NH_DSTOPTS;
		if (s->v6_rh_ah) {
			chain[n++] = NH_ROUTING;
			chain[n++] = NH_AH;
		}
		if (s->frag)
			chain[n++] = NH_FRAGMENT;
		if (s->frag && s->frag_dstopts && !nonfirst)
			chain[n++] = NH_DSTOPTS;
		ip[0] = 0x60;
		ip[6] = n ? chain[0] : s->proto;
		ip[7] = 64;
		addr_v6(s->src, ip + 8);
		addr_v6(s->dst, ip + 24);
		o += 40;
		for (k = 0; k < n; k++, o += 8) {
			uint8_t nh = k + 1 < n ? chain[k + 1] : s->proto;

			if (chain[k] == NH_AH) {
				/* AH counts its length in 4-byte units, minus 2 */
				memset(b + o, 0, 24);
				b[o] = nh;
				b[o + 1] = 4;
				put32(b + o + 4, 0x100); /* SPI */
				o += 16;		 /* + 8 below */
				continue;
			}
			if (chain[k] == NH_FRAGMENT) {
				b[o] = s->frag_dstopts ? NH_DSTOPTS : s->proto;
				put16(b + o + 2, s->frag_off << 3 | (s->mf ? 1 : 0));
				put32(b + o + 4, s->frag_id);
			} else {
				b[o] = nh;
				b[o + 1] = 0; /* 8 bytes */
				b[o + 2] = 1; /* PadN */
				b[o + 3] = 4;
			}
		}
	}
	p->l4 = o;

	if (s->family && !nonfirst)
		l4len = put_l4(s, b + o);
	o += l4len;
	for (i = 0; i < s->payload; i++)
		b[o + i] = (uint8_t)(0xa5 ^ i);
	o += s->payload;
	if (!s->family && s->payload == 0)
		o += 28; /* an ARP body's worth of zeroes */
	ck_assert_uint_le(o, MAX_PKT);
	p->len = o;

	if (s->proto == P_UDP && !nonfirst && s->family)
		put16(b + p->l4 + 4, l4len + s->payload);
	if (s->family == AF_INET) {
		put16(b + p->l3 + 2, o - p->l3);
		ipv4_fix_csum(p);
	} else if (s->family == AF_INET6) {
		put16(b + p->l3 + 4, o - p->l3 - 40);
	}
}

static struct pkt mk4(uint8_t proto, const char *src, const char *dst, uint16_t sport,
		      uint16_t dport)
{
	struct spec s = {.family = AF_INET,
			 .proto = proto,
			 .src = src,
			 .dst = dst,
			 .sport = sport,
			 .dport = dport,
			 .payload = 16};
	struct pkt p;

	build(&s, &p);
	return p;
}

static struct pkt mk6(uint8_t proto, const char *src, const char *dst, uint16_t sport,
		      uint16_t dport)
{
	struct spec s = {.family = AF_INET6,
			 .proto = proto,
			 .src = src,
			 .dst = dst,
			 .sport = sport,
			 .dport = dport,
			 .payload = 16};
	struct pkt p;

	build(&s, &p);
	return p;
}

/* ---- maps ----------------------------------------------------------------- */

/* what the test wrote, to compile the classifier from */
struct shadow_set {
	uint32_t id;
	struct fos_cidr v[16];
	size_t n;
};

static struct shadow_set shadow_sets[FOS_MAX_RULES + 64];
static size_t n_shadow_sets;
static struct fos_rule shadow_rules[FOS_SLOTS][FOS_MAX_RULES];
static struct fos_slot shadow_slot[FOS_SLOTS];
static bool slot_written[FOS_SLOTS];

static const struct shadow_set *shadow_find(uint32_t id)
{
	for (size_t i = 0; i < n_shadow_sets; i++)
		if (shadow_sets[i].id == id)
			return &shadow_sets[i];
	return NULL;
}

/* compile the slot's rules and write its tables, then its header */
static void write_slot(uint32_t slot)
{
	struct fos_slot s = shadow_slot[slot];
	uint32_t n = s.n_rules < FOS_MAX_RULES ? s.n_rules : FOS_MAX_RULES;
	struct fos_cls_fds fds = {
	    .dport = bpf_map__fd(skel->maps.fos_cls_dport),
	    .sport = bpf_map__fd(skel->maps.fos_cls_sport),
	    .bitmaps = bpf_map__fd(skel->maps.fos_cls_bitmaps),
	    .addrs = bpf_map__fd(skel->maps.fos_cls_addrs),
	    .addrs4 = bpf_map__fd(skel->maps.fos_cls_addrs4),
	};
	struct fos_cls_cidrs *cd = calloc(FOS_MAX_RULES, sizeof(*cd));
	struct fos_classifier *c = NULL;
	char err[256] = "";

	ck_assert_ptr_nonnull(cd);
	for (uint32_t i = 0; i < n; i++) {
		const struct fos_rule *r = &shadow_rules[slot][i];
		const struct shadow_set *ss;

		if ((r->flags & FOS_RULE_F_SRC) && (ss = shadow_find(r->src_set))) {
			cd[i].src = ss->v;
			cd[i].n_src = ss->n;
		}
		if ((r->flags & FOS_RULE_F_DST) && (ss = shadow_find(r->dst_set))) {
			cd[i].dst = ss->v;
			cd[i].n_dst = ss->n;
		}
	}
	ck_assert_msg(fos_classify_compile(shadow_rules[slot], n, cd, err, sizeof(err), &c) == 0,
		      "%s", err);
	fos_classify_slot(c, &s);
	ck_assert_int_eq(fos_cls_maps_write(&fds, slot, c), 0);
	ck_assert_int_eq(
	    bpf_map__update_elem(skel->maps.fos_slots, &slot, sizeof(slot), &s, sizeof(s), BPF_ANY),
	    0);
	fos_classify_free(&c);
	free(cd);
}

static void rewrite_slots(void)
{
	for (uint32_t i = 0; i < FOS_SLOTS; i++)
		if (slot_written[i])
			write_slot(i);
}

static void set_add(uint32_t set_id, const char *cidr)
{
	struct fos_set_maps maps = {bpf_map__fd(skel->maps.fos_sets),
				    bpf_map__fd(skel->maps.fos_sets4), -1};
	struct shadow_set *ss = (struct shadow_set *)shadow_find(set_id);
	char err[FOS_ERRBUF] = "";
	struct fos_cidr c;

	/* written exactly as fwd writes them (daemon/sets.c) */
	ck_assert_msg(fos_parse_cidr(cidr, &c, err) == 0, "bad CIDR %s: %s", cidr, err);
	ck_assert_int_eq(fos_sets_add_entry(&maps, set_id, &c, FOS_SET_F_CONFIG, 0), 0);

	if (!ss) {
		ck_assert_uint_lt(n_shadow_sets, sizeof(shadow_sets) / sizeof(shadow_sets[0]));
		ss = &shadow_sets[n_shadow_sets++];
		ss->id = set_id;
	}
	ck_assert_uint_lt(ss->n, sizeof(ss->v) / sizeof(ss->v[0]));
	ck_assert_int_eq(fos_parse_cidr(cidr, &ss->v[ss->n++], NULL), 0);
	rewrite_slots();
}

static struct fos_rule rule(uint8_t proto, uint8_t action)
{
	struct fos_rule r = {.proto = proto, .action = action};

	return r;
}

static void rule_sport(struct fos_rule *r, uint16_t lo, uint16_t hi)
{
	ck_assert_uint_lt(r->n_sport, FOS_RULE_MAX_PORTS);
	r->flags |= FOS_RULE_F_SPORT;
	r->sport[r->n_sport].lo = lo;
	r->sport[r->n_sport].hi = hi;
	r->n_sport++;
}

static void rule_dport(struct fos_rule *r, uint16_t lo, uint16_t hi)
{
	ck_assert_uint_lt(r->n_dport, FOS_RULE_MAX_PORTS);
	r->flags |= FOS_RULE_F_DPORT;
	r->dport[r->n_dport].lo = lo;
	r->dport[r->n_dport].hi = hi;
	r->n_dport++;
}

static void put_rule(uint32_t slot, uint32_t i, const struct fos_rule *r)
{
	uint32_t key = slot * FOS_MAX_RULES + i;

	ck_assert_int_eq(
	    bpf_map__update_elem(skel->maps.fos_rules, &key, sizeof(key), r, sizeof(*r), BPF_ANY),
	    0);
	shadow_rules[slot][i] = *r;
	if (slot_written[slot] && i < shadow_slot[slot].n_rules)
		write_slot(slot);
}

static void put_slot(uint32_t slot, const struct fos_slot *s)
{
	shadow_slot[slot] = *s;
	slot_written[slot] = true;
	write_slot(slot);
}

/* slot 0 with n_rules rules and a default action */
static void put_slot0(uint32_t n_rules, uint8_t def)
{
	struct fos_slot s = {.n_rules = n_rules, .default_action = def, .generation = 1};

	put_slot(0, &s);
}

static void set_active(uint32_t slot)
{
	struct fos_ctl c = {.active = slot};
	uint32_t zero = 0;

	ck_assert_int_eq(
	    bpf_map__update_elem(skel->maps.fos_ctl, &zero, sizeof(zero), &c, sizeof(c), BPF_ANY),
	    0);
}

static void tx_port_add(uint32_t ifindex)
{
	struct bpf_devmap_val v = {.ifindex = ifindex};

	ck_assert_int_eq(bpf_map__update_elem(skel->maps.fos_tx_ports, &ifindex, sizeof(ifindex),
					      &v, sizeof(v), BPF_ANY),
			 0);
}

static uint64_t stat_sum(uint32_t idx)
{
	uint64_t v[n_cpus];
	uint64_t sum = 0;
	int i;

	ck_assert_int_eq(
	    bpf_map__lookup_elem(skel->maps.fos_stats, &idx, sizeof(idx), v, sizeof(v), 0), 0);
	for (i = 0; i < n_cpus; i++)
		sum += v[i];
	return sum;
}

static struct fos_rule_counter counter_sum(struct bpf_map *map, uint32_t idx)
{
	struct fos_rule_counter v[n_cpus];
	struct fos_rule_counter sum = {0};
	int i;

	ck_assert_int_eq(bpf_map__lookup_elem(map, &idx, sizeof(idx), v, sizeof(v), 0), 0);
	for (i = 0; i < n_cpus; i++) {
		sum.packets += v[i].packets;
		sum.bytes += v[i].bytes;
	}
	return sum;
}

#define assert_rule_ctr(slot, i, pkts, byts)                                                       \
	do {                                                                                       \
		struct fos_rule_counter _c =                                                       \
		    counter_sum(skel->maps.fos_rule_stats, (slot)*FOS_MAX_RULES + (i));            \
		ck_assert_msg(_c.packets == (pkts) && _c.bytes == (byts),                          \
			      "rule %u/%u: %llu packets %llu bytes, expected %llu/%llu",           \
			      (unsigned)(slot), (unsigned)(i), (unsigned long long)_c.packets,     \
			      (unsigned long long)_c.bytes, (unsigned long long)(pkts),            \
			      (unsigned long long)(byts));                                         \
	} while (0)

#define assert_default_ctr(slot, pkts, byts)                                                       \
	do {                                                                                       \
		struct fos_rule_counter _c = counter_sum(skel->maps.fos_default_st, (slot));       \
		ck_assert_msg(_c.packets == (pkts) && _c.bytes == (byts),                          \
			      "default %u: %llu packets %llu bytes, expected %llu/%llu",           \
			      (unsigned)(slot), (unsigned long long)_c.packets,                    \
			      (unsigned long long)_c.bytes, (unsigned long long)(pkts),            \
			      (unsigned long long)(byts));                                         \
	} while (0)

/* every fos_stats counter equals what the packets run so far add up to */
static void check_stats(void)
{
	uint32_t i;

	for (i = 0; i < _FOS_STAT_MAX; i++) {
		uint64_t v = stat_sum(i);

		ck_assert_ptr_nonnull(stat_names[i]);
		ck_assert_msg(v == exp_stats[i], "fos_stats[%s] = %llu, expected %llu",
			      stat_names[i], (unsigned long long)v,
			      (unsigned long long)exp_stats[i]);
	}
}

/* Run one frame; the filter must hand it on byte for byte. */
static uint32_t run(const struct pkt *p)
{
	uint8_t out[MAX_PKT + 64];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->b, .data_size_in = p->len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);

	ck_assert_int_eq(bpf_prog_test_run_opts(prog_fd, &opts), 0);
	ck_assert_uint_eq(opts.data_size_out, p->len);
	ck_assert_mem_eq(out, p->b, p->len);
	return opts.retval;
}

/* Run p, expect verdict, and add what it must count to exp_stats; reasons is
 * a mask of R(FOS_STAT_...) counters it must bump besides the verdict's. */
static void _expect(const struct pkt *p, uint32_t verdict, uint32_t reasons, int line)
{
	uint32_t got = run(p);
	uint32_t i;

	ck_assert_msg(got == verdict, "line %d: verdict %s, expected %s", line,
		      verdict_name(true, (int)got), verdict_name(true, (int)verdict));
	exp_stats[FOS_STAT_PACKETS]++;
	exp_stats[FOS_STAT_BYTES] += p->len;
	switch (verdict) {
	case XDP_PASS:
		exp_stats[FOS_STAT_PASSED]++;
		break;
	case XDP_DROP:
		exp_stats[FOS_STAT_DROPPED]++;
		break;
	case XDP_REDIRECT:
		exp_stats[FOS_STAT_REDIRECTED]++;
		break;
	default:
		ck_abort_msg("line %d: no such verdict %u", line, verdict);
	}
	for (i = 0; i < _FOS_STAT_MAX; i++)
		if (reasons & R(i))
			exp_stats[i]++;
	check_stats();
}

#define expect(p, verdict, reasons) _expect((p), (verdict), (reasons), __LINE__)

/* ---- fixture ------------------------------------------------------------ */

static void setup(void)
{
	skel = fos_xdp_filter__open_and_load();
	ck_assert_msg(skel, "loading fos_xdp_filter: %s", strerror(errno));
	prog_fd = bpf_program__fd(skel->progs.fos_xdp_filter);
	memset(exp_stats, 0, sizeof(exp_stats));
	memset(shadow_rules, 0, sizeof(shadow_rules));
	memset(shadow_slot, 0, sizeof(shadow_slot));
	memset(slot_written, 0, sizeof(slot_written));
	n_shadow_sets = 0;
	put_slot0(0, FOS_ACT_PASS);
	set_active(0);
}

static void teardown(void)
{
	fos_xdp_filter__destroy(skel);
	skel = NULL;
}

/* ---- tests -------------------------------------------------------------- */

/* slot 0 live with one rule, drop udp dport 53, and default pass */
static void drop_udp53_only(void)
{
	struct fos_rule r = rule(P_UDP, FOS_ACT_DROP);

	rule_dport(&r, 53, 53);
	put_rule(0, 0, &r);
	put_slot0(1, FOS_ACT_PASS);
}

START_TEST(test_non_ip_passes)
{
	struct spec s = {.eth_type = ETH_P_ARP};
	struct pkt p;
	struct fos_rule drop_all = rule(0, FOS_ACT_DROP);

	put_rule(0, 0, &drop_all);
	put_slot0(1, FOS_ACT_DROP);
	build(&s, &p);
	expect(&p, XDP_PASS, R(FOS_STAT_NON_IP));
	assert_rule_ctr(0, 0, 0, 0);
	assert_default_ctr(0, 0, 0);
}
END_TEST

START_TEST(test_default_pass_drop)
{
	struct pkt t = mk4(P_TCP, "192.0.2.1", "192.0.2.2", 1000, 80);
	struct pkt u = mk6(P_UDP, "2001:db8::1", "2001:db8::2", 1000, 53);

	expect(&t, XDP_PASS, R(FOS_STAT_DEFAULT));
	expect(&u, XDP_PASS, R(FOS_STAT_DEFAULT));
	assert_default_ctr(0, 2, t.len + u.len);

	put_slot0(0, FOS_ACT_DROP);
	expect(&t, XDP_DROP, R(FOS_STAT_DEFAULT));
	expect(&u, XDP_DROP, R(FOS_STAT_DEFAULT));
	assert_default_ctr(0, 4, 2 * (t.len + u.len));
	assert_default_ctr(1, 0, 0);
}
END_TEST

START_TEST(test_default_redirect)
{
	struct fos_slot s = {.default_action = FOS_ACT_REDIRECT, .default_ifindex = 1};
	struct pkt t = mk4(P_TCP, "192.0.2.1", "192.0.2.2", 1000, 80);

	put_slot(0, &s);
	/* no devmap entry yet: the redirect cannot happen, the packet is dropped */
	expect(&t, XDP_DROP, R(FOS_STAT_DEFAULT) | R(FOS_STAT_REDIRECT_FAIL));
	tx_port_add(1);
	expect(&t, XDP_REDIRECT, R(FOS_STAT_DEFAULT));
	assert_default_ctr(0, 2, 2 * t.len);
}
END_TEST

START_TEST(test_rule_redirect)
{
	struct fos_rule r = rule(P_UDP, FOS_ACT_REDIRECT);
	struct pkt u = mk4(P_UDP, "192.0.2.1", "192.0.2.2", 1000, 53);
	struct pkt t = mk4(P_TCP, "192.0.2.1", "192.0.2.2", 1000, 53);

	r.ifindex = 1;
	put_rule(0, 0, &r);
	put_slot0(1, FOS_ACT_PASS);
	expect(&u, XDP_DROP, R(FOS_STAT_REDIRECT_FAIL));
	tx_port_add(1);
	expect(&u, XDP_REDIRECT, 0);
	expect(&t, XDP_PASS, R(FOS_STAT_DEFAULT));
	/* a target that is not in the devmap, with another one present */
	r.ifindex = 7777;
	put_rule(0, 0, &r);
	expect(&u, XDP_DROP, R(FOS_STAT_REDIRECT_FAIL));
	assert_rule_ctr(0, 0, 3, 3 * u.len);
	assert_default_ctr(0, 1, t.len);
}
END_TEST

START_TEST(test_rule_protocol)
{
	struct fos_rule r = rule(P_TCP, FOS_ACT_DROP);
	struct pkt t4 = mk4(P_TCP, "192.0.2.1", "192.0.2.2", 1000, 80);
	struct pkt u4 = mk4(P_UDP, "192.0.2.1", "192.0.2.2", 1000, 80);
	struct pkt i4 = mk4(P_ICMP, "192.0.2.1", "192.0.2.2", 0, 0);
	struct pkt t6 = mk6(P_TCP, "2001:db8::1", "2001:db8::2", 1000, 80);
	struct pkt u6 = mk6(P_UDP, "2001:db8::1", "2001:db8::2", 1000, 80);
	struct pkt i6 = mk6(P_ICMPV6, "2001:db8::1", "2001:db8::2", 0, 0);

	put_rule(0, 0, &r);
	put_slot0(1, FOS_ACT_PASS);
	expect(&t4, XDP_DROP, 0);
	expect(&t6, XDP_DROP, 0);
	expect(&u4, XDP_PASS, R(FOS_STAT_DEFAULT));
	expect(&u6, XDP_PASS, R(FOS_STAT_DEFAULT));
	expect(&i4, XDP_PASS, R(FOS_STAT_DEFAULT));
	expect(&i6, XDP_PASS, R(FOS_STAT_DEFAULT));
	assert_rule_ctr(0, 0, 2, t4.len + t6.len);

	r.proto = P_UDP;
	put_rule(0, 0, &r);
	expect(&u4, XDP_DROP, 0);
	expect(&u6, XDP_DROP, 0);
	expect(&t4, XDP_PASS, R(FOS_STAT_DEFAULT));
	assert_rule_ctr(0, 0, 4, t4.len + t6.len + u4.len + u6.len);
}
END_TEST

START_TEST(test_rule_icmp_families)
{
	struct fos_rule r = rule(P_ICMP, FOS_ACT_DROP);
	struct pkt i4 = mk4(P_ICMP, "192.0.2.1", "192.0.2.2", 0, 0);
	struct pkt i6 = mk6(P_ICMPV6, "2001:db8::1", "2001:db8::2", 0, 0);

	put_rule(0, 0, &r);
	put_slot0(1, FOS_ACT_PASS);
	expect(&i4, XDP_DROP, 0);
	expect(&i6, XDP_PASS, R(FOS_STAT_DEFAULT));

	r.proto = P_ICMPV6;
	put_rule(0, 0, &r);
	expect(&i6, XDP_DROP, 0);
	expect(&i4, XDP_PASS, R(FOS_STAT_DEFAULT));
	assert_rule_ctr(0, 0, 2, i4.len + i6.len);
	assert_default_ctr(0, 2, i4.len + i6.len);
}
END_TEST

START_TEST(test_rule_any)
{
	struct fos_rule r = rule(FOS_PROTO_ANY, FOS_ACT_DROP);
	struct pkt pk[] = {
	    mk4(P_TCP, "192.0.2.1", "192.0.2.2", 1, 2),
	    mk4(P_UDP, "192.0.2.1", "192.0.2.2", 1, 2),
	    mk4(P_ICMP, "192.0.2.1", "192.0.2.2", 0, 0),
	    mk4(47 /* GRE */, "192.0.2.1", "192.0.2.2", 0, 0),
	    mk6(P_TCP, "2001:db8::1", "2001:db8::2", 1, 2),
	    mk6(P_ICMPV6, "2001:db8::1", "2001:db8::2", 0, 0),
	};
	uint64_t bytes = 0;
	size_t i;

	put_rule(0, 0, &r);
	put_slot0(1, FOS_ACT_PASS);
	for (i = 0; i < sizeof(pk) / sizeof(pk[0]); i++) {
		expect(&pk[i], XDP_DROP, 0);
		bytes += pk[i].len;
	}
	assert_rule_ctr(0, 0, sizeof(pk) / sizeof(pk[0]), bytes);
	assert_default_ctr(0, 0, 0);
}
END_TEST

START_TEST(test_rule_ports_single)
{
	struct fos_rule rs = rule(P_TCP, FOS_ACT_DROP);
	struct fos_rule rd = rule(P_UDP, FOS_ACT_DROP);
	struct pkt hit_s = mk4(P_TCP, "192.0.2.1", "192.0.2.2", 1234, 80);
	struct pkt miss_s = mk4(P_TCP, "192.0.2.1", "192.0.2.2", 1235, 1234);
	struct pkt hit_d = mk6(P_UDP, "2001:db8::1", "2001:db8::2", 1, 53);
	struct pkt miss_d = mk6(P_UDP, "2001:db8::1", "2001:db8::2", 53, 54);

	rule_sport(&rs, 1234, 1234);
	rule_dport(&rd, 53, 53);
	put_rule(0, 0, &rs);
	put_rule(0, 1, &rd);
	put_slot0(2, FOS_ACT_PASS);
	expect(&hit_s, XDP_DROP, 0);
	expect(&miss_s, XDP_PASS, R(FOS_STAT_DEFAULT));
	expect(&hit_d, XDP_DROP, 0);
	expect(&miss_d, XDP_PASS, R(FOS_STAT_DEFAULT));
	assert_rule_ctr(0, 0, 1, hit_s.len);
	assert_rule_ctr(0, 1, 1, hit_d.len);
}
END_TEST

START_TEST(test_rule_port_ranges)
{
	static const struct {
		uint16_t dport;
		bool hit;
	} cases[] = {
	    {0, false},	 {21, false},  {22, true},     {23, false},   {79, false},
	    {80, true},	 {85, true},   {89, true},     {90, false},   {442, false},
	    {443, true}, {444, false}, {65534, false}, {65535, true},
	};
	struct fos_rule r = rule(P_TCP, FOS_ACT_DROP);
	size_t i;
	uint64_t hits = 0, bytes = 0;

	rule_dport(&r, 22, 22);
	rule_dport(&r, 80, 89);
	rule_dport(&r, 443, 443);
	rule_dport(&r, 65535, 65535);
	put_rule(0, 0, &r);
	put_slot0(1, FOS_ACT_PASS);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt p = mk4(P_TCP, "192.0.2.1", "192.0.2.2", 40000, cases[i].dport);

		if (cases[i].hit) {
			expect(&p, XDP_DROP, 0);
			hits++;
			bytes += p.len;
		} else {
			expect(&p, XDP_PASS, R(FOS_STAT_DEFAULT));
		}
	}
	assert_rule_ctr(0, 0, hits, bytes);

	/* source and destination ranges together: both must hold */
	r = rule(P_UDP, FOS_ACT_DROP);
	rule_sport(&r, 1024, 2047);
	rule_sport(&r, 5000, 5000);
	rule_dport(&r, 53, 53);
	put_rule(0, 0, &r);
	{
		struct pkt a = mk6(P_UDP, "2001:db8::1", "2001:db8::2", 2047, 53);
		struct pkt b = mk6(P_UDP, "2001:db8::1", "2001:db8::2", 5000, 53);
		struct pkt c = mk6(P_UDP, "2001:db8::1", "2001:db8::2", 2048, 53);
		struct pkt d = mk6(P_UDP, "2001:db8::1", "2001:db8::2", 1024, 54);

		expect(&a, XDP_DROP, 0);
		expect(&b, XDP_DROP, 0);
		expect(&c, XDP_PASS, R(FOS_STAT_DEFAULT));
		expect(&d, XDP_PASS, R(FOS_STAT_DEFAULT));
		assert_rule_ctr(0, 0, hits + 2, bytes + a.len + b.len);
	}

	/* a port condition with no ranges matches nothing */
	r = rule(P_UDP, FOS_ACT_DROP);
	r.flags = FOS_RULE_F_DPORT;
	put_rule(0, 0, &r);
	{
		struct pkt a = mk4(P_UDP, "192.0.2.1", "192.0.2.2", 0, 0);

		expect(&a, XDP_PASS, R(FOS_STAT_DEFAULT));
	}
}
END_TEST

START_TEST(test_rule_ports_need_ports)
{
	struct fos_rule r = rule(FOS_PROTO_ANY, FOS_ACT_DROP);
	struct pkt i4 = mk4(P_ICMP, "192.0.2.1", "192.0.2.2", 0, 0);
	struct pkt i6 = mk6(P_ICMPV6, "2001:db8::1", "2001:db8::2", 0, 0);
	struct pkt u4 = mk4(P_UDP, "192.0.2.1", "192.0.2.2", 7, 7);

	rule_dport(&r, 0, 65535);
	put_rule(0, 0, &r);
	put_slot0(1, FOS_ACT_PASS);
	expect(&i4, XDP_PASS, R(FOS_STAT_DEFAULT));
	expect(&i6, XDP_PASS, R(FOS_STAT_DEFAULT));
	expect(&u4, XDP_DROP, 0);
	assert_rule_ctr(0, 0, 1, u4.len);
}
END_TEST

START_TEST(test_rule_cidrs)
{
	struct fos_rule src = rule(FOS_PROTO_ANY, FOS_ACT_DROP);
	struct fos_rule dst = rule(FOS_PROTO_ANY, FOS_ACT_REDIRECT);
	struct pkt s4 = mk4(P_TCP, "198.51.100.77", "192.0.2.2", 1, 2);
	struct pkt s6 = mk6(P_UDP, "2001:db8:1:ffff::1", "2001:db8::2", 1, 2);
	struct pkt d4 = mk4(P_ICMP, "192.0.2.1", "203.0.113.9", 0, 0);
	struct pkt d6 = mk6(P_TCP, "2001:db8::1", "2001:db8:2::9", 1, 2);
	struct pkt n4 = mk4(P_TCP, "198.51.101.1", "203.0.114.1", 1, 2);
	struct pkt n6 = mk6(P_TCP, "2001:db8:3::1", "2001:db8:4::1", 1, 2);
	/* an address in the source set, but as the destination: no match */
	struct pkt x4 = mk4(P_TCP, "192.0.2.1", "198.51.100.1", 1, 2);

	set_add(20, "198.51.100.0/24");
	set_add(20, "2001:db8:1::/48");
	set_add(21, "203.0.113.0/24");
	set_add(21, "2001:db8:2::/48");
	/* other sets hold everything: a lookup must stay inside its own set */
	set_add(22, "0.0.0.0/0");
	set_add(22, "::/0");
	src.flags = FOS_RULE_F_SRC;
	src.src_set = 20;
	dst.flags = FOS_RULE_F_DST;
	dst.dst_set = 21;
	dst.ifindex = 1;
	put_rule(0, 0, &src);
	put_rule(0, 1, &dst);
	put_slot0(2, FOS_ACT_PASS);
	tx_port_add(1);

	expect(&s4, XDP_DROP, 0);
	expect(&s6, XDP_DROP, 0);
	expect(&d4, XDP_REDIRECT, 0);
	expect(&d6, XDP_REDIRECT, 0);
	expect(&n4, XDP_PASS, R(FOS_STAT_DEFAULT));
	expect(&n6, XDP_PASS, R(FOS_STAT_DEFAULT));
	expect(&x4, XDP_PASS, R(FOS_STAT_DEFAULT));
	assert_rule_ctr(0, 0, 2, s4.len + s6.len);
	assert_rule_ctr(0, 1, 2, d4.len + d6.len);
	assert_default_ctr(0, 3, n4.len + n6.len + x4.len);
}
END_TEST

START_TEST(test_rule_all_conditions)
{
	struct fos_rule r = rule(P_TCP, FOS_ACT_DROP);
	struct pkt hit = mk4(P_TCP, "10.0.0.1", "10.9.0.1", 5555, 443);
	struct pkt p;

	set_add(30, "10.0.0.0/16");
	set_add(31, "10.9.0.0/16");
	r.flags = FOS_RULE_F_SRC | FOS_RULE_F_DST;
	r.src_set = 30;
	r.dst_set = 31;
	rule_sport(&r, 5555, 5555);
	rule_dport(&r, 443, 443);
	put_rule(0, 0, &r);
	put_slot0(1, FOS_ACT_PASS);

	expect(&hit, XDP_DROP, 0);
	p = mk4(P_UDP, "10.0.0.1", "10.9.0.1", 5555, 443);
	expect(&p, XDP_PASS, R(FOS_STAT_DEFAULT));
	p = mk4(P_TCP, "10.1.0.1", "10.9.0.1", 5555, 443);
	expect(&p, XDP_PASS, R(FOS_STAT_DEFAULT));
	p = mk4(P_TCP, "10.0.0.1", "10.8.0.1", 5555, 443);
	expect(&p, XDP_PASS, R(FOS_STAT_DEFAULT));
	p = mk4(P_TCP, "10.0.0.1", "10.9.0.1", 5556, 443);
	expect(&p, XDP_PASS, R(FOS_STAT_DEFAULT));
	p = mk4(P_TCP, "10.0.0.1", "10.9.0.1", 5555, 444);
	expect(&p, XDP_PASS, R(FOS_STAT_DEFAULT));
	assert_rule_ctr(0, 0, 1, hit.len);
}
END_TEST

START_TEST(test_first_match_wins)
{
	struct fos_rule r0 = rule(P_TCP, FOS_ACT_PASS);
	struct fos_rule r1 = rule(P_TCP, FOS_ACT_DROP);
	struct fos_rule r2 = rule(FOS_PROTO_ANY, FOS_ACT_PASS);
	struct pkt web = mk4(P_TCP, "192.0.2.1", "192.0.2.2", 40000, 80);
	struct pkt ssh = mk4(P_TCP, "192.0.2.1", "192.0.2.2", 40000, 22);
	struct pkt dns = mk4(P_UDP, "192.0.2.1", "192.0.2.2", 40000, 53);

	rule_dport(&r0, 80, 80);
	put_rule(0, 0, &r0);
	put_rule(0, 1, &r1);
	put_rule(0, 2, &r2);
	put_slot0(3, FOS_ACT_DROP);
	expect(&web, XDP_PASS, 0);
	expect(&ssh, XDP_DROP, 0);
	expect(&dns, XDP_PASS, 0);
	assert_rule_ctr(0, 0, 1, web.len);
	assert_rule_ctr(0, 1, 1, ssh.len);
	assert_rule_ctr(0, 2, 1, dns.len);

	/* rules past n_rules are not consulted */
	put_slot0(2, FOS_ACT_DROP);
	expect(&dns, XDP_DROP, R(FOS_STAT_DEFAULT));
	assert_rule_ctr(0, 2, 1, dns.len);
	assert_default_ctr(0, 1, dns.len);
}
END_TEST

START_TEST(test_max_rules)
{
	struct fos_rule miss = rule(P_TCP, FOS_ACT_PASS);
	struct fos_rule last = rule(P_UDP, FOS_ACT_DROP);
	struct pkt u = mk4(P_UDP, "192.0.2.1", "192.0.2.2", 1, 53);
	uint32_t i;

	rule_dport(&miss, 1, 1);
	for (i = 0; i < FOS_MAX_RULES - 1; i++)
		put_rule(0, i, &miss);
	rule_dport(&last, 53, 53);
	put_rule(0, FOS_MAX_RULES - 1, &last);
	/* rules on both sides of every power-of-two boundary from 16 to 512 */
	for (i = 16; i < FOS_MAX_RULES; i <<= 1) {
		struct fos_rule below = rule(P_TCP, FOS_ACT_DROP);
		struct fos_rule at = rule(P_TCP, FOS_ACT_REDIRECT);

		rule_dport(&below, 10000 + i - 1, 10000 + i - 1);
		rule_dport(&at, 20000 + i, 20000 + i);
		put_rule(0, i - 1, &below);
		put_rule(0, i, &at);
	}
	put_slot0(FOS_MAX_RULES, FOS_ACT_PASS);
	expect(&u, XDP_DROP, 0);
	assert_rule_ctr(0, FOS_MAX_RULES - 1, 1, u.len);
	for (i = 16; i < FOS_MAX_RULES; i <<= 1) {
		struct pkt tb = mk4(P_TCP, "192.0.2.1", "192.0.2.2", 1, 10000 + i - 1);
		struct pkt ta = mk4(P_TCP, "192.0.2.1", "192.0.2.2", 1, 20000 + i);

		expect(&tb, XDP_DROP, 0);
		expect(&ta, XDP_DROP, R(FOS_STAT_REDIRECT_FAIL));
		assert_rule_ctr(0, i - 1, 1, tb.len);
		assert_rule_ctr(0, i, 1, ta.len);
	}

	/* one short: the last rule is out, the default decides */
	put_slot0(FOS_MAX_RULES - 1, FOS_ACT_PASS);
	expect(&u, XDP_PASS, R(FOS_STAT_DEFAULT));
	assert_rule_ctr(0, FOS_MAX_RULES - 1, 1, u.len);

	/* n_rules beyond the table is clamped to it: the walk never runs into
	 * slot 1, whose first rule would match */
	put_rule(0, FOS_MAX_RULES - 1, &miss);
	put_rule(1, 0, &last);
	put_slot0(FOS_MAX_RULES + 5, FOS_ACT_PASS);
	expect(&u, XDP_PASS, R(FOS_STAT_DEFAULT));
	assert_rule_ctr(1, 0, 0, 0);
	assert_default_ctr(0, 2, 2 * u.len);
}
END_TEST

/* the first rule wins, not the longest prefix */
START_TEST(test_overlapping_cidrs)
{
	struct fos_rule wide = rule(FOS_PROTO_ANY, FOS_ACT_DROP);
	struct fos_rule narrow = rule(FOS_PROTO_ANY, FOS_ACT_PASS);
	struct pkt both = mk4(P_TCP, "10.1.2.3", "192.0.2.2", 1, 80);
	struct pkt only8 = mk4(P_UDP, "10.2.0.1", "192.0.2.2", 1, 53);
	struct pkt none = mk4(P_TCP, "11.0.0.1", "192.0.2.2", 1, 80);

	set_add(40, "10.0.0.0/8");
	set_add(41, "10.1.0.0/16");
	set_add(42, "198.51.100.0/24");
	wide.flags = FOS_RULE_F_SRC;
	wide.src_set = 40;
	narrow.flags = FOS_RULE_F_SRC;
	narrow.src_set = 41;
	put_rule(0, 0, &wide);
	put_rule(0, 1, &narrow);
	put_slot0(2, FOS_ACT_PASS);
	/* 10.1.2.3 is in both; the longer prefix is rule 1's, rule 0 comes first */
	expect(&both, XDP_DROP, 0);
	expect(&only8, XDP_DROP, 0);
	expect(&none, XDP_PASS, R(FOS_STAT_DEFAULT));
	assert_rule_ctr(0, 0, 2, both.len + only8.len);
	assert_rule_ctr(0, 1, 0, 0);

	/* the /16 first: it takes what it covers, the /8 the rest */
	put_rule(0, 0, &narrow);
	put_rule(0, 1, &wide);
	expect(&both, XDP_PASS, 0);
	expect(&only8, XDP_DROP, 0);
	assert_rule_ctr(0, 0, 3, both.len * 2 + only8.len);
	assert_rule_ctr(0, 1, 1, only8.len);

	/* rewritten with other prefixes: the old ones are gone from the slot */
	wide.src_set = 42;
	narrow.src_set = 42;
	put_rule(0, 0, &wide);
	put_rule(0, 1, &narrow);
	expect(&both, XDP_PASS, R(FOS_STAT_DEFAULT));
	{
		struct pkt in = mk4(P_TCP, "198.51.100.7", "192.0.2.2", 1, 80);

		expect(&in, XDP_DROP, 0);
		assert_rule_ctr(0, 0, 4, both.len * 2 + only8.len + in.len);
	}
}
END_TEST

/* 1024 rules with CIDRs, protocols and ports: matches in every word */
START_TEST(test_many_rules_cidrs)
{
	static const struct {
		uint8_t proto;
		const char *src;
		uint16_t dport;
		int rule; /* -1: default */
	} cases[] = {
	    {P_UDP, "10.3.254.1", 80, 1023}, {P_TCP, "10.3.254.1", 80, 1022},
	    {P_TCP, "10.3.255.1", 80, 1023}, {P_TCP, "10.0.5.1", 80, 5},
	    {P_TCP, "10.0.5.1", 81, 1023},   {P_TCP, "10.2.7.9", 80, 519},
	    {P_TCP, "11.0.0.1", 80, -1},     {P_ICMP, "10.1.0.1", 0, 1023},
	};
	struct fos_slot s = {.n_rules = 0, .default_action = FOS_ACT_DROP};
	struct fos_rule r;
	uint64_t last_pkts = 0, last_bytes = 0;
	uint32_t i;

	/* written with the slot unset, compiled once at the end */
	slot_written[0] = false;
	for (i = 0; i < FOS_MAX_RULES - 1; i++) {
		char c[32];

		r = rule(P_TCP, FOS_ACT_DROP);
		ck_assert_uint_lt(n_shadow_sets, sizeof(shadow_sets) / sizeof(shadow_sets[0]));
		snprintf(c, sizeof(c), "10.%u.%u.0/24", i / 256, i % 256);
		shadow_sets[n_shadow_sets].id = 5000 + i;
		shadow_sets[n_shadow_sets].n = 1;
		ck_assert_int_eq(fos_parse_cidr(c, &shadow_sets[n_shadow_sets].v[0], NULL), 0);
		n_shadow_sets++;
		r.flags = FOS_RULE_F_SRC;
		r.src_set = 5000 + i;
		rule_dport(&r, 80, 80);
		put_rule(0, i, &r);
	}
	r = rule(FOS_PROTO_ANY, FOS_ACT_PASS);
	set_add(4999, "10.0.0.0/8");
	r.flags = FOS_RULE_F_SRC;
	r.src_set = 4999;
	put_rule(0, FOS_MAX_RULES - 1, &r);
	s.n_rules = FOS_MAX_RULES;
	put_slot(0, &s);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt p = mk4(cases[i].proto, cases[i].src, "192.0.2.2", 1, cases[i].dport);

		if (cases[i].rule < 0) {
			expect(&p, XDP_DROP, R(FOS_STAT_DEFAULT));
			continue;
		}
		if (cases[i].rule == FOS_MAX_RULES - 1) {
			expect(&p, XDP_PASS, 0);
			last_pkts++;
			last_bytes += p.len;
			assert_rule_ctr(0, FOS_MAX_RULES - 1, last_pkts, last_bytes);
		} else {
			expect(&p, XDP_DROP, 0);
			assert_rule_ctr(0, cases[i].rule, 1, p.len);
		}
	}
	ck_assert_uint_eq(last_pkts, 4);
}
END_TEST

/* rules that differ only in their source ports */
START_TEST(test_rules_differ_in_sport)
{
	struct fos_rule r0 = rule(P_UDP, FOS_ACT_PASS);
	struct fos_rule r1 = rule(P_UDP, FOS_ACT_DROP);
	struct fos_rule r2 = rule(P_UDP, FOS_ACT_PASS);
	struct pkt a = mk4(P_UDP, "192.0.2.1", "192.0.2.2", 1000, 53);
	struct pkt b = mk4(P_UDP, "192.0.2.1", "192.0.2.2", 2000, 53);
	struct pkt c = mk6(P_UDP, "2001:db8::1", "2001:db8::2", 3999, 53);
	struct pkt d = mk4(P_UDP, "192.0.2.1", "192.0.2.2", 4000, 53);
	struct pkt e = mk4(P_UDP, "192.0.2.1", "192.0.2.2", 1000, 54);

	rule_sport(&r0, 1000, 1000);
	rule_sport(&r1, 2000, 2000);
	rule_sport(&r2, 3000, 3999);
	rule_dport(&r0, 53, 53);
	rule_dport(&r1, 53, 53);
	rule_dport(&r2, 53, 53);
	put_rule(0, 0, &r0);
	put_rule(0, 1, &r1);
	put_rule(0, 2, &r2);
	put_slot0(3, FOS_ACT_DROP);
	expect(&a, XDP_PASS, 0);
	expect(&b, XDP_DROP, 0);
	expect(&c, XDP_PASS, 0);
	expect(&d, XDP_DROP, R(FOS_STAT_DEFAULT));
	expect(&e, XDP_DROP, R(FOS_STAT_DEFAULT));
	assert_rule_ctr(0, 0, 1, a.len);
	assert_rule_ctr(0, 1, 1, b.len);
	assert_rule_ctr(0, 2, 1, c.len);
	assert_default_ctr(0, 2, d.len + e.len);
}
END_TEST

/* IPv4 and IPv6 prefixes never cover each other's packets, although IPv4 is
 * stored as ::ffff:a.b.c.d; and an IPv6 packet cannot pose as IPv4 with an
 * IPv4-mapped address */
START_TEST(test_families_apart)
{
	struct fos_slot s = {.flags = FOS_SLOT_F_BLACKLIST | FOS_SLOT_F_WHITELIST,
			     .blacklist_set = 51,
			     .whitelist_set = 52,
			     .n_rules = 1};
	struct fos_rule all6 = rule(FOS_PROTO_ANY, FOS_ACT_DROP);
	struct pkt p4 = mk4(P_UDP, "10.0.0.5", "192.0.2.2", 1, 53);
	struct pkt p6 = mk6(P_UDP, "2001:db8::5", "2001:db9::1", 1, 53);
	struct pkt mapped = mk6(P_UDP, "::ffff:10.0.0.5", "2001:db9::1", 1, 53);
	struct pkt mapped_dst = mk6(P_UDP, "2001:db8::5", "::ffff:192.0.2.2", 1, 53);

	set_add(50, "::/0");	   /* "every IPv6 source" */
	set_add(51, "::/1");	   /* an IPv6 blacklist covering ::ffff:0:0/96 */
	set_add(52, "10.0.0.0/8"); /* an IPv4 whitelist */
	all6.flags = FOS_RULE_F_SRC;
	all6.src_set = 50;
	put_rule(0, 0, &all6);
	put_slot(0, &s);

	/* the IPv4 packet: listed in the whitelist, so it passes */
	expect(&p4, XDP_PASS, R(FOS_STAT_WHITELIST));
	/* without the lists the IPv6-only rule does not take it either */
	s.flags = 0;
	put_slot(0, &s);
	expect(&p4, XDP_PASS, R(FOS_STAT_DEFAULT));
	expect(&p6, XDP_DROP, 0);
	assert_rule_ctr(0, 0, 1, p6.len);
	/* an IPv6 blacklist ::/1 does not drop IPv4 */
	s.flags = FOS_SLOT_F_BLACKLIST;
	s.n_rules = 0;
	put_slot(0, &s);
	expect(&p4, XDP_PASS, R(FOS_STAT_DEFAULT));

	/* IPv4-mapped addresses on an IPv6 packet: dropped as malformed before
	 * any list or rule could take them for IPv4 */
	s.flags = FOS_SLOT_F_WHITELIST;
	put_slot(0, &s);
	expect(&mapped, XDP_DROP, R(FOS_STAT_MALFORMED));
	expect(&mapped_dst, XDP_DROP, R(FOS_STAT_MALFORMED));
}
END_TEST

START_TEST(test_blacklist)
{
	struct fos_slot s = {.flags = FOS_SLOT_F_BLACKLIST, .blacklist_set = 11, .n_rules = 1};
	struct fos_rule pass_all = rule(FOS_PROTO_ANY, FOS_ACT_PASS);
	struct pkt in8 = mk4(P_TCP, "10.1.2.3", "192.0.2.2", 1, 80);	/* in /8 and /16 */
	struct pkt in8b = mk4(P_UDP, "10.200.0.1", "192.0.2.2", 1, 80); /* only the /8 */
	struct pkt out4 = mk4(P_TCP, "11.0.0.1", "192.0.2.2", 1, 80);
	struct pkt dst4 = mk4(P_TCP, "192.0.2.2", "10.1.2.3", 1, 80); /* source decides */
	struct pkt in6 = mk6(P_ICMPV6, "2001:db8:ab::1", "2001:db9::1", 0, 0);
	struct pkt out6 = mk6(P_ICMPV6, "2001:db9::1", "2001:db8::1", 0, 0);

	set_add(11, "10.0.0.0/8");
	set_add(11, "10.1.0.0/16");
	set_add(11, "2001:db8::/32");
	set_add(12, "0.0.0.0/0");
	set_add(12, "::/0");
	put_rule(0, 0, &pass_all);
	put_slot(0, &s);

	expect(&in8, XDP_DROP, R(FOS_STAT_BLACKLIST));
	expect(&in8b, XDP_DROP, R(FOS_STAT_BLACKLIST));
	expect(&in6, XDP_DROP, R(FOS_STAT_BLACKLIST));
	expect(&out4, XDP_PASS, 0);
	expect(&dst4, XDP_PASS, 0);
	expect(&out6, XDP_PASS, 0);
	assert_rule_ctr(0, 0, 3, out4.len + dst4.len + out6.len);

	/* the set is only consulted while the slot flag is on */
	s.flags = 0;
	put_slot(0, &s);
	expect(&in8, XDP_PASS, 0);
	assert_rule_ctr(0, 0, 4, out4.len + dst4.len + out6.len + in8.len);
}
END_TEST

START_TEST(test_whitelist_wins)
{
	struct fos_slot s = {.flags = FOS_SLOT_F_BLACKLIST | FOS_SLOT_F_WHITELIST,
			     .blacklist_set = 11,
			     .whitelist_set = 10,
			     .n_rules = 1,
			     .default_action = FOS_ACT_DROP};
	struct fos_rule drop_all = rule(FOS_PROTO_ANY, FOS_ACT_DROP);
	struct pkt trusted = mk4(P_TCP, "10.1.2.3", "192.0.2.2", 1, 22);
	struct pkt trusted6 = mk6(P_TCP, "2001:db8::7", "2001:db8::1", 1, 22);
	struct pkt black = mk4(P_TCP, "10.1.2.4", "192.0.2.2", 1, 22);
	struct pkt other = mk4(P_TCP, "192.0.2.9", "192.0.2.2", 1, 22);

	set_add(10, "10.1.2.3/32");
	set_add(10, "2001:db8::7/128");
	set_add(11, "10.0.0.0/8");
	set_add(11, "2001:db8::/32");
	put_rule(0, 0, &drop_all);
	put_slot(0, &s);

	expect(&trusted, XDP_PASS, R(FOS_STAT_WHITELIST));
	expect(&trusted6, XDP_PASS, R(FOS_STAT_WHITELIST));
	expect(&black, XDP_DROP, R(FOS_STAT_BLACKLIST));
	expect(&other, XDP_DROP, 0);
	assert_rule_ctr(0, 0, 1, other.len);

	/* without the flag the whitelist set is not consulted */
	s.flags = FOS_SLOT_F_BLACKLIST;
	put_slot(0, &s);
	expect(&trusted, XDP_DROP, R(FOS_STAT_BLACKLIST));
	s.flags = 0;
	put_slot(0, &s);
	expect(&trusted, XDP_DROP, 0);
	assert_rule_ctr(0, 0, 2, other.len + trusted.len);
}
END_TEST

START_TEST(test_vlan)
{
	struct fos_rule r = rule(P_TCP, FOS_ACT_DROP);
	struct spec s = {.family = AF_INET,
			 .proto = P_TCP,
			 .src = "192.0.2.1",
			 .dst = "192.0.2.2",
			 .sport = 1,
			 .dport = 80,
			 .payload = 8};
	struct pkt one, two, three, two6;

	rule_dport(&r, 80, 80);
	put_rule(0, 0, &r);
	put_slot0(1, FOS_ACT_PASS);

	s.n_vlan = 1;
	s.tpid[0] = ETH_P_8021Q;
	s.vid[0] = 100;
	build(&s, &one);
	expect(&one, XDP_DROP, 0);

	s.n_vlan = 2;
	s.tpid[0] = ETH_P_8021AD;
	s.vid[0] = 200;
	s.tpid[1] = ETH_P_8021Q;
	s.vid[1] = 100;
	build(&s, &two);
	expect(&two, XDP_DROP, 0);

	s.family = AF_INET6;
	s.src = "2001:db8::1";
	s.dst = "2001:db8::2";
	build(&s, &two6);
	expect(&two6, XDP_DROP, 0);
	assert_rule_ctr(0, 0, 3, one.len + two.len + two6.len);

	/* a third tag is not looked through: what it hides is dropped unseen */
	s.family = AF_INET;
	s.src = "192.0.2.1";
	s.dst = "192.0.2.2";
	s.n_vlan = 3;
	s.tpid[2] = ETH_P_8021Q;
	s.vid[2] = 300;
	build(&s, &three);
	expect(&three, XDP_DROP, R(FOS_STAT_MALFORMED));
	assert_rule_ctr(0, 0, 3, one.len + two.len + two6.len);
}
END_TEST

START_TEST(test_ipv4_options)
{
	struct spec s = {.family = AF_INET,
			 .proto = P_UDP,
			 .src = "192.0.2.1",
			 .dst = "192.0.2.2",
			 .sport = 1,
			 .dport = 53,
			 .ip_opt_len = 12};
	struct pkt p;
	uint64_t bytes;

	drop_udp53_only();
	build(&s, &p);
	ck_assert_uint_eq(p.b[p.l3] & 0x0f, 8);
	expect(&p, XDP_DROP, 0);
	bytes = p.len;
	/* the ports are read after the options: with the options misread as
	 * UDP the destination port would be 0x0101 */
	s.dport = 54;
	build(&s, &p);
	expect(&p, XDP_PASS, R(FOS_STAT_DEFAULT));
	s.ip_opt_len = 40;
	s.dport = 53;
	build(&s, &p);
	ck_assert_uint_eq(p.b[p.l3] & 0x0f, 15);
	expect(&p, XDP_DROP, 0);
	bytes += p.len;
	assert_rule_ctr(0, 0, 2, bytes);
}
END_TEST

START_TEST(test_ipv6_ext_headers)
{
	struct spec s = {.family = AF_INET6,
			 .proto = P_UDP,
			 .src = "2001:db8::1",
			 .dst = "2001:db8::2",
			 .sport = 1,
			 .dport = 53,
			 .n_v6_ext = 2};
	struct pkt p;
	uint64_t bytes;

	drop_udp53_only();

	build(&s, &p); /* hop-by-hop, destination options, UDP */
	ck_assert_uint_eq(p.b[p.l3 + 6], NH_HOPOPTS);
	ck_assert_uint_eq(p.b[p.l3 + 40], NH_DSTOPTS);
	ck_assert_uint_eq(p.b[p.l3 + 48], P_UDP);
	expect(&p, XDP_DROP, 0);
	bytes = p.len;
	s.dport = 54;
	build(&s, &p);
	expect(&p, XDP_PASS, R(FOS_STAT_DEFAULT));

	/* six extension headers are walked, a seventh is too many */
	s.dport = 53;
	s.n_v6_ext = 6;
	build(&s, &p);
	expect(&p, XDP_DROP, 0);
	bytes += p.len;
	assert_rule_ctr(0, 0, 2, bytes);
	s.n_v6_ext = 7;
	build(&s, &p);
	expect(&p, XDP_DROP, R(FOS_STAT_MALFORMED));
	assert_rule_ctr(0, 0, 2, bytes);

	/* a routing header and AH (whose length unit differs) are walked too */
	s.n_v6_ext = 1;
	s.v6_rh_ah = true;
	build(&s, &p);
	ck_assert_uint_eq(p.b[p.l3 + 40], NH_ROUTING);
	ck_assert_uint_eq(p.b[p.l3 + 48], NH_AH);
	ck_assert_uint_eq(p.b[p.l3 + 56], P_UDP);
	ck_assert_uint_eq(p.l4, p.l3 + 40 + 8 + 8 + 24);
	expect(&p, XDP_DROP, 0);
	bytes += p.len;
	assert_rule_ctr(0, 0, 3, bytes);
	s.dport = 54;
	build(&s, &p);
	expect(&p, XDP_PASS, R(FOS_STAT_DEFAULT));
}
END_TEST

/* Frames that must be dropped as malformed; the rule would pass them all. */
START_TEST(test_malformed)
{
	struct fos_rule pass_all = rule(FOS_PROTO_ANY, FOS_ACT_PASS);
	struct spec s4 = {.family = AF_INET,
			  .proto = P_TCP,
			  .src = "192.0.2.1",
			  .dst = "192.0.2.2",
			  .sport = 1,
			  .dport = 80};
	struct spec s6 = {.family = AF_INET6,
			  .proto = P_UDP,
			  .src = "2001:db8::1",
			  .dst = "2001:db8::2",
			  .sport = 1,
			  .dport = 53};
	struct spec vl = s4;
	struct pkt p, ok4, ok6;
	size_t icmp_len;

	put_rule(0, 0, &pass_all);
	put_slot0(1, FOS_ACT_DROP);

	/* the well-formed originals pass */
	build(&s4, &ok4);
	expect(&ok4, XDP_PASS, 0);
	build(&s6, &ok6);
	expect(&ok6, XDP_PASS, 0);

	/* Ethernet header announcing IPv4 and nothing after it */
	build(&s4, &p);
	p.len = 14;
	expect(&p, XDP_DROP, R(FOS_STAT_MALFORMED));
	/* a VLAN tag cut short */
	vl.n_vlan = 1;
	vl.tpid[0] = ETH_P_8021Q;
	build(&vl, &p);
	p.len = 16;
	expect(&p, XDP_DROP, R(FOS_STAT_MALFORMED));
	/* IPv4 header cut in the middle */
	build(&s4, &p);
	p.len = 14 + 10;
	expect(&p, XDP_DROP, R(FOS_STAT_MALFORMED));
	/* version 6 in an IPv4 ethertype */
	build(&s4, &p);
	p.b[p.l3] = 0x65;
	ipv4_fix_csum(&p);
	expect(&p, XDP_DROP, R(FOS_STAT_MALFORMED));
	/* header length below 20 bytes */
	build(&s4, &p);
	p.b[p.l3] = 0x44;
	expect(&p, XDP_DROP, R(FOS_STAT_MALFORMED));
	/* total length beyond the frame */
	build(&s4, &p);
	put16(p.b + p.l3 + 2, p.len - 14 + 1);
	ipv4_fix_csum(&p);
	expect(&p, XDP_DROP, R(FOS_STAT_MALFORMED));
	/* total length shorter than the header */
	build(&s4, &p);
	put16(p.b + p.l3 + 2, 19);
	ipv4_fix_csum(&p);
	expect(&p, XDP_DROP, R(FOS_STAT_MALFORMED));
	/* TCP header cut: frame and IP length both end 10 bytes into it */
	build(&s4, &p);
	p.len = p.l4 + 10;
	put16(p.b + p.l3 + 2, p.len - p.l3);
	ipv4_fix_csum(&p);
	expect(&p, XDP_DROP, R(FOS_STAT_MALFORMED));
	/* TCP header whole in the frame but cut by the IP length (padding follows) */
	build(&s4, &p);
	put16(p.b + p.l3 + 2, 20 + 12);
	ipv4_fix_csum(&p);
	expect(&p, XDP_DROP, R(FOS_STAT_MALFORMED));
	/* TCP data offset below 5, and beyond the datagram */
	build(&s4, &p);
	p.b[p.l4 + 12] = 4 << 4;
	expect(&p, XDP_DROP, R(FOS_STAT_MALFORMED));
	build(&s4, &p);
	p.b[p.l4 + 12] = 15 << 4;
	expect(&p, XDP_DROP, R(FOS_STAT_MALFORMED));
	/* UDP header cut */
	s4.proto = P_UDP;
	build(&s4, &p);
	p.len = p.l4 + 6;
	put16(p.b + p.l3 + 2, p.len - p.l3);
	ipv4_fix_csum(&p);
	expect(&p, XDP_DROP, R(FOS_STAT_MALFORMED));
	/* ICMP with only 2 bytes */
	s4.proto = P_ICMP;
	build(&s4, &p);
	p.len = p.l4 + 2;
	put16(p.b + p.l3 + 2, p.len - p.l3);
	ipv4_fix_csum(&p);
	expect(&p, XDP_DROP, R(FOS_STAT_MALFORMED));
	/* ... but 4 are enough */
	p.len = p.l4 + 4;
	put16(p.b + p.l3 + 2, p.len - p.l3);
	ipv4_fix_csum(&p);
	expect(&p, XDP_PASS, 0);
	icmp_len = p.len;

	/* IPv6 header cut */
	build(&s6, &p);
	p.len = 14 + 39;
	expect(&p, XDP_DROP, R(FOS_STAT_MALFORMED));
	/* IPv6 version wrong */
	build(&s6, &p);
	p.b[p.l3] = 0x40;
	expect(&p, XDP_DROP, R(FOS_STAT_MALFORMED));
	/* payload length beyond the frame */
	build(&s6, &p);
	put16(p.b + p.l3 + 4, p.len - p.l3 - 40 + 1);
	expect(&p, XDP_DROP, R(FOS_STAT_MALFORMED));
	/* UDP header cut in the frame and in the payload length */
	build(&s6, &p);
	p.len = p.l4 + 4;
	put16(p.b + p.l3 + 4, 4);
	expect(&p, XDP_DROP, R(FOS_STAT_MALFORMED));
	/* UDP header in the frame but past the payload length (padding follows) */
	s6.n_v6_ext = 1;
	build(&s6, &p);
	put16(p.b + p.l3 + 4, 8 + 4);
	expect(&p, XDP_DROP, R(FOS_STAT_MALFORMED));
	/* an extension header longer than the payload */
	s6.n_v6_ext = 1;
	build(&s6, &p);
	p.b[p.l3 + 40 + 1] = 8; /* 72 bytes */
	expect(&p, XDP_DROP, R(FOS_STAT_MALFORMED));
	/* ICMPv6 with only 2 bytes */
	s6.n_v6_ext = 0;
	s6.proto = P_ICMPV6;
	build(&s6, &p);
	p.len = p.l4 + 2;
	put16(p.b + p.l3 + 4, 2);
	expect(&p, XDP_DROP, R(FOS_STAT_MALFORMED));

	assert_rule_ctr(0, 0, 3, ok4.len + ok6.len + icmp_len);
	assert_default_ctr(0, 0, 0);
}
END_TEST

START_TEST(test_ethernet_padding)
{
	struct spec s = {.family = AF_INET,
			 .proto = P_UDP,
			 .src = "192.0.2.1",
			 .dst = "192.0.2.2",
			 .sport = 1,
			 .dport = 53};
	struct pkt p;
	size_t i;

	drop_udp53_only();
	/* a 42-byte datagram padded to the 60-byte minimum frame */
	build(&s, &p);
	ck_assert_uint_eq(p.len, 42);
	for (i = p.len; i < 60; i++)
		p.b[i] = 0xee;
	p.len = 60;
	expect(&p, XDP_DROP, 0);
	assert_rule_ctr(0, 0, 1, 60);
}
END_TEST

static struct pkt frag4(uint8_t proto, uint16_t dport, uint16_t off, bool mf, uint16_t id)
{
	struct spec s = {.family = AF_INET,
			 .proto = proto,
			 .src = "192.0.2.1",
			 .dst = "192.0.2.2",
			 .sport = 40000,
			 .dport = dport,
			 .frag = true,
			 .frag_off = off,
			 .mf = mf,
			 .frag_id = id,
			 .payload = 24};
	struct pkt p;

	build(&s, &p);
	return p;
}

static struct pkt frag6(uint8_t proto, uint16_t dport, uint16_t off, bool mf, uint32_t id,
			bool frag_dstopts)
{
	struct spec s = {.family = AF_INET6,
			 .proto = proto,
			 .src = "2001:db8::1",
			 .dst = "2001:db8::2",
			 .sport = 40000,
			 .dport = dport,
			 .frag = true,
			 .frag_off = off,
			 .mf = mf,
			 .frag_id = id,
			 .frag_dstopts = frag_dstopts,
			 .payload = 24};
	struct pkt p;

	build(&s, &p);
	return p;
}

#define FRAG	 R(FOS_STAT_FRAGMENTS)
#define NO_FIRST (R(FOS_STAT_FRAGMENTS) | R(FOS_STAT_FRAG_NO_FIRST))

START_TEST(test_frag_follows_first)
{
	struct pkt first = frag4(P_UDP, 53, 0, true, 0x1234);
	struct pkt mid = frag4(P_UDP, 0, 4, true, 0x1234);
	struct pkt last = frag4(P_UDP, 0, 8, false, 0x1234);
	struct pkt first_ok = frag4(P_UDP, 54, 0, true, 0x1235);
	struct pkt last_ok = frag4(P_UDP, 0, 4, false, 0x1235);

	drop_udp53_only();

	/* two datagrams interleaved; the second is let in by the default
	 * action, its fragments pass too, counted on the default */
	expect(&first, XDP_DROP, FRAG);
	expect(&first_ok, XDP_PASS, FRAG | R(FOS_STAT_DEFAULT));
	expect(&mid, XDP_DROP, FRAG);
	expect(&last_ok, XDP_PASS, FRAG | R(FOS_STAT_DEFAULT));
	expect(&last, XDP_DROP, FRAG);
	assert_rule_ctr(0, 0, 3, first.len + mid.len + last.len);
	assert_default_ctr(0, 2, first_ok.len + last_ok.len);
	assert_rule_ctr(0, 0, 3, first.len + mid.len + last.len);

	/* the same id between other addresses is another datagram */
	{
		struct spec s = {.family = AF_INET,
				 .proto = P_UDP,
				 .src = "192.0.2.99",
				 .dst = "192.0.2.2",
				 .frag = true,
				 .frag_off = 4,
				 .frag_id = 0x1234,
				 .payload = 24};
		struct pkt other;

		build(&s, &other);
		expect(&other, XDP_DROP, NO_FIRST);
		assert_rule_ctr(0, 0, 4, first.len + mid.len + last.len + other.len);
	}
}
END_TEST

START_TEST(test_frag_no_first_port_pass_rule)
{
	struct fos_rule r = rule(P_UDP, FOS_ACT_PASS);
	struct pkt rest = frag4(P_UDP, 0, 4, false, 0x2222);
	struct pkt rest6 = frag6(P_UDP, 0, 4, false, 0x22222222, false);
	struct pkt whole = mk4(P_UDP, "192.0.2.1", "192.0.2.2", 40000, 53);

	rule_dport(&r, 53, 53);
	put_rule(0, 0, &r);
	put_slot0(1, FOS_ACT_DROP);
	/* the port pass rule cannot vouch for a fragment without ports */
	expect(&rest, XDP_DROP, NO_FIRST | R(FOS_STAT_DEFAULT));
	expect(&rest6, XDP_DROP, NO_FIRST | R(FOS_STAT_DEFAULT));
	expect(&whole, XDP_PASS, 0);
	assert_rule_ctr(0, 0, 1, whole.len);
	assert_default_ctr(0, 2, rest.len + rest6.len);
}
END_TEST

START_TEST(test_frag_no_first_port_drop_rule)
{
	struct fos_rule icmp_ports = rule(FOS_PROTO_ANY, FOS_ACT_DROP);
	struct pkt rest = frag4(P_UDP, 0, 4, false, 0x3333);
	struct pkt rest6 = frag6(P_UDP, 0, 4, true, 0x33333333, false);
	struct pkt tcp_rest = frag4(P_TCP, 0, 4, false, 0x3334);
	struct pkt icmp_rest = frag4(P_ICMP, 0, 4, false, 0x3335);

	drop_udp53_only();
	/* a port drop rule holds for it: it may belong to a dropped datagram */
	expect(&rest, XDP_DROP, NO_FIRST);
	expect(&rest6, XDP_DROP, NO_FIRST);
	/* the protocol condition is still checked */
	expect(&tcp_rest, XDP_PASS, NO_FIRST | R(FOS_STAT_DEFAULT));
	assert_rule_ctr(0, 0, 2, rest.len + rest6.len);

	/* a protocol without ports never had a port to match on */
	rule_dport(&icmp_ports, 0, 65535);
	put_rule(0, 0, &icmp_ports);
	expect(&icmp_rest, XDP_PASS, NO_FIRST | R(FOS_STAT_DEFAULT));
	expect(&tcp_rest, XDP_DROP, NO_FIRST);
	assert_rule_ctr(0, 0, 3, rest.len + rest6.len + tcp_rest.len);
	assert_default_ctr(0, 2, tcp_rest.len + icmp_rest.len);
}
END_TEST

/* the conservative fragment rules, with the deciding rules past the first
 * 64-rule word */
START_TEST(test_frag_no_first_bitmaps)
{
	struct fos_rule tcp_drop = rule(P_TCP, FOS_ACT_DROP);
	struct fos_rule udp_pass = rule(P_UDP, FOS_ACT_PASS);
	struct fos_rule udp_drop = rule(P_UDP, FOS_ACT_DROP);
	struct fos_rule pass_all = rule(FOS_PROTO_ANY, FOS_ACT_PASS);
	struct pkt udp_rest = frag4(P_UDP, 0, 4, false, 0x7001);
	struct pkt tcp_rest = frag4(P_TCP, 0, 4, false, 0x7002);
	struct pkt icmp_rest = frag4(P_ICMP, 0, 4, false, 0x7003);
	struct pkt opaque = frag6(P_UDP, 0, 8, false, 0x7004, true);
	struct pkt first = frag4(P_UDP, 53, 0, true, 0x7005);
	struct pkt rest = frag4(P_UDP, 0, 4, false, 0x7005);
	uint32_t i;

	for (i = 0; i < 65; i++) {
		struct fos_rule r = rule(P_TCP, FOS_ACT_PASS);

		rule_dport(&r, 1000 + i, 1000 + i);
		put_rule(0, i, &r);
	}
	rule_dport(&tcp_drop, 22, 22);
	rule_dport(&udp_pass, 53, 53);
	rule_dport(&udp_drop, 53, 53);
	put_rule(0, 65, &tcp_drop);
	put_rule(0, 70, &udp_pass);
	put_rule(0, 71, &udp_drop);
	put_rule(0, 72, &pass_all);
	for (i = 66; i < 70; i++)
		put_rule(0, i, &udp_pass);
	put_slot0(73, FOS_ACT_DROP);

	/* no pass rule with ports vouches for them; the first drop rule with ports does */
	expect(&udp_rest, XDP_DROP, NO_FIRST);
	assert_rule_ctr(0, 71, 1, udp_rest.len);
	expect(&tcp_rest, XDP_DROP, NO_FIRST);
	assert_rule_ctr(0, 65, 1, tcp_rest.len);
	/* ICMP never had ports: only the rule without a port condition holds */
	expect(&icmp_rest, XDP_PASS, NO_FIRST);
	assert_rule_ctr(0, 72, 1, icmp_rest.len);
	/* protocol unknown: the first drop rule of any protocol with ports */
	expect(&opaque, XDP_DROP, NO_FIRST);
	assert_rule_ctr(0, 65, 2, tcp_rest.len + opaque.len);
	/* a first fragment is judged on its ports, and the rest follows it */
	expect(&first, XDP_PASS, FRAG);
	expect(&rest, XDP_PASS, FRAG);
	assert_rule_ctr(0, 66, 2, first.len + rest.len);
	assert_default_ctr(0, 0, 0);
}
END_TEST

START_TEST(test_frag_ipv6)
{
	struct fos_rule r = rule(P_TCP, FOS_ACT_DROP);
	struct pkt first = frag6(P_TCP, 80, 0, true, 0xabcdef01, false);
	struct pkt rest = frag6(P_TCP, 0, 8, false, 0xabcdef01, false);
	struct pkt first_ok = frag6(P_TCP, 81, 0, true, 0xabcdef02, false);
	struct pkt rest_ok = frag6(P_TCP, 0, 8, false, 0xabcdef02, false);
	/* destination options in the fragmentable part: the L4 protocol of a
	 * later fragment is unknown */
	struct pkt opaque = frag6(P_TCP, 0, 8, false, 0xabcdef03, true);
	struct pkt opaque_first = frag6(P_TCP, 80, 0, true, 0xabcdef04, true);
	struct pkt opaque_rest = frag6(P_TCP, 0, 8, false, 0xabcdef04, true);
	uint64_t bytes;

	rule_dport(&r, 80, 80);
	put_rule(0, 0, &r);
	put_slot0(1, FOS_ACT_PASS);
	/* two datagrams interleaved: each fragment follows its own first one */
	expect(&first, XDP_DROP, FRAG);
	expect(&first_ok, XDP_PASS, FRAG | R(FOS_STAT_DEFAULT));
	expect(&rest, XDP_DROP, FRAG);
	expect(&rest_ok, XDP_PASS, FRAG | R(FOS_STAT_DEFAULT));
	expect(&opaque, XDP_DROP, NO_FIRST);
	bytes = first.len + rest.len + opaque.len;
	assert_rule_ctr(0, 0, 3, bytes);
	assert_default_ctr(0, 2, first_ok.len + rest_ok.len);

	/* ... and a TCP pass rule does not vouch for it */
	r.action = FOS_ACT_PASS;
	put_rule(0, 0, &r);
	put_slot0(1, FOS_ACT_DROP);
	expect(&opaque, XDP_DROP, NO_FIRST | R(FOS_STAT_DEFAULT));

	/* the first fragment is parsed through the options to TCP; the rest,
	 * which only names the options header, follows it */
	ck_assert_uint_eq(opaque_first.b[opaque_first.l3 + 40], NH_DSTOPTS);
	expect(&opaque_first, XDP_PASS, FRAG);
	expect(&opaque_rest, XDP_PASS, FRAG);
	bytes += opaque_first.len + opaque_rest.len;

	/* an atomic fragment (offset 0, no more fragments) is a whole datagram */
	{
		struct pkt atomic = frag6(P_TCP, 80, 0, false, 0xabcdef05, false);

		expect(&atomic, XDP_PASS, 0);
		assert_rule_ctr(0, 0, 6, bytes + atomic.len);
	}
}
END_TEST

START_TEST(test_frag_tiny_first)
{
	struct fos_rule pass_all = rule(FOS_PROTO_ANY, FOS_ACT_PASS);
	struct pkt p = frag4(P_TCP, 80, 0, true, 0x4444);

	put_rule(0, 0, &pass_all);
	put_slot0(1, FOS_ACT_PASS);
	/* a first fragment that carries only 8 bytes of the TCP header */
	p.len = p.l4 + 8;
	put16(p.b + p.l3 + 2, p.len - p.l3);
	ipv4_fix_csum(&p);
	expect(&p, XDP_DROP, R(FOS_STAT_MALFORMED));
	assert_rule_ctr(0, 0, 0, 0);
}
END_TEST

START_TEST(test_frag_verdict_survives_flip)
{
	struct fos_rule pass = rule(P_UDP, FOS_ACT_PASS);
	struct fos_rule drop_all = rule(FOS_PROTO_ANY, FOS_ACT_DROP);
	struct fos_slot s1 = {.n_rules = 1, .default_action = FOS_ACT_DROP, .generation = 2};
	struct pkt first = frag4(P_UDP, 53, 0, true, 0x5555);
	struct pkt rest = frag4(P_UDP, 0, 4, false, 0x5555);
	uint64_t counted;

	/* slot 1 is live and lets the datagram in with its rule 0 */
	rule_dport(&pass, 53, 53);
	put_rule(1, 0, &pass);
	put_slot(1, &s1);
	set_active(1);
	expect(&first, XDP_PASS, FRAG);

	/* flip to slot 0, which drops everything */
	put_rule(0, 0, &drop_all);
	put_slot0(1, FOS_ACT_DROP);
	set_active(0);
	/* the rest of the datagram follows its first fragment, on slot 1's counter */
	expect(&rest, XDP_PASS, FRAG);
	assert_rule_ctr(1, 0, 2, first.len + rest.len);
	counted = first.len + rest.len;
	assert_rule_ctr(0, 0, 0, 0);
	/* a new datagram meets the new ruleset */
	first = frag4(P_UDP, 53, 0, true, 0x5556);
	expect(&first, XDP_DROP, FRAG);
	assert_rule_ctr(0, 0, 1, first.len);

	/* slot 1 rewritten by a later reload (generation 4): a straggler of the
	 * first datagram still follows its verdict, but is not counted on what
	 * is now another ruleset's rule 0 */
	s1.generation = 4;
	put_slot(1, &s1);
	rest = frag4(P_UDP, 0, 8, false, 0x5555);
	expect(&rest, XDP_PASS, FRAG);
	assert_rule_ctr(1, 0, 2, counted);
}
END_TEST

START_TEST(test_slot_flip)
{
	struct fos_rule web = rule(P_TCP, FOS_ACT_DROP);
	struct fos_rule dns = rule(P_UDP, FOS_ACT_DROP);
	struct fos_slot s1 = {.n_rules = 1, .default_action = FOS_ACT_PASS, .generation = 2};
	struct fos_slot s0_before, s0_after;
	struct fos_rule r0_before, r0_after;
	struct pkt t = mk4(P_TCP, "192.0.2.1", "192.0.2.2", 1, 80);
	struct pkt u = mk4(P_UDP, "192.0.2.1", "192.0.2.2", 1, 53);
	uint32_t zero = 0, key0 = 0;

	rule_dport(&web, 80, 80);
	rule_dport(&dns, 53, 53);
	put_rule(0, 0, &web);
	put_slot0(1, FOS_ACT_PASS);
	expect(&t, XDP_DROP, 0);
	expect(&u, XDP_PASS, R(FOS_STAT_DEFAULT));

	/* write the inactive slot: nothing changes until the flip */
	put_rule(1, 0, &dns);
	put_slot(1, &s1);
	expect(&t, XDP_DROP, 0);
	expect(&u, XDP_PASS, R(FOS_STAT_DEFAULT));
	ck_assert_int_eq(bpf_map__lookup_elem(skel->maps.fos_slots, &zero, sizeof(zero), &s0_before,
					      sizeof(s0_before), 0),
			 0);
	ck_assert_int_eq(bpf_map__lookup_elem(skel->maps.fos_rules, &key0, sizeof(key0), &r0_before,
					      sizeof(r0_before), 0),
			 0);

	set_active(1);
	expect(&t, XDP_PASS, R(FOS_STAT_DEFAULT));
	expect(&u, XDP_DROP, 0);
	assert_rule_ctr(1, 0, 1, u.len);
	assert_default_ctr(1, 1, t.len);
	/* the old slot is untouched: same contents, same counters */
	assert_rule_ctr(0, 0, 2, 2 * t.len);
	assert_default_ctr(0, 2, 2 * u.len);
	ck_assert_int_eq(bpf_map__lookup_elem(skel->maps.fos_slots, &zero, sizeof(zero), &s0_after,
					      sizeof(s0_after), 0),
			 0);
	ck_assert_int_eq(bpf_map__lookup_elem(skel->maps.fos_rules, &key0, sizeof(key0), &r0_after,
					      sizeof(r0_after), 0),
			 0);
	ck_assert_mem_eq(&s0_before, &s0_after, sizeof(s0_after));
	ck_assert_mem_eq(&r0_before, &r0_after, sizeof(r0_after));

	/* and back */
	set_active(0);
	expect(&t, XDP_DROP, 0);
	assert_rule_ctr(0, 0, 3, 3 * t.len);
	assert_rule_ctr(1, 0, 1, u.len);
}
END_TEST

static Suite *xdp_filter_suite(void)
{
	Suite *s = suite_create("xdp_filter");
	TCase *tc = tcase_create("packets");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_non_ip_passes);
	tcase_add_test(tc, test_default_pass_drop);
	tcase_add_test(tc, test_default_redirect);
	tcase_add_test(tc, test_rule_redirect);
	tcase_add_test(tc, test_rule_protocol);
	tcase_add_test(tc, test_rule_icmp_families);
	tcase_add_test(tc, test_rule_any);
	tcase_add_test(tc, test_rule_ports_single);
	tcase_add_test(tc, test_rule_port_ranges);
	tcase_add_test(tc, test_rule_ports_need_ports);
	tcase_add_test(tc, test_rule_cidrs);
	tcase_add_test(tc, test_rule_all_conditions);
	tcase_add_test(tc, test_first_match_wins);
	tcase_add_test(tc, test_max_rules);
	tcase_add_test(tc, test_overlapping_cidrs);
	tcase_add_test(tc, test_many_rules_cidrs);
	tcase_add_test(tc, test_rules_differ_in_sport);
	tcase_add_test(tc, test_blacklist);
	tcase_add_test(tc, test_families_apart);
	tcase_add_test(tc, test_whitelist_wins);
	tcase_add_test(tc, test_vlan);
	tcase_add_test(tc, test_ipv4_options);
	tcase_add_test(tc, test_ipv6_ext_headers);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_ethernet_padding);
	tcase_add_test(tc, test_frag_follows_first);
	tcase_add_test(tc, test_frag_no_first_port_pass_rule);
	tcase_add_test(tc, test_frag_no_first_port_drop_rule);
	tcase_add_test(tc, test_frag_no_first_bitmaps);
	tcase_add_test(tc, test_frag_ipv6);
	tcase_add_test(tc, test_frag_tiny_first);
	tcase_add_test(tc, test_frag_verdict_survives_flip);
	tcase_add_test(tc, test_slot_flip);
	suite_add_tcase(s, tc);
	return s;
}

/* 0 if the program can be loaded here, else why not (-EPERM: no privilege) */
static int probe_load(void)
{
	struct fos_xdp_filter *probe = fos_xdp_filter__open_and_load();
	int r;

	if (!probe) {
		r = -errno;
		return r ? r : -EINVAL;
	}
	fos_xdp_filter__destroy(probe);
	return 0;
}

int main(void)
{
	return pkt_test_main("test-xdp-filter", "fos_xdp_filter", probe_load, xdp_filter_suite,
			     &n_cpus);
}
