// SPDX-License-Identifier: GPL-2.0
/*
 * POST-code port 0x80 and the alternative delay port 0xED.
 *
 * Firmware writes progress codes to 0x80 and Linux writes to it (or to
 * 0xED with io_delay=0xed) purely to waste time between slow ISA cycles.
 * Claiming both ports keeps those exits off the unclaimed-port path; the
 * bytes are dropped and reads return 0xff, what an empty ISA slot gives.
 * Nothing is stored, so no lock is needed.
 */
#include <string.h>

#include "lib/layout.h"
#include "vmm/devices/legacy.h"

static void post_read(void *opaque, u64 off, u8 *data, u32 len)
{
	memset(data, 0xff, len);
}

static void post_write(void *opaque, u64 off, const u8 *data, u32 len)
{
}

static const struct bus_ops post_ops = {
	.read = post_read,
	.write = post_write,
};

int post_register(struct bus *pio)
{
	int err;

	err = bus_register(pio, POST_PORT, 1, "post", &post_ops, NULL);
	if (err)
		return err;
	return bus_register(pio, POST_ALT_DELAY_PORT, 1, "io-delay", &post_ops,
			    NULL);
}
