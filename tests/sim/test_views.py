"""What a controller sees: node views built per cluster on demand, and fresh at every tick."""

from __future__ import annotations

import pytest

from condorfed.sim import SimInputs, run_simulation
from condorfed.sim.actions import NodeView, NodeViews
from condorfed.sim.baselines import Static
from condorfed.sim.federation_view import ClusterSpec
from condorfed.sim.trace import TraceEntry


def _node(i: int, cluster: str) -> NodeView:
    return NodeView(i, f"{cluster}-{i}", cluster, "ready", 4, 16000, 0, 0, 0, 0.0, 0.0, 0.0)


def test_node_views_are_built_once_per_cluster_and_listed_in_id_order():
    built: list[str] = []

    def build(cluster: str) -> list[NodeView]:
        built.append(cluster)
        return {"a": [_node(0, "a"), _node(3, "a")], "b": [_node(1, "b"), _node(2, "b")]}[cluster]

    nodes = NodeViews(["a", "b"], build)
    assert [n.id for n in nodes.in_cluster("b")] == [1, 2]
    assert built == ["b"]  # only what was asked for
    assert [n.id for n in nodes] == [0, 1, 2, 3]
    assert len(nodes) == 4 and nodes[1].id == 1 and [n.id for n in nodes[2:]] == [2, 3]
    assert nodes.in_cluster("unknown") == []
    nodes.in_cluster("a")
    assert built == ["b", "a"]


class _Recorder:
    """Static cloud nodes, recording what the view shows at each controller tick."""

    name = "recorder"

    def __init__(self, cloud_nodes: int) -> None:
        self.static = Static(cloud_nodes)
        self.seen: dict[float, list[tuple]] = {}

    def decide(self, view):
        self.seen[view.now] = [(n.id, n.cluster, n.state, n.busy_cpus, n.idle_since) for n in view.nodes]
        assert [n.id for n in view.nodes_in("c")] == [n.id for n in view.nodes if n.cluster == "c"]
        return self.static.decide(view)


def test_views_follow_jobs_and_nodes_tick_by_tick(first_fit):
    # One 4-core on-prem node (id 0) runs 2 one-core jobs from t=0 to t=100; one 8-core cloud node
    # (id 1) is requested at the t=0 tick and boots in 90 s. Ticks every 60 s (after the cycle at the
    # same instant): at 0 and 60 the on-prem node has 2 cores busy; at 60 the cloud node boots; at 120 the
    # jobs are done (idle since 100) and the cloud node is ready, idle since 90; nothing changes later.
    clusters = [
        ClusterSpec("a", False, 1, 4, 16000, 0, 0),
        ClusterSpec("c", True, 0, 8, 32000, 0, 0, 0.5, 90.0, 0.0, None),
    ]
    trace = [TraceEntry(0.0, "u", 100.0, 1, 1000, 0, 0, None, 'TARGET.FedCluster == "a"', 2)]
    rec = _Recorder(1)
    run_simulation(SimInputs(clusters, trace, first_fit, rec, horizon=200.0))
    booting = (1, "c", "booting", 0, None)
    assert rec.seen == {
        0.0: [(0, "a", "ready", 2, None)],  # the cloud node is requested after this tick's view
        60.0: [(0, "a", "ready", 2, None), booting],
        120.0: [(0, "a", "ready", 0, pytest.approx(100.0)), (1, "c", "ready", 0, pytest.approx(90.0))],
        180.0: [(0, "a", "ready", 0, pytest.approx(100.0)), (1, "c", "ready", 0, pytest.approx(90.0))],
    }
