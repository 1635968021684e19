"""Each baseline controller's documented behaviour on tiny hand-made views."""

from __future__ import annotations

import pytest

from condorfed.core.classads.values import Ad
from condorfed.errors import SimulationError
from condorfed.sim.actions import DemandView, Drain, NodeView, Provision, Remove, SimView
from condorfed.sim.baselines import Cobald, GlideinWMS, OnPremOnly, Static, jobs_per_node, make_baseline
from condorfed.sim.federation_view import ClusterSpec

ONPREM = ClusterSpec("site", False, 2, 32, 64000, 0, 0)
A = ClusterSpec("a", True, 0, 4, 16000, 0, 0, 0.01, 60.0, 0.0, 8)  # max 2 nodes
B = ClusterSpec("b", True, 0, 8, 32000, 0, 0, 0.02, 60.0, 0.0, None)


def node(i, cluster, state="ready", cpus=4, busy=0, idle_since=None, requested=0.0):
    return NodeView(
        i,
        f"{cluster}-{i}",
        cluster,
        state,
        cpus,
        cpus * 4000,
        0,
        busy,
        busy * 1000,
        requested,
        0.0,
        idle_since,
    )


def demand(count, clusters, cpus=1, key=0):
    return DemandView(key, Ad(), "u@x", None, count, cpus, 1000, 0, 0, frozenset(clusters))


def view(nodes=(), idle=(), now=0.0, clusters=(ONPREM, A, B)):
    return SimView(now, list(clusters), list(nodes), list(idle), 0, 0.0)


def test_onprem_only_never_acts():
    assert OnPremOnly().decide(view(idle=[demand(1000, {"a", "b"})])) == []


def test_static_splits_round_robin_within_max_cores():
    s = Static(5)
    assert s.targets([ONPREM, A, B]) == {"a": 2, "b": 3}
    acts = s.decide(view())
    assert [(a.cluster, a.nodes) for a in acts] == [("a", 2), ("b", 3)]
    # once there, nothing more; a node lost to preemption is replaced
    have = [node(0, "a"), node(1, "a"), node(2, "b", cpus=8), node(3, "b", cpus=8)]
    assert [(a.cluster, a.nodes) for a in s.decide(view(have))] == [("b", 1)]


def test_static_rejects_negative():
    with pytest.raises(SimulationError):
        Static(-1)


def test_glideinwms_proportional_split_attenuation_and_shape():
    # 30 one-core jobs match both clouds: 15 each. a: 15 jobs / 4 per node = 3.75 nodes, / 3 -> 2.
    # b: 15 / 8 = 1.875 nodes, / 3 -> 1.
    acts = GlideinWMS().decide(view(idle=[demand(30, {"site", "a", "b"})]))
    assert [(type(a), a.cluster, a.nodes) for a in acts] == [(Provision, "a", 2), (Provision, "b", 1)]


def test_glideinwms_counts_booting_and_idle_workers_against_the_request():
    idle = [demand(30, {"a", "b"})]
    nodes = [node(0, "a", state="booting"), node(1, "a", busy=0, idle_since=0.0)]
    acts = GlideinWMS().decide(view(nodes, idle, now=10.0))
    assert [(a.cluster, a.nodes) for a in acts if isinstance(a, Provision)] == [("b", 1)]


def test_glideinwms_caps_idle_workers_at_100():
    acts = GlideinWMS().decide(view(idle=[demand(100_000, {"b"})]))
    assert [(a.cluster, a.nodes) for a in acts] == [("b", 100)]


def test_glideinwms_lowers_request_by_cancelling_booting_never_running():
    nodes = [
        node(0, "b", state="booting", cpus=8),
        node(1, "b", state="booting", cpus=8),
        node(2, "b", busy=8, cpus=8),
    ]
    acts = GlideinWMS().decide(view(nodes, idle=[]))
    assert acts == [Remove("b", (1, 0), "glideinwms: lower request")]


def test_glideinwms_idle_glideins_exit_after_timeout():
    nodes = [node(0, "a", idle_since=0.0), node(1, "a", idle_since=500.0), node(2, "a", busy=4)]
    acts = GlideinWMS().decide(view(nodes, now=1300.0))
    assert acts == [Remove("a", (0,), "glideinwms: glidein idle timeout")]


def test_glideinwms_ignores_jobs_no_cloud_can_run():
    assert GlideinWMS().decide(view(idle=[demand(50, {"site"})])) == []


def test_cobald_floor_then_grows_on_allocation_and_shrinks_on_utilisation():
    c = Cobald(rate=2)
    # empty cluster: demand starts at the floor of one node per cloud
    assert [(a.cluster, a.nodes) for a in c.decide(view(clusters=(A, B)))] == [("a", 1), ("b", 1)]
    # a fully allocated ready node: allocation 1.0 > 0.9 -> grow by 2 (capped by a's 2-node max)
    full = [node(0, "a", busy=4), node(1, "b", cpus=8, busy=8)]
    acts = c.decide(view(full, clusters=(A, B)))
    assert [(a.cluster, a.nodes) for a in acts] == [("a", 1), ("b", 2)]
    # utilisation 0.5 < 0.9: shrink by 2 -> floor 1; booting first, then idle, then drain busy
    nodes = [
        node(0, "b", cpus=8, busy=8),
        node(1, "b", cpus=8, busy=0),
        node(2, "b", state="booting", cpus=8),
    ]
    acts = Cobald(rate=2, demand={"b": 3}).decide(view(nodes, clusters=(B,)))
    assert acts == [Remove("b", (2, 1), "cobald: utilisation 0.50")]
    nodes = [node(0, "b", cpus=8, busy=4), node(1, "b", cpus=8, busy=4)]
    acts = Cobald(rate=1, demand={"b": 2}).decide(view(nodes, clusters=(B,)))
    assert acts == [Drain("b", (1,), "cobald: utilisation 0.50", remove_when_empty=True)]


def test_cobald_holds_while_only_booting():
    nodes = [node(0, "b", state="booting", cpus=8)]
    assert Cobald(demand={"b": 1}).decide(view(nodes, clusters=(B,))) == []


@pytest.mark.parametrize(
    "shape,req,expected",
    [
        ((8, 32000, 0), (1, 1000, 0), 8),
        ((8, 32000, 0), (2, 20000, 0), 1),
        ((8, 32000, 2), (1, 1000, 1), 2),
        ((8, 32000, 0), (1, 1000, 1), 0),
    ],
    ids=["cores", "memory", "gpus", "no-gpus"],
)
def test_jobs_per_node(shape, req, expected):
    c = ClusterSpec("x", True, 0, shape[0], shape[1], 0, shape[2])
    assert jobs_per_node(c, req[0], req[1], 0, req[2]) == expected


def test_make_baseline_unknown():
    with pytest.raises(SimulationError, match="unknown controller"):
        make_baseline("slurm")
