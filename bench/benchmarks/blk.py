"""blk: fio in the guest on smpvisor's virtio-blk (N queues, one I/O
thread) and on QEMU's virtio-blk-pci with an iothread, and fio on the KVM
host on the same image file (the limit), alternated: 4 KiB random IOPS and
1 MiB sequential MB/s with 1 and N jobs (queues).
"""
import os
import shutil
import subprocess

import common
from common import Panel, Series, host_note, rng, write_outputs
from context import AGENT, BenchError, guest, note_session, run_session, session_status
from vmms import SHELL_APPEND, vmm_cmd


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


def estimate(ctx, names):
    _, runtime, _, reps = blk_plan(ctx)
    return blk_estimate(3 * reps, runtime)


run = bench_blk
