"""NUMA guests, host memory binding, pinning and large guests (issue 4).

The nested test host has 4 CPUs on 2 host NUMA nodes (CPUs 0-1 on node 0,
2-3 on node 1). Each test writes its config under build/tests/numa/ (this
machine's build tree is readable from the test host), runs build/smpvisor
there and checks what the guest agent reports; the placement tests also
read /proc/PID/numa_maps and the threads' Cpus_allowed_list while the
guest sleeps."""
import json
import os
import re
import shlex

import pytest

import hosttest
from agentlines import parse_agent
from guest import ROOT

SMPVISOR = os.path.join(ROOT, "build", "smpvisor")
CFG_DIR = os.path.join(ROOT, "build", "tests", "numa")


def write_cfg(name, test_guest, append="", **keys):
    kernel, initrd = test_guest
    cfg = {"kernel": kernel, "initrd": initrd,
           "cmdline": f"console=ttyS0 panic=-1 quiet {append}".strip()}
    cfg.update(keys)
    os.makedirs(CFG_DIR, exist_ok=True)
    path = os.path.join(CFG_DIR, name + ".json")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)
    return path


# Runs smpvisor in the background in L1; once the agent has reported,
# dumps numa_maps and every thread's name and allowed CPUs (few processes:
# forks are slow in the nested host while the guest runs), then waits.
WATCH = r"""
{prep}
rm -f /tmp/numa.*  # an earlier test's report must not be taken for this one's
{smpvisor} run {verbose}--config {cfg} >/tmp/numa.out 2>/tmp/numa.err &
pid=$!
# Wall-clock seconds, not loop turns: under load a turn takes longer than 1 s.
t0=$(date +%s); i=0
while [ $i -lt {wait} ] && kill -0 $pid 2>/dev/null && ! grep -qa {until} /tmp/numa.out; do
    sleep 1; i=$(( $(date +%s) - t0 ))
done
# No report: say for how long, and where each thread of smpvisor sleeps
# in the kernel (a deadlock shows as futex waits, a slow guest as KVM_RUN).
if ! grep -qa {until} /tmp/numa.out; then
    echo "=== no report after ${{i}}s"
    for t in /proc/$pid/task/*; do
        echo "$(cat $t/comm): $(sed 's/.*) //' $t/stat | cut -d' ' -f1) $(cat $t/wchan)"
    done
fi
cat /proc/$pid/numa_maps >/tmp/numa.maps
grep -H "" /proc/$pid/task/*/comm >/tmp/numa.comm
grep -H Cpus_allowed_list: /proc/$pid/task/*/status >/tmp/numa.aff
echo "=== numa_maps"
cat /tmp/numa.maps
echo "=== comm"
cat /tmp/numa.comm
echo "=== aff"
cat /tmp/numa.aff
echo "=== end"
# Seen enough: the guest sleeps on, so stop it (two signals: no grace period).
kill -TERM $pid; sleep 1; kill -TERM $pid 2>/dev/null
wait $pid
echo "rc=$?"
cat /tmp/numa.out
echo "=== stderr"
cat /tmp/numa.err
{cleanup}
"""


def section(out, name, nxt):
    return out.split(f"=== {name}\n", 1)[1].split(f"=== {nxt}\n", 1)[0]


def watch(kvmhost, cfg, timeout=900, verbose=False, until="AGENT-REPORT", prep="",
          cleanup=""):
    """(rc, numa_maps text, {thread name: Cpus_allowed_list}, agent, output).

    The threads are read once the console shows `until` (verbose adds -v).
    prep is shell run first in the same command, so what it makes in L1
    (a disk in its /tmp) is there again if a wedged L1 is replaced;
    cleanup runs last, once smpvisor has exited.
    Waits as long as smpvisor runs, up to timeout - 60 s: on a busy machine
    a 4-vCPU boot in the nested host has taken over 300 s."""
    r = kvmhost.run(WATCH.format(smpvisor=SMPVISOR, cfg=shlex.quote(cfg),
                                 verbose="-v " if verbose else "", until=until,
                                 wait=timeout - 60, prep=prep, cleanup=cleanup),
                    timeout=timeout)
    out = r.out
    assert "=== end" in out, out[-3000:] + r.err
    maps = section(out, "numa_maps", "comm")
    names, threads = {}, {}
    for line in section(out, "comm", "aff").splitlines():
        path, _, name = line.partition(":")
        names[path.split("/")[4]] = name
    for line in section(out, "aff", "end").splitlines():
        path, _, rest = line.partition(":")
        tid = path.split("/")[4]
        threads[names.get(tid, tid)] = rest.split()[-1]
    m = re.search(r"^rc=(\d+)$", out, re.M)
    rc = int(m.group(1)) if m else None
    return rc, maps, threads, parse_agent(out), out


def mapping_pages(maps, policy):
    """numa_maps lines whose policy is exactly `policy` (e.g. "bind:1")."""
    return [ln for ln in maps.splitlines() if ln.split()[1:2] == [policy]]


def node_pages(line, node):
    m = re.search(rf"\bN{node}=(\d+)", line)
    return int(m.group(1)) if m else 0


def test_two_nodes_bound_and_pinned(kvmhost, test_guest):
    """4 vCPUs on 2 guest nodes, each node's 512 MiB bound to its own host
    node and prefaulted there; vCPU, I/O and VMM threads pinned as configured;
    a custom SLIT row for node 1."""
    cfg = write_cfg(
        "two-nodes", test_guest, append="agent.sleep=900",
        cpus={"count": 4, "sockets": 2, "cores": 2, "threads": 1,
              "pin": {"0": "0", "1": "1", "2-3": "2-3"}},
        memory={"size": "1G", "prefault": True},
        numa=[{"cpus": "0-1", "memory": "512M", "host_nodes": "0", "policy": "bind"},
              {"cpus": "2-3", "memory": "512M", "host_nodes": "1", "policy": "bind",
               "distances": [23, 10]}],
        iothreads=[{"pin": "3"}, {}],
        vmm={"pin": "1"})
    rc, maps, threads, agent, out = watch(kvmhost, cfg)
    assert rc == 0, out[-4000:]
    rep = agent.get("REPORT")
    assert rep, out[-4000:]

    nodes = {n["node"]: n for n in rep["numa_nodes"]}
    assert sorted(nodes) == [0, 1], rep["numa_nodes"]
    assert nodes[0]["cpus"] == "0-1" and nodes[1]["cpus"] == "2-3"
    assert nodes[0]["distances"] == [10, 20]
    assert nodes[1]["distances"] == [23, 10]
    for n in nodes.values():
        # The kernel keeps some of each node for itself (node 0 more: the
        # kernel image and the initramfs live there).
        assert 380 * 1024 <= n["mem_total_kb"] <= 512 * 1024, n
    assert {c["cpu"]: c["node"] for c in rep["cpus"]} == {0: 0, 1: 0, 2: 1, 3: 1}

    # Guest node memory: one mapping per node, bound, resident on that node.
    for host in (0, 1):
        lines = mapping_pages(maps, f"bind:{host}")
        assert len(lines) == 1, maps
        assert node_pages(lines[0], host) == 512 * 1024 // 4, lines[0]
        assert node_pages(lines[0], 1 - host) == 0, lines[0]

    assert threads.get("vcpu 0") == "0", threads
    assert threads.get("vcpu 1") == "1", threads
    assert threads.get("vcpu 2") == "2-3", threads
    assert threads.get("vcpu 3") == "2-3", threads
    assert threads.get("smpvisor") == "1", threads
    # A pinned I/O thread; an unpinned one inherits the VMM thread's CPUs.
    assert threads.get("iothread 0") == "3", threads
    assert threads.get("iothread 1") == "1", threads


def test_interleave_and_unpinned(kvmhost, test_guest):
    """Interleave over both host nodes; unpinned vCPUs may use every CPU
    even though the VMM thread is pinned."""
    cfg = write_cfg(
        "interleave", test_guest, append="agent.sleep=900",
        cpus=2, memory={"size": "256M", "prefault": True},
        numa=[{"cpus": "0-1", "memory": "256M", "host_nodes": "0-1",
               "policy": "interleave"}],
        vmm={"pin": "0"})
    rc, maps, threads, agent, out = watch(kvmhost, cfg)
    assert rc == 0, out[-4000:]
    assert agent.get("REPORT"), out[-4000:]
    lines = mapping_pages(maps, "interleave:0-1")
    assert len(lines) == 1, maps
    n0, n1 = node_pages(lines[0], 0), node_pages(lines[0], 1)
    assert n0 + n1 == 256 * 1024 // 4 and abs(n0 - n1) <= 1024, lines[0]
    assert threads.get("vcpu 0") == "0-3" and threads.get("vcpu 1") == "0-3", threads
    assert threads.get("smpvisor") == "0", threads


# Slow set: 16 vCPUs on the 4-CPU nested host sometimes lose an AP during
# bring-up (an AP triple-faulted at the reset vector in one run, as
# ../shared/PLATFORM.md reports for large guests there with QEMU too). In a
# later run on a busy machine (load 25) smpvisor and QEMU, one after the
# other in the same L1, both had all 16 online; smpvisor's only failure
# there was a soft-lockup warning inside the report line (see below).
@pytest.mark.slow
def test_sixteen_vcpus_2x4x2_topology(kvmhost, test_guest):
    """16 vCPUs as 2 sockets x 4 cores x 2 threads on 2 nodes: every CPU
    online, distinct APIC IDs, sysfs topology matching the config."""
    # nosoftlockup: vCPUs of an overcommitted nested host stall for tens of
    # seconds, and the kernel's soft-lockup warning lands in the middle of
    # the agent's report line (seen: all 16 online, report unparseable).
    cfg = write_cfg(
        "2x4x2", test_guest, append="nosoftlockup",
        cpus={"count": 16, "sockets": 2, "cores": 4, "threads": 2},
        memory="1G",
        numa=[{"cpus": "0-7", "memory": "512M", "host_nodes": "0"},
              {"cpus": "8-15", "memory": "512M", "host_nodes": "1"}])
    r = kvmhost.run(f"{SMPVISOR} run --config {shlex.quote(cfg)}", timeout=600)
    assert r.rc == 0, r.out[-4000:] + r.err
    rep = parse_agent(r.out).get("REPORT")
    assert rep and rep["online_cpus"] == 16, r.out[-4000:]
    cpus = {c["cpu"]: c for c in rep["cpus"]}
    assert len({c["apic_id"] for c in cpus.values()}) == 16
    # Linux reads SMT from CPUID on AMD only from family 0x17 (Zen) with
    # TOPOEXT; the nested host's TCG CPU is an AMD family 15 part, where the
    # guest kernel takes every thread for a core of its own (core_id is the
    # APIC ID's low bits). There, check everything but cores and threads.
    cpu = kvmhost.run("grep -m2 -E 'vendor_id|cpu family' /proc/cpuinfo").out
    old_amd = "AuthenticAMD" in cpu and int(cpu.split()[-1]) < 0x17
    bad_siblings = []
    for i, c in cpus.items():
        sock, core, thr = i // 8, (i // 2) % 4, i % 2
        assert c["package_id"] == sock, c
        if not old_amd:
            assert c["core_id"] == core, c
        assert c["apic_id"] == (sock << 3) | (core << 1) | thr, c
        assert c["core_siblings"] == ("0-7" if sock == 0 else "8-15"), c
        assert c["node"] == sock, c
        if c["thread_siblings"] != f"{i - thr}-{i - thr + 1}":
            bad_siblings.append((i, c["thread_siblings"]))
    assert [n["cpus"] for n in rep["numa_nodes"]] == ["0-7", "8-15"]
    # KVM's TSC-deadline timer is offered (CPUID.1:ECX[24]), so the guest
    # skips calibrating the LAPIC timer against the PIT, which fails on an
    # overcommitted host and leaves every CPU without high-resolution timers.
    assert rep["clockevent"] == "lapic-deadline", rep["clockevent"]
    assert rep["hres_cpus"] == 16, rep["hres_cpus"]
    assert old_amd or not bad_siblings, f"SMT thread_siblings not as configured: {bad_siblings[:4]}"


BAD = [
    # (name, config keys, words the one error line must contain)
    ("pin-outside", {"cpus": {"count": 2, "pin": {"0-1": "7"}}},
     ["cpus.pin: vCPU 0", "CPU 7 is outside the CPUs this process may use (0-3)"]),
    ("vmm-pin-outside", {"cpus": 1, "vmm": {"pin": "2,9"}},
     ["vmm.pin", "CPU 9 is outside"]),
    ("iothread-pin-outside", {"cpus": 1, "iothreads": [{"pin": "5"}]},
     ["iothreads[0].pin", "CPU 5 is outside"]),
    ("no-host-node", {"cpus": 2, "memory": "512M",
                      "numa": [{"cpus": "0-1", "memory": "512M", "host_nodes": "3"}]},
     ["numa[0].host_nodes", "host node 3 does not exist"]),
    ("host-node-too-small", {"cpus": 2, "memory": "8G",
                             "numa": [{"cpus": "0-1", "memory": "8G", "host_nodes": "0"}]},
     ["numa[0].memory", "host node 0 has too little memory"]),
    ("cpu-in-two-nodes", {"cpus": 2, "memory": "512M",
                          "numa": [{"cpus": "0-1", "memory": "256M"},
                                   {"cpus": "1", "memory": "256M"}]},
     ["numa[1].cpus", "vCPU 1 is also in numa[0]"]),
    ("cpu-in-no-node", {"cpus": 3, "memory": "512M",
                        "numa": [{"cpus": "0-1", "memory": "512M"}]},
     ["numa", "vCPU 2 is in no node"]),
    ("memory-sum", {"cpus": 2, "memory": "1G",
                    "numa": [{"cpus": "0", "memory": "256M"}, {"cpus": "1", "memory": "256M"}]},
     ["numa", "adds up to 512 MiB", "memory.size is 1024 MiB"]),
    ("bad-topology", {"cpus": {"count": 6, "sockets": 4, "cores": 2}},
     ["sockets=4", "does not make 6 vCPUs"]),
    ("dedicated-unpinned", {"cpus": {"count": 2, "dedicated": True, "pin": {"0-1": "0-1"}}},
     ["cpus.dedicated", "vCPU 0 is not pinned to a single host CPU"]),
]


def bad_config_cases(sv, test_guest):
    """(command, words of the one error line) for each config of BAD."""
    return [(f"{sv} run --config {shlex.quote(write_cfg('bad-' + name, test_guest, **keys))}",
             words) for name, keys, words in BAD]


def test_bad_configs_fail_in_one_line(kvmhost, test_guest):
    """Each bad placement or topology: exit 1, one stderr line naming it,
    before any guest runs."""
    script = []
    for (name, _, _), (cmd, _) in zip(BAD, bad_config_cases(SMPVISOR, test_guest)):
        script.append(f"echo '=== {name}'; {cmd} >/dev/null 2>/tmp/err; "
                      f"echo \"rc=$?\"; cat /tmp/err")
    r = kvmhost.run("\n".join(script), timeout=300)
    parts = dict(p.split("\n", 1) for p in r.out.split("=== ")[1:])
    for name, _, words in BAD:
        text = parts.get(name, "")
        lines = [ln for ln in text.splitlines() if ln.strip()]
        assert lines and lines[0] == "rc=1", f"{name}: {text}"
        assert len(lines) == 2, f"{name}: {text}"
        for w in words:
            assert w in lines[1], f"{name}: {lines[1]}"


# Back in the core set: the "hang" was the 300 s the watch used to wait (a
# busy machine's nested host has taken longer to boot a 4-vCPU guest); the
# watch now waits while smpvisor runs and, without a report, shows where
# each thread sleeps. Three runs in a row passed in one L1 on a machine
# with a load average of 25.
def test_auto_placement_prints_plan(kvmhost, test_guest):
    """"numa": "auto" with 4 vCPUs on the 2-node host: one guest node per
    host node, vCPUs pinned within their node, and the plan printed."""
    cfg = write_cfg("auto", test_guest, append="agent.sleep=900",
                    cpus=4, memory="512M", numa="auto")
    rc, maps, threads, agent, out = watch(kvmhost, cfg)
    assert rc == 0, out[-4000:]
    err = out.split("=== stderr\n", 1)[1]
    assert "auto: guest node 0: vCPUs 0-1, 256 MiB on host node 0 (bind)" in err, err
    assert "auto: guest node 1: vCPUs 2-3, 256 MiB on host node 1 (bind)" in err, err
    rep = agent.get("REPORT")
    assert rep and [n["cpus"] for n in rep["numa_nodes"]] == ["0-1", "2-3"], out[-4000:]
    assert threads.get("vcpu 0") == "0-1" and threads.get("vcpu 3") == "2-3", threads
    assert len(mapping_pages(maps, "bind:0")) == 1 and len(mapping_pages(maps, "bind:1")) == 1, maps


# Large guests need a larger L1: with 4 CPUs, guests of 48 vCPUs and more
# reset during AP bring-up (../shared/PLATFORM.md, for QEMU too); with 8
# CPUs on the same 2 host cores, 288 vCPUs came up in about 5 minutes on
# 1 December; in every run on 6 December a guest vCPU triple-faulted first
# (during AP bring-up or idle, a different vCPU each time), or L1 reset.
BIG_L1 = {"cpus": 8, "memory": "6G", "nodes": 2}


@pytest.fixture(scope="module")
def bighost():
    h = hosttest.Host(**BIG_L1, boot_timeout=600)  # 8 TCG CPUs boot slowly on 2 cores
    try:
        h.start()
    except hosttest.HostTestError as e:
        pytest.fail(f"nested test host ({BIG_L1}) did not start: {e}")
    yield h
    h.close()


def to_tmpfs(cmd):
    """cmd with its output collected in L1's tmpfs, then printed: the UART
    writes byte by byte, and each write straight to the job directory (9p)
    is a round trip to this machine; the report of 288 CPUs is 70 KB."""
    return (f"{cmd} >/tmp/big.out 2>/tmp/big.err; rc=$?; cat /tmp/big.out; "
            "cat /tmp/big.err >&2; exit $rc")


def large_guest(host, test_guest, name, n, sockets, cores, threads, timeout=2400):
    """Boot n vCPUs on 2 guest nodes (one per socket half); the report."""
    half = n // 2
    cfg = write_cfg(name, test_guest, append="nosoftlockup",
                    cpus={"count": n, "sockets": sockets, "cores": cores, "threads": threads},
                    memory="2G",
                    numa=[{"cpus": f"0-{half - 1}", "memory": "1G", "host_nodes": "0"},
                          {"cpus": f"{half}-{n - 1}", "memory": "1G", "host_nodes": "1"}])
    r = host.run(to_tmpfs(f"{SMPVISOR} run --config {shlex.quote(cfg)}"), timeout=timeout)
    assert r.rc == 0, r.out[-4000:] + r.err
    rep = parse_agent(r.out).get("REPORT")
    assert rep, r.out[-4000:] + r.err
    return rep, r


@pytest.mark.slow
@pytest.mark.xfail(reason="the nested test host's emulated SVM (QEMU TCG) does not carry a "
                          "guest of more than about 64 vCPUs through boot reliably (PLATFORM.md); "
                          "the x2APIC paths are proven with few vCPUs at high APIC IDs instead",
                   strict=False)
def test_288_vcpus_online_with_x2apic_ids(bighost, test_guest):
    """288 vCPUs (2 sockets x 72 cores x 2 threads, overcommitted on the
    8-CPU L1): socket 1's APIC IDs are 256..399, so the guest needs x2APIC
    from the start (MADT/SRAT x2APIC entries are ignored otherwise),
    32-bit IDs in KVM and KVM_FEATURE_MSI_EXT_DEST_ID. Every CPU must come
    online with its own x2APIC ID, on the node SRAT gives it."""
    n = 288
    rep, r = large_guest(bighost, test_guest, "x2apic-288", n, 2, 72, 2)
    assert rep["online_cpus"] == n, (rep["online_list"], r.out[-3000:])
    cpus = {c["cpu"]: c for c in rep["cpus"]}
    assert sorted(cpus) == list(range(n))
    ids = [c["x2apic_id"] for c in cpus.values()]
    assert len(set(ids)) == n, ids
    for i, c in cpus.items():
        sock, core, thr = i // 144, (i // 2) % 72, i % 2
        want = sock << 8 | core << 1 | thr
        assert c["x2apic_id"] == want and c["apic_id"] == want, c
        assert c["package_id"] == sock and c["node"] == sock, c
    assert max(ids) == (1 << 8) | (71 << 1) | 1
    assert rep["clockevent"] == "lapic-deadline" and rep["hres_cpus"] == n, rep["hres_cpus"]
    assert [nd["cpus"] for nd in rep["numa_nodes"]] == ["0-143", "144-287"], rep["numa_nodes"]


@pytest.mark.slow
def test_x2apic_ids_past_254(bighost, test_guest):
    """9 sockets x 17 cores: the core field is 5 bits wide, so socket 8's
    APIC IDs are 256-272 and need x2APIC (32-bit IDs in KVM, x2APIC MADT and
    SRAT entries, KVM_FEATURE_MSI_EXT_DEST_ID). Every CPU must come online
    with its own x2APIC ID."""
    n = 153
    cfg = write_cfg("x2apic", test_guest, append="nosoftlockup",
                    cpus={"count": n, "sockets": 9, "cores": 17, "threads": 1},
                    memory="2G",
                    numa=[{"cpus": f"0-{17 * 5 - 1}", "memory": "1G", "host_nodes": "0"},
                          {"cpus": f"{17 * 5}-{n - 1}", "memory": "1G", "host_nodes": "1"}])
    r = bighost.run(to_tmpfs(f"{SMPVISOR} run --config {shlex.quote(cfg)}"), timeout=1800)
    assert r.rc == 0, r.out[-4000:] + r.err
    rep = parse_agent(r.out).get("REPORT")
    assert rep and rep["online_cpus"] == n, r.out[-4000:]
    ids = [c["x2apic_id"] for c in rep["cpus"]]
    assert len(set(ids)) == n
    assert max(ids) == (8 << 5) | 16
    assert [c["x2apic_id"] for c in rep["cpus"] if c["cpu"] == n - 1] == [272]
    assert [nd["cpus"] for nd in rep["numa_nodes"]] == [f"0-{17 * 5 - 1}", f"{17 * 5}-{n - 1}"]
