#!/usr/bin/python3
"""Write the seed corpora of the virtio fuzz harnesses (virtio_net,
virtio_blk, virtio_pci) under tests/fuzz/corpus/. The input format is
vdrv_ops.h's: an opcode byte (taken mod 18) and its arguments, little
endian. Seeds are a driver doing the ordinary thing plus the attacks of
the hostile-guest issue, so the fuzzer starts deep in each device.
Usage: mkcorpus_virtio.py [ROOT]   (default tests/fuzz/corpus)
"""
import os
import struct
import sys

STATUS, NEGOTIATE, QUEUE, DRIVER_OK, DESC, OFFER, KICK, COMMON, BAR_RD, \
    CFG_WR, POKE, AVAIL, DEV0, DEV1, PCI_WR, PCI_RD, MSIX, RESET = range(18)
NEXT, WRITE, INDIRECT = 1, 2, 4
VERSION_1 = 1 << 32
MRG_RXBUF = 1 << 15
CTRL_VQ = 1 << 17
GUEST_ANNOUNCE = 1 << 21
MQ = 1 << 22
EVENT_IDX = 1 << 29


def op(code, *fields):
    """fields: (value, bytes) pairs."""
    return bytes([code]) + b"".join(v.to_bytes(n, "little") for v, n in fields)


def negotiate(features):
    return op(NEGOTIATE, (features, 8))


def queue(q, size, vector=0xff):
    return op(QUEUE, (q, 1), (size, 2), (vector, 1))


def desc(q, i, off, length, flags=0, nxt=0):
    """A descriptor at buffer offset off (inside the buffer area)."""
    return op(DESC, (q, 1), (i, 1), (0, 1), (off, 3), (length, 3), (flags, 1), (nxt, 1))


def desc_raw(q, i, gpa, length, flags=0, nxt=0):
    return op(DESC, (q, 1), (i, 1), (0xff, 1), (gpa, 8), (length, 3), (flags, 1), (nxt, 1))


def offer(q, head):
    return op(OFFER, (q, 1), (head, 2))


def kick(q):
    return op(KICK, (q, 1))


def status(v):
    return op(STATUS, (v, 1))


def poke(off, data):
    out = b""
    for i in range(0, len(data), 255):
        part = data[i:i + 255]
        out += bytes([POKE]) + (off + i).to_bytes(3, "little") + bytes([len(part)]) + part
    return out


def net_packet(length, seed=0, hdr=b"\0" * 12):
    return op(DEV0, (length, 3), (seed, 1)) + hdr[:min(12, length)]


def up(features, sizes):
    out = negotiate(features | VERSION_1)
    for q, size in enumerate(sizes):
        out += queue(q, size)
    return out + op(DRIVER_OK)


def net_seeds():
    s = {}
    # The receive attack, step by step.
    a = up(MRG_RXBUF, [8, 8])
    for k in range(7):
        a += desc(0, k, k * 0x1000, 20, WRITE) + offer(0, k)
    a += kick(0) + net_packet(1000, 1) + kick(0)
    a += status(3) + status(7) + status(0)
    a += up(MRG_RXBUF, [2, 8])
    for k in range(60):
        a += desc(0, k % 2, 0, 64, 0) + offer(0, k % 2) + kick(0)
    s["issue-rx-reset"] = a + net_packet(100, 2) + kick(0)
    # Ordinary receive, mergeable and not.
    for name, feat, blen in (("good-rx-mrg", MRG_RXBUF, 512), ("good-rx-plain", 0, 2048),
                             ("runt-rx-plain", 0, 100)):
        b = up(feat, [8, 8])
        for k in range(8):
            b += desc(0, k, k * 0x1000, blen, WRITE) + offer(0, k)
        s[name] = b + net_packet(1500, 3) + kick(0) + net_packet(60, 4) + kick(0)
    # Transmit: header and frame in one descriptor, then split.
    t = up(0, [8, 8]) + poke(0, bytes(12) + b"\xff" * 6 + b"\x02" * 6 + b"\x88\xb5" + b"x" * 50)
    t += desc(1, 0, 0, 76) + offer(1, 0)
    t += desc(1, 1, 0, 6, NEXT, 2) + desc(1, 2, 6, 70) + offer(1, 1)
    s["good-tx"] = t + kick(1) + op(DEV1)
    s["bad-tx-no-header"] = up(0, [8, 8]) + desc(1, 0, 0, 4) + offer(1, 0) + kick(1)
    # Control queue (queue 4 with two pairs): MQ_VQ_PAIRS_SET 2, then 9.
    c = up(CTRL_VQ | MQ, [8, 8, 8, 8, 8])
    c += poke(0, bytes([4, 0, 2, 0])) + poke(0x100, bytes([4, 0, 9, 0]))
    c += desc(4, 0, 0, 4, NEXT, 1) + desc(4, 1, 0x800, 1, WRITE) + offer(4, 0)
    c += desc(4, 2, 0x100, 4, NEXT, 3) + desc(4, 3, 0x801, 1, WRITE) + offer(4, 2)
    s["good-ctrl-mq"] = c + kick(4) + desc(4, 4, 0, 4) + offer(4, 4) + kick(4)
    # Announce (DEV1 asks for it, as a restore does): the status and ISR
    # read, ANNOUNCE_ACK with data after it and as command 1 (errors),
    # then the right one; asked again and dropped by a reset.
    n = up(CTRL_VQ | GUEST_ANNOUNCE, [8, 8, 8, 8, 8]) + op(DEV1)
    n += op(BAR_RD, (0x2006, 2), (1, 1)) + op(BAR_RD, (0x1000, 2), (0, 1))
    n += poke(0, bytes([3, 0, 0])) + poke(0x100, bytes([3, 1])) + poke(0x200, bytes([3, 0]))
    for k, (off, length) in enumerate(((0, 3), (0x100, 2), (0x200, 2))):
        n += desc(4, 2 * k, off, length, NEXT, 2 * k + 1)
        n += desc(4, 2 * k + 1, 0x800 + k, 1, WRITE) + offer(4, 2 * k) + kick(4)
    n += op(BAR_RD, (0x2006, 2), (1, 1)) + op(DEV1) + status(0) + op(BAR_RD, (0x2006, 2), (1, 1))
    s["good-ctrl-announce"] = n
    # Queue sizes changing under a live device, avail index jumps.
    j = up(MRG_RXBUF | EVENT_IDX, [4, 4]) + op(AVAIL, (0, 1), (0x8000, 2)) + kick(0)
    s["bad-avail-jump"] = j + queue(0, 256) + queue(0, 3) + op(DRIVER_OK) + kick(0)
    s["status-shuffle"] = (status(1) + status(3) + status(0xb) + status(0xf) + status(0x8f)
                           + status(0x4f) + status(0) + status(2) + status(0x40))
    return s


def blk_req(q, first, off, typ, sector, data_len, data_write, status_byte=True):
    """Descriptors for one request at buffer offset off; returns bytes."""
    hdr = struct.pack("<IIQ", typ, 0, sector)
    out = poke(off, hdr) + desc(q, first, off, 16, NEXT, first + 1)
    i = first + 1
    if data_len:
        fl = NEXT | (WRITE if data_write else 0)
        if not status_byte:
            fl &= ~NEXT
        out += desc(q, i, off + 0x200, data_len, fl, i + 1)
        i += 1
    if status_byte:
        out += desc(q, i, off + 0x100, 1, WRITE)
    return out + offer(q, first)


def blk_seeds():
    s = {}
    base = up(0, [8, 8])
    s["good-write-read"] = (base + poke(0x200, b"A" * 200) + blk_req(0, 0, 0, 1, 0, 512, False)
                            + kick(0) + op(DEV0, (3, 1)) + blk_req(0, 3, 0x1000, 0, 0, 512, True)
                            + kick(0) + op(DEV0, (3, 1)))
    s["good-flush-id"] = (base + blk_req(1, 0, 0, 4, 0, 0, False)
                          + blk_req(1, 2, 0x1000, 8, 0, 20, True) + kick(1))
    s["good-discard-zeroes"] = (base + poke(0x2000, struct.pack("<QII", 8, 8, 0))
                                + poke(0x3000, struct.pack("<QII", 16, 8, 1))
                                + op(DESC, (0, 1), (0, 1), (0, 1), (0x2000 - 0x1000, 3), (16, 3), (NEXT, 1), (1, 1)))
    # The stale write: a valid write, then a chain without status.
    st = base + poke(0x200, b"A" * 512) + blk_req(0, 0, 0, 1, 0, 512, False)
    st += desc(0, 3, 0x4000, 16) + offer(0, 3) + kick(0)
    st += status(0) + poke(0x200, b"B" * 255) + op(DEV1) + kick(0)
    s["issue-stale-write"] = st
    s["bad-sector-range"] = base + blk_req(0, 0, 0, 0, 1 << 40, 512, True) + kick(0)
    s["bad-odd-length"] = base + blk_req(0, 0, 0, 1, 0, 100, False) + kick(0)
    s["reset-in-flight"] = (base + blk_req(0, 0, 0, 1, 0, 4096, False) + blk_req(1, 0, 0x1000, 0, 8, 4096, True)
                            + kick(0) + kick(1) + op(RESET) + op(DEV1))
    return s


def pci_seeds():
    s = {}

    def cfg(off, length_code, val, ecam=1, write=True):
        return op(PCI_WR if write else PCI_RD, (off, 2), (length_code, 1), (val, 8), (ecam, 1))
    # Size BAR 4 (64-bit at 0x20), move it, turn decode off and on.
    s["bar-move"] = (cfg(0x20, 2, 0xffffffff) + cfg(0x20, 2, 0, write=False) + cfg(0x24, 2, 0x1)
                     + cfg(0x20, 2, 0x4000000c) + cfg(0x4, 1, 0) + cfg(0x4, 1, 6, ecam=0)
                     + up(0, [8]) + kick(0))
    # MSI-X: enable in config space, program entries, mask function.
    m = up(0, [8]) + cfg(0x40, 1, 0x8000) + cfg(0x50, 1, 0x8000) + cfg(0x60, 1, 0xc000)
    for e in range(3):
        m += op(MSIX, (16 * e, 2), (2, 1), (0xfee00000, 8), (1, 1))
        m += op(MSIX, (16 * e + 8, 2), (2, 1), (0x30 + e, 8), (1, 1))
        m += op(MSIX, (16 * e + 12, 2), (2, 1), (0, 8), (1, 1))
    s["msix-program"] = m + op(MSIX, (0x800, 2), (3, 1), (0, 8), (0, 1)) + kick(0)
    s["cf8-raw"] = op(DEV1, (0x80000010, 4), (0, 1), (2, 1), (1, 1)) + op(DEV1, (0, 4), (4, 1), (2, 1), (0, 1))
    s["common-walk"] = b"".join(op(COMMON, (o, 1), (c, 1), (0xffffffffffffffff, 8))
                                for o in range(0, 0x40, 2) for c in (0, 1, 2, 3)) + op(DEV0)
    s["bar-reads"] = b"".join(op(BAR_RD, (o, 2), (c, 1)) for o in (0, 20, 0x1000, 0x2000, 0x3000, 0x3ffe)
                              for c in range(4))
    return s


def main(argv):
    root = argv[1] if len(argv) > 1 else "tests/fuzz/corpus"
    for name, seeds in (("virtio_net", net_seeds()), ("virtio_blk", blk_seeds()),
                        ("virtio_pci", pci_seeds())):
        d = os.path.join(root, name)
        os.makedirs(d, exist_ok=True)
        for k, v in seeds.items():
            with open(os.path.join(d, k), "wb") as f:
                f.write(v)
        print(f"{d}: {len(seeds)} seeds")


if __name__ == "__main__":
    main(sys.argv)
