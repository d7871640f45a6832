// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU threads and the exit loop. The loop only decodes the exit and hands
 * it to a bus; devices do the rest. No VMM lock is taken on this path (the
 * buses are immutable once vCPUs run, see bus.h), so vCPUs exit in parallel.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/sandbox.h"
#include "smp/pin.h"
#include "smp/vcpu.h"

static void kick_handler(int sig)
{
	(void)sig;	/* only there to interrupt KVM_RUN */
}

int vcpus_init_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;	/* no SA_RESTART: KVM_RUN must return */
	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return -errno;
	return 0;
}

static void dump_state(struct vcpu *v, const char *why)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (kvm_vcpu_get_regs(&v->kv, &r) || kvm_vcpu_get_sregs(&v->kv, &s)) {
		pr_err("vcpu %u: %s", v->idx, why);
		return;
	}
	/*
	 * On AMD, KVM puts a vCPU through INIT right after a shutdown (the
	 * VMCB is undefined then), so the fault's registers are gone.
	 */
	pr_err("vcpu %u: %s (rip 0x%llx rsp 0x%llx cr0 0x%llx cr3 0x%llx cr4 0x%llx efer 0x%llx%s)",
	       v->idx, why, (unsigned long long)r.rip, (unsigned long long)r.rsp,
	       (unsigned long long)s.cr0, (unsigned long long)s.cr3,
	       (unsigned long long)s.cr4, (unsigned long long)s.efer,
	       r.rip == 0xfff0 && s.cs.base == 0xffff0000 ?
	       "; the INIT state KVM reset it to, not where it faulted" : "");
}

static void fatal(struct vcpu *v, const char *why)
{
	dump_state(v, why);
	v->set->ctl->request_exit(v->set->ctl->opaque, VM_EXIT_FATAL);
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->kv.run;
	u8 *data = (u8 *)run + run->io.data_offset;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;
	u32 i;

	/* String I/O (rep ins/outs) arrives as count items of size bytes. */
	for (i = 0; i < run->io.count; i++) {
		bus_dispatch(v->set->pio, run->io.port, data, run->io.size, out);
		data += run->io.size;
	}
}

void vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->kv.run;
	char why[96];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		v->pio_exits++;
		handle_io(v);
		break;
	case KVM_EXIT_MMIO:
		v->mmio_exits++;
		bus_dispatch(v->set->mmio, run->mmio.phys_addr, run->mmio.data,
			     run->mmio.len, run->mmio.is_write);
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		v->set->ctl->request_exit(v->set->ctl->opaque,
			run->system_event.type == KVM_SYSTEM_EVENT_RESET ?
			VM_EXIT_RESET : VM_EXIT_POWEROFF);
		break;
	case KVM_EXIT_SHUTDOWN:
		fatal(v, "guest triple fault (KVM_EXIT_SHUTDOWN)");
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(why, sizeof(why), "VM entry failed (hardware reason 0x%llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		fatal(v, why);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(why, sizeof(why), "KVM internal error (suberror %u)",
			 run->internal.suberror);
		fatal(v, why);
		break;
	case KVM_EXIT_INTR:
		break;
	default:
		snprintf(why, sizeof(why), "unexpected exit %s (%u)",
			 kvm_exit_reason_name(run->exit_reason), run->exit_reason);
		fatal(v, why);
		break;
	}
}

/*
 * kvm_run.immediate_exit is written by the vCPU thread (clearing it after
 * an interrupted KVM_RUN) and by the thread stopping it (setting it), so
 * both use atomic stores. Sequentially consistent, like the stop flag:
 * a vCPU thread that clears it after vcpus_stop set it is then sure to
 * see the stop flag, so it never enters KVM_RUN again with the kick lost.
 */
static void set_immediate_exit(struct kvm_run *run, u8 val)
{
	__atomic_store_n(&run->immediate_exit, val, __ATOMIC_SEQ_CST);
}

/* Parked until vcpus_resume (or a stop); see vcpu.h. */
static void park(struct vcpu *v)
{
	struct vcpus *s = v->set;

	kvm_vcpu_kvmclock_ctrl(&v->kv);	/* -EINVAL before kvmclock: fine */
	pthread_mutex_lock(&s->park_lock);
	s->parked++;
	pthread_cond_broadcast(&s->park_cond);
	while (atomic_load(&s->pause) && !atomic_load(&s->stop))
		pthread_cond_wait(&s->park_cond, &s->park_lock);
	s->parked--;
	pthread_mutex_unlock(&s->park_lock);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vcpus *s = v->set;
	char name[16];
	sigset_t set;
	int r;

	snprintf(name, sizeof(name), "vcpu %u", v->idx);
	pthread_setname_np(pthread_self(), name);
	atomic_store(&v->tid, (int)gettid());
	/* Before the first KVM_RUN, so the guest never runs elsewhere. */
	if (smp_pin_self(v->pin, name)) {
		s->ctl->request_exit(s->ctl->opaque, VM_EXIT_FATAL);
		return NULL;
	}
	sandbox_thread(SANDBOX_VCPU, name);
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (!atomic_load(&s->stop)) {
		if (atomic_load(&s->pause)) {
			/*
			 * An I/O or MMIO exit is complete (an IN's value in
			 * RAX, RIP past the instruction) only once KVM_RUN
			 * is entered again: with immediate_exit it finishes
			 * that and returns at once, so the state a snapshot
			 * reads while this vCPU is parked is whole.
			 */
			set_immediate_exit(v->kv.run, 1);
			kvm_vcpu_run(&v->kv);
			set_immediate_exit(v->kv.run, 0);
			park(v);
			continue;
		}
		r = kvm_vcpu_run(&v->kv);
		if (r == -EINTR || r == -EAGAIN) {
			unsigned pct = atomic_load(&s->throttle_pct);

			set_immediate_exit(v->kv.run, 0);
			if (pct && !atomic_load(&s->pause) && !atomic_load(&s->stop))
				usleep(VCPU_THROTTLE_PERIOD_US / 100 * pct);
			continue;
		}
		if (r < 0) {
			pr_err("vcpu %u: KVM_RUN: %s", v->idx, strerror(-r));
			v->set->ctl->request_exit(v->set->ctl->opaque, VM_EXIT_FATAL);
			break;
		}
		v->exits++;
		vcpu_handle_exit(v);
	}
	return NULL;
}

int vcpus_start(struct vcpus *s)
{
	sigset_t block, old;
	unsigned i;
	int r;

	pthread_mutex_init(&s->park_lock, NULL);
	pthread_cond_init(&s->park_cond, NULL);
	/* Threads start with the kick blocked and unblock it themselves. */
	sigemptyset(&block);
	sigaddset(&block, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (i = 0; i < s->nr; i++) {
		struct vcpu *v = &s->v[i];

		v->set = s;
		r = pthread_create(&v->thread, NULL, vcpu_thread, v);
		if (r) {
			pr_err("cannot start vcpu %u thread: %s", i, strerror(r));
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			vcpus_stop(s);
			vcpus_join(s);
			return -r;
		}
		v->started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

/* Make every started vCPU leave KVM_RUN and look at the flags. */
static void kick_all(struct vcpus *s)
{
	unsigned i;

	for (i = 0; i < s->nr; i++) {
		struct vcpu *v = &s->v[i];

		if (!v->started)
			continue;
		set_immediate_exit(v->kv.run, 1);
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
	}
}

void vcpus_stop(struct vcpus *s)
{
	atomic_store(&s->stop, true);
	kick_all(s);
	/* Parked vCPUs wake up and see the stop flag. */
	if (s->nr && s->v[0].started) {
		pthread_mutex_lock(&s->park_lock);
		pthread_cond_broadcast(&s->park_cond);
		pthread_mutex_unlock(&s->park_lock);
	}
}

int vcpus_pause(struct vcpus *s, unsigned timeout_ms)
{
	struct timespec dl;
	unsigned i, started = 0;
	int r = 0;

	for (i = 0; i < s->nr; i++)
		started += s->v[i].started;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	atomic_store(&s->pause, true);
	kick_all(s);
	pthread_mutex_lock(&s->park_lock);
	while (!r && s->parked < started) {
		if (atomic_load(&s->stop))
			r = -ESHUTDOWN;
		else
			r = -pthread_cond_timedwait(&s->park_cond, &s->park_lock, &dl);
	}
	pthread_mutex_unlock(&s->park_lock);
	if (r)
		vcpus_resume(s);
	return r;
}

void vcpus_set_throttle(struct vcpus *s, unsigned pct)
{
	atomic_store(&s->throttle_pct, MIN(pct, 99u));
}

void vcpus_kick(struct vcpus *s)
{
	kick_all(s);
}

void vcpus_pause_async(struct vcpus *s)
{
	atomic_store(&s->pause, true);
	kick_all(s);
}

void vcpus_resume(struct vcpus *s)
{
	pthread_mutex_lock(&s->park_lock);
	atomic_store(&s->pause, false);
	pthread_cond_broadcast(&s->park_cond);
	pthread_mutex_unlock(&s->park_lock);
}

void vcpus_join(struct vcpus *s)
{
	unsigned i;

	for (i = 0; i < s->nr; i++) {
		if (!s->v[i].started)
			continue;
		pthread_join(s->v[i].thread, NULL);
		s->v[i].started = false;
	}
}
