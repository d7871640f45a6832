// SPDX-License-Identifier: GPL-2.0
/*
 * smpvisor ctl: a command-line client of the control API (api.h).
 *
 *   smpvisor ctl [--json] [--wait-event NAME] [--timeout S] SOCKET
 *                [COMMAND [ARG=VALUE...]]
 *
 * It connects, negotiates, runs COMMAND with ARG=VALUE arguments (each
 * VALUE is taken as JSON when it parses as JSON, else as a string), and
 * prints the reply readably (--json: as the server sent it). With
 * --wait-event it then waits for that event and prints it; without a
 * COMMAND it only waits. Exit status: 0, or 1 with one line on stderr
 * (no socket, an error reply, a timeout).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/util.h"
#include "vmm/api.h"
#include "vmm/ctl.h"
#include "vmm/migrate.h"
#include "vmm/metrics.h"

static int conn_open(struct ctl_conn *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "smpvisor ctl: %s: path too long\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "smpvisor ctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

json_t *ctl_read(struct ctl_conn *c)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		ssize_t n;

		if (nl) {
			size_t len = (size_t)(nl - c->buf) + 1;
			json_t *m = json_loadb(c->buf, len, 0, NULL);

			memmove(c->buf, c->buf + len, c->len - len);
			c->len -= len;
			if (m)
				return m;
			continue;
		}
		if (c->len == sizeof(c->buf)) {
			fprintf(stderr, "smpvisor ctl: a message over %zu bytes\n",
				sizeof(c->buf));
			return NULL;
		}
		if (poll(&p, 1, c->timeout_ms) == 0) {
			fprintf(stderr, "smpvisor ctl: no answer within %d ms\n",
				c->timeout_ms);
			return NULL;
		}
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n <= 0) {
			fprintf(stderr, "smpvisor ctl: the connection closed\n");
			return NULL;
		}
		c->len += (size_t)n;
	}
}

/*
 * The message and its newline, the fds riding on the first sendmsg so
 * the server holds them before it has the whole message.
 */
int ctl_send_fds(struct ctl_conn *c, json_t *msg, const int *fds, unsigned nr)
{
	union {			/* aligned for struct cmsghdr */
		struct cmsghdr h;
		char b[CMSG_SPACE(API_MAX_FDS * sizeof(int))];
	} ctl;
	char *s = json_dumps(msg, JSON_COMPACT), *line;
	size_t n = s ? strlen(s) : 0, off = 0;

	json_decref(msg);
	if (nr > API_MAX_FDS) {
		fprintf(stderr, "smpvisor ctl: %u fds, at most %u go with a command\n",
			nr, API_MAX_FDS);
		free(s);
		return -1;
	}
	line = s ? realloc(s, n + 2) : NULL;
	if (!line)
		goto fail;
	s = line;
	s[n++] = '\n';
	s[n] = 0;
	while (off < n) {
		struct iovec iov = { .iov_base = s + off, .iov_len = n - off };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		struct cmsghdr *cm;
		ssize_t w;

		if (!off && nr) {
			memset(&ctl, 0, sizeof(ctl));
			mh.msg_control = ctl.b;
			mh.msg_controllen = CMSG_SPACE(nr * sizeof(int));
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(nr * sizeof(int));
			memcpy(CMSG_DATA(cm), fds, nr * sizeof(int));
		}
		w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (off == n) {
		free(s);
		return 0;
	}
fail:
	free(s);
	fprintf(stderr, "smpvisor ctl: cannot send the command\n");
	return -1;
}

int ctl_send(struct ctl_conn *c, json_t *msg)
{
	return ctl_send_fds(c, msg, NULL, 0);
}

int ctl_connect(struct ctl_conn *c, const char *path)
{
	json_t *m, *r;

	if (conn_open(c, path))
		return -1;
	m = ctl_read(c);		/* the greeting */
	if (!m || !json_object_get(m, "QMP")) {
		fprintf(stderr, "smpvisor ctl: %s: not a QMP server\n", path);
		json_decref(m);
		return -1;
	}
	json_decref(m);
	r = ctl_call(c, "qmp_capabilities", json_object());
	if (!r)
		return -1;
	json_decref(r);
	return 0;
}

json_t *ctl_call(struct ctl_conn *c, const char *cmd, json_t *args)
{
	json_t *m, *err, *r;

	if (ctl_send(c, json_pack("{s:s,s:o,s:s}", "execute", cmd,
				  "arguments", args, "id", "ctl")))
		return NULL;
	while ((m = ctl_read(c))) {
		if (json_object_get(m, "event")) {
			json_decref(m);
			continue;
		}
		err = json_object_get(m, "error");
		if (err) {
			fprintf(stderr, "smpvisor ctl: %s: %s: %s\n", cmd,
				json_string_value(json_object_get(err, "class")),
				json_string_value(json_object_get(err, "desc")));
			json_decref(m);
			return NULL;
		}
		r = json_object_get(m, "return");
		r = r ? json_incref(r) : json_object();
		json_decref(m);
		return r;
	}
	return NULL;
}

/* `metrics`: query-stats in the Prometheus text format (metrics.h). */
static int print_metrics(struct ctl_conn *c)
{
	json_t *st = ctl_call(c, "query-stats", json_object());
	char *text = st ? metrics_render(st) : NULL;

	json_decref(st);
	if (!text)
		return 1;
	fputs(text, stdout);
	free(text);
	return 0;
}

/* Print v readably: objects as "key: value" lines, arrays one per line. */
static void print_value(json_t *v, int indent)
{
	const char *k;
	json_t *x;
	size_t i;

	if (json_is_object(v) && !json_object_size(v) && !indent) {
		puts("ok");
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, x) {
			if (json_is_object(x) || json_is_array(x)) {
				printf("%*s%s:\n", indent, "", k);
				print_value(x, indent + 2);
			} else {
				char *s = json_dumps(x, JSON_ENCODE_ANY);

				printf("%*s%s: %s\n", indent, "", k, s ? s : "?");
				free(s);
			}
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			char *s = json_dumps(x, JSON_COMPACT | JSON_ENCODE_ANY);

			printf("%*s%s\n", indent, "", s ? s : "?");
			free(s);
		}
	} else {
		char *s = json_dumps(v, JSON_ENCODE_ANY);

		printf("%*s%s\n", indent, "", s ? s : "?");
		free(s);
	}
}

/* ARG=VALUE pairs into an object; NULL (message printed) when malformed. */
static json_t *parse_args(int argc, char **argv)
{
	json_t *o = json_object();
	int i;

	for (i = 0; o && i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		json_t *v;

		if (!eq || eq == argv[i]) {
			fprintf(stderr, "smpvisor ctl: argument %s is not ARG=VALUE\n",
				argv[i]);
			json_decref(o);
			return NULL;
		}
		*eq = 0;
		v = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
		json_object_set_new(o, argv[i], v ? v : json_string(eq + 1));
	}
	return o;
}

static void print_msg(json_t *m, bool raw)
{
	char *s;

	if (raw) {
		s = json_dumps(m, JSON_COMPACT);
		puts(s ? s : "?");
		free(s);
		return;
	}
	if (json_object_get(m, "event")) {
		printf("event %s\n", json_string_value(json_object_get(m, "event")));
		if (json_object_get(m, "data"))
			print_value(json_object_get(m, "data"), 2);
		return;
	}
	print_value(json_object_get(m, "return"), 0);
}

/*
 * Run one exchange: wait for the reply with our id. Events that arrive
 * meanwhile are skipped, but the first one named wait (if any) is kept
 * in *early for the caller.
 */
static int execute(struct ctl_conn *c, const char *cmd, json_t *args, bool raw,
		   bool quiet, const char *wait, json_t **early)
{
	json_t *m;
	int r = 1;

	if (ctl_send(c, json_pack("{s:s,s:o,s:s}", "execute", cmd,
				   "arguments", args, "id", "ctl")))
		return 1;
	while ((m = ctl_read(c))) {
		json_t *err = json_object_get(m, "error");

		if (json_object_get(m, "event")) {
			const char *ev = json_string_value(json_object_get(m, "event"));

			if (wait && early && !*early && ev && !strcmp(ev, wait))
				*early = m;
			else
				json_decref(m);
			continue;
		}
		if (err) {
			fprintf(stderr, "smpvisor ctl: %s: %s: %s\n", cmd,
				json_string_value(json_object_get(err, "class")),
				json_string_value(json_object_get(err, "desc")));
		} else {
			r = 0;
			if (!quiet)
				print_msg(m, raw);
		}
		json_decref(m);
		break;
	}
	return r;
}

static const char usage[] =
"usage: smpvisor ctl [--json] [--wait-event NAME] [--timeout S] SOCKET\n"
"                    [COMMAND [ARG=VALUE...]]\n"
"Run COMMAND on the control API of the smpvisor serving SOCKET (--api-socket)\n"
"and print its reply; `query-commands` lists them, and `metrics` prints\n"
"query-stats in the Prometheus text format; `snapshot DIR [--resume]`\n"
"writes the VM into the directory DIR (see run --restore); `migrate URI\n"
"[downtime-ms=N]` sends it live to smpvisor run --incoming URI. ARG=VALUE become the\n"
"command's arguments (VALUE as JSON when it parses as JSON, else a string).\n"
"  --json             print replies and events as the server sent them\n"
"  --wait-event NAME  then wait for event NAME and print it\n"
"  --timeout S        give up after S seconds without an answer (default 30)\n";

int ctl_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "wait-event", required_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *wait_event = NULL;
	struct ctl_conn *c = calloc(1, sizeof(*c));
	bool raw = false;
	json_t *m, *args = NULL, *early = NULL;
	int o, r = 1;

	if (!c)
		return 1;
	c->fd = -1;
	c->timeout_ms = 30000;
	while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (o == 'j') {
			raw = true;
		} else if (o == 'w') {
			wait_event = optarg;
		} else if (o == 't') {
			c->timeout_ms = atoi(optarg) * 1000;
			if (c->timeout_ms <= 0)
				c->timeout_ms = -1;
		} else {
			fputs(usage, o == 'h' ? stdout : stderr);
			free(c);
			return o == 'h' ? 0 : 1;
		}
	}
	if (optind >= argc || (optind + 1 >= argc && !wait_event)) {
		fputs(usage, stderr);
		free(c);
		return 1;
	}
	if (optind + 1 < argc && !strcmp(argv[optind + 1], "snapshot")) {
		bool resume = optind + 3 < argc && !strcmp(argv[optind + 3], "--resume");

		if (optind + 2 >= argc || (optind + 3 < argc && !resume) ||
		    optind + 4 < argc) {
			fputs("usage: smpvisor ctl SOCKET snapshot DIR [--resume]\n", stderr);
			free(c);
			return 1;
		}
		r = ctl_connect(c, argv[optind]) ? 1 :
		    ctl_snapshot(c, argv[optind + 2], resume);
		goto out;
	}
	if (optind + 2 < argc && !strcmp(argv[optind + 1], "migrate")) {
		args = parse_args(argc - optind - 3, argv + optind + 3);
		if (!args || ctl_connect(c, argv[optind]))
			goto out;
		r = ctl_migrate(c, argv[optind + 2], args);
		args = NULL;
		goto out;
	}
	if (optind + 1 < argc) {
		args = parse_args(argc - optind - 2, argv + optind + 2);
		if (!args)
			goto out;
	}
	if (ctl_connect(c, argv[optind]))
		goto out;
	if (args && !strcmp(argv[optind + 1], "metrics")) {
		r = print_metrics(c);
		goto out;
	}
	if (args) {
		r = execute(c, argv[optind + 1], args, raw, false, wait_event,
			    &early);
		args = NULL;
		if (r)
			goto out;
	}
	r = 0;
	if (early) {
		print_msg(early, raw);
		goto out;
	}
	while (wait_event && (m = ctl_read(c))) {
		const char *ev = json_string_value(json_object_get(m, "event"));

		if (ev && !strcmp(ev, wait_event)) {
			print_msg(m, raw);
			json_decref(m);
			goto out;
		}
		json_decref(m);
	}
	if (wait_event)
		r = 1;
out:
	json_decref(early);
	json_decref(args);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return r;
}
