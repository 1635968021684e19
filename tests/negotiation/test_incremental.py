"""The incremental (simulator) level: a persistent SlotPool, JobGroup demand, claims and releases."""

from __future__ import annotations

import pytest

from condorfed.core.fairshare import UsageState
from condorfed.core.negotiation import JobGroup, NegotiatorConfig, SlotPool, negotiate, negotiate_demand

from .conftest import jobs, slots

CFG = NegotiatorConfig()


def pslots(n: int, cpus: int = 8) -> list:
    return slots(n, PartitionableSlot=True, SlotType="Partitionable", Cpus=cpus, Memory=cpus * 2048)


def test_same_matches_as_the_ad_level():
    js = jobs(20, "alice", 1) + jobs(12, "bob", 2, RequestCpus=2)
    ads = pslots(4)
    by_ads = negotiate(js, ads, CFG, UsageState(), 0.0)
    pool = SlotPool(ads)
    demand = [JobGroup(js[0], "alice@cern.ch", None, 20), JobGroup(js[20], "bob@cern.ch", None, 12)]
    result = negotiate_demand(demand, pool, CFG, UsageState(), 0.0)
    per_group = {}
    for m in result.matches:
        per_group.setdefault(m.group.submitter, []).extend([pool.names[m.slot]] * m.count)
    expected = {}
    for m in by_ads.matches:
        expected.setdefault(m.submitter, []).append(m.slot)
    assert per_group == expected


def test_claims_release_and_machines_leaving_across_cycles():
    pool = SlotPool(pslots(2, cpus=4))
    job = jobs(1)[0]
    demand = [JobGroup(job, "alice@cern.ch", None, 10, key="g")]
    r1 = negotiate_demand(demand, pool, CFG, UsageState(), 0.0)
    assert sum(m.count for m in r1.matches) == 8
    assert pool.usage_by_submitter() == {"alice@cern.ch": 8.0}
    assert pool.total_weight() == pytest.approx(8.0)
    # nothing left: a second cycle matches nothing
    r2 = negotiate_demand([JobGroup(job, "alice@cern.ch", None, 2)], pool, CFG, r1.usage, 60.0)
    assert r2.matches == ()
    # one job finishes: its core comes back and is handed out again
    first_claim = r1.matches[0].claims[0]
    slot = r1.matches[0].slot
    pool.release(first_claim)
    assert pool.column("cpus")[slot] == 1
    r3 = negotiate_demand([JobGroup(job, "alice@cern.ch", None, 2)], pool, CFG, r2.usage, 120.0)
    assert [(m.slot, m.count) for m in r3.matches] == [(slot, 1)]
    # a machine leaves: its claims go with it, a new one arrives
    lost = pool.remove([slot])
    assert len(lost) == 4
    (new,) = pool.add(pslots(1, cpus=2))
    r4 = negotiate_demand([JobGroup(job, "alice@cern.ch", None, 5)], pool, CFG, r3.usage, 180.0)
    assert [(m.slot, m.count) for m in r4.matches] == [(new, 2)]
    assert pool.usage_by_submitter() == {"alice@cern.ch": 6.0}


def test_rejected_entries_report_a_reason():
    pool = SlotPool(pslots(1))
    big = jobs(1, RequestMemory=10**7)[0]
    g = JobGroup(big, "alice@cern.ch", None, 3)
    result = negotiate_demand([g], pool, CFG, UsageState(), 0.0)
    assert result.rejected[id(g)] == "no slot satisfies the job's Requirements"


def test_an_autocluster_seen_on_an_empty_pool_matches_once_machines_join():
    pool = SlotPool()
    job = jobs(1)[0]
    first = negotiate_demand([JobGroup(job, "alice@cern.ch", None, 3)], pool, CFG, UsageState(), 0.0)
    assert first.matches == ()
    pool.add(pslots(1, cpus=2))
    second = negotiate_demand([JobGroup(job, "alice@cern.ch", None, 3)], pool, CFG, first.usage, 60.0)
    assert sum(m.count for m in second.matches) == 2
