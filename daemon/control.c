// SPDX-License-Identifier: GPL-2.0-only
/* What the control socket's requests and the signals share: replies queued
 * for a peer, a reload that is logged and remembered for show status, and
 * the state reported to systemd. */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#include "cleanup.h"
#include "fwd.h"
#include "ipc.h"
#include "log.h"

int fos_peer_flush(struct fos_peer *peer)
{
	while (peer->out_off < peer->out_len) {
		ssize_t n = send(peer->fd, peer->out + peer->out_off, peer->out_len - peer->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			return -errno;
		}
		peer->out_off += (size_t)n;
	}
	peer->out_off = peer->out_len = 0;
	return 0;
}

int fos_peer_send(struct fos_peer *peer, json_object *msg)
{
	_cleanup_free_ char *buf = NULL;
	size_t len, pending;
	int r;

	r = fos_ipc_encode(msg, &buf, &len);
	if (r < 0)
		return r;
	if (peer->out_off > 0) {
		memmove(peer->out, peer->out + peer->out_off, peer->out_len - peer->out_off);
		peer->out_len -= peer->out_off;
		peer->out_off = 0;
	}
	pending = peer->out_len;
	if (pending + len > FOS_PEER_OUT_MAX)
		return -ENOBUFS;
	if (pending + len > peer->out_cap) {
		size_t cap = peer->out_cap ? peer->out_cap : 65536;
		char *nb;

		while (cap < pending + len)
			cap *= 2;
		nb = realloc(peer->out, cap);
		if (!nb)
			return -ENOMEM;
		peer->out = nb;
		peer->out_cap = cap;
	}
	memcpy(peer->out + pending, buf, len);
	peer->out_len = pending + len;
	r = fos_peer_flush(peer);
	return r < 0 ? r : 0;
}

int fos_manager_reload_logged(struct fos_manager *m, struct fos_config *loaded,
			      struct fos_errors *errs)
{
	char msg[256];
	int r;

	fos_notify("RELOADING=1");
	r = fos_manager_reload(m, loaded, errs);
	m->reload_time = time(NULL);
	m->reload_ok = r >= 0;
	fos_errors_clear(&m->reload_errors);
	free(m->reload_message);
	if (r < 0) {
		snprintf(msg, sizeof(msg),
			 "rejected with %zu error%s; generation %llu stays in force", errs->n,
			 errs->n == 1 ? "" : "s", (unsigned long long)m->generation);
		for (size_t i = 0; i < errs->n; i++) {
			log_error("%s", errs->msgs[i]);
			fos_errors_add(&m->reload_errors, NULL, 0, "%s", errs->msgs[i]);
		}
		log_error("reload %s", msg);
	} else {
		snprintf(msg, sizeof(msg), "applied generation %llu: %zu program%s, %zu set%s",
			 (unsigned long long)m->generation, m->n_progs, m->n_progs == 1 ? "" : "s",
			 m->n_sets, m->n_sets == 1 ? "" : "s");
		log_info("config %s", msg);
		for (size_t i = 0; m->cfg && i < m->cfg->notes.n; i++)
			log_info("%s", m->cfg->notes.msgs[i]);
	}
	m->reload_message = strdup(msg);
	/* a large set's parse and plan leave freed memory behind: give it back */
	(void)malloc_trim(0);
	fos_notify("READY=1");
	return r;
}

void fos_notify(const char *state)
{
	(void)sd_notify(0, state);
}
