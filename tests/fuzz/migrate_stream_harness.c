// SPDX-License-Identifier: GPL-2.0
/*
 * The migration stream fuzz harness (vmm/migrate_stream.c): whatever a
 * source (or anyone who reaches the destination's socket) sends. The
 * header and manifest frame, then frames into a small guest of two
 * nodes (16 MiB each from 0, mapped for real). Nothing may land
 * outside the guest's RAM (ASan watches the mappings' neighbours), a
 * refusal says why in one line, and a stream taken must end with a
 * state of the length its frame said.
 *
 * Returns 0 when the stream was taken whole, 1 when refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harnesses.h"
#include "vmm/migrate.h"

struct buf {
	const u8 *p;
	size_t len, at;
};

static int rd(void *opaque, void *dst, size_t len)
{
	struct buf *b = opaque;

	if (len > b->len - b->at)
		return -EPIPE;
	memcpy(dst, b->p + b->at, len);
	b->at += len;
	return 0;
}

int fuzz_migrate_stream_one(const u8 *data, size_t size)
{
	static struct guest_mem mem;	/* mapped once: the harness's guest */
	struct buf b = { data, size, 0 };
	char why[256] = "", *text = NULL;
	u8 *state = NULL;
	size_t len = 0, slen = 0;
	int r;

	if (!mem.nr) {
		u64 sizes[2] = { 16 * MiB, 16 * MiB };

		if (guest_mem_layout_nodes(&mem, sizes, 2) || guest_mem_alloc(&mem))
			abort();
	}
	r = mig_recv_manifest(rd, &b, &text, &len, why, sizeof(why));
	if (!r)
		r = mig_recv_memory(&mem, rd, &b, &state, &slen, why, sizeof(why));
	free(text);
	if (r) {
		if (!*why || strchr(why, '\n') || state)
			abort();
		return 1;
	}
	if (!state || !slen || slen > MIG_MAX_STATE)
		abort();
	free(state);
	return 0;
}
