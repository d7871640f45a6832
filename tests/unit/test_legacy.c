// SPDX-License-Identifier: GPL-2.0
/*
 * i8042, CMOS RTC and the POST/delay ports, driven through a real port-I/O
 * bus: the reset paths of the keyboard controller and its probe answers;
 * RTC time against the host clock in BCD, binary and 12-hour forms, NVRAM,
 * setting the time; POST ports claimed and quiet; random pokes on all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "legacy_fixture.h"

/* --- i8042 --- */

/* Controller command with a reply, polled the way Linux polls it. */
static int kbc_query(struct fixture *f, u8 cmd)
{
	out8(f, I8042_CMD_PORT, cmd);
	if (!(in8(f, I8042_CMD_PORT) & 0x01))
		return -1;
	return in8(f, I8042_DATA_PORT);
}

static void test_i8042_idle_status(void **state)
{
	struct fixture *f = *state;

	/* Nothing to read, room to write: Linux's waits finish at once. */
	assert_int_equal(in8(f, I8042_CMD_PORT) & 0x03, 0);
	in8(f, I8042_DATA_PORT);	/* a flush read changes nothing */
	assert_int_equal(in8(f, I8042_CMD_PORT) & 0x03, 0);
	assert_int_equal(f->exits, 0);
}

static void test_i8042_reset_pulse(void **state)
{
	struct fixture *f = *state;

	out8(f, I8042_CMD_PORT, 0xfe);
	assert_int_equal(f->exits, 1);
	assert_int_equal(f->why, VM_EXIT_RESET);
	/* 0xff pulses nothing; 0xf0 pulses every line, reset included. */
	out8(f, I8042_CMD_PORT, 0xff);
	assert_int_equal(f->exits, 1);
	out8(f, I8042_CMD_PORT, 0xf0);
	assert_int_equal(f->exits, 2);
}

static void test_i8042_output_port_reset(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(kbc_query(f, 0xd0) & 0x03, 0x03);
	out8(f, I8042_CMD_PORT, 0xd1);
	out8(f, I8042_DATA_PORT, 0x03);	/* A20 on, reset high: nothing */
	assert_int_equal(f->exits, 0);
	out8(f, I8042_CMD_PORT, 0xd1);
	out8(f, I8042_DATA_PORT, 0x02);	/* reset line low */
	assert_int_equal(f->exits, 1);
	assert_int_equal(f->why, VM_EXIT_RESET);
}

static void test_i8042_probe_answers(void **state)
{
	struct fixture *f = *state;
	int ctr;

	assert_int_equal(kbc_query(f, 0xaa), 0x55);
	assert_int_equal(in8(f, I8042_CMD_PORT) & 0x01, 0);	/* consumed */
	assert_int_equal(in8(f, I8042_CMD_PORT) & 0x04, 0x04);	/* SYS */
	assert_int_equal(kbc_query(f, 0xab), 0x00);
	assert_int_equal(kbc_query(f, 0xa9), 0x00);

	ctr = kbc_query(f, 0x20);
	assert_true(ctr >= 0);
	out8(f, I8042_CMD_PORT, 0x60);
	out8(f, I8042_DATA_PORT, 0x47);
	assert_int_equal(kbc_query(f, 0x20), 0x47);
	out8(f, I8042_CMD_PORT, 0xa7);	/* disable aux */
	out8(f, I8042_CMD_PORT, 0xad);	/* disable kbd */
	assert_int_equal(kbc_query(f, 0x20), 0x47 | 0x20 | 0x10);
	out8(f, I8042_CMD_PORT, 0xa8);
	out8(f, I8042_CMD_PORT, 0xae);
	assert_int_equal(kbc_query(f, 0x20), 0x47);

	/* Echo through the aux output buffer flags the aux bit. */
	out8(f, I8042_CMD_PORT, 0xd3);
	out8(f, I8042_DATA_PORT, 0x5a);
	assert_int_equal(in8(f, I8042_CMD_PORT) & 0x21, 0x21);
	assert_int_equal(in8(f, I8042_DATA_PORT), 0x5a);
	out8(f, I8042_CMD_PORT, 0xd2);
	out8(f, I8042_DATA_PORT, 0xa5);
	assert_int_equal(in8(f, I8042_CMD_PORT) & 0x21, 0x01);
	assert_int_equal(in8(f, I8042_DATA_PORT), 0xa5);

	/* A byte for the absent keyboard gets no reply and is not a CTR. */
	out8(f, I8042_DATA_PORT, 0xff);
	assert_int_equal(in8(f, I8042_CMD_PORT) & 0x01, 0);
	assert_int_equal(kbc_query(f, 0x20), 0x47);
	assert_int_equal(f->exits, 0);
}

static void test_i8042_random_pokes(void **state)
{
	struct fixture *f = *state;
	unsigned int seed = 42;
	int i;

	for (i = 0; i < 100000; i++) {
		u16 port = rand_r(&seed) & 1 ? I8042_CMD_PORT : I8042_DATA_PORT;
		u8 v = rand_r(&seed);

		if (rand_r(&seed) & 1)
			bus_dispatch(&f->pio, port, &v, 1, true);
		else
			bus_dispatch(&f->pio, port, &v, 1, false);
	}
	/* Random commands include reset pulses; nothing else asks to exit. */
	assert_true(f->exits > 0);
	assert_int_equal(f->why, VM_EXIT_RESET);
	/* Still answers. */
	in8(f, I8042_DATA_PORT);
	assert_int_equal(kbc_query(f, 0xaa), 0x55);
}

/* --- CMOS --- */

static bool is_bcd(u8 v)
{
	return (v >> 4) <= 9 && (v & 0xf) <= 9;
}

static int bcd(u8 v)
{
	return (v >> 4) * 10 + (v & 0xf);
}

/* The RTC's idea of now, in seconds, read as Linux reads it. */
static time_t rtc_time(struct fixture *f, bool binary)
{
	struct tm tm = { 0 };
	u8 r[7], cent;
	static const u8 regs[] = { 0, 2, 4, 7, 8, 9 };
	int i;

	do {
		assert_int_equal(cmos_read(f, 0x0a) & 0x80, 0);	/* no UIP */
		for (i = 0; i < 6; i++)
			r[i] = cmos_read(f, regs[i]);
		cent = cmos_read(f, CMOS_REG_CENTURY);
		r[6] = cmos_read(f, 0);
	} while (r[6] != r[0]);
	if (!binary) {
		for (i = 0; i < 6; i++) {
			assert_true(is_bcd(r[i]));
			r[i] = bcd(r[i]);
		}
		assert_true(is_bcd(cent));
		cent = bcd(cent);
	}
	assert_in_range(r[0], 0, 59);
	assert_in_range(r[1], 0, 59);
	assert_in_range(r[2], 0, 23);
	assert_in_range(r[3], 1, 31);
	assert_in_range(r[4], 1, 12);
	assert_in_range(r[5], 0, 99);
	tm.tm_sec = r[0];
	tm.tm_min = r[1];
	tm.tm_hour = r[2];
	tm.tm_mday = r[3];
	tm.tm_mon = r[4] - 1;
	tm.tm_year = cent * 100 + r[5] - 1900;
	return timegm(&tm);
}

static void test_cmos_bcd_time_matches_host(void **state)
{
	struct fixture *f = *state;
	time_t host = time(NULL), rtc;
	u8 cent;

	assert_int_equal(cmos_read(f, 0x0b), 0x02);	/* 24h, BCD */
	assert_int_equal(cmos_read(f, 0x0d), 0x80);	/* valid RAM and time */
	cent = cmos_read(f, CMOS_REG_CENTURY);
	assert_true(is_bcd(cent));
	assert_in_range(bcd(cent), 20, 21);
	rtc = rtc_time(f, false);
	assert_true(rtc >= host - 2 && rtc <= time(NULL) + 2);
	/* Day of week: 1 is Sunday. */
	{
		struct tm tm;
		time_t t = time(NULL);
		u8 wd = cmos_read(f, 6);

		gmtime_r(&t, &tm);
		assert_true(wd == tm.tm_wday + 1 ||
			    wd == (tm.tm_wday + 6) % 7 + 1);	/* midnight */
	}
}

static void test_cmos_binary_and_12h(void **state)
{
	struct fixture *f = *state;
	time_t host = time(NULL), rtc;
	u8 h24, h12;
	int hour;

	cmos_write(f, 0x0b, 0x06);	/* binary, 24h */
	rtc = rtc_time(f, true);
	assert_true(rtc >= host - 2 && rtc <= time(NULL) + 2);
	assert_int_equal(cmos_read(f, CMOS_REG_CENTURY), 20);

	do {
		h24 = cmos_read(f, 4);
		cmos_write(f, 0x0b, 0x04);	/* binary, 12h */
		h12 = cmos_read(f, 4);
		cmos_write(f, 0x0b, 0x06);
	} while (h24 != cmos_read(f, 4));	/* hour turned meanwhile */
	hour = (h12 & 0x7f) % 12 + (h12 & 0x80 ? 12 : 0);
	assert_in_range(h12 & 0x7f, 1, 12);
	assert_int_equal(hour, h24);
}

static void test_cmos_nvram_and_index(void **state)
{
	struct fixture *f = *state;
	int i;

	for (i = 0x0e; i < 0x80; i++)
		if (i != CMOS_REG_CENTURY)
			cmos_write(f, i, i ^ 0x5a);
	for (i = 0x0e; i < 0x80; i++)
		if (i != CMOS_REG_CENTURY)
			assert_int_equal(cmos_read(f, i), i ^ 0x5a);
	/* Bit 7 of the index is the NMI mask, not part of the address. */
	out8(f, CMOS_PORT, 0x80 | 0x40);
	assert_int_equal(in8(f, CMOS_DATA), 0x40 ^ 0x5a);
	/* UIP is read-only; C and D ignore writes. */
	cmos_write(f, 0x0a, 0xa6);
	assert_int_equal(cmos_read(f, 0x0a), 0x26);
	cmos_write(f, 0x0c, 0xff);
	assert_int_equal(cmos_read(f, 0x0c), 0);
	cmos_write(f, 0x0d, 0x00);
	assert_int_equal(cmos_read(f, 0x0d), 0x80);
	/* A 16-bit write is index then data. */
	{
		u8 d[2] = { 0x50, 0x77 };

		assert_true(bus_dispatch(&f->pio, CMOS_PORT, d, 2, true));
		assert_int_equal(cmos_read(f, 0x50), 0x77);
	}
}

static void test_cmos_set_time(void **state)
{
	struct fixture *f = *state;
	struct tm want = { .tm_year = 2031 - 1900, .tm_mon = 0, .tm_mday = 31,
			   .tm_hour = 23, .tm_min = 58, .tm_sec = 30 };
	time_t t = timegm(&want), rtc;

	/* As Linux sets it: SET on, fields, SET off. Month last but one, so
	 * Jan 31 must survive a current month with fewer days. */
	cmos_write(f, 0x0b, 0x82);
	cmos_write(f, 0, 0x30);
	cmos_write(f, 2, 0x58);
	cmos_write(f, 4, 0x23);
	cmos_write(f, 7, 0x31);
	cmos_write(f, 8, 0x01);
	cmos_write(f, 9, 0x31);
	cmos_write(f, CMOS_REG_CENTURY, 0x20);
	/* Frozen while SET is on. */
	assert_int_equal(cmos_read(f, 0), 0x30);
	assert_int_equal(cmos_read(f, 7), 0x31);
	cmos_write(f, 0x0b, 0x02);
	rtc = rtc_time(f, false);
	assert_true(rtc >= t && rtc <= t + 3);

	/* A lone write without SET moves just that field. */
	cmos_write(f, 9, 0x45);
	rtc = rtc_time(f, false);
	want.tm_year = 2045 - 1900;
	t = timegm(&want);
	assert_true(rtc >= t && rtc <= t + 5);

	/* Nonsense is ignored. */
	cmos_write(f, 8, 0x13);
	cmos_write(f, 2, 0x7a);
	rtc = rtc_time(f, false);
	assert_true(rtc >= t && rtc <= t + 5);
}

static void test_cmos_random_pokes(void **state)
{
	struct fixture *f = *state;
	unsigned int seed = 7;
	static const u32 lens[] = { 1, 2 };
	int i;

	for (i = 0; i < 100000; i++) {
		u32 len = lens[rand_r(&seed) & 1];
		u16 port = CMOS_PORT + (len == 2 ? 0 : rand_r(&seed) & 1);
		u8 d[2] = { rand_r(&seed), rand_r(&seed) };

		bus_dispatch(&f->pio, port, d, len, rand_r(&seed) & 1);
	}
	/* Back to a sane mode: the clock still reads valid BCD. */
	cmos_write(f, 0x0b, 0x02);
	rtc_time(f, false);
}

/* --- POST --- */

static void test_post_ports(void **state)
{
	struct fixture *f = *state;
	u8 v = 0x42;

	assert_true(bus_dispatch(&f->pio, POST_PORT, &v, 1, true));
	assert_int_equal(in8(f, POST_PORT), 0xff);
	assert_true(bus_dispatch(&f->pio, POST_ALT_DELAY_PORT, &v, 1, true));
	assert_int_equal(in8(f, POST_ALT_DELAY_PORT), 0xff);
	/* Neighbours stay unclaimed. */
	assert_false(bus_dispatch(&f->pio, POST_PORT + 1, &v, 1, true));
	assert_false(bus_dispatch(&f->pio, POST_ALT_DELAY_PORT - 1, &v, 1,
				  true));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_i8042_idle_status),
		T(test_i8042_reset_pulse),
		T(test_i8042_output_port_reset),
		T(test_i8042_probe_answers),
		T(test_i8042_random_pokes),
		T(test_cmos_bcd_time_matches_host),
		T(test_cmos_binary_and_12h),
		T(test_cmos_nvram_and_index),
		T(test_cmos_set_time),
		T(test_cmos_random_pokes),
		T(test_post_ports),
	};

	return cmocka_run_group_tests_name("legacy", tests, NULL, NULL);
}
