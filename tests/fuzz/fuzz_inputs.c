// SPDX-License-Identifier: GPL-2.0-only
/*
 * Mutation fuzzing of everything an operator or a client can feed fos: config
 * text, IPC byte streams and the value parsers. Seeds are real configs; each
 * iteration mutates one (flips, inserts, deletes, splices, truncates) with a
 * fixed-seed generator, so a failure reproduces. Memory errors are caught by
 * the sanitizer build; the invariants below are checked in every build.
 *
 * Usage: fuzz-inputs SEED_FILE... (iterations: FOS_FUZZ_ITERATIONS, default
 * 20000; seed: FOS_FUZZ_SEED)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "config.h"
#include "fos/abi.h"
#include "ipc.h"
#include "parse.h"

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static unsigned failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			failures++;                                                                \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                       \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

struct buf {
	char *p;
	size_t n;
};

static const char *const dictionary[] = {
    "programs",
    "ipSets",
    "daemon",
    "settings",
    "actions",
    "rules",
    "match",
    "dstPort",
    "srcPort",
    "dstPorts",
    "srcCIDR",
    "dstCIDR",
    "protocol",
    "redirect",
    "drop",
    "pass",
    "\"tcp\"",
    "\"udp\"",
    "\"icmpv6\"",
    "=",
    ";",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    "\"",
    "65536",
    "-1",
    "0",
    "\"1-2\"",
    "\"::/0\"",
    "\"10.0.0.0/8\"",
    "@include",
    "true",
    "1e999",
    "0x7fffffff",
    "\"\\n\"",
    "natConfigs",
    "portMappings",
    "internalIP",
    "externalPort",
    "internalPort",
    "sourceCIDRs",
    "excludeCIDRs",
    "\"masquerade\"",
    "\"static\"",
    "\"both\"",
    "externalIP",
    "portRange",
    "\"1024-65535\"",
    "maxConnections",
    "\"fd00::1\"",
};

static void mutate(struct buf *b)
{
	unsigned ops = 1 + rng() % 4;

	for (unsigned o = 0; o < ops; o++) {
		size_t at = b->n ? rng() % (b->n + 1) : 0;

		switch (rng() % 6) {
		case 0: /* flip a byte */
			if (b->n)
				b->p[at % b->n] ^= (char)(1u << (rng() % 8));
			break;
		case 1: /* delete a run */
			if (b->n) {
				size_t len = 1 + rng() % 16;

				at %= b->n;
				if (at + len > b->n)
					len = b->n - at;
				memmove(b->p + at, b->p + at + len, b->n - at - len);
				b->n -= len;
			}
			break;
		case 2:	  /* insert a dictionary word */
		case 3: { /* insert random bytes */
			char tmp[32];
			const char *w = tmp;
			size_t len;

			if (rng() % 6 == 2) {
				w = dictionary[rng() % ARRAY_SIZE(dictionary)];
				len = strlen(w);
			} else {
				len = 1 + rng() % sizeof(tmp);
				for (size_t i = 0; i < len; i++)
					tmp[i] = (char)rng();
			}
			b->p = realloc(b->p, b->n + len + 1);
			if (!b->p)
				abort();
			memmove(b->p + at + len, b->p + at, b->n - at);
			memcpy(b->p + at, w, len);
			b->n += len;
			break;
		}
		case 4: /* truncate */
			b->n = at;
			break;
		default: /* duplicate a run (nesting, repeated keys) */
			if (b->n) {
				size_t from = rng() % b->n, len = 1 + rng() % 64;

				if (from + len > b->n)
					len = b->n - from;
				b->p = realloc(b->p, b->n + len + 1);
				if (!b->p)
					abort();
				memmove(b->p + at + len, b->p + at, b->n - at);
				memmove(b->p + at, b->p + (from < at ? from : from + len), len);
				b->n += len;
			}
			break;
		}
	}
	b->p[b->n] = 0;
}

static void fuzz_config(const struct buf *in)
{
	struct fos_config *cfg = NULL;
	struct fos_errors errs = {};
	int r;

	r = fos_config_load_string("fuzz.conf", in->p, &cfg, &errs);
	if (r == 0) {
		CHECK(cfg != NULL, "load succeeded without a config");
		CHECK(errs.n == 0, "load succeeded with %zu errors", errs.n);
		for (size_t i = 0; cfg && i < cfg->n_programs; i++)
			CHECK(cfg->programs[i].n_rules <= FOS_MAX_RULES, "too many rules accepted");
		for (size_t i = 0; cfg && i < cfg->n_nats; i++) {
			const struct fos_nat_cfg *n = &cfg->nats[i];

			CHECK(n->source_if[0] && n->dest_if[0], "a natConfig without interfaces");
			CHECK(n->families != 0, "a natConfig without a family");
			CHECK(!n->has_range || (n->port_lo >= 1 && n->port_lo <= n->port_hi),
			      "port range %u-%u accepted", n->port_lo, n->port_hi);
			for (size_t j = 0; j < n->n_maps; j++)
				CHECK(n->maps[j].ext_hi - n->maps[j].ext_lo ==
					  n->maps[j].int_hi - n->maps[j].int_lo,
				      "port map ranges of different lengths accepted");
		}
	} else {
		CHECK(cfg == NULL, "failed load wrote its output");
		CHECK(errs.n > 0, "load failed (%d) without saying why", r);
		for (size_t i = 0; i < errs.n; i++)
			CHECK(strncmp(errs.msgs[i], "fuzz.conf:", 10) == 0,
			      "error without file:line: %s", errs.msgs[i]);
	}
	fos_config_free(cfg);
	fos_errors_clear(&errs);
}

static void fuzz_ipc(const struct buf *in)
{
	struct fos_ipc_reader rd = {};
	size_t off = 0;

	/* the same bytes in random pieces, as a socket delivers them */
	while (off < in->n) {
		size_t len = 1 + rng() % 64;
		json_object *msg = NULL;
		int r;

		if (off + len > in->n)
			len = in->n - off;
		if (fos_ipc_reader_feed(&rd, in->p + off, len) < 0)
			break;
		off += len;
		while ((r = fos_ipc_reader_next(&rd, &msg)) == 1) {
			CHECK(json_object_is_type(msg, json_type_object), "non-object accepted");
			json_object_put(msg);
		}
		CHECK(r == 0 || r == -EBADMSG || r == -EMSGSIZE, "reader returned %d", r);
		if (r == -EMSGSIZE)
			break;
	}
	fos_ipc_reader_free(&rd);
}

static void fuzz_parsers(const struct buf *in)
{
	char s[80], err[FOS_ERRBUF], out[FOS_CIDR_STRLEN];
	size_t start = in->n ? rng() % in->n : 0, len = rng() % 40;
	struct fos_cidr c, c2;
	uint16_t lo, hi;
	uint64_t v;

	if (start + len > in->n)
		len = in->n - start;
	memcpy(s, in->p + start, len);
	s[len] = 0;

	if (fos_parse_cidr(s, &c, err) == 0) {
		/* canonical text parses back to the same prefix */
		CHECK(fos_cidr_to_string(&c, out, sizeof(out)) != NULL, "no text for a CIDR");
		CHECK(fos_parse_cidr(out, &c2, err) == 0, "%s does not parse back: %s", out, err);
		CHECK(fos_cidr_plen128(&c) == fos_cidr_plen128(&c2) &&
			  memcmp(c.addr.b, c2.addr.b, 16) == 0,
		      "%s changed on a round trip", out);
	}
	if (fos_parse_port_range(s, &lo, &hi, err) == 0)
		CHECK(lo <= hi, "range %u-%u from \"%s\"", lo, hi, s);
	(void)fos_parse_rate(s, &v, err);
	(void)fos_parse_duration(s, &v, err);
	(void)fos_parse_protocol(s, (uint8_t *)&lo, err);
}

static int read_file(const char *path, struct buf *ret)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	struct buf b = {};
	long n;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0)
		return -errno;
	b.p = malloc((size_t)n + 1);
	if (!b.p)
		return -ENOMEM;
	b.n = fread(b.p, 1, (size_t)n, f);
	b.p[b.n] = 0;
	*ret = b;
	return 0;
}

int main(int argc, char **argv)
{
	const char *it = getenv("FOS_FUZZ_ITERATIONS"), *sd = getenv("FOS_FUZZ_SEED");
	unsigned long iterations = it ? strtoul(it, NULL, 10) : 20000;
	static const char ipc_seed[] =
	    "{\"method\":\"fos.Show.Set\",\"parameters\":{\"name\":\"x\"}}\0"
	    "{\"parameters\":{\"entries\":[1,2,3]},\"continues\":true}\0[1]\0\"s\"\0{\0";
	struct buf *seeds;
	size_t n_seeds = 0;

	rng_state = sd ? strtoull(sd, NULL, 10) | 1 : 0x9e3779b97f4a7c15ULL;
	seeds = calloc((size_t)argc + 1, sizeof(*seeds));
	if (!seeds)
		return 1;
	for (int i = 1; i < argc; i++) {
		if (read_file(argv[i], &seeds[n_seeds]) < 0) {
			fprintf(stderr, "cannot read seed %s\n", argv[i]);
			return 1;
		}
		n_seeds++;
	}
	seeds[n_seeds].p = malloc(sizeof(ipc_seed));
	memcpy(seeds[n_seeds].p, ipc_seed, sizeof(ipc_seed));
	seeds[n_seeds++].n = sizeof(ipc_seed) - 1;

	for (unsigned long i = 0; i < iterations; i++) {
		const struct buf *s = &seeds[rng() % n_seeds];
		struct buf b = {.p = malloc(s->n + 1), .n = s->n};

		if (!b.p)
			return 1;
		memcpy(b.p, s->p, s->n);
		b.p[b.n] = 0;
		mutate(&b);
		fuzz_config(&b);
		fuzz_ipc(&b);
		fuzz_parsers(&b);
		free(b.p);
	}
	for (size_t i = 0; i < n_seeds; i++)
		free(seeds[i].p);
	free(seeds);
	printf("%lu inputs, %u failures\n", iterations, failures);
	return failures ? 1 : 0;
}
