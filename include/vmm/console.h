/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host side of the guest's serial console: a thread that reads the
 * VMM's stdin and types it into the UART (vmm/console.c). Output needs no
 * thread: the UART writes it straight to its fd.
 */
#ifndef SMPVISOR_CONSOLE_H
#define SMPVISOR_CONSOLE_H

#include <pthread.h>

#include "lib/util.h"
#include "vmm/devices/devices.h"
#include "vmm/devices/uart.h"

#define CONSOLE_ESCAPE	0x01	/* Ctrl-A */
#define CONSOLE_PEND	1024

struct console {
	struct uart *uart;
	struct vm_control ctl;
	int in_fd;
	bool is_tty;
	bool open;		/* eventfds created */
	bool raw;		/* we put in_fd in raw mode */
	bool running;		/* thread started, not yet joined */
	int stop_fd;		/* eventfd: console_stop -> thread */
	int space_fd;		/* eventfd: UART has room again -> thread */
	pthread_t thread;

	/* Owned by the thread. */
	u8 pend[CONSOLE_PEND];	/* read from in_fd, not yet taken by the UART */
	size_t pend_len;
	bool escape;		/* the previous key was Ctrl-A */
	bool eof;
	struct dev_ratelimit rl;
};

/*
 * Start feeding stdin to u. A terminal is put in raw mode (Ctrl-A x quits
 * with VM_EXIT_USER, Ctrl-A Ctrl-A types a Ctrl-A, Ctrl-A h lists these);
 * a pipe or file is fed as is, with back-pressure, until EOF. /dev/null,
 * other devices, a closed stdin and a terminal owned by another process
 * group get no thread. Ignores SIGPIPE if it is at its default, so that a
 * closed stdout makes guest output fail instead of killing the VMM.
 * 0 or -errno; console_stop must be called either way.
 */
int console_start(struct console *c, struct uart *u, struct vm_control *ctl);
/* The same with any input fd (tests use pipes and ptys). */
int console_start_fd(struct console *c, int in_fd, struct uart *u,
		     struct vm_control *ctl);
/*
 * Stops and joins the thread (promptly, even mid-read), restores the tty.
 * Call it from the machine's own thread, never from inside request_exit
 * (the console thread itself may be the caller of that).
 */
void console_stop(struct console *c);

/*
 * Put the terminal back as it was before raw mode, if it is in raw mode.
 * Registered with atexit by console_start; async-signal-safe, so a fatal-
 * signal handler of the machine may call it too.
 */
void console_restore_tty(void);

#endif
