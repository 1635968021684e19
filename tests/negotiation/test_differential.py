"""The same negotiation through the vectorized evaluator and through classad2 pair by pair gives
identical matches (issue 3), on seeded, generated pools with the requirement styles pools use."""

from __future__ import annotations

import random

import pytest

from condorfed.core.classads.values import Ad, Expr
from condorfed.core.fairshare import SubmitterUsage, UsageState
from condorfed.core.negotiation import Classad2Evaluator, NegotiatorConfig, VectorEvaluator, negotiate

DEFAULT_REQ = (
    '(TARGET.Arch == "X86_64") && (TARGET.OpSys == "LINUX") && (TARGET.Disk >= RequestDisk) && '
    "(TARGET.Memory >= RequestMemory) && ((TARGET.FileSystemDomain == MY.FileSystemDomain) || "
    "(TARGET.HasFileTransfer))"
)
STARTS = [
    True,
    Expr("TARGET.RequestMemory <= 4096"),
    Expr('(TARGET.AllowCloud =?= true) || (TARGET.Owner == "ops")'),
    Expr("ifThenElse(TARGET.RequestGPUs > 0, GPUs > 0, true)"),
    Expr('stringListIMember(TARGET.Owner, "alice,bob,carol")'),
    Expr("(Cpus >= 4) || (TARGET.RequestCpus <= 1)"),  # reads what claims change: p-slot states differ
]
REQS = [
    DEFAULT_REQ,
    "(TARGET.Memory >= RequestMemory) && (TARGET.Cpus >= RequestCpus)",
    "Memory > 2048 && Cpus >= RequestCpus",  # bare Old-ClassAd references
    'stringListMember(TARGET.Site, "CERN,DESY") && (TARGET.Memory >= RequestMemory)',
    "TARGET.GPUs >= RequestGPUs && TARGET.Memory >= RequestMemory",
    "(TARGET.Cpus >= 3) && (TARGET.Memory >= RequestMemory)",
]
RANKS = [0.0, Expr("TARGET.Memory"), Expr('TARGET.Site == "CERN"'), Expr("-TARGET.Cpus")]


def pool(rng: random.Random) -> list[Ad]:
    out = []
    for m in range(rng.randint(8, 20)):
        cloud = rng.random() < 0.3
        cpus = rng.choice([4, 8, 16])
        gpus = rng.choice([0, 0, 1, 2])
        base = Ad(
            Name=f"slot1@m{m}",
            Machine=f"m{m}",
            Arch="X86_64",
            OpSys="LINUX",
            HasFileTransfer=True,
            FileSystemDomain=f"m{m}.local",
            Site=rng.choice(["CERN", "DESY", "GCP"]),
            IsCloud=cloud,
            Memory=cpus * rng.choice([2048, 4000, 4096]),
            Disk=cpus * 5_000_000,
            Cpus=cpus,
            START=rng.choice(STARTS),
            Requirements=Expr("START"),
            Rank=0.0,
            CurrentRank=0.0,
            SlotID=m,
            State="Unclaimed",
        )
        if gpus:
            base["GPUs"] = gpus
        if rng.random() < 0.7:
            base["PartitionableSlot"] = True
            base["SlotType"] = "Partitionable"
        out.append(base)
        if rng.random() < 0.2:
            busy = base.copy()
            busy["Name"] = f"slot2@m{m}"
            busy["State"] = "Claimed"
            busy["PartitionableSlot"] = False
            busy["RemoteOwner"] = busy["RemoteUser"] = rng.choice(["alice@x", "dave@x"])
            busy["Rank"] = rng.choice([0.0, Expr('TARGET.Owner == "carol"')])
            out.append(busy)
    return out


def queue(rng: random.Random) -> list[Ad]:
    out = []
    cluster = 0
    for owner in ("alice", "bob", "carol"):
        for _ in range(rng.randint(1, 4)):
            cluster += 1
            req = rng.choice(REQS)
            attrs = dict(
                Owner=owner,
                User=f"{owner}@x",
                JobStatus=1,
                ClusterId=cluster,
                RequestCpus=rng.choice([1, 1, 2]),
                RequestMemory=rng.choice([1000, 2000, 3500, 6000]),
                RequestDisk=rng.choice([1000, 2_000_000]),
                DiskUsage=1000,
                FileSystemDomain="submit.local",
                Requirements=Expr(req),
                Rank=rng.choice(RANKS),
                AllowCloud=rng.random() < 0.5,
            )
            if "GPUs" in req:
                attrs["RequestGPUs"] = 1
            for p in range(rng.randint(1, 12)):
                out.append(Ad(attrs, ProcId=p))
    return out


@pytest.mark.parametrize("seed", range(8), ids=lambda s: f"seed{s}")
def test_vectorized_and_classad2_paths_agree(seed):
    rng = random.Random(seed)
    slots, jobs = pool(rng), queue(rng)
    cfg = NegotiatorConfig(
        preemption_requirements=rng.choice(["False", "RemoteUserPrio > SubmitterUserPrio"])
    )
    usage = UsageState(
        0.0,
        {"alice@x": SubmitterUsage(priority=rng.uniform(0.5, 50)), "dave@x": SubmitterUsage(priority=100.0)},
    )
    fast = negotiate(jobs, slots, cfg, usage, 3600.0, evaluator=VectorEvaluator())
    slow = negotiate(jobs, slots, cfg, usage, 3600.0, evaluator=Classad2Evaluator())
    assert [(m.job, m.slot, m.preemption) for m in fast.matches] == [
        (m.job, m.slot, m.preemption) for m in slow.matches
    ]
    assert [(u.job, u.reason) for u in fast.unmatched] == [(u.job, u.reason) for u in slow.unmatched]
    assert fast.matches  # the generator makes pools where something matches


@pytest.mark.parametrize("seed", range(8), ids=lambda s: f"seed{s}")
def test_truncated_match_lists_give_the_same_negotiation(seed, monkeypatch):
    """Match lists keep only their head and are rebuilt when it runs dry; the outcome is unchanged."""
    from condorfed.core.negotiation import matchlist

    rng = random.Random(100 + seed)
    slots, jobs = pool(rng), queue(rng)
    usage = UsageState(0.0, {"alice@x": SubmitterUsage(priority=rng.uniform(0.5, 50))})
    full = negotiate(jobs, slots, NegotiatorConfig(), usage, 0.0)
    monkeypatch.setattr(matchlist, "HEAD_FACTOR", 0)
    monkeypatch.setattr(matchlist, "HEAD_MARGIN", 1)
    short = negotiate(jobs, slots, NegotiatorConfig(), usage, 0.0)
    assert [(m.job, m.slot) for m in short.matches] == [(m.job, m.slot) for m in full.matches]
    assert [(u.job, u.reason) for u in short.unmatched] == [(u.job, u.reason) for u in full.unmatched]


PRE_RANKS = [
    None,  # the default NEGOTIATOR_PRE_JOB_RANK (prefers the slot with fewer cpus and less memory)
    "Memory",  # the slot with the most memory left first: a claimed p-slot soon falls behind others
    "Cpus * 1000 - TARGET.RequestMemory",  # ties between slots with equal cpus left
]


@pytest.mark.parametrize("seed", range(12), ids=lambda s: f"seed{s}")
def test_runs_of_claims_on_a_p_slot_give_the_same_negotiation_as_one_claim_at_a_time(seed, monkeypatch):
    """A p-slot that stays first takes a run of jobs in one claim (MatchList.repeats); handing out
    one job at a time, re-sorting the slot after each, is the reference."""
    from condorfed.core.negotiation import matchlist
    from condorfed.core.negotiation.pool import SlotPool

    rng = random.Random(200 + seed)
    slots, jobs = pool(rng), queue(rng) + queue(rng)
    pre = PRE_RANKS[seed % len(PRE_RANKS)]
    cfg = NegotiatorConfig(**({} if pre is None else {"pre_job_rank": pre}))
    if seed % 2:
        cfg = NegotiatorConfig(pre_job_rank=cfg.pre_job_rank, post_job_rank="-Cpus")
    usage = UsageState(0.0, {"alice@x": SubmitterUsage(priority=rng.uniform(0.5, 50))})
    runs: list[int] = []
    many = SlotPool.claim_many
    monkeypatch.setattr(SlotPool, "claim_many", lambda self, i, n, *a: runs.append(n) or many(self, i, n, *a))
    batched = negotiate(jobs, slots, cfg, usage, 0.0)
    monkeypatch.setattr(matchlist.MatchList, "repeats", lambda self, cand, most: 1)
    single = negotiate(jobs, slots, cfg, usage, 0.0)
    assert batched.matches == single.matches
    assert [(u.job, u.reason) for u in batched.unmatched] == [(u.job, u.reason) for u in single.unmatched]
    if pre is None:  # a claimed p-slot moves up under the default rank: runs really are taken
        assert runs and max(runs) > 1


@pytest.mark.parametrize("seed", range(8), ids=lambda s: f"seed{s}")
def test_judging_only_free_slots_gives_the_same_negotiation(seed, monkeypatch):
    """Once most slots are full a list judges only the free ones; judging every live slot (and
    always only the free ones) must give the same outcome, reasons for idle jobs included."""
    from condorfed.core.negotiation import matchlist

    rng = random.Random(300 + seed)
    slots, jobs = pool(rng), queue(rng) + queue(rng)
    usage = UsageState(0.0, {"alice@x": SubmitterUsage(priority=rng.uniform(0.5, 50))})
    outcomes = []
    for share in (0.0, 0.5, 1.01):
        monkeypatch.setattr(matchlist, "LIVE_ONLY_BELOW", share)
        result = negotiate(jobs, slots, NegotiatorConfig(), usage, 0.0)
        outcomes.append((result.matches, [(u.job, u.reason) for u in result.unmatched]))
    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert outcomes[0][0]
