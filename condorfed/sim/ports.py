"""The simulator's ports: what it needs from the negotiation engine and from a controller.

The simulator never matches jobs to slots or computes fair share itself. It states demand at
the autocluster level (:class:`Demand`) and receives grants (:class:`Grant`) from a
:class:`Matchmaker`; :mod:`condorfed.sim.engine` implements it on
:mod:`condorfed.core.negotiation` and :mod:`condorfed.core.fairshare`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from condorfed.core.classads.values import Ad


@dataclass(frozen=True, slots=True)
class Demand:
    """``count`` idle jobs that share one job ad (one autocluster of the simulation)."""

    key: int
    ad: Ad
    submitter: str
    group: str | None
    count: int
    running: float = 0.0  # cores this autocluster already has running (counts toward group demand)


# Not frozen, though never changed: one per match a simulated cycle makes, and constructing a frozen
# dataclass costs about four times as much (an object.__setattr__ call per field).
@dataclass(slots=True)
class Grant:
    """``count`` jobs of autocluster ``key`` matched to slot ``slot``.

    ``cpus``/``memory``/``disk``/``gpus`` are what *one* job's dynamic slot took from the
    partitionable slot (memory as quantized by the engine), so the simulator can give exactly
    that back when the job finishes.
    """

    key: int
    slot: int
    count: int
    cpus: int
    memory: int
    disk: int
    gpus: int
    claims: tuple[int, ...] = ()  # the engine's claim ids, one per job, handed back on release


class Matchmaker(Protocol):
    """Persistent pool of partitionable slots plus the accountant, driven cycle by cycle."""

    def add_slot(self, slot: int, ad: Ad) -> None:
        """A node became ready: its whole p-slot ad joins the pool."""

    def close_slot(self, slot: int) -> None:
        """The slot takes no new jobs (draining); its running jobs keep their resources."""

    def remove_slot(self, slot: int) -> None:
        """The node is gone (removed or preempted); anything it held is forgotten."""

    def release(self, slot: int, claims: tuple[int, ...]) -> None:
        """Jobs on ``slot`` ended; their dynamic slots' resources return to the p-slot."""

    def account(self, running: Mapping[str, float], now: float) -> None:
        """Accountant update for a cycle in which nothing could match: cores in use per submitter."""

    def negotiate(self, demand: Sequence[Demand], running: Mapping[str, float], now: float) -> list[Grant]:
        """One negotiation cycle over the pool's free resources (includes the accountant update)."""

    def can_match(self, job: Ad, slot: Ad) -> bool:
        """Whether ``job`` and ``slot`` match symmetrically (both Requirements), as the negotiator says."""
