// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPU state fuzz harness: a snapshot's KVM-held state (sections
 * "vcpu.0" and "vm", smp/vcpu_save.c) is untrusted, so vcpu_state_load
 * and vm_state_load take whatever bytes come. The input is a whole state
 * stream. What a load takes is what a restore hands to KVM and a later
 * snapshot saves, so it must save again and load back the same.
 *
 * Returns 0 when either load took the input, 1 when both refused it.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "harnesses.h"
#include "smp/vcpu_save.h"

/* The stream a writer made, checked by the reader (it must pass). */
static u8 *reread(struct state_writer *w, struct state_reader *r)
{
	size_t len;
	u8 *buf = state_writer_take(w, &len);

	if (!buf || state_reader_init(r, buf, len))
		abort();
	return buf;
}

static void vcpu_again(const struct kvm_vcpu_state *s, u32 khz)
{
	struct kvm_vcpu_state t;
	struct state_writer w;
	struct state_reader r;
	u32 n = s->msrs->nmsrs, khz2 = 0;
	u8 *buf;

	state_writer_init(&w);
	vcpu_state_save(&w, 0, s, khz);
	buf = reread(&w, &r);
	if (vcpu_state_load(&r, 0, &t, &khz2) || khz2 != khz ||
	    memcmp(s, &t, offsetof(struct kvm_vcpu_state, msrs)) ||
	    t.msrs->nmsrs != n ||
	    memcmp(s->msrs->entries, t.msrs->entries, n * sizeof(t.msrs->entries[0])))
		abort();
	kvm_vcpu_state_free(&t);
	free(buf);
}

static void vm_again(const struct kvm_irqchip_state *c,
		     const struct kvm_clock_data *k)
{
	struct kvm_irqchip_state c2;
	struct kvm_clock_data k2;
	struct state_writer w;
	struct state_reader r;
	u8 *buf;

	state_writer_init(&w);
	vm_state_save(&w, c, k);
	buf = reread(&w, &r);
	if (vm_state_load(&r, &c2, &k2) || memcmp(c, &c2, sizeof(c2)) ||
	    memcmp(k, &k2, sizeof(k2)))
		abort();
	free(buf);
}

int fuzz_vcpu_state_one(const u8 *data, size_t size)
{
	struct kvm_irqchip_state chip;
	struct kvm_clock_data clock;
	struct kvm_vcpu_state s;
	struct state_reader r;
	int taken = 1;
	u32 khz;

	if (state_reader_init(&r, data, size))
		return 1;
	if (!vcpu_state_load(&r, 0, &s, &khz)) {
		if (!s.msrs)
			abort();
		vcpu_again(&s, khz);
		kvm_vcpu_state_free(&s);
		taken = 0;
	} else if (s.msrs || !r.why[0]) {
		abort();	/* a refusal frees and says why */
	}
	memset(&chip, 0, sizeof(chip));
	if (!vm_state_load(&r, &chip, &clock)) {
		vm_again(&chip, &clock);
		taken = 0;
	}
	return taken;
}
