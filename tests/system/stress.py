"""Boot several guests at once, round after round, smpvisor and QEMU
alternated, and count the guests that reach the agent and the ones that die
(issue 12). Used by test_stress.py and from the command line:

    python3 tests/system/stress.py [--guests 4] [--cpus 2] [--rounds 5]
                                   [--vmm smpvisor,qemu] [--append ARGS]

Each round is one command in the nested test host (or on this machine
with vmx/svm): N VMMs started together, each with its own console file, all
waited for; then each guest's outcome is printed as one line
`STRESS i rc=RC agent=0|1 fault=0|1` followed by its console when it did
not reach the agent.
"""
import argparse
import os
import re
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hosttest"))

from guest import ROOT, qemu_cmd  # noqa: E402

SMPVISOR = os.path.join(ROOT, "build", "smpvisor")
LINE = re.compile(r"^STRESS (\d+) rc=(-?\d+) agent=(\d) fault=(\d)$", re.M)


def vmm_cmd(vmm, kernel, initrd, cpus, memory, append):
    if vmm == "qemu":
        return qemu_cmd(kernel, initrd, cpus=cpus, memory=memory, append=append)
    return shlex.join([SMPVISOR, "run", "--kernel", kernel, "--initrd", initrd,
                       "--cpus", str(cpus), "--memory", memory,
                       "--cmdline", f"console=ttyS0 panic=-1 quiet {append}".strip()])


# KVM's trace events in L1, stopped by the first shutdown exit (SVM exit
# code 0x7f) so the dying vCPU's last exits and injections stay in the
# buffer; printed after a round in which a guest died.
TRACE_ON = """T=/sys/kernel/tracing
mountpoint -q $T || mount -t tracefs nodev $T
echo 0 >$T/tracing_on; echo >$T/trace; echo 32768 >$T/buffer_size_kb
for e in kvm_exit kvm_inj_exception kvm_inj_virq kvm_cr kvm_msr kvm_userspace_exit \
         kvm_apic_accept_irq kvm_pic_set_irq kvm_set_irq kvm_fpu kvm_pio kvm_mmio; do
  [ -d $T/events/kvm/$e ] && echo 1 >$T/events/kvm/$e/enable
done
echo 'traceoff if exit_reason == 127' >$T/events/kvm/kvm_exit/trigger
echo 1 >$T/tracing_on"""
TRACE_DUMP = """T=/sys/kernel/tracing
echo 0 >$T/tracing_on
echo '--- L1 trace, last events ---'; tail -n 3000 $T/trace
echo '!traceoff if exit_reason == 127' >$T/events/kvm/kvm_exit/trigger 2>/dev/null
echo 0 >$T/events/enable"""


def round_script(vmm, n, kernel, initrd, cpus=2, memory="256M", append="",
                 limit=150, trace=False):
    """Shell for one round: n guests started at once, then a line each."""
    cmd = vmm_cmd(vmm, kernel, initrd, cpus, memory, append)
    d = "/tmp/stress"
    lines = [f"rm -rf {d}; mkdir -p {d}"]
    if trace:
        lines.append(TRACE_ON)
    for i in range(n):
        lines.append(f"( timeout -s KILL {limit} {cmd} </dev/null >{d}/{i}.out 2>&1; "
                     f"echo $? >{d}/{i}.rc ) &")
    lines.append("wait")
    for i in range(n):
        lines.append(
            f"a=0; f=0; grep -q AGENT-START {d}/{i}.out && a=1; "
            f"grep -q -i 'triple fault' {d}/{i}.out && f=1; "
            f"echo \"STRESS {i} rc=$(cat {d}/{i}.rc) agent=$a fault=$f\"; "
            f"[ $a = 1 ] || {{ echo '--- console of guest {i} ---'; tail -n 60 {d}/{i}.out; }}")
    if trace:
        lines.append(f"grep -q -i 'triple fault' {d}/*.out && {{\n{TRACE_DUMP}\n}}")
    return "\n".join(lines)


class Tally:
    def __init__(self):
        self.booted = self.died = self.faults = 0
        self.failures = []		# console excerpts of guests that died

    @property
    def total(self):
        return self.booted + self.died

    def __str__(self):
        return (f"{self.booted} of {self.total} reached the agent, {self.died} died "
                f"({self.faults} triple faults)")


def run_round(host, vmm, n, kernel, initrd, tally, **kw):
    res = host.run(round_script(vmm, n, kernel, initrd, **kw), timeout=kw.get("limit", 150) + 90)
    seen = LINE.findall(res.out)
    for _i, _rc, agent, fault in seen:
        if agent == "1":
            tally.booted += 1
        else:
            tally.died += 1
            tally.faults += fault == "1"
    if len(seen) < n:		# the round itself did not finish
        tally.died += n - len(seen)
    if len(seen) < n or any(a == "0" for _i, _rc, a, _f in seen):
        tally.failures.append(f"[{vmm}] rc={res.rc}\n{res.out[-6000:]}\n{res.err[-2000:]}")
    return res


def stress(host, kernel, initrd, guests, rounds, vmms=("smpvisor", "qemu"), log=None, **kw):
    """Alternate rounds of each VMM; {vmm: Tally}."""
    tallies = {v: Tally() for v in vmms}
    for r in range(rounds):
        for v in vmms:
            run_round(host, v, guests, kernel, initrd, tallies[v], **kw)
            if log:
                log(f"round {r + 1}/{rounds} {v}: {tallies[v]}")
    return tallies


def main(argv=None):
    import guest
    import hosttest

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--guests", type=int, default=4)
    ap.add_argument("--cpus", type=int, default=2, help="vCPUs per guest")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--memory", default="256M")
    ap.add_argument("--vmm", default="smpvisor,qemu")
    ap.add_argument("--append", default="", help="more kernel command line")
    ap.add_argument("--l1-cpus", type=int, default=4)
    ap.add_argument("--trace", action="store_true",
                    help="KVM trace events in L1, printed when a guest triple-faults")
    ap.add_argument("-v", "--verbose", action="store_true", help="print dead guests' consoles")
    a = ap.parse_args(argv)
    kernel, initrd = guest.build_guest()
    with hosttest.Host(cpus=a.l1_cpus, memory="4G", nodes=2) as h:
        t = stress(h, kernel, initrd, a.guests, a.rounds, a.vmm.split(","),
                   log=lambda m: print(m, flush=True), cpus=a.cpus, memory=a.memory,
                   append=a.append, trace=a.trace)
    for v, tl in t.items():
        print(f"{v}: {tl}")
        if a.verbose:
            for f in tl.failures:
                print(f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
