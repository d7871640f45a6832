/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One virtio device of each kind, with a fixed configuration, created
 * into a device manager as vmm/machine_io.c creates it, on a vdrv of its
 * own (guest RAM, interrupt router, PCI host that places its BARs): the
 * state fuzz targets (state_targets_pci.c) load streams into them, and
 * test_virtio_seeds writes their seeds from real saves of the same
 * devices, so the seeds are streams the targets take.
 */
#ifndef SMPVISOR_FUZZ_VDRV_TARGETS_H
#define SMPVISOR_FUZZ_VDRV_TARGETS_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vdrv.h"
#include "vdrv_vub.h"
#include "vmm/devices/vhost_user_blk.h"
#include "vmm/devices/virtio_blk.h"
#include "vmm/devices/virtio_net.h"
#include "vmm/devices/virtio_rng.h"

/* The kinds, in the order of state_targets_pci.c after the host. */
enum vdrv_kind { VDRV_BLK, VDRV_NET, VDRV_RNG, VDRV_VUB, VDRV_KINDS };

static const char *const vdrv_kind_name[VDRV_KINDS] = {
	"virtio-blk0", "virtio-net0", "virtio-rng", "vhost-user-blk0",
};

#define VDRV_TARGET_DISK	(1 * MiB)
static const u8 vdrv_target_mac[6] = { 0x02, 0x5e, 0x00, 0x00, 0x00, 0x01 };

struct vdrv_target {
	struct vdrv d;
	enum vdrv_kind kind;
	union {
		struct virtio_blk blk;
		struct virtio_net net;
		struct virtio_rng rng;
		struct vhost_user_blk vub;
	} u;
	struct virtio_pci *vp;
	char path[108];		/* the disk image, or the back end's socket */
	int peer;		/* virtio-net: the other end of its "tap" */
	struct vdrv_vub be;	/* vhost-user-blk: its back end */
	bool be_up;
};

static inline int vdrv_target_device(struct vdrv_target *t,
				     struct device_manager *dm, bool iot)
{
	struct iothread **iots = iot ? t->d.iots : NULL;
	int sv[2], fd, r;

	switch (t->kind) {
	case VDRV_BLK: {
		struct virtio_blk_opts o = { .path = t->path, .serial = "fuzz-0" };

		strcpy(t->path, "/tmp/smpv-vdrv-XXXXXX");
		fd = mkstemp(t->path);
		if (fd < 0 || ftruncate(fd, VDRV_TARGET_DISK))
			return -EIO;
		close(fd);
		t->vp = &t->u.blk.vp;
		return virtio_blk_create(&t->u.blk, 0, &o, dm, &t->d.mem, iots,
					 iot);
	}
	case VDRV_NET: {
		struct virtio_net_opts o = { .queues = 2, .mac = vdrv_target_mac,
					     .fds = sv };
		int fds[2][2];

		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds[0]) ||
		    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds[1]))
			return -EIO;
		/* Pair 1's far end goes at once: only pair 0 has a peer. */
		sv[0] = fds[0][0];
		sv[1] = fds[1][0];
		t->peer = fds[0][1];
		close(fds[1][1]);
		t->vp = &t->u.net.vp;
		return virtio_net_create(&t->u.net, 0, &o, dm, &t->d.mem, iots,
					 iot);
	}
	case VDRV_RNG:
		t->vp = &t->u.rng.vp;
		return virtio_rng_create(&t->u.rng, dm, &t->d.mem,
					 iot ? &t->d.iot : NULL);
	default: {
		struct vhost_user_blk_opts o = { .socket = t->path, .queues = 1,
						 .timeout_ms = 500 };

		/* The back end maps guest RAM: it must be shareable. */
		guest_mem_free(&t->d.mem);
		guest_mem_set_shared(&t->d.mem);
		r = guest_mem_alloc(&t->d.mem);
		snprintf(t->path, sizeof(t->path), "/tmp/smpv-vdrv-%d-%p",
			 getpid(), (void *)t);
		if (r || vdrv_vub_start(&t->be, t->path))
			return r ? r : -EIO;
		t->be_up = true;
		t->vp = &t->u.vub.vp;
		return vhost_user_blk_create(&t->u.vub, 0, &o, dm, &t->d.mem);
	}
	}
}

/*
 * Make device kind into dm (NULL: the vdrv's own), plugged into the
 * vdrv's PCI host; with iot, served by its I/O thread (started). The
 * target is calloc'ed: 0 or -errno.
 */
static inline int vdrv_target_create(struct vdrv_target **tp,
				     enum vdrv_kind kind,
				     struct device_manager *dm, bool iot)
{
	struct vdrv_target *t = *tp = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return -ENOMEM;
	t->kind = kind;
	t->peer = -1;
	r = vdrv_init(&t->d);
	if (r)
		return r;
	if (dm)			/* a manager without a VM has no router */
		dm->irq = &t->d.irq;
	r = vdrv_target_device(t, dm ? dm : &t->d.dm, iot);
	return r ? r : vdrv_attach(&t->d, t->vp, iot);
}

/* After the device is destroyed (dm_destroy of its manager). */
static inline void vdrv_target_free(struct vdrv_target *t)
{
	if (!t)
		return;
	vdrv_stop(&t->d);
	vdrv_fini(&t->d);
	if (t->be_up)
		vdrv_vub_stop(&t->be, t->path);
	else if (t->kind == VDRV_BLK && t->path[0])
		unlink(t->path);
	if (t->peer >= 0)
		close(t->peer);
	free(t);
}

#endif
