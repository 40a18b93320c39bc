// SPDX-License-Identifier: GPL-2.0-only
/*
 * A feature of fwd, as the manager, the event loop and the IPC dispatcher see
 * it: a row of fos_features[] (features.c). None of them names a feature;
 * each calls the hooks a feature fills in and skips those it leaves NULL.
 *
 * The apply of a config is one transaction (manager.c):
 *   prepare    before the programs are planned: make what the new config
 *              needs beside the live state; may fail (with errors in a->errs),
 *              and nothing live has changed
 *   slot_*     for every XDP program: the feature's part of the program's
 *              inactive rule slot (slot_holds: is the live one already
 *              right?), written before the slots flip
 *   stage      once every program is planned and loaded: write what no
 *              running packet reads before the flips; may fail
 *   commit     after the flips: make the prepared state the live one; cannot
 *              fail
 *   abort      the apply failed after prepare: undo prepare and stage
 * quiesce/resume bracket every apply (a feature may hold objects the apply
 * replaces). A feature keeps what one apply needs in *tx, given back to each
 * later hook of the same apply.
 */
#ifndef FOS_FEATURE_H
#define FOS_FEATURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "config.h"
#include "fwd.h"

/* the longest one step of a feature's work may hold the event loop */
#define FOS_FEATURE_STEP_NS (2ULL * 1000 * 1000)

/* An apply in progress. */
struct fos_apply {
	const struct fos_config *cfg; /* the config being applied */
	struct fos_errors *errs;
	/* the connection table the programs of this apply are loaded with */
	struct fos_ct_fds ct;
	/* the table is replaced by this apply: stateful programs load again */
	bool ct_replaced;
};

/* One IPC method: "fos.Show.Conntrack", whether it changes the router (root
 * or the "fos" group only), and its handler, which replies to peer. */
struct fos_method {
	const char *name;
	bool mutates;
	int (*fn)(struct fos_manager *m, struct fos_peer *peer, json_object *params);
};

struct fos_feature {
	const char *name;
	/* the directory under the pin directory that holds what the feature
	 * pins on its own (NULL: none); fwd --flush removes it */
	const char *pin_subdir;

	/* start-up, once the global maps are open, before the programs are
	 * adopted: create or adopt what the feature pins */
	int (*open)(struct fos_manager *m, const struct fos_config *cfg);
	/* fwd stops: free what open and the applies made (the pins stay) */
	void (*close)(struct fos_manager *m);

	/* the apply (see above) */
	void (*quiesce)(struct fos_manager *m);
	void (*resume)(struct fos_manager *m);
	int (*prepare)(struct fos_manager *m, struct fos_apply *a, void **tx);
	bool (*slot_holds)(const struct fos_prog_rt *obj, uint32_t slot,
			   const struct fos_program *cfg, uint32_t blacklist_set);
	int (*slot_write)(const struct fos_prog_rt *obj, uint32_t slot,
			  const struct fos_program *cfg, uint32_t blacklist_set);
	int (*stage)(struct fos_manager *m, struct fos_apply *a, void *tx);
	void (*commit)(struct fos_manager *m, struct fos_apply *a, void *tx);
	void (*abort)(struct fos_manager *m, struct fos_apply *a, void *tx);

	/* the event loop: work done a bounded step at a time; returns the ms
	 * until it wants to run again, UINT32_MAX for not until an event */
	uint32_t (*tick)(struct fos_manager *m);
	/* an fd for the loop to watch (-1: none); *ret_gen changes whenever
	 * the fd is a new one, even under the same number */
	int (*events_fd)(struct fos_manager *m, unsigned *ret_gen);
	/* the fd is readable: read a bounded step; 1 if more is left, 0, -errno */
	int (*events)(struct fos_manager *m);

	/* fwd --check and fosctl config check: what the kernel would say of
	 * cfg's part of the feature (interfaces, addresses, the verifier),
	 * touching nothing that runs; errors in errs, < 0 if any */
	int (*check)(const struct fos_config *cfg, struct fos_errors *errs);

	/* its IPC methods */
	const struct fos_method *methods;
	size_t n_methods;
};

/* every feature, in the order their hooks run; NULL-terminated */
#define FOS_FEATURES_MAX 16
extern const struct fos_feature *const fos_features[];

/* the slot of m where feature f keeps its own state (NULL until f sets it;
 * f frees it in close) */
void **fos_feature_state(struct fos_manager *m, const struct fos_feature *f);

#endif
