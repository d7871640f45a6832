// SPDX-License-Identifier: GPL-2.0
/*
 * The i8042, the CMOS RTC and the POST ports as devices of the device
 * model. Each is driven through its ports to the middle of something (an
 * i8042 with a full output buffer and a command waiting for its data
 * byte; a CMOS with NVRAM written, the index register set and the time
 * set by the guest, or the clock frozen half-edited under B.SET), paused,
 * saved, and loaded into a fresh instance in a fresh manager; the guest
 * then reads the same from both, and both go on alike. Tampered streams
 * are refused with their reason and leave the device at power-on. POST
 * has no state but is a device: listed, its ports named after it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "legacy_fixture.h"

#define KBC_DATA	I8042_DATA_PORT
#define KBC_CMD		I8042_CMD_PORT
#define CMOS_INDEX	CMOS_PORT

/* A second machine, paused, with a's state loaded: the caller frees. */
static struct fixture *loaded_copy(struct fixture *a, void **st)
{
	setup(st);
	copy_state(&a->dm, &((struct fixture *)*st)->dm);
	return *st;
}

/* Load a's state with one field edited into b: the reason, or "" if taken. */
static void load_edited(struct fixture *a, struct fixture *b,
			const char *sec, const char *fld, const void *data,
			u32 size, char why[192])
{
	size_t len, n;
	u8 *buf, *bad;

	buf = saved_state(&a->dm, &len);
	n = len;
	bad = stream_edit(buf, &n, sec, fld, data, size);
	assert_int_equal(load_state(&b->dm, buf, len, why), 0);
	if (!load_state(&b->dm, bad, n, why))
		why[0] = 0;
	free(bad);
	free(buf);
}

/* --- i8042 --- */

/* Keyboard off, self-test answered (unread), 0xd3 waiting for its byte. */
static void kbc_mid_operation(struct fixture *f)
{
	out8(f, KBC_CMD, 0xad);
	out8(f, KBC_CMD, 0xaa);
	out8(f, KBC_CMD, 0xd3);
}

/* What the guest sees as it finishes the exchange, into v[6]. */
static void kbc_finish(struct fixture *f, u8 v[6])
{
	v[0] = in8(f, KBC_CMD);		/* OBF, SYS, last write a command */
	v[1] = in8(f, KBC_DATA);	/* the self-test answer */
	out8(f, KBC_DATA, 0x77);	/* 0xd3's byte: echoed as from aux */
	v[2] = in8(f, KBC_CMD);
	v[3] = in8(f, KBC_DATA);
	out8(f, KBC_CMD, 0x20);
	v[4] = in8(f, KBC_DATA);	/* the command byte */
	v[5] = in8(f, KBC_CMD);
}

static void test_i8042_saved_mid_operation(void **state)
{
	static const u8 want[6] = { 0x0d, 0x55, 0x25, 0x77, 0x75, 0x0c };
	struct fixture *a = *state, *b;
	u8 va[6], vb[6];
	void *st;

	kbc_mid_operation(a);
	b = loaded_copy(a, &st);
	kbc_finish(a, va);
	kbc_finish(b, vb);
	assert_memory_equal(va, want, sizeof(want));
	assert_memory_equal(vb, want, sizeof(want));
	assert_int_equal(b->exits, 0);
	teardown(&st);
}

static void test_i8042_tampered(void **state)
{
	struct fixture *a = *state, *b;
	char why[192];
	void *st;

	kbc_mid_operation(a);
	b = loaded_copy(a, &st);
	load_edited(a, b, "i8042", "pending", "\x20", 1, why);
	assert_string_equal(why, "state of i8042: pending 0x20 is no command that waits for a data byte");
	load_edited(a, b, "i8042", "out_full", "\x02", 1, why);
	assert_string_equal(why, "state of i8042: field out_full is 2, not a boolean");
	load_edited(a, b, "i8042", "ctr", NULL, 0, why);
	assert_string_equal(why, "state of i8042: field ctr is missing");
	/* Reset: empty buffer, BIOS command byte, a data byte goes nowhere. */
	assert_int_equal(in8(b, KBC_CMD), 0x04);
	out8(b, KBC_DATA, 0x77);
	assert_int_equal(in8(b, KBC_CMD), 0x04);
	out8(b, KBC_CMD, 0x20);
	assert_int_equal(in8(b, KBC_DATA), 0x65);
	/* An output port saved with the reset line low is a value, not a reset. */
	load_edited(a, b, "i8042", "outp", "\x00", 1, why);
	assert_string_equal(why, "");
	assert_int_equal(b->exits, 0);
	teardown(&st);
}

/* --- CMOS --- */

static u8 bcd(int v)
{
	return (u8)((v / 10) << 4 | v % 10);
}

/* NVRAM 0x40-0x4f written, year set to ..30, the index left at 0x45. */
static void cmos_mid_operation(struct fixture *f)
{
	unsigned i;

	for (i = 0; i < 16; i++)
		cmos_write(f, 0x40 + i, (u8)(i * 3 + 1));
	cmos_write(f, 0x09, 0x30);
	out8(f, CMOS_INDEX, 0x45);
}

static void test_cmos_saved_mid_operation(void **state)
{
	struct fixture *a = *state, *b;
	unsigned i;
	void *st;

	cmos_mid_operation(a);
	b = loaded_copy(a, &st);
	/* The index register came along: a bare data read is NVRAM 0x45. */
	assert_int_equal(in8(b, CMOS_DATA), 16);
	assert_int_equal(in8(a, CMOS_DATA), 16);
	for (i = 0x0e; i < CMOS_NR_REGS; i++)
		if (i != CMOS_REG_CENTURY)
			assert_int_equal(cmos_read(b, (u8)i), cmos_read(a, (u8)i));
	for (i = 0x0a; i <= 0x0d; i++)
		assert_int_equal(cmos_read(b, (u8)i), cmos_read(a, (u8)i));
	/* The guest's clock, not the host's: the offset came along. */
	assert_int_equal(cmos_read(b, 0x09), 0x30);
	assert_int_equal(b->rtc.offset, a->rtc.offset);
	assert_true(b->rtc.offset != 0);
	/* And it runs on: resumed, both read the same date. */
	dm_resume(&a->dm);
	dm_resume(&b->dm);
	assert_int_equal(cmos_read(b, 0x08), cmos_read(a, 0x08));
	assert_int_equal(cmos_read(b, 0x07), cmos_read(a, 0x07));
	assert_int_equal(cmos_read(b, CMOS_REG_CENTURY),
			 cmos_read(a, CMOS_REG_CENTURY));
	teardown(&st);
}

/* B.SET on, the hour edited: the frozen clock is state, and commits later. */
static void test_cmos_frozen_clock(void **state)
{
	struct fixture *a = *state, *b;
	void *st;

	cmos_write(a, 0x0b, 0x82);	/* SET, 24-hour, BCD */
	cmos_write(a, 0x04, 0x13);
	cmos_write(a, 0x02, 0x45);
	cmos_write(a, 0x00, 0x30);
	b = loaded_copy(a, &st);
	assert_int_equal(cmos_read(b, 0x04), 0x13);
	assert_int_equal(cmos_read(b, 0x02), 0x45);
	assert_int_equal(cmos_read(b, 0x00), 0x30);
	assert_int_equal(cmos_read(b, 0x07), cmos_read(a, 0x07));
	/* Clearing SET commits the edited time in both. */
	cmos_write(a, 0x0b, 0x02);
	cmos_write(b, 0x0b, 0x02);
	assert_int_equal(cmos_read(b, 0x04), 0x13);
	assert_int_equal(cmos_read(b, 0x02), 0x45);
	assert_true(b->rtc.offset - a->rtc.offset <= 1 &&
		    a->rtc.offset - b->rtc.offset <= 1);
	teardown(&st);
}

static void test_cmos_tampered(void **state)
{
	struct fixture *a = *state, *b;
	u8 ram[CMOS_NR_REGS + 1];
	u64 off = 0x7fffffffffffffffULL;
	u32 mon = 13;
	struct tm tm;
	time_t now;
	char why[192];
	void *st;

	cmos_mid_operation(a);
	cmos_write(a, 0x0b, 0x82);
	b = loaded_copy(a, &st);
	load_edited(a, b, "cmos", "index", "\x80", 1, why);
	assert_string_equal(why, "state of cmos: index 0x80 is past the 128 registers");
	load_edited(a, b, "cmos", "offset", &off, 8, why);
	assert_string_equal(why, "state of cmos: offset 9223372036854775807 s puts the clock outside the years 0000-9999");
	off = (u64)-65000000000LL;	/* before year 0 */
	load_edited(a, b, "cmos", "offset", &off, 8, why);
	assert_string_equal(why, "state of cmos: offset -65000000000 s puts the clock outside the years 0000-9999");
	load_edited(a, b, "cmos", "frozen.mon", &mon, 4, why);
	assert_string_equal(why, "state of cmos: frozen.mon is 13, not 1 to 12");
	load_edited(a, b, "cmos", "frozen.year", NULL, 0, why);
	assert_string_equal(why, "state of cmos: field frozen.year is missing");

	memcpy(ram, a->rtc.ram, CMOS_NR_REGS);
	ram[0x0a] |= 0x80;
	load_edited(a, b, "cmos", "ram", ram, CMOS_NR_REGS, why);
	assert_string_equal(why, "state of cmos: ram[0x0a] 0xa6 has update-in-progress set");
	memcpy(ram, a->rtc.ram, CMOS_NR_REGS);
	ram[0x09] = 0x30;
	load_edited(a, b, "cmos", "ram", ram, CMOS_NR_REGS, why);
	assert_string_equal(why, "state of cmos: ram[0x09] is 0x30, a clock register keeps 0");
	memcpy(ram, a->rtc.ram, CMOS_NR_REGS);
	ram[0x0c] = 0x80;
	load_edited(a, b, "cmos", "ram", ram, CMOS_NR_REGS, why);
	assert_string_equal(why, "state of cmos: registers C and D are 0x80 0x80, not 0x00 0x80");
	load_edited(a, b, "cmos", "ram", ram, CMOS_NR_REGS + 1, why);
	assert_string_equal(why, "state of cmos: field ram is 129 bytes, this smpvisor expects 128");

	/* Reset: NVRAM clear, index 0, BCD 24-hour, the host's year. */
	assert_int_equal(b->rtc.index, 0);
	assert_int_equal(cmos_read(b, 0x45), 0);
	assert_int_equal(cmos_read(b, 0x0a), 0x26);
	assert_int_equal(cmos_read(b, 0x0b), 0x02);
	now = time(NULL);
	gmtime_r(&now, &tm);
	assert_int_equal(cmos_read(b, 0x09), bcd(tm.tm_year % 100));
	teardown(&st);
}

/* --- POST --- */

static void test_post_is_a_device(void **state)
{
	struct fixture *a = *state, *b;
	struct device *d = dm_find(&a->dm, "post");
	char why[192];
	void *st;

	assert_ptr_equal(d, &a->post.dev);
	assert_string_equal(d->ops->kind, "post");
	assert_string_equal(bus_find(&a->pio, POST_PORT, 1)->name, "post");
	assert_string_equal(bus_find(&a->pio, 0xed, 1)->name, "post");
	assert_string_equal(bus_find(&a->pio, KBC_CMD, 1)->name, "i8042");
	assert_string_equal(bus_find(&a->pio, CMOS_DATA, 1)->name, "cmos");
	/* Its section holds its kind alone, and a wrong kind is refused. */
	b = loaded_copy(a, &st);
	load_edited(a, b, "post", "kind", "cmos", 4, why);
	assert_string_equal(why, "state of post: it is a cmos, this machine's is a post");
	assert_int_equal(in8(b, POST_PORT), 0xff);
	teardown(&st);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_i8042_saved_mid_operation),
		T(test_i8042_tampered),
		T(test_cmos_saved_mid_operation),
		T(test_cmos_frozen_clock),
		T(test_cmos_tampered),
		T(test_post_is_a_device),
	};

	return cmocka_run_group_tests_name("legacy_state", tests, NULL, NULL);
}
