"""Startd ads from a collector, through htcondor2 (``Collector(pool).query(AdTypes.Startd, ...)``).

:class:`StartdReader` is the port the federation workflow needs; :class:`CollectorStartdReader` is the
htcondor2 implementation and :class:`StaticStartdReader` an in-memory one for tests and dry runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from condorfed.core.classads import Ad, compile_expr, from_classad
from condorfed.errors import PoolError

# What `status` and `join --wait` read from each slot ad.
STATUS_PROJECTION: tuple[str, ...] = (
    "Name",
    "Machine",
    "FedCluster",
    "SlotType",
    "PartitionableSlot",
    "State",
    "Cpus",
    "TotalSlotCpus",
    "DetectedCpus",
)


@runtime_checkable
class StartdReader(Protocol):
    """Slot ads of startds known to a collector."""

    def startd_ads(self, constraint: str | None = None, projection: Sequence[str] = ()) -> list[Ad]: ...


class CollectorStartdReader:
    """A :class:`StartdReader` backed by a live collector (``HOST[:PORT]``; None = the configured one)."""

    def __init__(self, pool: str | None = None) -> None:
        self.pool = pool

    def startd_ads(self, constraint: str | None = None, projection: Sequence[str] = ()) -> list[Ad]:
        import htcondor2

        where = f"collector {self.pool or '(COLLECTOR_HOST)'}"
        try:
            collector = htcondor2.Collector(self.pool)
            ads = collector.query(
                htcondor2.AdTypes.Startd, constraint=constraint or None, projection=list(projection) or None
            )
        except (htcondor2.HTCondorException, OSError, RuntimeError, ValueError) as exc:
            text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise PoolError(f"{where}: startd query failed: {text}") from None
        return [from_classad(ad) for ad in ads]


class StaticStartdReader:
    """A :class:`StartdReader` over a fixed list of ads; constraints are evaluated by the core engine."""

    def __init__(self, ads: Sequence[Ad] = ()) -> None:
        self.ads = list(ads)
        self.queries = 0

    def startd_ads(self, constraint: str | None = None, projection: Sequence[str] = ()) -> list[Ad]:
        self.queries += 1
        if not constraint:
            return list(self.ads)
        expr = compile_expr(constraint)
        return [ad for ad in self.ads if bool(expr.evaluate(ad, Ad()).truth()[0])]
