// SPDX-License-Identifier: GPL-2.0
/*
 * The PCI host bridge, configuration space and BAR dispatch (see pci.h).
 *
 * Config space is a byte array per function plus a mask of the bits the
 * guest may write; the few registers with side effects (command, BARs,
 * capabilities) are looked at after each write. BARs are given addresses
 * here, as firmware would, and decode once the guest sets the command
 * register's memory bit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/layout.h"
#include "vmm/pci.h"

#define PCI_HOST_VENDOR		0x1b36	/* Red Hat, Inc. */
#define PCI_HOST_DEVICE		0x0008	/* PCIe host bridge */
#define PCI_CLASS_HOST_BRIDGE	0x060000
#define PCI_INTX_GSI_BASE	16	/* IOAPIC pins 16-23 serve INTx */

void pci_set16(struct pci_dev *d, u32 off, u16 v)
{
	d->cfg[off] = (u8)v;
	d->cfg[off + 1] = (u8)(v >> 8);
}

void pci_set32(struct pci_dev *d, u32 off, u32 v)
{
	pci_set16(d, off, (u16)v);
	pci_set16(d, off + 2, (u16)(v >> 16));
}

static void set_wmask16(struct pci_dev *d, u32 off, u16 v)
{
	d->wmask[off] = (u8)v;
	d->wmask[off + 1] = (u8)(v >> 8);
}

static void set_wmask32(struct pci_dev *d, u32 off, u32 v)
{
	set_wmask16(d, off, (u16)v);
	set_wmask16(d, off + 2, (u16)(v >> 16));
}

void pci_dev_init(struct pci_dev *d, const char *name, u16 vendor,
		  u16 device, u32 class_code, u8 rev)
{
	memset(d, 0, sizeof(*d));
	d->name = name;
	pthread_mutex_init(&d->lock, NULL);
	pci_set16(d, PCI_VENDOR_ID, vendor);
	pci_set16(d, PCI_DEVICE_ID, device);
	d->cfg[PCI_REVISION] = rev;
	d->cfg[PCI_CLASS_PROG] = (u8)class_code;
	pci_set16(d, PCI_CLASS_PROG + 1, (u16)(class_code >> 8));
	d->cfg[PCI_HEADER_TYPE] = 0;
	set_wmask16(d, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
		    PCI_COMMAND_INTX_OFF);
	d->wmask[0x0c] = 0xff;		/* cache line size */
	d->wmask[0x0d] = 0xff;		/* latency timer */
	d->wmask[PCI_INT_LINE] = 0xff;
	d->cap_end = PCI_STD_HEADER_END;
	d->last_cap = PCI_CAP_PTR;
}

void pci_dev_destroy(struct pci_dev *d)
{
	pthread_mutex_destroy(&d->lock);
}

int pci_dev_add_bar(struct pci_dev *d, int bar, u64 size, u32 flags,
		    const struct bus_ops *ops, void *opaque)
{
	bool wide = flags & PCI_BAR_MEM64;
	u32 off = PCI_BAR0 + 4 * bar;

	if (bar < 0 || bar + wide >= PCI_NR_BARS || size < 4096 ||
	    (size & (size - 1)) || (!wide && size > (1ULL << 31)) ||
	    d->bar[bar].size || (wide && d->bar[bar + 1].size))
		return -EINVAL;
	d->bar[bar] = (struct pci_bar){ .size = size, .flags = flags,
					.ops = ops, .opaque = opaque };
	atomic_init(&d->bar[bar].addr, 0);
	pci_set32(d, off, flags & (PCI_BAR_MEM64 | PCI_BAR_PREFETCH));
	set_wmask32(d, off, (u32)~(size - 1) & ~0xfu);
	if (wide)
		set_wmask32(d, off + 4, (u32)(~(size - 1) >> 32));
	return 0;
}

u8 pci_dev_add_cap(struct pci_dev *d, u8 id, u8 len)
{
	u32 off = ALIGN_UP((u32)d->cap_end, 4);

	if (len < 2 || off + len > 0x100)
		return 0;
	d->cfg[off] = id;
	d->cfg[off + 1] = 0;
	d->cfg[d->last_cap] = (u8)off;
	d->last_cap = (u8)(off + 1);
	d->cap_end = (u8)MIN(off + len, 0xffu);
	pci_set16(d, PCI_STATUS, pci_get16(d, PCI_STATUS) | PCI_STATUS_CAP_LIST);
	return (u8)off;
}

/* The address BAR i decodes at now: 0 when memory decode is off. */
static u64 bar_decode_addr(const struct pci_dev *d, int i)
{
	u32 off = PCI_BAR0 + 4 * i;
	u64 a = pci_get32(d, off) & ~0xfull;

	if (!(pci_get16(d, PCI_COMMAND) & PCI_COMMAND_MEMORY))
		return 0;
	if (d->bar[i].flags & PCI_BAR_MEM64)
		a |= (u64)pci_get32(d, off + 4) << 32;
	/* All ones below the size: the guest is sizing it. */
	if ((a | (d->bar[i].size - 1)) == (d->bar[i].flags & PCI_BAR_MEM64 ?
					   ~0ull : 0xffffffffull))
		return 0;
	return a;
}

static void bars_update(struct pci_dev *d)
{
	int i;

	for (i = 0; i < PCI_NR_BARS; i++) {
		u64 a;

		if (!d->bar[i].size)
			continue;
		a = bar_decode_addr(d, i);
		if (a == atomic_load(&d->bar[i].addr))
			continue;
		atomic_store(&d->bar[i].addr, a);
		if (d->ops && d->ops->bar_moved)
			d->ops->bar_moved(d, i, a);
	}
}

void pci_cfg_read(struct pci_dev *d, u32 off, u8 *data, u32 len)
{
	if (off >= PCI_CFG_SIZE || len > PCI_CFG_SIZE - off) {
		memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&d->lock);
	memcpy(data, d->cfg + off, len);
	pthread_mutex_unlock(&d->lock);
}

static bool overlaps(u32 off, u32 len, u32 start, u32 end)
{
	return off < end && start < off + len;
}

void pci_cfg_write(struct pci_dev *d, u32 off, const u8 *data, u32 len)
{
	u32 i;

	if (off >= PCI_CFG_SIZE || len > PCI_CFG_SIZE - off)
		return;
	pthread_mutex_lock(&d->lock);
	for (i = 0; i < len; i++) {
		u8 m = d->wmask[off + i];

		d->cfg[off + i] = (d->cfg[off + i] & ~m) | (data[i] & m);
	}
	if (overlaps(off, len, PCI_COMMAND, PCI_COMMAND + 2) ||
	    overlaps(off, len, PCI_BAR0, PCI_BAR0 + 4 * PCI_NR_BARS))
		bars_update(d);
	if (d->ops && d->ops->cfg_write)
		d->ops->cfg_write(d, off, len);
	pthread_mutex_unlock(&d->lock);
}

/* --- a function's state (the device model) --- */

void pci_dev_reset(struct pci_dev *d)
{
	pthread_mutex_lock(&d->lock);
	memcpy(d->cfg, d->cfg0, PCI_CFG_SIZE);
	bars_update(d);
	if (d->msix.nr)
		pci_msix_reset(&d->msix);
	pthread_mutex_unlock(&d->lock);
}

int pci_dev_save(struct pci_dev *d, struct state_writer *w)
{
	pthread_mutex_lock(&d->lock);
	state_put(w, "pci.cfg", d->cfg, PCI_CFG_SIZE);
	if (d->msix.nr)
		pci_msix_save(&d->msix, w);
	pthread_mutex_unlock(&d->lock);
	return w->err;
}

int pci_dev_load(struct pci_dev *d, struct state_reader *r)
{
	u8 *cfg = malloc(PCI_CFG_SIZE);
	u32 i;
	int e;

	if (!cfg)
		return -ENOMEM;
	e = state_get(r, "pci.cfg", cfg, PCI_CFG_SIZE);
	for (i = 0; !e && i < PCI_CFG_SIZE; i++)
		if ((cfg[i] ^ d->cfg0[i]) & ~d->wmask[i])
			e = state_refuse(r, "config byte 0x%x has read-only bits 0x%02x, this %s has 0x%02x",
					 i, cfg[i] & ~d->wmask[i], d->name,
					 d->cfg0[i] & ~d->wmask[i]);
	if (e) {
		free(cfg);
		return e;
	}
	pthread_mutex_lock(&d->lock);
	if (d->msix.nr)
		e = pci_msix_load(&d->msix, r);
	if (!e) {
		memcpy(d->cfg, cfg, PCI_CFG_SIZE);
		/* As if the guest had written all of config space. */
		bars_update(d);
		if (d->ops && d->ops->cfg_write)
			d->ops->cfg_write(d, 0, PCI_CFG_SIZE);
		else if (d->msix.nr)
			pci_msix_cfg_write(d, 0, PCI_CFG_SIZE);
	}
	pthread_mutex_unlock(&d->lock);
	free(cfg);
	return e;
}

/* --- the host: config mechanisms and windows --- */

void pci_mmio64_window(u64 mem_end, u64 *base, u64 *size)
{
	*base = ALIGN_UP(MAX(mem_end, HIGH_RAM_START), PCI_MMIO64_ALIGN);
	*size = PCI_MMIO64_SIZE;
}

u32 pci_intx_gsi(unsigned slot, unsigned pin)
{
	return PCI_INTX_GSI_BASE + (slot + pin) % 8;
}

/* --- the host as a device: the CONFIG_ADDRESS latch and the bridge --- */

static void host_reset(struct device *dev)
{
	struct pci_host *h = container_of(dev, struct pci_host, dev);

	atomic_store(&h->cf8, 0);
	pci_dev_reset(&h->bridge);
}

static int host_save(struct device *dev, struct state_writer *w)
{
	struct pci_host *h = container_of(dev, struct pci_host, dev);

	state_put_u32(w, "cf8", atomic_load(&h->cf8));
	return pci_dev_save(&h->bridge, w);
}

static int host_load(struct device *dev, struct state_reader *r)
{
	struct pci_host *h = container_of(dev, struct pci_host, dev);
	u32 cf8;
	int e = state_get(r, "cf8", &cf8, sizeof(cf8));

	if (e)
		return e;
	atomic_store(&h->cf8, cf8);	/* any value a guest can write */
	return pci_dev_load(&h->bridge, r);
}

static void host_destroy(struct device *dev)
{
	pci_dev_destroy(&container_of(dev, struct pci_host, dev)->bridge);
}

/* No pause: the host does no work of its own, only config cycles. */
static const struct device_ops host_ops = {
	.kind = "pci-host", .version = 1, .reset = host_reset,
	.save = host_save, .load = host_load, .destroy = host_destroy,
};

int pci_host_init(struct pci_host *h, struct device_manager *dm, u64 mem_end)
{
	u64 size;
	int r;

	memset(h, 0, sizeof(*h));
	atomic_init(&h->cf8, 0);
	pci_dev_init(&h->bridge, "host bridge", PCI_HOST_VENDOR,
		     PCI_HOST_DEVICE, PCI_CLASS_HOST_BRIDGE, 0);
	memcpy(h->bridge.cfg0, h->bridge.cfg, PCI_CFG_SIZE);
	h->slot[0] = &h->bridge;
	h->mmio32_next = PCI_MMIO32_START;
	h->mmio32_end = PCI_MMIO32_END;
	pci_mmio64_window(mem_end, &h->mmio64_base, &size);
	h->mmio64_next = h->mmio64_base;
	h->mmio64_end = h->mmio64_base + size;
	h->dm = dm;
	snprintf(h->dev.name, sizeof(h->dev.name), "pci-host");
	h->dev.ops = &host_ops;
	r = dm_add(dm, &h->dev);
	if (r)
		pci_dev_destroy(&h->bridge);
	return r;
}

/* Give BAR i an address in the window it belongs to. */
static int place_bar(struct pci_host *h, struct pci_dev *d, int i)
{
	struct pci_bar *b = &d->bar[i];
	bool high = (b->flags & PCI_BAR_MEM64) && (b->flags & PCI_BAR_PREFETCH);
	u64 *next = high ? &h->mmio64_next : &h->mmio32_next;
	u64 end = high ? h->mmio64_end : h->mmio32_end;
	u64 a = ALIGN_UP(*next, b->size);
	u32 off = PCI_BAR0 + 4 * i;

	if (a > end || b->size > end - a) {
		pr_err("pci %s: no room for a %llu KiB BAR in the %s window",
		       d->name, (unsigned long long)(b->size / KiB),
		       high ? "64-bit" : "32-bit");
		return -ENOSPC;
	}
	*next = a + b->size;
	pci_set32(d, off, (u32)a | (pci_get32(d, off) & 0xf));
	if (b->flags & PCI_BAR_MEM64)
		pci_set32(d, off + 4, (u32)(a >> 32));
	return 0;
}

int pci_host_add(struct pci_host *h, struct pci_dev *d)
{
	unsigned s;
	int i, r;

	for (s = 1; s < PCI_MAX_SLOTS && h->slot[s]; s++)
		;
	if (s == PCI_MAX_SLOTS) {
		pr_err("pci %s: all %d slots of bus 0 are taken", d->name,
		       PCI_MAX_SLOTS - 1);
		return -ENOSPC;
	}
	for (i = 0; i < PCI_NR_BARS; i++) {
		if (!d->bar[i].size)
			continue;
		r = place_bar(h, d, i);
		if (r)
			return r;
	}
	d->slot = (u8)s;
	d->intx_gsi = pci_intx_gsi(s, 0);
	d->cfg[PCI_INT_LINE] = (u8)d->intx_gsi;
	memcpy(d->cfg0, d->cfg, PCI_CFG_SIZE);
	h->slot[s] = d;
	return 0;
}

/* The function a CONFIG_ADDRESS value or ECAM offset names, or NULL. */
static struct pci_dev *find_fn(struct pci_host *h, u32 bus, u32 dev, u32 fn)
{
	if (bus || fn || dev >= PCI_MAX_SLOTS)
		return NULL;
	return h->slot[dev];
}

/* A config access must stay inside one naturally aligned dword. */
static bool cfg_access_ok(u32 reg, u32 len)
{
	return (len == 1 || len == 2 || len == 4) && !(reg & (len - 1));
}

static void cfg_io(struct pci_host *h, struct pci_dev *d, u32 reg, u8 *data,
		   u32 len, bool write)
{
	if (!d || !cfg_access_ok(reg, len)) {
		if (!write)
			memset(data, 0xff, len);
		return;
	}
	if (write)
		pci_cfg_write(d, reg, data, len);
	else
		pci_cfg_read(d, reg, data, len);
}

/* Ports 0xcf8-0xcff: CONFIG_ADDRESS (dword only) and CONFIG_DATA. */
static void port_access(struct pci_host *h, u64 off, u8 *data, u32 len,
			bool write)
{
	u32 a;

	if (off < 4) {
		if (off || len != 4) {
			if (!write)
				memset(data, 0xff, len);
			return;
		}
		if (write)
			atomic_store(&h->cf8, data[0] | data[1] << 8 |
				     data[2] << 16 | (u32)data[3] << 24);
		a = atomic_load(&h->cf8);
		if (!write)
			memcpy(data, &a, 4);	/* x86 hosts: little endian */
		return;
	}
	a = atomic_load(&h->cf8);
	if (!(a & 0x80000000u)) {
		if (!write)
			memset(data, 0xff, len);
		return;
	}
	cfg_io(h, find_fn(h, (a >> 16) & 0xff, (a >> 11) & 0x1f, (a >> 8) & 7),
	       (a & 0xfc) + (u32)(off - 4), data, len, write);
}

static void port_read(void *opaque, u64 off, u8 *data, u32 len)
{
	port_access(opaque, off, data, len, false);
}

static void port_write(void *opaque, u64 off, const u8 *data, u32 len)
{
	port_access(opaque, off, (u8 *)data, len, true);
}

static void ecam_access(struct pci_host *h, u64 off, u8 *data, u32 len,
			bool write)
{
	cfg_io(h, find_fn(h, off >> 20, (off >> 15) & 0x1f, (off >> 12) & 7),
	       off & 0xfff, data, len, write);
}

static void ecam_read(void *opaque, u64 off, u8 *data, u32 len)
{
	ecam_access(opaque, off, data, len, false);
}

static void ecam_write(void *opaque, u64 off, const u8 *data, u32 len)
{
	ecam_access(opaque, off, (u8 *)data, len, true);
}

/*
 * An access in one of the BAR windows: find the BAR decoding there now.
 * Lock-free: the slot table is fixed once vCPUs run, addresses atomic.
 */
static const struct pci_bar *find_bar(struct pci_host *h, u64 addr, u32 len,
				      u64 *off)
{
	unsigned s;
	int i;

	for (s = 1; s < PCI_MAX_SLOTS; s++) {
		struct pci_dev *d = h->slot[s];

		if (!d)
			continue;
		for (i = 0; i < PCI_NR_BARS; i++) {
			const struct pci_bar *b = &d->bar[i];
			u64 a = atomic_load_explicit(&b->addr,
						     memory_order_acquire);

			if (a && addr >= a && addr - a < b->size &&
			    len <= b->size - (addr - a)) {
				*off = addr - a;
				return b;
			}
		}
	}
	return NULL;
}

static void window_access(struct pci_host *h, u64 addr, u8 *data, u32 len,
			  bool write)
{
	const struct pci_bar *b;
	u64 off;

	b = find_bar(h, addr, len, &off);
	if (!b || !b->ops) {
		if (!write)
			memset(data, 0xff, len);
		return;
	}
	if (write && b->ops->write)
		b->ops->write(b->opaque, off, data, len);
	else if (!write && b->ops->read)
		b->ops->read(b->opaque, off, data, len);
	else if (!write)
		memset(data, 0xff, len);
}

static void win32_read(void *opaque, u64 off, u8 *data, u32 len)
{
	window_access(opaque, PCI_MMIO32_START + off, data, len, false);
}

static void win32_write(void *opaque, u64 off, const u8 *data, u32 len)
{
	window_access(opaque, PCI_MMIO32_START + off, (u8 *)data, len, true);
}

static void win64_read(void *opaque, u64 off, u8 *data, u32 len)
{
	struct pci_host *h = opaque;

	window_access(h, h->mmio64_base + off, data, len, false);
}

static void win64_write(void *opaque, u64 off, const u8 *data, u32 len)
{
	struct pci_host *h = opaque;

	window_access(h, h->mmio64_base + off, (u8 *)data, len, true);
}

static const struct bus_ops port_ops = { port_read, port_write };
static const struct bus_ops ecam_ops = { ecam_read, ecam_write };
static const struct bus_ops win32_ops = { win32_read, win32_write };
static const struct bus_ops win64_ops = { win64_read, win64_write };

int pci_host_register(struct pci_host *h)
{
	struct device_manager *dm = h->dm;
	int r;

	r = dm_bus_pio(dm, &h->dev, PCI_CONFIG_PORT, 8, &port_ops, h);
	if (!r)
		r = dm_bus_mmio(dm, &h->dev, PCI_ECAM_ADDR, PCI_ECAM_SIZE,
				&ecam_ops, h);
	if (!r)
		r = dm_bus_mmio(dm, &h->dev, PCI_MMIO32_START,
				PCI_MMIO32_END - PCI_MMIO32_START, &win32_ops, h);
	if (!r)
		r = dm_bus_mmio(dm, &h->dev, h->mmio64_base,
				h->mmio64_end - h->mmio64_base, &win64_ops, h);
	if (r)
		pr_err("pci: cannot claim the config ports and windows: %s",
		       strerror(-r));
	return r;
}
