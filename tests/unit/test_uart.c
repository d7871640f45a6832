// SPDX-License-Identifier: GPL-2.0
/*
 * The 16550A UART, driven through a real port-I/O bus the way a guest
 * driver would: Linux-style chip detection, divisor latch, output to a
 * pipe, receive FIFO and host-side back-pressure, interrupt priorities
 * and the level of the IRQ line, loopback, random register pokes,
 * concurrent writers. The console thread is test_uart_console.c, the
 * device model (pause, save, load) test_uart_state.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "uart_fixture.h"

/*
 * Identify the chip the way Linux's 8250 driver does, in the order it
 * does, and name the type it would settle on.
 */
static const char *probe_type(struct fixture *f)
{
	u8 ier, mcr, lcr, iir, s1, s2;
	int count;

	/* IER holds exactly its low nibble. */
	ier = in8(f, IER);
	out8(f, IER, 0);
	s1 = in8(f, IER) & 0x0f;
	out8(f, IER, 0x0f);
	s2 = in8(f, IER) & 0x0f;
	out8(f, IER, ier);
	if (s1 || s2 != 0x0f)
		return "absent";

	/* Loopback: RTS and OUT2 come back as CTS and DCD. */
	mcr = in8(f, MCR);
	lcr = in8(f, LCR);
	out8(f, MCR, 0x10 | 0x0a);
	s1 = in8(f, MSR) & 0xf0;
	out8(f, MCR, mcr);
	if (s1 != 0x90)
		return "absent";

	out8(f, LCR, 0xbf);
	out8(f, FCR, 0);	/* EFR on chips that have one */
	out8(f, LCR, 0);
	out8(f, FCR, 0x01);
	iir = in8(f, IIR) >> 6;
	if (iir != 3)
		return iir == 2 ? "16550" : "8250/16450";

	/* Only an EFR-capable clone reads 0 here (DLAB, then 0xbf). */
	out8(f, LCR, 0x80);
	if (in8(f, IIR) == 0)
		return "ST16650";
	out8(f, LCR, 0xbf);
	if (in8(f, IIR) == 0)
		return "ST16650V2";

	/* National SuperIO: the LOOP bit mirrored at offset 2 with LCR 0xe0. */
	out8(f, LCR, 0);
	s1 = in8(f, MCR);
	out8(f, LCR, 0xe0);
	s2 = in8(f, IIR);
	if (!((s1 ^ s2) & 0x10)) {
		out8(f, LCR, 0);
		out8(f, MCR, s1 ^ 0x10);
		out8(f, LCR, 0xe0);
		s2 = in8(f, IIR);
		out8(f, LCR, 0);
		out8(f, MCR, s1);
		if ((s1 ^ s2) & 0x10)
			return "NS16550A";
	}

	/* TI16750 sets IIR bit 5 for its 64-byte FIFO. */
	out8(f, LCR, 0);
	out8(f, FCR, 0x21);
	s1 = in8(f, IIR) >> 5;
	out8(f, FCR, 0x01);
	out8(f, LCR, 0x80);
	out8(f, FCR, 0x21);
	s2 = in8(f, IIR) >> 5;
	out8(f, FCR, 0x01);
	out8(f, LCR, 0);
	if (s1 == 6 && s2 == 7)
		return "TI16750";

	/* XScale: IER bit 6 sticks. */
	ier = in8(f, IER);
	out8(f, IER, ier | 0x40);
	s1 = in8(f, IER);
	out8(f, IER, ier);
	if (s1 & 0x40)
		return "XScale";

	/* Count the FIFO in loopback: 64 would be a U6 16550A. */
	out8(f, FCR, 0x07);
	out8(f, MCR, 0x10);
	out8(f, LCR, 0x80);
	out8(f, RBR, 1);
	out8(f, IER, 0);
	out8(f, LCR, 0x03);
	for (count = 0; count < 256; count++)
		out8(f, RBR, count);
	for (count = 0; (in8(f, LSR) & 0x01) && count < 256; count++)
		in8(f, RBR);
	out8(f, FCR, 0);
	out8(f, MCR, mcr);
	out8(f, LCR, lcr);
	if (count != 16)
		return "U6_16550A";
	return "16550A";
}

static void test_linux_detects_16550a(void **state)
{
	struct fixture *f = *state;
	char buf[64];

	assert_string_equal(probe_type(f), "16550A");
	/* The loopback FIFO count must not have reached the host. */
	assert_int_equal(drain_output(f, buf, sizeof(buf)), 0);
	/* Scratch register, as the 16450 check uses it. */
	out8(f, SCR, 0xa5);
	assert_int_equal(in8(f, SCR), 0xa5);
	out8(f, SCR, 0x5a);
	assert_int_equal(in8(f, SCR), 0x5a);
}

static void test_fifo_bits_in_iir(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(in8(f, IIR), 0x01);	/* FIFOs off at reset */
	out8(f, FCR, 0x01);
	assert_int_equal(in8(f, IIR) & 0xc0, 0xc0);
	/* Bits other than FCR0 need FCR0 in the same write. */
	out8(f, FCR, 0xc0);
	assert_int_equal(in8(f, IIR) & 0xc0, 0x00);
	/* IIR bits 5:4 stay zero even when asked for 64-byte mode. */
	out8(f, FCR, 0xe1);
	assert_int_equal(in8(f, IIR) & 0xf0, 0xc0);
}

static void test_divisor_latch(void **state)
{
	struct fixture *f = *state;

	out8(f, IER, 0x05);
	out8(f, LCR, 0x83);	/* DLAB, 8N1 */
	out8(f, RBR, 0x01);	/* DLL: 115200 baud */
	out8(f, IER, 0x00);	/* DLM */
	assert_int_equal(in8(f, RBR), 0x01);
	assert_int_equal(in8(f, IER), 0x00);
	out8(f, LCR, 0x03);
	assert_int_equal(in8(f, LCR), 0x03);
	assert_int_equal(in8(f, IER), 0x05);	/* IER untouched */
	out8(f, LCR, 0x83);
	assert_int_equal(in8(f, RBR), 0x01);	/* latch kept */
	out8(f, LCR, 0x03);
}

static void test_tx_reaches_fd(void **state)
{
	struct fixture *f = *state;
	const char *msg = "Linux version 6.1\r\n";
	char buf[64];
	size_t i, n;

	out8(f, LCR, 0x03);
	for (i = 0; msg[i]; i++) {
		assert_int_equal(in8(f, LSR) & 0x60, 0x60);	/* THRE, TEMT */
		out8(f, RBR, msg[i]);
	}
	n = drain_output(f, buf, sizeof(buf));
	assert_int_equal(n, strlen(msg));
	assert_memory_equal(buf, msg, n);
	/* With DLAB set the same port is the divisor: nothing is sent. */
	out8(f, LCR, 0x80);
	out8(f, RBR, 'z');
	out8(f, LCR, 0x03);
	assert_int_equal(drain_output(f, buf, sizeof(buf)), 0);
}

static void test_wide_access_splits(void **state)
{
	struct fixture *f = *state;
	u8 d[4];

	/* A 16-bit write at THR sends the low byte and writes IER. */
	d[0] = 'Q';
	d[1] = 0x02;
	assert_true(bus_dispatch(&f->pio, RBR, d, 2, true));
	assert_int_equal(in8(f, IER), 0x02);
	assert_int_equal(drain_output(f, (char *)d, 4), 1);
	assert_int_equal(d[0], 'Q');
	/* A 32-bit read at LCR returns LCR, MCR, LSR, MSR. */
	out8(f, LCR, 0x03);
	out8(f, MCR, 0x0b);
	assert_true(bus_dispatch(&f->pio, LCR, d, 4, false));
	assert_int_equal(d[0], 0x03);
	assert_int_equal(d[1], 0x0b);
	assert_int_equal(d[2], 0x60);
	assert_int_equal(d[3] & 0xf0, 0xb0);	/* CTS, DSR, DCD */
	/* Past the last port the bus refuses the access. */
	assert_false(bus_dispatch(&f->pio, SCR, d, 2, false));
}

static void test_rx_non_fifo_mode(void **state)
{
	struct fixture *f = *state;

	out8(f, MCR, 0x0b);	/* DTR, RTS, OUT2 */
	out8(f, IER, 0x01);
	assert_int_equal(irq_level(f), 0);
	assert_int_equal(uart_input(&f->u, (const u8 *)"abc", 3), 3);
	assert_int_equal(irq_level(f), 1);
	assert_int_equal(f->rec.gsi, COM1_IRQ);
	assert_int_equal(in8(f, IIR), 0x04);
	assert_int_equal(in8(f, LSR) & 0x01, 0x01);
	assert_int_equal(in8(f, RBR), 'a');
	assert_int_equal(irq_level(f), 1);	/* 'b' moved up */
	assert_int_equal(in8(f, RBR), 'b');
	assert_int_equal(in8(f, RBR), 'c');
	assert_int_equal(in8(f, LSR) & 0x01, 0);
	assert_int_equal(in8(f, IIR), 0x01);
	assert_int_equal(irq_level(f), 0);
}

static void test_rx_trigger_and_timeout(void **state)
{
	struct fixture *f = *state;

	out8(f, MCR, 0x08);
	out8(f, FCR, 0x47);	/* FIFO on, clear both, trigger 4 */
	out8(f, IER, 0x01);
	uart_input(&f->u, (const u8 *)"xy", 2);
	assert_int_equal(in8(f, IIR), 0xcc);	/* below trigger: timeout */
	assert_int_equal(irq_level(f), 1);
	uart_input(&f->u, (const u8 *)"zw", 2);
	assert_int_equal(in8(f, IIR), 0xc4);	/* at trigger */
	assert_int_equal(in8(f, RBR), 'x');
	assert_int_equal(in8(f, IIR), 0xcc);
	assert_int_equal(in8(f, RBR), 'y');
	assert_int_equal(in8(f, RBR), 'z');
	assert_int_equal(in8(f, RBR), 'w');
	assert_int_equal(in8(f, IIR), 0xc1);
	assert_int_equal(irq_level(f), 0);
	/* RX interrupt disabled: data stays but the line stays low. */
	out8(f, IER, 0x00);
	uart_input(&f->u, (const u8 *)"q", 1);
	assert_int_equal(irq_level(f), 0);
	assert_int_equal(in8(f, IIR), 0xc1);
	out8(f, IER, 0x01);
	assert_int_equal(irq_level(f), 1);
	/* OUT2 gates the line off the card, as on a PC. */
	out8(f, MCR, 0x00);
	assert_int_equal(irq_level(f), 0);
	assert_int_equal(in8(f, IIR), 0xcc);
	out8(f, MCR, 0x08);
	assert_int_equal(irq_level(f), 1);
}

static void test_thre_interrupt(void **state)
{
	struct fixture *f = *state;

	out8(f, MCR, 0x08);
	/* Enabling THRI with THR empty fires; reading IIR acknowledges. */
	out8(f, IER, 0x02);
	assert_int_equal(irq_level(f), 1);
	assert_int_equal(in8(f, IIR), 0x02);
	assert_int_equal(irq_level(f), 0);
	assert_int_equal(in8(f, IIR), 0x01);
	/* Linux's startup test: re-enabling must fire again. */
	out8(f, IER, 0x00);
	out8(f, IER, 0x02);
	assert_int_equal(in8(f, IIR), 0x02);
	/* Each byte sent empties THR again. */
	out8(f, RBR, '!');
	assert_int_equal(irq_level(f), 1);
	assert_int_equal(in8(f, IIR), 0x02);
	assert_int_equal(irq_level(f), 0);
	out8(f, IER, 0x00);
}

static void test_iir_priority(void **state)
{
	struct fixture *f = *state;
	int i;

	out8(f, FCR, 0x07);
	out8(f, IER, 0x0f);
	/* Loopback: 17 bytes into a 16-byte FIFO overrun. */
	out8(f, MCR, 0x10);
	/* THR empty since IER was written; then entering loopback drops
	 * CTS, DSR and DCD: modem-status deltas. */
	assert_int_equal(in8(f, IIR), 0xc2);
	assert_int_equal(in8(f, IIR), 0xc0);
	assert_int_equal(in8(f, MSR), 0x0b);
	assert_int_equal(in8(f, IIR), 0xc1);
	for (i = 0; i < 17; i++)
		out8(f, RBR, 'A' + i);
	out8(f, MCR, 0x11);	/* DTR -> DSR: a modem-status change too */
	assert_int_equal(irq_level(f), 0);	/* loopback keeps the line low */
	assert_int_equal(in8(f, IIR), 0xc6);	/* line status first */
	assert_int_equal(in8(f, LSR), 0x63);	/* OE, DR, THRE, TEMT */
	assert_int_equal(in8(f, LSR), 0x61);	/* OE read-clears */
	assert_int_equal(in8(f, IIR), 0xc4);	/* then received data */
	for (i = 0; i < 16; i++)
		assert_int_equal(in8(f, RBR), 'A' + i);
	assert_int_equal(in8(f, IIR), 0xc2);	/* then THR empty */
	assert_int_equal(in8(f, IIR), 0xc0);	/* then modem status */
	assert_int_equal(in8(f, MSR) & 0x0f, 0x02);	/* DDSR */
	assert_int_equal(in8(f, IIR), 0xc1);
}

static void test_loopback(void **state)
{
	struct fixture *f = *state;
	char buf[8];

	out8(f, MCR, 0x10 | 0x05);	/* DTR, OUT1 */
	assert_int_equal(in8(f, MSR) & 0xf0, 0x60);	/* DSR, RI */
	out8(f, MCR, 0x10 | 0x0a);	/* RTS, OUT2 */
	assert_int_equal(in8(f, MSR), 0x90 | 0x01 | 0x02 | 0x04 | 0x08);
	assert_int_equal(in8(f, MSR), 0x90);	/* deltas read-clear */
	/* Sent bytes come back instead of leaving. */
	out8(f, RBR, 'L');
	assert_int_equal(in8(f, LSR) & 0x01, 0x01);
	assert_int_equal(in8(f, RBR), 'L');
	assert_int_equal(drain_output(f, buf, sizeof(buf)), 0);
	/* Host input waits while the line is looped... */
	uart_input(&f->u, (const u8 *)"H", 1);
	assert_int_equal(in8(f, LSR) & 0x01, 0);
	/* ...and arrives once loopback ends. */
	out8(f, MCR, 0x0b);
	assert_int_equal(in8(f, MSR) & 0xf0, 0xb0);
	assert_int_equal(in8(f, RBR), 'H');
	out8(f, RBR, 'O');
	assert_int_equal(drain_output(f, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'O');
}

static void count_notify(void *opaque)
{
	struct fixture *f = opaque;

	f->notified++;
}

static void test_host_buffer_backpressure(void **state)
{
	struct fixture *f = *state;
	size_t total = UART_HOST_BUF + UART_FIFO_LEN, i;
	u8 *data = malloc(total + 100);

	assert_non_null(data);
	for (i = 0; i < total + 100; i++)
		data[i] = i * 7;
	uart_set_rx_notify(&f->u, count_notify, f);
	out8(f, FCR, 0x01);
	assert_int_equal(uart_input(&f->u, data, total + 100), total);
	assert_int_equal(uart_input(&f->u, data, 1), 0);
	assert_int_equal(f->notified, 0);
	assert_int_equal(in8(f, RBR), data[0]);
	assert_int_equal(f->notified, 1);	/* room again: tell the console */
	assert_int_equal(in8(f, RBR), data[1]);
	assert_int_equal(f->notified, 1);	/* only after being refused */
	assert_int_equal(uart_input(&f->u, data + total, 100), 2);
	for (i = 2; i < total + 2; i++)
		assert_int_equal(in8(f, RBR), data[i]);
	assert_int_equal(in8(f, LSR) & 0x01, 0);
	assert_int_equal(uart_input(&f->u, data, 0), 0);
	uart_set_rx_notify(&f->u, NULL, NULL);
	free(data);
}

static void test_fifo_clear_keeps_host_bytes(void **state)
{
	struct fixture *f = *state;
	u8 data[20];
	int i;

	for (i = 0; i < 20; i++)
		data[i] = 'a' + i;
	out8(f, FCR, 0x01);
	assert_int_equal(uart_input(&f->u, data, 20), 20);
	out8(f, FCR, 0x03);	/* the 16 in the chip are dropped */
	for (i = 16; i < 20; i++)
		assert_int_equal(in8(f, RBR), data[i]);
	assert_int_equal(in8(f, LSR) & 0x01, 0);
	/* Turning the FIFO off empties it too. */
	uart_input(&f->u, data, 3);
	out8(f, FCR, 0x00);
	assert_int_equal(in8(f, LSR) & 0x01, 0);
}

/* Many random accesses: no crash, and the line always matches the state. */
static void test_random_pokes(void **state)
{
	struct fixture *f = *state;
	static const u32 lens[] = { 1, 2, 4, 8 };
	unsigned int seed = 12345;
	u8 d[8], in[37];
	int i, j;

	for (i = 0; i < 200000; i++) {
		u32 len = lens[rand_r(&seed) % 4];
		u16 port = COM1_PORT + rand_r(&seed) % (9 - len);
		bool wr = rand_r(&seed) & 1;

		for (j = 0; j < 8; j++)
			d[j] = rand_r(&seed);
		assert_true(bus_dispatch(&f->pio, port, d, len, wr));
		if (rand_r(&seed) % 64 == 0) {
			for (j = 0; j < 37; j++)
				in[j] = rand_r(&seed);
			uart_input(&f->u, in, rand_r(&seed) % 37);
		}
		assert_true(f->u.rx_cnt <= UART_FIFO_LEN);
		assert_true(f->u.host_cnt <= UART_HOST_BUF);
		assert_int_equal(irq_level(f), f->u.irq_level);
	}
	/* Still a working UART afterwards (output nobody read: dropped). */
	out8(f, LCR, 0x03);
	out8(f, MCR, 0x00);
	assert_string_equal(probe_type(f), "16550A");
}

struct writer {
	struct fixture *f;
	char ch;
	int n;
};

static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	int i;

	for (i = 0; i < w->n; i++) {
		u8 v = w->ch, lsr;

		bus_dispatch(&w->f->pio, LSR, &lsr, 1, false);
		bus_dispatch(&w->f->pio, IIR, &lsr, 1, false);
		bus_dispatch(&w->f->pio, RBR, &v, 1, true);
	}
	return NULL;
}

/* vCPUs writing at once: every byte arrives, none is torn or lost. */
static void test_concurrent_writers(void **state)
{
	struct fixture *f = *state;
	struct writer w[4];
	pthread_t t[4];
	int count[4] = { 0 }, i, total = 0;
	char buf[512];

	out8(f, LCR, 0x03);
	for (i = 0; i < 4; i++) {
		w[i] = (struct writer){ f, 'a' + i, 1000 };
		assert_int_equal(pthread_create(&t[i], NULL, writer_thread,
						&w[i]), 0);
	}
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (;;) {
		size_t n = drain_output(f, buf, sizeof(buf)), k;

		if (!n)
			break;
		for (k = 0; k < n; k++) {
			assert_true(buf[k] >= 'a' && buf[k] <= 'd');
			count[buf[k] - 'a']++;
			total++;
		}
	}
	assert_int_equal(total, 4000);
	for (i = 0; i < 4; i++)
		assert_int_equal(count[i], 1000);
}

static void test_output_fd_failure_is_survivable(void **state)
{
	struct fixture *f = *state;

	/* A closed reader: EPIPE (SIGPIPE ignored here) stops output only. */
	signal(SIGPIPE, SIG_IGN);
	close(f->out[0]);
	f->out[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	out8(f, RBR, 'x');
	out8(f, RBR, 'y');
	assert_true(f->u.out_broken);
	assert_int_equal(in8(f, LSR) & 0x60, 0x60);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_linux_detects_16550a),
		T(test_fifo_bits_in_iir),
		T(test_divisor_latch),
		T(test_tx_reaches_fd),
		T(test_wide_access_splits),
		T(test_rx_non_fifo_mode),
		T(test_rx_trigger_and_timeout),
		T(test_thre_interrupt),
		T(test_iir_priority),
		T(test_loopback),
		T(test_host_buffer_backpressure),
		T(test_fifo_clear_keeps_host_bytes),
		T(test_random_pokes),
		T(test_concurrent_writers),
		T(test_output_fd_failure_is_survivable),
	};

	return cmocka_run_group_tests_name("uart", tests, NULL, NULL);
}
