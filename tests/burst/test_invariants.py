"""Properties of step() on generated states: limits hold, busy workers survive, nothing runs away."""

from __future__ import annotations

import math

import pytest
from burst_helpers import T0, campaign, job
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from condorfed.core.burst import (
    Cancel,
    ClusterMemory,
    ControllerMemory,
    Drain,
    ObservedState,
    RampUp,
    Remove,
    ScaleDown,
    ScaleUp,
    Worker,
    WorkerMemory,
    step,
)
from condorfed.core.burst.observe import workers_from_slots
from condorfed.core.classads import Ad

CLUSTERS = ("exoscale", "tsystems", "gcp")

jobs = st.lists(
    st.builds(
        job,
        count=st.integers(1, 400),
        cpus=st.sampled_from([1, 2, 4, 8, 16, 40]),
        memory=st.sampled_from([1000, 2000, 8000, 64000, 200000]),
        gpus=st.sampled_from([0, 0, 0, 1, 2]),
        group=st.sampled_from(["atlas", "cms", "tpu", None]),
    ),
    max_size=6,
)
workers = st.lists(
    st.tuples(
        st.sampled_from(CLUSTERS), st.integers(0, 8), st.sampled_from(["idle", "busy", "draining", "drained"])
    ),
    max_size=8,
)


@st.composite
def states(draw):
    seen = draw(workers)
    ws, mem_workers = [], {c: {} for c in CLUSTERS}
    for i, (cluster, running, state) in enumerate(seen):
        running = 0 if state in ("idle", "drained") else max(running, 1)
        ws.append(Worker(f"w{i}", cluster, 8, running, running, state))
        mem_workers[cluster][f"w{i}"] = WorkerMemory(
            first_seen=T0 - draw(st.integers(0, 5000)), idle_since=T0 - draw(st.integers(0, 5000))
        )
    pending = {c: draw(st.integers(0, 5)) for c in CLUSTERS}
    memory = ControllerMemory(
        last_tick=T0,
        spent=draw(st.floats(0, 200)),
        clusters={
            c: ClusterMemory(
                target_nodes=len(mem_workers[c]) + pending[c],
                pending=(T0 - 60,) * pending[c],
                workers=mem_workers[c],
            )
            for c in CLUSTERS
        },
        stopped=draw(st.booleans()),
    )
    return ObservedState(idle=tuple(draw(jobs)), workers=tuple(ws), memory=memory)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    state=states(),
    ramp=st.integers(1, 30),
    max_cores=st.none() | st.integers(0, 600),
    burn=st.none() | st.floats(0, 5),
    budget=st.none() | st.floats(0, 500),
    drain=st.sampled_from(["graceful", "force"]),
    offset=st.sampled_from([-10.0, 3600.0, 10 * 86400.0 + 1]),
)
def test_limits_and_safety_hold(policy, state, ramp, max_cores, burn, budget, drain, offset):
    c = campaign(
        clusters=CLUSTERS,
        groups=(),
        ramp_up=RampUp(ramp),
        max_cores=max_cores,
        max_burn_rate=burn,
        budget=budget,
        scale_down=ScaleDown(drain=drain),
    )
    now = T0 + offset
    d = step(state, policy, c, now)
    new = {a.cluster: a.nodes for a in d.actions if isinstance(a, ScaleUp)}
    # ramp-up and no scale-up outside the active phase
    assert sum(new.values()) <= ramp
    if d.phase != "active":
        assert not new
    if new:
        cores = sum(d.nodes[n] * policy.clusters[n].cpus for n in CLUSTERS)
        burn_after = sum(d.nodes[n] * policy.clusters[n].node_cost_per_hour() for n in CLUSTERS)
        for n in new:
            cap = policy.clusters[n].max_cores
            assert cap is None or d.nodes[n] * policy.clusters[n].cpus <= cap
        assert max_cores is None or cores <= max_cores
        assert burn is None or burn_after <= burn + 1e-9
        from condorfed.core.burst.decide import committed_hours

        hours = committed_hours(c, now)
        assert hours >= (c.end - now) / 3600
        assert budget is None or d.memory.spent + burn_after * hours <= budget + 1e-6
    # a worker running a job is removed only after the lease with drain: force
    busy = {w.name for w in state.workers if w.running_jobs > 0}
    removed = {n for a in d.actions if isinstance(a, Remove) for n in a.workers}
    if removed & busy:
        assert d.phase == "winding-down" and drain == "force"
        drained_first = {n for a in d.actions if isinstance(a, Drain) for n in a.workers}
        assert removed & busy <= drained_first
    # targets never go negative and match what is remembered
    for n in CLUSTERS:
        assert d.nodes[n] >= 0
        assert d.nodes[n] == d.memory.cluster(n).target_nodes
    # winding down leaves nothing provisioning
    if d.phase == "winding-down":
        assert all(not d.memory.cluster(n).pending for n in CLUSTERS)
        assert not any(isinstance(a, ScaleUp) for a in d.actions)
    # an unfinished request is never cancelled twice for the same reason in one tick
    assert sum(1 for a in d.actions if isinstance(a, Cancel)) <= len(CLUSTERS)


def test_broken_image_does_not_stream_nodes(policy):
    """Every requested node dies 60 s after registering: requests stay bounded over a day."""
    c = campaign(clusters=("tsystems",), ramp_up=RampUp(20))
    memory = ControllerMemory()
    requested = 0
    alive: dict[str, float] = {}
    serial = 0
    now = T0
    while now < T0 + 86400:
        # nodes requested 300 s ago register now; registered ones die after 60 s
        workers = []
        for name, born in list(alive.items()):
            if now - born >= 60:
                del alive[name]
            else:
                workers.append(Worker(name, "tsystems", 8))
        for t in memory.cluster("tsystems").pending:
            if now - t >= 300:
                serial += 1
                alive[f"w{serial}"] = now
                workers.append(Worker(f"w{serial}", "tsystems", 8))
        d = step(ObservedState(idle=(job(800),), workers=tuple(workers), memory=memory), policy, c, now)
        requested += sum(a.nodes for a in d.actions if isinstance(a, ScaleUp))
        memory = d.memory
        now += 60
    # Without back-off: 20 nodes a minute for a day (28,800). With it: the first round (the demand,
    # 100 nodes, before any failure is visible), then one probe node per back-off period (<= 6 h).
    assert requested <= 100 + 8
    assert memory.cluster("tsystems").failures >= 5


@pytest.mark.parametrize(
    ("slots", "expected"),
    [
        pytest.param(
            [
                Ad(
                    Name="slot1@a",
                    Machine="a",
                    FedCluster="tsystems",
                    PartitionableSlot=True,
                    TotalSlotCpus=8,
                    Cpus=8,
                    State="Unclaimed",
                )
            ],
            [Worker("a", "tsystems", 8, 0, 0, "idle")],
            id="idle-pslot",
        ),
        pytest.param(
            [
                Ad(
                    Name="slot1@b",
                    Machine="b",
                    FedCluster="tsystems",
                    PartitionableSlot=True,
                    TotalSlotCpus=8,
                    Cpus=2,
                    State="Unclaimed",
                ),
                Ad(
                    Name="slot1_1@b",
                    Machine="b",
                    FedCluster="tsystems",
                    DynamicSlot=True,
                    Cpus=4,
                    State="Claimed",
                ),
                Ad(
                    Name="slot1_2@b",
                    Machine="b",
                    FedCluster="tsystems",
                    DynamicSlot=True,
                    Cpus=2,
                    State="Claimed",
                ),
            ],
            [Worker("b", "tsystems", 8, 6, 2, "busy")],
            id="busy-with-dynamic-slots",
        ),
        pytest.param(
            [
                Ad(
                    Name="slot1@c",
                    Machine="c",
                    FedCluster="tsystems",
                    PartitionableSlot=True,
                    TotalSlotCpus=8,
                    Cpus=7,
                    State="Unclaimed",
                    Draining=True,
                ),
                Ad(
                    Name="slot1_1@c",
                    Machine="c",
                    FedCluster="tsystems",
                    DynamicSlot=True,
                    Cpus=1,
                    State="Claimed",
                    Activity="Retiring",
                ),
            ],
            [Worker("c", "tsystems", 8, 1, 1, "draining")],
            id="draining-with-a-retiring-job",
        ),
        pytest.param(
            [
                Ad(
                    Name="slot1@d",
                    Machine="d",
                    FedCluster="tsystems",
                    PartitionableSlot=True,
                    TotalSlotCpus=8,
                    Cpus=8,
                    State="Drained",
                    Activity="Idle",
                )
            ],
            [Worker("d", "tsystems", 8, 0, 0, "drained")],
            id="drained",
        ),
        pytest.param(
            [
                Ad(
                    Name="slot1@e",
                    Machine="e",
                    FedCluster="meyrin",
                    PartitionableSlot=True,
                    TotalSlotCpus=32,
                    Cpus=32,
                    State="Unclaimed",
                )
            ],
            [],
            id="other-cluster-ignored",
        ),
    ],
)
def test_workers_from_slots(slots, expected):
    assert list(workers_from_slots(slots, {"tsystems"})) == expected


def test_group_jobs_counts_autoclusters():
    from condorfed.core.burst import group_jobs

    ads = [job(1).ad for _ in range(5)] + [job(1, cpus=4).ad for _ in range(3)] + [job(1, group="cms").ad]
    groups = group_jobs(ads)
    assert sorted((g.count, g.cpus, g.group) for g in groups) == [
        (1, 1, "cms"),
        (3, 4, "atlas"),
        (5, 1, "atlas"),
    ]
    assert math.isclose(sum(g.count for g in groups), 9)
