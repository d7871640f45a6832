/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Snapshot and restore of the machine (vmm/machine_snapshot.c,
 * vmm/machine_restore.c; the files: include/vmm/snapshot.h).
 *
 * Control API, listed in machine_api.c's table through
 * MACHINE_SNAPSHOT_CMDS:
 *
 *   query-snapshot-files
 *       {"files": ["manifest.json", "state.bin", "mem-node0.bin", ...]}:
 *       the files a snapshot of this VM is made of, in the order the
 *       snapshot command takes them.
 *   snapshot {"resume": false}
 *       with those files' descriptors attached (SCM_RIGHTS, opened for
 *       writing by the client): pause, write the VM into them, then end
 *       the VM (SHUTDOWN, reason "snapshot") or, with "resume", run on.
 *       SNAPSHOT_PROGRESS events while the memory is written.
 *
 * Restore ("run --restore DIR"), as init steps of machine.c:
 *   restore-check   after "host": the manifest read and checked against
 *                   the config, the state stream and memory files opened
 *                   and sized; any mismatch is one line and exit 1
 *   restore-memory  after "memory": each node's file into its RAM, which
 *                   is already bound to its host nodes
 *   restore-state   in place of "acpi" and "boot": interrupt controllers,
 *                   vCPUs, kvmclock and every device loaded
 */
#ifndef SMPVISOR_MACHINE_SNAPSHOT_H
#define SMPVISOR_MACHINE_SNAPSHOT_H

#include "vmm/qmp.h"
#include "vmm/snapshot.h"

/* What a restore keeps between its steps. */
struct machine_snap {
	struct snap_manifest mf;
	u8 *state;			/* state.bin, checked */
	size_t state_len;
	int mem_fd[GUEST_MEM_MAX_NODES];
	unsigned nr_mem;		/* opened */
	bool active;			/* this run restores */
};

struct machine;
int machine_restore_check(struct machine *m);
void machine_restore_exit(struct machine *m);
int machine_restore_memory(struct machine *m);
int machine_restore_state(struct machine *m);
/* The same machine description as the snapshot's (names the difference). */
int machine_snap_compare(struct machine *m, const struct snap_manifest *mf,
			 char *why, size_t len);
int machine_snap_compare_memory(struct machine *m,
				const struct snap_manifest *mf, char *why,
				size_t len);
/* This machine's manifest, without argv, disks' times and state size. */
int machine_snap_describe(struct machine *m, struct snap_manifest *mf);

/*
 * The paused machine's state stream (vm, vcpu.N, every device), malloc'ed,
 * and its manifest as JSON text; NULL with why set.
 */
u8 *machine_state_save(struct machine *m, size_t *len, char *why, size_t wl);
char *machine_manifest_text(struct machine *m, size_t state_len, char *why,
			    size_t wl);

int machine_cmd_query_snapshot_files(void *ctx, json_t *args, json_t **ret,
				     struct qmp_error *err);
int machine_cmd_snapshot(void *ctx, json_t *args, json_t **ret,
			 struct qmp_error *err);

#define MACHINE_SNAPSHOT_CMDS \
	{ "query-snapshot-files", machine_cmd_query_snapshot_files }, \
	{ "snapshot",		machine_cmd_snapshot }

#endif
