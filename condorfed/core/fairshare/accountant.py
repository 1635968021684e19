"""The accountant: real and effective user priorities, as HTCondor's negotiator keeps them.

- Real user priority (RUP) decays towards the submitter's current usage:
  ``RUP(t) = beta * RUP(t - dt) + (1 - beta) * used``, with ``beta = 0.5 ** (dt / PRIORITY_HALFLIFE)``.
  ``used`` is the weighted resources in use (cores, with HTCondor's default ``SLOT_WEIGHT = Cpus``).
  A RUP never drops below :data:`MIN_PRIORITY` (0.5), which is also where every new submitter starts.
- Effective user priority (EUP) = RUP x priority factor (``DEFAULT_PRIO_FACTOR`` unless set per submitter).

The state is an immutable value; :func:`advance` returns a new one. No clock is read here: callers pass
``now``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from condorfed.errors import ConfigError

MIN_PRIORITY = 0.5


@dataclass(frozen=True)
class SubmitterUsage:
    """One submitter's accountant record. ``factor=None`` means "DEFAULT_PRIO_FACTOR"."""

    priority: float = MIN_PRIORITY
    factor: float | None = None
    resources_used: float = 0.0


@dataclass(frozen=True)
class UsageState:
    """The accountant's state at ``time`` (epoch seconds; ``None`` when never updated)."""

    time: float | None = None
    submitters: Mapping[str, SubmitterUsage] = field(default_factory=dict)

    def get(self, name: str) -> SubmitterUsage:
        return self.submitters.get(name) or SubmitterUsage()

    def real_priority(self, name: str) -> float:
        return max(MIN_PRIORITY, self.get(name).priority)

    def factor(self, name: str, default_factor: float) -> float:
        f = self.get(name).factor
        return default_factor if f is None else f

    def effective_priority(self, name: str, default_factor: float) -> float:
        return self.real_priority(name) * self.factor(name, default_factor)

    def resources_used(self, name: str) -> float:
        return self.get(name).resources_used

    # --- JSON: {"time": EPOCH, "submitters": {name: {"priority", "factor", "resourcesUsed"}}} ---
    @classmethod
    def from_json(cls, data: Any, source: str = "<usage>") -> UsageState:
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: usage state must be a JSON object")
        t = data.get("time")
        if t is not None and not isinstance(t, int | float):
            raise ConfigError(f"{source}: time: expected a number, got {t!r}")
        subs = data.get("submitters", {})
        if not isinstance(subs, dict):
            raise ConfigError(f"{source}: submitters: expected an object")
        out: dict[str, SubmitterUsage] = {}
        for name, rec in subs.items():
            if not isinstance(rec, dict):
                raise ConfigError(f"{source}: submitters.{name}: expected an object")
            vals: dict[str, float | None] = {}
            for key, attr in (
                ("priority", "priority"),
                ("factor", "factor"),
                ("resourcesUsed", "resources_used"),
            ):
                v = rec.get(key)
                if v is None:
                    continue
                if isinstance(v, bool) or not isinstance(v, int | float):
                    raise ConfigError(f"{source}: submitters.{name}.{key}: expected a number, got {v!r}")
                vals[attr] = float(v)
            out[name] = SubmitterUsage(**vals)  # type: ignore[arg-type]
        return cls(time=None if t is None else float(t), submitters=out)

    def to_json(self) -> dict[str, Any]:
        subs: dict[str, Any] = {}
        for name in sorted(self.submitters):
            rec = self.submitters[name]
            item: dict[str, Any] = {"priority": rec.priority, "resourcesUsed": rec.resources_used}
            if rec.factor is not None:
                item["factor"] = rec.factor
            subs[name] = item
        return {"time": self.time, "submitters": subs}


def decay(priority: float, used: float, dt: float, halflife: float) -> float:
    """One accountant update over ``dt`` seconds with ``used`` resources in use throughout."""
    if dt <= 0:
        return max(MIN_PRIORITY, priority)
    beta = 0.5 ** (dt / halflife) if halflife > 0 else 0.0
    return max(MIN_PRIORITY, beta * priority + (1.0 - beta) * used)


def advance(
    state: UsageState,
    now: float,
    halflife: float,
    usage: Mapping[str, float] | None = None,
) -> UsageState:
    """Age every priority to ``now``.

    ``usage`` gives the resources each submitter has had in use since ``state.time``; submitters not in it
    keep their recorded ``resources_used``. The result records ``usage`` as the new resources in use.
    A state without a time is just re-stamped (there is no interval to age over).
    """
    usage = usage or {}
    dt = 0.0 if state.time is None else max(0.0, now - state.time)
    names = set(state.submitters) | set(usage)
    out: dict[str, SubmitterUsage] = {}
    for name in sorted(names):
        rec = state.get(name)
        used = usage.get(name, rec.resources_used)
        out[name] = replace(
            rec, priority=decay(rec.priority, rec.resources_used, dt, halflife), resources_used=used
        )
    return UsageState(time=now, submitters=out)


def with_usage(state: UsageState, usage: Mapping[str, float]) -> UsageState:
    """The same priorities with new resources-in-use figures (e.g. after a negotiation cycle)."""
    out = dict(state.submitters)
    for name, used in usage.items():
        out[name] = replace(state.get(name), resources_used=used)
    return UsageState(time=state.time, submitters=out)
