// SPDX-License-Identifier: GPL-2.0
/*
 * The device manager's walks (vmm/device_manager.c), on small devices of
 * the test's own: the order of each walk, pause before save, a stream of
 * another machine refused with its reason and no device left half
 * loaded, names unique, ioeventfds refused without a VM, bus ranges
 * named after their device, device errors reaching the machine rate-limited
 * (dm_device_error). Each real device's own save and load are
 * tested with the device (test_uart, test_legacy, test_pci, ...).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/device_manager.h"

static char trace[256];

struct counter {
	struct device dev;
	u32 value;
	bool paused;
};

static void note(struct device *d, const char *what)
{
	size_t n = strlen(trace);

	snprintf(trace + n, sizeof(trace) - n, "%s:%s ", what, d->name);
}

static void c_reset(struct device *d)
{
	container_of(d, struct counter, dev)->value = 0;
	note(d, "reset");
}

static void c_pause(struct device *d)
{
	container_of(d, struct counter, dev)->paused = true;
	note(d, "pause");
}

static void c_resume(struct device *d)
{
	container_of(d, struct counter, dev)->paused = false;
	note(d, "resume");
}

static int c_save(struct device *d, struct state_writer *w)
{
	state_put_u32(w, "value", container_of(d, struct counter, dev)->value);
	return 0;
}

static int c_load(struct device *d, struct state_reader *r)
{
	struct counter *c = container_of(d, struct counter, dev);
	u32 v;
	int e = state_get(r, "value", &v, sizeof(v));

	if (e)
		return e;
	if (v > 1000)
		return state_refuse(r, "value %u is above 1000", v);
	c->value = v;
	return 0;
}

static void c_destroy(struct device *d)
{
	note(d, "destroy");
}

static const struct device_ops counter_ops = {
	.kind = "counter", .version = 1, .reset = c_reset, .pause = c_pause,
	.resume = c_resume, .save = c_save, .load = c_load,
	.destroy = c_destroy,
};

static const struct device_ops other_ops = {
	.kind = "other", .version = 1,
};

struct fixture {
	struct bus pio, mmio;
	struct device_manager dm;
	struct counter c[3];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	unsigned i;

	assert_non_null(f);
	bus_init(&f->pio, "pio");
	bus_init(&f->mmio, "mmio");
	dm_init(&f->dm, NULL, NULL, &f->pio, &f->mmio);
	for (i = 0; i < 3; i++) {
		snprintf(f->c[i].dev.name, sizeof(f->c[i].dev.name), "c%u", i);
		f->c[i].dev.ops = &counter_ops;
		f->c[i].value = 10 * (i + 1);
		assert_int_equal(dm_add(&f->dm, &f->c[i].dev), 0);
	}
	trace[0] = 0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	dm_destroy(&f->dm);
	bus_free(&f->pio);
	bus_free(&f->mmio);
	free(f);
	return 0;
}

static u8 *save(struct fixture *f, size_t *len)
{
	struct state_writer w;
	u8 *buf;

	state_writer_init(&w);
	assert_int_equal(dm_save(&f->dm, &w), 0);
	buf = state_writer_take(&w, len);
	assert_non_null(buf);
	return buf;
}

static void test_walk_order(void **state)
{
	struct fixture *f = *state;

	dm_pause(&f->dm);
	dm_pause(&f->dm);	/* twice: each device is paused once */
	dm_resume(&f->dm);
	dm_reset(&f->dm);
	assert_string_equal(trace, "pause:c0 pause:c1 pause:c2 resume:c2 "
			    "resume:c1 resume:c0 reset:c0 reset:c1 reset:c2 ");
	assert_int_equal(f->c[1].value, 0);
	assert_null(dm_find(&f->dm, "c3"));
	assert_ptr_equal(dm_find(&f->dm, "c2"), &f->c[2].dev);
}

static void test_save_load(void **state)
{
	struct fixture *f = *state;
	struct state_writer w;
	struct state_reader r;
	size_t len;
	u8 *buf;

	/* A running machine is not saved. */
	state_writer_init(&w);
	assert_int_equal(dm_save(&f->dm, &w), -EBUSY);
	state_writer_free(&w);

	dm_pause(&f->dm);
	buf = save(f, &len);
	f->c[0].value = f->c[1].value = f->c[2].value = 7;
	assert_int_equal(state_reader_init(&r, buf, len), 0);
	assert_int_equal(dm_load(&f->dm, &r), 0);
	assert_int_equal(f->c[0].value, 10);
	assert_int_equal(f->c[1].value, 20);
	assert_int_equal(f->c[2].value, 30);
	free(buf);

	/* A value the loader will not take: every device is left reset. */
	f->c[2].value = 5000;
	buf = save(f, &len);
	assert_int_equal(state_reader_init(&r, buf, len), 0);
	assert_int_equal(dm_load(&f->dm, &r), -EINVAL);
	assert_string_equal(r.why, "state of c2: value 5000 is above 1000");
	assert_int_equal(f->c[0].value, 0);
	assert_int_equal(f->c[1].value, 0);
	free(buf);
	dm_resume(&f->dm);
}

static void test_other_machine(void **state)
{
	struct fixture *f = *state;
	struct device other = { .name = "c1", .ops = &other_ops };
	struct device_manager dm2;
	struct state_reader r;
	size_t len;
	u8 *buf;

	dm_init(&dm2, NULL, NULL, &f->pio, &f->mmio);
	assert_int_equal(dm_add(&dm2, &other), 0);
	dm_pause(&dm2);
	{
		struct state_writer w;

		state_writer_init(&w);
		assert_int_equal(dm_save(&dm2, &w), 0);
		buf = state_writer_take(&w, &len);
		assert_non_null(buf);
	}
	dm_destroy(&dm2);
	dm_pause(&f->dm);
	assert_int_equal(state_reader_init(&r, buf, len), 0);
	assert_int_equal(dm_load(&f->dm, &r), -ENOENT);
	assert_string_equal(r.why, "state of c0: no such section in the stream");
	free(buf);

	/* Same names, another kind. */
	buf = save(f, &len);
	{
		u8 *k = memmem(buf, len, "counter", 7);

		assert_non_null(k);
		memcpy(k, "counteR", 7);
	}
	assert_int_equal(state_reader_init(&r, buf, len), 0);
	assert_int_equal(dm_load(&f->dm, &r), -EINVAL);
	assert_string_equal(r.why, "state of c0: it is a counteR, this machine's is a counter");
	free(buf);
}

static void dummy_rw(void *o, u64 off, u8 *d, u32 len)
{
	(void)o; (void)off; (void)d; (void)len;
}

static void dummy_w(void *o, u64 off, const u8 *d, u32 len)
{
	(void)o; (void)off; (void)d; (void)len;
}

static void test_services(void **state)
{
	static const struct bus_ops ops = { dummy_rw, dummy_w };
	struct fixture *f = *state;
	struct device dup = { .name = "c0", .ops = &counter_ops };

	assert_int_equal(dm_add(&f->dm, &dup), -EEXIST);
	assert_int_equal(dm_bus_pio(&f->dm, &f->c[0].dev, 0x100, 8, &ops, NULL), 0);
	assert_int_equal(dm_bus_mmio(&f->dm, &f->c[1].dev, 0x1000, 8, &ops, NULL), 0);
	assert_string_equal(bus_find(&f->pio, 0x104, 1)->name, "c0");
	assert_string_equal(bus_find(&f->mmio, 0x1000, 4)->name, "c1");
	assert_int_equal(dm_ioeventfd(&f->dm, 0x1000, 2, 3, false, true), -ENODEV);
	assert_int_equal(dm_irqfd(&f->dm, 5, 3, -1, true), -ENODEV);
}

struct err_rec {
	int calls;
	char dev[32], reason[160];
};

static void rec_error(void *opaque, const char *dev, const char *reason)
{
	struct err_rec *e = opaque;

	e->calls++;
	snprintf(e->dev, sizeof(e->dev), "%s", dev);
	snprintf(e->reason, sizeof(e->reason), "%s", reason);
}

/*
 * dm_device_error reaches the handler with the device's name and the
 * formatted reason, at most DEV_RATELIMIT_BURST times per device per
 * period however often a guest provokes it; without a handler, nothing.
 */
static void test_device_error(void **state)
{
	struct fixture *f = *state;
	struct err_rec e = { 0 };
	int i;

	dm_device_error(&f->dm, &f->c[0].dev, "no handler yet");
	dm_set_error_handler(&f->dm, rec_error, &e);
	assert_int_equal(e.calls, 0);
	dm_device_error(&f->dm, &f->c[1].dev, "queue %u: %s", 3, "bad ring");
	assert_int_equal(e.calls, 1);
	assert_string_equal(e.dev, "c1");
	assert_string_equal(e.reason, "queue 3: bad ring");
	for (i = 0; i < 1000; i++)
		dm_device_error(&f->dm, &f->c[1].dev, "again %d", i);
	assert_int_equal(e.calls, DEV_RATELIMIT_BURST);
	/* Each device has its own budget. */
	dm_device_error(&f->dm, &f->c[2].dev, "other");
	assert_int_equal(e.calls, DEV_RATELIMIT_BURST + 1);
	assert_string_equal(e.dev, "c2");
	/* A new period gives a new budget. */
	f->c[1].dev.err_rl.start -= DEV_RATELIMIT_SECS;
	dm_device_error(&f->dm, &f->c[1].dev, "later");
	assert_int_equal(e.calls, DEV_RATELIMIT_BURST + 2);
	assert_string_equal(e.reason, "later");
	dm_set_error_handler(&f->dm, NULL, NULL);
	f->c[2].dev.err_rl.start -= DEV_RATELIMIT_SECS;
	dm_device_error(&f->dm, &f->c[2].dev, "nobody listens");
	assert_int_equal(e.calls, DEV_RATELIMIT_BURST + 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_walk_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_machine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_services, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_error, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
