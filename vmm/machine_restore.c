// SPDX-License-Identifier: GPL-2.0
/*
 * Restoring a snapshot ("run --restore DIR"): three init steps of
 * machine.c (include/vmm/machine_snapshot.h). Everything the snapshot
 * holds is checked before the guest's disks could be written: the
 * manifest against the config in restore-check, the memory files' sizes
 * there too, the state stream's structure there and each value by its
 * loader in restore-state, which runs before any device or vCPU does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "smp/vcpu_save.h"
#include "vmm/machine.h"
#include "vmm/machine_snapshot.h"

/* dir/name opened read-only, sized; -errno with the message printed. */
static int open_in(const char *dir, const char *name, struct stat *st)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, st)) {
		int r = -errno;

		pr_err("restore: %s: %s", path, strerror(-r));
		if (fd >= 0)
			close(fd);
		return r;
	}
	if (!S_ISREG(st->st_mode)) {
		pr_err("restore: %s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	return fd;
}

static int read_all(int fd, void *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = pread(fd, (u8 *)buf + off, len - off, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (size_t)n;
	}
	return 0;
}

static int read_manifest(struct machine *m, const char *dir)
{
	char why[512];
	int r = snap_manifest_load(dir, &m->snap.mf, why, sizeof(why));

	if (r)
		pr_err("restore: %s", why);
	return r;
}

/* The disks must be the ones the snapshot saw, unchanged (or --force). */
static int check_disks(struct machine *m)
{
	const struct config *c = m->cfg;
	const struct snap_manifest *mf = &m->snap.mf;
	unsigned i, k = 0;

	for (i = 0; i < c->nr_disks; i++) {
		const struct snap_disk *d;
		struct stat st;
		int64_t mt;

		if (!c->disks[i].path)
			continue;
		if (k >= mf->nr_disks || strcmp(mf->disks[k].path, c->disks[i].path)) {
			pr_err("restore: disk %s is not the snapshot's disk %u (%s)",
			       c->disks[i].path, k,
			       k < mf->nr_disks ? mf->disks[k].path : "none");
			return -EINVAL;
		}
		d = &mf->disks[k++];
		if (stat(d->path, &st)) {
			pr_err("restore: disk %s: %s", d->path, strerror(errno));
			return -errno;
		}
		mt = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
		if ((u64)st.st_size == d->size && mt == d->mtime_ns)
			continue;
		if (!c->restore_force) {
			pr_err("restore: disk %s changed since the snapshot (%s); --force takes it anyway",
			       d->path, (u64)st.st_size != d->size ? "size" : "modification time");
			return -EINVAL;
		}
		pr_warn("restore: disk %s changed since the snapshot: taken (--force)",
			d->path);
	}
	if (k != mf->nr_disks) {
		pr_err("restore: the snapshot has %u disks, this config %u",
		       mf->nr_disks, k);
		return -EINVAL;
	}
	return 0;
}

int machine_restore_check(struct machine *m)
{
	struct machine_snap *s = &m->snap;
	const char *dir = m->cfg->restore_dir;
	struct stat st;
	char name[32];
	unsigned i;
	int fd, r;

	if (!dir)
		return 0;
	s->active = true;
	r = read_manifest(m, dir);
	if (r)
		return r;
	/* The cheap mismatches first, before gigabytes are read. */
	if (m->cfg->nr_cpus != s->mf.nr_cpus) {
		pr_err("restore: the snapshot has %u vCPUs, this config %u",
		       s->mf.nr_cpus, m->cfg->nr_cpus);
		return -EINVAL;
	}
	r = check_disks(m);
	if (r)
		return r;
	fd = open_in(dir, SNAP_STATE, &st);
	if (fd < 0)
		return fd;
	if ((u64)st.st_size != s->mf.state_size) {
		close(fd);
		pr_err("restore: %s/%s is %s: %lld of %llu bytes", dir, SNAP_STATE,
		       (u64)st.st_size < s->mf.state_size ? "truncated" : "too long",
		       (long long)st.st_size, (unsigned long long)s->mf.state_size);
		return -EINVAL;
	}
	s->state_len = (size_t)st.st_size;
	s->state = malloc(s->state_len);
	r = s->state ? read_all(fd, s->state, s->state_len) : -ENOMEM;
	close(fd);
	if (r) {
		pr_err("restore: %s/%s: %s", dir, SNAP_STATE, strerror(-r));
		return r;
	}
	for (i = 0; i < s->mf.nr_nodes; i++) {
		snap_mem_name(name, sizeof(name), i);
		fd = open_in(dir, name, &st);
		if (fd < 0)
			return fd;
		s->mem_fd[s->nr_mem++] = fd;
		if ((u64)st.st_size != s->mf.node_size[i]) {
			pr_err("restore: %s/%s is %s: %lld of %llu bytes", dir, name,
			       (u64)st.st_size < s->mf.node_size[i] ? "truncated" : "too long",
			       (long long)st.st_size,
			       (unsigned long long)s->mf.node_size[i]);
			return -EINVAL;
		}
	}
	pr_info("restore: snapshot of smpvisor %s, %u vCPUs, %u memory files",
		s->mf.version, s->mf.nr_cpus, s->mf.nr_nodes);
	return 0;
}

void machine_restore_exit(struct machine *m)
{
	struct machine_snap *s = &m->snap;
	unsigned i;

	for (i = 0; i < s->nr_mem; i++)
		close(s->mem_fd[i]);
	free(s->state);
	snap_manifest_free(&s->mf);
	memset(s, 0, sizeof(*s));
}

static void report(struct snap_progress *p)
{
	double s = (double)(now_ns() - p->start_ns) / 1e9;

	pr_info("restore: %llu of %llu MiB of memory (%.0f MB/s)",
		(unsigned long long)(p->done >> 20),
		(unsigned long long)(p->total >> 20),
		s > 0 ? (double)p->done / 1e6 / s : 0.0);
}

int machine_restore_memory(struct machine *m)
{
	struct machine_snap *s = &m->snap;
	struct snap_progress p = { .total = m->mem.size, .report = report,
				   .start_ns = now_ns() };
	u64 off[GUEST_MEM_MAX_NODES] = { 0 };
	char why[256];
	unsigned i;
	int r;

	if (!s->active || !m->cfg->restore_dir)
		return 0;	/* a migration's memory comes by its stream */
	/* The layout is the config's: it must be the snapshot's. */
	r = machine_snap_compare_memory(m, &s->mf, why, sizeof(why));
	if (r) {
		pr_err("restore: %s", why);
		return r;
	}
	for (i = 0; i < m->mem.nr; i++) {
		const struct guest_region *g = &m->mem.regions[i];

		r = snap_mem_read(s->mem_fd[g->node], off[g->node], g, &p);
		if (r) {
			pr_err("restore: guest node %d's memory: %s", g->node,
			       strerror(-r));
			return r;
		}
		off[g->node] += g->size;
	}
	pr_info("restore: %llu MiB of data in %llu MiB of memory read in %.2f s",
		(unsigned long long)(p.written >> 20),
		(unsigned long long)(m->mem.size >> 20),
		(double)(now_ns() - p.start_ns) / 1e9);
	return 0;
}

/* kvmclock goes on from the snapshot by the real time spent since. */
static int set_clock(struct machine *m, struct kvm_clock_data *c)
{
	struct timespec ts;
	u64 rt;

	clock_gettime(CLOCK_REALTIME, &ts);
	rt = (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
	if (!(c->flags & KVM_CLOCK_REALTIME)) {
		/* This KVM does not do it: the taken_ns pair of the manifest. */
		if (rt > m->snap.mf.taken_ns)
			c->clock += rt - m->snap.mf.taken_ns;
		c->flags = 0;
	} else {
		c->flags = KVM_CLOCK_REALTIME;
	}
	return kvm_set_clock(&m->kvm, c);
}

int machine_restore_state(struct machine *m)
{
	struct machine_snap *s = &m->snap;
	struct kvm_irqchip_state chip;
	struct kvm_clock_data clock;
	struct state_reader rd;
	char why[256];
	unsigned i;
	int r;

	if (!s->active)
		return 0;
	r = machine_snap_compare(m, &s->mf, why, sizeof(why));
	if (r) {
		pr_err("restore: %s", why);
		return r;
	}
	r = state_reader_init(&rd, s->state, s->state_len);
	if (!r)
		r = vm_state_load(&rd, &chip, &clock);
	if (r) {
		pr_err("restore: %s: %s", SNAP_STATE, rd.why);
		return r;
	}
	r = kvm_set_irqchip_state(&m->kvm, &chip);
	if (r) {
		pr_err("restore: the interrupt controllers: %s", strerror(-r));
		return r;
	}
	for (i = 0; i < m->vcpus.nr; i++) {
		struct kvm_vcpu *v = &m->vcpus.v[i].kv;
		struct kvm_vcpu_state vs;
		u32 khz;
		int cur;

		r = vcpu_state_load(&rd, i, &vs, &khz);
		if (r) {
			pr_err("restore: %s: %s", SNAP_STATE, rd.why);
			return r;
		}
		cur = kvm_vcpu_get_tsc_khz(v);
		if (cur > 0 && (u32)cur != khz && (r = kvm_vcpu_set_tsc_khz(v, khz))) {
			pr_err("restore: vCPU %u: the snapshot's TSC runs at %u kHz, this host's at %d kHz and KVM cannot scale it: %s",
			       i, khz, cur, strerror(-r));
			kvm_vcpu_state_free(&vs);
			return r;
		}
		r = kvm_vcpu_state_set(v, &vs);
		kvm_vcpu_state_free(&vs);
		if (r) {
			pr_err("restore: vCPU %u's state: %s", i, strerror(-r));
			return r;
		}
	}
	r = set_clock(m, &clock);
	if (r) {
		pr_err("restore: kvmclock: %s", strerror(-r));
		return r;
	}
	/*
	 * The guest was stopped for a while: say so in each vCPU's kvmclock
	 * page, so its watchdogs do not take the jump for a lockup.
	 */
	for (i = 0; i < m->vcpus.nr; i++)
		kvm_vcpu_kvmclock_ctrl(&m->vcpus.v[i].kv);
	dm_pause(&m->dm);
	r = dm_load(&m->dm, &rd);
	if (r) {
		pr_err("restore: %s: %s", SNAP_STATE, rd.why);
		return r;
	}
	dm_resume(&m->dm);
	pr_info("restore: %u vCPUs and %u devices loaded", m->vcpus.nr, m->dm.nr);
	return 0;
}
