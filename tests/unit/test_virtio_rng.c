// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-rng through the modern virtio-pci transport, driven like a guest
 * driver would through the MMIO bus and served by a real I/O thread:
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

#include "vmm/devices/virtio_rng.h"

#define QSIZE		8
#define DESC		0x10000ULL
#define AVAIL		0x11000ULL
#define USED		0x12000ULL
#define DATA		0x20000ULL
#define DATA2		0x30000ULL
#define BIG		0x100000ULL

struct fixture {
	struct guest_mem mem;
	struct bus pio, mmio;
	struct irq_router irq;
	struct device_manager dm;
	struct pci_host h;
	struct iothread iot;
	struct virtio_rng rng;
	u64 bar;
	u16 avail_idx, used_seen;
};

static void *hva(struct fixture *f, u64 gpa, u64 len)
{
	void *p = gpa_to_hva(&f->mem, gpa, len);

	assert_non_null(p);
	return p;
}

static u64 rd(struct fixture *f, u64 off, u32 len)
{
	u64 v = 0;

	bus_dispatch(&f->mmio, f->bar + off, (u8 *)&v, len, false);
	return v;
}

static void wr(struct fixture *f, u64 off, u64 v, u32 len)
{
	bus_dispatch(&f->mmio, f->bar + off, (u8 *)&v, len, true);
}

static void driver_init(struct fixture *f)
{
	u8 ok = VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER |
		VIRTIO_STATUS_FEATURES_OK;

	wr(f, 20, 0, 1);
	assert_int_equal(rd(f, 20, 1), 0);
	wr(f, 20, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER, 1);
	wr(f, 8, 1, 4);
	wr(f, 12, 1, 4);			/* VERSION_1 only */
	wr(f, 20, ok, 1);
	assert_true(rd(f, 20, 1) & VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(rd(f, 18, 2), 1);	/* num_queues */
	wr(f, 22, 0, 2);
	assert_int_equal(rd(f, 24, 2), VIRTIO_RNG_QUEUE_SIZE);
	wr(f, 24, QSIZE, 2);
	wr(f, 32, DESC, 8);
	wr(f, 40, AVAIL, 8);
	wr(f, 48, USED, 8);
	wr(f, 28, 1, 2);
	memset(hva(f, AVAIL, 4 + 2 * QSIZE), 0, 4 + 2 * QSIZE);
	memset(hva(f, USED, 4 + 8 * QSIZE), 0, 4 + 8 * QSIZE);
	wr(f, 20, ok | VIRTIO_STATUS_DRIVER_OK, 1);
	f->avail_idx = f->used_seen = 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(guest_mem_layout(&f->mem, 16 * MiB), 0);
	assert_int_equal(guest_mem_alloc(&f->mem), 0);
	bus_init(&f->pio, "pio");
	bus_init(&f->mmio, "mmio");
	assert_int_equal(irq_router_init(&f->irq, NULL), 0);
	dm_init(&f->dm, NULL, &f->irq, &f->pio, &f->mmio);
	assert_int_equal(pci_host_init(&f->h, &f->dm, guest_mem_end(&f->mem)), 0);
	assert_int_equal(iothread_init(&f->iot, 0), 0);
	assert_int_equal(virtio_rng_create(&f->rng, NULL, &f->irq, &f->mem,
					   &f->iot), 0);
	assert_int_equal(pci_host_add(&f->h, &f->rng.vp.pci), 0);
	assert_int_equal(pci_host_register(&f->h), 0);
	bus_seal(&f->pio);
	bus_seal(&f->mmio);
	assert_int_equal(iothread_start(&f->iot, NULL), 0);
	pci_cfg_write(&f->rng.vp.pci, PCI_COMMAND, (const u8 *)"\x06\x00", 2);
	f->bar = atomic_load(&f->rng.vp.pci.bar[VIRTIO_BAR].addr);
	assert_true(f->bar != 0);
	driver_init(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	iothread_stop(&f->iot);
	virtio_rng_destroy(&f->rng);
	iothread_destroy(&f->iot);
	dm_destroy(&f->dm);
	irq_router_destroy(&f->irq);
	bus_free(&f->pio);
	bus_free(&f->mmio);
	guest_mem_free(&f->mem);
	free(f);
	return 0;
}

static void set_desc(struct fixture *f, unsigned i, u64 addr, u32 len,
		     u16 flags, u16 next)
{
	struct virtq_desc d = { addr, len, flags, next };

	memcpy((u8 *)hva(f, DESC, 16 * QSIZE) + 16 * i, &d, sizeof(d));
}

/* Offer chain head 0, kick, wait up to 5 s; the used length or -1. */
static long request(struct fixture *f)
{
	u16 *avail = hva(f, AVAIL, 4 + 2 * QSIZE);
	u16 *used = hva(f, USED, 4 + 8 * QSIZE);
	int i;

	avail[2 + f->avail_idx % QSIZE] = 0;
	f->avail_idx++;
	__atomic_store_n(&avail[1], f->avail_idx, __ATOMIC_RELEASE);
	wr(f, VIRTIO_NOTIFY_OFF, 0, 2);
	for (i = 0; i < 5000; i++) {
		if (__atomic_load_n(&used[1], __ATOMIC_ACQUIRE) != f->used_seen) {
			u32 *e = (u32 *)(used + 2) + 2 * (f->used_seen % QSIZE);

			f->used_seen++;
			assert_int_equal(e[0], 0);	/* the head */
			return e[1];
		}
		usleep(1000);
	}
	return -1;
}

/* Distinct byte values in p[0, n). */
static unsigned distinct(const u8 *p, size_t n)
{
	bool seen[256] = { false };
	unsigned d = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		d += !seen[p[i]];
		seen[p[i]] = true;
	}
	return d;
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
	assert_true(distinct(a, 32) > 8);
	assert_true(distinct(b, 100) > 16);
	/* Past the buffer: untouched. */
	assert_int_equal(distinct(b + 100, 100), 1);
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
	assert_true(distinct(big + VIRTIO_RNG_MAX_REQ - 256, 256) > 100);
	assert_int_equal(distinct(big + VIRTIO_RNG_MAX_REQ, VIRTIO_RNG_MAX_REQ), 1);

	/* Nothing writable: nothing written, the chain still comes back. */
	memset(a, 0, 32);
	set_desc(f, 0, DATA, 32, 0, 0);
	assert_int_equal(request(f), 0);
	assert_int_equal(distinct(a, 32), 1);
	assert_int_equal(a[0], 0);
	assert_false(rd(f, 20, 1) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_hostile_loop_then_reset(void **state)
{
	struct fixture *f = *state;
	int i;

	set_desc(f, 0, DATA, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, DATA2, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
	assert_int_equal(request(f) == -1 ? 0 : 1, 0);	/* never returned */
	for (i = 0; i < 5000 && !(rd(f, 20, 1) & VIRTIO_STATUS_NEEDS_RESET); i++)
		usleep(1000);
	assert_true(rd(f, 20, 1) & VIRTIO_STATUS_NEEDS_RESET);
	driver_init(f);
	assert_false(rd(f, 20, 1) & VIRTIO_STATUS_NEEDS_RESET);
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
