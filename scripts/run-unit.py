#!/usr/bin/python3
"""Run the cmocka unit-test binaries and print one summary line.

Usage: run-unit.py [--valgrind] BINARY...
Each binary's own output is shown; the last lines name the skipped tests
(binary: test) and read 'unit: N passed, N failed, N skipped' so CI can
read the result. A skip does not fail the run: tests that need /dev/kvm
or CAP_NET_ADMIN skip on hosts without them.
"""
import re
import subprocess
import sys


def main(argv):
    valgrind = False
    if argv and argv[0] == "--valgrind":
        valgrind = True
        argv = argv[1:]
    passed = failed = 0
    skipped = []
    for binary in argv:
        cmd = [binary]
        if valgrind:
            cmd = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
                   "--errors-for-leak-kinds=definite"] + cmd
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace")
        sys.stdout.write(proc.stdout)
        ok = re.findall(r"\[  PASSED  \] (\d+) test", proc.stdout)
        bad = re.findall(r"\[  FAILED  \] (\d+) test", proc.stdout)
        passed += sum(int(n) for n in ok)
        failed += sum(int(n) for n in bad)
        # cmocka prints '[  SKIPPED ] name' when the test skips and again in
        # the list at the end; the count line reads '[  SKIPPED ] N test(s)'.
        names = re.findall(r"^\[  SKIPPED \] (\w+)$", proc.stdout, re.M)
        skipped += [f"{binary}: {name}" for name in dict.fromkeys(names)]
        if proc.returncode != 0 and not bad:
            print(f"unit: {binary} exited with status {proc.returncode}")
            failed += 1
    for name in skipped:
        print(f"unit: skipped {name}")
    print(f"unit: {passed} passed, {failed} failed, {len(skipped)} skipped")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
