"""Runs on condorfed's real negotiation engine and burst controller (tiny federation, see conftest)."""

from __future__ import annotations

import pytest

from condorfed.adapters.federation_file import load_federation
from condorfed.sim import SimInputs, Simulation, check_all, run_simulation
from condorfed.sim.burst import BurstController
from condorfed.sim.engine import EngineMatchmaker
from condorfed.sim.federation_view import cluster_specs, group_quotas
from condorfed.sim.metrics import summary
from condorfed.sim.simulation import template_ads
from condorfed.sim.trace import read_trace
from condorfed.workflows.simulate import SimulateOptions, compiled_policy, run_simulate


def _inputs(fed_path, trace_path, controller_factory, seed=1):
    fed = load_federation(fed_path)
    config, _, transform = compiled_policy(fed)
    clusters = cluster_specs(fed)

    def make():
        from condorfed.core.burst.policy import BurstPolicy

        ctl = controller_factory(fed, BurstPolicy) if controller_factory else None
        return SimInputs(
            clusters,
            read_trace(trace_path),
            EngineMatchmaker(config, template_ads(clusters)),
            ctl,
            fed.negotiator_interval,
            fed.controller_interval,
            seed,
            None,
            transform,
            tuple((r.when or "true", frozenset(r.clusters)) for r in fed.rules if r.kind == "require"),
            group_quotas(fed),
        )

    return make


def _burst(fed, BurstPolicy):
    return BurstController(BurstPolicy.from_federation(fed), None, 1767225600.0)


def test_burst_controller_provisions_cloud_and_rules_hold(tiny_files):
    make = _inputs(*tiny_files, _burst)
    sim = run_simulation(make())
    s = summary(sim)
    assert s["jobs"]["completed"] == s["jobs"]["submitted"] == 56
    assert s["clusters"]["burst"]["peakCores"] > 0 and s["cost"] > 0
    # require: local jobs only on site (also checked by the placement invariant)
    local_keys = {q.key for q in sim.queues if q.group == "local"}
    assert {sim.clusters[ci].name for (k, ci) in sim.placements if k in local_keys} == {"site"}
    # the transform ANDed the require clause into the job's Requirements
    assert "FedCluster" in str(next(q for q in sim.queues if q.group == "local").ad["Requirements"])


def test_same_seed_same_result_on_the_engine(tiny_files):
    make = _inputs(*tiny_files, _burst)
    assert summary(run_simulation(make())) == summary(run_simulation(make()))


class _EveryCycle(Simulation):
    """Negotiates at every cycle: the reference for the cycle-skipping rule."""

    def _could_match(self) -> bool:
        self._dirty = True
        return True


def test_skipping_cycles_changes_nothing(tiny_files):
    make = _inputs(*tiny_files, _burst)
    fast = run_simulation(make())
    slow = _EveryCycle(make()).run()
    check_all(slow)
    a, b = summary(fast), summary(slow)
    assert a.pop("cyclesNegotiated") < b.pop("cyclesNegotiated")
    assert a == b
    assert fast.samples["running"] == slow.samples["running"]


def test_fair_share_follows_quotas_without_a_cloud(tiny_files):
    make = _inputs(*tiny_files, None)
    s = summary(run_simulation(make()))
    assert s["clusters"]["burst"]["coreHours"] == 0
    # 8 cores, physics 0.7 / local 0.3 with both demanding: local gets about 30% while it has jobs
    assert s["groups"]["local"]["entitled"] == pytest.approx(s["groups"]["local"]["share"], abs=0.1)


def test_workflow_writes_report_and_json_shape(tiny_files, tmp_path):
    fed, trace = tiny_files
    out = tmp_path / "rep"
    result = run_simulate(SimulateOptions(federation=str(fed), trace=str(trace), out=str(out)))
    obj = result.to_json()
    assert set(obj["jobs"]) == {"submitted", "completed", "running", "idle"}
    assert set(obj["wait_s"]) == {"p50", "p95", "max"}
    for key in ("makespan_s", "cost", "preemptions", "clusters", "groups"):
        assert key in obj
    assert set(obj["clusters"]["burst"]) >= {"coreHours", "cost", "peakCores"}
    assert set(obj["groups"]["physics"]) >= {"jobs", "wait_p95_s", "coreHours", "share", "entitled"}
    names = {p.name for p in out.iterdir()}
    assert {"report.html", "metrics.json", "jobs.png", "cores.png", "cloud-spend.png", "waits.png"} <= names
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "tiny" in html and "JOB_TRANSFORM" in html
