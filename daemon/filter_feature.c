// SPDX-License-Identifier: GPL-2.0-only
/*
 * The filter feature: named IP sets (show, add, delete entries), the timed
 * entries that expire, and its row of fos_features.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "cleanup.h"
#include "feature.h"
#include "fwd.h"
#include "methods.h"
#include "ipc.h"
#include "log.h"
#include "ctmaps.skel.h"
#include "global.skel.h"
#include "tc.skel.h"
#include "xdp_filter.skel.h"

#define STREAM_CHUNK 20000

/* ---- sets --------------------------------------------------------------- */

static json_object *_fos_set_users(struct fos_manager *m, const char *set)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; m->cfg && i < m->cfg->n_programs; i++) {
		const struct fos_program *p = &m->cfg->programs[i];

		if ((p->blacklist.enabled && strcmp(p->blacklist.set, set) == 0) ||
		    (p->whitelist.enabled && strcmp(p->whitelist.set, set) == 0))
			json_object_array_add(a, json_object_new_string(p->name));
	}
	return a;
}

static int _fos_show_sets(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();

	(void)params;
	for (size_t i = 0; i < m->n_sets; i++) {
		const struct fos_rset *s = &m->sets[i];
		json_object *so = json_object_new_object();

		json_object_object_add(so, "name", json_object_new_string(s->name));
		json_object_object_add(so, "entries", json_object_new_int64((int64_t)s->n));
		json_object_object_add(
		    so, "configEntries",
		    json_object_new_int64((int64_t)fos_rset_count(s, FOS_SET_F_CONFIG)));
		json_object_object_add(
		    so, "dynamicEntries",
		    json_object_new_int64((int64_t)fos_rset_count(s, FOS_SET_F_DYNAMIC)));
		json_object_object_add(so, "timedEntries",
				       json_object_new_int64((int64_t)fos_rset_count_timed(s)));
		json_object_object_add(so, "expired", json_object_new_int64((int64_t)s->expired));
		if (s->file)
			json_object_object_add(so, "file", json_object_new_string(s->file));
		json_object_object_add(so, "usedBy", _fos_set_users(m, s->name));
		json_object_array_add(a, so);
	}
	json_object_object_add(o, "sets", a);
	return _fos_reply(peer, o);
}

/* whole seconds an entry has left, rounded up (0 once expired) */
static int64_t _fos_expires_s(uint64_t expires_ns, uint64_t now_ns)
{
	if (expires_ns <= now_ns)
		return 0;
	return (int64_t)((expires_ns - now_ns + 999999999ULL) / 1000000000ULL);
}

static int _fos_show_set(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	const char *name = _fos_param_str(params, "name");
	const struct fos_rset *s;
	uint64_t now = fos_sets_now_ns();
	size_t off = 0;

	if (!name)
		return _fos_error(peer, "fos.InvalidParameter", "parameter \"name\" is required");
	s = fos_manager_find_set(m, name);
	if (!s)
		return _fos_error(peer, "fos.NoSuchSet", "no set named \"%s\"", name);
	do {
		json_object *o = json_object_new_object(), *a = json_object_new_array(), *msg;
		size_t end = off + STREAM_CHUNK < s->n ? off + STREAM_CHUNK : s->n;
		char buf[FOS_CIDR_STRLEN];
		int r;

		json_object_object_add(o, "name", json_object_new_string(s->name));
		json_object_object_add(o, "expired", json_object_new_int64((int64_t)s->expired));
		for (size_t i = off; i < end; i++) {
			json_object *e = json_object_new_object();

			json_object_object_add(e, "cidr",
					       json_object_new_string(fos_cidr_to_string(
						   &s->e[i].cidr, buf, sizeof(buf))));
			json_object_object_add(
			    e, "dynamic",
			    json_object_new_boolean(s->e[i].flags & FOS_SET_F_DYNAMIC));
			if (s->e[i].expires_ns)
				json_object_object_add(
				    e, "expires",
				    json_object_new_int64(_fos_expires_s(s->e[i].expires_ns, now)));
			if (s->e[i].flags & FOS_SET_F_AUTO)
				json_object_object_add(e, "auto", json_object_new_boolean(true));
			json_object_array_add(a, e);
		}
		json_object_object_add(o, "entries", a);
		msg = fos_ipc_reply(o, end < s->n);
		r = fos_peer_send(peer, msg);
		json_object_put(msg);
		if (r < 0)
			return r;
		off = end;
	} while (off < s->n);
	return 0;
}

/* "timeout" of fos.Set.Add: absent (0), or whole seconds 1-2147483647 */
static int _fos_param_timeout(json_object *params, uint32_t *ret, char *err, size_t errlen)
{
	json_object *v;
	int64_t t;

	if (!params || !json_object_object_get_ex(params, "timeout", &v)) {
		*ret = 0;
		return 0;
	}
	if (!json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen,
			 "parameter \"timeout\" must be a whole number of seconds, 1-2147483647");
		return -EINVAL;
	}
	errno = 0;
	t = json_object_get_int64(v);
	if (errno != 0 || t < 1 || t > INT32_MAX) {
		snprintf(err, errlen, "parameter \"timeout\" must be 1-2147483647 seconds, not %s",
			 json_object_to_json_string(v));
		return -ERANGE;
	}
	*ret = (uint32_t)t;
	return 0;
}

static int _fos_set_change(struct fos_manager *m, struct fos_peer *peer, json_object *params,
			   bool add)
{
	const char *name = _fos_param_str(params, "name");
	const char *cidr = _fos_param_str(params, "cidr");
	char err[FOS_ERRBUF] = "", buf[FOS_CIDR_STRLEN];
	const struct fos_set_entry *e = NULL;
	const struct fos_rset *s;
	uint32_t timeout = 0;
	struct fos_cidr c;
	json_object *o;
	ssize_t i;
	int r;

	if (!name || !cidr)
		return _fos_error(peer, "fos.InvalidParameter",
				  "parameters \"name\" and \"cidr\" are required");
	r = fos_parse_cidr(cidr, &c, err);
	if (r < 0)
		return _fos_error(peer, "fos.InvalidParameter", "%s", err);
	if (!add && params && json_object_object_get_ex(params, "timeout", NULL))
		return _fos_error(peer, "fos.InvalidParameter", "fos.Set.Del takes no \"timeout\"");
	if (add && _fos_param_timeout(params, &timeout, err, sizeof(err)) < 0)
		return _fos_error(peer, "fos.InvalidParameter", "%s", err);
	r = add ? fos_manager_set_add(m, name, &c, timeout, err, sizeof(err))
		: fos_manager_set_del(m, name, &c, err, sizeof(err));
	if (r == -ENOENT)
		return _fos_error(peer, "fos.NoSuchSet", "%s", err);
	if (r < 0)
		return _fos_error(
		    peer, r == -ESRCH || r == -EPERM ? "fos.InvalidParameter" : "fos.Failed", "%s",
		    err[0] ? err : strerror(-r));
	fos_cidr_to_string(&c, buf, sizeof(buf));
	s = add ? fos_manager_find_set(m, name) : NULL;
	i = s ? fos_rset_find(s, &c) : -ENOENT;
	if (i >= 0 && s->e[i].expires_ns)
		e = &s->e[i];
	if (!add)
		log_info("set %s: removed %s", name, buf);
	else if (e)
		log_info("set %s: %s %s, expires in %" PRIu32 " s", name,
			 r > 0 ? "added" : "updated", buf, timeout);
	else
		log_info("set %s: %s %s", name, r > 0 ? "added" : "already has", buf);
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "cidr", json_object_new_string(buf));
	json_object_object_add(o, add ? "added" : "removed",
			       json_object_new_boolean(add ? r > 0 : true));
	if (e)
		json_object_object_add(
		    o, "expires",
		    json_object_new_int64(_fos_expires_s(e->expires_ns, fos_sets_now_ns())));
	return _fos_reply(peer, o);
}

static int _fos_set_add(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	return _fos_set_change(m, peer, params, true);
}

static int _fos_set_del(struct fos_manager *m, struct fos_peer *peer, json_object *params)
{
	return _fos_set_change(m, peer, params, false);
}

static const struct fos_method fos_filter_methods[] = {
    {"fos.Show.Sets", false, _fos_show_sets},
    {"fos.Show.Set", false, _fos_show_set},
    {"fos.Set.Add", true, _fos_set_add},
    {"fos.Set.Del", true, _fos_set_del},
};

/* timed set entries, removed when they expire, a few ms at a time */
static uint32_t _fos_filter_tick(struct fos_manager *m)
{
	return fos_sets_expire_step(&m->set_maps, m->sets, m->n_sets, &m->set_exp,
				    fos_sets_now_ns(), FOS_FEATURE_STEP_NS);
}

const struct fos_feature fos_feature_filter = {
    .name = "filter",
    .tick = _fos_filter_tick,
    .methods = fos_filter_methods,
    .n_methods = ARRAY_SIZE(fos_filter_methods),
};
