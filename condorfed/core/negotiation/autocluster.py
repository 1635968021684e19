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
    # A pool has tens of thousands of slot ads but a handful of distinct expressions: collect the
    # distinct texts first (an Expr keeps its hash), then parse each once.
    is_expr = Expr.__instancecheck__  # filter() with a C-level predicate: no bytecode per value
    texts: set[str] = set()
    for ad in slot_ads:
        texts.update(filter(is_expr, ad.lower_items().values()))
    texts.update(text for text in negotiator_exprs if text)
    names: set[str] = set()
    for text in texts:
        for scope, name in references(str(text)):
            if scope != "my":
                names.add(name)
    return frozenset(names)


_BASES: dict[tuple, tuple[str, ...]] = {}
_EXTRAS: dict[tuple, tuple[str, ...]] = {}
_BY_VALUES: dict[tuple, tuple[str, ...]] = {}


def _extra_names(values, base_t: tuple[str, ...], vals: tuple) -> tuple[str, ...]:
    """Names outside ``base_t`` that the job's own expressions refer to (closed transitively)."""
    exprs = tuple(v for v in vals if isinstance(v, Expr))
    memo_key = (base_t, exprs)
    extra = _EXTRAS.get(memo_key)
    if extra is not None and not any(isinstance(values.get(n), Expr) for n in extra):
        return extra
    base = set(base_t)
    todo = [str(v) for v in exprs]
    found: set[str] = set()
    nested = False
    while todo:
        for scope, ref in references(todo.pop()):
            if scope == "target" or ref in base or ref in found:
                continue
            found.add(ref)
            v = values.get(ref)
            if isinstance(v, Expr):
                nested = True
                todo.append(str(v))
    extra = tuple(sorted(found))
    if not nested:  # depends only on the expressions in the memo key
        if len(_EXTRAS) > 4096:
            _EXTRAS.clear()
        _EXTRAS[memo_key] = extra
    return extra


def significant_key(job: Ad, slot_side: frozenset[str], extra: Iterable[str] = ()) -> tuple:
    """The autocluster key: the significant attributes' values with their types (``1``, ``1.0`` and
    ``true`` differ in ClassAd arithmetic); a missing attribute is ``None``."""
    values = job.lower_items()
    extra_t = tuple(extra)
    base_t = _BASES.get((slot_side, extra_t))
    if base_t is None:
        base_t = _BASES[(slot_side, extra_t)] = tuple(
            sorted(JOB_ALWAYS_SIGNIFICANT | slot_side | {e.lower() for e in extra_t})
        )
    vals = tuple(map(values.get, base_t))
    names = _BY_VALUES.get((base_t, vals))
    if names is None or any(isinstance(values.get(n), Expr) for n in names):
        names = _extra_names(values, base_t, vals)
        if len(_BY_VALUES) > 65536:
            _BY_VALUES.clear()
        _BY_VALUES[(base_t, vals)] = names
    more = tuple(map(values.get, names)) if names else ()
    return (base_t, names, vals, more, tuple(map(type, vals)), tuple(map(type, more)))
