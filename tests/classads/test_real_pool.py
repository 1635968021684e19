"""Expressions real pools use, over a varied slot table, against classad2 (both directions)."""

from __future__ import annotations

import random

import classad2
import pytest
from classads_oracle import oracle, same_value

from condorfed.classads import evaluate_many
from condorfed.core.classads import Ad, AdTable, Expr, compile_expr, from_classad, to_classad


def _submit_job() -> Ad:
    """A job ad as condor_submit makes it (with its default Requirements), via the v1 bindings."""
    htcondor = pytest.importorskip("htcondor")
    sub = htcondor.Submit({"executable": "/bin/true", "request_memory": "2048", "request_cpus": "2",
                           "request_disk": "1GB", "should_transfer_files": "IF_NEEDED"})  # fmt: skip
    job = next(iter(sub.jobs(count=1)))
    return from_classad(classad2.ClassAd(str(job)))


START_EXPRESSIONS = [
    "true",
    "KeyboardIdle > 15 * 60 && LoadAvg < 0.3",
    "(TARGET.RequestCpus <= Cpus) && (TARGET.RequestMemory <= Memory)",
    '(TARGET.AcctGroup =?= "group_cms") || (TARGET.NiceUser =!= true && Memory >= 4096)',
    "isUndefined(TARGET.WantGPU) || TARGET.WantGPU =!= true || GPUs > 0",
    'stringListIMember(TARGET.Owner, "alice,Bob,carol")',
    "ifThenElse(Cpus > 16, TARGET.RequestCpus >= 4, true)",
]
JOB_EXPRESSIONS = [
    "Requirements",  # condor_submit's default (and the variants below)
    "TARGET.Memory >= RequestMemory && TARGET.Cpus >= RequestCpus",
    "Memory > 1024",  # a bare Old-ClassAd reference to a slot attribute
    'stringListMember(TARGET.FedCluster, "onprem-a,cloud-b")',
    'regexp("^slot1@node[0-9]+$", TARGET.Name)',
    "TARGET.GPUs >= 1 && TARGET.CUDACapability >= 7.0",
    'toLower(TARGET.OpSys) == "linux" && substr(TARGET.Arch, 0, 3) == "X86"',
    "Rank",
    "(10000000 * TARGET.Rank) + (1000000 * (TARGET.RemoteOwner =?= UNDEFINED)) - (100000 * TARGET.Cpus)"
    " - TARGET.Memory",
]
# Evaluated with MY = the slot: the negotiator's default NEGOTIATOR_PRE_JOB_RANK, START, Rank.
SLOT_EXPRESSIONS = [
    "(10000000 * My.Rank) + (1000000 * (RemoteOwner =?= UNDEFINED)) - (100000 * Cpus) - Memory",
    "START",
    "Requirements",
    "Rank",
    "Cpus * 1024 / Memory",
    "floor(Memory / 1024.0) + ceiling(Disk / 1e6) + round(LoadAvg)",
    'strcat(Name, "/", FedCluster)',
    'size(Name) > 10 && strcmp(Arch, "X86_64") == 0 && stricmp(OpSys, "linux") == 0',
    "int(LoadAvg * 100) % 7",
    "real(Cpus) / 3",
]


def _slots(n: int, seed: int) -> list[Ad]:
    rng = random.Random(seed)
    shapes = [(8, 32768, 0), (16, 65536, 0), (32, 131072, 2), (4, 16384, 0), (64, 262144, 4)]
    out = []
    for k in range(n):
        cpus, mem, gpus = rng.choice(shapes)
        ad = Ad(Name=f"slot1@node{k}", Arch=rng.choice(["X86_64", "aarch64"]), OpSys="LINUX", Cpus=cpus,
                Memory=mem, Disk=cpus * 2_000_000, GPUs=gpus, KeyboardIdle=rng.randint(0, 5000),
                LoadAvg=rng.choice([0.0, 0.1, 0.5, 1.75]),
                FedCluster=rng.choice(["onprem-a", "cloud-b", "x"]),
                FileSystemDomain=rng.choice(["cern.ch", "cloud"]), HasFileTransfer=rng.random() < 0.8,
                Rank=rng.choice([0.0, 0.0, Expr("TARGET.RequestCpus")]),
                START=Expr(rng.choice(START_EXPRESSIONS)), Requirements=Expr("START"))  # fmt: skip
        if gpus:
            ad["CUDACapability"] = rng.choice([6.1, 7.5, 8.0])
        if rng.random() < 0.3:
            ad["RemoteOwner"] = "bob@cern.ch"
        out.append(ad)
    return out


def _jobs(base: Ad, seed: int) -> list[Ad]:
    rng = random.Random(seed)
    jobs = []
    site_list = 'stringListMember(TARGET.FedCluster, "onprem-a,cloud-b") && '
    requirements = [base["Requirements"], Expr("Memory > 1024"), Expr("TARGET.GPUs >= 1 && Cpus >= 8"),
                    Expr(site_list + str(base["Requirements"]))]  # fmt: skip
    for k in range(6):
        job = base.copy()
        job["Requirements"] = requirements[k % len(requirements)]
        job["Owner"] = rng.choice(["alice", "BOB", "dave"])
        job["RequestMemory"] = rng.choice(
            [1024, 4096, Expr("ifThenElse(MemoryUsage > 0, MemoryUsage, 2048)")]
        )
        job["Rank"] = rng.choice([0.0, Expr("TARGET.Memory / 1024"), Expr("Cpus")])
        if rng.random() < 0.5:
            job["WantGPU"] = True
            job["AcctGroup"] = "group_cms"
        jobs.append(job)
    return jobs


@pytest.fixture(scope="module")
def pool():
    base = _submit_job()
    return _jobs(base, 7), _slots(60, 11)


def test_default_requirements_come_from_condor_submit(pool):
    jobs, _ = pool
    text = str(jobs[0]["Requirements"])
    assert "TARGET.Memory >= RequestMemory" in text and "TARGET.HasFileTransfer" in text


@pytest.mark.parametrize("expr", JOB_EXPRESSIONS)
def test_job_expressions_against_slot_table(pool, expr):
    jobs, slots = pool
    table = AdTable.from_ads(slots)
    slots_c = [to_classad(s) for s in slots]
    for job in jobs:
        job_c = to_classad(job)
        expected = [oracle(expr, job_c, s) for s in slots_c]
        got = compile_expr(expr).evaluate(job, table).to_list()
        assert all(same_value(e, g) for e, g in zip(expected, got, strict=True)), (expr, job)
        assert evaluate_many(expr, job_c, slots_c) == expected or all(
            same_value(e, g) for e, g in zip(expected, evaluate_many(expr, job_c, slots_c), strict=True)
        )


@pytest.mark.parametrize("expr", SLOT_EXPRESSIONS)
def test_slot_expressions_against_one_job(pool, expr):
    jobs, slots = pool
    table = AdTable.from_ads(slots)
    slots_c = [to_classad(s) for s in slots]
    for job in jobs:
        job_c = to_classad(job)
        expected = [oracle(expr, s, job_c) for s in slots_c]
        got = compile_expr(expr).evaluate(table, job).to_list()
        assert all(same_value(e, g) for e, g in zip(expected, got, strict=True)), (expr, job)


def test_everything_here_compiles():
    """None of these needs the classad2 fallback."""
    for expr in JOB_EXPRESSIONS + SLOT_EXPRESSIONS + START_EXPRESSIONS:
        assert compile_expr(expr).compilable, expr
