"""decide()/step() with the member clusters' Kubernetes side: Ready Nodes whose startd never registered.

tsystems provisions in 300 s with registerGraceSeconds 600 s: without Kubernetes a request fails only
after 900 s. Two requests are pending since NOW - 700 (not expired); a Node created at NOW - 650 and
Ready for 650 s > 600 s with no startd in the collector answers one request as a failure now.
"""

from __future__ import annotations

import pytest
from burst_helpers import T0, campaign

from condorfed.core.burst import BackOff, Cancel, ClusterMemory, ControllerMemory, ObservedState, Worker, step
from condorfed.core.burst.members import MemberObservation, NodeState

NOW = T0 + 3600.0
REQUESTED = NOW - 700


def _node(name="ts-node-1", ready=True, unschedulable=False, age=650.0):
    return NodeState(name, ready, unschedulable, NOW - age)


def _state(member, workers=()):
    mem = ControllerMemory(clusters={"tsystems": ClusterMemory(target_nodes=2, pending=(REQUESTED,) * 2)})
    # no idle jobs: the pending requests are not topped up, so they show what reconciling did
    return ObservedState(workers=workers, memory=mem, members=(member,) if member else ())


@pytest.mark.parametrize(
    ("member", "workers", "failures", "pending"),
    [
        pytest.param(
            MemberObservation("tsystems", nodes=(_node(),)), (), 1, 1, id="ready-unregistered-fails-early"
        ),
        pytest.param(
            MemberObservation("tsystems", nodes=(_node("a"), _node("b", age=640))),
            (),
            2,
            0,
            id="two-ready-unregistered-nodes-two-failures",
        ),
        pytest.param(None, (), 0, 2, id="no-kubernetes-observation-waits-for-expiry"),
        pytest.param(
            MemberObservation("tsystems", reachable=False), (), 0, 2, id="unreachable-member-ignored"
        ),
        pytest.param(
            MemberObservation("tsystems", nodes=(_node(ready=False),)),
            (),
            0,
            2,
            id="notready-node-not-counted",
        ),
        pytest.param(
            MemberObservation("tsystems", nodes=(_node(unschedulable=True),)),
            (),
            0,
            2,
            id="cordoned-node-not-counted",
        ),
        pytest.param(MemberObservation("tsystems", nodes=(_node(age=500),)), (), 0, 2, id="within-grace"),
        pytest.param(
            MemberObservation("tsystems", nodes=(_node(age=800),)), (), 0, 2, id="node-older-than-request"
        ),
        pytest.param(
            MemberObservation("tsystems", nodes=(_node(),)),
            (Worker("ts-node-1", "tsystems", 8),),
            0,
            1,
            id="registered-startd-answers-request",
        ),
        pytest.param(MemberObservation("exoscale", nodes=(_node(),)), (), 0, 2, id="other-cluster-node"),
    ],
)
def test_ready_node_without_startd_counts_as_never_registered(policy, member, workers, failures, pending):
    d = step(_state(member, workers), policy, campaign(clusters=("tsystems",)), NOW)
    mem = d.memory.cluster("tsystems")
    assert mem.failures == failures
    assert len(mem.pending) == pending
    kinds = [type(a) for a in d.actions if isinstance(a, Cancel | BackOff)]
    if failures:
        assert kinds == [Cancel, BackOff]
        assert d.actions[0].nodes == failures and "never registered" in d.actions[0].reason
        assert "ts-node-1" in d.actions[0].reason or failures == 2
        assert d.actions[1].until == NOW + 300 * 2 ** (failures - 1)  # base 300 s x 2^(n-1)
    else:
        assert kinds == []


def test_same_node_is_not_counted_twice(policy):
    """After the early failure the Node stays; it fails no further request."""
    c = campaign(clusters=("tsystems",))
    member = MemberObservation("tsystems", nodes=(_node(),))
    first = step(_state(member), policy, c, NOW)
    assert first.memory.cluster("tsystems").failures == 1
    again = step(ObservedState(memory=first.memory, members=(member,)), policy, c, NOW + 60)
    assert again.memory.cluster("tsystems").failures == 1
    assert len(again.memory.cluster("tsystems").pending) == 1


def test_counted_nodes_survive_a_restart(policy):
    """The persisted memory keeps the counted Nodes, so a restarted controller does not count them again."""
    first = step(_state(MemberObservation("tsystems", nodes=(_node(),))), policy, campaign(), NOW)
    restored = ControllerMemory.from_json(first.memory.to_json())
    assert restored.cluster("tsystems").unregistered == frozenset({"ts-node-1"})
    empty = ControllerMemory().with_cluster("x", ClusterMemory()).to_json()
    assert "unregistered" not in empty["clusters"]["x"]
    assert ControllerMemory.from_json(empty).cluster("x").unregistered == frozenset()
