// SPDX-License-Identifier: GPL-2.0
/*
 * The legacy devices the state fuzz harness loads streams into (see
 * state_targets.h), each created into the manager as machine.c's
 * legacy_init does: COM1 with a line that goes nowhere and no output fd,
 * the i8042 and ACPI PM with no machine to stop, pvpanic with nobody to
 * tell. The table's order is
 * the seeds' target byte minus one (mkcorpus_state_legacy.py).
 */
#include <stdlib.h>

#include "lib/layout.h"
#include "state_targets.h"
#include "vmm/devices/acpi_pm.h"
#include "vmm/devices/legacy.h"
#include "vmm/devices/uart.h"

static void no_line(void *opaque, u32 gsi, int level)
{
}

static void no_exit(void *opaque, enum vm_exit_reason why)
{
}

static const struct vm_control no_ctl = { no_exit, NULL };

/*
 * Each device is calloc'ed into *ctx (freed after dm_destroy); a failed
 * create stops the harness, so its memory need not be.
 */
static int create_uart(struct device_manager *dm, void **ctx)
{
	struct irq_line irq = { no_line, NULL, COM1_IRQ };
	struct uart *u = *ctx = calloc(1, sizeof(*u));

	return u ? uart_init(u, dm, &irq, -1) : -ENOMEM;
}

static int create_i8042(struct device_manager *dm, void **ctx)
{
	struct i8042 *k = *ctx = calloc(1, sizeof(*k));

	return k ? i8042_init(k, dm, &no_ctl) : -ENOMEM;
}

static int create_cmos(struct device_manager *dm, void **ctx)
{
	struct cmos *c = *ctx = calloc(1, sizeof(*c));

	return c ? cmos_init(c, dm) : -ENOMEM;
}

static int create_acpi_pm(struct device_manager *dm, void **ctx)
{
	struct irq_line sci = { no_line, NULL, ACPI_SCI_IRQ };
	struct acpi_pm *pm = *ctx = calloc(1, sizeof(*pm));

	return pm ? acpi_pm_init(pm, dm, &sci, &no_ctl) : -ENOMEM;
}

static int create_post(struct device_manager *dm, void **ctx)
{
	struct post *p = *ctx = calloc(1, sizeof(*p));

	return p ? post_init(p, dm) : -ENOMEM;
}

static int create_pvpanic(struct device_manager *dm, void **ctx)
{
	struct pvpanic *p = *ctx = calloc(1, sizeof(*p));

	return p ? pvpanic_init(p, dm, NULL) : -ENOMEM;
}

/* New entries go last: the seeds name their target by its index. */
const struct state_target state_targets_legacy[] = {
	{ "com1", create_uart, free },
	{ "i8042", create_i8042, free },
	{ "cmos", create_cmos, free },
	{ "acpi-pm", create_acpi_pm, free },
	{ "post", create_post, free },
	{ "pvpanic", create_pvpanic, free },
};
const unsigned nr_state_targets_legacy = ARRAY_SIZE(state_targets_legacy);
