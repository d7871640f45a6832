/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ACPI tables for the guest, written into [ACPI_TABLES_ADDR,
 * ACPI_TABLES_END) where the legacy RSDP scan finds them:
 *
 *   RSDP (rev 2) -> XSDT and RSDT -> FADT (rev 6) -> DSDT (our AML), FACS
 *                                 -> MADT (LAPIC/x2APIC per vCPU, IOAPIC,
 *                                         SCI override, LINT1 NMI)
 *                                 -> SRAT + SLIT when nr_nodes > 0
 *                                 -> MCFG when pci_ecam is set
 *
 * The fixed hardware (PM1a event/control blocks, reset register, SCI) is
 * the one layout.h describes; ACPI is always enabled (no SMI_CMD).
 */
#ifndef SMPVISOR_ACPI_H
#define SMPVISOR_ACPI_H

#include "lib/util.h"
#include "vmm/memory.h"

/* APIC IDs from here on need x2APIC entries (255 is the xAPIC broadcast). */
#define ACPI_X2APIC_MIN_ID	255
#define ACPI_SLIT_LOCAL		10
#define ACPI_SLIT_REMOTE	20

struct acpi_machine {
	unsigned nr_cpus;
	const u32 *apic_ids;	/* nr_cpus unique APIC IDs, vCPU order */

	/*
	 * NUMA: with nr_nodes > 0 an SRAT maps each vCPU to cpu_node[i] and
	 * each guest memory region to its node field, and a SLIT gives the
	 * distances (distance[i * nr_nodes + j]; NULL means ACPI_SLIT_LOCAL
	 * on the diagonal and ACPI_SLIT_REMOTE elsewhere).
	 */
	unsigned nr_nodes;
	const u32 *cpu_node;
	const u8 *distance;

	/*
	 * PCI: an MCFG for the ECAM window at PCI_ECAM_ADDR (segment 0), and
	 * in the DSDT the root bridge \_SB.PCI0 (_CRS with the bus range, the
	 * I/O ports, the 32-bit window and the 64-bit one given here; _PRT
	 * for INTx) plus a motherboard device reserving the ECAM.
	 */
	bool pci_ecam;
	u64 pci_mmio64_base, pci_mmio64_size;
};

/*
 * Write all tables into guest memory (m must be allocated) and return the
 * RSDP's guest address in *rsdp_gpa. 0, -EINVAL for a bad machine
 * description, -ENOSPC if the tables outgrow their window, -ENOMEM.
 */
int acpi_build(struct guest_mem *m, const struct acpi_machine *mc,
	       u64 *rsdp_gpa);

struct aml;
/* The DSDT's definition block body (vmm/acpi_dsdt.c); errors stay in a. */
void acpi_dsdt_aml(struct aml *a, const struct acpi_machine *mc);

#endif
