// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-user fuzz harness: whatever a back end can send, through every
 * request/reply path of the front end (vmm/vhost_user.c). The back end is
 * the other end of a socketpair; the input is what it says.
 *
 * Input format (all of it optional, missing bytes read as 0):
 *   byte 0       number of front-end operations (low 4 bits)
 *   bytes 1..16  one byte per operation: bits 0-3 pick the request path
 *                (see run_op), bits 4-7 its argument (ring index, config
 *                length, whether REPLY_ACK counts, ...)
 *   bytes 17..   the back end's byte stream, as chunks: a tag byte (bit 0:
 *                pass a descriptor with the chunk by SCM_RIGHTS), a length
 *                byte, then that many bytes
 *
 * Every chunk is written before the front end runs, then the back end
 * shuts its side: the front end reads the stream to its end and then
 * sees a hang-up, so no input waits for the deadline (which is short
 * anyway). Each operation starts on a fresh connection state (a failed
 * one is dead otherwise), on the same stream. Returns how many
 * operations succeeded.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harnesses.h"
#include "vmm/vhost_user.h"

#define OPS_MAX		16
#define HDR_LEN		(1 + OPS_MAX)
#define DEADLINE_MS	20

/* Write one chunk to the back end's side, with an fd if asked. */
static int put_chunk(int fd, const u8 *p, size_t len, bool with_fd, int pass)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { (void *)p, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (with_fd) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass, sizeof(int));
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len ?
	       0 : -1;
}

/* Feed the stream: chunks of (tag, len, bytes). */
static void feed(int fd, const u8 *p, size_t n, int pass)
{
	while (n >= 2) {
		bool with_fd = p[0] & 1;
		size_t len = MIN((size_t)p[1], n - 2);

		if (len && put_chunk(fd, p + 2, len, with_fd, pass))
			return;
		p += 2 + len;
		n -= 2 + len;
	}
}

/* One request path; 0 when the front end accepted the reply. */
static int run_op(struct vhost_user *u, u8 op, int pass)
{
	u8 arg = op >> 4, cfg[VHOST_USER_MAX_CONFIG];
	unsigned queues;
	u32 base, got;
	u64 v = 0;
	u8 buf[64];

	if (arg & 8)
		u->protocol |= 1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK;
	switch (op & 15) {
	case 0:
		return vhost_user_handshake(u, ~0ULL, &queues);
	case 1:
		return vhost_user_get_u64(u, VHOST_USER_GET_FEATURES, &v);
	case 2:
		return vhost_user_get_u64(u, VHOST_USER_GET_PROTOCOL_FEATURES, &v);
	case 3:
		return vhost_user_get_u64(u, VHOST_USER_GET_QUEUE_NUM, &v);
	case 4:
		return vhost_user_get_config(u, cfg, 12 + 4 * (arg & 7));
	case 5:
		return vhost_user_get_config(u, cfg, VHOST_USER_MAX_CONFIG);
	case 6:
		return vhost_user_get_base(u, arg & 7, &base);
	case 7:
		return vhost_user_set_state(u, VHOST_USER_SET_VRING_NUM, arg, 256);
	case 8:
		return vhost_user_set_u64(u, VHOST_USER_SET_FEATURES, 1ULL << 32);
	case 9:
		return vhost_user_set_vring_fd(u, VHOST_USER_SET_VRING_KICK,
					       arg & 7, pass);
	case 10:
		return vhost_user_set_vring_fd(u, VHOST_USER_SET_VRING_CALL,
					       arg & 7, -1);
	case 11:	/* a reply with a variable length */
		return vhost_user_recv(u, VHOST_USER_GET_CONFIG, buf,
				       sizeof(buf), arg, &got);
	case 12:	/* a reply to a request we never sent */
		return vhost_user_recv(u, arg, &v, sizeof(v), sizeof(v), NULL);
	case 13:
		return vhost_user_send(u, VHOST_USER_SET_VRING_ENABLE, &v, 8,
				       NULL, 0, true);
	default:
		return vhost_user_set_state(u, VHOST_USER_SET_VRING_BASE, arg, 0);
	}
}

int fuzz_vhost_user_one(const u8 *data, size_t size)
{
	static int pass[2] = { -1, -1 };
	u8 hdr[HDR_LEN] = { 0 };
	int sv[2], ok = 0;
	struct vhost_user u;
	unsigned i, nr;

	if (pass[0] < 0 && pipe(pass))
		return 0;
	memcpy(hdr, data, MIN(size, sizeof(hdr)));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return 0;
	if (size > sizeof(hdr))
		feed(sv[1], data + sizeof(hdr), size - sizeof(hdr), pass[1]);
	shutdown(sv[1], SHUT_WR);
	nr = hdr[0] & 15;
	for (i = 0; i < nr; i++) {
		/* A fresh state on the same stream: dead ones say nothing. */
		vhost_user_attach(&u, "fuzz", sv[0], DEADLINE_MS);
		if (!run_op(&u, hdr[1 + i], pass[0]))
			ok++;
	}
	close(sv[0]);
	close(sv[1]);
	return ok;
}
