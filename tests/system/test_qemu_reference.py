"""Proof that the test guest reports what a VMM gives it, using the reference
VMM (Debian's QEMU with -accel kvm) in the nested test host. The same helpers
boot smpvisor in the boot tests."""
import pytest

from guest import boot, qemu_cmd


@pytest.mark.parametrize("cpus", [1, 2])
def test_qemu_guest_reports_cpus(kvmhost, test_guest, cpus):
    kernel, initrd = test_guest
    b = boot(kvmhost, qemu_cmd(kernel, initrd, cpus=cpus, memory="256M"))
    assert b.rc == 0, b.explain()
    rep = b.report
    assert rep, b.explain()
    assert rep["online_cpus"] == cpus, b.explain()
    apic = [c["apic_id"] for c in rep["cpus"]]
    assert len(set(apic)) == cpus
    assert b.agent.get("END") == "poweroff"


def test_qemu_guest_two_numa_nodes(kvmhost, test_guest):
    kernel, initrd = test_guest
    b = boot(kvmhost, qemu_cmd(kernel, initrd, cpus=2, memory="512M", nodes=2,
                               append="agent.pingpong=0,1,2000"))
    assert b.rc == 0, b.explain()
    nodes = b.report["numa_nodes"]
    assert [n["node"] for n in nodes] == [0, 1], b.explain()
    assert [n["cpus"] for n in nodes] == ["0", "1"]
    assert nodes[0]["distances"] == [10, 20] and nodes[1]["distances"] == [20, 10]
    assert all(n["mem_total_kb"] > 100 * 1024 for n in nodes)
    pp = b.agent["PINGPONG"]
    assert pp["median_ns"] > 0 and pp["max_ns"] >= pp["median_ns"] >= pp["min_ns"]
