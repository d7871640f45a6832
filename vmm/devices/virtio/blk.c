// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk on io_uring (see virtio_blk.h).
 *
 * Each queue owns an io_uring whose completion eventfd sits in the same
 * I/O thread as the queue's notify eventfd, so the queue's lock is only
 * ever contended by a reset. A request is indexed by its chain's head
 * (unique while in flight, or the guest broke the rules), holds its data
 * iovecs (pointers into guest RAM) and the address of its status byte.
 *
 * Every number in a request comes from the guest: the header is copied
 * out before use, sector ranges are checked against the disk, data must
 * be whole sectors, and the status byte must exist.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/devices/devices.h"
#include "vmm/devices/virtio_blk.h"

/* Feature bits (5.2.3). */
#define BLK_F_SEG_MAX		2
#define BLK_F_RO		5
#define BLK_F_BLK_SIZE		6
#define BLK_F_FLUSH		9
#define BLK_F_MQ		12
#define BLK_F_DISCARD		13
#define BLK_F_WRITE_ZEROES	14

/* Request types and status (5.2.6). */
#define BLK_T_IN		0
#define BLK_T_OUT		1
#define BLK_T_FLUSH		4
#define BLK_T_GET_ID		8
#define BLK_T_DISCARD		11
#define BLK_T_WRITE_ZEROES	13
#define BLK_S_OK		0
#define BLK_S_IOERR		1
#define BLK_S_UNSUPP		2
#define BLK_WZ_UNMAP		1
#define BLK_DONE_OK		0x100	/* req_start: finished already, OK */

#define SECTOR			512
#define BLK_CFG_SIZE		60
#define BLK_REQ_IOV		(VIRTIO_BLK_SEG_MAX + 8)
#define BLK_MAX_DISCARD		(1U << 22)	/* sectors per request */

struct blk_hdr {
	u32 type;
	u32 reserved;
	u64 sector;
};

struct blk_seg {
	u64 sector;
	u32 num;
	u32 flags;
};

struct blk_req {
	bool busy, buffered;
	u32 gen;		/* the queue's generation it was taken in */
	bool zeroing;		/* write zeroes by writes of zero_buf */
	u8 type;
	u16 head;
	u8 *status;		/* in guest RAM */
	u32 used_len;
	u64 off, len, done;
	int falloc_mode;
	unsigned nr_iov;
	struct iovec iov[BLK_REQ_IOV];
};

struct blk_queue {
	struct virtio_blk *blk;
	struct virtio_queue *vq;
	struct io_uring ring;
	bool ring_ok;
	int cq_fd;
	struct iothread_handler cq_h;
	struct iothread *iot;	/* where cq_h is watched, or NULL */
	struct blk_req *req;	/* VIRTIO_BLK_QUEUE_SIZE, by head */
	unsigned inflight;
	/*
	 * Bumped by every reset: a completion of an older generation is
	 * dropped, never pushed onto the ring the guest set up since.
	 */
	u32 gen;
	bool stuck;		/* a reset could not drain: stay failed */
	u64 submit_errors, reset_cancels;	/* stats */
	struct dev_ratelimit rl;	/* I/O errors (the queue's I/O thread) */
	struct virtq_elem elem;
};

/* Source of write zeroes where fallocate(2) is not supported; never written. */
static u8 zero_buf[1 << 20];

static void put_le(u8 *p, u64 v, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		p[i] = (u8)(v >> (8 * i));
}

static void cfg_read(struct virtio_pci *vp, u32 off, u8 *data, u32 len)
{
	struct virtio_blk *b = container_of(vp, struct virtio_blk, vp);
	u8 c[BLK_CFG_SIZE] = { 0 };

	put_le(c + 0, b->size / SECTOR, 8);		/* capacity */
	put_le(c + 12, VIRTIO_BLK_SEG_MAX, 4);		/* seg_max */
	put_le(c + 20, SECTOR, 4);			/* blk_size */
	put_le(c + 34, b->nr_queues, 2);		/* num_queues */
	put_le(c + 36, BLK_MAX_DISCARD, 4);		/* max_discard_sectors */
	put_le(c + 40, 1, 4);				/* max_discard_seg */
	put_le(c + 44, 1, 4);				/* discard alignment */
	put_le(c + 48, BLK_MAX_DISCARD, 4);		/* max_write_zeroes_sectors */
	put_le(c + 52, 1, 4);				/* max_write_zeroes_seg */
	c[56] = 1;					/* may unmap */
	memcpy(data, c + off, len);
}

/*
 * How long a reset waits for requests already in the kernel before it
 * cancels them, and then for the cancellation (it runs on the vCPU
 * thread that wrote the status).
 */
#define BLK_DRAIN_MS		2000
#define BLK_CANCEL_MS		1000

/* Finish req: status byte, used ring; the caller raises the irq. */
static void req_done(struct blk_queue *bq, struct blk_req *r, u8 status)
{
	r->busy = false;
	if (r->gen != bq->gen || !bq->vq->live)
		return;		/* taken before a reset: the guest moved on */
	*(volatile u8 *)r->status = status;
	virtq_push(&bq->vq->vq, r->head, r->used_len);
}

/*
 * Hand what was queued to the kernel. An -EBUSY (completions to reap
 * first) leaves the rest for the completion handler, which submits again
 * after reaping; the queue also kicks itself so nothing waits for the
 * guest. Other errors cannot be retried: counted and logged.
 */
static void blk_submit(struct blk_queue *bq)
{
	u64 one = 1;
	int r;

	if (!io_uring_sq_ready(&bq->ring))
		return;
	r = io_uring_submit(&bq->ring);
	if (r >= 0 || r == -EINTR)
		return;
	bq->submit_errors++;
	if ((r == -EBUSY || r == -EAGAIN) &&
	    write(bq->vq->notify_fd, &one, sizeof(one)) == sizeof(one))
		return;
	if (dev_ratelimit_ok(&bq->rl, LOG_WARN))
		pr_warn("%s: io_uring submit: %s", bq->blk->name, strerror(-r));
}

/* Queue the next io_uring step of r (its data from r->done on). */
static int req_submit(struct blk_queue *bq, struct blk_req *r)
{
	struct virtio_blk *b = bq->blk;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&bq->ring);
	int fd = r->buffered || !b->direct ? b->fd_buffered : b->fd;
	struct iovec iov[BLK_REQ_IOV];
	int n;

	if (!sqe)
		return -EBUSY;
	switch (r->type) {
	case BLK_T_IN:
	case BLK_T_OUT:
		n = iov_slice(iov, BLK_REQ_IOV, r->iov, r->nr_iov, r->done,
			      r->len - r->done);
		if (n <= 0)
			return -EINVAL;
		/* Short transfers resubmit the rest: keep r->iov current. */
		memcpy(r->iov, iov, n * sizeof(iov[0]));
		r->nr_iov = n;
		r->len -= r->done;
		r->off += r->done;
		r->done = 0;
		if (r->type == BLK_T_IN)
			io_uring_prep_readv(sqe, fd, r->iov, n, r->off);
		else
			io_uring_prep_writev(sqe, fd, r->iov, n, r->off);
		break;
	case BLK_T_FLUSH:
		io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
		break;
	default:	/* discard, write zeroes */
		if (r->zeroing)
			io_uring_prep_write(sqe, b->fd_buffered, zero_buf,
					    (unsigned)MIN(r->len - r->done, (u64)sizeof(zero_buf)),
					    r->off + r->done);
		else
			io_uring_prep_fallocate(sqe, b->fd_buffered, r->falloc_mode,
						r->off, r->len);
		break;
	}
	io_uring_sqe_set_data(sqe, r);
	bq->inflight++;
	return 0;
}

/* Check a sector range against the disk. */
static bool range_ok(struct virtio_blk *b, u64 sector, u64 bytes)
{
	return sector < b->size / SECTOR &&
	       bytes <= b->size - sector * SECTOR;
}

/* Discard / write zeroes: one segment after the header. */
static u8 prep_falloc(struct blk_queue *bq, struct blk_req *r,
		      struct virtq_elem *e)
{
	struct virtio_blk *b = bq->blk;
	struct blk_seg s;

	if (b->readonly)
		return BLK_S_IOERR;
	if (e->out_len != sizeof(struct blk_hdr) + sizeof(s) ||
	    iov_to_buf(e->iov, e->nr_out, sizeof(struct blk_hdr), &s,
		       sizeof(s)) != sizeof(s))
		return BLK_S_UNSUPP;
	if (!s.num || s.num > BLK_MAX_DISCARD ||
	    !range_ok(b, s.sector, (u64)s.num * SECTOR) ||
	    (r->type == BLK_T_DISCARD && s.flags) || (s.flags & ~BLK_WZ_UNMAP))
		return BLK_S_UNSUPP;
	r->off = s.sector * SECTOR;
	r->len = (u64)s.num * SECTOR;
	r->falloc_mode = FALLOC_FL_KEEP_SIZE |
		(r->type == BLK_T_DISCARD || (s.flags & BLK_WZ_UNMAP) ?
		 FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE);
	r->zeroing = r->type == BLK_T_WRITE_ZEROES && b->no_falloc;
	return BLK_S_OK;
}

/*
 * Turn one chain into a request: BLK_S_OK when it went to io_uring, any
 * other status (BLK_DONE_OK for success) when it is finished already. -1
 * when the chain cannot even
 * carry a status (the queue is then failed).
 */
static int req_start(struct blk_queue *bq, struct virtq_elem *e)
{
	struct virtio_blk *b = bq->blk;
	struct blk_req *r = &bq->req[e->head];
	struct blk_hdr h;
	u64 data;
	int n;

	if (e->head >= VIRTIO_BLK_QUEUE_SIZE || r->busy || !e->in_len ||
	    iov_to_buf(e->iov, e->nr_out, 0, &h, sizeof(h)) != sizeof(h))
		return -1;
	memset(r, 0, offsetof(struct blk_req, iov));
	r->busy = true;
	r->gen = bq->gen;
	r->head = e->head;
	r->type = (u8)h.type;
	r->used_len = 1;
	/* The status is the last writable byte. */
	{
		struct iovec s;

		if (iov_slice(&s, 1, e->iov + e->nr_out, e->nr_in,
			      e->in_len - 1, 1) != 1)
			return -1;
		r->status = s.iov_base;
	}
	if (h.type > 0xff)
		return BLK_S_UNSUPP;
	switch (h.type) {
	case BLK_T_IN:
	case BLK_T_OUT:
		data = h.type == BLK_T_IN ? e->in_len - 1 :
		       e->out_len - sizeof(h);
		if (h.type == BLK_T_OUT && b->readonly)
			return BLK_S_IOERR;
		if (!data || data % SECTOR || !range_ok(b, h.sector, data))
			return BLK_S_IOERR;
		n = h.type == BLK_T_IN ?
		    iov_slice(r->iov, BLK_REQ_IOV, e->iov + e->nr_out,
			      e->nr_in, 0, data) :
		    iov_slice(r->iov, BLK_REQ_IOV, e->iov, e->nr_out,
			      sizeof(h), data);
		if (n <= 0)
			return BLK_S_IOERR;
		r->nr_iov = n;
		r->off = h.sector * SECTOR;
		r->len = data;
		if (h.type == BLK_T_IN)
			r->used_len = (u32)data + 1;
		break;
	case BLK_T_FLUSH:
		break;
	case BLK_T_GET_ID:
		r->used_len = 1 + (u32)iov_from_buf(e->iov + e->nr_out,
			e->nr_in, 0, b->serial,
			MIN(e->in_len - 1, (u64)VIRTIO_BLK_ID_BYTES));
		return BLK_DONE_OK;
	case BLK_T_DISCARD:
	case BLK_T_WRITE_ZEROES: {
		u8 st = prep_falloc(bq, r, e);

		if (st != BLK_S_OK)
			return st;
		break;
	}
	default:
		return BLK_S_UNSUPP;
	}
	return req_submit(bq, r) ? BLK_S_IOERR : BLK_S_OK;
}

static void blk_irq(struct blk_queue *bq)
{
	if (bq->vq->live && virtq_need_irq(&bq->vq->vq))
		virtio_queue_irq(bq->vq);
}

/* Guest kick: on the queue's I/O thread, q->lock held. */
static void queue_notify(struct virtio_queue *q)
{
	struct blk_queue *bq = q->priv;
	int r, st;

	if (bq->stuck) {
		virtio_queue_fail(q, "requests of before the last reset are still in the kernel");
		return;
	}
	virtq_disable_notify(&q->vq);
	do {
		while ((r = virtq_pop(&q->vq, &bq->elem)) > 0) {
			st = req_start(bq, &bq->elem);
			if (st < 0) {
				virtio_queue_fail(q, "request without header or status");
				goto out;
			}
			if (st != BLK_S_OK)
				req_done(bq, &bq->req[bq->elem.head], (u8)st);
		}
		if (r < 0) {
			virtio_queue_fail(q, "bad descriptor chain");
			break;
		}
	} while (virtq_enable_notify(&q->vq));
out:
	/*
	 * Whatever was taken goes to the kernel now, even when the queue
	 * just failed: nothing may wait in the submission ring for a later
	 * submit, which could run after a reset, when the guest has reused
	 * the buffers. A reset drains what is in flight.
	 */
	blk_submit(bq);
	blk_irq(bq);
}

/* One completion: finish, resubmit the rest, or fall back to buffered. */
static void complete(struct blk_queue *bq, struct blk_req *r, int res)
{
	bq->inflight--;
	if (!bq->vq->live) {		/* failed or being reset: drop it */
		r->busy = false;
		return;
	}
	if (res == -EINVAL && !r->buffered && bq->blk->direct &&
	    (r->type == BLK_T_IN || r->type == BLK_T_OUT)) {
		r->buffered = true;	/* misaligned for O_DIRECT */
		if (!req_submit(bq, r))
			return;
	}
	if (r->type == BLK_T_WRITE_ZEROES && res == -EOPNOTSUPP &&
	    (r->falloc_mode & FALLOC_FL_ZERO_RANGE)) {
		r->falloc_mode = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE;
		if (!req_submit(bq, r))
			return;
	}
	/* Neither zero range nor hole punching: write zeroes for real. */
	if (res == -EOPNOTSUPP && !r->zeroing &&
	    (r->type == BLK_T_WRITE_ZEROES || r->type == BLK_T_DISCARD)) {
		if (!bq->blk->no_falloc)
			pr_info("%s: no fallocate(2) here: write zeroes writes zeroes",
				bq->blk->name);
		bq->blk->no_falloc = true;
		if (r->type == BLK_T_WRITE_ZEROES) {
			r->zeroing = true;
			if (!req_submit(bq, r))
				return;
		}
	}
	if (r->zeroing && res > 0) {
		r->done += res;
		if (r->done < r->len) {
			if (!req_submit(bq, r))
				return;
			res = -EIO;
		} else {
			res = 0;
		}
	}
	if (res > 0 && (r->type == BLK_T_IN || r->type == BLK_T_OUT) &&
	    r->done + res < r->len) {
		r->done += res;
		if (!req_submit(bq, r))
			return;
		res = -EIO;
	}
	if (res < 0 && r->type == BLK_T_DISCARD)
		res = 0;		/* discard is a hint */
	if (res < 0 && dev_ratelimit_ok(&bq->rl, LOG_WARN))
		pr_warn("%s: I/O error at byte %llu: %s", bq->blk->name,
			(unsigned long long)r->off, strerror(-res));
	if (res == 0 && r->type == BLK_T_IN && r->len)
		res = -EIO;		/* read past the end of the file */
	req_done(bq, r, res < 0 ? BLK_S_IOERR : BLK_S_OK);
}

static void reap(struct blk_queue *bq)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&bq->ring, &cqe) == 0) {
		struct blk_req *r = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&bq->ring, cqe);
		if (r)		/* NULL: a reset's cancel request */
			complete(bq, r, res);
	}
	if (!bq->inflight)
		bq->stuck = false;
}

static void cq_handler(struct iothread_handler *h, u32 events)
{
	struct blk_queue *bq = container_of(h, struct blk_queue, cq_h);
	u64 n;

	if (read(bq->cq_fd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&bq->vq->lock);
	reap(bq);
	blk_submit(bq);
	blk_irq(bq);
	pthread_mutex_unlock(&bq->vq->lock);
}

/* Reap until nothing is in flight or ms have passed: 0 when drained. */
static int drain(struct blk_queue *bq, unsigned ms)
{
	u64 end = now_ns() + ms * 1000000ULL;
	struct io_uring_cqe *cqe;

	for (;;) {
		u64 t = now_ns();
		struct __kernel_timespec ts;

		reap(bq);
		if (io_uring_sq_ready(&bq->ring))
			io_uring_submit(&bq->ring);
		if (!bq->inflight && !io_uring_sq_ready(&bq->ring))
			return 0;
		if (t >= end)
			return -ETIMEDOUT;
		ts.tv_sec = (long long)((end - t) / 1000000000ULL);
		ts.tv_nsec = (long long)((end - t) % 1000000000ULL);
		io_uring_wait_cqe_timeout(&bq->ring, &cqe, &ts);
	}
}

/*
 * Reset (q->lock held, live cleared; any state: live, failed, never
 * started). No request taken before it may touch guest memory, the disk
 * or the ring after it: what is in the kernel is waited for (bounded),
 * then cancelled (bounded); the generation moves on, so a completion that
 * still arrives later is dropped, and the queue stays failed until it has.
 */
static void queue_reset(struct virtio_queue *q)
{
	struct blk_queue *bq = q->priv;
	struct io_uring_sqe *sqe;

	if (!bq || !bq->ring_ok)
		return;		/* set-up failed before this queue's ring */
	if (drain(bq, BLK_DRAIN_MS)) {
		bq->reset_cancels++;
		sqe = io_uring_get_sqe(&bq->ring);
		if (sqe) {
			io_uring_prep_cancel(sqe, NULL, IORING_ASYNC_CANCEL_ANY);
			io_uring_sqe_set_data(sqe, NULL);
		}
		drain(bq, BLK_CANCEL_MS);
	}
	bq->gen++;
	if (bq->inflight) {
		bq->stuck = true;
		pr_warn("%s: queue %u: %u requests still in the kernel after a reset: the queue stays failed until they finish",
			bq->blk->name, q->idx, bq->inflight);
	}
}

/*
 * Pause (q->lock held, the queue parked): requests in the kernel finish
 * on their own; wait for them (however long: a disk that never answers
 * would hold a reset up as well) and push their used entries, so a saved
 * state has nothing in flight. Their interrupt waits for resume.
 */
static void queue_pause(struct virtio_queue *q)
{
	struct blk_queue *bq = q->priv;

	if (!bq || !bq->ring_ok)
		return;
	while (drain(bq, BLK_DRAIN_MS))
		pr_warn("%s: queue %u: pausing: %u requests still in the kernel",
			bq->blk->name, q->idx, bq->inflight);
	blk_irq(bq);
}

/* The disk as the guest sees it: another one is refused on load. */
static int blk_save(struct virtio_pci *vp, struct state_writer *w)
{
	struct virtio_blk *b = container_of(vp, struct virtio_blk, vp);

	STATE_PUT(w, b, size);
	STATE_PUT(w, b, readonly);
	state_put(w, "serial", b->serial, (u32)strlen(b->serial));
	return w->err;
}

static int blk_load(struct virtio_pci *vp, struct state_reader *r)
{
	struct virtio_blk *b = container_of(vp, struct virtio_blk, vp);
	const char *serial;
	bool ro = false;
	u64 size;
	u32 n;
	int e = state_get(r, "size", &size, sizeof(size));

	if (!e)
		e = state_get_bool(r, "readonly", &ro);
	if (e)
		return e;
	serial = state_get_var(r, "serial", &n);
	if (!serial)
		return -ENOENT;
	if (size != b->size)
		return state_refuse(r, "a disk of %llu bytes, this one has %llu",
				    (unsigned long long)size,
				    (unsigned long long)b->size);
	if (ro != b->readonly)
		return state_refuse(r, "a %s disk, this one is %s",
				    ro ? "read-only" : "writable",
				    b->readonly ? "read-only" : "writable");
	if (n != strlen(b->serial) || memcmp(serial, b->serial, n))
		return state_refuse(r, "another disk serial, this one's is %s",
				    b->serial);
	return 0;
}

static const struct virtio_dev_ops blk_ops = {
	.cfg_read = cfg_read,
	.queue_notify = queue_notify,
	.queue_reset = queue_reset,
	.queue_pause = queue_pause,
	.save = blk_save,
	.load = blk_load,
};

/* Open the image: O_DIRECT if the file system takes it. */
static int open_image(struct virtio_blk *b, const char *path)
{
	int mode = (b->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct stat st;

	b->fd = open(path, mode | O_DIRECT);
	b->direct = b->fd >= 0;
	if (b->fd < 0 && errno == EINVAL)
		pr_warn("disk %s: the file system refuses O_DIRECT: using buffered I/O",
			path);
	b->fd_buffered = open(path, mode);
	if (b->fd_buffered < 0) {
		pr_err("disk %s: %s", path, strerror(errno));
		return -errno;
	}
	if (!b->direct)
		b->fd = fcntl(b->fd_buffered, F_DUPFD_CLOEXEC, 0);
	if (b->fd < 0 || fstat(b->fd_buffered, &st))
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(b->fd_buffered, BLKGETSIZE64, &b->size))
			return -errno;
	} else if (S_ISREG(st.st_mode)) {
		b->size = st.st_size;
	} else {
		pr_err("disk %s: not a regular file or block device", path);
		return -EINVAL;
	}
	b->size -= b->size % SECTOR;
	if (!b->size) {
		pr_err("disk %s: smaller than one 512-byte sector", path);
		return -EINVAL;
	}
	return 0;
}

static int queue_init(struct virtio_blk *b, unsigned i)
{
	struct blk_queue *bq = &b->bq[i];
	int r;

	bq->blk = b;
	bq->vq = &b->vp.q[i];
	bq->vq->priv = bq;
	bq->cq_fd = -1;
	bq->req = calloc(VIRTIO_BLK_QUEUE_SIZE, sizeof(*bq->req));
	if (!bq->req)
		return -ENOMEM;
	r = io_uring_queue_init(VIRTIO_BLK_QUEUE_SIZE, &bq->ring, 0);
	if (r) {
		pr_err("%s: io_uring: %s", b->name, strerror(-r));
		return r;
	}
	bq->ring_ok = true;
	/* liburing takes no flag for it: no ring fd crosses an exec. */
	if (fcntl(bq->ring.ring_fd, F_SETFD, FD_CLOEXEC))
		return -errno;
	bq->cq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (bq->cq_fd < 0)
		return -errno;
	r = io_uring_register_eventfd(&bq->ring, bq->cq_fd);
	if (r)
		return r;
	bq->cq_h = (struct iothread_handler){ cq_handler, bq->cq_fd };
	if (!bq->vq->iot)
		return 0;
	r = iothread_add(bq->vq->iot, &bq->cq_h, EPOLLIN);
	if (!r)
		bq->iot = bq->vq->iot;
	return r;
}

static void blk_destroy(struct device *d)
{
	struct virtio_blk *b = container_of(d, struct virtio_blk, vp.dev);
	unsigned i;

	virtio_pci_destroy(&b->vp);	/* resets the queues: drains I/O */
	for (i = 0; b->bq && i < b->nr_queues; i++) {
		struct blk_queue *bq = &b->bq[i];

		if (bq->iot)
			iothread_del(bq->iot, &bq->cq_h);
		if (bq->cq_fd >= 0)
			close(bq->cq_fd);
		if (bq->ring_ok)
			io_uring_queue_exit(&bq->ring);
		free(bq->req);
	}
	free(b->bq);
	b->bq = NULL;
	if (b->fd >= 0)
		close(b->fd);
	if (b->fd_buffered >= 0)
		close(b->fd_buffered);
	b->fd = b->fd_buffered = -1;
}

static const struct device_ops blk_dev_ops =
	VIRTIO_DEVICE_OPS("virtio-blk", 1, blk_destroy);

int virtio_blk_create(struct virtio_blk *b, unsigned idx,
		      const struct virtio_blk_opts *o, struct device_manager *dm,
		      const struct guest_mem *mem, struct iothread **iots,
		      unsigned nr_iots)
{
	u64 f = (1ULL << BLK_F_SEG_MAX) | (1ULL << BLK_F_BLK_SIZE) |
		(1ULL << BLK_F_FLUSH) | (1ULL << BLK_F_MQ);
	unsigned i, nq = o->queues ? o->queues : 1;
	struct virtio_pci_conf c = {
		.name = b->name, .device_id = VIRTIO_ID_BLOCK,
		.class_code = 0x018000, .nr_queues = (u16)nq,
		.queue_max = VIRTIO_BLK_QUEUE_SIZE, .cfg_size = BLK_CFG_SIZE,
		.ops = &blk_ops, .dev_ops = &blk_dev_ops, .dm = dm, .mem = mem,
		.iots = iots, .nr_iots = nr_iots,
	};
	int r;

	memset(b, 0, sizeof(*b));
	b->fd = b->fd_buffered = -1;
	snprintf(b->name, sizeof(b->name), "virtio-blk%u", idx);
	if (o->serial)
		snprintf(b->serial, sizeof(b->serial), "%s", o->serial);
	else
		snprintf(b->serial, sizeof(b->serial), "smpvisor-%u", idx);
	b->readonly = o->readonly;
	f |= b->readonly ? 1ULL << BLK_F_RO :
	     (1ULL << BLK_F_DISCARD) | (1ULL << BLK_F_WRITE_ZEROES);
	c.features = f;
	r = open_image(b, o->path);
	if (r)
		goto out_close;
	b->nr_queues = nq;
	r = virtio_pci_init(&b->vp, &c);
	if (r)
		goto out_close;
	b->bq = calloc(nq, sizeof(*b->bq));
	if (!b->bq) {
		r = -ENOMEM;
		goto out_destroy;
	}
	for (i = 0; i < nq; i++)
		b->bq[i].cq_fd = -1;	/* for destroy after a partial init */
	for (i = 0; i < nq; i++) {
		r = queue_init(b, i);
		if (r)
			goto out_destroy;
	}
	r = virtio_pci_add(&b->vp);
	if (r)
		goto out_destroy;
	pr_info("%s: %s, %llu MiB, %u queues, %s%s", b->name, o->path,
		(unsigned long long)(b->size >> 20), nq,
		b->direct ? "O_DIRECT" : "buffered", b->readonly ? ", read-only" : "");
	return 0;
out_destroy:
	blk_destroy(&b->vp.dev);
	return r;
out_close:
	if (b->fd >= 0)
		close(b->fd);
	if (b->fd_buffered >= 0)
		close(b->fd_buffered);
	b->fd = b->fd_buffered = -1;
	return r;
}
