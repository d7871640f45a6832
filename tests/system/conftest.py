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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call":
        item.call_failed = rep.failed


@pytest.fixture(autouse=True)
def no_leftover_vmms(request):
    """After a test that used the KVM host and failed (a timed-out boot,
    say), no VMM of it may still run there: a leftover guest would take CPU
    and memory from the next tests. Any found is killed and named on
    stderr. (Passing tests wait for their VMMs; checking after each of them
    would cost seconds per test in the nested host.)"""
    yield
    if "kvmhost" not in request.fixturenames or not getattr(request.node, "call_failed", False):
        return
    h = request.getfixturevalue("kvmhost")
    if h.direct or h.proc is None:
        return
    try:
        r = h.run("for p in $(pgrep -x smpvisor; pgrep -f '^qemu-system'); do "
                  "echo \"$p $(tr '\\0' ' ' < /proc/$p/cmdline | cut -c1-160)\"; "
                  "kill -KILL $p; done", timeout=60, retries=0)
    except hosttest.HostTestError:
        return
    if r.out.strip():
        print(f"\n[hosttest] {request.node.name} left VMMs running in L1 (killed):\n{r.out}",
              file=sys.stderr)
