/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The classifier compiler: its tables must select, for every packet, the rule
 * the ordered rule walk selects. Fixed cases pin the semantics down (first
 * match over longest prefix, fragments, ports only for TCP/UDP, conntrack
 * state conditions); randomised rulesets compare the compiled lookup with a
 * direct implementation of the walk.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"

#define P_ICMP	 1
#define P_TCP	 6
#define P_UDP	 17
#define P_ICMPV6 58

/* ---- the rule walk, as the filter did it rule by rule ------------------- */

struct ref_rule {
	struct fos_rule r;
	struct fos_cidr src[4], dst[4];
	size_t n_src, n_dst;
};

/* A prefix holds an address of its own family only: IPv4 ones (stored as
 * ::ffff:a.b.c.d) and IPv6 ones never cover each other. */
static bool ref_in(const struct fos_cidr *v, size_t n, const uint8_t a[16])
{
	struct fos_addr fa;

	memcpy(fa.b, a, sizeof(fa.b));
	for (size_t i = 0; i < n; i++) {
		unsigned plen = fos_cidr_plen128(&v[i]);
		bool ok = fos_cidr_is_v4(&v[i]) == fos_addr_is_v4(&fa);

		for (unsigned b = 0; b < plen && ok; b++)
			ok = ((v[i].addr.b[b / 8] ^ a[b / 8]) & (0x80 >> (b % 8))) == 0;
		if (ok)
			return true;
	}
	return false;
}

static bool ref_port(const struct fos_port_range *rg, unsigned n, uint16_t p)
{
	for (unsigned i = 0; i < n && i < FOS_RULE_MAX_PORTS; i++)
		if (p >= rg[i].lo && p <= rg[i].hi)
			return true;
	return false;
}

static int ref_match(const struct ref_rule *rules, size_t n, const struct fos_cls_pkt *p)
{
	bool ports_unknown =
	    p->frag_no_first && (p->l4_unknown || p->proto == P_TCP || p->proto == P_UDP);
	bool proto_unknown = p->frag_no_first && p->l4_unknown;

	for (size_t i = 0; i < n; i++) {
		const struct fos_rule *r = &rules[i].r;
		bool drop = r->action == FOS_ACT_DROP;

		if (r->proto != FOS_PROTO_ANY && r->proto != p->proto && !(proto_unknown && drop))
			continue;
		if ((r->flags & FOS_RULE_F_STATE) && !(r->state & (1U << p->ct_class)))
			continue;
		if (r->flags & (FOS_RULE_F_SPORT | FOS_RULE_F_DPORT)) {
			if (p->ports) {
				if ((r->flags & FOS_RULE_F_SPORT) &&
				    !ref_port(r->sport, r->n_sport, p->sport))
					continue;
				if ((r->flags & FOS_RULE_F_DPORT) &&
				    !ref_port(r->dport, r->n_dport, p->dport))
					continue;
			} else if (!(ports_unknown && drop)) {
				continue;
			}
		}
		if ((r->flags & FOS_RULE_F_SRC) && !ref_in(rules[i].src, rules[i].n_src, p->saddr))
			continue;
		if ((r->flags & FOS_RULE_F_DST) && !ref_in(rules[i].dst, rules[i].n_dst, p->daddr))
			continue;
		return (int)i;
	}
	return -1;
}

/* ---- helpers ------------------------------------------------------------ */

static struct fos_cidr cidr(const char *s)
{
	struct fos_cidr c;

	ck_assert_int_eq(fos_parse_cidr(s, &c, NULL), 0);
	return c;
}

static void addr(const char *s, uint8_t out[16])
{
	struct fos_addr a;
	int fam;

	ck_assert_int_eq(fos_parse_addr(s, &a, &fam, NULL), 0);
	memcpy(out, a.b, 16);
}

static void add_dport(struct fos_rule *r, uint16_t lo, uint16_t hi)
{
	r->flags |= FOS_RULE_F_DPORT;
	r->dport[r->n_dport].lo = lo;
	r->dport[r->n_dport++].hi = hi;
}

static void add_sport(struct fos_rule *r, uint16_t lo, uint16_t hi)
{
	r->flags |= FOS_RULE_F_SPORT;
	r->sport[r->n_sport].lo = lo;
	r->sport[r->n_sport++].hi = hi;
}

static struct fos_classifier *compile_ref(const struct ref_rule *rr, size_t n)
{
	struct fos_rule *rules = calloc(n + 1, sizeof(*rules));
	struct fos_cls_cidrs *cd = calloc(n + 1, sizeof(*cd));
	struct fos_classifier *c = NULL;
	char err[256] = "";

	ck_assert_ptr_nonnull(rules);
	ck_assert_ptr_nonnull(cd);
	for (size_t i = 0; i < n; i++) {
		rules[i] = rr[i].r;
		cd[i] = (struct fos_cls_cidrs){rr[i].src, rr[i].n_src, rr[i].dst, rr[i].n_dst};
	}
	ck_assert_msg(fos_classify_compile(rules, n, cd, err, sizeof(err), &c) == 0, "%s", err);
	free(rules);
	free(cd);
	return c;
}

static struct fos_cls_pkt pkt(uint8_t proto, const char *src, const char *dst, uint16_t sport,
			      uint16_t dport)
{
	struct fos_cls_pkt p = {.proto = proto, .sport = sport, .dport = dport};

	p.ports = proto == P_TCP || proto == P_UDP;
	addr(src, p.saddr);
	addr(dst, p.daddr);
	return p;
}

/* ---- fixed cases -------------------------------------------------------- */

START_TEST(test_empty)
{
	struct fos_classifier *c = NULL;
	struct fos_cls_pkt p = pkt(P_TCP, "192.0.2.1", "192.0.2.2", 1, 2);

	ck_assert_int_eq(fos_classify_compile(NULL, 0, NULL, NULL, 0, &c), 0);
	ck_assert_uint_eq(c->n_words, 0);
	ck_assert_uint_eq(c->flags, 0);
	ck_assert_int_eq(fos_classify_lookup(c, &p), -1);
	fos_classify_free(&c);
	ck_assert_ptr_null(c);
}
END_TEST

START_TEST(test_port_table)
{
	struct ref_rule rr[2] = {0};
	struct fos_classifier *c;
	static const struct {
		uint8_t proto;
		uint16_t dport;
		int rule;
	} cases[] = {
	    {P_TCP, 79, 1}, {P_TCP, 80, 0},    {P_TCP, 89, 0},	{P_TCP, 90, 1},	   {P_UDP, 80, 1},
	    {P_TCP, 0, 1},  {P_TCP, 65535, 0}, {P_ICMP, 0, -1}, {P_TCP, 65534, 1},
	};

	rr[0].r.proto = P_TCP;
	rr[0].r.action = FOS_ACT_PASS;
	add_dport(&rr[0].r, 80, 89);
	add_dport(&rr[0].r, 65535, 65535);
	rr[1].r.proto = FOS_PROTO_ANY;
	rr[1].r.action = FOS_ACT_DROP;
	add_dport(&rr[1].r, 0, 65535);
	c = compile_ref(rr, 2);
	ck_assert_uint_eq(c->n_words, 1);
	/* ports 0-79 | 80-89 | 90-65534 | 65535 hold two distinct rule sets */
	ck_assert_uint_eq(c->dport[FOS_CLS_TCP][0].bm[0], c->dport[FOS_CLS_TCP][90 / 4].bm[2]);
	ck_assert_uint_ne(c->dport[FOS_CLS_TCP][0].bm[0], c->dport[FOS_CLS_TCP][80 / 4].bm[0]);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fos_cls_pkt p =
		    pkt(cases[i].proto, "192.0.2.1", "192.0.2.2", 9, cases[i].dport);

		ck_assert_msg(fos_classify_lookup(c, &p) == cases[i].rule,
			      "case %zu: rule %d, expected %d", i, fos_classify_lookup(c, &p),
			      cases[i].rule);
	}
	fos_classify_free(&c);
}
END_TEST

/* the first rule wins, not the longest prefix */
START_TEST(test_overlapping_cidrs)
{
	struct ref_rule rr[3] = {0};
	struct fos_classifier *c;
	struct fos_cls_pkt both = pkt(P_TCP, "10.1.2.3", "192.0.2.2", 1, 2);
	struct fos_cls_pkt wide = pkt(P_TCP, "10.2.0.1", "192.0.2.2", 1, 2);
	struct fos_cls_pkt none = pkt(P_TCP, "11.0.0.1", "192.0.2.2", 1, 2);
	struct fos_cls_pkt v6 = pkt(P_TCP, "2001:db8::1", "::1", 1, 2);
	struct fos_cls_pkt v6other = pkt(P_TCP, "2001:db9::1", "::1", 1, 2);

	for (int i = 0; i < 3; i++)
		rr[i].r.action = FOS_ACT_DROP;
	rr[0].r.flags = FOS_RULE_F_SRC;
	rr[0].src[rr[0].n_src++] = cidr("10.0.0.0/8");
	rr[1].r.flags = FOS_RULE_F_SRC;
	rr[1].src[rr[1].n_src++] = cidr("10.1.0.0/16");
	rr[2].r.flags = FOS_RULE_F_SRC;
	rr[2].src[rr[2].n_src++] = cidr("2001:db8::/32");
	c = compile_ref(rr, 3);
	ck_assert(c->flags & FOS_SLOT_F_CLS_SRC);
	ck_assert(!(c->flags & FOS_SLOT_F_CLS_DST));
	ck_assert_uint_eq(c->n_prefixes, 3);
	ck_assert_int_eq(fos_classify_lookup(c, &both), 0);
	ck_assert_int_eq(fos_classify_lookup(c, &wide), 0);
	ck_assert_int_eq(fos_classify_lookup(c, &none), -1);
	ck_assert_int_eq(fos_classify_lookup(c, &v6), 2);
	ck_assert_int_eq(fos_classify_lookup(c, &v6other), -1);
	fos_classify_free(&c);

	/* ::/0 is every IPv6 address and no IPv4 one; 0.0.0.0/0 the reverse */
	rr[0].src[0] = cidr("::/0");
	rr[1].src[0] = cidr("0.0.0.0/0");
	c = compile_ref(rr, 2);
	ck_assert_int_eq(fos_classify_lookup(c, &both), 1);
	ck_assert_int_eq(fos_classify_lookup(c, &v6), 0);
	fos_classify_free(&c);
	rr[0].src[0] = cidr("10.0.0.0/8");
	rr[1].src[0] = cidr("10.1.0.0/16");

	/* the other way round: the /16 first */
	rr[0].src[0] = cidr("10.1.0.0/16");
	rr[1].src[0] = cidr("10.0.0.0/8");
	c = compile_ref(rr, 3);
	ck_assert_int_eq(fos_classify_lookup(c, &both), 0);
	ck_assert_int_eq(fos_classify_lookup(c, &wide), 1);
	fos_classify_free(&c);
}
END_TEST

START_TEST(test_sport_only)
{
	struct ref_rule rr[3] = {0};
	struct fos_classifier *c;
	struct fos_cls_pkt a = pkt(P_UDP, "192.0.2.1", "192.0.2.2", 1000, 53);
	struct fos_cls_pkt b = pkt(P_UDP, "192.0.2.1", "192.0.2.2", 2000, 53);
	struct fos_cls_pkt d = pkt(P_UDP, "192.0.2.1", "192.0.2.2", 3000, 53);
	struct fos_cls_pkt i = pkt(P_ICMP, "192.0.2.1", "192.0.2.2", 1000, 53);

	for (int k = 0; k < 3; k++) {
		rr[k].r.proto = P_UDP;
		rr[k].r.action = FOS_ACT_DROP;
		add_dport(&rr[k].r, 53, 53);
	}
	add_sport(&rr[0].r, 1000, 1000);
	add_sport(&rr[1].r, 2000, 2000);
	c = compile_ref(rr, 3);
	ck_assert(c->flags & FOS_SLOT_F_CLS_SPORT);
	ck_assert_int_eq(fos_classify_lookup(c, &a), 0);
	ck_assert_int_eq(fos_classify_lookup(c, &b), 1);
	ck_assert_int_eq(fos_classify_lookup(c, &d), 2);
	ck_assert_int_eq(fos_classify_lookup(c, &i), -1);
	fos_classify_free(&c);
}
END_TEST

START_TEST(test_fragments)
{
	struct ref_rule rr[4] = {0};
	struct fos_classifier *c;
	struct fos_cls_pkt p = pkt(P_UDP, "192.0.2.1", "192.0.2.2", 0, 0);

	/* 0: UDP port pass rule, 1: TCP port drop rule, 2: any-port drop, 3: pass all */
	rr[0].r.proto = P_UDP;
	rr[0].r.action = FOS_ACT_PASS;
	add_dport(&rr[0].r, 53, 53);
	rr[1].r.proto = P_TCP;
	rr[1].r.action = FOS_ACT_DROP;
	add_dport(&rr[1].r, 80, 80);
	rr[2].r.proto = FOS_PROTO_ANY;
	rr[2].r.action = FOS_ACT_DROP;
	add_sport(&rr[2].r, 0, 65535);
	rr[3].r.action = FOS_ACT_PASS;
	c = compile_ref(rr, 4);

	p.ports = false;
	p.frag_no_first = true;
	/* UDP without ports: the pass rule cannot hold, the drop rule may */
	ck_assert_int_eq(fos_classify_lookup(c, &p), 2);
	p.proto = P_TCP;
	ck_assert_int_eq(fos_classify_lookup(c, &p), 1);
	/* ICMP and other protocols never had ports */
	p.proto = P_ICMP;
	ck_assert_int_eq(fos_classify_lookup(c, &p), 3);
	p.proto = 47;
	ck_assert_int_eq(fos_classify_lookup(c, &p), 3);
	/* the L4 protocol unknown: the TCP drop rule holds */
	p.proto = 60;
	p.l4_unknown = true;
	ck_assert_int_eq(fos_classify_lookup(c, &p), 1);
	fos_classify_free(&c);
}
END_TEST

static void set_state(struct fos_rule *r, unsigned classes)
{
	r->flags |= FOS_RULE_F_STATE;
	r->state = classes;
}

#define ST(c) (1U << FOS_CT_##c)

START_TEST(test_state)
{
	struct ref_rule rr[4] = {0};
	struct fos_classifier *c;
	struct fos_cls_pkt p = pkt(P_TCP, "192.0.2.1", "192.0.2.2", 1000, 22);
	struct fos_cls_pkt u = pkt(P_UDP, "192.0.2.1", "192.0.2.2", 1000, 53);
	struct fos_cls_pkt f = pkt(P_TCP, "192.0.2.1", "192.0.2.2", 0, 0);

	/* 0: drop invalid; 1: pass established, related; 2: pass new tcp/22;
	 * 3: drop new with an empty state list (never matches) */
	rr[0].r.action = FOS_ACT_DROP;
	set_state(&rr[0].r, ST(INVALID));
	rr[1].r.action = FOS_ACT_PASS;
	set_state(&rr[1].r, ST(ESTABLISHED) | ST(RELATED));
	rr[2].r.proto = P_TCP;
	rr[2].r.action = FOS_ACT_PASS;
	add_dport(&rr[2].r, 22, 22);
	set_state(&rr[2].r, ST(NEW));
	rr[3].r.action = FOS_ACT_DROP;
	set_state(&rr[3].r, 0);
	c = compile_ref(rr, 4);
	ck_assert(c->flags & FOS_SLOT_F_CLS_STATE);
	ck_assert(!(c->flags & (FOS_SLOT_F_CLS_SRC | FOS_SLOT_F_CLS_DST | FOS_SLOT_F_CLS_SPORT)));

	p.ct_class = FOS_CT_NEW;
	ck_assert_int_eq(fos_classify_lookup(c, &p), 2);
	p.ct_class = FOS_CT_ESTABLISHED;
	ck_assert_int_eq(fos_classify_lookup(c, &p), 1);
	p.ct_class = FOS_CT_RELATED;
	ck_assert_int_eq(fos_classify_lookup(c, &p), 1);
	p.ct_class = FOS_CT_INVALID;
	ck_assert_int_eq(fos_classify_lookup(c, &p), 0);
	/* NEW UDP: only rule 2 allows NEW, and it is TCP/22 */
	u.ct_class = FOS_CT_NEW;
	ck_assert_int_eq(fos_classify_lookup(c, &u), -1);
	u.ct_class = FOS_CT_ESTABLISHED;
	ck_assert_int_eq(fos_classify_lookup(c, &u), 1);
	/* a non-first fragment: the state dimension applies as to any packet */
	f.ports = false;
	f.frag_no_first = true;
	f.ct_class = FOS_CT_INVALID;
	ck_assert_int_eq(fos_classify_lookup(c, &f), 0);
	f.ct_class = FOS_CT_NEW;
	ck_assert_int_eq(fos_classify_lookup(c, &f), -1);
	fos_classify_free(&c);

	/* rules without a state condition hold in every class; no table then */
	memset(rr, 0, sizeof(rr));
	rr[0].r.action = FOS_ACT_DROP;
	c = compile_ref(rr, 1);
	ck_assert(!(c->flags & FOS_SLOT_F_CLS_STATE));
	for (unsigned k = 0; k < _FOS_CT_CLASS_MAX; k++) {
		p.ct_class = k;
		ck_assert_int_eq(fos_classify_lookup(c, &p), 0);
	}
	fos_classify_free(&c);
}
END_TEST

START_TEST(test_errors)
{
	struct fos_rule *rules = calloc(FOS_MAX_RULES + 1, sizeof(*rules));
	struct fos_classifier *c = NULL;
	char err[256] = "";

	ck_assert_ptr_nonnull(rules);
	ck_assert_int_eq(fos_classify_compile(rules, FOS_MAX_RULES + 1, NULL, err, sizeof(err), &c),
			 -E2BIG);
	ck_assert_ptr_null(c);
	rules[3].proto = 47;
	ck_assert_int_eq(fos_classify_compile(rules, 4, NULL, err, sizeof(err), &c), -EINVAL);
	ck_assert_str_eq(err, "rules[3]: protocol 47 cannot be classified");
	ck_assert_ptr_null(c);

	/* random overlapping port ranges: nearly every interval is another
	 * combination of rules */
	srand(7);
	for (int i = 0; i < (int)FOS_MAX_RULES; i++) {
		rules[i] = (struct fos_rule){.proto = P_TCP, .action = FOS_ACT_DROP};
		for (int j = 0; j < (int)FOS_RULE_MAX_PORTS; j++) {
			uint16_t lo = rand() % 60000;

			add_dport(&rules[i], lo, lo + rand() % 5000);
		}
	}
	ck_assert_int_eq(fos_classify_compile(rules, FOS_MAX_RULES, NULL, err, sizeof(err), &c),
			 -E2BIG);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(
	    err, "rules[0-1023]: the ruleset needs more than 8192 distinct rule combinations");
	free(rules);
}
END_TEST

START_TEST(test_hash)
{
	struct ref_rule rr[2] = {0};
	struct fos_classifier *a, *b;
	struct fos_slot s = {.flags = FOS_SLOT_F_BLACKLIST};

	rr[0].r.proto = P_TCP;
	add_dport(&rr[0].r, 22, 22);
	rr[1].r.flags = FOS_RULE_F_DST;
	rr[1].dst[rr[1].n_dst++] = cidr("192.0.2.0/24");
	a = compile_ref(rr, 2);
	b = compile_ref(rr, 2);
	ck_assert_uint_eq(a->hash, b->hash);
	fos_classify_free(&b);
	rr[0].r.dport[0].hi = 23;
	b = compile_ref(rr, 2);
	ck_assert_uint_ne(a->hash, b->hash);
	fos_classify_free(&b);
	rr[0].r.dport[0].hi = 22;
	rr[1].dst[0] = cidr("192.0.3.0/24");
	b = compile_ref(rr, 2);
	ck_assert_uint_ne(a->hash, b->hash);

	fos_classify_slot(a, &s);
	ck_assert_uint_eq(s.flags, FOS_SLOT_F_BLACKLIST | FOS_SLOT_F_CLS_DST);
	ck_assert_uint_eq(s.cls_hash, a->hash);
	ck_assert_uint_eq(s.n_words, 1);
	ck_assert_uint_eq(s.n_bitmaps, a->n_bitmaps);
	ck_assert_uint_eq(s.dst_default_bm, a->dst_default_bm);
	ck_assert_mem_eq(s.frag_bm, a->frag_bm, sizeof(s.frag_bm));
	fos_classify_free(&b);

	/* the state lists are part of the tables */
	rr[1].dst[0] = cidr("192.0.2.0/24");
	set_state(&rr[1].r, ST(NEW));
	b = compile_ref(rr, 2);
	ck_assert_uint_ne(a->hash, b->hash);
	fos_classify_free(&a);
	set_state(&rr[1].r, ST(NEW) | ST(RELATED));
	a = compile_ref(rr, 2);
	ck_assert_uint_ne(a->hash, b->hash);
	fos_classify_slot(b, &s);
	ck_assert_uint_eq(s.flags,
			  FOS_SLOT_F_BLACKLIST | FOS_SLOT_F_CLS_DST | FOS_SLOT_F_CLS_STATE);
	ck_assert_mem_eq(s.state_bm, b->state_bm, sizeof(s.state_bm));
	/* a ruleset without state conditions clears the flag */
	fos_classify_free(&b);
	rr[1].r.flags &= ~FOS_RULE_F_STATE;
	b = compile_ref(rr, 2);
	fos_classify_slot(b, &s);
	ck_assert_uint_eq(s.flags, FOS_SLOT_F_BLACKLIST | FOS_SLOT_F_CLS_DST);
	fos_classify_free(&a);
	fos_classify_free(&b);
}
END_TEST

/* ---- randomised: the compiled lookup equals the rule walk ---------------- */

static const char *const pool4[] = {"10.0.0.0/8",   "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32",
				    "192.0.2.0/24", "0.0.0.0/0",   "10.128.0.0/9"};
static const char *const pool6[] = {"2001:db8::/32", "2001:db8:1::/48", "::/0",
				    "2001:db8:1::1/128"};
static const char *const addrs[] = {"10.1.2.3",	   "10.1.2.4",	 "10.1.3.1", "10.200.0.1",
				    "10.2.0.1",	   "192.0.2.9",	 "11.0.0.1", "2001:db8:1::1",
				    "2001:db8::5", "2001:db9::1"};
static const uint8_t protos[] = {FOS_PROTO_ANY, FOS_PROTO_ANY, P_TCP, P_UDP, P_ICMP, P_ICMPV6};

static uint16_t rnd_port(void)
{
	/* mostly near a few hot values, so rules and packets meet */
	static const uint16_t hot[] = {0, 22, 53, 80, 443, 1024, 65535};

	if (rand() % 4 == 0)
		return rand() % 65536;
	return hot[rand() % 7] + (rand() % 3) - 1;
}

static void rnd_ranges(struct fos_port_range *rg, uint8_t *n)
{
	*n = rand() % 4;
	for (uint8_t i = 0; i < *n; i++) {
		uint16_t a = rnd_port(), b = rand() % 3 ? a : rnd_port();

		rg[i].lo = a < b ? a : b;
		rg[i].hi = a < b ? b : a;
	}
}

static void rnd_cidrs(struct fos_cidr *v, size_t *n)
{
	*n = rand() % 3;
	for (size_t i = 0; i < *n; i++)
		v[i] = cidr(rand() % 3 ? pool4[rand() % 7] : pool6[rand() % 4]);
}

START_TEST(test_random_vs_walk)
{
	static struct ref_rule rr[200];

	srand(1234 + _i);
	for (int round = 0; round < 20; round++) {
		size_t n = 1 + rand() % (sizeof(rr) / sizeof(rr[0]));
		struct fos_classifier *c;

		memset(rr, 0, sizeof(rr));
		for (size_t i = 0; i < n; i++) {
			struct fos_rule *r = &rr[i].r;

			r->proto = protos[rand() % 6];
			r->action = rand() % 3;
			if (rand() % 3 == 0) {
				r->flags |= FOS_RULE_F_DPORT;
				rnd_ranges(r->dport, &r->n_dport);
			}
			if (rand() % 5 == 0) {
				r->flags |= FOS_RULE_F_SPORT;
				rnd_ranges(r->sport, &r->n_sport);
			}
			if (rand() % 3 == 0) {
				r->flags |= FOS_RULE_F_SRC;
				rnd_cidrs(rr[i].src, &rr[i].n_src);
			}
			if (rand() % 4 == 0) {
				r->flags |= FOS_RULE_F_DST;
				rnd_cidrs(rr[i].dst, &rr[i].n_dst);
			}
			/* in half the rounds, a state list (possibly empty) on
			 * about a third of the rules */
			if (round % 2 && rand() % 3 == 0)
				set_state(r, rand() % (1U << _FOS_CT_CLASS_MAX));
		}
		c = compile_ref(rr, n);
		for (int k = 0; k < 2000; k++) {
			static const uint8_t pp[] = {P_TCP, P_UDP, P_ICMP, P_ICMPV6, 47, 60};
			struct fos_cls_pkt p = pkt(pp[rand() % 6], addrs[rand() % 10],
						   addrs[rand() % 10], rnd_port(), rnd_port());
			int want, got;

			if (rand() % 5 == 0) {
				p.frag_no_first = true;
				p.ports = false;
				p.l4_unknown = p.proto == 60;
			}
			p.ct_class = rand() % _FOS_CT_CLASS_MAX;
			want = ref_match(rr, n, &p);
			got = fos_classify_lookup(c, &p);
			ck_assert_msg(got == want,
				      "round %d packet %d: proto %u sport %u dport %u frag %d "
				      "class %u: rule %d, the walk says %d",
				      round, k, p.proto, p.sport, p.dport, p.frag_no_first,
				      p.ct_class, got, want);
		}
		fos_classify_free(&c);
	}
}
END_TEST

static Suite *classify_suite(void)
{
	Suite *s = suite_create("classify");
	TCase *tc = tcase_create("compile");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_port_table);
	tcase_add_test(tc, test_overlapping_cidrs);
	tcase_add_test(tc, test_sport_only);
	tcase_add_test(tc, test_fragments);
	tcase_add_test(tc, test_state);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_hash);
	tcase_add_loop_test(tc, test_random_vs_walk, 0, 5);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(classify_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
