// SPDX-License-Identifier: GPL-2.0
/*
 * The system- and VM-level half of the KVM layer: opening /dev/kvm,
 * capability checks, creating the VM and the VM-wide ioctls (memory
 * slots, in-kernel irqchip and PIT, irq lines, eventfds, MSI routing).
 * One ioctl per function; set-up failures print one line naming the call.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kernel/kvm.h"

/* The only KVM API version there has ever been in mainline. */
#define KVM_API_VERSION_EXPECTED 12
/* What the KVM API document says to assume without KVM_CAP_NR_VCPUS. */
#define KVM_NR_VCPUS_FALLBACK 4
/* Bound on KVM_GET_SUPPORTED_CPUID retries; real hosts need ~60-100. */
#define KVM_CPUID_MAX_ENTRIES 4096

struct cap_name {
	unsigned cap;
	const char *name;
};

#define CAP(x) { KVM_CAP_##x, "KVM_CAP_" #x }

/* Names for messages; every cap in required_caps must be listed here. */
static const struct cap_name cap_names[] = {
	CAP(IRQCHIP), CAP(HLT), CAP(USER_MEMORY), CAP(SET_TSS_ADDR),
	CAP(EXT_CPUID), CAP(CLOCKSOURCE), CAP(NR_VCPUS), CAP(NR_MEMSLOTS),
	CAP(PIT), CAP(NOP_IO_DELAY), CAP(MP_STATE), CAP(COALESCED_MMIO),
	CAP(SYNC_MMU), CAP(USER_NMI), CAP(SET_GUEST_DEBUG),
	CAP(REINJECT_CONTROL), CAP(IRQ_ROUTING), CAP(IRQ_INJECT_STATUS),
	CAP(MCE), CAP(IRQFD), CAP(PIT2), CAP(SET_BOOT_CPU_ID),
	CAP(PIT_STATE2), CAP(IOEVENTFD), CAP(SET_IDENTITY_MAP_ADDR),
	CAP(ADJUST_CLOCK), CAP(INTERNAL_ERROR_DATA), CAP(VCPU_EVENTS),
	CAP(HYPERV), CAP(INTR_SHADOW), CAP(DEBUGREGS), CAP(ENABLE_CAP),
	CAP(XSAVE), CAP(XCRS), CAP(ASYNC_PF), CAP(TSC_CONTROL),
	CAP(GET_TSC_KHZ), CAP(MAX_VCPUS), CAP(ONE_REG),
	CAP(TSC_DEADLINE_TIMER), CAP(SYNC_REGS), CAP(KVMCLOCK_CTRL),
	CAP(SIGNAL_MSI), CAP(READONLY_MEM), CAP(IRQFD_RESAMPLE),
	CAP(DEVICE_CTRL), CAP(EXT_EMUL_CPUID), CAP(ENABLE_CAP_VM),
	CAP(IOEVENTFD_NO_LENGTH), CAP(VM_ATTRIBUTES), CAP(CHECK_EXTENSION_VM),
	CAP(SPLIT_IRQCHIP), CAP(IOEVENTFD_ANY_LENGTH), CAP(X86_SMM),
	CAP(MULTI_ADDRESS_SPACE), CAP(MAX_VCPU_ID), CAP(X2APIC_API),
	CAP(IMMEDIATE_EXIT), CAP(X86_DISABLE_EXITS), CAP(COALESCED_PIO),
	CAP(MANUAL_DIRTY_LOG_PROTECT2), CAP(PMU_EVENT_FILTER),
	CAP(X86_USER_SPACE_MSR), CAP(X86_MSR_FILTER), CAP(DIRTY_LOG_RING),
	CAP(X86_BUS_LOCK_EXIT), CAP(SYS_ATTRIBUTES),
	CAP(VM_TSC_CONTROL), CAP(X86_NOTIFY_VMEXIT),
};

/*
 * What the VMM cannot work without: an in-kernel LAPIC/IOAPIC/PIC and PIT,
 * user memory, eventfd-driven devices and MSI routing, CPUID and MP-state
 * control for SMP bring-up, and immediate_exit for race-free vCPU kicks.
 */
static const unsigned required_caps[] = {
	KVM_CAP_IRQCHIP, KVM_CAP_USER_MEMORY, KVM_CAP_SET_TSS_ADDR,
	KVM_CAP_SET_IDENTITY_MAP_ADDR, KVM_CAP_PIT2, KVM_CAP_IOEVENTFD,
	KVM_CAP_IRQFD, KVM_CAP_IRQ_ROUTING, KVM_CAP_SIGNAL_MSI,
	KVM_CAP_IMMEDIATE_EXIT, KVM_CAP_EXT_CPUID, KVM_CAP_MP_STATE,
	KVM_CAP_SYNC_MMU,
};

const char *kvm_cap_name(unsigned cap)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (cap_names[i].cap == cap)
			return cap_names[i].name;
	return NULL;
}

const unsigned *kvm_required_caps(size_t *nr)
{
	*nr = ARRAY_SIZE(required_caps);
	return required_caps;
}

int kvm_check_extension(struct kvm_vm *vm, unsigned cap)
{
	int fd = vm->vm_fd >= 0 ? vm->vm_fd : vm->sys_fd;
	int r;

	r = ioctl(fd, KVM_CHECK_EXTENSION, (unsigned long)cap);
	return r < 0 ? -errno : r;
}

int kvm_require_caps(struct kvm_vm *vm)
{
	int missing = 0, r;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(required_caps); i++) {
		r = kvm_check_extension(vm, required_caps[i]);
		if (r > 0)
			continue;
		if (r < 0)
			pr_err("KVM_CHECK_EXTENSION(%s): %s",
			       kvm_cap_name(required_caps[i]), strerror(-r));
		else
			pr_err("KVM lacks %s", kvm_cap_name(required_caps[i]));
		missing++;
	}
	return missing ? -EOPNOTSUPP : 0;
}

/* Refresh the vCPU limits; the VM fd may report tighter ones than /dev/kvm. */
static void read_vcpu_limits(struct kvm_vm *vm)
{
	int r;

	r = kvm_check_extension(vm, KVM_CAP_MAX_VCPUS);
	if (r <= 0)
		r = kvm_check_extension(vm, KVM_CAP_NR_VCPUS);
	vm->max_vcpus = r > 0 ? r : KVM_NR_VCPUS_FALLBACK;
	r = kvm_check_extension(vm, KVM_CAP_MAX_VCPU_ID);
	vm->max_vcpu_id = r > 0 ? r : vm->max_vcpus;
}

int kvm_open(struct kvm_vm *vm, const char *dev_path)
{
	const char *path = dev_path ? dev_path : KVM_DEFAULT_DEV;
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->vm_fd = -1;
	vm->sys_fd = open(path, O_RDWR | O_CLOEXEC);
	if (vm->sys_fd < 0) {
		r = -errno;
		pr_err("cannot open %s: %s", path, strerror(-r));
		return r;
	}
	r = ioctl(vm->sys_fd, KVM_GET_API_VERSION, 0);
	if (r < 0) {
		r = -errno;
		pr_err("KVM_GET_API_VERSION on %s: %s", path, strerror(-r));
		goto close_sys;
	}
	if (r != KVM_API_VERSION_EXPECTED) {
		pr_err("%s: KVM API version %d, need %d", path, r,
		       KVM_API_VERSION_EXPECTED);
		r = -EPROTO;
		goto close_sys;
	}
	r = ioctl(vm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r < 0) {
		r = -errno;
		pr_err("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(-r));
		goto close_sys;
	}
	if ((size_t)r < sizeof(struct kvm_run)) {
		pr_err("KVM_GET_VCPU_MMAP_SIZE: %d bytes is smaller than kvm_run",
		       r);
		r = -EPROTO;
		goto close_sys;
	}
	vm->run_size = r;
	read_vcpu_limits(vm);
	return 0;

close_sys:
	close(vm->sys_fd);
	vm->sys_fd = -1;
	return r;
}

void kvm_close(struct kvm_vm *vm)
{
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->sys_fd >= 0)
		close(vm->sys_fd);
	vm->vm_fd = -1;
	vm->sys_fd = -1;
}

int kvm_create_vm(struct kvm_vm *vm)
{
	int fd;

	if (vm->vm_fd >= 0) {
		pr_err("KVM_CREATE_VM: this kvm_vm already has a VM");
		return -EBUSY;
	}
	/* KVM_CREATE_VM fails with EINTR when a signal is pending: retry. */
	do
		fd = ioctl(vm->sys_fd, KVM_CREATE_VM, 0UL);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		fd = -errno;
		pr_err("KVM_CREATE_VM: %s", strerror(-fd));
		return fd;
	}
	vm->vm_fd = fd;
	read_vcpu_limits(vm);
	return 0;
}

/* A VM ioctl that prints "NAME: reason" on failure. */
static int vm_ioctl(struct kvm_vm *vm, unsigned long req, const char *name,
		    void *arg)
{
	if (ioctl(vm->vm_fd, req, arg) < 0) {
		int r = -errno;

		pr_err("%s: %s", name, strerror(-r));
		return r;
	}
	return 0;
}

int kvm_set_memslot(struct kvm_vm *vm, u32 slot, u64 gpa, u64 size,
		    void *hva, u32 flags)
{
	struct kvm_userspace_memory_region m = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (u64)(uintptr_t)hva,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &m) < 0) {
		int r = -errno;

		pr_err("KVM_SET_USER_MEMORY_REGION slot %u [%#llx, +%#llx): %s",
		       slot, (unsigned long long)gpa,
		       (unsigned long long)size, strerror(-r));
		return r;
	}
	return 0;
}

int kvm_get_dirty_log(struct kvm_vm *vm, u32 slot, void *bitmap)
{
	struct kvm_dirty_log d = { .slot = slot, .dirty_bitmap = bitmap };

	return ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &d) < 0 ? -errno : 0;
}

int kvm_create_irqchip(struct kvm_vm *vm)
{
	return vm_ioctl(vm, KVM_CREATE_IRQCHIP, "KVM_CREATE_IRQCHIP", NULL);
}

int kvm_create_pit2(struct kvm_vm *vm)
{
	struct kvm_pit_config c = { .flags = KVM_PIT_SPEAKER_DUMMY };

	return vm_ioctl(vm, KVM_CREATE_PIT2, "KVM_CREATE_PIT2", &c);
}

int kvm_set_tss_addr(struct kvm_vm *vm, u64 addr)
{
	/* This one takes the address itself, not a pointer to it. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)addr) < 0) {
		int r = -errno;

		pr_err("KVM_SET_TSS_ADDR %#llx: %s", (unsigned long long)addr,
		       strerror(-r));
		return r;
	}
	return 0;
}

int kvm_set_identity_map_addr(struct kvm_vm *vm, u64 addr)
{
	__u64 a = addr;

	return vm_ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR,
			"KVM_SET_IDENTITY_MAP_ADDR", &a);
}

int kvm_irq_line(struct kvm_vm *vm, u32 gsi, int level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = level ? 1 : 0 };

	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

int kvm_enable_cap(struct kvm_vm *vm, u32 cap, u64 arg0, u64 arg1)
{
	struct kvm_enable_cap c = { .cap = cap, .args = { arg0, arg1 } };

	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &c) < 0) {
		int r = -errno;
		const char *name = kvm_cap_name(cap);

		pr_err("KVM_ENABLE_CAP %s (%u): %s", name ? name : "?", cap,
		       strerror(-r));
		return r;
	}
	return 0;
}

/* Ask with a growing buffer until KVM stops answering E2BIG. */
int kvm_get_supported_cpuid(struct kvm_vm *vm, struct kvm_cpuid2 **out)
{
	struct kvm_cpuid2 *c;
	int r = -E2BIG;
	unsigned n;

	*out = NULL;
	for (n = 64; n <= KVM_CPUID_MAX_ENTRIES; n *= 2) {
		c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c) {
			pr_err("KVM_GET_SUPPORTED_CPUID: out of memory");
			return -ENOMEM;
		}
		c->nent = n;
		if (ioctl(vm->sys_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			*out = c;
			return 0;
		}
		r = -errno;
		free(c);
		if (r != -E2BIG)
			break;
	}
	pr_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(-r));
	return r;
}

static int ioeventfd(struct kvm_vm *vm, u64 addr, u32 len, int fd, u32 flags,
		     u64 datamatch)
{
	struct kvm_ioeventfd e = {
		.datamatch = datamatch,
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = flags,
	};

	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &e) < 0) {
		int r = -errno;

		pr_err("KVM_IOEVENTFD %s %s %#llx/%u: %s",
		       flags & KVM_IOEVENTFD_FLAG_DEASSIGN ? "remove" : "add",
		       flags & KVM_IOEVENTFD_FLAG_PIO ? "port" : "mmio",
		       (unsigned long long)addr, len, strerror(-r));
		return r;
	}
	return 0;
}

int kvm_ioeventfd(struct kvm_vm *vm, u64 addr, u32 len, int fd, bool pio,
		  bool assign)
{
	u32 flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
		    (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN);

	return ioeventfd(vm, addr, len, fd, flags, 0);
}

int kvm_ioeventfd_match(struct kvm_vm *vm, u64 addr, u32 len, int fd,
			bool pio, bool assign, u64 datamatch)
{
	u32 flags = KVM_IOEVENTFD_FLAG_DATAMATCH |
		    (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
		    (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN);

	return ioeventfd(vm, addr, len, fd, flags, datamatch);
}

int kvm_irqfd(struct kvm_vm *vm, u32 gsi, int fd, int resample_fd,
	      bool assign)
{
	struct kvm_irqfd f = { .fd = fd, .gsi = gsi };

	if (!assign)
		f.flags = KVM_IRQFD_FLAG_DEASSIGN;
	else if (resample_fd >= 0) {
		f.flags = KVM_IRQFD_FLAG_RESAMPLE;
		f.resamplefd = resample_fd;
	}
	if (ioctl(vm->vm_fd, KVM_IRQFD, &f) < 0) {
		int r = -errno;

		pr_err("KVM_IRQFD %s gsi %u: %s", assign ? "add" : "remove",
		       gsi, strerror(-r));
		return r;
	}
	return 0;
}

int kvm_set_gsi_routing(struct kvm_vm *vm, const struct kvm_irq_routing *r)
{
	return vm_ioctl(vm, KVM_SET_GSI_ROUTING, "KVM_SET_GSI_ROUTING",
			(void *)r);
}

int kvm_signal_msi(struct kvm_vm *vm, u64 addr, u32 data)
{
	struct kvm_msi m = {
		.address_lo = (u32)addr,
		.address_hi = (u32)(addr >> 32),
		.data = data,
	};

	/* > 0 delivered, 0 blocked by the guest: both are success here. */
	return ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &m) < 0 ? -errno : 0;
}

/* True for a "flags : ..." line that lists vmx or svm as a whole word. */
bool kvm_cpuinfo_line_has_hw_virt(const char *line)
{
	const char *p = line, *w;
	size_t n;

	if (strncmp(p, "flags", 5))
		return false;
	p += 5;
	p += strspn(p, " \t");
	if (*p != ':')
		return false;
	p++;
	for (;;) {
		p += strspn(p, " \t\n");
		if (!*p)
			return false;
		w = p;
		n = strcspn(p, " \t\n");
		p += n;
		if (n == 3 && (!strncmp(w, "vmx", 3) || !strncmp(w, "svm", 3)))
			return true;
	}
}

bool kvm_host_has_hw_virt(void)
{
	char *line = NULL;
	size_t cap = 0;
	bool found = false;
	FILE *f;

	f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0)
		found = kvm_cpuinfo_line_has_hw_virt(line);
	free(line);
	fclose(f);
	return found;
}
