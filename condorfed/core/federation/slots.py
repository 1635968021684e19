"""The slot a worker of a member cluster advertises, as condorfed's startd config makes it.

One builder serves every place that needs a slot that does not exist yet: the policy's explanations,
the burst controller's virtual slots and the simulator's provisioned nodes.
"""

from __future__ import annotations

from collections.abc import Mapping

from condorfed.core.classads import Ad, Expr, Value
from condorfed.core.federation.model import Cluster


def worker_slot(
    cluster: str,
    cloud: bool,
    *,
    cpus: int,
    memory: int,
    disk_kib: int,
    gpus: int = 0,
    name: str | None = None,
    labels: Mapping[str, Value] | None = None,
) -> Ad:
    """The unclaimed partitionable slot of one worker (memory in MB, disk in KiB, HTCondor's units)."""
    name = name or f"slot1@virtual.{cluster}"
    ad = Ad(
        {
            "Name": name,
            "Machine": name.split("@", 1)[-1],
            "MyType": "Machine",
            "SlotType": "Partitionable",
            "PartitionableSlot": True,
            "State": "Unclaimed",
            "Activity": "Idle",
            "Arch": "X86_64",
            "OpSys": "LINUX",
            "HasFileTransfer": True,
            "Cpus": cpus,
            "TotalSlotCpus": cpus,
            "TotalCpus": cpus,
            "Memory": memory,
            "TotalSlotMemory": memory,
            "TotalMemory": memory,
            "Disk": disk_kib,
            "TotalSlotDisk": disk_kib,
            "GPUs": gpus,
            "TotalSlotGPUs": gpus,
            "Requirements": Expr("START"),
            "START": True,
            "Rank": 0.0,
        }
    )
    ad.update(labels or {})
    ad["FedCluster"] = cluster
    ad["IsCloud"] = cloud
    return ad


def virtual_slot(cluster: Cluster) -> Ad:
    """The slot one new node of ``cluster`` would advertise (the node's disk is MB in federation.yaml)."""
    n = cluster.node
    return worker_slot(
        cluster.name,
        cluster.is_cloud,
        cpus=n.cpus,
        memory=n.memory,
        disk_kib=n.disk * 1024,
        gpus=n.gpus,
        labels=cluster.labels,
    )
