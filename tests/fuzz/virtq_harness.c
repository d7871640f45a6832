// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz harness for the split virtqueue parser (vmm/devices/virtio/queue.c),
 * shared by the libFuzzer entry point (fuzz_virtq.c) and the cmocka test
 * that replays the seed corpus (tests/unit/test_virtq.c).
 *
 * Guest RAM is 16 MiB in two regions (two guest NUMA nodes of 8 MiB, each
 * its own mapping), so buffers that cross the boundary must be split. One
 * input describes one queue:
 *
 *   byte 0     queue size = 1 << (b % 9)   (1 .. 256)
 *   byte 1     bit 0 VIRTIO_F_EVENT_IDX, bit 1 indirect descriptors
 *   bytes 2-3  the driver's avail->idx (little endian)
 *   the rest   copied to guest RAM at HARNESS_DESC_GPA: the descriptor
 *              table, then the avail ring, then whatever the descriptors
 *              point at (indirect tables, data)
 *
 * The used ring lives at HARNESS_USED_GPA. The harness pops every chain
 * it can, checks each against the rules (every iovec inside one RAM
 * region, lengths add up, at most VIRTQ_MAX_SEGS), touches every byte the
 * device would, and returns it as used. Dirty logging is on throughout:
 * after each push, the pages of every writable iovec and the used ring's
 * must be marked. Any breach aborts.
 */
#include <stdlib.h>
#include <string.h>

#include "virtq_harness.h"
#include "vmm/devices/virtq.h"

static struct guest_mem mem;
static bool mem_ready;

static int setup_mem(void)
{
	u64 sizes[2] = { 8 * MiB, 8 * MiB };

	if (mem_ready)
		return 0;
	if (guest_mem_layout_nodes(&mem, sizes, 2) || guest_mem_alloc(&mem) ||
	    guest_mem_dirty_start(&mem))
		return -1;
	mem_ready = true;
	return 0;
}

/* Every iovec must lie inside one mapped region. */
static void check_iov(const struct iovec *v)
{
	unsigned i;

	for (i = 0; i < mem.nr; i++) {
		const u8 *lo = mem.regions[i].hva;
		const u8 *hi = lo + mem.regions[i].size;
		const u8 *p = v->iov_base;

		if (p >= lo && p <= hi && v->iov_len <= (size_t)(hi - p))
			return;
	}
	abort();
}

static void check_elem(struct virtq *q, const struct virtq_elem *e)
{
	u64 total = 0;
	unsigned i;

	if (e->head >= q->size || e->nr_out + e->nr_in > VIRTQ_MAX_SEGS)
		abort();
	for (i = 0; i < e->nr_out + e->nr_in; i++) {
		volatile u8 *p = e->iov[i].iov_base;

		check_iov(&e->iov[i]);
		total += e->iov[i].iov_len;
		if (!e->iov[i].iov_len)
			continue;
		/* Touch the ends, as the device would read or write them. */
		(void)p[0];
		(void)p[e->iov[i].iov_len - 1];
		if (i >= e->nr_out)
			p[0] = 0x5a;
	}
	if (total != e->out_len + e->in_len)
		abort();
}

static bool marked(const unsigned long *const *taken, const u8 *p)
{
	unsigned i;

	for (i = 0; i < mem.nr; i++) {
		const u8 *lo = mem.regions[i].hva;
		u64 pg;

		if (p < lo || p >= lo + mem.regions[i].size)
			continue;
		pg = (u64)(p - lo) / GUEST_PAGE_SIZE;
		return taken[i][pg / BITS_PER_LONG] & (1UL << (pg % BITS_PER_LONG));
	}
	return false;
}

/* After the push of e: its writable pages and the used ring are dirty. */
static void check_dirty(const struct virtq_elem *e)
{
	static unsigned long t0[BITS_TO_LONGS(8 * MiB / GUEST_PAGE_SIZE)];
	static unsigned long t1[BITS_TO_LONGS(8 * MiB / GUEST_PAGE_SIZE)];
	const unsigned long *const taken[2] = { t0, t1 };
	unsigned i;

	memset(t0, 0, sizeof(t0));
	memset(t1, 0, sizeof(t1));
	guest_mem_dirty_take(&mem, 0, t0);
	guest_mem_dirty_take(&mem, 1, t1);
	if (!marked(taken, gpa_to_hva(&mem, HARNESS_USED_GPA, 1)))
		abort();
	for (i = e->nr_out; i < e->nr_out + e->nr_in; i++) {
		const u8 *p = e->iov[i].iov_base;

		if (e->iov[i].iov_len &&
		    (!marked(taken, p) || !marked(taken, p + e->iov[i].iov_len - 1)))
			abort();
	}
}

int fuzz_virtq_one(const u8 *data, size_t size)
{
	static struct virtq_elem e;
	struct virtq q = { 0 };
	u16 qsize, idx;
	u8 *ram;
	bool ev, ind;
	unsigned n;
	int r = 0;

	if (size < 4 || setup_mem())
		return 0;
	qsize = (u16)(1u << (data[0] % 9));
	ev = data[1] & 1;
	ind = data[1] & 2;
	idx = (u16)(data[2] | data[3] << 8);
	data += 4;
	size -= 4;
	/* A clean slate where the rings live. */
	ram = gpa_to_hva(&mem, 0, HARNESS_CLEAR);
	memset(ram, 0, HARNESS_CLEAR);
	memcpy(ram + HARNESS_DESC_GPA, data,
	       size < HARNESS_MAX_INPUT ? size : HARNESS_MAX_INPUT);
	{
		u64 avail = HARNESS_DESC_GPA + 16ULL * qsize;
		u16 *a = gpa_to_hva(&mem, avail, 4);

		a[1] = idx;
		if (virtq_init(&q, &mem, qsize, HARNESS_DESC_GPA, avail,
			       HARNESS_USED_GPA, ev, ind))
			abort();	/* the harness's own rings are valid */
	}
	virtq_disable_notify(&q);
	for (n = 0; n < 2u * qsize + 2; n++) {
		r = virtq_pop(&q, &e);
		if (r <= 0)
			break;
		check_elem(&q, &e);
		virtq_push(&q, e.head, (u32)MIN(e.in_len, (u64)UINT32_MAX));
		check_dirty(&e);
		virtq_need_irq(&q);
	}
	virtq_enable_notify(&q);
	return r < 0 ? -1 : (int)n;
}
