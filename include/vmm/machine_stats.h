/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Control API commands for telemetry and run-time pinning
 * (vmm/machine_stats.c), listed in machine_api.c's table through
 * MACHINE_STATS_CMDS:
 *
 *   set-vcpu-affinity {"cpu-index": N, "cpus": "0-3"}
 *   set-iothread-affinity {"iothread": N, "cpus": "0-3"}
 *       re-pin one thread now, checked like the config (CPUs this
 *       process may use); the reply names the new set.
 *   query-stats
 *       KVM's binary statistics (VM and per vCPU), the VMM's exits to
 *       user space per vCPU by kind, per device and queue kicks and
 *       interrupts, per I/O thread events; CPU and run-queue wait time
 *       of every thread. Counters are read without locks (racy but
 *       monotonic), so the data path is unchanged.
 *
 * The JSON of query-stats is what metrics.h renders and vmm/top.c shows.
 */
#ifndef SMPVISOR_MACHINE_STATS_H
#define SMPVISOR_MACHINE_STATS_H

#include "vmm/qmp.h"

struct machine;

/*
 * KVM's statistics files, opened once when the API starts: opening a
 * vCPU's (KVM_GET_STATS_FD) waits for that vCPU to leave KVM_RUN, which a
 * busy guest may not do for a long time, while reading an open one never
 * waits. -1 where KVM has none.
 */
struct machine_stats {
	bool open;
	int vm_fd;
	int *vcpu_fd;
	unsigned nr_vcpus;
};

/* Open them (before the vCPUs run); without them query-stats says why. */
void machine_stats_open(struct machine *m);
void machine_stats_close(struct machine *m);

int machine_cmd_set_vcpu_affinity(void *ctx, json_t *args, json_t **ret,
				  struct qmp_error *err);
int machine_cmd_set_iothread_affinity(void *ctx, json_t *args, json_t **ret,
				      struct qmp_error *err);
int machine_cmd_query_stats(void *ctx, json_t *args, json_t **ret,
			    struct qmp_error *err);

#define MACHINE_STATS_CMDS \
	{ "set-vcpu-affinity",		machine_cmd_set_vcpu_affinity }, \
	{ "set-iothread-affinity",	machine_cmd_set_iothread_affinity }, \
	{ "query-stats",		machine_cmd_query_stats }

/* The host CPU thread tid (of this process) last ran on, or -1. */
int machine_thread_cpu(int tid);

#endif
