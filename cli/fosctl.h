/* SPDX-License-Identifier: GPL-2.0-only */
/* State shared by every part of fosctl: options, the connection, exit codes. */
#ifndef FOSCTL_H
#define FOSCTL_H

#include <json-c/json.h>
#include <stdbool.h>

/* Process exit codes; a command's result is one of these. */
enum fosctl_exit {
	FOSCTL_EXIT_OK = 0,
	FOSCTL_EXIT_DAEMON = 1,	 /* the daemon answered with an error (or output failed) */
	FOSCTL_EXIT_USAGE = 2,	 /* unknown command, bad or missing argument */
	FOSCTL_EXIT_CONNECT = 3, /* the daemon cannot be reached */
	_FOSCTL_EXIT_MAX,
};

/* Returned by a command instead of an exit code to end a shell or batch. */
#define FOSCTL_QUIT (-1)

struct fosctl {
	const char *socket; /* path of fwd's control socket */
	bool json;	    /* -j: print replies as JSON */
	bool shell;	    /* commands come from the shell or a batch, not argv */
	int fd;		    /* connection to fwd, -1 while not connected */
};

void fosctl_disconnect(struct fosctl *f);
/* Connect unless connected, or reconnect if fwd closed the idle connection. */
int fosctl_connect(struct fosctl *f);
/* Call a method; takes ownership of params (NULL -> {}). On a transport
 * failure the connection is dropped so the next call reconnects. */
int fosctl_call(struct fosctl *f, const char *method, json_object *params, json_object **ret_reply);

static inline void fosctl_json_putp(json_object **o)
{
	json_object_put(*o);
	*o = NULL;
}

#endif
