// SPDX-License-Identifier: GPL-2.0
/*
 * The UART as a device of the device model: driven through its port-I/O
 * bus to the middle of an exchange (bytes in the FIFO and on the wire,
 * an overrun latched, a modem delta, THRE pending, the divisor latch
 * set, the line high), paused, saved, loaded into a fresh UART in a
 * fresh manager; the guest then reads the same registers from both, the
 * line has the saved level, and after resume the rest of the input
 * drains from both alike. Pause holds the line and turns input away
 * until resume; tampered streams are refused with their reason and
 * leave the UART at its power-on state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "uart_fixture.h"

#define INPUT_LEN	24
static const u8 input[INPUT_LEN] = "the quick brown fox jump";

/*
 * Drive f as a guest and its user would: 115200 8N1, FIFO at trigger
 * level 14, RDA, THRE and line status interrupts, OUT2; 24 bytes typed
 * (16 reach the FIFO, 8 wait on the wire), 3 read; a byte sent and,
 * in loopback, one more than the FIFO holds (overrun), DCD dropped and
 * back on the way in and out of loopback.
 */
static void drive_mid_operation(struct fixture *f)
{
	out8(f, LCR, 0x80);
	out8(f, RBR, 0x01);
	out8(f, IER, 0x00);
	out8(f, LCR, 0x03);
	out8(f, FCR, 0xc7);
	out8(f, IER, 0x07);
	out8(f, MCR, 0x0b);
	out8(f, SCR, 0x5a);
	assert_int_equal(uart_input(&f->u, input, INPUT_LEN), INPUT_LEN);
	assert_int_equal(in8(f, RBR), input[0]);
	assert_int_equal(in8(f, RBR), input[1]);
	assert_int_equal(in8(f, RBR), input[2]);
	out8(f, RBR, 'A');
	out8(f, MCR, 0x13);	/* loopback: the FIFO is full */
	out8(f, RBR, 'B');
	out8(f, MCR, 0x0b);
	assert_int_equal(irq_level(f), 1);
}

/*
 * What the guest reads, in one fixed order (reads that clear latches
 * clear them alike in both UARTs): IIR, LSR, MSR, IIR, IER, LCR, MCR,
 * SCR, DLL, DLM.
 */
static void guest_view(struct fixture *f, u8 v[10])
{
	v[0] = in8(f, IIR);
	v[1] = in8(f, LSR);
	v[2] = in8(f, MSR);
	v[3] = in8(f, IIR);
	v[4] = in8(f, IER);
	v[5] = in8(f, LCR);
	v[6] = in8(f, MCR);
	v[7] = in8(f, SCR);
	out8(f, LCR, 0x83);
	v[8] = in8(f, RBR);
	v[9] = in8(f, IER);
	out8(f, LCR, 0x03);
}

/* Everything the guest can still read from the FIFO and the wire. */
static size_t drain(struct fixture *f, u8 *buf, size_t cap)
{
	size_t n = 0;

	while (n < cap && (in8(f, LSR) & 0x01))
		buf[n++] = in8(f, RBR);
	return n;
}

/*
 * a driven to the middle of an exchange, paused and saved into *buf; a
 * fresh UART in a fresh manager, paused (the caller tears it down).
 */
static struct fixture *saved_and_fresh(struct fixture *a, void **st,
				       u8 **buf, size_t *len)
{
	drive_mid_operation(a);
	dm_pause(&a->dm);
	*buf = saved_state(&a->dm, len);
	setup(st);
	dm_pause(&((struct fixture *)*st)->dm);
	return *st;
}

static void test_saved_mid_operation(void **state)
{
	struct fixture *a = *state, *b;
	void *st;
	u8 va[10], vb[10], da[64], db[64];
	size_t len, na, nb;
	char why[192];
	u8 *buf;

	b = saved_and_fresh(a, &st, &buf, &len);
	assert_int_equal(load_state(&b->dm, buf, len, why), 0);
	assert_int_equal(irq_level(b), 1);	/* the saved level, paused */
	assert_int_equal(b->rec.calls, 1);

	guest_view(a, va);
	guest_view(b, vb);
	assert_memory_equal(va, vb, sizeof(va));
	assert_int_equal(va[0], 0xc6);	/* line status first, FIFO on */
	assert_int_equal(va[1], 0x63);	/* OE, DR, THRE, TEMT */
	assert_int_equal(va[2], 0xb8);	/* CTS DSR DCD, DCD changed */
	assert_int_equal(va[3], 0xc4);	/* then data at the trigger */
	assert_int_equal(va[4], 0x07);
	assert_int_equal(va[6], 0x0b);
	assert_int_equal(va[7], 0x5a);
	assert_int_equal(va[8], 0x01);	/* 115200 */
	assert_int_equal(va[9], 0x00);
	assert_int_equal(irq_level(b), 1);

	/* Resumed, both go on: the rest of the input, then THRE. */
	dm_resume(&a->dm);
	dm_resume(&b->dm);
	na = drain(a, da, sizeof(da));
	nb = drain(b, db, sizeof(db));
	assert_int_equal(na, INPUT_LEN - 3);
	assert_int_equal(nb, na);
	assert_memory_equal(da, input + 3, na);
	assert_memory_equal(db, input + 3, nb);
	assert_int_equal(in8(b, IIR), 0xc2);
	assert_int_equal(irq_level(b), 0);	/* reading IIR acked THRE */
	assert_int_equal(in8(b, IIR), 0xc1);
	assert_int_equal(in8(a, IIR), 0xc2);

	free(buf);
	teardown(&st);
}

static void count_notify(void *opaque)
{
	struct fixture *f = opaque;

	f->notified++;
}

/* Paused: no line change and no host input; resume catches up on both. */
static void test_pause_holds_line_and_input(void **state)
{
	struct fixture *f = *state;

	uart_set_rx_notify(&f->u, count_notify, f);
	out8(f, MCR, 0x08);
	out8(f, IER, 0x01);
	dm_pause(&f->dm);
	assert_int_equal(uart_input(&f->u, (const u8 *)"hi", 2), 0);
	assert_int_equal(in8(f, LSR) & 0x01, 0);
	/* Registers still work, but THRE enabled raises nothing yet. */
	out8(f, IER, 0x03);
	assert_int_equal(in8(f, IER), 0x03);
	assert_int_equal(irq_level(f), 0);
	assert_int_equal(f->rec.calls, 0);
	assert_int_equal(f->notified, 0);

	dm_resume(&f->dm);
	assert_int_equal(irq_level(f), 1);
	assert_int_equal(f->notified, 1);	/* offer the bytes again */
	assert_int_equal(uart_input(&f->u, (const u8 *)"hi", 2), 2);
	assert_int_equal(in8(f, IIR), 0x04);	/* data first */
	assert_int_equal(in8(f, RBR), 'h');
	assert_int_equal(in8(f, RBR), 'i');
	uart_set_rx_notify(&f->u, NULL, NULL);
}

/* The power-on state a refused load leaves behind (line low, no data). */
static void assert_reset(struct fixture *f)
{
	assert_int_equal(irq_level(f), 0);
	assert_int_equal(in8(f, IIR), 0x01);
	assert_int_equal(in8(f, LSR), 0x60);
	assert_int_equal(in8(f, MSR), 0xb0);
	assert_int_equal(in8(f, IER), 0);
	assert_int_equal(in8(f, LCR), 0);
	assert_int_equal(in8(f, MCR), 0);
	assert_int_equal(in8(f, SCR), 0);
	out8(f, LCR, 0x80);
	assert_int_equal(in8(f, RBR), 12);	/* 9600 baud */
	out8(f, LCR, 0);
}

static const u8 big[UART_HOST_BUF + 1];

static const struct tamper tampered[] = {
	{ "rx", big, 17, "rx holds 17 bytes, the FIFO 16 as fcr 0xc1 sets it" },
	{ "rx", big, 3, "wire bytes wait while the FIFO has room" },
	{ "wire", big, UART_HOST_BUF + 1,
	  "wire holds 4097 bytes, more than the 4096 kept" },
	{ "fcr", "\x02", 1, "fcr 0x02 is no FIFO setting the chip keeps" },
	{ "fcr", "\x00", 1, "rx holds 16 bytes, the FIFO 1 as fcr 0x00 sets it" },
	{ "ier", "\xf1", 1, "ier 0xf1 sets bits 7:4, which read as 0" },
	{ "mcr", "\x20", 1, "mcr 0x20 sets bits 7:5, which read as 0" },
	{ "lsr_err", "\x80", 1,
	  "lsr_err 0x80 latches more than OE, PE, FE and BI" },
	{ "msr_delta", "\x10", 1,
	  "msr_delta 0x10 has bits above the four deltas" },
	{ "irq_level", "\x02", 1, "field irq_level is 2, not a boolean" },
	{ "thr_int", "\xff", 1, "field thr_int is 255, not a boolean" },
	{ "dll", "\x01\x00", 2, "field dll is 2 bytes, this smpvisor expects 1" },
	{ "scr", NULL, 0, "field scr is missing" },
};

/* Loaded: the line is up; refused: the UART is reset. */
static void check_line_or_reset(void *arg, bool refused)
{
	struct fixture *f = arg;

	if (refused)
		assert_reset(f);
	else
		assert_int_equal(irq_level(f), 1);
}

static void test_tampered_streams_refused(void **state)
{
	struct fixture *a = *state, *b;
	size_t len;
	void *st;
	u8 *buf;

	b = saved_and_fresh(a, &st, &buf, &len);
	refuse_tampered(&b->dm, buf, len, "com1", tampered,
			ARRAY_SIZE(tampered), check_line_or_reset, b);
	/* A reset UART takes input again once resumed. */
	dm_resume(&b->dm);
	assert_int_equal(uart_input(&b->u, (const u8 *)"k", 1), 1);
	assert_int_equal(in8(b, RBR), 'k');
	free(buf);
	teardown(&st);
}

/* Reset keeps the output path: a reset UART still writes to its fd. */
static void test_reset_keeps_output(void **state)
{
	struct fixture *f = *state;
	char c;

	drive_mid_operation(f);
	assert_int_equal(drain_output(f, &c, 1), 1);
	assert_int_equal(c, 'A');
	dm_reset(&f->dm);
	assert_reset(f);
	out8(f, RBR, 'R');
	assert_int_equal(drain_output(f, &c, 1), 1);
	assert_int_equal(c, 'R');
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_saved_mid_operation),
		T(test_pause_holds_line_and_input),
		T(test_tampered_streams_refused),
		T(test_reset_keeps_output),
	};

	return cmocka_run_group_tests_name("uart_state", tests, NULL, NULL);
}
