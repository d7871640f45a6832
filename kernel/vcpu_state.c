// SPDX-License-Identifier: GPL-2.0
/*
 * A vCPU's whole architectural state as KVM holds it, read and written
 * in one piece: for a reset in place (the state captured after set-up is
 * written back) and, later, for snapshots. The order of the writes is
 * the one KVM needs: general registers, XSAVE and XCR0 before the
 * special registers (CR4.OSXSAVE), MSRs (APIC base among them) before
 * the local APIC and the MP state, pending events last. The state a
 * snapshot needs beside it is here too: the in-kernel PIC, IOAPIC and
 * PIT, the VM's kvmclock and each vCPU's TSC frequency.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kernel/kvm.h"
#include "lib/util.h"

static int io(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

/*
 * The MSRs KVM saves and restores (KVM_GET_MSR_INDEX_LIST), kept to the
 * ones this vCPU can read: a CPU without a feature lists an MSR it then
 * refuses, and one refusal ends a KVM_GET_MSRS batch.
 */
int kvm_vcpu_msr_list(struct kvm_vcpu *v, u32 **out, unsigned *nr)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *l;
	unsigned i, n = 0;
	u64 val;
	u32 *idx;
	int r;

	if (ioctl(v->vm->sys_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 &&
	    errno != E2BIG)
		return -errno;
	l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(u32));
	idx = calloc(probe.nmsrs ? probe.nmsrs : 1, sizeof(u32));
	if (!l || !idx) {
		free(l);
		free(idx);
		return -ENOMEM;
	}
	l->nmsrs = probe.nmsrs;
	r = io(v->vm->sys_fd, KVM_GET_MSR_INDEX_LIST, l);
	for (i = 0; !r && i < l->nmsrs; i++)
		if (!kvm_vcpu_get_msr(v, l->indices[i], &val))
			idx[n++] = l->indices[i];
	free(l);
	if (r) {
		free(idx);
		return r;
	}
	*out = idx;
	*nr = n;
	return 0;
}

void kvm_vcpu_state_free(struct kvm_vcpu_state *s)
{
	free(s->msrs);
	s->msrs = NULL;
}

int kvm_vcpu_state_get(struct kvm_vcpu *v, const u32 *msrs, unsigned nr_msrs,
		       struct kvm_vcpu_state *s)
{
	int r;
	unsigned i;

	memset(s, 0, sizeof(*s));
	s->msrs = calloc(1, sizeof(*s->msrs) +
			 nr_msrs * sizeof(struct kvm_msr_entry));
	if (!s->msrs)
		return -ENOMEM;
	s->msrs->nmsrs = nr_msrs;
	for (i = 0; i < nr_msrs; i++)
		s->msrs->entries[i].index = msrs[i];
	r = io(v->fd, KVM_GET_REGS, &s->regs);
	if (!r)
		r = io(v->fd, KVM_GET_SREGS, &s->sregs);
	if (!r)
		r = io(v->fd, KVM_GET_XSAVE, &s->xsave);
	if (!r)
		r = io(v->fd, KVM_GET_XCRS, &s->xcrs);
	if (!r)
		r = io(v->fd, KVM_GET_LAPIC, &s->lapic);
	if (!r)
		r = io(v->fd, KVM_GET_MP_STATE, &s->mp);
	if (!r)
		r = io(v->fd, KVM_GET_VCPU_EVENTS, &s->events);
	if (!r)
		r = io(v->fd, KVM_GET_DEBUGREGS, &s->debugregs);
	if (!r && nr_msrs) {
		r = kvm_vcpu_get_msrs(v, s->msrs);
		r = r < 0 ? r : (unsigned)r == nr_msrs ? 0 : -EIO;
	}
	if (r)
		kvm_vcpu_state_free(s);
	return r;
}

/*
 * MSRs one batch after another: KVM stops a batch at the first MSR it
 * refuses (some are read-only once the guest ran); that one is skipped.
 */
static int set_msrs(struct kvm_vcpu *v, const struct kvm_msrs *all)
{
	struct kvm_msrs *m;
	unsigned at = 0;
	int r = 0;

	m = calloc(1, sizeof(*m) + all->nmsrs * sizeof(struct kvm_msr_entry));
	if (!m)
		return -ENOMEM;
	while (at < all->nmsrs) {
		m->nmsrs = all->nmsrs - at;
		memcpy(m->entries, &all->entries[at],
		       m->nmsrs * sizeof(struct kvm_msr_entry));
		r = kvm_vcpu_set_msrs(v, m);
		if (r < 0)
			break;
		at += (unsigned)r;
		if (at < all->nmsrs) {
			pr_debug("vcpu %u: MSR 0x%x not restored", v->id,
				 all->entries[at].index);
			at++;
		}
		r = 0;
	}
	free(m);
	return r;
}

int kvm_vcpu_state_set(struct kvm_vcpu *v, const struct kvm_vcpu_state *s)
{
	struct kvm_mp_state mp = s->mp;
	struct kvm_vcpu_events ev = s->events;
	int r;

	r = io(v->fd, KVM_SET_REGS, (void *)&s->regs);
	if (!r)
		r = io(v->fd, KVM_SET_XSAVE, (void *)&s->xsave);
	if (!r)
		r = io(v->fd, KVM_SET_XCRS, (void *)&s->xcrs);
	if (!r)
		r = io(v->fd, KVM_SET_SREGS, (void *)&s->sregs);
	if (!r && s->msrs && s->msrs->nmsrs)
		r = set_msrs(v, s->msrs);
	if (!r)
		r = io(v->fd, KVM_SET_MP_STATE, &mp);
	if (!r)
		r = io(v->fd, KVM_SET_LAPIC, (void *)&s->lapic);
	/* Everything pending replaced, not merged with what is there. */
	ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR |
		    KVM_VCPUEVENT_VALID_SHADOW;
	if (!r)
		r = io(v->fd, KVM_SET_VCPU_EVENTS, &ev);
	if (!r)
		r = io(v->fd, KVM_SET_DEBUGREGS, (void *)&s->debugregs);
	return r;
}

int kvm_get_irqchip_state(struct kvm_vm *vm, struct kvm_irqchip_state *s)
{
	unsigned i;
	int r = 0;

	for (i = 0; !r && i < 3; i++) {
		s->chip[i].chip_id = i;
		r = io(vm->vm_fd, KVM_GET_IRQCHIP, &s->chip[i]);
	}
	if (!r)
		r = io(vm->vm_fd, KVM_GET_PIT2, &s->pit);
	return r;
}

int kvm_set_irqchip_state(struct kvm_vm *vm, const struct kvm_irqchip_state *s)
{
	unsigned i;
	int r = 0;

	for (i = 0; !r && i < 3; i++)
		r = io(vm->vm_fd, KVM_SET_IRQCHIP, (void *)&s->chip[i]);
	if (!r)
		r = io(vm->vm_fd, KVM_SET_PIT2, (void *)&s->pit);
	return r;
}

/*
 * The VM's kvmclock (KVM_GET_CLOCK / KVM_SET_CLOCK). On a set, a
 * KVM_CLOCK_REALTIME in d->flags makes KVM move the clock on by the host
 * realtime elapsed since d->realtime; without it the clock resumes at
 * d->clock. Silent, like the rest of the state calls.
 */
int kvm_get_clock(struct kvm_vm *vm, struct kvm_clock_data *d)
{
	memset(d, 0, sizeof(*d));
	return io(vm->vm_fd, KVM_GET_CLOCK, d);
}

int kvm_set_clock(struct kvm_vm *vm, const struct kvm_clock_data *d)
{
	return io(vm->vm_fd, KVM_SET_CLOCK, (void *)d);
}

/* The guest TSC frequency: the ioctl returns it, not through a pointer. */
int kvm_vcpu_get_tsc_khz(struct kvm_vcpu *v)
{
	int r = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);

	return r < 0 ? -errno : r;
}

int kvm_vcpu_set_tsc_khz(struct kvm_vcpu *v, u32 khz)
{
	return ioctl(v->fd, KVM_SET_TSC_KHZ, (unsigned long)khz) < 0 ? -errno : 0;
}
