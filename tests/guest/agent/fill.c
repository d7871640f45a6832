// SPDX-License-Identifier: GPL-2.0
/*
 * agent.fill=MiB: touch MiB of guest RAM with non-zero data and keep it,
 * so a snapshot has that much to write (the snapshot benchmark: a big
 * guest that touched part of its memory). Every 8-byte word gets a value
 * that is never zero, so no page of the buffer reads as a zero page. The
 * buffer is never freed: the agent goes on with the next options (e.g.
 * agent.sleep) while it stays resident. Then it prints
 *
 *   AGENT-FILLED {"mib": N, "seconds": S}
 */
#include <stdlib.h>

#include "agent.h"

static uint64_t *kept;		/* the filled memory, held to the end */

void fill(long mib)
{
	size_t words = ((size_t)mib << 20) / sizeof(uint64_t), i;
	uint64_t t0 = now_ns();
	struct jb j = { 0 };

	kept = malloc(words * sizeof(uint64_t));
	if (!kept) {
		agent_err("fill: cannot allocate %ld MiB", mib);
		return;
	}
	for (i = 0; i < words; i++)
		kept[i] = (i * 0x9e3779b97f4a7c15ull) | 1;
	jb_open(&j, '{');
	jb_kint(&j, "mib", mib);
	jb_key(&j, "seconds");
	jb_dbl(&j, (double)(now_ns() - t0) / 1e9);
	jb_close(&j, '}');
	jb_emit(&j, "AGENT-FILLED");
}
