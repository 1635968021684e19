"""Baseline controllers to measure condorfed's burst controller against.

Each follows the published behaviour of a tool from the field (documented in docs/simulate.md):

- ``onprem-only``: never provisions anything.
- ``static``: a fixed number of cloud nodes for the whole period (``--static-nodes``), split
  round-robin over the cloud clusters in file order, within each cluster's maxCores; nodes lost
  to spot preemption are replaced.
- ``glideinwms``: the GlideinWMS frontend. Per cloud cluster (factory entry), count the idle
  jobs whose Requirements match that cluster's worker; a job matching k entries counts 1/k in
  each (proportional split). Jobs become workers by node shape. The idle-worker request is that
  number divided by the ramp-up attenuation of 3, capped at 100 idle workers per cluster. Idle
  workers are workers still provisioning plus ready ones running nothing; if fewer than the
  request, more are asked for; if more, the still-provisioning surplus is cancelled. Workers
  running jobs are never removed (it never shrinks below running); an idle worker exits after
  the glidein's idle timeout (20 minutes, GlideinWMS's default GLIDEIN_Max_Idle).
- ``cobald``: COBalD's LinearController per cloud cluster, on demand in nodes: grow by ``rate``
  when allocation > 0.9, shrink by ``rate`` when utilisation < 0.9. Allocation and utilisation
  are the claimed share of the ready workers' cores (a claimed core is a used core in the
  simulation, so the two are equal). Booting workers count in demand, not in the pool. Demand
  has a floor of one node per cluster (the Limiter minimum that real deployments set; an empty
  COBalD pool has no allocation and would never grow). Shrinking cancels provisioning workers
  first, then removes idle ones, then drains busy ones (removed once empty), like TARDIS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from condorfed.errors import SimulationError
from condorfed.sim.actions import Drain, NodeView, Provision, Remove, SimAction, SimView
from condorfed.sim.federation_view import ClusterSpec


def jobs_per_node(c: ClusterSpec, cpus: int, memory: int, disk_kib: int, gpus: int) -> int:
    """How many jobs of this request one worker of ``c`` holds (0: none)."""
    fits = [c.cpus // max(cpus, 1)]
    if memory > 0:
        fits.append(c.memory // memory)
    if disk_kib > 0:
        fits.append((c.disk * 1024) // disk_kib)
    if gpus > 0:
        fits.append(c.gpus // gpus)
    return max(min(fits), 0)


class OnPremOnly:
    name = "onprem-only"

    def decide(self, view: SimView) -> list[SimAction]:
        return []


@dataclass
class Static:
    nodes: int
    name: str = "static"

    def __post_init__(self) -> None:
        if self.nodes < 0:
            raise SimulationError(f"--static-nodes must be >= 0, got {self.nodes}")

    def targets(self, clusters: list[ClusterSpec]) -> dict[str, int]:
        clouds = [c for c in clusters if c.cloud]
        want = {c.name: 0 for c in clouds}
        left = self.nodes
        while left > 0 and clouds:
            progressed = False
            for c in clouds:
                if left == 0:
                    break
                cap = c.max_nodes
                if cap is None or want[c.name] < cap:
                    want[c.name] += 1
                    left -= 1
                    progressed = True
            if not progressed:
                break
        return want

    def decide(self, view: SimView) -> list[SimAction]:
        actions: list[SimAction] = []
        for name, target in self.targets(list(view.clusters)).items():
            have = len([n for n in view.nodes_in(name) if n.state != "draining"])
            if have < target:
                actions.append(Provision(name, target - have, f"static: keep {target} node(s)"))
        return actions


@dataclass
class GlideinWMS:
    attenuation: float = 3.0
    max_idle: int = 100
    idle_timeout: float = 1200.0
    name: str = "glideinwms"

    def decide(self, view: SimView) -> list[SimAction]:
        clouds = [c for c in view.clusters if c.cloud]
        cloud_names = {c.name for c in clouds}
        nodes_wanted = {c.name: 0.0 for c in clouds}
        for d in view.idle:
            entries = [c for c in clouds if c.name in d.clusters]
            if not entries:
                continue
            share = d.count / len(entries)  # proportional split over matching entries
            for c in entries:
                per = jobs_per_node(c, d.cpus, d.memory, d.disk, d.gpus)
                if per > 0:
                    nodes_wanted[c.name] += share / per
        actions: list[SimAction] = []
        for c in clouds:
            request = min(math.ceil(nodes_wanted[c.name] / self.attenuation - 1e-9), self.max_idle)
            mine = view.nodes_in(c.name)
            booting = sorted((n for n in mine if n.state == "booting"), key=lambda n: -n.id)
            idle_ready = [n for n in mine if n.state == "ready" and n.busy_cpus == 0]
            idle_now = len(booting) + len(idle_ready)
            if request > idle_now:
                actions.append(
                    Provision(c.name, request - idle_now, f"glideinwms: {request} idle worker(s) requested")
                )
            elif request < idle_now and booting:
                cancel = booting[: min(len(booting), idle_now - request)]
                actions.append(Remove(c.name, tuple(n.id for n in cancel), "glideinwms: lower request"))
            expired = [
                n.id
                for n in idle_ready
                if n.idle_since is not None and view.now - n.idle_since >= self.idle_timeout
            ]
            if expired:
                actions.append(Remove(c.name, tuple(expired), "glideinwms: glidein idle timeout"))
        assert cloud_names >= {a.cluster for a in actions}
        return actions


@dataclass
class Cobald:
    rate: int = 2  # nodes per controller tick
    low_utilisation: float = 0.9
    high_allocation: float = 0.9
    minimum: int = 1
    name: str = "cobald"
    demand: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def _fractions(nodes: list[NodeView]) -> tuple[float, float]:
        ready = [n for n in nodes if n.state == "ready"]
        cores = sum(n.cpus for n in ready)
        if cores == 0:
            return 0.0, 0.0
        claimed = sum(n.busy_cpus for n in ready) / cores
        return claimed, claimed  # (allocation, utilisation)

    def decide(self, view: SimView) -> list[SimAction]:
        actions: list[SimAction] = []
        for c in view.clusters:
            if not c.cloud:
                continue
            mine = [n for n in view.nodes_in(c.name) if n.state != "draining"]
            demand = self.demand.get(c.name, len(mine))
            allocation, utilisation = self._fractions(mine)
            if utilisation < self.low_utilisation and any(n.state == "ready" for n in mine):
                demand -= self.rate
            elif allocation > self.high_allocation:
                demand += self.rate
            cap = c.max_nodes if c.max_nodes is not None else demand
            demand = max(self.minimum, min(demand, cap))
            self.demand[c.name] = demand
            have = len(mine)
            if demand > have:
                actions.append(Provision(c.name, demand - have, f"cobald: allocation {allocation:.2f}"))
            elif demand < have:
                excess = have - demand
                order = sorted(mine, key=lambda n: ({"booting": 0, "ready": 1}[n.state], n.busy_cpus, -n.id))
                victims = order[:excess]
                gone = tuple(n.id for n in victims if n.state == "booting" or n.busy_cpus == 0)
                busy = tuple(n.id for n in victims if n.state == "ready" and n.busy_cpus > 0)
                why = f"cobald: utilisation {utilisation:.2f}"
                if gone:
                    actions.append(Remove(c.name, gone, why))
                if busy:
                    actions.append(Drain(c.name, busy, why, remove_when_empty=True))
        return actions


BASELINES = ("onprem-only", "static", "glideinwms", "cobald")


def make_baseline(name: str, static_nodes: int = 10) -> OnPremOnly | Static | GlideinWMS | Cobald:
    if name == "onprem-only":
        return OnPremOnly()
    if name == "static":
        return Static(static_nodes)
    if name == "glideinwms":
        return GlideinWMS()
    if name == "cobald":
        return Cobald()
    raise SimulationError(f"unknown controller {name!r} (known: condorfed, {', '.join(BASELINES)})")
