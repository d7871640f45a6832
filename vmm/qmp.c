// SPDX-License-Identifier: GPL-2.0
/*
 * QMP sessions (see qmp.h): framing, negotiation, dispatch, replies.
 *
 * Framing: a message is one JSON object. The scanner below finds where
 * it ends by counting brackets outside strings. It keeps no stack, so a
 * deeply nested message costs nothing until jansson parses it, and
 * jansson refuses very deep nesting itself. Bytes between messages that
 * cannot start one are dropped up to the next line, with one error reply.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/qmp.h"

void qmp_session_init(struct qmp_session *s, const struct qmp_cmd *cmds,
		      unsigned nr_cmds, void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->cmds = cmds;
	s->nr_cmds = nr_cmds;
	s->ctx = ctx;
}

void qmp_session_free(struct qmp_session *s)
{
	free(s->in);
	free(s->out);
	memset(s, 0, sizeof(*s));
}

int qmp_fail(struct qmp_error *err, const char *cls, const char *fmt, ...)
{
	va_list ap;

	err->cls = cls;
	va_start(ap, fmt);
	vsnprintf(err->desc, sizeof(err->desc), fmt, ap);
	va_end(ap);
	return -1;
}

/* Append bytes to a buffer; false past max (or out of memory). */
static bool append(char **buf, size_t *len, size_t *cap, const void *p,
		   size_t n, size_t max)
{
	if (n > max || *len > max - n)
		return false;
	if (*len + n > *cap) {
		size_t c = MAX(*cap * 2, MAX(*len + n, (size_t)4096));
		char *b = realloc(*buf, c);

		if (!b)
			return false;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	return true;
}

/* Queue one message (takes the reference); a full queue ends the session. */
static void send_json(struct qmp_session *s, json_t *msg)
{
	char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;

	json_decref(msg);
	if (!text) {
		s->closed = true;
		return;
	}
	/* Compact out what was sent before the queue grows. */
	if (s->out_off && s->out_off == s->out_len)
		s->out_off = s->out_len = 0;
	if (!append(&s->out, &s->out_len, &s->out_cap, text, strlen(text),
		    QMP_MAX_OUT + s->out_off) ||
	    !append(&s->out, &s->out_len, &s->out_cap, "\r\n", 2,
		    QMP_MAX_OUT + s->out_off))
		s->closed = true;
	free(text);
}

void qmp_sent(struct qmp_session *s, size_t n)
{
	s->out_off += MIN(n, qmp_pending(s));
	if (s->out_off == s->out_len)
		s->out_off = s->out_len = 0;
}

void qmp_greet(struct qmp_session *s, const char *version)
{
	int maj = 0, min = 0, mic = 0;

	sscanf(version, "%d.%d.%d", &maj, &min, &mic);
	/* "qemu" too: clients that exist read the version from there. */
	send_json(s, json_pack("{s:{s:{s:{s:i,s:i,s:i},s:{s:i,s:i,s:i},s:s+},s:[]}}",
			       "QMP", "version", "smpvisor", "major", maj,
			       "minor", min, "micro", mic, "qemu", "major", maj,
			       "minor", min, "micro", mic, "package",
			       "smpvisor ", version, "capabilities"));
}

static void send_error(struct qmp_session *s, json_t *id, const char *cls,
		       const char *desc)
{
	json_t *m = json_pack("{s:{s:s,s:s}}", "error", "class", cls,
			      "desc", desc);

	if (m && id)
		json_object_set(m, "id", id);
	send_json(s, m);
}

static const struct qmp_cmd *find_cmd(const struct qmp_session *s,
				      const char *name)
{
	unsigned i;

	for (i = 0; i < s->nr_cmds; i++)
		if (!strcmp(s->cmds[i].name, name))
			return &s->cmds[i];
	return NULL;
}

/* Run one message that parsed as JSON. */
static void dispatch(struct qmp_session *s, json_t *msg)
{
	json_t *id = json_object_get(msg, "id"), *args, *ret = NULL, *reply;
	const char *name, *key;
	const struct qmp_cmd *cmd;
	struct qmp_error err = { "GenericError", "" };
	json_t *v;

	json_object_foreach(msg, key, v) {
		if (strcmp(key, "execute") && strcmp(key, "arguments") &&
		    strcmp(key, "id")) {
			snprintf(err.desc, sizeof(err.desc),
				 "QMP input member '%.64s' is unexpected", key);
			send_error(s, id, "GenericError", err.desc);
			return;
		}
	}
	name = json_string_value(json_object_get(msg, "execute"));
	if (!name) {
		send_error(s, id, "GenericError",
			   "QMP input lacks member 'execute' (a string)");
		return;
	}
	args = json_object_get(msg, "arguments");
	if (args && !json_is_object(args)) {
		send_error(s, id, "GenericError",
			   "QMP input member 'arguments' must be an object");
		return;
	}
	if (!strcmp(name, "qmp_capabilities")) {
		if (s->negotiated) {
			send_error(s, id, "CommandNotFound",
				   "Capabilities negotiation is already complete, command 'qmp_capabilities' ignored");
			return;
		}
		s->negotiated = true;
		reply = json_pack("{s:{}}", "return");
		if (reply && id)
			json_object_set(reply, "id", id);
		send_json(s, reply);
		return;
	}
	cmd = find_cmd(s, name);
	if (!s->negotiated) {
		snprintf(err.desc, sizeof(err.desc),
			 "Expecting capabilities negotiation with 'qmp_capabilities' before command '%.64s'",
			 name);
		send_error(s, id, "CommandNotFound", err.desc);
		return;
	}
	if (!cmd) {
		snprintf(err.desc, sizeof(err.desc),
			 "The command %.64s has not been found", name);
		send_error(s, id, "CommandNotFound", err.desc);
		return;
	}
	args = args ? json_incref(args) : json_object();
	if (cmd->fn(s->ctx, args, &ret, &err)) {
		json_decref(args);
		json_decref(ret);
		send_error(s, id, err.cls ? err.cls : "GenericError", err.desc);
		return;
	}
	json_decref(args);
	reply = json_object();
	if (reply) {
		json_object_set_new(reply, "return", ret ? ret : json_object());
		if (id)
			json_object_set(reply, "id", id);
	} else {
		json_decref(ret);
	}
	send_json(s, reply);
}

/* Parse and run the message in [p, p + n). */
static void one_message(struct qmp_session *s, const char *p, size_t n)
{
	json_error_t e;
	json_t *msg = json_loadb(p, n, 0, &e);
	char desc[200];

	if (!msg) {
		snprintf(desc, sizeof(desc), "JSON parse error, %s", e.text);
		send_error(s, NULL, "GenericError", desc);
		return;
	}
	if (!json_is_object(msg))
		send_error(s, NULL, "GenericError",
			   "QMP input must be a JSON object");
	else
		dispatch(s, msg);
	json_decref(msg);
}

static bool space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * The length of the message at the start of p (which starts with '{' or
 * '['), or 0 while it is incomplete.
 */
static size_t message_len(const char *p, size_t n)
{
	size_t depth = 0, i;
	bool str = false, esc = false;

	for (i = 0; i < n; i++) {
		char c = p[i];

		if (str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				str = false;
		} else if (c == '"') {
			str = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if ((c == '}' || c == ']') && !--depth) {
			return i + 1;
		}
	}
	return 0;
}

bool qmp_feed(struct qmp_session *s, const void *data, size_t n)
{
	size_t at = 0;

	if (s->closed)
		return false;
	if (!append(&s->in, &s->in_len, &s->in_cap, data, n,
		    QMP_MAX_MSG + 1)) {
		send_error(s, NULL, "GenericError",
			   "message over 1 MiB: connection closed");
		s->closed = true;
		return false;
	}
	while (!s->closed && at < s->in_len) {
		char *p = s->in + at;
		size_t left = s->in_len - at, len;

		if (space(*p)) {
			at++;
			continue;
		}
		if (*p != '{' && *p != '[') {
			/* Not a message: drop the rest of the line. */
			char *nl = memchr(p, '\n', left);

			if (!nl)
				break;
			send_error(s, NULL, "GenericError",
				   "JSON parse error, QMP input must be a JSON object");
			at += (size_t)(nl - p) + 1;
			continue;
		}
		len = message_len(p, left);
		if (!len)
			break;
		one_message(s, p, len);
		at += len;
	}
	memmove(s->in, s->in + at, s->in_len - at);
	s->in_len -= at;
	if (s->in_len > QMP_MAX_MSG) {
		send_error(s, NULL, "GenericError",
			   "message over 1 MiB: connection closed");
		s->closed = true;
	}
	return !s->closed;
}

void qmp_event(struct qmp_session *s, const char *name, json_t *data)
{
	struct timespec ts;
	json_t *m;

	if (!s->negotiated || s->closed)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	m = json_pack("{s:s,s:{s:I,s:I}}", "event", name, "timestamp",
		      "seconds", (json_int_t)ts.tv_sec, "microseconds",
		      (json_int_t)(ts.tv_nsec / 1000));
	if (m && data)
		json_object_set(m, "data", data);
	send_json(s, m);
}
