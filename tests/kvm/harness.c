// SPDX-License-Identifier: GPL-2.0
/*
 * The tiny-guest KVM harness (see harness.h): VM, guest memory, vCPU
 * entry state, vCPU threads with the VMM's kicks, the port-I/O loop and
 * the failure bookkeeping shared by tests/kvm and bench/exits.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "harness.h"
#include "lib/layout.h"
#include "smp/vcpu_setup.h"

/* Small stacks, so that thousands of vCPU threads fit. */
#define HARNESS_THREAD_STACK	(256 * 1024)

void harness_init(struct harness *h, const char *name,
		  const struct harness_ops *ops)
{
	memset(h, 0, sizeof(*h));
	h->name = name;
	h->ops = ops;
	h->nr = 4;
	h->cpl = -1;
	h->timeout = 120;
	h->vm.sys_fd = h->vm.vm_fd = -1;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
}

/* Errors from kvm_open that mean "no usable KVM device here". */
static bool harness_is_skip(int r)
{
	return r == -ENOENT || r == -ENODEV || r == -ENXIO || r == -EACCES ||
	       r == -EPERM;
}

int harness_open(struct harness *h, const char *dev)
{
	int r;

	if (h->cpl < 0)
		h->cpl = kvm_host_has_hw_virt() ? 0 : 3;
	dev = dev ? dev : KVM_DEFAULT_DEV;
	r = kvm_open(&h->vm, dev);
	if (r) {
		if (!harness_is_skip(r))
			return r;
		printf("%s: skipped: %s not available (%s)\n", h->name, dev,
		       strerror(-r));
		return HARNESS_EXIT_SKIP;
	}
	if (h->nr > (unsigned)h->vm.max_vcpus) {
		fprintf(stderr, "%s: %u vCPUs asked, KVM allows %d\n", h->name,
			h->nr, h->vm.max_vcpus);
		return -EINVAL;
	}
	/* The VMM's own kick: an empty handler, no SA_RESTART. */
	return vcpus_init_signals();
}

int harness_create_vm(struct harness *h, const unsigned *caps, size_t nr)
{
	size_t i;
	int r;

	r = kvm_create_vm(&h->vm);
	if (r)
		return r;
	for (i = 0; i < nr; i++) {
		if (kvm_check_extension(&h->vm, caps[i]) <= 0) {
			fprintf(stderr, "%s: KVM lacks %s\n", h->name,
				kvm_cap_name(caps[i]));
			return -EOPNOTSUPP;
		}
	}
	/* Only VMX needs these; where KVM has them, set them as the VMM does. */
	if (kvm_check_extension(&h->vm, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
		r = kvm_set_identity_map_addr(&h->vm, KVM_IDENTITY_MAP_ADDR);
		if (r)
			return r;
	}
	if (kvm_check_extension(&h->vm, KVM_CAP_SET_TSS_ADDR) > 0) {
		r = kvm_set_tss_addr(&h->vm, KVM_TSS_ADDR);
		if (r)
			return r;
	}
	r = kvm_create_irqchip(&h->vm);
	if (!r)
		r = kvm_get_supported_cpuid(&h->vm, &h->sup);
	if (r)
		return r;
	h->cpus = calloc(h->nr, sizeof(*h->cpus));
	if (!h->cpus) {
		fprintf(stderr, "%s: out of memory\n", h->name);
		return -ENOMEM;
	}
	return 0;
}

int harness_load(struct harness *h, const u8 *code, size_t len)
{
	int r;

	h->mem_size = payload_mem_size(h->nr);
	h->mem = mmap(NULL, h->mem_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (h->mem == MAP_FAILED) {
		r = -errno;
		h->mem = NULL;
		fprintf(stderr, "%s: cannot map %llu bytes of guest memory: %s\n",
			h->name, (unsigned long long)h->mem_size, strerror(-r));
		return r;
	}
	r = payload_build(h->mem, h->mem_size, h->cpl, h->nr, code, len);
	if (r) {
		fprintf(stderr, "%s: cannot lay out %llu bytes of guest memory\n",
			h->name, (unsigned long long)h->mem_size);
		return r;
	}
	return kvm_set_memslot(&h->vm, 0, 0, h->mem_size, h->mem, 0);
}

/* KVM's CPUID with vCPU id's APIC ID in leaves 1, 0xb and 0x1f. */
static int harness_set_cpuid(struct harness *h, struct kvm_vcpu *kv)
{
	size_t len = sizeof(*h->sup) + h->sup->nent * sizeof(h->sup->entries[0]);
	struct kvm_cpuid2 *cp;
	u32 i;
	int r;

	cp = malloc(len);
	if (!cp)
		return -ENOMEM;
	memcpy(cp, h->sup, len);
	for (i = 0; i < cp->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cp->entries[i];

		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffff) | (kv->id << 24);
		else if (e->function == 0xb || e->function == 0x1f)
			e->edx = kv->id;
	}
	r = kvm_vcpu_set_cpuid(kv, cp);
	free(cp);
	return r;
}

int harness_create_vcpus(struct harness *h)
{
	unsigned i;
	int r;

	h->set.v = calloc(h->nr, sizeof(*h->set.v));
	if (!h->set.v)
		return -ENOMEM;
	for (i = 0; i < h->nr; i++) {
		struct vcpu *v = &h->set.v[i];

		v->idx = i;
		v->apic_id = i;
		v->kv.fd = -1;
		r = kvm_vcpu_create(&h->vm, i, &v->kv);
		if (r)
			return r;
		h->set.nr = i + 1;	/* what vcpus_setup_free destroys */
		r = harness_set_cpuid(h, &v->kv);
		if (r)
			return r;
	}
	return 0;
}

int harness_setup_vcpu(struct harness *h, unsigned idx,
		       const struct kvm_regs *regs)
{
	struct kvm_vcpu *kv = &h->set.v[idx].kv;
	struct kvm_sregs sregs;
	struct kvm_regs entry;
	struct kvm_fpu fpu;
	const char *what;
	int r;

	what = "KVM_GET_SREGS";
	r = kvm_vcpu_get_sregs(kv, &sregs);
	if (!r) {
		what = "KVM_SET_SREGS (64-bit)";
		payload_sregs(&sregs, h->cpl, idx);
		if (h->idt_vectors > 32)
			sregs.idt.limit = h->idt_vectors * 16 - 1;
		r = kvm_vcpu_set_sregs(kv, &sregs);
	}
	if (!r) {
		what = "KVM_SET_REGS";
		if (!regs) {
			payload_regs(&entry, h->cpl, idx);
			regs = &entry;
		}
		r = kvm_vcpu_set_regs(kv, regs);
	}
	if (!r) {
		what = "KVM_SET_FPU";
		memset(&fpu, 0, sizeof(fpu));
		fpu.fcw = 0x37f;	/* the x87 and SSE reset values */
		fpu.mxcsr = 0x1f80;
		r = kvm_vcpu_set_fpu(kv, &fpu);
	}
	if (!r) {
		what = "KVM_SET_MP_STATE RUNNABLE";
		r = kvm_vcpu_set_mp_state(kv, KVM_MP_STATE_RUNNABLE);
	}
	if (r)
		fprintf(stderr, "%s: vCPU %u (APIC ID %u): %s at CPL%d: %s\n",
			h->name, idx, h->set.v[idx].apic_id, what, h->cpl,
			strerror(-r));
	return r;
}

void harness_fail(struct harness *h, unsigned idx, const char *fmt, ...)
{
	struct harness_cpu *c = &h->cpus[idx];
	va_list ap;

	if (c->failed)
		return;
	c->failed = true;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&h->lock);
	h->nr_failed++;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

static void harness_where(struct harness *h, unsigned idx, char *buf,
			  size_t len)
{
	buf[0] = '\0';
	if (h->ops && h->ops->where)
		h->ops->where(h, idx, buf, len);
}

/*
 * One exit of vCPU idx that was port I/O: checked, exception reports
 * collected, the rest handed to ops->io. False: do not run it again.
 */
static bool harness_io(struct harness *h, unsigned idx)
{
	struct kvm_run *run = h->set.v[idx].kv.run;
	struct harness_cpu *c = &h->cpus[idx];
	u32 *data = (u32 *)((u8 *)run + run->io.data_offset);
	bool out = run->io.direction == KVM_EXIT_IO_OUT;
	char where[96];

	if (run->io.size != 4 || run->io.count != 1) {
		harness_fail(h, idx, "%s of %u x %u bytes at port %#x, expected one 4-byte access",
			     out ? "out" : "in", run->io.count, run->io.size,
			     run->io.port);
		return false;
	}
	if (run->io.port != PL_PORT_EXC || !out)
		return h->ops->io(h, idx, run->io.port, out, data);
	c->exc[c->nr_exc++] = *data;
	if (c->nr_exc < PL_EXC_WORDS)
		return true;
	harness_where(h, idx, where, sizeof(where));
	harness_fail(h, idx, "guest exception %s (vector %u), error code %#x at rip %#x (payload offset %#x), cr2 %#x, %s",
		     payload_exc_name(c->exc[0]), c->exc[0], c->exc[1],
		     c->exc[2], c->exc[2] - (u32)PL_CODE, c->exc[3], where);
	return false;
}

/* Say what an exit other than port I/O was, with the guest's rip. */
static void harness_bad_exit(struct harness *h, unsigned idx)
{
	struct kvm_vcpu *kv = &h->set.v[idx].kv;
	struct kvm_run *run = kv->run;
	unsigned long long rip = 0;
	struct kvm_regs regs;
	char where[96];

	if (!kvm_vcpu_get_regs(kv, &regs))
		rip = regs.rip;
	harness_where(h, idx, where, sizeof(where));
	switch (run->exit_reason) {
	case KVM_EXIT_FAIL_ENTRY:
		harness_fail(h, idx, "exit FAIL_ENTRY, hardware reason %#llx, %s",
			     (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
			     where);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		harness_fail(h, idx, "exit INTERNAL_ERROR, suberror %u, rip %#llx, %s",
			     run->internal.suberror, rip, where);
		break;
	case KVM_EXIT_MMIO:
		harness_fail(h, idx, "exit MMIO at %#llx, rip %#llx, %s",
			     (unsigned long long)run->mmio.phys_addr, rip, where);
		break;
	default:
		harness_fail(h, idx, "unexpected exit %s (%u), rip %#llx, %s",
			     kvm_exit_reason_name(run->exit_reason),
			     run->exit_reason, rip, where);
		break;
	}
}

/* One vCPU thread: run until done, failure or a timeout kick. */
static void *harness_thread(void *arg)
{
	struct vcpu *v = arg;
	struct harness *h = harness_of(v);
	char where[96];
	int r;

	for (;;) {
		if (atomic_load(&h->set.stop)) {
			harness_where(h, v->idx, where, sizeof(where));
			harness_fail(h, v->idx, "timed out %s", where);
			break;
		}
		r = kvm_vcpu_run(&v->kv);
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r) {
			harness_fail(h, v->idx, "KVM_RUN: %s", strerror(-r));
			break;
		}
		if (v->kv.run->exit_reason != KVM_EXIT_IO) {
			harness_bad_exit(h, v->idx);
			break;
		}
		if (!harness_io(h, v->idx))
			break;
	}
	return NULL;
}

int harness_start(struct harness *h, unsigned nr, void *(*fn)(void *))
{
	pthread_attr_t attr;
	unsigned i;
	int r = 0;

	atomic_store(&h->set.stop, false);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, HARNESS_THREAD_STACK);
	for (i = 0; i < nr; i++) {
		struct vcpu *v = &h->set.v[i];

		v->set = &h->set;
		r = pthread_create(&v->thread, &attr, fn, v);
		if (r) {
			fprintf(stderr, "%s: cannot start thread %u: %s\n",
				h->name, i, strerror(r));
			break;
		}
		v->started = true;
		h->cpus[i].ran = true;
	}
	pthread_attr_destroy(&attr);
	if (!r)
		return 0;
	vcpus_stop(&h->set);
	harness_wait(h);
	return -EIO;
}

/*
 * Join the started threads in order. A joined one is no longer started,
 * so vcpus_stop, once the deadline has passed, kicks only those left.
 */
void harness_wait(struct harness *h)
{
	struct timespec deadline;
	unsigned i;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += h->timeout;
	for (i = 0; i < h->set.nr; i++) {
		struct vcpu *v = &h->set.v[i];

		if (!v->started)
			continue;
		if (!h->timeout)
			pthread_join(v->thread, NULL);
		else if (atomic_load(&h->set.stop) ||
			 pthread_timedjoin_np(v->thread, NULL, &deadline)) {
			vcpus_stop(&h->set);
			pthread_join(v->thread, NULL);
		}
		v->started = false;
	}
}

int harness_run(struct harness *h)
{
	int r;

	r = harness_start(h, h->set.nr, harness_thread);
	if (!r)
		harness_wait(h);
	return r;
}

void harness_report(struct harness *h, const char *fmt, ...)
{
	va_list ap;

	if (h->max_reports && h->nr_reports++ >= h->max_reports)
		return;
	fprintf(stderr, "%s: ", h->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool harness_cpu_ok(struct harness *h, unsigned idx)
{
	const struct harness_cpu *c = &h->cpus[idx];
	u32 apic_id = h->set.v[idx].apic_id;

	if (!c->ran) {
		harness_report(h, "vCPU %u: never started", idx);
		return false;
	}
	if (!c->failed)
		return true;
	if (apic_id != idx)
		harness_report(h, "vCPU %u (APIC ID %u): %s", idx, apic_id,
			       c->why);
	else
		harness_report(h, "vCPU %u: %s", idx, c->why);
	return false;
}

void harness_report_end(struct harness *h)
{
	if (h->max_reports && h->nr_reports > h->max_reports)
		fprintf(stderr, "%s: ... and %u more failures\n", h->name,
			h->nr_reports - h->max_reports);
}

void harness_close(struct harness *h)
{
	vcpus_setup_free(&h->set);
	free(h->cpus);
	free(h->sup);
	if (h->mem)
		munmap(h->mem, h->mem_size);
	kvm_close(&h->vm);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
}

bool harness_parse_uint(const char *arg, unsigned long min,
			unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(arg, &end, 10);
	return !errno && end != arg && !*end && arg[0] != '-' &&
	       *out >= min && *out <= max;
}
