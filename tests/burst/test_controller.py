"""The campaign workflow and controller loop over in-memory ports: restart, stop, dry run, metrics."""

from __future__ import annotations

import threading
import urllib.request

from burst_helpers import T0, campaign, job, pslot

from condorfed.adapters.actuators import ActuatorSet
from condorfed.adapters.campaign_state import MemoryStateStore
from condorfed.adapters.htcondor_collector import StaticStartdReader
from condorfed.core.burst import Drain, ScaleUp
from condorfed.core.classads import Ad
from condorfed.workflows.campaign import BurstController, StaticJobReader, campaign_status, stop_campaign
from condorfed.workflows.controller import ControllerLoop, Metrics

NOW = T0 + 3600


class Recorder:
    def __init__(self) -> None:
        self.actions: list = []

    def apply(self, action) -> None:
        self.actions.append(action)

    def drain(self, workers, how, reason) -> None:
        self.actions.append(("drain", tuple(workers), how))


def _jobs(n: int, status: int = 1) -> list[Ad]:
    out = []
    for i in range(n):
        ad = job().ad.copy()
        ad["ProcId"] = i
        ad["JobStatus"] = status
        out.append(ad)
    return out


def _worker_slots(names, busy: bool) -> list[Ad]:
    slots = []
    for name in names:
        slots.append(pslot("tsystems", name, 0 if busy else 8, 16000 if busy else 32000, cloud=True))
        if busy:
            for k in range(8):
                slots.append(
                    Ad(
                        Name=f"slot1_{k}@{name}",
                        Machine=name,
                        FedCluster="tsystems",
                        State="Claimed",
                        Activity="Busy",
                        Cpus=1,
                        Memory=2000,
                        DynamicSlot=True,
                    )
                )
    return slots


def _controller(policy, store, jobs, slots, rec, dry_run=False) -> BurstController:
    acts = None if dry_run else ActuatorSet({"tsystems": rec}, rec)
    return BurstController(
        policy,
        campaign(clusters=("tsystems",)),
        StaticJobReader(jobs),
        StaticStartdReader(slots),
        store,
        acts,
    )


def test_restart_resumes_without_provisioning_twice_then_stop_drains(policy):
    store, rec = MemoryStateStore(), Recorder()
    first = _controller(policy, store, _jobs(40), [], rec)
    d1 = first.tick(NOW)
    assert [(a.cluster, a.nodes) for a in d1.actions] == [("tsystems", 5)]
    assert rec.actions == list(d1.actions)

    restarted = _controller(policy, store, _jobs(40), [], rec)  # a new process, same ConfigMap
    d2 = restarted.tick(NOW + 60)
    assert d2.actions == () and d2.nodes == {"tsystems": 5}

    # the five nodes register and take the 40 jobs
    names = [f"ts-{i}" for i in range(5)]
    running = _controller(policy, store, _jobs(40, status=2), _worker_slots(names, busy=True), rec)
    d3 = running.tick(NOW + 400)
    assert d3.actions == ()
    assert d3.memory.cluster("tsystems").pending == () and set(d3.memory.cluster("tsystems").workers) == set(
        names
    )
    assert campaign_status(store)["last"]["nodes"] == {"tsystems": 5}

    stop_campaign(store)
    d4 = running.tick(NOW + 460)
    assert d4.phase == "winding-down"
    assert [type(a) for a in d4.actions] == [Drain]
    assert rec.actions[-1] == ("drain", tuple(names), "graceful")
    assert [r["kind"] for r in campaign_status(store)["recent"]] == ["scale-up", "drain"]


def test_dry_run_acts_on_nothing(policy):
    rec = Recorder()
    ctl = _controller(policy, MemoryStateStore(), _jobs(16), [], rec, dry_run=True)
    d = ctl.tick(NOW)
    assert any(isinstance(a, ScaleUp) for a in d.actions) and rec.actions == []


def test_loop_records_metrics_and_serves_them(policy):
    rec = Recorder()
    ctl = _controller(policy, MemoryStateStore(), _jobs(40), [], rec)
    metrics = Metrics()
    loop = ControllerLoop(ctl, None, metrics, interval=0.0, clock=lambda: NOW)
    loop.run(threading.Event(), ticks=1)
    server = metrics.serve(0, "127.0.0.1")
    try:
        body = (
            urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/metrics", timeout=5)
            .read()
            .decode()
        )
    finally:
        server.shutdown()
    assert 'condorfed_burst_unmet_demand_cores{cluster="tsystems"} 40.0' in body
    assert 'condorfed_burst_provisioned_cores{cluster="tsystems"} 40.0' in body
    assert 'condorfed_burst_decisions_total{kind="scale-up"} 1.0' in body
    assert 'condorfed_burst_decisions_total{kind="remove"} 0.0' in body
    assert "condorfed_burst_leader 1.0" in body
    assert 'condorfed_burst_pending_nodes{cluster="tsystems"} 5.0' in body


def test_follower_does_not_act(policy):
    class Never:
        def try_acquire(self, now):
            return False

        def release(self, now):
            pass

    rec = Recorder()
    ctl = _controller(policy, MemoryStateStore(), _jobs(40), [], rec)
    metrics = Metrics()
    assert ControllerLoop(ctl, Never(), metrics, clock=lambda: NOW).once() is None
    assert rec.actions == [] and metrics.leader._value.get() == 0


class FakeStop:
    """A stop event on a virtual clock: wait() advances the clock; set after ``until``."""

    def __init__(self, clock: dict, until: float) -> None:
        self.clock, self.until = clock, until

    def is_set(self) -> bool:
        return self.clock["t"] >= self.until

    def wait(self, seconds: float) -> bool:
        self.clock["t"] += max(seconds, 0.001)
        return self.is_set()


class CountingElector:
    lease_seconds = 15

    def __init__(self) -> None:
        self.calls: list[float] = []
        self.released = False

    def try_acquire(self, now: float) -> bool:
        self.calls.append(now)
        return True

    def release(self, now: float) -> None:
        self.released = True


def test_leader_renews_the_lease_between_long_ticks(policy):
    rec = Recorder()
    ctl = _controller(policy, MemoryStateStore(), _jobs(8), [], rec)
    clock = {"t": NOW}
    elector = CountingElector()
    loop = ControllerLoop(ctl, elector, Metrics(), interval=60.0, clock=lambda: clock["t"])
    loop.run(FakeStop(clock, NOW + 125))
    gaps = [b - a for a, b in zip(elector.calls, elector.calls[1:], strict=False)]
    assert max(gaps) <= 15 / 3 + 1e-6  # never close to the 15 s lease duration
    assert len([a for a in rec.actions if isinstance(a, ScaleUp)]) == 1  # ticks at 0, 60, 120: one scale-up
    assert elector.released


def test_stop_during_a_tick_is_not_lost(policy):
    class StopsMidTick(MemoryStateStore):
        """`campaign stop` lands between the tick's load and its save."""

        def __init__(self) -> None:
            super().__init__()
            self.loads = 0

        def load(self):
            self.loads += 1
            if self.loads == 2 and self.document is not None:
                stop_campaign(self)
            return super().load()

    store, rec = StopsMidTick(), Recorder()
    store.save({"campaign": "spike", "memory": {}})
    ctl = _controller(policy, store, _jobs(8), [], rec)
    ctl.tick(NOW)
    assert campaign_status(store)["memory"]["stopped"] is True
    assert ctl.tick(NOW + 60).phase == "winding-down"
