"""Level 1: one negotiation cycle on job and slot ads (for the CLI and the controller)."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter

from condorfed.core.classads.values import Ad, Expr
from condorfed.core.fairshare.accountant import UsageState
from condorfed.core.negotiation.autocluster import significant_key
from condorfed.core.negotiation.config import NegotiatorConfig
from condorfed.core.negotiation.engine import negotiate_demand, slot_side_for
from condorfed.core.negotiation.evaluation import Evaluator
from condorfed.core.negotiation.pool import SlotPool
from condorfed.core.negotiation.results import CycleResult, JobGroup, Match, Unmatched

IDLE, RUNNING = 1, 2


def _str(ad: Ad, name: str) -> str | None:
    v = ad.get(name)
    return str(v) if isinstance(v, str) and not isinstance(v, Expr) and v else None


def _int(ad: Ad, name: str, default: int) -> int:
    v = ad.get(name)
    return int(v) if isinstance(v, int | float) and not isinstance(v, bool) else default


def submitter_of(job: Ad, uid_domain: str | None = None) -> str:
    """The accountant's name for a job's owner: AccountingGroup if set, else User (Owner@UidDomain)."""
    acct = _str(job, "AccountingGroup")
    if acct:
        return acct
    user = _str(job, "User")
    if user:
        return user
    owner = _str(job, "Owner") or "nobody"
    domain = _str(job, "UidDomain") or uid_domain or "localdomain"
    return f"{owner}@{domain}"


def group_of_job(job: Ad) -> str | None:
    return _str(job, "AcctGroup")


def job_id(job: Ad, index: int) -> str:
    v = job.lower_items()
    c, p = v.get("clusterid"), v.get("procid")
    if isinstance(c, int) and isinstance(p, int):
        return f"{c}.{p}"
    return f"job#{index}"


def _weight(job: Ad) -> float:
    v = job.get("RequestCpus", 1)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else 1.0


class _LazyUnmatched(Sequence[Unmatched]):
    """``CycleResult.unmatched``: the :class:`Unmatched` entries are made when first looked at (a cycle
    at scale leaves hundreds of thousands of jobs idle, and most callers only count them)."""

    def __init__(self, jobs: Sequence[Ad], runs: list[tuple[list[int], str, str]]) -> None:
        self._jobs: Sequence[Ad] | None = jobs
        self._runs = runs
        self._len = sum(len(r[0]) for r in runs)
        self._items: tuple[Unmatched, ...] | None = None

    def _all(self) -> tuple[Unmatched, ...]:
        if self._items is None:
            jobs = self._jobs
            assert jobs is not None
            self._items = tuple(
                Unmatched(job_id(jobs[k], k), reason, sub) for left, reason, sub in self._runs for k in left
            )
            self._jobs = None
            self._runs = []
        return self._items

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, i):  # type: ignore[override]
        return self._all()[i]

    def __iter__(self):
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _LazyUnmatched):
            other = other._all()
        return self._all() == other if isinstance(other, tuple) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._all())

    def __repr__(self) -> str:
        return repr(self._all())


def _order_num(x: object) -> int | float:
    """A number for the queue order (JobPrio, ClusterId, ProcId); anything else counts as 0."""
    t = type(x)
    if t is int or t is float:
        return x  # type: ignore[return-value]
    return x if isinstance(x, int | float) and not isinstance(x, bool) else 0  # type: ignore[return-value]


def _status(x: object) -> int:
    if type(x) is int:
        return x  # type: ignore[return-value]
    return int(x) if isinstance(x, int | float) and not isinstance(x, bool) else IDLE  # type: ignore[arg-type]


def _queues(jobs: Sequence[Ad], uid_domain: str | None) -> tuple[dict[str, float], dict[str, list[int]]]:
    """One pass over the job ads: running weight per submitter, and each submitter's idle jobs in the
    order the schedd offers them (JobPrio high first, then ClusterId, ProcId, input order)."""
    running: dict[str, float] = {}
    queues: dict[str, list[tuple]] = {}
    for i, job in enumerate(jobs):
        get = job.lower_items().get
        status = get("jobstatus", IDLE)
        if type(status) is not int:
            status = _status(status)
        if status != IDLE and status != RUNNING:
            continue
        acct = get("accountinggroup")  # submitter_of's first choice, read inline
        sub = acct if type(acct) is str and acct else submitter_of(job, uid_domain)
        if status == RUNNING:
            running[sub] = running.get(sub, 0.0) + _weight(job)
            continue
        prio, cluster, proc = get("jobprio", 0), get("clusterid", 0), get("procid", 0)
        if type(prio) is int and type(cluster) is int and type(proc) is int:  # the usual case
            key = (-prio, cluster, proc, i)
        else:
            key = (-_order_num(prio), _order_num(cluster), _order_num(proc), i)
        q = queues.get(sub)
        if q is None:
            queues[sub] = [key]
        else:
            q.append(key)
    out: dict[str, list[int]] = {}
    for sub, keys in queues.items():
        keys.sort()
        out[sub] = [k[3] for k in keys]
    return running, out


def _tuple_getter(names: tuple[str, ...]) -> Callable[[Mapping[str, object]], tuple]:
    """``itemgetter(*names)`` that always returns a tuple (itemgetter gives a bare value for one name)."""
    if not names:
        return lambda values: ()
    if len(names) == 1:
        name = names[0]
        return lambda values: (values[name],)
    return itemgetter(*names)


class _RunStart:
    """The job that starts a run, and what a following job must show to have the same autocluster key.

    The key (:func:`significant_key`) holds the significant values and their types. A job with the
    same key has every attribute the start has among those names, equal and of the same type, and
    lacks the ones the start lacks. :func:`_runs` checks that with one C-level lookup of the present
    names (``getter``) and one disjointness test for the ``absent`` ones; when that fails (the run
    ends, or a value is stored as None), :meth:`same_key` compares the full key."""

    __slots__ = ("absent", "getter", "key", "present", "present_types")

    def __init__(self, job: Ad, slot_side: frozenset[str], extra: tuple[str, ...]) -> None:
        self.key = key = significant_key(job, slot_side, extra)
        base_t, names, vals, more = key[:4]
        pairs = list(zip(base_t + names, vals + more, strict=True))
        self.getter = _tuple_getter(tuple(n for n, v in pairs if v is not None))
        self.present = tuple(v for _, v in pairs if v is not None)
        self.present_types = tuple(map(type, self.present))
        self.absent = frozenset(n for n, v in pairs if v is None)

    def same_key(self, get: Callable[[str], object]) -> bool:
        """The plain comparison: the significant values (None where missing) and their types."""
        base_t, names, run_vals, run_more, run_types, run_more_types = self.key
        vals = tuple(map(get, base_t))
        if vals != run_vals or tuple(map(type, vals)) != run_types:
            return False
        if not names:
            return True
        more = tuple(map(get, names))
        return more == run_more and tuple(map(type, more)) == run_more_types


def _runs(
    jobs: Sequence[Ad], idx: list[int], slot_side: frozenset[str], extra: tuple[str, ...]
) -> list[list[int]]:
    """Split a submitter's queue into runs of consecutive jobs with equal autocluster keys.

    Equivalent to comparing :func:`significant_key` job by job, but the key is computed only where a
    run starts; each following job is compared against the run's start (see :class:`_RunStart`)."""
    runs: list[list[int]] = []
    run: list[int] = []
    start: _RunStart | None = None
    getter, present, types, absent = _tuple_getter(()), (), (), frozenset[str]()
    for i in idx:
        values = jobs[i].lower_items()
        if start is not None:
            # The quick test is inlined: this loop runs once per idle job.
            try:
                vals = getter(values)
            except KeyError:
                vals = None
            quick = vals == present and tuple(map(type, vals)) == types and values.keys().isdisjoint(absent)
            if quick or start.same_key(values.get):
                run.append(i)
                continue
            runs.append(run)
        start = _RunStart(jobs[i], slot_side, extra)
        getter, present, types, absent = start.getter, start.present, start.present_types, start.absent
        run = [i]
    if run:
        runs.append(run)
    return runs


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the length of one cycle.

    A cycle at scale allocates hundreds of thousands of containers that live until it returns (queue
    keys, runs, match lists, claims, per-job matches). With the collector on, every full collection
    re-walks all of them (0.9 s of a 10 s cycle at 400,000 jobs, in 6 full collections). Reference
    counting still frees what dies; cyclic garbage is reclaimed by the one young-generation collection
    that follows the cycle. The previous state is restored, so a caller that disabled the collector
    keeps it disabled."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def negotiate(
    jobs: Sequence[Ad],
    slots: Sequence[Ad],
    config: NegotiatorConfig,
    usage: UsageState,
    now: float,
    *,
    evaluator: Evaluator | None = None,
) -> CycleResult:
    """Run one negotiation cycle: which idle job goes to which slot (see the package docstring)."""
    with _cyclic_gc_paused():
        return _negotiate(jobs, slots, config, usage, now, evaluator)


def _negotiate(
    jobs: Sequence[Ad],
    slots: Sequence[Ad],
    config: NegotiatorConfig,
    usage: UsageState,
    now: float,
    evaluator: Evaluator | None,
) -> CycleResult:
    pool = SlotPool(slots, cache_matches=False)
    slot_side = slot_side_for(pool, config)
    running, queues = _queues(jobs, config.uid_domain)
    extra = tuple(config.significant_attributes)
    demand: list[JobGroup] = []
    members: dict[int, list[int]] = {}
    for sub, idx in queues.items():
        for run in _runs(jobs, idx, slot_side, extra):
            first = jobs[run[0]]
            jg = JobGroup(first, sub, group_of_job(first), len(run))
            demand.append(jg)
            members[id(jg)] = run
    result = negotiate_demand(
        demand, pool, config, usage, now, evaluator=evaluator, running=running, slot_side=slot_side
    )
    matches: list[Match] = []
    taken: dict[int, int] = {}
    for gm in result.matches:
        run = members[id(gm.group)]
        start = taken.get(id(gm.group), 0)
        slot = pool.names[gm.slot]
        sub, grp = gm.group.submitter, gm.group.group
        for k in run[start : start + gm.count]:
            matches.append(
                Match(
                    job_id(jobs[k], k),
                    slot,
                    sub,
                    grp,
                    gm.cpus,
                    gm.memory,
                    gm.disk,
                    gm.gpus,
                    gm.preempting,
                    gm.preemption,
                )
            )
        taken[id(gm.group)] = start + gm.count
    unmatched: list[tuple[list[int], str, str]] = []
    for jg in demand:
        left = members[id(jg)][taken.get(id(jg), 0) :]
        if left:
            unmatched.append((left, result.rejected.get(id(jg), "not reached in this cycle"), jg.submitter))
    return CycleResult(
        tuple(matches),
        _LazyUnmatched(jobs, unmatched),  # type: ignore[arg-type]
        result.submitters,
        result.groups,
        result.usage,
        result.autoclusters,
        result.spins,
        tuple(pool.ads),
    )
