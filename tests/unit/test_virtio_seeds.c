// SPDX-License-Identifier: GPL-2.0
/*
 * The state fuzz harness's PCI targets take real saves: each target's own
 * device (tests/fuzz/vdrv_targets.h, as state_targets_pci.c makes it)
 * driven mid-operation by the guest-side driver, paused and saved with
 * the PCI host, loads into a fresh device of the same target and
 * resumes; the fresh device then serves the guest on. With
 * SMPV_STATE_SEEDS=DIR each stream is also written to DIR/NAME.stream,
 * from which tests/fuzz/mkcorpus_state_pci.py makes the seeds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/vdrv_state.h"
#include "../fuzz/vdrv_targets.h"
#include "lib/layout.h"

#define F_MRG_RXBUF	15
#define F_CTRL_VQ	17
#define F_MQ		22

/* The CONFIG_ADDRESS latch left pointing at the device's BAR 0. */
static void host_latch(struct vdrv *d)
{
	u32 a = 0x80000010u | (u32)d->vp->pci.slot << 11;

	bus_dispatch(&d->pio, PCI_CONFIG_PORT, (u8 *)&a, 4, true);
}

/* VERSION_1, MSI-X on, queue 0 of 16 on vector 0, DRIVER_OK. */
static void up_msix(struct vdrv *d, bool masked)
{
	assert_int_equal(vdrv_negotiate(d, 1ULL << VIRTIO_F_VERSION_1), VDRV_S_UP);
	vdrv_msix_on(d);
	vdrv_msix_vector(d, 0, masked);
	vdrv_queue(d, 0, 16, 0);
	vdrv_driver_ok(d);
}

/* A flush done with its vector masked (pending), another one posted. */
static void drive_blk(struct vdrv_target *t)
{
	struct vdrv *d = &t->d;
	unsigned i;

	up_msix(d, true);
	for (i = 0; i < 2; i++) {
		vdrv_desc(d, 0, 2 * i, VDRV_BUF_GPA + 16 * i, 16, VIRTQ_DESC_F_NEXT,
			  (u16)(2 * i + 1));
		vdrv_desc(d, 0, 2 * i + 1, VDRV_BUF_GPA + 0x100 + i, 1,
			  VIRTQ_DESC_F_WRITE, 0);
		((u32 *)vdrv_hva(d, VDRV_BUF_GPA + 16 * i, 16))[0] = 4;
		vdrv_offer(d, 0, (u16)(2 * i));
		if (!i)
			vdrv_kick(d, 0);
	}
	assert_true(vdrv_wait_used(d, 0, 1));
	assert_true(vdrv_msix_pending(d, 0));
}

/* Chains the device took from q so far. */
static u16 taken(struct virtio_queue *q)
{
	u16 n;

	pthread_mutex_lock(&q->lock);
	n = q->vq.last_avail;
	pthread_mutex_unlock(&q->lock);
	return n;
}

/* Two pairs, the control queue, a packet waiting for buffers. */
static void drive_net(struct vdrv_target *t)
{
	struct vdrv *d = &t->d;
	u8 pkt[12 + 300] = { 0 };
	int i;

	assert_int_equal(vdrv_negotiate(d, (1ULL << F_MRG_RXBUF) |
					(1ULL << F_CTRL_VQ) | (1ULL << F_MQ) |
					(1ULL << VIRTIO_F_VERSION_1)), VDRV_S_UP);
	vdrv_queue(d, 0, 8, VIRTIO_NO_VECTOR);
	vdrv_queue(d, 1, 8, VIRTIO_NO_VECTOR);
	vdrv_queue(d, 4, 8, VIRTIO_NO_VECTOR);
	vdrv_driver_ok(d);
	vdrv_desc(d, 0, 0, VDRV_BUF_GPA, 100, VIRTQ_DESC_F_WRITE, 0);
	vdrv_offer(d, 0, 0);
	vdrv_kick(d, 0);
	assert_int_equal(send(t->peer, pkt, sizeof(pkt), 0), (ssize_t)sizeof(pkt));
	/* Placed in part: the one buffer is too small. */
	for (i = 0; i < 5000 && taken(&t->u.net.vp.q[0]) != 1; i++)
		usleep(1000);
	assert_int_equal(taken(&t->u.net.vp.q[0]), 1);
}

/* With EVENT_IDX: one request done, one posted. */
static void drive_rng(struct vdrv_target *t)
{
	struct vdrv *d = &t->d;

	assert_int_equal(vdrv_negotiate(d, (1ULL << VIRTIO_F_VERSION_1) |
					(1ULL << VIRTIO_F_EVENT_IDX)), VDRV_S_UP);
	vdrv_queue(d, 0, 8, VIRTIO_NO_VECTOR);
	vdrv_driver_ok(d);
	vdrv_desc(d, 0, 0, VDRV_BUF_GPA, 32, VIRTQ_DESC_F_WRITE, 0);
	vdrv_desc(d, 0, 1, VDRV_BUF_GPA + 32, 32, VIRTQ_DESC_F_WRITE, 0);
	vdrv_offer(d, 0, 0);
	vdrv_kick(d, 0);
	assert_true(vdrv_wait_used(d, 0, 1));
	vdrv_offer(d, 0, 1);
}

/* The ring handed to the back end, which gives index 3 back. */
static void drive_vub(struct vdrv_target *t)
{
	int i;

	up_msix(&t->d, false);
	for (i = 0; i < 2000 && !vdrv_vub_saw(&t->be, VHOST_USER_SET_VRING_ENABLE, 0); i++)
		usleep(1000);
	assert_true(vdrv_vub_saw(&t->be, VHOST_USER_SET_VRING_ENABLE, 0));
	atomic_store(&t->be.base, 3);
}

static void (*const drive[VDRV_KINDS])(struct vdrv_target *) = {
	drive_blk, drive_net, drive_rng, drive_vub,
};

static void write_stream(const char *name, const u8 *s, size_t len)
{
	const char *dir = getenv("SMPV_STATE_SEEDS");
	char path[512];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s.stream", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(s, 1, len, f), len);
	fclose(f);
}

static void test_targets_take_real_saves(void **state)
{
	unsigned k;

	for (k = 0; k < VDRV_KINDS; k++) {
		struct vdrv_target *t, *u;
		struct state_reader r;
		size_t len;
		u8 *s;

		assert_int_equal(vdrv_target_create(&t, k, NULL, true), 0);
		drive[k](t);
		host_latch(&t->d);
		s = vdrv_save(&t->d, &len);
		assert_non_null(s);
		write_stream(vdrv_kind_name[k], s, len);
		/* A fresh one of the same target takes it and goes on. */
		assert_int_equal(vdrv_target_create(&u, k, NULL, true), 0);
		vdrv_copy_ram(&u->d, &t->d);
		if (vdrv_load(&u->d, s, len, &r))
			fail_msg("%s: %s", vdrv_kind_name[k], r.why);
		assert_int_equal(atomic_load(&u->d.h.cf8), atomic_load(&t->d.h.cf8));
		assert_int_equal(vdrv_status(&u->d), VDRV_S_UP | VIRTIO_STATUS_DRIVER_OK);
		if (k != VDRV_NET && k != VDRV_VUB)
			assert_true(vdrv_wait_used(&u->d, 0, 2));
		if (k == VDRV_VUB) {
			int i;

			for (i = 0; i < 2000 && atomic_load(&u->be.set_base) != 3; i++)
				usleep(1000);
			assert_int_equal(atomic_load(&u->be.set_base), 3);
		}
		print_message("%s: a %zu-byte stream, taken\n", vdrv_kind_name[k], len);
		free(s);
		vdrv_target_free(t);
		vdrv_target_free(u);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_targets_take_real_saves),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
