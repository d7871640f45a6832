/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest physical memory: which guest-physical ranges are RAM, which NUMA
 * node each belongs to, and where each is mapped in our address space.
 *
 * RAM fills [0, MMIO_HOLE_START) first and continues at HIGH_RAM_START
 * above the 32-bit hole, so a 4 GiB guest has 3 GiB low and 1 GiB high.
 * With several guest nodes, node 0 gets the lowest addresses, node 1 the
 * next ones and so on; the node that straddles the hole gets two regions.
 * Regions are sorted by gpa and never overlap.
 *
 * Computing the layout (guest_mem_layout*) and mapping it (guest_mem_alloc)
 * are separate steps, so the layout can be checked without allocating and
 * the NUMA code can bind each region's memory to a host node in between.
 */
#ifndef SMPVISOR_MEMORY_H
#define SMPVISOR_MEMORY_H

#include "lib/util.h"

#define GUEST_PAGE_SIZE		4096ULL
#define GUEST_MEM_MIN		(16 * MiB)
/* Highest guest-physical address + 1: Linux's 4-level limit (46 bits). */
#define GUEST_PHYS_LIMIT	(1ULL << 46)
#define GUEST_MEM_MAX_NODES	64
/* Each node is contiguous except the one split by the hole. */
#define GUEST_MEM_MAX_REGIONS	(GUEST_MEM_MAX_NODES + 1)

/* How a region is backed (guest_region.flags); 4 KiB pages without. */
#define GUEST_REGION_HUGETLB	(1U << 0)	/* hugetlbfs 2 MiB pages */
#define GUEST_REGION_THP	(1U << 1)	/* THP via MADV_HUGEPAGE */
/*
 * Shareable with another process (a vhost-user back end): backed by a
 * memfd of its own, mapped MAP_SHARED; fd is valid once mapped.
 */
#define GUEST_REGION_SHARED	(1U << 2)

struct guest_region {
	u64 gpa;
	u64 size;
	void *hva;		/* NULL until guest_mem_alloc */
	int node;		/* guest NUMA node, 0 without NUMA */
	unsigned flags;		/* GUEST_REGION_*, set before guest_mem_alloc */
	int fd;			/* the memfd, with GUEST_REGION_SHARED only */
	/*
	 * The VMM's dirty log: one bit per 4 KiB page of the region, set by
	 * guest_mem_mark_dirty*. NULL until guest_mem_dirty_start, then
	 * kept (cleared, not freed, by the next start) until guest_mem_free.
	 */
	unsigned long *dirty;
};

struct guest_mem {
	struct guest_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned nr;		/* regions in use, sorted by gpa */
	unsigned nr_nodes;
	u64 size;		/* RAM in bytes, all regions together */
	bool dirty_on;		/* dirty logging: atomic, see guest_mem_dirty_on */
};

/*
 * Lay out size bytes of RAM as one node. size must be page aligned, at
 * least GUEST_MEM_MIN and end below GUEST_PHYS_LIMIT. 0 or -EINVAL.
 */
int guest_mem_layout(struct guest_mem *m, u64 size);
/*
 * Lay out nr_nodes nodes of node_size[i] bytes each, in node order from
 * address 0. Each size must be a non-zero multiple of the page size; the
 * total obeys the guest_mem_layout rules. 0 or -EINVAL.
 */
int guest_mem_layout_nodes(struct guest_mem *m, const u64 *node_size,
			   unsigned nr_nodes);
/*
 * Map every region: anonymous, private, no swap reservation, zero-filled,
 * untouched. A GUEST_REGION_HUGETLB region is mapped with 2 MiB hugetlbfs
 * pages (reserved now); if the pool cannot back it, it falls back to THP
 * with a warning. A GUEST_REGION_THP region gets MADV_HUGEPAGE. A
 * GUEST_REGION_SHARED region is a memfd (hugetlb memfd for the hugetlbfs
 * case) mapped MAP_SHARED, still untouched, so mbind before the first
 * touch places it as before. On failure nothing stays mapped. 0 or -errno.
 */
int guest_mem_alloc(struct guest_mem *m);
/*
 * Guest RAM is mapped MAP_NORESERVE, so nothing stops a guest larger than
 * the host from starting and the host from running out of memory later.
 * -ENOMEM with a one-line error when size is more than the host's RAM
 * and swap together, unless overcommit (the config's memory.overcommit)
 * says that is intended.
 */
int guest_mem_check_host(u64 size, bool overcommit);
/*
 * Populate every mapped region now (write faults, so pages land where
 * the region's memory policy says), instead of on the guest's first touch,
 * with up to `threads` threads working through 256 MiB chunks. A thread
 * populating region i runs on region_cpus[i] when that is given (the CPUs
 * of the host nodes the region is bound to: the zeroing is then local),
 * anywhere otherwise (region_cpus NULL, or its entry NULL). 0 or -errno
 * with a message.
 */
struct cpulist;
int guest_mem_prefault(struct guest_mem *m, unsigned threads,
		       const struct cpulist *const *region_cpus);
/* Mark every region GUEST_REGION_SHARED (between layout and alloc). */
void guest_mem_set_shared(struct guest_mem *m);
/* Unmap what guest_mem_alloc mapped; safe to call twice or on a bare layout. */
void guest_mem_free(struct guest_mem *m);
/*
 * Host pointer for [gpa, gpa + len), or NULL unless the whole range lies in
 * one mapped region. Safe for any gpa and len (the guest chooses them): no
 * arithmetic can wrap. len 0 asks only whether gpa itself is mapped.
 */
void *gpa_to_hva(const struct guest_mem *m, u64 gpa, u64 len);
/* The region holding gpa, or NULL. */
const struct guest_region *guest_mem_find(const struct guest_mem *m, u64 gpa);
/* End of the RAM below the hole (the first region always starts at 0). */
u64 guest_mem_low_end(const struct guest_mem *m);
/* End of the highest region: the guest's physical address limit for RAM. */
u64 guest_mem_end(const struct guest_mem *m);

/*
 * The VMM's own dirty log, for live migration. KVM's dirty log sees only
 * what the vCPUs write; what our devices write into guest memory (virtio
 * buffers and used rings, filled by I/O threads and io_uring) is marked
 * here, by the code that wrote it, after the write.
 *
 * Lifetime: the bitmaps are allocated by the first guest_mem_dirty_start
 * and stay until guest_mem_free. guest_mem_dirty_stop only turns the
 * flag off: a marker on another thread may have seen the flag on a moment
 * before, and must never find its bitmap freed under it (no RCU here, and
 * none needed: 32 KiB per GiB of RAM, allocated only when migrating). A
 * restart clears them; bits a late marker sets after that are extra work
 * for the migration, never a lost page.
 *
 * Ordering: a marker's atomic OR is a release, the take's exchange an
 * acquire, so the thread that took a bit sees the data written before it
 * was set; a bit set after the take shows in the next take.
 */
#ifndef BITS_PER_LONG
#define BITS_PER_LONG		(8 * sizeof(long))
#endif
#ifndef BITS_TO_LONGS
#define BITS_TO_LONGS(n)	(((n) + BITS_PER_LONG - 1) / BITS_PER_LONG)
#endif

/* Pages (bits) in region r's dirty bitmap. */
static inline u64 guest_region_pages(const struct guest_region *r)
{
	return r->size / GUEST_PAGE_SIZE;
}

/* Is dirty logging on? One acquire load: the hot path's only cost when off. */
static inline bool guest_mem_dirty_on(const struct guest_mem *m)
{
	return __atomic_load_n(&m->dirty_on, __ATOMIC_ACQUIRE);
}

/*
 * Allocate (first time) or clear every region's bitmap, then turn logging
 * on. Not concurrent with itself, stop, take or free (the migration
 * thread's). 0, or -ENOMEM with logging left off.
 */
int guest_mem_dirty_start(struct guest_mem *m);
/* Turn logging off; the bitmaps stay until guest_mem_free (see above). */
void guest_mem_dirty_stop(struct guest_mem *m);
/*
 * Mark the pages [gpa, gpa + len) touches, where they are RAM; any thread,
 * lock-free. Any gpa and len: bytes outside RAM are ignored, no arithmetic
 * wraps. Nothing when logging is off or len is 0.
 */
void guest_mem_mark_dirty(const struct guest_mem *m, u64 gpa, u64 len);
/* The same for a range of our mapping of guest RAM (what iovecs hold). */
void guest_mem_mark_dirty_hva(const struct guest_mem *m, const void *hva,
			      u64 len);
/*
 * Move region's dirty bits into out: each bitmap word is exchanged with 0
 * and ORed into out[], which has BITS_TO_LONGS(guest_region_pages())
 * words. Nothing for a region that does not exist or was never logged.
 */
void guest_mem_dirty_take(struct guest_mem *m, unsigned region,
			  unsigned long *out);

#endif
