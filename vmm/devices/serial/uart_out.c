// SPDX-License-Identifier: GPL-2.0
/*
 * The 16550A's output path (uart16550.c has the chip): guest bytes to the
 * host fd, never waiting for the host.
 *
 * A vCPU writes straight to the output fd when nothing is queued and the
 * fd takes the bytes without blocking (see out_choose for how the fd is
 * made non-blocking); otherwise the bytes go into a bounded ring
 * (UART_OUT_BUF) that a drain thread ("uart-out") writes out as the host
 * side takes it. What does not fit is dropped and counted; -v prints the
 * counts at exit. A stopped terminal or a full pipe thus costs the guest
 * output, never a vCPU.
 *
 * On a terminal the bytes first go through lib/termfilter.c, which keeps
 * what draws and drops what would make the terminal act (clipboard
 * writes, answers on its input, mode changes): see termfilter.h. A file,
 * pipe or socket gets every byte.
 *
 * Locking: everything here runs under the UART's out_lock, which a vCPU
 * takes before it drops the register lock, so bytes leave in the order
 * the guest wrote them; nobody holds it across anything that can block.
 * The output path is configuration and host plumbing, not chip state: a
 * reset, pause or load leaves it alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/sandbox.h"
#include "vmm/devices/uart.h"
/*
 * One non-blocking write of n bytes from buf to the host: the count
 * written, 0 when the fd is full (or the mode leaves writing to the
 * drain thread), -errno on failure.
 */
static ssize_t out_write(struct uart *u, const u8 *buf, size_t n, bool drainer)
{
	ssize_t r;

	do {
		if (u->out_mode == UART_OUT_SOCKET)
			r = send(u->out_wfd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		else if (u->out_mode == UART_OUT_BLOCKING && !drainer)
			return 0;	/* only the drain thread may block */
		else
			r = write(u->out_wfd, buf, n);
	} while (r < 0 && errno == EINTR);
	if (r < 0 && errno == EAGAIN)
		return 0;
	if (r == 0 && n)
		r = -EIO;
	return r < 0 ? -errno : r;
}

/* The output fd failed: say so once, drop everything from now on. */
static void out_fail(struct uart *u, int err)
{
	if (!u->out_broken)
		pr_warn("uart: output failed (%s); dropping guest output",
			strerror(-err));
	u->out_broken = true;
	u->out_dropped += u->o_cnt;
	u->o_cnt = 0;
}

/* Queue what cannot go out now; drop (and count) what does not fit. */
static void out_queue(struct uart *u, const u8 *buf, size_t n)
{
	size_t room = UART_OUT_BUF - u->o_cnt, i;

	if (n > room) {
		u->out_dropped += n - room;
		n = room;
	}
	for (i = 0; i < n; i++)
		u->obuf[(u->o_head + u->o_cnt + i) % UART_OUT_BUF] = buf[i];
	u->o_cnt += n;
	if (n && !u->o_kicked) {
		u64 one = 1;

		u->o_kicked = true;
		if (write(u->out_wake, &one, sizeof(one)) < 0)
			u->o_kicked = false;
	}
}

/*
 * Output from a vCPU, out_lock held: straight to the fd when nothing is
 * queued before it and the fd takes it without blocking, else into the
 * ring for the drain thread. Never waits for the host side.
 */
static void out_emit(struct uart *u, const u8 *buf, size_t n)
{
	ssize_t r = 0;

	if (u->out_broken) {
		u->out_dropped += n;
		return;
	}
	if (!u->o_cnt && !u->o_busy) {
		r = out_write(u, buf, n, false);
		if (r < 0) {
			out_fail(u, (int)r);
			u->out_dropped += n;
			return;
		}
		u->out_bytes += (u64)r;
	}
	out_queue(u, buf + r, n - (size_t)r);
}

/*
 * Output from the guest, out_lock held (which also keeps the filter's
 * state): through the terminal filter first when the output is a
 * terminal, so the ring and the fd only ever see what may pass. A vCPU
 * hands over a few bytes at a time; longer runs go in pieces.
 */
void uart_out_emit(struct uart *u, const u8 *buf, size_t n)
{
	u8 safe[TERMFILTER_OUT_MAX(UART_FILTER_CHUNK)];
	size_t k, w;

	if (u->out_fd < 0)
		return;
	if (!u->out_filter) {
		out_emit(u, buf, n);
		return;
	}
	for (; n; buf += k, n -= k) {
		k = MIN(n, UART_FILTER_CHUNK);
		w = termfilter_run(&u->tf, buf, k, safe);
		if (w)		/* all held or dropped: nothing to write */
			out_emit(u, safe, w);
	}
}

/*
 * The drain thread's poll() timeout, out_lock held: none until uart_out_exit
 * stops it, then what is left of the exit flush (0: it is over).
 */
static int drain_wait_ms(const struct uart *u)
{
	u64 now;

	if (!u->o_stop)
		return -1;
	now = now_ns();
	if (now >= u->o_deadline)
		return 0;
	return (int)((u->o_deadline - now + 999999) / 1000000);
}

/*
 * The drain thread: writes out what the vCPUs queued, without out_lock
 * held while it writes (the ring's used part is only ever appended to),
 * waiting for the fd with poll() unless it blocks in write() itself.
 * Once stopped it quits when the ring is empty or the exit flush is over.
 */
static void *drain_thread(void *arg)
{
	struct uart *u = arg;
	struct pollfd p[2] = {
		{ .fd = u->out_wake, .events = POLLIN },
		{ .fd = u->out_wfd, .events = POLLOUT },
	};
	ssize_t r;
	size_t n;
	u64 v;
	int wait;

	/* Cancelled (uart_out_exit) only where it may block, never holding out_lock. */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	sandbox_thread(SANDBOX_UART_OUT, "uart-out");
	pthread_mutex_lock(&u->out_lock);
	for (;;) {
		wait = drain_wait_ms(u);
		if (u->o_stop && (!u->o_cnt || u->out_broken || !wait))
			break;
		if (!u->o_cnt || u->out_broken) {
			u->o_kicked = false;
			pthread_mutex_unlock(&u->out_lock);
			poll(p, 1, wait);
			if (read(u->out_wake, &v, sizeof(v)) < 0)
				v = 0;
			pthread_mutex_lock(&u->out_lock);
			continue;
		}
		n = MIN(u->o_cnt, UART_OUT_BUF - u->o_head);
		u->o_busy = true;
		pthread_mutex_unlock(&u->out_lock);
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		r = out_write(u, u->obuf + u->o_head, n, true);
		if (!r) {	/* full: wait for room (or a stop) */
			poll(p, 2, wait);
			if (p[0].revents && read(u->out_wake, &v, sizeof(v)) < 0)
				v = 0;
		}
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		pthread_mutex_lock(&u->out_lock);
		u->o_busy = false;
		if (r < 0) {
			out_fail(u, (int)r);
		} else {
			u->o_head = (u->o_head + (size_t)r) % UART_OUT_BUF;
			u->o_cnt -= (size_t)r;
			u->out_bytes += (u64)r;
		}
	}
	pthread_mutex_unlock(&u->out_lock);
	return NULL;
}

/*
 * How to write to fd without ever blocking a vCPU: regular files and
 * fds already non-blocking as they are; a socket with MSG_DONTWAIT; a
 * pipe, FIFO or terminal through a non-blocking open file description of
 * our own (/proc/self/fd/N: O_NONBLOCK on the shared one would change
 * the shell's too). Failing all that, only the drain thread writes.
 */
static void out_choose(struct uart *u, int fd)
{
	char path[32];
	struct stat st;
	int fl = fcntl(fd, F_GETFL);

	u->out_wfd = fd;
	u->out_mode = UART_OUT_DIRECT;
	if (fstat(fd, &st) || fl < 0)
		return;		/* out_write will fail and say so */
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || (fl & O_NONBLOCK))
		return;
	if (S_ISSOCK(st.st_mode)) {
		u->out_mode = UART_OUT_SOCKET;
		return;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	u->out_wfd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (u->out_wfd >= 0) {
		u->out_own = true;
		return;
	}
	u->out_wfd = fd;
	u->out_mode = UART_OUT_BLOCKING;
}

int uart_out_init(struct uart *u, int out_fd)
{
	sigset_t all, old;
	int err;

	u->out_fd = out_fd;
	u->out_wake = -1;
	u->out_wfd = -1;
	if (out_fd < 0)
		return 0;
	u->obuf = malloc(UART_OUT_BUF);
	if (!u->obuf)
		return -ENOMEM;
	u->out_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (u->out_wake < 0)
		return -errno;
	out_choose(u, out_fd);
	/* A file, pipe or socket keeps every byte, for logs; a terminal
	 * would obey them (termfilter.h). */
	u->out_filter = isatty(out_fd);
	termfilter_init(&u->tf);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&u->o_thread, NULL, drain_thread, u);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return -err;
	u->o_thread_ok = true;
	pthread_setname_np(u->o_thread, "uart-out");
	return 0;
}

/*
 * Stop the drain thread: what is queued gets UART_EXIT_FLUSH_MS to go
 * out, then the thread quits by itself. Only one blocked in write()
 * (UART_OUT_BLOCKING, a stopped terminal) is cancelled, 100 ms later:
 * ASan keeps a cancelled thread's stack poisoned and reports its exit.
 */
void uart_out_exit(struct uart *u)
{
	struct timespec ts;
	u64 one = 1;

	if (u->o_thread_ok) {
		pthread_mutex_lock(&u->out_lock);
		u->o_stop = true;
		u->o_deadline = now_ns() + UART_EXIT_FLUSH_MS * 1000000ULL;
		pthread_mutex_unlock(&u->out_lock);
		if (write(u->out_wake, &one, sizeof(one)) < 0)
			one = 0;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (UART_EXIT_FLUSH_MS % 1000 + 100) * 1000000L;
		ts.tv_sec += UART_EXIT_FLUSH_MS / 1000 + ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		if (pthread_timedjoin_np(u->o_thread, NULL, &ts)) {
			pthread_cancel(u->o_thread);
			pthread_join(u->o_thread, NULL);
		}
		u->o_thread_ok = false;
	}
	if (u->out_fd >= 0 && log_level >= LOG_INFO)
		pr_info("uart: %llu bytes of guest output written, %llu dropped (output too slow or failed), %zu unwritten at exit",
			(unsigned long long)u->out_bytes,
			(unsigned long long)u->out_dropped, u->o_cnt);
	if (u->out_filter && log_level >= LOG_INFO)
		pr_info("uart: output is a terminal: %llu bytes of control sequences filtered out",
			(unsigned long long)u->tf.dropped);
	if (u->out_own)
		close(u->out_wfd);
	u->out_own = false;
	if (u->out_wake >= 0)
		close(u->out_wake);
	u->out_wake = -1;
	free(u->obuf);
	u->obuf = NULL;
}

