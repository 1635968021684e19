"""Hierarchical group quotas, checked against the HTCondor manual's examples through whole cycles."""

from __future__ import annotations

from collections import Counter

import pytest

from condorfed.core.classads.values import Expr
from condorfed.core.fairshare import UsageState, assign_quotas, build_tree
from condorfed.core.fairshare.groups import GroupSpec
from condorfed.core.negotiation import NegotiatorConfig, negotiate
from condorfed.errors import ConfigError

from .conftest import jobs, slots

STATIC = {
    "GROUP_NAMES": "group_physics, group_chemistry",
    "GROUP_QUOTA_group_physics": "20",
    "GROUP_QUOTA_group_chemistry": "10",
}
DYNAMIC = {
    "GROUP_NAMES": "group_physics, group_chemistry, group_physics.hep, group_physics.lep",
    "GROUP_QUOTA_DYNAMIC_group_physics": "0.66667",
    "GROUP_QUOTA_DYNAMIC_group_chemistry": "0.33334",
    "GROUP_QUOTA_DYNAMIC_group_physics.hep": "0.75",
    "GROUP_QUOTA_DYNAMIC_group_physics.lep": "0.25",
}


def group_jobs(group: str, user: str, n: int, cluster: int) -> list:
    return jobs(n, owner=user, cluster=cluster, AccountingGroup=f"{group}.{user}", AcctGroup=group)


def run(params: dict, n_slots: int, demand: dict[str, int], evaluator=None):
    cfg = NegotiatorConfig.from_params(params)
    js = []
    for c, (group, n) in enumerate(demand.items(), 1):
        js += group_jobs(group, f"u{c}", n, c)
    result = negotiate(js, slots(n_slots), cfg, UsageState(), 0.0, evaluator=evaluator)
    return Counter(m.group for m in result.matches), result


@pytest.mark.parametrize(
    ("extra", "n_slots", "expected"),
    [
        ({}, 30, {"group_physics": 20, "group_chemistry": 10}),
        (
            {"NEGOTIATOR_ALLOW_QUOTA_OVERSUBSCRIPTION": "False"},
            15,
            {"group_physics": 10, "group_chemistry": 5},
        ),
        ({}, 60, {"group_physics": 20, "group_chemistry": 10}),
    ],
    ids=["30-slots", "15-slots-no-oversubscription", "60-slots-no-surplus"],
)
def test_static_quotas(extra, n_slots, expected, evaluator):
    got, result = run({**STATIC, **extra}, n_slots, {"group_physics": 100, "group_chemistry": 100}, evaluator)
    assert dict(got) == expected
    assert result.groups["group_physics"].quota == pytest.approx(expected["group_physics"])


def test_dynamic_quota_example_hep_runs_15():
    got, result = run(DYNAMIC, 30, {"group_physics.hep": 100})
    assert result.groups["group_physics.hep"].quota == pytest.approx(15, abs=0.01)
    assert dict(got) == {"group_physics.hep": 15}


def test_surplus_below_a_non_accepting_parent_stays_within_its_quota():
    params = {
        **DYNAMIC,
        "GROUP_ACCEPT_SURPLUS_group_physics.hep": "True",
        "GROUP_ACCEPT_SURPLUS_group_physics.lep": "True",
    }
    got, result = run(params, 30, {"group_physics.hep": 100, "group_physics.lep": 100})
    physics_quota = result.groups["group_physics"].quota
    assert physics_quota == pytest.approx(20, abs=0.01)
    assert got["group_physics.hep"] + got["group_physics.lep"] <= round(physics_quota)
    assert got["group_physics.hep"] >= 15 - 1e-9


def test_surplus_flows_to_accepting_groups():
    params = {**STATIC, "GROUP_ACCEPT_SURPLUS": "True"}
    got, _ = run(params, 60, {"group_physics": 100, "group_chemistry": 100})
    assert sum(got.values()) == 60
    assert got["group_physics"] > 20 and got["group_chemistry"] > 10


def test_autoregroup_lets_groups_use_leftovers():
    params = {**STATIC, "GROUP_AUTOREGROUP": "True"}
    got, _ = run(params, 60, {"group_physics": 100, "group_chemistry": 100})
    assert sum(got.values()) == 60


def test_starvation_order_serves_the_least_served_group_first():
    """Two groups compete for 10 slots; the group using less of its quota goes first and gets its quota."""
    params = {"GROUP_NAMES": "group_a, group_b", "GROUP_QUOTA_group_a": "10", "GROUP_QUOTA_group_b": "10"}
    cfg = NegotiatorConfig.from_params(params)
    busy = slots(
        5,
        prefix="busy",
        State="Claimed",
        RemoteOwner="u1@cern.ch",
        RemoteUser="u1@cern.ch",
        AccountingGroup="group_a.u1",
    )
    js = group_jobs("group_a", "u1", 10, 1) + group_jobs("group_b", "u2", 10, 2)
    result = negotiate(js, slots(10) + busy, cfg, UsageState(), 0.0)
    got = Counter(m.group for m in result.matches)
    assert got["group_b"] == 10  # group_b (0 of 10 used) negotiates before group_a (5 of 10 used)


def test_assign_quotas_unit_numbers():
    tree = build_tree(
        [
            GroupSpec("a", static_quota=20),
            GroupSpec("b", static_quota=10),
            GroupSpec("a.x", dynamic_quota=0.5),
        ]
    )
    assign_quotas(tree["<none>"], 15, allow_oversubscription=False)
    assert tree["a"].subtree_quota == pytest.approx(10)
    assert tree["b"].quota == pytest.approx(5)
    assert tree["a.x"].quota == pytest.approx(5)
    assert tree["a"].quota == pytest.approx(5)


def test_group_without_configured_parent_is_a_config_error():
    with pytest.raises(ConfigError, match="parent"):
        build_tree([GroupSpec("a.b", static_quota=1)])


@pytest.mark.parametrize(("rounds", "expected"), [("1", 15), ("3", 30)], ids=["one-round", "three-rounds"])
def test_allocation_rounds_hand_unused_quota_on(rounds, expected):
    """group_a's jobs match nothing; in the next allocation round its unused quota goes to group_b."""
    params = {
        "GROUP_NAMES": "group_a, group_b",
        "GROUP_QUOTA_group_a": "15",
        "GROUP_QUOTA_group_b": "15",
        "GROUP_ACCEPT_SURPLUS": "True",
        "NEGOTIATOR_ALLOW_QUOTA_OVERSUBSCRIPTION": "False",
        "GROUP_QUOTA_MAX_ALLOCATION_ROUNDS": rounds,
    }
    js = jobs(
        40,
        "ua",
        1,
        AccountingGroup="group_a.ua",
        AcctGroup="group_a",
        Requirements=Expr("TARGET.Memory > 100000"),
    ) + group_jobs("group_b", "ub", 40, 2)
    result = negotiate(js, slots(30), NegotiatorConfig.from_params(params), UsageState(), 0.0)
    assert Counter(m.group for m in result.matches) == {"group_b": expected}
