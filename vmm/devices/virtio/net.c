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
#include <unistd.h>

#include "devices.h"
#include "virtio_net.h"

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
};

static struct dev_ratelimit rl;

static void cfg_read(struct virtio_pci *vp, u32 off, u8 *data, u32 len)
{
	struct virtio_net *n = (struct virtio_net *)vp;
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
	if (ioctl(nq->fd, TUNSETOFFLOAD, f) < 0 &&
	    dev_ratelimit_ok(&rl, LOG_WARN))
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
		if (nq->off < nq->len && nq->nr_heads == q->vq.size) {
			fail(nq, q, "receive buffers too small for a packet");
			return -1;
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
				    dev_ratelimit_ok(&rl, LOG_WARN))
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
	struct virtio_net *n = q->vp->opaque;

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
	struct virtio_net *n = q->vp->opaque;
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
	struct net_queue *nq = (struct net_queue *)
		((u8 *)h - offsetof(struct net_queue, tap_h));

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
	if (np > VIRTIO_NET_MAX_PAIRS)
		return -EINVAL;
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
			return -EIO;
		}
		/* Unicast, locally administered. */
		n->mac[0] = (u8)((n->mac[0] & ~1) | 2);
	}
	n->tap_fd = malloc(np * sizeof(*n->tap_fd));
	n->nq = calloc(np, sizeof(*n->nq));
	if (!n->tap_fd || !n->nq) {
		r = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < np; i++)
		n->tap_fd[i] = n->nq[i].fd = -1;
	for (i = 0; i < np; i++) {
		r = open_tap(n, i, o->tap);
		if (r)
			goto out_free;
	}
	r = virtio_pci_init(&n->vp, n->name, VIRTIO_ID_NET, 0x020000, f,
			    (u16)(2 * np + 1), VIRTIO_NET_QUEUE_SIZE,
			    NET_CFG_SIZE, &net_ops, n, kvm, irq, mem, iots,
			    nr_iots);
	if (r)
		goto out_free;
	for (i = 0; i < np; i++) {
		r = queue_init(n, i);
		if (r)
			goto out_destroy;
	}
	r = set_active(n, 1);
	if (r)
		goto out_destroy;
	pr_info("%s: tap %s, %u queue pairs, MAC %02x:%02x:%02x:%02x:%02x:%02x",
		n->name, n->ifname, np, n->mac[0], n->mac[1], n->mac[2],
		n->mac[3], n->mac[4], n->mac[5]);
	return 0;
out_destroy:
	virtio_net_destroy(n);
	return r;
out_free:
	for (i = 0; n->tap_fd && i < np; i++)
		if (n->tap_fd[i] >= 0)
			close(n->tap_fd[i]);
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
	free(n->tap_fd);
	free(n->nq);
	n->tap_fd = NULL;
	n->nq = NULL;
}
