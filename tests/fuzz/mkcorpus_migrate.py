#!/usr/bin/python3
"""Write the seed corpus of the migration stream fuzz harness
(tests/fuzz/migrate_stream_harness.c): a whole stream as a source sends
it (header, manifest, pages, zero runs, the state, the end) and the ways
one can be wrong: a bad magic or version, no manifest first, pages
outside the guest's RAM, across its end, unaligned or too long, frames of
an unknown type, a second state, an end before the state, cut short.
Usage: mkcorpus_migrate.py [DIR]   (default tests/fuzz/corpus/migrate_stream)
"""
import os
import struct
import sys

MIB = 1 << 20
PAGE = 4096


def head(magic=b"SMPVMIG\0", version=1):
    return magic + struct.pack("<II", version, 0)


def frame(kind, gpa=0, payload=b"", length=None):
    n = len(payload) if length is None else length
    return struct.pack("<IIQ", ord(kind), n, gpa) + payload


MANIFEST = frame("M", payload=b'{"format": 1}')
STATE = frame("S", payload=b"SMPVSTAT" + bytes(8))
END = frame("E")


def stream(*frames, manifest=MANIFEST, hdr=None):
    return (hdr or head()) + manifest + b"".join(frames)


SEEDS = {
    "good": stream(frame("P", 0, b"\x5a" * PAGE), frame("P", 17 * MIB, b"\x11" * 2 * PAGE),
                   frame("Z", 8 * MIB, length=4 * PAGE), STATE, END),
    "rounds": stream(frame("P", PAGE, b"\x01" * PAGE), frame("Z", PAGE, length=PAGE),
                     frame("P", PAGE, b"\x02" * PAGE), STATE, END),
    "zero-whole": stream(frame("Z", 0, length=16 * MIB), STATE, END),
    "bad-magic": stream(STATE, END, hdr=head(b"SMPVMIX\0")),
    "bad-version": stream(STATE, END, hdr=head(version=2)),
    "no-manifest": head() + STATE + END,
    "manifest-huge": head() + frame("M", length=1 << 30),
    "outside": stream(frame("P", 64 * MIB, b"\x01" * PAGE), STATE, END),
    "across-end": stream(frame("P", 32 * MIB - PAGE, b"\x01" * 2 * PAGE), STATE, END),
    "zero-across": stream(frame("Z", 0, length=33 * MIB), STATE, END),
    "zero-wrap": stream(frame("Z", (1 << 64) - PAGE, length=2 * PAGE), STATE, END),
    "unaligned": stream(frame("P", 100, b"\x01" * PAGE), STATE, END),
    "odd-length": stream(frame("P", 0, b"\x01" * 100), STATE, END),
    "too-long": stream(frame("P", 0, length=16 * MIB)),
    "unknown": stream(frame("X", 0, b"abc"), STATE, END),
    "two-states": stream(STATE, STATE, END),
    "pages-after-state": stream(STATE, frame("P", 0, b"\x01" * PAGE), END),
    "end-first": stream(END),
    "end-payload": stream(STATE, frame("E", payload=b"x")),
    "state-huge": stream(frame("S", length=1 << 31)),
    "cut": stream(frame("P", 0, b"\x01" * PAGE))[:-100],
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/migrate_stream"
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
