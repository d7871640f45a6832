#!/usr/bin/env bash
# build-image.sh - build the PostgreSQL database guest that `make demo`,
# examples/small.json, examples/db-2node.json and tests/system/test_db.py boot.
#
# Output (default build/dbimage/):
#   root.img     raw ext4 image (mkfs.ext4 -d) of a Debian 12 minbase system:
#                systemd, PostgreSQL 15, fio, sysbench, iproute2, our guest
#                agent, and the Debian cloud kernel's modules
#   vmlinuz      the Debian cloud kernel (the test guest's, tests/guest/build.sh)
#   initrd.img   busybox initramfs: loads the virtio modules, mounts /dev/vda
#                and switch_roots to systemd
#   root.qcow2   only with --qcow2 (qemu-img convert)
#   stamp        the inputs; unchanged inputs = no work
#   build.log    debootstrap's full output
#
# Guest kernel command line switches (see README.md, "The database guest"):
#   smpvisor.net=IP/PREFIX     address of the first ethernet interface
#   smpvisor.bench=pgbench     run pgbench, print SMPV-PGBENCH lines, power off
#   smpvisor.bench.clients=1,4 smpvisor.bench.time=S smpvisor.bench.scale=N
#                              (a client count ending in s, "4s", runs pgbench
#                              select-only, -S; the others TPC-B like)
#   (SMPV-PG-READY is printed once PostgreSQL answers, AGENT-REPORT at boot)
#
# Usage: scripts/build-image.sh [--out DIR] [--qcow2] [--force]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/build/dbimage
ASSETS=${ASSETS:-$ROOT/build/assets}
QCOW2=0
FORCE=0
SUITE=bookworm
PKGS="systemd systemd-sysv udev dbus kmod procps iproute2 postgresql-15 fio sysbench"
HEADROOM_MB=512

say() { echo "image: $*" >&2; }
die() { echo "image: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case $1 in
	--out) OUT=$2; shift 2 ;;
	--qcow2) QCOW2=1; shift ;;
	--force) FORCE=1; shift ;;
	-h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot)"
for t in debootstrap mkfs.ext4 cpio gzip chroot depmod dpkg-deb flock; do
	command -v $t >/dev/null || die "$t is missing (make deps)"
done
[ $QCOW2 = 0 ] || command -v qemu-img >/dev/null || die "qemu-img is missing (make deps)"
mkdir -p "$OUT" "$ASSETS/debs"
OUT=$(cd "$OUT" && pwd)
exec 9>"$OUT/.lock"
flock 9

# The mirror this machine uses (deb822 or one-line sources), else Debian's.
mirror() {
	local m
	m=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -v security | head -n1 || true)
	[ -n "$m" ] || m=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) .*/\2/p' \
		/etc/apt/sources.list 2>/dev/null | grep -v security | head -n1 || true)
	echo "${m:-http://deb.debian.org/debian}"
}
MIRROR=$(mirror)

# The kernel: the test guest's (same Debian cloud kernel, modules listed in
# load order in its initramfs).
"$ROOT/tests/guest/build.sh" --out "$ROOT/build/guest" >/dev/null 2>&1 ||
	die "building the test guest kernel failed (tests/guest/build.sh)"
G=$ROOT/build/guest
KVER=$(cat "$G/kernel.release")
KDEB=$(ls "$ASSETS/linux-image-${KVER}_"*.deb 2>/dev/null | head -n1 || true)
[ -n "$KDEB" ] || die "no $ASSETS/linux-image-${KVER}_*.deb (tests/guest/build.sh)"

STAMP="suite=$SUITE mirror=$MIRROR
packages=$PKGS
kernel=$(basename "$KDEB")
guest-initrd=$(sha256sum "$G/initrd.img" | cut -d' ' -f1)
agent=$(sha256sum "$G/agent" | cut -d' ' -f1)
script=$(sha256sum "$0" | cut -d' ' -f1)
qcow2=$QCOW2"
if [ $FORCE = 0 ] && [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$STAMP" ] &&
   [ -f "$OUT/root.img" ] && [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initrd.img" ]; then
	say "up to date: $OUT/root.img"
	exit 0
fi

T0=$(date +%s)
el() { echo "$(( $(date +%s) - T0 ))s"; }
TMP=$(mktemp -d "$OUT/.build.XXXXXX")
cleanup() {
	for m in proc sys dev; do umount "$TMP/root/$m" 2>/dev/null || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT
R=$TMP/root

# debootstrap's log condensed: each stage's first package and every 25th.
progress() {
	local line st
	declare -A n=()
	while IFS= read -r line; do
		case $line in
		"I: Retrieving "*|"I: Validating "*) st=Retrieving ;;
		"I: Extracting "*) st=Extracting ;;
		"I: Unpacking "*) st=Unpacking ;;
		"I: Configuring "*) st=Configuring ;;
		[WE]:*) say "$line"; continue ;;
		"I: "*) say "[$(el)] ${line#I: }"; continue ;;
		*) continue ;;
		esac
		n[$st]=$(( ${n[$st]:-0} + 1 ))
		[ $(( n[$st] % 25 )) -eq 1 ] && say "[$(el)] $st packages: ${n[$st]}"
	done
	return 0
}

# 1. debootstrap, with the .debs cached under build/assets/debs. Progress:
# one line per stage and every 25 packages; the full log in build.log.
# The installed tree is kept as base.tar, keyed by suite, mirror and
# packages, so a change to the steps below does not debootstrap again.
BASEKEY=$(echo "$SUITE $MIRROR $PKGS $(debootstrap --version)" | sha256sum | cut -c1-16)
if [ $FORCE = 0 ] && [ -f "$OUT/base-$BASEKEY.tar" ]; then
	say "[$(el)] base system from $OUT/base-$BASEKEY.tar"
	mkdir -p "$R"
	tar -C "$R" -xf "$OUT/base-$BASEKEY.tar"
else
	say "debootstrap $SUITE (minbase + $PKGS) from $MIRROR"
	set +e
	debootstrap --variant=minbase --cache-dir="$ASSETS/debs" \
		--include="${PKGS// /,}" "$SUITE" "$R" "$MIRROR" 2>&1 |
		tee "$OUT/build.log" | progress
	rc=${PIPESTATUS[0]}
	set -e
	[ "$rc" -eq 0 ] || die "debootstrap failed ($rc); see $OUT/build.log"
	rm -f "$OUT"/base-*.tar
	tar -C "$R" -cf "$OUT/base-$BASEKEY.tar.tmp" .
	mv "$OUT/base-$BASEKEY.tar.tmp" "$OUT/base-$BASEKEY.tar"
fi
say "[$(el)] base system installed ($(du -sm "$R" | cut -f1) MiB)"

# 2. The kernel's modules the guest's devices need (the ACPI power button
# and evdev for systemd-logind, virtio), so udev loads them. Only these:
# each module load patches kernel text on every vCPU, slow in the nested
# host, and the rest (crypto, dm, fuse, ...) is of no use here.
dpkg-deb --fsys-tarfile "$KDEB" | tar -x -C "$R" ./lib/modules
KM=$R/lib/modules/$KVER/kernel
find "$KM" -name '*.ko*' ! -path '*/drivers/virtio/*' ! -name 'virtio_blk.ko*' \
	! -name 'virtio_net.ko*' ! -name 'net_failover.ko*' ! -name 'failover.ko*' \
	! -name 'virtio-rng.ko*' ! -name 'virtio_console.ko*' ! -name 'button.ko*' \
	! -name 'evdev.ko*' -delete
find "$KM" -depth -type d -empty -delete
depmod -b "$R" "$KVER"
say "[$(el)] kernel modules: $(find "$KM" -name '*.ko*' | wc -l)"

# 3. Our files.
install -m 0755 "$G/agent" "$R/usr/local/sbin/smpvisor-agent"
echo smpvisor-db > "$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tsmpvisor-db\n' > "$R/etc/hosts"
printf '/dev/vda\t/\text4\tdefaults,errors=remount-ro\t0 1\n' > "$R/etc/fstab"
: > "$R/etc/machine-id"
chroot "$R" passwd -dq root
# The journal in RAM only: fewer writes, and the image stays the same size.
mkdir -p "$R/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=16M\n' \
	> "$R/etc/systemd/journald.conf.d/smpvisor.conf"
# eth0 stays eth0 (no renaming by udev while smpvisor-net sets it up).
mkdir -p "$R/etc/systemd/network"
ln -sf /dev/null "$R/etc/systemd/network/99-default.link"
# Patience: in the nested test host a vCPU can starve for a minute, so
# the default timeouts (90 s for a device or a start, 3 min watchdogs)
# would fail the serial getty or systemd-logind.
mkdir -p "$R/etc/systemd/system.conf.d"
printf '[Manager]\nDefaultTimeoutStartSec=900s\nDefaultDeviceTimeoutSec=900s\n' \
	> "$R/etc/systemd/system.conf.d/smpvisor.conf"
for s in systemd-logind systemd-journald systemd-udevd; do
	mkdir -p "$R/etc/systemd/system/$s.service.d"
	printf '[Service]\nWatchdogSec=0\nTimeoutStartSec=900s\n' \
		> "$R/etc/systemd/system/$s.service.d/smpvisor.conf"
done
# The console is a serial line: no VT getty.
ln -sf /dev/null "$R/etc/systemd/system/getty@tty1.service"

PGC=$R/etc/postgresql/15/main
[ -d "$PGC" ] || die "no PostgreSQL 15 cluster in the image"
cat > "$PGC/conf.d/smpvisor.conf" <<'EOF'
# smpvisor database guest: reachable over virtio-net, small memory.
listen_addresses = '*'
shared_buffers = 64MB
max_connections = 40
jit = off
EOF
# pg_ctl waits 60 s by default for the server to start or stop.
sed -i "s/^pg_ctl_options = .*/pg_ctl_options = '-t 900'/" "$PGC/pg_ctl.conf"
cat >> "$PGC/pg_hba.conf" <<'EOF'
# smpvisor: the host side of the guest's virtio-net link (tests, demo).
host    all     all     10.0.0.0/8      trust
host    all     all     192.168.0.0/16  trust
EOF

mkdir -p "$R/usr/local/lib/smpvisor"
cat > "$R/usr/local/lib/smpvisor/param" <<'EOF'
#!/bin/sh
# param NAME [DEFAULT]: the value of NAME=... on the kernel command line.
for w in $(cat /proc/cmdline); do
	case $w in "$1="*) echo "${w#*=}"; exit 0 ;; esac
done
[ $# -gt 1 ] && echo "$2"
exit 0
EOF

# smpvisor.net=IP/PREFIX: address the first ethernet interface.
cat > "$R/usr/local/lib/smpvisor/net" <<'EOF'
#!/bin/sh
addr=$(/usr/local/lib/smpvisor/param smpvisor.net)
[ -n "$addr" ] || exit 0
rc=1
for i in $(seq 60); do
	dev=$(ls /sys/class/net | grep -v '^lo$' | head -n1)
	if [ -n "$dev" ] && ip addr replace "$addr" dev "$dev" && ip link set "$dev" up; then
		rc=0
		break
	fi
	sleep 0.5
done
echo "SMPV-NET ${dev:-none} $addr rc=$rc" > /dev/console
exit $rc
EOF

# Once PostgreSQL answers: one line with the guest's uptime.
cat > "$R/usr/local/lib/smpvisor/ready" <<'EOF'
#!/bin/sh
for i in $(seq 600); do
	runuser -u postgres -- psql -qAtc 'select 1' >/dev/null 2>&1 && break
	sleep 0.2
done
if runuser -u postgres -- psql -qAtc 'select 1' >/dev/null 2>&1; then
	echo "SMPV-PG-READY uptime=$(cut -d' ' -f1 /proc/uptime) $(runuser -u postgres -- psql -qAtc 'show server_version')" > /dev/console
else
	echo "SMPV-PG-READY error PostgreSQL does not answer" > /dev/console
fi
# What this start of PostgreSQL logged (crash recovery shows here) and the
# kernel's ext4 messages (a journal replay shows there).
awk '/starting PostgreSQL/ { n = NR } { l[NR] = $0 }
     END { if (n) for (i = n; i <= NR && i < n + 40; i++) print "SMPV-PG-LOG " l[i] }' \
	/var/log/postgresql/postgresql-15-main.log > /dev/console 2>/dev/null
dmesg | grep 'EXT4-fs' | sed 's/^/SMPV-KLOG /' > /dev/console
EOF

# smpvisor.bench=pgbench: pgbench at each client count, one line each, then
# power off.
cat > "$R/usr/local/lib/smpvisor/bench" <<'EOF'
#!/bin/sh
P=/usr/local/lib/smpvisor/param
clients=$($P smpvisor.bench.clients 1,4 | tr ',' ' ')
secs=$($P smpvisor.bench.time 10)
scale=$($P smpvisor.bench.scale 4)
con=/dev/console
pg() { runuser -u postgres -- "$@"; }
echo "SMPV-BENCH-START pgbench clients=$clients time=$secs scale=$scale cpus=$(nproc)" > $con
pg dropdb --if-exists bench >/dev/null 2>&1
if ! pg createdb bench || ! pg pgbench -i -q -s "$scale" bench > /tmp/init.log 2>&1; then
	echo "SMPV-BENCH-ERROR pgbench -i failed: $(tail -n1 /tmp/init.log)" > $con
else
	for c in $clients; do
		# "4s": select-only (pgbench -S) at 4 clients; "4": TPC-B like.
		mode=tpcb opt=
		case $c in *s) c=${c%s} mode=select opt=-S ;; esac
		if pg pgbench -n $opt -c "$c" -j "$c" -T "$secs" bench > /tmp/run.log 2>&1; then
			tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' /tmp/run.log | head -n1)
			lat=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' /tmp/run.log)
			tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' /tmp/run.log)
			echo "SMPV-PGBENCH {\"mode\": \"$mode\", \"clients\": $c, \"threads\": $c, \"seconds\": $secs, \"scale\": $scale, \"transactions\": ${tx:-null}, \"tps\": ${tps:-null}, \"latency_ms\": ${lat:-null}}" > $con
		else
			echo "SMPV-BENCH-ERROR pgbench -c $c failed: $(tail -n1 /tmp/run.log)" > $con
		fi
	done
fi
echo "SMPV-BENCH-END" > $con
systemctl --no-block poweroff
EOF
chmod 0755 "$R"/usr/local/lib/smpvisor/*

U=$R/etc/systemd/system
cat > "$U/smpvisor-agent.service" <<'EOF'
[Unit]
Description=smpvisor guest agent report (AGENT-REPORT on the console)
After=systemd-udev-settle.service systemd-modules-load.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/smpvisor-agent agent.report=1
StandardOutput=tty
TTYPath=/dev/console

[Install]
WantedBy=multi-user.target
EOF
cat > "$U/smpvisor-net.service" <<'EOF'
[Unit]
Description=smpvisor guest network (smpvisor.net=IP/PREFIX)
After=systemd-udevd.service
Before=network.target postgresql.service
Wants=network.target

[Service]
Type=oneshot
ExecStart=/usr/local/lib/smpvisor/net
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
EOF
cat > "$U/smpvisor-ready.service" <<'EOF'
[Unit]
Description=smpvisor: report when PostgreSQL answers
# After logind too: a power button pressed before it listens is lost.
After=postgresql.service postgresql@15-main.service systemd-logind.service
Wants=postgresql.service

[Service]
Type=oneshot
ExecStart=/usr/local/lib/smpvisor/ready

[Install]
WantedBy=multi-user.target
EOF
cat > "$U/smpvisor-bench.service" <<'EOF'
[Unit]
Description=smpvisor: pgbench at smpvisor.bench=pgbench, then power off
ConditionKernelCommandLine=smpvisor.bench=pgbench
After=smpvisor-ready.service smpvisor-agent.service

[Service]
Type=oneshot
ExecStart=/usr/local/lib/smpvisor/bench

[Install]
WantedBy=multi-user.target
EOF
mkdir -p "$U/multi-user.target.wants"
for s in agent net ready bench; do
	ln -sf "../smpvisor-$s.service" "$U/multi-user.target.wants/smpvisor-$s.service"
done
# Nothing periodic, and no mounts or modules the guest has no use for.
for t in e2scrub_all.timer fstrim.timer apt-daily.timer apt-daily-upgrade.timer \
	 dpkg-db-backup.timer e2scrub_reap.service systemd-pstore.service \
	 proc-sys-fs-binfmt_misc.automount systemd-binfmt.service \
	 sys-kernel-config.mount sys-fs-fuse-connections.mount sys-kernel-debug.mount \
	 sys-kernel-tracing.mount modprobe@loop.service modprobe@dm_mod.service \
	 modprobe@fuse.service modprobe@efi_pstore.service modprobe@configfs.service \
	 modprobe@drm.service; do
	ln -sf /dev/null "$U/$t"
done

# 4. Trim: documentation, caches, package lists.
rm -rf "$R"/usr/share/doc/* "$R"/usr/share/man/* "$R"/usr/share/info/* \
	"$R"/usr/share/locale/* "$R"/var/cache/apt/* "$R"/var/lib/apt/lists/* \
	"$R"/var/log/*.log "$R"/tmp/*

# 5. The ext4 image: the tree plus headroom for the database.
MB=$(( $(du -sm "$R" | cut -f1) + HEADROOM_MB ))
say "[$(el)] mkfs.ext4 -d: ${MB} MiB image"
rm -f "$TMP/root.img"
# Inode tables and journal zeroed now, not by the guest's ext4lazyinit.
mkfs.ext4 -q -F -L smpvroot -E lazy_itable_init=0,lazy_journal_init=0 \
	-d "$R" "$TMP/root.img" "${MB}M" >/dev/null ||
	die "mkfs.ext4 -d failed"
[ $QCOW2 = 0 ] || qemu-img convert -O qcow2 "$TMP/root.img" "$TMP/root.qcow2"

# 6. The initramfs: the test guest's busybox and virtio modules, a shell /init.
say "[$(el)] initramfs"
I=$TMP/initrd
mkdir -p "$I"
(cd "$I" && gzip -dc "$G/initrd.img" | cpio -id --quiet)
cat > "$I/init" <<'EOF'
#!/bin/busybox sh
# smpvisor database guest initramfs: virtio modules, /dev/vda, systemd.
/bin/busybox mkdir -p /proc /sys /dev /newroot
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
for m in $(cat /etc/agent-modules); do
	insmod /lib/modules/$(uname -r)/$m 2>/dev/null
done
echo "initramfs: virtio modules loaded"
root=/dev/vda
for w in $(cat /proc/cmdline); do
	case $w in root=/dev/*) root=${w#root=} ;; esac
done
i=0
while [ ! -b $root ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if ! mount -t ext4 -o rw $root /newroot; then
	echo "initramfs: cannot mount $root"; sleep 1; poweroff -f
fi
echo "initramfs: $root mounted, starting systemd"
umount /proc /sys
mount --move /dev /newroot/dev 2>/dev/null || umount /dev
exec switch_root /newroot /sbin/init
EOF
chmod 0755 "$I/init"
(cd "$I" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -6 -n > "$TMP/initrd.img"

cp "$G/vmlinuz" "$TMP/vmlinuz"
for f in root.img vmlinuz initrd.img $( [ $QCOW2 = 1 ] && echo root.qcow2 ); do
	mv -f "$TMP/$f" "$OUT/$f"
done
echo "$STAMP" > "$OUT/stamp"
say "[$(el)] built $OUT/root.img ($(du -m --apparent-size "$OUT/root.img" | cut -f1) MiB, $(du -m "$OUT/root.img" | cut -f1) MiB used), vmlinuz, initrd.img"
