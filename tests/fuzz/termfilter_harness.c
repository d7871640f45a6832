// SPDX-License-Identifier: GPL-2.0
/*
 * The terminal filter fuzz harness (lib/termfilter.c): whatever a guest
 * writes to its console. The first byte picks how the rest is cut into
 * calls, as the UART hands it over a few bytes at a time: at one point
 * (its value, modulo the length) and in pieces of 1 to 8 bytes. Both
 * must give what one call gives. The output must be something the
 * filter itself would pass unchanged, hold no string introducer and no
 * CSI that asks for an answer, and never be longer than the input.
 *
 * Returns the number of bytes that passed.
 */
#include <stdlib.h>
#include <string.h>

#include "harnesses.h"
#include "lib/termfilter.h"

/* Filter in[0..n) in calls of at most piece bytes, with every bound. */
static size_t filter(const u8 *in, size_t n, size_t cut, size_t piece, u8 *out)
{
	struct termfilter f;
	size_t at = 0, k, w = 0;

	termfilter_init(&f);
	while (at < n) {
		k = at < cut ? cut - at : MIN(piece, n - at);
		w += termfilter_run(&f, in + at, k, out + w);
		at += k;
		if (w > at || at != w + f.dropped + f.len || f.len > TERMFILTER_HOLD)
			abort();
	}
	return w;
}

/* What no output may hold, whatever the input. */
static void check(const u8 *p, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if ((p[i] < 0x20 && (!p[i] || !strchr("\t\n\r\b\x1b", p[i]))) ||
		    p[i] == 0x7f)
			abort();
		if (p[i] == 0xc2 && i + 1 < n && p[i + 1] < 0xa0)
			abort();	/* a C1 control, UTF-8 encoded */
		if (p[i] != 0x1b)
			continue;
		if (i + 1 == n || strchr("]P_^X", p[i + 1]))
			abort();
		if (p[i + 1] != '[')
			continue;
		for (j = i + 2; j < n && p[j] >= 0x20 && p[j] < 0x40; j++)
			;
		if (j == n || strchr("nct", p[j]))
			abort();
	}
}

int fuzz_termfilter_one(const u8 *data, size_t size)
{
	u8 *one, *other, *again;
	size_t n, w, cut;

	if (!size)
		return 0;
	n = size - 1;
	cut = n ? data[0] % n : 0;
	one = malloc(n + 1);
	other = malloc(n + 1);
	again = malloc(n + 1);
	if (!one || !other || !again)
		abort();
	w = filter(data + 1, n, 0, n ? n : 1, one);
	check(one, w);
	if (filter(data + 1, n, cut, n ? n : 1, other) != w || memcmp(one, other, w))
		abort();
	if (filter(data + 1, n, 0, data[0] % 8 + 1u, other) != w || memcmp(one, other, w))
		abort();
	/* Only what passes came out: a second pass keeps all of it. */
	if (filter(one, w, 0, w ? w : 1, again) != w || memcmp(one, again, w))
		abort();
	free(one);
	free(other);
	free(again);
	return (int)MIN(w, (size_t)0x7fffffff);
}
