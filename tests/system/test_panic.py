"""A guest kernel panic reaches the host through pvpanic (issue 16).

The agent crashes the guest kernel (agent.panic=1: sysrq 'c'); the pvpanic
driver (pvpanic_mmio, bound to our ACPI QEMU0001 device) writes the port in
the panic notifier. With on_panic exit (the default) the GUEST_PANICKED
event arrives with action "exit" and smpvisor ends with exit status 2; with
--on-panic pause the event says "pause", STOP follows, query-status says
paused, and quit ends the VM. panic=0 keeps the kernel from rebooting
after the panic, so nothing but our device ends the run."""
import json
import os
import re
import shlex

from guest import ROOT, sections

SMPVISOR = os.path.join(ROOT, "build", "smpvisor")


def script(kernel, initrd, sock, on_panic):
    sv, s = shlex.quote(SMPVISOR), shlex.quote(sock)
    run = shlex.join([SMPVISOR, "run", "--kernel", kernel, "--initrd", initrd,
                      "--cpus", "2", "--memory", "256M", "--api-socket", sock,
                      "--on-panic", on_panic,
                      "--cmdline", "console=ttyS0 panic=0 agent.report=0 "
                                   "agent.sleep=2 agent.panic=1"])
    pause = on_panic == "pause"
    # The event listener connects as soon as the socket exists, long before
    # the guest (booting, then sleeping 2 s) panics.
    return f"""
rm -f {s}
{run} >/tmp/panic-vm.out 2>/tmp/panic-vm.err &
P=$!
n=0; until [ -S {s} ] || [ $n -ge 400 ]; do sleep 0.05; n=$((n+1)); done
{sv} ctl --json --timeout 120 --wait-event GUEST_PANICKED {s} >/tmp/panic-ev.out 2>&1 &
W=$!
{sv} ctl --timeout 120 --wait-event STOP {s} >/tmp/panic-stop.out 2>&1 &
S=$!
wait $W; echo "=== event"; cat /tmp/panic-ev.out
{f'wait $S; echo "=== stop"; cat /tmp/panic-stop.out' if pause else 'kill $S 2>/dev/null'}
{f'echo "=== status"; {sv} ctl --timeout 30 {s} query-status; {sv} ctl --timeout 30 {s} quit' if pause else ''}
wait $P; rc=$?; echo "=== vm"; echo "rc=$rc"
echo "=== marks"; grep -a -e AGENT-PANIC -e "not syncing" /tmp/panic-vm.out
echo "=== console"; tail -c 4000 /tmp/panic-vm.out
echo "=== stderr"; cat /tmp/panic-vm.err
"""


def run_panic(kvmhost, test_guest, on_panic):
    kernel, initrd = test_guest
    r = kvmhost.run(script(kernel, initrd, f"/tmp/smpvisor-panic-{on_panic}.sock",
                           on_panic), timeout=300)
    parts = sections(r.out)
    why = r.out[-8000:] + r.err[-2000:]
    # The agent's AGENT-PANIC line may be torn by the kernel's messages.
    assert "not syncing: sysrq triggered crash" in parts.get("marks", ""), why
    ev = json.loads(parts["event"].strip().splitlines()[-1])
    assert ev["event"] == "GUEST_PANICKED", why
    assert ev["data"] == {"action": on_panic}, why
    assert "guest kernel panicked" in parts["stderr"], why
    return parts, why


def test_panic_exits_with_status_2(kvmhost, test_guest):
    parts, why = run_panic(kvmhost, test_guest, "exit")
    assert re.search(r"rc=2\b", parts["vm"]), why


def test_panic_pauses(kvmhost, test_guest):
    parts, why = run_panic(kvmhost, test_guest, "pause")
    assert "event STOP" in parts["stop"], why
    assert 'status: "paused"' in parts["status"], why
    assert re.search(r"rc=0\b", parts["vm"]), why
