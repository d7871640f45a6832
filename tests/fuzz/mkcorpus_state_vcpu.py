#!/usr/bin/python3
"""Write the seed corpus of the vCPU state fuzz harness (tests/fuzz/vcpu_state_harness.c).

Each seed is a state stream with sections "vm" and "vcpu.0"
(smp/vcpu_save.c). The good one is a real save: build/tests/unit/
test_vcpu_save writes it with SMPV_STATE_SEEDS set (run `make` first;
$BUILD picks another build folder). The bad ones are it with one value
each that a load refuses, a field cut or left out, a section missing or
from the future, so the fuzzer starts from both sides of every check.
Offsets below are the KVM ABI's (linux/kvm.h, asm/kvm.h), which is fixed.
Usage: mkcorpus_state_vcpu.py [DIR]   (default tests/fuzz/corpus/vcpu_state)
"""
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from mkcorpus_state import field, section, stream, write  # noqa: E402
from mkcorpus_state_pci import parse, patch  # noqa: E402

SEEDER = os.path.join(HERE, "..", "..", os.environ.get("BUILD", "build"),
                      "tests", "unit", "test_vcpu_save")
MSR = struct.Struct("<IIQ")     # kvm_msr_entry: index, reserved, data


def real_save():
    """[(section, version, [(field, bytes)])] of the seeder's stream."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, SMPV_STATE_SEEDS=tmp)
        subprocess.run([SEEDER], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(tmp, "vcpu_vm.stream"), "rb") as f:
            return parse(f.read())


def msrs(n, first=0x10):
    return b"".join(MSR.pack(first + i, 0, i << 12)
                    for i in range(n))


def u32(v):
    return struct.pack("<I", v)


def variants(f):
    """(name, section, changes): changes maps a field to its new bytes
    (None: left out), or holds "version"; section None drops "vcpu.0"."""
    m = f["msrs"]
    pit = f["pit"]
    yield "good", "vcpu.0", {}
    yield "vcpu-v2", "vcpu.0", {"version": 2}
    yield "vcpu-missing", None, {}
    yield "vcpu-regs-short", "vcpu.0", {"regs": f["regs"][:-8]}
    yield "vcpu-no-tsc", "vcpu.0", {"tsc_khz": None}
    yield "vcpu-tsc-zero", "vcpu.0", {"tsc_khz": u32(0)}
    yield "vcpu-tsc-high", "vcpu.0", {"tsc_khz": u32(20000000)}
    yield "vcpu-mp-s390", "vcpu.0", {"mp": u32(7)}
    yield "vcpu-mp-runnable", "vcpu.0", {"mp": u32(0)}
    yield "vcpu-xcrs-many", "vcpu.0", {"xcrs": patch(f["xcrs"], 0, u32(17))}
    yield "vcpu-xcrs-flags", "vcpu.0", {"xcrs": patch(f["xcrs"], 4, u32(1))}
    yield "vcpu-debugregs-flags", "vcpu.0", {
        "debugregs": patch(f["debugregs"], 48, b"\x01")}
    yield "vcpu-events-flags", "vcpu.0", {
        "events": patch(f["events"], 20, u32(0x80))}
    yield "vcpu-msrs-none", "vcpu.0", {"msrs": b""}
    yield "vcpu-msrs-ragged", "vcpu.0", {"msrs": m + b"\0\0\0\0"}
    yield "vcpu-msrs-dup", "vcpu.0", {"msrs": m + m[:MSR.size]}
    yield "vcpu-msrs-reserved", "vcpu.0", {"msrs": patch(m, 4, u32(1))}
    yield "vcpu-msrs-1024", "vcpu.0", {"msrs": msrs(1024)}
    yield "vcpu-msrs-1025", "vcpu.0", {"msrs": msrs(1025)}
    yield "vm-v2", "vm", {"version": 2}
    yield "vm-chip-swap", "vm", {"pic_master": f["pic_slave"],
                                 "pic_slave": f["pic_master"]}
    yield "vm-ioapic-pad", "vm", {"ioapic": patch(f["ioapic"], 4, u32(1))}
    yield "vm-pit-flags", "vm", {"pit": patch(pit, len(pit) - 40, u32(4))}
    yield "vm-pit-reserved", "vm", {"pit": patch(pit, len(pit) - 4, u32(1))}
    yield "vm-clock-flags", "vm", {"clock": patch(f["clock"], 8, u32(1))}
    yield "vm-clock-pad", "vm", {"clock": patch(f["clock"], 12, u32(1))}
    yield "vm-no-clock", "vm", {"clock": None}


def seeds():
    saved = real_save()
    every = {n: v for _, _, fields in saved for n, v in fields}
    for name, target, changes in variants(every):
        secs = []
        for sec, version, fields in saved:
            if sec == "vcpu.0" and target is None:
                continue
            ch = changes if sec == target else {}
            body = [field(n, ch.get(n, v)) for n, v in fields
                    if ch.get(n, v) is not None]
            secs.append(section(sec, ch.get("version", version), body))
        yield name, stream(*secs)


def main():
    write(seeds(), "tests/fuzz/corpus/vcpu_state")


if __name__ == "__main__":
    main()
