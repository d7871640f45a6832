/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Control API commands for the host NUMA placement of guest memory
 * (vmm/machine_numa.c), listed in machine_api.c's table through
 * MACHINE_NUMA_CMDS:
 *
 *   query-numa
 *       per guest node: its guest-physical ranges, vCPUs, host nodes and
 *       policy in force, and its resident pages per host node (counted
 *       with move_pages(2), sampled on nodes above a bound).
 *   numa-move {"node": N, "host-nodes": "1", "policy": "bind",
 *              "cpus": "2-3"}
 *       move guest node N's memory to those host nodes while the guest
 *       runs, a chunk at a time, with NUMA_MOVE progress events; "cpus"
 *       also re-pins the node's vCPUs. Replies when done.
 */
#ifndef SMPVISOR_MACHINE_NUMA_H
#define SMPVISOR_MACHINE_NUMA_H

#include "vmm/qmp.h"

int machine_cmd_query_numa(void *ctx, json_t *args, json_t **ret,
			   struct qmp_error *err);
int machine_cmd_numa_move(void *ctx, json_t *args, json_t **ret,
			  struct qmp_error *err);

#define MACHINE_NUMA_CMDS \
	{ "query-numa",		machine_cmd_query_numa }, \
	{ "numa-move",		machine_cmd_numa_move }

#endif
