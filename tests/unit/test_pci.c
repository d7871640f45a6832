// SPDX-License-Identifier: GPL-2.0
/*
 * PCI through the real buses: the host bridge seen through ports
 * 0xCF8/0xCFC and ECAM, absent functions reading all ones, read-only
 * registers, BAR sizing, placement in the 32- and 64-bit windows,
 * decoding only with the memory bit, moving a BAR, and MSI-X: capability,
 * table, masking with the pending bit array, routes in the GSI table and
 * delivery to the vector's eventfd. The device model: a function saved
 * with a moved BAR and a masked, pending vector and loaded into a fresh
 * one decodes and routes as before; tampered streams are refused; reset
 * puts config space back to power-on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/layout.h"
#include "vmm/pci.h"

#define MEM_END		(2 * GiB)

struct fixture {
	struct bus pio, mmio;
	struct device_manager dm;
	struct pci_host h;
	struct pci_dev dev;
	struct irq_router irq;
	u64 last_off, last_val;
	int reads, writes;
	u64 moved[PCI_NR_BARS];
	int nr_moved;
};

static void bar_rd(void *opaque, u64 off, u8 *data, u32 len)
{
	struct fixture *f = opaque;

	f->reads++;
	f->last_off = off;
	memset(data, 0xab, len);
}

static void bar_wr(void *opaque, u64 off, const u8 *data, u32 len)
{
	struct fixture *f = opaque;

	f->writes++;
	f->last_off = off;
	f->last_val = 0;
	memcpy(&f->last_val, data, len);
}

static const struct bus_ops bar_ops = { bar_rd, bar_wr };

static void moved(struct pci_dev *d, int bar, u64 addr)
{
	struct fixture *f = container_of(d, struct fixture, dev);

	f->moved[bar] = addr;
	f->nr_moved++;
}

static void cfg_wr(struct pci_dev *d, u32 off, u32 len)
{
	pci_msix_cfg_write(d, off, len);
}

static const struct pci_dev_ops dev_ops = { cfg_wr, moved };

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	bus_init(&f->pio, "pio");
	bus_init(&f->mmio, "mmio");
	assert_int_equal(irq_router_init(&f->irq, NULL), 0);
	dm_init(&f->dm, NULL, &f->irq, &f->pio, &f->mmio);
	assert_int_equal(pci_host_init(&f->h, &f->dm, MEM_END), 0);
	pci_dev_init(&f->dev, "test", 0x1af4, 0x1042, 0x018000, 1);
	f->dev.ops = &dev_ops;
	assert_int_equal(pci_dev_add_bar(&f->dev, 0, 64 * KiB, 0, &bar_ops, f), 0);
	assert_int_equal(pci_dev_add_bar(&f->dev, 4, 16 * KiB,
					 PCI_BAR_MEM64 | PCI_BAR_PREFETCH,
					 &bar_ops, f), 0);
	assert_int_equal(pci_msix_init(&f->dev, &f->irq, 5, 1), 0);
	assert_int_equal(pci_host_add(&f->h, &f->dev), 0);
	assert_int_equal(pci_host_register(&f->h), 0);
	bus_seal(&f->pio);
	bus_seal(&f->mmio);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pci_msix_destroy(&f->dev);
	pci_dev_destroy(&f->dev);
	dm_destroy(&f->dm);
	irq_router_destroy(&f->irq);
	bus_free(&f->pio);
	bus_free(&f->mmio);
	free(f);
	return 0;
}

static u32 cf8_addr(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc);
}

static u32 cfg_read(struct fixture *f, unsigned dev, unsigned reg, u32 len)
{
	u32 a = cf8_addr(0, dev, 0, reg), v = 0;

	bus_dispatch(&f->pio, PCI_CONFIG_PORT, (u8 *)&a, 4, true);
	bus_dispatch(&f->pio, PCI_CONFIG_PORT + 4 + (reg & 3), (u8 *)&v, len,
		     false);
	return v;
}

static void cfg_write(struct fixture *f, unsigned dev, unsigned reg,
		      u32 v, u32 len)
{
	u32 a = cf8_addr(0, dev, 0, reg);

	bus_dispatch(&f->pio, PCI_CONFIG_PORT, (u8 *)&a, 4, true);
	bus_dispatch(&f->pio, PCI_CONFIG_PORT + 4 + (reg & 3), (u8 *)&v, len,
		     true);
}

static u32 ecam_read(struct fixture *f, unsigned bus, unsigned dev,
		     unsigned reg, u32 len)
{
	u32 v = 0;

	bus_dispatch(&f->mmio, PCI_ECAM_ADDR + (bus << 20 | dev << 15 | reg),
		     (u8 *)&v, len, false);
	return v;
}

static u32 mmio_read32(struct fixture *f, u64 addr)
{
	u32 v = 0;

	bus_dispatch(&f->mmio, addr, (u8 *)&v, 4, false);
	return v;
}

static void mmio_write32(struct fixture *f, u64 addr, u32 v)
{
	bus_dispatch(&f->mmio, addr, (u8 *)&v, 4, true);
}

static void test_host_bridge(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f, 0, PCI_VENDOR_ID, 4), 0x00081b36);
	assert_int_equal(cfg_read(f, 0, 0x08, 4) >> 8, 0x060000);
	assert_int_equal(ecam_read(f, 0, 0, PCI_VENDOR_ID, 4), 0x00081b36);
	/* The device sits in slot 1: both mechanisms agree. */
	assert_int_equal(cfg_read(f, 1, PCI_VENDOR_ID, 4), 0x10421af4);
	assert_int_equal(ecam_read(f, 0, 1, PCI_DEVICE_ID, 2), 0x1042);
	assert_int_equal(cfg_read(f, 1, PCI_DEVICE_ID, 2), 0x1042);
	assert_int_equal(cfg_read(f, 1, PCI_CLASS_PROG + 2, 1), 0x01);
	/* Nothing elsewhere: all ones. */
	assert_int_equal(cfg_read(f, 2, PCI_VENDOR_ID, 4), 0xffffffff);
	assert_int_equal(ecam_read(f, 1, 0, PCI_VENDOR_ID, 4), 0xffffffff);
	assert_int_equal(ecam_read(f, 0, 31, PCI_VENDOR_ID, 2), 0xffff);
	/* Misaligned config access: all ones, no crash. */
	assert_int_equal(ecam_read(f, 0, 1, 1, 2), 0xffff);
}

static void test_cf8_latch(void **state)
{
	struct fixture *f = *state;
	u32 a = 0x12345678 & 0x7ffffffc, v = 0;

	/* The enable bit clear: config data reads all ones. */
	bus_dispatch(&f->pio, PCI_CONFIG_PORT, (u8 *)&a, 4, true);
	bus_dispatch(&f->pio, PCI_CONFIG_PORT, (u8 *)&v, 4, false);
	assert_int_equal(v, a);
	bus_dispatch(&f->pio, PCI_CONFIG_PORT + 4, (u8 *)&v, 4, false);
	assert_int_equal(v, 0xffffffff);
	/* Byte accesses to 0xcf8-0xcfb do not touch the latch (0xcf9!). */
	v = 6;
	bus_dispatch(&f->pio, PCI_CONFIG_PORT + 1, (u8 *)&v, 1, true);
	bus_dispatch(&f->pio, PCI_CONFIG_PORT, (u8 *)&v, 4, false);
	assert_int_equal(v, a);
}

static void test_readonly_regs(void **state)
{
	struct fixture *f = *state;

	cfg_write(f, 1, PCI_VENDOR_ID, 0xdeadbeef, 4);
	assert_int_equal(cfg_read(f, 1, PCI_VENDOR_ID, 4), 0x10421af4);
	cfg_write(f, 0, PCI_VENDOR_ID, 0, 4);
	assert_int_equal(cfg_read(f, 0, PCI_VENDOR_ID, 4), 0x00081b36);
	/* The interrupt line is scratch, the pin is ours. */
	cfg_write(f, 1, PCI_INT_LINE, 0x5a, 1);
	assert_int_equal(cfg_read(f, 1, PCI_INT_LINE, 1), 0x5a);
	/* The capability list is there and ends. */
	assert_true(cfg_read(f, 1, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(cfg_read(f, 1, cfg_read(f, 1, PCI_CAP_PTR, 1), 1),
			 PCI_CAP_ID_MSIX);
}

static void test_bar_sizing_and_placement(void **state)
{
	struct fixture *f = *state;
	u32 lo, hi, b0;

	b0 = cfg_read(f, 1, PCI_BAR0, 4);
	assert_true(b0 >= PCI_MMIO32_START && b0 < PCI_MMIO32_END);
	assert_int_equal(b0 % (64 * KiB), 0);
	lo = cfg_read(f, 1, PCI_BAR0 + 16, 4);
	hi = cfg_read(f, 1, PCI_BAR0 + 20, 4);
	assert_int_equal(lo & 0xf, PCI_BAR_MEM64 | PCI_BAR_PREFETCH);
	assert_true(((u64)hi << 32 | (lo & ~0xfu)) >= f->h.mmio64_base);
	assert_true(f->h.mmio64_base >= HIGH_RAM_START);
	/* Sizing: all ones in, size mask (and the flag bits) out. */
	cfg_write(f, 1, PCI_BAR0, 0xffffffff, 4);
	assert_int_equal(cfg_read(f, 1, PCI_BAR0, 4), (u32)~(64 * KiB - 1));
	cfg_write(f, 1, PCI_BAR0, b0, 4);
	cfg_write(f, 1, PCI_BAR0 + 16, 0xffffffff, 4);
	cfg_write(f, 1, PCI_BAR0 + 20, 0xffffffff, 4);
	assert_int_equal(cfg_read(f, 1, PCI_BAR0 + 16, 4),
			 (u32)~(16 * KiB - 1) | PCI_BAR_MEM64 | PCI_BAR_PREFETCH);
	assert_int_equal(cfg_read(f, 1, PCI_BAR0 + 20, 4), 0xffffffff);
	cfg_write(f, 1, PCI_BAR0 + 16, lo, 4);
	cfg_write(f, 1, PCI_BAR0 + 20, hi, 4);
	/* Unused BARs read 0 and stay 0. */
	cfg_write(f, 1, PCI_BAR0 + 8, 0xffffffff, 4);
	assert_int_equal(cfg_read(f, 1, PCI_BAR0 + 8, 4), 0);
}

static void test_bar_decode_and_move(void **state)
{
	struct fixture *f = *state;
	u32 b0 = cfg_read(f, 1, PCI_BAR0, 4);
	u32 lo = cfg_read(f, 1, PCI_BAR0 + 16, 4) & ~0xfu;
	u64 hi = cfg_read(f, 1, PCI_BAR0 + 20, 4), b4 = hi << 32 | lo;

	/* No decoding before the memory bit. */
	assert_int_equal(mmio_read32(f, b0 + 8), 0xffffffff);
	assert_int_equal(f->reads, 0);
	cfg_write(f, 1, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	assert_int_equal(f->moved[0], b0);
	assert_int_equal(f->moved[4], b4);
	assert_int_equal(mmio_read32(f, b0 + 8), 0xabababab);
	assert_int_equal(f->last_off, 8);
	mmio_write32(f, b4 + 0x3004, 0x1234);
	assert_int_equal(f->writes, 1);
	assert_int_equal(f->last_off, 0x3004);
	assert_int_equal(f->last_val, 0x1234);
	/* Move BAR 0 by 1 MiB: the old place goes dead. */
	cfg_write(f, 1, PCI_BAR0, b0 + (u32)MiB, 4);
	assert_int_equal(f->moved[0], b0 + MiB);
	assert_int_equal(mmio_read32(f, b0 + 8), 0xffffffff);
	f->reads = 0;
	assert_int_equal(mmio_read32(f, b0 + MiB + 0x10), 0xabababab);
	assert_int_equal(f->reads, 1);
	assert_int_equal(f->last_off, 0x10);
	/* An access running off the end of the BAR is not the device's. */
	assert_int_equal(mmio_read32(f, b0 + MiB + 64 * KiB - 2), 0xffffffff);
	/* Decode off: every BAR reports "nowhere". */
	cfg_write(f, 1, PCI_COMMAND, 0, 2);
	assert_int_equal(f->moved[0], 0);
	assert_int_equal(f->moved[4], 0);
}

/* MSI-X: cap -> table BAR address, entry at v. */
static u64 msix_entry(struct fixture *f, unsigned v)
{
	u8 cap = f->dev.msix.cap;
	u32 tbl = cfg_read(f, 1, cap + 4, 4);
	u32 bar = cfg_read(f, 1, PCI_BAR0 + 4 * (tbl & 7), 4) & ~0xfu;

	return bar + (tbl & ~7u) + 16 * v;
}

static u64 eventfd_count(int fd)
{
	u64 n = 0;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

static void test_msix(void **state)
{
	struct fixture *f = *state;
	struct pci_msix *x = &f->dev.msix;
	u8 cap = x->cap;
	u32 pba_reg, pba_bar;
	u64 e;

	assert_int_equal(cfg_read(f, 1, cap + 2, 2), 4);	/* 5 vectors */
	cfg_write(f, 1, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	e = msix_entry(f, 2);
	/* Everything starts masked. */
	assert_int_equal(mmio_read32(f, e + 12), 1);
	/* Off: no delivery at all. */
	assert_false(pci_msix_notify(x, 2));
	cfg_write(f, 1, cap + 2, MSIX_CTRL_ENABLE, 2);
	assert_int_equal(cfg_read(f, 1, cap + 2, 2), MSIX_CTRL_ENABLE | 4);
	/* Masked: pending bit, no eventfd. */
	assert_true(pci_msix_notify(x, 2));
	assert_int_equal(eventfd_count(x->fd[2]), 0);
	pba_reg = cfg_read(f, 1, cap + 8, 4);
	pba_bar = cfg_read(f, 1, PCI_BAR0 + 4 * (pba_reg & 7), 4) & ~0xfu;
	assert_int_equal(mmio_read32(f, pba_bar + (pba_reg & ~7u)), 1u << 2);
	/* Program and unmask: the route appears, the pending one fires. */
	mmio_write32(f, e, 0xfee01000);
	mmio_write32(f, e + 4, 0);
	mmio_write32(f, e + 8, 0x45);
	assert_null(irq_route_find(&f->irq, x->gsi[2]));
	mmio_write32(f, e + 12, 0);
	assert_non_null(irq_route_find(&f->irq, x->gsi[2]));
	assert_int_equal(irq_route_find(&f->irq, x->gsi[2])->u.msi.data, 0x45);
	assert_int_equal(eventfd_count(x->fd[2]), 1);
	assert_int_equal(mmio_read32(f, pba_bar + (pba_reg & ~7u)), 0);
	/* Unmasked: straight to the eventfd. */
	assert_true(pci_msix_notify(x, 2));
	assert_true(pci_msix_notify(x, 2));
	assert_int_equal(eventfd_count(x->fd[2]), 2);
	/* Function mask holds it back again. */
	cfg_write(f, 1, cap + 2, MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK, 2);
	assert_true(pci_msix_notify(x, 2));
	assert_int_equal(eventfd_count(x->fd[2]), 0);
	cfg_write(f, 1, cap + 2, MSIX_CTRL_ENABLE, 2);
	assert_int_equal(eventfd_count(x->fd[2]), 1);
	/* Out of range vectors and table accesses are harmless. */
	assert_false(pci_msix_notify(x, 5));
	assert_false(pci_msix_notify(x, 65535));
	mmio_write32(f, msix_entry(f, 200), 1);
	mmio_write32(f, e + 1, 1);
	assert_int_equal(mmio_read32(f, e + 8), 0x45);
}

/*
 * A function mid-operation: decoding, BAR 0 moved, MSI-X on with vector
 * 2 programmed, masked and pending, vector 3 routed and live; the
 * CONFIG_ADDRESS latch set. Returns the saved stream (the host through
 * the device manager, the function in a section of its own).
 */
static u8 *save_busy(struct fixture *f, size_t *len, u32 *b0)
{
	struct pci_msix *x = &f->dev.msix;
	struct state_writer w;
	u8 *buf;

	*b0 = cfg_read(f, 1, PCI_BAR0, 4);
	cfg_write(f, 1, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	cfg_write(f, 1, PCI_BAR0, *b0 + (u32)MiB, 4);
	cfg_write(f, 1, x->cap + 2, MSIX_CTRL_ENABLE, 2);
	mmio_write32(f, msix_entry(f, 2), 0xfee02000);
	mmio_write32(f, msix_entry(f, 2) + 8, 0x52);
	assert_true(pci_msix_notify(x, 2));		/* masked: pending */
	mmio_write32(f, msix_entry(f, 3), 0xfee03000);
	mmio_write32(f, msix_entry(f, 3) + 8, 0x53);
	mmio_write32(f, msix_entry(f, 3) + 12, 0);	/* live */
	cfg_read(f, 1, PCI_VENDOR_ID, 4);		/* latch: 00:01.0 */
	dm_pause(&f->dm);
	state_writer_init(&w);
	assert_int_equal(dm_save(&f->dm, &w), 0);
	state_section(&w, "fn", 1);
	assert_int_equal(pci_dev_save(&f->dev, &w), 0);
	buf = state_writer_take(&w, len);
	assert_non_null(buf);
	return buf;
}

static int load(struct fixture *g, const u8 *buf, size_t len, char *why)
{
	struct state_reader r;
	int e;

	dm_pause(&g->dm);
	e = state_reader_init(&r, buf, len);
	if (!e)
		e = dm_load(&g->dm, &r);
	if (!e)
		e = state_open(&r, "fn", 1);
	if (!e)
		e = pci_dev_load(&g->dev, &r);
	strcpy(why, r.why);
	dm_resume(&g->dm);
	return e;
}

static void test_state_round_trip(void **state)
{
	struct fixture *f = *state, *g;
	struct pci_msix *y;
	char why[sizeof(((struct state_reader *)0)->why)];
	size_t len;
	u32 b0, latch;
	u8 *buf;

	buf = save_busy(f, &len, &b0);
	assert_int_equal(setup((void **)&g), 0);
	y = &g->dev.msix;
	assert_int_equal(load(g, buf, len, why), 0);
	/* The latch, read back through the port. */
	bus_dispatch(&g->pio, PCI_CONFIG_PORT, (u8 *)&latch, 4, false);
	assert_int_equal(latch, cf8_addr(0, 1, 0, PCI_VENDOR_ID));
	/* BAR 0 decodes where the guest moved it, and only there. */
	assert_int_equal(g->moved[0], b0 + MiB);
	assert_int_equal(mmio_read32(g, b0 + MiB + 0x20), 0xabababab);
	assert_int_equal(g->last_off, 0x20);
	assert_int_equal(mmio_read32(g, b0 + 0x20), 0xffffffff);
	/* Vector 3 is routed as programmed; vector 2 masked and pending. */
	assert_non_null(irq_route_find(&g->irq, y->gsi[3]));
	assert_int_equal(irq_route_find(&g->irq, y->gsi[3])->u.msi.data, 0x53);
	assert_int_equal(mmio_read32(g, msix_entry(g, 2) + 12), 1);
	assert_int_equal(eventfd_count(y->fd[2]), 0);
	mmio_write32(g, msix_entry(g, 2) + 12, 0);	/* unmask: it fires */
	assert_int_equal(eventfd_count(y->fd[2]), 1);
	assert_int_equal(irq_route_find(&g->irq, y->gsi[2])->u.msi.data, 0x52);
	assert_true(pci_msix_notify(y, 3));
	assert_int_equal(eventfd_count(y->fd[3]), 1);

	/* Reset: decode off, MSI-X off and masked, nothing pending. */
	pci_dev_reset(&g->dev);
	assert_int_equal(g->moved[0], 0);
	assert_int_equal(cfg_read(g, 1, PCI_BAR0, 4), b0);
	assert_false(pci_msix_notify(y, 3));
	assert_int_equal(atomic_load(&y->entry[4 * 3 + 3]), MSIX_ENTRY_MASKED);
	free(buf);
	teardown((void **)&g);
}

/* The value of field name in a stream: the last one (the function's). */
static u8 *field(u8 *buf, size_t len, const char *name)
{
	size_t n = strlen(name);
	u8 *p, *v = NULL;

	for (p = buf; p + n + 5 < buf + len; p++)
		if (p[0] == n && !memcmp(p + 1, name, n))
			v = p + 1 + n + 4;
	if (!v)
		fail_msg("no field %s", name);
	return v;
}

static void test_state_refused(void **state)
{
	struct fixture *f = *state, *g;
	char why[sizeof(((struct state_reader *)0)->why)];
	size_t len;
	u32 b0;
	u8 *buf, *v;

	buf = save_busy(f, &len, &b0);
	assert_int_equal(setup((void **)&g), 0);
	/* Another device: a read-only ID byte differs. */
	v = field(buf, len, "pci.cfg");
	v[PCI_DEVICE_ID] ^= 1;
	assert_int_equal(load(g, buf, len, why), -EINVAL);
	assert_string_equal(why, "state of fn: config byte 0x2 has read-only bits 0x43, this test has 0x42");
	v[PCI_DEVICE_ID] ^= 1;
	/* A vector that is pending but unmasked, reserved control bits. */
	v = field(buf, len, "msix.table");
	v[16 * 2 + 12] = 0;
	assert_int_equal(load(g, buf, len, why), -EINVAL);
	assert_string_equal(why, "state of fn: MSI-X vector 2 is pending but not masked");
	v[16 * 2 + 12] = 3;
	assert_int_equal(load(g, buf, len, why), -EINVAL);
	assert_string_equal(why, "state of fn: MSI-X vector 2 control 0x3 has reserved bits");
	v[16 * 2 + 12] = 1;
	v = field(buf, len, "msix.pba");
	v[0] |= 1u << 5;
	assert_int_equal(load(g, buf, len, why), -EINVAL);
	assert_string_equal(why, "state of fn: MSI-X pending bits beyond vector 4");
	v[0] &= (u8)~(1u << 5);
	/* Nothing was taken from the refused streams; the good one loads. */
	assert_int_equal(g->nr_moved, 0);
	assert_int_equal(load(g, buf, len, why), 0);
	free(buf);
	teardown((void **)&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_host_bridge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cf8_latch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_regs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_sizing_and_placement,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_decode_and_move, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_msix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_state_refused, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
