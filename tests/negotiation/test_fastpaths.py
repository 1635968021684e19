"""The engine's shortcuts give exactly what the plain computation gives: autocluster runs found by
comparing significant values against significant_key job by job, the reduced sort against a full
lexsort, job-only request detection, and the shared START cache against a direct evaluation."""

from __future__ import annotations

import gc
import random

import numpy as np
import pytest

from condorfed.core.classads.values import UNDEFINED, Ad, Expr
from condorfed.core.fairshare import UsageState
from condorfed.core.negotiation import NegotiatorConfig, SlotPool, cycle, default_evaluator, negotiate
from condorfed.core.negotiation import pool as pool_mod
from condorfed.core.negotiation.autocluster import significant_key
from condorfed.core.negotiation.cycle import _runs
from condorfed.core.negotiation.evaluation import SlotRows
from condorfed.core.negotiation.judge import _reads_job_only
from condorfed.core.negotiation.matchlist import _best_first
from condorfed.core.negotiation.slotonly import slot_truth

from .conftest import jobs as make_jobs
from .conftest import slots

SIDE = frozenset({"owner", "requestcpus", "x"})


def _reference_runs(jobs, idx):
    runs, prev = [], None
    for i in idx:
        key = significant_key(jobs[i], SIDE)
        if runs and key == prev:
            runs[-1].append(i)
        else:
            runs.append([i])
        prev = key
    return runs


# Values that Python considers equal but ClassAd does not (1, 1.0, true), expressions, missing.
VALUES = [1, 1.0, True, 2, "a", "A", Expr("a"), Expr("Y + 1"), UNDEFINED, None]


@pytest.mark.parametrize("seed", range(20))
def test_runs_match_significant_key(seed):
    rng = random.Random(seed)
    jobs = []
    for _ in range(60):
        ad = Ad(Owner=rng.choice(["alice", "bob"]), RequestCpus=rng.choice([1, 1, 1, 1.0, True]))
        for name in ("X", "Y"):
            v = rng.choice(VALUES)
            if v is not None:
                ad[name] = v
        ad["Requirements"] = Expr(rng.choice(["TARGET.Cpus >= RequestCpus", "Z > 1 && X =?= 1"]))
        if rng.random() < 0.5:
            ad["Z"] = rng.choice([1, 2, Expr("Y")])
        jobs.append(ad)
    idx = list(range(len(jobs)))
    assert _runs(jobs, idx, SIDE, ()) == _reference_runs(jobs, idx)


@pytest.mark.parametrize("seed", range(20))
def test_runs_match_significant_key_sparse_ads(seed):
    """Ads with none, one or a few significant attributes (the run start's lookup has 0, 1 or more
    names), and a value stored as None."""
    rng = random.Random(seed)
    jobs = []
    for _ in range(60):
        ad = Ad()
        for name in rng.sample(["Owner", "RequestCpus", "X"], rng.randint(0, 2)):
            ad[name] = rng.choice([1, 1.0, "a", Expr("a"), None])
        jobs.append(ad)
    idx = list(range(len(jobs)))
    assert _runs(jobs, idx, SIDE, ()) == _reference_runs(jobs, idx)


@pytest.mark.parametrize("seed", range(10))
def test_best_first_is_lexsort_with_slot_ties(seed):
    rng = np.random.default_rng(seed)
    n = 200
    keys = [
        rng.integers(0, 3, n).astype(float),
        np.zeros(n),
        rng.choice([0.0, -0.0, 1.5, np.nan], n),
        np.full(n, -2.0),
        rng.integers(0, 2, n).astype(float),
    ]
    slots_ = np.arange(n)
    expected = np.lexsort((slots_, *keys[::-1]))
    assert _best_first(keys).tolist() == expected.tolist()


@pytest.mark.parametrize(
    ("attrs", "attr", "job_only"),
    [
        pytest.param({"RequestDisk": Expr("DiskUsage"), "DiskUsage": 5}, "RequestDisk", True, id="job-attr"),
        pytest.param({"RequestDisk": Expr("DiskUsage")}, "RequestDisk", False, id="falls-to-slot"),
        pytest.param({"RequestDisk": Expr("MY.DiskUsage * 2")}, "RequestDisk", True, id="my-missing"),
        pytest.param({"RequestMemory": Expr("TARGET.Memory / 2")}, "RequestMemory", False, id="target"),
        pytest.param(
            {"RequestMemory": Expr("ifThenElse(M =!= undefined, M, 1024)"), "M": Expr("TARGET.Memory")},
            "RequestMemory",
            False,
            id="nested-target",
        ),
        pytest.param({"RequestMemory": Expr('eval("Memory")')}, "RequestMemory", False, id="eval"),
        pytest.param({"Rank": Expr("size(unparse(TARGET))")}, "Rank", False, id="bare-target"),
        pytest.param({"RequestCpus": 2}, "RequestCpus", True, id="literal"),
    ],
)
def test_reads_job_only(attrs, attr, job_only):
    assert _reads_job_only(Ad(attrs), attr) is job_only


START = [
    Expr('(TARGET.Owner =!= "banned") && (KeyboardIdle > 0 || State =!= "Owner")'),
    Expr("isUndefined(TARGET.MaxRuntime) || TARGET.MaxRuntime <= 86400"),
    Expr("(TARGET.RequestGPUs > 0) || (Cpus >= 6 && TARGET.RequestCpus <= 2)"),
    Expr("TARGET.Weird =?= 1 || Rate > 3"),
]


def test_slot_truth_equals_direct_evaluation():
    rng = random.Random(7)
    ads = slots(40, Cpus=8, KeyboardIdle=0)
    for i, ad in enumerate(ads):
        ad["START"] = START[i % len(START)]
        ad["State"] = rng.choice(["Owner", "Unclaimed"])
        ad["PartitionableSlot"] = True
        if i % 3:
            ad["Rate"] = Expr("TARGET.RequestCpus * 2")
    pool = SlotPool(ads)
    ev = default_evaluator()
    cfg = NegotiatorConfig.from_params({})
    assert cfg is not None
    rows = np.arange(len(pool))
    for step in range(60):
        job = Ad(
            Owner=rng.choice(["banned", "alice"]),
            RequestCpus=rng.choice([1, 2, 4, 1.0]),
            RequestGPUs=rng.choice([0, 1]),
        )
        if rng.random() < 0.5:
            job["MaxRuntime"] = rng.choice([3600, 100000])
        if rng.random() < 0.3:
            job["Weird"] = rng.choice([1, 1.0, True, Expr("RequestCpus")])
        if rng.random() < 0.2:
            job["Cpus"] = 1  # an unscoped slot name the job also has
        sub = rows if step % 2 else np.array(sorted(rng.sample(range(len(pool)), 15)))
        got = slot_truth(pool, ev, "MY.Requirements", job, sub)
        want = ev.truth("MY.Requirements", SlotRows(pool, sub), job)
        assert got.tolist() == want.tolist(), step
        s = rng.randrange(len(pool))  # claims change slots between asks
        if pool.column("cpus")[s] >= 1:
            pool.claim(s, 1, 0, 0, 0, "x", None)


class _Counting:
    """The default evaluator, recording how many slot rows each truth() call evaluates."""

    def __init__(self):
        self.inner = default_evaluator()
        self.name = self.inner.name
        self.rows: list[int] = []

    def truth(self, expr, my, target):
        self.rows.append(len(my.rows) if isinstance(my, SlotRows) else len(target.rows))
        return self.inner.truth(expr, my, target)


def test_slot_truth_is_shared_per_shape():
    # Two shapes of slot: one START reads the job's Owner, the other its MaxRuntime. A job that differs
    # from an earlier one only in what one shape reads re-evaluates only that shape's slots.
    ads = slots(20, Cpus=8)
    for i, ad in enumerate(ads):
        ad["START"] = START[0] if i < 10 else START[1]
    pool = SlotPool(ads)
    ev = _Counting()
    rows = np.arange(len(pool))
    asked = [("alice", 3600, 20), ("alice", 100000, 10), ("banned", 3600, 10), ("banned", 100000, 0)]
    for owner, runtime, evaluated in asked:
        ev.rows.clear()
        job = Ad(Owner=owner, MaxRuntime=runtime)
        got = slot_truth(pool, ev, "MY.Requirements", job, rows)
        assert got.tolist() == ev.inner.truth("MY.Requirements", SlotRows(pool, rows), job).tolist()
        assert sum(ev.rows) == evaluated, (owner, runtime)


CLAUSES = [
    'TARGET.Arch == "X86_64"',  # reads no resource: kept across claims
    'stringListMember(TARGET.Site, "a,b")',
    "TARGET.Memory >= RequestMemory",  # reads a resource: re-evaluated after claims
    "Cpus >= RequestCpus",  # unscoped: the slot's Cpus through Old-ClassAd lookup
    "TARGET.Big =?= true",  # Big is an expression over the slot's resources
]


def test_clause_truth_equals_direct_evaluation_across_claims():
    from condorfed.core.negotiation.slotonly import clause_truth

    rng = random.Random(11)
    ads = slots(30, Cpus=8, Memory=16384, PartitionableSlot=True, Big=Expr("Memory > 8000"))
    for i, ad in enumerate(ads):
        ad["Site"] = "ab"[i % 2] if i % 5 else "c"
        ad["Arch"] = "X86_64" if i % 4 else "aarch64"
    pool = SlotPool(ads)
    ev = default_evaluator()
    rows = np.arange(len(pool))
    for step in range(80):
        job = Ad(RequestCpus=rng.choice([1, 2]), RequestMemory=rng.choice([1000, 4000]))
        clause = rng.choice(CLAUSES)
        sub = rows if step % 3 else np.array(sorted(rng.sample(range(len(pool)), 10)))
        got = clause_truth(pool, ev, clause, job, sub)
        want = ev.truth(clause, job, SlotRows(pool, sub))
        if got is not None:
            assert got.tolist() == want.tolist(), (step, clause)
        s = rng.randrange(len(pool))
        if pool.column("cpus")[s] >= 2 and pool.column("memory")[s] >= 4000:
            pool.claim(s, 2, 4000, 0, 0, "x", None)


@pytest.mark.parametrize("enabled", [True, False], ids=["gc-enabled", "gc-disabled"])
def test_negotiate_pauses_the_cyclic_gc_and_restores_its_state(enabled, monkeypatch):
    """negotiate() runs with the cyclic collector off and leaves it as the caller had it."""
    seen = []
    real = cycle._negotiate
    monkeypatch.setattr(cycle, "_negotiate", lambda *a: seen.append(gc.isenabled()) or real(*a))
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        result = negotiate(make_jobs(3), slots(2), NegotiatorConfig(), UsageState(), 0.0)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
    assert seen == [False]
    assert len(result.matches) == 2


# Slot ads whose values take SlotPool.add's direct paths and its helper paths.
ODD_SLOTS = {
    "plain-unclaimed": dict(State="Unclaimed", Cpus=4, Memory=8192, PartitionableSlot=True, Rank=0.0),
    "claimed-state": dict(State="Claimed", RemoteUser="bob@x", Cpus=1, Rank=1, CurrentRank=2),
    "preempting-accounting-group": dict(State="Preempting", AccountingGroup="group_a.b", RemoteUser="b@x"),
    "owner-state-with-remote-user": dict(State="Owner", RemoteOwner="carol@x"),
    "no-state-remote-owner": dict(RemoteOwner="carol@x", Cpus=2.5),
    "state-as-expression": dict(State=Expr('"Claimed"'), RemoteUser="dave@x"),
    "unclaimed-upper-case": dict(State="UNCLAIMED", SlotType="Partitionable"),
    "bool-and-string-resources": dict(Cpus=True, Memory="4096", Disk=UNDEFINED, GPUs=Expr("1 + 1")),
    "no-resources": dict(Name=7),
    "partitionable-as-int": dict(PartitionableSlot=1, SlotType="Static"),
    "rank-expression": dict(Rank=Expr('TARGET.Owner == "x"'), CurrentRank=0),
    "rank-above-current": dict(Rank=5, CurrentRank=1.5),
    "rank-bool": dict(Rank=True, CurrentRank=0),
    "current-rank-undefined": dict(Rank=1, CurrentRank=UNDEFINED),
    "huge-int-rank": dict(Rank=2**53 + 1, CurrentRank=float(2**53)),
}


def test_slot_pool_columns_follow_the_slot_helpers():
    """SlotPool.add reads common values directly; every column must equal what the module's helpers
    (which define the semantics) say for each ad."""
    ads = [Ad(attrs) for attrs in ODD_SLOTS.values()]
    pool = SlotPool(ads)
    for i, (case, ad) in enumerate(zip(ODD_SLOTS, ads, strict=True)):
        claimed = pool_mod.slot_is_claimed(ad)
        assert pool.claimed[i] == claimed, case
        assert pool.remote[i] == (pool_mod.slot_remote_submitter(ad) if claimed else None), case
        assert pool.partitionable[i] == pool_mod.slot_is_partitionable(ad), case
        assert pool.rank_preemptible[i] == pool_mod._may_rank_preempt(ad), case
        assert pool.names[i] == (ad.get("Name") if isinstance(ad.get("Name"), str) else f"slot#{i}"), case
        for r in pool_mod.RESOURCES:
            assert pool.column(r)[i] == pool_mod._num(ad, r, 1.0 if r == "cpus" else 0.0), (case, r)
            assert pool.has_attr[r][i] == (r in ad), (case, r)


def test_job_only_requests_are_remembered_per_value():
    # RequestDisk = DiskUsage reads only the job: its value is remembered across autoclusters with
    # equal DiskUsage, and only those. The second cluster asks more disk than any slot has.
    ads = slots(70, Cpus=4, Disk=3000, PartitionableSlot=True)
    small = make_jobs(3, cluster=1, RequestDisk=Expr("DiskUsage"), DiskUsage=1000)
    big = make_jobs(3, cluster=2, RequestDisk=Expr("DiskUsage"), DiskUsage=5000)
    again = make_jobs(3, cluster=3, RequestDisk=Expr("DiskUsage"), DiskUsage=1000, RequestMemory=512)
    result = negotiate([*small, *big, *again], ads, NegotiatorConfig(), UsageState(), 0.0)
    matched = sorted({m.job.split(".")[0] for m in result.matches})
    assert matched == ["1", "3"]
    assert all(m.disk == 1024 for m in result.matches)  # 1000 KB, quantized to 1024


@pytest.mark.parametrize(
    "expr",
    [
        NegotiatorConfig().pre_job_rank,  # reads Cpus and Memory: re-evaluated after claims
        NegotiatorConfig().post_job_rank,  # reads no resource: kept across claims
    ],
)
def test_slot_values_equal_direct_evaluation_across_claims(expr):
    from condorfed.core.negotiation.slotonly import _EMPTY, slot_values

    rng = random.Random(5)
    ads = slots(30, Cpus=8, Memory=16384, PartitionableSlot=True)
    for i, ad in enumerate(ads):
        ad["SlotID"] = i % 3 + 1
        if i % 4 == 0:
            ad["KFlops"] = 1000 + i
    pool = SlotPool(ads)
    ev = default_evaluator()
    rows = np.arange(len(pool))
    for step in range(40):
        sub = rows if step % 2 else np.array(sorted(rng.sample(range(len(pool)), 8)))
        got = slot_values(pool, ev, expr, -1.0, sub)
        want = ev.number(expr, SlotRows(pool, sub), _EMPTY, -1.0)
        assert got.tolist() == want.tolist(), step
        s = rng.randrange(len(pool))
        if pool.column("cpus")[s] >= 2:
            pool.claim(s, 2, 1000, 0, 0, "x", None)


@pytest.mark.parametrize("keep", [1 << 16, 3], ids=["journal", "journal-trimmed"])
def test_the_slot_table_follows_claims_and_releases(keep, monkeypatch):
    """The vectorized evaluator patches its encoded slot table from the pool's journal (or replaces
    whole columns once the journal no longer reaches back); classad2, reading the ads, is the oracle.
    Cached clause values asked for through the pool's shared id arrays must follow too."""
    from condorfed.core.negotiation import Classad2Evaluator, VectorEvaluator
    from condorfed.core.negotiation.slotonly import clause_truth

    monkeypatch.setattr(pool_mod, "JOURNAL_KEEP", keep)
    rng = random.Random(3)
    pool = SlotPool(slots(12, Cpus=8, Memory=16384, PartitionableSlot=True))
    fast, oracle = VectorEvaluator(), Classad2Evaluator()
    job = Ad(RequestCpus=2, RequestMemory=4000)
    clause = "TARGET.Memory >= 6000"
    claims: list[int] = []
    for step in range(60):
        every = SlotRows(pool, np.arange(len(pool)))
        assert fast.number("Memory + Cpus", every, job, -1.0).tolist() == (
            oracle.number("Memory + Cpus", every, job, -1.0).tolist()
        ), step
        for ids in (pool.alive_ids(), pool.free_ids(), pool.alive_ids()):
            for _ in range(2):  # asked twice: the second answer comes from the remembered check
                got = clause_truth(pool, fast, clause, job, ids)
                if got is not None:
                    assert got.tolist() == oracle.truth(clause, job, SlotRows(pool, ids)).tolist(), step
        for _ in range(rng.randint(1, 3)):
            s = rng.randrange(len(pool))
            if claims and rng.random() < 0.4:
                pool.release(claims.pop(rng.randrange(len(claims))))
            elif pool.column("cpus")[s] >= 2 and pool.column("memory")[s] >= 4000:
                claims.append(pool.claim(s, 2, 4000, 0, 0, "x", None))
