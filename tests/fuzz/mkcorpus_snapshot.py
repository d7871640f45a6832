#!/usr/bin/python3
"""Write the seed corpus of the snapshot manifest fuzz harness
(tests/fuzz/snapshot_manifest_harness.c): a whole manifest as smpvisor
writes it, one with two nodes and disks, and the ways a manifest handed
to run --restore can be wrong (cut short, a future format, counts that
disagree, sizes out of range, wrong types, control characters,
duplicate keys).
Usage: mkcorpus_snapshot.py [DIR]   (default tests/fuzz/corpus/snapshot_manifest)
"""
import copy
import json
import os
import sys

GOOD = {
    "format": 1, "smpvisor": "0.1.0", "taken_ns": 1796000000000000000,
    "argv": ["--config", "vm.json", "--api-socket", "/run/vm.sock", "-v"],
    "cpus": {"count": 4, "sockets": 2, "cores": 2, "threads": 1,
             "apic_ids": [0, 1, 2, 3]},
    "memory": {"nodes": [134217728, 134217728]},
    "state": {"size": 40960},
    "devices": ["com1", "i8042", "cmos", "acpi-pm", "post", "pvpanic",
                "pci-host", "virtio-blk0", "virtio-rng"],
    "disks": [{"path": "/var/lib/vm/disk.img", "size": 8388608,
               "mtime_ns": 1796000000123456789}],
}


def variant(**changes):
    m = copy.deepcopy(GOOD)
    for path, value in changes.items():
        keys = path.split("__")
        o = m
        for k in keys[:-1]:
            o = o[k]
        if value is None:
            del o[keys[-1]]
        else:
            o[keys[-1]] = value
    return json.dumps(m).encode()


SEEDS = {
    "good": json.dumps(GOOD, indent=1).encode(),
    "one-node": variant(memory__nodes=[268435456], disks=[],
                        cpus={"count": 1, "sockets": 1, "cores": 1,
                              "threads": 1, "apic_ids": [0]}),
    "cut": json.dumps(GOOD).encode()[:100],
    "future": variant(format=2),
    "format-zero": variant(format=0),
    "not-object": b"[1, 2, 3]",
    "empty": b"",
    "ids-short": variant(cpus__apic_ids=[0, 1]),
    "topology": variant(cpus__sockets=3),
    "node-unaligned": variant(memory__nodes=[134217729, 134217728]),
    "node-zero": variant(memory__nodes=[0]),
    "nodes-empty": variant(memory__nodes=[]),
    "node-huge": variant(memory__nodes=[1 << 62]),
    "too-many-nodes": variant(memory__nodes=[4096] * 65),
    "state-zero": variant(state__size=0),
    "negative": variant(taken_ns=-1),
    "argv-type": variant(argv=["--cpus", 4]),
    "argv-nul": variant(argv=["a\u0000b"]),
    "device-ctl": variant(devices=["com1\n"]),
    "device-empty": variant(devices=[""]),
    "disk-type": variant(disks=[{"path": 7, "size": 1, "mtime_ns": 1}]),
    "disk-neg": variant(disks=[{"path": "/x", "size": -1, "mtime_ns": 1}]),
    "apic-big": variant(cpus__apic_ids=[0, 1, 2, 1 << 33]),
    "missing-cpus": variant(cpus=None),
    "dup-key": b'{"format": 1, "format": 1}',
    "version-type": variant(smpvisor=1),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/snapshot_manifest"
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
