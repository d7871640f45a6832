"""What every benchmark of bench/benchmarks/ runs with: the Ctx (options,
the KVM host, the progress line, a cache), vmprobe.py's jobs where KVM is
and the records they send back, and the paths of the programs measured.

A session (ipi, scaling, blk) boots its guests once and runs alternated
steps in them and on the host; a guest that dies is retried once
(vmprobe.py), and one that dies again gives rows whose status says failed
and why, not missing rows (session_status).
"""
import json
import os
import shlex
import sys

import common

sys.path.insert(0, os.path.join(common.ROOT, "tests", "hosttest"))
sys.path.insert(0, os.path.join(common.ROOT, "tests", "system"))
import guest  # noqa: E402
import hosttest  # noqa: E402


SMPVISOR = os.path.join(common.ROOT, "build", "smpvisor")
BENCH_BIN = os.path.join(common.ROOT, "build", "bench")
AGENT = os.path.join(common.ROOT, "build", "guest", "agent")
VMPROBE = os.path.join(common.BENCH, "vmprobe.py")


class BenchError(Exception):
    pass


# Seconds a session guest has to reach its shell (vmprobe boot_timeout);
# a session's time has this much more for one guest's restart.
SESSION_BOOT_TIMEOUT = 400


class Ctx:
    """What every benchmark needs: options, the KVM host, progress, cache."""

    def __init__(self, quick, reps, l1_cpus, results=common.RESULTS, progress=None):
        self.quick, self.reps, self.results = quick, reps, results
        self.l1_cpus = l1_cpus
        self.progress = progress or common.Progress()
        self.host = None
        self.cache = {}
        self._guest = None
        self.machine = common.Machine("direct" if hosttest.has_hw_virt() else "nested", l1_cpus)

    def kvm(self):
        """The started KVM host (one nested L1 for the whole invocation)."""
        if self.host is None:
            self.host = hosttest.Host(cpus=self.l1_cpus, memory="6G" if self.l1_cpus > 4 else "4G",
                                      nodes=2)
        if not self.host.direct and self.host.proc is None:
            doing = self.progress.what
            self.progress.show(f"starting the nested test host ({self.l1_cpus} CPUs)")
            self.host.start()
            self.progress.note(f"bench: nested test host up in {self.host.boot_seconds:.1f}s")
            self.progress.show(doing)
        return self.host

    def guest(self):
        if self._guest is None:
            self._guest = guest.build_guest()
        return self._guest

    def run(self, cmd, timeout):
        return self.kvm().run(cmd, timeout=timeout)

    def run_tolerant(self, cmd, timeout):
        """(output, rc) of cmd where KVM is; a wedged nested host is killed
        (the next command boots a fresh one) and reported as rc -1."""
        try:
            r = self.run(cmd, timeout)
            return r.out + r.err, r.rc
        except hosttest.HostTestError as e:
            return str(e)[-1500:], -1

    def probe(self, job, timeout):
        """Run a vmprobe.py job where KVM is; return its PROBE records."""
        r = self.run(f"{shlex.quote(sys.executable)} {shlex.quote(VMPROBE)} "
                     f"{shlex.quote(json.dumps(job))}", timeout)
        recs = parse_probe(r.out)
        if not recs:
            raise BenchError(f"vmprobe {job['job']} printed nothing (rc {r.rc}): "
                             f"{(r.out + r.err)[-1500:]}")
        return recs

    def close(self):
        if self.host:
            self.host.close()
            self.host = None


def run_session(ctx, label, job, timeout):
    """vmprobe.py's session job: its records. A session that could not run
    at all gives an "error" record for each of its guests (their rows say
    failed, with the first line of the error)."""
    try:
        return ctx.probe(job, timeout)
    except (BenchError, hosttest.HostTestError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
        ctx.progress.note(f"bench: {label}: the session did not run: {e}")
        return [{"probe": "error", "system": s, "step": None, "error": "the session did not run",
                 "reason": first, "tail": None} for s in list(job["vmms"]) + ["host"]]


def note_session(ctx, label, recs):
    """Say what happened to guests that were retried or gave up."""
    for r in recs:
        if r.get("probe") in ("retry", "error") and r.get("tail") is not None:
            step = "" if r.get("step") is None else f" (step {r['step'] + 1})"
            then = "; retrying it once" if r["probe"] == "retry" else ""
            ctx.progress.note(f"bench: {label}: {r.get('system')}: {r.get('error')}{step}: "
                              f"{r.get('reason')}{then}\n{(r.get('tail') or '')[-1500:]}")


def session_status(recs, systems, match, have):
    """The status column of a row of a session benchmark: the row is made
    of the steps match(step record) picks for systems, and have says which
    systems gave it samples. Failed: a step of the row failed (its guest
    dead), the session did not run, or a system gave no result; retried: a
    system of the row was restarted at boot or in one of the row's steps."""
    steps = {r.get("n"): r for r in recs if r.get("probe") == "step"}
    failed, retried = [], []

    def add(lst, text):
        if text not in lst:
            lst.append(text)
    for r in recs:
        kind, s = r.get("probe"), r.get("system")
        if s not in systems:
            continue
        if kind == "step" and r.get("failed") and match(r):
            add(failed, f"{s}: {r['failed']}")
        elif kind == "error" and r.get("step") is None:
            add(failed, f"{s}: {r.get('error')}: {r.get('reason')}")
        elif kind == "retry" and (r.get("step") is None or match(steps.get(r["step"], {}))):
            add(retried, f"{s}: {r.get('error')}: {r.get('reason')}")
    for s in systems:
        if not have.get(s) and not any(f.startswith(f"{s}: ") for f in failed):
            failed.append(f"{s}: no result")
    return common.status(failed, retried)


def run_outcome(ctx, label, which, rec):
    """What one record of a job that runs a failed run once more (boots,
    snapshot) says: (failed, retried), each a status text ("WHICH: why")
    or None; notes on the progress line with the console tails. label
    names the run in the notes."""
    first = rec.get("retried")
    if first:
        ctx.progress.note(f"bench: {label} failed ({first.get('reason')}); ran it once more: "
                          f"{'ok' if rec.get('ok') else 'failed again'}"
                          f"\n{(first.get('tail') or '')[-1200:]}")
    if not rec.get("ok"):
        why = rec.get("reason") or rec.get("error") or "failed"
        ctx.progress.note(f"bench: {label} failed: {why}\n{(rec.get('tail') or '')[-1200:]}")
        return f"{which}: {why}" + (", also on its retry" if first else ""), None
    return None, (f"{which}: {first.get('reason') or first.get('error')}" if first else None)


def parse_probe(text):
    """The PROBE {json} records in vmprobe.py's output, in order."""
    out = []
    for line in text.splitlines():
        if line.startswith("PROBE "):
            try:
                out.append(json.loads(line[6:]))
            except ValueError:
                pass
    return out


def parse_tagged(text, tag):
    """The TAG {json} lines a bench C program printed (EXITS, VCPUCREATE)."""
    out = []
    for line in text.splitlines():
        if line.startswith(tag + " {"):
            out.append(json.loads(line[len(tag) + 1:]))
    return out


def harness_reason(prog, where, rc, out):
    """Why a C harness gave no row: its exit status and last output line."""
    last = next((ln.strip() for ln in reversed(common.plain(out).splitlines()) if ln.strip()), "")
    return (f"{prog} ({where}) " + ("gave no result" if rc == 0 else f"exited with status {rc}")
            + (f": {last[:300]}" if last else ""))


def local_pvm():
    """True when this machine has a /dev/kvm without vmx/svm (PVM: CPL3)."""
    return os.access("/dev/kvm", os.R_OK | os.W_OK) and not hosttest.has_hw_virt()
