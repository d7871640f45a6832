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
 *
 * The device model (pci_state.c): every virtio device is a struct device
 * of its manager, whose ops point at virtio_dev_reset/pause/resume/save/
 * load; the device adds its own part through the hooks of
 * virtio_dev_ops. Pause parks every queue under its lock (q->paused): a
 * kick that arrives is remembered (q->kicked), an interrupt is held
 * (q->irq_held, vp->cfg_irq_held), and resume serves and delivers them.
 * That flag, read under the queue lock the I/O thread holds anyway, is
 * all the data path pays.
 *
 * Back ends: a device may have the rings of some queues served by
 * someone else (vhost-net in the kernel, a vhost-user process); see
 * "The back-end interface" below.
 */
#ifndef SMPVISOR_VIRTIO_H
#define SMPVISOR_VIRTIO_H

#include <pthread.h>
#include <stdatomic.h>

#include "vmm/device_manager.h"
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
	bool backend;		/* the back end's (fixed at creation) */
	/* What the driver programmed (under vp->lock). */
	u16 size, msix_vector;
	bool enabled;
	u64 desc, driver, device;
	/* The ring, valid while live; owned by the I/O thread. */
	pthread_mutex_t lock;
	struct virtq vq;
	/*
	 * DRIVER_OK and the ring mapped (served here, or by the back end).
	 * Written under q->lock (or by virtio_queue_fail, from whichever
	 * thread found the fault), read by vCPU and I/O threads: atomic.
	 */
	_Atomic bool live;
	/*
	 * Parked by pause (q->lock): a kick that arrives meanwhile sets
	 * kicked, an interrupt due sets irq_held; resume does both.
	 */
	bool paused, kicked, irq_held;
	int notify_fd;		/* the ioeventfd */
	u64 notify_addr;	/* where it is assigned, 0 = nowhere */
	struct iothread_handler notify_h;
	struct iothread *iot;	/* NULL for a back end's queue */
	u64 kicks, irqs;	/* stats, I/O thread only */
	/* virtio_queue_fail's messages: q->lock, or vp->lock while unserved */
	struct dev_ratelimit rl;
	void *priv;		/* the device's per-queue state */
};

/*
 * The back-end interface: one way for every device whose rings another
 * party serves (net.c with vmm/vhost_net.c, vhost_user_blk.c with its
 * vhost-user process).
 *
 *  - Which queues: 0 .. nr_backend - 1 (virtio_pci_conf), fixed at
 *    creation. The transport watches none of their notify eventfds, so a
 *    guest kick goes from KVM straight to the back end.
 *  - start: the transport calls ops->start(vp, rings, nr) when the
 *    driver sets DRIVER_OK, and again at resume after a pause or a load,
 *    with one struct virtio_backend_ring per enabled queue of the back
 *    end: its size, the rings at our addresses, base (the next available
 *    entry to serve: 0 after a reset, the index taken back at the last
 *    stop otherwise), kick = the queue's ioeventfd, call = the irqfd of
 *    the queue's MSI-X vector (the transport refuses a start without
 *    MSI-X or without a vector, so there always is one). Non-zero: the
 *    device NEEDS_RESET.
 *  - stop: at reset, at pause and on the way out the transport sets
 *    vp->stopping and calls ops->stop(vp). The back end takes every ring
 *    back and, then, calls virtio_backend_stopped with the base of each
 *    ring (at once, or later from its own thread; vp->lock held either
 *    way). Until then the status reads NEEDS_RESET instead of 0, so a
 *    driver that resets does not reuse its buffers, and pause waits.
 */
struct virtio_backend_ring {
	u16 idx, size;
	u16 base;		/* next available entry to serve */
	void *desc, *avail, *used;	/* the rings, at our addresses */
	int kick, call;
};

#define VIRTIO_BASE_UNKNOWN	(~0u)	/* a ring the back end lost */

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
	 * Pause (q->lock held, q->paused set): when it returns the queue
	 * has nothing in flight and no state the saved indices do not say
	 * (what a back end holds is taken back before). May be NULL.
	 */
	void (*queue_pause)(struct virtio_queue *q);
	/*
	 * The device's own fields in its section, after the transport's;
	 * load refuses another configuration (disk size, MAC, ...). Paused,
	 * vp->lock held. May be NULL.
	 */
	int (*save)(struct virtio_pci *vp, struct state_writer *w);
	int (*load)(struct virtio_pci *vp, struct state_reader *r);
	/*
	 * Resume, first thing, while still paused (vp->lock held): a config
	 * change made here (virtio_config_changed) reaches the driver with
	 * the interrupts held by pause. A device that loaded state may so
	 * tell its driver it moved (virtio-net announces itself). May be
	 * NULL.
	 */
	void (*resume)(struct virtio_pci *vp);
	/* The back end (above); both NULL without one. vp->lock held. */
	int (*start)(struct virtio_pci *vp, const struct virtio_backend_ring *r,
		     unsigned nr);
	void (*stop)(struct virtio_pci *vp);
};

struct virtio_pci {
	struct device dev;		/* in the device manager; its name */
	struct pci_dev pci;
	const char *name;		/* dev.name */
	const struct virtio_dev_ops *ops;
	struct device_manager *dm;
	const struct guest_mem *mem;
	pthread_mutex_t lock;

	u64 dev_features, drv_features;
	u32 dfselect, gfselect;
	u16 qselect, config_vector;
	_Atomic u8 status;
	u8 config_gen;
	_Atomic u8 isr;
	u32 cfg_size;
	u16 nr_queues, queue_max, nr_backend;
	struct virtio_queue *q;
	u64 bar_addr;			/* BAR 4 while decoding, else 0 */
	/*
	 * The back end (vp->lock): started from DRIVER_OK to reset, handed
	 * while ops->start was called and ops->stop not since; rings[] is
	 * what start gets.
	 */
	bool started, handed;
	struct virtio_backend_ring *rings;
	/*
	 * Set while a back end's stop has not finished: a status of 0 reads
	 * as NEEDS_RESET meanwhile, and pause waits on stopped.
	 */
	atomic_bool stopping;
	pthread_cond_t stopped;
	/* Paused by the device manager; a config interrupt due meanwhile. */
	atomic_bool paused, cfg_irq_held;
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
	int intx_fd, resample_fd;
	bool intx_assigned;
	struct iothread_handler resample_h;
	struct iothread *resample_iot;
};

/* What a device builds its transport with. */
struct virtio_pci_conf {
	const char *name;		/* unique: "virtio-blk0" */
	u16 device_id;
	u32 class_code;
	u64 features;
	u16 nr_queues, queue_max;
	u16 nr_backend;			/* queues 0 .. nr_backend - 1 */
	u32 cfg_size;			/* device config bytes */
	const struct virtio_dev_ops *ops;
	const struct device_ops *dev_ops;	/* kind, version, destroy */
	struct device_manager *dm;
	const struct guest_mem *mem;
	/* Queue i (not a back end's) is served by iots[i % nr_iots]. */
	struct iothread **iots;
	unsigned nr_iots;
};

/*
 * Build the transport (the last MSI-X vector is for config changes).
 * Without a VM (dm without kvm: unit tests) there are no ioeventfds; a
 * kick then reaches the I/O thread through the notify region's write.
 */
int virtio_pci_init(struct virtio_pci *vp, const struct virtio_pci_conf *c);
/*
 * The last step of a device's creation: hand it to its manager, which
 * destroys it (dev_ops->destroy) from then on. 0 or -errno (the caller
 * then still destroys it).
 */
int virtio_pci_add(struct virtio_pci *vp);
/* Stop serving (I/O threads must be stopped) and free. */
void virtio_pci_destroy(struct virtio_pci *vp);
/*
 * The device's config space changed (vp->lock held): the generation
 * moves on and the driver gets a config interrupt, held while paused.
 */
void virtio_config_changed(struct virtio_pci *vp);
/* Raise q's interrupt (I/O thread, q->lock, after used entries pushed). */
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
/* Serve q's kick now (unit tests, and writes that missed the ioeventfd). */
void virtio_queue_kick(struct virtio_queue *q);
/*
 * The end of a back end's stop (vp->lock held): base[i] for each queue
 * 0 .. nr_backend - 1 it had (VIRTIO_BASE_UNKNOWN: lost), or NULL when
 * the stop was overtaken by a new start.
 */
void virtio_backend_stopped(struct virtio_pci *vp, const u32 *base);

/* The device model's ops, for every virtio device (pci_state.c). */
void virtio_dev_reset(struct device *d);
void virtio_dev_pause(struct device *d);
void virtio_dev_resume(struct device *d);
int virtio_dev_save(struct device *d, struct state_writer *w);
int virtio_dev_load(struct device *d, struct state_reader *r);
/*
 * A virtio device's struct device_ops: the transport's ops above, with
 * the device's kind, the version of its section (the transport's fields
 * and its own) and its destroy.
 */
#define VIRTIO_DEVICE_OPS(k, ver, destroy_fn) {				\
	.kind = (k), .version = (ver),					\
	.reset = virtio_dev_reset, .pause = virtio_dev_pause,		\
	.resume = virtio_dev_resume, .save = virtio_dev_save,		\
	.load = virtio_dev_load, .destroy = (destroy_fn),		\
}

/* Between pci.c and pci_state.c: the transport's own. vp->lock held. */
void virtio_pci_reset(struct virtio_pci *vp);
int virtio_backend_start(struct virtio_pci *vp);
void virtio_backend_stop(struct virtio_pci *vp, bool wait);
void virtio_raise_queue_irq(struct virtio_queue *q);
void virtio_raise_config_irq(struct virtio_pci *vp);

#endif
