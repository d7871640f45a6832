#!/usr/bin/python3
"""Write the seed corpus of the state fuzz harness (tests/fuzz/state_harness.c).

Each input is one target byte (0: the reader alone; N: state_targets[N-1])
and a state stream in the format of include/lib/state.h.
Usage: mkcorpus_state.py [DIR]   (default tests/fuzz/corpus/state)
"""
import os
import struct
import sys


def field(name, data):
    n = name.encode()
    return bytes([len(n)]) + n + struct.pack("<I", len(data)) + data


def section(name, version, fields):
    n = name.encode()
    body = b"".join(fields)
    return b"S" + bytes([len(n)]) + n + struct.pack("<II", version, len(body)) + body


def stream(*sections, fmt=1, end=True):
    return (b"SMPVSTAT" + struct.pack("<II", fmt, 0) + b"".join(sections)
            + (b"E" if end else b""))


def seeds():
    dev = section("dev0", 1, [field("kind", b"counter"), field("a", b"\x01"),
                              field("b", struct.pack("<H", 0x1234)),
                              field("blob", bytes(64))])
    yield "reader-good", b"\x00" + stream(dev, section("dev1", 2, []))
    yield "reader-empty", b"\x00" + stream()
    yield "reader-cut", b"\x00" + stream(dev, end=False)
    yield "reader-format2", b"\x00" + stream(dev, fmt=2)
    yield "reader-dup", b"\x00" + stream(dev, dev)
    yield "reader-long-field", b"\x00" + stream(dev)[:-10] + b"\xff\xff\xff\x7fE"


def write(named_seeds, default="tests/fuzz/corpus/state"):
    """Write (name, bytes) seeds into argv[1], or the default folder."""
    out = sys.argv[1] if len(sys.argv) > 1 else default
    os.makedirs(out, exist_ok=True)
    for name, data in named_seeds:
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


def main():
    write(seeds())


if __name__ == "__main__":
    main()
