"""decide()/step() as named table cases; expected numbers are computed by hand in each case."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from burst_helpers import DAY, T0, campaign, job, pslot

from condorfed.core.burst import (
    BackOff,
    Cancel,
    ClusterMemory,
    ControllerMemory,
    Drain,
    ObservedState,
    RampUp,
    Remove,
    ScaleUp,
    Worker,
    WorkerMemory,
    decide,
    step,
)

NOW = T0 + 3600.0


def ups(actions) -> dict[str, int]:
    return {a.cluster: a.nodes for a in actions if isinstance(a, ScaleUp)}


# Demand: 1000 one-core 2 GB jobs, no free slot. Tier [exoscale, tsystems] (fill "*"), weight 1 each:
# exoscale holds 16 jobs/node and at most 320/16 = 20 nodes (320 jobs); the other 680 jobs overflow
# to tsystems (8 jobs/node) = 85 nodes. Nodes are granted one at a time to the largest need.
@pytest.mark.parametrize(
    ("limits", "expected", "limit_word"),
    [
        # ramp 5, shared by the smallest granted share of need (ties: larger need): tsystems (85),
        # exoscale (20), then tsystems three times (3/85 < 1/20 ...).
        pytest.param(
            dict(ramp=5), {"exoscale": 1, "tsystems": 4}, "rampUp", id="spike-capped-by-ramp-up-step"
        ),
        pytest.param(
            dict(ramp=1000),
            {"exoscale": 20, "tsystems": 85},
            "cluster maxCores",
            id="spike-capped-by-cluster-max",
        ),
        # 200 cores shared in proportion to need (20 : 85 nodes): 4 x 16 + 17 x 8 = 200 cores.
        pytest.param(
            dict(ramp=1000, max_cores=200),
            {"exoscale": 4, "tsystems": 17},
            "campaign maxCores",
            id="spike-capped-by-campaign-max-cores",
        ),
        # burn: tsystems node 0.08/h, exoscale node 0.32/h: 1 exoscale + 8 tsystems = 0.96/h; a second
        # exoscale node (1.28) or a 9th tsystems one (1.04) passes 1.0.
        pytest.param(
            dict(ramp=1000, max_burn_rate=1.0),
            {"exoscale": 1, "tsystems": 8},
            "maxBurnRate",
            id="spike-capped-by-burn-rate",
        ),
        # budget 100 over the 239 h left + 24 h graceful drain deadline: burn <= 0.380/h -> 4 tsystems
        # nodes (0.32/h; a 5th makes 0.40, an exoscale node alone 0.32 + 0.08 first = 0.40).
        pytest.param(dict(ramp=1000, budget=100.0), {"tsystems": 4}, "budget", id="spike-capped-by-budget"),
        # 50 already spent: (100 - 50) / 263 h = 0.190/h -> 2 tsystems nodes.
        pytest.param(
            dict(ramp=1000, budget=100.0, spent=50.0),
            {"tsystems": 2},
            "budget",
            id="spike-capped-by-budget-after-spend",
        ),
    ],
)
def test_spike_scales_up_within_limits(policy, limits, expected, limit_word):
    from condorfed.core.burst import RampUp

    c = campaign(
        ramp_up=RampUp(limits["ramp"]),
        max_cores=limits.get("max_cores"),
        budget=limits.get("budget"),
        max_burn_rate=limits.get("max_burn_rate"),
    )
    memory = ControllerMemory(spent=limits.get("spent", 0.0))
    d = step(ObservedState(idle=(job(1000),), memory=memory), policy, c, NOW)
    assert ups(d.actions) == expected
    assert any(limit_word in why for why in d.limits.values())
    assert d.demand.idle_jobs == 1000 and d.demand.absorbed_jobs == 0
    assert d.demand.clusters["exoscale"].jobs == pytest.approx(320)
    assert d.demand.clusters["tsystems"].jobs == pytest.approx(680)


def test_job_matching_k_tied_clusters_counts_one_over_k(policy):
    # 32 jobs, both clouds with room: 16 jobs each (1/2), i.e. 1 exoscale node and 2 tsystems nodes.
    d = step(ObservedState(idle=(job(32),)), policy, campaign(), NOW)
    assert d.demand.clusters["exoscale"].jobs == pytest.approx(16)
    assert d.demand.clusters["tsystems"].jobs == pytest.approx(16)
    assert ups(d.actions) == {"exoscale": 1, "tsystems": 2}
    assert d.demand.unmet_jobs == pytest.approx(32)  # counted once


@pytest.mark.parametrize(
    ("requirements", "memory"),
    [
        pytest.param('TARGET.FedCluster == "meyrin"', 2000, id="requirements-name-onprem"),
        pytest.param("TARGET.IsCloud == false", 2000, id="requirements-exclude-cloud"),
        pytest.param(None, 100_000, id="memory-only-onprem-nodes-have"),
    ],
)
def test_jobs_only_onprem_can_run_never_trigger_cloud(policy, requirements, memory):
    d = step(ObservedState(idle=(job(500, memory=memory, req=requirements),)), policy, campaign(), NOW)
    assert ups(d.actions) == {}
    assert d.demand.unplaceable_jobs == 500
    assert d.demand.unmet_cores == 0


def test_gpu_jobs_go_to_the_gpu_cloud(policy):
    # prefer exoscale when RequestGPUs > 0; one GPU per exoscale node -> 10 nodes; none elsewhere.
    d = step(ObservedState(idle=(job(10, gpus=1),)), policy, campaign(), NOW)
    assert ups(d.actions) == {"exoscale": 10}
    assert d.demand.clusters["exoscale"].gpus == pytest.approx(10)


def test_gpu_jobs_without_a_gpu_cloud_are_unplaceable(policy):
    d = step(ObservedState(idle=(job(10, gpus=1),)), policy, campaign(clusters=("tsystems",)), NOW)
    assert ups(d.actions) == {}
    assert d.demand.unplaceable_jobs == 10


@pytest.mark.parametrize(
    ("clusters", "expected"),
    [
        # 20 one-core tpu-group jobs: require gcp -> 20 / 8 per node = 3 nodes, only in gcp.
        pytest.param(("exoscale", "tsystems", "gcp"), {"gcp": 3}, id="require-goes-only-to-gcp"),
        pytest.param(("exoscale", "tsystems"), {}, id="require-cluster-not-in-campaign-no-scale-up"),
    ],
)
def test_require_rules_are_respected(policy, clusters, expected):
    d = step(ObservedState(idle=(job(20, group="tpu"),)), policy, campaign(clusters=clusters, groups=()), NOW)
    assert ups(d.actions) == expected


def test_campaign_serves_only_its_groups(policy):
    d = step(ObservedState(idle=(job(64, group="cms"),)), policy, campaign(groups=("atlas",)), NOW)
    assert ups(d.actions) == {}
    d = step(ObservedState(idle=(job(64, group="atlas"),)), policy, campaign(groups=("atlas",)), NOW)
    assert sum(ups(d.actions).values()) > 0


@pytest.mark.parametrize(
    ("slot", "absorbed"),
    [
        pytest.param(pslot("meyrin", "m1", 32, 128000), 32, id="free-pslot-absorbs-32"),
        pytest.param(pslot("meyrin", "m1", 32, 128000, Activity="Retiring"), 0, id="retiring-slot-not-free"),
        pytest.param(pslot("meyrin", "m1", 32, 128000, Draining=True), 0, id="draining-slot-not-free"),
        pytest.param(pslot("meyrin", "m1", 32, 128000, State="Drained"), 0, id="drained-slot-not-free"),
        pytest.param(pslot("meyrin", "m1", 0, 128000), 0, id="cpu-exhausted-pslot-not-free"),
        # memory-exhausted: 32 cores but 3000 MB left hold one 2 GB job, not 32 (glideinWMS #554)
        pytest.param(pslot("meyrin", "m1", 32, 3000), 1, id="memory-exhausted-pslot-holds-one"),
        pytest.param(pslot("meyrin", "m1", 32, 128000, State="Claimed"), 0, id="claimed-slot-not-free"),
    ],
)
def test_free_capacity(policy, slot, absorbed):
    d = step(ObservedState(idle=(job(48),), slots=(slot,)), policy, campaign(clusters=("tsystems",)), NOW)
    assert d.demand.absorbed_jobs == absorbed
    assert d.demand.clusters["tsystems"].jobs == pytest.approx(48 - absorbed)


def _pending(cluster: str, n: int, at: float) -> ControllerMemory:
    return ControllerMemory(clusters={cluster: ClusterMemory(target_nodes=n, pending=(at,) * n)})


@pytest.mark.parametrize(
    ("jobs", "expected"),
    [
        pytest.param(40, {}, id="five-provisioning-absorb-40-jobs"),
        pytest.param(48, {"tsystems": 1}, id="five-provisioning-plus-one-for-48-jobs"),
    ],
)
def test_no_scale_up_while_provisioning_would_absorb(policy, jobs, expected):
    state = ObservedState(idle=(job(jobs),), memory=_pending("tsystems", 5, NOW - 60))
    assert ups(decide(state, policy, campaign(clusters=("tsystems",)), NOW)) == expected


def test_restart_does_not_provision_twice(policy):
    c = campaign(clusters=("tsystems",))
    first = step(ObservedState(idle=(job(40),)), policy, c, NOW)
    assert ups(first.actions) == {"tsystems": 5}
    persisted = ControllerMemory.from_json(json.loads(json.dumps(first.memory.to_json())))
    again = step(ObservedState(idle=(job(40),), memory=persisted), policy, c, NOW + 60)
    assert ups(again.actions) == {}
    assert again.nodes == {"tsystems": 5}


def test_backoff_after_requests_never_register(policy):
    c = campaign(clusters=("tsystems",))
    # tsystems provisions in 300 s, grace 600 s: a request older than 900 s failed.
    state = ObservedState(idle=(job(40),), memory=_pending("tsystems", 2, NOW - 901))
    d = step(state, policy, c, NOW)
    kinds = [type(a) for a in d.actions]
    assert kinds == [Cancel, BackOff]
    backoff = d.actions[1]
    assert backoff.failures == 2 and backoff.until == NOW + 300 * 2  # base 300 s x 2^(2-1)
    assert ups(d.actions) == {}  # no new nodes while backing off
    later = step(replace(state, memory=d.memory), policy, c, NOW + 599)
    assert ups(later.actions) == {}
    after = step(replace(state, memory=later.memory), policy, c, NOW + 601)
    assert ups(after.actions) == {"tsystems": 1}  # probe: one unproven node at a time
    assert "probing" in after.limits["tsystems"]
    # the probe registers and lives past youngSeconds (600 s): failures reset, full demand resumes
    probe = (Worker("probe", "tsystems", 8),)
    slot = (pslot("tsystems", "probe", 8, 32000, cloud=True),)
    seen = step(replace(state, workers=probe, slots=slot, memory=after.memory), policy, c, NOW + 900)
    assert ups(seen.actions) == {}  # still unproven
    lived = step(replace(state, workers=probe, slots=slot, memory=seen.memory), policy, c, NOW + 1501)
    assert lived.memory.cluster("tsystems").failures == 0
    assert ups(lived.actions) == {"tsystems": 4}  # the probe's slot takes 8 of the 40 jobs: 32 / 8


def test_backoff_after_workers_die_young(policy):
    c = campaign(clusters=("tsystems",))
    mem = ControllerMemory(
        clusters={
            "tsystems": ClusterMemory(
                target_nodes=1,
                workers={"ts-1": WorkerMemory(first_seen=NOW - 120)},
                failures=2,
                backoff_until=NOW - 1,
            )
        }
    )
    # ts-1 registered 120 s ago and is gone (youngSeconds 600): third failure -> 300 x 2^2 = 1200 s.
    d = step(ObservedState(idle=(job(40),), memory=mem), policy, c, NOW)
    assert [type(a) for a in d.actions] == [BackOff]
    assert d.actions[0].until == NOW + 1200 and d.actions[0].failures == 3
    assert "vanished" in d.actions[0].reason


def test_backoff_is_capped_and_exponential(policy):
    c = campaign(clusters=("tsystems",))
    until = []
    mem = ControllerMemory()
    t = NOW
    for i in range(8):  # every tick one fresh worker that vanishes 10 s later
        t += 100000
        seen = step(
            ObservedState(workers=(Worker(f"w{i}", "tsystems", 8),), memory=mem), policy, c, t - 10
        ).memory
        d = step(ObservedState(memory=seen), policy, c, t)
        until.append(d.memory.cluster("tsystems").backoff_until - t)
        mem = d.memory
    assert until == [300, 600, 1200, 2400, 4800, 9600, 19200, 21600]


def test_worker_that_lives_resets_failures(policy):
    c = campaign(clusters=("tsystems",))
    mem = ControllerMemory(
        clusters={
            "tsystems": ClusterMemory(
                target_nodes=1, workers={"ts-1": WorkerMemory(first_seen=NOW - 700)}, failures=3
            )
        }
    )
    d = step(
        ObservedState(workers=(Worker("ts-1", "tsystems", 8, 8, 8, "busy"),), memory=mem), policy, c, NOW
    )
    assert d.memory.cluster("tsystems").failures == 0


def _mem_with(workers: dict[str, float], **kw) -> ControllerMemory:
    return ControllerMemory(
        clusters={
            "tsystems": ClusterMemory(
                target_nodes=len(workers),
                workers={n: WorkerMemory(first_seen=NOW - 5000, idle_since=s) for n, s in workers.items()},
                **kw,
            )
        }
    )


def test_idle_workers_removed_after_idle_seconds_busy_never(policy):
    c = campaign(clusters=("tsystems",))
    workers = (
        Worker("idle-long", "tsystems", 8),
        Worker("idle-short", "tsystems", 8),
        Worker("busy", "tsystems", 8, 8, 4, "busy"),
    )
    mem = _mem_with({"idle-long": NOW - 901, "idle-short": NOW - 100, "busy": None})
    d = step(ObservedState(workers=workers, memory=mem), policy, c, NOW)
    removes = [a for a in d.actions if isinstance(a, Remove)]
    assert [r.workers for r in removes] == [("idle-long",)]
    assert removes[0].target_nodes == 2


def _wind_down_sequence(policy, drain_mode: str):
    """Lease over: an idle and a busy worker; then the busy one finishes draining."""
    from condorfed.core.burst import ScaleDown

    c = campaign(
        clusters=("tsystems",),
        scale_down=ScaleDown(idle_seconds=900, drain=drain_mode, drain_deadline_seconds=3600),
    )
    end = c.end + 1
    mem = _mem_with({"idle": end - 10, "busy": None}, pending=(end - 30,))
    mem = replace(mem, clusters={"tsystems": replace(mem.cluster("tsystems"), target_nodes=3)})
    tick1 = step(
        ObservedState(
            workers=(Worker("idle", "tsystems", 8), Worker("busy", "tsystems", 8, 8, 8, "busy")), memory=mem
        ),
        policy,
        c,
        end,
    )
    tick2 = step(
        ObservedState(workers=(Worker("busy", "tsystems", 8, 0, 0, "drained"),), memory=tick1.memory),
        policy,
        c,
        end + 600,
    )
    return tick1, tick2


def test_lease_expiry_graceful_drains_before_removal(policy):
    tick1, tick2 = _wind_down_sequence(policy, "graceful")
    assert tick1.phase == "winding-down"
    assert [type(a) for a in tick1.actions] == [Cancel, Drain, Remove]
    drain, remove = tick1.actions[1], tick1.actions[2]
    assert (
        drain.workers == ("busy",)
        and drain.how == "graceful"
        and drain.deadline == tick1.memory.last_tick + 3600
    )
    assert remove.workers == ("idle",)  # never the busy one
    assert [(type(a), a.workers) for a in tick2.actions] == [(Remove, ("busy",))]
    assert tick2.nodes == {"tsystems": 0}


def test_lease_expiry_force_evicts_and_removes(policy):
    tick1, _ = _wind_down_sequence(policy, "force")
    assert [type(a) for a in tick1.actions] == [Cancel, Drain, Remove]
    assert tick1.actions[1].how == "fast" and tick1.actions[1].workers == ("busy",)
    assert tick1.actions[2].workers == ("busy", "idle")
    assert tick1.nodes == {"tsystems": 0}


def test_graceful_drain_escalates_to_fast_after_deadline(policy):
    from condorfed.core.burst import ScaleDown

    c = campaign(clusters=("tsystems",), scale_down=ScaleDown(drain="graceful", drain_deadline_seconds=3600))
    mem = ControllerMemory(
        clusters={
            "tsystems": ClusterMemory(
                target_nodes=1, workers={"b": WorkerMemory(first_seen=0, drain_started=c.end)}
            )
        }
    )
    draining = (Worker("b", "tsystems", 8, 8, 8, "draining"),)
    early = step(ObservedState(workers=draining, memory=mem), policy, c, c.end + 3599)
    assert early.actions == ()
    late = step(ObservedState(workers=draining, memory=early.memory), policy, c, c.end + 3600)
    assert [(type(a), a.how) for a in late.actions] == [(Drain, "fast")]
    assert not any(isinstance(a, Remove) for a in late.actions)  # still running: not removed yet
    again = step(ObservedState(workers=draining, memory=late.memory), policy, c, c.end + 3700)
    assert again.actions == ()  # the fast drain is sent once


def test_stop_winds_down(policy):
    mem = replace(_mem_with({"idle": NOW - 10}), stopped=True)
    d = step(
        ObservedState(idle=(job(100),), workers=(Worker("idle", "tsystems", 8),), memory=mem),
        policy,
        campaign(clusters=("tsystems",)),
        NOW,
    )
    assert d.phase == "winding-down"
    assert [type(a) for a in d.actions] == [Remove]


def test_before_start_nothing_is_requested(policy):
    d = step(ObservedState(idle=(job(100),)), policy, campaign(), T0 - 1)
    assert d.phase == "waiting" and d.actions == ()


def test_spend_accrues_for_held_nodes(policy):
    # 5 tsystems nodes (8 cores x 0.01 = 0.08/h each, 0.4/h) held for 10 minutes: 0.4 / 6.
    mem = replace(_pending("tsystems", 5, NOW), last_tick=NOW)
    d = step(ObservedState(idle=(job(40),), memory=mem), policy, campaign(clusters=("tsystems",)), NOW + 600)
    assert d.memory.spent == pytest.approx(0.4 / 6)
    assert d.burn_rate == pytest.approx(0.4)


def test_budget_spent_winds_down(policy):
    mem = replace(_pending("tsystems", 2, NOW), spent=100.0)
    d = step(
        ObservedState(idle=(job(40),), memory=mem),
        policy,
        campaign(clusters=("tsystems",), budget=100.0),
        NOW,
    )
    assert d.phase == "winding-down"
    assert [type(a) for a in d.actions] == [Cancel]


def test_mixed_queue_most_constrained_first(policy):
    # Room: exoscale 20 nodes, tsystems 100, gcp 10. Placed most constrained first:
    # tpu (gcp only): 30 jobs / 8 = 3.75 gcp nodes; GPU (prefer exoscale; only it has GPUs): 7 nodes;
    # 500 CPU jobs tied over the three at 1/3 each = 166.67: gcp holds 6.25 x 8 = 50, the other
    # 116.67 split again: exoscale holds 13 x 16 = 208, the rest (242) goes to tsystems = 30.25 nodes.
    state = ObservedState(idle=(job(500), job(7, gpus=1), job(30, group="tpu")))
    c = campaign(clusters=("exoscale", "tsystems", "gcp"), groups=(), ramp_up=RampUp(1000))
    d = step(state, policy, c, NOW)
    assert d.demand.clusters["gcp"].jobs == pytest.approx(80)
    assert d.demand.clusters["exoscale"].jobs == pytest.approx(215)
    assert d.demand.clusters["tsystems"].jobs == pytest.approx(242)
    assert d.demand.overflow_jobs == pytest.approx(0)
    assert ups(d.actions) == {"exoscale": 20, "tsystems": 31, "gcp": 10}


def test_decide_is_deterministic(policy):
    state = ObservedState(idle=(job(500), job(7, gpus=1), job(30, group="tpu")))
    c = campaign(clusters=("exoscale", "tsystems", "gcp"), groups=())
    assert decide(state, policy, c, NOW) == decide(state, policy, c, NOW)


def test_campaign_window_uses_days(policy):
    assert campaign().end - campaign().start == 10 * DAY


@pytest.mark.parametrize(
    ("jobs", "expected"),
    [
        # gcp: 8 cores/node, maxCores 80 = 10 nodes; 6 nodes provisioning.
        pytest.param(64, {"gcp": 2}, id="near-cap-64-jobs-8-nodes-6-pending"),
        pytest.param(200, {"gcp": 4}, id="near-cap-200-jobs-capped-at-10-nodes"),
        pytest.param(40, {}, id="near-cap-40-jobs-absorbed-by-pending"),
    ],
)
def test_pending_counts_once_against_the_cluster_cap(policy, jobs, expected):
    state = ObservedState(idle=(job(jobs, group="tpu"),), memory=_pending("gcp", 6, NOW - 60))
    d = step(state, policy, campaign(clusters=("gcp",), groups=(), ramp_up=RampUp(100)), NOW)
    assert ups(d.actions) == expected
    assert d.nodes["gcp"] <= 10


@pytest.mark.parametrize(
    ("running", "expected_jobs", "expected_nodes"),
    [
        pytest.param(0, 16, {"tsystems": 2}, id="quota-16-nothing-running"),
        pytest.param(8, 8, {"tsystems": 1}, id="quota-16-eight-running-elsewhere"),
        pytest.param(16, 0, {}, id="quota-16-at-quota-no-cloud"),
    ],
)
def test_static_group_quota_limits_demand(running, expected_jobs, expected_nodes):
    """Fair share is part of the cycle: a group capped at 16 cores (static quota, no surplus)
    asks for what its quota leaves, counting the cores it already runs (the accountant's usage),
    not for its whole queue."""
    import yaml
    from burst_helpers import FEDERATION_YAML

    from condorfed.core.burst import BurstPolicy
    from condorfed.core.fairshare import SubmitterUsage, UsageState
    from condorfed.core.federation.model import parse_federation

    doc = yaml.safe_load(FEDERATION_YAML)
    doc["fairshare"] = {"groups": {"atlas": {"quota": 16, "acceptSurplus": False}, "cms": {"quota": 0.5}}}
    policy = BurstPolicy.from_federation(parse_federation(doc, "federation.yaml"))
    usage = UsageState(
        time=NOW, submitters={"atlas.alice": SubmitterUsage(priority=10.0, resources_used=running)}
    )
    d = step(ObservedState(idle=(job(100),), usage=usage), policy, campaign(clusters=("tsystems",)), NOW)
    assert d.demand.clusters["tsystems"].jobs == pytest.approx(expected_jobs)
    assert d.demand.unplaceable_jobs == 100 - expected_jobs
    assert ups(d.actions) == expected_nodes


def test_budget_spent_during_a_graceful_drain_evicts(policy):
    """The lease ended, drains are graceful, and the budget runs out while jobs retire: evict."""
    from condorfed.core.burst import ScaleDown

    c = campaign(
        clusters=("tsystems",),
        budget=100.0,
        scale_down=ScaleDown(drain="graceful", drain_deadline_seconds=86400),
    )
    busy = (Worker("b", "tsystems", 8, 8, 8, "draining"),)
    mem = ControllerMemory(
        spent=99.0,
        last_tick=c.end + 60,
        clusters={
            "tsystems": ClusterMemory(
                target_nodes=1, workers={"b": WorkerMemory(first_seen=0, drain_started=c.end)}
            )
        },
    )
    under = step(ObservedState(workers=busy, memory=mem), policy, c, c.end + 120)
    assert under.actions == ()  # 99.0 + 0.08/h x 1 min: still within budget, keep retiring
    over = step(ObservedState(workers=busy, memory=replace(mem, spent=100.0)), policy, c, c.end + 120)
    assert [(type(a), a.how) for a in over.actions] == [(Drain, "fast")]
    assert "budget spent" in over.actions[0].reason
    assert not any(isinstance(a, Remove) for a in over.actions)  # removed once drained, not before
