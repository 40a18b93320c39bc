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
#include "map_walk.h"

struct bpf_link;
struct ring_buffer;
struct fos_ctmaps;
struct fos_global;
struct fos_tc;
struct fos_xdp_filter;

/* ---- sets (daemon/sets.c) ---------------------------------------------- */

struct fos_set_entry {
	struct fos_cidr cidr;
	uint32_t flags;	     /* enum fos_set_entry_flags */
	uint64_t expires_ns; /* CLOCK_BOOTTIME; 0 = never */
};

/* One set as written in fos_sets under one id. */
struct fos_rset {
	char name[128];
	uint32_t id;
	uint32_t meta_flags; /* enum fos_set_meta_flags */
	struct fos_set_entry *e;
	size_t n, cap;
	char *file;	  /* ipSets[].file, for show */
	size_t seen;	  /* entries before this index are known to the expiry */
	uint64_t expired; /* entries removed on expiry */
	/* the positions in e by CIDR (fos_rset_find): a hash table of idx_cap
	 * slots (a power of two, at most half full), each the position of one
	 * entry plus one, 0 when empty. Owned with e: every change of e goes
	 * through the fos_rset_* and fos_sets_* functions, which keep it exact. */
	uint32_t *idx;
	size_t idx_cap;
};

void fos_rset_free(struct fos_rset *s);
/* an entry without expiry */
int fos_rset_append(struct fos_rset *s, const struct fos_cidr *c, uint32_t flags);
int fos_rset_append_entry(struct fos_rset *s, const struct fos_set_entry *e);
/* the position of c in s->e, or -ENOENT; O(1) */
ssize_t fos_rset_find(const struct fos_rset *s, const struct fos_cidr *c);
/* append e unless its CIDR is listed already: 1 if appended, 0 if it was
 * there (*ret_i, if given, its position either way), -errno */
int fos_rset_add(struct fos_rset *s, const struct fos_set_entry *e, size_t *ret_i);
/* remove entry i: the last entry takes its place (O(1)); s->seen is the
 * caller's */
void fos_rset_remove_swap(struct fos_rset *s, size_t i);
size_t fos_rset_count(const struct fos_rset *s, uint32_t flag);
size_t fos_rset_count_timed(const struct fos_rset *s);

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
/* One entry, live; expires_ns 0: never. */
int fos_sets_add_entry(const struct fos_set_maps *maps, uint32_t id, const struct fos_cidr *c,
		       uint32_t flags, uint64_t expires_ns);
int fos_sets_del_entry(const struct fos_set_maps *maps, uint32_t id, const struct fos_cidr *c);
/* Read the pinned maps back into sets (on start-up): *ret is an array.
 * Entries already expired are deleted and counted in their set's expired. */
int fos_sets_read_all(const struct fos_set_maps *maps, struct fos_rset **ret, size_t *ret_n,
		      uint32_t *ret_max_id);

/* Removal of timed entries once they expire. */
struct fos_set_expiry {
	uint64_t next_ns; /* earliest expiry of a timed entry (CLOCK_BOOTTIME); 0: none */
	bool passing;	  /* a pass over the sets is under way, at sets[set].e[i] */
	size_t set, i;
	uint64_t pass_next_ns;	/* earliest expiry among the entries the pass kept */
	uint64_t removed;	/* in all */
	uint64_t log_window_ns; /* removals logged at info since then ... */
	unsigned log_shown;
	uint64_t log_quiet;    /* ... and at debug */
	uint64_t last_step_ns; /* time the last step took */
};

uint64_t fos_sets_now_ns(void); /* CLOCK_BOOTTIME, the datapath's clock */
/* A timed entry was added or its expiry changed. */
void fos_sets_expiry_note(struct fos_set_expiry *x, uint64_t expires_ns);
/* The sets were replaced or read back: start over from their entries. */
void fos_sets_expiry_reset(struct fos_set_expiry *x, struct fos_rset *sets, size_t n);
/* Remove entry i of sets[si] from the list, keeping the order. */
void fos_sets_remove_at(struct fos_set_expiry *x, struct fos_rset *sets, size_t si, size_t i);
/* Remove expired entries from the maps and the lists for about budget_ns:
 * the ms until the next step is due (0: more to do now), UINT32_MAX when no
 * entry can expire. */
uint32_t fos_sets_expire_step(const struct fos_set_maps *maps, struct fos_rset *sets, size_t n,
			      struct fos_set_expiry *x, uint64_t now_ns, uint64_t budget_ns);

/* ---- conntrack (daemon/conntrack.c) ------------------------------------ */

/* The global connection table's maps: fds of the loaded fos_ctmaps object,
 * or -1 before a stateful program needs them. */
struct fos_ct_fds {
	int ct;	   /* fos_ct */
	int cfg;   /* fos_ct_cfg */
	int count; /* fos_ct_count */
	int stats; /* fos_ct_stats */
	int src;   /* fos_ct_src */
};

/* the collector's figures */
struct fos_ct_gc {
	uint64_t runs;	    /* complete walks of the table */
	uint64_t removed;   /* expired entries removed */
	uint64_t cleared;   /* entries removed by clear conntrack */
	uint64_t last_run;  /* CLOCK_REALTIME s of the last complete walk */
	double last_run_ms; /* time spent on it, summed over its steps */
	double max_step_ms; /* the longest single step (the longest loop stall) */
	uint32_t interval_ms;
	uint64_t next_ms; /* CLOCK_MONOTONIC ms of the next step */
	/* the walk in progress */
	bool walking;
	bool have_cursor;
	uint8_t cursor[64]; /* bpf_map_lookup_batch position */
	uint64_t walk_seen;
	uint64_t walk_live;
	uint64_t walk_inserted0; /* fos_ct_count[INSERTED] when the walk began */
	uint64_t drift;		 /* counted entries found gone (LRU evictions) */
	double walk_ms;
	uint64_t next_walk_ns; /* CLOCK_MONOTONIC */
};

struct fos_ct_filter {
	bool has_src, has_dst;
	struct fos_cidr src, dst;
	int proto;    /* -1: any */
	int port;     /* -1: any */
	int state;    /* -1: any; enum fos_ct_state */
	int64_t zone; /* -1: any */
};

/* ---- programs (daemon/progs.c, daemon/tc.c) ------------------------------ */

struct fos_prog_rt {
	char name[FOS_NAME_MAX];
	char pin_dir[512];	       /* <pinDir>/progs/<name> */
	const struct fos_program *cfg; /* entry of the running config; NULL if adopted only */
	enum fos_prog_type type;
	bool stateful;					/* loaded with conntrack */
	bool ddos;					/* XDP loaded with DDoS mitigation */
	struct fos_xdp_filter *skel;			/* XDP */
	struct fos_tc *tc;				/* TC */
	struct fos_tc_attach tc_at[_FOS_TC_ATTACH_MAX]; /* where tc's programs are attached */
	struct bpf_link *link;				/* XDP */
	char ifname[FOS_IFNAME_MAX];
	unsigned ifindex;
	uint32_t active;   /* live slot */
	uint32_t *set_ids; /* anonymous sets used by the live slot */
	uint64_t generation;
	time_t loaded_at;
	time_t updated_at;
	bool adopted; /* found pinned at start-up */
	/* XDP: loaded with a fos_next of its own instead of the pinned one (an
	 * instance spliced into a new place of its interface's chain) */
	bool private_next;
	unsigned chain_pos;	       /* 1-based place in its interface's XDP chain; 0: none */
	char chain_next[FOS_NAME_MAX]; /* the program after it there, "" for the last */
};

void fos_prog_rt_free(struct fos_prog_rt *p);
/* open + load p->type's object with p->stateful (and, XDP, p->ddos); pins
 * maps under pin_dir unless pin_dir is NULL; ct: the global connection table
 * (needed when stateful) */
int fos_prog_load(struct fos_prog_rt *p, const char *pin_dir, const struct fos_set_maps *sets,
		  const struct fos_ct_fds *ct, char *err, size_t errlen);
/* the loaded object's rule maps and main program */
struct fos_filter_maps;
void fos_prog_filter_maps(const struct fos_prog_rt *p, struct fos_filter_maps *ret);
int fos_prog_main_fd(const struct fos_prog_rt *p);
/* destroy the loaded object (not the attachment) */
void fos_prog_unload(struct fos_prog_rt *p);
bool fos_prog_loaded(const struct fos_prog_rt *p);
int fos_prog_adopt_link(struct fos_prog_rt *p, const char *link_pin, char *err, size_t errlen);
void fos_prog_detach(struct fos_prog_rt *p);
/* the per-program maps of DDoS mitigation, NULL-terminated */
extern const char *const fos_ddos_map_names[];
/* remove the pins of the DDoS maps in pin_dir (a program loaded again without
 * DDoS mitigation) */
void fos_prog_unpin_ddos(const char *pin_dir);
/* an fd of the map pinned at path, and what the kernel says of it */
struct bpf_map_info;
int fos_pinned_map_open(const char *path, struct bpf_map_info *ret_info);
unsigned fos_link_ifindex(struct bpf_link *link);
/* XDP program currently on ifindex: id and name ("" if none) */
int fos_xdp_query(unsigned ifindex, uint32_t *ret_prog_id, char *ret_name, size_t namelen,
		  const char **ret_mode);
int fos_prog_ids(const struct fos_prog_rt *p, uint32_t *ret_prog_id, uint32_t *ret_link_id);
int fos_prog_stats(const struct fos_prog_rt *p, uint64_t ret_stats[_FOS_STAT_MAX]);
int fos_prog_rule_counter(const struct fos_prog_rt *p, uint32_t slot, uint32_t idx, bool dflt,
			  struct fos_rule_counter *ret);

/* TC (daemon/tc.c). A hook is (ifindex, ingress, priority): a tcx link
 * (record handle FOS_TC_HANDLE_TCX) or a clsact filter with fos's handle. */
#define FOS_TC_HANDLE	  0xf05U
#define FOS_TC_HANDLE_TCX 0U
/* how new hooks are attached (daemon.tcAttach); pin_dir holds the links */
int fos_tc_setup(const char *pin_dir, enum fos_tc_mode mode, char *err, size_t errlen);
bool fos_tc_kernel_has_tcx(void);
const char *fos_tc_mode_in_use(void); /* "tcx" or "clsact" */
/* Is one of the n hooks at a tcx link of ifindex at another priority than
 * priority? A program is on a hook once: its move to the new place needs a
 * new program (then the old link goes). */
bool fos_tc_move_needs_new_prog(const struct fos_tc_attach *at, size_t n, unsigned ifindex,
				uint16_t priority);
/* Put prog_fd on the hook. The hook may hold only a filter whose program id
 * is in ours[] (replaced) or nothing; anything else is refused. */
int fos_tc_attach_hook(unsigned ifindex, bool ingress, uint16_t priority, int prog_fd,
		       const uint32_t *ours, size_t n_ours, struct fos_tc_attach *ret, char *err,
		       size_t errlen);
/* Remove the filter at at if it still runs at->prog_id; best effort. */
void fos_tc_detach_hook(const struct fos_tc_attach *at);
/* program id on the hook, 0 if none */
uint32_t fos_prog_fd_id(int fd); /* id of a program fd, 0 if unknown */
uint32_t fos_tc_query_hook(const struct fos_tc_attach *at);
/* record p->tc_at in its pinned fos_tc_attach map */
int fos_tc_save_attach(struct fos_prog_rt *p);
int fos_tc_read_attach(struct fos_prog_rt *p);
void fos_tc_flush_attach(int map_fd); /* fwd --flush: detach what the map records */

/* ---- the manager (daemon/manager.c) ------------------------------------ */

/* A named set's id before the last reload that gave the set a new one (or
 * removed it): blocks the datapath made under the old id until the flip are
 * moved to the live set of that name when their events arrive. */
struct fos_set_alias {
	uint32_t id;
	char name[128];
};

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
	struct fos_ctmaps *ctmaps; /* the connection table, once a program is stateful */
	struct fos_ct_fds ct;
	uint32_t ct_capacity; /* max_entries of the pinned fos_ct */
	uint64_t ct_grow_ns;  /* CLOCK_BOOTTIME when a grown table's first copy began */
	struct fos_ct_gc gc;
	uint32_t next_set_id;
	struct fos_rset *sets; /* named sets, one per ipSets[] entry */
	size_t n_sets;
	struct fos_set_expiry set_exp; /* of the named sets */
	struct fos_rset *anon;	       /* anonymous sets of every program's rules */
	size_t n_anon;

	struct fos_prog_rt **progs;
	size_t n_progs;
	struct fos_rset *retired; /* sets replaced by a reload, erased by fos_manager_gc() */
	size_t n_retired;
	/* XDP objects a reload took out of a chain, destroyed by fos_manager_gc()
	 * once packets still inside them are through */
	struct fos_prog_rt **retired_progs;
	size_t n_retired_progs;

	/* the block events of every DDoS program, rebuilt after each apply;
	 * ddos_rb_gen changes whenever ddos_rb does */
	struct ring_buffer *ddos_rb;
	unsigned ddos_rb_gen;
	/* a consume with a budget stops once fos_boottime_ns() reaches this
	 * (0: none), and says so in ddos_rb_stopped */
	uint64_t ddos_rb_deadline_ns;
	bool ddos_rb_stopped;
	/* block lines logged in the second from ddos_log_since_ns, and the
	 * blocks left out of the log in it (FOS_DDOS_LOG_PER_S) */
	uint64_t ddos_log_since_ns;
	unsigned ddos_log_n;
	uint64_t ddos_log_skipped;
	/* the named sets the last successful reload retired */
	struct fos_set_alias *set_aliases;
	size_t n_set_aliases;

	/* what each feature keeps for itself, by its place in fos_features[]
	 * (fos_feature_state()) */
	void *feature_state[16];

	/* last reload */
	time_t reload_time;
	bool reload_ok;
	char *reload_message;
	struct fos_errors reload_errors;
};

int fos_manager_new(const char *config_path, const char *pin_dir_override,
		    struct fos_manager **ret);
void fos_manager_free(struct fos_manager *m);
/* Open (or create) and pin the global maps, read the sets back, open the
 * connection table (sized for cfg, which may be NULL), adopt the programs. */
int fos_manager_open_maps(struct fos_manager *m, const struct fos_config *cfg);
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
/* Erase the entries of sets a reload retired and destroy the XDP objects it
 * took out of a chain; true if there was work. */
bool fos_manager_gc(struct fos_manager *m);
struct fos_prog_rt *fos_manager_find_prog(struct fos_manager *m, const char *name);
struct fos_rset *fos_manager_find_set(struct fos_manager *m, const char *name);
/* Add c to set, or update it: timeout_s 0 = no expiry. 1 if added, 0 if it
 * was there. */
int fos_manager_set_add(struct fos_manager *m, const char *set, const struct fos_cidr *c,
			uint32_t timeout_s, char *err, size_t errlen);
int fos_manager_set_del(struct fos_manager *m, const char *set, const struct fos_cidr *c, char *err,
			size_t errlen);

/* ---- conntrack (daemon/conntrack.c) ------------------------------------ */
/* Create or reuse the pinned connection table sized for cfg (first stateful
 * program), or just reuse one a previous fwd pinned (want = false). */
int fos_ct_open(struct fos_manager *m, const struct fos_conntrack_cfg *cfg, bool want, char *err,
		size_t errlen);
/* A table too small for cfg: a bigger one, unpinned, with the entries
 * copied (1, *ret set), or nothing to do (0). The stateful programs are then
 * loaded on *ret_fds; fos_ct_commit_grow() makes it the table once they run. */
int fos_ct_prepare_grow(struct fos_manager *m, const struct fos_conntrack_cfg *cfg,
			struct fos_ctmaps **ret, struct fos_ct_fds *ret_fds, char *err,
			size_t errlen);
int fos_ct_commit_grow(struct fos_manager *m, struct fos_ctmaps *skel);
int fos_ct_write_cfg(struct fos_manager *m, const struct fos_conntrack_cfg *cfg);
/* One bounded step of the collector: returns the ms until the next step. */
uint32_t fos_ct_gc_step(struct fos_manager *m, uint64_t budget_ns);
/* entries of the table, counted (reads the pinned counters) */
int fos_ct_counts(const struct fos_manager *m, uint64_t *ret_entries,
		  uint64_t ret_stats[_FOS_CT_STAT_MAX]);
/* remaining seconds before key/value expire (0 = expired) */
uint64_t fos_ct_timeout_left(const struct fos_manager *m, const struct fos_ct_key *k,
			     const struct fos_ct_value *v, uint64_t now_ns);
bool fos_ct_filter_match(const struct fos_ct_filter *f, const struct fos_ct_key *k,
			 const struct fos_ct_value *v);
/* Walk the table from *c for about budget_ns (UINT64_MAX: to the end): cb
 * for each entry the filter takes, which returns <0 to stop (returned); 1 if
 * there is more, 0 at the end. */
struct fos_ct_cursor {
	bool started, done;
	uint8_t pos[64]; /* bpf_map_lookup_batch position */
	uint64_t scanned;
};
int fos_ct_walk_step(struct fos_manager *m, struct fos_ct_cursor *c, const struct fos_ct_filter *f,
		     int (*cb)(void *u, const struct fos_ct_key *k, const struct fos_ct_value *v),
		     void *u, uint64_t budget_ns);
/* remove one entry (clear conntrack), counted */
int fos_ct_clear_one(struct fos_manager *m, const struct fos_ct_key *k);
const char *fos_ct_state_to_string(unsigned s);
uint64_t fos_boottime_ns(void);	      /* the datapath's clock (bpf_ktime_get_boot_ns) */
uint64_t fos_clock_ns(clockid_t clk); /* clock_gettime() in ns */
int fos_ct_state_from_string(const char *s);
/* the conntrack zone of an interface: its VRF's table, 0 outside a VRF */
int fos_nl_zone(unsigned ifindex, uint32_t *ret_zone);

/* ---- DDoS mitigation (daemon/ddos.c) ------------------------------------ */
const char *fos_ddos_reason_to_string(unsigned r); /* "icmp-flood", ... */
/* c's protections as the datapath reads them; block_set: the set id of its
 * blacklist (the one its slot uses). All zero without protections. */
void fos_ddos_cfg_from(const struct fos_program *c, uint32_t block_set, struct fos_ddos_cfg *ret);
/* Does slot of p's fos_ddos_cfg hold cfg? (always, without DDoS mitigation) */
bool fos_ddos_cfg_holds(const struct fos_prog_rt *p, uint32_t slot, const struct fos_ddos_cfg *cfg);
int fos_ddos_write_cfg(const struct fos_prog_rt *p, uint32_t slot, const struct fos_ddos_cfg *cfg);
/* Watch the block events of every DDoS program of m (again): one ring
 * buffer over all of them, whose fd fos_ddos_events_fd() gives the event
 * loop. close consumes what is pending first; call it before an apply may
 * free a program's object. */
int fos_ddos_events_open(struct fos_manager *m);
void fos_ddos_events_close(struct fos_manager *m);
int fos_ddos_events_fd(const struct fos_manager *m); /* -1: none */
/* record pending events: each blocked prefix as a dynamic, automatic entry
 * of its set, with its expiry (a block under the id of a set a reload
 * renumbered moves to the set's new id). For about budget_ns (0: until none
 * is left): 1 if it stopped with events left, 0 if all were read, -errno. */
int fos_ddos_events_consume(struct fos_manager *m, uint64_t budget_ns);
/* At most FOS_DDOS_LOG_PER_S blocks a second are logged one by one; the
 * rest are summed up in one line at the end of their second, which this
 * writes when it is due: ms until it will be, or UINT32_MAX (none due). */
#define FOS_DDOS_LOG_PER_S 20
uint32_t fos_ddos_log_flush(struct fos_manager *m, uint64_t now_ns);

/* a DDoS program's counters (summed over CPUs) and state */
struct fos_ddos_status {
	uint64_t stats[_FOS_DDOS_STAT_MAX];
	bool engaged[_FOS_DDOS_P_MAX]; /* acted within the last 2 s */
	uint64_t engaged_dsts;	       /* SYN: destinations still engaged */
	uint64_t tracked_sources;      /* entries of fos_ddos_src */
};
/* the counters and state, read at once; engaged_dsts and tracked_sources
 * come from walks of the tables (fos_ddos_count_*_step) and are left 0 */
int fos_ddos_status(const struct fos_prog_rt *p, struct fos_ddos_status *ret);

/* A program's source and destination tables, held open for a walk made a
 * step at a time: fds of the walk's own, and the id of fos_ddos_src. */
struct fos_ddos_tables {
	int src, dst;
	uint32_t src_id;
};
int fos_ddos_tables_open(const struct fos_prog_rt *p, struct fos_ddos_tables *ret);
void fos_ddos_tables_close(struct fos_ddos_tables *t);
/* Is p still a DDoS program on the same tables (not removed, and not
 * reloaded with new ones)? */
bool fos_ddos_tables_current(const struct fos_prog_rt *p, const struct fos_ddos_tables *t);

/* where a walk of one table is */
struct fos_ddos_cursor {
	struct fos_map_walk walk;
	uint64_t now;	/* count of engaged destinations: at this CLOCK_BOOTTIME */
	uint64_t count; /* counting walks: the result so far */
};
/* Each reads for about budget_ns (at least one batch): 1 while there is
 * more, 0 at the end, -errno. Count the sources, or the destinations still
 * engaged at c->now, into c->count. */
int fos_ddos_count_sources_step(const struct fos_ddos_tables *t, struct fos_ddos_cursor *c,
				uint64_t budget_ns);
int fos_ddos_count_engaged_step(const struct fos_ddos_tables *t, struct fos_ddos_cursor *c,
				uint64_t budget_ns);

/* the sources with the most drops, over one or more programs */
struct fos_ddos_top_entry {
	uint32_t prog; /* the caller's number of the program */
	struct fos_ddos_addr addr;
	struct fos_ddos_src src;
	uint64_t total; /* drops over every reason */
};
struct fos_ddos_top {
	struct fos_ddos_top_entry *v; /* a min-heap of the cap largest, until sorted */
	size_t n, cap;
};
/* add the sources with drops of the next part of tb's source table, as
 * program prog (t->cap set first); returns as fos_ddos_count_sources_step */
int fos_ddos_top_step(struct fos_ddos_top *t, uint32_t prog, const struct fos_ddos_tables *tb,
		      struct fos_ddos_cursor *c, uint64_t budget_ns);
void fos_ddos_top_sort(struct fos_ddos_top *t); /* largest total first */
void fos_ddos_top_free(struct fos_ddos_top *t);
/* a source key as its prefix: /32, or IPv6 at v6_plen (0: the default) or at
 * p's ipv6PrefixLength */
void fos_ddos_prefix_cidr(unsigned v6_plen, const struct fos_ddos_addr *a, struct fos_cidr *ret);
void fos_ddos_source_cidr(const struct fos_prog_rt *p, const struct fos_ddos_addr *a,
			  struct fos_cidr *ret);

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

/* A reply made a step at a time (a walk of the connection table), so that no
 * request holds the event loop for long: the loop calls step whenever the
 * peer's output has drained; step returns 1 while there is more, 0 when the
 * reply is complete, or -errno to drop the client. */
struct fos_peer;
struct fos_job {
	int (*step)(struct fos_manager *m, struct fos_peer *peer, void *state);
	void (*free)(void *state);
	void *state;
};

struct fos_peer {
	int fd;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	bool privileged;
	char *out;
	size_t out_len, out_off, out_cap;
	struct fos_job job; /* step is NULL when none */
};
void fos_peer_job_free(struct fos_peer *peer);
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
