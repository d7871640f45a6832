"""Default I/O threads: one per host NUMA node used (issue 5).

Without "iothreads" in the config smpvisor starts one I/O thread per host
node the guest is placed on, pinned to that node's CPUs, and gives each
virtio-blk queue to the I/O thread of the node of the vCPU that submits to
it (queue i <-> vCPU i). In the nested host (CPUs 0-1 on node 0, 2-3 on
node 1) a 4-vCPU guest on two nodes gets "iothread 0" on CPUs 0-1 and
"iothread 1" on 2-3 (read from /proc while the guest runs), queues 0-1 on
thread 0 and 2-3 on thread 1, and its disk works. With "iothreads" given,
that count and those pins are used instead."""
import os
import re

from test_numa import watch, write_cfg

SIZE = 16 << 20


def disk(name):
    """(path, shell that makes it): watch() runs the shell in its own
    command, so a retry on a fresh L1 makes the disk again."""
    img = f"/tmp/smpv-iot-{name}.img"
    return img, f"rm -f {img} && truncate -s {SIZE} {img} || exit 1"


def test_one_iothread_per_node_on_its_cpus(kvmhost, test_guest):
    img, prep = disk("default")
    cfg = write_cfg(
        "iothreads-default", test_guest,
        append="loglevel=1 agent.disk=vda,writeverify,seed=3 agent.sleep=900",
        cpus={"count": 4, "pin": "auto"},
        memory="512M",
        numa=[{"cpus": "0-1", "memory": "256M", "host_nodes": "0"},
              {"cpus": "2-3", "memory": "256M", "host_nodes": "1"}],
        disks=[{"path": img}])
    rc, maps, threads, agent, out = watch(kvmhost, cfg, verbose=True,
                                          until="AGENT-DISK", prep=prep,
                                          cleanup=f"rm -f {img}")
    assert rc == 0, out[-4000:]
    assert threads.get("iothread 0") == "0-1", threads
    assert threads.get("iothread 1") == "2-3", threads
    assert "iothread 2" not in threads, threads
    m = re.search(r"virtio-blk0: queue I/O threads((?:\s\d+)+)", out)
    assert m and m.group(1).split() == ["0", "0", "1", "1"], out[-4000:]
    d = agent.get("DISK", {}).get("disk")
    assert d and d["errors"] == 0 and d["io_errors"] == 0 and d["bytes"] == SIZE, out[-4000:]


def test_configured_iothreads_win(kvmhost, test_guest):
    img, prep = disk("given")
    cfg = write_cfg(
        "iothreads-given", test_guest, append="loglevel=1 agent.sleep=900",
        cpus={"count": 2, "pin": "auto"}, memory="384M",
        numa=[{"cpus": "0-1", "memory": "384M", "host_nodes": "1"}],
        iothreads=[{"pin": "0"}, {}, {}], disks=[{"path": img, "queues": 3}])
    rc, maps, threads, agent, out = watch(kvmhost, cfg, verbose=True, prep=prep,
                                          cleanup=f"rm -f {img}")
    assert rc == 0, out[-4000:]
    assert threads.get("iothread 0") == "0", threads
    assert "iothread 2" in threads, threads
    m = re.search(r"virtio-blk0: queue I/O threads((?:\s\d+)+)", out)
    assert m and m.group(1).split() == ["0", "1", "2"], out[-4000:]
