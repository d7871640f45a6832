/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running one control API command in a unit test, without a socket: a
 * fresh QMP session over a command table, capabilities negotiated, the
 * command fed, its reply parsed. Include after <cmocka.h>.
 *
 *	json_t *r = qmp_call(cmds, ARRAY_SIZE(cmds), m, "{...}\n");
 *	qmp_expect_error(cmds, ARRAY_SIZE(cmds), m, "{...}\n", "no vCPU 7");
 */
#ifndef SMPVISOR_TESTS_UNIT_QMP_CALL_H
#define SMPVISOR_TESTS_UNIT_QMP_CALL_H

#include <string.h>

#include "vmm/qmp.h"

/* The reply message to cmd (a line) on ctx; fails the test without one. */
static inline json_t *qmp_call(const struct qmp_cmd *cmds, unsigned nr,
			       void *ctx, const char *cmd)
{
	struct qmp_session s;
	json_t *r = NULL;
	char *p, *nl;

	qmp_session_init(&s, cmds, nr, ctx);
	assert_true(qmp_feed(&s, "{\"execute\":\"qmp_capabilities\"}\n", 31));
	assert_true(qmp_feed(&s, cmd, strlen(cmd)));
	/* The second line is the command's reply. */
	p = memchr(s.out + s.out_off, '\n', qmp_pending(&s));
	assert_non_null(p);
	nl = memchr(p + 1, '\n', (size_t)(s.out + s.out_len - p - 1));
	assert_non_null(nl);
	r = json_loadb(p + 1, (size_t)(nl - p - 1), 0, NULL);
	assert_non_null(r);
	qmp_session_free(&s);
	return r;
}

/* cmd gets an error reply whose description contains what. */
static inline void qmp_expect_error(const struct qmp_cmd *cmds, unsigned nr,
				    void *ctx, const char *cmd,
				    const char *what)
{
	json_t *r = qmp_call(cmds, nr, ctx, cmd);
	const char *desc = json_string_value(json_object_get(
				json_object_get(r, "error"), "desc"));

	if (!desc || !strstr(desc, what))
		fail_msg("%s: wanted an error with \"%s\", got %s", cmd, what,
			 desc ? desc : "a success");
	json_decref(r);
}

#endif
