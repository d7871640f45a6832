/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost-net as the back end of virtio-net (vmm/devices/virtio/net.c):
 * one in-kernel vhost-net instance per queue pair serves the pair's two
 * rings straight from guest RAM, with the pair's tap as its backend,
 * woken by the queues' ioeventfds and signalling their irqfds, so
 * packets never pass through smpvisor. The device hands rings over and
 * takes them back through the transport's back-end interface (virtio.h);
 * this file does the talking to the kernel (kernel/vhost_kernel.h), so
 * the device never does.
 */
#ifndef SMPVISOR_VHOST_NET_H
#define SMPVISOR_VHOST_NET_H

#include "lib/util.h"
#include "vmm/devices/virtio.h"
#include "vmm/memory.h"

struct vhostnet {
	int *fd;		/* one instance per pair; NULL: not in use */
	bool *handed;		/* per pair: its rings are the kernel's */
	unsigned nr_pairs;
	u64 features;		/* the virtio features this vhost-net serves */
};

/*
 * Open one instance per pair when want is 1, or when it is -1 and
 * /dev/vhost-net is there. 1 when in use, 0 when not, -errno (with a
 * message naming label) when it must be and cannot.
 */
int vhostnet_open(struct vhostnet *v, unsigned pairs, int want,
		  const char *label);
void vhostnet_close(struct vhostnet *v);
/*
 * Hand pair p's receive and transmit rings to its instance, with tap as
 * the backend and the driver's features: 0 or -errno (message printed;
 * the pair may be handed in part, vhostnet_stop takes it back).
 */
int vhostnet_start(struct vhostnet *v, unsigned p,
		   const struct virtio_backend_ring *rx,
		   const struct virtio_backend_ring *tx, int tap, u64 features,
		   const struct guest_mem *mem, const char *label);
/*
 * Take every handed pair back: base[2p], base[2p + 1] get the next
 * available index of its rings (VIRTIO_BASE_UNKNOWN for the others).
 */
void vhostnet_stop(struct vhostnet *v, u32 *base);

#endif
