/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The device model around vdrv.h, for the unit tests and the state fuzz
 * targets: save the devices of a driven machine (paused through its
 * device manager), load a stream into another one with a copy of the
 * first one's guest RAM (what a snapshot or a migration carries), and
 * find a field in a stream to tamper with it. Nothing here asserts.
 */
#ifndef SMPVISOR_FUZZ_VDRV_STATE_H
#define SMPVISOR_FUZZ_VDRV_STATE_H

#include <stdlib.h>
#include <string.h>

#include "lib/state.h"
#include "vdrv.h"

/* Pause d's devices and save them: the stream (to free), or NULL. */
static inline u8 *vdrv_save(struct vdrv *d, size_t *len)
{
	struct state_writer w;

	dm_pause(&d->dm);
	state_writer_init(&w);
	if (dm_save(&d->dm, &w)) {
		state_writer_free(&w);
		return NULL;
	}
	return state_writer_take(&w, len);
}

/* Guest RAM of src into dst (the same layout). */
static inline void vdrv_copy_ram(struct vdrv *dst, const struct vdrv *src)
{
	unsigned i;

	for (i = 0; i < src->mem.nr && i < dst->mem.nr; i++)
		memcpy(dst->mem.regions[i].hva, src->mem.regions[i].hva,
		       MIN(src->mem.regions[i].size, dst->mem.regions[i].size));
}

/*
 * Load a stream into d's devices, paused for it, and resume them when
 * it was taken: 0, or -errno with the reason in r->why (the devices are
 * then reset and stay paused).
 */
static inline int vdrv_load(struct vdrv *d, const u8 *buf, size_t len,
			    struct state_reader *r)
{
	int e;

	dm_pause(&d->dm);
	e = state_reader_init(r, buf, len);
	if (!e)
		e = dm_load(&d->dm, r);
	if (!e)
		dm_resume(&d->dm);
	return e;
}

/*
 * The data of field name in section sec of a well-formed stream, its
 * size in *size; NULL when there is none.
 */
static inline u8 *vdrv_field(u8 *buf, size_t len, const char *sec,
			     const char *name, u32 *size)
{
	size_t p = 16, sl = strlen(sec), nl = strlen(name);

	while (p + 2 <= len && buf[p] == 'S') {
		size_t n = buf[p + 1], q;
		u32 blen;

		memcpy(&blen, buf + p + 2 + n + 4, 4);
		q = p + 2 + n + 8;
		if (n == sl && !memcmp(buf + p + 2, sec, n)) {
			while (q < p + 2 + n + 8 + blen) {
				size_t fn = buf[q];
				u32 fs;

				memcpy(&fs, buf + q + 1 + fn, 4);
				if (fn == nl && !memcmp(buf + q + 1, name, fn)) {
					*size = fs;
					return buf + q + 5 + fn;
				}
				q += 5 + fn + fs;
			}
			return NULL;
		}
		p = q + blen;
	}
	return NULL;
}

/* A copy of the stream with bytes at offset off of a field replaced. */
static inline u8 *vdrv_tamper(const u8 *buf, size_t len, const char *sec,
			      const char *name, u32 off, const void *v, u32 n)
{
	u8 *t = malloc(len), *f;
	u32 size;

	if (!t)
		return NULL;
	memcpy(t, buf, len);
	f = vdrv_field(t, len, sec, name, &size);
	if (!f || off + n > size) {
		free(t);
		return NULL;
	}
	memcpy(f + off, v, n);
	return t;
}

#endif
