/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ACPI fixed power-management hardware: the PM1a event and control blocks
 * and the reset register (vmm/devices/acpi/pm.c), a device of the device
 * manager ("acpi-pm"). The FADT built for the guest must point at the
 * ports in layout.h and name ACPI_SCI_IRQ.
 */
#ifndef SMPVISOR_ACPI_PM_H
#define SMPVISOR_ACPI_PM_H

#include <pthread.h>

#include "lib/bus.h"
#include "lib/util.h"
#include "vmm/devices/devices.h"

/* PM1_STS / PM1_EN bits */
#define ACPI_PM1_TMR		0x0001
#define ACPI_PM1_BM_STS		0x0010
#define ACPI_PM1_GBL		0x0020
#define ACPI_PM1_PWRBTN		0x0100
#define ACPI_PM1_SLPBTN		0x0200
#define ACPI_PM1_RTC		0x0400
#define ACPI_PM1_PCIEXP_WAKE	0x4000
#define ACPI_PM1_WAK_STS	0x8000

/* PM1_CNT bits */
#define ACPI_PM1_SCI_EN		0x0001
#define ACPI_PM1_BM_RLD		0x0002
#define ACPI_PM1_GBL_RLS	0x0004
#define ACPI_PM1_SLP_TYP_SHIFT	10
#define ACPI_PM1_SLP_TYP_MASK	0x1c00
#define ACPI_PM1_SLP_EN		0x2000

struct device_manager;

struct acpi_pm {
	struct device dev;	/* "acpi-pm" */
	pthread_mutex_t lock;
	struct irq_line sci;
	struct vm_control ctl;
	u16 sts, en, cnt;
	bool sci_level;		/* last level sent to sci */
	bool paused;		/* the SCI holds still */
	struct dev_ratelimit rl;
};

/*
 * Set up the PM hardware, claim the PM1a event and control blocks and the
 * reset register on dm's port-I/O bus and add it to dm, which owns it from
 * then on. sci drives ACPI_SCI_IRQ, level-triggered, active high. 0 or
 * -errno, with nothing left to undo but claimed ranges of the (unsealed)
 * bus.
 */
int acpi_pm_init(struct acpi_pm *pm, struct device_manager *dm,
		 const struct irq_line *sci, const struct vm_control *ctl);
/*
 * The user pressed the power button: PWRBTN_STS, and SCI if enabled (at
 * resume if paused).
 */
void acpi_pm_power_button(struct acpi_pm *pm);

#endif
