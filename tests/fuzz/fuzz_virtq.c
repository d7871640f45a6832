// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer entry point for the virtqueue parser: `make fuzz` builds
 * build/fuzz/virtq (clang, -fsanitize=fuzzer,address,undefined); run it as
 *   build/fuzz/virtq -max_total_time=300 build/fuzz/corpus tests/fuzz/corpus/virtq
 * Inputs that crash it belong in tests/fuzz/corpus/virtq once fixed, so
 * the unit tests replay them for ever.
 */
#include "virtq_harness.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	fuzz_virtq_one(data, size);
	return 0;
}
