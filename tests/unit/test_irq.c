// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupt routing: MSI decoding (plain, extended destination ID, x2APIC
 * upper dword), the KVM form of a message, and the GSI routing table kept
 * by irq_router (default IOAPIC/PIC routes, MSI routes added, changed,
 * made undeliverable and freed). The last test installs the table and an
 * irqfd on a real /dev/kvm, and is skipped where there is none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "irq/irq.h"
#include "lib/layout.h"

static void test_decode_plain(void **state)
{
	struct irq_msi m;

	assert_true(irq_msi_decode(0xfee03000, 0x4031, false, &m));
	assert_int_equal(m.dest, 3);
	assert_int_equal(m.vector, 0x31);
	assert_int_equal(m.delivery, 0);
	assert_false(m.logical);
	assert_false(m.level);
	/* Logical, redirection hint, lowest priority, level. */
	assert_true(irq_msi_decode(0xfee0f00c, 0xc1a2, false, &m));
	assert_int_equal(m.dest, 0x0f);
	assert_true(m.logical);
	assert_true(m.redir_hint);
	assert_int_equal(m.delivery, 1);
	assert_true(m.level);
	assert_int_equal(m.vector, 0xa2);
}

static void test_decode_not_msi(void **state)
{
	struct irq_msi m;

	assert_false(irq_msi_decode(0xfed00000, 0x30, false, &m));
	assert_false(irq_msi_decode(0, 0, true, &m));
	assert_false(irq_msi_decode(0xfef00000, 0x30, true, &m));
}

static void test_decode_ext_dest(void **state)
{
	struct irq_msi m;
	u64 addr = MSI_ADDR_BASE | (0x12 << 12) | (0x3 << 5);

	/* Bits 11:5 are destination bits 14:8 only when offered. */
	assert_true(irq_msi_decode(addr, 0x40, true, &m));
	assert_int_equal(m.dest, 0x312);
	assert_true(irq_msi_decode(addr, 0x40, false, &m));
	assert_int_equal(m.dest, 0x12);
	/* The x2APIC form: bits 31:8 in the upper address dword. */
	assert_true(irq_msi_decode((0x1234ULL << 40) | MSI_ADDR_BASE | (0x56 << 12),
				   0x40, false, &m));
	assert_int_equal(m.dest, 0x123456);
}

static void test_to_kvm(void **state)
{
	struct kvm_irq_routing_msi k;
	struct irq_msi m = { .dest = 0x312, .vector = 0x41, .logical = true };

	assert_int_equal(irq_msi_to_kvm(&m, false, &k), -ERANGE);
	assert_int_equal(irq_msi_to_kvm(&m, true, &k), 0);
	assert_int_equal(k.address_lo, 0xfee12004);
	assert_int_equal(k.address_hi, 0x300);
	assert_int_equal(k.data, 0x41);
	m.dest = 7;
	m.logical = false;
	m.level = true;
	assert_int_equal(irq_msi_to_kvm(&m, false, &k), 0);
	assert_int_equal(k.address_lo, 0xfee07000);
	assert_int_equal(k.address_hi, 0);
	assert_int_equal(k.data, 0x41 | MSI_DATA_TRIGGER_LEVEL | MSI_DATA_LEVEL_ASSERT);
}

static unsigned count_gsi(struct irq_router *r, u32 gsi, u32 type)
{
	unsigned i, n = 0;

	for (i = 0; i < r->table->nr; i++)
		if (r->table->entries[i].gsi == gsi &&
		    r->table->entries[i].type == type)
			n++;
	return n;
}

static void test_router_defaults(void **state)
{
	struct irq_router r;
	u32 g;

	assert_int_equal(irq_router_init(&r, NULL), 0);
	assert_int_equal(r.table->nr, IOAPIC_NR_PINS + IRQ_PIC_PINS);
	for (g = 0; g < IOAPIC_NR_PINS; g++) {
		unsigned i, ioapic = 0;

		for (i = 0; i < r.table->nr; i++) {
			const struct kvm_irq_routing_entry *e = &r.table->entries[i];

			if (e->gsi == g && e->u.irqchip.irqchip == KVM_IRQCHIP_IOAPIC) {
				assert_int_equal(e->u.irqchip.pin, g);
				ioapic++;
			}
		}
		assert_int_equal(ioapic, 1);
		assert_int_equal(count_gsi(&r, g, KVM_IRQ_ROUTING_IRQCHIP),
				 g < IRQ_PIC_PINS ? 2 : 1);
	}
	assert_int_equal(r.commits, 1);
	irq_router_destroy(&r);
	irq_router_destroy(&r);		/* safe twice */
}

static void test_router_msi(void **state)
{
	const struct kvm_irq_routing_entry *e;
	struct irq_router r;
	u32 a, b, c;
	u64 commits;

	assert_int_equal(irq_router_init(&r, NULL), 0);
	assert_int_equal(irq_msi_alloc(&r, &a), 0);
	assert_int_equal(irq_msi_alloc(&r, &b), 0);
	assert_true(a >= IRQ_MSI_GSI_BASE && b >= IRQ_MSI_GSI_BASE && a != b);
	/* Routing an unallocated or IOAPIC GSI is refused. */
	assert_int_equal(irq_route_msi(&r, 5, 0xfee00000, 0x30), -EINVAL);
	assert_int_equal(irq_route_msi(&r, 4000, 0xfee00000, 0x30), -EINVAL);

	assert_int_equal(irq_route_msi(&r, a, 0xfee01000, 0x33), 0);
	e = irq_route_find(&r, a);
	assert_non_null(e);
	assert_int_equal(e->type, KVM_IRQ_ROUTING_MSI);
	assert_int_equal(e->u.msi.address_lo, 0xfee01000);
	assert_int_equal(e->u.msi.data, 0x33);
	/* The same message again costs no table install. */
	commits = r.commits;
	assert_int_equal(irq_route_msi(&r, a, 0xfee01000, 0x33), 0);
	assert_int_equal(r.commits, commits);
	/* A new one replaces it in place. */
	assert_int_equal(irq_route_msi(&r, a, 0xfee02000, 0x34), 0);
	assert_int_equal(count_gsi(&r, a, KVM_IRQ_ROUTING_MSI), 1);
	assert_int_equal(irq_route_find(&r, a)->u.msi.data, 0x34);
	/* Not an interrupt address: the route goes, the vector is silent. */
	assert_int_equal(irq_route_msi(&r, a, 0x12345000, 0x34), -EINVAL);
	assert_null(irq_route_find(&r, a));
	/* A destination above 255 needs 32-bit IDs. */
	assert_int_equal(irq_route_msi(&r, b, (1ULL << 40) | 0xfee00000, 0x30),
			 -ERANGE);
	r.x2apic_ids = true;
	assert_int_equal(irq_route_msi(&r, b, (1ULL << 40) | 0xfee00000, 0x30), 0);
	assert_int_equal(irq_route_find(&r, b)->u.msi.address_hi, 0x100);
	/* Freed GSIs lose their route and are handed out again. */
	irq_msi_free(&r, b);
	assert_null(irq_route_find(&r, b));
	assert_int_equal(irq_msi_alloc(&r, &c), 0);
	assert_int_equal(c, a < b ? b : a);
	irq_router_destroy(&r);
}

static void test_router_full(void **state)
{
	struct irq_router r;
	u32 g, n = 0;

	assert_int_equal(irq_router_init(&r, NULL), 0);
	while (!irq_msi_alloc(&r, &g))
		n++;
	assert_int_equal(n, IRQ_MAX_ROUTES - IRQ_MSI_GSI_BASE);
	irq_router_destroy(&r);
}

/* On a real /dev/kvm: the default table, an MSI route and an irqfd. */
/* A VM with an in-kernel irqchip and a router on it, or the test skips. */
static void live_router(struct kvm_vm *vm, struct irq_router *r)
{
	if (access("/dev/kvm", R_OK | W_OK) || kvm_open(vm, NULL) ||
	    kvm_create_vm(vm) || kvm_create_irqchip(vm)) {
		kvm_close(vm);
		skip();
	}
	assert_int_equal(irq_router_init(r, vm), 0);
}

static void test_router_live(void **state)
{
	struct kvm_vm vm = { .sys_fd = -1, .vm_fd = -1 };
	struct irq_router r;
	int fd;
	u32 g;

	live_router(&vm, &r);
	assert_int_equal(irq_msi_alloc(&r, &g), 0);
	assert_int_equal(irq_route_msi(&r, g, 0xfee00000, 0x40), 0);
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(fd >= 0);
	assert_int_equal(irq_irqfd_assign(&r, g, fd, -1), 0);
	irq_eventfd_signal(fd);		/* vector 0x40 to APIC 0: no crash */
	assert_int_equal(irq_irqfd_deassign(&r, g, fd), 0);
	close(fd);
	irq_msi_free(&r, g);
	irq_router_destroy(&r);
	kvm_close(&vm);
}

/* A burst goes through at once, the rest at the paced rate. */
static void test_pace(void **state)
{
	struct pace p = PACE_INIT(1000, 10);
	u64 t0 = now_ns(), dt;
	int i;

	for (i = 0; i < 10; i++)
		pace_wait(&p);
	assert_true(now_ns() - t0 < 5000000ULL);
	assert_int_equal(p.slept_ns, 0);
	for (i = 0; i < 100; i++)
		pace_wait(&p);
	dt = now_ns() - t0;
	assert_true(dt >= 95000000ULL);		/* 100 at 1 ms each */
	assert_true(p.slept_ns > 0);		/* and it was slept, not spun */
}

/*
 * A guest rewriting one MSI-X entry without end: each write is a
 * KVM_SET_GSI_ROUTING, paced after IRQ_COMMIT_BURST of them.
 */
static void test_router_paced(void **state)
{
	struct kvm_vm vm = { .sys_fd = -1, .vm_fd = -1 };
	struct irq_router r;
	unsigned n = IRQ_COMMIT_BURST + 100, i;
	u64 t0;
	u32 g;

	live_router(&vm, &r);
	assert_int_equal(irq_msi_alloc(&r, &g), 0);
	t0 = now_ns();
	for (i = 0; i < n; i++)
		assert_int_equal(irq_route_msi(&r, g, 0xfee00000,
					       0x40 + (i & 1)), 0);
	assert_true(now_ns() - t0 >=
		    (n - IRQ_COMMIT_BURST - 10) * (1000000000ULL / IRQ_COMMITS_PER_SEC));
	assert_true(r.pace.slept_ns > 0);
	irq_msi_free(&r, g);
	irq_router_destroy(&r);
	kvm_close(&vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_plain),
		cmocka_unit_test(test_decode_not_msi),
		cmocka_unit_test(test_decode_ext_dest),
		cmocka_unit_test(test_to_kvm),
		cmocka_unit_test(test_router_defaults),
		cmocka_unit_test(test_router_msi),
		cmocka_unit_test(test_router_full),
		cmocka_unit_test(test_router_live),
		cmocka_unit_test(test_pace),
		cmocka_unit_test(test_router_paced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
