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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

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

struct smoke_cpu {
	enum phase phase;
	u32 seq;		/* round trips completed, as the host counts */
	u32 answer;		/* the last answer the host gave */
};

struct smoke {
	struct harness h;
	u32 iters;
	struct smoke_cpu *cpus;
};

static struct smoke *smoke_of(struct harness *h)
{
	return container_of(h, struct smoke, h);
}

static u32 smoke_answer(unsigned id, u32 seq)
{
	return (seq ^ (id * SMOKE_KEY_MUL)) + 1;
}

static void smoke_where(struct harness *h, unsigned idx, char *buf,
			size_t len)
{
	struct smoke *s = smoke_of(h);

	snprintf(buf, len, "in round trip %u of %u", s->cpus[idx].seq,
		 s->iters);
}

/*
 * Check one port access of vCPU idx against the protocol and answer the
 * IN. Returns false when the vCPU must not run again (done, or failed).
 */
static bool smoke_io(struct harness *h, unsigned idx, u16 port, bool out,
		     u32 *data)
{
	struct smoke *s = smoke_of(h);
	struct smoke_cpu *c = &s->cpus[idx];

	if (port == PORT_SEQ && out && c->phase == PH_SEND) {
		if (*data != c->seq) {
			harness_fail(h, idx, "sent sequence number %u, expected %u",
				     *data, c->seq);
			return false;
		}
		c->phase = PH_ANSWER;
		return true;
	}
	if (port == PORT_SEQ && !out && c->phase == PH_ANSWER) {
		c->answer = smoke_answer(idx, c->seq);
		*data = c->answer;
		c->phase = PH_REPORT;
		return true;
	}
	if (port == PORT_OK && out && c->phase == PH_REPORT) {
		if (*data != c->seq) {
			harness_fail(h, idx, "reported success for %u during round trip %u",
				     *data, c->seq);
			return false;
		}
		c->seq++;
		c->phase = PH_SEND;
		return true;
	}
	if (port == PORT_BAD && out) {
		harness_fail(h, idx, "guest rejected the answer to round trip %u: it got %#x, the host sent %#x",
			     c->seq, *data, c->answer);
		return false;
	}
	if (port == PORT_DONE && out && c->phase == PH_SEND) {
		if (c->seq != s->iters || *data != s->iters)
			harness_fail(h, idx, "done after %u round trips (guest memory says %u), expected %u",
				     c->seq, *data, s->iters);
		c->phase = PH_DONE;
		return false;
	}
	harness_fail(h, idx, "unexpected %s at port %#x (value %#x) in round trip %u, phase %d",
		     out ? "out" : "in", port, *data, c->seq, c->phase);
	return false;
}

static const struct harness_ops smoke_ops = {
	.io = smoke_io,
	.where = smoke_where,
};

/* Register, MSR, MP-state and LAPIC checks that need no guest code. */
static int smoke_check_state(struct harness *h, unsigned idx)
{
	struct kvm_vcpu *kv = &h->set.v[idx].kv;
	struct kvm_lapic_state *lapic;
	u64 gs = 0xffff800000000000ULL + idx * 0x1000ULL, v = 0;
	u32 mp = ~0u, apic_id;
	int r;

	r = kvm_vcpu_set_msr(kv, 0xc0000102, gs);	/* KERNEL_GS_BASE */
	if (!r)
		r = kvm_vcpu_get_msr(kv, 0xc0000102, &v);
	if (r || v != gs) {
		fprintf(stderr, "kvm-smoke: vCPU %u: MSR KERNEL_GS_BASE wrote %#llx, read %#llx (%s)\n",
			idx, (unsigned long long)gs, (unsigned long long)v,
			r ? strerror(-r) : "mismatch");
		return r ? r : -EIO;
	}
	/* harness_setup_vcpu made it RUNNABLE: it must read back so. */
	r = kvm_vcpu_get_mp_state(kv, &mp);
	if (r || mp != KVM_MP_STATE_RUNNABLE) {
		fprintf(stderr, "kvm-smoke: vCPU %u: MP state %u after setting RUNNABLE (%s)\n",
			idx, mp, r ? strerror(-r) : "mismatch");
		return r ? r : -EIO;
	}
	lapic = calloc(1, sizeof(*lapic));
	if (!lapic)
		return -ENOMEM;
	r = kvm_vcpu_get_lapic(kv, lapic);
	memcpy(&apic_id, &lapic->regs[0x20], sizeof(apic_id));
	free(lapic);
	if (r || (idx < 255 && apic_id >> 24 != idx)) {
		fprintf(stderr, "kvm-smoke: vCPU %u: LAPIC ID register %#x (%s)\n",
			idx, apic_id, r ? strerror(-r) : "mismatch");
		return r ? r : -EIO;
	}
	return 0;
}

/* Every vCPU: entered at the payload with edi = its id, esi = M. */
static int smoke_setup(struct smoke *s)
{
	struct harness *h = &s->h;
	static const unsigned needed[] = {
		KVM_CAP_IRQCHIP, KVM_CAP_USER_MEMORY, KVM_CAP_IMMEDIATE_EXIT,
		KVM_CAP_EXT_CPUID, KVM_CAP_MP_STATE,
	};
	struct kvm_regs regs;
	unsigned i;
	int r;

	r = harness_create_vm(h, needed, ARRAY_SIZE(needed));
	if (!r)
		r = harness_load(h, smoke_code, sizeof(smoke_code));
	if (!r)
		r = harness_create_vcpus(h);
	if (r)
		return r;
	s->cpus = calloc(h->nr, sizeof(*s->cpus));
	if (!s->cpus)
		return -ENOMEM;
	for (i = 0; i < h->nr; i++) {
		payload_regs(&regs, h->cpl, i);
		regs.rdi = i;
		regs.rsi = s->iters;
		r = harness_setup_vcpu(h, i, &regs);
		if (!r)
			r = smoke_check_state(h, i);
		if (r)
			return r;
	}
	return 0;
}

/* After the run: each vCPU's verdict, its memory and its final mode. */
static bool smoke_verify(struct smoke *s)
{
	struct harness *h = &s->h;
	bool ok = true;
	unsigned i;

	for (i = 0; i < h->nr; i++) {
		struct kvm_sregs sregs = { 0 };
		u32 mem_count;

		if (!harness_cpu_ok(h, i)) {
			ok = false;
			continue;
		}
		memcpy(&mem_count, h->mem + payload_vcpu_area(i),
		       sizeof(mem_count));
		if (mem_count != s->iters) {
			harness_report(h, "vCPU %u: guest memory holds %u round trips, expected %u",
				       i, mem_count, s->iters);
			ok = false;
		}
		if (kvm_vcpu_get_sregs(&h->set.v[i].kv, &sregs) ||
		    !payload_mode_ok(&sregs, h->cpl)) {
			harness_report(h, "vCPU %u: not in 64-bit mode at CPL%d at the end (efer %#llx, cs.l %u, cs.dpl %u, ss.dpl %u)",
				       i, h->cpl, (unsigned long long)sregs.efer,
				       sregs.cs.l, sregs.cs.dpl, sregs.ss.dpl);
			ok = false;
		}
	}
	return ok;
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
	struct harness *h = &s->h;
	unsigned long v;
	int o;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			if (!harness_parse_uint(optarg, 1, SMOKE_MAX_VCPUS, &v))
				goto bad;
			h->nr = v;
			break;
		case 'i':
			if (!harness_parse_uint(optarg, 1, UINT32_MAX - 1, &v))
				goto bad;
			s->iters = v;
			break;
		case 'd':
			*dev = optarg;
			break;
		case 'c':
			if (!harness_parse_uint(optarg, 0, 3, &v) ||
			    (v != 0 && v != 3))
				goto bad;
			h->cpl = v;
			break;
		case 't':
			if (!harness_parse_uint(optarg, 1, 86400, &v))
				goto bad;
			h->timeout = v;
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

int main(int argc, char **argv)
{
	struct smoke s = { .iters = 1000 };
	struct harness *h = &s.h;
	const char *dev = KVM_DEFAULT_DEV;
	int status = 1, r;

	harness_init(h, "kvm-smoke", &smoke_ops);
	if (smoke_parse(&s, &dev, argc, argv))
		return HARNESS_EXIT_USAGE;
	r = harness_open(h, dev);
	if (r == HARNESS_EXIT_SKIP)
		return r;
	if (r || smoke_setup(&s))
		goto out;
	r = harness_run(h);
	if (smoke_verify(&s) && !r) {
		printf("kvm-smoke: %u vCPU%s x %u round trips: ok (CPL%d, 64-bit)\n",
		       h->nr, h->nr == 1 ? "" : "s", s.iters, h->cpl);
		status = 0;
	}
out:
	if (status)
		printf("kvm-smoke: FAILED (%u vCPUs, CPL%d)\n", h->nr, h->cpl);
	free(s.cpus);
	harness_close(h);
	return status;
}
