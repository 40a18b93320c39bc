// SPDX-License-Identifier: GPL-2.0-only
/*
 * The manager owns the running state and applies a new config as one
 * transaction: everything is prepared beside the live state (new set ids,
 * the inactive rule slot of every program, new programs loaded), then
 * committed by flipping each program's active slot; on any failure before
 * the flips the prepared objects are dropped and nothing live has changed.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cleanup.h"
#include "ctmaps.skel.h"
#include "feature.h"
#include "filter.h"
#include "fwd.h"
#include "global.skel.h"
#include "log.h"
#include "tc.skel.h"
#include "xdp_filter.skel.h"

/* remove the pins of one program: its maps and its link */
static void _fos_unpin_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[768];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		(void)unlink(path);
	}
	closedir(d);
	(void)rmdir(dir);
}

int fos_manager_new(const char *config_path, const char *pin_dir_override, struct fos_manager **ret)
{
	struct fos_manager *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->config_path = strdup(config_path);
	if (!m->config_path) {
		free(m);
		return -ENOMEM;
	}
	m->set_maps = (struct fos_set_maps){-1, -1, -1};
	m->ct = (struct fos_ct_fds){-1, -1, -1, -1, -1};
	m->next_set_id = 1;
	m->started_at = time(NULL);
	if (pin_dir_override) {
		if (strlen(pin_dir_override) >= FOS_PIN_DIR_MAX) {
			free(m->config_path);
			free(m);
			return -ENAMETOOLONG;
		}
		snprintf(m->pin_dir, sizeof(m->pin_dir), "%s", pin_dir_override);
		m->pin_dir_forced = true;
	}
	*ret = m;
	return 0;
}

static void _fos_rsets_free(struct fos_rset *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fos_rset_free(&v[i]);
	free(v);
}

void fos_manager_free(struct fos_manager *m)
{
	if (!m)
		return;
	for (size_t i = 0; fos_features[i]; i++)
		if (fos_features[i]->close)
			fos_features[i]->close(m);
	for (size_t i = 0; i < m->n_progs; i++)
		fos_prog_rt_free(m->progs[i]);
	free(m->progs);
	_fos_rsets_free(m->sets, m->n_sets);
	_fos_rsets_free(m->anon, m->n_anon);
	_fos_rsets_free(m->retired, m->n_retired);
	free(m->set_aliases);
	for (size_t i = 0; i < m->n_retired_progs; i++)
		fos_prog_rt_free(m->retired_progs[i]);
	free(m->retired_progs);
	fos_global__destroy(m->global);
	fos_config_free(m->cfg);
	free(m->config_path);
	free(m->socket_path);
	free(m->reload_message);
	fos_errors_clear(&m->reload_errors);
	free(m);
}

struct fos_prog_rt *fos_manager_find_prog(struct fos_manager *m, const char *name)
{
	for (size_t i = 0; i < m->n_progs; i++)
		if (strcmp(m->progs[i]->name, name) == 0)
			return m->progs[i];
	return NULL;
}

struct fos_rset *fos_manager_find_set(struct fos_manager *m, const char *name)
{
	for (size_t i = 0; i < m->n_sets; i++)
		if (strcmp(m->sets[i].name, name) == 0)
			return &m->sets[i];
	return NULL;
}

static int _fos_read_ctl(struct fos_prog_rt *p, uint32_t *ret)
{
	struct fos_filter_maps fm;
	struct fos_ctl ctl;
	uint32_t k = 0;

	fos_prog_filter_maps(p, &fm);
	if (bpf_map_lookup_elem(fm.ctl, &k, &ctl) < 0)
		return -errno;
	*ret = ctl.active & 1;
	return 0;
}

/* The pinned fos_tc_attach of a TC program's pin dir: its type and whether
 * it was loaded stateful. Returns 1 for a TC program, 0 for XDP. */
static int _fos_pinned_tc(const char *pin_dir, bool *ret_stateful)
{
	char path[640];
	struct fos_tc_attach at = {};
	uint32_t k = FOS_TC_ATTACH_POLICY;
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "%s/fos_tc_attach", pin_dir);
	if (access(path, F_OK) < 0)
		return 0;
	fd = bpf_obj_get(path);
	if (fd >= 0)
		(void)bpf_map_lookup_elem(fd, &k, &at);
	*ret_stateful = at.flags & FOS_TC_ATTACH_F_STATEFUL;
	return 1;
}

static int _fos_adopt_programs(struct fos_manager *m)
{
	char dir[512];
	DIR *d;
	struct dirent *de;
	int r = 0;

	snprintf(dir, sizeof(dir), "%s/progs", m->pin_dir);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		struct fos_prog_rt *p, **np;
		char link[768], err[512];

		if (de->d_name[0] == '.' || strlen(de->d_name) >= FOS_NAME_MAX)
			continue;
		p = calloc(1, sizeof(*p));
		if (!p) {
			r = -ENOMEM;
			break;
		}
		snprintf(p->name, sizeof(p->name), "%s", de->d_name);
		snprintf(p->pin_dir, sizeof(p->pin_dir), "%s/%s", dir, de->d_name);
		if (_fos_pinned_tc(p->pin_dir, &p->stateful))
			p->type = FOS_PROG_TC_INGRESS; /* ingress or egress: the config says */
		/* an XDP program is loaded stateless here; the first apply loads it
		 * again if its config is stateful */
		if (p->stateful && m->ct.ct < 0) {
			log_warning("program %s: stateful, but the connection table is not "
				    "pinned; adopted stateless",
				    p->name);
			p->stateful = false;
		}
		snprintf(link, sizeof(link), "%s/link", p->pin_dir);
		if (access(link, F_OK) == 0) {
			r = fos_prog_adopt_link(p, link, err, sizeof(err));
			if (r < 0) {
				log_warning("program %s: %s; its pins will be replaced", p->name,
					    err);
				(void)unlink(link);
			}
		}
		r = fos_prog_load(p, p->pin_dir, &m->set_maps, &m->ct, err, sizeof(err));
		if (r == 0 && p->tc)
			r = fos_tc_read_attach(p);
		if (r < 0) {
			log_error("program %s: cannot adopt its pinned maps: %s (run fwd --flush "
				  "to start from scratch)",
				  p->name, err);
			fos_prog_rt_free(p);
			break;
		}
		r = _fos_read_ctl(p, &p->active);
		if (r < 0) {
			fos_prog_rt_free(p);
			break;
		}
		{
			struct fos_filter_maps fm;
			struct fos_slot slot;
			uint32_t k = p->active;

			fos_prog_filter_maps(p, &fm);
			if (bpf_map_lookup_elem(fm.slots, &k, &slot) == 0)
				p->generation = slot.generation;
		}
		if (p->tc && p->tc_at[FOS_TC_ATTACH_POLICY].ifindex &&
		    !if_indextoname(p->tc_at[FOS_TC_ATTACH_POLICY].ifindex, p->ifname))
			p->ifname[0] = 0;
		p->adopted = true;
		np = realloc(m->progs, (m->n_progs + 1) * sizeof(*np));
		if (!np) {
			fos_prog_rt_free(p);
			r = -ENOMEM;
			break;
		}
		m->progs = np;
		m->progs[m->n_progs++] = p;
		log_info("adopted program %s%s%s", p->name,
			 p->link || p->tc_at[0].ifindex ? " attached to " : "",
			 p->link || p->tc_at[0].ifindex ? p->ifname : " (not attached)");
	}
	closedir(d);
	return r;
}

int fos_manager_open_maps(struct fos_manager *m, const struct fos_config *cfg)
{
	bool existed;
	char path[512];
	struct fos_rset *all = NULL;
	size_t n_all = 0;
	uint32_t max_id = 0;
	int r;

	r = fos_mkdir_p(m->pin_dir, 0700);
	if (r < 0)
		return log_error_errno(r, "cannot create pin directory %s", m->pin_dir);
	{
		char e[256];

		/* before anything adopts a hook */
		r = fos_tc_setup(m->pin_dir, cfg ? cfg->daemon.tc_mode : FOS_TC_MODE_AUTO, e,
				 sizeof(e));
		if (r < 0) {
			log_error("%s", e);
			return r;
		}
	}
	snprintf(path, sizeof(path), "%s/global", m->pin_dir);
	r = fos_mkdir_p(path, 0700);
	if (r < 0)
		return log_error_errno(r, "cannot create %s", path);

	/* pins made by an earlier fwd: their layout must be this fwd's */
	snprintf(path, sizeof(path), "%s/global/fos_sets", m->pin_dir);
	existed = access(path, F_OK) == 0;
	m->global = fos_global__open();
	if (!m->global)
		return log_error_errno(-errno, "cannot open the global map object");
	snprintf(path, sizeof(path), "%s/global/fos_sets", m->pin_dir);
	bpf_map__set_pin_path(m->global->maps.fos_sets, path);
	snprintf(path, sizeof(path), "%s/global/fos_sets4", m->pin_dir);
	bpf_map__set_pin_path(m->global->maps.fos_sets4, path);
	snprintf(path, sizeof(path), "%s/global/fos_set_meta", m->pin_dir);
	bpf_map__set_pin_path(m->global->maps.fos_set_meta, path);
	snprintf(path, sizeof(path), "%s/global/fos_state", m->pin_dir);
	bpf_map__set_pin_path(m->global->maps.fos_state, path);
	r = fos_global__load(m->global);
	if (r < 0)
		return log_error_errno(
		    r,
		    "cannot create or reuse the global maps in %s/global (pins of "
		    "another fwd version? \"fwd --flush --pin-dir %s\" replaces "
		    "them)",
		    m->pin_dir, m->pin_dir);
	m->set_maps = (struct fos_set_maps){
	    .v6 = bpf_map__fd(m->global->maps.fos_sets),
	    .v4 = bpf_map__fd(m->global->maps.fos_sets4),
	    .meta = bpf_map__fd(m->global->maps.fos_set_meta),
	};
	{
		int fd = bpf_map__fd(m->global->maps.fos_state);
		struct fos_state st = {};
		uint32_t k = 0;

		(void)bpf_map_lookup_elem(fd, &k, &st);
		if (existed && st.abi != FOS_ABI_VERSION)
			return log_error_errno(
			    -EPROTO,
			    "the datapath pinned in %s was made by a fwd with another map layout "
			    "(%u; this fwd uses %u): stop it and run \"fwd --flush --pin-dir %s\" "
			    "to replace it",
			    m->pin_dir, st.abi, FOS_ABI_VERSION, m->pin_dir);
		/* generations continue where the previous fwd stopped */
		m->generation = st.generation;
		st.abi = FOS_ABI_VERSION;
		if (bpf_map_update_elem(fd, &k, &st, BPF_ANY) < 0)
			return log_error_errno(-errno, "cannot write %s/global/fos_state",
					       m->pin_dir);
	}

	r = fos_sets_read_all(&m->set_maps, &all, &n_all, &max_id);
	if (r < 0)
		return log_error_errno(r, "cannot read the pinned sets");
	m->next_set_id = max_id + 1;
	for (size_t i = 0; i < n_all; i++) {
		struct fos_rset **dst_v;
		size_t *dst_n;
		struct fos_rset *nv;

		if (all[i].meta_flags & FOS_SET_META_F_NAMED) {
			dst_v = &m->sets;
			dst_n = &m->n_sets;
		} else if (all[i].meta_flags & FOS_SET_META_F_ANON) {
			dst_v = &m->anon;
			dst_n = &m->n_anon;
		} else {
			/* entries without a name: left over from an interrupted apply */
			fos_sets_erase(&m->set_maps, &all[i]);
			fos_rset_free(&all[i]);
			continue;
		}
		nv = realloc(*dst_v, (*dst_n + 1) * sizeof(*nv));
		if (!nv) {
			for (size_t j = i; j < n_all; j++)
				fos_rset_free(&all[j]);
			free(all);
			return log_error_errno(-ENOMEM, "cannot read the pinned sets");
		}
		*dst_v = nv;
		nv[(*dst_n)++] = all[i];
	}
	free(all);
	fos_sets_expiry_reset(&m->set_exp, m->sets, m->n_sets);
	if (m->n_sets || m->n_anon)
		log_info("adopted %zu named and %zu rule sets from %s", m->n_sets, m->n_anon,
			 m->pin_dir);
	for (size_t i = 0; fos_features[i]; i++)
		if (fos_features[i]->open) {
			r = fos_features[i]->open(m, cfg);
			if (r < 0)
				return r;
		}
	return _fos_adopt_programs(m);
}

/* ---- the apply transaction ------------------------------------------- */

struct _fos_plan_set {
	struct fos_rset s;
	bool write; /* a new id, written by this apply */
};

struct _fos_plan_prog {
	const struct fos_program *cfg;
	struct fos_prog_rt *rt;
	bool is_new;		   /* rt created by this apply */
	struct fos_prog_rt *fresh; /* rt's object loaded again (stateful changed) */
	struct fos_prog_rt *prev;  /* ... and the object it replaced, kept for undo */
	bool need_track;	   /* a stateful TC program: tracker on the other direction */
	struct fos_tc_attach tc_old[_FOS_TC_ATTACH_MAX]; /* rt->tc_at before */
	bool tc_saved;					 /* tc_old holds rt->tc_at */
	bool moved;	    /* XDP: fresh holds an instance for a new place in a chain */
	bool next_repinned; /* ... whose fos_next replaced the pinned one */
	unsigned ifindex;
	struct fos_filter_rs rs;
	bool write_slot;
	bool flipped;
	uint32_t *set_ids;
	size_t n_set_ids;
};

/* XDP programs on one interface at most: a packet passes 32 tail calls */
#define FOS_CHAIN_MAX 32

/* The XDP chain of one interface: how it runs, and how the config orders it. */
struct _fos_chain {
	unsigned ifindex;
	struct bpf_link *link;			/* the interface's link while the apply runs */
	struct fos_prog_rt *owner;		/* held it, pinned in its dir, before the apply */
	struct fos_prog_rt *pinned_at;		/* its pin's program after this apply */
	bool created;				/* attached by this apply */
	bool unpinned;				/* taken out of owner's dir */
	struct fos_prog_rt *cur[FOS_CHAIN_MAX]; /* running order, read from the kernel */
	size_t n_cur;
	struct _fos_plan_prog *want[FOS_CHAIN_MAX]; /* configured order */
	size_t n_want;
	bool kept[FOS_CHAIN_MAX]; /* want[i] keeps its running instance and its place */
};

/* A chain pointer this apply changed, undone in reverse order: fos_next[0]
 * of a map (an fd of its own), or the chain's link (map_fd -1), and an fd of
 * the program it held (-1: none). */
struct _fos_ptr_undo {
	int map_fd;
	struct _fos_chain *ch;
	int prev_fd;
};

/* A TC hook changed by this apply, and what ran there before (an fd of that
 * program, or -1 for nothing), undone in reverse order. */
struct _fos_tc_undo {
	struct fos_tc_attach at; /* the filter this apply put there */
	int prev_fd;
};

struct _fos_plan {
	struct _fos_chain *chains;
	size_t n_chains, cap_chains;
	struct _fos_ptr_undo *ptr_undo;
	size_t n_ptr_undo;
	struct _fos_tc_undo *tc_undo;
	size_t n_tc_undo;
	struct fos_apply a;	    /* what the features see of it */
	void *tx[FOS_FEATURES_MAX]; /* each feature's state for this apply */
	size_t n_prepared;	    /* features whose prepare ran */
	struct _fos_plan_set *sets;
	size_t n_sets;
	struct _fos_plan_set *anon;
	size_t n_anon;
	struct _fos_plan_prog *progs;
	size_t n_progs;
	uint32_t next_id;
};

static void _fos_plan_free(struct _fos_plan *pl)
{
	for (size_t i = 0; i < pl->n_sets; i++)
		fos_rset_free(&pl->sets[i].s);
	for (size_t i = 0; i < pl->n_anon; i++)
		fos_rset_free(&pl->anon[i].s);
	for (size_t i = 0; i < pl->n_progs; i++) {
		fos_filter_rs_free(&pl->progs[i].rs);
		free(pl->progs[i].set_ids);
		fos_prog_rt_free(pl->progs[i].fresh);
		fos_prog_rt_free(pl->progs[i].prev);
	}
	for (size_t i = 0; i < pl->n_tc_undo; i++)
		if (pl->tc_undo[i].prev_fd >= 0)
			close(pl->tc_undo[i].prev_fd);
	free(pl->tc_undo);
	for (size_t i = 0; i < pl->n_ptr_undo; i++) {
		if (pl->ptr_undo[i].map_fd >= 0)
			close(pl->ptr_undo[i].map_fd);
		if (pl->ptr_undo[i].prev_fd >= 0)
			close(pl->ptr_undo[i].prev_fd);
	}
	free(pl->ptr_undo);
	free(pl->chains);
	free(pl->sets);
	free(pl->anon);
	free(pl->progs);
}

static int _fos_entry_cmp(const void *a, const void *b)
{
	const struct fos_set_entry *x = a, *y = b;
	unsigned px = fos_cidr_plen128(&x->cidr), py = fos_cidr_plen128(&y->cidr);
	int c = memcmp(x->cidr.addr.b, y->cidr.addr.b, sizeof(x->cidr.addr.b));

	if (c)
		return c;
	if (px != py)
		return px < py ? -1 : 1;
	return x->flags < y->flags ? -1 : x->flags > y->flags;
}

static uint64_t _fos_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A sum of per-entry hashes: equal for equal sets whatever their order. */
static uint64_t _fos_rset_digest(const struct fos_rset *s)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < s->n; i++) {
		const struct fos_set_entry *e = &s->e[i];
		uint64_t hi, lo;

		memcpy(&hi, e->cidr.addr.b, 8);
		memcpy(&lo, e->cidr.addr.b + 8, 8);
		sum += _fos_mix64(hi ^ _fos_mix64(lo ^ _fos_mix64(fos_cidr_plen128(&e->cidr) |
								  (uint64_t)e->flags << 8)));
	}
	return sum;
}

/* Same entries with the same flags, in any order (the map returns them in
 * trie order, the config in file order)? */
static bool _fos_rset_same(const struct fos_rset *a, const struct fos_rset *b)
{
	_cleanup_free_ struct fos_set_entry *x = NULL, *y = NULL;

	if (a->n != b->n)
		return false;
	if (a->n == 0)
		return true;
	/* an order-free digest settles most "changed" cases without sorting */
	if (_fos_rset_digest(a) != _fos_rset_digest(b))
		return false;
	x = malloc(a->n * sizeof(*x));
	y = malloc(b->n * sizeof(*y));
	if (!x || !y)
		return false;
	memcpy(x, a->e, a->n * sizeof(*x));
	memcpy(y, b->e, b->n * sizeof(*y));
	qsort(x, a->n, sizeof(*x), _fos_entry_cmp);
	qsort(y, b->n, sizeof(*y), _fos_entry_cmp);
	for (size_t i = 0; i < a->n; i++)
		if (_fos_entry_cmp(&x[i], &y[i]) != 0)
			return false;
	return true;
}

static const struct fos_rset *_fos_find_rset(const struct fos_rset *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/* Decide the id of a desired set: the running one if identical, else new. */
static void _fos_plan_set_id(struct _fos_plan_set *ps, const struct fos_rset *running,
			     uint32_t *next_id)
{
	if (running && _fos_rset_same(&ps->s, running)) {
		ps->s.id = running->id;
		ps->write = false;
	} else {
		ps->s.id = (*next_id)++;
		ps->write = true;
	}
}

static int _fos_plan_named_sets(struct fos_manager *m, const struct fos_config *cfg,
				struct _fos_plan *pl)
{
	pl->sets = calloc(cfg->n_sets ? cfg->n_sets : 1, sizeof(*pl->sets));
	if (!pl->sets)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_sets; i++) {
		const struct fos_ipset *cs = &cfg->sets[i];
		struct _fos_plan_set *ps = &pl->sets[pl->n_sets++];
		const struct fos_rset *old = _fos_find_rset(m->sets, m->n_sets, cs->name);
		int r;

		snprintf(ps->s.name, sizeof(ps->s.name), "%s", cs->name);
		ps->s.meta_flags = FOS_SET_META_F_NAMED;
		if (cs->file) {
			ps->s.file = strdup(cs->file);
			if (!ps->s.file)
				return -ENOMEM;
		}
		for (size_t j = 0; j < cs->n_entries; j++) {
			r = fos_rset_append(&ps->s, &cs->entries[j], FOS_SET_F_CONFIG);
			if (r < 0)
				return r;
		}
		/* runtime entries live on across a reload, with their flags and
		 * expiry, unless the config now has them or they have expired */
		if (old) {
			uint64_t now = fos_sets_now_ns();
			size_t n_cfg = ps->s.n;
			/* the config's entries sorted, to look up many runtime ones */
			_cleanup_free_ struct fos_set_entry *sorted =
			    malloc((n_cfg ? n_cfg : 1) * sizeof(*sorted));

			if (!sorted)
				return -ENOMEM;
			if (n_cfg)
				memcpy(sorted, ps->s.e, n_cfg * sizeof(*sorted));
			qsort(sorted, n_cfg, sizeof(*sorted), _fos_entry_cmp);
			ps->s.expired = old->expired;
			for (size_t j = 0; j < old->n; j++) {
				const struct fos_set_entry *e = &old->e[j];
				struct fos_set_entry key = {.cidr = e->cidr,
							    .flags = FOS_SET_F_CONFIG};

				if (!(e->flags & FOS_SET_F_DYNAMIC))
					continue;
				if (e->expires_ns && e->expires_ns <= now)
					continue;
				if (bsearch(&key, sorted, n_cfg, sizeof(*sorted), _fos_entry_cmp))
					continue;
				r = fos_rset_append_entry(&ps->s, e);
				if (r < 0)
					return r;
			}
		}
		_fos_plan_set_id(ps, old, &pl->next_id);
	}
	return 0;
}

static int _fos_plan_anon_set(struct fos_manager *m, struct _fos_plan *pl,
			      struct _fos_plan_prog *pp, const char *name, const struct fos_cidr *v,
			      size_t n, uint32_t *ret_id)
{
	struct _fos_plan_set *na, *ps;
	uint32_t *ids;
	int r;

	na = realloc(pl->anon, (pl->n_anon + 1) * sizeof(*na));
	if (!na)
		return -ENOMEM;
	pl->anon = na;
	ps = &pl->anon[pl->n_anon++];
	memset(ps, 0, sizeof(*ps));
	snprintf(ps->s.name, sizeof(ps->s.name), "%s", name);
	ps->s.meta_flags = FOS_SET_META_F_ANON;
	for (size_t i = 0; i < n; i++) {
		r = fos_rset_append(&ps->s, &v[i], FOS_SET_F_CONFIG);
		if (r < 0)
			return r;
	}
	_fos_plan_set_id(ps, _fos_find_rset(m->anon, m->n_anon, name), &pl->next_id);

	ids = realloc(pp->set_ids, (pp->n_set_ids + 1) * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	pp->set_ids = ids;
	ids[pp->n_set_ids++] = ps->s.id;
	*ret_id = ps->s.id;
	return 0;
}

static uint32_t _fos_plan_named_id(const struct _fos_plan *pl, const char *name)
{
	for (size_t i = 0; i < pl->n_sets; i++)
		if (strcmp(pl->sets[i].s.name, name) == 0)
			return pl->sets[i].s.id;
	return FOS_SET_ID_NONE;
}

/* Plan the rule CIDR lists as sets (for show and adoption), then build the
 * ruleset the filter runs. */
static int _fos_plan_rules(struct fos_manager *m, struct _fos_plan *pl, struct _fos_plan_prog *pp,
			   struct fos_errors *errs)
{
	const struct fos_program *c = pp->cfg;
	size_t n = c->n_rules ? c->n_rules : 1;
	_cleanup_free_ uint32_t *src = calloc(n, sizeof(uint32_t));
	_cleanup_free_ uint32_t *dst = calloc(n, sizeof(uint32_t));
	struct fos_filter_ids ids = {.rule_src = src, .rule_dst = dst};
	char name[128];
	int r;

	if (!src || !dst)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct fos_match *mt = &c->rules[i].match;

		if (mt->n_src) {
			snprintf(name, sizeof(name), "%s/rules[%zu].src", c->name, i);
			r = _fos_plan_anon_set(m, pl, pp, name, mt->src, mt->n_src, &src[i]);
			if (r < 0)
				return r;
		}
		if (mt->n_dst) {
			snprintf(name, sizeof(name), "%s/rules[%zu].dst", c->name, i);
			r = _fos_plan_anon_set(m, pl, pp, name, mt->dst, mt->n_dst, &dst[i]);
			if (r < 0)
				return r;
		}
	}
	if (c->blacklist.enabled)
		ids.blacklist = _fos_plan_named_id(pl, c->blacklist.set);
	if (c->whitelist.enabled)
		ids.whitelist = _fos_plan_named_id(pl, c->whitelist.set);
	return fos_filter_build(c, &ids, &pp->rs, errs);
}

static int _fos_flip(struct fos_prog_rt *rt, uint32_t slot)
{
	struct fos_filter_maps fm;
	int r;

	fos_prog_filter_maps(rt, &fm);
	r = fos_filter_flip(&fm, slot);

	if (r < 0)
		return r;
	rt->active = slot;
	return 0;
}

static int _fos_devmap_add(struct fos_prog_rt *rt, unsigned ifindex)
{
	struct bpf_map *map = rt->skel->maps.fos_tx_ports;
	uint8_t val[16] = {0};
	uint32_t key = ifindex;

	if (bpf_map__value_size(map) > sizeof(val))
		return -EINVAL;
	memcpy(val, &key, sizeof(key));
	if (bpf_map_update_elem(bpf_map__fd(map), &key, val, BPF_ANY) < 0)
		return -errno;
	return 0;
}

/* remove devmap entries no rule of the live slot uses */
static void _fos_devmap_prune(struct fos_prog_rt *rt, const struct _fos_plan_prog *pp)
{
	int fd = bpf_map__fd(rt->skel->maps.fos_tx_ports);
	uint32_t key, next, *prev = NULL;
	uint32_t stale[64];
	size_t n_stale = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0 && n_stale < ARRAY_SIZE(stale)) {
		bool used = pp->rs.slot.default_ifindex == next;

		for (uint32_t i = 0; i < pp->rs.slot.n_rules && !used; i++)
			used = pp->rs.rules[i].ifindex == next;
		if (!used)
			stale[n_stale++] = next;
		key = next;
		prev = &key;
	}
	for (size_t i = 0; i < n_stale; i++)
		(void)bpf_map_delete_elem(fd, &stale[i]);
}

/* Is the XDP program on ifindex one of ours? */
static bool _fos_is_our_prog(struct fos_manager *m, uint32_t prog_id)
{
	for (size_t i = 0; i < m->n_progs; i++) {
		uint32_t pid, lid;

		fos_prog_ids(m->progs[i], &pid, &lid);
		if (pid == prog_id)
			return true;
	}
	return false;
}

static int _fos_plan_progs(struct fos_manager *m, const struct fos_config *cfg,
			   struct _fos_plan *pl, struct fos_errors *errs)
{
	pl->progs = calloc(cfg->n_programs ? cfg->n_programs : 1, sizeof(*pl->progs));
	if (!pl->progs)
		return -ENOMEM;

	for (size_t i = 0; i < cfg->n_programs; i++) {
		const struct fos_program *c = &cfg->programs[i];
		struct _fos_plan_prog *pp = &pl->progs[pl->n_progs++];
		char err[512];
		int r;

		pp->cfg = c;
		pp->ifindex = if_nametoindex(c->interface);
		if (!pp->ifindex) {
			fos_errors_add(errs, c->src.file, c->src.line,
				       "programs \"%s\": interface \"%s\" does not exist", c->name,
				       c->interface);
			return -EINVAL;
		}

		pp->rt = fos_manager_find_prog(m, c->name);
		if (pp->rt && (pp->rt->type == FOS_PROG_XDP) != (c->type == FOS_PROG_XDP)) {
			fos_errors_add(errs, c->src.file, c->src.line,
				       "programs \"%s\": the running program is %s, the config "
				       "makes it %s; remove the program in one reload and add it "
				       "back in the next (or give it another name)",
				       c->name,
				       pp->rt->type == FOS_PROG_XDP ? "an XDP program"
								    : "a TC program",
				       fos_prog_type_to_string(c->type));
			return -EINVAL;
		}
		if (!pp->rt) {
			pp->rt = calloc(1, sizeof(*pp->rt));
			if (!pp->rt)
				return -ENOMEM;
			pp->is_new = true;
			snprintf(pp->rt->name, sizeof(pp->rt->name), "%s", c->name);
			snprintf(pp->rt->pin_dir, sizeof(pp->rt->pin_dir), "%s/progs/%s",
				 m->pin_dir, c->name);
			pp->rt->type = c->type;
			pp->rt->stateful = c->stateful;
			pp->rt->ddos = fos_program_has_ddos(c);
			r = fos_prog_load(pp->rt, pp->rt->pin_dir, &m->set_maps, &pl->a.ct, err,
					  sizeof(err));
			if (r < 0) {
				fos_errors_add(errs, c->src.file, c->src.line,
					       "programs \"%s\": %s", c->name, err);
				return r;
			}
		} else if (pp->rt->stateful != c->stateful ||
			   pp->rt->ddos != fos_program_has_ddos(c) ||
			   (c->stateful && pl->a.ct_replaced) ||
			   (c->type != FOS_PROG_XDP &&
			    fos_tc_move_needs_new_prog(pp->rt->tc_at, _FOS_TC_ATTACH_MAX,
						       if_nametoindex(c->interface),
						       (uint16_t)c->priority))) {
			/* the feature is compiled in at load (and the table's map with
			 * it), or a tcx link moves within its hook (a hook runs a
			 * program once): a new object on the same pinned maps,
			 * swapped in at staging */
			pp->fresh = calloc(1, sizeof(*pp->fresh));
			if (!pp->fresh)
				return -ENOMEM;
			*pp->fresh = (struct fos_prog_rt){.type = c->type,
							  .stateful = c->stateful,
							  .ddos = fos_program_has_ddos(c)};
			r = fos_prog_load(pp->fresh, pp->rt->pin_dir, &m->set_maps, &pl->a.ct, err,
					  sizeof(err));
			if (r < 0) {
				fos_errors_add(errs, c->src.file, c->src.line,
					       "programs \"%s\": %s", c->name, err);
				return r;
			}
		}
		pp->rt->type = c->type;
		if (c->type != FOS_PROG_XDP) {
			pp->need_track = c->stateful;
			for (size_t j = 0; j < cfg->n_programs && pp->need_track; j++) {
				const struct fos_program *o = &cfg->programs[j];

				if (o != c && o->stateful && o->type != FOS_PROG_XDP &&
				    o->type != c->type && strcmp(o->interface, c->interface) == 0)
					pp->need_track = false;
			}
			r = _fos_plan_rules(m, pl, pp, errs);
			if (r < 0)
				return r;
			goto zone;
		}

		if (pp->rt->link && fos_link_ifindex(pp->rt->link) == 0) {
			/* detached behind our back, or its interface went away */
			log_warning("program %s: its link is no longer attached; attaching again",
				    pp->rt->name);
			(void)bpf_link__unpin(pp->rt->link);
			bpf_link__destroy(pp->rt->link);
			pp->rt->link = NULL;
			pp->rt->ifindex = 0;
		}
		if (!pp->rt->link || pp->rt->ifindex != pp->ifindex) {
			uint32_t cur = 0;
			char cur_name[64] = "";

			r = fos_xdp_query(pp->ifindex, &cur, cur_name, sizeof(cur_name), NULL);
			if (r < 0) {
				fos_errors_add(errs, c->src.file, c->src.line,
					       "programs \"%s\": cannot query XDP on %s: %s",
					       c->name, c->interface, strerror(-r));
				return r;
			}
			if (cur && !_fos_is_our_prog(m, cur)) {
				fos_errors_add(errs, c->src.file, c->src.line,
					       "programs \"%s\": interface %s already has an XDP "
					       "program (id %u, \"%s\") that fos did not attach; "
					       "refusing to replace it",
					       c->name, c->interface, cur, cur_name);
				return -EBUSY;
			}
		}

		r = _fos_plan_rules(m, pl, pp, errs);
		if (r < 0)
			return r;
	zone:
		r = fos_nl_zone(pp->ifindex, &pp->rs.slot.zone);
		if (r < 0) {
			fos_errors_add(errs, c->src.file, c->src.line,
				       "programs \"%s\": cannot read the VRF of %s: %s", c->name,
				       c->interface, strerror(-r));
			return r;
		}
	}
	return 0;
}

static void _fos_tc_ours_add(const struct fos_prog_rt *rt, uint32_t *v, size_t cap, size_t *n)
{
	uint32_t ids[2 + _FOS_TC_ATTACH_MAX] = {0}, lid;

	if (!rt)
		return;
	fos_prog_ids(rt, &ids[0], &lid);
	if (rt->tc)
		ids[1] = fos_prog_fd_id(bpf_program__fd(rt->tc->progs.fos_tc_track));
	for (int j = 0; j < _FOS_TC_ATTACH_MAX; j++)
		ids[2 + j] = rt->tc_at[j].prog_id;
	for (size_t j = 0; j < ARRAY_SIZE(ids); j++)
		if (ids[j] && *n < cap)
			v[(*n)++] = ids[j];
}

/* Program ids fos may replace on a TC hook: every object it holds, and what
 * its programs were last attached with. */
static size_t _fos_tc_ours(struct fos_manager *m, struct _fos_plan *pl, uint32_t *v, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n_progs; i++)
		_fos_tc_ours_add(m->progs[i], v, cap, &n);
	for (size_t i = 0; i < pl->n_progs; i++) {
		_fos_tc_ours_add(pl->progs[i].rt, v, cap, &n);
		_fos_tc_ours_add(pl->progs[i].fresh, v, cap, &n);
		_fos_tc_ours_add(pl->progs[i].prev, v, cap, &n);
	}
	return n;
}

static bool _fos_tc_same_place(const struct fos_tc_attach *a, const struct fos_tc_attach *b)
{
	return a->ifindex && a->ifindex == b->ifindex && a->ingress == b->ingress &&
	       a->priority == b->priority;
}

/* Put rt's TC programs on their hooks: the policy program on the configured
 * direction, the tracker on the other one (stateful, unless another stateful
 * program holds it). A hook already running the right program is left be. */
static int _fos_tc_stage(struct fos_manager *m, struct _fos_plan *pl, struct _fos_plan_prog *pp,
			 char *err, size_t errlen)
{
	struct fos_prog_rt *rt = pp->rt;
	bool ingress = pp->cfg->type == FOS_PROG_TC_INGRESS;
	const struct {
		bool want;
		bool ingress;
		int fd;
	} hook[_FOS_TC_ATTACH_MAX] = {
	    /* fwd's own tracker (connectionsPerIP) tracks on both hooks */
	    [FOS_TC_ATTACH_POLICY] = {true, ingress,
				      bpf_program__fd(pp->cfg->track_only
							  ? rt->tc->progs.fos_tc_track
							  : rt->tc->progs.fos_tc_fw)},
	    [FOS_TC_ATTACH_TRACK] = {pp->need_track, !ingress,
				     bpf_program__fd(rt->tc->progs.fos_tc_track)},
	};
	size_t cap = (m->n_progs + 3 * pl->n_progs) * (2 + _FOS_TC_ATTACH_MAX) + 1, n_ours;
	_cleanup_free_ uint32_t *ours = calloc(cap, sizeof(*ours));
	struct _fos_tc_undo *nu;

	if (!ours)
		return -ENOMEM;
	n_ours = _fos_tc_ours(m, pl, ours, cap);

	for (int i = 0; i < _FOS_TC_ATTACH_MAX; i++) {
		struct fos_tc_attach want = {.ifindex = pp->ifindex,
					     .handle = FOS_TC_HANDLE,
					     .priority = (uint16_t)pp->cfg->priority,
					     .ingress = hook[i].ingress};
		uint32_t cur;
		int r, prev_fd = -1;

		pp->tc_old[i] = rt->tc_at[i];
		pp->tc_saved = true;
		if (!hook[i].want) {
			memset(&rt->tc_at[i], 0, sizeof(rt->tc_at[i]));
			continue;
		}
		cur = fos_tc_query_hook(&want);
		if (_fos_tc_same_place(&pp->tc_old[i], &want) && cur == fos_prog_fd_id(hook[i].fd))
			continue;
		nu = realloc(pl->tc_undo, (pl->n_tc_undo + 1) * sizeof(*nu));
		if (!nu)
			return -ENOMEM;
		pl->tc_undo = nu;
		if (cur) {
			/* what runs there now goes back if this apply is undone */
			prev_fd = bpf_prog_get_fd_by_id(cur);
			if (prev_fd < 0) {
				r = -errno;
				snprintf(err, errlen, "cannot hold the program on its TC hook: %s",
					 strerror(-r));
				return r;
			}
		}
		r = fos_tc_attach_hook(want.ifindex, want.ingress, want.priority, hook[i].fd, ours,
				       n_ours, &rt->tc_at[i], err, errlen);
		if (r < 0) {
			if (prev_fd >= 0)
				close(prev_fd);
			rt->tc_at[i] = pp->tc_old[i];
			return r;
		}
		pl->tc_undo[pl->n_tc_undo++] =
		    (struct _fos_tc_undo){.at = rt->tc_at[i], .prev_fd = prev_fd};
	}
	return 0;
}

/* Undo every hook change of the apply, last first: the program that ran on
 * a hook before goes back, or the filter this apply added is removed. */
static void _fos_tc_undo(struct _fos_plan *pl)
{
	while (pl->n_tc_undo) {
		struct _fos_tc_undo *u = &pl->tc_undo[--pl->n_tc_undo];
		struct fos_tc_attach back;
		char err[256];

		if (u->prev_fd >= 0) {
			uint32_t cur = fos_tc_query_hook(&u->at);

			if (fos_tc_attach_hook(u->at.ifindex, u->at.ingress, u->at.priority,
					       u->prev_fd, &cur, 1, &back, err, sizeof(err)) < 0)
				log_warning("cannot put the previous program back on a TC hook of "
					    "ifindex %u: %s",
					    u->at.ifindex, err);
			close(u->prev_fd);
		} else {
			fos_tc_detach_hook(&u->at);
		}
	}
}

/* ---- the XDP chain of an interface -------------------------------------
 *
 * Several XDP programs on one interface run one after the other, in
 * priority order: the first is attached with the interface's bpf_link
 * (pinned in its own pin dir), and each program's fos_next[0] holds the next
 * one, which a passed packet tail-calls; the last one's is empty. Links and
 * fos_next maps are pinned, so the chain outlives fwd.
 *
 * An apply moves from the running chain to the configured one so that no
 * packet ever skips a program that stays. The running programs that keep
 * their place (the longest run whose order the config keeps, on the same
 * interface) are anchors. Every other program of the new chain is a new
 * program, or a fresh instance of a program that moves: loaded on that
 * program's pinned maps, but with a fos_next of its own, so the running
 * instance keeps pointing where it did. Then, one gap between two anchors
 * at a time:
 *   1. its new programs are wired tail first, the last one pointing where
 *      the gap's first pointer points now, and that pointer (an anchor's
 *      fos_next, or the link) is pointed at the first of them: the chain
 *      now holds the old and the new programs;
 *   2. the gap's last new program (or its anchor) is pointed past the old
 *      ones, at the next anchor.
 * Each step adds or removes programs at one place with one atomic update, so
 * every packet runs every program that stays; one that moves may run twice
 * for an instant (both instances share its maps), never zero times. A
 * moved instance's fos_next then becomes the pinned one. The old instances
 * are destroyed when the event loop is next idle, so that packets still
 * inside them finish their way down the chain. A restarted fwd, whose
 * programs are new builds of the running ones, points every place at its
 * build the same way, tail first, the link last.
 */

static uint32_t _fos_map_fd_id(int fd)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

/* Whose instance is program prog_id? Every instance of a program (an older
 * build, or one being replaced) uses that program's fos_next. */
static struct fos_prog_rt *_fos_chain_rt_of(struct fos_manager *m, uint32_t prog_id)
{
	uint32_t map_ids[64];
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info), n;
	_cleanup_close_ int fd = bpf_prog_get_fd_by_id(prog_id);

	if (fd < 0)
		return NULL;
	info.nr_map_ids = ARRAY_SIZE(map_ids);
	info.map_ids = (uint64_t)(uintptr_t)map_ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return NULL;
	n = info.nr_map_ids < ARRAY_SIZE(map_ids) ? info.nr_map_ids : ARRAY_SIZE(map_ids);
	for (size_t i = 0; i < m->n_progs; i++) {
		struct fos_prog_rt *rt = m->progs[i];
		uint32_t id;

		if (!rt->skel)
			continue;
		id = _fos_map_fd_id(bpf_map__fd(rt->skel->maps.fos_next));
		for (uint32_t j = 0; id && j < n; j++)
			if (map_ids[j] == id)
				return rt;
	}
	return NULL;
}

/* The program a chain pointer holds: fos_next[0] of map_fd, or (map_fd -1)
 * the link's. 0 for none. */
static uint32_t _fos_chain_get(int map_fd, struct bpf_link *link)
{
	uint32_t k = 0, id = 0;

	if (map_fd >= 0)
		return bpf_map_lookup_elem(map_fd, &k, &id) == 0 ? id : 0;
	if (link) {
		struct bpf_link_info info = {};
		uint32_t len = sizeof(info);

		if (bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len) == 0)
			return info.prog_id;
	}
	return 0;
}

static int _fos_next_fd(const struct fos_prog_rt *rt)
{
	return bpf_map__fd(rt->skel->maps.fos_next);
}

/* Point fos_next[0] of map_fd (or, map_fd -1, ch's link) at prog_fd (-1:
 * none), recorded for undo. */
static int _fos_chain_set(struct _fos_plan *pl, struct _fos_chain *ch, int map_fd, int prog_fd,
			  char *err, size_t errlen)
{
	uint32_t cur = _fos_chain_get(map_fd, ch->link), k = 0;
	struct _fos_ptr_undo *v, *u;
	int r;

	if (cur == (prog_fd >= 0 ? fos_prog_fd_id(prog_fd) : 0))
		return 0;
	v = realloc(pl->ptr_undo, (pl->n_ptr_undo + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	pl->ptr_undo = v;
	u = &v[pl->n_ptr_undo];
	*u = (struct _fos_ptr_undo){.map_fd = -1, .ch = ch, .prev_fd = -1};
	if (cur) {
		u->prev_fd = bpf_prog_get_fd_by_id(cur);
		if (u->prev_fd < 0) {
			r = -errno;
			snprintf(err, errlen, "cannot hold program %u of the XDP chain: %s", cur,
				 strerror(-r));
			return r;
		}
	}
	if (map_fd >= 0) {
		u->map_fd = fcntl(map_fd, F_DUPFD_CLOEXEC, 3);
		if (u->map_fd < 0) {
			r = -errno;
			close(u->prev_fd);
			snprintf(err, errlen, "cannot hold a map of the XDP chain: %s",
				 strerror(-r));
			return r;
		}
		r = prog_fd >= 0 ? bpf_map_update_elem(map_fd, &k, &prog_fd, BPF_ANY)
				 : bpf_map_delete_elem(map_fd, &k);
	} else {
		r = bpf_link_update(bpf_link__fd(ch->link), prog_fd, NULL);
	}
	if (r < 0) {
		r = -errno;
		if (u->map_fd >= 0)
			close(u->map_fd);
		if (u->prev_fd >= 0)
			close(u->prev_fd);
		snprintf(err, errlen, "cannot link the XDP programs of the interface: %s",
			 strerror(-r));
		return r;
	}
	pl->n_ptr_undo++;
	return 0;
}

static void _fos_chain_undo_ptrs(struct _fos_plan *pl)
{
	while (pl->n_ptr_undo) {
		struct _fos_ptr_undo *u = &pl->ptr_undo[--pl->n_ptr_undo];
		uint32_t k = 0;
		int r = 0;

		if (u->map_fd < 0) {
			if (u->prev_fd >= 0)
				r = bpf_link_update(bpf_link__fd(u->ch->link), u->prev_fd, NULL);
		} else if (u->prev_fd >= 0) {
			r = bpf_map_update_elem(u->map_fd, &k, &u->prev_fd, BPF_ANY);
		} else if (bpf_map_delete_elem(u->map_fd, &k) < 0 && errno != ENOENT) {
			r = -errno;
		}
		if (r < 0)
			log_warning_errno(-errno,
					  "cannot put the XDP chain of ifindex %u back as it was, "
					  "ignoring",
					  u->ch->ifindex);
		if (u->map_fd >= 0)
			close(u->map_fd);
		if (u->prev_fd >= 0)
			close(u->prev_fd);
	}
}

static struct _fos_chain *_fos_chain_of(struct _fos_plan *pl, unsigned ifindex)
{
	for (size_t i = 0; i < pl->n_chains; i++)
		if (pl->chains[i].ifindex == ifindex)
			return &pl->chains[i];
	assert(pl->n_chains < pl->cap_chains);
	pl->chains[pl->n_chains] = (struct _fos_chain){.ifindex = ifindex};
	return &pl->chains[pl->n_chains++];
}

/* Does rt run in some interface's chain now? */
static bool _fos_chain_running(const struct _fos_plan *pl, const struct fos_prog_rt *rt)
{
	for (size_t i = 0; i < pl->n_chains; i++)
		for (size_t j = 0; j < pl->chains[i].n_cur; j++)
			if (pl->chains[i].cur[j] == rt)
				return true;
	return false;
}

/* The anchors: the longest run of running programs that keeps its order. */
static void _fos_chain_anchors(struct _fos_chain *ch)
{
	int pos[FOS_CHAIN_MAX], len[FOS_CHAIN_MAX], prev[FOS_CHAIN_MAX], best = -1;

	for (int i = 0; i < (int)ch->n_want; i++) {
		pos[i] = -1;
		len[i] = 0;
		prev[i] = -1;
		for (int j = 0; j < (int)ch->n_cur; j++)
			if (ch->cur[j] == ch->want[i]->rt)
				pos[i] = j;
		if (pos[i] < 0)
			continue;
		len[i] = 1;
		for (int j = 0; j < i; j++)
			if (pos[j] >= 0 && pos[j] < pos[i] && len[j] + 1 > len[i]) {
				len[i] = len[j] + 1;
				prev[i] = j;
			}
		if (best < 0 || len[i] > len[best])
			best = i;
	}
	for (int i = best; i >= 0; i = prev[i])
		ch->kept[i] = true;
}

/* Read the running chains, order the configured ones, and load an instance
 * of every program that changes its place. */
static int _fos_plan_chains(struct fos_manager *m, struct _fos_plan *pl, struct fos_errors *errs)
{
	int r;

	pl->cap_chains = pl->n_progs + m->n_progs + 1;
	pl->chains = calloc(pl->cap_chains, sizeof(*pl->chains));
	if (!pl->chains)
		return -ENOMEM;
	/* running: from the link down the fos_next pointers */
	for (size_t i = 0; i < m->n_progs; i++) {
		struct fos_prog_rt *rt = m->progs[i];
		unsigned ifindex = rt->skel ? fos_link_ifindex(rt->link) : 0;
		struct _fos_chain *ch;
		uint32_t id;

		if (!ifindex)
			continue;
		ch = _fos_chain_of(pl, ifindex);
		if (ch->owner)
			continue;
		ch->owner = rt;
		for (id = _fos_chain_get(-1, rt->link); id && ch->n_cur < FOS_CHAIN_MAX;) {
			struct fos_prog_rt *o = _fos_chain_rt_of(m, id);

			if (!o || _fos_chain_running(pl, o))
				break;
			ch->cur[ch->n_cur++] = o;
			id = _fos_chain_get(_fos_next_fd(o), NULL);
		}
	}
	/* configured: priority order, config order among equals */
	for (size_t i = 0; i < pl->n_progs; i++) {
		struct _fos_plan_prog *pp = &pl->progs[i];
		struct _fos_chain *ch;
		size_t j;

		if (pp->cfg->type != FOS_PROG_XDP)
			continue;
		ch = _fos_chain_of(pl, pp->ifindex);
		if (ch->n_want == FOS_CHAIN_MAX) {
			fos_errors_add(
			    errs, pp->cfg->src.file, pp->cfg->src.line,
			    "programs \"%s\": interface %s already runs %d XDP programs, "
			    "the most one interface can chain",
			    pp->cfg->name, pp->cfg->interface, FOS_CHAIN_MAX);
			return -E2BIG;
		}
		for (j = ch->n_want; j > 0 && ch->want[j - 1]->cfg->priority > pp->cfg->priority;
		     j--)
			ch->want[j] = ch->want[j - 1];
		ch->want[j] = pp;
		ch->n_want++;
	}
	for (size_t c = 0; c < pl->n_chains; c++) {
		struct _fos_chain *ch = &pl->chains[c];

		_fos_chain_anchors(ch);
		for (size_t i = 0; i < ch->n_want; i++) {
			struct _fos_plan_prog *pp = ch->want[i];
			char err[512];

			/* a new program, or one that runs nowhere, is wired as it is */
			if (ch->kept[i] || !_fos_chain_running(pl, pp->rt))
				continue;
			fos_prog_rt_free(pp->fresh);
			pp->fresh = calloc(1, sizeof(*pp->fresh));
			if (!pp->fresh)
				return -ENOMEM;
			*pp->fresh = (struct fos_prog_rt){.type = pp->cfg->type,
							  .stateful = pp->cfg->stateful,
							  .ddos = fos_program_has_ddos(pp->cfg),
							  .private_next = true};
			r = fos_prog_load(pp->fresh, pp->rt->pin_dir, &m->set_maps, &pl->a.ct, err,
					  sizeof(err));
			if (r < 0) {
				fos_errors_add(errs, pp->cfg->src.file, pp->cfg->src.line,
					       "programs \"%s\": %s", pp->cfg->name, err);
				return r;
			}
			pp->moved = true;
		}
	}
	return 0;
}

/* Move one interface from its running chain to the configured one (see
 * above). Every instance of the configured chain is loaded and in rt->skel. */
static int _fos_chain_stage_one(struct _fos_plan *pl, struct _fos_chain *ch, char *err,
				size_t errlen)
{
	int anchor[FOS_CHAIN_MAX + 2], n_gaps = 0;
	int r;

	if (ch->owner)
		ch->link = TAKE_PTR(ch->owner->link);
	/* gap g lies between want[anchor[g]] (-1: the link) and want[anchor[g + 1]]
	 * (n_want: the end) */
	anchor[0] = -1;
	for (int i = 0; i < (int)ch->n_want; i++)
		if (ch->kept[i])
			anchor[++n_gaps] = i;
	anchor[++n_gaps] = (int)ch->n_want;

	/* 1: splice each gap's new programs in after its first pointer */
	for (int g = n_gaps - 1; g >= 0; g--) {
		int first = anchor[g] + 1, last = anchor[g + 1] - 1;
		int pred_fd = anchor[g] < 0 ? -1 : _fos_next_fd(ch->want[anchor[g]]->rt);
		uint32_t target;
		_cleanup_close_ int target_fd = -1;

		if (first > last)
			continue;
		target = _fos_chain_get(pred_fd, pred_fd < 0 ? ch->link : NULL);
		if (target) {
			target_fd = bpf_prog_get_fd_by_id(target);
			if (target_fd < 0) {
				r = -errno;
				snprintf(err, errlen, "cannot hold program %u of the XDP chain: %s",
					 target, strerror(-r));
				return r;
			}
		}
		for (int j = last; j >= first; j--) {
			r = _fos_chain_set(pl, ch, _fos_next_fd(ch->want[j]->rt),
					   j == last ? target_fd
						     : fos_prog_main_fd(ch->want[j + 1]->rt),
					   err, errlen);
			if (r < 0)
				return r;
		}
		if (pred_fd < 0 && !ch->link) {
			struct fos_prog_rt *rt = ch->want[first]->rt;

			ch->link =
			    bpf_program__attach_xdp(rt->skel->progs.fos_xdp_filter, ch->ifindex);
			if (!ch->link) {
				r = -errno;
				snprintf(err, errlen, "cannot attach XDP to %s: %s", rt->ifname,
					 strerror(-r));
				return r;
			}
			ch->created = true;
			continue;
		}
		r = _fos_chain_set(pl, ch, pred_fd, fos_prog_main_fd(ch->want[first]->rt), err,
				   errlen);
		if (r < 0)
			return r;
	}
	/* 2: point each gap's last pointer past the old programs, tail first */
	for (int g = n_gaps - 1; g >= 0; g--) {
		int first = anchor[g] + 1, last = anchor[g + 1] - 1;
		int from = first <= last ? last : anchor[g];
		int to = anchor[g + 1] < (int)ch->n_want
			     ? fos_prog_main_fd(ch->want[anchor[g + 1]]->rt)
			     : -1;

		if (from < 0 && (to < 0 || !ch->link))
			continue; /* no program stays: the link goes at commit */
		r = _fos_chain_set(pl, ch, from < 0 ? -1 : _fos_next_fd(ch->want[from]->rt), to,
				   err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

static int _fos_chain_stage(struct fos_manager *m, struct _fos_plan *pl, struct fos_errors *errs)
{
	char err[512], path[640];
	int r;

	for (size_t c = 0; c < pl->n_chains; c++) {
		struct _fos_chain *ch = &pl->chains[c];

		r = _fos_chain_stage_one(pl, ch, err, sizeof(err));
		if (r < 0) {
			const struct fos_program *cfg = ch->n_want ? ch->want[0]->cfg : NULL;

			fos_errors_add(errs, cfg ? cfg->src.file : m->config_path,
				       cfg ? cfg->src.line : 0, "programs \"%s\": %s",
				       cfg	   ? cfg->name
				       : ch->owner ? ch->owner->name
						   : "?",
				       err);
			return r;
		}
	}
	/* the link is pinned in its first program's dir: out of the old ones
	 * first, as two interfaces may swap their first programs */
	for (size_t c = 0; c < pl->n_chains; c++) {
		struct _fos_chain *ch = &pl->chains[c];

		if (ch->link && ch->owner && (!ch->n_want || ch->owner != ch->want[0]->rt)) {
			(void)bpf_link__unpin(ch->link);
			ch->unpinned = true;
		}
	}
	for (size_t c = 0; c < pl->n_chains; c++) {
		struct _fos_chain *ch = &pl->chains[c];
		struct fos_prog_rt *rt;

		if (!ch->link || !ch->n_want || !(ch->created || ch->unpinned))
			continue;
		rt = ch->want[0]->rt;
		snprintf(path, sizeof(path), "%s/link", rt->pin_dir);
		(void)unlink(path);
		r = bpf_link__pin(ch->link, path);
		if (r < 0) {
			fos_errors_add(errs, ch->want[0]->cfg->src.file, ch->want[0]->cfg->src.line,
				       "programs \"%s\": cannot pin the link at %s: %s", rt->name,
				       path, strerror(-r));
			return r;
		}
		ch->pinned_at = rt;
	}
	/* a moved program's fos_next is now its instance's */
	for (size_t i = 0; i < pl->n_progs; i++) {
		struct _fos_plan_prog *pp = &pl->progs[i];

		if (!pp->moved)
			continue;
		snprintf(path, sizeof(path), "%s/fos_next", pp->rt->pin_dir);
		(void)unlink(path);
		pp->next_repinned = true;
		if (bpf_obj_pin(_fos_next_fd(pp->rt), path) < 0) {
			r = -errno;
			fos_errors_add(errs, pp->cfg->src.file, pp->cfg->src.line,
				       "programs \"%s\": cannot pin %s: %s", pp->rt->name, path,
				       strerror(-r));
			return r;
		}
	}
	return 0;
}

/* Put every chain back as it ran before the apply. Before the objects are
 * swapped back: pp->prev still holds the instances that ran. */
static void _fos_chain_rollback(struct _fos_plan *pl)
{
	char path[640];

	_fos_chain_undo_ptrs(pl);
	for (size_t i = 0; i < pl->n_progs; i++) {
		struct _fos_plan_prog *pp = &pl->progs[i];

		if (!pp->next_repinned || !pp->prev || !pp->prev->skel)
			continue;
		snprintf(path, sizeof(path), "%s/fos_next", pp->rt->pin_dir);
		(void)unlink(path);
		if (bpf_obj_pin(_fos_next_fd(pp->prev), path) < 0)
			log_warning_errno(-errno, "program %s: cannot pin %s again, ignoring",
					  pp->rt->name, path);
		pp->next_repinned = false;
	}
	for (size_t c = 0; c < pl->n_chains; c++)
		if (pl->chains[c].pinned_at)
			(void)bpf_link__unpin(pl->chains[c].link);
	for (size_t c = 0; c < pl->n_chains; c++) {
		struct _fos_chain *ch = &pl->chains[c];

		if (ch->unpinned) {
			snprintf(path, sizeof(path), "%s/link", ch->owner->pin_dir);
			if (bpf_link__pin(ch->link, path) < 0)
				log_warning("program %s: cannot pin its link again at %s",
					    ch->owner->name, path);
		}
		if (ch->created) {
			(void)bpf_link__detach(ch->link);
			bpf_link__destroy(ch->link);
		} else if (ch->link) {
			ch->owner->link = ch->link;
		}
		ch->link = NULL;
		ch->created = ch->unpinned = false;
		ch->pinned_at = NULL;
	}
}

/* An XDP object out of every chain: destroyed by fos_manager_gc(). */
static void _fos_retire_prog(struct fos_manager *m, struct fos_prog_rt *rt)
{
	struct fos_prog_rt **v;

	if (!rt->skel) {
		fos_prog_rt_free(rt);
		return;
	}
	v = realloc(m->retired_progs, (m->n_retired_progs + 1) * sizeof(*v));
	if (!v) {
		fos_prog_rt_free(rt);
		return;
	}
	m->retired_progs = v;
	v[m->n_retired_progs++] = rt;
}

/* Committed: each link to its first program (or gone with its last one),
 * the replaced instances retired. */
static void _fos_chain_commit(struct fos_manager *m, struct _fos_plan *pl)
{
	for (size_t c = 0; c < pl->n_chains; c++) {
		struct _fos_chain *ch = &pl->chains[c];

		if (!ch->n_want) {
			if (ch->link) {
				(void)bpf_link__detach(ch->link);
				bpf_link__destroy(ch->link);
				ch->link = NULL;
			}
			continue;
		}
		if (ch->link) {
			struct fos_prog_rt *head = ch->want[0]->rt;

			if (head->link) {
				bpf_link__disconnect(head->link);
				bpf_link__destroy(head->link);
			}
			head->link = TAKE_PTR(ch->link);
		}
		for (size_t i = 0; i < ch->n_want; i++) {
			struct fos_prog_rt *rt = ch->want[i]->rt;

			rt->ifindex = ch->ifindex;
			rt->chain_pos = (unsigned)i + 1;
			snprintf(rt->chain_next, sizeof(rt->chain_next), "%s",
				 i + 1 < ch->n_want ? ch->want[i + 1]->rt->name : "");
		}
	}
	for (size_t i = 0; i < pl->n_progs; i++) {
		struct _fos_plan_prog *pp = &pl->progs[i];

		if (pp->moved)
			log_info("program %s: now at place %u of the XDP programs of %s",
				 pp->rt->name, pp->rt->chain_pos, pp->rt->ifname);
		if (pp->prev && pp->prev->skel)
			_fos_retire_prog(m, TAKE_PTR(pp->prev));
	}
}

/* Swap the objects of rt and pp->fresh (staging) or pp->prev (undo). */
static void _fos_swap_objects(struct fos_prog_rt *a, struct fos_prog_rt *b)
{
	struct fos_xdp_filter *xs = a->skel;
	struct fos_tc *ts = a->tc;
	bool st = a->stateful, dd = a->ddos;

	a->skel = b->skel;
	a->tc = b->tc;
	a->stateful = b->stateful;
	a->ddos = b->ddos;
	b->skel = xs;
	b->tc = ts;
	b->stateful = st;
	b->ddos = dd;
}

static void _fos_rollback(struct fos_manager *m, struct _fos_plan *pl)
{
	_fos_chain_rollback(pl);
	/* before any object is swapped back or freed: the fds it holds keep
	 * the previous programs alive */
	_fos_tc_undo(pl);
	for (size_t i = 0; i < pl->n_progs; i++) {
		struct _fos_plan_prog *pp = &pl->progs[i];

		if (!pp->rt)
			continue;
		if (pp->tc_saved)
			memcpy(pp->rt->tc_at, pp->tc_old, sizeof(pp->tc_old));
		if (pp->prev) {
			/* the object swapped in at staging goes; the old one runs again
			 * (the chains already point at it) */
			_fos_swap_objects(pp->rt, pp->prev);
			if (pp->prev->skel)
				_fos_retire_prog(m, TAKE_PTR(pp->prev));
		}
		if (pp->flipped)
			(void)_fos_flip(pp->rt, pp->rt->active ^ 1);
		/* staging named the configured interface: back to the one it runs on */
		if (pp->rt->skel && pp->rt->ifindex &&
		    !if_indextoname(pp->rt->ifindex, pp->rt->ifname))
			pp->rt->ifname[0] = 0;
		if (pp->is_new) {
			fos_prog_detach(pp->rt);
			_fos_unpin_dir(pp->rt->pin_dir);
			/* an XDP program may have run in a chain for a moment */
			_fos_retire_prog(m, pp->rt);
			pp->rt = NULL;
		}
	}
	for (size_t i = 0; i < pl->n_sets; i++)
		if (pl->sets[i].write)
			fos_sets_erase(&m->set_maps, &pl->sets[i].s);
	for (size_t i = 0; i < pl->n_anon; i++)
		if (pl->anon[i].write)
			fos_sets_erase(&m->set_maps, &pl->anon[i].s);
}

/* A set the live state no longer uses: its name goes now (so a restart never
 * sees two sets of one name), its entries later, in fos_manager_gc(), after
 * the reply has gone out. Entries left by a stop before that are nameless and
 * erased at the next start. */
static void _fos_retire(struct fos_manager *m, struct fos_rset *s)
{
	struct fos_rset *v = realloc(m->retired, (m->n_retired + 1) * sizeof(*v));

	(void)bpf_map_delete_elem(m->set_maps.meta, &s->id);
	if (!v) {
		fos_sets_erase(&m->set_maps, s);
		return;
	}
	m->retired = v;
	v[m->n_retired++] = *s;
	/* the entries now belong to the retired copy */
	s->e = NULL;
	s->file = NULL;
	s->idx = NULL;
	s->n = s->cap = s->idx_cap = 0;
}

bool fos_manager_gc(struct fos_manager *m)
{
	if (!m->n_retired && !m->n_retired_progs)
		return false;
	for (size_t i = 0; i < m->n_retired_progs; i++)
		fos_prog_rt_free(m->retired_progs[i]);
	free(m->retired_progs);
	m->retired_progs = NULL;
	m->n_retired_progs = 0;
	for (size_t i = 0; i < m->n_retired; i++) {
		fos_sets_erase(&m->set_maps, &m->retired[i]);
		fos_rset_free(&m->retired[i]);
	}
	free(m->retired);
	m->retired = NULL;
	m->n_retired = 0;
	return true;
}

static bool _fos_id_kept(const struct _fos_plan_set *v, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].s.id == id)
			return true;
	return false;
}

/* For tests: FOS_TEST_APPLY_HOLD_MS=N (1-10000) holds every apply for N ms
 * once it has staged everything, just before the flips, so a test can make
 * the datapath act under the old settings while a reload is under way. */
#define FOS_APPLY_HOLD_ENV "FOS_TEST_APPLY_HOLD_MS"

static void _fos_apply_hold(void)
{
	const char *v = getenv(FOS_APPLY_HOLD_ENV);
	struct timespec ts;
	char *end;
	long ms;

	if (!v || !*v)
		return;
	errno = 0;
	ms = strtol(v, &end, 10);
	if (errno || *end || ms < 1 || ms > 10000) {
		log_warning("%s=%s ignored: not 1-10000", FOS_APPLY_HOLD_ENV, v);
		return;
	}
	log_info("apply staged, held for %ld ms (%s)", ms, FOS_APPLY_HOLD_ENV);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = ms % 1000 * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Does the live slot of obj hold every feature's part of cfg already? */
static bool _fos_features_slot_hold(const struct fos_prog_rt *obj, uint32_t slot,
				    const struct fos_program *cfg, uint32_t blacklist_set)
{
	for (size_t i = 0; fos_features[i]; i++)
		if (fos_features[i]->slot_holds &&
		    !fos_features[i]->slot_holds(obj, slot, cfg, blacklist_set))
			return false;
	return true;
}

static int _fos_features_slot_write(const struct fos_prog_rt *obj, uint32_t slot,
				    const struct fos_program *cfg, uint32_t blacklist_set)
{
	for (size_t i = 0; fos_features[i]; i++)
		if (fos_features[i]->slot_write) {
			int r = fos_features[i]->slot_write(obj, slot, cfg, blacklist_set);

			if (r < 0)
				return r;
		}
	return 0;
}

static int _fos_apply(struct fos_manager *m, struct fos_config *cfg, struct fos_errors *errs)
{
	struct _fos_plan pl = {.next_id = m->next_set_id};
	_cleanup_free_ struct fos_prog_rt **new_progs = NULL;
	_cleanup_free_ struct fos_rset *new_sets = NULL, *new_anon = NULL;
	_cleanup_free_ struct fos_set_alias *aliases = NULL;
	size_t n_aliases = 0;
	uint64_t gen = m->generation + 1;
	char err[512];
	int r;

	r = _fos_plan_named_sets(m, cfg, &pl);
	if (r < 0)
		goto fail;
	/* the features' state beside the live one; the connection table before
	 * any stateful program is loaded */
	pl.a = (struct fos_apply){.cfg = cfg, .errs = errs, .ct = m->ct};
	for (size_t i = 0; fos_features[i]; i++) {
		pl.n_prepared = i + 1;
		if (fos_features[i]->prepare) {
			r = fos_features[i]->prepare(m, &pl.a, &pl.tx[i]);
			if (r < 0)
				goto fail;
		}
	}
	r = _fos_plan_progs(m, cfg, &pl, errs);
	if (r == 0)
		r = _fos_plan_chains(m, &pl, errs);
	if (r < 0)
		goto fail;
	for (size_t i = 0; fos_features[i]; i++)
		if (fos_features[i]->stage) {
			r = fos_features[i]->stage(m, &pl.a, pl.tx[i]);
			if (r < 0)
				goto fail;
		}

	/* stage: sets under new ids, inactive slots, redirect targets, links */
	for (size_t i = 0; i < pl.n_sets; i++)
		if (pl.sets[i].write) {
			r = fos_sets_write(&m->set_maps, &pl.sets[i].s, gen);
			if (r < 0) {
				fos_errors_add(errs, m->config_path, 0,
					       "ipSets \"%s\": cannot write %zu entries: %s",
					       pl.sets[i].s.name, pl.sets[i].s.n, strerror(-r));
				goto fail;
			}
		}
	for (size_t i = 0; i < pl.n_anon; i++)
		if (pl.anon[i].write) {
			r = fos_sets_write(&m->set_maps, &pl.anon[i].s, gen);
			if (r < 0) {
				fos_errors_add(errs, m->config_path, 0, "%s: cannot write: %s",
					       pl.anon[i].s.name, strerror(-r));
				goto fail;
			}
		}
	for (size_t i = 0; i < pl.n_progs; i++) {
		struct _fos_plan_prog *pp = &pl.progs[i];
		struct fos_prog_rt *rt = pp->rt;
		/* the DDoS settings are read by the object that runs after this
		 * apply: a fresh one has its own map if it has DDoS and rt not */
		const struct fos_prog_rt *dobj = pp->fresh ? pp->fresh : rt;
		struct fos_filter_maps fm;

		fos_prog_filter_maps(rt, &fm);
		pp->rs.slot.generation = gen;
		pp->write_slot =
		    pp->is_new || !fos_filter_slot_holds(&fm, rt->active, &pp->rs) ||
		    !_fos_features_slot_hold(dobj, rt->active, pp->cfg, pp->rs.slot.blacklist_set);
		if (pp->write_slot) {
			r = _fos_features_slot_write(dobj, rt->active ^ 1, pp->cfg,
						     pp->rs.slot.blacklist_set);
			if (r == 0)
				r = fos_filter_write_slot(&fm, rt->active ^ 1, &pp->rs);
			if (r < 0) {
				fos_errors_add(errs, pp->cfg->src.file, pp->cfg->src.line,
					       "programs \"%s\": cannot write its rules: %s",
					       rt->name, strerror(-r));
				goto fail;
			}
		}
		if (pp->write_slot && pp->is_new) {
			/* nothing runs it yet: it starts with its rules, not an empty slot */
			r = _fos_flip(rt, rt->active ^ 1);
			if (r < 0)
				goto fail;
			pp->write_slot = false;
			rt->generation = gen;
		}
		if (pp->fresh) {
			_fos_swap_objects(rt, pp->fresh);
			pp->prev = TAKE_PTR(pp->fresh);
		}
		snprintf(rt->ifname, sizeof(rt->ifname), "%s", pp->cfg->interface);
		if (rt->tc) {
			r = _fos_tc_stage(m, &pl, pp, err, sizeof(err));
			if (r < 0) {
				fos_errors_add(errs, pp->cfg->src.file, pp->cfg->src.line,
					       "programs \"%s\": %s: %s", rt->name,
					       pp->cfg->interface, err);
				goto fail;
			}
			continue;
		}
		if (pp->rs.slot.default_ifindex)
			r = _fos_devmap_add(rt, pp->rs.slot.default_ifindex);
		for (uint32_t j = 0; j < pp->rs.slot.n_rules && r >= 0; j++)
			if (pp->rs.rules[j].ifindex)
				r = _fos_devmap_add(rt, pp->rs.rules[j].ifindex);
		if (r < 0) {
			fos_errors_add(errs, pp->cfg->src.file, pp->cfg->src.line,
				       "programs \"%s\": cannot add a redirect target: %s "
				       "(does the interface support XDP redirect?)",
				       rt->name, strerror(-r));
			goto fail;
		}
		snprintf(rt->ifname, sizeof(rt->ifname), "%s", pp->cfg->interface);
	}
	/* the XDP programs of each interface, linked in their new order */
	r = _fos_chain_stage(m, &pl, errs);
	if (r < 0)
		goto fail;

	/* everything the commit needs is allocated before anything flips */
	new_progs = calloc(pl.n_progs ? pl.n_progs : 1, sizeof(*new_progs));
	new_sets = calloc(pl.n_sets ? pl.n_sets : 1, sizeof(*new_sets));
	new_anon = calloc(pl.n_anon ? pl.n_anon : 1, sizeof(*new_anon));
	aliases = calloc(m->n_sets ? m->n_sets : 1, sizeof(*aliases));
	if (!new_progs || !new_sets || !new_anon || !aliases) {
		r = -ENOMEM;
		goto fail;
	}

	_fos_apply_hold();
	/* commit: flip every program that got a new slot */
	for (size_t i = 0; i < pl.n_progs; i++) {
		struct _fos_plan_prog *pp = &pl.progs[i];

		if (!pp->write_slot)
			continue;
		r = _fos_flip(pp->rt, pp->rt->active ^ 1);
		if (r < 0) {
			fos_errors_add(errs, pp->cfg->src.file, pp->cfg->src.line,
				       "programs \"%s\": cannot switch rulesets: %s", pp->rt->name,
				       strerror(-r));
			goto fail;
		}
		pp->flipped = true;
	}

	/* committed: retire what the new config no longer has */
	_fos_chain_commit(m, &pl);
	for (size_t i = 0; i < pl.n_progs; i++) {
		struct _fos_plan_prog *pp = &pl.progs[i];

		if (pp->rt->tc) {
			for (int k = 0; k < _FOS_TC_ATTACH_MAX; k++)
				if (pp->tc_old[k].ifindex &&
				    !_fos_tc_same_place(&pp->tc_old[k], &pp->rt->tc_at[k]))
					fos_tc_detach_hook(&pp->tc_old[k]);
			if (fos_tc_save_attach(pp->rt) < 0)
				log_warning("program %s: cannot record its TC hooks; a restarted "
					    "fwd will not find them",
					    pp->rt->name);
		} else {
			_fos_devmap_prune(pp->rt, pp);
		}
		/* loaded again without DDoS mitigation: its DDoS maps go with the
		 * object that used them */
		if (pp->prev && pp->prev->ddos && !pp->rt->ddos)
			fos_prog_unpin_ddos(pp->rt->pin_dir);
		pp->rt->cfg = pp->cfg;
		pp->rt->adopted = false;
		free(pp->rt->set_ids);
		pp->rt->set_ids = TAKE_PTR(pp->set_ids);
		if (pp->write_slot) {
			pp->rt->generation = gen;
			pp->rt->updated_at = time(NULL);
		}
		if (!pp->rt->updated_at)
			pp->rt->updated_at = time(NULL);
	}
	for (size_t i = 0; i < m->n_progs; i++) {
		struct fos_prog_rt *rt = m->progs[i];
		bool kept = false;

		for (size_t j = 0; j < pl.n_progs && !kept; j++)
			kept = pl.progs[j].rt == rt;
		if (kept)
			continue;
		log_info("program %s removed: detaching from %s", rt->name, rt->ifname);
		fos_prog_detach(rt);
		for (int k = 0; k < _FOS_TC_ATTACH_MAX; k++)
			fos_tc_detach_hook(&rt->tc_at[k]);
		_fos_unpin_dir(rt->pin_dir);
		/* an XDP object lives on until packets inside it are through */
		_fos_retire_prog(m, rt);
	}
	for (size_t i = 0; fos_features[i]; i++)
		if (fos_features[i]->commit)
			fos_features[i]->commit(m, &pl.a, TAKE_PTR(pl.tx[i]));
	pl.n_prepared = 0;
	free(m->progs);
	m->progs = TAKE_PTR(new_progs);
	for (size_t i = 0; i < pl.n_progs; i++)
		m->progs[i] = pl.progs[i].rt;
	m->n_progs = pl.n_progs;

	for (size_t i = 0; i < m->n_sets; i++)
		if (!_fos_id_kept(pl.sets, pl.n_sets, m->sets[i].id)) {
			/* blocks the datapath made under the old id find the set by
			 * its name until the next reload */
			aliases[n_aliases].id = m->sets[i].id;
			snprintf(aliases[n_aliases].name, sizeof(aliases[n_aliases].name), "%s",
				 m->sets[i].name);
			n_aliases++;
			_fos_retire(m, &m->sets[i]);
		}
	free(m->set_aliases);
	m->set_aliases = TAKE_PTR(aliases);
	m->n_set_aliases = n_aliases;
	for (size_t i = 0; i < m->n_anon; i++)
		if (!_fos_id_kept(pl.anon, pl.n_anon, m->anon[i].id))
			_fos_retire(m, &m->anon[i]);
	_fos_rsets_free(m->sets, m->n_sets);
	_fos_rsets_free(m->anon, m->n_anon);
	m->sets = TAKE_PTR(new_sets);
	m->anon = TAKE_PTR(new_anon);
	for (size_t i = 0; i < pl.n_sets; i++)
		m->sets[i] = pl.sets[i].s;
	for (size_t i = 0; i < pl.n_anon; i++)
		m->anon[i] = pl.anon[i].s;
	m->n_sets = pl.n_sets;
	m->n_anon = pl.n_anon;
	pl.n_sets = pl.n_anon = 0;
	m->next_set_id = pl.next_id;
	fos_sets_expiry_reset(&m->set_exp, m->sets, m->n_sets);

	fos_config_free(m->cfg);
	m->cfg = cfg;
	m->generation = gen;
	{
		struct fos_state st = {.generation = gen, .abi = FOS_ABI_VERSION};
		uint32_t k = 0;

		if (bpf_map_update_elem(bpf_map__fd(m->global->maps.fos_state), &k, &st, BPF_ANY) <
		    0)
			log_warning_errno(-errno, "cannot record generation %llu, ignoring",
					  (unsigned long long)gen);
	}
	_fos_plan_free(&pl);
	return 0;

fail:
	_fos_rollback(m, &pl);
	while (pl.n_prepared) {
		size_t i = --pl.n_prepared;

		if (fos_features[i]->abort)
			fos_features[i]->abort(m, &pl.a, TAKE_PTR(pl.tx[i]));
	}
	_fos_plan_free(&pl);
	if (errs->n == 0)
		fos_errors_add(errs, m->config_path, 0, "cannot apply the config: %s",
			       strerror(-r));
	return r < 0 ? r : -EINVAL;
}

static unsigned _fos_ifindex(const char *name)
{
	return if_nametoindex(name);
}

int fos_manager_reload(struct fos_manager *m, struct fos_config *loaded, struct fos_errors *errs)
{
	struct fos_config *cfg = loaded;
	int r;

	if (!cfg) {
		r = fos_config_load(m->config_path, &cfg, errs);
		if (r < 0)
			return r;
	}
	if (m->cfg && !m->pin_dir_forced && strcmp(cfg->daemon.pin_dir, m->pin_dir) != 0) {
		fos_errors_add(errs, cfg->path, 0,
			       "daemon.pinDir: changing the pin directory needs a restart of fwd");
		fos_config_free(cfg);
		return -EINVAL;
	}
	if (m->cfg && m->socket_path && strcmp(cfg->daemon.socket, m->cfg->daemon.socket) != 0 &&
	    strcmp(m->socket_path, m->cfg->daemon.socket) == 0) {
		fos_errors_add(errs, cfg->path, 0,
			       "daemon.socket: changing the socket needs a restart of fwd");
		fos_config_free(cfg);
		return -EINVAL;
	}
	r = fos_config_check_interfaces(cfg, _fos_ifindex, errs);
	if (r < 0) {
		fos_config_free(cfg);
		return r;
	}
	{
		char e[256];

		/* new hooks are attached the new way; those in place stay */
		if (fos_tc_setup(m->pin_dir, cfg->daemon.tc_mode, e, sizeof(e)) < 0) {
			fos_errors_add(errs, cfg->path, 0, "%s", e);
			fos_config_free(cfg);
			return -EINVAL;
		}
		if (!m->cfg || m->cfg->daemon.tc_mode != cfg->daemon.tc_mode)
			log_info("TC hooks: new ones attached as %s (daemon.tcAttach \"%s\")",
				 fos_tc_mode_in_use(), fos_tc_mode_to_string(cfg->daemon.tc_mode));
	}
	/* the apply may free program objects a feature reads */
	for (size_t i = 0; fos_features[i]; i++)
		if (fos_features[i]->quiesce)
			fos_features[i]->quiesce(m);
	r = _fos_apply(m, cfg, errs);
	for (size_t i = 0; fos_features[i]; i++)
		if (fos_features[i]->resume)
			fos_features[i]->resume(m);
	if (r < 0) {
		char e[256];

		if (m->cfg)
			(void)fos_tc_setup(m->pin_dir, m->cfg->daemon.tc_mode, e, sizeof(e));
		fos_config_free(cfg);
		return r;
	}
	{
		int lvl = fos_log_level_from_string(m->cfg->daemon.log_level);

		if (lvl >= 0 && !m->verbose)
			fos_log_set_level(lvl);
	}
	return 0;
}

int fos_manager_check(const char *path, struct fos_errors *errs, struct fos_config **ret_cfg)
{
	struct fos_config *cfg = NULL;
	struct fos_global *g;
	struct fos_ctmaps *ctm = NULL;
	struct fos_ct_fds ct = {-1, -1, -1, -1, -1};
	int r;

	r = fos_config_load(path, &cfg, errs);
	if (r < 0)
		return r;
	r = fos_config_check_interfaces(cfg, _fos_ifindex, errs);
	if (r < 0)
		goto out;
	if (cfg->daemon.tc_mode == FOS_TC_MODE_TCX && !fos_tc_kernel_has_tcx()) {
		char e[256];

		(void)fos_tc_setup(NULL, FOS_TC_MODE_TCX, e, sizeof(e));
		fos_errors_add(errs, path, 0, "%s", e);
		r = -EINVAL;
		goto out;
	}

	/* every program through the verifier, with throw-away maps */
	g = fos_global__open_and_load();
	if (!g) {
		r = -errno;
		fos_errors_add(errs, path, 0, "cannot create BPF maps: %s", strerror(-r));
		goto out;
	}
	if (fos_config_any_stateful(cfg)) {
		ctm = fos_ctmaps__open();
		if (ctm && bpf_map__set_max_entries(ctm->maps.fos_ct, 1024) == 0 &&
		    fos_ctmaps__load(ctm) == 0) {
			ct = (struct fos_ct_fds){
			    bpf_map__fd(ctm->maps.fos_ct), bpf_map__fd(ctm->maps.fos_ct_cfg),
			    bpf_map__fd(ctm->maps.fos_ct_count),
			    bpf_map__fd(ctm->maps.fos_ct_stats), bpf_map__fd(ctm->maps.fos_ct_src)};
		} else {
			r = ctm ? -EINVAL : -errno;
			fos_errors_add(errs, path, 0, "cannot create the connection table: %s",
				       strerror(-r));
			fos_ctmaps__destroy(ctm);
			fos_global__destroy(g);
			goto out;
		}
	}
	for (size_t i = 0; i < cfg->n_programs; i++) {
		const struct fos_program *c = &cfg->programs[i];
		struct fos_prog_rt p = {
		    .type = c->type, .stateful = c->stateful, .ddos = fos_program_has_ddos(c)};
		char err[512];

		struct fos_set_maps sm = {bpf_map__fd(g->maps.fos_sets),
					  bpf_map__fd(g->maps.fos_sets4),
					  bpf_map__fd(g->maps.fos_set_meta)};

		r = fos_prog_load(&p, NULL, &sm, &ct, err, sizeof(err));
		if (r < 0) {
			fos_errors_add(errs, c->src.file, c->src.line, "programs \"%s\": %s",
				       c->name, err);
			break;
		}
		fos_prog_unload(&p);
	}
	fos_ctmaps__destroy(ctm);
	fos_global__destroy(g);
	for (size_t i = 0; r >= 0 && fos_features[i]; i++)
		if (fos_features[i]->check)
			r = fos_features[i]->check(cfg, errs);
out:
	if (r < 0) {
		fos_config_free(cfg);
		return r;
	}
	if (ret_cfg)
		*ret_cfg = cfg;
	else
		fos_config_free(cfg);
	return 0;
}

int fos_manager_set_add(struct fos_manager *m, const char *set, const struct fos_cidr *c,
			uint32_t timeout_s, char *err, size_t errlen)
{
	struct fos_rset *s = fos_manager_find_set(m, set);
	struct fos_set_entry e = {.cidr = *c, .flags = FOS_SET_F_DYNAMIC};
	char buf[FOS_CIDR_STRLEN];
	ssize_t i;
	int r;

	if (!s) {
		snprintf(err, errlen, "no set named \"%s\"", set);
		return -ENOENT;
	}
	fos_cidr_to_string(c, buf, sizeof(buf));
	if (timeout_s)
		e.expires_ns = fos_sets_now_ns() + (uint64_t)timeout_s * 1000000000ULL;
	i = fos_rset_find(s, c);
	if (i >= 0) {
		struct fos_set_entry *old = &s->e[i];

		if (old->flags & FOS_SET_F_CONFIG) {
			if (!timeout_s)
				return 0;
			snprintf(err, errlen,
				 "%s is in the configuration of set \"%s\"; it cannot expire", buf,
				 set);
			return -EPERM;
		}
		/* a runtime entry takes the new expiry (none without a timeout) */
		if (!timeout_s && !old->expires_ns)
			return 0;
		r = fos_sets_add_entry(&m->set_maps, s->id, c, e.flags, e.expires_ns);
		if (r < 0) {
			snprintf(err, errlen, "cannot update %s in \"%s\": %s", buf, set,
				 strerror(-r));
			return r;
		}
		*old = e;
		fos_sets_expiry_note(&m->set_exp, e.expires_ns);
		return 0;
	}
	r = fos_rset_append_entry(s, &e);
	if (r < 0)
		return r;
	r = fos_sets_add_entry(&m->set_maps, s->id, c, e.flags, e.expires_ns);
	if (r < 0) {
		fos_rset_remove_swap(s, s->n - 1);
		snprintf(err, errlen, "cannot add %s to \"%s\": %s", buf, set,
			 r == -E2BIG || r == -ENOSPC ? "the set map is full" : strerror(-r));
		return r;
	}
	fos_sets_expiry_note(&m->set_exp, e.expires_ns);
	return 1;
}

int fos_manager_set_del(struct fos_manager *m, const char *set, const struct fos_cidr *c, char *err,
			size_t errlen)
{
	struct fos_rset *s = fos_manager_find_set(m, set);
	char buf[FOS_CIDR_STRLEN];
	ssize_t i;
	int r;

	if (!s) {
		snprintf(err, errlen, "no set named \"%s\"", set);
		return -ENOENT;
	}
	fos_cidr_to_string(c, buf, sizeof(buf));
	i = fos_rset_find(s, c);
	if (i < 0) {
		snprintf(err, errlen, "%s is not in set \"%s\"", buf, set);
		return -ESRCH;
	}
	if (s->e[i].flags & FOS_SET_F_CONFIG) {
		snprintf(err, errlen,
			 "%s comes from the config of set \"%s\"; remove it there and reload", buf,
			 set);
		return -EPERM;
	}
	r = fos_sets_del_entry(&m->set_maps, s->id, c);
	if (r < 0 && r != -ENOENT) {
		snprintf(err, errlen, "cannot remove %s from \"%s\": %s", buf, set, strerror(-r));
		return r;
	}
	fos_sets_remove_at(&m->set_exp, m->sets, (size_t)(s - m->sets), (size_t)i);
	return 0;
}
