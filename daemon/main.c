// SPDX-License-Identifier: GPL-2.0-only
/* fwd: the fos daemon. One thread, one epoll loop. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <malloc.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "cleanup.h"
#include "feature.h"
#include "fwd.h"
#include "ipc.h"
#include "log.h"

#define MAX_CLIENTS 64

struct fos_client {
	int fd;
	struct fos_peer peer;
	struct fos_ipc_reader rd;
};

static struct fos_client *clients[MAX_CLIENTS];

static int _fos_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[4096];
	int lvl = level == LIBBPF_WARN ? LOG_WARNING : level == LIBBPF_INFO ? LOG_INFO : LOG_DEBUG;
	size_t n;

	if (lvl > fos_log_get_level())
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	fos_log_internal(lvl, 0, "%s", buf);
	return 0;
}

/* Root, or a member of group "fos" as the connecting process really is (its
 * supplementary groups from SO_PEERGROUPS, not the group database). */
static bool _fos_peer_privileged(int fd, uid_t uid, gid_t gid)
{
	struct group *gr;
	gid_t groups[256];
	socklen_t len = sizeof(groups);

	if (uid == 0)
		return true;
	gr = getgrnam("fos");
	if (!gr)
		return false;
	if (gid == gr->gr_gid)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gr->gr_gid)
			return true;
	return false;
}

static int _fos_listen(const char *path)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[sizeof(sa.sun_path)];
	struct group *gr;
	struct stat st;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return log_error_errno(-ENAMETOOLONG, "socket path %s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	r = fos_mkdir_p(dirname(dir), 0755);
	if (r < 0)
		return log_error_errno(r, "cannot create the directory of %s", path);
	strcpy(sa.sun_path, path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return log_error_errno(-errno, "socket");
	/* a socket left by a killed fwd (the pin-dir lock says nobody owns it);
	 * anything else at that path is not ours to remove */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return log_error_errno(-EEXIST, "%s exists and is not a socket", path);
		(void)unlink(path);
	}
	/* made under a name of its own and renamed into place once it listens
	 * with its owner and mode set: a client that sees the path can connect,
	 * and it is never open wider than 0660 */
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.%d", path, (int)getpid()) >=
	    (int)sizeof(sa.sun_path))
		strcpy(sa.sun_path, path); /* no room for the suffix: in place */
	(void)unlink(sa.sun_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return log_error_errno(-errno, "cannot bind %s", sa.sun_path);
	gr = getgrnam("fos");
	if (gr && chown(sa.sun_path, 0, gr->gr_gid) < 0)
		log_warning_errno(-errno, "cannot give %s to group fos, ignoring", path);
	if (chmod(sa.sun_path, 0660) < 0) {
		r = log_error_errno(-errno, "cannot chmod %s", sa.sun_path);
		(void)unlink(sa.sun_path);
		return r;
	}
	if (listen(fd, 16) < 0) {
		r = log_error_errno(-errno, "listen on %s", sa.sun_path);
		(void)unlink(sa.sun_path);
		return r;
	}
	if (strcmp(sa.sun_path, path) != 0 && rename(sa.sun_path, path) < 0) {
		r = log_error_errno(-errno, "cannot move %s to %s", sa.sun_path, path);
		(void)unlink(sa.sun_path);
		return r;
	}
	return TAKE_FD(fd);
}

static void _fos_client_close(int ep, struct fos_client *c)
{
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		if (clients[i] == c)
			clients[i] = NULL;
	(void)epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	fos_ipc_reader_free(&c->rd);
	fos_peer_job_free(&c->peer);
	free(c->peer.out);
	free(c);
}

static void _fos_accept(int ep, int lfd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct epoll_event ev = {.events = EPOLLIN};
	struct fos_client *c;
	size_t slot;
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	for (slot = 0; slot < MAX_CLIENTS && clients[slot]; slot++)
		;
	if (slot == MAX_CLIENTS || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warning("ipc: refusing a client (%s)",
			    slot == MAX_CLIENTS ? "too many clients" : "no credentials");
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->peer = (struct fos_peer){.fd = fd, .uid = cred.uid, .gid = cred.gid, .pid = cred.pid};
	c->peer.privileged = _fos_peer_privileged(fd, cred.uid, cred.gid);
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		free(c);
		return;
	}
	clients[slot] = c;
}

/* While replies are queued the client is not read: requests are answered
 * in order and a client that does not read its replies cannot pile up more. */
static void _fos_client_watch(int ep, struct fos_client *c)
{
	struct epoll_event ev = {
	    .events = c->peer.out_len > c->peer.out_off ? EPOLLOUT : EPOLLIN,
	    .data.ptr = c,
	};

	(void)epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void _fos_client_requests(struct fos_manager *m, int ep, struct fos_client *c);

/* a job whose last output has gone out may take its next step */
static bool _fos_client_job_ready(const struct fos_client *c)
{
	return c->peer.job.step && c->peer.out_len == c->peer.out_off;
}

static void _fos_client_job_step(struct fos_manager *m, int ep, struct fos_client *c)
{
	int r = c->peer.job.step(m, &c->peer, c->peer.job.state);

	if (r < 0) {
		log_debug_errno(r, "ipc: dropping client pid %d", (int)c->peer.pid);
		_fos_client_close(ep, c);
		return;
	}
	if (r == 0) {
		fos_peer_job_free(&c->peer);
		_fos_client_requests(m, ep, c);
		return;
	}
	_fos_client_watch(ep, c);
}

static void _fos_client_ready(struct fos_manager *m, int ep, struct fos_client *c, uint32_t events)
{
	int r;

	if (events & EPOLLOUT) {
		r = fos_peer_flush(&c->peer);
		if (r < 0) {
			_fos_client_close(ep, c);
			return;
		}
		if (r > 0)
			return;
		_fos_client_watch(ep, c);
		/* requests that arrived meanwhile are still buffered */
	} else {
		r = fos_ipc_reader_fill(&c->rd, c->fd);
		if (r == -EAGAIN)
			return;
		if (r <= 0) {
			_fos_client_close(ep, c);
			return;
		}
	}
	_fos_client_requests(m, ep, c);
}

/* Answer the requests buffered while nothing is queued for the client and
 * no reply of its is being made a step at a time. */
static void _fos_client_requests(struct fos_manager *m, int ep, struct fos_client *c)
{
	int r;

	while (c->peer.out_len == c->peer.out_off && !c->peer.job.step) {
		json_object *req = NULL;

		r = fos_ipc_reader_next(&c->rd, &req);
		if (r == 0)
			break;
		if (r < 0) {
			json_object *msg = fos_ipc_error(
			    "fos.InvalidParameter",
			    r == -EMSGSIZE ? "message too large" : "message is not a JSON object",
			    NULL);

			(void)fos_peer_send(&c->peer, msg);
			json_object_put(msg);
			_fos_client_close(ep, c);
			return;
		}
		r = fos_methods_dispatch(m, &c->peer, req);
		json_object_put(req);
		if (r < 0) {
			log_debug_errno(r, "ipc: dropping client pid %d", (int)c->peer.pid);
			_fos_client_close(ep, c);
			return;
		}
	}
	_fos_client_watch(ep, c);
}

static int _fos_lock_pin_dir(const char *pin_dir)
{
	int fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return log_error_errno(-errno, "cannot open pin directory %s", pin_dir);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = -errno;

		close(fd);
		if (r == -EWOULDBLOCK)
			return log_error_errno(
			    -EBUSY, "another fwd already manages %s; refusing to share it",
			    pin_dir);
		return log_error_errno(r, "cannot lock %s", pin_dir);
	}
	return fd;
}

static bool _fos_is_bpffs(const char *path)
{
	char buf[512];
	FILE *f = fopen("/proc/self/mounts", "re");
	bool ok = false;
	size_t best = 0;

	if (!f)
		return false;
	while (fgets(buf, sizeof(buf), f)) {
		char dev[256], mnt[256], type[64];

		if (sscanf(buf, "%255s %255s %63s", dev, mnt, type) != 3)
			continue;
		size_t l = strlen(mnt);

		if (strncmp(path, mnt, l) == 0 && (path[l] == '/' || path[l] == 0 || l == 1) &&
		    l >= best) {
			best = l;
			ok = strcmp(type, "bpf") == 0;
		}
	}
	fclose(f);
	return ok;
}

static void _fos_usage(FILE *f)
{
	fprintf(f,
		"Usage: fwd [OPTIONS]\n"
		"The fos router daemon: loads, attaches and pins the eBPF datapath described by "
		"its config.\n\n"
		"  -c, --config FILE   config file (default %s)\n"
		"  -s, --socket PATH   control socket (default: daemon.socket, %s)\n"
		"      --pin-dir DIR   bpffs directory for pins (default: daemon.pinDir, %s)\n"
		"  -v, --verbose       debug logging\n"
		"      --check         parse, validate and verify every program; attach nothing\n"
		"      --flush         detach and remove everything fos pinned, then exit\n"
		"  -h, --help          this text\n"
		"  -V, --version       print the version\n\n"
		"Stopping fwd leaves the datapath in place; the next fwd adopts it. Only --flush "
		"removes it.\n",
		FOS_DEFAULT_CONFIG, FOS_DEFAULT_SOCKET, FOS_DEFAULT_PIN_DIR);
}

static int _fos_run(struct fos_manager *m, const char *socket_path, int lfd)
{
	/* each feature's event fd, its generation, whether it was seen, and
	 * whether its last read ran out of time */
	int ev_fd[FOS_FEATURES_MAX];
	unsigned ev_gen[FOS_FEATURES_MAX] = {0};
	bool ev_known[FOS_FEATURES_MAX] = {false}, ev_more[FOS_FEATURES_MAX] = {false};
	_cleanup_close_ int ep = -1, sfd = -1;
	struct epoll_event ev = {.events = EPOLLIN};
	sigset_t mask;
	char status[256];

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		return log_error_errno(-errno, "signalfd");
	m->socket_path = strdup(socket_path);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return log_error_errno(-errno, "epoll_create1");
	ev.data.ptr = &sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.ptr = &lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);

	snprintf(status, sizeof(status), "STATUS=%s\nREADY=1", m->reload_message);
	fos_notify(status);
	log_info("fwd %s ready: %s, socket %s, pins in %s", FOS_VERSION, m->reload_message,
		 socket_path, m->pin_dir);

	for (;;) {
		struct epoll_event evs[16];
		int timeout = -1, n;

		bool more = false;

		/* the features' event fds: one made again (after an apply) is a new
		 * one, and the old one left the epoll set as it closed */
		for (size_t f = 0; fos_features[f]; f++) {
			unsigned gen;
			int fd;

			if (!fos_features[f]->events_fd)
				continue;
			fd = fos_features[f]->events_fd(m, &gen);
			if (ev_known[f] && gen == ev_gen[f])
				continue;
			ev_known[f] = true;
			ev_gen[f] = gen;
			ev_fd[f] = fd;
			/* the apply that made it read everything pending */
			ev_more[f] = false;
			ev.data.ptr = &ev_fd[f];
			if (fd >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
				log_warning_errno(-errno, "cannot watch the events of %s, ignoring",
						  fos_features[f]->name);
		}
		/* the features' work, a few ms at a time */
		for (size_t f = 0; fos_features[f]; f++) {
			uint32_t ms;

			if (!fos_features[f]->tick)
				continue;
			ms = fos_features[f]->tick(m);
			if (ms != UINT32_MAX && (timeout < 0 || ms < (uint32_t)timeout))
				timeout = (int)ms;
		}
		for (size_t f = 0; fos_features[f]; f++)
			more = more || ev_more[f];
		/* retired set entries are erased once nothing else is waiting;
		 * block events left over from the last turn are read next */
		if (m->n_retired || m->n_retired_progs || more)
			timeout = 0;
		for (size_t c = 0; c < MAX_CLIENTS && timeout != 0; c++)
			if (clients[c] && _fos_client_job_ready(clients[c]))
				timeout = 0;
		n = epoll_wait(ep, evs, ARRAY_SIZE(evs), timeout);

		if (n == 0 && !more && fos_manager_gc(m))
			continue;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return log_error_errno(-errno, "epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &sfd) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						struct fos_errors errs = {};

						log_info("SIGHUP: reloading %s", m->config_path);
						(void)fos_manager_reload_logged(m, NULL, &errs);
						fos_errors_clear(&errs);
						continue;
					}
					log_info("%s: stopping; the datapath stays in place "
						 "(fwd --flush removes it)",
						 strsignal((int)si.ssi_signo));
					fos_notify("STOPPING=1");
					(void)unlink(socket_path);
					for (size_t c = 0; c < MAX_CLIENTS; c++)
						if (clients[c])
							_fos_client_close(ep, clients[c]);
					return 0;
				}
			} else if (evs[i].data.ptr == &lfd) {
				_fos_accept(ep, lfd);
			} else if (evs[i].data.ptr >= (void *)&ev_fd[0] &&
				   evs[i].data.ptr < (void *)&ev_fd[FOS_FEATURES_MAX]) {
				/* read below, once per turn */
				ev_more[(int *)evs[i].data.ptr - ev_fd] = true;
			} else {
				_fos_client_ready(m, ep, evs[i].data.ptr, evs[i].events);
			}
		}
		/* the events, a few ms at a time: an fd is level triggered, and
		 * ev_more keeps the next wait from sleeping while events are left */
		for (size_t f = 0; fos_features[f]; f++)
			if (ev_more[f])
				ev_more[f] = fos_features[f]->events(m) > 0;
		/* one step of each reply being made; a client closed above is gone
		 * from clients[] */
		for (size_t c = 0; c < MAX_CLIENTS; c++)
			if (clients[c] && _fos_client_job_ready(clients[c]))
				_fos_client_job_step(m, ep, clients[c]);
	}
}

static const char *_fos_socket_path(const char *opt, const struct fos_config *cfg)
{
	if (opt)
		return opt;
	if (cfg && cfg->daemon.socket[0])
		return cfg->daemon.socket;
	return FOS_DEFAULT_SOCKET;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"socket", required_argument, NULL, 's'},
	    {"pin-dir", required_argument, NULL, 'P'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"check", no_argument, NULL, 'C'},
	    {"flush", no_argument, NULL, 'F'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {},
	};
	const char *config = FOS_DEFAULT_CONFIG, *sock = NULL, *pin_dir = NULL;
	bool check = false, flush = false, verbose = false, pin_dir_opt = false;
	struct fos_manager *m = NULL;
	struct fos_errors errs = {};
	_cleanup_close_ int lock_fd = -1, listen_fd = -1;
	_cleanup_(fos_config_freep) struct fos_config *first_cfg = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "c:s:vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'P':
			pin_dir = optarg;
			pin_dir_opt = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'C':
			check = true;
			break;
		case 'F':
			flush = true;
			break;
		case 'h':
			_fos_usage(stdout);
			return 0;
		case 'V':
			printf("fwd %s\n", FOS_VERSION);
			return 0;
		default:
			_fos_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "fwd: unexpected argument \"%s\"\n", argv[optind]);
		_fos_usage(stderr);
		return 2;
	}
	if (getenv("JOURNAL_STREAM"))
		fos_log_set_target(FOS_LOG_JOURNAL);
	if (verbose)
		fos_log_set_level(LOG_DEBUG);
	libbpf_set_print(_fos_libbpf_print);

	if (check) {
		struct fos_config *checked = NULL;

		r = fos_manager_check(config, &errs, &checked);
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		fos_errors_clear(&errs);
		if (r < 0) {
			fos_config_free(checked);
			fprintf(stderr, "fwd: %s is not valid\n", config);
			return 1;
		}
		for (size_t i = 0; checked && i < checked->notes.n; i++)
			printf("%s\n", checked->notes.msgs[i]);
		fos_config_free(checked);
		printf("%s: ok\n", config);
		return 0;
	}

	if (flush && pin_dir)
		return fos_flush(pin_dir) < 0 ? 1 : 0;

	{
		struct fos_config *cfg = NULL;

		/* the pin directory and socket come from the config unless given */
		r = fos_config_load(config, &cfg, &errs);
		if (r < 0 && flush) {
			/* a broken config must not keep an operator from cleaning up */
			fos_errors_clear(&errs);
			if (!pin_dir)
				pin_dir = FOS_DEFAULT_PIN_DIR;
			log_warning("%s is not valid; flushing %s", config, pin_dir);
			return fos_flush(pin_dir) < 0 ? 1 : 0;
		}
		if (r < 0) {
			for (size_t i = 0; i < errs.n; i++)
				log_error("%s", errs.msgs[i]);
			fos_errors_clear(&errs);
			log_error("fwd: %s is not valid; nothing was changed", config);
			return 1;
		}
		if (!pin_dir)
			pin_dir = strdupa(cfg->daemon.pin_dir);
		sock = strdupa(_fos_socket_path(sock, cfg));
		if (!verbose) {
			int lvl = fos_log_level_from_string(cfg->daemon.log_level);

			if (lvl >= 0)
				fos_log_set_level(lvl);
		}
		/* applied as it is: a 1M-entry set file is read once, not twice */
		first_cfg = TAKE_PTR(cfg);
	}
	if (strlen(pin_dir) >= FOS_PIN_DIR_MAX) {
		log_error("pin directory %s is longer than %d characters", pin_dir,
			  FOS_PIN_DIR_MAX - 1);
		return 1;
	}
	if (flush)
		return fos_flush(pin_dir) < 0 ? 1 : 0;

	r = fos_mkdir_p(pin_dir, 0700);
	if (r < 0) {
		log_error_errno(r, "cannot create pin directory %s", pin_dir);
		return 1;
	}
	if (!_fos_is_bpffs(pin_dir)) {
		log_error("%s is not on a BPF filesystem (mount -t bpf bpf /sys/fs/bpf); pins "
			  "there would not survive fwd",
			  pin_dir);
		return 1;
	}
	lock_fd = _fos_lock_pin_dir(pin_dir);
	if (lock_fd < 0)
		return 1;
	/* the socket before anything is applied: a bad path changes nothing */
	listen_fd = _fos_listen(sock);
	if (listen_fd < 0)
		return 1;

	r = fos_manager_new(config, pin_dir, &m);
	if (r < 0) {
		log_error_errno(r, "cannot start");
		return 1;
	}
	m->pin_dir_forced = pin_dir_opt;
	m->verbose = verbose;
	r = fos_manager_open_maps(m, first_cfg);
	if (r < 0)
		goto out;
	r = fos_manager_reload_logged(m, TAKE_PTR(first_cfg), &errs);
	fos_errors_clear(&errs);
	if (r < 0) {
		log_error("fwd: not starting with an invalid config; the pinned datapath (if any) "
			  "is untouched");
		goto out;
	}
	r = _fos_run(m, sock, listen_fd);
out:
	if (r < 0)
		(void)unlink(sock);
	fos_manager_free(m);
	return r < 0 ? 1 : 0;
}
