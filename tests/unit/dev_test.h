/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the device unit tests (include after cmocka.h): an interrupt
 * line that records its level, port I/O of any width through a bus, and
 * a device manager's state as a stream: saved, loaded, and edited field
 * by field the way a tampered snapshot would be.
 */
#ifndef SMPVISOR_TEST_DEV_TEST_H
#define SMPVISOR_TEST_DEV_TEST_H

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/bus.h"
#include "lib/state.h"
#include "vmm/device_manager.h"

/* --- an interrupt line that records (from any thread) --- */

struct irq_rec {
	pthread_mutex_t lock;
	int level;
	int calls;
	u32 gsi;
};

static inline void irq_rec_set(void *opaque, u32 gsi, int level)
{
	struct irq_rec *r = opaque;

	pthread_mutex_lock(&r->lock);
	r->level = level;
	r->gsi = gsi;
	r->calls++;
	pthread_mutex_unlock(&r->lock);
}

/* Start recording; the line to hand to the device. */
static inline struct irq_line irq_rec_init(struct irq_rec *r, u32 gsi)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	return (struct irq_line){ irq_rec_set, r, gsi };
}

static inline int irq_rec_level(struct irq_rec *r)
{
	int v;

	pthread_mutex_lock(&r->lock);
	v = r->level;
	pthread_mutex_unlock(&r->lock);
	return v;
}

/* --- port I/O as a guest does it (len 1, 2 or 4, little-endian) --- */

static inline u32 pio_in(const struct bus *b, u16 port, u32 len)
{
	u8 d[4] = { 0 };

	assert_true(bus_dispatch(b, port, d, len, false));
	return d[0] | d[1] << 8 | d[2] << 16 | (u32)d[3] << 24;
}

static inline void pio_out(const struct bus *b, u16 port, u32 v, u32 len)
{
	u8 d[4] = { (u8)v, (u8)(v >> 8), (u8)(v >> 16), (u8)(v >> 24) };

	assert_true(bus_dispatch(b, port, d, len, true));
}

static inline u8 pio_in8(const struct bus *b, u16 port)
{
	return (u8)pio_in(b, port, 1);
}

/* One byte, for a fixture f whose port-I/O bus is f->pio. */
#define in8(f, port)		pio_in8(&(f)->pio, (port))
#define out8(f, port, v)	pio_out(&(f)->pio, (port), (v), 1)

/* A pseudo-terminal: the master in *master, the slave returned. */
static inline int open_pty(int *master)
{
	int slave;

	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(*master >= 0);
	assert_int_equal(grantpt(*master), 0);
	assert_int_equal(unlockpt(*master), 0);
	slave = open(ptsname(*master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(slave >= 0);
	return slave;
}

/* --- state streams --- */

/* Every device of dm (paused) saved: a stream to free(). */
static inline u8 *saved_state(struct device_manager *dm, size_t *len)
{
	struct state_writer w;
	const u8 *out;
	u8 *copy;

	state_writer_init(&w);
	assert_int_equal(dm_save(dm, &w), 0);
	assert_int_equal(state_writer_done(&w, &out, len), 0);
	copy = malloc(*len);
	assert_non_null(copy);
	memcpy(copy, out, *len);
	state_writer_free(&w);
	return copy;
}

/* Load buf into dm (paused): 0 or -errno, the reason copied to why. */
static inline int load_state(struct device_manager *dm, const u8 *buf,
			     size_t len, char why[192])
{
	struct state_reader r;
	int e = state_reader_init(&r, buf, len);

	if (!e)
		e = dm_load(dm, &r);
	memcpy(why, r.why, sizeof(r.why));
	return e;
}

/* The devices of from (paused) saved and loaded into to (paused). */
static inline void copy_state(struct device_manager *from,
			      struct device_manager *to)
{
	char why[192];
	size_t len;
	u8 *buf;

	dm_pause(from);
	buf = saved_state(from, &len);
	dm_pause(to);
	assert_int_equal(load_state(to, buf, len, why), 0);
	free(buf);
}

static inline u32 le32_at(const u8 *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24;
}

static inline void le32_to(u8 *p, u32 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
	p[2] = (u8)(v >> 16);
	p[3] = (u8)(v >> 24);
}

/*
 * A copy of the stream (to free(), *len updated) with field fld of
 * section sec holding size bytes of data instead, or left out when data
 * is NULL. Walks the format of lib/state.h: 16 header bytes, sections
 * ('S', n, name, version, body length, fields), the end mark.
 */
static inline u8 *stream_edit(const u8 *buf, size_t *len, const char *sec,
			      const char *fld, const void *data, u32 size)
{
	u8 *out = malloc(*len + size), *o = out;
	const u8 *p = buf + 16, *end = buf + *len - 1;
	bool found = false;

	assert_non_null(out);
	memcpy(o, buf, 16);
	o += 16;
	while (p < end) {
		u32 n = p[1], blen = le32_at(p + 6 + n);
		const u8 *body = p + 10 + n, *q = body;
		u8 *ohdr = o;

		memcpy(o, p, 10 + n);
		o += 10 + n;
		while (q < body + blen) {
			u32 fn = q[0], fsize = le32_at(q + 1 + fn);
			bool hit = n == strlen(sec) && !memcmp(p + 2, sec, n) &&
				   fn == strlen(fld) && !memcmp(q + 1, fld, fn);

			if (!hit) {
				memcpy(o, q, 5 + fn + fsize);
				o += 5 + fn + fsize;
			} else if (data) {
				memcpy(o, q, 1 + fn);
				le32_to(o + 1 + fn, size);
				memcpy(o + 5 + fn, data, size);
				o += 5 + fn + size;
			}
			found |= hit;
			q += 5 + fn + fsize;
		}
		le32_to(ohdr + 6 + n, (u32)(o - ohdr - 10 - n));
		p = body + blen;
	}
	*o++ = *end;
	assert_true(found);
	*len = (size_t)(o - out);
	return out;
}

/* One field of a saved section edited, and the reason a load must give. */
struct tamper {
	const char *field;
	const void *data;	/* NULL: the field left out */
	u32 size;
	const char *why;	/* after "state of SECTION: " */
};

/*
 * For each edit of section sec of the stream buf: buf loads into dm
 * (paused), then check(arg, false); the edited stream is refused with
 * its reason, then check(arg, true) (the devices are reset by then).
 */
static inline void refuse_tampered(struct device_manager *dm, const u8 *buf,
				   size_t len, const char *sec,
				   const struct tamper *t, size_t n,
				   void (*check)(void *arg, bool refused),
				   void *arg)
{
	char why[192], want[192];
	size_t i;

	for (i = 0; i < n; i++) {
		size_t blen = len;
		u8 *bad = stream_edit(buf, &blen, sec, t[i].field, t[i].data,
				      t[i].size);

		assert_int_equal(load_state(dm, buf, len, why), 0);
		check(arg, false);
		assert_int_not_equal(load_state(dm, bad, blen, why), 0);
		snprintf(want, sizeof(want), "state of %s: %s", sec, t[i].why);
		assert_string_equal(why, want);
		check(arg, true);
		free(bad);
	}
}

#endif
