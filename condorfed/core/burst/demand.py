"""Unmet demand: idle work that the existing slots cannot start but a cloud cluster could.

Computed per autocluster (:class:`JobGroup`), never per job:

1. **Absorb with free real slots.** Only slots that can take a job now count: unclaimed, not
   draining or retiring, not drained, with resources left (a partitionable slot with no cores or
   memory left is exhausted). Each autocluster's Requirements are evaluated against the free
   slots with the negotiator's Old-ClassAd scoping (and each slot's START against the job); the
   jobs that fit are packed greedily, partitionable slots carved by request (cores, memory,
   disk, GPUs), static slots one job each.
2. **Virtual slots.** Every cloud cluster the campaign may use gets a *virtual* partitionable
   slot with the cluster's worker shape (``federation.yaml``'s ``node``, labels, ``FedCluster``,
   ``IsCloud``). An autocluster that matches no virtual slot (its Requirements or request shape
   rule the cloud out) never causes a scale-up.
3. **Place.** The remaining jobs go to the first routing tier (prefer/fill/require) that has a
   matching cloud cluster with room; within a tier they split by cluster weight, so a job that
   matches k tied clusters of equal weight counts 1/k in each (GlideinWMS's proportional split).
   What a tier cannot hold overflows to the next one.
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

_NOT_FREE_STATES = frozenset({"claimed", "drained", "preempting", "owner", "matched", "backfill"})


def _number(value: object) -> float | None:
    """A plain number (bools count as 0/1); None for UNDEFINED/ERROR (an IntEnum), strings, exprs."""
    if isinstance(value, classad2.Value | Expr):
        return None
    if isinstance(value, bool | int | float):
        return float(value)
    return None


def _text(value: object) -> str:
    return "" if value is None else str(value).lower()


def is_free(slot: Ad) -> bool:
    """Whether a slot can start a job now (retiring/draining/drained/exhausted slots cannot)."""
    if _text(slot.get("State")) in _NOT_FREE_STATES:
        return False
    if _text(slot.get("Activity")) in ("retiring", "vacating", "killing"):
        return False
    if slot.get("Draining") is True or slot.get("Offline") is True:
        return False
    cpus, memory = _number(slot.get("Cpus")), _number(slot.get("Memory"))
    if cpus is None or memory is None:
        return False
    # HTCondor's minimum request; a p-slot below it is exhausted (glideinWMS #554 counted these).
    return cpus >= 1 and memory >= 1


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
    unplaceable_jobs: int = 0  # idle jobs no allowed cloud cluster can run
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


def _slot_number(slots: Sequence[Ad], name: str, default: float = 0.0) -> np.ndarray:
    out = np.empty(len(slots))
    for i, s in enumerate(slots):
        v = _number(s.get(name))
        out[i] = default if v is None else v
    return out


class FreeSlots:
    """The free real slots of one tick, with resources that shrink as jobs are packed."""

    def __init__(self, slots: Sequence[Ad]) -> None:
        self.ads = [s for s in slots if is_free(s)]
        self.table = AdTable.from_ads(self.ads)
        self.cpus = _slot_number(self.ads, "Cpus")
        self.memory = _slot_number(self.ads, "Memory")
        self.disk = _slot_number(self.ads, "Disk", math.inf) / 1024.0  # KiB -> MB
        self.gpus = _slot_number(self.ads, "GPUs")
        self.partitionable = np.array(
            [
                s.get("PartitionableSlot") is True or _text(s.get("SlotType")) == "partitionable"
                for s in self.ads
            ],
            dtype=bool,
        )
        self.used = np.zeros(len(self.ads), dtype=bool)  # static slots taken this tick

    def absorb(self, job: JobGroup) -> int:
        """Pack up to ``job.count`` jobs of this autocluster; return how many fit."""
        if not self.ads or job.count <= 0:
            return 0
        fits = (self.cpus >= job.cpus) & (self.memory >= job.memory) & (self.disk >= job.disk)
        fits &= self.gpus >= job.gpus
        fits &= ~self.used
        if not fits.any():
            return 0
        idx = np.flatnonzero(fits)
        sub = AdTable.from_ads([self.ads[i] for i in idx])
        idx = idx[_symmetric_mask(job.ad, sub)]
        if idx.size == 0:
            return 0
        with np.errstate(divide="ignore", invalid="ignore"):
            per = np.minimum.reduce(
                [
                    _per_slot(self.cpus[idx], job.cpus),
                    _per_slot(self.memory[idx], job.memory),
                    _per_slot(self.disk[idx], job.disk),
                    _per_slot(self.gpus[idx], job.gpus),
                ]
            )
        per = np.where(self.partitionable[idx], per, np.minimum(per, 1.0))
        before = np.cumsum(per) - per
        take = np.clip(job.count - before, 0, per)
        self.cpus[idx] -= take * job.cpus
        self.memory[idx] -= take * job.memory
        self.disk[idx] -= take * job.disk
        self.gpus[idx] -= take * job.gpus
        self.used[idx] |= (~self.partitionable[idx]) & (take > 0)
        return int(take.sum())


def _per_slot(free: np.ndarray, request: float) -> np.ndarray:
    if request <= 0:
        return np.full(free.shape, np.inf)
    return np.floor(free / request)


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


def unmet_demand(
    idle: Sequence[JobGroup],
    slots: Sequence[Ad],
    policy: BurstPolicy,
    clusters: Sequence[str],
    room_nodes: Mapping[str, float],
) -> Demand:
    """Unmet demand per cloud cluster in ``clusters`` (see the module doc for the algorithm).

    ``room_nodes`` is how many more nodes each cluster may hold (cluster max minus what it has
    or has asked for), used to overflow demand to the next routing tier.
    """
    free = FreeSlots(slots)
    virtual = {n: policy.clusters[n].virtual_slot() for n in clusters}
    vtable = AdTable.from_ads([virtual[n] for n in clusters])
    room_jobs_nodes = {n: float(room_nodes.get(n, math.inf)) for n in clusters}
    per_cluster = {n: [0.0, 0.0, 0.0, 0.0, 0.0] for n in clusters}  # jobs, cores, memory, gpus, nodes
    idle_total = absorbed = unplaceable = 0
    overflow = 0.0
    for job in idle:
        idle_total += job.count
        took = free.absorb(job)
        absorbed += took
        rest = job.count - took
        if rest <= 0:
            continue
        if not clusters:
            unplaceable += rest
            continue
        vmask = _symmetric_mask(job.ad, vtable)
        fit = {}
        for i, n in enumerate(clusters):
            k = jobs_per_node(policy.clusters[n], job) if vmask[i] else 0
            if k > 0:
                fit[n] = k
        tiers = [[n for n in tier if n in fit] for tier in policy.tiers(job.ad)]
        tiers = [t for t in tiers if t]
        if not tiers:
            unplaceable += rest
            continue
        left = float(rest)
        for tier in tiers:
            room = {n: room_jobs_nodes[n] * fit[n] for n in tier}
            weights = {n: float(max(policy.clusters[n].weight, 0)) for n in tier}
            placed = _split(left, tier, weights, room)
            for n, jobs in placed.items():
                if jobs <= 0:
                    continue
                acc = per_cluster[n]
                acc[0] += jobs
                acc[1] += jobs * job.cpus
                acc[2] += jobs * job.memory
                acc[3] += jobs * job.gpus
                acc[4] += jobs / fit[n]
                room_jobs_nodes[n] -= jobs / fit[n]
                left -= jobs
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
