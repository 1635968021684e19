"""``policy explain``: for each autocluster of a job list, where the policy sends it and why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from condorfed.core.classads import Ad, compile_expr
from condorfed.core.federation.policy import CompiledPolicy
from condorfed.core.federation.slots import virtual_slot
from condorfed.core.negotiation.autocluster import significant_key, slot_side_references


@dataclass(frozen=True)
class Explanation:
    """One autocluster. ``order`` is the policy's rank order over the allowed clusters; ``fits``
    the clusters of ``order`` whose worker shape satisfies the job's Requirements (after the
    require transform); ``target`` the first of them (None: no allowed cluster can run it)."""

    autocluster: int
    jobs: int
    example: str
    request: str
    rule: str | None
    allowed: tuple[str, ...]
    order: tuple[str, ...]
    fits: tuple[str, ...]
    target: str | None
    tiers: tuple[tuple[str, ...], ...] = ()

    @property
    def rank_text(self) -> str:
        """``meyrin > prevessin > exoscale = tsystems`` (``=``: tied)."""
        return " > ".join(" = ".join(t) for t in self.tiers)

    def to_json(self) -> dict:
        return {
            "autocluster": self.autocluster,
            "jobs": self.jobs,
            "example": self.example,
            "request": self.request,
            "rule": self.rule,
            "allowed": list(self.allowed),
            "order": list(self.order),
            "tiers": [list(t) for t in self.tiers],
            "fits": list(self.fits),
            "target": self.target,
        }


def _job_id(job: Ad, index: int) -> str:
    cluster, proc = job.get("ClusterId"), job.get("ProcId")
    return f"{cluster}.{proc}" if isinstance(cluster, int) and isinstance(proc, int) else f"#{index}"


def _request(job: Ad) -> str:
    parts = []
    for attr, unit in (("RequestCpus", "cpus"), ("RequestMemory", "MB"), ("RequestGPUs", "gpus")):
        value = job.get(attr)
        if value is not None:
            parts.append(f"{value} {unit}")
    return ", ".join(parts) or "-"


def explain(policy: CompiledPolicy, jobs: Sequence[Ad]) -> list[Explanation]:
    """Group ``jobs`` into autoclusters (as the engine does, with the policy's rank and the
    clusters' virtual slots as the slot side) and explain each, in order of first appearance."""
    fed = policy.federation
    slots = {c.name: virtual_slot(c) for c in fed.clusters}
    slot_side = slot_side_references(slots.values(), [policy.pre_job_rank])
    groups: dict[tuple, list[tuple[int, Ad]]] = {}
    for i, job in enumerate(jobs):
        transformed = policy.apply_to_job(job)
        groups.setdefault(significant_key(transformed, slot_side), []).append((i, transformed))
    out = []
    for n, members in enumerate(groups.values(), start=1):
        index, job = members[0]
        routing = policy.route(job)
        requirements = job.get("Requirements", True)
        fits: list[str] = []
        for name in routing.order:
            if requirements is True or compile_expr(str(requirements)).evaluate(job, slots[name]).truth()[0]:
                fits.append(name)
        out.append(
            Explanation(
                autocluster=n,
                jobs=len(members),
                example=_job_id(job, index),
                request=_request(job),
                rule=routing.rule,
                allowed=routing.allowed,
                order=routing.order,
                fits=tuple(fits),
                target=fits[0] if fits else None,
                tiers=routing.tiers,
            )
        )
    return out
