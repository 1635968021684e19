"""The discrete-event simulation of a federation: clusters, nodes, jobs, negotiation, controller.

Events (see :class:`~condorfed.sim.events.EventQueue`):

- ``submit``  the next trace entry arrives (trace sorted by submit time, fed lazily);
- ``done``    a run of jobs finished and frees its dynamic slots;
- ``ready``   a requested node finished provisioning and its p-slot joins the pool;
- ``preempt`` a spot node is reclaimed: its jobs go back to idle and rerun from the start;
- ``negotiate`` every negotiatorInterval: the accountant is updated, then (when anything could
  match) one negotiation cycle runs through the :class:`~condorfed.sim.ports.Matchmaker`;
- ``control`` every controllerInterval: the controller decides, the actuator applies.

Skipping a negotiation cycle is exact (results are identical to negotiating every cycle): a cycle
is skipped only when no idle job's request fits the free resources of any open p-slot, or when
nothing changed since the last cycle (no submission, no freed resources, no new slot) and that
cycle left no job idle because of a fair-share limit, so every idle job had already found no
candidate. The accountant is updated at every cycle either way. (Expressions that read the
clock, such as ``CurrentTime`` in Requirements, would break the second rule; the simulator's
ads have none.)
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from condorfed.core.classads.values import Ad
from condorfed.core.federation.slots import worker_slot
from condorfed.errors import SimulationError
from condorfed.sim.actions import (
    Controller,
    DemandView,
    Drain,
    NodeView,
    NodeViews,
    Provision,
    Remove,
    SimView,
)
from condorfed.sim.events import EventQueue
from condorfed.sim.federation_view import ClusterSpec
from condorfed.sim.jobs import NO_GROUP, Batch, build_queues
from condorfed.sim.ports import Demand, Grant, Matchmaker
from condorfed.sim.trace import TraceEntry

# Default horizon: until every job completed, but never more than this after the last submission.
SAFETY_CAP_S = 14 * 86400.0
# A run with idle jobs, nothing running, booting or left to submit, and a controller that has
# done nothing for this many ticks, has stalled: those jobs can never start.
STALL_TICKS = 30

_PRIO_STATE, _PRIO_NEGOTIATE, _PRIO_CONTROL = 0, 5, 6


# The cyclic collector's first-generation threshold during a run (CPython's default is 700).
GC_GEN0_THRESHOLD = 50_000


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Collect cyclic garbage less often while a simulation runs, then restore the thresholds.

    A run allocates millions of short-lived containers (events, runs, claims, match entries) next to a
    large long-lived state (queues, slot ads, the event heap). At CPython's default thresholds the
    collector walks that state again and again; raising them saved about 1% of the instructions of a
    simulated day and a few percent of a simulated week's wall time (measured). Reference counting
    still frees nearly everything at once; the few cycles wait for a later, rarer collection."""
    old = gc.get_threshold()
    if old[0]:  # (0: the caller turned automatic collection off; leave it so)
        gc.set_threshold(max(old[0], GC_GEN0_THRESHOLD), max(old[1], 50), max(old[2], 50))
    try:
        yield
    finally:
        gc.set_threshold(*old)


@dataclass(slots=True)
class Node:
    id: int
    name: str
    cluster: int
    cpus: int
    memory: int
    disk: int  # KiB, as the slot ad's Disk
    gpus: int
    requested_at: float
    state: str = "booting"  # booting | ready | draining | gone
    ready_at: float | None = None
    gone_at: float | None = None
    idle_since: float | None = None
    runs: set[int] = field(default_factory=set)
    remove_when_empty: bool = False
    in_pool: bool = False
    ad: Ad | None = None


@dataclass(slots=True)
class Run:
    id: int
    key: int
    node: int
    batch: Batch
    start: float
    end: float
    cpus: int
    memory: int
    disk: int
    gpus: int
    claims: tuple[int, ...]
    alive: bool = True


@dataclass(frozen=True, slots=True)
class ActionRecord:
    time: float
    kind: str  # provision | drain | remove | preempted
    cluster: str
    nodes: int
    reason: str


@dataclass
class SimInputs:
    """Everything a run needs, resolved by the workflow layer."""

    clusters: Sequence[ClusterSpec]
    trace: Sequence[TraceEntry]
    matchmaker: Matchmaker
    controller: Controller | None = None
    negotiator_interval: float = 60.0
    controller_interval: float = 60.0
    seed: int = 0
    horizon: float | None = None
    job_transform: Callable[[Ad], Ad] | None = None
    require_rules: Sequence[tuple[str, frozenset[str]]] = ()
    group_quotas: Mapping[str, tuple[float, bool]] = field(default_factory=dict)  # see federation_view
    progress: Callable[[float, float], None] | None = None  # (now, fraction of jobs completed)


def slot_ad(c: ClusterSpec, name: str, cpus: int, memory: int, disk_kib: int, gpus: int) -> Ad:
    """The partitionable slot a worker of cluster ``c`` advertises (with the federation's attributes)."""
    return worker_slot(
        c.name, c.cloud, cpus=cpus, memory=memory, disk_kib=disk_kib, gpus=gpus, name=name, labels=c.labels
    )


def template_ads(clusters: Sequence[ClusterSpec]) -> list[Ad]:
    """One empty worker's slot ad per cluster (eligibility checks, autocluster signatures)."""
    return [slot_ad(c, f"slot1@template.{c.name}", c.cpus, c.memory, c.disk * 1024, c.gpus) for c in clusters]


class Simulation:
    """One deterministic run. Build it, call :meth:`run`, read the state or :func:`metrics`."""

    def __init__(self, inputs: SimInputs) -> None:
        self.inp = inputs
        self.clusters = list(inputs.clusters)
        self.cindex = {c.name: i for i, c in enumerate(self.clusters)}
        if len(self.cindex) != len(self.clusters):
            raise SimulationError("duplicate cluster names in the federation")
        if inputs.negotiator_interval <= 0 or inputs.controller_interval <= 0:
            raise SimulationError("negotiatorInterval and controllerInterval must be positive")
        if inputs.horizon is not None and inputs.horizon <= 0:
            raise SimulationError(f"--horizon must be positive, got {inputs.horizon}")
        self.mm = inputs.matchmaker
        self.rng = np.random.default_rng(inputs.seed)
        order = sorted(range(len(inputs.trace)), key=lambda i: (inputs.trace[i].submit, i))
        self.trace = [inputs.trace[i] for i in order]
        self.queues, self.entry_key = build_queues(self.trace, inputs.job_transform)
        self.groups = sorted({q.group or NO_GROUP for q in self.queues} | set(inputs.group_quotas))
        self.gindex = {g: i for i, g in enumerate(self.groups)}
        self.q_group = [self.gindex[q.group or NO_GROUP] for q in self.queues]
        self.events = EventQueue()
        self.nodes: list[Node] = []
        # Per cluster, the nodes not gone yet, by id (in id order): views skip the gone ones.
        self._live: list[dict[int, Node]] = [{} for _ in self.clusters]
        # The last view of each live node: reused while the node is unchanged (views are frozen).
        self._views: dict[int, NodeView] = {}
        self.runs: dict[int, Run] = {}
        self._next_run = 0
        self._next_submit = 0
        nc, ng = len(self.clusters), len(self.groups)
        # Free resources of every node's p-slot (sim's own ledger, checked against the engine's grants).
        self.free = np.zeros((0, 4), dtype=np.int64)
        self.open = np.zeros(0, dtype=bool)
        # Counters.
        self.submitted = self.completed = self.running = self.idle = 0
        self.submitted_by_group = np.zeros(ng, dtype=np.int64)
        # Counters touched at every job start and end are plain float lists (a numpy scalar update
        # costs several times more); samples turn them into arrays.
        self.idle_cores_by_group: list[float] = [0.0] * ng
        self.running_cores_by_group: list[float] = [0.0] * ng
        self.core_seconds_by_group = np.zeros(ng, dtype=np.float64)
        self.running_by_submitter: dict[str, float] = {q.submitter: 0.0 for q in self.queues}
        self.running_cores_by_key: list[float] = [0.0] * len(self.queues)
        self.busy_cores: list[float] = [0.0] * nc
        self.core_seconds_used = np.zeros(nc, dtype=np.float64)
        self.prov_cores = np.zeros(nc, dtype=np.float64)
        self.ready_cores = np.zeros(nc, dtype=np.float64)
        self.peak_cores = np.zeros(nc, dtype=np.float64)
        self.prov_core_seconds = np.zeros(nc, dtype=np.float64)
        self.ready_core_seconds = np.zeros(nc, dtype=np.float64)
        self._prov_last = np.zeros(nc, dtype=np.float64)
        self.node_cost = np.zeros(nc, dtype=np.float64)  # closed per node: cpus x price x lifetime
        self.preempted_jobs = 0
        self.evicted_jobs = 0
        self.actions: list[ActionRecord] = []
        self.placements: dict[tuple[int, int], int] = {}  # (key, cluster) -> jobs started
        # Waits: (seconds idle, jobs, group) of completed batches; running/idle added at the end.
        self._waits: list[tuple[float, int, int]] = []
        self.last_completion = 0.0
        self.cycles = 0
        self.cycles_negotiated = 0
        self.end_time = 0.0
        self.capped = False
        self.stalled = False
        self._idle_controller_ticks = 0
        self._started = False
        self._dirty = True  # something changed since the last negotiation (jobs, resources, slots)
        self._limited = True  # the last negotiation left jobs idle because of fair-share limits
        self.samples: dict[str, list] = {
            "t": [],
            "idle": [],
            "running": [],
            "prov": [],
            "busy": [],
            "spend": [],
            "group_running": [],
            "group_demand": [],
        }
        self._template_ads = template_ads(self.clusters)
        self._eligible: dict[int, frozenset[str]] = {}

    # ----------------------------------------------------------------------------- ads
    def eligible_clusters(self, key: int) -> frozenset[str]:
        """Clusters whose (empty) worker node the autocluster's job ad matches."""
        hit = self._eligible.get(key)
        if hit is None:
            ad = self.queues[key].ad
            hit = frozenset(
                c.name
                for c, t in zip(self.clusters, self._template_ads, strict=True)
                if self.mm.can_match(ad, t)
            )
            self._eligible[key] = hit
        return hit

    # ----------------------------------------------------------------------------- nodes
    def _new_node(self, ci: int, now: float) -> Node:
        c = self.clusters[ci]
        nid = len(self.nodes)
        node = Node(nid, f"{c.name}-{nid:06d}", ci, c.cpus, c.memory, c.disk * 1024, c.gpus, requested_at=now)
        self.nodes.append(node)
        self._live[ci][nid] = node
        if nid >= len(self.open):
            grow = max(64, len(self.open))
            self.free = np.vstack([self.free, np.zeros((grow, 4), dtype=np.int64)])
            self.open = np.concatenate([self.open, np.zeros(grow, dtype=bool)])
        self._set_prov(ci, now, +c.cpus)
        return node

    def _set_prov(self, ci: int, now: float, delta: float, ready_delta: float = 0.0) -> None:
        dt = now - self._prov_last[ci]
        self.prov_core_seconds[ci] += self.prov_cores[ci] * dt
        self.ready_core_seconds[ci] += self.ready_cores[ci] * dt
        self._prov_last[ci] = now
        self.prov_cores[ci] += delta
        self.ready_cores[ci] += ready_delta
        self.peak_cores[ci] = max(self.peak_cores[ci], self.prov_cores[ci])

    def _node_ready(self, node: Node, now: float) -> None:
        if node.state != "booting":
            return
        c = self.clusters[node.cluster]
        node.state = "ready"
        node.ready_at = now
        node.idle_since = now
        node.ad = slot_ad(c, f"slot1@{node.name}", node.cpus, node.memory, node.disk, node.gpus)
        self.free[node.id] = (node.cpus, node.memory, node.disk, node.gpus)
        self.open[node.id] = True
        node.in_pool = True
        self._dirty = True
        self.mm.add_slot(node.id, node.ad)
        self._set_prov(node.cluster, now, 0.0, +node.cpus)
        if c.preemption_rate > 0:
            self.events.push(
                now + float(self.rng.exponential(3600.0 / c.preemption_rate)), "preempt", node.id
            )

    def _evict(self, node: Node, now: float) -> int:
        """Stop every run on ``node``; its jobs go back to idle. Returns the number of jobs."""
        by_key: dict[int, list[Batch]] = {}
        jobs = 0
        for rid in sorted(node.runs):
            run = self.runs.pop(rid)
            run.alive = False
            self._stop_run(run, node, now)
            by_key.setdefault(run.key, []).append(run.batch)
            jobs += run.batch.count
        node.runs.clear()
        for key, batches in by_key.items():
            q = self.queues[key]
            q.requeue_front(batches, now)
            n = sum(b.count for b in batches)
            self.idle += n
            self.idle_cores_by_group[self.q_group[key]] += n * q.cpus
        return jobs

    def _gone(self, node: Node, now: float) -> None:
        c = self.clusters[node.cluster]
        if node.in_pool:
            self.mm.remove_slot(node.id)
        self.open[node.id] = False
        self.free[node.id] = 0
        ready_delta = -node.cpus if node.state in ("ready", "draining") else 0.0
        node.state = "gone"
        node.gone_at = now
        self._live[node.cluster].pop(node.id, None)
        self._views.pop(node.id, None)
        self._set_prov(node.cluster, now, -node.cpus, ready_delta)
        self.node_cost[node.cluster] += node.cpus * c.cost_per_core_hour * (now - node.requested_at) / 3600.0

    # ----------------------------------------------------------------------------- jobs
    def _submit(self, idx: int, now: float) -> None:
        e = self.trace[idx]
        key = self.entry_key[idx]
        q = self.queues[key]
        q.idle.append(Batch(idx, e.count, e.submit, e.runtime, idle_since=now))
        q.idle_count += e.count
        self.submitted += e.count
        self.idle += e.count
        g = self.q_group[key]
        self._dirty = True
        self.submitted_by_group[g] += e.count
        self.idle_cores_by_group[g] += e.count * q.cpus

    def _start(self, g: Grant, now: float) -> None:
        key, count, cpus = g.key, g.count, g.cpus
        if not (0 <= key < len(self.queues)) or not (0 <= g.slot < len(self.nodes)) or count <= 0:
            raise SimulationError(f"invariant broken: the engine granted an unknown job group or slot: {g}")
        q = self.queues[key]
        node = self.nodes[g.slot]
        if node.state != "ready":
            raise SimulationError(
                f"invariant broken: {count} job(s) matched to {node.name} in state {node.state}"
            )
        if count > q.idle_count:
            raise SimulationError(
                f"invariant broken: {count} job(s) of autocluster {key} matched, only {q.idle_count} idle"
            )
        if cpus < q.cpus or g.memory < q.memory or g.gpus < q.gpus or g.disk < q.disk:
            raise SimulationError(f"invariant broken: grant {g} gives less than the job requests")
        # Plain ints: four scalar updates are several times cheaper than small numpy row arithmetic.
        nid = node.id
        fc, fm, fd, fg = self.free[nid].tolist()
        left = (fc - cpus * count, fm - g.memory * count, fd - g.disk * count, fg - g.gpus * count)
        if min(left) < 0:
            raise SimulationError(
                f"invariant broken: core allocated twice on {node.name}: "
                f"grant {g} exceeds free {[fc, fm, fd, fg]}"
            )
        self.free[nid] = left
        node.idle_since = None
        gi = self.q_group[key]
        cores = count * cpus
        self.idle -= count
        self.running += count
        self.idle_cores_by_group[gi] -= count * q.cpus
        self.running_cores_by_group[gi] += cores
        self.running_by_submitter[q.submitter] = self.running_by_submitter.get(q.submitter, 0.0) + cores
        self.busy_cores[node.cluster] += cores
        pk = (key, node.cluster)
        self.placements[pk] = self.placements.get(pk, 0) + count
        self.running_cores_by_key[key] += cores
        claims = g.claims
        runs, node_runs, push = self.runs, node.runs, self.events.push
        for piece in q.take(count, now):
            rid = self._next_run
            self._next_run += 1
            k = piece.count
            end = now + piece.runtime
            runs[rid] = Run(rid, key, nid, piece, now, end, cpus, g.memory, g.disk, g.gpus, claims[:k])
            claims = claims[k:]
            node_runs.add(rid)
            push(end, "done", rid, _PRIO_STATE)

    def _stop_run(self, run: Run, node: Node, now: float) -> None:
        """Book a run's end (finished or evicted): resources, counters, core-seconds."""
        n = run.batch.count
        cpus = run.cpus
        cores = n * cpus
        nid, ci, key = node.id, node.cluster, run.key
        if node.in_pool and node.state != "gone":
            self.mm.release(nid, run.claims)
        self.running_cores_by_key[key] -= cores
        fc, fm, fd, fg = self.free[nid].tolist()
        self.free[nid] = (fc + cpus * n, fm + run.memory * n, fd + run.disk * n, fg + run.gpus * n)
        self._dirty = True
        gi = self.q_group[key]
        self.running -= n
        self.running_cores_by_group[gi] -= cores
        self.running_by_submitter[self.queues[key].submitter] -= cores
        self.busy_cores[ci] -= cores
        used = cores * (now - run.start)
        self.core_seconds_used[ci] += used
        self.core_seconds_by_group[gi] += used

    def _done(self, rid: int, now: float) -> None:
        run = self.runs.pop(rid, None)
        if run is None or not run.alive:
            return  # evicted earlier; this completion is stale
        node = self.nodes[run.node]
        self._stop_run(run, node, now)
        node.runs.discard(rid)
        n = run.batch.count
        self.completed += n
        self._waits.append((run.batch.waited, n, self.q_group[run.key]))
        self.last_completion = now
        if not node.runs:
            node.idle_since = now
            if node.state == "draining" and node.remove_when_empty:
                self._gone(node, now)
                self.actions.append(
                    ActionRecord(now, "removed", self.clusters[node.cluster].name, 1, "drained")
                )

    # ----------------------------------------------------------------------------- cycles
    def _could_match(self) -> bool:
        """Necessary condition for any match: some idle request fits some open p-slot's free resources."""
        if self.idle == 0 or not self.open.any():
            return False
        free = self.free[: len(self.nodes)]
        opened = self.open[: len(self.nodes)]
        fc, fm, fd, fg = free[:, 0], free[:, 1], free[:, 2], free[:, 3]
        seen: set[tuple[int, int, int, int]] = set()
        for q in self.queues:
            if q.idle_count == 0:
                continue
            shape = (q.cpus, q.memory, q.disk, q.gpus)
            if shape in seen:
                continue
            seen.add(shape)
            if np.any(opened & (fc >= q.cpus) & (fm >= q.memory) & (fd >= q.disk) & (fg >= q.gpus)):
                return True
        return False

    def _negotiate(self, now: float) -> None:
        self.cycles += 1
        running = dict(self.running_by_submitter)
        if (self._dirty or self._limited) and self._could_match():
            self.cycles_negotiated += 1
            self._dirty = False
            rk = self.running_cores_by_key
            demand = [
                Demand(q.key, q.ad, q.submitter, q.group, q.idle_count, float(rk[q.key]))
                for q in self.queues
                if q.idle_count > 0 or rk[q.key] > 0
            ]
            for grant in self.mm.negotiate(demand, running, now):
                self._start(grant, now)
            # Jobs left idle only because of fair-share limits may match next cycle as priorities move.
            self._limited = bool(getattr(self.mm, "last_limited", True))
        else:  # nothing can match: the cycle would only update the accountant
            self.mm.account(running, now)
        self._sample(now)

    def _spend(self, now: float) -> float:
        total = 0.0
        for ci, c in enumerate(self.clusters):
            cs = self.prov_core_seconds[ci] + self.prov_cores[ci] * (now - self._prov_last[ci])
            total += cs * c.cost_per_core_hour / 3600.0
        return total

    def _sample(self, now: float) -> None:
        s = self.samples
        s["t"].append(now)
        s["idle"].append(self.idle)
        s["running"].append(self.running)
        s["prov"].append(self.prov_cores.copy())
        s["busy"].append(np.array(self.busy_cores))
        s["spend"].append(self._spend(now))
        running = np.array(self.running_cores_by_group)
        s["group_running"].append(running)
        s["group_demand"].append(running + np.array(self.idle_cores_by_group))

    def view(self, now: float) -> SimView:
        nodes = NodeViews([c.name for c in self.clusters], self._node_views)
        idle = [
            DemandView(
                q.key,
                q.ad,
                q.submitter,
                q.group,
                q.idle_count,
                q.cpus,
                q.memory,
                q.disk,
                q.gpus,
                self.eligible_clusters(q.key),
            )
            for q in self.queues
            if q.idle_count > 0
        ]
        return SimView(now, self.clusters, nodes, idle, self.running, self._spend(now), self._free_slot_ads)

    def _node_views(self, cluster: str) -> list[NodeView]:
        """The live nodes of one cluster as a controller sees them, in id order."""
        live = self._live[self.cindex[cluster]]
        if not live:
            return []
        ids = list(live)
        free = self.free[ids, :2].tolist()
        cache = self._views
        out = []
        for n, (free_c, free_m) in zip(live.values(), free, strict=True):
            busy_c, busy_m = (n.cpus - free_c, n.memory - free_m) if n.in_pool else (0, 0)
            v = cache.get(n.id)
            if (
                v is None
                or v.busy_cpus != busy_c
                or v.busy_memory != busy_m
                or v.state != n.state
                or v.idle_since != n.idle_since
                or v.ready_at != n.ready_at
            ):
                v = cache[n.id] = NodeView(
                    n.id,
                    n.name,
                    cluster,
                    n.state,
                    n.cpus,
                    n.memory,
                    n.gpus,
                    busy_c,
                    busy_m,
                    n.requested_at,
                    n.ready_at,
                    n.idle_since,
                )
            out.append(v)
        return out

    def _free_slot_ads(self) -> list[tuple[int, Ad]]:
        """Open p-slots with cores left, advertising their free resources (as the collector would)."""
        n = len(self.nodes)
        ids = np.flatnonzero(self.open[:n] & (self.free[:n, 0] > 0))
        out = []
        for nid, (cpus, memory, disk, gpus) in zip(ids.tolist(), self.free[ids].tolist(), strict=True):
            ad = self.nodes[nid].ad.copy()  # type: ignore[union-attr]
            ad["Cpus"], ad["Memory"], ad["Disk"], ad["GPUs"] = cpus, memory, disk, gpus
            out.append((nid, ad))
        return out

    def _control(self, now: float) -> None:
        ctl = self.inp.controller
        if ctl is None:
            return
        acted = False
        for action in ctl.decide(self.view(now)):
            acted |= self.apply(action, now)
        self._idle_controller_ticks = 0 if acted else self._idle_controller_ticks + 1

    # ----------------------------------------------------------------------------- actuator
    def _cluster(self, name: str) -> int:
        ci = self.cindex.get(name)
        if ci is None:
            raise SimulationError(f"controller named an unknown cluster {name!r}")
        return ci

    def _owned_nodes(self, ci: int, ids: Sequence[int]) -> list[Node]:
        out = []
        for nid in ids:
            if not (0 <= nid < len(self.nodes)) or self.nodes[nid].cluster != ci:
                raise SimulationError(
                    f"controller named node {nid} not in cluster {self.clusters[ci].name!r}"
                )
            if self.nodes[nid].state != "gone":
                out.append(self.nodes[nid])
        return out

    def apply(self, action: object, now: float) -> bool:
        """Apply one controller action; returns whether it changed anything."""
        if isinstance(action, Provision):
            ci = self._cluster(action.cluster)
            c = self.clusters[ci]
            if not c.cloud:
                raise SimulationError(f"controller asked for nodes in on-prem cluster {c.name!r}")
            n = action.nodes
            if c.max_cores is not None:  # the cloud refuses beyond its quota
                n = min(n, max(0, int((c.max_cores - self.prov_cores[ci]) // c.cpus)))
            for _ in range(max(0, n)):
                node = self._new_node(ci, now)
                self.events.push(now + c.provisioning_seconds, "ready", node.id, _PRIO_STATE)
            if n > 0:
                self.actions.append(ActionRecord(now, "provision", c.name, n, action.reason))
            return n > 0
        if isinstance(action, Drain | Remove):
            ci = self._cluster(action.cluster)
            nodes = self._owned_nodes(ci, action.node_ids)
            changed = 0
            for node in nodes:
                if isinstance(action, Remove) or node.state == "booting":
                    if node.runs:
                        self.evicted_jobs += self._evict(node, now)
                    self._gone(node, now)
                    changed += 1
                else:
                    if node.state == "ready":
                        node.state = "draining"
                        node.remove_when_empty = action.remove_when_empty
                        self.open[node.id] = False
                        self.mm.close_slot(node.id)
                        changed += 1
                    if action.evict and node.runs:
                        self.evicted_jobs += self._evict(node, now)
                        node.idle_since = now
                        changed += 1
                    if not node.runs and node.remove_when_empty:
                        self._gone(node, now)
            if changed:
                kind = "remove" if isinstance(action, Remove) else "drain"
                self.actions.append(ActionRecord(now, kind, action.cluster, changed, action.reason))
            return changed > 0
        raise SimulationError(f"controller returned an unknown action {action!r}")

    # ----------------------------------------------------------------------------- main loop
    def start(self) -> Simulation:
        """Set up t = 0: the initial nodes of every cluster, the first cycle and controller tick."""
        if self._started:
            return self
        self._started = True
        for ci, c in enumerate(self.clusters):
            for _ in range(c.nodes):
                self._node_ready(self._new_node(ci, 0.0), 0.0)
        self.events.push(0.0, "negotiate", None, _PRIO_NEGOTIATE)
        if self.inp.controller is not None:
            self.events.push(0.0, "control", None, _PRIO_CONTROL)
        return self

    def run(self) -> Simulation:
        """Run to the horizon (or until every job completed), then close the books."""
        with _fewer_collections():
            return self._run()

    def _run(self) -> Simulation:
        self.start()
        ev = self.events
        total_jobs = sum(e.count for e in self.trace)
        last_submit = self.trace[-1].submit if self.trace else 0.0
        horizon = self.inp.horizon if self.inp.horizon is not None else last_submit + SAFETY_CAP_S
        progress = self.inp.progress
        ntrace = len(self.trace)
        now = 0.0
        while True:
            t_heap = ev.peek_time()
            t_sub = self.trace[self._next_submit].submit if self._next_submit < ntrace else math.inf
            if t_sub <= (t_heap if t_heap is not None else math.inf):
                if t_sub > horizon:
                    break
                ev.now = now = t_sub
                self._submit(self._next_submit, now)
                self._next_submit += 1
                continue
            if t_heap is None or t_heap > horizon:
                break
            now, kind, payload = ev.pop()
            if kind == "done":
                self._done(payload, now)
            elif kind == "negotiate":
                self._negotiate(now)
                if progress is not None:
                    progress(now, self.completed / total_jobs if total_jobs else 1.0)
                if self._finished(total_jobs):
                    break
                ev.push(now + self.inp.negotiator_interval, "negotiate", None, _PRIO_NEGOTIATE)
            elif kind == "control":
                self._control(now)
                ev.push(now + self.inp.controller_interval, "control", None, _PRIO_CONTROL)
            elif kind == "ready":
                self._node_ready(self.nodes[payload], now)
            elif kind == "preempt":
                node = self.nodes[payload]
                if node.state in ("ready", "draining"):
                    jobs = self._evict(node, now)
                    self.preempted_jobs += jobs
                    self._gone(node, now)
                    self.actions.append(
                        ActionRecord(now, "preempted", self.clusters[node.cluster].name, 1, "spot")
                    )
            else:  # pragma: no cover - programming error
                raise AssertionError(kind)
        if self.inp.horizon is not None:
            now = self.inp.horizon
        elif (self._next_submit < ntrace or self.idle or self.running) and not self.stalled:
            self.capped = True
            now = horizon
        self.end_time = now
        self._close(now)
        return self

    def _finished(self, total_jobs: int) -> bool:
        """With the default horizon: stop once every job completed (or the run cannot progress)."""
        if self.inp.horizon is not None or self._next_submit < len(self.trace):
            return False
        if self.running:
            return False
        if self.idle == 0:
            return True
        if any(n.state == "booting" for n in self.nodes):
            return False
        if self.inp.controller is None or self._idle_controller_ticks >= STALL_TICKS:
            self.stalled = True
            return True
        return False

    def _close(self, now: float) -> None:
        """Close the books at the end time: open runs and nodes accrue up to ``now``."""
        for ci in range(len(self.clusters)):
            self._set_prov(ci, now, 0.0)
        for run in self.runs.values():
            used = run.batch.count * run.cpus * (now - run.start)
            self.core_seconds_used[self.nodes[run.node].cluster] += used
            self.core_seconds_by_group[self.q_group[run.key]] += used
            self._waits.append((run.batch.waited, run.batch.count, self.q_group[run.key]))
        for q in self.queues:
            for b in q.idle:
                self._waits.append((b.waited + (now - b.idle_since), b.count, self.q_group[q.key]))

    def open_node_cost(self, now: float) -> np.ndarray:
        """Cost of nodes still provisioned at ``now`` (not yet closed into :attr:`node_cost`)."""
        out = np.zeros(len(self.clusters))
        for n in self.nodes:
            if n.state != "gone":
                c = self.clusters[n.cluster]
                out[n.cluster] += n.cpus * c.cost_per_core_hour * (now - n.requested_at) / 3600.0
        return out
