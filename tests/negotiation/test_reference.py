"""The engine against a naive reference negotiator: one submitter (so fair share does not cut in), no
claimed slots; every job, in queue order, takes the best slot by (PRE_JOB_RANK, job Rank,
POST_JOB_RANK, slot order), evaluated pair by pair with classad2 (Old-ClassAd scoping, as htcondor2
sets it), and p-slots give up the quantized request. Whatever the engine does with autoclusters, match
lists, p-slot state batches and caches, the outcome must be the same."""

from __future__ import annotations

import math
import random

import classad2
import pytest

from condorfed.core.classads.values import Ad, Expr
from condorfed.core.fairshare import UsageState
from condorfed.core.negotiation import NegotiatorConfig, SlotPool, cycle, negotiate
from condorfed.core.negotiation.classlist import ClassMatchList
from condorfed.core.negotiation.evaluation import _to_classad, classad2_uses_old_scoping

from .test_differential import REQS as BASE_REQS
from .test_differential import STARTS

REQS = [
    *BASE_REQS,
    "TARGET.Cpus && (TARGET.Memory >= RequestMemory)",  # a number as a clause
    "(TARGET.NoSuchAttr =?= undefined) && (TARGET.Disk >= RequestDisk) && (Cpus - RequestCpus >= 1)",
    '(TARGET.Site == "CERN") || (TARGET.Memory > 10000) && (TARGET.Cpus >= RequestCpus)',
    "ifThenElse(TARGET.Cpus > 4, TARGET.Memory >= 2 * RequestMemory, true) && TARGET.Memory >= RequestMemory",
]

FLT_MAX = 3.4028234663852886e38
CFG = NegotiatorConfig()


def number(v, default):
    return float(v) if isinstance(v, int | float) and not isinstance(v, classad2.Value) else default


def truth(v):
    return v is True or (isinstance(v, int | float) and not isinstance(v, bool | classad2.Value) and v != 0)


def reference(jobs: list[Ad], slots: list[Ad]) -> list[tuple[str, str]]:
    slots = [s.copy() for s in slots]
    out = []
    for job in sorted(jobs, key=lambda j: (-j.get("JobPrio", 0), j["ClusterId"], j["ProcId"])):
        jc = _to_classad(job, lambda n: False)
        req = (
            max(1, math.ceil(job.get("RequestCpus", 1))),
            math.ceil(job["RequestMemory"] / 128) * 128,
            math.ceil(job["RequestDisk"] / 1024) * 1024,
            job.get("RequestGPUs", 0),
        )
        best = None
        for i, s in enumerate(slots):
            sc = _to_classad(s, lambda n: False)
            if not truth(classad2.ExprTree("MY.Requirements").eval(jc, sc)):
                continue
            if not truth(classad2.ExprTree("MY.Requirements").eval(sc, jc)):
                continue
            if s.get("PartitionableSlot") is True:
                have = (s["Cpus"], s["Memory"], s["Disk"], s.get("GPUs", 0))
                if any(r > h for r, h in zip(req, have, strict=True)):
                    continue
            elif s.get("Taken"):
                continue
            key = (
                number(classad2.ExprTree(CFG.pre_job_rank).eval(sc, jc), -FLT_MAX),
                number(classad2.ExprTree("MY.Rank").eval(jc, sc), 0.0),
                number(classad2.ExprTree(CFG.post_job_rank).eval(sc, jc), -FLT_MAX),
                -i,
            )
            if best is None or key > best[0]:
                best = (key, i)
        if best is None:
            continue
        s = slots[best[1]]
        out.append((f"{job['ClusterId']}.{job['ProcId']}", s["Name"]))
        if s.get("PartitionableSlot") is True:
            s["Cpus"], s["Memory"], s["Disk"] = s["Cpus"] - req[0], s["Memory"] - req[1], s["Disk"] - req[2]
            if req[3]:
                s["GPUs"] = s["GPUs"] - req[3]
        else:
            s["Taken"] = True
    return out


def make_pool(rng: random.Random) -> list[Ad]:
    out = []
    for m in range(rng.randint(4, 12)):
        cpus = rng.choice([2, 4, 8])
        ad = Ad(
            Name=f"slot1@m{m}",
            Arch="X86_64",
            OpSys="LINUX",
            HasFileTransfer=True,
            FileSystemDomain="x",
            Site=rng.choice(["CERN", "DESY"]),
            Memory=cpus * rng.choice([1024, 2048, 3000]),
            Disk=cpus * 1_000_000,
            Cpus=cpus,
            START=rng.choice(STARTS),
            Requirements=Expr("START"),
            Rank=0.0,
            CurrentRank=0.0,
            SlotID=rng.randint(1, 3),
            State="Unclaimed",
        )
        if rng.random() < 0.3:
            ad["GPUs"] = rng.choice([1, 2])
        if rng.random() < 0.6:
            ad["PartitionableSlot"] = True
        out.append(ad)
    return out


def make_jobs(rng: random.Random, interleave: bool = False) -> list[Ad]:
    out = []
    for cluster in range(1, rng.randint(2, 6)):
        req = rng.choice(REQS)
        attrs = dict(
            Owner="alice",
            User="alice@x",
            JobStatus=1,
            ClusterId=cluster,
            RequestCpus=rng.choice([1, 1, 2]),
            RequestMemory=rng.choice([500, 1000, 2000, 5000]),
            RequestDisk=rng.choice([1000, 500_000]),
            FileSystemDomain="x",
            Requirements=Expr(req),
            Rank=rng.choice([0.0, Expr("TARGET.Memory"), Expr('TARGET.Site == "CERN"')]),
        )
        if "GPUs" in req:
            attrs["RequestGPUs"] = 1
        out += [Ad(attrs, ProcId=p) for p in range(rng.randint(1, 8))]
    if interleave:  # JobPrio shuffles the queue, so autoclusters take turns
        for ad in out:
            ad["JobPrio"] = rng.randint(0, 3)
    return out


@pytest.mark.parametrize("persistent", [False, True], ids=["one-cycle-pool", "persistent-pool"])
@pytest.mark.parametrize("interleave", [False, True], ids=["in-order", "interleaved"])
@pytest.mark.parametrize("seed", range(20), ids=lambda s: f"seed{s}")
def test_engine_agrees_with_the_naive_reference(seed, interleave, persistent, monkeypatch):
    assert classad2_uses_old_scoping()  # htcondor2 is imported by the test package
    used: list[object] = []
    if persistent:  # the kind of pool the simulator keeps: match lists by content class
        monkeypatch.setattr(cycle, "SlotPool", lambda slots, cache_matches: SlotPool(slots))
        for_job = ClassMatchList.for_job.__func__
        monkeypatch.setattr(
            ClassMatchList,
            "for_job",
            classmethod(lambda cls, *a, **k: used.append(for_job(cls, *a, **k)) or used[-1]),
        )
    rng = random.Random(1000 + seed)
    slots, jobs = make_pool(rng), make_jobs(rng, interleave)
    expected = reference(jobs, slots)
    result = negotiate(jobs, slots, CFG, UsageState(), 0.0)
    assert [(m.job, m.slot) for m in result.matches] == expected
    if persistent:  # every autocluster got a list by content class
        assert used and all(isinstance(ml, ClassMatchList) for ml in used)
