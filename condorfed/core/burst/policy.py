"""What the burst controller reads from the federation: cluster shapes, limits, and routing.

:class:`BurstPolicy` is a read-only projection of :class:`condorfed.core.federation.model.Federation`
built once (``BurstPolicy.from_federation``) and passed to every ``decide()`` call.

Routing (:meth:`BurstPolicy.tiers`) follows the federation's rule semantics: ``require`` rules
whose ``when`` holds restrict the allowed clusters (several: their intersection); ``prefer``
rules put their clusters first; ``fill`` gives the default order, where ``"*"`` is every
cluster not named, tied. Clusters in one tier are tied and share demand by weight.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import classad2

from condorfed.core.classads.values import ERROR, UNDEFINED, Ad, Expr
from condorfed.core.federation.policy import compile_policy
from condorfed.core.negotiation import NegotiatorConfig


@dataclass(frozen=True)
class ClusterShape:
    """One member cluster as the controller sizes it (memory and disk in MB)."""

    name: str
    cloud: bool
    cpus: int
    memory: int
    disk: int = 0
    gpus: int = 0
    weight: int = 1
    min_cores: int = 0
    max_cores: int | None = None
    cost_per_core_hour: float = 0.0
    provisioning_seconds: float = 0.0
    labels: Mapping[str, Any] = field(default_factory=dict)

    @property
    def max_nodes(self) -> int | None:
        return None if self.max_cores is None else self.max_cores // max(self.cpus, 1)

    @property
    def min_nodes(self) -> int:
        return -(-self.min_cores // max(self.cpus, 1))

    def node_cost_per_hour(self) -> float:
        return self.cpus * self.cost_per_core_hour

    def virtual_slot(self, nodes: int = 1) -> Ad:
        """A partitionable slot as a fresh worker of this cluster would advertise it.

        With ``nodes`` > 1 its resources are those of ``nodes`` workers together (the capacity a
        cluster could still add, for the engine's cycle; node fit is checked separately).
        """
        ad = Ad(
            {
                "Name": f"slot1@virtual.{self.name}",
                "Machine": f"virtual.{self.name}",
                "VirtualNodes": nodes,
                "MyType": "Machine",
                "SlotType": "Partitionable",
                "PartitionableSlot": True,
                "State": "Unclaimed",
                "Activity": "Idle",
                "Arch": "X86_64",
                "OpSys": "LINUX",
                "HasFileTransfer": True,
                "Cpus": self.cpus * nodes,
                "TotalSlotCpus": self.cpus * nodes,
                "Memory": self.memory * nodes,
                "TotalSlotMemory": self.memory * nodes,
                "Disk": self.disk * 1024 * nodes,  # KiB, HTCondor's Disk unit
                "GPUs": self.gpus * nodes,
                "TotalSlotGPUs": self.gpus * nodes,
                "Requirements": Expr("START"),
                "START": True,
                "Rank": 0,
            }
        )
        for key, value in self.labels.items():
            ad[key] = value
        ad["FedCluster"] = self.name
        ad["IsCloud"] = self.cloud
        return ad


@dataclass(frozen=True)
class RouteRule:
    kind: str  # fill | prefer | require
    clusters: tuple[str, ...]
    when: str | None = None


def _when_true(when: str | None, job: Ad, cache: dict[str, classad2.ExprTree]) -> bool:
    if when is None:
        return True
    tree = cache.get(when)
    if tree is None:
        tree = cache[when] = classad2.ExprTree(when)
    scope = classad2.ClassAd()
    for key, value in job.items():
        if isinstance(value, Expr):
            scope[key] = classad2.ExprTree(str(value))
        elif value is not UNDEFINED and value is not ERROR:
            scope[key] = value
    result = tree.eval(scope)
    if isinstance(result, classad2.Value):  # UNDEFINED / ERROR (an IntEnum: test it first)
        return False
    return result is True or (
        isinstance(result, int | float) and not isinstance(result, bool) and result != 0
    )


@dataclass(frozen=True)
class BurstPolicy:
    """Cluster shapes (in federation file order) and the placement rules."""

    clusters: Mapping[str, ClusterShape]
    rules: tuple[RouteRule, ...] = ()
    # Optional router from the policy module: job ad -> tiers of cluster names (best first).
    router: Callable[[Ad], Sequence[Sequence[str]]] | None = None
    # The negotiator's configuration (the federation's compiled policy, fair share, ranks).
    negotiator: NegotiatorConfig = field(default_factory=lambda: NegotiatorConfig.from_params({}))
    # The schedd's job transform (the `require` clause), applied to job ads that lack it.
    transform: Callable[[Ad], Ad] | None = None
    _when_cache: dict[str, classad2.ExprTree] = field(default_factory=dict, compare=False, repr=False)
    # (clusters, job ad content) -> (tiers, jobs per node): see demand._routes. A memo, not state:
    # its answers depend only on the key and on this (frozen) policy.
    route_cache: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_federation(cls, fed: Any) -> BurstPolicy:
        shapes: dict[str, ClusterShape] = {}
        for c in fed.clusters:
            node = c.node
            shapes[c.name] = ClusterShape(
                name=c.name,
                cloud=bool(c.is_cloud),
                cpus=int(node.cpus),
                memory=int(node.memory),
                disk=int(getattr(node, "disk", 0) or 0),
                gpus=int(getattr(node, "gpus", 0) or 0),
                weight=int(getattr(c, "weight", 1)),
                min_cores=int(getattr(c, "min_cores", 0) or 0),
                max_cores=getattr(c, "max_cores", None),
                cost_per_core_hour=float(getattr(c, "cost_per_core_hour", 0.0) or 0.0),
                provisioning_seconds=float(getattr(c, "provisioning_seconds", 0.0) or 0.0),
                labels=dict(getattr(c, "labels", {}) or {}),
            )
        rules = tuple(RouteRule(r.kind, tuple(r.clusters), r.when) for r in getattr(fed, "rules", ()))
        compiled = compile_policy(fed)
        return cls(
            clusters=shapes,
            rules=rules,
            router=lambda job: compiled.route(job).tiers,
            negotiator=NegotiatorConfig.from_params(compiled.params),
            transform=compiled.apply_to_job,
        )

    def job_ad(self, job: Ad) -> Ad:
        """The job as the negotiator sees it: with the schedd's policy transform applied."""
        return job if self.transform is None else self.transform(job)

    @property
    def cloud_names(self) -> tuple[str, ...]:
        return tuple(n for n, c in self.clusters.items() if c.cloud)

    def tiers(self, job: Ad) -> list[list[str]]:
        """Allowed clusters for ``job``, best tier first; clusters within a tier are tied."""
        if self.router is not None:
            return [list(t) for t in self.router(job)]
        names = list(self.clusters)
        allowed = set(names)
        preferred: list[str] = []
        fill: tuple[str, ...] | None = None
        for rule in self.rules:
            if not _when_true(rule.when, job, self._when_cache):
                continue
            if rule.kind == "require":
                allowed &= set(rule.clusters)
            elif rule.kind == "prefer":
                preferred.extend(c for c in rule.clusters if c not in preferred)
            elif rule.kind == "fill" and fill is None:
                fill = rule.clusters
        tiers: list[list[str]] = []
        seen: set[str] = set()
        if preferred:
            tiers.append([c for c in preferred if c in allowed])
            seen.update(preferred)
        order = fill if fill is not None else ("*",)
        named = {c for c in order if c != "*"}
        for entry in order:
            if entry == "*":
                rest = [c for c in names if c not in named and c not in seen and c in allowed]
                tiers.append(rest)
                seen.update(rest)
            elif entry not in seen and entry in allowed:
                tiers.append([entry])
                seen.add(entry)
        if "*" not in order:  # clusters a fill rule does not name still come last, tied
            tiers.append([c for c in names if c not in seen and c in allowed])
        return [t for t in tiers if t]
