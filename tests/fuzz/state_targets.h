/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The devices the state fuzz harness loads streams into, one entry per
 * kind (tests/fuzz/state_targets.c): create makes a fresh device as the
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

extern const struct state_target state_targets[];
extern const unsigned nr_state_targets;

/* Load data into a fresh instance of t and save it back: 0 or 1 (refused). */
int state_target_load(const struct state_target *t, const u8 *data,
		      size_t size);

#endif
