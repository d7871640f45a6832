// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-rng through the modern virtio-pci transport, driven like a guest
 * driver would through the MMIO bus (tests/fuzz/vdrv.h) and served by a
 * real I/O thread:
 * writable buffers come back full of random bytes (two in one chain, and
 * a large one capped at VIRTIO_RNG_MAX_REQ), a chain with nothing
 * writable comes back empty, a descriptor loop sets DEVICE_NEEDS_RESET
 * and a reset brings the device back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../fuzz/vdrv.h"
#include "vmm/devices/virtio_rng.h"

#define QSIZE		8
#define DATA		VDRV_BUF_GPA
#define DATA2		(VDRV_BUF_GPA + 0x1000)
#define BIG		0x100000ULL

struct fixture {
	struct vdrv d;
	struct virtio_rng rng;
	u16 used_seen;
};

static void *hva(struct fixture *f, u64 gpa, u64 len)
{
	void *p = vdrv_hva(&f->d, gpa, len);

	assert_non_null(p);
	return p;
}

/* Up with VERSION_1 only, queue 0 of QSIZE entries. */
static void driver_init(struct fixture *f)
{
	assert_int_equal(vdrv_negotiate(&f->d, 1ULL << VIRTIO_F_VERSION_1),
			 VDRV_S_UP);
	assert_int_equal(vdrv_rd(&f->d, VDRV_NUMQ, 2), 1);
	vdrv_wr(&f->d, VDRV_QSELECT, 0, 2);
	assert_int_equal(vdrv_rd(&f->d, VDRV_QSIZE, 2), VIRTIO_RNG_QUEUE_SIZE);
	vdrv_queue(&f->d, 0, QSIZE, VIRTIO_NO_VECTOR);
	vdrv_driver_ok(&f->d);
	f->used_seen = 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(vdrv_init(&f->d), 0);
	assert_int_equal(virtio_rng_create(&f->rng, &f->d.dm, &f->d.mem,
					   &f->d.iot), 0);
	assert_int_equal(vdrv_attach(&f->d, &f->rng.vp, true), 0);
	driver_init(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vdrv_stop(&f->d);
	vdrv_fini(&f->d);
	free(f);
	return 0;
}

static void set_desc(struct fixture *f, unsigned i, u64 addr, u32 len,
		     u16 flags, u16 next)
{
	vdrv_desc(&f->d, 0, i, addr, len, flags, next);
}

/* Offer chain head 0, kick, wait up to 5 s; the used length or -1. */
static long request(struct fixture *f)
{
	u32 head, len;

	vdrv_offer(&f->d, 0, 0);
	vdrv_kick(&f->d, 0);
	if (!vdrv_wait_used(&f->d, 0, (u16)(f->used_seen + 1)))
		return -1;
	vdrv_used(&f->d, 0, f->used_seen++, &head, &len);
	assert_int_equal(head, 0);
	return len;
}

static void test_fill(void **state)
{
	struct fixture *f = *state;
	u8 *a = hva(f, DATA, 32), *b = hva(f, DATA2, 200), *big;

	memset(a, 0, 32);
	memset(b, 0, 200);
	set_desc(f, 0, DATA, 32, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, DATA2, 100, VIRTQ_DESC_F_WRITE, 0);
	assert_int_equal(request(f), 132);
	assert_true(vdrv_distinct(a, 32) > 8);
	assert_true(vdrv_distinct(b, 100) > 16);
	/* Past the buffer: untouched. */
	assert_int_equal(vdrv_distinct(b + 100, 100), 1);
	assert_int_equal(b[150], 0);

	/* A second request gets other bytes. */
	{
		u8 old[32];

		memcpy(old, a, 32);
		set_desc(f, 0, DATA, 32, VIRTQ_DESC_F_WRITE, 0);
		assert_int_equal(request(f), 32);
		assert_memory_not_equal(old, a, 32);
	}

	/* A large buffer gets VIRTIO_RNG_MAX_REQ bytes, the rest is left. */
	big = hva(f, BIG, 2 * VIRTIO_RNG_MAX_REQ);
	memset(big, 0, 2 * VIRTIO_RNG_MAX_REQ);
	set_desc(f, 0, BIG, 2 * VIRTIO_RNG_MAX_REQ, VIRTQ_DESC_F_WRITE, 0);
	assert_int_equal(request(f), VIRTIO_RNG_MAX_REQ);
	assert_true(vdrv_distinct(big + VIRTIO_RNG_MAX_REQ - 256, 256) > 100);
	assert_int_equal(vdrv_distinct(big + VIRTIO_RNG_MAX_REQ, VIRTIO_RNG_MAX_REQ), 1);

	/* Nothing writable: nothing written, the chain still comes back. */
	memset(a, 0, 32);
	set_desc(f, 0, DATA, 32, 0, 0);
	assert_int_equal(request(f), 0);
	assert_int_equal(vdrv_distinct(a, 32), 1);
	assert_int_equal(a[0], 0);
	assert_false(vdrv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_hostile_loop_then_reset(void **state)
{
	struct fixture *f = *state;
	int i;

	set_desc(f, 0, DATA, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, DATA2, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
	assert_int_equal(request(f) == -1 ? 0 : 1, 0);	/* never returned */
	for (i = 0; i < 5000 && !(vdrv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET); i++)
		usleep(1000);
	assert_true(vdrv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
	driver_init(f);
	assert_false(vdrv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
	set_desc(f, 0, DATA, 16, VIRTQ_DESC_F_WRITE, 0);
	assert_int_equal(request(f), 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_loop_then_reset,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
