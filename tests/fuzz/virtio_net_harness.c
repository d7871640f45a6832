// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz harness: virtio-net as a hostile guest drives it (vdrv_ops.h),
 * its tap one end of a datagram socket pair. Device opcodes: 0 sends a
 * packet from the peer (any length, virtio-net header first), 1 drains
 * what the device transmitted and asks the driver to announce itself
 * (as a restore does; ANNOUNCE_ACK comes on the control queue). Rx, tx
 * and control queues, status writes, resets and queue-size changes
 * interleave as the input says; this is the harness that finds a partly
 * received packet outliving a reset.
 * The device lives across inputs (as across a guest's resets); each
 * input starts with a reset and clean guest RAM.
 */
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harnesses.h"
#include "vdrv_ops.h"
#include "vmm/devices/virtio_net.h"

static struct {
	struct vdrv d;
	struct virtio_net net;
	int peer;
	bool up;
} h;

static void net_op(struct vdrv *d, unsigned which, struct vdrv_in *in)
{
	static u8 pkt[70000];
	u8 buf[4096];
	size_t len, i;
	u8 seed;

	if (which == 1) {
		while (recv(h.peer, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
		virtio_net_announce(&h.net);
		return;
	}
	len = (size_t)vin(in, 3) % sizeof(pkt);
	seed = (u8)vin(in, 1);
	for (i = 0; i < len; i++)
		pkt[i] = (u8)(seed + i);
	for (i = 0; i < 12 && i < len; i++)	/* the header from the input */
		pkt[i] = (u8)vin(in, 1);
	if (send(h.peer, pkt, len, MSG_DONTWAIT) < 0)
		net_op(d, 1, in);	/* full: make room */
}

static const struct vdrv_dev_ops ops = { net_op };

static void bring_up(void)
{
	struct virtio_net_opts o = { .queues = 2 };
	int sv[2][2], fds[2], i;

	if (vdrv_init(&h.d))
		abort();
	for (i = 0; i < 2; i++) {
		int sndbuf = 1 << 20;

		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv[i]))
			abort();
		setsockopt(sv[i][1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		fds[i] = sv[i][0];
	}
	/* Both pairs' taps fed from one peer would need two: pair 1 is mute. */
	h.peer = sv[0][1];
	o.fds = fds;
	if (virtio_net_create(&h.net, 0, &o, &h.d.dm, &h.d.mem, NULL, 0) ||
	    vdrv_attach(&h.d, &h.net.vp, false))
		abort();
	h.up = true;
}

int fuzz_virtio_net_one(const u8 *data, size_t size)
{
	u8 drain[4096];

	if (!h.up)
		bring_up();
	vdrv_wr(&h.d, VDRV_STATUS, 0, 1);
	vdrv_pci_restore(&h.d);
	vdrv_wr(&h.d, VDRV_STATUS, 0, 1);
	while (recv(h.peer, drain, sizeof(drain), MSG_DONTWAIT) > 0)
		;
	vdrv_clear(&h.d);
	vdrv_play(&h.d, &ops, data, size);
	return (int)vdrv_status(&h.d);
}
