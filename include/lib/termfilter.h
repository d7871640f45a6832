/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A filter for untrusted output bound for a terminal (lib/termfilter.c):
 * the guest's serial console, when smpvisor's output is a terminal. A
 * terminal obeys what it is sent, and some of that reaches beyond the
 * screen: OSC 52 writes the host clipboard, DSR/DA/window reports and
 * ENQ make the terminal answer on its input (which is ours, or whoever
 * reads it after us), mode changes outlive the VM. QEMU passes every
 * byte; we pass what draws text and drop the rest.
 *
 * What passes:
 *   - printable ASCII, TAB, LF, CR, BS;
 *   - well-formed UTF-8, whole characters only, except U+0080..U+009F:
 *     xterm and VTE read those as C1 controls (C2 9B is a CSI). Raw bytes
 *     0x80..0xff outside a well-formed character (Latin-1, overlong forms,
 *     surrogates) are dropped: we assume a UTF-8 terminal, the default
 *     everywhere; one in 8-bit mode would need another filter;
 *   - CSI without intermediates or private markers, parameters of digits
 *     and ';' (and ':' in SGR), with a final byte that only draws: SGR 'm',
 *     cursor motion A B C D E F G H f d, erase J (0-2, not 3: that one
 *     wipes the host's scrollback) and K, and line editing @ P X L M;
 *   - ESC 7, ESC 8 (save/restore cursor), ESC D, ESC E, ESC M (index,
 *     next line, reverse index), which curses uses on a serial line.
 * What is dropped, whole:
 *   - OSC (ESC ] .. BEL or ST), DCS (ESC P), SOS (ESC X), PM (ESC ^), APC
 *     (ESC _) .. ST, however long: they stream through without being kept;
 *   - every other CSI: reports (n, c, t, x), modes (h, l, including DEC
 *     private ones: a cursor hidden or an alternate screen left behind
 *     outlives the VM), scroll region, DECSTR, cursor style, REP ...;
 *   - every other ESC sequence (charset designations, keypad modes, RIS,
 *     DECID, single shifts), and a CSI held longer than TERMFILTER_HOLD
 *     bytes, ESC [ included;
 *   - the other C0 controls and DEL. BEL is dropped too: a guest could
 *     ring without end, and many desktops turn a bell into a notification.
 * CAN or SUB abort the sequence under way, and ESC aborts it and starts a
 * new one, as on a VT100 (ECMA-48 leaves aborts to the device).
 *
 * The terminal only ever sees whole, listed sequences and whole
 * characters, so its parser is back in its ground state after each: no
 * split of the input, and nothing dropped, can leave it inside something
 * that swallows or rewrites what follows.
 *
 * A CSI is held until its final byte decides it, and a UTF-8 character
 * until it is whole: at most TERMFILTER_HOLD bytes, carried from one call
 * to the next. So one call may put out up to that many bytes more than it
 * took in; over a stream the output never exceeds the input, and
 * in = out + dropped + len at every call's end. No allocation, no system
 * call: it runs on any thread, under a seccomp filter included.
 */
#ifndef SMPVISOR_TERMFILTER_H
#define SMPVISOR_TERMFILTER_H

#include <stddef.h>

#include "lib/util.h"

#define TERMFILTER_HOLD	64

/* Room a call's output needs for n bytes of input. */
#define TERMFILTER_OUT_MAX(n)	((n) + TERMFILTER_HOLD)

struct termfilter {
	u8 state;		/* where in a sequence (termfilter.c) */
	u8 len;			/* bytes held in buf */
	u8 need;		/* UTF-8: continuation bytes still to come */
	u8 lo, hi;		/* UTF-8: the range the next one must be in */
	u64 dropped;		/* bytes dropped so far */
	u8 buf[TERMFILTER_HOLD];
};

void termfilter_init(struct termfilter *f);

/*
 * Filter n bytes of in into out, which has room for TERMFILTER_OUT_MAX(n)
 * bytes and must not overlap in; returns the bytes written. What a
 * sequence or a character still needs is awaited in the next call.
 */
size_t termfilter_run(struct termfilter *f, const u8 *in, size_t n, u8 *out);

#endif
