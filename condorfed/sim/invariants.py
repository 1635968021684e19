"""End-of-run invariants. Each is recomputed from the raw state, not from the running counters
that produced the metrics, and a violation raises :class:`SimulationError` naming it.

1. Every submitted job is completed, running or idle; none is lost or duplicated.
2. No core (or memory, disk, GPU) is allocated twice: each node's runs fit in it, and the free
   ledger equals its size minus what its runs hold.
3. Total cost equals the integral of provisioned cores x price (two independent books: per node
   lifetimes, and the piecewise-constant provisioned-core curve of each cluster).
4. Jobs ran only where their Requirements (through the engine's symmetric match) and the
   federation's ``require`` rules allow.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from condorfed.core.classads.values import Ad
from condorfed.errors import SimulationError
from condorfed.sim.simulation import Simulation

RuleEval = Callable[[str, Ad], bool]


def _fail(name: str, detail: str) -> None:
    raise SimulationError(f"invariant broken ({name}): {detail}")


def check_conservation(sim: Simulation) -> None:
    idle = sum(b.count for q in sim.queues for b in q.idle)
    queued = sum(q.idle_count for q in sim.queues)
    running = sum(r.batch.count for r in sim.runs.values() if r.alive)
    submitted = sum(e.count for e in sim.trace[: sim._next_submit])
    completed = sum(n for _, n, _ in sim._waits) - running - idle  # _waits holds every job once after close
    if idle != queued or idle != sim.idle:
        _fail("jobs", f"idle jobs: queues hold {idle}, queue counters say {queued}, total says {sim.idle}")
    if running != sim.running:
        _fail("jobs", f"running jobs: runs hold {running}, counter says {sim.running}")
    if completed != sim.completed:
        _fail("jobs", f"completed jobs: records hold {completed}, counter says {sim.completed}")
    if submitted != completed + running + idle or submitted != sim.submitted:
        _fail("jobs", f"{submitted} submitted but {completed} completed + {running} running + {idle} idle")
    per_entry: dict[int, int] = {}
    for q in sim.queues:
        for b in q.idle:
            per_entry[b.entry] = per_entry.get(b.entry, 0) + b.count
    for r in sim.runs.values():
        per_entry[r.batch.entry] = per_entry.get(r.batch.entry, 0) + r.batch.count
    for entry, n in per_entry.items():
        if n > sim.trace[entry].count:
            _fail(
                "jobs",
                f"trace entry {entry} has {n} jobs idle or running, "
                f"but only {sim.trace[entry].count} were submitted",
            )


def check_allocation(sim: Simulation) -> None:
    held: dict[int, np.ndarray] = {}
    for r in sim.runs.values():
        node = sim.nodes[r.node]
        if node.state == "gone":
            _fail("allocation", f"a job is running on removed node {node.name}")
        if r.id not in node.runs:
            _fail("allocation", f"run {r.id} on {node.name} is not in the node's run list")
        held.setdefault(r.node, np.zeros(4, dtype=np.int64))
        held[r.node] += np.array((r.cpus, r.memory, r.disk, r.gpus), dtype=np.int64) * r.batch.count
    for node in sim.nodes:
        if node.state == "gone":
            continue
        size = np.array((node.cpus, node.memory, node.disk, node.gpus), dtype=np.int64)
        h = held.get(node.id, np.zeros(4, dtype=np.int64))
        if (h > size).any():
            _fail(
                "allocation", f"{node.name} holds {h.tolist()} of {size.tolist()}: a core is allocated twice"
            )
        if node.in_pool and not np.array_equal(sim.free[node.id], size - h):
            _fail(
                "allocation",
                f"{node.name} free ledger {sim.free[node.id].tolist()} != size - held {(size - h).tolist()}",
            )


def check_cost(sim: Simulation) -> None:
    prices = np.array([c.cost_per_core_hour for c in sim.clusters])
    integral = float((sim.prov_core_seconds * prices).sum() / 3600.0)
    per_node = float((sim.node_cost + sim.open_node_cost(sim.end_time)).sum())
    if not np.isclose(integral, per_node, rtol=1e-9, atol=1e-6):
        _fail("cost", f"per-node cost {per_node:.6f} != integral of provisioned cores x price {integral:.6f}")


def check_placement(
    sim: Simulation, require_rules: Sequence[tuple[str, frozenset[str]]], rule_true: RuleEval
) -> None:
    for (key, ci), jobs in sorted(sim.placements.items()):
        ad = sim.queues[key].ad
        cluster = sim.clusters[ci].name
        if cluster not in sim.eligible_clusters(key):
            _fail(
                "placement",
                f"{jobs} job(s) of autocluster {key} ran in {cluster!r}, which their Requirements reject",
            )
        for when, allowed in require_rules:
            if cluster not in allowed and rule_true(when, ad):
                _fail(
                    "placement",
                    f"{jobs} job(s) of autocluster {key} ran in {cluster!r}; "
                    f"rule require {sorted(allowed)} when {when!r}",
                )


def check_all(sim: Simulation, rule_true: RuleEval | None = None) -> None:
    """Run every invariant; raise :class:`SimulationError` on the first one broken."""
    check_conservation(sim)
    check_allocation(sim)
    check_cost(sim)
    check_placement(sim, sim.inp.require_rules, rule_true or classad_rule_true)


def classad_rule_true(when: str, ad: Ad) -> bool:
    """Evaluate a rule's ``when`` expression against a job ad with classad2 (EvalBool semantics)."""
    import classad2

    from condorfed.core.classads.values import Expr

    c = classad2.ClassAd()
    for name, value in ad.items():
        c[name] = classad2.ExprTree(str(value)) if isinstance(value, Expr) else value
    value = classad2.ExprTree(when).eval(c)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    return False
