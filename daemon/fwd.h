/* SPDX-License-Identifier: GPL-2.0-only */
/* fwd internals: the manager that owns every program, map and set. */
#ifndef FOS_FWD_H
#define FOS_FWD_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "fos/abi.h"

struct bpf_link;
struct fos_global;
struct fos_xdp_filter;

/* ---- sets (daemon/sets.c) ---------------------------------------------- */

struct fos_set_entry {
	struct fos_cidr cidr;
	uint32_t flags; /* enum fos_set_entry_flags */
};

/* One set as written in fos_sets under one id. */
struct fos_rset {
	char name[128];
	uint32_t id;
	uint32_t meta_flags; /* enum fos_set_meta_flags */
	struct fos_set_entry *e;
	size_t n, cap;
	char *file; /* ipSets[].file, for show */
};

void fos_rset_free(struct fos_rset *s);
int fos_rset_append(struct fos_rset *s, const struct fos_cidr *c, uint32_t flags);
ssize_t fos_rset_find(const struct fos_rset *s, const struct fos_cidr *c);
size_t fos_rset_count(const struct fos_rset *s, uint32_t flag);

/* The maps a set lives in: IPv6 entries, IPv4 entries, and the names. */
struct fos_set_maps {
	int v6;	  /* fos_sets */
	int v4;	  /* fos_sets4 */
	int meta; /* fos_set_meta */
};

/* Write every entry of s under s->id, and its metadata. */
int fos_sets_write(const struct fos_set_maps *maps, const struct fos_rset *s, uint64_t generation);
/* Delete every entry of s (under s->id) and its metadata; best effort. */
void fos_sets_erase(const struct fos_set_maps *maps, const struct fos_rset *s);
/* One entry, live. */
int fos_sets_add_entry(const struct fos_set_maps *maps, uint32_t id, const struct fos_cidr *c,
		       uint32_t flags);
int fos_sets_del_entry(const struct fos_set_maps *maps, uint32_t id, const struct fos_cidr *c);
/* Read the pinned maps back into sets (on start-up): *ret is an array. */
int fos_sets_read_all(const struct fos_set_maps *maps, struct fos_rset **ret, size_t *ret_n,
		      uint32_t *ret_max_id);

/* ---- programs (daemon/progs.c) ----------------------------------------- */

struct fos_prog_rt {
	char name[FOS_NAME_MAX];
	char pin_dir[512];	       /* <pinDir>/progs/<name> */
	const struct fos_program *cfg; /* entry of the running config; NULL if adopted only */
	struct fos_xdp_filter *skel;
	struct bpf_link *link;
	char ifname[FOS_IFNAME_MAX];
	unsigned ifindex;
	uint32_t active;   /* live slot */
	uint32_t *set_ids; /* anonymous sets used by the live slot */
	uint64_t generation;
	time_t loaded_at;
	time_t updated_at;
	bool adopted; /* found pinned at start-up */
};

void fos_prog_rt_free(struct fos_prog_rt *p);
/* open + load the filter; pins maps under pin_dir unless pin_dir is NULL */
int fos_prog_load(struct fos_prog_rt *p, const char *pin_dir, const struct fos_set_maps *sets,
		  char *err, size_t errlen);
int fos_prog_attach(struct fos_prog_rt *p, unsigned ifindex, char *err, size_t errlen);
int fos_prog_adopt_link(struct fos_prog_rt *p, const char *link_pin, char *err, size_t errlen);
void fos_prog_detach(struct fos_prog_rt *p);
unsigned fos_link_ifindex(struct bpf_link *link);
/* XDP program currently on ifindex: id and name ("" if none) */
int fos_xdp_query(unsigned ifindex, uint32_t *ret_prog_id, char *ret_name, size_t namelen,
		  const char **ret_mode);
int fos_prog_ids(const struct fos_prog_rt *p, uint32_t *ret_prog_id, uint32_t *ret_link_id);
int fos_prog_stats(const struct fos_prog_rt *p, uint64_t ret_stats[_FOS_STAT_MAX]);
int fos_prog_rule_counter(const struct fos_prog_rt *p, uint32_t slot, uint32_t idx, bool dflt,
			  struct fos_rule_counter *ret);

/* ---- the manager (daemon/manager.c) ------------------------------------ */

/* leaves room under the pin directory for progs/<name>/<map> */
#define FOS_PIN_DIR_MAX 200

struct fos_manager {
	char *config_path;
	char *socket_path;
	char pin_dir[256];
	bool pin_dir_forced;
	bool verbose;		/* -v: debug logging whatever daemon.logLevel says */
	struct fos_config *cfg; /* running config */
	uint64_t generation;
	time_t started_at;

	struct fos_global *global;
	struct fos_set_maps set_maps;
	uint32_t next_set_id;
	struct fos_rset *sets; /* named sets, one per ipSets[] entry */
	size_t n_sets;
	struct fos_rset *anon; /* anonymous sets of every program's rules */
	size_t n_anon;

	struct fos_prog_rt **progs;
	size_t n_progs;
	struct fos_rset *retired; /* sets replaced by a reload, erased by fos_manager_gc() */
	size_t n_retired;

	/* last reload */
	time_t reload_time;
	bool reload_ok;
	char *reload_message;
	struct fos_errors reload_errors;
};

int fos_manager_new(const char *config_path, const char *pin_dir_override,
		    struct fos_manager **ret);
void fos_manager_free(struct fos_manager *m);
/* Open (or create) and pin the global maps, read the sets back. */
int fos_manager_open_maps(struct fos_manager *m);
/* Parse + validate + apply config_path (or apply loaded, which it takes
 * over). All or nothing: on error the running state is unchanged and errs
 * says why. */
int fos_manager_reload(struct fos_manager *m, struct fos_config *loaded, struct fos_errors *errs);
/* The same, logged and recorded for show status. loaded: a config already
 * parsed from config_path (taken over), or NULL to read it now. */
int fos_manager_reload_logged(struct fos_manager *m, struct fos_config *loaded,
			      struct fos_errors *errs);
/* Load the config at path and every program through the verifier, touching
 * nothing. */
int fos_manager_check(const char *path, struct fos_errors *errs, struct fos_config **ret_cfg);
/* Erase the entries of sets a reload retired; true if there was work. */
bool fos_manager_gc(struct fos_manager *m);
struct fos_prog_rt *fos_manager_find_prog(struct fos_manager *m, const char *name);
struct fos_rset *fos_manager_find_set(struct fos_manager *m, const char *name);
int fos_manager_set_add(struct fos_manager *m, const char *set, const struct fos_cidr *c, char *err,
			size_t errlen);
int fos_manager_set_del(struct fos_manager *m, const char *set, const struct fos_cidr *c, char *err,
			size_t errlen);

/* ---- flush (daemon/flush.c) -------------------------------------------- */
int fos_flush(const char *pin_dir);

/* ---- BTF -> JSON (daemon/btf_json.c) ----------------------------------- */
struct btf;
json_object *fos_btf_to_json(const struct btf *btf, uint32_t type_id, const void *data,
			     size_t size);

/* ---- IPC methods (daemon/methods.c) ------------------------------------ */
/* A connected client. Replies are queued and written as the socket takes
 * them, so a slow reader never stalls the event loop. */
#define FOS_PEER_OUT_MAX (256U * 1024 * 1024)

struct fos_peer {
	int fd;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	bool privileged;
	char *out;
	size_t out_len, out_off, out_cap;
};
/* Queue one message for the peer and write what the socket takes now. */
int fos_peer_send(struct fos_peer *peer, json_object *msg);
/* Write queued bytes: 1 if some remain, 0 if all written, -errno. */
int fos_peer_flush(struct fos_peer *peer);
/* Handle one request; writes the reply (or replies, when streaming) to fd. */
int fos_methods_dispatch(struct fos_manager *m, struct fos_peer *peer, json_object *req);

/* ---- misc --------------------------------------------------------------- */
int fos_mkdir_p(const char *path, mode_t mode);
void fos_notify(const char *state);

#endif
