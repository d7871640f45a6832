// SPDX-License-Identifier: GPL-2.0
/*
 * i8042 keyboard controller with no keyboard or mouse behind it and no
 * interrupt lines wired.
 *
 * What it is for: the reset line. Command 0xFE (and any 0xF0-0xFF pulse
 * that includes bit 0), or writing the output port with bit 0 clear,
 * resets the machine: vm_control's request_exit(VM_EXIT_RESET).
 *
 * Emulated beyond that, so a guest that probes the controller gets answers
 * instead of time-outs: status register (OBF, AUX OBF, system flag, last
 * write was a command), the command byte (0x20 read, 0x60 write), self-test
 * 0xAA -> 0x55 (which also sets the system flag), interface tests 0xAB and
 * 0xA9 -> 0x00, port enable/disable (0xA7/0xA8/0xAD/0xAE, kept in the
 * command byte), output port read/write (0xD0/0xD1) and the output-buffer
 * echo commands 0xD2/0xD3. Responses are polled from the data port (no
 * IRQ 1 or 12). Bytes meant for the keyboard or the mouse (a data write
 * with no command pending, or 0xD4's byte) have no device to go to and are
 * dropped; other commands are ignored. Both are logged at debug level,
 * rate-limited.
 *
 * The device model (devices.h): with no interrupt and no host input there
 * is nothing to pause; save writes the command byte, the output port, the
 * output buffer with its flags, the command waiting for its data byte and
 * the last-write-was-a-command flag; load refuses a pending command that
 * takes no data byte.
 */
#include <stdio.h>
#include <string.h>

#include "lib/layout.h"
#include "vmm/device_manager.h"
#include "vmm/devices/legacy.h"

#define STS_OBF		0x01	/* output buffer full */
#define STS_SYS		0x04	/* system flag, mirrors CTR bit 2 */
#define STS_CMD		0x08	/* last write went to the command port */
#define STS_AUX		0x20	/* the output byte is from the aux port */

#define CTR_SYS		0x04
#define CTR_KBD_OFF	0x10
#define CTR_AUX_OFF	0x20
#define CTR_DEFAULT	0x65	/* as a PC BIOS leaves it: translate, ports */
				/* set up, aux disabled, system flag on */

#define OUTP_RESET	0x01	/* CPU reset line, active low */
#define OUTP_A20	0x02
#define OUTP_DEFAULT	(OUTP_RESET | OUTP_A20)

#define CMD_READ_CTR	0x20
#define CMD_WRITE_CTR	0x60
#define CMD_AUX_OFF	0xa7
#define CMD_AUX_ON	0xa8
#define CMD_AUX_TEST	0xa9
#define CMD_SELF_TEST	0xaa
#define CMD_KBD_TEST	0xab
#define CMD_KBD_OFF	0xad
#define CMD_KBD_ON	0xae
#define CMD_READ_OUTP	0xd0
#define CMD_WRITE_OUTP	0xd1
#define CMD_ECHO_KBD	0xd2
#define CMD_ECHO_AUX	0xd3
#define CMD_WRITE_AUX	0xd4
#define CMD_PULSE	0xf0	/* 0xf0-0xff: pulse outputs whose bit is 0 */

#define SELF_TEST_OK	0x55

static void respond(struct i8042 *k, u8 v, bool aux)
{
	k->out = v;
	k->out_full = true;
	k->out_aux = aux;
}

static void reset_cpu(struct i8042 *k)
{
	pr_info("i8042: guest pulsed the reset line");
	vm_control_exit(&k->ctl, VM_EXIT_RESET);
}

static void command(struct i8042 *k, u8 cmd)
{
	k->pending = 0;
	if (cmd >= CMD_PULSE) {
		if (!(cmd & OUTP_RESET))
			reset_cpu(k);
		return;
	}
	switch (cmd) {
	case CMD_READ_CTR:
		respond(k, k->ctr, false);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTP:
	case CMD_ECHO_KBD:
	case CMD_ECHO_AUX:
	case CMD_WRITE_AUX:
		k->pending = cmd;	/* the data byte follows on port 0x60 */
		break;
	case CMD_AUX_OFF:
		k->ctr |= CTR_AUX_OFF;
		break;
	case CMD_AUX_ON:
		k->ctr &= ~CTR_AUX_OFF;
		break;
	case CMD_AUX_TEST:
	case CMD_KBD_TEST:
		respond(k, 0x00, false);	/* lines idle: no fault */
		break;
	case CMD_SELF_TEST:
		k->ctr |= CTR_SYS;
		respond(k, SELF_TEST_OK, false);
		break;
	case CMD_KBD_OFF:
		k->ctr |= CTR_KBD_OFF;
		break;
	case CMD_KBD_ON:
		k->ctr &= ~CTR_KBD_OFF;
		break;
	case CMD_READ_OUTP:
		respond(k, k->outp, false);
		break;
	default:
		if (dev_ratelimit_ok(&k->rl, LOG_DEBUG))
			pr_debug("i8042: command 0x%02x ignored", cmd);
		break;
	}
}

static void data(struct i8042 *k, u8 v)
{
	u8 cmd = k->pending;

	k->pending = 0;
	switch (cmd) {
	case CMD_WRITE_CTR:
		k->ctr = v;
		break;
	case CMD_WRITE_OUTP:
		k->outp = v;
		if (!(v & OUTP_RESET))
			reset_cpu(k);
		break;
	case CMD_ECHO_KBD:
		respond(k, v, false);
		break;
	case CMD_ECHO_AUX:
		respond(k, v, true);
		break;
	default:	/* for the keyboard (no command) or the mouse (0xd4) */
		if (dev_ratelimit_ok(&k->rl, LOG_DEBUG))
			pr_debug("i8042: byte 0x%02x for absent %s dropped", v,
				 cmd ? "mouse" : "keyboard");
		break;
	}
}

static u8 status(const struct i8042 *k)
{
	u8 s = k->ctr & CTR_SYS ? STS_SYS : 0;

	if (k->out_full)
		s |= STS_OBF | (k->out_aux ? STS_AUX : 0);
	if (k->last_cmd)
		s |= STS_CMD;
	return s;
}

static void i8042_read(void *opaque, u64 off, u8 *d, u32 len, bool cmd_port)
{
	struct i8042 *k = opaque;

	pthread_mutex_lock(&k->lock);
	if (cmd_port) {
		d[0] = status(k);
	} else {
		d[0] = k->out;	/* an empty buffer repeats its last byte */
		k->out_full = false;
	}
	pthread_mutex_unlock(&k->lock);
	if (len > 1)
		memset(d + 1, 0xff, len - 1);
}

static void i8042_write(void *opaque, u64 off, const u8 *d, u32 len,
			bool cmd_port)
{
	struct i8042 *k = opaque;

	pthread_mutex_lock(&k->lock);
	k->last_cmd = cmd_port;
	if (cmd_port)
		command(k, d[0]);
	else
		data(k, d[0]);
	pthread_mutex_unlock(&k->lock);
}

static void data_read(void *opaque, u64 off, u8 *d, u32 len)
{
	i8042_read(opaque, off, d, len, false);
}

static void data_write(void *opaque, u64 off, const u8 *d, u32 len)
{
	i8042_write(opaque, off, d, len, false);
}

static void cmd_read(void *opaque, u64 off, u8 *d, u32 len)
{
	i8042_read(opaque, off, d, len, true);
}

static void cmd_write(void *opaque, u64 off, const u8 *d, u32 len)
{
	i8042_write(opaque, off, d, len, true);
}

static const struct bus_ops data_ops = { .read = data_read, .write = data_write };
static const struct bus_ops cmd_ops = { .read = cmd_read, .write = cmd_write };

/* --- the device model (devices.h) --- */

/* As the BIOS leaves it. */
static void regs_reset(struct i8042 *k)
{
	k->ctr = CTR_DEFAULT;
	k->outp = OUTP_DEFAULT;
	k->out = 0;
	k->out_full = k->out_aux = k->last_cmd = false;
	k->pending = 0;
}

static void i8042_reset(struct device *d)
{
	struct i8042 *k = container_of(d, struct i8042, dev);

	pthread_mutex_lock(&k->lock);
	regs_reset(k);
	pthread_mutex_unlock(&k->lock);
}

static int i8042_save(struct device *d, struct state_writer *w)
{
	struct i8042 *k = container_of(d, struct i8042, dev);

	pthread_mutex_lock(&k->lock);
	STATE_PUT(w, k, ctr);
	STATE_PUT(w, k, outp);
	STATE_PUT(w, k, out);
	state_put_bool(w, "out_full", k->out_full);
	state_put_bool(w, "out_aux", k->out_aux);
	STATE_PUT(w, k, pending);
	state_put_bool(w, "last_cmd", k->last_cmd);
	pthread_mutex_unlock(&k->lock);
	return w->err;
}

/* The commands that wait for a data byte (see command()). */
static bool takes_data(u8 cmd)
{
	return cmd == CMD_WRITE_CTR || cmd == CMD_WRITE_OUTP ||
	       cmd == CMD_ECHO_KBD || cmd == CMD_ECHO_AUX ||
	       cmd == CMD_WRITE_AUX;
}

/*
 * The command byte, the output port and the output buffer may hold any
 * value a guest can write; an output port with the reset line low was
 * saved on the way to a reset, and is loaded as it is.
 */
static int i8042_load(struct device *d, struct state_reader *r)
{
	struct i8042 *k = container_of(d, struct i8042, dev);
	struct i8042 s;		/* the saved state, taken once checked */

	if (STATE_GET(r, &s, ctr) || STATE_GET(r, &s, outp) ||
	    STATE_GET(r, &s, out) ||
	    state_get_bool(r, "out_full", &s.out_full) ||
	    state_get_bool(r, "out_aux", &s.out_aux) ||
	    STATE_GET(r, &s, pending) ||
	    state_get_bool(r, "last_cmd", &s.last_cmd))
		return -EINVAL;		/* r->why says which and why */
	if (s.pending && !takes_data(s.pending))
		return state_refuse(r, "pending 0x%02x is no command that waits for a data byte",
				    s.pending);
	pthread_mutex_lock(&k->lock);
	k->ctr = s.ctr;
	k->outp = s.outp;
	k->out = s.out;
	k->out_full = s.out_full;
	k->out_aux = s.out_aux;
	k->pending = s.pending;
	k->last_cmd = s.last_cmd;
	pthread_mutex_unlock(&k->lock);
	return 0;
}

static void i8042_destroy(struct device *d)
{
	pthread_mutex_destroy(&container_of(d, struct i8042, dev)->lock);
}

/* No pause: no interrupt line and no host input to hold back. */
static const struct device_ops i8042_dev_ops = {
	.kind = "i8042", .version = 1, .reset = i8042_reset,
	.save = i8042_save, .load = i8042_load, .destroy = i8042_destroy,
};

int i8042_init(struct i8042 *k, struct device_manager *dm,
	       const struct vm_control *ctl)
{
	int err;

	memset(k, 0, sizeof(*k));
	snprintf(k->dev.name, sizeof(k->dev.name), "i8042");
	k->dev.ops = &i8042_dev_ops;
	if (ctl)
		k->ctl = *ctl;
	regs_reset(k);
	err = pthread_mutex_init(&k->lock, NULL);
	if (err)
		return -err;
	err = dm_bus_pio(dm, &k->dev, I8042_DATA_PORT, 1, &data_ops, k);
	if (!err)
		err = dm_bus_pio(dm, &k->dev, I8042_CMD_PORT, 1, &cmd_ops, k);
	if (!err)
		err = dm_add(dm, &k->dev);
	if (err)
		pthread_mutex_destroy(&k->lock);
	return err;
}
