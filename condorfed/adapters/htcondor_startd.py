"""Drain startds through htcondor2 (``Startd.drainJobs``): the burst controller's scale-down path.

A worker is named as the controller sees it (the startd's ``Machine``, which is also the
startd daemon's name for a one-startd host). ``how``: ``graceful`` lets running jobs use their
MaxJobRetirementTime; ``fast`` evicts them at once (they return to idle in their schedd and run
again elsewhere, so nothing is lost). The ``htcondor`` argument is the htcondor2 module or an
in-memory fake of that boundary.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from condorfed.adapters.htcondor_bindings import Bindings, first_line
from condorfed.errors import PoolError

log = logging.getLogger(__name__)


class StartdDrainer(Bindings):
    """A :class:`condorfed.core.burst.ports.Drainer` over a live pool."""

    def __init__(self, pool: str | None = None, *, htcondor: Any = None) -> None:
        super().__init__(pool, htcondor=htcondor)
        self.request_ids: dict[str, str] = {}

    def drain(self, workers: Sequence[str], how: str, reason: str) -> None:
        htc = self.htc
        drain_type = {"graceful": htc.DrainType.Graceful, "fast": htc.DrainType.Fast}.get(how)
        if drain_type is None:
            raise PoolError(f"drain: unknown drain type {how!r} (graceful or fast)")
        try:
            collector = htc.Collector(self.pool)
        except (htc.HTCondorException, OSError, RuntimeError, ValueError) as exc:
            raise PoolError(f"collector {self.pool or '(COLLECTOR_HOST)'}: {first_line(exc)}") from None
        for worker in workers:
            try:
                location = collector.locate(htc.DaemonType.Startd, worker)
                request = htc.Startd(location).drainJobs(
                    drain_type=drain_type,
                    on_completion=htc.CompletionType.Nothing,
                    reason=f"condorfed: {reason}",
                )
            except (htc.HTCondorException, OSError, RuntimeError, ValueError) as exc:
                text = first_line(exc)
                if "already" in text.lower() and "drain" in text.lower():
                    # A repeated request (e.g. after a restart before the state was saved).
                    log.info("drain %s: %s", worker, text)
                    continue
                raise PoolError(f"startd {worker}: drain ({how}) failed: {text}") from None
            self.request_ids[worker] = str(request)
            log.info("drain %s (%s): %s", worker, how, reason)
