// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-user-blk front end (see vhost_user_blk.h): the virtio-blk PCI
 * function whose rings a vhost-user back end serves.
 *
 * Set-up traffic only: the hand-shake at creation, the queue hand-over at
 * DRIVER_OK and the take-back at reset run on whichever thread writes the
 * status register, under vp->lock, each reply bounded by a timeout. The
 * I/O thread only watches the socket for a hang-up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vhost_user_blk.h"
#include "virtio_blk.h"

/* virtio-blk feature bits we let through from the back end (5.2.3). */
#define BLK_PASS_FEATURES	((1ULL << 1) /* SIZE_MAX */ | \
				 (1ULL << 2) /* SEG_MAX */ | \
				 (1ULL << 4) /* GEOMETRY */ | \
				 (1ULL << 5) /* RO */ | \
				 (1ULL << 6) /* BLK_SIZE */ | \
				 (1ULL << 9) /* FLUSH */ | \
				 (1ULL << 10) /* TOPOLOGY */ | \
				 (1ULL << 12) /* MQ */ | \
				 (1ULL << 13) /* DISCARD */ | \
				 (1ULL << 14) /* WRITE_ZEROES */ | \
				 (1ULL << VIRTIO_F_INDIRECT_DESC) | \
				 (1ULL << VIRTIO_F_EVENT_IDX) | \
				 (1ULL << VIRTIO_F_VERSION_1))
#define BLK_CFG_NUM_QUEUES	34

static void cfg_read(struct virtio_pci *vp, u32 off, u8 *data, u32 len)
{
	struct vhost_user_blk *b = (struct vhost_user_blk *)vp;

	memcpy(data, b->cfg + off, len);	/* the transport checked the range */
}

/* Hand queue i over: size, rings (our addresses), base, kick, call. */
static int queue_hand_over(struct vhost_user_blk *b, unsigned i)
{
	struct virtio_pci *vp = &b->vp;
	struct virtio_queue *q = &vp->q[i];
	const struct guest_mem *mem = vp->mem;
	struct vhost_user *u = &b->u;
	struct vhost_user_addr a = { .index = i };
	void *desc, *avail, *used;
	u64 one = 1;
	int r;

	if (q->msix_vector >= vp->pci.msix.nr) {
		pr_err("%s: queue %u has no MSI-X vector: a vhost-user disk needs one per queue",
		       b->label, i);
		return -EINVAL;
	}
	desc = gpa_to_hva(mem, q->desc, 16ULL * q->size);
	avail = gpa_to_hva(mem, q->driver, 6 + 2ULL * q->size);
	used = gpa_to_hva(mem, q->device, 6 + 8ULL * q->size);
	if (!desc || !avail || !used)
		return -EINVAL;		/* checked at enable; the guest moved on */
	a.desc = (u64)(uintptr_t)desc;
	a.avail = (u64)(uintptr_t)avail;
	a.used = (u64)(uintptr_t)used;
	r = vhost_user_set_state(u, VHOST_USER_SET_VRING_NUM, i, q->size);
	if (!r)
		r = vhost_user_send(u, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a),
				    NULL, 0, true);
	if (!r)
		r = vhost_user_set_state(u, VHOST_USER_SET_VRING_BASE, i, 0);
	if (!r)
		r = vhost_user_set_vring_fd(u, VHOST_USER_SET_VRING_KICK, i,
					    q->notify_fd);
	if (!r)
		r = vhost_user_set_vring_fd(u, VHOST_USER_SET_VRING_CALL, i,
					    vp->pci.msix.fd[q->msix_vector]);
	if (r)
		return r;
	b->handed[i] = true;
	if (u->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)) {
		r = vhost_user_set_state(u, VHOST_USER_SET_VRING_ENABLE, i, 1);
		if (r)
			return r;
	}
	/* Buffers may be there already: have the back end look. */
	if (write(q->notify_fd, &one, sizeof(one)) < 0)
		return -errno;
	return 0;
}

/* DRIVER_OK: features, guest RAM, then every enabled queue. */
static int start(struct virtio_pci *vp)
{
	struct vhost_user_blk *b = (struct vhost_user_blk *)vp;
	struct vhost_user *u = &b->u;
	u64 f = vp->drv_features;
	unsigned i;
	int r;

	if (u->dead)
		return -ECONNRESET;
	if (!atomic_load(&vp->pci.msix.enabled)) {
		pr_err("%s: the guest did not enable MSI-X: a vhost-user disk needs it",
		       b->label);
		return -EINVAL;
	}
	f |= u->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES);
	r = vhost_user_set_u64(u, VHOST_USER_SET_FEATURES, f);
	if (!r)
		r = vhost_user_set_mem_table(u, vp->mem);
	for (i = 0; !r && i < vp->nr_queues; i++)
		if (vp->q[i].enabled)
			r = queue_hand_over(b, i);
	return r;
}

/* Reset: stop every ring we handed over (GET_VRING_BASE stops it). */
static void stop(struct virtio_pci *vp)
{
	struct vhost_user_blk *b = (struct vhost_user_blk *)vp;
	struct vhost_user *u = &b->u;
	unsigned i;
	u32 base;

	for (i = 0; i < vp->nr_queues; i++) {
		if (!b->handed[i])
			continue;
		b->handed[i] = false;
		if (u->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES))
			vhost_user_set_state(u, VHOST_USER_SET_VRING_ENABLE, i, 0);
		vhost_user_get_base(u, i, &base);
	}
}

static const struct virtio_dev_ops ops = {
	.cfg_read = cfg_read,
	.start = start,
	.stop = stop,
};

/* The back end hung up: the disk is gone; tell the guest, once. */
static void hup_handler(struct iothread_handler *h, u32 events)
{
	struct vhost_user_blk *b = (struct vhost_user_blk *)
		((u8 *)h - offsetof(struct vhost_user_blk, hup_h));

	pthread_mutex_lock(&b->vp.lock);
	if (!b->u.dead)
		pr_err("%s: the back end closed the connection: the disk fails",
		       b->label);
	b->u.dead = true;
	virtio_queue_fail(&b->vp.q[0], "vhost-user back end gone");
	if (b->hup_iot)
		iothread_del(b->hup_iot, &b->hup_h);
	b->hup_iot = NULL;
	pthread_mutex_unlock(&b->vp.lock);
}

/* Queue count: what was asked for, within what the back end has. */
static int choose_queues(struct vhost_user_blk *b,
			 const struct vhost_user_blk_opts *o, unsigned have)
{
	if (o->queues > have) {
		pr_err("%s: %u queues asked for, the back end has %u (qemu-storage-daemon: num-queues=)",
		       b->label, o->queues, have);
		return -EINVAL;
	}
	b->nr_queues = o->queues ? o->queues : have;
	if (!o->queues && o->max_queues && b->nr_queues > o->max_queues)
		b->nr_queues = o->max_queues;
	return 0;
}

/* Connect, negotiate and read the device config. */
static int backend_init(struct vhost_user_blk *b,
			const struct vhost_user_blk_opts *o)
{
	const u64 want = (1ULL << VHOST_USER_PROTOCOL_F_MQ) |
			 (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
			 (1ULL << VHOST_USER_PROTOCOL_F_CONFIG);
	unsigned have;
	int r;

	r = vhost_user_connect(&b->u, b->label, o->socket,
			       VHOST_USER_TIMEOUT_MS);
	if (!r)
		r = vhost_user_handshake(&b->u, want, &have);
	if (r)
		return r;
	if (!(b->u.features & (1ULL << VIRTIO_F_VERSION_1))) {
		pr_err("%s: the back end does not offer VIRTIO_F_VERSION_1",
		       b->label);
		return -EPROTO;
	}
	if (!(b->u.protocol & (1ULL << VHOST_USER_PROTOCOL_F_CONFIG))) {
		pr_err("%s: the back end does not offer its device config (VHOST_USER_PROTOCOL_F_CONFIG)",
		       b->label);
		return -EPROTO;
	}
	r = choose_queues(b, o, have);
	if (!r)
		r = vhost_user_get_config(&b->u, b->cfg, sizeof(b->cfg));
	if (r)
		return r;
	/* The guest uses the queues we have, not all the back end could. */
	b->cfg[BLK_CFG_NUM_QUEUES] = (u8)b->nr_queues;
	b->cfg[BLK_CFG_NUM_QUEUES + 1] = (u8)(b->nr_queues >> 8);
	return 0;
}

int vhost_user_blk_create(struct vhost_user_blk *b, unsigned idx,
			  const struct vhost_user_blk_opts *o,
			  struct kvm_vm *kvm, struct irq_router *irq,
			  const struct guest_mem *mem, struct iothread *iot)
{
	u64 cap = 0;
	int r;

	memset(b, 0, sizeof(*b));
	b->u.fd = -1;
	snprintf(b->name, sizeof(b->name), "vhost-user-blk%u", idx);
	snprintf(b->label, sizeof(b->label), "disk vhost-user=%s", o->socket);
	r = backend_init(b, o);
	if (r)
		goto out_close;
	b->handed = calloc(b->nr_queues, sizeof(*b->handed));
	if (!b->handed) {
		r = -ENOMEM;
		goto out_close;
	}
	/* No I/O threads: the kicks are the back end's, not ours to read. */
	r = virtio_pci_init(&b->vp, b->name, VIRTIO_ID_BLOCK, 0x018000, 0,
			    (u16)b->nr_queues, VIRTIO_BLK_QUEUE_SIZE,
			    VHOST_USER_BLK_CFG_SIZE, &ops, b, kvm, irq, mem,
			    NULL, 0);
	if (r)
		goto out_free;
	b->vp.dev_features = b->u.features & BLK_PASS_FEATURES;
	if (iot) {
		b->hup_h = (struct iothread_handler){ hup_handler, b->u.fd };
		if (!iothread_add(iot, &b->hup_h, EPOLLRDHUP))
			b->hup_iot = iot;
	}
	memcpy(&cap, b->cfg, sizeof(cap));
	pr_info("%s: %s, %llu MiB, %u queues (back end features 0x%llx)",
		b->name, o->socket, (unsigned long long)(cap >> 11),
		b->nr_queues, (unsigned long long)b->u.features);
	return 0;
out_free:
	free(b->handed);
	b->handed = NULL;
out_close:
	vhost_user_close(&b->u);
	return r;
}

void vhost_user_blk_destroy(struct vhost_user_blk *b)
{
	pthread_mutex_lock(&b->vp.lock);
	if (b->vp.started)
		stop(&b->vp);
	b->vp.started = false;
	pthread_mutex_unlock(&b->vp.lock);
	if (b->hup_iot)
		iothread_del(b->hup_iot, &b->hup_h);
	b->hup_iot = NULL;
	virtio_pci_destroy(&b->vp);
	vhost_user_close(&b->u);
	free(b->handed);
	b->handed = NULL;
}
