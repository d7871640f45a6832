"""32-bit x2APIC IDs for a large guest (tests/kvm/x2apic.c), in the test host.

300 vCPUs as 2 sockets x 150 cores have APIC IDs 0..149 and 256..405. The
program builds them with smpvisor's own topology, CPUID and KVM code, and
every vCPU's payload switches to x2APIC mode and reports its x2APIC ID (MSR
0x802) and CPUID 0xb EDX; the BSP then sends an IPI to APIC ID 405 through
the x2APIC ICR. Setting up 300 vCPUs in the nested host takes minutes.
"""
import os

import pytest

import hosttest

X2APIC = os.path.join(hosttest.ROOT, "build", "tests", "kvm", "x2apic")


@pytest.mark.slow
def test_x2apic_300_vcpus(kvmhost):
    r = kvmhost.run(f"{X2APIC} --vcpus 300 --timeout 240", timeout=480)
    assert r.rc == 0, r.out + r.err
    assert ("x2apic: 300 vCPUs, APIC IDs 0..405, all match "
            "(x2APIC MSR and CPUID 0xB)") in r.out, r.out + r.err
    assert "to APIC ID 405 delivered" in r.out, r.out + r.err
