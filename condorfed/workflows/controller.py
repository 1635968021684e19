"""The in-cluster burst controller: a leader-elected loop with Prometheus metrics.

Several replicas may run; only the holder of a ``coordination.k8s.io/v1`` Lease acts
(:class:`LeaderElector`, the client-go algorithm: create the Lease if absent, renew it while
holding it, take it over only once ``renewTime + leaseDurationSeconds`` has passed; every write
is a create or an optimistic-concurrency replace, so two replicas never both win). The leader
runs :meth:`BurstController.tick` every interval; followers only keep trying for the Lease.

Metrics (``/metrics``, prometheus-client, on a registry of our own):

========================================== ===================================================
condorfed_burst_unmet_demand_cores          unmet demand per cloud cluster (cores)
condorfed_burst_unmet_demand_jobs           unmet demand per cloud cluster (jobs, fractional)
condorfed_burst_idle_jobs                   idle jobs the campaign serves
condorfed_burst_provisioned_cores           cores asked for per cluster (registered + pending)
condorfed_burst_pending_nodes               nodes requested and not registered yet
condorfed_burst_busy_cores                  cores running jobs per cluster
condorfed_burst_spend                       spend so far (currency units)
condorfed_burst_burn_rate                   currency units per hour after this tick
condorfed_burst_decisions_total             decisions by kind (scale-up, drain, remove, ...)
condorfed_burst_backoffs_total              back-offs started per cluster
condorfed_burst_backoff_active              1 while a cluster is backing off
condorfed_burst_leader                      1 on the replica holding the Lease
condorfed_burst_tick_errors_total           ticks that failed (the loop keeps going)
========================================== ===================================================
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from condorfed.core.burst import ACTION_KINDS, BackOff, Decision
from condorfed.errors import ClusterError, CondorfedError

log = logging.getLogger(__name__)


def _micro(t: float) -> str:
    return _dt.datetime.fromtimestamp(t, tz=_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_micro(text: str | None) -> float | None:
    if not text:
        return None
    return _dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass
class LeaderElector:
    """Leader election through a Lease (see the module doc). ``client``: a KubeClient."""

    client: Any
    namespace: str
    name: str
    identity: str
    lease_seconds: int = 15

    def try_acquire(self, now: float) -> bool:
        """Hold (create, renew or take over) the Lease; False if someone else holds it."""
        from condorfed.adapters.kube import ConflictError

        try:
            lease = self.client.get_lease(self.namespace, self.name)
            if lease is None:
                self.client.create_lease(self.namespace, self.name, self._spec(now, now, 0))
                return True
            spec = lease.get("spec") or {}
            holder = spec.get("holderIdentity")
            renewed = _parse_micro(spec.get("renewTime")) or 0.0
            duration = float(spec.get("leaseDurationSeconds") or self.lease_seconds)
            transitions = int(spec.get("leaseTransitions") or 0)
            if holder == self.identity:
                acquired = _parse_micro(spec.get("acquireTime")) or now
                self.client.replace_lease(lease, self._spec(acquired, now, transitions))
                return True
            if holder and now < renewed + duration:
                return False
            self.client.replace_lease(lease, self._spec(now, now, transitions + 1))
            return True
        except ConflictError:
            return False  # another replica wrote first

    def release(self, now: float) -> None:
        """Give the Lease up (on shutdown) so a follower takes over without waiting."""
        lease = self.client.get_lease(self.namespace, self.name)
        if lease and (lease.get("spec") or {}).get("holderIdentity") == self.identity:
            spec = dict(lease["spec"])
            spec["holderIdentity"] = None
            spec["renewTime"] = _micro(now - 10 * self.lease_seconds)
            with contextlib.suppress(ClusterError):
                self.client.replace_lease(lease, spec)

    def _spec(self, acquired: float, renewed: float, transitions: int) -> dict[str, Any]:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": self.lease_seconds,
            "acquireTime": _micro(acquired),
            "renewTime": _micro(renewed),
            "leaseTransitions": transitions,
        }


class Metrics:
    """The controller's Prometheus metrics on a registry of its own."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge

        self.registry = CollectorRegistry()
        r = self.registry
        by = ["cluster"]
        self.unmet_cores = Gauge("condorfed_burst_unmet_demand_cores", "Unmet demand (cores)", by, registry=r)
        self.unmet_jobs = Gauge("condorfed_burst_unmet_demand_jobs", "Unmet demand (jobs)", by, registry=r)
        self.idle_jobs = Gauge("condorfed_burst_idle_jobs", "Idle jobs the campaign serves", registry=r)
        self.provisioned = Gauge("condorfed_burst_provisioned_cores", "Cores asked for", by, registry=r)
        self.pending = Gauge("condorfed_burst_pending_nodes", "Nodes still provisioning", by, registry=r)
        self.busy = Gauge("condorfed_burst_busy_cores", "Cores running jobs", by, registry=r)
        self.spend = Gauge("condorfed_burst_spend", "Spend so far (currency units)", registry=r)
        self.burn = Gauge("condorfed_burst_burn_rate", "Currency units per hour", registry=r)
        self.decisions = Counter("condorfed_burst_decisions", "Decisions by kind", ["kind"], registry=r)
        self.backoffs = Counter("condorfed_burst_backoffs", "Back-offs started", by, registry=r)
        self.backoff_active = Gauge("condorfed_burst_backoff_active", "1 while backing off", by, registry=r)
        self.leader = Gauge("condorfed_burst_leader", "1 on the Lease holder", registry=r)
        self.errors = Counter("condorfed_burst_tick_errors", "Failed ticks", registry=r)
        for kind in ACTION_KINDS:
            self.decisions.labels(kind=kind)

    def record(self, decision: Decision, cores_per_node: dict[str, int], busy: dict[str, int]) -> None:
        for name, nodes in decision.nodes.items():
            d = decision.demand.clusters.get(name)
            self.unmet_cores.labels(cluster=name).set(d.cores if d else 0.0)
            self.unmet_jobs.labels(cluster=name).set(d.jobs if d else 0.0)
            self.provisioned.labels(cluster=name).set(nodes * cores_per_node.get(name, 0))
            mem = decision.memory.cluster(name)
            self.pending.labels(cluster=name).set(len(mem.pending))
            self.busy.labels(cluster=name).set(busy.get(name, 0))
            self.backoff_active.labels(cluster=name).set(
                1 if mem.backoff_until > (decision.memory.last_tick or 0) else 0
            )
        self.idle_jobs.set(decision.demand.idle_jobs)
        self.spend.set(decision.memory.spent)
        self.burn.set(decision.burn_rate)
        for action in decision.actions:
            self.decisions.labels(kind=action.kind).inc()
            if isinstance(action, BackOff):
                self.backoffs.labels(cluster=action.cluster).inc()

    def serve(self, port: int, address: str = "127.0.0.1") -> Any:
        """Serve ``/metrics`` in a daemon thread; returns the server (``.shutdown()`` stops it)."""
        from prometheus_client import start_http_server

        server, _thread = start_http_server(port, addr=address, registry=self.registry)
        return server


@dataclass
class ControllerLoop:
    """Tick while leading; keep trying for the Lease otherwise."""

    controller: Any  # condorfed.workflows.campaign.BurstController
    elector: LeaderElector | None
    metrics: Metrics
    interval: float = 60.0
    clock: Callable[[], float] = time.time

    def once(self) -> Decision | None:
        now = self.clock()
        if self.elector is not None and not self.elector.try_acquire(now):
            self.metrics.leader.set(0)
            return None
        self.metrics.leader.set(1)
        try:
            decision = self.controller.tick(now)
        except CondorfedError as exc:
            self.metrics.errors.inc()
            log.error("tick failed: %s", exc)
            return None
        ctl = self.controller
        cores = {n: ctl.policy.clusters[n].cpus for n in ctl.clusters}
        busy: dict[str, int] = {}
        observed = ctl.last_state.workers if ctl.last_state is not None else ()
        for w in observed:
            busy[w.cluster] = busy.get(w.cluster, 0) + w.busy_cores
        self.metrics.record(decision, cores, busy)
        return decision

    def run(self, stop: threading.Event, ticks: int | None = None) -> None:
        """Tick every ``interval``; between ticks renew (or try for) the Lease every third of its
        duration, so a leader with a long interval keeps the Lease and a follower notices a
        vacancy quickly."""
        done = 0
        next_tick = self.clock()
        while not stop.is_set():
            now = self.clock()
            if now >= next_tick:
                self.once()
                done += 1
                next_tick = now + self.interval
                if ticks is not None and done >= ticks:
                    break
            elif self.elector is not None:
                self.metrics.leader.set(1 if self.elector.try_acquire(now) else 0)
            wait = next_tick - self.clock()
            if self.elector is not None:
                wait = min(wait, self.elector.lease_seconds / 3)
            stop.wait(max(wait, 0.0))
        if self.elector is not None:
            self.elector.release(self.clock())


@dataclass(frozen=True)
class ControllerSettings:
    """How the in-cluster controller runs (besides :class:`~condorfed.workflows.campaign.Wiring`)."""

    identity: str
    lease_name: str = "condorfed-controller"
    lease_seconds: int = 15
    metrics_address: str = "127.0.0.1"
    metrics_port: int | None = 9090
    interval: float | None = None
    ticks: int | None = None


def run_controller(wiring: Any, settings: ControllerSettings, stop: threading.Event | None = None) -> Metrics:
    """Build the controller, serve metrics, and tick while holding the Lease until ``stop`` (or SIGTERM)."""
    import signal

    from condorfed.workflows.campaign import _connector, build_controller, controller_interval

    connect = _connector(wiring.kubeconfig)
    controller = build_controller(wiring, connect=connect)
    elector = None
    if wiring.host_context:
        elector = LeaderElector(
            connect(wiring.host_context), wiring.namespace, settings.lease_name, settings.identity,
            settings.lease_seconds,
        )  # fmt: skip
    else:
        log.warning("no --host-context: no leader election; run a single replica")
    metrics = Metrics()
    server = None
    if settings.metrics_port is not None:
        server = metrics.serve(settings.metrics_port, settings.metrics_address)
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    interval = settings.interval if settings.interval is not None else controller_interval(wiring.federation)
    # Renew well within the Lease: tick at most every lease_seconds / 3 while following.
    loop = ControllerLoop(controller, elector, metrics, interval=interval)
    try:
        loop.run(stop, settings.ticks)
    finally:
        if server is not None:
            server.shutdown()
    return metrics
