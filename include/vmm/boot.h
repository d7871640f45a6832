/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Direct boot of an x86-64 Linux bzImage through the 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst): no firmware runs in the guest. We load
 * the kernel, initrd and command line, fill the zero page (struct
 * boot_params, with our e820 map), build identity page tables and a flat
 * GDT, and hand the vCPU register state that enters the kernel's 64-bit
 * entry point with paging on.
 *
 * Everything here writes guest memory and fills structs; the caller (who
 * owns the vCPU) moves the registers into KVM.
 */
#ifndef SMPVISOR_BOOT_H
#define SMPVISOR_BOOT_H

#include <asm/bootparam.h>

#include "lib/util.h"
#include "vmm/memory.h"

struct kvm_regs;
struct kvm_sregs;

/* The segment selectors the boot protocol requires (__BOOT_CS, __BOOT_DS). */
#define BOOT_CS_SELECTOR	0x10
#define BOOT_DS_SELECTOR	0x18
#define BOOT_GDT_ENTRIES	4
/* Oldest protocol with a 64-bit entry we can rely on (xloadflags, 2.12). */
#define BOOT_MIN_PROTOCOL	0x020c
/* The identity map covers [0, BOOT_IDENT_MAP_SIZE) with 2 MiB pages. */
#define BOOT_IDENT_MAP_SIZE	(4 * GiB)

/* What to boot. initrd may be NULL; cmdline NULL means empty. */
struct boot_cfg {
	const char *kernel;
	const char *initrd;
	/*
	 * Or files already open (read with pread, left open): a reset in
	 * place loads them again once the process may not open files.
	 * 0 means "open the path" (a config never hands fd 0 here).
	 */
	int kernel_fd, initrd_fd;
	const char *cmdline;
	u64 rsdp_gpa;		/* ACPI RSDP, 0 to let the guest scan for it */
};

/* Where things went; input to boot_setup_regs/boot_setup_sregs. */
struct boot_info {
	u16 protocol;		/* setup header version, e.g. 0x020f */
	u64 kernel_addr;	/* protected-mode kernel loaded here */
	u64 kernel_size;	/* bytes of it in the file */
	u64 kernel_end;		/* end of the area it decompresses into */
	u64 entry;		/* 64-bit entry: kernel_addr + 0x200 */
	u64 zero_page;
	u64 cmdline;
	u64 initrd_addr;	/* 0 without an initrd */
	u64 initrd_size;
	u64 pgtable;		/* CR3 */
	u64 gdt;
	u16 gdt_limit;
	u64 stack_top;
};

/*
 * Load cfg->kernel (and cfg->initrd) into m, which must be allocated, and
 * build the zero page, page tables and GDT. 0, or -errno after one pr_err
 * line naming the file and the problem.
 */
int boot_load_linux(struct guest_mem *m, const struct boot_cfg *cfg,
		    struct boot_info *bi);
/*
 * Fill tbl with the guest's e820 map (sorted, non-overlapping, adjacent
 * RAM merged). Returns the number of entries, or -ENOSPC if max is short.
 */
int boot_build_e820(const struct guest_mem *m, struct boot_e820_entry *tbl,
		    unsigned max);
/*
 * Turn the vCPU's special registers (as read from KVM) into the 64-bit
 * entry state: long mode, paging on bi->pgtable, GDT and flat segments.
 */
void boot_setup_sregs(const struct boot_info *bi, struct kvm_sregs *s);
/* Set the general registers for the entry: RIP, RSI = zero page, RSP. */
void boot_setup_regs(const struct boot_info *bi, struct kvm_regs *r);

#endif
