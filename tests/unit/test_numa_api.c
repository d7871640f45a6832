// SPDX-License-Identifier: GPL-2.0
/*
 * query-numa and numa-move (vmm/machine_numa.c) without KVM, through a
 * QMP session on a machine of two guest nodes of 16 MiB each whose RAM is
 * mapped here (node 0 bound to host node 0, node 1 unbound):
 * - every bad argument of numa-move gets an error reply naming it: a
 *   missing or wrong-typed node, a node out of range, a missing,
 *   malformed or empty host node list, a host node that does not exist,
 *   an unknown policy, a bad CPU list; and a guest without "numa" nodes;
 * - query-numa gives each node's range, vCPUs, binding and, once node 0
 *   is touched, its resident pages on some host node;
 * - numa-move of node 0 to host node 0 (every NUMA host has one) with
 *   interleave succeeds, keeps the memory's contents and query-numa then
 *   reports the new policy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <numa.h>

#include "vmm/machine.h"
#include "vmm/machine_numa.h"

#include "qmp_call.h"

static const struct qmp_cmd cmds[] = { MACHINE_NUMA_CMDS };

/* One command on m; its reply, or a check that it is an error naming w. */
#define CALL(m, c)		qmp_call(cmds, ARRAY_SIZE(cmds), (m), (c))
#define EXPECT_ERROR(m, c, w)	qmp_expect_error(cmds, ARRAY_SIZE(cmds), (m), (c), (w))

struct fixture {
	struct machine m;
	struct config c;
	struct config_node nodes[2];
	struct vcpu v[2];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const u64 sizes[2] = { 16 * MiB, 16 * MiB };
	unsigned i;

	assert_non_null(f);
	for (i = 0; i < 2; i++) {
		assert_int_equal(cpulist_init(&f->nodes[i].cpus,
					      CONFIG_MAX_VCPU_IDS), 0);
		assert_int_equal(cpulist_init(&f->nodes[i].host_nodes,
					      CONFIG_HOST_NODES), 0);
		cpulist_set(&f->nodes[i].cpus, i);
		f->nodes[i].mem_size = sizes[i];
	}
	cpulist_set(&f->nodes[0].host_nodes, 0);
	f->c.nodes = f->nodes;
	f->c.nr_nodes = 2;
	f->m.cfg = &f->c;
	f->m.vcpus.v = f->v;
	f->m.vcpus.nr = 2;
	assert_int_equal(guest_mem_layout_nodes(&f->m.mem, sizes, 2), 0);
	assert_int_equal(guest_mem_alloc(&f->m.mem), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	unsigned i;

	guest_mem_free(&f->m.mem);
	for (i = 0; i < 2; i++) {
		cpulist_free(&f->nodes[i].cpus);
		cpulist_free(&f->nodes[i].host_nodes);
	}
	free(f);
	return 0;
}

#define MOVE "{\"execute\":\"numa-move\",\"arguments\":"

static void test_move_refused(void **state)
{
	struct fixture *f = *state;
	struct machine *m = &f->m;

	EXPECT_ERROR(m, MOVE "{\"host-nodes\":\"0\"}}\n", "'node' must be given");
	EXPECT_ERROR(m, MOVE "{\"node\":\"0\",\"host-nodes\":\"0\"}}\n",
		     "as an integer");
	EXPECT_ERROR(m, MOVE "{\"node\":2,\"host-nodes\":\"0\"}}\n",
		     "no guest node 2 (there are 2)");
	EXPECT_ERROR(m, MOVE "{\"node\":-1,\"host-nodes\":\"0\"}}\n",
		     "no guest node -1");
	EXPECT_ERROR(m, MOVE "{\"node\":0}}\n", "'host-nodes' must be given");
	EXPECT_ERROR(m, MOVE "{\"node\":0,\"host-nodes\":[0]}}\n",
		     "'host-nodes' must be given");
	EXPECT_ERROR(m, MOVE "{\"node\":0,\"host-nodes\":\"1-0\"}}\n",
		     "is not a node list");
	EXPECT_ERROR(m, MOVE "{\"node\":0,\"host-nodes\":\"\"}}\n",
		     "is not a node list");
	EXPECT_ERROR(m, MOVE "{\"node\":0,\"host-nodes\":\"5000\"}}\n",
		     "is not a node list");
	if (numa_available() < 0) {
		EXPECT_ERROR(m, MOVE "{\"node\":0,\"host-nodes\":0}}\n",
			     "no NUMA support");
		return;
	}
	EXPECT_ERROR(m, MOVE "{\"node\":0,\"host-nodes\":1023}}\n",
		     "host node 1023 does not exist");
	EXPECT_ERROR(m, MOVE "{\"node\":0,\"host-nodes\":\"0\",\"policy\":\"x\"}}\n",
		     "'policy' x is not");
	EXPECT_ERROR(m, MOVE "{\"node\":0,\"host-nodes\":\"0\",\"policy\":3}}\n",
		     "'policy' must be");
	EXPECT_ERROR(m, MOVE "{\"node\":0,\"host-nodes\":\"0\",\"cpus\":\"3-1\"}}\n",
		     "is not a CPU list");
	EXPECT_ERROR(m, MOVE "{\"node\":0,\"host-nodes\":\"0\",\"cpus\":[1]}}\n",
		     "'cpus' must be a string");
	EXPECT_ERROR(m, MOVE "{\"node\":0,\"host-nodes\":\"0\",\"cpus\":8191}}\n",
		     "CPU 8191 is outside the CPUs");
	/* A vCPU that never ran cannot be re-pinned: said after the move. */
	EXPECT_ERROR(m, MOVE "{\"node\":1,\"host-nodes\":\"0\",\"cpus\":0}}\n",
		     "vcpu 1 is not running");
	f->c.nr_nodes = 0;
	EXPECT_ERROR(m, MOVE "{\"node\":0,\"host-nodes\":\"0\"}}\n",
		     "no \"numa\" nodes");
	f->c.nr_nodes = 2;
}

static json_t *query_node(struct machine *m, unsigned i, json_t **reply)
{
	*reply = CALL(m, "{\"execute\":\"query-numa\"}\n");
	return json_array_get(json_object_get(json_object_get(*reply, "return"),
					      "nodes"), i);
}

static json_int_t resident(json_t *node)
{
	json_t *per = json_object_get(node, "resident-pages"), *v;
	const char *k;
	json_int_t sum = 0;

	json_object_foreach(per, k, v)
		sum += json_integer_value(v);
	return sum;
}

static void test_query(void **state)
{
	struct fixture *f = *state;
	json_t *r, *n;

	(void)state;
	n = query_node(&f->m, 1, &r);
	assert_non_null(n);
	assert_string_equal(json_string_value(json_object_get(n, "vcpus")), "1");
	assert_string_equal(json_string_value(json_object_get(n, "policy")),
			    "default");
	assert_true(json_is_null(json_object_get(n, "host-nodes")));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
		json_object_get(n, "ranges"), 0), "gpa")), 16 * MiB);
	json_decref(r);

	memset(f->m.mem.regions[0].hva, 0x5a, 4 * MiB);
	n = query_node(&f->m, 0, &r);
	assert_string_equal(json_string_value(json_object_get(n, "host-nodes")), "0");
	assert_string_equal(json_string_value(json_object_get(n, "policy")), "bind");
	assert_false(json_is_true(json_object_get(n, "sampled")));
	/* Not bound here (no mbind in this test), but resident somewhere. */
	assert_true(resident(n) >= (json_int_t)(4 * MiB / GUEST_PAGE_SIZE));
	assert_int_equal(resident(n) + json_integer_value(json_object_get(n,
			 "absent-pages")), 16 * MiB / GUEST_PAGE_SIZE);
	json_decref(r);
}

static void test_move_applied(void **state)
{
	struct fixture *f = *state;
	unsigned char *p = f->m.mem.regions[0].hva;
	json_t *r, *n;
	unsigned i;

	if (numa_available() < 0)
		skip();
	for (i = 0; i < 16 * MiB; i += 4096)
		p[i] = (unsigned char)(i >> 12);
	r = CALL(&f->m, MOVE "{\"node\":0,\"host-nodes\":\"0\","
		 "\"policy\":\"interleave\"}}\n");
	n = json_object_get(r, "return");
	if (!n)
		fail_msg("numa-move failed: %s", json_string_value(json_object_get(
			 json_object_get(r, "error"), "desc")));
	assert_int_equal(json_integer_value(json_object_get(n, "moved-bytes")),
			 16 * MiB);
	json_decref(r);
	for (i = 0; i < 16 * MiB; i += 4096)
		assert_int_equal(p[i], (unsigned char)(i >> 12));
	n = query_node(&f->m, 0, &r);
	assert_string_equal(json_string_value(json_object_get(n, "policy")),
			    "interleave");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(n,
		"resident-pages"), "0")), 16 * MiB / GUEST_PAGE_SIZE);
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_move_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_applied, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
