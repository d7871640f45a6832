// SPDX-License-Identifier: GPL-2.0
/*
 * virtio over PCI, modern interface (see virtio.h): capabilities, the
 * common configuration registers, feature negotiation, device status and
 * reset, per-queue ioeventfds and interrupts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/devices/devices.h"
#include "vmm/devices/virtio.h"

/* virtio_pci_cap.cfg_type (4.1.4). */
#define CAP_COMMON	1
#define CAP_NOTIFY	2
#define CAP_ISR		3
#define CAP_DEVICE	4

/* Common configuration fields: offset and width (4.1.4.3). */
enum {
	C_DFSELECT = 0, C_DF = 4, C_GFSELECT = 8, C_GF = 12, C_MSIX = 16,
	C_NUMQ = 18, C_STATUS = 20, C_GEN = 21, C_QSELECT = 22, C_QSIZE = 24,
	C_QMSIX = 26, C_QENABLE = 28, C_QNOFF = 30, C_QDESC = 32,
	C_QDRIVER = 40, C_QDEVICE = 48, C_QNDATA = 56, C_QRESET = 58,
};

static const u8 field_width[VIRTIO_COMMON_LEN] = {
	[C_DFSELECT] = 4, [C_DF] = 4, [C_GFSELECT] = 4, [C_GF] = 4,
	[C_MSIX] = 2, [C_NUMQ] = 2, [C_STATUS] = 1, [C_GEN] = 1,
	[C_QSELECT] = 2, [C_QSIZE] = 2, [C_QMSIX] = 2, [C_QENABLE] = 2,
	[C_QNOFF] = 2, [C_QDESC] = 8, [C_QDRIVER] = 8, [C_QDEVICE] = 8,
	[C_QNDATA] = 2, [C_QRESET] = 2,
};

static struct virtio_queue *selected(struct virtio_pci *vp)
{
	return vp->qselect < vp->nr_queues ? &vp->q[vp->qselect] : NULL;
}

/* The current value of the field at off. vp->lock held. */
static u64 field_get(struct virtio_pci *vp, u32 off)
{
	struct virtio_queue *q = selected(vp);

	switch (off) {
	case C_DFSELECT:	return vp->dfselect;
	case C_DF:		return vp->dfselect < 2 ?
				       (u32)(vp->dev_features >> (32 * vp->dfselect)) : 0;
	case C_GFSELECT:	return vp->gfselect;
	case C_GF:		return vp->gfselect < 2 ?
				       (u32)(vp->drv_features >> (32 * vp->gfselect)) : 0;
	case C_MSIX:		return vp->config_vector;
	case C_NUMQ:		return vp->nr_queues;
	case C_STATUS:		/* a reset ends when the device is done */
		return atomic_load(&vp->status) ? atomic_load(&vp->status) :
		       atomic_load(&vp->stopping) ? VIRTIO_STATUS_NEEDS_RESET : 0;
	case C_GEN:		return vp->config_gen;
	case C_QSELECT:		return vp->qselect;
	case C_QSIZE:		return q ? q->size : 0;
	case C_QMSIX:		return q ? q->msix_vector : VIRTIO_NO_VECTOR;
	case C_QENABLE:		return q ? q->enabled : 0;
	case C_QNOFF:		return q ? q->idx : 0;
	case C_QDESC:		return q ? q->desc : 0;
	case C_QDRIVER:		return q ? q->driver : 0;
	case C_QDEVICE:		return q ? q->device : 0;
	}
	return 0;
}

/* Field start and width for a byte offset. */
static u32 field_of(u32 off, u32 *width)
{
	u32 f = off;

	while (f > 0 && !field_width[f])
		f--;
	*width = field_width[f];
	return f;
}

static u16 valid_vector(struct virtio_pci *vp, u64 v)
{
	return v < vp->pci.msix.nr ? (u16)v : VIRTIO_NO_VECTOR;
}

/* Assert INTA# unless the guest turned INTx off. Any thread. */
static void intx_raise(struct virtio_pci *vp)
{
	u8 cmd_hi = __atomic_load_n(&vp->pci.cfg[PCI_COMMAND + 1],
				    __ATOMIC_RELAXED);

	if (vp->intx_fd >= 0 && !(cmd_hi & (PCI_COMMAND_INTX_OFF >> 8)))
		irq_eventfd_signal(vp->intx_fd);
}

/* The guest EOI'd INTA#: raise it again if the ISR still says so. */
static void resample_handler(struct iothread_handler *h, u32 events)
{
	struct virtio_pci *vp = container_of(h, struct virtio_pci, resample_h);
	u64 n;

	if (read(vp->resample_fd, &n, sizeof(n)) < 0)
		return;
	/* Paused: resume raises what is due. */
	if (atomic_load(&vp->isr) && !atomic_load(&vp->paused))
		intx_raise(vp);
}

void virtio_raise_config_irq(struct virtio_pci *vp)
{
	if (!pci_msix_notify(&vp->pci.msix,
			     __atomic_load_n(&vp->config_vector, __ATOMIC_RELAXED)))
		intx_raise(vp);
}

/*
 * A config change: ISR bit, then the interrupt, held while paused. Any
 * thread, under vp->lock or a queue lock, both of which pause takes
 * after setting paused: nothing gets through once pause returned.
 */
static void config_irq(struct virtio_pci *vp)
{
	atomic_fetch_or(&vp->isr, VIRTIO_ISR_CONFIG);
	if (atomic_load(&vp->paused))
		atomic_store(&vp->cfg_irq_held, true);
	else
		virtio_raise_config_irq(vp);
}

void virtio_config_changed(struct virtio_pci *vp)
{
	vp->config_gen++;
	config_irq(vp);
}

/*
 * Map the queue's ring, and let its I/O thread at it (or, a back end's
 * queue, have it ready for virtio_backend_start).
 */
static int queue_start(struct virtio_queue *q)
{
	struct virtio_pci *vp = q->vp;
	u64 one = 1;
	int r;

	pthread_mutex_lock(&q->lock);
	r = virtq_init(&q->vq, vp->mem, q->size, q->desc, q->driver,
		       q->device, virtio_has(vp, VIRTIO_F_EVENT_IDX),
		       virtio_has(vp, VIRTIO_F_INDIRECT_DESC));
	q->live = !r;
	pthread_mutex_unlock(&q->lock);
	/* Buffers may be there already: have the I/O thread look. */
	if (!r && !q->backend && write(q->notify_fd, &one, sizeof(one)) < 0)
		r = -errno;
	return r;
}

/*
 * Stop serving q and forget all its state, whatever state it is in (live,
 * failed, never started, paused): the device's queue_reset runs every
 * time, so no partial packet or request survives into the next ring, and
 * a kick or interrupt held for the old ring is dropped with it.
 */
static void queue_stop(struct virtio_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->live = false;
	q->kicked = q->irq_held = false;
	if (q->vp->ops->queue_reset)
		q->vp->ops->queue_reset(q);
	pthread_mutex_unlock(&q->lock);
}

/* Device reset (status 0): quiesce every queue, then forget it all. */
void virtio_pci_reset(struct virtio_pci *vp)
{
	unsigned i;

	virtio_backend_stop(vp, false);
	vp->started = false;
	for (i = 0; i < vp->nr_queues; i++) {
		struct virtio_queue *q = &vp->q[i];

		queue_stop(q);
		q->size = vp->queue_max;
		__atomic_store_n(&q->msix_vector, VIRTIO_NO_VECTOR,
				 __ATOMIC_RELAXED);
		q->enabled = false;
		q->desc = q->driver = q->device = 0;
	}
	vp->drv_features = 0;
	vp->dfselect = vp->gfselect = 0;
	vp->qselect = 0;
	__atomic_store_n(&vp->config_vector, VIRTIO_NO_VECTOR, __ATOMIC_RELAXED);
	atomic_store(&vp->cfg_irq_held, false);
	atomic_store(&vp->isr, 0);
	atomic_store(&vp->status, 0);
}

/* The driver broke the status protocol: ignore the write, flag the device. */
static void status_refuse(struct virtio_pci *vp, u8 old, u8 val, const char *why)
{
	vp->status_refused++;
	atomic_fetch_or(&vp->status, VIRTIO_STATUS_NEEDS_RESET);
	if (dev_ratelimit_ok(&vp->rl, LOG_WARN))
		pr_warn("%s: status %#x -> %#x refused (%s): device needs reset",
			vp->name, old, val, why);
	dm_device_error(vp->dm, &vp->dev, "status %#x -> %#x refused: %s",
			old, val, why);
	config_irq(vp);
}

/*
 * Start serving the enabled queues, once per DRIVER_OK: ours here, the
 * back end's by handing them over (at resume, while paused). vp->lock
 * held.
 */
static void driver_ok(struct virtio_pci *vp)
{
	unsigned i;

	for (i = 0; i < vp->nr_queues; i++) {
		if (!vp->q[i].enabled)
			continue;
		if (queue_start(&vp->q[i])) {
			virtio_queue_fail(&vp->q[i], "queue rings are not in guest RAM");
			return;
		}
	}
	if (!vp->nr_backend)
		return;
	vp->started = true;
	if (!atomic_load(&vp->paused) && virtio_backend_start(vp))
		virtio_queue_fail(&vp->q[0], "the back end did not take the queues");
}

/*
 * The device status follows virtio 1.2 (2.1, 3.1.1): 0 resets; otherwise
 * bits only accumulate, in order ACKNOWLEDGE, DRIVER, FEATURES_OK,
 * DRIVER_OK (FAILED may be set at any time). A write that clears a bit,
 * skips a step or sets NEEDS_RESET (the device's bit) is ignored and the
 * device sets NEEDS_RESET: the driver must reset it. FEATURES_OK stays
 * clear when the features are refused; DRIVER_OK without FEATURES_OK is
 * refused. Since bits never clear but by reset, DRIVER_OK starts the
 * queues exactly once per reset.
 */
static void status_write(struct virtio_pci *vp, u8 val)
{
	static const u8 order[] = { VIRTIO_STATUS_ACK, VIRTIO_STATUS_DRIVER,
				    VIRTIO_STATUS_FEATURES_OK,
				    VIRTIO_STATUS_DRIVER_OK };
	u8 old = atomic_load(&vp->status), set;
	unsigned i;

	if (!val) {
		virtio_pci_reset(vp);
		return;
	}
	if ((old & ~val) & ~VIRTIO_STATUS_NEEDS_RESET) {
		status_refuse(vp, old, val, "clears a bit without a reset");
		return;
	}
	set = val & ~old;
	if (set & VIRTIO_STATUS_NEEDS_RESET) {
		status_refuse(vp, old, val, "NEEDS_RESET is the device's");
		return;
	}
	for (i = 1; i < sizeof(order); i++)
		if ((set & order[i]) && !(val & order[i - 1])) {
			status_refuse(vp, old, val, "a step was skipped");
			return;
		}
	if (old & VIRTIO_STATUS_FAILED)
		return;		/* the driver gave up: only a reset helps */
	if ((set & VIRTIO_STATUS_FEATURES_OK) &&
	    ((vp->drv_features & ~vp->dev_features) ||
	     !virtio_has(vp, VIRTIO_F_VERSION_1))) {
		val &= ~VIRTIO_STATUS_FEATURES_OK;	/* refused */
		set &= ~VIRTIO_STATUS_FEATURES_OK;
		if (set & VIRTIO_STATUS_DRIVER_OK) {
			status_refuse(vp, old, val, "DRIVER_OK without FEATURES_OK");
			return;
		}
	}
	atomic_fetch_or(&vp->status, val);
	if ((set & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_NEEDS_RESET))
		driver_ok(vp);
}

static void queue_field_write(struct virtio_pci *vp, u32 f, u64 v)
{
	struct virtio_queue *q = selected(vp);
	struct virtq probe = { 0 };

	if (!q)
		return;
	if (f == C_QMSIX) {
		__atomic_store_n(&q->msix_vector, valid_vector(vp, v),
				 __ATOMIC_RELAXED);
		return;
	}
	if (q->enabled)
		return;		/* the rest is fixed once enabled */
	switch (f) {
	case C_QSIZE:
		if (v && v <= vp->queue_max && !(v & (v - 1)))
			q->size = (u16)v;
		break;
	case C_QENABLE:
		if (v != 1)
			break;
		if (virtq_init(&probe, vp->mem, q->size, q->desc, q->driver,
			       q->device, false, false)) {
			virtio_queue_fail(q, "queue enabled with rings outside guest RAM");
			break;
		}
		q->enabled = true;
		break;
	case C_QDESC:	q->desc = v; break;
	case C_QDRIVER:	q->driver = v; break;
	case C_QDEVICE:	q->device = v; break;
	}
}

static void field_set(struct virtio_pci *vp, u32 f, u64 v)
{
	u8 st = atomic_load(&vp->status);

	switch (f) {
	case C_DFSELECT:	vp->dfselect = (u32)v; break;
	case C_GFSELECT:	vp->gfselect = (u32)v; break;
	case C_GF:
		if (vp->gfselect < 2 && !(st & VIRTIO_STATUS_FEATURES_OK)) {
			u64 m = 0xffffffffULL << (32 * vp->gfselect);

			vp->drv_features = (vp->drv_features & ~m) |
					   ((v << (32 * vp->gfselect)) & m);
		}
		break;
	case C_MSIX:
		__atomic_store_n(&vp->config_vector, valid_vector(vp, v),
				 __ATOMIC_RELAXED);
		break;
	case C_STATUS:		status_write(vp, (u8)v); break;
	case C_QSELECT:		vp->qselect = (u16)v; break;
	default:		queue_field_write(vp, f, v); break;
	}
}

static void common_access(struct virtio_pci *vp, u32 off, u8 *data, u32 len,
			  bool write)
{
	u32 f, w;
	u64 v;

	if (off >= VIRTIO_COMMON_LEN) {
		if (!write)
			memset(data, 0, len);
		return;
	}
	f = field_of(off, &w);
	if (off + len > f + w) {	/* straddles two fields */
		if (!write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&vp->lock);
	v = field_get(vp, f);
	if (write) {
		memcpy((u8 *)&v + (off - f), data, len);	/* little endian */
		field_set(vp, f, v);
	} else {
		memcpy(data, (u8 *)&v + (off - f), len);
	}
	pthread_mutex_unlock(&vp->lock);
}

static void bar_read(void *opaque, u64 off, u8 *data, u32 len)
{
	struct virtio_pci *vp = opaque;

	atomic_fetch_add_explicit(&vp->reg_exits, 1, memory_order_relaxed);
	memset(data, 0, len);
	if (off < VIRTIO_ISR_OFF) {
		common_access(vp, (u32)off, data, len, false);
	} else if (off == VIRTIO_ISR_OFF) {
		data[0] = atomic_exchange(&vp->isr, 0);	/* read clears */
	} else if (off >= VIRTIO_DEVICE_OFF && off < VIRTIO_NOTIFY_OFF) {
		u32 o = (u32)(off - VIRTIO_DEVICE_OFF);

		if (o < vp->cfg_size && len <= vp->cfg_size - o) {
			pthread_mutex_lock(&vp->lock);
			vp->ops->cfg_read(vp, o, data, len);
			pthread_mutex_unlock(&vp->lock);
		}
	}
}

static void bar_write(void *opaque, u64 off, const u8 *data, u32 len)
{
	struct virtio_pci *vp = opaque;

	atomic_fetch_add_explicit(&vp->reg_exits, 1, memory_order_relaxed);
	if (off < VIRTIO_ISR_OFF) {
		common_access(vp, (u32)off, (u8 *)data, len, true);
	} else if (off >= VIRTIO_DEVICE_OFF && off < VIRTIO_NOTIFY_OFF) {
		u32 o = (u32)(off - VIRTIO_DEVICE_OFF);

		if (o < vp->cfg_size && len <= vp->cfg_size - o &&
		    vp->ops->cfg_write) {
			pthread_mutex_lock(&vp->lock);
			vp->ops->cfg_write(vp, o, data, len);
			pthread_mutex_unlock(&vp->lock);
		}
	} else if (off >= VIRTIO_NOTIFY_OFF) {
		/* A kick the ioeventfd did not catch: hand it over anyway. */
		u64 i = (off - VIRTIO_NOTIFY_OFF) / VIRTIO_NOTIFY_MULT, one = 1;

		atomic_fetch_add_explicit(&vp->slow_notifies, 1,
					  memory_order_relaxed);
		if (i < vp->nr_queues &&
		    write(vp->q[i].notify_fd, &one, sizeof(one)) < 0)
			return;
	}
}

static const struct bus_ops bar_ops = { bar_read, bar_write };

/* BAR 4 moved or (un)decoded: move the notify ioeventfds with it. */
static void bar_moved(struct pci_dev *d, int bar, u64 addr)
{
	struct virtio_pci *vp = container_of(d, struct virtio_pci, pci);
	unsigned i;

	/* The slot, hence the INTx GSI, is known once the guest enables us. */
	if (addr && !vp->intx_assigned && vp->intx_fd >= 0 &&
	    !dm_irqfd(vp->dm, d->intx_gsi, vp->intx_fd, vp->resample_fd, true))
		vp->intx_assigned = true;
	if (bar != VIRTIO_BAR)
		return;
	/* Two ioctls per queue with a VM: guest churn is paced. */
	if (vp->dm->kvm)
		pace_wait(&vp->bar_pace);
	vp->bar_addr = addr;
	for (i = 0; i < vp->nr_queues && vp->dm->kvm; i++) {
		struct virtio_queue *q = &vp->q[i];
		u64 at = addr + VIRTIO_NOTIFY_OFF + i * VIRTIO_NOTIFY_MULT;

		if (q->notify_addr)
			dm_ioeventfd(vp->dm, q->notify_addr, 2, q->notify_fd,
				     false, false);
		q->notify_addr = 0;
		if (addr && !dm_ioeventfd(vp->dm, at, 2, q->notify_fd, false,
					  true))
			q->notify_addr = at;
	}
}

static void cfg_write(struct pci_dev *d, u32 off, u32 len)
{
	pci_msix_cfg_write(d, off, len);
}

static const struct pci_dev_ops pci_ops = { cfg_write, bar_moved };

void virtio_queue_kick(struct virtio_queue *q)
{
	pthread_mutex_lock(&q->lock);
	if (q->paused) {
		q->kicked = true;	/* served by resume */
	} else if (q->live && !q->backend) {
		q->kicks++;
		q->vp->ops->queue_notify(q);
	}
	pthread_mutex_unlock(&q->lock);
}

static void notify_handler(struct iothread_handler *h, u32 events)
{
	struct virtio_queue *q = container_of(h, struct virtio_queue, notify_h);
	u64 n;

	if (read(q->notify_fd, &n, sizeof(n)) < 0)
		return;		/* EAGAIN: someone drained it */
	virtio_queue_kick(q);
}

void virtio_pci_log_stats(struct virtio_pci *vp)
{
	u64 kicks = 0, irqs = 0;
	unsigned i;

	if (log_level < LOG_INFO)
		return;
	for (i = 0; i < vp->nr_queues; i++) {
		kicks += vp->q[i].kicks;
		irqs += vp->q[i].irqs;
	}
	pr_info("%s: stats: %llu kicks served, %llu interrupts, %llu register exits to user space, %llu notifies through user space",
		vp->name, (unsigned long long)kicks, (unsigned long long)irqs,
		(unsigned long long)atomic_load(&vp->reg_exits),
		(unsigned long long)atomic_load(&vp->slow_notifies));
}

void virtio_queue_irq(struct virtio_queue *q)
{
	if (q->paused)
		q->irq_held = true;	/* delivered by resume */
	else
		virtio_raise_queue_irq(q);
}

void virtio_raise_queue_irq(struct virtio_queue *q)
{
	struct virtio_pci *vp = q->vp;
	u16 v = __atomic_load_n(&q->msix_vector, __ATOMIC_RELAXED);

	q->irqs++;
	atomic_fetch_or(&vp->isr, VIRTIO_ISR_QUEUE);
	if (!pci_msix_notify(&vp->pci.msix, v))
		intx_raise(vp);
}

void virtio_queue_fail(struct virtio_queue *q, const char *why)
{
	struct virtio_pci *vp = q->vp;

	q->live = false;
	/* ISR first: a driver that sees NEEDS_RESET also sees why. */
	atomic_fetch_or(&vp->isr, VIRTIO_ISR_CONFIG);
	atomic_fetch_or(&vp->status, VIRTIO_STATUS_NEEDS_RESET);
	if (dev_ratelimit_ok(&q->rl, LOG_WARN))
		pr_warn("%s: queue %u: %s: device needs reset", vp->name,
			q->idx, why);
	dm_device_error(vp->dm, &vp->dev, "queue %u: %s", q->idx, why);
	config_irq(vp);
}

/* Append one virtio_pci_cap (16 bytes, 20 for notify). */
static int add_vcap(struct virtio_pci *vp, u8 type, u32 off, u32 len)
{
	u8 clen = type == CAP_NOTIFY ? 20 : 16;
	u8 c = pci_dev_add_cap(&vp->pci, PCI_CAP_ID_VNDR, clen);

	if (!c)
		return -ENOSPC;
	vp->pci.cfg[c + 2] = clen;
	vp->pci.cfg[c + 3] = type;
	vp->pci.cfg[c + 4] = VIRTIO_BAR;
	pci_set32(&vp->pci, c + 8, off);
	pci_set32(&vp->pci, c + 12, len);
	if (type == CAP_NOTIFY)
		pci_set32(&vp->pci, c + 16, VIRTIO_NOTIFY_MULT);
	return 0;
}

static int queues_init(struct virtio_pci *vp, struct iothread **iots,
		       unsigned nr_iots)
{
	unsigned i;
	int r;

	vp->q = calloc(vp->nr_queues, sizeof(*vp->q));
	if (!vp->q)
		return -ENOMEM;
	for (i = 0; i < vp->nr_queues; i++)
		vp->q[i].notify_fd = -1;
	for (i = 0; i < vp->nr_queues; i++) {
		struct virtio_queue *q = &vp->q[i];

		q->vp = vp;
		q->idx = (u16)i;
		q->size = vp->queue_max;
		q->msix_vector = VIRTIO_NO_VECTOR;
		pthread_mutex_init(&q->lock, NULL);
		q->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (q->notify_fd < 0)
			return -errno;
		q->notify_h = (struct iothread_handler){ notify_handler,
							 q->notify_fd };
		/* A back end's kicks are the back end's to read. */
		q->backend = i < vp->nr_backend;
		q->iot = nr_iots && !q->backend ? iots[i % nr_iots] : NULL;
		if (q->iot) {
			r = iothread_add(q->iot, &q->notify_h, EPOLLIN);
			if (r)
				return r;
		}
	}
	return 0;
}

static int intx_init(struct virtio_pci *vp, struct iothread *iot)
{
	vp->intx_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vp->resample_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vp->intx_fd < 0 || vp->resample_fd < 0)
		return -errno;
	vp->pci.cfg[PCI_INT_PIN] = 1;		/* INTA# */
	vp->resample_h = (struct iothread_handler){ resample_handler,
						    vp->resample_fd };
	if (!iot)
		return 0;
	vp->resample_iot = iot;
	return iothread_add(iot, &vp->resample_h, EPOLLIN);
}

int virtio_pci_init(struct virtio_pci *vp, const struct virtio_pci_conf *c)
{
	struct pci_dev *d = &vp->pci;
	int r;

	if (!c->nr_queues || c->nr_queues > VIRTIO_MAX_QUEUES ||
	    c->nr_backend > c->nr_queues ||
	    c->cfg_size > VIRTIO_NOTIFY_OFF - VIRTIO_DEVICE_OFF)
		return -EINVAL;
	snprintf(vp->dev.name, sizeof(vp->dev.name), "%s", c->name);
	vp->dev.ops = c->dev_ops;
	vp->name = vp->dev.name;
	pci_dev_init(d, vp->name, VIRTIO_PCI_VENDOR,
		     VIRTIO_PCI_DEVICE_BASE + c->device_id, c->class_code, 1);
	pci_set16(d, PCI_SUBSYS_VENDOR, VIRTIO_PCI_VENDOR);
	pci_set16(d, PCI_SUBSYS_ID, 0x40);
	d->ops = &pci_ops;
	vp->ops = c->ops;
	vp->dm = c->dm;
	vp->mem = c->mem;
	pthread_mutex_init(&vp->lock, NULL);
	pthread_cond_init(&vp->stopped, NULL);
	vp->dev_features = c->features | (1ULL << VIRTIO_F_VERSION_1) |
			   (1ULL << VIRTIO_F_EVENT_IDX) |
			   (1ULL << VIRTIO_F_INDIRECT_DESC);
	vp->nr_queues = c->nr_queues;
	vp->nr_backend = c->nr_backend;
	vp->queue_max = c->queue_max;
	vp->cfg_size = c->cfg_size;
	vp->config_vector = VIRTIO_NO_VECTOR;
	atomic_init(&vp->status, 0);
	atomic_init(&vp->isr, 0);
	atomic_init(&vp->reg_exits, 0);
	atomic_init(&vp->slow_notifies, 0);
	atomic_init(&vp->stopping, false);
	atomic_init(&vp->paused, false);
	atomic_init(&vp->cfg_irq_held, false);
	vp->bar_pace = (struct pace)PACE_INIT(VIRTIO_BAR_MOVES_PER_SEC,
					      VIRTIO_BAR_MOVE_BURST);
	vp->intx_fd = vp->resample_fd = -1;
	r = queues_init(vp, c->iots, c->nr_iots);
	if (!r && vp->nr_backend &&
	    !(vp->rings = calloc(vp->nr_backend, sizeof(*vp->rings))))
		r = -ENOMEM;
	if (!r)
		r = intx_init(vp, c->nr_iots ? c->iots[0] : NULL);
	if (!r)
		r = pci_dev_add_bar(d, VIRTIO_BAR, VIRTIO_BAR_SIZE,
				    PCI_BAR_MEM64 | PCI_BAR_PREFETCH, &bar_ops, vp);
	if (!r)
		r = pci_msix_init(d, vp->dm->irq, c->nr_queues + 1,
				  VIRTIO_MSIX_BAR);
	if (!r)
		r = add_vcap(vp, CAP_COMMON, VIRTIO_COMMON_OFF, VIRTIO_COMMON_LEN);
	if (!r)
		r = add_vcap(vp, CAP_ISR, VIRTIO_ISR_OFF, 1);
	if (!r && c->cfg_size)
		r = add_vcap(vp, CAP_DEVICE, VIRTIO_DEVICE_OFF, c->cfg_size);
	if (!r)
		r = add_vcap(vp, CAP_NOTIFY, VIRTIO_NOTIFY_OFF,
			     c->nr_queues * VIRTIO_NOTIFY_MULT);
	if (r) {
		pr_err("%s: virtio-pci set-up failed: %s", vp->name, strerror(-r));
		virtio_pci_destroy(vp);
	}
	return r;
}

int virtio_pci_add(struct virtio_pci *vp)
{
	return dm_add(vp->dm, &vp->dev);
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	unsigned i;

	if (vp->q) {
		bar_moved(&vp->pci, VIRTIO_BAR, 0);
		for (i = 0; i < vp->nr_queues; i++) {
			struct virtio_queue *q = &vp->q[i];

			queue_stop(q);
			if (q->notify_fd >= 0 && q->iot)
				iothread_del(q->iot, &q->notify_h);
			if (q->notify_fd >= 0)
				close(q->notify_fd);
			pthread_mutex_destroy(&q->lock);
		}
		free(vp->q);
		vp->q = NULL;
	}
	if (vp->intx_assigned)
		dm_irqfd(vp->dm, vp->pci.intx_gsi, vp->intx_fd, -1, false);
	vp->intx_assigned = false;
	if (vp->resample_iot)
		iothread_del(vp->resample_iot, &vp->resample_h);
	vp->resample_iot = NULL;
	if (vp->intx_fd >= 0)
		close(vp->intx_fd);
	if (vp->resample_fd >= 0)
		close(vp->resample_fd);
	vp->intx_fd = vp->resample_fd = -1;
	if (vp->pci.msix.nr)
		pci_msix_destroy(&vp->pci);
	free(vp->rings);
	vp->rings = NULL;
	pthread_cond_destroy(&vp->stopped);
	pthread_mutex_destroy(&vp->lock);
	pci_dev_destroy(&vp->pci);
}
