// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-user front end: the socket, message framing and the requests
 * every vhost-user device needs (see vhost_user.h). Written from the
 * protocol description; a reply is read as a header, checked, then
 * exactly the payload it announced, so a bad peer can never make us read
 * past a buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmm/vhost_user.h"

static const char *req_name(u32 req)
{
	switch (req) {
	case VHOST_USER_GET_FEATURES:		return "GET_FEATURES";
	case VHOST_USER_SET_FEATURES:		return "SET_FEATURES";
	case VHOST_USER_SET_OWNER:		return "SET_OWNER";
	case VHOST_USER_SET_MEM_TABLE:		return "SET_MEM_TABLE";
	case VHOST_USER_SET_VRING_NUM:		return "SET_VRING_NUM";
	case VHOST_USER_SET_VRING_ADDR:		return "SET_VRING_ADDR";
	case VHOST_USER_SET_VRING_BASE:		return "SET_VRING_BASE";
	case VHOST_USER_GET_VRING_BASE:		return "GET_VRING_BASE";
	case VHOST_USER_SET_VRING_KICK:		return "SET_VRING_KICK";
	case VHOST_USER_SET_VRING_CALL:		return "SET_VRING_CALL";
	case VHOST_USER_GET_PROTOCOL_FEATURES:	return "GET_PROTOCOL_FEATURES";
	case VHOST_USER_SET_PROTOCOL_FEATURES:	return "SET_PROTOCOL_FEATURES";
	case VHOST_USER_GET_QUEUE_NUM:		return "GET_QUEUE_NUM";
	case VHOST_USER_SET_VRING_ENABLE:	return "SET_VRING_ENABLE";
	case VHOST_USER_GET_CONFIG:		return "GET_CONFIG";
	}
	return "request";
}

/* The first failure is reported; the connection is dead from then on. */
static int fail(struct vhost_user *u, u32 req, int err, const char *why)
{
	if (!u->dead)
		pr_err("%s: vhost-user %s: %s", u->name, req_name(req),
		       why ? why : strerror(-err));
	u->dead = true;
	return err;
}

/* Milliseconds on the monotonic clock. */
static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Wait until the socket is ready for events or the message's deadline
 * has passed: 0, -ETIMEDOUT, or -ECONNRESET once it hung up (also when
 * vhost_user_abort shut it down from another thread).
 */
static int wait_ready(struct vhost_user *u, short events)
{
	struct pollfd p = { .fd = u->fd, .events = events };
	long long left;
	int n;

	for (;;) {
		left = u->deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)MIN(left, (long long)INT32_MAX));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -ETIMEDOUT;
		if (p.revents & events)
			return 0;
		if (p.revents & (POLLHUP | POLLERR | POLLNVAL))
			return -ECONNRESET;
	}
}

void vhost_user_attach(struct vhost_user *u, const char *name, int fd,
		       int timeout_ms)
{
	memset(u, 0, sizeof(*u));
	u->fd = fd;
	u->name = name;
	u->timeout_ms = timeout_ms;
	/* Every wait is a poll() against the message's deadline. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

void vhost_user_abort(struct vhost_user *u)
{
	if (u->fd >= 0)
		shutdown(u->fd, SHUT_RDWR);
}

int vhost_user_connect(struct vhost_user *u, const char *name,
		       const char *path, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	memset(u, 0, sizeof(*u));
	u->fd = -1;
	u->name = name;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		pr_err("%s: socket path longer than %zu bytes", name,
		       sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		pr_err("%s: socket: %s", name, strerror(-r));
		return r;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		pr_err("%s: cannot connect to the back end: %s", name,
		       strerror(-r));
		close(fd);
		return r;
	}
	vhost_user_attach(u, name, fd, timeout_ms);
	return 0;
}

void vhost_user_close(struct vhost_user *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
	u->dead = true;
}

/*
 * Send header + payload, the fds with the first byte; a full socket
 * buffer is waited out, up to the deadline.
 */
static int send_msg(struct vhost_user *u, const struct vhost_user_hdr *h,
		    const void *payload, const int *fds, unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_REGIONS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov[2] = {
		{ (void *)h, sizeof(*h) }, { (void *)payload, h->size },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = h->size ? 2 : 1 };
	ssize_t n;
	int r;

	if (nfds > VHOST_USER_MAX_REGIONS)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	while (mh.msg_iovlen) {
		n = sendmsg(u->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			r = wait_ready(u, POLLOUT);
			if (r)
				return r;
			continue;
		}
		if (n < 0)
			return -errno;
		/* Sent: the fds went with the first byte; skip what went. */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		while (mh.msg_iovlen && (size_t)n >= mh.msg_iov->iov_len) {
			n -= (ssize_t)mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen) {
			mh.msg_iov->iov_base = (u8 *)mh.msg_iov->iov_base + n;
			mh.msg_iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* Close descriptors a reply carried (none is ever expected). */
static unsigned drop_fds(struct msghdr *mh)
{
	struct cmsghdr *c;
	unsigned nr = 0;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t i, n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			close(fd);
			nr++;
		}
	}
	return nr;
}

/*
 * Read exactly len bytes before the deadline: however the back end
 * dribbles them, the whole message gets no more than its one deadline.
 * Descriptors sent along are closed and make it -EPROTO.
 */
static int read_full(struct vhost_user *u, void *buf, size_t len)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} ctl;
	u8 *p = buf;
	ssize_t n;
	int r;

	while (len) {
		struct iovec iov = { p, len };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };

		n = recvmsg(u->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			r = wait_ready(u, POLLIN);
			if (r)
				return r;
			continue;
		}
		if (n < 0)
			return -errno;
		if (drop_fds(&mh) || (mh.msg_flags & MSG_CTRUNC))
			return -EPROTO;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int vhost_user_check_hdr(const struct vhost_user_hdr *h, u32 req,
			 u32 min_len, u32 max_len)
{
	if (h->request != req)
		return -EPROTO;
	if ((h->flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION ||
	    !(h->flags & VHOST_USER_REPLY))
		return -EPROTO;
	if (h->size < min_len || h->size > max_len)
		return -EPROTO;
	return 0;
}

int vhost_user_recv(struct vhost_user *u, u32 req, void *buf, u32 len,
		    u32 min_len, u32 *got)
{
	struct vhost_user_hdr h;
	char why[128];
	int r;

	if (u->dead)
		return -ECONNRESET;
	if (!u->deadline)	/* no request started the clock */
		u->deadline = now_ms() + u->timeout_ms;
	r = read_full(u, &h, sizeof(h));
	if (r)
		return fail(u, req, r, r == -ETIMEDOUT ?
			    "the back end did not answer" : r == -ECONNRESET ?
			    "the back end closed the connection" : r == -EPROTO ?
			    "the reply carries file descriptors" : NULL);
	r = vhost_user_check_hdr(&h, req, min_len, len);
	if (r) {
		snprintf(why, sizeof(why),
			 "malformed reply (request %u, flags 0x%x, %u bytes)",
			 h.request, h.flags, h.size);
		return fail(u, req, r, why);
	}
	r = read_full(u, buf, h.size);
	if (r)
		return fail(u, req, r, r == -ETIMEDOUT ?
			    "the back end did not answer in time" : r == -EPROTO ?
			    "the reply carries file descriptors" : NULL);
	if (got)
		*got = h.size;
	return 0;
}

int vhost_user_send(struct vhost_user *u, u32 req, const void *payload,
		    u32 len, const int *fds, unsigned nfds, bool ack)
{
	struct vhost_user_hdr h = { req, VHOST_USER_VERSION, len };
	u64 verdict;
	int r;

	if (u->dead)
		return -ECONNRESET;
	ack = ack && (u->protocol & (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK));
	if (ack)
		h.flags |= VHOST_USER_NEED_REPLY;
	/* One deadline for the request and its whole reply. */
	u->deadline = now_ms() + u->timeout_ms;
	r = send_msg(u, &h, payload, fds, nfds);
	if (r)
		return fail(u, req, r, r == -EPIPE || r == -ECONNRESET ?
			    "the back end closed the connection" :
			    r == -ETIMEDOUT ?
			    "the back end did not take the request in time" : NULL);
	if (!ack)
		return 0;
	r = vhost_user_recv(u, req, &verdict, sizeof(verdict),
			    sizeof(verdict), NULL);
	if (r)
		return r;
	if (verdict)
		return fail(u, req, -EIO, "the back end refused it");
	return 0;
}

int vhost_user_get_u64(struct vhost_user *u, u32 req, u64 *v)
{
	int r = vhost_user_send(u, req, NULL, 0, NULL, 0, false);

	return r ? r : vhost_user_recv(u, req, v, sizeof(*v), sizeof(*v), NULL);
}

int vhost_user_set_u64(struct vhost_user *u, u32 req, u64 v)
{
	return vhost_user_send(u, req, &v, sizeof(v), NULL, 0, true);
}

int vhost_user_set_state(struct vhost_user *u, u32 req, u32 index, u32 num)
{
	struct vhost_user_state s = { index, num };

	return vhost_user_send(u, req, &s, sizeof(s), NULL, 0, true);
}

int vhost_user_get_base(struct vhost_user *u, u32 index, u32 *num)
{
	struct vhost_user_state s = { index, 0 };
	int r;

	r = vhost_user_send(u, VHOST_USER_GET_VRING_BASE, &s, sizeof(s),
			    NULL, 0, false);
	if (!r)
		r = vhost_user_recv(u, VHOST_USER_GET_VRING_BASE, &s,
				    sizeof(s), sizeof(s), NULL);
	if (!r && s.index != index)
		r = fail(u, VHOST_USER_GET_VRING_BASE, -EPROTO,
			 "reply for another ring");
	if (!r)
		*num = s.num;
	return r;
}

int vhost_user_set_vring_fd(struct vhost_user *u, u32 req, u32 index, int fd)
{
	u64 v = index | (fd < 0 ? VHOST_USER_VRING_NOFD : 0);

	return vhost_user_send(u, req, &v, sizeof(v), fd < 0 ? NULL : &fd,
			       fd < 0 ? 0 : 1, true);
}

int vhost_user_handshake(struct vhost_user *u, u64 want_protocol,
			 unsigned *queues)
{
	u64 proto = 0, n = 1;
	int r;

	r = vhost_user_send(u, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, false);
	if (!r)
		r = vhost_user_get_u64(u, VHOST_USER_GET_FEATURES, &u->features);
	if (r)
		return r;
	if (u->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)) {
		r = vhost_user_get_u64(u, VHOST_USER_GET_PROTOCOL_FEATURES,
				       &proto);
		if (r)
			return r;
		proto &= want_protocol;
		/* Not acked: REPLY_ACK counts only once it is agreed on. */
		r = vhost_user_set_u64(u, VHOST_USER_SET_PROTOCOL_FEATURES,
				       proto);
		if (r)
			return r;
		u->protocol = proto;
	}
	if (u->protocol & (1ULL << VHOST_USER_PROTOCOL_F_MQ)) {
		r = vhost_user_get_u64(u, VHOST_USER_GET_QUEUE_NUM, &n);
		if (r)
			return r;
		if (!n || n > VHOST_USER_MAX_QUEUES)
			return fail(u, VHOST_USER_GET_QUEUE_NUM, -EPROTO,
				    "the back end reports no usable queue count");
	}
	*queues = (unsigned)n;
	return 0;
}

int vhost_user_mem_table(const struct guest_mem *m, struct vhost_user_mem *t,
			 int *fds)
{
	unsigned i;

	memset(t, 0, sizeof(*t));
	if (m->nr > VHOST_USER_MAX_REGIONS)
		return -E2BIG;
	for (i = 0; i < m->nr; i++) {
		const struct guest_region *g = &m->regions[i];

		if (!(g->flags & GUEST_REGION_SHARED) || !g->hva || g->fd < 0)
			return -EINVAL;
		t->r[i] = (struct vhost_user_region){
			.gpa = g->gpa, .size = g->size,
			.uaddr = (u64)(uintptr_t)g->hva, .mmap_offset = 0,
		};
		fds[i] = g->fd;
	}
	t->nr = m->nr;
	return 0;
}

int vhost_user_set_mem_table(struct vhost_user *u, const struct guest_mem *m)
{
	int fds[VHOST_USER_MAX_REGIONS];
	struct vhost_user_mem t;
	int r = vhost_user_mem_table(m, &t, fds);

	if (r == -E2BIG)
		return fail(u, VHOST_USER_SET_MEM_TABLE, r,
			    "guest RAM has more regions than one message carries (8)");
	if (r)
		return fail(u, VHOST_USER_SET_MEM_TABLE, r,
			    "guest RAM is not shareable (no memfd)");
	return vhost_user_send(u, VHOST_USER_SET_MEM_TABLE, &t,
			       8 + t.nr * sizeof(t.r[0]), fds, t.nr, true);
}

int vhost_user_get_config(struct vhost_user *u, u8 *cfg, u32 len)
{
	struct vhost_user_config c = { 0, len, 0, { 0 } };
	const u32 hl = offsetof(struct vhost_user_config, data);
	int r;

	if (len > VHOST_USER_MAX_CONFIG)
		return -EINVAL;
	r = vhost_user_send(u, VHOST_USER_GET_CONFIG, &c, hl + len, NULL, 0,
			    false);
	if (!r)
		r = vhost_user_recv(u, VHOST_USER_GET_CONFIG, &c, hl + len,
				    hl + len, NULL);
	if (!r && (c.offset || c.size != len))
		r = fail(u, VHOST_USER_GET_CONFIG, -EPROTO,
			 "reply for another config range");
	if (!r)
		memcpy(cfg, c.data, len);
	return r;
}
