#!/usr/bin/python3
"""Write the legacy devices' seeds of the state fuzz harness.

Each seed is the target byte (state_targets_legacy.c's index + 1: com1 1,
i8042 2, cmos 3, acpi-pm 4, post 5, pvpanic 6) and a stream as the
device's save writes it (vmm/devices/serial/uart16550.c, legacy/i8042.c,
legacy/cmos.c, acpi/pm.c, legacy/post.c, legacy/pvpanic.c): good ones, from power-on to the middle of an
exchange, and bad ones, one refusal of the device's load each, so the
fuzzer starts from both sides of every check.
Usage: mkcorpus_state_legacy.py [DIR]   (default tests/fuzz/corpus/state)
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mkcorpus_state import field, section, stream, write  # noqa: E402

COM1, I8042, CMOS, ACPI_PM, POST, PVPANIC = 1, 2, 3, 4, 5, 6


def u8(v):
    return struct.pack("<B", v)


def u16(v):
    return struct.pack("<H", v)


def u32(v):
    return struct.pack("<I", v)


def s64(v):
    return struct.pack("<q", v)


def device(target, name, kind, fields, version=1):
    """One device's seed: fields is a list of (name, bytes), None drops it."""
    body = [field("kind", kind.encode())]
    body += [field(n, v) for n, v in fields if v is not None]
    return bytes([target]) + stream(section(name, version, body))


def edit(fields, **changes):
    """fields with some values replaced (None: left out)."""
    return [(n, changes.get(n, v)) for n, v in fields]


def uart(**changes):
    f = [("ier", u8(0x07)), ("lcr", u8(0x03)), ("mcr", u8(0x0b)),
         ("scr", u8(0x5a)), ("dll", u8(0x01)), ("dlm", u8(0x00)),
         ("fcr", u8(0xc1)), ("lsr_err", u8(0x02)), ("msr_delta", u8(0x08)),
         ("thr_int", u8(1)), ("irq_level", u8(1)),
         ("rx", b"quick brown fox "), ("wire", b"jump")]
    return device(COM1, "com1", "uart16550", edit(f, **changes))


def i8042(**changes):
    f = [("ctr", u8(0x75)), ("outp", u8(0x03)), ("out", u8(0x55)),
         ("out_full", u8(1)), ("out_aux", u8(0)), ("pending", u8(0xd3)),
         ("last_cmd", u8(1))]
    return device(I8042, "i8042", "i8042", edit(f, **changes))


def cmos_ram(b=0x02, a=0x26, c=0x00, d=0x80, clock=0):
    ram = bytearray(128)
    for i in range(0x0e, 0x80):
        ram[i] = (i * 7) & 0xff
    for i in (0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32):
        ram[i] = 0
    ram[0x09] = clock
    ram[0x0a], ram[0x0b], ram[0x0c], ram[0x0d] = a, b, c, d
    return bytes(ram)


FROZEN = [("frozen.sec", u32(30)), ("frozen.min", u32(45)),
          ("frozen.hour", u32(13)), ("frozen.mday", u32(31)),
          ("frozen.mon", u32(2)), ("frozen.year", u32(2030))]


def cmos(frozen=False, **changes):
    f = [("index", u8(0x45)), ("ram", cmos_ram(b=0x82 if frozen else 0x02)),
         ("offset", s64(4 * 365 * 86400))]
    if frozen:
        f += FROZEN
    return device(CMOS, "cmos", "cmos", edit(f, **changes))


def acpi_pm(**changes):
    f = [("sts", u16(0x0100)), ("en", u16(0x0500)), ("cnt", u16(0x0c02)),
         ("sci_level", u8(1))]
    return device(ACPI_PM, "acpi-pm", "acpi-pm", edit(f, **changes))


def seeds():
    yield "legacy-com1-mid", uart()
    yield "legacy-com1-power-on", uart(
        ier=u8(0), lcr=u8(0), mcr=u8(0), scr=u8(0), dll=u8(12), fcr=u8(0),
        lsr_err=u8(0), msr_delta=u8(0), thr_int=u8(0), irq_level=u8(0),
        rx=b"", wire=b"")
    yield "legacy-com1-loop", uart(mcr=u8(0x1b), rx=b"abc", wire=b"x" * 64)
    yield "legacy-com1-bad-rx", uart(rx=bytes(17))
    yield "legacy-com1-bad-fcr", uart(fcr=u8(0x02))
    yield "legacy-com1-bad-wire", uart(rx=b"abc")
    yield "legacy-com1-bad-wire-len", uart(wire=bytes(4097))
    yield "legacy-com1-bad-bool", uart(irq_level=u8(2))
    yield "legacy-com1-bad-size", uart(dll=u16(1))
    yield "legacy-com1-missing", uart(scr=None)
    yield "legacy-com1-bad-kind", device(COM1, "com1", "i8042", [])
    yield "legacy-com1-v2", device(COM1, "com1", "uart16550", [], version=2)

    yield "legacy-i8042-mid", i8042()
    yield "legacy-i8042-reset-low", i8042(outp=u8(0x02), pending=u8(0))
    yield "legacy-i8042-bad-pending", i8042(pending=u8(0x20))
    yield "legacy-i8042-bad-bool", i8042(out_full=u8(2))

    yield "legacy-cmos-mid", cmos()
    yield "legacy-cmos-frozen", cmos(frozen=True)
    yield "legacy-cmos-bad-index", cmos(index=u8(0x80))
    yield "legacy-cmos-bad-offset", cmos(offset=s64(2**63 - 1))
    yield "legacy-cmos-bad-uip", cmos(ram=cmos_ram(a=0xa6))
    yield "legacy-cmos-bad-clock", cmos(ram=cmos_ram(clock=0x30))
    yield "legacy-cmos-bad-regc", cmos(ram=cmos_ram(c=0x80))
    yield "legacy-cmos-bad-month", cmos(frozen=True, **{"frozen.mon": u32(13)})
    yield "legacy-cmos-bad-frozen", cmos(frozen=True, **{"frozen.year": None})

    yield "legacy-acpi-pm-mid", acpi_pm()
    yield "legacy-acpi-pm-bad-sts", acpi_pm(sts=u16(0x0001))
    yield "legacy-acpi-pm-bad-en", acpi_pm(en=u16(0x0800))
    yield "legacy-acpi-pm-bad-cnt", acpi_pm(cnt=u16(0x2000))
    yield "legacy-acpi-pm-bad-bool", acpi_pm(sci_level=u8(7))

    yield "legacy-post", device(POST, "post", "post", [])
    yield "legacy-post-bad-kind", device(POST, "post", "cmos", [])

    yield "legacy-pvpanic-panicked", device(PVPANIC, "pvpanic", "pvpanic",
                                            [("reported", u8(0x01))])
    yield "legacy-pvpanic-bad-bits", device(PVPANIC, "pvpanic", "pvpanic",
                                            [("reported", u8(0x84))])


def main():
    write(seeds())


if __name__ == "__main__":
    main()
