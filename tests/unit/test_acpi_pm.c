// SPDX-License-Identifier: GPL-2.0
/*
 * ACPI PM1a event/control blocks and reset register through a real
 * port-I/O bus: S5 powers off and other sleep types do not, the reset
 * register resets, the power button raises the SCI only while enabled and
 * until the guest clears the status (write-1-to-clear), and accesses of
 * every width at every offset land in the right bytes.
 *
 * As a device of the device model: a power button pressed while paused
 * latches its status and raises the SCI only at resume; the PM saved
 * with enable bits, a sleep type and a pending button status loads into
 * a fresh instance in a fresh manager, which then reads the same through
 * the ports, has the SCI at the saved level, and goes on alike; tampered
 * streams are refused with their reason and leave it reset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dev_test.h"
#include "lib/layout.h"
#include "vmm/devices/acpi_pm.h"

#define PM1_STS		(ACPI_PM1A_EVT_PORT + 0)
#define PM1_EN		(ACPI_PM1A_EVT_PORT + 2)
#define PM1_CNT		ACPI_PM1A_CNT_PORT

struct fixture {
	struct bus pio;
	struct device_manager dm;
	struct acpi_pm pm;
	enum vm_exit_reason why;
	int exits;
	int sci;
	int sci_calls;
	u32 sci_gsi;
};

static void rec_exit(void *opaque, enum vm_exit_reason why)
{
	struct fixture *f = opaque;

	f->why = why;
	f->exits++;
}

static void rec_sci(void *opaque, u32 gsi, int level)
{
	struct fixture *f = opaque;

	f->sci = level;
	f->sci_gsi = gsi;
	f->sci_calls++;
}

static u32 in(struct fixture *f, u16 port, u32 len)
{
	u8 d[4] = { 0 };

	assert_true(bus_dispatch(&f->pio, port, d, len, false));
	return d[0] | d[1] << 8 | d[2] << 16 | (u32)d[3] << 24;
}

static void out(struct fixture *f, u16 port, u32 v, u32 len)
{
	u8 d[4] = { v, v >> 8, v >> 16, v >> 24 };

	assert_true(bus_dispatch(&f->pio, port, d, len, true));
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct irq_line sci;
	struct vm_control ctl;

	assert_non_null(f);
	sci = (struct irq_line){ rec_sci, f, ACPI_SCI_IRQ };
	ctl = (struct vm_control){ rec_exit, f };
	bus_init(&f->pio, "pio");
	dm_init(&f->dm, NULL, NULL, &f->pio, NULL);
	assert_int_equal(acpi_pm_init(&f->pm, &f->dm, &sci, &ctl), 0);
	bus_seal(&f->pio);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	dm_destroy(&f->dm);
	bus_free(&f->pio);
	free(f);
	return 0;
}

static u16 slp(unsigned int typ, bool en)
{
	return typ << ACPI_PM1_SLP_TYP_SHIFT | (en ? ACPI_PM1_SLP_EN : 0);
}

static void test_sci_en_always_set(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(in(f, PM1_CNT, 2) & ACPI_PM1_SCI_EN, ACPI_PM1_SCI_EN);
	out(f, PM1_CNT, 0, 2);
	assert_int_equal(in(f, PM1_CNT, 2), ACPI_PM1_SCI_EN);
	assert_int_equal(in(f, PM1_STS, 2), 0);
	assert_int_equal(in(f, PM1_EN, 2), 0);
}

static void test_s5_powers_off(void **state)
{
	struct fixture *f = *state;

	/* The way Linux does it: SLP_TYP first, then SLP_EN with it. */
	out(f, PM1_CNT, slp(ACPI_S5_SLP_TYP, false) | 1, 2);
	assert_int_equal(f->exits, 0);
	assert_int_equal(in(f, PM1_CNT, 2),
			 slp(ACPI_S5_SLP_TYP, false) | ACPI_PM1_SCI_EN);
	out(f, PM1_CNT, slp(ACPI_S5_SLP_TYP, true) | 1, 2);
	assert_int_equal(f->exits, 1);
	assert_int_equal(f->why, VM_EXIT_POWEROFF);
	/* SLP_EN is write-only. */
	assert_int_equal(in(f, PM1_CNT, 2) & ACPI_PM1_SLP_EN, 0);
}

static void test_s5_by_byte_writes(void **state)
{
	struct fixture *f = *state;
	u16 v = slp(ACPI_S5_SLP_TYP, true);

	out(f, PM1_CNT, v & 0xff, 1);
	assert_int_equal(f->exits, 0);
	out(f, PM1_CNT + 1, v >> 8, 1);
	assert_int_equal(f->exits, 1);
	assert_int_equal(f->why, VM_EXIT_POWEROFF);
}

static void test_other_sleep_types_ignored(void **state)
{
	struct fixture *f = *state;
	unsigned int typ;

	for (typ = 0; typ < 8; typ++) {
		if (typ == ACPI_S5_SLP_TYP)
			continue;
		out(f, PM1_CNT, slp(typ, true), 2);
	}
	assert_int_equal(f->exits, 0);
	/* S5 type without SLP_EN is not a request either. */
	out(f, PM1_CNT, slp(ACPI_S5_SLP_TYP, false), 2);
	assert_int_equal(f->exits, 0);
}

static void test_reset_register(void **state)
{
	struct fixture *f = *state;

	out(f, ACPI_RESET_PORT, ACPI_RESET_VALUE ^ 0xff, 1);
	assert_int_equal(f->exits, 0);
	out(f, ACPI_RESET_PORT, ACPI_RESET_VALUE, 1);
	assert_int_equal(f->exits, 1);
	assert_int_equal(f->why, VM_EXIT_RESET);
	assert_int_equal(in(f, ACPI_RESET_PORT, 1), 0);
	/* The register is one byte: a word access is not ours. */
	{
		u8 d[2] = { ACPI_RESET_VALUE, 0 };

		assert_false(bus_dispatch(&f->pio, ACPI_RESET_PORT, d, 2, true));
	}
	assert_int_equal(f->exits, 1);
}

static void test_power_button_sci(void **state)
{
	struct fixture *f = *state;

	/* Disabled: status sets, no SCI. */
	acpi_pm_power_button(&f->pm);
	assert_int_equal(in(f, PM1_STS, 2), ACPI_PM1_PWRBTN);
	assert_int_equal(f->sci, 0);
	assert_int_equal(f->sci_calls, 0);
	/* Enabling with status pending raises it. */
	out(f, PM1_EN, ACPI_PM1_PWRBTN, 2);
	assert_int_equal(f->sci, 1);
	assert_int_equal(f->sci_gsi, ACPI_SCI_IRQ);
	/* Writing 0s clears nothing; writing another bit clears only it. */
	out(f, PM1_STS, 0, 2);
	out(f, PM1_STS, ACPI_PM1_TMR | ACPI_PM1_WAK_STS, 2);
	assert_int_equal(in(f, PM1_STS, 2), ACPI_PM1_PWRBTN);
	assert_int_equal(f->sci, 1);
	/* Write 1 to clear: SCI drops. */
	out(f, PM1_STS, ACPI_PM1_PWRBTN, 2);
	assert_int_equal(in(f, PM1_STS, 2), 0);
	assert_int_equal(f->sci, 0);
	/* Enabled first, then pressed: raised at once. */
	acpi_pm_power_button(&f->pm);
	assert_int_equal(f->sci, 1);
	/* Masking lowers it with the status still set. */
	out(f, PM1_EN, 0, 2);
	assert_int_equal(f->sci, 0);
	assert_int_equal(in(f, PM1_STS, 2), ACPI_PM1_PWRBTN);
	out(f, PM1_STS, 0xffff, 2);
	assert_int_equal(in(f, PM1_STS, 2), 0);
	assert_int_equal(f->sci_calls, 4);	/* only real edges */
}

static void test_access_widths(void **state)
{
	struct fixture *f = *state;

	out(f, PM1_EN, ACPI_PM1_PWRBTN | ACPI_PM1_RTC, 2);
	acpi_pm_power_button(&f->pm);
	/* One dword covers STS and EN. */
	assert_int_equal(in(f, PM1_STS, 4),
			 ACPI_PM1_PWRBTN | (u32)(ACPI_PM1_PWRBTN | ACPI_PM1_RTC) << 16);
	/* Single bytes, and a word straddling STS and EN. */
	assert_int_equal(in(f, PM1_STS + 1, 1), ACPI_PM1_PWRBTN >> 8);
	assert_int_equal(in(f, PM1_EN + 1, 1), (ACPI_PM1_PWRBTN | ACPI_PM1_RTC) >> 8);
	assert_int_equal(in(f, PM1_STS + 1, 2),
			 ACPI_PM1_PWRBTN >> 8 | (ACPI_PM1_PWRBTN & 0xff) << 8);
	/* Reserved EN bits do not stick. */
	out(f, PM1_EN, 0xffff, 2);
	assert_int_equal(in(f, PM1_EN, 2), 0x4721);
	/* A dword write: clear PWRBTN_STS and set EN in one go. */
	out(f, PM1_STS, ACPI_PM1_PWRBTN | (u32)ACPI_PM1_PWRBTN << 16, 4);
	assert_int_equal(in(f, PM1_STS, 4), (u32)ACPI_PM1_PWRBTN << 16);
	assert_int_equal(f->sci, 0);
	/* A byte write to EN's high byte only. */
	out(f, PM1_EN + 1, 0, 1);
	assert_int_equal(in(f, PM1_EN, 2), 0);
	/* Reads that leave the block are refused by the bus. */
	{
		u8 d[4];

		assert_false(bus_dispatch(&f->pio, PM1_EN, d, 4, false));
		assert_false(bus_dispatch(&f->pio, PM1_CNT + 1, d, 2, false));
	}
}

static void test_random_pokes(void **state)
{
	struct fixture *f = *state;
	static const u32 lens[] = { 1, 2, 4 };
	unsigned int seed = 99;
	int i;

	for (i = 0; i < 200000; i++) {
		u32 len = lens[rand_r(&seed) % 3];
		u16 port = ACPI_PM1A_EVT_PORT + rand_r(&seed) % 10;
		u8 d[4] = { rand_r(&seed), rand_r(&seed), rand_r(&seed),
			    rand_r(&seed) };

		bus_dispatch(&f->pio, port, d, len, rand_r(&seed) & 1);
		if (rand_r(&seed) % 100 == 0)
			acpi_pm_power_button(&f->pm);
		/* The SCI always follows STS & EN. */
		assert_int_equal(f->sci,
				 !!(f->pm.sts & f->pm.en & ACPI_PM1_PWRBTN));
		assert_true(f->exits == 0 || f->why == VM_EXIT_POWEROFF ||
			    f->why == VM_EXIT_RESET);
	}
	assert_int_equal(in(f, PM1_CNT, 2) & ACPI_PM1_SCI_EN, ACPI_PM1_SCI_EN);
}

/* --- the device model --- */

/* PWRBTN and RTC events enabled, a sleep type written without SLP_EN. */
static void enable_events(struct fixture *f)
{
	out(f, PM1_EN, ACPI_PM1_PWRBTN | ACPI_PM1_RTC, 2);
	out(f, PM1_CNT, 3 << ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_BM_RLD, 2);
}

/* a's state loaded into a fresh, paused machine (the caller tears down). */
static struct fixture *loaded_copy(struct fixture *a, void **st)
{
	setup(st);
	copy_state(&a->dm, &((struct fixture *)*st)->dm);
	return *st;
}

static void test_button_while_paused_waits_for_resume(void **state)
{
	struct fixture *f = *state;

	enable_events(f);
	dm_pause(&f->dm);
	acpi_pm_power_button(&f->pm);
	/* Latched and readable, but no SCI while paused. */
	assert_int_equal(in(f, PM1_STS, 2), ACPI_PM1_PWRBTN);
	assert_int_equal(f->sci, 0);
	assert_int_equal(f->sci_calls, 0);
	dm_resume(&f->dm);
	assert_int_equal(f->sci, 1);
	assert_int_equal(f->sci_gsi, ACPI_SCI_IRQ);
	/* A guest write while paused moves no line either; resume does. */
	dm_pause(&f->dm);
	out(f, PM1_STS, ACPI_PM1_PWRBTN, 2);
	assert_int_equal(f->sci, 1);
	dm_resume(&f->dm);
	assert_int_equal(f->sci, 0);
	assert_int_equal(f->sci_calls, 2);
}

static void test_saved_with_button_pending(void **state)
{
	struct fixture *a = *state, *b;
	void *st;

	enable_events(a);
	dm_pause(&a->dm);
	acpi_pm_power_button(&a->pm);
	b = loaded_copy(a, &st);
	/* Saved low (pressed while paused), loaded low. */
	assert_int_equal(b->sci, 0);
	assert_int_equal(b->sci_calls, 0);
	assert_int_equal(in(b, PM1_STS, 2), in(a, PM1_STS, 2));
	assert_int_equal(in(b, PM1_EN, 2), in(a, PM1_EN, 2));
	assert_int_equal(in(b, PM1_CNT, 2), in(a, PM1_CNT, 2));
	assert_int_equal(in(b, PM1_STS, 2), ACPI_PM1_PWRBTN);
	assert_int_equal(in(b, PM1_EN, 2), ACPI_PM1_PWRBTN | ACPI_PM1_RTC);
	assert_int_equal(in(b, PM1_CNT, 2), 3 << ACPI_PM1_SLP_TYP_SHIFT |
			 ACPI_PM1_BM_RLD | ACPI_PM1_SCI_EN);
	/* Both resume to the SCI the button asked for; the guest acks it. */
	dm_resume(&a->dm);
	dm_resume(&b->dm);
	assert_int_equal(a->sci, 1);
	assert_int_equal(b->sci, 1);
	out(b, PM1_STS, ACPI_PM1_PWRBTN, 2);
	assert_int_equal(b->sci, 0);
	assert_int_equal(in(b, PM1_STS, 2), 0);
	/* And S5 still powers the copy off. */
	out(b, PM1_CNT, 5 << ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_SLP_EN, 2);
	assert_int_equal(b->exits, 1);
	teardown(&st);
}

/* An SCI that was up when saved is up in the copy before it resumes. */
static void test_saved_with_sci_high(void **state)
{
	struct fixture *a = *state, *b;
	void *st;

	enable_events(a);
	acpi_pm_power_button(&a->pm);
	assert_int_equal(a->sci, 1);
	dm_pause(&a->dm);
	b = loaded_copy(a, &st);
	assert_int_equal(b->sci, 1);
	assert_int_equal(b->sci_calls, 1);
	dm_resume(&b->dm);
	assert_int_equal(b->sci_calls, 1);	/* no edge at resume */
	teardown(&st);
}

static const struct tamper tampered[] = {
	{ "sts", "\x01\x00", 2, "sts 0x0001 has bits no event of this device sets" },
	{ "en", "\x00\x08", 2, "en 0x0800 sets reserved bits" },
	{ "cnt", "\x00\x20", 2, "cnt 0x2000 has bits the register does not keep" },
	{ "cnt", "\x01\x00", 2, "cnt 0x0001 has bits the register does not keep" },
	{ "sci_level", "\x07", 1, "field sci_level is 7, not a boolean" },
	{ "en", "\x00", 1, "field en is 1 bytes, this smpvisor expects 2" },
	{ "sts", NULL, 0, "field sts is missing" },
};

/* Loaded: the SCI is up; refused: nothing pending or enabled, SCI low. */
static void check_sci_or_reset(void *arg, bool refused)
{
	struct fixture *f = arg;

	assert_int_equal(f->sci, !refused);
	if (!refused)
		return;
	assert_int_equal(in(f, PM1_STS, 2), 0);
	assert_int_equal(in(f, PM1_EN, 2), 0);
	assert_int_equal(in(f, PM1_CNT, 2), ACPI_PM1_SCI_EN);
}

static void test_tampered_streams_refused(void **state)
{
	struct fixture *a = *state, *b;
	size_t len;
	void *st;
	u8 *buf;

	enable_events(a);
	acpi_pm_power_button(&a->pm);
	dm_pause(&a->dm);
	b = loaded_copy(a, &st);
	buf = saved_state(&a->dm, &len);
	refuse_tampered(&b->dm, buf, len, "acpi-pm", tampered,
			ARRAY_SIZE(tampered), check_sci_or_reset, b);
	free(buf);
	teardown(&st);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_sci_en_always_set),
		T(test_s5_powers_off),
		T(test_s5_by_byte_writes),
		T(test_other_sleep_types_ignored),
		T(test_reset_register),
		T(test_power_button_sci),
		T(test_access_widths),
		T(test_random_pokes),
		T(test_button_while_paused_waits_for_resume),
		T(test_saved_with_button_pending),
		T(test_saved_with_sci_high),
		T(test_tampered_streams_refused),
	};

	return cmocka_run_group_tests_name("acpi_pm", tests, NULL, NULL);
}
