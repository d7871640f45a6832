/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small types shared by the emulated devices and the machine that wires
 * them up: how a device raises an interrupt, how it asks the machine to
 * stop (lib/vm_control.h), and a rate limiter for the debug messages a
 * misbehaving guest can provoke (a guest must never be able to flood the
 * VMM's log).
 */
#ifndef SMPVISOR_DEVICES_H
#define SMPVISOR_DEVICES_H

#include <time.h>

#include "lib/util.h"
#include "lib/vm_control.h"

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

static inline bool dev_ratelimit_ok(struct dev_ratelimit *rl,
				    enum log_level lvl)
{
	struct timespec now;

	if (lvl > log_level)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!rl->start || now.tv_sec - rl->start >= DEV_RATELIMIT_SECS) {
		rl->start = now.tv_sec ? now.tv_sec : 1;
		rl->count = 0;
	}
	return rl->count++ < DEV_RATELIMIT_BURST;
}

#endif
