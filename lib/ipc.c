// SPDX-License-Identifier: GPL-2.0-only
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "ipc.h"

/* Bytes asked of read() per fos_ipc_reader_fill() call. */
#define FOS_IPC_READ_CHUNK (64U * 1024)
/* A reader that has drained its buffer gives back anything grown beyond this. */
#define FOS_IPC_KEEP_BUFFER (256U * 1024)
/* Nesting allowed in a message; BTF-rendered map values can be deep. */
#define FOS_IPC_MAX_DEPTH 64

static void _fos_json_putp(json_object **o)
{
	json_object_put(*o);
	*o = NULL;
}

static void _fos_tokener_freep(json_tokener **tok)
{
	if (*tok)
		json_tokener_free(*tok);
	*tok = NULL;
}

#define _cleanup_json_ _cleanup_(_fos_json_putp)

/* Add val under key; val is owned by obj afterwards, or released on failure. */
static int _fos_json_add(json_object *obj, const char *key, json_object *val)
{
	if (!val)
		return -ENOMEM;
	if (json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

void fos_ipc_reader_free(struct fos_ipc_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	*r = (struct fos_ipc_reader){};
}

static int _fos_ipc_reader_reserve(struct fos_ipc_reader *r, size_t n)
{
	size_t want, cap;
	char *buf;

	if (n > SIZE_MAX - r->len)
		return -ENOMEM;
	want = r->len + n;
	if (want <= r->cap)
		return 0;
	cap = r->cap ? r->cap : FOS_IPC_READ_CHUNK;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	buf = realloc(r->buf, cap);
	if (!buf)
		return -ENOMEM;
	r->buf = buf;
	r->cap = cap;
	return 0;
}

/* True once more than a whole message is buffered with no terminator: the
 * frame at the head can only be oversized. */
static bool _fos_ipc_reader_overflowed(const struct fos_ipc_reader *r)
{
	return r->len > FOS_IPC_MAX_MESSAGE && !memchr(r->buf, '\0', r->len);
}

static void _fos_ipc_reader_consume(struct fos_ipc_reader *r, size_t n)
{
	assert(n <= r->len);

	memmove(r->buf, r->buf + n, r->len - n);
	r->len -= n;
	if (r->len == 0 && r->cap > FOS_IPC_KEEP_BUFFER) {
		free(r->buf);
		r->buf = NULL;
		r->cap = 0;
	}
}

/* Parse one frame's text (without its NUL), which must be exactly one object. */
static int _fos_ipc_parse(const char *text, size_t len, json_object **ret)
{
	_cleanup_(_fos_tokener_freep) json_tokener *tok = NULL;
	_cleanup_json_ json_object *o = NULL;
	enum json_tokener_error e;

	assert(len <= FOS_IPC_MAX_MESSAGE);

	tok = json_tokener_new_ex(FOS_IPC_MAX_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)len);
	e = json_tokener_get_error(tok);
	if (e != json_tokener_success)
		return -EBADMSG;
	if (json_tokener_get_parse_end(tok) != len)
		return -EBADMSG;
	if (!json_object_is_type(o, json_type_object))
		return -EBADMSG;
	*ret = TAKE_PTR(o);
	return 0;
}

int fos_ipc_reader_next(struct fos_ipc_reader *r, json_object **ret)
{
	json_object *msg = NULL;
	const char *nul;
	size_t n;
	int k;

	assert(r);
	assert(ret);

	nul = r->len > 0 ? memchr(r->buf, '\0', r->len) : NULL;
	if (!nul)
		return r->len > FOS_IPC_MAX_MESSAGE ? -EMSGSIZE : 0;
	n = (size_t)(nul - r->buf);
	if (n > FOS_IPC_MAX_MESSAGE)
		return -EMSGSIZE;

	/* A malformed frame is dropped too, so that the caller may answer it
	 * and carry on with the next one. */
	k = _fos_ipc_parse(r->buf, n, &msg);
	_fos_ipc_reader_consume(r, n + 1);
	if (k < 0)
		return k;
	*ret = msg;
	return 1;
}

int fos_ipc_reader_fill(struct fos_ipc_reader *r, int fd)
{
	ssize_t n;
	int k;

	assert(r);

	if (_fos_ipc_reader_overflowed(r))
		return -EMSGSIZE;
	k = _fos_ipc_reader_reserve(r, FOS_IPC_READ_CHUNK);
	if (k < 0)
		return k;
	do
		n = read(fd, r->buf + r->len, FOS_IPC_READ_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
	r->len += (size_t)n;
	return (int)n;
}

int fos_ipc_reader_feed(struct fos_ipc_reader *r, const void *data, size_t len)
{
	int k;

	assert(r);
	assert(data || len == 0);

	if (_fos_ipc_reader_overflowed(r))
		return -EMSGSIZE;
	k = _fos_ipc_reader_reserve(r, len);
	if (k < 0)
		return k;
	if (len > 0)
		memcpy(r->buf + r->len, data, len);
	r->len += len;
	return 0;
}

int fos_ipc_encode(json_object *msg, char **ret, size_t *ret_len)
{
	const char *text;
	size_t len;
	char *buf;

	assert(ret);
	assert(ret_len);

	/* The builders return NULL only when out of memory; passing that on
	 * lets callers send what they built without checking it first. */
	if (!msg)
		return -ENOMEM;
	assert(json_object_is_type(msg, json_type_object));

	text = json_object_to_json_string_length(
	    msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (!text)
		return -ENOMEM;
	if (len > FOS_IPC_MAX_MESSAGE)
		return -EMSGSIZE;
	buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, text, len);
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len + 1;
	return 0;
}

/*
 * Called after EAGAIN. A non-blocking fd is waited for. A blocking one only
 * says EAGAIN when its SO_RCVTIMEO or SO_SNDTIMEO expired, so the caller's
 * timeout is honoured by giving up.
 */
static int _fos_ipc_wait(int fd, short events)
{
	struct pollfd p = {.fd = fd, .events = events};
	int flags;

	flags = fcntl(fd, F_GETFL);
	if (flags < 0)
		return -errno;
	if (!(flags & O_NONBLOCK))
		return -ETIMEDOUT;
	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int fos_ipc_send(int fd, json_object *msg)
{
	_cleanup_free_ char *buf = NULL;
	bool use_send = true;
	size_t len, off = 0;
	int r;

	r = fos_ipc_encode(msg, &buf, &len);
	if (r < 0)
		return r;

	while (off < len) {
		ssize_t n;

		if (use_send) {
			/* MSG_NOSIGNAL: a peer that went away is -EPIPE, not SIGPIPE. */
			n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
			if (n < 0 && errno == ENOTSOCK) {
				use_send = false;
				continue;
			}
		} else {
			n = write(fd, buf + off, len - off);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				r = _fos_ipc_wait(fd, POLLOUT);
				if (r < 0)
					return r;
				continue;
			}
			return -errno;
		}
		if (n == 0)
			return -EIO;
		off += (size_t)n;
	}
	return 0;
}

json_object *fos_ipc_request(const char *method, json_object *params)
{
	_cleanup_json_ json_object *p = params, *msg = NULL;

	assert(method);
	assert(!params || json_object_is_type(params, json_type_object));

	if (!p) {
		p = json_object_new_object();
		if (!p)
			return NULL;
	}
	msg = json_object_new_object();
	if (!msg)
		return NULL;
	if (_fos_json_add(msg, "method", json_object_new_string(method)) < 0)
		return NULL;
	if (_fos_json_add(msg, "parameters", TAKE_PTR(p)) < 0)
		return NULL;
	return TAKE_PTR(msg);
}

json_object *fos_ipc_reply(json_object *params, bool continues)
{
	_cleanup_json_ json_object *p = params, *msg = NULL;

	assert(!params || json_object_is_type(params, json_type_object));

	if (!p) {
		p = json_object_new_object();
		if (!p)
			return NULL;
	}
	msg = json_object_new_object();
	if (!msg)
		return NULL;
	if (_fos_json_add(msg, "parameters", TAKE_PTR(p)) < 0)
		return NULL;
	if (continues && _fos_json_add(msg, "continues", json_object_new_boolean(true)) < 0)
		return NULL;
	return TAKE_PTR(msg);
}

json_object *fos_ipc_error(const char *error, const char *message, json_object *params)
{
	_cleanup_json_ json_object *p = params, *msg = NULL;

	assert(error);
	assert(!params || json_object_is_type(params, json_type_object));

	if (!p) {
		p = json_object_new_object();
		if (!p)
			return NULL;
	}
	if (message && _fos_json_add(p, "message", json_object_new_string(message)) < 0)
		return NULL;
	msg = json_object_new_object();
	if (!msg)
		return NULL;
	if (_fos_json_add(msg, "error", json_object_new_string(error)) < 0)
		return NULL;
	if (_fos_json_add(msg, "parameters", TAKE_PTR(p)) < 0)
		return NULL;
	return TAKE_PTR(msg);
}

int fos_ipc_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;
	size_t len;

	assert(path);

	len = strlen(path);
	if (len == 0)
		return -EINVAL;
	if (len >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, len);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1)) < 0)
		return -errno;
	return TAKE_FD(fd);
}

/* Block until the next whole message has arrived. */
static int _fos_ipc_receive(int fd, struct fos_ipc_reader *reader, json_object **ret)
{
	for (;;) {
		int r;

		r = fos_ipc_reader_next(reader, ret);
		if (r != 0)
			return r < 0 ? r : 0;
		r = fos_ipc_reader_fill(reader, fd);
		if (r == 0)
			return -ECONNRESET;
		if (r == -EAGAIN)
			r = _fos_ipc_wait(fd, POLLIN);
		if (r < 0)
			return r;
	}
}

static int _fos_ipc_entries(json_object *msg, json_object **ret)
{
	json_object *params, *entries;

	if (!json_object_object_get_ex(msg, "parameters", &params) ||
	    !json_object_object_get_ex(params, "entries", &entries) ||
	    !json_object_is_type(entries, json_type_array))
		return -EBADMSG;
	*ret = entries;
	return 0;
}

int fos_ipc_call(int fd, const char *method, json_object *params, json_object **ret_reply)
{
	_cleanup_(fos_ipc_reader_free) struct fos_ipc_reader reader = {};
	_cleanup_json_ json_object *req = NULL, *reply = NULL;
	json_object *entries = NULL;
	int r;

	assert(method);
	assert(ret_reply);

	req = fos_ipc_request(method, params);
	if (!req)
		return -ENOMEM;
	r = fos_ipc_send(fd, req);
	if (r < 0)
		return r;

	for (;;) {
		_cleanup_json_ json_object *msg = NULL;
		json_object *v, *part;
		bool continues = false;

		r = _fos_ipc_receive(fd, &reader, &msg);
		if (r < 0)
			return r;

		/* An error ends the call, even in the middle of a stream. */
		if (json_object_object_get_ex(msg, "error", &v)) {
			if (!json_object_is_type(v, json_type_string))
				return -EBADMSG;
			*ret_reply = TAKE_PTR(msg);
			return 0;
		}
		if (!json_object_object_get_ex(msg, "parameters", &v) ||
		    !json_object_is_type(v, json_type_object))
			return -EBADMSG;
		if (json_object_object_get_ex(msg, "continues", &v)) {
			if (!json_object_is_type(v, json_type_boolean))
				return -EBADMSG;
			continues = json_object_get_boolean(v);
		}

		if (!reply) {
			if (!continues) {
				*ret_reply = TAKE_PTR(msg);
				return 0;
			}
			/* The first part carries the reply; later parts add their
			 * entries, and their other fields (totals known only
			 * once the walk is done) replace the first part's. */
			r = _fos_ipc_entries(msg, &entries);
			if (r < 0)
				return r;
			json_object_object_del(msg, "continues");
			reply = TAKE_PTR(msg);
			continue;
		}

		r = _fos_ipc_entries(msg, &part);
		if (r < 0)
			return r;
		for (size_t i = 0; i < json_object_array_length(part); i++) {
			json_object *e = json_object_array_get_idx(part, i);

			if (json_object_array_add(entries, json_object_get(e)) < 0) {
				json_object_put(e);
				return -ENOMEM;
			}
		}
		{
			json_object *pp, *rp;

			if (json_object_object_get_ex(msg, "parameters", &pp) &&
			    json_object_object_get_ex(reply, "parameters", &rp)) {
				json_object_object_foreach(pp, key, val)
				{
					if (strcmp(key, "entries") != 0)
						json_object_object_add(rp, key,
								       json_object_get(val));
				}
			}
		}
		if (!continues)
			break;
	}
	*ret_reply = TAKE_PTR(reply);
	return 0;
}
