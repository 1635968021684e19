"""Result types of a negotiation cycle (both API levels)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from condorfed.core.classads.values import Ad
from condorfed.core.fairshare.accountant import UsageState


@dataclass(frozen=True, eq=False)
class JobGroup:
    """Demand for the incremental API: ``count`` idle jobs that all look like ``ad``.

    ``submitter``: the accountant's name (AccountingGroup, else User); ``group``: the accounting group
    (AcctGroup) or None. ``running``: weighted resources this entry already has running (counts toward
    the group's demand). ``key``: anything the caller wants back in the matches. Entries with equal
    significant attributes share one autocluster even when they are separate objects.
    """

    ad: Ad
    submitter: str
    group: str | None
    count: int
    key: Hashable = None
    running: float = 0.0


# Not frozen, though never changed: one or more per match, and constructing a frozen dataclass costs
# about four times as much (its __init__ makes an object.__setattr__ call per field).
@dataclass(slots=True)
class GroupMatch:
    """``count`` jobs of ``group`` matched to slot ``slot`` (a pool slot id) at once."""

    group: JobGroup
    slot: int
    count: int
    claims: tuple[int, ...]
    cpus: float
    memory: float
    disk: float
    gpus: float
    preempting: str | None = None  # the submitter whose claim this match preempts
    preemption: str | None = None  # "rank" | "priority" | None


@dataclass(frozen=True, slots=True)
class Match:
    """One job matched to one slot (for partitionable slots, the p-slot's name)."""

    job: str
    slot: str
    submitter: str
    group: str | None
    cpus: float = 1.0
    memory: float = 0.0
    disk: float = 0.0
    gpus: float = 0.0
    preempting: str | None = None
    preemption: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "job": self.job,
            "slot": self.slot,
            "submitter": self.submitter,
            "group": self.group,
        }
        if self.preempting is not None:
            out["preempting"] = self.preempting
            out["preemption"] = self.preemption
        return out


@dataclass(frozen=True, slots=True)
class Unmatched:
    job: str
    reason: str
    submitter: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"job": self.job, "reason": self.reason}


@dataclass(frozen=True)
class SubmitterResult:
    """Per submitter: effective priority, the limit of its last spin, and what it got this cycle."""

    name: str
    eup: float
    limit: float
    matched: int
    matched_weight: float
    usage: float  # weighted resources in use after the cycle

    def to_json(self) -> dict[str, Any]:
        return {"eup": self.eup, "limit": self.limit, "matched": self.matched}


@dataclass(frozen=True)
class GroupResult:
    name: str
    quota: float
    allocated: float
    usage: float

    def to_json(self) -> dict[str, Any]:
        return {"quota": self.quota, "allocated": self.allocated}


@dataclass(frozen=True)
class GroupCycleResult:
    """Outcome of :func:`negotiate_demand` (the incremental level). The pool has been updated."""

    matches: tuple[GroupMatch, ...]
    rejected: Mapping[int, str]  # id(JobGroup) -> reason, for entries left with idle jobs
    submitters: Mapping[str, SubmitterResult]
    groups: Mapping[str, GroupResult]
    usage: UsageState
    autoclusters: int
    spins: int


@dataclass(frozen=True)
class CycleResult:
    """Outcome of :func:`negotiate` (one cycle on ads)."""

    matches: tuple[Match, ...]
    unmatched: tuple[Unmatched, ...]
    submitters: Mapping[str, SubmitterResult]
    groups: Mapping[str, GroupResult]
    usage: UsageState
    autoclusters: int = 0
    spins: int = 0
    slots_after: tuple[Ad, ...] = field(default=(), repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "matches": [m.to_json() for m in self.matches],
            "unmatched": [u.to_json() for u in self.unmatched],
            "submitters": {n: s.to_json() for n, s in sorted(self.submitters.items())},
            "groups": {n: g.to_json() for n, g in sorted(self.groups.items())},
        }
