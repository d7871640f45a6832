/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interrupt routing: the KVM GSI routing table, irqfd registration and
 * MSI/MSI-X message decoding.
 *
 * KVM's default table routes GSIs 0-15 to the PICs and GSIs 0-23 to the
 * IOAPIC pins of the same number. KVM_SET_GSI_ROUTING replaces the whole
 * table, so irq_router keeps those identity routes in its copy and adds one
 * MSI route per device vector above them (GSI IRQ_MSI_GSI_BASE and up).
 *
 * Data path: a device raises a vector by writing its irqfd (an eventfd
 * bound to the vector's GSI); KVM turns that into an MSI straight to the
 * in-kernel LAPIC. No VMM lock is taken there. The router's mutex only
 * serialises table changes, which the guest causes by programming MSI-X
 * entries (set-up, not data path).
 */
#ifndef SMPVISOR_IRQ_H
#define SMPVISOR_IRQ_H

#include <pthread.h>

#include "kernel/kvm.h"
#include "lib/util.h"

#define IRQ_PIC_PINS		16	/* GSIs 0-15 also reach the PICs */
#define IRQ_MSI_GSI_BASE	24	/* above the IOAPIC pins */
#define IRQ_MAX_ROUTES		4096	/* KVM_MAX_IRQ_ROUTES */

/* MSI address (Intel SDM vol. 3, 11.11.1; AMD has the same layout). */
#define MSI_ADDR_BASE		0xfee00000ULL
#define MSI_ADDR_BASE_MASK	0xfff00000ULL
#define MSI_ADDR_DEST_SHIFT	12	/* destination ID bits 7:0 */
#define MSI_ADDR_EXT_SHIFT	5	/* extended destination ID 14:8 */
#define MSI_ADDR_EXT_MASK	0x7f
#define MSI_ADDR_RH		(1U << 3)	/* redirection hint */
#define MSI_ADDR_DM		(1U << 2)	/* logical destination mode */
#define MSI_DATA_VECTOR_MASK	0xff
#define MSI_DATA_DELIV_SHIFT	8
#define MSI_DATA_LEVEL_ASSERT	(1U << 14)
#define MSI_DATA_TRIGGER_LEVEL	(1U << 15)

/* One decoded MSI message. */
struct irq_msi {
	u32 dest;		/* APIC ID, up to 15 bits with the ext. ID */
	u8 vector;
	u8 delivery;		/* 0 fixed, 1 lowest priority, 4 NMI, ... */
	bool logical;		/* destination mode */
	bool redir_hint;
	bool level;		/* trigger mode */
};

/*
 * Decode a message the guest wrote. ext_dest says whether the guest was
 * offered the extended destination ID (KVM_FEATURE_MSI_EXT_DEST_ID): then
 * address bits 11:5 are destination bits 14:8. The upper address dword
 * may carry destination bits 31:8 (x2APIC format, as an IOMMU-less
 * hypervisor interface); both forms are accepted. False when the address
 * is not in the 0xfeeXXXXX interrupt window.
 */
bool irq_msi_decode(u64 addr, u32 data, bool ext_dest, struct irq_msi *m);

/*
 * The KVM routing entry for m: the destination's low 8 bits in
 * address_lo, bits 31:8 in address_hi (KVM's x2APIC format, which needs
 * KVM_X2APIC_API_USE_32BIT_IDS; without it x2apic_ids is false and a
 * destination above 255 is -ERANGE).
 */
int irq_msi_to_kvm(const struct irq_msi *m, bool x2apic_ids,
		   struct kvm_irq_routing_msi *out);

struct irq_router {
	struct kvm_vm *kvm;	/* NULL in unit tests: the table only */
	pthread_mutex_t lock;
	struct kvm_irq_routing *table;	/* header + IRQ_MAX_ROUTES entries */
	u8 *msi_used;		/* per GSI: allocated to a device */
	u32 next_gsi;		/* lowest GSI never handed out */
	bool ext_dest;		/* guest may use the extended dest ID */
	bool x2apic_ids;	/* KVM takes 32-bit IDs in address_hi */
	u64 commits;		/* KVM_SET_GSI_ROUTING calls made */
	struct pace pace;	/* of those commits (guest-driven churn) */
};

/*
 * Routing table installs a guest can cause, paced: a boot's worth at
 * once (every vector of every device programmed a few times), then at
 * most this many per second.
 */
#define IRQ_COMMITS_PER_SEC	1000
#define IRQ_COMMIT_BURST	512

/*
 * Build the default table (PIC and IOAPIC identity routes) and install it
 * when kvm is given. 0 or -errno.
 */
int irq_router_init(struct irq_router *r, struct kvm_vm *kvm);
void irq_router_destroy(struct irq_router *r);

/* Hand out a free GSI for an MSI vector (no route yet). 0 or -ENOSPC. */
int irq_msi_alloc(struct irq_router *r, u32 *gsi);
/* Drop the route of gsi (if any) and give the GSI back. */
void irq_msi_free(struct irq_router *r, u32 gsi);
/*
 * Point gsi at the message (addr, data) the guest programmed and install
 * the table. -EINVAL for a message that is not an interrupt (the route is
 * then removed, so the vector stays silent); -errno from KVM.
 */
int irq_route_msi(struct irq_router *r, u32 gsi, u64 addr, u32 data);
/* Remove gsi's route, keeping the GSI allocated. */
int irq_route_clear(struct irq_router *r, u32 gsi);
/* The entry for gsi in the current table, or NULL. For tests. */
const struct kvm_irq_routing_entry *irq_route_find(struct irq_router *r,
						   u32 gsi);

/*
 * irqfd: inject gsi whenever fd is written. With resample_fd >= 0 the
 * interrupt is level-triggered: KVM signals resample_fd when the guest
 * EOIs it, so the device can re-assert if it is still pending.
 */
int irq_irqfd_assign(struct irq_router *r, u32 gsi, int fd, int resample_fd);
int irq_irqfd_deassign(struct irq_router *r, u32 gsi, int fd);

/* Signal an eventfd (irqfd): never blocks, never takes a lock. */
void irq_eventfd_signal(int fd);

#endif
