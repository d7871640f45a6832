/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-rng (virtio 1.2, 5.4): one request queue, each writable buffer
 * filled from the host's getrandom(2) on an I/O thread.
 */
#ifndef SMPVISOR_VIRTIO_RNG_H
#define SMPVISOR_VIRTIO_RNG_H

#include "vmm/devices/virtio.h"

#define VIRTIO_ID_RNG		4
#define VIRTIO_RNG_QUEUE_SIZE	64
#define VIRTIO_RNG_MAX_REQ	(64 * 1024)	/* bytes filled per request */

struct virtio_rng {
	struct virtio_pci vp;
	struct virtq_elem elem;
	u64 bytes;		/* stats, I/O thread only */
	struct dev_ratelimit rl;	/* getrandom failures (I/O thread) */
};

/*
 * Build the device "virtio-rng" into dm, which destroys it from then on
 * (not yet on bus 0); its queue goes to iot.
 */
int virtio_rng_create(struct virtio_rng *r, struct device_manager *dm,
		      const struct guest_mem *mem, struct iothread *iot);

#endif
