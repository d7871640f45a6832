/* SPDX-License-Identifier: GPL-2.0 */
/*
 * I/O threads: each runs an epoll loop, named "iothread N" in ps -L, and
 * serves the file descriptors devices hand it (virtqueue notify eventfds,
 * io_uring completion eventfds, tap fds). Device work runs here, never on
 * a vCPU thread.
 *
 * A handler is embedded in the device's own state; fn runs on the I/O
 * thread with the epoll events. Handlers may be added while the thread
 * runs (epoll_ctl is thread-safe) but are removed only once it stopped;
 * a device that must quiesce (virtio reset) does so under its own lock.
 */
#ifndef SMPVISOR_IOTHREAD_H
#define SMPVISOR_IOTHREAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>

#include "lib/parse.h"
#include "lib/util.h"

struct iothread_handler {
	void (*fn)(struct iothread_handler *h, u32 events);
	int fd;
};

struct iothread {
	unsigned idx;
	int epfd;
	int stop_fd;		/* eventfd: wakes the loop to stop */
	pthread_t thread;
	bool started;
	atomic_bool stop;
	const struct cpulist *pin;	/* NULL: not pinned */
	u64 events;		/* handler calls (stats, I/O thread only) */
	_Atomic int tid;	/* the host thread id, once it runs (0 before) */
};

/* Create the loop (no thread yet). 0 or -errno. */
int iothread_init(struct iothread *t, unsigned idx);
/* Watch h->fd for events (EPOLLIN and friends) on t. */
int iothread_add(struct iothread *t, struct iothread_handler *h, u32 events);
int iothread_del(struct iothread *t, struct iothread_handler *h);
/* Start the thread; pin (may be NULL) is applied inside it first. */
int iothread_start(struct iothread *t, const struct cpulist *pin);
/* Stop and join; safe if never started, safe twice. */
void iothread_stop(struct iothread *t);
void iothread_destroy(struct iothread *t);

#endif
