/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost-user-blk: a virtio-blk device whose queues a back end in another
 * process serves (qemu-storage-daemon: QEMU's block layer with qcow2,
 * raw, throttling, on its own threads). smpvisor keeps the PCI function
 * and the virtio registers; at DRIVER_OK the transport hands each enabled
 * queue's rings (in shared guest RAM), its notify ioeventfd as the kick
 * fd and its MSI-X irqfd as the call fd to the back end (virtio.h, "The
 * back-end interface"). From then on a request
 * goes guest -> KVM -> back end -> KVM -> guest with no smpvisor thread
 * in between.
 *
 * DRIVER_OK and reset never wait for the back end: its worker thread
 * does the talking (see vhost_user_blk.c for how a reset stays safe).
 *
 * Limitation: the call fd is the vector's irqfd, so while the guest masks
 * a queue's vector the back end's interrupts still arrive (Linux masks
 * MSI-X vectors only while it reprograms them; virtio drivers take a
 * spurious queue interrupt as "nothing to do").
 */
#ifndef SMPVISOR_VHOST_USER_BLK_H
#define SMPVISOR_VHOST_USER_BLK_H

#include <stdatomic.h>

#include "vmm/devices/devices.h"
#include "vmm/devices/virtio.h"
#include "vmm/vhost_user.h"

#define VHOST_USER_BLK_CFG_SIZE	60	/* virtio_blk_config up to unmap */
#define VHOST_USER_TIMEOUT_MS	10000	/* per message: request and reply */

struct vhost_user_blk_opts {
	const char *socket;
	unsigned queues;	/* wanted; 0 = the back end's count */
	unsigned max_queues;	/* with queues 0: at most this many (vCPUs) */
	int timeout_ms;		/* per message; 0: VHOST_USER_TIMEOUT_MS */
};

struct vhost_user_blk {
	struct virtio_pci vp;
	char name[32];
	char label[128];	/* "disk vhost-user=SOCKET" */
	struct vhost_user u;
	u8 cfg[VHOST_USER_BLK_CFG_SIZE];
	unsigned nr_queues;
	struct dev_ratelimit rl;	/* guest-caused messages (vp->lock) */
	atomic_bool gone;	/* the back end is cut off, for good */

	/* The target, set from vCPU threads (wlock; after vp->lock). */
	pthread_mutex_t wlock;
	bool wlock_ok;
	u64 want_gen;		/* bumped by every start and stop */
	u64 stop_gen;		/* the latest stop's generation */
	u64 done_gen;		/* the worker reached this one */
	bool want_run;		/* started (else: rings taken back) */
	u64 want_features;
	struct virtio_backend_ring *want;	/* by queue; size 0: none */
	bool quit;

	/* The worker thread: the only user of u after creation. */
	pthread_t worker;
	bool worker_ok;
	int wake_fd;		/* eventfd: a new target, or quit */
	struct virtio_backend_ring *run;	/* the target being handed over */
	bool *handed;		/* per queue: the back end may hold it */
	u32 *base;		/* per queue: where the last stop left it */
};

/*
 * Connect and negotiate (on the calling thread), then start the device's
 * worker thread, which does every later round trip and watches for the
 * back end going away, and add the device "vhost-user-blkIDX" to dm,
 * which destroys it from then on. Guest RAM (mem) must be shareable and
 * mapped. 0 or -errno with a one-line message.
 *
 * Every queue is the transport's back end (virtio.h): pause takes the
 * rings back (GET_VRING_BASE, waiting for the answer or the deadline),
 * resume hands them over again at those indices; load refuses another
 * disk config.
 */
int vhost_user_blk_create(struct vhost_user_blk *b, unsigned idx,
			  const struct vhost_user_blk_opts *o,
			  struct device_manager *dm, const struct guest_mem *mem);

#endif
