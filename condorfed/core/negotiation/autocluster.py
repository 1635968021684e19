"""Autoclusters: jobs that are identical in every attribute matchmaking can look at.

The significant attributes are those the slot ads' expressions and the negotiator's expressions
reference (unscoped or through ``TARGET.``), plus the job's own Requirements, Rank and resource
requests, closed over the job attributes those expressions refer to. Two jobs with equal values for
all of them match, rank and are rejected identically, so the engine evaluates once per autocluster.
"""

from __future__ import annotations

from collections.abc import Iterable

from condorfed.core.classads.values import Ad, Expr
from condorfed.core.negotiation.refs import references

JOB_ALWAYS_SIGNIFICANT = frozenset(
    {
        "requirements",
        "rank",
        "requestcpus",
        "requestmemory",
        "requestdisk",
        "requestgpus",
        "concurrencylimits",
    }
)


def slot_side_references(slot_ads: Iterable[Ad], negotiator_exprs: Iterable[str | None]) -> frozenset[str]:
    """Names the slot side may look up in a job ad: TARGET.x and unscoped x in any slot expression."""
    seen_text: set[str] = set()
    names: set[str] = set()

    def scan(text: str) -> None:
        if text in seen_text:
            return
        seen_text.add(text)
        for scope, name in references(text):
            if scope != "my":
                names.add(name)

    for ad in slot_ads:
        for value in ad.lower_items().values():
            if isinstance(value, Expr):
                scan(str(value))
    for text in negotiator_exprs:
        if text:
            scan(text)
    return frozenset(names)


_CLOSURES: dict[tuple, tuple[str, ...]] = {}


def _closure(values, base: frozenset[str]) -> tuple[str, ...]:
    """Significant names for a job: ``base`` plus what its own expressions refer to (memoized on
    the expression texts, which are few per pool)."""
    sig = tuple(sorted((n, str(values[n])) for n in base if isinstance(values.get(n), Expr)))
    memo_key = (base, sig)
    names = _CLOSURES.get(memo_key)
    if names is not None and not any(isinstance(values.get(n), Expr) and n not in base for n in names):
        return names
    todo = list(base)
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        v = values.get(name)
        if isinstance(v, Expr):
            for scope, ref in references(str(v)):
                if scope != "target" and ref not in seen:
                    todo.append(ref)
    names = tuple(sorted(seen))
    if not any(isinstance(values.get(n), Expr) and n not in base for n in names):
        if len(_CLOSURES) > 4096:
            _CLOSURES.clear()
        _CLOSURES[memo_key] = names
    return names


_BASES: dict[tuple, frozenset[str]] = {}
_MISSING = object()


def significant_key(job: Ad, slot_side: frozenset[str], extra: Iterable[str] = ()) -> tuple:
    """The autocluster key: the names of the significant attributes and their typed values
    (``1``, ``1.0`` and ``true`` differ in ClassAd arithmetic, so the type is part of the key)."""
    values = job.lower_items()
    extra_t = tuple(extra)
    base = _BASES.get((slot_side, extra_t))
    if base is None:
        base = _BASES[(slot_side, extra_t)] = frozenset(
            JOB_ALWAYS_SIGNIFICANT | slot_side | {e.lower() for e in extra_t}
        )
    names = _closure(values, base)
    key = [names]
    for n in names:
        v = values.get(n, _MISSING)
        key.append(type(v))
        key.append(v)
    return tuple(key)
