// SPDX-License-Identifier: GPL-2.0
/*
 * QMP sessions (vmm/qmp.c) with a command table of the test's own: the
 * greeting, negotiation first, replies carrying the id, every kind of bad
 * input answered with an error and the session still usable, messages
 * split across reads or packed into one, a message over 1 MiB and a
 * client that stops reading both ending the session. Replays the fuzz
 * corpus's inputs through test_fuzz_corpus (tests/fuzz/qmp_harness.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/qmp.h"

static int echo(void *ctx, json_t *args, json_t **ret, struct qmp_error *err)
{
	(void)ctx;
	(void)err;
	*ret = json_incref(args);
	return 0;
}

static int need_int(void *ctx, json_t *args, json_t **ret,
		    struct qmp_error *err)
{
	json_t *n = json_object_get(args, "n");

	(*(int *)ctx)++;
	if (!json_is_integer(n))
		return qmp_fail(err, "GenericError",
				"Parameter 'n' expects an integer");
	*ret = json_pack("{s:I}", "twice", 2 * json_integer_value(n));
	return 0;
}

static const struct qmp_cmd cmds[] = {
	{ "echo", echo },
	{ "need-int", need_int },
};

struct fixture {
	struct qmp_session s;
	int calls;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	qmp_session_init(&f->s, cmds, ARRAY_SIZE(cmds), &f->calls);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	qmp_session_free(&f->s);
	free(f);
	return 0;
}

/* The next queued message, parsed; fails the test when there is none. */
static json_t *next(struct fixture *f)
{
	char *p = f->s.out + f->s.out_off, *end;
	json_t *m;

	assert_true(qmp_pending(&f->s) > 0);
	end = memchr(p, '\n', qmp_pending(&f->s));
	assert_non_null(end);
	assert_int_equal(end[-1], '\r');
	m = json_loadb(p, (size_t)(end - p), 0, NULL);
	assert_non_null(m);
	qmp_sent(&f->s, (size_t)(end - p) + 1);
	return m;
}

static void feed(struct fixture *f, const char *text)
{
	assert_true(qmp_feed(&f->s, text, strlen(text)));
}

/* The next message is an error of class cls whose desc contains what. */
static void expect_error(struct fixture *f, const char *cls, const char *what)
{
	json_t *m = next(f), *e = json_object_get(m, "error");

	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "class")), cls);
	assert_non_null(strstr(json_string_value(json_object_get(e, "desc")), what));
	json_decref(m);
}

static void negotiate(struct fixture *f)
{
	json_t *m;

	feed(f, "{\"execute\": \"qmp_capabilities\"}\n");
	m = next(f);
	assert_true(json_is_object(json_object_get(m, "return")));
	json_decref(m);
}

static void test_greeting_and_negotiation(void **state)
{
	struct fixture *f = *state;
	json_t *m;

	qmp_greet(&f->s, "1.2.3");
	m = next(f);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
		json_object_get(json_object_get(m, "QMP"), "version"),
		"smpvisor"), "minor")), 2);
	assert_true(json_is_array(json_object_get(json_object_get(m, "QMP"),
						  "capabilities")));
	json_decref(m);
	/* Nothing runs before negotiation, and no event is sent. */
	qmp_event(&f->s, "STOP", NULL);
	feed(f, "{\"execute\": \"echo\"}");
	expect_error(f, "CommandNotFound", "'qmp_capabilities' before command 'echo'");
	assert_int_equal(qmp_pending(&f->s), 0);
	negotiate(f);
	feed(f, "{\"execute\": \"qmp_capabilities\"}");
	expect_error(f, "CommandNotFound", "already complete");
	qmp_event(&f->s, "STOP", json_pack("{s:i}", "x", 1));
	m = next(f);
	assert_string_equal(json_string_value(json_object_get(m, "event")), "STOP");
	assert_true(json_is_integer(json_object_get(json_object_get(m, "timestamp"),
						    "seconds")));
	json_decref(m);
}

static void test_commands(void **state)
{
	struct fixture *f = *state;
	json_t *m;

	negotiate(f);
	feed(f, "{\"execute\": \"echo\", \"arguments\": {\"a\": [1, \"}\"]}, \"id\": {\"n\": 7}}");
	m = next(f);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "id"), "n")), 7);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
		json_object_get(m, "return"), "a"), 1)), "}");
	json_decref(m);
	/* Two messages in one read, one split over three. */
	feed(f, "{\"execute\":\"need-int\",\"arguments\":{\"n\":4},\"id\":1}{\"execute\":\"need-int\",\"arguments\":{\"n\":\"x\"},\"id\":2}");
	m = next(f);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "return"), "twice")), 8);
	json_decref(m);
	expect_error(f, "GenericError", "expects an integer");
	feed(f, "{\"execute\":");
	feed(f, "\"need-int\", \"argu");
	assert_int_equal(qmp_pending(&f->s), 0);
	feed(f, "ments\": {\"n\": 1}}\r\n");
	m = next(f);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "return"), "twice")), 2);
	json_decref(m);
	assert_int_equal(f->calls, 3);
}

static void test_bad_input(void **state)
{
	struct fixture *f = *state;

	negotiate(f);
	feed(f, "{\"execute\": \"nope\", \"id\": 3}");
	expect_error(f, "CommandNotFound", "The command nope has not been found");
	feed(f, "{\"execute\": 5}");
	expect_error(f, "GenericError", "lacks member 'execute'");
	feed(f, "{\"execute\": \"echo\", \"arguments\": [1]}");
	expect_error(f, "GenericError", "'arguments' must be an object");
	feed(f, "{\"execute\": \"echo\", \"exec-oob\": 1}");
	expect_error(f, "GenericError", "'exec-oob' is unexpected");
	feed(f, "[1, 2]");
	expect_error(f, "GenericError", "must be a JSON object");
	feed(f, "{\"execute\": \"echo\",, }");
	expect_error(f, "GenericError", "JSON parse error");
	feed(f, "null\n");
	expect_error(f, "GenericError", "must be a JSON object");
	feed(f, "{\"execute\": \"echo\", \"id\": \"\\u0000\"}");
	json_decref(next(f));	/* a NUL in a string: refused or echoed, no crash */
	/* Still usable after all that. */
	feed(f, "{\"execute\": \"need-int\", \"arguments\": {\"n\": 21}}");
	json_decref(next(f));
	assert_int_equal(qmp_pending(&f->s), 0);
	assert_false(f->s.closed);
}

static void test_limits(void **state)
{
	struct fixture *f = *state;
	char *big = malloc(QMP_MAX_MSG + 16);
	unsigned i;

	assert_non_null(big);
	negotiate(f);
	/* A message that never ends: refused at 1 MiB, the session ends. */
	big[0] = '{';
	memset(big + 1, ' ', QMP_MAX_MSG + 14);
	big[QMP_MAX_MSG + 15] = 0;
	for (i = 0; i < QMP_MAX_MSG + 15; i += 65536)
		if (!qmp_feed(&f->s, big + i, MIN(65536u, QMP_MAX_MSG + 15 - i)))
			break;
	assert_true(f->s.closed);
	expect_error(f, "GenericError", "over 1 MiB");
	assert_false(qmp_feed(&f->s, "{}", 2));
	free(big);

	/* A client that stops reading: its queue is bounded. */
	qmp_session_free(&f->s);
	qmp_session_init(&f->s, cmds, ARRAY_SIZE(cmds), &f->calls);
	negotiate(f);
	for (i = 0; i < 1000000 && !f->s.closed; i++)
		qmp_event(&f->s, "TICK", NULL);
	assert_true(f->s.closed);
	assert_true(qmp_pending(&f->s) <= QMP_MAX_OUT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_greeting_and_negotiation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
