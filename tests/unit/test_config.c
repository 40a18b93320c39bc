// SPDX-License-Identifier: GPL-2.0-only
#include <check.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cleanup.h"
#include "config.h"

/* A config no load may ever return: checks that *ret stays untouched on failure. */
static struct fos_config sentinel;

#define ERRORS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* The path of the rule most error tests put their mistakes in. */
#define R0 "programs[0].settings.actions.rules[0]"

/* A program whose settings hold `rules`, all on line 2. */
#define RULES_CONF(rules)                                                                          \
	"programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\";\n"                     \
	"settings = { actions = { rules = ( " rules " ); }; }; } );\n"

/* A program whose rules list starts on line 3, one rule per line. */
#define RULE_LINES_HEAD                                                                            \
	"programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\";\n"                     \
	"settings = { actions = { rules = (\n"
#define RULE_LINES_TAIL ")\n}; }; } );\n"

static const char *data_dir(void)
{
	return getenv("FOS_TEST_DATA") ?: "tests/unit/data";
}

static char *strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *strf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	ck_assert_int_ge(r, 0);
	return s;
}

static char *data_path(const char *rel)
{
	return strf("%s/%s", data_dir(), rel);
}

static char *conf_path(const char *rel)
{
	const char *dir = getenv("FOS_CONF_DIR");

	if (dir)
		return strf("%s/%s", dir, rel);
	return strf("%s/../../../conf/%s", data_dir(), rel);
}

static void dump_errors(const struct fos_errors *e)
{
	for (size_t i = 0; i < e->n; i++)
		fprintf(stderr, "  error %zu: %s\n", i, e->msgs[i]);
}

static void assert_errors(const struct fos_errors *e, const char *const *want)
{
	size_t n = 0;

	while (want[n])
		n++;
	if (e->n != n)
		dump_errors(e);
	for (size_t i = 0; i < e->n && i < n; i++)
		ck_assert_str_eq(e->msgs[i], want[i]);
	ck_assert_uint_eq(e->n, n);
}

/* Loading text fails with exactly these errors, and returns no config. */
static void assert_load_fails_named(const char *name, const char *text, const char *const *want)
{
	struct fos_errors e = {};
	struct fos_config *c = &sentinel;

	ck_assert_int_eq(fos_config_load_string(name, text, &c, &e), -EINVAL);
	ck_assert_ptr_eq(c, &sentinel);
	assert_errors(&e, want);
	fos_errors_clear(&e);
}

static void assert_load_fails(const char *text, const char *const *want)
{
	assert_load_fails_named("t.conf", text, want);
}

static struct fos_config *load_ok(const char *text)
{
	struct fos_errors e = {};
	struct fos_config *c = NULL;
	int r;

	r = fos_config_load_string("t.conf", text, &c, &e);
	if (r != 0)
		dump_errors(&e);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(e.n, 0);
	ck_assert_ptr_nonnull(c);
	fos_errors_clear(&e);
	return c;
}

static struct fos_config *load_file_ok(const char *path)
{
	struct fos_errors e = {};
	struct fos_config *c = NULL;
	int r;

	r = fos_config_load(path, &c, &e);
	if (r != 0)
		dump_errors(&e);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(e.n, 0);
	ck_assert_ptr_nonnull(c);
	return c;
}

static void assert_cidr(const struct fos_cidr *c, const char *want)
{
	char buf[FOS_CIDR_STRLEN];

	ck_assert_ptr_nonnull(fos_cidr_to_string(c, buf, sizeof(buf)));
	ck_assert_str_eq(buf, want);
}

static void assert_span(const struct fos_port_span *s, unsigned lo, unsigned hi)
{
	ck_assert_uint_eq(s->lo, lo);
	ck_assert_uint_eq(s->hi, hi);
}

/* A fake if_nametoindex(): only eth0, eth1, r-cli and r-srv exist. */
static unsigned fake_resolve(const char *name)
{
	static const char *const known[] = {"eth0", "eth1", "r-cli", "r-srv"};

	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (strcmp(name, known[i]) == 0)
			return (unsigned)i + 2;
	return 0;
}

/* ---- the model ----------------------------------------------------------- */

START_TEST(test_full_example)
{
	_cleanup_free_ char *path = data_path("full.conf");
	_cleanup_free_ char *set_file = data_path("sets/malicious.txt");
	_cleanup_(fos_config_freep) struct fos_config *c = load_file_ok(path);
	const struct fos_ipset *set;
	const struct fos_program *p;
	const struct fos_rule_cfg *r;

	ck_assert_str_eq(c->path, path);
	ck_assert_str_eq(c->daemon.socket, "/run/fos-test/fwd.sock");
	ck_assert_str_eq(c->daemon.pin_dir, "/sys/fs/bpf/fos-test");
	ck_assert_str_eq(c->daemon.log_level, "debug");

	ck_assert_uint_eq(c->n_sets, 2);
	set = &c->sets[0];
	ck_assert_ptr_eq(fos_config_find_set(c, "malicious-ips"), set);
	ck_assert_str_eq(set->src.file, path);
	ck_assert_int_eq(set->src.line, 6);
	/* the set file's path is relative to full.conf's directory */
	ck_assert_str_eq(set->file, set_file);
	/* inline entries first, then the file's; 203.0.113.0/24 is in both */
	ck_assert_uint_eq(set->n_entries, 5);
	assert_cidr(&set->entries[0], "203.0.113.0/24");
	assert_cidr(&set->entries[1], "2001:db8:bad::/48");
	assert_cidr(&set->entries[2], "198.51.100.0/24");
	assert_cidr(&set->entries[3], "192.0.2.128/25");
	assert_cidr(&set->entries[4], "2001:db8:beef::/48");
	set = &c->sets[1];
	ck_assert_str_eq(set->name, "trusted");
	ck_assert_int_eq(set->src.line, 10);
	ck_assert_ptr_null(set->file);
	ck_assert_uint_eq(set->n_entries, 1);
	assert_cidr(&set->entries[0], "10.0.0.0/8");

	ck_assert_uint_eq(c->n_programs, 2);
	p = fos_config_find_program(c, "xdp-filter");
	ck_assert_ptr_eq(p, &c->programs[0]);
	ck_assert_str_eq(p->src.file, path);
	ck_assert_int_eq(p->src.line, 15);
	ck_assert_str_eq(p->description, "Drop known bad sources, filter a few ports");
	ck_assert_int_eq(p->type, FOS_PROG_XDP);
	ck_assert_str_eq(p->interface, "eth0");
	ck_assert_int_eq(p->priority, 10);
	ck_assert(!p->stateful);
	ck_assert(p->blacklist.enabled);
	ck_assert_str_eq(p->blacklist.set, "malicious-ips");
	ck_assert_str_eq(p->blacklist.src.file, path);
	ck_assert_int_eq(p->blacklist.src.line, 21);
	ck_assert(!p->whitelist.enabled);
	ck_assert_str_eq(p->whitelist.set, "trusted");
	ck_assert_int_eq(p->whitelist.src.line, 22);
	ck_assert_int_eq(p->default_action, FOS_CFG_PASS);
	ck_assert_str_eq(p->default_interface, "");

	ck_assert_uint_eq(p->n_rules, 3);
	r = &p->rules[0];
	ck_assert_str_eq(r->src.file, path);
	ck_assert_int_eq(r->src.line, 26);
	ck_assert_uint_eq(r->match.protocol, 17);
	ck_assert_uint_eq(r->match.n_src, 0);
	ck_assert_uint_eq(r->match.n_dst, 0);
	ck_assert_uint_eq(r->match.n_sport, 0);
	ck_assert_uint_eq(r->match.n_dport, 1);
	assert_span(&r->match.dport[0], 53, 53);
	ck_assert_uint_eq(r->match.state, 0);
	ck_assert_int_eq(r->action, FOS_CFG_PASS);
	ck_assert_str_eq(r->interface, "");

	r = &p->rules[1];
	ck_assert_int_eq(r->src.line, 27);
	ck_assert_uint_eq(r->match.protocol, 6);
	ck_assert_uint_eq(r->match.n_src, 1);
	assert_cidr(&r->match.src[0], "10.0.0.0/8");
	ck_assert_uint_eq(r->match.n_dport, 2);
	assert_span(&r->match.dport[0], 22, 22);
	assert_span(&r->match.dport[1], 8000, 8100);
	ck_assert_int_eq(r->action, FOS_CFG_DROP);

	r = &p->rules[2];
	ck_assert_int_eq(r->src.line, 28);
	ck_assert_uint_eq(r->match.protocol, 6);
	assert_span(&r->match.dport[0], 80, 80);
	ck_assert_int_eq(r->action, FOS_CFG_REDIRECT);
	ck_assert_str_eq(r->interface, "eth1");

	p = fos_config_find_program(c, "tc-firewall");
	ck_assert_ptr_eq(p, &c->programs[1]);
	ck_assert_int_eq(p->src.line, 34);
	ck_assert_int_eq(p->type, FOS_PROG_TC_INGRESS);
	ck_assert_str_eq(p->interface, "eth1");
	ck_assert_int_eq(p->priority, 1);
	ck_assert(p->stateful);
	ck_assert_int_eq(p->default_action, FOS_CFG_DROP);
	ck_assert_uint_eq(p->n_rules, 3);
	ck_assert_uint_eq(p->rules[0].match.state, 1U << FOS_CT_NEW);
	ck_assert_uint_eq(p->rules[0].match.protocol, 6);
	assert_span(&p->rules[0].match.dport[0], 22, 22);
	/* a state list of only "invalid" is fine: conntrack.invalid below is "rules" */
	ck_assert_uint_eq(p->rules[1].match.state, 1U << FOS_CT_INVALID);
	ck_assert_uint_eq(p->rules[2].match.state, 1U << FOS_CT_NEW | 1U << FOS_CT_INVALID);
	ck_assert_int_eq(p->rules[2].action, FOS_CFG_REDIRECT);
	ck_assert_str_eq(p->rules[2].interface, "eth0");

	ck_assert_str_eq(c->conntrack.src.file, path);
	ck_assert_int_eq(c->conntrack.src.line, 52);
	ck_assert_uint_eq(c->conntrack.max_connections, 65536);
	ck_assert_uint_eq(c->conntrack.tcp_timeout, 86400);
	ck_assert_uint_eq(c->conntrack.tcp_syn_timeout, 60);
	ck_assert_uint_eq(c->conntrack.tcp_fin_timeout, 120);
	ck_assert_uint_eq(c->conntrack.udp_timeout, 90);
	ck_assert_uint_eq(c->conntrack.icmp_timeout, 10);
	ck_assert_uint_eq(c->conntrack.invalid, FOS_CT_INVALID_RULES);

	ck_assert_ptr_null(fos_config_find_set(c, "xdp-filter"));
	ck_assert_ptr_null(fos_config_find_program(c, "malicious-ips"));
}
END_TEST

START_TEST(test_defaults)
{
	_cleanup_(fos_config_freep) struct fos_config *c =
	    load_ok("programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\"; } );\n");
	const struct fos_program *p = &c->programs[0];

	ck_assert_str_eq(c->path, "t.conf");
	ck_assert_str_eq(c->daemon.socket, FOS_DEFAULT_SOCKET);
	ck_assert_str_eq(c->daemon.pin_dir, FOS_DEFAULT_PIN_DIR);
	ck_assert_str_eq(c->daemon.log_level, "info");
	ck_assert_uint_eq(c->n_sets, 0);
	ck_assert_uint_eq(c->n_programs, 1);
	ck_assert_str_eq(p->name, "p");
	ck_assert_int_eq(p->src.line, 1);
	ck_assert_ptr_null(p->description);
	ck_assert_int_eq(p->priority, 100);
	ck_assert(!p->stateful);
	ck_assert(!p->blacklist.enabled);
	ck_assert_str_eq(p->blacklist.set, "");
	ck_assert(!p->whitelist.enabled);
	ck_assert_int_eq(p->default_action, FOS_CFG_PASS);
	ck_assert_uint_eq(p->n_rules, 0);
	ck_assert_ptr_null(p->rules);

	/* no conntrack group: the defaults, from the main file */
	ck_assert_str_eq(c->conntrack.src.file, "t.conf");
	ck_assert_int_eq(c->conntrack.src.line, 0);
	ck_assert_uint_eq(c->conntrack.max_connections, FOS_CT_DEFAULT_MAX);
	ck_assert_uint_eq(c->conntrack.tcp_timeout, FOS_CT_DEFAULT_TCP_TIMEOUT);
	ck_assert_uint_eq(c->conntrack.tcp_syn_timeout, FOS_CT_DEFAULT_TCP_SYN_TIMEOUT);
	ck_assert_uint_eq(c->conntrack.tcp_fin_timeout, FOS_CT_DEFAULT_TCP_FIN_TIMEOUT);
	ck_assert_uint_eq(c->conntrack.udp_timeout, FOS_CT_DEFAULT_UDP_TIMEOUT);
	ck_assert_uint_eq(c->conntrack.icmp_timeout, FOS_CT_DEFAULT_ICMP_TIMEOUT);
	ck_assert_uint_eq(c->conntrack.invalid, FOS_CT_INVALID_DROP);
}
END_TEST

START_TEST(test_empty_config)
{
	_cleanup_(fos_config_freep) struct fos_config *c = load_ok("# nothing\n");

	ck_assert_uint_eq(c->n_sets, 0);
	ck_assert_uint_eq(c->n_programs, 0);
	ck_assert_str_eq(c->daemon.socket, FOS_DEFAULT_SOCKET);
}
END_TEST

START_TEST(test_daemon_values)
{
	char sock[200] = "/";
	_cleanup_free_ char *text = NULL;
	_cleanup_(fos_config_freep) struct fos_config *c = NULL;

	/* exactly 107 characters: the longest path a sockaddr_un holds */
	memset(sock + 1, 's', 106);
	text =
	    strf("daemon = { socket = \"%s\"; pinDir = \"/x\"; logLevel = \"warning\"; };\n", sock);
	c = load_ok(text);
	ck_assert_str_eq(c->daemon.socket, sock);
	ck_assert_str_eq(c->daemon.pin_dir, "/x");
	ck_assert_str_eq(c->daemon.log_level, "warning");
	ck_assert_uint_eq(c->daemon.tc_mode, FOS_TC_MODE_AUTO);
	for (unsigned m = FOS_TC_MODE_AUTO; m <= FOS_TC_MODE_CLSACT; m++) {
		_cleanup_free_ char *t2 =
		    strf("daemon = { tcAttach = \"%s\"; };\n", fos_tc_mode_to_string(m));
		_cleanup_(fos_config_freep) struct fos_config *c2 = load_ok(t2);

		ck_assert_uint_eq(c2->daemon.tc_mode, m);
	}
}
END_TEST

START_TEST(test_ports_merged)
{
	_cleanup_(fos_config_freep) struct fos_config *c =
	    load_ok(RULES_CONF("{ match = { protocol = \"tcp\"; srcPort = \"1024-2047\"; "
			       "srcPorts = ( 1, \"3\", \"5-6\" ); dstPorts = [ 80, 443 ]; "
			       "dstPort = \"8080\"; }; action = \"drop\"; }"));
	const struct fos_match *m = &c->programs[0].rules[0].match;

	/* srcPort first, then srcPorts in order */
	ck_assert_uint_eq(m->n_sport, 4);
	assert_span(&m->sport[0], 1024, 2047);
	assert_span(&m->sport[1], 1, 1);
	assert_span(&m->sport[2], 3, 3);
	assert_span(&m->sport[3], 5, 6);
	ck_assert_uint_eq(m->n_dport, 3);
	assert_span(&m->dport[0], 8080, 8080);
	assert_span(&m->dport[1], 80, 80);
	assert_span(&m->dport[2], 443, 443);
}
END_TEST

START_TEST(test_port_spans_limit_ok)
{
	/* dstPort + 15 in dstPorts = 16, the most a rule may have */
	_cleanup_(fos_config_freep) struct fos_config *c =
	    load_ok(RULES_CONF("{ match = { protocol = \"udp\"; dstPort = 0; dstPorts = ( 1, 2, "
			       "3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, \"15-65535\" ); }; "
			       "action = \"drop\"; }"));
	const struct fos_match *m = &c->programs[0].rules[0].match;

	ck_assert_uint_eq(m->n_dport, FOS_MAX_PORT_SPANS);
	assert_span(&m->dport[0], 0, 0);
	assert_span(&m->dport[15], 15, 65535);
}
END_TEST

START_TEST(test_cidr_forms)
{
	_cleanup_(fos_config_freep) struct fos_config *c = load_ok(RULES_CONF(
	    "{ match = { srcCIDR = \"192.0.2.1\"; dstCIDR = [ \"10.0.0.0/8\", \"2001:db8::/32\", "
	    "\"10.0.0.0/8\" ]; }; action = \"drop\"; },"
	    "{ match = { dstCIDR = ( \"2001:db8::1\" ); protocol = \"icmpv6\"; }; "
	    "action = \"pass\"; },"
	    "{ match = { protocol = \"ICMP\"; srcCIDR = \"0.0.0.0/0\"; }; action = \"drop\"; }"));
	const struct fos_program *p = &c->programs[0];

	/* a bare address is a host prefix; repeated CIDRs are kept once */
	ck_assert_uint_eq(p->rules[0].match.n_src, 1);
	assert_cidr(&p->rules[0].match.src[0], "192.0.2.1/32");
	ck_assert_uint_eq(p->rules[0].match.n_dst, 2);
	assert_cidr(&p->rules[0].match.dst[0], "10.0.0.0/8");
	assert_cidr(&p->rules[0].match.dst[1], "2001:db8::/32");
	ck_assert_uint_eq(p->rules[0].match.protocol, 0);
	ck_assert_uint_eq(p->rules[1].match.protocol, 58);
	assert_cidr(&p->rules[1].match.dst[0], "2001:db8::1/128");
	ck_assert_uint_eq(p->rules[2].match.protocol, 1);
}
END_TEST

START_TEST(test_redirect_default)
{
	_cleanup_(fos_config_freep) struct fos_config *c =
	    load_ok("programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\";\n"
		    "settings = { actions = { default = \"redirect\"; defaultInterface = "
		    "\"eth1\"; }; }; } );\n");

	ck_assert_int_eq(c->programs[0].default_action, FOS_CFG_REDIRECT);
	ck_assert_str_eq(c->programs[0].default_interface, "eth1");
}
END_TEST

START_TEST(test_int64_values)
{
	_cleanup_(fos_config_freep) struct fos_config *c = load_ok(
	    "programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\"; priority = "
	    "65535L;\n"
	    "settings = { actions = { rules = ( { match = { protocol = \"tcp\"; dstPort = 443L; "
	    "}; action = \"drop\"; } ); }; }; } );\n");

	ck_assert_int_eq(c->programs[0].priority, 65535);
	assert_span(&c->programs[0].rules[0].match.dport[0], 443, 443);

	assert_load_fails(
	    "programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\";\n"
	    "priority = 5000000000L; } );\n",
	    ERRORS("t.conf:2: programs[0].priority: 5000000000 is out of range 0-65535"));
}
END_TEST

START_TEST(test_tc_programs)
{
	_cleanup_(fos_config_freep) struct fos_config *c = load_ok(
	    "programs = (\n"
	    "  { name = \"in\"; type = \"tc-ingress\"; interface = \"eth0\"; priority = 1;\n"
	    "    settings = { stateful = true; actions = { default = \"drop\"; rules = (\n"
	    "      { match = { protocol = \"tcp\"; dstPort = 22; }; action = \"redirect\";\n"
	    "        interface = \"eth1\"; } ); }; }; },\n"
	    "  { name = \"out\"; type = \"tc-egress\"; interface = \"eth0\"; priority = 65535;\n"
	    "    settings = { stateful = false; }; },\n"
	    "  { name = \"out-default\"; type = \"tc-egress\"; interface = \"eth1\"; },\n"
	    "  { name = \"xdp\"; type = \"xdp\"; interface = \"eth0\"; priority = 0;\n"
	    "    settings = { stateful = true; }; }\n"
	    ");\n");
	const struct fos_program *p = c->programs;
	struct fos_errors e = {};

	ck_assert_uint_eq(c->n_programs, 4);
	ck_assert_int_eq(p[0].type, FOS_PROG_TC_INGRESS);
	ck_assert_int_eq(p[0].priority, 1);
	ck_assert(p[0].stateful);
	ck_assert_int_eq(p[0].default_action, FOS_CFG_DROP);
	ck_assert_int_eq(p[0].rules[0].action, FOS_CFG_REDIRECT);
	ck_assert_str_eq(p[0].rules[0].interface, "eth1");
	ck_assert_int_eq(p[1].type, FOS_PROG_TC_EGRESS);
	ck_assert_int_eq(p[1].priority, 65535);
	ck_assert(!p[1].stateful);
	ck_assert_int_eq(p[2].type, FOS_PROG_TC_EGRESS);
	ck_assert_int_eq(p[2].priority, 100);
	/* an XDP program keeps 0-65535 */
	ck_assert_int_eq(p[3].type, FOS_PROG_XDP);
	ck_assert_int_eq(p[3].priority, 0);
	ck_assert(p[3].stateful);

	ck_assert_int_eq(fos_config_check_interfaces(c, fake_resolve, &e), 0);
	ck_assert_uint_eq(e.n, 0);
}
END_TEST

START_TEST(test_tc_slots_ok)
{
	/* what may share an interface: other priorities, other interfaces, other
	 * hooks, stateful programs on both directions (neither needs a tracker) */
	_cleanup_(fos_config_freep) struct fos_config *c = load_ok(
	    "programs = (\n"
	    "  { name = \"a\"; type = \"tc-ingress\"; interface = \"eth0\"; priority = 10;\n"
	    "    settings = { stateful = true; }; },\n"
	    "  { name = \"b\"; type = \"tc-egress\"; interface = \"eth0\"; priority = 10;\n"
	    "    settings = { stateful = true; }; },\n"
	    "  { name = \"c\"; type = \"tc-ingress\"; interface = \"eth0\"; priority = 11; },\n"
	    "  { name = \"d\"; type = \"tc-egress\"; interface = \"eth0\"; priority = 11; },\n"
	    "  { name = \"e\"; type = \"tc-ingress\"; interface = \"eth1\"; priority = 10;\n"
	    "    settings = { stateful = true; }; },\n"
	    "  { name = \"f\"; type = \"xdp\"; interface = \"eth0\"; priority = 10;\n"
	    "    settings = { stateful = true; }; },\n"
	    "  { name = \"g\"; type = \"xdp\"; interface = \"eth0\"; priority = 10;\n"
	    "    settings = { stateful = true; }; },\n"
	    "  { name = \"h\"; type = \"tc-egress\"; interface = \"eth1\"; priority = 9; }\n"
	    ");\n");

	ck_assert_uint_eq(c->n_programs, 8);

	/* the tracker of a stateful program stands aside for the stateful
	 * program on the other direction, wherever that one is defined */
	fos_config_free(load_ok(
	    "programs = (\n"
	    "  { name = \"a\"; type = \"tc-ingress\"; interface = \"eth0\"; priority = 10;\n"
	    "    settings = { stateful = true; }; },\n"
	    "  { name = \"b\"; type = \"tc-egress\"; interface = \"eth0\"; priority = 10; },\n"
	    "  { name = \"c\"; type = \"tc-egress\"; interface = \"eth0\"; priority = 20;\n"
	    "    settings = { stateful = true; }; }\n"
	    ");\n"));
}
END_TEST

START_TEST(test_conntrack_values)
{
	_cleanup_(fos_config_freep) struct fos_config *c = load_ok("conntrack = {\n"
								   "  maxConnections = 67108864;\n"
								   "  tcpTimeout = 2147483647;\n"
								   "  tcpSynTimeout = \"1h30m\";\n"
								   "  tcpFinTimeout = \"90\";\n"
								   "  udpTimeout = \"2000ms\";\n"
								   "  icmpTimeout = 1L;\n"
								   "  invalid = \"pass\";\n"
								   "};\n");

	ck_assert_str_eq(c->conntrack.src.file, "t.conf");
	ck_assert_int_eq(c->conntrack.src.line, 1);
	ck_assert_uint_eq(c->conntrack.max_connections, FOS_CT_MAX_CONNECTIONS);
	ck_assert_uint_eq(c->conntrack.tcp_timeout, 2147483647U);
	ck_assert_uint_eq(c->conntrack.tcp_syn_timeout, 5400);
	ck_assert_uint_eq(c->conntrack.tcp_fin_timeout, 90);
	ck_assert_uint_eq(c->conntrack.udp_timeout, 2);
	ck_assert_uint_eq(c->conntrack.icmp_timeout, 1);
	ck_assert_uint_eq(c->conntrack.invalid, FOS_CT_INVALID_PASS);
	fos_config_free(TAKE_PTR(c));

	/* "drop" and the smallest values; keys left out keep their defaults */
	c = load_ok(
	    "conntrack = { maxConnections = 1; tcpTimeout = \"1s\"; invalid = \"drop\"; };\n");
	ck_assert_uint_eq(c->conntrack.max_connections, 1);
	ck_assert_uint_eq(c->conntrack.tcp_timeout, 1);
	ck_assert_uint_eq(c->conntrack.tcp_syn_timeout, FOS_CT_DEFAULT_TCP_SYN_TIMEOUT);
	ck_assert_uint_eq(c->conntrack.udp_timeout, FOS_CT_DEFAULT_UDP_TIMEOUT);
	ck_assert_uint_eq(c->conntrack.invalid, FOS_CT_INVALID_DROP);
	fos_config_free(TAKE_PTR(c));

	/* an empty group is all defaults, located at the group */
	c = load_ok("\nconntrack = { };\n");
	ck_assert_int_eq(c->conntrack.src.line, 2);
	ck_assert_uint_eq(c->conntrack.max_connections, FOS_CT_DEFAULT_MAX);
	ck_assert_uint_eq(c->conntrack.tcp_timeout, FOS_CT_DEFAULT_TCP_TIMEOUT);
	ck_assert_uint_eq(c->conntrack.icmp_timeout, FOS_CT_DEFAULT_ICMP_TIMEOUT);
	ck_assert_uint_eq(c->conntrack.invalid, FOS_CT_INVALID_DROP);
}
END_TEST

START_TEST(test_state_values)
{
	_cleanup_(fos_config_freep) struct fos_config *c = load_ok(
	    "programs = ( { name = \"p\"; type = \"tc-egress\"; interface = \"eth0\";\n"
	    "settings = { actions = { rules = (\n"
	    "  { match = { state = \"new\"; }; action = \"pass\"; },\n"
	    "  { match = { state = [ \"new\", \"established\", \"new\" ]; }; action = \"pass\"; "
	    "},\n"
	    "  { match = { state = ( \"related\", \"invalid\", \"new\", \"established\" ); };\n"
	    "    action = \"drop\"; },\n"
	    "  { match = { state = \"invalid\"; protocol = \"tcp\"; }; action = \"drop\"; },\n"
	    "  { match = { protocol = \"udp\"; }; action = \"drop\"; }\n"
	    "); };\n"
	    "stateful = true; }; } );\n"
	    "conntrack = { invalid = \"rules\"; };\n");
	const struct fos_rule_cfg *r = c->programs[0].rules;

	/* stateful may follow the rules, conntrack.invalid the programs */
	ck_assert(c->programs[0].stateful);
	ck_assert_uint_eq(r[0].match.state, 1U << FOS_CT_NEW);
	ck_assert_uint_eq(r[1].match.state, 1U << FOS_CT_NEW | 1U << FOS_CT_ESTABLISHED);
	ck_assert_uint_eq(r[2].match.state, 0xf);
	ck_assert_uint_eq(r[3].match.state, 1U << FOS_CT_INVALID);
	ck_assert_uint_eq(r[3].match.protocol, 6);
	ck_assert_uint_eq(r[4].match.state, 0);
}
END_TEST

START_TEST(test_names_limits)
{
	char name[FOS_NAME_MAX + 1];
	_cleanup_free_ char *ok_text = NULL, *long_text = NULL, *long_msg = NULL;
	_cleanup_(fos_config_freep) struct fos_config *c = NULL;

	memset(name, 'n', FOS_NAME_MAX - 1);
	name[FOS_NAME_MAX - 1] = '\0';
	ok_text = strf("ipSets = ( { name = \"%s\"; } );\n"
		       "programs = ( { name = \"A-b_c-9\"; type = \"xdp\"; interface = "
		       "\"abcdefghijklmno\"; } );\n",
		       name);
	c = load_ok(ok_text);
	ck_assert_str_eq(c->sets[0].name, name);
	ck_assert_str_eq(c->programs[0].name, "A-b_c-9");
	ck_assert_str_eq(c->programs[0].interface, "abcdefghijklmno");

	strcat(name, "n");
	long_text = strf("ipSets = ( { name = \"%s\"; } );\n", name);
	long_msg = strf("t.conf:1: ipSets[0].name: \"%s\" is not a valid name (use 1-63 letters, "
			"digits, \".\", \"_\" or \"-\")",
			name);
	assert_load_fails(long_text, ERRORS(long_msg));
}
END_TEST

START_TEST(test_to_string)
{
	ck_assert_str_eq(fos_prog_type_to_string(FOS_PROG_XDP), "xdp");
	ck_assert_str_eq(fos_prog_type_to_string(FOS_PROG_TC_INGRESS), "tc-ingress");
	ck_assert_str_eq(fos_prog_type_to_string(FOS_PROG_TC_EGRESS), "tc-egress");
	ck_assert_ptr_null(fos_prog_type_to_string(_FOS_PROG_TYPE_MAX));
	ck_assert_str_eq(fos_ct_class_to_string(FOS_CT_NEW), "new");
	ck_assert_str_eq(fos_ct_class_to_string(FOS_CT_ESTABLISHED), "established");
	ck_assert_str_eq(fos_ct_class_to_string(FOS_CT_RELATED), "related");
	ck_assert_str_eq(fos_ct_class_to_string(FOS_CT_INVALID), "invalid");
	ck_assert_ptr_null(fos_ct_class_to_string(_FOS_CT_CLASS_MAX));
	ck_assert_ptr_null(fos_ct_class_to_string(UINT_MAX));
	ck_assert_str_eq(fos_ct_invalid_to_string(FOS_CT_INVALID_DROP), "drop");
	ck_assert_str_eq(fos_ct_invalid_to_string(FOS_CT_INVALID_PASS), "pass");
	ck_assert_str_eq(fos_ct_invalid_to_string(FOS_CT_INVALID_RULES), "rules");
	ck_assert_ptr_null(fos_ct_invalid_to_string(_FOS_CT_INVALID_MAX));
	ck_assert_ptr_null(fos_ct_invalid_to_string(255));
	ck_assert_str_eq(fos_cfg_action_to_string(FOS_CFG_PASS), "pass");
	ck_assert_str_eq(fos_cfg_action_to_string(FOS_CFG_DROP), "drop");
	ck_assert_str_eq(fos_cfg_action_to_string(FOS_CFG_REDIRECT), "redirect");
	ck_assert_ptr_null(fos_cfg_action_to_string(_FOS_CFG_ACTION_MAX));
	ck_assert_ptr_null(fos_cfg_action_to_string((enum fos_cfg_action)99));
}
END_TEST

START_TEST(test_errors_add_clear)
{
	struct fos_errors e = {};

	fos_errors_add(&e, "f.conf", 3, "%s %d", "bad", 7);
	fos_errors_add(&e, "f.conf", 0, "whole file");
	fos_errors_add(&e, NULL, 0, "no file");
	fos_errors_add(NULL, "f.conf", 1, "dropped");
	assert_errors(&e, ERRORS("f.conf:3: bad 7", "f.conf: whole file", "no file"));

	fos_errors_clear(&e);
	ck_assert_uint_eq(e.n, 0);
	ck_assert_ptr_null(e.msgs);
	fos_errors_clear(&e);
	fos_errors_clear(NULL);
	fos_config_free(NULL);
	ck_assert_ptr_null(fos_config_find_set(NULL, "x"));
	ck_assert_ptr_null(fos_config_find_program(NULL, "x"));
}
END_TEST

/* ---- errors -------------------------------------------------------------- */

START_TEST(test_syntax_error)
{
	assert_load_fails("daemon = {\n  logLevel = ;\n};\n", ERRORS("t.conf:2: syntax error"));
}
END_TEST

START_TEST(test_mixed_array_hint)
{
	assert_load_fails(
	    RULES_CONF("{ match = { protocol = \"tcp\"; dstPorts = [ 22, \"8000-8100\" "
		       "]; }; action = \"drop\"; }"),
	    ERRORS("t.conf:2: mismatched element type in array (use a list ( 22, "
		   "\"8000-8100\" ) to mix numbers and ranges)"));
}
END_TEST

START_TEST(test_top_level_keys)
{
	assert_load_fails(
	    "foo = 1;\n"
	    "program = ( );\n"
	    "ipsets = ( );\n"
	    "trafficControl = { };\n"
	    "natConfigs = ( );\n"
	    "containerPolicies = ( );\n"
	    "conntrak = { };\n",
	    ERRORS("t.conf:1: foo: unknown key",
		   "t.conf:2: program: unknown key (did you mean \"programs\"?)",
		   "t.conf:3: ipsets: unknown key (did you mean \"ipSets\"?)",
		   "t.conf:4: trafficControl: QoS (the TrafficControl resource) is not "
		   "built into fos " FOS_VERSION " yet",
		   "t.conf:6: containerPolicies: container policy enforcement (the ContainerPolicy "
		   "resource) is not built into fos " FOS_VERSION " yet",
		   "t.conf:7: conntrak: unknown key (did you mean \"conntrack\"?)"));
}
END_TEST

START_TEST(test_top_level_types)
{
	assert_load_fails(
	    "daemon = 1;\n"
	    "ipSets = { };\n"
	    "programs = ( \"p\", { name = \"q\"; type = \"xdp\"; interface = \"eth0\"; } );\n",
	    ERRORS("t.conf:1: daemon: expected a group, got an integer",
		   "t.conf:2: ipSets: expected a list, got a group",
		   "t.conf:3: programs[0]: expected a group, got a string"));
}
END_TEST

START_TEST(test_daemon_errors)
{
	char sock[200] = "/";
	_cleanup_free_ char *text = NULL;

	memset(sock + 1, 's', 107);
	text = strf("daemon = {\n"
		    "  socket = \"%s\";\n"
		    "  pinDir = \"run/fos\";\n"
		    "  logLevel = \"verbose\";\n"
		    "  user = \"fos\";\n"
		    "};\n",
		    sock);
	assert_load_fails(text,
			  ERRORS("t.conf:5: daemon.user: unknown key",
				 "t.conf:2: daemon.socket: path is 108 characters long, a "
				 "socket address holds 107",
				 "t.conf:3: daemon.pinDir: \"run/fos\" is not an absolute path",
				 "t.conf:4: daemon.logLevel: unknown log level \"verbose\" "
				 "(valid: debug, info, notice, warning, error)"));

	{
		char pin[260] = "/";
		_cleanup_free_ char *t2 = NULL;

		memset(pin + 1, 'p', 200);
		t2 = strf("daemon = { pinDir = \"%s\"; };\n", pin);
		assert_load_fails(t2,
				  ERRORS("t.conf:1: daemon.pinDir: path is 201 characters long, "
					 "at most 199 are allowed"));
	}
	assert_load_fails("daemon = { socket = \"\";\n pinDir = 5; logLevel = \"INFO\"; };\n",
			  ERRORS("t.conf:1: daemon.socket: an empty string is not a socket path",
				 "t.conf:2: daemon.pinDir: expected a string, got an integer",
				 "t.conf:2: daemon.logLevel: unknown log level \"INFO\" (valid: "
				 "debug, info, notice, warning, error)"));
	assert_load_fails("daemon = {\n tcAttach = \"tc\"; };\n",
			  ERRORS("t.conf:2: daemon.tcAttach: unknown TC attach mode \"tc\" (valid: "
				 "auto, tcx, clsact)"));
	assert_load_fails("daemon = { tcAttach = true; };\n",
			  ERRORS("t.conf:1: daemon.tcAttach: expected a string, got a boolean"));
}
END_TEST

START_TEST(test_set_errors)
{
	assert_load_fails(
	    "ipSets = (\n"
	    "  { entries = [ \"10.0.0.0/8\" ]; },\n"
	    "  { name = \"bad name\"; },\n"
	    "  { name = \"a\"; entries = [ \"10.0.0.1/8\", \"x\" ]; },\n"
	    "  { name = \"b\"; entries = \"10.0.0.0/8\"; },\n"
	    "  { name = \"c\"; entries = ( 10 ); },\n"
	    "  { name = \"a\"; size = 10; },\n"
	    "  { name = \"d\"; file = \"\"; },\n"
	    "  { name = 5; file = 6; },\n"
	    "  \"e\" );\n",
	    ERRORS("t.conf:2: ipSets[0]: name is required",
		   "t.conf:3: ipSets[1].name: \"bad name\" is not a valid name (use 1-63 letters, "
		   "digits, \".\", \"_\" or \"-\")",
		   "t.conf:4: ipSets[2].entries[0]: 10.0.0.1/8: host bits set, the network is "
		   "10.0.0.0/8",
		   "t.conf:4: ipSets[2].entries[1]: x is not an IP address",
		   "t.conf:5: ipSets[3].entries: expected a list, got a string",
		   "t.conf:6: ipSets[4].entries[0]: expected a string, got an integer",
		   "t.conf:7: ipSets[5].size: unknown key",
		   "t.conf:7: ipSets[5].name: ipSet \"a\" is already defined at t.conf:4",
		   "t.conf:8: ipSets[6].file: an empty string is not a file name",
		   "t.conf:9: ipSets[7].name: expected a string, got an integer",
		   "t.conf:9: ipSets[7].file: expected a string, got an integer",
		   "t.conf:10: ipSets[8]: expected a group, got a string"));
}
END_TEST

START_TEST(test_set_file_missing)
{
	_cleanup_free_ char *name = data_path("t.conf");
	_cleanup_free_ char *msg = NULL;

	msg = strf("%s:2: ipSets[0].file: cannot read \"%s/sets/missing.txt\": No such file or "
		   "directory",
		   name, data_dir());
	assert_load_fails_named(
	    name, "ipSets = ( { name = \"m\";\n file = \"sets/missing.txt\"; } );\n", ERRORS(msg));
}
END_TEST

START_TEST(test_set_file_bad_lines)
{
	_cleanup_free_ char *name = data_path("t.conf");
	_cleanup_free_ char *m1 = NULL, *m2 = NULL;

	m1 = strf("%s/sets/bad.txt:3: 10.0.0.1/8: host bits set, the network is 10.0.0.0/8",
		  data_dir());
	m2 = strf("%s/sets/bad.txt:4: not-an-address is not an IP address", data_dir());
	assert_load_fails_named(name, "ipSets = ( { name = \"m\"; file = \"sets/bad.txt\"; } );\n",
				ERRORS(m1, m2));
}
END_TEST

START_TEST(test_set_file_absolute)
{
	_cleanup_free_ char *file = data_path("sets/malicious.txt");
	_cleanup_free_ char *text = NULL;
	_cleanup_(fos_config_freep) struct fos_config *c = NULL;

	/* an absolute path does not depend on where the config is */
	text = strf("ipSets = ( { name = \"m\"; file = \"%s\"; } );\n", file);
	c = load_ok(text);
	ck_assert_str_eq(c->sets[0].file, file);
	ck_assert_uint_eq(c->sets[0].n_entries, 4);
	assert_cidr(&c->sets[0].entries[0], "203.0.113.0/24");
	assert_cidr(&c->sets[0].entries[3], "2001:db8:beef::/48");
}
END_TEST

START_TEST(test_program_required)
{
	assert_load_fails("programs = (\n"
			  "  { description = \"nothing else\"; }\n"
			  ");\n",
			  ERRORS("t.conf:2: programs[0]: name is required",
				 "t.conf:2: programs[0]: type is required",
				 "t.conf:2: programs[0]: interface is required"));
	/* a program is pinned under its name, and the BPF filesystem takes no "." */
	assert_load_fails("programs = (\n"
			  "  { name = \"edge.fw\"; type = \"xdp\"; interface = \"eth0\"; }\n"
			  ");\n",
			  ERRORS("t.conf:2: programs[0].name: a program name may not contain \".\" "
				 "(the BPF filesystem refuses it): \"edge.fw\""));
}
END_TEST

START_TEST(test_program_types)
{
	static const char *const planned[] = {"sockops", "sk_msg", "cgroup"};

	for (size_t i = 0; i < ARRAY_SIZE(planned); i++) {
		_cleanup_free_ char *text = NULL, *msg = NULL;

		text =
		    strf("programs = ( { name = \"p\"; type = \"%s\"; interface = \"eth0\"; } );\n",
			 planned[i]);
		msg =
		    strf("t.conf:1: programs[0].type: type \"%s\" is not supported yet (supported: "
			 "xdp, tc-ingress, tc-egress)",
			 planned[i]);
		assert_load_fails(text, ERRORS(msg));
	}

	assert_load_fails("programs = (\n"
			  "  { name = \"p\"; type = \"tc\"; interface = \"eth0\"; },\n"
			  "  { name = \"q\"; type = 1; interface = \"eth0\"; }\n"
			  ");\n",
			  ERRORS("t.conf:2: programs[0].type: unknown type \"tc\" (valid: xdp, "
				 "tc-ingress, tc-egress, sockops, sk_msg, cgroup)",
				 "t.conf:3: programs[1].type: expected a string, got an integer"));
}
END_TEST

START_TEST(test_program_fields)
{
	assert_load_fails(
	    "programs = (\n"
	    "  { name = \"a\"; type = \"xdp\"; interface = \"eth0.very-long-name\"; },\n"
	    "  { name = \"b\"; type = \"xdp\"; interface = \"\"; },\n"
	    "  { name = \"c\"; type = \"xdp\"; interface = \"eth 0\"; },\n"
	    "  { name = \"d\"; type = \"xdp\"; interface = \"..\"; },\n"
	    "  { name = \"e\"; type = \"xdp\"; interface = \"eth0\"; priority = 70000; },\n"
	    "  { name = \"f\"; type = \"xdp\"; interface = \"eth0\"; priority = -1; },\n"
	    "  { name = \"g\"; type = \"xdp\"; interface = \"eth0\"; priority = \"10\"; },\n"
	    "  { name = \"h\"; type = \"xdp\"; interface = \"eth0\"; priority = 1.5; },\n"
	    "  { name = \"i\"; type = \"xdp\"; interface = \"eth0\"; description = 1; },\n"
	    "  { name = \"j\"; type = \"xdp\"; interface = \"eth0\"; prority = 1; },\n"
	    "  { name = \"a\"; type = \"xdp\"; interface = \"eth0\"; }\n"
	    ");\n",
	    ERRORS("t.conf:2: programs[0].interface: \"eth0.very-long-name\" is longer than 15 "
		   "characters",
		   "t.conf:3: programs[1].interface: an empty string is not an interface name",
		   "t.conf:4: programs[2].interface: \"eth 0\" is not a valid interface name",
		   "t.conf:5: programs[3].interface: \"..\" is not a valid interface name",
		   "t.conf:6: programs[4].priority: 70000 is out of range 0-65535",
		   "t.conf:7: programs[5].priority: -1 is out of range 0-65535",
		   "t.conf:8: programs[6].priority: expected an integer, got a string",
		   "t.conf:9: programs[7].priority: expected an integer, got a float",
		   "t.conf:10: programs[8].description: expected a string, got an integer",
		   "t.conf:11: programs[9].prority: unknown key (did you mean \"priority\"?)",
		   "t.conf:12: programs[10].name: program \"a\" is already defined at t.conf:2"));
}
END_TEST

START_TEST(test_settings_keys)
{
	assert_load_fails(
	    "programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\";\n"
	    "settings = {\n"
	    "  tcpFloodProtection = { enabled = true; };\n"
	    "  stateful = 1;\n"
	    "  synFlood = { };\n"
	    "  ratelimiting = { };\n"
	    "  blacklst = { };\n"
	    "  qos = { };\n"
	    "  statefull = true;\n"
	    "}; } );\n",
	    ERRORS("t.conf:3: programs[0].settings.tcpFloodProtection: unknown key (did you mean "
		   "\"icmpFloodProtection\"?)",
		   "t.conf:5: programs[0].settings.synFlood: unknown key",
		   "t.conf:6: programs[0].settings.ratelimiting: unknown key (did you mean "
		   "\"rateLimiting\"?)",
		   "t.conf:7: programs[0].settings.blacklst: unknown key (did you mean "
		   "\"blacklist\"?)",
		   "t.conf:8: programs[0].settings.qos: unknown key",
		   "t.conf:9: programs[0].settings.statefull: unknown key (did you mean "
		   "\"stateful\"?)",
		   "t.conf:4: programs[0].settings.stateful: expected a boolean, got an integer"));

	assert_load_fails("programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\";\n"
			  "settings = ( ); } );\n",
			  ERRORS("t.conf:2: programs[0].settings: expected a group, got a list"));
}
END_TEST

START_TEST(test_list_refs)
{
	assert_load_fails(
	    "ipSets = ( { name = \"s\"; } );\n"
	    "programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\";\n"
	    "settings = {\n"
	    "  blacklist = { enabled = true; };\n"
	    "  whitelist = { enabled = false;\n"
	    "    ipSetRef = \"nope\"; };\n"
	    "}; },\n"
	    "{ name = \"q\"; type = \"xdp\"; interface = \"eth0\";\n"
	    "settings = {\n"
	    "  blacklist = { enabled = 1; ipSetRef = \"s\"; set = \"s\"; };\n"
	    "  whitelist = { ipSetRef = 7; };\n"
	    "}; } );\n",
	    ERRORS("t.conf:4: programs[0].settings.blacklist: enabled = true needs an ipSetRef",
		   "t.conf:10: programs[1].settings.blacklist.set: unknown key",
		   "t.conf:10: programs[1].settings.blacklist.enabled: expected a boolean, got "
		   "an integer",
		   "t.conf:11: programs[1].settings.whitelist.ipSetRef: expected a string, got "
		   "an integer",
		   "t.conf:6: programs[0].settings.whitelist: ipSetRef \"nope\": no such ipSet"));
}
END_TEST

START_TEST(test_actions_errors)
{
	assert_load_fails(
	    "programs = (\n"
	    "{ name = \"a\"; type = \"xdp\"; interface = \"eth0\";\n"
	    "  settings = { actions = { default = \"reject\"; }; }; },\n"
	    "{ name = \"b\"; type = \"xdp\"; interface = \"eth0\";\n"
	    "  settings = { actions = { default = \"redirect\"; }; }; },\n"
	    "{ name = \"c\"; type = \"xdp\"; interface = \"eth0\";\n"
	    "  settings = { actions = { default = \"drop\"; defaultInterface = "
	    "\"eth1\"; }; }; },\n"
	    "{ name = \"d\"; type = \"xdp\"; interface = \"eth0\";\n"
	    "  settings = { actions = { rules = { }; }; }; },\n"
	    "{ name = \"e\"; type = \"xdp\"; interface = \"eth0\";\n"
	    "  settings = { actions = { defaults = \"pass\"; }; }; }\n"
	    ");\n",
	    ERRORS("t.conf:3: programs[0].settings.actions.default: unknown action "
		   "\"reject\" (valid: pass, drop, redirect)",
		   "t.conf:5: programs[1].settings.actions: default \"redirect\" needs a "
		   "defaultInterface",
		   "t.conf:7: programs[2].settings.actions: defaultInterface is only valid "
		   "with default \"redirect\"",
		   "t.conf:9: programs[3].settings.actions.rules: expected a list, got a "
		   "group",
		   "t.conf:11: programs[4].settings.actions.defaults: unknown key (did you "
		   "mean \"default\"?)"));
}
END_TEST

static char *rules_text(size_t n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	fputs("programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\";\n"
	      "settings = { actions = { rules = (",
	      f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s{ match = { }; action = \"pass\"; }", i > 0 ? ", " : " ");
	fputs(" ); }; }; } );\n", f);
	ck_assert_int_eq(fclose(f), 0);
	return text;
}

START_TEST(test_rule_count)
{
	_cleanup_free_ char *max = rules_text(1024), *over = rules_text(1025);
	_cleanup_(fos_config_freep) struct fos_config *c = load_ok(max);

	ck_assert_uint_eq(c->programs[0].n_rules, 1024);
	assert_load_fails(over, ERRORS("t.conf:2: programs[0].settings.actions.rules: 1025 rules, "
				       "at most 1024 are allowed"));
}
END_TEST

START_TEST(test_rule_errors)
{
#define RP "programs[0].settings.actions.rules"
	assert_load_fails(
	    RULE_LINES_HEAD "{ action = \"pass\"; },\n"
			    "{ match = { }; },\n"
			    "{ match = { }; action = \"reject\"; },\n"
			    "{ match = { }; action = \"redirect\"; },\n"
			    "{ match = { }; action = \"drop\"; interface = \"eth1\"; },\n"
			    "{ match = { }; action = \"pass\"; comment = \"x\"; },\n"
			    "{ match = \"all\"; action = \"pass\"; },\n"
			    "{ match = { dstport = 22; }; action = \"pass\"; },\n"
			    "\"drop\" " RULE_LINES_TAIL,
	    ERRORS("t.conf:3: " RP "[0]: match is required",
		   "t.conf:4: " RP "[1]: action is required",
		   "t.conf:5: " RP "[2].action: unknown action \"reject\" (valid: pass, drop, "
		   "redirect)",
		   "t.conf:6: " RP "[3]: action \"redirect\" needs an interface",
		   "t.conf:7: " RP "[4]: interface is only valid with action \"redirect\"",
		   "t.conf:8: " RP "[5].comment: unknown key",
		   "t.conf:9: " RP "[6].match: expected a group, got a string",
		   "t.conf:10: " RP "[7].match.dstport: unknown key (did you mean \"dstPort\"?)",
		   "t.conf:11: " RP "[8]: expected a group, got a string"));
#undef RP
}
END_TEST

START_TEST(test_match_errors)
{
#define RP "programs[0].settings.actions.rules"
	assert_load_fails(
	    RULE_LINES_HEAD
	    "{ match = { protocol = \"sctp\"; }; action = \"pass\"; },\n"
	    "{ match = { srcCIDR = \"10.0.0.1/8\"; }; action = \"pass\"; },\n"
	    "{ match = { dstCIDR = ( ); }; action = \"pass\"; },\n"
	    "{ match = { srcCIDR = 10; }; action = \"pass\"; },\n"
	    "{ match = { dstCIDR = [ \"192.0.2.0/24\", \"192.0.2.0/33\" ]; }; action = \"pass\"; "
	    "},\n"
	    "{ match = { srcCIDR = ( \"10.0.0.0/8\", 7 ); }; action = \"pass\"; },\n"
	    "{ match = { protocol = 6; }; action = \"pass\"; }\n" RULE_LINES_TAIL,
	    ERRORS("t.conf:3: " RP "[0].match.protocol: sctp is not a protocol (use tcp, udp, "
		   "icmp, icmpv6 or any)",
		   "t.conf:4: " RP "[1].match.srcCIDR: 10.0.0.1/8: host bits set, the network is "
		   "10.0.0.0/8",
		   "t.conf:5: " RP "[2].match.dstCIDR: an empty list matches nothing",
		   "t.conf:6: " RP "[3].match.srcCIDR: expected a string or a list of strings, "
		   "got an integer",
		   "t.conf:7: " RP "[4].match.dstCIDR[1]: 192.0.2.0/33: prefix length 33 is out "
		   "of range 0-32",
		   "t.conf:8: " RP "[5].match.srcCIDR[1]: expected a string, got an integer",
		   "t.conf:9: " RP "[6].match.protocol: expected a string, got an integer"));
#undef RP
}
END_TEST

START_TEST(test_port_errors)
{
#define RP "programs[0].settings.actions.rules"
	assert_load_fails(
	    RULE_LINES_HEAD
	    "{ match = { protocol = \"tcp\"; dstPort = 70000; }; action = \"drop\"; },\n"
	    "{ match = { protocol = \"tcp\"; srcPort = -1; }; action = \"drop\"; },\n"
	    "{ match = { protocol = \"tcp\"; dstPort = \"9000-8000\"; }; action = \"drop\"; },\n"
	    "{ match = { protocol = \"udp\"; dstPorts = ( 22, 1.5 ); }; action = \"drop\"; },\n"
	    "{ match = { protocol = \"udp\"; srcPorts = ( ); }; action = \"drop\"; },\n"
	    "{ match = { protocol = \"udp\"; dstPorts = 53; }; action = \"drop\"; },\n"
	    "{ match = { protocol = \"udp\"; dstPort = \"http\"; }; action = \"drop\"; },\n"
	    "{ match = { protocol = \"udp\"; dstPort = true; }; action = \"drop\"; "
	    "}\n" RULE_LINES_TAIL,
	    ERRORS("t.conf:3: " RP "[0].match.dstPort: 70000 is out of range 0-65535",
		   "t.conf:4: " RP "[1].match.srcPort: -1 is out of range 0-65535",
		   "t.conf:5: " RP "[2].match.dstPort: 9000-8000: range start is above its end",
		   "t.conf:6: " RP "[3].match.dstPorts[1]: expected an integer or a \"lo-hi\" "
		   "string, got a float",
		   "t.conf:7: " RP "[4].match.srcPorts: an empty list matches nothing",
		   "t.conf:8: " RP "[5].match.dstPorts: expected a list, got an integer",
		   "t.conf:9: " RP "[6].match.dstPort: http is not a port number",
		   "t.conf:10: " RP "[7].match.dstPort: expected an integer or a \"lo-hi\" "
		   "string, got a boolean"));
#undef RP
}
END_TEST

START_TEST(test_port_needs_tcp_udp)
{
#define RP "programs[0].settings.actions.rules"
	assert_load_fails(
	    RULE_LINES_HEAD "{ match = { dstPort = 22; }; action = \"drop\"; },\n"
			    "{ match = { protocol = \"icmp\"; srcPort = 1;\n"
			    "            dstPorts = ( 2 ); }; action = \"drop\"; },\n"
			    "{ match = { protocol = \"any\"; srcPorts = ( 1 ); }; action = "
			    "\"drop\"; }\n" RULE_LINES_TAIL,
	    ERRORS("t.conf:3: " RP "[0].match: dstPort needs protocol \"tcp\" or \"udp\"",
		   "t.conf:4: " RP "[1].match: srcPort needs protocol \"tcp\" or \"udp\"",
		   "t.conf:5: " RP "[1].match: dstPorts needs protocol \"tcp\" or \"udp\"",
		   "t.conf:6: " RP "[2].match: srcPorts needs protocol \"tcp\" or \"udp\""));
#undef RP
}
END_TEST

START_TEST(test_port_spans_limit)
{
	assert_load_fails(RULES_CONF("{ match = { protocol = \"tcp\"; dstPort = 1; dstPorts = ( 2, "
				     "3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17 ); }; "
				     "action = \"drop\"; }"),
			  ERRORS("t.conf:2: " R0 ".match: 17 destination port ranges, at most 16 "
				 "are allowed"));
	assert_load_fails(RULES_CONF("{ match = { protocol = \"tcp\"; srcPorts = ( 1, 2, 3, 4, 5, "
				     "6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18 ); }; "
				     "action = \"drop\"; }"),
			  ERRORS("t.conf:2: " R0 ".match: 18 source port ranges, at most 16 are "
				 "allowed"));
}
END_TEST

START_TEST(test_never_matching_families)
{
#define RP "programs[0].settings.actions.rules"
	assert_load_fails(
	    RULE_LINES_HEAD
	    "{ match = { protocol = \"icmp\"; srcCIDR = ( \"10.0.0.0/8\", \"2001:db8::/32\" ); "
	    "}; action = \"drop\"; },\n"
	    "{ match = { protocol = \"icmpv6\"; dstCIDR = \"192.0.2.0/24\"; }; action = "
	    "\"drop\"; },\n"
	    "{ match = { srcCIDR = \"10.0.0.0/8\"; dstCIDR = \"2001:db8::/32\"; }; action = "
	    "\"drop\"; },\n"
	    "{ match = { srcCIDR = \"2001:db8::/32\";\n"
	    "            dstCIDR = [ \"10.0.0.0/8\", \"192.0.2.0/24\" ]; }; action = \"drop\"; "
	    "}\n" RULE_LINES_TAIL,
	    ERRORS("t.conf:3: " RP "[0].match: protocol \"icmp\" never matches the IPv6 srcCIDR "
		   "\"2001:db8::/32\"",
		   "t.conf:4: " RP "[1].match: protocol \"icmpv6\" never matches the IPv4 "
		   "dstCIDR \"192.0.2.0/24\"",
		   "t.conf:5: " RP "[2].match: srcCIDR is only IPv4 and dstCIDR only IPv6: the "
		   "rule could never match",
		   "t.conf:7: " RP "[3].match: srcCIDR is only IPv6 and dstCIDR only IPv4: the "
		   "rule could never match"));
#undef RP

	/* a family in common is enough */
	fos_config_free(load_ok(
	    RULES_CONF("{ match = { srcCIDR = ( \"10.0.0.0/8\", \"2001:db8::/32\" ); dstCIDR = "
		       "\"2001:db8:1::/48\"; protocol = \"tcp\"; }; action = \"drop\"; }, "
		       "{ match = { protocol = \"icmp\"; dstCIDR = \"192.0.2.0/24\"; }; action = "
		       "\"drop\"; }")));
}
END_TEST

START_TEST(test_tc_priority)
{
	assert_load_fails(
	    "programs = (\n"
	    "  { name = \"a\"; type = \"tc-ingress\"; interface = \"eth0\"; priority = 0; },\n"
	    "  { name = \"b\"; type = \"tc-egress\"; interface = \"eth0\"; priority = 65536; },\n"
	    "  { name = \"c\"; type = \"tc-egress\"; interface = \"eth1\"; priority = -1; }\n"
	    ");\n",
	    ERRORS("t.conf:2: programs[0].priority: 0 is out of range 1-65535",
		   "t.conf:3: programs[1].priority: 65536 is out of range 1-65535",
		   "t.conf:4: programs[2].priority: -1 is out of range 1-65535"));
}
END_TEST

START_TEST(test_conntrack_errors)
{
	assert_load_fails(
	    "conntrack = {\n"
	    "  maxConnections = 0;\n"
	    "  tcpTimeout = 0;\n"
	    "  tcpSynTimeout = -5;\n"
	    "  tcpFinTimeout = \"0s\";\n"
	    "  udpTimeout = \"-30s\";\n"
	    "  icmpTimeout = 2147483648L;\n"
	    "  invalid = \"reject\";\n"
	    "  maxConnection = 5;\n"
	    "  timeout = 5;\n"
	    "};\n",
	    ERRORS("t.conf:9: conntrack.maxConnection: unknown key (did you mean "
		   "\"maxConnections\"?)",
		   "t.conf:10: conntrack.timeout: unknown key",
		   "t.conf:2: conntrack.maxConnections: 0 is out of range 1-67108864",
		   "t.conf:3: conntrack.tcpTimeout: must be a positive number of seconds",
		   "t.conf:4: conntrack.tcpSynTimeout: must be a positive number of "
		   "seconds",
		   "t.conf:5: conntrack.tcpFinTimeout: must be a positive number of "
		   "seconds",
		   "t.conf:6: conntrack.udpTimeout: must be a positive number of seconds",
		   "t.conf:7: conntrack.icmpTimeout: 2147483648 seconds is out of range "
		   "1-2147483647",
		   "t.conf:8: conntrack.invalid: unknown value \"reject\" (valid: drop, "
		   "pass, rules)"));

	assert_load_fails(
	    "conntrack = {\n"
	    "  maxConnections = 67108865;\n"
	    "  tcpTimeout = \"1500ms\";\n"
	    "  tcpSynTimeout = \"5x\";\n"
	    "  tcpFinTimeout = 1.5;\n"
	    "  udpTimeout = \"\";\n"
	    "  icmpTimeout = \"24856d\";\n"
	    "  invalid = 1;\n"
	    "};\n",
	    ERRORS("t.conf:2: conntrack.maxConnections: 67108865 is out of range 1-67108864",
		   "t.conf:3: conntrack.tcpTimeout: 1500ms is not a whole number of seconds",
		   "t.conf:4: conntrack.tcpSynTimeout: 5x: unknown unit x (use ms, s, m, h or d)",
		   "t.conf:5: conntrack.tcpFinTimeout: expected an integer or a duration string, "
		   "got a float",
		   "t.conf:6: conntrack.udpTimeout: an empty string is not a duration",
		   "t.conf:7: conntrack.icmpTimeout: 2147558400 seconds is out of range "
		   "1-2147483647",
		   "t.conf:8: conntrack.invalid: expected a string, got an integer"));

	assert_load_fails(
	    "conntrack = { maxConnections = \"1000\"; udpTimeout = true; };\n",
	    ERRORS("t.conf:1: conntrack.maxConnections: expected an integer, got a "
		   "string",
		   "t.conf:1: conntrack.udpTimeout: expected an integer or a duration "
		   "string, got a boolean"));
	assert_load_fails("conntrack = ( );\n",
			  ERRORS("t.conf:1: conntrack: expected a group, got a list"));
}
END_TEST

/* A stateful TC program whose rules list starts on line 3, one rule per line. */
#define STATE_LINES_HEAD                                                                           \
	"programs = ( { name = \"p\"; type = \"tc-ingress\"; interface = \"eth0\";\n"              \
	"settings = { stateful = true; actions = { rules = (\n"

START_TEST(test_state_errors)
{
#define RP "programs[0].settings.actions.rules"
	assert_load_fails(
	    STATE_LINES_HEAD
	    "{ match = { state = \"NEW\"; }; action = \"pass\"; },\n"
	    "{ match = { state = ( \"new\", \"closed\", 3 ); }; action = \"pass\"; },\n"
	    "{ match = { state = ( ); }; action = \"pass\"; },\n"
	    "{ match = { state = 1; }; action = \"pass\"; },\n"
	    "{ match = { state = { new = true; }; }; action = \"pass\"; },\n"
	    "{ match = { states = \"new\"; }; action = \"pass\"; }\n" RULE_LINES_TAIL,
	    ERRORS("t.conf:3: " RP "[0].match.state: unknown state \"NEW\" (valid: new, "
		   "established, related, invalid)",
		   "t.conf:4: " RP "[1].match.state[1]: unknown state \"closed\" (valid: new, "
		   "established, related, invalid)",
		   "t.conf:4: " RP "[1].match.state[2]: expected a string, got an integer",
		   "t.conf:5: " RP "[2].match.state: an empty list matches nothing",
		   "t.conf:6: " RP "[3].match.state: expected a string or a list of strings, got "
		   "an integer",
		   "t.conf:7: " RP "[4].match.state: expected a string or a list of strings, got "
		   "a group",
		   "t.conf:8: " RP "[5].match.states: unknown key (did you mean \"state\"?)"));
#undef RP
}
END_TEST

START_TEST(test_state_never_matches)
{
#define SP(n) "programs[" n "].settings.actions.rules[0].match.state"
	assert_load_fails(
	    "programs = (\n"
	    "  { name = \"a\"; type = \"xdp\"; interface = \"eth0\"; settings = {\n"
	    "    actions = { rules = ( { match = { state = \"new\"; }; action = \"drop\"; } ); }; "
	    "}; },\n"
	    "  { name = \"b\"; type = \"xdp\"; interface = \"eth0\"; settings = { stateful = "
	    "false;\n"
	    "    actions = { rules = ( { match = { state = \"new\"; }; action = \"drop\"; } ); }; "
	    "}; },\n"
	    "  { name = \"c\"; type = \"xdp\"; interface = \"eth0\"; settings = { stateful = "
	    "true;\n"
	    "    actions = { rules = ( { match = { state = \"established\"; }; action = \"drop\"; "
	    "} );\n"
	    "    }; }; },\n"
	    "  { name = \"d\"; type = \"xdp\"; interface = \"eth0\"; settings = { stateful = "
	    "true;\n"
	    "    actions = { rules = ( { match = { state = [ \"related\" ]; }; action = \"drop\"; "
	    "} );\n"
	    "    }; }; },\n"
	    "  { name = \"e\"; type = \"xdp\"; interface = \"eth0\"; settings = { stateful = "
	    "true;\n"
	    "    actions = { rules = ( { match = { state = ( \"established\", \"related\" ); };\n"
	    "    action = \"drop\"; } ); }; }; },\n"
	    "  { name = \"f\"; type = \"xdp\"; interface = \"eth0\"; settings = { stateful = "
	    "true;\n"
	    "    actions = { rules = ( { match = { state = \"invalid\"; }; action = \"drop\"; } "
	    ");\n"
	    "    }; }; },\n"
	    "  { name = \"g\"; type = \"xdp\"; interface = \"eth0\"; settings = { stateful = "
	    "true;\n"
	    "    actions = { rules = ( { match = { state = ( \"established\", \"invalid\" ); };\n"
	    "    action = \"drop\"; } ); }; }; },\n"
	    "  { name = \"h\"; type = \"xdp\"; interface = \"eth0\"; settings = { stateful = "
	    "\"yes\";\n"
	    "    actions = { rules = ( { match = { state = \"new\"; }; action = \"drop\"; } ); }; "
	    "}; },\n"
	    "  { name = \"i\"; type = \"xdp\"; interface = \"eth0\"; settings = { stateful = "
	    "true;\n"
	    "    actions = { rules = ( { match = { state = ( \"invalid\", \"new\" ); };\n"
	    "    action = \"drop\"; } ); }; }; }\n"
	    ");\n",
	    ERRORS("t.conf:3: " SP("0") ": a state condition needs settings.stateful = true",
		   "t.conf:5: " SP("1") ": a state condition needs settings.stateful = true",
		   "t.conf:7: " SP("2") ": a rule for established or related packets never "
					"matches: a stateful program passes them before the rules",
		   "t.conf:10: " SP("3") ": a rule for established or related packets never "
					 "matches: a stateful program passes them before the rules",
		   "t.conf:13: " SP("4") ": a rule for established or related packets never "
					 "matches: a stateful program passes them before the rules",
		   "t.conf:21: programs[7].settings.stateful: expected a boolean, got a string",
		   "t.conf:16: " SP("5") ": a rule for invalid packets never matches unless "
					 "conntrack.invalid = \"rules\" (it is \"drop\")",
		   "t.conf:19: " SP("6") ": a rule for invalid packets never matches unless "
					 "conntrack.invalid = \"rules\" (it is \"drop\")"));

	/* and with invalid = "pass", the message says so */
	assert_load_fails(
	    "conntrack = { invalid = \"pass\"; };\n"
	    "programs = ( { name = \"a\"; type = \"tc-egress\"; interface = \"eth0\";\n"
	    "  settings = { stateful = true; actions = { rules = (\n"
	    "    { match = { state = \"invalid\"; }; action = \"drop\"; } ); }; }; } );\n",
	    ERRORS("t.conf:4: programs[0].settings.actions.rules[0].match.state: a rule for "
		   "invalid packets never matches unless conntrack.invalid = \"rules\" (it is "
		   "\"pass\")"));

	/* a wrong conntrack.invalid is reported once, not at every such rule */
	assert_load_fails(
	    "conntrack = { invalid = \"rule\"; };\n"
	    "programs = ( { name = \"a\"; type = \"tc-egress\"; interface = \"eth0\";\n"
	    "  settings = { stateful = true; actions = { rules = (\n"
	    "    { match = { state = \"invalid\"; }; action = \"drop\"; } ); }; }; } );\n",
	    ERRORS("t.conf:1: conntrack.invalid: unknown value \"rule\" (valid: drop, pass, "
		   "rules)"));
#undef SP
}
END_TEST

START_TEST(test_tc_stateful_twice)
{
	assert_load_fails(
	    "programs = (\n"
	    "  { name = \"a\"; type = \"tc-ingress\"; interface = \"eth0\"; priority = 10;\n"
	    "    settings = { stateful = true; }; },\n"
	    "  { name = \"b\"; type = \"tc-ingress\"; interface = \"eth0\"; priority = 20;\n"
	    "    settings = { stateful = true; }; },\n"
	    "  { name = \"c\"; type = \"tc-egress\"; interface = \"eth0\"; priority = 30;\n"
	    "    settings = { stateful = true; }; },\n"
	    "  { name = \"d\"; type = \"tc-egress\"; interface = \"eth0\";\n"
	    "    settings = { stateful = true; }; }\n"
	    ");\n",
	    ERRORS("t.conf:5: programs[1].settings.stateful: \"b\" and \"a\" (t.conf:2) are both "
		   "stateful tc-ingress programs on eth0; at most one is allowed per interface "
		   "and direction",
		   "t.conf:9: programs[3].settings.stateful: \"d\" and \"c\" (t.conf:6) are both "
		   "stateful tc-egress programs on eth0; at most one is allowed per interface "
		   "and direction"));
}
END_TEST

START_TEST(test_tc_slot_collisions)
{
	assert_load_fails(
	    "programs = (\n"
	    "  { name = \"a\"; type = \"tc-ingress\"; interface = \"eth0\"; priority = 10; },\n"
	    "  { name = \"b\"; type = \"tc-ingress\"; interface = \"eth0\";\n"
	    "    priority = 10; },\n"
	    "  { name = \"c\"; type = \"tc-egress\"; interface = \"eth1\"; },\n"
	    "  { name = \"d\"; type = \"tc-egress\"; interface = \"eth1\"; },\n"
	    "  { name = \"e\"; type = \"xdp\"; interface = \"eth1\"; },\n"
	    "  { name = \"f\"; type = \"tc-ingress\"; interface = \"r-cli\"; priority = 5;\n"
	    "    settings = { stateful = true; }; },\n"
	    "  { name = \"g\"; type = \"tc-egress\"; interface = \"r-cli\"; priority = 5; },\n"
	    "  { name = \"h\"; type = \"tc-ingress\"; interface = \"r-srv\"; priority = 7; },\n"
	    "  { name = \"i\"; type = \"tc-egress\"; interface = \"r-srv\"; priority = 7;\n"
	    "    settings = { stateful = true; }; }\n"
	    ");\n",
	    ERRORS("t.conf:4: programs[1].priority: program \"b\" and program \"a\" (t.conf:2) "
		   "would both use the tc filter at eth0 ingress priority 10; give one of them "
		   "another priority",
		   "t.conf:6: programs[3]: program \"d\" and program \"c\" (t.conf:5) would both "
		   "use the tc filter at eth1 egress priority 100; give one of them another "
		   "priority",
		   "t.conf:10: programs[6].priority: program \"g\" and the conntrack tracker of "
		   "the stateful program \"f\" (t.conf:8) would both use the tc filter at r-cli "
		   "egress priority 5; give one of them another priority",
		   "t.conf:12: programs[8].priority: the conntrack tracker of the stateful "
		   "program \"i\" and program \"h\" (t.conf:11) would both use the tc filter at "
		   "r-srv ingress priority 7; give one of them another priority"));
}
END_TEST

START_TEST(test_errors_collected)
{
	/* one mistake in each part of the file: every one is reported, in order */
	assert_load_fails(
	    "daemon = { logLevel = \"loud\"; };\n"
	    "ipSets = ( { name = \"s\"; entries = [ \"300.0.0.0/8\" ]; } );\n"
	    "programs = (\n"
	    "  { name = \"p\"; type = \"xdp\"; interface = \"eth0\"; priority = 100000;\n"
	    "    settings = { blacklist = { enabled = true; ipSetRef = \"t\"; };\n"
	    "      actions = { rules = (\n"
	    "        { match = { protocol = \"tcp\"; dstPort = 70000; }; action = \"drop\"; },\n"
	    "        { match = { protocol = \"udp\"; }; action = \"bounce\"; }\n"
	    "      ); }; }; }\n"
	    ");\n"
	    "extra = true;\n",
	    ERRORS("t.conf:11: extra: unknown key",
		   "t.conf:1: daemon.logLevel: unknown log level \"loud\" (valid: debug, info, "
		   "notice, warning, error)",
		   "t.conf:2: ipSets[0].entries[0]: 300.0.0.0/8: 300.0.0.0 is not an IP address",
		   "t.conf:4: programs[0].priority: 100000 is out of range 0-65535",
		   "t.conf:7: " R0 ".match.dstPort: 70000 is out of range 0-65535",
		   "t.conf:8: programs[0].settings.actions.rules[1].action: unknown action "
		   "\"bounce\" (valid: pass, drop, redirect)",
		   "t.conf:5: programs[0].settings.blacklist: ipSetRef \"t\": no such ipSet"));
}
END_TEST

/* ---- DDoS protections ------------------------------------------------------ */

/* An xdp program whose settings start on line 2; `lines` (from line 3 on) go
 * inside them, after a blacklist and stateful = true on line 2. */
#define DDOS_CONF(lines)                                                                           \
	"ipSets = ( { name = \"blocked\"; } );\n"                                                  \
	"programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\"; settings = {\n"        \
	"  blacklist = { enabled = true; ipSetRef = \"blocked\"; }; stateful = true;\n" lines      \
	"}; } );\n"

#define RL   "programs[0].settings.rateLimiting"
#define SYN  "programs[0].settings.synFloodProtection"
#define ICMP "programs[0].settings.icmpFloodProtection"
#define UDP  "programs[0].settings.udpFloodProtection"

static void assert_rate(const struct fos_rate_cfg *r, uint32_t rate, uint32_t burst)
{
	ck_assert_uint_eq(r->rate, rate);
	ck_assert_uint_eq(r->burst, burst);
}

START_TEST(test_ddos_full)
{
	_cleanup_(fos_config_freep) struct fos_config *c =
	    load_ok(DDOS_CONF("  rateLimiting = {\n"
			      "    enabled = true;\n"
			      "    packetsPerSecond = 10000;\n"
			      "    burst = 20000;\n"
			      "    connectionsPerSecond = 50;\n"
			      "    connectionsBurst = 100;\n"
			      "    connectionsPerIP = 200;\n"
			      "    ipv6PrefixLength = 56;\n"
			      "    blockDuration = 300;\n"
			      "  };\n"
			      "  synFloodProtection = {\n"
			      "    enabled = true; threshold = 1000; always = false;\n"
			      "    holdTime = 20; authTimeout = 600;\n"
			      "  };\n"
			      "  icmpFloodProtection = { enabled = true; perSource = 100;\n"
			      "    perSourceBurst = 150; total = 1000; totalBurst = 2000;\n"
			      "    blockDuration = 60; };\n"
			      "  udpFloodProtection = { enabled = true; perSource = 5000;\n"
			      "    perSourceBurst = 6000; total = 50000; totalBurst = 70000;\n"
			      "    blockDuration = 120; };\n"));
	const struct fos_program *p = &c->programs[0];
	const struct fos_ddos_settings *d = &p->ddos;

	ck_assert(fos_program_has_ddos(p));

	ck_assert(d->rate_enabled);
	ck_assert_str_eq(d->rate_src.file, "t.conf");
	ck_assert_int_eq(d->rate_src.line, 4);
	assert_rate(&d->pps, 10000, 20000);
	assert_rate(&d->cps, 50, 100);
	ck_assert_uint_eq(d->conns_per_ip, 200);
	ck_assert_uint_eq(d->v6_plen, 56);
	ck_assert_uint_eq(d->rate_block, 300);

	ck_assert(d->syn_enabled);
	ck_assert_str_eq(d->syn_src.file, "t.conf");
	ck_assert_int_eq(d->syn_src.line, 14);
	ck_assert(!d->syn_always);
	ck_assert_uint_eq(d->syn_threshold, 1000);
	ck_assert_uint_eq(d->syn_hold, 20);
	ck_assert_uint_eq(d->syn_auth_timeout, 600);

	ck_assert(d->icmp_enabled);
	ck_assert_str_eq(d->icmp_src.file, "t.conf");
	ck_assert_int_eq(d->icmp_src.line, 18);
	assert_rate(&d->icmp_per_src, 100, 150);
	assert_rate(&d->icmp_total, 1000, 2000);
	ck_assert_uint_eq(d->icmp_block, 60);

	ck_assert(d->udp_enabled);
	ck_assert_str_eq(d->udp_src.file, "t.conf");
	ck_assert_int_eq(d->udp_src.line, 21);
	assert_rate(&d->udp_per_src, 5000, 6000);
	assert_rate(&d->udp_total, 50000, 70000);
	ck_assert_uint_eq(d->udp_block, 120);
}
END_TEST

START_TEST(test_ddos_defaults)
{
	_cleanup_(fos_config_freep) struct fos_config *c = NULL;
	const struct fos_ddos_settings *d;

	/* no group: nothing enabled, and the defaults in place */
	c = load_ok("programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\"; } );\n");
	d = &c->programs[0].ddos;
	ck_assert(!fos_program_has_ddos(&c->programs[0]));
	ck_assert(!d->rate_enabled && !d->syn_enabled && !d->icmp_enabled && !d->udp_enabled);
	ck_assert_ptr_null(d->rate_src.file);
	ck_assert_uint_eq(d->v6_plen, FOS_DDOS_DEFAULT_V6_PLEN);
	ck_assert_uint_eq(d->syn_hold, FOS_DDOS_DEFAULT_SYN_HOLD);
	ck_assert_uint_eq(d->syn_auth_timeout, FOS_DDOS_DEFAULT_AUTH_TIMEOUT);
	ck_assert(!fos_program_has_ddos(NULL));
	fos_config_free(TAKE_PTR(c));

	/* one limit each; bursts default to their rates, the rest to none */
	c = load_ok("programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\";\n"
		    "settings = {\n"
		    "  rateLimiting = { enabled = true; packetsPerSecond = 100; };\n"
		    "  synFloodProtection = { enabled = true; always = true; };\n"
		    "  icmpFloodProtection = { enabled = true; total = 1000; };\n"
		    "  udpFloodProtection = { enabled = true; perSource = 7; };\n"
		    "}; } );\n");
	d = &c->programs[0].ddos;
	ck_assert(fos_program_has_ddos(&c->programs[0]));
	ck_assert(d->rate_enabled);
	ck_assert_int_eq(d->rate_src.line, 3);
	assert_rate(&d->pps, 100, 100);
	assert_rate(&d->cps, 0, 0);
	ck_assert_uint_eq(d->conns_per_ip, 0);
	ck_assert_uint_eq(d->v6_plen, FOS_DDOS_DEFAULT_V6_PLEN);
	ck_assert_uint_eq(d->rate_block, 0);
	ck_assert(d->syn_enabled);
	ck_assert(d->syn_always);
	ck_assert_uint_eq(d->syn_threshold, 0);
	ck_assert_uint_eq(d->syn_hold, FOS_DDOS_DEFAULT_SYN_HOLD);
	ck_assert_uint_eq(d->syn_auth_timeout, FOS_DDOS_DEFAULT_AUTH_TIMEOUT);
	ck_assert(d->icmp_enabled);
	assert_rate(&d->icmp_per_src, 0, 0);
	assert_rate(&d->icmp_total, 1000, 1000);
	ck_assert_uint_eq(d->icmp_block, 0);
	ck_assert(d->udp_enabled);
	assert_rate(&d->udp_per_src, 7, 7);
	assert_rate(&d->udp_total, 0, 0);
	fos_config_free(TAKE_PTR(c));

	/* connectionsPerSecond alone is a limit, and so is connectionsPerIP */
	c = load_ok("programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\";\n"
		    "settings = { rateLimiting = { enabled = true; connectionsPerSecond = 5; }; };"
		    " },\n"
		    "{ name = \"q\"; type = \"xdp\"; interface = \"eth1\"; settings = {\n"
		    "  stateful = true; rateLimiting = { enabled = true; connectionsPerIP = 1; };"
		    " }; } );\n");
	assert_rate(&c->programs[0].ddos.pps, 0, 0);
	assert_rate(&c->programs[0].ddos.cps, 5, 5);
	ck_assert_uint_eq(c->programs[1].ddos.conns_per_ip, 1);
	assert_rate(&c->programs[1].ddos.cps, 0, 0);
	fos_config_free(TAKE_PTR(c));

	/* a disabled group is read but turns nothing on, and needs no limit */
	c = load_ok("programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\";\n"
		    "settings = {\n"
		    "  rateLimiting = { enabled = false; packetsPerSecond = 100; };\n"
		    "  synFloodProtection = { enabled = false; };\n"
		    "  icmpFloodProtection = { enabled = false; };\n"
		    "  udpFloodProtection = { enabled = false; };\n"
		    "}; } );\n");
	d = &c->programs[0].ddos;
	ck_assert(!fos_program_has_ddos(&c->programs[0]));
	ck_assert(!d->rate_enabled && !d->syn_enabled && !d->icmp_enabled && !d->udp_enabled);
	assert_rate(&d->pps, 100, 100);
	ck_assert_int_eq(d->udp_src.line, 6);
	fos_config_free(TAKE_PTR(c));

	/* any one enabled group is DDoS protection */
	c = load_ok("programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\";\n"
		    "settings = { udpFloodProtection = { enabled = true; total = 1; }; }; } );\n");
	ck_assert(fos_program_has_ddos(&c->programs[0]));
	ck_assert(!c->programs[0].ddos.rate_enabled);
}
END_TEST

START_TEST(test_ddos_values)
{
	/* durations as strings, the ends of every range, 64-bit integers */
	_cleanup_(fos_config_freep) struct fos_config *c =
	    load_ok(DDOS_CONF("  rateLimiting = { enabled = true; packetsPerSecond = 1000000000;\n"
			      "    burst = 1; connectionsPerSecond = 1L; connectionsBurst = "
			      "1000000000L;\n"
			      "    connectionsPerIP = 1000000000; ipv6PrefixLength = 128;\n"
			      "    blockDuration = \"5m\"; };\n"
			      "  synFloodProtection = { enabled = true; threshold = 1;\n"
			      "    holdTime = \"1m30s\"; authTimeout = \"1h\"; };\n"
			      "  icmpFloodProtection = { enabled = true; perSource = 1;\n"
			      "    blockDuration = 2147483647; };\n"
			      "  udpFloodProtection = { enabled = true; total = 1;\n"
			      "    blockDuration = \"1s\"; };\n"));
	const struct fos_ddos_settings *d = &c->programs[0].ddos;

	assert_rate(&d->pps, 1000000000, 1);
	assert_rate(&d->cps, 1, 1000000000);
	ck_assert_uint_eq(d->conns_per_ip, 1000000000);
	ck_assert_uint_eq(d->v6_plen, 128);
	ck_assert_uint_eq(d->rate_block, 300);
	ck_assert_uint_eq(d->syn_threshold, 1);
	ck_assert_uint_eq(d->syn_hold, 90);
	ck_assert_uint_eq(d->syn_auth_timeout, 3600);
	ck_assert_uint_eq(d->icmp_block, 2147483647U);
	ck_assert_uint_eq(d->udp_block, 1);
	fos_config_free(TAKE_PTR(c));

	c = load_ok("programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\";\n"
		    "settings = { rateLimiting = { enabled = true; packetsPerSecond = 1;\n"
		    "  ipv6PrefixLength = 1; }; }; } );\n");
	ck_assert_uint_eq(c->programs[0].ddos.v6_plen, 1);
}
END_TEST

START_TEST(test_ddos_value_errors)
{
	/* every rate, burst and threshold: 1-1000000000, an integer */
	assert_load_fails(
	    DDOS_CONF("  rateLimiting = { enabled = true;\n"
		      "    packetsPerSecond = 0;\n"
		      "    burst = -5;\n"
		      "    connectionsPerSecond = 1000000001;\n"
		      "    connectionsBurst = 0;\n"
		      "    connectionsPerIP = -1;\n"
		      "    ipv6PrefixLength = 0;\n"
		      "    blockDuration = 0; };\n"
		      "  synFloodProtection = { enabled = true; threshold = 0;\n"
		      "    holdTime = -1; authTimeout = \"0s\"; };\n"
		      "  icmpFloodProtection = { enabled = true; perSource = 1.5;\n"
		      "    perSourceBurst = \"100\"; total = -1000; totalBurst = 0;\n"
		      "    blockDuration = \"5x\"; };\n"
		      "  udpFloodProtection = { enabled = true; perSource = 5000000000L;\n"
		      "    perSourceBurst = 0; total = true; totalBurst = 1.0;\n"
		      "    blockDuration = \"-5m\"; };\n"),
	    ERRORS("t.conf:5: " RL ".packetsPerSecond: must be 1-1000000000, not 0",
		   "t.conf:6: " RL ".burst: must be 1-1000000000, not -5",
		   "t.conf:7: " RL ".connectionsPerSecond: must be 1-1000000000, not 1000000001",
		   "t.conf:8: " RL ".connectionsBurst: must be 1-1000000000, not 0",
		   "t.conf:9: " RL ".connectionsPerIP: must be 1-1000000000, not -1",
		   "t.conf:10: " RL ".ipv6PrefixLength: 0 is out of range 1-128",
		   "t.conf:11: " RL ".blockDuration: must be a positive number of seconds",
		   "t.conf:12: " SYN ".threshold: must be 1-1000000000, not 0",
		   "t.conf:13: " SYN ".holdTime: must be a positive number of seconds",
		   "t.conf:13: " SYN ".authTimeout: must be a positive number of seconds",
		   "t.conf:14: " ICMP ".perSource: must be 1-1000000000, not a float",
		   "t.conf:15: " ICMP ".perSourceBurst: must be 1-1000000000, not a string",
		   "t.conf:15: " ICMP ".total: must be 1-1000000000, not -1000",
		   "t.conf:15: " ICMP ".totalBurst: must be 1-1000000000, not 0",
		   "t.conf:16: " ICMP ".blockDuration: 5x: unknown unit x (use ms, s, m, h or d)",
		   "t.conf:17: " UDP ".perSource: must be 1-1000000000, not 5000000000",
		   "t.conf:18: " UDP ".perSourceBurst: must be 1-1000000000, not 0",
		   "t.conf:18: " UDP ".total: must be 1-1000000000, not a boolean",
		   "t.conf:18: " UDP ".totalBurst: must be 1-1000000000, not a float",
		   "t.conf:19: " UDP ".blockDuration: must be a positive number of seconds"));

	assert_load_fails(
	    DDOS_CONF("  rateLimiting = { enabled = \"yes\"; packetsPerSecond = 1;\n"
		      "    ipv6PrefixLength = 129; blockDuration = \"1500ms\"; };\n"
		      "  synFloodProtection = { enabled = 1; always = 1; holdTime = 1.5;\n"
		      "    authTimeout = 2147483648L; };\n"
		      "  icmpFloodProtection = { enabled = true; total = 1;\n"
		      "    blockDuration = \"\"; };\n"),
	    ERRORS("t.conf:4: " RL ".enabled: expected a boolean, got a string",
		   "t.conf:5: " RL ".ipv6PrefixLength: 129 is out of range 1-128",
		   "t.conf:5: " RL ".blockDuration: 1500ms is not a whole number of seconds",
		   "t.conf:6: " SYN ".enabled: expected a boolean, got an integer",
		   "t.conf:6: " SYN ".always: expected a boolean, got an integer",
		   "t.conf:6: " SYN ".holdTime: expected an integer or a duration string, got a "
		   "float",
		   "t.conf:7: " SYN ".authTimeout: 2147483648 seconds is out of range "
		   "1-2147483647",
		   "t.conf:9: " ICMP ".blockDuration: an empty string is not a duration"));

	/* neither a boolean nor a group */
	assert_load_fails(
	    DDOS_CONF("  rateLimiting = 1;\n"
		      "  synFloodProtection = ( );\n"
		      "  udpFloodProtection = \"true\";\n"),
	    ERRORS("t.conf:4: " RL ": expected true, false or a group, got an integer",
		   "t.conf:5: " SYN ": expected true, false or a group, got a list",
		   "t.conf:6: " UDP ": expected true, false or a group, got a string"));
}
END_TEST

START_TEST(test_ddos_group_errors)
{
	/* enabled missing, no limit, bursts without their rates, unknown keys */
	assert_load_fails(
	    DDOS_CONF("  rateLimiting = {\n"
		      "    burst = 10;\n"
		      "    connectionsBurst = 10;\n"
		      "    packetPerSecond = 10;\n"
		      "    blockTime = 10;\n"
		      "  };\n"
		      "  synFloodProtection = { threshold = 10; cookies = true; };\n"
		      "  icmpFloodProtection = { enabled = true;\n"
		      "    perSourceBurst = 5; totalBurst = 5; };\n"
		      "  udpFloodProtection = {\n"
		      "    enabled = true; blockDuration = 60; };\n"),
	    ERRORS("t.conf:7: " RL ".packetPerSecond: unknown key (did you mean "
		   "\"packetsPerSecond\"?)",
		   "t.conf:8: " RL ".blockTime: unknown key",
		   "t.conf:4: " RL ": enabled is required: true turns the protection on",
		   "t.conf:5: " RL ": burst needs packetsPerSecond",
		   "t.conf:6: " RL ": connectionsBurst needs connectionsPerSecond",
		   "t.conf:10: " SYN ".cookies: unknown key",
		   "t.conf:10: " SYN ": enabled is required: true turns the protection on",
		   "t.conf:12: " ICMP ": perSourceBurst needs perSource",
		   "t.conf:12: " ICMP ": totalBurst needs total"));

	/* threshold and always = true contradict each other, enabled or not */
	assert_load_fails(DDOS_CONF("  synFloodProtection = { enabled = true; always = true;\n"
				    "    threshold = 100; };\n"),
			  ERRORS("t.conf:5: " SYN ": threshold is not allowed with always = true"));
	assert_load_fails(DDOS_CONF("  synFloodProtection = { enabled = false; always = true;\n"
				    "    threshold = 100; };\n"),
			  ERRORS("t.conf:5: " SYN ": threshold is not allowed with always = true"));
	/* a disabled group's values are checked all the same */
	assert_load_fails(
	    DDOS_CONF("  udpFloodProtection = { enabled = false; perSource = 0; };\n"),
	    ERRORS("t.conf:4: " UDP ".perSource: must be 1-1000000000, not 0"));
}
END_TEST

START_TEST(test_ddos_cross_checks)
{
	/* blockDuration needs a blacklist to block into: none, disabled, or
	 * without ipSetRef */
	assert_load_fails(
	    "ipSets = ( { name = \"s\"; } );\n"
	    "programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\"; settings = {\n"
	    "  rateLimiting = { enabled = true; packetsPerSecond = 10;\n"
	    "    blockDuration = 60; };\n"
	    "  icmpFloodProtection = { enabled = true; total = 10; blockDuration = 60; };\n"
	    "}; },\n"
	    "{ name = \"q\"; type = \"xdp\"; interface = \"eth0\"; settings = {\n"
	    "  blacklist = { enabled = false; ipSetRef = \"s\"; };\n"
	    "  udpFloodProtection = { enabled = true; total = 10;\n"
	    "    blockDuration = \"1m\"; };\n"
	    "}; } );\n",
	    ERRORS("t.conf:4: " RL ": blockDuration needs settings.blacklist enabled with an "
		   "ipSetRef",
		   "t.conf:5: " ICMP ": blockDuration needs settings.blacklist enabled with an "
		   "ipSetRef",
		   "t.conf:10: programs[1].settings.udpFloodProtection: blockDuration needs "
		   "settings.blacklist enabled with an ipSetRef"));

	/* a blacklist that is itself wrong is reported once, at the blacklist */
	assert_load_fails(
	    "programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\"; settings = {\n"
	    "  blacklist = { enabled = true; };\n"
	    "  rateLimiting = { enabled = true; packetsPerSecond = 10; blockDuration = 60; };\n"
	    "}; } );\n",
	    ERRORS("t.conf:2: programs[0].settings.blacklist: enabled = true needs an ipSetRef"));

	/* connectionsPerIP counts tracked connections: stateful = false
	 * contradicts it (left out, it turns stateful on: test_ddos_seed) */
	assert_load_fails(
	    "programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\"; settings = {\n"
	    "  stateful = false; rateLimiting = { enabled = true;\n"
	    "    connectionsPerIP = 100; };\n"
	    "}; },\n"
	    "{ name = \"r\"; type = \"xdp\"; interface = \"eth0\"; settings = { stateful = 1;\n"
	    "  rateLimiting = { enabled = true; connectionsPerIP = 100; }; }; } );\n",
	    ERRORS("t.conf:3: " RL ": connectionsPerIP counts each source's connections in the "
		   "connection table, which settings.stateful = false turns off: leave stateful "
		   "out (connectionsPerIP turns it on) or set it to true",
		   "t.conf:5: programs[1].settings.stateful: expected a boolean, got an "
		   "integer"));

	/* the program fwd adds for connectionsPerIP must not meet a name in use */
	assert_load_fails(
	    "programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\"; settings = {\n"
	    "  rateLimiting = { enabled = true;\n"
	    "    connectionsPerIP = 100; };\n"
	    "}; },\n"
	    "{ name = \"conntrack-eth0\"; type = \"xdp\"; interface = \"eth1\"; } );\n",
	    ERRORS("t.conf:2: programs \"p\": rateLimiting.connectionsPerIP needs connection "
		   "tracking on eth0, and the program fwd adds for it is named "
		   "\"conntrack-eth0\", which is taken"));

	/* DDoS protection is XDP's: every group on a TC program is refused, at
	 * the group, whatever it holds */
	assert_load_fails(
	    "programs = ( { name = \"p\"; type = \"tc-ingress\"; interface = \"eth0\";\n"
	    "settings = {\n"
	    "  rateLimiting = { enabled = true; packetsPerSecond = 10; };\n"
	    "  synFloodProtection = { enabled = true; always = true; };\n"
	    "}; },\n"
	    "{ name = \"q\"; type = \"tc-egress\"; interface = \"eth0\"; settings = {\n"
	    "  icmpFloodProtection = { enabled = false; };\n"
	    "  udpFloodProtection = 5;\n"
	    "}; } );\n",
	    ERRORS("t.conf:3: " RL ": only xdp programs have DDoS protection",
		   "t.conf:4: " SYN ": only xdp programs have DDoS protection",
		   "t.conf:7: programs[1].settings.icmpFloodProtection: only xdp programs have "
		   "DDoS protection",
		   "t.conf:8: programs[1].settings.udpFloodProtection: only xdp programs have "
		   "DDoS protection"));
}
END_TEST

/* The EBPFProgram CRD's "ddos-protection" example as written: the protections
 * as booleans, connectionsPerIP without settings.stateful. */
START_TEST(test_ddos_seed)
{
	_cleanup_(fos_config_freep) struct fos_config *c =
	    load_ok("programs = ( { name = \"ddos-protection\"; type = \"xdp\";\n"
		    "  interface = \"eth0\"; priority = 1; settings = {\n"
		    "    rateLimiting = { enabled = true; packetsPerSecond = 1000000;\n"
		    "      connectionsPerSecond = 10000; connectionsPerIP = 100; };\n"
		    "    synFloodProtection = true;\n"
		    "    icmpFloodProtection = true;\n"
		    "    udpFloodProtection = true;\n"
		    "}; } );\n");
	const struct fos_program *p = &c->programs[0], *t;
	const struct fos_ddos_settings *d = &p->ddos;

	ck_assert(d->rate_enabled && d->syn_enabled && d->icmp_enabled && d->udp_enabled);
	assert_rate(&d->pps, 1000000, 1000000);
	assert_rate(&d->cps, 10000, 10000);
	ck_assert_uint_eq(d->conns_per_ip, 100);
	/* the booleans' defaults */
	ck_assert(!d->syn_always);
	ck_assert_uint_eq(d->syn_threshold, FOS_DDOS_DEFAULT_SYN_THRESHOLD);
	ck_assert_uint_eq(d->syn_hold, FOS_DDOS_DEFAULT_SYN_HOLD);
	ck_assert_uint_eq(d->syn_auth_timeout, FOS_DDOS_DEFAULT_AUTH_TIMEOUT);
	assert_rate(&d->icmp_per_src, FOS_DDOS_DEFAULT_ICMP_PER_SRC,
		    2 * FOS_DDOS_DEFAULT_ICMP_PER_SRC);
	assert_rate(&d->icmp_total, FOS_DDOS_DEFAULT_ICMP_TOTAL, FOS_DDOS_DEFAULT_ICMP_TOTAL);
	assert_rate(&d->udp_per_src, FOS_DDOS_DEFAULT_UDP_PER_SRC,
		    2 * FOS_DDOS_DEFAULT_UDP_PER_SRC);
	assert_rate(&d->udp_total, FOS_DDOS_DEFAULT_UDP_TOTAL, FOS_DDOS_DEFAULT_UDP_TOTAL);
	ck_assert_uint_eq(d->icmp_block, 0);
	ck_assert_uint_eq(d->udp_block, 0);
	ck_assert_int_eq(d->syn_src.line, 5);
	ck_assert_int_eq(d->udp_src.line, 7);

	/* connectionsPerIP turned tracking on, and fwd tracks the interface */
	ck_assert(p->stateful && p->stateful_implied);
	ck_assert_uint_eq(c->n_programs, 2);
	t = fos_config_find_program(c, "conntrack-eth0");
	ck_assert_ptr_nonnull(t);
	ck_assert(t->track_only && t->stateful && !t->stateful_implied);
	ck_assert_int_eq(t->type, FOS_PROG_TC_INGRESS);
	ck_assert_str_eq(t->interface, "eth0");
	ck_assert_int_eq(t->priority, 65534);
	ck_assert_uint_eq(t->n_rules, 0);
	ck_assert_int_eq(t->default_action, FOS_CFG_PASS);
	ck_assert_str_eq(
	    t->description,
	    "connection tracking on eth0 for the connectionsPerIP of \"ddos-protection\"");
	ck_assert_int_eq(t->src.line, 3);
	ck_assert_uint_eq(c->notes.n, 2);
	ck_assert_str_eq(c->notes.msgs[0],
			 "t.conf:3: program \"ddos-protection\": rateLimiting.connectionsPerIP "
			 "turns on connection tracking (settings.stateful = true): established "
			 "and related packets pass without its rules");
	ck_assert_str_eq(c->notes.msgs[1],
			 "t.conf:3: program \"ddos-protection\": connectionsPerIP: "
			 "tracking the connections of eth0 with program "
			 "\"conntrack-eth0\" (tc-ingress and tc-egress, priority 65534)");
	fos_config_free(TAKE_PTR(c));

	/* false is off; enabled = true alone takes the same defaults */
	c = load_ok("programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\";\n"
		    "  settings = { synFloodProtection = false; udpFloodProtection = false;\n"
		    "    icmpFloodProtection = { enabled = true; };\n"
		    "    rateLimiting = { enabled = true; }; }; } );\n");
	d = &c->programs[0].ddos;
	ck_assert(!d->syn_enabled && !d->udp_enabled && d->icmp_enabled && d->rate_enabled);
	ck_assert(fos_program_has_ddos(&c->programs[0]));
	assert_rate(&d->icmp_per_src, FOS_DDOS_DEFAULT_ICMP_PER_SRC,
		    2 * FOS_DDOS_DEFAULT_ICMP_PER_SRC);
	assert_rate(&d->pps, FOS_DDOS_DEFAULT_PPS, 2 * FOS_DDOS_DEFAULT_PPS);
	assert_rate(&d->cps, FOS_DDOS_DEFAULT_CPS, 2 * FOS_DDOS_DEFAULT_CPS);
	ck_assert_uint_eq(d->conns_per_ip, 0);
	ck_assert(!c->programs[0].stateful);
	ck_assert_uint_eq(c->n_programs, 1);
	ck_assert_uint_eq(c->notes.n, 0);
	fos_config_free(TAKE_PTR(c));

	/* only the protections left without a limit get defaults; always = true
	 * has no threshold */
	c = load_ok("programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\";\n"
		    "  settings = { synFloodProtection = { enabled = true; always = true; };\n"
		    "    icmpFloodProtection = { enabled = true; total = 7; };\n"
		    "    rateLimiting = { enabled = true; connectionsPerSecond = 9; }; }; } );\n");
	d = &c->programs[0].ddos;
	ck_assert(d->syn_always);
	ck_assert_uint_eq(d->syn_threshold, 0);
	assert_rate(&d->icmp_per_src, 0, 0);
	assert_rate(&d->icmp_total, 7, 7);
	assert_rate(&d->pps, 0, 0);
	assert_rate(&d->cps, 9, 9);
	fos_config_free(TAKE_PTR(c));

	/* stateful = true given: no note about it; a stateful TC program on the
	 * interface already fills the table, so no tracker is added */
	c = load_ok("programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\";\n"
		    "  settings = { stateful = true;\n"
		    "    rateLimiting = { enabled = true; connectionsPerIP = 5; }; }; },\n"
		    "  { name = \"fw\"; type = \"tc-egress\"; interface = \"eth0\";\n"
		    "    settings = { stateful = true; }; } );\n");
	ck_assert(c->programs[0].stateful && !c->programs[0].stateful_implied);
	ck_assert_uint_eq(c->n_programs, 2);
	ck_assert_ptr_null(fos_config_find_program(c, "conntrack-eth0"));
	ck_assert_uint_eq(c->notes.n, 0);
	fos_config_free(TAKE_PTR(c));

	/* the tracker takes the highest TC priority the interface leaves free,
	 * and one tracker serves every program of its interface */
	c = load_ok(
	    "programs = ( { name = \"a\"; type = \"xdp\"; interface = \"eth0\";\n"
	    "  settings = { rateLimiting = { enabled = true; connectionsPerIP = 5; }; }; },\n"
	    "  { name = \"b\"; type = \"xdp\"; interface = \"eth0\"; priority = 2;\n"
	    "  settings = { rateLimiting = { enabled = true; connectionsPerIP = 5; }; }; },\n"
	    "  { name = \"c\"; type = \"tc-ingress\"; interface = \"eth0\";\n"
	    "    priority = 65535; } );\n");
	ck_assert_uint_eq(c->n_programs, 4);
	t = fos_config_find_program(c, "conntrack-eth0");
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->priority, 65534);
	ck_assert_uint_eq(c->notes.n, 3);
}
END_TEST

/* A config with DDoS mistakes in an included drop-in reports them with the
 * drop-in's name and line. */
START_TEST(test_ddos_dropin_lines)
{
	char dir[] = "/tmp/fos-test-ddos-XXXXXX";
	_cleanup_free_ char *main_path = NULL, *dropins = NULL, *dropin = NULL, *want = NULL;
	struct fos_config *c = &sentinel;
	struct fos_errors e = {};
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	main_path = strf("%s/fwd.conf", dir);
	dropins = strf("%s/fwd.d", dir);
	dropin = strf("%s/10-ddos.conf", dropins);
	f = fopen(main_path, "we");
	ck_assert_ptr_nonnull(f);
	fputs("# nothing here\n", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(mkdir(dropins, 0700), 0);
	f = fopen(dropin, "we");
	ck_assert_ptr_nonnull(f);
	fputs("programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\";\n"
	      "  settings = {\n"
	      "    synFloodProtection = { enabled = true; always = true; threshold = 5; };\n"
	      "  }; } );\n",
	      f);
	ck_assert_int_eq(fclose(f), 0);

	ck_assert_int_eq(fos_config_load(main_path, &c, &e), -EINVAL);
	ck_assert_ptr_eq(c, &sentinel);
	want = strf("%s:3: " SYN ": threshold is not allowed with always = true", dropin);
	assert_errors(&e, ERRORS(want));
	fos_errors_clear(&e);

	ck_assert_int_eq(unlink(dropin), 0);
	ck_assert_int_eq(rmdir(dropins), 0);
	ck_assert_int_eq(unlink(main_path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* ---- files --------------------------------------------------------------- */

START_TEST(test_dropins_merge)
{
	_cleanup_free_ char *path = data_path("merge/fwd.conf");
	_cleanup_free_ char *progs = data_path("merge/fwd.d/20-progs.conf");
	_cleanup_free_ char *late = data_path("merge/fwd.d/9-late.conf");
	_cleanup_free_ char *sets = data_path("merge/fwd.d/10-sets.conf");
	_cleanup_(fos_config_freep) struct fos_config *c = load_file_ok(path);
	const struct fos_program *p;

	ck_assert_str_eq(c->path, path);
	ck_assert_str_eq(c->daemon.log_level, "notice");

	ck_assert_uint_eq(c->n_sets, 2);
	ck_assert_str_eq(c->sets[0].name, "main-set");
	ck_assert_str_eq(c->sets[0].src.file, path);
	ck_assert_str_eq(c->sets[1].name, "dropin-set");
	ck_assert_str_eq(c->sets[1].src.file, sets);
	ck_assert_int_eq(c->sets[1].src.line, 1);

	/* strcmp order: "20-progs.conf" before "9-late.conf"; README, .hidden.conf,
	 * 05-old.conf.disabled and the directory dir.conf are not read */
	ck_assert_uint_eq(c->n_programs, 3);
	ck_assert_str_eq(c->programs[0].name, "main-prog");
	ck_assert_str_eq(c->programs[1].name, "dropin-prog");
	ck_assert_str_eq(c->programs[2].name, "late-prog");

	/* references across files, both ways */
	p = &c->programs[0];
	ck_assert_str_eq(p->blacklist.set, "dropin-set");
	ck_assert_str_eq(p->blacklist.src.file, path);
	ck_assert_int_eq(p->blacklist.src.line, 6);
	p = &c->programs[1];
	ck_assert_str_eq(p->src.file, progs);
	ck_assert_int_eq(p->src.line, 3);
	ck_assert(p->whitelist.enabled);
	ck_assert_str_eq(p->whitelist.set, "main-set");
	ck_assert_str_eq(p->rules[0].src.file, progs);
	ck_assert_int_eq(p->rules[0].src.line, 6);
	ck_assert_str_eq(c->programs[2].src.file, late);
}
END_TEST

START_TEST(test_dropins_conflicts)
{
	_cleanup_free_ char *path = data_path("dup/fwd.conf");
	_cleanup_free_ char *m1 = NULL, *m2 = NULL, *m3 = NULL;
	struct fos_config *c = &sentinel;
	struct fos_errors e = {};

	m1 = strf("%s/dup/fwd.d/10-dup.conf:1: daemon: only allowed in the main config file",
		  data_dir());
	m2 = strf("%s/dup/fwd.d/10-dup.conf:2: ipSets[0].name: ipSet \"s\" is already defined at "
		  "%s:1",
		  data_dir(), path);
	m3 = strf("%s/dup/fwd.d/10-dup.conf:5: programs[1].name: program \"p\" is already defined "
		  "at %s:2",
		  data_dir(), path);
	ck_assert_int_eq(fos_config_load(path, &c, &e), -EINVAL);
	ck_assert_ptr_eq(c, &sentinel);
	assert_errors(&e, ERRORS(m1, m2, m3));
	fos_errors_clear(&e);
}
END_TEST

START_TEST(test_conntrack_dropin)
{
	_cleanup_free_ char *path = data_path("conntrack/fwd.conf");
	_cleanup_free_ char *dropin = data_path("conntrack/fwd.d/10-conntrack.conf");
	_cleanup_(fos_config_freep) struct fos_config *c = load_file_ok(path);

	/* the group may live in a drop-in; the rule on invalid packets in the
	 * main file is checked against it */
	ck_assert_str_eq(c->conntrack.src.file, dropin);
	ck_assert_int_eq(c->conntrack.src.line, 2);
	ck_assert_uint_eq(c->conntrack.max_connections, 5000);
	ck_assert_uint_eq(c->conntrack.invalid, FOS_CT_INVALID_RULES);
	ck_assert_uint_eq(c->conntrack.udp_timeout, FOS_CT_DEFAULT_UDP_TIMEOUT);
	ck_assert_uint_eq(c->programs[0].rules[0].match.state, 1U << FOS_CT_INVALID);
}
END_TEST

START_TEST(test_conntrack_dropin_conflicts)
{
	_cleanup_free_ char *path = data_path("conntrack-dup/fwd.conf");
	_cleanup_free_ char *more = data_path("conntrack-dup/fwd.d/10-more.conf");
	_cleanup_free_ char *again = data_path("conntrack-dup/fwd.d/20-again.conf");
	_cleanup_free_ char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL, *m5 = NULL;
	struct fos_config *c = &sentinel;
	struct fos_errors e = {};

	m1 = strf("%s:1: conntrack: already defined at %s:1; the group may be set in one file "
		  "only",
		  more, path);
	m2 = strf("%s:1: conntrack: already defined at %s:1; the group may be set in one file "
		  "only",
		  again, path);
	/* the first definition counts */
	m3 = strf("%s:7: programs[0].settings.actions.rules[0].match.state: a rule for invalid "
		  "packets never matches unless conntrack.invalid = \"rules\" (it is \"pass\")",
		  path);
	m4 = strf("%s:3: programs[0]: program \"tracked-out\" and the conntrack tracker of the "
		  "stateful program \"fw\" (%s:4) would both use the tc filter at eth0 egress "
		  "priority 100; give one of them another priority",
		  more, path);
	m5 = strf("%s:6: programs[1].settings.stateful: \"fw2\" and \"fw\" (%s:4) are both "
		  "stateful tc-ingress programs on eth0; at most one is allowed per interface "
		  "and direction",
		  more, path);
	ck_assert_int_eq(fos_config_load(path, &c, &e), -EINVAL);
	ck_assert_ptr_eq(c, &sentinel);
	assert_errors(&e, ERRORS(m1, m2, m3, m4, m5));
	fos_errors_clear(&e);
}
END_TEST

START_TEST(test_dropin_syntax_error)
{
	_cleanup_free_ char *path = data_path("broken/fwd.conf");
	_cleanup_free_ char *msg = NULL;
	struct fos_config *c = &sentinel;
	struct fos_errors e = {};

	msg = strf("%s/broken/fwd.d/10-broken.conf:2: syntax error", data_dir());
	ck_assert_int_eq(fos_config_load(path, &c, &e), -EINVAL);
	ck_assert_ptr_eq(c, &sentinel);
	assert_errors(&e, ERRORS(msg));
	fos_errors_clear(&e);
}
END_TEST

START_TEST(test_main_file_missing)
{
	_cleanup_free_ char *path = data_path("no-such.conf");
	_cleanup_free_ char *msg = NULL;
	struct fos_config *c = &sentinel;
	struct fos_errors e = {};

	msg = strf("%s: No such file or directory", path);
	ck_assert_int_eq(fos_config_load(path, &c, &e), -ENOENT);
	ck_assert_ptr_eq(c, &sentinel);
	assert_errors(&e, ERRORS(msg));
	fos_errors_clear(&e);
}
END_TEST

START_TEST(test_ipset_read_file)
{
	_cleanup_free_ char *path = data_path("sets/malicious.txt");
	struct fos_cidr *v = calloc(1, sizeof(*v));
	struct fos_errors e = {};
	size_t n = 1;

	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(fos_parse_cidr("198.51.100.0/24", &v[0], NULL), 0);

	/* appended after what is there, repeats (198.51.100.0/24) dropped */
	ck_assert_int_eq(fos_ipset_read_file(path, &v, &n, &e), 3);
	ck_assert_uint_eq(e.n, 0);
	ck_assert_uint_eq(n, 4);
	assert_cidr(&v[0], "198.51.100.0/24");
	assert_cidr(&v[1], "203.0.113.0/24");
	assert_cidr(&v[2], "192.0.2.128/25");
	assert_cidr(&v[3], "2001:db8:beef::/48");

	/* reading it again adds nothing */
	ck_assert_int_eq(fos_ipset_read_file(path, &v, &n, &e), 0);
	ck_assert_uint_eq(n, 4);
	free(v);
}
END_TEST

START_TEST(test_ipset_read_file_errors)
{
	_cleanup_free_ char *bad = data_path("sets/bad.txt");
	_cleanup_free_ char *missing = data_path("sets/missing.txt");
	_cleanup_free_ char *dir = data_path("sets");
	_cleanup_free_ char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL;
	struct fos_cidr *v = NULL;
	struct fos_errors e = {};
	size_t n = 0;

	m1 = strf("%s:3: 10.0.0.1/8: host bits set, the network is 10.0.0.0/8", bad);
	m2 = strf("%s:4: not-an-address is not an IP address", bad);
	m3 = strf("%s: No such file or directory", missing);
	m4 = strf("%s: Is a directory", dir);

	/* every bad line is reported, and nothing is appended */
	ck_assert_int_eq(fos_ipset_read_file(bad, &v, &n, &e), -EINVAL);
	ck_assert_ptr_null(v);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(fos_ipset_read_file(missing, &v, &n, &e), -ENOENT);
	ck_assert_int_eq(fos_ipset_read_file(dir, &v, &n, &e), -EISDIR);
	ck_assert_ptr_null(v);
	assert_errors(&e, ERRORS(m1, m2, m3, m4));
	fos_errors_clear(&e);
}
END_TEST

START_TEST(test_ipset_read_file_not_regular)
{
	char dir[] = "/tmp/fos-test-fifo.XXXXXX";
	_cleanup_free_ char *fifo = NULL, *want = NULL;
	struct fos_cidr *v = NULL;
	struct fos_errors e = {};
	size_t n = 0;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	fifo = strf("%s/set", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	want = strf("%s: not a regular file", fifo);
	/* a FIFO would block the daemon: refused at once, nothing appended */
	ck_assert_int_eq(fos_ipset_read_file(fifo, &v, &n, &e), -EINVAL);
	ck_assert_ptr_null(v);
	assert_errors(&e, ERRORS(want));
	fos_errors_clear(&e);
	unlink(fifo);
	rmdir(dir);
}
END_TEST

START_TEST(test_ipset_v4_mapped_dedup)
{
	/* the datapath stores IPv4 as ::ffff:a.b.c.d: both spellings are one entry */
	_cleanup_(fos_config_freep) struct fos_config *c = load_ok(
	    "ipSets = ( { name = \"s\"; entries = [ \"10.9.0.0/24\", \"::ffff:10.9.0.0/120\", "
	    "\"10.9.1.0/24\" ]; } );\n");

	ck_assert_uint_eq(c->sets[0].n_entries, 2);
	ck_assert_uint_eq(c->sets[0].entries[0].plen, 24);
}
END_TEST

START_TEST(test_rule_v4_mapped_is_ipv4)
{
	/* an IPv4-mapped spelling is IPv4 to the family checks too */
	_cleanup_(fos_config_freep) struct fos_config *c =
	    load_ok("programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\";\n"
		    "  settings = { actions = { rules = (\n"
		    "    { match = { protocol = \"icmp\"; srcCIDR = \"::ffff:10.0.0.0/104\";\n"
		    "                dstCIDR = \"192.0.2.0/24\"; }; action = \"drop\"; }\n"
		    "  ); }; }; } );\n");

	ck_assert_int_eq(c->programs[0].rules[0].match.src[0].family, AF_INET);
	ck_assert_uint_eq(c->programs[0].rules[0].match.src[0].plen, 8);
	assert_load_fails(
	    "programs = ( { name = \"p\"; type = \"xdp\"; interface = \"eth0\";\n"
	    "  settings = { actions = { rules = (\n"
	    "    { match = { protocol = \"icmpv6\"; srcCIDR = \"::ffff:10.0.0.0/104\"; };\n"
	    "      action = \"drop\"; }\n"
	    "  ); }; }; } );\n",
	    ERRORS("t.conf:3: programs[0].settings.actions.rules[0].match: protocol \"icmpv6\" "
		   "never matches the IPv4 srcCIDR \"10.0.0.0/8\""));
}
END_TEST

/* ---- interfaces ---------------------------------------------------------- */

START_TEST(test_check_interfaces)
{
	_cleanup_(fos_config_freep) struct fos_config *c = load_ok(
	    "programs = (\n"
	    "  { name = \"a\"; type = \"xdp\"; interface = \"eth0\"; },\n"
	    "  { name = \"b\"; type = \"xdp\"; interface = \"eth9\";\n"
	    "    settings = { actions = { default = \"redirect\"; defaultInterface = \"eth8\";\n"
	    "      rules = (\n"
	    "        { match = { }; action = \"redirect\"; interface = \"eth1\"; },\n"
	    "        { match = { }; action = \"redirect\"; interface = \"eth7\"; }\n"
	    "      ); }; }; }\n"
	    ");\n");
	struct fos_errors e = {};

	ck_assert_int_eq(fos_config_check_interfaces(c, fake_resolve, &e), -EINVAL);
	assert_errors(&e,
		      ERRORS("t.conf:3: programs[1].interface: no such interface \"eth9\"",
			     "t.conf:3: programs[1].settings.actions.defaultInterface: no such "
			     "interface \"eth8\"",
			     "t.conf:7: programs[1].settings.actions.rules[1].interface: no such "
			     "interface \"eth7\""));
	fos_errors_clear(&e);
}
END_TEST

START_TEST(test_check_interfaces_tc)
{
	_cleanup_(fos_config_freep) struct fos_config *c =
	    load_ok("programs = (\n"
		    "  { name = \"a\"; type = \"tc-ingress\"; interface = \"eth9\"; settings = {\n"
		    "    stateful = true; actions = { default = \"redirect\"; defaultInterface = "
		    "\"eth1\"; }; }; },\n"
		    "  { name = \"b\"; type = \"tc-egress\"; interface = \"eth0\";\n"
		    "    settings = { actions = { rules = (\n"
		    "      { match = { }; action = \"redirect\"; interface = \"eth7\"; }\n"
		    "    ); }; }; }\n"
		    ");\n");
	struct fos_errors e = {};

	/* TC programs' interfaces, and their redirect targets, must exist too */
	ck_assert_int_eq(fos_config_check_interfaces(c, fake_resolve, &e), -EINVAL);
	assert_errors(&e,
		      ERRORS("t.conf:2: programs[0].interface: no such interface \"eth9\"",
			     "t.conf:6: programs[1].settings.actions.rules[0].interface: no such "
			     "interface \"eth7\""));
	fos_errors_clear(&e);
}
END_TEST

START_TEST(test_check_interfaces_dropins)
{
	_cleanup_free_ char *path = data_path("merge/fwd.conf");
	_cleanup_free_ char *m1 = NULL, *m2 = NULL;
	_cleanup_(fos_config_freep) struct fos_config *c = load_file_ok(path);
	struct fos_errors e = {};

	/* indices count within each file, as the load errors do */
	m1 =
	    strf("%s/merge/fwd.d/20-progs.conf:6: programs[0].settings.actions.rules[0].interface: "
		 "no such interface \"eth2\"",
		 data_dir());
	m2 = strf("%s/merge/fwd.d/9-late.conf:1: programs[0].interface: no such interface \"eth9\"",
		  data_dir());
	ck_assert_int_eq(fos_config_check_interfaces(c, fake_resolve, &e), -EINVAL);
	assert_errors(&e, ERRORS(m1, m2));
	fos_errors_clear(&e);
}
END_TEST

START_TEST(test_check_interfaces_default_resolver)
{
	_cleanup_(fos_config_freep) struct fos_config *ok =
	    load_ok("programs = ( { name = \"a\"; type = \"xdp\"; interface = \"lo\"; } );\n");
	_cleanup_(fos_config_freep) struct fos_config *bad = load_ok(
	    "programs = ( { name = \"a\"; type = \"xdp\"; interface = \"fos-nosuch0\"; } );\n");
	struct fos_errors e = {};

	/* NULL resolves with if_nametoindex(); every network namespace has lo */
	ck_assert_int_eq(fos_config_check_interfaces(ok, NULL, &e), 0);
	ck_assert_uint_eq(e.n, 0);
	ck_assert_int_eq(fos_config_check_interfaces(bad, NULL, &e), -EINVAL);
	assert_errors(&e,
		      ERRORS("t.conf:1: programs[0].interface: no such interface \"fos-nosuch0\""));
	fos_errors_clear(&e);
}
END_TEST

/* ---- the shipped configs ------------------------------------------------- */

START_TEST(test_shipped_fwd_conf)
{
	_cleanup_free_ char *path = conf_path("fwd.conf");
	_cleanup_(fos_config_freep) struct fos_config *c = load_file_ok(path);

	ck_assert_uint_eq(c->n_sets, 0);
	ck_assert_uint_eq(c->n_programs, 0);
	ck_assert_str_eq(c->daemon.socket, FOS_DEFAULT_SOCKET);
	ck_assert_str_eq(c->daemon.pin_dir, FOS_DEFAULT_PIN_DIR);
	ck_assert_str_eq(c->daemon.log_level, "info");

	/* the conntrack group shows the defaults */
	ck_assert_str_eq(c->conntrack.src.file, path);
	ck_assert_int_gt(c->conntrack.src.line, 0);
	ck_assert_uint_eq(c->conntrack.max_connections, FOS_CT_DEFAULT_MAX);
	ck_assert_uint_eq(c->conntrack.tcp_timeout, FOS_CT_DEFAULT_TCP_TIMEOUT);
	ck_assert_uint_eq(c->conntrack.tcp_syn_timeout, FOS_CT_DEFAULT_TCP_SYN_TIMEOUT);
	ck_assert_uint_eq(c->conntrack.tcp_fin_timeout, FOS_CT_DEFAULT_TCP_FIN_TIMEOUT);
	ck_assert_uint_eq(c->conntrack.udp_timeout, FOS_CT_DEFAULT_UDP_TIMEOUT);
	ck_assert_uint_eq(c->conntrack.icmp_timeout, FOS_CT_DEFAULT_ICMP_TIMEOUT);
	ck_assert_uint_eq(c->conntrack.invalid, FOS_CT_INVALID_DROP);
}
END_TEST

/* The commented-out ipSets, programs and natConfigs examples in fwd.conf, uncommented,
 * must be a valid config too (less the set file, which only exists on a
 * configured host). */
START_TEST(test_shipped_fwd_conf_examples)
{
	_cleanup_free_ char *path = conf_path("fwd.conf");
	_cleanup_free_ char *line = NULL, *text = NULL;
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	_cleanup_(fos_config_freep) struct fos_config *c = NULL;
	FILE *out;
	size_t cap = 0, len = 0;
	bool in_example = false;

	ck_assert_ptr_nonnull(f);
	out = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(out);
	while (getline(&line, &cap, f) >= 0) {
		if (strncmp(line, "# ipSets = (", 12) == 0 ||
		    strncmp(line, "# programs = (", 14) == 0 ||
		    strncmp(line, "# natConfigs = (", 16) == 0)
			in_example = true;
		if (!in_example)
			continue;
		if (!strstr(line, "file = "))
			fputs(line[1] == ' ' ? line + 2 : line + 1, out);
		if (strncmp(line, "# );", 4) == 0)
			in_example = false;
	}
	ck_assert_int_eq(fclose(out), 0);

	c = load_ok(text);
	ck_assert_uint_eq(c->n_sets, 1);
	ck_assert_uint_eq(c->n_programs, 2);
	ck_assert_str_eq(c->programs[0].name, "xdp-filter");
	ck_assert_uint_eq(c->programs[0].n_rules, 3);
	ck_assert_str_eq(c->programs[0].blacklist.set, "malicious-ips");
	ck_assert(fos_program_has_ddos(&c->programs[0]));
	assert_rate(&c->programs[0].ddos.pps, 10000, 20000);
	ck_assert_uint_eq(c->programs[0].ddos.syn_threshold, 1000);
	ck_assert(!c->programs[0].ddos.icmp_enabled);
	ck_assert_str_eq(c->programs[1].name, "wan-firewall");
	ck_assert_int_eq(c->programs[1].type, FOS_PROG_TC_INGRESS);
	ck_assert(c->programs[1].stateful);
	ck_assert_int_eq(c->programs[1].default_action, FOS_CFG_DROP);
	ck_assert_uint_eq(c->programs[1].n_rules, 3);
	ck_assert_uint_eq(c->n_nats, 1);
	ck_assert_str_eq(c->nats[0].name, "home");
	ck_assert_uint_eq(c->nats[0].n_maps, 1);
	ck_assert_uint_eq(c->nats[0].n_sources, 2);
	ck_assert_uint_eq(c->nats[0].n_excludes, 1);
	ck_assert_uint_eq(c->nats[0].families, FOS_NAT_FAM_V4 | FOS_NAT_FAM_V6);
}
END_TEST

START_TEST(test_shipped_lab_conf)
{
	_cleanup_free_ char *path = conf_path("examples/lab.conf");
	_cleanup_free_ char *set_file = conf_path("examples/sets/blocked.txt");
	_cleanup_(fos_config_freep) struct fos_config *c = load_file_ok(path);
	const struct fos_program *p;
	const struct fos_ipset *s;
	const struct fos_match *m;
	struct fos_errors e = {};

	ck_assert_uint_eq(c->n_sets, 1);
	s = fos_config_find_set(c, "blocked");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->file, set_file);
	ck_assert_uint_eq(s->n_entries, 5);
	assert_cidr(&s->entries[0], "10.10.9.0/24");
	assert_cidr(&s->entries[1], "fd00:bad::/48");
	assert_cidr(&s->entries[2], "198.51.100.0/24");
	assert_cidr(&s->entries[3], "203.0.113.0/24");
	assert_cidr(&s->entries[4], "2001:db8:bad::/48");

	ck_assert_uint_eq(c->n_programs, 1);
	p = fos_config_find_program(c, "lab-filter");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(p->type, FOS_PROG_XDP);
	ck_assert_str_eq(p->interface, "r-cli");
	ck_assert_int_eq(p->priority, 10);
	ck_assert(p->blacklist.enabled);
	ck_assert_str_eq(p->blacklist.set, "blocked");
	ck_assert(!p->whitelist.enabled);
	ck_assert_int_eq(p->default_action, FOS_CFG_PASS);
	ck_assert_uint_eq(p->n_rules, 4);

	m = &p->rules[0].match;
	ck_assert_int_eq(p->rules[0].action, FOS_CFG_DROP);
	ck_assert_uint_eq(m->protocol, 6);
	ck_assert_uint_eq(m->n_dport, 1);
	assert_span(&m->dport[0], 23, 23);

	m = &p->rules[1].match;
	ck_assert_int_eq(p->rules[1].action, FOS_CFG_DROP);
	ck_assert_uint_eq(m->protocol, 6);
	ck_assert_uint_eq(m->n_dport, 1);
	assert_span(&m->dport[0], 8000, 8100);

	m = &p->rules[2].match;
	ck_assert_int_eq(p->rules[2].action, FOS_CFG_PASS);
	ck_assert_uint_eq(m->protocol, 17);
	assert_span(&m->dport[0], 53, 53);

	m = &p->rules[3].match;
	ck_assert_int_eq(p->rules[3].action, FOS_CFG_DROP);
	ck_assert_uint_eq(m->protocol, 17);
	ck_assert_uint_eq(m->n_src, 1);
	assert_cidr(&m->src[0], "10.10.1.0/24");
	ck_assert_uint_eq(m->n_dst, 0);
	ck_assert_uint_eq(m->n_dport, 1);
	assert_span(&m->dport[0], 5000, 5999);

	/* the lab router has exactly the interfaces the config names */
	ck_assert_int_eq(fos_config_check_interfaces(c, fake_resolve, &e), 0);
	ck_assert_uint_eq(e.n, 0);
}
END_TEST

/* The demo lab's DDoS drop-in, beside lab.conf as demo-lab.sh places it: one
 * more xdp program on r-cli, in front of lab-filter, blocking into lab.conf's
 * set. */
START_TEST(test_shipped_lab_ddos_dropin)
{
	char dir[] = "/tmp/fos-test-labddos-XXXXXX";
	_cleanup_free_ char *lab = conf_path("examples/lab.conf");
	_cleanup_free_ char *ddos = conf_path("examples/lab-ddos.conf");
	_cleanup_free_ char *set_rel = conf_path("examples/sets/blocked.txt");
	_cleanup_free_ char *set_file = realpath(set_rel, NULL);
	_cleanup_free_ char *main_path = NULL, *dropins = NULL, *dropin = NULL, *cmd = NULL;
	_cleanup_(fos_config_freep) struct fos_config *c = NULL;
	const struct fos_program *p, *f;

	ck_assert_ptr_nonnull(set_file);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	main_path = strf("%s/fwd.conf", dir);
	dropins = strf("%s/fwd.d", dir);
	dropin = strf("%s/lab-ddos.conf", dropins);
	ck_assert_int_eq(mkdir(dropins, 0700), 0);
	/* lab.conf's set file is relative to lab.conf: give its full path */
	cmd = strf("sed 's|\"sets/blocked.txt\"|\"%s\"|' '%s' >'%s' && cp '%s' '%s'", set_file, lab,
		   main_path, ddos, dropin);
	ck_assert_int_eq(system(cmd), 0);

	c = load_file_ok(main_path);
	ck_assert_uint_eq(c->n_programs, 2);
	p = fos_config_find_program(c, "lab-ddos");
	f = fos_config_find_program(c, "lab-filter");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(p->type, FOS_PROG_XDP);
	ck_assert_str_eq(p->interface, f->interface);
	ck_assert_int_lt(p->priority, f->priority);
	ck_assert(fos_program_has_ddos(p));
	ck_assert(!fos_program_has_ddos(f));
	ck_assert_str_eq(p->blacklist.set, "blocked");
	ck_assert(p->ddos.syn_enabled && p->ddos.syn_always);
	ck_assert(p->ddos.icmp_enabled);
	assert_rate(&p->ddos.icmp_per_src, 20, 20);
	ck_assert_uint_eq(p->ddos.icmp_block, 15);
	ck_assert(!p->ddos.rate_enabled && !p->ddos.udp_enabled);

	ck_assert_int_eq(unlink(dropin), 0);
	ck_assert_int_eq(rmdir(dropins), 0);
	ck_assert_int_eq(unlink(main_path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* The line of path that starts with prefix (1-based), 0 if none. */
static int line_of(const char *path, const char *prefix)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char buf[512];
	int n = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(buf, sizeof(buf), f)) {
		n++;
		if (strncmp(buf, prefix, strlen(prefix)) == 0)
			return n;
	}
	return 0;
}

/* Every example of the design (conf/examples/seed/) as written: the
 * EBPFProgram examples load (the NATConfig ones in test-conf-nat); the
 * others are syntactically fine and refused with exactly one line naming the
 * feature that is not built yet. */
START_TEST(test_seed_examples)
{
	static const struct {
		const char *file, *key, *feature;
	} refused[] = {
	    {"qos-policy.conf", "trafficControl", "QoS (the TrafficControl resource)"},
	    {"voip-priority.conf", "trafficControl", "QoS (the TrafficControl resource)"},
	    {"container-isolation.conf", "containerPolicies",
	     "container policy enforcement (the ContainerPolicy resource)"},
	};
	_cleanup_free_ char *ddos_path = conf_path("examples/seed/ddos-protection.conf");
	_cleanup_free_ char *filter_path = conf_path("examples/seed/xdp-filter.conf");
	_cleanup_(fos_config_freep) struct fos_config *c = load_file_ok(ddos_path);
	const struct fos_ddos_settings *d;
	const struct fos_program *p;

	ck_assert_uint_eq(c->n_programs, 2);
	p = fos_config_find_program(c, "ddos-protection");
	ck_assert_ptr_eq(p, &c->programs[0]);
	ck_assert_str_eq(p->description, "XDP-based DDoS protection");
	ck_assert_int_eq(p->type, FOS_PROG_XDP);
	ck_assert_int_eq(p->priority, 1);
	ck_assert(p->stateful && p->stateful_implied);
	d = &p->ddos;
	ck_assert(d->rate_enabled && d->syn_enabled && d->icmp_enabled && d->udp_enabled);
	assert_rate(&d->pps, 1000000, 1000000);
	assert_rate(&d->cps, 10000, 10000);
	ck_assert_uint_eq(d->conns_per_ip, 100);
	ck_assert_uint_eq(d->syn_threshold, FOS_DDOS_DEFAULT_SYN_THRESHOLD);
	ck_assert_uint_eq(d->icmp_per_src.rate, FOS_DDOS_DEFAULT_ICMP_PER_SRC);
	ck_assert_uint_eq(d->udp_per_src.rate, FOS_DDOS_DEFAULT_UDP_PER_SRC);
	p = fos_config_find_program(c, "conntrack-r-cli");
	ck_assert_ptr_nonnull(p);
	ck_assert(p->track_only);
	ck_assert_uint_eq(c->notes.n, 2);
	fos_config_free(TAKE_PTR(c));

	c = load_file_ok(filter_path);
	ck_assert_uint_eq(c->n_programs, 1);
	ck_assert_ptr_nonnull(fos_config_find_set(c, "malicious-ips"));
	p = &c->programs[0];
	ck_assert_str_eq(p->name, "xdp-filter");
	ck_assert_int_eq(p->priority, 10);
	ck_assert(p->stateful && !p->stateful_implied);
	ck_assert(p->blacklist.enabled);
	ck_assert_str_eq(p->blacklist.set, "malicious-ips");
	ck_assert(p->ddos.rate_enabled);
	assert_rate(&p->ddos.pps, 1000000, 1000000);
	ck_assert_int_eq(p->default_action, FOS_CFG_PASS);
	ck_assert_uint_eq(p->n_rules, 2);
	ck_assert_uint_eq(p->rules[0].match.protocol, IPPROTO_UDP);
	ck_assert_uint_eq(p->rules[0].match.dport[0].lo, 53);
	ck_assert_int_eq(p->rules[0].action, FOS_CFG_PASS);
	ck_assert_uint_eq(p->rules[1].match.protocol, IPPROTO_TCP);
	ck_assert_uint_eq(p->rules[1].match.dport[0].lo, 80);
	ck_assert_uint_eq(c->notes.n, 0);
	fos_config_free(TAKE_PTR(c));

	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		_cleanup_free_ char *rel = strf("examples/seed/%s", refused[i].file);
		_cleanup_free_ char *path = conf_path(rel), *prefix = strf("%s = ", refused[i].key);
		_cleanup_free_ char *want = NULL;
		struct fos_errors e = {};
		struct fos_config *r = &sentinel;
		int line = line_of(path, prefix);

		ck_assert_int_gt(line, 0);
		want = strf("%s:%d: %s: %s is not built into fos " FOS_VERSION " yet", path, line,
			    refused[i].key, refused[i].feature);
		ck_assert_int_eq(fos_config_load(path, &r, &e), -EINVAL);
		ck_assert_ptr_eq(r, &sentinel);
		assert_errors(&e, ERRORS(want));
		fos_errors_clear(&e);
	}
}
END_TEST

START_TEST(test_shipped_ddos_conf)
{
	_cleanup_free_ char *path = conf_path("examples/ddos.conf");
	_cleanup_(fos_config_freep) struct fos_config *c = load_file_ok(path);
	const struct fos_ddos_settings *d;
	const struct fos_program *p;
	const struct fos_ipset *s;
	struct fos_errors e = {};

	/* the set the protections block into starts empty */
	ck_assert_uint_eq(c->n_sets, 1);
	s = fos_config_find_set(c, "blocked");
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->n_entries, 0);

	ck_assert_uint_eq(c->n_programs, 2);
	p = fos_config_find_program(c, "ddos-protection");
	ck_assert_ptr_eq(p, &c->programs[0]);
	ck_assert_int_eq(p->type, FOS_PROG_XDP);
	ck_assert_str_eq(p->interface, "r-cli");
	ck_assert_int_eq(p->priority, 1);
	ck_assert(!p->stateful);
	ck_assert(p->blacklist.enabled);
	ck_assert_str_eq(p->blacklist.set, "blocked");
	ck_assert_uint_eq(p->n_rules, 0);
	ck_assert(fos_program_has_ddos(p));

	d = &p->ddos;
	ck_assert(d->rate_enabled);
	ck_assert_str_eq(d->rate_src.file, path);
	ck_assert_int_gt(d->rate_src.line, p->src.line);
	assert_rate(&d->pps, 10000, 20000);
	assert_rate(&d->cps, 100, 200);
	ck_assert_uint_eq(d->conns_per_ip, 0);
	ck_assert_uint_eq(d->v6_plen, 64);
	ck_assert_uint_eq(d->rate_block, 300);
	ck_assert(d->syn_enabled);
	ck_assert_int_gt(d->syn_src.line, d->rate_src.line);
	ck_assert(!d->syn_always);
	ck_assert_uint_eq(d->syn_threshold, 200);
	ck_assert_uint_eq(d->syn_hold, 10);
	ck_assert_uint_eq(d->syn_auth_timeout, 300);
	ck_assert(d->icmp_enabled);
	ck_assert_int_gt(d->icmp_src.line, d->syn_src.line);
	assert_rate(&d->icmp_per_src, 50, 100);
	assert_rate(&d->icmp_total, 1000, 1000);
	ck_assert_uint_eq(d->icmp_block, 60);
	ck_assert(d->udp_enabled);
	ck_assert_int_gt(d->udp_src.line, d->icmp_src.line);
	assert_rate(&d->udp_per_src, 5000, 10000);
	assert_rate(&d->udp_total, 50000, 50000);
	ck_assert_uint_eq(d->udp_block, 120);

	/* the rules run after it, on the same interface */
	p = fos_config_find_program(c, "xdp-filter");
	ck_assert_ptr_eq(p, &c->programs[1]);
	ck_assert_int_eq(p->type, FOS_PROG_XDP);
	ck_assert_str_eq(p->interface, "r-cli");
	ck_assert_int_eq(p->priority, 10);
	ck_assert(!fos_program_has_ddos(p));
	ck_assert(!p->blacklist.enabled);
	ck_assert_int_eq(p->default_action, FOS_CFG_PASS);
	ck_assert_uint_eq(p->n_rules, 4);
	ck_assert_int_eq(p->rules[0].action, FOS_CFG_DROP);
	assert_span(&p->rules[0].match.dport[0], 23, 23);
	ck_assert_int_eq(p->rules[2].action, FOS_CFG_PASS);
	assert_span(&p->rules[2].match.dport[0], 53, 53);

	/* as fwd --check has it: the lab router has these interfaces */
	ck_assert_int_eq(fos_config_check_interfaces(c, fake_resolve, &e), 0);
	ck_assert_uint_eq(e.n, 0);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("model");
	tcase_add_test(tc, test_full_example);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_empty_config);
	tcase_add_test(tc, test_daemon_values);
	tcase_add_test(tc, test_ports_merged);
	tcase_add_test(tc, test_port_spans_limit_ok);
	tcase_add_test(tc, test_cidr_forms);
	tcase_add_test(tc, test_redirect_default);
	tcase_add_test(tc, test_int64_values);
	tcase_add_test(tc, test_tc_programs);
	tcase_add_test(tc, test_tc_slots_ok);
	tcase_add_test(tc, test_conntrack_values);
	tcase_add_test(tc, test_state_values);
	tcase_add_test(tc, test_names_limits);
	tcase_add_test(tc, test_to_string);
	tcase_add_test(tc, test_errors_add_clear);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_syntax_error);
	tcase_add_test(tc, test_mixed_array_hint);
	tcase_add_test(tc, test_top_level_keys);
	tcase_add_test(tc, test_top_level_types);
	tcase_add_test(tc, test_daemon_errors);
	tcase_add_test(tc, test_set_errors);
	tcase_add_test(tc, test_set_file_missing);
	tcase_add_test(tc, test_set_file_bad_lines);
	tcase_add_test(tc, test_set_file_absolute);
	tcase_add_test(tc, test_program_required);
	tcase_add_test(tc, test_program_types);
	tcase_add_test(tc, test_program_fields);
	tcase_add_test(tc, test_tc_priority);
	tcase_add_test(tc, test_conntrack_errors);
	tcase_add_test(tc, test_state_errors);
	tcase_add_test(tc, test_state_never_matches);
	tcase_add_test(tc, test_tc_stateful_twice);
	tcase_add_test(tc, test_tc_slot_collisions);
	tcase_add_test(tc, test_settings_keys);
	tcase_add_test(tc, test_list_refs);
	tcase_add_test(tc, test_actions_errors);
	tcase_add_test(tc, test_rule_count);
	tcase_add_test(tc, test_rule_errors);
	tcase_add_test(tc, test_match_errors);
	tcase_add_test(tc, test_port_errors);
	tcase_add_test(tc, test_port_needs_tcp_udp);
	tcase_add_test(tc, test_port_spans_limit);
	tcase_add_test(tc, test_never_matching_families);
	tcase_add_test(tc, test_errors_collected);
	suite_add_tcase(s, tc);

	tc = tcase_create("ddos");
	tcase_add_test(tc, test_ddos_full);
	tcase_add_test(tc, test_ddos_defaults);
	tcase_add_test(tc, test_ddos_values);
	tcase_add_test(tc, test_ddos_value_errors);
	tcase_add_test(tc, test_ddos_group_errors);
	tcase_add_test(tc, test_ddos_cross_checks);
	tcase_add_test(tc, test_ddos_seed);
	tcase_add_test(tc, test_ddos_dropin_lines);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_test(tc, test_dropins_merge);
	tcase_add_test(tc, test_dropins_conflicts);
	tcase_add_test(tc, test_conntrack_dropin);
	tcase_add_test(tc, test_conntrack_dropin_conflicts);
	tcase_add_test(tc, test_dropin_syntax_error);
	tcase_add_test(tc, test_main_file_missing);
	tcase_add_test(tc, test_ipset_read_file);
	tcase_add_test(tc, test_ipset_read_file_errors);
	tcase_add_test(tc, test_ipset_read_file_not_regular);
	tcase_add_test(tc, test_ipset_v4_mapped_dedup);
	tcase_add_test(tc, test_rule_v4_mapped_is_ipv4);
	suite_add_tcase(s, tc);

	tc = tcase_create("interfaces");
	tcase_add_test(tc, test_check_interfaces);
	tcase_add_test(tc, test_check_interfaces_tc);
	tcase_add_test(tc, test_check_interfaces_dropins);
	tcase_add_test(tc, test_check_interfaces_default_resolver);
	suite_add_tcase(s, tc);

	tc = tcase_create("shipped");
	tcase_add_test(tc, test_shipped_fwd_conf);
	tcase_add_test(tc, test_shipped_fwd_conf_examples);
	tcase_add_test(tc, test_seed_examples);
	tcase_add_test(tc, test_shipped_lab_conf);
	tcase_add_test(tc, test_shipped_ddos_conf);
	tcase_add_test(tc, test_shipped_lab_ddos_dropin);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
