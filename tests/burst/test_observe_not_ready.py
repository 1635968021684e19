"""Slots on Nodes a member cluster reports NotReady are not free capacity (#6 leftover).

Oracle: a NotReady node's startd cannot start jobs, but its ads stay in the collector until they
expire; the controller must see the capacity gone at once (and scale up for the jobs it was
counted for), while still holding the node as a worker it pays for.
"""

from __future__ import annotations

import pytest
from burst_helpers import T0, campaign, job, pslot

from condorfed.adapters.campaign_state import MemoryStateStore
from condorfed.adapters.htcondor_collector import StaticStartdReader
from condorfed.core.burst import ControllerMemory, ScaleUp
from condorfed.core.burst.members import MemberObservation, NodeState
from condorfed.core.classads import Ad
from condorfed.workflows.campaign import BurstController, StaticJobReader, slots_on_ready_nodes

NOW = T0 + 3600


def node(name: str, ready: bool) -> NodeState:
    return NodeState(name, ready=ready, created_at=T0)


def slot(cluster: str, name: str, **extra) -> Ad:
    return pslot(cluster, name, 8, 32000, cloud=True, **extra)


def names(slots) -> list[str]:
    return [s["Name"] for s in slots]


DOWN = MemberObservation("tsystems", nodes=(node("w1", True), node("w2", False)))


@pytest.mark.parametrize(
    ("slots", "members", "kept"),
    [
        ([slot("tsystems", "w1", K8sNodeName="w1"), slot("tsystems", "w2", K8sNodeName="w2")], [DOWN],
         ["slot1@w1"]),
        # The node attribute wins over Machine (host name and node name may differ).
        ([slot("tsystems", "host-b.example.org", K8sNodeName="w2")], [DOWN], []),
        ([slot("tsystems", "w2.example.org", K8sNodeName="w1")], [DOWN], ["slot1@w2.example.org"]),
        # Older startds without K8sNodeName: Machine, or its first label.
        ([slot("tsystems", "w2.example.org"), slot("tsystems", "w1.example.org")], [DOWN],
         ["slot1@w1.example.org"]),
        # Claimed dynamic slots on the NotReady node go too (they run nothing now).
        ([slot("tsystems", "w2", K8sNodeName="w2"),
          Ad(Name="slot1_1@w2", Machine="w2", K8sNodeName="w2", FedCluster="tsystems", DynamicSlot=True)],
         [DOWN], []),
        # Same node name in another cluster: not that cluster's NotReady node.
        ([slot("exoscale", "w2", K8sNodeName="w2")], [DOWN], ["slot1@w2"]),
        # A node the member does not list, an unreachable member, no observation: kept.
        ([slot("tsystems", "w9", K8sNodeName="w9")], [DOWN], ["slot1@w9"]),
        ([slot("tsystems", "w2", K8sNodeName="w2")], [MemberObservation("tsystems", reachable=False)],
         ["slot1@w2"]),
        ([slot("tsystems", "w2", K8sNodeName="w2")], [], ["slot1@w2"]),
    ],
    ids=["node-attr", "node-attr-over-machine", "machine-ignored-when-node-attr", "machine-fallback",
         "dynamic-slots", "other-cluster", "unlisted-node", "unreachable-member", "not-observed"],
)  # fmt: skip
def test_slots_on_not_ready_nodes_are_dropped(slots, members, kept):
    assert names(slots_on_ready_nodes(slots, members)) == kept


def controller(policy, jobs: int, members) -> BurstController:
    slots = [slot("tsystems", "w1", K8sNodeName="w1"), slot("tsystems", "w2", K8sNodeName="w2")]
    idle = []
    for i in range(jobs):
        ad = job().ad.copy()
        ad["ProcId"] = i
        idle.append(ad)
    return BurstController(
        policy,
        campaign(clusters=("tsystems",)),
        StaticJobReader(idle),
        StaticStartdReader(slots),
        MemoryStateStore(),
        None,  # dry run: decisions only
        members=None if members is None else (lambda: members),
    )


def test_a_not_ready_node_is_no_capacity_but_still_a_worker(policy):
    # 16 one-core jobs, two idle 8-core workers: enough while both nodes are Ready.
    ready = MemberObservation("tsystems", nodes=(node("w1", True), node("w2", True)))
    for members in (None, (ready,)):
        decision = controller(policy, 16, members).tick(NOW)
        assert not [a for a in decision.actions if isinstance(a, ScaleUp)]
    # w2 goes NotReady: its 8 cores are not free capacity any more, so one more node is asked for.
    c = controller(policy, 16, (DOWN,))
    state = c.observe(ControllerMemory(), NOW)
    assert names(state.slots) == ["slot1@w1"]
    assert [w.name for w in state.workers] == ["w1", "w2"]  # still held (and paid for)
    ups = [a for a in c.tick(NOW).actions if isinstance(a, ScaleUp)]
    assert [(a.cluster, a.nodes, a.target_nodes) for a in ups] == [("tsystems", 1, 3)]  # 2 held + 1 new
