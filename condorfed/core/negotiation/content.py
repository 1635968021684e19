"""Content classes of slot ads: slots that look the same to an expression get the same result.

A ClassAd expression evaluated between one job ad and a slot ad can only read the attributes it
names, followed through the attribute values that are themselves expressions (in either ad: with
Old-ClassAd lookup an unscoped name may resolve on either side). Two slots whose values for those
attributes are equal (same type, same value, both absent) therefore give equal results. A pool of
25,000 machines of a few hardware types has only a few dozen such classes for a typical START or
job Requirements, so evaluating once per class and gathering is far cheaper than once per slot.

Class ids are *content addressed* and never reused: the same attribute values get the same id in
every cycle, which lets results be remembered across cycles (see ``ContentEvaluator``).

Expressions whose value depends on more than named attributes (``eval()``, ``random()``,
``time()``, ``parent``, a whole-ad reference such as a bare ``TARGET``) have no plan: callers
evaluate them row by row.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from condorfed.core.classads.values import Ad, Expr
from condorfed.core.negotiation.pool import RESOURCES, SlotPool
from condorfed.core.negotiation.refs import _tokens, references

# Ids that read more than named attributes, or read the clock or a random source.
_OPAQUE_IDS = frozenset({"eval", "random", "time", "currenttime", "parent", "other"})
_WHOLE_AD = frozenset({"my", "target"})  # bare scope names: the value is a whole ad
_MISSING = ("missing",)  # an absent attribute: no ad value is a tuple, so its key matches no value
_UNIQUE_AT = 64  # above this many rows, find distinct code rows with numpy instead of a dict walk
_ONE_BY_ONE = 4096  # up to this many slots changed by claims are re-keyed straight from their ads
JOB_MEMOS = 256  # jobs whose per-class results a pool remembers (least recently used go first)
TRANSITIONS_KEPT = 1 << 18  # (class, request) -> class after a claim, per attribute set


def value_key(v: object) -> Hashable:
    """A key equal exactly for values every ClassAd expression treats alike: the type is part of
    it (``1``, ``1.0`` and ``true`` differ; an expression is not a string), and zero and NaN floats
    by repr (``-0.0`` is not ``0.0``)."""
    t = type(v)
    if t is float and (v == 0.0 or v != v):
        return (float, repr(v))
    return (t, v)


def slot_attr_texts(pool: SlotPool, name: str) -> tuple[str, ...]:
    """Distinct expression texts the live slot ads give attribute ``name`` (cached per text layout)."""
    memo = pool.slot_expr_info
    key = (pool.layout_version, "texts", name)
    hit = memo.get(key)
    if hit is None:
        hit = memo[key] = pool.expr_texts(name)
    return hit


TEXT, REF = "text", "ref"


def walk_references(
    pool: SlotPool, expr: str, job: Ad, my_is_slot: bool, fixed: Mapping[str, object] | None = None
) -> Iterator[tuple[str, str | None, str, bool]]:
    """Walk what ``expr`` can read between ``job`` and a live slot: every expression text visited as
    ``(TEXT, None, text, side)`` and every attribute reference in it as ``(REF, scope, name, on_slot)``,
    following attribute values that are expressions in either ad (an unscoped name may resolve on
    either side: Old-ClassAd lookup). ``fixed`` gives some slot attributes' values (slots of one
    shape): only those expressions are followed. Lazy: a caller may stop at the first hit."""
    job_values = job.lower_items()
    stack = [(expr, my_is_slot)]
    seen: set[tuple[str, bool]] = set()
    while stack:
        text, slot_side = stack.pop()
        if (text, slot_side) in seen:
            continue
        seen.add((text, slot_side))
        yield TEXT, None, text, slot_side
        for scope, name in references(text):
            if scope == "my":
                sides: tuple[bool, ...] = (slot_side,)
            elif scope == "target":
                sides = (not slot_side,)
            else:
                sides = (slot_side, not slot_side)
            for on_slot in sides:
                yield REF, scope, name, on_slot
                if not on_slot:
                    v = job_values.get(name)
                    if isinstance(v, Expr):
                        stack.append((str(v), False))
                elif fixed is not None and name in fixed:
                    if isinstance(fixed[name], Expr):
                        stack.append((str(fixed[name]), True))
                else:
                    stack.extend((t, True) for t in slot_attr_texts(pool, name))


def slot_attributes_read(
    pool: SlotPool, expr: str, job: Ad, *, my_is_slot: bool, fixed: Mapping[str, object] | None = None
) -> tuple[str, ...] | None:
    """The slot attributes (lower case, sorted) ``expr`` can read between ``job`` and a live slot of
    ``pool``, or None when its value may depend on anything else (see module docstring)."""
    names: set[str] = set()
    for kind, scope, name, on_slot in walk_references(pool, expr, job, my_is_slot, fixed):
        if kind == TEXT:
            if any(k == "id" and tok.lower() in _OPAQUE_IDS for k, tok in _tokens(name)):
                return None
        elif scope is None and name in _WHOLE_AD:
            return None
        elif on_slot:
            names.add(name)
    return tuple(sorted(names))


RESOURCE_NAMES = frozenset({"cpus", "memory", "disk", "gpus"})


@dataclass
class _Codes:
    """Per-slot codes (``seen`` is the slot version they were computed at; -1: never).

    ``moves`` says whether the codes can change with a slot's version (they involve a resource,
    which claims change); if not, only new slots and in-place edits (``attr_epoch``) make them stale.
    """

    moves: bool
    codes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    seen: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    epoch: int = -1
    synced_at: tuple = ()
    mark: int = -1  # the pool journal's position at the last sync (see SlotPool.changed_since)

    def stale(self, pool: SlotPool) -> np.ndarray:
        """Slots whose code must be (re)computed; nothing is compared while the pool has not moved,
        and only the slots the pool's journal names while it reaches back far enough."""
        tick = (pool.attr_epoch, len(pool), pool.resource_version if self.moves else 0)
        if tick == self.synced_at:
            return _NONE
        if self.moves and self.synced_at[:2] == tick[:2]:  # only claims and releases since
            moved, mark = pool.changed_since(self.mark)
            if moved is not None:
                self.synced_at, self.mark = tick, mark
                seen, version = self.seen, pool.version
                if len(moved) > 16:  # (a noted claim needs none)
                    idx = np.fromiter(set(moved), dtype=np.int64)
                    return idx[seen[idx] != version[idx]]
                rows = [i for i in (set(moved) if len(moved) > 1 else moved) if seen[i] != version[i]]
                return np.array(rows, dtype=np.int64) if rows else _NONE
        self.synced_at = tick
        n = len(pool)
        if self.epoch != pool.attr_epoch:
            self.epoch = pool.attr_epoch
            self.seen = np.full(n, -1, dtype=np.int64)
            self.codes = np.zeros(n, dtype=np.int64)
        elif len(self.seen) < n:
            k = n - len(self.seen)
            self.seen = np.concatenate([self.seen, np.full(k, -1, dtype=np.int64)])
            self.codes = np.concatenate([self.codes, np.zeros(k, dtype=np.int64)])
        if not self.moves:
            return np.flatnonzero(self.seen < 0)
        _, self.mark = pool.changed_since(self.mark)  # caught up by comparing every slot
        return np.flatnonzero(self.seen != pool.version)


_NONE = np.zeros(0, dtype=np.int64)


@dataclass
class Results:
    """One expression's result per class id (valid where ``known``)."""

    values: np.ndarray
    known: np.ndarray

    def fit(self, n: int) -> None:
        k = n - len(self.known)
        if k > 0:
            self.values = np.concatenate([self.values, np.zeros(k, dtype=self.values.dtype)])
            self.known = np.concatenate([self.known, np.zeros(k, dtype=bool)])


@dataclass(frozen=True)
class Plan:
    """What an expression reads: ``attrs`` (None: not only named attributes), and ``shape``, those of
    them that some slots give as expressions (START, Requirements, ...). Slots of one shape (equal
    values there) may read fewer attributes than the whole pool: see :meth:`JobMemo.shape_attrs`."""

    attrs: tuple[str, ...] | None
    shape: tuple[str, ...] = ()


@dataclass
class JobMemo:
    """Per job ad: which slot attributes each expression reads, and its results per class."""

    job: Ad
    snapshot: dict
    plans: dict = field(default_factory=dict)  # (expr, slot is MY) -> (layout_version, Plan)
    shapes: dict = field(default_factory=dict)  # (expr, slot is MY, shape id) -> (layout_version, attrs)
    results: dict = field(default_factory=dict)  # (expr, slot is MY, default, attrs) -> Results

    def plan(self, pool: SlotPool, expr: str, my_is_slot: bool) -> Plan:
        hit = self.plans.get((expr, my_is_slot))
        if hit is None or hit[0] != pool.layout_version:
            attrs = slot_attributes_read(pool, expr, self.job, my_is_slot=my_is_slot)
            shape = () if attrs is None else tuple(a for a in attrs if slot_attr_texts(pool, a))
            hit = self.plans[(expr, my_is_slot)] = (pool.layout_version, Plan(attrs, shape))
        return hit[1]

    def shape_attrs(self, pool: SlotPool, expr: str, my_is_slot: bool, plan: Plan, shape_id: int, slot: int):
        """The attributes slots of shape ``shape_id`` (``slot`` is one of them) can read."""
        key = (expr, my_is_slot, plan.shape, shape_id)
        hit = self.shapes.get(key)
        if hit is None or hit[0] != pool.layout_version:
            values = pool.ads[slot].lower_items()
            fixed = {a: values.get(a, _MISSING) for a in plan.shape}
            attrs = slot_attributes_read(pool, expr, self.job, my_is_slot=my_is_slot, fixed=fixed)
            hit = self.shapes[key] = (pool.layout_version, attrs)
        return hit[1]

    def results_for(self, key: tuple, n: int, dtype: type) -> Results:
        res = self.results.get(key)
        if res is None:
            res = self.results[key] = Results(np.zeros(n, dtype=dtype), np.zeros(n, dtype=bool))
        res.fit(n)
        return res


class ContentClasses:
    """Content-addressed codes of a pool's slots: per attribute, and per attribute set (a class).

    Ids only grow: ``ids(attr, value)`` and ``class_id(attrs, codes)`` give the same number for the
    same content for the pool's lifetime, whatever slots come and go.
    """

    def __init__(self) -> None:
        self.jobs: OrderedDict[int, JobMemo] = OrderedDict()
        self._value_ids: dict[str, dict[Hashable, int]] = {}
        self._attr: dict[str, _Codes] = {}
        self._class_ids: dict[tuple[str, ...], dict[tuple[int, ...], int]] = {}
        self._classes: dict[tuple[str, ...], _Codes] = {}
        self._poor: dict[tuple[str, ...], int] = {}  # attrs -> structure_version it was seen at
        self._splits: dict[tuple[str, ...], tuple[tuple[str, ...], tuple[str, ...]]] = {}
        self._rekey_plans: dict[tuple[str, ...], tuple] = {}  # attrs -> (static, class table, value ids)
        self._after: dict[tuple[str, ...], dict] = {}  # attrs -> (class, request) -> class after
        self._number_ids: dict[str, dict[float, int]] = {}  # resource -> float value -> code

    def poor_sharing(self, pool: SlotPool, attrs: tuple[str, ...]) -> bool:
        """Whether the pool's slots, as laid out now, are nearly all different on ``attrs``."""
        return self._poor.get(attrs) == pool.structure_version

    def note_poor_sharing(self, pool: SlotPool, attrs: tuple[str, ...]) -> None:
        self._poor[attrs] = pool.structure_version

    @staticmethod
    def of(pool: SlotPool) -> ContentClasses:
        cc = pool.content_classes.get("classes")
        if cc is None:
            cc = pool.content_classes["classes"] = ContentClasses()
        return cc

    def memo(self, job: Ad) -> JobMemo:
        """What this pool remembers for ``job``: forgotten if the ad was edited since."""
        key = id(job)
        memo = self.jobs.get(key)
        if memo is None or memo.job is not job or memo.snapshot != job.lower_items():
            memo = self.jobs[key] = JobMemo(job, dict(job.lower_items()))
            while len(self.jobs) > JOB_MEMOS:
                self.jobs.popitem(last=False)
        else:
            self.jobs.move_to_end(key)
        return memo

    def count(self, attrs: tuple[str, ...]) -> int:
        """How many class ids ``attrs`` has handed out (every id is below this)."""
        return len(self._class_ids.get(attrs, ()))

    def value_code(self, name: str, value: object) -> int:
        ids = self._value_ids.get(name)
        if ids is None:
            ids = self._value_ids[name] = {}
        key = value_key(value)
        code = ids.get(key)
        if code is None:
            code = ids[key] = len(ids)
        return code

    def _ad_code(self, name: str, values: Mapping[str, object]) -> int:
        """The code of attribute ``name`` in an ad's lower-cased values (absent: its own code)."""
        return self.value_code(name, values.get(name, _MISSING))

    def attr_codes(self, pool: SlotPool, name: str) -> np.ndarray:
        """Every slot's code for attribute ``name`` (synced with the pool)."""
        state = self._attr.get(name)
        if state is None:
            state = self._attr[name] = _Codes(moves=name in RESOURCE_NAMES)
        stale = state.stale(pool)
        if len(stale):
            ads, codes = pool.ads, state.codes
            for i in stale.tolist():
                codes[i] = self._ad_code(name, ads[i].lower_items())
            state.seen[stale] = pool.version[stale]
        return state.codes

    def _split(self, attrs: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(attributes claims never change, resources). A class is keyed (class of the first, codes
        of the second): a claim re-keys a slot with a few lookups, however many attributes are read."""
        hit = self._splits.get(attrs)
        if hit is None:
            hit = self._splits[attrs] = (
                tuple(a for a in attrs if a not in RESOURCE_NAMES),
                tuple(a for a in attrs if a in RESOURCE_NAMES),
            )
        return hit

    def _static_ids(self, pool: SlotPool, static: tuple[str, ...]) -> np.ndarray:
        """Every slot's class id on attributes that claims never change (synced on new slots)."""
        state = self._classes.get(static)
        if state is None:
            state = self._classes[static] = _Codes(moves=False)
        stale = state.stale(pool)
        if len(stale) > _UNIQUE_AT:  # many (a new pool): per-attribute code columns, numpy
            matrix = np.column_stack([self.attr_codes(pool, a)[stale] for a in static]) if static else None
            state.codes[stale] = self.ids_of(static, matrix, len(stale))
        elif len(stale):
            table = self._class_ids.setdefault(static, {})
            for i in stale.tolist():
                values = pool.ads[i].lower_items()
                key = tuple(self._ad_code(a, values) for a in static)
                cid = table.get(key)
                if cid is None:
                    cid = table[key] = len(table)
                state.codes[i] = cid
        if len(stale):
            state.seen[stale] = pool.version[stale]
        return state.codes

    def class_ids(self, pool: SlotPool, attrs: tuple[str, ...], rows: np.ndarray) -> np.ndarray:
        """The class id of each row (slot id) for attribute set ``attrs`` (synced with the pool)."""
        return self.every_class_id(pool, attrs)[rows]

    def every_class_id(self, pool: SlotPool, attrs: tuple[str, ...]) -> np.ndarray:
        """Every slot's class id for ``attrs``, synced with the pool (the cache itself: do not write)."""
        static, moving = self._split(attrs)
        if not moving:
            return self._static_ids(pool, static)
        state = self._classes.get(attrs)
        if state is None:
            state = self._classes[attrs] = _Codes(moves=True)
        stale = state.stale(pool)
        if len(stale) > _ONE_BY_ONE:
            sid = self._static_ids(pool, static)[stale]
            matrix = np.column_stack([sid, *(self.attr_codes(pool, a)[stale] for a in moving)])
            state.codes[stale] = self.ids_of(attrs, matrix, len(stale))
            state.seen[stale] = pool.version[stale]
        elif len(stale):  # a few slots changed by claims: straight from their ads, element by element
            self._rekey(pool, attrs, state, stale.tolist())
        return state.codes

    def _rekey(self, pool: SlotPool, attrs: tuple[str, ...], state: _Codes, rows: Iterable[int]) -> None:
        """Class ids of ``rows`` for ``attrs`` from their ads (the static part's id and the resources'
        value codes; a slot's static id cannot have changed while the pool's layout has not)."""
        plan = self._rekey_plans.get(attrs)
        if plan is None:
            static, moving = self._split(attrs)
            table = self._class_ids.setdefault(attrs, {})
            value_ids = [(a, self._value_ids.setdefault(a, {})) for a in moving]
            plan = self._rekey_plans[attrs] = (static, table, value_ids)
        static, table, value_ids = plan
        synced = self._classes.get(static)
        if synced is not None and synced.synced_at == (pool.attr_epoch, len(pool.ads), 0):
            sid = synced.codes
        else:
            sid = self._static_ids(pool, static)
        ads, codes, seen, version = pool.ads, state.codes, state.seen, pool.version
        for i in rows:
            values = ads[i].lower_items()
            key = [int(sid[i])]
            for a, ids in value_ids:  # value_code(), inlined: hot
                vk = value_key(values.get(a, _MISSING))
                code = ids.get(vk)
                if code is None:
                    code = ids[vk] = len(ids)
                key.append(code)
            key = tuple(key)
            cid = table.get(key)
            if cid is None:
                cid = table[key] = len(table)
            codes[i] = cid
            seen[i] = version[i]

    def ids_of(self, attrs: tuple[str, ...], matrix: np.ndarray | None, n: int) -> np.ndarray:
        """Class ids for rows of codes (shape (n, k)): keyed in ``attrs``'s table."""
        table = self._class_ids.setdefault(attrs, {})
        if matrix is None:  # reads no slot attribute: one class
            if not table:
                table[()] = 0
            return np.zeros(n, dtype=np.int64)
        if n > _UNIQUE_AT:
            distinct, inverse = np.unique(matrix, axis=0, return_inverse=True)
            inverse = inverse.reshape(-1)
        else:
            distinct, inverse = matrix, np.arange(n)
        out = np.empty(len(distinct), dtype=np.int64)
        for j, row in enumerate(map(tuple, distinct.tolist())):
            cid = table.get(row)
            if cid is None:
                cid = table[row] = len(table)
            out[j] = cid
        return out[inverse]

    def override_ids(
        self, pool: SlotPool, attrs: tuple[str, ...], rows: np.ndarray, overrides: Mapping[str, np.ndarray]
    ) -> np.ndarray:
        """Class ids of rows whose resources in ``overrides`` (lower-case name -> values per row)
        replace the slot's own: the ids a slot holding those resources would have."""
        static, moving = self._split(attrs)
        if not moving:
            return self._static_ids(pool, static)[rows]
        columns = [self._static_ids(pool, static)[rows]]
        for a in moving:
            values = overrides.get(a)
            own = values is None
            columns.append(self.attr_codes(pool, a)[rows] if own else self._number_codes(a, values))
        return self.ids_of(attrs, np.column_stack(columns), len(rows))

    def after_claim(
        self,
        pool: SlotPool,
        attrs: tuple[str, ...],
        cid: int,
        request: tuple[float, ...],
        row: int,
        left: Sequence[float],
    ) -> int:
        """The class a p-slot of class ``cid`` moves to when a claim takes ``request`` (cpus, memory,
        disk, gpus) from it, leaving ``left``; ``row`` is a slot whose other attributes it shares.
        A claim rewrites only the resources it changes, as whole numbers where they are whole, so
        the answer depends on the class and the request alone (remembered)."""
        known = self.transitions(attrs)
        hit = known.get((cid, request))
        if hit is None:
            over = {r: np.array([left[k]]) for k, r in enumerate(RESOURCES) if request[k] != 0}
            hit = known[(cid, request)] = int(self.override_ids(pool, attrs, np.array([row]), over)[0])
        return hit

    def note_class(self, pool: SlotPool, attrs: tuple[str, ...], slot: int, cid: int) -> None:
        """Slot ``slot`` is in class ``cid`` for ``attrs`` now (a claim whose transition is known):
        its ad need not be read again."""
        state = self._classes.get(attrs)
        if state is not None and slot < len(state.codes) and state.epoch == pool.attr_epoch:
            state.codes[slot] = cid
            state.seen[slot] = pool.version[slot]

    def transitions(self, attrs: tuple[str, ...]) -> dict[tuple[int, tuple[float, ...]], int]:
        """(class, request) -> class after the claim, as :meth:`after_claim` has found them."""
        known = self._after.get(attrs)
        if known is None or len(known) > TRANSITIONS_KEPT:  # a long-lived pool: start afresh now and then
            known = self._after[attrs] = {}
        return known

    def _number_codes(self, name: str, values: np.ndarray) -> np.ndarray:
        """Codes of resource numbers as the ad would hold them (integral values as integers)."""
        known = self._number_ids.get(name)
        if known is None:
            known = self._number_ids[name] = {}
        out = []
        for v in values.tolist():
            code = known.get(v)
            if code is None:  # floats from one float64 column: -0.0 and 0.0 both become the int 0
                code = known[v] = self.value_code(name, int(v) if v.is_integer() else v)
            out.append(code)
        return np.asarray(out, dtype=np.int64)


def distinct(ids: np.ndarray, bound: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distinct ids ascending, one row holding each, row -> index into the distinct ids) for ids in
    [0, bound): linear passes over a scratch array while it is small, else a sort. Any row of a class
    may represent it: they all give the same result."""
    n = len(ids)
    if bound > 4 * n + 1024:
        uniq, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
        return uniq, first, inverse.reshape(-1)
    row_of = np.full(bound, -1, dtype=np.int64)
    row_of[ids] = np.arange(n)
    present = np.flatnonzero(row_of >= 0)
    index = np.empty(bound, dtype=np.int64)
    index[present] = np.arange(len(present))
    return present, row_of[present], index[ids]
