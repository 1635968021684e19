"""The burst controller's actions become simulated actuator actions, one for one."""

from __future__ import annotations

from condorfed.core.burst import actions as ba
from condorfed.core.burst.policy import BurstPolicy
from condorfed.sim.actions import Drain, NodeView, Provision, Remove, SimView
from condorfed.sim.burst import BurstController, _worker_state
from condorfed.sim.federation_view import ClusterSpec

C = ClusterSpec("c", True, 0, 4, 16000, 0, 0, 0.1, 60.0)


def node(i, state="ready", busy=0):
    return NodeView(i, f"c-{i:06d}", "c", state, 4, 16000, 0, busy, busy * 1000, 0.0, 0.0, None)


def test_translation():
    view = SimView(0.0, [C], [node(0, busy=2), node(1), node(2, "booting"), node(3, "booting")], [], 0, 0.0)
    ctl = BurstController(BurstPolicy(clusters={}), None, 0.0)
    out = ctl._translate(
        (
            ba.ScaleUp("c", 3, 5, "demand"),
            ba.Drain("c", ("c-000000",), "fast", 0.0, "lease"),
            ba.Drain("c", ("c-000001",), "graceful", 100.0, "lease"),
            ba.Remove("c", ("c-000001",), 1, "drained"),
            ba.Cancel("c", 1, 0, "never registered"),
            ba.BackOff("c", 600.0, 1, "died young"),
        ),
        view,
    )
    assert out == [
        Provision("c", 3, "demand"),
        Drain("c", (0,), "lease", remove_when_empty=False, evict=True),
        Drain("c", (1,), "lease", remove_when_empty=False, evict=False),
        Remove("c", (1,), "drained"),
        Remove("c", (3,), "never registered"),  # the newest booting node
    ]


def test_worker_states():
    assert [_worker_state(n) for n in (node(0), node(1, busy=1))] == ["idle", "busy"]
    assert [_worker_state(n) for n in (node(0, "draining"), node(1, "draining", busy=1))] == [
        "drained",
        "draining",
    ]
