/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SMPVISOR_PV_H
#define SMPVISOR_PV_H

#include "smp/vcpu.h"

/*
 * What the guest really turned on of the paravirtual features that are
 * enabled through an MSR (kvmclock, steal time, PV EOI, poll control),
 * counted over the vCPUs; call with the vCPU threads stopped. The others
 * (PV TLB flush, sched yield, spinlocks, send-IPI) have no MSR: the
 * guest's boot log names them.
 */
struct pv_use {
	unsigned kvmclock, steal_time, pv_eoi, poll_control, nr;
	/*
	 * KVM's halt_exits summed over the vCPUs (HLT exits: none when
	 * dedicated mode turned them off), -1 when KVM cannot tell.
	 */
	long long halt_exits;
	/* KVM's halt_attempted_poll summed the same way: 0 without polling. */
	long long halt_polls;
};

void pv_read_use(struct vcpus *s, struct pv_use *u);

/* Two info lines (-v) with the counts of pv_read_use. */
void pv_report_use(struct vcpus *s);

#endif
