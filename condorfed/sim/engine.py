"""The :class:`~condorfed.sim.ports.Matchmaker` on condorfed's negotiation engine.

A thin adapter over the incremental API of :mod:`condorfed.core.negotiation`: a persistent
:class:`SlotPool` (one partitionable slot per worker node), demand as :class:`JobGroup`
entries, :func:`negotiate_demand` once per cycle, and the accountant state of
:mod:`condorfed.core.fairshare` carried from cycle to cycle. Nothing is decided here.

A draining node leaves the slot pool at once (it accepts no new jobs); its running jobs stay
in the simulator's books and in the usage handed to the accountant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from condorfed.core.classads.values import Ad
from condorfed.core.fairshare.accountant import UsageState, advance
from condorfed.core.negotiation import JobGroup, NegotiatorConfig, SlotPool, negotiate_demand
from condorfed.core.negotiation.autocluster import slot_side_references
from condorfed.core.negotiation.evaluation import Evaluator, default_evaluator
from condorfed.errors import SimulationError
from condorfed.sim.ports import Demand, Grant


class EngineMatchmaker:
    """Drives :func:`condorfed.core.negotiation.negotiate_demand` cycle by cycle."""

    def __init__(
        self,
        config: NegotiatorConfig,
        slot_templates: Sequence[Ad],
        usage: UsageState | None = None,
        evaluator: Evaluator | None = None,
    ) -> None:
        self.cfg = config
        self.pool = SlotPool()
        self.usage = usage or UsageState()
        self.ev = evaluator or default_evaluator()
        self._pool_id: dict[int, int] = {}  # node id -> pool slot id
        self._node_id: dict[int, int] = {}  # pool slot id -> node id
        # Every worker of a cluster advertises the same expressions as its template, so the
        # job attributes slots can reference (autocluster signature) are known up front.
        self.slot_side = slot_side_references(
            slot_templates,
            (
                config.pre_job_rank,
                config.post_job_rank,
                config.preemption_requirements,
                config.preemption_rank,
            ),
        )
        self.last_limited = True  # did the last cycle leave jobs idle because of fair-share limits?
        # Claims of finished jobs, handed back just before the next cycle reads the pool (or a slot
        # leaves it, taking its claims along): nothing reads a p-slot's free resources between
        # cycles, and one release per cycle writes each slot once however many of its runs ended.
        self._ended: list[int] = []

    def _release_ended(self) -> None:
        if self._ended:
            ended, self._ended = self._ended, []
            self.pool.release_many(ended)

    def add_slot(self, slot: int, ad: Ad) -> None:
        (pid,) = self.pool.add([ad])
        self._pool_id[slot] = pid
        self._node_id[pid] = slot

    def close_slot(self, slot: int) -> None:
        self.remove_slot(slot)

    def remove_slot(self, slot: int) -> None:
        self._release_ended()
        pid = self._pool_id.pop(slot, None)
        if pid is not None:
            self.pool.remove([pid])
            del self._node_id[pid]

    def release(self, slot: int, claims: tuple[int, ...]) -> None:
        if slot not in self._pool_id:
            return  # the slot left the pool (drain/removal); its claims went with it
        self._ended += claims

    def account(self, running: Mapping[str, float], now: float) -> None:
        # What a cycle without matches does to the accountant: age to now, record usage.
        self.usage = advance(self.usage, now, self.cfg.priority_halflife, running)

    def negotiate(self, demand: Sequence[Demand], running: Mapping[str, float], now: float) -> list[Grant]:
        self._release_ended()
        groups = [JobGroup(d.ad, d.submitter, d.group, d.count, key=d.key, running=d.running) for d in demand]
        result = negotiate_demand(
            groups,
            self.pool,
            self.cfg,
            self.usage,
            now,
            evaluator=self.ev,
            running=running,
            slot_side=self.slot_side,
        )
        self.usage = result.usage
        self.last_limited = any("limit" in r or "quota" in r for r in result.rejected.values())
        grants = []
        for m in result.matches:
            if m.preempting is not None:
                raise SimulationError(
                    f"the engine preempted a claim ({m.preemption}); the simulator does not model "
                    "priority or rank preemption: leave PREEMPTION_REQUIREMENTS and RANK at their defaults"
                )
            grants.append(
                Grant(
                    int(m.group.key),  # type: ignore[arg-type]
                    self._node_id[m.slot],
                    m.count,
                    int(m.cpus),
                    int(m.memory),
                    int(m.disk),
                    int(m.gpus),
                    tuple(m.claims),
                )
            )
        return grants

    def can_match(self, job: Ad, slot: Ad) -> bool:
        """Symmetric match with the negotiator's Old-ClassAd scoping (via the engine's evaluator)."""
        ok_job = bool(self.ev.truth("Requirements", job, slot)[0]) if "Requirements" in job else True
        if not ok_job:
            return False
        return bool(self.ev.truth("Requirements", slot, job)[0]) if "Requirements" in slot else True
