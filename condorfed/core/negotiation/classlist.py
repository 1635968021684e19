"""The match list of one autocluster kept in a persistent pool, by content class.

A slot's judgement (Requirements both ways, the three ranks, the request, whether the request fits)
depends only on the values of the attributes the expressions can read (content.py). Add the resources
and the slot type to those attributes and a slot's *content class* decides whether it is a candidate
and where it ranks. So each class gets a position best first, and finding the best candidate is one
gather and one ``argmin`` over the slots' current class ids: ties between equal ranks go to the
lowest slot id, as in the sorted :class:`~.matchlist.MatchList`.

Claims, releases and other autoclusters' matches only move slots between classes, which the pool's
class ids follow; nothing is re-evaluated unless a slot lands in a class never judged for this job.
The judgements (:class:`Verdicts`) live in the pool, shared by every autocluster whose job has the
same values for every job attribute the expressions can read (the same request from another owner).

That is what the simulator and the controller need: thousands of small cycles over the same few
hundred machines, where re-judging every changed slot for every autocluster dominated. The cost of a
``peek`` grows with the number of slots, so the engine uses this list for persistent pools up to
:data:`MAX_SLOTS` slots, and only where no preemption is possible (candidates are then exactly the free
slots and the p-slots with resources left).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from condorfed.core.classads.values import Ad
from condorfed.core.negotiation.config import NegotiatorConfig
from condorfed.core.negotiation.content import RESOURCE_NAMES, ContentClasses, distinct, value_key
from condorfed.core.negotiation.evaluation import Evaluator, SlotRows
from condorfed.core.negotiation.judge import Judge, fits
from condorfed.core.negotiation.matchlist import NO_PREEMPTION, Candidate
from condorfed.core.negotiation.pool import MATCH_CACHE_ENTRIES, RESOURCES, SlotPool
from condorfed.core.negotiation.slotonly import job_side_names

MAX_SLOTS = 8192  # above this, the sorted list's per-candidate work beats a scan per peek
UNKNOWN = -1  # class not judged yet (sorts first, so a scan finds it)
NONE = np.iinfo(np.int64).max  # not a candidate
_SLOT_TYPE = ("partitionableslot", "slottype")  # what slot_is_partitionable reads
_JOB_SIDE = ("Requirements", "Rank", "RequestCpus", "RequestMemory", "RequestDisk", "RequestGPUs")


def dense_ranks(negkeys: np.ndarray) -> np.ndarray:
    """Each row's position among the distinct rows of ``negkeys`` (n, k), lowest first; NaN sorts after
    every number and equals NaN, as in the sorted list's lexsort."""
    if len(negkeys) == 0:
        return np.zeros(0, dtype=np.int64)
    cols: list[np.ndarray] = []
    for c in negkeys.T:
        cols += [np.isnan(c), np.nan_to_num(c, nan=0.0)]
    order = np.lexsort(cols[::-1])
    ordered = np.column_stack([c[order] for c in cols]).astype(np.float64)
    step = np.ones(len(order), dtype=np.int64)
    step[0] = 0
    step[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.cumsum(step)
    return ranks


@dataclass
class Verdicts:
    """Per content class: judged yet, a candidate (both Requirements hold and the request fits), the
    pieces of that for the reason given when nothing matches, the rank keys negated (best lowest), what
    a match takes (weight, request), and the class's position best first (UNKNOWN, NONE)."""

    rank: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    known: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    ok: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    job_ok: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    slot_ok: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    fits: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    negkeys: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    weight: np.ndarray = field(default_factory=lambda: np.zeros(0))
    offer: list = field(default_factory=list)  # (weight, (cpus, memory, disk, gpus)) or None
    generation: int = 0  # bumped whenever positions change (lists holding them per slot redo them)
    runs: dict = field(default_factory=dict)  # class -> (run length known, class there, complete?)
    runs_generation: int = -1  # the generation ``runs`` holds for

    def grow(self, n: int) -> None:
        k = n - len(self.rank)
        if k <= 0:
            return
        self.rank = np.concatenate([self.rank, np.full(k, UNKNOWN, dtype=np.int64)])
        for name in ("known", "ok", "job_ok", "slot_ok", "fits"):
            setattr(self, name, np.concatenate([getattr(self, name), np.zeros(k, dtype=bool)]))
        self.negkeys = np.concatenate([self.negkeys, np.zeros((k, 3))])
        self.weight = np.concatenate([self.weight, np.zeros(k)])
        self.offer += [None] * k

    def record(self, ids, job_ok, slot_ok, fits, keys, offers) -> None:
        """Store the judgement of classes ``ids``, then rank every candidate class again."""
        ok = job_ok & slot_ok & fits
        self.known[ids], self.ok[ids] = True, ok
        self.job_ok[ids], self.slot_ok[ids], self.fits[ids] = job_ok, slot_ok, fits
        self.negkeys[ids] = -keys.T
        self.weight[ids] = offers[0]  # the cpus taken (SLOT_WEIGHT)
        for c, offer in zip(ids.tolist(), offers.T.tolist(), strict=True):
            self.offer[c] = (offer[0], tuple(offer))
        good = np.flatnonzero(self.known & self.ok)
        self.rank[self.known] = NONE
        self.rank[good] = dense_ranks(self.negkeys[good])
        self.generation += 1


class ClassMatchList(Judge):
    """Candidates for one autocluster in a persistent pool (see module docstring). The interface is
    :class:`~.matchlist.MatchList`'s, for the case without preemption."""

    def __init__(
        self,
        job: Ad,
        submitter: str,
        pool: SlotPool,
        evaluator: Evaluator,
        config: NegotiatorConfig,
        *,
        remaining: int,
        attrs: tuple[str, ...],
        verdicts: Verdicts,
    ) -> None:
        super().__init__(job, pool, evaluator, config)
        self.submitter = submitter
        self.remaining = remaining
        self.rejected = False
        self._attrs = attrs
        self._v = verdicts
        self._layout = (pool.layout_version, pool.attr_epoch)
        self._classes = ContentClasses.of(pool)
        self._parked: list[int] = []
        self._census = np.zeros(0, dtype=np.int64)  # the available slots' classes (see _take_census)
        self._lightest: float | None = None
        self._last = (0, 0)  # (class, position) of the last candidate handed out
        # Per slot: its class's position, NONE where not available or set aside; kept up to date from
        # the pool's journal of changed slots, so a peek after one claim touches one slot.
        self._at = np.zeros(0, dtype=np.int64)
        self._at_sync = (-1, -1, -1)  # (journal mark, verdicts generation, structure_version)

    @classmethod
    def for_job(
        cls,
        job: Ad,
        submitter: str,
        pool: SlotPool,
        evaluator: Evaluator,
        config: NegotiatorConfig,
        *,
        remaining: int,
    ) -> ClassMatchList | None:
        """This kind of list for ``job``, or None where it does not apply: a one-cycle or large pool,
        or expressions that read more than named attributes (time(), eval(), whole ads)."""
        if not pool.cache_matches or int(pool.alive.sum()) > MAX_SLOTS:
            return None
        ml = cls(job, submitter, pool, evaluator, config, remaining=remaining, attrs=(), verdicts=Verdicts())
        read = ml._attrs_read()
        if read is None:
            return None
        ml._attrs = tuple(sorted({*read, *RESOURCE_NAMES, *_SLOT_TYPE}))
        ml._v = ml._shared_verdicts()
        ml._take_census()
        return ml

    def _shared_verdicts(self) -> Verdicts:
        """The pool's judgements for jobs that read like this one (see module docstring)."""
        pool, cfg, job = self.pool, self.cfg, self.job
        exprs = [(f"MY.{a}", False) for a in _JOB_SIDE]
        exprs += [(e, True) for e in ("MY.Requirements", cfg.pre_job_rank, cfg.post_job_rank) if e]
        names = sorted({n for e, side in exprs for n in job_side_names(pool, e, job, my_is_slot=side)})
        values = job.lower_items()
        key = (
            getattr(self.ev, "name", "?"),
            pool.layout_version,
            pool.attr_epoch,
            self._attrs,
            (cfg.pre_job_rank, cfg.post_job_rank, cfg.quantize_cpus, cfg.quantize_memory, cfg.quantize_disk),
            tuple((n, value_key(values.get(n))) for n in names),
        )
        shared = pool.content_classes.setdefault("verdicts", OrderedDict())
        v = shared.get(key)
        if v is None:
            v = shared[key] = Verdicts()
            while len(shared) > MATCH_CACHE_ENTRIES:
                shared.popitem(last=False)
        shared.move_to_end(key)
        return v

    # ---- judging classes ---------------------------------------------------------------------------
    def _judge_classes(self, codes: np.ndarray, rows: np.ndarray) -> None:
        """Judge the classes of slots ``rows`` (one slot per class stands for it)."""
        pool = self.pool
        ids, rep, _ = distinct(codes[rows], len(self._v.rank))
        rows = rows[rep]
        self._judge_view(ids, SlotRows(pool, rows), np.vstack([pool.column(r)[rows] for r in RESOURCES]))

    def _judge_view(self, ids: np.ndarray, view: SlotRows, have: np.ndarray) -> None:
        """Judge classes ``ids``, each stood for by a row of ``view`` holding resources ``have``."""
        job_ok, slot_ok, keys = self._match_and_keys(view)
        req = self._requests(view)
        part = self.pool.partitionable[np.asarray(view.rows, dtype=np.int64)]
        fit = fits(req, have, part)
        self._v.record(ids, job_ok, slot_ok, fit, keys, np.where(part, req, have))  # static: taken whole
        self._lighter(ids[self._v.ok[ids]])

    def repeats(self, cand: Candidate, most: int) -> int:
        """How many jobs in a row (up to ``most``) p-slot ``cand.slot`` can take while it stays the
        best candidate: each claim moves it to the class the claim leads to, and it stays first as
        long as that class ranks no worse (every other slot is behind it, and unchanged) and asks the
        same. The caller claims them at once, as one match after another would."""
        s, pool, v, attrs = cand.slot, self.pool, self._v, self._attrs
        if not pool.partitionable[s]:
            return 1
        cid, best = self._last
        if v.runs_generation != v.generation:
            v.runs.clear()
            v.runs_generation = v.generation
        k, cur, done = v.runs.get(cid, (1, cid, False))
        if done or k >= most:
            return min(k, most)
        offer = v.offer[cid]
        request = offer[1]
        after = self._classes.transitions(attrs)
        generation = v.generation
        while k < most:
            nxt = after.get((cur, request))
            if nxt is None or nxt >= len(v.rank) or v.rank[nxt] == UNKNOWN:
                left = pool.left_after(s, request, k)
                nxt = self._classes.after_claim(pool, attrs, cur, request, s, left)
                v.grow(self._classes.count(attrs))
                if v.rank[nxt] == UNKNOWN:
                    over = {r: np.array([left[i]]) for i, r in enumerate(RESOURCES) if request[i] != 0}
                    view = SlotRows(pool, np.array([s]), over)
                    self._judge_view(np.array([nxt]), view, np.array(left).reshape(4, 1))
            if v.rank[nxt] > best or v.offer[nxt] != offer:
                done = True
                break
            k, cur = k + 1, nxt
        if v.generation == generation:  # no class was judged on the way: positions still hold
            v.runs[cid] = (k, cur, done)
        return k

    def _lighter(self, candidates: np.ndarray) -> None:
        """Candidate classes showed up: no candidate weighs less than the lightest seen."""
        if len(candidates):
            low = float(self._v.weight[candidates].min())
            self._lightest = low if self._lightest is None else min(self._lightest, low)

    def _codes(self) -> np.ndarray:
        codes = self._classes.every_class_id(self.pool, self._attrs)
        self._v.grow(self._classes.count(self._attrs))
        return codes

    def _positions(self, codes: np.ndarray) -> np.ndarray:
        """Every slot's position now (see ``_at``)."""
        pool, v, at = self.pool, self._v, self._at
        mark, generation, structure = self._at_sync
        moved, now = pool.changed_since(mark)
        if moved is None or generation != v.generation or structure != pool.structure_version:
            at = self._at = np.where(pool.free_to_match(), v.rank[codes], NONE)
            if self._parked:
                at[self._parked] = NONE
        elif len(moved) > 16:
            rows = np.fromiter(set(moved), dtype=np.int64)
            at[rows] = np.where(pool.free_to_match()[rows], v.rank[codes[rows]], NONE)
            if self._parked:
                at[self._parked] = NONE
        elif moved:
            parked = self._parked
            for s in moved:
                at[s] = v.rank[codes[s]] if pool.is_free_to_match(s) and s not in parked else NONE
        self._at_sync = (now, v.generation, pool.structure_version)
        return at

    # ---- handing out -----------------------------------------------------------------------------------
    def peek(self) -> Candidate | None:
        """The best candidate: lowest rank, then lowest slot id."""
        if len(self.pool) == 0:
            return None
        while True:
            codes = self._codes()
            at = self._positions(codes)
            s = int(at.argmin())
            best = at[s]
            if best == UNKNOWN:
                self._judge_classes(codes, np.flatnonzero(at == UNKNOWN))
                continue
            if best == NONE:
                return None
            cid = int(codes[s])
            self._last = (cid, int(best))
            weight, request = self._v.offer[cid]
            return Candidate(s, weight, request, NO_PREEMPTION, None)

    def taken(self, cand: Candidate, count: int = 1) -> None:
        """The caller claimed ``cand`` for ``count`` jobs (see :meth:`repeats`): the pool's class ids
        move the slot where it now belongs."""
        self.remaining -= count
        s = cand.slot
        if self.pool.partitionable[s]:  # where the claims took it, if that transition is known
            cid, after = self._last[0], self._classes.transitions(self._attrs)
            for _ in range(count):
                cid = after.get((cid, cand.request))
                if cid is None:
                    return  # the pool's journal has the slot re-keyed from its ad
            self._classes.note_class(self.pool, self._attrs, s, cid)

    def skip(self, cand: Candidate) -> None:
        """Set the candidate aside for this spin (see MatchList.skip)."""
        self._parked.append(cand.slot)
        if len(self._at) > cand.slot:
            self._at[cand.slot] = NONE

    def has_skipped(self) -> bool:
        return bool(self._parked)

    def restore(self) -> None:
        if self._parked:
            self._parked.clear()
            self._at_sync = (-1, -1, -1)  # the slots set aside are candidates again

    @property
    def min_weight(self) -> float | None:
        """No candidate weighs less than this (None: there was none when the cycle reached the list,
        and none has turned up since), as the sorted list keeps it."""
        return self._lightest

    def _take_census(self) -> None:
        """How many available slots each class has as the cycle reaches this list: what the reason
        for rejecting the autocluster is told from, as the sorted list tells it from its build."""
        codes = self._codes()
        free = np.flatnonzero(self.pool.free_to_match())
        at = codes[free]
        unknown = self._v.rank[at] == UNKNOWN
        if unknown.any():
            self._judge_classes(codes, free[unknown])
        self._census = at  # counted when a reason is asked for
        self._lightest = None
        self._lighter(at[self._v.ok[at]])

    @property
    def stats(self) -> dict[str, int]:
        """Slots available when this cycle reached the list, and how many passed each test."""
        count = np.bincount(self._census, minlength=len(self._v.rank))
        present = np.flatnonzero(count)
        v, n = self._v, count[present]
        job_ok, slot_ok = v.job_ok[present], v.slot_ok[present]
        both = job_ok & slot_ok
        return {
            "slots": int(n.sum()),
            "job_req": int(n[job_ok].sum()),
            "slot_req": int(n[slot_ok].sum()),
            "both": int(n[both].sum()),
            "fits": int(n[both & v.fits[present]].sum()),
        }

    # ---- across cycles -------------------------------------------------------------------------------
    def end_cycle(self) -> None:
        """Nothing refers back to the cycle."""

    def reusable(self) -> bool:
        """Whether the class plan still holds: no slot expression text changed, no ad edited in place."""
        pool = self.pool
        return self._layout == (pool.layout_version, pool.attr_epoch) and int(pool.alive.sum()) <= MAX_SLOTS

    def reuse(self, remaining: int) -> None:
        self.remaining = remaining
        self.rejected = False
        self.restore()
        self._take_census()
