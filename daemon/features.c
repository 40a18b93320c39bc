// SPDX-License-Identifier: GPL-2.0-only
/*
 * The features fwd is built with. A new feature adds its row here, and its
 * config section to lib/config.c's table; the manager, the event loop and
 * the IPC dispatcher reach it through these rows only (feature.h).
 */
#include <stddef.h>

#include "feature.h"

extern const struct fos_feature fos_feature_filter;
extern const struct fos_feature fos_feature_conntrack;
extern const struct fos_feature fos_feature_ddos;

const struct fos_feature *const fos_features[] = {
    &fos_feature_filter,
    &fos_feature_conntrack,
    &fos_feature_ddos,
    NULL,
};
