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
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#include "vmm/devices/devices.h"
#include "vmm/devices/virtio_net.h"
#include "vmm/vhost_net.h"

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
#define NET_F_GUEST_ANNOUNCE	21
#define NET_F_MQ		22

#define NET_S_LINK_UP		1
#define NET_S_ANNOUNCE		2
#define NET_HDR_LEN		VIRTIO_NET_HDR_LEN
#define NET_HDR_F_DATA_VALID	2
#define NET_HDR_NUM_BUFFERS	10	/* offset of num_buffers */
#define NET_CFG_SIZE		12
#define NET_BUF_SIZE		(NET_HDR_LEN + 65536 + 256)
#define NET_BUDGET		256	/* packets per queue and turn */

/* Control queue (5.1.6.5). */
#define NET_CTRL_ANNOUNCE	3
#define NET_CTRL_ANNOUNCE_ACK	0
#define NET_CTRL_MQ		4
#define NET_CTRL_MQ_VQ_PAIRS_SET 0
#define NET_OK			0
#define NET_ERR			1

static void cfg_read(struct virtio_pci *vp, u32 off, u8 *data, u32 len)
{
	struct virtio_net *n = container_of(vp, struct virtio_net, vp);
	u8 c[NET_CFG_SIZE] = { 0 };

	memcpy(c, n->mac, 6);
	c[6] = NET_S_LINK_UP;			/* status */
	if (atomic_load(&n->announce))
		c[6] |= NET_S_ANNOUNCE;
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

/*
 * Whether the driver can be asked to announce itself: it took
 * GUEST_ANNOUNCE and the control queue its ack comes on (the feature
 * needs it, 5.1.3.1), and it is running.
 */
static bool can_announce(const struct virtio_pci *vp)
{
	return virtio_has(vp, NET_F_GUEST_ANNOUNCE) &&
	       virtio_has(vp, NET_F_CTRL_VQ) &&
	       (atomic_load(&vp->status) & VIRTIO_STATUS_DRIVER_OK);
}

/*
 * Ask the driver to announce itself (5.1.6.5.4): the ANNOUNCE status
 * bit, and a config change interrupt. vp->lock held.
 */
static bool announce(struct virtio_net *n)
{
	if (!can_announce(&n->vp))
		return false;
	atomic_store(&n->announce, true);
	virtio_config_changed(&n->vp);
	return true;
}

bool virtio_net_announce(struct virtio_net *n)
{
	bool r;

	pthread_mutex_lock(&n->vp.lock);
	r = announce(n);
	pthread_mutex_unlock(&n->vp.lock);
	return r;
}

/*
 * One control command; returns the ack. ANNOUNCE_ACK has no data: the
 * driver sent its gratuitous packets and the bit goes.
 */
static u8 ctrl_cmd(struct virtio_net *n, const struct virtq_elem *e)
{
	u8 h[2];
	u16 pairs;

	if (iov_to_buf(e->iov, e->nr_out, 0, h, 2) != 2)
		return NET_ERR;
	if (h[0] == NET_CTRL_ANNOUNCE) {
		if (h[1] != NET_CTRL_ANNOUNCE_ACK || e->out_len != 2 ||
		    !virtio_has(&n->vp, NET_F_GUEST_ANNOUNCE))
			return NET_ERR;
		atomic_store(&n->announce, false);
		return NET_OK;
	}
	if (h[0] != NET_CTRL_MQ || h[1] != NET_CTRL_MQ_VQ_PAIRS_SET ||
	    !virtio_has(&n->vp, NET_F_MQ) ||
	    iov_to_buf(e->iov, e->nr_out, 2, &pairs, 2) != 2)
		return NET_ERR;
	if (!pairs || pairs > n->nr_pairs)
		return NET_ERR;
	return virtio_net_set_active(n, pairs) ? NET_ERR : NET_OK;
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
		virtio_net_set_active(n, 1);	/* the first pair only, as after reset */
		atomic_store(&n->announce, false);
		n->announce_due = false;
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
	if (nq->rxq->paused)
		nq->rxq->kicked = true;	/* the tap is read at resume */
	else if (nq->rxq->live)
		rx_run(nq);
	pthread_mutex_unlock(&nq->rxq->lock);
}

/*
 * Pause (q->lock held, parked). A packet being received may have taken
 * some receive buffers without publishing them: give them back (the
 * chains were the next ones in the ring, nothing else takes from it) and
 * keep the whole packet, which a save carries and resume places first.
 */
static void queue_pause(struct virtio_queue *q)
{
	struct virtio_net *n = container_of(q->vp, struct virtio_net, vp);
	struct net_queue *nq;

	if (q->idx >= 2 * n->nr_pairs || q->idx % 2)
		return;
	nq = &n->nq[q->idx / 2];
	if (q->live)
		q->vq.last_avail -= (u16)nq->nr_heads;
	else
		nq->len = 0;
	nq->off = 0;
	nq->nr_heads = 0;
	q->kicked |= nq->len > 0;	/* placed again at resume */
}

/*
 * The device's own state: its MAC and queue pairs (another one is
 * refused), the pairs in use, each pair's waiting packet ("rx.len" per
 * pair, the packets one after another in "rx.packets") and, since
 * version 2, an announcement the driver has not acked yet ("announce",
 * optional: false).
 */
static int net_save(struct virtio_pci *vp, struct state_writer *w)
{
	struct virtio_net *n = container_of(vp, struct virtio_net, vp);
	u32 *len = calloc(n->nr_pairs, sizeof(*len)), i, total = 0;
	u8 *pkts;

	for (i = 0; len && i < n->nr_pairs; i++)
		total += len[i] = (u32)n->nq[i].len;
	pkts = len ? malloc(total + 1) : NULL;
	if (!pkts) {
		free(len);
		return -ENOMEM;
	}
	for (i = 0, total = 0; i < n->nr_pairs; total += len[i++])
		memcpy(pkts + total, n->nq[i].buf, len[i]);
	STATE_PUT(w, n, mac);
	STATE_PUT(w, n, nr_pairs);
	STATE_PUT(w, n, active_pairs);
	state_put(w, "rx.len", len, n->nr_pairs * (u32)sizeof(*len));
	state_put(w, "rx.packets", pkts, total);
	state_put_bool(w, "announce", atomic_load(&n->announce));
	free(len);
	free(pkts);
	return w->err;
}

static int net_load(struct virtio_pci *vp, struct state_reader *r)
{
	struct virtio_net *n = container_of(vp, struct virtio_net, vp);
	u32 *len = calloc(n->nr_pairs, sizeof(*len)), i, sz, total = 0;
	unsigned pairs, active;
	const u8 *pkts;
	u8 mac[6], ann = 0;
	int e = len ? state_get(r, "mac", mac, 6) : -ENOMEM;

	e = e ? e : state_get(r, "nr_pairs", &pairs, sizeof(pairs));
	e = e ? e : state_get(r, "active_pairs", &active, sizeof(active));
	e = e ? e : state_get(r, "rx.len", len, n->nr_pairs * (u32)sizeof(*len));
	e = e ? e : state_get_opt(r, "announce", &ann, 1);
	if (!e && ann > 1)
		e = state_refuse(r, "field announce is %u, not a boolean", ann);
	/* A MAC nobody chose is the saved one: the guest knows it by that. */
	if (!e && n->mac_random)
		memcpy(n->mac, mac, 6);
	if (!e && memcmp(mac, n->mac, 6))
		e = state_refuse(r, "MAC %02x:%02x:%02x:%02x:%02x:%02x, this one's is %02x:%02x:%02x:%02x:%02x:%02x",
				 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
				 n->mac[0], n->mac[1], n->mac[2], n->mac[3],
				 n->mac[4], n->mac[5]);
	if (!e && pairs != n->nr_pairs)
		e = state_refuse(r, "%u queue pairs, this one has %u", pairs,
				 n->nr_pairs);
	if (!e && (!active || active > n->nr_pairs))
		e = state_refuse(r, "%u pairs in use of %u", active, n->nr_pairs);
	for (i = 0; !e && i < n->nr_pairs; total += len[i++])
		if (len[i] && (len[i] < NET_HDR_LEN || len[i] > NET_BUF_SIZE))
			e = state_refuse(r, "a waiting packet of %u bytes", len[i]);
	pkts = e ? NULL : state_get_var(r, "rx.packets", &sz);
	if (!e && !pkts)
		e = -ENOENT;
	if (!e && sz != total)
		e = state_refuse(r, "rx.packets has %u bytes, rx.len says %u",
				 sz, total);
	if (!e && virtio_net_set_active(n, active))
		e = state_refuse(r, "the tap would not take %u queue pairs",
				 active);
	for (i = 0, total = 0; !e && i < n->nr_pairs; total += len[i++]) {
		memcpy(n->nq[i].buf, pkts + total, len[i]);
		n->nq[i].len = len[i];
		n->nq[i].off = 0;
	}
	if (!e) {
		atomic_store(&n->announce, ann);
		/* The guest is somewhere new: its peers must learn it again. */
		n->announce_due = true;
	}
	free(len);
	return e;
}

/*
 * Resume, still paused: after a load the driver announces itself; the
 * config interrupt goes out with those pause held. A driver that cannot
 * (the feature not taken, or not running) has no bit to see.
 */
static void net_resume(struct virtio_pci *vp)
{
	struct virtio_net *n = container_of(vp, struct virtio_net, vp);

	if (n->announce_due)
		announce(n);
	n->announce_due = false;
	if (!can_announce(vp))
		atomic_store(&n->announce, false);
}


/*
 * The back end's start (virtio.h): every pair whose two queues the
 * driver enabled goes to its vhost-net instance (rings come in queue
 * order); the control queue is the transport's.
 */
static int pairs_start(struct virtio_pci *vp,
		       const struct virtio_backend_ring *r, unsigned nr)
{
	struct virtio_net *n = container_of(vp, struct virtio_net, vp);
	unsigned i, p;
	int e = 0;

	for (i = 0; i + 1 < nr && !e; i++) {
		if (r[i].idx % 2 || r[i + 1].idx != r[i].idx + 1)
			continue;	/* half a pair: nobody serves it */
		p = r[i].idx / 2;
		e = vhostnet_start(&n->vhost, p, &r[i], &r[i + 1],
				   n->tap_fd[p], vp->drv_features, vp->mem,
				   n->name);
		set_offload(&n->nq[p], rx_offloads(vp));
		n->nq[p].offload_set = true;
		i++;
	}
	return e;
}

/* The back end's stop: every handed pair back, at once. */
static void pairs_stop(struct virtio_pci *vp)
{
	struct virtio_net *n = container_of(vp, struct virtio_net, vp);
	unsigned p;

	for (p = 0; p < n->nr_pairs; p++) {
		if (!n->vhost.handed[p])
			continue;
		set_offload(&n->nq[p], 0);
		n->nq[p].offload_set = false;
	}
	vhostnet_stop(&n->vhost, n->base);
	virtio_backend_stopped(vp, n->base);
}

/* start and stop only ever run with vhost-net (the back end's queues). */
static const struct virtio_dev_ops net_ops = {
	.cfg_read = cfg_read,
	.queue_notify = queue_notify,	/* with vhost-net: the control queue */
	.queue_reset = queue_reset,
	.queue_pause = queue_pause,
	.save = net_save,
	.load = net_load,
	.resume = net_resume,
	.start = pairs_start,
	.stop = pairs_stop,
};

/* Ring features vhost-net must serve for the driver to have them. */
#define NET_RING_FEATURES	((1ULL << NET_F_MRG_RXBUF) | \
				 (1ULL << VIRTIO_F_EVENT_IDX) | \
				 (1ULL << VIRTIO_F_INDIRECT_DESC) | \
				 (1ULL << VIRTIO_F_VERSION_1))

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
	/* No I/O thread, or the back end's queues: vhost-net reads the tap. */
	if (!nq->rxq->iot)
		return 0;
	r = iothread_add(nq->rxq->iot, &nq->tap_h, EPOLLIN | EPOLLET);
	if (!r)
		nq->tap_iot = nq->rxq->iot;
	return r;
}

/* Also after a partial create: every part checks it was made. */
static void net_free(struct virtio_net *n)
{
	unsigned i;

	for (i = 0; n->nq && i < n->nr_pairs; i++) {
		struct net_queue *nq = &n->nq[i];

		if (nq->tap_iot)
			iothread_del(nq->tap_iot, &nq->tap_h);
		free(nq->buf);
		free(nq->heads);
		free(nq->lens);
	}
	for (i = 0; n->tap_fd && i < n->nr_pairs; i++)
		if (n->tap_fd[i] >= 0)
			close(n->tap_fd[i]);
	vhostnet_close(&n->vhost);
	free(n->tap_fd);
	free(n->nq);
	free(n->base);
	n->tap_fd = NULL;
	n->nq = NULL;
	n->base = NULL;
}

static void net_destroy(struct device *d)
{
	struct virtio_net *n = container_of(d, struct virtio_net, vp.dev);

	pthread_mutex_lock(&n->vp.lock);
	virtio_backend_stop(&n->vp, true);
	pthread_mutex_unlock(&n->vp.lock);
	virtio_pci_destroy(&n->vp);	/* resets the queues */
	net_free(n);
}

static const struct device_ops net_dev_ops =
	VIRTIO_DEVICE_OPS("virtio-net", 2, net_destroy);

int virtio_net_create(struct virtio_net *n, unsigned idx,
		      const struct virtio_net_opts *o, struct device_manager *dm,
		      const struct guest_mem *mem, struct iothread **iots,
		      unsigned nr_iots)
{
	u64 f = (1ULL << NET_F_CSUM) | (1ULL << NET_F_GUEST_CSUM) |
		(1ULL << NET_F_MAC) | (1ULL << NET_F_GUEST_TSO4) |
		(1ULL << NET_F_GUEST_TSO6) | (1ULL << NET_F_HOST_TSO4) |
		(1ULL << NET_F_HOST_TSO6) | (1ULL << NET_F_MRG_RXBUF) |
		(1ULL << NET_F_STATUS) | (1ULL << NET_F_CTRL_VQ) |
		(1ULL << NET_F_GUEST_ANNOUNCE);
	unsigned i, np = o->queues ? o->queues : 1;
	struct virtio_pci_conf c = {
		.name = n->name, .device_id = VIRTIO_ID_NET,
		.class_code = 0x020000, .nr_queues = (u16)(2 * np + 1),
		.queue_max = VIRTIO_NET_QUEUE_SIZE, .cfg_size = NET_CFG_SIZE,
		.ops = &net_ops, .dev_ops = &net_dev_ops, .dm = dm, .mem = mem,
		.iots = iots, .nr_iots = nr_iots,
	};
	int r;

	memset(n, 0, sizeof(*n));
	if (np > VIRTIO_NET_MAX_PAIRS) {
		r = -EINVAL;
		goto out_fds;
	}
	snprintf(n->name, sizeof(n->name), "virtio-net%u", idx);
	n->nr_pairs = np;
	if (np > 1)
		f |= 1ULL << NET_F_MQ;
	if (o->mac) {
		memcpy(n->mac, o->mac, 6);
	} else {
		n->mac_random = true;
		if (getrandom(n->mac, 6, 0) != 6) {
			pr_err("net %s: no random MAC address: %s", o->tap,
			       strerror(errno));
			r = -EIO;
			goto out_fds;
		}
		/* Unicast, locally administered. */
		n->mac[0] = (u8)((n->mac[0] & ~1) | 2);
	}
	r = virtio_net_open_taps(n, o);
	if (r)
		goto out_free;
	c.features = f;
	if (n->vhost.fd)	/* pairs are the back end's, control ours */
		c.nr_backend = (u16)(2 * np);
	r = virtio_pci_init(&n->vp, &c);
	if (r)
		goto out_free;
	if (n->vhost.fd)	/* ring features only as far as vhost serves them */
		n->vp.dev_features &= ~NET_RING_FEATURES |
				      (n->vhost.features & NET_RING_FEATURES);
	for (i = 0; i < np; i++) {
		r = queue_init(n, i);
		if (r)
			goto out_destroy;
	}
	r = virtio_net_set_active(n, 1);
	if (!r)
		r = virtio_pci_add(&n->vp);
	if (r)
		goto out_destroy;
	pr_info("%s: tap %s, %u queue pairs, MAC %02x:%02x:%02x:%02x:%02x:%02x%s",
		n->name, n->ifname, np, n->mac[0], n->mac[1], n->mac[2],
		n->mac[3], n->mac[4], n->mac[5], n->vhost.fd ? ", vhost-net" : "");
	return 0;
out_destroy:
	net_destroy(&n->vp.dev);
	return r;
out_free:
	net_free(n);
	return r;
out_fds:
	for (i = 0; o->fds && i < np && i < VIRTIO_NET_MAX_PAIRS; i++)
		if (o->fds[i] >= 0)	/* ours even when we never got to them */
			close(o->fds[i]);
	return r;
}
