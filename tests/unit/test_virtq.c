// SPDX-License-Identifier: GPL-2.0
/*
 * Split virtqueue parser against hand-built rings in a two-region guest
 * RAM: plain and indirect chains, buffers split at a region boundary, the
 * used ring and both interrupt-suppression schemes; then every way a
 * hostile driver can lie (loops, indices past the table, addresses
 * outside RAM, wrapping lengths, nested or chained indirect tables,
 * readable after writable, avail->idx jumping ahead, over-long chains),
 * each of which must be refused; the dirty log of what completing a
 * chain writes into guest memory. Last, the fuzz harness replays the seed
 * corpus under tests/fuzz/corpus/virtq (and whatever crash inputs were
 * added there), so found bugs stay fixed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/corpus.h"
#include "../fuzz/virtq_harness.h"
#include "vmm/devices/virtq.h"

#define QSIZE		8
#define DESC		0x1000ULL
#define AVAIL		0x2000ULL
#define USED		0x3000ULL
#define INDIRECT	0x4000ULL
#define DATA		0x10000ULL
#define BOUNDARY	(8 * MiB)

struct fixture {
	struct guest_mem mem;
	struct virtq q;
	struct virtq_elem e;
	u16 avail_idx;
};

static void *hva(struct fixture *f, u64 gpa)
{
	void *p = gpa_to_hva(&f->mem, gpa, 1);

	assert_non_null(p);
	return p;
}

static void set_desc(struct fixture *f, u64 table, unsigned i, u64 addr,
		     u32 len, u16 flags, u16 next)
{
	struct virtq_desc d = { addr, len, flags, next };

	memcpy((u8 *)hva(f, table) + 16 * i, &d, sizeof(d));
}

static u16 *avail(struct fixture *f)
{
	return hva(f, AVAIL);
}

static void offer(struct fixture *f, u16 head)
{
	avail(f)[2 + f->avail_idx % QSIZE] = head;
	f->avail_idx++;
	avail(f)[1] = f->avail_idx;
}

static int setup_q(struct fixture *f, bool event_idx)
{
	return virtq_init(&f->q, &f->mem, QSIZE, DESC, AVAIL, USED, event_idx,
			  true);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	u64 sizes[2] = { BOUNDARY, BOUNDARY };

	assert_non_null(f);
	assert_int_equal(guest_mem_layout_nodes(&f->mem, sizes, 2), 0);
	assert_int_equal(guest_mem_alloc(&f->mem), 0);
	assert_int_equal(setup_q(f, false), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	guest_mem_free(&f->mem);
	free(f);
	return 0;
}

static void test_init_checks(void **state)
{
	struct fixture *f = *state;
	struct virtq q = { 0 };

	assert_int_equal(virtq_init(&q, &f->mem, 0, DESC, AVAIL, USED, 0, 0), -EINVAL);
	assert_int_equal(virtq_init(&q, &f->mem, 6, DESC, AVAIL, USED, 0, 0), -EINVAL);
	assert_int_equal(virtq_init(&q, &f->mem, 2048, DESC, AVAIL, USED, 0, 0), -EINVAL);
	assert_int_equal(virtq_init(&q, &f->mem, 8, DESC + 8, AVAIL, USED, 0, 0), -EINVAL);
	assert_int_equal(virtq_init(&q, &f->mem, 8, DESC, AVAIL + 1, USED, 0, 0), -EINVAL);
	assert_int_equal(virtq_init(&q, &f->mem, 8, DESC, AVAIL, USED + 2, 0, 0), -EINVAL);
	/* Rings beyond RAM, or straddling the two regions. */
	assert_int_equal(virtq_init(&q, &f->mem, 8, 16 * MiB, AVAIL, USED, 0, 0), -EINVAL);
	assert_int_equal(virtq_init(&q, &f->mem, 8, BOUNDARY - 64, AVAIL, USED, 0, 0), -EINVAL);
	assert_int_equal(virtq_init(&q, &f->mem, 8, ~0ULL - 15, AVAIL, USED, 0, 0), -EINVAL);
}

static void test_simple_chain(void **state)
{
	struct fixture *f = *state;
	struct virtq_used_elem *u = (void *)((u8 *)hva(f, USED) + 4);

	set_desc(f, DESC, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, DESC, 1, DATA + 0x1000, 512, VIRTQ_DESC_F_NEXT |
		 VIRTQ_DESC_F_WRITE, 2);
	set_desc(f, DESC, 2, DATA + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	assert_int_equal(virtq_pop(&f->q, &f->e), 0);	/* empty */
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(f->e.head, 0);
	assert_int_equal(f->e.nr_out, 1);
	assert_int_equal(f->e.nr_in, 2);
	assert_int_equal(f->e.out_len, 16);
	assert_int_equal(f->e.in_len, 513);
	assert_ptr_equal(f->e.iov[0].iov_base, hva(f, DATA));
	assert_ptr_equal(f->e.iov[2].iov_base, hva(f, DATA + 0x2000));
	assert_int_equal(virtq_pop(&f->q, &f->e), 0);
	virtq_push(&f->q, 0, 513);
	assert_int_equal(((u16 *)hva(f, USED))[1], 1);
	assert_int_equal(u[0].id, 0);
	assert_int_equal(u[0].len, 513);
	/* No event index: an interrupt unless the driver said no. */
	assert_true(virtq_need_irq(&f->q));
	assert_false(virtq_need_irq(&f->q));	/* nothing new */
	avail(f)[0] = VIRTQ_AVAIL_F_NO_INTERRUPT;
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	virtq_push(&f->q, 0, 1);
	assert_false(virtq_need_irq(&f->q));
}

/*
 * The counters the control API reports: chains taken and completed,
 * bytes each way, and what is in flight; a restart of the queue keeps
 * the counts and forgets what was in flight.
 */
static void test_counters(void **state)
{
	struct fixture *f = *state;
	struct virtq_stats s;

	set_desc(f, DESC, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, DESC, 1, DATA + 0x1000, 512, VIRTQ_DESC_F_WRITE, 0);
	offer(f, 0);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	s = virtq_stats_read(&f->q);
	assert_int_equal(s.popped, 2);
	assert_int_equal(s.done, 0);
	assert_int_equal(s.out_bytes, 32);
	virtq_push(&f->q, 0, 100);
	s = virtq_stats_read(&f->q);
	assert_int_equal(s.done, 1);
	assert_int_equal(s.in_bytes, 100);
	assert_int_equal(s.popped - s.done, 1);		/* one in flight */
	assert_int_equal(setup_q(f, false), 0);		/* a reset and restart */
	s = virtq_stats_read(&f->q);
	assert_int_equal(s.popped, 2);
	assert_int_equal(s.done, 2);			/* nothing in flight */
	assert_int_equal(s.out_bytes, 32);
	assert_int_equal(s.in_bytes, 100);
}

static void test_split_at_region_boundary(void **state)
{
	struct fixture *f = *state;

	set_desc(f, DESC, 3, BOUNDARY - 100, 300, VIRTQ_DESC_F_WRITE, 0);
	offer(f, 3);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(f->e.nr_in, 2);
	assert_int_equal(f->e.iov[0].iov_len, 100);
	assert_int_equal(f->e.iov[1].iov_len, 200);
	assert_ptr_equal(f->e.iov[1].iov_base, hva(f, BOUNDARY));
}

static void test_indirect(void **state)
{
	struct fixture *f = *state;

	set_desc(f, INDIRECT, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, INDIRECT, 1, DATA + 4096, 4096,
		 VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	set_desc(f, INDIRECT, 2, DATA + 8192, 1, VIRTQ_DESC_F_WRITE, 0);
	set_desc(f, DESC, 5, INDIRECT, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 5);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(f->e.head, 5);
	assert_int_equal(f->e.nr_out, 1);
	assert_int_equal(f->e.nr_in, 2);
	assert_int_equal(f->e.in_len, 4097);
	/* Not negotiated: refused. */
	assert_int_equal(virtq_init(&f->q, &f->mem, QSIZE, DESC, AVAIL, USED,
				    false, false), 0);
	f->avail_idx = 0;
	offer(f, 5);
	assert_int_equal(virtq_pop(&f->q, &f->e), -EINVAL);
}

static void test_event_idx(void **state)
{
	struct fixture *f = *state;
	u16 *used = hva(f, USED);

	assert_int_equal(setup_q(f, true), 0);
	set_desc(f, DESC, 0, DATA, 8, VIRTQ_DESC_F_WRITE, 0);
	/* The driver wants an interrupt after used entry 1 only. */
	avail(f)[2 + QSIZE] = 1;
	offer(f, 0);
	offer(f, 0);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	virtq_push(&f->q, 0, 8);
	assert_false(virtq_need_irq(&f->q));	/* used 0..1: not past 1 */
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	virtq_push(&f->q, 0, 8);
	assert_true(virtq_need_irq(&f->q));	/* entry 1 is out */
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	virtq_push(&f->q, 0, 8);
	assert_false(virtq_need_irq(&f->q));
	/* Asking for notifications again publishes avail_event. */
	assert_false(virtq_enable_notify(&f->q));
	assert_int_equal(used[2 + 4 * QSIZE], 3);
	offer(f, 0);
	assert_true(virtq_enable_notify(&f->q));	/* arrived meanwhile */
}

static void test_flags_no_notify(void **state)
{
	struct fixture *f = *state;
	u16 *used = hva(f, USED);

	virtq_disable_notify(&f->q);
	assert_int_equal(used[0], VIRTQ_USED_F_NO_NOTIFY);
	assert_false(virtq_enable_notify(&f->q));
	assert_int_equal(used[0], 0);
}

/* Each hostile queue must be refused, never mapped. */
static void expect_bad(struct fixture *f, u16 head)
{
	offer(f, head);
	assert_int_equal(virtq_pop(&f->q, &f->e), -EINVAL);
	f->avail_idx = 0;
	assert_int_equal(setup_q(f, false), 0);
	avail(f)[1] = 0;
}

static void test_hostile(void **state)
{
	struct fixture *f = *state;
	unsigned i;

	/* A loop: 0 -> 1 -> 0. */
	set_desc(f, DESC, 0, DATA, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, DESC, 1, DATA, 8, VIRTQ_DESC_F_NEXT, 0);
	expect_bad(f, 0);
	/* A self loop. */
	set_desc(f, DESC, 0, DATA, 8, VIRTQ_DESC_F_NEXT, 0);
	expect_bad(f, 0);
	/* next and head past the table. */
	set_desc(f, DESC, 0, DATA, 8, VIRTQ_DESC_F_NEXT, QSIZE);
	expect_bad(f, 0);
	expect_bad(f, QSIZE);
	expect_bad(f, 0xffff);
	/* Buffers outside RAM, ending outside, wrapping round. */
	set_desc(f, DESC, 0, 16 * MiB, 8, 0, 0);
	expect_bad(f, 0);
	set_desc(f, DESC, 0, 16 * MiB - 4, 8, 0, 0);
	expect_bad(f, 0);
	set_desc(f, DESC, 0, ~0ULL - 3, 8, 0, 0);
	expect_bad(f, 0);
	set_desc(f, DESC, 0, 0xfee00000, 4, VIRTQ_DESC_F_WRITE, 0);
	expect_bad(f, 0);
	/* Readable after writable. */
	set_desc(f, DESC, 0, DATA, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	set_desc(f, DESC, 1, DATA, 8, 0, 0);
	expect_bad(f, 0);
	/* Indirect: with NEXT, empty, ragged, nested, outside RAM, looping. */
	set_desc(f, DESC, 0, INDIRECT, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	expect_bad(f, 0);
	set_desc(f, DESC, 0, INDIRECT, 0, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad(f, 0);
	set_desc(f, DESC, 0, INDIRECT, 24, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad(f, 0);
	set_desc(f, INDIRECT, 0, INDIRECT, 16, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(f, DESC, 0, INDIRECT, 16, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad(f, 0);
	set_desc(f, DESC, 0, 15 * MiB + 0xfff000, 16 * 4, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad(f, 0);
	set_desc(f, INDIRECT, 0, DATA, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, INDIRECT, 1, DATA, 8, VIRTQ_DESC_F_NEXT, 0);
	set_desc(f, DESC, 0, INDIRECT, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad(f, 0);
	/* A huge indirect table: more segments than we take. */
	set_desc(f, DESC, 0, DATA, 16 * (VIRTQ_MAX_SEGS + 1), VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad(f, 0);
	/* Too many segments: a long indirect chain split at the boundary. */
	for (i = 0; i < VIRTQ_MAX_SEGS; i++)
		set_desc(f, INDIRECT, i, BOUNDARY - 1, 2,
			 i + 1 < VIRTQ_MAX_SEGS ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	set_desc(f, DESC, 0, INDIRECT, 16 * VIRTQ_MAX_SEGS, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad(f, 0);
	/* avail->idx more than a ring ahead. */
	set_desc(f, DESC, 0, DATA, 8, 0, 0);
	avail(f)[1] = QSIZE + 1;
	assert_int_equal(virtq_pop(&f->q, &f->e), -EINVAL);
}

static void test_iov_helpers(void **state)
{
	u8 a[4] = { 1, 2, 3, 4 }, b[3] = { 5, 6, 7 }, out[7];
	struct iovec v[2] = { { a, 4 }, { b, 3 } }, s[2];

	assert_int_equal(iov_to_buf(v, 2, 2, out, 7), 5);
	assert_memory_equal(out, "\3\4\5\6\7", 5);
	assert_int_equal(iov_slice(s, 2, v, 2, 3, 3), 2);
	assert_ptr_equal(s[0].iov_base, a + 3);
	assert_int_equal(s[0].iov_len, 1);
	assert_int_equal(s[1].iov_len, 2);
	assert_int_equal(iov_slice(s, 1, v, 2, 3, 3), -1);	/* too many */
	assert_int_equal(iov_slice(s, 2, v, 2, 6, 2), -1);	/* past end */
	assert_int_equal(iov_from_buf(v, 2, 6, "\x09", 1), 1);
	assert_int_equal(b[2], 9);
}

/* The dirty log: region r's pages taken into out; how many are set. */
#define RPAGES		(BOUNDARY / GUEST_PAGE_SIZE)

static unsigned take(struct fixture *f, unsigned r, unsigned long *out)
{
	unsigned i, n = 0;

	memset(out, 0, BITS_TO_LONGS(RPAGES) * sizeof(*out));
	guest_mem_dirty_take(&f->mem, r, out);
	for (i = 0; i < BITS_TO_LONGS(RPAGES); i++)
		n += (unsigned)__builtin_popcountl(out[i]);
	return n;
}

static bool dirty(const unsigned long *b, u64 gpa)
{
	u64 p = (gpa % BOUNDARY) / GUEST_PAGE_SIZE;

	return b[p / BITS_PER_LONG] & (1UL << (p % BITS_PER_LONG));
}

/*
 * Chain 0: a readable header, then two writable buffers, one in each
 * region (the second straddling a page boundary).
 */
static void two_writable(struct fixture *f)
{
	set_desc(f, DESC, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, DESC, 1, DATA + 0x2000, 100,
		 VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	set_desc(f, DESC, 2, BOUNDARY + 0x5ff8, 16, VIRTQ_DESC_F_WRITE, 0);
}

/* Exactly chain 0's writable pages and the used ring's page are dirty. */
static void expect_two_writable(struct fixture *f)
{
	static unsigned long b[BITS_TO_LONGS(RPAGES)];

	assert_int_equal(take(f, 0, b), 2);
	assert_true(dirty(b, DATA + 0x2000) && dirty(b, USED));
	assert_int_equal(take(f, 1, b), 2);
	assert_true(dirty(b, BOUNDARY + 0x5000) && dirty(b, BOUNDARY + 0x6000));
	assert_int_equal(take(f, 0, b), 0);		/* the take cleared */
	assert_int_equal(take(f, 1, b), 0);
}

/*
 * Completing a chain marks its writable pages and the used ring, only
 * while logging is on, from what was recorded at pop: also for a chain
 * popped before logging started, and whatever the guest wrote into the
 * descriptor table since.
 */
static void test_dirty_completion(void **state)
{
	static unsigned long b[BITS_TO_LONGS(RPAGES)];
	struct fixture *f = *state;

	/* Off (started once, so there are bitmaps to look at). */
	assert_int_equal(guest_mem_dirty_start(&f->mem), 0);
	guest_mem_dirty_stop(&f->mem);
	two_writable(f);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	virtq_push(&f->q, 0, 116);
	virtq_disable_notify(&f->q);
	assert_false(virtq_enable_notify(&f->q));
	assert_int_equal(take(f, 0, b), 0);
	assert_int_equal(take(f, 1, b), 0);

	/* On. */
	assert_int_equal(guest_mem_dirty_start(&f->mem), 0);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(take(f, 0, b) + take(f, 1, b), 0);	/* pop writes nothing */
	virtq_push(&f->q, 0, 1);	/* reports less: all of it is marked */
	expect_two_writable(f);

	/* Popped while off, pushed while on; the table rewritten meanwhile. */
	guest_mem_dirty_stop(&f->mem);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	set_desc(f, DESC, 1, DATA + 0x7000, 100,
		 VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	set_desc(f, DESC, 2, DATA + 0x8000, 100, VIRTQ_DESC_F_WRITE, 0);
	assert_int_equal(guest_mem_dirty_start(&f->mem), 0);
	virtq_push(&f->q, 0, 116);
	expect_two_writable(f);

	/* A batch: fill two, then flush. */
	two_writable(f);
	set_desc(f, DESC, 4, DATA + 0x9000, 8, VIRTQ_DESC_F_WRITE, 0);
	offer(f, 0);
	offer(f, 4);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	virtq_fill(&f->q, 0, 0, 116);
	virtq_fill(&f->q, 1, 4, 8);
	virtq_flush(&f->q, 2);
	assert_int_equal(take(f, 0, b), 3);
	assert_true(dirty(b, DATA + 0x2000) && dirty(b, DATA + 0x9000) &&
		    dirty(b, USED));
	assert_int_equal(take(f, 1, b), 2);

	/* The notification fields are in the used ring too. */
	virtq_disable_notify(&f->q);
	assert_int_equal(take(f, 0, b), 1);
	assert_true(dirty(b, USED));
	assert_int_equal(setup_q(f, true), 0);
	assert_false(virtq_enable_notify(&f->q));	/* avail_event */
	assert_int_equal(take(f, 0, b), 1);
	assert_true(dirty(b, USED));
	/* A head the queue does not have (a device bug): the used page only. */
	virtq_push(&f->q, QSIZE + 3, 0);
	assert_int_equal(take(f, 0, b), 1);
	assert_int_equal(take(f, 1, b), 0);
}

/*
 * More separate writable ranges than a head records: the closest are
 * merged, so every written page is marked, plus the few in between.
 */
static void test_dirty_many_ranges(void **state)
{
	static unsigned long b[BITS_TO_LONGS(RPAGES)];
	static const u64 page[] = { 0x20, 0x22, 0x30, 0x40, 0x41, 0x100 };
	struct fixture *f = *state;
	unsigned i, n = ARRAY_SIZE(page), marked;

	assert_int_equal(guest_mem_dirty_start(&f->mem), 0);
	for (i = 0; i < n; i++)
		set_desc(f, INDIRECT, i, page[i] * GUEST_PAGE_SIZE + 7, 1,
			 VIRTQ_DESC_F_WRITE | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0),
			 (u16)(i + 1));
	set_desc(f, DESC, 6, INDIRECT, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 6);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	virtq_push(&f->q, 6, (u32)n);
	marked = take(f, 0, b);
	for (i = 0; i < n; i++)
		assert_true(dirty(b, page[i] * GUEST_PAGE_SIZE));
	assert_true(dirty(b, USED));
	/* 5 ranges, 0x40-0x41 being one; 0x20 and 0x22 merged over 0x21. */
	assert_int_equal(marked, n + 1 + 1);
	assert_true(dirty(b, 0x21 * GUEST_PAGE_SIZE));

	/* 64 scattered pages in both regions: all marked, whatever else is. */
	for (i = 0; i < 64; i++)
		set_desc(f, INDIRECT, i, (u64)(i * 97 % 3500) * GUEST_PAGE_SIZE +
			 0x100000, 8,
			 VIRTQ_DESC_F_WRITE | (i + 1 < 64 ? VIRTQ_DESC_F_NEXT : 0),
			 (u16)(i + 1));
	set_desc(f, DESC, 6, INDIRECT, 16 * 64, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 6);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	virtq_push(&f->q, 6, 8);
	{
		static unsigned long b1[BITS_TO_LONGS(RPAGES)];

		take(f, 0, b);
		take(f, 1, b1);
		for (i = 0; i < 64; i++) {
			u64 gpa = (u64)(i * 97 % 3500) * GUEST_PAGE_SIZE + 0x100000;

			assert_true(dirty(gpa < BOUNDARY ? b : b1, gpa));
		}
	}
}

/* Replay the fuzz corpus: no abort, and the hostile seeds are refused. */
static void test_fuzz_corpus(void **state)
{
	const char *dir = corpus_dir();
	unsigned files = 0, rejected = 0, accepted = 0;
	struct dirent *de;
	DIR *d = opendir(dir);
	static u8 buf[HARNESS_MAX_INPUT + 4];

	assert_non_null(d);
	while ((de = readdir(d))) {
		long n;
		int r;

		if (de->d_name[0] == '.')
			continue;
		n = corpus_load(dir, de->d_name, buf, sizeof(buf));
		assert_true(n >= 0);
		r = fuzz_virtq_one(buf, n);
		files++;
		if (!strncmp(de->d_name, "bad-", 4)) {
			assert_int_equal(r, -1);
			rejected++;
		} else if (!strncmp(de->d_name, "good-", 5)) {
			assert_true(r > 0);
			accepted++;
		}
	}
	closedir(d);
	assert_true(files >= 8);
	assert_true(rejected >= 4 && accepted >= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_simple_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_at_region_boundary,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags_no_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirty_completion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirty_many_ranges, setup, teardown),
		cmocka_unit_test(test_iov_helpers),
		cmocka_unit_test(test_fuzz_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
