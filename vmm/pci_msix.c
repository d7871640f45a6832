// SPDX-License-Identifier: GPL-2.0
/*
 * MSI-X for our PCI devices: the capability, the vector table and the
 * pending bit array in one memory BAR, and delivery through one irqfd per
 * vector (see pci.h).
 *
 * Races between a device raising a vector and the guest masking or
 * unmasking it are settled with atomics only: the raiser sets the pending
 * bit, then looks at the mask again; the unmasker clears the mask, then
 * claims the pending bit. Whoever clears the pending bit delivers, so an
 * interrupt is neither lost nor doubled.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/devices/devices.h"
#include "vmm/pci.h"

enum { ENT_ADDR_LO, ENT_ADDR_HI, ENT_DATA, ENT_CTRL };

static bool vec_masked(struct pci_msix *x, unsigned v)
{
	return atomic_load(&x->fmask) ||
	       (atomic_load(&x->entry[v * 4 + ENT_CTRL]) & MSIX_ENTRY_MASKED);
}

/* Take v's pending bit; true if it was set. */
static bool claim_pending(struct pci_msix *x, unsigned v)
{
	u64 bit = 1ULL << (v % 64);

	return atomic_fetch_and(&x->pba[v / 64], ~bit) & bit;
}

static void fire(struct pci_msix *x, unsigned v)
{
	x->fired++;
	irq_eventfd_signal(x->fd[v]);
}

bool pci_msix_notify(struct pci_msix *x, unsigned v)
{
	if (v >= x->nr || !atomic_load(&x->enabled))
		return false;
	if (vec_masked(x, v)) {
		atomic_fetch_or(&x->pba[v / 64], 1ULL << (v % 64));
		/* Unmasked meanwhile? Then deliver, unless the unmasker did. */
		if (vec_masked(x, v) || !claim_pending(x, v))
			return true;
	}
	fire(x, v);
	return true;
}

/*
 * Bring vector v's KVM route in line with its table entry, and deliver
 * what is pending once it is unmasked. Config lock held.
 */
static void vec_update(struct pci_msix *x, unsigned v)
{
	u64 addr;
	u32 data;
	int r;

	if (!atomic_load(&x->enabled) || vec_masked(x, v))
		return;
	addr = atomic_load(&x->entry[v * 4 + ENT_ADDR_LO]) |
	       (u64)atomic_load(&x->entry[v * 4 + ENT_ADDR_HI]) << 32;
	data = atomic_load(&x->entry[v * 4 + ENT_DATA]);
	r = irq_route_msi(x->router, x->gsi[v], addr, data);
	if (r && dev_ratelimit_ok(&x->rl, LOG_WARN))
		pr_warn("pci %s: MSI-X vector %u: message 0x%llx/0x%x not routable: %s",
			x->dev->name, v, (unsigned long long)addr, data,
			strerror(-r));
	if (claim_pending(x, v))
		fire(x, v);
}

static void table_read(void *opaque, u64 off, u8 *data, u32 len)
{
	struct pci_msix *x = opaque;
	u64 v = 0;
	u32 i;

	memset(data, 0xff, len);
	if ((len != 4 && len != 8) || (off & (len - 1)))
		return;
	for (i = 0; i < len / 4; i++) {
		u64 o = off + 4 * i;
		u32 w = 0;

		if (o < (u64)x->nr * MSIX_ENTRY_SIZE)
			w = atomic_load(&x->entry[o / 4]);
		else if (o >= x->pba_off && o - x->pba_off < ALIGN_UP((u32)x->nr, 64u) / 8)
			w = (u32)(atomic_load(&x->pba[(o - x->pba_off) / 8]) >>
				  (o % 8 ? 32 : 0));
		v |= (u64)w << (32 * i);
	}
	memcpy(data, &v, len);
}

static void table_write(void *opaque, u64 off, const u8 *data, u32 len)
{
	struct pci_msix *x = opaque;
	u64 v = 0;
	u32 i;

	if ((len != 4 && len != 8) || (off & (len - 1)) ||
	    off >= (u64)x->nr * MSIX_ENTRY_SIZE)
		return;		/* the PBA is read-only */
	memcpy(&v, data, len);
	pthread_mutex_lock(&x->dev->lock);
	for (i = 0; i < len / 4; i++) {
		u64 o = off / 4 + i;

		if ((o & 3) == ENT_CTRL)
			atomic_store(&x->entry[o], (u32)(v >> (32 * i)) &
				     MSIX_ENTRY_MASKED);
		else
			atomic_store(&x->entry[o], (u32)(v >> (32 * i)));
	}
	vec_update(x, (unsigned)(off / MSIX_ENTRY_SIZE));
	pthread_mutex_unlock(&x->dev->lock);
}

static const struct bus_ops table_ops = { table_read, table_write };

void pci_msix_cfg_write(struct pci_dev *d, u32 off, u32 len)
{
	struct pci_msix *x = &d->msix;
	u16 ctrl;
	unsigned v;

	if (!x->nr || off >= x->cap + 4u || off + len <= x->cap + 2u)
		return;
	ctrl = pci_get16(d, x->cap + 2);
	atomic_store(&x->fmask, ctrl & MSIX_CTRL_FMASK);
	atomic_store(&x->enabled, ctrl & MSIX_CTRL_ENABLE);
	for (v = 0; v < x->nr; v++)
		vec_update(x, v);
}

/* --- state (pci_dev_reset/save/load; config lock held) --- */

static u32 pba_words(const struct pci_msix *x)
{
	return ALIGN_UP((u32)x->nr, 64u) / 64;
}

void pci_msix_reset(struct pci_msix *x)
{
	unsigned i;

	atomic_store(&x->enabled, false);
	atomic_store(&x->fmask, false);
	for (i = 0; i < (unsigned)x->nr * 4; i++)
		atomic_store(&x->entry[i], (i & 3) == ENT_CTRL ?
			     MSIX_ENTRY_MASKED : 0);
	for (i = 0; i < pba_words(x); i++)
		atomic_store(&x->pba[i], 0);
}

void pci_msix_save(struct pci_msix *x, struct state_writer *w)
{
	u32 n = (u32)x->nr * 4, i;
	u32 *t = malloc(n * sizeof(*t));
	u64 *p = malloc(pba_words(x) * sizeof(*p));

	if (!t || !p) {
		w->err = w->err ? w->err : -ENOMEM;
	} else {
		for (i = 0; i < n; i++)
			t[i] = atomic_load(&x->entry[i]);
		for (i = 0; i < pba_words(x); i++)
			p[i] = atomic_load(&x->pba[i]);
		state_put(w, "msix.table", t, n * (u32)sizeof(*t));
		state_put(w, "msix.pba", p, pba_words(x) * (u32)sizeof(*p));
	}
	free(t);
	free(p);
}

/*
 * Only what a guest could have left: control words with the mask bit
 * alone, pending bits of existing vectors, and those only on masked
 * vectors (a paused machine delivers nothing, so an unmasked vector
 * cannot be pending). The routes follow from the config space written
 * after this (pci_dev_load).
 */
int pci_msix_load(struct pci_msix *x, struct state_reader *r)
{
	u32 n = (u32)x->nr * 4, sz, i;
	const u8 *t = state_get_var(r, "msix.table", &sz);
	const u8 *p;
	u32 w;
	u64 pend;

	if (!t)
		return -ENOENT;
	if (sz != n * 4)
		return state_refuse(r, "msix.table has %u bytes, this device's %u vectors take %u",
				    sz, x->nr, n * 4);
	p = state_get_var(r, "msix.pba", &sz);
	if (!p)
		return -ENOENT;
	if (sz != pba_words(x) * 8)
		return state_refuse(r, "msix.pba has %u bytes, not %u", sz,
				    pba_words(x) * 8);
	for (i = 0; i < x->nr; i++) {
		memcpy(&w, t + 16 * i + 4 * ENT_CTRL, 4);
		memcpy(&pend, p + 8 * (i / 64), 8);
		if (w & ~MSIX_ENTRY_MASKED)
			return state_refuse(r, "MSI-X vector %u control 0x%x has reserved bits", i, w);
		if ((pend >> (i % 64) & 1) && !(w & MSIX_ENTRY_MASKED))
			return state_refuse(r, "MSI-X vector %u is pending but not masked", i);
	}
	memcpy(&pend, p + 8 * (pba_words(x) - 1), 8);
	if (x->nr % 64 && pend >> (x->nr % 64))
		return state_refuse(r, "MSI-X pending bits beyond vector %u", x->nr - 1);
	for (i = 0; i < n; i++) {
		memcpy(&w, t + 4 * i, 4);
		atomic_store(&x->entry[i], w);
	}
	for (i = 0; i < pba_words(x); i++) {
		memcpy(&pend, p + 8 * i, 8);
		atomic_store(&x->pba[i], pend);
	}
	return 0;
}

int pci_msix_init(struct pci_dev *d, struct irq_router *router, u16 nr,
		  int bar)
{
	struct pci_msix *x = &d->msix;
	u64 size = 4096;
	unsigned v;
	int r = -ENOMEM;

	if (!nr || nr > MSIX_MAX_VECTORS)
		return -EINVAL;
	memset(x, 0, sizeof(*x));
	x->dev = d;
	x->router = router;
	x->bar = bar;
	x->pba_off = ALIGN_UP((u32)nr * MSIX_ENTRY_SIZE, 8);
	while (size < x->pba_off + ALIGN_UP(nr, 64) / 8)
		size *= 2;
	x->entry = calloc((size_t)nr * 4, sizeof(*x->entry));
	x->pba = calloc(ALIGN_UP(nr, 64) / 64, sizeof(*x->pba));
	x->gsi = calloc(nr, sizeof(*x->gsi));
	x->fd = malloc(nr * sizeof(*x->fd));
	if (!x->entry || !x->pba || !x->gsi || !x->fd)
		goto out_free;
	for (v = 0; v < nr; v++) {
		x->fd[v] = -1;
		atomic_init(&x->entry[v * 4 + ENT_CTRL], MSIX_ENTRY_MASKED);
	}
	x->nr = nr;		/* from here on pci_msix_destroy cleans up */
	for (v = 0; v < nr; v++) {
		r = irq_msi_alloc(router, &x->gsi[v]);
		if (r)
			goto out_destroy;
		x->fd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (x->fd[v] < 0) {
			r = -errno;
			pr_err("pci %s: eventfd: %s", d->name, strerror(errno));
			goto out_destroy;
		}
		r = irq_irqfd_assign(router, x->gsi[v], x->fd[v], -1);
		if (r)
			goto out_destroy;
	}
	r = pci_dev_add_bar(d, bar, size, 0, &table_ops, x);
	if (r)
		goto out_destroy;
	x->cap = pci_dev_add_cap(d, PCI_CAP_ID_MSIX, 12);
	if (!x->cap) {
		r = -ENOSPC;
		goto out_destroy;
	}
	pci_set16(d, x->cap + 2, nr - 1);
	d->wmask[x->cap + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK) >> 8;
	pci_set32(d, x->cap + 4, 0 | bar);
	pci_set32(d, x->cap + 8, x->pba_off | bar);
	return 0;
out_destroy:
	pci_msix_destroy(d);
	return r;
out_free:
	free(x->entry);
	free(x->pba);
	free(x->gsi);
	free(x->fd);
	memset(x, 0, sizeof(*x));
	return r;
}

void pci_msix_destroy(struct pci_dev *d)
{
	struct pci_msix *x = &d->msix;
	unsigned v;

	for (v = 0; v < x->nr; v++) {
		if (x->fd[v] >= 0) {
			if (x->gsi[v])
				irq_irqfd_deassign(x->router, x->gsi[v], x->fd[v]);
			close(x->fd[v]);
		}
		if (x->gsi[v])
			irq_msi_free(x->router, x->gsi[v]);
	}
	free(x->entry);
	free(x->pba);
	free(x->gsi);
	free(x->fd);
	memset(x, 0, sizeof(*x));
}
