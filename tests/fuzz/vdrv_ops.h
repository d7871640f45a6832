/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hostile driver of the virtio fuzz harnesses: an input is a stream
 * of operations, each an opcode byte and its arguments (missing bytes
 * read as 0), played against one virtio-pci function through vdrv.h.
 * Operations cover what a guest can do: status writes (resets among
 * them), feature negotiation, queue set-up with any size, descriptors
 * with any address, length, flags and next, offers and avail-index
 * jumps, kicks, raw accesses anywhere in BAR 4, device config space,
 * PCI config space (ECAM and 0xcf8/0xcfc) and the MSI-X table, and bytes
 * written into the buffers; two opcodes belong to the device (a packet
 * from the peer, say). Queue kicks are served synchronously on the
 * harness thread (virtio_queue_kick), so a run is repeatable unless the
 * device has its own I/O thread.
 */
#ifndef SMPVISOR_FUZZ_VDRV_OPS_H
#define SMPVISOR_FUZZ_VDRV_OPS_H

#include "lib/layout.h"
#include "vdrv.h"

struct vdrv_in {
	const u8 *p;
	size_t n;
};

static inline u64 vin(struct vdrv_in *in, unsigned bytes)
{
	u64 v = 0;
	unsigned i;

	for (i = 0; i < bytes; i++) {
		if (in->n) {
			v |= (u64)in->p[0] << (8 * i);
			in->p++;
			in->n--;
		}
	}
	return v;
}

/* An access width: 1, 2, 4 or 8. */
static inline u32 vin_len(struct vdrv_in *in)
{
	return 1u << (vin(in, 1) & 3);
}

/* A guest address: mostly inside the buffer area, sometimes anything. */
static inline u64 vin_gpa(struct vdrv_in *in)
{
	u8 how = (u8)vin(in, 1);

	if (how < 0xf0)
		return VDRV_BUF_GPA + vin(in, 3) % VDRV_BUF_LEN;
	return vin(in, 8);
}

struct vdrv_dev_ops {
	/* Device opcodes 0 and 1: consume arguments from in. */
	void (*op)(struct vdrv *d, unsigned which, struct vdrv_in *in);
};

/* Bytes of guest RAM the operations may have touched. */
static inline void vdrv_clear(struct vdrv *d)
{
	u8 *p = vdrv_hva(d, VDRV_RING_GPA, VDRV_BUF_GPA + VDRV_BUF_LEN -
			 VDRV_RING_GPA);

	if (p)
		memset(p, 0, VDRV_BUF_GPA + VDRV_BUF_LEN - VDRV_RING_GPA);
}

static inline void vdrv_pci_cfg(struct vdrv *d, struct vdrv_in *in, bool write)
{
	u32 off = (u32)vin(in, 2) & 0xfff, len = vin_len(in);
	u64 v = vin(in, 8);
	u8 via = (u8)vin(in, 1);

	if (len > 4)
		len = 4;
	if (via & 1) {		/* ECAM, bus 0, the device's slot */
		u64 a = PCI_ECAM_ADDR + ((u64)d->vp->pci.slot << 15) + off;

		bus_dispatch(&d->mmio, a, (u8 *)&v, len, write);
	} else {		/* 0xcf8 / 0xcfc */
		u32 addr = 0x80000000u | ((u32)d->vp->pci.slot << 11) | (off & 0xfc);

		bus_dispatch(&d->pio, PCI_CONFIG_PORT, (u8 *)&addr, 4, true);
		bus_dispatch(&d->pio, PCI_CONFIG_PORT + 4 + (off & 3), (u8 *)&v,
			     len, write);
	}
}

/* Play the whole input. */
static inline void vdrv_play(struct vdrv *d, const struct vdrv_dev_ops *ops,
			     const u8 *data, size_t size)
{
	struct vdrv_in in = { data, size };
	struct virtio_pci *vp = d->vp;
	unsigned steps = 0;

	while (in.n && steps++ < 256) {
		u8 op = (u8)vin(&in, 1);
		unsigned q;
		u64 v, a;
		u32 len;
		u16 flags;

		switch (op % 18) {
		case 0:		/* status */
			vdrv_wr(d, VDRV_STATUS, vin(&in, 1), 1);
			break;
		case 1:		/* the whole negotiation */
			vdrv_negotiate(d, vin(&in, 8));
			break;
		case 2:		/* queue set-up: any size, any vector */
			q = (unsigned)vin(&in, 1) % 8;
			v = vin(&in, 2);
			vdrv_queue(d, q, (u16)v, (u16)vin(&in, 1));
			break;
		case 3:
			vdrv_driver_ok(d);
			break;
		case 4:		/* a descriptor */
			q = (unsigned)vin(&in, 1) % 8;
			v = vin(&in, 1);
			a = vin_gpa(&in);
			len = (u32)vin(&in, 3);
			/* flags, then next: in order (not two arguments) */
			flags = (u16)(vin(&in, 1) & 7);
			vdrv_desc(d, q, (unsigned)v, a, len, flags, (u16)vin(&in, 1));
			break;
		case 5:		/* offer a head */
			q = (unsigned)vin(&in, 1) % 8;
			vdrv_offer(d, q, (u16)vin(&in, 2));
			break;
		case 6:		/* kick, served here and now */
			q = (unsigned)vin(&in, 1);
			if (q < vp->nr_queues)
				virtio_queue_kick(&vp->q[q]);
			break;
		case 7:		/* any common config field */
			v = vin(&in, 1) % VIRTIO_COMMON_LEN;
			len = vin_len(&in);
			vdrv_wr(d, v, vin(&in, 8), len);
			break;
		case 8:		/* read anywhere in BAR 4 (ISR clears) */
			v = vin(&in, 2) % VIRTIO_BAR_SIZE;
			vdrv_rd(d, v, vin_len(&in));
			break;
		case 9:		/* device config write */
			v = vin(&in, 1);
			len = vin_len(&in);
			vdrv_wr(d, VIRTIO_DEVICE_OFF + v, vin(&in, 8), len);
			break;
		case 10:	/* bytes into guest buffers */
			a = VDRV_BUF_GPA + vin(&in, 3) % VDRV_BUF_LEN;
			len = (u32)vin(&in, 1);
			while (len-- && in.n) {
				u8 *p = vdrv_hva(d, a++, 1);
				u8 b = (u8)vin(&in, 1);

				if (p)
					*p = b;
			}
			break;
		case 11:	/* the avail index jumps */
			q = (unsigned)vin(&in, 1) % 8;
			v = vin(&in, 2);
			{
				u16 *avail = vdrv_hva(d, vdrv_ring(q) + 0x1000, 4);

				if (avail)
					__atomic_store_n(&avail[1], (u16)v,
							 __ATOMIC_RELEASE);
				d->avail[q] = (u16)v;
			}
			break;
		case 12:
		case 13:
			if (ops->op)
				ops->op(d, op % 18 - 12, &in);
			break;
		case 14:	/* PCI config space write (BAR moves, MSI-X) */
			vdrv_pci_cfg(d, &in, true);
			break;
		case 15:
			vdrv_pci_cfg(d, &in, false);
			break;
		case 16:	/* MSI-X table and PBA (BAR 1), wherever it is */
			a = atomic_load(&vp->pci.bar[VIRTIO_MSIX_BAR].addr);
			v = vin(&in, 2) & 0xfff;
			len = vin_len(&in);
			{
				u64 val = vin(&in, 8);

				if (a)
					bus_dispatch(&d->mmio, a + v, (u8 *)&val,
						     len, vin(&in, 1) & 1);
			}
			break;
		case 17:	/* reset */
			vdrv_wr(d, VDRV_STATUS, 0, 1);
			break;
		}
	}
}

#endif
