"""The production burst controller (:func:`condorfed.core.burst.decide.step`) driven by the simulator.

This module only translates: the simulator's view becomes the controller's
:class:`~condorfed.core.burst.state.ObservedState` (idle autoclusters, free p-slots, registered
workers), the controller's memory is carried from tick to tick as the controller loop does, and
its actions become simulated node requests, drains and removals. No decision is made here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from condorfed.core.burst import actions as burst_actions
from condorfed.core.burst.campaign import Campaign
from condorfed.core.burst.decide import Decision, step
from condorfed.core.burst.policy import BurstPolicy
from condorfed.core.burst.state import ControllerMemory, JobGroup, ObservedState, Worker
from condorfed.errors import SimulationError
from condorfed.sim.actions import Drain, NodeView, Provision, Remove, SimAction, SimView


def _worker_state(n: NodeView) -> str:
    if n.state == "draining":
        return "draining" if n.busy_cpus else "drained"
    return "busy" if n.busy_cpus else "idle"


class BurstController:
    """``--controller condorfed``: the real ``decide()`` on the simulated federation."""

    name = "condorfed"

    def __init__(self, policy: BurstPolicy, campaign: Campaign | None, start_epoch: float) -> None:
        self.policy = policy
        self.campaign = campaign
        self.start = start_epoch
        self.memory = ControllerMemory()
        self.last: Decision | None = None
        self._groups: dict[int, JobGroup] = {}
        self._workers: dict[int, tuple[NodeView, Worker]] = {}  # node id -> (its view, its worker)

    def _group(self, key: int, ad: Any, count: int) -> JobGroup:
        g = self._groups.get(key)
        if g is None:
            g = self._groups[key] = JobGroup.of(ad, 1)
        return replace(g, count=count)

    def _worker(self, n: NodeView, last: dict[int, tuple[NodeView, Worker]]) -> Worker:
        """The collector's record of a registered node, reused while the simulator reuses its view."""
        hit = last.get(n.id)
        if hit is not None and hit[0] is n:
            w = hit[1]
        else:
            w = Worker(
                name=n.name,
                cluster=n.cluster,
                cores=n.cpus,
                busy_cores=n.busy_cpus,
                running_jobs=1 if n.busy_cpus else 0,
                state=_worker_state(n),
            )
        self._workers[n.id] = (n, w)
        return w

    def decide(self, view: SimView) -> list[SimAction]:
        clouds = [c.name for c in view.clusters if c.cloud]
        last, self._workers = self._workers, {}
        workers = tuple(
            self._worker(n, last)
            for cluster in clouds
            for n in view.nodes_in(cluster)
            if n.state != "booting"  # booting: no startd registered yet
        )
        state = ObservedState(
            idle=tuple(self._group(d.key, d.ad, d.count) for d in view.idle),
            # Free slots only matter for idle jobs (unmet demand): skip building their ads otherwise.
            slots=tuple(ad for _, ad in view.free_slots()) if view.idle else (),
            workers=workers,
            running_jobs=view.running_jobs,
            memory=self.memory,
        )
        decision = step(state, self.policy, self.campaign, self.start + view.now)
        self.memory = decision.memory
        self.last = decision
        return self._translate(decision.actions, view)

    def _translate(self, acts: tuple[burst_actions.Action, ...], view: SimView) -> list[SimAction]:
        out: list[SimAction] = []

        def ids(cluster: str, names: tuple[str, ...]) -> tuple[int, ...]:
            by_name = {n.name: n for n in view.nodes_in(cluster)}
            found = []
            for name in names:
                node = by_name.get(name)
                if node is None:
                    raise SimulationError(f"burst controller named unknown worker {name!r} in {cluster!r}")
                found.append(node.id)
            return tuple(found)

        for a in acts:
            if isinstance(a, burst_actions.ScaleUp):
                out.append(Provision(a.cluster, a.nodes, a.reason))
            elif isinstance(a, burst_actions.Drain):
                nodes = ids(a.cluster, a.workers)
                # fast: HTCondor evicts at once and the jobs go back to idle; graceful: they finish
                out.append(Drain(a.cluster, nodes, a.reason, remove_when_empty=False, evict=a.how == "fast"))
            elif isinstance(a, burst_actions.Remove):
                out.append(Remove(a.cluster, ids(a.cluster, a.workers), a.reason))
            elif isinstance(a, burst_actions.Cancel):
                booting = sorted(
                    (n for n in view.nodes_in(a.cluster) if n.state == "booting"),
                    key=lambda n: -n.id,
                )
                if booting[: a.nodes]:
                    out.append(Remove(a.cluster, tuple(n.id for n in booting[: a.nodes]), a.reason))
            # BackOff: nothing to actuate
        return [x for x in out if not (isinstance(x, Remove) and not x.node_ids)]
