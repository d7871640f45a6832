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

/* Hand queue i over: size, rings (our addresses), base, kick, call. */
static int queue_hand_over(struct vhost_user_blk *b, unsigned i,
			   const struct vub_ring *q)
{
	struct vhost_user *u = &b->u;
	struct vhost_user_addr a = {
		.index = i, .desc = q->desc, .avail = q->avail, .used = q->used,
	};
	u64 one = 1;
	int r;

	r = vhost_user_set_state(u, VHOST_USER_SET_VRING_NUM, i, q->size);
	if (!r)
		r = vhost_user_send(u, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a),
				    NULL, 0, true);
	if (!r)
		r = vhost_user_set_state(u, VHOST_USER_SET_VRING_BASE, i, 0);
	if (!r)
		r = vhost_user_set_vring_fd(u, VHOST_USER_SET_VRING_KICK, i,
					    q->kick);
	/* From the first ring request on, the back end may hold the ring. */
	b->handed[i] = true;
	if (!r)
		r = vhost_user_set_vring_fd(u, VHOST_USER_SET_VRING_CALL, i,
					    q->call);
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
 * means the back end no longer touches it. A back end that does not
 * answer in time is cut off (conn_lost). Worker only.
 */
static void rings_stop(struct vhost_user_blk *b)
{
	struct vhost_user *u = &b->u;
	unsigned i;
	u32 base;

	for (i = 0; i < b->nr_queues; i++) {
		if (!b->handed[i])
			continue;
		b->handed[i] = false;
		if (u->dead)
			continue;
		if ((u->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)) &&
		    vhost_user_set_state(u, VHOST_USER_SET_VRING_ENABLE, i, 0))
			conn_lost(b, NULL);
		else if (vhost_user_get_base(u, i, &base))
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
	u64 n;

	if (poll(p, 2, -1) < 0)
		return;		/* EINTR: look again */
	if (p[0].revents & POLLIN && read(b->wake_fd, &n, sizeof(n)) < 0)
		return;
	if (!p[1].revents)
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
 * A job is done: record it, end the reset it was for, and fail the
 * device if a start failed and is still what the guest wants (not
 * overtaken by a reset). vp->lock before wlock, as on the vCPU side.
 */
static void job_done(struct vhost_user_blk *b, u64 gen, bool run, int r)
{
	pthread_mutex_lock(&b->vp.lock);
	pthread_mutex_lock(&b->wlock);
	b->done_gen = gen;
	if (gen >= b->stop_gen)
		atomic_store(&b->vp.stopping, false);
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
 * DRIVER_OK (vCPU thread, vp->lock held): check what needs no back end,
 * snapshot the enabled queues and hand the rest to the worker. Returns
 * at once; a back end that then fails makes the device NEEDS_RESET.
 */
static int start(struct virtio_pci *vp)
{
	struct vhost_user_blk *b = container_of(vp, struct vhost_user_blk, vp);
	const struct guest_mem *mem = vp->mem;
	unsigned i;
	int r = 0;

	if (atomic_load(&b->gone))
		return -ECONNRESET;
	if (!atomic_load(&vp->pci.msix.enabled)) {
		if (dev_ratelimit_ok(&b->rl, LOG_ERR))
			pr_err("%s: the guest did not enable MSI-X: a vhost-user disk needs it",
			       b->label);
		return -EINVAL;
	}
	pthread_mutex_lock(&b->wlock);
	for (i = 0; !r && i < b->nr_queues; i++) {
		struct virtio_queue *q = &vp->q[i];
		struct vub_ring *w = &b->want[i];
		u16 vec = __atomic_load_n(&q->msix_vector, __ATOMIC_RELAXED);
		void *desc, *avail, *used;

		memset(w, 0, sizeof(*w));
		if (!q->enabled)
			continue;
		if (vec >= vp->pci.msix.nr) {
			if (dev_ratelimit_ok(&b->rl, LOG_ERR))
				pr_err("%s: queue %u has no MSI-X vector: a vhost-user disk needs one per queue",
				       b->label, i);
			r = -EINVAL;
			break;
		}
		desc = gpa_to_hva(mem, q->desc, 16ULL * q->size);
		avail = gpa_to_hva(mem, q->driver, 6 + 2ULL * q->size);
		used = gpa_to_hva(mem, q->device, 6 + 8ULL * q->size);
		if (!desc || !avail || !used) {
			r = -EINVAL;	/* checked at enable; be sure */
			break;
		}
		*w = (struct vub_ring){
			.size = q->size, .kick = q->notify_fd,
			.call = vp->pci.msix.fd[vec],
			.desc = (u64)(uintptr_t)desc,
			.avail = (u64)(uintptr_t)avail,
			.used = (u64)(uintptr_t)used,
		};
	}
	if (!r) {
		b->want_features = vp->drv_features;
		b->want_run = true;
		b->want_gen++;
	}
	pthread_mutex_unlock(&b->wlock);
	if (!r)
		worker_wake(b);
	return r;
}

/*
 * Reset (vCPU thread, vp->lock held): ask the worker to take the rings
 * back and return at once. Until it has (every GET_VRING_BASE answered,
 * or the back end cut off), vp->stopping keeps the status from reading
 * 0, so a driver that waits for 0 (virtio 1.2, 4.1.4.3.2; Linux does)
 * cannot reuse its buffers while the back end may still use them.
 */
static void stop(struct virtio_pci *vp)
{
	struct vhost_user_blk *b = container_of(vp, struct vhost_user_blk, vp);

	pthread_mutex_lock(&b->wlock);
	b->want_run = false;
	b->stop_gen = ++b->want_gen;
	atomic_store(&vp->stopping, true);
	pthread_mutex_unlock(&b->wlock);
	worker_wake(b);
}

static const struct virtio_dev_ops ops = {
	.cfg_read = cfg_read,
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
	b->want = b->run = NULL;
	b->handed = NULL;
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
	if (!b->want || !b->run || !b->handed)
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

int vhost_user_blk_create(struct vhost_user_blk *b, unsigned idx,
			  const struct vhost_user_blk_opts *o,
			  struct kvm_vm *kvm, struct irq_router *irq,
			  const struct guest_mem *mem, struct iothread *iot)
{
	u64 cap = 0;
	int r;

	(void)iot;	/* the worker watches the socket now */
	memset(b, 0, sizeof(*b));
	b->u.fd = -1;
	b->wake_fd = -1;
	snprintf(b->name, sizeof(b->name), "vhost-user-blk%u", idx);
	snprintf(b->label, sizeof(b->label), "disk vhost-user=%s", o->socket);
	r = backend_init(b, o);
	if (r)
		goto out_close;
	/* No I/O threads: the kicks are the back end's, not ours to read. */
	r = virtio_pci_init(&b->vp, b->name, VIRTIO_ID_BLOCK, 0x018000, 0,
			    (u16)b->nr_queues, VIRTIO_BLK_QUEUE_SIZE,
			    VHOST_USER_BLK_CFG_SIZE, &ops, kvm, irq, mem,
			    NULL, 0);
	if (r)
		goto out_close;
	b->vp.dev_features = b->u.features & BLK_PASS_FEATURES;
	r = worker_start(b, idx);
	if (r) {
		pr_err("%s: cannot start its worker thread: %s", b->label,
		       strerror(-r));
		goto out_destroy;
	}
	memcpy(&cap, b->cfg, sizeof(cap));
	pr_info("%s: %s, %llu MiB, %u queues (back end features 0x%llx)",
		b->name, o->socket, (unsigned long long)(cap >> 11),
		b->nr_queues, (unsigned long long)b->u.features);
	return 0;
out_destroy:
	virtio_pci_destroy(&b->vp);
out_close:
	worker_free(b);
	vhost_user_close(&b->u);
	return r;
}

/*
 * At exit: no graceful take-back (the machine is stopping, maybe because
 * the back end hangs): the worker is cut off mid-round-trip if need be,
 * and the closed socket tells the back end to stop its rings.
 */
void vhost_user_blk_destroy(struct vhost_user_blk *b)
{
	worker_stop(b);
	virtio_pci_destroy(&b->vp);
	worker_free(b);
	vhost_user_close(&b->u);
}
