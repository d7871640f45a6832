// SPDX-License-Identifier: GPL-2.0
/*
 * Which paravirtual features the guest used, read back from its vCPUs'
 * KVM MSRs when it has stopped: a guest enables kvmclock, steal time and
 * PV EOI by writing an address with bit 0 (KVM_MSR_ENABLED) set, and
 * takes over idle polling (cpuidle-haltpoll, with KVM_HINTS_REALTIME) by
 * clearing bit 0 of MSR_KVM_POLL_CONTROL, which starts at 1. KVM's own
 * halt_exits statistic shows whether dedicated mode really kept HLT in the
 * guest. Tests use the report to check that a switch in "pv" really reaches
 * the guest.
 */
#include <asm/kvm_para.h>

#include "smp/pv.h"

static bool msr_bit0(struct kvm_vcpu *kv, u32 msr, bool *set)
{
	u64 v;

	if (kvm_vcpu_get_msr(kv, msr, &v))
		return false;
	*set = v & 1;
	return true;
}

/* Adds KVM's statistic name to *sum; -1 from the first vCPU without it. */
static void add_stat(struct kvm_vcpu *kv, const char *name, long long *sum)
{
	u64 n;

	if (*sum >= 0 && !kvm_vcpu_stat(kv, name, &n))
		*sum += n;
	else
		*sum = -1;
}

void pv_read_use(struct vcpus *s, struct pv_use *u)
{
	unsigned i;
	bool on;

	*u = (struct pv_use){ .nr = s->nr };
	for (i = 0; i < s->nr; i++) {
		struct kvm_vcpu *kv = &s->v[i].kv;

		if (msr_bit0(kv, MSR_KVM_SYSTEM_TIME_NEW, &on) && on)
			u->kvmclock++;
		if (msr_bit0(kv, MSR_KVM_STEAL_TIME, &on) && on)
			u->steal_time++;
		if (msr_bit0(kv, MSR_KVM_PV_EOI_EN, &on) && on)
			u->pv_eoi++;
		if (msr_bit0(kv, MSR_KVM_POLL_CONTROL, &on) && !on)
			u->poll_control++;
		add_stat(kv, "halt_exits", &u->halt_exits);
		add_stat(kv, "halt_attempted_poll", &u->halt_polls);
	}
}

void pv_report_use(struct vcpus *s)
{
	struct pv_use u;

	pv_read_use(s, &u);
	pr_info("pv: the guest enabled kvmclock on %u/%u vCPUs, steal_time on %u/%u, pv_eoi on %u/%u, poll_control on %u/%u",
		u.kvmclock, u.nr, u.steal_time, u.nr, u.pv_eoi, u.nr,
		u.poll_control, u.nr);
	if (u.halt_exits >= 0 && u.halt_polls >= 0)
		pr_info("exits: the guest's HLT exits, all vCPUs: %lld; KVM halt polls: %lld",
			u.halt_exits, u.halt_polls);
}
