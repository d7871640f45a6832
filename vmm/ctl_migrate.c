// SPDX-License-Identifier: GPL-2.0
/*
 * smpvisor ctl SOCKET migrate URI [downtime-ms=N]: the client half of a
 * live migration (include/vmm/migrate.h). The client connects to the
 * destination (run --incoming URI) and hands the connection to the VMM
 * with the migrate command: the VMM, confined, makes no connection of
 * its own. Then it follows query-migrate until the end, with a progress
 * line, and exits 0 when the VM runs at the destination.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm/ctl.h"
#include "vmm/migrate.h"

static long long num(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

/*
 * The next reply, events looked at on the way: a MIGRATION event (sent
 * once, at the end) puts its status into final and returns NULL, as
 * does a connection gone.
 */
static json_t *next_reply(struct ctl_conn *c, char *final, size_t len)
{
	json_t *m;

	while ((m = ctl_read(c))) {
		const char *ev = json_string_value(json_object_get(m, "event"));

		if (!ev)
			return m;
		if (!strcmp(ev, "MIGRATION")) {
			json_t *d = json_object_get(m, "data");
			const char *st = json_string_value(json_object_get(d, "status"));
			const char *e = json_string_value(json_object_get(d, "error"));

			snprintf(final, len, "%s%s%s", st ? st : "?", e ? ": " : "", e ? e : "");
			json_decref(m);
			return NULL;	/* the end: the source may be gone next */
		}
		json_decref(m);
	}
	return NULL;
}

static void progress(json_t *ret, bool tty)
{
	json_t *q = json_object_get(ret, "return");

	fprintf(stderr, "migrate: %s, round %lld, %lld MiB sent, %lld MiB dirty, throttle %lld %%%s",
		json_string_value(json_object_get(q, "status")) ?: "?",
		num(q, "rounds"), num(q, "bytes") >> 20, num(q, "remaining") >> 20,
		num(q, "throttle-percent"), tty ? "   \r" : "\n");
}

int ctl_migrate(struct ctl_conn *c, const char *uri, json_t *args)
{
	char why[256], final[300] = "";
	json_t *m, *last = NULL;
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	bool tty = isatty(STDERR_FILENO);
	int fd = mig_uri_socket(uri, false, why, sizeof(why)), r = 1;

	if (fd < 0) {
		fprintf(stderr, "smpvisor ctl: migrate: %s\n", why);
		json_decref(args);
		return 1;
	}
	r = ctl_send_fds(c, json_pack("{s:s,s:o,s:s}", "execute", "migrate",
				      "arguments", args, "id", "ctl"), &fd, 1);
	close(fd);	/* the VMM holds it now */
	m = r ? NULL : next_reply(c, final, sizeof(final));
	if (!m || json_object_get(m, "error")) {
		if (m)
			fprintf(stderr, "smpvisor ctl: migrate: %s\n",
				json_string_value(json_object_get(json_object_get(m, "error"), "desc")));
		json_decref(m);
		return 1;
	}
	json_decref(m);
	/* Until the MIGRATION event, or the source going away after it. */
	while (!*final) {
		if (ctl_send(c, json_pack("{s:s,s:s}", "execute", "query-migrate", "id", "q")))
			break;
		m = next_reply(c, final, sizeof(final));
		if (!m)
			break;
		if (!*final)
			progress(m, tty);
		json_decref(last);
		last = m;
		/* The next poll in 250 ms, or the end as soon as it is said. */
		if (!*final && poll(&pfd, 1, 250) > 0) {
			m = next_reply(c, final, sizeof(final));
			json_decref(m);	/* no question was asked: not an answer */
			if (!m && !*final)
				break;
		}
	}
	if (tty)
		fputc('\n', stderr);
	r = 1;
	if (!strcmp(final, "completed")) {
		json_t *q = json_object_get(last, "return");

		printf("migrated: %lld MiB sent in %lld rounds\n", num(q, "bytes") >> 20,
		       num(q, "rounds"));
		r = 0;
	} else {
		fprintf(stderr, "smpvisor ctl: migrate: %s\n",
			*final ? final : "the source went away without a result");
	}
	json_decref(last);
	return r;
}
