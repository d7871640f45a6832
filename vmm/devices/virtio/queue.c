// SPDX-License-Identifier: GPL-2.0
/*
 * Split virtqueue, device side (see virtq.h for the trust rules).
 *
 * Ordering: the driver publishes avail->idx after the ring entries and the
 * descriptors, so we load it with acquire before reading them; we publish
 * used->idx with release after the used elements. Around the event-index
 * fields a full fence is needed: we write one index and then read the
 * other side's, exactly where the driver does the mirror image.
 *
 * Dirty log: the writable pages of each chain are recorded at pop (always:
 * logging may start while the chain is in flight) and marked at fill,
 * after the device wrote them; every store into the used ring is marked
 * after it is made. Marking after the write is what makes it safe: a
 * take in between sees the bit set again afterwards.
 */
#include <errno.h>
#include <string.h>

#include "vmm/devices/virtq.h"

#define AVAIL_FLAGS	0
#define AVAIL_IDX	1
#define AVAIL_RING	2	/* u16 index of ring[0] */
#define USED_FLAGS	0
#define USED_IDX	1

static u16 load16(const u16 *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void store16(u16 *p, u16 v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/*
 * A recorded range of pages: first page in the low WR_PFN_BITS bits,
 * pages - 1 above; WR_SPAN_MAX there means "to the end of RAM" (a merged
 * range that long: conservative, and never reached by one descriptor).
 */
#define PAGE_SHIFT	12
#define WR_PFN_BITS	34
#define WR_PFN_MASK	((1ULL << WR_PFN_BITS) - 1)
#define WR_SPAN_MAX	((1ULL << (64 - WR_PFN_BITS)) - 1)
_Static_assert(GUEST_PHYS_LIMIT >> PAGE_SHIFT <= 1ULL << WR_PFN_BITS,
	       "a guest page number fits WR_PFN_BITS");
_Static_assert(GUEST_PAGE_SIZE == 1ULL << PAGE_SHIFT, "4 KiB pages");

/* The writable pages of the chain being popped, sorted, disjoint. */
struct wr_set {
	unsigned n;
	u64 lo[VIRTQ_WR_RANGES + 1], hi[VIRTQ_WR_RANGES + 1];	/* pages */
};

static void wr_remove(struct wr_set *s, unsigned k)
{
	for (; k + 1 < s->n; k++) {
		s->lo[k] = s->lo[k + 1];
		s->hi[k] = s->hi[k + 1];
	}
	s->n--;
}

/*
 * Add the pages of [gpa, gpa + len) (checked: inside RAM, no wrap): insert
 * in order, merge what touches, and when that leaves one range too many,
 * merge the two with the smallest gap between them.
 */
static void wr_add(struct wr_set *s, u64 gpa, u32 len)
{
	unsigned i, best = 0;
	u64 lo, hi;

	if (!len)
		return;
	lo = gpa >> PAGE_SHIFT;
	hi = (gpa + len - 1) >> PAGE_SHIFT;
	for (i = s->n; i && s->lo[i - 1] > lo; i--) {
		s->lo[i] = s->lo[i - 1];
		s->hi[i] = s->hi[i - 1];
	}
	s->lo[i] = lo;
	s->hi[i] = hi;
	s->n++;
	for (i = 0; i + 1 < s->n;) {
		if (s->lo[i + 1] > s->hi[i] + 1) {
			i++;
			continue;
		}
		s->hi[i] = MAX(s->hi[i], s->hi[i + 1]);
		wr_remove(s, i + 1);
	}
	if (s->n <= VIRTQ_WR_RANGES)
		return;
	for (i = 1; i + 1 < s->n; i++)
		if (s->lo[i + 1] - s->hi[i] < s->lo[best + 1] - s->hi[best])
			best = i;
	s->hi[best] = s->hi[best + 1];
	wr_remove(s, best + 1);
}

/* Keep the chain's writable pages for virtq_fill; head < q->size. */
static void wr_record(struct virtq *q, u16 head, const struct wr_set *s)
{
	unsigned i;

	for (i = 0; i < s->n; i++)
		q->wr[head][i] = s->lo[i] |
			MIN(s->hi[i] - s->lo[i], WR_SPAN_MAX) << WR_PFN_BITS;
	q->wr_nr[head] = (u8)s->n;
}

/* Mark what virtq_pop recorded for head (logging is on). */
static void wr_mark(const struct virtq *q, u16 head)
{
	unsigned i;

	if (head >= q->size)
		return;		/* a device bug; the guest cannot cause it */
	for (i = 0; i < q->wr_nr[head]; i++) {
		u64 v = q->wr[head][i], n = v >> WR_PFN_BITS;
		u64 gpa = (v & WR_PFN_MASK) << PAGE_SHIFT;

		guest_mem_mark_dirty(q->mem, gpa, n == WR_SPAN_MAX ?
				     ~0ULL - gpa : (n + 1) << PAGE_SHIFT);
	}
}

/* We stored len bytes at byte offset off of the used ring: log them. */
static void used_written(const struct virtq *q, u64 off, u64 len)
{
	if (guest_mem_dirty_on(q->mem))
		guest_mem_mark_dirty(q->mem, q->used_gpa + off, len);
}

int virtq_init(struct virtq *q, const struct guest_mem *mem, u16 size,
	       u64 desc, u64 avail, u64 used, bool event_idx, bool indirect)
{
	struct virtq_stats s = virtq_stats_read(q);

	memset(q, 0, sizeof(*q));
	/* Counters go on; what was in flight before is not any more. */
	s.done = s.popped;
	q->stats = s;
	if (!size || size > VIRTQ_MAX_SIZE || (size & (size - 1)))
		return -EINVAL;
	if ((desc & 15) || (avail & 1) || (used & 3))
		return -EINVAL;
	q->desc = gpa_to_hva(mem, desc, 16ULL * size);
	q->avail = gpa_to_hva(mem, avail, 6 + 2ULL * size);
	q->used = gpa_to_hva(mem, used, 6 + 8ULL * size);
	if (!q->desc || !q->avail || !q->used)
		return -EINVAL;
	q->mem = mem;
	q->used_gpa = used;
	q->size = size;
	q->event_idx = event_idx;
	q->indirect = indirect;
	q->used_idx = load16(&q->used[USED_IDX]);
	q->last_avail = q->used_idx;	/* a fresh queue: both 0 */
	q->signalled_used = q->used_idx;
	return 0;
}

/*
 * Append [gpa, gpa + len) to e as iovecs, one per guest RAM region it
 * crosses. -EINVAL when any byte is not RAM or the chain is too long.
 */
static int map_buf(struct virtq *q, struct virtq_elem *e, u64 gpa, u32 len,
		   bool write)
{
	unsigned *nr = write ? &e->nr_in : &e->nr_out;

	if (write)
		e->in_len += len;
	else
		e->out_len += len;
	while (len) {
		const struct guest_region *r = guest_mem_find(q->mem, gpa);
		u64 n;

		if (!r || !r->hva)
			return -EINVAL;
		n = MIN((u64)len, r->gpa + r->size - gpa);
		if (e->nr_out + e->nr_in >= VIRTQ_MAX_SEGS)
			return -EINVAL;
		e->iov[e->nr_out + e->nr_in].iov_base =
			(u8 *)r->hva + (gpa - r->gpa);
		e->iov[e->nr_out + e->nr_in].iov_len = n;
		(*nr)++;
		gpa += n;
		len -= (u32)n;
	}
	return 0;
}

/* Walk the chain starting at head (see the checks in virtq.h). */
static int walk_chain(struct virtq *q, struct virtq_elem *e, u16 head,
		      struct wr_set *ws)
{
	const struct virtq_desc *table = q->desc;
	u32 tsize = q->size, i = head, seen = 0;
	bool in_indirect = false;
	struct virtq_desc d;
	int r;

	for (;;) {
		if (i >= tsize || ++seen > tsize)
			return -EINVAL;		/* out of range, or a loop */
		memcpy(&d, &table[i], sizeof(d));	/* read it once */
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!q->indirect || in_indirect ||
			    (d.flags & VIRTQ_DESC_F_NEXT) || !d.len ||
			    d.len % sizeof(d) ||
			    d.len / sizeof(d) > VIRTQ_MAX_SEGS)
				return -EINVAL;
			table = gpa_to_hva(q->mem, d.addr, d.len);
			if (!table)
				return -EINVAL;
			tsize = d.len / sizeof(d);
			in_indirect = true;
			i = 0;
			seen = 0;
			continue;
		}
		if (!(d.flags & VIRTQ_DESC_F_WRITE) && e->nr_in)
			return -EINVAL;		/* readable after writable */
		if (d.addr + d.len < d.addr)
			return -EINVAL;
		r = map_buf(q, e, d.addr, d.len, d.flags & VIRTQ_DESC_F_WRITE);
		if (r)
			return r;
		if (d.flags & VIRTQ_DESC_F_WRITE)
			wr_add(ws, d.addr, d.len);
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

int virtq_pop(struct virtq *q, struct virtq_elem *e)
{
	struct wr_set ws = { 0 };
	u16 idx, head;

	idx = __atomic_load_n(&q->avail[AVAIL_IDX], __ATOMIC_ACQUIRE);
	if (idx == q->last_avail)
		return 0;
	if ((u16)(idx - q->last_avail) > q->size)
		return -EINVAL;		/* more buffers than the ring holds */
	head = load16(&q->avail[AVAIL_RING + q->last_avail % q->size]);
	e->head = head;
	e->nr_out = e->nr_in = 0;
	e->out_len = e->in_len = 0;
	if (walk_chain(q, e, head, &ws))
		return -EINVAL;
	wr_record(q, head, &ws);	/* walk_chain checked head < size */
	q->last_avail++;
	virtq_count(&q->stats.popped, 1);
	virtq_count(&q->stats.out_bytes, e->out_len);
	return 1;
}

void virtq_fill(struct virtq *q, unsigned i, u16 head, u32 len)
{
	struct virtq_used_elem *ring = (struct virtq_used_elem *)(q->used + 2);
	struct virtq_used_elem u = { head, len };
	unsigned slot = (u16)(q->used_idx + i) % q->size;

	memcpy(&ring[slot], &u, sizeof(u));
	virtq_count(&q->stats.in_bytes, len);
	if (guest_mem_dirty_on(q->mem)) {
		wr_mark(q, head);
		guest_mem_mark_dirty(q->mem, q->used_gpa + 4 + 8ULL * slot,
				     sizeof(u));
	}
}

void virtq_flush(struct virtq *q, unsigned n)
{
	q->used_idx += (u16)n;
	__atomic_store_n(&q->used[USED_IDX], q->used_idx, __ATOMIC_RELEASE);
	used_written(q, 2 * USED_IDX, 2);
	virtq_count(&q->stats.done, n);
}

void virtq_push(struct virtq *q, u16 head, u32 len)
{
	virtq_fill(q, 0, head, len);
	virtq_flush(q, 1);
}

bool virtq_need_irq(struct virtq *q)
{
	u16 old = q->signalled_used, now = q->used_idx, event;

	/* Our used->idx store must be visible before we read used_event. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q->signalled_used = now;
	if (!q->event_idx)
		return old != now && !(load16(&q->avail[AVAIL_FLAGS]) &
				       VIRTQ_AVAIL_F_NO_INTERRUPT);
	event = load16(&q->avail[AVAIL_RING + q->size]);
	return (u16)(now - event - 1) < (u16)(now - old);
}

void virtq_disable_notify(struct virtq *q)
{
	if (!q->event_idx) {
		store16(&q->used[USED_FLAGS], VIRTQ_USED_F_NO_NOTIFY);
		used_written(q, 2 * USED_FLAGS, 2);
	}
}

bool virtq_enable_notify(struct virtq *q)
{
	if (q->event_idx) {
		store16(&q->used[2 + 4 * q->size], q->last_avail); /* avail_event */
		used_written(q, 4 + 8ULL * q->size, 2);
	} else {
		store16(&q->used[USED_FLAGS], 0);
		used_written(q, 2 * USED_FLAGS, 2);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&q->avail[AVAIL_IDX], __ATOMIC_ACQUIRE) !=
	       q->last_avail;
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t off,
		  void *buf, size_t len)
{
	size_t done = 0;
	unsigned i;

	for (i = 0; i < n && done < len; i++) {
		size_t l;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		l = MIN(iov[i].iov_len - off, len - done);
		memcpy((u8 *)buf + done, (u8 *)iov[i].iov_base + off, l);
		done += l;
		off = 0;
	}
	return done;
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t off,
		    const void *buf, size_t len)
{
	size_t done = 0;
	unsigned i;

	for (i = 0; i < n && done < len; i++) {
		size_t l;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		l = MIN(iov[i].iov_len - off, len - done);
		memcpy((u8 *)iov[i].iov_base + off, (const u8 *)buf + done, l);
		done += l;
		off = 0;
	}
	return done;
}

int iov_slice(struct iovec *dst, unsigned max, const struct iovec *src,
	      unsigned n, size_t off, size_t len)
{
	unsigned i, k = 0;

	for (i = 0; i < n && len; i++) {
		size_t l;

		if (off >= src[i].iov_len) {
			off -= src[i].iov_len;
			continue;
		}
		if (k == max)
			return -1;
		l = MIN(src[i].iov_len - off, len);
		dst[k].iov_base = (u8 *)src[i].iov_base + off;
		dst[k].iov_len = l;
		k++;
		len -= l;
		off = 0;
	}
	return len ? -1 : (int)k;
}
