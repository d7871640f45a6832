// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for the KVM layer. The first group needs no KVM: name tables,
 * the /proc/cpuinfo check and kvm_open's error paths. The second group
 * drives every wrapper against a real /dev/kvm and is skipped where there
 * is none (run it in the nested test host: tests/hosttest/hosttest.py).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kernel/kvm.h"
#include "lib/layout.h"
#include "smp/vcpu_save.h"

static void test_cap_names(void **state)
{
	assert_string_equal(kvm_cap_name(KVM_CAP_IRQCHIP), "KVM_CAP_IRQCHIP");
	assert_string_equal(kvm_cap_name(KVM_CAP_IRQFD), "KVM_CAP_IRQFD");
	assert_string_equal(kvm_cap_name(KVM_CAP_IMMEDIATE_EXIT),
			    "KVM_CAP_IMMEDIATE_EXIT");
	assert_null(kvm_cap_name(100000));
}

/* Every required cap has a name, and the list is what the VMM needs. */
static void test_required_caps_named(void **state)
{
	static const unsigned must[] = {
		KVM_CAP_IRQCHIP, KVM_CAP_USER_MEMORY, KVM_CAP_IRQFD,
		KVM_CAP_IOEVENTFD, KVM_CAP_SIGNAL_MSI, KVM_CAP_IMMEDIATE_EXIT,
	};
	const unsigned *caps;
	size_t nr, i, j;

	caps = kvm_required_caps(&nr);
	assert_true(nr >= ARRAY_SIZE(must));
	for (i = 0; i < nr; i++) {
		const char *name = kvm_cap_name(caps[i]);

		assert_non_null(name);
		assert_int_equal(strncmp(name, "KVM_CAP_", 8), 0);
	}
	for (i = 0; i < ARRAY_SIZE(must); i++) {
		for (j = 0; j < nr && caps[j] != must[i]; j++)
			;
		assert_true(j < nr);
	}
}

static void test_exit_names(void **state)
{
	assert_string_equal(kvm_exit_reason_name(KVM_EXIT_IO), "IO");
	assert_string_equal(kvm_exit_reason_name(KVM_EXIT_SHUTDOWN),
			    "SHUTDOWN");
	assert_string_equal(kvm_exit_reason_name(KVM_EXIT_INTERNAL_ERROR),
			    "INTERNAL_ERROR");
	assert_string_equal(kvm_exit_reason_name(KVM_EXIT_UNKNOWN), "UNKNOWN");
	/* 13 is an s390 exit left out of the table; 9999 is nothing. */
	assert_string_equal(kvm_exit_reason_name(13), "unknown");
	assert_string_equal(kvm_exit_reason_name(9999), "unknown");
}

static void test_cpuinfo_lines(void **state)
{
	assert_true(kvm_cpuinfo_line_has_hw_virt(
		"flags\t\t: fpu vme de pse svm lm\n"));
	assert_true(kvm_cpuinfo_line_has_hw_virt("flags : vmx"));
	assert_true(kvm_cpuinfo_line_has_hw_virt("flags\t: fpu\tvmx\tsse\n"));
	/* Near misses: other words, other lines, no colon. */
	assert_false(kvm_cpuinfo_line_has_hw_virt(
		"flags\t\t: fpu svm_lock vmxon svmx lm\n"));
	assert_false(kvm_cpuinfo_line_has_hw_virt("vmx flags\t: vnmi\n"));
	assert_false(kvm_cpuinfo_line_has_hw_virt("model name\t: svm vmx\n"));
	assert_false(kvm_cpuinfo_line_has_hw_virt("flags svm vmx\n"));
	assert_false(kvm_cpuinfo_line_has_hw_virt("flags\t\t:\n"));
	assert_false(kvm_cpuinfo_line_has_hw_virt(""));
}

static void test_open_missing(void **state)
{
	struct kvm_vm vm;

	assert_int_equal(kvm_open(&vm, "/nonexistent/kvm"), -ENOENT);
	assert_int_equal(vm.sys_fd, -1);
	assert_int_equal(vm.vm_fd, -1);
	kvm_close(&vm);
	kvm_close(&vm);
}

/* A file that is not KVM fails the API version ioctl and is closed. */
static void test_open_not_kvm(void **state)
{
	struct kvm_vm vm;

	assert_int_equal(kvm_open(&vm, "/dev/null"), -ENOTTY);
	assert_int_equal(vm.sys_fd, -1);
	assert_int_equal(vm.vm_fd, -1);
	kvm_close(&vm);
}

/* --- live tests: need a real /dev/kvm --- */

struct live {
	struct kvm_vm vm;
	void *mem;
	size_t mem_size;
};

static int live_setup(void **state)
{
	struct live *l;

	*state = NULL;
	if (access(KVM_DEFAULT_DEV, F_OK))
		return 0;	/* no KVM here: the tests skip */
	l = calloc(1, sizeof(*l));
	if (!l)
		return -1;
	/* The device is there, so failing to open it is a failure. */
	if (kvm_open(&l->vm, NULL)) {
		free(l);
		return -1;
	}
	*state = l;
	return 0;
}

static int live_teardown(void **state)
{
	struct live *l = *state;

	if (!l)
		return 0;
	if (l->mem)
		munmap(l->mem, l->mem_size);
	kvm_close(&l->vm);
	free(l);
	return 0;
}

static struct live *live_get(void **state)
{
	if (!*state)
		skip();
	return *state;
}

static void test_live_open_and_caps(void **state)
{
	struct live *l = live_get(state);
	struct kvm_cpuid2 *c = NULL;
	int r;

	assert_true(l->vm.run_size >= (int)sizeof(struct kvm_run));
	assert_true(l->vm.max_vcpus >= 1);
	assert_true(l->vm.max_vcpu_id >= l->vm.max_vcpus);
	assert_int_equal(kvm_require_caps(&l->vm), 0);
	assert_true(kvm_check_extension(&l->vm, KVM_CAP_USER_MEMORY) > 0);
	/* Unknown capabilities read as 0, not as an error. */
	assert_int_equal(kvm_check_extension(&l->vm, 100000), 0);
	r = kvm_get_supported_cpuid(&l->vm, &c);
	assert_int_equal(r, 0);
	assert_non_null(c);
	assert_true(c->nent > 1);
	assert_int_equal(c->entries[0].function, 0);
	assert_true(c->entries[0].eax >= 1);	/* highest basic leaf */
	free(c);
}

/* The VM-level set-up calls, in the order the VMM makes them. */
static void test_live_vm_setup(void **state)
{
	struct live *l = live_get(state);
	struct kvm_irq_routing *rt;
	struct kvm_irq_routing_entry *e;
	int efd, rfd;

	assert_int_equal(kvm_create_vm(&l->vm), 0);
	assert_true(l->vm.vm_fd >= 0);
	assert_int_equal(kvm_create_vm(&l->vm), -EBUSY);
	assert_int_equal(kvm_enable_cap(&l->vm, 100000, 0, 0), -EINVAL);
	assert_int_equal(kvm_set_identity_map_addr(&l->vm,
						   KVM_IDENTITY_MAP_ADDR), 0);
	assert_int_equal(kvm_set_tss_addr(&l->vm, KVM_TSS_ADDR), 0);
	assert_int_equal(kvm_create_irqchip(&l->vm), 0);
	assert_int_equal(kvm_create_pit2(&l->vm), 0);
	assert_int_equal(kvm_create_pit2(&l->vm), -EEXIST);

	l->mem_size = 2 * MiB;
	l->mem = mmap(NULL, l->mem_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(l->mem != MAP_FAILED);
	assert_int_equal(kvm_set_memslot(&l->vm, 0, 0, l->mem_size, l->mem, 0),
			 0);
	/* Misaligned guest address: KVM refuses it. */
	assert_int_equal(kvm_set_memslot(&l->vm, 1, 0x1234567, l->mem_size,
					 l->mem, 0), -EINVAL);
	assert_int_equal(kvm_set_memslot(&l->vm, 0, 0, 0, l->mem, 0), 0);

	assert_int_equal(kvm_irq_line(&l->vm, 4, 1), 0);
	assert_int_equal(kvm_irq_line(&l->vm, 4, 0), 0);

	efd = eventfd(0, EFD_CLOEXEC);
	rfd = eventfd(0, EFD_CLOEXEC);
	assert_true(efd >= 0 && rfd >= 0);
	assert_int_equal(kvm_ioeventfd(&l->vm, 0x510, 2, efd, true, true), 0);
	assert_int_equal(kvm_ioeventfd(&l->vm, 0x510, 2, efd, true, true),
			 -EEXIST);
	assert_int_equal(kvm_ioeventfd(&l->vm, 0x510, 2, efd, true, false), 0);
	assert_int_equal(kvm_ioeventfd(&l->vm, 0x510, 2, efd, true, false),
			 -ENOENT);
	assert_int_equal(kvm_ioeventfd_match(&l->vm, 0xd0000000, 4, efd,
					     false, true, 7), 0);
	assert_int_equal(kvm_ioeventfd_match(&l->vm, 0xd0000000, 4, efd,
					     false, false, 7), 0);
	assert_int_equal(kvm_irqfd(&l->vm, 10, efd, -1, true), 0);
	assert_int_equal(kvm_irqfd(&l->vm, 10, efd, -1, false), 0);
	assert_int_equal(kvm_irqfd(&l->vm, 11, efd, rfd, true), 0);
	assert_int_equal(kvm_irqfd(&l->vm, 11, efd, -1, false), 0);

	rt = calloc(1, sizeof(*rt) + 2 * sizeof(rt->entries[0]));
	assert_non_null(rt);
	rt->nr = 2;
	e = rt->entries;
	e[0].gsi = 0;
	e[0].type = KVM_IRQ_ROUTING_IRQCHIP;
	e[0].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
	e[0].u.irqchip.pin = 2;
	e[1].gsi = 24;
	e[1].type = KVM_IRQ_ROUTING_MSI;
	e[1].u.msi.address_lo = (u32)LAPIC_ADDR;
	e[1].u.msi.data = 0x31;
	assert_int_equal(kvm_set_gsi_routing(&l->vm, rt), 0);
	e[1].type = 0x7777;	/* no such route type */
	assert_int_equal(kvm_set_gsi_routing(&l->vm, rt), -EINVAL);
	free(rt);
	close(efd);
	close(rfd);
}

/* Each vCPU accessor: write a value, read it back. */
static void test_live_vcpu_state(void **state)
{
	struct live *l = live_get(state);
	struct kvm_lapic_state *lapic;
	struct kvm_cpuid2 *sup = NULL, *got;
	struct kvm_vcpu v;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	u64 val = 0;
	u32 mp = 0;

	assert_int_equal(kvm_create_vm(&l->vm), 0);
	assert_int_equal(kvm_create_irqchip(&l->vm), 0);
	assert_int_equal(kvm_vcpu_create(&l->vm, 1, &v), 0);
	assert_non_null(v.run);
	assert_int_equal(v.id, 1);

	assert_int_equal(kvm_get_supported_cpuid(&l->vm, &sup), 0);
	assert_int_equal(kvm_vcpu_set_cpuid(&v, sup), 0);
	got = calloc(1, sizeof(*got) + sup->nent * sizeof(got->entries[0]));
	assert_non_null(got);
	got->nent = 1;
	assert_int_equal(kvm_vcpu_get_cpuid(&v, got), -E2BIG);
	got->nent = sup->nent;
	assert_int_equal(kvm_vcpu_get_cpuid(&v, got), 0);
	assert_int_equal(got->nent, sup->nent);
	free(got);
	free(sup);

	assert_int_equal(kvm_vcpu_get_regs(&v, &regs), 0);
	regs.rax = 0x1122334455667788ULL;
	regs.rip = 0x8000;
	assert_int_equal(kvm_vcpu_set_regs(&v, &regs), 0);
	memset(&regs, 0, sizeof(regs));
	assert_int_equal(kvm_vcpu_get_regs(&v, &regs), 0);
	assert_true(regs.rax == 0x1122334455667788ULL && regs.rip == 0x8000);

	assert_int_equal(kvm_vcpu_get_sregs(&v, &sregs), 0);
	sregs.cs.base = 0x10000;
	sregs.cs.selector = 0x1000;
	assert_int_equal(kvm_vcpu_set_sregs(&v, &sregs), 0);
	memset(&sregs, 0, sizeof(sregs));
	assert_int_equal(kvm_vcpu_get_sregs(&v, &sregs), 0);
	assert_true(sregs.cs.base == 0x10000 && sregs.cs.selector == 0x1000);

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x27f;
	fpu.mxcsr = 0x1f80;
	assert_int_equal(kvm_vcpu_set_fpu(&v, &fpu), 0);
	memset(&fpu, 0, sizeof(fpu));
	assert_int_equal(kvm_vcpu_get_fpu(&v, &fpu), 0);
	assert_int_equal(fpu.fcw, 0x27f);

	/* An AP starts waiting for INIT/SIPI under the in-kernel irqchip. */
	assert_int_equal(kvm_vcpu_get_mp_state(&v, &mp), 0);
	assert_int_equal(mp, KVM_MP_STATE_UNINITIALIZED);
	assert_int_equal(kvm_vcpu_set_mp_state(&v, KVM_MP_STATE_RUNNABLE), 0);
	assert_int_equal(kvm_vcpu_get_mp_state(&v, &mp), 0);
	assert_int_equal(mp, KVM_MP_STATE_RUNNABLE);

	lapic = calloc(1, sizeof(*lapic));
	assert_non_null(lapic);
	assert_int_equal(kvm_vcpu_get_lapic(&v, lapic), 0);
	assert_int_equal((u8)lapic->regs[0x23], 1);	/* APIC ID 1, xAPIC */
	assert_int_equal(kvm_vcpu_set_lapic(&v, lapic), 0);
	free(lapic);

	assert_int_equal(kvm_vcpu_set_msr(&v, 0xc0000102, 0x1234000), 0);
	assert_int_equal(kvm_vcpu_get_msr(&v, 0xc0000102, &val), 0);
	assert_true(val == 0x1234000);
	/* An MSR index no CPU has: KVM processes 0 entries. */
	assert_int_equal(kvm_vcpu_get_msr(&v, 0x4fff0000, &val), -EINVAL);
	assert_int_equal(kvm_vcpu_set_msr(&v, 0x4fff0000, 1), -EINVAL);

	/* MSI to APIC ID 1: accepted (the software-disabled LAPIC drops it). */
	assert_int_equal(kvm_signal_msi(&l->vm, LAPIC_ADDR | (1 << 12), 0x30),
			 0);
	assert_int_equal(kvm_vcpu_enable_cap(&v, 100000, 0, 0), -EINVAL);

	/* KVM's statistics by name: a vCPU that never ran never halted. */
	val = 1;
	assert_int_equal(kvm_vcpu_stat(&v, "halt_exits", &val), 0);
	assert_true(val == 0);
	assert_int_equal(kvm_vcpu_stat(&v, "no_such_statistic", &val), -ENOENT);
	kvm_vcpu_destroy(&v);
	assert_int_equal(v.fd, -1);
	assert_null(v.run);
	kvm_vcpu_destroy(&v);
	/* Same id twice: KVM refuses, and the vcpu is left closed. */
	assert_int_equal(kvm_vcpu_create(&l->vm, 1, &v), -EEXIST);
	assert_int_equal(v.fd, -1);
}

/*
 * Snapshot state from KVM through the state format and back into KVM:
 * what KVM reports passes the loads' checks (zeroed reserved members,
 * known flags) and KVM takes it again. The clock and TSC calls with it.
 */
static void test_live_snapshot_state(void **state)
{
	struct live *l = live_get(state);
	struct kvm_irqchip_state *chip = calloc(2, sizeof(*chip));
	struct kvm_vcpu_state s, t;
	struct kvm_clock_data clk, clk2;
	struct kvm_cpuid2 *sup = NULL;
	struct state_writer w;
	struct state_reader r;
	struct kvm_vcpu v;
	unsigned nr = 0;
	u32 *msrs = NULL, khz = 0;
	size_t len;
	u8 *buf;
	int tsc;

	assert_non_null(chip);
	assert_int_equal(kvm_create_vm(&l->vm), 0);
	assert_int_equal(kvm_create_irqchip(&l->vm), 0);
	assert_int_equal(kvm_create_pit2(&l->vm), 0);
	assert_int_equal(kvm_vcpu_create(&l->vm, 0, &v), 0);
	assert_int_equal(kvm_get_supported_cpuid(&l->vm, &sup), 0);
	assert_int_equal(kvm_vcpu_set_cpuid(&v, sup), 0);
	free(sup);

	tsc = kvm_vcpu_get_tsc_khz(&v);
	assert_true(tsc > 0);
	assert_int_equal(kvm_vcpu_set_tsc_khz(&v, (u32)tsc), 0);
	assert_int_equal(kvm_get_clock(&l->vm, &clk), 0);
	clk.clock += 1000000000;	/* a second on: KVM moves the clock */
	assert_int_equal(kvm_set_clock(&l->vm, &clk), 0);
	assert_int_equal(kvm_get_clock(&l->vm, &clk2), 0);
	assert_true(clk2.clock >= clk.clock);

	assert_int_equal(kvm_vcpu_msr_list(&v, &msrs, &nr), 0);
	assert_int_equal(kvm_vcpu_state_get(&v, msrs, nr, &s), 0);
	free(msrs);
	assert_int_equal(kvm_get_irqchip_state(&l->vm, &chip[0]), 0);

	state_writer_init(&w);
	vcpu_state_save(&w, 0, &s, (u32)tsc);
	vm_state_save(&w, &chip[0], &clk2);
	buf = state_writer_take(&w, &len);
	assert_non_null(buf);
	assert_int_equal(state_reader_init(&r, buf, len), 0);
	if (vcpu_state_load(&r, 0, &t, &khz) || vm_state_load(&r, &chip[1], &clk))
		fail_msg("%s", r.why);
	assert_int_equal(khz, (u32)tsc);
	assert_int_equal(t.msrs->nmsrs, nr);
	assert_int_equal(kvm_vcpu_state_set(&v, &t), 0);
	assert_int_equal(kvm_set_irqchip_state(&l->vm, &chip[1]), 0);
	assert_int_equal(kvm_set_clock(&l->vm, &clk), 0);
	assert_int_equal(kvm_vcpu_set_tsc_khz(&v, khz), 0);
	kvm_vcpu_state_free(&t);
	kvm_vcpu_state_free(&s);
	free(buf);
	free(chip);
	kvm_vcpu_destroy(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap_names),
		cmocka_unit_test(test_required_caps_named),
		cmocka_unit_test(test_exit_names),
		cmocka_unit_test(test_cpuinfo_lines),
		cmocka_unit_test(test_open_missing),
		cmocka_unit_test(test_open_not_kvm),
		cmocka_unit_test_setup_teardown(test_live_open_and_caps,
						live_setup, live_teardown),
		cmocka_unit_test_setup_teardown(test_live_vm_setup,
						live_setup, live_teardown),
		cmocka_unit_test_setup_teardown(test_live_vcpu_state,
						live_setup, live_teardown),
		cmocka_unit_test_setup_teardown(test_live_snapshot_state,
						live_setup, live_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
