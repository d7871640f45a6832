"""boot: wall time from launching the VMM to the guest agent's
AGENT-REPORT line, and the guest's own uptime_s in that report, smpvisor
against QEMU (-M pc) with the same guest; alternated boots, 1 to 64 vCPUs
within a time budget, or chosen counts and topology (bench/run boot
--vcpus ...). Its boots are cached for footprint, which reads their
memory and first-KVM_RUN figures.

The sandbox's cost (issue 15): with 1 vCPU (and 4 in full mode) the same
boots job also boots smpvisor with its sandbox off (seccomp off, Landlock
off), alternated with the default one; rows "sandbox vcpus=N" compare
launch to first KVM_RUN and to the agent's report. build/bench/sandbox_cost
(no KVM needed, run here) times the sandbox's own steps: rows
"sandbox_cost ...".
"""
import os
import subprocess
import time

import common
from common import Panel, host_note, rng, series, write_outputs
from context import BENCH_BIN, BenchError, harness_reason, hosttest, parse_tagged, run_outcome
from vmms import guest_mem_mb, vmm_cmd


# Both VMMs' guests: the agent reports after 2 s; no soft-lockup warnings,
# which an overcommitted nested host prints for large guests (for both VMMs)
# and which can land inside the agent's report line.
BOOT_APPEND = "agent.sleep=2 nosoftlockup"
BOOT_METRICS = ["report_s", "uptime_s", "first_run_s", "vmm_kb", "rss_kb"]
# smpvisor with its sandbox off (vmms.SANDBOX_OFF): the sandbox rows' reference.
SV_OFF = "smpvisor_nosandbox"
SYSTEMS = ("smpvisor", "qemu")


def boot_order(rep, sandbox):
    """The systems of one rep, in boot order: smpvisor and QEMU; with
    sandbox, smpvisor without it too, the two smpvisors swapped every rep
    (on, QEMU, off; off, QEMU, on; ...)."""
    if not sandbox:
        return list(SYSTEMS)
    return ["smpvisor", "qemu", SV_OFF] if rep % 2 == 0 else [SV_OFF, "qemu", "smpvisor"]


def boot_samples(ctx, n, label, topo=None, timeout=None, sandbox=False):
    """reps alternated boots of smpvisor and QEMU with n vCPUs (and of
    smpvisor with its sandbox off, if sandbox), cached:
    (samples, failures per system, {"failed": [...], "retried": [...]}).
    vmprobe runs a failed boot once more at once; a boot that fails twice
    counts as a failure, and both say why in the status column."""
    cache = ctx.cache.setdefault("boots", {})
    key = n if topo is None or topo.plain() else (n, topo.label(n))
    if key in cache and (not sandbox or SV_OFF in cache[key][0]):
        return cache[key]
    kernel, initrd = ctx.guest()
    mem = guest_mem_mb(n)
    timeout = timeout or 240 + 6 * n
    boots = [{"system": system, "tag": rep, "guest_mb": mem, "timeout": timeout, "cpus": n,
              "cmd": vmm_cmd(system, kernel, initrd, n, mem, BOOT_APPEND, topo=topo,
                             sandbox=system != SV_OFF)}
             for rep in range(ctx.reps) for system in boot_order(rep, sandbox)]
    # Room for two boots run again after a failure; the job keeps to it.
    deadline = (len(boots) + 2) * (timeout + 30)
    est = len(boots) * boot_estimate(n)
    ctx.progress.step(f"{label}: {ctx.reps} x (smpvisor, QEMU"
                      + (", smpvisor sandbox off" if sandbox else "")
                      + f") boots with {n} vCPU{'s' * (n > 1)}", est)
    error = None
    try:
        recs = ctx.probe({"job": "boots", "boots": boots, "deadline": deadline}, deadline + 60)
    except (BenchError, hosttest.HostTestError) as e:
        ctx.progress.note(f"bench: {label}: boots with {n} vCPUs failed: {e}")
        error = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
        recs = []
    ctx.progress.finish()
    cache[key] = boot_results(ctx, recs, n, error, boot_order(0, sandbox))
    return cache[key]


def boot_results(ctx, recs, n, error=None, systems=SYSTEMS):
    """(samples, failures per system, {"failed": [...], "retried": [...]})
    from the boots job's records (ctx.reps boots of each system expected;
    error: why the job did not run)."""
    samples = {s: {m: [] for m in BOOT_METRICS} for s in systems}
    fails = {s: 0 for s in systems}
    events = {"failed": [] if error is None else [f"the boots did not run: {error}"],
              "retried": []}
    for rec in recs:
        system = rec.get("system")
        if system not in samples:
            continue
        which = f"{system} boot {(rec.get('tag') or 0) + 1}"
        failed, retried = run_outcome(ctx, f"{which} with {n} vCPUs", which, rec)
        if failed:
            fails[system] += 1
            events["failed"].append(failed)
            continue
        if retried:
            events["retried"].append(retried)
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


def sandbox_counts(ctx):
    """vCPU counts whose boots include smpvisor with its sandbox off."""
    return [1] if ctx.quick else [1, 4]


def boots_per_rep(ctx, n, topo=None):
    return 3 if n in sandbox_counts(ctx) and (topo is None or topo.plain()) else 2


def bench_boot(ctx, counts=None, topo=None, timeout=None):
    """Boot times; counts given on the command line run whatever the
    budget, each boot bounded by timeout (default 240 + 6 s per vCPU)."""
    explicit = counts is not None
    counts = counts or boot_counts(ctx)
    budget = float("inf") if explicit else boot_budget(ctx)
    for n in counts:
        if topo:
            topo.check(n)
    rows, sb_rows, spent = [], [], 0.0
    for i, n in enumerate(counts):
        if spent + boots_per_rep(ctx, n, topo) * ctx.reps * boot_estimate(n) > budget and i > 0:
            ctx.progress.note(f"bench: boot: skipping {counts[i:]} vCPUs: the time budget "
                              f"({budget // 60} min) would be exceeded")
            ctx.progress.plan(-min(sum(boots_per_rep(ctx, m, topo) * ctx.reps
                                       * boot_estimate(m) for m in counts[i:]),
                                   max(budget - spent, 0)))
            break
        t0 = time.monotonic()
        sandbox = boots_per_rep(ctx, n, topo) == 3
        samples, fails, events = boot_samples(ctx, n, "boot", topo, timeout, sandbox)
        spent += time.monotonic() - t0
        rows.append(boot_row(ctx, n, topo, samples, fails, events))
        if sandbox:
            sb_rows.append(sandbox_row(ctx, n, samples, fails, events))
        if not samples["smpvisor"]["report_s"] and not samples["qemu"]["report_s"] and n >= 16:
            ctx.progress.note(f"bench: boot: no guest booted with {n} vCPUs; stopping here")
            break
    cost_rows = sandbox_cost_rows(ctx)
    panels = [
        Panel("launch to agent report", "vCPUs", "seconds (wall, median, min-max)",
              [series(rows, "vcpus", "report_s_smpvisor", "smpvisor"),
               series(rows, "vcpus", "report_s_qemu", "QEMU (-M pc)")], logx=True),
        Panel("guest uptime at report", "vCPUs", "seconds (guest /proc/uptime)",
              [series(rows, "vcpus", "uptime_s_smpvisor", "smpvisor"),
               series(rows, "vcpus", "uptime_s_qemu", "QEMU (-M pc)")], logx=True)]
    rows += sb_rows + cost_rows
    write_outputs(ctx, "boot", BOOT_COLUMNS, rows, f"boot ({host_note(ctx)})", panels,
                  [boot_table(ctx), sandbox_table(ctx), sandbox_cost_table(ctx)])
    return rows


# The main rows (config "vcpus=N") compare smpvisor with QEMU; the sandbox
# rows ("sandbox vcpus=N") smpvisor with smpvisor without its sandbox, in
# report_s and first_run_s (the ratio: sandbox on / off); the sandbox_cost
# rows the sandbox's steps on and off, in cost_us.
BOOT_COLUMNS = (common.COMMON_COLUMNS + ["vcpus", "guest_mb", "failures"]
                + sum((common.metric_columns(m, ["smpvisor", "qemu"])
                       for m in ("report_s", "uptime_s")), [])
                + [f"report_s_{SV_OFF}_{f}" for f in common.STAT_FIELDS]
                + common.metric_columns("first_run_s", ["smpvisor", SV_OFF])
                + common.metric_columns("cost_us", ["smpvisor", SV_OFF]))


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
               status=common.status(*events_of(events, SYSTEMS)))
    for m in ("report_s", "uptime_s"):
        row.update(common.metric_values(m, ["smpvisor", "qemu"],
                                        {s: samples[s][m] for s in samples}))
    return row


def events_of(events, systems):
    """(failed, retried) of events that concern systems: those naming no
    system (the job did not run) and those naming one of them."""
    others = [s for s in (*SYSTEMS, SV_OFF) if s not in systems]

    def mine(text):
        return not any(text.startswith((f"{s} ", f"{s}:")) for s in others)
    return ([e for e in events["failed"] if mine(e)], [e for e in events["retried"] if mine(e)])


def sandbox_row(ctx, n, samples, fails, events):
    """The sandbox row of n vCPUs: smpvisor (sandbox on, its default)
    against smpvisor with the sandbox off, from boot_samples' results."""
    row = ctx.machine.columns("boot", f"sandbox vcpus={n}",
                              "smpvisor with the sandbox off (seccomp off, Landlock off)",
                              ctx.reps)
    systems = ["smpvisor", SV_OFF]
    row.update(vcpus=n, guest_mb=guest_mem_mb(n), failures=fails["smpvisor"] + fails[SV_OFF],
               status=common.status(*events_of(events, systems)))
    for m in ("report_s", "first_run_s"):
        row.update(common.metric_values(m, systems, {s: samples[s][m] for s in systems}))
    return row


def run_sandbox_cost(ctx, counts):
    """build/bench/sandbox_cost here (it needs no KVM): its records, and
    why there are none if so."""
    cmd = [os.path.join(BENCH_BIN, "sandbox_cost"), "--threads", ",".join(map(str, counts)),
           "--reps", str(ctx.reps)]
    ctx.progress.step(f"boot: sandbox set-up cost (sandbox_cost, here), {ctx.reps} x 2 "
                      f"x {len(counts)} runs", 2 + 0.2 * ctx.reps * len(counts))
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=300)
        out, rc = p.stdout, p.returncode
    except (OSError, subprocess.TimeoutExpired) as e:
        out, rc = str(e), -1
    ctx.progress.finish()
    if rc != 0:
        ctx.progress.note(f"bench: sandbox_cost failed (rc {rc}; the runs it finished are "
                          f"kept): {out[-800:]}")
    return parse_tagged(out, "SANDBOXCOST"), harness_reason("sandbox_cost", "here", rc, out)


SANDBOX_COST_THREADS = [1, 16, 64]
SANDBOX_COST_HOST = "this machine (host only, no KVM)"


def sandbox_cost_rows(ctx):
    """Rows of the sandbox's own steps, on and off: the seal (policy build
    and sandbox_seal; every run's) and sandbox_thread() per vCPU thread."""
    recs, why = run_sandbox_cost(ctx, SANDBOX_COST_THREADS)
    systems = ["smpvisor", SV_OFF]
    mode = {"on": "smpvisor", "off": SV_OFF}
    ref = "the sandbox off (seccomp off, Landlock off)"
    rows = []
    for what, n in [("seal", None)] + [("thread", k) for k in SANDBOX_COST_THREADS]:
        got = {s: [] for s in systems}
        for r in recs:
            if r.get("mode") in mode and (n is None or r.get("threads") == n):
                got[mode[r["mode"]]].append(r["seal_us"] if n is None else r["thread_us"])
        runs = ctx.reps * (len(SANDBOX_COST_THREADS) if n is None else 1)
        row = ctx.machine.columns("boot", "sandbox_cost seal" if n is None else
                                  f"sandbox_cost thread n={n}", ref, runs,
                                  host_kind=SANDBOX_COST_HOST)
        row.update(vcpus=n)
        row.update(common.metric_values("cost_us", systems, got))
        if not all(got.values()):
            row["status"] = common.status([why])
        rows.append(row)
    return rows


def delta_ms(row, metric, scale=1000):
    """The sandbox's cost in ms: median on minus median off."""
    on, off = row.get(f"{metric}_smpvisor_median"), row.get(f"{metric}_{SV_OFF}_median")
    return None if on is None or off is None else (on - off) * scale


def sandbox_table(ctx):
    return common.Table(
        "boot: the sandbox's cost: smpvisor (sandbox on, the default) against smpvisor with "
        "the sandbox off (seccomp off, Landlock off); launch to first KVM_RUN (ms) and to "
        f"AGENT-REPORT (s); median of {ctx.reps}; +ms: on - off",
        ["vCPUs", "on 1st run ms", "off 1st run ms", "+ms", "ratio",
         "on report s", "range", "off report s", "range", "+ms", "ratio", "fail"],
        lambda r: [r["vcpus"], scaled(r.get("first_run_s_smpvisor_median"), 1000),
                   scaled(r.get(f"first_run_s_{SV_OFF}_median"), 1000),
                   delta_ms(r, "first_run_s"), r["first_run_s_ratio"],
                   r["report_s_smpvisor_median"], rng(r, "report_s_smpvisor"),
                   r[f"report_s_{SV_OFF}_median"], rng(r, f"report_s_{SV_OFF}"),
                   delta_ms(r, "report_s"), r["report_s_ratio"], r["failures"]],
        where=lambda r: r["config"].startswith("sandbox vcpus="))


def sandbox_cost_table(ctx):
    return common.Table(
        "boot: the sandbox's steps, here (build/bench/sandbox_cost, fresh process per run): "
        "policy build + seal, and sandbox_thread() per vCPU thread started after it, "
        f"microseconds; on (seccomp, Landlock) and off; median [min-max] of {ctx.reps} "
        "(the seal: of every run)",
        ["step", "threads", "on us", "range", "off us", "range", "+us", "ratio"],
        lambda r: ["seal" if r["vcpus"] is None else "per thread", r["vcpus"],
                   r["cost_us_smpvisor_median"], rng(r, "cost_us_smpvisor"),
                   r[f"cost_us_{SV_OFF}_median"], rng(r, f"cost_us_{SV_OFF}"),
                   delta_ms(r, "cost_us", 1), r["cost_us_ratio"]],
        where=lambda r: r["config"].startswith("sandbox_cost"))


def scaled(v, k):
    return None if v is None else v * k


def boot_table(ctx):
    return common.Table(
        "boot: launch to AGENT-REPORT (wall s) and guest uptime_s at the report; "
        f"median [min-max] of {ctx.reps}",
        ["vCPUs", "smpvisor s", "range", "QEMU s", "range", "ratio",
         "sv uptime", "QEMU uptime", "ratio", "fail"],
        lambda r: [r["vcpus"], r["report_s_smpvisor_median"], rng(r, "report_s_smpvisor"),
                   r["report_s_qemu_median"], rng(r, "report_s_qemu"), r["report_s_ratio"],
                   r["uptime_s_smpvisor_median"], r["uptime_s_qemu_median"],
                   r["uptime_s_ratio"], r["failures"]],
        where=lambda r: r["config"].startswith("vcpus="))


def estimate(ctx, names):
    return min(sum(boots_per_rep(ctx, n) * ctx.reps * boot_estimate(n)
                   for n in boot_counts(ctx)), boot_budget(ctx)) + 5


run = bench_boot
