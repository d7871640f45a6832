// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net's side of the host (see virtio_net.h): each pair's tap
 * descriptor, opened here or adopted from the caller, its virtio-net
 * header set up, and the tap queues attached as the driver asks for
 * pairs; vhost-net (vmm/vhost_net.c) opened when wanted.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/devices/virtio_net.h"

#define NET_HDR_LEN		VIRTIO_NET_HDR_LEN

/* Open queue i of the tap (creating the interface with the first). */
static int open_tap(struct virtio_net *n, unsigned i, const char *name)
{
	struct ifreq ifr = { 0 };
	int fd, hdr = NET_HDR_LEN;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int r = -errno;

		pr_err("net %s: /dev/net/tun: %s%s", name, strerror(-r),
		       r == -EACCES ? " (a user needs read and write on it: "
		       "mode 0666, as udev sets it)" :
		       " (is the tun module loaded?)");
		return r;
	}
	n->tap_fd[i] = fd;
	n->nq[i].fd = fd;
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR |
			(n->nr_pairs > 1 ? IFF_MULTI_QUEUE : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int r = -errno;

		if (r == -EINVAL)
			pr_err("net %s: the tap refuses %s (it exists as %s-queue or not as a tap: see \"ip tuntap\")",
			       name, n->nr_pairs > 1 ? "multi_queue" :
			       "single-queue use", n->nr_pairs > 1 ? "single" :
			       "multi");
		else if (r == -EPERM)
			pr_err("net %s: %s (needs CAP_NET_ADMIN, or a tap made for this user)",
			       name, strerror(-r));
		else
			pr_err("net %s: TUNSETIFF: %s", name, strerror(-r));
		return r;
	}
	if (!i)
		snprintf(n->ifname, sizeof(n->ifname), "%s", ifr.ifr_name);
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 ||
	    ioctl(fd, TUNSETOFFLOAD, 0) < 0) {
		pr_err("net %s: cannot set up the virtio-net header: %s", name,
		       strerror(errno));
		return -errno;
	}
	n->nq[i].attached = true;
	return 0;
}

/* Take over descriptor fd for pair i (opts.fds): a tap or a socket. */
static int adopt_fd(struct virtio_net *n, unsigned i, int fd, const char *name)
{
	struct ifreq ifr = { 0 };
	struct stat st;
	int hdr = NET_HDR_LEN, fl;

	n->tap_fd[i] = n->nq[i].fd = fd;
	if (fd < 0 || fstat(fd, &st)) {
		pr_err("net %s: descriptor %d: %s", name, fd, strerror(EBADF));
		return -EBADF;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	n->nq[i].attached = true;
	if (ioctl(fd, TUNGETIFF, &ifr) == 0) {
		if (!i) {
			n->is_tap = true;
			snprintf(n->ifname, sizeof(n->ifname), "%s", ifr.ifr_name);
		}
		if (!(ifr.ifr_flags & IFF_VNET_HDR) || !(ifr.ifr_flags & IFF_TAP) ||
		    ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 ||
		    ioctl(fd, TUNSETOFFLOAD, 0) < 0) {
			pr_err("net %s: descriptor %d is not a tap with virtio-net headers",
			       name, fd);
			return -EINVAL;
		}
		return 0;
	}
	if (!S_ISSOCK(st.st_mode) || n->is_tap) {
		pr_err("net %s: descriptor %d is neither a tap nor a socket", name, fd);
		return -EINVAL;
	}
	if (!i)
		snprintf(n->ifname, sizeof(n->ifname), "fd%d", fd);
	return 0;
}

/* Attach the first pairs queues to the tap, detach the rest. */
int virtio_net_set_active(struct virtio_net *n, unsigned pairs)
{
	unsigned i;

	for (i = 0; n->nr_pairs > 1 && i < n->nr_pairs; i++) {
		struct net_queue *nq = &n->nq[i];
		bool want = i < pairs;
		struct ifreq ifr = { 0 };

		if (nq->attached == want)
			continue;
		if (!n->is_tap) {	/* a socket pair has no queues to switch */
			nq->attached = want;
			continue;
		}
		ifr.ifr_flags = want ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
		if (ioctl(nq->fd, TUNSETQUEUE, &ifr) < 0) {
			pr_warn("%s: tap %s: %s queue %u: %s", n->name,
				n->ifname, want ? "attach" : "detach", i,
				strerror(errno));
			return -errno;
		}
		nq->attached = want;
	}
	n->active_pairs = pairs;
	return 0;
}

/* The tap's descriptors (opened or adopted), then vhost-net if wanted. */
int virtio_net_open_taps(struct virtio_net *n, const struct virtio_net_opts *o)
{
	unsigned i, np = n->nr_pairs;
	int r;

	n->tap_fd = malloc(np * sizeof(*n->tap_fd));
	n->nq = calloc(np, sizeof(*n->nq));
	if (n->tap_fd)		/* before any exit: net_free closes them */
		for (i = 0; i < np; i++)
			n->tap_fd[i] = o->fds ? o->fds[i] : -1;
	if (!n->tap_fd || !n->nq)
		return -ENOMEM;
	for (i = 0; i < np; i++)
		n->nq[i].fd = -1;
	for (i = 0; i < np; i++) {
		r = o->fds ? adopt_fd(n, i, o->fds[i], o->tap ? o->tap : "fd") :
		     open_tap(n, i, o->tap);
		if (r)
			return r;
	}
	if (!o->fds)
		n->is_tap = true;
	r = vhostnet_open(&n->vhost, np, o->vhost, n->name);
	if (r > 0 && !(n->base = calloc(2 * np, sizeof(*n->base))))
		r = -ENOMEM;
	return r < 0 ? r : 0;
}
