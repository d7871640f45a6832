#!/usr/bin/python3
"""Write the seed corpus of the virtqueue fuzz harness (tests/fuzz/).

Input format: see virtq_harness.c. Names say what the unit test expects:
good-* must pop at least one chain, bad-* must be refused (-1).
Usage: mkcorpus.py [DIR]   (default tests/fuzz/corpus/virtq)
"""
import os
import struct
import sys

DESC_GPA = 0x1000
NEXT, WRITE, INDIRECT = 1, 2, 4
BOUNDARY = 8 << 20


def desc(addr, length, flags=0, nxt=0):
    return struct.pack("<QIHH", addr, length, flags, nxt)


def seed(qsize_log2, flags, idx, descs, heads, extra=None):
    """Bytes for one queue; extra maps guest addresses to bytes."""
    qsize = 1 << qsize_log2
    mem = bytearray(0x2000)
    for i, d in enumerate(descs):
        mem[16 * i:16 * i + 16] = d
    avail = 16 * qsize
    ring = struct.pack("<HH", 0, idx) + b"".join(struct.pack("<H", h) for h in heads)
    mem[avail:avail + len(ring)] = ring
    for gpa, data in (extra or {}).items():
        off = gpa - DESC_GPA
        mem[off:off + len(data)] = data
    # The harness zero-fills what the input leaves out: keep seeds small.
    return bytes([qsize_log2, flags]) + struct.pack("<H", idx) + bytes(mem).rstrip(b"\0")


def seeds():
    ind = 0x2000     # an indirect table's guest address (inside the input)
    data = 0x100000
    yield "good-simple", seed(3, 0, 1, [desc(data, 16, NEXT, 1),
                                        desc(data + 4096, 4096, NEXT | WRITE, 2),
                                        desc(data + 8192, 1, WRITE)], [0])
    yield "good-indirect", seed(3, 2, 1, [desc(ind, 48, INDIRECT)], [0], {
        ind: desc(data, 16, NEXT, 1) + desc(data + 512, 512, NEXT | WRITE, 2) +
        desc(data + 1024, 1, WRITE)})
    yield "good-many-event-idx", seed(3, 1, 4, [desc(data + 64 * i, 64, WRITE)
                                               for i in range(8)], [0, 1, 2, 3])
    yield "good-boundary", seed(3, 0, 1, [desc(BOUNDARY - 100, 300, WRITE)], [0])
    yield "good-full-ring", seed(0, 3, 1, [desc(data, 1)], [0])
    yield "bad-loop", seed(3, 0, 1, [desc(data, 8, NEXT, 1), desc(data, 8, NEXT, 0)], [0])
    yield "bad-self-loop", seed(3, 0, 1, [desc(data, 8, NEXT, 0)], [0])
    yield "bad-head-range", seed(3, 0, 1, [desc(data, 8)], [8])
    yield "bad-next-range", seed(3, 0, 1, [desc(data, 8, NEXT, 200)], [0])
    yield "bad-outside-ram", seed(3, 0, 1, [desc(16 << 20, 8)], [0])
    yield "bad-wrapping-len", seed(3, 0, 1, [desc((1 << 64) - 4, 8)], [0])
    yield "bad-read-after-write", seed(3, 0, 1, [desc(data, 8, NEXT | WRITE, 1),
                                                 desc(data, 8)], [0])
    yield "bad-nested-indirect", seed(3, 2, 1, [desc(ind, 16, INDIRECT)], [0], {
        ind: desc(ind, 16, INDIRECT)})
    yield "bad-indirect-not-offered", seed(3, 0, 1, [desc(ind, 16, INDIRECT)], [0], {
        ind: desc(data, 8)})
    yield "bad-indirect-loop", seed(3, 2, 1, [desc(ind, 32, INDIRECT)], [0], {
        ind: desc(data, 8, NEXT, 1) + desc(data, 8, NEXT, 0)})
    yield "bad-indirect-ragged", seed(3, 2, 1, [desc(ind, 24, INDIRECT)], [0])
    yield "bad-idx-jump", seed(3, 0, 9, [desc(data, 8)], [0] * 8)


def main(argv):
    out = argv[0] if argv else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                             "corpus", "virtq")
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
