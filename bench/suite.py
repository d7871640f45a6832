"""The benchmarks of bench/: boot, footprint, exits, ipi, scaling, blk.

Each takes a Ctx (where KVM is, quick or full, the progress line), runs its
measurements with smpvisor and the reference alternated (A B A B), then
writes bench/results/NAME.csv, prints its table from that file and draws
NAME.png (write_outputs). A guest that dies is retried once (vmprobe.py);
one that dies again gives rows whose status says failed and why, not
missing rows.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

import common
from common import Panel, Series

sys.path.insert(0, os.path.join(common.ROOT, "tests", "hosttest"))
sys.path.insert(0, os.path.join(common.ROOT, "tests", "system"))
import guest  # noqa: E402
import hosttest  # noqa: E402

SMPVISOR = os.path.join(common.ROOT, "build", "smpvisor")
BENCH_BIN = os.path.join(common.ROOT, "build", "bench")
AGENT = os.path.join(common.ROOT, "build", "guest", "agent")
VMPROBE = os.path.join(common.BENCH, "vmprobe.py")
CMDLINE = "console=ttyS0 panic=-1 quiet"
# Session guests print results as long AGENT-* JSON lines; in the nested
# host their vCPUs starve for seconds, and an RCU stall or soft lockup
# warning printed into the middle of such a line broke it (seen in QEMU's
# blk guest). Only emergencies reach the console; the same for both VMMs.
SHELL_APPEND = "agent.shell=1 loglevel=1 rcupdate.rcu_cpu_stall_suppress=1 nosoftlockup"


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


def guest_mem_mb(n):
    return 256 if n <= 8 else 512 if n <= 32 else 1024 if n <= 64 else 2048


def _bits(n):
    return (n - 1).bit_length()


class Topo:
    """The guest topology bench/run boot gives both VMMs: sockets x cores x
    threads (cores = vCPUs / sockets / threads) and, with nodes, that many
    guest NUMA nodes of equal vCPU ranges and memory, node i bound to the
    KVM host's node i mod 2 (smpvisor "numa" host_nodes, QEMU
    memory-backend host-nodes; policy bind in both)."""

    def __init__(self, sockets=1, threads=1, nodes=0):
        self.sockets, self.threads, self.nodes = sockets, threads, nodes

    def check(self, n):
        if n % (self.sockets * self.threads) or (self.nodes and n % self.nodes):
            raise BenchError(f"boot: {n} vCPUs do not split into {self.sockets} sockets x "
                             f"{self.threads} threads" + (f" and {self.nodes} nodes"
                                                          if self.nodes else ""))

    def cores(self, n):
        return n // self.sockets // self.threads

    def plain(self):
        return self.sockets == 1 and self.threads == 1 and not self.nodes

    def label(self, n):
        return (f"{self.sockets}x{self.cores(n)}x{self.threads}"
                + (f" {self.nodes} nodes" if self.nodes else ""))

    def max_apic_id(self, n):
        """The last vCPU's APIC ID: the same power-of-two fields in both."""
        smt, core = _bits(self.threads), _bits(self.cores(n))
        return ((self.sockets - 1) << (smt + core) | (self.cores(n) - 1) << smt
                | (self.threads - 1))

    def node_ranges(self, n):
        per = n // self.nodes
        return [(i * per, (i + 1) * per - 1) for i in range(self.nodes)]


def smpvisor_config(topo, n, mem_mb):
    """A config file with topo's NUMA nodes, readable from the KVM host."""
    d = os.path.join(common.ROOT, "build", "bench", "configs")
    os.makedirs(d, exist_ok=True)
    per = mem_mb // topo.nodes
    cfg = {"memory": f"{per * topo.nodes}M",
           "numa": [{"cpus": f"{a}-{b}", "memory": f"{per}M", "host_nodes": str(i % 2),
                     "policy": "bind"} for i, (a, b) in enumerate(topo.node_ranges(n))]}
    path = os.path.join(d, f"boot-{n}-{topo.label(n).replace(' ', '-')}.json")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)
    return path


def qemu_topo_args(argv, topo, n, mem_mb):
    """QEMU's argv with topo: -smp with sockets/cores/threads, -numa nodes,
    and past APIC ID 254 its only way there: q35, split irqchip and an
    intel-iommu with interrupt remapping in x2APIC mode (eim)."""
    argv = list(argv)
    i = argv.index("-smp")
    argv[i + 1] = f"{n},sockets={topo.sockets},cores={topo.cores(n)},threads={topo.threads}"
    if topo.max_apic_id(n) > 254:
        j = argv.index("-M")
        argv[j + 1] = "q35,kernel-irqchip=split"
        argv += ["-device", "intel-iommu,intremap=on,eim=on"]
    if topo.nodes:
        per = mem_mb // topo.nodes
        for k, (a, b) in enumerate(topo.node_ranges(n)):
            argv += ["-object", f"memory-backend-ram,id=m{k},size={per}M,host-nodes={k % 2},"
                     "policy=bind",
                     "-numa", f"node,nodeid={k},cpus={a}-{b},memdev=m{k}"]
    return argv


def vmm_cmd(system, kernel, initrd, n, mem_mb, append, extra=(), topo=None):
    """argv of smpvisor or the QEMU reference for the same guest."""
    plain = topo is None or topo.plain()
    if system.startswith("smpvisor"):
        cpus = str(n) if plain else (f"{n},sockets={topo.sockets},cores={topo.cores(n)},"
                                     f"threads={topo.threads}")
        cfg = ["--config", smpvisor_config(topo, n, mem_mb)] if topo and topo.nodes else []
        return ([SMPVISOR, "run"] + cfg + ["--kernel", kernel, "--initrd", initrd,
                                           "--cpus", cpus, "--memory", f"{mem_mb}M",
                                           "--cmdline", f"{CMDLINE} {append}".strip()]
                + list(extra))
    argv = shlex.split(guest.qemu_cmd(kernel, initrd, cpus=n, memory=f"{mem_mb}M",
                                      append=append, extra=extra))
    return argv if plain else qemu_topo_args(argv, topo, n, mem_mb)


def write_outputs(ctx, name, columns, rows, title, panels, tables):
    """NAME.csv, then the tables printed from it (common.publish), then
    NAME.png."""
    csv_path, _ = common.publish(name, columns, rows, tables, ctx.results, ctx.progress)
    png = common.plot(name, title, panels, ctx.results)
    ctx.progress.note(f"bench: wrote {os.path.relpath(csv_path, common.ROOT)}"
                      + (f" and {os.path.relpath(png, common.ROOT)}" if png else ""))


# --- boot (and the boots footprint reuses) --------------------------------

# Both VMMs' guests: the agent reports after 2 s; no soft-lockup warnings,
# which an overcommitted nested host prints for large guests (for both VMMs)
# and which can land inside the agent's report line.
BOOT_APPEND = "agent.sleep=2 nosoftlockup"
BOOT_METRICS = ["report_s", "uptime_s", "first_run_s", "vmm_kb", "rss_kb"]


def boot_samples(ctx, n, label, topo=None, timeout=None):
    """reps alternated boots of smpvisor and QEMU with n vCPUs, cached:
    (samples, failures per system, {"failed": [...], "retried": [...]}).
    vmprobe runs a failed boot once more at once; a boot that fails twice
    counts as a failure, and both say why in the status column."""
    cache = ctx.cache.setdefault("boots", {})
    key = n if topo is None or topo.plain() else (n, topo.label(n))
    if key in cache:
        return cache[key]
    kernel, initrd = ctx.guest()
    mem = guest_mem_mb(n)
    timeout = timeout or 240 + 6 * n
    boots = [{"system": system, "tag": rep, "guest_mb": mem, "timeout": timeout, "cpus": n,
              "cmd": vmm_cmd(system, kernel, initrd, n, mem, BOOT_APPEND, topo=topo)}
             for rep in range(ctx.reps) for system in ("smpvisor", "qemu")]
    # Room for two boots run again after a failure; the job keeps to it.
    deadline = (len(boots) + 2) * (timeout + 30)
    est = len(boots) * boot_estimate(n)
    ctx.progress.step(f"{label}: {ctx.reps} x (smpvisor, QEMU) boots with {n} "
                      f"vCPU{'s' * (n > 1)}", est)
    error = None
    try:
        recs = ctx.probe({"job": "boots", "boots": boots, "deadline": deadline}, deadline + 60)
    except (BenchError, hosttest.HostTestError) as e:
        ctx.progress.note(f"bench: {label}: boots with {n} vCPUs failed: {e}")
        error = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
        recs = []
    ctx.progress.finish()
    cache[key] = boot_results(ctx, recs, n, error)
    return cache[key]


def boot_results(ctx, recs, n, error=None):
    """(samples, failures per system, {"failed": [...], "retried": [...]})
    from the boots job's records (ctx.reps boots of each system expected;
    error: why the job did not run)."""
    samples = {s: {m: [] for m in BOOT_METRICS} for s in ("smpvisor", "qemu")}
    fails = {"smpvisor": 0, "qemu": 0}
    events = {"failed": [] if error is None else [f"the boots did not run: {error}"],
              "retried": []}
    for rec in recs:
        system = rec.get("system")
        if system not in samples:
            continue
        which = f"{system} boot {(rec.get('tag') or 0) + 1}"
        first = rec.get("retried")
        if first:
            ctx.progress.note(f"bench: {which} with {n} vCPUs failed ({first.get('reason')}); "
                              f"ran it once more: {'ok' if rec.get('ok') else 'failed again'}"
                              f"\n{(first.get('tail') or '')[-1200:]}")
        if not rec.get("ok"):
            fails[system] += 1
            why = rec.get("reason") or rec.get("error") or "failed"
            events["failed"].append(f"{which}: {why}" + (", also on its retry" if first else ""))
            ctx.progress.note(f"bench: {which} with {n} vCPUs failed: {why}"
                              f"\n{(rec.get('tail') or '')[-1200:]}")
            continue
        if first:
            events["retried"].append(f"{which}: {first.get('reason') or first.get('error')}")
        for m in BOOT_METRICS:
            if rec.get(m) is not None:
                samples[system][m].append(rec[m])
    for s in fails:
        k = ctx.reps - sum(1 for r in recs if r.get("system") == s)
        if k > 0:
            fails[s] += k
            if error is None:
                events["failed"].append(f"{s}: {k} boot{'s' * (k > 1)} gave no record")
    return samples, fails, events


def boot_estimate(n):
    return 30 + 0.8 * n


def boot_counts(ctx):
    return [1] if ctx.quick else [1, 2, 4, 8, 16, 32, 64]


def boot_budget(ctx):
    return 6 * 60 if ctx.quick else 15 * 60


def bench_boot(ctx, counts=None, topo=None, timeout=None):
    """Boot times; counts given on the command line run whatever the
    budget, each boot bounded by timeout (default 240 + 6 s per vCPU)."""
    explicit = counts is not None
    counts = counts or boot_counts(ctx)
    budget = float("inf") if explicit else boot_budget(ctx)
    for n in counts:
        if topo:
            topo.check(n)
    rows, spent = [], 0.0
    for i, n in enumerate(counts):
        if spent + 2 * ctx.reps * boot_estimate(n) > budget and i > 0:
            ctx.progress.note(f"bench: boot: skipping {counts[i:]} vCPUs: the time budget "
                              f"({budget // 60} min) would be exceeded")
            ctx.progress.plan(-min(sum(2 * ctx.reps * boot_estimate(m) for m in counts[i:]),
                                   max(budget - spent, 0)))
            break
        t0 = time.monotonic()
        samples, fails, events = boot_samples(ctx, n, "boot", topo, timeout)
        spent += time.monotonic() - t0
        rows.append(boot_row(ctx, n, topo, samples, fails, events))
        if not samples["smpvisor"]["report_s"] and not samples["qemu"]["report_s"] and n >= 16:
            ctx.progress.note(f"bench: boot: no guest booted with {n} vCPUs; stopping here")
            break
    panels = [
        Panel("launch to agent report", "vCPUs", "seconds (wall, median, min-max)",
              [series(rows, "vcpus", "report_s_smpvisor", "smpvisor"),
               series(rows, "vcpus", "report_s_qemu", "QEMU (-M pc)")], logx=True),
        Panel("guest uptime at report", "vCPUs", "seconds (guest /proc/uptime)",
              [series(rows, "vcpus", "uptime_s_smpvisor", "smpvisor"),
               series(rows, "vcpus", "uptime_s_qemu", "QEMU (-M pc)")], logx=True)]
    write_outputs(ctx, "boot", BOOT_COLUMNS, rows, f"boot ({host_note(ctx)})", panels,
                  [boot_table(ctx)])
    return rows


BOOT_COLUMNS = (common.COMMON_COLUMNS + ["vcpus", "guest_mb", "failures"]
                + sum((common.metric_columns(m, ["smpvisor", "qemu"])
                       for m in ("report_s", "uptime_s")), []))


def boot_row(ctx, n, topo, samples, fails, events):
    """The boot row of n vCPUs from boot_samples' results."""
    plain = topo is None or topo.plain()
    ref = "qemu -accel kvm -cpu host -M pc"
    if not plain and topo.max_apic_id(n) > 254:
        ref = "qemu -accel kvm -cpu host -M q35,kernel-irqchip=split intel-iommu eim"
    row = ctx.machine.columns("boot", f"vcpus={n}" + ("" if plain else
                                                      f" topology={topo.label(n)}"),
                              ref, ctx.reps)
    row.update(vcpus=n, guest_mb=guest_mem_mb(n), failures=fails["smpvisor"] + fails["qemu"],
               status=common.status(events["failed"], events["retried"]))
    for m in ("report_s", "uptime_s"):
        row.update(common.metric_values(m, ["smpvisor", "qemu"],
                                        {s: samples[s][m] for s in samples}))
    return row


def boot_table(ctx):
    return common.Table(
        "boot: launch to AGENT-REPORT (wall s) and guest uptime_s at the report; "
        f"median [min-max] of {ctx.reps}",
        ["vCPUs", "smpvisor s", "range", "QEMU s", "range", "ratio",
         "sv uptime", "QEMU uptime", "ratio", "fail"],
        lambda r: [r["vcpus"], r["report_s_smpvisor_median"], rng(r, "report_s_smpvisor"),
                   r["report_s_qemu_median"], rng(r, "report_s_qemu"), r["report_s_ratio"],
                   r["uptime_s_smpvisor_median"], r["uptime_s_qemu_median"],
                   r["uptime_s_ratio"], r["failures"]])


def rng(row, prefix):
    lo, hi = row.get(prefix + "_min"), row.get(prefix + "_max")
    return "-" if lo is None else f"{common.fmt(lo)}-{common.fmt(hi)}"


def series(rows, xcol, prefix, title, scale=1.0):
    pts = []
    for r in rows:
        if r.get(prefix + "_median") is None:
            continue
        pts.append((r[xcol], r[prefix + "_median"] * scale, r[prefix + "_min"] * scale,
                    r[prefix + "_max"] * scale))
    return Series(title, pts)


def host_note(ctx):
    return common.host_kind_label(ctx.machine.host_kind) + f", {ctx.machine.cpu}"


# --- footprint ---------------------------------------------------------------

def harness_reason(prog, where, rc, out):
    """Why a C harness gave no row: its exit status and last output line."""
    last = next((ln.strip() for ln in reversed(common.plain(out).splitlines()) if ln.strip()), "")
    return (f"{prog} ({where}) " + ("gave no result" if rc == 0 else f"exited with status {rc}")
            + (f": {last[:300]}" if last else ""))


def run_vcpu_create(ctx, counts, where):
    """vcpu_create samples {(mode, n): [us_per_vcpu]} in the KVM host or
    here, and why counts without samples have none."""
    cmd = (f"{BENCH_BIN}/vcpu_create --counts {','.join(map(str, counts))} "
           f"--reps {ctx.reps}")
    ctx.progress.step(f"footprint: vCPU creation {counts[0]}..{counts[-1]} ({where})",
                      10 + 0.03 * sum(counts) * ctx.reps)
    if where == "pvm":
        p = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=600)
        out, rc = p.stdout, p.returncode
    else:
        out, rc = ctx.run_tolerant(cmd, timeout=300 if ctx.quick else 600)
    ctx.progress.finish()
    if rc != 0:
        ctx.progress.note(f"bench: vcpu_create ({where}) failed (rc {rc}; the rows it "
                          f"finished are kept): {out[-800:]}")
    samples = {}
    for rec in parse_tagged(out, "VCPUCREATE"):
        samples.setdefault((rec["mode"], rec["vcpus"]), []).append(rec["us_per_vcpu"])
    return samples, harness_reason("vcpu_create", where, rc, out)


def local_pvm():
    """True when this machine has a /dev/kvm without vmx/svm (PVM: CPL3)."""
    return os.access("/dev/kvm", os.R_OK | os.W_OK) and not hosttest.has_hw_virt()


def bench_footprint(ctx):
    counts = [1, 16, 256, 1024] if ctx.quick else [1, 4, 16, 64, 256, 1024]
    boot_ns = footprint_boots(ctx)
    mem_metrics = ["vmm_kb", "rss_kb", "first_run_s"]
    columns = (common.COMMON_COLUMNS + ["vcpus", "guest_mb"]
               + sum((common.metric_columns(m, ["smpvisor", "qemu"]) for m in mem_metrics), [])
               + common.metric_columns("create_us_per_vcpu", ["smpvisor", "raw"]))
    rows = []
    for n in boot_ns:
        samples, _, events = boot_samples(ctx, n, "footprint")
        row = ctx.machine.columns("footprint", f"memory vcpus={n}",
                                  "qemu -accel kvm -cpu host -M pc", ctx.reps)
        row.update(vcpus=n, guest_mb=guest_mem_mb(n),
                   status=common.status(events["failed"], events["retried"]))
        for m in mem_metrics:
            row.update(common.metric_values(m, ["smpvisor", "qemu"],
                                            {s: samples[s][m] for s in samples}))
        rows.append(row)
    wheres = ["kvm"] + (["pvm"] if local_pvm() and not hosttest.has_hw_virt() else [])
    for where in wheres:
        samples, why = run_vcpu_create(ctx, counts, where)
        for n in counts:
            row = ctx.machine.columns("footprint", f"vcpu_create n={n}",
                                      "raw KVM_CREATE_VCPU + mmap", ctx.reps,
                                      host_kind=None if where == "kvm" else "pvm")
            row.update(vcpus=n)
            got = {m: samples.get((m, n), []) for m in ("smpvisor", "raw")}
            row.update(common.metric_values("create_us_per_vcpu", ["smpvisor", "raw"], got))
            if not all(got.values()):
                row["status"] = common.status([why])
            rows.append(row)
    mem_rows = [r for r in rows if r["config"].startswith("memory")]
    cr_rows = [r for r in rows if r["config"].startswith("vcpu_create")]
    tables = [
        common.Table(
            "footprint: VMM resident memory beyond guest RAM (MiB) while the guest sleeps, "
            f"and time to first KVM_RUN (ms); median of {ctx.reps}",
            ["vCPUs", "guest MiB", "smpvisor MiB", "QEMU MiB", "ratio", "sv RSS", "QEMU RSS",
             "sv 1st run ms", "QEMU 1st run ms", "ratio"],
            lambda r: [r["vcpus"], r["guest_mb"], mib(r.get("vmm_kb_smpvisor_median")),
                       mib(r.get("vmm_kb_qemu_median")), r["vmm_kb_ratio"],
                       mib(r.get("rss_kb_smpvisor_median")), mib(r.get("rss_kb_qemu_median")),
                       ms(r.get("first_run_s_smpvisor_median")),
                       ms(r.get("first_run_s_qemu_median")), r["first_run_s_ratio"]],
            where=lambda r: r["config"].startswith("memory")),
        common.Table(
            f"footprint: vCPU creation, microseconds per vCPU; median [min-max] of {ctx.reps}",
            ["vCPUs", "where", "smpvisor us", "range", "raw us", "range", "ratio"],
            lambda r: [r["vcpus"], r["host_kind"], r["create_us_per_vcpu_smpvisor_median"],
                       rng(r, "create_us_per_vcpu_smpvisor"), r["create_us_per_vcpu_raw_median"],
                       rng(r, "create_us_per_vcpu_raw"), r["create_us_per_vcpu_ratio"]],
            where=lambda r: r["config"].startswith("vcpu_create"))]
    kinds = sorted({r["host_kind"] for r in cr_rows})
    cr_series = []
    for k in kinds:
        sub = [r for r in cr_rows if r["host_kind"] == k]
        tag = "" if len(kinds) == 1 else f" ({k})"
        cr_series += [series(sub, "vcpus", "create_us_per_vcpu_smpvisor", "smpvisor" + tag),
                      series(sub, "vcpus", "create_us_per_vcpu_raw", "raw KVM" + tag)]
    panels = [
        Panel("VMM memory beyond guest RAM", "vCPUs", "MiB resident (median, min-max)",
              [series(mem_rows, "vcpus", "vmm_kb_smpvisor", "smpvisor", 1 / 1024),
               series(mem_rows, "vcpus", "vmm_kb_qemu", "QEMU", 1 / 1024)]),
        Panel("launch to first KVM_RUN", "vCPUs", "milliseconds",
              [series(mem_rows, "vcpus", "first_run_s_smpvisor", "smpvisor", 1000),
               series(mem_rows, "vcpus", "first_run_s_qemu", "QEMU", 1000)]),
        Panel("vCPU creation", "vCPUs created", "microseconds per vCPU (log scale)", cr_series,
              logx=True, logy=True)]
    write_outputs(ctx, "footprint", columns, rows, f"footprint ({host_note(ctx)})", panels,
                  tables)
    return rows


def mib(kb):
    return None if kb is None else kb / 1024


def ms(s):
    return None if s is None else s * 1000


# --- exits -------------------------------------------------------------------

def bench_exits(ctx):
    counts, iters, wheres, est = exits_plan(ctx)
    columns = (common.COMMON_COLUMNS + ["kind", "vcpus", "cpl", "iters"]
               + common.metric_columns("ns_per_exit", ["smpvisor", "bare"])
               + common.metric_columns("exits_per_s", ["smpvisor", "bare"]))
    rows = []
    for where in wheres:
        cmd = (f"{BENCH_BIN}/exits --vcpus {','.join(map(str, counts))} --iters {iters} "
               f"--reps {ctx.reps}" + (" --cpl 3" if where == "pvm" else ""))
        ctx.progress.step(f"exits: pio+mmio round trips, {counts} vCPUs ({where})", est)
        if where == "pvm":
            p = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=900)
            out, rc = p.stdout, p.returncode
        else:
            out, rc = ctx.run_tolerant(cmd, timeout=400 if ctx.quick else 1200)
        ctx.progress.finish()
        if rc != 0:
            ctx.progress.note(f"bench: exits ({where}) failed (rc {rc}): {out[-800:]}")
        cpl = 3 if where == "pvm" else 0
        rows += exits_rows(ctx, parse_tagged(out, "EXITS"), iters,
                           None if where == "kvm" else "pvm",
                           expect=[(k, n, cpl) for k in ("pio", "mmio") for n in counts],
                           why=harness_reason("exits", where, rc, out))
    table = common.Table(
        "exits: one port-I/O or MMIO exit answered by smpvisor's dispatch vs a bare "
        f"KVM_RUN loop; ns per exit per vCPU and total exits/s, median of {ctx.reps}",
        ["kind", "vCPUs", "CPL", "smpvisor ns", "range", "bare ns", "range", "ratio",
         "sv exits/s", "bare exits/s", "ratio"],
        lambda r: [r["kind"], r["vcpus"], r["cpl"], r["ns_per_exit_smpvisor_median"],
                   rng(r, "ns_per_exit_smpvisor"), r["ns_per_exit_bare_median"],
                   rng(r, "ns_per_exit_bare"), r["ns_per_exit_ratio"],
                   r["exits_per_s_smpvisor_median"], r["exits_per_s_bare_median"],
                   r["exits_per_s_ratio"]])
    panels = []
    for metric, label in (("ns_per_exit", "ns per exit (per vCPU)"),
                          ("exits_per_s", "exits per second (all vCPUs)")):
        ss = []
        for key in sorted({(r["kind"], r["cpl"]) for r in rows}):
            sub = [r for r in rows if (r["kind"], r["cpl"]) == key]
            tag = f"{key[0]}, CPL{key[1]}"
            ss += [series(sub, "vcpus", f"{metric}_smpvisor", f"smpvisor {tag}"),
                   series(sub, "vcpus", f"{metric}_bare", f"bare KVM_RUN {tag}")]
        panels.append(Panel(label, "vCPUs exiting at once", label, ss, logx=True))
    write_outputs(ctx, "exits", columns, rows, f"exits ({host_note(ctx)})", panels, [table])
    return rows


def exits_rows(ctx, recs, iters, host_kind, expect=(), why=None):
    """A row per (kind, vCPUs, CPL) measured, and per one of expect that
    was not (or only on one side): status failed, why (the harness's exit
    status and last line)."""
    groups = {key: [] for key in expect}
    for rec in recs:
        groups.setdefault((rec["kind"], rec["vcpus"], rec["cpl"]), []).append(rec)
    rows = []
    for (kind, n, cpl), rs in sorted(groups.items()):
        row = ctx.machine.columns("exits", f"{kind} vcpus={n} cpl={cpl}",
                                  "bare KVM_RUN loop answering inline", ctx.reps,
                                  host_kind=host_kind)
        row.update(kind=kind, vcpus=n, cpl=cpl, iters=iters)
        for m in ("ns_per_exit", "exits_per_s"):
            row.update(common.metric_values(m, ["smpvisor", "bare"],
                                            {s: [x[m] for x in rs if x["mode"] == s]
                                             for s in ("smpvisor", "bare")}))
        if not all(any(x["mode"] == s for x in rs) for s in ("smpvisor", "bare")):
            row["status"] = common.status([why or "exits gave no result"])
        rows.append(row)
    return rows


# --- ipi ---------------------------------------------------------------------

# The smpvisor variants of the ipi benchmark: name -> config file (JSON)
# or None. The default has every PV feature on, PV send-IPI included, and
# no dedicated CPUs. Dedicated-CPU mode needs every vCPU pinned 1:1, so
# vCPUs 0 and 1 go to the KVM host's CPUs 2 and 3 (the other guests idle).
IPI_VARIANTS = {
    "smpvisor": None,
    "smpvisor-no-pv-ipi": {"pv": {"pv_send_ipi": False}},
    "smpvisor-dedicated": {"cpus": {"count": 2, "pin": {"0": "2", "1": "3"},
                                    "dedicated": True}},
}


def bench_ipi(ctx):
    kernel, initrd = ctx.guest()
    iters = 500 if ctx.quick else 3000
    n = 2
    variants, pre = {}, []
    for name, conf in IPI_VARIANTS.items():
        if conf is None:
            variants[name] = []
            continue
        path = f"/tmp/bench-ipi-{name}.json"
        pre.append(f"echo {shlex.quote(json.dumps(conf))} > {path}")
        variants[name] = ["--config", path]
    systems = list(variants) + ["qemu"]
    vmms = {s: vmm_cmd(s, kernel, initrd, n, 256, SHELL_APPEND, variants.get(s, ()))
            for s in systems}
    steps = []
    for rep in range(ctx.reps):
        for mode in ("futex", "spin"):
            for s in systems + ["host"]:
                prog = AGENT if s == "host" else "/init"
                steps.append({"system": s, "tag": mode,
                              "cmd": f"{prog} agent.report=0 agent.pingpong=0,1,{iters},{mode}"})
    est = ipi_estimate(len(systems), len(steps), iters)
    ctx.progress.step(f"ipi: booting {', '.join(systems)} ({n} vCPUs), then {len(steps)} "
                      "alternated ping-pong runs", est)
    # A guest that dies gets one restart (boot_timeout more).
    limit = 300 * len(systems) + 60 * len(steps) + SESSION_BOOT_TIMEOUT
    recs = run_session(ctx, "ipi", {"job": "session", "vmms": vmms, "steps": steps,
                                    "pre": " && ".join(pre), "timeout": limit,
                                    "boot_timeout": SESSION_BOOT_TIMEOUT, "step_timeout": 300},
                       timeout=limit + 60)
    ctx.progress.finish()
    rows = ipi_rows(ctx, recs, systems, iters)
    panels = ipi_panels(rows, list(variants))
    write_outputs(ctx, "ipi", IPI_COLUMNS, rows, f"ipi ({host_note(ctx)})", panels,
                  [ipi_table(ctx)])
    return rows


def ipi_table(ctx):
    return common.Table(
        "ipi: cross-vCPU wake-up round trip (agent.pingpong CPUs 0<->1), ns; "
        f"median over {ctx.reps} runs of each run's median [min-max]",
        ["mode", "system", "smpvisor ns", "range", "QEMU ns", "range", "ratio", "host ns"],
        lambda r: [r["mode"], r["variant"], r["rtt_ns_smpvisor_median"],
                   rng(r, "rtt_ns_smpvisor"), r["rtt_ns_qemu_median"], rng(r, "rtt_ns_qemu"),
                   r["rtt_ns_ratio"], r["host_rtt_ns_median"]])


IPI_COLUMNS = (common.COMMON_COLUMNS + ["mode", "variant", "dedicated", "pv_send_ipi", "vcpus",
                                         "iters"]
               + common.metric_columns("rtt_ns", ["smpvisor", "qemu"])
               + [f"host_rtt_ns_{f}" for f in common.STAT_FIELDS])


def ipi_panels(rows, variants):
    """One line per system: round trip against the mode, on a log scale."""
    xs = {"futex": 1, "spin": 2}

    def pts(sub, col):
        return [(xs[r["mode"]], r[f"{col}_median"], r[f"{col}_min"], r[f"{col}_max"])
                for r in sub]
    ss = [Series(v, pts([r for r in rows if r["variant"] == v], "rtt_ns_smpvisor"))
          for v in variants]
    first = [r for r in rows if r["variant"] == "smpvisor"]
    ss += [Series("QEMU", pts(first, "rtt_ns_qemu")),
           Series("host (KVM host) itself", pts(first, "host_rtt_ns"))]
    return [Panel("cross-CPU wake-up round trip", "wake-up mode",
                  "round trip, ns (median, min-max of runs; log scale)", ss, logy=True,
                  xtics=[("futex (sleep + IPI)", 1), ("spin (no IPI)", 2)])]


def ipi_rows(ctx, recs, systems, iters):
    """A row per mode and smpvisor variant, against QEMU and the host; a
    row whose guest died says failed (and why) in its status."""
    note_session(ctx, "ipi", recs)
    got = {}
    for r in recs:
        if r.get("probe") != "step":
            continue
        for kind, x in r["agent"]:
            if kind == "PINGPONG":
                got.setdefault((r["system"], x["mode"]), []).append(x["median_ns"])
    rows = []
    for mode in ("futex", "spin"):
        host = common.summary(got.get(("host", mode), []))
        for v in [s for s in systems if s != "qemu"]:
            row = ctx.machine.columns("ipi", f"{mode} {v}", "qemu -accel kvm -cpu host -M pc",
                                      ctx.reps)
            conf = IPI_VARIANTS.get(v) or {}
            row.update(mode=mode, variant=v, vcpus=2, iters=iters,
                       dedicated=int(conf.get("cpus", {}).get("dedicated", False)),
                       pv_send_ipi=int(conf.get("pv", {}).get("pv_send_ipi", True)),
                       host_rtt_ns_median=host[0], host_rtt_ns_min=host[1],
                       host_rtt_ns_max=host[2])
            row.update(common.metric_values("rtt_ns", ["smpvisor", "qemu"],
                                            {"smpvisor": got.get((v, mode), []),
                                             "qemu": got.get(("qemu", mode), [])}))
            row["status"] = session_status(
                recs, [v, "qemu", "host"], lambda r, mode=mode: r.get("tag") == mode,
                {s: bool(got.get((s, mode))) for s in (v, "qemu", "host")})
            rows.append(row)
    return rows


# --- scaling -----------------------------------------------------------------

# The scaling workloads: the agent option and what it measures.
SCALING_WORKLOADS = {"cpuloop": "parallel CPU-bound loop",
                     "lockloop": "the same loop under one shared mutex"}


def cpuloop_cmd(system, k, ms_, workload="cpuloop"):
    """Run the agent's cpuloop (or lockloop) on CPUs 0..k-1 only: the agent
    uses the CPUs listed in /sys/devices/system/cpu/online, so bind-mount a
    shorter list over it (in a private mount namespace on the host)."""
    inner = (f"echo 0-{k - 1} > {{tmp}}/bench-online && mount --bind {{tmp}}/bench-online "
             f"/sys/devices/system/cpu/online && {{agent}} agent.report=0 "
             f"agent.{workload}={ms_}")
    if system == "host":
        return "unshare -m sh -c " + shlex.quote(inner.format(tmp="/tmp", agent=AGENT))
    return ("(" + inner.format(tmp="", agent="/init") +
            "; umount /sys/devices/system/cpu/online)")


def scaling_counts(n):
    """k = 1..n busy CPUs; above 4, 1 and the even counts (time budget)."""
    return list(range(1, n + 1)) if n <= 4 else [1] + list(range(2, n + 1, 2))


def bench_scaling(ctx):
    kernel, initrd = ctx.guest()
    n = ctx.l1_cpus if not ctx.kvm().direct else os.cpu_count()
    ks = scaling_counts(n)
    loop_ms = 500 if ctx.quick else 1000
    systems = ["smpvisor", "host"]
    vmms = {"smpvisor": vmm_cmd("smpvisor", kernel, initrd, n, 256, SHELL_APPEND)}
    steps = [{"system": s, "tag": [w, k], "cmd": cpuloop_cmd(s, k, loop_ms, w)}
             for rep in range(ctx.reps) for w in SCALING_WORKLOADS for k in ks for s in systems]
    est = scaling_estimate(len(steps), loop_ms)
    ctx.progress.step(f"scaling: booting smpvisor with {n} vCPUs, then {len(steps)} "
                      f"alternated cpuloop/lockloop runs (guest, host) at 1..{n} CPUs", est)
    limit = 400 + 30 * len(steps) + SESSION_BOOT_TIMEOUT
    recs = run_session(ctx, "scaling", {"job": "session", "vmms": vmms, "steps": steps,
                                        "timeout": limit, "step_timeout": 300,
                                        "boot_timeout": SESSION_BOOT_TIMEOUT},
                       timeout=limit + 60)
    ctx.progress.finish()
    rows = scaling_rows(ctx, recs, ks, loop_ms)
    table = common.Table(
        f"scaling: agent loops, throughput on k of {n} vCPUs vs the same loop on the "
        f"host (L1) on k CPUs; median of {ctx.reps}; eff. = speed-up / k",
        ["workload", "k", "guest Miter/s", "host Miter/s", "ratio", "guest speed-up",
         "host speed-up", "guest eff.", "host eff.", "eff. ratio"],
        lambda r: [r["workload"], r["cpus"], mega(r["iters_per_s_smpvisor_median"]),
                   mega(r["iters_per_s_host_median"]), r["iters_per_s_ratio"],
                   r["speedup_smpvisor"], r["speedup_host"], r["efficiency_smpvisor"],
                   r["efficiency_host"], r["efficiency_ratio"]])
    write_outputs(ctx, "scaling", SCALING_COLUMNS, rows, f"scaling ({host_note(ctx)})",
                  scaling_panels(rows), [table])
    return rows


SCALING_COLUMNS = (common.COMMON_COLUMNS + ["workload", "cpus", "vcpus", "loop_ms"]
                   + common.metric_columns("iters_per_s", ["smpvisor", "host"])
                   + ["speedup_smpvisor", "speedup_host", "efficiency_smpvisor",
                      "efficiency_host", "efficiency_ratio"])


def scaling_panels(rows):
    """Speed-up and efficiency: a line per system and workload."""
    sp, eff, thr = [], [], []
    for w in SCALING_WORKLOADS:
        sub = [r for r in rows if r["workload"] == w]
        for s, label in (("smpvisor", "smpvisor guest"), ("host", "host (L1) itself")):
            sp.append(Series(f"{label}, {w}", [(r["cpus"], r[f"speedup_{s}"]) for r in sub]))
            eff.append(Series(f"{label}, {w}", [(r["cpus"], r[f"efficiency_{s}"])
                                                for r in sub]))
            thr.append(series(sub, "cpus", f"iters_per_s_{s}", f"{label}, {w}", 1e-6))
    ks = sorted({r["cpus"] for r in rows})
    sp.append(Series("ideal", [(k, float(k)) for k in ks]))
    return [Panel("speed-up", "busy CPUs (k)", "throughput / throughput at k=1", sp),
            Panel("efficiency", "busy CPUs (k)", "speed-up / k", eff),
            Panel("throughput", "busy CPUs (k)", "loop iterations per second (millions)", thr,
                  logy=True)]


def mega(v):
    return None if v is None else v / 1e6


def scaling_tag(rec):
    """[workload, k] of a step record (a bare k is a cpuloop step)."""
    tag = rec.get("tag")
    return list(tag) if isinstance(tag, list) else ["cpuloop", tag]


def scaling_rows(ctx, recs, ks, loop_ms):
    """A row per workload and k; one whose runs failed says so (status)."""
    note_session(ctx, "scaling", recs)
    got = {}
    for r in recs:
        if r.get("probe") != "step":
            continue
        tag = scaling_tag(r)
        for kind, x in r["agent"]:
            if kind in ("CPULOOP", "LOCKLOOP") and x.get("ms"):
                got.setdefault((r["system"], kind.lower(), tag[1]), []).append(
                    x["total"] / (x["ms"] / 1000))
    rows = []
    for w in SCALING_WORKLOADS:
        base = {s: common.summary(got.get((s, w, 1), []))[0] for s in ("smpvisor", "host")}
        for k in ks:
            row = ctx.machine.columns("scaling", f"{w} cpus={k}",
                                      "the same loop on the host (L1)", ctx.reps)
            row.update(workload=w, cpus=k, vcpus=ks[-1], loop_ms=loop_ms)
            row.update(common.metric_values("iters_per_s", ["smpvisor", "host"],
                                            {s: got.get((s, w, k), [])
                                             for s in ("smpvisor", "host")}))
            for s in ("smpvisor", "host"):
                med = row[f"iters_per_s_{s}_median"]
                sp = common.ratio(med, base[s])
                row[f"speedup_{s}"] = sp
                row[f"efficiency_{s}"] = None if sp is None else sp / k
            row["efficiency_ratio"] = common.ratio(row["efficiency_smpvisor"],
                                                   row["efficiency_host"])
            row["status"] = session_status(
                recs, ["smpvisor", "host"], lambda r, wk=[w, k]: scaling_tag(r) == wk,
                {s: bool(got.get((s, w, k))) for s in ("smpvisor", "host")})
            rows.append(row)
    return rows


# --- blk -----------------------------------------------------------------------

BLK_DIR = "/tmp"   # in the KVM host; in the nested host a tmpfs

# The fio workloads: (name, fio rw, block size, iodepth per job, metric,
# short job name). IOPS for 4 KiB random I/O, MB/s (10^6 B/s) for 1 MiB
# sequential I/O.
BLK_WORKLOADS = [("randread", "randread", "4k", 16, "iops", "rr"),
                 ("randwrite", "randwrite", "4k", 16, "iops", "rw"),
                 ("seqread", "read", "1M", 4, "mb_per_s", "sr"),
                 ("seqwrite", "write", "1M", 4, "mb_per_s", "sw")]


def blk_plan(ctx):
    """(guest vCPUs = disk queues N, fio seconds per job, image MiB, reps)."""
    n = 2 if ctx.quick or ctx.l1_cpus < 8 else 4
    return n, (1 if ctx.quick else 2), (64 if ctx.quick else 256), ctx.reps


def fio_spec(filename, direct, runtime, n):
    """agent.fio=... for one fio invocation that runs every workload with 1
    job (one queue: the job is pinned to CPU 0, and blk-mq maps a CPU to
    one queue) and then with n jobs (pinned one per CPU 0..n-1, so n
    queues), one after another (stonewall), each for runtime seconds.

    It is typed on the guest's shell, whose line editor (busybox) takes
    at most 1023 characters, so the defaults go in the global options and
    the jobs have short names (SHORT-jJOBS)."""
    items = [f"filename={filename}", "ioengine=libaio", f"direct={int(direct)}",
             f"runtime={runtime}", "time_based=1", "group_reporting=1", "stonewall",
             "clat_percentiles=0", "randrepeat=0", "bs=4k", "iodepth=16",
             "cpus_allowed_policy=split"]
    for jobs in (1, n):
        for name, rw, bs, depth, _, short in BLK_WORKLOADS:
            items += [f"name={short}-j{jobs}", f"rw={rw}"]
            items += [f"bs={bs}", f"iodepth={depth}"] if bs != "4k" else []
            items += [f"numjobs={jobs}"] if jobs > 1 else []
            items += [f"cpus_allowed={'0' if jobs == 1 else f'0-{jobs - 1}'}"]
    return ",".join(items)


def fio_results(fio):
    """{(workload, jobs): value} from fio's JSON (group_reporting, job
    names SHORT-jJOBS): IOPS or MB/s as BLK_WORKLOADS says."""
    metric = {w[5]: (w[0], w[1], w[4]) for w in BLK_WORKLOADS}
    out = {}
    for job in (fio or {}).get("jobs", []):
        short, _, jobs = job.get("jobname", "").rpartition("-j")
        if short not in metric or not jobs.isdigit() or job.get("error"):
            continue
        name, rw, unit = metric[short]
        side = job["write"] if "write" in rw else job["read"]
        out[(name, int(jobs))] = side["iops"] if unit == "iops" else side["bw_bytes"] / 1e6
    return out


def blk_vmms(kernel, initrd, n, img_sv, img_q, conf):
    """smpvisor's virtio-blk with n queues on one I/O thread, and QEMU's
    virtio-blk-pci with n queues on an iothread: same guest, same memory."""
    sv = vmm_cmd("smpvisor", kernel, initrd, n, 512, SHELL_APPEND,
                 ["--config", conf, "--disk", f"{img_sv},queues={n},iothread=0"])
    q = vmm_cmd("qemu", kernel, initrd, n, 512, SHELL_APPEND,
                ["-object", "iothread,id=io0",
                 "-drive", f"file={img_q},format=raw,if=none,id=d0,cache=writeback,aio=threads",
                 "-device", f"virtio-blk-pci,drive=d0,iothread=io0,num-queues={n}"])
    return {"smpvisor": sv, "qemu": q}


def blk_build_guest():
    """The test guest with fio in its initramfs (tests/guest/build.sh --fio)."""
    subprocess.run([os.path.join(common.ROOT, "tests", "guest", "build.sh"), "--out",
                    guest.GUEST_DIR, "--fio"], check=True, stdout=subprocess.DEVNULL)
    return (os.path.join(guest.GUEST_DIR, "vmlinuz"),
            os.path.join(guest.GUEST_DIR, "initrd-fio.img"))


def bench_blk(ctx):
    """fio in the guest on smpvisor's virtio-blk and on QEMU's virtio-blk
    with an iothread, and fio on the KVM host on the same image file (the
    limit), alternated; 4 KiB random IOPS and 1 MiB sequential MB/s with
    1 and N jobs (queues)."""
    if not shutil.which("fio"):
        raise BenchError("fio is not installed (make deps installs it)")
    kernel, initrd = blk_build_guest()
    n, runtime, size_mb, reps = blk_plan(ctx)
    img_sv, img_q = f"{BLK_DIR}/bench-blk-smpvisor.img", f"{BLK_DIR}/bench-blk-qemu.img"
    conf = f"{BLK_DIR}/bench-blk.json"
    # Written through, so no run reads holes; the host's fio uses O_DIRECT
    # unless the file system refuses it (tmpfs in the nested host), in
    # which case the line below says so in the step's output.
    pre = (f"for f in {img_sv} {img_q}; do dd if=/dev/zero of=$f bs=1M count={size_mb} "
           f"status=none || exit 1; done; echo '{{\"iothreads\": 1}}' > {conf}; "
           f"echo BLK-FS $(stat -f -c %T {BLK_DIR})")
    host_direct = "[ \"$(stat -f -c %T " + BLK_DIR + ")\" = tmpfs ] && echo 0 || echo 1"
    steps = []
    for rep in range(reps):
        for s in ("smpvisor", "qemu", "host"):
            if s == "host":
                spec = fio_spec(img_sv, True, runtime, n).replace("direct=1", "direct=$D")
                cmd = f"D=$({host_direct}); {AGENT} agent.report=0 agent.fio={spec}"
            else:
                cmd = f"/init agent.report=0 agent.fio={fio_spec('/dev/vda', True, runtime, n)}"
            steps.append({"system": s, "tag": rep, "cmd": cmd})
    est = blk_estimate(len(steps), runtime)
    ctx.progress.step(f"blk: booting smpvisor and QEMU ({n} vCPUs, {n}-queue virtio-blk on a "
                      f"{size_mb} MiB image), then {len(steps)} alternated fio runs "
                      f"(guest, guest, host)", est)
    # The images go away with the nested host; on hardware they are removed
    # here, unless the run is interrupted (no command may wait on it then).
    # A guest that dies gets one restart (600 s more).
    limit = 1200 + 90 * len(steps) + 600
    try:
        recs = run_session(ctx, "blk", {"job": "session", "pre": pre,
                                        "vmms": blk_vmms(kernel, initrd, n, img_sv, img_q, conf),
                                        "steps": steps, "boot_timeout": 600,
                                        "step_timeout": 600, "timeout": limit},
                           timeout=limit + 60)
    except Exception:
        ctx.run_tolerant(f"rm -f {img_sv} {img_q} {conf}", timeout=60)
        raise
    ctx.run_tolerant(f"rm -f {img_sv} {img_q} {conf}", timeout=60)
    ctx.progress.finish()
    boots = [f"{r['system']} {r['seconds']:.0f} s" for r in recs if r.get("probe") == "booted"]
    if boots:
        ctx.progress.note(f"bench: blk: guests with the fio initramfs booted to their shell in "
                          f"{', '.join(boots)}")
    fs = next((r["output"].split("BLK-FS", 1)[1].split()[0] for r in recs
               if r.get("probe") == "pre" and "BLK-FS" in r.get("output", "")), "?")
    rows = blk_rows(ctx, recs, n, runtime, size_mb, fs)
    blk_report(ctx, rows, n, runtime, size_mb, fs)
    return rows


def blk_rows(ctx, recs, n, runtime, size_mb, fs):
    """A row per workload and job count; one whose runs failed says so."""
    note_session(ctx, "blk", recs)
    got = {}
    for r in recs:
        if r.get("probe") != "step":
            continue
        for b in r.get("bad", []):
            ctx.progress.note(f"bench: blk: {r['system']}: an agent line of {b['length']} "
                              f"characters did not parse:\n{b['head']}\n...\n{b['tail']}")
        for kind, x in r["agent"]:
            if kind != "FIO":
                continue
            if x.get("rc") or not x.get("fio"):
                ctx.progress.note(f"bench: blk: fio on {r['system']} failed (rc {x.get('rc')}): "
                                  f"{x.get('error')}")
            for key, v in fio_results(x.get("fio")).items():
                got.setdefault((r["system"], key), []).append(v)
    rows = []
    for jobs in (1, n):
        for name, rw, bs, depth, unit, _ in BLK_WORKLOADS:
            row = ctx.machine.columns(
                "blk", f"{name} bs={bs} jobs={jobs}",
                "qemu virtio-blk-pci + iothread (cache=writeback,aio=threads); "
                f"fio on the KVM host on the same image ({fs})", ctx.reps)
            row.update(workload=name, rw=rw, bs=bs, iodepth=depth, jobs=jobs, queues=n,
                       vcpus=n, unit=unit, runtime_s=runtime, image_mb=size_mb, host_fs=fs,
                       host_direct=int(fs != "tmpfs"))
            row.update(common.metric_values("value", ["smpvisor", "qemu", "host"],
                                            {s: got.get((s, (name, jobs)), [])
                                             for s in ("smpvisor", "qemu", "host")}))
            row["value_ratio"] = common.ratio(row["value_smpvisor_median"],
                                              row["value_qemu_median"])
            row["value_host_ratio"] = common.ratio(row["value_smpvisor_median"],
                                                   row["value_host_median"])
            row["status"] = session_status(
                recs, ["smpvisor", "qemu", "host"], lambda r: True,
                {s: bool(got.get((s, (name, jobs)))) for s in ("smpvisor", "qemu", "host")})
            rows.append(row)
    return rows


BLK_COLUMNS = (common.COMMON_COLUMNS
               + ["workload", "rw", "bs", "iodepth", "jobs", "queues", "vcpus", "unit",
                  "runtime_s", "image_mb", "host_fs", "host_direct"]
               + common.metric_columns("value", ["smpvisor", "qemu", "host"])
               + ["value_host_ratio"])


def blk_report(ctx, rows, n, runtime, size_mb, fs):
    """The table, blk.csv and blk.png."""
    table = common.Table(
        f"blk: fio, {n}-vCPU guests, {n}-queue virtio-blk, {size_mb} MiB image "
        f"on the KVM host's {fs}, {runtime} s per job; 4 KiB random: IOPS, 1 MiB sequential: "
        f"MB/s; median [min-max] of {ctx.reps}; ratio = smpvisor / QEMU, "
        "of host = smpvisor / fio on the host",
        ["workload", "jobs", "unit", "smpvisor", "range", "QEMU", "range", "ratio",
         "host", "of host"],
        lambda r: [r["workload"], r["jobs"], "IOPS" if r["unit"] == "iops" else "MB/s",
                   r["value_smpvisor_median"], rng(r, "value_smpvisor"), r["value_qemu_median"],
                   rng(r, "value_qemu"), r["value_ratio"], r["value_host_median"],
                   r["value_host_ratio"]])
    panels = []
    for unit, title, ylabel, names in (
            ("iops", "4 KiB random I/O", "IOPS (thousands; median, min-max)",
             ["randread", "randwrite"]),
            ("mb_per_s", "1 MiB sequential I/O", "MB/s (10^6 B/s; median, min-max)",
             ["seqread", "seqwrite"])):
        scale = 1e-3 if unit == "iops" else 1.0
        cats = [(name, jobs) for name in names for jobs in (1, n)]
        xt = [(f"{name} {jobs} job{'s' * (jobs > 1)}", i + 1) for i, (name, jobs) in
              enumerate(cats)]
        ss = []
        for label, s in (("smpvisor virtio-blk", "smpvisor"),
                         ("QEMU virtio-blk + iothread", "qemu"),
                         ("fio on the host, same file", "host")):
            pts = []
            for i, key in enumerate(cats):
                r = next(r for r in rows if (r["workload"], r["jobs"]) == key)
                if r[f"value_{s}_median"] is not None:
                    pts.append((i + 1, r[f"value_{s}_median"] * scale,
                                r[f"value_{s}_min"] * scale, r[f"value_{s}_max"] * scale))
            ss.append(Series(label, pts))
        panels.append(Panel(title, "workload, fio jobs (one queue each)", ylabel, ss,
                            logy=True, xtics=xt))
    write_outputs(ctx, "blk", BLK_COLUMNS, rows, f"blk ({host_note(ctx)})", panels, [table])


def blk_estimate(nsteps, runtime):
    # Each fio run starts slowly under TCG (it maps 63 libraries), then runs
    # 8 jobs; the two guests boot with an 85 MiB initramfs (QEMU's loader
    # is slow with it).
    return 240 + nsteps * (15 + 8 * (runtime + 0.5))


# --- estimates for the progress line, all planned before anything runs ---

def footprint_boots(ctx):
    return [1] if ctx.quick else [1, 4]


def exits_plan(ctx):
    n_max = ctx.l1_cpus if not hosttest.has_hw_virt() else os.cpu_count()
    counts = sorted({1, 2, n_max} | ({4} if n_max >= 4 else set()))
    iters = 1000 if ctx.quick else 4000
    wheres = ["kvm"] + (["pvm"] if local_pvm() else [])
    est = 6 + sum(counts) * iters * 2 * 2 * 2 * (ctx.reps + 1) * 60e-6
    return counts, iters, wheres, est


def ipi_estimate(nsys, nsteps, iters):
    return 45 * nsys + nsteps * (1.5 + iters * 2e-3)


def scaling_estimate(nsteps, loop_ms):
    return 40 + nsteps * (loop_ms / 1000 + 2.5)


def estimate(name, ctx, names):
    """Seconds the benchmark name should take, for the progress line."""
    if name == "boot":
        return min(sum(2 * ctx.reps * boot_estimate(n) for n in boot_counts(ctx)),
                   boot_budget(ctx))
    if name == "footprint":
        done = boot_counts(ctx) if "boot" in names else []
        return (sum(2 * ctx.reps * boot_estimate(n) for n in footprint_boots(ctx)
                    if n not in done) + (30 if ctx.quick else 90))
    if name == "exits":
        _, _, wheres, est = exits_plan(ctx)
        return est * len(wheres)
    if name == "ipi":
        return ipi_estimate(len(IPI_VARIANTS) + 1, 2 * (len(IPI_VARIANTS) + 2) * ctx.reps,
                            500 if ctx.quick else 3000)
    if name == "scaling":
        n = ctx.l1_cpus if not hosttest.has_hw_virt() else os.cpu_count()
        return scaling_estimate(2 * len(SCALING_WORKLOADS) * len(scaling_counts(n)) * ctx.reps,
                                500 if ctx.quick else 1000)
    if name == "blk":
        _, runtime, _, reps = blk_plan(ctx)
        return blk_estimate(3 * reps, runtime)
    return 1


BENCHMARKS = {
    "boot": bench_boot,
    "footprint": bench_footprint,
    "exits": bench_exits,
    "ipi": bench_ipi,
    "scaling": bench_scaling,
    "blk": bench_blk,
}


def shutil_which(name):
    return shutil.which(name)
