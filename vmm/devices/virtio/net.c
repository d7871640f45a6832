// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net on a tap interface (see virtio_net.h).
 *
 * Transmit: each chain is the 12-byte virtio-net header and the frame;
 * it goes to the pair's tap fd in one writev, header included (the tap
 * reads the header itself: checksum and GSO requests pass through).
 *
 * Receive: the tap fd sits edge-triggered in the receive queue's I/O
 * thread. A packet is read whole (header and frame) into the queue's
 * bounce buffer, then copied into the guest's receive buffers: one chain
 * without VIRTIO_NET_F_MRG_RXBUF (a packet that does not fit is dropped),
 * as many chains as it takes with it. The used entries of one packet are
 * published together, after num_buffers was written. When the guest has
 * no buffers left the packet waits in the bounce buffer and the tap is
 * left alone until the guest's kick on the receive queue; reading stops
 * before EAGAIN only then or when the batch budget runs out (and the
 * queue then kicks itself), so the edge-triggered fd never goes deaf.
 *
 * Both paths run under their queue's lock; the receive state below is
 * the receive queue's.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/vhost_kernel.h"
#include "vmm/devices/devices.h"
#include "vmm/devices/virtio_net.h"

/* Feature bits (5.1.3). */
#define NET_F_CSUM		0
#define NET_F_GUEST_CSUM	1
#define NET_F_MAC		5
#define NET_F_GUEST_TSO4	7
#define NET_F_GUEST_TSO6	8
#define NET_F_HOST_TSO4		11
#define NET_F_HOST_TSO6		12
#define NET_F_MRG_RXBUF		15
#define NET_F_STATUS		16
#define NET_F_CTRL_VQ		17
#define NET_F_MQ		22

#define NET_S_LINK_UP		1
#define NET_HDR_LEN		12	/* struct virtio_net_hdr, VERSION_1 */
#define NET_HDR_F_DATA_VALID	2
#define NET_HDR_NUM_BUFFERS	10	/* offset of num_buffers */
#define NET_CFG_SIZE		12
#define NET_BUF_SIZE		(NET_HDR_LEN + 65536 + 256)
#define NET_BUDGET		256	/* packets per queue and turn */

/* Control queue (5.1.6.5). */
#define NET_CTRL_MQ		4
#define NET_CTRL_MQ_VQ_PAIRS_SET 0
#define NET_OK			0
#define NET_ERR			1

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

static void cfg_read(struct virtio_pci *vp, u32 off, u8 *data, u32 len)
{
	struct virtio_net *n = container_of(vp, struct virtio_net, vp);
	u8 c[NET_CFG_SIZE] = { 0 };

	memcpy(c, n->mac, 6);
	c[6] = NET_S_LINK_UP;			/* status */
	c[8] = (u8)n->nr_pairs;			/* max_virtqueue_pairs */
	c[9] = (u8)(n->nr_pairs >> 8);
	memcpy(data, c + off, len);
}

static void rx_forget(struct net_queue *nq)
{
	nq->len = nq->off = 0;
	nq->nr_heads = 0;
}

static void fail(struct net_queue *nq, struct virtio_queue *q, const char *why)
{
	rx_forget(nq);
	virtio_queue_fail(q, why);
}

/* The receive offloads the driver asked for, as TUNSETOFFLOAD bits. */
static unsigned rx_offloads(const struct virtio_pci *vp)
{
	unsigned f = 0;

	if (!virtio_has(vp, NET_F_GUEST_CSUM))
		return 0;
	f |= TUN_F_CSUM;
	if (virtio_has(vp, NET_F_GUEST_TSO4))
		f |= TUN_F_TSO4;
	if (virtio_has(vp, NET_F_GUEST_TSO6))
		f |= TUN_F_TSO6;
	return f;
}

static void set_offload(struct net_queue *nq, unsigned f)
{
	if (nq->net->is_tap && ioctl(nq->fd, TUNSETOFFLOAD, f) < 0 &&
	    dev_ratelimit_ok(&nq->rx_rl, LOG_WARN))
		pr_warn("%s: TUNSETOFFLOAD %#x: %s", nq->net->name, f,
			strerror(errno));
}

/*
 * Place the pending packet into receive buffers: 1 when it is delivered
 * (or dropped), 0 when the guest has no buffers left (the rest waits), -1
 * when the queue failed.
 */
static int rx_place(struct net_queue *nq)
{
	struct virtio_queue *q = nq->rxq;
	struct virtq_elem *e = &nq->rx_elem;
	bool mrg = virtio_has(q->vp, NET_F_MRG_RXBUF);
	u16 nb;
	size_t w;
	unsigned i;
	int r;

	while (nq->off < nq->len) {
		r = virtq_pop(&q->vq, e);
		if (r < 0) {
			fail(nq, q, "bad descriptor chain");
			return -1;
		}
		if (!r)
			return 0;
		if (!nq->nr_heads) {
			nq->nr_nb = iov_slice(nq->nb_iov, 2, e->iov + e->nr_out,
					      e->nr_in, NET_HDR_NUM_BUFFERS, 2);
			if (nq->nr_nb < 0) {
				fail(nq, q, "receive buffer smaller than the header");
				return -1;
			}
		}
		/* heads[] holds VIRTIO_NET_QUEUE_SIZE; the ring may be smaller. */
		if (nq->nr_heads >= q->vq.size ||
		    nq->nr_heads >= VIRTIO_NET_QUEUE_SIZE) {
			fail(nq, q, "receive buffers too small for a packet");
			return -1;
		}
		w = iov_from_buf(e->iov + e->nr_out, e->nr_in, 0,
				 nq->buf + nq->off, nq->len - nq->off);
		nq->heads[nq->nr_heads] = e->head;
		nq->lens[nq->nr_heads++] = (u32)w;
		nq->off += w;
		if (nq->off < nq->len && !mrg) {
			/* Too big for one buffer: the guest sees a runt. */
			virtq_push(&q->vq, e->head, 0);
			nq->rx_dropped++;
			rx_forget(nq);
			return 1;
		}
	}
	nb = (u16)nq->nr_heads;		/* little endian, like the guest */
	iov_from_buf(nq->nb_iov, (unsigned)nq->nr_nb, 0, &nb, sizeof(nb));
	for (i = 0; i < nq->nr_heads; i++)
		virtq_fill(&q->vq, i, nq->heads[i], nq->lens[i]);
	virtq_flush(&q->vq, nq->nr_heads);
	nq->rx_packets++;
	rx_forget(nq);
	return 1;
}

/* Move packets from the tap to the guest. rxq->lock held, rxq live. */
static void rx_run(struct net_queue *nq)
{
	struct virtio_queue *q = nq->rxq;
	unsigned budget = NET_BUDGET;
	bool pushed = false;
	u64 one = 1;
	ssize_t got;
	int r;

	if (!nq->offload_set) {
		set_offload(nq, rx_offloads(q->vp));
		nq->offload_set = true;
	}
	while (budget) {
		if (!nq->len) {
			got = read(nq->fd, nq->buf, NET_BUF_SIZE);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				break;		/* EAGAIN: the next packet's edge */
			budget--;
			if (got < NET_HDR_LEN) {
				nq->rx_dropped++;
				continue;
			}
			if (!virtio_has(q->vp, NET_F_GUEST_CSUM))
				nq->buf[0] &= ~NET_HDR_F_DATA_VALID;
			nq->len = (size_t)got;
			nq->off = 0;
		}
		r = rx_place(nq);
		if (r < 0)
			return;
		if (r > 0) {
			pushed = true;
			continue;
		}
		/* Out of buffers: wait for a kick, unless some came. */
		if (!virtq_enable_notify(&q->vq))
			goto out;
		virtq_disable_notify(&q->vq);
	}
	if (!budget && write(q->notify_fd, &one, sizeof(one)) < 0)
		pr_warn("%s: cannot reschedule receive: %s", nq->net->name,
			strerror(errno));
out:
	if (pushed && virtq_need_irq(&q->vq))
		virtio_queue_irq(q);
}

/* Send the guest's packets to the tap. txq->lock held, txq live. */
static void tx_run(struct net_queue *nq)
{
	struct virtio_queue *q = nq->txq;
	struct virtq_elem *e = &nq->tx_elem;
	unsigned budget = NET_BUDGET;
	bool pushed = false;
	u64 one = 1;
	int r = 0;

	virtq_disable_notify(&q->vq);
	do {
		while (budget && (r = virtq_pop(&q->vq, e)) > 0) {
			budget--;
			if (e->out_len < NET_HDR_LEN) {
				virtio_queue_fail(q, "packet without a header");
				return;
			}
			if (writev(nq->fd, e->iov, (int)e->nr_out) < 0) {
				nq->tx_dropped++;
				if (errno != EIO && errno != EAGAIN &&
				    dev_ratelimit_ok(&nq->tx_rl, LOG_WARN))
					pr_warn("%s: tap %s: write: %s",
						nq->net->name, nq->net->ifname,
						strerror(errno));
			} else {
				nq->tx_packets++;
			}
			virtq_push(&q->vq, e->head, 0);
			pushed = true;
		}
		if (!budget) {
			/* Let the other queues of this thread have a turn. */
			if (write(q->notify_fd, &one, sizeof(one)) < 0)
				pr_warn("%s: cannot reschedule transmit: %s",
					nq->net->name, strerror(errno));
			break;
		}
		if (r < 0) {
			virtio_queue_fail(q, "bad descriptor chain");
			return;
		}
	} while (virtq_enable_notify(&q->vq));
	if (pushed && virtq_need_irq(&q->vq))
		virtio_queue_irq(q);
}

/* Attach the first pairs queues to the tap, detach the rest. */
static int set_active(struct virtio_net *n, unsigned pairs)
{
	unsigned i;

	for (i = 0; n->nr_pairs > 1 && i < n->nr_pairs; i++) {
		struct net_queue *nq = &n->nq[i];
		bool want = i < pairs;
		struct ifreq ifr = { 0 };

		if (nq->attached == want)
			continue;
		if (!n->is_tap) {	/* a socket pair has no queues to switch */
			nq->attached = want;
			continue;
		}
		ifr.ifr_flags = want ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
		if (ioctl(nq->fd, TUNSETQUEUE, &ifr) < 0) {
			pr_warn("%s: tap %s: %s queue %u: %s", n->name,
				n->ifname, want ? "attach" : "detach", i,
				strerror(errno));
			return -errno;
		}
		nq->attached = want;
	}
	n->active_pairs = pairs;
	return 0;
}

/* One control command; returns the ack. */
static u8 ctrl_cmd(struct virtio_net *n, const struct virtq_elem *e)
{
	u8 h[2];
	u16 pairs;

	if (iov_to_buf(e->iov, e->nr_out, 0, h, 2) != 2)
		return NET_ERR;
	if (h[0] != NET_CTRL_MQ || h[1] != NET_CTRL_MQ_VQ_PAIRS_SET ||
	    !virtio_has(&n->vp, NET_F_MQ) ||
	    iov_to_buf(e->iov, e->nr_out, 2, &pairs, 2) != 2)
		return NET_ERR;
	if (!pairs || pairs > n->nr_pairs)
		return NET_ERR;
	return set_active(n, pairs) ? NET_ERR : NET_OK;
}

static void ctrl_run(struct virtio_net *n, struct virtio_queue *q)
{
	struct virtq_elem *e = &n->ctrl_elem;
	bool pushed = false;
	u8 ack;
	int r;

	virtq_disable_notify(&q->vq);
	do {
		while ((r = virtq_pop(&q->vq, e)) > 0) {
			if (!e->in_len) {
				virtio_queue_fail(q, "control command without an ack byte");
				return;
			}
			ack = ctrl_cmd(n, e);
			iov_from_buf(e->iov + e->nr_out, e->nr_in,
				     e->in_len - 1, &ack, 1);
			virtq_push(&q->vq, e->head, 1);
			pushed = true;
		}
		if (r < 0) {
			virtio_queue_fail(q, "bad descriptor chain");
			return;
		}
	} while (virtq_enable_notify(&q->vq));
	if (pushed && virtq_need_irq(&q->vq))
		virtio_queue_irq(q);
}

/* Guest kick: on the queue's I/O thread, q->lock held. */
static void queue_notify(struct virtio_queue *q)
{
	struct virtio_net *n = container_of(q->vp, struct virtio_net, vp);

	if (q->idx == 2 * n->nr_pairs)
		ctrl_run(n, q);
	else if (q->idx % 2)
		tx_run(&n->nq[q->idx / 2]);
	else
		rx_run(&n->nq[q->idx / 2]);
}

/* Reset: nothing is in flight; forget the packet being received. */
static void queue_reset(struct virtio_queue *q)
{
	struct virtio_net *n = container_of(q->vp, struct virtio_net, vp);
	struct net_queue *nq;

	if (q->idx == 2 * n->nr_pairs) {
		set_active(n, 1);	/* the first pair only, as after reset */
		return;
	}
	if (q->idx % 2)
		return;
	nq = &n->nq[q->idx / 2];
	rx_forget(nq);
	if (nq->offload_set)
		set_offload(nq, 0);
	nq->offload_set = false;
}

/* The tap has packets: on the receive queue's I/O thread. */
static void tap_handler(struct iothread_handler *h, u32 events)
{
	struct net_queue *nq = container_of(h, struct net_queue, tap_h);

	pthread_mutex_lock(&nq->rxq->lock);
	if (nq->rxq->live)
		rx_run(nq);
	pthread_mutex_unlock(&nq->rxq->lock);
}

static const struct virtio_dev_ops net_ops = {
	.cfg_read = cfg_read,
	.queue_notify = queue_notify,
	.queue_reset = queue_reset,
};

/* Ring r (VHOST_NET_RX/TX) of pair p to its vhost-net instance. */
static int vhost_ring(struct virtio_net *n, unsigned p, unsigned r)
{
	struct virtio_pci *vp = &n->vp;
	struct virtio_queue *q = &vp->q[2 * p + r];
	int fd = n->vhost_fd[p], e;
	void *desc, *avail, *used;

	if (q->msix_vector >= vp->pci.msix.nr) {
		pr_err("%s: queue %u has no MSI-X vector: vhost-net needs one per queue",
		       n->name, q->idx);
		return -EINVAL;
	}
	desc = gpa_to_hva(vp->mem, q->desc, 16ULL * q->size);
	avail = gpa_to_hva(vp->mem, q->driver, 6 + 2ULL * q->size);
	used = gpa_to_hva(vp->mem, q->device, 6 + 8ULL * q->size);
	if (!desc || !avail || !used)
		return -EINVAL;
	e = vhost_set_vring_num(fd, r, q->size);
	if (!e)
		e = vhost_set_vring_base(fd, r, 0);
	if (!e)
		e = vhost_set_vring_addr(fd, r, desc, avail, used);
	if (!e)
		e = vhost_set_vring_kick(fd, r, q->notify_fd);
	if (!e)
		e = vhost_set_vring_call(fd, r, vp->pci.msix.fd[q->msix_vector]);
	if (!e)
		e = vhost_net_set_backend(fd, r, n->tap_fd[p]);
	if (e)
		pr_err("%s: vhost-net: queue %u: %s", n->name, q->idx, strerror(-e));
	return e;
}

/*
 * DRIVER_OK with vhost-net: every pair whose two queues the driver
 * enabled goes to its vhost-net instance; the control queue is ours.
 */
/* VHOST_SET_MEM_TABLE with every mapped region of guest RAM. */
static int vhost_mem_table(int fd, const struct guest_mem *m)
{
	struct vhost_mem_region t[GUEST_MEM_MAX_REGIONS];
	unsigned i, n = 0;

	for (i = 0; i < m->nr; i++) {
		if (!m->regions[i].hva)
			continue;
		t[n].gpa = m->regions[i].gpa;
		t[n].size = m->regions[i].size;
		t[n].hva = m->regions[i].hva;
		n++;
	}
	return vhost_set_mem_table(fd, t, n);
}

static int vhost_start(struct virtio_pci *vp)
{
	struct virtio_net *n = container_of(vp, struct virtio_net, vp);
	struct virtio_queue *ctrl = &vp->q[2 * n->nr_pairs];
	unsigned p;
	int r = 0;

	if (!atomic_load(&vp->pci.msix.enabled)) {
		pr_err("%s: the guest did not enable MSI-X: vhost-net needs it", n->name);
		return -EINVAL;
	}
	for (p = 0; p < n->nr_pairs && !r; p++) {
		int fd = n->vhost_fd[p];

		if (!vp->q[2 * p].enabled || !vp->q[2 * p + 1].enabled)
			continue;
		r = vhost_set_features(fd, vp->drv_features & n->vhost_features);
		if (!r)
			r = vhost_mem_table(fd, vp->mem);
		if (r) {
			pr_err("%s: vhost-net: %s", n->name, strerror(-r));
			break;
		}
		n->handed[p] = true;
		r = vhost_ring(n, p, VHOST_NET_RX);
		if (!r)
			r = vhost_ring(n, p, VHOST_NET_TX);
		set_offload(&n->nq[p], rx_offloads(vp));
		n->nq[p].offload_set = true;
	}
	if (!r && ctrl->enabled)
		r = virtio_queue_start(ctrl);
	return r;
}

/* Reset: take the rings back from vhost-net. */
static void vhost_stop(struct virtio_pci *vp)
{
	struct virtio_net *n = container_of(vp, struct virtio_net, vp);
	unsigned p, r, base;

	for (p = 0; p < n->nr_pairs; p++) {
		if (!n->handed[p])
			continue;
		n->handed[p] = false;
		for (r = VHOST_NET_RX; r <= VHOST_NET_TX; r++) {
			vhost_net_set_backend(n->vhost_fd[p], r, -1);
			vhost_get_vring_base(n->vhost_fd[p], r, &base);
		}
		set_offload(&n->nq[p], 0);
		n->nq[p].offload_set = false;
	}
}

static const struct virtio_dev_ops net_vhost_ops = {
	.cfg_read = cfg_read,
	.queue_notify = queue_notify,	/* the control queue only */
	.queue_reset = queue_reset,
	.start = vhost_start,
	.stop = vhost_stop,
};

/* Ring features vhost-net must serve for the driver to have them. */
#define NET_RING_FEATURES	((1ULL << NET_F_MRG_RXBUF) | \
				 (1ULL << VIRTIO_F_EVENT_IDX) | \
				 (1ULL << VIRTIO_F_INDIRECT_DESC) | \
				 (1ULL << VIRTIO_F_VERSION_1))

/*
 * Open one vhost-net instance per pair when asked (o->vhost 1) or when
 * there (-1). 1 when in use, 0 when not, -errno when it must be and
 * cannot.
 */
static int vhost_open_all(struct virtio_net *n, const struct virtio_net_opts *o)
{
	unsigned i;
	int fd, r;

	if (!o->vhost || (o->vhost < 0 && !vhost_net_available()))
		return 0;
	n->vhost_fd = malloc(n->nr_pairs * sizeof(*n->vhost_fd));
	n->handed = calloc(n->nr_pairs, sizeof(*n->handed));
	if (!n->vhost_fd || !n->handed)
		return -ENOMEM;
	for (i = 0; i < n->nr_pairs; i++)
		n->vhost_fd[i] = -1;
	for (i = 0; i < n->nr_pairs; i++) {
		fd = vhost_net_open();
		if (fd < 0)
			return fd;
		n->vhost_fd[i] = fd;
	}
	r = vhost_get_features(n->vhost_fd[0], &n->vhost_features);
	if (r) {
		pr_err("net %s: VHOST_GET_FEATURES: %s", o->tap, strerror(-r));
		return r;
	}
	if (!(n->vhost_features & (1ULL << VIRTIO_F_VERSION_1))) {
		pr_err("net %s: this vhost-net lacks VIRTIO_F_VERSION_1", o->tap);
		return -EOPNOTSUPP;
	}
	return 1;
}

static void vhost_close_all(struct virtio_net *n)
{
	unsigned i;

	for (i = 0; n->vhost_fd && i < n->nr_pairs; i++)
		if (n->vhost_fd[i] >= 0)
			close(n->vhost_fd[i]);
	free(n->vhost_fd);
	free(n->handed);
	n->vhost_fd = NULL;
	n->handed = NULL;
}

/* Open queue i of the tap (creating the interface with the first). */
static int open_tap(struct virtio_net *n, unsigned i, const char *name)
{
	struct ifreq ifr = { 0 };
	int fd, hdr = NET_HDR_LEN;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		pr_err("net %s: /dev/net/tun: %s (is the tun module loaded?)",
		       name, strerror(errno));
		return -errno;
	}
	n->tap_fd[i] = fd;
	n->nq[i].fd = fd;
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR |
			(n->nr_pairs > 1 ? IFF_MULTI_QUEUE : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int r = -errno;

		if (r == -EINVAL)
			pr_err("net %s: the tap refuses %s (it exists as %s-queue or not as a tap: see \"ip tuntap\")",
			       name, n->nr_pairs > 1 ? "multi_queue" :
			       "single-queue use", n->nr_pairs > 1 ? "single" :
			       "multi");
		else if (r == -EPERM)
			pr_err("net %s: %s (needs CAP_NET_ADMIN, or a tap made for this user)",
			       name, strerror(-r));
		else
			pr_err("net %s: TUNSETIFF: %s", name, strerror(-r));
		return r;
	}
	if (!i)
		snprintf(n->ifname, sizeof(n->ifname), "%s", ifr.ifr_name);
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 ||
	    ioctl(fd, TUNSETOFFLOAD, 0) < 0) {
		pr_err("net %s: cannot set up the virtio-net header: %s", name,
		       strerror(errno));
		return -errno;
	}
	n->nq[i].attached = true;
	return 0;
}

/* Take over descriptor fd for pair i (opts.fds): a tap or a socket. */
static int adopt_fd(struct virtio_net *n, unsigned i, int fd, const char *name)
{
	struct ifreq ifr = { 0 };
	struct stat st;
	int hdr = NET_HDR_LEN, fl;

	n->tap_fd[i] = n->nq[i].fd = fd;
	if (fd < 0 || fstat(fd, &st)) {
		pr_err("net %s: descriptor %d: %s", name, fd, strerror(EBADF));
		return -EBADF;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	n->nq[i].attached = true;
	if (ioctl(fd, TUNGETIFF, &ifr) == 0) {
		if (!i) {
			n->is_tap = true;
			snprintf(n->ifname, sizeof(n->ifname), "%s", ifr.ifr_name);
		}
		if (!(ifr.ifr_flags & IFF_VNET_HDR) || !(ifr.ifr_flags & IFF_TAP) ||
		    ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 ||
		    ioctl(fd, TUNSETOFFLOAD, 0) < 0) {
			pr_err("net %s: descriptor %d is not a tap with virtio-net headers",
			       name, fd);
			return -EINVAL;
		}
		return 0;
	}
	if (!S_ISSOCK(st.st_mode) || n->is_tap) {
		pr_err("net %s: descriptor %d is neither a tap nor a socket", name, fd);
		return -EINVAL;
	}
	if (!i)
		snprintf(n->ifname, sizeof(n->ifname), "fd%d", fd);
	return 0;
}

static int queue_init(struct virtio_net *n, unsigned i)
{
	struct net_queue *nq = &n->nq[i];
	int r;

	nq->net = n;
	nq->pair = i;
	nq->rxq = &n->vp.q[2 * i];
	nq->txq = &n->vp.q[2 * i + 1];
	nq->rxq->priv = nq->txq->priv = nq;
	nq->buf = malloc(NET_BUF_SIZE);
	nq->heads = calloc(VIRTIO_NET_QUEUE_SIZE, sizeof(*nq->heads));
	nq->lens = calloc(VIRTIO_NET_QUEUE_SIZE, sizeof(*nq->lens));
	if (!nq->buf || !nq->heads || !nq->lens)
		return -ENOMEM;
	nq->tap_h = (struct iothread_handler){ tap_handler, nq->fd };
	if (n->vhost_fd) {
		/* vhost-net reads the kicks and the tap: we must not. */
		if (nq->rxq->iot)
			iothread_del(nq->rxq->iot, &nq->rxq->notify_h);
		if (nq->txq->iot)
			iothread_del(nq->txq->iot, &nq->txq->notify_h);
		nq->rxq->iot = nq->txq->iot = NULL;
		return 0;
	}
	if (!nq->rxq->iot)
		return 0;
	r = iothread_add(nq->rxq->iot, &nq->tap_h, EPOLLIN | EPOLLET);
	if (!r)
		nq->tap_iot = nq->rxq->iot;
	return r;
}

int virtio_net_create(struct virtio_net *n, unsigned idx,
		      const struct virtio_net_opts *o, struct kvm_vm *kvm,
		      struct irq_router *irq, const struct guest_mem *mem,
		      struct iothread **iots, unsigned nr_iots)
{
	u64 f = (1ULL << NET_F_CSUM) | (1ULL << NET_F_GUEST_CSUM) |
		(1ULL << NET_F_MAC) | (1ULL << NET_F_GUEST_TSO4) |
		(1ULL << NET_F_GUEST_TSO6) | (1ULL << NET_F_HOST_TSO4) |
		(1ULL << NET_F_HOST_TSO6) | (1ULL << NET_F_MRG_RXBUF) |
		(1ULL << NET_F_STATUS) | (1ULL << NET_F_CTRL_VQ);
	unsigned i, np = o->queues ? o->queues : 1;
	int r;

	memset(n, 0, sizeof(*n));
	if (np > VIRTIO_NET_MAX_PAIRS) {
		r = -EINVAL;
		goto out_free;
	}
	snprintf(n->name, sizeof(n->name), "virtio-net%u", idx);
	n->nr_pairs = np;
	if (np > 1)
		f |= 1ULL << NET_F_MQ;
	if (o->mac) {
		memcpy(n->mac, o->mac, 6);
	} else {
		if (getrandom(n->mac, 6, 0) != 6) {
			pr_err("net %s: no random MAC address: %s", o->tap,
			       strerror(errno));
			r = -EIO;
			goto out_free;
		}
		/* Unicast, locally administered. */
		n->mac[0] = (u8)((n->mac[0] & ~1) | 2);
	}
	n->tap_fd = malloc(np * sizeof(*n->tap_fd));
	n->nq = calloc(np, sizeof(*n->nq));
	if (n->tap_fd)		/* before any exit: out_free closes them */
		for (i = 0; i < np; i++)
			n->tap_fd[i] = o->fds ? o->fds[i] : -1;
	if (!n->tap_fd || !n->nq) {
		r = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < np; i++)
		n->nq[i].fd = -1;
	for (i = 0; i < np; i++) {
		r = o->fds ? adopt_fd(n, i, o->fds[i], o->tap ? o->tap : "fd") :
		     open_tap(n, i, o->tap);
		if (r)
			goto out_free;
	}
	if (!o->fds)
		n->is_tap = true;
	r = vhost_open_all(n, o);
	if (r < 0)
		goto out_free;
	r = virtio_pci_init(&n->vp, n->name, VIRTIO_ID_NET, 0x020000, f,
			    (u16)(2 * np + 1), VIRTIO_NET_QUEUE_SIZE,
			    NET_CFG_SIZE, n->vhost_fd ? &net_vhost_ops : &net_ops,
			    kvm, irq, mem, iots, nr_iots);
	if (r)
		goto out_free;
	if (n->vhost_fd)	/* ring features only as far as vhost serves them */
		n->vp.dev_features &= ~NET_RING_FEATURES |
				      (n->vhost_features & NET_RING_FEATURES);
	for (i = 0; i < np; i++) {
		r = queue_init(n, i);
		if (r)
			goto out_destroy;
	}
	r = set_active(n, 1);
	if (r)
		goto out_destroy;
	if (o->vhost < 0 && !n->vhost_fd)
		pr_info("%s: no %s: packets go through the I/O threads",
			n->name, VHOST_NET_DEV);
	pr_info("%s: tap %s, %u queue pairs, MAC %02x:%02x:%02x:%02x:%02x:%02x%s",
		n->name, n->ifname, np, n->mac[0], n->mac[1], n->mac[2],
		n->mac[3], n->mac[4], n->mac[5], n->vhost_fd ? ", vhost-net" : "");
	return 0;
out_destroy:
	virtio_net_destroy(n);
	return r;
out_free:
	vhost_close_all(n);
	for (i = 0; n->tap_fd && i < np; i++)
		if (n->tap_fd[i] >= 0)
			close(n->tap_fd[i]);
	for (i = 0; !n->tap_fd && o->fds && i < np &&
	     i < VIRTIO_NET_MAX_PAIRS; i++)
		if (o->fds[i] >= 0)	/* ours even when we never got to them */
			close(o->fds[i]);
	free(n->tap_fd);
	free(n->nq);
	n->tap_fd = NULL;
	n->nq = NULL;
	return r;
}

void virtio_net_destroy(struct virtio_net *n)
{
	unsigned i;

	if (!n->nq)
		return;
	pthread_mutex_lock(&n->vp.lock);
	if (n->vp.started && n->vp.ops->stop)
		n->vp.ops->stop(&n->vp);
	n->vp.started = false;
	pthread_mutex_unlock(&n->vp.lock);
	virtio_pci_destroy(&n->vp);	/* resets the queues */
	for (i = 0; i < n->nr_pairs; i++) {
		struct net_queue *nq = &n->nq[i];

		if (nq->tap_iot)
			iothread_del(nq->tap_iot, &nq->tap_h);
		if (n->tap_fd[i] >= 0)
			close(n->tap_fd[i]);
		free(nq->buf);
		free(nq->heads);
		free(nq->lens);
	}
	vhost_close_all(n);
	free(n->tap_fd);
	free(n->nq);
	n->tap_fd = NULL;
	n->nq = NULL;
}
