// SPDX-License-Identifier: GPL-2.0
/*
 * The I/O thread loop (see iothread.h): epoll_wait, call each ready
 * handler, repeat until the stop eventfd fires.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/sandbox.h"
#include "smp/pin.h"
#include "vmm/iothread.h"

#define IOTHREAD_BATCH	64

int iothread_init(struct iothread *t, unsigned idx)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int err;

	memset(t, 0, sizeof(*t));
	t->idx = idx;
	atomic_init(&t->stop, false);
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	t->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->epfd < 0 || t->stop_fd < 0)
		goto out_err;
	ev.data.ptr = NULL;	/* the stop fd */
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->stop_fd, &ev) < 0)
		goto out_err;
	return 0;
out_err:
	err = -errno;
	pr_err("iothread %u: cannot create its event loop: %s", idx,
	       strerror(-err));
	iothread_destroy(t);	/* close() may change errno */
	return err;
}

int iothread_add(struct iothread *t, struct iothread_handler *h, u32 events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, h->fd, &ev) < 0) {
		int r = -errno;

		pr_err("iothread %u: cannot watch fd %d: %s", t->idx, h->fd,
		       strerror(-r));
		return r;
	}
	return 0;
}

int iothread_del(struct iothread *t, struct iothread_handler *h)
{
	if (epoll_ctl(t->epfd, EPOLL_CTL_DEL, h->fd, NULL) < 0)
		return -errno;
	return 0;
}

static void *iothread_main(void *arg)
{
	struct epoll_event ev[IOTHREAD_BATCH];
	struct iothread *t = arg;
	char name[16];
	int i, n;

	snprintf(name, sizeof(name), "iothread %u", t->idx);
	pthread_setname_np(pthread_self(), name);
	atomic_store(&t->tid, (int)gettid());
	if (t->pin && smp_pin_self(t->pin, name))
		pr_warn("%s runs unpinned", name);
	sandbox_thread(SANDBOX_IOTHREAD, name);
	while (!atomic_load(&t->stop)) {
		n = epoll_wait(t->epfd, ev, IOTHREAD_BATCH, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_err("%s: epoll_wait: %s", name, strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			struct iothread_handler *h = ev[i].data.ptr;

			if (!h)
				continue;	/* stop_fd: the loop test sees it */
			t->events++;
			h->fn(h, ev[i].events);
		}
	}
	return NULL;
}

int iothread_start(struct iothread *t, const struct cpulist *pin)
{
	sigset_t all, old;
	int r;

	t->pin = pin;
	/* The thread takes no signals: they belong to the main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&t->thread, NULL, iothread_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		pr_err("cannot start iothread %u: %s", t->idx, strerror(r));
		return -r;
	}
	t->started = true;
	return 0;
}

void iothread_stop(struct iothread *t)
{
	u64 one = 1;

	if (!t->started)
		return;
	atomic_store(&t->stop, true);
	if (write(t->stop_fd, &one, sizeof(one)) < 0)
		pr_err("iothread %u: cannot wake it: %s", t->idx,
		       strerror(errno));
	pthread_join(t->thread, NULL);
	t->started = false;
}

void iothread_destroy(struct iothread *t)
{
	iothread_stop(t);
	if (t->epfd >= 0)
		close(t->epfd);
	if (t->stop_fd >= 0)
		close(t->stop_fd);
	t->epfd = t->stop_fd = -1;
}
