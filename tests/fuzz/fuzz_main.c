// SPDX-License-Identifier: GPL-2.0
/*
 * The libFuzzer entry point shared by every harness: `make fuzz` builds
 * build/fuzz/NAME from tests/fuzz/NAME_harness.c with -DFUZZ_ONE=fuzz_NAME_one
 * (clang, -fsanitize=fuzzer,address,undefined). Run one as
 *   build/fuzz/NAME -max_total_time=300 build/fuzz/corpus-NAME tests/fuzz/corpus/NAME
 * or all of them with scripts/fuzz.sh. Inputs that crashed a harness
 * belong in its corpus once fixed: tests/unit/test_fuzz_corpus replays
 * every corpus in `make test`.
 */
#include "harnesses.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	FUZZ_ONE(data, size);
	return 0;
}
