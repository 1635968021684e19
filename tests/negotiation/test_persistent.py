"""A persistent SlotPool (evaluation results and match lists kept across cycles) negotiates exactly
like a pool built afresh from the same state every cycle."""

from __future__ import annotations

import random

import pytest

from condorfed.core.classads.values import Ad, Expr
from condorfed.core.fairshare import UsageState
from condorfed.core.negotiation import JobGroup, NegotiatorConfig, SlotPool, classlist, negotiate_demand
from condorfed.core.negotiation.classlist import ClassMatchList
from condorfed.core.negotiation.matchlist import MatchList

from .test_differential import REQS, STARTS

CFG = NegotiatorConfig()


def machine(rng: random.Random, m: int) -> Ad:
    cpus = rng.choice([2, 4, 8, 16])
    ad = Ad(
        Name=f"slot1@m{m}",
        Arch="X86_64",
        OpSys="LINUX",
        HasFileTransfer=True,
        FileSystemDomain="x",
        Site=rng.choice(["CERN", "DESY"]),
        Memory=cpus * rng.choice([1024, 2048]),
        Disk=cpus * 10**6,
        Cpus=cpus,
        START=rng.choice(STARTS),
        Requirements=Expr("START"),
        Rank=0.0,
        SlotID=1,
        PartitionableSlot=True,
        State="Unclaimed",
    )
    if rng.random() < 0.25:  # a static slot, taken whole
        ad["PartitionableSlot"] = False
        ad["Cpus"] = 2
    return ad


def templates(rng: random.Random) -> list[JobGroup]:
    out = []
    for i in range(6):
        owner = rng.choice(["alice", "bob", "carol"])
        ad = Ad(
            Owner=owner,
            RequestCpus=rng.choice([1, 2]),
            RequestMemory=rng.choice([500, 1500, 3000]),
            RequestDisk=1000,
            FileSystemDomain="x",
            Requirements=Expr(rng.choice(REQS[:4])),
            Rank=rng.choice([0.0, Expr("TARGET.Memory")]),
        )
        out.append(JobGroup(ad, f"{owner}@x", None, 0, key=i))
    return out


@pytest.mark.parametrize("kind", [ClassMatchList, MatchList], ids=["lists-by-class", "sorted-lists"])
@pytest.mark.parametrize("seed", range(16), ids=lambda s: f"seed{s}")
def test_persistent_pool_equals_a_fresh_pool_each_cycle(seed, kind, monkeypatch):
    if kind is MatchList:  # the kind a persistent pool uses above classlist.MAX_SLOTS slots
        monkeypatch.setattr(classlist, "MAX_SLOTS", -1)
    rng = random.Random(seed)
    kept = SlotPool([machine(rng, m) for m in range(10)])
    groups = templates(rng)
    usage = UsageState()
    next_machine = 10
    claims: list[int] = []
    for cycle in range(12):
        demand = [JobGroup(g.ad, g.submitter, None, rng.randint(0, 6), key=g.key) for g in groups]
        fresh = SlotPool(kept.ads, cache_matches=False)
        fresh.remove([i for i in range(len(kept)) if not kept.alive[i]])
        for claim in kept.claims.values():  # the same dynamic slots (their resources are already gone)
            fresh._remember(claim)
            if claim.whole_slot:  # a static slot's ad still says Unclaimed: the pool holds the claim
                fresh.claimed[claim.slot], fresh.remote[claim.slot] = True, claim.submitter
        a = negotiate_demand(demand, kept, CFG, usage, cycle * 60.0)
        b = negotiate_demand(demand, fresh, CFG, usage, cycle * 60.0)
        assert sorted((m.group.key, m.slot, m.count) for m in a.matches) == sorted(
            (m.group.key, m.slot, m.count) for m in b.matches
        ), f"cycle {cycle}"
        assert a.rejected == b.rejected, f"cycle {cycle}"
        assert all(type(ml) is kind for ml in kept.match_lists.values())
        assert not fresh.match_lists
        usage = a.usage
        for m in a.matches:
            claims.extend(m.claims)
        rng.shuffle(claims)
        for cid in claims[: len(claims) // 3]:
            kept.release(cid)
        claims = claims[len(claims) // 3 :]
        if rng.random() < 0.3:  # machines come and go
            kept.add([machine(rng, next_machine)])
            next_machine += 1
        if rng.random() < 0.2:
            victim = rng.choice([i for i in range(len(kept)) if kept.alive[i]])
            gone = {c.slot for c in kept.remove([victim])}
            claims = [c for c in claims if c in kept.claims]
            assert gone <= {victim}
