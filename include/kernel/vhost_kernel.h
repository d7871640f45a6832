/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The in-kernel vhost interface (/dev/vhost-net): thin ioctl wrappers, no
 * policy. A vhost-net instance serves two vrings (0 receive, 1 transmit)
 * of one virtio-net queue pair straight from guest RAM, with a tap as its
 * backend, woken by the queue's ioeventfd and signalling its irqfd.
 * Every call returns 0 or -errno; vhost_net_open prints why it failed.
 */
#ifndef SMPVISOR_VHOST_KERNEL_H
#define SMPVISOR_VHOST_KERNEL_H

#include "lib/util.h"

#define VHOST_NET_DEV		"/dev/vhost-net"
#define VHOST_NET_RX		0
#define VHOST_NET_TX		1

/* Is vhost-net there (the device node exists and opens)? */
bool vhost_net_available(void);
/* Open /dev/vhost-net and become its owner (VHOST_SET_OWNER): fd or -errno. */
int vhost_net_open(void);
int vhost_get_features(int fd, u64 *features);
int vhost_set_features(int fd, u64 features);
/* One guest RAM region as vhost sees it: guest physical and our address. */
struct vhost_mem_region {
	u64 gpa;
	u64 size;
	void *hva;
};

/* VHOST_SET_MEM_TABLE with the nr regions r. */
int vhost_set_mem_table(int fd, const struct vhost_mem_region *r, unsigned nr);
int vhost_set_vring_num(int fd, unsigned idx, unsigned num);
int vhost_set_vring_base(int fd, unsigned idx, unsigned base);
int vhost_get_vring_base(int fd, unsigned idx, unsigned *base);
/* Ring parts as our virtual addresses. */
int vhost_set_vring_addr(int fd, unsigned idx, void *desc, void *avail,
			 void *used);
int vhost_set_vring_kick(int fd, unsigned idx, int efd);
int vhost_set_vring_call(int fd, unsigned idx, int efd);
/* The tap serving ring idx; -1 detaches (the ring stops). */
int vhost_net_set_backend(int fd, unsigned idx, int tap_fd);

#endif
