// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile guest against the virtio transport and virtio-net: the
 * device status state machine (virtio 1.2, 3.1.1: bits accumulate in
 * order, anything else sets NEEDS_RESET), and the receive-path attack of
 * the hostile-guest issue reproduced step by step: a partly received
 * packet, DRIVER_OK cleared without a reset, a reset, then a smaller ring
 * with buffers that hold nothing. Before the fix that wrote guest-chosen
 * values past the device's arrays (ASan: heap-buffer-overflow in
 * rx_place); now the partial packet dies with the reset and the bad
 * buffers set NEEDS_RESET.
 *
 * The tap is one end of a datagram socket pair (virtio_net_opts.fds):
 * no CAP_NET_ADMIN needed, every packet exactly what the test sends.
 *
 * virtio-blk: a write taken just before the queue failed must not reach
 * the disk with bytes the guest wrote after its reset, nor complete onto
 * the ring it set up since (the second attack).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../fuzz/vdrv.h"
#include "vmm/devices/virtio_blk.h"
#include "vmm/devices/virtio_net.h"

#define F_MRG_RXBUF	15
#define HDR_LEN		12
#define RXQ		0
#define TXQ		1

struct fixture {
	struct vdrv d;
	struct virtio_net net;
	int peer;		/* the other end of the "tap" */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct virtio_net_opts o = { .queues = 1 };
	int sv[2];

	assert_non_null(f);
	assert_int_equal(vdrv_init(&f->d), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	o.fds = &sv[0];
	f->peer = sv[1];
	assert_int_equal(virtio_net_create(&f->net, 0, &o, &f->d.dm, &f->d.mem,
					   f->d.iots, 1), 0);
	assert_false(f->net.is_tap);
	assert_int_equal(vdrv_attach(&f->d, &f->net.vp, true), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vdrv_stop(&f->d);
	vdrv_fini(&f->d);
	close(f->peer);
	free(f);
	return 0;
}

/* A packet as the tap delivers it: header, then len bytes of pattern. */
static void send_packet(struct fixture *f, size_t len, u8 seed)
{
	u8 p[HDR_LEN + 2048] = { 0 };
	size_t i;

	assert_true(len <= 2048);
	for (i = 0; i < len; i++)
		p[HDR_LEN + i] = (u8)(i * 7 + seed);
	assert_int_equal(send(f->peer, p, HDR_LEN + len, 0),
			 (ssize_t)(HDR_LEN + len));
}

/* Wait up to 5 s for cond on the device. */
#define WAIT_FOR(cond) do {						\
	int _i;								\
	for (_i = 0; _i < 5000 && !(cond); _i++)			\
		usleep(1000);						\
	assert_true(cond);						\
} while (0)

static u16 rx_taken(struct fixture *f)
{
	struct virtio_queue *q = &f->net.vp.q[RXQ];
	u16 n;

	pthread_mutex_lock(&q->lock);
	n = q->live ? q->vq.last_avail : 0;
	pthread_mutex_unlock(&q->lock);
	return n;
}

/* Up with MRG_RXBUF, receive queue of size qsize, transmit queue of 8. */
static void up(struct fixture *f, u16 qsize)
{
	u8 st = vdrv_negotiate(&f->d, (1ULL << F_MRG_RXBUF) |
			       (1ULL << VIRTIO_F_VERSION_1));

	assert_int_equal(st, VDRV_S_UP);
	vdrv_queue(&f->d, RXQ, qsize, VIRTIO_NO_VECTOR);
	vdrv_queue(&f->d, TXQ, 8, VIRTIO_NO_VECTOR);
	vdrv_driver_ok(&f->d);
	assert_int_equal(vdrv_status(&f->d), VDRV_S_UP | VIRTIO_STATUS_DRIVER_OK);
}

/* The sequence of the issue, as written there. */
static void test_partial_packet_dies_with_reset(void **state)
{
	struct fixture *f = *state;
	const u8 live = VDRV_S_UP | VIRTIO_STATUS_DRIVER_OK;
	u32 head, len;
	u8 *buf;
	unsigned i;

	/* 1. Seven 20-byte buffers, a 1000-byte packet: partly placed. */
	up(f, 8);
	for (i = 0; i < 7; i++) {
		vdrv_desc(&f->d, RXQ, i, VDRV_BUF_GPA + 0x1000 * i, 20,
			  VIRTQ_DESC_F_WRITE, 0);
		vdrv_offer(&f->d, RXQ, (u16)i);
	}
	vdrv_kick(&f->d, RXQ);
	send_packet(f, 1000, 1);
	vdrv_kick(&f->d, RXQ);
	WAIT_FOR(rx_taken(f) == 7);
	assert_int_equal(vdrv_used_idx(&f->d, RXQ), 0);	/* none published */

	/* 2. DRIVER_OK cleared without a reset: refused, NEEDS_RESET. */
	vdrv_wr(&f->d, VDRV_STATUS, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER, 1);
	assert_int_equal(vdrv_status(&f->d), live | VIRTIO_STATUS_NEEDS_RESET);
	/* 3. DRIVER_OK again (FEATURES_OK cleared): refused as well. */
	vdrv_wr(&f->d, VDRV_STATUS, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER |
		VIRTIO_STATUS_DRIVER_OK, 1);
	assert_int_equal(vdrv_status(&f->d), live | VIRTIO_STATUS_NEEDS_RESET);

	/* 4. Reset: everything goes, whatever state the queue was in. */
	vdrv_wr(&f->d, VDRV_STATUS, 0, 1);
	assert_int_equal(vdrv_status(&f->d), 0);

	/* 5. A 2-entry ring whose buffers hold no writable byte. */
	up(f, 2);
	for (i = 0; i < 2; i++) {
		vdrv_desc(&f->d, RXQ, i, VDRV_BUF_GPA, 64, 0, 0);
		vdrv_offer(&f->d, RXQ, (u16)i);
	}
	send_packet(f, 100, 2);
	vdrv_kick(&f->d, RXQ);
	WAIT_FOR(vdrv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(vdrv_used_idx(&f->d, RXQ), 0);

	/* The device works again after a reset, and nothing old is left. */
	up(f, 2);
	vdrv_desc(&f->d, RXQ, 0, VDRV_BUF_GPA, 2048, VIRTQ_DESC_F_WRITE, 0);
	vdrv_offer(&f->d, RXQ, 0);
	send_packet(f, 300, 3);
	vdrv_kick(&f->d, RXQ);
	WAIT_FOR(vdrv_used_idx(&f->d, RXQ) == 1);
	vdrv_used(&f->d, RXQ, 0, &head, &len);
	assert_int_equal(head, 0);
	assert_int_equal(len, HDR_LEN + 300);
	buf = vdrv_hva(&f->d, VDRV_BUF_GPA, 2048);
	assert_int_equal(buf[10] | buf[11] << 8, 1);		/* num_buffers */
	for (i = 0; i < 300; i++)
		assert_int_equal(buf[HDR_LEN + i], (u8)(i * 7 + 3));
	assert_false(vdrv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
}

/* Every way of breaking the status protocol gets NEEDS_RESET, no more. */
static void test_status_rules(void **state)
{
	struct fixture *f = *state;
	static const struct {
		u8 before, write;
		const char *what;
	} bad[] = {
		{ VIRTIO_STATUS_ACK, VIRTIO_STATUS_DRIVER, "clears ACKNOWLEDGE" },
		{ 0, VIRTIO_STATUS_DRIVER, "DRIVER before ACKNOWLEDGE" },
		{ VIRTIO_STATUS_ACK, VIRTIO_STATUS_ACK | VIRTIO_STATUS_FEATURES_OK,
		  "FEATURES_OK before DRIVER" },
		{ VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER,
		  VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK,
		  "DRIVER_OK before FEATURES_OK" },
		{ VIRTIO_STATUS_ACK, VIRTIO_STATUS_ACK | VIRTIO_STATUS_NEEDS_RESET,
		  "the driver sets NEEDS_RESET" },
		{ VDRV_S_UP, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER,
		  "clears FEATURES_OK" },
	};
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		u8 want = bad[i].before ? bad[i].before : 0;

		vdrv_wr(&f->d, VDRV_STATUS, 0, 1);
		if (bad[i].before == VDRV_S_UP)
			assert_int_equal(vdrv_negotiate(&f->d, 1ULL << VIRTIO_F_VERSION_1),
					 VDRV_S_UP);
		else if (bad[i].before)
			vdrv_wr(&f->d, VDRV_STATUS, bad[i].before, 1);
		vdrv_wr(&f->d, VDRV_STATUS, bad[i].write, 1);
		print_message("status %#x then %#x (%s): reads %#x\n",
			      bad[i].before, bad[i].write, bad[i].what,
			      (unsigned)vdrv_status(&f->d));
		assert_int_equal(vdrv_status(&f->d), want | VIRTIO_STATUS_NEEDS_RESET);
	}
	/* Features are fixed once FEATURES_OK is set. */
	assert_int_equal(vdrv_negotiate(&f->d, 1ULL << VIRTIO_F_VERSION_1), VDRV_S_UP);
	vdrv_wr(&f->d, VDRV_GFSELECT, 0, 4);
	vdrv_wr(&f->d, VDRV_GF, 1u << F_MRG_RXBUF, 4);
	assert_false(virtio_has(&f->net.vp, F_MRG_RXBUF));
	/* Features the device did not offer: FEATURES_OK stays clear. */
	vdrv_wr(&f->d, VDRV_STATUS, 0, 1);
	vdrv_wr(&f->d, VDRV_STATUS, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER, 1);
	vdrv_wr(&f->d, VDRV_GFSELECT, 1, 4);
	vdrv_wr(&f->d, VDRV_GF, 1 | (1u << 30), 4);
	vdrv_wr(&f->d, VDRV_STATUS, VDRV_S_UP, 1);
	assert_int_equal(vdrv_status(&f->d), VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
	/* FAILED is the driver's way out: accepted, then only reset helps. */
	vdrv_wr(&f->d, VDRV_STATUS, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER |
		VIRTIO_STATUS_FAILED, 1);
	assert_int_equal(vdrv_status(&f->d), VIRTIO_STATUS_ACK |
			 VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FAILED);
	vdrv_wr(&f->d, VDRV_STATUS, 0, 1);
	assert_int_equal(vdrv_status(&f->d), 0);
	/* And a well-behaved driver still gets a working device. */
	up(f, 8);
	assert_int_equal(f->net.vp.status_refused, 0 + sizeof(bad) / sizeof(bad[0]));
}

/* DRIVER_OK written twice starts the queues once: no double start. */
static void test_driver_ok_once(void **state)
{
	struct fixture *f = *state;
	const u8 live = VDRV_S_UP | VIRTIO_STATUS_DRIVER_OK;

	up(f, 8);
	vdrv_desc(&f->d, RXQ, 0, VDRV_BUF_GPA, 2048, VIRTQ_DESC_F_WRITE, 0);
	vdrv_offer(&f->d, RXQ, 0);
	vdrv_kick(&f->d, RXQ);
	WAIT_FOR(rx_taken(f) == 0 && f->net.vp.q[RXQ].live);
	vdrv_driver_ok(&f->d);			/* again: nothing changes */
	assert_int_equal(vdrv_status(&f->d), live);
	send_packet(f, 64, 9);
	WAIT_FOR(vdrv_used_idx(&f->d, RXQ) == 1);
	assert_int_equal(rx_taken(f), 1);
}

struct blk_fixture {
	struct vdrv d;
	struct virtio_blk blk;
	char path[64];
};

static int blk_setup(void **state)
{
	struct blk_fixture *f = calloc(1, sizeof(*f));
	struct virtio_blk_opts o = { .queues = 1 };
	int fd;

	assert_non_null(f);
	strcpy(f->path, "/tmp/smpv-hostile-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 * MiB), 0);
	close(fd);
	o.path = f->path;
	assert_int_equal(vdrv_init(&f->d), 0);
	assert_int_equal(virtio_blk_create(&f->blk, 0, &o, &f->d.dm, &f->d.mem,
					   f->d.iots, 1), 0);
	assert_int_equal(vdrv_attach(&f->d, &f->blk.vp, true), 0);
	*state = f;
	return 0;
}

static int blk_teardown(void **state)
{
	struct blk_fixture *f = *state;

	vdrv_stop(&f->d);
	vdrv_fini(&f->d);
	unlink(f->path);
	free(f);
	return 0;
}

static void blk_up(struct blk_fixture *f)
{
	assert_int_equal(vdrv_negotiate(&f->d, 1ULL << VIRTIO_F_VERSION_1),
			 VDRV_S_UP);
	vdrv_queue(&f->d, 0, 8, VIRTIO_NO_VECTOR);
	vdrv_driver_ok(&f->d);
	assert_int_equal(vdrv_status(&f->d), VDRV_S_UP | VIRTIO_STATUS_DRIVER_OK);
}

/* Sector 0 of the image holds only byte c. */
static bool sector_is(struct blk_fixture *f, u8 c)
{
	u8 b[512];
	int fd = open(f->path, O_RDONLY), i;
	bool same = true;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, b, sizeof(b), 0), (ssize_t)sizeof(b));
	close(fd);
	for (i = 0; i < 512; i++)
		same &= b[i] == c;
	return same;
}

static void test_blk_reset_stops_old_io(void **state)
{
	struct blk_fixture *f = *state;
	const u64 hdr = VDRV_BUF_GPA, data = VDRV_BUF_GPA + 0x1000,
		  status = VDRV_BUF_GPA + 0x2000;
	u8 *h = vdrv_hva(&f->d, hdr, 16), *p = vdrv_hva(&f->d, data, 512);
	u8 *st = vdrv_hva(&f->d, status, 1);

	blk_up(f);
	/* Head 0: a valid write of 'A's to sector 0. */
	memset(h, 0, 16);
	h[0] = 1;					/* VIRTIO_BLK_T_OUT */
	memset(p, 'A', 512);
	*st = 0xff;
	vdrv_desc(&f->d, 0, 0, hdr, 16, VIRTQ_DESC_F_NEXT, 1);
	vdrv_desc(&f->d, 0, 1, data, 512, VIRTQ_DESC_F_NEXT, 2);
	vdrv_desc(&f->d, 0, 2, status, 1, VIRTQ_DESC_F_WRITE, 0);
	/* Head 3: a header and no status byte: the queue fails on it. */
	vdrv_desc(&f->d, 0, 3, hdr, 16, 0, 0);
	vdrv_offer(&f->d, 0, 0);
	vdrv_offer(&f->d, 0, 3);
	vdrv_kick(&f->d, 0);
	WAIT_FOR(vdrv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);

	/* Reset, new bytes in the same buffer, a new ring, a kick. */
	vdrv_wr(&f->d, VDRV_STATUS, 0, 1);
	assert_int_equal(vdrv_status(&f->d), 0);
	assert_false(sector_is(f, 'B'));
	memset(p, 'B', 512);
	blk_up(f);
	vdrv_kick(&f->d, 0);
	usleep(200 * 1000);
	/* The old write went before the reset (or never): not with 'B's. */
	assert_false(sector_is(f, 'B'));
	assert_true(sector_is(f, 'A') || sector_is(f, 0));
	assert_int_equal(vdrv_used_idx(&f->d, 0), 0);
	assert_int_equal(*st, 0xff);		/* nor its status, after reset */
	assert_false(vdrv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_partial_packet_dies_with_reset,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_driver_ok_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_reset_stops_old_io,
						blk_setup, blk_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
