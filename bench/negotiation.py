"""Benchmark: one full negotiation cycle at CERN scale (issue 3).

    python bench/negotiation.py --jobs 400000 --cores 200000 --json
    python bench/negotiation.py --no-scaling --json  # the 400k cycle alone

The first command also prints the scaling (``scaling``): 40,000 / 400,000 / 1,000,000 jobs at the
same 2,000 autoclusters, each size in a process of its own (the 400k row is this run's cycle).

A seeded generator builds a pool of partitionable-slot machines (6 hardware types over 4 clusters:
2 on-prem, 2 cloud, one with GPUs; typical START expressions) and a queue of idle jobs in about
2,000 autoclusters from 50 submitters in a 3-level accounting-group tree, with a mix of
requirement styles (condor_submit's default Requirements, memory/CPU variants, GPU jobs, site
whitelists with stringListMember, bare Old-ClassAd references). It times
``condorfed.core.negotiation.negotiate`` from ads in memory to matches, and prints one JSON object:

- ``wall_s``: one full cycle; ``peak_rss_mb``: the process's peak RSS (ads included);
- ``matches``, ``autoclusters``;
- ``speedup_vs_classad2``: matching work (each of 40 sampled autoclusters' Requirements against
  each of 5,000 sampled slots, and each slot's START against the autocluster) with the vectorized
  evaluator vs classad2 pair by pair, on identical inputs, answers asserted equal; each path's best
  of a few runs (``speedup_cold`` counts the one-time encoding of the sampled slot table too).
- ``engine_speedup_vs_classad2``: the whole engine on a small sub-pool with its default evaluator
  vs its classad2 evaluator, matches asserted equal.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import resource
import subprocess
import sys
import time
from dataclasses import dataclass

import classad2

from condorfed.core.classads import Ad, AdTable, Expr, compile_expr, to_classad
from condorfed.core.fairshare import UsageState
from condorfed.core.negotiation import Classad2Evaluator, NegotiatorConfig, negotiate

# -- the pool ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HardwareType:
    name: str
    cluster: str
    cpus: int
    memory_mb: int
    gpus: int
    weight: float  # share of machines


HARDWARE = [
    HardwareType("onprem-a-std", "onprem-a", 8, 32_768, 0, 0.30),
    HardwareType("onprem-a-small", "onprem-a", 4, 16_384, 0, 0.15),
    HardwareType("onprem-b-std", "onprem-b", 8, 24_576, 0, 0.20),
    HardwareType("onprem-b-big", "onprem-b", 16, 65_536, 0, 0.10),
    HardwareType("cloud-a-std", "cloud-a", 8, 32_768, 0, 0.17),
    HardwareType("cloud-b-gpu", "cloud-b", 8, 65_536, 2, 0.08),
]
START = {
    # Typical START expressions: owner bans, group gates, GPU reservations, runtime limits.
    "onprem-a": '(TARGET.Owner =!= "banned") && (KeyboardIdle > 0 || State =!= "Owner")',
    "onprem-b": "(TARGET.AcctGroup =!= UNDEFINED) && (TARGET.JobUniverse =?= 5)",
    "cloud-a": "isUndefined(TARGET.MaxRuntime) || TARGET.MaxRuntime <= 86400",
    "cloud-b": "(TARGET.RequestGPUs > 0) || (Cpus >= 6 && TARGET.RequestCpus <= 2)",
}


def make_machines(cores: int, seed: int) -> list[Ad]:
    rng = random.Random(seed)
    weights = [h.weight for h in HARDWARE]
    machines: list[Ad] = []
    total = 0
    while total < cores:
        h = rng.choices(HARDWARE, weights)[0]
        k = len(machines)
        machines.append(
            Ad(
                Name=f"slot1@{h.cluster}-{k:06d}.cern.ch", Machine=f"{h.cluster}-{k:06d}.cern.ch",
                MyType="Machine", SlotType="Partitionable", PartitionableSlot=True, State="Unclaimed",
                Activity="Idle", Arch="X86_64", OpSys="LINUX", OpSysAndVer="AlmaLinux9",
                Cpus=h.cpus, TotalSlotCpus=h.cpus, Memory=h.memory_mb, TotalSlotMemory=h.memory_mb,
                Disk=h.cpus * 20_000_000, TotalSlotDisk=h.cpus * 20_000_000, GPUs=h.gpus,
                FedCluster=h.cluster, HardwareType=h.name, FileSystemDomain="cern.ch",
                HasFileTransfer=True, KeyboardIdle=rng.randint(0, 100_000), LoadAvg=0.0,
                Rank=0.0, START=Expr(START[h.cluster]), Requirements=Expr("START"),
            )
        )  # fmt: skip
        total += h.cpus
    return machines


# -- the queue -----------------------------------------------------------------------------------

EXPERIMENTS = ["atlas", "cms", "lhcb", "alice"]
DEFAULT_REQUIREMENTS = (
    '(TARGET.Arch == "X86_64") && (TARGET.OpSys == "LINUX") && (TARGET.Disk >= RequestDisk) && '
    "(TARGET.Memory >= RequestMemory) && (TARGET.Cpus >= RequestCpus) && "
    "((TARGET.FileSystemDomain == MY.FileSystemDomain) || (TARGET.HasFileTransfer))"
)
STYLES = [  # (weight, Requirements template)
    (0.40, DEFAULT_REQUIREMENTS),
    (0.20, 'TARGET.Memory >= RequestMemory && TARGET.Cpus >= RequestCpus && TARGET.Arch == "X86_64"'),
    (0.10, "TARGET.GPUs >= RequestGPUs && TARGET.Memory >= RequestMemory && TARGET.Cpus >= RequestCpus"),
    (0.20, 'stringListMember(TARGET.FedCluster, "{sites}") && ' + DEFAULT_REQUIREMENTS),
    (0.10, 'Memory >= RequestMemory && Cpus >= RequestCpus && OpSys == "LINUX"'),  # bare references
]
SITE_LISTS = ["onprem-a,cloud-a", "onprem-b,cloud-a,cloud-b", "onprem-a,onprem-b"]


def group_tree() -> tuple[dict[str, str], list[str]]:
    """3 levels: group_<exp>, group_<exp>.{prod,analysis}, group_<exp>.prod.{mc,reco}.
    Returns (condor config params, leaf groups)."""
    params = {"GROUP_ACCEPT_SURPLUS": "True"}
    names, leaves = [], []
    shares = {"atlas": 0.35, "cms": 0.35, "lhcb": 0.15, "alice": 0.15}
    for exp in EXPERIMENTS:
        top = f"group_{exp}"
        children = {
            f"{top}.prod": 0.7,
            f"{top}.analysis": 0.3,
            f"{top}.prod.mc": 0.6,
            f"{top}.prod.reco": 0.4,
        }
        names += [top, *children]
        params[f"GROUP_QUOTA_DYNAMIC_{top}"] = str(shares[exp])
        for g, q in children.items():
            params[f"GROUP_QUOTA_DYNAMIC_{g}"] = str(q)
        leaves += [f"{top}.analysis", f"{top}.prod.mc", f"{top}.prod.reco"]
    params["GROUP_NAMES"] = ", ".join(names)
    return params, leaves


@dataclass(frozen=True)
class Template:
    """One autocluster's worth of identical jobs."""

    submitter: str
    group: str
    requirements: str
    cpus: int
    memory: int
    gpus: int
    max_runtime: int | None


def make_templates(n: int, submitters: int, leaves: list[str], seed: int) -> list[Template]:
    rng = random.Random(seed)
    users = [(f"user{u:02d}", leaves[u % len(leaves)]) for u in range(submitters)]
    per_user = max(1, n // submitters)
    out: list[Template] = []
    for user, group in users:
        seen: set[tuple] = set()
        while len(seen) < per_user:
            weights = [w for w, _ in STYLES]
            style = rng.choices(range(len(STYLES)), weights)[0]
            req = STYLES[style][1].replace("{sites}", rng.choice(SITE_LISTS))
            gpus = 1 if style == 2 else 0
            cpus = rng.choice([1, 1, 1, 2, 4, 8]) if not gpus else rng.choice([1, 2])
            memory = cpus * rng.choice([1000, 1500, 2000, 2500, 3000, 4000])
            runtime = rng.choice([None, None, 3600, 43200, 172800])
            key = (req, cpus, memory, gpus, runtime)
            if key not in seen:
                seen.add(key)
                out.append(Template(user, group, req, cpus, memory, gpus, runtime))
    return out


def make_jobs(n_jobs: int, templates: list[Template], seed: int) -> list[Ad]:
    rng = random.Random(seed)
    # Skewed autocluster sizes (a few big production workflows, many small analyses).
    weights = [rng.paretovariate(1.2) for _ in templates]
    scale = n_jobs / sum(weights)
    counts = [max(1, int(w * scale)) for w in weights]
    counts[-1] += n_jobs - sum(counts)
    while counts[-1] < 1:  # rounding overshoot: take it from the biggest
        big = counts.index(max(counts))
        counts[big] -= 1 - counts[-1]
        counts[-1] = 1
    jobs: list[Ad] = []
    cluster = 1
    for t, count in zip(templates, counts, strict=True):
        base = Ad(
            MyType="Job", JobUniverse=5, JobStatus=1, Owner=t.submitter, User=f"{t.submitter}@cern.ch",
            AcctGroup=t.group, AcctGroupUser=t.submitter, AccountingGroup=f"{t.group}.{t.submitter}",
            RequestCpus=t.cpus, RequestMemory=t.memory, RequestDisk=Expr("DiskUsage"), DiskUsage=2_000_000,
            RequestGPUs=t.gpus, FileSystemDomain="cern.ch", Requirements=Expr(t.requirements), Rank=0.0,
            ClusterId=cluster, ProcId=0, QDate=1_700_000_000 + cluster,
        )  # fmt: skip
        if t.max_runtime is not None:
            base["MaxRuntime"] = t.max_runtime
        for p in range(count):
            job = base.copy()
            job["ProcId"] = p
            jobs.append(job)
        cluster += 1
    return jobs


def make_pool(n_jobs: int, cores: int, autoclusters: int, submitters: int, seed: int):
    params, leaves = group_tree()
    machines = make_machines(cores, seed)
    templates = make_templates(autoclusters, submitters, leaves, seed + 1)
    jobs = make_jobs(n_jobs, templates, seed + 2)
    return machines, jobs, templates, NegotiatorConfig.from_params(params)


# -- measurements --------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, because ru_maxrss survives exec on Linux (a scaling
    child would report its parent's peak)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _truthy(v) -> bool:
    """HTCondor's EvalBool: true, or a non-zero number."""
    return v is True or (type(v) in (int, float) and v != 0)


VEC_REPEATS, CLASSAD2_REPEATS = 5, 2


def matching_speedup(templates: list[Template], jobs: list[Ad], machines: list[Ad], n_ac: int,
                     n_slots: int, seed: int) -> dict:  # fmt: skip
    """Autoclusters x slots: job Requirements (MY = job) and slot START (MY = slot), both paths."""
    rng = random.Random(seed)
    by_cluster = {}
    for j in jobs:
        by_cluster.setdefault(j["ClusterId"], j)
    sample_jobs = rng.sample(list(by_cluster.values()), min(n_ac, len(by_cluster)))
    sample_slots = rng.sample(machines, min(n_slots, len(machines)))
    table = AdTable.from_ads(sample_slots)
    req = compile_expr("Requirements")  # the job's (MY = job) and the slot's START (MY = slot)
    t0 = time.perf_counter()
    vec = [(req.evaluate(j, table).truth() & req.evaluate(table, j).truth()) for j in sample_jobs]
    t_cold = time.perf_counter() - t0  # includes encoding the slot table's columns
    # Warm timings are the best of several runs for both paths (as timeit advises): a 30 ms run is
    # easily stretched by the host, and the minimum is the figure least disturbed by it.
    t_vec = math.inf
    for _ in range(VEC_REPEATS):
        t0 = time.perf_counter()
        vec = [(req.evaluate(j, table).truth() & req.evaluate(table, j).truth()) for j in sample_jobs]
        t_vec = min(t_vec, time.perf_counter() - t0)
    slots_c = [to_classad(s) for s in sample_slots]
    jobs_c = [to_classad(j) for j in sample_jobs]
    tree = classad2.ExprTree("Requirements")
    t_c2 = math.inf
    for _ in range(CLASSAD2_REPEATS):
        t0 = time.perf_counter()
        ref = [[_truthy(tree.eval(j, s)) and _truthy(tree.eval(s, j)) for s in slots_c] for j in jobs_c]
        t_c2 = min(t_c2, time.perf_counter() - t0)
    assert [v.tolist() for v in vec] == ref, "vectorized and classad2 matching disagree"
    pairs = len(sample_jobs) * len(sample_slots)
    return {"pairs": pairs, "vectorized_s": round(t_vec, 4), "classad2_s": round(t_c2, 3),
            "speedup": round(t_c2 / t_vec, 1), "vectorized_cold_s": round(t_cold, 4),
            "speedup_cold": round(t_c2 / t_cold, 1),
            "matching_pairs": int(sum(v.sum() for v in vec))}  # fmt: skip


def engine_speedup(jobs: list[Ad], machines: list[Ad], config: NegotiatorConfig, seed: int) -> dict:
    """The whole engine on a sub-pool, default evaluator vs classad2 evaluator."""
    rng = random.Random(seed)
    clusters = sorted({j["ClusterId"] for j in jobs})
    keep = set(rng.sample(clusters, min(30, len(clusters))))
    sub_jobs = [j for j in jobs if j["ClusterId"] in keep and j["ProcId"] < 40]
    sub_slots = rng.sample(machines, min(400, len(machines)))
    t0 = time.perf_counter()
    fast = negotiate(sub_jobs, sub_slots, config, UsageState(), 0.0)
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    slow = negotiate(sub_jobs, sub_slots, config, UsageState(), 0.0, evaluator=Classad2Evaluator())
    t_slow = time.perf_counter() - t0
    same = [(m.job, m.slot) for m in fast.matches] == [(m.job, m.slot) for m in slow.matches]
    assert same, "the engine's vectorized and classad2 paths disagree"
    return {"jobs": len(sub_jobs), "slots": len(sub_slots), "vectorized_s": round(t_fast, 3),
            "classad2_s": round(t_slow, 3), "speedup": round(t_slow / t_fast, 1),
            "matches": len(fast.matches)}  # fmt: skip


def run(args: argparse.Namespace) -> dict:
    t0 = time.perf_counter()
    machines, jobs, templates, config = make_pool(args.jobs, args.cores, args.autoclusters, args.submitters,
                                                  args.seed)  # fmt: skip
    gen_s = time.perf_counter() - t0
    # A negotiator holds its queue for the whole cycle: freeze the generated ads out of the cyclic GC,
    # which would otherwise walk 400k ads twice inside the timed cycle.
    gc.freeze()
    out: dict = {"jobs": len(jobs), "machines": len(machines), "cores": sum(m["Cpus"] for m in machines),
                 "generate_s": round(gen_s, 2)}  # fmt: skip
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    t0 = time.perf_counter()
    result = negotiate(jobs, machines, config, UsageState(), 0.0)
    wall = time.perf_counter() - t0
    if args.profile:
        profiler.stop()
        with open(args.profile, "w") as fh:
            fh.write(profiler.output_text(unicode=False, color=False, show_all=False))
    out.update(wall_s=round(wall, 2), peak_rss_mb=round(peak_rss_mb(), 1), matches=len(result.matches),
               autoclusters=result.autoclusters)  # fmt: skip
    if not args.no_subsample:
        m = matching_speedup(
            templates, jobs, machines, args.sample_autoclusters, args.sample_slots, args.seed
        )
        out["speedup_vs_classad2"] = m["speedup"]
        out["matching_subsample"] = m
        e = engine_speedup(jobs, machines, config, args.seed)
        out["engine_speedup_vs_classad2"] = e["speedup"]
        out["engine_subsample"] = e
    return out


def scaling(args: argparse.Namespace, this_run: dict) -> dict:
    """One child process per size, so each peak RSS is its own; this run's own size is not run again
    (its peak RSS was taken before the classad2 comparisons, as a child's is)."""
    keys = ("jobs", "wall_s", "peak_rss_mb", "matches", "autoclusters")
    rows = []
    for n in [int(x) for x in args.scaling_jobs.split(",")]:
        if n == args.jobs:
            rows.append({k: this_run[k] for k in keys})
            continue
        cmd = [sys.executable, __file__, "--jobs", str(n), "--cores", str(args.cores), "--autoclusters",
               str(args.autoclusters), "--submitters", str(args.submitters), "--seed", str(args.seed),
               "--json", "--no-subsample", "--no-scaling"]  # fmt: skip
        child = subprocess.run(cmd, capture_output=True, text=True, check=True)
        r = json.loads(child.stdout)
        rows.append({k: r[k] for k in keys})
    base = rows[0]
    for r in rows:
        r["wall_per_job_us"] = round(r["wall_s"] / r["jobs"] * 1e6, 2)
        r["wall_vs_first"] = round(r["wall_s"] / base["wall_s"], 2)
    return {"scaling": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=400_000)
    parser.add_argument("--cores", type=int, default=200_000)
    parser.add_argument(
        "--autoclusters", type=int, default=2_000, help="job templates (about one autocluster each)"
    )
    parser.add_argument("--submitters", type=int, default=50)
    parser.add_argument("--seed", type=int, default=2026)
    # A cycle judges each autocluster against every slot (about 25,000 here): the sample keeps that
    # shape at a fifth of the slots (with 2,000 slots, fixed per-call costs are half the vectorized time).
    parser.add_argument("--sample-autoclusters", type=int, default=40)
    parser.add_argument("--sample-slots", type=int, default=5_000)
    parser.add_argument("--no-subsample", action="store_true", help="skip the classad2 comparisons")
    parser.add_argument("--no-scaling", action="store_true", help="skip the 40k/400k/1M-job scaling runs")
    parser.add_argument("--scaling-jobs", default="40000,400000,1000000")
    parser.add_argument("--profile", metavar="FILE", help="write a pyinstrument profile of the cycle")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    out = run(args)
    if not args.no_scaling:
        out.update(scaling(args, out))
    cpu = platform.processor() or platform.machine()
    out["machine"] = f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    if args.json:
        print(json.dumps(out))
    else:
        print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
