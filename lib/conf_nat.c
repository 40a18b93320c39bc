// SPDX-License-Identifier: GPL-2.0-only
/*
 * The config section natConfigs: NAT44/NAT66, one entry per NATConfig
 * resource, its fields key for key (doc/crd-mapping.md), plus externalIP
 * (the address of type static) and portRange (the external ports new
 * mappings take).
 *
 * What needs the kernel's view (the interfaces exist, a port map's external
 * interface has an address, an internalIP lies on a network of the router)
 * is checked by fwd when it applies the config (daemon/nat.c).
 */
#include <errno.h>
#include <libconfig.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <fos/nat.h>

#include "cleanup.h"
#include "config.h"
#include "config_reader.h"

static const char *const nat_keys[] = {
    "name",
    "description",
    "interfaces",
    "type",
    "ipVersion",
    "portMappings",
    "sourceCIDRs",
    "excludeCIDRs",
    "connectionTracking",
    "hairpinning",
    "endpointIndependent",
    "externalIP",
    "portRange",
    NULL,
};
static const char *const nat_if_keys[] = {"source", "destination", NULL};
static const char *const nat_ct_keys[] = {
    "enabled", "tcpTimeout", "udpTimeout", "maxConnections", NULL,
};
static const char *const nat_map_keys[] = {
    "protocol", "internalIP", "internalPort", "externalPort", NULL,
};
static const char *const nat_type_names[] = {
    [FOS_NAT_MASQUERADE] = "masquerade",
    [FOS_NAT_STATIC] = "static",
};
static const char *const nat_family_names[] = {"ipv4", "ipv6", "both"};
static const unsigned nat_family_bits[] = {
    FOS_NAT_FAM_V4,
    FOS_NAT_FAM_V6,
    FOS_NAT_FAM_V4 | FOS_NAT_FAM_V6,
};

const char *fos_nat_type_to_string(enum fos_nat_type t)
{
	return (unsigned)t < ARRAY_SIZE(nat_type_names) ? nat_type_names[t] : "?";
}

const char *fos_nat_families_to_string(unsigned families)
{
	for (size_t i = 0; i < ARRAY_SIZE(nat_family_bits); i++)
		if (nat_family_bits[i] == families)
			return nat_family_names[i];
	return "?";
}

static void _fos_nat_done_one(struct fos_nat_cfg *n)
{
	free(n->src.file);
	free(n->description);
	for (size_t i = 0; i < n->n_maps; i++)
		free(n->maps[i].src.file);
	free(n->maps);
	free(n->sources);
	free(n->excludes);
	*n = (struct fos_nat_cfg){};
}

static unsigned _fos_family_bit(int family)
{
	return family == AF_INET ? FOS_NAT_FAM_V4 : FOS_NAT_FAM_V6;
}

static const char *_fos_family_word(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

/* an int port, or a "lo-hi" string */
static bool _fos_nat_ports(struct fos_loader *ld, const config_setting_t *s, uint16_t *lo,
			   uint16_t *hi)
{
	char err[FOS_ERRBUF] = "";

	if (_fos_is_int(s)) {
		long long v;

		if (!_fos_int(ld, s, 1, 65535, &v))
			return false;
		*lo = *hi = (uint16_t)v;
		return true;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		_fos_err(ld, s, "expected a port number or a \"lo-hi\" range, got %s",
			 _fos_kind(s));
		return false;
	}
	if (fos_parse_port_range(config_setting_get_string(s), lo, hi, err) < 0) {
		_fos_err(ld, s, "%s", err[0] ? err : "not a port range");
		return false;
	}
	if (*lo == 0) {
		_fos_err(ld, s, "port 0 cannot be mapped");
		return false;
	}
	return true;
}

static bool _fos_nat_addr(struct fos_loader *ld, const config_setting_t *s, struct fos_addr *ret,
			  int *ret_family)
{
	const char *v = _fos_string(ld, s);
	char err[FOS_ERRBUF] = "";

	if (!v)
		return false;
	if (fos_parse_addr(v, ret, ret_family, err) < 0) {
		_fos_err(ld, s, "%s", err[0] ? err : "not an IP address");
		return false;
	}
	return true;
}

static int _fos_nat_parse_map(struct fos_loader *ld, const config_setting_t *g,
			      struct fos_nat_cfg *n)
{
	struct fos_nat_portmap pm = {};
	const config_setting_t *s;
	struct fos_nat_portmap *v;
	bool ok = true;
	int r;

	if (!_fos_want_group(ld, g))
		return 0;
	_fos_check_keys(ld, g, nat_map_keys);
	s = _fos_required(ld, g, "protocol");
	if (s) {
		const char *p = _fos_string(ld, s);

		if (p && strcmp(p, "tcp") == 0)
			pm.protocol = IPPROTO_TCP;
		else if (p && strcmp(p, "udp") == 0)
			pm.protocol = IPPROTO_UDP;
		else if (p)
			_fos_err(ld, s, "unknown protocol \"%s\" (valid: tcp, udp)", p);
		ok &= pm.protocol != 0;
	} else {
		ok = false;
	}
	s = _fos_required(ld, g, "internalIP");
	ok &= s && _fos_nat_addr(ld, s, &pm.internal_ip, &pm.family);
	s = _fos_required(ld, g, "internalPort");
	ok &= s && _fos_nat_ports(ld, s, &pm.int_lo, &pm.int_hi);
	s = _fos_required(ld, g, "externalPort");
	ok &= s && _fos_nat_ports(ld, s, &pm.ext_lo, &pm.ext_hi);
	if (ok && pm.int_hi - pm.int_lo != pm.ext_hi - pm.ext_lo) {
		_fos_err(ld, g,
			 "externalPort %u-%u and internalPort %u-%u are ranges of different "
			 "lengths: each external port needs its own internal port",
			 pm.ext_lo, pm.ext_hi, pm.int_lo, pm.int_hi);
		ok = false;
	}
	if (!ok)
		return 0;
	r = _fos_source_set(ld, g, &pm.src);
	if (r < 0)
		return r;
	v = reallocarray(n->maps, n->n_maps + 1, sizeof(*v));
	if (!v) {
		free(pm.src.file);
		return -ENOMEM;
	}
	n->maps = v;
	n->maps[n->n_maps++] = pm;
	return 0;
}

static void _fos_nat_parse_ct(struct fos_loader *ld, const config_setting_t *g,
			      struct fos_nat_cfg *n)
{
	const config_setting_t *s;
	long long v;
	bool on;

	if (!_fos_want_group(ld, g))
		return;
	_fos_check_keys(ld, g, nat_ct_keys);
	s = config_setting_get_member(g, "enabled");
	if (s && _fos_bool(ld, s, &on) && !on)
		_fos_err(ld, s,
			 "NAT keeps a mapping per flow and cannot work without connection "
			 "tracking; leave enabled out or set it to true");
	s = config_setting_get_member(g, "tcpTimeout");
	if (s && _fos_seconds(ld, s, &n->tcp_timeout) &&
	    n->tcp_timeout < FOS_NAT_DEFAULT_TCP_TIMEOUT)
		fos_errors_add(&ld->cfg->notes, _fos_setting_file(ld, s),
			       config_setting_source_line(s),
			       "natConfigs \"%s\": tcpTimeout %u s is below the 7440 s RFC 5382 "
			       "asks for established connections",
			       n->name, n->tcp_timeout);
	s = config_setting_get_member(g, "udpTimeout");
	if (s && _fos_seconds(ld, s, &n->udp_timeout) && n->udp_timeout < 120)
		fos_errors_add(&ld->cfg->notes, _fos_setting_file(ld, s),
			       config_setting_source_line(s),
			       "natConfigs \"%s\": udpTimeout %u s is below the 120 s RFC 4787 "
			       "asks for",
			       n->name, n->udp_timeout);
	s = config_setting_get_member(g, "maxConnections");
	if (s && _fos_int(ld, s, 1, FOS_NAT_MAX_MAPPINGS, &v))
		n->max_connections = (uint32_t)v;
}

/* sourceCIDRs / excludeCIDRs: a list of CIDRs (an empty one is none) */
static int _fos_nat_cidrs(struct fos_loader *ld, const config_setting_t *s, unsigned families,
			  bool families_known, struct fos_cidr **ret, size_t *ret_n)
{
	int r;

	if ((config_setting_is_list(s) || config_setting_is_array(s)) &&
	    config_setting_length(s) == 0)
		return 0;
	r = _fos_parse_cidrs(ld, s, ret, ret_n);
	if (r < 0 || !families_known)
		return r;
	for (size_t i = 0; i < *ret_n; i++) {
		char buf[FOS_CIDR_STRLEN];
		int fam = fos_cidr_is_v4(&(*ret)[i]) ? AF_INET : AF_INET6;

		if (!(families & _fos_family_bit(fam)))
			_fos_err(ld, s, "%s is %s, but ipVersion is \"%s\"",
				 fos_cidr_to_string(&(*ret)[i], buf, sizeof(buf)),
				 _fos_family_word(fam), fos_nat_families_to_string(families));
	}
	return 0;
}

/* does a contain b? (both canonical) */
static bool _fos_cidr_covers(const struct fos_cidr *a, const struct fos_cidr *b)
{
	unsigned pa = fos_cidr_plen128(a), pb = fos_cidr_plen128(b);

	if (pa > pb)
		return false;
	for (unsigned i = 0; i < pa; i++) {
		unsigned byte = i / 8, bit = 7 - i % 8;

		if (((a->addr.b[byte] >> bit) & 1) != ((b->addr.b[byte] >> bit) & 1))
			return false;
	}
	return true;
}

static int _fos_nat_parse(struct fos_loader *ld, const config_setting_t *g)
{
	_cleanup_(_fos_nat_done_one) struct fos_nat_cfg n = {
	    .type = FOS_NAT_MASQUERADE,
	    .families = FOS_NAT_FAM_V4,
	    .tcp_timeout = FOS_NAT_DEFAULT_TCP_TIMEOUT,
	    .udp_timeout = FOS_NAT_DEFAULT_UDP_TIMEOUT,
	    .max_connections = FOS_NAT_DEFAULT_MAPPINGS,
	    .hairpinning = true,
	    .endpoint_independent = true,
	};
	const config_setting_t *name_s, *s, *ifs;
	bool families_known = true;
	struct fos_nat_cfg *v;
	size_t i;
	int r;

	_fos_check_keys(ld, g, nat_keys);
	name_s = _fos_required(ld, g, "name");
	if (name_s)
		_fos_name(ld, name_s, n.name);
	r = _fos_source_set(ld, name_s ?: g, &n.src);
	if (r < 0)
		return r;

	s = config_setting_get_member(g, "description");
	if (s) {
		const char *d = _fos_string(ld, s);

		if (d && !(n.description = strdup(d)))
			return -ENOMEM;
	}

	ifs = _fos_required(ld, g, "interfaces");
	if (ifs && _fos_want_group(ld, ifs)) {
		_fos_check_keys(ld, ifs, nat_if_keys);
		s = _fos_required(ld, ifs, "source");
		if (s)
			_fos_ifname(ld, s, n.source_if);
		s = _fos_required(ld, ifs, "destination");
		if (s)
			_fos_ifname(ld, s, n.dest_if);
		if (n.source_if[0] && strcmp(n.source_if, n.dest_if) == 0)
			_fos_err(ld, ifs,
				 "source and destination are both \"%s\": NAT translates between "
				 "an inside and an outside interface",
				 n.source_if);
	}

	s = config_setting_get_member(g, "type");
	if (s && _fos_choice(ld, s, nat_type_names, ARRAY_SIZE(nat_type_names), "type", &i))
		n.type = (enum fos_nat_type)i;
	s = config_setting_get_member(g, "ipVersion");
	if (s) {
		families_known = _fos_choice(ld, s, nat_family_names, ARRAY_SIZE(nat_family_names),
					     "ipVersion", &i);
		if (families_known)
			n.families = nat_family_bits[i];
	}

	s = config_setting_get_member(g, "externalIP");
	if (s) {
		int len = config_setting_type(s) == CONFIG_TYPE_STRING ? 1 : -1;

		if (config_setting_is_list(s) || config_setting_is_array(s))
			len = config_setting_length(s);
		if (len < 0)
			_fos_err(ld, s, "expected an address or a list of addresses, got %s",
				 _fos_kind(s));
		if (n.type != FOS_NAT_STATIC)
			_fos_err(ld, s,
				 "type \"masquerade\" takes the external interface's address; "
				 "externalIP is for type \"static\"");
		for (int k = 0; k < len; k++) {
			const config_setting_t *e =
			    len == 1 && config_setting_type(s) == CONFIG_TYPE_STRING
				? s
				: config_setting_get_elem(s, (unsigned)k);
			struct fos_addr a;
			int fam;

			if (!_fos_nat_addr(ld, e, &a, &fam))
				continue;
			if (families_known && !(n.families & _fos_family_bit(fam))) {
				_fos_err(ld, e, "an %s address, but ipVersion is \"%s\"",
					 _fos_family_word(fam),
					 fos_nat_families_to_string(n.families));
			} else if (fam == AF_INET ? n.has_ext4 : n.has_ext6) {
				_fos_err(ld, e, "a second %s address: give one per family",
					 _fos_family_word(fam));
			} else if (fam == AF_INET) {
				n.has_ext4 = true;
				n.ext4 = a;
			} else {
				n.has_ext6 = true;
				n.ext6 = a;
			}
		}
	}
	if (n.type == FOS_NAT_STATIC && families_known &&
	    (((n.families & FOS_NAT_FAM_V4) && !n.has_ext4) ||
	     ((n.families & FOS_NAT_FAM_V6) && !n.has_ext6)))
		_fos_err(ld, s ?: g,
			 "type \"static\" needs externalIP: an address for each family of "
			 "ipVersion \"%s\"",
			 fos_nat_families_to_string(n.families));

	s = config_setting_get_member(g, "portRange");
	if (s) {
		if (_fos_nat_ports(ld, s, &n.port_lo, &n.port_hi))
			n.has_range = true;
	}

	s = config_setting_get_member(g, "portMappings");
	if (s && _fos_want_list(ld, s)) {
		int len = config_setting_length(s);

		for (int k = 0; k < len; k++) {
			r = _fos_nat_parse_map(ld, config_setting_get_elem(s, (unsigned)k), &n);
			if (r < 0)
				return r;
		}
		for (size_t k = 0; families_known && k < n.n_maps; k++)
			if (!(n.families & _fos_family_bit(n.maps[k].family)))
				_fos_err(ld, config_setting_get_elem(s, (unsigned)k),
					 "internalIP is an %s address, but ipVersion is \"%s\"",
					 _fos_family_word(n.maps[k].family),
					 fos_nat_families_to_string(n.families));
	}

	s = config_setting_get_member(g, "sourceCIDRs");
	if (s) {
		r = _fos_nat_cidrs(ld, s, n.families, families_known, &n.sources, &n.n_sources);
		if (r < 0)
			return r;
	}
	s = config_setting_get_member(g, "excludeCIDRs");
	if (s) {
		r = _fos_nat_cidrs(ld, s, n.families, families_known, &n.excludes, &n.n_excludes);
		if (r < 0)
			return r;
		for (size_t k = 0; n.n_sources && k < n.n_excludes; k++) {
			bool inside = false;
			char buf[FOS_CIDR_STRLEN];

			for (size_t j = 0; j < n.n_sources && !inside; j++)
				inside = _fos_cidr_covers(&n.sources[j], &n.excludes[k]);
			if (!inside)
				_fos_err(ld, s,
					 "%s lies outside every sourceCIDR: it excludes nothing",
					 fos_cidr_to_string(&n.excludes[k], buf, sizeof(buf)));
		}
	}

	s = config_setting_get_member(g, "connectionTracking");
	if (s)
		_fos_nat_parse_ct(ld, s, &n);
	s = config_setting_get_member(g, "hairpinning");
	if (s)
		_fos_bool(ld, s, &n.hairpinning);
	s = config_setting_get_member(g, "endpointIndependent");
	if (s)
		_fos_bool(ld, s, &n.endpoint_independent);

	v = reallocarray(ld->cfg->nats, ld->cfg->n_nats + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	ld->cfg->nats = v;
	ld->cfg->nats[ld->cfg->n_nats++] = n;
	n = (struct fos_nat_cfg){};
	return 0;
}

/* ---- checks across entries ------------------------------------------------ */
static bool _fos_cidrs_meet(const struct fos_cidr *a, size_t na, const struct fos_cidr *b,
			    size_t nb, unsigned fa, unsigned fb, struct fos_cidr *ret)
{
	static const struct fos_cidr any4 = {
	    .addr.b = {[10] = 0xff, [11] = 0xff}, .family = AF_INET, .plen = 0};
	static const struct fos_cidr any6 = {.family = AF_INET6, .plen = 0};
	struct fos_cidr da[2], db[2];
	size_t k;

	/* no sourceCIDRs: every address of the entry's families */
	if (na == 0) {
		k = 0;
		if (fa & FOS_NAT_FAM_V4)
			da[k++] = any4;
		if (fa & FOS_NAT_FAM_V6)
			da[k++] = any6;
		a = da;
		na = k;
	}
	if (nb == 0) {
		k = 0;
		if (fb & FOS_NAT_FAM_V4)
			db[k++] = any4;
		if (fb & FOS_NAT_FAM_V6)
			db[k++] = any6;
		b = db;
		nb = k;
	}
	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < nb; j++) {
			bool v4a = fos_cidr_is_v4(&a[i]), v4b = fos_cidr_is_v4(&b[j]);

			if (v4a != v4b)
				continue;
			if (_fos_cidr_covers(&a[i], &b[j]) || _fos_cidr_covers(&b[j], &a[i])) {
				*ret = fos_cidr_plen128(&a[i]) >= fos_cidr_plen128(&b[j]) ? a[i]
											  : b[j];
				return true;
			}
		}
	return false;
}

/* the external address family a port map is published on */
static bool _fos_maps_clash(const struct fos_nat_portmap *a, const struct fos_nat_portmap *b)
{
	return a->protocol == b->protocol && a->family == b->family && a->ext_lo <= b->ext_hi &&
	       b->ext_lo <= a->ext_hi;
}

static bool _fos_maps_same_inside(const struct fos_nat_portmap *a, const struct fos_nat_portmap *b)
{
	return a->protocol == b->protocol && a->family == b->family &&
	       memcmp(&a->internal_ip, &b->internal_ip, sizeof(a->internal_ip)) == 0 &&
	       a->int_lo <= b->int_hi && b->int_lo <= a->int_hi;
}

static void _fos_nat_err(struct fos_loader *ld, const struct fos_source *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void _fos_nat_err(struct fos_loader *ld, const struct fos_source *at, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fos_errors_add(ld->errs, at->file, at->line, "%s", msg);
	ld->n_failed++;
}

static int _fos_nat_check(struct fos_loader *ld)
{
	struct fos_config *c = ld->cfg;
	size_t prefixes = 0;

	if (c->n_nats >= FOS_NAT_RULES_MAX)
		_fos_nat_err(ld, &c->nats[FOS_NAT_RULES_MAX - 1].src,
			     "natConfigs: more than %u entries", FOS_NAT_RULES_MAX - 1);
	for (size_t i = 0; i < c->n_nats; i++) {
		struct fos_nat_cfg *a = &c->nats[i];

		for (size_t j = 0; j < c->n_programs; j++) {
			const struct fos_program *p = &c->programs[j];
			bool out = strcmp(p->interface, a->dest_if) == 0;

			if (p->type == FOS_PROG_XDP || p->track_only ||
			    (!out && strcmp(p->interface, a->source_if) != 0))
				continue;
			if (p->priority == FOS_TC_PRIORITY_NAT_IN ||
			    (out && p->priority == FOS_TC_PRIORITY_NAT_OUT))
				_fos_nat_err(
				    ld, &p->src,
				    "program \"%s\": TC priority %d on %s is NAT's "
				    "(natConfigs \"%s\" at %s:%d translates there first on "
				    "ingress and last on egress): give the program another",
				    p->name, p->priority, p->interface, a->name, a->src.file,
				    a->src.line);
		}
		prefixes += (a->n_sources ? a->n_sources : 2) + a->n_excludes;
		for (size_t j = 0; j < i; j++) {
			const struct fos_nat_cfg *b = &c->nats[j];
			struct fos_cidr both;
			char buf[FOS_CIDR_STRLEN];

			if (a->name[0] && strcmp(a->name, b->name) == 0)
				_fos_nat_err(ld, &a->src,
					     "natConfigs \"%s\" is already defined at %s:%d",
					     a->name, b->src.file, b->src.line);
			if (strcmp(a->dest_if, b->dest_if) != 0)
				continue;
			if (strcmp(a->source_if, b->source_if) == 0 &&
			    _fos_cidrs_meet(a->sources, a->n_sources, b->sources, b->n_sources,
					    a->families, b->families, &both))
				_fos_nat_err(ld, &a->src,
					     "natConfigs \"%s\" and \"%s\" (%s:%d) both translate "
					     "%s from %s to %s: give them sourceCIDRs that do not "
					     "overlap",
					     a->name, b->name, b->src.file, b->src.line,
					     fos_cidr_to_string(&both, buf, sizeof(buf)),
					     a->source_if, a->dest_if);
		}
		/* port maps: one external port of an interface maps to one place,
		 * and one internal end is published on one external interface */
		for (size_t k = 0; k < a->n_maps; k++) {
			const struct fos_nat_portmap *pa = &a->maps[k];

			for (size_t j = 0; j <= i; j++) {
				const struct fos_nat_cfg *b = &c->nats[j];
				size_t kmax = j == i ? k : b->n_maps;
				bool same_if = strcmp(a->dest_if, b->dest_if) == 0;

				for (size_t l = 0; l < kmax; l++) {
					const struct fos_nat_portmap *pb = &b->maps[l];

					if (same_if && _fos_maps_clash(pa, pb))
						_fos_nat_err(
						    ld, &pa->src,
						    "natConfigs \"%s\": %s externalPort %u-%u on "
						    "\"%s\" overlaps the port map at %s:%d",
						    a->name, fos_protocol_to_string(pa->protocol),
						    pa->ext_lo, pa->ext_hi, a->dest_if,
						    pb->src.file, pb->src.line);
					else if (_fos_maps_same_inside(pa, pb) && same_if)
						_fos_nat_err(
						    ld, &pa->src,
						    "natConfigs \"%s\": internal port %u-%u is "
						    "already published by the port map at %s:%d",
						    a->name, pa->int_lo, pa->int_hi, pb->src.file,
						    pb->src.line);
					else if (_fos_maps_same_inside(pa, pb))
						_fos_nat_err(
						    ld, &pa->src,
						    "natConfigs \"%s\": internal port %u-%u is "
						    "already published on \"%s\" by the port map "
						    "at "
						    "%s:%d: an internal end is published on one "
						    "external interface",
						    a->name, pa->int_lo, pa->int_hi, b->dest_if,
						    pb->src.file, pb->src.line);
				}
			}
		}
	}
	if (prefixes > FOS_NAT_PREFIXES_MAX - 16 && c->n_nats)
		_fos_nat_err(ld, &c->nats[0].src,
			     "natConfigs: %zu sourceCIDRs and excludeCIDRs in all, more than %u",
			     prefixes, FOS_NAT_PREFIXES_MAX - 16);
	return 0;
}

static void _fos_nat_done(struct fos_config *c)
{
	for (size_t i = 0; i < c->n_nats; i++)
		_fos_nat_done_one(&c->nats[i]);
	free(c->nats);
	c->nats = NULL;
	c->n_nats = 0;
}

const struct fos_conf_section fos_conf_nat = {
    .key = "natConfigs",
    .list = true,
    .parse = _fos_nat_parse,
    .check = _fos_nat_check,
    .done = _fos_nat_done,
};
