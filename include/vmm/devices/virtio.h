/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio 1.2 over PCI, modern interface only (4.1): the transport that
 * every virtio device here sits on.
 *
 * BAR 1 holds the MSI-X table and PBA; BAR 4 (64-bit, prefetchable) the
 * common config, ISR, device config and notify regions, each announced by
 * a vendor capability. Every queue's notify address has an ioeventfd, so a
 * guest kick costs the vCPU one in-kernel exit and wakes the queue's I/O
 * thread; the device answers through the queue's MSI-X vector (irqfd).
 *
 * Status: see status_write in pci.c and README ("What a misbehaving
 * driver gets"): bits accumulate in the order of virtio 1.2 section 3.1,
 * anything else sets NEEDS_RESET; a reset forgets every queue's state.
 *
 * Locks: vp->lock serialises the registers (vCPU threads). Each queue has
 * its own lock, held by its I/O thread while it serves the queue; reset
 * takes every queue lock, so once the status reads back 0 no I/O thread
 * touches the rings any more.
 */
#ifndef SMPVISOR_VIRTIO_H
#define SMPVISOR_VIRTIO_H

#include <pthread.h>
#include <stdatomic.h>

#include "kernel/kvm.h"
#include "vmm/devices/devices.h"
#include "vmm/devices/virtq.h"
#include "vmm/iothread.h"
#include "vmm/pci.h"

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACK		1
#define VIRTIO_STATUS_DRIVER		2
#define VIRTIO_STATUS_DRIVER_OK		4
#define VIRTIO_STATUS_FEATURES_OK	8
#define VIRTIO_STATUS_NEEDS_RESET	0x40
#define VIRTIO_STATUS_FAILED		0x80

/* Transport and ring feature bits (6). */
#define VIRTIO_F_INDIRECT_DESC		28
#define VIRTIO_F_EVENT_IDX		29
#define VIRTIO_F_VERSION_1		32

#define VIRTIO_NO_VECTOR		0xffff
#define VIRTIO_PCI_VENDOR		0x1af4
#define VIRTIO_PCI_DEVICE_BASE		0x1040	/* + virtio device id */

#define VIRTIO_ISR_QUEUE		1
#define VIRTIO_ISR_CONFIG		2

/* BAR 4 layout. */
#define VIRTIO_BAR			4
#define VIRTIO_MSIX_BAR			1
#define VIRTIO_COMMON_OFF		0x0000
#define VIRTIO_COMMON_LEN		0x40
#define VIRTIO_ISR_OFF			0x1000
#define VIRTIO_DEVICE_OFF		0x2000
#define VIRTIO_NOTIFY_OFF		0x3000
#define VIRTIO_NOTIFY_MULT		4
#define VIRTIO_BAR_SIZE			0x4000
#define VIRTIO_MAX_QUEUES		((0x4000 - VIRTIO_NOTIFY_OFF) / VIRTIO_NOTIFY_MULT)

#define VIRTIO_BAR_MOVES_PER_SEC	100
#define VIRTIO_BAR_MOVE_BURST		32

struct virtio_pci;

struct virtio_queue {
	struct virtio_pci *vp;
	u16 idx;
	/* What the driver programmed (under vp->lock). */
	u16 size, msix_vector;
	bool enabled;
	u64 desc, driver, device;
	/* The ring, valid while enabled; owned by the I/O thread. */
	pthread_mutex_t lock;
	struct virtq vq;
	/*
	 * DRIVER_OK and the ring mapped. Written under q->lock (or by
	 * virtio_queue_fail, from whichever thread found the fault), read
	 * by both vCPU and I/O threads: atomic.
	 */
	_Atomic bool live;
	int notify_fd;		/* the ioeventfd */
	u64 notify_addr;	/* where it is assigned, 0 = nowhere */
	struct iothread_handler notify_h;
	struct iothread *iot;
	u64 kicks, irqs;	/* stats, I/O thread only */
	/* virtio_queue_fail's messages: q->lock, or vp->lock while unserved */
	struct dev_ratelimit rl;
	void *priv;		/* the device's per-queue state */
};

struct virtio_dev_ops {
	/* Device config space (within cfg_size), under vp->lock. */
	void (*cfg_read)(struct virtio_pci *vp, u32 off, u8 *data, u32 len);
	void (*cfg_write)(struct virtio_pci *vp, u32 off, const u8 *data,
			  u32 len);
	/* The queue was kicked: on its I/O thread with q->lock held. */
	void (*queue_notify)(struct virtio_queue *q);
	/*
	 * Reset: forget the queue (in-flight requests must be finished or
	 * cancelled when this returns). q->lock held. May be NULL.
	 */
	void (*queue_reset)(struct virtio_queue *q);
	/*
	 * A device whose rings another process serves (vhost-user): at
	 * DRIVER_OK start() hands the enabled queues over instead of this
	 * transport serving them (non-zero: the device NEEDS_RESET); at reset
	 * stop() takes them back. vp->lock held. Both NULL otherwise.
	 */
	int (*start)(struct virtio_pci *vp);
	void (*stop)(struct virtio_pci *vp);
};

struct virtio_pci {
	struct pci_dev pci;
	const char *name;
	const struct virtio_dev_ops *ops;
	struct kvm_vm *kvm;		/* NULL in unit tests: no ioeventfds */
	const struct guest_mem *mem;
	pthread_mutex_t lock;

	u64 dev_features, drv_features;
	u32 dfselect, gfselect;
	u16 qselect, config_vector;
	_Atomic u8 status;
	u8 config_gen;
	_Atomic u8 isr;
	u32 cfg_size;
	u16 nr_queues, queue_max;
	struct virtio_queue *q;
	u64 bar_addr;			/* BAR 4 while decoding, else 0 */
	bool started;			/* ops->start was called (vp->lock) */
	/*
	 * Set by a device whose stop() finishes later (vhost-user: the back
	 * end gives the rings back on another thread): while set, a status
	 * of 0 reads as NEEDS_RESET, so a driver waiting for 0 after a
	 * reset does not reuse its buffers yet.
	 */
	atomic_bool stopping;
	u64 status_refused;		/* status writes refused (vp->lock) */
	struct dev_ratelimit rl;	/* their messages (vp->lock) */
	/*
	 * BAR 4 moves re-register every queue's ioeventfd (two ioctls per
	 * queue): a boot sizes and places it a few times, a guest that keeps
	 * moving it is paced to VIRTIO_BAR_MOVES_PER_SEC.
	 */
	struct pace bar_pace;
	/*
	 * Stats, from vCPU threads: BAR 4 accesses that exited to user space,
	 * and of those the queue notifies (0 while every ioeventfd works).
	 */
	_Atomic u64 reg_exits, slow_notifies;

	/*
	 * INTx (when the guest does not enable MSI-X): a level irqfd on the
	 * slot's INTA# GSI. KVM lowers the line at EOI and signals
	 * resample_fd; the I/O thread raises it again while the ISR is set.
	 */
	struct irq_router *irq;
	int intx_fd, resample_fd;
	bool intx_assigned;
	struct iothread_handler resample_h;
	struct iothread *resample_iot;
};

/*
 * Build the transport for device type id with nr_queues queues (the last
 * MSI-X vector is for config changes). Queue i is served by iots[i %
 * nr_iots]. kvm may be NULL (unit tests: no ioeventfds, kicks by hand).
 */
int virtio_pci_init(struct virtio_pci *vp, const char *name, u16 device_id,
		    u32 class_code, u64 features, u16 nr_queues, u16 queue_max,
		    u32 cfg_size, const struct virtio_dev_ops *ops,
		    struct kvm_vm *kvm, struct irq_router *irq,
		    const struct guest_mem *mem, struct iothread **iots,
		    unsigned nr_iots);
/* Stop serving (I/O threads must be stopped) and free. */
void virtio_pci_destroy(struct virtio_pci *vp);
/* Raise q's interrupt (I/O thread, after used entries were pushed). */
void virtio_queue_irq(struct virtio_queue *q);
/* The guest broke the rules on q: stop it and flag NEEDS_RESET. */
void virtio_queue_fail(struct virtio_queue *q, const char *why);
/* Feature bit test of what was negotiated. */
static inline bool virtio_has(const struct virtio_pci *vp, unsigned bit)
{
	return vp->drv_features & (1ULL << bit);
}
/*
 * With -v: one line of the device's counters (kicks and interrupts of
 * its queues, register exits, notifies that missed the ioeventfd).
 */
void virtio_pci_log_stats(struct virtio_pci *vp);
/*
 * From ops->start: serve q here after all (map its ring, let its I/O
 * thread at it), as the transport does for devices without start().
 */
int virtio_queue_start(struct virtio_queue *q);
/* Serve q's kick now (unit tests, and writes that missed the ioeventfd). */
void virtio_queue_kick(struct virtio_queue *q);

#endif
