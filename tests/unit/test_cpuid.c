// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for smp/cpuid.c against fabricated KVM_GET_SUPPORTED_CPUID
 * sets modelled on a two-socket Intel server and an AMD EPYC host (their
 * topology leaves describe the *host*, as KVM's do). Each vCPU's table is
 * read back the way a guest kernel would and must describe the guest
 * topology: its own APIC ID everywhere, consistent counts, caches shared by
 * exactly the right vCPUs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <asm/kvm_para.h>

#include "smp/cpuid.h"
#include "smp/vcpu_setup.h"

#define SIG	KVM_CPUID_FLAG_SIGNIFCANT_INDEX

/* "GenuineIntel" / "AuthenticAMD" as EBX, EDX, ECX of leaf 0. */
#define INTEL_EBX 0x756e6547
#define INTEL_EDX 0x49656e69
#define INTEL_ECX 0x6c65746e
#define AMD_EBX 0x68747541
#define AMD_EDX 0x69746e65
#define AMD_ECX 0x444d4163

#define E(fn, idx, fl, a, b, c, d) \
	{ .function = fn, .index = idx, .flags = fl, \
	  .eax = a, .ebx = b, .ecx = c, .edx = d }

/* Host: Intel server, 56 cores x 2 threads per socket, this CPU APIC 0x47. */
static const struct kvm_cpuid_entry2 intel_host[] = {
	E(0x0, 0, 0, 0x1f, INTEL_EBX, INTEL_ECX, INTEL_EDX),
	E(0x1, 0, 0, 0x000806f8, 0x47400800, 0x76fa3223, 0x178bfbff),
	E(0x2, 0, 0, 0x00feff01, 0x000000f0, 0, 0),
	E(0x4, 0, SIG, 0xfc004121, 0x02c0003f, 0x0000003f, 0),
	E(0x4, 1, SIG, 0xfc004122, 0x01c0003f, 0x0000003f, 0),
	E(0x4, 2, SIG, 0xfc004143, 0x03c0003f, 0x000007ff, 0),
	E(0x4, 3, SIG, 0xfc1fc163, 0x03c0003f, 0x0000bfff, 0x4),
	E(0x4, 4, SIG, 0, 0, 0, 0),
	E(0x7, 0, SIG, 0x1, 0xf1bf2fbb, 0x1b415f6e, 0xa4010c10),
	E(0x7, 1, SIG, 0x00001c30, 0, 0, 0),
	E(0xb, 0, SIG, 1, 2, 0x100, 0x47),
	E(0xb, 1, SIG, 7, 112, 0x201, 0x47),
	E(0xb, 2, SIG, 0, 0, 2, 0x47),
	E(0xd, 0, SIG, 0x2e7, 0x2e7, 0xa88, 0),
	E(0x1f, 0, SIG, 1, 2, 0x100, 0x47),
	E(0x1f, 1, SIG, 7, 112, 0x201, 0x47),
	E(0x1f, 2, SIG, 0, 0, 2, 0x47),
	E(0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d),
	E(0x40000001, 0, 0, 0x01007afb, 0, 0, 0),
	E(0x80000000, 0, 0, 0x80000008, 0, 0, 0),
	E(0x80000001, 0, 0, 0, 0, 0x00000121, 0x2c100800),
	E(0x80000008, 0, 0, 0x00003934, 0, 0, 0),
};

/* Host: AMD EPYC, 64 cores x 2 threads per socket, this CPU APIC 0x2a. */
static const struct kvm_cpuid_entry2 amd_host[] = {
	E(0x0, 0, 0, 0x10, AMD_EBX, AMD_ECX, AMD_EDX),
	E(0x1, 0, 0, 0x00a00f11, 0x2a800800, 0x7ef8320b, 0x178bfbff),
	E(0x7, 0, SIG, 0, 0x219c97a9, 0x0040068c, 0),
	E(0xb, 0, SIG, 1, 2, 0x100, 0x2a),
	E(0xb, 1, SIG, 7, 128, 0x201, 0x2a),
	E(0xb, 2, SIG, 0, 0, 2, 0x2a),
	E(0xd, 0, SIG, 0x207, 0x340, 0x988, 0),
	E(0x80000000, 0, 0, 0x80000021, AMD_EBX, AMD_ECX, AMD_EDX),
	E(0x80000001, 0, 0, 0x00a00f11, 0x40000000, 0x75c237ff, 0x2fd3fbff),
	E(0x80000008, 0, 0, 0x00003030, 0x111ef657, 0x0000707f, 0),
	E(0x8000001d, 0, SIG, 0x00004121, 0x01c0003f, 0x3f, 0),
	E(0x8000001d, 1, SIG, 0x00004122, 0x01c0003f, 0x3f, 0),
	E(0x8000001d, 2, SIG, 0x00004143, 0x01c0003f, 0x3ff, 0x2),
	E(0x8000001d, 3, SIG, 0x0001c163, 0x03c0003f, 0x7fff, 0x1),
	E(0x8000001d, 4, SIG, 0, 0, 0, 0),
	E(0x8000001e, 0, 0, 0x2a, 0x0115, 0x0, 0),
};

static struct kvm_cpuid2 *make_set(const struct kvm_cpuid_entry2 *e, u32 n)
{
	struct kvm_cpuid2 *c = malloc(sizeof(*c) + n * sizeof(*e));

	assert_non_null(c);
	c->nent = n;
	c->padding = 0;
	memcpy(c->entries, e, n * sizeof(*e));
	return c;
}

static struct kvm_cpuid2 *intel_set(void)
{
	return make_set(intel_host, ARRAY_SIZE(intel_host));
}

static struct kvm_cpuid2 *amd_set(void)
{
	return make_set(amd_host, ARRAY_SIZE(amd_host));
}

static const struct kvm_cpuid_entry2 *get(const struct kvm_cpuid2 *c, u32 fn,
					  u32 idx)
{
	const struct kvm_cpuid_entry2 *e = cpuid_find(c, fn, idx);

	if (!e)
		fail_msg("leaf %#x.%u missing", fn, idx);
	return e;
}

static unsigned int count_order(u32 n)
{
	unsigned int b = 0;

	while ((1ULL << b) < n)
		b++;
	return b;
}

/*
 * Leaf 0xb or 0x1f as a guest reads it: walk the subleaves to the invalid
 * one, take the SMT and core shifts, split the x2APIC ID and compare with
 * where smp_topo_pos says the vCPU is.
 */
static void check_ext_topo(const struct kvm_cpuid2 *c, u32 fn,
			   const struct smp_topo *t, unsigned int idx, u32 apic)
{
	const struct kvm_cpuid_entry2 *e;
	struct smp_topo_pos pos;
	u32 smt_shift = 0, pkg_shift = 0, sub, type;

	smp_topo_pos(t, idx, &pos);
	for (sub = 0;; sub++) {
		e = get(c, fn, sub);
		assert_int_equal(e->edx, apic);
		assert_int_equal(e->ecx & 0xff, sub);
		type = e->ecx >> 8 & 0xff;
		if (!type)
			break;
		if (type == 1) {
			smt_shift = e->eax & 0x1f;
			assert_int_equal(e->ebx & 0xffff, t->threads);
		} else {
			assert_int_equal(type, 2);
			pkg_shift = e->eax & 0x1f;
			assert_int_equal(e->ebx & 0xffff, t->threads * t->cores);
		}
	}
	assert_int_equal(sub, 2);
	assert_int_equal(e->eax, 0);
	assert_int_equal(e->ebx, 0);
	assert_null(cpuid_find(c, fn, 3));
	assert_int_equal(apic & ((1U << smt_shift) - 1), pos.thread);
	assert_int_equal((apic >> smt_shift) &
			 ((1U << (pkg_shift - smt_shift)) - 1), pos.core);
	assert_int_equal(apic >> pkg_shift, pos.socket);
}

/* Leaf 1 of vCPU idx against the supported leaf 1. */
static void check_leaf1(const struct kvm_cpuid2 *c, const struct kvm_cpuid2 *sup,
			const struct smp_topo *t, u32 apic)
{
	const struct kvm_cpuid_entry2 *e = get(c, 1, 0), *s = get(sup, 1, 0);
	unsigned int logical = t->threads * t->cores;
	u32 ids = 1U << (t->smt_bits + t->core_bits);

	assert_int_equal(e->eax, s->eax);
	assert_int_equal(e->ebx >> 24, apic & 0xff);
	assert_int_equal(e->ebx >> 16 & 0xff, ids > 255 ? 255 : ids);
	assert_int_equal(e->ebx & 0xffff, s->ebx & 0xffff);
	assert_int_equal(!!(e->edx & CPUID_1_EDX_HTT), logical > 1);
	assert_int_equal(e->edx & ~CPUID_1_EDX_HTT, s->edx & ~CPUID_1_EDX_HTT);
	assert_true(e->ecx & CPUID_1_ECX_HYPERVISOR);
	assert_int_equal(e->ecx & ~CPUID_1_ECX_HYPERVISOR,
			 s->ecx & ~CPUID_1_ECX_HYPERVISOR);
	/* Old-style decode: the package is the ID over its width. */
	if (!smp_topo_needs_x2apic(t, t->nr_cpus) && logical > 1)
		assert_int_equal((e->ebx >> 24) >> count_order(e->ebx >> 16 & 0xff),
				 apic >> (t->smt_bits + t->core_bits));
}

/* AMD leaves 0x80000001, 0x80000008 and 0x8000001e. */
static void check_amd(const struct kvm_cpuid2 *c, const struct kvm_cpuid2 *sup,
		      const struct smp_topo *t, unsigned int idx, u32 apic)
{
	const struct kvm_cpuid_entry2 *e, *s;
	struct smp_topo_pos pos;
	unsigned int logical = t->threads * t->cores;

	smp_topo_pos(t, idx, &pos);
	e = get(c, 0x80000001, 0);
	s = get(sup, 0x80000001, 0);
	assert_int_equal(!!(e->ecx & CPUID_80000001_ECX_CMP_LEGACY),
			 t->cores > 1);
	assert_int_equal(e->ecx | 2, s->ecx | 2);

	e = get(c, 0x80000008, 0);
	s = get(sup, 0x80000008, 0);
	assert_int_equal(e->eax, s->eax);
	assert_int_equal((e->ecx & 0xff) + 1, logical > 256 ? 256 : logical);
	assert_int_equal(e->ecx >> 12 & 0xf, t->smt_bits + t->core_bits);
	assert_int_equal(e->ecx & ~0xf0ffU, s->ecx & ~0xf0ffU);

	e = get(c, 0x8000001e, 0);
	assert_int_equal(e->eax, apic);
	assert_int_equal((e->ebx >> 8 & 0xff) + 1, t->threads);
	assert_int_equal(e->ebx & 0xff, (apic >> t->smt_bits) & 0xff);
	assert_int_equal(e->ecx & 0xff, pos.socket);
}

/* Every entry outside the rewritten leaves is the supported one. */
static bool rewritten(u32 fn)
{
	static const u32 leaves[] = {
		0x1, 0x4, 0xb, 0x1f, 0x40000000, 0x80000001, 0x80000008,
		0x8000001d, 0x8000001e,
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(leaves); i++)
		if (leaves[i] == fn)
			return true;
	return false;
}

static void check_passthrough(const struct kvm_cpuid2 *c,
			      const struct kvm_cpuid2 *sup)
{
	const struct kvm_cpuid_entry2 *s, *e;
	u32 i;

	for (i = 0; i < sup->nent; i++) {
		s = &sup->entries[i];
		if (rewritten(s->function))
			continue;
		e = get(c, s->function, s->index);
		assert_memory_equal(e, s, sizeof(*e));
	}
	/* Sorted, and no leaf/subleaf twice. */
	for (i = 1; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *a = &c->entries[i - 1];
		const struct kvm_cpuid_entry2 *b = &c->entries[i];

		assert_true(a->function < b->function ||
			    (a->function == b->function && a->index < b->index));
	}
}

static void check_kvm_leaves(const struct kvm_cpuid2 *c,
			     const struct kvm_cpuid2 *sup)
{
	const struct kvm_cpuid_entry2 *e = get(c, 0x40000000, 0), *s;

	assert_true(e->eax >= 0x40000001);
	assert_memory_equal(&e->ebx, "KVMK", 4);
	assert_memory_equal(&e->ecx, "VMKV", 4);
	assert_memory_equal(&e->edx, "M\0\0\0", 4);
	s = cpuid_find(sup, 0x40000001, 0);
	assert_int_equal(get(c, 0x40000001, 0)->eax, s ? s->eax : 0);
}

/*
 * The cache ID a guest derives from a deterministic-cache subleaf: the
 * APIC ID with the bits of the sharing count cleared.
 */
static u32 cache_id(const struct kvm_cpuid_entry2 *e, u32 apic)
{
	return apic >> count_order((e->eax >> 14 & 0xfff) + 1);
}

/*
 * Leaf 4 / 0x8000001d across all vCPUs: two vCPUs get the same L1/L2 ID
 * exactly when they are threads of one core, the same L3 ID exactly when
 * they are in one socket.
 */
static void check_caches(struct kvm_cpuid2 **tabs, const struct smp_topo *t,
			 u32 fn)
{
	const struct kvm_cpuid_entry2 *ea, *eb;
	struct smp_topo_pos pa, pb;
	unsigned int a, b, sub, level;
	bool same, want;

	for (sub = 0; (ea = cpuid_find(tabs[0], fn, sub)) && (ea->eax & 0x1f);
	     sub++) {
		level = ea->eax >> 5 & 7;
		if (fn == 4)	/* a 6-bit field: 64 at most */
			assert_int_equal((ea->eax >> 26) + 1,
					 MIN(1U << t->core_bits, 64U));
		for (a = 0; a < t->nr_cpus; a++) {
			ea = get(tabs[a], fn, sub);
			smp_topo_pos(t, a, &pa);
			for (b = a + 1; b < t->nr_cpus; b++) {
				eb = get(tabs[b], fn, sub);
				smp_topo_pos(t, b, &pb);
				same = cache_id(ea, smp_topo_apic_id(t, a)) ==
				       cache_id(eb, smp_topo_apic_id(t, b));
				want = pa.socket == pb.socket &&
				       (level >= 3 || pa.core == pb.core);
				if (same != want)
					fail_msg("leaf %#x.%u (L%u): vCPUs %u and %u %s",
						 fn, sub, level, a, b,
						 same ? "share it" : "do not share it");
			}
		}
	}
	assert_true(sub >= 3);
}

/* Build every vCPU's table from sup for the topology and check them all. */
static void check_topology(const struct kvm_cpuid2 *sup, unsigned int n,
			   unsigned int s, unsigned int c, unsigned int th)
{
	struct kvm_cpuid2 *copy = make_set(sup->entries, sup->nent);
	struct kvm_cpuid2 **tabs = calloc(n, sizeof(*tabs));
	u32 max_basic = get(sup, 0, 0)->eax, *ids = calloc(n, sizeof(*ids));
	bool amd = cpuid_vendor(sup) == CPUID_VENDOR_AMD;
	struct smp_topo t;
	struct smp_topo_pos pos;
	unsigned int i, j;

	assert_non_null(tabs);
	assert_non_null(ids);
	assert_int_equal(smp_topo_init(&t, n, s, c, th), 0);
	for (i = 0; i < n; i++) {
		u32 apic = smp_topo_apic_id(&t, i);

		assert_int_equal(cpuid_for_vcpu(sup, &t, i, &tabs[i]), 0);
		check_leaf1(tabs[i], sup, &t, apic);
		if (max_basic >= 0xb)
			check_ext_topo(tabs[i], 0xb, &t, i, apic);
		else
			assert_null(cpuid_find(tabs[i], 0xb, 0));
		if (max_basic >= 0x1f)
			check_ext_topo(tabs[i], 0x1f, &t, i, apic);
		else
			assert_null(cpuid_find(tabs[i], 0x1f, 0));
		if (amd) {
			check_amd(tabs[i], sup, &t, i, apic);
		} else {	/* AMD-only fields stay as KVM gave them */
			assert_memory_equal(get(tabs[i], 0x80000001, 0),
					    get(sup, 0x80000001, 0),
					    sizeof(struct kvm_cpuid_entry2));
			assert_memory_equal(get(tabs[i], 0x80000008, 0),
					    get(sup, 0x80000008, 0),
					    sizeof(struct kvm_cpuid_entry2));
		}
		check_kvm_leaves(tabs[i], sup);
		check_passthrough(tabs[i], sup);
		/* The ID the guest reads, and its decomposition. */
		ids[i] = max_basic >= 0xb ? get(tabs[i], 0xb, 0)->edx :
			 get(tabs[i], 1, 0)->ebx >> 24;
		assert_int_equal(smp_topo_decode(&t, ids[i], &pos), 0);
		assert_int_equal(pos.idx, i);
	}
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (ids[i] == ids[j])
				fail_msg("vCPUs %u and %u share APIC ID %u", i,
					 j, ids[i]);
	check_caches(tabs, &t, amd ? 0x8000001d : 0x4);
	/* The supported set is only read. */
	assert_int_equal(copy->nent, sup->nent);
	assert_memory_equal(copy->entries, sup->entries,
			    sup->nent * sizeof(sup->entries[0]));
	for (i = 0; i < n; i++)
		free(tabs[i]);
	free(tabs);
	free(ids);
	free(copy);
}

static void run_topologies(const struct kvm_cpuid2 *sup)
{
	check_topology(sup, 1, 1, 1, 1);
	check_topology(sup, 4, 1, 4, 1);
	check_topology(sup, 8, 2, 2, 2);
	check_topology(sup, 6, 1, 3, 2);
	check_topology(sup, 12, 2, 3, 2);
	check_topology(sup, 9, 3, 1, 3);
	check_topology(sup, 300, 2, 75, 2);
}

static void test_intel(void **state)
{
	struct kvm_cpuid2 *sup = intel_set();

	assert_int_equal(cpuid_vendor(sup), CPUID_VENDOR_INTEL);
	run_topologies(sup);
	free(sup);
}

static void test_amd(void **state)
{
	struct kvm_cpuid2 *sup = amd_set();

	assert_int_equal(cpuid_vendor(sup), CPUID_VENDOR_AMD);
	run_topologies(sup);
	free(sup);
}

/* A part whose basic leaves stop at 0xd: no 0x1f, even if KVM listed one. */
static void test_no_leaf_1f(void **state)
{
	struct kvm_cpuid2 *sup = intel_set(), *c;
	struct smp_topo t;

	cpuid_find(sup, 0, 0)->eax = 0xd;
	assert_int_equal(smp_topo_init(&t, 8, 2, 2, 2), 0);
	assert_int_equal(cpuid_for_vcpu(sup, &t, 5, &c), 0);
	assert_null(cpuid_find(c, 0x1f, 0));
	assert_int_equal(get(c, 0, 0)->eax, 0xd);	/* not raised */
	free(c);
	check_topology(sup, 8, 2, 2, 2);
	check_topology(sup, 300, 2, 75, 2);
	free(sup);
}

/* Without leaf 0xb only leaf 1 carries the ID: fine below 255 only. */
static void test_no_leaf_b(void **state)
{
	struct kvm_cpuid2 *sup = intel_set(), *c = NULL;
	struct smp_topo t;

	cpuid_find(sup, 0, 0)->eax = 0xa;
	check_topology(sup, 8, 2, 2, 2);
	assert_int_equal(smp_topo_init(&t, 300, 2, 75, 2), 0);
	assert_int_equal(cpuid_for_vcpu(sup, &t, 0, &c), -EOPNOTSUPP);
	assert_null(c);
	free(sup);
}

static void test_no_x2apic(void **state)
{
	struct kvm_cpuid2 *sup = intel_set(), *c = NULL;
	struct smp_topo t;

	cpuid_find(sup, 1, 0)->ecx &= ~CPUID_1_ECX_X2APIC;
	check_topology(sup, 8, 2, 2, 2);
	assert_int_equal(smp_topo_init(&t, 256, 1, 256, 1), 0);
	assert_int_equal(cpuid_for_vcpu(sup, &t, 3, &c), -EOPNOTSUPP);
	assert_null(c);
	free(sup);
}

static void test_bad_input(void **state)
{
	struct kvm_cpuid2 *sup = intel_set(), *c = NULL;
	struct kvm_cpuid2 *empty = make_set(intel_host, 0);
	struct smp_topo t;

	assert_int_equal(smp_topo_init(&t, 4, 1, 4, 1), 0);
	assert_int_equal(cpuid_for_vcpu(sup, &t, 4, &c), -EINVAL);
	assert_null(c);
	assert_int_equal(cpuid_for_vcpu(empty, &t, 0, &c), -EINVAL);
	assert_null(c);
	assert_int_equal(cpuid_vendor(empty), CPUID_VENDOR_OTHER);
	/* Only leaf 0. */
	free(empty);
	empty = make_set(intel_host, 1);
	assert_int_equal(cpuid_for_vcpu(empty, &t, 0, &c), -EINVAL);
	free(empty);
	free(sup);
}

/* cpuid_find honours the significant-index flag. */
static void test_find(void **state)
{
	struct kvm_cpuid2 *sup = intel_set();

	assert_int_equal(get(sup, 4, 2)->eax, 0xfc004143);
	assert_null(cpuid_find(sup, 4, 5));
	assert_int_equal(get(sup, 0x80000008, 7)->eax, 0x3934);
	assert_null(cpuid_find(sup, 0x5, 0));
	free(sup);
}

static void test_kvm_features(void **state)
{
	struct kvm_cpuid2 *sup = intel_set(), *amd = amd_set(), *c;
	struct smp_topo t;

	assert_int_equal(smp_topo_init(&t, 2, 1, 2, 1), 0);
	assert_int_equal(cpuid_for_vcpu(sup, &t, 1, &c), 0);
	assert_int_equal(get(c, 0x40000001, 0)->eax, 0x01007afb);
	assert_int_equal(cpuid_kvm_clear_features(c, 1U << 3 | 1U << 24), 0);
	assert_int_equal(get(c, 0x40000001, 0)->eax, 0x00007af3);
	/* What the VMM implements itself (bit 15, MSI_EXT_DEST_ID) is added. */
	assert_int_equal(cpuid_kvm_set_vmm_features(c, 1U << 15), 0);
	assert_int_equal(get(c, 0x40000001, 0)->eax, 0x0000faf3);
	free(c);
	assert_int_equal(cpuid_kvm_set_vmm_features(amd, 1U << 15), -ENOENT);
	assert_int_equal(cpuid_kvm_clear_features(sup, 0), 0);
	assert_int_equal(cpuid_kvm_clear_features(amd, 1), -ENOENT);

	/* The AMD set has no KVM leaves: both are added, offering nothing. */
	assert_int_equal(cpuid_for_vcpu(amd, &t, 0, &c), 0);
	assert_int_equal(get(c, 0x40000000, 0)->eax, 0x40000001);
	assert_int_equal(get(c, 0x40000001, 0)->eax, 0);
	/* 0xb: 3 subleaves dropped, 3 rebuilt; 2 KVM leaves added. */
	assert_int_equal(c->nent, amd->nent + 2);
	free(c);
	free(amd);
	free(sup);
}

/* What the VMM adds to leaf 1 ECX is added, and nothing else changes. */
static void test_leaf1_ecx(void **state)
{
	struct kvm_cpuid2 *sup = intel_set(), *c, *none;
	struct smp_topo t;
	u32 ecx;

	assert_int_equal(smp_topo_init(&t, 2, 1, 2, 1), 0);
	assert_int_equal(cpuid_for_vcpu(sup, &t, 0, &c), 0);
	ecx = get(c, 1, 0)->ecx;
	assert_false(ecx & CPUID_1_ECX_TSC_DEADLINE);
	assert_int_equal(cpuid_set_leaf1_ecx(c, CPUID_1_ECX_TSC_DEADLINE), 0);
	assert_int_equal(get(c, 1, 0)->ecx, ecx | CPUID_1_ECX_TSC_DEADLINE);
	assert_int_equal(c->nent, sup->nent);
	free(c);
	none = calloc(1, sizeof(*none));
	assert_non_null(none);
	assert_int_equal(cpuid_set_leaf1_ecx(none, CPUID_1_ECX_TSC_DEADLINE), -ENOENT);
	free(none);
	free(sup);
}

/*
 * The options the VMM's vCPU set-up applies to each table: the switched
 * off PV features hidden, MSI_EXT_DEST_ID and x2APIC mode only for a
 * topology that needs x2APIC, the realtime hint only when dedicated, no
 * TSC-deadline bit where KVM cannot be asked (no VM here).
 */
static void test_vcpu_setup_opts(void **state)
{
	struct kvm_vm vm = { .sys_fd = -1, .vm_fd = -1 };
	struct vcpu_setup_opts o;
	struct smp_topo t;

	assert_int_equal(smp_topo_init(&t, 4, 1, 4, 1), 0);
	vcpu_setup_opts_init(&o, &vm, &t, 4, ~(unsigned)PV_ALL, false);
	assert_int_equal(o.kvm_clear, 0);
	assert_int_equal(o.kvm_vmm_features, 0);
	assert_int_equal(o.kvm_hints, 0);
	assert_false(o.x2apic_mode);
	assert_false(o.tsc_deadline);

	vcpu_setup_opts_init(&o, &vm, &t, 4, PV_KVMCLOCK | PV_SEND_IPI, true);
	assert_int_equal(o.kvm_clear, cpuid_kvm_pv_mask(PV_KVMCLOCK | PV_SEND_IPI));
	assert_int_equal(o.kvm_hints, 1U << KVM_HINTS_REALTIME);

	assert_int_equal(smp_topo_init(&t, 300, 1, 300, 1), 0);
	vcpu_setup_opts_init(&o, &vm, &t, 300, 0, false);
	assert_true(o.x2apic_mode);
	assert_int_equal(o.kvm_vmm_features, 1U << KVM_FEATURE_MSI_EXT_DEST_ID);
	assert_int_equal(o.kvm_hints, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_intel),
		cmocka_unit_test(test_amd),
		cmocka_unit_test(test_no_leaf_1f),
		cmocka_unit_test(test_no_leaf_b),
		cmocka_unit_test(test_no_x2apic),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_kvm_features),
		cmocka_unit_test(test_leaf1_ecx),
		cmocka_unit_test(test_vcpu_setup_opts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
