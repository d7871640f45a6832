/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control API: a unix socket, QMP sessions on it (qmp.h), served by
 * a thread of its own named "api", never by a vCPU thread.
 *
 * - The socket is created with mode 0600 (owner only) and removed at
 *   exit. A path that exists and is a socket nobody listens on (left by
 *   a crash) is replaced; any other file is refused.
 * - Up to API_MAX_CLIENTS clients at once. Each one's output is bounded
 *   (QMP_MAX_OUT): a client that stops reading is dropped and never
 *   blocks the VM.
 * - Commands run on the API thread, one at a time, from a table the
 *   machine supplies (vmm/machine_api.c).
 * - Events may come from any thread: api_event queues them for every
 *   negotiated client and wakes the API thread to send them.
 * - A client may pass file descriptors (SCM_RIGHTS) with its messages,
 *   as libvirt does with QEMU: the VMM, once sandboxed, cannot open
 *   files itself, so a command such as `snapshot` works on files the
 *   client opened. They are held on the client in arrival order, at most
 *   API_MAX_FDS of them; any more, and those of a message whose control
 *   data was cut short, are closed at once. A command takes them with
 *   api_take_fds. Fds are bound to the client, not to a message: send
 *   them with the command meant to take them and wait for its reply.
 */
#ifndef SMPVISOR_API_H
#define SMPVISOR_API_H

#include <pthread.h>

#include <jansson.h>

#include "vmm/qmp.h"

#define API_MAX_CLIENTS	128
#define API_MAX_FDS	16	/* fds held per client */

struct api_client;
struct api_pending_event;

struct api {
	char *path;
	int listen_fd, epfd, wake_fd;
	pthread_t thread;
	bool started;
	const struct qmp_cmd *cmds;
	unsigned nr_cmds;
	void *ctx;
	const char *version;
	/* The API thread's alone (and api_destroy's, once it stopped). */
	struct api_client *clients[API_MAX_CLIENTS];
	struct api_client *feeding;	/* whose input qmp_feed is running */
	u64 accepted, dropped;		/* stats */
	/* Events raised by any thread, and the stop request. */
	pthread_mutex_t lock;
	struct api_pending_event *events, *events_tail;
	bool stop;
};

/* Create the socket (0 or -errno, message printed); no thread yet. */
int api_init(struct api *a, const char *path, const struct qmp_cmd *cmds,
	     unsigned nr_cmds, void *ctx, const char *version);
int api_start(struct api *a);
/* Stop the thread, close every client, remove the socket. */
void api_destroy(struct api *a);
/*
 * Send an event to every negotiated client (any thread; data may be NULL,
 * and is copied: the caller keeps its reference).
 */
void api_event(struct api *a, const char *name, json_t *data);
/*
 * From a command that runs long on the API thread (elsewhere a no-op):
 * send the events queued so far now, not after its reply, so clients see
 * its progress events while it runs.
 */
void api_send_events_now(struct api *a);
/*
 * From a command, on the API thread: take up to max of the fds received
 * so far from the client whose command is running, oldest first, into
 * fds; they are the caller's to close from then on. Returns how many
 * (0 from any other thread or with no command running). Fds a command
 * does not take stay with the client for its next command, and are
 * closed with the client.
 */
unsigned api_take_fds(struct api *a, int *fds, unsigned max);

#endif
