/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Snapshots: a paused VM written to a directory, and rebuilt from it by a
 * new process (smpvisor ctl SOCKET snapshot DIR; smpvisor run --restore
 * DIR). The directory holds:
 *
 *   manifest.json   what the VM was (written last: its presence says the
 *                   snapshot is whole); parsed by snap_manifest_parse
 *   state.bin       one lib/state stream: "vm" (interrupt controllers,
 *                   PIT, kvmclock), "vcpu.N" per vCPU, then one section
 *                   per device (the device model's dm_save)
 *   mem-nodeK.bin   guest NUMA node K's RAM, its regions in address
 *                   order, sparse: pages that are zero are holes
 *
 * The VMM never opens these itself while running (Landlock, seccomp):
 * the client opens the files query-snapshot-files names and hands them
 * over with the snapshot command (SCM_RIGHTS). A restore opens them at
 * set-up, before the sandbox is sealed.
 *
 * Everything read back is untrusted: the manifest is checked here field
 * by field, the state stream by lib/state and each loader, the memory
 * files by their size.
 */
#ifndef SMPVISOR_SNAPSHOT_H
#define SMPVISOR_SNAPSHOT_H

#include <jansson.h>

#include "lib/util.h"
#include "vmm/memory.h"

#define SNAP_FORMAT		1
#define SNAP_MANIFEST		"manifest.json"
#define SNAP_STATE		"state.bin"
#define SNAP_MANIFEST_MAX	(1u << 20)	/* bytes */
#define SNAP_MAX_DEVICES	512
#define SNAP_MAX_DISKS		256
#define SNAP_MAX_ARGS		4096
#define SNAP_MAX_VCPUS		8192
#define SNAP_MAX_FILES		(2 + GUEST_MEM_MAX_NODES)

struct snap_disk {
	char *path;
	u64 size;
	int64_t mtime_ns;
};

struct snap_manifest {
	u32 format;
	char *version;			/* the smpvisor that wrote it */
	json_t *argv;			/* the run options, an array of strings */
	u32 nr_cpus, sockets, cores, threads;
	u32 *apic_ids;			/* nr_cpus of them */
	unsigned nr_nodes;		/* memory files */
	u64 node_size[GUEST_MEM_MAX_NODES];
	u64 state_size;			/* bytes of state.bin */
	char **devices;			/* the device model's names, in order */
	unsigned nr_devices;
	struct snap_disk *disks;
	unsigned nr_disks;
	u64 taken_ns;			/* CLOCK_REALTIME at the snapshot */
};

/* "mem-node<k>.bin" into buf. */
void snap_mem_name(char *buf, size_t len, unsigned node);

/* The manifest as JSON (a new reference), or NULL without memory. */
json_t *snap_manifest_json(const struct snap_manifest *mf);
/*
 * Parse and check a manifest's text: 0, or -EINVAL with a one-line reason
 * in why (a format newer than SNAP_FORMAT is refused by name). mf is
 * zeroed first and owns what it holds: free it with snap_manifest_free,
 * whatever the result.
 */
int snap_manifest_parse(const char *text, size_t len, struct snap_manifest *mf,
			char *why, size_t why_len);
void snap_manifest_free(struct snap_manifest *mf);
/* DIR's manifest read and parsed; the same, why naming the file. */
int snap_manifest_load(const char *dir, struct snap_manifest *mf, char *why,
		       size_t why_len);

/*
 * Guest memory to and from a node's file. snap_mem_write writes the
 * pages of [hva, hva + size) that are not zero at offset off of fd (a
 * memfd-backed region's holes are skipped without reading them: shared
 * memory would be allocated by the read); snap_mem_read reads the data
 * extents of fd's [off, off + size) into hva and leaves holes untouched.
 * *done grows by the bytes covered. 0 or -errno.
 */
struct snap_progress {
	u64 done, total, written;
	u64 start_ns, last_ns;
	void (*report)(struct snap_progress *p);	/* about once a second */
	void *opaque;
};

/* Whether the GUEST_PAGE_SIZE bytes at p are all zero. */
bool snap_page_zero(const u8 *p);

int snap_mem_write(int fd, u64 off, const struct guest_region *g,
		   struct snap_progress *p);
int snap_mem_read(int fd, u64 off, const struct guest_region *g,
		  struct snap_progress *p);

#endif
