"""boot: wall time from launching the VMM to the guest agent's
AGENT-REPORT line, and the guest's own uptime_s in that report, smpvisor
against QEMU (-M pc) with the same guest; alternated boots, 1 to 64 vCPUs
within a time budget, or chosen counts and topology (bench/run boot
--vcpus ...). Its boots are cached for footprint, which reads their
memory and first-KVM_RUN figures.
"""
import time

import common
from common import Panel, host_note, rng, series, write_outputs
from context import BenchError, hosttest
from vmms import guest_mem_mb, vmm_cmd


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


def estimate(ctx, names):
    return min(sum(2 * ctx.reps * boot_estimate(n) for n in boot_counts(ctx)),
               boot_budget(ctx))


run = bench_boot
