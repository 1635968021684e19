"""Why a job does or doesn't match, in the spirit of ``condor_q -better-analyze``.

The job's Requirements is split into its top-level ``&&`` clauses; for each, the number of slots that
satisfy it is counted (old-ClassAd scoping, MY = the job). Slots whose own Requirements (START) reject
the job are listed by name, and so are partitionable slots without enough resources left.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from condorfed.core.classads.values import Ad
from condorfed.core.negotiation.evaluation import Evaluator, SlotRows, default_evaluator
from condorfed.core.negotiation.pool import RESOURCES, SlotPool
from condorfed.core.negotiation.split import split_conjunction


@dataclass(frozen=True)
class ClauseResult:
    clause: str
    matching_slots: int


@dataclass(frozen=True)
class Analysis:
    job: str
    slots: int
    requirements: str | None
    clauses: tuple[ClauseResult, ...]
    satisfy_job: int  # slots satisfying the whole job Requirements
    rejected_by_slot: tuple[str, ...]  # slots whose START/Requirements reject the job
    too_small: tuple[str, ...]  # p-slots without enough resources left
    matching: tuple[str, ...]  # slots matching both ways (and big enough)
    available: tuple[str, ...] = ()  # of those, the ones not claimed by a running job

    def to_json(self) -> dict:
        return {
            "job": self.job,
            "slots": self.slots,
            "requirements": self.requirements,
            "clauses": [{"clause": c.clause, "matching_slots": c.matching_slots} for c in self.clauses],
            "satisfy_job_requirements": self.satisfy_job,
            "rejected_by_slot_requirements": list(self.rejected_by_slot),
            "partitionable_slots_too_small": list(self.too_small),
            "matching_slots": list(self.matching),
            "available_matching_slots": list(self.available),
        }


def analyze(
    job: Ad,
    slots: Sequence[Ad],
    *,
    job_name: str = "job",
    evaluator: Evaluator | None = None,
    quantize_memory: int = 128,
    quantize_disk: int = 1024,
) -> Analysis:
    """Explain how ``job`` fares against ``slots`` (see the module docstring)."""
    ev = evaluator or default_evaluator()
    pool = SlotPool(slots)
    n = len(pool)
    req = job.get("Requirements")
    req_text = str(req) if req is not None else None
    if n == 0:
        return Analysis(job_name, 0, req_text, (), 0, (), (), ())
    rows = SlotRows(pool, np.arange(n))
    clauses = tuple(
        ClauseResult(c, int(ev.truth(c, job, rows).sum()))
        for c in (split_conjunction(req_text) if req_text else [])
    )
    job_ok = ev.truth("MY.Requirements", job, rows) if req_text else np.zeros(n, bool)
    slot_ok = ev.truth("MY.Requirements", rows, job)
    need = []
    for attr, q, default in (
        ("RequestCpus", 1, 1.0),
        ("RequestMemory", quantize_memory, 0.0),
        ("RequestDisk", quantize_disk, 0.0),
        ("RequestGPUs", 1, 0.0),
    ):
        v = ev.number(f"MY.{attr}", job, rows, default) if attr in job else np.full(n, default)
        need.append(np.ceil(v / q - 1e-9) * q)
    have = np.vstack([pool.column(r) for r in RESOURCES])
    fits = np.all(np.vstack(need) <= have + 1e-9, axis=0) | ~pool.partitionable
    names = pool.names
    return Analysis(
        job=job_name,
        slots=n,
        requirements=req_text,
        clauses=clauses,
        satisfy_job=int(job_ok.sum()),
        rejected_by_slot=tuple(names[i] for i in np.flatnonzero(~slot_ok)),
        too_small=tuple(names[i] for i in np.flatnonzero(~fits)),
        matching=tuple(names[i] for i in np.flatnonzero(job_ok & slot_ok & fits)),
        available=tuple(names[i] for i in np.flatnonzero(job_ok & slot_ok & fits & ~pool.claimed)),
    )
