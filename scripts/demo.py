#!/usr/bin/python3
"""make demo: boot the test guest under smpvisor on 4 vCPUs in two NUMA
nodes (examples/numa-2node.json) and show what the guest saw. Runs through the nested test host when this CPU lacks
vmx/svm (see README), directly otherwise."""
import os
import shlex
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
sys.path.insert(0, os.path.join(ROOT, "tests", "hosttest"))

import guest  # noqa: E402
import hosttest  # noqa: E402


def step(msg):
    print(f"demo: {msg}", flush=True)


def main():
    t0 = time.monotonic()
    step("building the test guest (Debian cloud kernel + agent initramfs)")
    kernel, initrd = guest.build_guest()
    step(f"test guest ready ({time.monotonic() - t0:.0f}s)")
    host = hosttest.Host(cpus=4, memory="4G", nodes=2)
    if not host.direct:
        step("no vmx/svm here: starting the nested test host (L1 Linux under QEMU TCG)")
    try:
        host.start()
        if host.boot_seconds is not None:
            step(f"nested test host up in {host.boot_seconds:.1f}s")
        # examples/numa-2node.json: 4 vCPUs on two guest NUMA nodes, each
        # bound to its own host node, vCPUs and I/O threads pinned.
        cmd = shlex.join([os.path.join(ROOT, "build", "smpvisor"), "run", "-v",
                          "--config", os.path.join(ROOT, "examples", "numa-2node.json"),
                          "--kernel", kernel, "--initrd", initrd,
                          "--cmdline", "console=ttyS0 panic=-1 quiet agent.cpuloop=200"])
        step(f"booting the guest: {cmd}")
        b = guest.boot(host, cmd, timeout=300)
    except hosttest.HostTestError as e:
        print(f"demo: error: {e}", file=sys.stderr)
        return 1
    finally:
        host.close()
    print("---- guest console ----")
    sys.stdout.write(b.out)
    print("-----------------------")
    if b.err.strip():
        sys.stdout.write(b.err)
    rep = b.report
    if b.rc != 0 or not rep:
        print(f"demo: smpvisor exited {b.rc} without a guest report", file=sys.stderr)
        return 1
    print(f"smpvisor exited {b.rc} after {b.seconds:.1f}s; the guest reported "
          f"{rep['uptime_s']:.1f}s from kernel start to its report")
    print(f"guest kernel {rep['kernel']}, {rep['online_cpus']} CPUs online, "
          f"{rep['mem_total_kb'] // 1024} MiB RAM")
    for n in rep.get("numa_nodes", []):
        print(f"guest NUMA node {n['node']}: CPUs {n['cpus']}, "
              f"{n['mem_total_kb'] // 1024} MiB, distances {n['distances']}")
    print(f"{'cpu':>4} {'apic':>5} {'package':>8} {'core':>5} {'node':>5}")
    for c in rep["cpus"]:
        print(f"{c['cpu']:>4} {c['apic_id']:>5} {c['package_id']:>8} {c['core_id']:>5} "
              f"{c.get('node', 0):>5}")
    loop = b.agent.get("CPULOOP")
    if loop:
        print(f"CPU loop iterations per vCPU (200 ms each): {loop.get('per_cpu')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
