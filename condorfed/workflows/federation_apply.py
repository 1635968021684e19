"""Decide first, then act once: diff rendered objects against the live ones, then apply what differs.

:func:`plan` only reads (GET per object); :func:`execute` server-side-applies the objects the plan marks
``create`` or ``update``, in order, and on failure deletes again what it created in this run, so a failed
first `join` leaves nothing behind. A re-run after success plans ``unchanged`` for every object and sends
no write at all.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from condorfed.adapters.kube import ClusterClient, object_ref
from condorfed.errors import ClusterError

Action = Literal["create", "update", "unchanged", "delete", "absent"]


@dataclass(frozen=True)
class Change:
    """One object's fate in a plan, for people (tables) and machines (--json)."""

    context: str
    object: str
    action: Action

    def to_json(self) -> dict[str, str]:
        return {"context": self.context, "object": self.object, "action": self.action}


@dataclass(frozen=True)
class Step:
    obj: Mapping[str, Any]
    change: Change


def plan(client: ClusterClient, objects: Sequence[Mapping[str, Any]]) -> list[Step]:
    """For each object: ``create`` if absent, ``unchanged`` if the live object already holds every
    rendered field, else ``update``."""
    steps = []
    for obj in objects:
        meta = obj["metadata"]
        live = client.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        if live is None:
            action: Action = "create"
        elif _contains(live, _normalized(obj)):
            action = "unchanged"
        else:
            action = "update"
        steps.append(Step(obj, Change(client.context, object_ref(obj), action)))
    return steps


def dry_run(client: ClusterClient, steps: Sequence[Step], *, what: str) -> None:
    """Send the plan's writes as server-side dry runs (validation, admission, RBAC), before any write.

    Objects in a namespace that does not exist yet cannot be dry-run (the server answers 404); they are
    left to :func:`execute`, whose rollback covers them.
    """
    new_namespaces = {
        s.obj["metadata"]["name"]
        for s in steps
        if s.obj["kind"] == "Namespace" and s.change.action == "create"
    }
    for step in steps:
        if step.change.action not in ("create", "update"):
            continue
        if step.obj["metadata"].get("namespace") in new_namespaces:
            continue
        try:
            client.apply(step.obj, dry_run=True)
        except ClusterError as exc:
            raise ClusterError(f"{what} refused in a dry run, nothing was written: {exc}") from None


def execute(client: ClusterClient, steps: Sequence[Step], *, what: str) -> list[Change]:
    """Apply the plan's writes in order; on failure undo this run's creations and raise one line."""
    created: list[Mapping[str, Any]] = []
    for i, step in enumerate(steps):
        if step.change.action not in ("create", "update"):
            continue
        try:
            client.apply(step.obj)
        except ClusterError as exc:
            undo = rollback(client, created)
            done = sum(1 for s in steps[:i] if s.change.action in ("create", "update"))
            raise ClusterError(f"{what} stopped after {done} object(s): {exc}; {undo}") from None
        if step.change.action == "create":
            created.append(step.obj)
    return [s.change for s in steps]


def rollback(client: ClusterClient, created: Sequence[Mapping[str, Any]]) -> str:
    """Delete, newest first, the objects this run created; say whether that worked."""
    if not created:
        return "nothing had been created"
    left = []
    for obj in reversed(created):
        meta = obj["metadata"]
        try:
            client.delete(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        except ClusterError:
            left.append(object_ref(obj))
    if left:
        return f"could not roll back {len(left)} object(s) ({', '.join(left[:3])}): re-run it or unjoin"
    return f"rolled back the {len(created)} object(s) it had created"


def _normalized(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What the API server would store: Secret ``stringData`` folded into base64 ``data``."""
    out = dict(obj)
    if obj.get("kind") == "Secret" and obj.get("stringData"):
        data = dict(out.get("data") or {})
        for k, v in out.pop("stringData").items():
            data[k] = base64.b64encode(str(v).encode()).decode()
        out["data"] = data
    return out


# Maps whose values are resource quantities, which API servers store in canonical form (1024Mi -> 1Gi).
_QUANTITY_MAPS = frozenset({"requests", "limits", "capacity", "allocatable", "hard"})
_SUFFIXES = {"m": Decimal("0.001"), "": Decimal(1)}
_SUFFIXES.update({s: Decimal(10) ** (3 * i) for i, s in enumerate("kMGTPE", start=1)})
_SUFFIXES.update({s + "i": Decimal(2) ** (10 * i) for i, s in enumerate("KMGTPE", start=1)})
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")


def quantity(value: Any) -> Decimal | None:
    """A Kubernetes resource quantity as a number (None when it is not one)."""
    m = _QUANTITY.match(str(value))
    return None if m is None else Decimal(m.group(1)) * _SUFFIXES[m.group(2) or ""]


def _contains(live: Any, desired: Any, quantities: bool = False) -> bool:
    """True when every field of ``desired`` is in ``live`` with the same value (live may hold more:
    defaults, status, server metadata). Under ``resources.requests``/``limits`` and the like, quantities
    are compared by value."""
    if isinstance(desired, Mapping):
        if not isinstance(live, Mapping):
            return False
        return all(
            _contains(live[k], v, quantities or k in _QUANTITY_MAPS)
            if k in live
            else v in (None, {}, [], "")  # the server drops empties
            for k, v in desired.items()
            if k != "status"
        )
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(live) == len(desired)
            and all(_contains(a, b) for a, b in zip(live, desired, strict=True))
        )
    if isinstance(desired, bool) or isinstance(live, bool):
        return desired is live
    if quantities and quantity(desired) is not None:
        return quantity(desired) == quantity(live)
    if isinstance(desired, int | float) and isinstance(live, int | float):
        return float(desired) == float(live)
    return bool(desired == live)
