// SPDX-License-Identifier: GPL-2.0
/*
 * The legacy devices the state fuzz harness loads streams into (see
 * state_targets.h).
 */
#include "state_targets.h"

const struct state_target state_targets_legacy[] = {
	{ NULL, NULL, NULL },	/* until the first device: not counted */
};
const unsigned nr_state_targets_legacy = 0;
