"""Invariants of any negotiation (Hypothesis over generated pools and queues)."""

from __future__ import annotations

import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from condorfed.core.fairshare import SubmitterUsage, UsageState
from condorfed.core.negotiation import NegotiatorConfig, negotiate

from .test_differential import pool, queue


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=10**6), st.booleans())
def test_negotiation_invariants(seed, preempt):
    rng = random.Random(seed)
    slots, jobs = pool(rng), queue(rng)
    cfg = NegotiatorConfig(
        preemption_requirements="RemoteUserPrio > SubmitterUserPrio" if preempt else "False"
    )
    usage = UsageState(0.0, {"alice@x": SubmitterUsage(priority=rng.uniform(0.5, 100))})
    result = negotiate(jobs, slots, cfg, usage, 0.0)
    idle = {f"{j['ClusterId']}.{j['ProcId']}" for j in jobs}
    matched = [m.job for m in result.matches]
    # every idle job is either matched once or reported unmatched, never both
    assert len(matched) == len(set(matched))
    assert set(matched) | {u.job for u in result.unmatched} == idle
    assert not set(matched) & {u.job for u in result.unmatched}
    # a static slot is given out at most once; a p-slot never below zero
    by_slot = Counter(m.slot for m in result.matches)
    after = {a["Name"]: a for a in result.slots_after}
    for name, count in by_slot.items():
        ad = after[name]
        if ad.get("PartitionableSlot") is True:
            assert ad["Cpus"] >= 0 and ad["Memory"] >= 0 and ad["Disk"] >= 0 and ad.get("GPUs", 0) >= 0
        else:
            assert count == 1
    # what each submitter got is what the result says it got
    per_sub = Counter(m.submitter for m in result.matches)
    assert {n: s.matched for n, s in result.submitters.items() if s.matched} == dict(per_sub)
