"""compile_expr(text) -> CompiledExpr: vectorized evaluation over AdTables, classad2 fallback."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .column import Column
from .fallback import Side, eval_pairs
from .nodes import Node
from .parser import parse
from .table import AdTable

__all__ = ["CompiledExpr", "compile_expr"]


def _rows(my: Side | None, target: Side | None) -> int:
    lengths = {len(s) for s in (my, target) if isinstance(s, AdTable)}
    if len(lengths) > 1:
        raise ValueError(f"MY and TARGET tables differ in length: {sorted(lengths)}")
    return lengths.pop() if lengths else 1


@dataclass(frozen=True)
class CompiledExpr:
    """A parsed expression, ready to evaluate against ads and tables of ads."""

    text: str
    node: Node

    def evaluate(self, my: Side | None, target: Side | None, *, old_scoping: bool = True) -> Column:
        """Evaluate with ``my`` as MY and ``target`` as TARGET (each an Ad or an AdTable).

        Returns one value per row (a single row when neither side is a table). Unscoped names
        are looked up in MY, then TARGET, like HTCondor's negotiator and classad2's eval.
        """
        n = _rows(my, target)
        return eval_pairs(self.text, my, target, None, n)


@functools.lru_cache(maxsize=4096)
def compile_expr(text: str) -> CompiledExpr:
    """Parse (ExpressionError names the position) and compile; cached by text."""
    return CompiledExpr(str(text), parse(str(text)))
