"""The pie: how much of a pool (or of a group's quota) each submitter may take in one spin.

Each submitter's share is proportional to 1/EUP (``max(EUP)/EUP`` normalised over the submitters still
negotiating); its limit is ``share * pie - resources already in use``, never below zero, and within a
group never above the group's remaining quota. The negotiator spins the pie again while a spin gave
out something (the pie shrank) or a submitter dropped out, so that shares unused by satisfied
submitters are handed to the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def submitter_limits(
    submitters: Iterable[str],
    eup: Mapping[str, float],
    usage: Mapping[str, float],
    pie: float,
    group_room: float | None = None,
) -> dict[str, float]:
    """Limit per submitter for one spin.

    ``eup``: effective priority per submitter; ``usage``: weighted resources each has in use (claimed
    before this cycle plus matched so far in it); ``pie``: the slot weight being shared (the pool, or the
    group's quota if smaller); ``group_room``: the group's quota minus its usage (``None`` outside groups).
    """
    names = list(dict.fromkeys(submitters))
    if not names:
        return {}
    worst = max(eup[n] for n in names)
    norm = sum(worst / eup[n] for n in names)
    limits: dict[str, float] = {}
    for n in names:
        share = worst / (eup[n] * norm)
        limit = max(0.0, share * pie - usage.get(n, 0.0))
        if group_room is not None:
            limit = min(limit, max(0.0, group_room))
        limits[n] = limit
    return limits


def shares(eup: Mapping[str, float]) -> dict[str, float]:
    """Fraction of the pie per submitter (sums to 1): proportional to 1/EUP."""
    if not eup:
        return {}
    inv = {n: 1.0 / p for n, p in eup.items()}
    total = sum(inv.values())
    return {n: v / total for n, v in inv.items()}
