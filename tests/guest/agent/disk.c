// SPDX-License-Identifier: GPL-2.0
/*
 * disk.c - agent.disk: the O_DIRECT pattern writer and checker.
 *
 * One thread per CPU (or agent.disk's threads=) writes or checks a pattern
 * that names every 4 KiB block; tests/system/blkpattern.py is the host side.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

#define BLK		4096		/* pattern block and O_DIRECT alignment */
#define UNIT_BLKS	64		/* blocks per disk I/O: 256 KiB */

/* ---- agent.disk: pattern writer and checker -------------------------- */

struct disk {
	int fd;
	bool write;
	uint64_t seed, nblocks;
	uint64_t next;			/* next I/O unit to take (atomic) */
	uint64_t errors, io_errors;	/* bad blocks, failed I/Os (atomic) */
	uint64_t first_bad;		/* lowest bad block (atomic min) */
};

struct disk_thr {
	struct disk *d;
	int cpu;
	pthread_t tid;
};

static inline uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/*
 * Block blk's content: its number, the seed, then 510 words hashed from
 * both, so every block differs and a block written to the wrong place fails.
 */
static inline uint64_t pat_word(uint64_t seed, uint64_t blk, uint64_t h, int i)
{
	if (i == 0)
		return blk;
	if (i == 1)
		return seed;
	return mix64(h + i);
}

static void fill_block(uint64_t *w, uint64_t seed, uint64_t blk)
{
	uint64_t h = mix64(seed ^ mix64(blk));
	int i;

	for (i = 0; i < BLK / 8; i++)
		w[i] = pat_word(seed, blk, h, i);
}

static bool check_block(const uint64_t *w, uint64_t seed, uint64_t blk)
{
	uint64_t h = mix64(seed ^ mix64(blk));
	int i;

	for (i = 0; i < BLK / 8; i++)
		if (w[i] != pat_word(seed, blk, h, i))
			return false;
	return true;
}

static void note_bad(struct disk *d, uint64_t blk, uint64_t n)
{
	uint64_t cur = __atomic_load_n(&d->first_bad, __ATOMIC_RELAXED);

	__atomic_fetch_add(&d->errors, n, __ATOMIC_RELAXED);
	while (blk < cur && !__atomic_compare_exchange_n(&d->first_bad, &cur, blk,
			false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static bool io_full(struct disk *d, void *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t r = d->write ? pwrite(d->fd, buf, len, off) :
				       pread(d->fd, buf, len, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		buf = (char *)buf + r;
		len -= r;
		off += r;
	}
	return true;
}

static void *disk_worker(void *arg)
{
	struct disk_thr *t = arg;
	struct disk *d = t->d;
	uint64_t u, b0, n, k;
	void *buf;

	pin_to(t->cpu);
	if (posix_memalign(&buf, BLK, UNIT_BLKS * BLK)) {
		__atomic_fetch_add(&d->io_errors, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	for (;;) {
		u = __atomic_fetch_add(&d->next, 1, __ATOMIC_RELAXED);
		b0 = u * UNIT_BLKS;
		if (b0 >= d->nblocks)
			break;
		n = d->nblocks - b0 < UNIT_BLKS ? d->nblocks - b0 : UNIT_BLKS;
		if (d->write)
			for (k = 0; k < n; k++)
				fill_block((uint64_t *)buf + k * BLK / 8, d->seed, b0 + k);
		if (!io_full(d, buf, n * BLK, b0 * BLK)) {
			__atomic_fetch_add(&d->io_errors, 1, __ATOMIC_RELAXED);
			note_bad(d, b0, n);
			continue;
		}
		if (d->write)
			continue;
		for (k = 0; k < n; k++)
			if (!check_block((uint64_t *)buf + k * BLK / 8, d->seed, b0 + k))
				note_bad(d, b0 + k, 1);
	}
	free(buf);
	return NULL;
}

struct disk_opts {
	char dev[128];
	char mode[16];
	uint64_t seed;
	int threads;
};

/* Open the device, waiting a little for it to show up; size in *size. */
static int disk_open(const char *path, bool wr, uint64_t *size)
{
	struct stat st;
	int i, fd = -1;

	for (i = 0; i < 100 && fd < 0; i++) {
		fd = open(path, (wr ? O_RDWR : O_RDONLY) | O_DIRECT | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			usleep(50000);
		else
			break;
	}
	if (fd < 0 || fstat(fd, &st))
		return -1;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size)) {
			close(fd);
			return -1;
		}
	} else {
		*size = st.st_size;
	}
	return fd;
}

static void disk_run(const struct disk_opts *o, bool wr)
{
	struct disk d = { .write = wr, .seed = o->seed, .first_bad = UINT64_MAX };
	int i, nt = o->threads > 0 ? o->threads : nr_online;
	struct disk_thr *t = calloc(nt, sizeof(*t));
	char path[PATH_MAX];
	struct jb j = { 0 };
	uint64_t size = 0, t0;
	double secs;
	const char *err = NULL;

	snprintf(path, sizeof(path), "%s%s", o->dev[0] == '/' ? "" : "/dev/", o->dev);
	d.fd = disk_open(path, wr, &size);
	if (!t)
		err = "out of memory";
	else if (d.fd < 0)
		err = strerror(errno);
	else if (size < BLK)
		err = "device smaller than one 4 KiB block";
	if (err)
		agent_err("disk %s: %s", path, err);
	d.nblocks = size / BLK;
	t0 = now_ns();
	for (i = 0; !err && i < nt; i++) {
		t[i].d = &d;
		t[i].cpu = online[i % nr_online];
		if (pthread_create(&t[i].tid, NULL, disk_worker, &t[i])) {
			agent_err("disk: cannot start thread %d", i);
			nt = i;
			break;
		}
	}
	for (i = 0; !err && i < nt; i++)
		pthread_join(t[i].tid, NULL);
	if (!err && wr && fsync(d.fd)) {
		agent_err("disk %s: fsync: %s", path, strerror(errno));
		d.io_errors++;
	}
	secs = (now_ns() - t0) / 1e9;
	if (d.fd >= 0)
		close(d.fd);
	free(t);

	jb_open(&j, '{');
	jb_key(&j, "disk");
	jb_open(&j, '{');
	jb_kstr(&j, "dev", path);
	jb_kstr(&j, "mode", wr ? "write" : "verify");
	jb_kint(&j, "seed", (long long)o->seed);
	jb_kint(&j, "threads", err ? 0 : nt);
	jb_kint(&j, "bytes", err ? 0 : (long long)(d.nblocks * BLK));
	jb_kint(&j, "blocks", err ? 0 : (long long)d.nblocks);
	jb_kint(&j, "errors", (long long)d.errors + (err ? 1 : 0));
	jb_kint(&j, "io_errors", (long long)d.io_errors);
	jb_kintn(&j, "first_bad_block", d.first_bad == UINT64_MAX ? -1 :
		 (long long)d.first_bad);
	jb_key(&j, "seconds");
	jb_dbl(&j, secs);
	jb_key(&j, "mb_per_s");
	jb_dbl(&j, err || secs <= 0 ? 0 : d.nblocks * BLK / secs / 1e6);
	jb_kstr(&j, "error", err);
	jb_close(&j, '}');
	jb_close(&j, '}');
	jb_emit(&j, "AGENT-DISK");
}

/* agent.disk=DEV,write|verify|writeverify[,seed=N][,threads=T] */
static bool parse_disk(const char *v, struct disk_opts *o)
{
	char copy[256], *tok, *save;
	int i = 0;

	memset(o, 0, sizeof(*o));
	scopy(copy, sizeof(copy), v);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save), i++) {
		if (i == 0)
			scopy(o->dev, sizeof(o->dev), tok);
		else if (!strncmp(tok, "seed=", 5))
			o->seed = strtoull(tok + 5, NULL, 0);
		else if (!strncmp(tok, "threads=", 8))
			o->threads = atoi(tok + 8);
		else if (i == 1)
			scopy(o->mode, sizeof(o->mode), tok);
		else
			return false;
	}
	return o->dev[0] && (!strcmp(o->mode, "write") || !strcmp(o->mode, "verify") ||
			     !strcmp(o->mode, "writeverify"));
}

void disk_test(const char *v)
{
	struct disk_opts o;

	if (!parse_disk(v, &o)) {
		agent_err("bad agent.disk=%s (want DEV,write|verify|writeverify"
			  "[,seed=N][,threads=T])", v);
		return;
	}
	if (strcmp(o.mode, "verify"))
		disk_run(&o, true);
	if (strcmp(o.mode, "write"))
		disk_run(&o, false);
}
