#!/usr/bin/env bash
# Run every libFuzzer harness (make fuzz) for SECONDS each (default 300),
# starting from its seed corpus; prints each one's executions, edge
# coverage and crash count. Usage: scripts/fuzz.sh [SECONDS] [NAME...]
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-300}
shift || true
make -s fuzz || exit 1
names=("$@")
[ ${#names[@]} -gt 0 ] || names=($(ls tests/fuzz/*_harness.c | sed 's|tests/fuzz/||; s|_harness.c||'))
rc=0
for n in "${names[@]}"; do
	work=build/fuzz/corpus-$n
	mkdir -p "$work" build/fuzz/crashes-$n
	log=build/fuzz/$n.log
	build/fuzz/$n -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix=build/fuzz/crashes-$n/ "$work" "tests/fuzz/corpus/$n" >"$log" 2>&1
	st=$?
	execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
	cov=$(grep -oE '#[0-9]+.*cov: [0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+' | grep -oE '[0-9]+')
	crashes=$(ls build/fuzz/crashes-$n | wc -l)
	echo "fuzz $n: ${secs}s, ${execs:-?} executions, ${cov:-?} edges covered, $crashes crashes (exit $st, log $log)"
	[ "$st" -eq 0 ] && [ "$crashes" -eq 0 ] || rc=1
done
exit $rc
