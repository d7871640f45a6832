/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the tiny hand-assembled guests of tests/kvm and bench/: lay
 * out a flat 64-bit environment in guest memory (IDT, per-vCPU GDT and
 * TSS, identity page tables with 2 MiB pages) and fill in the vCPU state
 * that enters it directly in long mode through KVM_SET_SREGS/KVM_SET_REGS,
 * with no firmware or mode switches in the guest.
 *
 * cpl 0 runs the payload as a kernel would; cpl 3 runs it as user code
 * (CS/SS DPL 3, user pages, IOPL 3 and an I/O bitmap so port I/O still exits to the host),
 * which is what a PVM backend can run natively.
 *
 * Each vCPU has its own block: data, GDT, TSS, an exception stack and a
 * stack. A shared IDT sends the 32 CPU exceptions to CPL0 stubs that
 * report vector, error code, rip and cr2 on PL_PORT_EXC (four 32-bit
 * OUTs), so a guest fault is named instead of ending in a triple fault.
 *
 * Every test program is its own binary, so these are static inline.
 */
#ifndef SMPVISOR_TESTS_KVM_PAYLOAD_H
#define SMPVISOR_TESTS_KVM_PAYLOAD_H

#include <errno.h>
#include <string.h>
#include <linux/kvm.h>

#include "lib/util.h"

/* Guest physical layout; guest virtual addresses are the same. */
#define PL_IDT		0x1000ULL	/* 32 gates, shared */
#define PL_STUBS	0x2000ULL	/* exception stubs, 16 bytes each */
#define PL_STUB_SIZE	16
#define PL_EXC_COMMON	(PL_STUBS + 32 * PL_STUB_SIZE)
#define PL_PML4		0x3000ULL
#define PL_PDPT		0x4000ULL
#define PL_PD		0x5000ULL	/* one PD: at most 1 GiB mapped */
#define PL_CODE		0x8000ULL
#define PL_CODE_MAX	0x8000ULL	/* payload bytes, at most */
#define PL_VCPU_AREA	0x10000ULL	/* per-vCPU blocks from here */
#define PL_VCPU_AREA_SIZE 0x2000ULL
#define PL_PAGE_2M	(2 * MiB)
#define PL_MEM_MAX	(1 * GiB)

/* Offsets inside a vCPU block. */
#define PL_BLK_DATA	0x000	/* the payload's own data (rbp) */
#define PL_BLK_GDT	0x100
#define PL_BLK_TSS	0x200
#define PL_BLK_EXC_SP	0x1000	/* top of the exception stack (TSS.RSP0) */
#define PL_BLK_SP	0x2000	/* top of the stack */

#define PL_SEL_CODE0	0x08
#define PL_SEL_DATA0	0x10
#define PL_SEL_CODE3	0x1b	/* index 3, RPL 3 */
#define PL_SEL_DATA3	0x23	/* index 4, RPL 3 */
#define PL_SEL_TSS	0x28
#define PL_GDT_ENTRIES	7	/* null, 4 segments, 16-byte TSS */
/*
 * The 104-byte 64-bit TSS, then an I/O permission bitmap for ports
 * 0-0xff (all allowed) and its closing 0xff byte. PVM runs CPL3 code in
 * hardware user mode and checks the bitmap whatever IOPL says: without
 * it every port access from CPL3 takes #GP.
 */
#define PL_TSS_IOMAP	0x68
#define PL_TSS_IOPORTS	0x100
#define PL_TSS_LIMIT	(PL_TSS_IOMAP + PL_TSS_IOPORTS / 8)

/* The exception report port: vector, error code, rip, cr2, in order. */
#define PL_PORT_EXC	0xf0
#define PL_EXC_WORDS	4

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

/* Guest address of vCPU i's block (its data area is at the start). */
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

/* vCPU i's GDT and TSS, inside its own block. */
static inline void payload_build_cpu(u8 *mem, unsigned i)
{
	u64 blk = payload_vcpu_area(i), tss = blk + PL_BLK_TSS;
	u64 *gdt = (u64 *)(mem + blk + PL_BLK_GDT);
	u64 rsp0 = blk + PL_BLK_EXC_SP;
	u16 iomap = PL_TSS_IOMAP;

	memset(mem + blk, 0, PL_BLK_TSS + 0x100);
	gdt[PL_SEL_CODE0 >> 3] = payload_gdt_flat(true, 0);
	gdt[PL_SEL_DATA0 >> 3] = payload_gdt_flat(false, 0);
	gdt[PL_SEL_CODE3 >> 3] = payload_gdt_flat(true, 3);
	gdt[PL_SEL_DATA3 >> 3] = payload_gdt_flat(false, 3);
	/* A busy 64-bit TSS (type 0xb), present; the base fits in 32 bits. */
	gdt[PL_SEL_TSS >> 3] = PL_TSS_LIMIT | ((tss & 0xffffff) << 16) |
			       (0x8bULL << 40) | ((tss >> 24) << 56);
	/* RSP0 at offset 4; the I/O map (zeroed above: all allowed). */
	memcpy(mem + tss + 4, &rsp0, sizeof(rsp0));
	memcpy(mem + tss + 102, &iomap, sizeof(iomap));
	mem[tss + PL_TSS_IOMAP + PL_TSS_IOPORTS / 8] = 0xff;
}

/*
 * IDT entry vector (of the 256 the IDT page holds): a 64-bit interrupt
 * gate to handler, present, DPL0, type 0xe, CS PL_SEL_CODE0. A payload
 * with interrupt handlers of its own adds their gates after
 * payload_build and raises the IDT limit in its sregs.
 */
static inline void payload_gate(u8 *mem, unsigned vector, u64 handler)
{
	u8 *gate = mem + PL_IDT + vector * 16;
	u16 w;
	u32 d;

	memset(gate, 0, 16);
	w = handler & 0xffff;
	memcpy(gate, &w, 2);
	w = PL_SEL_CODE0;
	memcpy(gate + 2, &w, 2);
	gate[5] = 0x8e;
	w = (handler >> 16) & 0xffff;
	memcpy(gate + 6, &w, 2);
	d = handler >> 32;
	memcpy(gate + 8, &d, 4);
}

/*
 * The IDT and its stubs. Stub v (16 bytes at PL_STUBS + 16 v) is
 *	push	0		; only where the CPU pushes no error code
 *	push	v
 *	jmp	common
 * and the common tail reports the frame on PL_PORT_EXC:
 *	common:	pop rax; out 0xf0, eax		; vector
 *		pop rax; out 0xf0, eax		; error code
 *		pop rax; out 0xf0, eax		; rip, low 32 bits
 *		mov rax, cr2; out 0xf0, eax	; cr2, low 32 bits
 *		jmp common_end			; jmp $, never re-entered
 */
static inline void payload_build_idt(u8 *mem)
{
	/* #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP, #VC, #SX push error codes */
	const u32 has_err = 0x60227d00;
	static const u8 common[] = {
		0x58, 0xe7, PL_PORT_EXC, 0x58, 0xe7, PL_PORT_EXC,
		0x58, 0xe7, PL_PORT_EXC, 0x0f, 0x20, 0xd0, 0xe7, PL_PORT_EXC,
		0xeb, 0xfe,
	};
	unsigned v;

	memset(mem + PL_IDT, 0, 0x1000);
	memset(mem + PL_STUBS, 0x90, 0x1000);	/* nop padding */
	memcpy(mem + PL_EXC_COMMON, common, sizeof(common));
	for (v = 0; v < 32; v++) {
		u64 stub = PL_STUBS + v * PL_STUB_SIZE;
		u8 *p = mem + stub;
		int32_t rel;

		if (!(has_err >> v & 1)) {
			*p++ = 0x6a;	/* push imm8 */
			*p++ = 0;
		}
		*p++ = 0x6a;
		*p++ = v;
		*p++ = 0xe9;	/* jmp rel32 */
		rel = (int32_t)(PL_EXC_COMMON - (stub + (p - (mem + stub)) + 4));
		memcpy(p, &rel, 4);
		payload_gate(mem, v, stub);
	}
}

/*
 * Write the IDT, the page tables and each of nr vCPUs' GDT and TSS into
 * guest memory mem (mem_size bytes at guest physical 0) and copy the
 * payload code to PL_CODE. Pages are user-accessible only for cpl 3.
 */
static inline int payload_build(void *mem, u64 mem_size, int cpl,
				unsigned nr, const u8 *code, size_t code_len)
{
	u64 *pml4 = (u64 *)((u8 *)mem + PL_PML4);
	u64 *pdpt = (u64 *)((u8 *)mem + PL_PDPT);
	u64 *pd = (u64 *)((u8 *)mem + PL_PD);
	u64 flags = PL_PTE_P | PL_PTE_RW | (cpl == 3 ? PL_PTE_US : 0);
	unsigned i;
	u64 a;

	if (mem_size % PL_PAGE_2M || mem_size > PL_MEM_MAX ||
	    mem_size < payload_mem_size(nr) || code_len > PL_CODE_MAX ||
	    (cpl != 0 && cpl != 3))
		return -EINVAL;
	payload_build_idt(mem);
	for (i = 0; i < nr; i++)
		payload_build_cpu(mem, i);

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
 * given CPL for vCPU i, keeping what KVM owns (APIC base, pending irqs).
 */
static inline void payload_sregs(struct kvm_sregs *s, int cpl, unsigned i)
{
	u16 code_sel = cpl == 3 ? PL_SEL_CODE3 : PL_SEL_CODE0;
	u16 data_sel = cpl == 3 ? PL_SEL_DATA3 : PL_SEL_DATA0;
	u64 blk = payload_vcpu_area(i);

	payload_seg(&s->cs, code_sel, true, cpl);
	payload_seg(&s->ds, data_sel, false, cpl);
	s->es = s->fs = s->gs = s->ss = s->ds;

	memset(&s->tr, 0, sizeof(s->tr));
	s->tr.base = blk + PL_BLK_TSS;
	s->tr.limit = PL_TSS_LIMIT;
	s->tr.selector = PL_SEL_TSS;
	s->tr.type = 0xb;
	s->tr.present = 1;

	s->gdt.base = blk + PL_BLK_GDT;
	s->gdt.limit = PL_GDT_ENTRIES * 8 - 1;
	s->idt.base = PL_IDT;
	s->idt.limit = 32 * 16 - 1;

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
	r->rsp = payload_vcpu_area(i) + PL_BLK_SP;
	r->rbp = payload_vcpu_area(i) + PL_BLK_DATA;
	r->rflags = PL_RFLAGS_FIXED | (cpl == 3 ? PL_RFLAGS_IOPL3 : 0);
}

/* Mnemonic of CPU exception vector v, for messages. */
static inline const char *payload_exc_name(u32 v)
{
	static const char *const names[32] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
		"#DF", "?", "#TS", "#NP", "#SS", "#GP", "#PF", "?",
		"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "?", "?",
		"?", "?", "?", "?", "#HV", "#VC", "#SX", "?",
	};

	return v < 32 ? names[v] : "?";
}

/* True when the state read back is long mode at the expected CPL. */
static inline bool payload_mode_ok(const struct kvm_sregs *s, int cpl)
{
	return (s->efer & PL_EFER_LMA) && (s->cr0 & PL_CR0_PG) && s->cs.l &&
	       s->cs.dpl == cpl && s->ss.dpl == cpl;
}

#endif
