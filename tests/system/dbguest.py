"""The PostgreSQL database guest (scripts/build-image.sh) for make demo and
tests/system/test_db.py: build it, write a config from examples/db-2node.json,
and run smpvisor with it where KVM is, driving it from a shell script.

The guest prints marker lines on its console (scripts/build-image.sh):
SMPV-NET, SMPV-PG-READY uptime=S VERSION, SMPV-PG-LOG (PostgreSQL's log
of this start), SMPV-KLOG (the kernel's ext4 lines), SMPV-PGBENCH {json}
per client count, SMPV-BENCH-END, and the agent's AGENT-REPORT {json}.
"""
import json
import os
import re
import shlex
import subprocess
import sys

from agentlines import json_at, marked, parse_agent
from guest import ROOT

IMAGE_DIR = os.path.join(ROOT, "build", "dbimage")
SCRATCH = os.path.join(ROOT, "build", "dbtest")
SMPVISOR = os.path.join(ROOT, "build", "smpvisor")
EXAMPLE = os.path.join(ROOT, "examples", "db-2node.json")
TAP = "smpvdb0"
HOST_IP, GUEST_IP = "10.77.9.1", "10.77.9.2"
QUIET = "loglevel=1 nosoftlockup rcupdate.rcu_cpu_stall_suppress=1"


def build_image(progress=True):
    """Build (or reuse) the image; return its directory. Progress lines go
    to stderr when progress is true."""
    subprocess.run([os.path.join(ROOT, "scripts", "build-image.sh"), "--out", IMAGE_DIR],
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=None if progress else subprocess.DEVNULL)
    return IMAGE_DIR


def scratch_dir(host):
    """A folder both this machine and smpvisor (in L1, or here) can write:
    the nested host's job folder (shared read-write over 9p; the rest of
    this machine's files are read-only in L1), else build/dbtest/."""
    d = host.job if not host.direct else SCRATCH
    os.makedirs(d, exist_ok=True)
    return d


def fresh_disk(host, name):
    """A fresh copy of the image, made here (fast, sparse), at a path
    smpvisor sees too; returns the path."""
    path = os.path.join(scratch_dir(host), name)
    subprocess.run(["cp", "--sparse=always", "-f", os.path.join(IMAGE_DIR, "root.img"), path],
                   check=True)
    return path


def write_config(name, disk, append="", **top):
    """examples/db-2node.json with the disk at `disk`, `append` added to the
    kernel command line and top-level keys replaced; returns its path."""
    with open(EXAMPLE) as f:
        cfg = json.load(f)
    for k in ("kernel", "initrd"):
        cfg[k] = os.path.join(ROOT, cfg[k])
    cfg["disks"][0]["path"] = disk
    # No kernel message may split a marker line: in the nested host the
    # vCPUs starve for seconds (soft lockup and RCU stall warnings).
    cfg["cmdline"] = f"{cfg['cmdline']} {QUIET} {append}".strip()
    cfg.update(top)
    os.makedirs(SCRATCH, exist_ok=True)
    path = os.path.join(SCRATCH, f"{name}.json")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)
    return path


# The L1 (or direct) side of one boot: smpvisor in the background, console
# and stderr to files; `waitfor PATTERN SECONDS` polls the console (and
# gives up when smpvisor has gone); the caller's steps; then the exit status
# and both files, in sections the parser below splits.
RUN = r"""
set -u
O={outdir}/smpv-db.out E={outdir}/smpv-db.err
rm -f $O $E /tmp/smpv-db.*
{smpvisor} run -v --config {cfg} >$O 2>$E </dev/null &
pid=$!
waitfor() {{
    i=0
    while [ $i -lt $2 ]; do
        grep -qa -- "$1" $O && return 0
        kill -0 $pid 2>/dev/null || return 1
        sleep 1; i=$((i+1))
    done
    echo "=== timeout waiting for $1"
    return 1
}}
tapup() {{
    for i in $(seq 100); do ip link show {tap} >/dev/null 2>&1 && break; sleep 0.2; done
    ip addr add {host_ip}/24 dev {tap} 2>/dev/null; ip link set {tap} up
}}
placement() {{
    echo "=== comm"; grep -H "" /proc/$pid/task/*/comm
    echo "=== aff"; grep -H Cpus_allowed_list: /proc/$pid/task/*/status
    echo "=== maps"; grep -E "bind|interleave|prefer" /proc/$pid/numa_maps
    echo "=== end-placement"
}}
{steps}
wait $pid
echo "=== rc=$?"
echo "=== console"
cat $O
echo "=== stderr"
cat $E
"""


class Run:
    """One boot's results: rc, console, stderr, markers, placement."""

    def __init__(self, res, script):
        self.script = script
        self.seconds = res.seconds
        self.all = res.out
        self.l1_err = res.err
        m = re.search(r"^=== rc=(\d+)$", res.out, re.M)
        self.rc = int(m.group(1)) if m else None
        self.pre = res.out.split("=== rc=", 1)[0]
        self.out = section(res.out, "console", "stderr")
        self.err = res.out.split("=== stderr\n", 1)[1] if "=== stderr\n" in res.out else ""
        self.agent = parse_agent(self.out)
        self.threads, self.maps = parse_placement(self.pre)

    def lines(self, marker):
        """The rest of each console line that holds marker."""
        return marked(self.out, marker)

    def pgbench(self):
        res = []
        for rest in self.lines("SMPV-PGBENCH "):
            try:
                res.append(json_at(rest))
            except ValueError:
                pass
        return res

    def ready_uptime(self):
        for rest in self.lines("SMPV-PG-READY "):
            m = re.match(r"uptime=([0-9.]+)", rest)
            if m:
                return float(m.group(1))
        return None

    def explain(self):
        tail = "\n".join(self.out.splitlines()[-100:])
        return (f"exit status {self.rc} after {self.seconds:.1f}s\n"
                f"--- script ---\n{self.script}\n--- before exit ---\n{self.pre[-3000:]}\n"
                f"--- console (last 100 lines) ---\n{tail}\n--- stderr ---\n{self.err[-3000:]}"
                f"\n--- runner stderr ---\n{self.l1_err[-2000:]}")


def section(out, name, nxt):
    if f"=== {name}\n" not in out:
        return ""
    return out.split(f"=== {name}\n", 1)[1].split(f"=== {nxt}\n", 1)[0]


def parse_placement(text):
    """({thread name: allowed CPUs}, [numa_maps policy lines])."""
    names, threads = {}, {}
    for line in section(text, "comm", "aff").splitlines():
        path, _, name = line.partition(":")
        parts = path.split("/")
        if len(parts) > 4:
            names[parts[4]] = name
    for line in section(text, "aff", "maps").splitlines():
        path, _, rest = line.partition(":")
        parts = path.split("/")
        if len(parts) > 4 and rest.split():
            threads[names.get(parts[4], parts[4])] = rest.split()[-1]
    maps = [ln for ln in section(text, "maps", "end-placement").splitlines() if ln.strip()]
    return threads, maps


def run(host, cfg, steps, timeout=2000, outdir=None):
    """Boot cfg under smpvisor on host, run the shell steps meanwhile; the
    console goes to outdir/smpv-db.out while it runs (default: the
    scratch folder, so it can be followed from here)."""
    outdir = outdir or scratch_dir(host)
    script = RUN.format(smpvisor=shlex.quote(SMPVISOR), cfg=shlex.quote(cfg), steps=steps,
                        tap=TAP, host_ip=HOST_IP, outdir=shlex.quote(outdir))
    return Run(host.run(script, timeout=timeout), script)


def psql(sql, user="postgres", db="postgres", tries=1):
    """A psql command line for the host side (L1), to the guest over the
    tap; tries > 1 for idempotent statements (the nested host's vCPUs can
    starve long enough for a connection to time out)."""
    cmd = (f"PGCONNECT_TIMEOUT=60 /usr/bin/psql -X -qAt -h {GUEST_IP} -U {user} -d {db} "
           f"-c {shlex.quote(sql)}")
    if tries <= 1:
        return cmd
    return f"{{ for t in $(seq {tries}); do {cmd} && break; sleep 5; done; }}"


def node_pages(line, node):
    m = re.search(rf"\bN{node}=(\d+)", line)
    return int(m.group(1)) if m else 0


def log(msg):
    print(msg, file=sys.stderr, flush=True)
