"""Confinement seen from a running VM (issue 15).

One guest in the nested test host with every kind of device: a raw disk
(virtio-blk on the I/O threads, the agent writes and checks its pattern),
a vhost-user-blk disk served by qemu-storage-daemon, virtio-net on a tap
(the agent pings and runs a TCP exchange), virtio-rng, and the control
API. While it runs, a prober in L1 drives the API (query-status, stop,
cont, query-stats) and reads /proc/PID/task/*/status of every thread:
each must show "Seccomp: 2" and "NoNewPrivs: 1"; with --user nobody
(smpvisor started as root), Uid and Gid are nobody's and CapEff, CapPrm
and CapBnd are 0. The guest then powers off and smpvisor exits 0: no
thread needed a call outside its class's list. The last case starts
smpvisor as nobody (no root at any point), in the group that owns
/dev/kvm, on a tap made for nobody, as README's "Running unprivileged"
says.
"""
import os
import re
import shlex

from test_vhost_user_blk import qsd
from test_virtio_net import check_traffic, net_script, run_net

from guest import ROOT

SMPVISOR = os.path.join(ROOT, "build", "smpvisor")
MB = 1 << 20


def prober(sock, out):
    """L1 shell: once the API answers, drive it and dump every thread."""
    sv, s = shlex.quote(SMPVISOR), shlex.quote(sock)
    ctl = f"{sv} ctl --timeout 60"
    return (f"(n=0; until [ -S {s} ] || [ $n -ge 600 ]; do sleep 0.2; n=$((n+1)); done; "
            f"sleep 4; {{ {ctl} {s} query-status; {ctl} {s} stop; {ctl} {s} cont; "
            f"{ctl} --json {s} query-stats >/dev/null; echo \"STATS-RC $?\"; "
            f"for t in /proc/$vmm/task/*; do "
            f"echo \"THREAD $(cat $t/comm | tr ' ' _) "
            f"$(awk '/^(Seccomp|NoNewPrivs|CapEff|CapPrm|CapBnd):/ {{printf \"%s%s \", $1, $2}}"
            f" /^(Uid|Gid):/ {{printf \"%s%s \", $1, $2}}' $t/status)\"; done; }} "
            f"> {out} 2>&1) &")


MAC = "02:11:22:33:44:66"


def sandbox_script(test_guest, user, vhost, unprivileged=False):
    """The L1 script; unprivileged: smpvisor started as nobody (setpriv)
    in a group that owns /dev/kvm, on a tap made for nobody."""
    img, qimg, vsock = "/tmp/smpv-sb.raw", "/tmp/smpv-sb.qcow2", "/tmp/smpv-sb-vu.sock"
    api, probe = "/tmp/smpv-sb-api.sock", "/tmp/smpv-sb-probe.txt"
    net = f"tap=smpvsb0,mac={MAC}" + (f",vhost={vhost}" if vhost else "")
    extra = ["--disk", img, "--disk", f"vhost-user={vsock}", "--api-socket", api, "-v",
             "--net", net]
    if user:
        extra += ["--user", user]
    script = net_script(test_guest, 31, "smpvsb0", extra, 2, True)
    script = script.replace("agent.sleep=15", "agent.sleep=15 agent.disk=vda,writeverify,seed=9")
    pre = [f"rm -f {img} {qimg} {vsock} {vsock}.pid {api} {probe}",
           f"truncate -s {16 * MB} {img} && qemu-img create -q -f qcow2 {qimg} {16 * MB}",
           qsd(qimg, vsock, vsock + ".pid", 2) + " || exit 92"]
    if user:
        # Only root may open it: smpvisor does so before it switches.
        pre.append(f"chmod 600 {img}")
    lines = script.splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.endswith("vmm=$!"))
    if unprivileged:
        # udev's job on Debian (the kvm group owns /dev/kvm, /dev/net/tun
        # is 0666), on a numeric group where the host has none; the tap,
        # the disk and the back end's socket are nobody's to use.
        pre += ["KG=$(getent group kvm | cut -d: -f3); KG=${KG:-65533}",
                "KVMWAS=$(stat -c '%g %a' /dev/kvm); TUNWAS=$(stat -c %a /dev/net/tun)",
                "chgrp $KG /dev/kvm && chmod 660 /dev/kvm && chmod 666 /dev/net/tun",
                f"chown 65534:65534 {img} && chmod 666 {vsock}"]
        lines = [ln.replace("mode tap ||", "mode tap user 65534 ||") for ln in lines]
        lines[at] = "setpriv --reuid=65534 --regid=65534 --groups=$KG " + lines[at]
    lines.insert(at + 1, prober(api, probe))
    lines = lines[:1] + pre + lines[1:]
    end = next(i for i, ln in enumerate(lines) if ln.startswith("wait $vmm"))
    post = (f"cat {probe}; kill $(cat {vsock}.pid) 2>/dev/null; "
            f"rm -f {img} {qimg}; [ -e {api} ] && echo API-SOCKET-LEFT")
    if unprivileged:
        post += ("; set -- $KVMWAS; chgrp $1 /dev/kvm; chmod $2 /dev/kvm; "
                 "chmod $TUNWAS /dev/net/tun")
    lines.insert(end + 2, post)
    return "\n".join(lines)


def threads(out):
    """{tid-ordered list of (comm, {field: value})} from the prober's lines."""
    rows = []
    for ln in out.splitlines():
        if not ln.startswith("THREAD "):
            continue
        parts = ln.split()
        fields = {}
        for p in parts[2:]:
            k, _, v = p.partition(":")
            fields[k] = v
        rows.append((parts[1], fields))
    return rows


def check_confined(b, user):
    rows = threads(b.out)
    names = [n for n, _ in rows]
    # Every class of thread was there: vCPUs, I/O threads, the UART's
    # drain thread, the vhost-user worker, the API, and main.
    assert any(n.startswith("vcpu") for n in names), names
    assert any(n.startswith("iothread") for n in names), names
    assert "api" in names and "uart-out" in names and "smpvisor" in names, names
    assert len(rows) >= 7, names
    for name, f in rows:
        assert f.get("Seccomp") == "2", (name, f, b.explain())
        assert f.get("NoNewPrivs") == "1", (name, f)
        assert f.get("CapEff") == "0000000000000000", (name, f)
        assert f.get("CapPrm") == "0000000000000000", (name, f)
        if user:
            assert f.get("Uid") == "65534" and f.get("Gid") == "65534", (name, f)
        if user == "nobody":
            # Only root could empty it (CAP_SETPCAP): a user start keeps it.
            assert f.get("CapBnd") == "0000000000000000", (name, f)
    assert "STATS-RC 0" in b.out, b.explain()
    # Removed at exit, by the user it was chowned to, inside Landlock.
    assert "API-SOCKET-LEFT" not in b.out, b.explain()
    assert re.search(r"sandbox: seccomp on, user (nobody|unchanged), Landlock on", b.err), b.err
    if user == "nobody (setpriv)":
        assert "no /dev/vhost-net: packets go through the I/O threads" in b.err, b.err


def check_guest(b):
    assert b.rc == 0, b.explain()
    check_traffic(b, MAC)
    disk = b.agent.get("DISK", {}).get("disk")
    assert disk and disk["errors"] == 0 and disk["io_errors"] == 0, b.explain()
    rep = b.report
    blk = [d for d in rep["virtio_devices"] if d["device_id"] == 2]
    assert len(blk) == 2, rep["virtio_devices"]
    assert any(d["device_id"] == 4 for d in rep["virtio_devices"]), rep["virtio_devices"]


def test_every_thread_confined(kvmhost, test_guest):
    """seccomp on (the default), as root, the net on the I/O threads:
    every thread filtered, no capability."""
    b = run_net(kvmhost, "smpvsb0", sandbox_script(test_guest, None, "off"))
    check_guest(b)
    check_confined(b, None)


def test_user_nobody(kvmhost, test_guest):
    """--user nobody, vhost-net: every thread is nobody's, the bounding
    set empty."""
    b = run_net(kvmhost, "smpvsb0", sandbox_script(test_guest, "nobody", "on"))
    check_guest(b)
    check_confined(b, "nobody")


def test_started_unprivileged(kvmhost, test_guest):
    """smpvisor started as nobody, in the group of /dev/kvm, on a tap made
    for nobody: the same guest boots, reads and writes, pings, powers
    off; vhost-net is root's here, so the rings stay on the I/O threads."""
    b = run_net(kvmhost, "smpvsb0", sandbox_script(test_guest, None, None, unprivileged=True))
    check_guest(b)
    check_confined(b, "nobody (setpriv)")
