// SPDX-License-Identifier: GPL-2.0-only
/*
 * The features fwd is built with. A new feature adds its row here, and its
 * config section to lib/config.c's table; the manager, the event loop and
 * the IPC dispatcher reach it through these rows only (feature.h).
 */
#include <assert.h>
#include <stddef.h>

#include "feature.h"

extern const struct fos_feature fos_feature_filter;
extern const struct fos_feature fos_feature_conntrack;
extern const struct fos_feature fos_feature_ddos;
extern const struct fos_feature fos_feature_nat;

const struct fos_feature *const fos_features[] = {
    &fos_feature_filter, &fos_feature_conntrack, &fos_feature_ddos, &fos_feature_nat, NULL,
};

static_assert(sizeof(((struct fos_manager *)NULL)->feature_state) / sizeof(void *) ==
		  FOS_FEATURES_MAX,
	      "one state slot per feature");

void **fos_feature_state(struct fos_manager *m, const struct fos_feature *f)
{
	for (size_t i = 0; fos_features[i] && i < FOS_FEATURES_MAX; i++)
		if (fos_features[i] == f)
			return &m->feature_state[i];
	return NULL;
}
