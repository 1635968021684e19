"""Slot-side expressions that cannot see the job: evaluated once per pool state, shared by every
autocluster.

``NEGOTIATOR_PRE_JOB_RANK``/``POST_JOB_RANK`` (and often START) are evaluated with MY = slot. When
such an expression, followed through the slot ads' own attributes, has no ``TARGET.`` reference, the
job can reach it only through Old-ClassAd fallback: an unscoped name that some slot ad lacks is looked
up in the job. For a job that has none of those names, the value is the same as against an empty ad,
so one evaluation (per slot version) serves every such autocluster.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from condorfed.core.classads.values import Ad, Expr
from condorfed.core.negotiation.content import REF, RESOURCE_NAMES, slot_attr_texts, walk_references
from condorfed.core.negotiation.evaluation import Evaluator, SlotRows
from condorfed.core.negotiation.pool import SlotPool
from condorfed.core.negotiation.refs import _tokens, references

_EMPTY = Ad()
SMALL_BATCH = 24


@dataclass(frozen=True)
class SlotExprInfo:
    sees_target: bool  # some TARGET. reference in the expression or the slot attributes it uses
    fallback: frozenset[str]  # unscoped names some live slot lacks (looked up in the job there)


@dataclass
class _PerSlot:
    """Results per slot, valid where ``versions`` equals the slot's version (-1: never computed)."""

    epoch: int
    versions: np.ndarray
    values: np.ndarray
    static_at: int = -1  # structure_version ``static`` was worked out for
    static: bool = False  # reads no slot resource: claims and releases cannot change it
    # (pool tick, rows array, rows cover the pool?) of the last refresh: asked again for the same
    # read-only rows (the pool's shared id arrays) with no claim or release since, nothing is stale.
    checked: tuple | None = None

    @classmethod
    def empty(cls, epoch: int, n: int, dtype: type = bool) -> _PerSlot:
        return cls(epoch, np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=dtype))

    def fit(self, epoch: int, n: int) -> None:
        """Forget every row when the slots' other attributes changed; grow with the pool."""
        if self.epoch != epoch:
            self.epoch, self.versions = epoch, np.full(n, -1, dtype=np.int64)
            self.checked = None
        if len(self.versions) < n:
            self.checked = None
            k = n - len(self.versions)
            self.versions = np.concatenate([self.versions, np.full(k, -1, dtype=np.int64)])
            self.values = np.concatenate([self.values, np.zeros(k, dtype=self.values.dtype)])

    def refresh(
        self,
        pool: SlotPool,
        rows: np.ndarray,
        evaluate,
        *,
        static: bool = False,
        domain: np.ndarray | None = None,
    ) -> np.ndarray:
        """The values for ``rows``, first evaluating (``evaluate(slot ids)``) the stale ones: slots
        changed since, or with ``static`` only slots never evaluated. More than a handful stale: every
        stale slot that can still take a job (of ``domain``, a mask of the slots these values are for)
        is done in the same call, so later askers find them done; full p-slots are left until asked."""
        n = len(pool)
        tick = (pool.resource_version, pool.structure_version)
        last = self.checked
        if last is not None and last[1] is rows and last[0] == tick and not rows.flags.writeable:
            return self._answer(rows, last[2])

        def old(versions: np.ndarray, now: np.ndarray) -> np.ndarray:
            return versions < 0 if static else versions != now

        whole = _covers_pool(rows, n)
        if whole:
            stale = np.flatnonzero(old(self.versions, pool.version))
        else:
            stale = rows[old(self.versions[rows], pool.version[rows])]
            if len(stale) > SMALL_BATCH:
                free = pool.free_to_match()
                wanted = (free if domain is None else free & domain) & old(self.versions, pool.version)
                wanted[stale] = True
                stale = np.flatnonzero(wanted)
        if len(stale):
            self.values[stale] = evaluate(stale)
            self.versions[stale] = pool.version[stale]
        self.checked = (tick, rows, whole)
        return self._answer(rows, whole)

    def _answer(self, rows: np.ndarray, whole: bool) -> np.ndarray:
        if not whole:
            return self.values[rows]
        view = self.values.view()  # no copy of the whole pool's values: callers only read them
        view.flags.writeable = False
        return view


def expr_info(pool: SlotPool, expr: str) -> SlotExprInfo:
    memo = pool.slot_expr_info
    key = (pool.structure_version, expr)
    hit = memo.get(key)
    if hit is not None:
        return hit
    alive = [pool.ads[i] for i in np.flatnonzero(pool.alive).tolist()]
    todo = list(references(expr))
    seen: set[tuple[str | None, str]] = set()
    sees_target = False
    fallback: set[str] = set()
    while todo:
        scope, name = todo.pop()
        if (scope, name) in seen:
            continue
        seen.add((scope, name))
        if scope == "target":
            sees_target = True
            break
        present = [ad.lower_items().get(name) for ad in alive]
        if scope is None and any(v is None for v in present):
            fallback.add(name)
        for text in {str(v) for v in present if isinstance(v, Expr)}:
            todo.extend(references(text))
    info = SlotExprInfo(sees_target, frozenset(fallback))
    if len(memo) > 1024:
        memo.clear()
    memo[key] = info
    return info


def shareable(pool: SlotPool, expr: str, job: Ad) -> bool:
    """Whether ``expr`` (MY = slot) gives the same values for ``job`` as for an empty ad."""
    info = expr_info(pool, expr)
    if info.sees_target:
        return False
    values = job.lower_items()
    return not any(n in values for n in info.fallback)


def slot_values(pool: SlotPool, ev: Evaluator, expr: str, default: float, rows: np.ndarray) -> np.ndarray:
    """``expr`` as a number for ``rows`` (MY = slot, TARGET = an empty ad), reusing earlier results for
    slots that have not changed since."""
    cache = pool.slot_value_cache
    key = (getattr(ev, "name", "?"), expr, default)
    entry = cache.get(key)
    if entry is None:
        entry = cache[key] = _PerSlot.empty(pool.attr_epoch, len(pool), np.float64)
    entry.fit(pool.attr_epoch, len(pool))
    if entry.static_at != pool.structure_version:  # as in clause_truth (POST_JOB_RANK, usually)
        entry.static = not reads_slot_resources(pool, expr, _EMPTY, my_is_slot=True)
        entry.static_at = pool.structure_version
    evaluate = lambda stale: ev.number(expr, SlotRows(pool, stale), _EMPTY, default)  # noqa: E731
    return entry.refresh(pool, rows, evaluate, static=entry.static)


def _covers_pool(rows: np.ndarray, n: int) -> bool:
    """Whether ``rows`` is every slot id in order (then cached arrays are used whole, without gathers)."""
    return len(rows) == n and (n < 2 or bool((rows[1:] > rows[:-1]).all()))


def _reachable_refs(
    pool: SlotPool, expr: str, job: Ad, my_is_slot: bool, fixed: Mapping[str, object] | None = None
) -> Iterator[tuple[str, bool]]:
    """Every (attribute name, on the slot side?) that ``expr`` can read (:func:`walk_references`)."""
    walk = walk_references(pool, expr, job, my_is_slot, fixed)
    return ((name, on_slot) for kind, _, name, on_slot in walk if kind == REF)


def reads_slot_resources(
    pool: SlotPool, expr: str, job: Ad, *, my_is_slot: bool, fixed: Mapping[str, object] | None = None
) -> bool:
    """Whether ``expr`` can read the slot's Cpus/Memory/Disk/GPUs. If not, its value is the same for every
    state of a p-slot, however many jobs it has taken. ``fixed``: one slot's own attribute values, to
    ask for that slot alone."""
    refs = _reachable_refs(pool, expr, job, my_is_slot, fixed)
    return any(on_slot and name in RESOURCE_NAMES for name, on_slot in refs)


def job_side_names(
    pool: SlotPool, expr: str, job: Ad, *, my_is_slot: bool, shape: int | None = None
) -> tuple[str, ...]:
    """Job attributes ``expr`` can read, sorted. Two jobs with equal values for these get equal results
    from ``expr``. The walk depends only on the slots' expression texts and the job's expression-valued
    attributes (a literal leads nowhere), so jobs alike in those share it. ``shape``: against slots
    of that shape only (see SlotPool.shapes), following their own expressions."""
    job_exprs = tuple((k, v) for k, v in job.lower_items().items() if type(v) is Expr)
    key = (pool.layout_version, expr, my_is_slot, job_exprs, shape)
    memo = pool.job_names_memo
    hit = memo.get(key)
    if hit is None:
        if len(memo) > 65536:
            memo.clear()
        fixed = None if shape is None else pool.shape_exprs(shape)
        refs = _reachable_refs(pool, expr, job, my_is_slot, fixed)
        hit = memo[key] = tuple(sorted({name for name, on_slot in refs if not on_slot}))
    return hit


def job_values(job: Ad, names: tuple[str, ...]) -> tuple:
    """The job's values (with their types: 1, 1.0 and true differ in ClassAd) for ``names``: jobs
    with equal tuples get equal results from an expression that reads only those job attributes."""
    values = job.lower_items()
    return tuple((n, type(values.get(n)), values.get(n)) for n in names)


CLAUSE_CACHE_ENTRIES = 512


def clause_truth(pool: SlotPool, ev: Evaluator, clause: str, job: Ad, rows: np.ndarray) -> np.ndarray | None:
    """truth(clause) with MY = job for slot ``rows``, shared by every job whose readable attributes
    have the same values. None the first time a clause (with those values) is asked for: the caller
    evaluates it together with its other new clauses, and the second asker starts the cache."""
    names = job_side_names(pool, clause, job, my_is_slot=False)
    key = (getattr(ev, "name", "?"), clause, job_values(job, names))
    cache = pool.clause_cache
    entry = cache.get(key)
    n = len(pool)
    if entry is None:
        if key not in pool.clause_seen:
            if len(pool.clause_seen) > 65536:
                pool.clause_seen.clear()
            pool.clause_seen.add(key)
            return None
        entry = _PerSlot.empty(pool.attr_epoch, n)
        cache[key] = entry
        while len(cache) > CLAUSE_CACHE_ENTRIES:
            cache.pop(next(iter(cache)))
    entry.fit(pool.attr_epoch, n)
    if entry.static_at != pool.structure_version:
        # A slot's version moves only when its resources (or, for a static slot, its claim) change;
        # its other attributes change only with attr_epoch. A clause that cannot read a resource, in
        # either ad, keeps its value for a slot until then: only never-evaluated rows are stale.
        entry.static = not reads_slot_resources(pool, clause, job, my_is_slot=False)
        entry.static_at = pool.structure_version
    evaluate = lambda stale: ev.truth(clause, job, SlotRows(pool, stale))  # noqa: E731
    return entry.refresh(pool, rows, evaluate, static=entry.static)


SLOT_TRUTH_ENTRIES = 256
_WHOLE_AD = frozenset({"target", "my", "other"})  # bare scope names: the value is a whole ad
_OPAQUE = frozenset({"other", "parent", "eval"})  # ids that may reach attributes we cannot list


def _readable_job_names(
    pool: SlotPool, expr: str, job: Ad, shape: int | None = None
) -> tuple[str, ...] | None:
    """:func:`job_side_names` for a slot-side expression (MY = slot), or None when the expression
    could see more of the job than named attributes (a bare ``TARGET``, ``parent``, ``eval``)."""
    memo = pool.slot_expr_info
    key = (pool.layout_version, "opaque", expr)
    opaque = memo.get(key)
    if opaque is None:
        texts = {expr}
        todo = [expr]
        while todo:
            for _, name in references(todo.pop()):
                for t in slot_attr_texts(pool, name):
                    if t not in texts:
                        texts.add(t)
                        todo.append(t)
        opaque = memo[key] = any(
            kind == "id" and tok.lower() in _OPAQUE for t in texts for kind, tok in _tokens(t)
        )
    if opaque:
        return None
    names = job_side_names(pool, expr, job, my_is_slot=True, shape=shape)
    values = job.lower_items()
    for n in names:  # job attribute expressions read by the slot side must be as plain
        v = values.get(n)
        if isinstance(v, Expr) and any(k == "id" and tok.lower() in _OPAQUE for k, tok in _tokens(str(v))):
            return None
    if _WHOLE_AD & set(names):
        return None
    return names


def slot_truth(pool: SlotPool, ev: Evaluator, expr: str, job: Ad, rows: np.ndarray) -> np.ndarray:
    """truth(expr) with MY = slot, TARGET = job for slot ``rows`` (the slots' START), shared by every
    job whose attributes the expression can read have the same values (with their types), and kept
    per slot version. Falls back to a plain evaluation when the readable attributes cannot be listed.

    Rows the shared entry lacks come from entries per slot shape: a cloud's START that reads
    MaxRuntime and an on-prem one that reads Owner are shared separately, each by the job attributes
    its own expressions read, so a job new in one of them re-evaluates only those slots."""
    _, reps = pool.shapes()
    if len(reps) < 2:
        return _slot_truth_of(pool, ev, expr, job, rows, None, None)
    return _slot_truth_of(
        pool, ev, expr, job, rows, None, lambda stale: _by_shape(pool, ev, expr, job, stale)
    )


def _by_shape(pool: SlotPool, ev: Evaluator, expr: str, job: Ad, rows: np.ndarray) -> np.ndarray:
    # A sub-table of many rows is slower to evaluate than the whole pool's (which is kept encoded), so
    # a shape with a quarter of the pool or more stale takes them from one evaluation over every live
    # slot; fewer (the free slots late in a cycle) are evaluated on their own.
    whole: list[np.ndarray] = []

    def evaluate(stale: np.ndarray) -> np.ndarray:
        if len(stale) <= SMALL_BATCH or 4 * len(stale) < len(pool):
            return ev.truth(expr, SlotRows(pool, stale), job)
        if not whole:
            live = np.flatnonzero(pool.alive)
            values = np.zeros(len(pool), bool)
            values[live] = ev.truth(expr, SlotRows(pool, live), job)
            whole.append(values)
        return whole[0][stale]

    shape_of, reps = pool.shapes()
    shapes = shape_of[rows]
    out = np.empty(len(rows), bool)
    for shape in np.flatnonzero(np.bincount(shapes, minlength=len(reps))).tolist():
        at = np.flatnonzero(shapes == shape)
        out[at] = _slot_truth_of(pool, ev, expr, job, rows[at], shape, evaluate)
    return out


def _slot_truth_of(
    pool: SlotPool, ev: Evaluator, expr: str, job: Ad, rows: np.ndarray, shape: int | None, evaluate
) -> np.ndarray:
    """:func:`slot_truth` from the entry for ``shape`` (None: every slot), filling its stale rows
    with ``evaluate`` (None: evaluate them directly)."""
    names = _readable_job_names(pool, expr, job, shape)
    if names is None:
        return ev.truth(expr, SlotRows(pool, rows), job)
    if evaluate is None:
        evaluate = lambda stale: ev.truth(expr, SlotRows(pool, stale), job)  # noqa: E731
    key = (getattr(ev, "name", "?"), expr, shape, job_values(job, names))
    cache = pool.slot_truth_cache
    n = len(pool)
    entry = cache.pop(key, None)  # least recently used first: re-inserted at the end
    if entry is None:
        entry = _PerSlot.empty(pool.attr_epoch, n)
        while len(cache) >= SLOT_TRUTH_ENTRIES:
            cache.pop(next(iter(cache)))
    cache[key] = entry
    entry.fit(pool.attr_epoch, n)
    if entry.static_at != pool.structure_version:  # as in clause_truth
        fixed = None if shape is None else pool.shape_exprs(shape)
        entry.static = not reads_slot_resources(pool, expr, job, my_is_slot=True, fixed=fixed)
        entry.static_at = pool.structure_version
    domain = None if shape is None else pool.shape_mask(shape)
    return entry.refresh(pool, rows, evaluate, static=entry.static, domain=domain)
