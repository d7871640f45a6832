// SPDX-License-Identifier: GPL-2.0
/*
 * The control API's socket and thread (vmm/api.c), with real unix
 * sockets and a command table of the test's own: the socket is 0600; a
 * session works end to end; events reach negotiated clients only, and
 * one a command sends with api_send_events_now comes before its reply; 100
 * clients that connect and vanish mid-command leave the server serving;
 * a client that stops reading is dropped while the others go on; an
 * existing file is refused and a stale socket replaced; the socket is
 * removed at the end.
 */
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

static int echo(void *ctx, json_t *args, json_t **ret, struct qmp_error *err)
{
	(void)ctx;
	(void)err;
	*ret = json_incref(args);
	return 0;
}

static struct api *progress_api;

/* A long command's progress: an event sent before its reply. */
static int progress(void *ctx, json_t *args, json_t **ret,
		    struct qmp_error *err)
{
	(void)ctx;
	(void)args;
	(void)err;
	api_event(progress_api, "PROGRESS", json_pack("{s:i}", "done", 1));
	api_send_events_now(progress_api);
	*ret = json_object();
	return 0;
}

static const struct qmp_cmd cmds[] = { { "echo", echo },
				       { "progress", progress } };

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
	api_event(&f->api, "STOP", json_pack("{s:s}", "why", "test"));
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
		api_event(&f->api, "TICK", json_pack("{s:s%}", "pad",
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
