/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A vCPU's and the VM's KVM-held state as data in the state format
 * (lib/state.h), for snapshot and restore: smp/vcpu_save.c says what is
 * saved and what a load checks.
 */
#ifndef SMPVISOR_VCPU_SAVE_H
#define SMPVISOR_VCPU_SAVE_H

#include "kernel/kvm.h"
#include "lib/state.h"

#define VCPU_STATE_VERSION	1
#define VM_STATE_VERSION	1
/* At most this many MSRs in one vCPU's saved state. */
#define VCPU_STATE_MAX_MSRS	1024
/* A saved TSC frequency must be below this (20 GHz). */
#define VCPU_STATE_MAX_TSC_KHZ	20000000u

/*
 * Section "vcpu.<index>": the whole of s and the TSC frequency. More than
 * VCPU_STATE_MAX_MSRS MSRs fail the writer (-E2BIG).
 */
void vcpu_state_save(struct state_writer *w, unsigned index,
		     const struct kvm_vcpu_state *s, u32 tsc_khz);
/*
 * Read section "vcpu.<index>" into s (overwritten; s->msrs is allocated,
 * free it with kvm_vcpu_state_free) and *tsc_khz: 0, or -errno with the
 * reason in r->why and s->msrs NULL.
 */
int vcpu_state_load(struct state_reader *r, unsigned index,
		    struct kvm_vcpu_state *s, u32 *tsc_khz);

/* Section "vm": the in-kernel PIC pair, IOAPIC and PIT, and kvmclock. */
void vm_state_save(struct state_writer *w, const struct kvm_irqchip_state *chip,
		   const struct kvm_clock_data *clock);
/* Read section "vm": 0, or -errno with the reason in r->why. */
int vm_state_load(struct state_reader *r, struct kvm_irqchip_state *chip,
		  struct kvm_clock_data *clock);

#endif
