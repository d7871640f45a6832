// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz harness: the virtio-pci transport and the PCI layer under it, on
 * virtio-rng (the smallest device, so the input's bytes go to the
 * transport): PCI config space through ECAM and 0xcf8/0xcfc (BAR sizing
 * and moves, command register, capabilities), the common, notify, ISR
 * and device config regions of BAR 4 wherever the guest put it, and the
 * MSI-X table and PBA in BAR 1. Device opcode 0 reads the whole config
 * space, 1 a raw port in 0xcf8..0xcff. The device lives across inputs;
 * each input starts with config space restored, a reset and clean RAM.
 */
#include <stdlib.h>

#include "harnesses.h"
#include "vdrv_ops.h"
#include "vmm/devices/virtio_rng.h"

static struct {
	struct vdrv d;
	struct virtio_rng rng;
	bool up;
} h;

static void pci_op(struct vdrv *d, unsigned which, struct vdrv_in *in)
{
	u8 cfg[PCI_CFG_SIZE];
	u64 v;

	if (which == 0) {
		pci_cfg_read(&d->vp->pci, 0, cfg, sizeof(cfg));
		return;
	}
	v = vin(in, 4);
	bus_dispatch(&d->pio, PCI_CONFIG_PORT + vin(in, 1) % 8, (u8 *)&v,
		     (u32)(1u << (vin(in, 1) % 3)), vin(in, 1) & 1);
}

static const struct vdrv_dev_ops ops = { pci_op };

int fuzz_virtio_pci_one(const u8 *data, size_t size)
{
	if (!h.up) {
		if (vdrv_init(&h.d) ||
		    virtio_rng_create(&h.rng, &h.d.dm, &h.d.mem, NULL) ||
		    vdrv_attach(&h.d, &h.rng.vp, false))
			abort();
		h.up = true;
	}
	vdrv_pci_restore(&h.d);
	vdrv_wr(&h.d, VDRV_STATUS, 0, 1);
	vdrv_clear(&h.d);
	vdrv_play(&h.d, &ops, data, size);
	return (int)vdrv_status(&h.d);
}
