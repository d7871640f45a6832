/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A guest's virtio driver, in the host: the machine around one virtio-pci
 * function (guest RAM, buses, PCI host, interrupt router without KVM, a
 * device manager, one I/O thread) and the register accesses a driver
 * makes, for every virtio device unit test and fuzz harness, well-behaved
 * or hostile. Nothing here asserts: callers check (cmocka) or abort
 * (harnesses).
 *
 * Devices are created into d->dm (vdrv_dm), which destroys them in
 * vdrv_fini. Without KVM there are no ioeventfds: a kick is the notify
 * region's write, which the transport hands to the queue's I/O thread,
 * and an interrupt is a write to the MSI-X vector's eventfd (vdrv_irqs).
 *
 * Rings of queue q live at vdrv_ring(q): descriptors, then the available
 * ring 0x1000 above, the used ring 0x2000 above. Buffers go anywhere in
 * VDRV_BUF_GPA.. (guest RAM is VDRV_MEM).
 */
#ifndef SMPVISOR_FUZZ_VDRV_H
#define SMPVISOR_FUZZ_VDRV_H

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "irq/irq.h"
#include "vmm/devices/virtio.h"
#include "vmm/iothread.h"
#include "vmm/memory.h"
#include "vmm/pci.h"

#define VDRV_MEM	(16 * MiB)
#define VDRV_RING_GPA	0x10000ULL	/* + 0x4000 per queue */
#define VDRV_BUF_GPA	0x30000ULL
#define VDRV_BUF_LEN	0x10000ULL

/* Common configuration offsets (virtio 1.2, 4.1.4.3). */
#define VDRV_DFSELECT	0
#define VDRV_DF		4
#define VDRV_GFSELECT	8
#define VDRV_GF		12
#define VDRV_NUMQ	18
#define VDRV_STATUS	20
#define VDRV_QSELECT	22
#define VDRV_QSIZE	24
#define VDRV_QMSIX	26
#define VDRV_QENABLE	28
#define VDRV_QDESC	32
#define VDRV_QDRIVER	40
#define VDRV_QDEVICE	48

#define VDRV_S_UP	(VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | \
			 VIRTIO_STATUS_FEATURES_OK)

struct vdrv {
	struct guest_mem mem;
	struct bus pio, mmio;
	struct irq_router irq;
	struct device_manager dm;
	struct pci_host h;
	struct iothread iot;
	struct iothread *iots[1];
	bool iot_started;
	struct virtio_pci *vp;
	u64 bar;
	u8 cfg0[64];		/* config space header as attached */
	u16 avail[8], qsize[8];
};

static inline u64 vdrv_ring(unsigned q)
{
	return VDRV_RING_GPA + 0x4000ULL * q;
}

/* Guest RAM, buses, PCI host, I/O thread (not started): 0 or -errno. */
static inline int vdrv_init(struct vdrv *d)
{
	int r;

	memset(d, 0, sizeof(*d));
	r = guest_mem_layout(&d->mem, VDRV_MEM);
	if (!r)
		r = guest_mem_alloc(&d->mem);
	if (r)
		return r;
	bus_init(&d->pio, "pio");
	bus_init(&d->mmio, "mmio");
	r = irq_router_init(&d->irq, NULL);
	dm_init(&d->dm, NULL, &d->irq, &d->pio, &d->mmio);
	if (!r)
		r = pci_host_init(&d->h, &d->dm, guest_mem_end(&d->mem));
	if (!r)
		r = iothread_init(&d->iot, 0);
	d->iots[0] = &d->iot;
	return r;
}

/*
 * Plug the device in (created with d->iots, or with no I/O thread for a
 * harness that kicks by hand), turn memory decode on, optionally start
 * the I/O thread. 0 or -errno.
 */
static inline int vdrv_attach(struct vdrv *d, struct virtio_pci *vp,
			      bool start_iothread)
{
	int r;

	d->vp = vp;
	r = pci_host_add(&d->h, &vp->pci);
	if (!r)
		r = pci_host_register(&d->h);
	if (r)
		return r;
	bus_seal(&d->pio);
	bus_seal(&d->mmio);
	if (start_iothread) {
		r = iothread_start(&d->iot, NULL);
		if (r)
			return r;
		d->iot_started = true;
	}
	pci_cfg_write(&vp->pci, PCI_COMMAND, (const u8 *)"\x06\x00", 2);
	pci_cfg_read(&vp->pci, 0, d->cfg0, sizeof(d->cfg0));
	d->bar = atomic_load(&vp->pci.bar[VIRTIO_BAR].addr);
	return d->bar ? 0 : -ENODEV;
}

/* Stop the I/O thread: call before destroying the device. */
static inline void vdrv_stop(struct vdrv *d)
{
	if (d->iot_started)
		iothread_stop(&d->iot);
	d->iot_started = false;
}

/* After vdrv_stop: destroys the devices, then the rest. */
static inline void vdrv_fini(struct vdrv *d)
{
	dm_destroy(&d->dm);
	iothread_destroy(&d->iot);
	irq_router_destroy(&d->irq);
	bus_free(&d->pio);
	bus_free(&d->mmio);
	guest_mem_free(&d->mem);
}

static inline void *vdrv_hva(struct vdrv *d, u64 gpa, u64 len)
{
	return gpa_to_hva(&d->mem, gpa, len);
}

/* BAR 4 where it decodes now (the guest may move it), 0 if nowhere. */
static inline u64 vdrv_bar(struct vdrv *d)
{
	return atomic_load(&d->vp->pci.bar[VIRTIO_BAR].addr);
}

static inline u64 vdrv_rd(struct vdrv *d, u64 off, u32 len)
{
	u64 v = 0, bar = vdrv_bar(d);

	if (bar)
		bus_dispatch(&d->mmio, bar + off, (u8 *)&v, len, false);
	return v;
}

static inline void vdrv_wr(struct vdrv *d, u64 off, u64 v, u32 len)
{
	u64 bar = vdrv_bar(d);

	if (bar)
		bus_dispatch(&d->mmio, bar + off, (u8 *)&v, len, true);
}

/*
 * Put config space back the way vdrv_attach left it: the BARs where the
 * host placed them (d->cfg0), decoding on, MSI-X off.
 */
static inline void vdrv_pci_restore(struct vdrv *d)
{
	u8 off0[2] = { 0, 0 };

	pci_cfg_write(&d->vp->pci, PCI_COMMAND, off0, 2);
	pci_cfg_write(&d->vp->pci, 0x10, d->cfg0 + 0x10, 24);
	if (d->vp->pci.msix.cap)
		pci_cfg_write(&d->vp->pci, d->vp->pci.msix.cap + 2, off0, 2);
	pci_cfg_write(&d->vp->pci, PCI_COMMAND, (const u8 *)"\x06\x00", 2);
}

static inline u8 vdrv_status(struct vdrv *d)
{
	return (u8)vdrv_rd(d, VDRV_STATUS, 1);
}

/* The features the device offers. */
static inline u64 vdrv_features(struct vdrv *d)
{
	u64 feat;

	vdrv_wr(d, VDRV_DFSELECT, 0, 4);
	feat = vdrv_rd(d, VDRV_DF, 4);
	vdrv_wr(d, VDRV_DFSELECT, 1, 4);
	return feat | vdrv_rd(d, VDRV_DF, 4) << 32;
}

/*
 * Reset, then ACKNOWLEDGE, DRIVER, the features in want (of those
 * offered) and FEATURES_OK: the status read back.
 */
static inline u8 vdrv_negotiate(struct vdrv *d, u64 want)
{
	u64 feat;

	vdrv_wr(d, VDRV_STATUS, 0, 1);
	vdrv_wr(d, VDRV_STATUS, VIRTIO_STATUS_ACK, 1);
	vdrv_wr(d, VDRV_STATUS, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER, 1);
	feat = vdrv_features(d) & want;
	vdrv_wr(d, VDRV_GFSELECT, 0, 4);
	vdrv_wr(d, VDRV_GF, (u32)feat, 4);
	vdrv_wr(d, VDRV_GFSELECT, 1, 4);
	vdrv_wr(d, VDRV_GF, feat >> 32, 4);
	vdrv_wr(d, VDRV_STATUS, VDRV_S_UP, 1);
	memset(d->avail, 0, sizeof(d->avail));
	return vdrv_status(d);
}

/* Queue q of size with its rings at desc, avail, used (not cleared), enabled. */
static inline void vdrv_queue_at(struct vdrv *d, unsigned q, u16 size,
				 u16 vector, u64 desc, u64 avail, u64 used)
{
	vdrv_wr(d, VDRV_QSELECT, q, 2);
	vdrv_wr(d, VDRV_QSIZE, size, 2);
	vdrv_wr(d, VDRV_QMSIX, vector, 2);
	vdrv_wr(d, VDRV_QDESC, desc, 8);
	vdrv_wr(d, VDRV_QDRIVER, avail, 8);
	vdrv_wr(d, VDRV_QDEVICE, used, 8);
	vdrv_wr(d, VDRV_QENABLE, 1, 2);
	d->qsize[q & 7] = size;
	d->avail[q & 7] = 0;
}

/* Queue q (< 8) of size at vdrv_ring(q), rings zeroed, enabled. */
static inline void vdrv_queue(struct vdrv *d, unsigned q, u16 size, u16 vector)
{
	u8 *ring = vdrv_hva(d, vdrv_ring(q), 0x4000);

	if (ring)
		memset(ring, 0, 0x4000);
	vdrv_queue_at(d, q, size, vector, vdrv_ring(q), vdrv_ring(q) + 0x1000,
		      vdrv_ring(q) + 0x2000);
}

static inline void vdrv_driver_ok(struct vdrv *d)
{
	vdrv_wr(d, VDRV_STATUS, VDRV_S_UP | VIRTIO_STATUS_DRIVER_OK, 1);
}

/* Descriptor i of queue q's table (size entries). */
static inline void vdrv_desc(struct vdrv *d, unsigned q, unsigned i, u64 addr,
			     u32 len, u16 flags, u16 next)
{
	struct virtq_desc v = { addr, len, flags, next };
	u8 *t = vdrv_hva(d, vdrv_ring(q), 0x1000);

	if (t && i < 0x1000 / 16)
		memcpy(t + 16 * i, &v, sizeof(v));
}

/* Offer head on queue q (no kick). */
static inline void vdrv_offer(struct vdrv *d, unsigned q, u16 head)
{
	u16 *avail = vdrv_hva(d, vdrv_ring(q) + 0x1000, 0x1000);
	u16 size = d->qsize[q & 7] ? d->qsize[q & 7] : 1;

	if (!avail)
		return;
	avail[2 + d->avail[q & 7] % size] = head;
	d->avail[q & 7]++;
	__atomic_store_n(&avail[1], d->avail[q & 7], __ATOMIC_RELEASE);
}

/* Kick queue q through the notify region (no ioeventfd without KVM). */
static inline void vdrv_kick(struct vdrv *d, unsigned q)
{
	vdrv_wr(d, VIRTIO_NOTIFY_OFF + q * VIRTIO_NOTIFY_MULT, q, 2);
}

/* The used ring's idx of queue q. */
static inline u16 vdrv_used_idx(struct vdrv *d, unsigned q)
{
	u16 *used = vdrv_hva(d, vdrv_ring(q) + 0x2000, 4);

	return used ? __atomic_load_n(&used[1], __ATOMIC_ACQUIRE) : 0;
}

/* Wait up to 5 s for queue q's used index to reach n: true if it did. */
static inline bool vdrv_wait_used(struct vdrv *d, unsigned q, u16 n)
{
	int i;

	for (i = 0; i < 5000 && (int16_t)(vdrv_used_idx(d, q) - n) < 0; i++)
		usleep(1000);
	return (int16_t)(vdrv_used_idx(d, q) - n) >= 0;
}

/* Used entry n of queue q: head and length. */
static inline void vdrv_used(struct vdrv *d, unsigned q, u16 n, u32 *head,
			     u32 *len)
{
	u32 *e = vdrv_hva(d, vdrv_ring(q) + 0x2000 + 4 +
			  8ULL * (n % (d->qsize[q & 7] ? d->qsize[q & 7] : 1)), 8);

	*head = e ? e[0] : ~0U;
	*len = e ? e[1] : 0;
}

/* Distinct byte values in p[0, n) (random bytes have many). */
static inline unsigned vdrv_distinct(const u8 *p, size_t n)
{
	bool seen[256] = { false };
	unsigned d = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		d += !seen[p[i]];
		seen[p[i]] = true;
	}
	return d;
}

/* MSI-X on (config space), every vector masked as after reset. */
static inline void vdrv_msix_on(struct vdrv *d)
{
	u8 on[2] = { 0, MSIX_CTRL_ENABLE >> 8 };

	pci_cfg_write(&d->vp->pci, d->vp->pci.msix.cap + 2, on, 2);
}

/* Program MSI-X vector v (a message to APIC 0), masked or not. */
static inline void vdrv_msix_vector(struct vdrv *d, unsigned v, bool masked)
{
	u64 t = atomic_load(&d->vp->pci.bar[VIRTIO_MSIX_BAR].addr) + 16 * v;
	u32 w[4] = { MSI_ADDR_BASE, 0, 0x30 + v, masked };
	unsigned i;

	for (i = 0; i < 4; i++)
		bus_dispatch(&d->mmio, t + 4 * i, (u8 *)&w[i], 4, true);
}

/* The pending bit of vector v, as the guest reads it in the PBA. */
static inline bool vdrv_msix_pending(struct vdrv *d, unsigned v)
{
	u64 a = atomic_load(&d->vp->pci.bar[VIRTIO_MSIX_BAR].addr) +
		d->vp->pci.msix.pba_off + 8 * (v / 64), p = 0;

	bus_dispatch(&d->mmio, a, (u8 *)&p, 8, false);
	return p >> (v % 64) & 1;
}

/* Interrupts delivered on vector v since the last call (its eventfd). */
static inline u64 vdrv_irqs(struct vdrv *d, unsigned v)
{
	u64 n = 0;

	if (read(d->vp->pci.msix.fd[v], &n, sizeof(n)) < 0)
		return 0;
	return n;
}

#endif
