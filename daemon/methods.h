// SPDX-License-Identifier: GPL-2.0-only
/* The helpers the IPC methods of the core and of the features share (methods.c). */
#ifndef FOS_METHODS_H
#define FOS_METHODS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <json-c/json.h>

#include "fwd.h"

int _fos_reply(struct fos_peer *peer, json_object *params);
int _fos_error(struct fos_peer *peer, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *_fos_param_str(json_object *params, const char *key);
json_object *_fos_time(time_t t);

#endif
