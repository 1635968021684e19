"""Unmet demand: idle work that the existing slots cannot start but a cloud cluster could.

Computed per autocluster (:class:`JobGroup`), never per job:

1. **One negotiation cycle** of the real engine (:func:`condorfed.core.negotiation.negotiate_demand`,
   with the federation's compiled policy and fair share) over the *free* real slots plus one
   *virtual* partitionable slot per cloud cluster the campaign may use, shaped like that
   cluster's workers (``federation.yaml``'s ``node``, labels, ``FedCluster``, ``IsCloud``) and
   big enough for every idle job (cluster caps are applied in step 3, so the clouds never compete
   for a made-up capacity). Only slots that can take a job now are free:
   unclaimed, not draining or retiring, not drained, with cores and memory left (glideinWMS
   #332/#554 counted retiring and memory-exhausted slots as idle). Jobs the real slots take are
   absorbed; jobs the virtual slots take are the unmet demand; jobs neither takes (no cluster
   can run them, or fair share would not start them) never cause a scale-up. Without static
   group quotas no pie limit can bind against unbounded virtual slots, so only autoclusters
   that fit some free slot need the cycle (none, when nothing is free).
2. **Which clouds.** Each autocluster is matched against a node-shaped virtual slot of every
   cloud cluster (Requirements both ways, Old-ClassAd scoping) and must fit one node.
3. **Place.** The remaining jobs go to the first routing tier (prefer/fill/require) that has a
   matching cloud cluster with room; within a tier they split by cluster weight, so a job that
   matches k tied clusters of equal weight counts 1/k in each (GlideinWMS's proportional split).
   What a tier cannot hold overflows to the next one. Autoclusters with the fewest candidate
   clusters are placed first, so flexible work does not take the room of work that has one place.
4. **Nodes.** Demand is turned into nodes with the node shape: ``jobs / jobs-per-node``, where
   jobs-per-node = min over cores, memory, disk and GPUs of ``floor(node / request)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import classad2
import numpy as np

from condorfed.core.burst.policy import BurstPolicy, ClusterShape
from condorfed.core.burst.state import JobGroup
from condorfed.core.classads import AdTable, compile_expr
from condorfed.core.classads.values import Ad, Expr
from condorfed.core.fairshare import UsageState
from condorfed.core.negotiation import JobGroup as EngineJobGroup
from condorfed.core.negotiation import SlotPool, group_of_job, negotiate_demand, submitter_of

_NOT_FREE_STATES = frozenset({"claimed", "drained", "preempting", "owner", "matched", "backfill"})


def _number(value: object) -> float | None:
    """A plain number (bools count as 0/1); None for UNDEFINED/ERROR (an IntEnum), strings, exprs."""
    kind = type(value)
    if kind is int or kind is float or kind is bool:  # the common case, without the slower checks
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, classad2.Value | Expr):
        return None
    if isinstance(value, bool | int | float):
        return float(value)
    return None


def _text(value: object) -> str:
    return "" if value is None else str(value).lower()


def is_free(slot: Ad) -> bool:
    """Whether a slot can start a job now (retiring/draining/drained/exhausted slots cannot)."""
    return _free_resources(slot) is not None


def _free_resources(slot: Ad) -> tuple[float, float, float, float] | None:
    """(Cpus, Memory, GPUs, Disk in MB) a free slot offers (Disk inf when absent); None if not free.

    One pass over the ad serves both the free test and the request-fit pre-check.
    """
    if _text(slot.get("State")) in _NOT_FREE_STATES:
        return None
    if _text(slot.get("Activity")) in ("retiring", "vacating", "killing"):
        return None
    if slot.get("Draining") is True or slot.get("Offline") is True:
        return None
    cpus, memory = _number(slot.get("Cpus")), _number(slot.get("Memory"))
    if cpus is None or memory is None:
        return None
    # HTCondor's minimum request; a p-slot below it is exhausted (glideinWMS #554 counted these).
    if not (cpus >= 1 and memory >= 1):
        return None
    gpus, disk = _number(slot.get("GPUs")), _number(slot.get("Disk"))
    return cpus, memory, gpus or 0.0, math.inf if disk is None else disk * (1 / 1024.0)


@dataclass(frozen=True)
class ClusterDemand:
    """Unmet demand placed on one cloud cluster (fractional: a job split over k clusters)."""

    jobs: float = 0.0
    cores: float = 0.0
    memory: float = 0.0
    gpus: float = 0.0
    nodes: float = 0.0  # node-equivalents, before subtracting nodes still provisioning


@dataclass(frozen=True)
class Demand:
    """The demand picture of one tick."""

    idle_jobs: int = 0
    absorbed_jobs: int = 0  # idle jobs the free real slots can start now
    unplaceable_jobs: int = 0  # no allowed cloud runs them (no match, or fair share holds them)
    overflow_jobs: float = 0.0  # placeable, but every allowed cluster is full
    clusters: Mapping[str, ClusterDemand] = field(default_factory=dict)

    @property
    def unmet_cores(self) -> float:
        return sum(d.cores for d in self.clusters.values())

    @property
    def unmet_jobs(self) -> float:
        return sum(d.jobs for d in self.clusters.values())

    def to_json(self) -> dict:
        return {
            "idleJobs": self.idle_jobs,
            "absorbedJobs": self.absorbed_jobs,
            "unplaceableJobs": self.unplaceable_jobs,
            "overflowJobs": round(self.overflow_jobs, 3),
            "clusters": {
                n: {
                    "jobs": round(d.jobs, 3),
                    "cores": round(d.cores, 3),
                    "memory": round(d.memory, 3),
                    "gpus": round(d.gpus, 3),
                    "nodes": round(d.nodes, 3),
                }
                for n, d in self.clusters.items()
            },
        }


_JOB_REQ = compile_expr("Requirements")


def _symmetric_mask(job: Ad, table: AdTable) -> np.ndarray:
    """Job Requirements (MY = job) and slot Requirements/START (MY = slot) against each slot."""
    n = len(table)
    if n == 0:
        return np.zeros(0, dtype=bool)
    if "Requirements" in job:
        mask = np.asarray(_JOB_REQ.evaluate(job, table).truth(), dtype=bool)
    else:
        mask = np.ones(n, dtype=bool)
    if mask.any():
        mask &= np.asarray(_JOB_REQ.evaluate(table, job).truth(), dtype=bool) | _no_requirements(table)
    return mask


def _no_requirements(table: AdTable) -> np.ndarray:
    return np.array([table.ad(i).get("Requirements") is None for i in range(len(table))], dtype=bool)


def _fit_some_slot(idle: Sequence[JobGroup], free: Sequence[tuple[float, float, float, float]]) -> list[int]:
    """Indexes of the autoclusters whose request fits at least one free slot's resources.

    ``free`` holds each free slot's (Cpus, Memory, GPUs, Disk in MB), see :func:`_free_resources`.
    """
    res = np.array(free, dtype=np.float64).reshape(-1, 4)
    cpus, memory, gpus, disk = res[:, 0], res[:, 1], res[:, 2], res[:, 3]
    out = []
    for i, g in enumerate(idle):
        ok = (cpus >= g.cpus) & (memory >= g.memory) & (gpus >= g.gpus)
        if np.any(ok & (disk >= g.disk)):
            out.append(i)
    return out


def _engine_run(
    idle: Sequence[JobGroup],
    jobs: Sequence[Ad],
    free: Sequence[Ad],
    virtual: Sequence[Ad],
    policy: BurstPolicy,
    now: float,
    usage: UsageState | None = None,
) -> tuple[list[int], list[int]]:
    """One negotiation cycle over the free real slots plus the virtual cloud slots.

    Returns, per autocluster, how many jobs the real slots take and how many the cloud slots take.
    The engine is the negotiator's model (fair share, ranks with the federation's compiled policy,
    p-slot splitting, START), so "a real slot can start it" means what the negotiator would do.
    """
    absorbed = [0] * len(idle)
    cloud = [0] * len(idle)
    if not idle:
        return absorbed, cloud
    pool = SlotPool([*free, *virtual])
    n_real = len(free)
    demand = [
        EngineJobGroup(ad=ad, submitter=submitter_of(ad), group=group_of_job(ad), count=g.count, key=i)
        for i, (g, ad) in enumerate(zip(idle, jobs, strict=True))
    ]
    # Jobs running elsewhere (on busy slots, not in this pool) still count against group quotas.
    running = {
        n: u.resources_used for n, u in (usage.submitters.items() if usage else ()) if u.resources_used
    }
    result = negotiate_demand(demand, pool, policy.negotiator, usage or UsageState(), now, running=running)
    for m in result.matches:
        if m.slot < n_real:
            absorbed[m.group.key] += m.count
        else:
            cloud[m.group.key] += m.count
    return absorbed, cloud


def jobs_per_node(shape: ClusterShape, job: JobGroup) -> int:
    """How many jobs of this autocluster one fresh node holds (0: it does not fit at all).

    A node shape without disk (``disk: 0``) does not limit by disk.
    """
    k = math.inf
    for have, want in ((shape.cpus, job.cpus), (shape.memory, job.memory), (shape.gpus, job.gpus)):
        if want > 0:
            k = min(k, math.floor(have / want))
    if job.disk > 0 and shape.disk > 0:
        k = min(k, math.floor(shape.disk / job.disk))
    return 1 if math.isinf(k) else int(k)


def _split(
    total: float, names: list[str], weights: Mapping[str, float], room: Mapping[str, float]
) -> dict[str, float]:
    """Split ``total`` jobs over ``names`` by weight, capped by ``room``; repeat with what is left."""
    out = dict.fromkeys(names, 0.0)
    left = total
    open_ = [n for n in names if room[n] > 1e-9]
    while left > 1e-9 and open_:
        wsum = sum(weights[n] for n in open_)
        shares = {n: (weights[n] / wsum if wsum > 0 else 1.0 / len(open_)) * left for n in open_}
        for n in open_:
            give = min(shares[n], room[n] - out[n])
            out[n] += give
            left -= give
        open_ = [n for n in open_ if room[n] - out[n] > 1e-9]
    return out


def _routes(
    ad: Ad, job: JobGroup, clusters: Sequence[str], vtable: AdTable, policy: BurstPolicy
) -> tuple[list[list[str]], dict[str, int]]:
    """Tiers of the clusters that can run this autocluster, and jobs per node in each.

    Memoised on the policy by the job ad's content: autoclusters persist across ticks.
    """
    key = (tuple(clusters), tuple(sorted((k, repr(v)) for k, v in ad.lower_items().items())))
    hit = policy.route_cache.get(key)
    if hit is not None:
        return hit
    vmask = _symmetric_mask(ad, vtable)
    fit = {}
    for c, n in enumerate(clusters):
        k = jobs_per_node(policy.clusters[n], job) if vmask[c] else 0
        if k > 0:
            fit[n] = k
    tiers = [[n for n in tier if n in fit] for tier in policy.tiers(ad)]
    out = ([t for t in tiers if t], fit)
    if len(policy.route_cache) > 4096:  # bounded: long simulations see many autoclusters
        policy.route_cache.clear()
    policy.route_cache[key] = out
    return out


def unmet_demand(
    idle: Sequence[JobGroup],
    slots: Sequence[Ad],
    policy: BurstPolicy,
    clusters: Sequence[str],
    room_nodes: Mapping[str, float],
    now: float = 0.0,
    usage: UsageState | None = None,
) -> Demand:
    """Unmet demand per cloud cluster in ``clusters`` (see the module doc for the algorithm).

    ``room_nodes`` is how many more nodes each cluster may hold (cluster max minus what it has
    or has asked for), used to overflow demand to the next routing tier.
    """
    free: list[Ad] = []
    free_res: list[tuple[float, float, float, float]] = []
    for s in slots if idle else ():  # without idle jobs the free slots decide nothing
        res = _free_resources(s)
        if res is not None:
            free.append(s)
            free_res.append(res)
    jobs = [policy.job_ad(g.ad) for g in idle]
    virtual = {n: policy.clusters[n].virtual_slot() for n in clusters}
    vtable = AdTable.from_ads([virtual[n] for n in clusters])
    # The cloud side of the engine run: one p-slot per cluster, big enough for every idle job (a
    # cluster's room is applied when placing, below), so the cycle answers "could the cloud run it
    # and would fair share start it" without the clouds competing for a made-up capacity.
    total = max(sum(g.count for g in idle), 1)
    big = [policy.clusters[n].virtual_slot(total) for n in clusters]
    absorbed_by, cloud_by = [0] * len(idle), [g.count for g in idle]
    if any(g.static_quota is not None for g in policy.negotiator.groups):
        # Static group quotas can stop jobs whatever the capacity: every autocluster goes through
        # the cycle.
        absorbed_by, cloud_by = _engine_run(idle, jobs, free, big, policy, now, usage)
    elif free:
        # Otherwise the (unbounded) virtual slots never run out and no pie limit binds, so only
        # autoclusters that fit some free slot can end up anywhere but the clouds: only they need
        # the cycle. The rest go to the clouds; which clouds can run what is decided below.
        fits = _fit_some_slot(idle, free_res)
        if fits:
            sub_a, sub_c = _engine_run(
                [idle[i] for i in fits], [jobs[i] for i in fits], free, big, policy, now, usage
            )
            for k, i in enumerate(fits):
                absorbed_by[i], cloud_by[i] = sub_a[k], sub_c[k]
    room_jobs_nodes = {n: float(room_nodes.get(n, math.inf)) for n in clusters}
    per_cluster = {n: [0.0, 0.0, 0.0, 0.0, 0.0] for n in clusters}  # jobs, cores, memory, gpus, nodes
    idle_total = absorbed = unplaceable = 0
    overflow = 0.0
    placeable: list[tuple[int, float, list[list[str]], dict[str, int]]] = []
    for i, job in enumerate(idle):
        idle_total += job.count
        absorbed += absorbed_by[i]
        rest = cloud_by[i]
        unplaceable += job.count - absorbed_by[i] - rest
        if rest <= 0:
            continue
        tiers, fit = _routes(jobs[i], job, clusters, vtable, policy)
        if not tiers:
            unplaceable += rest
            continue
        placeable.append((i, float(rest), tiers, fit))
    # Most constrained first: work that only one cluster can run claims its room before work
    # that could go anywhere (ties: queue order).
    placeable.sort(key=lambda p: (sum(len(t) for t in p[2]), p[0]))
    for i, left, tiers, fit in placeable:
        job = idle[i]
        for tier in tiers:
            room = {n: room_jobs_nodes[n] * fit[n] for n in tier}
            weights = {n: float(max(policy.clusters[n].weight, 0)) for n in tier}
            placed = _split(left, tier, weights, room)
            for n, share in placed.items():
                if share <= 0:
                    continue
                acc = per_cluster[n]
                acc[0] += share
                acc[1] += share * job.cpus
                acc[2] += share * job.memory
                acc[3] += share * job.gpus
                acc[4] += share / fit[n]
                room_jobs_nodes[n] -= share / fit[n]
                left -= share
            if left <= 1e-9:
                break
        overflow += max(left, 0.0)
    return Demand(
        idle_jobs=idle_total,
        absorbed_jobs=absorbed,
        unplaceable_jobs=unplaceable,
        overflow_jobs=overflow,
        clusters={n: ClusterDemand(*v) for n, v in per_cluster.items()},
    )
