// SPDX-License-Identifier: GPL-2.0
/*
 * The GSI routing table (see irq.h). We keep our own copy of the whole
 * table because KVM_SET_GSI_ROUTING only ever replaces it: every change
 * edits the copy under the router's lock and installs all of it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "irq/irq.h"
#include "lib/layout.h"

static struct kvm_irq_routing_entry *table_add(struct irq_router *r)
{
	struct kvm_irq_routing_entry *e;

	if (r->table->nr >= IRQ_MAX_ROUTES)
		return NULL;
	e = &r->table->entries[r->table->nr++];
	memset(e, 0, sizeof(*e));
	return e;
}

static void add_irqchip(struct irq_router *r, u32 gsi, u32 chip, u32 pin)
{
	struct kvm_irq_routing_entry *e = table_add(r);

	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

/* Index of gsi's MSI entry, or -1. */
static int find_msi(const struct irq_router *r, u32 gsi)
{
	u32 i;

	for (i = 0; i < r->table->nr; i++)
		if (r->table->entries[i].gsi == gsi &&
		    r->table->entries[i].type == KVM_IRQ_ROUTING_MSI)
			return (int)i;
	return -1;
}

/*
 * Install the table. Each KVM_SET_GSI_ROUTING costs the host an RCU
 * grace period, and a guest can ask for one per MSI-X table write: paced
 * (r->pace), the excess slept off by the vCPU thread that asked.
 */
static int commit(struct irq_router *r)
{
	r->commits++;
	if (!r->kvm)
		return 0;
	pace_wait(&r->pace);
	return kvm_set_gsi_routing(r->kvm, r->table);
}

int irq_router_init(struct irq_router *r, struct kvm_vm *kvm)
{
	u32 gsi;
	int ret;

	memset(r, 0, sizeof(*r));
	r->kvm = kvm;
	r->pace = (struct pace)PACE_INIT(IRQ_COMMITS_PER_SEC, IRQ_COMMIT_BURST);
	r->next_gsi = IRQ_MSI_GSI_BASE;
	r->table = calloc(1, sizeof(*r->table) +
			  IRQ_MAX_ROUTES * sizeof(r->table->entries[0]));
	r->msi_used = calloc(IRQ_MAX_ROUTES, 1);
	if (!r->table || !r->msi_used) {
		ret = -ENOMEM;
		goto out_free;
	}
	pthread_mutex_init(&r->lock, NULL);
	/* KVM's defaults: IOAPIC pin n and, below 16, the PIC pins too. */
	for (gsi = 0; gsi < IOAPIC_NR_PINS; gsi++) {
		add_irqchip(r, gsi, KVM_IRQCHIP_IOAPIC, gsi);
		if (gsi < IRQ_PIC_PINS)
			add_irqchip(r, gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
				    KVM_IRQCHIP_PIC_SLAVE, gsi % 8);
	}
	ret = commit(r);
	if (ret) {
		pthread_mutex_destroy(&r->lock);
		goto out_free;
	}
	return 0;
out_free:
	free(r->table);
	free(r->msi_used);
	r->table = NULL;
	r->msi_used = NULL;
	return ret;
}

void irq_router_destroy(struct irq_router *r)
{
	if (!r->table)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->table);
	free(r->msi_used);
	r->table = NULL;
	r->msi_used = NULL;
}

int irq_msi_alloc(struct irq_router *r, u32 *gsi)
{
	u32 g;
	int ret = -ENOSPC;

	pthread_mutex_lock(&r->lock);
	for (g = IRQ_MSI_GSI_BASE; g < IRQ_MAX_ROUTES; g++) {
		if (!r->msi_used[g]) {
			r->msi_used[g] = 1;
			*gsi = g;
			if (g >= r->next_gsi)
				r->next_gsi = g + 1;
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
	if (ret)
		pr_err("irq: all %u GSIs are in use", IRQ_MAX_ROUTES);
	return ret;
}

/* Drop gsi's MSI entry; true if there was one. Lock held. */
static bool remove_msi(struct irq_router *r, u32 gsi)
{
	int i = find_msi(r, gsi);

	if (i < 0)
		return false;
	r->table->entries[i] = r->table->entries[--r->table->nr];
	return true;
}

void irq_msi_free(struct irq_router *r, u32 gsi)
{
	if (gsi < IRQ_MSI_GSI_BASE || gsi >= IRQ_MAX_ROUTES)
		return;
	pthread_mutex_lock(&r->lock);
	if (remove_msi(r, gsi))
		commit(r);
	r->msi_used[gsi] = 0;
	pthread_mutex_unlock(&r->lock);
}

int irq_route_msi(struct irq_router *r, u32 gsi, u64 addr, u32 data)
{
	struct kvm_irq_routing_entry *e;
	struct kvm_irq_routing_msi msi;
	struct irq_msi m;
	int i, ret;

	if (gsi < IRQ_MSI_GSI_BASE || gsi >= IRQ_MAX_ROUTES)
		return -EINVAL;
	ret = irq_msi_decode(addr, data, r->ext_dest, &m) ?
	      irq_msi_to_kvm(&m, r->x2apic_ids, &msi) : -EINVAL;
	pthread_mutex_lock(&r->lock);
	if (!r->msi_used[gsi]) {
		ret = -EINVAL;
		goto out_unlock;
	}
	if (ret) {
		/* Not deliverable: keep the vector silent. */
		if (remove_msi(r, gsi))
			commit(r);
		goto out_unlock;
	}
	i = find_msi(r, gsi);
	if (i >= 0) {
		e = &r->table->entries[i];
		if (!memcmp(&e->u.msi, &msi, sizeof(msi)))
			goto out_unlock;	/* unchanged: no ioctl */
	} else {
		e = table_add(r);
		if (!e) {
			ret = -ENOSPC;
			goto out_unlock;
		}
		e->gsi = gsi;
		e->type = KVM_IRQ_ROUTING_MSI;
	}
	e->u.msi = msi;
	ret = commit(r);
out_unlock:
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int irq_route_clear(struct irq_router *r, u32 gsi)
{
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	if (remove_msi(r, gsi))
		ret = commit(r);
	pthread_mutex_unlock(&r->lock);
	return ret;
}

const struct kvm_irq_routing_entry *irq_route_find(struct irq_router *r,
						   u32 gsi)
{
	const struct kvm_irq_routing_entry *e = NULL;
	u32 i;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->table->nr && !e; i++)
		if (r->table->entries[i].gsi == gsi)
			e = &r->table->entries[i];
	pthread_mutex_unlock(&r->lock);
	return e;
}

int irq_irqfd_assign(struct irq_router *r, u32 gsi, int fd, int resample_fd)
{
	if (!r->kvm)
		return 0;
	return kvm_irqfd(r->kvm, gsi, fd, resample_fd, true);
}

int irq_irqfd_deassign(struct irq_router *r, u32 gsi, int fd)
{
	if (!r->kvm)
		return 0;
	return kvm_irqfd(r->kvm, gsi, fd, -1, false);
}

void irq_eventfd_signal(int fd)
{
	u64 one = 1;

	/* EAGAIN means the counter is saturated: already pending. */
	if (write(fd, &one, sizeof(one)) < 0)
		return;
}
