/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Packet tests for connection tracking: fos_tc_fw (the stateful firewall),
 * fos_tc_track (the tracker) and fos_xdp_filter loaded stateful, with crafted
 * frames through BPF_PROG_TEST_RUN. Every packet asserts the verdict, that the
 * frame leaves byte for byte as it came, the exact fos_stats counters, the
 * global conntrack counters (fos_ct_stats, fos_ct_count); the tests read the
 * entries of fos_ct back with keys they build in the canonical order
 * themselves and check state, flags and the per-direction counters.
 *
 * Rulesets come from a config string through fwd's own writers
 * (fos_config_load_string, fos_filter_build, fos_filter_write_slot,
 * fos_filter_flip); the state conditions, which the config parser does not
 * read yet, are set on the parsed rules. fos_ct_cfg is written by the test as
 * fwd would. Check forks per test and every test loads a fresh object, so the
 * table and the counters start empty.
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
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>

#include "config.h"
#include "filter.h"
#include "fos/abi.h"
#include "tc.skel.h"
#include "xdp_filter.skel.h"
#include "pkt_main.h"
#include "pkt_util.h"

#define MAX_PKT 640
#define NS	1000000000ULL

#define P_ICMP	 1
#define P_TCP	 6
#define P_UDP	 17
#define P_GRE	 47
#define P_ICMPV6 58

#define NH_HOPOPTS  0
#define NH_ROUTING  43
#define NH_FRAGMENT 44
#define NH_DSTOPTS  60

#define T_FIN 0x01
#define T_SYN 0x02
#define T_RST 0x04
#define T_PSH 0x08
#define T_ACK 0x10

/* the timeouts the tests run with (seconds) */
#define TO_SYN	 20
#define TO_EST	 60
#define TO_FIN	 20
#define TO_CLOSE 10
#define TO_UDP	 20
#define TO_ICMP	 20

/* what a packet must count: R() a fos_stats counter of its program (besides
 * PACKETS, BYTES and the verdict's), C() a global fos_ct_stats counter */
#define R(stat) (1ULL << (stat))
#define C(stat) (1ULL << (32 + (stat)))

#define NEW_RULE R(FOS_STAT_CT_NEW) /* NEW, decided by a rule */
#define NEW_DEF	 (R(FOS_STAT_CT_NEW) | R(FOS_STAT_DEFAULT))
#define EST	 R(FOS_STAT_CT_ESTABLISHED)
#define REL	 R(FOS_STAT_CT_RELATED)
#define INV	 R(FOS_STAT_CT_INVALID)
#define FULL	 (R(FOS_STAT_CT_NEW) | R(FOS_STAT_CT_FULL) | C(FOS_CT_STAT_INSERT_FAIL))
#define FRAG	 R(FOS_STAT_FRAGMENTS)
#define CREATED	 C(FOS_CT_STAT_CREATED)
#define REOPENED C(FOS_CT_STAT_REOPENED)
#define NO_INNER C(FOS_CT_STAT_ICMP_NO_INNER)
/* the class counters a non-first fragment may or may not count */
#define CLASSES                                                                                    \
	(R(FOS_STAT_CT_NEW) | R(FOS_STAT_CT_ESTABLISHED) | R(FOS_STAT_CT_RELATED) |                \
	 R(FOS_STAT_CT_INVALID) | R(FOS_STAT_DEFAULT))
/* what the tracker may count on the program counters: all but a drop */
#define TRACKER_FREE                                                                               \
	(((1ULL << _FOS_STAT_MAX) - 1) & ~(R(FOS_STAT_DROPPED) | R(FOS_STAT_REDIRECTED)))

/* entry flags as the tests think of them; FIN_O/FIN_R become FIN0/FIN1 */
#define SEEN	    FOS_CT_F_SEEN_REPLY
#define SIMO	    FOS_CT_F_SIMOPEN
#define FIN_O	    (1U << 8) /* the originator sent a FIN */
#define FIN_R	    (1U << 9) /* the responder sent a FIN */
#define FIN_OF(dir) ((dir) == ORIG ? FIN_O : FIN_R)

enum { ORIG = FOS_CT_DIR_ORIG, REPLY = FOS_CT_DIR_REPLY };
enum verdict { PASS, DROP, REDIRECT };

/* ---- frames ----------------------------------------------------------------- */

struct pkt {
	uint8_t b[MAX_PKT];
	size_t len;
	size_t l3; /* offset of the IP header */
	size_t l4; /* offset of the L4 header */
};

struct frame {
	int family; /* AF_INET, AF_INET6; 0: an ARP frame */
	const char *src, *dst;
	uint8_t proto;
	uint16_t sport, dport; /* TCP, UDP */
	uint8_t flags;	       /* TCP */
	uint8_t type, code;    /* ICMP */
	uint16_t id;	       /* ICMP echo identifier */
	uint32_t word;	       /* bytes 4-7 of another ICMP message (the MTU of a packet too big) */
	const uint8_t *body;   /* the L4 payload (an ICMP error's embedded packet) */
	size_t body_len;
	size_t payload; /* without body: this many pattern bytes */
	int n_vlan;	/* tags: with two, the outer one is 802.1ad */
	uint16_t vid[2];
	uint8_t ttl;	    /* TTL / hop limit; 0: 64 */
	size_t ip_opt;	    /* IPv4: option bytes (NOPs), a multiple of 4 */
	const uint8_t *ext; /* IPv6 extension headers before the L4 header */
	int n_ext;
	bool frag;
	uint16_t frag_off; /* 8-byte units */
	bool mf;
	uint32_t frag_id;
};

static const uint8_t mac_dst[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t mac_src[6] = {0x02, 0, 0, 0, 0, 0x01};

static uint32_t sum_bytes(uint32_t s, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
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

static void pton(int family, const char *s, uint8_t *out)
{
	ck_assert_msg(inet_pton(family, s, out) == 1, "bad address %s", s);
}

/* an address as the table stores it: IPv4 as ::ffff:a.b.c.d */
static void addr16(int family, const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (family == AF_INET) {
		out[10] = 0xff;
		out[11] = 0xff;
		pton(AF_INET, s, out + 12);
	} else {
		pton(AF_INET6, s, out);
	}
}

static bool is_icmp(uint8_t proto)
{
	return proto == P_ICMP || proto == P_ICMPV6;
}

static bool is_echo(uint8_t proto, uint8_t type)
{
	return proto == P_ICMP ? type == 0 || type == 8 : type == 128 || type == 129;
}

static size_t ext_size(uint8_t type)
{
	switch (type) {
	case NH_DSTOPTS:
		return 16;
	case NH_ROUTING:
		return 24;
	default:
		return 8;
	}
}

/* the L4 checksum over what the frame carries, pseudo header included */
static void l4_csum(struct pkt *p, int family, uint8_t proto)
{
	uint8_t *ip = p->b + p->l3, *l4 = p->b + p->l4;
	size_t n = p->len - p->l4;
	size_t off = proto == P_TCP ? 16 : proto == P_UDP ? 6 : 2;
	uint32_t s = 0;
	uint16_t c;

	if (proto != P_TCP && proto != P_UDP && !is_icmp(proto))
		return;
	if (n < off + 2)
		return;
	put16(l4 + off, 0);
	if (proto != P_ICMP) {
		if (family == AF_INET)
			s = sum_bytes(s, ip + 12, 8);
		else
			s = sum_bytes(s, ip + 8, 32);
		s += proto;
		s += (uint32_t)(n >> 16) + (uint32_t)(n & 0xffff);
	}
	s = sum_bytes(s, l4, n);
	c = fold(s);
	if (proto == P_UDP && c == 0)
		c = 0xffff;
	put16(l4 + off, c);
}

static void build(const struct frame *f, struct pkt *p)
{
	uint8_t *b = p->b;
	bool nonfirst = f->frag && f->frag_off;
	size_t o = 12, i;

	memset(p, 0, sizeof(*p));
	memcpy(b, mac_dst, 6);
	memcpy(b + 6, mac_src, 6);
	for (i = 0; i < (size_t)f->n_vlan; i++, o += 4) {
		put16(b + o, i == 0 && f->n_vlan > 1 ? ETH_P_8021AD : ETH_P_8021Q);
		put16(b + o + 2, f->vid[i]);
	}
	if (!f->family) {
		put16(b + o, ETH_P_ARP);
		p->l3 = p->l4 = o + 2;
		p->len = o + 2 + 28;
		return;
	}
	put16(b + o, f->family == AF_INET ? ETH_P_IP : ETH_P_IPV6);
	o += 2;
	p->l3 = o;

	if (f->family == AF_INET) {
		uint8_t *ip = b + o;

		ck_assert_uint_eq(f->ip_opt % 4, 0);
		ip[0] = 0x40 | (uint8_t)(5 + f->ip_opt / 4);
		put16(ip + 4, f->frag ? (uint16_t)f->frag_id : 0x1111);
		put16(ip + 6, f->frag ? (uint16_t)(f->frag_off | (f->mf ? 0x2000 : 0)) : 0x4000);
		ip[8] = f->ttl ? f->ttl : 64;
		ip[9] = f->proto;
		pton(AF_INET, f->src, ip + 12);
		pton(AF_INET, f->dst, ip + 16);
		memset(ip + 20, 1, f->ip_opt);
		o += 20 + f->ip_opt;
	} else {
		uint8_t *ip = b + o;
		uint8_t chain[8];
		int n = 0, k;

		for (k = 0; k < f->n_ext; k++)
			chain[n++] = f->ext[k];
		if (f->frag)
			chain[n++] = NH_FRAGMENT;
		ip[0] = 0x60;
		ip[6] = n ? chain[0] : f->proto;
		ip[7] = f->ttl ? f->ttl : 64;
		pton(AF_INET6, f->src, ip + 8);
		pton(AF_INET6, f->dst, ip + 24);
		o += 40;
		for (k = 0; k < n; k++) {
			uint8_t *h = b + o;
			size_t sz = chain[k] == NH_FRAGMENT ? 8 : ext_size(chain[k]);

			h[0] = k + 1 < n ? chain[k + 1] : f->proto;
			if (chain[k] == NH_FRAGMENT) {
				put16(h + 2, (uint16_t)(f->frag_off << 3 | (f->mf ? 1 : 0)));
				put32(h + 4, f->frag_id);
			} else if (chain[k] == NH_ROUTING) {
				/* a segment routing header, one segment, none left */
				h[1] = sz / 8 - 1;
				h[2] = 4;
				h[3] = 0;
				h[4] = 0;
				pton(AF_INET6, f->dst, h + 8);
			} else {
				h[1] = sz / 8 - 1;
				h[2] = 1; /* PadN over the rest */
				h[3] = sz - 4;
			}
			o += sz;
		}
	}
	p->l4 = o;

	if (!nonfirst) {
		uint8_t *l4 = b + o;

		switch (f->proto) {
		case P_TCP:
			put16(l4, f->sport);
			put16(l4 + 2, f->dport);
			put32(l4 + 4, 0x1000);
			if (f->flags & T_ACK)
				put32(l4 + 8, 0x2000);
			l4[12] = 5 << 4;
			l4[13] = f->flags;
			put16(l4 + 14, 65535);
			o += 20;
			break;
		case P_UDP:
			put16(l4, f->sport);
			put16(l4 + 2, f->dport);
			o += 8;
			break;
		case P_ICMP:
		case P_ICMPV6:
			l4[0] = f->type;
			l4[1] = f->code;
			if (is_echo(f->proto, f->type)) {
				put16(l4 + 4, f->id);
				put16(l4 + 6, 1);
			} else {
				put32(l4 + 4, f->word);
			}
			o += 8;
			break;
		default:
			break;
		}
	}
	ck_assert_uint_le(o + (f->body ? f->body_len : f->payload), MAX_PKT);
	if (f->body) {
		memcpy(b + o, f->body, f->body_len);
		o += f->body_len;
	} else {
		for (i = 0; i < f->payload; i++)
			b[o + i] = (uint8_t)(0x5a ^ i);
		o += f->payload;
	}
	p->len = o;

	if (f->proto == P_UDP && !nonfirst)
		put16(b + p->l4 + 4, (uint16_t)(o - p->l4));
	if (f->family == AF_INET) {
		uint8_t *ip = b + p->l3;

		put16(ip + 2, (uint16_t)(o - p->l3));
		put16(ip + 10, fold(sum_bytes(0, ip, 20 + f->ip_opt)));
		ck_assert_uint_eq(fold(sum_bytes(0, ip, 20 + f->ip_opt)), 0);
	} else {
		put16(b + p->l3 + 4, (uint16_t)(o - p->l3 - 40));
	}
	if (!f->frag)
		l4_csum(p, f->family, f->proto);
}

/* A flow: a opens it (the originator), b answers. */
struct flow {
	int family;
	uint8_t proto;
	const char *a, *b;
	uint16_t pa, pb; /* ports; ICMP echo: pa is the identifier */
};

static void flow_frame(const struct flow *f, int dir, uint8_t flags, size_t payload,
		       struct frame *ret)
{
	*ret = (struct frame){
	    .family = f->family,
	    .proto = f->proto,
	    .src = dir == ORIG ? f->a : f->b,
	    .dst = dir == ORIG ? f->b : f->a,
	    .sport = dir == ORIG ? f->pa : f->pb,
	    .dport = dir == ORIG ? f->pb : f->pa,
	    .flags = flags,
	    .payload = payload,
	};
	if (f->proto == P_ICMP)
		ret->type = dir == ORIG ? 8 : 0;
	else if (f->proto == P_ICMPV6)
		ret->type = dir == ORIG ? 128 : 129;
	if (is_icmp(f->proto)) {
		ret->id = f->pa;
		ret->sport = ret->dport = 0;
	}
}

/* a packet of f from its originator (ORIG) or its responder (REPLY) */
static struct pkt fp(const struct flow *f, int dir, uint8_t flags, size_t payload)
{
	struct frame fr;
	struct pkt p;

	flow_frame(f, dir, flags, payload, &fr);
	build(&fr, &p);
	return p;
}

/* ... with VLAN tags */
static struct pkt fp_vlan(const struct flow *f, int dir, uint8_t flags, size_t payload, int n_vlan,
			  uint16_t outer, uint16_t inner)
{
	struct frame fr;
	struct pkt p;

	flow_frame(f, dir, flags, payload, &fr);
	fr.n_vlan = n_vlan;
	fr.vid[0] = outer;
	fr.vid[1] = inner;
	build(&fr, &p);
	return p;
}

/* ... with IPv6 extension headers */
static struct pkt fp_ext(const struct flow *f, int dir, uint8_t flags, size_t payload,
			 const uint8_t *ext, int n_ext)
{
	struct frame fr;
	struct pkt p;

	flow_frame(f, dir, flags, payload, &fr);
	fr.ext = ext;
	fr.n_ext = n_ext;
	build(&fr, &p);
	return p;
}

/* ... with IPv4 options */
static struct pkt fp_opt(const struct flow *f, int dir, uint8_t flags, size_t payload,
			 size_t ip_opt)
{
	struct frame fr;
	struct pkt p;

	flow_frame(f, dir, flags, payload, &fr);
	fr.ip_opt = ip_opt;
	build(&fr, &p);
	return p;
}

/* ... a fragment of it: the first (off 0) carries the L4 header */
static struct pkt fp_frag(const struct flow *f, int dir, uint8_t flags, uint16_t off, bool mf,
			  uint32_t id)
{
	struct frame fr;
	struct pkt p;

	flow_frame(f, dir, flags, 24, &fr);
	fr.frag = true;
	fr.frag_off = off;
	fr.mf = mf;
	fr.frag_id = id;
	build(&fr, &p);
	return p;
}

/* An ICMP error from `from` to `to` embedding the first n bytes of inner's IP
 * packet (all of it with n == 0). */
static struct pkt icmp_err(int family, const char *from, const char *to, uint8_t type, uint8_t code,
			   const struct pkt *inner, size_t n)
{
	struct frame fr = {
	    .family = family,
	    .proto = family == AF_INET ? P_ICMP : P_ICMPV6,
	    .src = from,
	    .dst = to,
	    .type = type,
	    .code = code,
	    .body = inner->b + inner->l3,
	    .body_len = n ? n : inner->len - inner->l3,
	};
	struct pkt p;

	ck_assert_uint_le(fr.body_len, inner->len - inner->l3);
	if (family == AF_INET6 && type == 2)
		fr.word = 1280; /* MTU */
	build(&fr, &p);
	return p;
}

/* ---- programs, maps and counters ------------------------------------------------ */

struct prog {
	const char *name;
	int fd;
	bool xdp;
	struct bpf_map *stats; /* its fos_stats */
	uint64_t *exp;	       /* what fos_stats must hold */
};

static struct fos_tc *tc;
static struct fos_xdp_filter *xdp;
static struct prog fw, trk, xf;
static struct fos_filter_maps tc_fm, xdp_fm;
static uint32_t tc_active, xdp_active;
static uint64_t generation;
static int n_cpus;
static uint64_t exp_tc[_FOS_STAT_MAX], exp_xdp[_FOS_STAT_MAX];
static uint64_t exp_ct[_FOS_CT_STAT_MAX];
static uint64_t exp_count[_FOS_CT_COUNT_MAX];
static struct fos_ct_cfg cur_cfg;
static uint64_t t_start;

static const char *const ct_stat_names[] = {
    [FOS_CT_STAT_CREATED] = "created",
    [FOS_CT_STAT_INSERT_FAIL] = "insert_fail",
    [FOS_CT_STAT_REOPENED] = "reopened",
    [FOS_CT_STAT_ICMP_NO_INNER] = "icmp_no_inner",
};
_Static_assert(sizeof(ct_stat_names) / sizeof(ct_stat_names[0]) == _FOS_CT_STAT_MAX,
	       "a name for every fos_ct_stat");
_Static_assert(_FOS_STAT_MAX <= 32 && _FOS_CT_STAT_MAX <= 32, "R() and C() share 64 bits");

static const char *const state_names[] = {
    [FOS_CTS_NEW] = "NEW",
    [FOS_CTS_SYN_SENT] = "SYN_SENT",
    [FOS_CTS_SYN_RECV] = "SYN_RECV",
    [FOS_CTS_ESTABLISHED] = "ESTABLISHED",
    [FOS_CTS_FIN_WAIT] = "FIN_WAIT",
    [FOS_CTS_CLOSE_WAIT] = "CLOSE_WAIT",
    [FOS_CTS_TIME_WAIT] = "TIME_WAIT",
    [FOS_CTS_CLOSE] = "CLOSE",
};
_Static_assert(sizeof(state_names) / sizeof(state_names[0]) == _FOS_CTS_MAX,
	       "a name for every fos_ct_state");

static const char *state_name(unsigned s)
{
	return s < _FOS_CTS_MAX ? state_names[s] : "?";
}

static uint64_t boot_ns(void)
{
	struct timespec ts;

	ck_assert_int_eq(clock_gettime(CLOCK_BOOTTIME, &ts), 0);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static uint64_t percpu_sum(struct bpf_map *map, uint32_t idx)
{
	uint64_t v[n_cpus];
	uint64_t sum = 0;
	int i;

	ck_assert_int_eq(bpf_map__lookup_elem(map, &idx, sizeof(idx), v, sizeof(v), 0), 0);
	for (i = 0; i < n_cpus; i++)
		sum += v[i];
	return sum;
}

static uint64_t ct_count(uint32_t idx)
{
	uint64_t v;

	ck_assert_int_eq(
	    bpf_map__lookup_elem(tc->maps.fos_ct_count, &idx, sizeof(idx), &v, sizeof(v), 0), 0);
	return v;
}

/* what fwd's collector does when it removes entries */
static void ct_count_set_removed(uint64_t v)
{
	uint32_t idx = FOS_CT_COUNT_REMOVED;

	ck_assert_int_eq(
	    bpf_map__update_elem(tc->maps.fos_ct_count, &idx, sizeof(idx), &v, sizeof(v), BPF_ANY),
	    0);
	exp_count[FOS_CT_COUNT_REMOVED] = v;
}

/* Every counter of pr and every global conntrack counter holds what the
 * packets so far add up to; the counters in free take whatever they hold. */
static void check_counters(const struct prog *pr, uint64_t free, int line)
{
	uint32_t i;

	for (i = 0; i < _FOS_STAT_MAX; i++) {
		uint64_t v = percpu_sum(pr->stats, i);

		if (free & R(i)) {
			pr->exp[i] = v;
			continue;
		}
		ck_assert_msg(v == pr->exp[i], "line %d: %s fos_stats[%s] = %llu, expected %llu",
			      line, pr->name, stat_names[i], (unsigned long long)v,
			      (unsigned long long)pr->exp[i]);
	}
	for (i = 0; i < _FOS_CT_STAT_MAX; i++) {
		uint64_t v = percpu_sum(tc->maps.fos_ct_stats, i);

		if (free & C(i)) {
			exp_ct[i] = v;
			continue;
		}
		ck_assert_msg(v == exp_ct[i], "line %d: fos_ct_stats[%s] = %llu, expected %llu",
			      line, ct_stat_names[i], (unsigned long long)v,
			      (unsigned long long)exp_ct[i]);
	}
	for (i = 0; i < _FOS_CT_COUNT_MAX; i++) {
		uint64_t v = ct_count(i);

		ck_assert_msg(v == exp_count[i], "line %d: fos_ct_count[%s] = %llu, expected %llu",
			      line, i == FOS_CT_COUNT_INSERTED ? "inserted" : "removed",
			      (unsigned long long)v, (unsigned long long)exp_count[i]);
	}
}

static int verdict_code(const struct prog *pr, enum verdict v)
{
	if (pr->xdp)
		return v == PASS ? XDP_PASS : v == DROP ? XDP_DROP : XDP_REDIRECT;
	return v == PASS ? TC_ACT_UNSPEC : v == DROP ? TC_ACT_SHOT : TC_ACT_REDIRECT;
}

static const char *code_name(const struct prog *pr, int code)
{
	if (pr->xdp)
		switch (code) {
		case XDP_ABORTED:
			return "XDP_ABORTED";
		case XDP_DROP:
			return "XDP_DROP";
		case XDP_PASS:
			return "XDP_PASS";
		case XDP_TX:
			return "XDP_TX";
		case XDP_REDIRECT:
			return "XDP_REDIRECT";
		default:
			return "?";
		}
	switch (code) {
	case TC_ACT_UNSPEC:
		return "TC_ACT_UNSPEC";
	case TC_ACT_OK:
		return "TC_ACT_OK";
	case TC_ACT_SHOT:
		return "TC_ACT_SHOT";
	case TC_ACT_REDIRECT:
		return "TC_ACT_REDIRECT";
	default:
		return "?";
	}
}

/* Run one frame; whatever the verdict, it must leave byte for byte. */
static int run(const struct prog *pr, const struct pkt *p)
{
	uint8_t out[MAX_PKT + 64];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->b, .data_size_in = p->len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);

	ck_assert_int_eq(bpf_prog_test_run_opts(pr->fd, &opts), 0);
	ck_assert_uint_eq(opts.data_size_out, p->len);
	ck_assert_mem_eq(out, p->b, p->len);
	return (int)opts.retval;
}

/* Run p through pr: the verdict, then every counter (reasons: what it must
 * count besides PACKETS, BYTES and the verdict; free: counters not checked). */
static void _expect(const struct prog *pr, const struct pkt *p, enum verdict v, uint64_t reasons,
		    uint64_t free, int line)
{
	int got = run(pr, p), want = verdict_code(pr, v);
	uint32_t i;

	ck_assert_msg(got == want, "line %d: %s returned %s (%d), expected %s", line, pr->name,
		      code_name(pr, got), got, code_name(pr, want));
	pr->exp[FOS_STAT_PACKETS]++;
	pr->exp[FOS_STAT_BYTES] += p->len;
	pr->exp[v == PASS ? FOS_STAT_PASSED : v == DROP ? FOS_STAT_DROPPED : FOS_STAT_REDIRECTED]++;
	for (i = 0; i < _FOS_STAT_MAX; i++)
		if (reasons & R(i))
			pr->exp[i]++;
	for (i = 0; i < _FOS_CT_STAT_MAX; i++)
		if (reasons & C(i))
			exp_ct[i]++;
	if (reasons & CREATED)
		exp_count[FOS_CT_COUNT_INSERTED]++;
	check_counters(pr, free, line);
}

#define expect(pr, p, v, reasons)	     _expect((pr), (p), (v), (reasons), 0, __LINE__)
#define expect_free(pr, p, v, reasons, free) _expect((pr), (p), (v), (reasons), (free), __LINE__)
/* the tracker: never drops; what it counts on fos_stats is its own business */
#define track(p, reasons) _expect(&trk, (p), PASS, (reasons), TRACKER_FREE, __LINE__)

/* ---- the connection table --------------------------------------------------- */

/* Is the originator end 1 of the canonical key? */
static bool orig_end1(const struct flow *f)
{
	uint8_t a[16], b[16];
	uint16_t pb = is_icmp(f->proto) ? f->pa : f->pb;
	int c;

	addr16(f->family, f->a, a);
	addr16(f->family, f->b, b);
	c = memcmp(a, b, 16);
	return c > 0 || (c == 0 && f->pa > pb);
}

static struct fos_ct_key ct_key(const struct flow *f, uint32_t zone)
{
	struct fos_ct_key k;
	bool swap = orig_end1(f);
	uint16_t pb = is_icmp(f->proto) ? f->pa : f->pb;

	memset(&k, 0, sizeof(k));
	addr16(f->family, swap ? f->b : f->a, k.addr[0]);
	addr16(f->family, swap ? f->a : f->b, k.addr[1]);
	k.port[0] = swap ? pb : f->pa;
	k.port[1] = swap ? f->pa : pb;
	k.zone = zone;
	k.proto = f->proto;
	return k;
}

static bool ct_get_key(const struct fos_ct_key *k, struct fos_ct_value *ret)
{
	struct fos_ct_value v;
	int r = bpf_map__lookup_elem(tc->maps.fos_ct, k, sizeof(*k), &v, sizeof(v), 0);

	ck_assert_msg(r == 0 || r == -ENOENT, "fos_ct lookup: %s", strerror(-r));
	if (r == 0 && ret)
		*ret = v;
	return r == 0;
}

static bool ct_get(const struct flow *f, uint32_t zone, struct fos_ct_value *ret)
{
	struct fos_ct_key k = ct_key(f, zone);

	return ct_get_key(&k, ret);
}

static uint64_t ct_entries(void)
{
	struct fos_ct_key k, next;
	uint64_t n = 0;
	int fd = bpf_map__fd(tc->maps.fos_ct);
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		n++;
		k = next;
		prev = &k;
	}
	return n;
}

/* make the entry's last packet `by` ns older */
static void ct_age(const struct flow *f, uint32_t zone, uint64_t by)
{
	struct fos_ct_key k = ct_key(f, zone);
	struct fos_ct_value v;

	ck_assert_msg(ct_get_key(&k, &v), "no entry to age");
	ck_assert_msg(v.last_ns > by, "the clock is too young to age an entry by %llu ns",
		      (unsigned long long)by);
	v.last_ns -= by;
	ck_assert_int_eq(
	    bpf_map__update_elem(tc->maps.fos_ct, &k, sizeof(k), &v, sizeof(v), BPF_EXIST), 0);
}

static void ct_cfg_write(void)
{
	uint32_t zero = 0;

	ck_assert_int_eq(bpf_map__update_elem(tc->maps.fos_ct_cfg, &zero, sizeof(zero), &cur_cfg,
					      sizeof(cur_cfg), BPF_ANY),
			 0);
}

static void ct_invalid(uint8_t policy)
{
	cur_cfg.invalid = policy;
	ct_cfg_write();
}

static void ct_max(uint64_t max_entries)
{
	cur_cfg.max_entries = max_entries;
	ct_cfg_write();
}

static void ct_timeout(enum fos_ct_timeout t, uint64_t ns)
{
	cur_cfg.timeout_ns[t] = ns;
	ct_cfg_write();
}

/* the flags the entry must hold, from the flags as the test names them */
static uint8_t entry_flags(const struct flow *f, unsigned want)
{
	bool o1 = orig_end1(f);
	uint8_t fl = want & 0xff;

	if (o1)
		fl |= FOS_CT_F_ORIG1;
	if (want & FIN_O)
		fl |= o1 ? FOS_CT_F_FIN1 : FOS_CT_F_FIN0;
	if (want & FIN_R)
		fl |= o1 ? FOS_CT_F_FIN0 : FOS_CT_F_FIN1;
	return fl;
}

static void _assert_entry(const struct flow *f, uint32_t zone, uint8_t state, unsigned flags,
			  const uint64_t packets[2], const uint64_t bytes[2], int line)
{
	struct fos_ct_value v;
	uint64_t now = boot_ns();

	ck_assert_msg(ct_get(f, zone, &v), "line %d: no entry for %s -> %s proto %u zone %u", line,
		      f->a, f->b, f->proto, zone);
	ck_assert_msg(v.state == state, "line %d: entry state %s, expected %s", line,
		      state_name(v.state), state_name(state));
	ck_assert_msg((v.flags & ~FOS_CT_F_COUNTED) == entry_flags(f, flags),
		      "line %d: entry flags %#x, expected %#x", line, v.flags & ~FOS_CT_F_COUNTED,
		      entry_flags(f, flags));
	/* an entry holds its opener's count while its flow is open */
	ck_assert_msg(
	    !(v.flags & FOS_CT_F_COUNTED) ==
		(f->proto == P_TCP && (state == FOS_CTS_TIME_WAIT || state == FOS_CTS_CLOSE)),
	    "line %d: entry %s in %s", line,
	    (v.flags & FOS_CT_F_COUNTED) ? "counted" : "not counted", state_name(state));
	ck_assert_msg(v.packets[ORIG] == packets[ORIG] && v.packets[REPLY] == packets[REPLY] &&
			  v.bytes[ORIG] == bytes[ORIG] && v.bytes[REPLY] == bytes[REPLY],
		      "line %d: entry counts packets %llu/%llu bytes %llu/%llu, expected "
		      "%llu/%llu bytes %llu/%llu",
		      line, (unsigned long long)v.packets[ORIG],
		      (unsigned long long)v.packets[REPLY], (unsigned long long)v.bytes[ORIG],
		      (unsigned long long)v.bytes[REPLY], (unsigned long long)packets[ORIG],
		      (unsigned long long)packets[REPLY], (unsigned long long)bytes[ORIG],
		      (unsigned long long)bytes[REPLY]);
	ck_assert_msg(v.first_ns >= t_start && v.first_ns <= now && v.last_ns <= now,
		      "line %d: entry times first %llu last %llu outside [%llu, %llu]", line,
		      (unsigned long long)v.first_ns, (unsigned long long)v.last_ns,
		      (unsigned long long)t_start, (unsigned long long)now);
}

static void _assert_state(const struct flow *f, uint32_t zone, uint8_t state, int line)
{
	struct fos_ct_value v;

	ck_assert_msg(ct_get(f, zone, &v), "line %d: no entry", line);
	ck_assert_msg(v.state == state, "line %d: entry state %s, expected %s", line,
		      state_name(v.state), state_name(state));
}

#define assert_state(f, zone, state) _assert_state((f), (zone), (state), __LINE__)
#define assert_no_entry(f, zone)                                                                   \
	ck_assert_msg(!ct_get((f), (zone), NULL), "line %d: an entry was made", __LINE__)
#define assert_entries(n)                                                                          \
	do {                                                                                       \
		uint64_t _n = ct_entries();                                                        \
		ck_assert_msg(_n == (n), "line %d: %llu entries in fos_ct, expected %llu",         \
			      __LINE__, (unsigned long long)_n, (unsigned long long)(n));          \
	} while (0)

/* ---- a connection: a flow and what its entry must have counted -------------- */

struct conn {
	struct flow f;
	uint32_t zone;
	uint64_t packets[2];
	uint64_t bytes[2];
};

#define assert_conn(c, state, flags)                                                               \
	_assert_entry(&(c)->f, (c)->zone, (state), (flags), (c)->packets, (c)->bytes, __LINE__)

static void _cxp(const struct prog *pr, struct conn *c, int dir, const struct pkt *p,
		 enum verdict v, uint64_t reasons, int line)
{
	_expect(pr, p, v, reasons, pr == &trk ? TRACKER_FREE : 0, line);
	if (v != DROP) {
		c->packets[dir]++;
		c->bytes[dir] += p->len;
	}
}

static struct pkt _cx(const struct prog *pr, struct conn *c, int dir, uint8_t flags, size_t payload,
		      enum verdict v, uint64_t reasons, int line)
{
	struct pkt p = fp(&c->f, dir, flags, payload);

	_cxp(pr, c, dir, &p, v, reasons, line);
	return p;
}

/* a packet of c through the firewall, counted on c unless it is dropped */
#define cx(c, dir, flags, payload, v, reasons)                                                     \
	_cx(&fw, (c), (dir), (flags), (payload), (v), (reasons), __LINE__)
#define cxp(c, dir, p, v, reasons) _cxp(&fw, (c), (dir), (p), (v), (reasons), __LINE__)
/* ... through the tracker */
#define tx(c, dir, flags, payload, reasons)                                                        \
	_cx(&trk, (c), (dir), (flags), (payload), PASS, (reasons), __LINE__)

/* the entry starts again: a reopened flow counts from zero */
static void conn_reset(struct conn *c)
{
	memset(c->packets, 0, sizeof(c->packets));
	memset(c->bytes, 0, sizeof(c->bytes));
}

/* take the counts from the entry (after a packet whose counting is not
 * specified, such as one that is out of state) */
static void conn_resync(struct conn *c)
{
	struct fos_ct_value v;

	ck_assert(ct_get(&c->f, c->zone, &v));
	memcpy(c->packets, v.packets, sizeof(c->packets));
	memcpy(c->bytes, v.bytes, sizeof(c->bytes));
}

/* the three-way handshake through the firewall; the SYN must pass by a rule */
static void _establish(struct conn *c, int line)
{
	_cx(&fw, c, ORIG, T_SYN, 0, PASS, NEW_RULE | CREATED, line);
	_cx(&fw, c, REPLY, T_SYN | T_ACK, 0, PASS, EST, line);
	_cx(&fw, c, ORIG, T_ACK, 0, PASS, EST, line);
	_assert_entry(&c->f, c->zone, FOS_CTS_ESTABLISHED, SEEN, c->packets, c->bytes, line);
}

#define establish(c) _establish((c), __LINE__)

/* ---- rulesets ------------------------------------------------------------------- */

struct ruleset {
	const char *def;   /* default action */
	const char *rules; /* the rules list's elements, libconfig; NULL: none */
	uint8_t state[8];  /* match.state of the first rules */
	uint32_t zone;
};

#define RULE_TCP80 "{ match = { protocol = \"tcp\"; dstPort = 80; }; action = \"pass\"; }"
#define RULE_UDP53 "{ match = { protocol = \"udp\"; dstPort = 53; }; action = \"pass\"; }"

/* rule 0 lets TCP to port 80 in, rule 1 UDP to port 53; the rest is dropped */
static const struct ruleset web = {.def = "drop", .rules = RULE_TCP80 ", " RULE_UDP53};

/* Build rs as fwd does, write it into the filter's inactive slot and flip. */
static void apply(const struct fos_filter_maps *fm, uint32_t *active, const struct ruleset *rs)
{
	struct fos_config *cfg = NULL;
	struct fos_errors errs = {0};
	struct fos_filter_ids ids = {0};
	struct fos_filter_rs frs = {0};
	struct fos_program *prog;
	struct fos_slot got;
	uint32_t slot = *active ^ 1;
	bool any_state = false;
	char text[4096];
	size_t i;
	int r;

	snprintf(text, sizeof(text),
		 "programs = ( { name = \"ct\"; type = \"tc-ingress\"; interface = \"lo\";\n"
		 "  settings = { actions = { default = \"%s\"; %s%s%s }; }; } );\n",
		 rs->def ? rs->def : "pass", rs->rules ? "rules = ( " : "",
		 rs->rules ? rs->rules : "", rs->rules ? " );" : "");
	r = fos_config_load_string("test.conf", text, &cfg, &errs);
	ck_assert_msg(r == 0, "config: %s\n%s", errs.n ? errs.msgs[0] : strerror(-r), text);
	ck_assert_uint_eq(cfg->n_programs, 1);
	prog = &cfg->programs[0];
	for (i = 0; i < prog->n_rules && i < sizeof(rs->state); i++)
		if (rs->state[i]) {
			prog->rules[i].match.state = rs->state[i];
			any_state = true;
		}
	r = fos_filter_build(prog, &ids, &frs, &errs);
	ck_assert_msg(r == 0, "fos_filter_build: %s", errs.n ? errs.msgs[0] : strerror(-r));
	for (i = 0; i < prog->n_rules && i < sizeof(rs->state); i++)
		ck_assert_uint_eq(!!(frs.rules[i].flags & FOS_RULE_F_STATE), !!rs->state[i]);
	frs.slot.zone = rs->zone;
	frs.slot.generation = ++generation;
	ck_assert_int_eq(fos_filter_write_slot(fm, slot, &frs), 0);
	ck_assert_int_eq(fos_filter_flip(fm, slot), 0);
	*active = slot;

	/* the slot as the datapath reads it */
	ck_assert_int_eq(bpf_map_lookup_elem(fm->slots, &slot, &got), 0);
	ck_assert_uint_eq(got.zone, rs->zone);
	ck_assert_uint_eq(got.n_rules, prog->n_rules);
	ck_assert_uint_eq(!!(got.flags & FOS_SLOT_F_CLS_STATE), any_state);
	fos_filter_rs_free(&frs);
	fos_config_free(cfg);
	fos_errors_clear(&errs);
}

static void use(const struct ruleset *rs)
{
	apply(&tc_fm, &tc_active, rs);
}

static void use_xdp(const struct ruleset *rs)
{
	apply(&xdp_fm, &xdp_active, rs);
}

static struct fos_rule_counter counter_sum(int fd, uint32_t idx)
{
	struct fos_rule_counter v[n_cpus];
	struct fos_rule_counter sum = {0};
	int i;

	ck_assert_int_eq(bpf_map_lookup_elem(fd, &idx, v), 0);
	for (i = 0; i < n_cpus; i++) {
		sum.packets += v[i].packets;
		sum.bytes += v[i].bytes;
	}
	return sum;
}

static void _assert_ctr(int fd, uint32_t idx, const char *what, uint64_t packets, uint64_t bytes,
			int line)
{
	struct fos_rule_counter c = counter_sum(fd, idx);

	ck_assert_msg(c.packets == packets && c.bytes == bytes,
		      "line %d: %s counted %llu packets %llu bytes, expected %llu/%llu", line, what,
		      (unsigned long long)c.packets, (unsigned long long)c.bytes,
		      (unsigned long long)packets, (unsigned long long)bytes);
}

/* the counters of the live slot of the firewall, and of the XDP filter */
#define assert_rule(i, packets, bytes)                                                             \
	_assert_ctr(tc_fm.rule_stats, tc_active *FOS_MAX_RULES + (i), "rule " #i, (packets),       \
		    (bytes), __LINE__)
#define assert_default(packets, bytes)                                                             \
	_assert_ctr(tc_fm.default_st, tc_active, "the default", (packets), (bytes), __LINE__)
#define assert_xdp_rule(i, packets, bytes)                                                         \
	_assert_ctr(xdp_fm.rule_stats, xdp_active *FOS_MAX_RULES + (i), "xdp rule " #i, (packets), \
		    (bytes), __LINE__)

/* ---- fixture ------------------------------------------------------------------ */

static struct fos_tc *open_tc(bool stateful)
{
	struct fos_tc *s = fos_tc__open();

	if (!s)
		return NULL;
	s->rodata->fos_stateful = stateful;
	if (fos_tc__load(s) < 0) {
		int r = errno;

		fos_tc__destroy(s);
		errno = r;
		return NULL;
	}
	return s;
}

/* a fresh fos_tc, its counters at zero, fos_ct_cfg written and web live */
static void load_tc(bool stateful)
{
	fos_tc__destroy(tc);
	tc = open_tc(stateful);
	ck_assert_msg(tc, "loading fos_tc (stateful %d): %s", stateful, strerror(errno));
	fw = (struct prog){"fos_tc_fw", bpf_program__fd(tc->progs.fos_tc_fw), false,
			   tc->maps.fos_stats, exp_tc};
	trk = (struct prog){"fos_tc_track", bpf_program__fd(tc->progs.fos_tc_track), false,
			    tc->maps.fos_stats, exp_tc};
	tc_fm = FOS_FILTER_MAPS(tc);
	tc_active = 0;
	memset(exp_tc, 0, sizeof(exp_tc));
	memset(exp_ct, 0, sizeof(exp_ct));
	memset(exp_count, 0, sizeof(exp_count));
	ct_cfg_write();
	use(&web);
}

static void setup(void)
{
	tc = NULL;
	xdp = NULL;
	generation = 0;
	memset(exp_xdp, 0, sizeof(exp_xdp));
	memset(&cur_cfg, 0, sizeof(cur_cfg));
	cur_cfg.timeout_ns[FOS_CTT_TCP_SYN] = TO_SYN * NS;
	cur_cfg.timeout_ns[FOS_CTT_TCP_EST] = TO_EST * NS;
	cur_cfg.timeout_ns[FOS_CTT_TCP_FIN] = TO_FIN * NS;
	cur_cfg.timeout_ns[FOS_CTT_TCP_CLOSE] = TO_CLOSE * NS;
	cur_cfg.timeout_ns[FOS_CTT_UDP] = TO_UDP * NS;
	cur_cfg.timeout_ns[FOS_CTT_ICMP] = TO_ICMP * NS;
	cur_cfg.max_entries = 1000;
	cur_cfg.invalid = FOS_CT_INVALID_DROP;
	load_tc(true);
	t_start = boot_ns();
}

/* the XDP filter, stateful, reading the firewall's connection table */
static void load_xdp(void)
{
	static const char *const shared[] = {"fos_ct", "fos_ct_cfg", "fos_ct_count",
					     "fos_ct_stats"};
	size_t i;

	xdp = fos_xdp_filter__open();
	ck_assert_ptr_nonnull(xdp);
	xdp->rodata->fos_stateful = true;
	for (i = 0; i < sizeof(shared) / sizeof(shared[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(xdp->obj, shared[i]);
		struct bpf_map *t = bpf_object__find_map_by_name(tc->obj, shared[i]);

		ck_assert_ptr_nonnull(t);
		if (!m) {
			/* the filter only needs the table and its configuration */
			ck_assert_msg(i >= 2, "fos_xdp_filter has no map %s", shared[i]);
			continue;
		}
		ck_assert_int_eq(bpf_map__reuse_fd(m, bpf_map__fd(t)), 0);
	}
	ck_assert_msg(fos_xdp_filter__load(xdp) == 0, "loading fos_xdp_filter stateful: %s",
		      strerror(errno));
	xf = (struct prog){"fos_xdp_filter", bpf_program__fd(xdp->progs.fos_xdp_filter), true,
			   xdp->maps.fos_stats, exp_xdp};
	xdp_fm = FOS_FILTER_MAPS(xdp);
	xdp_active = 0;
}

static void teardown(void)
{
	fos_xdp_filter__destroy(xdp);
	xdp = NULL;
	fos_tc__destroy(tc);
	tc = NULL;
}

/* ---- TCP ------------------------------------------------------------------------ */

/* the originator is end 0 or end 1 of the key, over IPv4 and IPv6 */
static const struct flow tcp_flows[] = {
    {AF_INET, P_TCP, "10.1.0.1", "10.1.0.2", 40000, 80},
    {AF_INET, P_TCP, "10.1.0.9", "10.1.0.2", 40000, 80},
    {AF_INET6, P_TCP, "2001:db8:1::1", "2001:db8:1::2", 40000, 80},
    {AF_INET6, P_TCP, "2001:db8:1::9", "2001:db8:1::2", 40000, 80},
};

START_TEST(test_tcp_handshake)
{
	struct conn c = {.f = tcp_flows[_i]};
	struct pkt syn;

	ck_assert_uint_eq(orig_end1(&c.f), _i % 2);
	syn = cx(&c, ORIG, T_SYN, 0, PASS, NEW_RULE | CREATED);
	assert_conn(&c, FOS_CTS_SYN_SENT, 0);
	/* a retransmitted SYN is NEW again and meets the rules; same entry */
	cx(&c, ORIG, T_SYN, 0, PASS, NEW_RULE);
	assert_conn(&c, FOS_CTS_SYN_SENT, 0);
	/* the rules would drop the answer (port 40000): it passes as established */
	cx(&c, REPLY, T_SYN | T_ACK, 0, PASS, EST);
	assert_conn(&c, FOS_CTS_SYN_RECV, SEEN);
	cx(&c, ORIG, T_ACK, 0, PASS, EST);
	assert_conn(&c, FOS_CTS_ESTABLISHED, SEEN);
	cx(&c, ORIG, T_PSH | T_ACK, 100, PASS, EST);
	cx(&c, REPLY, T_PSH | T_ACK, 300, PASS, EST);
	cx(&c, REPLY, T_PSH | T_ACK, 17, PASS, EST);
	cx(&c, ORIG, T_ACK, 0, PASS, EST);
	assert_conn(&c, FOS_CTS_ESTABLISHED, SEEN);
	ck_assert_uint_eq(c.packets[ORIG], 5);
	ck_assert_uint_eq(c.packets[REPLY], 3);
	/* the rules saw the two SYNs only */
	assert_rule(0, 2, 2 * syn.len);
	assert_default(0, 0);
	assert_entries(1);
}
END_TEST

START_TEST(test_tcp_simultaneous_open)
{
	struct conn c = {.f = tcp_flows[_i]};
	struct fos_ct_value v;

	cx(&c, ORIG, T_SYN, 0, PASS, NEW_RULE | CREATED);
	/* the other end's own SYN crosses ours */
	cx(&c, REPLY, T_SYN, 0, PASS, EST);
	assert_conn(&c, FOS_CTS_SYN_RECV, SEEN | SIMO);
	cx(&c, ORIG, T_SYN | T_ACK, 0, PASS, EST);
	cx(&c, REPLY, T_SYN | T_ACK, 0, PASS, EST);
	ck_assert(ct_get(&c.f, 0, &v));
	ck_assert_msg(v.state == FOS_CTS_SYN_RECV || v.state == FOS_CTS_ESTABLISHED,
		      "state %s after both SYN-ACKs", state_name(v.state));
	cx(&c, ORIG, T_ACK, 0, PASS, EST);
	assert_conn(&c, FOS_CTS_ESTABLISHED, SEEN | SIMO);
	cx(&c, REPLY, T_PSH | T_ACK, 40, PASS, EST);
	cx(&c, ORIG, T_PSH | T_ACK, 40, PASS, EST);
	assert_conn(&c, FOS_CTS_ESTABLISHED, SEEN | SIMO);
	assert_entries(1);
}
END_TEST

/* RST from the originator (_i 0) or the responder (_i 1) */
START_TEST(test_tcp_rst)
{
	struct conn c = {.f = tcp_flows[_i ? 3 : 0]};
	int dir = _i ? REPLY : ORIG;
	struct pkt syn;
	struct fos_ct_value before, after;

	establish(&c);
	cx(&c, ORIG, T_PSH | T_ACK, 10, PASS, EST);
	cx(&c, dir, dir == ORIG ? T_RST : T_RST | T_ACK, 0, PASS, EST);
	assert_conn(&c, FOS_CTS_CLOSE, SEEN);

	/* a SYN the rules drop (port 40000) leaves the closed entry alone */
	ck_assert(ct_get(&c.f, 0, &before));
	cx(&c, REPLY, T_SYN, 0, DROP, NEW_DEF);
	ck_assert(ct_get(&c.f, 0, &after));
	ck_assert_str_eq(state_name(after.state), "CLOSE");
	ck_assert_uint_eq(after.flags, before.flags);
	ck_assert_uint_eq(after.first_ns, before.first_ns);

	/* the originator's SYN reopens it as a new flow */
	conn_reset(&c);
	syn = cx(&c, ORIG, T_SYN, 0, PASS, NEW_RULE | REOPENED);
	assert_conn(&c, FOS_CTS_SYN_SENT, 0);
	ck_assert(ct_get(&c.f, 0, &after));
	ck_assert_uint_gt(after.first_ns, before.first_ns);
	cx(&c, REPLY, T_SYN | T_ACK, 0, PASS, EST);
	cx(&c, ORIG, T_ACK, 0, PASS, EST);
	assert_conn(&c, FOS_CTS_ESTABLISHED, SEEN);
	assert_entries(1);
	/* the rules saw both SYNs of the originator, the default the other one */
	assert_rule(0, 2, 2 * syn.len);
	assert_default(1, fp(&c.f, REPLY, T_SYN, 0).len);
}
END_TEST

/* A refused connection: the responder answers the SYN with a RST. The answer
 * must reach the client whatever the rules say about the responder's traffic
 * (as an ICMP unreachable does, as RELATED): it is part of the flow, which
 * it closes. */
START_TEST(test_tcp_refused)
{
	struct conn c = {.f = tcp_flows[_i ? 3 : 0]};

	cx(&c, ORIG, T_SYN, 0, PASS, NEW_RULE | CREATED);
	cx(&c, REPLY, T_RST | T_ACK, 0, PASS, EST);
	assert_conn(&c, FOS_CTS_CLOSE, SEEN);
	/* the client tries again: the closed entry is reopened */
	conn_reset(&c);
	cx(&c, ORIG, T_SYN, 0, PASS, NEW_RULE | REOPENED);
	assert_conn(&c, FOS_CTS_SYN_SENT, 0);
	assert_entries(1);
}
END_TEST

/* FIN from the originator first (_i 0) or from the responder first (_i 1) */
START_TEST(test_tcp_fin)
{
	struct conn c = {.f = tcp_flows[_i ? 1 : 2]};
	int first = _i ? REPLY : ORIG, other = _i ? ORIG : REPLY;

	establish(&c);
	cx(&c, first, T_FIN | T_ACK, 0, PASS, EST);
	assert_conn(&c, FOS_CTS_FIN_WAIT, SEEN | FIN_OF(first));
	/* an ACK from the end that sent the FIN changes nothing */
	cx(&c, first, T_ACK, 0, PASS, EST);
	assert_conn(&c, FOS_CTS_FIN_WAIT, SEEN | FIN_OF(first));
	/* the other end acknowledges it, and may still send */
	cx(&c, other, T_ACK, 0, PASS, EST);
	assert_conn(&c, FOS_CTS_CLOSE_WAIT, SEEN | FIN_OF(first));
	cx(&c, other, T_PSH | T_ACK, 50, PASS, EST);
	cx(&c, first, T_ACK, 0, PASS, EST);
	assert_conn(&c, FOS_CTS_CLOSE_WAIT, SEEN | FIN_OF(first));
	/* then closes its side */
	cx(&c, other, T_FIN | T_ACK, 0, PASS, EST);
	assert_conn(&c, FOS_CTS_TIME_WAIT, SEEN | FIN_O | FIN_R);
	cx(&c, first, T_ACK, 0, PASS, EST);
	assert_conn(&c, FOS_CTS_TIME_WAIT, SEEN | FIN_O | FIN_R);

	/* a SYN on TIME_WAIT opens a new flow in the same entry */
	conn_reset(&c);
	cx(&c, ORIG, T_SYN, 0, PASS, NEW_RULE | REOPENED);
	assert_conn(&c, FOS_CTS_SYN_SENT, 0);
	assert_entries(1);
}
END_TEST

/* both FINs without an ACK between them: FIN_WAIT straight to TIME_WAIT */
START_TEST(test_tcp_fin_crossing)
{
	struct conn c = {.f = tcp_flows[_i]};
	int first = _i % 2 ? REPLY : ORIG, other = _i % 2 ? ORIG : REPLY;

	establish(&c);
	cx(&c, first, T_FIN | T_ACK, 0, PASS, EST);
	assert_conn(&c, FOS_CTS_FIN_WAIT, SEEN | FIN_OF(first));
	cx(&c, other, T_FIN | T_ACK, 0, PASS, EST);
	assert_conn(&c, FOS_CTS_TIME_WAIT, SEEN | FIN_O | FIN_R);
	cx(&c, first, T_ACK, 0, PASS, EST);
	assert_conn(&c, FOS_CTS_TIME_WAIT, SEEN | FIN_O | FIN_R);
}
END_TEST

/* The client acknowledges the SYN-ACK with its request and its FIN in one
 * segment: the handshake ends in FIN_WAIT. */
START_TEST(test_tcp_fin_in_handshake)
{
	struct conn c = {.f = tcp_flows[_i]};

	cx(&c, ORIG, T_SYN, 0, PASS, NEW_RULE | CREATED);
	cx(&c, REPLY, T_SYN | T_ACK, 0, PASS, EST);
	assert_conn(&c, FOS_CTS_SYN_RECV, SEEN);
	cx(&c, ORIG, T_FIN | T_PSH | T_ACK, 120, PASS, EST);
	assert_conn(&c, FOS_CTS_FIN_WAIT, SEEN | FIN_O);
	cx(&c, REPLY, T_ACK, 0, PASS, EST);
	assert_conn(&c, FOS_CTS_CLOSE_WAIT, SEEN | FIN_O);
	cx(&c, REPLY, T_PSH | T_ACK, 400, PASS, EST);
	cx(&c, REPLY, T_FIN | T_ACK, 0, PASS, EST);
	assert_conn(&c, FOS_CTS_TIME_WAIT, SEEN | FIN_O | FIN_R);
}
END_TEST

/* The out-of-state packets, run with the current invalid policy: exp[i] the
 * verdict of case i, extra[i] what it counts besides CT_INVALID. */
static void invalid_cases(const enum verdict exp[7], const uint64_t extra[7])
{
	struct flow lone = {AF_INET, P_TCP, "10.3.0.1", "10.3.0.2", 40001, 80};
	struct conn pre = {.f = {AF_INET, P_TCP, "10.3.0.1", "10.3.0.2", 40002, 80}};
	struct conn est = {.f = {AF_INET6, P_TCP, "2001:db8:3::1", "2001:db8:3::2", 40003, 80}};
	struct pkt p;

	cx(&pre, ORIG, T_SYN, 0, PASS, NEW_RULE | CREATED);
	establish(&est);

	/* no entry: an ACK, a SYN-ACK without a SYN, a FIN, a RST */
	p = fp(&lone, ORIG, T_ACK, 0);
	expect(&fw, &p, exp[0], INV | extra[0]);
	p = fp(&lone, REPLY, T_SYN | T_ACK, 0);
	expect(&fw, &p, exp[1], INV | extra[1]);
	p = fp(&lone, ORIG, T_FIN | T_ACK, 0);
	expect(&fw, &p, exp[2], INV | extra[2]);
	p = fp(&lone, ORIG, T_RST, 0);
	expect(&fw, &p, exp[3], INV | extra[3]);
	assert_no_entry(&lone, 0);

	/* the responder sends data before its SYN-ACK */
	p = fp(&pre.f, REPLY, T_PSH | T_ACK, 20);
	expect(&fw, &p, exp[4], INV | extra[4]);
	assert_state(&pre.f, 0, FOS_CTS_SYN_SENT);

	/* a SYN, from either end, inside an established connection */
	p = fp(&est.f, ORIG, T_SYN, 0);
	expect(&fw, &p, exp[5], INV | extra[5]);
	p = fp(&est.f, REPLY, T_SYN, 0);
	expect(&fw, &p, exp[6], INV | extra[6]);
	assert_state(&est.f, 0, FOS_CTS_ESTABLISHED);

	/* the connections go on */
	conn_resync(&est);
	cx(&est, REPLY, T_PSH | T_ACK, 10, PASS, EST);
	cx(&pre, REPLY, T_SYN | T_ACK, 0, PASS, EST);
	assert_state(&pre.f, 0, FOS_CTS_SYN_RECV);
	assert_entries(2);
}

START_TEST(test_invalid_drop)
{
	static const enum verdict v[7] = {DROP, DROP, DROP, DROP, DROP, DROP, DROP};
	static const uint64_t extra[7] = {0};
	struct pkt syn = fp(&tcp_flows[0], ORIG, T_SYN, 0);

	ct_invalid(FOS_CT_INVALID_DROP);
	invalid_cases(v, extra);
	/* dropped before the rules: only the two SYNs met them */
	assert_rule(0, 2, syn.len + fp(&tcp_flows[2], ORIG, T_SYN, 0).len);
	assert_default(0, 0);
}
END_TEST

START_TEST(test_invalid_pass)
{
	static const enum verdict v[7] = {PASS, PASS, PASS, PASS, PASS, PASS, PASS};
	static const uint64_t extra[7] = {0};
	struct pkt syn = fp(&tcp_flows[0], ORIG, T_SYN, 0);

	ct_invalid(FOS_CT_INVALID_PASS);
	invalid_cases(v, extra);
	/* passed without the rules, and no entry made for them */
	assert_rule(0, 2, syn.len + fp(&tcp_flows[2], ORIG, T_SYN, 0).len);
	assert_default(0, 0);
}
END_TEST

START_TEST(test_invalid_rules)
{
	/* rule 0 passes TCP to port 80 in any state; the rest is dropped */
	static const enum verdict v[7] = {PASS, DROP, PASS, PASS, DROP, PASS, DROP};
	static const uint64_t extra[7] = {0, R(FOS_STAT_DEFAULT), 0, 0, R(FOS_STAT_DEFAULT),
					  0, R(FOS_STAT_DEFAULT)};

	ct_invalid(FOS_CT_INVALID_RULES);
	invalid_cases(v, extra);
	/* the two SYNs, then the ACK, FIN, RST and the SYN in the connection */
	{
		struct flow lone = {AF_INET, P_TCP, "10.3.0.1", "10.3.0.2", 40001, 80};
		struct flow est = {AF_INET6, P_TCP, "2001:db8:3::1", "2001:db8:3::2", 40003, 80};
		uint64_t bytes = fp(&tcp_flows[0], ORIG, T_SYN, 0).len +
				 2 * fp(&est, ORIG, T_SYN, 0).len + fp(&lone, ORIG, T_ACK, 0).len +
				 fp(&lone, ORIG, T_FIN | T_ACK, 0).len +
				 fp(&lone, ORIG, T_RST, 0).len;

		assert_rule(0, 6, bytes);
		assert_default(3, fp(&lone, REPLY, T_SYN | T_ACK, 0).len +
				      fp(&lone, REPLY, T_PSH | T_ACK, 20).len +
				      fp(&est, REPLY, T_SYN, 0).len);
	}
}
END_TEST

/* ---- rules with a state condition ----------------------------------------------- */

START_TEST(test_state_rules)
{
	/* rule 0: new TCP to port 22; rule 1: anything established (never
	 * asked: established packets pass before the rules); rule 2: anything
	 * invalid; default drop; invalid packets meet the rules */
	static const struct ruleset rs = {
	    .def = "drop",
	    .rules = "{ match = { protocol = \"tcp\"; dstPort = 22; }; action = \"pass\"; }, "
		     "{ match = { }; action = \"pass\"; }, "
		     "{ match = { }; action = \"pass\"; }",
	    .state = {1U << FOS_CT_NEW, 1U << FOS_CT_ESTABLISHED, 1U << FOS_CT_INVALID},
	};
	struct conn ssh = {.f = {AF_INET, P_TCP, "10.8.0.1", "10.8.0.2", 50000, 22}};
	struct flow other = {AF_INET, P_TCP, "10.8.0.1", "10.8.0.2", 50001, 23};
	struct flow f22 = {AF_INET, P_TCP, "10.8.0.3", "10.8.0.2", 50002, 22};
	struct fos_slot s;
	struct fos_rule ru;
	uint32_t k;
	struct pkt syn, ack23, syn23, ack22;

	use(&rs);
	ct_invalid(FOS_CT_INVALID_RULES);
	/* what fwd's writer made of the conditions */
	ck_assert_int_eq(bpf_map_lookup_elem(tc_fm.slots, &tc_active, &s), 0);
	ck_assert(s.flags & FOS_SLOT_F_CLS_STATE);
	k = tc_active * FOS_MAX_RULES;
	ck_assert_int_eq(bpf_map_lookup_elem(tc_fm.rules, &k, &ru), 0);
	ck_assert_uint_eq(ru.flags & FOS_RULE_F_STATE, FOS_RULE_F_STATE);
	ck_assert_uint_eq(ru.state, 1U << FOS_CT_NEW);

	syn = cx(&ssh, ORIG, T_SYN, 0, PASS, NEW_RULE | CREATED);
	cx(&ssh, REPLY, T_SYN | T_ACK, 0, PASS, EST);
	cx(&ssh, ORIG, T_ACK, 0, PASS, EST);
	cx(&ssh, REPLY, T_PSH | T_ACK, 64, PASS, EST);
	assert_conn(&ssh, FOS_CTS_ESTABLISHED, SEEN);

	/* an ACK without a connection: invalid, rule 2 */
	ack23 = fp(&other, ORIG, T_ACK, 0);
	expect(&fw, &ack23, PASS, INV);
	/* a SYN to 23: new; rule 0 wants port 22, rules 1 and 2 other states */
	syn23 = fp(&other, ORIG, T_SYN, 0);
	expect(&fw, &syn23, DROP, NEW_DEF);
	/* an ACK to 22 without a connection is invalid: rule 0 is for new ones */
	ack22 = fp(&f22, ORIG, T_ACK, 0);
	expect(&fw, &ack22, PASS, INV);
	assert_rule(2, 2, ack23.len + ack22.len);
	assert_no_entry(&f22, 0);
	assert_no_entry(&other, 0);
	assert_rule(0, 1, syn.len);
	assert_rule(1, 0, 0);
	assert_default(1, syn23.len);

	/* with invalid packets dropped before the rules, rule 2 is not asked */
	ct_invalid(FOS_CT_INVALID_DROP);
	expect(&fw, &ack23, DROP, INV);
	assert_rule(2, 2, ack23.len + ack22.len);
	assert_default(1, syn23.len);
	assert_entries(1);
}
END_TEST

/* state conditions on UDP and ICMP, with several states in one rule */
START_TEST(test_state_rules_multi)
{
	static const struct ruleset rs = {
	    .def = "drop",
	    .rules = "{ match = { protocol = \"udp\"; dstPort = 53; }; action = \"pass\"; }, "
		     "{ match = { protocol = \"icmp\"; }; action = \"pass\"; }",
	    .state = {1U << FOS_CT_NEW, (1U << FOS_CT_NEW) | (1U << FOS_CT_INVALID)},
	};
	struct conn dns = {.f = {AF_INET, P_UDP, "10.8.1.1", "10.8.1.2", 5353, 53}};
	struct flow ping = {AF_INET, P_ICMP, "10.8.1.1", "10.8.1.2", 0x77, 0};
	struct pkt p;

	use(&rs);
	ct_invalid(FOS_CT_INVALID_RULES);
	cx(&dns, ORIG, 0, 10, PASS, NEW_RULE | CREATED);
	cx(&dns, REPLY, 0, 60, PASS, EST);
	assert_conn(&dns, FOS_CTS_ESTABLISHED, SEEN);
	/* an echo reply without a request is invalid: rule 1 takes it */
	p = fp(&ping, REPLY, 0, 8);
	expect(&fw, &p, PASS, INV);
	assert_no_entry(&ping, 0);
	p = fp(&ping, ORIG, 0, 8);
	expect(&fw, &p, PASS, NEW_RULE | CREATED);
	assert_rule(1, 2, 2 * p.len);
	assert_entries(2);
}
END_TEST

/* ---- UDP and protocols without ports ------------------------------------------ */

static const struct flow udp_flows[] = {
    {AF_INET, P_UDP, "10.2.0.1", "10.2.0.2", 5353, 53},
    {AF_INET6, P_UDP, "2001:db8:2::9", "2001:db8:2::2", 5353, 53},
};

START_TEST(test_udp_flow)
{
	struct conn c = {.f = udp_flows[_i]};
	static const struct ruleset none = {.def = "drop"};
	struct pkt q;

	q = cx(&c, ORIG, 0, 30, PASS, NEW_RULE | CREATED);
	assert_conn(&c, FOS_CTS_NEW, 0);
	/* unanswered, the originator's packets stay new: the rules are asked */
	cx(&c, ORIG, 0, 30, PASS, NEW_RULE);
	assert_conn(&c, FOS_CTS_NEW, 0);
	assert_rule(1, 2, 2 * q.len);
	use(&none);
	cx(&c, ORIG, 0, 30, DROP, NEW_DEF);
	assert_state(&c.f, 0, FOS_CTS_NEW);
	conn_resync(&c);

	/* the answer passes whatever the rules say, and establishes it */
	cx(&c, REPLY, 0, 120, PASS, EST);
	assert_conn(&c, FOS_CTS_ESTABLISHED, SEEN);
	cx(&c, ORIG, 0, 30, PASS, EST);
	cx(&c, REPLY, 0, 90, PASS, EST);
	assert_conn(&c, FOS_CTS_ESTABLISHED, SEEN);
	assert_entries(1);
	assert_default(1, q.len);
}
END_TEST

START_TEST(test_other_protocol)
{
	/* GRE has no ports: the key has zeroes; rule 0 passes what goes to b */
	static const struct ruleset rs = {
	    .def = "drop",
	    .rules = "{ match = { dstCIDR = \"10.5.0.2/32\"; }; action = \"pass\"; }",
	};
	struct conn c = {.f = {AF_INET, P_GRE, "10.5.0.9", "10.5.0.2", 0, 0}};
	struct fos_ct_key k;

	use(&rs);
	cx(&c, ORIG, 0, 40, PASS, NEW_RULE | CREATED);
	assert_conn(&c, FOS_CTS_NEW, 0);
	cx(&c, REPLY, 0, 40, PASS, EST);
	assert_conn(&c, FOS_CTS_ESTABLISHED, SEEN);
	k = ct_key(&c.f, 0);
	ck_assert_uint_eq(k.port[0], 0);
	ck_assert_uint_eq(k.port[1], 0);
	ck_assert(ct_get_key(&k, NULL));
}
END_TEST

/* ---- ICMP echo ---------------------------------------------------------------- */

START_TEST(test_icmp_echo)
{
	static const struct ruleset rs4 = {
	    .def = "drop",
	    .rules = "{ match = { protocol = \"icmp\"; dstCIDR = \"10.4.0.2/32\"; }; action = "
		     "\"pass\"; }",
	};
	static const struct ruleset rs6 = {
	    .def = "drop",
	    .rules = "{ match = { protocol = \"icmpv6\"; dstCIDR = \"2001:db8:4::2/128\"; }; "
		     "action = \"pass\"; }",
	};
	static const struct flow flows[] = {
	    {AF_INET, P_ICMP, "10.4.0.1", "10.4.0.2", 0x1234, 0},
	    {AF_INET6, P_ICMPV6, "2001:db8:4::1", "2001:db8:4::2", 0x1234, 0},
	};
	struct conn c = {.f = flows[_i]};
	struct flow stray = flows[_i], other = flows[_i];
	struct fos_ct_key k;
	struct pkt p;

	stray.pa = 0x9999;
	other.pa = 0x5678;
	use(_i ? &rs6 : &rs4);
	cx(&c, ORIG, 0, 56, PASS, NEW_RULE | CREATED);
	assert_conn(&c, FOS_CTS_NEW, 0);
	/* the identifier is both ports of the key */
	k = ct_key(&c.f, 0);
	ck_assert_uint_eq(k.port[0], 0x1234);
	ck_assert_uint_eq(k.port[1], 0x1234);
	cx(&c, ORIG, 0, 56, PASS, NEW_RULE);
	/* the reply, to a, which no rule passes */
	cx(&c, REPLY, 0, 56, PASS, EST);
	assert_conn(&c, FOS_CTS_ESTABLISHED, SEEN);
	cx(&c, ORIG, 0, 56, PASS, EST);
	assert_conn(&c, FOS_CTS_ESTABLISHED, SEEN);

	/* a reply nobody asked for */
	p = fp(&stray, REPLY, 0, 56);
	expect(&fw, &p, DROP, INV);
	assert_no_entry(&stray, 0);
	/* another identifier is another flow */
	p = fp(&other, ORIG, 0, 56);
	expect(&fw, &p, PASS, NEW_RULE | CREATED);
	assert_state(&other, 0, FOS_CTS_NEW);
	assert_entries(2);
}
END_TEST

/* ---- ICMP errors ------------------------------------------------------------------ */

START_TEST(test_related_tcp)
{
	struct conn c = {.f = {AF_INET, P_TCP, "10.6.0.1", "10.6.0.2", 40000, 80}};
	struct conn syn_only = {.f = {AF_INET, P_TCP, "10.6.0.1", "10.6.0.3", 40000, 80}};
	struct flow unknown = {AF_INET, P_TCP, "10.6.0.1", "10.6.0.2", 40099, 80};
	struct pkt o, r, u, s, e;
	struct fos_ct_value before, after;

	establish(&c);
	o = fp(&c.f, ORIG, T_PSH | T_ACK, 40);
	r = fp(&c.f, REPLY, T_PSH | T_ACK, 40);
	ck_assert(ct_get(&c.f, 0, &before));

	/* port unreachable from b, with the IP header and 8 bytes */
	e = icmp_err(AF_INET, "10.6.0.2", "10.6.0.1", 3, 3, &o, 28);
	expect(&fw, &e, PASS, REL);
	/* from a router on the way: time exceeded, fragmentation needed,
	 * parameter problem (with the whole packet) */
	e = icmp_err(AF_INET, "10.6.0.254", "10.6.0.1", 11, 0, &o, 28);
	expect(&fw, &e, PASS, REL);
	e = icmp_err(AF_INET, "10.6.0.254", "10.6.0.1", 3, 4, &o, 28);
	expect(&fw, &e, PASS, REL);
	e = icmp_err(AF_INET, "10.6.0.254", "10.6.0.1", 12, 0, &o, 0);
	expect(&fw, &e, PASS, REL);
	/* about a packet of the other direction, to b */
	e = icmp_err(AF_INET, "10.6.0.254", "10.6.0.2", 11, 0, &r, 28);
	expect(&fw, &e, PASS, REL);
	ck_assert(ct_get(&c.f, 0, &after));
	ck_assert_uint_eq(after.state, FOS_CTS_ESTABLISHED);
	ck_assert_uint_eq(after.flags, before.flags);

	/* a host unreachable answering a SYN */
	s = cx(&syn_only, ORIG, T_SYN, 0, PASS, NEW_RULE | CREATED);
	e = icmp_err(AF_INET, "10.6.0.254", "10.6.0.1", 3, 1, &s, 28);
	expect(&fw, &e, PASS, REL);

	/* about a flow the table does not know */
	u = fp(&unknown, ORIG, T_PSH | T_ACK, 40);
	e = icmp_err(AF_INET, "10.6.0.254", "10.6.0.1", 3, 1, &u, 28);
	expect(&fw, &e, DROP, INV);
	assert_entries(2);
	assert_default(0, 0);
}
END_TEST

START_TEST(test_related_udp)
{
	struct conn c = {.f = udp_flows[_i]};
	struct flow unknown = udp_flows[_i];
	const char *router = _i ? "2001:db8:2::fe" : "10.2.0.254";
	int fam = c.f.family;
	struct pkt o, u, e;

	unknown.pa = 5454;
	o = cx(&c, ORIG, 0, 30, PASS, NEW_RULE | CREATED);
	if (fam == AF_INET) {
		e = icmp_err(fam, c.f.b, c.f.a, 3, 3, &o, 28);
		expect(&fw, &e, PASS, REL);
		e = icmp_err(fam, router, c.f.a, 11, 0, &o, 28);
		expect(&fw, &e, PASS, REL);
	} else {
		/* port unreachable, packet too big, time exceeded, parameter problem */
		e = icmp_err(fam, c.f.b, c.f.a, 1, 4, &o, 0);
		expect(&fw, &e, PASS, REL);
		e = icmp_err(fam, router, c.f.a, 2, 0, &o, 0);
		expect(&fw, &e, PASS, REL);
		e = icmp_err(fam, router, c.f.a, 3, 0, &o, 0);
		expect(&fw, &e, PASS, REL);
		e = icmp_err(fam, router, c.f.a, 4, 0, &o, 0);
		expect(&fw, &e, PASS, REL);
	}
	/* the flow is still unanswered */
	assert_conn(&c, FOS_CTS_NEW, 0);

	u = fp(&unknown, ORIG, 0, 30);
	e = icmp_err(fam, c.f.b, c.f.a, fam == AF_INET ? 3 : 1, fam == AF_INET ? 3 : 4, &u,
		     fam == AF_INET ? 28 : 0);
	expect(&fw, &e, DROP, INV);
	assert_entries(1);
}
END_TEST

START_TEST(test_related_icmp_echo)
{
	struct conn c4 = {.f = {AF_INET, P_ICMP, "10.6.1.1", "10.6.1.2", 0x4242, 0}};
	struct conn c6 = {.f = {AF_INET6, P_ICMPV6, "2001:db8:6::1", "2001:db8:6::2", 0x4242, 0}};
	struct flow unknown = c6.f;
	static const struct ruleset rs = {.def = "pass"};
	struct pkt q4, q6, u, e;

	use(&rs);
	unknown.pa = 0x4243;
	q4 = cx(&c4, ORIG, 0, 32, PASS, NEW_DEF | CREATED);
	q6 = cx(&c6, ORIG, 0, 32, PASS, NEW_DEF | CREATED);
	e = icmp_err(AF_INET, "10.6.1.254", "10.6.1.1", 11, 0, &q4, 28);
	expect(&fw, &e, PASS, REL);
	e = icmp_err(AF_INET6, "2001:db8:6::fe", "2001:db8:6::1", 3, 0, &q6, 0);
	expect(&fw, &e, PASS, REL);
	e = icmp_err(AF_INET6, "2001:db8:6::fe", "2001:db8:6::1", 1, 0, &q6, 0);
	expect(&fw, &e, PASS, REL);
	/* an error about another identifier: the default would pass a new
	 * packet, but an error is never new */
	u = fp(&unknown, ORIG, 0, 32);
	e = icmp_err(AF_INET6, "2001:db8:6::fe", "2001:db8:6::1", 1, 0, &u, 0);
	expect(&fw, &e, DROP, INV);
	assert_entries(2);
}
END_TEST

START_TEST(test_related_truncated)
{
	struct conn c4 = {.f = udp_flows[0]};
	struct conn c6 = {.f = udp_flows[1]};
	struct pkt o4, o6, e;

	o4 = cx(&c4, ORIG, 0, 30, PASS, NEW_RULE | CREATED);
	o6 = cx(&c6, ORIG, 0, 30, PASS, NEW_RULE | CREATED);
	cx(&c4, REPLY, 0, 30, PASS, EST);
	cx(&c6, REPLY, 0, 30, PASS, EST);

	/* the embedded IP header without its ports */
	e = icmp_err(AF_INET, c4.f.b, c4.f.a, 3, 3, &o4, 20);
	expect(&fw, &e, DROP, INV | NO_INNER);
	e = icmp_err(AF_INET6, c6.f.b, c6.f.a, 1, 4, &o6, 40);
	expect(&fw, &e, DROP, INV | NO_INNER);
	/* the embedded IP header itself cut short */
	e = icmp_err(AF_INET, c4.f.b, c4.f.a, 3, 3, &o4, 12);
	expect(&fw, &e, DROP, INV | NO_INNER);
	e = icmp_err(AF_INET6, c6.f.b, c6.f.a, 1, 4, &o6, 24);
	expect(&fw, &e, DROP, INV | NO_INNER);
	/* nothing embedded at all */
	e = icmp_err(AF_INET, "10.2.0.254", c4.f.a, 11, 0, &o4, 0);
	e.len = e.l4 + 8;
	put16(e.b + e.l3 + 2, (uint16_t)(e.len - e.l3));
	put16(e.b + e.l3 + 10, 0);
	put16(e.b + e.l3 + 10, fold(sum_bytes(0, e.b + e.l3, 20)));
	l4_csum(&e, AF_INET, P_ICMP);
	expect(&fw, &e, DROP, INV | NO_INNER);

	/* they go through the invalid policy like any other invalid packet */
	ct_invalid(FOS_CT_INVALID_PASS);
	e = icmp_err(AF_INET, c4.f.b, c4.f.a, 3, 3, &o4, 20);
	expect(&fw, &e, PASS, INV | NO_INNER);
	/* and complete ones still relate */
	e = icmp_err(AF_INET, c4.f.b, c4.f.a, 3, 3, &o4, 28);
	expect(&fw, &e, PASS, REL);
	assert_entries(2);
}
END_TEST

/* ---- IPv6 extension headers, ND --------------------------------------------------- */

START_TEST(test_ipv6_ext_headers)
{
	static const uint8_t all[] = {NH_HOPOPTS, NH_DSTOPTS, NH_ROUTING};
	static const uint8_t hbh[] = {NH_HOPOPTS};
	static const uint8_t dst_rt[] = {NH_DSTOPTS, NH_ROUTING};
	struct conn c = {.f = {AF_INET6, P_TCP, "2001:db8:7::1", "2001:db8:7::2", 40000, 80}};
	struct conn u = {.f = {AF_INET6, P_UDP, "2001:db8:7::1", "2001:db8:7::2", 6000, 53}};
	struct pkt p;

	/* the rules find port 80 behind three headers */
	p = fp_ext(&c.f, ORIG, T_SYN, 0, all, 3);
	ck_assert_uint_eq(p.b[p.l3 + 6], NH_HOPOPTS);
	ck_assert_uint_eq(p.l4 - p.l3, 40 + 8 + 16 + 24);
	cxp(&c, ORIG, &p, PASS, NEW_RULE | CREATED);
	assert_conn(&c, FOS_CTS_SYN_SENT, 0);
	assert_rule(0, 1, p.len);
	p = fp_ext(&c.f, REPLY, T_SYN | T_ACK, 0, hbh, 1);
	cxp(&c, REPLY, &p, PASS, EST);
	assert_conn(&c, FOS_CTS_SYN_RECV, SEEN);
	cx(&c, ORIG, T_ACK, 0, PASS, EST);
	p = fp_ext(&c.f, REPLY, T_PSH | T_ACK, 100, dst_rt, 2);
	cxp(&c, REPLY, &p, PASS, EST);
	p = fp_ext(&c.f, ORIG, T_FIN | T_ACK, 0, all, 3);
	cxp(&c, ORIG, &p, PASS, EST);
	assert_conn(&c, FOS_CTS_FIN_WAIT, SEEN | FIN_O);
	/* an error quoting a packet with the three headers relates to the flow */
	{
		struct pkt q = fp_ext(&c.f, ORIG, T_PSH | T_ACK, 8, all, 3);

		p = icmp_err(AF_INET6, "2001:db8:7::fe", c.f.a, 2, 0, &q, 0);
		expect(&fw, &p, PASS, REL);
	}

	p = fp_ext(&u.f, ORIG, 0, 20, dst_rt, 2);
	cxp(&u, ORIG, &p, PASS, NEW_RULE | CREATED);
	p = fp_ext(&u.f, REPLY, 0, 20, hbh, 1);
	cxp(&u, REPLY, &p, PASS, EST);
	assert_conn(&u, FOS_CTS_ESTABLISHED, SEEN);
	assert_entries(2);
}
END_TEST

START_TEST(test_nd_untracked)
{
	static const struct ruleset none = {.def = "drop"};
	static const uint8_t types[] = {133, 134, 135, 136, 137};
	struct frame fr = {
	    .family = AF_INET6,
	    .proto = P_ICMPV6,
	    .src = "fe80::1",
	    .dst = "ff02::1",
	    .ttl = 255,
	    .payload = 20,
	};
	struct pkt p;
	size_t i;

	use(&none);
	for (i = 0; i < sizeof(types); i++) {
		fr.type = types[i];
		build(&fr, &p);
		expect(&fw, &p, PASS, R(FOS_STAT_CT_UNTRACKED));
	}
	assert_entries(0);
	assert_default(0, 0);

	/* a neighbour solicitation that crossed a router is not ND: it is not
	 * passed as untracked */
	fr.type = 135;
	fr.ttl = 64;
	build(&fr, &p);
	expect_free(&fw, &p, DROP, 0, CLASSES);
	/* nor is an echo request with hop limit 255 */
	fr.type = 128;
	fr.ttl = 255;
	fr.id = 7;
	build(&fr, &p);
	expect(&fw, &p, DROP, NEW_DEF);
	assert_entries(0);
}
END_TEST

/* ---- zones ------------------------------------------------------------------------ */

START_TEST(test_zones)
{
	struct ruleset z1 = web, z2 = web;
	struct conn c1 = {.f = tcp_flows[1], .zone = 1};
	struct conn c2 = {.f = tcp_flows[1], .zone = 2};
	struct pkt p;

	z1.zone = 1;
	z2.zone = 2;
	use(&z1);
	cx(&c1, ORIG, T_SYN, 0, PASS, NEW_RULE | CREATED);
	assert_conn(&c1, FOS_CTS_SYN_SENT, 0);
	assert_no_entry(&c1.f, 0);

	/* the answer arrives in zone 2, which has no such flow */
	use(&z2);
	p = fp(&c2.f, REPLY, T_SYN | T_ACK, 0);
	expect(&fw, &p, DROP, INV);
	assert_no_entry(&c2.f, 2);
	/* the same tuple opened in zone 2 is a second entry */
	cx(&c2, ORIG, T_SYN, 0, PASS, NEW_RULE | CREATED);
	assert_entries(2);
	cx(&c2, REPLY, T_SYN | T_ACK, 0, PASS, EST);
	assert_conn(&c2, FOS_CTS_SYN_RECV, SEEN);
	assert_conn(&c1, FOS_CTS_SYN_SENT, 0);

	use(&z1);
	cx(&c1, REPLY, T_SYN | T_ACK, 0, PASS, EST);
	cx(&c1, ORIG, T_ACK, 0, PASS, EST);
	assert_conn(&c1, FOS_CTS_ESTABLISHED, SEEN);
	assert_conn(&c2, FOS_CTS_SYN_RECV, SEEN);
	assert_no_entry(&c1.f, 0);
	assert_entries(2);

	/* an error about the zone-1 flow is related in zone 1 only */
	{
		struct conn z1only = {.f = udp_flows[0], .zone = 1};
		struct pkt q = cx(&z1only, ORIG, 0, 10, PASS, NEW_RULE | CREATED);

		p = icmp_err(AF_INET, "10.2.0.254", z1only.f.a, 11, 0, &q, 28);
		expect(&fw, &p, PASS, REL);
		use(&z2);
		expect(&fw, &p, DROP, INV);
	}
	/* the tracker tracks in the zone of the firewall's live slot */
	{
		struct conn t2 = {.f = udp_flows[1], .zone = 2};

		tx(&t2, ORIG, 0, 10, CREATED);
		assert_conn(&t2, FOS_CTS_NEW, 0);
		assert_no_entry(&t2.f, 0);
		assert_no_entry(&t2.f, 1);
	}
	assert_entries(4);
}
END_TEST

/* ---- expiry ------------------------------------------------------------------------ */

START_TEST(test_expiry_udp)
{
	struct conn c = {.f = udp_flows[_i]};
	struct fos_ct_value before, after;

	cx(&c, ORIG, 0, 30, PASS, NEW_RULE | CREATED);
	cx(&c, REPLY, 0, 30, PASS, EST);
	assert_conn(&c, FOS_CTS_ESTABLISHED, SEEN);
	/* within the timeout */
	ct_age(&c.f, 0, (TO_UDP - 2) * NS);
	cx(&c, REPLY, 0, 30, PASS, EST);

	ct_age(&c.f, 0, (TO_UDP + 1) * NS);
	ck_assert(ct_get(&c.f, 0, &before));
	/* an error about the expired flow relates to nothing */
	{
		struct pkt q = fp(&c.f, ORIG, 0, 30);
		struct pkt e = icmp_err(c.f.family, c.f.b, c.f.a, c.f.family == AF_INET ? 3 : 1,
					c.f.family == AF_INET ? 3 : 4, &q, 0);

		expect(&fw, &e, DROP, INV);
	}
	/* the answer finds no live entry: a new packet the rules drop */
	cx(&c, REPLY, 0, 30, DROP, NEW_DEF);
	ck_assert(ct_get(&c.f, 0, &after));
	ck_assert_uint_eq(after.last_ns, before.last_ns);
	/* the originator's next packet reuses the entry for a new flow */
	conn_reset(&c);
	cx(&c, ORIG, 0, 30, PASS, NEW_RULE | REOPENED);
	assert_conn(&c, FOS_CTS_NEW, 0);
	ck_assert(ct_get(&c.f, 0, &after));
	ck_assert_uint_gt(after.first_ns, before.first_ns);
	cx(&c, REPLY, 0, 30, PASS, EST);
	assert_conn(&c, FOS_CTS_ESTABLISHED, SEEN);
	assert_entries(1);
}
END_TEST

START_TEST(test_expiry_icmp_cfg)
{
	static const struct ruleset rs = {
	    .def = "drop",
	    .rules = "{ match = { protocol = \"icmp\"; dstCIDR = \"10.4.0.2/32\"; }; action = "
		     "\"pass\"; }",
	};
	struct conn c = {.f = {AF_INET, P_ICMP, "10.4.0.1", "10.4.0.2", 0x99, 0}};

	use(&rs);
	cx(&c, ORIG, 0, 8, PASS, NEW_RULE | CREATED);
	/* fwd lowers the timeout: the entry counts as absent at once */
	ct_timeout(FOS_CTT_ICMP, 0);
	cx(&c, REPLY, 0, 8, DROP, INV);
	/* and back: the entry is live again (the datapath does not remove it) */
	ct_timeout(FOS_CTT_ICMP, TO_ICMP * NS);
	cx(&c, REPLY, 0, 8, PASS, EST);
	assert_conn(&c, FOS_CTS_ESTABLISHED, SEEN);
	/* a UDP timeout does not apply to ICMP */
	ct_timeout(FOS_CTT_UDP, 0);
	cx(&c, REPLY, 0, 8, PASS, EST);
}
END_TEST

START_TEST(test_expiry_tcp)
{
	struct conn c = {.f = tcp_flows[0]};
	struct conn fin = {.f = tcp_flows[2]};
	struct pkt p;

	establish(&c);
	/* an established connection has the long timeout, not the SYN one */
	ct_age(&c.f, 0, (TO_SYN + 1) * NS);
	cx(&c, REPLY, T_PSH | T_ACK, 10, PASS, EST);
	ct_age(&c.f, 0, (TO_EST + 1) * NS);
	p = fp(&c.f, REPLY, T_ACK, 0);
	expect(&fw, &p, DROP, INV);
	p = fp(&c.f, ORIG, T_ACK, 0);
	expect(&fw, &p, DROP, INV);

	/* a SYN reopens the expired entry */
	conn_reset(&c);
	cx(&c, ORIG, T_SYN, 0, PASS, NEW_RULE | REOPENED);
	assert_conn(&c, FOS_CTS_SYN_SENT, 0);
	/* the SYN timeout: the late SYN-ACK is out of state */
	ct_age(&c.f, 0, (TO_SYN + 1) * NS);
	p = fp(&c.f, REPLY, T_SYN | T_ACK, 0);
	expect(&fw, &p, DROP, INV);

	/* a closing connection has the FIN timeout */
	establish(&fin);
	cx(&fin, ORIG, T_FIN | T_ACK, 0, PASS, EST);
	cx(&fin, REPLY, T_ACK, 0, PASS, EST);
	assert_conn(&fin, FOS_CTS_CLOSE_WAIT, SEEN | FIN_O);
	ct_age(&fin.f, 0, (TO_FIN + 1) * NS);
	p = fp(&fin.f, REPLY, T_PSH | T_ACK, 10);
	expect(&fw, &p, DROP, INV);
	assert_entries(2);
}
END_TEST

/* ---- the table gate ----------------------------------------------------------------- */

START_TEST(test_table_gate)
{
	static const struct ruleset rs = {
	    .def = "drop",
	    .rules = "{ match = { protocol = \"udp\"; }; action = \"pass\"; }",
	};
	struct conn c[3] = {
	    {.f = {AF_INET, P_UDP, "10.9.0.1", "10.9.0.2", 1000, 53}},
	    {.f = {AF_INET, P_UDP, "10.9.0.1", "10.9.0.2", 1001, 53}},
	    {.f = {AF_INET6, P_UDP, "2001:db8:9::1", "2001:db8:9::2", 1002, 53}},
	};
	struct flow extra = {AF_INET, P_UDP, "10.9.0.1", "10.9.0.3", 1003, 53};
	struct conn t = {.f = {AF_INET, P_TCP, "10.9.0.1", "10.9.0.2", 1004, 81}};
	struct conn tr = {.f = {AF_INET, P_TCP, "10.9.0.1", "10.9.0.2", 1005, 80}};
	struct pkt p;
	int i;

	use(&rs);
	ct_max(3);
	for (i = 0; i < 3; i++)
		cx(&c[i], ORIG, 0, 20, PASS, NEW_RULE | CREATED);
	cx(&c[0], REPLY, 0, 20, PASS, EST);
	assert_entries(3);

	/* full: a new flow the rules pass is dropped, and not tracked */
	p = fp(&extra, ORIG, 0, 20);
	expect(&fw, &p, DROP, FULL);
	assert_no_entry(&extra, 0);
	/* one the rules drop is just dropped */
	cx(&t, ORIG, T_SYN, 0, DROP, NEW_DEF);
	/* the flows in the table go on */
	cx(&c[0], REPLY, 0, 20, PASS, EST);
	cx(&c[0], ORIG, 0, 20, PASS, EST);
	cx(&c[1], REPLY, 0, 20, PASS, EST);
	assert_conn(&c[1], FOS_CTS_ESTABLISHED, SEEN);
	/* new packets of flows already in the table need no insert: the
	 * unanswered flow's next packet, a retransmitted SYN */
	cx(&c[2], ORIG, 0, 20, PASS, NEW_RULE);
	assert_conn(&c[2], FOS_CTS_NEW, 0);
	/* the tracker cannot insert either, and still lets it go */
	p = fp(&tr.f, ORIG, T_SYN, 0);
	track(&p, C(FOS_CT_STAT_INSERT_FAIL));
	assert_no_entry(&tr.f, 0);
	assert_entries(3);

	/* fwd's collector removed one: room for one more */
	ct_count_set_removed(1);
	p = fp(&extra, ORIG, 0, 20);
	expect(&fw, &p, PASS, NEW_RULE | CREATED);
	assert_state(&extra, 0, FOS_CTS_NEW);
	p = fp(&tr.f, ORIG, T_SYN, 0);
	expect(&fw, &p, DROP, NEW_DEF);
	{
		struct flow more = extra;

		more.pa = 1010;
		p = fp(&more, ORIG, 0, 20);
		expect(&fw, &p, DROP, FULL);
		/* a larger limit lets it in */
		ct_max(5);
		expect(&fw, &p, PASS, NEW_RULE | CREATED);
	}
	assert_entries(5);
}
END_TEST

/* ---- the tracker -------------------------------------------------------------------- */

/* fos_ct_src[addr] (an address or /64 as the datapath stores it), 0 if absent */
static uint64_t ct_src_get(const char *addr)
{
	struct fos_ddos_addr k = {0};
	uint64_t n = 0;

	if (strchr(addr, ':')) {
		ck_assert_int_eq(inet_pton(AF_INET6, addr, k.addr), 1);
	} else {
		k.addr[10] = k.addr[11] = 0xff;
		ck_assert_int_eq(inet_pton(AF_INET, addr, k.addr + 12), 1);
	}
	if (bpf_map__lookup_elem(tc->maps.fos_ct_src, &k, sizeof(k), &n, sizeof(n), 0) < 0)
		return 0;
	return n;
}

/* the flows each source opened, counted as the entries are inserted */
START_TEST(test_ct_src_count)
{
	struct conn a = {.f = tcp_flows[0]};  /* 10.1.0.1, end 0 */
	struct conn a2 = {.f = tcp_flows[0]}; /* the same source, another port */
	struct conn b = {.f = tcp_flows[1]};  /* 10.1.0.9, end 1 */
	struct conn u = {.f = udp_flows[0]};
	struct conn v6a = {.f = tcp_flows[2]}; /* 2001:db8:1::1 */
	struct conn v6b = {.f = tcp_flows[3]}; /* 2001:db8:1::9, the same /64 */
	struct flow f23 = {AF_INET, P_TCP, "10.1.0.1", "10.1.0.2", 40005, 23};
	struct conn dropped = {.f = f23};

	a2.f.pa = 40001;
	cx(&a, ORIG, T_SYN, 0, PASS, NEW_RULE | CREATED);
	ck_assert_uint_eq(ct_src_get("10.1.0.1"), 1);
	ck_assert_uint_eq(ct_src_get("10.1.0.2"), 0);
	/* a retransmission and the answer open nothing */
	cx(&a, ORIG, T_SYN, 0, PASS, NEW_RULE);
	cx(&a, REPLY, T_SYN | T_ACK, 0, PASS, EST);
	ck_assert_uint_eq(ct_src_get("10.1.0.1"), 1);
	ck_assert_uint_eq(ct_src_get("10.1.0.2"), 0);
	cx(&a2, ORIG, T_SYN, 0, PASS, NEW_RULE | CREATED);
	ck_assert_uint_eq(ct_src_get("10.1.0.1"), 2);
	/* the originator is counted whichever end of the key it is */
	cx(&b, ORIG, T_SYN, 0, PASS, NEW_RULE | CREATED);
	ck_assert_uint_eq(ct_src_get("10.1.0.9"), 1);
	ck_assert_uint_eq(ct_src_get("10.1.0.1"), 2);
	cx(&u, ORIG, 0, 30, PASS, NEW_RULE | CREATED);
	ck_assert_uint_eq(ct_src_get("10.2.0.1"), 1);
	/* a flow the rules drop is not inserted, nor counted */
	cx(&dropped, ORIG, T_SYN, 0, DROP, NEW_DEF);
	ck_assert_uint_eq(ct_src_get("10.1.0.1"), 2);
	/* IPv6 sources by their /64: two addresses, one count */
	cx(&v6a, ORIG, T_SYN, 0, PASS, NEW_RULE | CREATED);
	cx(&v6b, ORIG, T_SYN, 0, PASS, NEW_RULE | CREATED);
	ck_assert_uint_eq(ct_src_get("2001:db8:1::"), 2);
	ck_assert_uint_eq(ct_src_get("2001:db8:1::1"), 0);
	ck_assert_uint_eq(ct_src_get("2001:db8:1::9"), 0);
	assert_entries(6);
}
END_TEST

/* the flag of the entry of c's flow that says it holds its opener's count */
static bool ct_counted(const struct conn *c)
{
	struct fos_ct_value v;

	ck_assert(ct_get(&c->f, c->zone, &v));
	return v.flags & FOS_CT_F_COUNTED;
}

/* A flow counts for its opener while it is open: TCP until its entry enters
 * TIME_WAIT or CLOSE, UDP until it is removed; a reused entry moves the count
 * to its new opener, whichever end that is. */
START_TEST(test_ct_src_close)
{
	struct flow f80 = {AF_INET, P_TCP, "10.1.0.5", "10.1.0.6", 80, 80};
	struct flow r80 = {AF_INET, P_TCP, "10.1.0.6", "10.1.0.5", 80, 80};
	struct flow f53 = {AF_INET, P_UDP, "10.2.0.5", "10.2.0.6", 53, 53};
	struct flow r53 = {AF_INET, P_UDP, "10.2.0.6", "10.2.0.5", 53, 53};
	struct conn a = {.f = tcp_flows[0]}; /* 10.1.0.1 */
	struct conn b = {.f = f80}, rb = {.f = r80};
	struct conn u = {.f = f53}, ru = {.f = r53};
	struct conn v6a = {.f = tcp_flows[2]}, v6b = {.f = tcp_flows[3]};

	/* open, FIN from each end: the count goes at TIME_WAIT, once */
	establish(&a);
	ck_assert_uint_eq(ct_src_get("10.1.0.1"), 1);
	ck_assert(ct_counted(&a));
	cx(&a, ORIG, T_FIN | T_ACK, 0, PASS, EST);
	cx(&a, REPLY, T_ACK, 0, PASS, EST);
	assert_conn(&a, FOS_CTS_CLOSE_WAIT, SEEN | FIN_O);
	ck_assert_uint_eq(ct_src_get("10.1.0.1"), 1);
	cx(&a, REPLY, T_FIN | T_ACK, 0, PASS, EST);
	assert_conn(&a, FOS_CTS_TIME_WAIT, SEEN | FIN_O | FIN_R);
	ck_assert(!ct_counted(&a));
	ck_assert_uint_eq(ct_src_get("10.1.0.1"), 0);
	/* more packets of the closed flow, and an RST on it, take nothing more */
	cx(&a, ORIG, T_ACK, 0, PASS, EST);
	cx(&a, ORIG, T_RST, 0, PASS, EST);
	assert_conn(&a, FOS_CTS_CLOSE, SEEN | FIN_O | FIN_R);
	ck_assert_uint_eq(ct_src_get("10.1.0.1"), 0);

	/* the same end reopens the closed entry: counted again; an RST closes it */
	conn_reset(&a);
	cx(&a, ORIG, T_SYN, 0, PASS, NEW_RULE | REOPENED);
	assert_conn(&a, FOS_CTS_SYN_SENT, 0);
	ck_assert(ct_counted(&a));
	ck_assert_uint_eq(ct_src_get("10.1.0.1"), 1);
	cx(&a, REPLY, T_RST | T_ACK, 0, PASS, EST);
	assert_conn(&a, FOS_CTS_CLOSE, SEEN);
	ck_assert_uint_eq(ct_src_get("10.1.0.1"), 0);
	/* an RST from the opener before any answer closes it too */
	conn_reset(&a);
	cx(&a, ORIG, T_SYN, 0, PASS, NEW_RULE | REOPENED);
	ck_assert_uint_eq(ct_src_get("10.1.0.1"), 1);
	cx(&a, ORIG, T_RST, 0, PASS, NEW_RULE);
	assert_conn(&a, FOS_CTS_CLOSE, 0);
	ck_assert_uint_eq(ct_src_get("10.1.0.1"), 0);

	/* an expired entry still counts until it is removed or reused; reused
	 * by the other end, the count moves to that end */
	cx(&b, ORIG, T_SYN, 0, PASS, NEW_RULE | CREATED);
	ck_assert_uint_eq(ct_src_get("10.1.0.5"), 1);
	ct_age(&b.f, 0, (TO_SYN + 1) * NS);
	ck_assert_uint_eq(ct_src_get("10.1.0.5"), 1);
	cx(&rb, ORIG, T_SYN, 0, PASS, NEW_RULE | REOPENED);
	assert_conn(&rb, FOS_CTS_SYN_SENT, 0);
	ck_assert(ct_counted(&rb));
	ck_assert_uint_eq(ct_src_get("10.1.0.5"), 0);
	ck_assert_uint_eq(ct_src_get("10.1.0.6"), 1);
	/* and its close takes it from that end, not from the first */
	cx(&rb, REPLY, T_RST | T_ACK, 0, PASS, EST);
	assert_conn(&rb, FOS_CTS_CLOSE, SEEN);
	ck_assert_uint_eq(ct_src_get("10.1.0.6"), 0);
	ck_assert_uint_eq(ct_src_get("10.1.0.5"), 0);
	/* a closed entry reused by the other end: it held no count to move */
	conn_reset(&b);
	cx(&b, ORIG, T_SYN, 0, PASS, NEW_RULE | REOPENED);
	assert_conn(&b, FOS_CTS_SYN_SENT, 0);
	ck_assert_uint_eq(ct_src_get("10.1.0.5"), 1);
	ck_assert_uint_eq(ct_src_get("10.1.0.6"), 0);

	/* UDP: counted while it lives, whatever the answers */
	cx(&u, ORIG, 0, 30, PASS, NEW_RULE | CREATED);
	cx(&u, REPLY, 0, 30, PASS, EST);
	cx(&u, ORIG, 0, 30, PASS, EST);
	assert_conn(&u, FOS_CTS_ESTABLISHED, SEEN);
	ck_assert(ct_counted(&u));
	ck_assert_uint_eq(ct_src_get("10.2.0.5"), 1);
	ck_assert_uint_eq(ct_src_get("10.2.0.6"), 0);
	/* expired and reused by the other end: the count moves */
	ct_age(&u.f, 0, (TO_UDP + 1) * NS);
	cx(&ru, ORIG, 0, 30, PASS, NEW_RULE | REOPENED);
	assert_conn(&ru, FOS_CTS_NEW, 0);
	ck_assert_uint_eq(ct_src_get("10.2.0.5"), 0);
	ck_assert_uint_eq(ct_src_get("10.2.0.6"), 1);
	/* expired and reused by the same end: still one */
	ct_age(&u.f, 0, (TO_UDP + 1) * NS);
	conn_reset(&ru);
	cx(&ru, ORIG, 0, 30, PASS, NEW_RULE | REOPENED);
	ck_assert_uint_eq(ct_src_get("10.2.0.6"), 1);

	/* IPv6 by /64: two flows of one prefix, one closed */
	establish(&v6a);
	establish(&v6b);
	ck_assert_uint_eq(ct_src_get("2001:db8:1::"), 2);
	cx(&v6a, REPLY, T_RST | T_ACK, 0, PASS, EST);
	assert_conn(&v6a, FOS_CTS_CLOSE, SEEN);
	ck_assert_uint_eq(ct_src_get("2001:db8:1::"), 1);
	ck_assert(ct_counted(&v6b));
	cx(&v6b, ORIG, T_FIN | T_ACK, 0, PASS, EST);
	cx(&v6b, REPLY, T_FIN | T_ACK, 0, PASS, EST);
	assert_conn(&v6b, FOS_CTS_TIME_WAIT, SEEN | FIN_O | FIN_R);
	ck_assert_uint_eq(ct_src_get("2001:db8:1::"), 0);
	assert_entries(5);
}
END_TEST

START_TEST(test_tracker)
{
	static const struct ruleset none = {.def = "drop"};
	struct conn c = {.f = tcp_flows[3]};
	struct conn u = {.f = udp_flows[0]};
	struct flow lone = {AF_INET, P_TCP, "10.1.5.1", "10.1.5.2", 1, 2};
	struct pkt p;

	/* the policy drops every new flow: the tracker does not ask it */
	use(&none);
	tx(&c, ORIG, T_SYN, 0, CREATED);
	assert_conn(&c, FOS_CTS_SYN_SENT, 0);
	cx(&c, REPLY, T_SYN | T_ACK, 0, PASS, EST);
	assert_conn(&c, FOS_CTS_SYN_RECV, SEEN);
	tx(&c, ORIG, T_ACK, 0, 0);
	assert_conn(&c, FOS_CTS_ESTABLISHED, SEEN);
	cx(&c, REPLY, T_PSH | T_ACK, 100, PASS, EST);
	tx(&c, ORIG, T_PSH | T_ACK, 10, 0);
	tx(&c, ORIG, T_FIN | T_ACK, 0, 0);
	assert_conn(&c, FOS_CTS_FIN_WAIT, SEEN | FIN_O);

	/* out of state: passed, not tracked */
	p = fp(&lone, ORIG, T_ACK, 0);
	track(&p, 0);
	p = fp(&lone, REPLY, T_SYN | T_ACK, 0);
	track(&p, 0);
	assert_no_entry(&lone, 0);
	{
		struct pkt inner = fp(&lone, ORIG, T_ACK, 0);

		p = icmp_err(AF_INET, "10.1.5.254", "10.1.5.1", 3, 1, &inner, 28);
		track(&p, 0);
	}

	tx(&u, ORIG, 0, 20, CREATED);
	cx(&u, REPLY, 0, 20, PASS, EST);
	assert_conn(&u, FOS_CTS_ESTABLISHED, SEEN);
	assert_entries(2);
	/* the firewall itself still drops new flows */
	p = fp(&lone, ORIG, T_SYN, 0);
	expect(&fw, &p, DROP, NEW_DEF);
}
END_TEST

/* ---- the XDP filter reading the table -------------------------------------------- */

START_TEST(test_xdp_stateful)
{
	static const struct ruleset ssh = {
	    .def = "drop",
	    .rules = "{ match = { protocol = \"tcp\"; dstPort = 22; }; action = \"pass\"; }",
	};
	struct conn c = {.f = tcp_flows[0]};
	struct flow new22 = {AF_INET, P_TCP, "10.1.0.7", "10.1.0.2", 40007, 22};
	struct flow new23 = {AF_INET, P_TCP, "10.1.0.7", "10.1.0.2", 40007, 23};
	struct fos_ct_value before, after;
	struct pkt p;

	load_xdp();
	use_xdp(&ssh);
	/* the flow leaves through the firewall, its answers come in through XDP */
	cx(&c, ORIG, T_SYN, 0, PASS, NEW_RULE | CREATED);
	ck_assert(ct_get(&c.f, 0, &before));
	p = fp(&c.f, REPLY, T_SYN | T_ACK, 0);
	expect(&xf, &p, PASS, EST);
	/* the filter only reads */
	ck_assert(ct_get(&c.f, 0, &after));
	ck_assert_mem_eq(&after, &before, sizeof(after));
	/* the tracker behind it does the update */
	_cxp(&trk, &c, REPLY, &p, PASS, 0, __LINE__);
	assert_conn(&c, FOS_CTS_SYN_RECV, SEEN);
	cx(&c, ORIG, T_ACK, 0, PASS, EST);
	p = fp(&c.f, REPLY, T_PSH | T_ACK, 200);
	expect(&xf, &p, PASS, EST);
	assert_conn(&c, FOS_CTS_ESTABLISHED, SEEN);

	/* an error about it is related */
	{
		struct pkt o = fp(&c.f, ORIG, T_PSH | T_ACK, 20);

		p = icmp_err(AF_INET, "10.1.0.254", c.f.a, 3, 4, &o, 28);
		expect(&xf, &p, PASS, REL);
	}

	/* new flows meet the filter's rules, and are not tracked by it */
	p = fp(&new22, ORIG, T_SYN, 0);
	expect(&xf, &p, PASS, NEW_RULE);
	assert_xdp_rule(0, 1, p.len);
	assert_no_entry(&new22, 0);
	p = fp(&new23, ORIG, T_SYN, 0);
	expect(&xf, &p, DROP, NEW_DEF);

	/* out of state, as fos_ct_cfg says */
	p = fp(&new22, ORIG, T_ACK, 0);
	expect(&xf, &p, DROP, INV);
	ct_invalid(FOS_CT_INVALID_PASS);
	expect(&xf, &p, PASS, INV);
	ct_invalid(FOS_CT_INVALID_RULES);
	expect(&xf, &p, PASS, INV);
	assert_xdp_rule(0, 2, 2 * p.len);
	ct_invalid(FOS_CT_INVALID_DROP);

	/* an expired entry is absent for it too */
	ct_age(&c.f, 0, (TO_EST + 1) * NS);
	p = fp(&c.f, REPLY, T_PSH | T_ACK, 200);
	expect(&xf, &p, DROP, INV);
	assert_entries(1);
}
END_TEST

/* the XDP filter's own reads: echo identifiers, VLAN tags, quoted packets */
START_TEST(test_xdp_read_paths)
{
	static const struct ruleset all = {.def = "pass"};
	static const struct ruleset none = {.def = "drop"};
	struct conn e4 = {.f = {AF_INET, P_ICMP, "10.11.0.1", "10.11.0.2", 0x321, 0}};
	struct conn e6 = {.f = {AF_INET6, P_ICMPV6, "2001:db8:11::1", "2001:db8:11::2", 0x321, 0}};
	struct conn u = {.f = udp_flows[1]};
	struct flow stray = e4.f;
	struct frame ns = {
	    .family = AF_INET6,
	    .proto = P_ICMPV6,
	    .src = "fe80::1",
	    .dst = "ff02::1:ff00:2",
	    .type = 135,
	    .ttl = 255,
	    .payload = 20,
	};
	struct pkt p, q6;

	stray.pa = 0x322;
	load_xdp();
	use(&all);
	use_xdp(&none);
	cx(&e4, ORIG, 0, 16, PASS, NEW_DEF | CREATED);
	q6 = cx(&e6, ORIG, 0, 16, PASS, NEW_DEF | CREATED);
	cx(&u, ORIG, 0, 16, PASS, NEW_DEF | CREATED);

	/* the answers come in through XDP, whose rules drop everything new */
	p = fp(&e4.f, REPLY, 0, 16);
	expect(&xf, &p, PASS, EST);
	p = fp(&e6.f, REPLY, 0, 16);
	expect(&xf, &p, PASS, EST);
	p = fp_vlan(&u.f, REPLY, 0, 16, 1, 300, 0);
	expect(&xf, &p, PASS, EST);
	p = fp_vlan(&u.f, REPLY, 0, 16, 2, 30, 300);
	expect(&xf, &p, PASS, EST);
	/* a reply nobody asked for */
	p = fp(&stray, REPLY, 0, 16);
	expect(&xf, &p, DROP, INV);
	/* an error quoting the request, and one cut short */
	p = icmp_err(AF_INET6, "2001:db8:11::fe", e6.f.a, 3, 0, &q6, 0);
	expect(&xf, &p, PASS, REL);
	p = icmp_err(AF_INET6, "2001:db8:11::fe", e6.f.a, 3, 0, &q6, 40);
	expect(&xf, &p, DROP, INV | NO_INNER);
	/* neighbour discovery */
	build(&ns, &p);
	expect(&xf, &p, PASS, R(FOS_STAT_CT_UNTRACKED));
	/* a fragmented answer: its first fragment is established, the rest
	 * follows it */
	p = fp_frag(&u.f, REPLY, 0, 0, true, 0x7000);
	expect(&xf, &p, PASS, EST | FRAG);
	p = fp_frag(&u.f, REPLY, 0, 4, false, 0x7000);
	expect_free(&xf, &p, PASS, FRAG, CLASSES);

	/* the table is as the firewall left it */
	assert_conn(&e4, FOS_CTS_NEW, 0);
	assert_conn(&e6, FOS_CTS_NEW, 0);
	assert_conn(&u, FOS_CTS_NEW, 0);
	assert_entries(3);
}
END_TEST

/* fos_tc_fw loaded without fos_stateful: a plain filter, no table */
START_TEST(test_stateless)
{
	struct flow f = tcp_flows[0];
	struct pkt syn = fp(&f, ORIG, T_SYN, 0), ack = fp(&f, ORIG, T_ACK, 0);
	struct pkt p;

	load_tc(false);
	expect(&fw, &syn, PASS, 0);
	/* the answer meets the rules, which drop it */
	p = fp(&f, REPLY, T_SYN | T_ACK, 0);
	expect(&fw, &p, DROP, R(FOS_STAT_DEFAULT));
	/* an ACK nobody opened is just a packet to port 80 */
	expect(&fw, &ack, PASS, 0);
	assert_rule(0, 2, syn.len + ack.len);
	assert_default(1, p.len);
	assert_entries(0);
}
END_TEST

/* IPv4 options before the L4 header, in a flow and in a quoted packet */
START_TEST(test_ipv4_options)
{
	struct conn c = {.f = {AF_INET, P_TCP, "10.12.0.1", "10.12.0.2", 40000, 80}};
	struct pkt p, q;

	p = fp_opt(&c.f, ORIG, T_SYN, 0, 8);
	ck_assert_uint_eq(p.l4 - p.l3, 28);
	cxp(&c, ORIG, &p, PASS, NEW_RULE | CREATED);
	assert_rule(0, 1, p.len);
	p = fp_opt(&c.f, REPLY, T_SYN | T_ACK, 0, 40);
	cxp(&c, REPLY, &p, PASS, EST);
	cx(&c, ORIG, T_ACK, 0, PASS, EST);
	assert_conn(&c, FOS_CTS_ESTABLISHED, SEEN);
	/* the error quotes the header with its options and 8 bytes after them */
	q = fp_opt(&c.f, ORIG, T_PSH | T_ACK, 30, 12);
	p = icmp_err(AF_INET, "10.12.0.254", c.f.a, 11, 0, &q, 32 + 8);
	expect(&fw, &p, PASS, REL);
	/* ... cut inside the L4 header */
	p = icmp_err(AF_INET, "10.12.0.254", c.f.a, 11, 0, &q, 32 + 2);
	expect(&fw, &p, DROP, INV | NO_INNER);
	assert_entries(1);
}
END_TEST

/* TCP flag combinations no state accepts */
START_TEST(test_tcp_bad_flags)
{
	struct conn c = {.f = tcp_flows[0]};
	struct flow lone = {AF_INET, P_TCP, "10.1.0.1", "10.1.0.2", 40001, 80};
	static const uint8_t bad[] = {T_SYN | T_FIN, T_SYN | T_RST, T_SYN | T_FIN | T_ACK};
	struct pkt p;
	size_t i;

	establish(&c);
	for (i = 0; i < sizeof(bad); i++) {
		p = fp(&c.f, ORIG, bad[i], 0);
		expect(&fw, &p, DROP, INV);
		p = fp(&lone, ORIG, bad[i], 0);
		expect(&fw, &p, DROP, INV);
	}
	/* a segment without any of SYN, ACK, FIN, RST, with no entry */
	p = fp(&lone, ORIG, T_PSH, 10);
	expect(&fw, &p, DROP, INV);
	p = fp(&lone, ORIG, 0, 0);
	expect(&fw, &p, DROP, INV);
	assert_conn(&c, FOS_CTS_ESTABLISHED, SEEN);
	assert_entries(1);
}
END_TEST

/* The key has no family: an IPv6 packet whose addresses are IPv4-mapped must
 * not pass as, or change, the IPv4 flow with the same addresses. Such
 * addresses never appear on the wire (RFC 4291 2.5.5.2): malformed. */
START_TEST(test_v4_mapped_v6)
{
	struct conn c = {.f = tcp_flows[0]};
	struct flow m = {AF_INET6, P_TCP, "::ffff:10.1.0.1", "::ffff:10.1.0.2", 40000, 80};
	struct conn u = {.f = udp_flows[0]};
	struct flow mu = {AF_INET6, P_UDP, "::ffff:10.2.0.1", "::ffff:10.2.0.2", 5353, 53};
	struct pkt p;

	establish(&c);
	cx(&u, ORIG, 0, 10, PASS, NEW_RULE | CREATED);
	cx(&u, REPLY, 0, 10, PASS, EST);
	/* answers of the IPv4 flows, sent over IPv6 */
	p = fp(&m, REPLY, T_PSH | T_ACK, 10);
	expect(&fw, &p, DROP, R(FOS_STAT_MALFORMED));
	p = fp(&mu, REPLY, 0, 10);
	expect(&fw, &p, DROP, R(FOS_STAT_MALFORMED));
	/* a RST that would close the IPv4 connection */
	p = fp(&m, REPLY, T_RST | T_ACK, 0);
	expect(&fw, &p, DROP, R(FOS_STAT_MALFORMED));
	assert_conn(&c, FOS_CTS_ESTABLISHED, SEEN);
	assert_conn(&u, FOS_CTS_ESTABLISHED, SEEN);
	assert_entries(2);
}
END_TEST

/* ---- VLAN, fragments, other frames -------------------------------------------------- */

START_TEST(test_vlan)
{
	struct conn c = {.f = tcp_flows[1]};
	struct conn c6 = {.f = udp_flows[1]};
	struct flow lone = {AF_INET, P_TCP, "10.1.0.9", "10.1.0.2", 40001, 80};
	struct pkt p;

	p = fp_vlan(&c.f, ORIG, T_SYN, 0, 1, 100, 0);
	cxp(&c, ORIG, &p, PASS, NEW_RULE | CREATED);
	assert_conn(&c, FOS_CTS_SYN_SENT, 0);
	/* untagged and double-tagged frames of the same flow: one entry */
	cx(&c, REPLY, T_SYN | T_ACK, 0, PASS, EST);
	p = fp_vlan(&c.f, ORIG, T_ACK, 0, 2, 10, 100);
	cxp(&c, ORIG, &p, PASS, EST);
	assert_conn(&c, FOS_CTS_ESTABLISHED, SEEN);
	p = fp_vlan(&c.f, REPLY, T_PSH | T_ACK, 64, 1, 100, 0);
	cxp(&c, REPLY, &p, PASS, EST);
	assert_conn(&c, FOS_CTS_ESTABLISHED, SEEN);

	p = fp_vlan(&c6.f, ORIG, 0, 10, 1, 200, 0);
	cxp(&c6, ORIG, &p, PASS, NEW_RULE | CREATED);
	p = fp_vlan(&c6.f, REPLY, 0, 10, 2, 20, 200);
	cxp(&c6, REPLY, &p, PASS, EST);
	assert_conn(&c6, FOS_CTS_ESTABLISHED, SEEN);

	p = fp_vlan(&lone, ORIG, T_ACK, 0, 1, 100, 0);
	expect(&fw, &p, DROP, INV);
	assert_entries(2);
}
END_TEST

START_TEST(test_fragments)
{
	struct conn c = {.f = udp_flows[0]};
	struct conn c6 = {.f = udp_flows[1]};
	struct flow closed = {AF_INET, P_UDP, "10.2.0.1", "10.2.0.2", 5353, 54};
	struct flow ack = {AF_INET, P_TCP, "10.2.0.1", "10.2.0.2", 40000, 80};
	struct pkt p;

	/* a new flow's first fragment meets the rules; the rest follows it */
	p = fp_frag(&c.f, ORIG, 0, 0, true, 0x100);
	expect(&fw, &p, PASS, NEW_RULE | CREATED | FRAG);
	assert_state(&c.f, 0, FOS_CTS_NEW);
	p = fp_frag(&c.f, ORIG, 0, 4, false, 0x100);
	expect_free(&fw, &p, PASS, FRAG, CLASSES);

	/* the answer, fragmented: the rules would drop it (port 5353), the
	 * table passes its first fragment, and the rest with it */
	p = fp_frag(&c.f, REPLY, 0, 0, true, 0x200);
	expect(&fw, &p, PASS, EST | FRAG);
	p = fp_frag(&c.f, REPLY, 0, 4, true, 0x200);
	expect_free(&fw, &p, PASS, FRAG, CLASSES);
	p = fp_frag(&c.f, REPLY, 0, 8, false, 0x200);
	expect_free(&fw, &p, PASS, FRAG, CLASSES);
	assert_state(&c.f, 0, FOS_CTS_ESTABLISHED);

	/* a new flow the rules drop: all of it */
	p = fp_frag(&closed, ORIG, 0, 0, true, 0x300);
	expect(&fw, &p, DROP, NEW_DEF | FRAG);
	p = fp_frag(&closed, ORIG, 0, 4, false, 0x300);
	expect_free(&fw, &p, DROP, FRAG, CLASSES);
	assert_no_entry(&closed, 0);

	/* an out-of-state first fragment: all of it */
	p = fp_frag(&ack, ORIG, T_ACK, 0, true, 0x400);
	expect(&fw, &p, DROP, INV | FRAG);
	p = fp_frag(&ack, ORIG, T_ACK, 4, false, 0x400);
	expect_free(&fw, &p, DROP, FRAG, CLASSES);

	/* IPv6 */
	cx(&c6, ORIG, 0, 10, PASS, NEW_RULE | CREATED);
	p = fp_frag(&c6.f, REPLY, 0, 0, true, 0x50000);
	expect(&fw, &p, PASS, EST | FRAG);
	p = fp_frag(&c6.f, REPLY, 0, 4, false, 0x50000);
	expect_free(&fw, &p, PASS, FRAG, CLASSES);
	assert_state(&c6.f, 0, FOS_CTS_ESTABLISHED);

	/* a later fragment overtaking its first has no ports to find the flow
	 * by: new, and judged by the rules without ports (here the default) */
	p = fp_frag(&c.f, REPLY, 0, 4, false, 0x600);
	expect(&fw, &p, DROP, NEW_DEF | FRAG | R(FOS_STAT_FRAG_NO_FIRST));
	assert_entries(2);
}
END_TEST

START_TEST(test_non_ip)
{
	static const struct ruleset none = {.def = "drop"};
	struct frame fr = {0};
	struct pkt p;

	use(&none);
	build(&fr, &p);
	expect(&fw, &p, PASS, R(FOS_STAT_NON_IP));
	assert_entries(0);
}
END_TEST

/* ---- the key and the entry ---------------------------------------------------------- */

static void key_put4(struct fos_ct_key *k, int end, const char *a, uint16_t port)
{
	k->addr[end][10] = 0xff;
	k->addr[end][11] = 0xff;
	pton(AF_INET, a, k->addr[end] + 12);
	k->port[end] = port;
}

START_TEST(test_key_canonical)
{
	static const struct ruleset rs = {.def = "pass"};
	struct flow hi = {AF_INET, P_UDP, "10.7.0.9", "10.7.0.2", 1000, 2000};
	struct flow same = {AF_INET, P_UDP, "10.7.0.5", "10.7.0.5", 3000, 2000};
	struct flow v6 = {AF_INET6, P_TCP, "2001:db8::1:0", "2001:db8::ff", 5, 6};
	struct flow echo = {AF_INET, P_ICMP, "10.7.0.9", "10.7.0.2", 0x0102, 0};
	struct fos_ct_key k;
	struct fos_ct_value v;
	struct pkt p;

	use(&rs);
	p = fp(&hi, ORIG, 0, 4);
	expect(&fw, &p, PASS, NEW_DEF | CREATED);
	p = fp(&same, ORIG, 0, 4);
	expect(&fw, &p, PASS, NEW_DEF | CREATED);
	p = fp(&v6, ORIG, T_SYN, 0);
	expect(&fw, &p, PASS, NEW_DEF | CREATED);
	p = fp(&echo, ORIG, 0, 4);
	expect(&fw, &p, PASS, NEW_DEF | CREATED);
	assert_entries(4);

	/* end 0 is the smaller address */
	memset(&k, 0, sizeof(k));
	key_put4(&k, 0, "10.7.0.2", 2000);
	key_put4(&k, 1, "10.7.0.9", 1000);
	k.proto = P_UDP;
	ck_assert(ct_get_key(&k, &v));
	ck_assert_uint_eq(v.flags, FOS_CT_F_ORIG1 | FOS_CT_F_COUNTED);
	ck_assert_uint_eq(v.state, FOS_CTS_NEW);
	ck_assert_uint_eq(v.packets[ORIG], 1);
	ck_assert_uint_eq(v.packets[REPLY], 0);
	/* ... not the originator */
	memset(&k, 0, sizeof(k));
	key_put4(&k, 0, "10.7.0.9", 1000);
	key_put4(&k, 1, "10.7.0.2", 2000);
	k.proto = P_UDP;
	ck_assert(!ct_get_key(&k, NULL));

	/* one address: the smaller port */
	memset(&k, 0, sizeof(k));
	key_put4(&k, 0, "10.7.0.5", 2000);
	key_put4(&k, 1, "10.7.0.5", 3000);
	k.proto = P_UDP;
	ck_assert(ct_get_key(&k, &v));
	ck_assert_uint_eq(v.flags, FOS_CT_F_ORIG1 | FOS_CT_F_COUNTED);

	/* IPv6, bytes in memcmp order: 2001:db8::ff < 2001:db8::1:0 */
	memset(&k, 0, sizeof(k));
	pton(AF_INET6, "2001:db8::ff", k.addr[0]);
	pton(AF_INET6, "2001:db8::1:0", k.addr[1]);
	k.port[0] = 6;
	k.port[1] = 5;
	k.proto = P_TCP;
	ck_assert(ct_get_key(&k, &v));
	ck_assert_uint_eq(v.flags, FOS_CT_F_ORIG1 | FOS_CT_F_COUNTED);
	ck_assert_uint_eq(v.state, FOS_CTS_SYN_SENT);

	/* echo: the identifier on both ends */
	memset(&k, 0, sizeof(k));
	key_put4(&k, 0, "10.7.0.2", 0x0102);
	key_put4(&k, 1, "10.7.0.9", 0x0102);
	k.proto = P_ICMP;
	ck_assert(ct_get_key(&k, &v));
	ck_assert_uint_eq(v.flags, FOS_CT_F_ORIG1 | FOS_CT_F_COUNTED);
	/* and the zone is part of the key */
	k.zone = 1;
	ck_assert(!ct_get_key(&k, NULL));
}
END_TEST

START_TEST(test_entry_fields)
{
	struct conn c = {.f = tcp_flows[0]};
	struct fos_ct_value v, w;
	static const uint8_t zero[16] = {0};
	uint64_t t0, t1, t2;

	t0 = boot_ns();
	cx(&c, ORIG, T_SYN, 0, PASS, NEW_RULE | CREATED);
	t1 = boot_ns();
	ck_assert(ct_get(&c.f, 0, &v));
	ck_assert_uint_ge(v.first_ns, t0);
	ck_assert_uint_le(v.first_ns, t1);
	ck_assert_uint_eq(v.last_ns, v.first_ns);
	/* test runs happen on the loopback device */
	ck_assert_uint_eq(v.ifindex, 1);
	ck_assert_mem_eq(v.nat_addr, zero, sizeof(v.nat_addr));
	ck_assert_uint_eq(v.nat_port, 0);
	ck_assert_uint_eq(v.nat_flags, 0);

	usleep(2000);
	cx(&c, REPLY, T_SYN | T_ACK, 0, PASS, EST);
	t2 = boot_ns();
	ck_assert(ct_get(&c.f, 0, &w));
	ck_assert_uint_eq(w.first_ns, v.first_ns);
	ck_assert_uint_ge(w.last_ns, t1 + 2000000);
	ck_assert_uint_le(w.last_ns, t2);
	assert_conn(&c, FOS_CTS_SYN_RECV, SEEN);
}
END_TEST

/* Only a NEW packet the rules pass makes an entry: not one they drop, nor
 * one they redirect (it leaves by another interface). */
START_TEST(test_new_verdicts)
{
	static const struct ruleset rs = {
	    .def = "drop",
	    .rules = "{ match = { protocol = \"tcp\"; dstPort = 81; }; action = \"redirect\"; "
		     "interface = \"lo\"; }",
	};
	struct flow t = {AF_INET, P_TCP, "10.1.3.1", "10.1.3.2", 40000, 80};
	struct flow u = {AF_INET6, P_UDP, "2001:db8:13::1", "2001:db8:13::2", 1, 53};
	struct flow r = {AF_INET, P_TCP, "10.1.3.1", "10.1.3.2", 40000, 81};
	struct pkt p, syn = fp(&t, ORIG, T_SYN, 0);

	use(&rs);
	expect(&fw, &syn, DROP, NEW_DEF);
	p = fp(&u, ORIG, 0, 8);
	expect(&fw, &p, DROP, NEW_DEF);
	assert_entries(0);
	assert_default(2, syn.len + p.len);

	p = fp(&r, ORIG, T_SYN, 0);
	expect(&fw, &p, REDIRECT, NEW_RULE);
	assert_rule(0, 1, p.len);
	assert_no_entry(&r, 0);
	/* so an answer that comes back here is out of state */
	p = fp(&r, REPLY, T_SYN | T_ACK, 0);
	expect(&fw, &p, DROP, INV);
	assert_entries(0);
}
END_TEST

static Suite *tc_ct_suite(void)
{
	Suite *s = suite_create("tc_ct");
	TCase *tc_tcp = tcase_create("tcp");
	TCase *tc_other = tcase_create("udp_icmp");
	TCase *tc_pol = tcase_create("policy");
	TCase *tc_tab = tcase_create("table");

	tcase_add_checked_fixture(tc_tcp, setup, teardown);
	tcase_set_timeout(tc_tcp, 60);
	tcase_add_loop_test(tc_tcp, test_tcp_handshake, 0, 4);
	tcase_add_loop_test(tc_tcp, test_tcp_simultaneous_open, 0, 4);
	tcase_add_loop_test(tc_tcp, test_tcp_rst, 0, 2);
	tcase_add_loop_test(tc_tcp, test_tcp_refused, 0, 2);
	tcase_add_loop_test(tc_tcp, test_tcp_fin, 0, 2);
	tcase_add_loop_test(tc_tcp, test_tcp_fin_crossing, 0, 4);
	tcase_add_loop_test(tc_tcp, test_tcp_fin_in_handshake, 0, 2);
	tcase_add_test(tc_tcp, test_ipv6_ext_headers);
	tcase_add_test(tc_tcp, test_vlan);
	tcase_add_test(tc_tcp, test_ipv4_options);
	tcase_add_test(tc_tcp, test_tcp_bad_flags);
	tcase_add_test(tc_tcp, test_v4_mapped_v6);
	suite_add_tcase(s, tc_tcp);

	tcase_add_checked_fixture(tc_other, setup, teardown);
	tcase_set_timeout(tc_other, 60);
	tcase_add_loop_test(tc_other, test_udp_flow, 0, 2);
	tcase_add_test(tc_other, test_other_protocol);
	tcase_add_loop_test(tc_other, test_icmp_echo, 0, 2);
	tcase_add_test(tc_other, test_related_tcp);
	tcase_add_loop_test(tc_other, test_related_udp, 0, 2);
	tcase_add_test(tc_other, test_related_icmp_echo);
	tcase_add_test(tc_other, test_related_truncated);
	tcase_add_test(tc_other, test_nd_untracked);
	tcase_add_test(tc_other, test_fragments);
	tcase_add_test(tc_other, test_non_ip);
	suite_add_tcase(s, tc_other);

	tcase_add_checked_fixture(tc_pol, setup, teardown);
	tcase_set_timeout(tc_pol, 60);
	tcase_add_test(tc_pol, test_invalid_drop);
	tcase_add_test(tc_pol, test_invalid_pass);
	tcase_add_test(tc_pol, test_invalid_rules);
	tcase_add_test(tc_pol, test_state_rules);
	tcase_add_test(tc_pol, test_state_rules_multi);
	tcase_add_test(tc_pol, test_new_verdicts);
	tcase_add_test(tc_pol, test_tracker);
	tcase_add_test(tc_pol, test_xdp_stateful);
	tcase_add_test(tc_pol, test_xdp_read_paths);
	tcase_add_test(tc_pol, test_stateless);
	suite_add_tcase(s, tc_pol);

	tcase_add_checked_fixture(tc_tab, setup, teardown);
	tcase_set_timeout(tc_tab, 60);
	tcase_add_test(tc_tab, test_ct_src_count);
	tcase_add_test(tc_tab, test_ct_src_close);
	tcase_add_test(tc_tab, test_key_canonical);
	tcase_add_test(tc_tab, test_entry_fields);
	tcase_add_test(tc_tab, test_zones);
	tcase_add_loop_test(tc_tab, test_expiry_udp, 0, 2);
	tcase_add_test(tc_tab, test_expiry_icmp_cfg);
	tcase_add_test(tc_tab, test_expiry_tcp);
	tcase_add_test(tc_tab, test_table_gate);
	suite_add_tcase(s, tc_tab);
	return s;
}

/* the stateful build loads, or why not */
static int probe_load(void)
{
	struct fos_tc *probe = open_tc(true);
	int r;

	if (!probe) {
		r = -errno;
		return r ? r : -EINVAL;
	}
	fos_tc__destroy(probe);
	return 0;
}

int main(void)
{
	return pkt_test_main("test-tc-ct", "fos_tc stateful", probe_load, tc_ct_suite, &n_cpus);
}
