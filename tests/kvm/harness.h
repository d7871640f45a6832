/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shared part of the tiny-guest KVM programs (tests/kvm/smoke.c,
 * tests/kvm/x2apic.c, bench/exits.c), in the spirit of the kernel's KVM
 * selftests library: open KVM or skip, build a VM with the in-kernel
 * irqchip and the payload.h guest memory, give each vCPU its 64-bit entry
 * state, and run one host thread per vCPU until it is done, fails or
 * times out. Everything goes through the VMM's own functions: the kernel/
 * wrappers for KVM, and smp/vcpu.h's vCPU structures, kick signal and
 * vcpus_stop for the threads (x2apic creates its vCPUs with
 * smp/vcpu_setup.h's vcpus_setup into the same h->set).
 *
 * A test program embeds struct harness in its own state and gets back
 * to it with container_of. Its guest talks to it by 32-bit port I/O: the
 * harness's vCPU loop checks that every exit is one 4-byte access,
 * collects the payload.h exception reports (PL_PORT_EXC) and hands each
 * other access to ops->io. The first failure of a vCPU is kept as a
 * sentence, with ops->where saying where the vCPU was in the protocol.
 *
 *	h->nr = 4;
 *	r = harness_open(h, dev);		(0, HARNESS_EXIT_SKIP, -errno)
 *	harness_create_vm(h, caps, n);		(VM, irqchip, CPUID)
 *	harness_load(h, code, len);		(guest memory and payload)
 *	harness_create_vcpus(h);		(or vcpus_setup(&h->set, ...))
 *	harness_setup_vcpu(h, i, &regs);	(each vCPU's entry state)
 *	harness_run(h);				(threads, timeout kicks)
 *	harness_cpu_ok(h, i) ...		(each vCPU's verdict)
 *	harness_close(h);
 */
#ifndef SMPVISOR_TESTS_KVM_HARNESS_H
#define SMPVISOR_TESTS_KVM_HARNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "kernel/kvm.h"
#include "lib/util.h"
#include "payload.h"
#include "smp/vcpu.h"

#define HARNESS_EXIT_SKIP	77	/* no usable KVM device */
#define HARNESS_EXIT_USAGE	2
#define HARNESS_WHY		256	/* a failure's sentence, at most */

struct harness;

struct harness_ops {
	/*
	 * One 4-byte port access by vCPU idx: *data is the value written
	 * (out) or where the answer to an IN goes. False when the vCPU must
	 * not run again (it is done, or harness_fail said why).
	 */
	bool (*io)(struct harness *h, unsigned idx, u16 port, bool out,
		   u32 *data);
	/* Where vCPU idx is, for its failure ("in round trip 3 of 10"). */
	void (*where)(struct harness *h, unsigned idx, char *buf, size_t len);
};

/* What the harness keeps of each vCPU, by index, beside h->set.v. */
struct harness_cpu {
	bool ran;		/* its thread was started */
	bool failed;
	char why[HARNESS_WHY];	/* its first failure */
	u32 exc[PL_EXC_WORDS];	/* a guest exception report, as it comes */
	unsigned nr_exc;
};

struct harness {
	const char *name;	/* prefix of every message: "kvm-smoke" */
	const struct harness_ops *ops;
	unsigned nr;		/* vCPUs */
	int cpl;		/* 0 or 3; -1 picks by the host (harness_open) */
	unsigned timeout;	/* seconds harness_wait allows; 0: no limit */
	unsigned idt_vectors;	/* IDT gates the payload uses; 0: the 32 */
	unsigned max_reports;	/* harness_report prints this many; 0: all */
	unsigned nr_reports;
	struct kvm_vm vm;
	struct kvm_cpuid2 *sup;	/* KVM_GET_SUPPORTED_CPUID */
	u8 *mem;		/* guest memory at guest physical 0 */
	u64 mem_size;
	struct vcpus set;	/* the VMM's vCPU structures; set.v[i].idx = i */
	struct harness_cpu *cpus;
	/* Failures, and any wait of the test's own (x2apic's ready count). */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned nr_failed;
};

/* The harness of vCPU v (a thread function's argument). */
static inline struct harness *harness_of(struct vcpu *v)
{
	return container_of(v->set, struct harness, set);
}

/* Name, ops and defaults: 4 vCPUs, CPL by the host, 120 s. */
void harness_init(struct harness *h, const char *name,
		  const struct harness_ops *ops);
/*
 * Open the KVM device dev (NULL: /dev/kvm), pick the CPL if h->cpl < 0
 * (0 with vmx/svm, else 3) and check h->nr against KVM's limit: 0,
 * HARNESS_EXIT_SKIP (said on stdout) when there is no usable device, or
 * -errno with a message.
 */
int harness_open(struct harness *h, const char *dev);
/*
 * The VM with the capabilities caps (each missing one named), the TSS
 * and identity-map addresses where KVM wants them, the in-kernel
 * irqchip; KVM's supported CPUID in h->sup. 0 or -errno.
 */
int harness_create_vm(struct harness *h, const unsigned *caps, size_t nr);
/* Guest memory for h->nr vCPUs with payload.h's layout and code. */
int harness_load(struct harness *h, const u8 *code, size_t len);
/* vCPUs 0..h->nr-1 with KVM id and APIC ID = index, KVM's CPUID naming it. */
int harness_create_vcpus(struct harness *h);
/*
 * vCPU idx's entry state: payload_sregs at h->cpl (IDT limit for
 * h->idt_vectors), regs (NULL: payload_regs), the FPU's reset state,
 * and RUNNABLE (with the in-kernel irqchip APs wait for INIT/SIPI).
 */
int harness_setup_vcpu(struct harness *h, unsigned idx,
		       const struct kvm_regs *regs);

/*
 * Start a thread fn(struct vcpu *) for vCPUs 0..nr-1, which wait for no
 * one; if one cannot start, those that did are stopped and joined and
 * -EIO returned. harness_wait joins them, kicking all that are left
 * (vcpus_stop) once h->timeout runs out.
 */
int harness_start(struct harness *h, unsigned nr, void *(*fn)(void *));
void harness_wait(struct harness *h);
/* Every vCPU through the port-I/O loop of ops: start, then wait. */
int harness_run(struct harness *h);

/* Record vCPU idx's first failure (later ones are dropped). */
void harness_fail(struct harness *h, unsigned idx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "NAME: " fmt "\n" on stderr; past h->max_reports only counted. */
void harness_report(struct harness *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* False, reported, when vCPU idx never ran or failed. */
bool harness_cpu_ok(struct harness *h, unsigned idx);
/* "... and N more failures" when harness_report left some out. */
void harness_report_end(struct harness *h);

void harness_close(struct harness *h);

/* A decimal in [min, max]; false on junk or out of range. */
bool harness_parse_uint(const char *arg, unsigned long min,
			unsigned long max, unsigned long *out);

#endif
