// SPDX-License-Identifier: GPL-2.0
/*
 * The I/O half of the machine: interrupt routing, I/O threads, the PCI
 * host and the devices on it. These are init steps of vmm/machine.c's
 * table; each has its teardown, run in reverse order. The I/O threads are
 * created before the devices (which add their fds to them) but started
 * only by the last step, and stopped first on the way down, so no handler
 * runs while a device is being built or freed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"
#include "topology.h"

int machine_irq_init(struct machine *m)
{
	int r = irq_router_init(&m->irq, &m->kvm);

	if (r)
		return r;
	/* Large guests address APIC IDs above 255 (see irq.h). */
	m->irq.x2apic_ids = m->irq.ext_dest =
		smp_topo_needs_x2apic(&m->topo, m->cfg->nr_cpus);
	return 0;
}

void machine_irq_exit(struct machine *m)
{
	irq_router_destroy(&m->irq);
}

int machine_iothreads_init(struct machine *m)
{
	unsigned i, n = m->cfg->nr_iothreads ? m->cfg->nr_iothreads : 1;
	int r;

	m->iothreads = calloc(n, sizeof(*m->iothreads));
	m->iot_ptrs = calloc(n, sizeof(*m->iot_ptrs));
	if (!m->iothreads || !m->iot_ptrs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		r = iothread_init(&m->iothreads[i], i);
		if (r)
			return r;
		m->iot_ptrs[i] = &m->iothreads[i];
		m->nr_iothreads = i + 1;
	}
	return 0;
}

void machine_iothreads_exit(struct machine *m)
{
	unsigned i;

	for (i = 0; i < m->nr_iothreads; i++)
		iothread_destroy(&m->iothreads[i]);
	free(m->iothreads);
	free(m->iot_ptrs);
	m->iothreads = NULL;
	m->iot_ptrs = NULL;
	m->nr_iothreads = 0;
}

/* A disk served by a vhost-user back end (qemu-storage-daemon). */
static int vdisk_init(struct machine *m, const struct config_disk *d)
{
	struct vhost_user_blk_opts o = {
		.socket = d->vhost_user, .queues = d->queues,
		.max_queues = m->cfg->nr_cpus,
	};
	struct vhost_user_blk *b = &m->vdisks[m->nr_vdisks];
	int r;

	r = vhost_user_blk_create(b, m->nr_vdisks, &o, &m->kvm, &m->irq,
				  &m->mem, m->iot_ptrs[0]);
	if (r)
		return r;
	m->nr_vdisks++;
	return pci_host_add(&m->pci, &b->vp.pci);
}

static int disks_init(struct machine *m)
{
	const struct config *c = m->cfg;
	unsigned i;
	int r;

	if (!c->nr_disks)
		return 0;
	m->disks = calloc(c->nr_disks, sizeof(*m->disks));
	m->vdisks = calloc(c->nr_disks, sizeof(*m->vdisks));
	if (!m->disks || !m->vdisks)
		return -ENOMEM;
	for (i = 0; i < c->nr_disks; i++) {
		const struct config_disk *d = &c->disks[i];
		struct virtio_blk_opts o = {
			.path = d->path, .serial = d->serial,
			.readonly = d->readonly, .queues = d->queues,
		};
		bool one = d->iothread >= 0;
		struct virtio_blk *b = &m->disks[m->nr_disks];

		if (d->vhost_user) {
			r = vdisk_init(m, d);
			if (r)
				return r;
			continue;
		}
		r = virtio_blk_create(b, m->nr_disks, &o, &m->kvm, &m->irq,
				      &m->mem, one ? &m->iot_ptrs[d->iothread] :
				      m->iot_ptrs, one ? 1 : m->nr_iothreads);
		if (r)
			return r;
		m->nr_disks++;
		r = pci_host_add(&m->pci, &b->vp.pci);
		if (r)
			return r;
	}
	return 0;
}

static int nets_init(struct machine *m)
{
	const struct config *c = m->cfg;
	unsigned i;
	int r;

	if (!c->nr_nets)
		return 0;
	m->nets = calloc(c->nr_nets, sizeof(*m->nets));
	if (!m->nets)
		return -ENOMEM;
	for (i = 0; i < c->nr_nets; i++) {
		const struct config_net *n = &c->nets[i];
		struct virtio_net_opts o = {
			.tap = n->tap, .queues = n->queues,
			.mac = n->mac_given ? n->mac : NULL,
		};

		r = virtio_net_create(&m->nets[i], i, &o, &m->kvm, &m->irq,
				      &m->mem, m->iot_ptrs, m->nr_iothreads);
		if (r)
			return r;
		m->nr_nets = i + 1;
		r = pci_host_add(&m->pci, &m->nets[i].vp.pci);
		if (r)
			return r;
	}
	return 0;
}

/* The entropy device, served by the last I/O thread. */
static int rng_init(struct machine *m)
{
	int r;

	if (!m->cfg->rng)
		return 0;
	r = virtio_rng_create(&m->rng, &m->kvm, &m->irq, &m->mem,
			      m->iot_ptrs[m->nr_iothreads - 1]);
	if (r)
		return r;
	m->rng_ok = true;
	return pci_host_add(&m->pci, &m->rng.vp.pci);
}

int machine_pci_init(struct machine *m)
{
	int r;

	r = pci_host_init(&m->pci, guest_mem_end(&m->mem));
	if (r)
		return r;
	m->pci_ok = true;
	r = disks_init(m);
	if (!r)
		r = nets_init(m);
	if (!r)
		r = rng_init(m);
	if (!r)
		r = pci_host_register(&m->pci, &m->pio, &m->mmio);
	return r;
}

void machine_pci_exit(struct machine *m)
{
	unsigned i;

	for (i = 0; i < m->nr_disks; i++)
		virtio_blk_destroy(&m->disks[i]);
	free(m->disks);
	m->disks = NULL;
	m->nr_disks = 0;
	for (i = 0; i < m->nr_vdisks; i++)
		vhost_user_blk_destroy(&m->vdisks[i]);
	free(m->vdisks);
	m->vdisks = NULL;
	m->nr_vdisks = 0;
	for (i = 0; i < m->nr_nets; i++)
		virtio_net_destroy(&m->nets[i]);
	free(m->nets);
	m->nets = NULL;
	m->nr_nets = 0;
	if (m->rng_ok)
		virtio_rng_destroy(&m->rng);
	m->rng_ok = false;
	if (m->pci_ok)
		pci_host_destroy(&m->pci);
	m->pci_ok = false;
}

int machine_iothreads_start(struct machine *m)
{
	const struct config *c = m->cfg;
	unsigned i;
	int r;

	for (i = 0; i < m->nr_iothreads; i++) {
		const struct cpulist *pin = NULL;

		if (i < c->nr_iothreads && c->iothreads[i].pinned)
			pin = &c->iothreads[i].pin;
		r = iothread_start(&m->iothreads[i], pin);
		if (r)
			return r;
	}
	return 0;
}

void machine_iothreads_stop(struct machine *m)
{
	unsigned i;

	for (i = 0; i < m->nr_iothreads; i++)
		iothread_stop(&m->iothreads[i]);
}
