"""Accountant numbers from the HTCondor manual ("User Priorities and Negotiation")."""

from __future__ import annotations

import pytest

from condorfed.core.fairshare import MIN_PRIORITY, SubmitterUsage, UsageState, advance, decay
from condorfed.errors import ConfigError

DAY = 86400.0


@pytest.mark.parametrize(("days", "expected"), [(1, 5.0), (2, 2.5)], ids=["one-half-life", "two-half-lives"])
def test_half_life_without_usage(days, expected):
    assert decay(10.0, 0.0, days * DAY, DAY) == pytest.approx(expected)
    state = UsageState(0.0, {"u": SubmitterUsage(priority=10.0)})
    assert advance(state, days * DAY, DAY).get("u").priority == pytest.approx(expected)


def test_half_life_is_step_independent():
    """Ageing in 24 hourly steps or one step gives the same RUP."""
    state = UsageState(0.0, {"u": SubmitterUsage(priority=10.0)})
    for h in range(1, 25):
        state = advance(state, h * 3600.0, DAY)
    assert state.get("u").priority == pytest.approx(5.0)


def test_two_users_over_48_hours():
    """A runs 100 cores alone for 48 h with a 24 h half-life: RUP(A) ~ 75.1, RUP(B) stays 0.5."""
    state = UsageState(0.0, {"A": SubmitterUsage(resources_used=100.0), "B": SubmitterUsage()})
    for h in range(1, 49):
        state = advance(state, h * 3600.0, DAY, usage={"A": 100.0, "B": 0.0})
    assert state.get("A").priority == pytest.approx(75.1, abs=0.05)
    assert state.get("B").priority == MIN_PRIORITY


def test_rup_never_below_minimum():
    assert decay(0.6, 0.0, 100 * DAY, DAY) == MIN_PRIORITY


def test_effective_priority_is_rup_times_factor():
    state = UsageState(
        0.0, {"a": SubmitterUsage(priority=4.0, factor=2000.0), "b": SubmitterUsage(priority=4.0)}
    )
    assert state.effective_priority("a", 1000.0) == 8000.0
    assert state.effective_priority("b", 1000.0) == 4000.0
    assert state.effective_priority("new", 1000.0) == 500.0


def test_usage_json_round_trip_and_defaults():
    data = {
        "time": 100,
        "submitters": {"a@x": {"priority": 3.5, "factor": 10, "resourcesUsed": 4}, "b@x": {}},
    }
    state = UsageState.from_json(data)
    assert state.get("b@x") == SubmitterUsage()
    again = UsageState.from_json(state.to_json())
    assert again == state


@pytest.mark.parametrize(
    "data",
    [[], {"time": "x"}, {"submitters": []}, {"submitters": {"a": {"priority": "high"}}}],
    ids=["not-object", "bad-time", "bad-submitters", "bad-priority"],
)
def test_bad_usage_state_is_a_config_error(data):
    with pytest.raises(ConfigError):
        UsageState.from_json(data, "state.json")
