"""Helpers for negotiation tests: small pools and jobs built in code."""

from __future__ import annotations

import htcondor2  # noqa: F401  -- registers HTCondor's ClassAd functions (stringListMember, ...)
import pytest

from condorfed.core.classads.values import Ad, Expr
from condorfed.core.negotiation import Classad2Evaluator, default_evaluator

MACHINE = {
    "Arch": "X86_64",
    "OpSys": "LINUX",
    "HasFileTransfer": True,
    "Memory": 4096,
    "Disk": 10_000_000,
    "Cpus": 1,
    "State": "Unclaimed",
    "Requirements": Expr("START"),
    "START": True,
    "Rank": 0.0,
    "CurrentRank": 0.0,
}


def slots(n: int, prefix: str = "slot", **attrs) -> list[Ad]:
    out = []
    for i in range(1, n + 1):
        ad = Ad(MACHINE)
        ad["Name"] = f"{prefix}{i}@host{i}"
        ad["SlotID"] = 1
        ad.update(attrs)
        out.append(ad)
    return out


def jobs(n: int, owner: str = "alice", cluster: int = 1, **attrs) -> list[Ad]:
    out = []
    for p in range(n):
        ad = Ad(
            ClusterId=cluster,
            ProcId=p,
            Owner=owner,
            User=f"{owner}@cern.ch",
            JobStatus=1,
            RequestCpus=1,
            RequestMemory=1024,
            RequestDisk=1000,
            Requirements=Expr("(TARGET.Memory >= RequestMemory) && (TARGET.Cpus >= RequestCpus)"),
        )
        ad.update(attrs)
        out.append(ad)
    return out


@pytest.fixture(params=["default", "classad2"])
def evaluator(request):
    """Run a test through the default (vectorized when available) path and the classad2 reference."""
    return default_evaluator() if request.param == "default" else Classad2Evaluator()
