// SPDX-License-Identifier: GPL-2.0
/*
 * The host's NUMA nodes: their CPUs this process may use, their memory
 * and free 2 MiB pages (libnuma, sysfs). See smp/numa.h.
 */
#include <errno.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "smp/numa.h"
#include "smp/pin.h"

#define NODE_SYSFS "/sys/devices/system/node/node%u/%s"
#define HUGE_2M "hugepages/hugepages-2048kB/free_hugepages"

/* First line of a small sysfs file into buf; 0 or -errno. */
static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int r = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, len, f))
		r = -EIO;
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return r;
}

static u64 read_u64(const char *path)
{
	char buf[32];

	if (read_line(path, buf, sizeof(buf)))
		return 0;
	return strtoull(buf, NULL, 10);
}

/* One host node: its allowed CPUs, memory and free 2 MiB pages. */
static int read_node(struct numa_host_node *n, unsigned id,
		     const struct cpulist *allowed)
{
	char path[128], buf[4096];
	long long free = 0, total;
	int cpu, r;

	n->id = id;
	r = cpulist_init(&n->cpus, SMP_HOST_CPUS);
	if (r)
		return r;
	snprintf(path, sizeof(path), NODE_SYSFS, id, "cpulist");
	/* A CPU-less node has an empty cpulist, which is not an error. */
	if (!read_line(path, buf, sizeof(buf)) && *buf &&
	    !parse_cpulist(buf, &n->cpus))
		cpulist_for_each(cpu, &n->cpus)
			if (!cpulist_test(allowed, cpu))
				cpulist_clear(&n->cpus, cpu);
	total = numa_node_size64(id, &free);
	n->mem_total = total > 0 ? total : 0;
	n->mem_free = free > 0 ? free : 0;
	snprintf(path, sizeof(path), NODE_SYSFS, id, HUGE_2M);
	n->huge_free = read_u64(path);
	return 0;
}

/* No NUMA support in the host kernel: one node 0 with everything. */
static int read_flat(struct numa_host *h, const struct cpulist *allowed)
{
	struct numa_host_node *n;
	struct sysinfo si;
	int cpu;

	h->nodes = calloc(1, sizeof(*h->nodes));
	if (!h->nodes || cpulist_init(&h->nodes[0].cpus, SMP_HOST_CPUS))
		return -ENOMEM;
	h->nr = 1;
	n = &h->nodes[0];
	cpulist_for_each(cpu, allowed)
		cpulist_set(&n->cpus, cpu);
	if (!sysinfo(&si)) {
		n->mem_total = (u64)si.totalram * si.mem_unit;
		n->mem_free = (u64)si.freeram * si.mem_unit;
	}
	n->huge_free = h->huge_free;
	return 0;
}

int numa_host_read(struct numa_host *h)
{
	struct cpulist allowed = { 0 };
	int max, id, r;

	memset(h, 0, sizeof(*h));
	r = smp_pin_allowed(&allowed);
	if (r)
		return r;
	h->huge_free = read_u64("/sys/kernel/mm/" HUGE_2M);
	if (numa_available() < 0) {
		r = read_flat(h, &allowed);
		goto out;
	}
	max = numa_max_node();
	h->nodes = calloc(max + 1, sizeof(*h->nodes));
	if (!h->nodes) {
		r = -ENOMEM;
		goto out;
	}
	for (id = 0; id <= max && !r; id++) {
		if (!numa_bitmask_isbitset(numa_nodes_ptr, id))
			continue;
		r = read_node(&h->nodes[h->nr++], id, &allowed);
	}
out:
	cpulist_free(&allowed);
	if (r)
		numa_host_free(h);
	return r;
}

static struct numa_host startup_host;
static bool startup_read;

const struct numa_host *numa_host_startup(int *err)
{
	int r;

	if (!startup_read) {
		r = numa_host_read(&startup_host);
		if (r) {
			*err = r;
			return NULL;
		}
		startup_read = true;
	}
	*err = 0;
	return &startup_host;
}

void numa_host_release(void)
{
	if (startup_read)
		numa_host_free(&startup_host);
	startup_read = false;
}

void numa_host_free(struct numa_host *h)
{
	unsigned i;

	for (i = 0; i < h->nr; i++)
		cpulist_free(&h->nodes[i].cpus);
	free(h->nodes);
	h->nodes = NULL;
	h->nr = 0;
}

const struct numa_host_node *numa_host_node(const struct numa_host *h,
					    unsigned id)
{
	unsigned i;

	for (i = 0; i < h->nr; i++)
		if (h->nodes[i].id == id)
			return &h->nodes[i];
	return NULL;
}
