// SPDX-License-Identifier: GPL-2.0
/*
 * Host NUMA placement of a guest: the "auto" plan, the start-up checks of
 * configured bindings and the mbind(2) of guest RAM, on the host nodes
 * smp/numa.c reads. See numa_place.h. Guest memory is mapped untouched,
 * so binding it before the first fault decides where every page lands.
 */
#include <errno.h>
#include <sched.h>
#include <numa.h>
#include <numaif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smp/pin.h"
#include "vmm/acpi.h"
#include "vmm/numa_place.h"

static bool node_usable(const struct numa_host_node *n)
{
	return cpulist_count(&n->cpus) && n->mem_total;
}

/*
 * How many usable host nodes the auto plan takes: the fewest (in id
 * order) whose CPUs hold every vCPU and whose memory holds the guest,
 * all usable ones if none do. Each gets at least one vCPU.
 */
static unsigned plan_nr_nodes(const struct config *c, const struct numa_host *h)
{
	unsigned i, k = 0, cpus = 0;
	u64 mem = 0;

	for (i = 0; i < h->nr && k < c->nr_cpus; i++) {
		if (!node_usable(&h->nodes[i]))
			continue;
		k++;
		cpus += cpulist_count(&h->nodes[i].cpus);
		mem += h->nodes[i].mem_total;
		if (cpus >= c->nr_cpus && mem >= c->mem_size)
			break;
	}
	return k;
}

/* Make k guest nodes on the first k usable host nodes. */
static int plan_nodes(struct config *c, const struct numa_host *h, unsigned k)
{
	u64 align = c->mem_hugepages ? 2 * MiB : 4 * KiB;
	u64 share = c->mem_size / k / align * align;
	unsigned i, j = 0, v;

	if (!share) {
		pr_err("\"numa\": auto: %llu MiB is too little to split over %u nodes",
		       (unsigned long long)(c->mem_size / MiB), k);
		return -EINVAL;
	}
	c->nodes = calloc(k, sizeof(*c->nodes));
	if (!c->nodes)
		return -ENOMEM;
	for (i = 0; i < k; i++, j++) {
		struct config_node *n = &c->nodes[i];

		while (!node_usable(&h->nodes[j]))
			j++;
		if (cpulist_init(&n->cpus, CONFIG_MAX_VCPU_IDS) ||
		    cpulist_init(&n->host_nodes, CONFIG_HOST_NODES)) {
			cpulist_free(&n->cpus);
			return -ENOMEM;
		}
		c->nr_nodes++;
		for (v = (u64)i * c->nr_cpus / k;
		     v < (u64)(i + 1) * c->nr_cpus / k; v++)
			cpulist_set(&n->cpus, v);
		cpulist_set(&n->host_nodes, h->nodes[j].id);
		n->policy = CONFIG_POLICY_BIND;
		n->mem_size = i + 1 < k ? share : c->mem_size - share * (k - 1);
	}
	if (!c->sockets && c->nr_cpus % k == 0 &&
	    (!c->cores || c->cores * k * (c->threads ? c->threads : 1) ==
			  c->nr_cpus))
		c->sockets = k;
	return 0;
}

/* "cpus.pin": auto: each node's vCPUs on its host nodes' CPUs. */
static int plan_pins(struct config *c, const struct numa_host *h)
{
	unsigned i;
	int id, cpu;

	c->pins = calloc(c->nr_nodes, sizeof(*c->pins));
	if (!c->pins)
		return -ENOMEM;
	for (i = 0; i < c->nr_nodes; i++) {
		struct config_node *n = &c->nodes[i];
		struct config_pin *p = &c->pins[i];

		if (!cpulist_count(&n->host_nodes)) {
			pr_err("\"cpus.pin\": auto needs host_nodes in numa[%u]", i);
			return -EINVAL;
		}
		if (cpulist_init(&p->vcpus, CONFIG_MAX_VCPU_IDS) ||
		    cpulist_init(&p->host, CONFIG_HOST_CPUS)) {
			cpulist_free(&p->vcpus);
			return -ENOMEM;
		}
		c->nr_pins++;
		cpulist_for_each(cpu, &n->cpus)
			cpulist_set(&p->vcpus, cpu);
		cpulist_for_each(id, &n->host_nodes) {
			const struct numa_host_node *hn = numa_host_node(h, id);

			if (hn)
				cpulist_for_each(cpu, &hn->cpus)
					cpulist_set(&p->host, cpu);
		}
		if (!cpulist_count(&p->host)) {
			pr_err("\"cpus.pin\": auto: the host nodes of numa[%u] have no CPUs this process may use",
			       i);
			return -EINVAL;
		}
	}
	return 0;
}

/* One line per guest node on stderr (unless -q): the plan chosen. */
static void print_plan(const struct config *c)
{
	unsigned i;

	for (i = 0; i < c->nr_nodes && log_level >= LOG_WARN; i++) {
		const struct config_node *n = &c->nodes[i];
		char *v = cpulist_format(&n->cpus);
		char *hn = cpulist_format(&n->host_nodes);
		char *pin = c->pin_auto && i < c->nr_pins ?
			    cpulist_format(&c->pins[i].host) : NULL;

		fprintf(stderr, "smpvisor: auto: guest node %u: vCPUs %s, %llu MiB on host node %s (bind)%s%s\n",
			i, v ? v : "?", (unsigned long long)(n->mem_size / MiB),
			hn ? hn : "?", pin ? ", vCPUs pinned to host CPUs " : "",
			pin ? pin : "");
		free(v);
		free(hn);
		free(pin);
	}
}

int numa_plan(struct config *c, const struct numa_host *h)
{
	unsigned k;
	int r;

	if (c->numa_auto) {
		k = plan_nr_nodes(c, h);
		if (!k) {
			pr_err("\"numa\": auto: the host has no node with CPUs this process may use and memory");
			return -EINVAL;
		}
		r = plan_nodes(c, h, k);
		if (r)
			return r;
		c->mem_size_given = true;
		if (!c->nr_pins)
			c->pin_auto = true;
	}
	if (c->pin_auto) {
		if (!c->nr_nodes) {
			pr_err("\"cpus.pin\": auto needs \"numa\" (a list of nodes with host_nodes, or \"auto\")");
			return -EINVAL;
		}
		r = plan_pins(c, h);
		if (r)
			return r;
	}
	print_plan(c);
	/* Planned once: a second config_validate keeps this plan. */
	c->numa_auto = c->pin_auto = false;
	return 0;
}

int numa_plan_auto(struct config *c)
{
	const struct numa_host *h;
	int r;

	h = numa_host_startup(&r);
	if (!h) {
		pr_err("cannot read the host NUMA topology: %s", strerror(-r));
		return r;
	}
	return numa_plan(c, h);
}

/* "0-1" for a node list, in a static buffer: for messages only. */
static const char *fmt_nodes(const struct cpulist *cl, char *buf, size_t len)
{
	char *s = cpulist_format(cl);

	snprintf(buf, len, "%s", s ? s : "?");
	free(s);
	return buf;
}

/* Guest node i's host nodes exist; add its share to each one's demand. */
static int check_node(const struct config *c, unsigned i,
		      const struct numa_host *h, u64 *demand)
{
	const struct config_node *n = &c->nodes[i];
	unsigned cnt = cpulist_count(&n->host_nodes), k;
	int id;

	cpulist_for_each(id, &n->host_nodes) {
		const struct numa_host_node *hn = numa_host_node(h, id);
		u64 have;

		if (!hn) {
			pr_err("\"numa[%u].host_nodes\": host node %d does not exist (this host has %u node%s)",
			       i, id, h->nr, h->nr == 1 ? "" : "s");
			return -EINVAL;
		}
		if (n->policy != CONFIG_POLICY_BIND)
			continue;
		k = hn - h->nodes;
		demand[k] += n->mem_size / cnt;
		have = c->mem_prefault ? hn->mem_free : hn->mem_total;
		if (demand[k] > have) {
			pr_err("\"numa[%u].memory\": host node %d has too little memory for it (%llu MiB %s, guest nodes bound there need %llu MiB)",
			       i, id, (unsigned long long)(have / MiB),
			       c->mem_prefault ? "free" : "in total",
			       (unsigned long long)(demand[k] / MiB));
			return -EINVAL;
		}
	}
	return 0;
}

int numa_check_host(const struct config *c, const struct numa_host *h)
{
	u64 *demand;
	unsigned i;
	int r = 0;

	if (!c->nr_nodes)
		return 0;
	demand = calloc(h->nr + 1, sizeof(*demand));
	if (!demand)
		return -ENOMEM;
	for (i = 0; i < c->nr_nodes && !r; i++)
		r = check_node(c, i, h, demand);
	free(demand);
	return r;
}

/* Free 2 MiB hugetlbfs pages where guest node gnode's memory may go. */
static u64 huge_free_for(const struct config *c, int gnode,
			 const struct numa_host *h)
{
	const struct cpulist *hn;
	u64 sum = 0;
	int id;

	if (!c->nr_nodes || !cpulist_count(&c->nodes[gnode].host_nodes))
		return h->huge_free;
	hn = &c->nodes[gnode].host_nodes;
	cpulist_for_each(id, hn) {
		const struct numa_host_node *n = numa_host_node(h, id);

		if (n)
			sum += n->huge_free;
	}
	return sum;
}

void numa_mem_choose_pages(struct guest_mem *m, const struct config *c,
			   const struct numa_host *h)
{
	u64 used[GUEST_MEM_MAX_NODES] = { 0 };
	char buf[256];
	unsigned i;

	if (!c->mem_hugepages)
		return;
	for (i = 0; i < m->nr; i++) {
		struct guest_region *r = &m->regions[i];
		u64 need = r->size / (2 * MiB), have;

		have = huge_free_for(c, r->node, h);
		if (used[r->node] + need <= have) {
			used[r->node] += need;
			r->flags |= GUEST_REGION_HUGETLB;
			continue;
		}
		r->flags |= GUEST_REGION_THP;
		pr_warn("memory.hugepages: %llu free 2 MiB hugetlbfs pages%s%s, guest node %d needs %llu more: using transparent huge pages (MADV_HUGEPAGE) for its %llu MiB at 0x%llx",
			(unsigned long long)(have - MIN(have, used[r->node])),
			c->nr_nodes && cpulist_count(&c->nodes[r->node].host_nodes) ?
			" on host node " : "",
			c->nr_nodes && cpulist_count(&c->nodes[r->node].host_nodes) ?
			fmt_nodes(&c->nodes[r->node].host_nodes, buf, sizeof(buf)) : "",
			r->node, (unsigned long long)need,
			(unsigned long long)(r->size / MiB),
			(unsigned long long)r->gpa);
	}
}

static int mpol_mode(enum config_policy p)
{
	switch (p) {
	case CONFIG_POLICY_PREFERRED:
		return MPOL_PREFERRED;
	case CONFIG_POLICY_INTERLEAVE:
		return MPOL_INTERLEAVE;
	case CONFIG_POLICY_BIND:
		break;
	}
	return MPOL_BIND;
}

static const char *const policy_names[] = {
	[CONFIG_POLICY_BIND] = "bind",
	[CONFIG_POLICY_PREFERRED] = "preferred",
	[CONFIG_POLICY_INTERLEAVE] = "interleave",
};

int numa_mem_bind(struct guest_mem *m, const struct config *c)
{
	unsigned long mask[CONFIG_HOST_NODES / (8 * sizeof(long))];
	char buf[256];
	unsigned i;
	int id, err;

	for (i = 0; i < m->nr && c->nr_nodes; i++) {
		struct guest_region *r = &m->regions[i];
		const struct config_node *n = &c->nodes[r->node];
		const size_t bpl = 8 * sizeof(long);

		if (!cpulist_count(&n->host_nodes))
			continue;
		memset(mask, 0, sizeof(mask));
		cpulist_for_each(id, &n->host_nodes)
			mask[id / bpl] |= 1UL << (id % bpl);
		/* maxnode counts one bit more than the kernel reads. */
		if (mbind(r->hva, r->size, mpol_mode(n->policy), mask,
			  CONFIG_HOST_NODES + 1, 0) < 0) {
			err = -errno;
			pr_err("numa[%d]: cannot bind %llu MiB to host node %s (%s): %s",
			       r->node, (unsigned long long)(r->size / MiB),
			       fmt_nodes(&n->host_nodes, buf, sizeof(buf)),
			       policy_names[n->policy], strerror(-err));
			return err;
		}
		pr_info("guest node %d: %llu MiB at 0x%llx on host node %s (%s)",
			r->node, (unsigned long long)(r->size / MiB),
			(unsigned long long)r->gpa,
			fmt_nodes(&n->host_nodes, buf, sizeof(buf)),
			policy_names[n->policy]);
	}
	return 0;
}

/* The host CPUs of the nodes in nodes (those this process may use). */
static int node_cpus(const struct numa_host *h, const struct cpulist *nodes,
		     struct cpulist *out)
{
	unsigned i;
	int cpu;

	if (cpulist_init(out, CONFIG_HOST_CPUS))
		return -ENOMEM;
	for (i = 0; h && i < h->nr; i++)
		if (cpulist_test(nodes, h->nodes[i].id))
			cpulist_for_each(cpu, &h->nodes[i].cpus)
				cpulist_set(out, (unsigned)cpu);
	return 0;
}

/*
 * memory.prefault with threads: memory.prefault_threads of them (no more
 * than the CPUs this process may use), or (0, the default) one per such
 * CPU, at most 16; each bound region populated from the CPUs of its host
 * nodes.
 */
int numa_mem_prefault(struct guest_mem *m, const struct config *c,
		      const struct numa_host *h)
{
	struct cpulist cpus[GUEST_MEM_MAX_REGIONS] = { 0 };
	const struct cpulist *on[GUEST_MEM_MAX_REGIONS] = { 0 };
	unsigned i, threads = c->mem_prefault_threads;
	cpu_set_t mine;
	int r = 0;

	/* More threads than CPUs to run them only take turns. */
	if (!sched_getaffinity(0, sizeof(mine), &mine))
		threads = threads ? MIN(threads, (unsigned)CPU_COUNT(&mine)) :
			  (unsigned)MIN(CPU_COUNT(&mine), 16);
	threads = MAX(threads, 1u);
	for (i = 0; !r && i < m->nr && c->nr_nodes; i++) {
		const struct config_node *n = &c->nodes[m->regions[i].node];

		if (!cpulist_count(&n->host_nodes))
			continue;
		r = node_cpus(h, &n->host_nodes, &cpus[i]);
		if (!r && cpulist_count(&cpus[i]))
			on[i] = &cpus[i];
	}
	if (!r)
		r = guest_mem_prefault(m, threads, on);
	for (i = 0; i < m->nr; i++)
		cpulist_free(&cpus[i]);
	return r;
}

/* Add the host node of every CPU in cpus to out. */
static void add_cpu_nodes(const struct cpulist *cpus, struct cpulist *out)
{
	int cpu, node;

	cpulist_for_each(cpu, cpus) {
		node = numa_available() < 0 ? 0 : numa_node_of_cpu(cpu);
		if (node >= 0)
			cpulist_set(out, node);
	}
}

int numa_host_nodes_used(const struct config *c, struct cpulist *out)
{
	struct cpulist allowed = { 0 };
	unsigned i;
	int id, r;

	r = cpulist_init(out, CONFIG_HOST_NODES);
	if (r)
		return r;
	for (i = 0; i < c->nr_nodes; i++)
		cpulist_for_each(id, &c->nodes[i].host_nodes)
			cpulist_set(out, id);
	for (i = 0; c->vcpu_pin && i < c->nr_vcpu_pin; i++)
		if (c->vcpu_pin[i].bits)
			add_cpu_nodes(&c->vcpu_pin[i], out);
	if (cpulist_count(out))
		return 0;
	r = smp_pin_allowed(&allowed);
	if (!r)
		add_cpu_nodes(&allowed, out);
	cpulist_free(&allowed);
	return r;
}

u8 *numa_slit(const struct config *c)
{
	unsigned n = c->nr_nodes, i, j;
	u8 *d;

	if (!n)
		return NULL;
	d = malloc((size_t)n * n);
	if (!d)
		return NULL;
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			d[i * n + j] = c->nodes[i].nr_distances ?
				c->nodes[i].distances[j] :
				i == j ? ACPI_SLIT_LOCAL : ACPI_SLIT_REMOTE;
	return d;
}
