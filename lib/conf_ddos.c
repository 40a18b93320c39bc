// SPDX-License-Identifier: GPL-2.0-only
/*
 * The config section of the DDoS protections of an xdp program's settings
 * (rateLimiting, synFloodProtection, icmpFloodProtection,
 * udpFloodProtection) and the connection tracker connectionsPerIP needs.
 */
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fos/abi.h>

#include "cleanup.h"
#include "config.h"
#include "config_reader.h"
#include "log.h"

static const char *const rate_limiting_keys[] = {
    "enabled",
    "packetsPerSecond",
    "burst",
    "connectionsPerSecond",
    "connectionsBurst",
    "connectionsPerIP",
    "ipv6PrefixLength",
    "blockDuration",
    NULL,
};

static const char *const syn_flood_keys[] = {
    "enabled", "threshold", "always", "holdTime", "authTimeout", NULL,
};

static const char *const flood_keys[] = {
    "enabled", "perSource", "perSourceBurst", "total", "totalBurst", "blockDuration", NULL,
};

bool fos_program_has_ddos(const struct fos_program *p)
{
	if (!p)
		return false;
	return p->ddos.rate_enabled || p->ddos.syn_enabled || p->ddos.icmp_enabled ||
	       p->ddos.udp_enabled;
}

/* ---- DDoS protections ---------------------------------------------------- */
/* A rate, burst, threshold or connection count of a DDoS group. */
static bool _fos_ddos_count(struct fos_loader *ld, const config_setting_t *s, uint32_t *ret)
{
	long long v;

	if (!_fos_is_int(s)) {
		_fos_err(ld, s, "must be 1-%lld, not %s", FOS_DDOS_COUNT_MAX, _fos_kind(s));
		return false;
	}
	v = config_setting_get_int64(s);
	if (v < 1 || v > FOS_DDOS_COUNT_MAX) {
		_fos_err(ld, s, "must be 1-%lld, not %lld", FOS_DDOS_COUNT_MAX, v);
		return false;
	}
	*ret = (uint32_t)v;
	return true;
}

/* The rate rate_key of group g with its burst burst_key, which defaults to
 * the rate and is only allowed with it. Returns whether the rate is given. */
static bool _fos_ddos_rate(struct fos_loader *ld, const config_setting_t *g, const char *rate_key,
			   const char *burst_key, struct fos_rate_cfg *ret)
{
	const config_setting_t *rate_s = config_setting_get_member(g, rate_key);
	const config_setting_t *burst_s = config_setting_get_member(g, burst_key);
	struct fos_rate_cfg rate = {};
	bool ok = true;

	if (rate_s)
		ok = _fos_ddos_count(ld, rate_s, &rate.rate);
	if (burst_s) {
		if (!_fos_ddos_count(ld, burst_s, &rate.burst))
			ok = false;
		else if (!rate_s) {
			_fos_err_at(ld, g, burst_s, "%s needs %s", burst_key, rate_key);
			ok = false;
		}
	}
	if (ok && rate_s) {
		if (!burst_s)
			rate.burst = rate.rate;
		*ret = rate;
	}
	return rate_s != NULL;
}

/* blockDuration: the source goes into the blacklist set, so there must be one. */
static void _fos_ddos_block(struct fos_loader *ld, const config_setting_t *g,
			    const struct fos_settings_ctx *ctx, uint32_t *ret)
{
	const config_setting_t *s = config_setting_get_member(g, "blockDuration");

	if (!s || !_fos_seconds(ld, s, ret))
		return;
	if (ctx->blacklist_known && !ctx->blacklist_ok)
		_fos_err_at(ld, g, s,
			    "blockDuration needs settings.blacklist enabled with an ipSetRef");
}

/*
 * What every DDoS group starts with: it is a group, of an xdp program, with
 * known keys and an enabled setting, or a boolean, short for a group with
 * only enabled (synFloodProtection = true, as the EBPFProgram CRD writes it).
 * Records where it is in *src. Returns 1 if the rest of the group is to be
 * read, 2 for the boolean form (nothing more to read), 0 if neither, or
 * -errno; *ret_enabled is set if enabled is given and valid, and
 * *ret_enabled_known says so.
 */
static int _fos_ddos_group(struct fos_loader *ld, const config_setting_t *g,
			   const struct fos_settings_ctx *ctx, const char *const *keys,
			   struct fos_source *src, bool *ret_enabled, bool *ret_enabled_known)
{
	const config_setting_t *s;
	int r;

	*ret_enabled_known = false;
	if (_fos_prog_is_tc(ctx->p->type)) {
		_fos_err(ld, g, "only xdp programs have DDoS protection");
		return 0;
	}
	if (config_setting_type(g) == CONFIG_TYPE_BOOL) {
		r = _fos_source_set(ld, g, src);
		if (r < 0)
			return r;
		*ret_enabled = config_setting_get_bool(g);
		*ret_enabled_known = true;
		return 2;
	}
	if (!config_setting_is_group(g)) {
		_fos_err(ld, g, "expected true, false or a group, got %s", _fos_kind(g));
		return 0;
	}
	r = _fos_source_set(ld, g, src);
	if (r < 0)
		return r;
	_fos_check_keys(ld, g, keys);

	s = config_setting_get_member(g, "enabled");
	if (!s)
		_fos_err(ld, g, "enabled is required: true turns the protection on");
	else
		*ret_enabled_known = _fos_bool(ld, s, ret_enabled);
	return 1;
}

static int _fos_parse_rate_limiting(struct fos_loader *ld, const config_setting_t *g,
				    const struct fos_settings_ctx *ctx, struct fos_ddos_settings *d)
{
	const config_setting_t *cpi_s, *s;
	bool enabled_known, pps, cps;
	long long v;
	int r;

	r = _fos_ddos_group(ld, g, ctx, rate_limiting_keys, &d->rate_src, &d->rate_enabled,
			    &enabled_known);
	if (r <= 0)
		return r;
	if (r == 2)
		goto defaults;

	pps = _fos_ddos_rate(ld, g, "packetsPerSecond", "burst", &d->pps);
	cps = _fos_ddos_rate(ld, g, "connectionsPerSecond", "connectionsBurst", &d->cps);

	cpi_s = config_setting_get_member(g, "connectionsPerIP");
	if (cpi_s) {
		_fos_ddos_count(ld, cpi_s, &d->conns_per_ip);
		/* the connection table counts them: a stateful program reads it */
		if (ctx->stateful_given && ctx->stateful_known && !ctx->p->stateful)
			_fos_err_at(ld, g, cpi_s,
				    "connectionsPerIP counts each source's connections in the "
				    "connection table, which settings.stateful = false turns off: "
				    "leave stateful out (connectionsPerIP turns it on) or set it "
				    "to true");
	}

	s = config_setting_get_member(g, "ipv6PrefixLength");
	if (s && _fos_int(ld, s, 1, 128, &v))
		d->v6_plen = (uint8_t)v;

	_fos_ddos_block(ld, g, ctx, &d->rate_block);

	if (pps || cps || cpi_s)
		return 0;
defaults:
	/* enabled with no limit of its own */
	d->pps = (struct fos_rate_cfg){FOS_DDOS_DEFAULT_PPS, 2 * FOS_DDOS_DEFAULT_PPS};
	d->cps = (struct fos_rate_cfg){FOS_DDOS_DEFAULT_CPS, 2 * FOS_DDOS_DEFAULT_CPS};
	return 0;
}

static int _fos_parse_syn_flood(struct fos_loader *ld, const config_setting_t *g,
				const struct fos_settings_ctx *ctx, struct fos_ddos_settings *d)
{
	const config_setting_t *threshold_s, *always_s, *s;
	bool enabled_known, always_known = true;
	int r;

	r = _fos_ddos_group(ld, g, ctx, syn_flood_keys, &d->syn_src, &d->syn_enabled,
			    &enabled_known);
	if (r <= 0)
		return r;
	if (r == 2) {
		d->syn_threshold = FOS_DDOS_DEFAULT_SYN_THRESHOLD;
		return 0;
	}

	always_s = config_setting_get_member(g, "always");
	if (always_s)
		always_known = _fos_bool(ld, always_s, &d->syn_always);
	threshold_s = config_setting_get_member(g, "threshold");
	if (threshold_s)
		_fos_ddos_count(ld, threshold_s, &d->syn_threshold);
	if (always_known && d->syn_always && threshold_s)
		_fos_err_at(ld, g, threshold_s, "threshold is not allowed with always = true");
	else if (!threshold_s && !(always_known && d->syn_always))
		d->syn_threshold = FOS_DDOS_DEFAULT_SYN_THRESHOLD;

	s = config_setting_get_member(g, "holdTime");
	if (s)
		_fos_seconds(ld, s, &d->syn_hold);
	s = config_setting_get_member(g, "authTimeout");
	if (s)
		_fos_seconds(ld, s, &d->syn_auth_timeout);
	return 0;
}

/* icmpFloodProtection and udpFloodProtection: the same keys for their
 * protocol. */
static int _fos_parse_flood(struct fos_loader *ld, const config_setting_t *g,
			    const struct fos_settings_ctx *ctx, struct fos_source *src,
			    bool *enabled, struct fos_rate_cfg *per_src, struct fos_rate_cfg *total,
			    uint32_t *block, uint32_t default_per_src, uint32_t default_total)
{
	bool enabled_known;
	int r;

	r = _fos_ddos_group(ld, g, ctx, flood_keys, src, enabled, &enabled_known);
	if (r <= 0)
		return r;
	if (r == 1) {
		bool has_per_src = _fos_ddos_rate(ld, g, "perSource", "perSourceBurst", per_src);
		bool has_total = _fos_ddos_rate(ld, g, "total", "totalBurst", total);

		_fos_ddos_block(ld, g, ctx, block);
		if (has_per_src || has_total)
			return 0;
	}
	/* enabled with no limit of its own */
	*per_src = (struct fos_rate_cfg){default_per_src, 2 * default_per_src};
	*total = (struct fos_rate_cfg){default_total, default_total};
	return 0;
}

/* The four DDoS groups of settings g; ctx says what they depend on. */
static int _fos_parse_ddos(struct fos_loader *ld, const config_setting_t *g,
			   const struct fos_settings_ctx *ctx, struct fos_ddos_settings *d)
{
	const config_setting_t *s;
	int r;

	s = config_setting_get_member(g, "rateLimiting");
	if (s) {
		r = _fos_parse_rate_limiting(ld, s, ctx, d);
		if (r < 0)
			return r;
	}
	s = config_setting_get_member(g, "synFloodProtection");
	if (s) {
		r = _fos_parse_syn_flood(ld, s, ctx, d);
		if (r < 0)
			return r;
	}
	s = config_setting_get_member(g, "icmpFloodProtection");
	if (s) {
		r = _fos_parse_flood(ld, s, ctx, &d->icmp_src, &d->icmp_enabled, &d->icmp_per_src,
				     &d->icmp_total, &d->icmp_block, FOS_DDOS_DEFAULT_ICMP_PER_SRC,
				     FOS_DDOS_DEFAULT_ICMP_TOTAL);
		if (r < 0)
			return r;
	}
	s = config_setting_get_member(g, "udpFloodProtection");
	if (s) {
		r = _fos_parse_flood(ld, s, ctx, &d->udp_src, &d->udp_enabled, &d->udp_per_src,
				     &d->udp_total, &d->udp_block, FOS_DDOS_DEFAULT_UDP_PER_SRC,
				     FOS_DDOS_DEFAULT_UDP_TOTAL);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool _fos_tc_priority_used(const struct fos_config *c, const char *ifname, int prio)
{
	for (size_t i = 0; i < c->n_programs; i++)
		if (_fos_prog_is_tc(c->programs[i].type) && c->programs[i].priority == prio &&
		    strcmp(c->programs[i].interface, ifname) == 0)
			return true;
	return false;
}

/*
 * rateLimiting.connectionsPerIP counts the connections each source has open
 * in the connection table, which stateful TC programs fill. On an interface
 * without one, fwd adds its own: "conntrack-<interface>", a tc-ingress
 * program that only tracks (fos_tc_track there and, as for every stateful
 * TC program, on egress), at the highest TC priority the interface's
 * programs leave free below NAT's, so it sees what they pass.
 */
static int _fos_add_conn_trackers(struct fos_loader *ld)
{
	struct fos_config *c = ld->cfg;
	size_t n = c->n_programs;

	for (size_t i = 0; i < n; i++) {
		const struct fos_program *x = &c->programs[i];
		struct fos_program t = {.type = FOS_PROG_TC_INGRESS,
					.stateful = true,
					.track_only = true,
					.default_action = FOS_CFG_PASS};
		struct fos_program *v;
		int prio;

		if (x->type != FOS_PROG_XDP || !x->ddos.rate_enabled || !x->ddos.conns_per_ip)
			continue;
		if (x->stateful_implied) {
			fos_errors_add(
			    &c->notes, x->ddos.rate_src.file, x->ddos.rate_src.line,
			    "program \"%s\": rateLimiting.connectionsPerIP turns on "
			    "connection tracking (settings.stateful = true): established "
			    "and related packets pass without its rules",
			    x->name);
		}
		if (_fos_tc_stateful_on(c, x->interface, FOS_PROG_TC_INGRESS) ||
		    _fos_tc_stateful_on(c, x->interface, FOS_PROG_TC_EGRESS))
			continue; /* a stateful TC program (the tracker itself, too) */
		snprintf(t.name, sizeof(t.name), "conntrack-%s", x->interface);
		if (fos_config_find_program(c, t.name)) {
			ld->n_failed++;
			fos_errors_add(ld->errs, x->ddos.rate_src.file, x->ddos.rate_src.line,
				       "programs \"%s\": rateLimiting.connectionsPerIP needs "
				       "connection tracking on %s, and the program fwd adds for it "
				       "is named \"%s\", which is taken",
				       x->name, x->interface, t.name);
			continue;
		}
		for (prio = FOS_TC_PRIORITY_NAT_OUT - 1; prio > FOS_TC_PRIORITY_NAT_IN; prio--)
			if (!_fos_tc_priority_used(c, x->interface, prio))
				break;
		t.priority = prio;
		snprintf(t.interface, sizeof(t.interface), "%s", x->interface);
		t.src.file = strdup(x->ddos.rate_src.file ? x->ddos.rate_src.file : c->path);
		if (asprintf(&t.description,
			     "connection tracking on %s for the connectionsPerIP of \"%s\"",
			     x->interface, x->name) < 0)
			t.description = NULL;
		if (!t.src.file || !t.description) {
			_fos_program_done(&t);
			return -ENOMEM;
		}
		t.src.line = x->ddos.rate_src.line;
		v = realloc(c->programs, (c->n_programs + 1) * sizeof(*v));
		if (!v) {
			_fos_program_done(&t);
			return -ENOMEM;
		}
		c->programs = v;
		c->programs[c->n_programs++] = t;
		x = &c->programs[i];
		fos_errors_add(&c->notes, x->ddos.rate_src.file, x->ddos.rate_src.line,
			       "program \"%s\": connectionsPerIP: tracking the connections of %s "
			       "with program \"%s\" (tc-ingress and tc-egress, priority %d)",
			       x->name, x->interface, t.name, t.priority);
	}
	return 0;
}

/* The groups of settings g; rateLimiting.connectionsPerIP with stateful left
 * out turns stateful on. */
static int _fos_ddos_settings_parse(struct fos_loader *ld, const config_setting_t *g,
				    const struct fos_settings_ctx *ctx)
{
	struct fos_program *p = ctx->p;
	int r;

	r = _fos_parse_ddos(ld, g, ctx, &p->ddos);
	if (r < 0)
		return r;
	if (!ctx->stateful_given && p->ddos.rate_enabled && p->ddos.conns_per_ip) {
		p->stateful = true;
		p->stateful_implied = true;
	}
	return 0;
}

static const char *const ddos_settings_keys[] = {
    "rateLimiting", "synFloodProtection", "icmpFloodProtection", "udpFloodProtection", NULL,
};

const struct fos_conf_settings_ext fos_conf_ddos_settings = {
    .keys = ddos_settings_keys,
    .parse = _fos_ddos_settings_parse,
};

/* once the programs are checked: the trackers connectionsPerIP needs, on a
 * config without errors only (they would only add confusion) */
static int _fos_ddos_check(struct fos_loader *ld)
{
	return ld->n_failed == 0 ? _fos_add_conn_trackers(ld) : 0;
}

const struct fos_conf_section fos_conf_ddos = {
    .check = _fos_ddos_check,
};
