"""Metric helpers against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from condorfed.sim.metrics import group_weights, water_fill, weighted_percentile


@pytest.mark.parametrize(
    "values,weights,q,expected",
    [
        ([0, 120], [4, 2], 50, 0),  # 4 of 6 jobs waited 0 s
        ([0, 120], [4, 2], 95, 120),
        ([0, 120], [4, 2], 66.6, 0),
        ([0, 120], [4, 2], 67, 120),
        ([5], [1], 100, 5),
        ([], [], 50, 0),
    ],
    ids=["p50", "p95", "just-below-boundary", "just-above-boundary", "single", "empty"],
)
def test_weighted_percentile(values, weights, q, expected):
    assert weighted_percentile(np.array(values, float), np.array(weights, float), q) == expected


@pytest.mark.parametrize(
    "capacity,weights,demand,expected",
    [
        (100, [0.6, 0.4], [1000, 1000], [60, 40]),
        (100, [0.6, 0.4], [10, 1000], [10, 90]),  # surplus goes to the group with demand
        (100, [0.5, 0.3, 0.2], [1000, 0, 1000], [71.428571, 0, 28.571429]),  # inactive group
        (100, [0.5, 0.5], [30, 30], [30, 30]),  # more capacity than demand
    ],
    ids=["both-saturated", "surplus", "inactive-group", "under-demand"],
)
def test_water_fill(capacity, weights, demand, expected):
    got = water_fill(capacity, np.array(weights, float), np.array(demand, float))
    assert np.allclose(got, expected, atol=1e-5)


def test_group_weights_dynamic_static_and_unconfigured():
    quotas = {"atlas": (0.5, True), "tpu": (100.0, False)}
    w = group_weights(["<none>", "atlas", "tpu"], quotas, pool_cores=400)
    assert np.allclose(w, [0.25, 0.5, 0.25])
