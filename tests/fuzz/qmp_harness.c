// SPDX-License-Identifier: GPL-2.0
/*
 * The QMP fuzz harness: whatever a control client sends, through a real
 * session (vmm/qmp.c) with a small command table. The first byte is the
 * size of the pieces the rest is fed in (0: all at once), as a socket may
 * cut a stream anywhere. Every queued output line must be one JSON
 * object, and the queue must stay within its bound.
 *
 * Returns 0 when the session is still open at the end, 1 when it closed.
 */
#include <stdlib.h>
#include <string.h>

#include "harnesses.h"
#include "vmm/qmp.h"

static int args_back(void *ctx, json_t *args, json_t **ret,
		     struct qmp_error *err)
{
	json_t *n = json_object_get(args, "n");

	(void)ctx;
	if (n && !json_is_integer(n))
		return qmp_fail(err, "GenericError", "'n' must be an integer");
	*ret = json_deep_copy(args);
	return 0;
}

static const struct qmp_cmd cmds[] = {
	{ "query-status", args_back },
	{ "stop", args_back },
};

/* Check and drop everything queued. */
static void drain(struct qmp_session *s)
{
	if (qmp_pending(s) > QMP_MAX_OUT)
		abort();
	while (qmp_pending(s)) {
		char *p = s->out + s->out_off;
		char *nl = memchr(p, '\n', qmp_pending(s));
		json_t *m;

		if (!nl || nl == p || nl[-1] != '\r')
			abort();
		m = json_loadb(p, (size_t)(nl - p - 1), 0, NULL);
		if (!json_is_object(m))
			abort();
		json_decref(m);
		qmp_sent(s, (size_t)(nl - p) + 1);
	}
}

int fuzz_qmp_one(const u8 *data, size_t size)
{
	struct qmp_session s;
	size_t chunk, at;

	if (!size)
		return 1;
	chunk = data[0] ? data[0] : size;
	qmp_session_init(&s, cmds, ARRAY_SIZE(cmds), NULL);
	qmp_greet(&s, "0.1.0");
	drain(&s);
	for (at = 1; at < size && !s.closed; at += chunk) {
		qmp_feed(&s, data + at, MIN(chunk, size - at));
		qmp_event(&s, "TICK", NULL);
		drain(&s);
	}
	at = s.closed;
	qmp_session_free(&s);
	return (int)at;
}
