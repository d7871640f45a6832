/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest CPU topology: how vCPU indexes map to sockets, cores and SMT threads
 * and to APIC IDs. APIC IDs are packed the way real x86 parts pack them:
 * each level gets a power-of-two wide bit field, so the IDs of a topology
 * with 3 cores per socket have holes (core field 2 bits wide, value 3 unused).
 *
 * vCPU index i is thread i % threads of core (i / threads) % cores of
 * socket i / (threads * cores), and its APIC ID is
 *	socket << (smt_bits + core_bits) | core << smt_bits | thread.
 * IDs therefore grow with the index.
 */
#ifndef SMPVISOR_TOPOLOGY_H
#define SMPVISOR_TOPOLOGY_H

#include "lib/util.h"

struct smp_topo {
	unsigned int nr_cpus;
	unsigned int sockets, cores, threads;	/* cores per socket, threads per core */
	unsigned int smt_bits;		/* ceil(log2(threads)) */
	unsigned int core_bits;		/* ceil(log2(cores)) */
};

/* Where one vCPU sits; idx is its vCPU index. */
struct smp_topo_pos {
	unsigned int socket, core, thread;
	unsigned int idx;
};

/*
 * Check sockets * cores * threads == nr_cpus (all at least 1) and that the
 * APIC IDs fit in 32 bits, then fill t. -EINVAL with a message otherwise.
 */
int smp_topo_init(struct smp_topo *t, unsigned int nr_cpus,
		  unsigned int sockets, unsigned int cores, unsigned int threads);

/* APIC ID of vCPU idx (idx < t->nr_cpus). */
u32 smp_topo_apic_id(const struct smp_topo *t, unsigned int idx);

/* Socket, core and thread of vCPU idx (idx < t->nr_cpus). */
void smp_topo_pos(const struct smp_topo *t, unsigned int idx,
		  struct smp_topo_pos *pos);

/*
 * The reverse of smp_topo_apic_id: split an APIC ID into its fields.
 * -EINVAL when no vCPU has that ID (a hole in a field, or past the end).
 */
int smp_topo_decode(const struct smp_topo *t, u32 apic_id,
		    struct smp_topo_pos *pos);

/* Bits below the socket field: log2 of APIC IDs reserved per package. */
static inline unsigned int smp_topo_pkg_bits(const struct smp_topo *t)
{
	return t->smt_bits + t->core_bits;
}

/* True when some of the first nr_cpus vCPUs has an APIC ID >= 255. */
bool smp_topo_needs_x2apic(const struct smp_topo *t, unsigned int nr_cpus);

#endif
