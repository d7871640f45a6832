#!/bin/sh
# Nested page faults (SVM exit 0x400) and all exits of one guest boot per
# VMM, counted with KVM's kvm_exit trace event; run where KVM is, e.g.
#   tests/hosttest/hosttest.py run -- sh scripts/nested-faults.sh [ROUNDS]
# SMPVISOR (default build/smpvisor) may name other builds, space separated,
# to compare them. Needs root (tracefs).
T=/sys/kernel/tracing
mountpoint -q $T || mount -t tracefs nodev $T || exit 1
K=build/guest/vmlinuz; I=build/guest/initrd.img
CL="console=ttyS0 panic=-1 quiet"
run() {
	echo 0 >$T/tracing_on; echo >$T/trace; echo 65536 >$T/buffer_size_kb
	echo 0 >$T/events/enable; echo 1 >$T/events/kvm/kvm_exit/enable
	echo 1 >$T/tracing_on
	t0=$(date +%s.%N)
	"$@" </dev/null >/tmp/nested-faults.out 2>&1; rc=$?
	t1=$(date +%s.%N)
	echo 0 >$T/tracing_on
	echo "$1: exit $rc, agent $(grep -c AGENT-START /tmp/nested-faults.out)," \
	     "nested page faults $(grep -c 'reason npf' $T/trace)," \
	     "exits $(grep -c kvm_exit $T/trace), $(echo "$t1 - $t0" | bc) s"
}
for r in $(seq "${1:-1}"); do
	for sv in ${SMPVISOR:-build/smpvisor}; do
		run "$sv" run --kernel $K --initrd $I --cpus 2 --memory 256M --cmdline "$CL"
	done
	run qemu-system-x86_64 -accel kvm -cpu host -M pc -smp 2 -m 256M -nographic \
		-no-reboot -kernel $K -initrd $I -append "$CL"
done
echo 0 >$T/events/enable
