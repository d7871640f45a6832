/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host's NUMA nodes, read once at start-up (numa_host_startup) and
 * passed down: which exist, their CPUs this
 * process may use, their memory and free 2 MiB hugetlbfs pages. Without
 * NUMA support in the host kernel, one node 0 with everything.
 */
#ifndef SMPVISOR_SMP_NUMA_H
#define SMPVISOR_SMP_NUMA_H

#include "lib/parse.h"
#include "lib/util.h"

struct numa_host_node {
	unsigned id;		/* host node number */
	struct cpulist cpus;	/* its CPUs that this process may use */
	u64 mem_total, mem_free;
	u64 huge_free;		/* free 2 MiB hugetlbfs pages */
};

struct numa_host {
	struct numa_host_node *nodes;	/* sorted by id */
	unsigned nr;
	u64 huge_free;			/* free 2 MiB pages, all nodes */
};

/* Read the host (libnuma, sysfs); without NUMA support one node 0. */
int numa_host_read(struct numa_host *h);
void numa_host_free(struct numa_host *h);
/*
 * The host as read once per process, at start-up: the first call reads it
 * (numa_host_read), later ones return that same copy, so planning,
 * checking, page choice and I/O thread placement all see one topology.
 * NULL with *err = -errno when reading fails (a later call tries again).
 * numa_host_release frees it (at exit).
 */
const struct numa_host *numa_host_startup(int *err);
void numa_host_release(void);
/* The node with that id, or NULL. */
const struct numa_host_node *numa_host_node(const struct numa_host *h,
					    unsigned id);

#endif
