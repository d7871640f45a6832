// SPDX-License-Identifier: GPL-2.0
/*
 * agent.ticks=S: a guest that must notice when it is paused and resumed
 * (the control API's stop/cont, later snapshot and migration). For S
 * seconds it keeps a 32 MiB buffer under a running checksum: it rewrites
 * a slice with a pattern that depends on the round, then checks the whole
 * buffer against what it wrote. Once a second it prints
 *
 *   AGENT-TICK {"i": N, "real_ms": ..., "mono_ms": ..., "ok": true}
 *
 * and at the end AGENT-TICKS with the count, whether every check held,
 * the largest gap between ticks (a pause shows as one long gap) and
 * whether the wall clock ever went backwards.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"

#define TICK_BUF	(8u << 20)
#define TICK_WORDS	(TICK_BUF / sizeof(uint64_t))
#define TICK_SLICES	64

static uint64_t pattern(uint64_t i, uint64_t round)
{
	uint64_t x = i * 0x9e3779b97f4a7c15ull ^ round;

	return x ^ (x >> 29);
}

static long long clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ticks(long seconds)
{
	uint64_t *buf = malloc(TICK_BUF), *round;
	long long start = clock_ms(CLOCK_MONOTONIC), last = start, max_gap = 0;
	long long last_real = clock_ms(CLOCK_REALTIME);
	bool ok = true, backwards = false;
	uint64_t r = 0;
	long n = 0;
	size_t i;

	round = calloc(TICK_SLICES, sizeof(*round));
	if (!buf || !round) {
		agent_err("ticks: out of memory");
		free(buf);
		free(round);
		return;
	}
	for (i = 0; i < TICK_WORDS; i++)
		buf[i] = pattern(i, 0);
	while (clock_ms(CLOCK_MONOTONIC) - start < seconds * 1000) {
		size_t s = r % TICK_SLICES, per = TICK_WORDS / TICK_SLICES;
		long long now, real;
		struct jb j = { 0 };

		/* Rewrite one slice for this round, then check every word. */
		r++;
		round[s] = r;
		for (i = s * per; i < (s + 1) * per; i++)
			buf[i] = pattern(i, r);
		for (i = 0; i < TICK_WORDS; i++)
			if (buf[i] != pattern(i, round[i / per]))
				ok = false;
		now = clock_ms(CLOCK_MONOTONIC);
		if (now - last < 1000)
			continue;
		real = clock_ms(CLOCK_REALTIME);
		backwards |= real < last_real;
		max_gap = now - last > max_gap ? now - last : max_gap;
		last = now;
		last_real = real;
		jb_open(&j, '{');
		jb_kint(&j, "i", n++);
		jb_kint(&j, "real_ms", real);
		jb_kint(&j, "mono_ms", now);
		jb_kbool(&j, "ok", ok);
		jb_close(&j, '}');
		jb_emit(&j, "AGENT-TICK");
	}
	{
		struct jb j = { 0 };

		jb_open(&j, '{');
		jb_kint(&j, "ticks", n);
		jb_kint(&j, "rounds", (long long)r);
		jb_kbool(&j, "ok", ok);
		jb_kint(&j, "max_gap_ms", max_gap);
		jb_kbool(&j, "clock_backwards", backwards);
		jb_close(&j, '}');
		jb_emit(&j, "AGENT-TICKS");
	}
	free(buf);
	free(round);
}
