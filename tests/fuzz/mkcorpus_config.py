#!/usr/bin/python3
"""Write the seed corpus of the config fuzz harness (tests/fuzz/config_harness.c).

Each seed is one byte naming the parser, then its input: the example configs
and the unit tests' configs (good and bad), command lines, option strings,
CPU lists, sizes, integers and MAC addresses, valid and malformed.
Usage: mkcorpus_config.py [DIR]   (default tests/fuzz/corpus/config)
"""
import glob
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JSON, ARGS, CPUS, MEMORY, DISK, NET, CPULIST, SIZE, U32, MAC = range(10)

MALFORMED_JSON = [
    '{"cpus": 2,, }', '{"cpus": {"count": 4, "sockets": 4, "cores": 2}}',
    '{"memory": {"size": "1.5G", "overcommit": "yes"}}', '{"memory": -1}',
    '{"numa": [{"cpus": "0-1", "memory": "256M", "host_nodes": "0",'
    ' "distances": [10, 20, 30]}]}',
    '{"cpus": {"count": 2, "pin": {"0-1": "0-999999"}}}', '[1, 2, 3]',
    '{"disks": [{"path": "x", "vhost_user": "y"}]}', '{"net": [{"tap": ""}]}',
    '{"iothreads": [{"pin": "1-0"}], "vmm": {"pin": ","}}',
    '{"pv": {"kvmclock": 1}}', '{"a": ' * 64, '{"kernel": "k", "kernel": "k"}',
    '{"cpus": 18446744073709551616}', '{"memory": "16E"}',
]

ARGLINES = [
    ["--kernel", "k", "--cpus", "4,sockets=2,cores=2", "--memory", "1G",
     "--disk", "/tmp/x.img,ro,queues=2,iothread=0,serial=abc",
     "--net", "tap=t0,queues=2,mac=52:54:00:12:34:56,vhost=off", "-v", "-q"],
    ["--kernel", "k", "--disk", "vhost-user=/tmp/s.sock,queues=4"],
    ["--kernel"], ["--bogus"], ["-h"], ["extra"], ["--kernel", "k", "--cpus", "0"],
    ["--config", "/nonexistent.json", "--kernel", "k"],
]

OPTIONS = {
    CPUS: ["4", "8,sockets=2", "6,sockets=2,cores=3,threads=1", "0", "4,cores", "4,x=1",
           "4294967296", "2,threads=2,threads=1"],
    MEMORY: ["512M", "1.5GiB", "4g", "16T", "0", "lots", "1.", "99999999999999999999K"],
    DISK: ["/tmp/x.img", "/tmp/x.img,ro", "/tmp/x.img,queues=0", "/tmp/x.img,colour=blue",
           "vhost-user=", "vhost-user=/s,ro", ",", "/tmp/x.img,serial=" + "s" * 21],
    NET: ["tap=t0", "tap=t0,queues=2,mac=02:00:00:00:00:01", "queues=2",
          "tap=t0,vhost=maybe", "tap=" + "n" * 16, "tap=t0,mac=01:00:00:00:00:01"],
    CPULIST: ["0-3,8", "0", "3-1", "0-", ",", "1,,2", "0-4095", "4096", "00001-2"],
    SIZE: ["1", "4K", "1.5G", "1.5GiB", "2tb", "16E", ".5M", "1.0000000001G", "-1"],
    U32: ["0", "4294967295", "4294967296", "+1", "1x", "007"],
    MAC: ["52:54:00:12:34:56", "52:54:00:12:34", "zz:54:00:12:34:56", "52-54-00-12-34-56",
          "52:54:00:12:34:56:"],
}


def main(argv):
    out = argv[1] if len(argv) > 1 else os.path.join(ROOT, "tests/fuzz/corpus/config")
    os.makedirs(out, exist_ok=True)
    seeds = {}
    for f in sorted(glob.glob(os.path.join(ROOT, "examples/*.json")) +
                    glob.glob(os.path.join(ROOT, "tests/unit/configs/*.json"))):
        base = os.path.basename(os.path.dirname(f)) + "-" + os.path.basename(f)
        with open(f, "rb") as fp:
            seeds["json-" + base[:-5]] = bytes([JSON]) + fp.read()
    for i, text in enumerate(MALFORMED_JSON):
        seeds[f"json-malformed-{i}"] = bytes([JSON]) + text.encode()
    for i, args in enumerate(ARGLINES):
        seeds[f"args-{i}"] = bytes([ARGS]) + "\n".join(args).encode()
    names = {CPUS: "cpus", MEMORY: "memory", DISK: "disk", NET: "net", CPULIST: "cpulist",
             SIZE: "size", U32: "u32", MAC: "mac"}
    for kind, texts in OPTIONS.items():
        for i, text in enumerate(texts):
            seeds[f"{names[kind]}-{i}"] = bytes([kind]) + text.encode()
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as fp:
            fp.write(data)
    print(f"{len(seeds)} seeds in {out}")


if __name__ == "__main__":
    main(sys.argv)
