// SPDX-License-Identifier: GPL-2.0
/*
 * The devices the state fuzz harness (state_harness.c) loads into. Each
 * device's owner adds its entry here: a stream is untrusted input to
 * every device's load.
 */
#include <stdlib.h>

#include "state_targets.h"

const struct state_target state_targets[] = {
	{ NULL, NULL, NULL },	/* placeholder: targets[] must not be empty */
};
const unsigned nr_state_targets = 0;

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
