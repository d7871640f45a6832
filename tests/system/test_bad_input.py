"""Bad input of every kind ends in one error line and exit status 1 (issue 13).

- Files that would block start-up (a FIFO as --kernel, --initrd, --config or
  --disk) and guest RAM the host can never provide are refused before
  /dev/kvm is touched, so those tests run directly on this machine.
- Every bad-input case of the system tests (test_boot, test_numa,
  test_virtio_blk, test_virtio_net, test_vhost_user_blk and this file) runs
  once more against the ASan/UBSan build (build/asan/smpvisor) where KVM is:
  stderr must still be exactly the one error line, so no leak report
  (LeakSanitizer runs at exit), no ASan or UBSan report, on any error path.
"""
import os
import re
import shlex
import subprocess

from guest import ROOT
from test_boot import bad_input_cases
from test_numa import bad_config_cases
from test_vhost_user_blk import bad_back_end_cases
from test_virtio_blk import bad_disk_cases
from test_virtio_net import bad_net_cases

SMPVISOR = os.path.join(ROOT, "build", "smpvisor")
ASAN_SMPVISOR = os.path.join(ROOT, "build", "asan", "smpvisor")
SCRATCH = os.path.join(ROOT, "build", "systest-scratch")


def host_mem_mib():
    """RAM plus swap of the machine a command runs on, in MiB (from a
    /proc/meminfo text)."""
    with open("/proc/meminfo") as f:
        text = f.read()
    kib = sum(int(re.search(rf"^{k}:\s+(\d+)", text, re.M).group(1))
              for k in ("MemTotal", "SwapTotal"))
    return kib // 1024


def scratch_file(name, data):
    os.makedirs(SCRATCH, exist_ok=True)
    path = os.path.join(SCRATCH, name)
    with open(path, "w") as f:
        f.write(data)
    return path


def new_cases(sv, fifo_dir, too_big_mib):
    """(command, words of the one error line) for the checks added by
    issue 13. The FIFOs are made by the commands themselves in fifo_dir
    (which must be writable where they run); `timeout` turns a hang into
    exit status 124."""
    sv = shlex.quote(sv)
    notbz = scratch_file("not-a-bzimage-small", "not a kernel\n" * 64)
    fifo = shlex.quote(os.path.join(fifo_dir, "smpv-fifo"))
    mk = f"rm -f {fifo}; mkfifo {fifo};"
    over = scratch_file("overcommit-off.json",
                        '{"kernel": "%s", "memory": {"size": "%dM", "overcommit": false}}'
                        % (notbz, too_big_mib))
    return [
        (f"{mk} timeout 20 {sv} run --kernel {fifo}", [fifo.strip("'"), "not a regular file"]),
        (f"{mk} timeout 20 {sv} run --config {fifo}", ["config", "not a regular file"]),
        (f"{mk} timeout 20 {sv} run --kernel {notbz} --initrd {fifo}",
         ["initrd", "not a regular file"]),
        (f"{mk} timeout 20 {sv} run --kernel {notbz} --disk {fifo}",
         ["disk", "not a regular file or block device"]),
        (f"{mk} timeout 20 {sv} run --kernel {notbz} --disk {fifo},ro",
         ["disk", "not a regular file or block device"]),
        (f"timeout 20 {sv} run --kernel /dev/zero", ["/dev/zero", "not a regular file"]),
        (f"timeout 20 {sv} run --kernel {notbz} --memory {too_big_mib}M",
         [f"{too_big_mib} MiB of guest RAM", "overcommit"]),
        (f"timeout 20 {sv} run --config {over}", ["overcommit"]),
    ]


def fails_cleanly(cmd, rc, err, words):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 1, f"{cmd}: rc={rc}\n{err}"
    assert len(lines) == 1, f"{cmd}:\n{err}"
    for w in words:
        assert w in lines[0], f"{cmd}: {lines[0]}"


def test_blocking_files_and_huge_memory_fail_fast(tmp_path):
    """Directly here, no KVM needed: none of these may hang or start."""
    too_big = host_mem_mib() + 1024
    for cmd, words in new_cases(SMPVISOR, str(tmp_path), too_big):
        r = subprocess.run(["/bin/sh", "-c", cmd], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        fails_cleanly(cmd, r.returncode, r.stderr, words)


def test_overcommit_lets_huge_memory_through():
    """memory.overcommit: the size check is skipped; the run fails later
    (no /dev/kvm here, or the kernel is not a bzImage), not on memory."""
    notbz = scratch_file("not-a-bzimage-small", "not a kernel\n" * 64)
    cfg = scratch_file("overcommit.json",
                       '{"kernel": "%s", "memory": {"size": "%dM", "overcommit": true}}'
                       % (notbz, host_mem_mib() + 1024))
    r = subprocess.run([SMPVISOR, "run", "--config", cfg], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=60)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 1 and len(lines) == 1, r.stderr
    assert "overcommit" not in lines[0] and "MiB of guest RAM" not in lines[0], lines[0]
    assert "/dev/kvm" in lines[0] or "bzImage" in lines[0], lines[0]


def test_every_bad_input_under_asan(kvmhost, test_guest):
    """All bad-input cases against the ASan build, in one script on the
    KVM host: exit 1 and stderr exactly the one error line each."""
    subprocess.run(["make", "-s", "-j2", "SANITIZE=1", "build/asan/smpvisor"],
                   cwd=ROOT, check=True)
    sv = ASAN_SMPVISOR
    kernel, initrd = test_guest
    cases = (bad_input_cases(sv, kernel, initrd) + bad_disk_cases(sv, kernel) +
             bad_net_cases(sv, kernel) + bad_back_end_cases(sv, kernel) +
             bad_config_cases(sv, test_guest) +
             new_cases(sv, "/tmp", 16 << 20))
    script = ["export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0"]
    for n, (cmd, _) in enumerate(cases):
        script.append(f"echo '=== {n}'; ( {cmd} ) >/dev/null 2>/tmp/asan-err; "
                      f"echo \"rc=$?\"; cat /tmp/asan-err")
    r = kvmhost.run("\n".join(script), timeout=900)
    parts = dict(p.split("\n", 1) for p in r.out.split("=== ")[1:])
    for n, (cmd, words) in enumerate(cases):
        text = parts.get(str(n), "")
        m = re.match(r"rc=(\d+)\n", text)
        assert m, f"{cmd}: no result\n{r.out[-2000:]}\n{r.err[-2000:]}"
        err = text[m.end():]
        assert "Sanitizer" not in err and "runtime error" not in err, f"{cmd}:\n{err}"
        fails_cleanly(cmd, int(m.group(1)), err, words)
