// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-net as virtio-net's back end (see vhost_net.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/vhost_kernel.h"
#include "vmm/vhost_net.h"

/* VHOST_SET_MEM_TABLE with every mapped region of guest RAM. */
static int mem_table(int fd, const struct guest_mem *m)
{
	struct vhost_mem_region t[GUEST_MEM_MAX_REGIONS];
	unsigned i, n = 0;

	for (i = 0; i < m->nr; i++) {
		if (!m->regions[i].hva)
			continue;
		t[n].gpa = m->regions[i].gpa;
		t[n].size = m->regions[i].size;
		t[n].hva = m->regions[i].hva;
		n++;
	}
	return vhost_set_mem_table(fd, t, n);
}

/* Ring r (VHOST_NET_RX/TX) of an instance, at its base, with tap. */
static int ring(int fd, unsigned r, const struct virtio_backend_ring *q,
		int tap)
{
	u64 one = 1;
	int e = vhost_set_vring_num(fd, r, q->size);

	if (!e)
		e = vhost_set_vring_base(fd, r, q->base);
	if (!e)
		e = vhost_set_vring_addr(fd, r, q->desc, q->avail, q->used);
	if (!e)	/* call before kick: no completion goes unsignalled */
		e = vhost_set_vring_call(fd, r, q->call);
	if (!e)
		e = vhost_set_vring_kick(fd, r, q->kick);
	if (!e)
		e = vhost_net_set_backend(fd, r, tap);
	/* Buffers may be there already (a kick while it was stopped). */
	if (!e && write(q->kick, &one, sizeof(one)) < 0)
		e = -errno;
	return e;
}

int vhostnet_start(struct vhostnet *v, unsigned p,
		   const struct virtio_backend_ring *rx,
		   const struct virtio_backend_ring *tx, int tap, u64 features,
		   const struct guest_mem *mem, const char *label)
{
	int fd = v->fd[p];
	int e = vhost_set_features(fd, features & v->features);

	if (!e)
		e = mem_table(fd, mem);
	if (e) {
		pr_err("%s: vhost-net: %s", label, strerror(-e));
		return e;
	}
	v->handed[p] = true;
	e = ring(fd, VHOST_NET_RX, rx, tap);
	if (!e)
		e = ring(fd, VHOST_NET_TX, tx, tap);
	if (e)
		pr_err("%s: vhost-net: queue pair %u: %s", label, p, strerror(-e));
	return e;
}

/* Detaching the tap stops a ring; GET_VRING_BASE then says where. */
void vhostnet_stop(struct vhostnet *v, u32 *base)
{
	unsigned p, r, b;

	for (p = 0; p < v->nr_pairs; p++) {
		for (r = VHOST_NET_RX; r <= VHOST_NET_TX; r++) {
			base[2 * p + r] = VIRTIO_BASE_UNKNOWN;
			if (!v->handed[p])
				continue;
			vhost_net_set_backend(v->fd[p], r, -1);
			if (!vhost_get_vring_base(v->fd[p], r, &b))
				base[2 * p + r] = b;
		}
		v->handed[p] = false;
	}
}

int vhostnet_open(struct vhostnet *v, unsigned pairs, int want,
		  const char *label)
{
	unsigned i;
	int fd, r;

	memset(v, 0, sizeof(*v));
	if (!want || (want < 0 && !vhost_net_available())) {
		if (want < 0)
			pr_info("%s: no %s: packets go through the I/O threads",
				label, VHOST_NET_DEV);
		return 0;
	}
	v->nr_pairs = pairs;
	v->fd = malloc(pairs * sizeof(*v->fd));
	v->handed = calloc(pairs, sizeof(*v->handed));
	if (!v->fd || !v->handed)
		return -ENOMEM;
	for (i = 0; i < pairs; i++)
		v->fd[i] = -1;
	for (i = 0; i < pairs; i++) {
		fd = vhost_net_open();
		if (fd < 0)
			return fd;
		v->fd[i] = fd;
	}
	r = vhost_get_features(v->fd[0], &v->features);
	if (r) {
		pr_err("%s: VHOST_GET_FEATURES: %s", label, strerror(-r));
		return r;
	}
	if (!(v->features & (1ULL << VIRTIO_F_VERSION_1))) {
		pr_err("%s: this vhost-net lacks VIRTIO_F_VERSION_1", label);
		return -EOPNOTSUPP;
	}
	return 1;
}

void vhostnet_close(struct vhostnet *v)
{
	unsigned i;

	for (i = 0; v->fd && i < v->nr_pairs; i++)
		if (v->fd[i] >= 0)
			close(v->fd[i]);
	free(v->fd);
	free(v->handed);
	memset(v, 0, sizeof(*v));
}
