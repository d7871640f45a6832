// SPDX-License-Identifier: GPL-2.0
/*
 * pvpanic: how a guest kernel tells the host it panicked.
 *
 * One byte-wide ISA port (PVPANIC_PORT, 0x505), announced to the guest by
 * an ACPI device with _HID "QEMU0001" (vmm/acpi_dsdt.c), which is the
 * interface Linux's pvpanic driver and QEMU speak. A read returns the
 * events this device can report (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
 * a write reports the events whose bits are set: PANICKED from the guest's
 * panic notifier, CRASH_LOADED when a kdump kernel is about to take over.
 *
 * The guest is hostile and may write the port in a loop: other bits are
 * dropped, and each event reaches the machine once until the next reset
 * (reported, the one piece of state, saved and loaded). The report goes
 * through the callback the machine gave (never machine code called from
 * here), from the writing vCPU thread with no lock held: the machine must
 * not block in it (pausing the VM waits for this very vCPU to park).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/layout.h"
#include "vmm/device_manager.h"
#include "vmm/devices/legacy.h"

static void pvpanic_read(void *opaque, u64 off, u8 *data, u32 len)
{
	memset(data, 0, len);
	if (off == 0)
		data[0] = PVPANIC_EVENTS;
}

static void pvpanic_write(void *opaque, u64 off, const u8 *data, u32 len)
{
	struct pvpanic *p = opaque;
	u8 ev, fresh;

	if (off != 0 || len < 1)
		return;
	ev = data[0] & PVPANIC_EVENTS;
	pthread_mutex_lock(&p->lock);
	fresh = ev & ~p->reported;
	p->reported |= ev;
	pthread_mutex_unlock(&p->lock);
	/* Outside the lock: the machine may save this device meanwhile. */
	if (fresh && p->notify.report)
		p->notify.report(p->notify.opaque, fresh);
}

static const struct bus_ops pvpanic_ops = {
	.read = pvpanic_read,
	.write = pvpanic_write,
};

static void pvpanic_reset(struct device *d)
{
	struct pvpanic *p = container_of(d, struct pvpanic, dev);

	pthread_mutex_lock(&p->lock);
	p->reported = 0;
	pthread_mutex_unlock(&p->lock);
}

static int pvpanic_save(struct device *d, struct state_writer *w)
{
	struct pvpanic *p = container_of(d, struct pvpanic, dev);

	pthread_mutex_lock(&p->lock);
	STATE_PUT(w, p, reported);
	pthread_mutex_unlock(&p->lock);
	return w->err;
}

/*
 * Events already reported stay reported: loading them sends nothing (the
 * machine that saved them has acted on them already).
 */
static int pvpanic_load(struct device *d, struct state_reader *r)
{
	struct pvpanic *p = container_of(d, struct pvpanic, dev);
	struct pvpanic s;

	if (STATE_GET(r, &s, reported))
		return -EINVAL;		/* r->why says which and why */
	if (s.reported & ~PVPANIC_EVENTS)
		return state_refuse(r, "reported 0x%02x has bits beyond the events 0x%02x",
				    s.reported, PVPANIC_EVENTS);
	pthread_mutex_lock(&p->lock);
	p->reported = s.reported;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static void pvpanic_destroy(struct device *d)
{
	pthread_mutex_destroy(&container_of(d, struct pvpanic, dev)->lock);
}

/* No pause: no interrupt, no guest memory, no host input. */
static const struct device_ops pvpanic_dev_ops = {
	.kind = "pvpanic", .version = 1, .reset = pvpanic_reset,
	.save = pvpanic_save, .load = pvpanic_load, .destroy = pvpanic_destroy,
};

int pvpanic_init(struct pvpanic *p, struct device_manager *dm,
		 const struct pvpanic_notify *notify)
{
	int err;

	memset(p, 0, sizeof(*p));
	snprintf(p->dev.name, sizeof(p->dev.name), "pvpanic");
	p->dev.ops = &pvpanic_dev_ops;
	if (notify)
		p->notify = *notify;
	pthread_mutex_init(&p->lock, NULL);
	err = dm_bus_pio(dm, &p->dev, PVPANIC_PORT, 1, &pvpanic_ops, p);
	if (!err)
		err = dm_add(dm, &p->dev);
	if (err)
		pthread_mutex_destroy(&p->lock);
	return err;
}
