"""The simulator's own mechanics on hand-computed cases (first-fit stand-in matchmaker, see conftest)."""

from __future__ import annotations

import numpy as np
import pytest

from condorfed.errors import SimulationError
from condorfed.sim import SimInputs, Simulation, check_all, run_simulation
from condorfed.sim.baselines import Static
from condorfed.sim.federation_view import ClusterSpec
from condorfed.sim.invariants import check_allocation, check_conservation, check_cost, check_placement
from condorfed.sim.metrics import summary
from condorfed.sim.trace import TraceEntry


def onprem(name="a", nodes=1, cpus=4, **kw):
    return ClusterSpec(name, False, nodes, cpus, 16000, 0, 0, **kw)


def cloud(name="c", nodes=0, cpus=8, price=0.5, boot=600.0, rate=0.0, max_cores=None, gpus=0):
    return ClusterSpec(name, True, nodes, cpus, 32000, 0, gpus, price, boot, rate, max_cores)


def job(submit=0.0, owner="u", runtime=100.0, count=1, cpus=1, group=None, requirements=None, gpus=0):
    return TraceEntry(submit, owner, runtime, cpus, 1000, 0, gpus, group, requirements, count)


def test_waits_and_makespan_hand_computed(first_fit):
    # 4 cores, 6 one-core jobs of 100 s at t=0, cycles every 60 s: 4 start at 0 and end at 100;
    # the cycle at 120 starts the other 2 (waited 120 s), which end at 220.
    sim = run_simulation(SimInputs([onprem(cpus=4)], [job(count=6)], first_fit))
    s = summary(sim)
    assert s["jobs"] == {"submitted": 6, "completed": 6, "running": 0, "idle": 0}
    assert s["wait_s"] == {"p50": 0.0, "p95": 120.0, "max": 120.0}
    assert s["makespan_s"] == 220.0
    assert s["clusters"]["a"]["coreHours"] == pytest.approx(600 / 3600, abs=1e-3)
    assert sim.end_time == 240.0  # the cycle that found everything done
    assert s["cost"] == 0.0


def test_cost_integral_includes_booting_and_idle(first_fit):
    # static: one 8-core cloud node requested at t=0, ready at 600 s, never used; 0.5 per core-hour.
    sim = run_simulation(
        SimInputs(
            [onprem(), cloud(cpus=8, price=0.5, boot=600)],
            [job(runtime=10)],
            first_fit,
            Static(1),
            horizon=3600,
        )
    )
    s = summary(sim)
    assert s["cost"] == pytest.approx(8 * 0.5 * 1.0)
    assert s["clusters"]["c"]["peakCores"] == 8
    assert s["clusters"]["c"]["provisionedCoreHours"] == pytest.approx(8.0)
    assert sim.nodes[1].ready_at == 600.0


def test_preempted_job_reruns_from_the_start(first_fit):
    # Two one-core nodes; J0 (200 s) on node 0, J1 (100 s) on node 1. Node 1 is reclaimed at 30 s:
    # J1 goes back to idle, waits for node 0 (free at 200, next cycle 240) and runs 240..340.
    clusters = [onprem("a", nodes=2, cpus=1)]
    trace = [job(owner="x", runtime=200), job(owner="y", runtime=100)]
    sim = Simulation(SimInputs(clusters, trace, first_fit)).start()
    sim.events.push(30.0, "preempt", 1)
    sim.run()
    check_all(sim)
    s = summary(sim)
    assert s["preemptions"] == 1 and s["nodesPreempted"] == 1
    assert s["jobs"]["completed"] == 2
    assert s["makespan_s"] == 340.0
    assert s["wait_s"]["max"] == 210.0  # idle 0 s before the first start, then 30..240
    assert s["clusters"]["a"]["coreHours"] == pytest.approx((200 + 30 + 100) / 3600, abs=1e-3)


def test_spot_preemption_is_seeded(make_first_fit):
    clusters = [onprem("a", nodes=1, cpus=2), cloud("c", nodes=4, cpus=2, rate=2.0, price=0.1)]
    trace = [job(runtime=3000, count=10)]

    def once(seed):
        return summary(run_simulation(SimInputs(clusters, trace, make_first_fit(), seed=seed)))

    a, b, c = once(7), once(7), once(8)
    assert a == b
    assert a["preemptions"] > 0
    assert a != c


def test_horizon_stops_with_jobs_left(first_fit):
    sim = run_simulation(SimInputs([onprem(cpus=1)], [job(count=3, runtime=100)], first_fit, horizon=150))
    s = summary(sim)
    assert s["jobs"] == {"submitted": 3, "completed": 1, "running": 1, "idle": 1}
    assert sim.end_time == 150.0
    # waits up to the horizon: 0 (done), 120 (running since 120), 150 (still idle)
    assert s["wait_s"]["max"] == 150.0


def test_unrunnable_jobs_stall_instead_of_spinning(first_fit):
    sim = run_simulation(SimInputs([onprem(cpus=2)], [job(cpus=4)], first_fit))
    assert sim.stalled and not sim.capped
    assert summary(sim)["jobs"]["idle"] == 1


def test_bad_inputs_raise_simulation_error(first_fit):
    with pytest.raises(SimulationError, match="duplicate cluster"):
        Simulation(SimInputs([onprem("a"), onprem("a")], [], first_fit))
    with pytest.raises(SimulationError, match="horizon"):
        Simulation(SimInputs([onprem()], [], first_fit, horizon=-1))


class _Greedy:
    name = "provision-onprem"

    def decide(self, view):
        from condorfed.sim.actions import Provision

        return [Provision("a", 1)]


def test_controller_cannot_provision_onprem(first_fit):
    with pytest.raises(SimulationError, match="on-prem"):
        run_simulation(SimInputs([onprem()], [job()], first_fit, _Greedy()))


# ----------------------------------------------------------------------------- invariants
@pytest.fixture
def finished(first_fit):
    clusters = [onprem("a", nodes=1, cpus=2), cloud("c", nodes=1, cpus=2, price=0.2)]
    trace = [job(count=10, runtime=500), job(owner="v", submit=100, count=2, runtime=50)]
    return run_simulation(SimInputs(clusters, trace, first_fit, horizon=560))


def test_invariants_hold_on_a_clean_run(finished):
    check_all(finished)


def test_invariant_catches_a_lost_job(finished):
    q = next(q for q in finished.queues if q.idle)
    q.idle.popleft()
    with pytest.raises(SimulationError, match=r"invariant broken \(jobs\)"):
        check_conservation(finished)


def test_invariant_catches_a_duplicated_job(finished):
    run = next(iter(finished.runs.values()))
    finished.queues[run.key].idle.append(run.batch)
    finished.queues[run.key].idle_count += run.batch.count
    finished.idle += run.batch.count
    with pytest.raises(SimulationError, match=r"invariant broken \(jobs\)"):
        check_conservation(finished)


def test_invariant_catches_a_core_allocated_twice(finished):
    run = next(iter(finished.runs.values()))
    run.batch.count += 5  # the node now "holds" more cores than it has
    with pytest.raises(SimulationError, match=r"allocated twice"):
        check_allocation(finished)


def test_invariant_catches_a_wrong_free_ledger(finished):
    nid = next(iter(finished.runs.values())).node
    finished.free[nid, 0] += 1
    with pytest.raises(SimulationError, match=r"free ledger"):
        check_allocation(finished)


def test_invariant_catches_cost_drift(finished):
    finished.node_cost[1] += 0.01
    with pytest.raises(SimulationError, match=r"invariant broken \(cost\)"):
        check_cost(finished)


def test_invariant_catches_a_placement_the_rules_forbid(finished):
    from condorfed.sim.invariants import classad_rule_true

    with pytest.raises(SimulationError, match=r"invariant broken \(placement\).*require"):
        check_placement(finished, [('Owner == "u"', frozenset({"a"}))], classad_rule_true)


def test_invariant_catches_a_placement_requirements_forbid(finished):
    finished._eligible[0] = frozenset({"a"})  # as if the job's Requirements excluded cluster c
    with pytest.raises(SimulationError, match=r"which their Requirements reject"):
        check_placement(finished, [], lambda w, ad: False)


def test_the_engine_granting_beyond_free_resources_is_caught(first_fit):
    from condorfed.sim.ports import Grant

    sim = Simulation(SimInputs([onprem(cpus=2)], [job(count=3)], first_fit)).start()
    sim._submit(0, 0.0)
    with pytest.raises(SimulationError, match="allocated twice"):
        sim._start(Grant(0, 0, 3, 1, 1000, 0, 0, (1, 2, 3)), 0.0)


def test_free_ledger_matches_numpy_dtype(finished):
    assert finished.free.dtype == np.int64


class _Script:
    """Applies scripted actions at given controller ticks."""

    name = "script"

    def __init__(self, plan):
        self.plan = plan

    def decide(self, view):
        return self.plan.pop(view.now, [])


def test_fast_drain_evicts_and_remove_deletes(first_fit):
    from condorfed.sim.actions import Drain, Remove

    # one cloud node (id 0) runs 2 jobs from t=0; at 60 s a fast drain sends them back to idle,
    # at 120 s the node is removed; an on-prem node (id 1) then runs them from 120 s.
    clusters = [cloud("c", nodes=1, cpus=2, price=1.0), onprem("a", nodes=1, cpus=2)]
    plan = {
        60.0: [Drain("c", (0,), "lease", remove_when_empty=False, evict=True)],
        120.0: [Remove("c", (0,), "drained")],
    }
    trace = [job(count=2, runtime=1000, requirements='TARGET.FedCluster == "c" || time() > 0')]
    sim = run_simulation(SimInputs(clusters, trace, first_fit, _Script(plan)))
    s = summary(sim)
    assert s["evictions"] == 2 and s["preemptions"] == 0
    assert s["jobs"]["completed"] == 2
    assert s["cost"] == pytest.approx(2 * 1.0 * 120 / 3600, abs=1e-4)  # the node lived 120 s
    assert s["wait_s"]["max"] == 60.0  # idle from the eviction at 60 until the cycle at 120
    assert [a.kind for a in sim.actions] == ["drain", "remove"]


def test_a_run_collects_less_often_and_restores_the_thresholds(first_fit, monkeypatch):
    import gc

    seen = []
    sim = Simulation(SimInputs([onprem(cpus=4)], [job(count=2)], first_fit))
    real_start = sim.start
    monkeypatch.setattr(sim, "start", lambda: (seen.append(gc.get_threshold()), real_start())[1])
    before = gc.get_threshold()
    sim.run()
    assert seen[0][0] >= 50_000 > before[0]
    assert gc.get_threshold() == before

    def boom():
        raise RuntimeError("mid-run")

    broken = Simulation(SimInputs([onprem(cpus=4)], [job()], first_fit))
    monkeypatch.setattr(broken, "start", boom)
    with pytest.raises(RuntimeError):
        broken.run()
    assert gc.get_threshold() == before


def test_a_run_leaves_automatic_collection_off_when_the_caller_turned_it_off(first_fit):
    import gc

    before = gc.get_threshold()
    gc.set_threshold(0)
    try:
        run_simulation(SimInputs([onprem(cpus=4)], [job()], first_fit))
        assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)
