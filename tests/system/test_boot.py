"""smpvisor boots the Debian cloud kernel on N vCPUs (issue 3).

Each test boots the test guest under build/smpvisor where real KVM is (the
nested test host here) and checks what the guest agent reports, how the VMM
exits, and that bad input gets a one-line error and exit status 1."""
import os
import shlex

import pytest

from guest import ROOT, boot

SMPVISOR = os.path.join(ROOT, "build", "smpvisor")


def smpvisor_cmd(kernel, initrd, cpus=1, memory="256M", append="", extra=()):
    cmd = [SMPVISOR, "run", "--kernel", kernel, "--initrd", initrd,
           "--cpus", str(cpus), "--memory", memory,
           "--cmdline", f"console=ttyS0 panic=-1 {append}".strip()]
    return shlex.join(cmd + list(extra))


@pytest.mark.parametrize("cpus", [1, 2, 4])
def test_boots_to_agent_with_n_vcpus(kvmhost, test_guest, cpus):
    b = boot(kvmhost, smpvisor_cmd(*test_guest, cpus=cpus, append="quiet"))
    assert b.rc == 0, b.explain()
    rep = b.report
    assert rep, b.explain()
    assert rep["online_cpus"] == cpus, b.explain()
    apic = [c["apic_id"] for c in rep["cpus"]]
    assert len(set(apic)) == cpus, b.explain()
    assert b.agent.get("END") == "poweroff"


def test_serial_output_reaches_stdout(kvmhost, test_guest):
    b = boot(kvmhost, smpvisor_cmd(*test_guest, append="agent.report=0"))
    assert b.rc == 0, b.explain()
    assert "Linux version" in b.out, b.explain()
    assert "AGENT-START" in b.out


def test_guest_reboot_ends_vm(kvmhost, test_guest):
    b = boot(kvmhost, smpvisor_cmd(*test_guest, cpus=2, append="quiet agent.end=reboot"),
             timeout=180)
    assert b.rc == 0, b.explain()
    assert b.agent.get("END") == "reboot"
    # Ended by the reset, not by a timeout: no second boot on the console.
    assert b.out.count("AGENT-START") == 1, b.explain()


def _fails_cleanly(r, *words):
    lines = [ln for ln in r.err.splitlines() if ln.strip()]
    assert r.rc == 1, f"rc={r.rc}\n{r.out}\n{r.err}"
    assert len(lines) == 1, r.err
    for w in words:
        assert w in lines[0], lines[0]
    assert "core dumped" not in r.err.lower()


def bad_input_cases(sv, kernel, initrd):
    """(command, words of the one error line) for each bad input; sv is
    the smpvisor binary (test_bad_input.py runs them under ASan too)."""
    # Scratch files must be where the test host can read them: the job dir
    # is shared read-write, the build tree read-only. Use the build tree.
    scratch = os.path.join(ROOT, "build", "systest-scratch")
    os.makedirs(scratch, exist_ok=True)
    notbz = os.path.join(scratch, "not-a-bzimage")
    with open(notbz, "wb") as f:
        f.write(os.urandom(8192))
    big = os.path.join(scratch, "big-initrd")
    with open(big, "wb") as f:
        f.truncate(300 << 20)
    bad_json = os.path.join(scratch, "bad.json")
    with open(bad_json, "w") as f:
        f.write('{"cpus": 2,, }')
    unknown = os.path.join(scratch, "unknown.json")
    with open(unknown, "w") as f:
        f.write('{"kernel": "%s", "cpus": 2, "colour": "blue"}' % kernel)
    sv = shlex.quote(sv)
    k, i = shlex.quote(kernel), shlex.quote(initrd)
    return [
        (f"{sv} run --kernel /nonexistent/vmlinuz", ["/nonexistent/vmlinuz"]),
        (f"{sv} run --kernel {notbz}", ["not a bzImage"]),
        (f"{sv} run --kernel {k} --initrd {big} --memory 128M", ["initrd"]),
        (f"{sv} run --kernel {k} --memory 16M", ["memory"]),
        (f"{sv} run --kernel {k} --cpus 0", ["--cpus 0"]),
        (f"{sv} run --kernel {k} --cpus 5000", ["KVM allows at most"]),
        (f"{sv} run --config {bad_json}", [bad_json]),
        (f"{sv} run --config {unknown}", ["colour"]),
        (f"{sv} run --config /nonexistent.json", ["/nonexistent.json"]),
        (f"{sv} run --kernel {k} --memory lots", ["lots"]),
        (f"setpriv --reuid=65534 --regid=65534 --clear-groups {sv} run --kernel {k}",
         ["/dev/kvm"]),
        # More RAM than any host has, without "overcommit".
        (f"{sv} run --kernel {notbz} --memory 16T", ["16777216 MiB", "overcommit"]),
    ]


def test_bad_input(kvmhost, test_guest):
    for cmd, words in bad_input_cases(SMPVISOR, *test_guest):
        r = kvmhost.run(cmd, timeout=60)
        _fails_cleanly(r, *words)
