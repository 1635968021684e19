"""Metrics of a finished run: the ``--json`` summary, per-cluster and per-group figures, series.

Definitions (documented in docs/simulate.md):

- **wait** of a job: the seconds it spent idle, summed over its idle periods (submission to first
  start, and eviction to restart), up to the end of the run for jobs still idle then.
- **makespan**: first submission to last completion (to the end of the run if jobs remain).
- **cost**: provisioned cores x costPerCoreHour, integrated over time, booting and idle included.
- **utilization**: busy core-seconds / provisioned core-seconds over all clusters.
- **entitled share** at an instant: the cores in use, divided among the groups with demand by
  weighted water-filling (weights = quota fractions; a group never gets more than its demand).
  ``entitled`` of a group is its time average weighted by cores in use; ``share`` is its part of
  all core-hours used. **Fair-share deviation** is the time average (weighted by cores in use) of
  half the L1 distance between received and entitled shares: 0 = perfect, 1 = all wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from condorfed.sim.jobs import NO_GROUP
from condorfed.sim.simulation import Simulation


def weighted_percentile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The smallest value v such that at least q% of the weight lies at or below v."""
    if len(values) == 0 or weights.sum() <= 0:
        return 0.0
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cum = np.cumsum(w)
    target = q / 100.0 * cum[-1]
    idx = int(np.searchsorted(cum, target - 1e-9 * cum[-1], side="left"))
    return float(v[min(idx, len(v) - 1)])


def water_fill(capacity: float, weights: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """Split ``capacity`` by ``weights``, capping each at its demand and passing the rest on."""
    alloc = np.zeros_like(demand, dtype=np.float64)
    active = demand > 0
    remaining = capacity
    for _ in range(len(demand) + 1):
        if remaining <= 1e-9 or not active.any():
            break
        w = np.where(active, weights, 0.0)
        if w.sum() <= 0:
            w = active.astype(np.float64)
        give = remaining * w / w.sum()
        room = demand - alloc
        capped = active & (give >= room)
        if not capped.any():
            alloc += give
            break
        alloc[capped] = demand[capped]
        remaining = capacity - alloc.sum()
        active &= ~capped
    return alloc


def group_weights(
    groups: list[str], quotas: Mapping[str, tuple[float, bool]], pool_cores: float
) -> np.ndarray:
    """Quota fractions per group: dynamic quotas as given, static ones as cores / pool.

    Groups without a quota share what the configured ones leave, equally.
    """
    w = np.zeros(len(groups))
    configured = 0.0
    unconfigured = []
    for i, g in enumerate(groups):
        q = quotas.get(g)
        if q is None:
            unconfigured.append(i)
            continue
        value, dynamic = q
        w[i] = value if dynamic else (value / pool_cores if pool_cores > 0 else 0.0)
        configured += w[i]
    if unconfigured:
        rest = max(0.0, 1.0 - configured)
        for i in unconfigured:
            w[i] = rest / len(unconfigured) if rest > 0 else 1e-6
    return w


def fairness(sim: Simulation) -> tuple[np.ndarray, float]:
    """(time-averaged entitled share per group, fair-share deviation)."""
    s = sim.samples
    ng = len(sim.groups)
    if len(s["t"]) < 2:
        return np.zeros(ng), 0.0
    t = np.asarray(s["t"], dtype=np.float64)
    dt = np.diff(np.append(t, max(sim.end_time, t[-1])))
    running = np.asarray(s["group_running"])
    demand = np.asarray(s["group_demand"])
    prov = np.asarray(s["prov"]).sum(axis=1)
    ent_sum = np.zeros(ng)
    dev_sum = 0.0
    w_sum = 0.0
    for i in range(len(t)):
        used = running[i].sum()
        if used <= 0 or dt[i] <= 0:
            continue
        weights = group_weights(sim.groups, sim.inp.group_quotas, prov[i])
        ent = water_fill(used, weights, demand[i]) / used
        got = running[i] / used
        w = used * dt[i]
        ent_sum += ent * w
        dev_sum += 0.5 * np.abs(got - ent).sum() * w
        w_sum += w
    if w_sum <= 0:
        return np.zeros(ng), 0.0
    return ent_sum / w_sum, dev_sum / w_sum


def summary(sim: Simulation) -> dict[str, Any]:
    """The ``--json`` object, plus a few extra top-level figures (extensions, never removals)."""
    waits = np.array([w for w, _, _ in sim._waits], dtype=np.float64)
    counts = np.array([n for _, n, _ in sim._waits], dtype=np.float64)
    wgroups = np.array([g for _, _, g in sim._waits], dtype=np.int64)
    first_submit = sim.trace[0].submit if sim.trace else 0.0
    all_done = sim.completed == sim.submitted
    makespan = (sim.last_completion if all_done else sim.end_time) - first_submit if sim.trace else 0.0
    open_cost = sim.open_node_cost(sim.end_time)
    cost_by_cluster = sim.node_cost + open_cost
    prov_cs = sim.prov_core_seconds.sum()
    entitled, deviation = fairness(sim)
    total_cs = sim.core_seconds_by_group.sum()
    clusters = {
        c.name: {
            "coreHours": round(float(sim.core_seconds_used[i]) / 3600.0, 3),
            "cost": round(float(cost_by_cluster[i]), 4),
            "peakCores": int(sim.peak_cores[i]),
            "provisionedCoreHours": round(float(sim.prov_core_seconds[i]) / 3600.0, 3),
            "type": "cloud" if c.cloud else "onprem",
        }
        for i, c in enumerate(sim.clusters)
    }
    groups = {}
    for gi, g in enumerate(sim.groups):
        mask = wgroups == gi
        groups[g] = {
            "jobs": int(sim.submitted_by_group[gi]),
            "wait_p95_s": round(weighted_percentile(waits[mask], counts[mask], 95), 3),
            "coreHours": round(float(sim.core_seconds_by_group[gi]) / 3600.0, 3),
            "share": round(float(sim.core_seconds_by_group[gi] / total_cs) if total_cs > 0 else 0.0, 4),
            "entitled": round(float(entitled[gi]), 4),
        }
    kinds: dict[str, int] = {}
    for a in sim.actions:
        kinds[a.kind] = kinds.get(a.kind, 0) + a.nodes
    return {
        "jobs": {
            "submitted": sim.submitted,
            "completed": sim.completed,
            "running": sim.running,
            "idle": sim.idle,
        },
        "wait_s": {
            "p50": round(weighted_percentile(waits, counts, 50), 3),
            "p95": round(weighted_percentile(waits, counts, 95), 3),
            "max": round(float(waits.max()) if len(waits) else 0.0, 3),
        },
        "makespan_s": round(float(makespan), 3),
        "cost": round(float(cost_by_cluster.sum()), 4),
        "preemptions": sim.preempted_jobs,
        "clusters": clusters,
        "groups": groups,
        "utilization": round(float(sim.core_seconds_used.sum() / prov_cs) if prov_cs > 0 else 0.0, 4),
        "fairShareDeviation": round(float(deviation), 4),
        "nodesPreempted": kinds.get("preempted", 0),
        "evictions": sim.evicted_jobs,
        "scaleUps": kinds.get("provision", 0),
        "scaleDowns": kinds.get("drain", 0) + kinds.get("remove", 0),
        "endTime_s": round(float(sim.end_time), 3),
        "cycles": sim.cycles,
        "cyclesNegotiated": sim.cycles_negotiated,
        "capped": sim.capped,
        "stalled": sim.stalled,
        "controller": getattr(sim.inp.controller, "name", "none") if sim.inp.controller else "none",
    }


def series(sim: Simulation) -> dict[str, Any]:
    """Time series for plots and metrics.json (sampled at every negotiation cycle)."""
    s = sim.samples
    return {
        "t": [float(x) for x in s["t"]],
        "idle": [int(x) for x in s["idle"]],
        "running": [int(x) for x in s["running"]],
        "spend": [round(float(x), 4) for x in s["spend"]],
        "clusters": [c.name for c in sim.clusters],
        "cloud": [c.cloud for c in sim.clusters],
        "provisionedCores": np.asarray(s["prov"]).T.astype(int).tolist() if s["prov"] else [],
        "busyCores": np.asarray(s["busy"]).T.astype(int).tolist() if s["busy"] else [],
        "groups": list(sim.groups),
        "groupRunningCores": np.asarray(s["group_running"]).T.astype(int).tolist()
        if s["group_running"]
        else [],
    }


def wait_samples(sim: Simulation) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per group: (wait seconds, job counts) for the wait-time distribution plot."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for gi, g in enumerate(sim.groups):
        rows = [(w, n) for w, n, gg in sim._waits if gg == gi]
        if rows:
            arr = np.asarray(rows, dtype=np.float64)
            out[g] = (arr[:, 0], arr[:, 1])
    return out


__all__ = ["NO_GROUP", "fairness", "series", "summary", "wait_samples", "water_fill", "weighted_percentile"]
