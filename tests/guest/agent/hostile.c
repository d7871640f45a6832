// SPDX-License-Identifier: GPL-2.0
/*
 * hostile.c - agent.hostile: a malicious virtio-blk driver in user space.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent.h"

/* ---- a hostile virtio-blk driver ------------------------------------- */

/*
 * agent.hostile=ADDR (the PCI address of a virtio-blk function, or "blk"
 * for the first one): unbind the kernel's driver, drive the device from
 * user space through its BAR 4 (sysfs resource4) with rings in our own
 * pages (physical addresses from /proc/self/pagemap), and submit what a
 * malicious guest would: a descriptor loop, a buffer outside guest RAM, a
 * length running past the end of RAM. After each the device must report
 * NEEDS_RESET (status bit 0x40); after a reset a good read of sector 0
 * must complete with status 0. AGENT-HOSTILE {...} says what happened.
 */
#define VQ_SIZE		8
#define ST_NEEDS_RESET	0x40

struct hpage {
	volatile uint8_t *p;
	uint64_t pa;
};

static bool hpage_get(struct hpage *h)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t ent = 0;
	void *p;

	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_LOCKED, -1, 0);
	if (p == MAP_FAILED || fd < 0)
		return false;
	memset(p, 0, 4096);
	if (pread(fd, &ent, 8, ((uintptr_t)p / 4096) * 8) != 8 ||
	    !(ent & (1ULL << 63)) || !(ent & ((1ULL << 55) - 1))) {
		close(fd);
		return false;
	}
	close(fd);
	h->p = p;
	h->pa = (ent & ((1ULL << 55) - 1)) * 4096;
	return true;
}

struct hdev {
	volatile uint8_t *bar;
	struct hpage desc, avail, used, data;
	uint16_t avail_idx;
};

static void w8(struct hdev *d, unsigned o, uint8_t v) { d->bar[o] = v; }
static void w16(struct hdev *d, unsigned o, uint16_t v) { *(volatile uint16_t *)(d->bar + o) = v; }
static void w32(struct hdev *d, unsigned o, uint32_t v) { *(volatile uint32_t *)(d->bar + o) = v; }
static uint8_t r8(struct hdev *d, unsigned o) { return d->bar[o]; }

static void w64(struct hdev *d, unsigned o, uint64_t v)
{
	w32(d, o, (uint32_t)v);
	w32(d, o + 4, (uint32_t)(v >> 32));
}

/* Reset and set queue 0 up with VIRTIO_F_VERSION_1 only; true if taken. */
static bool h_init(struct hdev *d)
{
	w8(d, 20, 0);
	if (r8(d, 20))
		return false;
	memset((void *)d->avail.p, 0, 4096);
	memset((void *)d->used.p, 0, 4096);
	d->avail_idx = 0;
	w8(d, 20, 1 | 2);
	w32(d, 8, 0);
	w32(d, 12, 0);
	w32(d, 8, 1);
	w32(d, 12, 1);			/* bit 32: VERSION_1 */
	w8(d, 20, 1 | 2 | 8);
	if (!(r8(d, 20) & 8))
		return false;
	w16(d, 22, 0);
	w16(d, 24, VQ_SIZE);
	w64(d, 32, d->desc.pa);
	w64(d, 40, d->avail.pa);
	w64(d, 48, d->used.pa);
	w16(d, 28, 1);
	w8(d, 20, 1 | 2 | 8 | 4);
	return !(r8(d, 20) & ST_NEEDS_RESET);
}

static void h_desc(struct hdev *d, unsigned i, uint64_t addr, uint32_t len,
		   uint16_t flags, uint16_t next)
{
	volatile uint8_t *e = d->desc.p + 16 * i;

	*(volatile uint64_t *)e = addr;
	*(volatile uint32_t *)(e + 8) = len;
	*(volatile uint16_t *)(e + 12) = flags;
	*(volatile uint16_t *)(e + 14) = next;
}

/* Offer chain 0 and kick queue 0 (notify region at 0x3000). */
static void h_kick(struct hdev *d)
{
	volatile uint16_t *av = (volatile uint16_t *)d->avail.p;

	av[2 + d->avail_idx % VQ_SIZE] = 0;
	__atomic_store_n(&av[1], ++d->avail_idx, __ATOMIC_RELEASE);
	w16(d, 0x3000, 0);
}

static bool h_needs_reset(struct hdev *d)
{
	int i;

	for (i = 0; i < 200; i++) {
		if (r8(d, 20) & ST_NEEDS_RESET)
			return true;
		usleep(10000);
	}
	return false;
}

/* A good read of sector 0: header, 512 bytes, status. Status or -1. */
static int h_good_read(struct hdev *d)
{
	volatile uint16_t *used = (volatile uint16_t *)d->used.p;
	volatile uint8_t *hd = d->data.p;
	int i;

	memset((void *)hd, 0, 4096);
	hd[1024] = 0xee;			/* status */
	h_desc(d, 0, d->data.pa, 16, 1, 1);	/* type 0 (IN), sector 0 */
	h_desc(d, 1, d->data.pa + 512, 512, 1 | 2, 2);
	h_desc(d, 2, d->data.pa + 1024, 1, 2, 0);
	h_kick(d);
	for (i = 0; i < 300; i++) {
		if (__atomic_load_n(&used[1], __ATOMIC_ACQUIRE))
			return hd[1024];
		usleep(10000);
	}
	return -1;
}

static bool find_blk(char *addr, size_t n)
{
	DIR *dir = opendir("/sys/bus/pci/devices");
	struct dirent *de;
	bool found = false;

	while (dir && !found && (de = readdir(dir))) {
		char path[NAME_MAX + 64], buf[32] = "";
		int fd;

		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", de->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		if (read(fd, buf, sizeof(buf) - 1) > 0 && !strncmp(buf, "0x1042", 6)) {
			snprintf(addr, n, "%s", de->d_name);
			found = true;
		}
		close(fd);
	}
	if (dir)
		closedir(dir);
	return found;
}

static bool write_file(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY);
	bool ok = fd >= 0 && write(fd, v, strlen(v)) == (ssize_t)strlen(v);

	if (fd >= 0)
		close(fd);
	return ok;
}

void hostile_test(const char *v)
{
	struct jb j = { 0 };
	struct hdev d = { 0 };
	char addr[NAME_MAX + 1], path[NAME_MAX + 64];
	const char *err = NULL;
	int fd, good = -1;
	bool loop = false, outside = false, oversize = false;
	void *bar;

	jb_open(&j, '{');
	jb_key(&j, "hostile");
	jb_open(&j, '{');
	if (strcmp(v, "blk"))
		snprintf(addr, sizeof(addr), "%s", v);
	else if (!find_blk(addr, sizeof(addr))) {
		err = "no virtio-blk function";
		goto out;
	}
	jb_kstr(&j, "pci", addr);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", addr);
	if (!write_file(path, addr)) {
		err = "cannot unbind the driver";
		goto out;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/enable", addr);
	write_file(path, "1");
	/* Memory decode on, INTx off: nobody here takes the interrupts. */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", addr);
	fd = open(path, O_RDWR);
	if (fd >= 0) {
		uint16_t cmd = 0;

		if (pread(fd, &cmd, 2, 4) == 2) {
			cmd |= 0x2 | 0x400;
			if (pwrite(fd, &cmd, 2, 4) != 2)
				err = "cannot write the command register";
		}
		close(fd);
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource4", addr);
	fd = open(path, O_RDWR | O_SYNC);
	bar = fd < 0 ? MAP_FAILED :
	      mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (bar == MAP_FAILED) {
		err = "cannot map BAR 4";
		goto out;
	}
	d.bar = bar;
	if (!hpage_get(&d.desc) || !hpage_get(&d.avail) || !hpage_get(&d.used) ||
	    !hpage_get(&d.data)) {
		err = "no physical addresses (pagemap)";
		goto out;
	}
	if (!h_init(&d)) {
		err = "the device refused a correct set-up";
		goto out;
	}
	/* 1: a descriptor loop, 0 -> 1 -> 0. */
	h_desc(&d, 0, d.data.pa, 16, 1, 1);
	h_desc(&d, 1, d.data.pa + 512, 512, 1, 0);
	h_kick(&d);
	loop = h_needs_reset(&d);
	/* 2: a buffer outside guest RAM (the MMIO hole, then 32 TiB). */
	h_init(&d);
	h_desc(&d, 0, 0xfec00000ULL, 16, 1, 1);
	h_desc(&d, 1, 1ULL << 45, 512, 2, 0);
	h_kick(&d);
	outside = h_needs_reset(&d);
	/* 3: a length that runs far past the end of RAM. */
	h_init(&d);
	h_desc(&d, 0, d.data.pa, 0xfffff000U, 1, 0);
	h_kick(&d);
	oversize = h_needs_reset(&d);
	/* The device still works after a reset. */
	if (h_init(&d))
		good = h_good_read(&d);
	w8(&d, 20, 0);
out:
	jb_kbool(&j, "loop_needs_reset", loop);
	jb_kbool(&j, "outside_needs_reset", outside);
	jb_kbool(&j, "oversize_needs_reset", oversize);
	jb_kint(&j, "good_read_status", good);
	jb_kstr(&j, "error", err);
	jb_close(&j, '}');
	jb_close(&j, '}');
	jb_emit(&j, "AGENT-HOSTILE");
}
