// SPDX-License-Identifier: GPL-2.0
/*
 * A vCPU's and the VM's KVM state as data (smp/vcpu_save.c), without KVM:
 * a patterned state saves and reads back the same, the stream is the
 * documented one field by field, and every stream a restore must not
 * take is refused with a reason naming the problem. The round trip
 * through a real KVM is test_kvm's test_live_snapshot_state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smp/vcpu_save.h"

#define NR_MSRS		5
#define TSC_KHZ		2400000u

static const u32 msr_index[NR_MSRS] = { 0x10, 0x1b, 0xc0000080, 0xc0000100,
					0x174 };

/* The fixed-size parts, in the order the section holds them. */
#define PART(f) { #f, offsetof(struct kvm_vcpu_state, f), \
		  sizeof(((struct kvm_vcpu_state *)0)->f) }
static const struct {
	const char *name;
	size_t off, size;
} parts[] = {
	PART(regs), PART(sregs), PART(xsave), PART(xcrs), PART(lapic),
	PART(mp), PART(events), PART(debugregs),
};

/* Big enough for any part and for more MSRs than a load takes. */
static u8 junk[(VCPU_STATE_MAX_MSRS + 1) * sizeof(struct kvm_msr_entry)];

/* Every byte patterned, then the members a load checks made valid. */
static void fill(struct kvm_vcpu_state *s)
{
	unsigned i, k;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < ARRAY_SIZE(parts); i++)
		for (k = 0; k < parts[i].size; k++)
			((u8 *)s)[parts[i].off + k] = (u8)(k * 13 + i * 31 + 1);
	s->mp.mp_state = KVM_MP_STATE_HALTED;
	memset(&s->xcrs, 0, sizeof(s->xcrs));
	s->xcrs.nr_xcrs = 1;
	s->xcrs.xcrs[0].value = 7;
	s->events.flags = KVM_VCPUEVENT_VALID_NMI_PENDING |
			  KVM_VCPUEVENT_VALID_SHADOW;
	s->events.nmi.pad = 0;
	memset(s->events.reserved, 0, sizeof(s->events.reserved));
	s->debugregs.flags = 0;
	memset(s->debugregs.reserved, 0, sizeof(s->debugregs.reserved));
	s->msrs = calloc(1, sizeof(*s->msrs) +
			 NR_MSRS * sizeof(struct kvm_msr_entry));
	assert_non_null(s->msrs);
	s->msrs->nmsrs = NR_MSRS;
	for (i = 0; i < NR_MSRS; i++) {
		s->msrs->entries[i].index = msr_index[i];
		s->msrs->entries[i].data = 0x1111111111111111ULL * (i + 1);
	}
}

static u8 *save(const struct kvm_vcpu_state *s, u32 khz, size_t *len)
{
	struct state_writer w;
	u8 *buf;

	state_writer_init(&w);
	vcpu_state_save(&w, 0, s, khz);
	buf = state_writer_take(&w, len);
	assert_non_null(buf);
	return buf;
}

/*
 * Section "vcpu.0" written field by field as the header comment of
 * vcpu_save.c documents it, except that field odd (if any) holds
 * odd_size bytes of zeros.
 */
static u8 *by_hand(const struct kvm_vcpu_state *s, u32 version,
		   const char *odd, u32 odd_size, size_t *len)
{
	struct state_writer w;
	unsigned i;
	u8 *buf;

	state_writer_init(&w);
	state_section(&w, "vcpu.0", version);
	for (i = 0; i < ARRAY_SIZE(parts); i++)
		if (odd && !strcmp(odd, parts[i].name))
			state_put(&w, odd, junk, odd_size);
		else
			state_put(&w, parts[i].name, (const u8 *)s + parts[i].off,
				  (u32)parts[i].size);
	if (odd && !strcmp(odd, "msrs"))
		state_put(&w, "msrs", junk, odd_size);
	else
		state_put(&w, "msrs", s->msrs->entries,
			  s->msrs->nmsrs * (u32)sizeof(struct kvm_msr_entry));
	state_put_u32(&w, "tsc_khz", TSC_KHZ);
	buf = state_writer_take(&w, len);
	assert_non_null(buf);
	return buf;
}

/* Load vcpu.index from buf: the result, r->why kept in why. */
static int load(const u8 *buf, size_t len, unsigned index,
		struct kvm_vcpu_state *t, u32 *khz, char *why)
{
	struct state_reader r;
	int e;

	assert_int_equal(state_reader_init(&r, buf, len), 0);
	e = vcpu_state_load(&r, index, t, khz);
	strcpy(why, r.why);
	return e;
}

static void test_round_trip(void **st)
{
	struct kvm_vcpu_state s, t;
	char why[sizeof(((struct state_reader *)0)->why)];
	size_t len, hlen;
	u8 *buf, *hand;
	u32 khz = 0;
	unsigned i;

	fill(&s);
	buf = save(&s, TSC_KHZ, &len);
	assert_int_equal(load(buf, len, 0, &t, &khz, why), 0);
	assert_int_equal(khz, TSC_KHZ);
	for (i = 0; i < ARRAY_SIZE(parts); i++)
		assert_memory_equal((u8 *)&s + parts[i].off,
				    (u8 *)&t + parts[i].off, parts[i].size);
	assert_non_null(t.msrs);
	assert_int_equal(t.msrs->nmsrs, NR_MSRS);
	assert_memory_equal(s.msrs->entries, t.msrs->entries,
			    NR_MSRS * sizeof(struct kvm_msr_entry));
	kvm_vcpu_state_free(&t);
	/* The stream is the documented one, byte for byte. */
	hand = by_hand(&s, 1, NULL, 0, &hlen);
	assert_int_equal(len, hlen);
	assert_memory_equal(buf, hand, len);
	free(hand);
	free(buf);

	/* No MSRs at all is a state too. */
	s.msrs->nmsrs = 0;
	buf = save(&s, TSC_KHZ, &len);
	assert_int_equal(load(buf, len, 0, &t, &khz, why), 0);
	assert_int_equal(t.msrs->nmsrs, 0);
	kvm_vcpu_state_free(&t);
	free(buf);
	kvm_vcpu_state_free(&s);
}

/* s saved (with khz) and loaded: refused with e and a reason holding want. */
static void refused(const struct kvm_vcpu_state *s, u32 khz, int e,
		    const char *want)
{
	struct kvm_vcpu_state t;
	char why[sizeof(((struct state_reader *)0)->why)];
	size_t len;
	u8 *buf = save(s, khz, &len);
	u32 got = 0;

	assert_int_equal(load(buf, len, 0, &t, &got, why), e);
	if (!strstr(why, want))
		fail_msg("reason \"%s\" does not say \"%s\"", why, want);
	assert_null(t.msrs);
	assert_int_equal(got, 0);
	free(buf);
}

/* The same for a stream written by hand. */
static void refused_hand(const struct kvm_vcpu_state *s, u32 version,
			 const char *odd, u32 odd_size, int e, const char *want)
{
	struct kvm_vcpu_state t;
	char why[sizeof(((struct state_reader *)0)->why)];
	size_t len;
	u8 *buf = by_hand(s, version, odd, odd_size, &len);
	u32 got = 0;

	assert_int_equal(load(buf, len, 0, &t, &got, why), e);
	if (!strstr(why, want))
		fail_msg("reason \"%s\" does not say \"%s\"", why, want);
	assert_null(t.msrs);
	free(buf);
}

static void test_vcpu_refusals(void **st)
{
	struct kvm_vcpu_state s, t;
	char why[sizeof(((struct state_reader *)0)->why)];
	struct kvm_msr_entry *m;
	size_t len;
	u32 khz;
	u8 *buf;

	fill(&s);
	m = s.msrs->entries;
	/* A section that is not there: vCPU 1 of a one-vCPU snapshot. */
	buf = save(&s, TSC_KHZ, &len);
	assert_int_equal(load(buf, len, 1, &t, &khz, why), -ENOENT);
	assert_non_null(strstr(why, "vcpu.1"));
	assert_non_null(strstr(why, "no such section"));
	assert_null(t.msrs);
	free(buf);

	refused_hand(&s, 2, NULL, 0, -EPROTONOSUPPORT,
		     "version 2 is newer than this smpvisor's 1");
	refused_hand(&s, 1, "xsave", 100, -EMSGSIZE,
		     "field xsave is 100 bytes, this smpvisor expects 4096");
	refused_hand(&s, 1, "mp", 8, -EMSGSIZE, "field mp is 8 bytes");
	refused_hand(&s, 1, "msrs", 20, -EINVAL,
		     "field msrs is 20 bytes, not whole 16-byte entries");
	refused_hand(&s, 1, "msrs", sizeof(junk), -EINVAL,
		     "field msrs holds 1025 MSRs, at most 1024");

	m[3].index = m[1].index;
	refused(&s, TSC_KHZ, -EINVAL, "MSR 0x1b appears twice in msrs");
	m[3].index = msr_index[3];
	m[2].reserved = 1;
	refused(&s, TSC_KHZ, -EINVAL, "MSR 0xc0000080 has nonzero reserved bits");
	m[2].reserved = 0;

	s.mp.mp_state = KVM_MP_STATE_OPERATING;	/* s390's */
	refused(&s, TSC_KHZ, -EINVAL, "mp_state 7 is not an x86 MP state");
	s.mp.mp_state = KVM_MP_STATE_SUSPENDED;	/* arm64's */
	refused(&s, TSC_KHZ, -EINVAL, "mp_state 10 is not an x86 MP state");
	s.mp.mp_state = KVM_MP_STATE_RUNNABLE;

	s.xcrs.nr_xcrs = KVM_MAX_XCRS + 1;
	refused(&s, TSC_KHZ, -EINVAL, "xcrs holds 17 XCRs, at most 16");
	s.xcrs.nr_xcrs = 1;
	s.xcrs.xcrs[0].reserved = 1;
	refused(&s, TSC_KHZ, -EINVAL, "xcrs entry 0 has nonzero reserved bits");
	s.xcrs.xcrs[0].reserved = 0;
	s.xcrs.padding[15] = 1;
	refused(&s, TSC_KHZ, -EINVAL, "xcrs has nonzero flags or padding");
	s.xcrs.padding[15] = 0;

	s.events.reserved[25] = 1;
	refused(&s, TSC_KHZ, -EINVAL, "events has nonzero reserved bytes");
	s.events.reserved[25] = 0;
	s.events.flags = 0x80000001;
	refused(&s, TSC_KHZ, -EINVAL,
		"events flags 0x80000001 has bits KVM does not define");
	s.events.flags = 0;
	s.debugregs.reserved[0] = 1;
	refused(&s, TSC_KHZ, -EINVAL, "debugregs has nonzero flags or reserved");
	s.debugregs.reserved[0] = 0;

	refused(&s, 0, -EINVAL, "tsc_khz 0 is not between 1 and 19999999");
	refused(&s, VCPU_STATE_MAX_TSC_KHZ, -EINVAL,
		"tsc_khz 20000000 is not between");

	/* All put back: taken again. */
	buf = save(&s, VCPU_STATE_MAX_TSC_KHZ - 1, &len);
	assert_int_equal(load(buf, len, 0, &t, &khz, why), 0);
	assert_int_equal(khz, VCPU_STATE_MAX_TSC_KHZ - 1);
	kvm_vcpu_state_free(&t);
	free(buf);
	kvm_vcpu_state_free(&s);
}

/* More MSRs than a load takes fail the save itself. */
static void test_save_too_many_msrs(void **st)
{
	struct kvm_vcpu_state s;
	struct state_writer w;
	size_t len;

	fill(&s);
	free(s.msrs);
	s.msrs = calloc(1, sizeof(*s.msrs) + sizeof(junk));
	assert_non_null(s.msrs);
	s.msrs->nmsrs = VCPU_STATE_MAX_MSRS + 1;
	state_writer_init(&w);
	vcpu_state_save(&w, 0, &s, TSC_KHZ);
	assert_int_equal(w.err, -E2BIG);
	assert_null(state_writer_take(&w, &len));
	kvm_vcpu_state_free(&s);
}

static void fill_vm(struct kvm_irqchip_state *c, struct kvm_clock_data *k)
{
	unsigned i, j;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < 3; i++) {
		c->chip[i].chip_id = i;
		for (j = 0; j < sizeof(c->chip[i].chip.dummy); j++)
			c->chip[i].chip.dummy[j] = (char)(i * 7 + j);
	}
	for (i = 0; i < 3; i++)
		c->pit.channels[i].count = 0x1000 + i;
	c->pit.flags = KVM_PIT_FLAGS_HPET_LEGACY;
	memset(k, 0, sizeof(*k));
	k->clock = 123456789;
	k->flags = KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME;
	k->realtime = 1796656663000000000ULL;
	k->host_tsc = 0x123456789aULL;
}

static int vm_round(const struct kvm_irqchip_state *c,
		    const struct kvm_clock_data *k,
		    struct kvm_irqchip_state *c2, struct kvm_clock_data *k2,
		    char *why)
{
	struct state_writer w;
	struct state_reader r;
	size_t len;
	u8 *buf;
	int e;

	state_writer_init(&w);
	vm_state_save(&w, c, k);
	buf = state_writer_take(&w, &len);
	assert_non_null(buf);
	assert_int_equal(state_reader_init(&r, buf, len), 0);
	e = vm_state_load(&r, c2, k2);
	strcpy(why, r.why);
	free(buf);
	return e;
}

static void test_vm(void **st)
{
	struct kvm_irqchip_state c, c2;
	struct kvm_clock_data k, k2;
	char why[sizeof(((struct state_reader *)0)->why)];
	struct state_reader r;
	static const u8 empty[] = "SMPVSTAT\x01\0\0\0\0\0\0\0E";

	fill_vm(&c, &k);
	c.chip[0].pad = 5;	/* the caller's bytes: saved as zero */
	assert_int_equal(vm_round(&c, &k, &c2, &k2, why), 0);
	c.chip[0].pad = 0;
	assert_memory_equal(&c, &c2, sizeof(c));
	assert_memory_equal(&k, &k2, sizeof(k));

	/* A refused load leaves the caller's state alone. */
	memset(&c2, 0xee, sizeof(c2));
	c.chip[1].chip_id = KVM_IRQCHIP_IOAPIC;
	assert_int_equal(vm_round(&c, &k, &c2, &k2, why), -EINVAL);
	assert_string_equal(why, "state of vm: pic_slave has chip_id 2, not 1");
	assert_int_equal(c2.chip[0].chip_id, 0xeeeeeeee);
	c.chip[1].chip_id = KVM_IRQCHIP_PIC_SLAVE;

	k.flags |= 1;
	assert_int_equal(vm_round(&c, &k, &c2, &k2, why), -EINVAL);
	assert_string_equal(why, "state of vm: clock flags 0x7 has bits KVM does not define");
	k.flags &= ~1u;
	k.pad[3] = 1;
	assert_int_equal(vm_round(&c, &k, &c2, &k2, why), -EINVAL);
	assert_string_equal(why, "state of vm: clock has nonzero padding");
	k.pad[3] = 0;
	c.pit.reserved[8] = 1;
	assert_int_equal(vm_round(&c, &k, &c2, &k2, why), -EINVAL);
	assert_string_equal(why, "state of vm: pit has nonzero reserved words");
	c.pit.reserved[8] = 0;
	c.pit.flags = 4;
	assert_int_equal(vm_round(&c, &k, &c2, &k2, why), -EINVAL);
	assert_string_equal(why, "state of vm: pit flags 0x4 has bits KVM does not define");

	/* No "vm" section at all. */
	assert_int_equal(state_reader_init(&r, empty, sizeof(empty) - 1), 0);
	assert_int_equal(vm_state_load(&r, &c2, &k2), -ENOENT);
	assert_string_equal(r.why, "state of vm: no such section in the stream");
}

/*
 * A snapshot's KVM state as a restore reads it, "vm" then "vcpu.0"; with
 * SMPV_STATE_SEEDS=DIR it is also written to DIR/vcpu_vm.stream, from
 * which tests/fuzz/mkcorpus_state_vcpu.py makes the fuzz seeds.
 */
static void test_seed_stream(void **st)
{
	const char *dir = getenv("SMPV_STATE_SEEDS");
	struct kvm_irqchip_state c, c2;
	struct kvm_clock_data k, k2;
	struct kvm_vcpu_state s, t;
	struct state_writer w;
	struct state_reader r;
	char path[512];
	size_t len;
	u32 khz;
	u8 *buf;
	FILE *f;

	fill(&s);
	fill_vm(&c, &k);
	state_writer_init(&w);
	vm_state_save(&w, &c, &k);
	vcpu_state_save(&w, 0, &s, TSC_KHZ);
	buf = state_writer_take(&w, &len);
	assert_non_null(buf);
	assert_int_equal(state_reader_init(&r, buf, len), 0);
	assert_int_equal(vcpu_state_load(&r, 0, &t, &khz), 0);
	assert_int_equal(vm_state_load(&r, &c2, &k2), 0);
	kvm_vcpu_state_free(&t);
	kvm_vcpu_state_free(&s);
	if (dir) {
		snprintf(path, sizeof(path), "%s/vcpu_vm.stream", dir);
		f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(buf, 1, len, f), len);
		fclose(f);
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_vcpu_refusals),
		cmocka_unit_test(test_save_too_many_msrs),
		cmocka_unit_test(test_vm),
		cmocka_unit_test(test_seed_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
