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


def significant_key(job: Ad, slot_side: frozenset[str], extra: Iterable[str] = ()) -> tuple:
    """The autocluster key: (name, value) for every significant attribute the job has, sorted."""
    values = job.lower_items()
    todo = list(JOB_ALWAYS_SIGNIFICANT | slot_side | {e.lower() for e in extra})
    names: set[str] = set()
    while todo:
        name = todo.pop()
        if name in names:
            continue
        names.add(name)
        v = values.get(name)
        if isinstance(v, Expr):
            for scope, ref in references(str(v)):
                if scope != "target" and ref not in names:
                    todo.append(ref)
    return tuple(sorted((n, type(values[n]).__name__, repr(values[n])) for n in names if n in values))
