"""The simulator's adapter over the negotiation engine: what it hands back to the pool, and when."""

from __future__ import annotations

from condorfed.core.negotiation import NegotiatorConfig
from condorfed.sim.engine import EngineMatchmaker
from condorfed.sim.federation_view import ClusterSpec
from condorfed.sim.jobs import job_ad
from condorfed.sim.ports import Demand
from condorfed.sim.simulation import slot_ad, template_ads
from condorfed.sim.trace import TraceEntry

SPEC = ClusterSpec("a", False, 1, 4, 16000, 0, 0)
JOB = job_ad(TraceEntry(0.0, "alice", 100.0, 1, 1000, 0, 0, None, None, 1), cluster_id=1)


def _matchmaker() -> EngineMatchmaker:
    mm = EngineMatchmaker(NegotiatorConfig(), template_ads([SPEC]))
    mm.add_slot(7, slot_ad(SPEC, "slot1@a-0", 4, 16000, 1024, 0))
    return mm


def _cycle(mm: EngineMatchmaker, idle: int, now: float):
    return mm.negotiate([Demand(0, JOB, "alice@sim", None, idle)], {}, now)


def test_jobs_that_ended_between_cycles_free_their_cores_for_the_next_cycle():
    mm = _matchmaker()
    first = _cycle(mm, 6, 0.0)
    assert sum(g.count for g in first) == 4 and {g.slot for g in first} == {7}
    assert _cycle(mm, 2, 60.0) == []  # the slot is full
    claims = tuple(c for g in first for c in g.claims)
    mm.release(7, claims[:1])
    mm.release(7, claims[1:3])  # two runs ended: three cores back before the next cycle
    again = _cycle(mm, 6, 120.0)
    assert sum(g.count for g in again) == 3
    assert len(mm.pool.claims) == 4


def test_a_slot_that_leaves_with_ended_jobs_unreleased_leaves_the_pool_consistent():
    mm = _matchmaker()
    claims = tuple(c for g in _cycle(mm, 4, 0.0) for c in g.claims)
    mm.release(7, claims[:2])
    mm.remove_slot(7)  # the ended claims go back first, then the slot and the rest go
    assert mm.pool.claims == {} and not mm.pool.alive.any()  # its claims went with it
    mm.release(7, claims[2:])  # the rest end after the slot left: nothing to hand back
    assert _cycle(mm, 1, 60.0) == []
    mm.add_slot(8, slot_ad(SPEC, "slot1@a-1", 4, 16000, 1024, 0))
    assert sum(g.count for g in _cycle(mm, 6, 120.0)) == 4
