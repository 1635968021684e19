"""Public ClassAd helpers: ``evaluate_many`` and the core's ClassAd types.

>>> from condorfed.classads import evaluate_many
>>> evaluate_many("TARGET.Memory >= 2048", my=job_ad, target=slot_ads)   # one job, many slots
"""

from __future__ import annotations

from collections.abc import Sequence

import classad2

from condorfed.core.classads import (
    ERROR,
    UNDEFINED,
    Ad,
    AdTable,
    Column,
    CompiledExpr,
    Expr,
    compile_expr,
    from_classad,
    references,
    to_classad,
    unparse,
)

__all__ = [
    "ERROR",
    "UNDEFINED",
    "Ad",
    "AdTable",
    "Column",
    "CompiledExpr",
    "Expr",
    "compile_expr",
    "evaluate_many",
    "from_classad",
    "references",
    "to_classad",
    "unparse",
]

AdLike = classad2.ClassAd | Ad


def _side(side: AdLike | Sequence[AdLike] | AdTable | None) -> Ad | AdTable | None:
    if side is None or isinstance(side, (Ad, AdTable)):
        return side
    if isinstance(side, classad2.ClassAd):
        return from_classad(side)
    ads = list(side)
    table = AdTable.from_ads([from_classad(a) if isinstance(a, classad2.ClassAd) else a for a in ads])
    # Keep the caller's own classad2 objects for the fallback path: no round trip through text.
    table.preset_classads([a if isinstance(a, classad2.ClassAd) else None for a in ads])
    return table


def evaluate_many(expr: str, my, target, old_scoping: bool = False) -> list:
    """Evaluate ``expr`` for every (my_i, target_i) pair; one side may be a single ad.

    ``my``/``target``: a classad2.ClassAd or Ad, a sequence of them, or an AdTable.
    ``result[i] == classad2.ExprTree(expr).eval(my_i, target_i)`` in value and type, with ERROR
    where classad2 raises (reference cycles). classad2's eval already resolves an unscoped name
    in MY and then in TARGET, which is the negotiator's Old-ClassAd scoping, so
    ``old_scoping=True`` gives the same list (docs/classads.md shows why).
    """
    my_side, target_side = _side(my), _side(target)
    result = compile_expr(expr).evaluate(my_side, target_side, old_scoping=old_scoping)
    if not isinstance(my_side, AdTable) and not isinstance(target_side, AdTable):
        return result.to_list()[:1]
    return result.to_list()
