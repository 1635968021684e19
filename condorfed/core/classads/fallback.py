"""The classad2 path: evaluate pair by pair with HTCondor's own library.

``classad2.ExprTree(expr).eval(my, target)`` resolves an unscoped name in MY first and then in
TARGET (the two ads are each other's "alternate scope", as in HTCondor's daemons), and an
attribute value is evaluated in the scope of the ad it came from. That *is* Old-ClassAd
scoping, so this path needs no rewriting; tests/classads pin it against :mod:`.scoping`.
"""

from __future__ import annotations

import functools

import classad2
import numpy as np

from .column import Column
from .convert import to_classad
from .table import AdTable
from .values import ERROR, Ad

__all__ = ["Side", "eval_pairs", "side_classad"]

Side = Ad | AdTable


@functools.lru_cache(maxsize=4096)
def expr_tree(text: str) -> classad2.ExprTree:
    return classad2.ExprTree(text)


def eval_one(tree: classad2.ExprTree, my: classad2.ClassAd | None, target: classad2.ClassAd | None):
    try:
        return tree.eval(my, target)
    except classad2.ClassAdException:
        # classad2 raises where the C++ library yields ERROR (e.g. a reference cycle).
        return ERROR


def side_classad(side: Side | None, row: int, single: dict):
    if side is None:
        return None
    if isinstance(side, AdTable):
        return side.classad(row)
    c = single.get(id(side))
    if c is None:
        c = single[id(side)] = to_classad(side)
    return c


def eval_pairs(text: str, my: Side | None, target: Side | None, rows: np.ndarray | None, n: int) -> Column:
    """Evaluate ``text`` with classad2 on the given rows (all ``n`` rows if None)."""
    tree = expr_tree(text)
    single: dict = {}
    idx = range(n) if rows is None else rows.tolist()
    values = [eval_one(tree, side_classad(my, r, single), side_classad(target, r, single)) for r in idx]
    return Column.from_values(values)
