#!/usr/bin/python3
"""Fail when a test skipped that must run here.

Usage: check-skips.py LOG [ALLOWED]
LOG is the output of `make test` (scripts/run-unit.py's 'unit: skipped'
lines and pytest's -ra 'SKIPPED' lines); ALLOWED (default
.ci/allowed-skips) lists the skips accepted, one regular expression per
line. Prints every skip and whether it was allowed; exits 1 if any was not.
"""
import re
import sys


def skips(log):
    for line in log.splitlines():
        line = line.rstrip()
        if line.startswith("unit: skipped ") or line.startswith("SKIPPED ["):
            yield line


def main(argv):
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    allowed_file = argv[1] if len(argv) > 1 else ".ci/allowed-skips"
    with open(argv[0], errors="replace") as f:
        log = f.read()
    with open(allowed_file) as f:
        allowed = [re.compile(l.strip()) for l in f
                   if l.strip() and not l.lstrip().startswith("#")]
    bad = 0
    for line in skips(log):
        ok = any(a.search(line) for a in allowed)
        print(f"skips: {'allowed' if ok else 'NOT ALLOWED'}: {line}")
        bad += not ok
    if bad:
        print(f"skips: {bad} test(s) skipped that must run on this machine "
              f"(see {allowed_file})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
