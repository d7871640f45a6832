// SPDX-License-Identifier: GPL-2.0
/*
 * The control API's socket and thread (see api.h).
 *
 * One epoll loop serves the listening socket, every client and an
 * eventfd that api_event and api_destroy use to wake it. Client fds are
 * non-blocking, so a client that stops reading never blocks the thread.
 * Its output waits in its session, bounded by QMP_MAX_OUT. Client input
 * is read with recvmsg, so fds passed with it (SCM_RIGHTS) are kept on
 * the client for a command to take (api_take_fds).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/sandbox.h"
#include "vmm/api.h"

#define READ_CHUNK	65536
/*
 * The kernel's limit of fds in one SCM_RIGHTS message (SCM_MAX_FD, not
 * exported): room for all of them, so a message is never cut short and
 * those beyond API_MAX_FDS are seen, and closed.
 */
#define SCM_MAX_FDS	253

struct api_client {
	int fd;
	bool want_out;		/* EPOLLOUT is armed */
	struct qmp_session s;
	int fds[API_MAX_FDS];	/* received, not taken yet, oldest first */
	unsigned nr_fds;
};

/* An event waiting for the API thread to hand it to the sessions. */
struct api_pending_event {
	struct api_pending_event *next;
	char *name;
	json_t *data;
};

/* A path left by a process that died: a socket nobody listens on. */
static bool stale_socket(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) || !S_ISSOCK(st.st_mode))
		return false;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	return r < 0 && errno == ECONNREFUSED;
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		pr_err("api.socket %s: the path is longer than %zu bytes", path,
		       sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	if (stale_socket(path, &sa))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	old = umask(0177);	/* the socket is created 0600 */
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 16) < 0) {
		r = -errno;
		pr_err("api.socket %s: %s", path, r == -EADDRINUSE ?
		       "the file exists (another smpvisor's socket?)" :
		       strerror(-r));
		close(fd);
		return r;
	}
	return fd;
}

int api_init(struct api *a, const char *path, const struct qmp_cmd *cmds,
	     unsigned nr_cmds, void *ctx, const char *version)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int r;

	memset(a, 0, sizeof(*a));
	a->listen_fd = a->epfd = a->wake_fd = -1;
	a->cmds = cmds;
	a->nr_cmds = nr_cmds;
	a->ctx = ctx;
	a->version = version;
	pthread_mutex_init(&a->lock, NULL);
	r = listen_on(path);
	if (r < 0)
		return r;
	a->listen_fd = r;
	a->path = strdup(path);
	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	a->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!a->path || a->epfd < 0 || a->wake_fd < 0)
		return -ENOMEM;
	ev.data.ptr = &a->listen_fd;
	if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, a->listen_fd, &ev) < 0)
		return -errno;
	ev.data.ptr = &a->wake_fd;
	if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, a->wake_fd, &ev) < 0)
		return -errno;
	return 0;
}

static void close_fds(struct api_client *c)
{
	while (c->nr_fds)
		close(c->fds[--c->nr_fds]);
}

static void drop(struct api *a, unsigned i)
{
	struct api_client *c = a->clients[i];

	epoll_ctl(a->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	close_fds(c);
	qmp_session_free(&c->s);
	free(c);
	a->clients[i] = NULL;
}

/* Send what the client's session holds; false when the client is gone. */
static bool flush(struct api *a, struct api_client *c)
{
	struct epoll_event ev = { .data.ptr = c };
	bool want;

	while (qmp_pending(&c->s)) {
		ssize_t n = send(c->fd, c->s.out + c->s.out_off,
				 qmp_pending(&c->s), MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return false;
		if (n <= 0)
			break;
		qmp_sent(&c->s, (size_t)n);
	}
	want = qmp_pending(&c->s) > 0;
	if (want != c->want_out) {
		ev.events = EPOLLIN | (want ? EPOLLOUT : 0);
		epoll_ctl(a->epfd, EPOLL_CTL_MOD, c->fd, &ev);
		c->want_out = want;
	}
	/* A session a protocol error ended goes once its last reply is out. */
	return !c->s.closed || want;
}

static void accept_one(struct api *a)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct api_client *c;
	unsigned i;
	int fd;

	fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	for (i = 0; i < API_MAX_CLIENTS && a->clients[i]; i++)
		;
	c = i < API_MAX_CLIENTS ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		close(fd);	/* full: the client sees the connection close */
		a->dropped++;
		return;
	}
	c->fd = fd;
	qmp_session_init(&c->s, a->cmds, a->nr_cmds, a->ctx);
	ev.data.ptr = c;
	if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		qmp_session_free(&c->s);
		free(c);
		return;
	}
	a->clients[i] = c;
	a->accepted++;
	qmp_greet(&c->s, a->version);
	if (!flush(a, c))
		drop(a, i);
}

static unsigned slot_of(struct api *a, struct api_client *c)
{
	unsigned i;

	for (i = 0; i < API_MAX_CLIENTS; i++)
		if (a->clients[i] == c)
			return i;
	return API_MAX_CLIENTS;
}

/*
 * Keep the fds that came with a message on the client, up to
 * API_MAX_FDS; close the rest, and all of them when the control data
 * was cut short (MSG_CTRUNC).
 */
static void keep_fds(struct api_client *c, struct msghdr *mh)
{
	struct cmsghdr *cm;
	size_t i, nr;
	int fd;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nr = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nr; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			if (!(mh->msg_flags & MSG_CTRUNC) &&
			    c->nr_fds < API_MAX_FDS)
				c->fds[c->nr_fds++] = fd;
			else
				close(fd);
		}
	}
}

/* Read what the client sent and run it; false when it is gone. */
static bool serve(struct api *a, struct api_client *c, u32 events)
{
	static char buf[READ_CHUNK];	/* API thread only */
	static union {			/* aligned for struct cmsghdr */
		struct cmsghdr h;
		char b[CMSG_SPACE(SCM_MAX_FDS * sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.b,
			     .msg_controllen = sizeof(ctl.b) };
	ssize_t n;

	if (events & EPOLLIN) {
		n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n > 0)
			keep_fds(c, &mh);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return false;
		if (n > 0) {
			a->feeding = c;		/* commands run inside */
			qmp_feed(&c->s, buf, (size_t)n);
			a->feeding = NULL;
		}
	} else if (events & (EPOLLHUP | EPOLLERR)) {
		return false;
	}
	return flush(a, c);
}

/* Give the events taken off the queue to every session, and free them. */
static void hand_out(struct api *a, struct api_pending_event *e)
{
	struct api_pending_event *next;
	unsigned k;

	for (; e; e = next) {
		next = e->next;
		for (k = 0; k < API_MAX_CLIENTS; k++)
			if (a->clients[k])
				qmp_event(&a->clients[k]->s, e->name, e->data);
		json_decref(e->data);
		free(e->name);
		free(e);
	}
}

/*
 * Hand the queued events to every session and send them; true when the
 * thread is to stop. Sessions are the API thread's alone, so commands
 * (run from serve) may raise events without any lock held.
 */
static bool deliver(struct api *a)
{
	struct api_pending_event *e;
	unsigned k;
	bool stop;

	pthread_mutex_lock(&a->lock);
	e = a->events;
	a->events = a->events_tail = NULL;
	stop = a->stop;
	pthread_mutex_unlock(&a->lock);
	hand_out(a, e);
	for (k = 0; k < API_MAX_CLIENTS; k++)
		if (a->clients[k] && !flush(a, a->clients[k]))
			drop(a, k);
	return stop;
}

void api_send_events_now(struct api *a)
{
	struct api_pending_event *e;
	unsigned k;

	if (!a->started || !pthread_equal(pthread_self(), a->thread))
		return;
	pthread_mutex_lock(&a->lock);
	e = a->events;
	a->events = a->events_tail = NULL;
	pthread_mutex_unlock(&a->lock);
	hand_out(a, e);
	/*
	 * A client gone stays for the loop to drop: its session may be the
	 * one whose command is running.
	 */
	for (k = 0; k < API_MAX_CLIENTS; k++)
		if (a->clients[k])
			flush(a, a->clients[k]);
}

unsigned api_take_fds(struct api *a, int *fds, unsigned max)
{
	struct api_client *c;
	unsigned n;

	if (!a->started || !pthread_equal(pthread_self(), a->thread))
		return 0;
	c = a->feeding;
	if (!c)
		return 0;
	n = MIN(max, c->nr_fds);
	memcpy(fds, c->fds, n * sizeof(*fds));
	memmove(c->fds, c->fds + n, (c->nr_fds - n) * sizeof(*fds));
	c->nr_fds -= n;
	return n;
}

static void *api_thread(void *arg)
{
	struct api *a = arg;
	struct epoll_event evs[16];
	u64 v;
	int n, i;

	pthread_setname_np(pthread_self(), "api");
	sandbox_thread(SANDBOX_API, "api");
	for (;;) {
		n = epoll_wait(a->epfd, evs, 16, -1);
		for (i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			unsigned k;

			if (p == &a->listen_fd) {
				accept_one(a);
			} else if (p == &a->wake_fd) {
				if (read(a->wake_fd, &v, sizeof(v)) < 0)
					v = 0;
			} else {
				k = slot_of(a, p);
				if (k < API_MAX_CLIENTS &&
				    !serve(a, a->clients[k], evs[i].events))
					drop(a, k);
			}
		}
		if (deliver(a))
			break;
	}
	return NULL;
}

int api_start(struct api *a)
{
	int r = pthread_create(&a->thread, NULL, api_thread, a);

	if (r) {
		pr_err("cannot start the api thread: %s", strerror(r));
		return -r;
	}
	a->started = true;
	return 0;
}

static void wake(struct api *a)
{
	u64 one = 1;

	if (write(a->wake_fd, &one, sizeof(one)) < 0) {
		/* Full counter: the thread is woken anyway. */
	}
}

void api_destroy(struct api *a)
{
	unsigned i;

	if (a->started) {
		pthread_mutex_lock(&a->lock);
		a->stop = true;
		pthread_mutex_unlock(&a->lock);
		wake(a);
		pthread_join(a->thread, NULL);
		a->started = false;
	}
	deliver(a);	/* the last events, to whoever is still there */
	for (i = 0; i < API_MAX_CLIENTS; i++) {
		if (!a->clients[i])
			continue;
		flush(a, a->clients[i]);	/* the last events, if they fit */
		drop(a, i);
	}
	if (a->listen_fd >= 0) {
		close(a->listen_fd);
		unlink(a->path);
	}
	if (a->epfd >= 0)
		close(a->epfd);
	if (a->wake_fd >= 0)
		close(a->wake_fd);
	free(a->path);
	pthread_mutex_destroy(&a->lock);
	memset(a, 0, sizeof(*a));
	a->listen_fd = a->epfd = a->wake_fd = -1;
}

void api_event(struct api *a, const char *name, json_t *data)
{
	struct api_pending_event *e;

	if (a->listen_fd < 0)
		return;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->name = strdup(name))) {
		free(e);
		return;		/* an event lost to ENOMEM, not the VM */
	}
	/*
	 * A copy, the API thread's alone: jansson's reference counts are
	 * not for sharing one object between threads.
	 */
	e->data = data ? json_deep_copy(data) : NULL;
	if (data && !e->data) {
		free(e->name);
		free(e);
		return;
	}
	pthread_mutex_lock(&a->lock);
	if (a->events_tail)
		a->events_tail->next = e;
	else
		a->events = e;
	a->events_tail = e;
	pthread_mutex_unlock(&a->lock);
	wake(a);
}
