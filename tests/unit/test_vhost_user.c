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
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vhost_user.h"

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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
