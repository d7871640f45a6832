/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small types shared by the emulated devices and the machine that wires
 * them up: the device model (struct device and its ops, walked by the
 * device manager, vmm/device_manager.c), how a device raises an
 * interrupt, how it asks the machine to stop (lib/vm_control.h), and a
 * rate limiter for the debug messages a misbehaving guest can provoke (a
 * guest must never be able to flood the VMM's log).
 */
#ifndef SMPVISOR_DEVICES_H
#define SMPVISOR_DEVICES_H

#include <time.h>

#include "lib/state.h"
#include "lib/util.h"
#include "lib/vm_control.h"

struct device;

/*
 * What every device does, called by the device manager (never by the
 * device's neighbours), each under the device's own locks:
 *
 *   reset    back to its power-on state (a machine reset; also before a
 *            load into a device that ran)
 *   pause    quiesce: when it returns the device touches no guest memory,
 *            raises no interrupt and has no I/O in flight (completed or
 *            parked to be redone); guest register accesses still work,
 *            only the work they start waits for resume
 *   resume   undo pause: parked work and kicks that arrived are served
 *   save     its state as fields of the open section (lib/state.h);
 *            paused devices only, so the state holds still
 *   load     the state of a saved device of the same kind and
 *            configuration into this one, freshly created or reset and
 *            paused; every value is checked as guest input is (a stream
 *            is untrusted): 0, or -errno with the reason in r->why
 *   destroy  free everything (the I/O threads are stopped by then)
 *
 * version is the version of the section save writes; load reads every
 * version up to it. Any op may be NULL: nothing to do.
 */
struct device_ops {
	const char *kind;	/* "uart16550", "virtio-blk", ... */
	u32 version;
	void (*reset)(struct device *d);
	void (*pause)(struct device *d);
	void (*resume)(struct device *d);
	int (*save)(struct device *d, struct state_writer *w);
	int (*load)(struct device *d, struct state_reader *r);
	void (*destroy)(struct device *d);
};

/*
 * How a device raises an interrupt: the machine supplies one backed by
 * KVM_IRQ_LINE; tests supply a recorder. set_level may be NULL (no line).
 * Devices call it with their own lock held so that level changes reach the
 * interrupt controller in the order the device computed them.
 */
struct irq_line {
	void (*set_level)(void *opaque, u32 gsi, int level);
	void *opaque;
	u32 gsi;
};

static inline void irq_line_set(const struct irq_line *irq, int level)
{
	if (irq && irq->set_level)
		irq->set_level(irq->opaque, irq->gsi, level);
}

/*
 * At most DEV_RATELIMIT_BURST messages every DEV_RATELIMIT_SECS per
 * limiter; false at once when lvl would not be printed anyway, so the
 * common quiet case costs no clock read. Not thread-safe by itself: call
 * it under the device's lock.
 */
#define DEV_RATELIMIT_BURST	5
#define DEV_RATELIMIT_SECS	5

struct dev_ratelimit {
	time_t start;
	u32 count;
};

/* The limiter alone, whatever the log level (events, not messages). */
static inline bool dev_ratelimit_take(struct dev_ratelimit *rl)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!rl->start || now.tv_sec - rl->start >= DEV_RATELIMIT_SECS) {
		rl->start = now.tv_sec ? now.tv_sec : 1;
		rl->count = 0;
	}
	return rl->count++ < DEV_RATELIMIT_BURST;
}

static inline bool dev_ratelimit_ok(struct dev_ratelimit *rl,
				    enum log_level lvl)
{
	if (lvl > log_level)
		return false;
	return dev_ratelimit_take(rl);
}

/*
 * Embedded in each device's struct (container_of gets back to it); the
 * name is the instance's, unique in the machine, and names its section
 * in a saved state ("com1", "virtio-blk0").
 */
struct device {
	char name[32];
	const struct device_ops *ops;
	bool paused;		/* the device manager's, not the device's */
	struct dev_ratelimit err_rl;	/* the manager's: dm_device_error */
};

#endif
