"""What the burst controller reads from the federation: cluster shapes, limits, and routing.

:class:`BurstPolicy` is a read-only projection of :class:`condorfed.core.federation.model.Federation`
built once (``BurstPolicy.from_federation``) and passed to every ``decide()`` call.

Routing (:meth:`BurstPolicy.tiers`) is the compiled policy's own ``route()``: the controller places
demand by the very rules the negotiator's config and the schedd's transform enforce. Clusters in one
tier are tied and share demand by weight.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from condorfed.core.classads.values import Ad
from condorfed.core.federation.policy import compile_policy
from condorfed.core.federation.slots import worker_slot
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
        ad = worker_slot(
            self.name,
            self.cloud,
            cpus=self.cpus * nodes,
            memory=self.memory * nodes,
            disk_kib=self.disk * 1024 * nodes,
            gpus=self.gpus * nodes,
            labels=self.labels,
        )
        ad["VirtualNodes"] = nodes
        return ad


@dataclass(frozen=True)
class BurstPolicy:
    """Cluster shapes (in federation file order) and the placement rules."""

    clusters: Mapping[str, ClusterShape]
    # The compiled policy's router (CompiledPolicy.route): job ad -> tiers of cluster names, best first.
    # None only for a policy without rules: every cluster in one tier.
    router: Callable[[Ad], Sequence[Sequence[str]]] | None = None
    # The negotiator's configuration (the federation's compiled policy, fair share, ranks).
    negotiator: NegotiatorConfig = field(default_factory=lambda: NegotiatorConfig.from_params({}))
    # The schedd's job transform (the `require` clause), applied to job ads that lack it.
    transform: Callable[[Ad], Ad] | None = None
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
        compiled = compile_policy(fed)
        return cls(
            clusters=shapes,
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
        if self.router is None:
            return [list(self.clusters)] if self.clusters else []
        return [list(t) for t in self.router(job)]
