/* SPDX-License-Identifier: GPL-2.0 */
/*
 * query-stats (machine_stats.h) in the Prometheus text exposition format
 * (version 0.0.4): one "# HELP" and "# TYPE" line per metric, then its
 * samples, metric names "smpvisor_...", labels vcpu="N",
 * device="virtio-blk0", queue="0", iothread="N". KVM's own statistics
 * keep their names: smpvisor_kvm_vm_NAME and smpvisor_kvm_vcpu_NAME
 * (counters get "_total"). Rendering is the client's (smpvisor ctl
 * SOCKET metrics), so the server keeps one reply format.
 */
#ifndef SMPVISOR_METRICS_H
#define SMPVISOR_METRICS_H

#include <jansson.h>

/* The text for a query-stats reply (malloc'ed), or NULL out of memory. */
char *metrics_render(json_t *stats);

#endif
