// SPDX-License-Identifier: GPL-2.0
/*
 * The state stream (see lib/state.h): a writer that appends to a growing
 * buffer and a reader that checks the whole stream before lookups.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/state.h"

#define HDR_LEN		16	/* magic, format, reserved */
#define SEC_MARK	'S'
#define END_MARK	'E'	/* the last byte: a cut stream is refused */

static void put_le32(u8 *p, u32 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
	p[2] = (u8)(v >> 16);
	p[3] = (u8)(v >> 24);
}

static u32 get_le32(const u8 *p)
{
	return p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static bool name_ok(const char *s, size_t n)
{
	size_t i;

	if (!n || n > STATE_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return true;
}

static u8 *grow(struct state_writer *w, size_t n)
{
	u8 *p;

	if (w->err)
		return NULL;
	if (n > SIZE_MAX / 2 - w->len) {
		w->err = -ENOMEM;
		return NULL;
	}
	if (w->len + n > w->cap) {
		size_t cap = MAX(w->cap * 2, MAX(w->len + n, (size_t)4096));

		p = realloc(w->buf, cap);
		if (!p) {
			w->err = -ENOMEM;
			return NULL;
		}
		w->buf = p;
		w->cap = cap;
	}
	p = w->buf + w->len;
	w->len += n;
	return p;
}

void state_writer_init(struct state_writer *w)
{
	u8 *p;

	memset(w, 0, sizeof(*w));
	p = grow(w, HDR_LEN);
	if (!p)
		return;
	memcpy(p, STATE_MAGIC, 8);
	put_le32(p + 8, STATE_FORMAT);
	put_le32(p + 12, 0);
}

void state_writer_free(struct state_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

static void section_close(struct state_writer *w)
{
	size_t body;

	if (!w->sec || w->err)
		return;
	/* header: mark, n, name[n], version, body_len */
	body = w->sec + 2 + w->buf[w->sec + 1] + 8;
	if (w->len - body > UINT32_MAX)
		w->err = -EINVAL;
	else
		put_le32(w->buf + body - 4, (u32)(w->len - body));
	w->sec = 0;
}

void state_section(struct state_writer *w, const char *name, u32 version)
{
	size_t n = strlen(name), at;
	u8 *p;

	section_close(w);
	if (!name_ok(name, n)) {
		w->err = w->err ? w->err : -EINVAL;
		return;
	}
	at = w->len;
	p = grow(w, 2 + n + 8);
	if (!p)
		return;
	p[0] = SEC_MARK;
	p[1] = (u8)n;
	memcpy(p + 2, name, n);
	put_le32(p + 2 + n, version);
	put_le32(p + 6 + n, 0);
	w->sec = at;
}

void state_put(struct state_writer *w, const char *name, const void *v,
	       u32 size)
{
	size_t n = strlen(name);
	u8 *p;

	if (!w->err && (!w->sec || !name_ok(name, n) ||
			size > STATE_MAX_FIELD))
		w->err = -EINVAL;
	p = grow(w, 1 + n + 4 + size);
	if (!p)
		return;
	p[0] = (u8)n;
	memcpy(p + 1, name, n);
	put_le32(p + 1 + n, size);
	if (size)
		memcpy(p + 5 + n, v, size);
}

int state_writer_done(struct state_writer *w, const u8 **buf, size_t *len)
{
	u8 *p;

	section_close(w);
	if (!w->done && (p = grow(w, 1))) {
		*p = END_MARK;
		w->done = true;
	}
	if (w->err)
		return w->err;
	*buf = w->buf;
	*len = w->len;
	return 0;
}

u8 *state_writer_take(struct state_writer *w, size_t *len)
{
	const u8 *out;
	u8 *buf = NULL;

	if (!state_writer_done(w, &out, len)) {
		buf = w->buf;
		w->buf = NULL;
	}
	state_writer_free(w);
	return buf;
}

int state_refuse(struct state_reader *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->section[0])
		n = snprintf(r->why, sizeof(r->why), "state of %s: ",
			     r->section);
	else
		n = snprintf(r->why, sizeof(r->why), "state: ");
	n = MAX(0, MIN(n, (int)sizeof(r->why) - 1));
	va_start(ap, fmt);
	vsnprintf(r->why + n, sizeof(r->why) - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/*
 * Walk a list of named items in [p, end): each is u8 n, name[n], then
 * `fixed` bytes, the last 4 of which are the length of what follows.
 * Names must be valid and unique. Returns the number of items or -1.
 */
static long walk(const u8 *p, const u8 *end, size_t fixed, bool sections,
		 const char **bad)
{
	const u8 *start = p;
	long count = 0;

	while (p < end) {
		const u8 *q, *name;
		size_t n, rest;
		u32 len;

		if (sections && *p++ != SEC_MARK) {
			*bad = "a section does not start with its mark";
			return -1;
		}
		if (p >= end || (size_t)(end - p) < 1 + (size_t)*p + fixed) {
			*bad = "an item runs past its end";
			return -1;
		}
		n = *p;
		name = p + 1;
		if (!name_ok((const char *)name, n)) {
			*bad = "an item's name is not 1-63 printable characters";
			return -1;
		}
		len = get_le32(name + n + fixed - 4);
		rest = (size_t)(end - (name + n + fixed));
		if (len > rest || (!sections && len > STATE_MAX_FIELD)) {
			*bad = "an item's length runs past the end";
			return -1;
		}
		/* Unique names: the lists are short, a linear check will do. */
		for (q = start; q < p - (sections ? 1 : 0);) {
			const u8 *qn = q + (sections ? 1 : 0);

			if (qn[0] == n && !memcmp(qn + 1, name, n)) {
				*bad = "a name appears twice in one list";
				return -1;
			}
			q = qn + 1 + qn[0] + fixed + get_le32(qn + 1 + qn[0] + fixed - 4);
		}
		p = name + n + fixed + len;
		if (++count > STATE_MAX_ITEMS) {
			*bad = "a list has too many items";
			return -1;
		}
	}
	return count;
}

int state_reader_init(struct state_reader *r, const void *buf, size_t len)
{
	const u8 *b = buf, *p, *end = b + len;
	const char *bad = NULL;

	memset(r, 0, sizeof(*r));
	r->buf = buf;
	r->len = len;
	if (len < HDR_LEN || memcmp(b, STATE_MAGIC, 8))
		return state_refuse(r, "not an smpvisor state stream");
	if (get_le32(b + 8) != STATE_FORMAT)
		return state_refuse(r, "format %u, this smpvisor reads format %u",
				    get_le32(b + 8), STATE_FORMAT);
	if (len == HDR_LEN || b[len - 1] != END_MARK)
		return state_refuse(r, "the stream is cut short (no end mark)");
	end = b + --len;
	r->len = len;		/* the sections end before the mark */
	if (walk(b + HDR_LEN, end, 8, true, &bad) < 0)
		return state_refuse(r, "malformed stream: %s", bad);
	/* Every section's body is a well-formed field list. */
	for (p = b + HDR_LEN; p < end;) {
		size_t n = p[1];
		const u8 *body = p + 2 + n + 8;
		u32 blen = get_le32(body - 4);

		if (walk(body, body + blen, 4, false, &bad) < 0)
			return state_refuse(r, "malformed section %.*s: %s",
					    (int)n, (const char *)p + 2, bad);
		p = body + blen;
	}
	return 0;
}

static const u8 *find_section(const struct state_reader *r, const char *name)
{
	size_t want = strlen(name);
	const u8 *p = r->buf + HDR_LEN, *end = r->buf + r->len;

	while (p < end) {
		size_t n = p[1];

		if (n == want && !memcmp(p + 2, name, n))
			return p;
		p += 2 + n + 8 + get_le32(p + 2 + n + 4);
	}
	return NULL;
}

bool state_has_section(const struct state_reader *r, const char *name)
{
	return r->len >= HDR_LEN && find_section(r, name);
}

int state_open(struct state_reader *r, const char *name, u32 max_version)
{
	const u8 *p = r->len >= HDR_LEN ? find_section(r, name) : NULL;
	size_t n;

	r->body = NULL;
	r->body_len = 0;
	snprintf(r->section, sizeof(r->section), "%s", name);
	if (!p) {
		state_refuse(r, "no such section in the stream");
		return -ENOENT;
	}
	n = p[1];
	r->version = get_le32(p + 2 + n);
	if (r->version > max_version) {
		state_refuse(r, "version %u is newer than this smpvisor's %u",
			     r->version, max_version);
		return -EPROTONOSUPPORT;
	}
	r->body = p + 2 + n + 8;
	r->body_len = get_le32(p + 2 + n + 4);
	return 0;
}

static const u8 *find_field(const struct state_reader *r, const char *name,
			    u32 *size)
{
	size_t want = strlen(name);
	const u8 *p = r->body, *end = r->body ? r->body + r->body_len : NULL;

	while (p && p < end) {
		size_t n = p[0];
		u32 len = get_le32(p + 1 + n);

		if (n == want && !memcmp(p + 1, name, n)) {
			*size = len;
			return p + 5 + n;
		}
		p += 5 + n + len;
	}
	return NULL;
}

const void *state_get_var(struct state_reader *r, const char *name,
			  u32 *size)
{
	const u8 *v = find_field(r, name, size);

	if (!v)
		state_refuse(r, "field %s is missing", name);
	return v;
}

static int get(struct state_reader *r, const char *name, void *p, u32 size,
	       bool optional)
{
	u32 have;
	const u8 *v = find_field(r, name, &have);

	if (!v) {
		if (optional)
			return 0;
		state_refuse(r, "field %s is missing", name);
		return -ENOENT;
	}
	if (have != size) {
		state_refuse(r, "field %s is %u bytes, this smpvisor expects %u",
			     name, have, size);
		return -EMSGSIZE;
	}
	memcpy(p, v, size);
	return 0;
}

int state_get(struct state_reader *r, const char *name, void *p, u32 size)
{
	return get(r, name, p, size, false);
}

int state_get_opt(struct state_reader *r, const char *name, void *p,
		  u32 size)
{
	return get(r, name, p, size, true);
}
