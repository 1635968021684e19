"""Campaign runs: observe the pool, ``step()`` the burst core, apply the actions, persist the state.

:class:`BurstController` is one tick of the loop that ``condorfed campaign run`` and
``condorfed controller`` share. It never decides anything itself: observation goes through the
ports (job reader, startd reader), the decision is :func:`condorfed.core.burst.step`, and the
actions go to an :class:`~condorfed.adapters.actuators.ActuatorSet` (none in a dry run). The
controller memory is loaded from and saved to a :class:`~condorfed.core.burst.ports.StateStore`
(a host-cluster ConfigMap in production), so a restart resumes without provisioning twice.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from condorfed.adapters.actuators import ActuatorSet, actuator_for
from condorfed.adapters.campaign_file import load_campaign
from condorfed.adapters.campaign_state import ConfigMapStateStore, FileStateStore, MemoryStateStore
from condorfed.adapters.federation_file import load_federation
from condorfed.core.burst import (
    BurstPolicy,
    Campaign,
    ControllerMemory,
    Decision,
    ObservedState,
    campaign_clusters,
    describe,
    group_jobs,
    step,
)
from condorfed.core.burst.members import MemberObservation
from condorfed.core.burst.observe import NODE_ATTR, workers_from_slots
from condorfed.core.burst.ports import JobReader, StateStore
from condorfed.core.classads import Ad
from condorfed.errors import ConfigError

log = logging.getLogger(__name__)

RECENT = 20  # decisions kept in the state document for `campaign status`

SLOT_PROJECTION: tuple[str, ...] = (
    "Name",
    "Machine",
    "FedCluster",
    "IsCloud",
    "SlotType",
    "PartitionableSlot",
    "DynamicSlot",
    "State",
    "Activity",
    "Draining",
    "Offline",
    "Cpus",
    "Memory",
    "Disk",
    "GPUs",
    "TotalSlotCpus",
    "DetectedCpus",
    "Requirements",
    "START",
    "Rank",
    "Arch",
    "OpSys",
    "OpSysAndVer",
    "HasFileTransfer",
    "K8sNodeName",
)


class StaticJobReader:
    """A :class:`JobReader` over an ad-file snapshot (offline runs)."""

    def __init__(self, jobs: Sequence[Ad]) -> None:
        self.jobs = list(jobs)

    def idle_jobs(self) -> list[Ad]:
        return [j for j in self.jobs if j.get("JobStatus", 1) == 1]

    def running_jobs(self) -> int:
        return sum(1 for j in self.jobs if j.get("JobStatus") == 2)


@dataclass
class BurstController:
    """One campaign's controller: ``tick(now)`` observes, decides, acts and saves."""

    policy: BurstPolicy
    campaign: Campaign
    jobs: JobReader
    startds: Any  # condorfed.adapters.htcondor_collector.StartdReader
    store: StateStore
    actuators: ActuatorSet | None = None  # None: dry run, decisions are only reported
    node_attr: str = NODE_ATTR
    usage: Any = None  # condorfed.adapters.htcondor_schedd.NegotiatorUsageReader (None: no accountant)
    # The member clusters' Kubernetes side (startd DaemonSet, Nodes): a callable returning
    # MemberObservations (condorfed.adapters.kube_observe), None when not observed (offline runs).
    members: Callable[[], tuple[MemberObservation, ...]] | None = None
    recent: deque = field(default_factory=lambda: deque(maxlen=RECENT))
    last: Decision | None = None
    last_state: ObservedState | None = None

    @property
    def clusters(self) -> tuple[str, ...]:
        return campaign_clusters(self.policy, self.campaign)

    def load_memory(self) -> ControllerMemory:
        doc = self.store.load()
        if not doc:
            return ControllerMemory()
        name = doc.get("campaign")
        if name is not None and name != self.campaign.name:
            raise ConfigError(
                f"campaign state belongs to campaign {name!r}, not {self.campaign.name!r}; "
                "stop that campaign first or use another namespace"
            )
        if not self.recent:
            self.recent.extend(doc.get("recent", ()))
        return ControllerMemory.from_json(doc.get("memory"))

    def observe(self, memory: ControllerMemory, now: float) -> ObservedState:
        slots = tuple(self.startds.startd_ads(projection=SLOT_PROJECTION))
        members = () if self.members is None else self.members()
        return ObservedState(
            usage=None if self.usage is None else self.usage.usage(now),
            idle=group_jobs(self.jobs.idle_jobs()),
            # Capacity leaves out slots on NotReady nodes; the workers (nodes we hold and pay for,
            # with their memory and idle clocks) still include them until their ads expire.
            slots=slots_on_ready_nodes(slots, members, self.node_attr),
            workers=workers_from_slots(slots, self.clusters, self.node_attr),
            running_jobs=self.jobs.running_jobs(),
            memory=memory,
            members=members,
        )

    def tick(self, now: float) -> Decision:
        memory = self.load_memory()
        state = self.observe(memory, now)
        decision = step(state, self.policy, self.campaign, now)
        self.last_state = state
        if self.actuators is not None:
            self.actuators.apply(decision.actions)  # an error leaves the stored memory as it was
        for action in decision.actions:
            self.recent.append({"time": now, "kind": action.kind, "text": describe(action)})
        latest = self.store.load() or {}
        if (latest.get("memory") or {}).get("stopped") and not decision.memory.stopped:
            # `campaign stop` wrote while this tick ran: keep it (it takes effect next tick).
            decision = replace(decision, memory=replace(decision.memory, stopped=True))
        self.store.save(self.document(decision))
        self.last = decision
        return decision

    def document(self, decision: Decision) -> dict[str, Any]:
        summary = decision.to_json()
        summary.pop("actions")
        return {
            "campaign": self.campaign.name,
            "spec": self.campaign.to_json(),
            "memory": decision.memory.to_json(),
            "last": summary,
            "recent": list(self.recent),
        }


def slots_on_ready_nodes(
    slots: Sequence[Ad], members: Sequence[MemberObservation], node_attr: str = NODE_ATTR
) -> tuple[Ad, ...]:
    """``slots`` without those on Nodes their member cluster reports NotReady.

    A startd on a node that went NotReady keeps its ads in the collector until they expire
    (CLASSAD_LIFETIME, 15 minutes by default); counting them as free capacity would hold back a
    scale-up for that long. A slot's node is its ``node_attr`` (``K8sNodeName``), else its
    ``Machine`` (or that host name's first label); only members that answered are consulted, and a
    node the member does not list is kept (the collector, not an absent Node, is the evidence).
    """
    down: dict[str, set[str]] = {}
    for member in members:
        if member.reachable:
            names = {n.name for n in member.nodes if not n.ready}
            if names:
                down[member.cluster] = names
    if not down:
        return tuple(slots)

    def on_ready_node(slot: Ad) -> bool:
        cluster = slot.get("FedCluster")
        names = down.get(cluster) if isinstance(cluster, str) else None
        if not names:
            return True
        node = slot.get(node_attr)
        if isinstance(node, str) and node:
            return node not in names
        machine = slot.get("Machine")
        return not (isinstance(machine, str) and (machine in names or machine.split(".", 1)[0] in names))

    return tuple(s for s in slots if on_ready_node(s))


def campaign_status(store: StateStore) -> dict[str, Any]:
    """The stored state document of a campaign (``{}`` when it never ran)."""
    return dict(store.load() or {})


def stop_campaign(store: StateStore) -> dict[str, Any]:
    """Mark the campaign stopped: the next tick drains and scales to zero."""
    doc = dict(store.load() or {})
    if not doc:
        raise ConfigError("no campaign state found: nothing to stop")
    memory = replace(ControllerMemory.from_json(doc.get("memory")), stopped=True)
    doc["memory"] = memory.to_json()
    store.save(doc)
    return doc


# ----------------------------------------------------------------------------- wiring


@dataclass(frozen=True)
class Wiring:
    """Where a controller reads, acts and keeps state (command-line options, typed)."""

    federation: str
    campaign: str | None = None
    pool: str | None = None
    kubeconfig: str | None = None
    host_context: str | None = None
    namespace: str = "condor"
    state_file: str | None = None
    jobs_files: tuple[str, ...] = ()
    machines_files: tuple[str, ...] = ()
    dry_run: bool = False
    node_attr: str = NODE_ATTR


def _connector(kubeconfig: str | None) -> Callable[[str | None], Any]:
    from condorfed.adapters.kube import connect

    cache: dict[str | None, Any] = {}

    def get(context: str | None) -> Any:
        if context not in cache:
            cache[context] = connect(context, kubeconfig)
        return cache[context]

    return get


class _LazyActuator:
    """Connects to a member cluster only when an action for it arrives."""

    def __init__(self, cluster: Any, connect: Callable[[str | None], Any]) -> None:
        self.cluster, self.connect, self._real = cluster, connect, None

    def apply(self, action: Any) -> None:
        if self._real is None:
            # A node pool's command needs no API access; with a context its nodes are also cordoned.
            nodepool = self.cluster.actuator.kind == "nodepool"
            client = None if nodepool and not self.cluster.context else self.connect(self.cluster.context)
            self._real = actuator_for(self.cluster, client)
        self._real.apply(action)


def store_for(
    w: Wiring, campaign_name: str, connect: Callable[[str | None], Any] | None = None
) -> StateStore:
    if w.host_context:
        connect = connect or _connector(w.kubeconfig)
        return ConfigMapStateStore(connect(w.host_context), w.namespace, campaign_name)
    if w.state_file:
        return FileStateStore(w.state_file)
    return FileStateStore(Path(".condorfed") / f"campaign-{campaign_name}.json")


def build_controller(w: Wiring, *, connect: Callable[[str | None], Any] | None = None) -> BurstController:
    """A controller wired to the live pool and clusters, or to ad-file snapshots (``jobs_files``)."""
    fed = load_federation(w.federation)
    campaign = load_campaign(w.campaign, fed) if w.campaign else Campaign.unbounded()
    policy = BurstPolicy.from_federation(fed)
    usage: Any = None
    if w.jobs_files or w.machines_files:
        from condorfed.adapters.adfiles import read_ad_files, read_job_files
        from condorfed.adapters.htcondor_collector import StaticStartdReader

        jobs: JobReader = StaticJobReader(read_job_files(w.jobs_files))
        startds: Any = StaticStartdReader(read_ad_files(w.machines_files))
    else:
        from condorfed.adapters.htcondor_collector import CollectorStartdReader
        from condorfed.adapters.htcondor_schedd import NegotiatorUsageReader, ScheddJobReader

        jobs = ScheddJobReader(w.pool)
        startds = CollectorStartdReader(w.pool)
        usage = NegotiatorUsageReader(w.pool)
    needs_cluster = w.host_context is not None or not w.dry_run
    connect = connect or (_connector(w.kubeconfig) if needs_cluster else None)
    store = store_for(w, campaign.name, connect)
    actuators = None
    if w.dry_run:
        store = MemoryStateStore(store.load())  # chain ticks in memory; never write
    else:
        from condorfed.adapters.htcondor_startd import StartdDrainer

        assert connect is not None
        clusters = {c.name: c for c in fed.clusters}
        acts = {n: _LazyActuator(clusters[n], connect) for n in campaign_clusters(policy, campaign)}
        actuators = ActuatorSet(acts, StartdDrainer(w.pool))
    members = None
    # Live runs observe the member clusters that have a kube context; ad-file runs stay offline.
    burst_to = set(campaign_clusters(policy, campaign))
    contexts = [(c.name, c.context) for c in fed.clusters if c.context and c.name in burst_to]
    live = not (w.jobs_files or w.machines_files)
    if live and contexts:
        from condorfed.adapters.kube_observe import observe_members

        observe_with = connect or _connector(w.kubeconfig)

        def members() -> tuple[MemberObservation, ...]:
            return observe_members(contexts, observe_with, w.namespace)

    return BurstController(
        policy, campaign, jobs, startds, store, actuators, node_attr=w.node_attr, usage=usage, members=members
    )


def status_store(w: Wiring, campaign_name: str) -> StateStore:
    return store_for(w, campaign_name)


def campaign_name_of(path: str | None) -> str:
    """The campaign's name from its file (for status/stop), or ``default`` for the bare controller."""
    if path is None:
        return "default"
    return load_campaign(path).name


def summary_rows(
    decision: Decision, memory: ControllerMemory, campaign: Campaign, policy: BurstPolicy
) -> list[list]:
    """Per-cluster rows for the live table: unmet demand, nodes/cores, pending, back-off."""
    rows = []
    for n in campaign_clusters(policy, campaign):
        d = decision.demand.clusters.get(n)
        mem = memory.cluster(n)
        cores = decision.nodes.get(n, 0) * policy.clusters[n].cpus
        back = "yes" if mem.backoff_until > (memory.last_tick or 0) else ""
        rows.append(
            [n, f"{d.cores:.0f}" if d else "0", decision.nodes.get(n, 0), cores, len(mem.pending), back,
             decision.limits.get(n, "")]
        )  # fmt: skip
    return rows


def totals(decision: Decision, campaign: Campaign) -> Mapping[str, Any]:
    return {
        "phase": decision.phase,
        "idleJobs": decision.demand.idle_jobs,
        "unmetCores": round(decision.demand.unmet_cores, 1),
        "spent": round(decision.memory.spent, 2),
        "budget": campaign.budget,
        "burnRate": round(decision.burn_rate, 3),
    }


def finished(decision: Decision) -> bool:
    """Wound down: nothing held, nothing provisioning."""
    return decision.phase == "winding-down" and not any(decision.nodes.values())


def run_campaign(
    controller: BurstController,
    *,
    interval: float,
    ticks: int | None = None,
    on_tick: Callable[[Decision], None] = lambda d: None,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
    start_time: float | None = None,
) -> Decision | None:
    """Tick until the campaign has wound down (or ``ticks`` ticks); ``on_tick`` sees every decision.

    With ``start_time`` the ticks run on a virtual clock from that time, ``interval`` apart.
    """
    import time

    clock = clock or time.time
    sleep = sleep or time.sleep
    if start_time is not None:  # a what-if run on a virtual clock: tick after tick, no waiting
        ticked = [start_time - interval]

        def clock() -> float:
            ticked[0] += interval
            return ticked[0]

        def sleep(_: float) -> None:
            return None

    decision = None
    done = 0
    while ticks is None or done < ticks:
        decision = controller.tick(clock())
        on_tick(decision)
        done += 1
        if finished(decision) or (ticks is not None and done >= ticks):
            break
        sleep(interval)
    return decision


def controller_interval(federation_path: str) -> float:
    return float(load_federation(federation_path).controller_interval)


def live_title(controller: BurstController, decision: Decision) -> str:
    t = totals(decision, controller.campaign)
    budget = f" of {t['budget']:g}" if t["budget"] is not None else ""
    running = controller.last_state.running_jobs if controller.last_state is not None else 0
    return (
        f"campaign {controller.campaign.name}: {t['phase']}, idle jobs {t['idleJobs']}, running {running}, "
        f"unmet cores {t['unmetCores']}, spend {t['spent']}{budget}, burn {t['burnRate']}/h"
    )


def status_tables(doc: Mapping[str, Any]) -> tuple[str, list[tuple], list[tuple]]:
    """Title, per-cluster rows (cluster, nodes, provisioning, failures) and recent decisions."""
    memory = doc.get("memory", {})
    phase = doc.get("last", {}).get("phase", "never ran")
    title = f"campaign {doc.get('campaign', '?')}: {phase}, spent {memory.get('spent', 0):.2f}"
    rows = [
        (n, c.get("targetNodes"), len(c.get("pending", [])), c.get("failures"))
        for n, c in memory.get("clusters", {}).items()
    ]
    return title, rows, [(r["text"],) for r in doc.get("recent", [])[-10:]]
