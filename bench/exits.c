// SPDX-License-Identifier: GPL-2.0
/*
 * bench/exits: what smpvisor adds to a guest exit.
 *
 * One VM, up to N vCPUs, each entered directly in 64-bit mode (built,
 * and its vCPU threads run, by tests/kvm/harness.h) running a tiny loop
 * of port-I/O or MMIO round trips: a write then a read, two exits per
 * iteration. Each exit is answered in one of two ways, alternated run by
 * run with the order swapped every pair (A B B A A B ...):
 *
 *   bare      the limit: a KVM_RUN loop that answers the exit inline;
 *   smpvisor  the VMM's own exit path, vcpu_handle_exit() from smp/vcpu.c,
 *             dispatching through a sealed struct bus (vmm/bus.c) that
 *             holds the bench device among ranges like the VMM's.
 *
 * With k vCPUs exiting at once (one host thread each), a lock on the path
 * would show as a falling rate per vCPU. Each run prints one JSON line:
 *
 *   EXITS {"kind":"pio","mode":"bare","vcpus":2,"cpl":0,"rep":0,
 *          "exits":40000,"seconds":0.81,"exits_per_s":49000,
 *          "ns_per_exit":40600}
 *
 * exits_per_s is all vCPUs' exits over the wall time of the run;
 * ns_per_exit is the mean over vCPUs of each thread's time per exit.
 *
 *   exits [--vcpus 1,2,4] [--kinds pio,mmio] [--iters M] [--reps R]
 *         [--cpl 0|3] [--dev PATH]
 *
 * Exit status: 0 ok, 1 failure, 2 usage, 77 no KVM device.
 */
#include <errno.h>
#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/kvm/harness.h"
#include "lib/bus.h"

#define MAX_VCPUS	256
#define PORT_BENCH	0xe0	/* the round-trip port */
#define PORT_DONE	0xec	/* the payload says it is done */
#define MMIO_BENCH	0x3fe00000ULL	/* last 2 MiB of the mapped GiB: no memslot */
#define ANSWER		0x5a5aa5a5u
#define CODE_MMIO_OFF	0x100	/* the MMIO loop sits here in the code page */

/*
 * Port-I/O loop. In: esi = iterations.
 *	mov	edx, 0xe0
 * l:	out	dx, eax
 *	in	eax, dx
 *	dec	esi
 *	jnz	l
 * d:	out	0xec, eax
 *	jmp	d
 */
static const u8 pio_code[] = {
	0xba, 0xe0, 0x00, 0x00, 0x00,	/* 00 mov edx, 0xe0 */
	0xef,				/* 05 out dx, eax */
	0xed,				/* 06 in eax, dx */
	0xff, 0xce,			/* 07 dec esi */
	0x75, 0xfa,			/* 09 jnz 0x05 */
	0xe7, 0xec,			/* 0b out 0xec, eax */
	0xeb, 0xfc,			/* 0d jmp 0x0b */
};

/*
 * MMIO loop. In: esi = iterations, rbx = the device address.
 * l:	mov	[rbx], eax
 *	mov	eax, [rbx]
 *	dec	esi
 *	jnz	l
 * d:	out	0xec, eax
 *	jmp	d
 */
static const u8 mmio_code[] = {
	0x89, 0x03,			/* 00 mov [rbx], eax */
	0x8b, 0x03,			/* 02 mov eax, [rbx] */
	0xff, 0xce,			/* 04 dec esi */
	0x75, 0xf8,			/* 06 jnz 0x00 */
	0xe7, 0xec,			/* 08 out 0xec, eax */
	0xeb, 0xfc,			/* 0a jmp 0x08 */
};

enum kind { KIND_PIO, KIND_MMIO };
enum mode { MODE_BARE, MODE_SMPVISOR };

static const char *const kind_names[] = { "pio", "mmio" };
static const char *const mode_names[] = { "bare", "smpvisor" };

struct xcpu {
	u64 exits;
	u64 ns;
	char err[160];
};

struct xbench {
	/* h.nr: vCPUs created, the largest count asked; h.set: the VMM's own */
	struct harness h;
	u32 iters;
	struct bus pio, mmio;
	struct vm_control ctl;
	atomic_bool fatal;	/* vcpu_handle_exit asked the VM to stop */
	struct xcpu *x;
	/* per run */
	enum mode mode;
	atomic_uint ready;
	atomic_bool go;
};

/* --- the bench device and the ranges around it --- */

static void dev_read(void *opaque, u64 off, u8 *data, u32 len)
{
	u32 v = ANSWER;

	memcpy(data, &v, MIN(len, sizeof(v)));
}

static void dev_write(void *opaque, u64 off, const u8 *data, u32 len)
{
}

static const struct bus_ops dev_ops = { .read = dev_read, .write = dev_write };

/*
 * Ranges the VMM registers (PIC, PIT, i8042, RTC, COM1, ACPI PM, PCI
 * config, IOAPIC, HPET, LAPIC area), so the lookup walks a realistic
 * table and not a single entry.
 */
static const struct { u64 base, len; } pio_fill[] = {
	{ 0x20, 2 }, { 0x40, 4 }, { 0x60, 1 }, { 0x64, 1 }, { 0x70, 2 },
	{ 0xa0, 2 }, { 0x2f8, 8 }, { 0x3f8, 8 }, { 0x600, 0x10 }, { 0xcf8, 8 },
};
static const struct { u64 base, len; } mmio_fill[] = {
	{ 0x3fd00000, 0x1000 }, { 0x3ff00000, 0x1000 }, { 0xfec00000, 0x1000 },
	{ 0xfed00000, 0x400 }, { 0xfee00000, 0x1000 },
};

static int buses_init(struct xbench *b)
{
	size_t i;
	int r;

	bus_init(&b->pio, "pio");
	bus_init(&b->mmio, "mmio");
	r = bus_register(&b->pio, PORT_BENCH, 4, "bench", &dev_ops, b);
	if (!r)
		r = bus_register(&b->mmio, MMIO_BENCH, 0x1000, "bench", &dev_ops, b);
	for (i = 0; !r && i < ARRAY_SIZE(pio_fill); i++)
		r = bus_register(&b->pio, pio_fill[i].base, pio_fill[i].len,
				 "fill", &dev_ops, b);
	for (i = 0; !r && i < ARRAY_SIZE(mmio_fill); i++)
		r = bus_register(&b->mmio, mmio_fill[i].base, mmio_fill[i].len,
				 "fill", &dev_ops, b);
	bus_seal(&b->pio);
	bus_seal(&b->mmio);
	return r;
}

static void request_exit(void *opaque, enum vm_exit_reason why)
{
	struct xbench *b = opaque;

	atomic_store(&b->fatal, true);
}

/* --- the two exit loops --- */

/*
 * The payload's exception stubs report on PL_PORT_EXC and then spin at
 * CPL0 (emulated, slowly, under PVM): a run that sees one fails at once.
 */
static bool guest_exception(const struct kvm_run *run)
{
	return run->exit_reason == KVM_EXIT_IO && run->io.port == PL_PORT_EXC;
}

/* The limit: answer inline, nothing but a switch. */
static int loop_bare(struct kvm_vcpu *kv, u64 *exits)
{
	struct kvm_run *run = kv->run;
	u32 v = ANSWER;
	int r;

	for (;;) {
		r = kvm_vcpu_run(kv);
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r)
			return r;
		if (guest_exception(run))
			return -EFAULT;
		if (run->exit_reason == KVM_EXIT_IO) {
			if (run->io.port == PORT_DONE)
				return 0;
			if (run->io.direction == KVM_EXIT_IO_IN)
				memcpy((u8 *)run + run->io.data_offset, &v,
				       MIN(run->io.size, sizeof(v)));
		} else if (run->exit_reason == KVM_EXIT_MMIO) {
			if (!run->mmio.is_write)
				memcpy(run->mmio.data, &v,
				       MIN(run->mmio.len, sizeof(v)));
		} else {
			return -EPROTO;
		}
		(*exits)++;
	}
}

/* smpvisor: the vCPU thread's loop body, as in smp/vcpu.c. */
static int loop_smpvisor(struct xbench *b, struct vcpu *v, u64 *exits)
{
	struct kvm_run *run = v->kv.run;
	int r;

	for (;;) {
		r = kvm_vcpu_run(&v->kv);
		if (r == -EINTR || r == -EAGAIN) {
			run->immediate_exit = 0;
			continue;
		}
		if (r)
			return r;
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == PORT_DONE)
			return 0;
		if (guest_exception(run))
			return -EFAULT;
		v->exits++;
		vcpu_handle_exit(v);
		if (atomic_load_explicit(&b->fatal, memory_order_relaxed))
			return -EPROTO;
		(*exits)++;
	}
}

static void *bench_thread(void *arg)
{
	struct vcpu *v = arg;
	struct xbench *b = container_of(harness_of(v), struct xbench, h);
	struct xcpu *x = &b->x[v->idx];
	u64 t0;
	int r;

	atomic_fetch_add(&b->ready, 1);
	while (!atomic_load_explicit(&b->go, memory_order_acquire))
		if (atomic_load(&b->h.set.stop))
			return NULL;	/* another thread did not start */
	t0 = now_ns();
	if (b->mode == MODE_BARE)
		r = loop_bare(&v->kv, &x->exits);
	else
		r = loop_smpvisor(b, v, &x->exits);
	x->ns = now_ns() - t0;
	if (r)
		snprintf(x->err, sizeof(x->err), "vCPU %u: %s (exit %s)", v->idx,
			 r == -EPROTO ? "unexpected exit" :
			 r == -EFAULT ? "guest CPU exception (payload.h stub report)" :
			 strerror(-r),
			 kvm_exit_reason_name(v->kv.run->exit_reason));
	return NULL;
}

/* --- set-up --- */

static int setup(struct xbench *b)
{
	struct harness *h = &b->h;
	u8 code[CODE_MMIO_OFF + sizeof(mmio_code)];
	u64 *pd;
	unsigned i;
	int r;

	memset(code, 0xf4, sizeof(code));	/* hlt: faults at CPL3 */
	memcpy(code, pio_code, sizeof(pio_code));
	memcpy(code + CODE_MMIO_OFF, mmio_code, sizeof(mmio_code));
	r = harness_create_vm(h, NULL, 0);
	if (!r)
		r = harness_load(h, code, sizeof(code));
	if (r)
		return r;
	/* Map the MMIO page in the guest page tables; no memslot backs it. */
	pd = (u64 *)(h->mem + PL_PD);
	pd[MMIO_BENCH / PL_PAGE_2M] = MMIO_BENCH | PL_PTE_P | PL_PTE_RW |
		PL_PTE_PS | (h->cpl == 3 ? PL_PTE_US : 0);
	r = buses_init(b);
	if (r)
		return r;
	b->ctl = (struct vm_control){ .request_exit = request_exit, .opaque = b };
	b->x = calloc(h->nr, sizeof(*b->x));
	if (!b->x)
		return -ENOMEM;
	r = harness_create_vcpus(h);
	if (r)
		return r;
	h->set.pio = &b->pio;
	h->set.mmio = &b->mmio;
	h->set.ctl = &b->ctl;
	/* Entry state now; each run sets the registers of its loop. */
	for (i = 0; i < h->nr && !r; i++)
		r = harness_setup_vcpu(h, i, NULL);
	return r;
}

/* --- one run: k vCPUs, one kind, one mode --- */

static int run_once(struct xbench *b, enum kind kind, enum mode mode,
		    unsigned k, unsigned rep, bool print)
{
	struct harness *h = &b->h;
	double sum_ns_per_exit = 0, secs;
	u64 total = 0, t0, wall;
	unsigned i;
	int r = 0;

	b->mode = mode;
	atomic_store(&b->ready, 0);
	atomic_store(&b->go, false);
	atomic_store(&b->fatal, false);
	for (i = 0; i < k; i++) {
		struct vcpu *v = &h->set.v[i];
		struct kvm_regs regs;

		payload_regs(&regs, h->cpl, i);
		regs.rip = PL_CODE + (kind == KIND_MMIO ? CODE_MMIO_OFF : 0);
		regs.rsi = b->iters;
		regs.rbx = MMIO_BENCH;
		r = kvm_vcpu_set_regs(&v->kv, &regs);
		if (r) {
			fprintf(stderr, "exits: vCPU %u: KVM_SET_REGS: %s\n", i,
				strerror(-r));
			return r;
		}
		memset(&b->x[i], 0, sizeof(b->x[i]));
	}
	r = harness_start(h, k, bench_thread);
	if (r)
		return r;
	while (atomic_load(&b->ready) < k)
		;
	t0 = now_ns();
	atomic_store_explicit(&b->go, true, memory_order_release);
	harness_wait(h);
	wall = now_ns() - t0;
	for (i = 0; i < k; i++) {
		struct xcpu *x = &b->x[i];

		if (x->err[0]) {
			fprintf(stderr, "exits: %s\n", x->err);
			return -EIO;
		}
		if (x->exits != 2ULL * b->iters) {
			fprintf(stderr, "exits: vCPU %u: %llu exits, expected %llu\n",
				i, (unsigned long long)x->exits,
				2ULL * b->iters);
			return -EIO;
		}
		total += x->exits;
		sum_ns_per_exit += (double)x->ns / x->exits;
	}
	if (!print)
		return 0;
	secs = wall / 1e9;
	printf("EXITS {\"kind\":\"%s\",\"mode\":\"%s\",\"vcpus\":%u,\"cpl\":%d,"
	       "\"rep\":%u,\"exits\":%llu,\"seconds\":%.6f,"
	       "\"exits_per_s\":%.1f,\"ns_per_exit\":%.1f}\n",
	       kind_names[kind], mode_names[mode], k, h->cpl, rep,
	       (unsigned long long)total, secs, total / secs,
	       sum_ns_per_exit / k);
	fflush(stdout);
	return 0;
}

/* --- command line --- */

static int parse_list(const char *arg, unsigned *out, unsigned max,
		      unsigned hi)
{
	char *copy = strdup(arg), *tok, *save = NULL, *end;
	unsigned n = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		unsigned long v = strtoul(tok, &end, 10);

		if (*end || end == tok || v < 1 || v > hi || n == max) {
			free(copy);
			return -EINVAL;
		}
		out[n++] = v;
	}
	free(copy);
	return n ? (int)n : -EINVAL;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: exits [--vcpus 1,2,4] [--kinds pio,mmio] [--iters M] [--reps R]\n"
		"             [--cpl 0|3] [--dev PATH]\n"
		"  --vcpus LIST  vCPU counts exiting at once (default 1)\n"
		"  --kinds LIST  pio and/or mmio (default both)\n"
		"  --iters M     round trips (2 exits each) per vCPU per run (default 5000)\n"
		"  --reps R      runs of each mode, alternated bare/smpvisor (default 5)\n"
		"  --cpl 0|3     guest privilege (default 0 with vmx/svm, else 3)\n"
		"  --dev PATH    KVM device (default /dev/kvm)\n"
		"exit: 0 ok, 1 failure, 2 usage, 77 KVM device not available\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vcpus", required_argument, NULL, 'n' },
		{ "kinds", required_argument, NULL, 'k' },
		{ "iters", required_argument, NULL, 'i' },
		{ "reps", required_argument, NULL, 'r' },
		{ "cpl", required_argument, NULL, 'c' },
		{ "dev", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct xbench b = { .iters = 5000 };
	unsigned counts[32] = { 1 }, reps = 5, rep;
	int nc = 1, kinds = 3, o, r, status = 1;
	const char *dev = KVM_DEFAULT_DEV;
	enum kind kind;

	harness_init(&b.h, "exits", NULL);
	b.h.timeout = 0;	/* runs are timed, never cut short */
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			nc = parse_list(optarg, counts, ARRAY_SIZE(counts),
					MAX_VCPUS);
			if (nc < 0)
				goto bad;
			break;
		case 'k':
			kinds = (strstr(optarg, "pio") ? 1 : 0) |
				(strstr(optarg, "mmio") ? 2 : 0);
			if (!kinds)
				goto bad;
			break;
		case 'i':
			b.iters = strtoul(optarg, NULL, 10);
			if (!b.iters)
				goto bad;
			break;
		case 'r':
			reps = strtoul(optarg, NULL, 10);
			if (!reps)
				goto bad;
			break;
		case 'c':
			b.h.cpl = atoi(optarg);
			if (b.h.cpl != 0 && b.h.cpl != 3)
				goto bad;
			break;
		case 'd':
			dev = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return HARNESS_EXIT_USAGE;
		}
	}
	b.h.nr = 0;
	for (o = 0; o < nc; o++)
		b.h.nr = MAX(b.h.nr, counts[o]);

	r = harness_open(&b.h, dev);
	if (r == HARNESS_EXIT_SKIP)
		return r;
	if (!r)
		r = setup(&b);
	if (r) {
		fprintf(stderr, "exits: set-up failed: %s\n", strerror(-r));
		goto out;
	}
	for (kind = KIND_PIO; kind <= KIND_MMIO; kind++) {
		if (!(kinds & (1 << kind)))
			continue;
		for (o = 0; o < nc; o++) {
			/* One unprinted warm-up run of each mode first. */
			if (run_once(&b, kind, MODE_BARE, counts[o], 0, false) ||
			    run_once(&b, kind, MODE_SMPVISOR, counts[o], 0, false))
				goto out;
			/* Alternate, swapping the order every pair (ABBA). */
			for (rep = 0; rep < reps; rep++) {
				enum mode first = rep % 2 ? MODE_SMPVISOR : MODE_BARE;

				if (run_once(&b, kind, first, counts[o], rep, true) ||
				    run_once(&b, kind, !first, counts[o], rep, true))
					goto out;
			}
		}
	}
	status = 0;
out:
	harness_close(&b.h);
	free(b.x);
	bus_free(&b.pio);
	bus_free(&b.mmio);
	return status;
bad:
	fprintf(stderr, "exits: bad value '%s'\n", optarg);
	usage(stderr);
	return HARNESS_EXIT_USAGE;
}
