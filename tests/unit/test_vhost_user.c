// SPDX-License-Identifier: GPL-2.0
/*
 * The vhost-user front end's messages, over a real socketpair: what we
 * send is read back off the other end byte by byte (header, payload,
 * passed descriptors), what the "back end" answers is written there
 * first. Checked: the request encodings, SET_MEM_TABLE with the memfd of
 * shared guest RAM (the received fd maps the very same pages), and every
 * way a reply can be wrong (other request, no reply flag, bad version,
 * oversized, short, refused ack, hang-up, silence) ending in an error and
 * a dead connection, never a crash or SIGPIPE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/vhost_user.h"

struct fixture {
	struct vhost_user u;
	int peer;
};

static int setup(void **state)
{
	static struct fixture f;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	vhost_user_attach(&f.u, "test", sv[0], 200);
	f.peer = sv[1];
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vhost_user_close(&f->u);
	if (f->peer >= 0)
		close(f->peer);
	return 0;
}

/* Queue a reply on the back end's side. */
static void reply(struct fixture *f, u32 req, u32 flags, const void *p, u32 len)
{
	struct vhost_user_hdr h = { req, flags, len };

	assert_int_equal(write(f->peer, &h, sizeof(h)), sizeof(h));
	if (len)
		assert_int_equal(write(f->peer, p, len), len);
}

/* Read one message off the back end's side; returns fds received. */
static int take(struct fixture *f, struct vhost_user_hdr *h, void *p,
		u32 max, int *fds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { h, sizeof(*h) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c;
	int n = 0;

	assert_int_equal(recvmsg(f->peer, &mh, 0), sizeof(*h));
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(fds, CMSG_DATA(c), n * sizeof(int));
	}
	assert_true(h->size <= max);
	if (h->size)
		assert_int_equal(read(f->peer, p, h->size), h->size);
	return n;
}

static void test_check_hdr(void **state)
{
	struct vhost_user_hdr h = { 1, 0x5, 8 };

	assert_int_equal(vhost_user_check_hdr(&h, 1, 8, 8), 0);
	assert_int_equal(vhost_user_check_hdr(&h, 2, 8, 8), -EPROTO);
	h.flags = 0x1;		/* not a reply */
	assert_int_equal(vhost_user_check_hdr(&h, 1, 8, 8), -EPROTO);
	h.flags = 0x6;		/* version 2 */
	assert_int_equal(vhost_user_check_hdr(&h, 1, 8, 8), -EPROTO);
	h.flags = 0x5;
	h.size = 9;
	assert_int_equal(vhost_user_check_hdr(&h, 1, 8, 8), -EPROTO);
	h.size = 4;
	assert_int_equal(vhost_user_check_hdr(&h, 1, 8, 8), -EPROTO);
	h.size = 0xffffffff;
	assert_int_equal(vhost_user_check_hdr(&h, 1, 0, 256), -EPROTO);
}

static void test_get_features(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_hdr h;
	u64 v = 0x140000000ULL, got = 0;
	int fds[8];

	reply(f, VHOST_USER_GET_FEATURES, 0x5, &v, sizeof(v));
	assert_int_equal(vhost_user_get_u64(&f->u, VHOST_USER_GET_FEATURES, &got), 0);
	assert_int_equal(got, v);
	assert_int_equal(take(f, &h, NULL, 0, fds), 0);
	assert_int_equal(h.request, VHOST_USER_GET_FEATURES);
	assert_int_equal(h.flags, VHOST_USER_VERSION);
	assert_int_equal(h.size, 0);
}

static void test_ack_and_refusal(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_hdr h;
	struct vhost_user_state s;
	u64 ok = 0, no = 1;
	int fds[8];

	f->u.protocol = 1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK;
	reply(f, VHOST_USER_SET_VRING_NUM, 0x5, &ok, sizeof(ok));
	assert_int_equal(vhost_user_set_state(&f->u, VHOST_USER_SET_VRING_NUM, 3, 256), 0);
	take(f, &h, &s, sizeof(s), fds);
	assert_int_equal(h.flags, VHOST_USER_VERSION | VHOST_USER_NEED_REPLY);
	assert_int_equal(h.size, sizeof(s));
	assert_int_equal(s.index, 3);
	assert_int_equal(s.num, 256);
	reply(f, VHOST_USER_SET_VRING_BASE, 0x5, &no, sizeof(no));
	assert_int_equal(vhost_user_set_state(&f->u, VHOST_USER_SET_VRING_BASE, 0, 0), -EIO);
	assert_true(f->u.dead);
	/* Dead stays dead: nothing more goes out. */
	assert_int_equal(vhost_user_set_u64(&f->u, VHOST_USER_SET_FEATURES, 0), -ECONNRESET);
}

static void test_vring_fds(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_hdr h;
	int fds[8], p[2];
	u64 v;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(vhost_user_set_vring_fd(&f->u, VHOST_USER_SET_VRING_KICK, 5, p[0]), 0);
	assert_int_equal(take(f, &h, &v, sizeof(v), fds), 1);
	assert_int_equal(h.request, VHOST_USER_SET_VRING_KICK);
	assert_int_equal(v, 5);
	/* The received fd is the same pipe. */
	assert_int_equal(write(p[1], "x", 1), 1);
	{
		char c;

		assert_int_equal(read(fds[0], &c, 1), 1);
		assert_int_equal(c, 'x');
	}
	close(fds[0]);
	assert_int_equal(vhost_user_set_vring_fd(&f->u, VHOST_USER_SET_VRING_CALL, 2, -1), 0);
	assert_int_equal(take(f, &h, &v, sizeof(v), fds), 0);
	assert_int_equal(v, 2 | VHOST_USER_VRING_NOFD);
	close(p[0]);
	close(p[1]);
}

static void test_mem_table(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_hdr h;
	struct vhost_user_mem t;
	struct guest_mem m;
	u64 sizes[2] = { 16 * MiB, 8 * MiB };
	struct stat st;
	int fds[8], n;
	u8 *view;

	assert_int_equal(guest_mem_layout_nodes(&m, sizes, 2), 0);
	/* Private RAM cannot be handed over. */
	assert_int_equal(guest_mem_alloc(&m), 0);
	assert_int_equal(vhost_user_mem_table(&m, &t, fds), -EINVAL);
	guest_mem_free(&m);
	guest_mem_set_shared(&m);
	assert_int_equal(guest_mem_alloc(&m), 0);
	assert_int_equal(vhost_user_set_mem_table(&f->u, &m), 0);
	n = take(f, &h, &t, sizeof(t), fds);
	assert_int_equal(n, 2);
	assert_int_equal(h.request, VHOST_USER_SET_MEM_TABLE);
	assert_int_equal(h.size, 8 + 2 * sizeof(t.r[0]));
	assert_int_equal(t.nr, 2);
	assert_int_equal(t.r[0].gpa, 0);
	assert_int_equal(t.r[0].size, 16 * MiB);
	assert_int_equal(t.r[1].gpa, 16 * MiB);
	assert_int_equal(t.r[1].size, 8 * MiB);
	assert_int_equal(t.r[1].uaddr, (u64)(uintptr_t)m.regions[1].hva);
	assert_int_equal(t.r[1].mmap_offset, 0);
	/* What the back end maps is our guest RAM, not a copy. */
	assert_int_equal(fstat(fds[1], &st), 0);
	assert_int_equal(st.st_size, 8 * MiB);
	view = mmap(NULL, 8 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, fds[1], 0);
	assert_true(view != MAP_FAILED);
	((volatile u8 *)m.regions[1].hva)[4096] = 0xa5;
	assert_int_equal(view[4096], 0xa5);
	view[8191] = 0x5a;
	assert_int_equal(((volatile u8 *)m.regions[1].hva)[8191], 0x5a);
	munmap(view, 8 * MiB);
	close(fds[0]);
	close(fds[1]);
	guest_mem_free(&m);
}

static void test_too_many_regions(void **state)
{
	struct vhost_user_mem t;
	struct guest_mem m;
	u64 sizes[9];
	int fds[8], i;

	for (i = 0; i < 9; i++)
		sizes[i] = 4 * MiB;
	assert_int_equal(guest_mem_layout_nodes(&m, sizes, 9), 0);
	assert_int_equal(vhost_user_mem_table(&m, &t, fds), -E2BIG);
}

static void test_bad_replies(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_state s = { 1, 7 };
	u32 base;
	u64 v = 0;

	/* A ring-base reply for another ring. */
	reply(f, VHOST_USER_GET_VRING_BASE, 0x5, &s, sizeof(s));
	assert_int_equal(vhost_user_get_base(&f->u, 0, &base), -EPROTO);
	assert_true(f->u.dead);
	teardown(state);
	setup(state);
	f = *state;
	/* A reply announcing a short payload. */
	reply(f, VHOST_USER_GET_FEATURES, 0x5, &v, 4);
	assert_int_equal(vhost_user_get_u64(&f->u, VHOST_USER_GET_FEATURES, &v), -EPROTO);
	teardown(state);
	setup(state);
	f = *state;
	/* A header announcing 8 bytes that never come. */
	{
		struct vhost_user_hdr h = { VHOST_USER_GET_FEATURES, 0x5, 8 };

		assert_int_equal(write(f->peer, &h, sizeof(h)), sizeof(h));
	}
	assert_int_equal(vhost_user_get_u64(&f->u, VHOST_USER_GET_FEATURES, &v), -ETIMEDOUT);
	teardown(state);
	setup(state);
	f = *state;
	/* Hang-up before we send: EPIPE, no SIGPIPE. */
	close(f->peer);
	f->peer = -1;
	assert_int_equal(vhost_user_set_u64(&f->u, VHOST_USER_SET_FEATURES, 1), -EPIPE);
	assert_true(f->u.dead);
}

static void test_silence_times_out(void **state)
{
	struct fixture *f = *state;
	u64 v;

	assert_int_equal(vhost_user_get_u64(&f->u, VHOST_USER_GET_QUEUE_NUM, &v), -ETIMEDOUT);
	assert_true(f->u.dead);
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct dribble {
	int fd;
	int gap_ms;
	u8 msg[20];
};

/* A back end that sends its reply one byte per gap_ms. */
static void *dribble_thread(void *arg)
{
	struct dribble *d = arg;
	struct timespec gap = { 0, d->gap_ms * 1000000L };
	unsigned i;

	for (i = 0; i < sizeof(d->msg); i++) {
		nanosleep(&gap, NULL);
		if (send(d->fd, &d->msg[i], 1, MSG_NOSIGNAL) != 1)
			break;
	}
	return NULL;
}

/*
 * The deadline covers the whole message: a 20-byte reply dribbled at one
 * byte per 150 ms (3 s in all) fails once the 200 ms are up, although no
 * single wait ever reaches 200 ms. A per-recv() timeout took the 3 s.
 */
static void test_dribble_hits_overall_deadline(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_hdr h = { VHOST_USER_GET_FEATURES, 0x5, 8 };
	struct dribble d = { .fd = f->peer, .gap_ms = 150 };
	long long t0, took;
	pthread_t t;
	u64 v;

	memcpy(d.msg, &h, sizeof(h));
	assert_int_equal(pthread_create(&t, NULL, dribble_thread, &d), 0);
	t0 = mono_ms();
	assert_int_equal(vhost_user_get_u64(&f->u, VHOST_USER_GET_FEATURES, &v),
			 -ETIMEDOUT);
	took = mono_ms() - t0;
	assert_true(f->u.dead);
	print_message("dribbled reply failed after %lld ms (deadline 200 ms)\n",
		      took);
	assert_true(took >= 190 && took < 400);
	shutdown(f->peer, SHUT_RDWR);	/* the thread's next write fails */
	pthread_join(t, NULL);
}

/* The same back end within the deadline: the reply is read whole. */
static void test_dribble_within_deadline(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_hdr h = { VHOST_USER_GET_FEATURES, 0x5, 8 };
	struct dribble d = { .fd = f->peer, .gap_ms = 2 };
	u64 want = 0x1122334455667788ULL, v = 0;
	pthread_t t;

	memcpy(d.msg, &h, sizeof(h));
	memcpy(d.msg + sizeof(h), &want, sizeof(want));
	assert_int_equal(pthread_create(&t, NULL, dribble_thread, &d), 0);
	assert_int_equal(vhost_user_get_u64(&f->u, VHOST_USER_GET_FEATURES, &v), 0);
	assert_int_equal(v, want);
	pthread_join(t, NULL);
}

/* A peer that never reads: the send itself is bounded by the deadline. */
static void test_send_to_full_socket_times_out(void **state)
{
	struct fixture *f = *state;
	static u8 junk[4096];
	long long t0, took;

	while (write(f->u.fd, junk, sizeof(junk)) > 0)
		;			/* fill our send buffer (non-blocking) */
	assert_int_equal(errno, EAGAIN);
	t0 = mono_ms();
	assert_int_equal(vhost_user_set_u64(&f->u, VHOST_USER_SET_FEATURES, 1),
			 -ETIMEDOUT);
	took = mono_ms() - t0;
	assert_true(took >= 190 && took < 400);
	assert_true(f->u.dead);
}

/* A reply that passes a descriptor is refused, and the fd is closed. */
static void test_reply_with_fd_refused(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_hdr h = { VHOST_USER_GET_FEATURES, 0x5, 8 };
	u8 msg[20] = { 0 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { msg, sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c;
	int p[2];
	u64 v;

	memcpy(msg, &h, sizeof(h));
	assert_int_equal(pipe(p), 0);
	memset(&ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &p[1], sizeof(int));
	assert_int_equal(sendmsg(f->peer, &mh, 0), sizeof(msg));
	close(p[1]);
	assert_int_equal(vhost_user_get_u64(&f->u, VHOST_USER_GET_FEATURES, &v),
			 -EPROTO);
	/* Our copy of the write end was closed: the pipe reads EOF. */
	{
		char ch;

		assert_int_equal(read(p[0], &ch, 1), 0);
	}
	close(p[0]);
}

struct aborter {
	struct vhost_user *u;
	int after_ms;
};

static void *abort_thread(void *arg)
{
	struct aborter *a = arg;
	struct timespec ts = { 0, a->after_ms * 1000000L };

	nanosleep(&ts, NULL);
	vhost_user_abort(a->u);
	return NULL;
}

/* Another thread cuts a round trip short (the machine stopping). */
static void test_abort_cuts_wait(void **state)
{
	struct fixture *f = *state;
	struct aborter a = { &f->u, 50 };
	long long t0, took;
	pthread_t t;
	u64 v;

	f->u.timeout_ms = 10000;
	assert_int_equal(pthread_create(&t, NULL, abort_thread, &a), 0);
	t0 = mono_ms();
	assert_int_equal(vhost_user_get_u64(&f->u, VHOST_USER_GET_FEATURES, &v),
			 -ECONNRESET);
	took = mono_ms() - t0;
	pthread_join(t, NULL);
	assert_true(took < 1000);
}

static void test_handshake(void **state)
{
	struct fixture *f = *state;
	u64 feat = (1ULL << 32) | (1ULL << VHOST_USER_F_PROTOCOL_FEATURES);
	u64 proto = 0x3ff, ack = 0, q = 4, got;
	struct vhost_user_hdr h;
	unsigned queues = 0;
	int fds[8];

	reply(f, VHOST_USER_GET_FEATURES, 0x5, &feat, 8);
	reply(f, VHOST_USER_GET_PROTOCOL_FEATURES, 0x5, &proto, 8);
	reply(f, VHOST_USER_GET_QUEUE_NUM, 0x5, &q, 8);
	(void)ack;
	assert_int_equal(vhost_user_handshake(&f->u,
		(1ULL << VHOST_USER_PROTOCOL_F_MQ) |
		(1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK), &queues), 0);
	assert_int_equal(queues, 4);
	assert_int_equal(f->u.features, feat);
	assert_int_equal(f->u.protocol, 0x9);
	take(f, &h, NULL, 0, fds);
	assert_int_equal(h.request, VHOST_USER_SET_OWNER);
	take(f, &h, NULL, 0, fds);
	assert_int_equal(h.request, VHOST_USER_GET_FEATURES);
	take(f, &h, NULL, 0, fds);
	assert_int_equal(h.request, VHOST_USER_GET_PROTOCOL_FEATURES);
	take(f, &h, &got, 8, fds);
	assert_int_equal(h.request, VHOST_USER_SET_PROTOCOL_FEATURES);
	assert_int_equal(h.flags, VHOST_USER_VERSION);	/* no ack asked yet */
	assert_int_equal(got, 0x9);
	take(f, &h, NULL, 0, fds);
	assert_int_equal(h.request, VHOST_USER_GET_QUEUE_NUM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_hdr),
		cmocka_unit_test_setup_teardown(test_get_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_and_refusal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vring_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mem_table, setup, teardown),
		cmocka_unit_test(test_too_many_regions),
		cmocka_unit_test_setup_teardown(test_bad_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silence_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handshake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dribble_hits_overall_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dribble_within_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_to_full_socket_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_with_fd_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_cuts_wait, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
