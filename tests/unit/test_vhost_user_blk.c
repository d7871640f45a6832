// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-user-blk against a back end of our own (a thread on a UNIX
 * socket speaking just enough of the protocol), driven like a guest
 * driver through the virtio-pci registers (tests/fuzz/vdrv.h). Checked:
 * a back end that stops answering never holds up the thread that writes
 * DRIVER_OK or reset (a vCPU in the VMM); a failed hand-over turns into
 * NEEDS_RESET; after a reset the status reads 0 only once the back end
 * has given every ring back (GET_VRING_BASE); a hang-up fails the
 * device; destroy (the machine stopping on SIGTERM) cuts off a back end
 * stuck in a round trip at once. The device model: pause takes the ring
 * back (GET_VRING_BASE) before it returns, resume hands it over at that
 * index, and a saved device loads into a fresh one with another back end
 * that gets the ring at the same index; another disk is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../fuzz/vdrv_state.h"
#include "../fuzz/vdrv_vub.h"
#include "vmm/devices/vhost_user_blk.h"

struct fixture {
	struct vdrv d;
	struct vhost_user_blk b;
	struct vdrv_vub be;
	char path[108];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct vhost_user_blk_opts o = { .queues = 1, .timeout_ms = 300 };

	assert_non_null(f);
	assert_int_equal(vdrv_init(&f->d), 0);
	guest_mem_free(&f->d.mem);
	guest_mem_set_shared(&f->d.mem);
	assert_int_equal(guest_mem_alloc(&f->d.mem), 0);
	snprintf(f->path, sizeof(f->path), "/tmp/smpv-vub-%d-%p", getpid(),
		 (void *)f);
	assert_int_equal(vdrv_vub_start(&f->be, f->path), 0);
	o.socket = f->path;
	assert_int_equal(vhost_user_blk_create(&f->b, 0, &o, &f->d.dm,
					       &f->d.mem), 0);
	assert_int_equal(vdrv_attach(&f->d, &f->b.vp, false), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vdrv_fini(&f->d);	/* destroys the device */
	vdrv_vub_stop(&f->be, f->path);
	free(f);
	return 0;
}

/* The driver up to DRIVER_OK with queue 0 on vector 0: how long it took. */
static long long driver_ok(struct fixture *f)
{
	u8 on[2] = { 0, MSIX_CTRL_ENABLE >> 8 };
	long long t0;

	pci_cfg_write(&f->b.vp.pci, f->b.vp.pci.msix.cap + 2, on, 2);
	assert_true(vdrv_negotiate(&f->d, 1ULL << VIRTIO_F_VERSION_1) &
		    VIRTIO_STATUS_FEATURES_OK);
	vdrv_queue(&f->d, 0, 16, 0);
	t0 = vdrv_ms();
	vdrv_wr(&f->d, VDRV_STATUS, VDRV_S_UP | VIRTIO_STATUS_DRIVER_OK, 1);
	return vdrv_ms() - t0;
}

/* Wait up to ms for the status to have (or lack) bits: the time taken. */
static long long wait_status(struct fixture *f, u8 bits, bool set, int ms)
{
	long long t0 = vdrv_ms();

	while (vdrv_ms() - t0 < ms) {
		if (!!(vdrv_status(&f->d) & bits) == set && (bits || !vdrv_status(&f->d)))
			return vdrv_ms() - t0;
		vdrv_sleep_ms(2);
	}
	return -1;
}

/* A healthy back end gets the ring, and the device stays good. */
static void test_start_hands_over(void **state)
{
	struct fixture *f = *state;
	long long t0 = vdrv_ms();

	assert_true(driver_ok(f) < 100);
	while (!vdrv_vub_saw(&f->be, VHOST_USER_SET_VRING_ENABLE, 0) &&
	       vdrv_ms() - t0 < 2000)
		vdrv_sleep_ms(2);
	assert_true(vdrv_vub_saw(&f->be, VHOST_USER_SET_VRING_KICK, 0));
	assert_true(vdrv_vub_saw(&f->be, VHOST_USER_SET_VRING_ENABLE, 0));
	/*
	 * The call fd comes first: a back end serving a pending kick must
	 * have somewhere to signal the completion (libvhost-user drops the
	 * connection otherwise).
	 */
	assert_true(vdrv_vub_at(&f->be, VHOST_USER_SET_VRING_CALL, 0) <
		    vdrv_vub_at(&f->be, VHOST_USER_SET_VRING_KICK, 0));
	assert_true(vdrv_vub_at(&f->be, VHOST_USER_SET_VRING_CALL, 0) >= 0);
	vdrv_sleep_ms(20);
	assert_int_equal(vdrv_status(&f->d), VDRV_S_UP | VIRTIO_STATUS_DRIVER_OK);
}

/*
 * A back end that stops answering after the hand-shake: DRIVER_OK
 * returns at once (with the work on the worker, a vCPU would otherwise
 * sit out the whole deadline), then the device NEEDS_RESET once the
 * deadline (300 ms here) has passed, and a reset completes at once.
 */
static void test_hung_backend_does_not_block_start(void **state)
{
	struct fixture *f = *state;
	long long took, t;

	atomic_store(&f->be.hang, true);
	took = driver_ok(f);
	print_message("DRIVER_OK returned after %lld ms\n", took);
	assert_true(took < 50);
	t = wait_status(f, VIRTIO_STATUS_NEEDS_RESET, true, 2000);
	print_message("NEEDS_RESET after %lld ms more (deadline 300 ms)\n", t);
	assert_true(t >= 150 && t < 1000);
	t = vdrv_ms();
	vdrv_wr(&f->d, VDRV_STATUS, 0, 1);
	assert_true(vdrv_ms() - t < 50);
	assert_true(wait_status(f, 0, false, 500) >= 0);
	/* Cut off for good: the next DRIVER_OK fails on the spot. */
	assert_true(driver_ok(f) < 50);
	assert_true(vdrv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
}

/*
 * Reset while the back end takes its time over GET_VRING_BASE: the write
 * of 0 returns at once, but the status reads 0 only after the back end
 * answered, so the driver cannot reuse buffers it may still be using.
 */
static void test_reset_waits_for_ring_base(void **state)
{
	struct fixture *f = *state;
	long long t0 = vdrv_ms();
	unsigned seen;

	driver_ok(f);
	while (!vdrv_vub_saw(&f->be, VHOST_USER_SET_VRING_ENABLE, 0) &&
	       vdrv_ms() - t0 < 2000)
		vdrv_sleep_ms(2);
	seen = atomic_load(&f->be.nr);
	atomic_store(&f->be.hold_base, true);
	t0 = vdrv_ms();
	vdrv_wr(&f->d, VDRV_STATUS, 0, 1);
	assert_true(vdrv_ms() - t0 < 50);
	vdrv_sleep_ms(150);		/* well inside the 300 ms deadline */
	assert_true(vdrv_vub_saw(&f->be, VHOST_USER_GET_VRING_BASE, seen));
	assert_int_not_equal(vdrv_status(&f->d), 0);
	/* A second reset does not end the first one early. */
	vdrv_wr(&f->d, VDRV_STATUS, 0, 1);
	assert_int_not_equal(vdrv_status(&f->d), 0);
	atomic_store(&f->be.hold_base, false);
	assert_true(wait_status(f, 0, false, 500) >= 0);
	/* The back end answered in time: the disk still works. */
	assert_false(atomic_load(&f->b.gone));
	seen = atomic_load(&f->be.nr);
	assert_true(driver_ok(f) < 50);
	t0 = vdrv_ms();
	while (!vdrv_vub_saw(&f->be, VHOST_USER_SET_VRING_ENABLE, seen) &&
	       vdrv_ms() - t0 < 2000)
		vdrv_sleep_ms(2);
	assert_true(vdrv_vub_saw(&f->be, VHOST_USER_SET_VRING_ENABLE, seen));
}

/* The back end hangs up while the disk runs: NEEDS_RESET. */
static void test_hangup_fails_device(void **state)
{
	struct fixture *f = *state;
	long long t0 = vdrv_ms();

	driver_ok(f);
	while (!vdrv_vub_saw(&f->be, VHOST_USER_SET_VRING_ENABLE, 0) &&
	       vdrv_ms() - t0 < 2000)
		vdrv_sleep_ms(2);
	atomic_store(&f->be.hangup, true);
	assert_true(wait_status(f, VIRTIO_STATUS_NEEDS_RESET, true, 1000) >= 0);
	assert_true(atomic_load(&f->b.gone));
}

/*
 * The machine stops (SIGTERM) while a round trip hangs on a long
 * deadline: destroy cuts it off at once instead of sitting it out.
 */
static void test_destroy_while_hung(void **state)
{
	struct fixture *f = *state;
	long long t0 = vdrv_ms();

	f->b.u.timeout_ms = 10000;	/* no round trip is in flight yet */
	driver_ok(f);
	while (!vdrv_vub_saw(&f->be, VHOST_USER_SET_VRING_ENABLE, 0) &&
	       vdrv_ms() - t0 < 2000)
		vdrv_sleep_ms(2);
	atomic_store(&f->be.hold_base, true);
	vdrv_wr(&f->d, VDRV_STATUS, 0, 1);
	vdrv_sleep_ms(50);
	assert_int_not_equal(vdrv_status(&f->d), 0);
	t0 = vdrv_ms();
	dm_destroy(&f->d.dm);		/* the device's only destroy path */
	dm_init(&f->d.dm, NULL, &f->d.irq, &f->d.pio, &f->d.mmio);
	print_message("destroy took %lld ms with a round trip hanging\n",
		      vdrv_ms() - t0);
	assert_true(vdrv_ms() - t0 < 500);
}

/* Wait up to 2 s for the back end to see req from the start-th on. */
static bool be_wait(struct vdrv_vub *be, u32 req, unsigned start)
{
	long long t0 = vdrv_ms();

	while (!vdrv_vub_saw(be, req, start) && vdrv_ms() - t0 < 2000)
		vdrv_sleep_ms(2);
	return vdrv_vub_saw(be, req, start);
}

/*
 * Pause takes the ring back and waits for the answer; resume hands it
 * over at the index the back end gave; a fresh device with a back end
 * of its own loads the saved state and hands its ring over there too.
 */
static void test_pause_save_load(void **state)
{
	struct fixture *f = *state, *g = NULL;
	struct state_reader r;
	unsigned seen;
	u8 *stream, *bad, *at;
	size_t len;
	u32 n;
	u16 avail;

	driver_ok(f);
	assert_true(be_wait(&f->be, VHOST_USER_SET_VRING_ENABLE, 0));
	assert_int_equal(atomic_load(&f->be.set_base), 0);
	atomic_store(&f->be.base, 5);
	seen = atomic_load(&f->be.nr);
	dm_pause(&f->d.dm);
	assert_true(vdrv_vub_saw(&f->be, VHOST_USER_GET_VRING_BASE, seen));
	seen = atomic_load(&f->be.nr);
	dm_resume(&f->d.dm);
	assert_true(be_wait(&f->be, VHOST_USER_SET_VRING_ENABLE, seen));
	assert_int_equal(atomic_load(&f->be.set_base), 5);

	atomic_store(&f->be.base, 7);
	stream = vdrv_save(&f->d, &len);
	assert_non_null(stream);
	at = vdrv_field(stream, len, "vhost-user-blk0", "q.last_avail", &n);
	assert_true(at && n == 2);
	memcpy(&avail, at, 2);		/* the stream packs its fields */
	assert_int_equal(avail, 7);
	assert_int_equal(setup((void **)&g), 0);
	vdrv_copy_ram(&g->d, &f->d);
	seen = atomic_load(&g->be.nr);
	assert_int_equal(vdrv_load(&g->d, stream, len, &r), 0);
	assert_true(be_wait(&g->be, VHOST_USER_SET_VRING_ENABLE, seen));
	assert_true(vdrv_vub_saw(&g->be, VHOST_USER_SET_MEM_TABLE, seen));
	assert_int_equal(atomic_load(&g->be.set_base), 7);
	assert_int_equal(vdrv_status(&g->d), VDRV_S_UP | VIRTIO_STATUS_DRIVER_OK);
	/* Another disk behind the socket: refused. */
	bad = vdrv_tamper(stream, len, "vhost-user-blk0", "cfg", 0, "\x40", 1);
	assert_non_null(bad);
	assert_int_not_equal(vdrv_load(&g->d, bad, len, &r), 0);
	print_message("%s\n", r.why);
	assert_non_null(strstr(r.why, "another disk config (64 sectors, this back end's disk has 128)"));
	free(bad);
	free(stream);
	teardown((void **)&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_start_hands_over, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hung_backend_does_not_block_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_waits_for_ring_base, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hangup_fails_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_while_hung, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_save_load, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
