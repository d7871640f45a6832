/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-vCPU set-up, the firmware's share of it included: each vCPU created
 * with its APIC ID as KVM id, its own CPUID table (smp/cpuid.h) with the
 * paravirtual features trimmed or added and the TSC-deadline bit, LINT0
 * as ExtINT and LINT1 as NMI, and x2APIC mode for machines that need it.
 * The VMM (vmm/machine.c) and tests/kvm/x2apic.c both call these, so the
 * test runs the VMM's own code. Plain parameters only: no VMM config.
 */
#ifndef SMPVISOR_SMP_VCPU_SETUP_H
#define SMPVISOR_SMP_VCPU_SETUP_H

#include "kernel/kvm.h"
#include "lib/parse.h"
#include "smp/topology.h"
#include "smp/vcpu.h"

struct vcpu_setup_opts {
	u32 kvm_clear;		/* KVM_FEATURE_* bits hidden from the guest */
	u32 kvm_vmm_features;	/* KVM_FEATURE_* bits the VMM implements */
	u32 kvm_hints;		/* KVM_HINTS_* bits */
	bool tsc_deadline;	/* set CPUID 1 ECX TSC-deadline */
	bool x2apic_mode;	/* hand over in x2APIC mode (APIC IDs > 254) */
};

/*
 * The options for nr_cpus vCPUs of topology t on vm: the paravirtual
 * switches that are off (enum pv_feature bits in pv_off) hidden;
 * KVM_FEATURE_MSI_EXT_DEST_ID and x2APIC mode when the topology needs
 * x2APIC; KVM_HINTS_REALTIME when dedicated; the TSC-deadline bit when
 * KVM has KVM_CAP_TSC_DEADLINE_TIMER.
 */
void vcpu_setup_opts_init(struct vcpu_setup_opts *o, struct kvm_vm *vm,
			  const struct smp_topo *t, unsigned nr_cpus,
			  unsigned pv_off, bool dedicated);

/*
 * For a guest with APIC IDs up to that of vCPU nr_cpus - 1: they fit
 * KVM's vCPU id limit, and IDs from 255 on get KVM_CAP_X2APIC_API with
 * 32-bit IDs and without the broadcast quirk (before the first vCPU
 * exists). 0, -EINVAL or -EOPNOTSUPP with a message, or -errno.
 */
int vcpu_setup_x2apic_api(struct kvm_vm *vm, const struct smp_topo *t,
			  unsigned nr_cpus);

/*
 * Set up the created vCPU kv, index idx of topology t: its CPUID from the
 * supported set with o applied, its LAPIC LINT0/LINT1, x2APIC mode if
 * o->x2apic_mode. 0 or -errno.
 */
int vcpu_setup_one(struct kvm_vcpu *kv, const struct kvm_cpuid2 *supported,
		   const struct smp_topo *t, unsigned idx,
		   const struct vcpu_setup_opts *o);

/*
 * Create and set up vCPUs 0..t->nr_cpus-1 in s (s->v allocated here;
 * s->nr counts the created ones, for vcpus_setup_free after a failure).
 * pins: NULL, or nr_pins cpulists by vCPU index (one without bits: no
 * pin). 0 or -errno with a message.
 */
int vcpus_setup(struct vcpus *s, struct kvm_vm *vm,
		const struct kvm_cpuid2 *supported, const struct smp_topo *t,
		const struct vcpu_setup_opts *o, const struct cpulist *pins,
		unsigned nr_pins);
void vcpus_setup_free(struct vcpus *s);

#endif
