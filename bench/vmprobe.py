#!/usr/bin/python3
"""The half of bench/ that runs where KVM is (in the nested test host, or
right here on vmx/svm). bench/run sends it one JSON job on the command line
and reads `PROBE {json}` lines back from its stdout.

Jobs:
  boots    launch VMMs in turn with the test guest and time it: from just before
           exec to the VMM's first KVM_RUN (LD_PRELOAD firstrun.so) and to
           the agent's AGENT-REPORT line; the guest's own uptime_s; the
           VMM's resident memory while the guest sleeps after its report
           (from /proc/PID/smaps, split into guest RAM and the rest).
  session  boot VMMs with agent.shell=1 (all at once), then run a list of steps
           alternating between them and the host itself (after an
           optional host command "pre"): each step is a
           shell command for one guest (typed on its console) or for the
           host, and the AGENT-* lines it printed come back.
"""
import json
import os
import queue
import subprocess
import sys
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
FIRSTRUN = os.path.join(ROOT, "build", "bench", "firstrun.so")


def emit(kind, obj):
    print(f"PROBE {json.dumps(dict(obj, probe=kind))}", flush=True)


def agent_lines(text):
    """[(KIND, json-or-text)] for the AGENT-* markers in text, in order."""
    out = []
    for line in text.splitlines():
        i = line.find("AGENT-")
        if i < 0:
            continue
        kind, _, rest = line[i + 6:].partition(" ")
        rest = rest.strip()
        if rest.startswith("{"):
            try:
                out.append((kind, json.JSONDecoder().raw_decode(rest)[0]))
            except ValueError:
                out.append(("BADJSON", line))
        else:
            out.append((kind, rest))
    return out


def smaps_split(pid, guest_kb):
    """(total RSS kB, guest RAM RSS kB) of a process.

    Guest RAM is every private writable anonymous mapping at least half the
    guest's RAM in size: both VMMs map guest RAM so, and nothing else in
    them is that large. The rest is the VMM's own footprint."""
    total = guest = 0
    big = False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            first = line.split(None, 1)[0]
            if "-" in first and not first.endswith(":"):
                parts = line.split()
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                path = parts[5] if len(parts) > 5 else ""
                big = ((hi - lo) // 1024 >= guest_kb // 2 and parts[1].startswith("rw")
                       and not path.startswith("/"))
            elif first == "Rss:":
                kb = int(line.split()[1])
                total += kb
                if big:
                    guest += kb
    return total, guest


class Vmm:
    """A VMM process whose stdout and stderr are read by threads."""

    def __init__(self, cmd, preload=True):
        env = dict(os.environ)
        if preload:
            env["LD_PRELOAD"] = FIRSTRUN
        self.lines = queue.Queue()
        self.out = []
        self.first_run = None
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        self.t_exec = self.t0
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read_out(self):
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode(errors="replace")
            self.out.append(line)
            self.lines.put((time.monotonic(), line))
        self.lines.put((time.monotonic(), None))

    def _read_err(self):
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode(errors="replace")
            if line.startswith("BENCH-FIRST-KVM-RUN "):
                self.first_run = int(line.split()[1]) / 1e9
            else:
                self.out.append("[stderr] " + line)

    def wait_for(self, marker, deadline):
        """(time, line) of the first line containing marker, or (None, None)."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None, None
            try:
                t, line = self.lines.get(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            if line is None:
                return None, None
            if marker in line:
                return t, line

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def stop(self, timeout=30):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def tail(self, n=40):
        return "".join(self.out[-n:])


def boot_once(j):
    """One boot: timings and the VMM's memory while the guest sleeps.

    Once the numbers are taken the VMM is killed: waiting for the guest
    to power off would only add time that nothing here measures."""
    v = Vmm(j["cmd"])
    deadline = v.t0 + j.get("timeout", 300)
    t_rep, line = v.wait_for("AGENT-REPORT", deadline)
    res = {"system": j.get("system"), "ok": False}
    if t_rep is None:
        v.proc.kill()
        res.update(rc=v.stop(), error="no AGENT-REPORT before the timeout or VMM exit",
                   tail=v.tail())
        return res
    rep = dict(agent_lines(line)).get("REPORT") or {}
    time.sleep(j.get("settle", 0.3))
    try:
        rss, guest = smaps_split(v.proc.pid, j["guest_mb"] * 1024)
    except OSError:
        rss = guest = None
    alive = v.proc.poll() is None
    v.proc.kill()
    v.stop()
    res.update(ok=alive and rss is not None, report_s=t_rep - v.t0,
               first_run_s=None if v.first_run is None else v.first_run - v.t0,
               uptime_s=rep.get("uptime_s"), online_cpus=rep.get("online_cpus"),
               rss_kb=rss, guest_rss_kb=guest,
               vmm_kb=None if rss is None else rss - guest)
    if not res["ok"]:
        res.update(error="VMM exited before its memory was read", tail=v.tail())
    return res


def job_boots(j):
    """The boots of j["boots"] one after another (the caller alternates)."""
    for b in j["boots"]:
        res = boot_once(b)
        res["tag"] = b.get("tag")
        emit("boot", res)


def run_host(cmd, timeout):
    p = subprocess.run(["/bin/sh", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, errors="replace", timeout=timeout, cwd=ROOT)
    return p.stdout


def job_session(j):
    """Boot the guests of j["vmms"], then run j["steps"] in order."""
    vmms = {}
    t_end = time.monotonic() + j.get("timeout", 900)
    if j.get("pre"):
        emit("pre", {"output": run_host(j["pre"], 300)[-2000:]})
    try:
        # All guests boot at once (nothing here times the boots): on a KVM
        # host with CPUs to spare that takes the time of the slowest one.
        for name, cmd in j["vmms"].items():
            vmms[name] = Vmm(cmd, preload=False)
        t_boot = min(t_end, time.monotonic() + j.get("boot_timeout", 400))
        for name, v in vmms.items():
            t, _ = v.wait_for("AGENT-SHELL", t_boot)
            if t is None:
                emit("error", {"system": name, "error": "guest shell did not start",
                               "tail": v.tail()})
                return
            v.send(j.get("setup", "") + "\n")
            emit("booted", {"system": name, "seconds": t - v.t0})
        for n, step in enumerate(j["steps"]):
            sysname, cmd = step["system"], step["cmd"]
            t0 = time.monotonic()
            if sysname == "host":
                text = run_host(cmd, max(t_end - t0, 10))
            else:
                v = vmms[sysname]
                start = len(v.out)
                # The marker is computed by the guest shell, so the echo of
                # the typed command never matches it.
                v.send(f"{cmd}; echo BENCH-STEP-$(({n} + 1000))\n")
                t, _ = v.wait_for(f"BENCH-STEP-{n + 1000}", t_end)
                if t is None:
                    emit("error", {"system": sysname, "step": n, "error": "step timed out",
                                   "tail": v.tail()})
                    return
                text = "".join(v.out[start:])
            lines = agent_lines(text)
            found = [(k, x) for k, x in lines if isinstance(x, dict)]
            # An agent line that did not parse: its length and both ends,
            # so the bench can say what broke it (a kernel message inside
            # it, a lost byte on the console).
            bad = [{"length": len(x), "head": x[:300], "tail": x[-300:]}
                   for k, x in lines if k == "BADJSON"]
            emit("step", {"n": n, "system": sysname, "tag": step.get("tag"),
                          "seconds": time.monotonic() - t0, "agent": found, "bad": bad})
    finally:
        # Nothing is measured after the last step: no need to wait for
        # the guests to power off.
        for v in vmms.values():
            v.proc.kill()
            v.stop()


def main():
    j = json.loads(sys.argv[1])
    {"boots": job_boots, "session": job_session}[j["job"]](j)


if __name__ == "__main__":
    main()
