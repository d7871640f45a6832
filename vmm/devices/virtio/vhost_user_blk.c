// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-user-blk front end (see vhost_user_blk.h): the virtio-blk PCI
 * function whose rings a vhost-user back end serves.
 *
 * Set-up traffic only. The hand-shake runs at creation; after that every
 * round trip runs on the device's own worker thread ("vhost-user N"),
 * never on a vCPU thread and never under vp->lock: DRIVER_OK and reset
 * only record a target and wake the worker, so a slow or hung back end
 * holds up nothing but this disk. Each message has one deadline
 * (vhost_user.h); a back end that misses it, hangs up or breaks the
 * protocol is cut off for good and the device NEEDS_RESET.
 *
 * Reset: the status reads back non-zero (vp->stopping) until the worker
 * has every ring back (GET_VRING_BASE answered) or has cut the back end
 * off; only then may the guest reuse its buffers. A back end cut off
 * after a missed deadline sees its socket shut down; qemu-storage-daemon
 * then stops its rings. One that ignores that could still write guest
 * RAM, which vhost-user lets any back end do: it maps it.
 *
 * Locks: vp->lock (registers) before wlock (the target); the worker takes
 * them only between round trips, briefly.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/sandbox.h"
#include "vmm/devices/vhost_user_blk.h"
#include "vmm/devices/virtio_blk.h"

/* virtio-blk feature bits we let through from the back end (5.2.3). */
#define BLK_PASS_FEATURES	((1ULL << 1) /* SIZE_MAX */ | \
				 (1ULL << 2) /* SEG_MAX */ | \
				 (1ULL << 4) /* GEOMETRY */ | \
				 (1ULL << 5) /* RO */ | \
				 (1ULL << 6) /* BLK_SIZE */ | \
				 (1ULL << 9) /* FLUSH */ | \
				 (1ULL << 10) /* TOPOLOGY */ | \
				 (1ULL << 12) /* MQ */ | \
				 (1ULL << 13) /* DISCARD */ | \
				 (1ULL << 14) /* WRITE_ZEROES */ | \
				 (1ULL << VIRTIO_F_INDIRECT_DESC) | \
				 (1ULL << VIRTIO_F_EVENT_IDX) | \
				 (1ULL << VIRTIO_F_VERSION_1))
#define BLK_CFG_NUM_QUEUES	34

static void cfg_read(struct virtio_pci *vp, u32 off, u8 *data, u32 len)
{
	struct vhost_user_blk *b = container_of(vp, struct vhost_user_blk, vp);

	memcpy(data, b->cfg + off, len);	/* the transport checked the range */
}

/* Wake the worker: a new target, or time to quit. */
static void worker_wake(struct vhost_user_blk *b)
{
	u64 one = 1;

	if (write(b->wake_fd, &one, sizeof(one)) < 0)
		return;		/* EAGAIN: the counter is already non-zero */
}

/*
 * The connection is lost (a round trip failed, the back end hung up or
 * spoke unasked): shut the socket down, so that a back end still alive
 * sees the hang-up and stops its rings, and make every later start fail
 * at once. Worker only.
 */
static void conn_lost(struct vhost_user_blk *b, const char *why)
{
	if (why && !b->u.dead)
		pr_err("%s: %s: the disk fails", b->label, why);
	b->u.dead = true;
	vhost_user_abort(&b->u);
	atomic_store(&b->gone, true);
}

/* Hand queue i over: size, rings (our addresses), base, call, kick. */
static int queue_hand_over(struct vhost_user_blk *b, unsigned i,
			   const struct virtio_backend_ring *q)
{
	struct vhost_user *u = &b->u;
	struct vhost_user_addr a = {
		.index = i, .desc = (u64)(uintptr_t)q->desc,
		.avail = (u64)(uintptr_t)q->avail,
		.used = (u64)(uintptr_t)q->used,
	};
	u64 one = 1;
	int r;

	r = vhost_user_set_state(u, VHOST_USER_SET_VRING_NUM, i, q->size);
	if (!r)
		r = vhost_user_send(u, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a),
				    NULL, 0, true);
	if (!r)
		r = vhost_user_set_state(u, VHOST_USER_SET_VRING_BASE, i,
					 q->base);
	/*
	 * The call fd before the kick fd: once it has the kick fd the back
	 * end may serve a pending kick and complete a request, and a back
	 * end with no call fd then (libvhost-user's) writes to fd -1 and
	 * drops the connection.
	 */
	if (!r)
		r = vhost_user_set_vring_fd(u, VHOST_USER_SET_VRING_CALL, i,
					    q->call);
	/* From the first ring request on, the back end may hold the ring. */
	b->handed[i] = true;
	if (!r)
		r = vhost_user_set_vring_fd(u, VHOST_USER_SET_VRING_KICK, i,
					    q->kick);
	if (!r && (u->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)))
		r = vhost_user_set_state(u, VHOST_USER_SET_VRING_ENABLE, i, 1);
	/* Buffers may be there already: have the back end look. */
	if (!r && write(q->kick, &one, sizeof(one)) < 0)
		r = -errno;
	return r;
}

/* Features, guest RAM, then every queue of the snapshot. Worker only. */
static int rings_start(struct vhost_user_blk *b, u64 features)
{
	struct vhost_user *u = &b->u;
	unsigned i;
	int r;

	if (u->dead)
		return -ECONNRESET;
	features |= u->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES);
	r = vhost_user_set_u64(u, VHOST_USER_SET_FEATURES, features);
	if (!r)
		r = vhost_user_set_mem_table(u, b->vp.mem);
	for (i = 0; !r && i < b->nr_queues; i++)
		if (b->run[i].size)
			r = queue_hand_over(b, i, &b->run[i]);
	if (r)
		conn_lost(b, NULL);	/* vhost_user said why */
	return r;
}

/*
 * Take every handed ring back: GET_VRING_BASE stops it, and its answer
 * (the ring's next available index, in base[]) means the back end no
 * longer touches it. A back end that does not answer in time is cut off
 * (conn_lost); its rings' indices are lost. Worker only.
 */
static void rings_stop(struct vhost_user_blk *b)
{
	struct vhost_user *u = &b->u;
	unsigned i;

	for (i = 0; i < b->nr_queues; i++) {
		b->base[i] = VIRTIO_BASE_UNKNOWN;
		if (!b->handed[i])
			continue;
		b->handed[i] = false;
		if (u->dead)
			continue;
		if ((u->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)) &&
		    vhost_user_set_state(u, VHOST_USER_SET_VRING_ENABLE, i, 0))
			conn_lost(b, NULL);
		else if (vhost_user_get_base(u, i, &b->base[i]))
			conn_lost(b, NULL);
	}
}

/*
 * Idle: wait for a new target, watching the socket meanwhile. With no
 * request out, anything the back end sends (or its hang-up) ends the
 * connection. Worker only.
 */
static void worker_idle(struct vhost_user_blk *b)
{
	struct pollfd p[2] = {
		{ .fd = b->wake_fd, .events = POLLIN },
		{ .fd = b->u.dead ? -1 : b->u.fd, .events = POLLIN | POLLRDHUP },
	};
	bool quit;
	u64 n;

	if (poll(p, 2, -1) < 0)
		return;		/* EINTR: look again */
	if (p[0].revents & POLLIN && read(b->wake_fd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&b->wlock);
	quit = b->quit;		/* destroy shut the socket, not the back end */
	pthread_mutex_unlock(&b->wlock);
	if (!p[1].revents || quit)
		return;
	conn_lost(b, p[1].revents & POLLIN && !(p[1].revents & POLLRDHUP) ?
		  "the back end sent a message nobody asked for" :
		  "the back end closed the connection");
	/* The guest must hear of it if the disk is in use. */
	pthread_mutex_lock(&b->vp.lock);
	pthread_mutex_lock(&b->wlock);
	if (b->want_run && b->done_gen == b->want_gen)
		virtio_queue_fail(&b->vp.q[0], "vhost-user back end gone");
	pthread_mutex_unlock(&b->wlock);
	pthread_mutex_unlock(&b->vp.lock);
}

/*
 * A job is done: record it, end the stop it was for (with the indices
 * taken back, unless a newer target came meanwhile), and fail the device
 * if a start failed and is still what the guest wants (not overtaken by
 * a reset). vp->lock before wlock, as on the vCPU side.
 */
static void job_done(struct vhost_user_blk *b, u64 gen, bool run, int r)
{
	pthread_mutex_lock(&b->vp.lock);
	pthread_mutex_lock(&b->wlock);
	b->done_gen = gen;
	if (gen >= b->stop_gen)
		virtio_backend_stopped(&b->vp, !run && gen == b->want_gen ?
				       b->base : NULL);
	if (run && r && gen == b->want_gen)
		virtio_queue_fail(&b->vp.q[0], "the back end did not take the queues");
	pthread_mutex_unlock(&b->wlock);
	pthread_mutex_unlock(&b->vp.lock);
}

/*
 * The worker: every round trip after creation runs here, never on a
 * vCPU thread and never under vp->lock. It drives the back end towards
 * the latest target (want_*), whatever came in between: each job first
 * takes back whatever rings are handed, then hands over the snapshot if
 * the target is "running".
 */
static void *worker_fn(void *arg)
{
	struct vhost_user_blk *b = arg;
	u64 gen, features;
	bool quit, run, pending;

	sandbox_thread(SANDBOX_VHOST_USER, b->label);
	for (;;) {
		pthread_mutex_lock(&b->wlock);
		quit = b->quit;
		gen = b->want_gen;
		pending = gen != b->done_gen;
		run = b->want_run;
		features = b->want_features;
		if (pending && run)
			memcpy(b->run, b->want, b->nr_queues * sizeof(*b->run));
		pthread_mutex_unlock(&b->wlock);
		if (quit)
			break;
		if (!pending) {
			worker_idle(b);
			continue;
		}
		rings_stop(b);
		job_done(b, gen, run, run ? rings_start(b, features) : 0);
	}
	return NULL;
}

/*
 * The back end's start (vCPU thread at DRIVER_OK, or resume; vp->lock
 * held): record the rings as the target and wake the worker. Returns at
 * once; a back end that then fails makes the device NEEDS_RESET.
 */
static int start(struct virtio_pci *vp, const struct virtio_backend_ring *r,
		 unsigned nr)
{
	struct vhost_user_blk *b = container_of(vp, struct vhost_user_blk, vp);
	unsigned i;

	if (atomic_load(&b->gone))
		return -ECONNRESET;
	pthread_mutex_lock(&b->wlock);
	memset(b->want, 0, b->nr_queues * sizeof(*b->want));
	for (i = 0; i < nr; i++)
		b->want[r[i].idx] = r[i];
	b->want_features = vp->drv_features;
	b->want_run = true;
	b->want_gen++;
	pthread_mutex_unlock(&b->wlock);
	worker_wake(b);
	return 0;
}

/*
 * The back end's stop (vCPU thread at reset, or pause; vp->lock held):
 * ask the worker to take the rings back and return at once. Until it has
 * (every GET_VRING_BASE answered, or the back end cut off) the transport
 * keeps vp->stopping set: the status does not read 0, so a driver that
 * waits for 0 (virtio 1.2, 4.1.4.3.2; Linux does) cannot reuse its
 * buffers while the back end may still use them, and pause waits.
 */
static void stop(struct virtio_pci *vp)
{
	struct vhost_user_blk *b = container_of(vp, struct vhost_user_blk, vp);

	pthread_mutex_lock(&b->wlock);
	b->want_run = false;
	b->stop_gen = ++b->want_gen;
	pthread_mutex_unlock(&b->wlock);
	worker_wake(b);
}

/* The disk as the guest sees it: another back end's is refused. */
static int vub_save(struct virtio_pci *vp, struct state_writer *w)
{
	struct vhost_user_blk *b = container_of(vp, struct vhost_user_blk, vp);

	STATE_PUT(w, b, cfg);
	return w->err;
}

static int vub_load(struct virtio_pci *vp, struct state_reader *r)
{
	struct vhost_user_blk *b = container_of(vp, struct vhost_user_blk, vp);
	u8 cfg[VHOST_USER_BLK_CFG_SIZE];
	u64 cap = 0, was = 0;
	int e = state_get(r, "cfg", cfg, sizeof(cfg));

	if (e || !memcmp(cfg, b->cfg, sizeof(cfg)))
		return e;
	memcpy(&was, cfg, sizeof(was));
	memcpy(&cap, b->cfg, sizeof(cap));
	return state_refuse(r, "another disk config (%llu sectors, this back end's disk has %llu)",
			    (unsigned long long)was, (unsigned long long)cap);
}

static const struct virtio_dev_ops ops = {
	.cfg_read = cfg_read,
	.save = vub_save,
	.load = vub_load,
	.start = start,
	.stop = stop,
};

/* Queue count: what was asked for, within what the back end has. */
static int choose_queues(struct vhost_user_blk *b,
			 const struct vhost_user_blk_opts *o, unsigned have)
{
	if (o->queues > have) {
		pr_err("%s: %u queues asked for, the back end has %u (qemu-storage-daemon: num-queues=)",
		       b->label, o->queues, have);
		return -EINVAL;
	}
	b->nr_queues = o->queues ? o->queues : have;
	if (!o->queues && o->max_queues && b->nr_queues > o->max_queues)
		b->nr_queues = o->max_queues;
	return 0;
}

/* Connect, negotiate and read the device config. */
static int backend_init(struct vhost_user_blk *b,
			const struct vhost_user_blk_opts *o)
{
	const u64 want = (1ULL << VHOST_USER_PROTOCOL_F_MQ) |
			 (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
			 (1ULL << VHOST_USER_PROTOCOL_F_CONFIG);
	unsigned have;
	int r;

	r = vhost_user_connect(&b->u, b->label, o->socket,
			       o->timeout_ms ? o->timeout_ms :
			       VHOST_USER_TIMEOUT_MS);
	if (!r)
		r = vhost_user_handshake(&b->u, want, &have);
	if (r)
		return r;
	if (!(b->u.features & (1ULL << VIRTIO_F_VERSION_1))) {
		pr_err("%s: the back end does not offer VIRTIO_F_VERSION_1",
		       b->label);
		return -EPROTO;
	}
	if (!(b->u.protocol & (1ULL << VHOST_USER_PROTOCOL_F_CONFIG))) {
		pr_err("%s: the back end does not offer its device config (VHOST_USER_PROTOCOL_F_CONFIG)",
		       b->label);
		return -EPROTO;
	}
	r = choose_queues(b, o, have);
	if (!r)
		r = vhost_user_get_config(&b->u, b->cfg, sizeof(b->cfg));
	if (r)
		return r;
	/* The guest uses the queues we have, not all the back end could. */
	b->cfg[BLK_CFG_NUM_QUEUES] = (u8)b->nr_queues;
	b->cfg[BLK_CFG_NUM_QUEUES + 1] = (u8)(b->nr_queues >> 8);
	return 0;
}

static void worker_free(struct vhost_user_blk *b)
{
	if (b->wake_fd >= 0)
		close(b->wake_fd);
	b->wake_fd = -1;
	if (b->wlock_ok)
		pthread_mutex_destroy(&b->wlock);
	b->wlock_ok = false;
	free(b->want);
	free(b->run);
	free(b->handed);
	free(b->base);
	b->want = b->run = NULL;
	b->handed = NULL;
	b->base = NULL;
}

/* The worker's state and thread (signals blocked: they are main's). */
static int worker_start(struct vhost_user_blk *b, unsigned idx)
{
	sigset_t all, old;
	char tname[16];
	int r;

	b->want = calloc(b->nr_queues, sizeof(*b->want));
	b->run = calloc(b->nr_queues, sizeof(*b->run));
	b->handed = calloc(b->nr_queues, sizeof(*b->handed));
	b->base = calloc(b->nr_queues, sizeof(*b->base));
	if (!b->want || !b->run || !b->handed || !b->base)
		return -ENOMEM;
	b->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->wake_fd < 0)
		return -errno;
	r = -pthread_mutex_init(&b->wlock, NULL);
	if (r)
		return r;
	b->wlock_ok = true;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = -pthread_create(&b->worker, NULL, worker_fn, b);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return r;
	b->worker_ok = true;
	snprintf(tname, sizeof(tname), "vhost-user %u", idx);
	pthread_setname_np(b->worker, tname);
	return 0;
}

/* Stop the worker promptly, even in the middle of a round trip. */
static void worker_stop(struct vhost_user_blk *b)
{
	if (!b->worker_ok)
		return;
	pthread_mutex_lock(&b->wlock);
	b->quit = true;
	pthread_mutex_unlock(&b->wlock);
	vhost_user_abort(&b->u);	/* a round trip in flight ends now */
	worker_wake(b);
	pthread_join(b->worker, NULL);
	b->worker_ok = false;
}

/*
 * At exit: no graceful take-back (the machine is stopping, maybe because
 * the back end hangs): the worker is cut off mid-round-trip if need be,
 * and the closed socket tells the back end to stop its rings.
 */
static void vub_destroy(struct device *d)
{
	struct vhost_user_blk *b = container_of(d, struct vhost_user_blk,
						vp.dev);

	worker_stop(b);
	virtio_pci_destroy(&b->vp);
	worker_free(b);
	vhost_user_close(&b->u);
}

static const struct device_ops vub_dev_ops =
	VIRTIO_DEVICE_OPS("vhost-user-blk", 1, vub_destroy);

int vhost_user_blk_create(struct vhost_user_blk *b, unsigned idx,
			  const struct vhost_user_blk_opts *o,
			  struct device_manager *dm, const struct guest_mem *mem)
{
	struct virtio_pci_conf c = {
		.name = b->name, .device_id = VIRTIO_ID_BLOCK,
		.class_code = 0x018000, .queue_max = VIRTIO_BLK_QUEUE_SIZE,
		.cfg_size = VHOST_USER_BLK_CFG_SIZE, .ops = &ops,
		.dev_ops = &vub_dev_ops, .dm = dm, .mem = mem,
	};
	u64 cap = 0;
	int r;

	memset(b, 0, sizeof(*b));
	b->u.fd = -1;
	b->wake_fd = -1;
	snprintf(b->name, sizeof(b->name), "vhost-user-blk%u", idx);
	snprintf(b->label, sizeof(b->label), "disk vhost-user=%s", o->socket);
	r = backend_init(b, o);
	if (r)
		goto out_close;
	/* Every queue is the back end's: no I/O thread reads their kicks. */
	c.nr_queues = c.nr_backend = (u16)b->nr_queues;
	r = virtio_pci_init(&b->vp, &c);
	if (r)
		goto out_close;
	b->vp.dev_features = b->u.features & BLK_PASS_FEATURES;
	r = worker_start(b, idx);
	if (r) {
		pr_err("%s: cannot start its worker thread: %s", b->label,
		       strerror(-r));
		goto out_destroy;
	}
	r = virtio_pci_add(&b->vp);
	if (r)
		goto out_destroy;
	memcpy(&cap, b->cfg, sizeof(cap));
	pr_info("%s: %s, %llu MiB, %u queues (back end features 0x%llx)",
		b->name, o->socket, (unsigned long long)(cap >> 11),
		b->nr_queues, (unsigned long long)b->u.features);
	return 0;
out_destroy:
	vub_destroy(&b->vp.dev);
	return r;
out_close:
	worker_free(b);
	vhost_user_close(&b->u);
	return r;
}
