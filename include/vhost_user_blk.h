/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost-user-blk: a virtio-blk device whose queues a back end in another
 * process serves (qemu-storage-daemon: QEMU's block layer with qcow2,
 * raw, throttling, on its own threads). smpvisor keeps the PCI function
 * and the virtio registers; at DRIVER_OK it hands each enabled queue's
 * rings (in shared guest RAM), its notify ioeventfd as the kick fd and
 * its MSI-X irqfd as the call fd to the back end. From then on a request
 * goes guest -> KVM -> back end -> KVM -> guest with no smpvisor thread
 * in between.
 *
 * Limitation: the call fd is the vector's irqfd, so while the guest masks
 * a queue's vector the back end's interrupts still arrive (Linux masks
 * MSI-X vectors only while it reprograms them; virtio drivers take a
 * spurious queue interrupt as "nothing to do").
 */
#ifndef SMPVISOR_VHOST_USER_BLK_H
#define SMPVISOR_VHOST_USER_BLK_H

#include "vhost_user.h"
#include "virtio.h"

#define VHOST_USER_BLK_CFG_SIZE	60	/* virtio_blk_config up to unmap */
#define VHOST_USER_TIMEOUT_MS	10000

struct vhost_user_blk_opts {
	const char *socket;
	unsigned queues;	/* wanted; 0 = the back end's count */
	unsigned max_queues;	/* with queues 0: at most this many (vCPUs) */
};

struct vhost_user_blk {
	struct virtio_pci vp;	/* first: the transport casts back */
	char name[32];
	char label[128];	/* "disk vhost-user=SOCKET" */
	struct vhost_user u;
	u8 cfg[VHOST_USER_BLK_CFG_SIZE];
	unsigned nr_queues;
	bool *handed;		/* per queue: the back end has it */
	struct iothread_handler hup_h;	/* the back end hanging up */
	struct iothread *hup_iot;
};

/*
 * Connect and negotiate; guest RAM (mem) must be shareable and mapped.
 * iot (may be NULL) watches for the back end going away. 0 or -errno
 * with a one-line message.
 */
int vhost_user_blk_create(struct vhost_user_blk *b, unsigned idx,
			  const struct vhost_user_blk_opts *o,
			  struct kvm_vm *kvm, struct irq_router *irq,
			  const struct guest_mem *mem, struct iothread *iot);
void vhost_user_blk_destroy(struct vhost_user_blk *b);

#endif
