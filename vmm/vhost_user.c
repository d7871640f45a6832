// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-user front end: the socket, message framing and the requests
 * every vhost-user device needs (see vhost_user.h). Written from the
 * protocol description; a reply is read as a header, checked, then
 * exactly the payload it announced, so a bad peer can never make us read
 * past a buffer.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vhost_user.h"

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

static void set_timeouts(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000,
			      .tv_usec = (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

void vhost_user_attach(struct vhost_user *u, const char *name, int fd,
		       int timeout_ms)
{
	memset(u, 0, sizeof(*u));
	u->fd = fd;
	u->name = name;
	u->timeout_ms = timeout_ms;
	set_timeouts(fd, timeout_ms);
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

/* Send header + payload (+ fds) in one sendmsg, all of it. */
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
	size_t want = sizeof(*h) + h->size;
	ssize_t n;

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
	do {
		n = sendmsg(u->fd, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	if ((size_t)n != want)	/* a stream socket: finish the rest */
		return -EIO;
	return 0;
}

/* Read exactly len bytes (SO_RCVTIMEO bounds each wait). */
static int read_full(struct vhost_user *u, void *buf, size_t len)
{
	u8 *p = buf;
	ssize_t n;

	while (len) {
		n = recv(u->fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
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
	r = read_full(u, &h, sizeof(h));
	if (r)
		return fail(u, req, r, r == -ETIMEDOUT ?
			    "the back end did not answer" : r == -ECONNRESET ?
			    "the back end closed the connection" : NULL);
	r = vhost_user_check_hdr(&h, req, min_len, len);
	if (r) {
		snprintf(why, sizeof(why),
			 "malformed reply (request %u, flags 0x%x, %u bytes)",
			 h.request, h.flags, h.size);
		return fail(u, req, r, why);
	}
	r = read_full(u, buf, h.size);
	if (r)
		return fail(u, req, r, NULL);
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
	r = send_msg(u, &h, payload, fds, nfds);
	if (r)
		return fail(u, req, r, r == -EPIPE || r == -ECONNRESET ?
			    "the back end closed the connection" : NULL);
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
