"""Builders shared by the burst tests (imported by name: conftest puts this folder on sys.path)."""

from __future__ import annotations

import yaml

from condorfed.core.burst import BurstPolicy, Campaign, JobGroup
from condorfed.core.classads import Ad, Expr
from condorfed.core.federation.model import parse_federation

FEDERATION_YAML = """
federation: {name: cern, trustDomain: cern.ch}
clusters:
  - {name: meyrin, type: onprem, nodes: 2, node: {cpus: 32, memory: 128000, disk: 500000}, maxCores: 64}
  - name: exoscale
    type: cloud
    node: {cpus: 16, memory: 64000, disk: 200000, gpus: 1}
    maxCores: 320
    costPerCoreHour: 0.02
    provisioningSeconds: 240
  - name: tsystems
    type: cloud
    node: {cpus: 8, memory: 32000, disk: 100000}
    maxCores: 800
    costPerCoreHour: 0.01
    provisioningSeconds: 300
  - name: gcp
    type: cloud
    node: {cpus: 8, memory: 32000, disk: 100000}
    maxCores: 80
    costPerCoreHour: 0.03
    provisioningSeconds: 120
    labels: {HasTPU: true}
rules:
  - fill: [meyrin, "*"]
  - prefer: exoscale
    when: 'RequestGPUs > 0'
  - require: gcp
    when: 'AcctGroup =?= "tpu"'
"""

DAY = 86400.0
T0 = 1_800_000_000.0  # campaign start used by the tests


def make_federation():
    return parse_federation(yaml.safe_load(FEDERATION_YAML), "federation.yaml")


def make_policy() -> BurstPolicy:
    return BurstPolicy.from_federation(make_federation())


def campaign(**kw) -> Campaign:
    base = dict(name="spike", start=T0, end=T0 + 10 * DAY, clusters=("exoscale", "tsystems"))
    base.update(kw)
    return Campaign(**base)


DEFAULT_REQ = (
    '(TARGET.Arch == "X86_64") && (TARGET.OpSys == "LINUX") && (TARGET.Disk >= RequestDisk)'
    " && (TARGET.Memory >= RequestMemory) && (TARGET.HasFileTransfer)"
)


def job(
    count: int = 1,
    cpus: int = 1,
    memory: int = 2000,
    gpus: int = 0,
    group: str | None = "atlas",
    req: str | None = None,
) -> JobGroup:
    ad = Ad(
        {
            "ClusterId": 1,
            "ProcId": 0,
            "JobStatus": 1,
            "Owner": "alice",
            "RequestCpus": cpus,
            "RequestMemory": memory,
            "RequestDisk": 1024,
            "RequestGPUs": gpus,
            "Requirements": Expr(DEFAULT_REQ if req is None else f"({DEFAULT_REQ}) && ({req})"),
        }
    )
    if group is not None:
        ad["AcctGroup"] = group
        ad["AccountingGroup"] = f"{group}.alice"
    return JobGroup.of(ad, count)


def pslot(cluster: str, machine: str, cpus: int, memory: int, *, cloud: bool = False, **extra) -> Ad:
    ad = Ad(
        {
            "Name": f"slot1@{machine}",
            "Machine": machine,
            "SlotType": "Partitionable",
            "PartitionableSlot": True,
            "State": "Unclaimed",
            "Activity": "Idle",
            "Arch": "X86_64",
            "OpSys": "LINUX",
            "HasFileTransfer": True,
            "Cpus": cpus,
            "Memory": memory,
            "Disk": 100_000_000,
            "GPUs": 0,
            "Requirements": Expr("START"),
            "START": True,
            "Rank": 0,  # every startd advertises it; NEGOTIATOR_PRE_JOB_RANK reads My.Rank
            "FedCluster": cluster,
            "IsCloud": cloud,
        }
    )
    ad.update(extra)
    return ad
