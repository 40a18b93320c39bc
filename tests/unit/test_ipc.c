// SPDX-License-Identifier: GPL-2.0-only
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "ipc.h"

static void json_putp(json_object **o)
{
	json_object_put(*o);
	*o = NULL;
}

#define _cleanup_json_ _cleanup_(json_putp)

static json_object *parse_json(const char *text)
{
	json_object *o = json_tokener_parse(text);

	ck_assert_msg(o != NULL, "test JSON does not parse: %s", text);
	return o;
}

/* Compare o with the JSON text want, by value. */
static void assert_json_eq(json_object *o, const char *want)
{
	_cleanup_json_ json_object *w = parse_json(want);

	ck_assert_msg(json_object_equal(o, w), "got %s, want %s",
		      json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), want);
}

static void feed_str(struct fos_ipc_reader *r, const char *s)
{
	/* the NUL terminator is part of the frame */
	ck_assert_int_eq(fos_ipc_reader_feed(r, s, strlen(s) + 1), 0);
}

static void set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	ck_assert_int_ge(flags, 0);
	ck_assert_int_eq(fcntl(fd, F_SETFL, flags | O_NONBLOCK), 0);
}

/*
 * The far end of a connection runs in a thread: fn gets the fd, which is
 * closed when fn returns, and its result (0 = as expected) is checked by
 * finish_peer() in the test's own thread.
 */
struct peer {
	pthread_t thread;
	int fd;
	int (*fn)(int fd, const void *arg);
	const void *arg;
	int result;
};

static void *peer_main(void *p)
{
	struct peer *x = p;

	x->result = x->fn(x->fd, x->arg);
	close(x->fd);
	return NULL;
}

static void start_peer(struct peer *x, int fd, int (*fn)(int fd, const void *arg), const void *arg)
{
	*x = (struct peer){.fd = fd, .fn = fn, .arg = arg, .result = -1};
	ck_assert_int_eq(pthread_create(&x->thread, NULL, peer_main, x), 0);
}

static void finish_peer(struct peer *x)
{
	ck_assert_int_eq(pthread_join(x->thread, NULL), 0);
	ck_assert_msg(x->result == 0, "peer failed with %d", x->result);
}

/* builders and encoding */

START_TEST(test_request)
{
	_cleanup_json_ json_object *a = NULL, *b = NULL;

	a = fos_ipc_request("fos.GetInfo", NULL);
	ck_assert_ptr_nonnull(a);
	assert_json_eq(a, "{\"method\": \"fos.GetInfo\", \"parameters\": {}}");

	b = fos_ipc_request("fos.Show.Set", parse_json("{\"name\": \"blocked\"}"));
	ck_assert_ptr_nonnull(b);
	assert_json_eq(b,
		       "{\"method\": \"fos.Show.Set\", \"parameters\": {\"name\": \"blocked\"}}");
}
END_TEST

START_TEST(test_reply)
{
	_cleanup_json_ json_object *a = NULL, *b = NULL, *c = NULL;

	a = fos_ipc_reply(NULL, false);
	assert_json_eq(a, "{\"parameters\": {}}");
	ck_assert(!json_object_object_get_ex(a, "continues", NULL));

	b = fos_ipc_reply(parse_json("{\"entries\": [1]}"), false);
	assert_json_eq(b, "{\"parameters\": {\"entries\": [1]}}");

	c = fos_ipc_reply(parse_json("{\"entries\": [2]}"), true);
	assert_json_eq(c, "{\"parameters\": {\"entries\": [2]}, \"continues\": true}");
}
END_TEST

START_TEST(test_error)
{
	_cleanup_json_ json_object *a = NULL, *b = NULL, *c = NULL;

	a = fos_ipc_error("fos.NoSuchSet", "no set named blocked", NULL);
	assert_json_eq(a, "{\"error\": \"fos.NoSuchSet\","
			  " \"parameters\": {\"message\": \"no set named blocked\"}}");

	b = fos_ipc_error("fos.ConfigInvalid", "2 errors",
			  parse_json("{\"errors\": [\"fwd.conf:3: a\", \"fwd.conf:9: b\"]}"));
	assert_json_eq(b, "{\"error\": \"fos.ConfigInvalid\", \"parameters\": {"
			  "\"errors\": [\"fwd.conf:3: a\", \"fwd.conf:9: b\"],"
			  " \"message\": \"2 errors\"}}");

	c = fos_ipc_error("fos.PermissionDenied", NULL, NULL);
	assert_json_eq(c, "{\"error\": \"fos.PermissionDenied\", \"parameters\": {}}");
}
END_TEST

START_TEST(test_encode)
{
	_cleanup_json_ json_object *msg = NULL;
	_cleanup_free_ char *buf = NULL;
	static const char want[] = "{\"method\":\"fos.Config.Check\","
				   "\"parameters\":{\"file\":\"/etc/fos/fwd.conf\"}}";
	size_t len = 0;

	msg = fos_ipc_request("fos.Config.Check", parse_json("{\"file\": \"/etc/fos/fwd.conf\"}"));
	ck_assert_int_eq(fos_ipc_encode(msg, &buf, &len), 0);
	/* compact text, slashes not escaped, then exactly one NUL */
	ck_assert_uint_eq(len, sizeof(want));
	ck_assert_mem_eq(buf, want, sizeof(want));
}
END_TEST

START_TEST(test_encode_oversize)
{
	_cleanup_json_ json_object *msg = json_object_new_object();
	_cleanup_free_ char *big = malloc(FOS_IPC_MAX_MESSAGE);
	char *buf = (char *)"untouched";
	size_t len = 7;

	ck_assert_ptr_nonnull(big);
	memset(big, 'x', FOS_IPC_MAX_MESSAGE - 1);
	big[FOS_IPC_MAX_MESSAGE - 1] = '\0';
	json_object_object_add(msg, "a", json_object_new_string(big));
	ck_assert_int_eq(fos_ipc_encode(msg, &buf, &len), -EMSGSIZE);
	ck_assert_str_eq(buf, "untouched");
	ck_assert_uint_eq(len, 7);
	ck_assert_int_eq(fos_ipc_send(-1, msg), -EMSGSIZE);
}
END_TEST

START_TEST(test_encode_null)
{
	char *buf = NULL;
	size_t len = 7;

	/* what a builder returns when out of memory */
	ck_assert_int_eq(fos_ipc_encode(NULL, &buf, &len), -ENOMEM);
	ck_assert_ptr_null(buf);
	ck_assert_uint_eq(len, 7);
	ck_assert_int_eq(fos_ipc_send(-1, NULL), -ENOMEM);
}
END_TEST

/* reader framing */

START_TEST(test_reader_byte_by_byte)
{
	_cleanup_(fos_ipc_reader_free) struct fos_ipc_reader r = {};
	static const char stream[] = "{\"method\":\"fos.GetInfo\",\"parameters\":{}}\0"
				     "{\"parameters\":{\"x\":\"a\\u0000b\"}}";
	/* both NULs: the one inside the literal and the terminating one */
	const size_t total = sizeof(stream);
	const size_t first_end = strlen(stream) + 1;
	int got = 0;

	for (size_t i = 0; i < total; i++) {
		_cleanup_json_ json_object *msg = NULL;
		int k;

		ck_assert_int_eq(fos_ipc_reader_feed(&r, stream + i, 1), 0);
		k = fos_ipc_reader_next(&r, &msg);
		if (i + 1 == first_end) {
			ck_assert_int_eq(k, 1);
			assert_json_eq(msg, "{\"method\":\"fos.GetInfo\",\"parameters\":{}}");
			got++;
		} else if (i + 1 == total) {
			json_object *p, *x;

			ck_assert_int_eq(k, 1);
			ck_assert(json_object_object_get_ex(msg, "parameters", &p));
			ck_assert(json_object_object_get_ex(p, "x", &x));
			/* an escaped NUL inside a string does not split frames */
			ck_assert_int_eq(json_object_get_string_len(x), 3);
			ck_assert_mem_eq(json_object_get_string(x), "a\0b", 3);
			got++;
		} else {
			ck_assert_msg(k == 0, "byte %zu gave %d", i, k);
			ck_assert_ptr_null(msg);
		}
	}
	ck_assert_int_eq(got, 2);
	ck_assert_uint_eq(r.len, 0);
}
END_TEST

START_TEST(test_reader_split_points)
{
	static const char stream[] = "{\"a\":[1,2,{\"b\":\"\\u00e9\"}]}\0{\"c\":true}";

	/* every split point of the two-message stream into two feeds */
	for (size_t cut = 0; cut <= sizeof(stream); cut++) {
		_cleanup_(fos_ipc_reader_free) struct fos_ipc_reader r = {};
		_cleanup_json_ json_object *m1 = NULL, *m2 = NULL, *m3 = NULL;

		ck_assert_int_eq(fos_ipc_reader_feed(&r, stream, cut), 0);
		ck_assert_int_eq(fos_ipc_reader_feed(&r, stream + cut, sizeof(stream) - cut), 0);
		ck_assert_int_eq(fos_ipc_reader_next(&r, &m1), 1);
		ck_assert_int_eq(fos_ipc_reader_next(&r, &m2), 1);
		ck_assert_int_eq(fos_ipc_reader_next(&r, &m3), 0);
		assert_json_eq(m1, "{\"a\":[1,2,{\"b\":\"\\u00e9\"}]}");
		assert_json_eq(m2, "{\"c\":true}");
		ck_assert_ptr_null(m3);
	}
}
END_TEST

START_TEST(test_reader_many_in_one)
{
	_cleanup_(fos_ipc_reader_free) struct fos_ipc_reader r = {};
	static const char stream[] = "{\"n\":1}\0{\"n\":2}\0 {\"n\":3}\n\0{\"n\":";
	json_object *msg = NULL;

	ck_assert_int_eq(fos_ipc_reader_feed(&r, stream, sizeof(stream) - 1), 0);
	for (int n = 1; n <= 3; n++) {
		json_object *v;

		ck_assert_int_eq(fos_ipc_reader_next(&r, &msg), 1);
		ck_assert(json_object_object_get_ex(msg, "n", &v));
		ck_assert_int_eq(json_object_get_int(v), n);
		json_putp(&msg);
	}
	/* the incomplete fourth one waits for its end */
	ck_assert_int_eq(fos_ipc_reader_next(&r, &msg), 0);
	ck_assert_uint_eq(r.len, strlen("{\"n\":"));
	feed_str(&r, "4}");
	ck_assert_int_eq(fos_ipc_reader_next(&r, &msg), 1);
	assert_json_eq(msg, "{\"n\":4}");
	json_putp(&msg);
	ck_assert_int_eq(fos_ipc_reader_next(&r, &msg), 0);
	ck_assert_uint_eq(r.len, 0);
}
END_TEST

START_TEST(test_reader_bad_json)
{
	static const char *const bad[] = {
	    "",	    "{",	"{\"a\":}", "{\"a\":1,}",	    "{\"a\":1}x",
	    "{}{}", "not json", "\xff{}",   "{\"a\":\"\xc3\x28\"}",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_(fos_ipc_reader_free) struct fos_ipc_reader r = {};
		_cleanup_json_ json_object *msg = NULL;

		feed_str(&r, bad[i]);
		feed_str(&r, "{\"ok\":1}");
		ck_assert_msg(fos_ipc_reader_next(&r, &msg) == -EBADMSG, "input \"%s\"", bad[i]);
		ck_assert_ptr_null(msg);
		/* the bad frame is dropped; the next one still reads */
		ck_assert_int_eq(fos_ipc_reader_next(&r, &msg), 1);
		assert_json_eq(msg, "{\"ok\":1}");
	}
}
END_TEST

START_TEST(test_reader_not_object)
{
	static const char *const bad[] = {"[1,2]", "\"fos.GetInfo\"", "42", "null", "true"};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_(fos_ipc_reader_free) struct fos_ipc_reader r = {};
		_cleanup_json_ json_object *msg = NULL;

		feed_str(&r, bad[i]);
		ck_assert_msg(fos_ipc_reader_next(&r, &msg) == -EBADMSG, "input %s", bad[i]);
		ck_assert_ptr_null(msg);
		ck_assert_uint_eq(r.len, 0);
	}
}
END_TEST

/* A frame of exactly len bytes of JSON text: {"a":"xxx…"} */
static char *make_frame(size_t len)
{
	char *s = malloc(len + 1);

	ck_assert_ptr_nonnull(s);
	ck_assert_uint_ge(len, 8);
	memcpy(s, "{\"a\":\"", 6);
	memset(s + 6, 'x', len - 8);
	memcpy(s + len - 2, "\"}", 2);
	s[len] = '\0';
	return s;
}

START_TEST(test_reader_max_size)
{
	_cleanup_(fos_ipc_reader_free) struct fos_ipc_reader r = {};
	_cleanup_free_ char *frame = make_frame(FOS_IPC_MAX_MESSAGE);
	_cleanup_json_ json_object *msg = NULL;
	json_object *a;

	/* exactly at the cap is allowed */
	ck_assert_int_eq(fos_ipc_reader_feed(&r, frame, FOS_IPC_MAX_MESSAGE + 1), 0);
	ck_assert_int_eq(fos_ipc_reader_next(&r, &msg), 1);
	ck_assert(json_object_object_get_ex(msg, "a", &a));
	ck_assert_int_eq(json_object_get_string_len(a), FOS_IPC_MAX_MESSAGE - 8);
}
END_TEST

START_TEST(test_reader_oversize_frame)
{
	_cleanup_(fos_ipc_reader_free) struct fos_ipc_reader r = {};
	_cleanup_free_ char *frame = make_frame(FOS_IPC_MAX_MESSAGE + 1);
	json_object *msg = NULL;

	ck_assert_int_eq(fos_ipc_reader_feed(&r, frame, FOS_IPC_MAX_MESSAGE + 2), 0);
	ck_assert_int_eq(fos_ipc_reader_next(&r, &msg), -EMSGSIZE);
	ck_assert_ptr_null(msg);
}
END_TEST

START_TEST(test_reader_oversize_unterminated)
{
	_cleanup_(fos_ipc_reader_free) struct fos_ipc_reader r = {};
	_cleanup_free_ char *junk = malloc(FOS_IPC_MAX_MESSAGE);
	json_object *msg = NULL;
	int p[2];

	ck_assert_ptr_nonnull(junk);
	memset(junk, ' ', FOS_IPC_MAX_MESSAGE);
	ck_assert_int_eq(fos_ipc_reader_feed(&r, junk, FOS_IPC_MAX_MESSAGE), 0);
	/* at the cap a terminator may still come */
	ck_assert_int_eq(fos_ipc_reader_next(&r, &msg), 0);
	ck_assert_int_eq(fos_ipc_reader_feed(&r, "{", 1), 0);
	/* one byte beyond, with no NUL, the frame can only be too big */
	ck_assert_int_eq(fos_ipc_reader_next(&r, &msg), -EMSGSIZE);
	ck_assert_ptr_null(msg);

	/* and the reader refuses to buffer more of it */
	ck_assert_int_eq(fos_ipc_reader_feed(&r, "}", 1), -EMSGSIZE);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "}", 2), 2);
	ck_assert_int_eq(fos_ipc_reader_fill(&r, p[0]), -EMSGSIZE);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* reading from a descriptor */

START_TEST(test_reader_fill)
{
	_cleanup_(fos_ipc_reader_free) struct fos_ipc_reader r = {};
	_cleanup_json_ json_object *msg = NULL;
	static const char frame[] = "{\"parameters\":{}}";
	int p[2];

	ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
	ck_assert_int_eq(fos_ipc_reader_fill(&r, p[0]), -EAGAIN);

	ck_assert_int_eq(write(p[1], frame, sizeof(frame)), sizeof(frame));
	ck_assert_int_eq(fos_ipc_reader_fill(&r, p[0]), sizeof(frame));
	ck_assert_int_eq(fos_ipc_reader_next(&r, &msg), 1);
	assert_json_eq(msg, frame);

	close(p[1]);
	ck_assert_int_eq(fos_ipc_reader_fill(&r, p[0]), 0);
	close(p[0]);
	ck_assert_int_eq(fos_ipc_reader_fill(&r, p[0]), -EBADF);
}
END_TEST

static int write_frame(int fd, const void *arg)
{
	const char *frame = arg;
	size_t off = 0, len = strlen(frame) + 1;

	while (off < len) {
		ssize_t n = write(fd, frame + off, len - off);

		if (n <= 0)
			return 1;
		off += (size_t)n;
	}
	return 0;
}

START_TEST(test_reader_fill_chunk)
{
	_cleanup_(fos_ipc_reader_free) struct fos_ipc_reader r = {};
	_cleanup_free_ char *frame = make_frame(200 * 1024);
	_cleanup_json_ json_object *msg = NULL;
	struct peer writer;
	size_t total = 0;
	int sv[2], k;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	start_peer(&writer, sv[1], write_frame, frame);

	while ((k = fos_ipc_reader_next(&r, &msg)) == 0) {
		int n = fos_ipc_reader_fill(&r, sv[0]);

		ck_assert_int_gt(n, 0);
		ck_assert_int_le(n, 64 * 1024);
		total += (size_t)n;
	}
	ck_assert_int_eq(k, 1);
	ck_assert_uint_eq(total, 200 * 1024 + 1);
	finish_peer(&writer);
	close(sv[0]);
}
END_TEST

/* sending */

START_TEST(test_send_pipe)
{
	_cleanup_json_ json_object *msg = fos_ipc_reply(NULL, false);
	static const char want[] = "{\"parameters\":{}}";
	char buf[64];
	int p[2];

	/* a pipe is not a socket: send() fails with ENOTSOCK, write() is used */
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(fos_ipc_send(p[1], msg), 0);
	ck_assert_int_eq(read(p[0], buf, sizeof(buf)), sizeof(want));
	ck_assert_mem_eq(buf, want, sizeof(want));
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_send_closed_peer)
{
	_cleanup_json_ json_object *msg = fos_ipc_reply(NULL, false);
	int sv[2];

	/* SIGPIPE would kill the test; the peer's absence must be an error */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	ck_assert_int_eq(fos_ipc_send(sv[0], msg), -EPIPE);
	close(sv[0]);
	ck_assert_int_eq(fos_ipc_send(sv[0], msg), -EBADF);
}
END_TEST

/* Read one message from fd; its "a" must be a string of *arg bytes. */
static int sink(int fd, const void *arg)
{
	_cleanup_(fos_ipc_reader_free) struct fos_ipc_reader r = {};
	_cleanup_json_ json_object *msg = NULL;
	const size_t *want_len = arg;
	json_object *a;
	int k;

	while ((k = fos_ipc_reader_next(&r, &msg)) == 0)
		if (fos_ipc_reader_fill(&r, fd) <= 0)
			return 2;
	if (k != 1 || !json_object_object_get_ex(msg, "a", &a))
		return 3;
	return (size_t)json_object_get_string_len(a) == *want_len ? 0 : 4;
}

static void send_large(bool nonblocking)
{
	static const size_t len = 4 * 1024 * 1024 - 1;
	_cleanup_json_ json_object *msg = json_object_new_object();
	_cleanup_free_ char *big = malloc(len + 1);
	struct peer reader;
	int sv[2];

	ck_assert_ptr_nonnull(big);
	memset(big, 'y', len);
	big[len] = '\0';
	json_object_object_add(msg, "a", json_object_new_string(big));

	/* far larger than the socket buffer: partial writes are certain */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if (nonblocking)
		set_nonblock(sv[0]);
	start_peer(&reader, sv[1], sink, &len);
	ck_assert_int_eq(fos_ipc_send(sv[0], msg), 0);
	finish_peer(&reader);
	close(sv[0]);
}

START_TEST(test_send_large)
{
	send_large(false);
}
END_TEST

START_TEST(test_send_large_nonblocking)
{
	send_large(true);
}
END_TEST

START_TEST(test_send_timeout)
{
	_cleanup_json_ json_object *msg = json_object_new_object();
	_cleanup_free_ char *big = malloc(4 * 1024 * 1024);
	struct timeval tv = {.tv_usec = 100 * 1000};
	int sv[2];

	ck_assert_ptr_nonnull(big);
	memset(big, 'z', 4 * 1024 * 1024 - 1);
	big[4 * 1024 * 1024 - 1] = '\0';
	json_object_object_add(msg, "a", json_object_new_string(big));

	/* nobody reads: the caller's SO_SNDTIMEO ends the wait */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	ck_assert_int_eq(fos_ipc_send(sv[0], msg), -ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* calls against a scripted server in a child process */

enum script {
	SCRIPT_PLAIN,
	SCRIPT_STREAM,
	SCRIPT_ERROR,
	SCRIPT_ERROR_MIDSTREAM,
	SCRIPT_HANGUP,
	SCRIPT_BAD_REPLY,
	SCRIPT_STREAM_NO_ENTRIES,
	SCRIPT_PART_NO_ENTRIES,
	SCRIPT_SILENT,
};

static int send_text(int fd, const char *text)
{
	_cleanup_json_ json_object *msg = json_tokener_parse(text);

	return msg ? fos_ipc_send(fd, msg) : -EINVAL;
}

/* Returns 0 when the request was as expected and the script was played. */
static int serve(int fd, const void *arg)
{
	const enum script script = *(const enum script *)arg;
	_cleanup_(fos_ipc_reader_free) struct fos_ipc_reader r = {};
	_cleanup_json_ json_object *req = NULL, *want = NULL;
	int k;

	while ((k = fos_ipc_reader_next(&r, &req)) == 0)
		if (fos_ipc_reader_fill(&r, fd) <= 0)
			return 10;
	if (k != 1)
		return 11;
	want = json_tokener_parse("{\"method\": \"fos.Show.Set\","
				  " \"parameters\": {\"name\": \"blocked\"}}");
	if (!json_object_equal(req, want))
		return 12;

	switch (script) {
	case SCRIPT_PLAIN:
		k = send_text(fd, "{\"parameters\": {\"name\": \"blocked\", \"entries\": []}}");
		break;
	case SCRIPT_STREAM:
		k = send_text(fd, "{\"parameters\": {\"name\": \"blocked\", \"entries\":"
				  " [{\"cidr\": \"10.0.0.0/8\"}, {\"cidr\": \"10.1.0.0/16\"}]},"
				  " \"continues\": true}");
		if (k >= 0)
			k = send_text(fd, "{\"parameters\": {\"entries\":"
					  " [{\"cidr\": \"192.0.2.0/24\"}]}, \"continues\": true}");
		if (k >= 0)
			k = send_text(fd,
				      "{\"parameters\": {\"entries\": []}, \"continues\": true}");
		if (k >= 0)
			k = send_text(fd, "{\"parameters\": {\"entries\":"
					  " [{\"cidr\": \"2001:db8::/32\"}], \"matched\": 4}}");
		break;
	case SCRIPT_ERROR:
		k = send_text(fd, "{\"error\": \"fos.NoSuchSet\","
				  " \"parameters\": {\"message\": \"no set named blocked\"}}");
		break;
	case SCRIPT_ERROR_MIDSTREAM:
		k = send_text(fd, "{\"parameters\": {\"entries\": [1]}, \"continues\": true}");
		if (k >= 0)
			k = send_text(fd, "{\"error\": \"fos.Failed\","
					  " \"parameters\": {\"message\": \"map vanished\"}}");
		break;
	case SCRIPT_HANGUP:
		k = 0;
		break;
	case SCRIPT_BAD_REPLY:
		k = send_text(fd, "{\"result\": {}}");
		break;
	case SCRIPT_STREAM_NO_ENTRIES:
		k = send_text(fd, "{\"parameters\": {\"name\": \"blocked\"}, \"continues\": true}");
		break;
	case SCRIPT_PART_NO_ENTRIES:
		k = send_text(fd, "{\"parameters\": {\"entries\": [1]}, \"continues\": true}");
		if (k >= 0)
			k = send_text(fd, "{\"parameters\": {\"entries\": {}}}");
		break;
	case SCRIPT_SILENT: {
		char c;

		/* wait for the client to give up and close */
		k = (int)read(fd, &c, 1) == 0 ? 0 : -EPROTO;
		break;
	}
	}
	return k < 0 ? 13 : 0;
}

/* Make a call on one end of a socketpair with the script on the other. */
static int call_script(enum script script, bool nonblocking, json_object **ret_reply)
{
	_cleanup_json_ json_object *reply = NULL;
	struct peer server;
	int sv[2], k;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	if (nonblocking)
		set_nonblock(sv[0]);
	if (script == SCRIPT_SILENT) {
		struct timeval tv = {.tv_usec = 100 * 1000};

		ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	}
	start_peer(&server, sv[1], serve, &script);
	k = fos_ipc_call(sv[0], "fos.Show.Set", parse_json("{\"name\": \"blocked\"}"), &reply);
	close(sv[0]);
	finish_peer(&server);
	if (k >= 0)
		*ret_reply = TAKE_PTR(reply);
	return k;
}

START_TEST(test_call_plain)
{
	_cleanup_json_ json_object *reply = NULL;

	ck_assert_int_eq(call_script(SCRIPT_PLAIN, false, &reply), 0);
	assert_json_eq(reply, "{\"parameters\": {\"name\": \"blocked\", \"entries\": []}}");
}
END_TEST

static const char streamed_reply[] = "{\"parameters\": {\"name\": \"blocked\", \"entries\": ["
				     "{\"cidr\": \"10.0.0.0/8\"}, {\"cidr\": \"10.1.0.0/16\"},"
				     " {\"cidr\": \"192.0.2.0/24\"}, {\"cidr\": \"2001:db8::/32\"}"
				     "], \"matched\": 4}}";

START_TEST(test_call_stream)
{
	_cleanup_json_ json_object *reply = NULL;

	/* parts joined in order; "continues" does not survive the join; a
	 * later part's other fields (a total) join the reply */
	ck_assert_int_eq(call_script(SCRIPT_STREAM, false, &reply), 0);
	assert_json_eq(reply, streamed_reply);
}
END_TEST

START_TEST(test_call_stream_nonblocking)
{
	_cleanup_json_ json_object *reply = NULL;

	ck_assert_int_eq(call_script(SCRIPT_STREAM, true, &reply), 0);
	assert_json_eq(reply, streamed_reply);
}
END_TEST

START_TEST(test_call_error)
{
	_cleanup_json_ json_object *reply = NULL;

	ck_assert_int_eq(call_script(SCRIPT_ERROR, false, &reply), 0);
	assert_json_eq(reply, "{\"error\": \"fos.NoSuchSet\","
			      " \"parameters\": {\"message\": \"no set named blocked\"}}");
}
END_TEST

START_TEST(test_call_error_midstream)
{
	_cleanup_json_ json_object *reply = NULL;

	ck_assert_int_eq(call_script(SCRIPT_ERROR_MIDSTREAM, false, &reply), 0);
	assert_json_eq(reply, "{\"error\": \"fos.Failed\","
			      " \"parameters\": {\"message\": \"map vanished\"}}");
}
END_TEST

START_TEST(test_call_failures)
{
	json_object *reply = NULL;

	ck_assert_int_eq(call_script(SCRIPT_HANGUP, false, &reply), -ECONNRESET);
	ck_assert_int_eq(call_script(SCRIPT_BAD_REPLY, false, &reply), -EBADMSG);
	ck_assert_int_eq(call_script(SCRIPT_STREAM_NO_ENTRIES, false, &reply), -EBADMSG);
	ck_assert_int_eq(call_script(SCRIPT_PART_NO_ENTRIES, false, &reply), -EBADMSG);
	ck_assert_int_eq(call_script(SCRIPT_SILENT, false, &reply), -ETIMEDOUT);
	ck_assert_ptr_null(reply);
}
END_TEST

START_TEST(test_call_closed_fd)
{
	json_object *reply = NULL;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	ck_assert_int_eq(fos_ipc_call(sv[0], "fos.GetInfo", NULL, &reply), -EPIPE);
	ck_assert_ptr_null(reply);
	close(sv[0]);
}
END_TEST

/* connecting */

/* Accept one client on the listening fd and play the stream script. */
static int accept_and_serve(int lfd, const void *arg)
{
	_cleanup_close_ int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	(void)arg;
	if (cfd < 0)
		return 20;
	return serve(cfd, &(const enum script){SCRIPT_STREAM});
}

START_TEST(test_connect_round_trip)
{
	char dir[] = "/tmp/fos-test-ipc-XXXXXX";
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_json_ json_object *reply = NULL;
	struct peer server;
	int lfd, fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/fwd.sock", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	start_peer(&server, lfd, accept_and_serve, NULL);

	fd = fos_ipc_connect(sa.sun_path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(
	    fos_ipc_call(fd, "fos.Show.Set", parse_json("{\"name\": \"blocked\"}"), &reply), 0);
	assert_json_eq(reply, streamed_reply);
	close(fd);
	finish_peer(&server);

	unlink(sa.sun_path);
	rmdir(dir);
}
END_TEST

START_TEST(test_connect_errors)
{
	char dir[] = "/tmp/fos-test-ipc-XXXXXX";
	char path[sizeof(((struct sockaddr_un *)NULL)->sun_path) + 1];
	char missing[64];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(missing, sizeof(missing), "%s/absent.sock", dir);
	ck_assert_int_eq(fos_ipc_connect(missing), -ENOENT);
	/* a path that is there but is not a listening socket */
	ck_assert_int_eq(fos_ipc_connect(dir), -ECONNREFUSED);
	rmdir(dir);

	/* sun_path has room for sizeof - 1 characters and the NUL */
	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	ck_assert_int_eq(fos_ipc_connect(path), -ENAMETOOLONG);
	path[sizeof(path) - 2] = '\0';
	ck_assert_int_eq(fos_ipc_connect(path), -ENOENT);

	ck_assert_int_eq(fos_ipc_connect(""), -EINVAL);
}
END_TEST

static Suite *ipc_suite(void)
{
	Suite *s = suite_create("ipc");
	TCase *tc;

	tc = tcase_create("messages");
	tcase_add_test(tc, test_request);
	tcase_add_test(tc, test_reply);
	tcase_add_test(tc, test_error);
	tcase_add_test(tc, test_encode);
	tcase_add_test(tc, test_encode_oversize);
	tcase_add_test(tc, test_encode_null);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("reader");
	tcase_add_test(tc, test_reader_byte_by_byte);
	tcase_add_test(tc, test_reader_split_points);
	tcase_add_test(tc, test_reader_many_in_one);
	tcase_add_test(tc, test_reader_bad_json);
	tcase_add_test(tc, test_reader_not_object);
	tcase_add_test(tc, test_reader_max_size);
	tcase_add_test(tc, test_reader_oversize_frame);
	tcase_add_test(tc, test_reader_oversize_unterminated);
	tcase_add_test(tc, test_reader_fill);
	tcase_add_test(tc, test_reader_fill_chunk);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("send");
	tcase_add_test(tc, test_send_pipe);
	tcase_add_test(tc, test_send_closed_peer);
	tcase_add_test(tc, test_send_large);
	tcase_add_test(tc, test_send_large_nonblocking);
	tcase_add_test(tc, test_send_timeout);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("call");
	tcase_add_test(tc, test_call_plain);
	tcase_add_test(tc, test_call_stream);
	tcase_add_test(tc, test_call_stream_nonblocking);
	tcase_add_test(tc, test_call_error);
	tcase_add_test(tc, test_call_error_midstream);
	tcase_add_test(tc, test_call_failures);
	tcase_add_test(tc, test_call_closed_fd);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("connect");
	tcase_add_test(tc, test_connect_round_trip);
	tcase_add_test(tc, test_connect_errors);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ipc_suite());
	int failed;

	/* a lost peer must surface as -EPIPE even where SIGPIPE is not ignored */
	signal(SIGPIPE, SIG_DFL);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
