"""Paravirtual features and dedicated-CPU mode (issue 4): the guest really
uses what "pv" leaves on, and each switch really takes it away.

Two kinds of evidence, both from one boot of the test guest (2 vCPUs):
- the guest's boot log (no `quiet`): Linux names PV TLB flush, PV sched
  yield, PV spinlocks and PV send-IPI when it sets them up, and kvm-clock
  when it registers it (the agent also reports the clocksource);
- smpvisor's exit report (`-v`): how many vCPUs the guest enabled
  kvmclock, steal time and PV EOI on, and took over idle polling on (poll
  control), read back from the vCPUs' KVM MSRs after the guest stopped;
  and KVM's halt_exits statistic, which dedicated mode must keep at 0.
Linux sets up PV TLB flush only with steal time, and none of TLB flush,
sched yield or spinlocks with KVM_HINTS_REALTIME (dedicated mode); the
haltpoll cpuidle driver, which uses poll control, only with that hint.
"""
import os
import re
import shlex

from guest import ROOT, boot
from test_numa import write_cfg

SMPVISOR = os.path.join(ROOT, "build", "smpvisor")

LOG = {
    "kvmclock": "kvm-clock: Using msrs",
    "pv_tlb_flush": "KVM setup pv remote TLB flush",
    "pv_sched_yield": "setup PV sched yield",
    "pv_spinlocks": "kvm-guest: PV spinlocks enabled",
    "pv_send_ipi": "kvm-guest: setup PV IPIs",
}
MSR = ["kvmclock", "steal_time", "pv_eoi", "poll_control"]
ALL = ["kvmclock", "pv_eoi", "pv_tlb_flush", "pv_sched_yield", "pv_spinlocks",
       "steal_time", "pv_send_ipi", "poll_control"]


def run(kvmhost, test_guest, name, prefix="", **keys):
    # No `quiet`: the boot log is half of the evidence.
    cfg = write_cfg(name, test_guest, cmdline="console=ttyS0 panic=-1", **keys)
    # The console goes to L1's tmpfs first: the UART writes byte by byte,
    # and each write to the job directory (9p) is a round trip to the host.
    # smpvisor gets its own, shorter limit so a guest that hangs still shows
    # its console in the failure.
    b = boot(kvmhost, f"{prefix} timeout -k 5 540 {SMPVISOR} run -v --config {shlex.quote(cfg)}"
             " >/tmp/pv.out 2>/tmp/pv.err; rc=$?; cat /tmp/pv.out; cat /tmp/pv.err >&2; exit $rc",
             timeout=600)
    assert b.rc == 0 and b.report, b.explain()
    m = re.search(r"pv: the guest enabled kvmclock on (\d+)/(\d+) vCPUs, steal_time on "
                  r"(\d+)/\d+, pv_eoi on (\d+)/\d+, poll_control on (\d+)/\d+", b.err)
    assert m, b.explain()
    nr = int(m.group(2))
    used = dict(zip(MSR, (int(m.group(i)) for i in (1, 3, 4, 5))))
    h = re.search(r"exits: the guest's HLT exits, all vCPUs: (\d+); KVM halt polls: (\d+)",
                  b.err)
    used["halt_exits"], used["halt_polls"] = (int(h.group(1)), int(h.group(2))) if h else (None,) * 2
    return b, nr, used


def check(b, nr, used, on, expect_log):
    for feat, line in LOG.items():
        assert (line in b.out) == expect_log[feat], f"{feat}: {line!r}\n{b.explain()}"
    for feat in MSR:
        want = nr if on[feat] else 0
        assert used[feat] == want, f"{feat}: {used}\n{b.explain()}"
    assert (b.report["clocksource"] == "kvm-clock") == on["kvmclock"], b.report["clocksource"]


def test_pv_features_used_and_each_switch_takes_one_away(kvmhost, test_guest):
    """All on; then two boots with half the switches off each (between
    them every switch is off once and on once)."""
    keys = {"cpus": 2, "memory": "256M"}
    b, nr, used = run(kvmhost, test_guest, "pv-all", **keys)
    on = dict.fromkeys(ALL, True)
    on["poll_control"] = False      # used by cpuidle-haltpoll only with the hint
    check(b, nr, used, on, dict.fromkeys(LOG, True))
    # An idle guest halts; without dedicated mode every HLT exits to KVM.
    assert used["halt_exits"], used

    for name, off in (("pv-off-a", ["kvmclock", "pv_tlb_flush", "pv_spinlocks", "pv_send_ipi"]),
                      ("pv-off-b", ["pv_eoi", "pv_sched_yield", "steal_time", "poll_control"])):
        b, nr, used = run(kvmhost, test_guest, name, pv=dict.fromkeys(off, False), **keys)
        on = {f: f not in off for f in ALL}
        on["poll_control"] = False
        log = {f: on[f] for f in LOG}
        log["pv_tlb_flush"] = on["pv_tlb_flush"] and on["steal_time"]
        check(b, nr, used, on, log)


def test_dedicated_mode_gives_the_guest_the_realtime_hint(kvmhost, test_guest):
    """Dedicated mode, 2 vCPUs pinned 1:1: the guest sees KVM_HINTS_REALTIME
    (no PV spinlocks, TLB flush or sched yield; haltpoll takes over idle
    polling through poll control on every vCPU)."""
    b, nr, used = run(kvmhost, test_guest, "dedicated",
                      cpus={"count": 2, "dedicated": True, "pin": {"0": "0", "1": "1"}},
                      memory="256M")
    assert "PV spinlocks disabled with KVM_HINTS_REALTIME hints" in b.out, b.explain()
    for feat in ("pv_tlb_flush", "pv_sched_yield", "pv_spinlocks"):
        assert LOG[feat] not in b.out, f"{feat}\n{b.explain()}"
    assert used["poll_control"] == nr == 2, used
    assert used["kvmclock"] == 2 and used["pv_eoi"] == 2, used
    # KVM_CAP_X86_DISABLE_EXITS took HLT exits away: KVM counted none.
    assert used["halt_exits"] == 0, used


def test_overcommitted_vcpus_get_no_halt_polling(kvmhost, test_guest):
    """3 vCPUs while smpvisor may use 1 host CPU (taskset): KVM halt
    polling is switched off for the VM (KVM_CAP_HALT_POLL 0), so KVM
    attempted no poll though the guest halted; "cpus.halt_poll_ns" given
    explicitly wins, and then KVM polls."""
    b, nr, used = run(kvmhost, test_guest, "overcommit", prefix="taskset -c 0",
                      cpus=3, memory="256M")
    assert "cpus: 3 vCPUs on 1 host CPUs: KVM halt polling off" in b.err, b.explain()
    assert used["halt_exits"] and used["halt_polls"] == 0, used

    b, nr, used = run(kvmhost, test_guest, "overcommit-poll", prefix="taskset -c 0",
                      cpus={"count": 3, "halt_poll_ns": 2000000}, memory="256M")
    assert "KVM halt polling off" not in b.err, b.explain()
    assert used["halt_exits"] and used["halt_polls"], used
