"""What a controller may ask of the simulated actuator, and what it may look at.

Controllers (the baselines in :mod:`condorfed.sim.baselines` and the real burst controller via
:mod:`condorfed.sim.burst`) return a list of these actions; the simulator applies them once per
controller tick, like the production actuators do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, overload

from condorfed.core.classads.values import Ad
from condorfed.sim.federation_view import ClusterSpec


@dataclass(frozen=True, slots=True)
class Provision:
    """Request ``nodes`` new worker nodes in ``cluster`` (ready after provisioningSeconds)."""

    cluster: str
    nodes: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Drain:
    """Stop new jobs on these nodes; with ``remove_when_empty`` the node goes once it is idle.

    ``evict`` is a fast drain: running jobs are evicted at once and go back to idle.
    """

    cluster: str
    node_ids: tuple[int, ...]
    reason: str = ""
    remove_when_empty: bool = True
    evict: bool = False


@dataclass(frozen=True, slots=True)
class Remove:
    """Delete these nodes now; a job still running on one goes back to idle and reruns."""

    cluster: str
    node_ids: tuple[int, ...]
    reason: str = ""


SimAction = Provision | Drain | Remove


@dataclass(frozen=True, slots=True)
class NodeView:
    """A worker node as a controller sees it."""

    id: int
    name: str
    cluster: str
    state: str  # booting | ready | draining
    cpus: int
    memory: int
    gpus: int
    busy_cpus: int
    busy_memory: int
    requested_at: float
    ready_at: float | None
    idle_since: float | None  # when it last became empty (None while busy or booting)


@dataclass(frozen=True, slots=True)
class DemandView:
    """Idle jobs of one autocluster, with the clusters whose worker shape they match."""

    key: int
    ad: Ad
    submitter: str
    group: str | None
    count: int
    cpus: int
    memory: int
    disk: int
    gpus: int
    clusters: frozenset[str]


class NodeViews(Sequence[NodeView]):
    """The live nodes of a view, built per cluster on first use.

    Controllers look at a few (cloud) clusters only, so the simulator does not build a view of
    every on-prem node at every tick. As a sequence it holds every cluster's nodes in id order.
    """

    def __init__(self, clusters: Sequence[str], build: Callable[[str], list[NodeView]]) -> None:
        self._clusters = list(clusters)
        self._build = build
        self._by_cluster: dict[str, list[NodeView]] = {}
        self._all: list[NodeView] | None = None

    def in_cluster(self, cluster: str) -> list[NodeView]:
        nodes = self._by_cluster.get(cluster)
        if nodes is None:
            nodes = self._by_cluster[cluster] = self._build(cluster) if cluster in self._clusters else []
        return nodes

    def _every(self) -> list[NodeView]:
        if self._all is None:
            self._all = sorted((n for c in self._clusters for n in self.in_cluster(c)), key=lambda n: n.id)
        return self._all

    @overload
    def __getitem__(self, i: int) -> NodeView: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[NodeView]: ...
    def __getitem__(self, i: int | slice) -> NodeView | Sequence[NodeView]:
        return self._every()[i]

    def __len__(self) -> int:
        return len(self._every())

    def __iter__(self) -> Iterator[NodeView]:
        return iter(self._every())


@dataclass(frozen=True)
class SimView:
    """A read-only snapshot of the simulated federation handed to a controller.

    ``nodes`` and ``free_slots`` are computed on first use: read them during ``decide``.
    """

    now: float
    clusters: Sequence[ClusterSpec]
    nodes: Sequence[NodeView]
    idle: Sequence[DemandView]
    running_jobs: int
    spend: float
    free_slots: Callable[[], list[tuple[int, Ad]]] = field(default=lambda: [])  # open p-slots, free resources

    def nodes_in(self, cluster: str) -> list[NodeView]:
        if isinstance(self.nodes, NodeViews):
            return list(self.nodes.in_cluster(cluster))
        return [n for n in self.nodes if n.cluster == cluster]


class Controller(Protocol):
    """One control step: look at the view, return actions. ``name`` is shown in reports."""

    name: str

    def decide(self, view: SimView) -> list[SimAction]: ...
