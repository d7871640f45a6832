/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-vCPU CPUID tables. KVM_GET_SUPPORTED_CPUID describes what the host
 * and KVM can offer, with the *host's* topology in the topology leaves.
 * cpuid_for_vcpu copies that set and rewrites every leaf that names a CPU
 * or counts CPUs so each vCPU reports its own APIC ID and the guest
 * topology of struct smp_topo; the result goes to KVM_SET_CPUID2.
 *
 * Leaves rewritten: 0x1 (initial APIC ID, logical count, HTT, hypervisor),
 * 0x4 and 0x8000001d (cache sharing), 0xb and 0x1f (extended topology,
 * rebuilt from scratch), 0x80000001 CmpLegacy, 0x80000008 ECX and
 * 0x8000001e (AMD), 0x40000000/0x40000001 (KVM signature and PV features).
 * Everything else passes through unchanged.
 *
 * The max basic leaf (leaf 0 EAX) is never raised: raising it would expose
 * leaves KVM did not fill in. Leaf 0x1f is only produced when the supported
 * set reaches it; leaf 0xb (enough for our two levels) when it reaches 0xb.
 */
#ifndef SMPVISOR_CPUID_H
#define SMPVISOR_CPUID_H

#include <linux/kvm.h>

#include "lib/util.h"
#include "smp/topology.h"

enum cpuid_vendor {
	CPUID_VENDOR_OTHER,
	CPUID_VENDOR_INTEL,
	CPUID_VENDOR_AMD,	/* also Hygon: same topology leaves */
};

/* Feature bits used here and by callers. */
#define CPUID_1_ECX_X2APIC	(1U << 21)
#define CPUID_1_ECX_TSC_DEADLINE	(1U << 24)
#define CPUID_1_ECX_HYPERVISOR	(1U << 31)
#define CPUID_1_EDX_HTT		(1U << 28)
#define CPUID_80000001_ECX_CMP_LEGACY	(1U << 1)

/*
 * The entry for leaf fn, subleaf index (the index only counts for entries
 * flagged KVM_CPUID_FLAG_SIGNIFCANT_INDEX), or NULL.
 */
struct kvm_cpuid_entry2 *cpuid_find(const struct kvm_cpuid2 *c, u32 fn,
				    u32 index);

/* Vendor from the leaf 0 signature. */
enum cpuid_vendor cpuid_vendor(const struct kvm_cpuid2 *c);

/*
 * Build vCPU idx's table from the supported set into *out (free() it).
 * -EINVAL for a bad index or a supported set without leaf 0, -EOPNOTSUPP
 * when the topology needs x2APIC (APIC IDs >= 255) but the supported set
 * lacks the x2APIC bit or leaf 0xb, -ENOMEM. Entries come out sorted by
 * leaf, then subleaf.
 */
int cpuid_for_vcpu(const struct kvm_cpuid2 *supported, const struct smp_topo *t,
		   unsigned int idx, struct kvm_cpuid2 **out);

/*
 * Hook for paravirtual features: clear the KVM_FEATURE_* bits in mask from
 * leaf 0x40000001 EAX of a table built by cpuid_for_vcpu. Bits can only be
 * taken away, never added beyond what KVM supports. -ENOENT without the leaf.
 */
int cpuid_kvm_clear_features(struct kvm_cpuid2 *c, u32 mask);

/*
 * Set KVM_FEATURE_* bits in leaf 0x40000001 EAX that the VMM itself
 * implements, so KVM's supported set never lists them (e.g.
 * KVM_FEATURE_MSI_EXT_DEST_ID: the VMM decodes the guest's MSIs).
 * -ENOENT without the leaf.
 */
int cpuid_kvm_set_vmm_features(struct kvm_cpuid2 *c, u32 bits);

/*
 * Set leaf 1 ECX bits that KVM emulates but never lists in its supported
 * set, because they depend on the VMM's choices: the TSC-deadline timer
 * (CPUID_1_ECX_TSC_DEADLINE) works only with KVM's in-kernel LAPIC and
 * KVM_CAP_TSC_DEADLINE_TIMER. -ENOENT without leaf 1.
 */
int cpuid_set_leaf1_ecx(struct kvm_cpuid2 *c, u32 bits);

/* Leaf 0x40000001 EAX (KVM_FEATURE_* bits) of c; 0 without the leaf. */
u32 cpuid_kvm_features(const struct kvm_cpuid2 *c);

/*
 * Set hint bits (KVM_HINTS_*, e.g. 1 << KVM_HINTS_REALTIME) in leaf
 * 0x40000001 EDX. -ENOENT without the leaf.
 */
int cpuid_kvm_set_hints(struct kvm_cpuid2 *c, u32 hints);

/*
 * The paravirtual features a guest may be offered ("pv" object of the
 * config); a clear bit hides it from the guest.
 */
enum pv_feature {
	PV_KVMCLOCK	= 1 << 0,
	PV_EOI		= 1 << 1,
	PV_TLB_FLUSH	= 1 << 2,
	PV_SCHED_YIELD	= 1 << 3,
	PV_SPINLOCKS	= 1 << 4,
	PV_STEAL_TIME	= 1 << 5,
	PV_SEND_IPI	= 1 << 6,
	PV_POLL_CONTROL	= 1 << 7,
	PV_ALL		= (1 << 8) - 1,
};

/*
 * The KVM_FEATURE_* bits behind the paravirtual switches (enum
 * pv_feature bits in pv): kvmclock is KVM_FEATURE_CLOCKSOURCE, _CLOCKSOURCE2
 * and _CLOCKSOURCE_STABLE_BIT, pv_spinlocks is KVM_FEATURE_PV_UNHALT, the
 * rest map one to one. Pass the switches that are off to get the mask for
 * cpuid_kvm_clear_features.
 */
u32 cpuid_kvm_pv_mask(unsigned pv);

#endif
