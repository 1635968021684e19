"""The match list of one autocluster: its candidate slots, best first, within one negotiation cycle.

Built once per autocluster per cycle with vectorized evaluation over all live slots:
the job's Requirements against every slot, every slot's Requirements (START) against the job, the
p-slot resource check, and the three ranks (NEGOTIATOR_PRE_JOB_RANK, the job's Rank,
NEGOTIATOR_POST_JOB_RANK); claimed slots become preemption candidates when allowed. Candidates are
handed out best first. When a job takes part of a p-slot, the p-slot's *next* states ("after 1, 2, ...
more jobs of this autocluster") are evaluated in one batch, so a p-slot re-enters the list exactly where
its reduced resources put it, without evaluating the whole pool again.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from condorfed.core.classads.values import Ad, Expr
from condorfed.core.negotiation.config import NegotiatorConfig
from condorfed.core.negotiation.content import ContentClasses
from condorfed.core.negotiation.evaluation import Evaluator, SlotRows
from condorfed.core.negotiation.judge import FLT_MAX, Judge, fits
from condorfed.core.negotiation.pool import MATCH_CACHE_ENTRIES, RESOURCES, MatchCache, SlotPool
from condorfed.core.negotiation.slotonly import reads_slot_resources
from condorfed.core.negotiation.split import split_conjunction

NO_PREEMPTION, RANK_PREEMPTION, PRIO_PREEMPTION = 2, 1, 0
_EXPAND_CAP = 512  # states per p-slot evaluated in one go
HEAD_FACTOR, HEAD_MARGIN = 2, 256  # candidates kept per list: factor x jobs left + margin
SMALL_BATCH = 24  # up to this many changed slots are evaluated alone (pair by pair); more: the whole table
LIVE_ONLY_BELOW = 0.5  # judge only free slots when fewer than this share of the pool is free (else all:
# the cached whole-pool arrays need no gathers)


# Not frozen, though never changed: one per hand-out, and constructing a frozen dataclass costs
# about four times as much (its __init__ makes an object.__setattr__ call per field).
@dataclass(slots=True)
class Candidate:
    slot: int
    weight: float
    request: tuple[float, float, float, float]  # cpus, memory, disk, gpus actually taken
    state: int
    preempting: str | None


def _no_priority(name: str) -> float:
    return 0.0


def _best_first(negkeys: list[np.ndarray]) -> np.ndarray:
    """Order of the entries by the key arrays (most significant first), lowest first, ties kept in
    entry order (a stable sort). Keys that are the same for every entry cannot change the order and
    are left out (usually most of them: no preemption, no POST_JOB_RANK), so this is one stable
    argsort more often than a full lexsort."""
    n = len(negkeys[0])
    if n < 2:
        return np.arange(n)
    cols = [c for c in negkeys if not bool((c == c[0]).all())]
    if not cols:
        return np.arange(n)
    if len(cols) == 1:
        return np.argsort(cols[0], kind="stable")
    return np.lexsort(cols[::-1])


class MatchList(Judge):
    """Candidates for one autocluster (see module docstring).

    The candidates found when the list is built sit in an array sorted best first (no per-slot Python
    work for slots never handed out); p-slots re-entering with reduced resources, and slots whose
    state changed under us and were re-evaluated, go to a small heap. ``peek`` takes the better head.
    """

    def __init__(
        self,
        job: Ad,
        submitter: str,
        pool: SlotPool,
        evaluator: Evaluator,
        config: NegotiatorConfig,
        *,
        remaining: int,
        preemption_ok: bool,
        cache_key: tuple | None = None,
        submitter_prio: float = 0.0,
        remote_prio=None,
    ) -> None:
        super().__init__(job, pool, evaluator, config)
        self.submitter_prio = submitter_prio
        self.remote_prio = remote_prio or _no_priority
        self.submitter = submitter
        self.remaining = remaining
        self.rejected = False
        self.stats = {"slots": 0, "job_req": 0, "slot_req": 0, "both": 0, "fits": 0}
        self._heap: list[tuple] = []
        self._expansions: dict[int, list] = {}  # slot -> [base_version, ours, states]
        self._expand_batch = 8
        self._req_fresh: dict[int, tuple[float, float, float, float]] = {}
        self._state_fresh: dict[int, int] = {}
        # sorted candidates from the build
        self._slots = np.zeros(0, dtype=np.int64)
        self._keys = np.zeros((0, 5))
        self._versions = np.zeros(0, dtype=np.int64)
        self._ptr = 0
        self._dead: np.ndarray | None = None  # sorted-array entries already re-evaluated into the heap
        self._stale_batch = 64
        self._scan = 0  # expansion batches walk the sorted array from here
        self._cache_key = cache_key
        self._built_min: float | None = None
        self._parked: list[tuple] = []
        self._parked_min: float | None = None
        self._seen = np.zeros(0, dtype=np.int64)  # (set by _build) slot versions this list judged
        self._seen_structure = (pool.structure_version, pool.attr_epoch)
        self._tick = (pool.resource_version, pool.structure_version)
        self._reads: dict[tuple[str, bool], bool] = {}
        self._req_split: str | bool | None = False  # not computed yet
        self._last_keys: dict[int, tuple[float, float, float]] = {}
        self._own_reads: tuple[int, list[bool]] = (pool.attr_epoch, [])  # slot shape -> START reads resources
        self._build(preemption_ok)

    # ---- construction -------------------------------------------------------------------------------
    def _survey(self, preemption_ok: bool):
        """Judge every live slot and count how many pass each test (``stats``, for the reason an
        autocluster gets nothing): (rows, job_ok, slot_ok, keys, req, part, fits), or None if no
        slot is live."""
        pool, cfg = self.pool, self.cfg
        part_all = pool.partitionable
        live = pool.free_to_match()
        prio_possible = (cfg.preemption_requirements or "").strip().lower() not in ("", "false", "0")
        if cfg.consider_preemption and preemption_ok:
            # Claimed static slots that may be preempted join. A slot this engine has just given to a
            # job is out of the cycle, as the negotiator drops a matched slot ad; across cycles the
            # new job's CurrentRank is not tracked (see docs).
            preemptible = (pool.rank_preemptible | prio_possible) & ~pool.engine_claimed
            live = live | (pool.alive & ~part_all & preemptible)
        self.stats = {"slots": int(live.sum()), "job_req": 0, "slot_req": 0, "both": 0, "fits": 0}
        if not live.any():
            return None
        # Evaluate over every live slot (one cached column table), then keep the candidates.
        alive_idx = pool.alive_ids()
        live_idx = pool.free_ids() if live is pool.free_to_match() else np.flatnonzero(live)
        if len(live_idx) < LIVE_ONLY_BELOW * len(alive_idx):
            # Most slots are full: judge only the ones that can still take a job.
            alive_idx = live_idx
        job_ok, slot_ok, keys, req = self._evaluate_alive(alive_idx)
        kidx = np.flatnonzero(live[alive_idx])
        if len(kidx) == len(alive_idx):  # every live slot stays: no gathers
            rows_idx = alive_idx
        else:  # integer takes: much cheaper than boolean masks on the 2-d arrays
            rows_idx = alive_idx[kidx]
            job_ok, slot_ok = job_ok[kidx], slot_ok[kidx]
            keys = np.take(keys, kidx, axis=1)
            req = req[:, : len(kidx)] if req.strides[1] == 0 else np.take(req, kidx, axis=1)
        part = part_all[rows_idx]
        fit = fits(req, [pool.column(r)[rows_idx] for r in RESOURCES], part)
        both = job_ok & slot_ok
        self.stats.update(job_req=int(job_ok.sum()), slot_req=int(slot_ok.sum()), both=int(both.sum()))
        self.stats["fits"] = int((both & fit).sum())
        return rows_idx, job_ok, slot_ok, keys, req, part, fit

    def _build(self, preemption_ok: bool, exclude: frozenset[int] = frozenset()) -> None:
        pool = self.pool
        self._preemption_ok = preemption_ok
        self._truncated = False
        survey = self._survey(preemption_ok)
        if survey is None:
            return
        rows_idx, job_ok, slot_ok, keys, req, part, fit = survey
        ok = job_ok & slot_ok & fit
        state = np.full(len(rows_idx), NO_PREEMPTION)
        prank = np.zeros(len(rows_idx))
        claimed = pool.claimed[rows_idx] & ~part
        if claimed.any():
            ok, state, prank = self._preemption(rows_idx, ok, claimed, state, prank)
        if exclude:
            ok &= ~np.isin(rows_idx, np.fromiter(exclude, dtype=np.int64))
        sel = np.flatnonzero(ok)
        negkeys = [*(-np.take(keys, sel, axis=1)), -state[sel].astype(np.float64), -prank[sel]]
        slots = rows_idx[sel]
        order = _best_first(negkeys)  # ties by slot order: ``slots`` ascends
        # Keep only the head of the list: a few times what the autocluster can still take. Should it
        # run dry, the list is built again from the pool as it is then (see peek).
        # No candidate weighs less than this (p-slots: the job's cpus; static slots: theirs), in the
        # whole list, not just its head.
        weights = np.where(pool.partitionable[slots], req[0, sel], pool.column("cpus")[slots])
        self._built_min = float(weights.min()) if len(weights) else None
        limit = HEAD_FACTOR * self.remaining + HEAD_MARGIN
        if len(order) > limit:
            order = order[:limit]
            self._truncated = True
        self._slots = slots[order]
        self._keys = np.stack([k[order] for k in negkeys], axis=1)  # (head, 5): read entry by entry
        self._versions = pool.version[self._slots].copy()
        self._state_arr = state[sel[order]]
        self._req_arr = req[:, sel[order]]
        self._row_of = dict(zip(self._slots.tolist(), range(len(self._slots)), strict=True))
        self._tick = (pool.resource_version, pool.structure_version)
        if self._cache_key is not None:  # only a list kept for the next cycle looks at it again
            self._seen = pool.version.copy()  # the version of every slot this list has judged
        self._seen_structure = (pool.structure_version, pool.attr_epoch)

    def _evaluate_alive(self, alive_idx: np.ndarray):
        """Requirements both ways, ranks and requests for every live slot; with a persistent pool,
        only slots that changed since this autocluster last looked are evaluated again."""
        pool = self.pool
        if self._cache_key is None:
            return self._judge(alive_idx)
        cache = pool.match_cache.get(self._cache_key)
        if cache is None or cache.epoch != pool.attr_epoch:
            n = len(pool)
            cache = MatchCache(
                pool.attr_epoch,
                np.full(n, -1, dtype=np.int64),
                np.zeros(n, bool),
                np.zeros(n, bool),
                np.zeros((3, n)),
                np.zeros((4, n)),
            )
        cache.grow(len(pool))
        pool.match_cache[self._cache_key] = cache
        pool.match_cache.move_to_end(self._cache_key)
        while len(pool.match_cache) > MATCH_CACHE_ENTRIES:
            pool.match_cache.popitem(last=False)
        stale = alive_idx[cache.versions[alive_idx] != pool.version[alive_idx]]
        if len(stale):
            idx = alive_idx if len(stale) > SMALL_BATCH else stale
            job_ok, slot_ok, keys, req = self._judge(idx)
            cache.job_ok[idx], cache.slot_ok[idx], cache.keys[:, idx], cache.req[:, idx] = (
                job_ok,
                slot_ok,
                keys,
                req,
            )
            cache.versions[idx] = pool.version[idx]
        return (
            cache.job_ok[alive_idx],
            cache.slot_ok[alive_idx],
            cache.keys[:, alive_idx],
            cache.req[:, alive_idx],
        )

    def _preemption(self, rows_idx, ok, claimed, state, prank):
        pool, cfg, ev, job = self.pool, self.cfg, self.ev, self.job
        ck = np.flatnonzero(claimed & ok)
        ok = ok & ~claimed
        if len(ck) == 0:
            return ok, state, prank
        crow = SlotRows(pool, rows_idx[ck])
        slot_rank = ev.number("MY.Rank", crow, job, 0.0)
        current = ev.number("MY.CurrentRank", crow, job, 0.0)
        by_rank = slot_rank > current
        req_text = (cfg.preemption_requirements or "").strip()
        if req_text and req_text.lower() not in ("false", "0"):
            # The holder's priority must be no better than ours, PREEMPTION_REQUIREMENTS must hold,
            # and the slot must rank the new job at least as high as the running one.
            mine = self.submitter_prio
            worse = np.array(
                [self.remote_prio(pool.remote[int(s)] or "") >= mine for s in rows_idx[ck]], dtype=bool
            )
            by_prio = worse & (slot_rank >= current) & ev.truth(req_text, crow, job)
        else:
            by_prio = np.zeros(len(ck), dtype=bool)
        pr = ev.number(cfg.preemption_rank, crow, job, -FLT_MAX) if cfg.preemption_rank else np.zeros(len(ck))
        for j, k in enumerate(ck):
            if by_rank[j]:
                state[k] = RANK_PREEMPTION
            elif by_prio[j]:
                state[k] = PRIO_PREEMPTION
            else:
                continue
            ok[k] = True
            prank[k] = pr[j]
        return ok, state, prank

    def _entry(self, key3, state: int, prank: float, slot: int) -> tuple:
        return (
            -float(key3[0]),
            -float(key3[1]),
            -float(key3[2]),
            -float(state),
            -prank,
            slot,
            int(self.pool.version[slot]),
        )

    def _request_of(self, s: int) -> tuple[float, float, float, float]:
        fresh = self._req_fresh.get(s)
        if fresh is not None:
            return fresh
        k = self._index_of(s)
        req = tuple(self._req_arr[:, k].tolist())
        self._req_fresh[s] = req  # type: ignore[assignment]
        return req  # type: ignore[return-value]

    def _index_of(self, s: int) -> int:
        k = self._row_of.get(s)
        if k is None:
            k = int(np.flatnonzero(self._slots == s)[0])
            self._row_of[s] = k
        return k

    # ---- p-slot expansion ----------------------------------------------------------------------------
    def _expand(self, first: int, *, claimed: bool = True) -> None:
        """Evaluate the next states of p-slot ``first`` (just claimed, or about to be) and of a batch of
        the following candidates. ``_expansions[s] = [version, ours, states]``: ``states[j-1]`` is
        (matches, keys) of the slot with ``j`` of this autocluster's requests taken from the resources
        it had when expanded; ``ours`` of them were taken by the slot's ``version`` (each claim, or run
        of claims, moves the version by one)."""
        pool = self.pool
        batch = [first]
        n = len(self._slots)
        while self._scan < n and len(batch) < self._expand_batch:
            k = self._scan
            self._scan += 1
            s = int(self._slots[k])
            if (
                s != first
                and pool.partitionable[s]
                and s not in self._expansions
                and int(pool.version[s]) == int(self._versions[k])
            ):
                self._row_of.setdefault(s, k)
                batch.append(s)
        self._expand_batch = min(self._expand_batch * 2, 4096)
        rows: list[int] = []
        steps: list[int] = []
        bases: list[list[float]] = []
        reqs: list[tuple] = []
        for s in batch:
            req = self._request_of(s)
            have = [float(pool.column(r)[s]) for r in RESOURCES]
            v0 = int(pool.version[s])
            if s == first and claimed:  # states relative to before the claim just made
                have = [have[i] + req[i] for i in range(4)]
                v0 -= 1
            self._expansions[s] = [v0, 0, []]
            fit = min(
                (math.floor((have[i] + 1e-9) / req[i]) if req[i] > 0 else _EXPAND_CAP) for i in range(4)
            )
            for j in range(1, max(0, min(fit, self.remaining + 1, _EXPAND_CAP))):
                rows.append(s)
                steps.append(j)
                bases.append(have)
                reqs.append(req)
        if not rows:
            return
        rows_arr = np.asarray(rows, dtype=np.int64)
        steps_arr = np.asarray(steps, dtype=np.float64)
        overrides = {}
        for i, r in enumerate(RESOURCES):
            per = np.array([q[i] for q in reqs])
            if not per.any():
                continue  # unchanged (and maybe absent from the ad: don't invent the attribute)
            overrides[r] = np.array([b[i] for b in bases]) - steps_arr * per
        job_ok, slot_ok, keys = self._judge_states(SlotRows(pool, rows_arr, overrides))
        ok = (job_ok & slot_ok).tolist()
        for s, good, key in zip(rows, ok, keys.T.tolist(), strict=True):
            self._expansions[s][2].append((good, key))

    def _judge_states(self, view: SlotRows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``_expansion_values`` once per content class of the p-slot states."""
        attrs = self._attrs_read()
        if attrs is None:
            return self._expansion_values(view)
        idx = np.asarray(view.rows, dtype=np.int64)
        over = {r: np.asarray(c, dtype=np.float64) for r, c in view.overrides.items()}
        ids = ContentClasses.of(self.pool).override_ids(self.pool, attrs, idx, over)
        job_ok, slot_ok, keys, _ = self._by_class(attrs, True, ids, idx, over)
        return job_ok, slot_ok, keys

    def _reads_resources(self, expr: str | None, my_is_slot: bool) -> bool:
        if not expr:
            return False
        key = (expr, my_is_slot)
        hit = self._reads.get(key)
        if hit is None:
            hit = self._reads[key] = reads_slot_resources(self.pool, expr, self.job, my_is_slot=my_is_slot)
        return hit

    def _expansion_values(self, view: SlotRows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Like ``_match_and_keys`` for p-slot states, evaluating only what can change with the
        resources left; the rest is the slot's value already known (it was a candidate)."""
        ev, job, cfg = self.ev, self.job, self.cfg
        n = len(view)
        slots, at = np.unique(np.asarray(view.rows, dtype=np.int64), return_inverse=True)  # a slot per state
        known = np.array([self._known_keys(s) for s in slots.tolist()]).reshape(len(slots), 3).T[:, at]
        dep = self._resource_clauses()
        if dep is None:
            job_ok = ev.truth("MY.Requirements", job, view) if "Requirements" in job else np.zeros(n, bool)
        elif dep:
            job_ok = ev.truth(dep, job, view)
        else:
            job_ok = np.ones(n, bool)
        slot_ok = np.ones(n, bool)
        if self._reads_resources("MY.Requirements", True):
            # Only slots whose own START can read a resource may change their mind (a cloud's
            # START may read Cpus while the on-prem ones do not).
            shape_of, _ = self.pool.shapes()
            need = self._starts_reading_resources()[shape_of[np.asarray(view.rows, dtype=np.int64)]]
            if need.all():
                slot_ok = ev.truth("MY.Requirements", view, job)
            elif need.any():
                k = np.flatnonzero(need)
                over = {r: np.asarray(c)[k] for r, c in view.overrides.items()}
                slot_ok[k] = ev.truth("MY.Requirements", SlotRows(view.pool, view.rows[k], over), job)
        pre = (
            ev.number(cfg.pre_job_rank, view, job, -FLT_MAX)
            if self._reads_resources(cfg.pre_job_rank, True)
            else known[0]
        )
        rank = self._job_number("Rank", view, 0.0) if self._reads_resources("MY.Rank", False) else known[1]
        post = (
            ev.number(cfg.post_job_rank, view, job, -FLT_MAX)
            if self._reads_resources(cfg.post_job_rank, True)
            else known[2]
        )
        return job_ok, slot_ok, np.stack([pre, rank, post])

    def _starts_reading_resources(self) -> np.ndarray:
        """Per slot shape (see SlotPool.shapes): whether its Requirements, followed through its own
        attribute expressions (and the job's), can read a resource."""
        pool = self.pool
        _, reps = pool.shapes()
        if self._own_reads[0] != pool.attr_epoch:  # shape ids are assigned afresh
            self._own_reads = (pool.attr_epoch, [])
        known = self._own_reads[1]
        if len(known) < len(reps):
            for shape in range(len(known), len(reps)):
                own = pool.shape_exprs(shape)
                known.append(
                    reads_slot_resources(pool, "MY.Requirements", self.job, my_is_slot=True, fixed=own)
                )
        return np.array(known, dtype=bool)

    def _resource_clauses(self) -> str | None:
        """The job's Requirements reduced to its top-level clauses that read the slot's resources, as
        ``true && (c1) && (c2) ...``; "" when none does; None when it cannot be split (then evaluate it
        whole). Exact for states of a slot that matched: every other clause was exactly true there, and
        ``x && true`` is ``x`` for all four ClassAd truth values."""
        if self._req_split is not False:
            return self._req_split  # type: ignore[return-value]
        req = self.job.get("Requirements")
        result: str | None = None
        if isinstance(req, Expr):
            clauses = split_conjunction(str(req))
            if len(clauses) > 1:
                dep = [c for c in clauses if reads_slot_resources(self.pool, c, self.job, my_is_slot=False)]
                result = ("true && (" + ") && (".join(dep) + ")") if dep else ""
            elif not self._reads_resources("MY.Requirements", False):
                result = ""
        self._req_split = result
        return result

    def _known_keys(self, s: int) -> tuple[float, float, float]:
        """(pre, rank, post) this list last saw for slot ``s``."""
        hit = self._last_keys.get(s)
        if hit is not None:
            return hit
        k = self._index_of(s)
        neg = self._keys[k]
        return (-float(neg[0]), -float(neg[1]), -float(neg[2]))

    def _next_state(self, s: int, count: int = 1) -> tuple | None:
        """After this list gave ``count`` more jobs to p-slot ``s``: its new entry in the list, or None."""
        pool = self.pool
        now = int(pool.version[s])
        exp = self._expansions.get(s)
        if exp is None or exp[0] + 1 != now:  # never expanded, or someone else changed it
            self._expansions.pop(s, None)
            if count > 1:
                return self._fresh_entry(s)
            self._expand(s)
            exp = self._expansions[s]
        exp[0], exp[1] = now, exp[1] + count
        req = self._request_of(s)
        if any(req[i] > float(pool.column(r)[s]) + 1e-9 for i, r in enumerate(RESOURCES)):
            return None
        states = exp[2]
        if exp[1] - 1 < len(states):
            ok, key = states[exp[1] - 1]
            return self._entry(key, NO_PREEMPTION, 0.0, s) if ok else None
        self._expansions.pop(s, None)  # ran past the evaluated states: evaluate afresh
        return self._fresh_entry(s)

    def _fresh_entry(self, s: int) -> tuple | None:
        entries = self._fresh_entries([s])
        return entries[0] if entries else None

    def _fresh_entries(self, slots: list[int]) -> list[tuple]:
        """Evaluate slots afresh (their state changed since the list was built), in one batch."""
        pool = self.pool
        idx = np.asarray(slots, dtype=np.int64)
        idx = idx[pool.alive[idx] & (pool.partitionable[idx] | ~pool.claimed[idx])]
        if not len(idx):
            return []
        job_ok, slot_ok, keys, req = self._judge(idx)
        part = pool.partitionable[idx]
        ok = np.flatnonzero(job_ok & slot_ok & fits(req, [pool.column(r)[idx] for r in RESOURCES], part))
        if not len(ok):
            return []
        taken = idx[ok]
        weights = np.where(part[ok], req[0, ok], pool.column("cpus")[taken])
        low = float(weights.min())
        self._built_min = low if self._built_min is None else min(self._built_min, low)
        out = []
        state = -float(NO_PREEMPTION)
        keys_ok = keys[:, ok].T.tolist()
        columns = (taken.tolist(), req[:, ok].T.tolist(), keys_ok, pool.version[taken].tolist())
        for s, r, k, v in zip(*columns, strict=True):
            self._req_fresh[s] = tuple(r)  # type: ignore[assignment]
            self._state_fresh[s] = NO_PREEMPTION
            out.append((-k[0], -k[1], -k[2], state, -0.0, s, v))  # as _entry(k, NO_PREEMPTION, 0.0, s)
        return out

    # ---- handing out -----------------------------------------------------------------------------------
    def _valid_array_head(self) -> bool:
        """Skip sorted-array entries whose slot changed since the build; those (and other changed
        entries just behind them) are re-evaluated in one batch into the heap."""
        pool = self.pool
        n = len(self._slots)
        while self._ptr < n:
            k = self._ptr
            if self._dead is not None and self._dead[k]:
                self._ptr += 1
                continue
            s = int(self._slots[k])
            if pool.alive[s] and int(pool.version[s]) == int(self._versions[k]):
                return True
            window = np.arange(k, min(n, k + self._stale_batch))
            self._stale_batch = min(self._stale_batch * 2, 1 << 16)
            ws = self._slots[window]
            stale = (pool.version[ws] != self._versions[window]) | ~pool.alive[ws]
            if self._dead is not None:
                stale &= ~self._dead[window]
            if self._dead is None:
                self._dead = np.zeros(n, dtype=bool)
            ks = window[stale]
            self._dead[ks] = True
            for s2 in self._slots[ks].tolist():
                self._expansions.pop(s2, None)
            for entry in self._fresh_entries(self._slots[ks].tolist()):
                heapq.heappush(self._heap, entry)
        return False

    def _valid_heap_head(self) -> bool:
        pool = self.pool
        while self._heap:
            entry = self._heap[0]
            s, version = entry[-2], entry[-1]
            if pool.alive[s] and int(pool.version[s]) == version:
                return True
            # Re-evaluate every stale heap entry at once.
            keep, stale = [], []
            for e in self._heap:
                (keep if (pool.alive[e[-2]] and int(pool.version[e[-2]]) == e[-1]) else stale).append(e)
            heapq.heapify(keep)
            self._heap = keep
            have_valid = {e[-2] for e in keep}
            for e in self._fresh_entries(sorted({e[-2] for e in stale} - have_valid)):
                heapq.heappush(self._heap, e)
        return False

    def _sweep(self) -> None:
        """Someone else changed the pool since this list last handed out: every candidate whose slot
        changed is evaluated again (a changed slot may now rank higher than the head), in one batch."""
        pool = self.pool
        again: list[int] = []
        n = len(self._slots)
        if self._ptr < n:
            idx = np.arange(self._ptr, n)
            ws = self._slots[idx]
            stale = (pool.version[ws] != self._versions[idx]) | ~pool.alive[ws]
            if self._dead is not None:
                stale &= ~self._dead[idx]
            if stale.any():
                if self._dead is None:
                    self._dead = np.zeros(n, dtype=bool)
                self._dead[idx[stale]] = True
                again.extend(ws[stale].tolist())
        if self._heap:
            keep = []
            for e in self._heap:
                if pool.alive[e[-2]] and int(pool.version[e[-2]]) == e[-1]:
                    keep.append(e)
                else:
                    again.append(e[-2])
            if len(keep) != len(self._heap):
                heapq.heapify(keep)
                self._heap = keep
        if again:
            valid = {e[-2] for e in self._heap}
            for s2 in again:
                self._expansions.pop(s2, None)
            for entry in self._fresh_entries(sorted(set(again) - valid)):
                heapq.heappush(self._heap, entry)

    def peek(self) -> Candidate | None:
        """The best candidate still valid, without taking it."""
        pool = self.pool
        tick = (pool.resource_version, pool.structure_version)
        if tick != self._tick:
            self._sweep()
            self._tick = tick
        while True:
            arr_ok = self._valid_array_head()
            heap_ok = self._valid_heap_head()
            if not arr_ok and not heap_ok:
                if not self._truncated:
                    return None
                self._rebuild()
                continue
            from_heap = heap_ok and (
                not arr_ok
                or self._heap[0][:6] < (*self._keys[self._ptr].tolist(), int(self._slots[self._ptr]))
            )
            if from_heap:
                s = self._heap[0][-2]
                state = int(-self._heap[0][3])
            else:
                s = int(self._slots[self._ptr])
                state = int(self._state_arr[self._ptr])
            self._from_heap = from_heap
            if pool.partitionable[s]:
                req = self._request_of(s)
                return Candidate(s, req[0], req, state, None)
            if state == NO_PREEMPTION and pool.claimed[s]:
                self._drop_head()
                continue
            c = pool.column
            req = (float(c("cpus")[s]), float(c("memory")[s]), float(c("disk")[s]), float(c("gpus")[s]))
            return Candidate(s, req[0], req, state, pool.remote[s] if state != NO_PREEMPTION else None)

    def _drop_head(self) -> None:
        if self._from_heap:
            heapq.heappop(self._heap)
        else:
            self._ptr += 1

    def repeats(self, cand: Candidate, most: int) -> int:
        """How many jobs in a row (up to ``most``) p-slot ``cand`` takes, one claim after another, before
        another candidate comes first: after each claim its next state (see :meth:`_expand`) goes back
        into the list, and :meth:`peek` hands it out again while it still matches, fits and sorts before
        the best other entry. Nothing else changes between those claims, so that entry is fixed. When
        it is not known without re-evaluating (a stale head), the answer is 1: one claim at a time."""
        pool, s = self.pool, cand.slot
        if most < 2 or self.remaining < 2 or cand.state != NO_PREEMPTION or not pool.partitionable[s]:
            return 1
        rival = self._rival(s)
        if rival is False:
            return 1
        exp = self._expansions.get(s)
        if exp is None or exp[0] != int(pool.version[s]):
            self._expansions.pop(s, None)
            self._remember_head(s)
            self._expand(s, claimed=False)
            exp = self._expansions[s]
        states, ours = exp[2], exp[1]
        req = self._request_of(s)
        left = pool.left_after(s, req, 0)
        k = 1
        while k < most and k < self.remaining and ours + k - 1 < len(states):
            left = [have - asked for have, asked in zip(left, req, strict=True)]  # as claim() subtracts
            if any(req[i] > left[i] + 1e-9 for i in range(4)):  # as _next_state checks
                break
            ok, key = states[ours + k - 1]
            if not ok or (rival is not None and self._entry(key, NO_PREEMPTION, 0.0, s)[:6] >= rival):
                break
            k += 1
        return k

    def _rival(self, s: int) -> tuple | bool | None:
        """The first six fields of the entry :meth:`peek` would compare p-slot ``s``'s next state with
        once the current head is claimed (None: there is none); False when that needs re-evaluation."""
        pool, heap = self.pool, self._heap
        others = heap[1:3] if self._from_heap else heap[:1]  # the smallest entry once the head is gone
        best = min((e[:6] for e in others), default=None)
        p, n, dead = self._ptr + (0 if self._from_heap else 1), len(self._slots), self._dead
        while p < n and dead is not None and dead[p]:
            p += 1
        if p < n:
            t = int(self._slots[p])
            if not pool.alive[t] or int(pool.version[t]) != int(self._versions[p]):
                return False  # peek would re-evaluate it (and others) first
            head = (*self._keys[p].tolist(), t)
            best = head if best is None or head < best else best
        if best is not None and best[5] == s:
            return False
        return best

    def _remember_head(self, s: int) -> None:
        """Where the keys of slot ``s``, the head just peeked, can be found again (see _known_keys)."""
        if self._from_heap:
            e = self._heap[0]
            self._last_keys[s] = (-e[0], -e[1], -e[2])
        else:
            self._row_of.setdefault(s, self._ptr)

    def taken(self, cand: Candidate, count: int = 1) -> None:
        """The caller claimed ``cand`` ``count`` times (the last peek, and :meth:`repeats`): drop it, or
        put the p-slot back with less left."""
        self._remember_head(cand.slot)
        self._drop_head()
        self.remaining -= count
        if self.pool.partitionable[cand.slot] and self.remaining > 0:
            nxt = self._next_state(cand.slot, count)
            if nxt is not None:
                heapq.heappush(self._heap, nxt)
        # Our own claim is accounted for above; only changes made by others call for a sweep.
        self._tick = (self.pool.resource_version, self.pool.structure_version)

    def end_cycle(self) -> None:
        """Forget the cycle's callbacks. A list kept for another cycle is reused only where no
        preemption can happen, so it never asks for a slot holder's priority again."""
        self.remote_prio = _no_priority

    def reusable(self) -> bool:
        """Whether this list can serve another cycle (its slots' attributes are still the ones it saw)."""
        pool = self.pool
        return self._seen_structure[1] == pool.attr_epoch and len(self._seen) <= len(pool)

    def reuse(self, remaining: int) -> None:
        """Serve a new cycle: slots that changed since this list judged them, and new slots, are
        judged again (changed ones already in the list are re-evaluated when reached). The counts
        and the lightest candidate are taken afresh, as a list built now would take them."""
        pool = self.pool
        self.restore()
        survey = self._survey(self._preemption_ok)
        self._built_min = None
        if survey is not None:
            rows_idx, job_ok, slot_ok, _, req, part, fit = survey
            ok = job_ok & slot_ok & fit
            if ok.any():
                self._built_min = float(np.where(part, req[0], pool.column("cpus")[rows_idx])[ok].min())
        self.rejected = False
        self.remaining = remaining
        n_old = len(self._seen)
        changed = np.flatnonzero(pool.version[:n_old] != self._seen)
        new = np.arange(n_old, len(pool))
        listed = set()
        if self._ptr < len(self._slots):
            ahead = np.arange(self._ptr, len(self._slots))
            if self._dead is not None:
                ahead = ahead[~self._dead[ahead]]
            listed.update(self._slots[ahead].tolist())
        listed.update(e[-2] for e in self._heap)
        candidates = np.concatenate([changed, new])
        judge = [s for s in candidates[pool.alive[candidates]].tolist() if s not in listed]
        if len(self._seen) < len(pool):
            self._seen = np.concatenate([self._seen, pool.version[n_old:]])
        self._seen[changed] = pool.version[changed]
        self._seen_structure = (pool.structure_version, pool.attr_epoch)
        for s in judge:
            self._expansions.pop(s, None)
        for entry in self._fresh_entries(judge):
            heapq.heappush(self._heap, entry)

    def _rebuild(self) -> None:
        """The truncated list ran dry: evaluate the pool again (candidates set aside stay aside)."""
        parked = frozenset(e[-2] for e in self._parked)
        self._heap = []
        self._expansions = {}
        self._req_fresh = {s: r for s, r in self._req_fresh.items() if s in parked}
        self._state_fresh = {}
        self._ptr = 0
        self._dead = None
        self._scan = 0
        self._stale_batch = 64
        self._expand_batch = 8
        self._build(self._preemption_ok, exclude=parked)

    def skip(self, cand: Candidate) -> None:
        """Set the last peeked candidate aside for this spin (it weighs more than the submitter may
        still take); :meth:`restore` puts it back when the pie spins again."""
        if self._from_heap:
            entry = heapq.heappop(self._heap)
        else:
            k = self._ptr
            self._row_of.setdefault(cand.slot, k)
            key = self._keys[k].tolist()
            entry = (*key, cand.slot, int(self._versions[k]))
            self._ptr += 1
        self._parked.append(entry)
        self._parked_min = cand.weight if self._parked_min is None else min(self._parked_min, cand.weight)

    @property
    def min_weight(self) -> float | None:
        """No candidate, set aside or not, weighs less than this (None: no candidates at all)."""
        known = [w for w in (self._built_min, self._parked_min) if w is not None]
        return min(known) if known else None

    def has_skipped(self) -> bool:
        return bool(self._parked)

    def restore(self) -> None:
        """A new spin: candidates set aside by :meth:`skip` are candidates again."""
        for entry in self._parked:
            heapq.heappush(self._heap, entry)
        self._parked.clear()
