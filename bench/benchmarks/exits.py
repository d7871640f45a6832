"""exits: what smpvisor adds to one guest exit. build/bench/exits
(bench/exits.c) makes port-I/O and MMIO round trips from 1, 2, 4 ... N
vCPUs at once and answers them with the VMM's own exit path
(vcpu_handle_exit) and with a bare KVM_RUN loop, alternated; in the KVM
host at CPL0 and, under PVM, on this machine's /dev/kvm at CPL3.
"""
import os
import subprocess

import common
from common import Panel, host_note, rng, series, write_outputs
from context import BENCH_BIN, harness_reason, hosttest, local_pvm, parse_tagged


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


def exits_plan(ctx):
    n_max = ctx.l1_cpus if not hosttest.has_hw_virt() else os.cpu_count()
    counts = sorted({1, 2, n_max} | ({4} if n_max >= 4 else set()))
    iters = 1000 if ctx.quick else 4000
    wheres = ["kvm"] + (["pvm"] if local_pvm() else [])
    est = 6 + sum(counts) * iters * 2 * 2 * 2 * (ctx.reps + 1) * 60e-6
    return counts, iters, wheres, est


def estimate(ctx, names):
    _, _, wheres, est = exits_plan(ctx)
    return est * len(wheres)


run = bench_exits
