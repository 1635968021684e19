"""Scope pinning and request bounds for rule conditions, against classad2 as the oracle."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from condorfed.core.federation.expressions import RequestBounds, implied_request_bounds, scoped

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    import classad2
    import htcondor2  # noqa: F401  (registers stringListMember & co. with classad2)

SCOPED = {
    "plain": ("RequestGPUs > 0", "TARGET.RequestGPUs > 0"),
    "my": ('MY.AcctGroup =?= "tpu"', 'TARGET.AcctGroup =?= "tpu"'),
    "string-untouched": ('Owner == "RequestGPUs"', 'TARGET.Owner == "RequestGPUs"'),
    "function-untouched": ('regexp("^a", Owner)', 'regexp("^a", TARGET.Owner)'),
    "keywords": ("x =?= undefined || y is true", "TARGET.x =?= undefined || TARGET.y is true"),
    "selection": ("Ad.Field > 1", "TARGET.Ad.Field > 1"),
    "number-exponent": ("RequestMemory > 1e3", "TARGET.RequestMemory > 1e3"),
}


@pytest.mark.parametrize("text,expected", SCOPED.values(), ids=SCOPED.keys())
def test_scoped(text, expected):
    assert scoped(text, "TARGET") == expected
    classad2.ExprTree(expected)  # still parses


BOUNDS = {
    "gt-int": ("RequestGPUs > 0", RequestBounds(gpus=1)),
    "ge": ('RequestCpus >= 8 && Owner == "x"', RequestBounds(cpus=8)),
    "mirrored": ("16000 <= RequestMemory", RequestBounds(memory=16000)),
    "eq-and-parens": ("((RequestDisk == 2048)) && (MY.RequestCpus > 3)", RequestBounds(cpus=4, disk=2048)),
    "or-is-undecided": ("RequestGPUs > 0 || RequestCpus > 4", RequestBounds()),
    "nested-or-ignored": ("(RequestGPUs > 0 || x) && RequestCpus > 1", RequestBounds(cpus=2)),
    "upper-bound-ignored": ("RequestCpus < 4", RequestBounds()),
    "tightest-wins": ("RequestCpus > 2 && RequestCpus >= 8", RequestBounds(cpus=8)),
}


@pytest.mark.parametrize("text,expected", BOUNDS.values(), ids=BOUNDS.keys())
def test_bounds(text, expected):
    assert implied_request_bounds(text) == expected


CONDITIONS = [
    "RequestGPUs > 0",
    'AcctGroup =?= "tpu"',
    'RequestMemory >= 10000 && Owner == "carol"',
    'stringListMember("cms", Groups)',
    "Cpus > 2",  # a name the slot also has: the job's value must win
    "MY.Memory < 2000 || RequestCpus == 1",
]
values = (
    st.none() | st.integers(-2, 20000) | st.sampled_from(["tpu", "carol", "cms,atlas", "x"]) | st.booleans()
)


@settings(max_examples=150, deadline=None)
@given(
    cond=st.sampled_from(CONDITIONS),
    job=st.fixed_dictionaries(
        {
            k: values
            for k in (
                "RequestGPUs",
                "AcctGroup",
                "RequestMemory",
                "Owner",
                "Groups",
                "Cpus",
                "Memory",
                "RequestCpus",
            )
        }
    ),
    slot_cpus=st.integers(0, 64),
)
def test_pinned_condition_sees_only_the_job(cond, job, slot_cpus):
    """With a hostile slot as the other ad, the pinned condition equals the condition on the job alone."""
    job_ad = classad2.ClassAd({k: v for k, v in job.items() if v is not None})
    slot = classad2.ClassAd(
        {
            "Cpus": slot_cpus,
            "Memory": 1,
            "AcctGroup": "tpu",
            "RequestGPUs": 5,
            "Owner": "carol",
            "Groups": "cms",
        }
    )
    alone = classad2.ExprTree(cond).eval(job_ad)
    pinned = classad2.ExprTree(scoped(cond, "TARGET")).eval(slot, job_ad)
    assert repr(alone) == repr(pinned)
    as_my = classad2.ExprTree(scoped(cond, "MY")).eval(job_ad, slot)
    assert repr(alone) == repr(as_my)
