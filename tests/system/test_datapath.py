"""No data-path work on vCPU threads (issue 5).

The guest reads a 64 MiB disk with O_DIRECT from 2 vCPUs (the agent's
pattern verify: 256 KiB reads, 256 requests). smpvisor -v prints, after the
guest is gone, each vCPU's exits to user space (port I/O and MMIO) and
each virtio device's counters: kicks its I/O threads served, register
accesses that exited to user space, and queue notifies that reached user
space instead of the ioeventfd. The read must leave the vCPUs' MMIO exits
at what a boot without any disk reading costs (a few hundred set-up
accesses), with zero notifies through user space, while the I/O threads
served the kicks (fewer than requests: EVENT_IDX lets a busy queue go
without them): every notify stayed in the kernel (ioeventfd)
and every request was handled off the vCPU threads."""
import json
import os
import re
import shlex

from guest import ROOT, boot
from test_virtio_blk import pattern_image

SMPVISOR = os.path.join(ROOT, "build", "smpvisor")
SIZE = 64 << 20
SEED = 5


def stats(err):
    vcpus = {int(m.group(1)): (int(m.group(2)), int(m.group(3)), int(m.group(4)))
             for m in re.finditer(r"vcpu (\d+): stats: (\d+) exits to user space "
                                  r"\((\d+) port I/O, (\d+) MMIO\)", err)}
    devs = {m.group(1): tuple(int(m.group(i)) for i in range(2, 6))
            for m in re.finditer(r"(\S+): stats: (\d+) kicks served, (\d+) interrupts, "
                                 r"(\d+) register exits to user space, (\d+) notifies "
                                 r"through user space", err)}
    return vcpus, devs


def run(kvmhost, test_guest, img, append, setup, after=None):
    kernel, initrd = test_guest
    cmd = shlex.join([SMPVISOR, "run", "-v", "--kernel", kernel, "--initrd", initrd,
                      "--cpus", "2", "--memory", "384M", "--disk", f"{img},queues=2",
                      "--cmdline", f"console=ttyS0 panic=-1 loglevel=1 {append}"])
    b = boot(kvmhost, cmd, timeout=500, setup=setup, after=after)
    assert b.rc == 0, b.explain()
    return b, stats(b.err)


def test_large_read_takes_no_user_space_exits(kvmhost, test_guest):
    src = pattern_image(SIZE, SEED)
    img = "/tmp/smpv-datapath.img"
    # Each boot copies the image if L1 lacks it (a fresh L1 after a wedge).
    setup = f"test -f {img} || cp {shlex.quote(src)} {img}"
    # The same guest with the disk present but not read: the baseline.
    _, (idle_vcpus, idle_devs) = run(kvmhost, test_guest, img, "", setup)
    b, (vcpus, devs) = run(kvmhost, test_guest, img,
                           f"agent.disk=vda,verify,seed={SEED}", setup, f"rm -f {img}")
    disk = b.agent.get("DISK", {}).get("disk")
    assert disk and disk["errors"] == 0 and disk["bytes"] == SIZE, b.explain()
    assert sorted(vcpus) == [0, 1] and sorted(idle_vcpus) == [0, 1], b.err
    kicks, irqs, reg_exits, slow = devs["virtio-blk0"]
    idle_kicks, _, idle_reg, _ = idle_devs["virtio-blk0"]
    print(f"\nread {SIZE >> 20} MiB: {kicks} kicks served by the I/O threads "
          f"({idle_kicks} idle), {irqs} interrupts, {reg_exits} register exits "
          f"({idle_reg} idle), {slow} notifies through user space; vCPU MMIO exits "
          f"{[vcpus[i][2] for i in (0, 1)]} (idle {[idle_vcpus[i][2] for i in (0, 1)]})")
    # The requests went through the I/O threads...
    assert kicks - idle_kicks >= 32, (devs, idle_devs)
    # ...not one notify reached user space, and the registers were only
    # touched by set-up: as often as in the boot that read nothing.
    assert slow == 0, devs
    assert reg_exits <= idle_reg + 16, (devs, idle_devs)
    mmio = sum(v[2] for v in vcpus.values())
    idle_mmio = sum(v[2] for v in idle_vcpus.values())
    assert mmio <= idle_mmio + 64, (vcpus, idle_vcpus)


def test_hostile_guest_gets_device_errors(kvmhost, test_guest):
    """A guest that drives virtio-blk itself (the agent unbinds the driver,
    maps BAR 4, builds rings in its own pages) and submits a descriptor
    loop, a buffer outside RAM and a length past the end of RAM: each time
    the device says NEEDS_RESET, smpvisor keeps running (no crash, the
    guest powers off normally) and after a reset a good read works. A
    client of the control API hears of it: a DEVICE_ERROR event naming
    the disk and the reason."""
    kernel, initrd = test_guest
    img, sock, ev = "/tmp/smpv-hostile.img", "/tmp/smpv-hostile.sock", "/tmp/smpv-hostile.ev"
    vmm = shlex.join([SMPVISOR, "run", "--kernel", kernel, "--initrd", initrd,
                      "--cpus", "1", "--memory", "256M", "--disk", f"{img},queues=1",
                      "--api-socket", sock,
                      "--cmdline", "console=ttyS0 panic=-1 loglevel=1 agent.hostile=blk"])
    listen = shlex.join([SMPVISOR, "ctl", "--json", "--wait-event", "DEVICE_ERROR",
                         "--timeout", "300", sock])
    cmd = (f"rm -f {sock} {ev}; {vmm} & P=$!\n"
           f"n=0; until [ -S {sock} ] || [ $n -ge 300 ]; do sleep 0.1; n=$((n+1)); done\n"
           f"{listen} > {ev} 2>&1 &\n"
           f"wait $P; rc=$?; wait\n"
           f"sed 's/^/DEVEVENT /' {ev}; exit $rc")
    b = boot(kvmhost, cmd, timeout=400, setup=f"rm -f {img} && truncate -s 1M {img}",
             after=f"rm -f {img} {ev}")
    assert b.rc == 0, b.explain()
    h = b.agent.get("HOSTILE", {}).get("hostile")
    assert h, b.explain()
    assert h["error"] is None, h
    assert h["loop_needs_reset"] and h["outside_needs_reset"] and h["oversize_needs_reset"], h
    assert h["good_read_status"] == 0, h
    assert "needs reset" in b.err, b.err
    events = [e for e in (json.loads(ln.split(" ", 1)[1]) for ln in b.out.splitlines()
                          if ln.startswith("DEVEVENT {")) if "event" in e]
    assert events and events[0]["event"] == "DEVICE_ERROR", b.explain()
    assert events[0]["data"]["device"] == "virtio-blk0", events
    assert events[0]["data"]["reason"], events
