// SPDX-License-Identifier: GPL-2.0
/*
 * Host NUMA placement of guest memory on the control API (machine_numa.h).
 * Both commands run on the API thread while the guest runs. numa-move
 * migrates a guest node a chunk at a time: one mbind(2) with MPOL_MF_MOVE
 * over a whole node holds the process's mmap lock for the entire copy,
 * and every vCPU that faults in that time (KVM resolves guest faults
 * through it) stalls until it is done; a chunk of a few MiB keeps each
 * such stall to milliseconds.
 */
#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smp/pin.h"
#include "vmm/machine.h"
#include "vmm/machine_numa.h"

/* Pages move_pages is asked about at once: bounds the arrays on the stack. */
#define QUERY_BATCH		1024
/* query-numa looks at no more pages per node than this (4 GiB of 4 KiB). */
#define QUERY_MAX_PAGES		(1UL << 20)
/* numa-move migrates this much per mbind, and reports every EVENT_EVERY. */
#define MOVE_CHUNK		(8 * MiB)
#define MOVE_EVENT_EVERY	(64 * MiB)

static const char *const policy_names[] = {
	[CONFIG_POLICY_BIND] = "bind",
	[CONFIG_POLICY_PREFERRED] = "preferred",
	[CONFIG_POLICY_INTERLEAVE] = "interleave",
};

static const int policy_modes[] = {
	[CONFIG_POLICY_BIND] = MPOL_BIND,
	[CONFIG_POLICY_PREFERRED] = MPOL_PREFERRED,
	[CONFIG_POLICY_INTERLEAVE] = MPOL_INTERLEAVE,
};

/* Guest nodes as the guest sees them: one without a "numa" config. */
static unsigned nr_guest_nodes(const struct machine *m)
{
	return m->cfg && m->cfg->nr_nodes ? m->cfg->nr_nodes : 1;
}

/* The config node behind guest node i, or NULL without a "numa" config. */
static struct config_node *cfg_node(const struct machine *m, unsigned i)
{
	return m->cfg && i < m->cfg->nr_nodes ? &m->cfg->nodes[i] : NULL;
}

/* "0-1" as a JSON string, or null for an empty or unset list. */
static json_t *list_json(const struct cpulist *cl)
{
	char *s;
	json_t *j;

	if (!cl->bits || !cpulist_count(cl))
		return json_null();
	s = cpulist_format(cl);
	j = s ? json_string(s) : json_null();
	free(s);
	return j;
}

/*
 * Add the host node of every resident page among n pages from hva, one
 * page every stride, to per_node (a host node id -> count object) and
 * the others to *absent. Counts are scaled by stride when sampling.
 */
static void count_pages(char *hva, u64 n, u64 stride, json_t *per_node,
			u64 *absent)
{
	void *pages[QUERY_BATCH];
	int status[QUERY_BATCH];
	char key[16];
	u64 i = 0;
	unsigned k, cnt;

	while (i < n) {
		for (cnt = 0; cnt < QUERY_BATCH && i < n; cnt++, i++)
			pages[cnt] = hva + i * stride * GUEST_PAGE_SIZE;
		if (move_pages(0, cnt, pages, NULL, status, 0) < 0) {
			*absent += (u64)cnt * stride;
			continue;
		}
		for (k = 0; k < cnt; k++) {
			json_t *v;

			if (status[k] < 0) {
				*absent += stride;
				continue;
			}
			snprintf(key, sizeof(key), "%d", status[k]);
			v = json_object_get(per_node, key);
			json_object_set_new(per_node, key, json_integer(
				(v ? json_integer_value(v) : 0) + (json_int_t)stride));
		}
	}
}

/* query-numa's entry for guest node g. */
static json_t *node_json(struct machine *m, unsigned g)
{
	const struct config_node *n = cfg_node(m, g);
	json_t *ranges = json_array(), *per_node = json_object(), *o;
	u64 pages = 0, stride, absent = 0;
	unsigned i;

	for (i = 0; i < m->mem.nr; i++)
		if ((unsigned)m->mem.regions[i].node == g)
			pages += m->mem.regions[i].size / GUEST_PAGE_SIZE;
	/* Sample evenly past the bound: the cost stays flat with size. */
	stride = pages > QUERY_MAX_PAGES ?
		 (pages + QUERY_MAX_PAGES - 1) / QUERY_MAX_PAGES : 1;
	for (i = 0; i < m->mem.nr; i++) {
		const struct guest_region *r = &m->mem.regions[i];

		if ((unsigned)r->node != g)
			continue;
		json_array_append_new(ranges, json_pack("{s:I,s:I}", "gpa",
			(json_int_t)r->gpa, "size", (json_int_t)r->size));
		if (r->hva)
			count_pages(r->hva, r->size / GUEST_PAGE_SIZE / stride,
				    stride, per_node, &absent);
	}
	o = json_pack("{s:i,s:o,s:I,s:o,s:s,s:o,s:I,s:b}", "node", (int)g,
		      "ranges", ranges, "size", (json_int_t)(pages * GUEST_PAGE_SIZE),
		      "host-nodes", n ? list_json(&n->host_nodes) : json_null(),
		      "policy", n && n->host_nodes.bits &&
				cpulist_count(&n->host_nodes) ?
				policy_names[n->policy] : "default",
		      "resident-pages", per_node,
		      "absent-pages", (json_int_t)absent,
		      "sampled", stride > 1);
	if (!o)
		return NULL;
	if (stride > 1)
		json_object_set_new(o, "sample-stride", json_integer((json_int_t)stride));
	if (n)
		json_object_set_new(o, "vcpus", list_json(&n->cpus));
	else if (m->vcpus.nr)
		json_object_set_new(o, "vcpus", json_sprintf("0-%u", m->vcpus.nr - 1));
	return o;
}

int machine_cmd_query_numa(void *ctx, json_t *args, json_t **ret,
			   struct qmp_error *err)
{
	struct machine *m = ctx;
	json_t *list = json_array(), *o;
	unsigned g;

	(void)args;
	if (!list)
		return qmp_fail(err, "GenericError", "out of memory");
	for (g = 0; g < nr_guest_nodes(m); g++) {
		o = node_json(m, g);
		if (!o) {
			json_decref(list);
			return qmp_fail(err, "GenericError", "out of memory");
		}
		json_array_append_new(list, o);
	}
	*ret = json_pack("{s:o,s:I}", "nodes", list,
			 "page-size", (json_int_t)GUEST_PAGE_SIZE);
	return 0;
}

/* numa-move's checked arguments. */
struct move_args {
	unsigned node;
	struct cpulist host_nodes;	/* CONFIG_HOST_NODES bits */
	enum config_policy policy;
	json_t *cpus;			/* the "cpus" argument, or NULL */
};

/* A string or a lone integer ("host-nodes": 1, or host-nodes=1 from ctl). */
static const char *list_arg(json_t *v, char *buf, size_t len)
{
	if (json_is_integer(v)) {
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	return json_string_value(v);
}

/* Every host node in cl exists and this process may put memory there. */
static int check_host_nodes(const struct cpulist *cl, struct qmp_error *err)
{
	struct bitmask *allowed;
	int id, r = 0;

	if (numa_available() < 0)
		return qmp_fail(err, "GenericError",
				"the host kernel has no NUMA support");
	allowed = numa_get_mems_allowed();
	if (!allowed)
		return qmp_fail(err, "GenericError", "out of memory");
	cpulist_for_each(id, cl) {
		if (id > numa_max_node() || numa_node_size64(id, NULL) <= 0) {
			r = qmp_fail(err, "GenericError",
				     "'host-nodes': host node %d does not exist or has no memory (nodes 0-%d)",
				     id, numa_max_node());
			break;
		}
		if (!numa_bitmask_isbitset(allowed, (unsigned)id)) {
			r = qmp_fail(err, "GenericError",
				     "'host-nodes': this process may not use memory on host node %d",
				     id);
			break;
		}
	}
	numa_bitmask_free(allowed);
	return r;
}

/* A well-formed CPU list within the CPUs this process may use. */
static int check_cpus(json_t *v, struct qmp_error *err)
{
	struct cpulist cl = { 0 }, allowed = { 0 };
	const char *s;
	char buf[24];
	int cpu, r = -1;

	s = list_arg(v, buf, sizeof(buf));
	if (!s)
		return qmp_fail(err, "GenericError",
				"'cpus' must be a string like \"0-3,8\"");
	if (cpulist_init(&cl, SMP_HOST_CPUS) || smp_pin_allowed(&allowed)) {
		qmp_fail(err, "GenericError", "out of memory");
		goto out;
	}
	if (parse_cpulist(s, &cl) || !cpulist_count(&cl)) {
		qmp_fail(err, "GenericError",
			 "'cpus' %s is not a CPU list like \"0-3,8\" below %u",
			 s, SMP_HOST_CPUS);
		goto out;
	}
	cpulist_for_each(cpu, &cl) {
		if (!cpulist_test(&allowed, (unsigned)cpu)) {
			qmp_fail(err, "GenericError",
				 "'cpus': CPU %d is outside the CPUs this process may use",
				 cpu);
			goto out;
		}
	}
	r = 0;
out:
	cpulist_free(&cl);
	cpulist_free(&allowed);
	return r;
}

static int parse_move(struct machine *m, json_t *args, struct move_args *a,
		      struct qmp_error *err)
{
	json_t *v = json_object_get(args, "node");
	const char *s, *pol;
	char buf[24];
	unsigned i;

	if (!m->cfg || !m->cfg->nr_nodes)
		return qmp_fail(err, "GenericError",
				"the guest has no \"numa\" nodes in its config to move");
	if (!json_is_integer(v))
		return qmp_fail(err, "GenericError",
				"'node' must be given, as an integer");
	if (json_integer_value(v) < 0 ||
	    json_integer_value(v) >= (json_int_t)m->cfg->nr_nodes)
		return qmp_fail(err, "GenericError", "no guest node %lld (there are %u)",
				(long long)json_integer_value(v), m->cfg->nr_nodes);
	a->node = (unsigned)json_integer_value(v);

	s = list_arg(json_object_get(args, "host-nodes"), buf, sizeof(buf));
	if (!s)
		return qmp_fail(err, "GenericError",
				"'host-nodes' must be given, as a string like \"1\" or \"0-1\"");
	if (cpulist_init(&a->host_nodes, CONFIG_HOST_NODES))
		return qmp_fail(err, "GenericError", "out of memory");
	if (parse_cpulist(s, &a->host_nodes) || !cpulist_count(&a->host_nodes))
		return qmp_fail(err, "GenericError",
				"'host-nodes' %s is not a node list like \"0-1\" below %u",
				s, CONFIG_HOST_NODES);
	if (check_host_nodes(&a->host_nodes, err))
		return -1;

	v = json_object_get(args, "policy");
	pol = json_string_value(v);
	a->policy = CONFIG_POLICY_BIND;
	if (v && !pol)
		return qmp_fail(err, "GenericError",
				"'policy' must be \"bind\", \"preferred\" or \"interleave\"");
	for (i = 0; pol && i < ARRAY_SIZE(policy_names); i++)
		if (!strcmp(pol, policy_names[i]))
			break;
	if (pol && i == ARRAY_SIZE(policy_names))
		return qmp_fail(err, "GenericError",
				"'policy' %s is not \"bind\", \"preferred\" or \"interleave\"",
				pol);
	if (pol)
		a->policy = i;
	/* MPOL_PREFERRED takes one node before Linux 5.15's preferred-many. */
	if (a->policy == CONFIG_POLICY_PREFERRED &&
	    cpulist_count(&a->host_nodes) != 1)
		return qmp_fail(err, "GenericError",
				"'policy' preferred takes one host node");

	a->cpus = json_object_get(args, "cpus");
	if (a->cpus && check_cpus(a->cpus, err))
		return -1;
	return 0;
}

static void move_event(struct machine *m, unsigned node, u64 done, u64 total,
		       const char *status, const char *reason)
{
	json_t *d = json_pack("{s:i,s:I,s:I}", "node", (int)node,
			      "done-bytes", (json_int_t)done,
			      "total-bytes", (json_int_t)total);

	if (d && status)
		json_object_set_new(d, "status", json_string(status));
	if (d && reason)
		json_object_set_new(d, "reason", json_string(reason));
	machine_event(m, "NUMA_MOVE", d);
	/* Out now: the reply to numa-move comes only once all has moved. */
	if (m->api_ok)
		api_send_events_now(&m->api);
}

/*
 * mbind [p, p + len) with MPOL_MF_MOVE: new faults follow the policy and
 * pages already there migrate. MPOL_MF_STRICT makes pages that could not
 * move (briefly pinned by I/O in flight) an EIO: tried once more, then
 * counted, as the guest keeps running with them where they are.
 */
static int move_chunk(char *p, u64 len, int mode, const unsigned long *mask,
		      unsigned *stuck)
{
	int tries;

	for (tries = 0; tries < 2; tries++) {
		if (!mbind(p, len, mode, mask, CONFIG_HOST_NODES + 1,
			   MPOL_MF_MOVE | MPOL_MF_STRICT))
			return 0;
		if (errno != EIO)
			return -errno;
	}
	(*stuck)++;
	return 0;
}

/* Set the node's record to the binding now in force, for query-numa. */
static void record_binding(struct config_node *n, const struct move_args *a)
{
	int id;

	if (!n->host_nodes.bits &&
	    cpulist_init(&n->host_nodes, CONFIG_HOST_NODES))
		return;
	cpulist_zero(&n->host_nodes);
	cpulist_for_each(id, &a->host_nodes)
		cpulist_set(&n->host_nodes, (unsigned)id);
	n->policy = a->policy;
}

/* Re-pin each vCPU of the node, as set-vcpu-affinity does. */
static int repin(struct machine *m, const struct move_args *a, json_t **pins,
		 struct qmp_error *err)
{
	const struct config_node *n = &m->cfg->nodes[a->node];
	json_t *one, *r;
	int v;

	*pins = json_array();
	cpulist_for_each(v, &n->cpus) {
		if ((unsigned)v >= m->vcpus.nr)
			continue;
		one = json_pack("{s:i,s:O}", "cpu-index", v, "cpus", a->cpus);
		r = NULL;
		if (!one || machine_cmd_set_vcpu_affinity(m, one, &r, err)) {
			json_decref(one);
			return -1;
		}
		json_decref(one);
		json_object_set_new(r, "cpu-index", json_integer(v));
		json_array_append_new(*pins, r);
	}
	return 0;
}

int machine_cmd_numa_move(void *ctx, json_t *args, json_t **ret,
			  struct qmp_error *err)
{
	struct machine *m = ctx;
	unsigned long mask[CONFIG_HOST_NODES / (8 * sizeof(long))] = { 0 };
	const size_t bpl = 8 * sizeof(long);
	struct move_args a = { 0 };
	u64 total = 0, done = 0, next_event = MOVE_EVENT_EVERY, off, len;
	unsigned i, stuck = 0;
	json_t *pins = NULL;
	char why[160];
	int id, r = -1;

	if (parse_move(m, args, &a, err))
		goto out;
	cpulist_for_each(id, &a.host_nodes)
		mask[id / bpl] |= 1UL << (id % bpl);
	for (i = 0; i < m->mem.nr; i++)
		if ((unsigned)m->mem.regions[i].node == a.node)
			total += m->mem.regions[i].size;
	move_event(m, a.node, 0, total, NULL, NULL);
	for (i = 0; i < m->mem.nr; i++) {
		const struct guest_region *g = &m->mem.regions[i];

		if ((unsigned)g->node != a.node || !g->hva)
			continue;
		for (off = 0; off < g->size; off += len) {
			len = MIN(MOVE_CHUNK, g->size - off);
			r = move_chunk((char *)g->hva + off, len,
				       policy_modes[a.policy], mask, &stuck);
			if (r) {
				/* The chunks done keep the new policy. */
				snprintf(why, sizeof(why),
					 "mbind at guest address 0x%llx: %s; %llu of %llu bytes moved",
					 (unsigned long long)(g->gpa + off),
					 strerror(-r), (unsigned long long)done,
					 (unsigned long long)total);
				move_event(m, a.node, done, total, "failed", why);
				qmp_fail(err, "GenericError", "numa-move: %s", why);
				r = -1;
				goto out;
			}
			done += len;
			if (done >= next_event && done < total) {
				move_event(m, a.node, done, total, NULL, NULL);
				next_event += MOVE_EVENT_EVERY;
			}
		}
	}
	record_binding(&m->cfg->nodes[a.node], &a);
	move_event(m, a.node, done, total, "completed", NULL);
	if (a.cpus && repin(m, &a, &pins, err)) {
		r = -1;
		goto out;
	}
	*ret = json_pack("{s:i,s:o,s:s,s:I,s:i}", "node", (int)a.node,
			 "host-nodes", list_json(&a.host_nodes),
			 "policy", policy_names[a.policy],
			 "moved-bytes", (json_int_t)done,
			 "chunks-with-unmoved-pages", (int)stuck);
	if (*ret && pins)
		json_object_set_new(*ret, "vcpus", pins);
	else
		json_decref(pins);
	pins = NULL;
	r = 0;
out:
	json_decref(pins);
	cpulist_free(&a.host_nodes);
	return r;
}
