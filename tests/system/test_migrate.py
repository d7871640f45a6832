"""Live migration between two smpvisor processes in the nested host
(issue 18).

The source, a 4-vCPU guest with two NUMA nodes, runs the agent's
checksummed memory workload (agent.ticks: it rewrites an 8 MiB buffer
all the time, so every round finds pages dirty). Three migrations to
`run --incoming` (unix sockets, then TCP):
- cancelled: the destination is frozen (SIGSTOP) so the copy stalls;
  migrate-cancel ends it, ctl says so, the source runs on, and the
  destination, thawed, exits 1 with one line;
- the destination killed mid-copy: the migration fails, the source runs
  on;
- the real one, over TCP on the loopback, to a destination whose config
  binds guest node 0 to host node 1 and node 1 to host node 0: ctl reports it completed with its
  downtime, the source exits 0 (SHUTDOWN "migrated"), the guest goes on
  at the destination without a reboot, every checksum holds, its clock
  never goes backwards, its memory is where the new config put it, and
  it powers off there at the end of the workload, exit 0.
"""
import json
import os
import re
import shlex

from guest import ROOT, sections
from agentlines import agent_lines

SMPVISOR = os.path.join(ROOT, "build", "smpvisor")


def test_migrate_cancel_kill_and_move(kvmhost, test_guest):
    kernel, initrd = test_guest
    sock, sock2 = "/tmp/smpv-mig-src.sock", "/tmp/smpv-mig-dst.sock"
    cfg = {
        "kernel": kernel, "initrd": initrd,
        "cmdline": "console=ttyS0 panic=-1 quiet agent.report=0 agent.ticks=60",
        "cpus": {"count": 4, "sockets": 2, "cores": 2, "threads": 1},
        "memory": {"size": "256M"},
        "numa": [{"cpus": "0-1", "memory": "128M"},
                 {"cpus": "2-3", "memory": "128M"}],
    }
    moved = dict(cfg, numa=[
        {"cpus": "0-1", "memory": "128M", "host_nodes": "1", "policy": "bind"},
        {"cpus": "2-3", "memory": "128M", "host_nodes": "0", "policy": "bind"}])
    sv = shlex.quote(SMPVISOR)
    ctl = f"{sv} ctl --timeout 120 {sock}"
    dst = f"{sv} run --config /tmp/smpv-mig-moved.json --api-socket {sock2}"
    script = f"""
ip link set lo up 2>/dev/null  # the nested host's init leaves the loopback down
rm -f {sock} {sock2} /tmp/smpv-mig*.sock /tmp/mig-*.out /tmp/mig-*.err
cat > /tmp/smpv-mig.json <<'EOF'
{json.dumps(cfg)}
EOF
cat > /tmp/smpv-mig-moved.json <<'EOF'
{json.dumps(moved)}
EOF
waitsock() {{ n=0; until [ -S $1 ] || [ $n -ge 600 ]; do sleep 0.1; n=$((n+1)); done; }}
{sv} run -v --config /tmp/smpv-mig.json --api-socket {sock} >/tmp/mig-src.out 2>/tmp/mig-src.err &
S=$!
n=0; until [ $(grep -c AGENT-TICK /tmp/mig-src.out) -ge 3 ] || [ $n -ge 6000 ] || ! kill -0 $S; do sleep 0.05; n=$((n+1)); done

{dst} --incoming unix:/tmp/smpv-mig1.sock >/tmp/mig-d1.out 2>/tmp/mig-d1.err &
D=$!; waitsock /tmp/smpv-mig1.sock; kill -STOP $D
{ctl} migrate unix:/tmp/smpv-mig1.sock downtime-ms=1 >/tmp/mig-c1.out 2>&1 &
C=$!; sleep 2
echo "=== q1"; {sv} ctl --json {sock} query-migrate | tail -1
{ctl} migrate-cancel
wait $C; rc=$?; echo "=== cancel"; echo "rc=$rc"; cat /tmp/mig-c1.out
kill -CONT $D; wait $D; rc=$?; echo "=== d1"; echo "rc=$rc"; cat /tmp/mig-d1.err
echo "=== s1"; {ctl} query-status

{dst} --incoming unix:/tmp/smpv-mig2.sock >/tmp/mig-d2.out 2>/tmp/mig-d2.err &
D=$!; waitsock /tmp/smpv-mig2.sock; kill -STOP $D
{ctl} migrate unix:/tmp/smpv-mig2.sock downtime-ms=1 >/tmp/mig-c2.out 2>&1 &
C=$!; sleep 2; kill -KILL $D; wait $D
wait $C; rc=$?; echo "=== killed"; echo "rc=$rc"; cat /tmp/mig-c2.out
echo "=== s2"; {ctl} query-status

rm -f {sock2}
{dst} -v --incoming tcp:127.0.0.1:47311 >/tmp/mig-d3.out 2>/tmp/mig-d3.err &
D=$!
n=0; until grep -q "waiting for a migration" /tmp/mig-d3.err || [ $n -ge 600 ]; do sleep 0.1; n=$((n+1)); done
{ctl} migrate tcp:127.0.0.1:47311 >/tmp/mig-c3.out 2>&1; rc=$?
echo "=== moved"; echo "rc=$rc"; cat /tmp/mig-c3.out
wait $S; rc=$?; echo "=== src"; echo "rc=$rc"
waitsock {sock2}
echo "=== numa_maps"; cat /proc/$D/numa_maps
wait $D; rc=$?; echo "=== dst"; echo "rc=$rc"
echo "=== console-src"; cat /tmp/mig-src.out
echo "=== console-dst"; cat /tmp/mig-d3.out
echo "=== stderr-src"; cat /tmp/mig-src.err
echo "=== stderr-dst"; cat /tmp/mig-d3.err
rm -f /tmp/smpv-mig.json /tmp/smpv-mig-moved.json /tmp/smpv-mig*.sock
"""
    r = kvmhost.run(script, timeout=900)
    parts = sections(r.out)
    why = r.out[-8000:] + r.err[-2000:]

    # Cancelled mid-copy: ctl says so, the destination exits 1, one line.
    q1 = [ln for ln in parts.get("q1", "").splitlines() if ln.startswith("{")]
    assert q1, why
    q1 = json.loads(q1[0])["return"]
    assert q1["status"] in ("setup", "active"), q1
    assert re.search(r"rc=1\b", parts["cancel"]) and "cancelled" in parts["cancel"], why
    d1 = parts["d1"].strip().splitlines()
    assert d1[0] == "rc=1" and len(d1) == 2 and "incoming:" in d1[1], why
    assert 'status: "running"' in parts["s1"], why
    # The destination killed mid-copy: failed, the source runs on.
    assert re.search(r"rc=1\b", parts["killed"]) and "failed" in parts["killed"], why
    assert 'status: "running"' in parts["s2"], why

    # The real one.
    assert re.search(r"rc=0\b", parts["moved"]), why
    m = re.search(r"migrated: (\d+) MiB sent in (\d+) rounds", parts["moved"])
    assert m, why
    assert re.search(r"rc=0\b", parts["src"]) and re.search(r"rc=0\b", parts["dst"]), why
    assert re.search(r"migrate: done in \d+ ms, downtime \d+ ms", parts["stderr-src"]), why
    assert "incoming: the VM runs here now" in parts["stderr-dst"], why

    a, b = parts["console-src"], parts["console-dst"]
    assert (a + b).count("AGENT-START") == 1, why
    ticks_a = [v for k, v in agent_lines(a) if k == "TICK"]
    ticks_b = [v for k, v in agent_lines(b) if k == "TICK"]
    assert ticks_a and ticks_b, why
    assert ticks_a[-1]["i"] <= ticks_b[0]["i"] <= ticks_a[-1]["i"] + 2, \
        (ticks_a[-1], ticks_b[0])
    summary = [v for k, v in agent_lines(b) if k == "TICKS"]
    assert summary and summary[-1]["ok"], b[-4000:]
    assert not summary[-1]["clock_backwards"], summary

    maps = [ln for ln in parts["numa_maps"].splitlines() if " bind:" in ln]
    for host in (0, 1):
        lines = [ln for ln in maps if f" bind:{host} " in ln]
        assert lines, parts["numa_maps"]
        pages = [int(x) for ln in lines for x in re.findall(rf"\bN{host}=(\d+)", ln)]
        other = [int(x) for ln in lines for x in re.findall(rf"\bN{1 - host}=(\d+)", ln)]
        assert sum(pages) > 0 and sum(other) == 0, lines
