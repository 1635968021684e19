"""Turn slot ads (as the collector shows them) into the controller's :class:`Worker` view.

One worker is one startd (``Machine``; or the attribute named by ``node_attr`` when startds
advertise their Kubernetes node name). Its state:

========== ==========================================================
idle       no slot claimed
busy       at least one slot claimed (running a job)
draining   a drain is in progress (``Draining`` or Activity Retiring) and jobs still run
drained    the drain finished (State Drained) and nothing runs
========== ==========================================================
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from condorfed.core.burst.state import Worker
from condorfed.core.classads.values import Ad


def _num(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(value)


# condorfed's startd config advertises the pod's Kubernetes node; older startds fall back to Machine.
NODE_ATTR = "K8sNodeName"


def workers_from_slots(
    slots: Iterable[Ad], clusters: Collection[str], node_attr: str = NODE_ATTR
) -> tuple[Worker, ...]:
    """The workers of ``clusters`` (by the slots' ``FedCluster``), sorted by name."""
    acc: dict[str, dict] = {}
    for slot in slots:
        cluster = slot.get("FedCluster")
        if not isinstance(cluster, str) or cluster not in clusters:
            continue
        name = slot.get(node_attr) or slot.get("Machine") or slot.get("Name")
        if not isinstance(name, str):
            continue
        w = acc.setdefault(
            name, {"cluster": cluster, "cores": 0, "busy": 0, "jobs": 0, "draining": False, "drained": False}
        )
        state = str(slot.get("State") or "").lower()
        activity = str(slot.get("Activity") or "").lower()
        partitionable = slot.get("PartitionableSlot") is True
        if partitionable:
            w["cores"] += _num(slot.get("TotalSlotCpus", slot.get("DetectedCpus", slot.get("Cpus"))))
        elif slot.get("DynamicSlot") is not True:
            w["cores"] += _num(slot.get("Cpus"))  # a static slot
        if state == "claimed":
            w["busy"] += _num(slot.get("Cpus"))
            w["jobs"] += 1
        if slot.get("Draining") is True or activity == "retiring":
            w["draining"] = True
        if state == "drained":
            w["drained"] = True
    out = []
    for name in sorted(acc):
        w = acc[name]
        if w["jobs"]:
            state = "draining" if w["draining"] or w["drained"] else "busy"
        elif w["drained"] or w["draining"]:
            state = "drained"
        else:
            state = "idle"
        out.append(Worker(name, w["cluster"], w["cores"], w["busy"], w["jobs"], state))
    return tuple(out)
