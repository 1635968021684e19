"""The campaign model: a scripted burst with a lease, limits and a scale-down policy.

A campaign is read from YAML (``campaign:`` mapping, see ``docs/burst.md``) by
:func:`parse_campaign`, which reports the first problem as one line naming the field path.
Times are absolute (UTC epoch seconds in the model).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from condorfed.errors import ConfigError

DrainMode = Literal["graceful", "force"]

_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class RampUp:
    """How fast new nodes may be requested: at most ``max_nodes_per_tick`` over all clusters."""

    max_nodes_per_tick: int = 10


@dataclass(frozen=True)
class ScaleDown:
    """How workers leave: idle ones after ``idle_seconds``; busy ones only by draining."""

    idle_seconds: float = 900.0
    drain: DrainMode = "graceful"
    drain_deadline_seconds: float = 86400.0


@dataclass(frozen=True)
class Backoff:
    """Exponential back-off per cluster when new workers die young or never register.

    A request that has not produced a registered startd ``register_grace_seconds`` after the
    cluster's ``provisioningSeconds`` failed; so did a worker that vanished (without us removing it)
    less than ``young_seconds`` after it registered. After ``n`` consecutive failures the cluster
    gets no new nodes for ``min(base_seconds * 2**(n-1), max_seconds)``.
    """

    base_seconds: float = 300.0
    max_seconds: float = 6 * 3600.0
    young_seconds: float = 600.0
    register_grace_seconds: float = 600.0


@dataclass(frozen=True)
class Campaign:
    """A burst with a lease (``start``..``end``), cost limits and a scale-down policy.

    ``clusters`` empty means every cloud cluster of the federation; ``groups`` empty means every
    accounting group (and jobs without one). ``None`` limits are unlimited.
    """

    name: str
    start: float
    end: float
    clusters: tuple[str, ...] = ()
    max_cores: int | None = None
    budget: float | None = None
    max_burn_rate: float | None = None
    groups: tuple[str, ...] = ()
    ramp_up: RampUp = field(default_factory=RampUp)
    scale_down: ScaleDown = field(default_factory=ScaleDown)
    backoff: Backoff = field(default_factory=Backoff)

    @classmethod
    def unbounded(cls, name: str = "default") -> Campaign:
        """The campaign the controller runs without a campaign file: all clouds, no lease or budget."""
        return cls(name=name, start=-math.inf, end=math.inf)

    def serves_group(self, group: str | None) -> bool:
        if not self.groups:
            return True
        if group is None:
            return False
        g = group.lower()
        # A campaign for "atlas" serves "atlas" and its subgroups ("atlas.prod").
        return any(g == s.lower() or g.startswith(s.lower() + ".") for s in self.groups)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "clusters": list(self.clusters),
            "maxCores": self.max_cores,
            "budget": self.budget,
            "maxBurnRate": self.max_burn_rate,
            "groups": list(self.groups),
            "rampUp": {"maxNodesPerTick": self.ramp_up.max_nodes_per_tick},
            "scaleDown": {
                "idleSeconds": self.scale_down.idle_seconds,
                "drain": self.scale_down.drain,
                "drainDeadlineSeconds": self.scale_down.drain_deadline_seconds,
            },
            "backoff": {
                "baseSeconds": self.backoff.base_seconds,
                "maxSeconds": self.backoff.max_seconds,
                "youngSeconds": self.backoff.young_seconds,
                "registerGraceSeconds": self.backoff.register_grace_seconds,
            },
        }


def _iso(t: float) -> str | None:
    if not math.isfinite(t):
        return None
    return _dt.datetime.fromtimestamp(t, tz=_dt.UTC).isoformat().replace("+00:00", "Z")


class _Fields:
    """Reads one mapping, naming ``source: path.field`` in every error; rejects unknown keys."""

    def __init__(self, data: Any, path: str, source: str, allowed: set[str]) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: {path}: expected a mapping, got {type(data).__name__}")
        self.data, self.path, self.source = data, path, source
        for key in data:
            if key not in allowed:
                raise ConfigError(
                    f"{source}: {path}.{key}: unknown field (allowed: {', '.join(sorted(allowed))})"
                )

    def where(self, key: str) -> str:
        return f"{self.source}: {self.path}.{key}"

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def number(self, key: str, default: float | None, *, minimum: float = 0.0, integer: bool = False):
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ConfigError(f"{self.where(key)}: expected a number, got {value!r}")
        if integer and int(value) != value:
            raise ConfigError(f"{self.where(key)}: expected a whole number, got {value!r}")
        if value < minimum:
            raise ConfigError(f"{self.where(key)}: must be >= {minimum:g}, got {value!r}")
        return int(value) if integer else float(value)

    def time(self, key: str) -> float:
        value = self.data.get(key)
        if value is None:
            raise ConfigError(f"{self.where(key)}: required (an ISO 8601 time such as 2027-03-01T00:00:00Z)")
        if isinstance(value, _dt.datetime):  # PyYAML turns unquoted timestamps into datetimes
            moment = value
        elif isinstance(value, str):
            try:
                moment = _dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                raise ConfigError(f"{self.where(key)}: not an ISO 8601 time: {value!r}") from None
        else:
            raise ConfigError(f"{self.where(key)}: expected an ISO 8601 time, got {value!r}")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=_dt.UTC)  # YAML timestamps without offset are UTC
        return moment.timestamp()

    def names(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(f"{self.where(key)}: expected a list of names, got {value!r}")
        if len(set(value)) != len(value):
            raise ConfigError(f"{self.where(key)}: names repeat: {value!r}")
        return tuple(value)


def parse_campaign(data: Any, source: str, known_clusters: Mapping[str, bool] | None = None) -> Campaign:
    """Validate a campaign document (the parsed YAML) and return the model.

    ``known_clusters`` maps cluster name -> is-cloud; when given, ``clusters`` must name cloud
    clusters of the federation. Errors are one line: ``<source>: campaign.<field>: <problem>``.
    """
    top = _Fields(data, "(top)", source, {"campaign"})
    if not top.has("campaign"):
        raise ConfigError(f"{source}: campaign: required (the file must hold a 'campaign:' mapping)")
    f = _Fields(
        data["campaign"],
        "campaign",
        source,
        {
            "name",
            "start",
            "end",
            "clusters",
            "maxCores",
            "budget",
            "maxBurnRate",
            "groups",
            "rampUp",
            "scaleDown",
            "backoff",
        },
    )
    name = f.data.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ConfigError(
            f"{f.where('name')}: required, a DNS-1123 label (lower case, digits, '-'), got {name!r}"
        )
    start, end = f.time("start"), f.time("end")
    if end <= start:
        raise ConfigError(f"{f.where('end')}: must be after campaign.start")
    clusters = f.names("clusters")
    if known_clusters is not None:
        for i, c in enumerate(clusters):
            if c not in known_clusters:
                known = ", ".join(sorted(known_clusters)) or "none"
                raise ConfigError(
                    f"{source}: campaign.clusters[{i}]: unknown cluster {c!r} (federation has: {known})"
                )
            if not known_clusters[c]:
                raise ConfigError(
                    f"{source}: campaign.clusters[{i}]: {c!r} is on-prem; a campaign bursts to cloud clusters"
                )

    ramp = RampUp()
    if f.has("rampUp"):
        r = _Fields(f.data["rampUp"], "campaign.rampUp", source, {"maxNodesPerTick"})
        ramp = RampUp(max_nodes_per_tick=r.number("maxNodesPerTick", 10, minimum=1, integer=True))
    down = ScaleDown()
    if f.has("scaleDown"):
        s = _Fields(
            f.data["scaleDown"],
            "campaign.scaleDown",
            source,
            {"idleSeconds", "drain", "drainDeadlineSeconds"},
        )
        mode = s.data.get("drain", "graceful")
        if mode not in ("graceful", "force"):
            raise ConfigError(f"{s.where('drain')}: expected 'graceful' or 'force', got {mode!r}")
        down = ScaleDown(
            idle_seconds=s.number("idleSeconds", 900.0),
            drain=mode,
            drain_deadline_seconds=s.number("drainDeadlineSeconds", 86400.0),
        )
    backoff = Backoff()
    if f.has("backoff"):
        b = _Fields(
            f.data["backoff"],
            "campaign.backoff",
            source,
            {"baseSeconds", "maxSeconds", "youngSeconds", "registerGraceSeconds"},
        )
        backoff = Backoff(
            base_seconds=b.number("baseSeconds", 300.0, minimum=1.0),
            max_seconds=b.number("maxSeconds", 6 * 3600.0, minimum=1.0),
            young_seconds=b.number("youngSeconds", 600.0),
            register_grace_seconds=b.number("registerGraceSeconds", 600.0),
        )
    return Campaign(
        name=name,
        start=start,
        end=end,
        clusters=clusters,
        max_cores=f.number("maxCores", None, integer=True),
        budget=f.number("budget", None),
        max_burn_rate=f.number("maxBurnRate", None),
        groups=f.names("groups"),
        ramp_up=ramp,
        scale_down=down,
        backoff=backoff,
    )
