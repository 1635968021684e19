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
from condorfed.core.negotiation.content import ContentClasses, distinct
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


def _to_classad(ad: Ad, to_target=None) -> classad2.ClassAd:
    """A classad2 copy of ``ad``; ``to_target`` rewrites unscoped names (None: leave them)."""
    out = classad2.ClassAd()
    for name, value in ad.items():
        if isinstance(value, Expr):
            text = str(value) if to_target is None else rewrite_unscoped(str(value), to_target)
            out[name] = classad2.ExprTree(text)
        else:
            out[name] = _literal_expr(value)
    return out


def _plain(rows: SlotRows) -> SlotRows:
    return SlotRows(rows.pool, rows.rows)


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


_OLD_SEMANTICS: list[bool] = []


def classad2_uses_old_scoping() -> bool:
    """Whether classad2 itself already looks unscoped names up in the other ad (it does once
    htcondor2 is imported and STRICT_CLASSAD_EVALUATION is off, as in the negotiator)."""
    if not _OLD_SEMANTICS:
        probe = classad2.ExprTree("Memory > 1024").eval(
            classad2.ClassAd(), classad2.ClassAd("[Memory = 2048]")
        )
        _OLD_SEMANTICS.append(probe is True)
    return _OLD_SEMANTICS[0]


class Classad2Evaluator:
    """Reference evaluator: classad2, one pair at a time (ads converted once and cached)."""

    name = "classad2"

    def __init__(self) -> None:
        self._jobs: dict[int, tuple[Ad, dict, classad2.ClassAd]] = {}
        self._slots: dict[tuple, classad2.ClassAd] = {}

    def _job_classad(self, ad: Ad) -> classad2.ClassAd:
        hit = self._jobs.get(id(ad))
        if hit is not None and hit[0] is ad and hit[1] == ad.lower_items():  # not edited since
            return hit[2]
        if len(self._jobs) > 256:
            self._jobs.clear()
        c = _to_classad(ad)
        self._jobs[id(ad)] = (ad, dict(ad.lower_items()), c)
        return c

    def unconverted(self, rows: SlotRows) -> int:
        """How many of ``rows``' slots have no classad2 ad cached yet (each costs a conversion)."""
        pool = rows.pool
        key = (id(pool), pool.attr_epoch, pool.structure_version)
        slots = self._slots
        return sum((key[0], s, key[1], key[2]) not in slots for s in np.asarray(rows.rows).tolist())

    def _slot_classad(self, rows: SlotRows, k: int) -> classad2.ClassAd:
        """The slot as a classad2 ad, converted once per pool layout; a new version of the slot differs
        only in its resources (and whether it is claimed), so those four attributes are refreshed."""
        pool = rows.pool
        s = int(rows.rows[k])
        key = (id(pool), s, pool.attr_epoch, pool.structure_version)
        hit = self._slots.get(key)
        version = int(pool.version[s])
        if hit is None:
            if len(self._slots) > 200_000:
                self._slots.clear()
            hit = self._slots[key] = [version, _to_classad(pool.ads[s])]
        c = hit[1]
        if hit[0] != version:
            ad = pool.ads[s].lower_items()
            for res, attr in _RES_ATTR.items():
                if res in ad:
                    c[attr] = _literal_expr(ad[res])
            hit[0] = version
        return c

    def _values(self, expr: str, my: Ad | SlotRows, target: Ad | SlotRows) -> list[Any]:
        if not classad2_uses_old_scoping():
            return self._values_rewritten(expr, my, target)
        tree = classad2.ExprTree(expr)
        if isinstance(my, SlotRows):
            t = self._job_classad(target)  # type: ignore[arg-type]
            return [self._on_slot(my, k, lambda c: tree.eval(c, t)) for k in range(len(my))]
        m = self._job_classad(my)
        if isinstance(target, SlotRows):
            return [self._on_slot(target, k, lambda c: tree.eval(m, c)) for k in range(len(target))]
        return [tree.eval(m, self._job_classad(target))]

    def _on_slot(self, rows: SlotRows, k: int, fn) -> Any:
        """``fn(slot classad)``; with overridden resources, set on the cached ad for the call and put
        back afterwards (cheaper than copying the ad)."""
        if not rows.overrides:
            return fn(self._slot_classad(rows, k))
        c = self._slot_classad(_plain(rows), k)
        saved = {}
        for res, col in rows.overrides.items():
            attr = _RES_ATTR[res]
            saved[attr] = c.lookup(attr) if attr in c else None
            v = float(col[k])
            c[attr] = int(v) if v.is_integer() else v
        try:
            return fn(c)
        finally:
            for attr, old in saved.items():
                if old is None:
                    del c[attr]
                else:
                    c[attr] = old

    def _values_rewritten(self, expr: str, my: Ad | SlotRows, target: Ad | SlotRows) -> list[Any]:
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


CONVERSION = 10  # see HybridEvaluator._pick


class HybridEvaluator:
    """Vectorized for many rows; classad2 pair by pair for a handful, where the compiled path's fixed
    cost per call is larger than the pairs themselves. Both paths give identical answers."""

    name = "hybrid"

    def __init__(self, small: int = 24) -> None:
        self.vector = VectorEvaluator()
        self.pairs = Classad2Evaluator()
        self.small = small

    def _pick(self, my: Ad | SlotRows, target: Ad | SlotRows) -> Evaluator:
        rows = my if isinstance(my, SlotRows) else (target if isinstance(target, SlotRows) else None)
        if rows is None:
            return self.pairs
        n = len(rows)
        if n > self.small:
            return self.vector
        # Converting a slot ad to classad2 costs about as much as CONVERSION pair evaluations: slots
        # never converted (a one-cycle pool) tip small batches to the compiled path.
        return self.pairs if n + CONVERSION * self.pairs.unconverted(rows) <= self.small else self.vector

    def truth(self, expr: str, my: Ad | SlotRows, target: Ad | SlotRows) -> np.ndarray:
        return self._pick(my, target).truth(expr, my, target)

    def number(self, expr: str, my: Ad | SlotRows, target: Ad | SlotRows, default: float) -> np.ndarray:
        return self._pick(my, target).number(expr, my, target, default)


# ---- vectorized ---------------------------------------------------------------------------------
class VectorEvaluator:
    """Compiled, columnar evaluation through :mod:`condorfed.core.classads`."""

    name = "vectorized"

    def __init__(self) -> None:
        from condorfed.core import classads

        self._ca = classads
        # Fail early (-> classad2 fallback) while the compiled evaluator is not there.
        _ = (classads.compile_expr, classads.AdTable)
        self._tables: dict[int, tuple] = {}

    def _full_table(self, pool: SlotPool) -> tuple[Any, np.ndarray, np.ndarray]:
        """(table of every live slot, live slot ids, slot id -> table row), kept in step with the
        pool's resource columns without re-encoding the ads: rows of the slots the pool's journal says
        changed since are patched in place, or whole columns replaced when many changed."""
        cached = self._tables.get(id(pool))
        if cached is not None and cached[0] == pool.structure_version:
            _, seen, table, live, pos, mark, present = cached
            changed = [r for r in RESOURCES if pool.res_version[r] != seen[r]]
            for r in changed:  # a slot's resource attribute, once written, stays (until slots change)
                present[r] = present[r] or bool(pool.has_attr[r][live].all())
            if all(present[r] for r in changed):
                moved, now = pool.changed_since(mark)
                rows = None
                if moved is not None:
                    rows = pos[np.fromiter(set(moved), dtype=np.int64)]
                    rows = rows[rows >= 0]
                patch = rows is not None and 4 * len(rows) <= len(live)
                for r in changed:
                    if not (patch and table.set_rows(_RES_ATTR[r], rows, _typed(pool.column(r)[live[rows]]))):
                        table.set_column(_RES_ATTR[r], _typed(pool.column(r)[live]))
                entry = (pool.structure_version, dict(pool.res_version), table, live, pos, now, present)
                self._tables[id(pool)] = entry
                return table, live, pos
        live = np.flatnonzero(pool.alive)
        pos = np.full(len(pool), -1, dtype=np.int64)
        pos[live] = np.arange(len(live))
        table = self._ca.AdTable.from_ads([pool.ads[i] for i in live.tolist()])
        mark = pool.changed_since(-1)[1]
        present = {r: False for r in RESOURCES}
        entry = (pool.structure_version, dict(pool.res_version), table, live, pos, mark, present)
        self._tables[id(pool)] = entry
        return table, live, pos

    def _table(self, rows: SlotRows) -> Any:
        table, live, pos = self._full_table(rows.pool)
        if not rows.overrides and len(rows.rows) == len(live) and bool(np.array_equal(rows.rows, live)):
            return table
        sub = _take(table, pos[np.asarray(rows.rows, dtype=np.int64)])
        for res, col in rows.overrides.items():
            sub.set_column(_RES_ATTR[res], _typed(np.asarray(col)))
        return sub

    def _column(self, expr: str, my: Ad | SlotRows, target: Ad | SlotRows) -> Any:
        compiled = self._ca.compile_expr(expr)
        m = self._table(my) if isinstance(my, SlotRows) else my
        t = self._table(target) if isinstance(target, SlotRows) else target
        return compiled.evaluate(m, t, old_scoping=True)

    @staticmethod
    def _n(my: Ad | SlotRows, target: Ad | SlotRows) -> int:
        return len(my) if isinstance(my, SlotRows) else (len(target) if isinstance(target, SlotRows) else 1)

    def truth(self, expr: str, my: Ad | SlotRows, target: Ad | SlotRows) -> np.ndarray:
        out = np.asarray(self._column(expr, my, target).truth(), dtype=bool)
        return (
            np.broadcast_to(out, (self._n(my, target),)).copy()
            if out.shape != (self._n(my, target),)
            else out
        )

    def number(self, expr: str, my: Ad | SlotRows, target: Ad | SlotRows, default: float) -> np.ndarray:
        col = self._column(expr, my, target)
        n = self._n(my, target)
        values = np.asarray(col.as_float(), dtype=np.float64)
        if default != 0.0:
            tag = getattr(col, "tag", None)
            if tag is not None:
                from condorfed.core.classads.column import T_BOOL, T_INT, T_REAL

                mask = (tag == T_BOOL) | (tag == T_INT) | (tag == T_REAL)
            else:
                mask = np.array([_is_number(v) for v in col.to_list()], dtype=bool)
            values = np.where(mask, values, default)
        return np.broadcast_to(values, (n,)).copy() if values.shape != (n,) else values


def _take(table: Any, idx: np.ndarray) -> Any:
    """``table.take(idx)``: the subset slices the parent's encoded columns as it reads them."""
    return table.take(idx)


def _typed(values: np.ndarray) -> np.ndarray:
    """Integers stay ClassAd integers (``Memory / 1024`` divides as integers in HTCondor)."""
    values = np.asarray(values, dtype=np.float64)
    if np.all(np.isfinite(values)) and np.all(values == np.round(values)):
        return values.astype(np.int64)
    return values


# ---- once per content class ---------------------------------------------------------------------
POOR_SHARING = 4  # more than one new class per this many rows: evaluate the rows as they are


class ContentEvaluator:
    """Evaluates an expression once per *content class* of the slot rows (slots whose attributes the
    expression can read are equal: see content.py) with ``inner``, and gathers. Each class's result
    is remembered in the pool for the job ad, so later calls (and cycles) evaluate only classes they
    have not met: a persistent pool (the simulator's, the controller's) re-evaluates almost nothing
    as claims come and go. Expressions without a plan (``time()``, ``eval()``, ...) and one-cycle
    pools go to ``inner`` as they are."""

    def __init__(self, inner: Evaluator) -> None:
        self.inner = inner
        self.name = inner.name  # the same answers: caches keyed by name may be shared

    def truth(self, expr: str, my: Ad | SlotRows, target: Ad | SlotRows) -> np.ndarray:
        return self._evaluate(expr, my, target, None)

    def number(self, expr: str, my: Ad | SlotRows, target: Ad | SlotRows, default: float) -> np.ndarray:
        return self._evaluate(expr, my, target, default)

    def _direct(self, expr: str, my: Ad | SlotRows, target: Ad | SlotRows, default: float | None):
        if default is None:
            return self.inner.truth(expr, my, target)
        return self.inner.number(expr, my, target, default)

    def _on(self, expr: str, rows: SlotRows, job: Ad, slot_is_my: bool, default: float | None) -> np.ndarray:
        """``inner`` on ``rows`` as given, the slot on its side."""
        if slot_is_my:
            return self._direct(expr, rows, job, default)
        return self._direct(expr, job, rows, default)

    def _evaluate(self, expr: str, my: Ad | SlotRows, target: Ad | SlotRows, default: float | None):
        slot_is_my = isinstance(my, SlotRows)
        rows, job = (my, target) if slot_is_my else (target, my)
        if not isinstance(rows, SlotRows) or not isinstance(job, Ad) or len(rows) < 2:
            return self._direct(expr, my, target, default)
        pool = rows.pool
        if not pool.cache_matches:
            # A pool that lives one cycle gains little: a vectorized pass over all rows costs about
            # what evaluating a few dozen class representatives pair by pair does.
            return self._on(expr, rows, job, slot_is_my, default)
        classes = ContentClasses.of(pool)
        memo = classes.memo(job)
        plan = memo.plan(pool, expr, slot_is_my)
        if plan.attrs is None:
            return self._on(expr, rows, job, slot_is_my, default)
        if not plan.shape:
            return self._by_class(expr, rows, job, slot_is_my, plan.attrs, default)
        # Slots of different shapes (a START per cluster) read different attributes: class each
        # shape on its own attributes, so one shape reading a per-machine value spoils only itself.
        idx = np.asarray(rows.rows, dtype=np.int64)
        shapes = classes.class_ids(pool, plan.shape, idx)
        present, rep, index = distinct(shapes, classes.count(plan.shape))
        if len(present) == 1:
            attrs = memo.shape_attrs(pool, expr, slot_is_my, plan, int(present[0]), int(idx[0]))
            return self._by_class(expr, rows, job, slot_is_my, attrs, default)
        out = np.empty(len(idx), dtype=bool if default is None else np.float64)
        for k, shape_id in enumerate(present.tolist()):
            sel = np.flatnonzero(index == k)
            attrs = memo.shape_attrs(pool, expr, slot_is_my, plan, shape_id, int(idx[rep[k]]))
            part = SlotRows(pool, idx[sel], {r: np.asarray(c)[sel] for r, c in rows.overrides.items()})
            out[sel] = self._by_class(expr, part, job, slot_is_my, attrs, default)
        return out

    def _by_class(
        self, expr: str, rows: SlotRows, job: Ad, slot_is_my: bool, attrs: tuple[str, ...] | None, default
    ) -> np.ndarray:
        """Evaluate once per content class of ``rows`` on ``attrs`` (results remembered per job)."""
        pool = rows.pool
        classes = ContentClasses.of(pool)
        if attrs is None or classes.poor_sharing(pool, attrs) or len(rows) < 2:
            return self._on(expr, rows, job, slot_is_my, default)
        idx = np.asarray(rows.rows, dtype=np.int64)
        over = {r: np.asarray(c, dtype=np.float64) for r, c in rows.overrides.items() if r in attrs}
        ids = classes.override_ids(pool, attrs, idx, over) if over else classes.class_ids(pool, attrs, idx)
        n_classes = classes.count(attrs)
        dtype = bool if default is None else np.float64
        res = classes.memo(job).results_for((expr, slot_is_my, default, attrs), n_classes, dtype)
        present, rep, index = distinct(ids, n_classes)
        if len(idx) >= 256 and len(present) * POOR_SHARING > len(idx):
            # Hardly two rows alike (a per-machine attribute such as KeyboardIdle is read): evaluating
            # the rows as given is cheaper than picking representatives; stop classifying for them.
            classes.note_poor_sharing(pool, attrs)
            values = self._on(expr, rows, job, slot_is_my, default)
            res.values[present] = values[rep]
            res.known[present] = True
            return values
        todo = ~res.known[present]
        if todo.any():
            pick = rep[todo]
            sub = SlotRows(pool, idx[pick], {r: np.asarray(c)[pick] for r, c in rows.overrides.items()})
            res.values[present[todo]] = self._on(expr, sub, job, slot_is_my, default)
            res.known[present[todo]] = True
        return res.values[present][index]


def default_evaluator() -> Evaluator:
    """Once per content class, vectorized (with classad2 for a handful of rows) when the compiled
    ClassAd module is there, else classad2 alone."""
    try:
        return ContentEvaluator(HybridEvaluator())
    except (ImportError, AttributeError):
        return ContentEvaluator(Classad2Evaluator())
