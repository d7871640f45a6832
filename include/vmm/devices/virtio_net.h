/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-net (virtio 1.2, 5.1) on a host tap interface: N receive/transmit
 * queue pairs (queue 2i receives, 2i+1 transmits, 2N is the control
 * queue), one tap file descriptor per pair (IFF_MULTI_QUEUE when N > 1),
 * served on the I/O threads. The tap carries the 12-byte virtio-net
 * header (IFF_VNET_HDR), so checksum and segmentation offloads pass
 * through in both directions; TUNSETOFFLOAD follows what the driver
 * negotiated for the receive side.
 *
 * With vhost-net (/dev/vhost-net; "vhost": true, or by default when it
 * is there) each pair's two rings are served by the kernel: at DRIVER_OK
 * they are handed to one vhost-net instance per pair with the tap as its
 * backend, the queue's notify ioeventfd as kick and its MSI-X irqfd as
 * call, so packets never pass through smpvisor. The control queue stays
 * on an I/O thread. Without it, packets go through the I/O threads.
 */
#ifndef SMPVISOR_VIRTIO_NET_H
#define SMPVISOR_VIRTIO_NET_H

#include "vmm/devices/virtio.h"

#define VIRTIO_ID_NET		1
#define VIRTIO_NET_QUEUE_SIZE	256
#define VIRTIO_NET_MAX_PAIRS	256	/* the tap driver's queue limit */

struct virtio_net_opts {
	const char *tap;	/* interface name; created if missing */
	unsigned queues;	/* queue pairs, 0 means 1 */
	const u8 *mac;		/* NULL: a random locally administered one */
	int vhost;		/* -1: if /dev/vhost-net exists, 0: no, 1: must */
	/*
	 * Instead of opening tap: one open descriptor per pair, which the
	 * device then owns (closes), even when create fails. A tap opened by
	 * someone else (a manager with CAP_NET_ADMIN), or one end of a
	 * datagram socket pair carrying whole packets, virtio-net header
	 * first (the unit tests and the fuzz harness stand in for the tap
	 * so). NULL: open tap.
	 */
	const int *fds;
};

struct net_queue;

struct virtio_net {
	struct virtio_pci vp;
	char name[32];
	char ifname[16];	/* the tap's name as the kernel gave it */
	u8 mac[6];
	unsigned nr_pairs;
	unsigned active_pairs;	/* as the driver set it (control queue) */
	int *tap_fd;		/* one per pair */
	bool is_tap;		/* else a datagram socket (opts.fds) */
	int *vhost_fd;		/* one per pair, NULL without vhost-net */
	u64 vhost_features;
	bool *handed;		/* per pair: its rings are vhost's */
	struct net_queue *nq;	/* one per pair */
	struct virtq_elem ctrl_elem;
};

/*
 * Open the tap and build the device (not yet on a bus). Queue i goes to
 * iots[i % nr_iots]. 0 or -errno with a message naming the tap.
 */
int virtio_net_create(struct virtio_net *n, unsigned idx,
		      const struct virtio_net_opts *o, struct kvm_vm *kvm,
		      struct irq_router *irq, const struct guest_mem *mem,
		      struct iothread **iots, unsigned nr_iots);
void virtio_net_destroy(struct virtio_net *n);

#endif
