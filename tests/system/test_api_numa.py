"""Moving a running guest's NUMA node between host nodes (issue 16).

A guest of 2 vCPUs on 2 guest nodes of 256 MiB, node 0 bound to host
node 0 and node 1 to host node 1, both prefaulted, runs the agent's tick
workload (an 8 MiB buffer rewritten and checksummed all the time, a
console line a second) with an API socket. A script in the test host:
- reads query-numa: node 0's pages are resident on host node 0;
- runs numa-move of node 0 to host node 1 (re-pinning its vCPU to host
  node 1's CPUs) from a small QMP client that keeps every event;
- reads query-numa again: most of node 0's pages are on host node 1 and
  it reports the new binding;
- sends bad arguments (a guest node and a host node that do not exist,
  an unknown policy): error replies, and the guest keeps running;
- waits for the agent's summary and quits.
The guest's checksums must hold and its ticks never be more than 2 s
apart, so the move did not stall the vCPUs."""
import json
import re
import shlex

from guest import sections
from test_api import SMPVISOR
from test_numa import write_cfg

# A QMP client that runs one command and prints every message it gets,
# one JSON object a line, until the command's reply: numa-move's events
# must come while it runs, so before its reply.
CLIENT = r"""
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()
f.write(json.dumps({"execute": "qmp_capabilities"}) + "\n"); f.flush()
f.readline()
t = time.monotonic()
f.write(json.dumps({"execute": sys.argv[2], "arguments": json.loads(sys.argv[3]),
                    "id": 1}) + "\n"); f.flush()
while True:
    ln = f.readline()
    if not ln:
        break
    print("%.3f" % (time.monotonic() - t), ln.strip(), flush=True)
    if json.loads(ln).get("id") == 1:
        break
"""


def resident(node, host):
    return node["resident-pages"].get(str(host), 0)


def test_numa_move_while_running(kvmhost, test_guest):
    sock = "/tmp/smpvisor-numa-move.sock"
    cfg = write_cfg("api-numa-move", test_guest,
                    "agent.report=0 agent.ticks=40",
                    cpus=2, memory={"size": "512M", "prefault": True},
                    api={"socket": sock},
                    numa=[{"cpus": "0", "memory": "256M", "host_nodes": "0",
                           "policy": "bind"},
                          {"cpus": "1", "memory": "256M", "host_nodes": "1",
                           "policy": "bind"}])
    sv, s = shlex.quote(SMPVISOR), shlex.quote(sock)
    ctl = f"{sv} ctl --timeout 60"
    move = json.dumps({"node": 0, "host-nodes": "1", "cpus": "2-3"})
    script = f"""
rm -f {s} /tmp/numa-move.*
cat >/tmp/numa-move.py <<'PY'
{CLIENT}
PY
{sv} run --config {shlex.quote(cfg)} >/tmp/numa-move.out 2>/tmp/numa-move.err &
P=$!
n=0; until grep -q AGENT-TICK /tmp/numa-move.out || [ $n -ge 1200 ]; do sleep 0.25; n=$((n+1)); done
echo "=== before"; {ctl} --json {s} query-numa
echo "=== move"; python3 /tmp/numa-move.py {s} numa-move {shlex.quote(move)} 2>&1; echo "rc=$?"
echo "=== after"; {ctl} --json {s} query-numa
echo "=== badnode"; {ctl} {s} numa-move node=5 host-nodes=1 2>&1; echo "rc=$?"
echo "=== badhost"; {ctl} {s} numa-move node=0 host-nodes=7 2>&1; echo "rc=$?"
echo "=== badpolicy"; {ctl} {s} numa-move node=0 host-nodes=1 policy=fast 2>&1; echo "rc=$?"
n=0; until grep -q AGENT-TICKS /tmp/numa-move.out || [ $n -ge 320 ]; do sleep 0.25; n=$((n+1)); done
{ctl} {s} quit
wait $P; echo "=== vm"; echo "rc=$?"
echo "=== console"; grep -a AGENT-TICK /tmp/numa-move.out
echo "=== stderr"; tail -20 /tmp/numa-move.err
"""
    r = kvmhost.run(script, timeout=600)
    parts = sections(r.out)
    why = r.out[-6000:] + r.err[-2000:]

    before = json.loads(parts["before"].strip().splitlines()[-1])["return"]
    n0 = before["nodes"][0]
    assert n0["host-nodes"] == "0" and n0["policy"] == "bind", n0
    assert n0["vcpus"] == "0" and n0["size"] == 256 << 20, n0
    pages = (256 << 20) // before["page-size"]
    assert resident(n0, 0) > pages * 0.9 and resident(n0, 1) < pages * 0.1, n0

    # Each line: the seconds since the command went out, then the message.
    timed = [(float(ln.split(" ", 1)[0]), json.loads(ln.split(" ", 1)[1]))
             for ln in parts["move"].splitlines() if " {" in ln]
    msgs = [m for _, m in timed]
    assert msgs, why
    print(parts["move"][-2000:])
    events = [m["data"] for m in msgs if m.get("event") == "NUMA_MOVE"]
    reply = msgs[-1]
    assert "return" in reply, why
    assert reply["return"]["moved-bytes"] == 256 << 20, reply
    assert [v["cpus"] for v in reply["return"]["vcpus"]] == ["2-3"], reply
    assert len(events) >= 3, events
    assert all(e["node"] == 0 and e["total-bytes"] == 256 << 20 for e in events)
    done = [e["done-bytes"] for e in events]
    assert done == sorted(done), done
    assert events[-1].get("status") == "completed", events
    assert events[-1]["done-bytes"] == 256 << 20, events
    # Progress is sent as the move goes, not all with the reply.
    if timed[-1][0] > 1:
        assert timed[0][0] < timed[-1][0] - 0.2, timed

    after = json.loads(parts["after"].strip().splitlines()[-1])["return"]
    a0, a1 = after["nodes"]
    assert a0["host-nodes"] == "1" and a0["policy"] == "bind", a0
    assert resident(a0, 1) > pages * 0.9 and resident(a0, 0) < pages * 0.1, a0
    assert a1["host-nodes"] == "1" and resident(a1, 1) > pages * 0.9, a1

    assert "no guest node 5" in parts["badnode"] and "rc=1" in parts["badnode"], why
    assert "host node 7" in parts["badhost"] and "rc=1" in parts["badhost"], why
    assert "'policy' fast" in parts["badpolicy"] and "rc=1" in parts["badpolicy"], why

    ticks = [json.loads(m.group(1)) for m in
             re.finditer(r"^AGENT-TICK (\{.*\})\s*$", parts["console"], re.M)]
    summary = re.search(r"^AGENT-TICKS (\{.*\})\s*$", parts["console"], re.M)
    assert summary, why
    summary = json.loads(summary.group(1))
    assert summary["ok"] and all(t["ok"] for t in ticks), summary
    gaps = [b["mono_ms"] - a["mono_ms"] for a, b in zip(ticks, ticks[1:])]
    assert ticks and max(gaps) <= 2000, gaps
    assert summary["max_gap_ms"] <= 2000, summary
    assert re.search(r"rc=0\b", parts["vm"]), why
