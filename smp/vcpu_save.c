// SPDX-License-Identifier: GPL-2.0
/*
 * The state KVM holds for each vCPU and for the VM, as data in the state
 * format (lib/state.h), for snapshot and restore. kernel/vcpu_state.c
 * reads and writes it from and to KVM; this file only turns it into
 * sections and back, and checks what it reads back.
 *
 *   section "vcpu.<index>", version 1, one field per part:
 *     regs sregs xsave xcrs lapic mp events debugregs
 *                    each the whole KVM struct (struct kvm_regs, ...)
 *     msrs           the array of struct kvm_msr_entry, in KVM's order
 *     tsc_khz        u32, the guest TSC frequency
 *   section "vm", version 1:
 *     pic_master pic_slave ioapic   struct kvm_irqchip each
 *     pit            struct kvm_pit_state2
 *     clock          struct kvm_clock_data
 *
 * A whole struct as one field pins its layout: the size is checked on
 * load, so a kernel header that changed a struct gives a refused field,
 * not a misread one.
 *
 * A snapshot file is untrusted. The loads check what is cheap to check
 * here and refuse the rest of the stream with a one-line reason:
 *   - the section exists and is not newer than this smpvisor's;
 *   - every field is there with exactly its struct's size;
 *   - msrs is whole entries, at most VCPU_STATE_MAX_MSRS of them, each
 *     index once, reserved zero;
 *   - mp_state is one KVM takes on x86; nr_xcrs is at most KVM_MAX_XCRS;
 *     flags words only carry bits KVM defines (events, pit, clock) or
 *     must be zero (xcrs, debugregs);
 *   - reserved and padding members are zero where the struct has them
 *     (KVM's GETs zero them, except kvm_irqchip.pad, which the save
 *     zeroes);
 *   - tsc_khz is nonzero and below VCPU_STATE_MAX_TSC_KHZ;
 *   - each irqchip's chip_id matches its field.
 * The architectural content (segment and control registers against
 * each other, XSAVE features, LAPIC registers, PIC/IOAPIC/PIT internals,
 * MSR values) is KVM's to judge: its SET ioctls validate it and fail
 * with -EINVAL, which kvm_vcpu_state_set and kvm_set_irqchip_state pass
 * back to the restore.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smp/vcpu_save.h"

#define EVENT_FLAGS	(KVM_VCPUEVENT_VALID_NMI_PENDING | \
			 KVM_VCPUEVENT_VALID_SIPI_VECTOR | \
			 KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM | \
			 KVM_VCPUEVENT_VALID_PAYLOAD | \
			 KVM_VCPUEVENT_VALID_TRIPLE_FAULT)
#define PIT_FLAGS	(KVM_PIT_FLAGS_HPET_LEGACY | \
			 KVM_PIT_FLAGS_SPEAKER_DATA_ON)
#define CLOCK_FLAGS	(KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | \
			 KVM_CLOCK_HOST_TSC)

/* The MP states KVM_SET_MP_STATE takes on x86 (the rest are s390's). */
static const u32 x86_mp_states[] = {
	KVM_MP_STATE_RUNNABLE, KVM_MP_STATE_UNINITIALIZED,
	KVM_MP_STATE_INIT_RECEIVED, KVM_MP_STATE_HALTED,
	KVM_MP_STATE_SIPI_RECEIVED, KVM_MP_STATE_AP_RESET_HOLD,
};

/* The irqchip fields, in KVM_IRQCHIP_* order: field i holds chip_id i. */
static const char *const chip_fields[3] = { "pic_master", "pic_slave",
					    "ioapic" };

static bool all_zero(const void *p, size_t n)
{
	const u8 *b = p;

	while (n--)
		if (*b++)
			return false;
	return true;
}

void vcpu_state_save(struct state_writer *w, unsigned index,
		     const struct kvm_vcpu_state *s, u32 tsc_khz)
{
	char name[STATE_NAME_MAX + 1];
	u32 n = s->msrs ? s->msrs->nmsrs : 0;

	snprintf(name, sizeof(name), "vcpu.%u", index);
	state_section(w, name, VCPU_STATE_VERSION);
	STATE_PUT(w, s, regs);
	STATE_PUT(w, s, sregs);
	STATE_PUT(w, s, xsave);
	STATE_PUT(w, s, xcrs);
	STATE_PUT(w, s, lapic);
	STATE_PUT(w, s, mp);
	STATE_PUT(w, s, events);
	STATE_PUT(w, s, debugregs);
	/* More MSRs than a load takes: a save that fails, not one refused later. */
	if (n > VCPU_STATE_MAX_MSRS && !w->err)
		w->err = -E2BIG;
	state_put(w, "msrs", n ? s->msrs->entries : NULL,
		  MIN(n, VCPU_STATE_MAX_MSRS) * (u32)sizeof(struct kvm_msr_entry));
	state_put_u32(w, "tsc_khz", tsc_khz);
}

static int cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

/* Field msrs into a new s->msrs: whole entries, few, unique, reserved 0. */
static int load_msrs(struct state_reader *r, struct kvm_vcpu_state *s)
{
	const size_t esz = sizeof(struct kvm_msr_entry);
	u32 idx[VCPU_STATE_MAX_MSRS];
	const void *p;
	u32 size, n, i;

	p = state_get_var(r, "msrs", &size);
	if (!p)
		return -ENOENT;
	if (size % esz)
		return state_refuse(r, "field msrs is %u bytes, not whole %zu-byte entries",
				    size, esz);
	n = size / esz;
	if (n > VCPU_STATE_MAX_MSRS)
		return state_refuse(r, "field msrs holds %u MSRs, at most %u",
				    n, VCPU_STATE_MAX_MSRS);
	s->msrs = calloc(1, sizeof(*s->msrs) + size);
	if (!s->msrs) {
		state_refuse(r, "no memory for %u MSRs", n);
		return -ENOMEM;
	}
	s->msrs->nmsrs = n;
	if (n)		/* the stream's bytes may be unaligned: copy first */
		memcpy(s->msrs->entries, p, size);
	for (i = 0; i < n; i++) {
		if (s->msrs->entries[i].reserved)
			return state_refuse(r, "MSR 0x%x has nonzero reserved bits",
					    s->msrs->entries[i].index);
		idx[i] = s->msrs->entries[i].index;
	}
	qsort(idx, n, sizeof(idx[0]), cmp_u32);
	for (i = 1; i < n; i++)
		if (idx[i] == idx[i - 1])
			return state_refuse(r, "MSR 0x%x appears twice in msrs",
					    idx[i]);
	return 0;
}

/* The cheap checks of the fixed-size parts (the header comment). */
static int check_vcpu(struct state_reader *r, const struct kvm_vcpu_state *s)
{
	unsigned i;
	bool mp_ok = false;

	for (i = 0; i < ARRAY_SIZE(x86_mp_states); i++)
		mp_ok |= s->mp.mp_state == x86_mp_states[i];
	if (!mp_ok)
		return state_refuse(r, "mp_state %u is not an x86 MP state",
				    s->mp.mp_state);
	if (s->xcrs.nr_xcrs > KVM_MAX_XCRS)
		return state_refuse(r, "xcrs holds %u XCRs, at most %u",
				    s->xcrs.nr_xcrs, KVM_MAX_XCRS);
	if (s->xcrs.flags || !all_zero(s->xcrs.padding, sizeof(s->xcrs.padding)))
		return state_refuse(r, "xcrs has nonzero flags or padding");
	for (i = 0; i < KVM_MAX_XCRS; i++)
		if (s->xcrs.xcrs[i].reserved)
			return state_refuse(r, "xcrs entry %u has nonzero reserved bits",
					    i);
	if (s->events.flags & ~(u32)EVENT_FLAGS)
		return state_refuse(r, "events flags 0x%x has bits KVM does not define",
				    s->events.flags);
	if (s->events.nmi.pad ||
	    !all_zero(s->events.reserved, sizeof(s->events.reserved)))
		return state_refuse(r, "events has nonzero reserved bytes");
	if (s->debugregs.flags ||
	    !all_zero(s->debugregs.reserved, sizeof(s->debugregs.reserved)))
		return state_refuse(r, "debugregs has nonzero flags or reserved words");
	return 0;
}

static int load_vcpu(struct state_reader *r, struct kvm_vcpu_state *s,
		     u32 *tsc_khz)
{
	int e;

	if ((e = STATE_GET(r, s, regs)) || (e = STATE_GET(r, s, sregs)) ||
	    (e = STATE_GET(r, s, xsave)) || (e = STATE_GET(r, s, xcrs)) ||
	    (e = STATE_GET(r, s, lapic)) || (e = STATE_GET(r, s, mp)) ||
	    (e = STATE_GET(r, s, events)) || (e = STATE_GET(r, s, debugregs)) ||
	    (e = state_get(r, "tsc_khz", tsc_khz, sizeof(*tsc_khz))))
		return e;
	if (!*tsc_khz || *tsc_khz >= VCPU_STATE_MAX_TSC_KHZ)
		return state_refuse(r, "tsc_khz %u is not between 1 and %u",
				    *tsc_khz, VCPU_STATE_MAX_TSC_KHZ - 1);
	e = check_vcpu(r, s);
	return e ? e : load_msrs(r, s);
}

int vcpu_state_load(struct state_reader *r, unsigned index,
		    struct kvm_vcpu_state *s, u32 *tsc_khz)
{
	char name[STATE_NAME_MAX + 1];
	u32 khz = 0;
	int e;

	memset(s, 0, sizeof(*s));
	snprintf(name, sizeof(name), "vcpu.%u", index);
	e = state_open(r, name, VCPU_STATE_VERSION);
	if (!e)
		e = load_vcpu(r, s, &khz);
	if (e) {
		kvm_vcpu_state_free(s);
		return e;
	}
	*tsc_khz = khz;
	return 0;
}

void vm_state_save(struct state_writer *w, const struct kvm_irqchip_state *chip,
		   const struct kvm_clock_data *clock)
{
	unsigned i;

	state_section(w, "vm", VM_STATE_VERSION);
	for (i = 0; i < ARRAY_SIZE(chip_fields); i++) {
		struct kvm_irqchip c = chip->chip[i];

		c.pad = 0;	/* KVM_GET_IRQCHIP leaves the caller's bytes */
		state_put(w, chip_fields[i], &c, sizeof(c));
	}
	STATE_PUT(w, chip, pit);
	state_put(w, "clock", clock, sizeof(*clock));
}

static int load_vm(struct state_reader *r, struct kvm_irqchip_state *chip,
		   struct kvm_clock_data *clock)
{
	unsigned i;
	int e;

	for (i = 0; i < ARRAY_SIZE(chip_fields); i++) {
		const struct kvm_irqchip *c = &chip->chip[i];

		e = state_get(r, chip_fields[i], &chip->chip[i], sizeof(*c));
		if (e)
			return e;
		if (c->chip_id != i)
			return state_refuse(r, "%s has chip_id %u, not %u",
					    chip_fields[i], c->chip_id, i);
		if (c->pad)
			return state_refuse(r, "%s has nonzero pad",
					    chip_fields[i]);
	}
	if ((e = STATE_GET(r, chip, pit)) ||
	    (e = state_get(r, "clock", clock, sizeof(*clock))))
		return e;
	if (chip->pit.flags & ~(u32)PIT_FLAGS)
		return state_refuse(r, "pit flags 0x%x has bits KVM does not define",
				    chip->pit.flags);
	if (!all_zero(chip->pit.reserved, sizeof(chip->pit.reserved)))
		return state_refuse(r, "pit has nonzero reserved words");
	if (clock->flags & ~(u32)CLOCK_FLAGS)
		return state_refuse(r, "clock flags 0x%x has bits KVM does not define",
				    clock->flags);
	if (clock->pad0 || !all_zero(clock->pad, sizeof(clock->pad)))
		return state_refuse(r, "clock has nonzero padding");
	return 0;
}

int vm_state_load(struct state_reader *r, struct kvm_irqchip_state *chip,
		  struct kvm_clock_data *clock)
{
	struct kvm_irqchip_state c;
	struct kvm_clock_data k;
	int e;

	e = state_open(r, "vm", VM_STATE_VERSION);
	if (!e)
		e = load_vm(r, &c, &k);
	if (e)
		return e;
	*chip = c;	/* only a state that passed */
	*clock = k;
	return 0;
}
