// SPDX-License-Identifier: GPL-2.0
/*
 * Live migration, the sending side (include/vmm/migrate.h): pre-copy on
 * a worker thread of its own, made at set-up (no thread is created once
 * the process is sealed), so the API thread stays free for query-migrate
 * and migrate-cancel.
 *
 *   1. the manifest, so the destination can refuse a machine it cannot
 *      be before any memory moves;
 *   2. dirty logging on: KVM's (the vCPUs' writes) and the VMM's own
 *      (what the devices write into guest memory, guest_mem_mark_dirty);
 *   3. round 0: every page that is not zero (the destination's RAM starts
 *      zero); then rounds of the pages dirtied meanwhile, until what is
 *      left fits the downtime budget at the bandwidth measured;
 *   4. a guest dirtying faster than the link is throttled step by step
 *      (auto-converge: 20 %, +10 % a round, at most 90 %);
 *   5. stop and copy: pause (vCPUs park, devices finish in-flight I/O),
 *      the last dirty pages, the state stream, the end; then wait for the
 *      destination's acknowledgement and end, or resume on any failure.
 *
 * Devices whose guest memory writes are not seen by the VMM (vhost-net,
 * vhost-user-blk) are refused: their back ends would need logs of their
 * own (VHOST_F_LOG_ALL, LOG_SHMFD), which this does not set up.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smp/vcpu.h"
#include "vmm/machine.h"
#include "vmm/migrate.h"
#include "vmm/snapshot.h"

#define PAGE		GUEST_PAGE_SIZE
#define BITS		(8 * sizeof(unsigned long))

struct sender {
	struct machine *m;
	struct migration *g;
	int fd;
	u64 last_kick_ns;
	/* Dirty pages not sent yet, and KVM's log as read (it overwrites). */
	unsigned long *bits[GUEST_MEM_MAX_REGIONS];
	unsigned long *kvm_bits[GUEST_MEM_MAX_REGIONS];
	char why[256];
};

static void kick_if_due(struct sender *s)
{
	u64 t;

	if (!atomic_load(&s->m->vcpus.throttle_pct))
		return;
	t = now_ns();
	if (t - s->last_kick_ns >= VCPU_THROTTLE_PERIOD_US * 1000ULL) {
		s->last_kick_ns = t;
		vcpus_kick(&s->m->vcpus);
	}
}

/* All of buf, polling so a throttled guest is kicked and cancel is seen. */
static int send_all(struct sender *s, const void *buf, size_t len)
{
	const u8 *p = buf;

	while (len) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
		ssize_t n;

		if (atomic_load(&s->g->cancel))
			return -ECANCELED;
		kick_if_due(s);
		if (poll(&pfd, 1, VCPU_THROTTLE_PERIOD_US / 1000) <= 0)
			continue;
		n = send(s->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
		atomic_fetch_add(&s->g->bytes, (u64)n);
	}
	return 0;
}

static int send_frame(struct sender *s, u32 type, u64 gpa, const void *data,
		      u32 len, bool payload)
{
	struct mig_hdr h = { .type = type, .len = len, .gpa = gpa };
	int r = send_all(s, &h, sizeof(h));

	return r || !payload ? r : send_all(s, data, len);
}

/*
 * The pages of region g set in bits (every page when bits is NULL, then
 * skipping zero pages, which the destination has already), as runs of
 * 'P' frames and, for dirtied pages that are zero now, 'Z' frames.
 */
static int send_region(struct sender *s, const struct guest_region *g,
		       const unsigned long *bits)
{
	const u8 *base = g->hva;
	u64 npages = g->size / PAGE, i, run = 0, nrun = 0;
	int kind = 0, r;	/* of the open run: 'P', 'Z' or none */

	for (i = 0; i <= npages; i++) {
		int k = 0;

		if (i < npages && (!bits || (bits[i / BITS] >> (i % BITS)) & 1)) {
			bool z = snap_page_zero(base + i * PAGE);

			k = z ? (bits ? MIG_ZERO : 0) : MIG_PAGES;
		}
		if (kind && (k != kind || (kind == MIG_PAGES && nrun * PAGE >= MIG_MAX_RUN))) {
			r = send_frame(s, (u32)kind, g->gpa + run * PAGE, base + run * PAGE,
				       (u32)(nrun * PAGE), kind == MIG_PAGES);
			if (r)
				return r;
			atomic_fetch_add(kind == MIG_PAGES ? &s->g->pages : &s->g->zero_pages, nrun);
			kind = 0;
		}
		if (k && !kind) {
			kind = k;
			run = i;
			nrun = 0;
		}
		if (k)
			nrun++;
	}
	return 0;
}

/* KVM slot i's memslot with dirty logging on or off. */
static int set_logging(struct machine *m, bool on)
{
	unsigned i;
	int r = 0;

	for (i = 0; !r && i < m->mem.nr; i++) {
		const struct guest_region *g = &m->mem.regions[i];

		r = kvm_set_memslot(&m->kvm, i, g->gpa, g->size, g->hva,
				    on ? KVM_MEM_LOG_DIRTY_PAGES : 0);
	}
	if (on && !r)
		r = guest_mem_dirty_start(&m->mem);
	if (!on)
		guest_mem_dirty_stop(&m->mem);
	return r;
}

/*
 * The pages dirtied since the last harvest, KVM's and the devices',
 * added to those not sent yet (a round that found the rest small enough
 * leaves its pages for the stop), and counted.
 */
static int harvest(struct sender *s, u64 *pages)
{
	struct machine *m = s->m;
	unsigned i;
	u64 n = 0, w;
	int r;

	for (i = 0; i < m->mem.nr; i++) {
		u64 words = (m->mem.regions[i].size / PAGE + BITS - 1) / BITS;

		r = kvm_get_dirty_log(&m->kvm, i, s->kvm_bits[i]);
		if (r) {
			snprintf(s->why, sizeof(s->why), "KVM_GET_DIRTY_LOG: %s", strerror(-r));
			return r;
		}
		guest_mem_dirty_take(&m->mem, i, s->bits[i]);
		for (w = 0; w < words; w++) {
			s->bits[i][w] |= s->kvm_bits[i][w];
			n += (u64)__builtin_popcountl(s->bits[i][w]);
		}
	}
	*pages = n;
	return 0;
}

static int send_dirty(struct sender *s)
{
	unsigned i;
	int r = 0;

	for (i = 0; !r && i < s->m->mem.nr; i++) {
		const struct guest_region *g = &s->m->mem.regions[i];

		r = send_region(s, g, s->bits[i]);
		memset(s->bits[i], 0, (g->size / PAGE + BITS - 1) / BITS * sizeof(long));
	}
	return r;
}

/* Rounds until the rest fits the budget; 0 with the guest still running. */
static int precopy(struct sender *s)
{
	struct migration *g = s->g;
	u64 t0 = now_ns(), b0 = atomic_load(&g->bytes), last_dirty = UINT64_MAX;
	unsigned i;
	int r = 0;

	for (i = 0; !r && i < s->m->mem.nr; i++)
		r = send_region(s, &s->m->mem.regions[i], NULL);
	while (!r) {
		u64 dirty, t = now_ns(), bytes = atomic_load(&g->bytes) - b0;
		double secs = (double)(t - t0) / 1e9;
		double bw = secs > 0 ? (double)bytes / secs : 0;	/* bytes/s */
		u64 expect;

		r = harvest(s, &dirty);
		if (r)
			break;
		atomic_fetch_add(&g->rounds, 1);
		atomic_store(&g->remaining, dirty * PAGE);
		atomic_store(&g->dirty_rate, secs > 0 ? (u64)((double)dirty / secs) : 0);
		expect = bw > 0 ? (u64)((double)dirty * PAGE / bw * 1000) : UINT64_MAX;
		atomic_store(&g->expected_ms, expect);
		if (expect <= g->downtime_budget_ms || atomic_load(&g->rounds) >= MIG_MAX_ROUNDS)
			return 0;	/* the rest goes with the guest stopped */
		/* Not shrinking by half a round: throttle, a step each round. */
		if (atomic_load(&g->rounds) >= 2 && dirty * 2 > last_dirty) {
			unsigned pct = atomic_load(&s->m->vcpus.throttle_pct);

			pct = pct ? MIN(pct + 10, 90u) : 20;
			vcpus_set_throttle(&s->m->vcpus, pct);
			atomic_store(&g->throttle, pct);
			pr_info("migrate: round %llu, %llu pages dirty: vCPUs throttled to %u %%",
				(unsigned long long)atomic_load(&g->rounds),
				(unsigned long long)dirty, 100 - pct);
		}
		last_dirty = dirty;
		t0 = now_ns();
		b0 = atomic_load(&g->bytes);
		r = send_dirty(s);
	}
	return r;
}

/* The destination's one-byte answer, within 60 s. */
static int wait_ack(struct sender *s)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
	char c = 0;
	int i;

	for (i = 0; i < 6000 && !atomic_load(&s->g->cancel); i++)
		if (poll(&pfd, 1, 10) > 0)
			break;
	if (atomic_load(&s->g->cancel))
		return -ECANCELED;
	if (recv(s->fd, &c, 1, MSG_DONTWAIT) != 1 || c != MIG_ACK) {
		snprintf(s->why, sizeof(s->why), "the destination did not take the VM");
		return -EPROTO;
	}
	return 0;
}

static int stop_and_copy(struct sender *s, bool *paused)
{
	struct machine *m = s->m;
	struct migration *g = s->g;
	u64 t0, dirty;
	size_t len = 0;
	u8 *state;
	int r;

	atomic_store(&g->phase, MIG_STOP_COPY);
	vcpus_set_throttle(&m->vcpus, 0);
	r = machine_pause(m);
	if (r) {
		snprintf(s->why, sizeof(s->why), "cannot pause: %s", strerror(-r));
		return r;
	}
	*paused = true;
	t0 = now_ns();
	pthread_mutex_lock(&m->run_lock);
	r = harvest(s, &dirty);
	if (!r)
		r = send_dirty(s);
	state = r ? NULL : machine_state_save(m, &len, s->why, sizeof(s->why));
	pthread_mutex_unlock(&m->run_lock);
	if (!r && !state)
		r = -EIO;
	if (!r)
		r = send_frame(s, MIG_STATE, 0, state, (u32)len, true);
	free(state);
	if (!r)
		r = send_frame(s, MIG_END, 0, NULL, 0, false);
	if (!r)
		r = wait_ack(s);
	atomic_store(&g->downtime_ms, (now_ns() - t0) / 1000000);
	return r;
}

static int send_manifest(struct sender *s)
{
	struct { char magic[8]; u32 version, zero; } head = { MIG_MAGIC, MIG_VERSION, 0 };
	char *text = machine_manifest_text(s->m, 0, s->why, sizeof(s->why));
	int r = text ? send_all(s, &head, sizeof(head)) : -ENOMEM;

	if (!r)
		r = send_frame(s, MIG_MANIFEST, 0, text, (u32)strlen(text), true);
	free(text);
	return r;
}

static const char *refused(struct machine *m)
{
	unsigned i;

	if (m->nr_vdisks)
		return "a vhost-user disk's back end writes guest memory unseen";
	for (i = 0; i < m->nr_nets; i++)
		if (m->nets[i].vhost.fd)
			return "vhost-net writes guest memory unseen (use \"vhost\": \"off\")";
	return NULL;
}

static void run_one(struct machine *m, int fd)
{
	struct migration *g = &m->mig;
	struct sender s = { .m = m, .g = g, .fd = fd };
	bool paused = false, logging = false;
	u64 t0 = now_ns();
	const char *no = refused(m);
	unsigned i;
	int r = no ? -EOPNOTSUPP : 0;

	if (no)
		snprintf(s.why, sizeof(s.why), "%s", no);
	for (i = 0; !r && i < m->mem.nr; i++) {
		u64 words = (m->mem.regions[i].size / PAGE + BITS - 1) / BITS;

		s.bits[i] = calloc(words, sizeof(long));
		s.kvm_bits[i] = calloc(words, sizeof(long));
		if (!s.bits[i] || !s.kvm_bits[i])
			r = -ENOMEM;
	}
	if (!r)
		r = send_manifest(&s);
	if (!r) {
		r = set_logging(m, true);
		logging = !r;
		if (r)
			snprintf(s.why, sizeof(s.why), "dirty logging: %s", strerror(-r));
	}
	if (!r) {
		atomic_store(&g->phase, MIG_ACTIVE);
		r = precopy(&s);
	}
	if (!r)
		r = stop_and_copy(&s, &paused);
	atomic_store(&g->total_ms, (now_ns() - t0) / 1000000);
	vcpus_set_throttle(&m->vcpus, 0);
	atomic_store(&g->throttle, 0);
	if (!r) {
		atomic_store(&g->phase, MIG_COMPLETED);
		pr_info("migrate: done in %llu ms, downtime %llu ms, %llu MiB sent",
			(unsigned long long)atomic_load(&g->total_ms),
			(unsigned long long)atomic_load(&g->downtime_ms),
			(unsigned long long)(atomic_load(&g->bytes) >> 20));
		machine_event(m, "MIGRATION", json_pack("{s:s}", "status", "completed"));
		atomic_store(&m->migrated, true);
		m->ctl.request_exit(m, VM_EXIT_USER);
	} else {
		/* migrate-cancel also cut the connection: whatever broke, it was that. */
		if (atomic_load(&g->cancel))
			r = -ECANCELED;
		if (r == -ECANCELED)
			snprintf(s.why, sizeof(s.why), "cancelled");
		else if (!*s.why)
			snprintf(s.why, sizeof(s.why), "the connection: %s", strerror(-r));
		if (logging)
			set_logging(m, false);
		/* Not while the VMM is going away (machine_migrate_exit). */
		if (paused && !g->quit)
			machine_resume(m);
		pthread_mutex_lock(&g->lock);
		snprintf(g->error, sizeof(g->error), "%s", s.why);
		pthread_mutex_unlock(&g->lock);
		atomic_store(&g->phase, r == -ECANCELED ? MIG_CANCELLED : MIG_FAILED);
		pr_warn("migrate: %s; the VM runs on here", s.why);
		machine_event(m, "MIGRATION", json_pack("{s:s,s:s}", "status",
			      r == -ECANCELED ? "cancelled" : "failed", "error", s.why));
	}
	for (i = 0; i < m->mem.nr; i++) {
		free(s.bits[i]);
		free(s.kvm_bits[i]);
	}
}

static void *worker(void *arg)
{
	struct machine *m = arg;
	struct migration *g = &m->mig;
	int fd;

	pthread_setname_np(pthread_self(), "migrate");
	sandbox_thread(SANDBOX_API, "migrate");
	for (;;) {
		pthread_mutex_lock(&g->lock);
		while (!g->go && !g->quit)
			pthread_cond_wait(&g->cond, &g->lock);
		if (g->quit) {
			pthread_mutex_unlock(&g->lock);
			return NULL;
		}
		g->go = false;
		fd = g->fd;
		pthread_mutex_unlock(&g->lock);
		run_one(m, fd);
		pthread_mutex_lock(&g->lock);
		close(g->fd);
		g->fd = -1;
		pthread_mutex_unlock(&g->lock);
	}
}

int machine_migrate_init(struct machine *m)
{
	struct migration *g = &m->mig;
	int r;

	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->fd = -1;
	if (!m->api_ok)
		return 0;	/* no API, no migration */
	r = -pthread_create(&g->thread, NULL, worker, m);
	if (r) {
		pr_err("migrate: thread: %s", strerror(-r));
		return r;
	}
	g->thread_ok = true;
	return 0;
}

void machine_migrate_exit(struct machine *m)
{
	struct migration *g = &m->mig;

	if (!g->thread_ok)
		return;
	atomic_store(&g->cancel, true);
	pthread_mutex_lock(&g->lock);
	g->quit = true;
	if (g->fd >= 0)
		shutdown(g->fd, SHUT_RDWR);
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	g->thread_ok = false;
}

static const char *const phase_name[] = {
	[MIG_NONE] = "none", [MIG_SETUP] = "setup", [MIG_ACTIVE] = "active",
	[MIG_STOP_COPY] = "device", [MIG_COMPLETED] = "completed",
	[MIG_FAILED] = "failed", [MIG_CANCELLED] = "cancelled",
};

static bool busy(enum mig_phase p)
{
	return p == MIG_SETUP || p == MIG_ACTIVE || p == MIG_STOP_COPY;
}

int machine_cmd_migrate(void *ctx, json_t *args, json_t **ret,
			struct qmp_error *err)
{
	struct machine *m = ctx;
	struct migration *g = &m->mig;
	json_t *dt = json_object_get(args, "downtime-ms");
	int fds[2], r = 0;
	unsigned n = api_take_fds(&m->api, fds, 2), i;

	(void)ret;
	if (dt && (!json_is_integer(dt) || json_integer_value(dt) < 1 ||
		   json_integer_value(dt) > 600000))
		r = qmp_fail(err, "GenericError", "'downtime-ms' is 1 to 600000");
	else if (json_object_size(args) > (dt ? 1u : 0u))
		r = qmp_fail(err, "GenericError", "migrate takes only 'downtime-ms'");
	else if (n != 1)
		r = qmp_fail(err, "GenericError",
			     "migrate needs the connection to the destination attached (got %u descriptors)",
			     n);
	else if (!g->thread_ok || busy(atomic_load(&g->phase)))
		r = qmp_fail(err, "GenericError", g->thread_ok ?
			     "a migration is running" : "no migration here");
	if (r) {
		for (i = 0; i < n; i++)
			close(fds[i]);
		return r;
	}
	pthread_mutex_lock(&g->lock);
	g->fd = fds[0];
	g->go = true;
	g->error[0] = 0;
	g->downtime_budget_ms = dt ? (u32)json_integer_value(dt) : MIG_DEFAULT_DOWNTIME_MS;
	atomic_store(&g->cancel, false);
	atomic_store(&g->phase, MIG_SETUP);
	atomic_store(&g->bytes, 0);
	atomic_store(&g->pages, 0);
	atomic_store(&g->zero_pages, 0);
	atomic_store(&g->rounds, 0);
	atomic_store(&g->throttle, 0);
	atomic_store(&g->downtime_ms, 0);
	atomic_store(&g->total_ms, 0);
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->lock);
	return 0;
}

int machine_cmd_query_migrate(void *ctx, json_t *args, json_t **ret,
			      struct qmp_error *err)
{
	struct machine *m = ctx;
	struct migration *g = &m->mig;
	enum mig_phase p = atomic_load(&g->phase);
	json_t *o;

	(void)args;
	o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
		      "status", phase_name[p],
		      "bytes", (json_int_t)atomic_load(&g->bytes),
		      "pages", (json_int_t)atomic_load(&g->pages),
		      "zero-pages", (json_int_t)atomic_load(&g->zero_pages),
		      "rounds", (json_int_t)atomic_load(&g->rounds),
		      "dirty-pages-rate", (json_int_t)atomic_load(&g->dirty_rate),
		      "remaining", (json_int_t)atomic_load(&g->remaining),
		      "expected-downtime-ms", (json_int_t)MIN(atomic_load(&g->expected_ms), (u64)INT64_MAX),
		      "throttle-percent", (json_int_t)atomic_load(&g->throttle),
		      "downtime-ms", (json_int_t)atomic_load(&g->downtime_ms),
		      "total-time-ms", (json_int_t)atomic_load(&g->total_ms));
	if (!o)
		return qmp_fail(err, "GenericError", "out of memory");
	pthread_mutex_lock(&g->lock);
	if (g->error[0])
		json_object_set_new(o, "error-desc", json_string(g->error));
	pthread_mutex_unlock(&g->lock);
	*ret = o;
	return 0;
}

int machine_cmd_migrate_cancel(void *ctx, json_t *args, json_t **ret,
			       struct qmp_error *err)
{
	struct machine *m = ctx;
	struct migration *g = &m->mig;

	(void)args;
	(void)ret;
	(void)err;
	atomic_store(&g->cancel, true);
	pthread_mutex_lock(&g->lock);
	if (g->fd >= 0)
		shutdown(g->fd, SHUT_RDWR);
	pthread_mutex_unlock(&g->lock);
	return 0;
}
