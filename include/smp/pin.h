/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host CPU affinity for our threads: vCPU threads, I/O threads and the
 * main VMM thread get their CPU sets from the config before the guest
 * runs. A set naming a CPU this process may not use (outside the
 * sched_getaffinity mask it started with, e.g. under taskset or a cpuset
 * cgroup) is refused with one line naming the thread, never silently
 * narrowed.
 */
#ifndef SMPVISOR_PIN_H
#define SMPVISOR_PIN_H

#include "lib/parse.h"

/* Host CPU numbers a pin (and the config) may name are below this. */
#define SMP_HOST_CPUS	8192

/*
 * The CPUs this process may run on, read once (the first call) so threads
 * that pinned themselves do not shrink it for later ones. cl must be
 * empty (bits NULL); it is sized SMP_HOST_CPUS. 0 or -errno.
 */
int smp_pin_allowed(struct cpulist *cl);

/*
 * Check cpus against the allowed set: 0, or -EINVAL after printing
 * "<what>: CPU 7 is outside the CPUs this process may use (0-1)".
 */
int smp_pin_check(const struct cpulist *cpus, const char *what);

/*
 * Pin the calling thread to cpus (checked as smp_pin_check does). what
 * names the thread in messages ("vcpu 3", "iothread 0"). 0 or -errno.
 */
int smp_pin_self(const struct cpulist *cpus, const char *what);

#endif
