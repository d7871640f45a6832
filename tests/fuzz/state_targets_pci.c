// SPDX-License-Identifier: GPL-2.0
/*
 * The pci devices the state fuzz harness loads streams into (see
 * state_targets.h).
 */
#include "state_targets.h"

const struct state_target state_targets_pci[] = {
	{ NULL, NULL, NULL },	/* until the first device: not counted */
};
const unsigned nr_state_targets_pci = 0;
