"""Telemetry and run-time pinning on the control API (issue 16).

One guest on 2 vCPUs runs the agent's tick workload (a console line a
second, so its vCPUs keep exiting) with --api-socket; a script in the
test host then:
- reads query-stats twice, 2 s apart: the VMM's exits, KVM's own vCPU
  statistics and the guest's uptime grew, and every vCPU and device
  queue is there;
- prints `smpvisor ctl SOCKET metrics`, which must parse as Prometheus
  text (the small parser below: HELP/TYPE before samples, names and
  labels well formed, numbers as values, one TYPE per metric);
- runs `smpvisor top SOCKET --once`: a vCPU row per vCPU, and the two
  reads about one interval apart (a query never waits on a busy vCPU);
- moves vCPU 1 with set-vcpu-affinity and reads Cpus_allowed_list of its
  thread in /proc before and after; a bad index and a bad CPU list get
  error replies and the VM keeps running;
- quits the VM."""
import json
import os
import re
import shlex

from guest import ROOT, sections

SMPVISOR = os.path.join(ROOT, "build", "smpvisor")

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(rf"^({NAME})(?:\{{(.*)\}})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def parse_prometheus(text):
    """{(name, labels tuple): value}, asserting the text format's rules."""
    types, samples, helped = {}, {}, set()
    for ln in text.splitlines():
        if not ln.strip():
            continue
        if ln.startswith("# HELP "):
            name = ln.split(" ")[2]
            assert re.fullmatch(NAME, name), ln
            helped.add(name)
            continue
        if ln.startswith("# TYPE "):
            _, _, name, kind = ln.split(" ")
            assert name not in types, f"two TYPE lines for {name}"
            assert kind in ("counter", "gauge"), ln
            types[name] = kind
            continue
        assert not ln.startswith("#"), ln
        m = SAMPLE.match(ln)
        assert m, f"not a sample: {ln!r}"
        name, labels, value = m.groups()
        assert name in types and name in helped, f"{name} before its HELP/TYPE"
        lab = ()
        if labels:
            rest = labels
            while rest:
                lm = LABEL.match(rest)
                assert lm, f"bad labels in {ln!r}"
                lab += ((lm.group(1), lm.group(2)),)
                rest = rest[lm.end():]
        float(value)
        assert (name, lab) not in samples, f"duplicate sample {ln!r}"
        samples[(name, lab)] = float(value)
    return types, samples


def test_stats_metrics_top_affinity(kvmhost, test_guest):
    kernel, initrd = test_guest
    sock = "/tmp/smpvisor-stats-test.sock"
    sv, s = shlex.quote(SMPVISOR), shlex.quote(sock)
    disk = "/tmp/smpvisor-stats-test.img"
    run = shlex.join([SMPVISOR, "run", "--kernel", kernel, "--initrd", initrd,
                      "--cpus", "2", "--memory", "256M", "--api-socket", sock,
                      "--disk", disk,
                      "--cmdline", "console=ttyS0 panic=-1 quiet agent.report=0 "
                                   "agent.disk=vda,writeverify,seed=4 agent.ticks=60"])
    ctl = f"{sv} ctl --timeout 60"
    script = f"""
rm -f {s} {disk}; truncate -s 4M {disk}
{run} >/tmp/stats-vm.out 2>/tmp/stats-vm.err &
P=$!
n=0; until grep -q AGENT-TICK /tmp/stats-vm.out || [ $n -ge 1200 ]; do sleep 0.25; n=$((n+1)); done
echo "=== stats1"; {ctl} --json {s} query-stats
sleep 2
echo "=== stats2"; {ctl} --json {s} query-stats
echo "=== metrics"; {ctl} {s} metrics; echo "rc=$?"
echo "=== top"; {sv} top {s} --once; echo "rc=$?"
T=$({ctl} --json {s} query-cpus-fast | python3 -c 'import json,sys; print([c["thread-id"] for c in json.load(sys.stdin)["return"] if c["cpu-index"]==1][0])')
echo "=== before"; grep Cpus_allowed_list /proc/$P/task/$T/status
echo "=== pin"; {ctl} {s} set-vcpu-affinity cpu-index=1 cpus=0; echo "rc=$?"
echo "=== after"; grep Cpus_allowed_list /proc/$P/task/$T/status
echo "=== badindex"; {ctl} {s} set-vcpu-affinity cpu-index=7 cpus=0 2>&1; echo "rc=$?"
echo "=== badcpus"; {ctl} {s} set-vcpu-affinity cpu-index=0 cpus=4000 2>&1; echo "rc=$?"
echo "=== badlist"; {ctl} {s} set-vcpu-affinity cpu-index=0 cpus=3-1 2>&1; echo "rc=$?"
echo "=== iot"; {ctl} {s} set-iothread-affinity iothread=0 cpus=1 2>&1; echo "rc=$?"
echo "=== status"; {ctl} {s} query-status
{ctl} {s} quit
wait $P; echo "=== vm"; echo "rc=$?"
echo "=== stderr"; tail -20 /tmp/stats-vm.err
"""
    r = kvmhost.run(script, timeout=600)
    parts = sections(r.out)
    why = r.out[-6000:] + r.err[-2000:]

    s1 = json.loads(parts["stats1"].strip().splitlines()[-1])["return"]
    s2 = json.loads(parts["stats2"].strip().splitlines()[-1])["return"]
    assert len(s2["vcpus"]) == 2, s2
    assert s2["uptime-ms"] >= s1["uptime-ms"] + 1500, (s1["uptime-ms"], s2["uptime-ms"])
    assert sum(v["exits"] for v in s2["vcpus"]) > sum(v["exits"] for v in s1["vcpus"]), why
    assert s2["devices"] and all(d["queues"] for d in s2["devices"]), s2["devices"]
    # The agent wrote and read back the 4 MiB disk before its ticks: every
    # byte went through virtio-blk0's queues, and nothing is in flight.
    blk = next(d for d in s2["devices"] if d["name"] == "virtio-blk0")
    # (The guest merges its 4 KiB writes into large requests.)
    assert sum(q["requests"] for q in blk["queues"]) >= 4, blk
    assert sum(q["bytes-out"] for q in blk["queues"]) >= 4 << 20, blk
    assert sum(q["bytes-in"] for q in blk["queues"]) >= 4 << 20, blk
    assert all(q["in-flight"] == 0 and q["served-here"] for q in blk["queues"]), blk
    for a, b in zip(s1["vcpus"], s2["vcpus"]):
        assert b["exits"] >= a["exits"] and b["pio-exits"] >= a["pio-exits"]
    if s2["kvm"]["available"]:
        assert s2["kvm"]["vm"], s2["kvm"]
        k1 = sum(v["kvm"]["exits"] for v in s1["vcpus"])
        k2 = sum(v["kvm"]["exits"] for v in s2["vcpus"])
        assert k2 > k1, (k1, k2)
    else:
        assert "KVM_CAP_BINARY_STATS_FD" in s2["kvm"]["reason"]

    m = parts["metrics"]
    assert re.search(r"rc=0\b", m), why
    types, samples = parse_prometheus(m.rsplit("rc=", 1)[0])
    assert types["smpvisor_vcpu_exits_total"] == "counter"
    assert samples[("smpvisor_vcpu_exits_total", (("vcpu", "1"), ("kind", "pio")))] >= 0
    queues = [k for k in samples if k[0] == "smpvisor_queue_kicks_total"]
    assert queues and all(dict(k[1]).keys() == {"device", "queue"} for k in queues), queues
    assert types["smpvisor_queue_requests_total"] == "counter"
    assert types["smpvisor_queue_in_flight"] == "gauge"
    assert sum(v for k, v in samples.items()
               if k[0] == "smpvisor_queue_device_bytes_total"
               and ("device", "virtio-blk0") in k[1]) >= 4 << 20, samples
    if s2["kvm"]["available"]:
        assert ("smpvisor_kvm_vcpu_exits_total", (("vcpu", "0"),)) in samples

    top = parts["top"]
    print(top)
    assert re.search(r"rc=0\b", top), why
    rows = [ln for ln in top.splitlines() if re.match(r"^[01] +\d+ ", ln)]
    # query-stats never waits for a vCPU to leave KVM_RUN (its KVM
    # statistics files are opened once), so the two reads of --once are
    # one interval apart, not one interval plus a busy vCPU's next exit.
    interval = float(re.search(r"interval ([\d.]+) s", top).group(1))
    assert interval < 1.8, top
    assert len(rows) >= 2 and "VCPU" in top and "DEVICE" in top, top
    assert "REQ/s" in top and "INFLIGHT" in top, top

    before = parts["before"].split(":")[1].strip()
    after = parts["after"].split(":")[1].strip()
    assert re.search(r"rc=0\b", parts["pin"]), why
    assert after == "0" and before != after, (before, after)
    assert "no vCPU 7" in parts["badindex"] and "rc=1" in parts["badindex"], why
    assert "outside the CPUs" in parts["badcpus"] and "rc=1" in parts["badcpus"], why
    assert "not a CPU list" in parts["badlist"] and "rc=1" in parts["badlist"], why
    assert "rc=0" in parts["iot"] or "no I/O thread 0" in parts["iot"], parts["iot"]
    assert 'status: "running"' in parts["status"], why
    assert re.search(r"rc=0\b", parts["vm"]), why
