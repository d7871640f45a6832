"""The database guest snapshotted mid-pgbench and restored in a new
process (issue 17).

The PostgreSQL guest (examples/db-2node.json) runs pgbench inside itself
(smpvisor.bench=pgbench) while a psql client on the host side commits
batches over the tap. Mid-run `smpvisor ctl snapshot DIR` writes the VM
and ends the process (its tap goes with it); `smpvisor run --restore DIR`
rebuilds it, the tap comes back by name, and:
- pgbench inside the guest finishes without an error (its connections
  never noticed), and the guest powers itself off afterwards, exit 0;
- the guest did not boot again (one SMPV-PG-READY across both runs);
- every batch psql saw committed before the snapshot is in the table, and
  a new psql session from the host connects and commits after it.
"""
import os
import re
import shlex

import pytest

import dbguest
from dbguest import psql
from test_db import db_image  # noqa: F401  (the session fixture)

SMPVISOR = os.path.join(dbguest.ROOT, "build", "smpvisor")
BATCH = 200


@pytest.mark.slow
@pytest.mark.xfail(reason="7 Dec: after the restore (vhost-net, the tap made anew) psql "
                          "from L1 gets 'Network is unreachable'; pgbench inside the guest "
                          "finishes and the snapshot/restore themselves pass; cause not "
                          "found yet (notes/issue-17.md)", strict=False)
def test_db_snapshot_mid_pgbench(kvmhost, db_image):  # noqa: F811
    img = dbguest.fresh_disk(kvmhost, "test-db-snap.img")
    sock = "/tmp/smpv-db-snap.sock"
    cfg = dbguest.write_config("test-db-snap", img,
                               # Long enough to outlast the snapshot, the
                               # suspension and the restore in guest time
                               # (kvmclock jumps by them): the guest powers
                               # off, taking its tap along, when it ends.
                               "smpvisor.bench=pgbench smpvisor.bench.time=150 "
                               "smpvisor.bench.clients=2 smpvisor.bench.scale=1",
                               api={"socket": sock})
    snap = os.path.join(dbguest.scratch_dir(kvmhost), "test-db-snap.d")
    sv = shlex.quote(SMPVISOR)
    # Double quotes: the shell fills in the batch's bounds.
    ins = ("PGCONNECT_TIMEOUT=20 /usr/bin/psql -X -qAt -h {ip} -U postgres -c "
           "\"insert into smpv_s select g from generate_series($((i * {b} + 1)), "
           "$(((i + 1) * {b}))) g\"").format(b=BATCH, ip=dbguest.GUEST_IP)
    b = dbguest.run(kvmhost, cfg, f"""
rm -rf {snap}
tapup
if waitfor SMPV-PG-READY 1500 && waitfor SMPV-BENCH-START 600; then
    {psql("create table smpv_s (id int primary key)", tries=3)}; echo "PSQL-CREATE rc=$?"
    i=0; t=0
    while [ $i -lt 3 ] && [ $t -lt 30 ]; do
        {ins} >/dev/null && i=$((i + 1)); t=$((t + 1))
    done
    acked=$i
    sleep 5
    echo "ACKED-BATCHES $i"
    {sv} ctl --timeout 300 {sock} snapshot {snap} 2>&1 | tail -n 2
    wait $pid; echo "FIRST-RC $?"
    cp $O $O.first
    sleep 3
    {sv} run -v --restore {snap} >$O 2>>$E </dev/null &
    pid=$!
    # The tap comes back once the memory is read: wait for the devices.
    for t in $(seq 600); do grep -q "restore: 4 vCPUs" $E && break; sleep 1; done
    tapup   # (its loop uses i: the batch count is kept in acked)
    i=$acked
    for t in $(seq 30); do
        {ins} >/dev/null && {{ i=$((i + 1)); break; }}
        sleep 5
    done
    echo "AFTER-BATCHES $i"
    {psql("select count(*), coalesce(max(id), 0) from smpv_s", tries=3)} | sed 's/^/PSQL-COUNT /'
    waitfor SMPV-BENCH-END 900
    echo "=== first-console"; cat $O.first
fi
""")
    os.unlink(img)
    assert b.rc == 0, b.explain()
    assert "PSQL-CREATE rc=0" in b.pre and "FIRST-RC 0" in b.pre, b.explain()
    assert "snapshot written to" in b.pre, b.explain()
    first = b.pre.split("=== first-console\n", 1)[-1]
    assert (first + b.out).count("SMPV-PG-READY") == 1, b.explain()
    assert not b.lines("SMPV-BENCH-ERROR"), b.explain()
    res = b.pgbench()
    assert [r["clients"] for r in res] == [2] and res[0]["transactions"] > 0, b.explain()
    m = re.search(r"^AFTER-BATCHES (\d+)$", b.pre, re.M)
    assert m and int(m.group(1)) == 4, b.explain()
    m = re.search(r"^PSQL-COUNT (\d+)\|(\d+)$", b.pre, re.M)
    assert m, b.explain()
    count, top = int(m.group(1)), int(m.group(2))
    assert count == top == 4 * BATCH, (count, top)
    assert "restore: 4 vCPUs" in b.err, b.explain()
