/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest's physical address map and legacy port numbers, in one place so
 * the boot code, the ACPI tables and the devices always agree.
 */
#ifndef SMPVISOR_LAYOUT_H
#define SMPVISOR_LAYOUT_H

/* --- Low memory used by the boot path (all below 1 MiB) --- */
#define BOOT_GDT_ADDR		0x00000500ULL	/* flat GDT for the 64-bit entry */
#define BOOT_ZERO_PAGE_ADDR	0x00007000ULL	/* struct boot_params */
#define BOOT_PGTABLE_ADDR	0x00009000ULL	/* PML4, PDPT, PDs: identity map */
#define BOOT_PGTABLE_END	0x00010000ULL
#define BOOT_CMDLINE_ADDR	0x00020000ULL
#define BOOT_CMDLINE_MAX	0x00010000ULL	/* 64 KiB, less the kernel's own limit */
#define BOOT_STACK_TOP		0x0008ff00ULL
#define EBDA_START		0x0009fc00ULL	/* reserved from here to 1 MiB */
#define ACPI_TABLES_ADDR	0x000e0000ULL	/* RSDP found here by the legacy scan */
#define ACPI_TABLES_END		0x00100000ULL
#define KERNEL_LOAD_ADDR	0x00100000ULL	/* protected-mode kernel */

/* --- The 32-bit hole: [MMIO_HOLE_START, 4 GiB) is never RAM --- */
#define MMIO_HOLE_START		0xc0000000ULL
#define MMIO_HOLE_END		0x100000000ULL
#define PCI_MMIO32_START	0xc0000000ULL	/* 32-bit BAR window */
#define PCI_MMIO32_END		0xe0000000ULL
#define PCI_ECAM_ADDR		0xe0000000ULL	/* 256 buses x 1 MiB */
#define PCI_ECAM_SIZE		0x10000000ULL
#define IOAPIC_ADDR		0xfec00000ULL
#define KVM_IDENTITY_MAP_ADDR	0xfeffc000ULL	/* one page */
#define KVM_TSS_ADDR		0xfeffd000ULL	/* three pages */
#define LAPIC_ADDR		0xfee00000ULL
#define HIGH_RAM_START		0x100000000ULL	/* RAM above the hole */

/* --- Legacy ports --- */
#define I8042_DATA_PORT		0x60
#define I8042_CMD_PORT		0x64
#define CMOS_PORT		0x70	/* index 0x70, data 0x71 */
#define CMOS_CENTURY_REG	0x32	/* named by the FADT CENTURY field */
#define POST_PORT		0x80	/* Linux's I/O delay port: writes ignored */
#define PVPANIC_PORT		0x505	/* QEMU's ISA pvpanic, ACPI QEMU0001 */
#define COM1_PORT		0x3f8
#define COM1_IRQ		4
#define PCI_CONFIG_PORT		0xcf8	/* 0xcf8..0xcff, issue 5 */

/* --- ACPI fixed hardware (PM1a blocks, reset register) --- */
#define ACPI_PM1A_EVT_PORT	0x600	/* 4 bytes: PM1_STS, PM1_EN */
#define ACPI_PM1A_EVT_LEN	4
#define ACPI_PM1A_CNT_PORT	0x604	/* 2 bytes: PM1_CNT */
#define ACPI_PM1A_CNT_LEN	2
#define ACPI_RESET_PORT		0x608	/* 1 byte: write ACPI_RESET_VALUE */
#define ACPI_RESET_VALUE	0x01
#define ACPI_SCI_IRQ		9	/* level, active high (MADT override) */
#define ACPI_S5_SLP_TYP		5	/* \_S5 value; PM1_CNT.SLP_TYP bits 12:10 */

#define IOAPIC_NR_PINS		24

#endif
