// SPDX-License-Identifier: GPL-2.0
/*
 * Per-vCPU set-up: creation, CPUID, the LAPIC's LINT pins and x2APIC mode
 * (see smp/vcpu_setup.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <asm/kvm_para.h>

#include "smp/cpuid.h"
#include "smp/vcpu_setup.h"

void vcpu_setup_opts_init(struct vcpu_setup_opts *o, struct kvm_vm *vm,
			  const struct smp_topo *t, unsigned nr_cpus,
			  unsigned pv_off, bool dedicated)
{
	memset(o, 0, sizeof(*o));
	o->kvm_clear = cpuid_kvm_pv_mask(pv_off & PV_ALL);
	o->x2apic_mode = smp_topo_needs_x2apic(t, nr_cpus);
	/*
	 * KVM never lists MSI_EXT_DEST_ID: the VMM implements it, and ours
	 * does (irq/msi.c turns address bits 11:5 into KVM's 32-bit form).
	 * Without it Linux brings up no CPU with an APIC ID above 255.
	 */
	if (o->x2apic_mode)
		o->kvm_vmm_features = 1U << KVM_FEATURE_MSI_EXT_DEST_ID;
	if (dedicated)
		o->kvm_hints = 1U << KVM_HINTS_REALTIME;
	/*
	 * KVM emulates the TSC-deadline timer in its LAPIC but leaves the
	 * CPUID bit to us. Without it Linux calibrates the LAPIC timer against
	 * the PIT, which fails on an overcommitted host ("APIC timer disabled
	 * due to verification failure"): then no CPU gets high-resolution
	 * timers, and the PIT's tick is broadcast to every vCPU by IPI.
	 */
	o->tsc_deadline = kvm_check_extension(vm, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
}

int vcpu_setup_x2apic_api(struct kvm_vm *vm, const struct smp_topo *t,
			  unsigned nr_cpus)
{
	u32 last = smp_topo_apic_id(t, nr_cpus - 1);
	int r;

	if (last >= (u32)vm->max_vcpu_id) {
		pr_err("cpus: vCPU %u has APIC ID %u, KVM allows IDs below %d (KVM_CAP_MAX_VCPU_ID); use fewer sockets/cores/threads",
		       nr_cpus - 1, last, vm->max_vcpu_id);
		return -EINVAL;
	}
	if (!smp_topo_needs_x2apic(t, nr_cpus))
		return 0;
	r = kvm_check_extension(vm, KVM_CAP_X2APIC_API);
	if (r < 0) {
		pr_err("cpus: APIC IDs up to %u need KVM_CAP_X2APIC_API: KVM_CHECK_EXTENSION: %s",
		       last, strerror(-r));
		return -EOPNOTSUPP;
	}
	if (!(r & KVM_X2APIC_API_USE_32BIT_IDS)) {
		pr_err("cpus: APIC IDs up to %u need KVM_CAP_X2APIC_API with 32-bit IDs, which this KVM lacks",
		       last);
		return -EOPNOTSUPP;
	}
	return kvm_enable_cap(vm, KVM_CAP_X2APIC_API,
			      KVM_X2APIC_API_USE_32BIT_IDS |
			      KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK, 0);
}

/* Firmware's job on real hardware: LINT0 as ExtINT, LINT1 as NMI. */
static int setup_lapic(struct kvm_vcpu *kv)
{
	struct kvm_lapic_state s;
	u32 *lvt0, *lvt1;
	int r;

	r = kvm_vcpu_get_lapic(kv, &s);
	if (r)
		return r;
	lvt0 = (u32 *)&s.regs[0x350];
	lvt1 = (u32 *)&s.regs[0x360];
	*lvt0 = (*lvt0 & ~0x1700u & ~(1u << 16)) | (7u << 8);	/* ExtINT */
	*lvt1 = (*lvt1 & ~0x1700u & ~(1u << 16)) | (4u << 8);	/* NMI */
	return kvm_vcpu_set_lapic(kv, &s);
}

#define MSR_IA32_APIC_BASE	0x1b
#define APIC_BASE_EXTD		(1ULL << 10)	/* x2APIC mode */
#define APIC_BASE_EN		(1ULL << 11)

/*
 * Firmware's job again: a machine with APIC IDs above 254 hands over in
 * x2APIC mode (as SeaBIOS does past 255 CPUs). Linux picks its x2APIC
 * driver while it parses the MADT and SRAT only when the boot CPU is
 * already in x2APIC mode; otherwise it ignores every x2APIC entry there
 * and brings up only the CPUs with 8-bit IDs. Set on every vCPU after its
 * CPUID (KVM refuses EXTD without the x2APIC bit); KVM keeps the mode
 * across the INIT that starts an AP.
 */
static int setup_x2apic_mode(struct kvm_vcpu *kv)
{
	u64 base;
	int r;

	r = kvm_vcpu_get_msr(kv, MSR_IA32_APIC_BASE, &base);
	if (!r)
		r = kvm_vcpu_set_msr(kv, MSR_IA32_APIC_BASE,
				     base | APIC_BASE_EN | APIC_BASE_EXTD);
	return r;
}

/* The paravirtual trimming and additions, the TSC-deadline bit. */
static int cpuid_apply(struct kvm_cpuid2 *cpuid, const struct vcpu_setup_opts *o)
{
	int r;

	r = cpuid_kvm_clear_features(cpuid, o->kvm_clear);
	if (!r && o->kvm_vmm_features)
		r = cpuid_kvm_set_vmm_features(cpuid, o->kvm_vmm_features);
	if (!r && o->kvm_hints)
		r = cpuid_kvm_set_hints(cpuid, o->kvm_hints);
	if (!r && o->tsc_deadline)
		r = cpuid_set_leaf1_ecx(cpuid, CPUID_1_ECX_TSC_DEADLINE);
	return r;
}

int vcpu_setup_one(struct kvm_vcpu *kv, const struct kvm_cpuid2 *supported,
		   const struct smp_topo *t, unsigned idx,
		   const struct vcpu_setup_opts *o)
{
	struct kvm_cpuid2 *cpuid;
	int r;

	r = cpuid_for_vcpu(supported, t, idx, &cpuid);
	if (r)
		return r;
	r = cpuid_apply(cpuid, o);
	if (!r)
		r = kvm_vcpu_set_cpuid(kv, cpuid);
	free(cpuid);
	if (!r)
		r = setup_lapic(kv);
	if (!r && o->x2apic_mode)
		r = setup_x2apic_mode(kv);
	return r;
}

int vcpus_setup(struct vcpus *s, struct kvm_vm *vm,
		const struct kvm_cpuid2 *supported, const struct smp_topo *t,
		const struct vcpu_setup_opts *o, const struct cpulist *pins,
		unsigned nr_pins)
{
	unsigned i;
	int r;

	s->v = calloc(t->nr_cpus, sizeof(*s->v));
	if (!s->v)
		return -ENOMEM;
	for (i = 0; i < t->nr_cpus; i++) {
		struct vcpu *v = &s->v[i];

		v->idx = i;
		v->apic_id = smp_topo_apic_id(t, i);
		if (pins && i < nr_pins && pins[i].bits)
			v->pin = &pins[i];
		v->kv.fd = -1;
		r = kvm_vcpu_create(vm, v->apic_id, &v->kv);
		if (r)
			return r;
		s->nr = i + 1;
		r = vcpu_setup_one(&v->kv, supported, t, i, o);
		if (r) {
			pr_err("vcpu %u: set-up failed: %s", i, strerror(-r));
			return r;
		}
	}
	return 0;
}

void vcpus_setup_free(struct vcpus *s)
{
	unsigned i;

	for (i = 0; i < s->nr; i++)
		kvm_vcpu_destroy(&s->v[i].kv);
	free(s->v);
	s->v = NULL;
	s->nr = 0;
}
