// SPDX-License-Identifier: GPL-2.0
/*
 * ACPI fixed power-management hardware, the part of it a VM needs to power
 * off, reset and hear the power button.
 *
 * PM1a_EVT (4 bytes): PM1_STS, write-1-to-clear, then PM1_EN. PM1a_CNT
 * (2 bytes): SCI_EN always reads 1 (there is no SMI_CMD port, so ACPI mode
 * is permanent); SLP_EN with SLP_TYP = ACPI_S5_SLP_TYP powers off; other
 * sleep types are refused with a warning (S1-S4 are not offered in the
 * DSDT either). Reset register (1 byte): ACPI_RESET_VALUE resets.
 *
 * The only event source is the power button (acpi_pm_power_button): it sets
 * PWRBTN_STS, and the SCI, a level-triggered line, is high while any status
 * bit with an event source has its enable bit set. There is no PM timer,
 * no sleep/wake (WAK_STS never sets) and no GPE block; the enable bits of
 * the other fixed events are stored but nothing ever sets their status.
 *
 * Registers accept 1-, 2- and 4-byte accesses at any offset inside a block,
 * byte lane by byte lane, and act once per access, so a 16-bit write of
 * PM1_CNT and two 8-bit writes (low byte first) end the same way.
 *
 * The device model (devices.h): while paused the SCI stays where it was;
 * a power button pressed then latches PWRBTN_STS and the SCI follows at
 * resume. Save writes PM1_STS, PM1_EN, PM1_CNT and the SCI's level; load
 * refuses bits no register of this device can hold and sets the SCI to
 * the saved level.
 */
#include <stdio.h>
#include <string.h>

#include "lib/layout.h"
#include "vmm/device_manager.h"
#include "vmm/devices/acpi_pm.h"

/* Status bits an event could set and which can raise the SCI. */
#define SCI_SOURCES	(ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | \
			 ACPI_PM1_SLPBTN | ACPI_PM1_RTC)
#define EN_WRITABLE	(SCI_SOURCES | ACPI_PM1_PCIEXP_WAKE)
#define STS_SET		ACPI_PM1_PWRBTN	/* the only event source */
#define CNT_KEPT	(ACPI_PM1_BM_RLD | ACPI_PM1_SLP_TYP_MASK)

#define EVT_EN_OFF	2	/* PM1_EN's offset in the event block */

static void sci_set(struct acpi_pm *pm, bool level)
{
	if (level != pm->sci_level) {
		pm->sci_level = level;
		irq_line_set(&pm->sci, level);
	}
}

/* A paused PM leaves the SCI alone; resume calls this again. */
static void update_sci(struct acpi_pm *pm)
{
	if (!pm->paused)
		sci_set(pm, pm->sts & pm->en & SCI_SOURCES);
}

/* Byte lane b (0 or 1) of a 16-bit register. */
static u8 lane(u16 v, unsigned int b)
{
	return v >> (8 * b);
}

static u16 merge_lane(u16 v, unsigned int b, u8 byte)
{
	return (v & ~(0xff << (8 * b))) | byte << (8 * b);
}

static void evt_read(void *opaque, u64 off, u8 *d, u32 len)
{
	struct acpi_pm *pm = opaque;
	u32 i;

	pthread_mutex_lock(&pm->lock);
	for (i = 0; i < len; i++) {
		u64 o = off + i;

		if (o < EVT_EN_OFF)
			d[i] = lane(pm->sts, o);
		else if (o < ACPI_PM1A_EVT_LEN)
			d[i] = lane(pm->en, o - EVT_EN_OFF);
		else
			d[i] = 0xff;
	}
	pthread_mutex_unlock(&pm->lock);
}

static void evt_write(void *opaque, u64 off, const u8 *d, u32 len)
{
	struct acpi_pm *pm = opaque;
	u16 clear = 0, en;
	u32 i;

	pthread_mutex_lock(&pm->lock);
	en = pm->en;
	for (i = 0; i < len; i++) {
		u64 o = off + i;

		if (o < EVT_EN_OFF)
			clear |= d[i] << (8 * o);
		else if (o < ACPI_PM1A_EVT_LEN)
			en = merge_lane(en, o - EVT_EN_OFF, d[i]);
	}
	pm->sts &= ~clear;
	pm->en = en & EN_WRITABLE;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

static void cnt_read(void *opaque, u64 off, u8 *d, u32 len)
{
	struct acpi_pm *pm = opaque;
	u32 i;

	pthread_mutex_lock(&pm->lock);
	for (i = 0; i < len; i++) {
		u64 o = off + i;

		d[i] = o < ACPI_PM1A_CNT_LEN ?
		       lane(pm->cnt | ACPI_PM1_SCI_EN, o) : 0xff;
	}
	pthread_mutex_unlock(&pm->lock);
}

static void enter_sleep(struct acpi_pm *pm, unsigned int typ)
{
	if (typ == ACPI_S5_SLP_TYP) {
		pr_info("acpi: guest entered S5, powering off");
		vm_control_exit(&pm->ctl, VM_EXIT_POWEROFF);
		return;
	}
	if (dev_ratelimit_ok(&pm->rl, LOG_WARN))
		pr_warn("acpi: guest asked for sleep type %u; only S5 (%u) is supported",
			typ, ACPI_S5_SLP_TYP);
}

static void cnt_write(void *opaque, u64 off, const u8 *d, u32 len)
{
	struct acpi_pm *pm = opaque;
	u16 v;
	u32 i;

	pthread_mutex_lock(&pm->lock);
	v = pm->cnt;
	for (i = 0; i < len; i++)
		if (off + i < ACPI_PM1A_CNT_LEN)
			v = merge_lane(v, off + i, d[i]);
	/* SCI_EN is the hardware's; GBL_RLS has no firmware to signal. */
	pm->cnt = v & CNT_KEPT;
	if (v & ACPI_PM1_SLP_EN)
		enter_sleep(pm, (v & ACPI_PM1_SLP_TYP_MASK) >> ACPI_PM1_SLP_TYP_SHIFT);
	pthread_mutex_unlock(&pm->lock);
}

static void reset_read(void *opaque, u64 off, u8 *d, u32 len)
{
	memset(d, 0, len);
}

static void reset_write(void *opaque, u64 off, const u8 *d, u32 len)
{
	struct acpi_pm *pm = opaque;

	pthread_mutex_lock(&pm->lock);
	if (d[0] == ACPI_RESET_VALUE) {
		pr_info("acpi: guest wrote the reset register");
		vm_control_exit(&pm->ctl, VM_EXIT_RESET);
	} else if (dev_ratelimit_ok(&pm->rl, LOG_DEBUG)) {
		pr_debug("acpi: reset register write 0x%02x ignored", d[0]);
	}
	pthread_mutex_unlock(&pm->lock);
}

static const struct bus_ops evt_ops = { .read = evt_read, .write = evt_write };
static const struct bus_ops cnt_ops = { .read = cnt_read, .write = cnt_write };
static const struct bus_ops reset_ops = {
	.read = reset_read,
	.write = reset_write,
};

/* --- the device model (devices.h) --- */

static void acpi_pm_reset(struct device *d)
{
	struct acpi_pm *pm = container_of(d, struct acpi_pm, dev);

	pthread_mutex_lock(&pm->lock);
	pm->sts = pm->en = pm->cnt = 0;
	sci_set(pm, false);	/* lowering it raises nothing: even paused */
	pthread_mutex_unlock(&pm->lock);
}

static void acpi_pm_pause(struct device *d)
{
	struct acpi_pm *pm = container_of(d, struct acpi_pm, dev);

	pthread_mutex_lock(&pm->lock);
	pm->paused = true;
	pthread_mutex_unlock(&pm->lock);
}

/* The SCI catches up: a button pressed while paused raises it now. */
static void acpi_pm_resume(struct device *d)
{
	struct acpi_pm *pm = container_of(d, struct acpi_pm, dev);

	pthread_mutex_lock(&pm->lock);
	pm->paused = false;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

static int acpi_pm_save(struct device *d, struct state_writer *w)
{
	struct acpi_pm *pm = container_of(d, struct acpi_pm, dev);

	pthread_mutex_lock(&pm->lock);
	STATE_PUT(w, pm, sts);
	STATE_PUT(w, pm, en);
	STATE_PUT(w, pm, cnt);
	state_put_bool(w, "sci_level", pm->sci_level);
	pthread_mutex_unlock(&pm->lock);
	return w->err;
}

static int acpi_pm_load(struct device *d, struct state_reader *r)
{
	struct acpi_pm *pm = container_of(d, struct acpi_pm, dev);
	struct acpi_pm s;	/* the saved registers, taken once checked */

	if (STATE_GET(r, &s, sts) || STATE_GET(r, &s, en) ||
	    STATE_GET(r, &s, cnt) ||
	    state_get_bool(r, "sci_level", &s.sci_level))
		return -EINVAL;		/* r->why says which and why */
	if (s.sts & ~STS_SET)
		return state_refuse(r, "sts 0x%04x has bits no event of this device sets",
				    s.sts);
	if (s.en & ~EN_WRITABLE)
		return state_refuse(r, "en 0x%04x sets reserved bits", s.en);
	if (s.cnt & ~CNT_KEPT)
		return state_refuse(r, "cnt 0x%04x has bits the register does not keep",
				    s.cnt);
	pthread_mutex_lock(&pm->lock);
	pm->sts = s.sts;
	pm->en = s.en;
	pm->cnt = s.cnt;
	sci_set(pm, s.sci_level);
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

static void acpi_pm_destroy(struct device *d)
{
	pthread_mutex_destroy(&container_of(d, struct acpi_pm, dev)->lock);
}

static const struct device_ops acpi_pm_dev_ops = {
	.kind = "acpi-pm", .version = 1, .reset = acpi_pm_reset,
	.pause = acpi_pm_pause, .resume = acpi_pm_resume,
	.save = acpi_pm_save, .load = acpi_pm_load,
	.destroy = acpi_pm_destroy,
};

int acpi_pm_init(struct acpi_pm *pm, struct device_manager *dm,
		 const struct irq_line *sci, const struct vm_control *ctl)
{
	int err;

	memset(pm, 0, sizeof(*pm));
	snprintf(pm->dev.name, sizeof(pm->dev.name), "acpi-pm");
	pm->dev.ops = &acpi_pm_dev_ops;
	if (sci)
		pm->sci = *sci;
	if (ctl)
		pm->ctl = *ctl;
	err = pthread_mutex_init(&pm->lock, NULL);
	if (err)
		return -err;
	err = dm_bus_pio(dm, &pm->dev, ACPI_PM1A_EVT_PORT, ACPI_PM1A_EVT_LEN,
			 &evt_ops, pm);
	if (!err)
		err = dm_bus_pio(dm, &pm->dev, ACPI_PM1A_CNT_PORT,
				 ACPI_PM1A_CNT_LEN, &cnt_ops, pm);
	if (!err)
		err = dm_bus_pio(dm, &pm->dev, ACPI_RESET_PORT, 1, &reset_ops,
				 pm);
	if (!err)
		err = dm_add(dm, &pm->dev);
	if (err)
		pthread_mutex_destroy(&pm->lock);
	return err;
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->sts |= ACPI_PM1_PWRBTN;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}
