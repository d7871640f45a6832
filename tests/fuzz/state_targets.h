/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The devices the state fuzz harness loads streams into, one entry per
 * kind (tests/fuzz/state_targets_*.c): create makes a fresh device as the
 * machine would and adds it to the manager under the name the stream's
 * section must have; destroy is the manager's.
 */
#ifndef SMPVISOR_FUZZ_STATE_TARGETS_H
#define SMPVISOR_FUZZ_STATE_TARGETS_H

#include <stddef.h>

#include "lib/util.h"
#include "vmm/device_manager.h"

struct state_target {
	const char *name;	/* the section name, e.g. "com1" */
	/* Create the device into *ctx and add it to dm; 0 or -errno. */
	int (*create)(struct device_manager *dm, void **ctx);
	void (*free)(void *ctx);	/* after dm_destroy */
};

/* One table per area (state_targets_legacy.c, state_targets_pci.c). */
extern const struct state_target state_targets_legacy[];
extern const unsigned nr_state_targets_legacy;
extern const struct state_target state_targets_pci[];
extern const unsigned nr_state_targets_pci;

/* All areas' targets, numbered 0 .. state_target_count() - 1. */
unsigned state_target_count(void);
const struct state_target *state_target_pick(unsigned k);

/* Load data into a fresh instance of t and save it back: 0 or 1 (refused). */
int state_target_load(const struct state_target *t, const u8 *data,
		      size_t size);

#endif
