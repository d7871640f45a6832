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
           A boot that fails is run once more at once; its record says
           so ("retried": the first try's error, reason and tail).
  session  boot VMMs with agent.shell=1 (all at once), then run a list of steps
           alternating between them and the host itself (after an
           optional host command "pre"): each step is a
           shell command for one guest (typed on its console) or for the
           host, and the AGENT-* lines it printed come back.
           A guest that does not reach its shell, or dies (or hangs) in a
           step, is restarted once ("retry" record) and the step run
           again; one that fails again is dead ("error" record), and its
           remaining steps come back as "step" records with "failed" set,
           while the other guests go on.
  snapshot boot VMMs in turn with a guest that fills memory (agent.fill),
           then save it to a file and restore it in a new process, timing
           both: smpvisor `ctl SOCK snapshot DIR` and `run --restore DIR`,
           QEMU `stop` + `migrate` to a file over QMP and a new QEMU with
           `-incoming` + `cont`; the disk space the files take. A run that
           fails is run once more at once, as a boot is.

Every failure carries a "reason": what failed, the VMM's exit status if it
exited, and its last stderr line (smpvisor says why a guest died there,
e.g. "vcpu 0: guest triple fault (KVM_EXIT_SHUTDOWN)").
"""
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
FIRSTRUN = os.path.join(ROOT, "build", "bench", "firstrun.so")

# The AGENT-* line parser the system tests use; the tree is the same here
# and in the nested host (shared read-only at the same path).
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
from agentlines import agent_lines  # noqa: E402


def emit(kind, obj):
    print(f"PROBE {json.dumps(dict(obj, probe=kind))}", flush=True)


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
        self.err = []
        self.eof = False        # its stdout ended: the VMM exited (or is exiting)
        self.first_run = None
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        self.t_exec = self.t0
        self._t_out = threading.Thread(target=self._read_out, daemon=True)
        self._t_err = threading.Thread(target=self._read_err, daemon=True)
        self._t_out.start()
        self._t_err.start()

    def _read_out(self):
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode(errors="replace")
            self.out.append(line)
            self.lines.put((time.monotonic(), line))
        self.eof = True
        self.lines.put((time.monotonic(), None))

    def _read_err(self):
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode(errors="replace")
            if line.startswith("BENCH-FIRST-KVM-RUN "):
                self.first_run = int(line.split()[1]) / 1e9
            else:
                self.err.append(line)
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

    def reason(self, what):
        """what failed, the exit status if the VMM exited, and the VMM's
        last stderr line: "no guest shell (exit 1): vcpu 0: guest triple
        fault (KVM_EXIT_SHUTDOWN)". Call it before killing the VMM."""
        if self.eof:
            try:
                self.proc.wait(timeout=2)   # stdout ends a moment before the exit
            except subprocess.TimeoutExpired:
                pass
        rc = self.proc.poll()
        if rc is not None:
            self._t_err.join(2)     # its last line may still be in the pipe
        last = next((ln.strip() for ln in reversed(self.err) if ln.strip()), "")
        return (what + (f" (exit {rc})" if rc is not None else "")
                + (f": {last[:300]}" if last else ""))

    def kill(self):
        self.proc.kill()
        return self.stop()


def boot_once(j):
    """One boot: timings and the VMM's memory while the guest sleeps.

    Once the numbers are taken the VMM is killed: waiting for the guest
    to power off would only add time that nothing here measures."""
    v = Vmm(j["cmd"])
    timeout = j.get("timeout", 300)
    deadline = v.t0 + timeout
    t_rep, line = v.wait_for("AGENT-REPORT", deadline)
    res = {"system": j.get("system"), "ok": False}
    if t_rep is None:
        dead = v.eof or v.proc.poll() is not None
        reason = v.reason("no AGENT-REPORT" if dead else f"no AGENT-REPORT in {timeout:.0f} s")
        res.update(rc=v.kill(), error="no AGENT-REPORT before the timeout or VMM exit",
                   reason=reason, tail=v.tail())
        return res
    rep = dict(agent_lines(line)).get("REPORT") or {}
    time.sleep(j.get("settle", 0.3))
    try:
        rss, guest = smaps_split(v.proc.pid, j["guest_mb"] * 1024)
    except OSError:
        rss = guest = None
    alive = v.proc.poll() is None
    reason = None if alive else v.reason("VMM exited after the report")
    v.kill()
    res.update(ok=alive and rss is not None, report_s=t_rep - v.t0,
               first_run_s=None if v.first_run is None else v.first_run - v.t0,
               uptime_s=rep.get("uptime_s"), online_cpus=rep.get("online_cpus"),
               rss_kb=rss, guest_rss_kb=guest,
               vmm_kb=None if rss is None else rss - guest)
    if not res["ok"]:
        res.update(error="VMM exited before its memory was read",
                   reason=reason or "its memory could not be read", tail=v.tail())
    elif j.get("cpus") and res["online_cpus"] != j["cpus"]:
        res.update(ok=False, error=f"{res['online_cpus']} CPUs online of {j['cpus']}",
                   reason=f"{res['online_cpus']} CPUs online of {j['cpus']}", tail=v.tail())
    return res


def boot_checked(b, t_end):
    """boot_once within the job's time (t_end), or a failed record."""
    left = t_end - time.monotonic()
    if left < min(b.get("timeout", 300), 60):
        return {"system": b.get("system"), "ok": False, "error": "not run",
                "reason": "not run: the job's time ran out", "tail": ""}
    return boot_once(dict(b, timeout=min(b.get("timeout", 300), left)))


def job_boots(j):
    """The boots of j["boots"] one after another (the caller alternates);
    one that fails is run once more at once, if the job's time (deadline,
    seconds) leaves room for it. Every boot gives one record."""
    t_end = time.monotonic() + j.get("deadline", 1e9)
    for b in j["boots"]:
        res = boot_checked(b, t_end)
        if not res["ok"] and res.get("error") != "not run" \
                and t_end - time.monotonic() >= b.get("timeout", 300):
            first = res
            res = boot_checked(b, t_end)
            res["retried"] = {k: first.get(k) for k in ("error", "reason", "tail")}
        res["tag"] = b.get("tag")
        emit("boot", res)


def run_host(cmd, timeout):
    p = subprocess.run(["/bin/sh", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, errors="replace", timeout=timeout, cwd=ROOT)
    return p.stdout


def job_session(j):
    """Boot the guests of j["vmms"], then run j["steps"] in order.

    A guest gets one retry (a restart) in the whole session: when it does
    not reach its shell, or a step of it does not finish (the VMM exited,
    or the step ran past step_timeout), it is restarted and the step run
    again. A guest that fails again is dead: its remaining steps come back
    failed, the other guests' steps still run."""
    vmms, dead, retried = {}, {}, set()
    t_end = time.monotonic() + j.get("timeout", 900)
    boot_timeout = j.get("boot_timeout", 400)
    step_timeout = j.get("step_timeout")
    if j.get("pre"):
        emit("pre", {"output": run_host(j["pre"], 300)[-2000:]})

    def launch(names, attempt):
        """Start names at once (nothing here times the boots: on a KVM host
        with CPUs to spare that takes the time of the slowest one); return
        {name: (reason, tail)} of those that did not reach their shell."""
        failed = {}
        for name in names:
            try:
                vmms[name] = Vmm(j["vmms"][name], preload=False)
            except OSError as e:
                vmms.pop(name, None)
                failed[name] = (f"cannot start the VMM: {e}", "")
        t_boot = min(t_end, time.monotonic() + boot_timeout)
        for name in names:
            if name in failed:
                continue
            v = vmms[name]
            t, _ = v.wait_for("AGENT-SHELL", t_boot)
            if t is None:
                failed[name] = (v.reason("no guest shell"), v.tail())
                v.kill()
                continue
            try:
                v.send(j.get("setup", "") + "\n")
            except OSError:
                pass    # died just now: its first step finds out
            emit("booted", {"system": name, "seconds": t - v.t0, "attempt": attempt})
        return failed

    def give_up(name, error, reason, tail, step=None):
        dead[name] = f"{error}: {reason}"
        emit("error", {"system": name, "step": step, "error": error, "reason": reason,
                       "tail": tail})

    def guest_step(n, name, cmd):
        """(console text, None) or (None, (reason, tail)) when the guest
        died or the step ran out of time."""
        v = vmms[name]
        start = len(v.out)
        limit = t_end if step_timeout is None else min(t_end, time.monotonic() + step_timeout)
        # The marker is computed by the guest shell, so the echo of
        # the typed command never matches it.
        try:
            v.send(f"{cmd}; echo BENCH-STEP-$(({n} + 1000))\n")
        except OSError:
            pass        # the VMM is gone: wait_for sees its end
        t, _ = v.wait_for(f"BENCH-STEP-{n + 1000}", limit)
        if t is None:
            failed = (v.reason("the guest died in the step" if v.eof or v.proc.poll() is not None
                               else "the step timed out"), v.tail())
            v.kill()
            return None, failed
        return "".join(v.out[start:]), None

    try:
        failed = launch(list(j["vmms"]), 1)
        for name, (reason, tail) in failed.items():
            retried.add(name)
            emit("retry", {"system": name, "step": None, "error": "guest shell did not start",
                           "reason": reason, "tail": tail})
        for name, (reason, tail) in (launch(list(failed), 2) if failed else {}).items():
            give_up(name, "guest shell did not start, twice", reason, tail)
        for n, step in enumerate(j["steps"]):
            sysname, cmd = step["system"], step["cmd"]
            t0 = time.monotonic()
            rec = {"n": n, "system": sysname, "tag": step.get("tag")}
            if sysname in dead:
                emit("step", dict(rec, seconds=0.0, agent=[], bad=[], failed=dead[sysname]))
                continue
            if sysname == "host":
                text = run_host(cmd, max(t_end - t0, 10))
            else:
                text, why = guest_step(n, sysname, cmd)
                if why and sysname not in retried and t_end - time.monotonic() > 60:
                    retried.add(sysname)
                    emit("retry", {"system": sysname, "step": n, "error": "the step failed",
                                   "reason": why[0], "tail": why[1]})
                    again = launch([sysname], 2)
                    if sysname in again:
                        why = again[sysname]
                    else:
                        text, why = guest_step(n, sysname, cmd)
                if why:
                    give_up(sysname, "the step failed" + (", after a retry" if sysname in retried
                                                          else ""), why[0], why[1], n)
                    emit("step", dict(rec, seconds=time.monotonic() - t0, agent=[], bad=[],
                                      failed=dead[sysname]))
                    continue
            lines = agent_lines(text)
            found = [(k, x) for k, x in lines if isinstance(x, dict)]
            # An agent line that did not parse: its length and both ends,
            # so the bench can say what broke it (a kernel message inside
            # it, a lost byte on the console).
            bad = [{"length": len(x), "head": x[:300], "tail": x[-300:]}
                   for k, x in lines if k == "BADJSON"]
            emit("step", dict(rec, seconds=time.monotonic() - t0, agent=found, bad=bad,
                              failed=None))
    finally:
        # Nothing is measured after the last step: no need to wait for
        # the guests to power off.
        for v in vmms.values():
            v.kill()


class Qmp:
    """A QMP client on a unix socket: QEMU's monitor, and smpvisor's API,
    which speaks the same wire format."""

    def __init__(self, path, deadline, proc=None):
        """Connect (retrying until deadline while the socket is not there
        yet and proc, the server, runs), read the greeting, negotiate
        capabilities."""
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.sock.settimeout(max(deadline - time.monotonic(), 1))
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.sock.close()
                if time.monotonic() >= deadline:
                    raise
                if proc is not None and proc.poll() is not None:
                    raise OSError(f"the VMM exited before {path} answered")
                time.sleep(0.01)
        self.f = self.sock.makefile("rwb")
        if b'"QMP"' not in self.f.readline():
            raise OSError(f"{path}: no QMP greeting")
        self.cmd("qmp_capabilities")

    def cmd(self, name, args=None):
        """The "return" of a command (events in between are skipped), or
        raise OSError with its error."""
        msg = {"execute": name}
        if args is not None:
            msg["arguments"] = args
        self.f.write(json.dumps(msg).encode() + b"\n")
        self.f.flush()
        while True:
            line = self.f.readline()
            if not line:
                raise OSError(f"{name}: the connection closed")
            m = json.loads(line)
            if "return" in m:
                return m["return"]
            if "error" in m:
                raise OSError(f"{name}: {m['error'].get('desc')}")

    def close(self):
        for x in (self.f, self.sock):
            try:
                x.close()
            except OSError:
                pass


def disk_bytes(path):
    """(bytes allocated on disk, apparent size) of a file or of the files
    in a directory."""
    paths = [path] if os.path.isfile(path) else \
        [os.path.join(path, n) for n in sorted(os.listdir(path))]
    used = size = 0
    for p in paths:
        st = os.stat(p)
        used += st.st_blocks * 512
        size += st.st_size
    return used, size


def poll_running(sock, proc, deadline, cont):
    """Connect to sock and poll query-status until the VM of proc runs;
    with cont, a VM that comes up paused (QEMU after an incoming migration
    of a stopped VM) is sent `cont`."""
    q = Qmp(sock, deadline, proc)
    try:
        while True:
            st = q.cmd("query-status").get("status")
            if st == "running":
                return
            if cont and st not in ("inmigrate", "running"):
                q.cmd("cont")
                continue
            if time.monotonic() >= deadline:
                raise OSError(f"the VM is {st}, not running")
            time.sleep(0.02)
    finally:
        q.close()


def snap_save(system, j, path, deadline):
    """Save the running guest behind j["sock"] to path: (seconds, extra
    fields of the record)."""
    sock = j["sock"]
    if system == "smpvisor":
        t0 = time.monotonic()
        p = subprocess.run([j["smpvisor"], "ctl", "--timeout", str(int(deadline - t0) + 1),
                            sock, "snapshot", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, errors="replace",
                           timeout=max(deadline - t0, 1) + 10)
        dt = time.monotonic() - t0
        if p.returncode:
            last = (p.stdout.strip().splitlines() or [""])[-1]
            raise OSError(f"ctl snapshot exited with status {p.returncode}: {last[:300]}")
        return dt, {}
    q = Qmp(sock, deadline)
    try:
        q.cmd("migrate-set-parameters", {"max-bandwidth": j["max_bandwidth"]})
        t0 = time.monotonic()
        q.cmd("stop")
        q.cmd("migrate", {"uri": j["uri_out"].replace("FILE", path)})
        while True:
            m = q.cmd("query-migrate")
            if m.get("status") == "completed":
                dt = time.monotonic() - t0
                break
            if m.get("status") in ("failed", "cancelled") or time.monotonic() >= deadline:
                raise OSError(f"migrate: {m.get('status')}: {m.get('error-desc', '')}")
            time.sleep(0.02)
        try:
            q.cmd("quit")
        except OSError:
            pass
        return dt, {"qemu_total_ms": m.get("total-time"),
                    "qemu_transferred": (m.get("ram") or {}).get("transferred")}
    finally:
        q.close()


def remove(path):
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.unlink(path)


def snapshot_once(j):
    """One run: boot with agent.fill, save, restore, quit; one record."""
    system, sock, path = j["system"], j["sock"], j["path"]
    res = {"system": system, "ok": False}
    t_end = time.monotonic() + j.get("timeout", 900)
    remove(sock)
    remove(path)
    try:
        v = Vmm(j["cmd"], preload=False)
    except OSError as e:
        res.update(error="boot failed", reason=f"cannot start the VMM: {e}", tail="")
        return res
    vr = None
    step = "boot"
    try:
        t, line = v.wait_for("AGENT-FILLED", min(t_end, v.t0 + j.get("boot_timeout", 400)))
        if t is None:
            raise OSError("no AGENT-FILLED" + ("" if v.eof else " before the timeout"))
        res.update(boot_s=t - v.t0, fill=dict(agent_lines(line)).get("FILLED"))
        step = "snapshot"
        res["snapshot_s"], extra = snap_save(system, j, path, t_end)
        res.update(extra)
        # The old VMM ends (smpvisor by itself, QEMU on quit) before the
        # new one takes its socket; not timed.
        v.proc.wait(timeout=60)
        res["disk_bytes"], res["file_bytes"] = disk_bytes(path)
        step = "restore"
        remove(sock)
        try:
            vr = Vmm(j["restore_cmd"], preload=False)
        except OSError as e:
            raise OSError(f"cannot start the VMM: {e}")
        poll_running(sock, vr.proc, t_end, cont=system != "smpvisor")
        res["restore_s"] = time.monotonic() - vr.t0
        time.sleep(j.get("settle", 1))
        if vr.proc.poll() is not None:
            raise OSError("the restored VMM exited")
        for ln in vr.err:
            if "restore: " in ln and " read in " in ln:
                res["restore_read_s"] = float(ln.split(" read in ")[1].split()[0])
        res["ok"] = True
    except (OSError, ValueError, subprocess.TimeoutExpired) as e:
        w = vr or v
        res.update(error=f"{step} failed", reason=w.reason(f"{step}: {e}"), tail=w.tail())
    finally:
        for w in (vr, v):
            if w is not None and w.proc.poll() is None:
                w.kill()
        remove(path)
        remove(sock)
    return res


def job_snapshot(j):
    """The runs of j["runs"] one after another (the caller alternates);
    one that fails is run once more at once if the job's time leaves room
    for it. Every run gives one record."""
    t_end = time.monotonic() + j.get("deadline", 1e9)
    for r in j["runs"]:
        run = dict(r, timeout=min(r.get("timeout", 900), t_end - time.monotonic()))
        if run["timeout"] < 60:
            res = {"system": r["system"], "ok": False, "error": "not run",
                   "reason": "not run: the job's time ran out", "tail": ""}
        else:
            res = snapshot_once(run)
            if not res["ok"] and t_end - time.monotonic() >= r.get("timeout", 900):
                first = res
                res = snapshot_once(run)
                res["retried"] = {k: first.get(k) for k in ("error", "reason", "tail")}
        res["tag"] = r.get("tag")
        emit("snapshot", res)


def main():
    j = json.loads(sys.argv[1])
    {"boots": job_boots, "session": job_session, "snapshot": job_snapshot}[j["job"]](j)


if __name__ == "__main__":
    main()
