// SPDX-License-Identifier: GPL-2.0-only
/*
 * Rule classifier compiler (see classify.h).
 *
 * Every dimension maps a packet field to the set of rules whose condition on
 * that field holds, as a bitmap. Bitmaps are interned: equal bitmaps share
 * one index, so a table of 65536 ports holds as many distinct bitmaps as
 * there are distinct port intervals, not one per port.
 *
 * State: one bitmap per conntrack class, of the rules whose state list holds
 * it (a rule without a state condition is in all of them).
 *
 * Ports: a sweep over the sorted range boundaries, keeping per rule the number
 * of its ranges that cover the current port. Addresses: the rule prefixes
 * sorted by (network, length) are a depth-first walk of the prefix tree, so a
 * stack of the enclosing prefixes gives each prefix the union of the rules of
 * every prefix that contains it; the longest prefix matching an address then
 * holds exactly the rules whose CIDR list contains the address.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "cleanup.h"

#define _FOS_CLS_HT_SIZE  (2 * FOS_CLS_MAX_BITMAPS) /* open addressing, power of two */
#define _FOS_CLS_HT_EMPTY 0xffffU

struct _fos_cls_ctx {
	struct fos_classifier *c;
	uint16_t *ht; /* bitmap indexes, _FOS_CLS_HT_EMPTY if free */
	char *err;
	size_t errlen;
};

static int _fos_cls_fail(struct _fos_cls_ctx *x, int r, const char *fmt, ...)
{
	va_list ap;

	if (x->err && x->errlen) {
		va_start(ap, fmt);
		vsnprintf(x->err, x->errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

static uint64_t _fos_fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static inline void _fos_bit_set(struct fos_cls_bitmap *b, uint32_t i)
{
	b->w[i / 64] |= 1ULL << (i % 64);
}

static inline void _fos_bit_clear(struct fos_cls_bitmap *b, uint32_t i)
{
	b->w[i / 64] &= ~(1ULL << (i % 64));
}

/* The index of bitmap b, added if new. */
static int _fos_cls_intern(struct _fos_cls_ctx *x, const struct fos_cls_bitmap *b, uint16_t *ret)
{
	struct fos_classifier *c = x->c;
	size_t words = c->n_words ? c->n_words : 1;
	uint64_t h = _fos_fnv(0xcbf29ce484222325ULL, b, words * sizeof(b->w[0]));
	uint32_t slot = (uint32_t)(h ^ h >> 32) & (_FOS_CLS_HT_SIZE - 1);

	for (;; slot = (slot + 1) & (_FOS_CLS_HT_SIZE - 1)) {
		uint16_t idx = x->ht[slot];

		if (idx == _FOS_CLS_HT_EMPTY)
			break;
		if (memcmp(&c->bitmaps[idx], b, sizeof(*b)) == 0) {
			*ret = idx;
			return 0;
		}
	}
	if (c->n_bitmaps >= FOS_CLS_MAX_BITMAPS)
		return _fos_cls_fail(x, -E2BIG,
				     "rules[0-%u]: the ruleset needs more than %u distinct rule "
				     "combinations",
				     c->n_rules ? c->n_rules - 1 : 0, FOS_CLS_MAX_BITMAPS);
	c->bitmaps[c->n_bitmaps] = *b;
	x->ht[slot] = c->n_bitmaps;
	*ret = c->n_bitmaps++;
	return 0;
}

static const uint8_t _fos_cls_proto[_FOS_CLS_MAX] = {
    [FOS_CLS_TCP] = IPPROTO_TCP,   [FOS_CLS_UDP] = IPPROTO_UDP,
    [FOS_CLS_ICMP] = IPPROTO_ICMP, [FOS_CLS_ICMPV6] = IPPROTO_ICMPV6,
    [FOS_CLS_OTHER] = IPPROTO_RAW, [FOS_CLS_UNKNOWN] = IPPROTO_RAW,
};

enum fos_cls_class fos_classify_class(uint8_t proto, bool l4_unknown)
{
	if (l4_unknown)
		return FOS_CLS_UNKNOWN;
	switch (proto) {
	case IPPROTO_TCP:
		return FOS_CLS_TCP;
	case IPPROTO_UDP:
		return FOS_CLS_UDP;
	case IPPROTO_ICMP:
		return FOS_CLS_ICMP;
	case IPPROTO_ICMPV6:
		return FOS_CLS_ICMPV6;
	default:
		return FOS_CLS_OTHER;
	}
}

static bool _fos_rule_has_ports(const struct fos_rule *r)
{
	return r->flags & (FOS_RULE_F_SPORT | FOS_RULE_F_DPORT);
}

/* does rule r's protocol condition hold for class cls (not FOS_CLS_UNKNOWN)? */
static bool _fos_rule_proto_ok(const struct fos_rule *r, enum fos_cls_class cls)
{
	if (r->proto == FOS_PROTO_ANY)
		return true;
	return cls != FOS_CLS_OTHER && r->proto == _fos_cls_proto[cls];
}

/* L4 bitmaps of packets without ports, and of port-less non-first fragments */
static int _fos_cls_noport(struct _fos_cls_ctx *x, const struct fos_rule *rules)
{
	struct fos_classifier *c = x->c;
	int r;

	for (int cls = 0; cls < _FOS_CLS_MAX; cls++) {
		struct fos_cls_bitmap np = {{0}}, fr = {{0}};

		for (uint32_t i = 0; i < c->n_rules; i++) {
			const struct fos_rule *ru = &rules[i];
			bool drop = ru->action == FOS_ACT_DROP;
			bool ports = _fos_rule_has_ports(ru);

			if (cls == FOS_CLS_UNKNOWN) {
				/* neither protocol nor ports known: conditions on them
				 * hold only for a rule that drops */
				if ((ru->proto == FOS_PROTO_ANY || drop) && (!ports || drop))
					_fos_bit_set(&fr, i);
				continue;
			}
			if (!_fos_rule_proto_ok(ru, cls))
				continue;
			if (!ports)
				_fos_bit_set(&np, i);
			/* TCP and UDP fragments had ports, unknown to us: a drop
			 * rule's port condition holds */
			if (!ports || (drop && (cls == FOS_CLS_TCP || cls == FOS_CLS_UDP)))
				_fos_bit_set(&fr, i);
		}
		if (cls == FOS_CLS_UNKNOWN)
			np = fr;
		r = _fos_cls_intern(x, &np, &c->noport_bm[cls]);
		if (r < 0)
			return r;
		r = _fos_cls_intern(x, &fr, &c->frag_bm[cls]);
		if (r < 0)
			return r;
	}
	return 0;
}

struct _fos_port_ev {
	uint32_t port;
	uint32_t rule;
	int delta;
};

static int _fos_port_ev_cmp(const void *a, const void *b)
{
	const struct _fos_port_ev *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/*
 * One port table: for cls TCP/UDP the destination port dimension (protocol
 * included), for cls < 0 the source port dimension. A rule without the port
 * condition is in every entry (if its protocol fits).
 */
static int _fos_cls_ports(struct _fos_cls_ctx *x, const struct fos_rule *rules, int cls,
			  struct fos_cls_ports *out)
{
	struct fos_classifier *c = x->c;
	uint32_t flag = cls < 0 ? FOS_RULE_F_SPORT : FOS_RULE_F_DPORT;
	_cleanup_free_ struct _fos_port_ev *ev = NULL;
	_cleanup_free_ uint16_t *cnt = NULL;
	struct fos_cls_bitmap cur = {{0}};
	size_t n_ev = 0, e = 0;
	uint32_t p = 0;
	int r;

	ev = malloc((size_t)c->n_rules * FOS_RULE_MAX_PORTS * 2 * sizeof(*ev) + sizeof(*ev));
	cnt = calloc(c->n_rules + 1, sizeof(*cnt));
	if (!ev || !cnt)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->n_rules; i++) {
		const struct fos_rule *ru = &rules[i];
		const struct fos_port_range *rg = cls < 0 ? ru->sport : ru->dport;
		uint32_t n = cls < 0 ? ru->n_sport : ru->n_dport;

		if (cls >= 0 && !_fos_rule_proto_ok(ru, cls))
			continue;
		if (!(ru->flags & flag)) {
			_fos_bit_set(&cur, i);
			continue;
		}
		if (n > FOS_RULE_MAX_PORTS)
			n = FOS_RULE_MAX_PORTS;
		for (uint32_t j = 0; j < n; j++) {
			if (rg[j].lo > rg[j].hi)
				continue;
			ev[n_ev++] = (struct _fos_port_ev){rg[j].lo, i, 1};
			if (rg[j].hi < 65535)
				ev[n_ev++] = (struct _fos_port_ev){rg[j].hi + 1U, i, -1};
		}
	}
	qsort(ev, n_ev, sizeof(*ev), _fos_port_ev_cmp);

	while (p < 65536) {
		uint32_t next;
		uint16_t idx;

		for (; e < n_ev && ev[e].port == p; e++) {
			uint32_t i = ev[e].rule;

			cnt[i] += ev[e].delta;
			if (cnt[i])
				_fos_bit_set(&cur, i);
			else
				_fos_bit_clear(&cur, i);
		}
		next = e < n_ev ? ev[e].port : 65536;
		r = _fos_cls_intern(x, &cur, &idx);
		if (r < 0)
			return r;
		for (; p < next; p++)
			out[p / FOS_CLS_PORT_GROUP].bm[p % FOS_CLS_PORT_GROUP] = idx;
	}
	return 0;
}

/* the conntrack class dimension, when some rule has a state condition */
static int _fos_cls_state(struct _fos_cls_ctx *x, const struct fos_rule *rules)
{
	struct fos_classifier *c = x->c;
	bool used = false;
	int r;

	for (uint32_t i = 0; i < c->n_rules; i++)
		if (rules[i].flags & FOS_RULE_F_STATE)
			used = true;
	if (!used)
		return 0;
	c->flags |= FOS_SLOT_F_CLS_STATE;
	for (int cls = 0; cls < _FOS_CT_CLASS_MAX; cls++) {
		struct fos_cls_bitmap b = {{0}};

		for (uint32_t i = 0; i < c->n_rules; i++)
			if (!(rules[i].flags & FOS_RULE_F_STATE) || (rules[i].state & (1U << cls)))
				_fos_bit_set(&b, i);
		r = _fos_cls_intern(x, &b, &c->state_bm[cls]);
		if (r < 0)
			return r;
	}
	return 0;
}

struct _fos_pfx {
	uint8_t v4;	  /* the family: IPv4 and IPv6 prefixes never nest */
	uint8_t addr[16]; /* host bits cleared */
	uint32_t plen;	  /* 0-128 */
	uint32_t rule;
};

static int _fos_pfx_cmp(const void *a, const void *b)
{
	const struct _fos_pfx *x = a, *y = b;
	int c = memcmp(x->addr, y->addr, sizeof(x->addr));

	if (x->v4 != y->v4)
		return x->v4 < y->v4 ? -1 : 1;
	if (c)
		return c;
	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static void _fos_addr_mask(uint8_t a[16], uint32_t plen)
{
	for (uint32_t i = plen; i < 128; i++)
		a[i / 8] &= ~(0x80 >> (i % 8));
}

/* does prefix (q, qlen) contain address a? */
static bool _fos_pfx_contains(const uint8_t q[16], uint32_t qlen, const uint8_t a[16])
{
	uint32_t full = qlen / 8, rest = qlen % 8;

	if (memcmp(q, a, full) != 0)
		return false;
	if (rest && (q[full] ^ a[full]) & (0xff00 >> rest))
		return false;
	return true;
}

struct _fos_pfx_frame {
	const struct _fos_pfx *p;
	struct fos_cls_bitmap acc;
};

/* one address dimension: its prefixes and its default bitmap */
static int _fos_cls_addrs(struct _fos_cls_ctx *x, const struct fos_rule *rules,
			  const struct fos_cls_cidrs *cidrs, enum fos_cls_dim dim)
{
	struct fos_classifier *c = x->c;
	uint32_t flag = dim == FOS_CLS_DIM_SRC ? FOS_RULE_F_SRC : FOS_RULE_F_DST;
	_cleanup_free_ struct _fos_pfx *v = NULL;
	_cleanup_free_ struct _fos_pfx_frame *st = NULL;
	struct fos_cls_bitmap dflt = {{0}};
	size_t n = 0, cap = 0, depth = 0;
	bool used = false;
	uint16_t *ret_dflt = dim == FOS_CLS_DIM_SRC ? &c->src_default_bm : &c->dst_default_bm;
	int r;

	for (uint32_t i = 0; i < c->n_rules; i++) {
		if (!(rules[i].flags & flag)) {
			_fos_bit_set(&dflt, i);
			continue;
		}
		used = true;
		if (cidrs)
			cap += dim == FOS_CLS_DIM_SRC ? cidrs[i].n_src : cidrs[i].n_dst;
	}
	if (!used)
		return 0;
	c->flags |= dim == FOS_CLS_DIM_SRC ? FOS_SLOT_F_CLS_SRC : FOS_SLOT_F_CLS_DST;
	r = _fos_cls_intern(x, &dflt, ret_dflt);
	if (r < 0)
		return r;

	v = calloc(cap + 1, sizeof(*v));
	st = calloc(130, sizeof(*st));
	if (!v || !st)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->n_rules && cidrs; i++) {
		const struct fos_cidr *l = dim == FOS_CLS_DIM_SRC ? cidrs[i].src : cidrs[i].dst;
		size_t nl = dim == FOS_CLS_DIM_SRC ? cidrs[i].n_src : cidrs[i].n_dst;

		if (!(rules[i].flags & flag))
			continue;
		for (size_t j = 0; j < nl; j++) {
			struct _fos_pfx *p = &v[n++];

			memcpy(p->addr, l[j].addr.b, sizeof(p->addr));
			p->v4 = fos_cidr_is_v4(&l[j]);
			p->plen = fos_cidr_plen128(&l[j]);
			if (p->plen > 128)
				p->plen = 128;
			_fos_addr_mask(p->addr, p->plen);
			p->rule = i;
		}
	}
	qsort(v, n, sizeof(*v), _fos_pfx_cmp);

	for (size_t i = 0; i < n;) {
		const struct _fos_pfx *p = &v[i];
		struct _fos_pfx_frame *f;
		struct fos_cls_prefix *out;
		uint16_t idx;

		while (depth &&
		       (st[depth - 1].p->v4 != p->v4 ||
			!_fos_pfx_contains(st[depth - 1].p->addr, st[depth - 1].p->plen, p->addr)))
			depth--;
		f = &st[depth];
		f->p = p;
		f->acc = depth ? st[depth - 1].acc : dflt;
		depth++;
		/* the rules of every entry of this prefix */
		for (; i < n && v[i].v4 == p->v4 && v[i].plen == p->plen &&
		       !memcmp(v[i].addr, p->addr, 16);
		     i++)
			_fos_bit_set(&f->acc, v[i].rule);

		if (c->n_prefixes >= FOS_CLS_MAX_PREFIXES)
			return _fos_cls_fail(x, -E2BIG,
					     "rules[0-%u]: the ruleset has more than %u distinct "
					     "CIDR prefixes",
					     c->n_rules - 1, FOS_CLS_MAX_PREFIXES);
		out = &c->prefixes[c->n_prefixes];
		memset(out, 0, sizeof(*out));
		out->key.prefixlen = FOS_CLS_ADDR_KEY_PREFIX + p->plen;
		out->key.dim = dim;
		out->key.v4 = p->v4;
		memcpy(out->key.addr, p->addr, sizeof(out->key.addr));
		r = _fos_cls_intern(x, &f->acc, &idx);
		if (r < 0)
			return r;
		out->bm = idx;
		c->n_prefixes++;
	}
	return 0;
}

static void _fos_cls_hash(struct fos_classifier *c)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = _fos_fnv(h, &c->n_rules, sizeof(c->n_rules));
	h = _fos_fnv(h, &c->flags, sizeof(c->flags));
	h = _fos_fnv(h, &c->n_words, sizeof(c->n_words));
	h = _fos_fnv(h, &c->n_bitmaps, sizeof(c->n_bitmaps));
	h = _fos_fnv(h, &c->src_default_bm, sizeof(c->src_default_bm));
	h = _fos_fnv(h, &c->dst_default_bm, sizeof(c->dst_default_bm));
	h = _fos_fnv(h, c->noport_bm, sizeof(c->noport_bm));
	h = _fos_fnv(h, c->frag_bm, sizeof(c->frag_bm));
	h = _fos_fnv(h, c->state_bm, sizeof(c->state_bm));
	h = _fos_fnv(h, c->dport, sizeof(c->dport));
	h = _fos_fnv(h, c->sport, sizeof(c->sport));
	h = _fos_fnv(h, c->bitmaps, c->n_bitmaps * sizeof(c->bitmaps[0]));
	h = _fos_fnv(h, c->prefixes, c->n_prefixes * sizeof(c->prefixes[0]));
	c->hash = h;
}

void fos_classify_free(struct fos_classifier **c)
{
	if (!*c)
		return;
	free((*c)->bitmaps);
	free((*c)->prefixes);
	free(*c);
	*c = NULL;
}

int fos_classify_compile(const struct fos_rule *rules, size_t n_rules,
			 const struct fos_cls_cidrs *cidrs, char *err, size_t errlen,
			 struct fos_classifier **ret)
{
	_cleanup_(fos_classify_free) struct fos_classifier *c = NULL;
	_cleanup_free_ uint16_t *ht = NULL;
	struct _fos_cls_ctx x = {.err = err, .errlen = errlen};
	size_t n_pfx = 0;
	int r;

	if (n_rules > FOS_MAX_RULES)
		return _fos_cls_fail(&x, -E2BIG, "rules: %zu rules, at most %u are supported",
				     n_rules, FOS_MAX_RULES);
	for (size_t i = 0; i < n_rules; i++) {
		uint8_t p = rules[i].proto;

		if (p != FOS_PROTO_ANY && p != IPPROTO_TCP && p != IPPROTO_UDP &&
		    p != IPPROTO_ICMP && p != IPPROTO_ICMPV6)
			return _fos_cls_fail(&x, -EINVAL,
					     "rules[%zu]: protocol %u cannot be classified", i, p);
		if (cidrs)
			n_pfx += cidrs[i].n_src + cidrs[i].n_dst;
	}

	c = calloc(1, sizeof(*c));
	ht = malloc(_FOS_CLS_HT_SIZE * sizeof(*ht));
	if (!c || !ht)
		return -ENOMEM;
	memset(ht, 0xff, _FOS_CLS_HT_SIZE * sizeof(*ht));
	c->bitmaps = calloc(FOS_CLS_MAX_BITMAPS, sizeof(*c->bitmaps));
	c->prefixes = calloc(n_pfx < FOS_CLS_MAX_PREFIXES ? n_pfx + 1 : FOS_CLS_MAX_PREFIXES,
			     sizeof(*c->prefixes));
	if (!c->bitmaps || !c->prefixes)
		return -ENOMEM;
	c->n_rules = n_rules;
	c->n_words = (n_rules + 63) / 64;
	x.c = c;
	x.ht = ht;

	r = _fos_cls_noport(&x, rules);
	if (r < 0)
		return r;
	r = _fos_cls_ports(&x, rules, FOS_CLS_TCP, c->dport[FOS_CLS_TCP]);
	if (r < 0)
		return r;
	r = _fos_cls_ports(&x, rules, FOS_CLS_UDP, c->dport[FOS_CLS_UDP]);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_rules; i++)
		if (rules[i].flags & FOS_RULE_F_SPORT)
			c->flags |= FOS_SLOT_F_CLS_SPORT;
	if (c->flags & FOS_SLOT_F_CLS_SPORT) {
		r = _fos_cls_ports(&x, rules, -1, c->sport);
		if (r < 0)
			return r;
	}
	r = _fos_cls_state(&x, rules);
	if (r < 0)
		return r;
	r = _fos_cls_addrs(&x, rules, cidrs, FOS_CLS_DIM_SRC);
	if (r < 0)
		return r;
	r = _fos_cls_addrs(&x, rules, cidrs, FOS_CLS_DIM_DST);
	if (r < 0)
		return r;
	_fos_cls_hash(c);
	*ret = TAKE_PTR(c);
	return 0;
}

void fos_classify_slot(const struct fos_classifier *c, struct fos_slot *s)
{
	s->flags &= ~(FOS_SLOT_F_CLS_SPORT | FOS_SLOT_F_CLS_SRC | FOS_SLOT_F_CLS_DST |
		      FOS_SLOT_F_CLS_STATE);
	s->flags |= c->flags;
	s->cls_hash = c->hash;
	s->n_words = c->n_words;
	s->n_bitmaps = c->n_bitmaps;
	s->src_default_bm = c->src_default_bm;
	s->dst_default_bm = c->dst_default_bm;
	memcpy(s->noport_bm, c->noport_bm, sizeof(s->noport_bm));
	memcpy(s->frag_bm, c->frag_bm, sizeof(s->frag_bm));
	memcpy(s->state_bm, c->state_bm, sizeof(s->state_bm));
}

static const struct fos_cls_bitmap *_fos_cls_addr_bm(const struct fos_classifier *c,
						     enum fos_cls_dim dim, const uint8_t a[16])
{
	const struct fos_cls_prefix *best = NULL;
	/* accepted IPv6 packets never carry IPv4-mapped addresses, so the
	 * mapped form tells the family */
	struct fos_addr fa;
	uint8_t v4;

	memcpy(fa.b, a, sizeof(fa.b));
	v4 = fos_addr_is_v4(&fa);
	for (size_t i = 0; i < c->n_prefixes; i++) {
		const struct fos_cls_prefix *p = &c->prefixes[i];

		if (p->key.dim != dim || p->key.v4 != v4 ||
		    !_fos_pfx_contains(p->key.addr, p->key.prefixlen - FOS_CLS_ADDR_KEY_PREFIX, a))
			continue;
		if (!best || p->key.prefixlen > best->key.prefixlen)
			best = p;
	}
	if (best)
		return &c->bitmaps[best->bm];
	return &c->bitmaps[dim == FOS_CLS_DIM_SRC ? c->src_default_bm : c->dst_default_bm];
}

int fos_classify_lookup(const struct fos_classifier *c, const struct fos_cls_pkt *p)
{
	const struct fos_cls_bitmap *l4, *sp, *st, *sa, *da;
	enum fos_cls_class cls = fos_classify_class(p->proto, p->l4_unknown);

	if (p->ports && (cls == FOS_CLS_TCP || cls == FOS_CLS_UDP))
		l4 = &c->bitmaps[c->dport[cls][p->dport / FOS_CLS_PORT_GROUP]
				     .bm[p->dport % FOS_CLS_PORT_GROUP]];
	else
		l4 = &c->bitmaps[p->frag_no_first ? c->frag_bm[cls] : c->noport_bm[cls]];
	sp = st = sa = da = l4;
	if ((c->flags & FOS_SLOT_F_CLS_SPORT) && p->ports)
		sp = &c->bitmaps[c->sport[p->sport / FOS_CLS_PORT_GROUP]
				     .bm[p->sport % FOS_CLS_PORT_GROUP]];
	if (c->flags & FOS_SLOT_F_CLS_STATE)
		st = &c->bitmaps[c->state_bm[p->ct_class % _FOS_CT_CLASS_MAX]];
	if (c->flags & FOS_SLOT_F_CLS_SRC)
		sa = _fos_cls_addr_bm(c, FOS_CLS_DIM_SRC, p->saddr);
	if (c->flags & FOS_SLOT_F_CLS_DST)
		da = _fos_cls_addr_bm(c, FOS_CLS_DIM_DST, p->daddr);
	for (uint32_t i = 0; i < c->n_words; i++) {
		uint64_t w = l4->w[i] & sp->w[i] & st->w[i] & sa->w[i] & da->w[i];

		if (w)
			return i * 64 + __builtin_ctzll(w);
	}
	return -1;
}
