// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for NUMA guests (issue 4): the "numa", "cpus.pin",
 * "iothreads", "vmm" and "pv" config keys (good and bad, each bad one with
 * its message), node layouts around the 32-bit hole, the SRAT/SLIT a
 * config produces, x2APIC entries past APIC ID 254, the auto plan and the
 * host checks against made-up hosts, pin checks against this process's
 * CPUs, and the PV feature mask.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <asm/kvm_para.h>

#include "lib/layout.h"
#include "smp/cpuid.h"
#include "smp/pin.h"
#include "smp/topology.h"
#include "vmm/acpi.h"
#include "vmm/config.h"
#include "vmm/memory.h"
#include "vmm/numa_place.h"

#include "capture.h"

/* ---- helpers ---- */

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Parse json as a config file and validate it; the error text in *msg. */
static int load(struct config *c, const char *json, char **msg)
{
	char path[] = "/tmp/smpvisor-numa-XXXXXX";
	struct capture cap;
	int fd, ret;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
	close(fd);
	config_init(c);
	capture_begin(&cap);
	ret = config_parse_file(c, path);
	if (!ret)
		ret = config_validate(c, 1024);
	*msg = capture_end(&cap);
	unlink(path);
	return ret;
}

#define KERNEL "\"kernel\": \"/vmlinuz\", "

/* ---- config schema ---- */

static void test_config_good(void **state)
{
	const char *json = "{" KERNEL
		"\"cpus\": {\"count\": 8, \"sockets\": 2, \"cores\": 4, \"threads\": 1,"
		"  \"pin\": {\"0\": \"0\", \"1\": \"1\", \"2-3\": \"2-3\", \"4-7\": \"4-7\"}},"
		"\"memory\": {\"size\": \"4G\", \"hugepages\": false, \"prefault\": false},"
		"\"numa\": ["
		"  {\"cpus\": \"0-3\", \"memory\": \"2G\", \"host_nodes\": \"0\", \"policy\": \"bind\"},"
		"  {\"cpus\": \"4-7\", \"memory\": \"2G\", \"host_nodes\": \"1\", \"policy\": \"interleave\","
		"   \"distances\": [20, 10]}],"
		"\"iothreads\": [ {\"pin\": \"2\"}, {} ],"
		"\"vmm\": {\"pin\": \"0\"},"
		"\"pv\": {\"pv_eoi\": false, \"kvmclock\": true}}";
	struct config c;
	char *msg;
	u8 *slit;

	(void)state;
	assert_int_equal(load(&c, json, &msg), 0);
	assert_string_equal(msg, "");
	assert_int_equal(c.nr_nodes, 2);
	assert_int_equal(c.nodes[1].policy, CONFIG_POLICY_INTERLEAVE);
	assert_int_equal(c.nodes[0].mem_size, 2 * GiB);
	assert_true(cpulist_test(&c.nodes[1].host_nodes, 1));
	assert_int_equal(c.vcpu_node[3], 0);
	assert_int_equal(c.vcpu_node[4], 1);
	assert_int_equal(cpulist_count(&c.vcpu_pin[0]), 1);
	assert_true(cpulist_test(&c.vcpu_pin[3], 2));
	assert_true(cpulist_test(&c.vcpu_pin[3], 3));
	assert_int_equal(cpulist_count(&c.vcpu_pin[6]), 4);
	assert_int_equal(c.nr_iothreads, 2);
	assert_true(c.iothreads[0].pinned);
	assert_true(cpulist_test(&c.iothreads[0].pin, 2));
	assert_false(c.iothreads[1].pinned);
	assert_true(c.vmm_pinned);
	assert_int_equal(c.pv, PV_ALL & ~PV_EOI);

	slit = numa_slit(&c);
	assert_non_null(slit);
	assert_int_equal(slit[0], 10);
	assert_int_equal(slit[1], 20);	/* default row for node 0 */
	assert_int_equal(slit[2], 20);
	assert_int_equal(slit[3], 10);
	free(slit);
	free(msg);
	config_free(&c);
}

static void test_config_shorthands(void **state)
{
	struct config c;
	char *msg;

	(void)state;
	/* Without memory.size the nodes define it; "iothreads": N. */
	assert_int_equal(load(&c, "{" KERNEL "\"cpus\": 2, \"iothreads\": 3,"
			 "\"numa\": [{\"cpus\": \"0\", \"memory\": \"1G\"},"
			 "           {\"cpus\": \"1\", \"memory\": \"512M\"}]}", &msg), 0);
	assert_int_equal(c.mem_size, 1536 * MiB);
	assert_int_equal(c.nr_iothreads, 3);
	assert_false(c.iothreads[2].pinned);
	assert_null(c.vcpu_pin[0].bits);
	free(msg);
	config_free(&c);

	/* Without "numa": one node, no pins. */
	assert_int_equal(load(&c, "{" KERNEL "\"cpus\": 3}", &msg), 0);
	assert_int_equal(c.nr_nodes, 0);
	assert_int_equal(c.vcpu_node[2], 0);
	assert_int_equal(c.pv, PV_ALL);
	free(msg);
	config_free(&c);
}

static void test_config_bad(void **state)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{ "\"cpus\": 2, \"memory\": \"512M\", \"numa\": [{\"cpus\": \"0-1\", \"memory\": \"256M\"}, {\"cpus\": \"1\", \"memory\": \"256M\"}]",
		  "\"numa[1].cpus\": vCPU 1 is also in numa[0]" },
		{ "\"cpus\": 3, \"memory\": \"512M\", \"numa\": [{\"cpus\": \"0-1\", \"memory\": \"512M\"}]",
		  "\"numa\": vCPU 2 is in no node" },
		{ "\"cpus\": 2, \"memory\": \"1G\", \"numa\": [{\"cpus\": \"0\", \"memory\": \"256M\"}, {\"cpus\": \"1\", \"memory\": \"256M\"}]",
		  "node memory adds up to 512 MiB, but memory.size is 1024 MiB" },
		{ "\"cpus\": 2, \"numa\": [{\"cpus\": \"0-2\", \"memory\": \"256M\"}]",
		  "\"numa[0].cpus\": vCPU 2 does not exist (2 vCPUs)" },
		{ "\"cpus\": 2, \"numa\": [{\"cpus\": \"0-1\"}]",
		  "\"numa[0].memory\" is required" },
		{ "\"cpus\": 2, \"numa\": [{\"cpus\": \"0-1\", \"memory\": \"1G\", \"policy\": \"local\"}]",
		  "\"numa[0].policy\": unknown policy \"local\"" },
		{ "\"cpus\": 2, \"numa\": [{\"cpus\": \"0-1\", \"memory\": \"1G\", \"host_node\": \"0\"}]",
		  "unknown key \"numa[0].host_node\"" },
		{ "\"cpus\": 2, \"numa\": [{\"cpus\": \"0\", \"memory\": \"1G\"}, {\"cpus\": \"1\", \"memory\": \"1G\", \"distances\": [20]}]",
		  "\"numa[1].distances\" has 1 entries, needs one per node (2)" },
		{ "\"cpus\": 2, \"numa\": [{\"cpus\": \"0\", \"memory\": \"1G\"}, {\"cpus\": \"1\", \"memory\": \"1G\", \"distances\": [20, 11]}]",
		  "\"numa[1].distances[1]\" is 11: a node's distance to itself must be 10" },
		{ "\"cpus\": 2, \"numa\": [{\"cpus\": \"0\", \"memory\": \"1G\", \"distances\": [10, 10]}, {\"cpus\": \"1\", \"memory\": \"1G\"}]",
		  "\"numa[0].distances[1]\" is 10: distances to other nodes must be above 10" },
		{ "\"cpus\": 2, \"numa\": [{\"cpus\": \"0\", \"memory\": \"1G\", \"distances\": [10, 300]}]",
		  "\"numa[0].distances[1]\" must be an integer from 10 to 254" },
		{ "\"cpus\": 2, \"numa\": [{\"cpus\": \"0-1\", \"memory\": \"1G\", \"host_nodes\": \"0-1\", \"policy\": \"preferred\"}]",
		  "\"numa[0].policy\": preferred takes a single host node" },
		{ "\"cpus\": 2, \"numa\": [{\"cpus\": \"0-1\", \"memory\": \"1G\", \"host_nodes\": \"x\"}]",
		  "\"numa[0].host_nodes\": invalid list \"x\"" },
		{ "\"cpus\": 2, \"numa\": []", "\"numa\" has 0 nodes" },
		{ "\"cpus\": 2, \"memory\": {\"size\": \"1G\", \"hugepages\": true}, \"numa\": [{\"cpus\": \"0\", \"memory\": \"1025M\"}, {\"cpus\": \"1\", \"memory\": \"1023M\"}]",
		  "\"numa[0].memory\": 1074790400 bytes is not a positive multiple of 2 MiB" },
		{ "\"cpus\": {\"count\": 2, \"pin\": {\"0-2\": \"1\"}}",
		  "\"cpus.pin\": vCPU 2 does not exist (2 vCPUs)" },
		{ "\"cpus\": {\"count\": 2, \"pin\": {\"0\": \"1\", \"0-1\": \"2\"}}",
		  "\"cpus.pin\": vCPU 0 is pinned twice" },
		{ "\"cpus\": {\"count\": 2, \"pin\": {\"a\": \"1\"}}",
		  "\"cpus.pin.a\": key \"a\" is not a vCPU id or range" },
		{ "\"cpus\": {\"count\": 2, \"pin\": {\"0\": \"99999\"}}",
		  "\"cpus.pin.0\": \"99999\" names a number above 8191" },
		{ "\"cpus\": {\"count\": 2, \"pin\": \"0-1\"}",
		  "\"cpus.pin\" must be an object of vCPU ids to host CPU lists, or \"auto\"" },
		{ "\"cpus\": {\"count\": 2, \"dedicated\": true}",
		  "\"cpus.dedicated\": vCPU 0 is not pinned to a single host CPU" },
		{ "\"cpus\": {\"count\": 2, \"dedicated\": true, \"pin\": {\"0\": \"1\", \"1\": \"1\"}}",
		  "\"cpus.dedicated\": vCPUs 0 and 1 share host CPU 1" },
		{ "\"cpus\": {\"count\": 2, \"pin\": \"auto\"}",
		  "\"cpus.pin\": auto needs \"numa\"" },
		{ "\"iothreads\": [{\"pin\": \"2\", \"cpu\": 1}]",
		  "unknown key \"iothreads[0].cpu\"" },
		{ "\"iothreads\": \"2\"", "\"iothreads\" must be an integer or an array" },
		{ "\"iothreads\": 1000", "\"iothreads\": 1000 I/O threads, at most 256" },
		{ "\"vmm\": {\"pin\": \"\"}", "\"vmm.pin\": invalid list \"\"" },
		{ "\"vmm\": {\"pinned\": \"0\"}", "unknown key \"vmm.pinned\"" },
		{ "\"pv\": {\"kvmclock\": 0}", "\"pv.kvmclock\" must be true or false" },
		{ "\"pv\": {\"hyperv\": false}", "unknown key \"pv.hyperv\"" },
		{ "\"cpus\": {\"count\": 6, \"sockets\": 4, \"cores\": 2}",
		  "sockets=4 x cores=2 x threads=1 does not make 6 vCPUs" },
	};
	char json[1024];
	struct config c;
	size_t i;
	char *msg;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(json, sizeof(json), "{" KERNEL "%s}", cases[i].json);
		if (load(&c, json, &msg) != -EINVAL || !strstr(msg, cases[i].want) ||
		    count_lines(msg) != 1)
			fail_msg("%s: message \"%s\", want \"%s\"", json, msg,
				 cases[i].want);
		free(msg);
		config_free(&c);
	}
}

/* ---- layout and ACPI per config ---- */

static u32 get32(const u8 *p, unsigned off) { u32 v; memcpy(&v, p + off, 4); return v; }
static u64 get64(const u8 *p, unsigned off) { u64 v; memcpy(&v, p + off, 8); return v; }

static void test_layout_around_hole(void **state)
{
	const u64 sizes[] = { 2 * GiB, 2 * GiB, 1 * GiB };
	struct guest_mem m;

	(void)state;
	assert_int_equal(guest_mem_layout_nodes(&m, sizes, 3), 0);
	assert_int_equal(m.nr, 4);
	/* node 0 below the hole, node 1 split by it, node 2 above. */
	assert_int_equal(m.regions[0].gpa, 0);
	assert_int_equal(m.regions[0].size, 2 * GiB);
	assert_int_equal(m.regions[0].node, 0);
	assert_int_equal(m.regions[1].gpa, 2 * GiB);
	assert_int_equal(m.regions[1].size, MMIO_HOLE_START - 2 * GiB);
	assert_int_equal(m.regions[1].node, 1);
	assert_int_equal(m.regions[2].gpa, HIGH_RAM_START);
	assert_int_equal(m.regions[2].size, 2 * GiB - (MMIO_HOLE_START - 2 * GiB));
	assert_int_equal(m.regions[2].node, 1);
	assert_int_equal(m.regions[3].gpa, m.regions[2].gpa + m.regions[2].size);
	assert_int_equal(m.regions[3].size, 1 * GiB);
	assert_int_equal(m.regions[3].node, 2);
	assert_int_equal(m.size, 5 * GiB);
}

/* The first table with signature sig in the ACPI window. */
static const u8 *find_sig(const struct guest_mem *m, const char *sig)
{
	const u8 *w = gpa_to_hva(m, ACPI_TABLES_ADDR,
				 ACPI_TABLES_END - ACPI_TABLES_ADDR);
	u64 off;

	assert_non_null(w);
	for (off = 0; off + 36 <= ACPI_TABLES_END - ACPI_TABLES_ADDR; off += 4)
		if (!memcmp(w + off, sig, 4) && get32(w, off + 4) >= 36)
			return w + off;
	return NULL;
}

/*
 * A config's SRAT and SLIT: 9 sockets x 17 cores (5-bit core field) on
 * three nodes, so socket 8 has APIC IDs 256-272 and gets x2APIC entries
 * in the SRAT and MADT; node memory 2G + 2G + 1G around the hole.
 */
static void test_tables_from_config(void **state)
{
	const char *json = "{" KERNEL
		"\"cpus\": {\"count\": 153, \"sockets\": 9, \"cores\": 17},"
		"\"numa\": ["
		"  {\"cpus\": \"0-67\", \"memory\": \"2G\"},"
		"  {\"cpus\": \"68-135\", \"memory\": \"2G\", \"distances\": [31, 10, 22]},"
		"  {\"cpus\": \"136-152\", \"memory\": \"1G\"}]}";
	struct acpi_machine mc = { 0 };
	unsigned i, cpus = 0, x2 = 0, mems = 0, madt_x2 = 0;
	const u8 *t, *p, *end;
	struct smp_topo topo;
	struct guest_mem m;
	struct config c;
	u64 sizes[3], rsdp;
	u32 ids[153];
	u8 *slit;
	char *msg;

	(void)state;
	assert_int_equal(load(&c, json, &msg), 0);
	free(msg);
	assert_int_equal(smp_topo_init(&topo, 153, c.sockets, c.cores, c.threads), 0);
	assert_true(smp_topo_needs_x2apic(&topo, 153));
	for (i = 0; i < 153; i++)
		ids[i] = smp_topo_apic_id(&topo, i);
	assert_int_equal(ids[152], 8 << 5 | 16);
	for (i = 0; i < c.nr_nodes; i++)
		sizes[i] = c.nodes[i].mem_size;
	assert_int_equal(guest_mem_layout_nodes(&m, sizes, 3), 0);
	assert_int_equal(guest_mem_alloc(&m), 0);
	slit = numa_slit(&c);
	mc = (struct acpi_machine){ .nr_cpus = 153, .apic_ids = ids,
		.nr_nodes = c.nr_nodes, .cpu_node = c.vcpu_node, .distance = slit };
	assert_int_equal(acpi_build(&m, &mc, &rsdp), 0);

	t = find_sig(&m, "SRAT");
	assert_non_null(t);
	end = t + get32(t, 4);
	for (p = t + 48; p < end; p += p[1]) {
		if (p[0] == 0) {		/* processor local APIC affinity */
			assert_true(p[3] < 255);
			assert_int_equal(p[3], ids[cpus]);
			assert_int_equal(p[2], c.vcpu_node[cpus]);
			cpus++;
		} else if (p[0] == 2) {		/* processor x2APIC affinity */
			assert_true(get32(p, 8) >= 255);
			assert_int_equal(get32(p, 8), ids[cpus]);
			assert_int_equal(get32(p, 4), 2);
			cpus++;
			x2++;
		} else {			/* memory affinity */
			assert_int_equal(p[0], 1);
			assert_int_equal(get32(p, 2), m.regions[mems].node);
			assert_int_equal(get64(p, 8), m.regions[mems].gpa);
			assert_int_equal(get64(p, 16), m.regions[mems].size);
			mems++;
		}
	}
	assert_int_equal(cpus, 153);
	assert_int_equal(x2, 17);
	assert_int_equal(mems, 4);
	assert_int_equal(m.regions[1].node, 1);
	assert_int_equal(m.regions[2].node, 1);

	t = find_sig(&m, "SLIT");
	assert_non_null(t);
	assert_int_equal(get64(t, 36), 3);
	{
		const u8 want[] = { 10, 20, 20, 31, 10, 22, 20, 20, 10 };

		assert_memory_equal(t + 44, want, 9);
	}

	t = find_sig(&m, "APIC");
	assert_non_null(t);
	end = t + get32(t, 4);
	for (p = t + 44; p < end; p += p[1])
		if (p[0] == 9 && get32(p, 4) >= 256)
			madt_x2++;
	assert_int_equal(madt_x2, 17);

	free(slit);
	guest_mem_free(&m);
	config_free(&c);
}

/* ---- auto plan and host checks on made-up hosts ---- */

/* A host of nr nodes with cpus_per CPUs and mem GiB each. */
static void fake_host(struct numa_host *h, unsigned nr, unsigned cpus_per,
		      u64 mem)
{
	unsigned i, j;

	h->nodes = calloc(nr, sizeof(*h->nodes));
	assert_non_null(h->nodes);
	h->nr = nr;
	h->huge_free = 0;
	for (i = 0; i < nr; i++) {
		struct numa_host_node *n = &h->nodes[i];

		n->id = i;
		assert_int_equal(cpulist_init(&n->cpus, CONFIG_HOST_CPUS), 0);
		for (j = 0; j < cpus_per; j++)
			cpulist_set(&n->cpus, i * cpus_per + j);
		n->mem_total = mem;
		n->mem_free = mem / 2;
	}
}

static void test_auto_plan(void **state)
{
	struct numa_host h;
	struct config c;
	struct capture cap;
	char *out;

	(void)state;
	fake_host(&h, 4, 4, 8 * GiB);

	/* 8 vCPUs fit on two 4-CPU nodes: two guest nodes, two sockets. */
	config_init(&c);
	c.nr_cpus = 8;
	c.mem_size = 6 * GiB;
	c.numa_auto = true;
	capture_begin(&cap);
	assert_int_equal(numa_plan(&c, &h), 0);
	out = capture_end(&cap);
	assert_int_equal(c.nr_nodes, 2);
	assert_int_equal(c.sockets, 2);
	assert_int_equal(c.nodes[0].mem_size, 3 * GiB);
	assert_true(cpulist_test(&c.nodes[1].cpus, 4));
	assert_true(cpulist_test(&c.nodes[1].host_nodes, 1));
	assert_int_equal(c.nr_pins, 2);
	assert_true(cpulist_test(&c.pins[1].host, 7));
	assert_false(cpulist_test(&c.pins[1].host, 3));
	assert_non_null(strstr(out, "auto: guest node 1: vCPUs 4-7, 3072 MiB on host node 1 (bind), vCPUs pinned to host CPUs 4-7"));
	free(out);
	c.kernel = strdup("/vmlinuz");
	assert_int_equal(config_validate(&c, 64), 0);	/* plans only once */
	assert_int_equal(c.nr_nodes, 2);
	assert_int_equal(c.vcpu_node[5], 1);
	config_free(&c);

	/* 2 vCPUs but more memory than one node has: two nodes. */
	config_init(&c);
	c.nr_cpus = 2;
	c.mem_size = 12 * GiB;
	c.numa_auto = true;
	capture_begin(&cap);
	assert_int_equal(numa_plan(&c, &h), 0);
	free(capture_end(&cap));
	assert_int_equal(c.nr_nodes, 2);
	config_free(&c);

	/* Overcommitted: 32 vCPUs on 16 CPUs use every node. */
	config_init(&c);
	c.nr_cpus = 32;
	c.mem_size = 1 * GiB;
	c.numa_auto = true;
	capture_begin(&cap);
	assert_int_equal(numa_plan(&c, &h), 0);
	free(capture_end(&cap));
	assert_int_equal(c.nr_nodes, 4);
	assert_int_equal(c.nodes[3].mem_size, 256 * MiB);
	config_free(&c);
	numa_host_free(&h);
}

static void test_host_checks(void **state)
{
	struct numa_host h;
	struct config c;
	char *msg;
	int ret;

	(void)state;
	fake_host(&h, 2, 2, 2 * GiB);
	assert_int_equal(load(&c, "{" KERNEL "\"cpus\": 2, \"numa\": ["
			 "{\"cpus\": \"0\", \"memory\": \"1G\", \"host_nodes\": \"0\"},"
			 "{\"cpus\": \"1\", \"memory\": \"1G\", \"host_nodes\": \"1\"}]}", &msg), 0);
	free(msg);
	assert_int_equal(numa_check_host(&c, &h), 0);
	c.mem_prefault = true;		/* 1 GiB free per node: still fits */
	assert_int_equal(numa_check_host(&c, &h), 0);
	config_free(&c);

	/* Two guest nodes on host node 1: 3 GiB do not fit in 2. */
	assert_int_equal(load(&c, "{" KERNEL "\"cpus\": 2, \"numa\": ["
			 "{\"cpus\": \"0\", \"memory\": \"1G\", \"host_nodes\": \"1\"},"
			 "{\"cpus\": \"1\", \"memory\": \"2G\", \"host_nodes\": \"1\"}]}", &msg), 0);
	free(msg);
	{
		struct capture cap;

		capture_begin(&cap);
		ret = numa_check_host(&c, &h);
		msg = capture_end(&cap);
	}
	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(msg, "\"numa[1].memory\": host node 1 has too little memory for it (2048 MiB in total, guest nodes bound there need 3072 MiB)"));
	free(msg);
	config_free(&c);

	assert_int_equal(load(&c, "{" KERNEL "\"cpus\": 1, \"numa\": ["
			 "{\"cpus\": \"0\", \"memory\": \"1G\", \"host_nodes\": \"0,4\"}]}", &msg), 0);
	free(msg);
	{
		struct capture cap;

		capture_begin(&cap);
		ret = numa_check_host(&c, &h);
		msg = capture_end(&cap);
	}
	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(msg, "\"numa[0].host_nodes\": host node 4 does not exist (this host has 2 nodes)"));
	free(msg);
	config_free(&c);
	numa_host_free(&h);
}

/* ---- pins against this process's CPUs ---- */

static void test_pin_check(void **state)
{
	struct cpulist allowed = { 0 }, bad;
	struct capture cap;
	char *msg, want[128], *list;
	int first;

	(void)state;
	assert_int_equal(smp_pin_allowed(&allowed), 0);
	assert_true(cpulist_count(&allowed) >= 1);
	first = cpulist_next(&allowed, -1);
	assert_int_equal(smp_pin_check(&allowed, "vcpu 0"), 0);

	assert_int_equal(cpulist_init(&bad, CONFIG_HOST_CPUS), 0);
	cpulist_set(&bad, first);
	cpulist_set(&bad, CONFIG_HOST_CPUS - 1);
	capture_begin(&cap);
	assert_int_equal(smp_pin_check(&bad, "iothread 0"), -EINVAL);
	assert_int_equal(smp_pin_self(&bad, "iothread 0"), -EINVAL);
	msg = capture_end(&cap);
	list = cpulist_format(&allowed);
	snprintf(want, sizeof(want),
		 "smpvisor: error: iothread 0: CPU %u is outside the CPUs this process may use (%s)\n",
		 CONFIG_HOST_CPUS - 1, list);
	assert_non_null(strstr(msg, want));
	assert_int_equal(count_lines(msg), 2);
	free(msg);
	free(list);

	/* Pinning to the first allowed CPU really narrows the thread. */
	cpulist_zero(&bad);
	cpulist_set(&bad, first);
	assert_int_equal(smp_pin_self(&bad, "test"), 0);
	assert_int_equal(sched_getcpu(), first);
	assert_int_equal(smp_pin_self(NULL, "test"), 0);	/* back to all */
	cpulist_free(&bad);
	cpulist_free(&allowed);
}

/* ---- PV features ---- */

static void test_pv_mask(void **state)
{
	(void)state;
	assert_int_equal(cpuid_kvm_pv_mask(0), 0);
	assert_int_equal(cpuid_kvm_pv_mask(PV_KVMCLOCK),
			 1U << KVM_FEATURE_CLOCKSOURCE | 1U << KVM_FEATURE_CLOCKSOURCE2 |
			 1U << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT);
	assert_int_equal(cpuid_kvm_pv_mask(PV_SPINLOCKS),
			 1U << KVM_FEATURE_PV_UNHALT);
	assert_int_equal(cpuid_kvm_pv_mask(PV_SEND_IPI | PV_POLL_CONTROL),
			 1U << KVM_FEATURE_PV_SEND_IPI | 1U << KVM_FEATURE_POLL_CONTROL);
	/* Never the bits large guests need. */
	assert_false(cpuid_kvm_pv_mask(PV_ALL) &
		     (1U << KVM_FEATURE_MSI_EXT_DEST_ID));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_good),
		cmocka_unit_test(test_config_shorthands),
		cmocka_unit_test(test_config_bad),
		cmocka_unit_test(test_layout_around_hole),
		cmocka_unit_test(test_tables_from_config),
		cmocka_unit_test(test_auto_plan),
		cmocka_unit_test(test_host_checks),
		cmocka_unit_test(test_pin_check),
		cmocka_unit_test(test_pv_mask),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
