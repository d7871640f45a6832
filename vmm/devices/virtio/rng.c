// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-rng (see virtio_rng.h): the guest posts writable buffers, we fill
 * them with bytes from getrandom(2) and return them. A request gets at
 * most VIRTIO_RNG_MAX_REQ bytes (the driver asks again for more); buffers
 * the device may only read carry nothing for us and are ignored.
 *
 * getrandom is called with GRND_NONBLOCK so the I/O thread never sleeps
 * in it; should the host pool not be ready yet, the request is returned
 * empty, which the driver accepts.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "vmm/devices/devices.h"
#include "vmm/devices/virtio_rng.h"

/* Fill the writable part of e; returns the bytes written. */
static u32 fill(struct virtio_rng *r, const struct virtq_elem *e)
{
	u64 want = MIN(e->in_len, (u64)VIRTIO_RNG_MAX_REQ), done = 0;
	unsigned i;

	for (i = e->nr_out; i < e->nr_out + e->nr_in && done < want; i++) {
		size_t len = MIN(e->iov[i].iov_len, want - done), got = 0;

		while (got < len) {
			ssize_t n = getrandom((u8 *)e->iov[i].iov_base + got,
					      len - got, GRND_NONBLOCK);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				if (dev_ratelimit_ok(&r->rl, LOG_WARN))
					pr_warn("virtio-rng: getrandom: %s",
						strerror(errno));
				return (u32)(done + got);
			}
			got += n;
		}
		done += got;
	}
	r->bytes += done;
	return (u32)done;
}

/* Guest kick: on the queue's I/O thread, q->lock held. */
static void queue_notify(struct virtio_queue *q)
{
	struct virtio_rng *r = container_of(q->vp, struct virtio_rng, vp);
	int ret;

	virtq_disable_notify(&q->vq);
	do {
		while ((ret = virtq_pop(&q->vq, &r->elem)) > 0)
			virtq_push(&q->vq, r->elem.head, fill(r, &r->elem));
		if (ret < 0) {
			virtio_queue_fail(q, "bad descriptor chain");
			return;
		}
	} while (virtq_enable_notify(&q->vq));
	if (virtq_need_irq(&q->vq))
		virtio_queue_irq(q);
}

static void cfg_read(struct virtio_pci *vp, u32 off, u8 *data, u32 len)
{
	memset(data, 0, len);	/* no device config */
}

static const struct virtio_dev_ops rng_ops = {
	.cfg_read = cfg_read,
	.queue_notify = queue_notify,
};

int virtio_rng_create(struct virtio_rng *r, struct kvm_vm *kvm,
		      struct irq_router *irq, const struct guest_mem *mem,
		      struct iothread *iot)
{
	memset(r, 0, sizeof(*r));
	/* PCI class 0x00ff00: unclassified "other" device. */
	return virtio_pci_init(&r->vp, "virtio-rng", VIRTIO_ID_RNG, 0x00ff00,
			       0, 1, VIRTIO_RNG_QUEUE_SIZE, 0, &rng_ops, kvm,
			       irq, mem, iot ? &iot : NULL, iot ? 1 : 0);
}

void virtio_rng_destroy(struct virtio_rng *r)
{
	virtio_pci_destroy(&r->vp);
}
