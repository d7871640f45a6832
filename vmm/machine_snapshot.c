// SPDX-License-Identifier: GPL-2.0
/*
 * Taking a snapshot (include/vmm/machine_snapshot.h), on the API thread:
 *
 *   1. pause: every vCPU parked (each completed its last exit inside KVM
 *      first, so the registers are whole), every device quiesced with its
 *      in-flight requests finished;
 *   2. the state stream: the interrupt controllers, the PIT and kvmclock,
 *      each vCPU (smp/vcpu_save.c), each device (dm_save);
 *   3. each guest node's RAM into its file, sparse, with progress events;
 *   4. the manifest, last, and everything synced: a snapshot without a
 *      manifest is no snapshot;
 *   5. resume, or end the VM: the restore is where it goes on.
 *
 * The files come from the client (api_take_fds): the VMM, confined, opens
 * nothing. A failure leaves the VM as it was (paused or running) and the
 * reply names what failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "smp/vcpu_save.h"
#include "vmm/machine.h"
#include "vmm/machine_snapshot.h"

static u64 realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

/* Guest nodes with memory: the number of memory files. */
static unsigned mem_nodes(const struct machine *m)
{
	unsigned i, n = 1;

	for (i = 0; i < m->mem.nr; i++)
		n = MAX(n, (unsigned)m->mem.regions[i].node + 1);
	return n;
}

int machine_snap_describe(struct machine *m, struct snap_manifest *mf)
{
	unsigned i;

	memset(mf, 0, sizeof(*mf));
	mf->format = SNAP_FORMAT;
	mf->nr_cpus = m->vcpus.nr;
	mf->sockets = m->topo.sockets;
	mf->cores = m->topo.cores;
	mf->threads = m->topo.threads;
	mf->apic_ids = calloc(m->vcpus.nr, sizeof(u32));
	mf->devices = calloc(m->dm.nr + 1, sizeof(char *));
	if (!mf->apic_ids || !mf->devices)
		return -ENOMEM;
	for (i = 0; i < m->vcpus.nr; i++)
		mf->apic_ids[i] = m->vcpus.v[i].apic_id;
	mf->nr_nodes = mem_nodes(m);
	for (i = 0; i < m->mem.nr; i++)
		mf->node_size[m->mem.regions[i].node] += m->mem.regions[i].size;
	for (i = 0; i < m->dm.nr; i++) {
		mf->devices[i] = strdup(m->dm.dev[i]->name);
		if (!mf->devices[i])
			return -ENOMEM;
		mf->nr_devices++;
	}
	return 0;
}

int machine_snap_compare_memory(struct machine *m,
				const struct snap_manifest *mf, char *why,
				size_t len)
{
	u64 size[GUEST_MEM_MAX_NODES] = { 0 };
	unsigned i, n = mem_nodes(m);

	for (i = 0; i < m->mem.nr; i++)
		size[m->mem.regions[i].node] += m->mem.regions[i].size;
	if (n != mf->nr_nodes) {
		snprintf(why, len, "the snapshot has %u guest memory nodes, this config %u",
			 mf->nr_nodes, n);
		return -EINVAL;
	}
	for (i = 0; i < n; i++)
		if (size[i] != mf->node_size[i]) {
			snprintf(why, len, "guest node %u has %llu MiB in the snapshot, %llu MiB here",
				 i, (unsigned long long)(mf->node_size[i] >> 20),
				 (unsigned long long)(size[i] >> 20));
			return -EINVAL;
		}
	return 0;
}

int machine_snap_compare(struct machine *m, const struct snap_manifest *mf,
			 char *why, size_t len)
{
	struct snap_manifest me;
	unsigned i;
	int r = machine_snap_describe(m, &me);

	if (r) {
		snprintf(why, len, "out of memory");
		goto out;
	}
	r = -EINVAL;
	if (me.nr_cpus != mf->nr_cpus)
		snprintf(why, len, "the snapshot has %u vCPUs, this config %u",
			 mf->nr_cpus, me.nr_cpus);
	else if (me.sockets != mf->sockets || me.cores != mf->cores ||
		 me.threads != mf->threads)
		snprintf(why, len, "the snapshot's topology is %u sockets x %u cores x %u threads, this config's %u x %u x %u",
			 mf->sockets, mf->cores, mf->threads, me.sockets,
			 me.cores, me.threads);
	else if (machine_snap_compare_memory(m, mf, why, len))
		;
	else if (me.nr_devices != mf->nr_devices)
		snprintf(why, len, "the snapshot has %u devices, this config %u",
			 mf->nr_devices, me.nr_devices);
	else
		r = 0;
	for (i = 0; !r && i < me.nr_cpus; i++)
		if (me.apic_ids[i] != mf->apic_ids[i]) {
			snprintf(why, len, "vCPU %u has APIC ID %u in the snapshot, %u here",
				 i, mf->apic_ids[i], me.apic_ids[i]);
			r = -EINVAL;
		}
	for (i = 0; !r && i < me.nr_devices; i++)
		if (strcmp(me.devices[i], mf->devices[i])) {
			snprintf(why, len, "device %u is %s in the snapshot, %s here",
				 i, mf->devices[i], me.devices[i]);
			r = -EINVAL;
		}
out:
	snap_manifest_free(&me);
	return r;
}

/* The disks with a path, with their size and modification time now. */
static int describe_disks(struct machine *m, struct snap_manifest *mf)
{
	const struct config *c = m->cfg;
	unsigned i;

	mf->disks = calloc(c->nr_disks + 1, sizeof(*mf->disks));
	if (!mf->disks)
		return -ENOMEM;
	for (i = 0; i < c->nr_disks; i++) {
		struct snap_disk *d = &mf->disks[mf->nr_disks];
		struct stat st;

		if (!c->disks[i].path)
			continue;
		if (stat(c->disks[i].path, &st))
			return -errno;
		d->path = strdup(c->disks[i].path);
		if (!d->path)
			return -ENOMEM;
		d->size = (u64)st.st_size;
		d->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000LL +
			      st.st_mtim.tv_nsec;
		mf->nr_disks++;
	}
	return 0;
}

/* The state stream: VM, every vCPU, every device. Paused. */
u8 *machine_state_save(struct machine *m, size_t *len, char *why, size_t wl)
{
	struct kvm_irqchip_state chip;
	struct kvm_clock_data clock = { 0 };
	struct state_writer w;
	u32 *msrs = NULL;
	unsigned i, nr = 0;
	int r;

	r = kvm_get_irqchip_state(&m->kvm, &chip);
	if (!r)
		r = kvm_get_clock(&m->kvm, &clock);
	if (!r)
		r = kvm_vcpu_msr_list(&m->vcpus.v[0].kv, &msrs, &nr);
	if (r) {
		snprintf(why, wl, "the VM's state: %s", strerror(-r));
		return NULL;
	}
	state_writer_init(&w);
	vm_state_save(&w, &chip, &clock);
	for (i = 0; !r && i < m->vcpus.nr; i++) {
		struct kvm_vcpu *v = &m->vcpus.v[i].kv;
		struct kvm_vcpu_state s;
		int khz = kvm_vcpu_get_tsc_khz(v);

		r = khz < 0 ? khz : kvm_vcpu_state_get(v, msrs, nr, &s);
		if (r) {
			snprintf(why, wl, "vCPU %u's state: %s", i, strerror(-r));
			break;
		}
		vcpu_state_save(&w, i, &s, (u32)khz);
		kvm_vcpu_state_free(&s);
	}
	free(msrs);
	if (!r && (r = dm_save(&m->dm, &w)))
		snprintf(why, wl, "the devices' state: %s", strerror(-r));
	if (r) {
		state_writer_free(&w);
		return NULL;
	}
	return state_writer_take(&w, len);
}

static int write_file(int fd, const void *buf, size_t len)
{
	const u8 *p = buf;
	size_t off = 0;

	while (off < len) {
		ssize_t n = pwrite(fd, p + off, len - off, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (size_t)n;
	}
	return ftruncate(fd, (off_t)len) ? -errno : 0;
}

static void report(struct snap_progress *p)
{
	struct machine *m = p->opaque;
	double s = (double)(now_ns() - p->start_ns) / 1e9;

	machine_event(m, "SNAPSHOT_PROGRESS", json_pack("{s:I,s:I,s:I,s:f}",
		      "done", (json_int_t)p->done, "total", (json_int_t)p->total,
		      "written", (json_int_t)p->written,
		      "mb-per-s", s > 0 ? (double)p->done / 1e6 / s : 0.0));
	api_send_events_now(&m->api);
}

/* Each node's RAM into fds[k], its regions one after another. */
static int write_memory(struct machine *m, const int *fds, u64 *written,
			char *why, size_t wl)
{
	struct snap_progress p = { .total = m->mem.size, .report = report,
				   .opaque = m, .start_ns = now_ns() };
	u64 off[GUEST_MEM_MAX_NODES] = { 0 };
	unsigned i, n = mem_nodes(m);
	int r;

	for (i = 0; i < m->mem.nr; i++) {
		const struct guest_region *g = &m->mem.regions[i];

		r = snap_mem_write(fds[g->node], off[g->node], g, &p);
		if (r) {
			snprintf(why, wl, "guest node %d's memory: %s", g->node, strerror(-r));
			return r;
		}
		off[g->node] += g->size;
	}
	for (i = 0; i < n; i++)
		if (ftruncate(fds[i], (off_t)off[i]) || fdatasync(fds[i])) {
			r = -errno;
			snprintf(why, wl, "guest node %u's memory: %s", i, strerror(-r));
			return r;
		}
	*written = p.written;
	pr_info("snapshot: %llu MiB of %llu MiB of memory written in %.2f s",
		(unsigned long long)(p.written >> 20),
		(unsigned long long)(m->mem.size >> 20),
		(double)(now_ns() - p.start_ns) / 1e9);
	return 0;
}

char *machine_manifest_text(struct machine *m, size_t state_len, char *why,
			    size_t wl)
{
	const struct config *c = m->cfg;
	struct snap_manifest mf;
	json_t *argv = json_array(), *o = NULL;
	char *text = NULL;
	int i, r;

	for (i = 0; argv && i < c->run_argc; i++) {
		const char *a = c->run_argv[i];

		/* A restored VM records how the first one was made. */
		if ((!strcmp(a, "--restore") || !strcmp(a, "--incoming")) &&
		    i + 1 < c->run_argc) {
			i++;
			continue;
		}
		if (!strncmp(a, "--restore=", 10) || !strncmp(a, "--incoming=", 11) ||
		    !strcmp(a, "--force"))
			continue;
		json_array_append_new(argv, json_string(a));
	}
	r = machine_snap_describe(m, &mf);
	if (!r)
		r = describe_disks(m, &mf);
	mf.argv = argv;
	mf.version = strdup(SMPVISOR_VERSION);
	mf.state_size = state_len;
	mf.taken_ns = realtime_ns();
	if (!r && (!mf.version || !argv || !(o = snap_manifest_json(&mf)) ||
		   !(text = json_dumps(o, JSON_INDENT(1)))))
		r = -ENOMEM;
	if (r)
		snprintf(why, wl, "the manifest: %s", strerror(-r));
	json_decref(o);
	snap_manifest_free(&mf);
	return text;
}

static int write_manifest(struct machine *m, int fd, size_t state_len,
			  char *why, size_t wl)
{
	char *text = machine_manifest_text(m, state_len, why, wl);
	int r = text ? write_file(fd, text, strlen(text)) : -ENOMEM;

	if (!r && fdatasync(fd))
		r = -errno;
	if (r && text)
		snprintf(why, wl, "the manifest: %s", strerror(-r));
	free(text);
	return r;
}

static int take(struct machine *m, const int *fds, char *why, size_t wl)
{
	u64 t0 = now_ns(), t1, t2, written = 0;
	size_t len = 0;
	u8 *state;
	int r;

	state = machine_state_save(m, &len, why, wl);
	if (!state)
		return -EIO;
	r = write_file(fds[1], state, len);
	if (!r && fdatasync(fds[1]))
		r = -errno;
	free(state);
	if (r) {
		snprintf(why, wl, "%s: %s", SNAP_STATE, strerror(-r));
		return r;
	}
	t1 = now_ns();
	r = write_memory(m, fds + 2, &written, why, wl);
	t2 = now_ns();
	if (!r)
		r = write_manifest(m, fds[0], len, why, wl);
	if (!r)
		pr_info("snapshot: state %zu bytes in %.3f s, memory %.2f s, manifest %.3f s",
			len, (double)(t1 - t0) / 1e9, (double)(t2 - t1) / 1e9,
			(double)(now_ns() - t2) / 1e9);
	return r;
}

int machine_cmd_query_snapshot_files(void *ctx, json_t *args, json_t **ret,
				     struct qmp_error *err)
{
	struct machine *m = ctx;
	json_t *files = json_pack("[s,s]", SNAP_MANIFEST, SNAP_STATE);
	unsigned i;
	char name[32];

	(void)args;
	for (i = 0; files && i < mem_nodes(m); i++) {
		snap_mem_name(name, sizeof(name), i);
		json_array_append_new(files, json_string(name));
	}
	if (!files)
		return qmp_fail(err, "GenericError", "out of memory");
	*ret = json_pack("{s:o}", "files", files);
	return 0;
}

int machine_cmd_snapshot(void *ctx, json_t *args, json_t **ret,
			 struct qmp_error *err)
{
	struct machine *m = ctx;
	int fds[SNAP_MAX_FILES];
	unsigned i, n, want = 2 + mem_nodes(m);
	json_t *res = json_object_get(args, "resume");
	char why[256] = "";
	bool was_paused;
	int r;

	(void)ret;
	n = api_take_fds(&m->api, fds, SNAP_MAX_FILES);
	if (res && !json_is_boolean(res))
		r = qmp_fail(err, "GenericError", "\"resume\" is a boolean");
	else if (json_object_size(args) > (res ? 1u : 0u))
		r = qmp_fail(err, "GenericError", "snapshot takes only \"resume\"");
	else if (n != want)
		r = qmp_fail(err, "GenericError",
			     "snapshot needs %u files attached (query-snapshot-files), got %u",
			     want, n);
	else
		r = 0;
	if (r)
		goto out;
	pthread_mutex_lock(&m->run_lock);
	was_paused = m->paused;
	pthread_mutex_unlock(&m->run_lock);
	r = machine_pause(m);
	if (r) {
		r = qmp_fail(err, "GenericError", "cannot pause: %s", strerror(-r));
		goto out;
	}
	pthread_mutex_lock(&m->run_lock);
	r = take(m, fds, why, sizeof(why));
	pthread_mutex_unlock(&m->run_lock);
	if (r) {
		if (!was_paused)
			machine_resume(m);
		r = qmp_fail(err, "GenericError", "snapshot failed: %s", why);
		goto out;
	}
	machine_event(m, "SNAPSHOT_DONE", NULL);
	if (json_is_true(res)) {
		if (!was_paused)
			machine_resume(m);
	} else {
		atomic_store(&m->snapshot_exit, true);
		m->ctl.request_exit(m, VM_EXIT_USER);
	}
out:
	for (i = 0; i < n; i++)
		close(fds[i]);
	return r;
}
