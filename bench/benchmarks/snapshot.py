"""snapshot: save a running guest to files and bring it back in a new
process (issue 17), smpvisor against QEMU's migration to a file.

The guest: the test guest with 1 GiB and 2 vCPUs whose agent fills 200
MiB with non-zero data (agent.fill) and then sleeps. Once it says
AGENT-FILLED:
- smpvisor: `smpvisor ctl SOCK snapshot DIR` is timed (the command's wall
  time: pause, state, memory, manifest; the VMM then ends), DIR's files
  are measured on disk (blocks allocated: the memory files are sparse),
  then `smpvisor run -v --restore DIR` is timed from launch until its API
  socket answers query-status with "running".
- QEMU (the same guest, -accel kvm -cpu host -M pc, a QMP socket): over
  QMP, max-bandwidth is lifted (its default throttles migration to 128
  MiB/s), then `stop` and `migrate` to a file, timed from the stop until
  query-migrate says completed; the file is measured; then a new QEMU
  with the same options and `-incoming` from the file is timed from
  launch until query-status says running (it comes up paused, since the
  source was stopped, and is sent `cont`).
Runs alternate smpvisor, QEMU; vmprobe.py's snapshot job does them in
the KVM host and runs a failed one again once.

smpvisor runs from a copy of build/smpvisor made when the benchmark
starts (build/bench/snapshot/smpvisor): the nested host reads the tree
over 9p, and a relink of build/smpvisor while a run is going (the tree is
shared with other work) crashed `smpvisor ctl` as it exited (SIGSEGV in
_dl_fini, the snapshot written) in 3 of 4 runs; from the copy, none did.
"""
import os
import re
import shutil
import subprocess

import common
from common import Panel, Series, host_note, rng, write_outputs
from context import BENCH_BIN, SMPVISOR, BenchError, hosttest, run_outcome
from vmms import vmm_cmd

GUEST_MB = 1024
VCPUS = 2
FILL_MIB = 200
# The agent fills, then sleeps past any run; no report (it is not used).
APPEND = f"agent.report=0 agent.fill={FILL_MIB} agent.sleep=600 nosoftlockup"
SYSTEMS = ("smpvisor", "qemu")
# QEMU's migration throttle for these runs, bytes/s: none in effect.
MAX_BANDWIDTH = 64 << 30
# (metric, unit, what) of the rows, in order.
METRICS = [("snapshot_s", "s", "save: pause + write"),
           ("restore_s", "s", "restore: launch to running"),
           ("disk_mib", "MiB", "disk space of the saved files")]
RUN_TIMEOUT = 900


def qemu_version():
    try:
        out = subprocess.run(["qemu-system-x86_64", "--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True).stdout
    except OSError:
        return None
    m = re.search(r"version (\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else None


def qemu_uris(version):
    """(outgoing URI, incoming URI, label) of QEMU's migration to a file:
    the file: transport from QEMU 8.2 on, before it exec: with cat."""
    if version and version >= (8, 2):
        return "file:FILE", "file:FILE", "file:FILE"
    return "exec:cat > FILE", "exec:cat FILE", "exec:cat > FILE / exec:cat FILE"


def reference(uri_label):
    return (f"qemu -accel kvm -cpu host -M pc: QMP stop + migrate to a file "
            f"({uri_label}, max-bandwidth {MAX_BANDWIDTH >> 30} GiB/s), "
            "new QEMU -incoming + cont")


def private_smpvisor():
    """A copy of build/smpvisor that no rebuild touches during the runs."""
    d = os.path.join(BENCH_BIN, "snapshot")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "smpvisor")
    shutil.copy2(SMPVISOR, path + ".tmp")
    os.replace(path + ".tmp", path)
    return path


def snapshot_runs(ctx, kernel, initrd, version, smpvisor=SMPVISOR):
    """The job's runs: reps x (smpvisor, QEMU), alternated; smpvisor is
    the binary run (VMM, ctl and restore)."""
    out_uri, in_uri, _ = qemu_uris(version)
    runs = []
    for rep in range(ctx.reps):
        for system in SYSTEMS:
            sock = f"/tmp/bench-snap-{system}.sock"
            path = f"/tmp/bench-snap-{system}" + ("" if system == "smpvisor" else ".mig")
            if system == "smpvisor":
                cmd = vmm_cmd(system, kernel, initrd, VCPUS, GUEST_MB, APPEND,
                              extra=["--api-socket", sock])
                cmd[0] = smpvisor
                restore = [smpvisor, "run", "-v", "--restore", path]
            else:
                cmd = vmm_cmd(system, kernel, initrd, VCPUS, GUEST_MB, APPEND,
                              extra=["-qmp", f"unix:{sock},server=on,wait=off"])
                restore = cmd + ["-incoming", in_uri.replace("FILE", path)]
            runs.append({"system": system, "tag": rep, "cmd": cmd, "restore_cmd": restore,
                         "sock": sock, "path": path, "smpvisor": smpvisor,
                         "uri_out": out_uri, "max_bandwidth": MAX_BANDWIDTH,
                         "timeout": RUN_TIMEOUT, "boot_timeout": 400})
    return runs


def snapshot_samples(ctx, recs, error=None):
    """({system: {metric: [values]}}, extra samples, failed, retried) from
    the job's records (error: why the job did not run)."""
    samples = {s: {m: [] for m, _, _ in METRICS} for s in SYSTEMS}
    extra = {s: {"file_mib": [], "restore_read_s": [], "qemu_total_s": [], "boot_s": []}
             for s in SYSTEMS}
    failed = [] if error is None else [f"the runs did not happen: {error}"]
    retried = []
    for rec in recs:
        s = rec.get("system")
        if s not in samples:
            continue
        which = f"{s} run {(rec.get('tag') or 0) + 1}"
        fail, retry = run_outcome(ctx, f"snapshot: {which}", which, rec)
        if fail:
            failed.append(fail)
            continue
        if retry:
            retried.append(retry)
        samples[s]["snapshot_s"].append(rec["snapshot_s"])
        samples[s]["restore_s"].append(rec["restore_s"])
        samples[s]["disk_mib"].append(rec["disk_bytes"] / (1 << 20))
        extra[s]["file_mib"].append(rec["file_bytes"] / (1 << 20))
        extra[s]["boot_s"].append(rec.get("boot_s"))
        extra[s]["restore_read_s"].append(rec.get("restore_read_s"))
        if rec.get("qemu_total_ms") is not None:
            extra[s]["qemu_total_s"].append(rec["qemu_total_ms"] / 1000)
    for s in SYSTEMS:
        k = ctx.reps - sum(1 for r in recs if r.get("system") == s)
        if k > 0 and error is None:
            failed.append(f"{s}: {k} run{'s' * (k > 1)} gave no record")
    return samples, extra, failed, retried


def med(values):
    return common.summary([v for v in values if v is not None])[0]


def snapshot_rows(ctx, samples, extra, failed, retried, uri_label):
    """A row per metric; every row carries the runs' status."""
    rows = []
    for metric, unit, what in METRICS:
        row = ctx.machine.columns("snapshot", f"{metric} gib={GUEST_MB // 1024} vcpus={VCPUS} "
                                  f"fill_mib={FILL_MIB}", reference(uri_label), ctx.reps)
        row.update(metric=metric, unit=unit, what=what, vcpus=VCPUS, guest_mib=GUEST_MB,
                   fill_mib=FILL_MIB, qemu_uri=uri_label,
                   status=common.status(failed, retried))
        row.update(common.metric_values("value", list(SYSTEMS),
                                        {s: samples[s][metric] for s in SYSTEMS}))
        if metric == "disk_mib":
            for s in SYSTEMS:
                row[f"file_mib_{s}_median"] = med(extra[s]["file_mib"])
        elif metric == "snapshot_s":
            row["qemu_total_s_median"] = med(extra["qemu"]["qemu_total_s"])
            for s in SYSTEMS:
                row[f"boot_s_{s}_median"] = med(extra[s]["boot_s"])
        else:
            row["restore_read_s_smpvisor_median"] = med(extra["smpvisor"]["restore_read_s"])
        rows.append(row)
    return rows


SNAPSHOT_COLUMNS = (common.COMMON_COLUMNS
                    + ["metric", "unit", "what", "vcpus", "guest_mib", "fill_mib", "qemu_uri"]
                    + common.metric_columns("value", list(SYSTEMS))
                    + ["file_mib_smpvisor_median", "file_mib_qemu_median",
                       "qemu_total_s_median", "boot_s_smpvisor_median", "boot_s_qemu_median",
                       "restore_read_s_smpvisor_median"])


def snapshot_table(ctx):
    return common.Table(
        f"snapshot: {GUEST_MB // 1024} GiB, {VCPUS}-vCPU guest that touched {FILL_MIB} MiB "
        f"(agent.fill), saved to files and restored in a new process; median [min-max] of "
        f"{ctx.reps}; ratio = smpvisor / QEMU (lower is better)",
        ["metric", "unit", "smpvisor", "range", "QEMU", "range", "ratio"],
        lambda r: [r["what"], r["unit"], r["value_smpvisor_median"], rng(r, "value_smpvisor"),
                   r["value_qemu_median"], rng(r, "value_qemu"), r["value_ratio"]])


def snapshot_panels(rows):
    by = {r["metric"]: r for r in rows}
    panels = []
    for metrics, title, ylabel in (
            (["snapshot_s", "restore_s"], "save and restore", "seconds (median, min-max)"),
            (["disk_mib"], "saved files on disk", "MiB allocated (median, min-max)")):
        ss = []
        for s, label in (("smpvisor", "smpvisor"), ("qemu", "QEMU migrate to a file")):
            pts = [(i + 1, by[m][f"value_{s}_median"], by[m][f"value_{s}_min"],
                    by[m][f"value_{s}_max"]) for i, m in enumerate(metrics)
                   if m in by and by[m][f"value_{s}_median"] is not None]
            ss.append(Series(label, pts))
        xt = [(by[m]["what"] if m in by else m, i + 1) for i, m in enumerate(metrics)]
        panels.append(Panel(title, "", ylabel, ss, xtics=xt))
    return panels


def bench_snapshot(ctx):
    kernel, initrd = ctx.guest()
    version = qemu_version()
    uri_label = qemu_uris(version)[2]
    runs = snapshot_runs(ctx, kernel, initrd, version, private_smpvisor())
    deadline = (len(runs) + 2) * RUN_TIMEOUT
    ctx.progress.step(f"snapshot: {ctx.reps} x (smpvisor, QEMU): boot {GUEST_MB} MiB with "
                      f"{FILL_MIB} MiB filled, save, restore", len(runs) * run_estimate())
    error = None
    try:
        recs = ctx.probe({"job": "snapshot", "runs": runs, "deadline": deadline},
                         deadline + 60)
    except (BenchError, hosttest.HostTestError) as e:
        ctx.progress.note(f"bench: snapshot: the runs failed: {e}")
        error = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
        recs = []
    ctx.progress.finish()
    samples, extra, failed, retried = snapshot_samples(ctx, recs, error)
    rows = snapshot_rows(ctx, samples, extra, failed, retried, uri_label)
    write_outputs(ctx, "snapshot", SNAPSHOT_COLUMNS, rows, f"snapshot ({host_note(ctx)})",
                  snapshot_panels(rows), [snapshot_table(ctx)])
    return rows


def run_estimate():
    """Seconds of one run in the nested host: a boot (QEMU's is the
    longer), 200 MiB filled, the save and the restore."""
    return 75


def estimate(ctx, names):
    return 2 * ctx.reps * run_estimate() + 10


run = bench_snapshot
