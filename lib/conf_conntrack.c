// SPDX-License-Identifier: GPL-2.0-only
/*
 * The config section of the conntrack group: the connection table's size and
 * timeouts, and what stateful programs do with invalid packets.
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

const char *const ct_class_names[] = {
    [FOS_CT_NEW] = "new",
    [FOS_CT_ESTABLISHED] = "established",
    [FOS_CT_RELATED] = "related",
    [FOS_CT_INVALID] = "invalid",
};

static_assert(ARRAY_SIZE(ct_class_names) == _FOS_CT_CLASS_MAX, "ct_class_names incomplete");

static const char *const ct_invalid_names[] = {
    [FOS_CT_INVALID_DROP] = "drop",
    [FOS_CT_INVALID_PASS] = "pass",
    [FOS_CT_INVALID_RULES] = "rules",
};

static_assert(ARRAY_SIZE(ct_invalid_names) == _FOS_CT_INVALID_MAX, "ct_invalid_names incomplete");

static const char *const conntrack_keys[] = {
    "maxConnections", "tcpTimeout",  "tcpSynTimeout", "tcpFinTimeout",
    "udpTimeout",     "icmpTimeout", "invalid",	      NULL,
};

const char *fos_ct_invalid_to_string(uint8_t v)
{
	if (v >= ARRAY_SIZE(ct_invalid_names))
		return NULL;
	return ct_invalid_names[v];
}

const char *fos_ct_class_to_string(unsigned c)
{
	if (c >= ARRAY_SIZE(ct_class_names))
		return NULL;
	return ct_class_names[c];
}

static bool _fos_ct_invalid(struct fos_loader *ld, const config_setting_t *s, uint8_t *ret)
{
	size_t i;

	if (!_fos_choice(ld, s, ct_invalid_names, ARRAY_SIZE(ct_invalid_names), "value", &i))
		return false;
	*ret = (uint8_t)i;
	return true;
}

/* The group may be in the main file or in one drop-in, not in two files. */
static int _fos_parse_conntrack(struct fos_loader *ld, const config_setting_t *g)
{
	struct fos_conntrack_cfg *ct = &ld->cfg->conntrack;
	const struct {
		const char *key;
		uint32_t *value;
	} timeouts[] = {
	    {"tcpTimeout", &ct->tcp_timeout},	     {"tcpSynTimeout", &ct->tcp_syn_timeout},
	    {"tcpFinTimeout", &ct->tcp_fin_timeout}, {"udpTimeout", &ct->udp_timeout},
	    {"icmpTimeout", &ct->icmp_timeout},
	};
	const config_setting_t *s;
	long long v;
	int r;

	if (ld->conntrack_seen) {
		_fos_err(ld, g, "already defined at %s:%d; the group may be set in one file only",
			 ct->src.file, ct->src.line);
		return 0;
	}
	ld->conntrack_seen = true;
	r = _fos_source_set(ld, g, &ct->src);
	if (r < 0)
		return r;
	if (!_fos_want_group(ld, g))
		return 0;
	_fos_check_keys(ld, g, conntrack_keys);

	s = config_setting_get_member(g, "maxConnections");
	if (s && _fos_int(ld, s, 1, FOS_CT_MAX_CONNECTIONS, &v))
		ct->max_connections = (uint32_t)v;

	for (size_t i = 0; i < ARRAY_SIZE(timeouts); i++) {
		s = config_setting_get_member(g, timeouts[i].key);
		if (s)
			_fos_seconds(ld, s, timeouts[i].value);
	}

	s = config_setting_get_member(g, "invalid");
	if (s && !_fos_ct_invalid(ld, s, &ct->invalid))
		ld->conntrack_invalid_bad = true;
	return 0;
}

static void _fos_conntrack_done(struct fos_config *c)
{
	_fos_source_done(&c->conntrack.src);
}

const struct fos_conf_section fos_conf_conntrack = {
    .key = "conntrack",
    .parse = _fos_parse_conntrack,
    .done = _fos_conntrack_done,
};
