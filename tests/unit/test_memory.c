// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory layout and gpa_to_hva: region placement around the 32-bit
 * hole, NUMA node splits, size validation, and the bounds checks that
 * guard guest-controlled addresses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/layout.h"
#include "lib/parse.h"
#include "vmm/memory.h"

static void check_sorted_and_sized(const struct guest_mem *m)
{
	u64 total = 0;
	unsigned i;

	for (i = 0; i < m->nr; i++) {
		const struct guest_region *r = &m->regions[i];

		assert_true(r->size > 0);
		assert_int_equal(r->gpa % GUEST_PAGE_SIZE, 0);
		/* Never inside the hole. */
		assert_true(r->gpa + r->size <= MMIO_HOLE_START ||
			    r->gpa >= HIGH_RAM_START);
		if (i)
			assert_true(m->regions[i - 1].gpa +
				    m->regions[i - 1].size <= r->gpa);
		total += r->size;
	}
	assert_int_equal(total, m->size);
}

static void test_layout_small(void **state)
{
	struct guest_mem m;

	assert_int_equal(guest_mem_layout(&m, 64 * MiB), 0);
	assert_int_equal(m.nr, 1);
	assert_int_equal(m.regions[0].gpa, 0);
	assert_int_equal(m.regions[0].size, 64 * MiB);
	assert_int_equal(m.regions[0].node, 0);
	assert_null(m.regions[0].hva);
	assert_int_equal(guest_mem_low_end(&m), 64 * MiB);
	assert_int_equal(guest_mem_end(&m), 64 * MiB);
	check_sorted_and_sized(&m);
}

static void test_layout_3g_exact(void **state)
{
	struct guest_mem m;

	assert_int_equal(guest_mem_layout(&m, 3 * GiB), 0);
	assert_int_equal(m.nr, 1);
	assert_int_equal(guest_mem_low_end(&m), MMIO_HOLE_START);
	assert_int_equal(guest_mem_end(&m), MMIO_HOLE_START);
	check_sorted_and_sized(&m);
}

static void test_layout_4g_8g(void **state)
{
	struct guest_mem m;

	assert_int_equal(guest_mem_layout(&m, 4 * GiB), 0);
	assert_int_equal(m.nr, 2);
	assert_int_equal(m.regions[0].size, 3 * GiB);
	assert_int_equal(m.regions[1].gpa, HIGH_RAM_START);
	assert_int_equal(m.regions[1].size, 1 * GiB);
	assert_int_equal(guest_mem_low_end(&m), 3 * GiB);
	assert_int_equal(guest_mem_end(&m), 5 * GiB);
	check_sorted_and_sized(&m);

	assert_int_equal(guest_mem_layout(&m, 8 * GiB), 0);
	assert_int_equal(m.nr, 2);
	assert_int_equal(m.regions[1].size, 5 * GiB);
	assert_int_equal(guest_mem_end(&m), 9 * GiB);
	check_sorted_and_sized(&m);
}

static void test_layout_invalid(void **state)
{
	struct guest_mem m;
	u64 zero = 0;

	assert_int_equal(guest_mem_layout(&m, 0), -EINVAL);
	assert_int_equal(guest_mem_layout(&m, 8 * MiB), -EINVAL);
	assert_int_equal(guest_mem_layout(&m, GUEST_MEM_MIN - GUEST_PAGE_SIZE),
			 -EINVAL);
	assert_int_equal(guest_mem_layout(&m, GUEST_MEM_MIN), 0);
	assert_int_equal(guest_mem_layout(&m, 64 * MiB + 1), -EINVAL);
	assert_int_equal(guest_mem_layout(&m, 64 * MiB + 512), -EINVAL);
	/* Fits the limit only if the hole were not skipped. */
	assert_int_equal(guest_mem_layout(&m, GUEST_PHYS_LIMIT - GiB +
					  GUEST_PAGE_SIZE), -EINVAL);
	assert_int_equal(guest_mem_layout(&m, ~0ULL & ~(GUEST_PAGE_SIZE - 1)),
			 -EINVAL);
	assert_int_equal(guest_mem_layout(&m, GUEST_PHYS_LIMIT - GiB -
					  (HIGH_RAM_START - MMIO_HOLE_START)), 0);
	assert_int_equal(guest_mem_end(&m), GUEST_PHYS_LIMIT - GiB);
	assert_int_equal(guest_mem_layout_nodes(&m, &zero, 1), -EINVAL);
	assert_int_equal(guest_mem_layout_nodes(&m, &zero, 0), -EINVAL);
}

static void test_layout_nodes(void **state)
{
	/* Node 1 straddles the hole: 2 + 2 + 2 GiB. */
	const u64 sizes[] = { 2 * GiB, 2 * GiB, 2 * GiB };
	const u64 overflow[] = { ~0ULL & ~4095ULL, 1ULL << 40 };
	struct guest_mem m;

	assert_int_equal(guest_mem_layout_nodes(&m, sizes, 3), 0);
	assert_int_equal(m.nr, 4);
	assert_int_equal(m.nr_nodes, 3);
	assert_int_equal(m.regions[0].node, 0);
	assert_int_equal(m.regions[0].size, 2 * GiB);
	assert_int_equal(m.regions[1].node, 1);
	assert_int_equal(m.regions[1].gpa, 2 * GiB);
	assert_int_equal(m.regions[1].size, 1 * GiB);
	assert_int_equal(m.regions[2].node, 1);
	assert_int_equal(m.regions[2].gpa, HIGH_RAM_START);
	assert_int_equal(m.regions[2].size, 1 * GiB);
	assert_int_equal(m.regions[3].node, 2);
	assert_int_equal(m.regions[3].gpa, HIGH_RAM_START + GiB);
	assert_int_equal(guest_mem_low_end(&m), 3 * GiB);
	check_sorted_and_sized(&m);
	/* The sum of node sizes must not wrap. */
	assert_int_equal(guest_mem_layout_nodes(&m, overflow, 2), -EINVAL);
}

static void test_layout_node_ends_at_hole(void **state)
{
	const u64 sizes[] = { 3 * GiB, 1 * GiB };
	struct guest_mem m;

	assert_int_equal(guest_mem_layout_nodes(&m, sizes, 2), 0);
	assert_int_equal(m.nr, 2);
	assert_int_equal(m.regions[1].gpa, HIGH_RAM_START);
	assert_int_equal(m.regions[1].node, 1);
	check_sorted_and_sized(&m);
}

static void test_gpa_to_hva(void **state)
{
	struct guest_mem m;
	u8 *low, *high;

	assert_int_equal(guest_mem_layout(&m, 4 * GiB), 0);
	/* Unmapped layout: nothing resolves. */
	assert_null(gpa_to_hva(&m, 0, 1));
	assert_int_equal(guest_mem_alloc(&m), 0);
	low = m.regions[0].hva;
	high = m.regions[1].hva;
	assert_non_null(low);
	assert_non_null(high);
	/* 2 MiB aligned, so KVM can map it with 2 MiB entries (issue 12). */
	assert_int_equal((uintptr_t)low & (2 * MiB - 1), 0);
	assert_int_equal((uintptr_t)high & (2 * MiB - 1), 0);

	assert_ptr_equal(gpa_to_hva(&m, 0, 1), low);
	assert_ptr_equal(gpa_to_hva(&m, 0x1234, 16), low + 0x1234);
	assert_ptr_equal(gpa_to_hva(&m, 0, 3 * GiB), low);
	assert_ptr_equal(gpa_to_hva(&m, 3 * GiB - 1, 1), low + 3 * GiB - 1);
	assert_ptr_equal(gpa_to_hva(&m, 3 * GiB - 8, 0), low + 3 * GiB - 8);
	assert_null(gpa_to_hva(&m, 3 * GiB - 1, 2));	/* into the hole */
	assert_null(gpa_to_hva(&m, 3 * GiB, 1));	/* the hole */
	assert_null(gpa_to_hva(&m, LAPIC_ADDR, 4));
	assert_null(gpa_to_hva(&m, HIGH_RAM_START - 1, 2)); /* straddles */
	assert_ptr_equal(gpa_to_hva(&m, HIGH_RAM_START, 8), high);
	assert_ptr_equal(gpa_to_hva(&m, 5 * GiB - 4, 4), high + GiB - 4);
	assert_null(gpa_to_hva(&m, 5 * GiB - 4, 5));
	assert_null(gpa_to_hva(&m, 5 * GiB, 1));
	/* Lengths and addresses chosen to wrap a naive gpa + len. */
	assert_null(gpa_to_hva(&m, 0x1000, ~0ULL));
	assert_null(gpa_to_hva(&m, 0x1000, ~0ULL - 0xfff + 1));
	assert_null(gpa_to_hva(&m, ~0ULL, 1));
	assert_null(gpa_to_hva(&m, ~0ULL - 7, 16));
	assert_null(gpa_to_hva(&m, HIGH_RAM_START, ~0ULL - HIGH_RAM_START + 2));
	/* The memory is really ours and zeroed. */
	assert_int_equal(low[3 * GiB - 1], 0);
	low[3 * GiB - 1] = 0xab;
	high[GiB - 1] = 0xcd;
	assert_int_equal(*(u8 *)gpa_to_hva(&m, 5 * GiB - 1, 1), 0xcd);

	guest_mem_free(&m);
	assert_null(m.regions[0].hva);
	assert_null(gpa_to_hva(&m, 0, 1));
	guest_mem_free(&m);	/* twice is harmless */
}

/*
 * Shared guest RAM (vhost-user): one memfd per region, MAP_SHARED, the
 * pages the fd reads are the guest's; prefault populates it; hugetlb
 * regions get a hugetlb memfd or fall back to THP; free closes the fds.
 */
/* 1 when fd is no longer open. */
static int fcntl_closed(int fd)
{
	struct stat st;

	return fstat(fd, &st) < 0 && errno == EBADF;
}

static void test_shared_regions(void **state)
{
	u64 sizes[2] = { 12 * MiB, 4 * MiB };
	struct guest_mem m;
	struct stat st;
	unsigned i;
	u8 b = 0;
	int fd;

	assert_int_equal(guest_mem_layout_nodes(&m, sizes, 2), 0);
	guest_mem_set_shared(&m);
	m.regions[1].flags |= GUEST_REGION_HUGETLB;
	assert_int_equal(guest_mem_alloc(&m), 0);
	for (i = 0; i < m.nr; i++) {
		struct guest_region *r = &m.regions[i];

		assert_true(r->flags & GUEST_REGION_SHARED);
		assert_int_equal((uintptr_t)r->hva & (2 * MiB - 1), 0);
		assert_true(r->fd >= 0);
		assert_int_equal(fstat(r->fd, &st), 0);
		assert_int_equal(st.st_size, r->size);
		((volatile u8 *)r->hva)[r->size - 1] = (u8)(0x40 + i);
		assert_int_equal(pread(r->fd, &b, 1, (off_t)r->size - 1), 1);
		assert_int_equal(b, 0x40 + i);
	}
	/* The hugetlb region is either that or THP, never unbacked. */
	assert_true(m.regions[1].flags & (GUEST_REGION_HUGETLB | GUEST_REGION_THP));
	assert_int_equal(guest_mem_prefault(&m, 1, NULL), 0);
	fd = m.regions[0].fd;
	guest_mem_free(&m);
	assert_int_equal(fcntl_closed(fd), 1);
	assert_null(m.regions[0].hva);
	guest_mem_free(&m);	/* twice is fine */
}

/* Pages of [p, p + len) not resident in memory. */
static size_t not_resident(void *p, size_t len)
{
	size_t pages = len / 4096, i, n = 0;
	unsigned char *v = malloc(pages);

	assert_non_null(v);
	assert_int_equal(mincore(p, len, v), 0);
	for (i = 0; i < pages; i++)
		n += !(v[i] & 1);
	free(v);
	return n;
}

/*
 * Prefault with threads: two nodes' regions (600 MiB, so several 256 MiB
 * chunks each) end up wholly resident, whether the workers are pinned
 * (region 0 to CPU 0) or not, and the calling thread's CPUs are as they
 * were.
 */
static void test_prefault_threads(void **state)
{
	u64 sizes[2] = { 600 * MiB, 88 * MiB };
	struct cpulist cpu0;
	const struct cpulist *on[GUEST_MEM_MAX_REGIONS] = { &cpu0 };
	cpu_set_t before, after;
	struct guest_mem m;
	unsigned i;

	(void)state;
	assert_int_equal(cpulist_init(&cpu0, 64), 0);
	assert_int_equal(cpulist_set(&cpu0, 0), 0);
	assert_int_equal(sched_getaffinity(0, sizeof(before), &before), 0);
	assert_int_equal(guest_mem_layout_nodes(&m, sizes, 2), 0);
	assert_int_equal(guest_mem_alloc(&m), 0);
	for (i = 0; i < m.nr; i++)
		assert_true(not_resident(m.regions[i].hva, m.regions[i].size) > 0);
	assert_int_equal(guest_mem_prefault(&m, 4, on), 0);
	for (i = 0; i < m.nr; i++)
		assert_int_equal(not_resident(m.regions[i].hva, m.regions[i].size), 0);
	assert_int_equal(sched_getaffinity(0, sizeof(after), &after), 0);
	assert_true(CPU_EQUAL(&before, &after));
	guest_mem_free(&m);
	/* Unpinned, more threads than chunks. */
	assert_int_equal(guest_mem_layout_nodes(&m, sizes, 2), 0);
	assert_int_equal(guest_mem_alloc(&m), 0);
	assert_int_equal(guest_mem_prefault(&m, 64, NULL), 0);
	for (i = 0; i < m.nr; i++)
		assert_int_equal(not_resident(m.regions[i].hva, m.regions[i].size), 0);
	guest_mem_free(&m);
	cpulist_free(&cpu0);
}

/*
 * Guest RAM the host can never provide is refused, unless overcommit is
 * asked for; a size the host has is accepted. (No host has 4 EiB.)
 */
static void test_check_host(void **state)
{
	assert_int_equal(guest_mem_check_host(4ULL << 60, false), -ENOMEM);
	assert_int_equal(guest_mem_check_host(4ULL << 60, true), 0);
	assert_int_equal(guest_mem_check_host(64 * MiB, false), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_small),
		cmocka_unit_test(test_layout_3g_exact),
		cmocka_unit_test(test_layout_4g_8g),
		cmocka_unit_test(test_layout_invalid),
		cmocka_unit_test(test_layout_nodes),
		cmocka_unit_test(test_layout_node_ends_at_hole),
		cmocka_unit_test(test_gpa_to_hva),
		cmocka_unit_test(test_shared_regions),
		cmocka_unit_test(test_check_host),
		cmocka_unit_test(test_prefault_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
