// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz harness: virtio-blk as a hostile guest drives it (vdrv_ops.h), on
 * a 1 MiB image in /tmp and a real I/O thread, so completions race the
 * harness's status writes, resets and queue-size changes as they would a
 * guest's. Device opcode 0 waits a little for completions; 1 checks that
 * after a reset no used entry appears on the new rings (the queue's used
 * index is still 0 a moment later), aborting otherwise. The device lives
 * across inputs; each input starts with a reset and clean guest RAM.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harnesses.h"
#include "vdrv_ops.h"
#include "vmm/devices/virtio_blk.h"

static struct {
	struct vdrv d;
	struct virtio_blk blk;
	char path[64];
	bool up;
} h;

static void blk_op(struct vdrv *d, unsigned which, struct vdrv_in *in)
{
	unsigned q;

	if (which == 0) {
		usleep((useconds_t)(vin(in, 1) % 4) * 100);
		return;
	}
	/* A reset, fresh rings, no offers: nothing may complete onto them. */
	vdrv_negotiate(d, 1ULL << VIRTIO_F_VERSION_1);
	for (q = 0; q < d->vp->nr_queues; q++)
		vdrv_queue(d, q, 8, VIRTIO_NO_VECTOR);
	vdrv_driver_ok(d);
	usleep(200);
	for (q = 0; q < d->vp->nr_queues; q++)
		if (vdrv_used_idx(d, q))
			abort();	/* a request of before the reset completed */
}

static const struct vdrv_dev_ops ops = { blk_op };

static void bring_up(void)
{
	struct virtio_blk_opts o = { .queues = 2 };
	int fd;

	strcpy(h.path, "/tmp/smpv-fuzz-blk-XXXXXX");
	fd = mkstemp(h.path);
	if (fd < 0 || ftruncate(fd, 1 << 20))
		abort();
	close(fd);
	o.path = h.path;
	if (vdrv_init(&h.d) ||
	    virtio_blk_create(&h.blk, 0, &o, &h.d.dm, &h.d.mem, h.d.iots, 1) ||
	    vdrv_attach(&h.d, &h.blk.vp, true))
		abort();
	unlink(h.path);		/* the open descriptors keep it */
	h.up = true;
}

int fuzz_virtio_blk_one(const u8 *data, size_t size)
{
	if (!h.up)
		bring_up();
	vdrv_wr(&h.d, VDRV_STATUS, 0, 1);
	vdrv_pci_restore(&h.d);
	vdrv_wr(&h.d, VDRV_STATUS, 0, 1);
	vdrv_clear(&h.d);
	vdrv_play(&h.d, &ops, data, size);
	return (int)vdrv_status(&h.d);
}
