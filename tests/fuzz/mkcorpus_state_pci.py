#!/usr/bin/python3
"""Write the PCI devices' seeds of the state fuzz harness.

Each seed is the target byte (1 + the legacy targets' count + the index in
state_targets_pci.c: pci-host, virtio-blk0, virtio-net0, virtio-rng,
vhost-user-blk0) and a stream. The good seeds are real saves of the
targets' own devices driven mid-operation (build/tests/unit/
test_virtio_seeds writes them with SMPV_STATE_SEEDS set: run `make` first);
the bad ones are those streams with one value each that the device's load
refuses, a field left out or a version from the future, so the fuzzer
starts from both sides of every check.
Usage: mkcorpus_state_pci.py [DIR]   (default tests/fuzz/corpus/state)
"""
import os
import re
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from mkcorpus_state import field, section, stream, write  # noqa: E402

TARGETS = ["pci-host", "virtio-blk0", "virtio-net0", "virtio-rng",
           "vhost-user-blk0"]
SEEDER = os.path.join(HERE, "..", "..", "build", "tests", "unit",
                      "test_virtio_seeds")


def nr_legacy():
    """The entries of state_targets_legacy.c's table: they come first."""
    with open(os.path.join(HERE, "state_targets_legacy.c")) as f:
        src = f.read()
    table = re.search(r"state_targets_legacy\[\] = \{(.*?)\n\};", src, re.S)
    return len(re.findall(r'^\t\{ "', table.group(1), re.M))


def parse(data):
    """A stream's sections: [(name, version, [(field, bytes), ...])]."""
    if data[:8] != b"SMPVSTAT" or data[-1:] != b"E":
        raise ValueError("not a state stream")
    p, end, out = 16, len(data) - 1, []
    while p < end:
        n = data[p + 1]
        name = data[p + 2:p + 2 + n].decode()
        version, blen = struct.unpack_from("<II", data, p + 2 + n)
        body = data[p + 10 + n:p + 10 + n + blen]
        fields, q = [], 0
        while q < blen:
            fn = body[q]
            (fs,) = struct.unpack_from("<I", body, q + 1 + fn)
            fields.append((body[q + 1:q + 1 + fn].decode(),
                           body[q + 5 + fn:q + 5 + fn + fs]))
            q += 5 + fn + fs
        out.append((name, version, fields))
        p += 10 + n + blen
    return out


def real_saves():
    """{section name: (version, fields)} of every device the seeder saved."""
    saves = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, SMPV_STATE_SEEDS=tmp)
        subprocess.run([SEEDER], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name in sorted(os.listdir(tmp)):
            with open(os.path.join(tmp, name), "rb") as f:
                for sec, version, fields in parse(f.read()):
                    saves.setdefault(sec, (version, fields))
    return saves


def patch(value, off, new):
    return value[:off] + new + value[off + len(new):]


def variants(name, version, fields):
    """(suffix, changes) for one device: changes maps a field to its new
    bytes (None: left out), or holds "version" (one from the future)."""
    future = ("v%d" % (version + 1), {"version": version + 1})
    yield "mid", {}
    if name == "pci-host":
        cfg = dict(fields)["pci.cfg"]
        yield "bad-vendor", {"pci.cfg": patch(cfg, 0, b"\x34\x12")}
        yield "bad-latch-size", {"cf8": b"\x00\x00"}
        yield future
        return
    f = dict(fields)
    n = len(f["q.size"]) // 2
    yield "bad-qsize", {"q.size": struct.pack("<H", 3) + f["q.size"][2:]}
    yield "bad-status", {"status": b"\x09"}
    yield "bad-isr", {"isr": b"\x80"}
    yield "bad-vector", {"q.vector": struct.pack("<H", 99) * n}
    yield "bad-live", {"q.live": b"\x02" + f["q.live"][1:]}
    yield "bad-ring", {"q.desc": struct.pack("<Q", 0xfee00000) * n,
                       "q.enabled": b"\x01" * n}
    yield "bad-queues", {"queues": struct.pack("<H", n + 1)}
    yield "missing-live", {"q.live": None}
    yield future
    if name == "virtio-blk0":
        yield "bad-disk", {"size": struct.pack("<Q", 2 << 20)}
        yield "bad-serial", {"serial": b"another"}
    elif name == "virtio-net0":
        yield "bad-mac", {"mac": b"\x02\x00\x00\x00\x00\x09"}
        yield "bad-waiting", {"rx.len": struct.pack("<I", 5) + f["rx.len"][4:]}
        yield "bad-pairs", {"active_pairs": struct.pack("<I", 3)}
        yield "bad-announce", {"announce": b"\x02"}
        # Version 1 had no "announce": it loads, as not announced.
        yield "v1", {"version": 1, "announce": None}
    elif name == "vhost-user-blk0":
        yield "bad-cfg", {"cfg": patch(f["cfg"], 0, b"\x40")}


def seeds():
    base = 1 + nr_legacy()
    saves = real_saves()
    for k, name in enumerate(TARGETS):
        version, fields = saves[name]
        for suffix, changes in variants(name, version, fields):
            body = [field(n, changes.get(n, v)) for n, v in fields
                    if changes.get(n, v) is not None]
            sec = section(name, changes.get("version", version), body)
            seed = name if name.startswith("pci-") else f"pci-{name}"
            yield f"{seed}-{suffix}", bytes([base + k]) + stream(sec)


def main():
    write(seeds())


if __name__ == "__main__":
    main()
