// SPDX-License-Identifier: GPL-2.0
/*
 * Thread affinity of our threads. The set of CPUs the process may use is
 * read once, at the first call, before any of our threads narrowed its
 * own mask; every pin is checked against it so a pin outside (a CPU that
 * is offline, not in our cpuset, or absent) fails with one clear line.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smp/pin.h"

static struct cpulist allowed;
static int allowed_err;
static pthread_once_t allowed_once = PTHREAD_ONCE_INIT;

static void read_allowed(void)
{
	cpu_set_t *set;
	size_t sz = CPU_ALLOC_SIZE(SMP_HOST_CPUS);
	unsigned i;

	set = CPU_ALLOC(SMP_HOST_CPUS);
	if (!set || cpulist_init(&allowed, SMP_HOST_CPUS)) {
		allowed_err = -ENOMEM;
		goto out;
	}
	if (sched_getaffinity(0, sz, set) < 0) {
		allowed_err = -errno;
		pr_err("cannot read this process's CPU affinity: %s",
		       strerror(errno));
		goto out;
	}
	for (i = 0; i < SMP_HOST_CPUS; i++)
		if (CPU_ISSET_S(i, sz, set))
			cpulist_set(&allowed, i);
out:
	CPU_FREE(set);
}

int smp_pin_allowed(struct cpulist *cl)
{
	int cpu, r;

	pthread_once(&allowed_once, read_allowed);
	if (allowed_err)
		return allowed_err;
	r = cpulist_init(cl, SMP_HOST_CPUS);
	if (r)
		return r;
	cpulist_for_each(cpu, &allowed)
		cpulist_set(cl, cpu);
	return 0;
}

int smp_pin_check(const struct cpulist *cpus, const char *what)
{
	char *list;
	int cpu;

	pthread_once(&allowed_once, read_allowed);
	if (allowed_err)
		return allowed_err;
	cpulist_for_each(cpu, cpus) {
		if (cpulist_test(&allowed, cpu))
			continue;
		list = cpulist_format(&allowed);
		pr_err("%s: CPU %d is outside the CPUs this process may use (%s)",
		       what, cpu, list ? list : "?");
		free(list);
		return -EINVAL;
	}
	if (!cpulist_count(cpus)) {
		pr_err("%s: empty CPU list", what);
		return -EINVAL;
	}
	return 0;
}

int smp_pin_self(const struct cpulist *cpus, const char *what)
{
	size_t sz = CPU_ALLOC_SIZE(SMP_HOST_CPUS);
	cpu_set_t *set;
	int cpu, r;

	pthread_once(&allowed_once, read_allowed);
	if (allowed_err)
		return allowed_err;
	if (!cpus)
		cpus = &allowed;
	r = smp_pin_check(cpus, what);
	if (r)
		return r;
	set = CPU_ALLOC(SMP_HOST_CPUS);
	if (!set)
		return -ENOMEM;
	CPU_ZERO_S(sz, set);
	cpulist_for_each(cpu, cpus)
		if ((unsigned)cpu < SMP_HOST_CPUS)
			CPU_SET_S(cpu, sz, set);
	r = pthread_setaffinity_np(pthread_self(), sz, set);
	CPU_FREE(set);
	if (r) {
		pr_err("%s: cannot set CPU affinity: %s", what, strerror(r));
		return -r;
	}
	return 0;
}
