// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPU half of the KVM layer: creating a vCPU and mapping its kvm_run,
 * KVM_RUN, and get/set of the register state (general, segment, FPU,
 * CPUID, LAPIC, MP state, MSRs). These are called from vCPU threads on the
 * exit path, so apart from creation and CPUID set-up they never print.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kernel/kvm.h"

int kvm_vcpu_create(struct kvm_vm *vm, unsigned id, struct kvm_vcpu *vcpu)
{
	void *run;
	int fd, r;

	vcpu->fd = -1;
	vcpu->id = id;
	vcpu->run = NULL;
	vcpu->vm = vm;
	fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (fd < 0) {
		r = -errno;
		pr_err("KVM_CREATE_VCPU %u: %s", id, strerror(-r));
		return r;
	}
	run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   0);
	if (run == MAP_FAILED) {
		r = -errno;
		pr_err("mmap of vCPU %u's kvm_run (%d bytes): %s", id,
		       vm->run_size, strerror(-r));
		goto close_fd;
	}
	vcpu->fd = fd;
	vcpu->run = run;
	return 0;

close_fd:
	close(fd);
	return r;
}

void kvm_vcpu_destroy(struct kvm_vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->vm->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}

int kvm_vcpu_run(struct kvm_vcpu *vcpu)
{
	return ioctl(vcpu->fd, KVM_RUN, 0) < 0 ? -errno : 0;
}

int kvm_vcpu_enable_cap(struct kvm_vcpu *vcpu, u32 cap, u64 arg0, u64 arg1)
{
	struct kvm_enable_cap c = { .cap = cap, .args = { arg0, arg1 } };

	if (ioctl(vcpu->fd, KVM_ENABLE_CAP, &c) < 0) {
		int r = -errno;
		const char *name = kvm_cap_name(cap);

		pr_err("vCPU %u: KVM_ENABLE_CAP %s (%u): %s", vcpu->id,
		       name ? name : "?", cap, strerror(-r));
		return r;
	}
	return 0;
}

/* The silent form used by every register accessor below. */
static int vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned long req,
		      const void *arg)
{
	return ioctl(vcpu->fd, req, arg) < 0 ? -errno : 0;
}

int kvm_vcpu_kvmclock_ctrl(struct kvm_vcpu *vcpu)
{
	return ioctl(vcpu->fd, KVM_KVMCLOCK_CTRL, 0) < 0 ? -errno : 0;
}

int kvm_vcpu_get_regs(struct kvm_vcpu *vcpu, struct kvm_regs *regs)
{
	return vcpu_ioctl(vcpu, KVM_GET_REGS, regs);
}

int kvm_vcpu_set_regs(struct kvm_vcpu *vcpu, const struct kvm_regs *regs)
{
	return vcpu_ioctl(vcpu, KVM_SET_REGS, regs);
}

int kvm_vcpu_get_sregs(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs)
{
	return vcpu_ioctl(vcpu, KVM_GET_SREGS, sregs);
}

int kvm_vcpu_set_sregs(struct kvm_vcpu *vcpu, const struct kvm_sregs *sregs)
{
	return vcpu_ioctl(vcpu, KVM_SET_SREGS, sregs);
}

int kvm_vcpu_get_fpu(struct kvm_vcpu *vcpu, struct kvm_fpu *fpu)
{
	return vcpu_ioctl(vcpu, KVM_GET_FPU, fpu);
}

int kvm_vcpu_set_fpu(struct kvm_vcpu *vcpu, const struct kvm_fpu *fpu)
{
	return vcpu_ioctl(vcpu, KVM_SET_FPU, fpu);
}

int kvm_vcpu_get_lapic(struct kvm_vcpu *vcpu, struct kvm_lapic_state *s)
{
	return vcpu_ioctl(vcpu, KVM_GET_LAPIC, s);
}

int kvm_vcpu_set_lapic(struct kvm_vcpu *vcpu,
		       const struct kvm_lapic_state *s)
{
	return vcpu_ioctl(vcpu, KVM_SET_LAPIC, s);
}

int kvm_vcpu_get_mp_state(struct kvm_vcpu *vcpu, u32 *state)
{
	struct kvm_mp_state mp = { 0 };
	int r;

	r = vcpu_ioctl(vcpu, KVM_GET_MP_STATE, &mp);
	if (!r)
		*state = mp.mp_state;
	return r;
}

int kvm_vcpu_set_mp_state(struct kvm_vcpu *vcpu, u32 state)
{
	struct kvm_mp_state mp = { .mp_state = state };

	return vcpu_ioctl(vcpu, KVM_SET_MP_STATE, &mp);
}

int kvm_vcpu_set_cpuid(struct kvm_vcpu *vcpu, const struct kvm_cpuid2 *c)
{
	int r = vcpu_ioctl(vcpu, KVM_SET_CPUID2, c);

	if (r)
		pr_err("vCPU %u: KVM_SET_CPUID2 (%u entries): %s", vcpu->id,
		       c->nent, strerror(-r));
	return r;
}

int kvm_vcpu_get_cpuid(struct kvm_vcpu *vcpu, struct kvm_cpuid2 *c)
{
	return vcpu_ioctl(vcpu, KVM_GET_CPUID2, c);
}

int kvm_vcpu_set_msrs(struct kvm_vcpu *vcpu, const struct kvm_msrs *msrs)
{
	int r = ioctl(vcpu->fd, KVM_SET_MSRS, msrs);

	return r < 0 ? -errno : r;
}

int kvm_vcpu_get_msrs(struct kvm_vcpu *vcpu, struct kvm_msrs *msrs)
{
	int r = ioctl(vcpu->fd, KVM_GET_MSRS, msrs);

	return r < 0 ? -errno : r;
}

/* struct kvm_msrs ends in a flexible array: room for one entry. */
union one_msr {
	struct kvm_msrs hdr;
	u8 bytes[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
};

int kvm_vcpu_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 value)
{
	union one_msr m;
	int r;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.hdr.entries[0].index = index;
	m.hdr.entries[0].data = value;
	r = kvm_vcpu_set_msrs(vcpu, &m.hdr);
	return r < 0 ? r : r == 1 ? 0 : -EINVAL;
}

int kvm_vcpu_get_msr(struct kvm_vcpu *vcpu, u32 index, u64 *value)
{
	union one_msr m;
	int r;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.hdr.entries[0].index = index;
	r = kvm_vcpu_get_msrs(vcpu, &m.hdr);
	if (r < 0)
		return r;
	if (r != 1)
		return -EINVAL;
	*value = m.hdr.entries[0].data;
	return 0;
}

int kvm_vcpu_stat(struct kvm_vcpu *vcpu, const char *name, u64 *value)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc *d = NULL;
	size_t dsize;
	int fd, r = -EIO;
	u32 i;

	fd = ioctl(vcpu->fd, KVM_GET_STATS_FD, NULL);
	if (fd < 0)
		return -errno;
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		goto out;
	/* Each descriptor is followed by its NUL-padded name of name_size. */
	dsize = sizeof(*d) + h.name_size;
	d = calloc(1, dsize + 1);
	if (!d) {
		r = -ENOMEM;
		goto out;
	}
	r = -ENOENT;
	for (i = 0; i < h.num_desc; i++) {
		if (pread(fd, d, dsize, h.desc_offset + (off_t)i * dsize) != (ssize_t)dsize) {
			r = -EIO;
			break;
		}
		if (strcmp(d->name, name))
			continue;
		r = pread(fd, value, sizeof(*value), h.data_offset + d->offset) ==
		    (ssize_t)sizeof(*value) ? 0 : -EIO;
		break;
	}
out:
	free(d);
	close(fd);
	return r;
}

#define EXIT(x) [KVM_EXIT_##x] = #x

static const char *const exit_names[] = {
	EXIT(UNKNOWN), EXIT(EXCEPTION), EXIT(IO), EXIT(HYPERCALL),
	EXIT(DEBUG), EXIT(HLT), EXIT(MMIO), EXIT(IRQ_WINDOW_OPEN),
	EXIT(SHUTDOWN), EXIT(FAIL_ENTRY), EXIT(INTR), EXIT(SET_TPR),
	EXIT(TPR_ACCESS), EXIT(NMI), EXIT(INTERNAL_ERROR),
	EXIT(WATCHDOG), EXIT(EPR), EXIT(SYSTEM_EVENT), EXIT(IOAPIC_EOI),
	EXIT(HYPERV), EXIT(X86_RDMSR), EXIT(X86_WRMSR),
	EXIT(DIRTY_RING_FULL), EXIT(AP_RESET_HOLD), EXIT(X86_BUS_LOCK),
	EXIT(XEN), EXIT(NOTIFY),
};

const char *kvm_exit_reason_name(u32 reason)
{
	if (reason < ARRAY_SIZE(exit_names) && exit_names[reason])
		return exit_names[reason];
	return "unknown";
}
