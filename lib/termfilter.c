// SPDX-License-Identifier: GPL-2.0
/*
 * The terminal output filter (policy: include/lib/termfilter.h). A byte
 * at a time through a small state machine: the states follow a VT100's
 * own parser closely enough that a sequence we drop ends where the
 * terminal would have ended it, so the guest's text after it still
 * shows.
 */
#include <string.h>

#include "lib/termfilter.h"

#define BEL	0x07
#define CAN	0x18
#define SUB	0x1a
#define ESC	0x1b
#define DEL	0x7f

enum {
	TF_GROUND,	/* text */
	TF_UTF8,	/* a character begun in buf, need bytes to come */
	TF_ESC,		/* ESC held in buf */
	TF_ESC_SKIP,	/* ESC and intermediates: dropped up to the final */
	TF_CSI,		/* ESC [ and parameters held in buf */
	TF_CSI_SKIP,	/* a CSI we drop: up to its final byte */
	TF_OSC,		/* dropped up to BEL or ST */
	TF_STRING,	/* DCS, SOS, PM, APC: dropped up to ST */
};

void termfilter_init(struct termfilter *f)
{
	memset(f, 0, sizeof(*f));
	f->state = TF_GROUND;
}

/* Forget what is held: it was never written, and now never will be. */
static void discard(struct termfilter *f)
{
	f->dropped += f->len;
	f->len = 0;
}

/* Write out what is held: a whole sequence or character. */
static size_t flush(struct termfilter *f, u8 *out)
{
	size_t n = f->len;

	memcpy(out, f->buf, n);
	f->len = 0;
	f->state = TF_GROUND;
	return n;
}

/* Drop c and what is held; the next byte starts afresh in state. */
static void drop_to(struct termfilter *f, int state)
{
	discard(f);
	f->dropped++;
	f->state = state;
}

/*
 * CAN and SUB end whatever sequence is under way, and ESC ends it and
 * begins the next one: in every state, as a terminal does, so a guest
 * cannot hide a sequence from us inside another.
 */
static bool aborts(struct termfilter *f, u8 c)
{
	if (c == CAN || c == SUB) {
		drop_to(f, TF_GROUND);
		return true;
	}
	if (c != ESC)
		return false;
	discard(f);
	f->buf[0] = ESC;
	f->len = 1;
	f->state = TF_ESC;
	return true;
}

/*
 * Text: what draws passes at once; a UTF-8 lead byte starts a character,
 * with the range its first continuation byte must be in, which is how
 * overlong forms (C0 80 would be a NUL, E0 80 9B a CSI), surrogates,
 * code points past U+10FFFF and the C1 controls U+0080..U+009F are
 * turned away.
 */
static size_t ground(struct termfilter *f, u8 c, u8 *out)
{
	if ((c >= 0x20 && c < DEL) || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\b') {
		*out = c;
		return 1;
	}
	if (c < 0xc2 || c > 0xf4) {
		f->dropped++;
		return 0;
	}
	f->buf[0] = c;
	f->len = 1;
	f->need = c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
	f->lo = c == 0xc2 || c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
	f->hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
	f->state = TF_UTF8;
	return 0;
}

/*
 * After ESC (held): the few sequences that only move the cursor pass,
 * the string introducers and CSI lead on, the rest is dropped whole.
 */
static size_t after_esc(struct termfilter *f, u8 c, u8 *out)
{
	if (c == '[') {
		f->buf[f->len++] = c;
		f->state = TF_CSI;
	} else if (c == ']') {
		drop_to(f, TF_OSC);
	} else if (c == 'P' || c == 'X' || c == '^' || c == '_') {
		drop_to(f, TF_STRING);
	} else if (c && strchr("78DEM", c)) {
		f->buf[f->len++] = c;
		return flush(f, out);
	} else if (c >= 0x20 && c < 0x30) {
		drop_to(f, TF_ESC_SKIP);	/* ESC ( 0 and the like */
	} else if (c < 0x20 || c == DEL) {
		f->dropped++;	/* executed inside by a terminal: we drop it */
	} else {
		drop_to(f, TF_GROUND);
	}
	return 0;
}

/*
 * Whether a whole CSI (parameters p[0..n), final byte fin, no
 * intermediates) only draws: see termfilter.h for the list. A private
 * marker (< = > ?) makes any of them something else (ESC [ > 4 m sets
 * xterm's key encoding), so only digits and separators are taken.
 */
static bool csi_draws(const u8 *p, size_t n, u8 fin)
{
	size_t i;

	if (!strchr("mABCDEFGHfdJK@PXLM", fin))
		return false;
	for (i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || p[i] == ';' ||
		      (p[i] == ':' && fin == 'm')))
			return false;
	/* ED 3 erases the scrollback: the host's, from before the VM. */
	return fin != 'J' || !n || (n == 1 && p[0] <= '2');
}

/* Inside a CSI (held in buf): parameters, then the final byte decides. */
static size_t in_csi(struct termfilter *f, u8 c, u8 *out)
{
	size_t n;

	if (c >= 0x30 && c < 0x40) {
		if (f->len < TERMFILTER_HOLD)
			f->buf[f->len++] = c;
		else
			drop_to(f, TF_CSI_SKIP);	/* too long to judge */
	} else if (c >= 0x40 && c < DEL) {
		if (!csi_draws(f->buf + 2, f->len - 2u, c)) {
			drop_to(f, TF_GROUND);
			return 0;
		}
		n = flush(f, out);
		out[n] = c;
		return n + 1;
	} else if (c < 0x20 || c == DEL) {
		f->dropped++;
	} else {
		/* Intermediates (none on the list) or a byte that is no part of
		 * a CSI: dropped up to the final byte, where a terminal ends it. */
		drop_to(f, TF_CSI_SKIP);
	}
	return 0;
}

/* One byte in state f->state: the bytes written to out. */
static size_t step(struct termfilter *f, u8 c, u8 *out)
{
	if (aborts(f, c))
		return 0;
	switch (f->state) {
	case TF_GROUND:
		return ground(f, c, out);
	case TF_UTF8:
		if (c < f->lo || c > f->hi) {
			/* Cut short: the part is dropped, c starts afresh. */
			discard(f);
			f->state = TF_GROUND;
			return ground(f, c, out);
		}
		f->buf[f->len++] = c;
		f->lo = 0x80;
		f->hi = 0xbf;
		return --f->need ? 0 : flush(f, out);
	case TF_ESC:
		return after_esc(f, c, out);
	case TF_CSI:
		return in_csi(f, c, out);
	case TF_ESC_SKIP:	/* up to the final byte, 0x30..0x7e */
		f->dropped++;
		if (c >= 0x30 && c < DEL)
			f->state = TF_GROUND;
		return 0;
	case TF_CSI_SKIP:	/* up to the final byte, 0x40..0x7e */
		f->dropped++;
		if (c >= 0x40 && c < DEL)
			f->state = TF_GROUND;
		return 0;
	case TF_OSC:
		f->dropped++;
		if (c == BEL)	/* xterm's end of OSC, besides ST */
			f->state = TF_GROUND;
		return 0;
	default:		/* TF_STRING: only ST (ESC \) or an abort ends it */
		f->dropped++;
		return 0;
	}
}

size_t termfilter_run(struct termfilter *f, const u8 *in, size_t n, u8 *out)
{
	size_t i, w = 0;

	for (i = 0; i < n; i++)
		w += step(f, in[i], out + w);
	return w;
}
