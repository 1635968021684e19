"""`condorfed status`: each member's reachability and DaemonSet, its startds and cores in the collector."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from condorfed.adapters.htcondor_collector import STATUS_PROJECTION, CollectorStartdReader, StartdReader
from condorfed.core.classads import Ad
from condorfed.core.render.options import DEFAULT_NAMESPACE, STARTD_NAME
from condorfed.errors import ClusterError, PoolError
from condorfed.workflows.federation_common import DEFAULT_CONNECTOR, Connector, require_registry
from condorfed.workflows.federation_registry import Member


@dataclass(frozen=True)
class MemberStatus:
    name: str
    context: str
    phase: str
    reachable: bool
    error: str | None
    cloud: bool
    provider: str
    weight: float
    desired: int | None = None
    ready: int | None = None
    updated: int | None = None
    startds: int = 0
    cores_total: int = 0
    cores_claimed: int = 0
    cores_unclaimed: int = 0

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class FederationStatus:
    context: str
    namespace: str
    trust_domain: str
    collector: str | None
    collector_error: str | None
    members: list[MemberStatus]

    @property
    def totals(self) -> dict[str, int]:
        keys = ("startds", "cores_total", "cores_claimed", "cores_unclaimed")
        out = {k: sum(getattr(m, k) for m in self.members) for k in keys}
        out["members"] = len(self.members)
        out["reachable"] = sum(1 for m in self.members if m.reachable)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "namespace": self.namespace,
            "trust_domain": self.trust_domain,
            "collector": self.collector,
            "collector_error": self.collector_error,
            "members": [m.to_json() for m in self.members],
            "totals": self.totals,
        }


def status(
    *,
    host_context: str | None,
    namespace: str = DEFAULT_NAMESPACE,
    collector: str | None = None,
    connector: Connector = DEFAULT_CONNECTOR,
    reader_factory: Callable[[str | None], StartdReader] = CollectorStartdReader,
) -> FederationStatus:
    """Every member: reachable or not (within the probe timeout), its DaemonSet's counts, and its
    startds and cores as the host collector sees them. An unreachable member or collector is reported,
    never raised."""
    host = connector.connect(host_context)
    registry = require_registry(host, namespace)
    init_opts = registry.init_options()
    address = collector or init_opts.collector_address
    ads: list[Ad] = []
    collector_error = None
    try:
        ads = reader_factory(address).startd_ads("FedCluster =!= undefined", STATUS_PROJECTION)
    except PoolError as exc:
        collector_error = str(exc)
    by_cluster: dict[str, list[Ad]] = {}
    for ad in ads:
        by_cluster.setdefault(str(ad.get("FedCluster")), []).append(ad)
    members = [
        _member_status(connector, entry, by_cluster.get(name, []))
        for name, entry in sorted(registry.members.items())
    ]
    return FederationStatus(
        host.context, namespace, init_opts.trust_domain, address, collector_error, members
    )


def _member_status(connector: Connector, entry: Member, ads: list[Ad]) -> MemberStatus:
    counts = count_cores(ads)
    base = MemberStatus(
        name=entry.name,
        context=entry.context,
        phase=entry.phase,
        reachable=False,
        error=None,
        cloud=entry.settings.cloud,
        provider=entry.settings.provider,
        weight=entry.settings.weight,
        **counts,
    )
    try:
        client = connector.probe(entry.context)
        ds = client.get("apps/v1", "DaemonSet", STARTD_NAME, entry.namespace)
    except ClusterError as exc:
        return dataclasses.replace(base, error=str(exc))
    st = (ds or {}).get("status") or {}
    return dataclasses.replace(
        base,
        reachable=True,
        error=None if ds else f"DaemonSet {entry.namespace}/{STARTD_NAME} not found",
        desired=st.get("desiredNumberScheduled", 0) if ds else None,
        ready=st.get("numberReady", 0) if ds else None,
        updated=st.get("updatedNumberScheduled", 0) if ds else None,
    )


def count_cores(ads: Sequence[Ad]) -> dict[str, int]:
    """Startds and cores from slot ads. A partitionable slot holds its unclaimed cores (``Cpus``) out of
    ``TotalSlotCpus``; each dynamic slot carved from it is claimed; a static slot counts by its State."""
    machines = set()
    total = claimed = unclaimed = 0
    for ad in ads:
        machines.add(str(ad.get("Machine") or ad.get("Name")))
        cpus = _int(ad.get("Cpus"))
        slot_type = str(ad.get("SlotType") or "")
        if slot_type == "Partitionable" or ad.get("PartitionableSlot") is True:
            total += _int(ad.get("TotalSlotCpus")) or cpus
            unclaimed += cpus
        elif slot_type == "Dynamic":
            claimed += cpus
        else:
            total += cpus
            if str(ad.get("State")) == "Claimed":
                claimed += cpus
            else:
                unclaimed += cpus
    return {
        "startds": len(machines),
        "cores_total": total,
        "cores_claimed": claimed,
        "cores_unclaimed": unclaimed,
    }


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0
