"""Actuators: how a cluster's worker count changes, chosen per cluster in ``federation.yaml``.

- :class:`LabelActuator` (``kind: labels``): label or unlabel nodes that the startd DaemonSet's
  nodeSelector picks. For on-prem and fixed pools.
- :class:`NodePoolActuator` (``kind: nodepool``): run the cluster's resize command template
  (e.g. ``openstack coe nodegroup resize {cluster} {nodegroup} --node-count {nodes}``) as an
  argv list, never through a shell. Nodes to remove are cordoned first so nothing new lands.
- :class:`DeploymentActuator` (``kind: deployment``): set the startd Deployment's replicas; pods
  of removed workers get the lowest ``controller.kubernetes.io/pod-deletion-cost`` first, so the
  ReplicaSet deletes exactly those.

Every actuator takes absolute targets (``action.target_nodes``), so applying an action twice
changes nothing the second time. :class:`ActuatorSet` routes each action to its cluster's
actuator and drains through the :class:`~condorfed.core.burst.ports.Drainer`.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from condorfed.core.burst.actions import Action, BackOff, Cancel, Drain, Remove, ScaleUp, describe
from condorfed.core.burst.ports import Actuator, Drainer
from condorfed.errors import ClusterError

log = logging.getLogger(__name__)

DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"


def _selected(node: Mapping[str, Any], selector: Mapping[str, str]) -> bool:
    labels = (node.get("metadata") or {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


class LabelActuator:
    """Scale by labelling nodes for the startd DaemonSet (target = number of labelled nodes)."""

    def __init__(self, client: Any, cluster: str, selector: Mapping[str, str]) -> None:
        self.client, self.cluster, self.selector = client, cluster, dict(selector)

    def _nodes(self) -> list[dict]:
        return sorted(self.client.list("v1", "Node"), key=lambda n: n["metadata"]["name"])

    def _set(self, name: str, on: bool) -> None:
        self.client.label_node(name, {k: (v if on else None) for k, v in self.selector.items()})

    def apply(self, action: Action) -> None:
        nodes = self._nodes()
        labelled = [n["metadata"]["name"] for n in nodes if _selected(n, self.selector)]
        if isinstance(action, Remove):
            for name in action.workers:
                if name in labelled:
                    self._set(name, False)
            return
        if not isinstance(action, ScaleUp | Cancel):
            return
        target = action.target_nodes
        if len(labelled) < target:
            free = [
                n["metadata"]["name"]
                for n in nodes
                if not _selected(n, self.selector) and not (n.get("spec") or {}).get("unschedulable")
            ]
            if len(free) < target - len(labelled):
                more = target - len(labelled)
                log.warning("%s: only %d unlabelled nodes for %d more", self.cluster, len(free), more)
            for name in free[: target - len(labelled)]:
                self._set(name, True)
        elif len(labelled) > target:
            for name in reversed(labelled[target:]):
                self._set(name, False)


class NodePoolActuator:
    """Scale a cloud node pool with the cluster's command template (argv, no shell)."""

    def __init__(
        self,
        argv: Callable[[int], list[str]],
        cluster: str,
        *,
        client: Any = None,
        runner: Callable[..., Any] = subprocess.run,
        timeout: float = 900.0,
    ) -> None:
        self.argv, self.cluster, self.client = argv, cluster, client
        self.runner, self.timeout = runner, timeout

    def _resize(self, nodes: int) -> None:
        argv = self.argv(nodes)
        if not argv:
            raise ClusterError(f"cluster {self.cluster}: actuator.command is empty")
        try:
            done = self.runner(
                argv, shell=False, capture_output=True, text=True, timeout=self.timeout, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ClusterError(f"cluster {self.cluster}: {argv[0]} failed: {exc}") from None
        if done.returncode != 0:
            err = ((done.stderr or done.stdout or "").strip().splitlines() or ["no output"])[-1]
            raise ClusterError(f"cluster {self.cluster}: {argv[0]} exited {done.returncode}: {err}")

    def apply(self, action: Action) -> None:
        if isinstance(action, Remove) and self.client is not None:
            for name in action.workers:  # cordon: the pool shrinks, and nothing new lands on these
                self.client.merge_patch("v1", "Node", name, None, {"spec": {"unschedulable": True}})
        if isinstance(action, ScaleUp | Cancel | Remove):
            self._resize(action.target_nodes)


class DeploymentActuator:
    """Scale the startd Deployment; removed workers' pods are deleted first (pod-deletion-cost)."""

    def __init__(self, client: Any, cluster: str, namespace: str, deployment: str) -> None:
        self.client, self.cluster, self.namespace, self.deployment = client, cluster, namespace, deployment

    def apply(self, action: Action) -> None:
        if isinstance(action, Remove):
            for pod in action.workers:
                self.client.merge_patch(
                    "v1", "Pod", pod, self.namespace, {"metadata": {"annotations": {DELETION_COST: "-1000"}}}
                )
        if isinstance(action, ScaleUp | Cancel | Remove):
            self.client.scale_deployment(self.namespace, self.deployment, action.target_nodes)


def actuator_for(cluster: Any, client: Any, runner: Callable[..., Any] = subprocess.run) -> Actuator:
    """The actuator a federation cluster's ``actuator`` spec asks for."""
    spec = cluster.actuator
    if spec.kind == "labels":
        return LabelActuator(client, cluster.name, spec.node_selector)
    if spec.kind == "nodepool":
        return NodePoolActuator(lambda n: spec.argv(cluster, n), cluster.name, client=client, runner=runner)
    if spec.kind == "deployment":
        return DeploymentActuator(client, cluster.name, spec.namespace, spec.deployment)
    raise ClusterError(f"cluster {cluster.name}: unknown actuator kind {spec.kind!r}")


class ActuatorSet:
    """Apply actions in order: drains through HTCondor, the rest through each cluster's actuator."""

    def __init__(self, actuators: Mapping[str, Actuator], drainer: Drainer | None) -> None:
        self.actuators, self.drainer = dict(actuators), drainer

    def apply(self, actions: Sequence[Action]) -> None:
        for action in actions:
            log.info("%s", describe(action))
            if isinstance(action, BackOff):
                continue
            if isinstance(action, Drain):
                if self.drainer is None:
                    raise ClusterError(f"cluster {action.cluster}: no drainer for a {action.how} drain")
                self.drainer.drain(action.workers, action.how, action.reason)
                continue
            actuator = self.actuators.get(action.cluster)
            if actuator is None:
                raise ClusterError(f"cluster {action.cluster}: no actuator configured")
            actuator.apply(action)
