"""virtio-blk over virtio-pci with MSI-X, served from I/O threads (issue 5).

Each test boots the test guest under build/smpvisor in the nested test host
with a raw image in L1's /tmp and checks what the guest agent reports: the
PCI function and its MSI-X vectors, one blk-mq queue per vCPU, and the
agent's O_DIRECT data pattern (tests/guest/agent/disk.c) written by every vCPU,
found byte for byte in the image after poweroff (blkpattern.py recomputes
it), read back on a second boot, and refused on a read-only disk."""
import json
import os
import shlex

import pytest

import blkpattern
from guest import ROOT, boot

SMPVISOR = os.path.join(ROOT, "build", "smpvisor")
SCRATCH = os.path.join(ROOT, "build", "systest-scratch")
SIZE = 32 << 20
SEED = 7
VIRTIO_BLK_PCI = 0x1042
VIRTIO_VENDOR = 0x1af4


def run_cmd(kernel, initrd, cpus, append, extra):
    cmd = [SMPVISOR, "run", "--kernel", kernel, "--initrd", initrd,
           "--cpus", str(cpus), "--memory", "384M",
           # loglevel=1: no kernel message (an RCU stall warning under
           # the nested host's slow CPUs) may split the agent's JSON.
           "--cmdline", f"console=ttyS0 panic=-1 loglevel=1 {append}"]
    return shlex.join(cmd + list(extra))


def pattern_image(size=SIZE, seed=SEED):
    return blkpattern.image(size, seed)


def blk_pci(rep):
    devs = [d for d in rep["pci_devices"]
            if d["vendor"] == VIRTIO_VENDOR and d["device"] == VIRTIO_BLK_PCI]
    assert len(devs) == 1, rep["pci_devices"]
    return devs[0]


def test_found_and_pattern_written(kvmhost, test_guest):
    """4 vCPUs: 4 queues with a vector each, and the pattern lands intact."""
    img = "/tmp/smpv-blk-write.img"
    b = boot(kvmhost, run_cmd(*test_guest, 4, f"agent.disk=vda,write,seed={SEED}",
                              ["--disk", img]), timeout=400,
             setup=f"rm -f {img} && truncate -s {SIZE} {img}",
             after=f"{blkpattern.sha256_line(img, 'IMAGE-SHA256')}; rm -f {img}")
    assert b.rc == 0, b.explain()
    rep = b.report
    assert rep, b.explain()
    virtio = [d for d in rep["virtio_devices"] if d["device_id"] == 2]
    assert len(virtio) == 1 and virtio[0]["driver"] == "virtio_blk", rep["virtio_devices"]
    pci = blk_pci(rep)
    assert pci["driver"] == "virtio-pci"
    assert virtio[0]["parent"] == pci["addr"]
    # One MSI-X vector per queue plus the config vector.
    assert pci["msi_irqs"] == 4 + 1, pci
    vda = [d for d in rep["block_devices"] if d["name"] == "vda"]
    assert vda and vda[0]["nr_queues"] == 4, rep["block_devices"]
    assert vda[0]["size_bytes"] == SIZE and not vda[0]["ro"]
    disk = b.agent.get("DISK", {}).get("disk")
    assert disk, b.explain()
    assert disk["threads"] == 4 and disk["bytes"] == SIZE, disk
    assert disk["errors"] == 0 and disk["io_errors"] == 0, disk
    # After poweroff the image holds exactly the pattern.
    assert blkpattern.sha256_from(b, "IMAGE-SHA256") == blkpattern.digest(SIZE, SEED), b.explain()


def test_second_boot_reads_pattern(kvmhost, test_guest):
    """An image with the pattern (written on the host) verifies in the guest."""
    src = pattern_image()
    img = "/tmp/smpv-blk-verify.img"
    b = boot(kvmhost, run_cmd(*test_guest, 2, f"agent.disk=vda,verify,seed={SEED}",
                              ["--disk", f"{img},queues=2,serial=verify-me"]), timeout=400,
             setup=f"cp {shlex.quote(src)} {img}", after=f"rm -f {img}")
    assert b.rc == 0, b.explain()
    disk = b.agent.get("DISK", {}).get("disk")
    assert disk and disk["mode"] == "verify", b.explain()
    assert disk["errors"] == 0 and disk["io_errors"] == 0, disk
    assert disk["bytes"] == SIZE


def test_readonly_disk_refuses_writes(kvmhost, test_guest):
    """A read-only disk (from the JSON config) rejects writes, reads fine."""
    src = pattern_image()
    img = "/tmp/smpv-blk-ro.img"
    cfg = os.path.join(SCRATCH, "blk-ro.json")
    with open(cfg, "w") as f:
        json.dump({"disks": [{"path": img, "readonly": True, "queues": 2,
                              "serial": "ro-disk"}]}, f)
    b = boot(kvmhost, run_cmd(*test_guest, 2, f"agent.disk=vda,writeverify,seed={SEED}",
                              ["--config", cfg]), timeout=400,
             setup=f"cp {shlex.quote(src)} {img} && {blkpattern.sha256_line(img, 'BEFORE-SHA256')}",
             after=f"{blkpattern.sha256_line(img, 'AFTER-SHA256')}; rm -f {img}")
    assert b.rc == 0, b.explain()
    vda = [d for d in b.report["block_devices"] if d["name"] == "vda"]
    assert vda and vda[0]["ro"] and vda[0]["nr_queues"] == 2, b.report["block_devices"]
    # The guest kernel may open it for writing, but every write fails
    # (EIO from the device, or EROFS at open); every block stays bad.
    wr = [ln for ln in b.out.splitlines() if '"mode":"write"' in ln]
    assert wr, b.explain()
    w = json.loads(wr[0][wr[0].index("{"):])["disk"]
    assert w["errors"] == SIZE // 4096, w
    assert w["io_errors"] > 0 or w["error"], w
    # Reading works and finds the old pattern, untouched.
    disk = b.agent.get("DISK", {}).get("disk")
    assert disk and disk["mode"] == "verify", b.explain()
    assert disk["errors"] == 0 and disk["io_errors"] == 0, disk
    before = blkpattern.sha256_from(b, "BEFORE-SHA256")
    assert before == blkpattern.digest(SIZE, SEED), b.explain()
    assert blkpattern.sha256_from(b, "AFTER-SHA256") == before, b.explain()


def bad_disk_cases(sv, kernel):
    """(command, words of the one error line) for each bad --disk."""
    sv, k = shlex.quote(sv), shlex.quote(kernel)
    return [
        (f"{sv} run --kernel {k} --disk /nonexistent/disk.img", ["/nonexistent/disk.img"]),
        (f"{sv} run --kernel {k} --disk /tmp/x.img,colour=blue", ["--disk", "colour"]),
        (f"{sv} run --kernel {k} --disk /tmp/x.img,queues=0", ["queues"]),
        (f"{sv} run --kernel {k} --disk /tmp/x.img,iothread=3", ["iothread 3"]),
    ]


def test_bad_disk_options(kvmhost, test_guest):
    for cmd, words in bad_disk_cases(SMPVISOR, test_guest[0]):
        r = kvmhost.run(cmd, timeout=60)
        lines = [ln for ln in r.err.splitlines() if ln.strip()]
        assert r.rc == 1, f"{cmd}: rc={r.rc}\n{r.err}"
        assert len(lines) == 1, r.err
        for w in words:
            assert w in lines[0], lines[0]
