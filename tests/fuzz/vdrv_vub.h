/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A vhost-user back end of our own for vhost-user-blk: a thread on a
 * UNIX socket speaking just enough of the protocol (features, protocol
 * features, two queues, a 128-sector disk config, acks, ring bases), for
 * test_vhost_user_blk and the state fuzz target. Knobs make it hang, hold
 * GET_VRING_BASE or hang up; it logs the requests it saw.
 */
#ifndef SMPVISOR_FUZZ_VDRV_VUB_H
#define SMPVISOR_FUZZ_VDRV_VUB_H

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmm/devices/virtio.h"
#include "vmm/vhost_user.h"

#define VDRV_VUB_LOG		256

/* The back end: what it does, what it saw; its thread serves one connection. */
struct vdrv_vub {
	int lfd, fd;
	pthread_t thread;
	atomic_bool hang;	/* answer nothing any more */
	atomic_bool hold_base;	/* hold GET_VRING_BASE until released */
	atomic_bool hangup;	/* close the connection now */
	_Atomic u32 base;	/* GET_VRING_BASE answers this */
	_Atomic u32 set_base;	/* the last SET_VRING_BASE */
	_Atomic unsigned nr;	/* requests seen */
	_Atomic u32 req[VDRV_VUB_LOG];
};

static inline long long vdrv_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void vdrv_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Read exactly n bytes, closing any fds; false on hang-up or stop. */
static inline bool vub_read(struct vdrv_vub *be, void *buf, size_t n)
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

static inline void vub_reply(struct vdrv_vub *be, u32 req, const void *p, u32 len)
{
	struct vhost_user_hdr h = { req, VHOST_USER_VERSION | VHOST_USER_REPLY,
				    len };

	if (send(be->fd, &h, sizeof(h), MSG_NOSIGNAL) != sizeof(h) ||
	    (len && send(be->fd, p, len, MSG_NOSIGNAL) != (ssize_t)len))
		atomic_store(&be->hangup, true);
}

static inline void *vub_thread(void *arg)
{
	struct vdrv_vub *be = arg;
	struct vhost_user_hdr h;
	u8 pl[512];
	u64 v;

	be->fd = accept(be->lfd, NULL, NULL);
	while (be->fd >= 0 && vub_read(be, &h, sizeof(h))) {
		unsigned i = atomic_fetch_add(&be->nr, 1);

		if (i < VDRV_VUB_LOG)
			atomic_store(&be->req[i], h.request);
		if (h.size > sizeof(pl) || !vub_read(be, pl, h.size))
			break;
		while (atomic_load(&be->hang) && !atomic_load(&be->hangup))
			vdrv_sleep_ms(5);
		while (h.request == VHOST_USER_GET_VRING_BASE &&
		       atomic_load(&be->hold_base) && !atomic_load(&be->hangup))
			vdrv_sleep_ms(5);
		if (atomic_load(&be->hangup))
			break;
		switch (h.request) {
		case VHOST_USER_GET_FEATURES:
			v = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << 9) |
			    (1ULL << VHOST_USER_F_PROTOCOL_FEATURES);
			vub_reply(be, h.request, &v, 8);
			break;
		case VHOST_USER_GET_PROTOCOL_FEATURES:
			v = (1ULL << VHOST_USER_PROTOCOL_F_MQ) |
			    (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
			    (1ULL << VHOST_USER_PROTOCOL_F_CONFIG);
			vub_reply(be, h.request, &v, 8);
			break;
		case VHOST_USER_GET_QUEUE_NUM:
			v = 2;
			vub_reply(be, h.request, &v, 8);
			break;
		case VHOST_USER_GET_CONFIG:
			memset(pl + 12, 0, h.size - 12);
			pl[12] = 0x80;		/* capacity: 128 sectors */
			vub_reply(be, h.request, pl, h.size);
			break;
		case VHOST_USER_GET_VRING_BASE:
			((u32 *)pl)[1] = atomic_load(&be->base);
			vub_reply(be, h.request, pl, 8);
			break;
		case VHOST_USER_SET_VRING_BASE:
			atomic_store(&be->set_base, ((u32 *)pl)[1]);
			v = 0;
			if (h.flags & VHOST_USER_NEED_REPLY)
				vub_reply(be, h.request, &v, 8);
			break;
		default:
			v = 0;
			if (h.flags & VHOST_USER_NEED_REPLY)
				vub_reply(be, h.request, &v, 8);
		}
	}
	if (be->fd >= 0)
		close(be->fd);
	be->fd = -1;
	return NULL;
}

/* Where the back end first saw req (from the start-th request on), or -1. */
static inline int vdrv_vub_at(struct vdrv_vub *be, u32 req, unsigned start)
{
	unsigned i, n = MIN(atomic_load(&be->nr), VDRV_VUB_LOG);

	for (i = start; i < n; i++)
		if (atomic_load(&be->req[i]) == req)
			return (int)i;
	return -1;
}

/* Did the back end see req (from the start-th request on)? */
static inline bool vdrv_vub_saw(struct vdrv_vub *be, u32 req, unsigned start)
{
	return vdrv_vub_at(be, req, start) >= 0;
}

/* Listen at path and serve the first connection: 0 or -1. */
static inline int vdrv_vub_start(struct vdrv_vub *be, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	be->fd = -1;
	be->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (be->lfd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	unlink(path);
	if (bind(be->lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(be->lfd, 1) ||
	    pthread_create(&be->thread, NULL, vub_thread, be)) {
		close(be->lfd);
		return -1;
	}
	return 0;
}

/* Hang up and wait for the thread; the socket goes. */
static inline void vdrv_vub_stop(struct vdrv_vub *be, const char *path)
{
	atomic_store(&be->hangup, true);
	shutdown(be->lfd, SHUT_RDWR);	/* an accept still waiting ends */
	pthread_join(be->thread, NULL);
	close(be->lfd);
	unlink(path);
}

#endif
