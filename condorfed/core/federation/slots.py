"""The slot a fresh worker of a member cluster advertises, derived from federation.yaml."""

from __future__ import annotations

from condorfed.core.classads import Ad, Expr
from condorfed.core.federation.model import Cluster


def virtual_slot(cluster: Cluster) -> Ad:
    """A partitionable slot as one new node of ``cluster`` would advertise it (whole node).

    Units are HTCondor's: Memory in MB as in the node shape, Disk in KiB (the node's disk is MB).
    """
    n = cluster.node
    ad = Ad(
        {
            "Name": f"slot1@virtual.{cluster.name}",
            "Machine": f"virtual.{cluster.name}",
            "MyType": "Machine",
            "SlotType": "Partitionable",
            "PartitionableSlot": True,
            "State": "Unclaimed",
            "Activity": "Idle",
            "Arch": "X86_64",
            "OpSys": "LINUX",
            "HasFileTransfer": True,
            "Cpus": n.cpus,
            "TotalSlotCpus": n.cpus,
            "Memory": n.memory,
            "TotalSlotMemory": n.memory,
            "Disk": n.disk * 1024,
            "GPUs": n.gpus,
            "TotalSlotGPUs": n.gpus,
            "Requirements": Expr("START"),
            "START": True,
            "Rank": 0,
        }
    )
    ad.update(cluster.slot_attrs())
    return ad
