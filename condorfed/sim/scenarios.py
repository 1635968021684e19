"""Built-in, seeded scenarios: a federation document, a job trace and (optionally) a campaign.

Each runs with no input files (``condorfed simulate --scenario NAME``) and can be written out
for editing (``--write-scenario DIR``). The same seed always gives the same trace.

- ``conference-spike`` (default): a two-cluster on-prem site kept near 80% busy by three
  groups, plus two clouds (one on spot instances); for the 48 hours before a deadline one
  group submits ten times its usual load.
- ``reconstruction``: a long campaign of uniform 8-core jobs that on-prem alone would take
  twice as long to finish.
- ``gpu-mix``: CPU and GPU jobs; GPUs exist only in one cloud, which GPU jobs are required to use.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from condorfed.errors import SimulationError
from condorfed.sim.trace import TraceEntry

DEFAULT_SCENARIO = "conference-spike"
HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    federation: dict[str, Any]
    trace: list[TraceEntry]
    campaign: dict[str, Any] | None = None
    static_nodes: int = 10  # default for the ``static`` baseline
    notes: dict[str, Any] = field(default_factory=dict)


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stream(
    rng: np.random.Generator,
    *,
    start: float,
    end: float,
    cores_busy: float,
    owner: str,
    group: str | None,
    shapes: list[tuple[int, int, int]],  # (cpus, memory MB, gpus)
    runtime_h: tuple[float, float],  # lognormal-ish: (median hours, spread)
    every: float = 600.0,
    requirements: str | None = None,
) -> list[TraceEntry]:
    """Poisson arrivals in ``every``-second batches that keep about ``cores_busy`` cores busy."""
    out: list[TraceEntry] = []
    median, spread = runtime_h
    mean_runtime = median * 3600.0 * float(np.exp(spread**2 / 2))
    mean_cpus = float(np.mean([s[0] for s in shapes]))
    jobs_per_batch = cores_busy * every / (mean_runtime * mean_cpus)
    t = start
    while t < end:
        n = int(rng.poisson(jobs_per_batch))
        if n:
            cpus, memory, gpus = shapes[int(rng.integers(len(shapes)))]
            # one runtime per batch: the jobs of a batch are identical, like one `queue N`
            runtime = round(float(median * 3600.0 * np.exp(spread * rng.standard_normal())), 0)
            runtime = max(300.0, min(runtime, 48 * 3600.0))
            offset = float(rng.uniform(0, every))
            out.append(
                TraceEntry(
                    submit=round(t + offset, 1),
                    owner=owner,
                    group=group,
                    cpus=cpus,
                    memory=memory,
                    gpus=gpus,
                    runtime=runtime,
                    requirements=requirements,
                    count=n,
                )
            )
        t += every
    return out


def _header(name: str, negotiator: float = 60, controller: float = 120) -> dict[str, Any]:
    # Scenarios with hours-long jobs use minutes-long cycles, as large pools do (a CERN-size
    # negotiation cycle takes minutes); traces of your own run at federation.yaml's intervals.
    return {
        "name": name,
        "trustDomain": f"{name}.example.org",
        "negotiatorInterval": negotiator,
        "controllerInterval": controller,
    }


def conference_spike(seed: int, start: float) -> Scenario:
    rng = np.random.default_rng(seed)
    fed = {
        "federation": _header("conference", negotiator=300, controller=300),
        "clusters": [
            {
                "name": "meyrin",
                "type": "onprem",
                "nodes": 24,
                "weight": 100,
                "node": {"cpus": 32, "memory": 128000, "disk": 500000},
                "labels": {"Datacenter": "meyrin"},
            },
            {
                "name": "prevessin",
                "type": "onprem",
                "nodes": 8,
                "weight": 100,
                "node": {"cpus": 64, "memory": 256000, "disk": 900000},
                "labels": {"Datacenter": "prevessin"},
            },
            {
                "name": "exoscale",
                "type": "cloud",
                "nodes": 0,
                "weight": 20,
                "maxCores": 2400,
                "node": {"cpus": 16, "memory": 64000, "disk": 200000},
                "costPerCoreHour": 0.021,
                "provisioningSeconds": 240,
            },
            {
                "name": "tsystems",
                "type": "cloud",
                "nodes": 0,
                "weight": 10,
                "maxCores": 2400,
                "node": {"cpus": 32, "memory": 128000, "disk": 400000},
                "costPerCoreHour": 0.012,
                "provisioningSeconds": 300,
                "preemptionRate": 0.01,
            },
        ],
        "rules": [{"fill": ["meyrin", "prevessin", "*"]}],
        "fairshare": {
            "halfLife": 86400,
            "groups": {
                "atlas": {"quota": 0.5, "acceptSurplus": True},
                "cms": {"quota": 0.3, "acceptSurplus": True},
                "lhcb": {"quota": 0.2, "acceptSurplus": True},
            },
        },
    }
    onprem = 24 * 32 + 8 * 64  # 1280 cores
    days = 3.0
    surge_start, surge_end = 0.5 * DAY, 2.5 * DAY  # the 48 h before the deadline at 60 h
    trace: list[TraceEntry] = []
    for owner, group, frac, shape in (
        ("alice", "atlas", 0.4, (8, 16000, 0)),
        ("bob", "cms", 0.25, (4, 8000, 0)),
        ("carol", "lhcb", 0.15, (4, 8000, 0)),
    ):
        trace += _stream(
            rng,
            start=0,
            end=days * DAY,
            cores_busy=onprem * frac,
            owner=owner,
            group=group,
            shapes=[shape],
            runtime_h=(4.0, 0.5),
            every=1800.0,
        )
    # the conference surge: atlas submits 9x more on top of its usual load (10x in all)
    trace += _stream(
        rng,
        start=surge_start,
        end=surge_end,
        cores_busy=onprem * 0.4 * 9,
        owner="dave",
        group="atlas",
        shapes=[(8, 16000, 0)],
        runtime_h=(4.0, 0.5),
        every=900.0,
    )
    campaign = {
        "campaign": {
            "name": "conference-deadline",
            "start": _iso(start + surge_start - 2 * HOUR),
            "end": _iso(start + surge_end + 24 * HOUR),
            "clusters": ["exoscale", "tsystems"],
            "maxCores": 4800,
            "budget": 6000,
            "maxBurnRate": 100,
            "rampUp": {"maxNodesPerTick": 20},
            "scaleDown": {"idleSeconds": 900, "drain": "graceful", "drainDeadlineSeconds": 14400},
        }
    }
    return Scenario(
        "conference-spike",
        "1,280 on-prem cores near 80% busy; atlas submits 10x its load for 48 h before a deadline; "
        "two clouds (exoscale, tsystems on spot) can add up to 4,800 cores under a campaign budget",
        fed,
        trace,
        campaign,
        static_nodes=40,
    )


def reconstruction(seed: int, start: float) -> Scenario:
    rng = np.random.default_rng(seed)
    fed = {
        "federation": _header("reco"),
        "clusters": [
            {"name": "tier0", "type": "onprem", "nodes": 32, "node": {"cpus": 32, "memory": 128000}},
            {
                "name": "hpc-cloud",
                "type": "cloud",
                "nodes": 0,
                "maxCores": 1536,
                "node": {"cpus": 64, "memory": 256000},
                "costPerCoreHour": 0.015,
                "provisioningSeconds": 600,
            },
        ],
        "rules": [{"fill": ["tier0", "*"]}],
        "fairshare": {
            "halfLife": 86400,
            "groups": {
                "reco": {"quota": 0.8, "acceptSurplus": True},
                "analysis": {"quota": 0.2, "acceptSurplus": True},
            },
        },
    }
    trace = _stream(
        rng,
        start=0,
        end=6 * DAY,
        cores_busy=1024 * 1.6,
        owner="prod",
        group="reco",
        shapes=[(8, 16000, 0)],
        runtime_h=(6.0, 0.1),
        every=1800.0,
    )
    trace += _stream(
        rng,
        start=0,
        end=6 * DAY,
        cores_busy=1024 * 0.15,
        owner="eve",
        group="analysis",
        shapes=[(1, 2000, 0)],
        runtime_h=(1.0, 0.5),
    )
    return Scenario(
        "reconstruction",
        "a 6-day campaign of uniform 8-core, 6-hour jobs at 1.6x the 1,024 on-prem cores, with one HPC cloud",
        fed,
        trace,
        None,
        static_nodes=12,
    )


def gpu_mix(seed: int, start: float) -> Scenario:
    rng = np.random.default_rng(seed)
    fed = {
        "federation": _header("gpumix"),
        "clusters": [
            {"name": "campus", "type": "onprem", "nodes": 24, "node": {"cpus": 32, "memory": 128000}},
            {
                "name": "gpucloud",
                "type": "cloud",
                "nodes": 0,
                "maxCores": 512,
                "node": {"cpus": 16, "memory": 96000, "gpus": 4},
                "costPerCoreHour": 0.09,
                "provisioningSeconds": 420,
            },
            {
                "name": "cpucloud",
                "type": "cloud",
                "nodes": 0,
                "maxCores": 1024,
                "node": {"cpus": 32, "memory": 128000},
                "costPerCoreHour": 0.02,
                "provisioningSeconds": 240,
                "preemptionRate": 0.02,
            },
        ],
        "rules": [
            {"fill": ["campus", "*"]},
            {"require": "gpucloud", "when": "RequestGPUs > 0"},
        ],
        "fairshare": {
            "halfLife": 43200,
            "groups": {
                "ml": {"quota": 0.5, "acceptSurplus": True},
                "sim": {"quota": 0.5, "acceptSurplus": True},
            },
        },
    }
    trace = _stream(
        rng,
        start=0,
        end=3 * DAY,
        cores_busy=768 * 1.1,
        owner="sam",
        group="sim",
        shapes=[(1, 2000, 0), (4, 8000, 0)],
        runtime_h=(3.0, 0.5),
    )
    trace += _stream(
        rng,
        start=0.5 * DAY,
        end=2 * DAY,
        cores_busy=160,
        owner="maria",
        group="ml",
        shapes=[(4, 24000, 1), (8, 48000, 2)],
        runtime_h=(4.0, 0.4),
        every=900.0,
    )
    return Scenario(
        "gpu-mix",
        "CPU jobs at 110% of 768 on-prem cores plus GPU training jobs that only the GPU cloud can run",
        fed,
        trace,
        None,
        static_nodes=8,
    )


SCENARIOS: dict[str, tuple[str, Callable[[int, float], Scenario]]] = {
    "conference-spike": ("10x surge from one group for 48 h before a deadline (default)", conference_spike),
    "reconstruction": ("long campaign of uniform 8-core jobs", reconstruction),
    "gpu-mix": ("GPU and CPU jobs, one GPU cloud", gpu_mix),
}


def build_scenario(name: str, seed: int, start: float) -> Scenario:
    """The named scenario for ``seed``; ``start`` (epoch) anchors its campaign times."""
    entry = SCENARIOS.get(name)
    if entry is None:
        raise SimulationError(f"unknown scenario {name!r} (known: {', '.join(sorted(SCENARIOS))})")
    return entry[1](seed, start)
