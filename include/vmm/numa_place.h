/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host NUMA placement of a guest, on the host nodes smp/numa.h reads:
 * the "auto" plan that maps guest nodes and vCPUs onto them (numa_plan),
 * the start-up checks of a configured placement (numa_check_host), and
 * the binding of each guest node's RAM to its host nodes with mbind(2)
 * before the first touch (numa_mem_bind).
 *
 * The planning and checking functions take the host as a struct numa_host
 * so they can be tested against made-up hosts.
 */
#ifndef SMPVISOR_NUMA_PLACE_H
#define SMPVISOR_NUMA_PLACE_H

#include "lib/parse.h"
#include "smp/numa.h"
#include "vmm/config.h"
#include "vmm/memory.h"

/*
 * "numa": "auto" and "cpus.pin": "auto" on host h. numa auto: use as few
 * host nodes (with usable CPUs and memory) as hold the vCPUs, at least
 * one, make one guest node per host node with an equal share of vCPUs
 * (in index order) and memory, bound there; and when the topology leaves
 * sockets open, one socket per node. pin auto (implied by numa auto when
 * no pins are given): each vCPU may run on the CPUs of its node's host
 * nodes. Prints the plan. Runs before the topology is completed, so
 * c->sockets may still be 0. 0 or -EINVAL with a message.
 */
int numa_plan(struct config *c, const struct numa_host *h);
/* numa_plan on this host, as read at start-up (numa_host_startup). */
int numa_plan_auto(struct config *c);

/*
 * Every host node named exists and the guest nodes bound to it fit in its
 * memory (in its free memory with prefault). 0 or -EINVAL with a message.
 */
int numa_check_host(const struct config *c, const struct numa_host *h);

/*
 * Choose each region's page kind before mapping: with memory.hugepages,
 * hugetlbfs 2 MiB pages where the host nodes the region is bound to (or
 * the host, unbound) have enough free ones, else THP with a warning.
 */
void numa_mem_choose_pages(struct guest_mem *m, const struct config *c,
			   const struct numa_host *h);

/*
 * Apply each guest node's policy to its mapped but untouched regions. 0
 * or -errno with a message.
 */
int numa_mem_bind(struct guest_mem *m, const struct config *c);
/*
 * memory.prefault: populate guest RAM with memory.prefault_threads
 * threads (0: one per usable CPU, at most 16), each bound region from
 * its host nodes' CPUs. 0 or -errno (said why).
 */
int numa_mem_prefault(struct guest_mem *m, const struct config *c,
		      const struct numa_host *h);

/*
 * The host nodes a validated config places the guest on: the host_nodes
 * of its guest nodes and the nodes of the CPUs its vCPUs are pinned to;
 * if that is empty, the nodes of every CPU this process may use. out must
 * be empty; it is sized CONFIG_HOST_NODES. For defaults such as "one I/O
 * thread per host node used". 0 or -errno.
 */
int numa_host_nodes_used(const struct config *c, struct cpulist *out);

/*
 * The SLIT of a validated config: nr_nodes x nr_nodes distances, row i
 * from numa[i].distances or 10 local / 20 remote. malloc'ed (free it);
 * NULL without nodes or memory.
 */
u8 *numa_slit(const struct config *c);

#endif
