/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-blk (virtio 1.2, 5.2) on a raw image file or block device, served
 * by io_uring from the I/O threads: one io_uring per virtqueue, O_DIRECT
 * where the file system allows it (buffered I/O otherwise, and for any
 * request O_DIRECT refuses), flush, discard, write-zeroes, read-only
 * disks and a serial id.
 */
#ifndef SMPVISOR_VIRTIO_BLK_H
#define SMPVISOR_VIRTIO_BLK_H

#include "vmm/devices/virtio.h"

#define VIRTIO_ID_BLOCK		2
#define VIRTIO_BLK_QUEUE_SIZE	256
#define VIRTIO_BLK_SEG_MAX	128
#define VIRTIO_BLK_ID_BYTES	20

struct virtio_blk_opts {
	const char *path;
	const char *serial;	/* NULL: "smpvisor-N" */
	bool readonly;
	unsigned queues;	/* 0 means 1 */
};

struct blk_queue;

struct virtio_blk {
	struct virtio_pci vp;
	char name[32];
	char serial[VIRTIO_BLK_ID_BYTES + 1];
	int fd;			/* O_DIRECT when direct */
	int fd_buffered;	/* fallback for what O_DIRECT refuses */
	bool direct, readonly;
	/* fallocate(2) is not supported (9p, some block devices): write
	 * zeroes is served by writing zero buffers. Set by the first
	 * EOPNOTSUPP, from any queue (a benign race: all agree). */
	bool no_falloc;
	u64 size;		/* bytes, a multiple of 512 */
	struct blk_queue *bq;
	unsigned nr_queues;
};

/*
 * Open the image and build the device "virtio-blkIDX" into dm, which
 * destroys it from then on (not yet on bus 0: pci_host_add does that).
 * Queue i goes to iots[i % nr_iots]. 0 or -errno with a message naming
 * the disk.
 *
 * Pause waits for the requests in the kernel and pushes their used
 * entries (their interrupt is held until resume), so nothing is in
 * flight in a saved state; load refuses another disk size, read-only
 * setting or serial.
 */
int virtio_blk_create(struct virtio_blk *b, unsigned idx,
		      const struct virtio_blk_opts *o, struct device_manager *dm,
		      const struct guest_mem *mem, struct iothread **iots,
		      unsigned nr_iots);

#endif
