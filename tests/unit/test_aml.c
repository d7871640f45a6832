// SPDX-License-Identifier: GPL-2.0
/*
 * AML emitter: PkgLength at every size boundary (checked by an independent
 * decoder), integer forms, NameStrings, EISA ids, and byte-exact output of
 * the objects the DSDT uses, plus the sticky error handling.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "vmm/aml.h"

#define expect_bytes(a, ...) do {					\
	static const u8 want_[] = { __VA_ARGS__ };			\
	assert_int_equal(aml_error(a), 0);				\
	assert_int_equal((a)->len, sizeof(want_));			\
	assert_memory_equal((a)->buf, want_, sizeof(want_));		\
} while (0)

/* PkgLength decoder written from the grammar, independent of aml.c. */
static u32 decode_pkglen(const u8 *p, unsigned *nbytes)
{
	unsigned follow = p[0] >> 6, i;
	u32 v;

	if (!follow) {
		*nbytes = 1;
		return p[0] & 0x3f;
	}
	assert_int_equal(p[0] & 0x30, 0);	/* bits 5:4 reserved */
	v = p[0] & 0x0f;
	for (i = 0; i < follow; i++)
		v |= (u32)p[1 + i] << (4 + 8 * i);
	*nbytes = follow + 1;
	return v;
}

static void test_pkglen_encode(void **state)
{
	static const struct { u32 v; unsigned n; u8 b[4]; } cases[] = {
		{ 0, 1, { 0x00 } },
		{ 1, 1, { 0x01 } },
		{ 63, 1, { 0x3f } },
		{ 64, 2, { 0x40, 0x04 } },
		{ 65, 2, { 0x41, 0x04 } },
		{ 0x123, 2, { 0x43, 0x12 } },
		{ 4095, 2, { 0x4f, 0xff } },
		{ 4096, 3, { 0x80, 0x00, 0x01 } },
		{ 0xfffff, 3, { 0x8f, 0xff, 0xff } },
		{ 0x100000, 4, { 0xc0, 0x00, 0x00, 0x01 } },
		{ 0x0abcdef5, 4, { 0xc5, 0xef, 0xcd, 0xab } },
		{ AML_PKGLEN_MAX, 4, { 0xcf, 0xff, 0xff, 0xff } },
	};
	unsigned i, n;
	u8 out[4];

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(out, 0xee, sizeof(out));
		n = aml_pkglen_encode(out, cases[i].v);
		assert_int_equal(n, cases[i].n);
		assert_memory_equal(out, cases[i].b, n);
		assert_int_equal(decode_pkglen(out, &n), cases[i].v);
	}
	assert_int_equal(aml_pkglen_encode(out, AML_PKGLEN_MAX + 1), 0);
}

static void test_pkglen_size(void **state)
{
	/* The PkgLength counts itself: 62 + 1 fits one byte, 63 + 1 does not. */
	assert_int_equal(aml_pkglen_size(0), 1);
	assert_int_equal(aml_pkglen_size(62), 1);
	assert_int_equal(aml_pkglen_size(63), 2);
	assert_int_equal(aml_pkglen_size(4093), 2);
	assert_int_equal(aml_pkglen_size(4094), 3);
	assert_int_equal(aml_pkglen_size(0xfffff - 3), 3);
	assert_int_equal(aml_pkglen_size(0xfffff - 2), 4);
	assert_int_equal(aml_pkglen_size(AML_PKGLEN_MAX - 4), 4);
	assert_int_equal(aml_pkglen_size(AML_PKGLEN_MAX - 3), 0);
}

/*
 * Scope with n bytes of contents (its 4-byte name and n - 4 filler): the
 * PkgLength must use the fewest bytes and span exactly to the end.
 */
static void check_scope_len(size_t n)
{
	static u8 fill[0x100010];
	struct aml a;
	struct aml_mark m;
	unsigned nb;
	u32 v;

	aml_init(&a);
	m = aml_scope_begin(&a, "_SB");
	aml_bytes(&a, fill, n - 4);
	aml_end(&a, m);
	assert_int_equal(aml_error(&a), 0);
	assert_int_equal(a.buf[0], 0x10);
	v = decode_pkglen(a.buf + 1, &nb);
	/* Fewest bytes: 1 up to 62 + 1, 2 up to 4093 + 2, 3 up to 2^20 - 1. */
	assert_int_equal(nb, n <= 62 ? 1 : n <= 4093 ? 2 : n <= 0xffffc ? 3 : 4);
	assert_int_equal(v, a.len - 1);
	assert_int_equal(v, n + nb);
	assert_memory_equal(a.buf + 1 + nb, "_SB_", 4);
	aml_free(&a);
}

static void test_pkglen_boundaries(void **state)
{
	static const size_t around[] = { 7, 62, 63, 4093, 4094, 0xffffc,
					 0xffffd };
	unsigned i;
	int d;

	for (i = 0; i < ARRAY_SIZE(around); i++)
		for (d = -3; d <= 3; d++)
			check_scope_len(around[i] + (size_t)(long)d);
}

static void test_integers(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_int(&a, 0);
	aml_int(&a, 1);
	aml_int(&a, 2);
	aml_int(&a, 0xff);
	aml_int(&a, 0x100);
	aml_int(&a, 0xffff);
	aml_int(&a, 0x10000);
	aml_int(&a, 0xffffffff);
	aml_int(&a, 0x100000000ULL);
	aml_int(&a, 0x0123456789abcdefULL);
	expect_bytes(&a, 0x00, 0x01, 0x0a, 0x02, 0x0a, 0xff,
		     0x0b, 0x00, 0x01, 0x0b, 0xff, 0xff,
		     0x0c, 0x00, 0x00, 0x01, 0x00, 0x0c, 0xff, 0xff, 0xff, 0xff,
		     0x0e, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
		     0x0e, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01);
	aml_free(&a);
}

static void test_names(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_name(&a, "_S5");
	expect_bytes(&a, '_', 'S', '5', '_');
	aml_free(&a);

	aml_name(&a, "\\_SB");
	expect_bytes(&a, '\\', '_', 'S', 'B', '_');
	aml_free(&a);

	aml_name(&a, "\\_SB.COM1");
	expect_bytes(&a, '\\', 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1');
	aml_free(&a);

	aml_name(&a, "\\_SB.PCI0.ISA");
	expect_bytes(&a, '\\', 0x2f, 3, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',
		     'I', 'S', 'A', '_');
	aml_free(&a);

	aml_name(&a, "^^FOO");
	expect_bytes(&a, '^', '^', 'F', 'O', 'O', '_');
	aml_free(&a);

	aml_name(&a, "\\");
	expect_bytes(&a, '\\', 0x00);
	aml_free(&a);
}

static void test_bad_names(void **state)
{
	static const char *const bad[] = {
		"lower", "TOOLONG", "1ABC", "A..B", "A.", ".A", "\\\\A",
		"A-B", "^\\A",
	};
	struct aml a;
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		aml_init(&a);
		aml_name(&a, bad[i]);
		if (aml_error(&a) != -EINVAL)
			fail_msg("name \"%s\" accepted", bad[i]);
		aml_free(&a);
	}
}

static void test_eisaid(void **state)
{
	static const char *const bad[] = { "pnp0501", "PNP050", "PNP05011",
					   "PNP05G1", "P@P0501", "" };
	struct aml a;
	unsigned i;
	u32 v;

	assert_int_equal(aml_eisaid_value("PNP0501", &v), 0);
	assert_int_equal(v, 0x0105d041);
	assert_int_equal(aml_eisaid_value("PNP0A03", &v), 0);
	assert_int_equal(v, 0x030ad041);
	assert_int_equal(aml_eisaid_value("PNP0C0C", &v), 0);
	assert_int_equal(v, 0x0c0cd041);
	assert_int_equal(aml_eisaid_value("ZZZFFFF", &v), 0);
	assert_int_equal(v, 0xffff5a6b);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(aml_eisaid_value(bad[i], &v), -EINVAL);

	aml_init(&a);
	aml_eisaid(&a, "PNP0501");
	expect_bytes(&a, 0x0c, 0x41, 0xd0, 0x05, 0x01);
	aml_free(&a);
	aml_eisaid(&a, "PNP050");
	assert_int_equal(aml_error(&a), -EINVAL);
	aml_free(&a);
}

static void test_string(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_string(&a, "Hi");
	aml_string(&a, "");
	expect_bytes(&a, 0x0d, 'H', 'i', 0x00, 0x0d, 0x00);
	aml_free(&a);
	aml_string(&a, "\xc3\xa9");
	assert_int_equal(aml_error(&a), -EINVAL);
	aml_free(&a);
}

static void test_name_package(void **state)
{
	struct aml a;
	struct aml_mark p;

	aml_init(&a);
	aml_name_decl(&a, "\\_S5");
	p = aml_package_begin(&a, 4);
	aml_int(&a, 5);
	aml_int(&a, 5);
	aml_int(&a, 0);
	aml_int(&a, 0);
	aml_end(&a, p);
	expect_bytes(&a, 0x08, '\\', '_', 'S', '5', '_',
		     0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00);
	aml_free(&a);
}

static void test_method(void **state)
{
	struct aml a;
	struct aml_mark m;

	aml_init(&a);
	m = aml_method_begin(&a, "_STA", 0, false);
	aml_return(&a);
	aml_int(&a, 0x0f);
	aml_end(&a, m);
	expect_bytes(&a, 0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f);
	aml_free(&a);

	m = aml_method_begin(&a, "FOO", 3, true);
	aml_end(&a, m);
	expect_bytes(&a, 0x14, 0x06, 'F', 'O', 'O', '_', 0x0b);
	aml_free(&a);

	m = aml_method_begin(&a, "FOO", 8, false);
	aml_end(&a, m);
	assert_int_equal(aml_error(&a), -EINVAL);
	aml_free(&a);
}

static void test_buffer(void **state)
{
	static const u8 data[3] = { 1, 2, 3 };
	static u8 big[300];
	struct aml a;
	struct aml_mark m;

	aml_init(&a);
	m = aml_buffer_begin(&a);
	aml_bytes(&a, data, sizeof(data));
	aml_end(&a, m);
	/* BufferOp, PkgLength 6, BufferSize ByteConst 3, bytes. */
	expect_bytes(&a, 0x11, 0x06, 0x0a, 0x03, 1, 2, 3);
	aml_free(&a);

	m = aml_buffer_begin(&a);
	aml_end(&a, m);
	expect_bytes(&a, 0x11, 0x02, 0x00);
	aml_free(&a);

	/* 300 bytes: WordConst size, 2-byte PkgLength (2 + 3 + 300 = 305). */
	m = aml_buffer_begin(&a);
	aml_bytes(&a, big, sizeof(big));
	aml_end(&a, m);
	assert_int_equal(aml_error(&a), 0);
	assert_int_equal(a.len, 1 + 2 + 3 + 300);
	assert_int_equal(a.buf[1], 0x41);
	assert_int_equal(a.buf[2], 0x13);
	assert_int_equal(a.buf[3], 0x0b);
	assert_int_equal(a.buf[4], 0x2c);
	assert_int_equal(a.buf[5], 0x01);
	aml_free(&a);
}

static void test_resource_template(void **state)
{
	struct aml a;
	struct aml_mark m;
	u8 sum = 0;
	size_t i;

	aml_init(&a);
	m = aml_restemplate_begin(&a);
	aml_res_io(&a, true, 0x3f8, 0x3f8, 1, 8);
	aml_res_irq_noflags(&a, 4);
	aml_end(&a, m);
	assert_int_equal(aml_error(&a), 0);
	assert_int_equal(a.len, 17);
	assert_memory_equal(a.buf, ((const u8[]){ 0x11, 0x10, 0x0a, 0x0d,
		0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,
		0x22, 0x10, 0x00, 0x79 }), 16);
	/* The descriptors and the End Tag sum to zero. */
	for (i = 4; i < a.len; i++)
		sum += a.buf[i];
	assert_int_equal(sum, 0);
	assert_int_not_equal(a.buf[16], 0);
	aml_free(&a);

	aml_res_irq_noflags(&a, 16);
	assert_int_equal(aml_error(&a), -EINVAL);
	aml_free(&a);

	m = aml_restemplate_begin(&a);
	aml_res_io(&a, false, 0x60, 0x60, 0, 1);
	aml_end(&a, m);
	assert_int_equal(a.buf[5], 0x00);	/* Decode10 */
	aml_free(&a);
}

/* Nested objects: each PkgLength spans its own object exactly. */
static void test_nesting(void **state)
{
	static u8 fill[100];
	struct aml a;
	struct aml_mark s, d;
	unsigned nb_s, nb_d;
	u32 ls, ld;

	aml_init(&a);
	s = aml_scope_begin(&a, "\\_SB");
	d = aml_device_begin(&a, "DEV0");
	aml_bytes(&a, fill, sizeof(fill));
	aml_end(&a, d);
	aml_int(&a, 7);
	aml_end(&a, s);
	assert_int_equal(aml_error(&a), 0);
	assert_int_equal(a.buf[0], 0x10);
	ls = decode_pkglen(a.buf + 1, &nb_s);
	assert_int_equal(ls, a.len - 1);
	/* Device follows "\_SB_" inside the scope. */
	assert_int_equal(a.buf[1 + nb_s + 5], 0x5b);
	assert_int_equal(a.buf[1 + nb_s + 6], 0x82);
	ld = decode_pkglen(a.buf + 1 + nb_s + 7, &nb_d);
	assert_int_equal(ld, nb_d + 4 + sizeof(fill));
	assert_int_equal(nb_d, 2);
	assert_memory_equal(a.buf + 1 + nb_s + 7 + nb_d, "DEV0", 4);
	/* The trailing integer is the scope's last byte pair. */
	assert_int_equal(a.buf[a.len - 2], 0x0a);
	assert_int_equal(a.buf[a.len - 1], 7);
	aml_free(&a);
}

static void test_sticky_error(void **state)
{
	struct aml a;
	struct aml_mark s;

	aml_init(&a);
	s = aml_scope_begin(&a, "bad name");
	aml_int(&a, 1);
	aml_end(&a, s);
	assert_int_equal(aml_error(&a), -EINVAL);
	aml_free(&a);
	assert_int_equal(aml_error(&a), 0);
	assert_null(a.buf);
	/* A mark past the end is refused, not followed. */
	s = (struct aml_mark){ .pos = 10 };
	aml_end(&a, s);
	assert_int_equal(aml_error(&a), -EINVAL);
	aml_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkglen_encode),
		cmocka_unit_test(test_pkglen_size),
		cmocka_unit_test(test_pkglen_boundaries),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_eisaid),
		cmocka_unit_test(test_string),
		cmocka_unit_test(test_name_package),
		cmocka_unit_test(test_method),
		cmocka_unit_test(test_buffer),
		cmocka_unit_test(test_resource_template),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_sticky_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
