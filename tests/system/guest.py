"""Helpers for system tests: build the test guest, boot it, read the agent.

The test guest (tests/guest/) is a Debian cloud kernel plus an initramfs whose
PID 1 is our agent; it prints `AGENT-<KIND> {json}` lines on the serial
console. These helpers run a VMM (QEMU as the reference, or smpvisor) with it
through the nested test host and parse those lines.
"""
import os
import shlex
import subprocess

from agentlines import parse_agent

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GUEST_DIR = os.path.join(ROOT, "build", "guest")


def sections(out):
    """A test script's output cut into its parts, each started by a line
    '=== NAME': {NAME: the lines that follow, up to the next part}."""
    parts = {}
    for chunk in out.split("=== ")[1:]:
        name, _, body = chunk.partition("\n")
        parts[name.strip()] = body
    return parts


def build_guest():
    """Build (or reuse) the test guest; return (kernel, initrd) paths."""
    subprocess.run([os.path.join(ROOT, "tests", "guest", "build.sh"), "--out", GUEST_DIR],
                   check=True, stdout=subprocess.DEVNULL)
    return os.path.join(GUEST_DIR, "vmlinuz"), os.path.join(GUEST_DIR, "initrd.img")


class Boot:
    """One finished guest boot: VMM exit status, console output, agent lines."""

    def __init__(self, res, cmd):
        self.rc, self.out, self.err, self.seconds = res.rc, res.out, res.err, res.seconds
        self.cmd = cmd
        self.agent = parse_agent(res.out)

    @property
    def report(self):
        return self.agent.get("REPORT")

    def explain(self):
        """Everything a failing assertion should show: command and console."""
        tail = "\n".join(self.out.splitlines()[-80:])
        return (f"command: {self.cmd}\nexit status {self.rc} after {self.seconds:.1f}s\n"
                f"--- guest console (last 80 lines) ---\n{tail}\n--- stderr ---\n{self.err[-3000:]}")


def qemu_cmd(kernel, initrd, cpus=1, memory="256M", append="", nodes=0, extra=()):
    """The reference VMM: QEMU with KVM, same kernel and initramfs as ours."""
    cmd = ["qemu-system-x86_64", "-accel", "kvm", "-cpu", "host", "-M", "pc",
           "-smp", str(cpus), "-m", memory, "-nographic", "-no-reboot",
           "-kernel", kernel, "-initrd", initrd,
           "-append", f"console=ttyS0 panic=-1 quiet {append}".strip()]
    if nodes:
        mem_mb = int(memory.rstrip("M")) if memory.endswith("M") else int(memory.rstrip("G")) * 1024
        per = cpus // nodes
        for i in range(nodes):
            cmd += ["-object", f"memory-backend-ram,id=m{i},size={mem_mb // nodes}M",
                    "-numa", f"node,nodeid={i},cpus={i * per}-{(i + 1) * per - 1},memdev=m{i}"]
    return shlex.join(list(cmd) + list(extra))


def boot(host, cmd, timeout=240, setup=None, after=None):
    """Run a VMM command line on the test host and wrap the result.

    setup (shell, run first; its failure ends the command with status 98)
    and after (shell, run once the VMM exits, its output appended to the
    console) go in the same command as the VMM: files they make or check in
    L1's /tmp survive a retry on a fresh L1, which loses what an earlier
    command left there. The exit status is the VMM's."""
    script = cmd
    if setup or after:
        # cmd in a subshell: an `exit` in it must not skip after.
        script = "\n".join([f"{{ {setup}\n}} || exit 98" if setup else ":",
                            f"(\n{cmd}\n)", "rc=$?", after or ":", "exit $rc"])
    return Boot(host.run(script, timeout=timeout), cmd)
