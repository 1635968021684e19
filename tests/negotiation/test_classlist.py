"""Match lists by content class (classlist.py) and the pool journal they follow: positions against a
plain lexicographic sort, judgements shared only by jobs that read alike, class ids kept in step with
claims and releases, and the engine's choice of list."""

from __future__ import annotations

import math
import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from condorfed.core.classads.values import Ad, Expr
from condorfed.core.fairshare import UsageState
from condorfed.core.negotiation import JobGroup, NegotiatorConfig, SlotPool, classlist, negotiate_demand
from condorfed.core.negotiation import pool as pool_module
from condorfed.core.negotiation.classlist import ClassMatchList, dense_ranks
from condorfed.core.negotiation.content import ContentClasses
from condorfed.core.negotiation.matchlist import MatchList

CFG = NegotiatorConfig()
keys = st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5, math.inf, -math.inf, math.nan, 3.4028234663852886e38])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(keys, keys, keys), max_size=12))
def test_dense_ranks_order_rows_as_a_lexicographic_sort_with_nan_last(rows):
    arr = np.array(rows, dtype=np.float64).reshape(len(rows), 3)
    ranks = dense_ranks(arr).tolist()

    def key(row):  # NaN after every number and equal to NaN; -0.0 equals 0.0
        return tuple((1, 0.0) if math.isnan(x) else (0, x) for x in row)

    for a in range(len(rows)):
        for b in range(len(rows)):
            ka, kb = key(rows[a]), key(rows[b])
            assert (ranks[a] < ranks[b]) == (ka < kb)
            assert (ranks[a] == ranks[b]) == (ka == kb)
    assert sorted(set(ranks)) == list(range(len(set(ranks))))  # dense: 0, 1, 2, ...


def machine(m: int, cpus: int = 8) -> Ad:
    return Ad(
        Name=f"slot1@m{m}",
        Arch="X86_64",
        OpSys="LINUX",
        Memory=cpus * 2048,
        Disk=cpus * 10**6,
        Cpus=cpus,
        START=True,
        Requirements=Expr("START"),
        PartitionableSlot=True,
        State="Unclaimed",
    )


def job(owner: str, memory: int) -> Ad:
    return Ad(
        Owner=owner,
        RequestCpus=1,
        RequestMemory=memory,
        RequestDisk=1000,
        Requirements=Expr('(TARGET.Memory >= RequestMemory) && (TARGET.Arch == "X86_64")'),
    )


def lists_of(pool: SlotPool, *ads: Ad) -> list[ClassMatchList]:
    out = []
    for ad in ads:
        ml = ClassMatchList.for_job(ad, str(ad["Owner"]), pool, _evaluator(), CFG, remaining=1)
        assert ml is not None
        out.append(ml)
    return out


def _evaluator():
    from condorfed.core.negotiation.evaluation import default_evaluator

    return default_evaluator()


def test_jobs_that_read_alike_share_judgements_and_others_do_not():
    pool = SlotPool([machine(m) for m in range(4)])
    alice, bob, big = lists_of(pool, job("alice", 1000), job("bob", 1000), job("carol", 4000))
    assert alice._v is bob._v  # Owner is read by nothing here: the same verdicts
    assert alice._v is not big._v  # RequestMemory is read by Requirements


def test_a_job_whose_owner_is_read_by_start_gets_its_own_judgements():
    pool = SlotPool([Ad(machine(m), START=Expr('TARGET.Owner == "alice"')) for m in range(4)])
    alice, bob = lists_of(pool, job("alice", 1000), job("bob", 1000))
    assert alice._v is not bob._v
    assert alice.peek() is not None and bob.peek() is None


def test_class_ids_follow_claims_and_releases_through_the_journal():
    rng = random.Random(7)
    pool = SlotPool([machine(m, rng.choice([4, 8, 16])) for m in range(12)])
    attrs = ("cpus", "disk", "gpus", "memory", "partitionableslot", "slottype")
    classes = ContentClasses.of(pool)
    claims: list[int] = []
    for _ in range(300):
        if claims and rng.random() < 0.4:
            pool.release(claims.pop(rng.randrange(len(claims))))
        else:
            free = [i for i in range(len(pool)) if pool.column("cpus")[i] >= 1]
            if free:
                claims.append(pool.claim(rng.choice(free), 1, 1024, 1000, 0, "alice", None))
        if rng.random() < 0.5:  # read now and then: the journal spans several changes
            got = classes.every_class_id(pool, attrs).copy()
            fresh = ContentClasses()  # computed from scratch, version by version
            want = fresh.every_class_id(pool, attrs)
            # ids are handed out in a different order: compare the partitions they induce
            assert len(set(zip(got.tolist(), want.tolist(), strict=True))) == len(set(got.tolist()))
            assert len(set(got.tolist())) == len(set(want.tolist()))


def test_the_journal_reaches_back_only_so_far(monkeypatch):
    monkeypatch.setattr(pool_module, "JOURNAL_KEEP", 4)
    pool = SlotPool([machine(m) for m in range(3)])
    moved, mark = pool.changed_since(-1)
    assert moved is None and mark == 0
    ids = [pool.claim(m % 3, 1, 1024, 1000, 0, "alice", None) for m in range(5)]
    moved, mark2 = pool.changed_since(mark)
    assert moved == [0, 1, 2, 0, 1] and mark2 == 5
    for cid in ids:
        pool.release(cid)
    assert pool.changed_since(mark)[0] is None  # trimmed: the reader compares versions instead
    assert pool.changed_since(mark2 + 3)[0] == [0, 1]


def test_the_engine_uses_sorted_lists_for_large_or_one_cycle_pools(monkeypatch):
    demand = [JobGroup(job("alice", 1000), "alice@x", None, 3, key=0)]
    kept = SlotPool([machine(m) for m in range(4)])
    negotiate_demand(demand, kept, CFG, UsageState(), 0.0)
    assert [type(ml) for ml in kept.match_lists.values()] == [ClassMatchList]
    monkeypatch.setattr(classlist, "MAX_SLOTS", 3)
    bigger = SlotPool([machine(m) for m in range(4)])
    negotiate_demand(demand, bigger, CFG, UsageState(), 0.0)
    assert [type(ml) for ml in bigger.match_lists.values()] == [MatchList]
    one_cycle = SlotPool([machine(0)], cache_matches=False)
    assert ClassMatchList.for_job(job("a", 1), "a", one_cycle, _evaluator(), CFG, remaining=1) is None


def test_an_expression_reading_the_clock_gets_a_sorted_list():
    pool = SlotPool([Ad(machine(m), START=Expr("time() > 0")) for m in range(4)])
    assert ClassMatchList.for_job(job("a", 1), "a", pool, _evaluator(), CFG, remaining=1) is None


def test_claim_many_equals_claims_one_after_another():
    one, many = SlotPool([machine(0, 16)]), SlotPool([machine(0, 16)])
    request = (1.0, 1000.5, 1000.0, 0.0)  # a fractional memory request: the floats must agree
    ids_one = [one.claim(0, *request, "alice", "atlas") for _ in range(5)]
    ids_many = many.claim_many(0, 5, *request, "alice", "atlas")
    assert ids_one == ids_many
    assert [one.claims[i] for i in ids_one] == [many.claims[i] for i in ids_many]
    assert dict(one.ads[0].lower_items()) == dict(many.ads[0].lower_items())
    for r in ("cpus", "memory", "disk", "gpus"):
        assert one.column(r)[0] == many.column(r)[0]
    assert one.usage_by_submitter() == many.usage_by_submitter()


def test_a_p_slot_that_stays_first_takes_a_run_of_jobs_in_one_claim(monkeypatch):
    pool = SlotPool([machine(m, 8) for m in range(3)])
    calls: list[int] = []
    claim_many = SlotPool.claim_many
    monkeypatch.setattr(
        SlotPool, "claim_many", lambda self, i, n, *a: calls.append(n) or claim_many(self, i, n, *a)
    )
    demand = [JobGroup(job("alice", 1000), "alice@x", None, 20, key=0)]
    result = negotiate_demand(demand, pool, CFG, UsageState(), 0.0)
    # The default NEGOTIATOR_PRE_JOB_RANK prefers the slot with fewer cpus left: once slot 0 is
    # taken it stays first until it is full, so each slot is filled by one claim.
    assert [(m.slot, m.count) for m in result.matches] == [(0, 8), (1, 8), (2, 4)]
    assert calls == [8, 8, 4]
