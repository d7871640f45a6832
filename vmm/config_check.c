// SPDX-License-Identifier: GPL-2.0
/*
 * Configuration, third part: config_validate fills in the defaults the
 * file and the command line left open (topology, per-vCPU nodes and pins,
 * disk and net queues) and refuses what cannot run, each with one line
 * that names the option or key at fault. Also config_init and config_free.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/layout.h"
#include "lib/parse.h"
#include "vmm/config.h"
#include "vmm/config_keys.h"
#include "vmm/numa_place.h"

#define PAGE_SIZE	(4 * KiB)
#define HUGE_PAGE_SIZE	(2 * MiB)

void config_free_derived(struct config *c)
{
	unsigned i;

	if (c->vcpu_pin)
		for (i = 0; i < c->nr_vcpu_pin; i++)
			cpulist_free(&c->vcpu_pin[i]);
	free(c->vcpu_pin);
	free(c->vcpu_node);
	c->vcpu_pin = NULL;
	c->vcpu_node = NULL;
	c->nr_vcpu_pin = 0;
}

/*
 * Fill in sockets/cores/threads left at 0 and check their product: sockets
 * and threads default to 1, cores to whatever makes up the vCPU count.
 */
static int validate_topology(struct config *c)
{
	unsigned int s = c->sockets ? c->sockets : 1;
	unsigned int t = c->threads ? c->threads : 1;
	u64 st = (u64)s * t;

	if (!c->cores) {
		if (c->nr_cpus % st) {
			pr_err("--cpus %u: %u sockets x %u threads per core do not divide %u vCPUs",
			       c->nr_cpus, s, t, c->nr_cpus);
			return -EINVAL;
		}
		c->cores = c->nr_cpus / st;
	}
	/* st <= nr_cpus keeps the product within 64 bits. */
	if (st > c->nr_cpus || st * c->cores != c->nr_cpus) {
		pr_err("--cpus %u: sockets=%u x cores=%u x threads=%u does not make %u vCPUs",
		       c->nr_cpus, s, c->cores, t, c->nr_cpus);
		return -EINVAL;
	}
	c->sockets = s;
	c->threads = t;
	return 0;
}

static int validate_memory(const struct config *c)
{
	u64 align = c->mem_hugepages ? HUGE_PAGE_SIZE : PAGE_SIZE;

	if (!c->mem_size) {
		pr_err("--memory 0: the guest needs some RAM");
		return -EINVAL;
	}
	if (c->mem_size % align) {
		pr_err("--memory %llu: not a multiple of %s",
		       (unsigned long long)c->mem_size,
		       c->mem_hugepages ? "2 MiB (huge pages are on)" : "4 KiB");
		return -EINVAL;
	}
	return 0;
}

/* Copy src's members into dst, sized like src. */
static int cpulist_copy(struct cpulist *dst, const struct cpulist *src)
{
	int cpu, ret;

	ret = cpulist_init(dst, src->nbits);
	if (ret)
		return ret;
	cpulist_for_each(cpu, src)
		cpulist_set(dst, cpu);
	return 0;
}

/* A node's memory size and SLIT row. */
static int validate_node(const struct config *c, unsigned i)
{
	const struct config_node *n = &c->nodes[i];
	u64 align = c->mem_hugepages ? HUGE_PAGE_SIZE : PAGE_SIZE;
	unsigned j;

	if (!n->mem_size || n->mem_size % align) {
		pr_err("\"numa[%u].memory\": %llu bytes is not a positive multiple of %s",
		       i, (unsigned long long)n->mem_size,
		       c->mem_hugepages ? "2 MiB (huge pages are on)" : "4 KiB");
		return -EINVAL;
	}
	if (n->policy == CONFIG_POLICY_PREFERRED &&
	    cpulist_count(&n->host_nodes) > 1) {
		pr_err("\"numa[%u].policy\": preferred takes a single host node, host_nodes names %u",
		       i, cpulist_count(&n->host_nodes));
		return -EINVAL;
	}
	if (!n->nr_distances)
		return 0;
	if (n->nr_distances != c->nr_nodes) {
		pr_err("\"numa[%u].distances\" has %u entries, needs one per node (%u)",
		       i, n->nr_distances, c->nr_nodes);
		return -EINVAL;
	}
	for (j = 0; j < c->nr_nodes; j++) {
		if (j == i && n->distances[j] != 10) {
			pr_err("\"numa[%u].distances[%u]\" is %u: a node's distance to itself must be 10",
			       i, j, n->distances[j]);
			return -EINVAL;
		}
		if (j != i && n->distances[j] <= 10) {
			pr_err("\"numa[%u].distances[%u]\" is %u: distances to other nodes must be above 10",
			       i, j, n->distances[j]);
			return -EINVAL;
		}
	}
	return 0;
}

/* Every vCPU in exactly one node; node memory adds up to memory.size. */
static int validate_numa(struct config *c)
{
	u64 sum = 0;
	unsigned i, v;
	int cpu;

	c->vcpu_node = calloc(c->nr_cpus, sizeof(*c->vcpu_node));
	if (!c->vcpu_node)
		return -ENOMEM;
	if (!c->nr_nodes)
		return 0;
	for (v = 0; v < c->nr_cpus; v++)
		c->vcpu_node[v] = UINT32_MAX;
	for (i = 0; i < c->nr_nodes; i++) {
		const struct config_node *n = &c->nodes[i];

		cpulist_for_each(cpu, &n->cpus) {
			if ((unsigned)cpu >= c->nr_cpus) {
				pr_err("\"numa[%u].cpus\": vCPU %d does not exist (%u vCPUs)",
				       i, cpu, c->nr_cpus);
				return -EINVAL;
			}
			if (c->vcpu_node[cpu] != UINT32_MAX) {
				pr_err("\"numa[%u].cpus\": vCPU %d is also in numa[%u]",
				       i, cpu, c->vcpu_node[cpu]);
				return -EINVAL;
			}
			c->vcpu_node[cpu] = i;
		}
		if (validate_node(c, i))
			return -EINVAL;
		sum += n->mem_size;
	}
	for (v = 0; v < c->nr_cpus; v++) {
		if (c->vcpu_node[v] == UINT32_MAX) {
			pr_err("\"numa\": vCPU %u is in no node", v);
			return -EINVAL;
		}
	}
	if (!c->mem_size_given)
		c->mem_size = sum;
	if (sum != c->mem_size) {
		pr_err("\"numa\": node memory adds up to %llu MiB, but memory.size is %llu MiB",
		       (unsigned long long)(sum / MiB),
		       (unsigned long long)(c->mem_size / MiB));
		return -EINVAL;
	}
	return 0;
}

/* Dedicated mode: every vCPU on a host CPU of its own. */
static int validate_dedicated(const struct config *c)
{
	unsigned v, w;

	for (v = 0; v < c->nr_cpus; v++) {
		const struct cpulist *p = &c->vcpu_pin[v];

		if (!p->bits || cpulist_count(p) != 1) {
			pr_err("\"cpus.dedicated\": vCPU %u is not pinned to a single host CPU (dedicated mode needs every vCPU pinned 1:1)",
			       v);
			return -EINVAL;
		}
		for (w = 0; w < v; w++) {
			if (cpulist_next(&c->vcpu_pin[w], -1) ==
			    cpulist_next(p, -1)) {
				pr_err("\"cpus.dedicated\": vCPUs %u and %u share host CPU %d (dedicated mode needs every vCPU pinned 1:1)",
				       w, v, cpulist_next(p, -1));
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* Expand "cpus.pin" into vcpu_pin[], one entry per vCPU. */
static int validate_pins(struct config *c)
{
	unsigned i;
	int cpu;

	c->vcpu_pin = calloc(c->nr_cpus, sizeof(*c->vcpu_pin));
	if (!c->vcpu_pin)
		return -ENOMEM;
	c->nr_vcpu_pin = c->nr_cpus;
	for (i = 0; i < c->nr_pins; i++) {
		const struct config_pin *p = &c->pins[i];

		cpulist_for_each(cpu, &p->vcpus) {
			if ((unsigned)cpu >= c->nr_cpus) {
				pr_err("\"cpus.pin\": vCPU %d does not exist (%u vCPUs)",
				       cpu, c->nr_cpus);
				return -EINVAL;
			}
			if (c->vcpu_pin[cpu].bits) {
				pr_err("\"cpus.pin\": vCPU %d is pinned twice", cpu);
				return -EINVAL;
			}
			if (cpulist_copy(&c->vcpu_pin[cpu], &p->host))
				return -ENOMEM;
		}
	}
	if (c->dedicated)
		return validate_dedicated(c);
	return 0;
}

int config_validate(struct config *c, unsigned int max_vcpus)
{
	if (c->restore_dir && c->incoming) {
		pr_err("run: --restore and --incoming cannot go together");
		return -EINVAL;
	}
	if (!c->kernel || !*c->kernel) {
		pr_err("no kernel given: use --kernel PATH or \"kernel\" in the config");
		return -EINVAL;
	}
	if (!c->nr_cpus) {
		pr_err("--cpus 0: need at least one vCPU");
		return -EINVAL;
	}
	if (c->nr_cpus > max_vcpus) {
		pr_err("--cpus %u: KVM allows at most %u vCPUs", c->nr_cpus,
		       max_vcpus);
		return -EINVAL;
	}
	config_free_derived(c);
	if ((c->numa_auto || c->pin_auto) && numa_plan_auto(c))
		return -EINVAL;
	if (validate_topology(c))
		return -EINVAL;
	if (validate_numa(c) || validate_memory(c) || validate_pins(c))
		return -EINVAL;
	if (config_disks_validate(c) || config_nets_validate(c))
		return -EINVAL;
	if (c->cmdline && strlen(c->cmdline) >= BOOT_CMDLINE_MAX) {
		pr_err("--cmdline: %zu bytes, the limit is %llu",
		       strlen(c->cmdline), BOOT_CMDLINE_MAX - 1);
		return -EINVAL;
	}
	return 0;
}

void config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->nr_cpus = 1;
	c->mem_size = CONFIG_DEFAULT_MEM;
	c->pv = PV_ALL;
	c->rng = true;
	c->on_panic = CONFIG_ON_PANIC_EXIT;
	c->seccomp = SANDBOX_SECCOMP_ON;
	c->landlock = true;
	c->shutdown_timeout = CONFIG_DEFAULT_SHUTDOWN_TIMEOUT;
	c->halt_poll_ns = CONFIG_HALT_POLL_AUTO;
}

void config_free(struct config *c)
{
	config_free_derived(c);
	config_free_pins(c);
	config_free_nodes(c);
	config_free_iothreads(c);
	config_disks_free(c);
	config_nets_free(c);
	cpulist_free(&c->vmm_pin);
	free(c->config_path);
	free(c->kernel);
	free(c->initrd);
	free(c->cmdline);
	free(c->api_socket);
	free(c->restore_dir);
	free(c->incoming);
	free(c->sandbox_user);
	c->sandbox_user = NULL;
	c->config_path = c->kernel = c->initrd = c->cmdline = NULL;
	c->api_socket = c->restore_dir = c->incoming = NULL;
}
