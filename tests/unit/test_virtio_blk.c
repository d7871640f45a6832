// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk through the modern virtio-pci transport, driven like a guest
 * driver would through the MMIO bus (tests/fuzz/vdrv.h): feature negotiation (a feature we do
 * not offer is refused), queue set-up, then real requests served by a real
 * I/O thread and io_uring on a temporary image: write, read back, GET_ID,
 * flush, write-zeroes, an out-of-range sector, an unknown type. Then a
 * hostile driver: a descriptor loop must set DEVICE_NEEDS_RESET and stop
 * the queue, and a reset must bring the device back to a usable state.
 * Last, every input of the virtqueue fuzz corpus (tests/fuzz/corpus/virtq:
 * loops, out-of-RAM addresses, oversized lengths, ...) is put in guest RAM
 * as the rings of queue 0 and kicked through the real device and I/O
 * thread: the bad ones must end in NEEDS_RESET, none may crash us, and
 * after a reset the device serves a good request again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../fuzz/corpus.h"
#include "../fuzz/vdrv.h"
#include "../fuzz/virtq_harness.h"
#include "lib/layout.h"
#include "vmm/devices/virtio_blk.h"

#define IMG_SIZE	(4 * MiB)
#define QSIZE		8
#define HDR		0x20000ULL
#define DATA		0x30000ULL
#define DATA2		0x40000ULL
#define STATUS		0x50000ULL

struct fixture {
	struct vdrv d;
	struct virtio_blk blk;
	char path[64];
	u16 used_seen;
};

static void *hva(struct fixture *f, u64 gpa, u64 len)
{
	void *p = vdrv_hva(&f->d, gpa, len);

	assert_non_null(p);
	return p;
}

/* Register accesses by offset in BAR 4, as the guest makes them. */
static u64 rd(struct fixture *f, u64 off, u32 len)
{
	return vdrv_rd(&f->d, off, len);
}

static void wr(struct fixture *f, u64 off, u64 v, u32 len)
{
	vdrv_wr(&f->d, off, v, len);
}

/*
 * The driver's side of initialisation (virtio 1.2, 3.1.1), queue 0 of
 * size qsize at the given rings, with the features in keep only.
 */
static void driver_init_q(struct fixture *f, u16 qsize, u64 desc, u64 avail,
			  u64 used, u64 keep)
{
	u64 feat = vdrv_features(&f->d);

	assert_true(feat & (1ULL << VIRTIO_F_VERSION_1));
	assert_true(feat & (1ULL << VIRTIO_F_EVENT_IDX));
	assert_true(vdrv_negotiate(&f->d, keep) & VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(rd(f, VDRV_NUMQ, 2), 2);
	wr(f, VDRV_QSELECT, 0, 2);
	assert_int_equal(rd(f, VDRV_QSIZE, 2), VIRTIO_BLK_QUEUE_SIZE);
	vdrv_queue_at(&f->d, 0, qsize, VIRTIO_NO_VECTOR, desc, avail, used);
	assert_int_equal(rd(f, VDRV_QENABLE, 2), 1);
	vdrv_driver_ok(&f->d);
	f->used_seen = 0;
}

static void driver_init(struct fixture *f)
{
	driver_init_q(f, QSIZE, vdrv_ring(0), vdrv_ring(0) + 0x1000,
		      vdrv_ring(0) + 0x2000, ~0ULL);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct virtio_blk_opts o = { .serial = "unit-serial", .queues = 2 };
	int fd;

	assert_non_null(f);
	strcpy(f->path, "/tmp/smpv-blk-unit-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, IMG_SIZE), 0);
	close(fd);
	o.path = f->path;
	assert_int_equal(vdrv_init(&f->d), 0);
	assert_int_equal(virtio_blk_create(&f->blk, 0, &o, &f->d.dm, &f->d.mem,
					   f->d.iots, 1), 0);
	assert_int_equal(vdrv_attach(&f->d, &f->blk.vp, true), 0);
	driver_init(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vdrv_stop(&f->d);
	vdrv_fini(&f->d);
	unlink(f->path);
	free(f);
	return 0;
}

static void set_desc(struct fixture *f, unsigned i, u64 addr, u32 len,
		     u16 flags, u16 next)
{
	vdrv_desc(&f->d, 0, i, addr, len, flags, next);
}

/* Offer chain head 0 and kick through the notify region. */
static void kick(struct fixture *f)
{
	vdrv_offer(&f->d, 0, 0);
	vdrv_kick(&f->d, 0);
}

/* Wait (up to 5 s) for the device to return the chain. */
static bool wait_used(struct fixture *f)
{
	if (!vdrv_wait_used(&f->d, 0, (u16)(f->used_seen + 1)))
		return false;
	f->used_seen++;
	return true;
}

/* One request: header, optional data, status; returns the status byte. */
static int request(struct fixture *f, u32 type, u64 sector, u64 data,
		   u32 len, bool data_in)
{
	struct { u32 type, reserved; u64 sector; } hdr = { type, 0, sector };
	u8 *status = hva(f, STATUS, 1);
	u16 st_desc = len ? 2 : 1;

	memcpy(hva(f, HDR, sizeof(hdr)), &hdr, sizeof(hdr));
	*status = 0xee;
	set_desc(f, 0, HDR, sizeof(hdr), VIRTQ_DESC_F_NEXT, 1);
	if (len)
		set_desc(f, 1, data, len, VIRTQ_DESC_F_NEXT |
			 (data_in ? VIRTQ_DESC_F_WRITE : 0), 2);
	set_desc(f, st_desc, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	kick(f);
	if (!wait_used(f))
		return -1;
	return *status;
}

static void test_features_refused(void **state)
{
	struct fixture *f = *state;

	wr(f, 20, 0, 1);
	wr(f, 20, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER, 1);
	wr(f, 8, 1, 4);
	wr(f, 12, 1 | (1u << 30), 4);		/* VERSION_1 + bit 62 */
	wr(f, 20, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER |
	   VIRTIO_STATUS_FEATURES_OK, 1);
	assert_false(rd(f, 20, 1) & VIRTIO_STATUS_FEATURES_OK);
	/* Config space: capacity in sectors, 2 queues. */
	assert_int_equal(rd(f, VIRTIO_DEVICE_OFF, 8), IMG_SIZE / 512);
	assert_int_equal(rd(f, VIRTIO_DEVICE_OFF + 34, 2), 2);
}

static void test_io(void **state)
{
	struct fixture *f = *state;
	u8 *out = hva(f, DATA, 8192), *in = hva(f, DATA2, 8192);
	u8 buf[8192];
	unsigned i;
	FILE *fp;

	for (i = 0; i < 8192; i++)
		out[i] = (u8)(i * 7 + 3);
	assert_int_equal(request(f, 1, 16, DATA, 8192, false), 0);
	memset(in, 0, 8192);
	assert_int_equal(request(f, 0, 16, DATA2, 8192, true), 0);
	assert_memory_equal(in, out, 8192);
	/* It is in the file, at sector 16. */
	fp = fopen(f->path, "rb");
	assert_non_null(fp);
	fseek(fp, 16 * 512, SEEK_SET);
	assert_int_equal(fread(buf, 1, 8192, fp), 8192);
	fclose(fp);
	assert_memory_equal(buf, out, 8192);
	/* Flush, GET_ID, write zeroes. */
	assert_int_equal(request(f, 4, 0, 0, 0, false), 0);
	memset(in, 0, 20);
	assert_int_equal(request(f, 8, 0, DATA2, 20, true), 0);
	assert_string_equal((char *)in, "unit-serial");
	{
		struct { u64 sector; u32 num, flags; } seg = { 16, 8, 0 };

		memcpy(out, &seg, sizeof(seg));
		assert_int_equal(request(f, 13, 0, DATA, sizeof(seg), false), 0);
	}
	assert_int_equal(request(f, 0, 16, DATA2, 8192, true), 0);
	for (i = 0; i < 4096; i++)
		assert_int_equal(in[i], 0);
	assert_int_equal(in[4096], out[4096]);
	/* Past the end, a partial sector, an unknown type. */
	assert_int_equal(request(f, 0, IMG_SIZE / 512, DATA2, 512, true), 1);
	assert_int_equal(request(f, 0, IMG_SIZE / 512 - 1, DATA2, 1024, true), 1);
	assert_int_equal(request(f, 0, ~0ULL / 512, DATA2, 512, true), 1);
	assert_int_equal(request(f, 1, 0, DATA, 100, false), 1);
	assert_int_equal(request(f, 99, 0, DATA, 512, false), 2);
}

/*
 * Write zeroes where fallocate(2) is not supported (9p, some block
 * devices): zero buffers are written instead, more than one of them for a
 * range larger than the buffer (1 MiB), and the neighbours stay intact.
 */
static void test_write_zeroes_without_fallocate(void **state)
{
	struct fixture *f = *state;
	u8 *out = hva(f, DATA, 8192), *in = hva(f, DATA2, 8192);
	u8 *buf = malloc(IMG_SIZE);

	struct { u64 sector; u32 num, flags; } seg = { 8, IMG_SIZE / 512 - 16, 0 };
	FILE *fp;
	u64 i;

	assert_non_null(buf);
	memset(buf, 0xa5, IMG_SIZE);
	fp = fopen(f->path, "r+b");
	assert_non_null(fp);
	assert_int_equal(fwrite(buf, 1, IMG_SIZE, fp), IMG_SIZE);
	fclose(fp);
	f->blk.no_falloc = true;
	memcpy(out, &seg, sizeof(seg));
	assert_int_equal(request(f, 13, 0, DATA, sizeof(seg), false), 0);
	fp = fopen(f->path, "rb");
	assert_non_null(fp);
	assert_int_equal(fread(buf, 1, IMG_SIZE, fp), IMG_SIZE);
	fclose(fp);
	for (i = 0; i < IMG_SIZE; i++)
		if (buf[i] != (i < 8 * 512 || i >= IMG_SIZE - 8 * 512 ? 0xa5 : 0))
			fail_msg("byte %llu is 0x%02x", (unsigned long long)i, buf[i]);
	/* Reads see it too. */
	assert_int_equal(request(f, 0, 8, DATA2, 4096, true), 0);
	for (i = 0; i < 4096; i++)
		assert_int_equal(in[i], 0);
	free(buf);
}

static void test_hostile_loop_then_reset(void **state)
{
	struct fixture *f = *state;
	int i;

	/* A chain that loops: 0 -> 1 -> 0. */
	set_desc(f, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, DATA, 512, VIRTQ_DESC_F_NEXT, 0);
	kick(f);
	for (i = 0; i < 5000; i++) {
		if (rd(f, 20, 1) & VIRTIO_STATUS_NEEDS_RESET)
			break;
		usleep(1000);
	}
	assert_true(rd(f, 20, 1) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(rd(f, VIRTIO_ISR_OFF, 1), VIRTIO_ISR_CONFIG);
	assert_int_equal(rd(f, VIRTIO_ISR_OFF, 1), 0);	/* read clears */
	/* Further kicks do nothing. */
	kick(f);
	assert_false(wait_used(f));
	/* Reset, set up again: works. */
	memset(hva(f, vdrv_ring(0) + 0x1000, 0x2000), 0, 0x2000);
	driver_init(f);
	assert_false(rd(f, 20, 1) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(request(f, 4, 0, 0, 0, false), 0);
}

static void test_hostile_rings(void **state)
{
	struct fixture *f = *state;

	/* Rings outside RAM: enabling the queue fails the device. */
	wr(f, 20, 0, 1);
	wr(f, 20, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER, 1);
	wr(f, 8, 1, 4);
	wr(f, 12, 1, 4);
	wr(f, 20, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER |
	   VIRTIO_STATUS_FEATURES_OK, 1);
	wr(f, 22, 1, 2);
	wr(f, 32, 0xfee00000, 8);
	wr(f, 28, 1, 2);
	assert_int_equal(rd(f, 28, 2), 0);
	assert_true(rd(f, 20, 1) & VIRTIO_STATUS_NEEDS_RESET);
	/* Bad sizes and vectors are not taken. */
	wr(f, 22, 0, 2);
	wr(f, 24, 7, 2);
	assert_int_equal(rd(f, 24, 2), VIRTIO_BLK_QUEUE_SIZE);
	wr(f, 26, 99, 2);
	assert_int_equal(rd(f, 26, 2), VIRTIO_NO_VECTOR);
	wr(f, 26, 1, 2);
	assert_int_equal(rd(f, 26, 2), 1);
	/* A queue that does not exist reads as absent. */
	wr(f, 22, 5, 2);
	assert_int_equal(rd(f, 24, 2), 0);
	wr(f, 28, 1, 2);
	/* Odd accesses to the common config are harmless. */
	wr(f, 3, 0xff, 2);
	assert_int_equal(rd(f, 0x30, 4), 0);
	wr(f, 20, 0, 1);
	assert_int_equal(rd(f, 20, 1), 0);
}

static bool needs_reset_within(struct fixture *f, int ms)
{
	int i;

	for (i = 0; i < ms; i++) {
		if (rd(f, 20, 1) & VIRTIO_STATUS_NEEDS_RESET)
			return true;
		usleep(1000);
	}
	return false;
}

/* One corpus input (virtq_harness.h's format) as queue 0 of the device. */
static bool replay_one(struct fixture *f, const u8 *data, size_t n)
{
	u16 qsize = 1 << (data[0] % 9);
	u64 keep = ~((1ULL << VIRTIO_F_EVENT_IDX) | (1ULL << VIRTIO_F_INDIRECT_DESC));
	u16 *avail;

	if (data[1] & 1)
		keep |= 1ULL << VIRTIO_F_EVENT_IDX;
	if (data[1] & 2)
		keep |= 1ULL << VIRTIO_F_INDIRECT_DESC;
	wr(f, 20, 0, 1);		/* reset: the I/O thread lets go */
	memset(hva(f, 0, HARNESS_CLEAR), 0, HARNESS_CLEAR);
	memcpy(hva(f, HARNESS_DESC_GPA, n - 4), data + 4, n - 4);
	driver_init_q(f, qsize, HARNESS_DESC_GPA, HARNESS_DESC_GPA + 16ULL * qsize,
		      HARNESS_USED_GPA, keep);
	avail = hva(f, HARNESS_DESC_GPA + 16ULL * qsize, 4);
	__atomic_store_n(&avail[1], (u16)(data[2] | data[3] << 8), __ATOMIC_RELEASE);
	wr(f, VIRTIO_NOTIFY_OFF, 0, 2);
	return needs_reset_within(f, 300);
}

static void test_fuzz_corpus_through_device(void **state)
{
	struct fixture *f = *state;
	const char *dir = corpus_dir();
	static u8 buf[HARNESS_MAX_INPUT + 4];
	unsigned files = 0, bad = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d))) {
		bool reset;
		long n;

		if (de->d_name[0] == '.')
			continue;
		n = corpus_load(dir, de->d_name, buf, sizeof(buf));
		if (n < 4)
			continue;
		reset = replay_one(f, buf, n);
		files++;
		if (!strncmp(de->d_name, "bad-", 4)) {
			if (!reset)
				fail_msg("%s: no NEEDS_RESET", de->d_name);
			bad++;
		}
		/* Whatever it was: reset, and the device works again. */
		driver_init(f);
		assert_false(rd(f, 20, 1) & VIRTIO_STATUS_NEEDS_RESET);
		assert_int_equal(request(f, 4, 0, 0, 0, false), 0);
	}
	closedir(d);
	assert_true(files >= 8 && bad >= 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_features_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_io, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_zeroes_without_fallocate,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_loop_then_reset,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_rings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fuzz_corpus_through_device,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
