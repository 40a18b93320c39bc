/* SPDX-License-Identifier: GPL-2.0-only */
/* NAT's engine (nat.c), shared with its feature row and methods (nat_feature.c). */
#ifndef FOS_DAEMON_NAT_H
#define FOS_DAEMON_NAT_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "fos/abi.h"
#include "fos/nat.h"
#include "fwd.h"
#include "nat_table.h"

struct fos_nat;
struct nl_sock;

/* under the pin directory: NAT's maps and its hooks */
#define FOS_NAT_PIN_SUBDIR "nat"

enum fos_nat_prog {
	FOS_NAT_PROG_IN = 0,  /* external ingress */
	FOS_NAT_PROG_OUT,     /* external egress */
	FOS_NAT_PROG_HAIRPIN, /* internal ingress */
	_FOS_NAT_PROG_MAX,
};

/* what NAT keeps in its slot of the manager */
struct fos_nat_rt {
	struct fos_nat *skel;	/* the object, its maps pinned in dir */
	struct fos_nat_tab tab; /* its mapping table, mapped */
	char dir[512];
	struct fos_tc_attach hooks[FOS_NAT_HOOKS_MAX]; /* as in the pinned fos_tc_attach */
	char names[FOS_NAT_RULES_MAX][FOS_NAME_MAX];   /* by rule id, "" free */
	uint32_t *ids;				       /* of the running config's natConfigs */
	struct fos_nat_key *statics;		       /* the port maps' IN keys, sorted */
	size_t n_statics;
	struct nl_sock *nl; /* address events */
	unsigned nl_gen;
	/* the collector */
	bool walking, revalidate;
	uint32_t walk_pos; /* the next record the walk looks at */
	uint64_t next_ms;
	uint64_t expired, ended, moved, walks;
	uint64_t walk_ns, last_walk_ns,
	    max_step_ns;      /* steps' time: this walk's, the last's, the longest */
	uint32_t interval_ms; /* from the last walk to the next */
	/* the connection table (-1: none), and by rule id whether a stateful
	 * TC program tracks the flows of the natConfig (on its source or
	 * destination interface) and in which zone */
	int ct_fd;
	bool tracked[FOS_NAT_RULES_MAX];
	uint32_t zone[FOS_NAT_RULES_MAX];
	/* exhaustion, table-full and contended drops logged so far, three by
	 * rule id */
	uint64_t *logged;
	uint64_t next_log_ms;
};

/* one apply's plan */
struct fos_nat_tx {
	bool loaded_now; /* the object was made by this apply */
	uint32_t *ids;	 /* rule id of each natConfigs entry */
	char names[FOS_NAT_RULES_MAX][FOS_NAME_MAX];
	struct fos_nat_key *statics;
	size_t n_statics;
	struct fos_tc_attach hooks[FOS_NAT_HOOKS_MAX];
	bool staged;
	struct fos_nat *grown; /* a bigger table, switched to at commit */
};

/* the clock of the mappings' last_ns and est_ns, as the datapath reads it
 * (bpf_ktime_get_coarse_ns) */
uint64_t fos_nat_now_ns(void);
struct fos_nat_rt *fos_nat_rt(struct fos_manager *m);
/* the mappings the table needs for cfg (those its natConfigs allow, its
 * port maps, and some to spare), and those of the loaded table */
uint32_t fos_nat_capacity(const struct fos_config *cfg);
uint32_t fos_nat_table_size(const struct fos_nat_rt *rt);
/* the object, its table sized for size mappings unless one is pinned */
int fos_nat_load(struct fos_manager *m, struct fos_nat_rt *rt, uint32_t size, char *err,
		 size_t errlen);
/* a bigger table: prepare loads a second object sharing every other map;
 * commit moves the mappings and the hooks to it and pins it (the apply
 * went through); destroying it instead leaves everything as it was */
int fos_nat_grow_prepare(struct fos_nat_rt *rt, uint32_t size, struct fos_nat **ret, char *err,
			 size_t errlen);
void fos_nat_grow_commit(struct fos_nat_rt *rt, struct fos_nat *skel);
void fos_nat_unload(struct fos_nat_rt *rt);
/* unload and remove the pins (an apply that made them failed) */
void fos_nat_unload_unpin(struct fos_nat_rt *rt);
int fos_nat_adopt(struct fos_nat_rt *rt);
/* the checks that need the kernel, and the ids; errors in errs */
int fos_nat_plan(struct fos_nat_rt *rt, const struct fos_config *cfg, struct fos_nat_tx *tx,
		 struct fos_errors *errs);
int fos_nat_sync(struct fos_nat_rt *rt, const struct fos_config *cfg, struct fos_nat_tx *tx,
		 struct fos_errors *errs);
void fos_nat_prune(struct fos_nat_rt *rt, const struct fos_config *cfg, struct fos_nat_tx *tx);
/* which natConfigs of cfg a stateful program tracks (rt->tracked, zone) */
void fos_nat_note_tracking(struct fos_nat_rt *rt, const struct fos_config *cfg);
/* re-read the external interfaces' addresses: true if one changed */
bool fos_nat_refresh_addrs(struct fos_nat_rt *rt, const struct fos_config *cfg);
/* one step of the collector: ms until the next */
uint32_t fos_nat_gc_step(struct fos_nat_rt *rt, const struct fos_config *cfg, uint64_t budget_ns);
/* remove a live mapping by its id, counted: 0 or -ENOENT */
int fos_nat_remove(struct fos_nat_rt *rt, uint32_t id);
/* counters of rule id summed over the CPUs */
int fos_nat_rule_stats(const struct fos_nat_rt *rt, uint32_t id, uint64_t ret[_FOS_NAT_STAT_MAX]);
uint64_t fos_nat_mappings(const struct fos_nat_rt *rt, uint32_t id);
int fos_nat_map_fd(const struct fos_nat_rt *rt);
int fos_nat_ifaddr_get(const struct fos_nat_rt *rt, unsigned ifindex, struct fos_nat_ifaddr *ret);
const char *fos_nat_prog_name(enum fos_nat_prog p); /* "nat-in", ... */
/* is mapping m still what its natConfig c allows? */
bool fos_nat_mapping_allowed(const struct fos_nat_rt *rt, const struct fos_nat_cfg *c,
			     const struct fos_nat_map *m);
uint32_t fos_nat_id_of(const struct fos_nat_rt *rt, const struct fos_config *cfg, size_t i);

#endif
