#!/usr/bin/python3
"""The test guest agent's disk pattern (tests/guest/agent/disk.c), on the host side.

Block b (4 KiB) of a disk written with agent.disk=DEV,write,seed=S holds the
little-endian words b, S, then mix64(h + i) for i = 2..511 with
h = mix64(S ^ mix64(b)). This module recomputes it, so a test can tell
whether an image holds exactly that pattern after the guest powered off, or
build such an image for the guest to verify.

    blkpattern.py write IMAGE SIZE [SEED]   write the pattern image
    blkpattern.py check IMAGE [SEED]        exit 0 iff every block matches
    blkpattern.py digest SIZE [SEED]        sha256 of the pattern image
"""
import hashlib
import os
import shlex
import struct
import sys

BLK = 4096
M64 = (1 << 64) - 1


def mix64(x):
    x = (x + 0x9e3779b97f4a7c15) & M64
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M64
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & M64
    return x ^ (x >> 31)


def block(seed, b):
    h = mix64(seed ^ mix64(b))
    words = [b, seed] + [mix64((h + i) & M64) for i in range(2, BLK // 8)]
    return struct.pack("<512Q", *words)


def blocks(size, seed=0):
    for b in range(size // BLK):
        yield block(seed, b)


def digest(size, seed=0):
    h = hashlib.sha256()
    for data in blocks(size, seed):
        h.update(data)
    return h.hexdigest()


def write(path, size, seed=0):
    with open(path, "wb") as f:
        for data in blocks(size, seed):
            f.write(data)


def image(size, seed=0):
    """A pattern image in this machine's build tree (the nested host reads
    it there), written once per size and seed; returns its path."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    scratch = os.path.join(root, "build", "systest-scratch")
    os.makedirs(scratch, exist_ok=True)
    path = os.path.join(scratch, f"blk-pattern-{size}-{seed}.img")
    if not os.path.exists(path) or os.path.getsize(path) != size:
        write(path + ".tmp", size, seed)
        os.rename(path + ".tmp", path)
    return path


def sha256_line(path, tag):
    """Shell that prints `tag HEX` with path's SHA-256 (run in L1 next to a boot: guest.boot setup/after)."""
    return f"echo {tag} $(sha256sum {shlex.quote(path)} | cut -d' ' -f1)"


def sha256_from(b, tag):
    """The digest a sha256_line printed into a boot's output, or None."""
    for ln in b.out.splitlines():
        if ln.startswith(tag + " "):
            return ln.split()[1]
    return None


def check(path, seed=0):
    """The numbers of the blocks that differ from the pattern."""
    bad = []
    with open(path, "rb") as f:
        b = 0
        while True:
            data = f.read(BLK)
            if len(data) < BLK:
                break
            if data != block(seed, b):
                bad.append(b)
            b += 1
    return bad


def main(argv):
    if len(argv) >= 3 and argv[0] == "write":
        write(argv[1], int(argv[2]), int(argv[3]) if len(argv) > 3 else 0)
        return 0
    if len(argv) >= 2 and argv[0] == "check":
        bad = check(argv[1], int(argv[2]) if len(argv) > 2 else 0)
        print(f"{len(bad)} bad blocks" + (f", first {bad[:8]}" if bad else ""))
        return 1 if bad else 0
    if len(argv) >= 2 and argv[0] == "digest":
        print(digest(int(argv[1]), int(argv[2]) if len(argv) > 2 else 0))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
