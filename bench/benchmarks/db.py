"""bench/run db: pgbench inside the PostgreSQL guest (scripts/build-image.sh)
at 1..N vCPUs, smpvisor against QEMU with the same image, kernel, memory,
topology and NUMA binding.

For each vCPU count n the two VMMs boot in turn (smpvisor, QEMU) from fresh
copies of the image; inside each boot the guest's smpvisor.bench switch runs
pgbench `reps` times select-only (-S, CPU-bound: shows how reads scale with
vCPUs) and `reps` times TPC-B like (writes: each commit waits for a flush
through virtio-blk), alternating the two, with n clients and n threads.
Rows give TPS and latency median/min/max per system, the ratio smpvisor /
QEMU, and each system's speed-up over its own 1-vCPU figure.
"""
import json
import os
import re
import shlex

import common
from common import Panel, host_note, rng, series, write_outputs
from context import SMPVISOR, hosttest

import dbguest  # tests/system, on the path through context
from agentlines import json_at


MODES = [("select", "select-only (pgbench -S)"), ("tpcb", "TPC-B like (pgbench default)")]
MEM_MB = 1024
SCALE = 4
CONFIGS = os.path.join(common.ROOT, "build", "bench", "configs")


def db_plan(ctx):
    """(vCPU counts, seconds per pgbench run, runs per mode and boot)."""
    top = ctx.l1_cpus if not hosttest.has_hw_virt() else min(os.cpu_count() or 1, 16)
    counts = [n for n in (1, 2, 4, 8, 16) if n <= top]
    if ctx.quick:
        counts = sorted({1, counts[-1]})
    return counts, (5 if ctx.quick else 10), ctx.reps


def db_estimate(ctx):
    counts, secs, reps = db_plan(ctx)
    # A nested boot to PostgreSQL ready takes about 80 s, pgbench -i 15 s.
    return sum(2 * (120 + 2 * reps * (secs + 3)) for _ in counts)


def cmdline(n, secs, reps):
    runs = ",".join(f"{n}s,{n}" for _ in range(reps))
    return (f"console=ttyS0 root=/dev/vda quiet {dbguest.QUIET} smpvisor.bench=pgbench "
            f"smpvisor.bench.clients={runs} smpvisor.bench.time={secs} "
            f"smpvisor.bench.scale={SCALE}")


def topology(n):
    """(sockets, cores, [(first vCPU, last vCPU)] per guest node): one node
    for 1 vCPU, else two sockets, each its own node bound to host node 0/1."""
    if n == 1:
        return 1, 1, []
    half = n // 2
    return 2, half, [(0, half - 1), (half, n - 1)]


def smpvisor_argv(n, disk, append):
    sockets, cores, nodes = topology(n)
    image = dbguest.IMAGE_DIR
    per = MEM_MB // max(len(nodes), 1)
    cfg = {"kernel": os.path.join(image, "vmlinuz"), "initrd": os.path.join(image, "initrd.img"),
           "cmdline": append,
           "cpus": {"count": n, "sockets": sockets, "cores": cores, "threads": 1},
           "memory": {"size": f"{MEM_MB}M"},
           "disks": [{"path": disk, "serial": "dbroot"}],
           "vmm": {"shutdown_timeout": 120}}
    if nodes:
        cfg["numa"] = [{"cpus": f"{a}-{b}", "memory": f"{per}M", "host_nodes": str(i),
                        "policy": "bind"} for i, (a, b) in enumerate(nodes)]
    os.makedirs(CONFIGS, exist_ok=True)
    path = os.path.join(CONFIGS, f"db-{n}.json")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)
    return [SMPVISOR, "run", "--config", path]


def qemu_argv(n, disk, append, cache):
    """QEMU with KVM: the same guest, its disk on virtio-blk-pci with an
    iothread and one queue per vCPU (as smpvisor gives it), memory bound
    per node as smpvisor's config does."""
    sockets, cores, nodes = topology(n)
    image = dbguest.IMAGE_DIR
    argv = ["qemu-system-x86_64", "-accel", "kvm", "-cpu", "host", "-M", "pc",
            "-smp", f"{n},sockets={sockets},cores={cores},threads=1", "-m", f"{MEM_MB}M",
            "-nographic", "-no-reboot",
            "-kernel", os.path.join(image, "vmlinuz"),
            "-initrd", os.path.join(image, "initrd.img"), "-append", append,
            "-object", "iothread,id=io0",
            "-drive", f"file={disk},if=none,id=d0,format=raw,cache={cache},aio=threads",
            "-device", f"virtio-blk-pci,drive=d0,iothread=io0,num-queues={n},serial=dbroot",
            "-device", "virtio-rng-pci"]
    per = MEM_MB // max(len(nodes), 1)
    for i, (a, b) in enumerate(nodes):
        argv += ["-object", f"memory-backend-ram,id=m{i},size={per}M,host-nodes={i},policy=bind",
                 "-numa", f"node,nodeid={i},cpus={a}-{b},memdev=m{i}"]
    return argv


def parse_boot(text):
    """(pgbench records, PostgreSQL-ready uptime or None, CPUs the guest saw,
    errors) from one boot's console."""
    runs, ready, cpus, errors = [], None, None, []
    for line in text.splitlines():
        i = line.find("SMPV-PGBENCH ")
        if i >= 0:
            try:
                runs.append(json_at(line[i + 13:].strip()))
            except ValueError:
                errors.append("unreadable: " + line[i:][:200])
        m = re.search(r"SMPV-PG-READY uptime=([0-9.]+)", line)
        if m:
            ready = float(m.group(1))
        m = re.search(r"SMPV-BENCH-START .* cpus=(\d+)", line)
        if m:
            cpus = int(m.group(1))
        i = line.find("SMPV-BENCH-ERROR")
        if i >= 0:
            errors.append(line[i:][:300])
    return runs, ready, cpus, errors


# In the KVM host: one boot, console and stderr to its tmpfs (the UART
# writes byte by byte; the job folder is a 9p round trip per write), then
# both printed after the exit status.
BOOT = """rm -f /tmp/dbb.out /tmp/dbb.err
timeout -k 10 {limit} {argv} >/tmp/dbb.out 2>/tmp/dbb.err </dev/null
echo "=== rc=$?"; cat /tmp/dbb.out; echo "=== stderr"; cat /tmp/dbb.err
"""


def bench_db(ctx, counts=None):
    planned, secs, reps = db_plan(ctx)
    counts = counts or planned
    ctx.progress.step("db: building the database image (scripts/build-image.sh; cached)", 30)
    dbguest.build_image(progress=False)
    ctx.progress.finish()
    host = ctx.kvm()
    # O_DIRECT where the disk's file system takes it: smpvisor uses it then
    # (and falls back to the page cache otherwise); QEMU gets the same.
    probe_disk = dbguest.fresh_disk(host, "dbbench-probe.img")
    r = ctx.run(f"dd if={shlex.quote(probe_disk)} of=/dev/null bs=4096 count=1 iflag=direct "
                "status=none && echo DIRECT-OK", timeout=120)
    os.unlink(probe_disk)
    cache = "none" if "DIRECT-OK" in r.out else "writeback"
    got = {}
    for n in counts:
        for system in ("smpvisor", "qemu"):
            # A boot that fails is run once more; the row says so.
            first = None
            for attempt in (1, 2):
                res = db_boot(ctx, host, system, n, secs, reps, cache)
                if not res["failed"] or attempt == 2:
                    break
                first = res["failed"]
                ctx.progress.note(f"bench: db: {system} with {n} vCPUs failed ({first}); "
                                  "running it once more")
            res["retried"] = first
            got[(system, n)] = res
    rows = db_rows(ctx, got, counts, secs, reps, cache)
    db_report(ctx, rows, secs, reps)
    return rows


def db_boot(ctx, host, system, n, secs, reps, cache):
    """One boot of system with n vCPUs and its pgbench runs: {"runs",
    "ready", "failed": why or None}; why ends with the VMM's last stderr
    line."""
    disk = dbguest.fresh_disk(host, f"dbbench-{system}.img")
    append = cmdline(n, secs, reps)
    argv = (smpvisor_argv(n, disk, append) if system == "smpvisor"
            else qemu_argv(n, disk, append, cache))
    limit = 900 + 2 * reps * (secs + 30) + 20 * n
    ctx.progress.step(f"db: {system}, {n} vCPU{'s' * (n > 1)}: boot to PostgreSQL, then "
                      f"{2 * reps} pgbench runs of {secs} s", 120 + 2 * reps * (secs + 3))
    out, rc = ctx.run_tolerant(BOOT.format(limit=limit, argv=shlex.join(argv)),
                               timeout=limit + 60)
    ctx.progress.finish()
    try:
        os.unlink(disk)
    except OSError:
        pass
    m = re.search(r"^=== rc=(\d+)$", out, re.M)
    runs, ready, cpus, errors = parse_boot(out)
    failed = None
    if not m or m.group(1) != "0" or not runs or errors or cpus not in (None, n):
        ctx.progress.note(f"bench: db: {system} with {n} vCPUs: exit "
                          f"{m.group(1) if m else rc}, {len(runs)} pgbench results, "
                          f"guest saw {cpus} CPUs; {'; '.join(errors)}\n"
                          f"{out[-1500:]}")
        err = out.split("=== stderr", 1)[1] if "=== stderr" in out else out
        last = next((ln.strip() for ln in reversed(common.plain(err).splitlines())
                     if ln.strip()), "")
        failed = (f"exit {m.group(1) if m else rc}, {len(runs)} pgbench results"
                  + (f", guest saw {cpus} CPUs" if cpus not in (None, n) else "")
                  + (f", {errors[0]}" if errors else "") + (f": {last[:300]}" if last else ""))
    return {"runs": runs, "ready": ready, "failed": failed}


def samples(got, system, n, mode, key):
    return [r[key] for r in got.get((system, n), {}).get("runs", [])
            if r.get("mode", "tpcb") == mode and r.get(key) is not None]


DB_COLUMNS = (common.COMMON_COLUMNS
              + ["mode", "vcpus", "clients", "seconds", "scale", "guest_mb", "disk_cache"]
              + common.metric_columns("tps", ["smpvisor", "qemu"])
              + common.metric_columns("latency_ms", ["smpvisor", "qemu"])
              + ["speedup_smpvisor", "speedup_qemu",
                 "ready_s_smpvisor", "ready_s_qemu"])


def db_rows(ctx, got, counts, secs, reps, cache):
    rows = []
    for mode, label in MODES:
        base = {}
        for n in counts:
            sockets, cores, nodes = topology(n)
            row = ctx.machine.columns(
                "db", f"{mode} vcpus={n} topology={sockets}x{cores}x1"
                + (f" {len(nodes)} nodes" if nodes else ""),
                f"qemu -accel kvm -cpu host -M pc, virtio-blk-pci + iothread (cache={cache}, "
                "aio=threads), same image and NUMA binding", reps)
            row.update(mode=mode, vcpus=n, clients=n, seconds=secs, scale=SCALE,
                       guest_mb=MEM_MB, disk_cache=cache)
            for key in ("tps", "latency_ms"):
                row.update(common.metric_values(
                    key, ["smpvisor", "qemu"],
                    {s: samples(got, s, n, mode, key) for s in ("smpvisor", "qemu")}))
            failed, retried = [], []
            for s in ("smpvisor", "qemu"):
                med = row[f"tps_{s}_median"]
                if n == counts[0] and med:
                    base[s] = med
                row[f"speedup_{s}"] = common.ratio(med, base.get(s)) if counts[0] == 1 else None
                res = got.get((s, n), {})
                row[f"ready_s_{s}"] = res.get("ready")
                if res.get("failed"):
                    failed.append(f"{s}: {res['failed']}")
                elif med is None:
                    failed.append(f"{s}: no result")
                if res.get("retried"):
                    retried.append(f"{s}: {res['retried']}")
            row["status"] = common.status(failed, retried)
            rows.append(row)
    return rows


def db_report(ctx, rows, secs, reps):
    table = common.Table(
        f"db: pgbench in the PostgreSQL guest, clients = threads = vCPUs, scale {SCALE}, "
        f"{secs} s per run; TPS median [min-max] of {reps}; ratio = smpvisor / QEMU; "
        "speed-up = TPS / the same system's 1-vCPU TPS",
        ["mode", "vCPUs", "smpvisor tps", "range", "QEMU tps", "range", "ratio",
         "sv lat ms", "QEMU lat ms", "sv speed-up", "QEMU speed-up", "sv ready s",
         "QEMU ready s"],
        lambda r: [r["mode"], r["vcpus"], r["tps_smpvisor_median"], rng(r, "tps_smpvisor"),
                   r["tps_qemu_median"], rng(r, "tps_qemu"), r["tps_ratio"],
                   r["latency_ms_smpvisor_median"], r["latency_ms_qemu_median"],
                   r["speedup_smpvisor"], r["speedup_qemu"], r["ready_s_smpvisor"],
                   r["ready_s_qemu"]])
    panels = []
    for mode, label in MODES:
        mine = [r for r in rows if r["mode"] == mode]
        panels.append(Panel(f"pgbench {label}", "vCPUs (= pgbench clients)",
                            "transactions per second (median, min-max)",
                            [series(mine, "vcpus", "tps_smpvisor", "smpvisor"),
                             series(mine, "vcpus", "tps_qemu", "QEMU")], logx=True))
    write_outputs(ctx, "db", DB_COLUMNS, rows, f"db ({host_note(ctx)})", panels,
                        [table])


def estimate(ctx, names=()):
    return db_estimate(ctx)


run = bench_db
