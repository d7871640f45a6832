/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The device manager: the one owner of every device of a machine and of
 * what the devices need from the kernel. A device is created by the
 * machine (vmm/machine_io.c, vmm/machine.c), added here under its unique
 * name, and from then on reached only through its ops (struct
 * device_ops in devices.h): the manager walks every device the same way
 * to reset, pause, resume, save, load and destroy the machine's devices.
 *
 * A device never holds a struct kvm_vm nor calls kernel/: it asks the
 * manager for bus ranges, ioeventfds and irqfds, and the PCI code takes
 * MSI routes from the manager's interrupt router. Without a VM (the unit
 * tests) the manager still registers bus ranges and walks devices, and
 * refuses ioeventfds and irqfds with -ENODEV, which every device handles
 * (a queue is then kicked by its register write, an interrupt raised by
 * the device's own path).
 *
 * Threads: devices are added during set-up, before any vCPU runs; the
 * list is fixed afterwards. The walks are serialised by one mutex, so two
 * control clients asking for pause and save at once take turns.
 */
#ifndef SMPVISOR_DEVICE_MANAGER_H
#define SMPVISOR_DEVICE_MANAGER_H

#include <pthread.h>

#include "irq/irq.h"
#include "kernel/kvm.h"
#include "lib/bus.h"
#include "lib/state.h"
#include "vmm/devices/devices.h"

struct dm_ioeventfd {
	u64 addr;
	u32 len;
	int fd;
	bool pio;
};

struct device_manager {
	struct kvm_vm *kvm;		/* NULL: no VM (unit tests) */
	struct irq_router *irq;		/* NULL: no VM */
	struct bus *pio, *mmio;
	pthread_mutex_t lock;		/* the walks */
	/*
	 * The ioeventfd list, a lock of its own: a device's reset and load
	 * move its BARs, hence its ioeventfds, inside the walks.
	 */
	pthread_mutex_t ioev_lock;
	struct device **dev;		/* in the order added */
	unsigned nr, cap;
	struct dm_ioeventfd *ioev;	/* assigned, to deassign at the end */
	unsigned nr_ioev, cap_ioev;
	bool paused;
	/* dm_device_error's handler and the lock of every device's err_rl */
	void (*on_error)(void *opaque, const char *dev, const char *reason);
	void *error_opaque;
	pthread_mutex_t err_lock;
};

/* kvm and irq may both be NULL (no VM). */
void dm_init(struct device_manager *dm, struct kvm_vm *kvm,
	     struct irq_router *irq, struct bus *pio, struct bus *mmio);
/* Destroy every device, last added first, and release what they held. */
void dm_destroy(struct device_manager *dm);
/* Add a set-up device (its name set and unique): 0, -EEXIST, -ENOMEM. */
int dm_add(struct device_manager *dm, struct device *d);
struct device *dm_find(struct device_manager *dm, const char *name);

/* Claim a port-I/O or MMIO range for d, named after it. */
int dm_bus_pio(struct device_manager *dm, struct device *d, u64 base,
	       u64 len, const struct bus_ops *ops, void *opaque);
int dm_bus_mmio(struct device_manager *dm, struct device *d, u64 base,
		u64 len, const struct bus_ops *ops, void *opaque);
/*
 * A guest write of len bytes at addr (MMIO, or port I/O with pio)
 * signals fd in the kernel, without an exit to user space; assign false
 * removes it. 0, -ENODEV without a VM, or the kernel's -errno.
 */
int dm_ioeventfd(struct device_manager *dm, u64 addr, u32 len, int fd,
		 bool pio, bool assign);
/*
 * Writing fd raises gsi (level-triggered with a resample_fd >= 0, which
 * the kernel signals at EOI); assign false removes it. 0, -ENODEV without
 * a VM, or -errno.
 */
int dm_irqfd(struct device_manager *dm, u32 gsi, int fd, int resample_fd,
	     bool assign);

/*
 * A device tells the machine it broke down and the guest must reset it
 * (virtio's NEEDS_RESET): dm_device_error calls the handler with the
 * device's name and the formatted reason. Any thread may call it, with
 * the device's locks held; the handler must not block nor call back into
 * devices. A guest can provoke errors at will, so each device reaches the
 * handler at most DEV_RATELIMIT_BURST times per DEV_RATELIMIT_SECS; the
 * rest are dropped. Set the handler before the devices run (NULL: none).
 */
void dm_set_error_handler(struct device_manager *dm,
			  void (*fn)(void *opaque, const char *dev,
				     const char *reason),
			  void *opaque);
void dm_device_error(struct device_manager *dm, struct device *d,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The walks, in the order the devices were added (destroy: reversed). */
void dm_reset(struct device_manager *dm);
void dm_pause(struct device_manager *dm);
void dm_resume(struct device_manager *dm);
/* One section per device, named after it. Devices must be paused. */
int dm_save(struct device_manager *dm, struct state_writer *w);
/*
 * Load every device's section (paused devices; each is reset first).
 * 0, or -errno with the reason in r->why; a refused load leaves the
 * devices reset.
 */
int dm_load(struct device_manager *dm, struct state_reader *r);

#endif
