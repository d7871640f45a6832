// SPDX-License-Identifier: GPL-2.0
/*
 * Per-vCPU CPUID: copy KVM's supported set and rewrite the leaves that
 * carry an APIC ID or a CPU count so the guest sees the smp_topo topology
 * rather than the host's (field layouts: Intel SDM vol. 2A "CPUID", AMD APM
 * vol. 3 appendix E). Counts are reported as the power-of-two "addressable
 * ID" widths of struct smp_topo, which is how the guest decodes APIC IDs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <asm/kvm_para.h>

#include "smp/cpuid.h"

#define LEAF_BASIC_MAX		0x0
#define LEAF_FEATURES		0x1
#define LEAF_CACHE		0x4
#define LEAF_EXT_TOPO		0xb
#define LEAF_EXT_TOPO_V2	0x1f
#define LEAF_KVM_SIGNATURE	0x40000000
#define LEAF_KVM_FEATURES	0x40000001
#define LEAF_EXT_FEATURES	0x80000001
#define LEAF_AMD_SIZES		0x80000008
#define LEAF_AMD_CACHE		0x8000001d
#define LEAF_AMD_TOPO		0x8000001e

/* Leaf 0xb/0x1f ECX[15:8] level types. */
#define TOPO_LEVEL_INVALID	0
#define TOPO_LEVEL_SMT		1
#define TOPO_LEVEL_CORE		2

/* At most 3 subleaves each of 0xb and 0x1f, and the two KVM leaves. */
#define CPUID_MAX_ADDED		8

/* The table being built for one vCPU. */
struct cpuid_build {
	struct kvm_cpuid2 *c;
	u32 cap;
	const struct smp_topo *t;
	struct smp_topo_pos pos;
	u32 apic_id;
	enum cpuid_vendor vendor;
};

struct kvm_cpuid_entry2 *cpuid_find(const struct kvm_cpuid2 *c, u32 fn,
				    u32 index)
{
	u32 i;

	for (i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function != fn)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) &&
		    e->index != index)
			continue;
		return (struct kvm_cpuid_entry2 *)e;
	}
	return NULL;
}

enum cpuid_vendor cpuid_vendor(const struct kvm_cpuid2 *c)
{
	const struct kvm_cpuid_entry2 *e = cpuid_find(c, LEAF_BASIC_MAX, 0);
	char sig[12];

	if (!e)
		return CPUID_VENDOR_OTHER;
	/* The 12 bytes come in EBX, EDX, ECX order. */
	memcpy(sig, &e->ebx, 4);
	memcpy(sig + 4, &e->edx, 4);
	memcpy(sig + 8, &e->ecx, 4);
	if (!memcmp(sig, "GenuineIntel", 12))
		return CPUID_VENDOR_INTEL;
	if (!memcmp(sig, "AuthenticAMD", 12) || !memcmp(sig, "HygonGenuine", 12))
		return CPUID_VENDOR_AMD;
	return CPUID_VENDOR_OTHER;
}

static struct kvm_cpuid_entry2 *build_add(struct cpuid_build *b, u32 fn,
					  u32 index, u32 flags)
{
	struct kvm_cpuid_entry2 *e;

	if (b->c->nent >= b->cap)
		return NULL;
	e = &b->c->entries[b->c->nent++];
	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = index;
	e->flags = flags;
	return e;
}

static u32 min_u32(u64 a, u32 b)
{
	return a < b ? a : b;
}

/* Logical processors in one package, as the guest counts them. */
static u32 pkg_threads(const struct smp_topo *t)
{
	return t->threads * t->cores;
}

/*
 * Leaf 1: EBX[31:24] initial (8-bit) APIC ID, EBX[23:16] addressable
 * logical IDs per package, EDX.HTT when that field is meaningful (more than
 * one logical processor per package), ECX.hypervisor always.
 */
static void fix_leaf1(struct cpuid_build *b)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(b->c, LEAF_FEATURES, 0);
	u32 ids = min_u32(1ULL << smp_topo_pkg_bits(b->t), 0xff);

	e->ebx = (e->ebx & 0xffff) | ids << 16 | (b->apic_id & 0xff) << 24;
	if (pkg_threads(b->t) > 1)
		e->edx |= CPUID_1_EDX_HTT;
	else
		e->edx &= ~CPUID_1_EDX_HTT;
	e->ecx |= CPUID_1_ECX_HYPERVISOR;
}

/*
 * Deterministic cache parameters (Intel leaf 4, AMD 0x8000001d share the
 * layout of EAX[25:14]): L1 and L2 are private to a core, so shared by its
 * SMT threads; L3 and beyond by the whole package. Leaf 4 also carries
 * addressable core IDs per package in EAX[31:26].
 */
static void fix_cache_leaf(struct cpuid_build *b, u32 fn)
{
	const struct smp_topo *t = b->t;
	u32 i, level, share, cores;

	for (i = 0; i < b->c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &b->c->entries[i];

		if (e->function != fn || !(e->eax & 0x1f))
			continue;	/* other leaf, or "no more caches" */
		level = e->eax >> 5 & 0x7;
		if (level <= 2)
			share = min_u32((1ULL << t->smt_bits) - 1, 0xfff);
		else
			share = min_u32((1ULL << smp_topo_pkg_bits(t)) - 1, 0xfff);
		e->eax = (e->eax & ~(0xfffU << 14)) | share << 14;
		if (fn == LEAF_CACHE) {
			cores = min_u32((1ULL << t->core_bits) - 1, 0x3f);
			e->eax = (e->eax & ~(0x3fU << 26)) | cores << 26;
		}
	}
}

/*
 * Leaf 0xb or 0x1f from scratch: subleaf 0 the SMT level, 1 the core level,
 * 2 the invalid level that ends the enumeration. EAX is the shift from an
 * x2APIC ID to the next level's ID, EBX the logical processors at this
 * level, ECX[7:0] echoes the subleaf and ECX[15:8] is the level type; EDX
 * is the full x2APIC ID in every subleaf.
 */
static int add_ext_topo(struct cpuid_build *b, u32 fn)
{
	static const u32 type[] = {
		TOPO_LEVEL_SMT, TOPO_LEVEL_CORE, TOPO_LEVEL_INVALID
	};
	const struct smp_topo *t = b->t;
	struct kvm_cpuid_entry2 *e;
	u32 i;

	for (i = 0; i < ARRAY_SIZE(type); i++) {
		e = build_add(b, fn, i, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
		if (!e)
			return -ENOSPC;
		e->ecx = type[i] << 8 | i;
		e->edx = b->apic_id;
		if (type[i] == TOPO_LEVEL_SMT) {
			e->eax = t->smt_bits;
			e->ebx = min_u32(t->threads, 0xffff);
		} else if (type[i] == TOPO_LEVEL_CORE) {
			e->eax = smp_topo_pkg_bits(t);
			e->ebx = min_u32(pkg_threads(t), 0xffff);
		}
	}
	return 0;
}

/*
 * AMD: 0x80000001 ECX.CmpLegacy for multi-core packages; 0x80000008 ECX
 * NC (logical processors per package - 1) and ApicIdSize (APIC ID bits
 * per package); 0x8000001e extended APIC ID, core ID (the APIC ID above
 * the SMT bits), threads per core - 1 and node ID. Until NUMA nodes are
 * configured each socket is one node.
 */
static void fix_amd(struct cpuid_build *b)
{
	const struct smp_topo *t = b->t;
	struct kvm_cpuid_entry2 *e;

	e = cpuid_find(b->c, LEAF_EXT_FEATURES, 0);
	if (e) {
		if (t->cores > 1)
			e->ecx |= CPUID_80000001_ECX_CMP_LEGACY;
		else
			e->ecx &= ~CPUID_80000001_ECX_CMP_LEGACY;
	}
	e = cpuid_find(b->c, LEAF_AMD_SIZES, 0);
	if (e) {
		e->ecx &= ~0xf0ffU;
		e->ecx |= min_u32(pkg_threads(t) - 1, 0xff);
		e->ecx |= min_u32(smp_topo_pkg_bits(t), 0xf) << 12;
	}
	e = cpuid_find(b->c, LEAF_AMD_TOPO, 0);
	if (e) {
		e->eax = b->apic_id;
		e->ebx = min_u32(t->threads - 1, 0xff) << 8 |
			 ((b->apic_id >> t->smt_bits) & 0xff);
		e->ecx = b->pos.socket & 0xff;	/* one node per socket */
		e->edx = 0;
	}
}

/*
 * KVM's own leaves: the "KVMKVMKVM" signature with the highest KVM leaf in
 * EAX, and the paravirtual feature bits in 0x40000001, copied from the
 * supported set (cpuid_kvm_clear_features trims them). Both are added if
 * the supported set lacks them; the feature leaf then offers nothing.
 */
static int fix_kvm_leaves(struct cpuid_build *b)
{
	const char *sig = "KVMKVMKVM\0\0\0";	/* 12 bytes, NUL padded */
	struct kvm_cpuid_entry2 *e;

	e = cpuid_find(b->c, LEAF_KVM_SIGNATURE, 0);
	if (!e)
		e = build_add(b, LEAF_KVM_SIGNATURE, 0, 0);
	if (!e)
		return -ENOSPC;
	memcpy(&e->ebx, sig, 4);
	memcpy(&e->ecx, sig + 4, 4);
	memcpy(&e->edx, sig + 8, 4);
	if (e->eax < LEAF_KVM_FEATURES)
		e->eax = LEAF_KVM_FEATURES;
	if (!cpuid_find(b->c, LEAF_KVM_FEATURES, 0) &&
	    !build_add(b, LEAF_KVM_FEATURES, 0, 0))
		return -ENOSPC;
	return 0;
}

int cpuid_kvm_clear_features(struct kvm_cpuid2 *c, u32 mask)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, LEAF_KVM_FEATURES, 0);

	if (!e)
		return -ENOENT;
	e->eax &= ~mask;
	return 0;
}

int cpuid_kvm_set_vmm_features(struct kvm_cpuid2 *c, u32 bits)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, LEAF_KVM_FEATURES, 0);

	if (!e)
		return -ENOENT;
	e->eax |= bits;
	return 0;
}

int cpuid_set_leaf1_ecx(struct kvm_cpuid2 *c, u32 bits)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, LEAF_FEATURES, 0);

	if (!e)
		return -ENOENT;
	e->ecx |= bits;
	return 0;
}

u32 cpuid_kvm_features(const struct kvm_cpuid2 *c)
{
	const struct kvm_cpuid_entry2 *e;

	e = cpuid_find(c, LEAF_KVM_FEATURES, 0);
	return e ? e->eax : 0;
}

int cpuid_kvm_set_hints(struct kvm_cpuid2 *c, u32 hints)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, LEAF_KVM_FEATURES, 0);

	if (!e)
		return -ENOENT;
	e->edx |= hints;
	return 0;
}

u32 cpuid_kvm_pv_mask(unsigned pv)
{
	static const struct {
		unsigned pv;
		u32 bits;
	} map[] = {
		{ PV_KVMCLOCK, 1U << KVM_FEATURE_CLOCKSOURCE |
			       1U << KVM_FEATURE_CLOCKSOURCE2 |
			       1U << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT },
		{ PV_EOI, 1U << KVM_FEATURE_PV_EOI },
		{ PV_TLB_FLUSH, 1U << KVM_FEATURE_PV_TLB_FLUSH },
		{ PV_SCHED_YIELD, 1U << KVM_FEATURE_PV_SCHED_YIELD },
		{ PV_SPINLOCKS, 1U << KVM_FEATURE_PV_UNHALT },
		{ PV_STEAL_TIME, 1U << KVM_FEATURE_STEAL_TIME },
		{ PV_SEND_IPI, 1U << KVM_FEATURE_PV_SEND_IPI },
		{ PV_POLL_CONTROL, 1U << KVM_FEATURE_POLL_CONTROL },
	};
	u32 mask = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(map); i++)
		if (pv & map[i].pv)
			mask |= map[i].bits;
	return mask;
}

static int cmp_entry(const void *pa, const void *pb)
{
	const struct kvm_cpuid_entry2 *a = pa, *b = pb;

	if (a->function != b->function)
		return a->function < b->function ? -1 : 1;
	if (a->index != b->index)
		return a->index < b->index ? -1 : 1;
	return 0;
}

/*
 * Refuse a topology the supported set cannot describe: APIC IDs of 255 and
 * up only exist with x2APIC, and the guest learns them from leaf 0xb.
 */
static int check_x2apic(const struct kvm_cpuid2 *sup, const struct smp_topo *t,
			u32 max_basic)
{
	const struct kvm_cpuid_entry2 *e = cpuid_find(sup, LEAF_FEATURES, 0);

	if (!smp_topo_needs_x2apic(t, t->nr_cpus))
		return 0;
	if (!(e->ecx & CPUID_1_ECX_X2APIC)) {
		pr_err("cpuid: %u vCPUs need x2APIC, which KVM does not offer",
		       t->nr_cpus);
		return -EOPNOTSUPP;
	}
	if (max_basic < LEAF_EXT_TOPO) {
		pr_err("cpuid: %u vCPUs need CPUID leaf 0xb, but KVM's leaves stop at %#x",
		       t->nr_cpus, max_basic);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Copy the supported set, less the leaves rebuilt from scratch. */
static void copy_supported(struct cpuid_build *b, const struct kvm_cpuid2 *sup)
{
	u32 i;

	b->c->nent = 0;
	for (i = 0; i < sup->nent; i++) {
		u32 fn = sup->entries[i].function;

		if (fn == LEAF_EXT_TOPO || fn == LEAF_EXT_TOPO_V2)
			continue;
		b->c->entries[b->c->nent++] = sup->entries[i];
	}
}

int cpuid_for_vcpu(const struct kvm_cpuid2 *sup, const struct smp_topo *t,
		   unsigned int idx, struct kvm_cpuid2 **out)
{
	struct cpuid_build b = { .t = t };
	const struct kvm_cpuid_entry2 *leaf0;
	u32 max_basic;
	int ret;

	*out = NULL;
	if (idx >= t->nr_cpus) {
		pr_err("cpuid: vCPU %u does not exist (%u vCPUs)", idx,
		       t->nr_cpus);
		return -EINVAL;
	}
	leaf0 = cpuid_find(sup, LEAF_BASIC_MAX, 0);
	if (!leaf0 || !cpuid_find(sup, LEAF_FEATURES, 0)) {
		pr_err("cpuid: the supported CPUID set lacks leaf 0 or 1");
		return -EINVAL;
	}
	max_basic = leaf0->eax;
	ret = check_x2apic(sup, t, max_basic);
	if (ret)
		return ret;

	b.cap = sup->nent + CPUID_MAX_ADDED;
	b.c = calloc(1, sizeof(*b.c) + b.cap * sizeof(b.c->entries[0]));
	if (!b.c)
		return -ENOMEM;
	b.vendor = cpuid_vendor(sup);
	b.apic_id = smp_topo_apic_id(t, idx);
	smp_topo_pos(t, idx, &b.pos);
	copy_supported(&b, sup);

	fix_leaf1(&b);
	fix_cache_leaf(&b, LEAF_CACHE);
	fix_cache_leaf(&b, LEAF_AMD_CACHE);
	if (b.vendor == CPUID_VENDOR_AMD)
		fix_amd(&b);
	ret = 0;
	if (max_basic >= LEAF_EXT_TOPO)
		ret = add_ext_topo(&b, LEAF_EXT_TOPO);
	if (!ret && max_basic >= LEAF_EXT_TOPO_V2)
		ret = add_ext_topo(&b, LEAF_EXT_TOPO_V2);
	if (!ret)
		ret = fix_kvm_leaves(&b);
	if (ret)
		goto free_table;	/* cannot happen: cap counts every addition */

	qsort(b.c->entries, b.c->nent, sizeof(b.c->entries[0]), cmp_entry);
	*out = b.c;
	return 0;

free_table:
	pr_err("cpuid: table for vCPU %u overflowed", idx);
	free(b.c);
	return ret;
}
