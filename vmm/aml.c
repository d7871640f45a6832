// SPDX-License-Identifier: GPL-2.0
/*
 * AML emitter (see aml.h). Encodings follow the ACPI 6.x AML grammar:
 * PkgLength (20.2.4), NameString (20.2.2), data objects (20.2.3) and the
 * small resource descriptors (6.4.2).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/aml.h"

/* Opcodes and prefixes. */
#define AML_ZERO_OP		0x00
#define AML_ONE_OP		0x01
#define AML_NAME_OP		0x08
#define AML_BYTE_PREFIX		0x0a
#define AML_WORD_PREFIX		0x0b
#define AML_DWORD_PREFIX	0x0c
#define AML_STRING_PREFIX	0x0d
#define AML_QWORD_PREFIX	0x0e
#define AML_SCOPE_OP		0x10
#define AML_BUFFER_OP		0x11
#define AML_PACKAGE_OP		0x12
#define AML_METHOD_OP		0x14
#define AML_DUAL_NAME_PREFIX	0x2e
#define AML_MULTI_NAME_PREFIX	0x2f
#define AML_EXT_OP_PREFIX	0x5b
#define AML_DEVICE_OP		0x82	/* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR		'\\'
#define AML_PARENT_PREFIX	'^'
#define AML_RETURN_OP		0xa4

/* Small resource descriptor tags: (type << 3) | length. */
#define RES_IRQ_NOFLAGS		0x22	/* type 0x04, 2 bytes */
#define RES_IO			0x47	/* type 0x08, 7 bytes */
#define RES_END_TAG		0x79	/* type 0x0f, 1 byte */

enum { MARK_PLAIN, MARK_BUFFER, MARK_RESTEMPLATE };

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	aml_init(a);
}

int aml_error(const struct aml *a)
{
	return a->err;
}

static void aml_fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

/* Make room for n more bytes; false (error recorded) if we cannot. */
static bool aml_reserve(struct aml *a, size_t n)
{
	size_t cap;
	u8 *p;

	if (a->err)
		return false;
	if (n <= a->cap - a->len)
		return true;
	cap = a->cap ? a->cap : 256;
	while (cap - a->len < n) {
		if (cap > SIZE_MAX / 2) {
			aml_fail(a, -ENOMEM);
			return false;
		}
		cap *= 2;
	}
	p = realloc(a->buf, cap);
	if (!p) {
		aml_fail(a, -ENOMEM);
		return false;
	}
	a->buf = p;
	a->cap = cap;
	return true;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (!n || !aml_reserve(a, n))
		return;
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, u8 b)
{
	aml_bytes(a, &b, 1);
}

/* Insert n bytes at pos, moving what follows. */
static void aml_insert(struct aml *a, size_t pos, const u8 *p, size_t n)
{
	if (!n || !aml_reserve(a, n))
		return;
	memmove(a->buf + pos + n, a->buf + pos, a->len - pos);
	memcpy(a->buf + pos, p, n);
	a->len += n;
}

unsigned aml_pkglen_encode(u8 out[4], u32 total)
{
	unsigned n, i;

	if (total <= 0x3f) {
		out[0] = (u8)total;
		return 1;
	}
	if (total > AML_PKGLEN_MAX)
		return 0;
	/* Lead byte: count of following bytes in 7:6, low nibble in 3:0. */
	n = total <= 0xfff ? 2 : total <= 0xfffff ? 3 : 4;
	out[0] = (u8)(((n - 1) << 6) | (total & 0xf));
	for (i = 1; i < n; i++)
		out[i] = (u8)(total >> (4 + 8 * (i - 1)));
	return n;
}

unsigned aml_pkglen_size(size_t len)
{
	static const u32 max[] = { 0x3f, 0xfff, 0xfffff, AML_PKGLEN_MAX };
	unsigned i;

	/* The PkgLength counts its own bytes, hence len + i + 1. */
	for (i = 0; i < ARRAY_SIZE(max); i++)
		if (len <= max[i] - (i + 1))
			return i + 1;
	return 0;
}

/* Encode an integer in its shortest form into out; returns the size. */
static unsigned int_encode(u8 out[9], u64 v)
{
	unsigned n, i;

	if (v <= 1) {
		out[0] = v ? AML_ONE_OP : AML_ZERO_OP;
		return 1;
	}
	if (v <= 0xff) {
		out[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (v <= 0xffff) {
		out[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (v <= 0xffffffff) {
		out[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		out[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	for (i = 0; i < n; i++)
		out[1 + i] = (u8)(v >> (8 * i));
	return n + 1;
}

void aml_int(struct aml *a, u64 v)
{
	u8 b[9];

	aml_bytes(a, b, int_encode(b, v));
}

void aml_string(struct aml *a, const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		if ((u8)s[i] > 0x7f) {
			aml_fail(a, -EINVAL);
			return;
		}
	}
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, i + 1);
}

static bool name_char(char c, bool lead)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (!lead && c >= '0' && c <= '9');
}

/* Parse one segment at *p (ending at '.' or NUL) into seg[4]. */
static bool parse_seg(const char **p, u8 seg[4])
{
	const char *s = *p;
	unsigned n = 0;

	while (s[n] && s[n] != '.') {
		if (n == 4 || !name_char(s[n], n == 0))
			return false;
		seg[n] = (u8)s[n];
		n++;
	}
	if (!n)
		return false;
	memset(seg + n, '_', 4 - n);
	*p = s + n;
	return true;
}

void aml_name(struct aml *a, const char *path)
{
	u8 segs[255][4], hdr[3];
	unsigned nseg = 0, nhdr = 0;
	const char *p = path;

	if (a->err)
		return;
	if (*p == AML_ROOT_CHAR)
		aml_byte(a, *p++);
	else
		while (*p == AML_PARENT_PREFIX)
			aml_byte(a, *p++);
	while (*p) {
		if (nseg == ARRAY_SIZE(segs) || !parse_seg(&p, segs[nseg]))
			goto bad;
		nseg++;
		if (*p == '.' && !*++p)
			goto bad;
	}
	if (nseg == 0)
		hdr[nhdr++] = 0;		/* NullName: "\" alone */
	else if (nseg == 2)
		hdr[nhdr++] = AML_DUAL_NAME_PREFIX;
	else if (nseg > 2) {
		hdr[nhdr++] = AML_MULTI_NAME_PREFIX;
		hdr[nhdr++] = (u8)nseg;
	}
	aml_bytes(a, hdr, nhdr);
	aml_bytes(a, segs, 4 * (size_t)nseg);
	return;
bad:
	aml_fail(a, -EINVAL);
}

int aml_eisaid_value(const char *id, u32 *val)
{
	u32 v = 0;
	unsigned i;

	if (strlen(id) != 7)
		return -EINVAL;
	/* Three letters, 5 bits each ('A' = 1), then four hex digits. */
	for (i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return -EINVAL;
		v = (v << 5) | (u32)(id[i] - 'A' + 1);
	}
	for (i = 3; i < 7; i++) {
		char c = id[i];
		u32 d;

		if (c >= '0' && c <= '9')
			d = (u32)(c - '0');
		else if (c >= 'A' && c <= 'F')
			d = (u32)(c - 'A' + 10);
		else
			return -EINVAL;
		v = (v << 4) | d;
	}
	/* v is 31 bits big-endian: the id is stored as those 4 bytes in order. */
	*val = __builtin_bswap32(v);
	return 0;
}

void aml_eisaid(struct aml *a, const char *id)
{
	u8 b[5] = { AML_DWORD_PREFIX };
	unsigned i;
	u32 v;

	if (aml_eisaid_value(id, &v)) {
		aml_fail(a, -EINVAL);
		return;
	}
	for (i = 0; i < 4; i++)
		b[1 + i] = (u8)(v >> (8 * i));
	aml_bytes(a, b, sizeof(b));
}

void aml_name_decl(struct aml *a, const char *path)
{
	aml_byte(a, AML_NAME_OP);
	aml_name(a, path);
}

void aml_return(struct aml *a)
{
	aml_byte(a, AML_RETURN_OP);
}

static struct aml_mark mark(const struct aml *a, int kind)
{
	return (struct aml_mark){ .pos = a->len, .kind = kind };
}

struct aml_mark aml_scope_begin(struct aml *a, const char *path)
{
	struct aml_mark m;

	aml_byte(a, AML_SCOPE_OP);
	m = mark(a, MARK_PLAIN);
	aml_name(a, path);
	return m;
}

struct aml_mark aml_device_begin(struct aml *a, const char *path)
{
	static const u8 op[] = { AML_EXT_OP_PREFIX, AML_DEVICE_OP };
	struct aml_mark m;

	aml_bytes(a, op, sizeof(op));
	m = mark(a, MARK_PLAIN);
	aml_name(a, path);
	return m;
}

struct aml_mark aml_method_begin(struct aml *a, const char *path,
				 unsigned nargs, bool serialized)
{
	struct aml_mark m;

	aml_byte(a, AML_METHOD_OP);
	m = mark(a, MARK_PLAIN);
	aml_name(a, path);
	if (nargs > 7)
		aml_fail(a, -EINVAL);
	/* MethodFlags: ArgCount 2:0, SerializeFlag 3, SyncLevel 7:4 = 0. */
	aml_byte(a, (u8)((nargs & 7) | (serialized ? 1 << 3 : 0)));
	return m;
}

struct aml_mark aml_package_begin(struct aml *a, unsigned n)
{
	struct aml_mark m;

	aml_byte(a, AML_PACKAGE_OP);
	m = mark(a, MARK_PLAIN);
	if (n > 255)
		aml_fail(a, -EINVAL);
	aml_byte(a, (u8)n);		/* NumElements */
	return m;
}

struct aml_mark aml_buffer_begin(struct aml *a)
{
	aml_byte(a, AML_BUFFER_OP);
	return mark(a, MARK_BUFFER);
}

struct aml_mark aml_restemplate_begin(struct aml *a)
{
	aml_byte(a, AML_BUFFER_OP);
	return mark(a, MARK_RESTEMPLATE);
}

/* Append the End Tag so that the bytes from pos to it sum to zero. */
static void end_tag(struct aml *a, size_t pos)
{
	u8 sum = RES_END_TAG;
	size_t i;

	for (i = pos; i < a->len; i++)
		sum += a->buf[i];
	aml_byte(a, RES_END_TAG);
	aml_byte(a, (u8)-sum);
}

void aml_end(struct aml *a, struct aml_mark m)
{
	u8 hdr[4 + 9];
	unsigned npl, nint = 0;
	size_t len;

	if (a->err)
		return;
	if (m.pos > a->len) {
		aml_fail(a, -EINVAL);
		return;
	}
	if (m.kind == MARK_RESTEMPLATE)
		end_tag(a, m.pos);
	if (a->err)
		return;
	len = a->len - m.pos;
	/* A Buffer starts with its size, an integer before the bytes. */
	if (m.kind != MARK_PLAIN)
		nint = int_encode(hdr + 4, len);
	npl = aml_pkglen_size(len + nint);
	if (!npl) {
		aml_fail(a, -E2BIG);
		return;
	}
	aml_pkglen_encode(hdr + 4 - npl, (u32)(len + nint + npl));
	aml_insert(a, m.pos, hdr + 4 - npl, npl + nint);
}

void aml_res_io(struct aml *a, bool decode16, u16 min, u16 max, u8 align,
		u8 len)
{
	u8 d[8] = {
		RES_IO, decode16 ? 1 : 0,
		(u8)min, (u8)(min >> 8), (u8)max, (u8)(max >> 8),
		align, len,
	};

	aml_bytes(a, d, sizeof(d));
}

void aml_res_irq_noflags(struct aml *a, unsigned irq)
{
	u16 mask = (u16)(1U << (irq & 15));
	u8 d[3] = { RES_IRQ_NOFLAGS, (u8)mask, (u8)(mask >> 8) };

	if (irq > 15) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_bytes(a, d, sizeof(d));
}

/*
 * Large resource descriptors (ACPI 6.x, 6.4.3): Memory32Fixed and the
 * Word/DWord/QWord address space descriptors a PCI root's _CRS needs.
 * Fields are little endian; flags as in 6.4.3.5: general flags bit 3
 * _MAF, bit 2 _MIF (both fixed here), bit 0 clear = resource producer.
 */
#define RES_MEM32_FIXED		0x86
#define RES_DWORD_ADDR		0x87
#define RES_WORD_ADDR		0x88
#define RES_QWORD_ADDR		0x8a
#define RES_GFLAGS_FIXED	0x0c	/* MinFixed, MaxFixed, producer */

static void put_le(u8 *p, u64 v, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		p[i] = (u8)(v >> (8 * i));
}

/* One address space descriptor of w-byte fields (2, 4 or 8). */
static void res_addr(struct aml *a, u8 tag, unsigned w, u8 type, u8 tflags,
		     u64 min, u64 max)
{
	u8 b[3 + 3 + 5 * 8];
	unsigned n = 3 + 5 * w;

	b[0] = tag;
	put_le(b + 1, n, 2);
	b[3] = type;
	b[4] = RES_GFLAGS_FIXED;
	b[5] = tflags;
	put_le(b + 6, 0, w);			/* granularity */
	put_le(b + 6 + w, min, w);
	put_le(b + 6 + 2 * w, max, w);
	put_le(b + 6 + 3 * w, 0, w);		/* translation */
	put_le(b + 6 + 4 * w, max - min + 1, w);	/* length */
	aml_bytes(a, b, 3 + n);
}

void aml_res_word_bus(struct aml *a, u16 min, u16 max)
{
	res_addr(a, RES_WORD_ADDR, 2, 2, 0, min, max);
}

void aml_res_word_io(struct aml *a, u16 min, u16 max)
{
	/* Type-specific: _RNG = 3, ISA and non-ISA ranges. */
	res_addr(a, RES_WORD_ADDR, 2, 1, 3, min, max);
}

void aml_res_dword_mem(struct aml *a, u32 min, u32 max, bool prefetch)
{
	/* Type-specific: bit 0 read-write, bits 2:1 _MEM (3 prefetchable). */
	res_addr(a, RES_DWORD_ADDR, 4, 0, prefetch ? 0x07 : 0x01, min, max);
}

void aml_res_qword_mem(struct aml *a, u64 min, u64 max, bool prefetch)
{
	res_addr(a, RES_QWORD_ADDR, 8, 0, prefetch ? 0x07 : 0x01, min, max);
}

void aml_res_mem32_fixed(struct aml *a, u32 base, u32 len)
{
	u8 b[12] = { RES_MEM32_FIXED, 9, 0, 1 };	/* read-write */

	put_le(b + 4, base, 4);
	put_le(b + 8, len, 4);
	aml_bytes(a, b, sizeof(b));
}
