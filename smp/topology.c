// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU index <-> (socket, core, thread) <-> APIC ID. The field widths are
 * the power-of-two widths hardware uses, so the guest can recover the
 * topology from CPUID alone (see smp/cpuid.c, which reports these widths).
 */
#include <errno.h>

#include "smp/topology.h"

/* Bits needed to number n things: ceil(log2(n)), 0 for n <= 1. */
static unsigned int order(unsigned int n)
{
	unsigned int b = 0;

	while (b < 32 && (1ULL << b) < n)
		b++;
	return b;
}

int smp_topo_init(struct smp_topo *t, unsigned int nr_cpus,
		  unsigned int sockets, unsigned int cores, unsigned int threads)
{
	u64 total = (u64)sockets * cores;	/* < 2^64: two 32-bit factors */
	unsigned int bits;

	if (!nr_cpus || !sockets || !cores || !threads) {
		pr_err("topology: %u vCPUs as %u sockets x %u cores x %u threads: every count must be at least 1",
		       nr_cpus, sockets, cores, threads);
		return -EINVAL;
	}
	if (total > nr_cpus || total * threads != nr_cpus) {
		pr_err("topology: %u sockets x %u cores x %u threads is not %u vCPUs",
		       sockets, cores, threads, nr_cpus);
		return -EINVAL;
	}
	/*
	 * At most 32 bits. The all-ones x2APIC broadcast ID cannot occur: it
	 * needs power-of-two counts filling 32 bits, i.e. 2^32 vCPUs.
	 */
	bits = order(threads) + order(cores) + order(sockets);
	if (bits > 32) {
		pr_err("topology: %u sockets x %u cores x %u threads needs %u-bit APIC IDs, the limit is 32",
		       sockets, cores, threads, bits);
		return -EINVAL;
	}
	t->nr_cpus = nr_cpus;
	t->sockets = sockets;
	t->cores = cores;
	t->threads = threads;
	t->smt_bits = order(threads);
	t->core_bits = order(cores);
	return 0;
}

void smp_topo_pos(const struct smp_topo *t, unsigned int idx,
		  struct smp_topo_pos *pos)
{
	pos->idx = idx;
	pos->thread = idx % t->threads;
	pos->core = idx / t->threads % t->cores;
	pos->socket = idx / t->threads / t->cores;
}

u32 smp_topo_apic_id(const struct smp_topo *t, unsigned int idx)
{
	struct smp_topo_pos p;

	smp_topo_pos(t, idx, &p);
	/* 64-bit shifts: one field may be all 32 bits wide. */
	return (u32)((u64)p.socket << smp_topo_pkg_bits(t) |
		     (u64)p.core << t->smt_bits | p.thread);
}

int smp_topo_decode(const struct smp_topo *t, u32 apic_id,
		    struct smp_topo_pos *pos)
{
	u64 id = apic_id;
	u64 thread = id & ((1ULL << t->smt_bits) - 1);
	u64 core = (id >> t->smt_bits) & ((1ULL << t->core_bits) - 1);
	u64 socket = id >> smp_topo_pkg_bits(t);

	if (thread >= t->threads || core >= t->cores || socket >= t->sockets)
		return -EINVAL;
	pos->thread = thread;
	pos->core = core;
	pos->socket = socket;
	pos->idx = (pos->socket * t->cores + pos->core) * t->threads +
		   pos->thread;
	return 0;
}

bool smp_topo_needs_x2apic(const struct smp_topo *t, unsigned int nr_cpus)
{
	/* IDs grow with the index, so the last vCPU has the largest. */
	return nr_cpus && smp_topo_apic_id(t, nr_cpus - 1) >= 0xff;
}
