// SPDX-License-Identifier: GPL-2.0
/*
 * POST-code port 0x80 and the alternative delay port 0xED.
 *
 * Firmware writes progress codes to 0x80 and Linux writes to it (or to
 * 0xED with io_delay=0xed) purely to waste time between slow ISA cycles.
 * Claiming both ports keeps those exits off the unclaimed-port path; the
 * bytes are dropped and reads return 0xff, what an empty ISA slot gives.
 * Nothing is stored, so no lock is needed and no op has anything to do;
 * it is a device all the same, so the manager lists it and owns its ports.
 */
#include <stdio.h>
#include <string.h>

#include "lib/layout.h"
#include "vmm/device_manager.h"
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

/* No state, no lock, no interrupt: nothing to reset, save or free. */
static const struct device_ops post_dev_ops = {
	.kind = "post", .version = 1,
};

int post_init(struct post *p, struct device_manager *dm)
{
	int err;

	memset(p, 0, sizeof(*p));
	snprintf(p->dev.name, sizeof(p->dev.name), "post");
	p->dev.ops = &post_dev_ops;
	err = dm_bus_pio(dm, &p->dev, POST_PORT, 1, &post_ops, NULL);
	if (!err)
		err = dm_bus_pio(dm, &p->dev, POST_ALT_DELAY_PORT, 1,
				 &post_ops, NULL);
	if (!err)
		err = dm_add(dm, &p->dev);
	return err;
}
