/* SPDX-License-Identifier: GPL-2.0 */
/*
 * 16550A UART at COM1 (see vmm/devices/serial/uart16550.c for what is
 * emulated), a device of the device manager ("com1"). Output goes to a
 * host fd (uart_out.c); input comes from uart_input, which the console
 * thread calls.
 */
#ifndef SMPVISOR_UART_H
#define SMPVISOR_UART_H

#include <pthread.h>

#include "lib/bus.h"
#include "lib/termfilter.h"
#include "lib/util.h"
#include "vmm/devices/devices.h"

#define UART_NR_PORTS	8
#define UART_FIFO_LEN	16		/* as the real chip */
#define UART_HOST_BUF	4096		/* host side, refills the FIFO */
#define UART_OUT_BUF	65536		/* output the host has not taken yet */
#define UART_EXIT_FLUSH_MS 500		/* for what is queued at exit */
#define UART_FILTER_CHUNK 64		/* bytes filtered at a time, on the stack */

/* How output reaches the host without blocking a vCPU (uart_out.c). */
enum uart_out_mode {
	UART_OUT_DIRECT,	/* write(): a file, or a non-blocking fd */
	UART_OUT_SOCKET,	/* send(MSG_DONTWAIT) */
	UART_OUT_BLOCKING,	/* only the drain thread writes */
};

struct device_manager;

struct uart {
	struct device dev;		/* "com1", kind "uart16550" */
	pthread_mutex_t lock;		/* the registers and input */
	struct irq_line irq;

	/* Output (out_lock; the fds and mode are fixed at init). */
	pthread_mutex_t out_lock;
	int out_fd;		/* as given */
	int out_wfd;		/* what we write to: out_fd or our reopen */
	bool out_own;		/* out_wfd is ours to close */
	enum uart_out_mode out_mode;
	u8 *obuf;		/* UART_OUT_BUF ring */
	size_t o_head, o_cnt;
	bool o_busy;		/* the drain thread is writing from it */
	bool o_kicked;		/* out_wake was written since it last slept */
	bool o_stop;
	u64 o_deadline;		/* with o_stop: now_ns() when the drain thread quits */
	int out_wake;		/* eventfd: work for the drain thread */
	pthread_t o_thread;
	bool o_thread_ok;
	u64 out_bytes, out_dropped;	/* stats */
	bool out_broken;	/* out_fd failed once: drop output */
	bool out_filter;	/* out_fd is a terminal: output goes through tf */
	struct termfilter tf;

	u8 ier, lcr, mcr, scr, dll, dlm;
	u8 fcr;			/* FIFO enable, DMA mode, trigger bits */
	u8 lsr_err;		/* latched OE (and friends), cleared by LSR read */
	u8 msr_delta;		/* MSR bits 3:0, cleared by MSR read */
	bool thr_int;		/* THR-empty interrupt latched */
	bool irq_level;		/* last level sent to irq */
	bool paused;		/* the line holds still, input waits */

	u8 rx[UART_FIFO_LEN];	/* the chip's receive FIFO */
	unsigned int rx_head, rx_cnt;

	u8 host[UART_HOST_BUF];	/* bytes from the host not yet in rx */
	size_t host_head, host_cnt;
	bool host_full;		/* uart_input could not take everything */
	void (*rx_notify)(void *opaque);
	void *rx_notify_opaque;

	struct dev_ratelimit rl;
};

/*
 * Set up COM1 and add it to dm, which owns it from then on (its destroy
 * op stops the output thread and flushes): claims COM1_PORT..+7 on dm's
 * port-I/O bus. irq may be NULL (no interrupt line); out_fd < 0 drops
 * output. 0 or -errno, with nothing left to undo but a claimed range of
 * the (unsealed) bus.
 */
int uart_init(struct uart *u, struct device_manager *dm,
	      const struct irq_line *irq, int out_fd);

/*
 * Feed bytes typed by the host user; returns how many were accepted (0 when
 * the host buffer is full or the UART is paused; never negative). Safe from
 * any thread.
 */
int uart_input(struct uart *u, const u8 *buf, size_t n);

/*
 * fn is called, with the UART lock held, when the guest has made room (or
 * the UART resumed) after uart_input accepted fewer bytes than offered.
 * It must be quick and must not call back into the UART (writing an
 * eventfd is the intended use). Pass NULL to remove.
 */
void uart_set_rx_notify(struct uart *u, void (*fn)(void *opaque), void *opaque);

/* The output path (uart_out.c), for uart16550.c only; emit with out_lock held. */
int uart_out_init(struct uart *u, int out_fd);
void uart_out_exit(struct uart *u);
void uart_out_emit(struct uart *u, const u8 *buf, size_t n);

#endif
