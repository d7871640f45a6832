"""The nested test host itself: real KVM, NUMA layout, exit status, timeouts,
and no QEMU left behind when the test runner is killed."""
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import hosttest


def test_l1_has_kvm_and_two_nodes(kvmhost):
    r = kvmhost.run("test -c /dev/kvm && echo kvm; cat /sys/devices/system/node/online; nproc")
    assert r.rc == 0, r.err
    lines = r.out.split()
    assert lines[0] == "kvm"
    if not kvmhost.direct:
        assert lines[1] == "0-1"
        assert lines[2] == "4"


def test_output_and_status_come_back(kvmhost):
    r = kvmhost.run("echo out; echo err >&2; exit 7")
    assert (r.rc, r.out, r.err) == (7, "out\n", "err\n")


def test_runs_in_repo_root_with_build_tree_visible(kvmhost):
    r = kvmhost.run("pwd; test -f Makefile && echo here")
    assert r.out.split() == [hosttest.ROOT, "here"]


def test_timeout_kills_command_and_host_stays_usable(kvmhost):
    r = kvmhost.run("sleep 30", timeout=2)
    assert r.rc == 124
    assert kvmhost.run("echo alive").out == "alive\n"


def _qemu_with(marker):
    ps = subprocess.run(["ps", "-eo", "pid,args"], stdout=subprocess.PIPE, text=True).stdout
    return [line for line in ps.splitlines() if "qemu-system" in line and marker in line]


def test_killed_runner_leaves_no_qemu(tmp_path):
    if hosttest.has_hw_virt():
        pytest.skip("vmx/svm and /dev/kvm here: commands run directly, no nested L1 to leak")
    script = os.path.join(os.path.dirname(hosttest.__file__), "hosttest.py")
    jobs = os.path.join(hosttest.HOSTTEST, "jobs")
    before = set(os.listdir(jobs)) if os.path.isdir(jobs) else set()
    p = subprocess.Popen([sys.executable, script, "run", "--nodes", "1", "--cpus", "1",
                          "--memory", "512M", "--", "sleep", "600"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    job = None
    while time.monotonic() < deadline and not job:
        time.sleep(0.5)
        # Only the L1 this test started: the session's own L1 runs too.
        for d in set(os.listdir(jobs) if os.path.isdir(jobs) else []) - before:
            if _qemu_with(d) and os.path.exists(os.path.join(jobs, d, "ready")):
                job = d
    assert job, "L1 did not come up"
    p.send_signal(signal.SIGKILL)
    p.wait()
    deadline = time.monotonic() + 10
    while _qemu_with(job) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _qemu_with(job)


def test_wedge_is_told_from_the_console(tmp_path):
    """A timed-out command counts as a wedged L1 (and gets a fresh L1) only
    when L1's console reported a soft lockup or an RCU stall after the
    command started."""
    h = hosttest.Host(cpus=1, memory="512M", nodes=1)
    h.job = str(tmp_path)
    log = tmp_path / "serial.log"
    log.write_text("[ 12.0] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [x:1]\n")
    start = hosttest._size(str(log))
    assert not h._wedged_since(start)
    assert h._wedged_since(0)
    with open(log, "a") as f:
        f.write("[ 40.0] watchdog: BUG: soft lockup - CPU#0 stuck for 50s! [swapper/0:0]\n")
    assert h._wedged_since(start)
    start = hosttest._size(str(log))
    assert not h._wedged_since(start)
    with open(log, "a") as f:
        f.write("[ 90.0] rcu: INFO: rcu_preempt self-detected stall on CPU\n")
    assert h._wedged_since(start)
    h.job = None


def given_up_as_wedged(host, cmd, words):
    """run(cmd) without retries must raise HostTestError naming words
    within a minute, leave no L1 behind, and the next command gets a fresh
    L1 that answers."""
    t0 = time.monotonic()
    try:
        host.run(cmd, timeout=300, retries=0)
        raise AssertionError(f"{cmd} came back from a wedged L1")
    except hosttest.HostTestError as e:
        assert words in str(e), str(e)
    assert time.monotonic() - t0 < 60
    assert host.proc is None
    assert host.run("echo alive").out == "alive\n"


def test_frozen_l1_is_found_by_its_heartbeat(kvmhost):
    """An L1 that stops running altogether (here: QEMU stopped with
    SIGSTOP, as a wedged L1 looks from outside) is given up on once its
    heartbeat has been still for heartbeat_limit seconds, long before the
    command's own timeout."""
    if kvmhost.direct:
        pytest.skip("vmx/svm and /dev/kvm here: commands run directly, no L1 to freeze")
    kvmhost.start()
    limit, kvmhost.heartbeat_limit = kvmhost.heartbeat_limit, 15
    try:
        os.kill(kvmhost.proc.pid, signal.SIGSTOP)
        given_up_as_wedged(kvmhost, "echo never", "heartbeat stopped")
    finally:
        kvmhost.heartbeat_limit = limit


def test_command_outliving_a_stall_report_counts_as_a_wedge(kvmhost):
    """A command still running stall_grace seconds after L1's console
    reported an RCU stall is given up on as a wedged L1 (the heartbeat may
    go on: the stuck CPU is not the one running it)."""
    if kvmhost.direct:
        pytest.skip("vmx/svm and /dev/kvm here: commands run directly, no L1 console to stall")
    kvmhost.start()
    serial = os.path.join(kvmhost.job, "serial.log")
    grace, kvmhost.stall_grace = kvmhost.stall_grace, 5

    def report_stall():
        time.sleep(3)
        with open(serial, "a") as f:
            f.write("[ 99.0] rcu: INFO: rcu_preempt self-detected stall on CPU\n")
    t = threading.Thread(target=report_stall)
    t.start()
    try:
        given_up_as_wedged(kvmhost, "sleep 120", "soft lockup or RCU stall")
    finally:
        t.join()
        kvmhost.stall_grace = grace
