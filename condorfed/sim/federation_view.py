"""What the simulator reads from a :class:`condorfed.core.federation.model.Federation`.

This is a read-only projection of the policy helper's model (the numbers a simulated cluster
needs), not a second federation model: rules, fair share and the compiled policy stay there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from condorfed.errors import SimulationError


@dataclass(frozen=True, slots=True)
class ClusterSpec:
    """One member cluster as the simulator needs it."""

    name: str
    cloud: bool
    nodes: int
    cpus: int
    memory: int
    disk: int
    gpus: int
    cost_per_core_hour: float = 0.0
    provisioning_seconds: float = 0.0
    preemption_rate: float = 0.0  # spot reclaims per node-hour
    max_cores: int | None = None
    min_cores: int = 0
    labels: Mapping[str, Any] = field(default_factory=dict)

    @property
    def max_nodes(self) -> int | None:
        return None if self.max_cores is None else self.max_cores // max(self.cpus, 1)


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    """First present attribute (or mapping key) among ``names``: snake_case or camelCase."""
    for name in names:
        if isinstance(obj, Mapping):
            if name in obj:
                return obj[name]
        elif hasattr(obj, name):
            return getattr(obj, name)
    return default


def cluster_specs(federation: Any) -> list[ClusterSpec]:
    """The clusters of a parsed federation, in file order."""
    specs = []
    for c in _get(federation, "clusters", default=()) or ():
        node = _get(c, "node")
        ctype = _get(c, "type", default="onprem")
        ctype = getattr(ctype, "value", ctype)
        if node is None:
            raise SimulationError(f"cluster {_get(c, 'name')!r}: no node shape")
        specs.append(
            ClusterSpec(
                name=str(_get(c, "name")),
                cloud=str(ctype) == "cloud",
                nodes=int(_get(c, "nodes", default=0) or 0),
                cpus=int(_get(node, "cpus", default=1)),
                memory=int(_get(node, "memory", default=0)),
                disk=int(_get(node, "disk", default=0)),
                gpus=int(_get(node, "gpus", default=0) or 0),
                cost_per_core_hour=float(
                    _get(c, "cost_per_core_hour", "costPerCoreHour", default=0.0) or 0.0
                ),
                provisioning_seconds=float(
                    _get(c, "provisioning_seconds", "provisioningSeconds", default=0.0) or 0.0
                ),
                preemption_rate=float(_get(c, "preemption_rate", "preemptionRate", default=0.0) or 0.0),
                max_cores=_get(c, "max_cores", "maxCores", default=None),
                min_cores=int(_get(c, "min_cores", "minCores", default=0) or 0),
                labels=dict(_get(c, "labels", default={}) or {}),
            )
        )
    if not specs:
        raise SimulationError("the federation has no clusters to simulate")
    return specs


def intervals(federation: Any) -> tuple[float, float]:
    """(negotiatorInterval, controllerInterval) in seconds, defaults 60 and 60."""
    neg = _get(federation, "negotiator_interval", "negotiatorInterval", default=None)
    ctl = _get(federation, "controller_interval", "controllerInterval", default=None)
    return float(neg or 60.0), float(ctl or 60.0)


def group_quotas(federation: Any) -> dict[str, tuple[float, bool]]:
    """Accounting group -> (quota, dynamic) with dynamic quotas made absolute fractions of the pool.

    A sub-group's dynamic quota is a fraction of its parent's, so ``atlas.prod`` 0.8 under
    ``atlas`` 0.6 is 0.48 of the pool. Static quotas (cores) stay cores. Used only for the
    *entitled share* metric; the negotiation itself reads the compiled policy.
    """
    out: dict[str, tuple[float, bool]] = {}
    fs = _get(federation, "fairshare")
    top = _get(fs, "groups", default=()) if fs is not None else ()

    def walk(groups: Any, parent_fraction: float | None) -> None:
        for g in groups or ():
            quota = _get(g, "quota", default=0)
            dynamic = isinstance(quota, float)
            if dynamic:
                value = float(quota) * (parent_fraction if parent_fraction is not None else 1.0)
            else:
                value = float(quota)
            out[str(_get(g, "name"))] = (value, dynamic)
            walk(_get(g, "children", default=()), value if dynamic else None)

    walk(top, None)
    return out
