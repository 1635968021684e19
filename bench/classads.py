"""Micro-benchmark: vectorized ClassAd evaluation vs classad2 pair by pair.

    python bench/classads.py [--slots 25000] [--pairs 3000] [--json]

Evaluates real-pool expressions (condor_submit's default job Requirements, a typical START,
the default NEGOTIATOR_PRE_JOB_RANK, a stringListMember site list) for one job against a table
of slot ads, and the same expressions with classad2 on a subsample of the pairs. Prints pairs/s.
"""

from __future__ import annotations

import argparse
import json
import random
import time

import classad2

from condorfed.core.classads import Ad, AdTable, Expr, compile_expr, to_classad

JOB_REQUIREMENTS = (
    '(TARGET.Arch == "X86_64") && (TARGET.OpSys == "LINUX") && (TARGET.Disk >= RequestDisk) && '
    "(TARGET.Memory >= RequestMemory) && (TARGET.Cpus >= RequestCpus) && "
    "((TARGET.FileSystemDomain == MY.FileSystemDomain) || (TARGET.HasFileTransfer))"
)
START = (
    "(TARGET.RequestCpus <= Cpus) && (TARGET.RequestMemory <= Memory) && "
    "(isUndefined(TARGET.WantGPU) || TARGET.WantGPU =!= true || GPUs > 0) && KeyboardIdle > 15 * 60"
)
PRE_JOB_RANK = "(10000000 * My.Rank) + (1000000 * (RemoteOwner =?= UNDEFINED)) - (100000 * Cpus) - Memory"
SITE_LIST = 'stringListMember(TARGET.FedCluster, "onprem-a,cloud-b")'


def make_slots(n: int, seed: int = 1) -> list[Ad]:
    rng = random.Random(seed)
    shapes = [(8, 32768), (16, 65536), (32, 131072), (64, 262144), (4, 16384)]
    clusters = ["onprem-a", "onprem-b", "cloud-a", "cloud-b"]
    slots = []
    for k in range(n):
        cpus, mem = rng.choice(shapes)
        ad = Ad(
            Name=f"slot1@node{k}", Arch="X86_64", OpSys="LINUX", Cpus=cpus, Memory=mem,
            Disk=cpus * 20_000_000, GPUs=rng.choice([0, 0, 0, 2]), KeyboardIdle=rng.randint(0, 10_000),
            FileSystemDomain=f"fs{k % 3}", HasFileTransfer=True, FedCluster=rng.choice(clusters),
            Rank=0.0, Start=Expr(START), Requirements=Expr("START"),
        )  # fmt: skip
        if rng.random() < 0.2:
            ad["RemoteOwner"] = "alice@site"
        slots.append(ad)
    return slots


def make_job() -> Ad:
    return Ad(
        Owner="alice", RequestCpus=2, RequestMemory=Expr("2048"), RequestDisk=Expr("DiskUsage"),
        DiskUsage=1_000_000, FileSystemDomain="fs1", FedCluster="cloud-b", Rank=0.0,
        Requirements=Expr(JOB_REQUIREMENTS),
    )  # fmt: skip


CASES = [  # (label, expression, MY is the slot)
    ("job Requirements vs slots", "Requirements", False),
    ("slot START vs job", "START", True),
    ("NEGOTIATOR_PRE_JOB_RANK", PRE_JOB_RANK, True),
    ("stringListMember site list", SITE_LIST, False),
]


def run(n_slots: int, n_pairs: int) -> dict:
    slots = make_slots(n_slots)
    table = AdTable.from_ads(slots)
    job = make_job()
    job_c = to_classad(job)
    sample = [to_classad(s) for s in slots[:n_pairs]]
    out = {}
    for label, expr, slot_is_my in CASES:
        compiled = compile_expr(expr)
        compiled.evaluate(table, job) if slot_is_my else compiled.evaluate(job, table)  # warm caches
        reps = 20
        t0 = time.perf_counter()
        for _ in range(reps):
            col = compiled.evaluate(table, job) if slot_is_my else compiled.evaluate(job, table)
        vec = reps * n_slots / (time.perf_counter() - t0)
        tree = classad2.ExprTree(expr)
        t0 = time.perf_counter()
        ref = [tree.eval(s, job_c) if slot_is_my else tree.eval(job_c, s) for s in sample]
        c2 = n_pairs / (time.perf_counter() - t0)
        assert col.to_list()[:n_pairs] == ref, label  # same answers on the subsample
        out[label] = {"vectorized_pairs_per_s": round(vec), "classad2_pairs_per_s": round(c2),
                      "speedup": round(vec / c2, 1)}  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, default=25_000)
    parser.add_argument("--pairs", type=int, default=3_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.slots, args.pairs)
    if args.json:
        print(json.dumps({"slots": args.slots, "cases": result}))
        return
    for label, r in result.items():
        print(f"{label:32s} vectorized {r['vectorized_pairs_per_s']:>12,}/s  "
              f"classad2 {r['classad2_pairs_per_s']:>9,}/s  x{r['speedup']}")  # fmt: skip


if __name__ == "__main__":
    main()
