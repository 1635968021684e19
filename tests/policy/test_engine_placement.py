"""The engine's placement follows each rule, with the config compile_policy produced.

The policy is read back through HTCondor's own parser (``load_params``: CONDOR_CONFIG in a
subprocess) into the engine's NegotiatorConfig; jobs go through the same Requirements transform
the schedd applies (``apply_to_job``). Slots are whole-node partitionable slots from several
member clusters.
"""

from __future__ import annotations

from collections import Counter

import pytest

from condorfed.adapters.condor_config import load_params
from condorfed.core.classads import Ad, Expr
from condorfed.core.fairshare import UsageState
from condorfed.core.federation.model import parse_federation
from condorfed.core.federation.policy import compile_policy
from condorfed.core.federation.slots import virtual_slot
from condorfed.core.negotiation import NegotiatorConfig, negotiate

NOW = 1_800_000_000.0
SUBMIT_REQUIREMENTS = Expr(
    '(TARGET.Arch == "X86_64") && (TARGET.OpSys == "LINUX") && (TARGET.Disk >= RequestDisk)'
    " && (TARGET.Memory >= RequestMemory) && (TARGET.Cpus >= RequestCpus)"
    " && (TARGET.GPUs >= RequestGPUs) && (TARGET.HasFileTransfer)"
)


def engine_config(policy, tmp_path) -> NegotiatorConfig:
    path = tmp_path / "condor_config"
    path.write_text(policy.config_text)
    return NegotiatorConfig.from_params(load_params(path), source=str(path))


def slots(fed, counts: dict[str, int], **override) -> list[Ad]:
    out = []
    for name, n in counts.items():
        for i in range(n):
            ad = virtual_slot(fed.cluster(name))
            ad["Name"] = f"slot1@{name}-{i}"
            ad["Machine"] = f"{name}-{i}"
            for key, value in override.get(name, {}).items():
                ad[key] = value
            out.append(ad)
    return out


def jobs(n: int, cluster_id: int, owner: str = "alice", group: str | None = None, **request) -> list[Ad]:
    out = []
    for p in range(n):
        ad = Ad(
            ClusterId=cluster_id,
            ProcId=p,
            Owner=owner,
            User=f"{owner}@cern.ch",
            JobStatus=1,
            QDate=1_799_000_000 + cluster_id,
            RequestCpus=request.get("cpus", 1),
            RequestMemory=request.get("memory", 1000),
            RequestDisk=1000,
            RequestGPUs=request.get("gpus", 0),
            Requirements=SUBMIT_REQUIREMENTS,
        )
        if group:
            ad["AcctGroup"] = group
            ad["AcctGroupUser"] = owner
            ad["AccountingGroup"] = f"{group}.{owner}"
        out.append(ad)
    return out


def placement(result) -> Counter:
    return Counter(m.slot.split("@", 1)[1].rsplit("-", 1)[0] for m in result.matches)


@pytest.fixture
def example(example_data, tmp_path):
    fed = parse_federation(example_data, "federation.yaml")
    policy = compile_policy(fed)
    return fed, policy, engine_config(policy, tmp_path)


def test_config_reaches_the_engine(example):
    _, policy, cfg = example
    assert cfg.pre_job_rank == policy.pre_job_rank


def test_onprem_fills_first(example):
    fed, policy, cfg = example
    # 4-core nodes everywhere; 10 one-core jobs: meyrin's 4, prevessin's 4, then 2 in the clouds.
    order = ("tsystems", "exoscale", "gcp", "prevessin", "meyrin")  # clouds listed first
    pool = slots(fed, dict.fromkeys(order, 1), **{c: {"Cpus": 4, "TotalSlotCpus": 4} for c in order})
    todo = [policy.apply_to_job(j) for j in jobs(10, 1)]
    result = negotiate(todo, pool, cfg, UsageState(), NOW)
    got = placement(result)
    assert got["meyrin"] == 4 and got["prevessin"] == 4
    assert sum(got.values()) == 10
    # And with only 6 jobs nothing goes to a cloud at all.
    result = negotiate(todo[:6], pool, cfg, UsageState(), NOW)
    assert set(placement(result)) == {"meyrin", "prevessin"}


def test_gpu_jobs_prefer_exoscale_while_it_has_room(example):
    fed, policy, cfg = example
    gpu = {"GPUs": 1, "TotalSlotGPUs": 1}
    pool = slots(fed, {"meyrin": 2, "exoscale": 2}, meyrin=gpu)  # meyrin nodes with a GPU each
    todo = [policy.apply_to_job(j) for j in jobs(3, 2, gpus=1)]
    result = negotiate(todo, pool, cfg, UsageState(), NOW)
    got = placement(result)
    assert got == Counter({"exoscale": 2, "meyrin": 1})  # exoscale full, then the fill order
    # A CPU job on the same pool fills on-prem first.
    result = negotiate([policy.apply_to_job(j) for j in jobs(1, 3)], pool, cfg, UsageState(), NOW)
    assert placement(result) == Counter({"meyrin": 1})


def test_tpu_group_never_leaves_gcp(example):
    fed, policy, cfg = example
    pool = slots(fed, {"meyrin": 2, "gcp": 1}, gcp={"Cpus": 2, "TotalSlotCpus": 2})
    todo = [policy.apply_to_job(j) for j in jobs(5, 4, owner="tim", group="tpu")]
    result = negotiate(todo, pool, cfg, UsageState(), NOW)
    assert placement(result) == Counter({"gcp": 2})  # the other 3 wait, though meyrin is empty
    assert len(result.unmatched) == 3
    # Without the transform (a job the schedd did not see) the fill order would put all five on
    # meyrin: the rule is enforced by the job's Requirements, not by the rank.
    raw = negotiate(jobs(5, 4, owner="tim", group="tpu"), pool, cfg, UsageState(), NOW)
    assert placement(raw) == Counter({"meyrin": 5})


def test_group_shares_follow_quotas(minimal_data, tmp_path):
    data = minimal_data
    data["clusters"][0].update(nodes=5, node={"cpus": 2, "memory": 8000, "disk": 10000})
    data["fairshare"] = {"groups": {"atlas": {"quota": 0.6}, "cms": {"quota": 0.4}}}
    fed = parse_federation(data, "f.yaml")
    policy = compile_policy(fed)
    cfg = engine_config(policy, tmp_path)
    pool = slots(fed, {"a": 5})  # 10 cores on-prem
    todo = jobs(20, 5, owner="ann", group="atlas") + jobs(20, 6, owner="carl", group="cms")
    result = negotiate([policy.apply_to_job(j) for j in todo], pool, cfg, UsageState(), NOW)
    by_group = Counter(m.group for m in result.matches)
    assert by_group == Counter({"atlas": 6, "cms": 4})
