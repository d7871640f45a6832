"""Guests booted many at once do not die (issue 12).

Four 2-vCPU guests start together in the 4-CPU KVM host (2 vCPUs per L1
CPU), round after round, smpvisor and QEMU alternated in the same run
(tests/system/stress.py). Every guest must reach the agent; smpvisor may
never lose more guests than QEMU over the same rounds. The console of a
guest that dies (with earlyprintk, so even a death before the console
driver shows) is in the failure message."""
import pytest

from stress import stress

APPEND = "earlyprintk=serial,ttyS0"


def _check(tallies):
    sv, q = tallies["smpvisor"], tallies["qemu"]
    why = f"smpvisor: {sv}; QEMU: {q}\n" + "\n".join(sv.failures + q.failures)[-12000:]
    assert sv.died <= q.died, why
    assert sv.died == 0, why
    return why


def test_four_guests_at_once(kvmhost, test_guest):
    """The core-set variant: one round of each VMM."""
    t = stress(kvmhost, *test_guest, guests=4, rounds=1, append=APPEND)
    print(_check(t).splitlines()[0])


@pytest.mark.slow
def test_four_guests_at_once_five_rounds(kvmhost, test_guest):
    t = stress(kvmhost, *test_guest, guests=4, rounds=5, append=APPEND)
    print(_check(t).splitlines()[0])
