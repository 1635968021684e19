"""What the burst controller decides: a list of actions, each with the reason it was taken.

Actions carry absolute targets (``target_nodes``) as well as the change, so that applying an
action twice (for example after a controller restart) does not provision twice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class ScaleUp:
    """Request ``nodes`` more worker nodes in ``cluster`` (its node count becomes ``target_nodes``)."""

    cluster: str
    nodes: int
    target_nodes: int
    reason: str
    kind: Literal["scale-up"] = "scale-up"


@dataclass(frozen=True)
class Drain:
    """Drain the startds of ``workers``: no new jobs; running ones finish by ``deadline``.

    ``how`` is HTCondor's drain type: ``graceful`` lets jobs use their retirement time, ``fast``
    evicts them at once (they go back to idle in the schedd and run again elsewhere).
    """

    cluster: str
    workers: tuple[str, ...]
    how: Literal["graceful", "fast"]
    deadline: float
    reason: str
    kind: Literal["drain"] = "drain"


@dataclass(frozen=True)
class Remove:
    """Delete the worker nodes ``workers`` (drained, idle, or abandoned after a forced lease end)."""

    cluster: str
    workers: tuple[str, ...]
    target_nodes: int
    reason: str
    kind: Literal["remove"] = "remove"


@dataclass(frozen=True)
class Cancel:
    """Give up ``nodes`` requested nodes that never registered a startd (shrink to ``target_nodes``)."""

    cluster: str
    nodes: int
    target_nodes: int
    reason: str
    kind: Literal["cancel"] = "cancel"


@dataclass(frozen=True)
class BackOff:
    """No new nodes for ``cluster`` until ``until``: its recent workers failed. Nothing to actuate."""

    cluster: str
    until: float
    failures: int
    reason: str
    kind: Literal["backoff"] = "backoff"


Action = ScaleUp | Drain | Remove | Cancel | BackOff

ACTION_KINDS: tuple[str, ...] = ("scale-up", "drain", "remove", "cancel", "backoff")


def action_to_json(action: Action) -> dict[str, Any]:
    data = asdict(action)
    if "workers" in data:
        data["workers"] = list(data["workers"])
    return data


def describe(action: Action) -> str:
    """One log line for an action: ``kind cluster change: reason``."""
    if isinstance(action, ScaleUp):
        what = f"+{action.nodes} node(s) -> {action.target_nodes}"
    elif isinstance(action, Drain):
        what = f"{len(action.workers)} worker(s) ({action.how})"
    elif isinstance(action, Remove):
        what = f"{len(action.workers)} worker(s) -> {action.target_nodes}"
    elif isinstance(action, Cancel):
        what = f"-{action.nodes} request(s) -> {action.target_nodes}"
    else:
        what = f"{action.failures} failure(s)"
    return f"{action.kind} {action.cluster} {what}: {action.reason}"
