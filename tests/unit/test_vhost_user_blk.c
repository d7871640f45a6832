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
 * stuck in a round trip at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../fuzz/vdrv.h"
#include "vmm/devices/vhost_user_blk.h"

#define REQ_LOG		256

/* The back end: what it does, what it saw. */
struct backend {
	int lfd, fd;
	pthread_t thread;
	atomic_bool hang;	/* answer nothing any more */
	atomic_bool hold_base;	/* hold GET_VRING_BASE until released */
	atomic_bool hangup;	/* close the connection now */
	_Atomic unsigned nr;	/* requests seen */
	_Atomic u32 req[REQ_LOG];
};

struct fixture {
	struct vdrv d;
	struct vhost_user_blk b;
	struct backend be;
	char path[108];
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Read exactly n bytes, closing any fds; false on hang-up or stop. */
static bool be_read(struct backend *be, void *buf, size_t n)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} ctl;
	u8 *p = buf;

	while (n) {
		struct iovec iov = { p, n };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };
		struct pollfd pf = { .fd = be->fd, .events = POLLIN };
		struct cmsghdr *c;
		ssize_t r;

		if (atomic_load(&be->hangup))
			return false;
		if (poll(&pf, 1, 20) <= 0)
			continue;
		r = recvmsg(be->fd, &mh, MSG_DONTWAIT);
		if (r < 0 && errno == EAGAIN)
			continue;
		if (r <= 0)
			return false;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			int i, nfd = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

			for (i = 0; i < nfd; i++)
				close(((int *)CMSG_DATA(c))[i]);
		}
		p += r;
		n -= (size_t)r;
	}
	return true;
}

static void be_reply(struct backend *be, u32 req, const void *p, u32 len)
{
	struct vhost_user_hdr h = { req, VHOST_USER_VERSION | VHOST_USER_REPLY,
				    len };

	if (send(be->fd, &h, sizeof(h), MSG_NOSIGNAL) != sizeof(h) ||
	    (len && send(be->fd, p, len, MSG_NOSIGNAL) != (ssize_t)len))
		atomic_store(&be->hangup, true);
}

static void *be_thread(void *arg)
{
	struct backend *be = arg;
	struct vhost_user_hdr h;
	u8 pl[512];
	u64 v;

	be->fd = accept(be->lfd, NULL, NULL);
	while (be->fd >= 0 && be_read(be, &h, sizeof(h))) {
		unsigned i = atomic_fetch_add(&be->nr, 1);

		if (i < REQ_LOG)
			atomic_store(&be->req[i], h.request);
		if (h.size > sizeof(pl) || !be_read(be, pl, h.size))
			break;
		while (atomic_load(&be->hang) && !atomic_load(&be->hangup))
			sleep_ms(5);
		while (h.request == VHOST_USER_GET_VRING_BASE &&
		       atomic_load(&be->hold_base) && !atomic_load(&be->hangup))
			sleep_ms(5);
		if (atomic_load(&be->hangup))
			break;
		switch (h.request) {
		case VHOST_USER_GET_FEATURES:
			v = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << 9) |
			    (1ULL << VHOST_USER_F_PROTOCOL_FEATURES);
			be_reply(be, h.request, &v, 8);
			break;
		case VHOST_USER_GET_PROTOCOL_FEATURES:
			v = (1ULL << VHOST_USER_PROTOCOL_F_MQ) |
			    (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
			    (1ULL << VHOST_USER_PROTOCOL_F_CONFIG);
			be_reply(be, h.request, &v, 8);
			break;
		case VHOST_USER_GET_QUEUE_NUM:
			v = 2;
			be_reply(be, h.request, &v, 8);
			break;
		case VHOST_USER_GET_CONFIG:
			memset(pl + 12, 0, h.size - 12);
			pl[12] = 0x80;		/* capacity: 128 sectors */
			be_reply(be, h.request, pl, h.size);
			break;
		case VHOST_USER_GET_VRING_BASE:
			((u32 *)pl)[1] = 0;
			be_reply(be, h.request, pl, 8);
			break;
		default:
			v = 0;
			if (h.flags & VHOST_USER_NEED_REPLY)
				be_reply(be, h.request, &v, 8);
		}
	}
	if (be->fd >= 0)
		close(be->fd);
	be->fd = -1;
	return NULL;
}

/* Did the back end see req (from the start-th request on)? */
static bool be_saw(struct backend *be, u32 req, unsigned start)
{
	unsigned i, n = MIN(atomic_load(&be->nr), REQ_LOG);

	for (i = start; i < n; i++)
		if (atomic_load(&be->req[i]) == req)
			return true;
	return false;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vhost_user_blk_opts o = { .queues = 1, .timeout_ms = 300 };

	assert_non_null(f);
	assert_int_equal(vdrv_init(&f->d), 0);
	guest_mem_free(&f->d.mem);
	guest_mem_set_shared(&f->d.mem);
	assert_int_equal(guest_mem_alloc(&f->d.mem), 0);
	snprintf(f->path, sizeof(f->path), "/tmp/smpv-vub-%d-%p", getpid(),
		 (void *)f);
	strcpy(sa.sun_path, f->path);
	f->be.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->be.lfd >= 0);
	unlink(f->path);
	assert_int_equal(bind(f->be.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->be.lfd, 1), 0);
	f->be.fd = -1;
	assert_int_equal(pthread_create(&f->be.thread, NULL, be_thread, &f->be), 0);
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
	atomic_store(&f->be.hangup, true);
	pthread_join(f->be.thread, NULL);
	close(f->be.lfd);
	unlink(f->path);
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
	t0 = mono_ms();
	vdrv_wr(&f->d, VDRV_STATUS, VDRV_S_UP | VIRTIO_STATUS_DRIVER_OK, 1);
	return mono_ms() - t0;
}

/* Wait up to ms for the status to have (or lack) bits: the time taken. */
static long long wait_status(struct fixture *f, u8 bits, bool set, int ms)
{
	long long t0 = mono_ms();

	while (mono_ms() - t0 < ms) {
		if (!!(vdrv_status(&f->d) & bits) == set && (bits || !vdrv_status(&f->d)))
			return mono_ms() - t0;
		sleep_ms(2);
	}
	return -1;
}

/* A healthy back end gets the ring, and the device stays good. */
static void test_start_hands_over(void **state)
{
	struct fixture *f = *state;
	long long t0 = mono_ms();

	assert_true(driver_ok(f) < 100);
	while (!be_saw(&f->be, VHOST_USER_SET_VRING_ENABLE, 0) &&
	       mono_ms() - t0 < 2000)
		sleep_ms(2);
	assert_true(be_saw(&f->be, VHOST_USER_SET_VRING_KICK, 0));
	assert_true(be_saw(&f->be, VHOST_USER_SET_VRING_ENABLE, 0));
	sleep_ms(20);
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
	t = mono_ms();
	vdrv_wr(&f->d, VDRV_STATUS, 0, 1);
	assert_true(mono_ms() - t < 50);
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
	long long t0 = mono_ms();
	unsigned seen;

	driver_ok(f);
	while (!be_saw(&f->be, VHOST_USER_SET_VRING_ENABLE, 0) &&
	       mono_ms() - t0 < 2000)
		sleep_ms(2);
	seen = atomic_load(&f->be.nr);
	atomic_store(&f->be.hold_base, true);
	t0 = mono_ms();
	vdrv_wr(&f->d, VDRV_STATUS, 0, 1);
	assert_true(mono_ms() - t0 < 50);
	sleep_ms(150);		/* well inside the 300 ms deadline */
	assert_true(be_saw(&f->be, VHOST_USER_GET_VRING_BASE, seen));
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
	t0 = mono_ms();
	while (!be_saw(&f->be, VHOST_USER_SET_VRING_ENABLE, seen) &&
	       mono_ms() - t0 < 2000)
		sleep_ms(2);
	assert_true(be_saw(&f->be, VHOST_USER_SET_VRING_ENABLE, seen));
}

/* The back end hangs up while the disk runs: NEEDS_RESET. */
static void test_hangup_fails_device(void **state)
{
	struct fixture *f = *state;
	long long t0 = mono_ms();

	driver_ok(f);
	while (!be_saw(&f->be, VHOST_USER_SET_VRING_ENABLE, 0) &&
	       mono_ms() - t0 < 2000)
		sleep_ms(2);
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
	long long t0 = mono_ms();

	f->b.u.timeout_ms = 10000;	/* no round trip is in flight yet */
	driver_ok(f);
	while (!be_saw(&f->be, VHOST_USER_SET_VRING_ENABLE, 0) &&
	       mono_ms() - t0 < 2000)
		sleep_ms(2);
	atomic_store(&f->be.hold_base, true);
	vdrv_wr(&f->d, VDRV_STATUS, 0, 1);
	sleep_ms(50);
	assert_int_not_equal(vdrv_status(&f->d), 0);
	t0 = mono_ms();
	dm_destroy(&f->d.dm);		/* the device's only destroy path */
	dm_init(&f->d.dm, NULL, &f->d.irq, &f->d.pio, &f->d.mmio);
	print_message("destroy took %lld ms with a round trip hanging\n",
		      mono_ms() - t0);
	assert_true(mono_ms() - t0 < 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_start_hands_over, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hung_backend_does_not_block_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_waits_for_ring_base, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hangup_fails_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_while_hung, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
