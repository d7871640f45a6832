/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Thin wrappers around the /dev/kvm ioctls. This is the only code in
 * smpvisor that talks to KVM; everything above it (boot, SMP, devices)
 * calls these functions and never issues a KVM ioctl itself.
 *
 * The wrappers hold no policy: each does one ioctl (or one small, fixed
 * sequence) and returns 0 or -errno. Set-up calls print one pr_err line
 * naming what failed; calls that sit on the per-exit hot path (KVM_RUN,
 * register access, irq lines, MSIs) stay silent and let the caller decide.
 */
#ifndef SMPVISOR_KVM_H
#define SMPVISOR_KVM_H

#include <linux/kvm.h>

#include "lib/util.h"

#define KVM_DEFAULT_DEV "/dev/kvm"

struct kvm_vm {
	int sys_fd;		/* /dev/kvm, -1 when closed */
	int vm_fd;		/* -1 until kvm_create_vm */
	int run_size;		/* bytes to mmap for each vCPU's kvm_run */
	int max_vcpus;		/* how many vCPUs one VM may have */
	int max_vcpu_id;	/* vCPU ids (APIC ids) must be below this */
};

struct kvm_vcpu {
	int fd;			/* -1 when destroyed */
	unsigned id;		/* the id given to KVM_CREATE_VCPU */
	struct kvm_run *run;	/* shared with KVM, vm->run_size bytes */
	struct kvm_vm *vm;
};

/* --- system and VM --- */

/*
 * Open the KVM device (dev_path NULL means /dev/kvm), check the API version
 * and read the vCPU limits. On failure vm is left closed (fds -1), so
 * kvm_close is always safe.
 */
int kvm_open(struct kvm_vm *vm, const char *dev_path);
/* Close the VM and the device; safe on a closed or half-opened vm. */
void kvm_close(struct kvm_vm *vm);
/* KVM_CHECK_EXTENSION on the VM fd once created, else on /dev/kvm: >= 0. */
int kvm_check_extension(struct kvm_vm *vm, unsigned cap);
/*
 * Check every capability smpvisor relies on; prints one line per missing
 * one ("KVM lacks KVM_CAP_IRQFD") and returns -EOPNOTSUPP if any is.
 */
int kvm_require_caps(struct kvm_vm *vm);
/* The capabilities kvm_require_caps checks, for tests and messages. */
const unsigned *kvm_required_caps(size_t *nr);
/* "KVM_CAP_IRQFD" for KVM_CAP_IRQFD; NULL for a number it does not know. */
const char *kvm_cap_name(unsigned cap);

int kvm_create_vm(struct kvm_vm *vm);
/* KVM_SET_USER_MEMORY_REGION; size 0 deletes the slot. */
int kvm_set_memslot(struct kvm_vm *vm, u32 slot, u64 gpa, u64 size,
		    void *hva, u32 flags);
/*
 * KVM_GET_DIRTY_LOG: the pages of slot written since the last call, one
 * bit per page into bitmap (the slot's pages rounded up to 64 bits), and
 * write protection armed again. The slot needs KVM_MEM_LOG_DIRTY_PAGES.
 * 0 or -errno, silent.
 */
int kvm_get_dirty_log(struct kvm_vm *vm, u32 slot, void *bitmap);
int kvm_create_irqchip(struct kvm_vm *vm);
/*
 * In-kernel PIT. Port 0x61 is handled in the kernel too (the "dummy
 * speaker"), because only the kernel knows the state of PIT channel 2's
 * gate and output that the guest's timer calibration reads there.
 */
int kvm_create_pit2(struct kvm_vm *vm);
int kvm_set_tss_addr(struct kvm_vm *vm, u64 addr);
int kvm_set_identity_map_addr(struct kvm_vm *vm, u64 addr);
/* Raise (level 1) or lower (0) an irqchip input; silent, hot path. */
int kvm_irq_line(struct kvm_vm *vm, u32 gsi, int level);
/* KVM_ENABLE_CAP on the VM fd with args[0..1]. */
int kvm_enable_cap(struct kvm_vm *vm, u32 cap, u64 arg0, u64 arg1);
/* KVM_GET_SUPPORTED_CPUID; *out is malloc'ed, the caller frees it. */
int kvm_get_supported_cpuid(struct kvm_vm *vm, struct kvm_cpuid2 **out);
/* Signal fd on guest writes of len bytes at addr (port I/O when pio). */
int kvm_ioeventfd(struct kvm_vm *vm, u64 addr, u32 len, int fd, bool pio,
		  bool assign);
/* The same, but only for writes of exactly the value datamatch. */
int kvm_ioeventfd_match(struct kvm_vm *vm, u64 addr, u32 len, int fd,
			bool pio, bool assign, u64 datamatch);
/* Inject gsi when fd is signalled; resample_fd >= 0 makes it level. */
int kvm_irqfd(struct kvm_vm *vm, u32 gsi, int fd, int resample_fd,
	      bool assign);
/* Replace the whole GSI routing table. */
int kvm_set_gsi_routing(struct kvm_vm *vm, const struct kvm_irq_routing *r);
/* Inject one MSI; 0 whether delivered or blocked by the guest. Silent. */
int kvm_signal_msi(struct kvm_vm *vm, u64 addr, u32 data);

/* --- vCPUs --- */

/* KVM_CREATE_VCPU and map its kvm_run; vcpu is closed (fd -1) on error. */
int kvm_vcpu_create(struct kvm_vm *vm, unsigned id, struct kvm_vcpu *vcpu);
void kvm_vcpu_destroy(struct kvm_vcpu *vcpu);
/* KVM_RUN: 0 or -errno; -EINTR (a kick) and -EAGAIN are normal. Silent. */
int kvm_vcpu_run(struct kvm_vcpu *vcpu);
/* KVM_ENABLE_CAP on the vCPU fd with args[0..1]. */
int kvm_vcpu_enable_cap(struct kvm_vcpu *vcpu, u32 cap, u64 arg0, u64 arg1);
/*
 * KVM_KVMCLOCK_CTRL: tell the guest (through its kvmclock page) that the
 * host stopped it, so its soft-lockup watchdog does not fire when it runs
 * again. -EINVAL while the guest has no kvmclock. Silent.
 */
int kvm_vcpu_kvmclock_ctrl(struct kvm_vcpu *vcpu);

/* Register state; all silent, 0 or -errno. */
int kvm_vcpu_get_regs(struct kvm_vcpu *vcpu, struct kvm_regs *regs);
int kvm_vcpu_set_regs(struct kvm_vcpu *vcpu, const struct kvm_regs *regs);
int kvm_vcpu_get_sregs(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs);
int kvm_vcpu_set_sregs(struct kvm_vcpu *vcpu, const struct kvm_sregs *sregs);
int kvm_vcpu_get_fpu(struct kvm_vcpu *vcpu, struct kvm_fpu *fpu);
int kvm_vcpu_set_fpu(struct kvm_vcpu *vcpu, const struct kvm_fpu *fpu);
int kvm_vcpu_get_lapic(struct kvm_vcpu *vcpu, struct kvm_lapic_state *s);
int kvm_vcpu_set_lapic(struct kvm_vcpu *vcpu,
		       const struct kvm_lapic_state *s);
int kvm_vcpu_get_mp_state(struct kvm_vcpu *vcpu, u32 *state);
int kvm_vcpu_set_mp_state(struct kvm_vcpu *vcpu, u32 state);

/* KVM_SET_CPUID2 (prints on failure: it is a set-up call). */
int kvm_vcpu_set_cpuid(struct kvm_vcpu *vcpu, const struct kvm_cpuid2 *c);
/*
 * KVM_GET_CPUID2 into c, whose nent says how many entries fit: -E2BIG
 * when the vCPU has more, else 0 with nent set to how many were written.
 */
int kvm_vcpu_get_cpuid(struct kvm_vcpu *vcpu, struct kvm_cpuid2 *c);

/*
 * One MSR: 0, -EINVAL when KVM refuses that MSR (unknown index or bad
 * value), or -errno from the ioctl.
 */
int kvm_vcpu_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 value);
int kvm_vcpu_get_msr(struct kvm_vcpu *vcpu, u32 index, u64 *value);
/*
 * Many MSRs at once. Unlike the rest these return how many entries KVM
 * processed (it stops at the first one it refuses), or -errno.
 */
/*
 * A vCPU's whole state (kernel/vcpu_state.c): registers, XSAVE, XCR0,
 * special registers, the MSRs of msr_list, MP state, local APIC, pending
 * events, debug registers.
 */
struct kvm_vcpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xsave xsave;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp;
	struct kvm_vcpu_events events;
	struct kvm_debugregs debugregs;
	struct kvm_msrs *msrs;		/* malloc'ed, with its entries */
};

/* The MSRs KVM saves that this vCPU reads: *out malloc'ed, *nr of them. */
int kvm_vcpu_msr_list(struct kvm_vcpu *v, u32 **out, unsigned *nr);
int kvm_vcpu_state_get(struct kvm_vcpu *v, const u32 *msrs, unsigned nr_msrs,
		       struct kvm_vcpu_state *s);
int kvm_vcpu_state_set(struct kvm_vcpu *v, const struct kvm_vcpu_state *s);
void kvm_vcpu_state_free(struct kvm_vcpu_state *s);

/* The in-kernel PIC pair, IOAPIC and PIT. */
struct kvm_irqchip_state {
	struct kvm_irqchip chip[3];	/* KVM_IRQCHIP_PIC_MASTER, _SLAVE, _IOAPIC */
	struct kvm_pit_state2 pit;
};

int kvm_get_irqchip_state(struct kvm_vm *vm, struct kvm_irqchip_state *s);
int kvm_set_irqchip_state(struct kvm_vm *vm, const struct kvm_irqchip_state *s);

/*
 * The VM's kvmclock (KVM_GET_CLOCK, KVM_SET_CLOCK): 0 or -errno, silent.
 * A set with KVM_CLOCK_REALTIME in flags moves the clock on by the host
 * realtime elapsed since d->realtime (KVM_CAP_ADJUST_CLOCK says which
 * flags this KVM reports).
 */
int kvm_get_clock(struct kvm_vm *vm, struct kvm_clock_data *d);
int kvm_set_clock(struct kvm_vm *vm, const struct kvm_clock_data *d);
/* The vCPU's TSC frequency in kHz, or -errno; the set returns 0 or -errno. */
int kvm_vcpu_get_tsc_khz(struct kvm_vcpu *v);
int kvm_vcpu_set_tsc_khz(struct kvm_vcpu *v, u32 khz);

int kvm_vcpu_set_msrs(struct kvm_vcpu *vcpu, const struct kvm_msrs *msrs);
int kvm_vcpu_get_msrs(struct kvm_vcpu *vcpu, struct kvm_msrs *msrs);

/*
 * One of KVM's statistics for this vCPU by name (e.g. "halt_exits"), read
 * through KVM_GET_STATS_FD: 0, -ENOENT when KVM has no such statistic,
 * -EIO for a short read, or -errno (-ENOTTY before Linux 5.14).
 */
int kvm_vcpu_stat(struct kvm_vcpu *vcpu, const char *name, u64 *value);

/*
 * KVM's binary statistics for a whole VM or one vCPU: KVM_GET_STATS_FD
 * returns a new fd (read it with kvm_stats_read, close it when done) or
 * -errno (-ENOTTY before Linux 5.14; see KVM_CAP_BINARY_STATS_FD). Silent.
 */
int kvm_vm_stats_fd(struct kvm_vm *vm);
int kvm_vcpu_stats_fd(struct kvm_vcpu *vcpu);
/*
 * Read every single-valued statistic of a stats fd (histograms are
 * skipped): fn(arg, name, value, cumulative) for each, cumulative false
 * for instant values and peaks. The number reported, or -errno. Silent.
 */
int kvm_stats_read(int fd, void (*fn)(void *arg, const char *name,
				      u64 value, bool cumulative),
		   void *arg);

/* "IO" for KVM_EXIT_IO and so on; "unknown" for a number it does not know. */
const char *kvm_exit_reason_name(u32 reason);

/* --- host --- */

/* True when /proc/cpuinfo's flags show vmx or svm (hardware virt). */
bool kvm_host_has_hw_virt(void);
/* The check itself, on one /proc/cpuinfo line: a "flags" line naming them. */
bool kvm_cpuinfo_line_has_hw_virt(const char *line);

#endif
