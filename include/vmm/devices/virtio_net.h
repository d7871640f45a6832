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
 * is there) each pair's two rings are served by the kernel: they are the
 * queues of the transport's back end (virtio.h), handed to one vhost-net
 * instance per pair (vmm/vhost_net.c) with the tap as its backend, the
 * queue's notify ioeventfd as kick and its MSI-X irqfd as call, so
 * packets never pass through smpvisor. The control queue stays on an I/O
 * thread. Without it, packets go through the I/O threads.
 */
#ifndef SMPVISOR_VIRTIO_NET_H
#define SMPVISOR_VIRTIO_NET_H

#include "vmm/devices/virtio.h"
#include "vmm/vhost_net.h"

#define VIRTIO_ID_NET		1
#define VIRTIO_NET_QUEUE_SIZE	256
#define VIRTIO_NET_MAX_PAIRS	256	/* the tap driver's queue limit */
#define VIRTIO_NET_HDR_LEN	12	/* struct virtio_net_hdr, VERSION_1 */

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

/* One queue pair (net.c); its tap descriptor is set up in net_tap.c. */
struct net_queue {
	struct virtio_net *net;
	unsigned pair;
	int fd;
	struct virtio_queue *rxq, *txq;
	struct iothread_handler tap_h;
	struct iothread *tap_iot;	/* where tap_h is watched, or NULL */
	bool attached;			/* to the tap (multiqueue) */
	bool offload_set;		/* TUNSETOFFLOAD done since going live */
	/* The packet being received: buf[off, len) is still to place. */
	u8 *buf;
	size_t len, off;
	u16 *heads;			/* chains taken for it so far */
	u32 *lens;
	unsigned nr_heads;
	struct iovec nb_iov[2];		/* its num_buffers field */
	int nr_nb;
	struct virtq_elem rx_elem, tx_elem;
	u64 rx_packets, tx_packets, rx_dropped, tx_dropped;	/* stats */
	struct dev_ratelimit rx_rl;	/* TUNSETOFFLOAD (whoever serves rxq) */
	struct dev_ratelimit tx_rl;	/* tap writes (txq->lock) */
};

struct virtio_net {
	struct virtio_pci vp;
	char name[32];
	char ifname[16];	/* the tap's name as the kernel gave it */
	u8 mac[6];
	bool mac_random;	/* not chosen: a load (restore) takes the saved one */
	unsigned nr_pairs;
	unsigned active_pairs;	/* as the driver set it (control queue) */
	int *tap_fd;		/* one per pair */
	bool is_tap;		/* else a datagram socket (opts.fds) */
	struct vhostnet vhost;	/* fd NULL without vhost-net */
	u32 *base;		/* per queue, what vhost-net gives back */
	struct net_queue *nq;	/* one per pair */
	struct virtq_elem ctrl_elem;
	/*
	 * VIRTIO_NET_S_ANNOUNCE in config space until the driver acks it
	 * (the control queue's thread clears it, vp->lock sets it); due: a
	 * load asks for an announcement at the next resume (vp->lock).
	 */
	atomic_bool announce;
	bool announce_due;
};

/*
 * Open the tap and build the device "virtio-netIDX" into dm, which
 * destroys it from then on (not yet on bus 0). Queue i goes to iots[i %
 * nr_iots]. 0 or -errno with a message naming the tap.
 *
 * Pause stops reading the tap; a packet partly placed in receive
 * buffers gives them back and waits whole, in the saved state too. Load
 * refuses another MAC or queue pair count. After a load (a restore, a
 * migration: the taps are new, maybe on another host) the resume asks
 * the driver to announce itself, so that switches and the host bridge
 * learn where the guest's MAC addresses are (VIRTIO_NET_F_GUEST_ANNOUNCE).
 */
int virtio_net_create(struct virtio_net *n, unsigned idx,
		      const struct virtio_net_opts *o, struct device_manager *dm,
		      const struct guest_mem *mem, struct iothread **iots,
		      unsigned nr_iots);

/*
 * Ask the driver to announce itself (gratuitous ARP, unsolicited
 * neighbour advertisements): the ANNOUNCE status bit and a config change
 * interrupt, held until resume while the device is paused. Only when the
 * driver took VIRTIO_NET_F_GUEST_ANNOUNCE (and the control queue) and is
 * running: true if it was asked. The bit stays until the driver acks it
 * on the control queue (VIRTIO_NET_CTRL_ANNOUNCE_ACK) or resets.
 */
bool virtio_net_announce(struct virtio_net *n);

/*
 * Between net.c and net_tap.c: open (or adopt, opts.fds) each pair's
 * tap descriptor, then vhost-net when wanted; attach the first pairs
 * queues of a multiqueue tap and detach the rest. 0 or -errno.
 */
int virtio_net_open_taps(struct virtio_net *n, const struct virtio_net_opts *o);
int virtio_net_set_active(struct virtio_net *n, unsigned pairs);

#endif
