// SPDX-License-Identifier: GPL-2.0-only
/* The benchmark ruleset as a fos set file, fos configs and an nftables ruleset. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "ruleset.h"

enum { BL_V4_24, BL_V4_32, BL_V6_48 };

/* Entry n of the blacklist in text form; returns its kind. */
static int bl_entry(unsigned n, char *buf, size_t len)
{
	if (n < BENCH_BL_V4_24) {
		snprintf(buf, len, "10.%u.%u.0/24", n >> 6, (n & 63) * 4);
		return BL_V4_24;
	}
	n -= BENCH_BL_V4_24;
	if (n < BENCH_BL_V4_32) {
		snprintf(buf, len, "172.16.%u.%u/32", n >> 7, (n & 127) * 2 + 1);
		return BL_V4_32;
	}
	n -= BENCH_BL_V4_32;
	snprintf(buf, len, "2001:db8:%x::/48", n * 2);
	return BL_V6_48;
}

struct bench_rule {
	const char *proto;
	unsigned dport;	   /* one port, or the first of two with the range below */
	unsigned range_lo; /* 0: no range */
	char src[32];	   /* "" if none */
	char dst[32];
	bool pass;
};

static void bench_rule_get(unsigned i, struct bench_rule *r)
{
	memset(r, 0, sizeof(*r));
	switch (i % 4) {
	case 0:
		r->proto = "tcp";
		r->dport = 1000 + i;
		break;
	case 1:
		r->proto = "udp";
		r->dport = 2000 + i;
		r->range_lo = 3000 + 10 * i;
		break;
	case 2:
		r->proto = "tcp";
		r->dport = 4000 + i;
		snprintf(r->src, sizeof(r->src), "10.200.%u.0/24", i);
		r->pass = true;
		break;
	default:
		r->proto = "udp";
		r->dport = 5000 + i;
		snprintf(r->src, sizeof(r->src), "10.201.%u.0/24", i);
		snprintf(r->dst, sizeof(r->dst), "198.19.0.0/16");
		r->pass = true;
		break;
	}
}

static int file_close(FILE **f)
{
	int r = 0;

	if (ferror(*f))
		r = -EIO;
	if (fclose(*f) != 0 && r == 0)
		r = -errno;
	*f = NULL;
	return r;
}

static int open_in(const char *dir, const char *name, FILE **ret)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	*ret = f;
	return 0;
}

static int write_set_file(const char *dir)
{
	_cleanup_fclose_ FILE *f = NULL;
	char buf[64];
	int r;

	r = open_in(dir, "blacklist.txt", &f);
	if (r < 0)
		return r;
	fprintf(f, "# bench blacklist: %u IPv4 /24, %u IPv4 /32, %u IPv6 /48\n", BENCH_BL_V4_24,
		BENCH_BL_V4_32, BENCH_BL_V6_48);
	for (unsigned n = 0; n < BENCH_BL_TOTAL; n++) {
		bl_entry(n, buf, sizeof(buf));
		fprintf(f, "%s\n", buf);
	}
	return file_close(&f);
}

static int write_fos_conf(const char *dir, const char *ifname, bool full)
{
	_cleanup_fclose_ FILE *f = NULL;
	struct bench_rule br;
	int r;

	r = open_in(dir, full ? "fwd.conf" : "empty.conf", &f);
	if (r < 0)
		return r;
	fprintf(f, "# bench ruleset (bench/ruleset.h)\n");
	if (full)
		fprintf(f, "ipSets = ( { name = \"%s\"; file = \"blacklist.txt\"; } );\n",
			BENCH_SET_NAME);
	fprintf(f,
		"programs = ( {\n"
		"\tname = \"%s\";\n"
		"\ttype = \"xdp\";\n"
		"\tinterface = \"%s\";\n"
		"\tsettings = {\n",
		BENCH_PROG_NAME, ifname);
	if (full)
		fprintf(f, "\t\tblacklist = { enabled = true; ipSetRef = \"%s\"; };\n",
			BENCH_SET_NAME);
	fprintf(f, "\t\tactions = {\n\t\t\tdefault = \"drop\";\n");
	if (full) {
		fprintf(f, "\t\t\trules = (\n");
		for (unsigned i = 0; i < BENCH_N_RULES; i++) {
			bench_rule_get(i, &br);
			fprintf(f, "\t\t\t\t{ match = { protocol = \"%s\"; ", br.proto);
			if (br.src[0])
				fprintf(f, "srcCIDR = \"%s\"; ", br.src);
			if (br.dst[0])
				fprintf(f, "dstCIDR = \"%s\"; ", br.dst);
			if (br.range_lo)
				fprintf(f, "dstPorts = ( %u, \"%u-%u\" ); ", br.dport, br.range_lo,
					br.range_lo + 9);
			else
				fprintf(f, "dstPort = %u; ", br.dport);
			fprintf(f, "}; action = \"%s\"; }%s\n", br.pass ? "pass" : "drop",
				i + 1 < BENCH_N_RULES ? "," : "");
		}
		fprintf(f, "\t\t\t);\n");
	}
	fprintf(f, "\t\t};\n\t};\n} );\n");
	return file_close(&f);
}

static void write_nft_set(FILE *f, const char *name, const char *type, bool v6)
{
	char buf[64];
	bool first = true;

	fprintf(f, "\tset %s {\n\t\ttype %s\n\t\tflags interval\n\t\telements = {", name, type);
	for (unsigned n = 0; n < BENCH_BL_TOTAL; n++) {
		if ((bl_entry(n, buf, sizeof(buf)) == BL_V6_48) != v6)
			continue;
		fprintf(f, "%s\n\t\t\t%s", first ? "" : ",", buf);
		first = false;
	}
	fprintf(f, "\n\t\t}\n\t}\n");
}

static int write_nft(const char *dir, const char *ifname)
{
	_cleanup_fclose_ FILE *f = NULL;
	struct bench_rule br;
	int r;

	r = open_in(dir, "filter.nft", &f);
	if (r < 0)
		return r;
	fprintf(f, "# bench ruleset (bench/ruleset.h) for nftables\ntable netdev fosbench {\n");
	write_nft_set(f, "blacklist4", "ipv4_addr", false);
	write_nft_set(f, "blacklist6", "ipv6_addr", true);
	fprintf(f,
		"\tchain ingress {\n"
		"\t\ttype filter hook ingress device \"%s\" priority 0; policy accept;\n"
		"\t\tip saddr @blacklist4 counter drop\n"
		"\t\tip6 saddr @blacklist6 counter drop\n",
		ifname);
	for (unsigned i = 0; i < BENCH_N_RULES; i++) {
		bench_rule_get(i, &br);
		fprintf(f, "\t\t");
		if (br.src[0])
			fprintf(f, "ip saddr %s ", br.src);
		if (br.dst[0])
			fprintf(f, "ip daddr %s ", br.dst);
		if (br.range_lo)
			fprintf(f, "%s dport { %u, %u-%u } ", br.proto, br.dport, br.range_lo,
				br.range_lo + 9);
		else
			fprintf(f, "%s dport %u ", br.proto, br.dport);
		fprintf(f, "%s\n", br.pass ? "accept" : "drop");
	}
	fprintf(f, "\t\tcounter drop\n\t}\n}\n");
	return file_close(&f);
}

int bench_ruleset_write(const char *dir, const char *ifname)
{
	int r;

	r = write_set_file(dir);
	if (r < 0)
		return r;
	r = write_fos_conf(dir, ifname, true);
	if (r < 0)
		return r;
	r = write_fos_conf(dir, ifname, false);
	if (r < 0)
		return r;
	return write_nft(dir, ifname);
}
