/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small types shared by the emulated devices and the machine that wires
 * them up: how a device raises an interrupt, how it asks the machine to
 * stop, and a rate limiter for the debug messages a misbehaving guest can
 * provoke (a guest must never be able to flood the VMM's log).
 */
#ifndef SMPVISOR_DEVICES_H
#define SMPVISOR_DEVICES_H

#include <time.h>

#include "util.h"

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

enum vm_exit_reason {
	VM_EXIT_NONE,
	VM_EXIT_POWEROFF,	/* ACPI S5 */
	VM_EXIT_RESET,		/* i8042 pulse, ACPI reset register */
	VM_EXIT_FATAL,
	VM_EXIT_USER,		/* the user asked to quit (console Ctrl-A x) */
	VM_EXIT_SETUP,		/* the machine could not start (exit status 1) */
};

/*
 * How a device asks the machine to stop: the machine supplies it; it must
 * be safe to call from any vCPU thread and from the console thread, and it
 * must not call back into the device (devices may hold their lock).
 */
struct vm_control {
	void (*request_exit)(void *opaque, enum vm_exit_reason why);
	void *opaque;
};

static inline void irq_line_set(const struct irq_line *irq, int level)
{
	if (irq && irq->set_level)
		irq->set_level(irq->opaque, irq->gsi, level);
}

static inline void vm_control_exit(const struct vm_control *ctl,
				   enum vm_exit_reason why)
{
	if (ctl && ctl->request_exit)
		ctl->request_exit(ctl->opaque, why);
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
