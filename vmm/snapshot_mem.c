// SPDX-License-Identifier: GPL-2.0
/*
 * Guest RAM to and from a snapshot's memory files, sparse both ways.
 *
 * Writing: pages that hold only zeros are not written (the file keeps a
 * hole there), so a guest that touched 200 MiB of 1 GiB writes about
 * 200 MiB. Runs of non-zero pages go out in writes of up to 8 MiB. The
 * scan reads every page of a private anonymous region: a page never
 * touched reads as the shared zero page, nothing is allocated. A memfd
 * region (shared with a vhost-user back end) would allocate on a read,
 * so only its data extents (SEEK_DATA) are scanned.
 *
 * Reading: only the file's data extents are read, into memory whose
 * NUMA policy is already set (the restore binds before the first touch),
 * so holes stay untouched guest memory and data lands on the right node.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "vmm/snapshot.h"

#define RUN_MAX		(8 * MiB)

bool snap_page_zero(const u8 *p)
{
	const u64 *w = (const u64 *)p;
	unsigned i;

	for (i = 0; i < GUEST_PAGE_SIZE / sizeof(u64); i += 4)
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3])
			return false;
	return true;
}

static void progress(struct snap_progress *p, u64 covered)
{
	u64 t;

	p->done += covered;
	if (!p->report)
		return;
	t = now_ns();
	if (t - p->last_ns >= 1000000000ULL || p->done == p->total) {
		p->last_ns = t;
		p->report(p);
	}
}

static int pwrite_all(int fd, const u8 *buf, u64 len, u64 off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, MIN(len, RUN_MAX), (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (u64)n;
		off += (u64)n;
	}
	return 0;
}

/* The non-zero pages of [from, to) of g, written at off + their offset. */
static int write_span(int fd, u64 off, const struct guest_region *g, u64 from,
		      u64 to, struct snap_progress *p)
{
	const u8 *base = g->hva;
	u64 pos, run = UINT64_MAX, acc = 0;
	int r;

	for (pos = from; pos <= to; pos += GUEST_PAGE_SIZE) {
		bool data = pos < to && !snap_page_zero(base + pos);
		u64 end = data ? pos + GUEST_PAGE_SIZE : pos;

		if (data && run == UINT64_MAX)
			run = pos;
		/* A run ends at a zero page, the span's end, or RUN_MAX. */
		if (run != UINT64_MAX && (!data || end - run >= RUN_MAX)) {
			r = pwrite_all(fd, base + run, end - run, off + run);
			if (r)
				return r;
			p->written += end - run;
			run = UINT64_MAX;
		}
		if (pos < to && (acc += GUEST_PAGE_SIZE) >= RUN_MAX) {
			progress(p, acc);
			acc = 0;
		}
	}
	progress(p, acc);
	return 0;
}

int snap_mem_write(int fd, u64 off, const struct guest_region *g,
		   struct snap_progress *p)
{
	u64 pos = 0;

	if (!(g->flags & GUEST_REGION_SHARED) || g->fd < 0)
		return write_span(fd, off, g, 0, g->size, p);
	while (pos < g->size) {
		off_t d = lseek(g->fd, (off_t)pos, SEEK_DATA), h;
		int r;

		if (d < 0 && errno == ENXIO)
			d = (off_t)g->size;
		if (d < 0)
			return write_span(fd, off, g, pos, g->size, p);
		d = (off_t)MIN((u64)d, g->size);
		progress(p, (u64)d - pos);
		if ((u64)d >= g->size)
			break;
		h = lseek(g->fd, d, SEEK_HOLE);
		h = h < 0 ? (off_t)g->size : (off_t)MIN((u64)h, g->size);
		/* Extents are page-aligned on the file systems memfd uses. */
		r = write_span(fd, off, g, (u64)d & ~(GUEST_PAGE_SIZE - 1),
			       ((u64)h + GUEST_PAGE_SIZE - 1) & ~(GUEST_PAGE_SIZE - 1), p);
		if (r)
			return r;
		pos = ((u64)h + GUEST_PAGE_SIZE - 1) & ~(GUEST_PAGE_SIZE - 1);
	}
	return 0;
}

static int pread_all(int fd, u8 *buf, u64 len, u64 off)
{
	while (len) {
		ssize_t n = pread(fd, buf, MIN(len, RUN_MAX), (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;	/* 0: cut short */
		buf += n;
		len -= (u64)n;
		off += (u64)n;
	}
	return 0;
}

int snap_mem_read(int fd, u64 off, const struct guest_region *g,
		  struct snap_progress *p)
{
	u8 *base = g->hva;
	u64 pos = 0;
	int r;

	while (pos < g->size) {
		off_t d = lseek(fd, (off_t)(off + pos), SEEK_DATA), h;
		u64 from, to;

		if (d < 0 && errno == ENXIO)
			break;			/* a hole to the end */
		if (d < 0) {
			/* No SEEK_DATA here: read it all. */
			r = pread_all(fd, base + pos, g->size - pos, off + pos);
			progress(p, g->size - pos);
			return r;
		}
		if ((u64)d >= off + g->size)
			break;
		h = lseek(fd, d, SEEK_HOLE);
		from = (u64)d - off;
		to = h < 0 ? g->size : MIN((u64)h - off, g->size);
		progress(p, from - pos);
		while (from < to) {
			u64 n = MIN(to - from, RUN_MAX);

			r = pread_all(fd, base + from, n, off + from);
			if (r)
				return r;
			p->written += n;
			progress(p, n);
			from += n;
		}
		pos = to;
	}
	progress(p, g->size - pos);
	return 0;
}
