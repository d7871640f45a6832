/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the tiny hand-assembled guests of tests/kvm and bench/: lay
 * out a flat 64-bit environment in guest memory (GDT, TSS, identity page
 * tables with 2 MiB pages) and fill in the vCPU state that enters it
 * directly in long mode through KVM_SET_SREGS/KVM_SET_REGS, with no
 * firmware or mode switches in the guest.
 *
 * cpl 0 runs the payload as a kernel would; cpl 3 runs it as user code
 * (CS/SS DPL 3, user pages, IOPL 3 so port I/O still exits to the host),
 * which is what a PVM backend can run natively. There is no IDT: any
 * exception ends in a triple fault, which the host sees as
 * KVM_EXIT_SHUTDOWN.
 *
 * Every test program is its own binary, so these are static inline.
 */
#ifndef SMPVISOR_TESTS_KVM_PAYLOAD_H
#define SMPVISOR_TESTS_KVM_PAYLOAD_H

#include <errno.h>
#include <string.h>
#include <linux/kvm.h>

#include "util.h"

/* Guest physical layout; guest virtual addresses are the same. */
#define PL_GDT		0x1000ULL
#define PL_TSS		0x2000ULL
#define PL_PML4		0x3000ULL
#define PL_PDPT		0x4000ULL
#define PL_PD		0x5000ULL	/* one PD: at most 1 GiB mapped */
#define PL_CODE		0x8000ULL
#define PL_CODE_MAX	0x8000ULL	/* payload bytes, at most */
#define PL_VCPU_AREA	0x10000ULL	/* per-vCPU data + stack blocks */
#define PL_VCPU_AREA_SIZE 0x2000ULL	/* data at the start, stack at the end */
#define PL_PAGE_2M	(2 * MiB)
#define PL_MEM_MAX	(1 * GiB)

#define PL_SEL_CODE0	0x08
#define PL_SEL_DATA0	0x10
#define PL_SEL_CODE3	0x1b	/* index 3, RPL 3 */
#define PL_SEL_DATA3	0x23	/* index 4, RPL 3 */
#define PL_SEL_TSS	0x28
#define PL_GDT_ENTRIES	7	/* null, 4 segments, 16-byte TSS */
#define PL_TSS_LIMIT	0x67	/* the 104-byte 64-bit TSS */

#define PL_CR0_PE	(1ULL << 0)
#define PL_CR0_MP	(1ULL << 1)
#define PL_CR0_ET	(1ULL << 4)
#define PL_CR0_NE	(1ULL << 5)
#define PL_CR0_WP	(1ULL << 16)
#define PL_CR0_PG	(1ULL << 31)
#define PL_CR4_PAE	(1ULL << 5)
#define PL_EFER_LME	(1ULL << 8)
#define PL_EFER_LMA	(1ULL << 10)
#define PL_RFLAGS_FIXED	(1ULL << 1)
#define PL_RFLAGS_IOPL3	(3ULL << 12)

#define PL_PTE_P	(1ULL << 0)
#define PL_PTE_RW	(1ULL << 1)
#define PL_PTE_US	(1ULL << 2)
#define PL_PTE_PS	(1ULL << 7)

/* Guest memory needed for nr vCPU blocks, in whole 2 MiB pages. */
static inline u64 payload_mem_size(unsigned nr)
{
	return ALIGN_UP(PL_VCPU_AREA + (u64)nr * PL_VCPU_AREA_SIZE,
			PL_PAGE_2M);
}

/* Guest address of vCPU i's data block; its stack top is one block up. */
static inline u64 payload_vcpu_area(unsigned i)
{
	return PL_VCPU_AREA + (u64)i * PL_VCPU_AREA_SIZE;
}

/* An 8-byte code or data descriptor for a flat 4 GiB segment. */
static inline u64 payload_gdt_flat(bool code, int dpl)
{
	u64 access = 0x90 | ((u64)dpl << 5) | (code ? 0x0b : 0x03);
	u64 flags = code ? 0xa : 0xc;	/* G + L, or G + D/B */

	return 0xffffULL | (access << 40) | (0xfULL << 48) | (flags << 52);
}

/*
 * Write the GDT, the TSS and the page tables into guest memory mem
 * (mem_size bytes at guest physical 0) and copy the payload code to
 * PL_CODE. Pages are user-accessible only for cpl 3.
 */
static inline int payload_build(void *mem, u64 mem_size, int cpl,
				const u8 *code, size_t code_len)
{
	u64 *gdt = (u64 *)((u8 *)mem + PL_GDT);
	u64 *pml4 = (u64 *)((u8 *)mem + PL_PML4);
	u64 *pdpt = (u64 *)((u8 *)mem + PL_PDPT);
	u64 *pd = (u64 *)((u8 *)mem + PL_PD);
	u64 flags = PL_PTE_P | PL_PTE_RW | (cpl == 3 ? PL_PTE_US : 0);
	u64 a;

	if (mem_size % PL_PAGE_2M || mem_size > PL_MEM_MAX ||
	    mem_size < PL_VCPU_AREA || code_len > PL_CODE_MAX ||
	    (cpl != 0 && cpl != 3))
		return -EINVAL;
	memset(gdt, 0, PL_GDT_ENTRIES * 8);
	gdt[PL_SEL_CODE0 >> 3] = payload_gdt_flat(true, 0);
	gdt[PL_SEL_DATA0 >> 3] = payload_gdt_flat(false, 0);
	gdt[PL_SEL_CODE3 >> 3] = payload_gdt_flat(true, 3);
	gdt[PL_SEL_DATA3 >> 3] = payload_gdt_flat(false, 3);
	/* A busy 64-bit TSS (type 0xb), present; the base fits in 24 bits. */
	gdt[PL_SEL_TSS >> 3] = PL_TSS_LIMIT | (PL_TSS << 16) | (0x8bULL << 40);
	gdt[(PL_SEL_TSS >> 3) + 1] = 0;
	memset((u8 *)mem + PL_TSS, 0, 0x1000);
	/* I/O map base past the limit: no bitmap, IOPL alone decides. */
	*(u16 *)((u8 *)mem + PL_TSS + 102) = PL_TSS_LIMIT + 1;

	memset(pml4, 0, 0x1000);
	memset(pdpt, 0, 0x1000);
	memset(pd, 0, 0x1000);
	pml4[0] = PL_PDPT | flags;
	pdpt[0] = PL_PD | flags;
	for (a = 0; a < mem_size; a += PL_PAGE_2M)
		pd[a / PL_PAGE_2M] = a | flags | PL_PTE_PS;

	memcpy((u8 *)mem + PL_CODE, code, code_len);
	return 0;
}

static inline void payload_seg(struct kvm_segment *s, u16 sel, bool code,
			       int dpl)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = code ? 0xb : 0x3;	/* execute/read or read/write, accessed */
	s->present = 1;
	s->dpl = dpl;
	s->db = !code;
	s->s = 1;
	s->l = code;
	s->g = 1;
}

/*
 * Turn the reset state KVM_GET_SREGS returned into flat long mode at the
 * given CPL, keeping what KVM owns (APIC base, pending interrupts).
 */
static inline void payload_sregs(struct kvm_sregs *s, int cpl)
{
	u16 code_sel = cpl == 3 ? PL_SEL_CODE3 : PL_SEL_CODE0;
	u16 data_sel = cpl == 3 ? PL_SEL_DATA3 : PL_SEL_DATA0;

	payload_seg(&s->cs, code_sel, true, cpl);
	payload_seg(&s->ds, data_sel, false, cpl);
	s->es = s->fs = s->gs = s->ss = s->ds;

	memset(&s->tr, 0, sizeof(s->tr));
	s->tr.base = PL_TSS;
	s->tr.limit = PL_TSS_LIMIT;
	s->tr.selector = PL_SEL_TSS;
	s->tr.type = 0xb;
	s->tr.present = 1;

	s->gdt.base = PL_GDT;
	s->gdt.limit = PL_GDT_ENTRIES * 8 - 1;
	s->idt.base = 0;
	s->idt.limit = 0;

	s->cr0 = PL_CR0_PE | PL_CR0_MP | PL_CR0_ET | PL_CR0_NE | PL_CR0_WP |
		 PL_CR0_PG;
	s->cr3 = PL_PML4;
	s->cr4 = PL_CR4_PAE;
	s->efer = PL_EFER_LME | PL_EFER_LMA;
}

/* Entry registers: rip at the payload, rsp at the top of vCPU i's block. */
static inline void payload_regs(struct kvm_regs *r, int cpl, unsigned i)
{
	memset(r, 0, sizeof(*r));
	r->rip = PL_CODE;
	r->rsp = payload_vcpu_area(i) + PL_VCPU_AREA_SIZE;
	r->rbp = payload_vcpu_area(i);
	r->rflags = PL_RFLAGS_FIXED | (cpl == 3 ? PL_RFLAGS_IOPL3 : 0);
}

/* True when the state read back is long mode at the expected CPL. */
static inline bool payload_mode_ok(const struct kvm_sregs *s, int cpl)
{
	return (s->efer & PL_EFER_LMA) && (s->cr0 & PL_CR0_PG) && s->cs.l &&
	       s->cs.dpl == cpl && s->ss.dpl == cpl;
}

#endif
