/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small AML (ACPI Machine Language) emitter for the DSDT: a growable byte
 * buffer and helpers that append encoded terms (ACPI 6.x, chapter 20).
 *
 * Objects with a PkgLength (Scope, Device, Method, Package, Buffer) are
 * written in two steps: *_begin appends the opcode and returns a mark,
 * the caller appends the contents, and aml_end(a, mark) inserts the
 * PkgLength (1 to 4 bytes, known only once the contents are) at the mark.
 * Nesting works like brackets.
 *
 * Errors are sticky: after an allocation failure or a bad argument every
 * helper does nothing, and aml_error() reports the first error. Check it
 * once when done instead of after every call.
 */
#ifndef SMPVISOR_AML_H
#define SMPVISOR_AML_H

#include "lib/util.h"

/* Largest value a PkgLength can encode (28 bits). */
#define AML_PKGLEN_MAX		((1U << 28) - 1)

struct aml {
	u8 *buf;
	size_t len, cap;
	int err;		/* first error, 0 while all is well */
};

/* What a *_begin helper returns, for the matching aml_end. */
struct aml_mark {
	size_t pos;		/* where the PkgLength goes */
	int kind;		/* private: what to insert besides it */
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);
/* 0, or the first error: -ENOMEM, -EINVAL (bad name, EISA id, ...). */
int aml_error(const struct aml *a);

/*
 * Encode a PkgLength whose value (its own bytes included) is total into
 * out; returns the byte count (1-4), or 0 if total > AML_PKGLEN_MAX.
 */
unsigned aml_pkglen_encode(u8 out[4], u32 total);
/* Bytes a PkgLength needs in front of len bytes of contents (1-4, 0 = too big). */
unsigned aml_pkglen_size(size_t len);

/* Raw bytes, for opcodes the helpers below do not cover. */
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, u8 b);

/*
 * A NameString: "\\_SB.COM1", "^PCI0", "_S5" (segments up to 4 chars,
 * padded with '_'; upper case, digits, '_'; no leading digit).
 */
void aml_name(struct aml *a, const char *path);
/* An integer in its shortest form: ZeroOp, OneOp, Byte/Word/DWord/QWord. */
void aml_int(struct aml *a, u64 v);
/* A String ("..."); ASCII 0x01-0x7f only. */
void aml_string(struct aml *a, const char *s);
/* EISAID("PNP0501"): the compressed 32-bit id, emitted as a DWord. */
void aml_eisaid(struct aml *a, const char *id);
/* The compressed form of a 7-char EISA id; 0 or -EINVAL. */
int aml_eisaid_value(const char *id, u32 *val);

/* Name(path, ...): emit the object right after. */
void aml_name_decl(struct aml *a, const char *path);
/* Return(...): emit the operand right after. */
void aml_return(struct aml *a);

struct aml_mark aml_scope_begin(struct aml *a, const char *path);
struct aml_mark aml_device_begin(struct aml *a, const char *path);
/* Method(path, nargs, NotSerialized or Serialized); nargs 0-7. */
struct aml_mark aml_method_begin(struct aml *a, const char *path,
				 unsigned nargs, bool serialized);
/* Package(n) { ... }: emit exactly n elements before aml_end (n < 256). */
struct aml_mark aml_package_begin(struct aml *a, unsigned n);
/* Buffer() { bytes }: the size operand is added by aml_end. */
struct aml_mark aml_buffer_begin(struct aml *a);
/*
 * ResourceTemplate() { descriptors }: a Buffer whose aml_end also appends
 * the End Tag with a checksum making the template's bytes sum to zero.
 */
struct aml_mark aml_restemplate_begin(struct aml *a);
void aml_end(struct aml *a, struct aml_mark m);

/* Resource descriptors, inside a ResourceTemplate. */
/* IO(Decode16 or Decode10, min, max, align, len). */
void aml_res_io(struct aml *a, bool decode16, u16 min, u16 max, u8 align,
		u8 len);
/* IRQNoFlags() { irq }: edge, active high, exclusive. irq 0-15. */
void aml_res_irq_noflags(struct aml *a, unsigned irq);

/* Address space descriptors, for a PCI root's _CRS (min/max fixed, producer). */
void aml_res_word_bus(struct aml *a, u16 min, u16 max);
void aml_res_word_io(struct aml *a, u16 min, u16 max);
void aml_res_dword_mem(struct aml *a, u32 min, u32 max, bool prefetch);
void aml_res_qword_mem(struct aml *a, u64 min, u64 max, bool prefetch);
/* Memory32Fixed(ReadWrite, base, len). */
void aml_res_mem32_fixed(struct aml *a, u32 base, u32 len);

#endif
