/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PCI: one root bus (segment 0, bus 0) behind a host bridge at 00:00.0.
 *
 * Configuration space is reached through ports 0xCF8/0xCFC (mechanism #1)
 * and through ECAM at PCI_ECAM_ADDR (the ACPI MCFG points there). BARs are
 * placed by us, as firmware would: 64-bit prefetchable memory BARs in a
 * window above RAM, every other memory BAR in the 32-bit window below the
 * ECAM. The guest may size and move them; accesses are dispatched by the
 * BAR addresses of the moment, so a moved BAR keeps working. IO BARs are
 * not supported (no device here needs one).
 *
 * Locking: each device's config space has its own mutex (config cycles
 * are set-up traffic). BAR dispatch takes no lock: the device table is
 * fixed once vCPUs run and BAR addresses are atomics.
 *
 * MSI-X (pci_msix_*) lives here too: capability, table and PBA, one GSI
 * and one irqfd per vector. pci_msix_notify is the data-path call: it
 * reads the mask bits and writes the vector's irqfd, lock-free.
 *
 * The device model: the host is a device of the manager ("pci-host": the
 * CONFIG_ADDRESS latch and the bridge's config space); each function's
 * own device calls pci_dev_reset/save/load for its config space, BARs and
 * MSI-X table from its ops.
 */
#ifndef SMPVISOR_PCI_H
#define SMPVISOR_PCI_H

#include <pthread.h>
#include <stdatomic.h>

#include "irq/irq.h"
#include "lib/bus.h"
#include "lib/state.h"
#include "lib/util.h"
#include "vmm/device_manager.h"
#include "vmm/devices/devices.h"

#define PCI_CFG_SIZE		4096	/* extended (ECAM) config space */
#define PCI_NR_BARS		6
#define PCI_MAX_SLOTS		32	/* devices on bus 0, function 0 only */
#define PCI_MMIO64_ALIGN	(1ULL << 30)
#define PCI_MMIO64_SIZE		(64ULL << 30)

/* Config space registers (PCI Local Bus 3.0, 6.1). */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define  PCI_COMMAND_MEMORY	0x0002
#define  PCI_COMMAND_MASTER	0x0004
#define  PCI_COMMAND_INTX_OFF	0x0400
#define PCI_STATUS		0x06
#define  PCI_STATUS_CAP_LIST	0x0010
#define PCI_REVISION		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_HEADER_TYPE		0x0e
#define PCI_BAR0		0x10
#define  PCI_BAR_MEM64		0x04
#define  PCI_BAR_PREFETCH	0x08
#define PCI_SUBSYS_VENDOR	0x2c
#define PCI_SUBSYS_ID		0x2e
#define PCI_CAP_PTR		0x34
#define PCI_INT_LINE		0x3c
#define PCI_INT_PIN		0x3d
#define PCI_STD_HEADER_END	0x40

#define PCI_CAP_ID_VNDR		0x09
#define PCI_CAP_ID_MSIX		0x11

/* MSI-X (PCI 3.0, 6.8.2). */
#define MSIX_CTRL_ENABLE	0x8000
#define MSIX_CTRL_FMASK		0x4000
#define MSIX_ENTRY_SIZE		16
#define MSIX_ENTRY_MASKED	1u
#define MSIX_MAX_VECTORS	2048

struct pci_dev;

struct pci_dev_ops {
	/* After a config write the generic code stored (off, len in cfg). */
	void (*cfg_write)(struct pci_dev *d, u32 off, u32 len);
	/*
	 * A memory BAR started or stopped decoding, or moved: addr is where
	 * it decodes now, 0 when it does not (decode off, or being sized).
	 * Called with the device's config lock held.
	 */
	void (*bar_moved)(struct pci_dev *d, int bar, u64 addr);
};

struct pci_bar {
	u64 size;		/* 0: no BAR; else a power of two >= 4 KiB */
	u32 flags;		/* PCI_BAR_MEM64, PCI_BAR_PREFETCH */
	_Atomic u64 addr;	/* decoding address, 0 when not decoding */
	const struct bus_ops *ops;
	void *opaque;
};

struct pci_msix {
	struct pci_dev *dev;
	struct irq_router *router;
	u16 nr;			/* vectors */
	u8 cap;			/* capability offset in config space */
	int bar;
	u32 pba_off;		/* within the BAR; the table is at 0 */
	_Atomic u32 *entry;	/* nr * 4 dwords: addr lo, addr hi, data, ctrl */
	_Atomic u64 *pba;	/* pending bits */
	u32 *gsi;
	int *fd;		/* irqfd per vector, -1 until first routed */
	atomic_bool enabled, fmask;
	u64 fired;		/* stats: vectors delivered (racy, fine) */
	struct dev_ratelimit rl;	/* unroutable messages (config lock) */
};

struct pci_dev {
	const char *name;
	u8 slot;		/* device number on bus 0 */
	u8 cfg[PCI_CFG_SIZE];
	u8 wmask[PCI_CFG_SIZE];	/* bits the guest may change */
	u8 cfg0[PCI_CFG_SIZE];	/* at power-on, BARs placed (pci_host_add) */
	pthread_mutex_t lock;	/* config space */
	struct pci_bar bar[PCI_NR_BARS];
	u8 cap_end;		/* where the next capability goes */
	u8 last_cap;		/* offset of the last one's next pointer */
	u32 intx_gsi;		/* GSI of INTA# per the _PRT */
	struct pci_msix msix;
	const struct pci_dev_ops *ops;
};

struct pci_host {
	struct device dev;	/* "pci-host" */
	struct device_manager *dm;
	struct pci_dev bridge;	/* 00:00.0 */
	struct pci_dev *slot[PCI_MAX_SLOTS];
	_Atomic u32 cf8;	/* the CONFIG_ADDRESS latch */
	u64 mmio32_next, mmio32_end;
	u64 mmio64_base, mmio64_next, mmio64_end;
};

/*
 * Set up the host bridge and add it to dm (which destroys it); mem_end is
 * the end of guest RAM, above which the 64-bit window goes. Register with
 * pci_host_register once every function is added (the config ports and
 * windows are claimed on dm's buses then).
 */
int pci_host_init(struct pci_host *h, struct device_manager *dm, u64 mem_end);
int pci_host_register(struct pci_host *h);
/* The 64-bit window for a guest whose RAM ends at mem_end. */
void pci_mmio64_window(u64 mem_end, u64 *base, u64 *size);
/* INTA#-D# of slot -> IOAPIC GSI, as the DSDT's _PRT says. */
u32 pci_intx_gsi(unsigned slot, unsigned pin);

/* Fill in the header of a type 0 function. */
void pci_dev_init(struct pci_dev *d, const char *name, u16 vendor,
		  u16 device, u32 class_code, u8 rev);
void pci_dev_destroy(struct pci_dev *d);
/* Declare a memory BAR (size a power of two, at least 4 KiB). */
int pci_dev_add_bar(struct pci_dev *d, int bar, u64 size, u32 flags,
		    const struct bus_ops *ops, void *opaque);
/*
 * Append a capability of len bytes (id and next pointer included) and
 * return its offset, or 0 if config space is full.
 */
u8 pci_dev_add_cap(struct pci_dev *d, u8 id, u8 len);
/* Place the BARs and put the device in the next free slot. */
int pci_host_add(struct pci_host *h, struct pci_dev *d);

/*
 * The function's part of the device model, called from its device's ops
 * with the function quiesced: reset puts config space back to power-on
 * (BARs stop decoding, MSI-X off, every vector masked, nothing pending);
 * save writes config space and the MSI-X table and pending bits as
 * fields "pci.cfg", "msix.table", "msix.pba" of the open section; load
 * takes them back, refusing read-only bits that differ (another device)
 * and table or pending bits no guest could have written, then moves the
 * BARs and routes the vectors as config writes would.
 */
void pci_dev_reset(struct pci_dev *d);
int pci_dev_save(struct pci_dev *d, struct state_writer *w);
int pci_dev_load(struct pci_dev *d, struct state_reader *r);

/* Config accesses, as the buses deliver them (also for tests). */
void pci_cfg_read(struct pci_dev *d, u32 off, u8 *data, u32 len);
void pci_cfg_write(struct pci_dev *d, u32 off, const u8 *data, u32 len);

static inline u16 pci_get16(const struct pci_dev *d, u32 off)
{
	return d->cfg[off] | (u16)d->cfg[off + 1] << 8;
}

static inline u32 pci_get32(const struct pci_dev *d, u32 off)
{
	return pci_get16(d, off) | (u32)pci_get16(d, off + 2) << 16;
}

void pci_set16(struct pci_dev *d, u32 off, u16 v);
void pci_set32(struct pci_dev *d, u32 off, u32 v);

/*
 * MSI-X with nr vectors, table and PBA in BAR bar (declared here too).
 * Each vector gets a GSI from router. 0 or -errno.
 */
int pci_msix_init(struct pci_dev *d, struct irq_router *router, u16 nr,
		  int bar);
void pci_msix_destroy(struct pci_dev *d);
/*
 * Raise vector v (any thread, no lock): through its irqfd when enabled
 * and unmasked, else as a pending bit delivered on unmask. False when
 * MSI-X is off (the caller may then use INTx) or v is out of range.
 */
bool pci_msix_notify(struct pci_msix *x, unsigned v);
/* The MSI-X config-space hook: call from the device's cfg_write. */
void pci_msix_cfg_write(struct pci_dev *d, u32 off, u32 len);
/* MSI-X's part of pci_dev_reset/save/load (config lock held). */
void pci_msix_reset(struct pci_msix *x);
void pci_msix_save(struct pci_msix *x, struct state_writer *w);
int pci_msix_load(struct pci_msix *x, struct state_reader *r);

#endif
