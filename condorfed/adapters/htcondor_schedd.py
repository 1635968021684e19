"""Idle and running jobs from the pool's schedds, and the accountant's usage, through htcondor2.

:class:`ScheddJobReader` finds the schedds through the collector (``Collector.locateAll``) and
queries each with a *projection*: only the attributes that decide where a job can run. The
first query asks for :data:`JOB_PROJECTION` plus ``AutoClusterAttrs`` (the schedd's own list of
significant attributes); if the jobs name significant attributes outside the projection, a
second query fetches those too. Nothing else about the jobs is transferred.

The ``htcondor`` argument is the htcondor2 module (tests pass an in-memory fake of the same
boundary: ``Collector``, ``Schedd``, ``DaemonType``, ``HTCondorException``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from condorfed.adapters.htcondor_bindings import Bindings, first_line
from condorfed.core.classads import Ad, from_classad
from condorfed.errors import PoolError

IDLE = "JobStatus == 1"
RUNNING = "JobStatus == 2"

# Attributes that decide where an idle job can run, and who it belongs to.
JOB_PROJECTION: tuple[str, ...] = (
    "ClusterId",
    "ProcId",
    "JobStatus",
    "Owner",
    "User",
    "AcctGroup",
    "AcctGroupUser",
    "AccountingGroup",
    "NiceUser",
    "JobUniverse",
    "JobPrio",
    "Requirements",
    "Rank",
    "RequestCpus",
    "RequestMemory",
    "RequestDisk",
    "RequestGPUs",
    "ConcurrencyLimits",
    "DiskUsage",
    "ImageSize",
    "MemoryUsage",
    "ExecutableSize",
    "QDate",
    "AutoClusterId",
    "AutoClusterAttrs",
)


class ScheddJobReader(Bindings):
    """A :class:`condorfed.core.burst.ports.JobReader` over every schedd of a pool."""

    def __init__(
        self,
        pool: str | None = None,
        *,
        schedds: Sequence[str] = (),
        extra_attrs: Sequence[str] = (),
        htcondor: Any = None,
    ) -> None:
        super().__init__(pool, htcondor=htcondor)
        self.schedd_names = tuple(schedds)
        self.projection = tuple(dict.fromkeys((*JOB_PROJECTION, *extra_attrs)))

    def _where(self) -> str:
        return f"collector {self.pool or '(COLLECTOR_HOST)'}"

    def _schedds(self) -> list[tuple[str, Any]]:
        htc = self.htc
        try:
            collector = htc.Collector(self.pool)
            if self.schedd_names:
                ads = [collector.locate(htc.DaemonType.Schedd, name) for name in self.schedd_names]
            else:
                ads = collector.locateAll(htc.DaemonType.Schedd)
        except (htc.HTCondorException, OSError, RuntimeError, ValueError) as exc:
            raise PoolError(f"{self._where()}: cannot locate schedds: {first_line(exc)}") from None
        return [(str(ad.get("Name", "?")), htc.Schedd(ad)) for ad in ads]

    def _query(self, name: str, schedd: Any, constraint: str, projection: Sequence[str]) -> list[Any]:
        htc = self.htc
        try:
            return list(schedd.query(constraint=constraint, projection=list(projection)))
        except (htc.HTCondorException, OSError, RuntimeError, ValueError) as exc:
            raise PoolError(f"schedd {name}: job query failed: {first_line(exc)}") from None

    def idle_jobs(self) -> list[Ad]:
        """Every idle job, projected to the attributes that decide where it can run."""
        out: list[Ad] = []
        for name, schedd in self._schedds():
            ads = self._query(name, schedd, IDLE, self.projection)
            significant: set[str] = set()
            for ad in ads:
                attrs = ad.get("AutoClusterAttrs")
                if isinstance(attrs, str):
                    significant.update(a.strip() for a in attrs.split(",") if a.strip())
            have = {a.lower() for a in self.projection}
            missing = sorted(a for a in significant if a.lower() not in have)
            if missing:  # the schedd says these matter too: fetch them once more
                ads = self._query(name, schedd, IDLE, (*self.projection, *missing))
            out.extend(from_classad(ad) for ad in ads)
        return out

    def running_jobs(self) -> int:
        total = 0
        for name, schedd in self._schedds():
            total += len(self._query(name, schedd, RUNNING, ("ClusterId", "ProcId")))
        return total


class NegotiatorUsageReader(Bindings):
    """The accountant's state from the negotiator (``Negotiator.getPriorities``), as a UsageState.

    Accounting ads carry ``Name``, ``Priority`` (the real user priority), ``PriorityFactor`` and
    ``WeightedResourcesUsed`` / ``ResourcesUsed``; group records (``IsAccountingGroup``) are skipped:
    the engine derives group usage from its submitters.
    """

    def usage(self, now: float) -> Any:
        from condorfed.core.fairshare import SubmitterUsage, UsageState

        htc = self.htc
        try:
            location = htc.Collector(self.pool).locate(htc.DaemonType.Negotiator)
            ads = htc.Negotiator(location).getPriorities(rollup=False)
        except (htc.HTCondorException, OSError, RuntimeError, ValueError) as exc:
            where = f"negotiator of {self.pool or '(COLLECTOR_HOST)'}"
            raise PoolError(f"{where}: priority query failed: {first_line(exc)}") from None
        submitters = {}
        for ad in ads:
            name = ad.get("Name")
            if not isinstance(name, str) or ad.get("IsAccountingGroup") is True:
                continue
            used = ad.get("WeightedResourcesUsed", ad.get("ResourcesUsed", 0))
            factor = ad.get("PriorityFactor")
            submitters[name] = SubmitterUsage(
                priority=float(ad.get("Priority", 0.5)),
                factor=float(factor) if isinstance(factor, int | float) else None,
                resources_used=float(used) if isinstance(used, int | float) else 0.0,
            )
        return UsageState(time=now, submitters=submitters)
