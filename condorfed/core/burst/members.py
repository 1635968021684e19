"""What the controller sees of each member cluster's Kubernetes side (the startd DaemonSet, Nodes).

Source-agnostic like :class:`~condorfed.core.burst.state.ObservedState`: the live adapter
(:mod:`condorfed.adapters.kube_observe`) and tests build the same records. The decision uses it
for one thing the collector cannot show: a Node that has been Ready for a while but whose startd
never registered (a broken image or token) answers a pending request as a failure at once,
instead of after provisioningSeconds + registerGraceSeconds.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True)
class NodeState:
    """One Kubernetes Node: Ready condition, ``spec.unschedulable`` (cordoned), creation time (epoch s)."""

    name: str
    ready: bool
    unschedulable: bool = False
    created_at: float | None = None


@dataclass(frozen=True)
class MemberObservation:
    """One member cluster's startd DaemonSet status and the Nodes its nodeSelector picks.

    ``reachable=False`` means the API server did not answer: nothing else is known, and the
    decision treats the cluster as unobserved (never as "no nodes").
    """

    cluster: str
    reachable: bool = True
    daemonset_desired: int | None = None  # None: no startd DaemonSet found
    daemonset_ready: int | None = None
    nodes: tuple[NodeState, ...] = ()
    error: str = ""


def ready_unregistered(
    member: MemberObservation | None, registered: Collection[str], grace: float, now: float
) -> tuple[NodeState, ...]:
    """Schedulable Nodes Ready for longer than ``grace`` with no startd in the collector, oldest first."""
    if member is None or not member.reachable:
        return ()
    late = [
        n
        for n in member.nodes
        if n.ready
        and not n.unschedulable
        and n.created_at is not None
        and now - n.created_at > grace
        and n.name not in registered
    ]
    return tuple(sorted(late, key=lambda n: (n.created_at, n.name)))
