"""The ports the burst controller's workflow needs; adapters implement them, tests fake them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from condorfed.core.burst.actions import Action
from condorfed.core.classads.values import Ad


@runtime_checkable
class JobReader(Protocol):
    """Idle and running jobs of the pool's schedds."""

    def idle_jobs(self) -> list[Ad]: ...

    def running_jobs(self) -> int: ...


@runtime_checkable
class Actuator(Protocol):
    """Carries out one action for one cluster (scale-up, cancel, remove). Raises a CondorfedError."""

    def apply(self, action: Action) -> None: ...


@runtime_checkable
class Drainer(Protocol):
    """Drains startds through HTCondor (``Startd.drainJobs``)."""

    def drain(self, workers: Sequence[str], how: str, reason: str) -> None: ...


@runtime_checkable
class StateStore(Protocol):
    """Where a campaign's controller memory and last decisions live (a ConfigMap on the host)."""

    def load(self) -> Mapping[str, Any] | None: ...

    def save(self, document: Mapping[str, Any]) -> None: ...
