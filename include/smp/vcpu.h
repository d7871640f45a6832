/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vCPU threads: one host thread per vCPU, named "vcpu N", running KVM_RUN
 * and dispatching port-I/O and MMIO exits to the buses.
 *
 * Stopping: vcpus_stop() sets the shared stop flag, then for every vCPU sets
 * kvm_run->immediate_exit and sends it VCPU_KICK_SIGNAL. A thread that is in
 * the kernel returns with -EINTR; one that is in user space sees
 * immediate_exit on its next KVM_RUN, which returns at once. Either way it
 * then sees the flag and leaves its loop, so no kick can be lost.
 *
 * Pausing works the same way with the pause flag: each vCPU leaves
 * KVM_RUN, tells KVM the guest is being stopped (KVM_KVMCLOCK_CTRL, so its
 * watchdogs do not count the pause) and parks on a condition variable
 * until vcpus_resume; vcpus_pause returns once every started vCPU is
 * parked. A vCPU is never parked inside a device's handler.
 */
#ifndef SMPVISOR_VCPU_H
#define SMPVISOR_VCPU_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "kernel/kvm.h"
#include "lib/bus.h"
#include "lib/parse.h"
#include "lib/vm_control.h"

#define VCPU_KICK_SIGNAL SIGUSR1

struct vcpus;

struct vcpu {
	struct kvm_vcpu kv;
	unsigned idx;		/* 0..nr-1; 0 is the BSP */
	u32 apic_id;
	pthread_t thread;
	_Atomic int tid;	/* the host thread id, once it runs (0 before) */
	bool started;
	struct vcpus *set;
	u64 exits;		/* exits handled in user space (stats) */
	u64 pio_exits, mmio_exits;	/* of which port I/O, MMIO (own thread) */
	/* Host CPUs for this thread, set before start; NULL: all allowed. */
	const struct cpulist *pin;
};

struct vcpus {
	struct vcpu *v;
	unsigned nr;
	const struct bus *pio;
	const struct bus *mmio;
	struct vm_control *ctl;	/* how a vCPU reports a fatal guest exit */
	atomic_bool stop;
	/* Pause (vcpus_pause/resume), under park_lock. */
	atomic_bool pause;
	unsigned parked;
	pthread_mutex_t park_lock;
	pthread_cond_t park_cond;	/* parked changed, or pause cleared */
	/*
	 * Throttle (a migration's auto-converge): after each kick a vCPU
	 * sleeps throttle_pct % of VCPU_THROTTLE_PERIOD_US before it runs on.
	 */
	atomic_uint throttle_pct;
};

#define VCPU_THROTTLE_PERIOD_US	10000

/* Install the (empty) kick handler; call once before any thread starts. */
int vcpus_init_signals(void);
/* Start one thread per vCPU; on error the started ones are stopped. */
int vcpus_start(struct vcpus *s);
/* Ask every vCPU thread to leave KVM_RUN and its loop; async-safe enough
 * to call from any thread, any number of times. */
void vcpus_stop(struct vcpus *s);
/* Wait for every started thread. */
void vcpus_join(struct vcpus *s);
/*
 * Park every started vCPU out of KVM_RUN (from any thread but a vCPU's):
 * 0 once all are parked, -ETIMEDOUT (and resumed again) when one did not
 * park within timeout_ms, -ESHUTDOWN when the vCPUs are stopping.
 */
int vcpus_pause(struct vcpus *s, unsigned timeout_ms);
/* Let parked vCPUs run again. */
void vcpus_resume(struct vcpus *s);
/*
 * Throttle every vCPU to (100 - pct) % of its time (0: off, at most 99):
 * the caller kicks them (vcpus_kick) about every VCPU_THROTTLE_PERIOD_US,
 * and each kicked vCPU sleeps its share before entering KVM_RUN again.
 */
void vcpus_set_throttle(struct vcpus *s, unsigned pct);
void vcpus_kick(struct vcpus *s);
/*
 * Ask every vCPU to park, without waiting (any thread, a vCPU's own
 * included): vcpus_pause then finds them parked.
 */
void vcpus_pause_async(struct vcpus *s);
/*
 * Handle the exit KVM_RUN just returned on v (port I/O, MMIO, system
 * events, fatal exits): the vCPU threads' own exit path, exported so that
 * bench/exits measures exactly the code the VMM runs.
 */
void vcpu_handle_exit(struct vcpu *v);

#endif
