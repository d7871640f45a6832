#!/usr/bin/env bash
# build.sh - build the test guest that every smpvisor system test boots.
#
# Output (default build/guest/):
#   vmlinuz         the Debian cloud kernel (serial, ext4, KVM guest, PVH and
#                   ACPI NUMA built in; virtio drivers are modules)
#   initrd.img      gzip'ed newc cpio: /init = our static agent
#                   (tests/guest/agent/), busybox-static with its applets in
#                   /bin, the virtio modules and pvpanic_mmio (the driver
#                   of smpvisor's pvpanic, ACPI QEMU0001) plus
#                   /etc/agent-modules, their load order (the .deb has
#                   no modules.dep)
#   kernel.config   the kernel's config, kernel.release its `uname -r`
#   stamp           what the image was built from; unchanged inputs = no work
#   initrd-fio.img  with --fio: initrd.img followed by a second cpio archive
#                   holding the host's fio (Debian's, dynamically linked),
#                   the shared libraries ldd lists and the loader, for the
#                   blk benchmark (bench/); stamp-fio says what it holds
#
# The kernel .deb is downloaded once into build/assets/ (named by package and
# version). Usage: tests/guest/build.sh [--out DIR] [--agent PATH] [--force] [--fio]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/build/guest
AGENT=
FORCE=0
FIO=0
ASSETS=${ASSETS:-$ROOT/build/assets}
META=linux-image-cloud-amd64
# What the agent loads, dependencies first (added by build.sh from modinfo).
WANT="virtio_pci virtio_mmio virtio_blk virtio_net virtio_console virtio_rng
virtio_balloon pvpanic_mmio"

say() { echo "guest: $*" >&2; }
die() { echo "guest: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case $1 in
	--out) OUT=$2; shift 2 ;;
	--agent) AGENT=$2; shift 2 ;;
	--force) FORCE=1; shift ;;
	--fio) FIO=1; shift ;;
	-h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
for t in apt-get apt-cache dpkg-deb modinfo cpio gzip readelf flock make; do
	command -v $t >/dev/null || die "$t is missing (make deps)"
done
mkdir -p "$OUT" "$ASSETS"
OUT=$(cd "$OUT" && pwd)

# One build at a time per output directory (tests may start in parallel).
exec 9>"$OUT/.lock"
flock 9

# The kernel package the metapackage points at, and its candidate version.
resolve_kernel() {
	apt-cache depends "$META" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[^ ]*\).*/\1/p' | head -n1
}
PKG=$(resolve_kernel || true)
if [ -z "$PKG" ]; then
	say "apt-cache does not know $META: apt-get update"
	apt-get update -qq || true
	PKG=$(resolve_kernel || true)
fi
if [ -n "$PKG" ]; then
	VER=$(apt-cache policy "$PKG" | sed -n 's/^ *Candidate: *//p')
	[ -n "$VER" ] && [ "$VER" != "(none)" ] || die "no candidate version of $PKG"
	DEB=$(ls "$ASSETS/${PKG}_${VER//:/%3a}_"*.deb 2>/dev/null | head -n1 || true)
else
	# No package lists at all (offline): fall back to a cached .deb.
	DEB=$(ls -t "$ASSETS"/linux-image-*-cloud-amd64_*.deb 2>/dev/null | head -n1 || true)
	[ -n "$DEB" ] || die "cannot resolve $META and no kernel .deb in $ASSETS"
	PKG=$(dpkg-deb -f "$DEB" Package)
	VER=$(dpkg-deb -f "$DEB" Version)
	say "apt knows no $META; using cached $PKG $VER"
fi
if [ -z "$DEB" ]; then
	say "downloading $PKG $VER into $ASSETS"
	(cd "$ASSETS" && apt-get download -q -o APT::Sandbox::User=root \
		"$PKG=$VER" >/dev/null) || die "apt-get download $PKG=$VER failed"
	DEB=$(ls "$ASSETS/${PKG}_${VER//:/%3a}_"*.deb 2>/dev/null | head -n1 || true)
	[ -n "$DEB" ] || die "apt-get download left no .deb for $PKG"
fi
KVER=${PKG#linux-image-}
say "kernel $PKG $VER ($KVER)"

# The agent: built by make unless given.
if [ -z "$AGENT" ]; then
	make -s -C "$ROOT" build/guest/agent >&2 || die "building the agent failed"
	AGENT=$ROOT/build/guest/agent
fi
[ -x "$AGENT" ] || die "no agent binary at $AGENT"
! readelf -l "$AGENT" 2>/dev/null | grep -q "program interpreter" ||
	die "$AGENT is not statically linked"

# busybox-static: the installed one (make deps installs it), else the .deb.
BUSYBOX=/bin/busybox
BBVER=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || true)
if [ -z "$BBVER" ] || [ ! -x "$BUSYBOX" ]; then
	BBVER=$(apt-cache policy busybox-static | sed -n 's/^ *Candidate: *//p')
	[ -n "$BBVER" ] && [ "$BBVER" != "(none)" ] || die "no busybox-static package"
	BBDEB=$(ls "$ASSETS/busybox-static_${BBVER//:/%3a}_"*.deb 2>/dev/null | head -n1 || true)
	if [ -z "$BBDEB" ]; then
		say "downloading busybox-static $BBVER"
		(cd "$ASSETS" && apt-get download -q -o APT::Sandbox::User=root \
			"busybox-static=$BBVER" >/dev/null) || die "apt-get download busybox-static failed"
		BBDEB=$(ls "$ASSETS/busybox-static_${BBVER//:/%3a}_"*.deb | head -n1)
	fi
	BUSYBOX=$ASSETS/busybox-$BBVER
	[ -x "$BUSYBOX" ] || {
		t=$(mktemp -d)
		dpkg-deb -x "$BBDEB" "$t"
		cp "$t/bin/busybox" "$BUSYBOX.tmp" && mv "$BUSYBOX.tmp" "$BUSYBOX"
		rm -rf "$t"
	}
fi

# initrd-fio.img: initrd.img unpacked, then a second cpio archive with fio,
# its libraries (at the paths ldd resolves them to) and the loader. The
# kernel unpacks concatenated archives in turn. It is about 85 MiB (fio links
# ceph, gluster, rdma...), so it is not the default guest; uncompressed
# because gunzip of that much in a nested guest takes longer than copying.
build_fio() {
	local fio libs f stamp t
	fio=$(command -v fio) || die "fio is missing (make deps)"
	libs=$(ldd "$fio" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
		LC_ALL=C sort -u)
	[ -n "$libs" ] || die "ldd $fio listed no libraries"
	stamp="fio=$(dpkg-query -W -f='${Version}' fio 2>/dev/null || echo unknown)
initrd=$(sha256sum "$OUT/initrd.img" | cut -d' ' -f1)
script=$(sha256sum "$0" | cut -d' ' -f1)
$(sha256sum "$fio" $libs)"
	if [ $FORCE = 0 ] && [ -f "$OUT/initrd-fio.img" ] && [ -f "$OUT/stamp-fio" ] &&
	   [ "$(cat "$OUT/stamp-fio")" = "$stamp" ]; then
		say "up to date: $OUT/initrd-fio.img"
		return
	fi
	t=$(mktemp -d "$OUT/.fio.XXXXXX")
	mkdir -p "$t/root/usr/bin"
	install -m 0755 "$fio" "$t/root/usr/bin/fio"
	for f in $libs; do
		mkdir -p "$t/root$(dirname "$f")"
		cp -L "$f" "$t/root$f"
	done
	find "$t/root" -exec touch -h -d @0 {} +
	(cd "$t/root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) \
		> "$t/fio.cpio"
	# Both archives uncompressed: the kernel finds an uncompressed archive
	# after another only at a 4-byte aligned offset, which cpio's 512-byte
	# blocks give, and not after a gzip stream of any length.
	{ gzip -dc "$OUT/initrd.img"; cat "$t/fio.cpio"; } > "$t/initrd-fio.img"
	mv -f "$t/initrd-fio.img" "$OUT/initrd-fio.img"
	echo "$stamp" > "$OUT/stamp-fio"
	rm -rf "$t"
	say "built $OUT/initrd-fio.img: fio and $(echo "$libs" | wc -l) libraries" \
		"($(du -k "$OUT/initrd-fio.img" | cut -f1) KiB)"
}

# Rebuild only when an input changed.
STAMP="kernel=$PKG $VER
agent=$(sha256sum "$AGENT" | cut -d' ' -f1)
busybox=$BBVER $(sha256sum "$BUSYBOX" | cut -d' ' -f1)
script=$(sha256sum "$0" | cut -d' ' -f1)"
if [ $FORCE = 0 ] && [ -f "$OUT/stamp" ] && [ -f "$OUT/vmlinuz" ] &&
   [ -f "$OUT/initrd.img" ] && [ "$(cat "$OUT/stamp")" = "$STAMP" ]; then
	say "up to date: $OUT"
	[ $FIO = 0 ] || build_fio
	exit 0
fi

TMP=$(mktemp -d "$OUT/.build.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
say "unpacking $(basename "$DEB")"
dpkg-deb -x "$DEB" "$TMP/x"
KSRC=$TMP/x/lib/modules/$KVER
[ -d "$KSRC/kernel" ] || die "$DEB has no lib/modules/$KVER/kernel"

# Index the package's modules by name (dashes read as underscores) and put
# the wanted ones in dependency order. Compressed modules are unpacked here
# so the agent can hand plain .ko files to finit_module.
declare -A MODPATH=() SEEN=()
while IFS= read -r f; do
	b=${f##*/}
	b=${b%%.ko*}
	MODPATH[${b//-/_}]=$f
done < <(cd "$KSRC" && find kernel -name '*.ko' -o -name '*.ko.xz' -o \
	-name '*.ko.zst' -o -name '*.ko.gz')
ORDER=()
visit() {
	local m=$1 d f
	[ -n "${SEEN[$m]:-}" ] && return
	SEEN[$m]=1
	f=${MODPATH[$m]:-}
	if [ -z "$f" ]; then
		# Built in (or not there at all): nothing to load.
		grep -q "/${m//_/[-_]}.ko" "$KSRC/modules.builtin" 2>/dev/null ||
			say "note: module $m is neither in the package nor built in"
		return
	fi
	for d in $(modinfo -F depends "$KSRC/$f" | tr ',' ' '); do
		visit "${d//-/_}"
	done
	ORDER+=("$m")
}
for m in $WANT; do
	visit "$m"
done

R=$TMP/root
mkdir -p "$R"/{bin,dev,etc,proc,sys,tmp,root} "$R/lib/modules/$KVER"
ln -s bin "$R/sbin"
: > "$R/etc/agent-modules"
for m in "${ORDER[@]}"; do
	f=${MODPATH[$m]}
	plain=${f%.ko*}.ko
	mkdir -p "$R/lib/modules/$KVER/$(dirname "$f")"
	case $f in
	*.ko) cp "$KSRC/$f" "$R/lib/modules/$KVER/$plain" ;;
	*.ko.xz) xz -dc "$KSRC/$f" > "$R/lib/modules/$KVER/$plain" ;;
	*.ko.zst) zstd -qdc "$KSRC/$f" > "$R/lib/modules/$KVER/$plain" ;;
	*.ko.gz) gzip -dc "$KSRC/$f" > "$R/lib/modules/$KVER/$plain" ;;
	esac
	echo "$plain" >> "$R/etc/agent-modules"
done
say "modules: ${ORDER[*]}"
cp "$KSRC/modules.builtin" "$KSRC/modules.order" "$R/lib/modules/$KVER/" 2>/dev/null || true

install -m 0755 "$AGENT" "$R/init"
install -m 0755 "$BUSYBOX" "$R/bin/busybox"
n=0
for a in $("$BUSYBOX" --list); do
	case $a in busybox|init|linuxrc) continue ;; esac
	ln -s busybox "$R/bin/$a"
	n=$((n + 1))
done
say "busybox $BBVER with $n applets"
# /dev/console for the kernel to open before the agent mounts devtmpfs.
mknod -m 600 "$R/dev/console" c 5 1 2>/dev/null || true

say "packing initrd.img"
# Fixed times, owners and inode numbers: the same inputs give the same bytes.
find "$R" -exec touch -h -d @0 {} +
(cd "$R" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) |
	gzip -6 -n > "$TMP/initrd.img"
cp "$TMP/x/boot/vmlinuz-$KVER" "$TMP/vmlinuz"
cp "$TMP/x/boot/config-$KVER" "$TMP/kernel.config"
echo "$KVER" > "$TMP/kernel.release"
for f in vmlinuz initrd.img kernel.config kernel.release; do
	mv -f "$TMP/$f" "$OUT/$f"
done
echo "$STAMP" > "$OUT/stamp"
say "built $OUT/vmlinuz and $OUT/initrd.img ($(du -k "$OUT/initrd.img" | cut -f1) KiB)"
[ $FIO = 0 ] || build_fio
