/* SPDX-License-Identifier: GPL-2.0 */
/*
 * State as data: the one format in which devices (and, later, vCPUs) save
 * and load their state, for pause, snapshot and migration alike.
 *
 * A stream is a header and a list of sections; a section is a list of
 * named fields. Everything is self-describing, so an smpvisor can read a
 * stream written by an older one, or refuse it with a one-line reason:
 *
 *   header   "SMPVSTAT"  u32 format (STATE_FORMAT)  u32 0
 *   section  u8 'S'  u8 n  name[n]  u32 version  u32 body_len  body
 *   field    u8 n  name[n]  u32 size  data[size]          (in a body)
 *   end      u8 'E'                       (a cut stream is refused)
 *
 * Integers are little-endian (x86 is the only host). Names are 1 to
 * STATE_NAME_MAX printable ASCII characters, unique within their list.
 *
 * A section's version is its owner's: a loader reads every version up to
 * the one it writes (fields added later are optional, with their reset
 * value as default) and refuses a newer one. A field whose size is not
 * the size the loader expects is refused, never truncated or widened.
 *
 * A stream read back is untrusted (a snapshot file, a migration socket):
 * state_reader_init checks its whole structure before anything is looked
 * up, and each loader checks the values it takes (tests/fuzz/state_*).
 */
#ifndef SMPVISOR_STATE_H
#define SMPVISOR_STATE_H

#include <stddef.h>

#include "lib/util.h"

#define STATE_MAGIC		"SMPVSTAT"
#define STATE_FORMAT		1
#define STATE_NAME_MAX		63
#define STATE_MAX_FIELD		(64u << 20)	/* bytes in one field */
#define STATE_MAX_ITEMS		4096	/* sections in a stream, fields in one */

struct state_writer {
	u8 *buf;
	size_t len, cap;
	size_t sec;		/* offset of the open section's header, or 0 */
	int err;		/* first error (-ENOMEM, -EINVAL), sticky */
	bool done;		/* the end mark is written */
};

/* Start a stream (writes the header). Check state_writer_done at the end. */
void state_writer_init(struct state_writer *w);
void state_writer_free(struct state_writer *w);
/* Close the open section (if any) and open the next one. */
void state_section(struct state_writer *w, const char *name, u32 version);
/* Append a field to the open section. */
void state_put(struct state_writer *w, const char *name, const void *p,
	       u32 size);
/* Close the open section; 0 and the stream, or the first error. */
int state_writer_done(struct state_writer *w, const u8 **buf, size_t *len);
/*
 * The same, handing the stream over (the caller frees it) and freeing
 * the writer: the stream, or NULL on the first error.
 */
u8 *state_writer_take(struct state_writer *w, size_t *len);

static inline void state_put_u8(struct state_writer *w, const char *n, u8 v)
{
	state_put(w, n, &v, sizeof(v));
}

static inline void state_put_u16(struct state_writer *w, const char *n, u16 v)
{
	state_put(w, n, &v, sizeof(v));
}

static inline void state_put_u32(struct state_writer *w, const char *n, u32 v)
{
	state_put(w, n, &v, sizeof(v));
}

static inline void state_put_u64(struct state_writer *w, const char *n, u64 v)
{
	state_put(w, n, &v, sizeof(v));
}

static inline void state_put_bool(struct state_writer *w, const char *n,
				  bool v)
{
	state_put_u8(w, n, v);
}

struct state_reader {
	const u8 *buf;
	size_t len;
	/* The open section (state_open). */
	char section[STATE_NAME_MAX + 1];
	const u8 *body;
	u32 body_len, version;
	char why[192];		/* the last refusal, one line */
};

/* Check the whole stream; 0, or -EINVAL with the reason in r->why. */
int state_reader_init(struct state_reader *r, const void *buf, size_t len);
/*
 * Open section name, refusing a version above max_version: 0, -ENOENT
 * (absent) or -EPROTONOSUPPORT (too new), the reason in r->why.
 */
int state_open(struct state_reader *r, const char *name, u32 max_version);
/* Whether the stream has section name (the open section is unchanged). */
bool state_has_section(const struct state_reader *r, const char *name);
/*
 * Copy field name of the open section into p: 0, -ENOENT (absent) or
 * -EMSGSIZE (not size bytes), the reason in r->why.
 */
int state_get(struct state_reader *r, const char *name, void *p, u32 size);
/* The same, but an absent field is not an error: p keeps its value. */
int state_get_opt(struct state_reader *r, const char *name, void *p,
		  u32 size);
/* A field of any size (*size set), or NULL with the reason in r->why. */
const void *state_get_var(struct state_reader *r, const char *name,
			  u32 *size);
/* A loader found a value it will not take: record why, return -EINVAL. */
int state_refuse(struct state_reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline int state_get_bool(struct state_reader *r, const char *n,
				 bool *v)
{
	u8 b;
	int e = state_get(r, n, &b, 1);

	if (!e && b > 1)
		return state_refuse(r, "field %s is %u, not a boolean", n, b);
	if (!e)
		*v = b;
	return e;
}

/*
 * A struct member saved and loaded under its own name: the name and the
 * size come from the declaration, so a changed type is refused on load.
 */
#define STATE_PUT(w, s, f)	state_put((w), #f, &(s)->f, sizeof((s)->f))
#define STATE_GET(r, s, f)	state_get((r), #f, &(s)->f, sizeof((s)->f))

#endif
