// SPDX-License-Identifier: GPL-2.0
/*
 * x2apic: check that a large guest built by smpvisor's own code paths gets
 * working 32-bit x2APIC IDs. Guests with more than ~255 vCPUs (or sparse
 * topologies) have APIC IDs of 255 and up, which only exist in x2APIC
 * mode; the VMM creates each vCPU with id = APIC ID, enables
 * KVM_CAP_X2APIC_API with 32-bit IDs and the broadcast quirk off, and
 * describes the IDs in CPUID. This program builds its VM with the VMM's
 * own functions (smp_topo_init/smp_topo_apic_id, vcpu_setup_x2apic_api
 * and vcpus_setup of smp/vcpu_setup.h: each vCPU created with its APIC ID,
 * CPUID, LAPIC LINT pins, x2APIC mode as the VMM hands it over), then
 * runs (tests/kvm/harness.h) a tiny CPL0 payload on every vCPU that
 *
 *   - writes IA32_APIC_BASE EXTD|EN again (the mode the VMM set) and
 *     software-enables its local APIC (SVR),
 *   - reports its x2APIC ID (MSR 0x802) and CPUID leaf 0xb EDX,
 *
 * and the host checks both against the topology's APIC ID for every vCPU.
 * Then, once every vCPU is in x2APIC mode:
 *
 *   - the host sends an MSI to destination 0xff (when no vCPU has that
 *     ID), which must reach nobody: with the broadcast quirk it would
 *     reach everyone;
 *   - the BSP sends a fixed IPI (vector 0x40) through the x2APIC ICR with
 *     a 32-bit destination, the highest APIC ID, whose vCPU waits for it
 *     with sti; hlt and reports it from its interrupt handler;
 *
 * and afterwards no other vCPU may hold either vector in its IRR, every
 * IA32_APIC_BASE must read back in x2APIC mode and KVM_GET_LAPIC must give
 * each APIC ID unshifted in the ID register (the 32-bit ID format of
 * KVM_CAP_X2APIC_API, which smpvisor's save/restore relies on).
 *
 *   x2apic [--vcpus N] [--sockets S --cores C --threads T] [--dev PATH]
 *          [--timeout S]
 *
 * The default topology is 2 sockets of N/2 cores (N odd: 1 socket), so
 * 300 vCPUs have APIC IDs 0..149 and 256..405. Exit status: 0 all checks
 * passed, 1 any failure, 2 bad usage, 77 skipped (no KVM device).
 */
#include <errno.h>
#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "smp/topology.h"
#include "smp/vcpu_setup.h"

#define X2_MAX_VCPUS	4096
#define X2_MAX_REPORTS	10	/* failing vCPUs named one by one */

/* Guest/host protocol ports (all 32-bit accesses). */
#define PORT_X2APIC_ID	0xe0	/* out: MSR 0x802 */
#define PORT_CPUID_ID	0xe4	/* out: CPUID 0xb.0 EDX */
#define PORT_ROLE	0xe8	/* in: ROLE_* bits */
#define PORT_VECTOR	0xec	/* in: next IPI vector to send, 0: no more */
#define PORT_DEST	0xf4	/* in: its 32-bit destination */
#define PORT_SENT	0xf8	/* out: the vector just written to the ICR */
#define PORT_DONE	0xfc	/* out: nothing more to do */
#define PORT_IRQ	0xdc	/* out: vector taken by the interrupt handler */

#define ROLE_SEND	1	/* send the IPIs the host hands out */
#define ROLE_WAIT	2	/* then wait for an interrupt */

#define IPI_VECTOR	0x40	/* BSP -> highest APIC ID */
#define PROBE_VECTOR	0x41	/* MSI to destination 0xff */
#define PROBE_DEST	0xff
#define MSI_ADDR_BASE	0xfee00000ULL
#define MSI_DEST_SHIFT	12

#define MSR_APIC_BASE	0x1b
#define APIC_BASE_EXTD	(1ULL << 10)
#define APIC_BASE_EN	(1ULL << 11)
#define LAPIC_REG_ID	0x20
#define LAPIC_REG_IRR	0x200

/* Offsets of the interrupt handler entries in x2_code, and its length. */
#define X2_HANDLER_40	0x68
#define X2_HANDLER_41	0x6c
#define X2_IDT_VECTORS	(PROBE_VECTOR + 1)

/*
 * The payload, at PL_CODE, entered at CPL0 with rbp/rsp at this vCPU's
 * block (payload.h); rsp is also where the interrupt frame goes.
 *
 *	00 mov ecx, 0x1b ; rdmsr		IA32_APIC_BASE
 *	07 or eax, 0xc00 ; wrmsr		EN | EXTD: x2APIC mode
 *	0e mov ecx, 0x80f ; mov eax, 0x1ff	SVR: software enable,
 *	18 xor edx, edx ; wrmsr			spurious vector 0xff
 *	1c mov ecx, 0x802 ; rdmsr		x2APIC ID
 *	23 out 0xe0, eax
 *	25 mov eax, 0xb ; xor ecx, ecx ; cpuid	leaf 0xb, subleaf 0
 *	2e mov eax, edx ; out 0xe4, eax		its x2APIC ID
 *	32 in eax, 0xe8 ; mov ebx, eax		role
 *	36 test bl, 1 ; jz nosend
 *	3b send: in eax, 0xec			vector, 0 when done
 *	3d test eax, eax ; jz nosend
 *	41 mov esi, eax
 *	43 in eax, 0xf4 ; mov edx, eax		destination (ICR high)
 *	47 mov eax, esi ; or eax, 0x4000	fixed, physical, assert
 *	4e mov ecx, 0x830 ; wrmsr		x2APIC ICR
 *	55 mov eax, esi ; out 0xf8, eax ; jmp send
 *	5b nosend: test bl, 2 ; jz done
 *	60 wait: sti ; hlt ; jmp wait
 *	64 done: out 0xfc, eax ; jmp done
 *	68 handler 0x40: push 0x40 ; jmp common
 *	6c handler 0x41: push 0x41
 *	6e common: pop rax ; out 0xdc, eax	report the vector
 *	71 mov ecx, 0x80b ; xor eax, eax	EOI
 *	78 xor edx, edx ; wrmsr ; iretq
 *
 * The host never re-enters a vCPU after PORT_DONE or PORT_IRQ.
 */
static const u8 x2_code[] = {
	0xb9, 0x1b, 0x00, 0x00, 0x00,		/* 00 mov ecx, 0x1b */
	0x0f, 0x32,				/* 05 rdmsr */
	0x0d, 0x00, 0x0c, 0x00, 0x00,		/* 07 or eax, 0xc00 */
	0x0f, 0x30,				/* 0c wrmsr */
	0xb9, 0x0f, 0x08, 0x00, 0x00,		/* 0e mov ecx, 0x80f */
	0xb8, 0xff, 0x01, 0x00, 0x00,		/* 13 mov eax, 0x1ff */
	0x31, 0xd2,				/* 18 xor edx, edx */
	0x0f, 0x30,				/* 1a wrmsr */
	0xb9, 0x02, 0x08, 0x00, 0x00,		/* 1c mov ecx, 0x802 */
	0x0f, 0x32,				/* 21 rdmsr */
	0xe7, PORT_X2APIC_ID,			/* 23 out imm8, eax */
	0xb8, 0x0b, 0x00, 0x00, 0x00,		/* 25 mov eax, 0xb */
	0x31, 0xc9,				/* 2a xor ecx, ecx */
	0x0f, 0xa2,				/* 2c cpuid */
	0x89, 0xd0,				/* 2e mov eax, edx */
	0xe7, PORT_CPUID_ID,			/* 30 out imm8, eax */
	0xe5, PORT_ROLE,			/* 32 in eax, imm8 */
	0x89, 0xc3,				/* 34 mov ebx, eax */
	0xf6, 0xc3, ROLE_SEND,			/* 36 test bl, imm8 */
	0x74, 0x20,				/* 39 jz 0x5b */
	0xe5, PORT_VECTOR,			/* 3b in eax, imm8 */
	0x85, 0xc0,				/* 3d test eax, eax */
	0x74, 0x1a,				/* 3f jz 0x5b */
	0x89, 0xc6,				/* 41 mov esi, eax */
	0xe5, PORT_DEST,			/* 43 in eax, imm8 */
	0x89, 0xc2,				/* 45 mov edx, eax */
	0x89, 0xf0,				/* 47 mov eax, esi */
	0x0d, 0x00, 0x40, 0x00, 0x00,		/* 49 or eax, 0x4000 */
	0xb9, 0x30, 0x08, 0x00, 0x00,		/* 4e mov ecx, 0x830 */
	0x0f, 0x30,				/* 53 wrmsr */
	0x89, 0xf0,				/* 55 mov eax, esi */
	0xe7, PORT_SENT,			/* 57 out imm8, eax */
	0xeb, 0xe0,				/* 59 jmp 0x3b */
	0xf6, 0xc3, ROLE_WAIT,			/* 5b test bl, imm8 */
	0x74, 0x04,				/* 5e jz 0x64 */
	0xfb,					/* 60 sti */
	0xf4,					/* 61 hlt */
	0xeb, 0xfc,				/* 62 jmp 0x60 */
	0xe7, PORT_DONE,			/* 64 out imm8, eax */
	0xeb, 0xfc,				/* 66 jmp 0x64 */
	0x6a, IPI_VECTOR,			/* 68 push imm8 */
	0xeb, 0x02,				/* 6a jmp 0x6e */
	0x6a, PROBE_VECTOR,			/* 6c push imm8 */
	0x58,					/* 6e pop rax */
	0xe7, PORT_IRQ,				/* 6f out imm8, eax */
	0xb9, 0x0b, 0x08, 0x00, 0x00,		/* 71 mov ecx, 0x80b */
	0x31, 0xc0,				/* 76 xor eax, eax */
	0x31, 0xd2,				/* 78 xor edx, edx */
	0x0f, 0x30,				/* 7a wrmsr */
	0x48, 0xcf,				/* 7c iretq */
};

/* What the host expects a vCPU to do next. */
enum phase {
	PH_X2APIC_ID, PH_CPUID_ID, PH_ROLE, PH_VECTOR, PH_DEST, PH_SENT,
	PH_WAIT, PH_DONE, PH_FINISHED,
};

struct x2_cpu {
	u32 role;
	enum phase phase;
	u32 msr_id, cpuid_id;	/* what the guest reported */
	u32 irq;		/* vector its handler reported, 0 if none */
	unsigned nr_sent;	/* IPIs the BSP has sent */
};

struct x2 {
	struct harness h;	/* h.set.v[i].apic_id: from smp_topo_apic_id */
	struct smp_topo topo;
	struct vcpu_setup_opts opts;	/* as the VMM's, all PV features on */
	u32 max_id;
	unsigned target;	/* index of the vCPU with the highest APIC ID */
	bool probe;		/* send the 0xff MSI probe */
	bool probe_sent;
	/*
	 * Ready barrier, under h.lock: the BSP sends only once every APIC
	 * is in x2APIC mode (h.cond also wakes it when a vCPU fails).
	 */
	unsigned nr_ready;
	struct x2_cpu *cpus;
};

static struct x2 *x2_of(struct harness *h)
{
	return container_of(h, struct x2, h);
}

static u32 x2_apic_id(struct x2 *x, unsigned idx)
{
	return x->h.set.v[idx].apic_id;
}

static void x2_where(struct harness *h, unsigned idx, char *buf, size_t len)
{
	enum phase ph = x2_of(h)->cpus[idx].phase;

	snprintf(buf, len, "in phase %d%s", ph, ph == PH_WAIT ?
		 " (waiting for the IPI, which never came)" : "");
}

static void x2_mark_ready(struct x2 *x)
{
	pthread_mutex_lock(&x->h.lock);
	x->nr_ready++;
	pthread_cond_broadcast(&x->h.cond);
	pthread_mutex_unlock(&x->h.lock);
}

/* Wait until every vCPU is in x2APIC mode; false on failure or timeout. */
static bool x2_wait_ready(struct x2 *x)
{
	struct harness *h = &x->h;
	bool ok;

	pthread_mutex_lock(&h->lock);
	while (x->nr_ready < h->nr && !h->nr_failed &&
	       !atomic_load(&h->set.stop)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000 * 1000 * 1000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000 * 1000 * 1000;
		}
		pthread_cond_timedwait(&h->cond, &h->lock, &ts);
	}
	ok = x->nr_ready == h->nr;
	pthread_mutex_unlock(&h->lock);
	return ok;
}

/*
 * The BSP's next IPI: before the first, wait for all vCPUs and send the
 * 0xff probe MSI from here. Returns the vector, 0 when there are no more.
 */
static u32 x2_next_vector(struct x2 *x, unsigned idx)
{
	int r;

	if (x->cpus[idx].nr_sent)
		return 0;
	if (!x2_wait_ready(x)) {
		harness_fail(&x->h, idx, "not every vCPU reached x2APIC mode, no IPI sent");
		return 0;
	}
	if (x->probe && !x->probe_sent) {
		r = kvm_signal_msi(&x->h.vm, MSI_ADDR_BASE |
				   PROBE_DEST << MSI_DEST_SHIFT, PROBE_VECTOR);
		if (r) {
			harness_fail(&x->h, idx, "KVM_SIGNAL_MSI to destination %#x: %s",
				     PROBE_DEST, strerror(-r));
			return 0;
		}
		x->probe_sent = true;
	}
	return IPI_VECTOR;
}

/* After ROLE, or after the last IPI: wait for one, or finish. */
static enum phase x2_after_send(const struct x2_cpu *c)
{
	return c->role & ROLE_WAIT ? PH_WAIT : PH_DONE;
}

/*
 * Check one port access of vCPU idx against the protocol and answer the
 * INs. False when the vCPU must not run again (finished, or failed).
 */
static bool x2_io(struct harness *h, unsigned idx, u16 port, bool out,
		  u32 *data)
{
	struct x2 *x = x2_of(h);
	struct x2_cpu *c = &x->cpus[idx];

	if (out && port == PORT_X2APIC_ID && c->phase == PH_X2APIC_ID) {
		c->msr_id = *data;
		c->phase = PH_CPUID_ID;
		return true;
	}
	if (out && port == PORT_CPUID_ID && c->phase == PH_CPUID_ID) {
		c->cpuid_id = *data;
		c->phase = PH_ROLE;
		return true;
	}
	if (!out && port == PORT_ROLE && c->phase == PH_ROLE) {
		*data = c->role;
		x2_mark_ready(x);
		c->phase = c->role & ROLE_SEND ? PH_VECTOR : x2_after_send(c);
		return true;
	}
	if (!out && port == PORT_VECTOR && c->phase == PH_VECTOR) {
		*data = x2_next_vector(x, idx);
		if (h->cpus[idx].failed)
			return false;
		c->phase = *data ? PH_DEST : x2_after_send(c);
		return true;
	}
	if (!out && port == PORT_DEST && c->phase == PH_DEST) {
		*data = x2_apic_id(x, x->target);
		c->phase = PH_SENT;
		return true;
	}
	if (out && port == PORT_SENT && c->phase == PH_SENT) {
		if (*data != IPI_VECTOR) {
			harness_fail(h, idx, "sent vector %#x, expected %#x",
				     *data, IPI_VECTOR);
			return false;
		}
		c->nr_sent++;
		c->phase = PH_VECTOR;
		return true;
	}
	if (out && port == PORT_IRQ && c->phase == PH_WAIT) {
		c->irq = *data;
		if (*data != IPI_VECTOR) {
			harness_fail(h, idx, "took interrupt vector %#x, expected the IPI's %#x%s",
				     *data, IPI_VECTOR, *data == PROBE_VECTOR ?
				     " (the MSI to destination 0xff was broadcast)" : "");
			return false;
		}
		c->phase = PH_FINISHED;
		return false;
	}
	if (out && port == PORT_DONE && c->phase == PH_DONE) {
		c->phase = PH_FINISHED;
		return false;
	}
	harness_fail(h, idx, "unexpected %s at port %#x (value %#x), phase %d",
		     out ? "out" : "in", port, *data, c->phase);
	return false;
}

static const struct harness_ops x2_ops = {
	.io = x2_io,
	.where = x2_where,
};

/*
 * The VM as the VMM builds it for a large guest: in-kernel irqchip and
 * 32-bit x2APIC IDs without the broadcast quirk (vcpu_setup_x2apic_api,
 * which also checks the APIC IDs against KVM's vCPU id limit); then the
 * payload with interrupt gates for the two vectors, past payload.h's 32.
 */
static int x2_setup_vm(struct x2 *x)
{
	static const unsigned needed[] = {
		KVM_CAP_IRQCHIP, KVM_CAP_USER_MEMORY, KVM_CAP_IMMEDIATE_EXIT,
		KVM_CAP_EXT_CPUID, KVM_CAP_MP_STATE, KVM_CAP_SIGNAL_MSI,
	};
	const u64 want = KVM_X2APIC_API_USE_32BIT_IDS |
			 KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK;
	struct harness *h = &x->h;
	int r;

	r = harness_create_vm(h, needed, ARRAY_SIZE(needed));
	if (r)
		return r;
	r = kvm_check_extension(&h->vm, KVM_CAP_X2APIC_API);
	if (r < 0 || ((u64)r & want) != want) {
		fprintf(stderr, "x2apic: KVM_CAP_X2APIC_API offers %#x, need %#llx\n",
			r, (unsigned long long)want);
		return -EOPNOTSUPP;
	}
	/* KVM only takes this before the first vCPU exists. */
	r = vcpu_setup_x2apic_api(&h->vm, &x->topo, h->nr);
	if (r)
		return r;
	vcpu_setup_opts_init(&x->opts, &h->vm, &x->topo, h->nr, 0, false);
	r = harness_load(h, x2_code, sizeof(x2_code));
	if (r)
		return r;
	payload_gate(h->mem, IPI_VECTOR, PL_CODE + X2_HANDLER_40);
	payload_gate(h->mem, PROBE_VECTOR, PL_CODE + X2_HANDLER_41);
	h->idt_vectors = X2_IDT_VECTORS;
	return 0;
}

/*
 * The vCPUs: KVM id = APIC ID, set up by the VMM's vcpus_setup; then
 * long mode at CPL0, and each vCPU's role in the IPI test.
 */
static int x2_setup_vcpus(struct x2 *x)
{
	struct harness *h = &x->h;
	unsigned i;
	int r;

	x->cpus = calloc(h->nr, sizeof(*x->cpus));
	if (!x->cpus)
		return -ENOMEM;
	r = vcpus_setup(&h->set, &h->vm, h->sup, &x->topo, &x->opts, NULL, 0);
	for (i = 0; !r && i < h->nr; i++) {
		x->cpus[i].role = (i == 0 ? ROLE_SEND : 0) |
				  (i == x->target ? ROLE_WAIT : 0);
		r = harness_setup_vcpu(h, i, NULL);
	}
	return r;
}

static bool irr_has(const struct kvm_lapic_state *s, u32 vec)
{
	u32 w;

	memcpy(&w, &s->regs[LAPIC_REG_IRR + (vec / 32) * 0x10], sizeof(w));
	return w >> (vec % 32) & 1;
}

/* The state KVM holds after the run: APIC base, LAPIC ID and IRR. */
static bool x2_check_kvm_state(struct x2 *x, unsigned idx,
			       struct kvm_lapic_state *lapic)
{
	struct harness *h = &x->h;
	struct kvm_vcpu *kv = &h->set.v[idx].kv;
	u32 apic_id = x2_apic_id(x, idx), id;
	u64 base = 0;
	int r;

	r = kvm_vcpu_get_msr(kv, MSR_APIC_BASE, &base);
	if (r || (base & (APIC_BASE_EXTD | APIC_BASE_EN)) !=
		 (APIC_BASE_EXTD | APIC_BASE_EN)) {
		harness_report(h, "vCPU %u (APIC ID %u): IA32_APIC_BASE %#llx, not in x2APIC mode (%s)",
			       idx, apic_id, (unsigned long long)base,
			       r ? strerror(-r) : "EXTD|EN not set");
		return false;
	}
	r = kvm_vcpu_get_lapic(kv, lapic);
	if (r) {
		harness_report(h, "vCPU %u: KVM_GET_LAPIC: %s", idx,
			       strerror(-r));
		return false;
	}
	memcpy(&id, &lapic->regs[LAPIC_REG_ID], sizeof(id));
	if (id != apic_id) {
		harness_report(h, "vCPU %u: KVM_GET_LAPIC ID register %#x, expected %#x (32-bit x2APIC ID format)",
			       idx, id, apic_id);
		return false;
	}
	if (irr_has(lapic, PROBE_VECTOR)) {
		harness_report(h, "vCPU %u (APIC ID %u): the MSI to destination 0xff reached it (broadcast quirk?)",
			       idx, apic_id);
		return false;
	}
	if (idx != x->target && irr_has(lapic, IPI_VECTOR)) {
		harness_report(h, "vCPU %u (APIC ID %u): received the IPI meant for APIC ID %u",
			       idx, apic_id, x->max_id);
		return false;
	}
	return true;
}

static bool x2_verify(struct x2 *x)
{
	struct harness *h = &x->h;
	struct kvm_lapic_state *lapic;
	bool ok = true;
	unsigned i;
	u8 *seen;

	lapic = calloc(1, sizeof(*lapic));
	seen = calloc((size_t)x->max_id + 1, 1);
	if (!lapic || !seen) {
		harness_report(h, "out of memory");
		free(lapic);
		free(seen);
		return false;
	}
	for (i = 0; i < h->nr; i++) {
		const struct x2_cpu *c = &x->cpus[i];
		u32 apic_id = x2_apic_id(x, i);

		if (!harness_cpu_ok(h, i)) {
			ok = false;
			continue;
		}
		if (c->phase != PH_FINISHED) {
			harness_report(h, "vCPU %u: stopped in phase %d", i,
				       c->phase);
			ok = false;
			continue;
		}
		if (c->msr_id != apic_id || c->cpuid_id != apic_id) {
			harness_report(h, "vCPU %u: x2APIC ID MSR %u, CPUID 0xb EDX %u, topology APIC ID %u",
				       i, c->msr_id, c->cpuid_id, apic_id);
			ok = false;
		}
		if (apic_id > x->max_id || seen[apic_id]) {
			harness_report(h, "vCPU %u: APIC ID %u out of range or not unique",
				       i, apic_id);
			ok = false;
		} else {
			seen[apic_id] = 1;
		}
		if (!x2_check_kvm_state(x, i, lapic))
			ok = false;
	}
	if (ok && (x->cpus[0].nr_sent != 1 ||
		   x->cpus[x->target].irq != IPI_VECTOR)) {
		harness_report(h, "BSP sent %u IPIs, APIC ID %u took vector %#x",
			       x->cpus[0].nr_sent, x->max_id,
			       x->cpus[x->target].irq);
		ok = false;
	}
	harness_report_end(h);
	free(lapic);
	free(seen);
	return ok;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: x2apic [--vcpus N] [--sockets S --cores C --threads T] [--dev PATH] [--timeout S]\n"
		"  --vcpus N      vCPUs, one host thread each (default 300)\n"
		"  --sockets S, --cores C, --threads T\n"
		"                 topology (default 2 x N/2 x 1, or 1 x N x 1 for odd N);\n"
		"                 some APIC ID must be 255 or more\n"
		"  --dev PATH     KVM device (default /dev/kvm)\n"
		"  --timeout S    give up after S seconds (default 120)\n"
		"exit: 0 ok, 1 failure, 2 usage, 77 KVM device not available\n");
}

struct x2_opts {
	unsigned long vcpus, sockets, cores, threads;
	const char *dev;
};

static int x2_parse(struct x2 *x, struct x2_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vcpus", required_argument, NULL, 'n' },
		{ "sockets", required_argument, NULL, 's' },
		{ "cores", required_argument, NULL, 'c' },
		{ "threads", required_argument, NULL, 't' },
		{ "dev", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v, *dst;
	int ch;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		dst = NULL;
		switch (ch) {
		case 'n':
			dst = &o->vcpus;
			break;
		case 's':
			dst = &o->sockets;
			break;
		case 'c':
			dst = &o->cores;
			break;
		case 't':
			dst = &o->threads;
			break;
		case 'T':
			if (!harness_parse_uint(optarg, 1, 86400, &v))
				goto bad;
			x->h.timeout = v;
			break;
		case 'd':
			o->dev = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
		if (dst) {
			if (!harness_parse_uint(optarg, 1, X2_MAX_VCPUS, &v))
				goto bad;
			*dst = v;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "x2apic: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	if (!o->sockets && !o->cores && !o->threads) {
		o->sockets = o->vcpus % 2 ? 1 : 2;
		o->cores = o->vcpus / o->sockets;
		o->threads = 1;
	} else if (!o->sockets || !o->cores || !o->threads) {
		fprintf(stderr, "x2apic: give all of --sockets, --cores and --threads, or none\n");
		return -EINVAL;
	}
	return 0;
bad:
	fprintf(stderr, "x2apic: bad value '%s'\n", optarg);
	usage(stderr);
	return -EINVAL;
}

/* Topology from the options, through smpvisor's own code. */
static int x2_topology(struct x2 *x, const struct x2_opts *o)
{
	struct smp_topo_pos pos;
	unsigned i;

	if (smp_topo_init(&x->topo, o->vcpus, o->sockets, o->cores,
			  o->threads))
		return -EINVAL;
	x->h.nr = o->vcpus;
	x->target = 0;
	x->max_id = 0;
	for (i = 0; i < x->h.nr; i++) {
		u32 id = smp_topo_apic_id(&x->topo, i);

		if (i == 0 || id > x->max_id) {
			x->max_id = id;
			x->target = i;
		}
	}
	if (x->max_id < 0xff || !smp_topo_needs_x2apic(&x->topo, x->h.nr)) {
		fprintf(stderr, "x2apic: %lu x %lu x %lu gives APIC IDs up to %u only; this test needs some of 255 or more\n",
			o->sockets, o->cores, o->threads, x->max_id);
		return -EINVAL;
	}
	/* The 0xff probe only makes sense where no vCPU owns that ID. */
	x->probe = smp_topo_decode(&x->topo, PROBE_DEST, &pos) != 0;
	return 0;
}

int main(int argc, char **argv)
{
	struct x2_opts o = { .vcpus = 300, .dev = KVM_DEFAULT_DEV };
	struct x2 x = { 0 };
	struct harness *h = &x.h;
	int status = 1, r;

	harness_init(h, "x2apic", &x2_ops);
	h->cpl = 0;
	h->max_reports = X2_MAX_REPORTS;
	if (x2_parse(&x, &o, argc, argv) || x2_topology(&x, &o))
		return HARNESS_EXIT_USAGE;
	r = harness_open(h, o.dev);
	if (r == HARNESS_EXIT_SKIP)
		return r;
	if (r || x2_setup_vm(&x) || x2_setup_vcpus(&x))
		goto out;
	r = harness_run(h);
	if (x2_verify(&x) && !r) {
		printf("x2apic: %u vCPUs, APIC IDs %u..%u, all match (x2APIC MSR and CPUID 0xB)\n",
		       h->nr, x2_apic_id(&x, 0), x.max_id);
		printf("x2apic: IPI vector %#x from APIC ID %u to APIC ID %u delivered via the x2APIC ICR%s\n",
		       IPI_VECTOR, x2_apic_id(&x, 0), x.max_id,
		       x.probe ? "; MSI to destination 0xff reached no vCPU" : "");
		status = 0;
	}
out:
	if (status)
		printf("x2apic: FAILED (%u vCPUs, %u x %u x %u)\n", h->nr,
		       x.topo.sockets, x.topo.cores, x.topo.threads);
	free(x.cpus);
	harness_close(h);
	return status;
}
