"""How the engine evaluates ClassAd expressions between one job ad and many slot ads.

Two interchangeable evaluators behind one small interface:

- :class:`VectorEvaluator` (the default) compiles each expression once with
  :func:`condorfed.core.classads.compile_expr` and evaluates it over a columnar table of slot ads.
- :class:`Classad2Evaluator` evaluates pair by pair with classad2. It is the reference the
  vectorized path is tested against, and a fallback when the vectorized evaluator is unavailable.

Both use the negotiator's Old-ClassAd scoping: an unscoped name is looked up in the ad being evaluated
first, then in the other ad. One side is always a single :class:`Ad` (the job), the other a
:class:`SlotRows` (some rows of a :class:`SlotPool`, optionally with resource columns overridden:
"this p-slot after k more jobs").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import classad2
import numpy as np

from condorfed.core.classads.values import ERROR, UNDEFINED, Ad, Expr
from condorfed.core.negotiation.pool import RESOURCES, SlotPool
from condorfed.core.negotiation.refs import rewrite_unscoped

_RES_ATTR = {"cpus": "Cpus", "memory": "Memory", "disk": "Disk", "gpus": "GPUs"}


@dataclass
class SlotRows:
    """Rows of a pool, optionally with resource columns (``cpus``, ``memory``, ...) overridden."""

    pool: SlotPool
    rows: np.ndarray
    overrides: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def ad(self, k: int) -> Ad:
        base = self.pool.ads[int(self.rows[k])]
        if not self.overrides:
            return base
        ad = base.copy()
        for res, col in self.overrides.items():
            v = float(col[k])
            ad[_RES_ATTR[res]] = int(v) if v.is_integer() else v
        return ad


class Evaluator(Protocol):
    name: str

    def truth(self, expr: str, my: Ad | SlotRows, target: Ad | SlotRows) -> np.ndarray:
        """Where HTCondor's EvalBool says true (true, or a non-zero number)."""

    def number(self, expr: str, my: Ad | SlotRows, target: Ad | SlotRows, default: float) -> np.ndarray:
        """The numeric value (true/false count as 1/0); ``default`` where it is no number."""


# ---- classad2, pair by pair ----------------------------------------------------------------------
def _literal_expr(v: Any) -> classad2.ExprTree | Any:
    if v is UNDEFINED:
        return classad2.ExprTree("undefined")
    if v is ERROR:
        return classad2.ExprTree("error")
    return v


def _to_classad(ad: Ad, to_target) -> classad2.ClassAd:
    out = classad2.ClassAd()
    for name, value in ad.items():
        if isinstance(value, Expr):
            out[name] = classad2.ExprTree(rewrite_unscoped(str(value), to_target))
        else:
            out[name] = _literal_expr(value)
    return out


def _eval_pair(expr: str, my: Ad, target: Ad) -> Any:
    """One evaluation with Old-ClassAd lookup, by rewriting unscoped names that only the other ad has."""
    my_names = {k.lower() for k in my}
    t_names = {k.lower() for k in target}
    to_t = lambda n: n not in my_names and n in t_names  # noqa: E731
    to_m = lambda n: n not in t_names and n in my_names  # noqa: E731
    tree = classad2.ExprTree(rewrite_unscoped(expr, to_t))
    return tree.eval(_to_classad(my, to_t), _to_classad(target, to_m))


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, classad2.Value)


class Classad2Evaluator:
    """Reference evaluator: classad2, one pair at a time."""

    name = "classad2"

    def _values(self, expr: str, my: Ad | SlotRows, target: Ad | SlotRows) -> list[Any]:
        if not isinstance(my, SlotRows) and not isinstance(target, SlotRows):
            return [_eval_pair(expr, my, target)]
        if isinstance(my, SlotRows):
            return [_eval_pair(expr, my.ad(k), target) for k in range(len(my))]  # type: ignore[arg-type]
        assert isinstance(target, SlotRows)
        return [_eval_pair(expr, my, target.ad(k)) for k in range(len(target))]

    def truth(self, expr: str, my: Ad | SlotRows, target: Ad | SlotRows) -> np.ndarray:
        vals = self._values(expr, my, target)
        return np.array(
            [(v is True) or (_is_number(v) and not isinstance(v, bool) and v != 0) for v in vals], dtype=bool
        )

    def number(self, expr: str, my: Ad | SlotRows, target: Ad | SlotRows, default: float) -> np.ndarray:
        vals = self._values(expr, my, target)
        return np.array([float(v) if _is_number(v) else default for v in vals], dtype=np.float64)


# ---- vectorized ---------------------------------------------------------------------------------
class VectorEvaluator:
    """Compiled, columnar evaluation through :mod:`condorfed.core.classads`."""

    name = "vectorized"

    def __init__(self) -> None:
        from condorfed.core import classads

        self._ca = classads
        # Fail early (-> classad2 fallback) while the compiled evaluator is not there.
        _ = (classads.compile_expr, classads.AdTable)
        self._tables: dict[int, tuple[int, int, Any]] = {}

    def _full_table(self, pool: SlotPool) -> tuple[Any, np.ndarray, np.ndarray]:
        """(table of every live slot, live slot ids, slot id -> table row), kept in step with the
        pool's resource columns without re-encoding the ads."""
        cached = self._tables.get(id(pool))
        if cached is not None and cached[0] == pool.structure_version:
            _, seen, table, live, pos = cached
            changed = [r for r in RESOURCES if pool.res_version[r] != seen[r]]
            if all(bool(pool.has_attr[r][live].all()) for r in changed):
                for r in changed:
                    table.set_column(_RES_ATTR[r], _typed(pool.column(r)[live]))
                self._tables[id(pool)] = (pool.structure_version, dict(pool.res_version), table, live, pos)
                return table, live, pos
        live = np.flatnonzero(pool.alive)
        pos = np.full(len(pool), -1, dtype=np.int64)
        pos[live] = np.arange(len(live))
        table = self._ca.AdTable.from_ads([pool.ads[i] for i in live.tolist()])
        self._tables[id(pool)] = (pool.structure_version, dict(pool.res_version), table, live, pos)
        return table, live, pos

    def _table(self, rows: SlotRows) -> Any:
        table, live, pos = self._full_table(rows.pool)
        if not rows.overrides and len(rows.rows) == len(live) and bool(np.array_equal(rows.rows, live)):
            return table
        sub = table.take(pos[np.asarray(rows.rows, dtype=np.int64)])
        for res, col in rows.overrides.items():
            sub.set_column(_RES_ATTR[res], _typed(np.asarray(col)))
        return sub

    def _column(self, expr: str, my: Ad | SlotRows, target: Ad | SlotRows) -> Any:
        compiled = self._ca.compile_expr(expr)
        m = self._table(my) if isinstance(my, SlotRows) else my
        t = self._table(target) if isinstance(target, SlotRows) else target
        return compiled.evaluate(m, t, old_scoping=True)

    def truth(self, expr: str, my: Ad | SlotRows, target: Ad | SlotRows) -> np.ndarray:
        return np.asarray(self._column(expr, my, target).truth(), dtype=bool)

    def number(self, expr: str, my: Ad | SlotRows, target: Ad | SlotRows, default: float) -> np.ndarray:
        col = self._column(expr, my, target)
        values = np.asarray(col.as_float(), dtype=np.float64)
        if default != 0.0:
            is_num = getattr(col, "is_number", None)
            mask = np.asarray(is_num(), dtype=bool) if callable(is_num) else None
            if mask is None:
                kinds = col.to_list()
                mask = np.array([_is_number(v) for v in kinds], dtype=bool)
            values = np.where(mask, values, default)
        return values


def _typed(values: np.ndarray) -> np.ndarray:
    """Integers stay ClassAd integers (``Memory / 1024`` divides as integers in HTCondor)."""
    values = np.asarray(values, dtype=np.float64)
    if np.all(np.isfinite(values)) and np.all(values == np.round(values)):
        return values.astype(np.int64)
    return values


def default_evaluator() -> Evaluator:
    """The vectorized evaluator when the compiled ClassAd module is there, else classad2."""
    try:
        return VectorEvaluator()
    except (ImportError, AttributeError):
        return Classad2Evaluator()
