"""Fixtures shared by the system tests.

`kvmhost` is where real KVM is: one nested L1 VM (4 CPUs, 4 GiB, 2 NUMA
nodes) booted once per session and reused by every test, or this machine
itself when its CPU has vmx/svm (see tests/hosttest/hosttest.py).
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hosttest"))

import guest  # noqa: E402
import hosttest  # noqa: E402


@pytest.fixture(scope="session")
def kvmhost():
    h = hosttest.Host(cpus=4, memory="4G", nodes=2)
    try:
        h.start()
    except hosttest.HostTestError as e:
        pytest.fail(f"nested test host did not start: {e}")
    if h.boot_seconds is not None:
        print(f"\n[hosttest] L1 booted in {h.boot_seconds:.1f}s", file=sys.stderr)
    yield h
    h.close()


@pytest.fixture(scope="session")
def test_guest():
    """(kernel, initrd) of the test guest, built once."""
    return guest.build_guest()
