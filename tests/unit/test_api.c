// SPDX-License-Identifier: GPL-2.0
/*
 * The control API's socket and thread (vmm/api.c), with real unix
 * sockets and a command table of the test's own: the socket is 0600; a
 * session works end to end; events reach negotiated clients only, and
 * one a command sends with api_send_events_now comes before its reply; 100
 * clients that connect and vanish mid-command leave the server serving;
 * a client that stops reading is dropped while the others go on; an
 * existing file is refused and a stale socket replaced; the socket is
 * removed at the end. Passed fds (SCM_RIGHTS, sent with ctl_send_fds or
 * a raw sendmsg): a command takes the client's own files, oldest first,
 * close-on-exec, and those it leaves wait for the next one; beyond
 * API_MAX_FDS they are closed, never held; a client that leaves, and
 * api_destroy, close what it held (the pipe's write ends all go, and
 * /proc/self/fd counts what it counted before).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/api.h"
#include "vmm/ctl.h"

static int echo(void *ctx, json_t *args, json_t **ret, struct qmp_error *err)
{
	(void)ctx;
	(void)err;
	*ret = json_incref(args);
	return 0;
}

/* api_event with a new reference (it takes one of its own), as machine_event. */
static void event_new(struct api *a, const char *name, json_t *data)
{
	api_event(a, name, data);
	json_decref(data);
}

static struct api *progress_api;

/* A long command's progress: an event sent before its reply. */
static int progress(void *ctx, json_t *args, json_t **ret,
		    struct qmp_error *err)
{
	(void)ctx;
	(void)args;
	(void)err;
	event_new(progress_api, "PROGRESS", json_pack("{s:i}", "done", 1));
	api_send_events_now(progress_api);
	*ret = json_object();
	return 0;
}

static struct api *take_api;

/*
 * Take up to "max" passed fds (default all), write one byte into each
 * ('a' into the first, 'b' into the next...) and close them; reply with
 * how many it took, and "ok" when each was close-on-exec and took its
 * byte.
 */
static int take(void *ctx, json_t *args, json_t **ret, struct qmp_error *err)
{
	json_t *m = json_object_get(args, "max");
	unsigned max = m ? (unsigned)json_integer_value(m) : API_MAX_FDS;
	int fds[API_MAX_FDS + 1];
	bool ok = true;
	unsigned n, i;

	(void)ctx;
	(void)err;
	n = api_take_fds(take_api, fds, MIN(max, ARRAY_SIZE(fds)));
	for (i = 0; i < n; i++) {
		char c = (char)('a' + i);

		if (!(fcntl(fds[i], F_GETFD) & FD_CLOEXEC) ||
		    write(fds[i], &c, 1) != 1)
			ok = false;
		close(fds[i]);
	}
	*ret = json_pack("{s:i,s:b}", "took", (int)n, "ok", ok);
	return 0;
}

static const struct qmp_cmd cmds[] = { { "echo", echo },
				       { "progress", progress },
				       { "take", take } };

struct fixture {
	char dir[64], path[96];
	struct api api;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/smpv-api-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/api.sock", f->dir);
	assert_int_equal(api_init(&f->api, f->path, cmds, ARRAY_SIZE(cmds),
				  NULL, "0.1.0"), 0);
	assert_int_equal(api_start(&f->api), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	api_destroy(&f->api);
	assert_int_equal(access(f->path, F_OK), -1);	/* removed */
	rmdir(f->dir);
	free(f);
	return 0;
}

static int dial(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { 10, 0 };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* One line from fd (byte by byte: the tests read little). */
static json_t *line(int fd)
{
	char buf[4096];
	size_t n = 0;

	while (n < sizeof(buf) - 1 && read(fd, buf + n, 1) == 1)
		if (buf[n++] == '\n')
			return json_loadb(buf, n, 0, NULL);
	return NULL;
}

static void say(int fd, const char *text)
{
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
}

/* Connect, take the greeting, negotiate. */
static int client(struct fixture *f)
{
	int fd = dial(f->path);
	json_t *m = line(fd);

	assert_non_null(json_object_get(m, "QMP"));
	json_decref(m);
	say(fd, "{\"execute\": \"qmp_capabilities\"}\n");
	m = line(fd);
	assert_non_null(json_object_get(m, "return"));
	json_decref(m);
	return fd;
}

static void check_echo(int fd, int v)
{
	char cmd[128];
	json_t *m;

	snprintf(cmd, sizeof(cmd), "{\"execute\": \"echo\", \"arguments\": {\"v\": %d}, \"id\": %d}\n", v, v);
	say(fd, cmd);
	m = line(fd);
	assert_non_null(m);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "return"), "v")), v);
	assert_int_equal(json_integer_value(json_object_get(m, "id")), v);
	json_decref(m);
}

/* Send text with nr fds (a raw sendmsg: it may pass more than ctl allows). */
static void send_fds(int fd, const char *text, const int *fds, unsigned nr)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(64 * sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = (void *)text, .iov_len = strlen(text) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.b,
			     .msg_controllen = CMSG_SPACE(nr * sizeof(int)) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	assert_true(nr > 0 && nr <= 64);
	memset(&ctl, 0, sizeof(ctl));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(nr * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, nr * sizeof(int));
	assert_int_equal(sendmsg(fd, &mh, 0), (ssize_t)strlen(text));
}

/* Run "take" (max 0: all) and return how many the command took. */
static int take_on(int fd, unsigned max)
{
	char cmd[128];
	json_t *m, *r;
	int n;

	snprintf(cmd, sizeof(cmd), max ?
		 "{\"execute\": \"take\", \"arguments\": {\"max\": %u}}\n" :
		 "{\"execute\": \"take\"}\n", max);
	say(fd, cmd);
	m = line(fd);
	r = json_object_get(m, "return");
	assert_non_null(r);
	assert_true(json_is_true(json_object_get(r, "ok")));
	n = (int)json_integer_value(json_object_get(r, "took"));
	json_decref(m);
	return n;
}

/* What a pipe's read end holds now (non-blocking), as a string. */
static void drain(int rd, char *out, size_t size)
{
	ssize_t n;

	fcntl(rd, F_SETFL, O_NONBLOCK);
	n = read(rd, out, size - 1);
	out[n > 0 ? n : 0] = 0;
}

static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Wait (10 s at most) until every write end of the pipe is closed. */
static void assert_eof(int rd)
{
	struct pollfd p = { .fd = rd, .events = POLLIN };
	char c;

	fcntl(rd, F_SETFL, 0);
	assert_int_equal(poll(&p, 1, 10000), 1);
	assert_int_equal(read(rd, &c, 1), 0);
}

/* The fd count comes back to before (10 s at most: the API thread drops). */
static void assert_fds_back_to(unsigned before)
{
	int i;

	for (i = 0; i < 1000 && open_fds() != before; i++)
		usleep(10000);
	assert_int_equal(open_fds(), before);
}

static void test_fds_taken(void **state)
{
	struct fixture *f = *state;
	struct ctl_conn *c = calloc(1, sizeof(*c));
	int p[3][2], w[3], many[API_MAX_FDS + 1], i;
	char got[8];
	json_t *m;

	assert_non_null(c);
	take_api = &f->api;
	for (i = 0; i < 3; i++) {
		assert_int_equal(pipe(p[i]), 0);
		w[i] = p[i][1];
	}
	c->fd = client(f);
	/* Not a command on the API thread: nothing. */
	assert_int_equal(api_take_fds(&f->api, many, API_MAX_FDS), 0);
	/* A command that takes none: they wait for the next one. */
	assert_int_equal(ctl_send_fds(c, json_pack("{s:s,s:{s:i},s:i}",
				"execute", "echo", "arguments", "v", 1, "id", 1),
				w, 3), 0);
	m = line(c->fd);
	assert_int_equal(json_integer_value(json_object_get(m, "id")), 1);
	json_decref(m);
	for (i = 0; i < 3; i++)
		close(w[i]);	/* the server's copies are what is left */
	/* Oldest first: pipes 0 and 1, then 2, then none. */
	assert_int_equal(take_on(c->fd, 2), 2);
	drain(p[0][0], got, sizeof(got));
	assert_string_equal(got, "a");
	drain(p[1][0], got, sizeof(got));
	assert_string_equal(got, "b");
	drain(p[2][0], got, sizeof(got));
	assert_string_equal(got, "");
	assert_int_equal(take_on(c->fd, 0), 1);
	drain(p[2][0], got, sizeof(got));
	assert_string_equal(got, "a");
	assert_int_equal(take_on(c->fd, 0), 0);
	for (i = 0; i < 3; i++)
		assert_eof(p[i][0]);
	/* More than API_MAX_FDS in one command: refused, nothing sent. */
	for (i = 0; i < API_MAX_FDS + 1; i++)
		many[i] = 0;
	assert_int_equal(ctl_send_fds(c, json_pack("{s:s}", "execute", "take"),
				      many, API_MAX_FDS + 1), -1);
	check_echo(c->fd, 2);	/* the next line is the echo's: none sent */
	for (i = 0; i < 3; i++)
		close(p[i][0]);
	close(c->fd);
	free(c);
}

static void test_fds_capped(void **state)
{
	struct fixture *f = *state;
	int p[2], w[40], fd, i;
	unsigned before = open_fds();
	char got[64];

	take_api = &f->api;
	assert_int_equal(pipe(p), 0);
	for (i = 0; i < 40; i++)
		w[i] = p[1];	/* one file, passed 40 times */
	fd = client(f);
	/* 20 in one message, then 20 more: the server holds 16. */
	send_fds(fd, "{\"execute\": \"echo\", \"id\": 1}\n", w, 20);
	json_decref(line(fd));
	send_fds(fd, "{\"execute\": \"echo\", \"id\": 2}\n", w, 20);
	json_decref(line(fd));
	assert_int_equal(take_on(fd, 0), API_MAX_FDS);
	drain(p[0], got, sizeof(got));
	assert_string_equal(got, "abcdefghijklmnop");
	assert_int_equal(take_on(fd, 0), 0);
	/* The 24 beyond the cap were closed on arrival: none is left. */
	close(p[1]);
	assert_eof(p[0]);
	close(p[0]);
	close(fd);
	assert_fds_back_to(before);
}

static void test_fds_closed_with_client(void **state)
{
	struct fixture *f = *state;
	unsigned before = open_fds();
	int p[2], w[20], fd, i;

	assert_int_equal(pipe(p), 0);
	for (i = 0; i < 20; i++)
		w[i] = p[1];
	fd = client(f);
	send_fds(fd, "{\"execute\": \"echo\", \"id\": 1}\n", w, 20);
	json_decref(line(fd));
	send_fds(fd, "{\"execute\": \"ec", w, 3);	/* half a command */
	close(p[1]);
	close(fd);		/* gone, holding 16 untaken */
	assert_eof(p[0]);
	close(p[0]);
	assert_fds_back_to(before);
}

static void test_fds_closed_at_destroy(void **state)
{
	struct fixture *f = *state;
	char path[128];
	struct api b;
	unsigned before = open_fds();
	int p[2], w[4], fd, i;
	json_t *m;

	assert_int_equal(pipe(p), 0);
	for (i = 0; i < 4; i++)
		w[i] = p[1];
	snprintf(path, sizeof(path), "%s/b.sock", f->dir);
	assert_int_equal(api_init(&b, path, cmds, ARRAY_SIZE(cmds), NULL,
				  "0"), 0);
	assert_int_equal(api_start(&b), 0);
	fd = dial(path);
	json_decref(line(fd));
	send_fds(fd, "{\"execute\": \"qmp_capabilities\"}\n", w, 4);
	m = line(fd);
	assert_non_null(json_object_get(m, "return"));
	json_decref(m);
	close(p[1]);
	api_destroy(&b);	/* the client is still there, holding 4 */
	assert_eof(p[0]);
	close(p[0]);
	close(fd);
	assert_int_equal(open_fds(), before);
}

static void test_socket_and_session(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	int fd;

	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	fd = client(f);
	check_echo(fd, 41);
	close(fd);
}

static void test_events(void **state)
{
	struct fixture *f = *state;
	int a = client(f), b = dial(f->path);
	json_t *m = line(b);	/* b: greeting only, not negotiated */

	json_decref(m);
	event_new(&f->api, "STOP", json_pack("{s:s}", "why", "test"));
	m = line(a);
	assert_string_equal(json_string_value(json_object_get(m, "event")), "STOP");
	assert_string_equal(json_string_value(json_object_get(json_object_get(m, "data"), "why")), "test");
	json_decref(m);
	/* b gets no event: its next line is the reply to its command. */
	say(b, "{\"execute\": \"qmp_capabilities\", \"id\": 5}\n");
	m = line(b);
	assert_int_equal(json_integer_value(json_object_get(m, "id")), 5);
	json_decref(m);
	close(a);
	close(b);
}

/* Without api_send_events_now the reply would come first. */
static void test_events_sent_now(void **state)
{
	struct fixture *f = *state;
	int fd = client(f);
	json_t *m;

	progress_api = &f->api;
	api_send_events_now(&f->api);	/* not the API thread: nothing */
	say(fd, "{\"execute\": \"progress\", \"id\": 7}\n");
	m = line(fd);
	assert_string_equal(json_string_value(json_object_get(m, "event")),
			    "PROGRESS");
	json_decref(m);
	m = line(fd);
	assert_int_equal(json_integer_value(json_object_get(m, "id")), 7);
	json_decref(m);
	close(fd);
}

static void test_vanishing_clients(void **state)
{
	struct fixture *f = *state;
	int i, fd;

	for (i = 0; i < 100; i++) {
		fd = dial(f->path);
		if (i % 3 == 0)
			say(fd, "{\"execute\": \"qmp_capabilities\"}\n{\"execute\": \"ec");
		else if (i % 3 == 1)
			say(fd, "{\"execute\": \"qmp_capabilities\"}\n{\"execute\": \"echo\"}\n");
		close(fd);
	}
	fd = client(f);
	check_echo(fd, 7);
	close(fd);
}

static void test_slow_reader_dropped(void **state)
{
	struct fixture *f = *state;
	int slow = client(f), fast, i;
	char buf[65536];
	ssize_t n;
	size_t got = 0;

	/* Far more than QMP_MAX_OUT plus the socket buffers, unread. */
	for (i = 0; i < 40000; i++)
		event_new(&f->api, "TICK", json_pack("{s:s%}", "pad",
			  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
			  (size_t)150));
	/* The server goes on serving others meanwhile. */
	fast = client(f);
	check_echo(fast, 3);
	/* The slow one was dropped: what it gets ends, well below everything sent. */
	while ((n = read(slow, buf, sizeof(buf))) > 0)
		got += (size_t)n;
	assert_int_equal(n, 0);
	assert_true(got < QMP_MAX_OUT + 2 * MiB);	/* of 9 MB sent */
	close(slow);
	close(fast);
}

static void test_existing_paths(void **state)
{
	struct fixture *f = *state;
	struct api b;
	char path[128];
	FILE *fp;

	/* A regular file is not ours to replace. */
	snprintf(path, sizeof(path), "%s/file", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(api_init(&b, path, cmds, 1, NULL, "0"), -EADDRINUSE);
	api_destroy(&b);
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
	/* A live socket (the fixture's) is refused too. */
	assert_int_equal(api_init(&b, f->path, cmds, 1, NULL, "0"), -EADDRINUSE);
	api_destroy(&b);
	assert_int_equal(access(f->path, F_OK), 0);
	/* A stale socket, left by a process that died, is replaced. */
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		snprintf(path, sizeof(path), "%s/stale", f->dir);
		strcpy(sa.sun_path, path);
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(fd);
	}
	assert_int_equal(api_init(&b, path, cmds, 1, NULL, "0"), 0);
	api_destroy(&b);
	assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_socket_and_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_sent_now, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vanishing_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_reader_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_existing_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fds_taken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fds_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fds_closed_with_client,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_fds_closed_at_destroy,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
