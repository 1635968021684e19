"""What the controller sees (:class:`ObservedState`) and what it remembers between ticks.

The observation is source-agnostic: the live pool (htcondor2 adapters), ad-file snapshots and
the simulator all produce the same :class:`ObservedState`. Idle jobs arrive grouped into
autoclusters (:class:`JobGroup`: a representative ad and a count), so the controller's cost
grows with the number of autoclusters, not jobs.

:class:`ControllerMemory` is the controller's own state (spend, node requests still
provisioning, workers seen, back-off). It is persisted (a ConfigMap on the host cluster) so a
restarted controller resumes without provisioning twice. Everything here is immutable;
:func:`condorfed.core.burst.decide.step` returns the next memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import classad2

from condorfed.core.burst.members import MemberObservation
from condorfed.core.classads.values import Ad, Expr
from condorfed.core.fairshare import UsageState

# Attributes that decide where an idle job can run (and so group jobs into autoclusters for demand).
DEMAND_ATTRS: tuple[str, ...] = (
    "RequestCpus",
    "RequestMemory",
    "RequestDisk",
    "RequestGPUs",
    "Requirements",
    "AcctGroup",
    "AccountingGroup",
)


def ad_number(ad: Ad, name: str, default: float = 0.0) -> float:
    """A numeric job attribute; expressions are evaluated in the job's own scope (as condor_q does)."""
    value = ad.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, Expr):
        probe = classad2.ClassAd()
        for key, v in ad.items():
            if isinstance(v, Expr):
                probe[key] = classad2.ExprTree(str(v))
            elif isinstance(v, bool | int | float | str):
                probe[key] = v
        result = probe.eval(name)
        if not isinstance(result, classad2.Value) and isinstance(result, bool | int | float):
            return float(result)
    return default


def job_group_name(ad: Ad) -> str | None:
    """The job's accounting group as the negotiator sees it (AcctGroup, else AccountingGroup's group)."""
    group = ad.get("AcctGroup")
    if isinstance(group, str) and not isinstance(group, Expr) and group:
        return group
    acct = ad.get("AccountingGroup")
    if isinstance(acct, str) and not isinstance(acct, Expr) and acct:
        return acct.rsplit(".", 1)[0] if "." in acct else acct
    return None


@dataclass(frozen=True)
class JobGroup:
    """An autocluster of idle jobs: one representative ad and how many jobs it stands for."""

    ad: Ad
    count: int
    cpus: float
    memory: float
    disk: float
    gpus: float
    group: str | None

    @classmethod
    def of(cls, ad: Ad, count: int = 1) -> JobGroup:
        return cls(
            ad=ad,
            count=count,
            cpus=max(ad_number(ad, "RequestCpus", 1.0), 0.0),
            memory=max(ad_number(ad, "RequestMemory", 0.0), 0.0),
            disk=max(ad_number(ad, "RequestDisk", 0.0), 0.0) / 1024.0,  # RequestDisk is KiB; shapes use MB
            gpus=max(ad_number(ad, "RequestGPUs", 0.0), 0.0),
            group=job_group_name(ad),
        )


def group_jobs(ads: Iterable[Ad], extra_attrs: Sequence[str] = ()) -> tuple[JobGroup, ...]:
    """Group idle job ads into autoclusters by the attributes that decide where they can run."""
    attrs = tuple(DEMAND_ATTRS) + tuple(extra_attrs)
    first: dict[tuple, Ad] = {}
    counts: dict[tuple, int] = {}
    for ad in ads:
        key = tuple(repr(ad.get(a)) for a in attrs)
        if key in counts:
            counts[key] += 1
        else:
            first[key] = ad
            counts[key] = 1
    return tuple(JobGroup.of(first[k], n) for k, n in counts.items())


@dataclass(frozen=True)
class Worker:
    """A registered cloud worker node (one startd), as the collector shows it.

    ``state``: ``idle`` (nothing claimed), ``busy`` (running jobs), ``draining`` (drain requested,
    jobs still running), ``drained`` (drain finished, nothing running).
    """

    name: str
    cluster: str
    cores: int
    busy_cores: int = 0
    running_jobs: int = 0
    state: str = "idle"


@dataclass(frozen=True)
class ObservedState:
    """One observation of the federation for one controller tick."""

    idle: tuple[JobGroup, ...] = ()
    slots: tuple[Ad, ...] = ()
    workers: tuple[Worker, ...] = ()
    running_jobs: int = 0
    memory: ControllerMemory = field(default_factory=lambda: ControllerMemory())
    # The accountant's state (the negotiator's priorities and usage), when known: it orders
    # submitters for the free slots and counts against group quotas in the demand cycle.
    usage: UsageState | None = None
    # The member clusters' Kubernetes side (startd DaemonSet, Nodes), when observed; empty offline.
    members: tuple[MemberObservation, ...] = ()


@dataclass(frozen=True)
class WorkerMemory:
    """What the controller remembers about one registered worker."""

    first_seen: float
    idle_since: float | None = None
    drain_started: float | None = None
    escalated: bool = False  # the graceful drain's deadline passed and a fast drain was sent


@dataclass(frozen=True)
class ClusterMemory:
    """Per-cluster controller state.

    ``target_nodes`` is the node count last asked of the actuator (what we pay for);
    ``pending`` holds the request times of nodes asked for but not registered yet (oldest first);
    ``workers`` the registered workers seen; ``removed`` the workers we removed (their
    disappearance is not a death); ``failures`` consecutive failures; ``backoff_until`` the end
    of the current back-off.
    """

    target_nodes: int = 0
    pending: tuple[float, ...] = ()
    workers: Mapping[str, WorkerMemory] = field(default_factory=dict)
    removed: frozenset[str] = frozenset()
    failures: int = 0
    backoff_until: float = -math.inf
    # Kubernetes Nodes already counted as "Ready but never registered" (each fails one request, once).
    unregistered: frozenset[str] = frozenset()

    def to_json(self) -> dict[str, Any]:
        return {
            "targetNodes": self.target_nodes,
            "pending": list(self.pending),
            "workers": {
                n: {
                    "firstSeen": w.first_seen,
                    "idleSince": w.idle_since,
                    "drainStarted": w.drain_started,
                    "escalated": w.escalated,
                }
                for n, w in sorted(self.workers.items())
            },
            "removed": sorted(self.removed),
            "failures": self.failures,
            "backoffUntil": self.backoff_until if math.isfinite(self.backoff_until) else None,
            **({"unregistered": sorted(self.unregistered)} if self.unregistered else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClusterMemory:
        until = data.get("backoffUntil")
        return cls(
            target_nodes=int(data.get("targetNodes", 0)),
            pending=tuple(float(t) for t in data.get("pending", ())),
            workers={
                n: WorkerMemory(
                    first_seen=float(w["firstSeen"]),
                    idle_since=None if w.get("idleSince") is None else float(w["idleSince"]),
                    drain_started=None if w.get("drainStarted") is None else float(w["drainStarted"]),
                    escalated=bool(w.get("escalated", False)),
                )
                for n, w in data.get("workers", {}).items()
            },
            removed=frozenset(data.get("removed", ())),
            failures=int(data.get("failures", 0)),
            backoff_until=-math.inf if until is None else float(until),
            unregistered=frozenset(data.get("unregistered", ())),
        )


@dataclass(frozen=True)
class ControllerMemory:
    """The controller's persisted state: spend so far, per-cluster memory, and whether stopped."""

    last_tick: float | None = None
    spent: float = 0.0
    clusters: Mapping[str, ClusterMemory] = field(default_factory=dict)
    stopped: bool = False

    def cluster(self, name: str) -> ClusterMemory:
        return self.clusters.get(name) or ClusterMemory()

    def with_cluster(self, name: str, mem: ClusterMemory) -> ControllerMemory:
        return replace(self, clusters={**self.clusters, name: mem})

    def to_json(self) -> dict[str, Any]:
        return {
            "lastTick": self.last_tick,
            "spent": self.spent,
            "stopped": self.stopped,
            "clusters": {n: c.to_json() for n, c in sorted(self.clusters.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ControllerMemory:
        if not data:
            return cls()
        last = data.get("lastTick")
        return cls(
            last_tick=None if last is None else float(last),
            spent=float(data.get("spent", 0.0)),
            stopped=bool(data.get("stopped", False)),
            clusters={n: ClusterMemory.from_json(c) for n, c in data.get("clusters", {}).items()},
        )
