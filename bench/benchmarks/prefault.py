"""prefault: start-up of a big prefaulted guest's RAM (issue 20), on this
machine, no KVM. smpvisor: build/bench/prefault (bench/prefault.c) times
guest_mem_layout + guest_mem_alloc + guest_mem_prefault(m, T, NULL), what
"memory": {"prefault": true, "prefault_threads": T} costs at start-up.
QEMU: its own preallocation (memory-backend-ram prealloc=on,
prealloc-threads=T), timed from launch to the answer to qmp_capabilities
(the backend is filled while the machine is built, before QMP is served),
and the same command with prealloc=off, which is QEMU's start-up without
it; the QEMU figure compared is the difference (net), per alternated pair.

Runs alternate, the order swapped every pair (smpvisor, QEMU on, QEMU
off, then QEMU off, QEMU on, smpvisor, ...). Each run follows a toucher
that has just populated and freed as much memory: this machine is itself a
VM whose freed memory goes back to its host within seconds (free page
reporting), and touching it again then costs the host's faults as well,
by how much depending on how much the host has taken back. The toucher
gives every run the same memory, already backed, as a bare-metal host's is.
"""
import os
import socket
import subprocess
import tempfile
import time

import common
from common import Panel, rng, series, write_outputs
from context import BENCH_BIN, parse_tagged

QEMU = "qemu-system-x86_64"
REFERENCE = "qemu-system-x86_64 -accel tcg -S memory-backend-ram prealloc=on,prealloc-threads=T " \
            "(net: minus prealloc=off)"
ORDER = ["smpvisor", "qemu_on", "qemu_off"]


def plan(ctx):
    """(GiB, thread counts) of this invocation."""
    return (1, [1, 2]) if ctx.quick else (4, [1, 2, 4, 8])


def columns():
    stat = [f"{m}_{f}" for m in ("qemu_on_s", "qemu_off_s", "free_s_smpvisor")
            for f in common.STAT_FIELDS]
    return (common.COMMON_COLUMNS + ["gib", "threads", "other_qemus"]
            + common.metric_columns("s", ["smpvisor", "qemu"]) + stat
            + ["rss_mib_smpvisor_median", "rss_mib_qemu_median",
               "thp_mib_smpvisor_median", "thp_mib_qemu_median"])


def other_qemus():
    """How many qemu-system processes not started here run now (the nested
    test host of other work takes CPU time from these runs)."""
    n = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) in _OURS:
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                n += f.read().startswith("qemu-system")
        except OSError:
            pass
    return n


# The QEMUs this module started and has not reaped yet.
_OURS = set()


def mem_available_gib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / (1 << 20)
    return 0.0


def smaps_mib(pid):
    """(RSS, AnonHugePages) of a process in MiB."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Rss", "AnonHugePages"):
                out[k] = int(v.split()[0]) // 1024
    return out.get("Rss"), out.get("AnonHugePages")


def run_smpvisor(gib, threads, timeout):
    """One build/bench/prefault run: its PREFAULT record, or raise with why."""
    p = subprocess.run([os.path.join(BENCH_BIN, "prefault"), "--size", f"{gib}G",
                        "--threads", str(threads), "--reps", "1"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout)
    recs = parse_tagged(p.stdout, "PREFAULT")
    if p.returncode or not recs:
        last = (common.plain(p.stdout).strip().splitlines() or [""])[-1]
        raise RuntimeError(f"smpvisor: build/bench/prefault exited with status "
                           f"{p.returncode}: {last[:300]}")
    return recs[0]


def qemu_cmd(gib, threads, prealloc, sock):
    size = f"{gib}G"
    return [QEMU, "-accel", "tcg", "-S", "-display", "none", "-nodefaults", "-m", size,
            "-object", f"memory-backend-ram,id=ram0,size={size},"
            f"prealloc={'on' if prealloc else 'off'},prealloc-threads={threads}",
            "-machine", "pc,memory-backend=ram0",
            "-qmp", f"unix:{sock},server=on,wait=off"]


def run_qemu(gib, threads, prealloc, timeout):
    """Launch QEMU, time it to QMP's answer to qmp_capabilities, read its
    memory, quit it through QMP and wait for it to end (outside the time).
    {"s", "rss_mib", "thp_mib"}, or raise with why."""
    with tempfile.TemporaryDirectory(prefix="bench-prefault-") as d:
        sock = os.path.join(d, "qmp.sock")
        err = open(os.path.join(d, "stderr"), "w+")
        t0 = time.monotonic()
        p = subprocess.Popen(qemu_cmd(gib, threads, prealloc, sock), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=err)
        _OURS.add(p.pid)
        s = None
        try:
            while True:
                try:
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.settimeout(max(timeout - (time.monotonic() - t0), 1))
                    s.connect(sock)
                    break
                except (FileNotFoundError, ConnectionRefusedError):
                    s.close()
                    s = None
                    if p.poll() is not None or time.monotonic() - t0 > timeout:
                        raise RuntimeError("no QMP socket")
                    time.sleep(0.001)
            f = s.makefile("rwb")
            if not f.readline().startswith(b'{"QMP"'):
                raise RuntimeError("no QMP greeting")
            f.write(b'{"execute": "qmp_capabilities"}\n')
            f.flush()
            answer = f.readline()
            elapsed = time.monotonic() - t0
            if b'"return"' not in answer:
                raise RuntimeError(f"qmp_capabilities: {answer[:200]!r}")
            rss, thp = smaps_mib(p.pid)
            f.write(b'{"execute": "quit"}\n')
            f.flush()
            p.wait(timeout=60)
            return {"s": elapsed, "rss_mib": rss, "thp_mib": thp}
        except (OSError, RuntimeError, subprocess.TimeoutExpired) as e:
            if p.poll() is None:
                p.kill()
            p.wait()
            err.seek(0)
            last = (common.plain(err.read()).strip().splitlines() or [""])[-1]
            raise RuntimeError(f"qemu prealloc={'on' if prealloc else 'off'}: {e}"
                               f" (exit {p.returncode}){': ' + last[:300] if last else ''}")
        finally:
            if s is not None:
                s.close()
            err.close()
            _OURS.discard(p.pid)


def warm(gib, timeout):
    """Give the next run memory this machine's host backs: populate and
    free as much just before (the same for every system)."""
    run_smpvisor(gib, 2, timeout)


def one_sample(system, gib, threads, timeout):
    """One timed run of system after warm(), run again once if it
    fails: (record or None, why it failed or None, why it was retried or
    None)."""
    whys = []
    for _ in range(2):
        try:
            warm(gib, timeout)
            if system == "smpvisor":
                rec = run_smpvisor(gib, threads, timeout)
            else:
                rec = run_qemu(gib, threads, system == "qemu_on", timeout)
            return rec, None, (whys[0] if whys else None)
        except (OSError, RuntimeError, subprocess.TimeoutExpired) as e:
            whys.append(str(e))
    return None, f"{whys[1]} (twice)", whys[0]


def sample_order(rep):
    return ORDER if rep % 2 == 0 else ORDER[::-1]


def measure(ctx, gib, counts):
    """{threads: {system: [records]}}, failures, retries and the most
    other QEMUs seen."""
    timeout = 120 + 30 * gib
    got, failed, retried, busy = {}, {}, {}, {}
    est = pair_estimate(gib)
    # Warm-up, not counted: QEMU's binary and libraries, the first mappings.
    for system in ("smpvisor", "qemu_on"):
        one_sample(system, gib, counts[0], timeout)
    for n in counts:
        got[n] = {s: [] for s in ORDER}
        busy[n] = 0
        for rep in range(ctx.reps):
            ctx.progress.step(f"prefault: {gib} GiB, {n} threads, run {rep + 1} of {ctx.reps}",
                              est)
            pair = {}
            for system in sample_order(rep):
                busy[n] = max(busy[n], other_qemus())
                rec, fail, retry = one_sample(system, gib, n, timeout)
                if fail:
                    failed.setdefault(n, []).append(fail)
                if retry:
                    retried.setdefault(n, []).append(retry)
                if rec:
                    got[n][system].append(rec)
                    pair[system] = rec
            if "qemu_on" in pair and "qemu_off" in pair:
                pair["qemu_on"]["net_s"] = pair["qemu_on"]["s"] - pair["qemu_off"]["s"]
            ctx.progress.finish()
    return got, failed, retried, busy


def stats(prefix, values):
    med, lo, hi = common.summary([v for v in values if v is not None])
    return {f"{prefix}_median": med, f"{prefix}_min": lo, f"{prefix}_max": hi}


def prefault_rows(ctx, gib, got, failed=None, retried=None, busy=None):
    """The CSV rows from the records."""
    failed, retried, busy = failed or {}, retried or {}, busy or {}
    rows = []
    for n in sorted(got):
        recs = got[n]
        sv, on, off = recs["smpvisor"], recs["qemu_on"], recs["qemu_off"]
        net = [r["net_s"] for r in on if "net_s" in r]
        row = ctx.machine.columns("prefault", f"prefault gib={gib} threads={n}",
                                  REFERENCE, ctx.reps, host_kind="this machine")
        row.update(gib=gib, threads=n, other_qemus=busy.get(n, 0))
        row.update(common.metric_values("s", ["smpvisor", "qemu"],
                                        {"smpvisor": [r["s"] for r in sv], "qemu": net}))
        row.update(stats("qemu_on_s", [r["s"] for r in on]))
        row.update(stats("qemu_off_s", [r["s"] for r in off]))
        row.update(stats("free_s_smpvisor", [r.get("free_s") for r in sv]))
        for key, src in (("smpvisor", sv), ("qemu", on)):
            for m in ("rss_mib", "thp_mib"):
                row[f"{m}_{key}_median"] = common.summary(
                    [r[m] for r in src if r.get(m) is not None])[0]
        fails = list(failed.get(n, []))
        if not sv and not any(f.startswith("smpvisor") for f in fails):
            fails.append("smpvisor: no result")
        if not net and not any(f.startswith("qemu") for f in fails):
            fails.append("qemu: no prealloc on/off pair")
        row["status"] = common.status(fails, retried.get(n, []))
        rows.append(row)
    return rows


def prefault_table(ctx):
    return common.Table(
        "prefault: guest RAM populated at start-up, seconds (median [min-max]); QEMU net = "
        "prealloc=on minus prealloc=off, per pair; ratio = smpvisor / QEMU net",
        ["GiB", "threads", "smpvisor s", "range", "QEMU net s", "range", "ratio",
         "QEMU on s", "QEMU off s", "THP MiB sv/QEMU", "other QEMUs"],
        lambda r: [r["gib"], r["threads"], r["s_smpvisor_median"],
                   rng(r, "s_smpvisor"), r["s_qemu_median"], rng(r, "s_qemu"), r["s_ratio"],
                   r["qemu_on_s_median"], r["qemu_off_s_median"],
                   f"{common.fmt(r['thp_mib_smpvisor_median'])}/"
                   f"{common.fmt(r['thp_mib_qemu_median'])}", r["other_qemus"]])


def bench_prefault(ctx):
    gib, counts = plan(ctx)
    if mem_available_gib() < gib + 1:
        ctx.progress.note(f"bench: prefault: {gib} GiB asked, {mem_available_gib():.1f} GiB "
                          "available: not run")
        got = {n: {s: [] for s in ORDER} for n in counts}
        rows = prefault_rows(ctx, gib, got, {n: [f"not enough free memory for {gib} GiB"]
                                             for n in counts})
    else:
        got, failed, retried, busy = measure(ctx, gib, counts)
        if any(busy.values()):
            ctx.progress.note(f"bench: prefault: up to {max(busy.values())} other "
                              "qemu-system processes ran during the runs: timings disturbed")
        rows = prefault_rows(ctx, gib, got, failed, retried, busy)
    panel = Panel(f"{gib} GiB of guest RAM", "prefault threads", "seconds (median, min-max)",
                  [series(rows, "threads", "s_smpvisor", "smpvisor"),
                   series(rows, "threads", "s_qemu", "QEMU prealloc (net)"),
                   series(rows, "threads", "qemu_on_s", "QEMU launch to QMP, prealloc on")],
                  logx=True)
    write_outputs(ctx, "prefault", columns(), rows,
                  f"prefault (this machine, {ctx.machine.cpu}, {os.cpu_count()} CPUs)",
                  [panel], [prefault_table(ctx)])
    return rows


def pair_estimate(gib):
    """Seconds one alternated run of the three takes."""
    return 2 + 2.5 * gib


def estimate(ctx, names):
    gib, counts = plan(ctx)
    return len(counts) * ctx.reps * pair_estimate(gib) + 5 + 3 * gib


run = bench_prefault
