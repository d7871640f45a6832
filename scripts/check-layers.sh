#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The folders form a DAG, proved by grep over the #include lines:
#
#   lib/     the base: uses only lib/
#   kernel/  uses lib/
#   irq/     uses kernel/ and lib/
#   smp/     uses irq/, kernel/ and lib/
#   vmm/     (with vmm/devices/) on top: may use all of them
#
# A folder's headers are include/FOLDER/NAME.h, included as
# "FOLDER/NAME.h"; a file's layer is its folder, for sources (FOLDER/...)
# and headers (include/FOLDER/...) alike, and every quoted #include in
# them must name a folder of a layer it may use. Devices (vmm/devices/)
# may not include kernel/ at all: they reach KVM through the device
# manager. Prints each offending
# file:line and fails; run from the top of the tree (make check-layers).

set -u

uses() {
	case $1 in
	lib)	echo "lib" ;;
	kernel)	echo "lib kernel" ;;
	irq)	echo "lib kernel irq" ;;
	smp)	echo "lib kernel irq smp" ;;
	vmm)	echo "lib kernel irq smp vmm" ;;
	esac
}

out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT

for layer in lib kernel irq smp vmm; do
	files=$(find "$layer" "include/$layer" -name '*.[ch]' 2>/dev/null | sort)
	[ -n "$files" ] || continue
	# file:line:"path" of every quoted #include, then judge each one.
	grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' $files |
	awk -v layer="$layer" -v list="$(uses "$layer")" '{
		ok = " " list " "
		split($0, f, ":"); where = f[1] ":" f[2]
		split($0, q, "\""); path = q[2]
		dir = path; sub(/\/.*/, "", dir)
		if (dir == path)
			printf "%s: %s/ includes \"%s\", not a FOLDER/NAME.h header\n", where, layer, path
		else if (index(ok, " " dir " ") == 0)
			printf "%s: %s/ includes \"%s\": %s/ may use only %s\n", where, layer, path, layer, list
	}' >> "$out"
done

# Devices reach the kernel only through the device manager: nothing under
# vmm/devices/ (or its headers) includes a kernel/ header.
grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"kernel/' \
	$(find vmm/devices include/vmm/devices -name '*.[ch]' | sort) 2>/dev/null |
	sed 's/$/: a device includes kernel\/ (use the device manager)/' >> "$out"

# Every header sits with its folder: none left loose in include/.
find include -maxdepth 1 -name '*.h' | sort |
	sed 's/$/: a header outside include\/FOLDER\//' >> "$out"

if [ -s "$out" ]; then
	cat "$out" >&2
	echo "check-layers: the folder DAG lib <- kernel <- irq <- smp <- vmm does not hold" >&2
	exit 1
fi
echo "check-layers: the folder DAG lib <- kernel <- irq <- smp <- vmm holds; no device includes kernel/"
