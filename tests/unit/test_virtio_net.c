// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net on a real tap interface, driven like a guest driver through
 * the MMIO bus (tests/fuzz/vdrv.h) and served by a real I/O thread; the other end is an
 * AF_PACKET socket on the tap. Transmit: a frame the "guest" queues comes
 * out of the interface byte for byte. Receive: a frame sent into the
 * interface lands in the guest's mergeable buffers, spread over two of
 * them with num_buffers saying so. Config space holds the MAC. Needs
 * /dev/net/tun and CAP_NET_ADMIN (skipped without them).
 *
 * The guest announcing itself (VIRTIO_NET_F_GUEST_ANNOUNCE) needs no
 * tap: its tests stand a datagram socket pair in for it. A device saved
 * and loaded into a fresh one (tests/fuzz/vdrv_state.h, as a restore or
 * a migration does) sets VIRTIO_NET_S_ANNOUNCE at resume with one config
 * interrupt, until the driver acks it on the control queue; a plain
 * pause and resume does not, nor a driver without the feature; a
 * malformed ANNOUNCE command is refused and leaves the device working.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <malloc.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "../fuzz/vdrv_state.h"
#include "vmm/devices/virtio_net.h"

#define QSIZE		8
#define RXQ		0
#define TXQ		1
#define RX_BUF		0x20000ULL
#define RX_BUF_LEN	512
#define TX_BUF		VDRV_BUF_GPA
#define ETH_TEST	0x88b5		/* local experimental ethertype */
#define HDR_LEN		12
#define F_MAC		5
#define F_MRG_RXBUF	15
#define F_CTRL_VQ	17
#define F_GUEST_ANNOUNCE 21
#define S_LINK_UP	1
#define S_ANNOUNCE	2
#define CTRLQ		2		/* one pair: rx, tx, control */
#define CFG_VEC		0		/* MSI-X vector of config changes */
#define CTRL_VEC	1		/* and of the control queue */
#define COMMON_MSIX	16		/* config_msix_vector */
#define COMMON_GEN	21		/* config_generation */
#define CMD_BUF		VDRV_BUF_GPA
#define ACK_BUF		(VDRV_BUF_GPA + 0x100)

static const u8 mac[6] = { 0x02, 0x5e, 0x11, 0x22, 0x33, 0x44 };

struct fixture {
	struct vdrv d;
	struct virtio_net net;
	char ifname[IFNAMSIZ];
	int ifindex, pkt;
	u16 rx_used, tx_used;
};

static void *hva(struct fixture *f, u64 gpa, u64 len)
{
	void *p = vdrv_hva(&f->d, gpa, len);

	assert_non_null(p);
	return p;
}

static u64 rd(struct fixture *f, u64 off, u32 len)
{
	return vdrv_rd(&f->d, off, len);
}

/* Next used entry of queue q (waiting up to 5 s): 0, or -1. */
static int next_used(struct fixture *f, unsigned q, u16 *seen, u32 *head,
		     u32 *len)
{
	if (!vdrv_wait_used(&f->d, q, (u16)(*seen + 1)))
		return -1;
	vdrv_used(&f->d, q, (*seen)++, head, len);
	return 0;
}

static void driver_init(struct fixture *f)
{
	u64 feat = vdrv_features(&f->d);

	assert_true(feat & (1u << F_MRG_RXBUF));
	assert_true(feat & (1u << F_MAC));
	assert_int_equal(vdrv_negotiate(&f->d, (1u << F_MRG_RXBUF) |
					(1u << F_MAC) |
					(1ULL << VIRTIO_F_VERSION_1)), VDRV_S_UP);
	assert_int_equal(rd(f, VDRV_NUMQ, 2), 3);	/* rx, tx, control */
	vdrv_queue(&f->d, RXQ, QSIZE, VIRTIO_NO_VECTOR);
	vdrv_queue(&f->d, TXQ, QSIZE, VIRTIO_NO_VECTOR);
	vdrv_driver_ok(&f->d);
}

/* The interface up, without IPv6 chatter if we may turn it off. */
static int link_up(struct fixture *f)
{
	struct ifreq ifr = { 0 };
	char path[128];
	int s, fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 f->ifname);
	fd = open(path, O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0)
			fprintf(stderr, "cannot disable IPv6 on %s\n", f->ifname);
		close(fd);
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", f->ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		goto out_err;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		goto out_err;
	close(s);
	return 0;
out_err:
	close(s);
	return -1;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct virtio_net_opts o = { .queues = 1, .mac = mac };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	struct timeval tv = { 2, 0 };
	int fd = open("/dev/net/tun", O_RDWR);

	if (fd < 0)
		skip();
	close(fd);
	assert_non_null(f);
	snprintf(f->ifname, sizeof(f->ifname), "smpvu%d", (int)(getpid() % 100000));
	o.tap = f->ifname;
	assert_int_equal(vdrv_init(&f->d), 0);
	if (virtio_net_create(&f->net, 0, &o, &f->d.dm, &f->d.mem, f->d.iots, 1))
		skip();		/* no CAP_NET_ADMIN here */
	assert_string_equal(f->net.ifname, f->ifname);
	assert_int_equal(link_up(f), 0);
	f->ifindex = (int)if_nametoindex(f->ifname);
	assert_true(f->ifindex > 0);
	f->pkt = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	assert_true(f->pkt >= 0);
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = f->ifindex;
	assert_int_equal(bind(f->pkt, (struct sockaddr *)&sll, sizeof(sll)), 0);
	setsockopt(f->pkt, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(vdrv_attach(&f->d, &f->net.vp, true), 0);
	driver_init(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vdrv_stop(&f->d);
	vdrv_fini(&f->d);	/* the tap goes with its last fd */
	close(f->pkt);
	free(f);
	return 0;
}

/* A test frame of len bytes: broadcast, from src, ETH_TEST, a pattern. */
static void make_frame(u8 *p, size_t len, const u8 *src, u8 seed)
{
	size_t i;

	memset(p, 0xff, 6);
	memcpy(p + 6, src, 6);
	p[12] = ETH_TEST >> 8;
	p[13] = ETH_TEST & 0xff;
	for (i = 14; i < len; i++)
		p[i] = (u8)(i * 13 + seed);
}

static void test_mac_config(void **state)
{
	struct fixture *f = *state;
	unsigned i;

	for (i = 0; i < 6; i++)
		assert_int_equal(rd(f, VIRTIO_DEVICE_OFF + i, 1), mac[i]);
	assert_int_equal(rd(f, VIRTIO_DEVICE_OFF + 6, 2), 1);	/* link up */
	assert_int_equal(rd(f, VIRTIO_DEVICE_OFF + 8, 2), 1);	/* pairs */
}

static void test_transmit(void **state)
{
	struct fixture *f = *state;
	u8 *buf = hva(f, TX_BUF, HDR_LEN + 1000), got[2048];
	u32 head, len;
	int i;
	ssize_t n;

	memset(buf, 0, HDR_LEN);
	make_frame(buf + HDR_LEN, 1000, mac, 1);
	vdrv_desc(&f->d, TXQ, 0, TX_BUF, HDR_LEN + 1000, 0, 0);
	vdrv_offer(&f->d, TXQ, 0);
	vdrv_kick(&f->d, TXQ);
	assert_int_equal(next_used(f, TXQ, &f->tx_used, &head, &len), 0);
	assert_int_equal(head, 0);
	/* It left through the tap: find it among what the link carried. */
	for (i = 0; i < 50; i++) {
		n = recv(f->pkt, got, sizeof(got), 0);
		assert_true(n >= 0);
		if (n == 1000 && got[12] == (ETH_TEST >> 8) &&
		    got[13] == (ETH_TEST & 0xff))
			break;
	}
	assert_true(i < 50);
	assert_memory_equal(got, buf + HDR_LEN, 1000);
}

static void test_receive_mergeable(void **state)
{
	struct fixture *f = *state;
	const u8 peer[6] = { 0x02, 0, 0, 0, 0, 0x99 };
	struct sockaddr_ll to = { .sll_family = AF_PACKET };
	u8 frame[1000], pkt[QSIZE * RX_BUF_LEN];
	u32 head, len, total;
	unsigned i, nb, tries;

	for (i = 0; i < QSIZE; i++) {
		vdrv_desc(&f->d, RXQ, i, RX_BUF + i * RX_BUF_LEN, RX_BUF_LEN,
			  VIRTQ_DESC_F_WRITE, 0);
		vdrv_offer(&f->d, RXQ, (u16)i);
	}
	vdrv_kick(&f->d, RXQ);
	make_frame(frame, sizeof(frame), peer, 7);
	to.sll_ifindex = f->ifindex;
	to.sll_halen = 6;
	memset(to.sll_addr, 0xff, 6);
	assert_int_equal(sendto(f->pkt, frame, sizeof(frame), 0,
				(struct sockaddr *)&to, sizeof(to)),
			 (ssize_t)sizeof(frame));
	/* Skip whatever else the host sent on the link (IPv6, say). */
	for (tries = 0; tries < 20; tries++) {
		assert_int_equal(next_used(f, RXQ, &f->rx_used, &head, &len), 0);
		assert_true(head < QSIZE && len <= RX_BUF_LEN && len >= HDR_LEN);
		memcpy(pkt, hva(f, RX_BUF + head * RX_BUF_LEN, len), len);
		nb = pkt[10] | pkt[11] << 8;
		assert_true(nb >= 1 && nb <= QSIZE);
		total = len;
		for (i = 1; i < nb; i++) {
			assert_int_equal(next_used(f, RXQ, &f->rx_used, &head,
						   &len), 0);
			assert_true(head < QSIZE && len <= RX_BUF_LEN);
			memcpy(pkt + total, hva(f, RX_BUF + head * RX_BUF_LEN, len),
			       len);
			total += len;
		}
		if (total >= HDR_LEN + 14 && pkt[HDR_LEN + 12] == (ETH_TEST >> 8) &&
		    pkt[HDR_LEN + 13] == (ETH_TEST & 0xff))
			break;
		/* Not ours: give the buffers back. */
		for (i = 0; i < QSIZE; i++)
			vdrv_offer(&f->d, RXQ, (u16)i);
		vdrv_kick(&f->d, RXQ);
	}
	assert_true(tries < 20);
	/* 12 + 1000 bytes over 512-byte buffers: two of them. */
	assert_int_equal(nb, 2);
	assert_int_equal(total, HDR_LEN + sizeof(frame));
	assert_memory_equal(pkt + HDR_LEN, frame, sizeof(frame));
	assert_false(rd(f, 20, 1) & VIRTIO_STATUS_NEEDS_RESET);
}

/*
 * A set-up that fails at its first tap closes no descriptor it never
 * opened (issue 13: tap_fd[] was left uninitialised and closed). glibc's
 * M_PERTURB makes fresh allocations read as 0, so the old code closed
 * fd 0; with the fix every slot is -1 until it holds a descriptor.
 */
static void test_failed_create_closes_nothing_else(void **state)
{
	struct virtio_net_opts o = { .queues = 4, .mac = mac, .tap = "no/tap" };
	struct virtio_net n;
	struct guest_mem mem;
	struct device_manager dm;
	int p[2], saved = dup(0), r;

	assert_true(saved >= 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(dup2(p[0], 0), 0);
	assert_int_equal(guest_mem_layout(&mem, 16 * MiB), 0);
	mallopt(M_PERTURB, 0xff);
	dm_init(&dm, NULL, NULL, NULL, NULL);
	r = virtio_net_create(&n, 0, &o, &dm, &mem, NULL, 0);
	mallopt(M_PERTURB, 0);
	assert_true(r < 0);
	assert_true(fcntl(0, F_GETFD) >= 0);	/* fd 0 still open */
	assert_int_equal(dm.nr, 0);		/* nothing was added */
	dm_destroy(&dm);
	assert_int_equal(dup2(saved, 0), 0);
	close(saved);
	close(p[0]);
	close(p[1]);
}

/* --- announcing itself, on a datagram socket pair --- */

struct side {
	struct vdrv d;
	struct virtio_net net;
	int peer;
	bool up;
};

struct afix {
	struct side src, dst;
};

static void side_make(struct side *s)
{
	struct virtio_net_opts o = { .queues = 1, .mac = mac };
	int sv[2];

	assert_int_equal(vdrv_init(&s->d), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	o.fds = &sv[0];
	s->peer = sv[1];
	assert_int_equal(virtio_net_create(&s->net, 0, &o, &s->d.dm, &s->d.mem,
					   s->d.iots, 1), 0);
	assert_int_equal(vdrv_attach(&s->d, &s->net.vp, true), 0);
	s->up = true;
}

static void side_free(struct side *s)
{
	if (!s->up)
		return;
	vdrv_stop(&s->d);
	vdrv_fini(&s->d);
	close(s->peer);
	s->up = false;
}

static int asetup(void **state)
{
	struct afix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	side_make(&f->src);
	*state = f;
	return 0;
}

static int ateardown(void **state)
{
	struct afix *f = *state;

	side_free(&f->src);
	side_free(&f->dst);
	free(f);
	return 0;
}

/* The status field of config space. */
static u16 net_status(struct side *s)
{
	return (u16)vdrv_rd(&s->d, VIRTIO_DEVICE_OFF + 6, 2);
}

/*
 * The driver up with MSI-X (config changes on CFG_VEC, the control
 * queue on CTRL_VEC) and features (VERSION_1 besides), DRIVER_OK.
 */
static void driver_up(struct side *s, u64 features)
{
	assert_int_equal(vdrv_negotiate(&s->d, features |
					(1ULL << VIRTIO_F_VERSION_1)), VDRV_S_UP);
	vdrv_msix_on(&s->d);
	vdrv_msix_vector(&s->d, CFG_VEC, false);
	vdrv_msix_vector(&s->d, CTRL_VEC, false);
	vdrv_wr(&s->d, COMMON_MSIX, CFG_VEC, 2);
	vdrv_queue(&s->d, CTRLQ, 8, CTRL_VEC);
	vdrv_driver_ok(&s->d);
	assert_int_equal(vdrv_status(&s->d), VDRV_S_UP | VIRTIO_STATUS_DRIVER_OK);
}

/*
 * Interrupts on vector v since the last look, expecting want: they may
 * trail the I/O thread, so wait up to 1 s for want, then 20 ms for more.
 */
static u64 irqs_after(struct side *s, unsigned v, u64 want)
{
	u64 n = 0;
	int i;

	for (i = 0; i < 1000 && n < want; i++) {
		n += vdrv_irqs(&s->d, v);
		if (n < want)
			usleep(1000);
	}
	usleep(20 * 1000);
	return n + vdrv_irqs(&s->d, v);
}

/*
 * One control command of len bytes: the ack byte the device wrote. Its
 * interrupt is awaited, so none is still on its way after.
 */
static u8 ctrl(struct side *s, const u8 *cmd, u32 len)
{
	u8 *ack = vdrv_hva(&s->d, ACK_BUF, 1);
	u16 n = (u16)(s->d.avail[CTRLQ] + 1);

	assert_non_null(ack);
	memcpy(vdrv_hva(&s->d, CMD_BUF, len), cmd, len);
	*ack = 0xee;
	vdrv_desc(&s->d, CTRLQ, 0, CMD_BUF, len, VIRTQ_DESC_F_NEXT, 1);
	vdrv_desc(&s->d, CTRLQ, 1, ACK_BUF, 1, VIRTQ_DESC_F_WRITE, 0);
	vdrv_offer(&s->d, CTRLQ, 0);
	vdrv_kick(&s->d, CTRLQ);
	assert_true(vdrv_wait_used(&s->d, CTRLQ, n));
	assert_int_equal(irqs_after(s, CTRL_VEC, 1), 1);
	return *ack;
}

static u8 ack_announce(struct side *s)
{
	static const u8 cmd[2] = { 3, 0 };	/* ANNOUNCE, ANNOUNCE_ACK */

	return ctrl(s, cmd, 2);
}

/*
 * Save src (paused), give dst a copy of its RAM and the driver's
 * bookkeeping, load dst and resume it: as a restore does.
 */
static void restore(struct afix *f)
{
	struct state_reader r;
	size_t len;
	u8 *st = vdrv_save(&f->src.d, &len);

	assert_non_null(st);
	side_make(&f->dst);
	dm_pause(&f->dst.d.dm);
	vdrv_copy_ram(&f->dst.d, &f->src.d);
	memcpy(f->dst.d.avail, f->src.d.avail, sizeof(f->src.d.avail));
	memcpy(f->dst.d.qsize, f->src.d.qsize, sizeof(f->src.d.qsize));
	if (vdrv_load(&f->dst.d, st, len, &r))
		fail_msg("load: %s", r.why);
	free(st);
}

static void test_announce_after_restore(void **state)
{
	struct afix *f = *state;
	struct side *s = &f->src, *t = &f->dst;
	u8 gen;

	assert_true(vdrv_features(&s->d) & (1ULL << F_GUEST_ANNOUNCE));
	driver_up(s, (1ULL << F_CTRL_VQ) | (1ULL << F_GUEST_ANNOUNCE));
	assert_int_equal(net_status(s), S_LINK_UP);
	gen = (u8)vdrv_rd(&s->d, COMMON_GEN, 1);
	/* A pause and resume in place (snapshot --resume): no announcement. */
	dm_pause(&s->d.dm);
	dm_resume(&s->d.dm);
	assert_int_equal(net_status(s), S_LINK_UP);
	assert_int_equal(irqs_after(s, CFG_VEC, 0), 0);

	restore(f);
	assert_int_equal(net_status(t), S_LINK_UP | S_ANNOUNCE);
	assert_int_equal(irqs_after(t, CFG_VEC, 1), 1);
	assert_int_equal(vdrv_rd(&t->d, VIRTIO_ISR_OFF, 1) & VIRTIO_ISR_CONFIG,
			 VIRTIO_ISR_CONFIG);
	assert_int_equal((u8)vdrv_rd(&t->d, COMMON_GEN, 1), (u8)(gen + 1));
	/* Until the driver acks it, on the control queue. */
	assert_int_equal(net_status(t), S_LINK_UP | S_ANNOUNCE);
	assert_int_equal(ack_announce(t), 0);	/* VIRTIO_NET_OK */
	assert_int_equal(net_status(t), S_LINK_UP);
	assert_int_equal(irqs_after(t, CFG_VEC, 0), 0);
	assert_false(vdrv_status(&t->d) & VIRTIO_STATUS_NEEDS_RESET);
	/* The source never announced. */
	assert_int_equal(net_status(s), S_LINK_UP);
}

/* An announcement not yet acked travels in the saved state. */
static void test_announce_pending_saved(void **state)
{
	struct afix *f = *state;
	struct side *s = &f->src, *t = &f->dst;
	struct state_reader r;
	size_t len;
	u8 *st, *bad, *v, two = 2;
	u32 size;

	driver_up(s, (1ULL << F_CTRL_VQ) | (1ULL << F_GUEST_ANNOUNCE));
	assert_true(virtio_net_announce(&s->net));
	assert_int_equal(irqs_after(s, CFG_VEC, 1), 1);
	st = vdrv_save(&s->d, &len);
	assert_non_null(st);
	v = vdrv_field(st, len, "virtio-net0", "announce", &size);
	assert_non_null(v);
	assert_int_equal(size, 1);
	assert_int_equal(*v, 1);
	/* Not a boolean: refused. */
	bad = vdrv_tamper(st, len, "virtio-net0", "announce", 0, &two, 1);
	assert_non_null(bad);
	side_make(t);
	dm_pause(&t->d.dm);
	vdrv_copy_ram(&t->d, &s->d);
	assert_int_not_equal(vdrv_load(&t->d, bad, len, &r), 0);
	assert_non_null(strstr(r.why, "announce is 2"));
	/* The good one: the bit is there, and one config interrupt. */
	assert_int_equal(vdrv_load(&t->d, st, len, &r), 0);
	assert_int_equal(net_status(t), S_LINK_UP | S_ANNOUNCE);
	assert_int_equal(irqs_after(t, CFG_VEC, 1), 1);
	free(bad);
	free(st);
}

static void test_announce_without_feature(void **state)
{
	struct afix *f = *state;
	struct side *s = &f->src, *t = &f->dst;

	driver_up(s, 1ULL << F_CTRL_VQ);
	assert_false(virtio_has(&s->net.vp, F_GUEST_ANNOUNCE));
	assert_false(virtio_net_announce(&s->net));
	assert_int_equal(net_status(s), S_LINK_UP);
	assert_int_equal(irqs_after(s, CFG_VEC, 0), 0);
	restore(f);
	assert_int_equal(net_status(t), S_LINK_UP);
	assert_int_equal(irqs_after(t, CFG_VEC, 0), 0);
	assert_int_equal(vdrv_rd(&t->d, VIRTIO_ISR_OFF, 1), 0);
	/* An ack of what the driver never took: VIRTIO_NET_ERR. */
	assert_int_equal(ack_announce(t), 1);
	assert_false(vdrv_status(&t->d) & VIRTIO_STATUS_NEEDS_RESET);
}

/* A driver not yet running is not asked either, even after a restore. */
static void test_announce_before_driver_ok(void **state)
{
	struct afix *f = *state;
	struct side *t = &f->dst;

	assert_int_equal(vdrv_negotiate(&f->src.d, (1ULL << F_CTRL_VQ) |
					(1ULL << F_GUEST_ANNOUNCE) |
					(1ULL << VIRTIO_F_VERSION_1)), VDRV_S_UP);
	assert_false(virtio_net_announce(&f->src.net));
	restore(f);
	assert_int_equal(vdrv_status(&t->d), VDRV_S_UP);
	assert_int_equal(net_status(t), S_LINK_UP);
}

static void test_announce_malformed(void **state)
{
	struct afix *f = *state;
	struct side *s = &f->src;
	static const u8 extra[3] = { 3, 0, 0 }, other[2] = { 3, 1 },
			half[1] = { 3 };

	driver_up(s, (1ULL << F_CTRL_VQ) | (1ULL << F_GUEST_ANNOUNCE));
	/* Asked while paused: the interrupt waits for resume. */
	dm_pause(&s->d.dm);
	assert_true(virtio_net_announce(&s->net));
	assert_int_equal(net_status(s), S_LINK_UP | S_ANNOUNCE);
	assert_int_equal(irqs_after(s, CFG_VEC, 0), 0);
	dm_resume(&s->d.dm);
	assert_int_equal(irqs_after(s, CFG_VEC, 1), 1);
	/* Data after the ack, another command, half a header: errors. */
	assert_int_equal(ctrl(s, extra, sizeof(extra)), 1);
	assert_int_equal(ctrl(s, other, sizeof(other)), 1);
	assert_int_equal(ctrl(s, half, sizeof(half)), 1);
	assert_int_equal(net_status(s), S_LINK_UP | S_ANNOUNCE);
	assert_false(vdrv_status(&s->d) & VIRTIO_STATUS_NEEDS_RESET);
	/* The device goes on: the right ack works. */
	assert_int_equal(ack_announce(s), 0);
	assert_int_equal(net_status(s), S_LINK_UP);
	/* A reset forgets an announcement. */
	assert_true(virtio_net_announce(&s->net));
	vdrv_wr(&s->d, VDRV_STATUS, 0, 1);
	assert_int_equal(net_status(s), S_LINK_UP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failed_create_closes_nothing_else),
		cmocka_unit_test_setup_teardown(test_announce_after_restore,
						asetup, ateardown),
		cmocka_unit_test_setup_teardown(test_announce_pending_saved,
						asetup, ateardown),
		cmocka_unit_test_setup_teardown(test_announce_without_feature,
						asetup, ateardown),
		cmocka_unit_test_setup_teardown(test_announce_before_driver_ok,
						asetup, ateardown),
		cmocka_unit_test_setup_teardown(test_announce_malformed,
						asetup, ateardown),
		cmocka_unit_test_setup_teardown(test_mac_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_mergeable, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
