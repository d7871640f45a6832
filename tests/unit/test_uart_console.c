// SPDX-License-Identifier: GPL-2.0
/*
 * The console thread feeding the UART (vmm/console.c): from a pipe, with
 * back-pressure and no spinning, from /dev/null and a closed fd, from a
 * pseudo-terminal (raw mode and the Ctrl-A keys), and across a pause of
 * the UART, whose turned-away bytes the console offers again at resume.
 * test_uart.c has the chip.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "uart_fixture.h"
#include "vmm/console.h"

struct exit_rec {
	pthread_mutex_t lock;
	enum vm_exit_reason why;
	int calls;
};

static void rec_exit(void *opaque, enum vm_exit_reason why)
{
	struct exit_rec *r = opaque;

	pthread_mutex_lock(&r->lock);
	r->why = why;
	r->calls++;
	pthread_mutex_unlock(&r->lock);
}

static int exit_calls(struct exit_rec *r, enum vm_exit_reason *why)
{
	int n;

	pthread_mutex_lock(&r->lock);
	n = r->calls;
	*why = r->why;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static u64 now_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static size_t host_queued(struct uart *u)
{
	size_t n;

	pthread_mutex_lock(&u->lock);
	n = u->host_cnt;
	pthread_mutex_unlock(&u->lock);
	return n;
}

/* Read n bytes as a guest would, waiting (up to 10 s) for them to come. */
static void guest_read(struct fixture *f, u8 *buf, size_t n)
{
	u64 deadline = now_ms(CLOCK_MONOTONIC) + 10000;
	size_t got = 0;

	while (got < n) {
		if (in8(f, LSR) & 0x01) {
			buf[got++] = in8(f, RBR);
			continue;
		}
		assert_true(now_ms(CLOCK_MONOTONIC) < deadline);
		usleep(1000);
	}
}

static void test_console_pipe(void **state)
{
	struct fixture *f = *state;
	struct console c;
	int p[2];
	u8 buf[16];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	out8(f, FCR, 0x01);
	assert_int_equal(console_start_fd(&c, p[0], &f->u, NULL), 0);
	assert_true(c.running);
	assert_false(c.raw);
	assert_int_equal(write(p[1], "echo hi\n\x01x", 10), 10);
	guest_read(f, buf, 10);
	/* No escape processing on a pipe: Ctrl-A x is just data. */
	assert_memory_equal(buf, "echo hi\n\x01x", 10);
	close(p[1]);
	console_stop(&c);
	close(p[0]);
}

/* More than the UART holds: nothing lost, and no spinning while full. */
static void test_console_backpressure(void **state)
{
	struct fixture *f = *state;
	enum { N = 20000 };
	struct console c;
	u8 *data = malloc(N), *got = malloc(N);
	u64 cpu0, cpu1;
	int p[2];
	size_t i;

	assert_non_null(data);
	assert_non_null(got);
	for (i = 0; i < N; i++)
		data[i] = (i * 31) ^ (i >> 8);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(write(p[1], data, N), N);
	close(p[1]);
	out8(f, FCR, 0x01);
	assert_int_equal(console_start_fd(&c, p[0], &f->u, NULL), 0);
	/* Wait for the UART to fill up, then watch the thread idle. */
	for (i = 0; i < 5000 && host_queued(&f->u) < UART_HOST_BUF; i++)
		usleep(1000);
	assert_int_equal(host_queued(&f->u), UART_HOST_BUF);
	cpu0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
	usleep(300000);
	cpu1 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
	assert_true(cpu1 - cpu0 < 100);
	guest_read(f, got, N);
	assert_memory_equal(got, data, N);
	console_stop(&c);
	close(p[0]);
	free(data);
	free(got);
}

static void test_console_stop_while_reading(void **state)
{
	struct fixture *f = *state;
	struct console c;
	u64 t0;
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(console_start_fd(&c, p[0], &f->u, NULL), 0);
	usleep(50000);		/* let it block in poll */
	t0 = now_ms(CLOCK_MONOTONIC);
	console_stop(&c);
	assert_true(now_ms(CLOCK_MONOTONIC) - t0 < 1000);
	assert_false(c.running);
	console_stop(&c);	/* twice is harmless */
	close(p[0]);
	close(p[1]);
}

static void test_console_devnull_and_closed(void **state)
{
	struct fixture *f = *state;
	struct console c;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(console_start_fd(&c, fd, &f->u, NULL), 0);
	assert_false(c.running);
	console_stop(&c);
	close(fd);
	/* A closed descriptor: no thread either. */
	assert_int_equal(console_start_fd(&c, fd, &f->u, NULL), 0);
	assert_false(c.running);
	console_stop(&c);
}

static void test_console_tty_escapes(void **state)
{
	struct fixture *f = *state;
	struct exit_rec er = { .why = VM_EXIT_NONE };
	struct vm_control ctl = { rec_exit, &er };
	enum vm_exit_reason why;
	struct termios t;
	struct console c;
	int master, slave, i;
	u8 buf[8];

	pthread_mutex_init(&er.lock, NULL);
	slave = open_pty(&master);
	assert_int_equal(tcgetattr(slave, &t), 0);
	assert_true(t.c_lflag & ICANON);

	out8(f, FCR, 0x01);
	assert_int_equal(console_start_fd(&c, slave, &f->u, &ctl), 0);
	assert_true(c.running);
	assert_true(c.raw);
	assert_int_equal(tcgetattr(slave, &t), 0);
	assert_false(t.c_lflag & (ICANON | ECHO | ISIG));
	assert_true(t.c_oflag & OPOST);

	/* Ctrl-C reaches the guest; Ctrl-A Ctrl-A is one Ctrl-A; Ctrl-A z
	 * passes both through. */
	assert_int_equal(write(master, "a\x03\x01\x01" "b\x01z", 7), 7);
	guest_read(f, buf, 6);
	assert_memory_equal(buf, "a\x03\x01" "b\x01z", 6);
	assert_int_equal(exit_calls(&er, &why), 0);

	assert_int_equal(write(master, "\x01x", 2), 2);
	for (i = 0; i < 5000 && !exit_calls(&er, &why); i++)
		usleep(1000);
	assert_int_equal(exit_calls(&er, &why), 1);
	assert_int_equal(why, VM_EXIT_USER);
	assert_int_equal(in8(f, LSR) & 0x01, 0);	/* nothing typed */

	console_stop(&c);
	assert_int_equal(tcgetattr(slave, &t), 0);
	assert_true(t.c_lflag & ICANON);
	assert_true(t.c_lflag & ECHO);
	close(slave);
	close(master);
	pthread_mutex_destroy(&er.lock);
}

/* Ctrl-A x must work even when the guest never reads its serial port. */
static void test_console_tty_quit_when_guest_deaf(void **state)
{
	struct fixture *f = *state;
	struct exit_rec er = { .why = VM_EXIT_NONE };
	struct vm_control ctl = { rec_exit, &er };
	enum vm_exit_reason why;
	struct console c;
	char junk[1024];
	int master, slave, i;

	pthread_mutex_init(&er.lock, NULL);
	memset(junk, 'k', sizeof(junk));
	slave = open_pty(&master);
	assert_int_equal(console_start_fd(&c, slave, &f->u, &ctl), 0);
	/* Far more than the UART and the console buffer hold together. */
	for (i = 0; i < 8; i++)
		assert_int_equal(write(master, junk, sizeof(junk)),
				 sizeof(junk));
	assert_int_equal(write(master, "\x01x", 2), 2);
	for (i = 0; i < 5000 && !exit_calls(&er, &why); i++)
		usleep(1000);
	assert_int_equal(exit_calls(&er, &why), 1);
	assert_int_equal(why, VM_EXIT_USER);
	assert_int_equal(host_queued(&f->u), UART_HOST_BUF);
	console_stop(&c);
	close(slave);
	close(master);
	pthread_mutex_destroy(&er.lock);
}

/*
 * A paused UART turns the console's bytes away; at resume it tells the
 * console, which offers them again: nothing is lost and nothing spins.
 */
static void test_console_across_pause(void **state)
{
	struct fixture *f = *state;
	struct console c;
	u64 cpu0, cpu1;
	int p[2];
	u8 buf[8];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	out8(f, FCR, 0x01);
	assert_int_equal(console_start_fd(&c, p[0], &f->u, NULL), 0);
	dm_pause(&f->dm);
	assert_int_equal(write(p[1], "paused!\n", 8), 8);
	cpu0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
	usleep(200000);
	cpu1 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
	assert_true(cpu1 - cpu0 < 100);
	assert_int_equal(in8(f, LSR) & 0x01, 0);	/* nothing came in */
	assert_int_equal(host_queued(&f->u), 0);
	dm_resume(&f->dm);
	guest_read(f, buf, 8);
	assert_memory_equal(buf, "paused!\n", 8);
	console_stop(&c);
	close(p[0]);
	close(p[1]);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_console_pipe),
		T(test_console_backpressure),
		T(test_console_stop_while_reading),
		T(test_console_devnull_and_closed),
		T(test_console_tty_escapes),
		T(test_console_tty_quit_when_guest_deaf),
		T(test_console_across_pause),
	};

	return cmocka_run_group_tests_name("uart_console", tests, NULL, NULL);
}
