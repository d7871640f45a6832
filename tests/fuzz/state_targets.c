// SPDX-License-Identifier: GPL-2.0
/*
 * Loading a stream into one fresh device, for the state fuzz harness
 * (state_harness.c). The devices themselves are listed by area in
 * state_targets_*.c, each file defining one table that
 * state_target_pick (below) reaches through.
 */
#include <stdlib.h>

#include "state_targets.h"

static const struct {
	const struct state_target *t;
	const unsigned *nr;
} areas[] = {
	{ state_targets_legacy, &nr_state_targets_legacy },
	{ state_targets_pci, &nr_state_targets_pci },
};

unsigned state_target_count(void)
{
	unsigned i, n = 0;

	for (i = 0; i < ARRAY_SIZE(areas); i++)
		n += *areas[i].nr;
	return n;
}

const struct state_target *state_target_pick(unsigned k)
{
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(areas); i++) {
		if (k < *areas[i].nr)
			return &areas[i].t[k];
		k -= *areas[i].nr;
	}
	return NULL;
}

int state_target_load(const struct state_target *t, const u8 *data,
		      size_t size)
{
	struct device_manager dm;
	struct state_writer w;
	struct state_reader r;
	struct bus pio, mmio;
	const u8 *out;
	size_t len;
	void *ctx = NULL;
	int taken = 1;

	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	dm_init(&dm, NULL, NULL, &pio, &mmio);
	if (t->create(&dm, &ctx))
		abort();
	dm_pause(&dm);
	if (!state_reader_init(&r, data, size) && !dm_load(&dm, &r)) {
		taken = 0;
		state_writer_init(&w);
		if (dm_save(&dm, &w) || state_writer_done(&w, &out, &len))
			abort();	/* a loaded device must save */
		state_writer_free(&w);
	}
	dm_resume(&dm);
	dm_destroy(&dm);
	if (t->free)
		t->free(ctx);
	bus_free(&mmio);
	bus_free(&pio);
	return taken;
}
