/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The front-end side of the vhost-user protocol (QEMU's docs/interop/
 * vhost-user.rst): messages over a UNIX stream socket, file descriptors
 * passed with SCM_RIGHTS, so a back end in another process
 * (qemu-storage-daemon) serves a device's virtqueues straight from guest
 * RAM. Kicks reach it through the queues' ioeventfds, its interrupts go
 * into the MSI-X irqfds: the data path never passes through smpvisor.
 *
 * Everything a back end sends is checked before use: the request code it
 * answers, the reply flag, the version, the payload size, and that it
 * carries no descriptors. A peer that breaks the protocol, hangs up or
 * does not answer in time gets -EPROTO, -ECONNRESET or -ETIMEDOUT and a
 * one-line message, never a crash (sends use MSG_NOSIGNAL, no SIGPIPE);
 * the connection is dead from then on.
 *
 * Time: a request and its whole reply share one deadline (timeout_ms from
 * the send), however the peer spreads its bytes; the socket is
 * non-blocking and every wait is a poll() against that deadline.
 *
 * One thread at a time per connection: the caller serialises (a device
 * runs every round trip on its own worker thread). vhost_user_abort is
 * the exception: any thread may call it to cut a round trip short.
 */
#ifndef SMPVISOR_VHOST_USER_H
#define SMPVISOR_VHOST_USER_H

#include "lib/util.h"
#include "vmm/memory.h"

/* Front-end requests (the numbers are the protocol's). */
enum vhost_user_req {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_GET_CONFIG = 24,
};

/* Header flags. */
#define VHOST_USER_VERSION		0x1
#define VHOST_USER_VERSION_MASK		0x3
#define VHOST_USER_REPLY		(1U << 2)
#define VHOST_USER_NEED_REPLY		(1U << 3)

/* Virtio feature bit 30: the back end speaks protocol features. */
#define VHOST_USER_F_PROTOCOL_FEATURES	30

/* Protocol feature bits. */
#define VHOST_USER_PROTOCOL_F_MQ	0
#define VHOST_USER_PROTOCOL_F_REPLY_ACK	3
#define VHOST_USER_PROTOCOL_F_CONFIG	9

#define VHOST_USER_MAX_REGIONS		8	/* in one SET_MEM_TABLE */
#define VHOST_USER_MAX_CONFIG		256	/* device config bytes */
#define VHOST_USER_VRING_NOFD		(1ULL << 8)
#define VHOST_USER_MAX_QUEUES		1023

struct vhost_user_hdr {
	u32 request;
	u32 flags;
	u32 size;		/* payload bytes after the header */
} __attribute__((packed));

struct vhost_user_state {	/* SET_VRING_NUM/BASE/ENABLE, GET_VRING_BASE */
	u32 index;
	u32 num;
} __attribute__((packed));

struct vhost_user_addr {	/* SET_VRING_ADDR: our virtual addresses */
	u32 index;
	u32 flags;
	u64 desc;
	u64 used;
	u64 avail;
	u64 log;
} __attribute__((packed));

struct vhost_user_region {
	u64 gpa;
	u64 size;
	u64 uaddr;		/* where we map it */
	u64 mmap_offset;	/* in the fd */
} __attribute__((packed));

struct vhost_user_mem {
	u32 nr;
	u32 padding;
	struct vhost_user_region r[VHOST_USER_MAX_REGIONS];
} __attribute__((packed));

struct vhost_user_config {
	u32 offset;
	u32 size;
	u32 flags;
	u8 data[VHOST_USER_MAX_CONFIG];
} __attribute__((packed));

struct vhost_user {
	int fd;			/* the socket, -1 when closed */
	const char *name;	/* for messages: "disk vhost-user=PATH" */
	int timeout_ms;		/* per message: request and whole reply */
	long long deadline;	/* of the message in flight (monotonic ms) */
	u64 features;		/* the back end's virtio features */
	u64 protocol;		/* negotiated protocol features */
	bool dead;		/* a send or reply failed: stop talking */
};

/*
 * Connect to the back end at path; each later message gets timeout_ms.
 * 0 or -errno with a message.
 */
int vhost_user_connect(struct vhost_user *u, const char *name,
		       const char *path, int timeout_ms);
/* Use an already connected socket (unit tests: a socketpair). */
void vhost_user_attach(struct vhost_user *u, const char *name, int fd,
		       int timeout_ms);
void vhost_user_close(struct vhost_user *u);
/*
 * From any thread: shut the socket down, so that a round trip in flight
 * (and every later one) fails at once with -ECONNRESET.
 */
void vhost_user_abort(struct vhost_user *u);

/*
 * One request with payload (len bytes) and nfds descriptors; starts the
 * message's deadline. With REPLY_ACK negotiated and ack set, waits for
 * the back end's verdict.
 */
int vhost_user_send(struct vhost_user *u, u32 req, const void *payload,
		    u32 len, const int *fds, unsigned nfds, bool ack);
/*
 * Receive the reply to req into buf, by the deadline of the request it
 * answers: exactly len bytes of payload unless min_len < len allows a
 * shorter one (its length in *got). -EPROTO for a reply that is not one
 * to req, has a bad version or size, or carries descriptors.
 */
int vhost_user_recv(struct vhost_user *u, u32 req, void *buf, u32 len,
		    u32 min_len, u32 *got);
/* Check a received header; exported for the unit tests. */
int vhost_user_check_hdr(const struct vhost_user_hdr *h, u32 req,
			 u32 min_len, u32 max_len);

/* Requests with a u64 in and/or out. */
int vhost_user_get_u64(struct vhost_user *u, u32 req, u64 *v);
int vhost_user_set_u64(struct vhost_user *u, u32 req, u64 v);
int vhost_user_set_state(struct vhost_user *u, u32 req, u32 index, u32 num);
/* GET_VRING_BASE: stops the ring; its next available index in *num. */
int vhost_user_get_base(struct vhost_user *u, u32 index, u32 *num);
/* SET_VRING_KICK / SET_VRING_CALL with fd (-1: none, polling). */
int vhost_user_set_vring_fd(struct vhost_user *u, u32 req, u32 index, int fd);

/*
 * The hand-shake every device does: SET_OWNER, GET_FEATURES and, when
 * offered, protocol features (want & offered), GET_QUEUE_NUM (*queues,
 * 1 without MQ). 0 or -errno with a message.
 */
int vhost_user_handshake(struct vhost_user *u, u64 want_protocol,
			 unsigned *queues);
/*
 * Build SET_MEM_TABLE from guest memory (every region must be
 * GUEST_REGION_SHARED and mapped): the table in *t, the fds in fds[].
 * -E2BIG for more regions than one message carries, -EINVAL for a region
 * the back end cannot map.
 */
int vhost_user_mem_table(const struct guest_mem *m, struct vhost_user_mem *t,
			 int *fds);
int vhost_user_set_mem_table(struct vhost_user *u, const struct guest_mem *m);
/* GET_CONFIG for len bytes of device config from offset 0. */
int vhost_user_get_config(struct vhost_user *u, u8 *cfg, u32 len);

#endif
