"""The control API on a running guest (issue 16).

One guest runs the agent's checksummed memory workload (agent.ticks)
while a script in the test host drives smpvisor's control socket with
`smpvisor ctl`:
- query-status shows each state;
- stop pauses the guest for 10 s, with its STOP and RESUME events;
- query-cpus-fast names exactly the vCPU threads of the process;
- the guest then finishes its workload and powers off, with exit status 0.
The guest must not notice anything but the gap: every checksum holds, its
wall clock never goes backwards, and no soft-lockup or RCU-stall message
reaches its console. Bad clients are tested in tests/unit/test_api.c and
test_qmp.c."""
import json
import os
import re
import shlex

from guest import ROOT, sections
from agentlines import agent_lines

SMPVISOR = os.path.join(ROOT, "build", "smpvisor")
PAUSE_S = 10


def test_stop_cont_and_cpus(kvmhost, test_guest):
    kernel, initrd = test_guest
    sock = "/tmp/smpvisor-api-test.sock"
    sv, s = shlex.quote(SMPVISOR), shlex.quote(sock)
    run = shlex.join([SMPVISOR, "run", "--kernel", kernel, "--initrd", initrd,
                      "--cpus", "2", "--memory", "256M", "--api-socket", sock,
                      "--cmdline", "console=ttyS0 panic=-1 quiet agent.report=0 "
                                   "agent.ticks=30"])
    ctl = f"{sv} ctl --timeout 60 {s}"
    script = f"""
rm -f {s}
{run} >/tmp/api-vm.out 2>/tmp/api-vm.err &
P=$!
n=0; until grep -q AGENT-TICK /tmp/api-vm.out || [ $n -ge 1200 ]; do sleep 0.25; n=$((n+1)); done
echo "=== mode"; stat -c %a {s}
echo "=== status-running"; {ctl} query-status
echo "=== stop"; {sv} ctl --timeout 60 --wait-event STOP {s} stop
echo "=== status-paused"; {ctl} query-status
echo "=== cpus"; {sv} ctl --json {s} query-cpus-fast
echo "=== tasks"; for t in /proc/$P/task/*; do echo "$(basename $t) $(cat $t/comm)"; done
sleep {PAUSE_S}
echo "=== cont"; {sv} ctl --timeout 60 --wait-event RESUME {s} cont
echo "=== status-resumed"; {ctl} query-status
wait $P; rc=$?; echo "=== vm"; echo "rc=$rc"
echo "=== console"; cat /tmp/api-vm.out
echo "=== stderr"; cat /tmp/api-vm.err
echo "=== left"; ls {s} 2>&1
"""
    r = kvmhost.run(script, timeout=600)
    parts = sections(r.out)
    why = r.out[-6000:] + r.err[-2000:]
    assert parts.get("mode", "").strip() == "600", why
    assert "status: \"running\"" in parts["status-running"], why
    assert "event STOP" in parts["stop"], why
    assert "status: \"paused\"" in parts["status-paused"], why
    assert "event RESUME" in parts["cont"], why
    assert "status: \"running\"" in parts["status-resumed"], why

    # query-cpus-fast: one entry per vCPU, thread ids exactly the "vcpu N" tasks.
    cpus = json.loads(parts["cpus"].strip().splitlines()[-1])["return"]
    tasks = dict(ln.split(" ", 1) for ln in parts["tasks"].strip().splitlines())
    vcpu_tasks = {int(tid): comm for tid, comm in tasks.items() if comm.startswith("vcpu ")}
    assert sorted(vcpu_tasks) == sorted(c["thread-id"] for c in cpus), (cpus, tasks)
    for c in cpus:
        assert vcpu_tasks[c["thread-id"]] == f"vcpu {c['cpu-index']}"
        assert c["props"]["socket-id"] == 0 and c["allowed-cpus"]

    assert re.search(r"rc=0\b", parts["vm"]), why
    console = parts["console"]
    lines = agent_lines(console)
    ticks = [v for k, v in lines if k == "TICK"]
    summary = [v for k, v in lines if k == "TICKS"]
    assert summary, console[-4000:]
    summary = summary[-1]
    assert summary["ok"], summary
    assert not summary["clock_backwards"], summary
    # The pause shows as one gap of about PAUSE_S seconds in the guest's
    # monotonic ticks... or not at all: kvmclock may hide the stop from
    # CLOCK_MONOTONIC. Either way the ticks went on after the pause.
    reals = [t["real_ms"] for t in ticks]
    assert reals == sorted(reals), reals
    assert max(b - a for a, b in zip(reals, reals[1:])) >= (PAUSE_S - 1) * 1000, reals
    for bad in ("soft lockup", "rcu_sched self-detected stall", "RCU Stall", "rcu: INFO"):
        assert bad not in console, console[-4000:]
    assert "No such file" in parts["left"], "the socket was not removed"
