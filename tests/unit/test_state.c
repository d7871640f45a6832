// SPDX-License-Identifier: GPL-2.0
/*
 * The state stream (lib/state.c): what is written reads back, and every
 * stream this smpvisor must not take is refused with a reason that names
 * the section and the field: another format, a newer section, a changed
 * field size, a missing field, a truncated or doubled one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/state.h"

struct sample {
	u8 a;
	u16 b;
	u32 c;
	u64 d;
	u8 blob[300];
};

/* Two sections: "dev0" version 2 with a sample, "dev1" version 1, empty. */
static u8 *write_sample(const struct sample *s, size_t *len)
{
	struct state_writer w;
	u8 *buf;

	state_writer_init(&w);
	state_section(&w, "dev0", 2);
	STATE_PUT(&w, s, a);
	STATE_PUT(&w, s, b);
	STATE_PUT(&w, s, c);
	STATE_PUT(&w, s, d);
	STATE_PUT(&w, s, blob);
	state_section(&w, "dev1", 1);
	buf = state_writer_take(&w, len);
	assert_non_null(buf);
	return buf;
}

static void test_round_trip(void **st)
{
	struct sample s = { 1, 0x2233, 0x44556677, 0x8899aabbccddeeffULL, { 0 } },
		      t = { 0 };
	struct state_reader r;
	size_t len;
	u8 *buf;

	(void)st;
	memset(s.blob, 0x5a, sizeof(s.blob));
	buf = write_sample(&s, &len);
	assert_int_equal(state_reader_init(&r, buf, len), 0);
	assert_true(state_has_section(&r, "dev1"));
	assert_false(state_has_section(&r, "dev2"));
	assert_int_equal(state_open(&r, "dev0", 2), 0);
	assert_int_equal(r.version, 2);
	assert_int_equal(STATE_GET(&r, &t, a), 0);
	assert_int_equal(STATE_GET(&r, &t, b), 0);
	assert_int_equal(STATE_GET(&r, &t, c), 0);
	assert_int_equal(STATE_GET(&r, &t, d), 0);
	assert_int_equal(STATE_GET(&r, &t, blob), 0);
	assert_memory_equal(&s, &t, sizeof(s));
	/* An optional field that an older writer did not have. */
	t.a = 9;
	assert_int_equal(state_get_opt(&r, "later", &t.a, 1), 0);
	assert_int_equal(t.a, 9);
	assert_int_equal(state_open(&r, "dev1", 1), 0);
	assert_int_equal(r.body_len, 0);
	free(buf);
}

static void test_refusals(void **st)
{
	struct sample s = { 0 };
	struct state_reader r;
	u32 wide;
	u8 narrow;
	size_t len;
	u8 *buf;

	(void)st;
	buf = write_sample(&s, &len);
	assert_int_equal(state_reader_init(&r, buf, len), 0);
	assert_int_equal(state_open(&r, "dev0", 1), -EPROTONOSUPPORT);
	assert_string_equal(r.why, "state of dev0: version 2 is newer than this smpvisor's 1");
	assert_int_equal(state_open(&r, "nope", 9), -ENOENT);
	assert_string_equal(r.why, "state of nope: no such section in the stream");
	assert_int_equal(state_open(&r, "dev0", 2), 0);
	assert_int_equal(state_get(&r, "b", &wide, sizeof(wide)), -EMSGSIZE);
	assert_string_equal(r.why, "state of dev0: field b is 2 bytes, this smpvisor expects 4");
	assert_int_equal(state_get(&r, "e", &narrow, 1), -ENOENT);
	assert_string_equal(r.why, "state of dev0: field e is missing");
	s.a = 2;
	free(buf);
	buf = write_sample(&s, &len);
	assert_int_equal(state_reader_init(&r, buf, len), 0);
	assert_int_equal(state_open(&r, "dev0", 2), 0);
	{
		bool v;

		assert_int_equal(state_get_bool(&r, "a", &v), -EINVAL);
		assert_string_equal(r.why, "state of dev0: field a is 2, not a boolean");
	}
	/* Another format, another file, every truncation. */
	buf[8] = 2;
	assert_int_equal(state_reader_init(&r, buf, len), -EINVAL);
	assert_string_equal(r.why, "state: format 2, this smpvisor reads format 1");
	buf[8] = 1;
	buf[0] = 'X';
	assert_int_equal(state_reader_init(&r, buf, len), -EINVAL);
	assert_string_equal(r.why, "state: not an smpvisor state stream");
	buf[0] = 'S';
	for (size_t n = 17; n < len; n++)
		assert_int_equal(state_reader_init(&r, buf, n), -EINVAL);
	assert_string_equal(r.why, "state: the stream is cut short (no end mark)");
	buf[16] = 'E';
	assert_int_equal(state_reader_init(&r, buf, 17), 0);	/* no section */
	free(buf);
}

static void test_malformed(void **st)
{
	struct state_writer w;
	struct state_reader r;
	const u8 *out;
	size_t len;
	u8 *buf;

	(void)st;
	/* The writer refuses what the reader would: bad names, no section. */
	state_writer_init(&w);
	state_put_u8(&w, "orphan", 1);
	assert_int_equal(state_writer_done(&w, &out, &len), -EINVAL);
	state_writer_free(&w);
	state_writer_init(&w);
	state_section(&w, "has space", 1);
	assert_int_equal(state_writer_done(&w, &out, &len), -EINVAL);
	state_writer_free(&w);

	/* A doubled field name is refused by the reader. */
	state_writer_init(&w);
	state_section(&w, "d", 1);
	state_put_u8(&w, "x", 1);
	state_put_u8(&w, "y", 2);
	state_put_u8(&w, "z", 3);
	buf = state_writer_take(&w, &len);
	assert_non_null(buf);
	assert_int_equal(state_reader_init(&r, buf, len), 0);
	buf[len - 2 - 4 - 1] = 'x';	/* "z" becomes a second "x" */
	assert_int_equal(state_reader_init(&r, buf, len), -EINVAL);
	assert_string_equal(r.why, "state: malformed section d: a name appears twice in one list");
	/* A field length past the section's end. */
	buf[len - 2 - 4 - 1] = 'z';
	buf[len - 2 - 4] = 9;
	assert_int_equal(state_reader_init(&r, buf, len), -EINVAL);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
