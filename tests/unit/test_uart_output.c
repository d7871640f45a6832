// SPDX-License-Identifier: GPL-2.0
/*
 * UART output when the host side does not keep up (test_uart.c has the
 * chip itself): a pipe nobody reads and a terminal whose output is
 * stopped (Ctrl-S). A vCPU writing THR must never wait for either: every
 * write returns at once, what fits in the output ring waits there, the
 * rest is dropped and counted, and what was kept comes out in order, by
 * the drain thread, once the host side reads again. On a terminal,
 * only what draws gets that far.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "dev_test.h"
#include "lib/layout.h"
#include "vmm/devices/uart.h"

#define THR	(COM1_PORT + 0)
#define LCR	(COM1_PORT + 3)
#define TOTAL	(256 * 1024)	/* well past pipe + ring */

struct fixture {
	struct uart u;
	struct bus pio;
	struct device_manager dm;
	int rd, wr;		/* the host side: we read rd, the UART writes wr */
};

static long long mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void attach(struct fixture *f, int rd, int wr)
{
	f->rd = rd;
	f->wr = wr;
	bus_init(&f->pio, "pio");
	dm_init(&f->dm, NULL, NULL, &f->pio, NULL);
	assert_int_equal(uart_init(&f->u, &f->dm, NULL, wr), 0);
	bus_seal(&f->pio);
}

static void detach(struct fixture *f)
{
	dm_destroy(&f->dm);
	bus_free(&f->pio);
	close(f->rd);
	close(f->wr);
}

/*
 * Write TOTAL bytes (i % 251) as a vCPU would; returns the slowest
 * single write in microseconds.
 */
static long long write_all(struct fixture *f)
{
	long long worst = 0, t;
	unsigned i;

	out8(f, LCR, 0x03);
	for (i = 0; i < TOTAL; i++) {
		t = mono_us();
		out8(f, THR, (u8)(i % 251));
		t = mono_us() - t;
		if (t > worst)
			worst = t;
	}
	return worst;
}

/* Read until n bytes came or 2 s passed: the count read. */
static size_t read_back(int fd, u8 *buf, size_t n)
{
	long long end = mono_us() + 2000000;
	size_t got = 0;

	while (got < n && mono_us() < end) {
		ssize_t r = read(fd, buf + got, n - got);

		if (r > 0)
			got += (size_t)r;
		else
			usleep(1000);
	}
	return got;
}

/* What came out is the start of what was written, in order. */
static void check_prefix(const u8 *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (buf[i] != (u8)(i % 251))
			fail_msg("byte %zu is %u, not %zu", i, buf[i], i % 251);
}

static void stalled_host_side(struct fixture *f)
{
	u8 *buf = malloc(TOTAL);
	long long t0 = mono_us(), worst;
	size_t kept, got;
	u64 written, dropped;

	assert_non_null(buf);
	worst = write_all(f);
	print_message("%d bytes in %lld ms, slowest write %lld us\n", TOTAL,
		      (mono_us() - t0) / 1000, worst);
	assert_true(worst < 100000);		/* never a wait for the host */
	assert_true(mono_us() - t0 < 5000000);
	pthread_mutex_lock(&f->u.out_lock);
	written = f->u.out_bytes;
	dropped = f->u.out_dropped;
	kept = f->u.o_cnt;
	pthread_mutex_unlock(&f->u.out_lock);
	print_message("written %llu, queued %zu, dropped %llu\n",
		      (unsigned long long)written, kept,
		      (unsigned long long)dropped);
	assert_int_equal(written + kept + dropped, TOTAL);
	assert_true(dropped > 0);
	assert_int_equal(kept, UART_OUT_BUF);	/* the ring filled up */
	/* The host side reads again: the ring drains with no guest write. */
	got = read_back(f->rd, buf, written + kept);
	assert_int_equal(got, written + kept);
	check_prefix(buf, got);
	free(buf);
}

/* A pipe nobody reads (a VMM piped into a stuck program). */
static void test_pipe_nobody_reads(void **state)
{
	struct fixture f;
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	attach(&f, p[0], p[1]);
	assert_false(f.u.out_filter);		/* a pipe gets every byte */
	/* Ours is a private non-blocking description: the pipe's own is not. */
	assert_false(fcntl(p[1], F_GETFL) & O_NONBLOCK);
	stalled_host_side(&f);
	detach(&f);
}

/* A terminal with its output stopped (Ctrl-S; tcflow TCOOFF). */
static void test_stopped_terminal(void **state)
{
	struct fixture f;
	struct termios tio;
	int master, slave;

	slave = open_pty(&master);
	assert_int_equal(tcgetattr(slave, &tio), 0);
	cfmakeraw(&tio);
	assert_int_equal(tcsetattr(slave, TCSANOW, &tio), 0);
	assert_int_equal(fcntl(master, F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(tcflow(slave, TCOOFF), 0);
	attach(&f, master, slave);
	/* Here every byte is counted, controls included: the terminal
	 * filter has its own test (test_terminal_filtered). */
	assert_true(f.u.out_filter);
	f.u.out_filter = false;
	{
		long long worst = write_all(&f);

		print_message("stopped terminal: slowest write %lld us, %llu dropped\n",
			      worst, (unsigned long long)f.u.out_dropped);
		assert_true(worst < 100000);
		assert_true(f.u.out_dropped > 0);
	}
	/* Ctrl-Q: what was kept comes out, in order. */
	assert_int_equal(tcflow(slave, TCOON), 0);
	{
		u8 *buf = malloc(TOTAL);
		size_t want = (size_t)(TOTAL - f.u.out_dropped), got;

		assert_non_null(buf);
		got = read_back(master, buf, want);
		assert_int_equal(got, want);
		check_prefix(buf, got);
		free(buf);
	}
	detach(&f);
}

/*
 * On a terminal what draws passes and what would make the terminal act
 * does not (lib/termfilter.c; test_termfilter has the whole policy); a
 * pipe gets the same bytes untouched.
 */
static void test_terminal_filtered(void **state)
{
	static const char guest[] =
		"a\x1b]52;c;aGVsbG8=\x07" "b\x1b[6n\x1b[31mred\x1b[0m\x1bP+q\x1b\\c\r\n";
	static const char shown[] = "ab\x1b[31mred\x1b[0mc\r\n";
	struct termios tio;
	struct fixture f;
	int master, slave, p[2];
	u8 buf[sizeof(guest)];
	size_t i;

	slave = open_pty(&master);
	assert_int_equal(tcgetattr(slave, &tio), 0);
	cfmakeraw(&tio);
	assert_int_equal(tcsetattr(slave, TCSANOW, &tio), 0);
	assert_int_equal(fcntl(master, F_SETFL, O_NONBLOCK), 0);
	attach(&f, master, slave);
	out8(&f, LCR, 0x03);
	for (i = 0; i < sizeof(guest) - 1; i++)
		out8(&f, THR, (u8)guest[i]);
	assert_int_equal(read_back(master, buf, sizeof(shown) - 1),
			 sizeof(shown) - 1);
	assert_memory_equal(buf, shown, sizeof(shown) - 1);
	assert_int_equal(f.u.tf.dropped, sizeof(guest) - sizeof(shown));
	detach(&f);

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	attach(&f, p[0], p[1]);
	out8(&f, LCR, 0x03);
	for (i = 0; i < sizeof(guest) - 1; i++)
		out8(&f, THR, (u8)guest[i]);
	assert_int_equal(read_back(p[0], buf, sizeof(guest) - 1),
			 sizeof(guest) - 1);
	assert_memory_equal(buf, guest, sizeof(guest) - 1);
	detach(&f);
}

/* Exit with output still stuck: bounded by UART_EXIT_FLUSH_MS. */
static void test_exit_with_output_stuck(void **state)
{
	struct fixture f;
	long long t0;
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	attach(&f, p[0], p[1]);
	write_all(&f);
	t0 = mono_us();
	dm_destroy(&f.dm);	/* the UART's destroy op: the exit flush */
	bus_free(&f.pio);
	assert_true(mono_us() - t0 < (UART_EXIT_FLUSH_MS + 500) * 1000LL);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipe_nobody_reads),
		cmocka_unit_test(test_terminal_filtered),
		cmocka_unit_test(test_stopped_terminal),
		cmocka_unit_test(test_exit_with_output_stuck),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
