"""The benchmark harness itself (bench/), not the speed: its parsers read
what the real programs print, the CSVs get the documented columns, the
plots are drawn, and blk says why it is skipped; a guest that dies is
retried once and then gives a row marked failed, and the printed table is
the CSV. Runs in seconds, without a guest: the agent runs here as an
ordinary process through the same vmprobe.py session code that drives
guests, and the VMMs that die are the real ones failing here."""
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "bench")
sys.path.insert(0, BENCH)

import common  # noqa: E402
import context  # noqa: E402
import vmms  # noqa: E402
from benchmarks import blk, boot, db, exits, ipi, prefault, scaling, snapshot  # noqa: E402

import agentlines  # noqa: E402  (tests/system, on the path through context)

AGENT = os.path.join(ROOT, "build", "guest", "agent")


def ctx_for(tmp_path):
    return context.Ctx(quick=True, reps=2, l1_cpus=2, results=str(tmp_path),
                     progress=common.Progress(out=open(os.devnull, "w")))


def host_session(steps):
    """Run vmprobe.py's session job with host-only steps; its PROBE records."""
    job = {"job": "session", "vmms": {}, "steps": steps, "timeout": 60}
    p = subprocess.run([sys.executable, os.path.join(BENCH, "vmprobe.py"), json.dumps(job)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=90)
    assert p.returncode == 0, p.stderr
    return context.parse_probe(p.stdout)


def relabel(recs, system):
    return [dict(r, system=system) for r in recs]


def check_csv(path, must_have):
    rows = common.read_csv(path)
    assert rows, path
    cols = list(rows[0].keys())
    assert cols[:len(common.COMMON_COLUMNS)] == common.COMMON_COLUMNS
    for c in must_have:
        assert c in cols, (c, cols)
    for r in rows:
        assert r["machine"] and r["cpu_model"] and r["host_kind"] and r["date"]
    return rows


@pytest.mark.skipif(not os.access(AGENT, os.X_OK), reason="build/guest/agent not built")
def test_scaling_rows_from_real_agent_output(tmp_path):
    ctx = ctx_for(tmp_path)
    steps = [{"system": "host", "tag": [w, k], "cmd": f"{AGENT} agent.report=0 agent.{w}=20"}
             for w in scaling.SCALING_WORKLOADS for k in (1, 2) for _ in range(2)]
    recs = host_session(steps)
    loops = [r for r in recs if r["probe"] == "step"]
    assert len(loops) == 8
    assert [kind for r in loops for kind, _ in r["agent"]] == ["CPULOOP"] * 4 + ["LOCKLOOP"] * 4
    rows = scaling.scaling_rows(ctx, recs + relabel(loops, "smpvisor"), [1, 2], 20)
    assert [(r["workload"], r["cpus"]) for r in rows] == [
        ("cpuloop", 1), ("cpuloop", 2), ("lockloop", 1), ("lockloop", 2)]
    assert rows[0]["speedup_smpvisor"] == pytest.approx(1.0)
    assert rows[1]["iters_per_s_ratio"] == pytest.approx(1.0)
    assert rows[3]["efficiency_ratio"] == pytest.approx(1.0)
    path = common.write_csv("scaling", scaling.SCALING_COLUMNS, rows, str(tmp_path))
    check_csv(path, ["workload", "iters_per_s_smpvisor_median", "iters_per_s_host_min",
                     "iters_per_s_ratio", "efficiency_ratio"])
    if shutil.which("gnuplot"):
        png = common.plot("scaling", "test", scaling.scaling_panels(rows), str(tmp_path))
        assert png and os.path.getsize(png) > 1000


@pytest.mark.skipif(not os.access(AGENT, os.X_OK), reason="build/guest/agent not built")
def test_ipi_rows_from_real_agent_output(tmp_path):
    ctx = ctx_for(tmp_path)
    cpu_b = 1 if (os.cpu_count() or 1) > 1 else 0
    steps = [{"system": "host", "cmd": f"{AGENT} agent.report=0 agent.pingpong=0,{cpu_b},50,{m}"}
             for m in ("futex", "futex")]
    recs = host_session(steps)
    steps_out = [r for r in recs if r["probe"] == "step"]
    assert [k for r in steps_out for k, _ in r["agent"]] == ["PINGPONG", "PINGPONG"]
    variants = list(ipi.IPI_VARIANTS)
    recs = recs + relabel(steps_out, "qemu") + sum((relabel(steps_out, v) for v in variants), [])
    rows = ipi.ipi_rows(ctx, recs, variants + ["qemu"], 50)
    futex = [r for r in rows if r["mode"] == "futex"]
    assert [r["variant"] for r in futex] == variants
    assert futex[0]["rtt_ns_smpvisor_median"] > 0
    assert futex[0]["rtt_ns_ratio"] == pytest.approx(1.0)
    assert futex[0]["host_rtt_ns_median"] == futex[0]["rtt_ns_qemu_median"]
    flags = {r["variant"]: (r["dedicated"], r["pv_send_ipi"]) for r in futex}
    assert flags == {"smpvisor": (0, 1), "smpvisor-no-pv-ipi": (0, 0),
                     "smpvisor-dedicated": (1, 1)}
    check_csv(common.write_csv("ipi", ipi.IPI_COLUMNS, rows, str(tmp_path)),
              ["variant", "dedicated", "pv_send_ipi", "rtt_ns_ratio", "host_rtt_ns_median"])
    if shutil.which("gnuplot"):
        png = common.plot("ipi", "test", ipi.ipi_panels(rows, variants), str(tmp_path))
        assert png and os.path.getsize(png) > 1000


def test_exits_rows_and_plot(tmp_path):
    ctx = ctx_for(tmp_path)
    # The line format of bench/exits.c (see its header comment).
    text = "\n".join(
        f'EXITS {{"kind":"pio","mode":"{m}","vcpus":{n},"cpl":0,"rep":{r},'
        f'"exits":{2000 * n},"seconds":0.1,"exits_per_s":{20000.0 * n},'
        f'"ns_per_exit":{50000.0 if m == "bare" else 55000.0}}}'
        for n in (1, 2) for r in range(2) for m in ("bare", "smpvisor"))
    recs = context.parse_tagged("noise\n" + text + "\nmore noise", "EXITS")
    assert len(recs) == 8
    rows = exits.exits_rows(ctx, recs, 1000, None)
    assert [r["vcpus"] for r in rows] == [1, 2]
    assert rows[0]["ns_per_exit_ratio"] == pytest.approx(1.1)
    cols = (common.COMMON_COLUMNS + ["kind", "vcpus", "cpl", "iters"]
            + common.metric_columns("ns_per_exit", ["smpvisor", "bare"])
            + common.metric_columns("exits_per_s", ["smpvisor", "bare"]))
    check_csv(common.write_csv("exits", cols, rows, str(tmp_path)),
              ["ns_per_exit_bare_median", "ns_per_exit_smpvisor_max", "ns_per_exit_ratio"])
    if not shutil.which("gnuplot"):
        pytest.skip("gnuplot not installed")
    png = common.plot("exits", "test", [common.Panel(
        "ns", "vCPUs", "ns per exit",
        [common.series(rows, "vcpus", "ns_per_exit_smpvisor", "smpvisor"),
         common.series(rows, "vcpus", "ns_per_exit_bare", "bare")])], str(tmp_path))
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_boot_probe_parsing():
    out = ('noise\nPROBE {"system": "smpvisor", "ok": true, "report_s": 20.5, '
           '"first_run_s": 1.0, "uptime_s": 16.0, "online_cpus": 1, "rss_kb": 90000, '
           '"guest_rss_kb": 88000, "vmm_kb": 2000, "probe": "boot"}\nPROBE {bad\n')
    recs = context.parse_probe(out)
    assert len(recs) == 1 and recs[0]["vmm_kb"] == 2000


def test_smaps_split_of_this_process():
    import vmprobe
    total, guest = vmprobe.smaps_split(os.getpid(), 1 << 40)
    assert total > 0 and guest == 0


def test_run_help():
    p = subprocess.run([os.path.join(BENCH, "run"), "--help"], stdout=subprocess.PIPE,
                       text=True, timeout=30)
    assert p.returncode == 0
    for name in ("boot", "footprint", "exits", "ipi", "scaling", "blk", "all", "--quick"):
        assert name in p.stdout


@pytest.mark.skipif(not os.access(AGENT, os.X_OK), reason="build/guest/agent not built")
@pytest.mark.skipif(not shutil.which("fio"), reason="fio not installed (make deps)")
def test_blk_rows_from_real_fio_output(tmp_path):
    """fio really runs (here, through the agent's agent.fio, as in the
    guest) with the benchmark's own job list; its JSON is parsed into the
    8 rows, the CSV and the plot."""
    ctx = ctx_for(tmp_path)
    img = tmp_path / "disk.img"
    with open(img, "wb") as f:
        f.write(b"\0" * (8 << 20))
    spec = blk.fio_spec(str(img), False, "200ms", 2)
    recs = host_session([{"system": "host", "cmd": f"{AGENT} agent.report=0 agent.fio={spec}"}])
    fios = [x for r in recs if r["probe"] == "step" for k, x in r["agent"] if k == "FIO"]
    assert len(fios) == 1 and fios[0]["rc"] == 0, recs
    assert fios[0]["error"] is None and fios[0]["fio"]["fio version"].startswith("fio-")
    res = blk.fio_results(fios[0]["fio"])
    assert sorted(res) == sorted((w[0], j) for w in blk.BLK_WORKLOADS for j in (1, 2))
    assert all(v > 0 for v in res.values()), res
    steps = [r for r in recs if r["probe"] == "step"]
    recs = recs + relabel(steps, "smpvisor") + relabel(steps, "qemu")
    rows = blk.blk_rows(ctx, recs, 2, "200ms", 8, "ext4")
    assert [(r["workload"], r["jobs"]) for r in rows] == [
        (w[0], j) for j in (1, 2) for w in blk.BLK_WORKLOADS]
    assert all(r["value_ratio"] == pytest.approx(1.0) for r in rows)
    assert all(r["value_host_ratio"] == pytest.approx(1.0) for r in rows)
    assert rows[0]["value_smpvisor_median"] == res[("randread", 1)]
    check_csv(common.write_csv("blk", blk.BLK_COLUMNS, rows, str(tmp_path)),
              ["workload", "jobs", "unit", "value_smpvisor_median", "value_qemu_min",
               "value_host_max", "value_ratio", "value_host_ratio"])
    if shutil.which("gnuplot"):
        blk.blk_report(ctx, rows, 2, "200ms", 8, "ext4")
        with open(tmp_path / "blk.png", "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_fio_squeezed_json_with_warnings():
    """A failed fio run: the AGENT-FIO line carries fio's message, no JSON."""
    if not os.access(AGENT, os.X_OK):
        pytest.skip("build/guest/agent not built")
    p = subprocess.run([AGENT, "agent.report=0", "agent.fio=no-such-option=1"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    recs = [x for k, x in agentlines.parse_agent(p.stdout).items() if k == "FIO"]
    assert recs and recs[0]["fio"] is None and recs[0]["rc"] != 0
    assert "no-such-option" in recs[0]["error"]
    assert blk.fio_results(None) == {}


def test_boot_topology_is_the_same_for_both_vmms():
    """bench/run boot --sockets/--threads/--guest-nodes: smpvisor's config
    and QEMU's -smp/-numa describe one topology; past APIC ID 254 QEMU
    gets q35, split irqchip and an intel-iommu with eim."""
    t = vmms.Topo(sockets=2, threads=2, nodes=2)
    sv = vmms.vmm_cmd("smpvisor", "K", "I", 64, 1024, "", topo=t)
    assert sv[sv.index("--cpus") + 1] == "64,sockets=2,cores=16,threads=2"
    with open(sv[sv.index("--config") + 1]) as f:
        cfg = json.load(f)
    assert cfg["memory"] == "1024M"
    assert [(n["cpus"], n["memory"], n["host_nodes"], n["policy"]) for n in cfg["numa"]] == \
        [("0-31", "512M", "0", "bind"), ("32-63", "512M", "1", "bind")]
    q = vmms.vmm_cmd("qemu", "K", "I", 64, 1024, "", topo=t)
    assert q[q.index("-smp") + 1] == "64,sockets=2,cores=16,threads=2"
    assert q[q.index("-M") + 1] == "pc" and "intel-iommu" not in " ".join(q)
    joined = " ".join(q)
    assert "memory-backend-ram,id=m0,size=512M,host-nodes=0,policy=bind" in joined
    assert "node,nodeid=1,cpus=32-63,memdev=m1" in joined
    assert t.max_apic_id(64) == 63 and t.max_apic_id(288) == (1 << 8) | (71 << 1) | 1
    q = vmms.vmm_cmd("qemu", "K", "I", 288, 2048, "", topo=t)
    assert q[q.index("-M") + 1] == "q35,kernel-irqchip=split"
    assert q[q.index("-device") + 1] == "intel-iommu,intremap=on,eim=on"
    plain = vmms.vmm_cmd("smpvisor", "K", "I", 4, 256, "", topo=vmms.Topo())
    assert plain[plain.index("--cpus") + 1] == "4" and "--config" not in plain
    with pytest.raises(context.BenchError):
        t.check(66)


def test_db_rows_from_the_guest_scripts_own_lines(tmp_path):
    """bench db reads the SMPV-PGBENCH lines the image's bench script
    prints: that script's own echo line (scripts/build-image.sh) runs here
    with pgbench-like values, is parsed, and gives the rows, the CSV
    columns and the plot."""
    with open(os.path.join(ROOT, "scripts", "build-image.sh")) as f:
        echo = next(ln.strip() for ln in f if 'echo "SMPV-PGBENCH' in ln)
    out = {}
    for system, tps in (("smpvisor", 110.0), ("qemu", 100.0)):
        for n in (1, 2):
            text = "SMPV-PG-READY uptime=71.5 PostgreSQL 15\n"
            text += f"SMPV-BENCH-START pgbench clients={n}s {n} time=5 scale=4 cpus={n}\n"
            for mode in ("select", "tpcb"):
                for k in range(3):
                    script = (f"con=/dev/stdout mode={mode} c={n} secs=5 scale=4 tx={40 + k} "
                              f"tps={tps * n + k} lat={2.5 + k}\n{echo}\n")
                    text += subprocess.run(["/bin/sh", "-c", script], stdout=subprocess.PIPE,
                                           text=True, check=True).stdout
            runs, ready, cpus, errors = db.parse_boot(text)
            assert len(runs) == 6 and ready == 71.5 and cpus == n and not errors, text
            out[(system, n)] = {"runs": runs, "ready": ready}
    ctx = ctx_for(tmp_path)
    rows = db.db_rows(ctx, out, [1, 2], 5, 3, "writeback")
    assert [(r["mode"], r["vcpus"]) for r in rows] == [
        ("select", 1), ("select", 2), ("tpcb", 1), ("tpcb", 2)]
    assert rows[0]["tps_smpvisor_median"] == 111.0 and rows[0]["tps_qemu_min"] == 100.0
    assert rows[1]["speedup_smpvisor"] == pytest.approx(221.0 / 111.0)
    assert rows[0]["tps_ratio"] == pytest.approx(111.0 / 101.0)
    assert rows[0]["latency_ms_smpvisor_median"] == 3.5
    check_csv(common.write_csv("db", db.DB_COLUMNS, rows, str(tmp_path)),
              ["mode", "vcpus", "tps_smpvisor_median", "tps_qemu_median", "tps_ratio",
               "latency_ms_ratio", "speedup_qemu", "ready_s_smpvisor"])
    if shutil.which("gnuplot"):
        db.db_report(ctx, rows, 5, 3)
        with open(tmp_path / "db.png", "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


# --- a guest that dies: a failed row, a retried one, and the table is the CSV ---
#
# The benchmarks run here with this machine as their KVM host
# (hosttest.Host(direct=True): ctx.probe runs vmprobe.py right here, as on
# vmx/svm hardware). The guests that die are the real VMMs failing for
# real (smpvisor and QEMU given a kernel that does not exist, or no
# /dev/kvm); a guest that lives is a shell running the real agent.

SMPVISOR = os.path.join(ROOT, "build", "smpvisor")
QEMU = shutil.which("qemu-system-x86_64")
needs_vmms = pytest.mark.skipif(
    not (os.access(AGENT, os.X_OK) and os.access(SMPVISOR, os.X_OK) and QEMU),
    reason="needs build/guest/agent, build/smpvisor and qemu-system-x86_64")


def direct_ctx(tmp_path, reps=1):
    ctx = context.Ctx(quick=True, reps=reps, l1_cpus=2, results=str(tmp_path),
                    progress=common.Progress(out=open(os.devnull, "w")))
    ctx.host = context.hosttest.Host(direct=True)
    return ctx


def sh(script):
    return ["/bin/sh", "-c", script]


def dead_smpvisor():
    """smpvisor that exits at once, saying why on stderr."""
    return [SMPVISOR, "run", "--kernel", "/nonexistent-bench-kernel", "--cpus", "2",
            "--memory", "256M"]


def dead_qemu():
    return [QEMU, "-M", "pc", "-accel", "tcg", "-display", "none", "-no-reboot",
            "-kernel", "/nonexistent-bench-kernel"]


def first_dead_then(tmp_path, name, dead, alive):
    """A VMM command that is dead (argv) the first time and alive (shell)
    every time after."""
    mark = tmp_path / f"{name}.tried"
    return sh(f"if [ -e {mark} ]; then {alive}; fi; touch {mark}; exec {shlex.join(dead)}")


def printed_tables(text):
    """{title: [cells of each row]} of format_table's output: the dashes
    line gives the columns (numbers right-aligned in them, the last one,
    status, left-aligned and as long as it is)."""
    out, lines, i = {}, text.splitlines(), 0
    while i < len(lines):
        if i + 2 < len(lines) and lines[i + 2] and set(lines[i + 2]) <= {"-", " "}:
            spans = [(m.start(), m.end()) for m in re.finditer("-+", lines[i + 2])]
            rows, j = [], i + 3
            while j < len(lines) and lines[j] and lines[j] != "(no rows)":
                ln = lines[j]
                rows.append([ln[a:b].strip() for a, b in spans[:-1]] + [ln[spans[-1][0]:].strip()])
                j += 1
            out[lines[i]] = rows
            i = j
        else:
            i += 1
    return out


def cell(v):
    """What the table shows for a CSV cell as the csv module reads it."""
    if v == "":
        return "-"
    try:
        return common.fmt(int(v))
    except ValueError:
        pass
    try:
        return common.fmt(float(v))
    except ValueError:
        return v


def test_plain_takes_qemu_console_control_out():
    """QEMU's -nographic console starts with SeaBIOS's terminal reset,
    line wrap off and clear screen; a console tail in a note must not do
    that to the terminal the tables are on."""
    head = "\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2)\r\n\r\nBooting from ROM..\r\n"
    buf = io.StringIO()
    common.Progress(out=buf).note("bench: qemu boot 1 failed\n" + head)
    assert "\x1b" not in buf.getvalue() and "\r" not in buf.getvalue()
    assert "SeaBIOS (version 1.16.2)\n\nBooting from ROM..\n" in buf.getvalue()
    assert common.status(["qemu: x\x1b[2Jy\r\nz"]) == "failed: qemu: xy z"


@needs_vmms
def test_ipi_dead_and_retried_guests_and_table_equals_csv(tmp_path, capsys):
    """One session, four guests: smpvisor dies at boot once (then lives),
    smpvisor-no-pv-ipi dies at boot twice (dead: its rows say failed, with
    smpvisor's own stderr line), qemu dies in its first spin step once
    (restarted, the step run again); the rest of the session runs. The
    printed table is the CSV, row for row."""
    ctx = direct_ctx(tmp_path)
    cpu_b = 1 if (os.cpu_count() or 1) > 1 else 0
    alive = "echo 'AGENT-SHELL pid 1'; exec sh"
    vmms = {"smpvisor": first_dead_then(tmp_path, "sv", dead_smpvisor(), alive),
            "smpvisor-no-pv-ipi": dead_smpvisor(),
            "smpvisor-dedicated": sh(alive),
            "qemu": sh(alive)}
    systems = list(vmms)
    crash = tmp_path / "qemu-crashed"
    steps = []
    for mode in ("futex", "spin"):
        for s in systems + ["host"]:
            cmd = f"{AGENT} agent.report=0 agent.pingpong=0,{cpu_b},50,{mode}"
            if s == "qemu" and mode == "spin":
                cmd = (f"[ -e {crash} ] || {{ touch {crash}; "
                       "echo 'qemu-system-x86_64: KVM internal error' >&2; kill -9 $$; }; " + cmd)
            steps.append({"system": s, "tag": mode, "cmd": cmd})
    recs = context.run_session(ctx, "ipi", {"job": "session", "vmms": vmms, "steps": steps,
                                          "timeout": 240, "boot_timeout": 30,
                                          "step_timeout": 60}, timeout=300)
    kinds = [(r["probe"], r.get("system")) for r in recs if r["probe"] in ("retry", "error")]
    assert kinds == [("retry", "smpvisor"), ("retry", "smpvisor-no-pv-ipi"),
                     ("error", "smpvisor-no-pv-ipi"), ("retry", "qemu")], recs
    rows = ipi.ipi_rows(ctx, recs, systems, 50)
    st = {(r["mode"], r["variant"]): r["status"] for r in rows}
    boot_err = "smpvisor: error: kernel /nonexistent-bench-kernel: No such file or directory"
    assert st[("futex", "smpvisor")] == (
        f"ok after a retry: smpvisor: guest shell did not start: no guest shell (exit 1): "
        f"{boot_err}")
    assert st[("futex", "smpvisor-no-pv-ipi")].startswith(
        "failed: smpvisor-no-pv-ipi: guest shell did not start, twice: no guest shell (exit 1): "
        + boot_err)
    assert st[("futex", "smpvisor-dedicated")] == "ok"
    assert st[("spin", "smpvisor-dedicated")] == (
        "ok after a retry: qemu: the step failed: the guest died in the step (exit -9): "
        "qemu-system-x86_64: KVM internal error")
    by = {(r["mode"], r["variant"]): r for r in rows}
    assert by[("spin", "smpvisor")]["rtt_ns_smpvisor_median"] > 0
    assert by[("spin", "smpvisor-dedicated")]["rtt_ns_qemu_median"] > 0
    assert by[("futex", "smpvisor-no-pv-ipi")]["rtt_ns_smpvisor_median"] is None

    common.write_outputs(ctx, "ipi", ipi.IPI_COLUMNS, rows, "test",
                        ipi.ipi_panels(rows, systems[:-1]), [ipi.ipi_table(ctx)])
    [table] = printed_tables(capsys.readouterr().out).values()
    csv_rows = common.read_csv(str(tmp_path / "ipi.csv"))
    assert len(csv_rows) == len(rows) == 6

    def span(c, prefix):
        lo, hi = c[prefix + "_min"], c[prefix + "_max"]
        return "-" if lo == "" else f"{cell(lo)}-{cell(hi)}"
    assert table == [[c["mode"], c["variant"], cell(c["rtt_ns_smpvisor_median"]),
                      span(c, "rtt_ns_smpvisor"), cell(c["rtt_ns_qemu_median"]),
                      span(c, "rtt_ns_qemu"), cell(c["rtt_ns_ratio"]),
                      cell(c["host_rtt_ns_median"]), c["status"]] for c in csv_rows]
    assert [c["status"] for c in csv_rows] == [r["status"] for r in rows]


@needs_vmms
def test_boot_retried_and_failed_boots_and_table_equals_csv(tmp_path, capsys):
    """The boots job: smpvisor's first boot dies once (smpvisor's stderr
    line says why) and is run again at once, QEMU's second boot dies twice.
    The row has the three good boots' figures, one failure, and a status
    that names both; the printed table is the CSV."""
    ctx = direct_ctx(tmp_path, reps=2)
    with open("/sys/devices/system/cpu/online") as f:     # what the agent reports
        n = sum(int(b) - int(a) + 1 for a, _, b in
                (r.partition("-") if "-" in r else (r, "-", r) for r in f.read().strip().split(",")))
    alive = f"{AGENT} agent.sleep=0; exec sleep 30"
    boots = [{"system": "smpvisor", "tag": 0, "cmd": first_dead_then(tmp_path, "b0", dead_smpvisor(),
                                                                     alive)},
             {"system": "qemu", "tag": 0, "cmd": sh(alive)},
             {"system": "smpvisor", "tag": 1, "cmd": sh(alive)},
             {"system": "qemu", "tag": 1, "cmd": dead_qemu()}]
    for b in boots:
        b.update(guest_mb=256, timeout=60, cpus=n)
    recs = ctx.probe({"job": "boots", "boots": boots, "deadline": 600}, 660)
    assert [(r["system"], r["ok"], bool(r.get("retried"))) for r in recs] == [
        ("smpvisor", True, True), ("qemu", True, False), ("smpvisor", True, False),
        ("qemu", False, True)], recs
    samples, fails, events = boot.boot_results(ctx, recs, n)
    assert len(samples["smpvisor"]["report_s"]) == 2 and len(samples["qemu"]["report_s"]) == 1
    assert fails == {"smpvisor": 0, "qemu": 1}
    row = boot.boot_row(ctx, n, None, samples, fails, events)
    assert row["status"] == (
        "failed: qemu boot 2: no AGENT-REPORT (exit 1): qemu: could not open kernel file "
        "'/nonexistent-bench-kernel': No such file or directory, also on its retry "
        "(retried once: smpvisor boot 1: no AGENT-REPORT (exit 1): smpvisor: error: kernel "
        "/nonexistent-bench-kernel: No such file or directory)")
    ok = boot.boot_row(ctx, n, None, {"smpvisor": samples["smpvisor"], "qemu": samples["qemu"]},
                        {"smpvisor": 0, "qemu": 0}, {"failed": [], "retried": []})
    assert ok["status"] == "ok"
    rows = [row, ok]
    path, text = common.publish("boot", boot.BOOT_COLUMNS, rows, [boot.boot_table(ctx)],
                                str(tmp_path), ctx.progress)
    out = capsys.readouterr().out
    assert out == text
    [table] = printed_tables(out).values()
    csv_rows = common.read_csv(path)
    assert len(table) == len(csv_rows) == 2
    for shown, c in zip(table, csv_rows):
        assert shown[0] == cell(c["vcpus"])
        assert shown[1] == cell(c["report_s_smpvisor_median"])
        assert shown[3] == cell(c["report_s_qemu_median"])
        assert shown[9] == cell(c["failures"])
        assert shown[10] == c["status"]
    assert table[0][9] == "1" and table[0][10].startswith("failed: qemu boot 2: ")


@needs_vmms
@pytest.mark.skipif(os.path.exists("/dev/kvm"), reason="the VMMs die here for want of /dev/kvm")
def test_bench_boot_without_kvm_prints_its_failed_row(tmp_path, capsys):
    """bench_boot end to end with the real smpvisor and QEMU command lines
    on a machine without /dev/kvm: every boot dies, is run again and dies
    again; the table still has the row, marked failed with both VMMs' own
    words, and it is the CSV's row."""
    kernel, initrd = (os.path.join(ROOT, "build", "guest", x) for x in ("vmlinuz", "initrd.img"))
    if not (os.path.exists(kernel) and os.path.exists(initrd)):
        pytest.skip("the test guest is not built")
    ctx = direct_ctx(tmp_path)
    ctx._guest = (kernel, initrd)
    rows = boot.bench_boot(ctx, [1], timeout=60)
    main = [r for r in rows if r["config"] == "vcpus=1"]
    assert len(main) == 1 and main[0]["failures"] == 2
    st = main[0]["status"]
    assert st.startswith("failed: smpvisor boot 1: no AGENT-REPORT (exit 1): smpvisor: error: "
                         "cannot open /dev/kvm"), st
    assert "qemu boot 1: no AGENT-REPORT (exit 1): " in st and "also on its retry" in st
    assert boot.SV_OFF not in st
    # The sandbox row: smpvisor with and without its sandbox, no QEMU.
    [sb] = [r for r in rows if r["config"] == "sandbox vcpus=1"]
    assert sb["failures"] == 2 and "qemu" not in sb["status"], sb["status"]
    assert (f"{boot.SV_OFF} boot 1: no AGENT-REPORT (exit 1): smpvisor: error: cannot open "
            "/dev/kvm") in sb["status"]
    tables = printed_tables(capsys.readouterr().out)
    [table] = [t for title, t in tables.items() if title.startswith("boot: launch to")]
    csv_rows = common.read_csv(str(tmp_path / "boot.csv"))
    [c] = [r for r in csv_rows if r["config"] == "vcpus=1"]
    assert table == [[cell(c["vcpus"]), "-", "-", "-", "-", "-", "-", "-", "-", "2", c["status"]]]
    [sbt] = [t for title, t in tables.items() if title.startswith("boot: the sandbox's cost")]
    [c] = [r for r in csv_rows if r["config"] == "sandbox vcpus=1"]
    assert sbt == [[cell(c["vcpus"])] + ["-"] * 10 + ["2", c["status"]]]
    assert [r["config"] for r in csv_rows if r["config"].startswith("sandbox_cost")] == \
        ["sandbox_cost seal"] + [f"sandbox_cost thread n={n}" for n in boot.SANDBOX_COST_THREADS]


SANDBOX_COST = os.path.join(context.BENCH_BIN, "sandbox_cost")


@pytest.mark.skipif(not os.access(SANDBOX_COST, os.X_OK), reason="build/bench/sandbox_cost "
                    "not built")
def test_sandbox_cost_records_rows_and_table(tmp_path, capsys, monkeypatch):
    """build/bench/sandbox_cost (no KVM): a record per run, on and off
    alternated; the rows have both sides and say ok; the table is the CSV.
    The sandbox-off config smpvisor gets for the comparison."""
    ctx = ctx_for(tmp_path)
    monkeypatch.setattr(boot, "SANDBOX_COST_THREADS", [1, 4])
    recs, _ = boot.run_sandbox_cost(ctx, [1, 4])
    assert [(r["mode"], r["threads"]) for r in recs] == [
        ("on", 1), ("off", 1), ("off", 1), ("on", 1), ("on", 4), ("off", 4), ("off", 4), ("on", 4)]
    assert all(r["seal_us"] > 0 and r["thread_us"] > 0 for r in recs)
    rows = boot.sandbox_cost_rows(ctx)
    assert [r["status"] for r in rows] == ["ok"] * 3, rows
    assert rows[0]["runs"] == 4 and rows[1]["runs"] == 2
    path, text = common.publish("boot", boot.BOOT_COLUMNS, rows, [boot.sandbox_cost_table(ctx)],
                                str(tmp_path), ctx.progress)
    assert capsys.readouterr().out == text
    [table] = printed_tables(text).values()
    for shown, c in zip(table, common.read_csv(path)):
        assert shown[2] == cell(c["cost_us_smpvisor_median"])
        assert shown[4] == cell(c[f"cost_us_{boot.SV_OFF}_median"])
        assert shown[-1] == c["status"] == "ok"
    off = vmms.vmm_cmd(boot.SV_OFF, "K", "I", 1, 256, "", sandbox=False)
    with open(off[off.index("--config") + 1]) as f:
        assert json.load(f) == {"sandbox": {"seccomp": "off", "landlock": False}}
    assert "--config" not in vmms.vmm_cmd("smpvisor", "K", "I", 1, 256, "")
    assert [b for rep in range(2) for b in boot.boot_order(rep, True)] == [
        "smpvisor", "qemu", boot.SV_OFF, boot.SV_OFF, "qemu", "smpvisor"]


@pytest.mark.skipif(not os.access(os.path.join(context.BENCH_BIN, "prefault"), os.X_OK),
                    reason="build/bench/prefault not built")
def test_prefault_records_rows_and_table(tmp_path, capsys):
    """build/bench/prefault (no KVM) on 64 MiB: a record per run with all
    of it resident; rows pair each QEMU prealloc=on run with its
    prealloc=off run (net), a row without a QEMU pair says failed; the
    table is the CSV."""
    ctx = ctx_for(tmp_path)
    p = subprocess.run([os.path.join(context.BENCH_BIN, "prefault"), "--size", "64M",
                        "--threads", "1,2", "--reps", "2"],
                       stdout=subprocess.PIPE, text=True, timeout=60)
    assert p.returncode == 0
    recs = context.parse_tagged("noise\n" + p.stdout, "PREFAULT")
    assert [r["threads"] for r in recs] == [1, 1, 2, 2]
    assert all(r["s"] > 0 and r["rss_mib"] >= 64 and r["gib"] == 0.0625 for r in recs)
    on = [{"s": 0.5, "net_s": 0.3, "rss_mib": 100, "thp_mib": 64},
          {"s": 0.7, "net_s": 0.5, "rss_mib": 100, "thp_mib": 64}]
    off = [{"s": 0.2}, {"s": 0.2}]
    got = {1: {"smpvisor": recs[:2], "qemu_on": on, "qemu_off": off},
           2: {"smpvisor": recs[2:], "qemu_on": [], "qemu_off": off}}
    rows = prefault.prefault_rows(ctx, 0.0625, got, {2: ["qemu prealloc=on: boom"]})
    assert rows[0]["status"] == "ok" and rows[0]["s_qemu_median"] == pytest.approx(0.4)
    assert rows[0]["s_ratio"] == pytest.approx(rows[0]["s_smpvisor_median"] / 0.4)
    assert rows[1]["status"] == "failed: qemu prealloc=on: boom" and rows[1]["s_ratio"] is None
    path, text = common.publish("prefault", prefault.columns(), rows,
                                [prefault.prefault_table(ctx)], str(tmp_path), ctx.progress)
    assert capsys.readouterr().out == text
    [table] = printed_tables(text).values()
    for shown, c in zip(table, check_csv(path, ["s_smpvisor_median", "s_qemu_median",
                                                "qemu_off_s_median", "s_ratio"])):
        assert shown[2] == cell(c["s_smpvisor_median"]) and shown[6] == cell(c["s_ratio"])
        assert shown[-1] == c["status"]
    assert prefault.qemu_cmd(4, 2, True, "S")[-8:] == [
        "-m", "4G", "-object", "memory-backend-ram,id=ram0,size=4G,prealloc=on,prealloc-threads=2",
        "-machine", "pc,memory-backend=ram0", "-qmp", "unix:S,server=on,wait=off"]


@needs_vmms
def test_snapshot_job_rows_and_table(tmp_path, capsys):
    """vmprobe.py's snapshot job with a real QEMU (TCG, 64 MiB, no guest):
    stop + migrate to a file over QMP, the file measured, a new QEMU with
    -incoming brought to running with cont; and a smpvisor that dies at
    boot, run again and dead again. The rows have QEMU's figures and a
    status naming smpvisor's own stderr line; the table is the CSV. The
    command lines the benchmark gives both VMMs: the same guest, QEMU's
    restore its own command plus -incoming."""
    ctx = direct_ctx(tmp_path)
    sock, mig = str(tmp_path / "q.sock"), str(tmp_path / "q.mig")
    q = [QEMU, "-accel", "tcg", "-M", "pc", "-m", "64M", "-display", "none", "-nodefaults",
         "-qmp", f"unix:{sock},server=on,wait=off"]
    common_run = {"smpvisor": SMPVISOR, "uri_out": "exec:cat > FILE",
                  "max_bandwidth": snapshot.MAX_BANDWIDTH, "timeout": 120, "boot_timeout": 60}
    runs = [dict(common_run, system="smpvisor", tag=0, cmd=dead_smpvisor(),
                 restore_cmd=[SMPVISOR, "run", "--restore", str(tmp_path / "sv")],
                 sock=str(tmp_path / "sv.sock"), path=str(tmp_path / "sv")),
            dict(common_run, system="qemu", tag=0, sock=sock, path=mig,
                 cmd=sh('echo "AGENT-FILLED {\\"mib\\": 0}"; exec ' + shlex.join(q + ["-S"])),
                 restore_cmd=q + ["-incoming", f"exec:cat {mig}"])]
    recs = ctx.probe({"job": "snapshot", "runs": runs, "deadline": 600}, 660)
    assert [(r["system"], r["ok"], bool(r.get("retried"))) for r in recs] == [
        ("smpvisor", False, True), ("qemu", True, False)], recs
    qr = recs[1]
    assert qr["snapshot_s"] > 0 and qr["restore_s"] > 0 and qr["file_bytes"] > 0
    assert qr["disk_bytes"] > 0 and qr["qemu_total_ms"] is not None
    assert not os.path.exists(mig) and not os.path.exists(sock)
    samples, extra, failed, retried = snapshot.snapshot_samples(ctx, recs)
    rows = snapshot.snapshot_rows(ctx, samples, extra, failed, retried, "exec:cat")
    assert [r["metric"] for r in rows] == ["snapshot_s", "restore_s", "disk_mib"]
    for r in rows:
        assert r["value_smpvisor_median"] is None and r["value_ratio"] is None
        assert r["value_qemu_median"] > 0
        assert r["status"] == (
            "failed: smpvisor run 1: boot: no AGENT-FILLED (exit 1): smpvisor: error: kernel "
            "/nonexistent-bench-kernel: No such file or directory, also on its retry")
    path, text = common.publish("snapshot", snapshot.SNAPSHOT_COLUMNS, rows,
                                [snapshot.snapshot_table(ctx)], str(tmp_path), ctx.progress)
    assert capsys.readouterr().out == text
    [table] = printed_tables(text).values()
    for shown, c in zip(table, check_csv(path, ["value_smpvisor_median", "value_qemu_median",
                                                "value_ratio", "qemu_uri"])):
        assert shown[0] == c["what"] and shown[2] == "-"
        assert shown[4] == cell(c["value_qemu_median"]) and shown[-1] == c["status"]
    assert snapshot.snapshot_panels(rows)[0].series[1].points

    runs = snapshot.snapshot_runs(ctx, "K", "I", (7, 2))
    assert [r["system"] for r in runs] == ["smpvisor", "qemu"]
    sv, qe = runs
    assert sv["cmd"][sv["cmd"].index("--memory") + 1] == "1024M"
    assert sv["cmd"][-2:] == ["--api-socket", sv["sock"]]
    assert sv["restore_cmd"][1:] == ["run", "-v", "--restore", sv["path"]]
    assert qe["cmd"][qe["cmd"].index("-append") + 1] == \
        sv["cmd"][sv["cmd"].index("--cmdline") + 1]
    assert "agent.fill=200" in qe["cmd"][qe["cmd"].index("-append") + 1]
    assert qe["restore_cmd"] == qe["cmd"] + ["-incoming", f"exec:cat {qe['path']}"]
    assert snapshot.qemu_uris((8, 2))[:2] == ("file:FILE", "file:FILE")
