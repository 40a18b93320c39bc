/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The config model: what fwd.conf (and fwd.d/\*.conf) say, parsed and
 * validated into one immutable, complete struct. Lists mirror the CRD kinds:
 * programs[] is EBPFProgram (metadata.name -> name, spec.* -> the fields).
 *
 * Nothing here touches the kernel except optional interface lookups done by
 * the caller (see fos_config_check_interfaces()).
 */
#ifndef FOS_CONFIG_H
#define FOS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fos/abi.h"
#include "parse.h"

#define FOS_NAME_MAX   64 /* names: [A-Za-z0-9._-], 1-63 chars */
#define FOS_IFNAME_MAX 16

#define FOS_DEFAULT_CONFIG  "/etc/fos/fwd.conf"
#define FOS_DEFAULT_SOCKET  "/run/fos/fwd.sock"
#define FOS_DEFAULT_PIN_DIR "/sys/fs/bpf/fos"

/* Where a value came from, for messages: "file:line". */
struct fos_source {
	char *file;
	int line;
};

struct fos_ipset {
	char name[FOS_NAME_MAX];
	struct fos_source src;
	struct fos_cidr *entries; /* from entries[] and file, deduplicated, in order */
	size_t n_entries;
	char *file; /* NULL if none */
};

enum fos_prog_type {
	FOS_PROG_XDP = 0,
	FOS_PROG_TC_INGRESS,
	FOS_PROG_TC_EGRESS,
	_FOS_PROG_TYPE_MAX,
};
const char *fos_prog_type_to_string(enum fos_prog_type t);

enum fos_cfg_action {
	FOS_CFG_PASS = 0,
	FOS_CFG_DROP,
	FOS_CFG_REDIRECT,
	_FOS_CFG_ACTION_MAX,
};
const char *fos_cfg_action_to_string(enum fos_cfg_action a);

struct fos_port_span {
	uint16_t lo, hi;
};

#define FOS_MAX_PORT_SPANS 16

struct fos_match {
	uint8_t protocol;     /* 0 = any */
	struct fos_cidr *src; /* srcCIDR: NULL/0 = any */
	size_t n_src;
	struct fos_cidr *dst;
	size_t n_dst;
	struct fos_port_span sport[FOS_MAX_PORT_SPANS]; /* srcPort + srcPorts */
	size_t n_sport;
	struct fos_port_span dport[FOS_MAX_PORT_SPANS];
	size_t n_dport;
	uint8_t state; /* state: bit 1 << enum fos_ct_class per listed state; 0 = any */
};

struct fos_rule_cfg {
	struct fos_source src;
	struct fos_match match;
	enum fos_cfg_action action;
	char interface[FOS_IFNAME_MAX]; /* for redirect */
};

struct fos_list_ref {
	bool enabled;
	char set[FOS_NAME_MAX]; /* ipSetRef; "" if none */
	struct fos_source src;
};

/* A rate limit: packets (or connections) per second, with a burst of that
 * many at once; rate 0 = no limit. */
struct fos_rate_cfg {
	uint32_t rate;
	uint32_t burst; /* >= 1; defaults to rate */
};

#define FOS_DDOS_DEFAULT_V6_PLEN      64
#define FOS_DDOS_DEFAULT_SYN_HOLD     10U  /* seconds */
#define FOS_DDOS_DEFAULT_AUTH_TIMEOUT 300U /* seconds */
/* What an enabled protection that sets no limit of its own (`= true`, or
 * `{ enabled = true; }`) limits, chosen for a small router (conf/fwd.conf
 * says why): rates per second, bursts twice the rate unless equal. */
#define FOS_DDOS_DEFAULT_PPS	       200000U /* rateLimiting.packetsPerSecond */
#define FOS_DDOS_DEFAULT_CPS	       1000U   /* rateLimiting.connectionsPerSecond */
#define FOS_DDOS_DEFAULT_SYN_THRESHOLD 1000U   /* synFloodProtection.threshold */
#define FOS_DDOS_DEFAULT_ICMP_PER_SRC  100U    /* icmpFloodProtection.perSource */
#define FOS_DDOS_DEFAULT_ICMP_TOTAL    10000U  /* icmpFloodProtection.total */
#define FOS_DDOS_DEFAULT_UDP_PER_SRC   100000U /* udpFloodProtection.perSource */
#define FOS_DDOS_DEFAULT_UDP_TOTAL     500000U /* udpFloodProtection.total */

/* settings.rateLimiting, synFloodProtection, icmpFloodProtection and
 * udpFloodProtection of an XDP program (EBPFProgram spec.settings) */
struct fos_ddos_settings {
	/* rateLimiting */
	bool rate_enabled;
	struct fos_source rate_src;
	struct fos_rate_cfg pps; /* packetsPerSecond, burst */
	struct fos_rate_cfg cps; /* connectionsPerSecond, connectionsBurst */
	uint32_t conns_per_ip;	 /* connectionsPerIP; 0 = none */
	uint8_t v6_plen;	 /* ipv6PrefixLength, 1-128 */
	uint32_t rate_block;	 /* blockDuration, seconds; 0 = no block */
	/* synFloodProtection */
	bool syn_enabled;
	struct fos_source syn_src;
	bool syn_always;	   /* always = true: cookies for every SYN */
	uint32_t syn_threshold;	   /* SYNs per second to one destination */
	uint32_t syn_hold;	   /* holdTime, seconds */
	uint32_t syn_auth_timeout; /* authTimeout, seconds */
	/* icmpFloodProtection */
	bool icmp_enabled;
	struct fos_source icmp_src;
	struct fos_rate_cfg icmp_per_src; /* perSource, perSourceBurst */
	struct fos_rate_cfg icmp_total;	  /* total, totalBurst */
	uint32_t icmp_block;		  /* blockDuration */
	/* udpFloodProtection */
	bool udp_enabled;
	struct fos_source udp_src;
	struct fos_rate_cfg udp_per_src;
	struct fos_rate_cfg udp_total;
	uint32_t udp_block;
};

struct fos_program {
	char name[FOS_NAME_MAX];
	struct fos_source src;
	char *description;
	enum fos_prog_type type;
	char interface[FOS_IFNAME_MAX];
	int priority;
	bool stateful; /* settings.stateful */
	/* stateful left out, turned on by rateLimiting.connectionsPerIP */
	bool stateful_implied;
	/* fwd's own program, not the config's: the connection tracker an XDP
	 * program's connectionsPerIP needs on an interface without a stateful
	 * TC program (runs fos_tc_track on both directions, no rules) */
	bool track_only;
	struct fos_list_ref blacklist;
	struct fos_list_ref whitelist;
	struct fos_ddos_settings ddos; /* xdp only */
	enum fos_cfg_action default_action;
	char default_interface[FOS_IFNAME_MAX]; /* for a redirect default */
	struct fos_rule_cfg *rules;
	size_t n_rules;
};

/* daemon.tcAttach: how fwd puts programs on TC hooks */
enum fos_tc_mode {
	FOS_TC_MODE_AUTO = 0, /* tcx where the kernel has it, else clsact */
	FOS_TC_MODE_TCX,
	FOS_TC_MODE_CLSACT,
};
const char *fos_tc_mode_to_string(enum fos_tc_mode m);

struct fos_daemon_cfg {
	char socket[108];
	char pin_dir[200]; /* room below it for progs/<name>/<map> */
	char log_level[16];
	uint8_t tc_mode; /* enum fos_tc_mode */
};

/* the conntrack group: the connection table's size and timeouts (seconds) */
#define FOS_CT_DEFAULT_TCP_TIMEOUT     432000U
#define FOS_CT_DEFAULT_TCP_SYN_TIMEOUT 120U
#define FOS_CT_DEFAULT_TCP_FIN_TIMEOUT 120U
#define FOS_CT_DEFAULT_UDP_TIMEOUT     120U
#define FOS_CT_DEFAULT_ICMP_TIMEOUT    30U
#define FOS_CT_MAX_CONNECTIONS	       (64U * 1024 * 1024)

struct fos_conntrack_cfg {
	struct fos_source src; /* the group, or the main file if absent */
	uint32_t max_connections;
	uint32_t tcp_timeout;
	uint32_t tcp_syn_timeout;
	uint32_t tcp_fin_timeout;
	uint32_t udp_timeout;
	uint32_t icmp_timeout;
	uint8_t invalid; /* enum fos_ct_invalid */
};
const char *fos_ct_invalid_to_string(uint8_t v);
const char *fos_ct_class_to_string(unsigned c); /* "new", "established", ... */

/* natConfigs (the NATConfig resource); timeouts in seconds */
#define FOS_NAT_DEFAULT_TCP_TIMEOUT 7440U /* RFC 5382: at least 2 h 4 min */
#define FOS_NAT_TCP_TRANSITORY	    240U  /* RFC 5382: at least 4 min */
#define FOS_NAT_DEFAULT_UDP_TIMEOUT 300U  /* RFC 4787: at least 2 min, 5 recommended */
#define FOS_NAT_ICMP_TIMEOUT	    60U	  /* RFC 5508: at least 60 s */
#define FOS_NAT_DEFAULT_MAPPINGS    65536U
#define FOS_NAT_MAX_MAPPINGS	    (16U << 20)
/* the TC priorities of NAT on its interfaces: first on ingress (DNAT before
 * the firewall), last on egress (SNAT after it); TC programs there use the
 * others, and fwd's own trackers never take them */
#define FOS_TC_PRIORITY_NAT_IN	1
#define FOS_TC_PRIORITY_NAT_OUT 65535

enum fos_nat_type {
	FOS_NAT_MASQUERADE = 0, /* the external interface's own address, as it changes */
	FOS_NAT_STATIC,		/* externalIP */
	_FOS_NAT_TYPE_MAX,
};

enum fos_nat_family {
	FOS_NAT_FAM_V4 = 1U << 0,
	FOS_NAT_FAM_V6 = 1U << 1,
};

/* portMappings[]: externalPort on the external address -> internalIP:internalPort;
 * a range of external ports maps onto as many internal ports */
struct fos_nat_portmap {
	struct fos_source src;
	uint8_t protocol; /* IPPROTO_TCP or IPPROTO_UDP */
	struct fos_addr internal_ip;
	int family; /* of internal_ip: AF_INET or AF_INET6 */
	uint16_t int_lo, int_hi;
	uint16_t ext_lo, ext_hi;
};

struct fos_nat_cfg {
	char name[FOS_NAME_MAX];
	struct fos_source src;
	char *description;
	char source_if[FOS_IFNAME_MAX]; /* interfaces.source: the inside */
	char dest_if[FOS_IFNAME_MAX];	/* interfaces.destination: the outside */
	enum fos_nat_type type;
	unsigned families; /* ipVersion: enum fos_nat_family bits */
	struct fos_nat_portmap *maps;
	size_t n_maps;
	struct fos_cidr *sources; /* sourceCIDRs; none: everything from source_if */
	size_t n_sources;
	struct fos_cidr *excludes; /* excludeCIDRs */
	size_t n_excludes;
	/* connectionTracking */
	uint32_t tcp_timeout, udp_timeout, max_connections;
	bool hairpinning;
	bool endpoint_independent;
	/* externalIP (type static): one address per family */
	bool has_ext4, has_ext6;
	struct fos_addr ext4, ext6;
	/* portRange: the external ports of new mappings; without it a free
	 * internal port is kept, others come from 1024-65535 */
	bool has_range;
	uint16_t port_lo, port_hi;
};
const char *fos_nat_type_to_string(enum fos_nat_type t);
const char *fos_nat_families_to_string(unsigned families); /* "ipv4", "ipv6", "both" */

/* Errors found while loading: each "file:line: path: what is wrong". */
struct fos_errors {
	char **msgs;
	size_t n;
};

struct fos_config {
	char *path; /* main file */
	struct fos_daemon_cfg daemon;
	struct fos_conntrack_cfg conntrack;
	struct fos_ipset *sets;
	size_t n_sets;
	struct fos_program *programs;
	size_t n_programs;
	struct fos_nat_cfg *nats; /* natConfigs */
	size_t n_nats;
	/* what the loader decided that the config does not say in so many
	 * words ("file:line: ..."), for fwd to log at info level */
	struct fos_errors notes;
};

void fos_errors_add(struct fos_errors *e, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void fos_errors_clear(struct fos_errors *e);

/*
 * Load path, then every "*.conf" in "<dirname(path)>/fwd.d/" in name order.
 * Collects every error it finds (not just the first) into errs. Returns 0 and
 * sets *ret on success; -EINVAL if errs holds errors; another -errno if a
 * file cannot be read (also recorded in errs).
 */
int fos_config_load(const char *path, struct fos_config **ret, struct fos_errors *errs);
/* Same, from a string (for tests); name is used in messages. */
int fos_config_load_string(const char *name, const char *text, struct fos_config **ret,
			   struct fos_errors *errs);
void fos_config_free(struct fos_config *c);
static inline void fos_config_freep(struct fos_config **c)
{
	fos_config_free(*c);
	*c = NULL;
}

const struct fos_ipset *fos_config_find_set(const struct fos_config *c, const char *name);
const struct fos_program *fos_config_find_program(const struct fos_config *c, const char *name);
/* Is any program of c stateful (so the connection table is needed)? c may be NULL. */
bool fos_config_any_stateful(const struct fos_config *c);

/* Has p any of the DDoS protections enabled? */
bool fos_program_has_ddos(const struct fos_program *p);

/* Interfaces must exist: calls resolve(name) (if_nametoindex by default)
 * for every interface a program names; records errors. Returns 0 or -EINVAL. */
int fos_config_check_interfaces(const struct fos_config *c, unsigned (*resolve)(const char *),
				struct fos_errors *errs);

/* Read a set file: one CIDR per line, '#' comments, blank lines ignored.
 * Errors name file:line. Appends to *entries. */
int fos_ipset_read_file(const char *path, struct fos_cidr **entries, size_t *n,
			struct fos_errors *errs);

#endif
