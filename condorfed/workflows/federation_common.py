"""What the federation workflows share: how to reach clusters, the clock, the apply order, the registry."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from condorfed.adapters.kube import ClusterClient, KubeClient, RetryPolicy, connect
from condorfed.errors import ClusterError
from condorfed.workflows.federation_registry import Registry, read_registry

# Apply order: what others refer to first (namespace, identities, config), workloads last.
_KIND_ORDER = {
    k: i
    for i, k in enumerate(
        (
            "Namespace",
            "PriorityClass",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "Role",
            "RoleBinding",
            "Secret",
            "ConfigMap",
            "PersistentVolumeClaim",
            "Service",
            "PodDisruptionBudget",
            "StatefulSet",
            "Deployment",
            "DaemonSet",
        )
    )
}


def ordered(objects: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Objects in apply order (a stable sort, so the renderer's order holds within a kind)."""
    return sorted(objects, key=lambda o: _KIND_ORDER.get(o.get("kind", ""), len(_KIND_ORDER)))


def deletion_order(objects: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The reverse: workloads first, the Namespace last."""
    return sorted(objects, key=lambda o: -_KIND_ORDER.get(o.get("kind", ""), len(_KIND_ORDER)))


@dataclass(frozen=True)
class Connector:
    """How to reach clusters: the kubeconfig, request timeout and retries; ``probe_timeout`` bounds how
    long `status` (and `unjoin --force`) wait for a member that may be down."""

    kubeconfig: str | None = None
    timeout: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    probe_timeout: float = 3.0
    sleep: Callable[[float], None] = time.sleep

    def connect(self, context: str | None) -> KubeClient:
        return connect(context, self.kubeconfig, timeout=self.timeout, retry=self.retry, sleep=self.sleep)

    def probe(self, context: str | None) -> KubeClient:
        once = RetryPolicy(attempts=1, deadline=self.probe_timeout * 2)
        return connect(context, self.kubeconfig, timeout=self.probe_timeout, retry=once, sleep=self.sleep)


@dataclass(frozen=True)
class Effects:
    """The clock and randomness the workflows use, injectable for tests."""

    now: Callable[[], float] = time.time
    random_bytes: Callable[[int], bytes] = os.urandom
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic


def require_registry(host: ClusterClient, namespace: str) -> Registry:
    registry = read_registry(host, namespace)
    if registry is None or not registry.init:
        raise ClusterError(
            f"context {host.context!r}: no federation in namespace {namespace!r}; "
            f"run condorfed init --host-context {host.context} first"
        )
    return registry


DEFAULT_CONNECTOR = Connector()
REAL_EFFECTS = Effects()
