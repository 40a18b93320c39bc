/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Packet tests for the DDoS mitigation of fos_xdp_filter (bpf/ddos.bpf.h):
 * the program loaded with fos_ddos and fos_sim_clock, so the tests drive time
 * through fos_sim_now; crafted frames through BPF_PROG_TEST_RUN, asserting
 * the verdict, the output bytes (a SYN-ACK answered with XDP_TX byte for
 * byte, checksums recomputed here), fos_stats, fos_ddos_stats, the sources'
 * drops and the entries the datapath writes (fos_ddos_src, fos_ddos_auth,
 * the blacklist set, fos_ddos_events).
 *
 * The slot has no rules and the default action pass, written directly with
 * the DDoS settings of slot 0, so a packet the DDoS stages let through
 * passes (FOS_STAT_DEFAULT). Check forks per test and every test loads a
 * fresh object, so maps and counters start empty.
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
#include <linux/bpf.h>
#include <linux/if_ether.h>

#include "fos/abi.h"
#include "xdp_filter.skel.h"
#include "pkt_main.h"
#include "pkt_util.h"

#define MAX_PKT 512
#define NS	1000000000ULL
#define MS	1000000ULL
#define T0	(1000 * NS) /* the simulated clock at the start of a test */

#define P_ICMP	 1
#define P_TCP	 6
#define P_UDP	 17
#define P_ICMPV6 58

#define T_FIN 0x01
#define T_SYN 0x02
#define T_RST 0x04
#define T_ACK 0x10

#define BLACK 11 /* set ids */
#define WHITE 10

static struct fos_xdp_filter *skel;
static int prog_fd;
static int n_cpus;

/* ---- frames --------------------------------------------------------------- */

struct pkt {
	uint8_t b[MAX_PKT];
	size_t len;
	size_t l3, l4;
};

struct spec {
	const char *src; /* IPv6 if it has a ':' */
	const char *dst;
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t tcp_flags;
	uint32_t seq;
	int tcp_opt;	/* TCP option bytes (an MSS option, then NOPs), a multiple of 4 */
	int ip_opt;	/* IPv4 option bytes (NOPs) */
	bool v6_ext;	/* IPv6: one destination options header */
	int n_vlan;	/* 802.1Q tags */
	size_t payload; /* bytes after the L4 header */
};

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a}; /* destination of the frames */
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0x0b}; /* their source */

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* the TCP/UDP/ICMPv6 checksum over the pseudo-header of the frame's IP
 * header and len bytes of L4: 0 when the stored checksum is right */
static uint16_t l4_csum(const struct pkt *p, size_t len, uint8_t proto)
{
	const uint8_t *ip = p->b + p->l3;
	uint32_t sum = 0;
	uint8_t tail[4] = {0, 0, len >> 8, len & 0xff};

	if ((ip[0] >> 4) == 4)
		sum = csum_add(sum, ip + 12, 8);
	else
		sum = csum_add(sum, ip + 8, 32);
	tail[1] = proto;
	sum = csum_add(sum, tail, 4);
	sum = csum_add(sum, p->b + p->l4, len);
	return csum_fold(sum);
}

static void build(const struct spec *s, struct pkt *p)
{
	bool v6 = strchr(s->src, ':');
	uint8_t *b = p->b, *ip, *l4;
	size_t o = 12, l4len = 0;

	memset(p, 0, sizeof(*p));
	memcpy(b, mac_a, 6);
	memcpy(b + 6, mac_b, 6);
	for (int i = 0; i < s->n_vlan; i++, o += 4) {
		put16(b + o, i == 0 && s->n_vlan > 1 ? 0x88a8 : 0x8100);
		put16(b + o + 2, 100 + i);
	}
	put16(b + o, v6 ? ETH_P_IPV6 : ETH_P_IP);
	o += 2;
	p->l3 = o;
	ip = b + o;
	if (v6) {
		ip[0] = 0x60;
		ip[6] = s->v6_ext ? 60 : s->proto;
		ip[7] = 64;
		ck_assert_int_eq(inet_pton(AF_INET6, s->src, ip + 8), 1);
		ck_assert_int_eq(inet_pton(AF_INET6, s->dst, ip + 24), 1);
		o += 40;
		if (s->v6_ext) {
			b[o] = s->proto;
			b[o + 2] = 1; /* PadN */
			b[o + 3] = 4;
			o += 8;
		}
	} else {
		ip[0] = 0x40 | (20 + s->ip_opt) / 4;
		put16(ip + 4, 0x4242);
		put16(ip + 6, 0x4000);
		ip[8] = 64;
		ip[9] = s->proto;
		ck_assert_int_eq(inet_pton(AF_INET, s->src, ip + 12), 1);
		ck_assert_int_eq(inet_pton(AF_INET, s->dst, ip + 16), 1);
		memset(ip + 20, 1, s->ip_opt);
		o += 20 + s->ip_opt;
	}
	p->l4 = o;
	l4 = b + o;
	switch (s->proto) {
	case P_TCP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put32(l4 + 4, s->seq);
		put32(l4 + 8, s->tcp_flags & T_ACK ? 0x11111111 : 0);
		l4[12] = (uint8_t)((5 + s->tcp_opt / 4) << 4);
		l4[13] = s->tcp_flags;
		put16(l4 + 14, 64240);
		if (s->tcp_opt) {
			memset(l4 + 20, 1, s->tcp_opt);
			l4[20] = 2; /* MSS 1460 */
			l4[21] = 4;
			put16(l4 + 22, 1460);
		}
		l4len = 20 + s->tcp_opt;
		break;
	case P_UDP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		l4len = 8;
		break;
	default:
		l4[0] = s->proto == P_ICMP ? 8 : 128; /* echo request */
		put16(l4 + 4, 0x1234);
		put16(l4 + 6, 1);
		l4len = 8;
		break;
	}
	for (size_t i = 0; i < s->payload; i++)
		l4[l4len + i] = (uint8_t)(0x5a ^ i);
	o += l4len + s->payload;
	p->len = o;
	if (s->proto == P_UDP)
		put16(l4 + 4, l4len + s->payload);
	if (v6) {
		put16(ip + 4, o - p->l3 - 40);
	} else {
		put16(ip + 2, o - p->l3);
		put16(ip + 10, csum_fold(csum_add(0, ip, 20 + s->ip_opt)));
	}
	if (s->proto == P_TCP)
		put16(l4 + 16, l4_csum(p, o - p->l4, P_TCP));
}

static struct pkt mk(uint8_t proto, const char *src, const char *dst, uint16_t sport,
		     uint16_t dport)
{
	struct spec s = {
	    .src = src, .dst = dst, .proto = proto, .sport = sport, .dport = dport, .payload = 10};
	struct pkt p;

	build(&s, &p);
	return p;
}

static struct pkt tcp(const char *src, const char *dst, uint16_t sport, uint16_t dport,
		      uint8_t flags, uint32_t seq)
{
	struct spec s = {.src = src,
			 .dst = dst,
			 .proto = P_TCP,
			 .sport = sport,
			 .dport = dport,
			 .tcp_flags = flags,
			 .seq = seq};
	struct pkt p;

	build(&s, &p);
	return p;
}

/* ---- maps ------------------------------------------------------------------ */

static void sim_time(uint64_t ns)
{
	skel->bss->fos_sim_now = ns;
}

static uint64_t now(void)
{
	return skel->bss->fos_sim_now;
}

static uint64_t percpu_sum(struct bpf_map *map, uint32_t idx)
{
	uint64_t v[n_cpus], sum = 0;

	ck_assert_int_eq(bpf_map__lookup_elem(map, &idx, sizeof(idx), v, sizeof(v), 0), 0);
	for (int i = 0; i < n_cpus; i++)
		sum += v[i];
	return sum;
}

static uint64_t stat(uint32_t idx)
{
	return percpu_sum(skel->maps.fos_stats, idx);
}

static uint64_t dstat(uint32_t idx)
{
	return percpu_sum(skel->maps.fos_ddos_stats, idx);
}

/* the DDoS counters expected so far, checked all at once */
static uint64_t exp_d[_FOS_DDOS_STAT_MAX];

static void _check_dstats(int line)
{
	for (uint32_t i = 0; i < _FOS_DDOS_STAT_MAX; i++) {
		uint64_t v = dstat(i);

		ck_assert_msg(v == exp_d[i], "line %d: fos_ddos_stats[%u] = %llu, expected %llu",
			      line, i, (unsigned long long)v, (unsigned long long)exp_d[i]);
	}
}
#define check_dstats() _check_dstats(__LINE__)

static void addr16(const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (strchr(s, ':')) {
		ck_assert_int_eq(inet_pton(AF_INET6, s, out), 1);
	} else {
		out[10] = out[11] = 0xff;
		ck_assert_int_eq(inet_pton(AF_INET, s, out + 12), 1);
	}
}

/* the fos_ddos_src entry of key (an address or prefix as the datapath
 * stores it): true and *ret if there is one */
static bool src_get(const char *key, struct fos_ddos_src *ret)
{
	struct fos_ddos_addr k;

	addr16(key, k.addr);
	return bpf_map__lookup_elem(skel->maps.fos_ddos_src, &k, sizeof(k), ret, sizeof(*ret), 0) ==
	       0;
}

static void set_put(uint32_t set_id, const char *addr, uint32_t plen, uint64_t expires_ns)
{
	struct fos_set_value v = {.flags = FOS_SET_F_DYNAMIC, .expires_ns = expires_ns};

	if (strchr(addr, ':')) {
		struct fos_set_key k = {.prefixlen = FOS_SET_KEY_PREFIX + plen,
					.set_id = htonl(set_id)};

		ck_assert_int_eq(inet_pton(AF_INET6, addr, k.addr), 1);
		ck_assert_int_eq(bpf_map__update_elem(skel->maps.fos_sets, &k, sizeof(k), &v,
						      sizeof(v), BPF_ANY),
				 0);
	} else {
		struct fos_set_key4 k = {.prefixlen = FOS_SET_KEY_PREFIX + plen,
					 .set_id = htonl(set_id)};

		ck_assert_int_eq(inet_pton(AF_INET, addr, k.addr), 1);
		ck_assert_int_eq(bpf_map__update_elem(skel->maps.fos_sets4, &k, sizeof(k), &v,
						      sizeof(v), BPF_ANY),
				 0);
	}
}

static void set_del(uint32_t set_id, const char *addr, uint32_t plen)
{
	struct fos_set_key4 k = {.prefixlen = FOS_SET_KEY_PREFIX + plen, .set_id = htonl(set_id)};

	ck_assert_int_eq(inet_pton(AF_INET, addr, k.addr), 1);
	ck_assert_int_eq(bpf_map__delete_elem(skel->maps.fos_sets4, &k, sizeof(k), 0), 0);
}

/* the exact entry set_id addr/plen: true and *ret if it is there */
static bool set_get(uint32_t set_id, const char *addr, uint32_t plen, struct fos_set_value *ret)
{
	struct fos_set_value v;
	int r;

	if (strchr(addr, ':')) {
		struct fos_set_key k = {.prefixlen = FOS_SET_KEY_PREFIX + plen,
					.set_id = htonl(set_id)};

		ck_assert_int_eq(inet_pton(AF_INET6, addr, k.addr), 1);
		/* a trie lookup matches by prefix: the exact entry is found by
		 * walking the keys */
		struct fos_set_key cur, next;
		void *prev = NULL;

		while (bpf_map__get_next_key(skel->maps.fos_sets, prev, &next, sizeof(next)) == 0) {
			if (memcmp(&next, &k, sizeof(k)) == 0) {
				r = bpf_map__lookup_elem(skel->maps.fos_sets, &k, sizeof(k), &v,
							 sizeof(v), 0);
				ck_assert_int_eq(r, 0);
				if (ret)
					*ret = v;
				return true;
			}
			cur = next;
			prev = &cur;
		}
		return false;
	} else {
		struct fos_set_key4 k = {.prefixlen = FOS_SET_KEY_PREFIX + plen,
					 .set_id = htonl(set_id)};
		struct fos_set_key4 cur, next;
		void *prev = NULL;

		ck_assert_int_eq(inet_pton(AF_INET, addr, k.addr), 1);
		while (bpf_map__get_next_key(skel->maps.fos_sets4, prev, &next, sizeof(next)) ==
		       0) {
			if (memcmp(&next, &k, sizeof(k)) == 0) {
				r = bpf_map__lookup_elem(skel->maps.fos_sets4, &k, sizeof(k), &v,
							 sizeof(v), 0);
				ck_assert_int_eq(r, 0);
				if (ret)
					*ret = v;
				return true;
			}
			cur = next;
			prev = &cur;
		}
		return false;
	}
}

static struct fos_slot slot0;
static struct fos_ddos_cfg cfg0;

static void write_slot(void)
{
	uint32_t zero = 0;

	ck_assert_int_eq(bpf_map__update_elem(skel->maps.fos_slots, &zero, sizeof(zero), &slot0,
					      sizeof(slot0), BPF_ANY),
			 0);
	ck_assert_int_eq(bpf_map__update_elem(skel->maps.fos_ddos_cfg, &zero, sizeof(zero), &cfg0,
					      sizeof(cfg0), BPF_ANY),
			 0);
}

/* a GCRA bucket of rate packets per second and burst */
static struct fos_ddos_rate rate(uint64_t per_sec, uint64_t burst)
{
	struct fos_ddos_rate r = {.interval_ns = NS / per_sec};

	r.tolerance_ns = (burst - 1) * r.interval_ns;
	return r;
}

/* ---- running ------------------------------------------------------------- */

/* Run p; *out gets the frame as it leaves (out_len bytes). */
static uint32_t run_out(const struct pkt *p, uint8_t *out, size_t *out_len)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->b, .data_size_in = p->len,
		    .data_out = out, .data_size_out = MAX_PKT + 64, .repeat = 1);

	ck_assert_int_eq(bpf_prog_test_run_opts(prog_fd, &opts), 0);
	*out_len = opts.data_size_out;
	return opts.retval;
}

/* Run p, expect verdict (XDP_PASS or XDP_DROP, frame unmodified), and the
 * DDoS counter dstat_idx (or -1) one up. */
static void _expect(const struct pkt *p, uint32_t verdict, int dstat_idx, int line)
{
	uint8_t out[MAX_PKT + 64];
	size_t len;
	uint32_t got = run_out(p, out, &len);

	ck_assert_msg(got == verdict, "line %d: verdict %s, expected %s", line,
		      verdict_name(true, (int)got), verdict_name(true, (int)verdict));
	ck_assert_msg(len == p->len && memcmp(out, p->b, len) == 0, "line %d: frame modified",
		      line);
	if (dstat_idx >= 0)
		exp_d[dstat_idx]++;
	_check_dstats(line);
}
#define expect(p, v, d) _expect((p), (v), (d), __LINE__)
#define NONE		-1

/* ---- fixture ------------------------------------------------------------- */

/* small: the IPv4 set trie holds 4 entries and the event ring one page, to
 * see them fill up */
static void load_opts(bool stateful, bool small)
{
	uint32_t zero = 0;
	struct fos_ctl ctl = {.active = 0};

	skel = fos_xdp_filter__open();
	ck_assert_ptr_nonnull(skel);
	if (small) {
		ck_assert_int_eq(bpf_map__set_max_entries(skel->maps.fos_sets4, 4), 0);
		ck_assert_int_eq(bpf_map__set_max_entries(skel->maps.fos_ddos_events, 4096), 0);
	}
	skel->rodata->fos_ddos = true;
	skel->rodata->fos_sim_clock = true;
	skel->rodata->fos_stateful = stateful;
	ck_assert_msg(fos_xdp_filter__load(skel) == 0, "loading fos_xdp_filter with fos_ddos: %s",
		      strerror(errno));
	prog_fd = bpf_program__fd(skel->progs.fos_xdp_filter);
	ck_assert_int_eq(bpf_map__update_elem(skel->maps.fos_ctl, &zero, sizeof(zero), &ctl,
					      sizeof(ctl), BPF_ANY),
			 0);
	memset(&slot0, 0, sizeof(slot0));
	memset(&cfg0, 0, sizeof(cfg0));
	slot0.default_action = FOS_ACT_PASS;
	slot0.generation = 1;
	cfg0.v6_plen = 64;
	write_slot();
	memset(exp_d, 0, sizeof(exp_d));
	sim_time(T0);
}

static void load(bool stateful)
{
	load_opts(stateful, false);
}

static void setup(void)
{
	load(false);
}

static void teardown(void)
{
	fos_xdp_filter__destroy(skel);
	skel = NULL;
}

/* ---- rate limits ----------------------------------------------------------- */

START_TEST(test_gcra_burst_then_rate)
{
	struct pkt a = mk(P_UDP, "198.18.0.1", "198.19.0.1", 1000, 53);
	struct pkt b = mk(P_UDP, "198.18.0.2", "198.19.0.1", 1000, 53);
	struct fos_ddos_src e;
	int i;

	cfg0.flags = FOS_DDOS_F_RATE;
	cfg0.pkt = rate(10, 3); /* every 100 ms, 3 at once */
	write_slot();

	for (i = 0; i < 3; i++)
		expect(&a, XDP_PASS, NONE);
	expect(&a, XDP_DROP, FOS_DDOS_STAT_DROP_RATE);
	/* another source has its own bucket */
	expect(&b, XDP_PASS, NONE);

	/* then exactly the rate: one packet per 100 ms, not one more */
	for (i = 0; i < 5; i++) {
		sim_time(now() + 100 * MS - 1);
		expect(&a, XDP_DROP, FOS_DDOS_STAT_DROP_RATE);
		sim_time(now() + 1);
		expect(&a, XDP_PASS, NONE);
		expect(&a, XDP_DROP, FOS_DDOS_STAT_DROP_RATE);
	}
	/* idle time refills the burst, and no more than the burst */
	sim_time(now() + 10 * NS);
	for (i = 0; i < 3; i++)
		expect(&a, XDP_PASS, NONE);
	expect(&a, XDP_DROP, FOS_DDOS_STAT_DROP_RATE);

	ck_assert(src_get("198.18.0.1", &e));
	ck_assert_uint_eq(e.drops[FOS_DDOS_RATE], 12);
	ck_assert_uint_eq(e.last_drop_ns, now());
	ck_assert_uint_eq(e.blocked_until_ns, 0);
	ck_assert(src_get("198.18.0.2", &e));
	ck_assert_uint_eq(e.drops[FOS_DDOS_RATE], 0);
	ck_assert_uint_eq(stat(FOS_STAT_DROPPED), 12);
	ck_assert_uint_eq(stat(FOS_STAT_PASSED), 3 + 1 + 5 + 3);
	ck_assert_uint_eq(stat(FOS_STAT_DEFAULT), 3 + 1 + 5 + 3);
	{
		uint32_t k = FOS_DDOS_P_RATE;
		struct fos_ddos_state st;

		ck_assert_int_eq(bpf_map__lookup_elem(skel->maps.fos_ddos_state, &k, sizeof(k), &st,
						      sizeof(st), 0),
				 0);
		ck_assert_uint_eq(st.last_active_ns, now());
	}

	/* rateLimiting off in the slot: no limit */
	cfg0.flags = 0;
	write_slot();
	for (i = 0; i < 5; i++)
		expect(&a, XDP_PASS, NONE);
}
END_TEST

START_TEST(test_ipv6_prefix)
{
	struct pkt a = mk(P_TCP, "2001:db8:1:2::1", "2001:db8:ff::1", 1000, 80);
	struct pkt b = mk(P_TCP, "2001:db8:1:2:ffff::2", "2001:db8:ff::1", 1000, 80);
	struct pkt c = mk(P_TCP, "2001:db8:1:3::1", "2001:db8:ff::1", 1000, 80);
	struct fos_ddos_src e;

	cfg0.flags = FOS_DDOS_F_RATE;
	cfg0.pkt = rate(1, 2);
	write_slot();
	/* a and b share their /64 */
	expect(&a, XDP_PASS, NONE);
	expect(&b, XDP_PASS, NONE);
	expect(&a, XDP_DROP, FOS_DDOS_STAT_DROP_RATE);
	expect(&b, XDP_DROP, FOS_DDOS_STAT_DROP_RATE);
	expect(&c, XDP_PASS, NONE);
	ck_assert(src_get("2001:db8:1:2::", &e));
	ck_assert_uint_eq(e.drops[FOS_DDOS_RATE], 2);
	ck_assert(!src_get("2001:db8:1:2::1", &e));

	/* per address with 128 */
	cfg0.v6_plen = 128;
	write_slot();
	sim_time(now() + 10 * NS);
	expect(&a, XDP_PASS, NONE);
	expect(&a, XDP_PASS, NONE);
	expect(&b, XDP_PASS, NONE);
	expect(&b, XDP_PASS, NONE);
	expect(&a, XDP_DROP, FOS_DDOS_STAT_DROP_RATE);
	ck_assert(src_get("2001:db8:1:2::1", &e));
	ck_assert_uint_eq(e.drops[FOS_DDOS_RATE], 1);
	ck_assert(src_get("2001:db8:1:2:ffff::2", &e));
	ck_assert_uint_eq(e.drops[FOS_DDOS_RATE], 0);

	/* /48: a and c together */
	cfg0.v6_plen = 48;
	write_slot();
	sim_time(now() + 10 * NS);
	expect(&a, XDP_PASS, NONE);
	expect(&c, XDP_PASS, NONE);
	expect(&b, XDP_DROP, FOS_DDOS_STAT_DROP_RATE);
	ck_assert(src_get("2001:db8:1::", &e));
}
END_TEST

/* A tighter limit applies at once: a tat left far ahead by a large burst is
 * judged as the new settings' bound, not waited out. */
START_TEST(test_gcra_tightened)
{
	struct pkt a = mk(P_UDP, "198.18.0.1", "198.19.0.1", 1000, 53);
	int i;

	cfg0.flags = FOS_DDOS_F_RATE;
	cfg0.pkt = rate(10, 100000);
	write_slot();
	for (i = 0; i < 500; i++)
		expect(&a, XDP_PASS, NONE); /* tat now 50 s ahead */

	cfg0.pkt = rate(10, 1);
	write_slot();
	expect(&a, XDP_DROP, FOS_DDOS_STAT_DROP_RATE);
	sim_time(now() + 100 * MS);
	expect(&a, XDP_PASS, NONE);
	expect(&a, XDP_DROP, FOS_DDOS_STAT_DROP_RATE);
	sim_time(now() + 100 * MS);
	expect(&a, XDP_PASS, NONE);
}
END_TEST

START_TEST(test_icmp_flood)
{
	struct pkt a = mk(P_ICMP, "198.18.0.1", "198.19.0.1", 0, 0);
	struct pkt b = mk(P_ICMP, "198.18.0.2", "198.19.0.1", 0, 0);
	struct pkt a6 = mk(P_ICMPV6, "2001:db8::1", "2001:db8::2", 0, 0);
	struct pkt u = mk(P_UDP, "198.18.0.1", "198.19.0.1", 1, 2);
	struct fos_ddos_src e;

	cfg0.flags = FOS_DDOS_F_ICMP;
	cfg0.icmp_src = rate(1, 2);
	cfg0.icmp_all = rate(1, 3);
	write_slot();
	expect(&a, XDP_PASS, NONE);
	expect(&a, XDP_PASS, NONE);
	expect(&a, XDP_DROP, FOS_DDOS_STAT_DROP_ICMP_FLOOD); /* its own bucket */
	expect(&b, XDP_PASS, NONE);			     /* the third of the total */
	expect(&b, XDP_DROP, FOS_DDOS_STAT_DROP_ICMP_FLOOD); /* the total's */
	/* ICMPv6 counts in the same total */
	expect(&a6, XDP_DROP, FOS_DDOS_STAT_DROP_ICMP_FLOOD);
	ck_assert(src_get("2001:db8::", &e));
	ck_assert_uint_eq(e.drops[FOS_DDOS_ICMP_FLOOD], 1);
	expect(&u, XDP_PASS, NONE); /* UDP is not limited */
	ck_assert(src_get("198.18.0.2", &e));
	ck_assert_uint_eq(e.drops[FOS_DDOS_ICMP_FLOOD], 1);
	ck_assert(src_get("198.18.0.1", &e));
	ck_assert_uint_eq(e.drops[FOS_DDOS_ICMP_FLOOD], 1);
	ck_assert_uint_eq(e.drops[FOS_DDOS_UDP_FLOOD], 0);

	/* the total alone */
	cfg0.icmp_src.interval_ns = 0;
	write_slot();
	sim_time(now() + 10 * NS);
	for (int i = 0; i < 3; i++)
		expect(&a, XDP_PASS, NONE);
	expect(&b, XDP_DROP, FOS_DDOS_STAT_DROP_ICMP_FLOOD);
}
END_TEST

START_TEST(test_udp_flood)
{
	struct pkt a = mk(P_UDP, "198.18.0.1", "198.19.0.1", 1000, 53);
	struct pkt a2 = mk(P_UDP, "198.18.0.1", "198.19.0.2", 2000, 123);
	struct pkt b = mk(P_UDP, "2001:db8::1", "2001:db8::2", 1000, 53);
	struct pkt t = mk(P_TCP, "198.18.0.1", "198.19.0.1", 1000, 53);
	struct pkt i4 = mk(P_ICMP, "198.18.0.1", "198.19.0.1", 0, 0);
	struct fos_ddos_src e;

	cfg0.flags = FOS_DDOS_F_UDP;
	cfg0.udp_src = rate(100, 1);
	cfg0.udp_all = rate(1, 2);
	write_slot();
	expect(&a, XDP_PASS, NONE);
	expect(&a2, XDP_DROP, FOS_DDOS_STAT_DROP_UDP_FLOOD); /* same source, any flow */
	expect(&t, XDP_PASS, NONE);
	expect(&i4, XDP_PASS, NONE);
	expect(&b, XDP_PASS, NONE);
	sim_time(now() + 10 * MS);
	expect(&a, XDP_DROP, FOS_DDOS_STAT_DROP_UDP_FLOOD); /* total: 2 in the burst */
	ck_assert(src_get("198.18.0.1", &e));
	ck_assert_uint_eq(e.drops[FOS_DDOS_UDP_FLOOD], 2);
	sim_time(now() + NS);
	expect(&a, XDP_PASS, NONE);
	ck_assert_uint_eq(dstat(FOS_DDOS_STAT_DROP_UDP_FLOOD), 2);
}
END_TEST

START_TEST(test_conn_rate)
{
	struct pkt syn = tcp("198.18.0.1", "198.19.0.1", 40000, 80, T_SYN, 1);
	struct pkt syn2 = tcp("198.18.0.1", "198.19.0.1", 40001, 443, T_SYN, 1);
	struct pkt ack = tcp("198.18.0.1", "198.19.0.1", 40000, 80, T_ACK, 2);
	struct pkt udp = mk(P_UDP, "198.18.0.1", "198.19.0.1", 1000, 53);
	struct fos_ddos_src e;

	cfg0.flags = FOS_DDOS_F_RATE;
	cfg0.conn = rate(1, 2);
	write_slot();
	expect(&syn, XDP_PASS, NONE);
	expect(&syn2, XDP_PASS, NONE);
	expect(&syn, XDP_DROP, FOS_DDOS_STAT_DROP_CONN_RATE);
	/* only SYNs open connections in a stateless program */
	for (int i = 0; i < 3; i++) {
		expect(&ack, XDP_PASS, NONE);
		expect(&udp, XDP_PASS, NONE);
	}
	sim_time(now() + NS);
	expect(&syn2, XDP_PASS, NONE);
	expect(&syn2, XDP_DROP, FOS_DDOS_STAT_DROP_CONN_RATE);
	ck_assert(src_get("198.18.0.1", &e));
	ck_assert_uint_eq(e.drops[FOS_DDOS_CONN_RATE], 2);
}
END_TEST

/* stateful: UDP packets of flows the table does not know open connections */
START_TEST(test_conn_rate_stateful_udp)
{
	struct pkt u1 = mk(P_UDP, "198.18.0.1", "198.19.0.1", 1000, 53);
	struct pkt u2 = mk(P_UDP, "198.18.0.1", "198.19.0.1", 1001, 53);
	struct pkt u3 = mk(P_UDP, "198.18.0.1", "198.19.0.1", 1002, 53);

	teardown();
	load(true);
	cfg0.flags = FOS_DDOS_F_RATE;
	cfg0.conn = rate(1, 2);
	write_slot();
	expect(&u1, XDP_PASS, NONE);
	expect(&u2, XDP_PASS, NONE);
	expect(&u3, XDP_DROP, FOS_DDOS_STAT_DROP_CONN_RATE);
	ck_assert_uint_eq(stat(FOS_STAT_CT_NEW), 3);
}
END_TEST

static void ct_src_put(const char *addr, uint64_t n)
{
	struct fos_ddos_addr k;

	addr16(addr, k.addr);
	ck_assert_int_eq(
	    bpf_map__update_elem(skel->maps.fos_ct_src, &k, sizeof(k), &n, sizeof(n), BPF_ANY), 0);
}

START_TEST(test_conn_limit)
{
	struct pkt syn = tcp("198.18.0.1", "198.19.0.1", 40000, 80, T_SYN, 1);
	struct pkt other = tcp("198.18.0.2", "198.19.0.1", 40000, 80, T_SYN, 1);
	struct pkt u = mk(P_UDP, "198.18.0.1", "198.19.0.1", 1000, 53);
	struct pkt syn6 = tcp("2001:db8:1:2::99", "2001:db8::1", 40000, 80, T_SYN, 1);
	struct pkt syn6b = tcp("2001:db8:1:3::99", "2001:db8::1", 40000, 80, T_SYN, 1);
	struct fos_ddos_src e;

	teardown();
	load(true);
	cfg0.flags = FOS_DDOS_F_RATE;
	cfg0.conn_limit = 2;
	write_slot();
	ct_src_put("198.18.0.1", 1);
	expect(&syn, XDP_PASS, NONE);
	ct_src_put("198.18.0.1", 2);
	expect(&syn, XDP_DROP, FOS_DDOS_STAT_DROP_CONN_LIMIT);
	expect(&u, XDP_DROP, FOS_DDOS_STAT_DROP_CONN_LIMIT);
	expect(&other, XDP_PASS, NONE);
	ck_assert(src_get("198.18.0.1", &e));
	ck_assert_uint_eq(e.drops[FOS_DDOS_CONN_LIMIT], 2);
	/* IPv6 sources are counted by their /64, whatever v6_plen says */
	cfg0.v6_plen = 128;
	write_slot();
	ct_src_put("2001:db8:1:2::", 5);
	expect(&syn6, XDP_DROP, FOS_DDOS_STAT_DROP_CONN_LIMIT);
	expect(&syn6b, XDP_PASS, NONE);
	ct_src_put("198.18.0.1", 1);
	expect(&syn, XDP_PASS, NONE);
}
END_TEST

/* ---- SYN cookies ----------------------------------------------------------- */

/* Check every byte of the SYN-ACK out answering syn; its cookie. */
static uint32_t check_synack(const struct pkt *syn, const uint8_t *out, size_t len)
{
	const uint8_t *si = syn->b + syn->l3, *oi = out + syn->l3;
	bool v6 = (si[0] >> 4) == 6;
	size_t l4 = syn->l3 + (v6 ? 40 : 20);
	const uint8_t *st = syn->b + l4, *ot = out + l4;
	struct pkt o = {.len = len, .l3 = syn->l3, .l4 = l4};
	uint32_t cookie;

	/* cut to the headers, not below 60 bytes, never grown */
	ck_assert_uint_eq(len, syn->len <= 60 ? syn->len : (l4 + 20 > 60 ? l4 + 20 : 60));
	memcpy(o.b, out, len);
	/* MACs swapped, VLAN tags and EtherType kept */
	ck_assert_mem_eq(out, syn->b + 6, 6);
	ck_assert_mem_eq(out + 6, syn->b, 6);
	ck_assert_mem_eq(out + 12, syn->b + 12, syn->l3 - 12);
	if (v6) {
		static const uint8_t ver[4] = {0x60, 0, 0, 0};

		ck_assert_mem_eq(oi, ver, 4);
		ck_assert_uint_eq(oi[4] << 8 | oi[5], 20); /* payload length */
		ck_assert_uint_eq(oi[6], P_TCP);
		ck_assert_uint_eq(oi[7], 64);
		ck_assert_mem_eq(oi + 8, si + 24, 16);
		ck_assert_mem_eq(oi + 24, si + 8, 16);
	} else {
		ck_assert_uint_eq(oi[0], 0x45);
		ck_assert_uint_eq(oi[1], 0);
		ck_assert_uint_eq(oi[2] << 8 | oi[3], 40);
		ck_assert_uint_eq(oi[4] << 8 | oi[5], 0);
		ck_assert_uint_eq(oi[6] << 8 | oi[7], 0x4000);
		ck_assert_uint_eq(oi[8], 64);
		ck_assert_uint_eq(oi[9], P_TCP);
		ck_assert_mem_eq(oi + 12, si + 16, 4);
		ck_assert_mem_eq(oi + 16, si + 12, 4);
		ck_assert_uint_eq(csum_fold(csum_add(0, oi, 20)), 0);
	}
	ck_assert_mem_eq(ot, st + 2, 2); /* ports swapped */
	ck_assert_mem_eq(ot + 2, st, 2);
	cookie = (uint32_t)ot[8] << 24 | ot[9] << 16 | ot[10] << 8 | ot[11];
	ck_assert_mem_eq(ot + 4, ot + 8, 4); /* seq = ack = cookie */
	ck_assert_uint_ne(cookie, 0);
	ck_assert_uint_eq(ot[12], 5 << 4);
	ck_assert_uint_eq(ot[13], T_SYN | T_ACK);
	ck_assert_uint_eq(ot[14] << 8 | ot[15], 1024);
	ck_assert_uint_eq(ot[18] << 8 | ot[19], 0);
	ck_assert_uint_eq(l4_csum(&o, 20, P_TCP), 0);
	return cookie;
}

/* Run syn, expect the SYN-ACK; its cookie. */
static uint32_t _expect_cookie(const struct pkt *syn, int line)
{
	uint8_t out[MAX_PKT + 64];
	size_t len;
	uint32_t got = run_out(syn, out, &len);
	uint32_t cookie;

	ck_assert_msg(got == XDP_TX, "line %d: verdict %s, expected XDP_TX", line,
		      verdict_name(true, (int)got));
	cookie = check_synack(syn, out, len);
	exp_d[FOS_DDOS_STAT_COOKIES_SENT]++;
	exp_d[FOS_DDOS_STAT_DROP_SYN_FLOOD]++;
	_check_dstats(line);
	return cookie;
}
#define expect_cookie(p) _expect_cookie((p), __LINE__)

static bool auth_get(const char *addr, struct fos_ddos_auth *ret)
{
	struct fos_ddos_addr k;

	addr16(addr, k.addr);
	return bpf_map__lookup_elem(skel->maps.fos_ddos_auth, &k, sizeof(k), ret, sizeof(*ret),
				    0) == 0;
}

static void syn_always(void)
{
	cfg0.flags = FOS_DDOS_F_SYN | FOS_DDOS_F_SYN_ALWAYS;
	cfg0.auth_ns = 300 * NS;
	write_slot();
}

static void cookie_round(const char *src, const char *dst, int n_vlan)
{
	struct spec s = {.src = src,
			 .dst = dst,
			 .proto = P_TCP,
			 .sport = 40000,
			 .dport = 443,
			 .tcp_flags = T_SYN,
			 .seq = 0x12345678,
			 .tcp_opt = 12,
			 .n_vlan = n_vlan,
			 .payload = 7};
	struct pkt syn, rst;
	struct fos_ddos_auth a;
	uint32_t cookie, k = FOS_DDOS_P_SYN;
	struct fos_ddos_state st;

	syn_always();
	build(&s, &syn);
	cookie = expect_cookie(&syn);
	ck_assert_uint_eq(stat(FOS_STAT_DROPPED), 1);
	ck_assert_uint_eq(stat(FOS_STAT_PASSED), 0);
	ck_assert_int_eq(
	    bpf_map__lookup_elem(skel->maps.fos_ddos_state, &k, sizeof(k), &st, sizeof(st), 0), 0);
	ck_assert_uint_eq(st.last_active_ns, T0);
	/* the same SYN again: the same cookie */
	sim_time(now() + MS);
	ck_assert_uint_eq(expect_cookie(&syn), cookie);
	/* the state moves by FOS_DDOS_ACTIVE_RES_NS or not at all */
	sim_time(now() + FOS_DDOS_ACTIVE_RES_NS / 2);
	expect_cookie(&syn);
	ck_assert_int_eq(
	    bpf_map__lookup_elem(skel->maps.fos_ddos_state, &k, sizeof(k), &st, sizeof(st), 0), 0);
	ck_assert_uint_eq(st.last_active_ns, T0 + MS);
	ck_assert(!auth_get(src, &a));

	/* the client's RST carries the cookie: the source is proved */
	s.tcp_flags = T_RST;
	s.seq = cookie;
	s.tcp_opt = 0;
	s.payload = 0;
	build(&s, &rst);
	expect(&rst, XDP_DROP, FOS_DDOS_STAT_COOKIES_OK);
	ck_assert(auth_get(src, &a));
	ck_assert_uint_eq(a.expires_ns, now() + 300 * NS);
	/* its SYN retransmission passes on to the rules */
	expect(&syn, XDP_PASS, NONE);
	ck_assert_uint_eq(stat(FOS_STAT_DEFAULT), 1);
	/* until the proof expires */
	sim_time(now() + 300 * NS);
	expect_cookie(&syn);
}

START_TEST(test_cookie_ipv4)
{
	/* a SYN of 54 bytes, without options: answered in a frame as long */
	struct pkt bare = tcp("198.18.0.9", "198.19.0.1", 40000, 443, T_SYN, 7);

	cookie_round("198.18.0.1", "198.19.0.1", 0);
	ck_assert_uint_eq(bare.len, 54);
	expect_cookie(&bare);
}
END_TEST

START_TEST(test_cookie_ipv6)
{
	cookie_round("2001:db8::1", "2001:db8:ff::80", 0);
}
END_TEST

START_TEST(test_cookie_vlan)
{
	cookie_round("198.18.0.1", "198.19.0.1", 1);
	teardown();
	setup();
	cookie_round("2001:db8::1", "2001:db8:ff::80", 2);
}
END_TEST

START_TEST(test_cookie_bad_rst)
{
	struct pkt syn = tcp("198.18.0.1", "198.19.0.1", 40000, 80, T_SYN, 7);
	struct pkt rst, rst_other;
	struct fos_ddos_auth a;
	uint32_t cookie;

	syn_always();
	cookie = expect_cookie(&syn);
	/* the low bits of a cookie carry the MSS index, which the kernel's
	 * check accepts in any of its values: change the hash bits */
	rst = tcp("198.18.0.1", "198.19.0.1", 40000, 80, T_RST, cookie + 0x100);
	expect(&rst, XDP_PASS, FOS_DDOS_STAT_COOKIES_BAD);
	/* the right cookie from another port is wrong too */
	rst_other = tcp("198.18.0.1", "198.19.0.1", 40001, 80, T_RST, cookie);
	expect(&rst_other, XDP_PASS, FOS_DDOS_STAT_COOKIES_BAD);
	/* and from another source */
	rst_other = tcp("198.18.0.2", "198.19.0.1", 40000, 80, T_RST, cookie);
	expect(&rst_other, XDP_PASS, FOS_DDOS_STAT_COOKIES_BAD);
	ck_assert(!auth_get("198.18.0.1", &a));
	ck_assert(!auth_get("198.18.0.2", &a));
	expect_cookie(&syn);
	/* a SYN-ACK or an RST-ACK... an RST with SYN is no answer */
	rst = tcp("198.18.0.1", "198.19.0.1", 40000, 80, T_RST | T_SYN, cookie);
	expect(&rst, XDP_PASS, NONE);
}
END_TEST

/* ---- the hint of proved sources (fos_ddos_hint) ---------------------------- */

/* src proves itself to dst as a client does: its SYN is answered, its RST
 * carries the cookie back. */
static void prove(const char *src, const char *dst)
{
	struct pkt syn = tcp(src, dst, 40000, 443, T_SYN, 7), rst;
	uint32_t cookie = expect_cookie(&syn);

	rst = tcp(src, dst, 40000, 443, T_RST, cookie);
	expect(&rst, XDP_DROP, FOS_DDOS_STAT_COOKIES_OK);
}

/* A SYN of src passes (proved) or is answered with a cookie. */
static void syn_passes(const char *src, bool passes)
{
	struct pkt syn = tcp(src, "198.19.0.1", 40001, 443, T_SYN, 9);

	if (passes)
		expect(&syn, XDP_PASS, NONE);
	else
		expect_cookie(&syn);
}

static uint64_t hint_get(uint64_t gen, uint32_t word)
{
	uint32_t k = fos_ddos_hint_key(gen, word);
	uint64_t v;

	ck_assert_int_eq(
	    bpf_map__lookup_elem(skel->maps.fos_ddos_hint, &k, sizeof(k), &v, sizeof(v), 0), 0);
	return v;
}

static void hint_pos(const char *addr, uint32_t *word, uint32_t *bit)
{
	uint8_t a[16];

	addr16(addr, a);
	fos_ddos_hint_pos(a, word, bit);
}

/* An IPv4 address a.b.c.1 (a from 10) other than not_this whose hint word is
 * word and, with same_bit, whose bit is bit, else whose bit is not. */
static void hint_neighbour(const char *not_this, uint32_t word, uint32_t bit, bool same_bit,
			   char *out, size_t outlen)
{
	uint32_t w, b;

	for (uint32_t i = 0; i < 0x1000000; i++) {
		snprintf(out, outlen, "%u.%u.%u.%u", 10 + (i >> 16), (i >> 8) & 255, i & 255, 1);
		if (strcmp(out, not_this) == 0)
			continue;
		hint_pos(out, &w, &b);
		if (w == word && (b == bit) == same_bit)
			return;
	}
	ck_abort_msg("no address shares hint word %u", word);
}

START_TEST(test_hint_generations)
{
	const uint64_t auth = 300 * NS, gen = T0 / auth + 1, start = gen * auth;
	uint32_t word, bit;
	uint64_t v;

	syn_always();
	/* proved a millisecond before its generation ends */
	sim_time(start - MS);
	prove("198.18.0.1", "198.19.0.1");
	hint_pos("198.18.0.1", &word, &bit);
	v = hint_get(gen - 1, word);
	ck_assert_uint_eq(v >> 32, gen - 1);
	ck_assert(v & 1ULL << bit);
	v = hint_get(gen, word);
	ck_assert_uint_eq(v >> 32, gen);
	ck_assert(v & 1ULL << bit);
	/* no other word of either generation was touched */
	for (uint32_t w = 0; w < FOS_DDOS_HINT_WORDS; w++)
		if (w != word)
			ck_assert_uint_eq(hint_get(gen - 1, w) | hint_get(gen, w) |
					      hint_get(gen + 1, w) | hint_get(gen + 2, w),
					  0);
	syn_passes("198.18.0.1", true);
	/* the next generation, to the last nanosecond of the proof */
	sim_time(start + auth - MS - 1);
	syn_passes("198.18.0.1", true);
	/* the proof's end */
	sim_time(start + auth - MS);
	syn_passes("198.18.0.1", false);
	/* the generation after: its words know nothing of the source */
	sim_time(start + auth);
	ck_assert_uint_eq(hint_get(gen + 1, word), 0);
	syn_passes("198.18.0.1", false);
	/* four generations on, the first one's words are taken over: a new proof
	 * in the same word replaces the old generation's bits */
	sim_time(start - MS + 4 * auth);
	{
		char other[32];
		uint32_t other_bit;

		hint_neighbour("198.18.0.1", word, bit, false, other, sizeof(other));
		hint_pos(other, &word, &other_bit);
		prove(other, "198.19.0.1");
		v = hint_get(gen + 3, word);
		ck_assert_uint_eq(v >> 32, gen + 3);
		ck_assert_uint_eq(v & 0xffffffffULL, 1ULL << other_bit);
		syn_passes(other, true);
		/* the first source proves itself again: its bit joins the word */
		syn_passes("198.18.0.1", false);
		prove("198.18.0.1", "198.19.0.1");
		v = hint_get(gen + 3, word);
		ck_assert_uint_eq(v >> 32, gen + 3);
		ck_assert_uint_eq(v & 0xffffffffULL, 1ULL << other_bit | 1ULL << bit);
		syn_passes("198.18.0.1", true);
		syn_passes(other, true);
	}
}
END_TEST

START_TEST(test_hint_shared_bits)
{
	char same[32], other[32];
	uint32_t word, bit;
	struct fos_ddos_auth a;
	struct fos_ddos_addr k;

	syn_always();
	prove("198.18.0.1", "198.19.0.1");
	hint_pos("198.18.0.1", &word, &bit);
	/* a source with the same bit, never proved: looked up, and answered */
	hint_neighbour("198.18.0.1", word, bit, true, same, sizeof(same));
	syn_passes(same, false);
	ck_assert(!auth_get(same, &a));
	/* one with another bit of the same word: answered, then proved */
	hint_neighbour("198.18.0.1", word, bit, false, other, sizeof(other));
	syn_passes(other, false);
	prove(other, "198.19.0.2");
	syn_passes(other, true);
	syn_passes("198.18.0.1", true);
	syn_passes(same, false);

	/* the bit is what lets a SYN look the table up: an entry put there by
	 * anything but a proof (no bit) is not seen */
	addr16("198.18.0.77", k.addr);
	a.expires_ns = now() + 300 * NS;
	ck_assert_int_eq(
	    bpf_map__update_elem(skel->maps.fos_ddos_auth, &k, sizeof(k), &a, sizeof(a), BPF_ANY),
	    0);
	hint_pos("198.18.0.77", &word, &bit);
	ck_assert(!(hint_get(now() / (300 * NS), word) & 1ULL << bit));
	syn_passes("198.18.0.77", false);
}
END_TEST

START_TEST(test_hint_many)
{
	char a[64];

	syn_always();
	for (int i = 0; i < 2000; i++) {
		snprintf(a, sizeof(a), "198.18.%d.%d", i >> 8, i & 255);
		prove(a, "198.19.0.1");
	}
	for (int i = 0; i < 200; i++) {
		snprintf(a, sizeof(a), "2001:db8:%x::%x", i, i + 1);
		prove(a, "2001:db8:ff::80");
	}
	sim_time(now() + 200 * NS);
	for (int i = 0; i < 2000; i++) {
		snprintf(a, sizeof(a), "198.18.%d.%d", i >> 8, i & 255);
		syn_passes(a, true);
		snprintf(a, sizeof(a), "198.20.%d.%d", i >> 8, i & 255);
		syn_passes(a, false);
	}
	for (int i = 0; i < 200; i++) {
		struct pkt p;

		snprintf(a, sizeof(a), "2001:db8:%x::%x", i, i + 1);
		p = tcp(a, "2001:db8:ff::80", 40001, 443, T_SYN, 9);
		expect(&p, XDP_PASS, NONE);
		snprintf(a, sizeof(a), "2001:db8:%x::%x", i, i + 2);
		p = tcp(a, "2001:db8:ff::80", 40001, 443, T_SYN, 9);
		expect_cookie(&p);
	}
}
END_TEST

START_TEST(test_hint_auth_changed)
{
	/* a reload that changes authTimeout renumbers the generations: a proved
	 * source answers one more cookie, and passes again once it has, whether
	 * the timeout went down (generations numbered higher) or back up (the
	 * words carry tags above the new numbers, and are taken over all the
	 * same) */
	syn_always();
	prove("198.18.0.1", "198.19.0.1");
	syn_passes("198.18.0.1", true);
	cfg0.auth_ns = 70 * NS;
	write_slot();
	syn_passes("198.18.0.1", false);
	prove("198.18.0.1", "198.19.0.1");
	syn_passes("198.18.0.1", true);
	cfg0.auth_ns = 300 * NS;
	write_slot();
	syn_passes("198.18.0.1", false);
	prove("198.18.0.1", "198.19.0.1");
	syn_passes("198.18.0.1", true);
	/* and a minute on, still */
	sim_time(now() + 60 * NS);
	syn_passes("198.18.0.1", true);
}
END_TEST

START_TEST(test_syn_threshold)
{
	struct pkt syn = tcp("198.18.0.1", "198.19.0.1", 40000, 80, T_SYN, 7);
	struct pkt syn_b = tcp("198.18.0.1", "198.19.0.2", 40000, 80, T_SYN, 7);
	struct pkt ack = tcp("198.18.0.1", "198.19.0.1", 40000, 80, T_ACK, 8);
	struct pkt rst = tcp("198.18.0.1", "198.19.0.1", 40000, 80, T_RST, 1);
	struct fos_ddos_dst d;
	struct fos_ddos_addr k;
	uint64_t engaged;

	cfg0.flags = FOS_DDOS_F_SYN;
	cfg0.syn_dst = rate(10, 2); /* 10 SYNs per second, 2 at once */
	cfg0.syn_hold_ns = NS;
	cfg0.auth_ns = 60 * NS;
	write_slot();
	expect(&syn, XDP_PASS, NONE);
	expect(&syn, XDP_PASS, NONE);
	/* not engaged: an RST is not checked */
	expect(&rst, XDP_PASS, NONE);
	expect_cookie(&syn); /* over the threshold */
	engaged = now();
	expect(&syn_b, XDP_PASS, NONE); /* another destination */
	expect(&ack, XDP_PASS, NONE);	/* only SYNs are answered */
	expect(&rst, XDP_PASS, FOS_DDOS_STAT_COOKIES_BAD);

	addr16("198.19.0.1", k.addr);
	ck_assert_int_eq(
	    bpf_map__lookup_elem(skel->maps.fos_ddos_dst, &k, sizeof(k), &d, sizeof(d), 0), 0);
	ck_assert_uint_eq(d.syns, 3);
	ck_assert_uint_eq(d.cookies, 1);
	ck_assert_uint_eq(d.engaged_until, engaged + NS);

	/* the rate is back under the threshold, the hold keeps cookies on */
	sim_time(now() + 500 * MS);
	expect_cookie(&syn);
	sim_time(engaged + NS - 1);
	expect_cookie(&syn);
	sim_time(engaged + NS);
	expect(&syn, XDP_PASS, NONE);
	ck_assert_int_eq(
	    bpf_map__lookup_elem(skel->maps.fos_ddos_dst, &k, sizeof(k), &d, sizeof(d), 0), 0);
	ck_assert_uint_eq(d.syns, 6);
	ck_assert_uint_eq(d.cookies, 3);
}
END_TEST

START_TEST(test_syn_headers_dropped)
{
	struct spec s4 = {.src = "198.18.0.1",
			  .dst = "198.19.0.1",
			  .proto = P_TCP,
			  .sport = 1,
			  .dport = 80,
			  .tcp_flags = T_SYN,
			  .ip_opt = 4};
	struct spec s6 = {.src = "2001:db8::1",
			  .dst = "2001:db8::2",
			  .proto = P_TCP,
			  .sport = 1,
			  .dport = 80,
			  .tcp_flags = T_SYN,
			  .v6_ext = true};
	struct pkt p4, p6;

	build(&s4, &p4);
	build(&s6, &p6);
	/* not engaged: they pass */
	cfg0.flags = FOS_DDOS_F_SYN;
	cfg0.syn_dst = rate(1, 5);
	write_slot();
	expect(&p4, XDP_PASS, NONE);
	expect(&p6, XDP_PASS, NONE);
	syn_always();
	expect(&p4, XDP_DROP, FOS_DDOS_STAT_DROP_SYN_FLOOD);
	expect(&p6, XDP_DROP, FOS_DDOS_STAT_DROP_SYN_FLOOD);
	ck_assert_uint_eq(dstat(FOS_DDOS_STAT_COOKIES_SENT), 0);
}
END_TEST

START_TEST(test_syn_truncated)
{
	struct pkt p = tcp("198.18.0.1", "198.19.0.1", 40000, 80, T_SYN, 7);

	syn_always();
	/* a TCP header cut after 16 bytes: malformed before any DDoS stage */
	p.len = p.l4 + 16;
	put16(p.b + p.l3 + 2, p.len - p.l3);
	put16(p.b + p.l3 + 10, 0);
	put16(p.b + p.l3 + 10, csum_fold(csum_add(0, p.b + p.l3, 20)));
	expect(&p, XDP_DROP, NONE);
	ck_assert_uint_eq(stat(FOS_STAT_MALFORMED), 1);
	/* a data offset beyond the datagram */
	p = tcp("198.18.0.1", "198.19.0.1", 40000, 80, T_SYN, 7);
	p.b[p.l4 + 12] = 8 << 4;
	expect(&p, XDP_DROP, NONE);
	ck_assert_uint_eq(stat(FOS_STAT_MALFORMED), 2);
	ck_assert_uint_eq(dstat(FOS_DDOS_STAT_COOKIES_SENT), 0);
}
END_TEST

/* ---- lists and blocking --------------------------------------------------- */

START_TEST(test_whitelist_exempt)
{
	struct pkt syn = tcp("198.18.0.1", "198.19.0.1", 40000, 80, T_SYN, 7);
	struct pkt syn_other = tcp("198.18.0.2", "198.19.0.1", 40000, 80, T_SYN, 7);
	struct fos_ddos_src e;

	slot0.flags = FOS_SLOT_F_WHITELIST;
	slot0.whitelist_set = WHITE;
	set_put(WHITE, "198.18.0.1", 32, 0);
	syn_always();
	cfg0.flags |= FOS_DDOS_F_RATE;
	cfg0.pkt = rate(1, 1);
	write_slot();
	for (int i = 0; i < 3; i++)
		expect(&syn, XDP_PASS, NONE);
	ck_assert_uint_eq(stat(FOS_STAT_WHITELIST), 3);
	ck_assert(!src_get("198.18.0.1", &e));
	expect_cookie(&syn_other);
}
END_TEST

/* set entries with an expiry: absent once it passed, and deleted */
START_TEST(test_timed_lists)
{
	struct pkt a = mk(P_UDP, "198.18.0.1", "198.19.0.1", 1, 2);
	struct pkt b = mk(P_UDP, "10.1.2.3", "198.19.0.1", 1, 2);
	struct pkt c6 = mk(P_UDP, "2001:db8:5::1", "2001:db8::2", 1, 2);
	struct fos_set_value v;

	slot0.flags = FOS_SLOT_F_WHITELIST | FOS_SLOT_F_BLACKLIST;
	slot0.whitelist_set = WHITE;
	slot0.blacklist_set = BLACK;
	cfg0.flags = FOS_DDOS_F_RATE;
	cfg0.pkt = rate(1, 1);
	write_slot();
	set_put(WHITE, "198.18.0.1", 32, T0 + 10 * NS);
	set_put(BLACK, "10.0.0.0", 8, 0);
	set_put(BLACK, "10.1.2.3", 32, T0 + 5 * NS);
	set_put(BLACK, "2001:db8:5::", 48, T0 + 5 * NS);
	set_put(BLACK, "2001:db8:5::1", 128, T0 + 2 * NS);

	/* whitelisted: no limit */
	expect(&a, XDP_PASS, NONE);
	expect(&a, XDP_PASS, NONE);
	expect(&b, XDP_DROP, FOS_DDOS_STAT_DROP_BLACKLIST);
	expect(&c6, XDP_DROP, FOS_DDOS_STAT_DROP_BLACKLIST);
	ck_assert(set_get(BLACK, "2001:db8:5::1", 128, NULL));

	/* the /128 expired: deleted, the /48 still holds it */
	sim_time(T0 + 2 * NS);
	expect(&c6, XDP_DROP, FOS_DDOS_STAT_DROP_BLACKLIST);
	ck_assert(!set_get(BLACK, "2001:db8:5::1", 128, NULL));
	ck_assert(set_get(BLACK, "2001:db8:5::", 48, NULL));
	/* the /32 and the /48 expired: 10.1.2.3 is still in 10/8 */
	sim_time(T0 + 5 * NS);
	expect(&b, XDP_DROP, FOS_DDOS_STAT_DROP_BLACKLIST);
	ck_assert(!set_get(BLACK, "10.1.2.3", 32, NULL));
	ck_assert(set_get(BLACK, "10.0.0.0", 8, &v));
	ck_assert_uint_eq(v.expires_ns, 0);
	expect(&c6, XDP_PASS, NONE);
	ck_assert(!set_get(BLACK, "2001:db8:5::", 48, NULL));
	/* the whitelist entry expired: the limit applies */
	sim_time(T0 + 10 * NS);
	expect(&a, XDP_PASS, NONE);
	expect(&a, XDP_DROP, FOS_DDOS_STAT_DROP_RATE);
	ck_assert(!set_get(WHITE, "198.18.0.1", 32, NULL));
	ck_assert_uint_eq(stat(FOS_STAT_WHITELIST), 2);
	ck_assert_uint_eq(stat(FOS_STAT_BLACKLIST), 4);
}
END_TEST

struct events {
	struct fos_ddos_event ev[8];
	int n;
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct events *e = ctx;

	ck_assert_uint_eq(size, sizeof(struct fos_ddos_event));
	ck_assert_int_lt(e->n, 8);
	memcpy(&e->ev[e->n++], data, sizeof(struct fos_ddos_event));
	return 0;
}

static int on_event_count(void *ctx, void *data, size_t size)
{
	struct events *e = ctx;

	(void)data;
	ck_assert_uint_eq(size, sizeof(struct fos_ddos_event));
	e->n++;
	return 0;
}

static void block_round(const char *src, const char *key, uint32_t plen, const char *sibling)
{
	struct pkt a = mk(P_UDP, src, strchr(src, ':') ? "2001:db8::2" : "198.19.0.1", 1, 2);
	struct pkt sib = mk(P_UDP, sibling, strchr(src, ':') ? "2001:db8::2" : "198.19.0.1", 1, 2);
	struct ring_buffer *rb;
	struct events evs = {0};
	struct fos_set_value v;
	struct fos_ddos_src e;
	uint8_t k16[16];
	uint64_t t_block;

	slot0.flags = FOS_SLOT_F_BLACKLIST;
	slot0.blacklist_set = BLACK;
	cfg0.flags = FOS_DDOS_F_UDP;
	cfg0.udp_src = rate(1, 1);
	cfg0.block_ns[FOS_DDOS_UDP_FLOOD] = 30 * NS;
	cfg0.block_set = BLACK;
	write_slot();
	rb = ring_buffer__new(bpf_map__fd(skel->maps.fos_ddos_events), on_event, &evs, NULL);
	ck_assert_ptr_nonnull(rb);

	expect(&a, XDP_PASS, NONE);
	sim_time(now() + 10 * MS);
	t_block = now();
	exp_d[FOS_DDOS_STAT_BLOCKED]++;
	expect(&a, XDP_DROP, FOS_DDOS_STAT_DROP_UDP_FLOOD);
	ck_assert(set_get(BLACK, key, plen, &v));
	ck_assert_uint_eq(v.flags, FOS_SET_F_DYNAMIC | FOS_SET_F_AUTO);
	ck_assert_uint_eq(v.expires_ns, t_block + 30 * NS);
	ck_assert(src_get(key, &e));
	ck_assert_uint_eq(e.blocked_until_ns, t_block + 30 * NS);

	ck_assert_int_eq(ring_buffer__consume(rb), 1);
	ck_assert_int_eq(evs.n, 1);
	addr16(key, k16);
	ck_assert_mem_eq(evs.ev[0].addr, k16, 16);
	ck_assert_uint_eq(evs.ev[0].prefixlen, strchr(src, ':') ? plen : 32);
	ck_assert_uint_eq(evs.ev[0].reason, FOS_DDOS_UDP_FLOOD);
	ck_assert_uint_eq(evs.ev[0].set_id, BLACK);
	ck_assert_uint_eq(evs.ev[0].expires_ns, t_block + 30 * NS);

	/* from now on the blacklist drops it, and its neighbours of the prefix
	 * (an IPv6 /64); an IPv4 neighbour is another source */
	sim_time(now() + 5 * NS);
	expect(&a, XDP_DROP, FOS_DDOS_STAT_DROP_BLACKLIST);
	if (strchr(src, ':'))
		expect(&sib, XDP_DROP, FOS_DDOS_STAT_DROP_BLACKLIST);
	else
		expect(&sib, XDP_PASS, NONE);
	ck_assert(src_get(key, &e));
	ck_assert_uint_eq(e.drops[FOS_DDOS_BLACKLIST], strchr(src, ':') ? 2 : 1);
	ck_assert_uint_eq(e.drops[FOS_DDOS_UDP_FLOOD], 1);
	ck_assert_uint_eq(stat(FOS_STAT_BLACKLIST), strchr(src, ':') ? 2 : 1);
	ck_assert_int_eq(ring_buffer__consume(rb), 0);

	/* the block ends: the source passes and the entry is gone */
	sim_time(t_block + 30 * NS);
	expect(&a, XDP_PASS, NONE);
	ck_assert(!set_get(BLACK, key, plen, NULL));
	/* and is blocked again when it floods again */
	exp_d[FOS_DDOS_STAT_BLOCKED]++;
	expect(&a, XDP_DROP, FOS_DDOS_STAT_DROP_UDP_FLOOD);
	ck_assert_int_eq(ring_buffer__consume(rb), 1);
	ck_assert_uint_eq(evs.ev[1].expires_ns, now() + 30 * NS);
	ring_buffer__free(rb);
}

START_TEST(test_block_ipv4)
{
	block_round("198.18.0.1", "198.18.0.1", 32, "198.18.0.2");
}
END_TEST

START_TEST(test_block_ipv6)
{
	block_round("2001:db8:7:8::1", "2001:db8:7:8::", 64, "2001:db8:7:8:9::2");
}
END_TEST

/* A block the set's trie has no room for is counted and tried again a second
 * later, not taken for done. */
START_TEST(test_block_set_full)
{
	struct pkt a = mk(P_UDP, "198.18.0.1", "198.19.0.1", 1, 2);
	struct fos_ddos_src e;

	teardown();
	load_opts(false, true);
	for (int i = 0; i < 4; i++) {
		char addr[32];

		snprintf(addr, sizeof(addr), "192.0.2.%d", i);
		set_put(BLACK + 1, addr, 32, 0);
	}
	slot0.flags = FOS_SLOT_F_BLACKLIST;
	slot0.blacklist_set = BLACK;
	cfg0.flags = FOS_DDOS_F_UDP;
	cfg0.udp_src = rate(1, 1);
	cfg0.block_ns[FOS_DDOS_UDP_FLOOD] = 30 * NS;
	cfg0.block_set = BLACK;
	write_slot();

	expect(&a, XDP_PASS, NONE);
	exp_d[FOS_DDOS_STAT_BLOCK_FAILED]++;
	expect(&a, XDP_DROP, FOS_DDOS_STAT_DROP_UDP_FLOOD);
	ck_assert(!set_get(BLACK, "198.18.0.1", 32, NULL));
	ck_assert(src_get("198.18.0.1", &e));
	ck_assert_uint_eq(e.blocked_until_ns, now() + NS);
	/* not again within the second */
	sim_time(now() + 500 * MS);
	expect(&a, XDP_DROP, FOS_DDOS_STAT_DROP_UDP_FLOOD);
	/* room again: the next try after the second blocks */
	set_del(BLACK + 1, "192.0.2.0", 32);
	sim_time(now() + 500 * MS);
	expect(&a, XDP_PASS, NONE); /* the bucket's next packet */
	exp_d[FOS_DDOS_STAT_BLOCKED]++;
	expect(&a, XDP_DROP, FOS_DDOS_STAT_DROP_UDP_FLOOD);
	ck_assert(set_get(BLACK, "198.18.0.1", 32, NULL));
	check_dstats();
}
END_TEST

/* Blocks beyond the room in the event ring still block, and are counted as
 * events lost. */
START_TEST(test_block_events_lost)
{
	struct ring_buffer *rb;
	struct events evs = {0};
	int n_blocks = 200, lost;

	teardown();
	load_opts(false, true);
	slot0.flags = FOS_SLOT_F_BLACKLIST;
	slot0.blacklist_set = BLACK;
	cfg0.flags = FOS_DDOS_F_UDP;
	cfg0.udp_src = rate(1, 1);
	cfg0.block_ns[FOS_DDOS_UDP_FLOOD] = 30 * NS;
	cfg0.block_set = BLACK;
	write_slot();
	for (int i = 0; i < n_blocks; i++) {
		char addr[32];
		struct pkt p;

		snprintf(addr, sizeof(addr), "2001:db8:%x::1", i + 1);
		uint8_t out[MAX_PKT + 64];
		size_t len;

		p = mk(P_UDP, addr, "2001:db8::2", 1, 2);
		ck_assert_uint_eq(run_out(&p, out, &len), XDP_PASS);
		ck_assert_uint_eq(run_out(&p, out, &len), XDP_DROP);
	}
	exp_d[FOS_DDOS_STAT_BLOCKED] = (uint64_t)n_blocks;
	exp_d[FOS_DDOS_STAT_DROP_UDP_FLOOD] = (uint64_t)n_blocks;
	lost = (int)dstat(FOS_DDOS_STAT_EVENTS_LOST);
	ck_assert_int_gt(lost, 0);
	ck_assert_int_lt(lost, n_blocks);
	exp_d[FOS_DDOS_STAT_EVENTS_LOST] = (uint64_t)lost;
	check_dstats();
	rb = ring_buffer__new(bpf_map__fd(skel->maps.fos_ddos_events), on_event_count, &evs, NULL);
	ck_assert_ptr_nonnull(rb);
	ck_assert_int_eq(ring_buffer__consume(rb), n_blocks - lost);
	ring_buffer__free(rb);
	/* every block is in the set all the same */
	ck_assert(set_get(BLACK, "2001:db8:1::", 64, NULL));
	ck_assert(set_get(BLACK, "2001:db8:c8::", 64, NULL));
}
END_TEST

/* a drop without block settings, with the block set 0, or by a total limit,
 * blocks nothing */
START_TEST(test_no_block)
{
	struct pkt a = mk(P_UDP, "198.18.0.1", "198.19.0.1", 1, 2);
	struct pkt b = mk(P_UDP, "198.18.0.2", "198.19.0.1", 1, 2);

	slot0.flags = FOS_SLOT_F_BLACKLIST;
	slot0.blacklist_set = BLACK;
	cfg0.flags = FOS_DDOS_F_UDP | FOS_DDOS_F_RATE;
	cfg0.udp_src = rate(1, 1);
	cfg0.pkt = rate(1, 1);
	cfg0.block_ns[FOS_DDOS_RATE] = 30 * NS; /* not the reason that drops */
	cfg0.block_set = BLACK;
	write_slot();
	/* UDP: pps first, then UDP flood; pps lets 1 through, so does UDP */
	expect(&a, XDP_PASS, NONE);
	cfg0.pkt.interval_ns = 0;
	write_slot();
	expect(&a, XDP_DROP, FOS_DDOS_STAT_DROP_UDP_FLOOD);
	ck_assert(!set_get(BLACK, "198.18.0.1", 32, NULL));
	cfg0.block_ns[FOS_DDOS_UDP_FLOOD] = 30 * NS;
	cfg0.block_set = 0;
	write_slot();
	expect(&a, XDP_DROP, FOS_DDOS_STAT_DROP_UDP_FLOOD);
	ck_assert(!set_get(BLACK, "198.18.0.1", 32, NULL));

	/* a drop by the total limit blocks nobody, even with block settings */
	cfg0.block_set = BLACK;
	cfg0.udp_src.interval_ns = 0;
	cfg0.udp_all = rate(1, 1);
	write_slot();
	sim_time(now() + 10 * NS);
	expect(&b, XDP_PASS, NONE);
	expect(&a, XDP_DROP, FOS_DDOS_STAT_DROP_UDP_FLOOD);
	ck_assert(!set_get(BLACK, "198.18.0.1", 32, NULL));
	ck_assert(!set_get(BLACK, "198.18.0.2", 32, NULL));
	check_dstats();
}
END_TEST

static Suite *ddos_suite(void)
{
	Suite *s = suite_create("xdp_ddos");
	TCase *tc = tcase_create("packets");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_gcra_burst_then_rate);
	tcase_add_test(tc, test_ipv6_prefix);
	tcase_add_test(tc, test_icmp_flood);
	tcase_add_test(tc, test_udp_flood);
	tcase_add_test(tc, test_conn_rate);
	tcase_add_test(tc, test_conn_rate_stateful_udp);
	tcase_add_test(tc, test_conn_limit);
	tcase_add_test(tc, test_cookie_ipv4);
	tcase_add_test(tc, test_cookie_ipv6);
	tcase_add_test(tc, test_cookie_vlan);
	tcase_add_test(tc, test_cookie_bad_rst);
	tcase_add_test(tc, test_hint_generations);
	tcase_add_test(tc, test_hint_shared_bits);
	tcase_add_test(tc, test_hint_many);
	tcase_add_test(tc, test_hint_auth_changed);
	tcase_add_test(tc, test_syn_threshold);
	tcase_add_test(tc, test_syn_headers_dropped);
	tcase_add_test(tc, test_syn_truncated);
	tcase_add_test(tc, test_whitelist_exempt);
	tcase_add_test(tc, test_timed_lists);
	tcase_add_test(tc, test_block_ipv4);
	tcase_add_test(tc, test_block_ipv6);
	tcase_add_test(tc, test_no_block);
	tcase_add_test(tc, test_block_set_full);
	tcase_add_test(tc, test_block_events_lost);
	tcase_add_test(tc, test_gcra_tightened);
	suite_add_tcase(s, tc);
	return s;
}

static int probe_load(void)
{
	struct fos_xdp_filter *probe = fos_xdp_filter__open();
	int r;

	if (!probe)
		return errno ? -errno : -EINVAL;
	probe->rodata->fos_ddos = true;
	probe->rodata->fos_sim_clock = true;
	r = fos_xdp_filter__load(probe);
	fos_xdp_filter__destroy(probe);
	return r;
}

int main(void)
{
	return pkt_test_main("test-xdp-ddos", "fos_xdp_filter with fos_ddos", probe_load,
			     ddos_suite, &n_cpus);
}
