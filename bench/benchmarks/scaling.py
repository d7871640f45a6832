"""scaling: guest throughput of the agent's cpuloop (no sharing) and
lockloop (one contended mutex) on k = 1..N busy vCPUs of an N-vCPU
smpvisor guest, against the same loop on k CPUs of the KVM host itself;
speed-up and efficiency, guest and host runs alternated.
"""
import os
import shlex

import common
from common import Panel, Series, host_note, series, write_outputs
from context import AGENT, SESSION_BOOT_TIMEOUT, hosttest, note_session, run_session, session_status
from vmms import SHELL_APPEND, vmm_cmd


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


def scaling_estimate(nsteps, loop_ms):
    return 40 + nsteps * (loop_ms / 1000 + 2.5)


def estimate(ctx, names):
    n = ctx.l1_cpus if not hosttest.has_hw_virt() else os.cpu_count()
    return scaling_estimate(2 * len(SCALING_WORKLOADS) * len(scaling_counts(n)) * ctx.reps,
                            500 if ctx.quick else 1000)


run = bench_scaling
