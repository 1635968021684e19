"""Judging slots for one autocluster: the job's Requirements against slots, the slots' Requirements
(START) against the job, the three rank keys and the quantized request, evaluated over rows of the
pool with shortcuts shared across autoclusters (clauses, slot-only ranks) and, in a persistent pool,
once per content class of slots (content.py). Both kinds of match list build on this."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from condorfed.core.classads.values import Ad, Expr
from condorfed.core.negotiation.config import NegotiatorConfig
from condorfed.core.negotiation.content import ContentClasses, distinct, slot_attributes_read
from condorfed.core.negotiation.evaluation import Evaluator, SlotRows
from condorfed.core.negotiation.pool import SlotPool
from condorfed.core.negotiation.refs import _tokens, references
from condorfed.core.negotiation.slotonly import (
    clause_truth,
    job_side_names,
    job_values,
    shareable,
    slot_truth,
    slot_values,
)
from condorfed.core.negotiation.split import split_conjunction

FLT_MAX = 3.4028234663852886e38


@dataclass
class _ClassRows:
    """A list's judgement of each content class of slots (see content.py), valid where ``known``:
    whether the job's and the slot's Requirements hold, the three rank keys, the quantized request."""

    known: np.ndarray
    job_ok: np.ndarray
    slot_ok: np.ndarray
    keys: np.ndarray  # (3, n): pre, rank, post
    req: np.ndarray  # (4, n)

    @classmethod
    def empty(cls) -> _ClassRows:
        none = np.zeros(0, bool)
        return cls(none, none.copy(), none.copy(), np.zeros((3, 0)), np.zeros((4, 0)))

    def fit(self, n: int) -> None:
        k = n - len(self.known)
        if k > 0:
            self.known = np.concatenate([self.known, np.zeros(k, bool)])
            self.job_ok = np.concatenate([self.job_ok, np.zeros(k, bool)])
            self.slot_ok = np.concatenate([self.slot_ok, np.zeros(k, bool)])
            self.keys = np.concatenate([self.keys, np.zeros((3, k))], axis=1)
            self.req = np.concatenate([self.req, np.zeros((4, k))], axis=1)


_NOT_JOB_ONLY = frozenset({"target", "other", "parent", "eval"})


def _reads_job_only(job: Ad, attr: str) -> bool:
    values = job.lower_items()
    todo = [attr.lower()]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        v = values.get(name)
        if not isinstance(v, Expr):
            continue  # a literal, or missing (MY.x of a missing x is UNDEFINED, not the slot's)
        text = str(v)
        if any(kind == "id" and tok.lower() in _NOT_JOB_ONLY for kind, tok in _tokens(text)):
            return False
        for scope, ref in references(text):
            if scope == "target" or (scope is None and ref not in values):
                return False
            todo.append(ref)
    return True


def _quantize(values: np.ndarray, q: int) -> np.ndarray:
    if q <= 1:
        return np.ceil(values - 1e-9) if q == 1 else values
    return np.ceil(values / q - 1e-9) * q


SMALL_ROWS = 64  # up to this many rows, plain (4, n) arrays cost less than the per-resource shortcuts


def fits(req: np.ndarray, have: Sequence[np.ndarray] | np.ndarray, part: np.ndarray) -> np.ndarray:
    """Whether requests ``req`` (4, n) fit the resources left ``have`` (4 rows of n), or the slot is
    static (taken whole). A request the same for every row (a broadcast view) is compared as one
    number, without 4 x n temporaries."""
    if len(part) <= SMALL_ROWS or req.strides[1] != 0:
        return np.all(req <= np.asarray(have) + 1e-9, axis=0) | ~part
    every = np.ones(len(part), bool)
    for i, col in enumerate(have):
        every &= req[i, 0] <= col + 1e-9
    return every | ~part


class Judge:
    """The evaluation half of a match list (see module docstring)."""

    def __init__(self, job: Ad, pool: SlotPool, evaluator: Evaluator, config: NegotiatorConfig) -> None:
        self.job = job
        self.pool = pool
        self.ev = evaluator
        self.cfg = config
        self._job_only_memo: dict[str, bool] = {}
        self._steady: dict[str, bool] = {}  # attr -> its value may be remembered (see _job_only_value)
        self._class_plan: tuple[int, tuple[str, ...] | None] | None = None  # (layout_version, attrs)
        self._class_rows: dict[tuple[tuple[str, ...], bool], _ClassRows] = {}  # (attrs, states?) -> rows

    def _job_requirements(self, rows: SlotRows) -> np.ndarray:
        """truth(job Requirements) per row. A conjunction is truthy exactly when every top-level clause
        is (ClassAd ``&&`` accepts non-zero numbers as true), so clauses many autoclusters share
        (``TARGET.Arch == "X86_64"``, ...) come from a per-pool cache, and the rest is evaluated as one."""
        job, n = self.job, len(rows)
        req = job.get("Requirements")
        if req is None:
            return np.zeros(n, bool)
        clauses = split_conjunction(str(req)) if isinstance(req, Expr) else []
        if len(clauses) < 2 or rows.overrides:
            return self.ev.truth("MY.Requirements", job, rows)
        ok = np.ones(n, bool)
        rest: list[str] = []
        idx = np.asarray(rows.rows, dtype=np.int64)
        for c in clauses:
            shared = clause_truth(self.pool, self.ev, c, job, idx)
            if shared is None:
                rest.append(c)
            else:
                ok &= shared
        if rest:
            ok &= self.ev.truth("true && (" + ") && (".join(rest) + ")", job, rows)
        return ok

    def _slot_number(self, expr: str | None, rows: SlotRows, default: float) -> np.ndarray:
        """A slot-side rank (MY = slot); shared across autoclusters when the job cannot affect it."""
        if not expr:
            return np.zeros(len(rows))
        if not rows.overrides and shareable(self.pool, expr, self.job):
            return slot_values(self.pool, self.ev, expr, default, np.asarray(rows.rows, dtype=np.int64))
        return self.ev.number(expr, rows, self.job, default)

    def _job_number(self, attr: str, rows: SlotRows, default: float) -> np.ndarray:
        """A job attribute's value against each row; a literal needs no evaluation."""
        v = self.job.get(attr)
        if v is None:
            return np.full(len(rows), default)
        if isinstance(v, int | float) and not isinstance(v, Expr):
            return np.full(len(rows), float(v))
        if len(rows) > 1 and self._job_only(attr):
            # The same for every slot (e.g. RequestDisk = DiskUsage): one value, broadcast.
            return np.full(len(rows), self._job_only_value(attr, rows, default))
        return self.ev.number(f"MY.{attr}", self.job, rows, default)

    def _job_only_value(self, attr: str, rows: SlotRows, default: float) -> float:
        """``MY.<attr>`` of a job-only attribute, evaluated against one row; remembered in the pool for
        every job with equal values of the job attributes it reads (autoclusters of one workflow
        share RequestDisk = DiskUsage), so each job ad need not be converted for the evaluator."""
        pool, job = self.pool, self.job

        def evaluate() -> float:
            one = SlotRows(rows.pool, rows.rows[:1], {r: c[:1] for r, c in rows.overrides.items()})
            return float(self.ev.number(f"MY.{attr}", job, one, default)[0])

        steady = self._steady.get(attr)
        if steady is None:  # time(), random(), eval(): not the same on the next call
            steady = self._steady[attr] = (
                slot_attributes_read(pool, f"MY.{attr}", job, my_is_slot=False) is not None
            )
        if not steady:
            return evaluate()
        names = job_side_names(pool, f"MY.{attr}", job, my_is_slot=False)
        key = (getattr(self.ev, "name", "?"), attr, default, job_values(job, names))
        memo = pool.job_value_memo
        hit = memo.get(key)
        if hit is None:
            if len(memo) > 4096:
                memo.clear()
            hit = memo[key] = evaluate()
        return hit

    def _job_only(self, attr: str) -> bool:
        """Whether ``MY.<attr>`` can only read the job: no TARGET reference and every unscoped name
        found in the job itself (Old-ClassAd lookup never reaches the slot), followed through the
        job's own attribute expressions. Conservative: ``other``/``parent``/``eval`` anywhere say no."""
        hit = self._job_only_memo.get(attr)
        if hit is None:
            hit = self._job_only_memo[attr] = _reads_job_only(self.job, attr)
        return hit

    def _job_scalar(self, attr: str, rows: SlotRows, default: float) -> float | None:
        """The job attribute's value when it is the same against every row (a literal, or an expression
        that reads only the job), else None."""
        v = self.job.get(attr)
        if v is None:
            return default
        if isinstance(v, int | float) and not isinstance(v, Expr):
            return float(v)
        if len(rows) > 0 and self._job_only(attr):
            return self._job_only_value(attr, rows, default)
        return None

    def _requests(self, rows: SlotRows) -> np.ndarray:
        """Quantized (cpus, memory, disk, gpus) the job asks of each row: shape (4, n)."""
        cfg = self.cfg
        asks = (
            ("RequestCpus", 1.0, cfg.quantize_cpus),
            ("RequestMemory", 0.0, cfg.quantize_memory),
            ("RequestDisk", 0.0, cfg.quantize_disk),
            ("RequestGPUs", 0.0, 1),
        )
        ones = [self._job_scalar(attr, rows, default) for attr, default, _ in asks]
        if len(rows) > SMALL_ROWS and all(one is not None for one in ones):
            # The usual case: the same request of every row. A read-only broadcast view, not 4 x n
            # floats written afresh for each autocluster.
            scalars = np.array(
                [_quantize(np.array([one]), q)[0] for one, (_, _, q) in zip(ones, asks, strict=True)]
            )
            return np.broadcast_to(scalars[:, None], (4, len(rows)))
        out = np.empty((4, len(rows)))
        for i, (one, (attr, default, q)) in enumerate(zip(ones, asks, strict=True)):
            if one is not None:
                out[i] = _quantize(np.array([one]), q)[0]  # the same arithmetic as for a column
            else:
                out[i] = _quantize(self._job_number(attr, rows, default), q)
        return out

    def _match_and_keys(self, rows: SlotRows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(job Requirements, slot Requirements, keys (3, n): pre/rank/post) for rows. Keys are rows, as
        requests are: stacking three columns into (n, 3) was a strided copy of the whole pool per list."""
        ev, job, cfg = self.ev, self.job, self.cfg
        job_ok = self._job_requirements(rows)
        if rows.overrides:
            slot_ok = ev.truth("MY.Requirements", rows, job)
        else:
            slot_ok = slot_truth(self.pool, ev, "MY.Requirements", job, np.asarray(rows.rows, dtype=np.int64))
        pre = self._slot_number(cfg.pre_job_rank, rows, -FLT_MAX)
        rank = self._job_number("Rank", rows, 0.0)
        post = self._slot_number(cfg.post_job_rank, rows, -FLT_MAX)
        return job_ok, slot_ok, np.stack([pre, rank, post])

    def _judge(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(job Requirements, slot Requirements, keys (3, n), requests (4, n)) for slots ``idx``; in a
        persistent pool, once per content class of the slots (remembered across cycles)."""
        attrs = self._attrs_read()
        if attrs is None:
            rows = SlotRows(self.pool, idx)
            job_ok, slot_ok, keys = self._match_and_keys(rows)
            return job_ok, slot_ok, keys, self._requests(rows)
        ids = ContentClasses.of(self.pool).class_ids(self.pool, attrs, idx)
        return self._by_class(attrs, False, ids, idx, {})

    def _by_class(self, attrs, states: bool, ids: np.ndarray, idx: np.ndarray, over: dict):
        """Judge one representative row per class not met before, then gather. States (p-slots after
        k more jobs) keep their own table: their judgement takes shortcuts valid for them alone."""
        classes = ContentClasses.of(self.pool)
        memo = self._class_rows.get((attrs, states))
        if memo is None:
            memo = self._class_rows[(attrs, states)] = _ClassRows.empty()
        memo.fit(classes.count(attrs))
        present, rep, index = distinct(ids, len(memo.known))
        todo = present[~memo.known[present]]
        if len(todo):
            pick = rep[~memo.known[present]]
            rows = SlotRows(self.pool, idx[pick], {r: c[pick] for r, c in over.items()})
            if states:
                memo.job_ok[todo], memo.slot_ok[todo], memo.keys[:, todo] = self._expansion_values(rows)
            else:
                memo.job_ok[todo], memo.slot_ok[todo], memo.keys[:, todo] = self._match_and_keys(rows)
                memo.req[:, todo] = self._requests(rows)
            memo.known[todo] = True
        pos = present[index]
        return memo.job_ok[pos], memo.slot_ok[pos], memo.keys[:, pos], memo.req[:, pos]

    def _expansion_values(self, view: SlotRows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Judge p-slot states (a slot after more jobs of this autocluster): lists that hand out
        states override this."""
        raise NotImplementedError

    def _attrs_read(self) -> tuple[str, ...] | None:
        """Every slot attribute the list's expressions can read (None: not only named attributes, or a
        one-cycle pool, where remembering per class does not pay)."""
        pool = self.pool
        if not pool.cache_matches:
            return None
        if self._class_plan is not None and self._class_plan[0] == pool.layout_version:
            return self._class_plan[1]
        cfg, job = self.cfg, self.job
        job_side = ("Requirements", "Rank", "RequestCpus", "RequestMemory", "RequestDisk", "RequestGPUs")
        slot_side = ("MY.Requirements", cfg.pre_job_rank, cfg.post_job_rank)
        names: set[str] | None = set()
        for expr, my_is_slot in [*((f"MY.{a}", False) for a in job_side), *((e, True) for e in slot_side)]:
            if not expr:
                continue
            read = slot_attributes_read(pool, expr, job, my_is_slot=my_is_slot)
            if read is None:
                names = None
                break
            names.update(read)
        attrs = None if names is None else tuple(sorted(names))
        self._class_plan = (pool.layout_version, attrs)
        return attrs
