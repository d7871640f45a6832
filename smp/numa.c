// SPDX-License-Identifier: GPL-2.0
/*
 * Host NUMA placement: reading the host's nodes, the "auto" plan, the
 * start-up checks of configured bindings and the mbind(2) of guest RAM.
 * See numa.h. Guest memory is mapped untouched, so binding it before the
 * first fault decides where every page lands.
 */
#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "acpi.h"
#include "numa_place.h"
#include "pin.h"

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
	r = cpulist_init(&n->cpus, CONFIG_HOST_CPUS);
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
	if (!h->nodes || cpulist_init(&h->nodes[0].cpus, CONFIG_HOST_CPUS))
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
	struct numa_host h;
	int r;

	r = numa_host_read(&h);
	if (r) {
		pr_err("cannot read the host NUMA topology: %s", strerror(-r));
		return r;
	}
	r = numa_plan(c, &h);
	numa_host_free(&h);
	return r;
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
