"""Observe a member cluster's Kubernetes side: the ``condorfed-startd`` DaemonSet and its Nodes.

Reads, never writes. One :class:`~condorfed.core.burst.members.MemberObservation` per member
cluster: the DaemonSet's ``desiredNumberScheduled``/``numberReady`` and the Nodes its
nodeSelector picks (all Nodes when it has none, or when the DaemonSet is missing), with the
Ready condition, ``spec.unschedulable`` and ``creationTimestamp``. A cluster whose API server
does not answer (or whose context cannot be loaded) is ``reachable=False``: the controller
goes on with the other clusters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from condorfed.core.burst.members import MemberObservation, NodeState
from condorfed.core.render.options import DEFAULT_NAMESPACE, STARTD_NAME
from condorfed.errors import ClusterError


def _epoch(stamp: object) -> float | None:
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def node_state(node: Mapping[str, Any]) -> NodeState:
    """A Node object as :class:`NodeState` (Ready only when its Ready condition is ``True``)."""
    meta = node.get("metadata") or {}
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    return NodeState(
        name=str(meta.get("name", "")),
        ready=ready,
        unschedulable=bool((node.get("spec") or {}).get("unschedulable", False)),
        created_at=_epoch(meta.get("creationTimestamp")),
    )


def observe_member(
    client: Any, cluster: str, namespace: str = DEFAULT_NAMESPACE, daemonset: str = STARTD_NAME
) -> MemberObservation:
    """One member cluster through a :class:`condorfed.adapters.kube.KubeClient` (or any ``get``/``list``)."""
    try:
        ds = client.get("apps/v1", "DaemonSet", daemonset, namespace)
        selector: Mapping[str, str] = {}
        desired = ready = None
        if ds is not None:
            selector = ((ds.get("spec") or {}).get("template") or {}).get("spec", {}).get(
                "nodeSelector"
            ) or {}
            status = ds.get("status") or {}
            desired = int(status.get("desiredNumberScheduled", 0))
            ready = int(status.get("numberReady", 0))
        label_selector = ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or None
        nodes = client.list("v1", "Node", label_selector=label_selector)
    except ClusterError as exc:
        return MemberObservation(cluster, reachable=False, error=str(exc))
    states = tuple(sorted((node_state(n) for n in nodes), key=lambda n: n.name))
    return MemberObservation(cluster, True, desired, ready, states)


def observe_members(
    contexts: Iterable[tuple[str, str | None]],
    connect: Callable[[str | None], Any],
    namespace: str = DEFAULT_NAMESPACE,
) -> tuple[MemberObservation, ...]:
    """Observe each ``(cluster, context)``; clusters without a context are skipped (offline runs)."""
    out = []
    for cluster, context in contexts:
        if not context:
            continue
        try:
            client = connect(context)
        except ClusterError as exc:
            out.append(MemberObservation(cluster, reachable=False, error=str(exc)))
            continue
        out.append(observe_member(client, cluster, namespace))
    return tuple(out)
