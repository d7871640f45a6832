// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-smoke: the smallest end-to-end check that KVM works for us, in the
 * spirit of the kernel's KVM selftests. It builds a VM with the in-kernel
 * irqchip and N vCPUs, each entered directly in 64-bit mode (at CPL0, or
 * CPL3 where the host is a PVM backend), one host thread per vCPU. Every
 * vCPU runs the same tiny hand-assembled payload that plays a port-I/O
 * ping-pong with its thread M times; the host checks each value, its
 * order and which vCPU sent it, and the guest checks each answer.
 *
 *   smoke [--vcpus N] [--iters M] [--dev PATH] [--cpl 0|3] [--timeout S]
 *
 * Exit status: 0 all round trips correct, 1 any failure, 2 bad usage,
 * 77 skipped because the KVM device cannot be opened.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "kernel/kvm.h"
#include "lib/layout.h"
#include "payload.h"

#define EXIT_SKIP	77
#define EXIT_USAGE	2
#define SMOKE_MAX_VCPUS	4096
#define SMOKE_KEY_MUL	0x9e3779b9u	/* spreads vCPU ids over all bits */

/* Guest/host protocol ports (all 32-bit accesses). */
#define PORT_SEQ	0xe0	/* out: sequence number; in: the answer */
#define PORT_OK		0xe4	/* out: sequence number whose answer matched */
#define PORT_BAD	0xe8	/* out: the wrong answer the guest received */
#define PORT_DONE	0xec	/* out: round trips counted in guest memory */

/*
 * The payload. In: edi = vCPU id, esi = round trips M, rbp = this vCPU's
 * data block, rsp = top of its stack. The answer to sequence number s is
 * (s ^ key) + 1 with key = id * 0x9e3779b9, so it depends on both.
 *
 *	entry:	imul	ebx, edi, 0x9e3779b9	; key
 *		xor	ecx, ecx		; s = 0
 *	loop:	cmp	ecx, esi
 *		jae	done
 *		call	trip			; returns only if the answer matched
 *		inc	ecx
 *		mov	[rbp], ecx		; round trips done, in guest memory
 *		jmp	loop
 *	trip:	push	rcx			; through the stack, to use it
 *		pop	rax
 *		out	0xe0, eax		; send s
 *		mov	edx, ecx
 *		xor	edx, ebx
 *		inc	edx			; expected answer
 *		in	eax, 0xe0		; host's answer
 *		cmp	eax, edx
 *		jne	bad
 *		mov	eax, ecx
 *		out	0xe4, eax		; report success for s
 *		ret
 *	bad:	out	0xe8, eax		; report failure and what came
 *		jmp	bad
 *	done:	mov	eax, [rbp]
 *		out	0xec, eax		; done, with the count from memory
 *		jmp	done
 *
 * No hlt: it is privileged at CPL3. The host never re-enters a vCPU
 * after "bad" or "done". A CPU exception in the guest is reported on
 * PL_PORT_EXC by the stubs of payload.h and fails the run with its name.
 */
static const u8 smoke_code[] = {
	0x69, 0xdf, 0xb9, 0x79, 0x37, 0x9e,	/* 00 imul ebx, edi, imm32 */
	0x31, 0xc9,				/* 06 xor ecx, ecx */
	0x39, 0xf1,				/* 08 cmp ecx, esi */
	0x73, 0x25,				/* 0a jae 0x31 */
	0xe8, 0x07, 0x00, 0x00, 0x00,		/* 0c call 0x18 */
	0xff, 0xc1,				/* 11 inc ecx */
	0x89, 0x4d, 0x00,			/* 13 mov [rbp+0], ecx */
	0xeb, 0xf0,				/* 16 jmp 0x08 */
	0x51,					/* 18 push rcx */
	0x58,					/* 19 pop rax */
	0xe7, 0xe0,				/* 1a out 0xe0, eax */
	0x89, 0xca,				/* 1c mov edx, ecx */
	0x31, 0xda,				/* 1e xor edx, ebx */
	0xff, 0xc2,				/* 20 inc edx */
	0xe5, 0xe0,				/* 22 in eax, 0xe0 */
	0x39, 0xd0,				/* 24 cmp eax, edx */
	0x75, 0x05,				/* 26 jne 0x2d */
	0x89, 0xc8,				/* 28 mov eax, ecx */
	0xe7, 0xe4,				/* 2a out 0xe4, eax */
	0xc3,					/* 2c ret */
	0xe7, 0xe8,				/* 2d out 0xe8, eax */
	0xeb, 0xfc,				/* 2f jmp 0x2d */
	0x8b, 0x45, 0x00,			/* 31 mov eax, [rbp+0] */
	0xe7, 0xec,				/* 34 out 0xec, eax */
	0xeb, 0xf9,				/* 36 jmp 0x31 */
};

/* Where a vCPU is in the protocol: what the host expects it to do next. */
enum phase { PH_SEND, PH_ANSWER, PH_REPORT, PH_DONE };

struct smoke;

struct smoke_cpu {
	struct kvm_vcpu vcpu;
	struct smoke *s;
	pthread_t thread;
	bool started;
	enum phase phase;
	u32 seq;		/* round trips completed, as the host counts */
	u32 answer;		/* the last answer the host gave */
	u32 exc[PL_EXC_WORDS];	/* a guest exception report, as it comes */
	unsigned nr_exc;
	bool failed;
	char why[256];		/* the first failure, for the report */
};

struct smoke {
	struct kvm_vm vm;
	u8 *mem;
	u64 mem_size;
	unsigned nr;
	u32 iters;
	int cpl;
	unsigned timeout;	/* seconds */
	atomic_bool stop;	/* set on timeout: threads leave KVM_RUN */
	struct smoke_cpu *cpus;
};

static u32 smoke_answer(unsigned id, u32 seq)
{
	return (seq ^ (id * SMOKE_KEY_MUL)) + 1;
}

static void cpu_fail(struct smoke_cpu *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void cpu_fail(struct smoke_cpu *c, const char *fmt, ...)
{
	va_list ap;

	if (c->failed)
		return;
	c->failed = true;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
}

/*
 * Check one port access against the protocol and answer the IN. Returns
 * false when the vCPU must not run again (done, or something went wrong).
 */
static bool smoke_io(struct smoke *s, struct smoke_cpu *c)
{
	struct kvm_run *run = c->vcpu.run;
	u32 *data = (u32 *)((u8 *)run + run->io.data_offset);
	bool out = run->io.direction == KVM_EXIT_IO_OUT;
	u16 port = run->io.port;

	if (run->io.size != 4 || run->io.count != 1) {
		cpu_fail(c, "%s of %u x %u bytes at port %#x, expected one 4-byte access",
			 out ? "out" : "in", run->io.count, run->io.size, port);
		return false;
	}
	if (port == PORT_SEQ && out && c->phase == PH_SEND) {
		if (*data != c->seq) {
			cpu_fail(c, "sent sequence number %u, expected %u",
				 *data, c->seq);
			return false;
		}
		c->phase = PH_ANSWER;
		return true;
	}
	if (port == PORT_SEQ && !out && c->phase == PH_ANSWER) {
		c->answer = smoke_answer(c->vcpu.id, c->seq);
		*data = c->answer;
		c->phase = PH_REPORT;
		return true;
	}
	if (port == PORT_OK && out && c->phase == PH_REPORT) {
		if (*data != c->seq) {
			cpu_fail(c, "reported success for %u during round trip %u",
				 *data, c->seq);
			return false;
		}
		c->seq++;
		c->phase = PH_SEND;
		return true;
	}
	if (port == PORT_BAD && out) {
		cpu_fail(c, "guest rejected the answer to round trip %u: it got %#x, the host sent %#x",
			 c->seq, *data, c->answer);
		return false;
	}
	if (port == PL_PORT_EXC && out) {
		c->exc[c->nr_exc++] = *data;
		if (c->nr_exc < PL_EXC_WORDS)
			return true;
		cpu_fail(c, "guest exception %s (vector %u), error code %#x at rip %#x, cr2 %#x, in round trip %u",
			 payload_exc_name(c->exc[0]), c->exc[0], c->exc[1],
			 c->exc[2], c->exc[3], c->seq);
		return false;
	}
	if (port == PORT_DONE && out && c->phase == PH_SEND) {
		if (c->seq != s->iters || *data != s->iters)
			cpu_fail(c, "done after %u round trips (guest memory says %u), expected %u",
				 c->seq, *data, s->iters);
		c->phase = PH_DONE;
		return false;
	}
	cpu_fail(c, "unexpected %s at port %#x (value %#x) in round trip %u, phase %d",
		 out ? "out" : "in", port, *data, c->seq, c->phase);
	return false;
}

/* Say what an exit other than port I/O was, with the guest's rip. */
static void smoke_bad_exit(struct smoke_cpu *c)
{
	struct kvm_run *run = c->vcpu.run;
	struct kvm_regs regs;
	unsigned long long rip = 0;

	if (!kvm_vcpu_get_regs(&c->vcpu, &regs))
		rip = regs.rip;
	switch (run->exit_reason) {
	case KVM_EXIT_FAIL_ENTRY:
		cpu_fail(c, "exit FAIL_ENTRY, hardware reason %#llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		cpu_fail(c, "exit INTERNAL_ERROR, suberror %u, rip %#llx",
			 run->internal.suberror, rip);
		break;
	case KVM_EXIT_MMIO:
		cpu_fail(c, "exit MMIO at %#llx, rip %#llx",
			 (unsigned long long)run->mmio.phys_addr, rip);
		break;
	default:
		cpu_fail(c, "unexpected exit %s (%u), rip %#llx",
			 kvm_exit_reason_name(run->exit_reason),
			 run->exit_reason, rip);
		break;
	}
}

/* One vCPU thread: run until done, failure or a timeout kick. */
static void *smoke_thread(void *p)
{
	struct smoke_cpu *c = p;
	struct smoke *s = c->s;
	int r;

	for (;;) {
		if (atomic_load(&s->stop)) {
			cpu_fail(c, "timed out after %u of %u round trips",
				 c->seq, s->iters);
			break;
		}
		r = kvm_vcpu_run(&c->vcpu);
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r) {
			cpu_fail(c, "KVM_RUN: %s", strerror(-r));
			break;
		}
		if (c->vcpu.run->exit_reason != KVM_EXIT_IO) {
			smoke_bad_exit(c);
			break;
		}
		if (!smoke_io(s, c))
			break;
	}
	return NULL;
}

/* The VM: irqchip, guest memory with the payload, TSS/identity pages. */
static int smoke_setup_vm(struct smoke *s)
{
	static const unsigned needed[] = {
		KVM_CAP_IRQCHIP, KVM_CAP_USER_MEMORY, KVM_CAP_IMMEDIATE_EXIT,
		KVM_CAP_EXT_CPUID, KVM_CAP_MP_STATE,
	};
	size_t i;
	int r;

	r = kvm_create_vm(&s->vm);
	if (r)
		return r;
	for (i = 0; i < ARRAY_SIZE(needed); i++) {
		if (kvm_check_extension(&s->vm, needed[i]) <= 0) {
			fprintf(stderr, "kvm-smoke: KVM lacks %s\n",
				kvm_cap_name(needed[i]));
			return -EOPNOTSUPP;
		}
	}
	/* Only VMX needs these; where KVM has them, set them as the VMM will. */
	if (kvm_check_extension(&s->vm, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
		r = kvm_set_identity_map_addr(&s->vm, KVM_IDENTITY_MAP_ADDR);
		if (r)
			return r;
	}
	if (kvm_check_extension(&s->vm, KVM_CAP_SET_TSS_ADDR) > 0) {
		r = kvm_set_tss_addr(&s->vm, KVM_TSS_ADDR);
		if (r)
			return r;
	}
	r = kvm_create_irqchip(&s->vm);
	if (r)
		return r;

	s->mem_size = payload_mem_size(s->nr);
	s->mem = mmap(NULL, s->mem_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (s->mem == MAP_FAILED) {
		r = -errno;
		s->mem = NULL;
		fprintf(stderr, "kvm-smoke: cannot map %llu bytes of guest memory: %s\n",
			(unsigned long long)s->mem_size, strerror(-r));
		return r;
	}
	r = payload_build(s->mem, s->mem_size, s->cpl, s->nr, smoke_code,
			  sizeof(smoke_code));
	if (r) {
		fprintf(stderr, "kvm-smoke: cannot lay out %llu bytes of guest memory\n",
			(unsigned long long)s->mem_size);
		return r;
	}
	return kvm_set_memslot(&s->vm, 0, 0, s->mem_size, s->mem, 0);
}

/* This vCPU's CPUID: KVM's, with its own APIC id in leaves 1, 0xb, 0x1f. */
static int smoke_set_cpuid(struct smoke_cpu *c, const struct kvm_cpuid2 *sup)
{
	size_t len = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	struct kvm_cpuid2 *cp;
	u32 i;
	int r;

	cp = malloc(len);
	if (!cp)
		return -ENOMEM;
	memcpy(cp, sup, len);
	for (i = 0; i < cp->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cp->entries[i];

		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffff) | (c->vcpu.id << 24);
		else if (e->function == 0xb || e->function == 0x1f)
			e->edx = c->vcpu.id;
	}
	r = kvm_vcpu_set_cpuid(&c->vcpu, cp);
	free(cp);
	return r;
}

/* Register, MSR, MP-state and LAPIC checks that need no guest code. */
static int smoke_check_state(struct smoke_cpu *c)
{
	struct kvm_lapic_state *lapic;
	u64 gs = 0xffff800000000000ULL + c->vcpu.id * 0x1000ULL, v = 0;
	u32 mp = ~0u, apic_id;
	int r;

	r = kvm_vcpu_set_msr(&c->vcpu, 0xc0000102, gs);	/* KERNEL_GS_BASE */
	if (!r)
		r = kvm_vcpu_get_msr(&c->vcpu, 0xc0000102, &v);
	if (r || v != gs) {
		fprintf(stderr, "kvm-smoke: vCPU %u: MSR KERNEL_GS_BASE wrote %#llx, read %#llx (%s)\n",
			c->vcpu.id, (unsigned long long)gs,
			(unsigned long long)v, r ? strerror(-r) : "mismatch");
		return r ? r : -EIO;
	}
	/* With the in-kernel irqchip, APs wait for INIT/SIPI unless told. */
	r = kvm_vcpu_set_mp_state(&c->vcpu, KVM_MP_STATE_RUNNABLE);
	if (!r)
		r = kvm_vcpu_get_mp_state(&c->vcpu, &mp);
	if (r || mp != KVM_MP_STATE_RUNNABLE) {
		fprintf(stderr, "kvm-smoke: vCPU %u: MP state %u after setting RUNNABLE (%s)\n",
			c->vcpu.id, mp, r ? strerror(-r) : "mismatch");
		return r ? r : -EIO;
	}
	lapic = calloc(1, sizeof(*lapic));
	if (!lapic)
		return -ENOMEM;
	r = kvm_vcpu_get_lapic(&c->vcpu, lapic);
	memcpy(&apic_id, &lapic->regs[0x20], sizeof(apic_id));
	free(lapic);
	if (r || (c->vcpu.id < 255 && apic_id >> 24 != c->vcpu.id)) {
		fprintf(stderr, "kvm-smoke: vCPU %u: LAPIC ID register %#x (%s)\n",
			c->vcpu.id, apic_id, r ? strerror(-r) : "mismatch");
		return r ? r : -EIO;
	}
	return 0;
}

static int smoke_setup_vcpu(struct smoke *s, struct smoke_cpu *c, unsigned id,
			    const struct kvm_cpuid2 *sup)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;
	int r;

	c->s = s;
	r = kvm_vcpu_create(&s->vm, id, &c->vcpu);
	if (r)
		return r;
	r = smoke_set_cpuid(c, sup);
	if (r)
		return r;
	r = kvm_vcpu_get_sregs(&c->vcpu, &sregs);
	if (r) {
		fprintf(stderr, "kvm-smoke: vCPU %u: KVM_GET_SREGS: %s\n", id,
			strerror(-r));
		return r;
	}
	payload_sregs(&sregs, s->cpl, id);
	r = kvm_vcpu_set_sregs(&c->vcpu, &sregs);
	if (r) {
		fprintf(stderr, "kvm-smoke: vCPU %u: KVM_SET_SREGS (64-bit, CPL%d): %s\n",
			id, s->cpl, strerror(-r));
		return r;
	}
	payload_regs(&regs, s->cpl, id);
	regs.rdi = id;
	regs.rsi = s->iters;
	r = kvm_vcpu_set_regs(&c->vcpu, &regs);
	if (r) {
		fprintf(stderr, "kvm-smoke: vCPU %u: KVM_SET_REGS: %s\n", id,
			strerror(-r));
		return r;
	}
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;	/* the x87 and SSE reset values */
	fpu.mxcsr = 0x1f80;
	r = kvm_vcpu_set_fpu(&c->vcpu, &fpu);
	if (r) {
		fprintf(stderr, "kvm-smoke: vCPU %u: KVM_SET_FPU: %s\n", id,
			strerror(-r));
		return r;
	}
	return smoke_check_state(c);
}

static void smoke_kick_handler(int sig)
{
	/* Only there so the signal interrupts KVM_RUN with EINTR. */
}

/* Make every unjoined thread from 'from' on leave KVM_RUN for good. */
static void smoke_kick(struct smoke *s, unsigned from)
{
	unsigned i;

	atomic_store(&s->stop, true);
	for (i = from; i < s->nr; i++) {
		if (!s->cpus[i].started)
			continue;
		__atomic_store_n(&s->cpus[i].vcpu.run->immediate_exit, 1,
				 __ATOMIC_SEQ_CST);
		pthread_kill(s->cpus[i].thread, SIGUSR1);
	}
}

/* Start one thread per vCPU and wait, kicking them all on timeout. */
static int smoke_run(struct smoke *s)
{
	struct sigaction sa = { .sa_handler = smoke_kick_handler };
	struct timespec deadline;
	unsigned i;
	int r = 0;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL)) {
		r = -errno;
		fprintf(stderr, "kvm-smoke: sigaction: %s\n", strerror(-r));
		return r;
	}
	for (i = 0; i < s->nr; i++) {
		r = pthread_create(&s->cpus[i].thread, NULL, smoke_thread,
				   &s->cpus[i]);
		if (r) {
			fprintf(stderr, "kvm-smoke: cannot start thread %u: %s\n",
				i, strerror(r));
			smoke_kick(s, 0);
			break;
		}
		s->cpus[i].started = true;
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += s->timeout;
	for (i = 0; i < s->nr; i++) {
		if (!s->cpus[i].started)
			continue;
		if (!atomic_load(&s->stop) &&
		    pthread_timedjoin_np(s->cpus[i].thread, NULL, &deadline) == 0)
			continue;
		smoke_kick(s, i);
		pthread_join(s->cpus[i].thread, NULL);
	}
	return r ? -EIO : 0;
}

/* After the run: each vCPU's verdict, its memory and its final mode. */
static bool smoke_verify(struct smoke *s)
{
	bool ok = true;
	unsigned i;

	for (i = 0; i < s->nr; i++) {
		struct smoke_cpu *c = &s->cpus[i];
		struct kvm_sregs sregs = { 0 };
		u32 mem_count;

		if (!c->started) {
			fprintf(stderr, "kvm-smoke: vCPU %u: never started\n", i);
			ok = false;
			continue;
		}
		if (c->failed) {
			fprintf(stderr, "kvm-smoke: vCPU %u: %s\n", i, c->why);
			ok = false;
			continue;
		}
		memcpy(&mem_count, s->mem + payload_vcpu_area(i),
		       sizeof(mem_count));
		if (mem_count != s->iters) {
			fprintf(stderr, "kvm-smoke: vCPU %u: guest memory holds %u round trips, expected %u\n",
				i, mem_count, s->iters);
			ok = false;
		}
		if (kvm_vcpu_get_sregs(&c->vcpu, &sregs) ||
		    !payload_mode_ok(&sregs, s->cpl)) {
			fprintf(stderr, "kvm-smoke: vCPU %u: not in 64-bit mode at CPL%d at the end (efer %#llx, cs.l %u, cs.dpl %u, ss.dpl %u)\n",
				i, s->cpl, (unsigned long long)sregs.efer,
				sregs.cs.l, sregs.cs.dpl, sregs.ss.dpl);
			ok = false;
		}
	}
	return ok;
}

static void smoke_cleanup(struct smoke *s)
{
	unsigned i;

	if (s->cpus) {
		for (i = 0; i < s->nr; i++)
			if (s->cpus[i].vcpu.vm)
				kvm_vcpu_destroy(&s->cpus[i].vcpu);
		free(s->cpus);
	}
	if (s->mem)
		munmap(s->mem, s->mem_size);
	kvm_close(&s->vm);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: smoke [--vcpus N] [--iters M] [--dev PATH] [--cpl 0|3] [--timeout SECONDS]\n"
		"  --vcpus N    vCPUs, one host thread each (default 4)\n"
		"  --iters M    port-I/O round trips per vCPU (default 1000)\n"
		"  --dev PATH   KVM device (default /dev/kvm)\n"
		"  --cpl 0|3    guest privilege (default 0 with vmx/svm, else 3)\n"
		"  --timeout S  give up after S seconds (default 120)\n"
		"exit: 0 ok, 1 failure, 2 usage, 77 KVM device not available\n");
}

/* Parse a decimal in [min, max]; false on junk or out of range. */
static bool parse_uint(const char *arg, unsigned long min, unsigned long max,
		       unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(arg, &end, 10);
	return !errno && end != arg && !*end && arg[0] != '-' &&
	       *out >= min && *out <= max;
}

static int smoke_parse(struct smoke *s, const char **dev, int argc,
		       char **argv)
{
	static const struct option opts[] = {
		{ "vcpus", required_argument, NULL, 'n' },
		{ "iters", required_argument, NULL, 'i' },
		{ "dev", required_argument, NULL, 'd' },
		{ "cpl", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	int o;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			if (!parse_uint(optarg, 1, SMOKE_MAX_VCPUS, &v))
				goto bad;
			s->nr = v;
			break;
		case 'i':
			if (!parse_uint(optarg, 1, UINT32_MAX - 1, &v))
				goto bad;
			s->iters = v;
			break;
		case 'd':
			*dev = optarg;
			break;
		case 'c':
			if (!parse_uint(optarg, 0, 3, &v) || (v != 0 && v != 3))
				goto bad;
			s->cpl = v;
			break;
		case 't':
			if (!parse_uint(optarg, 1, 86400, &v))
				goto bad;
			s->timeout = v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "kvm-smoke: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	return 0;
bad:
	fprintf(stderr, "kvm-smoke: bad value '%s' for --%s\n", optarg,
		opts[o == 'n' ? 0 : o == 'i' ? 1 : o == 'c' ? 3 : 4].name);
	usage(stderr);
	return -EINVAL;
}

/* Errors from kvm_open that mean "no usable KVM device here". */
static bool smoke_is_skip(int r)
{
	return r == -ENOENT || r == -ENODEV || r == -ENXIO || r == -EACCES ||
	       r == -EPERM;
}

int main(int argc, char **argv)
{
	struct smoke s = { .nr = 4, .iters = 1000, .cpl = -1, .timeout = 120 };
	const char *dev = KVM_DEFAULT_DEV;
	struct kvm_cpuid2 *sup = NULL;
	int status = 1, r;
	unsigned i;

	s.vm.sys_fd = s.vm.vm_fd = -1;
	if (smoke_parse(&s, &dev, argc, argv))
		return EXIT_USAGE;
	if (s.cpl < 0)
		s.cpl = kvm_host_has_hw_virt() ? 0 : 3;

	r = kvm_open(&s.vm, dev);
	if (r) {
		if (!smoke_is_skip(r))
			goto out;
		printf("kvm-smoke: skipped: %s not available (%s)\n", dev,
		       strerror(-r));
		return EXIT_SKIP;
	}
	if (s.nr > (unsigned)s.vm.max_vcpus) {
		fprintf(stderr, "kvm-smoke: %u vCPUs asked, KVM allows %d\n",
			s.nr, s.vm.max_vcpus);
		goto out;
	}
	if (smoke_setup_vm(&s))
		goto out;
	if (kvm_get_supported_cpuid(&s.vm, &sup))
		goto out;
	s.cpus = calloc(s.nr, sizeof(*s.cpus));
	if (!s.cpus) {
		fprintf(stderr, "kvm-smoke: out of memory\n");
		goto out;
	}
	for (i = 0; i < s.nr; i++)
		if (smoke_setup_vcpu(&s, &s.cpus[i], i, sup))
			goto out;
	r = smoke_run(&s);
	if (smoke_verify(&s) && !r) {
		printf("kvm-smoke: %u vCPU%s x %u round trips: ok (CPL%d, 64-bit)\n",
		       s.nr, s.nr == 1 ? "" : "s", s.iters, s.cpl);
		status = 0;
	}
out:
	if (status)
		printf("kvm-smoke: FAILED (%u vCPUs, CPL%d)\n", s.nr, s.cpl);
	free(sup);
	smoke_cleanup(&s);
	return status;
}
