// SPDX-License-Identifier: GPL-2.0
/*
 * Every virtio device through the device model. A guest-side driver
 * (tests/fuzz/vdrv.h) brings a device mid-operation: virtio-blk with a
 * request completed, one taken while it pauses, a masked MSI-X vector
 * with its pending bit set and a request posted but kicked only while
 * paused; virtio-net with a packet partly placed in receive buffers and
 * a transmit posted, its kick arriving while paused; virtio-rng likewise.
 * The machine's device manager pauses it and saves it; a fresh device in
 * a fresh manager, with a copy of guest RAM, loads the stream and
 * resumes. The guest must then see every request completed exactly once
 * with the right data, the indices go on, and masked vectors stay masked
 * and pending. Tampered streams and devices of another configuration are
 * refused with the reason.
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

#include "../fuzz/vdrv_state.h"
#include "vmm/devices/virtio_blk.h"
#include "vmm/devices/virtio_net.h"
#include "vmm/devices/virtio_rng.h"

#define F_MRG_RXBUF	15
#define HDR_LEN		12
#define SECTOR		512

/* One machine: the driver's side and the device. */
struct side {
	struct vdrv d;
	union {
		struct virtio_blk blk;
		struct virtio_net net;
		struct virtio_rng rng;
	} u;
	int peer;		/* virtio-net: the other end of its "tap" */
	bool up;
};

struct fixture {
	struct side src, dst;
	char path[64];		/* virtio-blk: the image both share */
	u8 *stream;
	size_t len;
};

static void *hva(struct side *s, u64 gpa, u64 len)
{
	void *p = vdrv_hva(&s->d, gpa, len);

	assert_non_null(p);
	return p;
}

static void side_fini(struct side *s)
{
	if (!s->up)
		return;
	vdrv_stop(&s->d);
	vdrv_fini(&s->d);
	if (s->peer > 0)
		close(s->peer);
	memset(s, 0, sizeof(*s));
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	side_fini(&f->src);
	side_fini(&f->dst);
	if (f->path[0])
		unlink(f->path);
	free(f->stream);
	free(f);
	return 0;
}

/* The device is made: plug it in, I/O thread running. */
static void side_up(struct side *s, int create, struct virtio_pci *vp)
{
	assert_int_equal(create, 0);
	assert_int_equal(vdrv_attach(&s->d, vp, true), 0);
	s->up = true;
}

/*
 * Save src (paused by it), copy its RAM to dst, load dst: 0 or -errno.
 * The driver's own bookkeeping goes along, as it would in guest RAM.
 */
static int migrate(struct fixture *f, const u8 *stream, size_t len,
		   struct state_reader *r)
{
	if (!f->stream) {
		f->stream = vdrv_save(&f->src.d, &f->len);
		assert_non_null(f->stream);
	}
	dm_pause(&f->dst.d.dm);		/* RAM is filled in before the load */
	vdrv_copy_ram(&f->dst.d, &f->src.d);
	memcpy(f->dst.d.avail, f->src.d.avail, sizeof(f->src.d.avail));
	memcpy(f->dst.d.qsize, f->src.d.qsize, sizeof(f->src.d.qsize));
	return vdrv_load(&f->dst.d, stream ? stream : f->stream,
			 stream ? len : f->len, r);
}

/* A tampered copy of the saved stream is refused, why naming the cause. */
static void refused(struct fixture *f, const char *sec, const char *field,
		    u32 off, const void *v, u32 n, const char *why)
{
	u8 *t = vdrv_tamper(f->stream, f->len, sec, field, off, v, n);
	struct state_reader r;

	assert_non_null(t);
	assert_int_not_equal(migrate(f, t, f->len, &r), 0);
	print_message("%s: %s\n", field, r.why);
	if (!strstr(r.why, why))
		fail_msg("refusal of %s: \"%s\" lacks \"%s\"", field, r.why, why);
	free(t);
}

/* Chains the device took from queue q so far. */
static u16 taken(struct side *s, unsigned q)
{
	struct virtio_queue *vq = &s->d.vp->q[q];
	u16 n;

	pthread_mutex_lock(&vq->lock);
	n = vq->vq.last_avail;
	pthread_mutex_unlock(&vq->lock);
	return n;
}

static void wait_taken(struct side *s, unsigned q, u16 n)
{
	int i;

	for (i = 0; i < 5000 && taken(s, q) != n; i++)
		usleep(1000);
	assert_int_equal(taken(s, q), n);
}

/* --- virtio-blk --- */

#define B_HDR		VDRV_BUF_GPA
#define B_STATUS	(VDRV_BUF_GPA + 0x100)	/* one byte per request */
#define B_DATA		(VDRV_BUF_GPA + 0x1000)	/* 0x1000 per request */
#define B_BIG		0x100000ULL
#define B_BIG_LEN	(256 * 1024)

static void blk_side(struct fixture *f, struct side *s, u64 img, bool mq)
{
	struct virtio_blk_opts o = { .path = f->path, .serial = "state-0",
				     .queues = mq ? 2 : 1 };
	int fd = open(f->path, O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)img), 0);
	close(fd);
	assert_int_equal(vdrv_init(&s->d), 0);
	side_up(s, virtio_blk_create(&s->u.blk, 0, &o, &s->d.dm, &s->d.mem,
				     s->d.iots, 1), &s->u.blk.vp);
}

static int blk_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	assert_non_null(f);
	strcpy(f->path, "/tmp/smpv-state-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	blk_side(f, &f->src, 1 * MiB, false);
	*state = f;
	return 0;
}

/*
 * Request i (i < 16): header, data of len bytes, status; heads 3i ..
 * 3i + 2. Offered; kicked if kick.
 */
static void blk_req(struct side *s, unsigned i, u32 type, u64 sector,
		    u64 data, u32 len, bool kick)
{
	struct { u32 type, reserved; u64 sector; } h = { type, 0, sector };
	u16 d = (u16)(3 * i);

	memcpy(hva(s, B_HDR + 16 * i, 16), &h, 16);
	*(u8 *)hva(s, B_STATUS + i, 1) = 0xee;
	vdrv_desc(&s->d, 0, d, B_HDR + 16 * i, 16, VIRTQ_DESC_F_NEXT, d + 1);
	vdrv_desc(&s->d, 0, d + 1, data, len, VIRTQ_DESC_F_NEXT |
		  (type == 0 ? VIRTQ_DESC_F_WRITE : 0), d + 2);
	vdrv_desc(&s->d, 0, d + 2, B_STATUS + i, 1, VIRTQ_DESC_F_WRITE, 0);
	vdrv_offer(&s->d, 0, d);
	if (kick)
		vdrv_kick(&s->d, 0);
}

/* The image at byte off holds len bytes of c. */
static bool image_is(struct fixture *f, u64 off, u32 len, u8 c)
{
	u8 *b = malloc(len);
	int fd = open(f->path, O_RDONLY);
	bool same;
	u32 i;

	assert_true(b && fd >= 0);
	assert_int_equal(pread(fd, b, len, (off_t)off), (ssize_t)len);
	close(fd);
	for (i = 0, same = true; i < len; i++)
		same &= b[i] == c;
	free(b);
	return same;
}

/* The driver up with MSI-X, queue 0 on vector 0 (unmasked), DRIVER_OK. */
static void blk_up(struct side *s)
{
	assert_int_equal(vdrv_negotiate(&s->d, 1ULL << VIRTIO_F_VERSION_1),
			 VDRV_S_UP);
	vdrv_msix_on(&s->d);
	vdrv_msix_vector(&s->d, 0, false);
	vdrv_queue(&s->d, 0, 16, 0);
	vdrv_driver_ok(&s->d);
}

static void test_blk_migrate(void **state)
{
	struct fixture *f = *state;
	struct side *s = &f->src, *t = &f->dst;
	struct state_reader r;
	u32 head, len, i;

	blk_up(s);
	/* 0: 'A's to sector 1, completed and signalled. */
	memset(hva(s, B_DATA, SECTOR), 'A', SECTOR);
	blk_req(s, 0, 1, 1, B_DATA, SECTOR, true);
	assert_true(vdrv_wait_used(&s->d, 0, 1));
	usleep(10 * 1000);
	assert_int_equal(vdrv_irqs(&s->d, 0), 1);
	/* 1: a large write, paused at once: likely still in the kernel. */
	memset(hva(s, B_BIG, B_BIG_LEN), 'W', B_BIG_LEN);
	blk_req(s, 1, 1, 64, B_BIG, B_BIG_LEN, true);
	wait_taken(s, 0, 2);
	dm_pause(&s->d.dm);
	/* Pause waited for it: completed, nothing left in flight. */
	assert_int_equal(vdrv_used_idx(&s->d, 0), 2);
	assert_true(image_is(f, 64 * SECTOR, B_BIG_LEN, 'W'));
	dm_resume(&s->d.dm);
	usleep(10 * 1000);
	assert_int_equal(vdrv_irqs(&s->d, 0), 1);	/* once, held or not */
	/* The vector masked: 2 completes with its interrupt pending. */
	vdrv_msix_vector(&s->d, 0, true);
	memset(hva(s, B_DATA + 0x2000, SECTOR), 'B', SECTOR);
	blk_req(s, 2, 1, 2, B_DATA + 0x2000, SECTOR, true);
	assert_true(vdrv_wait_used(&s->d, 0, 3));
	usleep(10 * 1000);
	assert_true(vdrv_msix_pending(&s->d, 0));
	assert_int_equal(vdrv_irqs(&s->d, 0), 0);
	/* 3: a read of sector 1, posted; its kick comes while paused. */
	memset(hva(s, B_DATA + 0x3000, SECTOR), 0, SECTOR);
	blk_req(s, 3, 0, 1, B_DATA + 0x3000, SECTOR, false);
	dm_pause(&s->d.dm);
	vdrv_kick(&s->d, 0);
	usleep(50 * 1000);
	assert_int_equal(vdrv_used_idx(&s->d, 0), 3);	/* remembered only */

	blk_side(f, t, 1 * MiB, false);
	assert_int_equal(migrate(f, NULL, 0, &r), 0);
	/* The read completes on the new device, once, with the data. */
	assert_true(vdrv_wait_used(&t->d, 0, 4));
	vdrv_used(&t->d, 0, 3, &head, &len);
	assert_int_equal(head, 9);
	assert_int_equal(len, SECTOR + 1);
	assert_int_equal(*(u8 *)hva(t, B_STATUS + 3, 1), 0);
	for (i = 0; i < SECTOR; i++)
		assert_int_equal(((u8 *)hva(t, B_DATA + 0x3000, SECTOR))[i], 'A');
	for (i = 0; i < 3; i++) {
		vdrv_used(&t->d, 0, (u16)i, &head, &len);
		assert_int_equal(head, 3 * i);
	}
	usleep(50 * 1000);
	assert_int_equal(vdrv_used_idx(&t->d, 0), 4);
	assert_int_equal(vdrv_used_idx(&s->d, 0), 3);	/* the source is done */
	/* Still masked and pending; unmasked, the interrupt arrives. */
	assert_true(vdrv_msix_pending(&t->d, 0));
	assert_int_equal(vdrv_irqs(&t->d, 0), 0);
	vdrv_msix_vector(&t->d, 0, false);
	assert_false(vdrv_msix_pending(&t->d, 0));
	assert_int_equal(vdrv_irqs(&t->d, 0), 1);
	/* The indices go on: request 0's chain again, a write of 'D's. */
	memset(hva(t, B_DATA, SECTOR), 'D', SECTOR);
	blk_req(t, 0, 1, 3, B_DATA, SECTOR, true);
	assert_true(vdrv_wait_used(&t->d, 0, 5));
	assert_true(image_is(f, 3 * SECTOR, SECTOR, 'D'));
	assert_false(vdrv_status(&t->d) & VIRTIO_STATUS_NEEDS_RESET);
}

/* Every value of the stream is checked as the guest's writes are. */
static void test_blk_tampered(void **state)
{
	static const struct {
		const char *field;
		u64 v;
		u32 size;
		const char *why;
	} bad[] = {
		{ "q.size", 3, 2, "size 3 is not a power of two" },
		{ "q.vector", 77, 2, "vector 77" },
		{ "q.desc", 0xfee00000, 8, "rings are not in guest RAM" },
		{ "status", VIRTIO_STATUS_ACK | VIRTIO_STATUS_FEATURES_OK, 1,
		  "skips a step" },
		{ "driver_features", (1ULL << VIRTIO_F_VERSION_1) | (1ULL << 40),
		  8, "accepted" },
		{ "isr", 0x80, 1, "ISR 0x80" },
		{ "q.live", 2, 1, "not a boolean" },
		{ "q.last_avail", 200, 2, "more than its size" },
		{ "size", 2 * MiB, 8, "a disk of 2097152 bytes" },
		{ "serial", 'X', 1, "another disk serial" },
	};
	struct fixture *f = *state;
	struct state_reader r;
	unsigned i;

	blk_up(&f->src);
	blk_req(&f->src, 0, 4, 0, B_DATA, 0, true);	/* a flush */
	assert_true(vdrv_wait_used(&f->src.d, 0, 1));
	blk_side(f, &f->dst, 1 * MiB, false);
	assert_int_equal(migrate(f, NULL, 0, &r), 0);	/* the good one */
	for (i = 0; i < ARRAY_SIZE(bad); i++)	/* little endian */
		refused(f, "virtio-blk0", bad[i].field, 0, &bad[i].v,
			bad[i].size, bad[i].why);
	/* Still good after all that: the untouched stream loads. */
	assert_int_equal(migrate(f, NULL, 0, &r), 0);
	assert_int_equal(vdrv_status(&f->dst.d), VDRV_S_UP | VIRTIO_STATUS_DRIVER_OK);
}

/* Another configuration: a bigger disk, more queues. */
static void test_blk_other_device(void **state)
{
	struct fixture *f = *state;
	struct state_reader r;

	blk_up(&f->src);
	blk_side(f, &f->dst, 2 * MiB, false);
	assert_int_not_equal(migrate(f, NULL, 0, &r), 0);
	print_message("bigger disk: %s\n", r.why);
	assert_non_null(strstr(r.why, "a disk of 1048576 bytes, this one has 2097152"));
	side_fini(&f->dst);
	blk_side(f, &f->dst, 1 * MiB, true);
	assert_int_not_equal(migrate(f, NULL, 0, &r), 0);
	print_message("two queues: %s\n", r.why);
	assert_non_null(strstr(r.why, "1 queues, this device has 2"));
}

/* --- virtio-net, its tap one end of a datagram socket pair --- */

#define N_RX		0
#define N_TX		1
#define N_RXBUF		VDRV_BUF_GPA
#define N_TXBUF		(VDRV_BUF_GPA + 0x8000)

static const u8 mac[6] = { 0x02, 0x5e, 0x11, 0x22, 0x33, 0x44 };

static void net_side(struct side *s, const u8 *m)
{
	struct virtio_net_opts o = { .queues = 1, .mac = m };
	int sv[2];

	assert_int_equal(vdrv_init(&s->d), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	o.fds = &sv[0];
	s->peer = sv[1];
	side_up(s, virtio_net_create(&s->u.net, 0, &o, &s->d.dm, &s->d.mem,
				     s->d.iots, 1), &s->u.net.vp);
}

static int net_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	net_side(&f->src, mac);
	*state = f;
	return 0;
}

/* The peer got one packet of len bytes, within 1 s; -1 for none. */
static long peer_recv(struct side *s, u8 *buf, size_t len, int ms)
{
	int i;

	for (i = 0; i < ms; i++) {
		ssize_t n = recv(s->peer, buf, len, MSG_DONTWAIT);

		if (n >= 0)
			return n;
		usleep(1000);
	}
	return -1;
}

static void test_net_migrate(void **state)
{
	struct fixture *f = *state;
	struct side *s = &f->src, *t = &f->dst;
	u8 pkt[HDR_LEN + 1000] = { 0 }, got[2048], *b;
	struct state_reader r;
	u32 head, len, total, i;

	assert_int_equal(vdrv_negotiate(&s->d, (1ULL << F_MRG_RXBUF) |
					(1ULL << VIRTIO_F_VERSION_1)), VDRV_S_UP);
	vdrv_queue(&s->d, N_RX, 8, VIRTIO_NO_VECTOR);
	vdrv_queue(&s->d, N_TX, 8, VIRTIO_NO_VECTOR);
	vdrv_driver_ok(&s->d);
	/* Seven 20-byte buffers and a 1000-byte packet: partly placed. */
	for (i = 0; i < 7; i++) {
		vdrv_desc(&s->d, N_RX, i, N_RXBUF + 0x100 * i, 20,
			  VIRTQ_DESC_F_WRITE, 0);
		vdrv_offer(&s->d, N_RX, (u16)i);
	}
	vdrv_kick(&s->d, N_RX);
	for (i = 0; i < 1000; i++)
		pkt[HDR_LEN + i] = (u8)(i * 7 + 1);
	assert_int_equal(send(s->peer, pkt, sizeof(pkt), 0), (ssize_t)sizeof(pkt));
	wait_taken(s, N_RX, 7);
	assert_int_equal(vdrv_used_idx(&s->d, N_RX), 0);
	/* A packet to send, its kick only while paused. */
	memset(hva(s, N_TXBUF, HDR_LEN + 100), 0x5a, HDR_LEN + 100);
	vdrv_desc(&s->d, N_TX, 0, N_TXBUF, HDR_LEN + 100, 0, 0);
	vdrv_offer(&s->d, N_TX, 0);
	dm_pause(&s->d.dm);
	assert_int_equal(taken(s, N_RX), 0);	/* the buffers given back */
	vdrv_kick(&s->d, N_TX);
	assert_int_equal(peer_recv(s, got, sizeof(got), 50), -1);

	net_side(t, mac);
	assert_int_equal(migrate(f, NULL, 0, &r), 0);
	/* The new device sends the packet, once; the old one never. */
	assert_int_equal(peer_recv(t, got, sizeof(got), 1000), HDR_LEN + 100);
	assert_int_equal(got[HDR_LEN + 99], 0x5a);
	assert_true(vdrv_wait_used(&t->d, N_TX, 1));
	assert_int_equal(peer_recv(t, got, sizeof(got), 50), -1);
	assert_int_equal(peer_recv(s, got, sizeof(got), 10), -1);
	/* The waiting packet: the same seven buffers again, and a big one. */
	assert_int_equal(vdrv_used_idx(&t->d, N_RX), 0);
	vdrv_desc(&t->d, N_RX, 7, N_RXBUF + 0x1000, 2048, VIRTQ_DESC_F_WRITE, 0);
	vdrv_offer(&t->d, N_RX, 7);
	vdrv_kick(&t->d, N_RX);
	assert_true(vdrv_wait_used(&t->d, N_RX, 8));
	b = hva(t, N_RXBUF, 2);
	assert_int_equal(b[10] | b[11] << 8, 8);	/* num_buffers */
	for (i = 0, total = 0; i < 8; i++) {
		vdrv_used(&t->d, N_RX, (u16)i, &head, &len);
		assert_int_equal(head, i);
		memcpy(got + total, hva(t, i < 7 ? N_RXBUF + 0x100 * i :
					N_RXBUF + 0x1000, len), len);
		total += len;
	}
	assert_int_equal(total, sizeof(pkt));
	assert_memory_equal(got + HDR_LEN, pkt + HDR_LEN, 1000);
	usleep(50 * 1000);
	assert_int_equal(vdrv_used_idx(&t->d, N_RX), 8);
	assert_false(vdrv_status(&t->d) & VIRTIO_STATUS_NEEDS_RESET);
}

/* Pause and resume alone: the buffers given back are taken again. */
static void test_net_pause_resume(void **state)
{
	struct fixture *f = *state;
	struct side *s = &f->src;
	u8 pkt[HDR_LEN + 300] = { 0 };
	u32 head, len;
	unsigned i;

	assert_int_equal(vdrv_negotiate(&s->d, (1ULL << F_MRG_RXBUF) |
					(1ULL << VIRTIO_F_VERSION_1)), VDRV_S_UP);
	vdrv_queue(&s->d, N_RX, 8, VIRTIO_NO_VECTOR);
	vdrv_driver_ok(&s->d);
	for (i = 0; i < 3; i++) {
		vdrv_desc(&s->d, N_RX, i, N_RXBUF + 0x100 * i, 64,
			  VIRTQ_DESC_F_WRITE, 0);
		vdrv_offer(&s->d, N_RX, (u16)i);
	}
	vdrv_kick(&s->d, N_RX);
	memset(pkt + HDR_LEN, 0x3c, 300);
	assert_int_equal(send(s->peer, pkt, sizeof(pkt), 0), (ssize_t)sizeof(pkt));
	wait_taken(s, N_RX, 3);
	dm_pause(&s->d.dm);
	assert_int_equal(taken(s, N_RX), 0);
	dm_resume(&s->d.dm);
	wait_taken(s, N_RX, 3);
	assert_int_equal(vdrv_used_idx(&s->d, N_RX), 0);
	vdrv_desc(&s->d, N_RX, 3, N_RXBUF + 0x1000, 2048, VIRTQ_DESC_F_WRITE, 0);
	vdrv_offer(&s->d, N_RX, 3);
	vdrv_kick(&s->d, N_RX);
	assert_true(vdrv_wait_used(&s->d, N_RX, 4));
	for (i = 0; i < 4; i++) {
		vdrv_used(&s->d, N_RX, (u16)i, &head, &len);
		assert_int_equal(head, i);
		assert_int_equal(len, i < 3 ? 64 : sizeof(pkt) - 3 * 64);
	}
	usleep(50 * 1000);
	assert_int_equal(vdrv_used_idx(&s->d, N_RX), 4);
}

static void test_net_refused(void **state)
{
	struct fixture *f = *state;
	const u8 other[6] = { 0x02, 0, 0, 0, 0, 0x77 };
	struct state_reader r;
	u32 v32;

	assert_int_equal(vdrv_negotiate(&f->src.d, 1ULL << VIRTIO_F_VERSION_1),
			 VDRV_S_UP);
	vdrv_driver_ok(&f->src.d);
	net_side(&f->dst, other);
	assert_int_not_equal(migrate(f, NULL, 0, &r), 0);
	print_message("another MAC: %s\n", r.why);
	assert_non_null(strstr(r.why, "MAC 02:5e:11:22:33:44, this one's is 02:00:00:00:00:77"));
	side_fini(&f->dst);
	net_side(&f->dst, mac);
	assert_int_equal(migrate(f, NULL, 0, &r), 0);
	v32 = 5;
	refused(f, "virtio-net0", "rx.len", 0, &v32, 4, "a waiting packet of 5 bytes");
	v32 = 2;
	refused(f, "virtio-net0", "nr_pairs", 0, &v32, 4, "2 queue pairs, this one has 1");
	v32 = 0;
	refused(f, "virtio-net0", "active_pairs", 0, &v32, 4, "0 pairs in use");
}

/* --- virtio-rng --- */

static void rng_side(struct side *s)
{
	assert_int_equal(vdrv_init(&s->d), 0);
	side_up(s, virtio_rng_create(&s->u.rng, &s->d.dm, &s->d.mem, &s->d.iot),
		&s->u.rng.vp);
}

static int rng_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	rng_side(&f->src);
	*state = f;
	return 0;
}

/* With EVENT_IDX: the used-event state travels with the indices. */
static void test_rng_migrate(void **state)
{
	struct fixture *f = *state;
	struct side *s = &f->src, *t = &f->dst;
	struct state_reader r;
	u32 head, len;
	u8 *buf;

	assert_int_equal(vdrv_negotiate(&s->d, (1ULL << VIRTIO_F_VERSION_1) |
					(1ULL << VIRTIO_F_EVENT_IDX)), VDRV_S_UP);
	vdrv_queue(&s->d, 0, 8, VIRTIO_NO_VECTOR);
	vdrv_driver_ok(&s->d);
	vdrv_desc(&s->d, 0, 0, VDRV_BUF_GPA, 64, VIRTQ_DESC_F_WRITE, 0);
	vdrv_offer(&s->d, 0, 0);
	vdrv_kick(&s->d, 0);
	assert_true(vdrv_wait_used(&s->d, 0, 1));
	/* Posted; the kick comes while paused. */
	buf = hva(s, VDRV_BUF_GPA + 0x100, 64);
	memset(buf, 0, 64);
	vdrv_desc(&s->d, 0, 1, VDRV_BUF_GPA + 0x100, 64, VIRTQ_DESC_F_WRITE, 0);
	vdrv_offer(&s->d, 0, 1);
	dm_pause(&s->d.dm);
	vdrv_kick(&s->d, 0);
	usleep(50 * 1000);
	assert_int_equal(vdrv_used_idx(&s->d, 0), 1);

	rng_side(t);
	assert_int_equal(migrate(f, NULL, 0, &r), 0);
	assert_true(vdrv_wait_used(&t->d, 0, 2));
	vdrv_used(&t->d, 0, 1, &head, &len);
	assert_int_equal(head, 1);
	assert_int_equal(len, 64);
	assert_true(vdrv_distinct(hva(t, VDRV_BUF_GPA + 0x100, 64), 64) > 16);
	assert_int_equal(vdrv_used_idx(&s->d, 0), 1);
	/* On: a third request, the ring index after the second. */
	vdrv_offer(&t->d, 0, 0);
	vdrv_kick(&t->d, 0);
	assert_true(vdrv_wait_used(&t->d, 0, 3));
	assert_false(vdrv_status(&t->d) & VIRTIO_STATUS_NEEDS_RESET);
}

/* A stream of another kind of device is refused. */
static void test_rng_wrong_kind(void **state)
{
	struct fixture *f = *state;
	u8 *t = NULL;
	struct state_reader r;
	size_t len;

	t = vdrv_save(&f->src.d, &len);
	assert_non_null(t);
	memcpy(vdrv_field(t, len, "virtio-rng", "kind", &(u32){ 0 }), "virtio-blk", 10);
	rng_side(&f->dst);
	assert_int_not_equal(vdrv_load(&f->dst.d, t, len, &r), 0);
	print_message("%s\n", r.why);
	assert_non_null(strstr(r.why, "it is a virtio-blk"));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_blk_migrate, blk_setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_tampered, blk_setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_other_device, blk_setup, teardown),
		cmocka_unit_test_setup_teardown(test_net_migrate, net_setup, teardown),
		cmocka_unit_test_setup_teardown(test_net_pause_resume, net_setup, teardown),
		cmocka_unit_test_setup_teardown(test_net_refused, net_setup, teardown),
		cmocka_unit_test_setup_teardown(test_rng_migrate, rng_setup, teardown),
		cmocka_unit_test_setup_teardown(test_rng_wrong_kind, rng_setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
