// SPDX-License-Identifier: GPL-2.0
/*
 * vhost ioctls (see vhost_kernel.h): one ioctl per function.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kernel/vhost_kernel.h"

static int io(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

bool vhost_net_available(void)
{
	return access(VHOST_NET_DEV, R_OK | W_OK) == 0;
}

int vhost_net_open(void)
{
	int fd = open(VHOST_NET_DEV, O_RDWR | O_CLOEXEC), r;

	if (fd < 0) {
		r = -errno;
		pr_err("%s: %s", VHOST_NET_DEV, strerror(-r));
		return r;
	}
	r = io(fd, VHOST_SET_OWNER, NULL);
	if (r) {
		pr_err("%s: VHOST_SET_OWNER: %s", VHOST_NET_DEV, strerror(-r));
		close(fd);
		return r;
	}
	return fd;
}

int vhost_get_features(int fd, u64 *features)
{
	return io(fd, VHOST_GET_FEATURES, features);
}

int vhost_set_features(int fd, u64 features)
{
	return io(fd, VHOST_SET_FEATURES, &features);
}

int vhost_set_mem_table(int fd, const struct vhost_mem_region *m, unsigned nr)
{
	struct vhost_memory *t;
	unsigned i;
	int r;

	t = calloc(1, sizeof(*t) + nr * sizeof(t->regions[0]));
	if (!t)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		t->regions[i].guest_phys_addr = m[i].gpa;
		t->regions[i].memory_size = m[i].size;
		t->regions[i].userspace_addr = (u64)(uintptr_t)m[i].hva;
	}
	t->nregions = nr;
	r = io(fd, VHOST_SET_MEM_TABLE, t);
	free(t);
	return r;
}

int vhost_set_vring_num(int fd, unsigned idx, unsigned num)
{
	struct vhost_vring_state s = { .index = idx, .num = num };

	return io(fd, VHOST_SET_VRING_NUM, &s);
}

int vhost_set_vring_base(int fd, unsigned idx, unsigned base)
{
	struct vhost_vring_state s = { .index = idx, .num = base };

	return io(fd, VHOST_SET_VRING_BASE, &s);
}

int vhost_get_vring_base(int fd, unsigned idx, unsigned *base)
{
	struct vhost_vring_state s = { .index = idx };
	int r = io(fd, VHOST_GET_VRING_BASE, &s);

	if (!r)
		*base = s.num;
	return r;
}

int vhost_set_vring_addr(int fd, unsigned idx, void *desc, void *avail,
			 void *used)
{
	struct vhost_vring_addr a = {
		.index = idx,
		.desc_user_addr = (u64)(uintptr_t)desc,
		.avail_user_addr = (u64)(uintptr_t)avail,
		.used_user_addr = (u64)(uintptr_t)used,
	};

	return io(fd, VHOST_SET_VRING_ADDR, &a);
}

int vhost_set_vring_kick(int fd, unsigned idx, int efd)
{
	struct vhost_vring_file f = { .index = idx, .fd = efd };

	return io(fd, VHOST_SET_VRING_KICK, &f);
}

int vhost_set_vring_call(int fd, unsigned idx, int efd)
{
	struct vhost_vring_file f = { .index = idx, .fd = efd };

	return io(fd, VHOST_SET_VRING_CALL, &f);
}

int vhost_net_set_backend(int fd, unsigned idx, int tap_fd)
{
	struct vhost_vring_file f = { .index = idx, .fd = tap_fd };

	return io(fd, VHOST_NET_SET_BACKEND, &f);
}
