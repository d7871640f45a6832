/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Split virtqueues (virtio 1.2, 2.7): the device side of the descriptor
 * table, the available ring and the used ring, with VIRTIO_F_EVENT_IDX
 * and indirect descriptors.
 *
 * Everything here is read from guest memory, which a hostile guest may
 * change at any moment. Each descriptor is copied once before it is
 * checked and used; indices are checked against the queue size, chains
 * against loops and a length limit, buffers against guest RAM. Any
 * violation makes virtq_pop return -EINVAL; the transport then marks the
 * device NEEDS_RESET and stops the queue. Nothing is ever trusted twice.
 *
 * One thread at a time per queue (the queue's I/O thread, under the
 * queue's lock).
 *
 * Dirty logging (guest_mem_dirty_start): what the device writes into
 * guest memory is marked when the chain is completed, so live migration
 * sends it again. virtq_pop always records, per head, the guest pages of
 * the chain's device-writable descriptors as it read them then (never
 * read again from the table, which the guest may have changed since), so
 * a chain popped before logging started and completed after is marked
 * too. virtq_fill marks all of those pages, whatever length the device
 * reports (conservative: a device may write more than it reports, and
 * it is written before the push), and the used element it writes;
 * virtq_flush the used index; the notification calls the flags and
 * avail_event. With logging off each of these costs one load.
 */
#ifndef SMPVISOR_VIRTQ_H
#define SMPVISOR_VIRTQ_H

#include <sys/uio.h>

#include "lib/util.h"
#include "vmm/memory.h"

#define VIRTQ_MAX_SIZE		1024	/* largest queue we offer */
#define VIRTQ_MAX_SEGS		1024	/* iovecs per chain, after splitting */
/*
 * Page ranges recorded per head for the dirty log. A chain whose writable
 * pages form more ranges is recorded as this many, the closest ones merged
 * (pages in between are marked too: more to send, nothing lost).
 */
#define VIRTQ_WR_RANGES		4

#define VIRTQ_DESC_F_NEXT	1
#define VIRTQ_DESC_F_WRITE	2
#define VIRTQ_DESC_F_INDIRECT	4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	1

struct virtq_desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
} __attribute__((packed));

struct virtq_used_elem {
	u32 id;
	u32 len;
} __attribute__((packed));

/*
 * Counters of a queue's traffic, kept across restarts of the queue
 * (virtq_init keeps them; what was in flight is forgotten). Written by
 * the one thread serving the queue, read by the control API without its
 * lock: relaxed atomic stores and loads (virtq_count).
 */
struct virtq_stats {
	u64 popped, done;	/* chains taken; used entries published */
	u64 out_bytes;		/* driver to device (device-readable) */
	u64 in_bytes;		/* device to driver (used lengths) */
};

struct virtq {
	struct virtq_stats stats;
	const struct guest_mem *mem;
	u16 size;		/* a power of two, 1..VIRTQ_MAX_SIZE */
	bool event_idx;
	bool indirect;
	struct virtq_desc *desc;	/* host views of the three parts */
	u16 *avail;		/* flags, idx, ring[size], used_event */
	u16 *used;		/* flags, idx, then the elements */
	u16 last_avail;		/* next available entry to take */
	u16 used_idx;		/* our copy of used->idx */
	u16 signalled_used;	/* used_idx when we last decided on an irq */
	u64 used_gpa;		/* the used ring, for the dirty log */
	/*
	 * Per head, the pages virtq_pop found device-writable: wr_nr[head]
	 * ranges, each packed as first page | (pages - 1) << 34 (see
	 * queue.c). 33 KiB per queue, at any queue size.
	 */
	u8 wr_nr[VIRTQ_MAX_SIZE];
	u64 wr[VIRTQ_MAX_SIZE][VIRTQ_WR_RANGES];
};

/* One popped chain: device-readable iovecs first, then device-writable. */
struct virtq_elem {
	u16 head;
	unsigned nr_out, nr_in;
	u64 out_len, in_len;	/* bytes */
	struct iovec iov[VIRTQ_MAX_SEGS];
};

/*
 * Check and map a queue the driver set up. -EINVAL for a bad size, a
 * misaligned ring or one not wholly in guest RAM.
 */
int virtq_init(struct virtq *q, const struct guest_mem *mem, u16 size,
	       u64 desc, u64 avail, u64 used, bool event_idx, bool indirect);
/* Add n to a counter only the serving thread writes. */
static inline void virtq_count(u64 *c, u64 n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

/* A consistent-enough copy of q's counters, from any thread. */
static inline struct virtq_stats virtq_stats_read(const struct virtq *q)
{
	return (struct virtq_stats){
		__atomic_load_n(&q->stats.popped, __ATOMIC_RELAXED),
		__atomic_load_n(&q->stats.done, __ATOMIC_RELAXED),
		__atomic_load_n(&q->stats.out_bytes, __ATOMIC_RELAXED),
		__atomic_load_n(&q->stats.in_bytes, __ATOMIC_RELAXED),
	};
}

/* 1 and a chain in e, 0 when the ring is empty, -EINVAL for bad input. */
int virtq_pop(struct virtq *q, struct virtq_elem *e);
/*
 * Return chain head with len bytes written to it, and publish it. With
 * dirty logging on, marks the chain's writable pages (see the top).
 */
void virtq_push(struct virtq *q, u16 head, u32 len);
/*
 * Batched push: write used entry i (0, 1, ...) of a batch without
 * publishing it, then publish n entries at once, so the driver never sees
 * part of a batch (a packet over several receive buffers).
 */
void virtq_fill(struct virtq *q, unsigned i, u16 head, u32 len);
void virtq_flush(struct virtq *q, unsigned n);
/* After pushes: does the driver want an interrupt now? */
bool virtq_need_irq(struct virtq *q);
/* Ask the driver not to notify (while we are draining the ring). */
void virtq_disable_notify(struct virtq *q);
/*
 * Ask for notifications again; true when buffers arrived meanwhile (the
 * caller must then drain again or it could miss them).
 */
bool virtq_enable_notify(struct virtq *q);

/* Copy up to len bytes at byte offset off of the iovecs; returns bytes. */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t off,
		  void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t off,
		    const void *buf, size_t len);
/*
 * Make dst[] the sub-range [off, off + len) of src[]; returns the count of
 * iovecs, or -1 when it does not fit in max or the range is out of bounds.
 */
int iov_slice(struct iovec *dst, unsigned max, const struct iovec *src,
	      unsigned n, size_t off, size_t len);

#endif
