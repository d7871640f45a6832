"""ipi: cross-vCPU wake-up latency inside the guest (agent.pingpong
between vCPUs 0 and 1, futex and spin), smpvisor in three variants (the
defaults, no PV send-IPI, dedicated CPUs) against QEMU and the KVM host
itself, in one session of alternated runs.
"""
import json
import shlex

import common
from common import Panel, Series, host_note, rng, write_outputs
from context import AGENT, SESSION_BOOT_TIMEOUT, run_session, session_status, note_session
from vmms import SHELL_APPEND, vmm_cmd


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


def ipi_estimate(nsys, nsteps, iters):
    return 45 * nsys + nsteps * (1.5 + iters * 2e-3)


def estimate(ctx, names):
    return ipi_estimate(len(IPI_VARIANTS) + 1, 2 * (len(IPI_VARIANTS) + 2) * ctx.reps,
                        500 if ctx.quick else 3000)


run = bench_ipi
