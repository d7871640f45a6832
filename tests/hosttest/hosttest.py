#!/usr/bin/python3
"""The nested test host: real KVM for tests on machines without VT-x/AMD-V.

On a CPU without vmx/svm, /dev/kvm cannot run a stock Linux guest. This module
boots an L1 Linux under QEMU's software CPU (TCG, `-cpu max`, which emulates
AMD SVM); L1 loads kvm-amd and so has a real /dev/kvm. The host's root file
system is shared read-only over 9p, so L1 runs this machine's own binaries
(the build tree, qemu, python) under chroot, at the same paths. A per-boot job
directory is shared read-write: the host drops numbered command scripts there,
L1's init runs them one after another and writes back their output and exit
status. One L1 boot serves any number of commands.

On a CPU with vmx or svm the same interface runs commands directly here.

Library use:
    with Host(cpus=4, memory="4G", nodes=2) as h:
        r = h.run("build/tests/kvm/smoke --vcpus 4", timeout=120)
        print(r.rc, r.out)

Command line (see --help):
    hosttest.py assets            build/cached the L1 kernel and initramfs
    hosttest.py run [opts] -- CMD run one or more commands in one L1 boot
"""

import argparse
import atexit
import ctypes
import glob
import hashlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
ASSETS = os.path.join(BUILD, "assets")
HOSTTEST = os.path.join(BUILD, "hosttest")

# Loaded with insmod in this order: the .deb ships no modules.dep.
L1_MODULES = [
    "virt/lib/irqbypass", "arch/x86/kvm/kvm", "drivers/crypto/ccp/ccp",
    "arch/x86/kvm/kvm-amd", "drivers/virtio/virtio_ring", "drivers/virtio/virtio",
    "drivers/virtio/virtio_pci_modern_dev", "drivers/virtio/virtio_pci_legacy_dev",
    "drivers/virtio/virtio_pci", "fs/netfs/netfs", "fs/fscache/fscache",
    "net/9p/9pnet", "net/9p/9pnet_virtio", "fs/9p/9p",
    # /dev/net/tun for virtio-net's tap backend (no module dependencies).
    "drivers/net/tun",
    # /dev/vhost-net (modinfo: vhost needs vhost_iotlb; vhost_net needs
    # vhost, tap and tun).
    "drivers/vhost/vhost_iotlb", "drivers/vhost/vhost", "drivers/net/tap",
    "drivers/vhost/vhost_net",
]

L1_INIT = r"""#!/bin/busybox sh
# L1 init: load KVM and 9p, share the host's root read-only at /host, then run
# the command scripts the host drops into the job directory, one at a time.
/bin/busybox mkdir -p /proc /sys /dev /host /tmp
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox --install -s /bin
export PATH=/bin
for m in $(cat /modules.list); do
	insmod /modules/$m.ko || echo "hosttest-l1: insmod $m failed"
done
job=$(sed -n 's/.*hosttest.job=\([^ ]*\).*/\1/p' /proc/cmdline)
opts=trans=virtio,version=9p2000.L,msize=262144
root=$(sed -n 's/.*hosttest.root=\([^ ]*\).*/\1/p' /proc/cmdline)
mount -t 9p -o $opts,ro hostroot /host || { echo "hosttest-l1: 9p mount failed"; poweroff -f; }
# L1 gets fresh tmpfs for /tmp, /run and /var/tmp. When the repository lives
# under one of them (a CI clone in /tmp), keep it visible: hold a bind mount
# of it, cover the directory with tmpfs, then bind the repository back.
mkdir -p /repo
mount --bind /host$root /repo
mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts /host/dev/shm 2>/dev/null
mount -t devpts devpts /host/dev/pts
mount -t tmpfs shm /host/dev/shm
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t tmpfs -o mode=1777 tmp /host/tmp
mount -t tmpfs run /host/run
mount -t tmpfs vartmp /host/var/tmp
[ -d /sys/kernel/mm/hugepages ] && mount -t hugetlbfs none /host/dev/hugepages 2>/dev/null
if [ ! -e /host$root/Makefile ]; then
	mkdir -p /host$root
	mount --bind /repo /host$root
fi
mount -t 9p -o $opts job /host$job || { echo "hosttest-l1: job mount failed"; poweroff -f; }
J=/host$job
echo "$(uname -r) $(nproc) $( [ -c /dev/kvm ] && echo kvm || echo nokvm)" > $J/ready.tmp
mv $J/ready.tmp $J/ready
# Heartbeat: a counter the host watches. When it stops moving, L1 has
# wedged (every CPU stuck under TCG) and the host need not wait out the
# command's whole timeout to boot a fresh one.
(b=0; while :; do b=$((b + 1)); echo $b > $J/beat.tmp; mv $J/beat.tmp $J/beat; sleep 5; done) &
n=0
while :; do
	if [ -e $J/quit ]; then break; fi
	if [ -e $J/cmd.$n ]; then
		to=$(cat $J/timeout.$n)
		chroot /host /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
			HOME=/tmp HOSTTEST_L1=1 TERM=dumb LANG=C.UTF-8 \
			/usr/bin/timeout -k 5 $to /bin/sh $job/cmd.$n \
			> $J/out.$n 2> $J/err.$n < /dev/null
		echo $? > $J/rc.$n.tmp
		mv $J/rc.$n.tmp $J/rc.$n
		n=$((n + 1))
	else
		sleep 0.05
	fi
done
sync
poweroff -f
"""


class HostTestError(Exception):
    pass


class Result:
    """A finished command: exit status, stdout and stderr (text)."""

    def __init__(self, rc, out, err, seconds):
        self.rc, self.out, self.err, self.seconds = rc, out, err, seconds

    def __repr__(self):
        return f"Result(rc={self.rc}, {self.seconds:.1f}s)"


def log(msg):
    print(f"hosttest: {msg}", file=sys.stderr, flush=True)


def has_hw_virt():
    """True when this CPU has vmx/svm and /dev/kvm: tests then run directly."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = re.search(r"^flags\s*:(.*)$", f.read(), re.M)
    except OSError:
        return False
    if not flags or not ({"vmx", "svm"} & set(flags.group(1).split())):
        return False
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, **kw).stdout


def debian_package(meta):
    """Resolve a Debian metapackage (linux-image-amd64) to (name, version)."""
    def lookup():
        deps = subprocess.run(["apt-cache", "depends", meta], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True).stdout
        m = re.search(r"Depends: (linux-image-\S+)", deps)
        return m.group(1) if m else None
    name = lookup()
    if not name:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        name = lookup()
    if not name:
        raise HostTestError(f"cannot resolve Debian package {meta}")
    pol = sh(["apt-cache", "policy", name])
    ver = re.search(r"Candidate: (\S+)", pol).group(1)
    return name, ver


def fetch_deb(name, ver):
    """Download name=ver into build/assets once; return the .deb path."""
    os.makedirs(ASSETS, exist_ok=True)
    found = glob.glob(os.path.join(ASSETS, f"{name}_{ver.replace(':', '%3a')}_*.deb"))
    if found:
        return found[0]
    log(f"downloading {name} {ver}")
    subprocess.run(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", f"{name}={ver}"], cwd=ASSETS, check=True,
                   stdout=subprocess.DEVNULL)
    found = glob.glob(os.path.join(ASSETS, f"{name}_*.deb"))
    if not found:
        raise HostTestError(f"apt-get download {name} left no .deb")
    return found[0]


def build_initramfs(tree, out):
    """Pack directory tree as a gzip'ed newc cpio archive at out."""
    files = sh(["find", "."], cwd=tree)
    with open(out + ".tmp", "wb") as f:
        cpio = subprocess.Popen(["cpio", "-o", "-H", "newc", "--quiet"], cwd=tree,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        gz = subprocess.Popen(["gzip", "-1"], stdin=cpio.stdout, stdout=f)
        cpio.stdout.close()
        cpio.communicate(files.encode())
        gz.wait()
        if cpio.returncode or gz.returncode:
            raise HostTestError("building the L1 initramfs failed")
    os.rename(out + ".tmp", out)


def l1_assets():
    """Build (or reuse) the L1 kernel and initramfs; return their paths.

    Cached under build/hosttest/<package>_<version>-<init hash>/ so a new
    kernel package or a changed init script rebuilds them.
    """
    name, ver = debian_package("linux-image-amd64")
    key = hashlib.sha256((L1_INIT + "".join(L1_MODULES)).encode()).hexdigest()[:10]
    d = os.path.join(HOSTTEST, f"{name}_{ver}-{key}")
    kernel, initrd = os.path.join(d, "vmlinuz"), os.path.join(d, "initrd.img")
    if os.path.exists(kernel) and os.path.exists(initrd):
        return kernel, initrd
    busybox = "/bin/busybox"
    if not os.path.exists(busybox):
        raise HostTestError("busybox-static is not installed (make deps)")
    deb = fetch_deb(name, ver)
    log(f"building L1 assets for {name} {ver}")
    os.makedirs(d, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=HOSTTEST) as tmp:
        x = os.path.join(tmp, "x")
        subprocess.run(["dpkg-deb", "-x", deb, x], check=True)
        kver = name[len("linux-image-"):]
        tree = os.path.join(tmp, "tree")
        for sub in ("bin", "modules", "proc", "sys", "dev", "host", "tmp"):
            os.makedirs(os.path.join(tree, sub))
        shutil.copy(busybox, os.path.join(tree, "bin/busybox"))
        names = []
        for m in L1_MODULES:
            src = os.path.join(x, "lib/modules", kver, "kernel", m + ".ko")
            base = os.path.basename(m)
            shutil.copy(src, os.path.join(tree, "modules", base + ".ko"))
            names.append(base)
        with open(os.path.join(tree, "modules.list"), "w") as f:
            f.write("\n".join(names) + "\n")
        with open(os.path.join(tree, "init"), "w") as f:
            f.write(L1_INIT)
        os.chmod(os.path.join(tree, "init"), 0o755)
        build_initramfs(tree, initrd)
        shutil.copy(glob.glob(os.path.join(x, "boot/vmlinuz-*"))[0], kernel + ".tmp")
        os.rename(kernel + ".tmp", kernel)
    return kernel, initrd


_live = set()   # QEMU processes to kill if we are killed; touched only by the main thread


def _kill_all(*_):
    for p in list(_live):
        try:
            p.kill()
        except OSError:
            pass


atexit.register(_kill_all)


def _pdeathsig():
    # QEMU dies with us even on SIGKILL of the test runner.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    os.setpgid(0, 0)


class Host:
    """Run commands where real KVM is: in an L1 VM (nested) or right here."""

    def __init__(self, cpus=4, memory="4G", nodes=2, direct=None, boot_timeout=None):
        self.cpus, self.memory, self.nodes = cpus, memory, nodes
        self.direct = has_hw_virt() if direct is None else direct
        # On a busy machine (several L1s on 2 cores) L1 can take minutes:
        # HOSTTEST_BOOT_TIMEOUT raises the limit for every Host.
        self.boot_timeout = boot_timeout or int(os.environ.get("HOSTTEST_BOOT_TIMEOUT", 180))
        # L1 beats every 5 s; this long without a beat means it wedged.
        # An L1 with more CPUs than 4 runs each of them slower on our 2
        # cores, so it is given longer, and its transient RCU stalls are
        # no sign of a wedge (see stall_grace).
        big = cpus > 4
        self.heartbeat_limit = int(os.environ.get("HOSTTEST_HEARTBEAT_LIMIT",
                                                  300 if big else 150))
        # A command still running this many seconds after L1's console
        # reported a soft lockup or an RCU stall means L1 wedged (seen: one
        # L1 CPU stops taking timer interrupts, the others wait on it
        # forever); None: wait for the command's own timeout.
        grace = os.environ.get("HOSTTEST_STALL_GRACE")
        self.stall_grace = (int(grace) or None) if grace else (None if big else 90)
        self.proc = None
        self.job = None
        self.n = 0
        self.boot_seconds = None
        self.l1_info = None

    @property
    def kind(self):
        return "direct" if self.direct else "nested"

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def qemu_cmd(self, kernel, initrd):
        mem_mb = _size_mb(self.memory)
        qemu = os.environ.get("HOSTTEST_QEMU", "qemu-system-x86_64")
        cmd = [qemu, "-accel", "tcg,thread=multi", "-cpu", "max",
               "-smp", str(self.cpus), "-m", f"{mem_mb}M",
               "-display", "none", "-monitor", "none", "-no-reboot",
               "-serial", f"file:{self.job}/serial.log",
               "-kernel", kernel, "-initrd", initrd,
               "-append", f"console=ttyS0 panic=-1 quiet hosttest.job={self.job} hosttest.root={ROOT}",
               "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,"
               "multidevs=remap",
               "-virtfs", f"local,path={self.job},mount_tag=job,security_model=none"]
        if self.nodes > 1:
            if self.cpus % self.nodes or mem_mb % self.nodes:
                raise HostTestError("cpus and memory must divide evenly among nodes")
            per_cpu, per_mem = self.cpus // self.nodes, mem_mb // self.nodes
            for i in range(self.nodes):
                cmd += ["-object", f"memory-backend-ram,id=m{i},size={per_mem}M",
                        "-numa", f"node,nodeid={i},cpus={i * per_cpu}-{(i + 1) * per_cpu - 1},"
                        f"memdev=m{i}"]
        return cmd

    def start(self):
        if self.direct or self.proc:
            return
        kernel, initrd = l1_assets()
        os.makedirs(os.path.join(HOSTTEST, "jobs"), exist_ok=True)
        self.job = tempfile.mkdtemp(prefix="job-", dir=os.path.join(HOSTTEST, "jobs"))
        os.chmod(self.job, 0o777)
        self.n = 0
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.qemu_cmd(kernel, initrd), stdin=subprocess.DEVNULL,
                                     stdout=open(os.path.join(self.job, "qemu.log"), "w"),
                                     stderr=subprocess.STDOUT, preexec_fn=_pdeathsig)
        _live.add(self.proc)
        ready = os.path.join(self.job, "ready")
        while not os.path.exists(ready):
            if self.proc.poll() is not None:
                raise HostTestError(f"L1 QEMU exited with {self.proc.returncode}\n" + self.logs())
            if time.monotonic() - t0 > self.boot_timeout:
                self.kill()
                raise HostTestError(f"L1 did not come up in {self.boot_timeout}s\n" + self.logs())
            time.sleep(0.05)
        self.boot_seconds = time.monotonic() - t0
        with open(ready) as f:
            self.l1_info = f.read().split()
        if len(self.l1_info) < 3 or self.l1_info[2] != "kvm":
            info = self.logs()
            self.close()
            raise HostTestError(f"L1 has no /dev/kvm ({self.l1_info})\n" + info)

    def logs(self, tail=60):
        """The last lines of L1's serial console and QEMU's own output."""
        out = []
        for name in ("serial.log", "qemu.log"):
            try:
                with open(os.path.join(self.job, name), errors="replace") as f:
                    lines = f.read().splitlines()[-tail:]
                out.append(f"--- L1 {name} (last {tail} lines) ---\n" + "\n".join(lines))
            except (OSError, TypeError):
                pass
        return "\n".join(out)

    def run(self, cmd, timeout=300, cwd=ROOT, retries=2):
        """Run cmd as _run does; if L1 itself wedges (it occasionally does
        under TCG: soft lockups on every L1 CPU), boot a fresh L1 and run
        the command again, up to retries times. A command that fails or
        times out inside a healthy L1 is never retried."""
        for attempt in range(retries + 1):
            try:
                return self._run(cmd, timeout, cwd)
            except HostTestError as e:
                if self.direct or attempt == retries:
                    raise
                # What L1 last printed says why (a panic, a stall).
                lines = [ln for ln in str(e).splitlines()[1:] if ln.strip()]
                tail = "".join(f"\n  {ln}" for ln in lines[-20:])
                log(f"L1 stopped answering ({str(e).splitlines()[0][:300]}); "
                    f"retrying on a fresh L1{tail}")

    def _run(self, cmd, timeout=300, cwd=ROOT, diagnose=True):
        """Run shell command cmd (a string) where KVM is; return a Result.

        A command that runs past timeout is killed and gets rc 124 (like
        timeout(1)). If L1 itself stops answering, it is killed and the next
        run() boots a fresh one.
        """
        script = f"cd {shlex.quote(cwd)} || exit 125\n{cmd}\n"
        t0 = time.monotonic()
        if self.direct:
            try:
                p = subprocess.run(["/bin/sh", "-c", script], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, errors="replace",
                                   timeout=timeout, start_new_session=True)
                return Result(p.returncode, p.stdout, p.stderr, time.monotonic() - t0)
            except subprocess.TimeoutExpired as e:
                return Result(124, _text(e.stdout), _text(e.stderr), time.monotonic() - t0)
        self.start()
        n, self.n = self.n, self.n + 1
        j = self.job
        with open(f"{j}/timeout.{n}", "w") as f:
            f.write(f"{int(timeout)}\n")
        with open(f"{j}/cmd.{n}.tmp", "w") as f:
            f.write(script)
        os.rename(f"{j}/cmd.{n}.tmp", f"{j}/cmd.{n}")
        rc_path = f"{j}/rc.{n}"
        serial_at = _size(f"{j}/serial.log")
        deadline = t0 + timeout + 30
        beat, beat_at = _read_or(f"{j}/beat"), time.monotonic()
        stall_at, looked = None, 0.0
        while not os.path.exists(rc_path):
            now = time.monotonic()
            b = _read_or(f"{j}/beat")
            if b != beat:
                beat, beat_at = b, now
            silent = now - beat_at > self.heartbeat_limit
            if self.stall_grace and stall_at is None and now - looked > 2:
                looked = now
                if self._wedged_since(serial_at):
                    stall_at = now
            stalled = stall_at is not None and now - stall_at > self.stall_grace
            if self.proc.poll() is not None or now > deadline or silent or stalled:
                # QEMU runs with -no-reboot: status 0 means L1 reset itself
                # (a triple fault under TCG prints nothing first).
                why = (f"L1 exited with status {self.proc.returncode}"
                       if self.proc.poll() is not None
                       else f"L1's heartbeat stopped for {now - beat_at:.0f}s" if silent
                       else f"L1 wedged: the command ran on {now - stall_at:.0f}s after "
                            f"L1 reported a soft lockup or RCU stall" if stalled
                       else f"L1 did not answer within {timeout + 30}s")
                logs = self.logs()
                self.kill()
                raise HostTestError(f"{why} while running: {cmd}\n{logs}")
            time.sleep(0.05)
        with open(rc_path) as f:
            rc = int(f.read().strip() or 1)
        out = _read(f"{j}/out.{n}")
        err = _read(f"{j}/err.{n}")
        if rc == 124 and self._wedged_since(serial_at):
            # L1's init still ran the timeout, but its kernel reported soft
            # lockups (or RCU stalls) meanwhile: L1 wedged under TCG (seen
            # with every CPU stuck at once, idle ones included), not the
            # command. Let run() retry on a fresh L1.
            logs = self.logs()
            self.kill()
            raise HostTestError(f"L1 wedged (soft lockups) while running: {cmd}\n{logs}")
        if rc == 124 and diagnose:
            err += self._diagnose()
        return Result(rc, out, err, time.monotonic() - t0)

    # What a timed-out command leaves to look at: L1's load, memory and
    # busiest processes (a leftover guest, a VMM stuck in the kernel).
    DIAG = ("cat /proc/loadavg; grep -E 'MemFree|MemAvailable' /proc/meminfo; "
            "ps -eo pid,stat,pcpu,rss,wchan:20,args --sort=-pcpu | head -n 12")

    def _diagnose(self):
        """DIAG's output in L1, run as any command is (never diagnosed
        itself: it has its own short limit)."""
        try:
            r = self._run(self.DIAG, timeout=30, diagnose=False)
            return "\n--- L1 after the timeout ---\n" + r.out
        except HostTestError as e:
            return f"\n--- L1 after the timeout: {str(e).splitlines()[0]} ---\n"

    # What L1's kernel prints when its own CPUs stop making progress under
    # TCG: the soft-lockup watchdog, or RCU's stall detector.
    WEDGE_SIGNS = (b"soft lockup - CPU#", b"self-detected stall on CPU",
                   b"detected stalls on CPUs/tasks")

    def _wedged_since(self, offset):
        """True when L1's console shows a soft lockup or an RCU stall after
        byte offset."""
        try:
            with open(os.path.join(self.job, "serial.log"), "rb") as f:
                f.seek(offset)
                text = f.read()
        except OSError:
            return False
        return any(sign in text for sign in self.WEDGE_SIGNS)

    def kill(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            _live.discard(self.proc)
            self.proc = None

    def close(self):
        """Power L1 off (or kill it) and remove the job directory."""
        if self.proc:
            open(os.path.join(self.job, "quit"), "w").close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            self.kill()
        if self.job and not os.environ.get("HOSTTEST_KEEP"):
            shutil.rmtree(self.job, ignore_errors=True)
        self.job = None


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _read_or(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def _read(path):
    with open(path, errors="replace") as f:
        return f.read()


def _text(b):
    if b is None:
        return ""
    return b.decode(errors="replace") if isinstance(b, bytes) else b


def _size_mb(s):
    m = re.fullmatch(r"(\d+)([MG]?)", str(s).upper())
    if not m:
        raise HostTestError(f"bad memory size {s!r} (use e.g. 4G or 2048M)")
    return int(m.group(1)) * (1024 if m.group(2) == "G" else 1)


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="hosttest.py",
        description="Run commands where real KVM is: in a nested L1 VM under QEMU TCG "
                    "when this CPU lacks vmx/svm, directly otherwise.")
    sub = ap.add_subparsers(dest="verb", required=True)
    sub.add_parser("assets", help="build or reuse the L1 kernel and initramfs")
    r = sub.add_parser("run", help="run commands in one L1 boot",
                       description="Each -c COMMAND (or the words after --) runs in turn, "
                                   "in the same L1, from the repository root. Exit status "
                                   "is the first failing command's.")
    r.add_argument("--cpus", type=int, default=4, help="L1 CPUs (default 4)")
    r.add_argument("--memory", default="4G", help="L1 memory, e.g. 4G (default)")
    r.add_argument("--nodes", type=int, default=2, help="L1 NUMA nodes (default 2)")
    r.add_argument("--timeout", type=int, default=600, help="per-command timeout, s")
    r.add_argument("--nested", action="store_true", help="use L1 even on a vmx/svm host")
    r.add_argument("-c", "--command", action="append", default=[], help="a shell command")
    r.add_argument("words", nargs=argparse.REMAINDER, help="-- COMMAND ARGS...")
    a = ap.parse_args(argv)
    try:
        if a.verb == "assets":
            k, i = l1_assets()
            print(k)
            print(i)
            return 0
        cmds = list(a.command)
        words = a.words[1:] if a.words[:1] == ["--"] else a.words
        if words:
            cmds.append(shlex.join(words))
        if not cmds:
            ap.error("nothing to run: give -c COMMAND or -- COMMAND")
        status = 0
        with Host(cpus=a.cpus, memory=a.memory, nodes=a.nodes,
                  direct=False if a.nested else None) as h:
            if not h.direct:
                log(f"L1 up in {h.boot_seconds:.1f}s ({h.cpus} CPUs, {h.nodes} nodes)")
            for c in cmds:
                res = h.run(c, timeout=a.timeout)
                sys.stdout.write(res.out)
                sys.stderr.write(res.err)
                log(f"[{res.rc}] {res.seconds:.1f}s: {c}")
                if res.rc and not status:
                    status = res.rc
        return status
    except HostTestError as e:
        print(f"hosttest: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        _kill_all()
        return 130


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
