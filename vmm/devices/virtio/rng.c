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

static void rng_destroy(struct device *d)
{
	virtio_pci_destroy(container_of(d, struct virtio_pci, dev));
}

/* Nothing of its own to save: the transport's state is all of it. */
static const struct device_ops rng_dev_ops =
	VIRTIO_DEVICE_OPS("virtio-rng", 1, rng_destroy);

int virtio_rng_create(struct virtio_rng *r, struct device_manager *dm,
		      const struct guest_mem *mem, struct iothread *iot)
{
	/* PCI class 0x00ff00: unclassified "other" device. */
	struct virtio_pci_conf c = {
		.name = "virtio-rng", .device_id = VIRTIO_ID_RNG,
		.class_code = 0x00ff00, .nr_queues = 1,
		.queue_max = VIRTIO_RNG_QUEUE_SIZE, .ops = &rng_ops,
		.dev_ops = &rng_dev_ops, .dm = dm, .mem = mem,
		.iots = iot ? &iot : NULL, .nr_iots = iot ? 1 : 0,
	};
	int e;

	memset(r, 0, sizeof(*r));
	e = virtio_pci_init(&r->vp, &c);
	if (!e && (e = virtio_pci_add(&r->vp)))
		virtio_pci_destroy(&r->vp);
	return e;
}
