// SPDX-License-Identifier: GPL-2.0
/* Unit tests for vmm/parse.c: sizes, bounded integers, CPU lists. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/parse.h"

static void test_size_good(void **state)
{
	static const struct {
		const char *s;
		u64 want;
	} cases[] = {
		{ "0", 0 },
		{ "65536", 65536 },
		{ "007", 7 },
		{ "512B", 512 },
		{ "512b", 512 },
		{ "64K", 64 * KiB },
		{ "64KB", 64 * KiB },
		{ "64kib", 64 * KiB },
		{ "512M", 512 * MiB },
		{ "512MiB", 512 * MiB },
		{ "4G", 4 * GiB },
		{ "4g", 4 * GiB },
		{ "4GB", 4 * GiB },
		{ "4GiB", 4 * GiB },
		{ "4gIb", 4 * GiB },
		{ "1T", 1024 * GiB },
		{ "1.5G", 3 * GiB / 2 },
		{ "1.5K", 1536 },
		{ "0.5K", 512 },
		{ "2.0", 2 },
		{ "2.25M", 9 * MiB / 4 },
		{ "1.50000000000000000000000G", 3 * GiB / 2 },
		{ "18446744073709551615", UINT64_MAX },
		{ "16777215T", 16777215ULL << 40 },
		{ "16777215.5T", (16777215ULL << 40) + (1ULL << 39) },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		u64 v = 12345;
		int ret = parse_size(cases[i].s, &v);

		if (ret || v != cases[i].want)
			fail_msg("size \"%s\": ret %d, %llu bytes", cases[i].s,
				 ret, (unsigned long long)v);
	}
}

static void test_size_bad(void **state)
{
	static const struct {
		const char *s;
		int err;
	} cases[] = {
		{ "", -EINVAL },
		{ "-1", -EINVAL },
		{ "+1", -EINVAL },
		{ " 1", -EINVAL },
		{ "1 ", -EINVAL },
		{ "G", -EINVAL },
		{ "4X", -EINVAL },
		{ "4Gi", -EINVAL },	/* iB needs its B */
		{ "4GBB", -EINVAL },
		{ "4iB", -EINVAL },	/* iB needs a prefix */
		{ "4bi", -EINVAL },
		{ "4GG", -EINVAL },
		{ "4K4", -EINVAL },
		{ "0x10", -EINVAL },
		{ "1e3", -EINVAL },
		{ "1,5G", -EINVAL },
		{ ".5G", -EINVAL },
		{ "1.G", -EINVAL },
		{ "1..5G", -EINVAL },
		{ "0.5", -EINVAL },	/* half a byte */
		{ "1.3K", -EINVAL },	/* 1331.2 bytes */
		{ "1.0000000000000000001T", -EINVAL },
		{ "99999999999999999999X", -EINVAL },	/* junk beats range */
		{ "18446744073709551616", -ERANGE },
		{ "99999999999999999999999", -ERANGE },
		{ "16777216T", -ERANGE },
		{ "17179869184G", -ERANGE },
		{ "18014398509481984K", -ERANGE },
	};
	u64 v = 12345;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int ret = parse_size(cases[i].s, &v);

		if (ret != cases[i].err || v != 12345)	/* untouched on error */
			fail_msg("size \"%s\": ret %d, want %d", cases[i].s, ret,
				 cases[i].err);
	}
	assert_int_equal(parse_size(NULL, &v), -EINVAL);
}

static void test_u32(void **state)
{
	u32 v = 7;

	assert_int_equal(parse_u32("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_u32("10", 0, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(parse_u32("4294967295", 0, UINT32_MAX, &v), 0);
	assert_true(v == UINT32_MAX);
	assert_int_equal(parse_u32("0042", 1, 100, &v), 0);
	assert_int_equal(v, 42);

	v = 7;
	assert_int_equal(parse_u32("11", 0, 10, &v), -ERANGE);
	assert_int_equal(parse_u32("5", 6, 10, &v), -ERANGE);
	assert_int_equal(parse_u32("4294967296", 0, UINT32_MAX, &v), -ERANGE);
	assert_int_equal(parse_u32("99999999999999999999999", 0, 5, &v),
			 -ERANGE);
	assert_int_equal(parse_u32("", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u32("-1", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u32("1a", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u32(" 1", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u32("1.0", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u32(NULL, 0, 10, &v), -EINVAL);
	assert_int_equal(v, 7);
}

static void test_cpulist_basic(void **state)
{
	static const int want[] = { 0, 1, 2, 3, 8, 10, 11 };
	struct cpulist cl;
	char *s;
	int cpu, n = 0;

	assert_int_equal(cpulist_init(&cl, 4096), 0);
	assert_int_equal(cpulist_count(&cl), 0);
	assert_int_equal(cpulist_next(&cl, -1), -1);

	assert_int_equal(parse_cpulist("0-3,8,10-11", &cl), 0);
	assert_int_equal(cpulist_count(&cl), 7);
	cpulist_for_each(cpu, &cl) {
		assert_true(n < (int)ARRAY_SIZE(want));
		assert_int_equal(cpu, want[n++]);
	}
	assert_int_equal(n, ARRAY_SIZE(want));
	assert_true(cpulist_test(&cl, 8));
	assert_false(cpulist_test(&cl, 9));
	assert_false(cpulist_test(&cl, 4096));
	assert_false(cpulist_test(&cl, 100000));

	s = cpulist_format(&cl);
	assert_non_null(s);
	assert_string_equal(s, "0-3,8,10-11");
	free(s);

	/* A second parse replaces, overlaps merge, order does not matter. */
	assert_int_equal(parse_cpulist("7,2-5,3-4,5,4095", &cl), 0);
	s = cpulist_format(&cl);
	assert_string_equal(s, "2-5,7,4095");
	free(s);
	assert_int_equal(cpulist_count(&cl), 6);
	cpulist_free(&cl);
	cpulist_free(&cl);	/* idempotent */
}

static void test_cpulist_bits(void **state)
{
	struct cpulist cl;
	char *s;

	assert_int_equal(cpulist_init(&cl, 0), -EINVAL);
	assert_int_equal(cpulist_init(&cl, CPULIST_MAX_CPUS + 1), -EINVAL);
	assert_int_equal(cpulist_init(&cl, 200), 0);
	assert_int_equal(cpulist_set(&cl, 200), -ERANGE);
	/* Runs across word boundaries. */
	assert_int_equal(cpulist_set(&cl, 62), 0);
	assert_int_equal(cpulist_set(&cl, 63), 0);
	assert_int_equal(cpulist_set(&cl, 64), 0);
	assert_int_equal(cpulist_set(&cl, 65), 0);
	assert_int_equal(cpulist_set(&cl, 127), 0);
	assert_int_equal(cpulist_set(&cl, 128), 0);
	assert_int_equal(cpulist_set(&cl, 199), 0);
	s = cpulist_format(&cl);
	assert_string_equal(s, "62-65,127-128,199");
	free(s);
	assert_int_equal(cpulist_next(&cl, 65), 127);
	assert_int_equal(cpulist_next(&cl, 199), -1);
	cpulist_clear(&cl, 64);
	cpulist_clear(&cl, 5000);	/* ignored */
	assert_false(cpulist_test(&cl, 64));
	s = cpulist_format(&cl);
	assert_string_equal(s, "62-63,65,127-128,199");
	free(s);
	cpulist_zero(&cl);
	s = cpulist_format(&cl);
	assert_string_equal(s, "");
	free(s);
	cpulist_free(&cl);
}

/* Format and parse are inverses on dense and sparse large sets. */
static void test_cpulist_roundtrip(void **state)
{
	struct cpulist a, b;
	unsigned int i, cpu;
	char *s;

	assert_int_equal(cpulist_init(&a, 4096), 0);
	assert_int_equal(cpulist_init(&b, 4096), 0);
	for (i = 0; i < 4096; i += 2)
		cpulist_set(&a, i);
	s = cpulist_format(&a);
	assert_int_equal(parse_cpulist(s, &b), 0);
	free(s);
	assert_int_equal(cpulist_count(&b), 2048);
	for (cpu = 0; cpu < 4096; cpu++)
		assert_int_equal(cpulist_test(&a, cpu), cpulist_test(&b, cpu));

	assert_int_equal(parse_cpulist("0-4095", &a), 0);
	assert_int_equal(cpulist_count(&a), 4096);
	s = cpulist_format(&a);
	assert_string_equal(s, "0-4095");
	free(s);
	cpulist_free(&a);
	cpulist_free(&b);
}

static void test_cpulist_bad(void **state)
{
	static const struct {
		const char *s;
		int err;
	} cases[] = {
		{ "", -EINVAL },
		{ ",", -EINVAL },
		{ "1,", -EINVAL },
		{ ",1", -EINVAL },
		{ "1,,2", -EINVAL },
		{ "1-", -EINVAL },
		{ "-1", -EINVAL },
		{ "1-2-3", -EINVAL },
		{ "3-1", -EINVAL },
		{ "a", -EINVAL },
		{ "1 ,2", -EINVAL },
		{ " 1", -EINVAL },
		{ "1;2", -EINVAL },
		{ "0x3", -EINVAL },
		{ "64,x", -EINVAL },	/* junk after an out-of-range CPU */
		{ "64", -ERANGE },
		{ "0-64", -ERANGE },
		{ "1,70-80", -ERANGE },
		{ "99999999999", -ERANGE },
		{ "0-99999999999", -ERANGE },
	};
	struct cpulist cl, none = { NULL, 0 };
	size_t i;

	assert_int_equal(cpulist_init(&cl, 64), 0);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int ret;

		cpulist_set(&cl, 5);
		ret = parse_cpulist(cases[i].s, &cl);
		if (ret != cases[i].err || cpulist_count(&cl))	/* left empty */
			fail_msg("cpulist \"%s\": ret %d, want %d, %u CPUs set",
				 cases[i].s, ret, cases[i].err,
				 cpulist_count(&cl));
	}
	assert_int_equal(parse_cpulist(NULL, &cl), -EINVAL);
	assert_int_equal(parse_cpulist("63", &cl), 0);
	assert_int_equal(parse_cpulist("1", &none), -EINVAL);	/* no init */
	cpulist_free(&cl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_good),
		cmocka_unit_test(test_size_bad),
		cmocka_unit_test(test_u32),
		cmocka_unit_test(test_cpulist_basic),
		cmocka_unit_test(test_cpulist_bits),
		cmocka_unit_test(test_cpulist_roundtrip),
		cmocka_unit_test(test_cpulist_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
