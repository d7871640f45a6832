// SPDX-License-Identifier: GPL-2.0
/*
 * The VMM's dirty log of guest memory (memory.h): nothing is marked while
 * logging is off; marks by gpa and by host address set exactly the pages
 * they touch, across bitmap words and across regions; any gpa, length or
 * host pointer is safe; a take moves the bits out and clears them; stop
 * keeps the bitmaps (a late marker writes into live memory) and a restart
 * clears them. Last, two threads mark while a third takes, and no bit is
 * lost (run under ThreadSanitizer too: TSAN_UNITS).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/memory.h"

#define NODE		(8 * MiB)
#define PAGES		(NODE / GUEST_PAGE_SIZE)
#define WORDS		BITS_TO_LONGS(PAGES)

static void setup_mem(struct guest_mem *m)
{
	u64 sizes[2] = { NODE, NODE };

	assert_int_equal(guest_mem_layout_nodes(m, sizes, 2), 0);
	assert_int_equal(guest_mem_alloc(m), 0);
	assert_int_equal(m->nr, 2);
}

/* Take region r into a fresh bitmap; the number of pages set. */
static unsigned take(struct guest_mem *m, unsigned r, unsigned long *out)
{
	unsigned i, n = 0;

	memset(out, 0, WORDS * sizeof(*out));
	guest_mem_dirty_take(m, r, out);
	for (i = 0; i < WORDS; i++)
		n += (unsigned)__builtin_popcountl(out[i]);
	return n;
}

static bool bit(const unsigned long *b, u64 page)
{
	return b[page / BITS_PER_LONG] & (1UL << (page % BITS_PER_LONG));
}

static void test_off_and_exact(void **state)
{
	static unsigned long out[WORDS];
	struct guest_mem m;
	u64 p;

	(void)state;
	setup_mem(&m);
	/* Never started: no bitmap, nothing to take. */
	guest_mem_mark_dirty(&m, 0, NODE);
	assert_null(m.regions[0].dirty);
	assert_int_equal(take(&m, 0, out), 0);

	assert_int_equal(guest_mem_dirty_start(&m), 0);
	assert_true(guest_mem_dirty_on(&m));
	/* One byte, then a range across a word boundary (pages 60..70). */
	guest_mem_mark_dirty(&m, 0x5123, 1);
	guest_mem_mark_dirty(&m, 60 * GUEST_PAGE_SIZE + 4095,
			     9 * GUEST_PAGE_SIZE + 2);
	assert_int_equal(take(&m, 0, out), 1 + 11);
	assert_true(bit(out, 5));
	for (p = 59; p <= 71; p++)
		assert_int_equal(bit(out, p), p >= 60 && p <= 70);
	assert_int_equal(take(&m, 0, out), 0);		/* the take cleared */
	assert_int_equal(take(&m, 1, out), 0);

	/* Across the two regions: the last page of one, the first of the next. */
	guest_mem_mark_dirty(&m, NODE - 1, 2);
	assert_int_equal(take(&m, 0, out), 1);
	assert_true(bit(out, PAGES - 1));
	assert_int_equal(take(&m, 1, out), 1);
	assert_true(bit(out, 0));

	/* By host address, as iovecs hold them. */
	guest_mem_mark_dirty_hva(&m, (u8 *)m.regions[1].hva + 3 * GUEST_PAGE_SIZE,
				 GUEST_PAGE_SIZE + 1);
	assert_int_equal(take(&m, 1, out), 2);
	assert_true(bit(out, 3) && bit(out, 4));
	assert_int_equal(take(&m, 0, out), 0);

	/* Stopped: marks are ignored, the bitmaps stay. */
	guest_mem_dirty_stop(&m);
	assert_false(guest_mem_dirty_on(&m));
	assert_non_null(m.regions[0].dirty);
	guest_mem_mark_dirty(&m, 0, NODE);
	guest_mem_mark_dirty_hva(&m, m.regions[0].hva, NODE);
	assert_int_equal(take(&m, 0, out), 0);

	/* A restart clears what a late marker left. */
	__atomic_fetch_or(&m.regions[1].dirty[3], 1UL, __ATOMIC_RELAXED);
	assert_int_equal(guest_mem_dirty_start(&m), 0);
	assert_int_equal(take(&m, 1, out), 0);
	guest_mem_free(&m);
	assert_null(m.regions[0].dirty);
	assert_false(guest_mem_dirty_on(&m));
}

/* Any gpa, length, pointer or region number: clipped to RAM, no crash. */
static void test_bounds(void **state)
{
	static unsigned long out[WORDS];
	struct guest_mem m;

	(void)state;
	setup_mem(&m);
	assert_int_equal(guest_mem_dirty_start(&m), 0);
	guest_mem_mark_dirty(&m, 2 * NODE, GUEST_PAGE_SIZE);	/* past RAM */
	guest_mem_mark_dirty(&m, ~0ULL, ~0ULL);
	guest_mem_mark_dirty(&m, ~0ULL - 10, 100);
	guest_mem_mark_dirty(&m, 0, 0);
	guest_mem_mark_dirty_hva(&m, NULL, 4096);
	guest_mem_mark_dirty_hva(&m, (void *)~(uintptr_t)0, ~0ULL);
	guest_mem_mark_dirty_hva(&m, (u8 *)m.regions[1].hva + NODE, 4096);
	guest_mem_dirty_take(&m, 2, out);			/* no such region */
	guest_mem_dirty_take(&m, ~0U, out);
	assert_int_equal(take(&m, 0, out), 0);
	assert_int_equal(take(&m, 1, out), 0);
	/* Ending past RAM: the part inside is marked. */
	guest_mem_mark_dirty(&m, 2 * NODE - 1, ~0ULL);
	assert_int_equal(take(&m, 1, out), 1);
	assert_true(bit(out, PAGES - 1));
	guest_mem_mark_dirty_hva(&m, (void *)((uintptr_t)m.regions[0].hva - 1), 2);
	assert_int_equal(take(&m, 0, out), 1);
	assert_true(bit(out, 0));
	/* Everything. */
	guest_mem_mark_dirty(&m, 0, ~0ULL);
	assert_int_equal(take(&m, 0, out), PAGES);
	assert_int_equal(take(&m, 1, out), PAGES);
	guest_mem_free(&m);
}

/*
 * Two markers, each its own set of pages (every page of the region, in
 * strides), and a taker that keeps taking while they run: the union of
 * all takes is every page marked, nothing more.
 */
struct marker {
	struct guest_mem *m;
	unsigned first;
};

static void *mark_thread(void *arg)
{
	struct marker *k = arg;
	unsigned round, p;

	for (round = 0; round < 8; round++)
		for (p = k->first; p < PAGES; p += 2)
			guest_mem_mark_dirty(k->m, p * GUEST_PAGE_SIZE + round, 1);
	return NULL;
}

static void test_concurrent(void **state)
{
	static unsigned long all[WORDS];
	struct guest_mem m;
	struct marker k[2];
	pthread_t t[2];
	unsigned i, takes = 0;

	(void)state;
	setup_mem(&m);
	assert_int_equal(guest_mem_dirty_start(&m), 0);
	for (i = 0; i < 2; i++) {
		k[i] = (struct marker){ &m, i };
		assert_int_equal(pthread_create(&t[i], NULL, mark_thread, &k[i]), 0);
	}
	while (takes++ < 200)
		guest_mem_dirty_take(&m, 0, all);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	guest_mem_dirty_take(&m, 0, all);
	for (i = 0; i < WORDS; i++)
		assert_true(all[i] == ~0UL);
	memset(all, 0, sizeof(all));
	guest_mem_dirty_take(&m, 1, all);
	for (i = 0; i < WORDS; i++)
		assert_true(all[i] == 0);
	guest_mem_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off_and_exact),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
