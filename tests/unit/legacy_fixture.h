/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fixture of the legacy device tests (test_legacy*.c; include after
 * cmocka.h): the i8042, CMOS and POST created into a device manager on a
 * real port-I/O bus, with the machine-stop requests recorded.
 */
#ifndef SMPVISOR_TEST_LEGACY_FIXTURE_H
#define SMPVISOR_TEST_LEGACY_FIXTURE_H

#include "dev_test.h"
#include "lib/layout.h"
#include "vmm/devices/legacy.h"

#define CMOS_DATA	(CMOS_PORT + 1)

struct fixture {
	struct bus pio;
	struct device_manager dm;
	struct i8042 kbc;
	struct cmos rtc;
	struct post post;
	enum vm_exit_reason why;
	int exits;
};

static inline void rec_exit(void *opaque, enum vm_exit_reason why)
{
	struct fixture *f = opaque;

	f->why = why;
	f->exits++;
}

static inline int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct vm_control ctl;

	assert_non_null(f);
	ctl = (struct vm_control){ rec_exit, f };
	bus_init(&f->pio, "pio");
	dm_init(&f->dm, NULL, NULL, &f->pio, NULL);
	assert_int_equal(i8042_init(&f->kbc, &f->dm, &ctl), 0);
	assert_int_equal(cmos_init(&f->rtc, &f->dm), 0);
	assert_int_equal(post_init(&f->post, &f->dm), 0);
	bus_seal(&f->pio);
	*state = f;
	return 0;
}

static inline int teardown(void **state)
{
	struct fixture *f = *state;

	dm_destroy(&f->dm);
	bus_free(&f->pio);
	free(f);
	return 0;
}

static inline u8 cmos_read(struct fixture *f, u8 reg)
{
	out8(f, CMOS_PORT, reg);
	return in8(f, CMOS_DATA);
}

static inline void cmos_write(struct fixture *f, u8 reg, u8 v)
{
	out8(f, CMOS_PORT, reg);
	out8(f, CMOS_DATA, v);
}

#endif
