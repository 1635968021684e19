"""``analyze``: Requirements split into clauses, counted per slot; START rejections named."""

from __future__ import annotations

import pytest

from condorfed.core.classads.values import Expr
from condorfed.core.negotiation.analysis import analyze, split_conjunction

from .conftest import jobs, slots


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        ('(a > 1) && (b == "x && y") && ((c || d) && e)', ["a > 1", 'b == "x && y"', "(c || d) && e"]),
        ("a", ["a"]),
        ("f(a && b, c) && g", ["f(a && b, c)", "g"]),
    ],
    ids=["three-clauses", "single", "nested-call"],
)
def test_split_conjunction(text, clauses):
    assert split_conjunction(text) == clauses


def test_analyze_counts_clauses_and_names_rejecting_slots():
    pool = (
        slots(3, Memory=8192)
        + slots(2, prefix="small", Memory=1024)
        + slots(1, prefix="picky", START=Expr('TARGET.Owner == "bob"'))
    )
    job = jobs(1, RequestMemory=2048)[0]
    job["Requirements"] = Expr("(TARGET.Memory >= RequestMemory) && (TARGET.Cpus >= RequestCpus)")
    a = analyze(job, pool, job_name="1.0")
    assert [(c.clause, c.matching_slots) for c in a.clauses] == [
        ("TARGET.Memory >= RequestMemory", 4),
        ("TARGET.Cpus >= RequestCpus", 6),
    ]
    assert a.satisfy_job == 4
    assert a.rejected_by_slot == ("picky1@host1",)
    assert len(a.matching) == 3
    assert a.available == a.matching  # nothing is claimed


def test_analyze_tells_claimed_slots_apart():
    pool = slots(2) + slots(1, prefix="busy", State="Claimed", RemoteOwner="bob@x", RemoteUser="bob@x")
    a = analyze(jobs(1)[0], pool)
    assert len(a.matching) == 3 and a.available == ("slot1@host1", "slot2@host2")
