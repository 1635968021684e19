"""Level 1: one negotiation cycle on job and slot ads (for the CLI and the controller)."""

from __future__ import annotations

from collections.abc import Sequence

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
    c, p = job.get("ClusterId"), job.get("ProcId")
    if isinstance(c, int) and isinstance(p, int):
        return f"{c}.{p}"
    return f"job#{index}"


def _queue_order(job: Ad, i: int) -> tuple:
    v = job.lower_items()
    prio, cluster, proc = v.get("jobprio", 0), v.get("clusterid", 0), v.get("procid", 0)
    ok = (int, float)
    return (
        -(prio if isinstance(prio, ok) and not isinstance(prio, bool) else 0),
        cluster if isinstance(cluster, ok) and not isinstance(cluster, bool) else 0,
        proc if isinstance(proc, ok) and not isinstance(proc, bool) else 0,
        i,
    )


def _weight(job: Ad) -> float:
    v = job.get("RequestCpus", 1)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else 1.0


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
    pool = SlotPool(slots, cache_matches=False)
    slot_side = slot_side_for(pool, config)
    ids = [job_id(j, i) for i, j in enumerate(jobs)]
    running: dict[str, float] = {}
    queues: dict[str, list[int]] = {}
    for i, job in enumerate(jobs):
        status = _int(job, "JobStatus", IDLE)
        sub = submitter_of(job, config.uid_domain)
        if status == RUNNING:
            running[sub] = running.get(sub, 0.0) + _weight(job)
        elif status == IDLE:
            queues.setdefault(sub, []).append(i)
    demand: list[JobGroup] = []
    members: dict[int, list[str]] = {}
    for sub, idx in queues.items():
        # The schedd offers jobs by JobPrio (high first), then in queue order.
        idx.sort(key=lambda i: _queue_order(jobs[i], i))
        run: list[int] = []
        run_key = None
        for i in [*idx, None]:
            key = None if i is None else significant_key(jobs[i], slot_side, config.significant_attributes)
            if run and (i is None or key != run_key):
                first = jobs[run[0]]
                jg = JobGroup(first, sub, group_of_job(first), len(run))
                demand.append(jg)
                members[id(jg)] = [ids[k] for k in run]
                run = []
            if i is not None:
                run.append(i)
                run_key = key
    result = negotiate_demand(
        demand, pool, config, usage, now, evaluator=evaluator, running=running, slot_side=slot_side
    )
    matches: list[Match] = []
    taken: dict[int, int] = {}
    for gm in result.matches:
        job_ids = members[id(gm.group)]
        start = taken.get(id(gm.group), 0)
        for jid in job_ids[start : start + gm.count]:
            matches.append(
                Match(
                    jid,
                    pool.names[gm.slot],
                    gm.group.submitter,
                    gm.group.group,
                    gm.cpus,
                    gm.memory,
                    gm.disk,
                    gm.gpus,
                    gm.preempting,
                    gm.preemption,
                )
            )
        taken[id(gm.group)] = start + gm.count
    unmatched: list[Unmatched] = []
    for jg in demand:
        left = members[id(jg)][taken.get(id(jg), 0) :]
        reason = result.rejected.get(id(jg), "not reached in this cycle")
        unmatched.extend(Unmatched(jid, reason, jg.submitter) for jid in left)
    return CycleResult(
        tuple(matches),
        tuple(unmatched),
        result.submitters,
        result.groups,
        result.usage,
        result.autoclusters,
        result.spins,
        tuple(pool.ads),
    )
