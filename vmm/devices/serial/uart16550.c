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
 * Output never waits for the host (uart_out.c): a full pipe or a stopped
 * terminal costs the guest output, never a vCPU.
 *
 * The device model (devices.h): reset is the power-on state (the output
 * path and the console hook are configuration and stay); while paused
 * the line is left where it was (resume sets it to what the registers
 * say) and uart_input turns host bytes away, to be offered again at
 * resume; save writes every register, the latches, the FIFO and the
 * wire's bytes (accepted from the host, so they are guest input in
 * flight), load checks each as untrusted and sets the line to the saved
 * level.
 *
 * Locking: one mutex guards the registers; vCPUs and the console thread
 * take it. Output is handled under a second one (out_lock), taken before
 * the first is dropped so bytes leave in the order the guest wrote them;
 * nobody holds it across anything that can block.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "lib/layout.h"
#include "vmm/device_manager.h"
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
#define UART_DLL_RESET	12	/* 9600 baud from the PC's 1.8432 MHz clock */

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
 * Tell the console there is room again after uart_input turned bytes
 * away; not while paused (resume does).
 */
static void host_notify(struct uart *u)
{
	if (!u->host_full || u->paused || u->host_cnt == UART_HOST_BUF)
		return;
	u->host_full = false;
	if (u->rx_notify)
		u->rx_notify(u->rx_notify_opaque);
}

/*
 * Move host bytes into the FIFO while it has room. In loopback the serial
 * input is disconnected, so host bytes wait.
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
	if (moved)
		host_notify(u);
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

static void line_set(struct uart *u, bool level)
{
	if (level != u->irq_level) {
		u->irq_level = level;
		irq_line_set(&u->irq, level);
	}
}

/*
 * Level-triggered: the line follows "an enabled condition is pending". As
 * on a PC, OUT2 must be set for it to leave the card, and loopback forces
 * OUT2's pin inactive. A paused UART leaves the line alone; resume calls
 * this again.
 */
static void update_irq(struct uart *u)
{
	if (u->paused)
		return;
	line_set(u, iir_id(u) != IIR_NONE && (u->mcr & MCR_OUT2) &&
		 !(u->mcr & MCR_LOOP));
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
	uart_out_emit(u, out, nout);
	pthread_mutex_unlock(&u->out_lock);
}

static const struct bus_ops uart_ops = {
	.read = uart_pio_read,
	.write = uart_pio_write,
};

/* --- the device model (devices.h) --- */

/* Power-on registers, an empty FIFO and an empty wire. */
static void regs_reset(struct uart *u)
{
	u->ier = u->lcr = u->mcr = u->scr = u->dlm = u->fcr = 0;
	u->dll = UART_DLL_RESET;
	u->lsr_err = u->msr_delta = 0;
	u->thr_int = false;
	rx_clear(u);
	u->host_head = u->host_cnt = 0;
}

static void uart_reset(struct device *d)
{
	struct uart *u = container_of(d, struct uart, dev);

	pthread_mutex_lock(&u->lock);
	regs_reset(u);
	line_set(u, false);	/* lowering it raises nothing: even paused */
	host_notify(u);
	pthread_mutex_unlock(&u->lock);
}

static void uart_pause(struct device *d)
{
	struct uart *u = container_of(d, struct uart, dev);

	pthread_mutex_lock(&u->lock);
	u->paused = true;
	pthread_mutex_unlock(&u->lock);
}

/* The line catches up with the registers; turned-away input is retried. */
static void uart_resume(struct device *d)
{
	struct uart *u = container_of(d, struct uart, dev);

	pthread_mutex_lock(&u->lock);
	u->paused = false;
	update_irq(u);
	host_notify(u);
	pthread_mutex_unlock(&u->lock);
}

/*
 * The registers under their own names, the latches, the level of the
 * line, and the FIFO ("rx") and the wire ("wire") oldest byte first.
 */
static int uart_save(struct device *d, struct state_writer *w)
{
	struct uart *u = container_of(d, struct uart, dev);
	u8 fifo[UART_FIFO_LEN], wire[UART_HOST_BUF];
	size_t i;

	pthread_mutex_lock(&u->lock);
	STATE_PUT(w, u, ier);
	STATE_PUT(w, u, lcr);
	STATE_PUT(w, u, mcr);
	STATE_PUT(w, u, scr);
	STATE_PUT(w, u, dll);
	STATE_PUT(w, u, dlm);
	STATE_PUT(w, u, fcr);
	STATE_PUT(w, u, lsr_err);
	STATE_PUT(w, u, msr_delta);
	state_put_bool(w, "thr_int", u->thr_int);
	state_put_bool(w, "irq_level", u->irq_level);
	for (i = 0; i < u->rx_cnt; i++)
		fifo[i] = u->rx[(u->rx_head + i) % UART_FIFO_LEN];
	state_put(w, "rx", fifo, u->rx_cnt);
	for (i = 0; i < u->host_cnt; i++)
		wire[i] = u->host[(u->host_head + i) % UART_HOST_BUF];
	state_put(w, "wire", wire, (u32)u->host_cnt);
	pthread_mutex_unlock(&u->lock);
	return w->err;
}

/* Values only a tampered stream holds (s: the saved registers). */
static int check_regs(struct state_reader *r, const struct uart *s)
{
	if (s->ier & ~IER_MASK)
		return state_refuse(r, "ier 0x%02x sets bits 7:4, which read as 0",
				    s->ier);
	if (s->mcr & ~MCR_MASK)
		return state_refuse(r, "mcr 0x%02x sets bits 7:5, which read as 0",
				    s->mcr);
	if ((s->fcr & ~FCR_KEPT) || (s->fcr && !(s->fcr & FCR_ENABLE)))
		return state_refuse(r, "fcr 0x%02x is no FIFO setting the chip keeps",
				    s->fcr);
	if (s->lsr_err & ~LSR_ERRORS)
		return state_refuse(r, "lsr_err 0x%02x latches more than OE, PE, FE and BI",
				    s->lsr_err);
	if (s->msr_delta & ~(MSR_DCTS | MSR_DDSR | MSR_TERI | MSR_DDCD))
		return state_refuse(r, "msr_delta 0x%02x has bits above the four deltas",
				    s->msr_delta);
	return 0;
}

static int uart_load(struct device *d, struct state_reader *r)
{
	struct uart *u = container_of(d, struct uart, dev);
	struct uart s;		/* the saved registers, taken once checked */
	const u8 *rx, *wire;
	u32 nrx, nwire;

	if (STATE_GET(r, &s, ier) || STATE_GET(r, &s, lcr) ||
	    STATE_GET(r, &s, mcr) || STATE_GET(r, &s, scr) ||
	    STATE_GET(r, &s, dll) || STATE_GET(r, &s, dlm) ||
	    STATE_GET(r, &s, fcr) || STATE_GET(r, &s, lsr_err) ||
	    STATE_GET(r, &s, msr_delta) ||
	    state_get_bool(r, "thr_int", &s.thr_int) ||
	    state_get_bool(r, "irq_level", &s.irq_level))
		return -EINVAL;		/* r->why says which and why */
	if (check_regs(r, &s))
		return -EINVAL;
	rx = state_get_var(r, "rx", &nrx);
	wire = state_get_var(r, "wire", &nwire);
	if (!rx || !wire)
		return -ENOENT;
	if (nrx > rx_capacity(&s))
		return state_refuse(r, "rx holds %u bytes, the FIFO %u as fcr 0x%02x sets it",
				    nrx, rx_capacity(&s), s.fcr);
	if (nwire > UART_HOST_BUF)
		return state_refuse(r, "wire holds %u bytes, more than the %u kept",
				    nwire, UART_HOST_BUF);
	if (nwire && !(s.mcr & MCR_LOOP) && nrx < rx_capacity(&s))
		return state_refuse(r, "wire bytes wait while the FIFO has room");

	pthread_mutex_lock(&u->lock);
	u->ier = s.ier;
	u->lcr = s.lcr;
	u->mcr = s.mcr;
	u->scr = s.scr;
	u->dll = s.dll;
	u->dlm = s.dlm;
	u->fcr = s.fcr;
	u->lsr_err = s.lsr_err;
	u->msr_delta = s.msr_delta;
	u->thr_int = s.thr_int;
	memcpy(u->rx, rx, nrx);
	u->rx_head = 0;
	u->rx_cnt = nrx;
	memcpy(u->host, wire, nwire);
	u->host_head = 0;
	u->host_cnt = nwire;
	line_set(u, s.irq_level);
	pthread_mutex_unlock(&u->lock);
	return 0;
}

static void uart_destroy(struct device *d)
{
	struct uart *u = container_of(d, struct uart, dev);

	uart_out_exit(u);
	pthread_mutex_destroy(&u->out_lock);
	pthread_mutex_destroy(&u->lock);
}

static const struct device_ops uart_dev_ops = {
	.kind = "uart16550", .version = 1, .reset = uart_reset,
	.pause = uart_pause, .resume = uart_resume, .save = uart_save,
	.load = uart_load, .destroy = uart_destroy,
};

int uart_init(struct uart *u, struct device_manager *dm,
	      const struct irq_line *irq, int out_fd)
{
	int err;

	memset(u, 0, sizeof(*u));
	snprintf(u->dev.name, sizeof(u->dev.name), "com1");
	u->dev.ops = &uart_dev_ops;
	if (irq)
		u->irq = *irq;
	regs_reset(u);
	err = pthread_mutex_init(&u->lock, NULL);
	if (err)
		return -err;
	err = pthread_mutex_init(&u->out_lock, NULL);
	if (err)
		goto destroy_lock;
	err = -uart_out_init(u, out_fd);
	if (!err)
		err = -dm_bus_pio(dm, &u->dev, COM1_PORT, UART_NR_PORTS,
				  &uart_ops, u);
	if (!err)
		err = -dm_add(dm, &u->dev);
	if (err)
		goto out_exit;
	return 0;

out_exit:
	uart_out_exit(u);
	pthread_mutex_destroy(&u->out_lock);
destroy_lock:
	pthread_mutex_destroy(&u->lock);
	return -err;
}

int uart_input(struct uart *u, const u8 *buf, size_t n)
{
	bool loop;
	size_t i;

	if (n > INT_MAX)
		n = INT_MAX;
	pthread_mutex_lock(&u->lock);
	if (u->paused) {
		if (n)
			u->host_full = true;	/* offered again at resume */
		pthread_mutex_unlock(&u->lock);
		return 0;
	}
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
