// SPDX-License-Identifier: GPL-2.0
/*
 * 16550A UART, as a PC wires it at COM1.
 *
 * Emulated: all eight registers (RBR/THR, IER, IIR/FCR, LCR, MCR, LSR, MSR,
 * SCR) and the divisor latch behind LCR.DLAB; the 16-byte receive FIFO with
 * its trigger levels; interrupt identification with the chip's priorities
 * (line status > received data / character timeout > THR empty > modem
 * status); loopback mode with the modem-control outputs folded back onto
 * the modem-status inputs; and the PC's OUT2 gate on the interrupt line.
 * Linux's 8250 driver probes this as a "16550A".
 *
 * Not emulated: timing. Transmission is instant, so THRE and TEMT are
 * always set and writes to THR go straight to the output fd; the baud
 * divisor is stored but changes nothing. Because no receive clock runs,
 * data sitting below the FIFO trigger level reports the character-timeout
 * interrupt at once instead of after four character times. Parity, framing
 * and break errors never happen; overrun happens only in loopback (the
 * host side is flow-controlled instead, see uart_input). Outside loopback
 * the modem inputs read as a connected line: CTS, DSR and DCD set, RI clear.
 *
 * Host input lands in a larger host-side buffer that refills the FIFO as
 * the guest reads it: the buffer stands for the wire, so clearing the FIFO
 * drops at most the 16 bytes that had reached the chip, as on hardware.
 *
 * Output never waits for the host: a vCPU writes straight to the output
 * fd when nothing is queued and the fd takes the bytes without blocking
 * (see out_choose for how the fd is made non-blocking); otherwise the
 * bytes go into a bounded ring (UART_OUT_BUF) that a drain thread
 * ("uart-out") writes out as the host side takes it. What does not fit
 * is dropped and counted; -v prints the counts at exit. A stopped
 * terminal or a full pipe thus costs the guest output, never a vCPU.
 *
 * Locking: one mutex guards the registers; vCPUs and the console thread
 * take it. Output is handled under a second one (out_lock), taken before
 * the first is dropped so bytes leave in the order the guest wrote them;
 * nobody holds it across anything that can block.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#include "lib/layout.h"
#include "vmm/devices/uart.h"

/* Register offsets from the base port. */
#define REG_RBR		0	/* read, DLAB=0; THR on write; DLL with DLAB */
#define REG_IER		1	/* DLM with DLAB */
#define REG_IIR		2	/* read; FCR on write */
#define REG_LCR		3
#define REG_MCR		4
#define REG_LSR		5
#define REG_MSR		6
#define REG_SCR		7

#define IER_RDA		0x01	/* received data available */
#define IER_THR		0x02	/* THR empty */
#define IER_RLS		0x04	/* receiver line status */
#define IER_MSR		0x08	/* modem status */
#define IER_MASK	0x0f	/* bits 7:4 read as zero on a 16550A */

#define IIR_NONE	0x01
#define IIR_MSR		0x00
#define IIR_THR		0x02
#define IIR_RDA		0x04
#define IIR_RLS		0x06
#define IIR_TIMEOUT	0x0c
#define IIR_FIFO_ON	0xc0

#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02
#define FCR_CLEAR_TX	0x04
#define FCR_DMA		0x08
#define FCR_TRIGGER	0xc0
#define FCR_KEPT	(FCR_ENABLE | FCR_DMA | FCR_TRIGGER)

#define LCR_DLAB	0x80

#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08	/* gates the IRQ onto the ISA bus on a PC */
#define MCR_LOOP	0x10
#define MCR_MASK	0x1f

#define LSR_DR		0x01
#define LSR_OE		0x02
#define LSR_PE		0x04
#define LSR_FE		0x08
#define LSR_BI		0x10
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define LSR_ERRORS	(LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS	0x01
#define MSR_DDSR	0x02
#define MSR_TERI	0x04
#define MSR_DDCD	0x08
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

#define UART_MAX_ACCESS	8	/* bus.h: len is at most 8 */

static unsigned int rx_capacity(const struct uart *u)
{
	return u->fcr & FCR_ENABLE ? UART_FIFO_LEN : 1;
}

static unsigned int rx_trigger(const struct uart *u)
{
	static const u8 level[] = { 1, 4, 8, 14 };

	return level[u->fcr >> 6];
}

/* False (and OE latched) when the FIFO is full: the byte is lost. */
static bool rx_push(struct uart *u, u8 b)
{
	if (u->rx_cnt >= rx_capacity(u)) {
		u->lsr_err |= LSR_OE;
		return false;
	}
	u->rx[(u->rx_head + u->rx_cnt) % UART_FIFO_LEN] = b;
	u->rx_cnt++;
	return true;
}

static u8 rx_pop(struct uart *u)
{
	u8 b;

	if (!u->rx_cnt)
		return 0;
	b = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART_FIFO_LEN;
	u->rx_cnt--;
	return b;
}

static void rx_clear(struct uart *u)
{
	u->rx_head = u->rx_cnt = 0;
}

/*
 * Move host bytes into the FIFO while it has room. In loopback the serial
 * input is disconnected, so host bytes wait. Tells the console when room
 * appears after it was turned away.
 */
static void host_refill(struct uart *u)
{
	bool moved = false;

	if (u->mcr & MCR_LOOP)
		return;
	while (u->host_cnt && u->rx_cnt < rx_capacity(u)) {
		rx_push(u, u->host[u->host_head]);
		u->host_head = (u->host_head + 1) % UART_HOST_BUF;
		u->host_cnt--;
		moved = true;
	}
	if (moved && u->host_full) {
		u->host_full = false;
		if (u->rx_notify)
			u->rx_notify(u->rx_notify_opaque);
	}
}

/* The modem-status inputs: a connected line, or the MCR looped back. */
static u8 msr_lines(const struct uart *u)
{
	u8 m = 0;

	if (!(u->mcr & MCR_LOOP))
		return MSR_CTS | MSR_DSR | MSR_DCD;
	if (u->mcr & MCR_RTS)
		m |= MSR_CTS;
	if (u->mcr & MCR_DTR)
		m |= MSR_DSR;
	if (u->mcr & MCR_OUT1)
		m |= MSR_RI;
	if (u->mcr & MCR_OUT2)
		m |= MSR_DCD;
	return m;
}

/* Interrupt identification, highest priority first; IIR_NONE when idle. */
static u8 iir_id(const struct uart *u)
{
	if ((u->ier & IER_RLS) && (u->lsr_err & LSR_ERRORS))
		return IIR_RLS;
	if ((u->ier & IER_RDA) && u->rx_cnt) {
		if (!(u->fcr & FCR_ENABLE) || u->rx_cnt >= rx_trigger(u))
			return IIR_RDA;
		return IIR_TIMEOUT;
	}
	if ((u->ier & IER_THR) && u->thr_int)
		return IIR_THR;
	if ((u->ier & IER_MSR) && u->msr_delta)
		return IIR_MSR;
	return IIR_NONE;
}

/*
 * Level-triggered: the line follows "an enabled condition is pending". As
 * on a PC, OUT2 must be set for it to leave the card, and loopback forces
 * OUT2's pin inactive.
 */
static void update_irq(struct uart *u)
{
	bool level = iir_id(u) != IIR_NONE && (u->mcr & MCR_OUT2) &&
		     !(u->mcr & MCR_LOOP);

	if (level != u->irq_level) {
		u->irq_level = level;
		irq_line_set(&u->irq, level);
	}
}

static void write_ier(struct uart *u, u8 v)
{
	v &= IER_MASK;
	/* Enabling the THRE interrupt while THR is empty fires it. */
	if ((v & IER_THR) && !(u->ier & IER_THR))
		u->thr_int = true;
	else if (!(v & IER_THR))
		u->thr_int = false;
	u->ier = v;
}

/* Bits other than FCR0 are only programmed when FCR0 is set in the write. */
static void write_fcr(struct uart *u, u8 v)
{
	if ((v ^ u->fcr) & FCR_ENABLE)
		rx_clear(u);	/* toggling FIFO mode empties the FIFOs */
	if (!(v & FCR_ENABLE)) {
		u->fcr = 0;
	} else {
		if (v & FCR_CLEAR_RX)
			rx_clear(u);
		/* FCR_CLEAR_TX: nothing is ever queued for transmission. */
		u->fcr = v & FCR_KEPT;
	}
	host_refill(u);
}

static void write_mcr(struct uart *u, u8 v)
{
	u8 before = msr_lines(u), after, changed;
	bool was_loop = u->mcr & MCR_LOOP;

	u->mcr = v & MCR_MASK;
	after = msr_lines(u);
	changed = before ^ after;
	if (changed & MSR_CTS)
		u->msr_delta |= MSR_DCTS;
	if (changed & MSR_DSR)
		u->msr_delta |= MSR_DDSR;
	if ((before & MSR_RI) && !(after & MSR_RI))
		u->msr_delta |= MSR_TERI;	/* trailing edge only */
	if (changed & MSR_DCD)
		u->msr_delta |= MSR_DDCD;
	if (was_loop && !(u->mcr & MCR_LOOP))
		host_refill(u);
}

/* A byte written to THR: true when it must go out on the host fd. */
static bool transmit(struct uart *u, u8 b)
{
	u->thr_int = true;	/* sent at once, so THR is empty again */
	if (u->mcr & MCR_LOOP) {
		rx_push(u, b);
		return false;
	}
	return true;
}

/* One register write; true when the byte is output for the host. */
static bool write_reg(struct uart *u, unsigned int reg, u8 v)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (reg) {
	case REG_RBR:
		if (dlab) {
			u->dll = v;
			return false;
		}
		return transmit(u, v);
	case REG_IER:
		if (dlab)
			u->dlm = v;
		else
			write_ier(u, v);
		break;
	case REG_IIR:
		write_fcr(u, v);
		break;
	case REG_LCR:
		u->lcr = v;
		break;
	case REG_MCR:
		write_mcr(u, v);
		break;
	case REG_SCR:
		u->scr = v;
		break;
	default:	/* LSR, MSR: read-only (factory test on the chip) */
		if (dev_ratelimit_ok(&u->rl, LOG_DEBUG))
			pr_debug("uart: write 0x%02x to read-only register %u ignored",
				 v, reg);
		break;
	}
	return false;
}

static u8 read_reg(struct uart *u, unsigned int reg)
{
	bool dlab = u->lcr & LCR_DLAB;
	u8 v;

	switch (reg) {
	case REG_RBR:
		if (dlab)
			return u->dll;
		v = rx_pop(u);
		host_refill(u);
		return v;
	case REG_IER:
		return dlab ? u->dlm : u->ier;
	case REG_IIR:
		v = iir_id(u);
		if (v == IIR_THR)
			u->thr_int = false;	/* reading IIR acknowledges it */
		return v | (u->fcr & FCR_ENABLE ? IIR_FIFO_ON : 0);
	case REG_LCR:
		return u->lcr;
	case REG_MCR:
		return u->mcr;
	case REG_LSR:
		v = u->lsr_err | LSR_THRE | LSR_TEMT | (u->rx_cnt ? LSR_DR : 0);
		u->lsr_err = 0;
		return v;
	case REG_MSR:
		v = msr_lines(u) | u->msr_delta;
		u->msr_delta = 0;
		return v;
	default:
		return u->scr;
	}
}

static void uart_pio_read(void *opaque, u64 off, u8 *data, u32 len)
{
	struct uart *u = opaque;
	u32 i;

	/* A wide access is split into byte cycles, as the ISA bridge does. */
	pthread_mutex_lock(&u->lock);
	for (i = 0; i < len; i++)
		data[i] = off + i < UART_NR_PORTS ? read_reg(u, off + i) : 0xff;
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

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
static void emit(struct uart *u, const u8 *buf, size_t n)
{
	ssize_t r = 0;

	if (u->out_broken || u->out_fd < 0) {
		u->out_dropped += u->out_fd < 0 ? 0 : n;
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
 * The drain thread's poll() timeout, out_lock held: none until out_exit
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

	/* Cancelled (out_exit) only where it may block, never holding out_lock. */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
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

static void uart_pio_write(void *opaque, u64 off, const u8 *data, u32 len)
{
	struct uart *u = opaque;
	u8 out[UART_MAX_ACCESS];
	size_t nout = 0;
	u32 i;

	pthread_mutex_lock(&u->lock);
	for (i = 0; i < len && i < UART_MAX_ACCESS; i++)
		if (off + i < UART_NR_PORTS && write_reg(u, off + i, data[i]))
			out[nout++] = data[i];
	update_irq(u);
	if (!nout) {
		pthread_mutex_unlock(&u->lock);
		return;
	}
	/* Hand over to out_lock first so output keeps the guest's order. */
	pthread_mutex_lock(&u->out_lock);
	pthread_mutex_unlock(&u->lock);
	emit(u, out, nout);
	pthread_mutex_unlock(&u->out_lock);
}

static const struct bus_ops uart_ops = {
	.read = uart_pio_read,
	.write = uart_pio_write,
};

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

static int out_init(struct uart *u, int out_fd)
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
static void out_exit(struct uart *u)
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
	if (u->out_own)
		close(u->out_wfd);
	u->out_own = false;
	if (u->out_wake >= 0)
		close(u->out_wake);
	u->out_wake = -1;
	free(u->obuf);
	u->obuf = NULL;
}

int uart_init(struct uart *u, const struct irq_line *irq, int out_fd)
{
	int err;

	memset(u, 0, sizeof(*u));
	if (irq)
		u->irq = *irq;
	u->dll = 12;		/* 9600 baud from the PC's 1.8432 MHz clock */
	err = pthread_mutex_init(&u->lock, NULL);
	if (err)
		return -err;
	err = pthread_mutex_init(&u->out_lock, NULL);
	if (err)
		goto destroy_lock;
	err = -out_init(u, out_fd);
	if (err)
		goto out_exit;
	return 0;

out_exit:
	out_exit(u);
	pthread_mutex_destroy(&u->out_lock);
destroy_lock:
	pthread_mutex_destroy(&u->lock);
	return -err;
}

void uart_destroy(struct uart *u)
{
	out_exit(u);
	pthread_mutex_destroy(&u->out_lock);
	pthread_mutex_destroy(&u->lock);
}

int uart_register(struct uart *u, struct bus *pio)
{
	return bus_register(pio, COM1_PORT, UART_NR_PORTS, "uart", &uart_ops, u);
}

int uart_input(struct uart *u, const u8 *buf, size_t n)
{
	bool loop;
	size_t i;

	if (n > INT_MAX)
		n = INT_MAX;
	pthread_mutex_lock(&u->lock);
	loop = u->mcr & MCR_LOOP;
	for (i = 0; i < n; i++) {
		/* Straight into the FIFO while nothing is queued before it. */
		if (!u->host_cnt && !loop && u->rx_cnt < rx_capacity(u)) {
			rx_push(u, buf[i]);
		} else if (u->host_cnt < UART_HOST_BUF) {
			u->host[(u->host_head + u->host_cnt) % UART_HOST_BUF] =
				buf[i];
			u->host_cnt++;
		} else {
			u->host_full = true;
			break;
		}
	}
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return (int)i;
}

void uart_set_rx_notify(struct uart *u, void (*fn)(void *opaque), void *opaque)
{
	pthread_mutex_lock(&u->lock);
	u->rx_notify = fn;
	u->rx_notify_opaque = opaque;
	pthread_mutex_unlock(&u->lock);
}
