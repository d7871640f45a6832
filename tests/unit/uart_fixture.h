/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fixture of the UART tests (test_uart*.c; include after cmocka.h):
 * COM1 created into a device manager on a real port-I/O bus, its line
 * recorded, its output on a pipe the test reads.
 */
#ifndef SMPVISOR_TEST_UART_FIXTURE_H
#define SMPVISOR_TEST_UART_FIXTURE_H

#include <fcntl.h>
#include <unistd.h>

#include "dev_test.h"
#include "lib/layout.h"
#include "vmm/devices/uart.h"

#define RBR	(COM1_PORT + 0)
#define IER	(COM1_PORT + 1)
#define IIR	(COM1_PORT + 2)
#define FCR	(COM1_PORT + 2)
#define LCR	(COM1_PORT + 3)
#define MCR	(COM1_PORT + 4)
#define LSR	(COM1_PORT + 5)
#define MSR	(COM1_PORT + 6)
#define SCR	(COM1_PORT + 7)

struct fixture {
	struct bus pio;
	struct device_manager dm;
	struct uart u;
	struct irq_rec rec;
	int out[2];		/* pipe: out[1] is the UART's fd */
	int notified;
};

static inline int irq_level(struct fixture *f)
{
	return irq_rec_level(&f->rec);
}

static inline int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct irq_line irq;

	assert_non_null(f);
	irq = irq_rec_init(&f->rec, COM1_IRQ);
	assert_int_equal(pipe2(f->out, O_CLOEXEC), 0);
	assert_int_equal(fcntl(f->out[0], F_SETFL, O_NONBLOCK), 0);
	bus_init(&f->pio, "pio");
	dm_init(&f->dm, NULL, NULL, &f->pio, NULL);
	assert_int_equal(uart_init(&f->u, &f->dm, &irq, f->out[1]), 0);
	bus_seal(&f->pio);
	*state = f;
	return 0;
}

static inline int teardown(void **state)
{
	struct fixture *f = *state;

	dm_destroy(&f->dm);
	bus_free(&f->pio);
	close(f->out[0]);
	close(f->out[1]);
	pthread_mutex_destroy(&f->rec.lock);
	free(f);
	return 0;
}

/* Bytes the UART wrote so far (the read end is non-blocking). */
static inline size_t drain_output(struct fixture *f, char *buf, size_t cap)
{
	ssize_t n = read(f->out[0], buf, cap);

	return n > 0 ? (size_t)n : 0;
}

#endif
