// SPDX-License-Identifier: GPL-2.0-only
/* What a command table is made of (table.h): the kinds of arguments, how
 * their values are checked and completed, a command's words and arity. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fos/abi.h"

#include "cleanup.h"
#include "parse.h"
#include "table.h"

/* A decimal number 0..max, digits only. */
static int _fosctl_parse_uint(const char *s, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

static json_object *_fosctl_json_uint(uint64_t v)
{
	return json_object_new_int64((int64_t)v);
}

static int _fosctl_value_cidr(const char *s, json_object **ret, char *err)
{
	struct fos_cidr cidr;

	if (fos_parse_cidr(s, &cidr, err) < 0) {
		if (err[0] == '\0')
			snprintf(err, FOS_ERRBUF, "invalid CIDR \"%s\"", s);
		return -EINVAL;
	}
	*ret = json_object_new_string(s);
	return *ret ? 0 : -ENOMEM;
}

/* A name goes as its canonical name, a number as the number. */
static int _fosctl_value_proto(const char *s, json_object **ret, char *err)
{
	uint64_t n;
	uint8_t proto;

	if (_fosctl_parse_uint(s, UINT8_MAX, &n) == 0 && n != FOS_PROTO_ANY)
		*ret = _fosctl_json_uint(n);
	else if (fos_parse_protocol(s, &proto, NULL) == 0 && proto != FOS_PROTO_ANY)
		*ret = json_object_new_string(fos_protocol_to_string(proto));
	else {
		snprintf(err, FOS_ERRBUF,
			 "\"%s\" is not tcp, udp, icmp, icmpv6 or a protocol number 1-255", s);
		return -EINVAL;
	}
	return *ret ? 0 : -ENOMEM;
}

static int _fosctl_value_port(const char *s, json_object **ret, char *err)
{
	uint16_t port;

	if (fos_parse_port(s, &port, err) < 0)
		return -EINVAL;
	*ret = _fosctl_json_uint(port);
	return *ret ? 0 : -ENOMEM;
}

static const char *const fosctl_protos[] = {"tcp", "udp", "icmp", "icmpv6", NULL};

static const char *const fosctl_ct_states[] = {
    "new",	  "syn_sent",  "syn_recv", "established", "fin_wait",
    "close_wait", "time_wait", "close",	   NULL,
};

static int _fosctl_value_ct_state(const char *s, json_object **ret, char *err)
{
	for (size_t i = 0; fosctl_ct_states[i]; i++)
		if (strcasecmp(s, fosctl_ct_states[i]) == 0) {
			*ret = json_object_new_string(fosctl_ct_states[i]);
			return *ret ? 0 : -ENOMEM;
		}
	snprintf(err, FOS_ERRBUF, "\"%s\" is not a connection state (%s)", s,
		 fosctl_arg_kind_help(FOSCTL_ARG_CT_STATE));
	return -EINVAL;
}

static int _fosctl_value_zone(const char *s, json_object **ret, char *err)
{
	uint64_t n;

	if (_fosctl_parse_uint(s, UINT32_MAX, &n) < 0) {
		snprintf(err, FOS_ERRBUF, "\"%s\" is not a zone number 0-%" PRIu32, s, UINT32_MAX);
		return -EINVAL;
	}
	*ret = _fosctl_json_uint(n);
	return *ret ? 0 : -ENOMEM;
}

static int _fosctl_value_limit(const char *s, json_object **ret, char *err)
{
	uint64_t n;

	if (_fosctl_parse_uint(s, UINT32_MAX, &n) < 0 || n == 0) {
		snprintf(err, FOS_ERRBUF, "\"%s\" is not a number 1-%" PRIu32, s, UINT32_MAX);
		return -EINVAL;
	}
	*ret = _fosctl_json_uint(n);
	return *ret ? 0 : -ENOMEM;
}

/* A program name as a filter's value: any name, fwd says whether it exists. */
static int _fosctl_value_name(const char *s, json_object **ret, char *err)
{
	if (s[0] == '\0') {
		snprintf(err, FOS_ERRBUF, "an empty name");
		return -EINVAL;
	}
	*ret = json_object_new_string(s);
	return *ret ? 0 : -ENOMEM;
}

#define FOSCTL_TOP_LIMIT_MAX 10000

static int _fosctl_value_top_limit(const char *s, json_object **ret, char *err)
{
	uint64_t n;

	if (_fosctl_parse_uint(s, FOSCTL_TOP_LIMIT_MAX, &n) < 0 || n == 0) {
		snprintf(err, FOS_ERRBUF, "\"%s\" is not a number 1-%d", s, FOSCTL_TOP_LIMIT_MAX);
		return -EINVAL;
	}
	*ret = _fosctl_json_uint(n);
	return *ret ? 0 : -ENOMEM;
}

/* Whole seconds 1-INT32_MAX, written as a number or as a duration ("1h30m"):
 * sent as the number of seconds. */
static int _fosctl_value_timeout(const char *s, json_object **ret, char *err)
{
	uint64_t ms;

	if (fos_parse_duration(s, &ms, NULL) < 0 || ms == 0 || ms / 1000 > INT32_MAX) {
		snprintf(err, FOS_ERRBUF,
			 "\"%s\" is not a number of seconds 1-%d or a duration such as 5m or 1h30m",
			 s, INT32_MAX);
		return -EINVAL;
	}
	if (ms % 1000 != 0) {
		snprintf(err, FOS_ERRBUF, "\"%s\" is not a whole number of seconds", s);
		return -EINVAL;
	}
	*ret = _fosctl_json_uint(ms / 1000);
	return *ret ? 0 : -ENOMEM;
}

static const struct {
	const char *help;
	const char *method;	   /* completes from this method's reply */
	const char *array;	   /* ... the "name" of each element of this array */
	const char *const *values; /* completes from this list */
	/* as a filter's value: checked, then sent as *ret; -EINVAL and a reason
	 * in err (FOS_ERRBUF) if it is not one */
	int (*parse)(const char *s, json_object **ret, char *err);
} fosctl_arg_kinds[] = {
    [FOSCTL_ARG_PROGRAM] = {"a program name", "fos.Show.Programs", "programs",
			    .parse = _fosctl_value_name},
    [FOSCTL_ARG_SET] = {"an IP set name", "fos.Show.Sets", "sets"},
    [FOSCTL_ARG_MAP] = {"a BPF map name", "fos.Show.Maps", "maps"},
    [FOSCTL_ARG_CIDR] = {"an address or prefix: 192.0.2.0/24, 2001:db8::/32",
			 .parse = _fosctl_value_cidr},
    [FOSCTL_ARG_FILE] = {"a configuration file"},
    [FOSCTL_ARG_PROTO] = {"tcp, udp, icmp, icmpv6 or an IP protocol number 1-255",
			  .values = fosctl_protos, .parse = _fosctl_value_proto},
    [FOSCTL_ARG_PORT] = {"a port number 0-65535", .parse = _fosctl_value_port},
    [FOSCTL_ARG_CT_STATE] = {"new, syn_sent, syn_recv, established, fin_wait, close_wait, "
			     "time_wait or close",
			     .values = fosctl_ct_states, .parse = _fosctl_value_ct_state},
    [FOSCTL_ARG_ZONE] = {"a conntrack zone: the routing table of a VRF, 0 outside one",
			 .parse = _fosctl_value_zone},
    [FOSCTL_ARG_LIMIT] = {"a number of entries, 1 or more", .parse = _fosctl_value_limit},
    [FOSCTL_ARG_TOP_LIMIT] = {"a number of sources, 1-10000", .parse = _fosctl_value_top_limit},
    [FOSCTL_ARG_TIMEOUT] = {"seconds 1-2147483647, or a duration: 90, 5m, 1h30m, 1d",
			    .parse = _fosctl_value_timeout},
    [FOSCTL_ARG_NAT] = {"a natConfig name", "fos.Show.Nat", "configs", .parse = _fosctl_value_name},
};

static_assert(ARRAY_SIZE(fosctl_arg_kinds) == _FOSCTL_ARG_KIND_MAX, "fosctl_arg_kinds");

const char *fosctl_arg_kind_help(enum fosctl_arg_kind kind)
{
	assert(kind < _FOSCTL_ARG_KIND_MAX);
	return fosctl_arg_kinds[kind].help;
}

const char *fosctl_arg_kind_method(enum fosctl_arg_kind kind, const char **ret_array)
{
	assert(kind < _FOSCTL_ARG_KIND_MAX);
	if (fosctl_arg_kinds[kind].method)
		*ret_array = fosctl_arg_kinds[kind].array;
	return fosctl_arg_kinds[kind].method;
}

const char *const *fosctl_arg_kind_values(enum fosctl_arg_kind kind)
{
	assert(kind < _FOSCTL_ARG_KIND_MAX);
	return fosctl_arg_kinds[kind].values;
}

bool fosctl_arg_kind_is_filter(enum fosctl_arg_kind kind)
{
	assert(kind < _FOSCTL_ARG_KIND_MAX);
	return fosctl_arg_kinds[kind].parse;
}

int fosctl_filter_find(const struct fosctl_filter *filters, const char *keyword,
		       const struct fosctl_filter **ret)
{
	const struct fosctl_filter *found = NULL;
	size_t n = 0, len = strlen(keyword);

	if (len == 0)
		return -ENOENT;
	for (const struct fosctl_filter *f = filters; f && f->keyword; f++) {
		if (strcmp(f->keyword, keyword) == 0) {
			*ret = f;
			return 0;
		}
		if (strncmp(f->keyword, keyword, len) == 0) {
			found = f;
			n++;
		}
	}
	if (n == 0)
		return -ENOENT;
	if (n > 1)
		return -EINVAL;
	*ret = found;
	return 0;
}

int fosctl_arg_kind_parse(enum fosctl_arg_kind kind, const char *s, json_object **ret, char *err)
{
	assert(kind < _FOSCTL_ARG_KIND_MAX && fosctl_arg_kinds[kind].parse);
	return fosctl_arg_kinds[kind].parse(s, ret, err);
}

size_t fosctl_command_n_words(const struct fosctl_command *c)
{
	size_t n = 0;

	while (n < FOSCTL_WORDS_MAX && c->words[n])
		n++;
	return n;
}

void fosctl_command_arity(const struct fosctl_command *c, size_t *ret_min, size_t *ret_max)
{
	size_t min = 0, max = 0;

	for (; max < FOSCTL_ARGS_MAX && c->args[max].name; max++)
		if (!c->args[max].optional)
			min = max + 1;
	*ret_min = min;
	*ret_max = max;
}

const char *fosctl_command_filter_noun(const struct fosctl_command *c)
{
	return c->options ? "option" : "filter";
}
