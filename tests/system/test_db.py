"""The PostgreSQL database guest under smpvisor (issue 7).

The image (scripts/build-image.sh: Debian 12, systemd, PostgreSQL 15) boots
with examples/db-2node.json (4 vCPUs on two guest NUMA nodes, pinned, a
virtio-blk root disk and a virtio-net tap) where KVM is: the nested test host
here. The root disk is a fresh copy of the image per test, shared by its
boots, in a folder both sides can write (dbguest.scratch_dir: the nested
host's job folder); dumpe2fs and e2fsck read it on this side. From L1 the tests talk to PostgreSQL over the tap with psql;
SIGTERM to smpvisor presses the guest's ACPI power button (systemd-logind
powers off); SIGKILL is a power cut. After a clean shutdown the file system
must be clean (no journal replay on the next boot, dumpe2fs "clean", e2fsck
finds nothing); after a SIGKILL mid-write the next boot must replay the ext4
journal and PostgreSQL's WAL and keep every commit psql saw acknowledged:
the flushes the guest asked for reached the disk.
"""
import os
import re
import subprocess

import pytest

import dbguest
from dbguest import psql

@pytest.fixture(scope="session")
def db_image():
    """The database image, built once per session (cached under build/)."""
    return dbguest.build_image(progress=False)


def fs_state(img):
    """(dumpe2fs state, features line, e2fsck -fn status, their output)."""
    d = subprocess.run(["dumpe2fs", "-h", img], capture_output=True, text=True)
    f = subprocess.run(["e2fsck", "-fn", img], capture_output=True, text=True)
    state = re.search(r"^Filesystem state:\s*(.*)$", d.stdout, re.M)
    feats = re.search(r"^Filesystem features:\s*(.*)$", d.stdout, re.M)
    return (state.group(1).strip() if state else None, feats.group(1) if feats else "",
            f.returncode, d.stdout + f.stdout + f.stderr)


def powered_off_cleanly(b):
    """smpvisor exited 0 because the guest powered off after the button."""
    assert b.rc == 0, b.explain()
    assert "pressing the ACPI power button" in b.err, b.explain()
    assert "did not power off" not in b.err, b.explain()
    assert "guest powered off" in b.err, b.explain()


def boot_and_count(kvmhost, cfg, sql):
    """Boot again, run sql from the host side once PostgreSQL is ready (its
    rows as PSQL-COUNT lines), press the power button; the guest must
    power off cleanly. Returns the boot."""
    b = dbguest.run(kvmhost, cfg, f"""
tapup
if waitfor SMPV-PG-READY 1500; then
    {psql(sql, tries=3)} | sed 's/^/PSQL-COUNT /'
fi
kill -TERM $pid
""")
    powered_off_cleanly(b)
    return b


def test_db_query_persists_clean_shutdown(kvmhost, db_image):
    """Boot, query over virtio-net, write a table, power button; the file
    system is clean; the next boot has the table and replays nothing."""
    img = dbguest.fresh_disk(kvmhost, "test-db.img")
    cfg = dbguest.write_config("test-db", img)
    b = dbguest.run(kvmhost, cfg, f"""
tapup
if waitfor SMPV-PG-READY 1500; then
    placement
    {psql("select 'Q' || version()", tries=3)} | sed 's/^/PSQL-VERSION /'
    {psql("create table smpv_t (id int primary key, v text)")}; echo "PSQL-CREATE rc=$?"
    {psql("insert into smpv_t select g, md5(g::text) from generate_series(1, 1000) g")}
    {psql("select count(*), sum(id) from smpv_t", tries=3)} | sed 's/^/PSQL-COUNT /'
fi
kill -TERM $pid
""")
    powered_off_cleanly(b)
    assert "SMPV-PG-READY error" not in b.out, b.explain()
    assert b.ready_uptime(), b.explain()
    assert re.search(r"^PSQL-VERSION QPostgreSQL 15\.", b.pre, re.M), b.explain()
    assert "PSQL-CREATE rc=0" in b.pre, b.explain()
    assert "PSQL-COUNT 1000|500500" in b.pre, b.explain()
    rep = b.agent.get("REPORT")
    assert rep and rep["online_cpus"] == 4, b.explain()
    assert [n["cpus"] for n in rep["numa_nodes"]] == ["0-1", "2-3"], rep["numa_nodes"]
    # The placement the config asks for, read from L1's /proc.
    assert b.threads.get("vcpu 0") == "0" and b.threads.get("vcpu 3") == "2-3", b.threads
    assert [ln for ln in b.maps if "bind:0" in ln] and [ln for ln in b.maps if "bind:1" in ln], \
        b.maps

    state, feats, fsck_rc, out = fs_state(img)
    assert state == "clean", out
    assert "needs_recovery" not in feats, out
    assert fsck_rc == 0, out

    b2 = boot_and_count(kvmhost, cfg, "select count(*), sum(id) from smpv_t")
    assert "PSQL-COUNT 1000|500500" in b2.pre, b2.explain()
    klog = "\n".join(b2.lines("SMPV-KLOG "))
    assert "mounted filesystem" in klog, b2.explain()
    assert "recovery complete" not in klog, klog
    pglog = "\n".join(b2.lines("SMPV-PG-LOG "))
    assert "database system was shut down at" in pglog, b2.explain()
    assert "not properly shut down" not in pglog, pglog
    state, feats, fsck_rc, out = fs_state(img)
    os.unlink(img)
    assert state == "clean" and fsck_rc == 0, out


@pytest.mark.slow
def test_db_pgbench_switch(kvmhost, db_image):
    """smpvisor.bench=pgbench: pgbench at 1 and 4 clients, one parsable line
    each, then the guest powers itself off."""
    img = dbguest.fresh_disk(kvmhost, "test-db-bench.img")
    cfg = dbguest.write_config("test-db-bench", img,
                               "smpvisor.bench=pgbench smpvisor.bench.time=5 "
                               "smpvisor.bench.scale=1")
    b = dbguest.run(kvmhost, cfg, "")
    os.unlink(img)
    assert b.rc == 0, b.explain()
    assert "pressing the ACPI power button" not in b.err
    assert not b.lines("SMPV-BENCH-ERROR"), b.explain()
    res = b.pgbench()
    assert [r["clients"] for r in res] == [1, 4], b.explain()
    for r in res:
        assert r["tps"] > 0 and r["latency_ms"] > 0 and r["transactions"] > 0, r
        assert r["seconds"] == 5 and r["scale"] == 1, r
    assert b.lines("SMPV-BENCH-END"), b.explain()


@pytest.mark.slow
def test_db_sigkill_mid_write_recovers(kvmhost, db_image):
    """A power cut (SIGKILL of smpvisor) while psql commits batches: the next
    boot replays the ext4 journal and PostgreSQL's WAL, and every batch psql
    saw committed is there."""
    img = dbguest.fresh_disk(kvmhost, "test-db-kill.img")
    cfg = dbguest.write_config("test-db-kill", img)
    batch = 200
    ins = ("insert into smpv_w select g from generate_series($((i * {b} + 1)), "
           "$(((i + 1) * {b}))) g").format(b=batch)
    b = dbguest.run(kvmhost, cfg, f"""
tapup
if waitfor SMPV-PG-READY 1500; then
    {psql("create table smpv_w (id int primary key)")}; echo "PSQL-CREATE rc=$?"
    (i=0; while :; do
        PGCONNECT_TIMEOUT=20 /usr/bin/psql -X -qAt -h {dbguest.GUEST_IP} -U postgres \\
            -c "{ins}" >/dev/null 2>>/tmp/smpv-db.werr || break
        i=$((i + 1)); echo $i > /tmp/smpv-db.acked
    done) &
    w=$!
    # Mid-write: once a few batches are in, while the next ones go.
    for t in $(seq 900); do
        [ "$(cat /tmp/smpv-db.acked 2>/dev/null || echo 0)" -ge 3 ] && break
        kill -0 $w 2>/dev/null || break
        sleep 1
    done
    sleep 2
    kill -KILL $pid
    wait $w
    echo "ACKED-BATCHES $(cat /tmp/smpv-db.acked 2>/dev/null || echo 0)"
    sed 's/^/WRITER-ERR /' /tmp/smpv-db.werr 2>/dev/null | tail -n 5
else
    kill -KILL $pid
fi
""")
    assert b.rc == 137, b.explain()
    assert "PSQL-CREATE rc=0" in b.pre, b.explain()
    m = re.search(r"^ACKED-BATCHES (\d+)$", b.pre, re.M)
    acked = int(m.group(1))
    assert acked >= 3, b.explain()

    b2 = boot_and_count(kvmhost, cfg, "select count(*), coalesce(max(id), 0) from smpv_w")
    klog = "\n".join(b2.lines("SMPV-KLOG "))
    assert "recovery complete" in klog, b2.explain()
    pglog = "\n".join(b2.lines("SMPV-PG-LOG "))
    assert "not properly shut down" in pglog and "redo done" in pglog, b2.explain()
    m = re.search(r"^PSQL-COUNT (\d+)\|(\d+)$", b2.pre, re.M)
    assert m, b2.explain()
    count, top = int(m.group(1)), int(m.group(2))
    # Every acknowledged batch survived; whole batches only (atomic commits).
    assert count == top and count % batch == 0, (count, top)
    assert count >= acked * batch, (count, acked)
    state, feats, fsck_rc, out = fs_state(img)
    os.unlink(img)
    assert state == "clean" and fsck_rc == 0, out


@pytest.mark.slow
def test_small_guest_login_prompt_and_ctrl_a_x(kvmhost, db_image, tmp_path):
    """examples/small.json on a terminal (a pseudo-terminal driven by
    tests/system/ptydrive.py in the KVM host): the serial login prompt
    appears, root logs in (no password in the image), a command runs in the
    guest, and Ctrl-A x ends smpvisor at once with status 0."""
    import json
    img = dbguest.fresh_disk(kvmhost, "test-db-tty.img")
    with open(os.path.join(dbguest.ROOT, "examples", "small.json")) as f:
        cfg = json.load(f)
    for k in ("kernel", "initrd"):
        cfg[k] = os.path.join(dbguest.ROOT, cfg[k])
    cfg["disks"][0]["path"] = img
    path = os.path.join(dbguest.SCRATCH, "test-db-tty.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    steps = [{"expect": "login: ", "timeout": 1200, "send": "root\r"},
             {"expect": "# ", "timeout": 300, "send": "echo SMPV-TTY-$((6 * 7)) $(nproc)\r"},
             {"expect": "SMPV-TTY-42 2", "timeout": 120, "send": "\x01x", "exit_timeout": 30}]
    script = os.path.join(dbguest.SCRATCH, "test-db-tty.steps.json")
    with open(script, "w") as f:
        json.dump(steps, f)
    drive = os.path.join(dbguest.ROOT, "tests", "system", "ptydrive.py")
    r = kvmhost.run(f"/usr/bin/python3 {drive} {script} -- {dbguest.SMPVISOR} run --config {path}",
                    timeout=1700)
    os.unlink(img)
    m = re.search(r"^PTYDRIVE (\{.*\})$", r.out, re.M)
    assert m, r.out[-4000:] + r.err
    res = json.loads(m.group(1))
    assert res["error"] is None and res["rc"] == 0, r.out[-4000:]
    assert res["exit_after_last_keys_s"] < 30, res
