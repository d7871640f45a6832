// SPDX-License-Identifier: GPL-2.0
/* Unit tests for smp/topology.c: APIC ID packing and its inverse. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "smp/topology.h"

static void test_init_errors(void **state)
{
	struct smp_topo t;

	assert_int_equal(smp_topo_init(&t, 0, 1, 1, 1), -EINVAL);
	assert_int_equal(smp_topo_init(&t, 4, 0, 4, 1), -EINVAL);
	assert_int_equal(smp_topo_init(&t, 4, 1, 0, 1), -EINVAL);
	assert_int_equal(smp_topo_init(&t, 4, 1, 4, 0), -EINVAL);
	assert_int_equal(smp_topo_init(&t, 8, 2, 2, 1), -EINVAL);
	assert_int_equal(smp_topo_init(&t, 4, 2, 2, 2), -EINVAL);
	/* 968973220 x 49477 x 384773 = 2^64 + 4: must not pass as 4 vCPUs. */
	assert_int_equal(smp_topo_init(&t, 4, 968973220, 49477, 384773),
			 -EINVAL);
	assert_int_equal(smp_topo_init(&t, 1, 65536, 65536, 65536), -EINVAL);
	/* 3 * (2^30 + 1) vCPUs fit in 32 bits, but need 2 + 31 ID bits. */
	assert_int_equal(smp_topo_init(&t, 3 * ((1U << 30) + 1), 3,
				       (1U << 30) + 1, 1), -EINVAL);
}

static void test_field_widths(void **state)
{
	static const unsigned int bits[] = { 0, 0, 1, 2, 2, 3, 3, 3, 3, 4 };
	struct smp_topo t;
	unsigned int n;

	for (n = 1; n < ARRAY_SIZE(bits); n++) {
		assert_int_equal(smp_topo_init(&t, n, 1, n, 1), 0);
		assert_int_equal(t.core_bits, bits[n]);
		assert_int_equal(t.smt_bits, 0);
		assert_int_equal(smp_topo_init(&t, n, 1, 1, n), 0);
		assert_int_equal(t.smt_bits, bits[n]);
		assert_int_equal(t.core_bits, 0);
	}
	assert_int_equal(smp_topo_init(&t, 1U << 20, 1, 1U << 20, 1), 0);
	assert_int_equal(t.core_bits, 20);
}

/* The APIC IDs of a few topologies, written out by hand. */
static void test_known_ids(void **state)
{
	static const struct {
		unsigned int s, c, t;
		u32 ids[12];
	} cases[] = {
		{ 1, 1, 1, { 0 } },
		{ 1, 4, 1, { 0, 1, 2, 3 } },
		{ 2, 2, 2, { 0, 1, 2, 3, 4, 5, 6, 7 } },
		{ 1, 3, 2, { 0, 1, 2, 3, 4, 5 } },
		{ 2, 3, 1, { 0, 1, 2, 4, 5, 6 } },
		{ 2, 3, 2, { 0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13 } },
		{ 3, 1, 3, { 0, 1, 2, 4, 5, 6, 8, 9, 10 } },
		{ 4, 1, 1, { 0, 1, 2, 3 } },
	};
	struct smp_topo t;
	size_t i;
	unsigned int idx, n;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		n = cases[i].s * cases[i].c * cases[i].t;
		assert_int_equal(smp_topo_init(&t, n, cases[i].s, cases[i].c,
					       cases[i].t), 0);
		for (idx = 0; idx < n; idx++)
			if (smp_topo_apic_id(&t, idx) != cases[i].ids[idx])
				fail_msg("%ux%ux%u: vCPU %u has APIC ID %u, want %u",
					 cases[i].s, cases[i].c, cases[i].t, idx,
					 smp_topo_apic_id(&t, idx),
					 cases[i].ids[idx]);
	}
}

/*
 * For every small topology: positions follow the index formula, IDs grow
 * strictly (so are distinct), and decoding an ID gives the vCPU back.
 * Every ID between two used ones that decodes must be one of them.
 */
static void test_roundtrip(void **state)
{
	struct smp_topo t;
	struct smp_topo_pos p, q;
	unsigned int s, c, th, idx, n;
	u32 id, prev = 0;

	for (s = 1; s <= 5; s++)
	for (c = 1; c <= 9; c++)
	for (th = 1; th <= 4; th++) {
		n = s * c * th;
		assert_int_equal(smp_topo_init(&t, n, s, c, th), 0);
		for (idx = 0; idx < n; idx++) {
			smp_topo_pos(&t, idx, &p);
			assert_int_equal(p.idx, idx);
			assert_int_equal(p.thread, idx % th);
			assert_int_equal(p.core, idx / th % c);
			assert_int_equal(p.socket, idx / (th * c));
			id = smp_topo_apic_id(&t, idx);
			if (idx)
				assert_true(id > prev);
			assert_int_equal(smp_topo_decode(&t, id, &q), 0);
			assert_int_equal(q.idx, idx);
			assert_int_equal(q.socket, p.socket);
			assert_int_equal(q.core, p.core);
			assert_int_equal(q.thread, p.thread);
			/* IDs skipped since the previous vCPU are holes. */
			for (prev = idx ? prev + 1 : 0; prev < id; prev++)
				assert_int_equal(smp_topo_decode(&t, prev, &q),
						 -EINVAL);
			prev = id;
		}
		/* Past the last socket. */
		assert_int_equal(smp_topo_decode(&t, (u32)s <<
						 smp_topo_pkg_bits(&t), &q),
				 -EINVAL);
	}
}

static void test_holes(void **state)
{
	struct smp_topo t;
	struct smp_topo_pos p;

	/* 3 cores in a 2-bit field: core value 3 is never used. */
	assert_int_equal(smp_topo_init(&t, 6, 2, 3, 1), 0);
	assert_int_equal(smp_topo_decode(&t, 3, &p), -EINVAL);
	assert_int_equal(smp_topo_decode(&t, 7, &p), -EINVAL);
	assert_int_equal(smp_topo_decode(&t, 8, &p), -EINVAL);
	assert_int_equal(smp_topo_decode(&t, 6, &p), 0);
	assert_int_equal(p.idx, 5);
	/* 3 threads in a 2-bit field. */
	assert_int_equal(smp_topo_init(&t, 6, 1, 2, 3), 0);
	assert_int_equal(smp_topo_decode(&t, 3, &p), -EINVAL);
	assert_int_equal(smp_topo_decode(&t, 4, &p), 0);
	assert_int_equal(p.idx, 3);
	assert_int_equal(smp_topo_decode(&t, UINT32_MAX, &p), -EINVAL);
}

static void test_x2apic(void **state)
{
	struct smp_topo t;

	assert_int_equal(smp_topo_init(&t, 1, 1, 1, 1), 0);
	assert_false(smp_topo_needs_x2apic(&t, 1));
	assert_int_equal(smp_topo_init(&t, 255, 1, 255, 1), 0);
	assert_int_equal(smp_topo_apic_id(&t, 254), 254);
	assert_false(smp_topo_needs_x2apic(&t, 255));
	assert_int_equal(smp_topo_init(&t, 256, 1, 256, 1), 0);
	assert_true(smp_topo_needs_x2apic(&t, 256));
	assert_false(smp_topo_needs_x2apic(&t, 255));	/* first 255 only */
	/* 2 sockets of 63 cores x 2: socket 1 starts at 128, ends at 253. */
	assert_int_equal(smp_topo_init(&t, 252, 2, 63, 2), 0);
	assert_int_equal(smp_topo_apic_id(&t, 251), 253);
	assert_false(smp_topo_needs_x2apic(&t, 252));
	/* 2 x 64 x 2: the last ID is 255, the xAPIC broadcast. */
	assert_int_equal(smp_topo_init(&t, 256, 2, 64, 2), 0);
	assert_int_equal(smp_topo_apic_id(&t, 255), 255);
	assert_true(smp_topo_needs_x2apic(&t, 256));
	/* Few vCPUs, but holes push IDs up: 3 sockets x 65 cores. */
	assert_int_equal(smp_topo_init(&t, 195, 3, 65, 1), 0);
	assert_int_equal(smp_topo_apic_id(&t, 130), 256);
	assert_true(smp_topo_needs_x2apic(&t, 195));
	/* 300 vCPUs: 2 x 75 x 2. */
	assert_int_equal(smp_topo_init(&t, 300, 2, 75, 2), 0);
	assert_int_equal(t.smt_bits, 1);
	assert_int_equal(t.core_bits, 7);
	assert_int_equal(smp_topo_apic_id(&t, 150), 256);
	assert_int_equal(smp_topo_apic_id(&t, 299), 256 + (74 << 1) + 1);
	assert_true(smp_topo_needs_x2apic(&t, 300));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_errors),
		cmocka_unit_test(test_field_widths),
		cmocka_unit_test(test_known_ids),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_holes),
		cmocka_unit_test(test_x2apic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
