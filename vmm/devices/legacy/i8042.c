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
 */
#include <string.h>

#include "lib/layout.h"
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

int i8042_init(struct i8042 *k, const struct vm_control *ctl)
{
	int err;

	memset(k, 0, sizeof(*k));
	if (ctl)
		k->ctl = *ctl;
	k->ctr = CTR_DEFAULT;
	k->outp = OUTP_DEFAULT;
	err = pthread_mutex_init(&k->lock, NULL);
	return -err;
}

void i8042_destroy(struct i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
}

int i8042_register(struct i8042 *k, struct bus *pio)
{
	int err;

	err = bus_register(pio, I8042_DATA_PORT, 1, "i8042-data", &data_ops, k);
	if (err)
		return err;
	return bus_register(pio, I8042_CMD_PORT, 1, "i8042-cmd", &cmd_ops, k);
}
