// SPDX-License-Identifier: GPL-2.0
/*
 * Guest RAM layout and its host mappings (see memory.h for the address
 * map). The layout is pure arithmetic; only guest_mem_alloc and
 * guest_mem_free touch the host, with mmap and munmap. At the end, the
 * VMM's dirty log (memory.h says what it is for and why it is safe).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "lib/layout.h"
#include "smp/pin.h"
#include "vmm/memory.h"

#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB	(21U << 26)	/* log2(2 MiB) << MFD_HUGE_SHIFT */
#endif

/* Append [gpa, gpa + size) of node to m, splitting it at the hole. */
static void add_node_range(struct guest_mem *m, u64 *cursor, u64 size,
			   int node)
{
	u64 gpa = *cursor;

	while (size) {
		u64 chunk = size;
		struct guest_region *r;

		if (gpa < MMIO_HOLE_START && gpa + chunk > MMIO_HOLE_START)
			chunk = MMIO_HOLE_START - gpa;
		r = &m->regions[m->nr++];
		r->gpa = gpa;
		r->size = chunk;
		r->hva = NULL;
		r->node = node;
		size -= chunk;
		gpa += chunk;
		if (gpa == MMIO_HOLE_START)
			gpa = HIGH_RAM_START;
	}
	*cursor = gpa;
}

int guest_mem_layout_nodes(struct guest_mem *m, const u64 *node_size,
			   unsigned nr_nodes)
{
	u64 total = 0, cursor = 0, end;
	unsigned i;

	memset(m, 0, sizeof(*m));
	if (!nr_nodes || nr_nodes > GUEST_MEM_MAX_NODES) {
		pr_err("guest memory: %u NUMA nodes (1 to %u supported)",
		       nr_nodes, GUEST_MEM_MAX_NODES);
		return -EINVAL;
	}
	for (i = 0; i < nr_nodes; i++) {
		u64 s = node_size[i];

		if (!s || s % GUEST_PAGE_SIZE) {
			if (nr_nodes == 1)
				pr_err("guest memory: %llu bytes is not a positive multiple of 4 KiB",
				       (unsigned long long)s);
			else
				pr_err("guest memory: node %u: %llu bytes is not a positive multiple of 4 KiB",
				       i, (unsigned long long)s);
			return -EINVAL;
		}
		if (s > GUEST_PHYS_LIMIT - total) {
			pr_err("guest memory: more than %llu GiB in total",
			       (unsigned long long)(GUEST_PHYS_LIMIT / GiB));
			return -EINVAL;
		}
		total += s;
	}
	if (total < GUEST_MEM_MIN) {
		pr_err("guest memory: %llu KiB is too small (minimum %llu MiB)",
		       (unsigned long long)(total / KiB),
		       (unsigned long long)(GUEST_MEM_MIN / MiB));
		return -EINVAL;
	}
	end = total > MMIO_HOLE_START ? total - MMIO_HOLE_START + HIGH_RAM_START
				      : total;
	if (end > GUEST_PHYS_LIMIT) {
		pr_err("guest memory: %llu MiB does not fit below the %llu TiB physical limit once the hole is skipped",
		       (unsigned long long)(total / MiB),
		       (unsigned long long)(GUEST_PHYS_LIMIT >> 40));
		return -EINVAL;
	}
	for (i = 0; i < nr_nodes; i++)
		add_node_range(m, &cursor, node_size[i], (int)i);
	m->nr_nodes = nr_nodes;
	m->size = total;
	return 0;
}

int guest_mem_layout(struct guest_mem *m, u64 size)
{
	return guest_mem_layout_nodes(m, &size, 1);
}

int guest_mem_check_host(u64 size, bool overcommit)
{
	struct sysinfo si;
	u64 host;

	if (overcommit)
		return 0;
	if (sysinfo(&si)) {
		pr_warn("memory: cannot read the host's memory size: %s", strerror(errno));
		return 0;
	}
	host = ((u64)si.totalram + si.totalswap) * si.mem_unit;
	if (size <= host)
		return 0;
	pr_err("memory: %llu MiB of guest RAM is more than this host's %llu MiB of RAM and swap (set \"memory\": {\"overcommit\": true} in the config if that is intended)",
	       (unsigned long long)(size / MiB), (unsigned long long)(host / MiB));
	return -ENOMEM;
}

/*
 * mmap(2) at a 2 MiB-aligned address. KVM maps guest memory with 2 MiB
 * (nested) page table entries only where the host address and the guest
 * physical address agree modulo 2 MiB, and a host page behind it is huge;
 * Linux before 6.7 places a large anonymous mapping anywhere page
 * aligned, so without this every guest page is a 4 KiB entry: 512 times
 * more nested page faults while the guest first touches its memory, and
 * more TLB misses ever after (issue 12). A window 2 MiB larger is
 * reserved, the mapping placed in it with MAP_FIXED, the rest returned.
 */
#define GUEST_MAP_ALIGN		(2 * MiB)

static void *mmap_aligned(size_t size, int prot, int flags, int fd)
{
	size_t win = size + GUEST_MAP_ALIGN;
	u8 *w, *p, *a;

	w = mmap(NULL, win, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (w == MAP_FAILED)
		return MAP_FAILED;
	a = (u8 *)ALIGN_UP((uintptr_t)w, GUEST_MAP_ALIGN);
	p = mmap(a, size, prot, flags | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;

		munmap(w, win);
		errno = e;
		return MAP_FAILED;
	}
	if (a > w)
		munmap(w, (size_t)(a - w));
	if (a + size < w + win)
		munmap(a + size, (size_t)(w + win - (a + size)));
	return p;
}

/*
 * A shareable region: a memfd of the region's size (hugetlb pages when
 * huge), mapped MAP_SHARED. Sets r->fd; MAP_FAILED with errno on failure.
 */
static void *map_shared(struct guest_region *r, bool huge)
{
	unsigned mfd = MFD_CLOEXEC | (huge ? MFD_HUGETLB | MFD_HUGE_2MB : 0);
	int fd = memfd_create("smpvisor-ram", mfd), e;
	void *p;

	if (fd < 0)
		return MAP_FAILED;
	if (ftruncate(fd, (off_t)r->size) < 0) {
		p = MAP_FAILED;
	} else {
		/* hugetlb: shared mappings reserve at mmap, as private ones do. */
		p = mmap_aligned(r->size, PROT_READ | PROT_WRITE,
				 MAP_SHARED | (huge ? 0 : MAP_NORESERVE), fd);
	}
	if (p == MAP_FAILED) {
		e = errno;
		close(fd);
		errno = e;
		return p;
	}
	r->fd = fd;
	return p;
}

/* Map one region per its flags; hugetlbfs falls back to THP. */
static void *map_region(struct guest_region *r)
{
	const int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	bool shared = r->flags & GUEST_REGION_SHARED;
	void *p;

	r->fd = -1;
	if (r->flags & GUEST_REGION_HUGETLB) {
		/* Reserved at mmap time, so a short pool fails here, not later. */
		p = shared ? map_shared(r, true) :
		    mmap(NULL, r->size, PROT_READ | PROT_WRITE,
			 flags | MAP_HUGETLB | (21 << MAP_HUGE_SHIFT), -1, 0);
		if (p != MAP_FAILED)
			return p;
		pr_warn("memory.hugepages: no hugetlbfs 2 MiB pages for %llu MiB at gpa 0x%llx (%s): using transparent huge pages (MADV_HUGEPAGE)",
			(unsigned long long)(r->size / MiB),
			(unsigned long long)r->gpa, strerror(errno));
		r->flags = (r->flags & ~GUEST_REGION_HUGETLB) | GUEST_REGION_THP;
	}
	/*
	 * MAP_NORESERVE: a big guest touches only what it uses. No
	 * MADV_MERGEABLE (KSM costs CPU and leaks timing between guests).
	 */
	p = shared ? map_shared(r, false) :
	    mmap_aligned(r->size, PROT_READ | PROT_WRITE, flags | MAP_NORESERVE,
			 -1);
	if (p == MAP_FAILED)
		return p;
	/*
	 * Transparent huge pages for all guest RAM, asked for or not: with
	 * the host's THP in "madvise" mode (Debian's default) a guest would
	 * otherwise run on 4 KiB host pages, and every TLB miss would walk
	 * 4 KiB two-dimensional page tables. QEMU advises the same by
	 * default. Only memory.hugepages makes a refusal worth a warning.
	 * On a memfd this needs shmem THP ("advise" in shmem_enabled).
	 */
	if (madvise(p, r->size, MADV_HUGEPAGE) && (r->flags & GUEST_REGION_THP))
		pr_warn("memory.hugepages: MADV_HUGEPAGE refused for gpa 0x%llx (%s): using 4 KiB pages",
			(unsigned long long)r->gpa, strerror(errno));
	return p;
}

void guest_mem_set_shared(struct guest_mem *m)
{
	unsigned i;

	for (i = 0; i < m->nr; i++)
		m->regions[i].flags |= GUEST_REGION_SHARED;
}

int guest_mem_alloc(struct guest_mem *m)
{
	unsigned i;
	int err;

	for (i = 0; i < m->nr; i++) {
		struct guest_region *r = &m->regions[i];
		void *p = map_region(r);

		if (p == MAP_FAILED) {
			err = -errno;
			pr_err("guest memory: cannot map %llu MiB at gpa 0x%llx: %s",
			       (unsigned long long)(r->size / MiB),
			       (unsigned long long)r->gpa, strerror(-err));
			goto err_unmap;
		}
		r->hva = p;
	}
	return 0;

err_unmap:
	guest_mem_free(m);
	return err;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define PREFAULT_CHUNK	(256 * MiB)

/* One prefault: the chunks of every region, taken in turn by the threads. */
struct prefault {
	struct guest_mem *m;
	const struct cpulist *const *cpus;
	unsigned nr_chunks;
	unsigned chunk_region[GUEST_MEM_MAX_REGIONS + 1];	/* first chunk of each */
	atomic_uint next;
	atomic_int err;
};

/* Chunk c as (region, offset, length). */
static void chunk_at(const struct prefault *pf, unsigned c, unsigned *ri,
		     u64 *off, u64 *len)
{
	unsigned i = 0;

	while (pf->chunk_region[i + 1] <= c)
		i++;
	*ri = i;
	*off = (u64)(c - pf->chunk_region[i]) * PREFAULT_CHUNK;
	*len = MIN(PREFAULT_CHUNK, pf->m->regions[i].size - *off);
}

static int populate(struct guest_region *r, u64 off, u64 len)
{
	volatile u8 *p = (u8 *)r->hva + off;
	u64 o;

	if (!madvise((u8 *)r->hva + off, len, MADV_POPULATE_WRITE))
		return 0;
	if (errno != EINVAL)
		return -errno;
	/* Kernels before 5.14: touch one byte per page ourselves. */
	for (o = 0; o < len; o += GUEST_PAGE_SIZE)
		p[o] = 0;
	return 0;
}

static void *prefault_worker(void *arg)
{
	struct prefault *pf = arg;
	const struct cpulist *on = NULL;
	unsigned c, ri;
	u64 off, len;
	int r;

	while (!atomic_load(&pf->err) &&
	       (c = atomic_fetch_add(&pf->next, 1)) < pf->nr_chunks) {
		chunk_at(pf, c, &ri, &off, &len);
		if (pf->cpus && pf->cpus[ri] && pf->cpus[ri] != on &&
		    !smp_pin_self(pf->cpus[ri], "prefault"))
			on = pf->cpus[ri];
		r = populate(&pf->m->regions[ri], off, len);
		if (r) {
			int none = 0;

			if (atomic_compare_exchange_strong(&pf->err, &none, r))
				pr_err("memory.prefault: cannot populate %llu MiB at gpa 0x%llx: %s",
				       (unsigned long long)(len / MiB),
				       (unsigned long long)(pf->m->regions[ri].gpa + off),
				       strerror(-r));
		}
	}
	return NULL;
}

int guest_mem_prefault(struct guest_mem *m, unsigned threads,
		       const struct cpulist *const *region_cpus)
{
	struct prefault pf = { .m = m, .cpus = region_cpus };
	pthread_t *t;
	unsigned i, started = 0;

	for (i = 0; i < m->nr; i++) {
		pf.chunk_region[i] = pf.nr_chunks;
		if (m->regions[i].hva)
			pf.nr_chunks += (unsigned)((m->regions[i].size + PREFAULT_CHUNK - 1) /
						   PREFAULT_CHUNK);
	}
	pf.chunk_region[m->nr] = pf.nr_chunks;
	threads = MAX(1u, MIN(threads, pf.nr_chunks));
	/*
	 * Workers of their own: a worker pins itself to its chunk's CPUs,
	 * and the calling thread's affinity is not prefault's to change.
	 * Only one unpinned worker, or no thread to be had, runs here.
	 */
	t = threads > 1 || region_cpus ? calloc(threads, sizeof(*t)) : NULL;
	for (i = 0; t && i < threads; i++)
		if (!pthread_create(&t[started], NULL, prefault_worker, &pf))
			started++;
	for (i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	free(t);
	if (!started) {		/* no thread to be had: here, unpinned */
		pf.cpus = NULL;
		prefault_worker(&pf);
	}
	pr_debug("memory.prefault: %u chunks of up to %llu MiB by %u threads",
		 pf.nr_chunks, (unsigned long long)(PREFAULT_CHUNK / MiB),
		 MAX(started, 1u));
	return atomic_load(&pf.err);
}

void guest_mem_free(struct guest_mem *m)
{
	unsigned i;

	__atomic_store_n(&m->dirty_on, false, __ATOMIC_RELEASE);
	for (i = 0; i < m->nr; i++) {
		struct guest_region *r = &m->regions[i];

		free(r->dirty);
		r->dirty = NULL;
		if (r->hva) {
			munmap(r->hva, r->size);
			if ((r->flags & GUEST_REGION_SHARED) && r->fd >= 0)
				close(r->fd);
			r->fd = -1;
		}
		r->hva = NULL;
	}
}

const struct guest_region *guest_mem_find(const struct guest_mem *m, u64 gpa)
{
	unsigned i;

	for (i = 0; i < m->nr; i++) {
		const struct guest_region *r = &m->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

void *gpa_to_hva(const struct guest_mem *m, u64 gpa, u64 len)
{
	const struct guest_region *r = guest_mem_find(m, gpa);
	u64 off;

	if (!r || !r->hva)
		return NULL;
	off = gpa - r->gpa;
	/* off < size here, so size - off cannot wrap; gpa + len never formed. */
	if (len > r->size - off)
		return NULL;
	return (u8 *)r->hva + off;
}

u64 guest_mem_low_end(const struct guest_mem *m)
{
	u64 end = 0;
	unsigned i;

	for (i = 0; i < m->nr && m->regions[i].gpa < MMIO_HOLE_START; i++)
		end = m->regions[i].gpa + m->regions[i].size;
	return end;
}

u64 guest_mem_end(const struct guest_mem *m)
{
	if (!m->nr)
		return 0;
	return m->regions[m->nr - 1].gpa + m->regions[m->nr - 1].size;
}

int guest_mem_dirty_start(struct guest_mem *m)
{
	unsigned i;
	u64 w, n;

	for (i = 0; i < m->nr; i++) {
		struct guest_region *r = &m->regions[i];

		n = BITS_TO_LONGS(guest_region_pages(r));
		if (!r->dirty) {
			r->dirty = calloc(n ? n : 1, sizeof(*r->dirty));
			if (!r->dirty) {
				pr_err("migration: no memory for the dirty bitmap of %llu MiB at gpa 0x%llx",
				       (unsigned long long)(r->size / MiB),
				       (unsigned long long)r->gpa);
				return -ENOMEM;	/* what was allocated goes at free */
			}
			continue;
		}
		/* Word by word: a late marker of the last round may still OR. */
		for (w = 0; w < n; w++)
			__atomic_store_n(&r->dirty[w], 0UL, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&m->dirty_on, true, __ATOMIC_RELEASE);
	return 0;
}

void guest_mem_dirty_stop(struct guest_mem *m)
{
	__atomic_store_n(&m->dirty_on, false, __ATOMIC_RELEASE);
}

/* Set bits first..last (inclusive page indices inside r) with atomic ORs. */
static void set_pages(const struct guest_region *r, u64 first, u64 last)
{
	u64 w = first / BITS_PER_LONG, end = last / BITS_PER_LONG;

	for (; w <= end; w++) {
		unsigned long mask = ~0UL;

		if (w == first / BITS_PER_LONG)
			mask &= ~0UL << (first % BITS_PER_LONG);
		if (w == end)
			mask &= ~0UL >> (BITS_PER_LONG - 1 - last % BITS_PER_LONG);
		/*
		 * Always the RMW, even when the bits look set already: it is
		 * what orders our data writes before the taker's read.
		 */
		__atomic_fetch_or(&r->dirty[w], mask, __ATOMIC_RELEASE);
	}
}

/*
 * Mark [lo, hi] (inclusive, hi >= lo) of a space where region r spans
 * [base, base + r->size): guest-physical or host-virtual addresses.
 */
static void mark_span(const struct guest_region *r, u64 base, u64 lo, u64 hi)
{
	u64 rlast;

	if (!r->dirty || !r->size)
		return;
	rlast = base + (r->size - 1);
	if (hi < base || lo > rlast)
		return;
	lo = MAX(lo, base);
	hi = MIN(hi, rlast);
	set_pages(r, (lo - base) / GUEST_PAGE_SIZE, (hi - base) / GUEST_PAGE_SIZE);
}

/* The inclusive end of [start, start + len), len > 0, saturated. */
static u64 span_last(u64 start, u64 len)
{
	return len - 1 > ~0ULL - start ? ~0ULL : start + (len - 1);
}

void guest_mem_mark_dirty(const struct guest_mem *m, u64 gpa, u64 len)
{
	unsigned i;
	u64 last;

	if (!guest_mem_dirty_on(m) || !len)
		return;
	last = span_last(gpa, len);
	for (i = 0; i < m->nr && m->regions[i].gpa <= last; i++)
		mark_span(&m->regions[i], m->regions[i].gpa, gpa, last);
}

void guest_mem_mark_dirty_hva(const struct guest_mem *m, const void *hva,
			      u64 len)
{
	u64 p = (uintptr_t)hva, last;
	unsigned i;

	if (!guest_mem_dirty_on(m) || !len)
		return;
	last = span_last(p, len);
	for (i = 0; i < m->nr; i++)
		if (m->regions[i].hva)
			mark_span(&m->regions[i], (uintptr_t)m->regions[i].hva,
				  p, last);
}

void guest_mem_dirty_take(struct guest_mem *m, unsigned region,
			  unsigned long *out)
{
	const struct guest_region *r;
	u64 w, n;

	if (region >= m->nr || !m->regions[region].dirty)
		return;
	r = &m->regions[region];
	n = BITS_TO_LONGS(guest_region_pages(r));
	for (w = 0; w < n; w++) {
		/* A word seen 0 may be set meanwhile: it stays for next time. */
		if (__atomic_load_n(&r->dirty[w], __ATOMIC_RELAXED))
			out[w] |= __atomic_exchange_n(&r->dirty[w], 0UL,
						      __ATOMIC_ACQUIRE);
	}
}
