"""footprint: the VMM's resident memory beyond guest RAM while the guest
sleeps and the time to its first KVM_RUN (from the boot benchmark's boots,
smpvisor against QEMU), and vCPU creation time (build/bench/vcpu_create:
the project's kvm_vcpu_create against the raw ioctl and mmap), in the
KVM host and, when there is one, on this machine's own /dev/kvm.
"""
import subprocess

import common
from benchmarks.boot import SYSTEMS, boot_counts, boot_estimate, boot_samples, events_of
from common import Panel, host_note, rng, series, write_outputs
from context import BENCH_BIN, harness_reason, hosttest, local_pvm, parse_tagged
from vmms import guest_mem_mb


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
                   status=common.status(*events_of(events, SYSTEMS)))
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


def footprint_boots(ctx):
    return [1] if ctx.quick else [1, 4]


def estimate(ctx, names):
    done = boot_counts(ctx) if "boot" in names else []
    return (sum(2 * ctx.reps * boot_estimate(n) for n in footprint_boots(ctx)
                if n not in done) + (30 if ctx.quick else 90))


run = bench_footprint
