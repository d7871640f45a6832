#!/usr/bin/python3
"""Drive a program on a pseudo-terminal as a user at a keyboard would.

    ptydrive.py SCRIPT.json -- ARGV...

SCRIPT.json is a list of steps {"expect": TEXT, "timeout": S, "send": TEXT}
(each key optional): wait until TEXT has appeared in the output since the
previous match, then type TEXT. After the last step it waits for the
program to exit (the "exit_timeout", default 60 s, is the last step's
"timeout" if it has no "expect"). Prints what the terminal showed, then
PTYDRIVE {json}: the exit status, how far the steps got and the seconds
from the last keys sent to the exit. Exit status 0 when every step
matched and the program exited in time.
"""
import json
import os
import select
import signal
import subprocess
import sys
import time


def main(argv):
    sep = argv.index("--")
    with open(argv[1]) as f:
        steps = json.load(f)
    master, slave = os.openpty()
    p = subprocess.Popen(argv[sep + 1:], stdin=slave, stdout=slave, stderr=subprocess.PIPE,
                         close_fds=True, start_new_session=True)
    os.close(slave)
    seen, at = b"", 0
    done, sent_at, error = 0, None, None

    def pump(timeout):
        nonlocal seen
        r, _, _ = select.select([master], [], [], timeout)
        if r:
            try:
                data = os.read(master, 65536)
            except OSError:     # EIO: the program closed the terminal
                return False
            seen += data
        return True

    for st in steps:
        want = st.get("expect", "").encode()
        deadline = time.monotonic() + st.get("timeout", 60)
        while want and want not in seen[at:]:
            if time.monotonic() > deadline or p.poll() is not None:
                error = f"step {done}: {st.get('expect')!r} not seen"
                break
            pump(min(1.0, max(deadline - time.monotonic(), 0)))
        if error:
            break
        if want:
            at = seen.index(want, at) + len(want)
        if st.get("send"):
            os.write(master, st["send"].encode())
            sent_at = time.monotonic()
        done += 1
    rc = None
    if not error:
        deadline = time.monotonic() + (steps[-1].get("exit_timeout", 60) if steps else 60)
        while p.poll() is None and time.monotonic() < deadline:
            pump(0.2)
        rc = p.poll()
        exited_at = time.monotonic()
        if rc is None:
            error = "still running after the last step"
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    while pump(0):
        if not select.select([master], [], [], 0)[0]:
            break
    err = p.stderr.read().decode(errors="replace")
    sys.stdout.write(seen.decode(errors="replace").replace("\r", ""))
    sys.stdout.write("\n=== stderr\n" + err + "\n")
    took = exited_at - sent_at if sent_at is not None and rc is not None else None
    print("PTYDRIVE " + json.dumps({"rc": rc, "steps_done": done, "steps": len(steps),
                                    "error": error, "exit_after_last_keys_s": took}))
    return 0 if error is None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
