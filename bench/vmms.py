"""The command lines of the VMMs the benchmarks compare: smpvisor and the
QEMU reference, for the same test guest, memory and topology (and the
config file that gives smpvisor a NUMA topology).
"""
import json
import os
import shlex

import common
from context import SMPVISOR, BenchError, guest


CMDLINE = "console=ttyS0 panic=-1 quiet"
# Session guests print results as long AGENT-* JSON lines; in the nested
# host their vCPUs starve for seconds, and an RCU stall or soft lockup
# warning printed into the middle of such a line broke it (seen in QEMU's
# blk guest). Only emergencies reach the console; the same for both VMMs.
SHELL_APPEND = "agent.shell=1 loglevel=1 rcupdate.rcu_cpu_stall_suppress=1 nosoftlockup"


def guest_mem_mb(n):
    return 256 if n <= 8 else 512 if n <= 32 else 1024 if n <= 64 else 2048


def _bits(n):
    return (n - 1).bit_length()


class Topo:
    """The guest topology bench/run boot gives both VMMs: sockets x cores x
    threads (cores = vCPUs / sockets / threads) and, with nodes, that many
    guest NUMA nodes of equal vCPU ranges and memory, node i bound to the
    KVM host's node i mod 2 (smpvisor "numa" host_nodes, QEMU
    memory-backend host-nodes; policy bind in both)."""

    def __init__(self, sockets=1, threads=1, nodes=0):
        self.sockets, self.threads, self.nodes = sockets, threads, nodes

    def check(self, n):
        if n % (self.sockets * self.threads) or (self.nodes and n % self.nodes):
            raise BenchError(f"boot: {n} vCPUs do not split into {self.sockets} sockets x "
                             f"{self.threads} threads" + (f" and {self.nodes} nodes"
                                                          if self.nodes else ""))

    def cores(self, n):
        return n // self.sockets // self.threads

    def plain(self):
        return self.sockets == 1 and self.threads == 1 and not self.nodes

    def label(self, n):
        return (f"{self.sockets}x{self.cores(n)}x{self.threads}"
                + (f" {self.nodes} nodes" if self.nodes else ""))

    def max_apic_id(self, n):
        """The last vCPU's APIC ID: the same power-of-two fields in both."""
        smt, core = _bits(self.threads), _bits(self.cores(n))
        return ((self.sockets - 1) << (smt + core) | (self.cores(n) - 1) << smt
                | (self.threads - 1))

    def node_ranges(self, n):
        per = n // self.nodes
        return [(i * per, (i + 1) * per - 1) for i in range(self.nodes)]


# The sandbox off (boot's comparison): no seccomp filter, no Landlock.
# What remains of the seal is cheap: capabilities, no_new_privs, rlimits.
SANDBOX_OFF = {"seccomp": "off", "landlock": False}


def smpvisor_config(topo, n, mem_mb, sandbox=True):
    """A config file, readable from the KVM host, with topo's NUMA nodes
    (when it has nodes) and, when sandbox is false, the sandbox off
    (SANDBOX_OFF; there is no command-line option for Landlock)."""
    d = os.path.join(common.ROOT, "build", "bench", "configs")
    os.makedirs(d, exist_ok=True)
    cfg, name = {}, "boot"
    if topo and topo.nodes:
        per = mem_mb // topo.nodes
        cfg = {"memory": f"{per * topo.nodes}M",
               "numa": [{"cpus": f"{a}-{b}", "memory": f"{per}M", "host_nodes": str(i % 2),
                         "policy": "bind"} for i, (a, b) in enumerate(topo.node_ranges(n))]}
        name += f"-{n}-{topo.label(n).replace(' ', '-')}"
    if not sandbox:
        cfg["sandbox"] = dict(SANDBOX_OFF)
        name += "-nosandbox"
    path = os.path.join(d, f"{name}.json")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)
    return path


def qemu_topo_args(argv, topo, n, mem_mb):
    """QEMU's argv with topo: -smp with sockets/cores/threads, -numa nodes,
    and past APIC ID 254 its only way there: q35, split irqchip and an
    intel-iommu with interrupt remapping in x2APIC mode (eim)."""
    argv = list(argv)
    i = argv.index("-smp")
    argv[i + 1] = f"{n},sockets={topo.sockets},cores={topo.cores(n)},threads={topo.threads}"
    if topo.max_apic_id(n) > 254:
        j = argv.index("-M")
        argv[j + 1] = "q35,kernel-irqchip=split"
        argv += ["-device", "intel-iommu,intremap=on,eim=on"]
    if topo.nodes:
        per = mem_mb // topo.nodes
        for k, (a, b) in enumerate(topo.node_ranges(n)):
            argv += ["-object", f"memory-backend-ram,id=m{k},size={per}M,host-nodes={k % 2},"
                     "policy=bind",
                     "-numa", f"node,nodeid={k},cpus={a}-{b},memdev=m{k}"]
    return argv


def vmm_cmd(system, kernel, initrd, n, mem_mb, append, extra=(), topo=None, sandbox=True):
    """argv of smpvisor or the QEMU reference for the same guest; smpvisor
    with its sandbox off when sandbox is false."""
    plain = topo is None or topo.plain()
    if system.startswith("smpvisor"):
        cpus = str(n) if plain else (f"{n},sockets={topo.sockets},cores={topo.cores(n)},"
                                     f"threads={topo.threads}")
        cfg = (["--config", smpvisor_config(topo, n, mem_mb, sandbox)]
               if (topo and topo.nodes) or not sandbox else [])
        return ([SMPVISOR, "run"] + cfg + ["--kernel", kernel, "--initrd", initrd,
                                           "--cpus", cpus, "--memory", f"{mem_mb}M",
                                           "--cmdline", f"{CMDLINE} {append}".strip()]
                + list(extra))
    argv = shlex.split(guest.qemu_cmd(kernel, initrd, cpus=n, memory=f"{mem_mb}M",
                                      append=append, extra=extra))
    return argv if plain else qemu_topo_args(argv, topo, n, mem_mb)
