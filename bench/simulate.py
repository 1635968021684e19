"""Benchmark: one simulated week, 1,000,000 jobs, three clusters of about 20,000 cores in all.

    python bench/simulate.py [--jobs 1000000] [--days 7] [--controller condorfed] [--seed 1]

Prints one JSON object: wall_s, peak_rss_mb, jobs, cycles (and how many negotiated), plus the
run's headline metrics. The trace is generated in memory (seeded): 12 autoclusters (3 groups x
2 owners x 2 request shapes), arrivals in 60-second batches, log-normal runtimes around 1.5 h,
sized to keep the on-prem clusters about 90% busy with a 25% surge in the middle of the week
that the cloud absorbs. Targets (issue 7): <= 60 s wall and <= 4 GiB on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import numpy as np


def federation() -> dict:
    return {
        "federation": {
            "name": "bench",
            "trustDomain": "bench.example",
            "negotiatorInterval": 60,
            "controllerInterval": 300,
        },
        "clusters": [
            {"name": "onprem-a", "type": "onprem", "nodes": 300, "node": {"cpus": 32, "memory": 128000}},
            {"name": "onprem-b", "type": "onprem", "nodes": 100, "node": {"cpus": 64, "memory": 256000}},
            {
                "name": "cloud",
                "type": "cloud",
                "nodes": 0,
                "maxCores": 4000,
                "node": {"cpus": 16, "memory": 64000},
                "costPerCoreHour": 0.02,
                "provisioningSeconds": 300,
                "preemptionRate": 0.005,
            },
        ],
        "rules": [{"fill": ["onprem-a", "onprem-b", "*"]}],
        "fairshare": {
            "halfLife": 86400,
            "groups": {
                "atlas": {"quota": 0.5, "acceptSurplus": True},
                "cms": {"quota": 0.3, "acceptSurplus": True},
                "lhcb": {"quota": 0.2, "acceptSurplus": True},
            },
        },
    }


def trace(jobs: int, days: float, seed: int):
    from condorfed.sim.trace import TraceEntry

    rng = np.random.default_rng(seed)
    streams = [
        (g, o, s) for g in ("atlas", "cms", "lhcb") for o in ("prod", "user") for s in ((1, 2000), (4, 8000))
    ]
    weights = np.array([0.5, 0.3, 0.2]).repeat(4) / 4 * 3  # by group quota
    horizon = days * 86400.0
    batches = np.arange(0.0, horizon, 60.0)
    surge = np.where((batches > horizon * 0.4) & (batches < horizon * 0.6), 1.25, 1.0)
    per_batch = jobs / (len(batches) * surge.mean())
    out: list[TraceEntry] = []
    for (group, owner, (cpus, mem)), w in zip(streams, weights, strict=True):
        counts = rng.poisson(per_batch * w / weights.sum() * surge)
        runtimes = np.clip(rng.lognormal(np.log(5200.0 / cpus**0.5), 0.5, len(batches)), 120, 86400).round()
        for t, n, rt in zip(batches, counts, runtimes, strict=True):
            if n:
                out.append(
                    TraceEntry(float(t), f"{owner}-{group}", float(rt), cpus, mem, 0, 0, group, None, int(n))
                )
    # exactly `jobs` jobs: trim or pad the last entries
    total = sum(e.count for e in out)
    while total > jobs:
        e = out.pop()
        total -= e.count
        if total < jobs:
            out.append(
                TraceEntry(e.submit, e.owner, e.runtime, e.cpus, e.memory, 0, 0, e.group, None, jobs - total)
            )
            total = jobs
    if total < jobs:
        e = out[-1]
        out.append(
            TraceEntry(e.submit, e.owner, e.runtime, e.cpus, e.memory, 0, 0, e.group, None, jobs - total)
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=1_000_000)
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--controller", default="condorfed")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)

    from condorfed.core.burst.policy import BurstPolicy
    from condorfed.core.federation.model import parse_federation
    from condorfed.sim import SimInputs, run_simulation
    from condorfed.sim.baselines import make_baseline
    from condorfed.sim.burst import BurstController
    from condorfed.sim.engine import EngineMatchmaker
    from condorfed.sim.federation_view import cluster_specs, group_quotas
    from condorfed.sim.metrics import summary
    from condorfed.sim.simulation import template_ads
    from condorfed.workflows.simulate import compiled_policy

    fed = parse_federation(federation(), "bench")
    config, _, transform = compiled_policy(fed)
    entries = trace(args.jobs, args.days, args.seed)
    clusters = cluster_specs(fed)
    controller = (
        BurstController(BurstPolicy.from_federation(fed), None, 1767225600.0)
        if args.controller == "condorfed"
        else make_baseline(args.controller)
    )
    t0 = time.perf_counter()
    sim = run_simulation(
        SimInputs(
            clusters,
            entries,
            EngineMatchmaker(config, template_ads(clusters)),
            controller,
            fed.negotiator_interval,
            fed.controller_interval,
            args.seed,
            None,
            transform,
            (),
            group_quotas(fed),
        )
    )
    wall = time.perf_counter() - t0
    s = summary(sim)
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "wall_s": round(wall, 1),
                "peak_rss_mb": round(rss_kb / 1024, 1),
                "jobs": s["jobs"]["submitted"],
                "completed": s["jobs"]["completed"],
                "trace_entries": len(entries),
                "cycles": s["cycles"],
                "cycles_negotiated": s["cyclesNegotiated"],
                "cores": int(sum(c.nodes * c.cpus for c in clusters) + (clusters[2].max_cores or 0)),
                "controller": args.controller,
                "wait_p95_s": s["wait_s"]["p95"],
                "cost": s["cost"],
                "utilization": s["utilization"],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
