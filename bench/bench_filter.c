// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench-filter: the cost of fos_xdp_filter per packet, in ns, through
 * BPF_PROG_TEST_RUN (the same frame run `repeat` times; caches stay warm, so
 * this is a lower bound), next to the bare XDP_DROP program of the same run.
 *
 * The ruleset is the one of bench/ruleset.h: it is written to a temporary
 * directory as fwd.conf and parsed with libfos, and the maps are filled from
 * the parsed config the way fwd fills them: named sets first, then each
 * rule's anonymous source and destination sets, ids counting from 1; set keys
 * in fos_set_key form (set id big endian, IPv4 v4-mapped) written in batches;
 * the rules compiled into the classifier (lib/classify.c); into slot 1 the
 * rules, their zeroed counters, the classifier tables (written by fwd's own
 * daemon/cls_maps.c) and the slot header; then fos_ctl.active = 1.
 *
 * Before timing, each case runs once and must give the expected verdict and
 * move the expected counter (the default, the last rule, the blacklist), so a
 * figure always belongs to the path it names. The cases run in turn, runs
 * times each, and the median of the kernel's per-run average is reported.
 *
 *   bench-filter [-n RUNS] [-r REPEAT]
 *   bench-filter --write-config DIR --interface IF   (write the ruleset files)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cleanup.h"
#include "filter.h"
#include "fwd.h"
#include "config.h"
#include "fos/abi.h"
#include "log.h"
#include "csum.h"
#include "median.h"
#include "parse.h"
#include "ruleset.h"
#include "xdp_bench.skel.h"
#include "xdp_filter.skel.h"
#include "pkt_util.h"

#define EXIT_SKIP 77

#define RUNS_MIN       5
#define RUNS_DEFAULT   7
#define RUNS_MAX       64
#define REPEAT_DEFAULT 1000000U

#define FRAME_MAX 128

struct frame {
	uint8_t b[FRAME_MAX];
	size_t len;
};

enum check {
	CHECK_NONE,
	CHECK_DEFAULT,
	CHECK_LAST_RULE,
	CHECK_BLACKLIST,
};

enum prog {
	PROG_DROP,
	PROG_EMPTY,
	PROG_FULL,
	_PROG_MAX,
};

struct bench_case {
	const char *name;
	enum prog prog;
	const struct frame *frame;
	uint32_t verdict;
	enum check check;
	uint32_t ns[RUNS_MAX]; /* one per run */
};

static void drop_skel_freep(struct fos_xdp_bench **p)
{
	fos_xdp_bench__destroy(*p);
	*p = NULL;
}

static void filter_skel_freep(struct fos_xdp_filter **p)
{
	fos_xdp_filter__destroy(*p);
	*p = NULL;
}

/* ---- the ruleset files ---------------------------------------------------- */

static void rm_ruleset_dirp(char **dir)
{
	static const char *const files[] = {"blacklist.txt", "fwd.conf", "empty.conf",
					    "filter.nft"};
	char path[4096];

	if (!*dir)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", *dir, files[i]);
		(void)unlink(path);
	}
	(void)rmdir(*dir);
	free(*dir);
	*dir = NULL;
}

static int load_config(const char *dir, const char *name, struct fos_config **ret)
{
	_cleanup_(fos_config_freep) struct fos_config *cfg = NULL;
	struct fos_errors errs = {0};
	char path[4096];
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	r = fos_config_load(path, &cfg, &errs);
	for (size_t i = 0; i < errs.n; i++)
		log_error("%s", errs.msgs[i]);
	fos_errors_clear(&errs);
	if (r < 0)
		return log_error_errno(r, "cannot load %s", path);
	if (cfg->n_programs != 1)
		return log_error_errno(-EINVAL, "%s: expected one program", path);
	*ret = TAKE_PTR(cfg);
	return 0;
}

/* ---- filling the maps as fwd does ---------------------------------------- */

/* The config's sets and its one program's ruleset into the filter's maps with
 * fwd's own writers (daemon/sets.c, daemon/filter.c): sets first, the ruleset
 * into slot 1, then the flip. */
static int apply_config(struct fos_xdp_filter *skel, const struct fos_config *cfg)
{
	const struct fos_program *p = &cfg->programs[0];
	_cleanup_close_ int meta_fd = -1;
	struct fos_set_maps maps;
	struct fos_filter_ids ids = {0};
	struct fos_filter_rs rs = {0};
	struct fos_errors errs = {0};
	int r;

	/* the filter object has no metadata map: a scratch one stands in */
	meta_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "bench_meta", sizeof(uint32_t),
				 sizeof(struct fos_set_meta), 64, NULL);
	if (meta_fd < 0)
		return -errno;
	maps = (struct fos_set_maps){bpf_map__fd(skel->maps.fos_sets),
				     bpf_map__fd(skel->maps.fos_sets4), meta_fd};
	for (size_t i = 0; i < cfg->n_sets; i++) {
		struct fos_rset set = {.id = (uint32_t)i + 1, .meta_flags = FOS_SET_META_F_NAMED};

		snprintf(set.name, sizeof(set.name), "%s", cfg->sets[i].name);
		r = 0;
		for (size_t j = 0; j < cfg->sets[i].n_entries && r >= 0; j++)
			r = fos_rset_append(&set, &cfg->sets[i].entries[j], FOS_SET_F_CONFIG);
		r = fos_sets_write(&maps, &set, 1);
		fos_rset_free(&set);
		if (r < 0)
			return r;
		if (p->blacklist.enabled && strcmp(p->blacklist.set, cfg->sets[i].name) == 0)
			ids.blacklist = (uint32_t)i + 1;
		if (p->whitelist.enabled && strcmp(p->whitelist.set, cfg->sets[i].name) == 0)
			ids.whitelist = (uint32_t)i + 1;
	}

	r = fos_filter_build(p, &ids, &rs, &errs);
	for (size_t i = 0; i < errs.n; i++)
		log_error("%s", errs.msgs[i]);
	fos_errors_clear(&errs);
	if (r < 0)
		return r;
	rs.slot.generation = 1;
	struct fos_filter_maps fm = FOS_FILTER_MAPS(skel);

	r = fos_filter_write_slot(&fm, 1, &rs);
	if (r == 0)
		r = fos_filter_flip(&fm, 1);
	fos_filter_rs_free(&rs);
	return r;
}

static int load_filter(const struct fos_config *cfg, struct fos_xdp_filter **ret)
{
	_cleanup_(filter_skel_freep) struct fos_xdp_filter *skel = NULL;
	int r;

	skel = fos_xdp_filter__open_and_load();
	if (!skel)
		return log_error_errno(-errno, "cannot load fos_xdp_filter");
	r = apply_config(skel, cfg);
	if (r < 0)
		return log_error_errno(r, "cannot fill the filter's maps");
	*ret = TAKE_PTR(skel);
	return 0;
}

/* ---- counters --------------------------------------------------------------- */

static int percpu_sum(struct bpf_map *map, uint32_t idx, size_t value_u64s, uint64_t *ret)
{
	int n_cpus = libbpf_num_possible_cpus();
	_cleanup_free_ uint64_t *v = NULL;
	uint64_t sum = 0;

	if (n_cpus <= 0)
		return -EINVAL;
	v = calloc((size_t)n_cpus * value_u64s, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map__lookup_elem(map, &idx, sizeof(idx), v, sizeof(*v) * n_cpus * value_u64s, 0) <
	    0)
		return -errno;
	/* the first u64 of each CPU's value: the counter, or a rule counter's packets */
	for (int i = 0; i < n_cpus; i++)
		sum += v[(size_t)i * value_u64s];
	*ret = sum;
	return 0;
}

/* The counter a case must move by one packet. */
static int check_counter(struct fos_xdp_filter *skel, enum check check, uint64_t *ret)
{
	uint32_t rule = FOS_MAX_RULES + BENCH_N_RULES - 1; /* slot 1, last rule */

	switch (check) {
	case CHECK_DEFAULT:
		return percpu_sum(skel->maps.fos_stats, FOS_STAT_DEFAULT, 1, ret);
	case CHECK_BLACKLIST:
		return percpu_sum(skel->maps.fos_stats, FOS_STAT_BLACKLIST, 1, ret);
	case CHECK_LAST_RULE:
		return percpu_sum(skel->maps.fos_rule_stats, rule,
				  sizeof(struct fos_rule_counter) / sizeof(uint64_t), ret);
	default:
		*ret = 0;
		return 0;
	}
}

/* ---- frames ---------------------------------------------------------------- */

static const uint8_t mac_dst[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t mac_src[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x01};

/* Ethernet + IPv4 or IPv6 + UDP, padded to 60 bytes (64 on the wire) for IPv4;
 * IPv6 carries the same 18-byte payload. */
static int build_udp(const char *src, const char *dst, uint16_t sport, uint16_t dport,
		     struct frame *ret)
{
	const size_t payload = 18;
	struct frame f = {0};
	uint8_t *ip = f.b + ETH_HLEN, *udp;
	bool v6 = strchr(src, ':');

	memcpy(f.b, mac_dst, ETH_ALEN);
	memcpy(f.b + ETH_ALEN, mac_src, ETH_ALEN);
	put16(f.b + 2 * ETH_ALEN, v6 ? ETH_P_IPV6 : ETH_P_IP);
	if (v6) {
		ip[0] = 0x60;
		put16(ip + 4, 8 + payload);
		ip[6] = IPPROTO_UDP;
		ip[7] = 64;
		if (inet_pton(AF_INET6, src, ip + 8) != 1 || inet_pton(AF_INET6, dst, ip + 24) != 1)
			return -EINVAL;
		udp = ip + 40;
	} else {
		ip[0] = 0x45;
		put16(ip + 2, 20 + 8 + payload);
		put16(ip + 6, 0x4000); /* DF */
		ip[8] = 64;
		ip[9] = IPPROTO_UDP;
		if (inet_pton(AF_INET, src, ip + 12) != 1 || inet_pton(AF_INET, dst, ip + 16) != 1)
			return -EINVAL;
		put16(ip + 10, bench_csum(ip, 20, 0));
		udp = ip + 20;
	}
	put16(udp, sport);
	put16(udp + 2, dport);
	put16(udp + 4, 8 + payload);
	for (size_t i = 0; i < payload; i++)
		udp[8 + i] = (uint8_t)(0x5a ^ i);
	f.len = (size_t)(udp + 8 + payload - f.b);
	*ret = f;
	return 0;
}

/* ---- running ----------------------------------------------------------------- */

static int run_prog(int prog_fd, const struct frame *f, uint32_t repeat, uint32_t *ret_verdict,
		    uint32_t *ret_ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->b, .data_size_in = f->len,
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &opts) < 0)
		return -errno;
	*ret_verdict = opts.retval;
	*ret_ns = opts.duration;
	return 0;
}

/* One run of the case: the verdict it names, and its counter moved by one. */
static int verify_case(const struct bench_case *c, int prog_fd, struct fos_xdp_filter *skel)
{
	uint64_t before = 0, after = 0;
	uint32_t verdict, ns;
	int r;

	if (skel) {
		r = check_counter(skel, c->check, &before);
		if (r < 0)
			return log_error_errno(r, "%s: cannot read counters", c->name);
	}
	r = run_prog(prog_fd, c->frame, 1, &verdict, &ns);
	if (r < 0)
		return log_error_errno(r, "%s: test run", c->name);
	if (verdict != c->verdict)
		return log_error_errno(-EPROTO, "%s: verdict %s, expected %s", c->name,
				       verdict_name(true, (int)verdict),
				       verdict_name(true, (int)c->verdict));
	if (skel && c->check != CHECK_NONE) {
		r = check_counter(skel, c->check, &after);
		if (r < 0)
			return log_error_errno(r, "%s: cannot read counters", c->name);
		if (after != before + 1)
			return log_error_errno(-EPROTO,
					       "%s: the packet did not take the path named "
					       "(counter %llu -> %llu)",
					       c->name, (unsigned long long)before,
					       (unsigned long long)after);
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: bench-filter [-n RUNS] [-r REPEAT]\n"
		   "       bench-filter --write-config DIR --interface IF\n"
		   "ns/packet of fos_xdp_filter through BPF_PROG_TEST_RUN, next to XDP_DROP.\n\n"
		   "  -n, --runs N          runs per case, median reported (default 7, min 5)\n"
		   "  -r, --repeat N        packets per run (default 1000000)\n"
		   "      --write-config D  write the ruleset (fwd.conf, empty.conf,\n"
		   "                        blacklist.txt, filter.nft) into directory D\n"
		   "      --interface IF    the interface named in those files\n");
}

int main(int argc, char **argv)
{
	enum { OPT_WRITE = 256, OPT_IF };
	static const struct option opts[] = {
	    {"runs", required_argument, NULL, 'n'},
	    {"repeat", required_argument, NULL, 'r'},
	    {"write-config", required_argument, NULL, OPT_WRITE},
	    {"interface", required_argument, NULL, OPT_IF},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	_cleanup_(drop_skel_freep) struct fos_xdp_bench *drop = NULL;
	_cleanup_(filter_skel_freep) struct fos_xdp_filter *empty = NULL, *full = NULL;
	_cleanup_(fos_config_freep) struct fos_config *cfg_full = NULL, *cfg_empty = NULL;
	_cleanup_(rm_ruleset_dirp) char *dir = NULL;
	const char *write_dir = NULL, *ifname = "bench0";
	unsigned long runs = RUNS_DEFAULT, repeat = REPEAT_DEFAULT;
	struct frame f_default, f_last, f_black, f_v6;
	struct fos_xdp_filter *skels[_PROG_MAX];
	int fds[_PROG_MAX];
	char *end;
	int c, r;

	while ((c = getopt_long(argc, argv, "n:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
		case 'r':
			errno = 0;
			*(c == 'n' ? &runs : &repeat) = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end) {
				usage(stderr);
				return 2;
			}
			break;
		case OPT_WRITE:
			write_dir = optarg;
			break;
		case OPT_IF:
			ifname = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || runs < RUNS_MIN || runs > RUNS_MAX || repeat < 1 ||
	    repeat > UINT32_MAX) {
		usage(stderr);
		return 2;
	}
	if (strlen(ifname) >= FOS_IFNAME_MAX) {
		fprintf(stderr, "bench-filter: interface name too long: %s\n", ifname);
		return 2;
	}

	if (write_dir) {
		r = bench_ruleset_write(write_dir, ifname);
		if (r < 0) {
			log_error_errno(r, "cannot write the ruleset into %s", write_dir);
			return 1;
		}
		return 0;
	}

	if (geteuid() != 0) {
		printf("bench-filter: SKIP: needs root (BPF_PROG_TEST_RUN on XDP programs)\n");
		return EXIT_SKIP;
	}

	dir = strdup("/tmp/fos-bench-filter.XXXXXX");
	if (!dir || !mkdtemp(dir)) {
		log_error_errno(-errno, "cannot create a temporary directory");
		return 1;
	}
	r = bench_ruleset_write(dir, ifname);
	if (r < 0) {
		log_error_errno(r, "cannot write the ruleset into %s", dir);
		return 1;
	}
	if (load_config(dir, "fwd.conf", &cfg_full) < 0 ||
	    load_config(dir, "empty.conf", &cfg_empty) < 0)
		return 1;
	if (cfg_full->n_sets != 1 || cfg_full->sets[0].n_entries != BENCH_BL_TOTAL ||
	    cfg_full->programs[0].n_rules != BENCH_N_RULES) {
		log_error("the parsed ruleset is not the one of bench/ruleset.h");
		return 1;
	}

	drop = fos_xdp_bench__open_and_load();
	if (!drop) {
		log_error_errno(-errno, "cannot load the bench programs");
		return 1;
	}
	if (load_filter(cfg_empty, &empty) < 0 || load_filter(cfg_full, &full) < 0)
		return 1;
	skels[PROG_DROP] = NULL;
	skels[PROG_EMPTY] = empty;
	skels[PROG_FULL] = full;
	fds[PROG_DROP] = bpf_program__fd(drop->progs.fos_xdp_drop);
	fds[PROG_EMPTY] = bpf_program__fd(empty->progs.fos_xdp_filter);
	fds[PROG_FULL] = bpf_program__fd(full->progs.fos_xdp_filter);

	/* default: what bench-gen sends; last: rule 99; black: 10.5.8.0/24 is listed */
	if (build_udp("198.18.0.1", "198.19.0.1", 1024, 9, &f_default) < 0 ||
	    build_udp("10.201.99.7", "198.19.0.1", 1024, 5099, &f_last) < 0 ||
	    build_udp("10.5.8.77", "198.19.0.1", 1024, 9, &f_black) < 0 ||
	    build_udp("2001:2::1", "2001:2::2", 1024, 9, &f_v6) < 0) {
		log_error("cannot build the frames");
		return 1;
	}

	struct bench_case cases[] = {
	    {.name = "bare XDP_DROP (fos_xdp_drop)",
	     .prog = PROG_DROP,
	     .frame = &f_default,
	     .verdict = XDP_DROP,
	     .check = CHECK_NONE},
	    {.name = "filter, empty ruleset -> default",
	     .prog = PROG_EMPTY,
	     .frame = &f_default,
	     .verdict = XDP_DROP,
	     .check = CHECK_DEFAULT},
	    {.name = "filter, 10k set + 100 rules -> default",
	     .prog = PROG_FULL,
	     .frame = &f_default,
	     .verdict = XDP_DROP,
	     .check = CHECK_DEFAULT},
	    {.name = "filter, 10k set + 100 rules -> last rule",
	     .prog = PROG_FULL,
	     .frame = &f_last,
	     .verdict = XDP_PASS,
	     .check = CHECK_LAST_RULE},
	    {.name = "filter, 10k set + 100 rules, src in set",
	     .prog = PROG_FULL,
	     .frame = &f_black,
	     .verdict = XDP_DROP,
	     .check = CHECK_BLACKLIST},
	    {.name = "filter, 10k set + 100 rules -> default, v6",
	     .prog = PROG_FULL,
	     .frame = &f_v6,
	     .verdict = XDP_DROP,
	     .check = CHECK_DEFAULT},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (verify_case(&cases[i], fds[cases[i].prog], skels[cases[i].prog]) < 0)
			return 1;

	for (unsigned long run = 0; run < runs; run++)
		for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
			uint32_t verdict;

			r = run_prog(fds[cases[i].prog], cases[i].frame, (uint32_t)repeat, &verdict,
				     &cases[i].ns[run]);
			if (r < 0) {
				log_error_errno(r, "%s: test run", cases[i].name);
				return 1;
			}
		}

	printf("bench-filter: ns/packet via BPF_PROG_TEST_RUN, repeat %lu, median of %lu runs\n",
	       repeat, runs);
	printf("ruleset (bench/ruleset.h): blacklist %u CIDRs (%u IPv4 /24, %u IPv4 /32, "
	       "%u IPv6 /48), %u rules, default drop; 60-byte UDP frames (IPv6: 80)\n\n",
	       BENCH_BL_TOTAL, BENCH_BL_V4_24, BENCH_BL_V4_32, BENCH_BL_V6_48, BENCH_N_RULES);
	printf("%-44s %-9s %7s %5s %5s %11s\n", "case", "verdict", "ns/pkt", "min", "max",
	       "x XDP_DROP");
	double base = 0;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		double med = bench_median(cases[i].ns, runs); /* sorts: [0] is the minimum */

		if (i == 0)
			base = med;
		printf("%-44s %-9s %7.1f %5u %5u %11.2f\n", cases[i].name,
		       verdict_name(true, (int)cases[i].verdict), med, cases[i].ns[0],
		       cases[i].ns[runs - 1], base > 0 ? med / base : 0.0);
	}
	return 0;
}
