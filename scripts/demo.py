#!/usr/bin/python3
"""make demo: build the PostgreSQL database guest (scripts/build-image.sh),
boot it under smpvisor on 4 vCPUs in two NUMA nodes (examples/db-2node.json),
run pgbench inside at 1 and 4 clients (the guest's smpvisor.bench=pgbench
switch), and print TPS and latency per client count, the NUMA placement
smpvisor applied and how long each stage took. The guest powers itself off
when pgbench is done. Runs through the nested test host when this CPU lacks
vmx/svm (see README), directly otherwise."""
import os
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
sys.path.insert(0, os.path.join(ROOT, "tests", "hosttest"))

import dbguest  # noqa: E402
import hosttest  # noqa: E402

T0 = time.monotonic()
BENCH_SECONDS = 10
CONSOLE_LOG = os.path.join(ROOT, "build", "demo-console.log")
# Console lines that mark a boot stage, and what the demo says for each.
STAGES = [
    ("Linux version", "guest kernel started"),
    ("initramfs: /dev/", "root disk mounted (virtio-blk), starting systemd"),
    ("Welcome to", "systemd started"),
    ("SMPV-NET ", "virtio-net up"),
    ("SMPV-PG-READY ", "PostgreSQL answers"),
    ("SMPV-BENCH-START", "pgbench: initialising and running"),
    ("SMPV-PGBENCH ", "pgbench: a client count done"),
    ("SMPV-BENCH-END", "pgbench done: guest powering off"),
    ("reboot: Power down", "guest powered off"),
]


def step(msg):
    print(f"demo: [{time.monotonic() - T0:5.0f}s] {msg}", flush=True)


def follow(path, stop):
    """Print a progress line for each boot stage seen in the console file."""
    pos, rest = 0, ""
    while not stop.is_set():
        try:
            with open(path, errors="replace") as f:
                f.seek(pos)
                data = f.read()
                pos = f.tell()
        except OSError:
            data = ""
        # Whole lines only: the guest may be in the middle of one.
        lines = (rest + data).split("\n")
        rest = lines.pop()
        for line in lines:
            for marker, what in STAGES:
                if marker in line:
                    if marker == "SMPV-PGBENCH ":
                        step(f"{what}: {line[line.index(marker):].strip()}")
                    elif marker == "SMPV-PG-READY ":
                        step(f"{what} ({line[line.index(marker) + len(marker):].strip()})")
                    else:
                        step(what)
        stop.wait(1)


def show_placement(b):
    print("NUMA placement smpvisor applied (host side, read from /proc while the guest ran):")
    for ln in b.err.splitlines():
        if "guest node" in ln:
            print(f"  {ln.strip()}")
    names = sorted(b.threads, key=lambda n: (not n.startswith("vcpu"), n))
    for n in names:
        if n.startswith(("vcpu", "iothread")) or n == "smpvisor":
            print(f"  thread {n!r:14} may run on host CPUs {b.threads[n]}")
    for ln in b.maps:
        parts = ln.split()
        pages = " ".join(p for p in parts if p.startswith("N") and "=" in p)
        size = next((p for p in parts if p.startswith(("anon=", "dirty="))), "")
        print(f"  guest RAM at {parts[0]}: policy {parts[1]}, pages per host node: {pages}"
              f" ({size})")
    if not b.threads:
        print("  (not read: the guest did not get as far as PostgreSQL)")


def main():
    step("building the database image: Debian 12 + systemd + PostgreSQL 15 "
         "(scripts/build-image.sh; cached, first build takes minutes)")
    t = time.monotonic()
    try:
        image = dbguest.build_image(progress=True)
    except subprocess.CalledProcessError as e:
        print(f"demo: error: building the image failed ({e.returncode})", file=sys.stderr)
        return 1
    t_image = time.monotonic() - t
    step(f"image ready in {t_image:.0f}s: {image}/root.img")
    host = hosttest.Host(cpus=4, memory="4G", nodes=2)
    t_l1 = None
    try:
        if not host.direct:
            step("no vmx/svm here: starting the nested test host "
                 "(L1 Linux under QEMU TCG, 4 CPUs, 2 NUMA nodes)")
        host.start()
        if host.boot_seconds is not None:
            t_l1 = host.boot_seconds
            step(f"nested test host up in {t_l1:.1f}s")
        # A fresh copy of the image for the root disk, in a folder smpvisor
        # can write (the nested host's job folder: the rest of this
        # machine's files are read-only in L1); the console goes there too.
        outdir = dbguest.scratch_dir(host)
        disk = dbguest.fresh_disk(host, "demo.img")
        cfg = dbguest.write_config("demo", disk,
                                   f"smpvisor.bench=pgbench smpvisor.bench.time={BENCH_SECONDS}")
        step(f"booting the database guest: build/smpvisor run -v --config "
             f"{os.path.relpath(cfg, ROOT)} (examples/db-2node.json, disk {disk})")
        step("guest console: " + os.path.join(outdir, "smpv-db.out"))
        stop = threading.Event()
        console = os.path.join(outdir, "smpv-db.out")
        try:
            os.unlink(console)
        except OSError:
            pass
        th = threading.Thread(target=follow, args=(console, stop), daemon=True)
        th.start()
        t = time.monotonic()
        try:
            b = dbguest.run(host, cfg, "tapup\nwaitfor SMPV-PG-READY 1500 && placement",
                            timeout=2400, outdir=outdir)
        finally:
            stop.set()
            th.join(5)
        t_guest = time.monotonic() - t
        os.unlink(disk)
    except hosttest.HostTestError as e:
        print(f"demo: error: {e}", file=sys.stderr)
        return 1
    finally:
        host.close()
    with open(CONSOLE_LOG, "w") as f:
        f.write(b.out)
    step(f"smpvisor exited {b.rc} after {t_guest:.0f}s; guest console in "
         f"{os.path.relpath(CONSOLE_LOG, ROOT)}")
    res = b.pgbench()
    rep = b.agent.get("REPORT")
    print()
    if rep:
        print(f"guest: kernel {rep['kernel']}, {rep['online_cpus']} CPUs online, "
              f"{rep['mem_total_kb'] // 1024} MiB RAM")
        for n in rep.get("numa_nodes", []):
            print(f"guest NUMA node {n['node']}: CPUs {n['cpus']}, "
                  f"{n['mem_total_kb'] // 1024} MiB, distances {n['distances']}")
    else:
        print("guest: no readable AGENT-REPORT on the console (see the console log)")
    show_placement(b)
    print()
    print(f"pgbench (TPC-B like, scale {res[0]['scale'] if res else '?'}, "
          f"{BENCH_SECONDS}s per run, inside the guest):")
    print(f"{'clients':>8} {'tps':>10} {'latency ms':>11} {'transactions':>13}")
    for r in res:
        print(f"{r['clients']:>8} {r['tps']:>10.1f} {r['latency_ms']:>11.3f} "
              f"{r['transactions']:>13}")
    for e in b.lines("SMPV-BENCH-ERROR"):
        print(f"pgbench error: {e}")
    print()
    ready = b.ready_uptime()
    print("stages: " + ", ".join(filter(None, [
        f"image {t_image:.0f}s",
        f"nested host boot {t_l1:.0f}s" if t_l1 is not None else None,
        f"guest boot to PostgreSQL ready {ready:.0f}s (guest uptime)" if ready else None,
        f"guest run in total (boot, pgbench, poweroff) {t_guest:.0f}s",
        f"demo {time.monotonic() - T0:.0f}s"])))
    if b.rc != 0 or len(res) != 2:
        sys.stdout.write("\n".join(b.out.splitlines()[-40:]) + "\n" + b.err[-2000:])
        print(f"demo: failed: smpvisor exited {b.rc}, {len(res)} pgbench results",
              file=sys.stderr)
        return 1
    print("the guest shut itself down cleanly (systemctl poweroff, ACPI S5); smpvisor exited 0")
    return 0


if __name__ == "__main__":
    if not shutil.which("debootstrap"):
        print("demo: debootstrap is missing: run make deps", file=sys.stderr)
        sys.exit(1)
    sys.exit(main())
