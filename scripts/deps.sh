#!/usr/bin/env bash
# Install the Debian packages smpvisor needs to build, test and benchmark.
# Idempotent: asks apt only for what is missing, and is silent when nothing is.
set -euo pipefail

pkgs=(
	make gcc clang libclang-rt-14-dev pkg-config
	libjansson-dev libnuma-dev liburing-dev libcmocka-dev libseccomp-dev
	python3 python3-pytest acpica-tools valgrind
	qemu-system-x86 qemu-system-common qemu-utils busybox-static cpio kmod
	gnuplot-nox procps util-linux e2fsprogs fio
	debootstrap postgresql-client-15
)

missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
