// SPDX-License-Identifier: GPL-2.0
/*
 * KVM's binary statistics (Linux 5.14+): KVM_GET_STATS_FD on the VM fd
 * or a vCPU fd gives a file that holds a header, one descriptor per
 * statistic (each followed by its NUL-padded name) and the values. The
 * descriptors never change for one fd, the values do: a reader may keep
 * the fd and pread it again. Used by the control API's query-stats.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kernel/kvm.h"

/* Descriptors and values beyond these are refused as implausible. */
#define STATS_MAX_DESC		4096
#define STATS_MAX_NAME		256
#define STATS_MAX_DATA		(1u << 20)

int kvm_vm_stats_fd(struct kvm_vm *vm)
{
	int fd = ioctl(vm->vm_fd, KVM_GET_STATS_FD, NULL);

	return fd < 0 ? -errno : fd;
}

int kvm_vcpu_stats_fd(struct kvm_vcpu *vcpu)
{
	int fd = ioctl(vcpu->fd, KVM_GET_STATS_FD, NULL);

	return fd < 0 ? -errno : fd;
}

static int read_all(int fd, void *buf, size_t n, off_t off)
{
	ssize_t r = pread(fd, buf, n, off);

	if (r < 0)
		return -errno;
	return (size_t)r == n ? 0 : -EIO;
}

int kvm_stats_read(int fd, void (*fn)(void *arg, const char *name,
				      u64 value, bool cumulative),
		   void *arg)
{
	struct kvm_stats_header h;
	size_t dsize, dlen;
	char *descs = NULL;
	u64 *data = NULL;
	u32 i, type;
	int r, n = 0;

	r = read_all(fd, &h, sizeof(h), 0);
	if (r)
		return r;
	if (h.num_desc > STATS_MAX_DESC || h.name_size > STATS_MAX_NAME ||
	    !h.name_size)
		return -EIO;
	dsize = sizeof(struct kvm_stats_desc) + h.name_size;
	descs = calloc(h.num_desc ? h.num_desc : 1, dsize);
	if (!descs)
		return -ENOMEM;
	r = read_all(fd, descs, dsize * h.num_desc, h.desc_offset);
	if (r)
		goto out;
	/* The values: up to the end of the last descriptor's. */
	for (dlen = 0, i = 0; i < h.num_desc; i++) {
		const struct kvm_stats_desc *d = (void *)(descs + i * dsize);
		size_t end = (size_t)d->offset + (size_t)d->size * sizeof(u64);

		dlen = MAX(dlen, end);
	}
	r = -EIO;
	if (dlen > STATS_MAX_DATA)
		goto out;
	data = calloc(1, dlen ? dlen : sizeof(u64));
	if (!data) {
		r = -ENOMEM;
		goto out;
	}
	r = read_all(fd, data, dlen, h.data_offset);
	if (r)
		goto out;
	for (i = 0; i < h.num_desc; i++) {
		struct kvm_stats_desc *d = (void *)(descs + i * dsize);

		if (d->size != 1 || d->offset % sizeof(u64))
			continue;	/* a histogram, or misaligned */
		d->name[h.name_size - 1] = 0;
		type = d->flags & KVM_STATS_TYPE_MASK;
		fn(arg, d->name, data[d->offset / sizeof(u64)],
		   type == KVM_STATS_TYPE_CUMULATIVE);
		n++;
	}
	r = n;
out:
	free(data);
	free(descs);
	return r;
}
