"""The slot planner: how many of ``total`` cores go to each member cluster.

Same semantics as Kubernetes Federation's ReplicaSchedulingPreference planner (kubefed), with a
documented, name-independent tie-break instead of kubefed's hash. Pure and deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["ClusterPreference", "SlotPlan", "plan_slots"]


@dataclass(frozen=True)
class ClusterPreference:
    """One cluster's preference: ``min`` cores first, then a ``weight`` share, at most ``max``."""

    weight: int = 0
    min: int = 0
    max: int | None = None

    @classmethod
    def from_mapping(cls, key: str, raw: Mapping[str, int | None]) -> ClusterPreference:
        unknown = set(raw) - {"weight", "min", "max"}
        if unknown:
            raise ValueError(f"preferences[{key!r}]: unknown key {sorted(unknown)[0]!r} (weight, min, max)")
        pref = cls(int(raw.get("weight") or 0), int(raw.get("min") or 0), raw.get("max"))
        if pref.weight < 0 or pref.min < 0 or (pref.max is not None and pref.max < 0):
            raise ValueError(f"preferences[{key!r}]: weight, min and max must be >= 0")
        return pref


@dataclass(frozen=True)
class SlotPlan:
    """``slots``: cores per cluster, every input cluster present (zeros included), in input order.
    ``overflow``: cores a cluster would have received beyond its capacity (only clusters > 0)."""

    slots: dict[str, int]
    overflow: dict[str, int] = field(default_factory=dict)

    @property
    def placed(self) -> int:
        return sum(self.slots.values())


def plan_slots(
    total: int,
    clusters: Sequence[str],
    preferences: Mapping[str, Mapping[str, int | None]],
    current: Mapping[str, int] | None = None,
    capacity: Mapping[str, int] | None = None,
    rebalance: bool = False,
) -> SlotPlan:
    """Split ``total`` cores over ``clusters`` by ``preferences``.

    Contract:

    1. *Eligibility.* A cluster uses its own entry in ``preferences`` or else the ``"*"`` entry;
       with neither it gets 0. Entries for clusters not in ``clusters`` are ignored. An entry is
       ``{"weight": int, "min": int, "max": int | None}``; missing keys mean 0, 0, None.
    2. *Order (the tie-break).* Eligible clusters are visited by decreasing weight; equal
       weights keep their order in ``clusters`` (earlier first). This order decides who gets the
       rounded-up remainder and who gets its ``min`` when the total is short. It depends on
       nothing else (unlike kubefed, which hashes the names).
    3. *Minimums.* In that order each cluster gets ``min(min, remaining, capacity)``.
    4. *Keep current* (only when ``rebalance`` is false). In that order, a cluster whose
       ``current`` count exceeds what it has is topped up towards ``current`` (capped by ``max``,
       ``capacity`` and what remains). These cores are *pre-allocated*: they count towards the
       cluster's weighted share below rather than coming on top of it.
    5. *Weighted split, repeated.* Each round, with R cores remaining and W the sum of the
       weights of the clusters still open, each open cluster in order is offered
       ``ceil(R × weight / W)`` (at most what still remains), first consumed by its pre-allocation;
       the rest is added, capped by ``max`` and ``capacity``. A cluster that hits its cap is
       closed; hitting ``capacity`` records the excess as overflow. Rounds repeat while cores
       remain and something moved; weight-0 clusters only ever get their minimum.
    6. *Overflow.* With ``rebalance`` the excess each capacity-capped cluster wanted; without it,
       that excess trimmed to the cores left unplaced, and zero entries dropped.

    Cores that fit nowhere (all clusters capped) are simply not placed:
    ``total - plan.placed``.
    """
    if total < 0:
        raise ValueError("total must be >= 0")
    current = current or {}
    capacity = capacity or {}
    default = preferences.get("*")
    slots: dict[str, int] = dict.fromkeys(clusters, 0)
    eligible: list[tuple[str, ClusterPreference]] = []
    for name in slots:  # dict keys: input order, duplicates dropped
        raw = preferences.get(name, default)
        if raw is not None:
            eligible.append((name, ClusterPreference.from_mapping(name, raw)))
    # Python's sort is stable: equal weights keep their input order.
    eligible.sort(key=lambda item: -item[1].weight)

    def cap(name: str, pref: ClusterPreference) -> int | None:
        limits = [x for x in (pref.max, capacity.get(name)) if x is not None]
        return min(limits) if limits else None

    remaining = total
    for name, pref in eligible:
        got = min(pref.min, remaining)
        if name in capacity:
            got = min(got, capacity[name])
        slots[name] = got
        remaining -= got

    preallocated: dict[str, int] = {}
    if not rebalance:
        for name, pref in eligible:
            have = current.get(name, 0)
            if have <= slots[name]:
                continue
            limit = cap(name, pref)
            target = have if limit is None else min(have, limit)
            extra = max(0, min(target - slots[name], remaining))
            preallocated[name] = extra
            slots[name] += extra
            remaining -= extra

    overflow: dict[str, int] = {}
    open_clusters = eligible
    moved = True
    while moved and remaining > 0:
        moved = False
        weight_sum = sum(pref.weight for _, pref in open_clusters)
        if weight_sum <= 0:
            break
        offer_base = remaining
        still_open: list[tuple[str, ClusterPreference]] = []
        for name, pref in open_clusters:
            offer = min(-(-offer_base * pref.weight // weight_sum), remaining)
            used_prealloc = min(offer, preallocated.get(name, 0))
            if used_prealloc:
                preallocated[name] -= used_prealloc
                moved = True
            start = slots[name]
            want = start + offer - used_prealloc
            new = want
            full = False
            if pref.max is not None and new > pref.max:
                new, full = pref.max, True
            if name in capacity and new > capacity[name]:
                overflow[name] = new - capacity[name]
                new, full = capacity[name], True
            if not full:
                still_open.append((name, pref))
            remaining -= new - start
            slots[name] = new
            moved = moved or new > start
        open_clusters = still_open

    if not rebalance:
        overflow = {k: min(v, remaining) for k, v in overflow.items() if min(v, remaining) > 0}
    return SlotPlan(slots=slots, overflow=overflow)
