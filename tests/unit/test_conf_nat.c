// SPDX-License-Identifier: GPL-2.0-only
/* The natConfigs section: the design's NATConfig examples as written,
 * defaults, extensions, and every refusal with its file:line message. */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cleanup.h"
#include "config.h"

static struct fos_config sentinel;

#define ERRORS(...) ((const char *const[]){__VA_ARGS__, NULL})

static char *strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *strf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	ck_assert_int_ge(vasprintf(&s, fmt, ap), 0);
	va_end(ap);
	return s;
}

static char *conf_path(const char *rel)
{
	const char *d = getenv("FOS_CONF_DIR");

	return strf("%s/%s", d ? d : "conf", rel);
}

static void dump_errors(const struct fos_errors *e)
{
	for (size_t i = 0; i < e->n; i++)
		fprintf(stderr, "  error %zu: %s\n", i, e->msgs[i]);
}

static void assert_load_fails(const char *text, const char *const *want)
{
	struct fos_errors e = {};
	struct fos_config *c = &sentinel;
	size_t n = 0;

	while (want[n])
		n++;
	ck_assert_int_eq(fos_config_load_string("t.conf", text, &c, &e), -EINVAL);
	ck_assert_ptr_eq(c, &sentinel);
	if (e.n != n)
		dump_errors(&e);
	for (size_t i = 0; i < e.n && i < n; i++)
		ck_assert_str_eq(e.msgs[i], want[i]);
	ck_assert_uint_eq(e.n, n);
	fos_errors_clear(&e);
}

static struct fos_config *load_ok(const char *text)
{
	struct fos_errors e = {};
	struct fos_config *c = NULL;
	int r = fos_config_load_string("t.conf", text, &c, &e);

	if (r != 0)
		dump_errors(&e);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(e.n, 0);
	return c;
}

static struct fos_config *load_file_ok(const char *path)
{
	struct fos_errors e = {};
	struct fos_config *c = NULL;
	int r = fos_config_load(path, &c, &e);

	if (r != 0)
		dump_errors(&e);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(e.n, 0);
	return c;
}

static void assert_cidr(const struct fos_cidr *c, const char *want)
{
	char buf[FOS_CIDR_STRLEN];

	ck_assert_str_eq(fos_cidr_to_string(c, buf, sizeof(buf)), want);
}

static void assert_addr(const struct fos_addr *a, const char *want)
{
	struct fos_addr w;
	int fam;

	ck_assert_int_eq(fos_parse_addr(want, &w, &fam, NULL), 0);
	ck_assert_mem_eq(a->b, w.b, 16);
}

/* A natConfig between r-srv and r-cli with `body` on line 2. */
#define NAT(body)                                                                                  \
	"natConfigs = ( { name = \"n\"; interfaces = { source = \"in0\"; destination = "           \
	"\"out0\"; };\n" body " } );\n"

START_TEST(test_seed_advanced_nat)
{
	_cleanup_free_ char *path = conf_path("examples/seed/advanced-nat.conf");
	_cleanup_(fos_config_freep) struct fos_config *c = load_file_ok(path);
	const struct fos_nat_cfg *n;

	ck_assert_uint_eq(c->n_nats, 1);
	n = &c->nats[0];
	ck_assert_str_eq(n->name, "advanced-nat");
	ck_assert_str_eq(n->description, "Advanced NAT with connection tracking");
	ck_assert_str_eq(n->source_if, "r-srv");
	ck_assert_str_eq(n->dest_if, "r-cli");
	ck_assert_int_eq(n->type, FOS_NAT_MASQUERADE);
	ck_assert_uint_eq(n->families, FOS_NAT_FAM_V4 | FOS_NAT_FAM_V6);
	ck_assert_uint_eq(n->n_maps, 1);
	ck_assert_uint_eq(n->maps[0].protocol, IPPROTO_TCP);
	assert_addr(&n->maps[0].internal_ip, "192.168.1.10");
	ck_assert_int_eq(n->maps[0].family, AF_INET);
	ck_assert_uint_eq(n->maps[0].int_lo, 80);
	ck_assert_uint_eq(n->maps[0].int_hi, 80);
	ck_assert_uint_eq(n->maps[0].ext_lo, 80);
	ck_assert_uint_eq(n->maps[0].ext_hi, 80);
	ck_assert_uint_eq(n->tcp_timeout, 86400);
	ck_assert_uint_eq(n->udp_timeout, 300);
	ck_assert_uint_eq(n->max_connections, 1000000);
	ck_assert(n->hairpinning);
	ck_assert(n->endpoint_independent);
	ck_assert_uint_eq(n->n_sources, 0);
	ck_assert_uint_eq(n->n_excludes, 0);
	ck_assert(!n->has_range);
	ck_assert_uint_eq(c->notes.n, 0);
}
END_TEST

/* conf/examples/nat.conf: the seed's advanced-nat with the lab's server as
 * the port map's internal address, and nothing else changed */
START_TEST(test_lab_example)
{
	_cleanup_free_ char *seed_path = conf_path("examples/seed/advanced-nat.conf");
	_cleanup_free_ char *path = conf_path("examples/nat.conf");
	_cleanup_(fos_config_freep) struct fos_config *seed = load_file_ok(seed_path);
	_cleanup_(fos_config_freep) struct fos_config *c = load_file_ok(path);
	const struct fos_nat_cfg *n, *s;

	ck_assert_uint_eq(c->n_nats, 1);
	n = &c->nats[0];
	s = &seed->nats[0];
	ck_assert_str_eq(n->name, s->name);
	ck_assert_str_eq(n->description, s->description);
	ck_assert_str_eq(n->source_if, s->source_if);
	ck_assert_str_eq(n->dest_if, s->dest_if);
	ck_assert_int_eq(n->type, s->type);
	ck_assert_uint_eq(n->families, s->families);
	ck_assert_uint_eq(n->n_maps, 1);
	ck_assert_uint_eq(n->maps[0].protocol, s->maps[0].protocol);
	assert_addr(&n->maps[0].internal_ip, "10.10.2.2");
	ck_assert_uint_eq(n->maps[0].int_lo, s->maps[0].int_lo);
	ck_assert_uint_eq(n->maps[0].ext_lo, s->maps[0].ext_lo);
	ck_assert_uint_eq(n->tcp_timeout, s->tcp_timeout);
	ck_assert_uint_eq(n->udp_timeout, s->udp_timeout);
	ck_assert_uint_eq(n->max_connections, s->max_connections);
	ck_assert(n->hairpinning == s->hairpinning);
	ck_assert(n->endpoint_independent == s->endpoint_independent);
	ck_assert_uint_eq(c->notes.n, 0);
}
END_TEST

START_TEST(test_seed_ebpf_nat)
{
	_cleanup_free_ char *path = conf_path("examples/seed/ebpf-nat.conf");
	_cleanup_(fos_config_freep) struct fos_config *c = load_file_ok(path);
	const struct fos_nat_cfg *n;

	ck_assert_uint_eq(c->n_nats, 1);
	n = &c->nats[0];
	ck_assert_str_eq(n->name, "ebpf-nat");
	ck_assert_str_eq(n->description, "eBPF-based NAT configuration");
	ck_assert_int_eq(n->type, FOS_NAT_MASQUERADE);
	ck_assert_uint_eq(n->families, FOS_NAT_FAM_V4);
	ck_assert_uint_eq(n->n_maps, 1);
	ck_assert_uint_eq(n->maps[0].int_lo, 80);
	ck_assert_uint_eq(n->maps[0].ext_lo, 8080);
	ck_assert_uint_eq(n->n_sources, 1);
	assert_cidr(&n->sources[0], "192.168.0.0/16");
	ck_assert_uint_eq(n->n_excludes, 1);
	assert_cidr(&n->excludes[0], "192.168.100.0/24");
	/* what the example leaves out: the RFCs' timeouts, EIM, hairpinning */
	ck_assert_uint_eq(n->tcp_timeout, FOS_NAT_DEFAULT_TCP_TIMEOUT);
	ck_assert_uint_eq(n->udp_timeout, FOS_NAT_DEFAULT_UDP_TIMEOUT);
	ck_assert_uint_eq(n->max_connections, FOS_NAT_DEFAULT_MAPPINGS);
	ck_assert(n->endpoint_independent && n->hairpinning);
}
END_TEST

START_TEST(test_static_range_and_extensions)
{
	_cleanup_(fos_config_freep) struct fos_config *c = load_ok(
	    NAT("type = \"static\"; ipVersion = \"both\"; externalIP = ( \"203.0.113.7\", "
		"\"2001:db8::7\" );\n"
		"portRange = \"20000-20099\"; endpointIndependent = false; hairpinning = false;\n"
		"portMappings = ( { protocol = \"udp\"; internalIP = \"fd00::10\"; internalPort = "
		"\"5060-5061\"; externalPort = \"15060-15061\"; } );\n"
		"connectionTracking = { enabled = true; tcpTimeout = \"3h\"; udpTimeout = 60; };"));
	const struct fos_nat_cfg *n = &c->nats[0];

	ck_assert_int_eq(n->type, FOS_NAT_STATIC);
	ck_assert(n->has_ext4 && n->has_ext6);
	assert_addr(&n->ext4, "203.0.113.7");
	assert_addr(&n->ext6, "2001:db8::7");
	ck_assert(n->has_range);
	ck_assert_uint_eq(n->port_lo, 20000);
	ck_assert_uint_eq(n->port_hi, 20099);
	ck_assert(!n->endpoint_independent && !n->hairpinning);
	ck_assert_int_eq(n->maps[0].family, AF_INET6);
	ck_assert_uint_eq(n->maps[0].int_hi, 5061);
	ck_assert_uint_eq(n->maps[0].ext_hi, 15061);
	ck_assert_uint_eq(n->tcp_timeout, 10800);
	ck_assert_uint_eq(n->udp_timeout, 60);
	/* a UDP timeout under RFC 4787's 2 minutes is allowed, and noted */
	ck_assert_uint_eq(c->notes.n, 1);
	ck_assert_str_eq(c->notes.msgs[0],
			 "t.conf:5: natConfigs \"n\": udpTimeout 60 s is below the 120 s RFC 4787 "
			 "asks for");
}
END_TEST

START_TEST(test_refusals)
{
	assert_load_fails("natConfigs = ( { name = \"n\"; } );\n",
			  ERRORS("t.conf:1: natConfigs[0]: interfaces is required"));
	assert_load_fails(NAT("type = \"full-cone\";"),
			  ERRORS("t.conf:2: natConfigs[0].type: unknown type \"full-cone\" (valid: "
				 "masquerade, static)"));
	assert_load_fails(
	    NAT("ipVersion = \"ipv6\"; portMappings = ( { protocol = \"tcp\"; internalIP = "
		"\"192.168.1.10\"; internalPort = 80; externalPort = 80; } );"),
	    ERRORS("t.conf:2: natConfigs[0].portMappings[0]: internalIP is an IPv4 address, but "
		   "ipVersion is \"ipv6\""));
	assert_load_fails(NAT("sourceCIDRs = ( \"2001:db8::/32\" );"),
			  ERRORS("t.conf:2: natConfigs[0].sourceCIDRs: 2001:db8::/32 is IPv6, but "
				 "ipVersion is \"ipv4\""));
	assert_load_fails(NAT("sourceCIDRs = ( \"10.0.0.0/8\" ); excludeCIDRs = ( "
			      "\"192.168.0.0/24\" );"),
			  ERRORS("t.conf:2: natConfigs[0].excludeCIDRs: 192.168.0.0/24 lies "
				 "outside every sourceCIDR: it excludes nothing"));
	assert_load_fails(NAT("externalIP = \"203.0.113.7\";"),
			  ERRORS("t.conf:2: natConfigs[0].externalIP: type \"masquerade\" takes "
				 "the external interface's address; externalIP is for type "
				 "\"static\""));
	assert_load_fails(NAT("type = \"static\"; ipVersion = \"both\"; externalIP = "
			      "\"203.0.113.7\";"),
			  ERRORS("t.conf:2: natConfigs[0].externalIP: type \"static\" needs "
				 "externalIP: an address for each family of ipVersion \"both\""));
	assert_load_fails(NAT("connectionTracking = { enabled = false; };"),
			  ERRORS("t.conf:2: natConfigs[0].connectionTracking.enabled: NAT keeps a "
				 "mapping per flow and cannot work without connection tracking; "
				 "leave enabled out or set it to true"));
	assert_load_fails(NAT("connectionTracking = { maxConnections = 0; };"),
			  ERRORS("t.conf:2: natConfigs[0].connectionTracking.maxConnections: 0 is "
				 "out of range 1-16777216"));
	assert_load_fails(NAT("portMappings = ( { protocol = \"sctp\"; internalIP = \"10.0.0.1\"; "
			      "internalPort = 80; externalPort = 80; } );"),
			  ERRORS("t.conf:2: natConfigs[0].portMappings[0].protocol: unknown "
				 "protocol \"sctp\" (valid: tcp, udp)"));
	assert_load_fails(
	    NAT("portMappings = ( { protocol = \"tcp\"; internalIP = \"10.0.0.1\"; internalPort = "
		"\"80-81\"; externalPort = \"8080-8082\"; } );"),
	    ERRORS("t.conf:2: natConfigs[0].portMappings[0]: externalPort 8080-8082 and "
		   "internalPort 80-81 are ranges of different lengths: each external port "
		   "needs its own internal port"));
	assert_load_fails(NAT("hairpining = true;"),
			  ERRORS("t.conf:2: natConfigs[0].hairpining: unknown key (did you "
				 "mean \"hairpinning\"?)"));
	assert_load_fails(NAT("endpointIndependent = \"yes\";"),
			  ERRORS("t.conf:2: natConfigs[0].endpointIndependent: expected a "
				 "boolean, got a string"));
	assert_load_fails("natConfigs = ( { name = \"n\"; interfaces = { source = \"eth0\"; "
			  "destination = \"eth0\"; }; } );\n",
			  ERRORS("t.conf:1: natConfigs[0].interfaces: source and destination are "
				 "both \"eth0\": NAT translates between an inside and an outside "
				 "interface"));
}
END_TEST

/* Checks across entries: names, overlapping translations, port maps. */
START_TEST(test_refusals_across)
{
	assert_load_fails(
	    "natConfigs = (\n"
	    "{ name = \"a\"; interfaces = { source = \"in0\"; destination = \"out0\"; };\n"
	    "  portMappings = ( { protocol = \"tcp\"; internalIP = \"10.0.0.1\"; internalPort = "
	    "\"80-90\"; externalPort = \"8000-8010\"; } ); },\n"
	    "{ name = \"b\"; interfaces = { source = \"in1\"; destination = \"out0\"; };\n"
	    "  portMappings = ( { protocol = \"tcp\"; internalIP = \"10.0.0.2\"; internalPort = "
	    "80; externalPort = 8005; },\n"
	    "                   { protocol = \"udp\"; internalIP = \"10.0.0.2\"; internalPort = "
	    "80; externalPort = 8005; } ); }\n"
	    ");\n",
	    ERRORS("t.conf:5: natConfigs \"b\": tcp externalPort 8005-8005 on \"out0\" overlaps "
		   "the port map at t.conf:3"));
	assert_load_fails(
	    "natConfigs = (\n"
	    "{ name = \"a\"; interfaces = { source = \"in0\"; destination = \"out0\"; };\n"
	    "  sourceCIDRs = ( \"10.0.0.0/8\" ); },\n"
	    "{ name = \"a\"; interfaces = { source = \"in0\"; destination = \"out0\"; };\n"
	    "  sourceCIDRs = ( \"10.1.0.0/16\" ); }\n"
	    ");\n",
	    ERRORS("t.conf:4: natConfigs \"a\" is already defined at t.conf:2",
		   "t.conf:4: natConfigs \"a\" and \"a\" (t.conf:2) both translate 10.1.0.0/16 "
		   "from in0 to out0: give them sourceCIDRs that do not overlap"));
	assert_load_fails(
	    "natConfigs = (\n"
	    "{ name = \"a\"; interfaces = { source = \"in0\"; destination = \"out0\"; };\n"
	    "  portMappings = ( { protocol = \"tcp\"; internalIP = \"10.0.0.1\"; internalPort = "
	    "80; externalPort = 80; },\n"
	    "                   { protocol = \"tcp\"; internalIP = \"10.0.0.1\"; internalPort = "
	    "80; externalPort = 81; } ); }\n"
	    ");\n",
	    ERRORS("t.conf:4: natConfigs \"a\": internal port 80-80 is already published by the "
		   "port map at t.conf:3"));
	/* the same internal end published on two external interfaces */
	assert_load_fails(
	    "natConfigs = (\n"
	    "{ name = \"wan1\"; interfaces = { source = \"in0\"; destination = \"out0\"; };\n"
	    "  portMappings = ( { protocol = \"tcp\"; internalIP = \"10.0.0.1\"; internalPort = "
	    "80; externalPort = 80; } ); },\n"
	    "{ name = \"wan2\"; interfaces = { source = \"in0\"; destination = \"out1\"; };\n"
	    "  portMappings = ( { protocol = \"tcp\"; internalIP = \"10.0.0.1\"; internalPort = "
	    "80; externalPort = 8080; } ); }\n"
	    ");\n",
	    ERRORS("t.conf:5: natConfigs \"wan2\": internal port 80-80 is already published on "
		   "\"out0\" by the port map at t.conf:3: an internal end is published on one "
		   "external interface"));
}
END_TEST

/* NAT runs first on ingress and last on egress of its interfaces: a TC
 * program there may not take those priorities. */
START_TEST(test_refusal_tc_priority)
{
	assert_load_fails(
	    "programs = ( { name = \"fw\"; type = \"tc-egress\"; interface = \"out0\"; "
	    "priority = 65535; } );\n" NAT(""),
	    ERRORS("t.conf:1: program \"fw\": TC priority 65535 on out0 is NAT's (natConfigs "
		   "\"n\" at t.conf:2 translates there first on ingress and last on egress): "
		   "give the program another"));
	fos_config_free(load_ok("programs = ( { name = \"fw\"; type = \"tc-ingress\"; interface "
				"= \"in0\"; priority = 65535; } );\n" NAT("")));
}
END_TEST

/* Two configs on one external interface: fine apart, by source interface or
 * by sourceCIDRs. */
START_TEST(test_two_configs_ok)
{
	_cleanup_(fos_config_freep) struct fos_config *c = load_ok(
	    "natConfigs = (\n"
	    "{ name = \"a\"; interfaces = { source = \"in0\"; destination = \"out0\"; };\n"
	    "  sourceCIDRs = ( \"10.0.0.0/16\" ); },\n"
	    "{ name = \"b\"; interfaces = { source = \"in0\"; destination = \"out0\"; };\n"
	    "  sourceCIDRs = ( \"10.1.0.0/16\" ); },\n"
	    "{ name = \"c\"; interfaces = { source = \"in1\"; destination = \"out0\"; }; }\n"
	    ");\n");

	ck_assert_uint_eq(c->n_nats, 3);
	ck_assert_str_eq(fos_nat_families_to_string(c->nats[2].families), "ipv4");
}
END_TEST

static Suite *nat_suite(void)
{
	Suite *s = suite_create("conf_nat");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_seed_advanced_nat);
	tcase_add_test(tc, test_seed_ebpf_nat);
	tcase_add_test(tc, test_lab_example);
	tcase_add_test(tc, test_static_range_and_extensions);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_refusals_across);
	tcase_add_test(tc, test_refusal_tc_priority);
	tcase_add_test(tc, test_two_configs_ok);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(nat_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
