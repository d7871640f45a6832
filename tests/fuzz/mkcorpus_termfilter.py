#!/usr/bin/python3
"""Write the seed corpus of the terminal filter fuzz harness
(tests/fuzz/termfilter_harness.c).

Each seed is one byte that picks how the harness cuts the input into calls,
then what a guest might write to its console: text and UTF-8 (good and
malformed), the sequences that pass (SGR, cursor motion, erase), and the
ones dropped (OSC title and clipboard, DCS, APC, reports, modes), cut
short, aborted, nested, and too long.
Usage: mkcorpus_termfilter.py [DIR]   (default tests/fuzz/corpus/termfilter)
"""
import os
import sys

ESC = b"\x1b"

SEEDS = {
    "text": b"login: root\r\nPassword: \r\n# ls -l\tx\x08y\r\n",
    "utf8": "caf\u00e9 \u20ac \u4e2d\u6587 \U0001f600 \ufffd".encode(),
    "utf8-bad": b"\xc0\x9b\xe0\x80\x9b\xed\xa0\x80\xf4\x90\x80\x80\xff\xe4\xb8a\x9b",
    "c1-utf8": b"\xc2\x9b6n\xc2\x9d0;t\x07\xc2\x90q\xc2\x9c",
    "c0": bytes(range(0x20)) + b"\x7f",
    "sgr": ESC + b"[1;31mred" + ESC + b"[38;5;196m" + ESC + b"[38:2::1:2:3m" + ESC + b"[0m" + ESC + b"[m",
    "cursor": ESC + b"[H" + ESC + b"[10;20H" + ESC + b"[2J" + ESC + b"[K" + ESC + b"[5A" +
              ESC + b"[3d" + ESC + b"7x" + ESC + b"8" + ESC + b"M" + ESC + b"[2L" + ESC + b"[@",
    "osc-title-bel": ESC + b"]0;owned\x07after",
    "osc-title-st": ESC + b"]2;owned" + ESC + b"\\after",
    "osc52": ESC + b"]52;c;aGVsbG8gY2xpcGJvYXJk\x07" + ESC + b"]52;p;?" + ESC + b"\\",
    "osc8-link": ESC + b"]8;;http://example.com\x07link" + ESC + b"]8;;\x07",
    "dcs": ESC + b"P+q544e\x07still" + ESC + b"\\" + ESC + b"P1$r0m" + ESC + b"\\",
    "apc-pm-sos": ESC + b"_Gf=24;AAAA" + ESC + b"\\" + ESC + b"^pm" + ESC + b"\\" + ESC + b"Xsos" + ESC + b"\\",
    "reports": ESC + b"[6n" + ESC + b"[c" + ESC + b"[>c" + ESC + b"[21t" + ESC + b"[14t" +
               ESC + b"[x" + ESC + b"[?1$p" + ESC + b"Z\x05",
    "modes": ESC + b"[?25l" + ESC + b"[?1049h" + ESC + b"[4h" + ESC + b"[20h" + ESC + b"[>4;1m" +
             ESC + b"[3J" + ESC + b"[1;24r" + ESC + b"[!p" + ESC + b"[2 q" + ESC + b"c" + ESC + b"(0lqk",
    "aborts": ESC + b"[31\x18x" + ESC + b"]0;t\x1ay" + ESC + b"]0;t" + ESC + b"[1mz" +
              ESC + ESC + b"[m" + ESC + b"[1\n2m" + ESC + b"[1;\xc3\xa9mw",
    "csi-limit": ESC + b"[" + b"1;" * 31 + b"m" + ESC + b"[" + b"1;" * 32 + b"mok",
    "unterminated-osc": ESC + b"]0;" + b"A" * 4096,
    "unterminated-csi": ESC + b"[" + b"7" * 4096 + b"m",
}


def main(argv):
    out = argv[1] if len(argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "termfilter")
    os.makedirs(out, exist_ok=True)
    for i, (name, data) in enumerate(sorted(SEEDS.items())):
        # Vary the cut: one call, a split, small pieces.
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes([(i * 37) % 256]) + data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
