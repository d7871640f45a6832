// SPDX-License-Identifier: GPL-2.0
/*
 * Telemetry and run-time pinning on the control API (machine_stats.h).
 * Commands run on the API thread while the guest runs: they only read
 * counters the vCPU and I/O threads own (plain u64 reads, racy by a few
 * events but never torn on x86-64) and open KVM's statistics files, so
 * nothing on the exit or request path takes a lock or an atomic for them.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smp/pin.h"
#include "vmm/machine.h"
#include "vmm/machine_stats.h"

/* An integer argument in [0, limit), or -1 with err filled. */
static long index_arg(json_t *args, const char *key, unsigned limit,
		      const char *what, struct qmp_error *err)
{
	json_t *v = json_object_get(args, key);
	json_int_t i;

	if (!json_is_integer(v)) {
		qmp_fail(err, "GenericError",
			 "'%s' must be given, as an integer", key);
		return -1;
	}
	i = json_integer_value(v);
	if (i < 0 || i >= (json_int_t)limit) {
		qmp_fail(err, "GenericError", "no %s %lld (there are %u)",
			 what, (long long)i, limit);
		return -1;
	}
	return (long)i;
}

/*
 * Pin thread tid to the "cpus" argument, checked as the config is:
 * parsed, not empty, within the CPUs this process may use. Not once the
 * VM is ending: its threads' ids may be gone (and reused) by then.
 */
static int pin_thread(struct machine *m, int tid, const char *what,
		      json_t *args, json_t **ret, struct qmp_error *err)
{
	json_t *arg = json_object_get(args, "cpus");
	const char *list = json_string_value(arg);
	size_t sz = CPU_ALLOC_SIZE(SMP_HOST_CPUS);
	struct cpulist cl = { 0 }, allowed = { 0 };
	cpu_set_t *set = NULL;
	char *s = NULL;
	char num[24];
	int cpu, r = -1;

	/* One CPU may come as a number ("cpus": 3, or cpus=3 from ctl). */
	if (json_is_integer(arg)) {
		snprintf(num, sizeof(num), "%lld",
			 (long long)json_integer_value(arg));
		list = num;
	}
	if (!list)
		return qmp_fail(err, "GenericError",
				"'cpus' must be given, as a string like \"0-3,8\"");
	if (!tid || atomic_load(&m->exit_reason) != VM_EXIT_NONE)
		return qmp_fail(err, "GenericError", "%s is not running", what);
	if (cpulist_init(&cl, SMP_HOST_CPUS) || smp_pin_allowed(&allowed)) {
		qmp_fail(err, "GenericError", "out of memory");
		goto out;
	}
	r = parse_cpulist(list, &cl);
	if (r == -ERANGE) {
		qmp_fail(err, "GenericError", "'cpus' %s: CPU numbers stop below %u",
			 list, SMP_HOST_CPUS);
		goto out;
	}
	if (r || !cpulist_count(&cl)) {
		qmp_fail(err, "GenericError",
			 "'cpus' %s is not a CPU list like \"0-3,8\"", list);
		r = -1;
		goto out;
	}
	r = -1;
	cpulist_for_each(cpu, &cl) {
		if (cpulist_test(&allowed, (unsigned)cpu))
			continue;
		s = cpulist_format(&allowed);
		qmp_fail(err, "GenericError",
			 "%s: CPU %d is outside the CPUs this process may use (%s)",
			 what, cpu, s ? s : "?");
		goto out;
	}
	set = CPU_ALLOC(SMP_HOST_CPUS);
	if (!set) {
		qmp_fail(err, "GenericError", "out of memory");
		goto out;
	}
	CPU_ZERO_S(sz, set);
	cpulist_for_each(cpu, &cl)
		CPU_SET_S((unsigned)cpu, sz, set);
	if (sched_setaffinity(tid, sz, set)) {
		qmp_fail(err, "GenericError", "%s: cannot set its CPUs: %s",
			 what, strerror(errno));
		goto out;
	}
	s = cpulist_format(&cl);
	*ret = json_pack("{s:i,s:s?}", "thread-id", tid, "cpus", s);
	r = 0;
out:
	CPU_FREE(set);
	free(s);
	cpulist_free(&cl);
	cpulist_free(&allowed);
	return r;
}

int machine_cmd_set_vcpu_affinity(void *ctx, json_t *args, json_t **ret,
				  struct qmp_error *err)
{
	struct machine *m = ctx;
	char what[32];
	long i = index_arg(args, "cpu-index", m->vcpus.nr, "vCPU", err);

	if (i < 0)
		return -1;
	snprintf(what, sizeof(what), "vcpu %ld", i);
	return pin_thread(m, atomic_load(&m->vcpus.v[i].tid), what, args, ret,
			  err);
}

int machine_cmd_set_iothread_affinity(void *ctx, json_t *args, json_t **ret,
				      struct qmp_error *err)
{
	struct machine *m = ctx;
	char what[32];
	long i = index_arg(args, "iothread", m->nr_iothreads, "I/O thread",
			   err);

	if (i < 0)
		return -1;
	snprintf(what, sizeof(what), "iothread %ld", i);
	return pin_thread(m, atomic_load(&m->iothreads[i].tid), what, args, ret,
			  err);
}

void machine_stats_open(struct machine *m)
{
	struct machine_stats *st = &m->stats;
	unsigned i;

	st->vm_fd = -1;
	st->nr_vcpus = 0;
	st->vcpu_fd = calloc(m->vcpus.nr ? m->vcpus.nr : 1, sizeof(int));
	st->open = true;
	if (!st->vcpu_fd ||
	    kvm_check_extension(&m->kvm, KVM_CAP_BINARY_STATS_FD) <= 0)
		return;
	st->vm_fd = kvm_vm_stats_fd(&m->kvm);
	for (i = 0; i < m->vcpus.nr; i++)
		st->vcpu_fd[i] = kvm_vcpu_stats_fd(&m->vcpus.v[i].kv);
	st->nr_vcpus = m->vcpus.nr;
}

void machine_stats_close(struct machine *m)
{
	struct machine_stats *st = &m->stats;
	unsigned i;

	if (!st->open)
		return;
	for (i = 0; i < st->nr_vcpus; i++)
		if (st->vcpu_fd[i] >= 0)
			close(st->vcpu_fd[i]);
	if (st->vm_fd >= 0)
		close(st->vm_fd);
	free(st->vcpu_fd);
	memset(st, 0, sizeof(*st));
}

/*
 * /proc/self/task/TID/schedstat: time on a CPU and time waiting for one
 * (run-queue delay: for a vCPU, what the guest sees as steal), in ns.
 */
static void add_schedstat(json_t *o, int tid)
{
	unsigned long long run, wait;
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", tid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fscanf(f, "%llu %llu", &run, &wait) == 2) {
		json_object_set_new(o, "cpu-time-ns", json_integer((json_int_t)run));
		json_object_set_new(o, "wait-ns", json_integer((json_int_t)wait));
	}
	fclose(f);
}

struct kvm_collect {
	json_t *values;		/* name: value */
	json_t *gauges;		/* names that are not counters */
};

static void kvm_collect_one(void *arg, const char *name, u64 value,
			    bool cumulative)
{
	struct kvm_collect *c = arg;
	size_t i;
	json_t *g;

	json_object_set_new(c->values, name, json_integer((json_int_t)value));
	if (cumulative || !c->gauges)
		return;
	json_array_foreach(c->gauges, i, g)
		if (!strcmp(json_string_value(g), name))
			return;
	json_array_append_new(c->gauges, json_string(name));
}

/* A stats fd read into an object; NULL on error. */
static json_t *kvm_stats_json(int fd, json_t *gauges)
{
	struct kvm_collect c = { json_object(), gauges };
	int r;

	if (fd < 0) {
		json_decref(c.values);
		return NULL;
	}
	r = c.values ? kvm_stats_read(fd, kvm_collect_one, &c) : -ENOMEM;
	if (r < 0) {
		json_decref(c.values);
		return NULL;
	}
	return c.values;
}

static json_t *vcpu_stats(struct machine *m, unsigned i, json_t *gauges)
{
	struct vcpu *v = &m->vcpus.v[i];
	int tid = atomic_load(&v->tid);
	json_t *o, *k;

	o = json_pack("{s:i,s:i,s:i,s:I,s:I,s:I}", "cpu-index", (int)i,
		      "thread-id", tid, "host-cpu",
		      tid ? machine_thread_cpu(tid) : -1,
		      "exits", (json_int_t)v->exits,
		      "pio-exits", (json_int_t)v->pio_exits,
		      "mmio-exits", (json_int_t)v->mmio_exits);
	if (!o)
		return NULL;
	if (tid)
		add_schedstat(o, tid);
	if (gauges && i < m->stats.nr_vcpus) {
		k = kvm_stats_json(m->stats.vcpu_fd[i], gauges);
		if (k)
			json_object_set_new(o, "kvm", k);
	}
	return o;
}

static json_t *device_stats(struct virtio_pci *vp)
{
	json_t *qs = json_array();
	unsigned i;

	for (i = 0; qs && i < vp->nr_queues; i++) {
		const struct virtio_queue *q = &vp->q[i];
		struct virtq_stats s = virtq_stats_read(&q->vq);

		/*
		 * A back end's queue (vhost) is served elsewhere: its
		 * requests are not seen here, and say so.
		 */
		json_array_append_new(qs, json_pack("{s:i,s:I,s:I,s:b,s:I,s:I,s:I,s:I}",
			"queue", (int)i, "kicks", (json_int_t)q->kicks,
			"irqs", (json_int_t)q->irqs,
			"served-here", i >= vp->nr_backend,
			"requests", (json_int_t)s.done,
			"in-flight", (json_int_t)(s.popped - s.done),
			"bytes-out", (json_int_t)s.out_bytes,
			"bytes-in", (json_int_t)s.in_bytes));
	}
	return json_pack("{s:s,s:I,s:I,s:I,s:o*}", "name", vp->name,
			 "register-exits",
			 (json_int_t)atomic_load(&vp->reg_exits),
			 "slow-notifies",
			 (json_int_t)atomic_load(&vp->slow_notifies),
			 "status-refused", (json_int_t)vp->status_refused,
			 "queues", qs);
}

static json_t *kvm_part(struct machine *m, json_t **gauges)
{
	json_t *k, *vm;

	*gauges = NULL;
	if (!m->stats.open || (!m->stats.nr_vcpus && m->stats.vm_fd < 0))
		return json_pack("{s:b,s:s}", "available", false, "reason",
				 "KVM lacks KVM_CAP_BINARY_STATS_FD (Linux 5.14+)");
	*gauges = json_array();
	vm = kvm_stats_json(m->stats.vm_fd, *gauges);
	k = json_pack("{s:b,s:o*,s:O*}", "available", true, "vm", vm,
		      "gauges", *gauges);
	return k;
}

int machine_cmd_query_stats(void *ctx, json_t *args, json_t **ret,
			    struct qmp_error *err)
{
	struct machine *m = ctx;
	json_t *o, *gauges, *vcpus = json_array(), *devs = json_array(),
	       *iots = json_array();
	unsigned i;

	(void)args;
	o = json_pack("{s:I,s:o*}", "uptime-ms",
		      (json_int_t)((now_ns() - m->start_ns) / 1000000),
		      "kvm", kvm_part(m, &gauges));
	if (!o || !vcpus || !devs || !iots) {
		json_decref(o);
		json_decref(vcpus);
		json_decref(devs);
		json_decref(iots);
		json_decref(gauges);
		return qmp_fail(err, "GenericError", "out of memory");
	}
	for (i = 0; i < m->vcpus.nr; i++)
		json_array_append_new(vcpus, vcpu_stats(m, i, gauges));
	json_decref(gauges);
	for (i = 0; i < m->nr_disks; i++)
		json_array_append_new(devs, device_stats(&m->disks[i].vp));
	for (i = 0; i < m->nr_vdisks; i++)
		json_array_append_new(devs, device_stats(&m->vdisks[i].vp));
	for (i = 0; i < m->nr_nets; i++)
		json_array_append_new(devs, device_stats(&m->nets[i].vp));
	if (m->rng_ok)
		json_array_append_new(devs, device_stats(&m->rng.vp));
	for (i = 0; i < m->nr_iothreads; i++) {
		const struct iothread *t = &m->iothreads[i];
		int tid = atomic_load(&t->tid);
		json_t *it = json_pack("{s:i,s:i,s:I}", "iothread", (int)i,
				       "thread-id", tid, "events",
				       (json_int_t)t->events);

		if (it && tid)
			add_schedstat(it, tid);
		json_array_append_new(iots, it);
	}
	json_object_set_new(o, "vcpus", vcpus);
	json_object_set_new(o, "devices", devs);
	json_object_set_new(o, "iothreads", iots);
	*ret = o;
	return 0;
}
