// SPDX-License-Identifier: GPL-2.0
/*
 * The DSDT's AML (see acpi.h): the soft-off package, COM1, pvpanic and the PCI
 * root bridge with its interrupt routing. vmm/acpi.c wraps it in the
 * table; the AML encoder is vmm/aml.c.
 */
#include "lib/layout.h"
#include "vmm/acpi.h"
#include "vmm/aml.h"
#include "vmm/pci.h"

/* The DSDT's AML: \_S5, the COM1 device and pvpanic. */
static void dsdt_platform(struct aml *a)
{
	struct aml_mark scope, dev, method, pkg, crs;

	/* Soft-off: SLP_TYP for PM1a_CNT and PM1b_CNT, two reserved. */
	aml_name_decl(a, "\\_S5");
	pkg = aml_package_begin(a, 4);
	aml_int(a, ACPI_S5_SLP_TYP);
	aml_int(a, ACPI_S5_SLP_TYP);
	aml_int(a, 0);
	aml_int(a, 0);
	aml_end(a, pkg);

	scope = aml_scope_begin(a, "\\_SB");
	dev = aml_device_begin(a, "COM1");
	aml_name_decl(a, "_HID");
	aml_eisaid(a, "PNP0501");
	aml_name_decl(a, "_UID");
	aml_int(a, 1);
	method = aml_method_begin(a, "_STA", 0, false);
	aml_return(a);
	aml_int(a, 0x0f);	/* present, enabled, shown, functioning */
	aml_end(a, method);
	aml_name_decl(a, "_CRS");
	crs = aml_restemplate_begin(a);
	aml_res_io(a, true, COM1_PORT, COM1_PORT, 1, 8);
	aml_res_irq_noflags(a, COM1_IRQ);
	aml_end(a, crs);
	aml_end(a, dev);

	/* pvpanic: Linux binds its driver to this _HID and takes the port. */
	dev = aml_device_begin(a, "PEVT");
	aml_name_decl(a, "_HID");
	aml_string(a, "QEMU0001");
	aml_name_decl(a, "_CRS");
	crs = aml_restemplate_begin(a);
	aml_res_io(a, true, PVPANIC_PORT, PVPANIC_PORT, 1, 1);
	aml_end(a, crs);
	aml_end(a, dev);
	aml_end(a, scope);
}

/*
 * The PCI root bridge: ids, _CRS (what it decodes) and _PRT (INTx of every
 * slot straight to IOAPIC GSIs, as pci_intx_gsi swizzles), plus a PNP0C02 device
 * reserving the ECAM window, which Linux wants before it trusts the MCFG.
 */
static void dsdt_pci(struct aml *a, const struct acpi_machine *mc)
{
	struct aml_mark scope, dev, crs, prt, pkg;
	unsigned slot, pin;

	scope = aml_scope_begin(a, "\\_SB");
	dev = aml_device_begin(a, "PCI0");
	aml_name_decl(a, "_HID");
	aml_eisaid(a, "PNP0A08");
	aml_name_decl(a, "_CID");
	aml_eisaid(a, "PNP0A03");
	aml_name_decl(a, "_UID");
	aml_int(a, 0);
	aml_name_decl(a, "_SEG");
	aml_int(a, 0);
	aml_name_decl(a, "_BBN");
	aml_int(a, 0);
	aml_name_decl(a, "_ADR");
	aml_int(a, 0);
	aml_name_decl(a, "_CRS");
	crs = aml_restemplate_begin(a);
	aml_res_word_bus(a, 0, (u16)(PCI_ECAM_SIZE / MiB - 1));
	aml_res_io(a, true, PCI_CONFIG_PORT, PCI_CONFIG_PORT, 1, 8);
	aml_res_word_io(a, 0, PCI_CONFIG_PORT - 1);
	aml_res_word_io(a, PCI_CONFIG_PORT + 8, 0xffff);
	aml_res_dword_mem(a, (u32)PCI_MMIO32_START, (u32)(PCI_MMIO32_END - 1),
			  false);
	if (mc->pci_mmio64_size)
		aml_res_qword_mem(a, mc->pci_mmio64_base,
				  mc->pci_mmio64_base + mc->pci_mmio64_size - 1,
				  true);
	aml_end(a, crs);
	aml_name_decl(a, "_PRT");
	prt = aml_package_begin(a, 31 * 4);
	for (slot = 1; slot < 32; slot++) {
		for (pin = 0; pin < 4; pin++) {
			pkg = aml_package_begin(a, 4);
			aml_int(a, (u64)slot << 16 | 0xffff);
			aml_int(a, pin);
			aml_int(a, 0);	/* no link device: a GSI */
			aml_int(a, pci_intx_gsi(slot, pin));
			aml_end(a, pkg);
		}
	}
	aml_end(a, prt);
	aml_end(a, dev);

	dev = aml_device_begin(a, "MRES");
	aml_name_decl(a, "_HID");
	aml_eisaid(a, "PNP0C02");
	aml_name_decl(a, "_UID");
	aml_int(a, 1);
	aml_name_decl(a, "_CRS");
	crs = aml_restemplate_begin(a);
	aml_res_mem32_fixed(a, (u32)PCI_ECAM_ADDR, (u32)PCI_ECAM_SIZE);
	aml_end(a, crs);
	aml_end(a, dev);
	aml_end(a, scope);
}

void acpi_dsdt_aml(struct aml *a, const struct acpi_machine *mc)
{
	dsdt_platform(a);
	if (mc->pci_ecam)
		dsdt_pci(a, mc);
}
