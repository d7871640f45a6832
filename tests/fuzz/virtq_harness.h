/* SPDX-License-Identifier: GPL-2.0 */
/* The virtqueue fuzz harness (see virtq_harness.c for the input format). */
#ifndef SMPVISOR_VIRTQ_HARNESS_H
#define SMPVISOR_VIRTQ_HARNESS_H

#include "lib/util.h"

#define HARNESS_DESC_GPA	0x1000ULL
#define HARNESS_USED_GPA	0x20000ULL
#define HARNESS_MAX_INPUT	0x1e000ULL	/* up to the used ring */
#define HARNESS_CLEAR		0x22000ULL	/* bytes reset per run */

/*
 * Run one input: the number of chains popped, or -1 when the parser
 * rejected the queue (what the device turns into NEEDS_RESET). Aborts
 * when the parser let anything unsafe through.
 */
int fuzz_virtq_one(const u8 *data, size_t size);

#endif
