/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Live migration: a running VM streamed to another smpvisor, pre-copy
 * (vmm/migrate.c sends, vmm/migrate_in.c receives, vmm/migrate_stream.c
 * is the format both sides share, vmm/ctl_migrate.c the client).
 *
 * The stream, after an 8-byte magic "SMPVMIG\0" and u32 version, u32 0:
 * frames of a 16-byte header {u32 type, u32 len, u64 gpa} and a payload.
 *
 *   'M'  the snapshot manifest (include/vmm/snapshot.h), len bytes of JSON
 *   'P'  guest pages at gpa, len bytes (a page multiple, at most
 *        MIG_MAX_RUN) of their contents
 *   'Z'  len bytes of zero pages at gpa (no payload)
 *   'S'  the state stream (vm, vcpu.N, every device), len bytes
 *   'E'  the end
 *
 * The destination answers one byte, MIG_ACK, once it has loaded all of
 * it; only then does the source end. Anything else (a refusal, a drop)
 * leaves the source running. A stream read is untrusted: every frame is
 * checked against the destination's memory layout before a byte lands
 * (tests/fuzz/migrate_stream_harness.c).
 */
#ifndef SMPVISOR_MIGRATE_H
#define SMPVISOR_MIGRATE_H

#include <pthread.h>
#include <stdatomic.h>

#include "lib/util.h"
#include "vmm/memory.h"
#include "vmm/qmp.h"

#define MIG_MAGIC		"SMPVMIG"	/* 8 bytes with its NUL */
#define MIG_VERSION		1
#define MIG_MAX_RUN		(8u << 20)	/* bytes of one 'P' frame */
#define MIG_MAX_STATE		(256u << 20)
#define MIG_ACK			'K'
#define MIG_DEFAULT_DOWNTIME_MS	300
#define MIG_MAX_ROUNDS		60

enum mig_frame {
	MIG_MANIFEST = 'M',
	MIG_PAGES = 'P',
	MIG_ZERO = 'Z',
	MIG_STATE = 'S',
	MIG_END = 'E',
};

struct mig_hdr {
	u32 type;
	u32 len;
	u64 gpa;
};

/* Read exactly len bytes (0 or -errno, -EPIPE at the end of the stream). */
typedef int (*mig_read_fn)(void *opaque, void *buf, size_t len);

/*
 * The receiving side of the stream after the manifest: pages into m,
 * until the state, which is returned (malloc'ed, *len bytes) at 'E'.
 * 0, or -errno with a one-line reason in why.
 */
int mig_recv_memory(struct guest_mem *m, mig_read_fn rd, void *opaque,
		    u8 **state, size_t *len, char *why, size_t why_len);
/* The header and the manifest frame: the manifest text (malloc'ed). */
int mig_recv_manifest(mig_read_fn rd, void *opaque, char **text,
		      size_t *len, char *why, size_t why_len);

/* The source side's state, one per machine (vmm/migrate.c). */
enum mig_phase {
	MIG_NONE,
	MIG_SETUP,
	MIG_ACTIVE,
	MIG_STOP_COPY,
	MIG_COMPLETED,
	MIG_FAILED,
	MIG_CANCELLED,
};

struct migration {
	pthread_t thread;
	bool thread_ok;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool go, quit;			/* under lock */
	int fd;				/* the connection, under lock */
	atomic_bool cancel;
	u32 downtime_budget_ms;
	/* Progress: written by the worker, read by query-migrate. */
	_Atomic enum mig_phase phase;
	atomic_ullong bytes, pages, zero_pages, rounds, dirty_rate;
	atomic_ullong remaining, expected_ms, throttle, downtime_ms, total_ms;
	char error[256];		/* under lock */
};

struct machine;
int machine_migrate_init(struct machine *m);
void machine_migrate_exit(struct machine *m);
int machine_cmd_migrate(void *ctx, json_t *args, json_t **ret,
			struct qmp_error *err);
int machine_cmd_query_migrate(void *ctx, json_t *args, json_t **ret,
			      struct qmp_error *err);
int machine_cmd_migrate_cancel(void *ctx, json_t *args, json_t **ret,
			       struct qmp_error *err);

#define MACHINE_MIGRATE_CMDS \
	{ "migrate",		machine_cmd_migrate }, \
	{ "query-migrate",	machine_cmd_query_migrate }, \
	{ "migrate-cancel",	machine_cmd_migrate_cancel }

/* Destination (vmm/migrate_in.c): init steps beside the restore's. */
int machine_incoming_accept(struct machine *m);
void machine_incoming_exit(struct machine *m);
int machine_incoming_memory(struct machine *m);
int machine_incoming_ack(struct machine *m);

/* ctl SOCKET migrate URI [downtime-ms=N] (vmm/ctl_migrate.c). */
struct ctl_conn;
int ctl_migrate(struct ctl_conn *c, const char *uri, json_t *args);
/* unix:PATH or tcp:HOST:PORT: a connected (client) or listening socket. */
int mig_uri_socket(const char *uri, bool listen_on, char *why, size_t len);

#endif
