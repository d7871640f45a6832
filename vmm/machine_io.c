// SPDX-License-Identifier: GPL-2.0
/*
 * The I/O half of the machine: interrupt routing, I/O threads, the PCI
 * host and the devices on it, each created into the device manager,
 * which destroys them. These are init steps of vmm/machine.c's
 * table; each has its teardown, run in reverse order. The I/O threads are
 * created before the devices (which add their fds to them) but started
 * only by the last step, and stopped first on the way down, so no handler
 * runs while a device is being built or freed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <numa.h>

#include "smp/topology.h"
#include "vmm/machine.h"
#include "vmm/numa_place.h"

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

/*
 * The default I/O threads: one per host node the guest uses, each to run
 * on that node's CPUs (those this process may use), so a queue's I/O
 * thread can sit on the node of the vCPUs that submit to it.
 */
static int iothreads_per_node(struct machine *m, unsigned *n)
{
	const struct numa_host *h = m->host;
	struct cpulist used = { 0 };
	int id, r;

	r = numa_host_nodes_used(m->cfg, &used);
	if (r) {
		cpulist_free(&used);
		return r;
	}
	*n = 0;
	m->iot_node = calloc(MAX(cpulist_count(&used), 1), sizeof(*m->iot_node));
	m->iot_pin = calloc(MAX(cpulist_count(&used), 1), sizeof(*m->iot_pin));
	if (!m->iot_node || !m->iot_pin)
		r = -ENOMEM;
	else
		m->nr_iot_pin = (unsigned)MAX(cpulist_count(&used), 1);
	cpulist_for_each(id, &used) {
		const struct numa_host_node *hn = numa_host_node(h, (unsigned)id);
		char *cpus;
		int cpu;

		if (r || !hn || !cpulist_count(&hn->cpus))
			continue;
		r = cpulist_init(&m->iot_pin[*n], CONFIG_HOST_CPUS);
		if (r)
			break;
		cpulist_for_each(cpu, &hn->cpus)
			cpulist_set(&m->iot_pin[*n], (unsigned)cpu);
		m->iot_node[*n] = (int)hn->id;
		cpus = cpulist_format(&m->iot_pin[*n]);
		pr_info("iothread %u: host node %u, CPUs %s", *n, hn->id,
			cpus ? cpus : "?");
		free(cpus);
		(*n)++;
	}
	cpulist_free(&used);
	if (!r && !*n)
		*n = 1;		/* no node known: one unpinned thread */
	return r;
}

int machine_iothreads_init(struct machine *m)
{
	unsigned i, n = m->cfg->nr_iothreads;
	int r;

	if (!n) {
		r = iothreads_per_node(m, &n);
		if (r)
			return r;
	}
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

/* The host node vCPU v runs on: its pin's, else its guest node's; or -1. */
static int vcpu_host_node(const struct config *c, unsigned v)
{
	int id;

	if (c->vcpu_pin && v < c->nr_vcpu_pin && c->vcpu_pin[v].bits)
		cpulist_for_each(id, &c->vcpu_pin[v])
			return numa_available() < 0 ? 0 : numa_node_of_cpu(id);
	if (c->nr_nodes && c->vcpu_node)
		cpulist_for_each(id, &c->nodes[c->vcpu_node[v]].host_nodes)
			return id;
	return -1;
}

/*
 * Per-queue I/O threads for a device of nq queues with the default
 * threads: queue i is submitted to by vCPU i (mod the vCPU count; Linux
 * maps blk-mq queue i to CPU i when there are as many), so it goes to
 * the I/O thread of that vCPU's host node. NULL (spread the queues over
 * every thread) with "iothreads" given or only one thread.
 */
static struct iothread **queue_iothreads(struct machine *m, unsigned nq)
{
	struct iothread **q;
	unsigned i, t;

	if (!m->iot_node || m->nr_iothreads < 2)
		return NULL;
	q = calloc(nq, sizeof(*q));
	if (!q)
		return NULL;
	for (i = 0; i < nq; i++) {
		int node = vcpu_host_node(m->cfg, i % m->cfg->nr_cpus);

		q[i] = m->iot_ptrs[i % m->nr_iothreads];
		for (t = 0; t < m->nr_iothreads; t++)
			if (m->iot_node[t] == node)
				q[i] = m->iot_ptrs[t];
	}
	return q;
}

void machine_iothreads_exit(struct machine *m)
{
	unsigned i;

	for (i = 0; i < m->nr_iothreads; i++)
		iothread_destroy(&m->iothreads[i]);
	for (i = 0; m->iot_pin && i < m->nr_iot_pin; i++)
		cpulist_free(&m->iot_pin[i]);
	free(m->iothreads);
	free(m->iot_ptrs);
	free(m->iot_node);
	free(m->iot_pin);
	m->iothreads = NULL;
	m->iot_ptrs = NULL;
	m->iot_node = NULL;
	m->iot_pin = NULL;
	m->nr_iot_pin = 0;
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

	r = vhost_user_blk_create(b, m->nr_vdisks, &o, &m->dm, &m->mem);
	if (r)
		return r;
	m->nr_vdisks++;
	return pci_host_add(&m->pci, &b->vp.pci);
}

/* -v: which I/O thread serves each queue ("virtio-blk0: queue I/O threads 0 0 1 1"). */
static void log_queue_map(const struct virtio_blk *b)
{
	char buf[256];
	size_t o = 0;
	unsigned i;

	if (log_level < LOG_INFO)
		return;
	for (i = 0; i < b->vp.nr_queues && o + 8 < sizeof(buf); i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, " %u",
				      b->vp.q[i].iot ? b->vp.q[i].iot->idx : 0);
	pr_info("%s: queue I/O threads%s", b->name, buf);
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
		struct iothread **per_q;

		if (d->vhost_user) {
			r = vdisk_init(m, d);
			if (r)
				return r;
			continue;
		}
		per_q = one ? NULL : queue_iothreads(m, d->queues);
		if (per_q)
			r = virtio_blk_create(b, m->nr_disks, &o, &m->dm,
					      &m->mem, per_q, d->queues);
		else
			r = virtio_blk_create(b, m->nr_disks, &o, &m->dm, &m->mem,
					      one ? &m->iot_ptrs[d->iothread] :
					      m->iot_ptrs, one ? 1 : m->nr_iothreads);
		free(per_q);
		if (r)
			return r;
		log_queue_map(b);
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
			.vhost = n->vhost,
		};

		r = virtio_net_create(&m->nets[i], i, &o, &m->dm, &m->mem,
				      m->iot_ptrs, m->nr_iothreads);
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
	r = virtio_rng_create(&m->rng, &m->dm, &m->mem,
			      m->iot_ptrs[m->nr_iothreads - 1]);
	if (r)
		return r;
	m->rng_ok = true;
	return pci_host_add(&m->pci, &m->rng.vp.pci);
}

int machine_pci_init(struct machine *m)
{
	int r;

	r = pci_host_init(&m->pci, &m->dm, guest_mem_end(&m->mem));
	if (r)
		return r;
	r = disks_init(m);
	if (!r)
		r = nets_init(m);
	if (!r)
		r = rng_init(m);
	if (!r)
		r = pci_host_register(&m->pci);
	return r;
}

/*
 * After dm_destroy: the manager destroyed every device it was given (a
 * device adds itself as the last step of its creation), so only the
 * arrays they lived in are left.
 */
void machine_pci_exit(struct machine *m)
{
	free(m->disks);
	m->disks = NULL;
	m->nr_disks = 0;
	free(m->vdisks);
	m->vdisks = NULL;
	m->nr_vdisks = 0;
	free(m->nets);
	m->nets = NULL;
	m->nr_nets = 0;
	m->rng_ok = false;
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
		else if (m->iot_pin && m->iot_pin[i].bits)
			pin = &m->iot_pin[i];
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

void machine_log_stats(struct machine *m)
{
	unsigned i;

	if (log_level < LOG_INFO)
		return;
	for (i = 0; i < m->vcpus.nr; i++) {
		const struct vcpu *v = &m->vcpus.v[i];

		pr_info("vcpu %u: stats: %llu exits to user space (%llu port I/O, %llu MMIO)",
			i, (unsigned long long)v->exits,
			(unsigned long long)v->pio_exits,
			(unsigned long long)v->mmio_exits);
	}
	for (i = 0; i < m->nr_disks; i++)
		virtio_pci_log_stats(&m->disks[i].vp);
	for (i = 0; i < m->nr_vdisks; i++)
		virtio_pci_log_stats(&m->vdisks[i].vp);
	for (i = 0; i < m->nr_nets; i++)
		virtio_pci_log_stats(&m->nets[i].vp);
}
