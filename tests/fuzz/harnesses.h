/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every fuzz harness: one function per guest- or operator-facing parser,
 * taking one input and aborting when the code under test did anything
 * unsafe (the sanitizers catch the rest). tests/fuzz/NAME_harness.c
 * defines fuzz_NAME_one; its seed corpus is tests/fuzz/corpus/NAME/.
 * Return values are the harness's own (see each file); the replaying unit
 * test only requires that no input crashes.
 */
#ifndef SMPVISOR_FUZZ_HARNESSES_H
#define SMPVISOR_FUZZ_HARNESSES_H

#include <stddef.h>

#include "lib/util.h"

int fuzz_virtq_one(const u8 *data, size_t size);
int fuzz_virtio_net_one(const u8 *data, size_t size);
int fuzz_virtio_blk_one(const u8 *data, size_t size);
int fuzz_virtio_pci_one(const u8 *data, size_t size);
int fuzz_vhost_user_one(const u8 *data, size_t size);
int fuzz_config_one(const u8 *data, size_t size);
int fuzz_state_one(const u8 *data, size_t size);
int fuzz_vcpu_state_one(const u8 *data, size_t size);
int fuzz_snapshot_manifest_one(const u8 *data, size_t size);
int fuzz_migrate_stream_one(const u8 *data, size_t size);
int fuzz_qmp_one(const u8 *data, size_t size);
int fuzz_termfilter_one(const u8 *data, size_t size);

#endif
