// SPDX-License-Identifier: GPL-2.0
/*
 * pvpanic (vmm/devices/legacy/pvpanic.c) driven through its port as a
 * guest drives it: the read gives the events it can report, a write
 * reports the events set (each once until a reset, other bits dropped)
 * through the machine's callback; reset forgets them; the reported
 * events survive save and load (and loading them reports nothing), and a
 * stream with bits beyond the events is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dev_test.h"
#include "lib/layout.h"
#include "vmm/devices/legacy.h"

struct fixture {
	struct bus pio;
	struct device_manager dm;
	struct pvpanic p;
	u8 events[8];		/* what each report gave */
	int reports;
};

static void rec_report(void *opaque, u8 events)
{
	struct fixture *f = opaque;

	if (f->reports < (int)sizeof(f->events))
		f->events[f->reports] = events;
	f->reports++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pvpanic_notify n = { rec_report, f };

	assert_non_null(f);
	bus_init(&f->pio, "pio");
	dm_init(&f->dm, NULL, NULL, &f->pio, NULL);
	assert_int_equal(pvpanic_init(&f->p, &f->dm, &n), 0);
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

static void test_read_and_device(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(in8(f, PVPANIC_PORT), 0x03);
	assert_ptr_equal(dm_find(&f->dm, "pvpanic"), &f->p.dev);
	assert_string_equal(bus_find(&f->pio, PVPANIC_PORT, 1)->name, "pvpanic");
	assert_null(bus_find(&f->pio, PVPANIC_PORT + 1, 1));
	assert_int_equal(f->reports, 0);
}

static void test_write_reports_once(void **state)
{
	struct fixture *f = *state;
	int i;

	out8(f, PVPANIC_PORT, 0);		/* nothing set: nothing said */
	out8(f, PVPANIC_PORT, 0xfc);		/* no event bit: dropped */
	assert_int_equal(f->reports, 0);
	out8(f, PVPANIC_PORT, PVPANIC_PANICKED | 0x80);
	assert_int_equal(f->reports, 1);
	assert_int_equal(f->events[0], PVPANIC_PANICKED);
	/* A guest writing in a loop is heard once. */
	for (i = 0; i < 1000; i++)
		out8(f, PVPANIC_PORT, PVPANIC_PANICKED);
	assert_int_equal(f->reports, 1);
	out8(f, PVPANIC_PORT, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
	assert_int_equal(f->reports, 2);
	assert_int_equal(f->events[1], PVPANIC_CRASH_LOADED);
	assert_int_equal(f->p.reported, PVPANIC_EVENTS);
	/* Still readable after a panic, as the guest found it. */
	assert_int_equal(in8(f, PVPANIC_PORT), PVPANIC_EVENTS);
}

static void test_reset(void **state)
{
	struct fixture *f = *state;

	out8(f, PVPANIC_PORT, PVPANIC_PANICKED);
	dm_reset(&f->dm);
	assert_int_equal(f->p.reported, 0);
	/* The rebooted guest's next panic is heard again. */
	out8(f, PVPANIC_PORT, PVPANIC_PANICKED);
	assert_int_equal(f->reports, 2);
}

static void test_save_load(void **state)
{
	struct fixture *a = *state, *b;
	void *st;
	char why[192];
	size_t len, n;
	u8 *buf, *bad, v = 0x04;

	out8(a, PVPANIC_PORT, PVPANIC_PANICKED);
	setup(&st);
	b = st;
	copy_state(&a->dm, &b->dm);
	assert_int_equal(b->p.reported, PVPANIC_PANICKED);
	assert_int_equal(b->reports, 0);	/* a load reports nothing */
	dm_resume(&b->dm);
	out8(b, PVPANIC_PORT, PVPANIC_PANICKED);	/* heard already */
	assert_int_equal(b->reports, 0);
	out8(b, PVPANIC_PORT, PVPANIC_CRASH_LOADED);	/* new */
	assert_int_equal(b->reports, 1);

	/* Bits beyond the events: refused, the device left reset. */
	buf = saved_state(&a->dm, &len);
	n = len;
	bad = stream_edit(buf, &n, "pvpanic", "reported", &v, 1);
	dm_pause(&b->dm);
	assert_int_not_equal(load_state(&b->dm, bad, n, why), 0);
	assert_string_equal(why, "state of pvpanic: reported 0x04 has bits beyond the events 0x03");
	assert_int_equal(b->p.reported, 0);
	free(bad);
	n = len;
	bad = stream_edit(buf, &n, "pvpanic", "reported", NULL, 0);
	assert_int_not_equal(load_state(&b->dm, bad, n, why), 0);
	assert_int_equal(b->p.reported, 0);
	free(bad);
	free(buf);
	teardown(&st);
}

/* No callback (a machine that listens to nobody): writes are harmless. */
static void test_no_notify(void **state)
{
	struct device_manager dm;
	struct pvpanic p, q;
	struct bus pio;

	(void)state;
	bus_init(&pio, "pio");
	dm_init(&dm, NULL, NULL, &pio, NULL);
	assert_int_equal(pvpanic_init(&p, &dm, NULL), 0);
	pio_out(&pio, PVPANIC_PORT, PVPANIC_PANICKED, 1);
	assert_int_equal(p.reported, PVPANIC_PANICKED);
	/* The port is taken: a second one cannot claim it. */
	assert_int_not_equal(pvpanic_init(&q, &dm, NULL), 0);
	dm_destroy(&dm);
	bus_free(&pio);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_and_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_reports_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
		cmocka_unit_test(test_no_notify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
