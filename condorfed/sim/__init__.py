"""Discrete-event simulation of a federation, driving the real negotiation engine and burst controller.

Public entry points: :class:`SimInputs`, :func:`run_simulation`, :mod:`.scenarios`,
:mod:`.baselines`, :class:`~condorfed.sim.burst.BurstController`, :func:`.metrics.summary`.
"""

from __future__ import annotations

from condorfed.sim.invariants import check_all
from condorfed.sim.simulation import SAFETY_CAP_S, SimInputs, Simulation


def run_simulation(inputs: SimInputs, *, check: bool = True) -> Simulation:
    """Run one simulation to its end and check every invariant (raising if one is broken)."""
    sim = Simulation(inputs).run()
    if check:
        check_all(sim)
    return sim


__all__ = ["SAFETY_CAP_S", "SimInputs", "Simulation", "check_all", "run_simulation"]
