// SPDX-License-Identifier: GPL-2.0
/*
 * Console input: one thread, named "console", reads the VMM's stdin and
 * hands the bytes to the UART with uart_input.
 *
 * The thread sleeps in poll() on three fds: the input, an eventfd that
 * console_stop signals (so stopping never waits for a key press), and an
 * eventfd the UART signals when the guest has drained its receive side
 * after uart_input turned bytes away. Bytes the UART could not take yet
 * wait in a small buffer; nothing ever spins.
 *
 * From a pipe or file the input is exact: when that buffer is full the
 * thread stops reading, so the writer is held back instead of losing
 * bytes. From a terminal the thread keeps reading so that Ctrl-A x works
 * even when the guest ignores its serial port; keys that find the buffer
 * full are dropped, as a real line would overrun.
 *
 * Raw mode: input processing is switched off (no echo, no line editing,
 * Ctrl-C goes to the guest) but output processing stays on, so the VMM's
 * own messages on the same terminal keep their line breaks. The saved
 * settings are put back by console_stop, by an atexit handler registered
 * on first use, and by console_restore_tty, which is async-signal-safe for
 * the machine's fatal-signal handlers.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "lib/sandbox.h"
#include "vmm/console.h"

/* The terminal we changed: one per process, like stdin. */
static struct termios saved_tio;
static int saved_fd = -1;
static volatile sig_atomic_t tty_raw;
static pthread_once_t atexit_once = PTHREAD_ONCE_INIT;

void console_restore_tty(void)
{
	if (tty_raw) {
		tcsetattr(saved_fd, TCSANOW, &saved_tio);
		tty_raw = 0;
	}
}

static void restore_at_exit(void)
{
	console_restore_tty();
}

static void register_atexit(void)
{
	if (atexit(restore_at_exit))
		pr_warn("console: cannot register the terminal restore at exit");
}

static int make_raw(int fd)
{
	struct termios t;

	if (tty_raw)
		return -EBUSY;	/* another console owns the terminal */
	if (tcgetattr(fd, &saved_tio))
		return -errno;
	sandbox_set_terminal(fd, &saved_tio);
	t = saved_tio;
	t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
		       ICRNL | IXON);
	t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cflag &= ~(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	pthread_once(&atexit_once, register_atexit);
	saved_fd = fd;
	if (tcsetattr(fd, TCSANOW, &t))
		return -errno;
	tty_raw = 1;
	return 0;
}

/* Called by the UART, under its lock, when it has room again. */
static void space_notify(void *opaque)
{
	struct console *c = opaque;
	u64 one = 1;

	/* Cannot fail short of 2^64 - 1 pending wake-ups. */
	if (write(c->space_fd, &one, sizeof(one)) < 0)
		return;
}

static void drain_eventfd(int fd)
{
	u64 v;

	if (read(fd, &v, sizeof(v)) < 0)
		return;	/* EAGAIN: already drained */
}

static void append(struct console *c, u8 ch)
{
	if (c->pend_len < sizeof(c->pend)) {
		c->pend[c->pend_len++] = ch;
		return;
	}
	if (dev_ratelimit_ok(&c->rl, LOG_DEBUG))
		pr_debug("console: guest is not reading its serial port, key dropped");
}

static void help(void)
{
	static const char msg[] =
		"\r\nsmpvisor console: Ctrl-A x quit, Ctrl-A Ctrl-A send Ctrl-A, "
		"Ctrl-A h this help\r\n";

	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		return;
}

/* One key from the terminal, through the Ctrl-A escape. */
static void key(struct console *c, u8 ch)
{
	if (!c->escape) {
		if (ch == CONSOLE_ESCAPE)
			c->escape = true;
		else
			append(c, ch);
		return;
	}
	c->escape = false;
	switch (ch) {
	case 'x':
	case 'X':
		vm_control_exit(&c->ctl, VM_EXIT_USER);
		break;
	case CONSOLE_ESCAPE:
		append(c, CONSOLE_ESCAPE);
		break;
	case 'h':
	case 'H':
	case '?':
		help();
		break;
	default:	/* not a command: both keys go through */
		append(c, CONSOLE_ESCAPE);
		append(c, ch);
		break;
	}
}

static void read_input(struct console *c)
{
	u8 buf[256];
	size_t room = sizeof(buf);
	ssize_t n, i;

	if (!c->is_tty)
		room = MIN(room, sizeof(c->pend) - c->pend_len);
	n = read(c->in_fd, buf, room);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* EOF, or a hung-up terminal (EIO): no more input. */
		if (n < 0)
			pr_debug("console: input closed: %s", strerror(errno));
		c->eof = true;
		return;
	}
	if (!c->is_tty) {
		memcpy(c->pend + c->pend_len, buf, n);
		c->pend_len += n;
		return;
	}
	for (i = 0; i < n; i++)
		key(c, buf[i]);
}

static void flush(struct console *c)
{
	int n;

	if (!c->pend_len)
		return;
	n = uart_input(c->uart, c->pend, c->pend_len);
	c->pend_len -= n;
	memmove(c->pend, c->pend + n, c->pend_len);
}

static void *console_thread(void *arg)
{
	struct console *c = arg;

	sandbox_thread(SANDBOX_CONSOLE, "console");
	for (;;) {
		struct pollfd p[3];
		int n = 0, in = -1, space = -1;

		flush(c);
		if (c->eof && !c->pend_len)
			break;	/* everything delivered */
		p[n++] = (struct pollfd){ .fd = c->stop_fd, .events = POLLIN };
		if (c->pend_len) {
			space = n;
			p[n++] = (struct pollfd){ .fd = c->space_fd,
						  .events = POLLIN };
		}
		if (!c->eof && (c->is_tty || c->pend_len < sizeof(c->pend))) {
			in = n;
			p[n++] = (struct pollfd){ .fd = c->in_fd,
						  .events = POLLIN };
		}
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("console: poll: %s", strerror(errno));
			break;
		}
		if (p[0].revents)
			break;
		if (space >= 0 && p[space].revents)
			drain_eventfd(c->space_fd);
		if (in >= 0 && p[in].revents)
			read_input(c);
	}
	return NULL;
}

/* True when fd is worth a thread; sets is_tty. */
static bool usable_input(struct console *c, int fd)
{
	struct stat st;
	pid_t fg;

	if (fstat(fd, &st))
		return false;	/* closed */
	if (isatty(fd)) {
		/* Raw mode or reads from the background would stop us. */
		fg = tcgetpgrp(fd);
		if (fg >= 0 && fg != getpgrp()) {
			pr_info("console: terminal belongs to another process group; input off");
			return false;
		}
		c->is_tty = true;
		return true;
	}
	/* /dev/null and other devices give no typed input. */
	return S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode) ||
	       S_ISSOCK(st.st_mode);
}

static int spawn(struct console *c)
{
	sigset_t all, old;
	int err;

	/* Process signals belong to the machine's threads, not this one. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&c->thread, NULL, console_thread, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return -err;
	pthread_setname_np(c->thread, "console");
	c->running = true;
	return 0;
}

int console_start_fd(struct console *c, int in_fd, struct uart *u,
		     struct vm_control *ctl)
{
	int err;

	memset(c, 0, sizeof(*c));
	c->uart = u;
	c->in_fd = in_fd;
	c->stop_fd = c->space_fd = -1;
	if (ctl)
		c->ctl = *ctl;
	if (!usable_input(c, in_fd))
		return 0;

	c->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->stop_fd < 0)
		return -errno;
	c->space_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->space_fd < 0) {
		err = -errno;
		goto close_stop;
	}
	c->open = true;
	if (c->is_tty) {
		err = make_raw(in_fd);
		if (err)
			goto close_space;
		c->raw = true;
	}
	uart_set_rx_notify(u, space_notify, c);
	err = spawn(c);
	if (err)
		goto drop_notify;
	return 0;

drop_notify:
	uart_set_rx_notify(u, NULL, NULL);
	if (c->raw) {		/* undo raw mode */
		console_restore_tty();
		c->raw = false;
	}
close_space:
	close(c->space_fd);
	c->space_fd = -1;
close_stop:
	close(c->stop_fd);
	c->stop_fd = -1;
	c->open = false;
	return err;
}

int console_start(struct console *c, struct uart *u, struct vm_control *ctl)
{
	struct sigaction sa;

	if (!sigaction(SIGPIPE, NULL, &sa) && sa.sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigaction(SIGPIPE, &sa, NULL);
	}
	return console_start_fd(c, STDIN_FILENO, u, ctl);
}

void console_stop(struct console *c)
{
	u64 one = 1;

	if (c->running) {
		if (write(c->stop_fd, &one, sizeof(one)) < 0)
			pr_err("console: cannot signal the thread: %s",
			       strerror(errno));
		pthread_join(c->thread, NULL);
		c->running = false;
	}
	if (!c->open)
		return;
	uart_set_rx_notify(c->uart, NULL, NULL);
	if (c->raw) {
		console_restore_tty();
		c->raw = false;
	}
	close(c->space_fd);
	close(c->stop_fd);
	c->space_fd = c->stop_fd = -1;
	c->open = false;
}
