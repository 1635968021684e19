"""The negotiation engine: HTCondor's matchmaking and fair share, predicted on ClassAds.

Two API levels share one engine (:mod:`.engine`, with :mod:`.matchlist` doing the per-autocluster
matching), so the CLI, the burst controller and the simulator all see the same decisions.

Level 1 -- one cycle on ads (CLI, controller)::

    from condorfed.core.negotiation import NegotiatorConfig, negotiate
    from condorfed.core.fairshare import UsageState

    config = NegotiatorConfig.from_params(params)        # HTCondor defaults for anything unset
    result = negotiate(jobs, slots, config, UsageState(), now)
    result.matches     # (Match(job="12.0", slot="slot1@host", submitter=..., group=...), ...)
    result.unmatched   # (Unmatched(job=..., reason=...), ...)
    result.submitters  # {name: SubmitterResult(eup, limit, matched, matched_weight, usage)}
    result.groups      # {name: GroupResult(quota, allocated, usage)}
    result.usage       # UsageState aged to `now`, with the resources in use after the cycle
    result.to_json()   # the `condorfed negotiate --json` object

``jobs`` are job ads: idle ones (``JobStatus`` 1 or unset) are negotiated, running ones
(``JobStatus`` 2) count as usage. ``slots`` are machine ads; claimed slots carry ``RemoteOwner`` /
``RemoteUser`` / ``AccountingGroup`` (and ``State = "Claimed"``). Partitionable slots
(``PartitionableSlot = true``) are split: a match names the p-slot, and the p-slot keeps what is left.

Level 2 -- incremental, autocluster-level (simulator)::

    from condorfed.core.negotiation import SlotPool, JobGroup, negotiate_demand

    pool = SlotPool(machine_ads)                  # persistent across cycles
    ids = pool.add(more_ads); pool.remove(ids)    # machines come and go
    demand = [JobGroup(ad, submitter="alice@cern.ch", group=None, count=5000), ...]
    result = negotiate_demand(demand, pool, config, usage, now)
    for m in result.matches:                      # GroupMatch(group, slot, count, claims, cpus, ...)
        ...                                       # m.count jobs of m.group started on slot m.slot
    pool.release(claim_id)                        # a job finished: resources go back
    usage = result.usage                          # feed into the next cycle
    result.rejected                               # {id(JobGroup): reason} for entries left idle

Semantics, defaults and deviations from HTCondor are described in ``docs/negotiation.md``.
ClassAd evaluation uses the negotiator's Old-ClassAd scoping through :mod:`.evaluation`
(vectorized by default, classad2 pair-by-pair as the reference).
"""

from condorfed.core.negotiation.config import NegotiatorConfig
from condorfed.core.negotiation.cycle import group_of_job, job_id, negotiate, submitter_of
from condorfed.core.negotiation.engine import negotiate_demand
from condorfed.core.negotiation.evaluation import (
    Classad2Evaluator,
    Evaluator,
    VectorEvaluator,
    default_evaluator,
)
from condorfed.core.negotiation.pool import Claim, SlotPool
from condorfed.core.negotiation.results import (
    CycleResult,
    GroupCycleResult,
    GroupMatch,
    GroupResult,
    JobGroup,
    Match,
    SubmitterResult,
    Unmatched,
)

__all__ = [
    "Claim",
    "Classad2Evaluator",
    "CycleResult",
    "Evaluator",
    "GroupCycleResult",
    "GroupMatch",
    "GroupResult",
    "JobGroup",
    "Match",
    "NegotiatorConfig",
    "SlotPool",
    "SubmitterResult",
    "Unmatched",
    "VectorEvaluator",
    "default_evaluator",
    "group_of_job",
    "job_id",
    "negotiate",
    "negotiate_demand",
    "submitter_of",
]
