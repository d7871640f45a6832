// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio transport in the device model (see virtio.h): the back-end
 * hand-over, which DRIVER_OK, reset, pause and resume share, and the
 * reset, pause, resume, save and load of every virtio device.
 *
 * A device's section holds the PCI function (pci_dev_save), then the
 * transport: the features offered and accepted, the selectors, status,
 * config generation, ISR, config vector and a config interrupt held by
 * pause; per queue, one field each for all queues ("q.size" is u16 per
 * queue, and so on): size, vector, enabled, live, the ring addresses,
 * the device's last available, used and last signalled indices (the
 * event-index state), and a kick or interrupt held by pause. The device
 * adds its own fields last (virtio_dev_ops.save).
 *
 * Load checks each value as the register writes check the guest's, then
 * maps the rings with the saved indices and leaves the queues parked:
 * resume serves every live queue once (a kick the source had not yet
 * served may have been in its eventfd, which does not travel) and
 * hands a back end its rings at the indices taken back at pause.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/devices/virtio.h"

/* Hand the back end's enabled queues over (see virtio.h). vp->lock held. */
int virtio_backend_start(struct virtio_pci *vp)
{
	struct pci_msix *x = &vp->pci.msix;
	unsigned i, n = 0;

	if (!atomic_load(&x->enabled)) {
		if (dev_ratelimit_ok(&vp->rl, LOG_ERR))
			pr_err("%s: the guest did not enable MSI-X: the back end needs it",
			       vp->name);
		return -EINVAL;
	}
	for (i = 0; i < vp->nr_backend; i++) {
		struct virtio_queue *q = &vp->q[i];
		u16 vec = __atomic_load_n(&q->msix_vector, __ATOMIC_RELAXED);

		if (!q->enabled || !q->live)
			continue;
		if (vec >= x->nr) {
			if (dev_ratelimit_ok(&vp->rl, LOG_ERR))
				pr_err("%s: queue %u has no MSI-X vector: the back end needs one per queue",
				       vp->name, i);
			return -EINVAL;
		}
		pthread_mutex_lock(&q->lock);
		vp->rings[n++] = (struct virtio_backend_ring){
			.idx = (u16)i, .size = q->size, .base = q->vq.last_avail,
			.desc = q->vq.desc, .avail = q->vq.avail,
			.used = q->vq.used, .kick = q->notify_fd,
			.call = x->fd[vec],
		};
		pthread_mutex_unlock(&q->lock);
	}
	/* Even a failed start may have handed some queues over. */
	vp->handed = true;
	return vp->ops->start(vp, vp->rings, n);
}

/*
 * Take the rings back from the back end, if it has them; with wait,
 * until it has given them (vp->lock is let go meanwhile, for a back end
 * whose own thread finishes the stop).
 */
void virtio_backend_stop(struct virtio_pci *vp, bool wait)
{
	if (vp->handed) {
		vp->handed = false;
		atomic_store(&vp->stopping, true);
		vp->ops->stop(vp);
	}
	while (wait && atomic_load(&vp->stopping))
		pthread_cond_wait(&vp->stopped, &vp->lock);
}

void virtio_backend_stopped(struct virtio_pci *vp, const u32 *base)
{
	unsigned i;

	for (i = 0; base && i < vp->nr_backend; i++) {
		struct virtio_queue *q = &vp->q[i];

		if (base[i] == VIRTIO_BASE_UNKNOWN)
			continue;
		pthread_mutex_lock(&q->lock);
		if (q->live) {
			/* What the back end used is in the guest's used ring. */
			q->vq.last_avail = (u16)base[i];
			q->vq.used_idx = __atomic_load_n(&q->vq.used[1],
							 __ATOMIC_ACQUIRE);
			q->vq.signalled_used = q->vq.used_idx;
		}
		pthread_mutex_unlock(&q->lock);
	}
	atomic_store(&vp->stopping, false);
	pthread_cond_broadcast(&vp->stopped);
}

/* --- the device's ops --- */

void virtio_dev_reset(struct device *d)
{
	struct virtio_pci *vp = container_of(d, struct virtio_pci, dev);

	pthread_mutex_lock(&vp->lock);
	virtio_pci_reset(vp);
	pthread_mutex_unlock(&vp->lock);
	/* BARs off (the notify ioeventfds go), MSI-X off and masked. */
	pci_dev_reset(&vp->pci);
}

/*
 * Park every queue: set paused, then take each queue's lock, which its
 * I/O thread holds while it serves the queue; once we have it, the
 * thread is out and will find the flag. A back end gives its rings back
 * first, with the indices where it stopped.
 */
void virtio_dev_pause(struct device *d)
{
	struct virtio_pci *vp = container_of(d, struct virtio_pci, dev);
	unsigned i;

	pthread_mutex_lock(&vp->lock);
	atomic_store(&vp->paused, true);
	virtio_backend_stop(vp, true);
	for (i = 0; i < vp->nr_queues; i++) {
		struct virtio_queue *q = &vp->q[i];

		pthread_mutex_lock(&q->lock);
		q->paused = true;
		if (vp->ops->queue_pause)
			vp->ops->queue_pause(q);
		pthread_mutex_unlock(&q->lock);
	}
	pthread_mutex_unlock(&vp->lock);
}

void virtio_dev_resume(struct device *d)
{
	struct virtio_pci *vp = container_of(d, struct virtio_pci, dev);
	unsigned i;

	pthread_mutex_lock(&vp->lock);
	if (vp->ops->resume)
		vp->ops->resume(vp);
	atomic_store(&vp->paused, false);
	if (vp->started && !vp->handed && virtio_backend_start(vp))
		virtio_queue_fail(&vp->q[0], "the back end did not take the queues");
	for (i = 0; i < vp->nr_queues; i++) {
		struct virtio_queue *q = &vp->q[i];
		u64 one = 1;
		bool kick;

		pthread_mutex_lock(&q->lock);
		q->paused = false;
		if (q->irq_held)
			virtio_raise_queue_irq(q);
		kick = q->kicked && q->live && !q->backend;
		q->irq_held = q->kicked = false;
		pthread_mutex_unlock(&q->lock);
		/* Served where kicks are: on the queue's I/O thread. */
		if (kick && (!q->iot || write(q->notify_fd, &one, sizeof(one)) < 0))
			virtio_queue_kick(q);
	}
	if (atomic_exchange(&vp->cfg_irq_held, false))
		virtio_raise_config_irq(vp);
	pthread_mutex_unlock(&vp->lock);
}

/* --- state --- */

/* The per-queue fields: one array of nr_queues items each. */
static const struct {
	const char *name;
	size_t off, size;
	bool boolean;
} qfields[] = {
#define QF(n, m, b) { n, offsetof(struct virtio_queue, m), \
		      sizeof(((struct virtio_queue *)0)->m), b }
	QF("q.size", size, false),
	QF("q.vector", msix_vector, false),
	QF("q.enabled", enabled, true),
	QF("q.desc", desc, false),
	QF("q.driver", driver, false),
	QF("q.device", device, false),
	QF("q.last_avail", vq.last_avail, false),
	QF("q.used_idx", vq.used_idx, false),
	QF("q.signalled_used", vq.signalled_used, false),
	QF("q.kicked", kicked, true),
	QF("q.irq_held", irq_held, true),
#undef QF
};

enum { QF_SIZE, QF_VECTOR, QF_ENABLED, QF_DESC, QF_DRIVER, QF_DEVICE,
       QF_AVAIL, QF_USED, QF_SIGNALLED, QF_KICKED, QF_IRQ, NR_QF };

/* What the transport saves besides the queues, and loads first. */
struct tstate {
	u64 features, driver_features;
	u32 dfselect, gfselect;
	u16 qselect, config_vector, queues;
	u8 status, config_gen, isr;
	bool config_irq;
	u8 *q[NR_QF];		/* the per-queue arrays */
	u8 *live;
};

static void tstate_free(struct tstate *t)
{
	unsigned f;

	for (f = 0; f < NR_QF; f++)
		free(t->q[f]);
	free(t->live);
}

static int tstate_alloc(struct tstate *t, unsigned n)
{
	unsigned f;

	memset(t, 0, sizeof(*t));
	for (f = 0; f < NR_QF; f++)
		if (!(t->q[f] = calloc(n, qfields[f].size)))
			return -ENOMEM;
	return (t->live = calloc(n, 1)) ? 0 : -ENOMEM;
}

/* Item i of per-queue field f, as a number. */
static u64 qget(const struct tstate *t, unsigned f, unsigned i)
{
	u64 v = 0;

	memcpy(&v, t->q[f] + i * qfields[f].size, qfields[f].size);
	return v;
}

int virtio_dev_save(struct device *d, struct state_writer *w)
{
	struct virtio_pci *vp = container_of(d, struct virtio_pci, dev);
	unsigned n = vp->nr_queues, i, f;
	struct tstate t;
	int e = tstate_alloc(&t, n);

	if (!e)
		e = pci_dev_save(&vp->pci, w);
	if (e) {
		tstate_free(&t);
		return e;
	}
	pthread_mutex_lock(&vp->lock);
	for (i = 0; i < n; i++) {
		struct virtio_queue *q = &vp->q[i];

		pthread_mutex_lock(&q->lock);
		for (f = 0; f < NR_QF; f++)
			memcpy(t.q[f] + i * qfields[f].size,
			       (u8 *)q + qfields[f].off, qfields[f].size);
		t.live[i] = atomic_load(&q->live);
		pthread_mutex_unlock(&q->lock);
	}
	state_put_u64(w, "features", vp->dev_features);
	state_put_u64(w, "driver_features", vp->drv_features);
	STATE_PUT(w, vp, dfselect);
	STATE_PUT(w, vp, gfselect);
	STATE_PUT(w, vp, qselect);
	state_put_u8(w, "status", atomic_load(&vp->status));
	STATE_PUT(w, vp, config_gen);
	state_put_u8(w, "isr", atomic_load(&vp->isr));
	state_put_u16(w, "config_vector", vp->config_vector);
	state_put_bool(w, "config_irq", atomic_load(&vp->cfg_irq_held));
	state_put_u16(w, "queues", vp->nr_queues);
	for (f = 0; f < NR_QF; f++)
		state_put(w, qfields[f].name, t.q[f], n * (u32)qfields[f].size);
	state_put(w, "q.live", t.live, n);
	if (vp->ops->save)
		e = vp->ops->save(vp, w);
	pthread_mutex_unlock(&vp->lock);
	tstate_free(&t);
	return e ? e : w->err;
}

static int get_scalars(struct state_reader *r, struct tstate *t)
{
	int e = 0;

	e = e ? e : state_get(r, "features", &t->features, 8);
	e = e ? e : state_get(r, "driver_features", &t->driver_features, 8);
	e = e ? e : STATE_GET(r, t, dfselect);
	e = e ? e : STATE_GET(r, t, gfselect);
	e = e ? e : STATE_GET(r, t, qselect);
	e = e ? e : STATE_GET(r, t, status);
	e = e ? e : STATE_GET(r, t, config_gen);
	e = e ? e : STATE_GET(r, t, isr);
	e = e ? e : STATE_GET(r, t, config_vector);
	e = e ? e : state_get_bool(r, "config_irq", &t->config_irq);
	return e;
}

/*
 * The status register holds what status_write lets through: the steps
 * ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK as a prefix, with any of
 * the other bits.
 */
static bool status_reachable(u8 s)
{
	static const u8 order[] = { VIRTIO_STATUS_ACK, VIRTIO_STATUS_DRIVER,
				    VIRTIO_STATUS_FEATURES_OK,
				    VIRTIO_STATUS_DRIVER_OK };
	bool gap = false;
	unsigned i;

	for (i = 0; i < sizeof(order); i++) {
		if ((s & order[i]) && gap)
			return false;
		gap |= !(s & order[i]);
	}
	return true;
}

/* The transport's values, checked as the register writes check them. */
static int check_transport(struct virtio_pci *vp, struct state_reader *r,
			   const struct tstate *t)
{
	u16 nv = vp->pci.msix.nr;
	unsigned i;

	if (!status_reachable(t->status))
		return state_refuse(r, "status %#x skips a step of the virtio start-up",
				    t->status);
	if ((t->status & VIRTIO_STATUS_FEATURES_OK) &&
	    ((t->driver_features & ~vp->dev_features) ||
	     !(t->driver_features & (1ULL << VIRTIO_F_VERSION_1))))
		return state_refuse(r, "features %#llx accepted, this device offers %#llx",
				    (unsigned long long)t->driver_features,
				    (unsigned long long)vp->dev_features);
	if (t->isr & ~(VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG))
		return state_refuse(r, "ISR %#x has bits no device sets", t->isr);
	if (t->config_vector >= nv && t->config_vector != VIRTIO_NO_VECTOR)
		return state_refuse(r, "config vector %u, this device has %u",
				    t->config_vector, nv);
	for (i = 0; i < vp->nr_queues; i++) {
		u64 size = qget(t, QF_SIZE, i), vec = qget(t, QF_VECTOR, i);
		struct virtq probe = { 0 };
		unsigned f;

		for (f = 0; f < NR_QF; f++)
			if (qfields[f].boolean && qget(t, f, i) > 1)
				return state_refuse(r, "queue %u: %s is %llu, not a boolean",
						    i, qfields[f].name,
						    (unsigned long long)qget(t, f, i));
		if (t->live[i] > 1)
			return state_refuse(r, "queue %u: q.live is not a boolean", i);
		if (!size || size > vp->queue_max || (size & (size - 1)))
			return state_refuse(r, "queue %u size %llu is not a power of two up to %u",
					    i, (unsigned long long)size, vp->queue_max);
		if (vec >= nv && vec != VIRTIO_NO_VECTOR)
			return state_refuse(r, "queue %u vector %llu, this device has %u",
					    i, (unsigned long long)vec, nv);
		if (t->live[i] && (!qget(t, QF_ENABLED, i) ||
				   !(t->status & VIRTIO_STATUS_DRIVER_OK)))
			return state_refuse(r, "queue %u is served but not enabled and started", i);
		if (qget(t, QF_ENABLED, i) &&
		    virtq_init(&probe, vp->mem, (u16)size, qget(t, QF_DESC, i),
			       qget(t, QF_DRIVER, i), qget(t, QF_DEVICE, i),
			       false, false))
			return state_refuse(r, "queue %u rings are not in guest RAM", i);
		if ((u16)(qget(t, QF_AVAIL, i) - qget(t, QF_USED, i)) > size)
			return state_refuse(r, "queue %u has used %llu of %llu available entries: more than its size",
					    i, (unsigned long long)qget(t, QF_USED, i),
					    (unsigned long long)qget(t, QF_AVAIL, i));
	}
	return 0;
}

/* Take the checked state: registers, then each queue's ring, parked. */
static void apply(struct virtio_pci *vp, const struct tstate *t)
{
	bool any_backend = false;
	unsigned i, f;

	vp->drv_features = t->driver_features;
	vp->dfselect = t->dfselect;
	vp->gfselect = t->gfselect;
	vp->qselect = t->qselect;
	atomic_store(&vp->status, t->status);
	vp->config_gen = t->config_gen;
	atomic_store(&vp->isr, t->isr);
	__atomic_store_n(&vp->config_vector, t->config_vector, __ATOMIC_RELAXED);
	atomic_store(&vp->cfg_irq_held, t->config_irq);
	for (i = 0; i < vp->nr_queues; i++) {
		struct virtio_queue *q = &vp->q[i];

		pthread_mutex_lock(&q->lock);
		for (f = 0; f < NR_QF; f++)
			if (f < QF_AVAIL || f > QF_SIGNALLED)
				memcpy((u8 *)q + qfields[f].off,
				       t->q[f] + i * qfields[f].size,
				       qfields[f].size);
		if (t->live[i]) {
			virtq_init(&q->vq, vp->mem, q->size, q->desc, q->driver,
				   q->device, virtio_has(vp, VIRTIO_F_EVENT_IDX),
				   virtio_has(vp, VIRTIO_F_INDIRECT_DESC));
			q->vq.last_avail = (u16)qget(t, QF_AVAIL, i);
			q->vq.used_idx = (u16)qget(t, QF_USED, i);
			q->vq.signalled_used = (u16)qget(t, QF_SIGNALLED, i);
			q->kicked = true;
			any_backend |= q->backend;
		}
		q->live = t->live[i];
		pthread_mutex_unlock(&q->lock);
	}
	vp->started = any_backend;
	vp->handed = false;
}

int virtio_dev_load(struct device *d, struct state_reader *r)
{
	struct virtio_pci *vp = container_of(d, struct virtio_pci, dev);
	unsigned n = vp->nr_queues, f;
	struct tstate t;
	int e = tstate_alloc(&t, n);

	/* Another queue count first: config space would differ as well. */
	if (!e)
		e = STATE_GET(r, &t, queues);
	if (!e && t.queues != n)
		e = state_refuse(r, "%u queues, this device has %u", t.queues, n);
	if (!e)
		e = pci_dev_load(&vp->pci, r);
	if (!e)
		e = get_scalars(r, &t);
	for (f = 0; !e && f < NR_QF; f++)
		e = state_get(r, qfields[f].name, t.q[f], n * (u32)qfields[f].size);
	if (!e)
		e = state_get(r, "q.live", t.live, n);
	pthread_mutex_lock(&vp->lock);
	if (!e)
		e = check_transport(vp, r, &t);
	if (!e && vp->ops->load)
		e = vp->ops->load(vp, r);
	if (!e)
		apply(vp, &t);
	pthread_mutex_unlock(&vp->lock);
	tstate_free(&t);
	return e;
}
