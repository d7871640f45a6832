// SPDX-License-Identifier: GPL-2.0
/*
 * The state fuzz harness: a saved state stream is untrusted (a snapshot
 * file, a migration socket), so the reader and every device's load take
 * whatever bytes come. The first byte picks the target, the rest is the
 * stream:
 *
 *   0  the reader alone: check it, open every section the input names
 *      and read each of its fields at every size
 *   1+ a fresh device of one kind (state_target_pick(N - 1), modulo
 *      their number): loaded through the device manager, then saved
 *      again (a loaded state must save)
 *
 * Returns 0 when the input was taken, 1 when it was refused.
 */
#include <stdlib.h>
#include <string.h>

#include "harnesses.h"
#include "lib/state.h"
#include "state_targets.h"

/* Walk the input's own names, so the fuzzer reaches real lookups. */
static int reader_only(const u8 *data, size_t size)
{
	struct state_reader r;
	size_t p = 16;
	int taken = 0;

	if (state_reader_init(&r, data, size))
		return 1;
	while (p + 2 <= size) {
		char name[STATE_NAME_MAX + 1];
		size_t n = data[p + 1];
		u32 blen, q;

		memcpy(name, data + p + 2, n);
		name[n] = 0;
		if (state_open(&r, name, UINT32_MAX))
			abort();	/* init checked it: it must be there */
		blen = r.body_len;
		for (q = 0; q < blen;) {
			char f[STATE_NAME_MAX + 1];
			const u8 *b = r.body + q;
			u32 len, got;
			u64 v;

			memcpy(f, b + 1, b[0]);
			f[b[0]] = 0;
			memcpy(&len, b + 1 + b[0], 4);
			if (!state_get_var(&r, f, &got) || got != len)
				abort();
			if (len <= 8 && state_get(&r, f, &v, len))
				abort();
			q += 5 + b[0] + len;
		}
		p += 2 + n + 8 + blen;
		taken++;
	}
	return taken ? 0 : 1;
}

int fuzz_state_one(const u8 *data, size_t size)
{
	unsigned n = state_target_count();

	if (!size)
		return 1;
	if (data[0] == 0 || !n)
		return reader_only(data + 1, size - 1);
	return state_target_load(state_target_pick((data[0] - 1u) % n),
				 data + 1, size - 1);
}
