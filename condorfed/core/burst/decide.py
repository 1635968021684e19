"""The burst controller's decision: ``decide(state, policy, campaign, now) -> list[Action]``.

Pure: no I/O, no clock (``now`` is an argument), no randomness. :func:`step` returns the actions
*and* the controller's next memory plus the demand picture; :func:`decide` returns just the
actions. A caller that runs the controller over time (the controller loop, the simulator) keeps
``Decision.memory`` and passes it back as ``ObservedState.memory`` on the next tick.

One tick:

1. **Spend.** Add the cost of the nodes held since the last tick (``target_nodes`` × node cores ×
   costPerCoreHour × elapsed hours).
2. **Reconcile.** Compare the workers seen with what is remembered: a new worker consumes the
   oldest pending request; a request older than provisioningSeconds + registerGraceSeconds never
   registered (a failure: the request is cancelled); a worker that vanished less than
   youngSeconds after registering, without us removing it, died young (a failure). Failures
   start (or lengthen) the cluster's exponential back-off; a worker that lives past youngSeconds
   resets the failure count.
3. **Phase.** Before ``start``: nothing is requested. After ``end`` (the lease), when stopped, or
   when the budget is spent: wind down (cancel pending, remove idle and drained workers, drain busy
   ones: gracefully with a deadline, or at once with ``drain: force``).
4. **Scale down** (any phase): remove workers idle longer than idleSeconds, and drained ones;
   never a worker running a job (except after the lease with ``force``).
5. **Scale up** (active phase only): unmet demand (:mod:`.demand`) in nodes, minus the nodes
   still provisioning, capped by rampUp.maxNodesPerTick, the cluster's maxCores, the campaign's
   maxCores, maxBurnRate and the budget (spend so far + committed burn until the campaign's end,
   plus the drain deadline when drains are graceful).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from condorfed.core.burst.actions import Action, BackOff, Cancel, Drain, Remove, ScaleUp
from condorfed.core.burst.campaign import Campaign
from condorfed.core.burst.demand import Demand, unmet_demand
from condorfed.core.burst.members import MemberObservation, ready_unregistered
from condorfed.core.burst.policy import BurstPolicy, ClusterShape
from condorfed.core.burst.state import ClusterMemory, ControllerMemory, ObservedState, Worker, WorkerMemory

_EPS = 1e-9


@dataclass(frozen=True)
class Decision:
    """The result of one tick: actions (in the order to apply them), the next memory, and why."""

    actions: tuple[Action, ...]
    memory: ControllerMemory
    demand: Demand
    phase: str  # waiting | active | winding-down
    burn_rate: float  # currency units per hour after the actions
    nodes: Mapping[str, int] = field(default_factory=dict)  # target nodes per cluster after the actions
    limits: Mapping[str, str] = field(default_factory=dict)  # cluster -> the limit that capped it

    def to_json(self) -> dict:
        from condorfed.core.burst.actions import action_to_json

        return {
            "phase": self.phase,
            "burnRate": round(self.burn_rate, 6),
            "spent": round(self.memory.spent, 6),
            "nodes": dict(self.nodes),
            "limits": dict(self.limits),
            "demand": self.demand.to_json(),
            "actions": [action_to_json(a) for a in self.actions],
        }


def decide(state: ObservedState, policy: BurstPolicy, campaign: Campaign | None, now: float) -> list[Action]:
    """The actions for this tick (see :func:`step` for the memory to keep)."""
    return list(step(state, policy, campaign, now).actions)


def campaign_clusters(policy: BurstPolicy, campaign: Campaign) -> tuple[str, ...]:
    names = campaign.clusters or policy.cloud_names
    return tuple(n for n in names if n in policy.clusters and policy.clusters[n].cloud)


def step(state: ObservedState, policy: BurstPolicy, campaign: Campaign | None, now: float) -> Decision:
    """One controller tick: reconcile memory with the observation, then decide (module doc)."""
    campaign = campaign or Campaign.unbounded()
    memory = state.memory
    clusters = campaign_clusters(policy, campaign)
    actions: list[Action] = []

    # 1. spend since the last tick, for what we held
    if memory.last_tick is not None and now > memory.last_tick:
        hours = (now - memory.last_tick) / 3600.0
        held = sum(
            memory.cluster(n).target_nodes * policy.clusters[n].node_cost_per_hour()
            for n in memory.clusters
            if n in policy.clusters
        )
        memory = replace(memory, spent=memory.spent + held * hours)
    memory = replace(memory, last_tick=now)

    # 2. reconcile each cluster with what the collector shows
    by_cluster: dict[str, list[Worker]] = {n: [] for n in clusters}
    for w in state.workers:
        by_cluster.setdefault(w.cluster, []).append(w)
    members = {m.cluster: m for m in state.members}
    for name in clusters:
        mem, acts = _reconcile(
            memory.cluster(name), by_cluster[name], policy.clusters[name], campaign, now, members.get(name)
        )
        memory = memory.with_cluster(name, mem)
        actions.extend(acts)

    # 3. phase
    if memory.stopped:
        phase, why = "winding-down", "campaign stopped"
    elif now >= campaign.end:
        phase, why = "winding-down", f"campaign lease ended ({campaign.name})"
    elif campaign.budget is not None and memory.spent >= campaign.budget - _EPS:
        phase, why = "winding-down", f"budget spent ({memory.spent:.2f} of {campaign.budget:g})"
    elif now < campaign.start:
        phase, why = "waiting", ""
    else:
        phase, why = "active", ""

    demand = Demand()
    limits: dict[str, str] = {}
    if phase == "winding-down":
        for name in clusters:
            mem, acts = _wind_down(
                memory.cluster(name), by_cluster[name], name, campaign, now, why, memory.spent
            )
            memory = memory.with_cluster(name, mem)
            actions.extend(acts)
    else:
        for name in clusters:
            mem, acts = _scale_down_idle(
                memory.cluster(name), by_cluster[name], policy.clusters[name], campaign, now
            )
            memory = memory.with_cluster(name, mem)
            actions.extend(acts)
        if phase == "active":
            memory, demand, ups, limits = _scale_up(state, policy, campaign, memory, clusters, now)
            actions.extend(ups)

    burn = sum(memory.cluster(n).target_nodes * policy.clusters[n].node_cost_per_hour() for n in clusters)
    nodes = {n: memory.cluster(n).target_nodes for n in clusters}
    return Decision(tuple(actions), memory, demand, phase, burn, nodes, limits)


def _target(mem: ClusterMemory) -> int:
    alive = sum(1 for n in mem.workers if n not in mem.removed)
    return alive + len(mem.pending)


def _reconcile(
    mem: ClusterMemory,
    seen: list[Worker],
    shape: ClusterShape,
    campaign: Campaign,
    now: float,
    member: MemberObservation | None = None,
) -> tuple[ClusterMemory, list[Action]]:
    cfg = campaign.backoff
    actions: list[Action] = []
    seen_by_name = {w.name: w for w in seen}
    pending = list(mem.pending)
    workers = dict(mem.workers)
    failures = 0
    reasons: list[str] = []

    for name in sorted(seen_by_name.keys() - workers.keys()):
        workers[name] = WorkerMemory(first_seen=now)
        if pending:
            pending.pop(0)  # it answers our oldest request
    for name in sorted(workers.keys() - seen_by_name.keys()):
        wm = workers.pop(name)
        if name not in mem.removed and now - wm.first_seen < cfg.young_seconds:
            failures += 1
            reasons.append(f"worker {name} vanished {now - wm.first_seen:.0f}s after registering")
    removed = frozenset(n for n in mem.removed if n in seen_by_name)

    expiry = shape.provisioning_seconds + cfg.register_grace_seconds
    stale = [t for t in pending if now - t > expiry]
    if stale:
        pending = [t for t in pending if now - t <= expiry]
        reasons.append(f"{len(stale)} requested node(s) never registered within {expiry:.0f}s")
    # Kubernetes shows the node came up: a Node created after a pending request, Ready for longer
    # than registerGraceSeconds, with no startd in the collector answers that request as a failure
    # now (a broken image or token), not after the full expiry. Matching by creation time counts
    # each such Node once: later requests are newer than it.
    counted = set(mem.unregistered)
    if member is not None and member.reachable:
        counted &= {n.name for n in member.nodes}  # forget Nodes that are gone
    late = ready_unregistered(member, seen_by_name.keys() | workers.keys(), cfg.register_grace_seconds, now)
    early: list[str] = []
    for node in late:
        if node.name in counted:
            continue
        match = next((t for t in pending if node.created_at is not None and t <= node.created_at), None)
        if match is not None:
            pending.remove(match)
            stale.append(match)
            early.append(node.name)
            counted.add(node.name)
    if early:
        reasons.append(
            f"node(s) {', '.join(early)} Ready for over {cfg.register_grace_seconds:.0f}s "
            "but their startd never registered"
        )
    failures += len(stale)

    for name, w in seen_by_name.items():  # idle clocks
        wm = workers[name]
        idle = w.state == "idle" and w.busy_cores == 0 and w.running_jobs == 0
        if idle and wm.idle_since is None:
            workers[name] = replace(wm, idle_since=now)
        elif not idle and wm.idle_since is not None:
            workers[name] = replace(wm, idle_since=None)

    count = mem.failures
    until = mem.backoff_until
    if failures:
        count += failures
        until = max(until, now + min(cfg.base_seconds * 2 ** (count - 1), cfg.max_seconds))
    elif count and any(now - w.first_seen >= cfg.young_seconds for w in workers.values()):
        count = 0  # a worker lived: the image and token work again
    new = replace(
        mem,
        pending=tuple(pending),
        workers=workers,
        removed=removed,
        failures=count,
        backoff_until=until,
        unregistered=frozenset(counted),
    )
    new = replace(new, target_nodes=_target(new))
    if stale:
        why = "; ".join(r for r in reasons if "never registered" in r)
        actions.append(Cancel(shape.name, len(stale), new.target_nodes, why))
    if failures:
        actions.append(BackOff(shape.name, until, count, "; ".join(reasons)))
    return new, actions


def _remove(mem: ClusterMemory, cluster: str, names: list[str], reason: str) -> tuple[ClusterMemory, Remove]:
    mem = replace(mem, removed=mem.removed | frozenset(names))
    mem = replace(mem, target_nodes=_target(mem))
    return mem, Remove(cluster, tuple(sorted(names)), mem.target_nodes, reason)


def _scale_down_idle(
    mem: ClusterMemory, seen: list[Worker], shape: ClusterShape, campaign: Campaign, now: float
) -> tuple[ClusterMemory, list[Action]]:
    """Remove drained workers and workers idle longer than idleSeconds (keeping the cluster min)."""
    actions: list[Action] = []
    live = [w for w in seen if w.name not in mem.removed]
    drained = sorted(w.name for w in live if w.state == "drained" and w.running_jobs == 0)
    if drained:
        mem, act = _remove(mem, shape.name, drained, "drained")
        actions.append(act)
    idle_limit = campaign.scale_down.idle_seconds
    idle = sorted(
        (w for w in live if w.state == "idle" and w.running_jobs == 0 and w.name not in drained),
        key=lambda w: (mem.workers[w.name].idle_since or now, w.name),
    )
    expired = [w.name for w in idle if now - (mem.workers[w.name].idle_since or now) >= idle_limit]
    keep = max(shape.min_nodes - (mem.target_nodes - len(expired)), 0)
    expired = expired[: max(len(expired) - keep, 0)]
    if expired:
        mem, act = _remove(
            mem, shape.name, expired, f"idle for more than scaleDown.idleSeconds={idle_limit:g}"
        )
        actions.append(act)
    return mem, actions


def _wind_down(
    mem: ClusterMemory,
    seen: list[Worker],
    cluster: str,
    campaign: Campaign,
    now: float,
    why: str,
    spent: float = 0.0,
) -> tuple[ClusterMemory, list[Action]]:
    """After the lease (or stop, or budget): cancel, drain, remove, until the cluster is at zero.

    The budget is a hard limit: once it is spent, graceful drains become fast ones (the evicted
    jobs go back to idle in their schedds and run again on-prem; nothing is lost).
    """
    actions: list[Action] = []
    cfg = campaign.scale_down
    if mem.pending:
        n = len(mem.pending)
        mem = replace(mem, pending=())
        mem = replace(mem, target_nodes=_target(mem))
        actions.append(Cancel(cluster, n, mem.target_nodes, f"{why}: cancel requests still provisioning"))
    live = [w for w in seen if w.name not in mem.removed]
    free = sorted(w.name for w in live if w.running_jobs == 0 and w.busy_cores == 0)
    busy = sorted((w for w in live if w.running_jobs > 0 or w.busy_cores > 0), key=lambda w: w.name)
    workers = dict(mem.workers)
    drains: list[Action] = []
    removes: list[str] = list(free)
    if cfg.drain == "force":
        if busy:
            names = tuple(w.name for w in busy)
            drains.append(
                Drain(cluster, names, "fast", now, f"{why}, scaleDown.drain=force: evict and remove")
            )
            removes.extend(names)
    elif campaign.budget is not None and spent >= campaign.budget - _EPS:
        hurry = [w.name for w in busy if not workers[w.name].escalated]
        if hurry:
            for n in hurry:
                workers[n] = replace(
                    workers[n], drain_started=workers[n].drain_started or now, escalated=True
                )
            drains.append(
                Drain(
                    cluster,
                    tuple(hurry),
                    "fast",
                    now,
                    f"budget spent ({spent:.2f} of {campaign.budget:g}): evict (the jobs go back to idle)",
                )
            )
    else:
        fresh = [
            w.name
            for w in busy
            if w.state not in ("draining", "drained") and workers[w.name].drain_started is None
        ]
        if fresh:
            deadline = now + cfg.drain_deadline_seconds
            for n in fresh:
                workers[n] = replace(workers[n], drain_started=now)
            drains.append(
                Drain(cluster, tuple(fresh), "graceful", deadline, f"{why}: drain gracefully before removal")
            )
        late = [
            w.name
            for w in busy
            if workers[w.name].drain_started is not None
            and not workers[w.name].escalated
            and now >= workers[w.name].drain_started + cfg.drain_deadline_seconds
        ]
        if late:
            for n in late:
                workers[n] = replace(workers[n], escalated=True)
            drains.append(
                Drain(
                    cluster,
                    tuple(late),
                    "fast",
                    now,
                    f"scaleDown.drainDeadlineSeconds={cfg.drain_deadline_seconds:g} passed: "
                    "evict (the jobs go back to idle)",
                )
            )
    mem = replace(mem, workers=workers)
    actions.extend(drains)
    if removes:
        reason = (
            f"{why}: idle or drained" if cfg.drain != "force" or not busy else f"{why}, scaleDown.drain=force"
        )
        mem, act = _remove(mem, cluster, removes, reason)
        actions.append(act)
    return mem, actions


def _scale_up(
    state: ObservedState,
    policy: BurstPolicy,
    campaign: Campaign,
    memory: ControllerMemory,
    clusters: tuple[str, ...],
    now: float,
) -> tuple[ControllerMemory, Demand, list[Action], dict[str, str]]:
    usable = [n for n in clusters if memory.cluster(n).backoff_until <= now]
    room: dict[str, float] = {}
    for n in usable:
        cap = policy.clusters[n].max_nodes
        # Room for new demand: the cap minus the registered workers. Nodes still provisioning are
        # not subtracted here: they absorb the demand placed on the cluster, just below.
        mem = memory.cluster(n)
        room[n] = math.inf if cap is None else max(cap - (mem.target_nodes - len(mem.pending)), 0)
    idle = tuple(j for j in state.idle if campaign.serves_group(j.group))
    demand = unmet_demand(idle, state.slots, policy, usable, room, now, state.usage)

    want: dict[str, int] = {}
    probing: dict[str, str] = {}
    for n in usable:
        mem = memory.cluster(n)
        d = demand.clusters[n].nodes if n in demand.clusters else 0.0
        need = max(math.ceil(d - len(mem.pending) - _EPS), 0)
        need = max(need, policy.clusters[n].min_nodes - mem.target_nodes)
        if need > 0 and mem.failures:
            # After failures, probe with one unproven node at a time until one lives past
            # youngSeconds (which resets the count): a broken image costs a node per back-off.
            young = sum(
                1 for w in mem.workers.values() if now - w.first_seen < campaign.backoff.young_seconds
            )
            allowed = max(1 - len(mem.pending) - young, 0)
            if allowed < need:
                need = allowed
                probing[n] = f"probing after {mem.failures} failure(s): one unproven node at a time"
        if need > 0:
            want[n] = need

    grant, limits = _apply_limits(want, policy, campaign, memory, clusters, now)
    for n, why in probing.items():
        limits.setdefault(n, why)
    for n in usable:  # demand that the cluster's room cut (it overflowed to the next tier)
        d = demand.clusters.get(n)
        if n not in limits and d is not None and d.jobs > 0 and d.nodes >= room[n] - _EPS:
            limits[n] = f"cluster maxCores={policy.clusters[n].max_cores}"
    actions: list[Action] = []
    for n in sorted(grant, key=clusters.index):
        k = grant[n]
        if k <= 0:
            continue
        mem = memory.cluster(n)
        mem = replace(mem, pending=mem.pending + (now,) * k)
        mem = replace(mem, target_nodes=_target(mem))
        memory = memory.with_cluster(n, mem)
        d = demand.clusters[n]
        reason = (
            f"unmet demand {d.jobs:.1f} jobs / {d.cores:.1f} cores / {d.gpus:.1f} GPUs "
            f"= {d.nodes:.2f} nodes, {len(mem.pending) - k} still provisioning"
        )
        if n in limits:
            reason += f"; capped by {limits[n]}"
        actions.append(ScaleUp(n, k, mem.target_nodes, reason))
    return memory, demand, actions, limits


def committed_hours(campaign: Campaign, now: float) -> float:
    """Hours a node started now may cost: until the lease ends, plus, with graceful drains, the
    drain deadline (a busy worker may retire that long after the lease)."""
    hours = max(campaign.end - now, 0.0) / 3600.0
    if campaign.scale_down.drain == "graceful":
        hours += campaign.scale_down.drain_deadline_seconds / 3600.0
    return hours


def _apply_limits(
    want: dict[str, int],
    policy: BurstPolicy,
    campaign: Campaign,
    memory: ControllerMemory,
    clusters: tuple[str, ...],
    now: float,
) -> tuple[dict[str, int], dict[str, str]]:
    """Grant nodes one at a time, to the cluster with the smallest granted share of its need
    (ties: larger need, then federation file order), while every limit holds. Returns nodes
    granted and, per capped cluster, the limit that bit."""
    grant = dict.fromkeys(want, 0)
    limits: dict[str, str] = {}
    cores = sum(memory.cluster(n).target_nodes * policy.clusters[n].cpus for n in clusters)
    burn = sum(memory.cluster(n).target_nodes * policy.clusters[n].node_cost_per_hour() for n in clusters)
    hours_left = committed_hours(campaign, now)
    step_left = campaign.ramp_up.max_nodes_per_tick
    open_ = set(want)

    def blocked(n: str) -> str | None:
        shape = policy.clusters[n]
        if step_left <= 0:
            return f"rampUp.maxNodesPerTick={campaign.ramp_up.max_nodes_per_tick}"
        if shape.max_nodes is not None and memory.cluster(n).target_nodes + grant[n] + 1 > shape.max_nodes:
            return f"cluster maxCores={shape.max_cores}"
        if campaign.max_cores is not None and cores + shape.cpus > campaign.max_cores:
            return f"campaign maxCores={campaign.max_cores}"
        new_burn = burn + shape.node_cost_per_hour()
        if campaign.max_burn_rate is not None and new_burn > campaign.max_burn_rate + _EPS:
            return f"maxBurnRate={campaign.max_burn_rate:g}/h"
        if campaign.budget is not None and shape.node_cost_per_hour() > 0:
            committed = memory.spent + new_burn * hours_left
            if committed > campaign.budget + _EPS:
                return (
                    f"budget={campaign.budget:g} "
                    f"(spent {memory.spent:.2f} + {new_burn:.2f}/h for {hours_left:.0f} h)"
                )
        return None

    while open_:
        # The cluster furthest behind in proportion to its need goes next (ties: the larger need,
        # then file order), so a tick's nodes are shared in proportion to need.
        n = min(open_, key=lambda c: (grant[c] / want[c], -want[c], clusters.index(c)))
        why = blocked(n)
        if why is not None:
            limits[n] = why
            open_.discard(n)
            continue
        grant[n] += 1
        step_left -= 1
        cores += policy.clusters[n].cpus
        burn += policy.clusters[n].node_cost_per_hour()
        if grant[n] >= want[n]:
            open_.discard(n)
    return grant, limits
