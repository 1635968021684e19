"""Content classes: evaluating once per class of look-alike slots gives exactly classad2's answers.

The oracle is :class:`Classad2Evaluator` (classad2, pair by pair) on the same rows; the pools are
drawn from small value domains so that slots collide into classes, and changed by claims between
calls so that remembered results are used.
"""

from __future__ import annotations

import htcondor2  # noqa: F401  -- registers HTCondor's ClassAd functions (stringListMember, ...)
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from condorfed.core.classads.values import UNDEFINED, Ad, Expr
from condorfed.core.negotiation import Classad2Evaluator, SlotPool
from condorfed.core.negotiation.content import slot_attributes_read, value_key
from condorfed.core.negotiation.evaluation import ContentEvaluator, SlotRows

STARTS = [
    Expr("true"),
    Expr('(TARGET.Owner =!= "banned") && (KeyboardIdle > 0 || State =!= "Owner")'),
    Expr("(TARGET.RequestGPUs > 0) || (Cpus >= 6 && TARGET.RequestCpus <= 2)"),
    Expr("isUndefined(TARGET.MaxRuntime) || TARGET.MaxRuntime <= Cpus * 3600"),
    Expr("Memory / Cpus >= TARGET.RequestMemory"),
]
EXPRESSIONS = [
    "MY.Requirements",
    "TARGET.Requirements",
    'TARGET.Arch == "X86_64" && TARGET.Memory >= RequestMemory',
    "Memory >= RequestMemory && Cpus >= RequestCpus",  # bare names: Old-ClassAd lookup
    "TARGET.Memory / 1024 + TARGET.Cpus",
    "ifThenElse(TARGET.GPUs > 0, 10, TARGET.Memory / 3)",
    'stringListMember(TARGET.Site, "a,c")',
    "KeyboardIdle",
    "TARGET.Disk >= RequestDisk || TARGET.Missing =?= undefined",
]

slot_ads = st.fixed_dictionaries(
    {
        "Arch": st.sampled_from(["X86_64", "aarch64"]),
        "Cpus": st.sampled_from([1, 2, 8]),
        "Memory": st.sampled_from([2048, 2048.0, 8192]),
        "Disk": st.sampled_from([1000, 10**6]),
        "GPUs": st.sampled_from([0, 1]),
        "Site": st.sampled_from(["a", "b", "c"]),
        "State": st.sampled_from(["Unclaimed", "Owner"]),
        "KeyboardIdle": st.sampled_from([0, 5]),
        "START": st.sampled_from(STARTS),
    },
    optional={"RequestMemory": st.sampled_from([1, 4096]), "Missing": st.sampled_from([UNDEFINED, 3])},
)
job_ads = st.fixed_dictionaries(
    {
        "Owner": st.sampled_from(["alice", "banned"]),
        "RequestCpus": st.sampled_from([1, 2]),
        "RequestMemory": st.sampled_from([1000, 3000, 9000]),
        "RequestDisk": st.sampled_from([500, 5000]),
        "Requirements": st.sampled_from([Expr("TARGET.Cpus >= RequestCpus"), Expr("Memory > RequestMemory")]),
    },
    optional={"RequestGPUs": st.sampled_from([0, 1]), "MaxRuntime": st.sampled_from([3600, 10**6])},
)


def _pool(ads: list[dict]) -> SlotPool:
    slots = []
    for i, attrs in enumerate(ads):
        ad = Ad(attrs)
        ad.update({"Name": f"slot{i}", "PartitionableSlot": True, "Requirements": Expr("START")})
        slots.append(ad)
    return SlotPool(slots)


def _both(ev, ref, expr: str, job: Ad, rows: SlotRows) -> None:
    for my, target in ((rows, job), (job, rows)):
        assert ev.truth(expr, my, target).tolist() == ref.truth(expr, my, target).tolist(), (expr, my is job)
        got = ev.number(expr, my, target, -1.5).tolist()
        assert got == ref.number(expr, my, target, -1.5).tolist(), (expr, my is job)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(slot_ads, min_size=2, max_size=14),
    job_ads,
    st.sampled_from(EXPRESSIONS),
    st.lists(st.tuples(st.integers(0, 13), st.sampled_from([1, 2])), max_size=6),
)
def test_once_per_class_equals_classad2(ads, job_attrs, expr, claims):
    pool, job = _pool(ads), Ad(job_attrs)
    ev, ref = ContentEvaluator(Classad2Evaluator()), Classad2Evaluator()
    everything = SlotRows(pool, np.arange(len(pool)))
    _both(ev, ref, expr, job, everything)
    # Claims change resources: changed slots move to other classes, remembered results stay right.
    for slot, cpus in claims:
        if slot < len(pool) and pool.column("cpus")[slot] >= cpus:
            pool.claim(slot, cpus, 512, 0, 0, "alice", None)
    _both(ev, ref, expr, job, everything)
    _both(ev, ref, expr, job, SlotRows(pool, np.arange(len(pool))[::2]))
    # p-slot states "after k more jobs": overridden resources.
    n = len(pool)
    states = {"cpus": np.arange(n) % 3 + 0.0, "memory": np.full(n, 2048.0) - 1024 * (np.arange(n) % 2)}
    _both(ev, ref, expr, job, SlotRows(pool, np.arange(n), states))


def test_an_edited_job_ad_is_not_served_stale_results():
    pool = _pool([{"Cpus": 4, "Memory": 4096, "START": STARTS[0]}] * 3)
    ev = ContentEvaluator(Classad2Evaluator())
    job = Ad({"RequestMemory": 1000})
    rows = SlotRows(pool, np.arange(3))
    assert ev.truth("TARGET.Memory >= RequestMemory", job, rows).tolist() == [True] * 3
    job["RequestMemory"] = 5000
    assert ev.truth("TARGET.Memory >= RequestMemory", job, rows).tolist() == [False] * 3


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("TARGET.Memory >= RequestMemory", ("memory", "requestmemory")),  # RequestMemory may be the slot's
        ("MY.Requirements", ("cpus", "keyboardidle", "requirements", "start", "state")),
        ("TARGET.Memory > time()", None),  # the clock: no class shares a result across calls
        ('eval("Memory") > 1', None),  # reads attributes by string
        ("size(TARGET) > 1", None),  # a whole ad
    ],
    ids=["job-side", "slot-start-followed", "time", "eval", "whole-ad"],
)
def test_attributes_read(expr, expected):
    pool = _pool([{"Cpus": 1, "START": STARTS[1]}, {"Cpus": 2, "START": STARTS[2]}])
    job = Ad({"RequestMemory": 1, "Requirements": Expr("true")})
    my_is_slot = expr.startswith("MY.")
    assert slot_attributes_read(pool, expr, job, my_is_slot=my_is_slot) == expected


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [(1, 1.0, False), (1, True, False), (0.0, -0.0, False), ("x", Expr("x"), False), (2.5, 2.5, True)],
    ids=["int-real", "int-bool", "signed-zero", "string-expr", "equal-reals"],
)
def test_value_keys_tell_apart_what_classads_tell_apart(a, b, same):
    assert (value_key(a) == value_key(b)) is same


def test_the_pool_counts_live_expression_texts_and_bumps_the_layout_only_when_they_change():
    pool = _pool([{"START": STARTS[1]}, {"START": STARTS[1]}])
    first = pool.layout_version
    assert pool.expr_texts("start") == (str(STARTS[1]),)
    pool.add([Ad({"Name": "x", "START": STARTS[1]})])  # a text already there: same layout
    assert pool.layout_version == first
    (gpu,) = pool.add([Ad({"Name": "g", "START": STARTS[2]})])
    assert pool.layout_version > first and pool.expr_texts("start") == tuple(sorted(map(str, STARTS[1:3])))
    before = pool.layout_version
    pool.remove([0])  # another slot still has that START
    assert pool.layout_version == before
    pool.remove([gpu, gpu])  # the last one with the GPU START; removing twice counts once
    assert pool.layout_version > before and pool.expr_texts("start") == (str(STARTS[1]),)
