// SPDX-License-Identifier: GPL-2.0
/*
 * The PCI devices the state fuzz harness loads streams into (see
 * state_targets.h): the PCI host, and one virtio device of each kind
 * created into the manager as vmm/machine_io.c does, on guest RAM and a
 * PCI host of its own (vdrv_targets.h), with no I/O thread: a resume
 * after a load serves the queues on the harness's thread. The table's
 * order is the seeds' target byte minus one minus the legacy targets'
 * count (mkcorpus_state_pci.py).
 */
#include <stdlib.h>

#include "state_targets.h"
#include "vdrv_targets.h"
#include "vmm/pci.h"

static int create_host(struct device_manager *dm, void **ctx)
{
	struct pci_host *h = *ctx = calloc(1, sizeof(*h));

	return h ? pci_host_init(h, dm, VDRV_MEM) : -ENOMEM;
}

static int create_virtio(struct device_manager *dm, void **ctx,
			 enum vdrv_kind kind)
{
	return vdrv_target_create((struct vdrv_target **)ctx, kind, dm, false);
}

static int create_blk(struct device_manager *dm, void **ctx)
{
	return create_virtio(dm, ctx, VDRV_BLK);
}

static int create_net(struct device_manager *dm, void **ctx)
{
	return create_virtio(dm, ctx, VDRV_NET);
}

static int create_rng(struct device_manager *dm, void **ctx)
{
	return create_virtio(dm, ctx, VDRV_RNG);
}

static int create_vub(struct device_manager *dm, void **ctx)
{
	return create_virtio(dm, ctx, VDRV_VUB);
}

static void free_virtio(void *ctx)
{
	vdrv_target_free(ctx);
}

const struct state_target state_targets_pci[] = {
	{ "pci-host", create_host, free },
	{ "virtio-blk0", create_blk, free_virtio },
	{ "virtio-net0", create_net, free_virtio },
	{ "virtio-rng", create_rng, free_virtio },
	{ "vhost-user-blk0", create_vub, free_virtio },
};
const unsigned nr_state_targets_pci = ARRAY_SIZE(state_targets_pci);
