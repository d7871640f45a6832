"""The benchmarks of bench/, one module each (bench/README.md says what
each measures): boot, footprint, exits, ipi, scaling, blk, and db,
prefault and snapshot, which run by name only.

Each module has run(ctx), which runs its measurements with smpvisor and
the reference alternated (A B A B), writes bench/results/NAME.csv, prints
its table from that file and draws NAME.png (common.write_outputs), and
estimate(ctx, names), the seconds it should take for the progress line
(names: the benchmarks of the invocation, since footprint reuses boot's
boots). The shared pieces: context.py (Ctx, the KVM host, vmprobe.py's
jobs), vmms.py (the VMM command lines), common.py (statistics, CSV,
tables, plots, the progress line).
"""
from benchmarks import blk, boot, db, exits, footprint, ipi, prefault, scaling, snapshot


# What `bench/run all` and `make bench` run, in this order.
ALL = ["boot", "footprint", "exits", "ipi", "scaling", "blk"]

BY_NAME = {"boot": boot, "footprint": footprint, "exits": exits, "ipi": ipi,
           "scaling": scaling, "blk": blk,
           # Run by name only: too long for make bench's budget.
           "db": db,
           # Host only, no KVM: guest RAM populated at start-up against
           # QEMU's prealloc. Its timings are this machine's memory, which
           # the nested test host of the others would disturb.
           "prefault": prefault,
           # Save and restore of a 1 GiB guest against QEMU's migration to
           # a file: a boot and a restore per system and run, about 5
           # minutes in quick mode; too long for make bench.
           "snapshot": snapshot}
