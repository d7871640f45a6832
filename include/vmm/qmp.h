/* SPDX-License-Identifier: GPL-2.0 */
/*
 * QMP sessions: the wire protocol of the control API (vmm/api.c) without
 * the socket. A session takes the bytes a client sent, cuts them into
 * JSON objects, runs each command from a table, and queues the replies
 * and events as bytes for the client.
 *
 * The protocol is QMP's (QEMU Machine Protocol):
 *   - a greeting on connect;
 *   - capabilities negotiation with `qmp_capabilities`;
 *   - then `{"execute": NAME, "arguments": {...}, "id": ANY}` commands,
 *     answered by `{"return": ..., "id": ANY}` or
 *     `{"error": {"class": ..., "desc": ...}, "id": ANY}`;
 *   - and `{"event": NAME, "data": {...}, "timestamp": {...}}` events.
 * The code is ours; the command names follow QEMU's where they mean the
 * same thing.
 *
 * Everything a client sends is untrusted (tests/fuzz/qmp_harness.c):
 *   - Malformed JSON, a message that is not an object, an unknown
 *     command or a wrong argument type each get an error reply, and the
 *     session stays usable.
 *   - A message over QMP_MAX_MSG bytes is refused and the session ends.
 *   - Output queued beyond QMP_MAX_OUT (a client that stopped reading)
 *     ends the session too, so a client can never make the VMM buffer
 *     without bound.
 */
#ifndef SMPVISOR_QMP_H
#define SMPVISOR_QMP_H

#include <stddef.h>

#include <jansson.h>

#include "lib/util.h"

#define QMP_MAX_MSG	(1u << 20)	/* bytes in one client message */
#define QMP_MAX_OUT	(4u << 20)	/* bytes queued for one client */

struct qmp_error {
	const char *cls;	/* "GenericError", "CommandNotFound", ... */
	char desc[256];
};

/*
 * A command: args is the "arguments" object (never NULL: {} when the
 * client gave none); on success *ret is the reply's "return" value (a
 * new reference; NULL means {}), on failure fill err and return -1.
 */
struct qmp_cmd {
	const char *name;
	int (*fn)(void *ctx, json_t *args, json_t **ret, struct qmp_error *err);
};

struct qmp_session {
	const struct qmp_cmd *cmds;
	unsigned nr_cmds;
	void *ctx;
	bool negotiated;	/* qmp_capabilities was accepted */
	bool closed;		/* a protocol error ended the session */
	char *in;		/* bytes received, not yet a whole message */
	size_t in_len, in_cap;
	char *out;		/* bytes to send */
	size_t out_len, out_cap, out_off;
};

void qmp_session_init(struct qmp_session *s, const struct qmp_cmd *cmds,
		      unsigned nr_cmds, void *ctx);
void qmp_session_free(struct qmp_session *s);
/* Queue the greeting (on connect). */
void qmp_greet(struct qmp_session *s, const char *version);
/*
 * Take n bytes from the client and run every whole message in them.
 * false when the session must end (s->closed); what was queued before
 * that is still worth sending.
 */
bool qmp_feed(struct qmp_session *s, const void *data, size_t n);
/* Queue an event (only to negotiated sessions); data may be NULL. */
void qmp_event(struct qmp_session *s, const char *name, json_t *data);
/* The queued output, and how much of it was sent. */
static inline size_t qmp_pending(const struct qmp_session *s)
{
	return s->out_len - s->out_off;
}
void qmp_sent(struct qmp_session *s, size_t n);

/* For commands: fill err and return -1. */
int qmp_fail(struct qmp_error *err, const char *cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
