"""compile_policy: the config text is read by HTCondor's own parser, and route() agrees with it.

Oracles: htcondor2.param after reading the generated file (in a subprocess: HTCondor's config
is process-global), HTCondor's own default NEGOTIATOR_PRE_JOB_RANK, and classad2 evaluating the
rank and Requirements that the parser returned.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from condorfed.core.classads import UNDEFINED, Ad, Expr, to_classad
from condorfed.core.federation.model import parse_federation
from condorfed.core.federation.policy import (
    HTCONDOR_DEFAULT_PRE_JOB_RANK,
    RANK_SCALE,
    TRANSFORM_NAME,
    compile_policy,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    import classad2

_READ_PARAMS = """
import json, sys, warnings
warnings.simplefilter("ignore")
import htcondor2
htcondor2.reload_config()
out = {k: (None if htcondor2.param.get(k) is None else str(htcondor2.param.get(k))) for k in sys.argv[1:]}
print(json.dumps(out))
"""


def read_params(config_text: str | None, names: list[str], tmp_path) -> dict[str, str | None]:
    """Values HTCondor's parser gives ``names`` with ``config_text`` as the whole config."""
    path = tmp_path / "condor_config"
    path.write_text(config_text or "")
    env = {**os.environ, "CONDOR_CONFIG": str(path)}
    proc = subprocess.run(
        [sys.executable, "-c", _READ_PARAMS, *names], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout)


def _same(ours: str, theirs: str | None) -> bool:
    if theirs is None:
        return False
    if ours == theirs:
        return True
    try:  # param() types some knobs (PRIORITY_HALFLIFE is a double, ACCEPT_SURPLUS a bool)
        return float(ours) == float(theirs)
    except ValueError:
        return ours.lower() == theirs.lower()


def test_default_pre_job_rank_is_htcondors(tmp_path):
    got = read_params(None, ["NEGOTIATOR_PRE_JOB_RANK"], tmp_path)
    assert got["NEGOTIATOR_PRE_JOB_RANK"] == HTCONDOR_DEFAULT_PRE_JOB_RANK


@pytest.mark.parametrize("which", ["example", "rich"])
def test_htcondor_parser_reads_every_param(which, example_data, rich_data, tmp_path):
    fed = parse_federation(example_data if which == "example" else rich_data, "f.yaml")
    policy = compile_policy(fed)
    names = [*policy.params, "JOB_TRANSFORM_NAMES", "ADD_SIGNIFICANT_ATTRIBUTES"]
    got = read_params(policy.config_text, names, tmp_path)
    for name, value in policy.params.items():
        assert _same(value, got[name]), (name, value, got[name])
    assert got["JOB_TRANSFORM_NAMES"].split() == [TRANSFORM_NAME]
    expected = {
        "example": ["RequestGPUs", "AcctGroup"],
        "rich": ["Owner", "RequestGPUs", "RequestMemory", "AcctGroup"],
    }
    assert got["ADD_SIGNIFICANT_ATTRIBUTES"].split() == expected[which]
    assert got["NEGOTIATOR_PRE_JOB_RANK"].endswith(f"+ ({HTCONDOR_DEFAULT_PRE_JOB_RANK})")


def test_example_values(example_data, tmp_path):
    policy = compile_policy(parse_federation(example_data, "f.yaml"))
    got = read_params(
        policy.config_text,
        [
            "GROUP_NAMES",
            "GROUP_QUOTA_DYNAMIC_atlas",
            "GROUP_QUOTA_DYNAMIC_atlas.prod",
            "GROUP_QUOTA_DYNAMIC_cms",
            "GROUP_QUOTA_tpu",
            "GROUP_ACCEPT_SURPLUS_atlas",
            "GROUP_ACCEPT_SURPLUS_tpu",
            "PRIORITY_HALFLIFE",
            "NEGOTIATOR_INTERVAL",
            f"JOB_TRANSFORM_{TRANSFORM_NAME}",
        ],
        tmp_path,
    )
    assert [g.strip() for g in got["GROUP_NAMES"].split(",")] == [
        "atlas", "atlas.prod", "atlas.analysis", "cms", "tpu",
    ]  # fmt: skip
    assert float(got["GROUP_QUOTA_DYNAMIC_atlas"]) == 0.6
    assert float(got["GROUP_QUOTA_DYNAMIC_atlas.prod"]) == 0.8
    assert float(got["GROUP_QUOTA_DYNAMIC_cms"]) == 0.4
    assert int(got["GROUP_QUOTA_tpu"]) == 512
    assert got["GROUP_ACCEPT_SURPLUS_atlas"] in ("True", "true")
    assert got["GROUP_ACCEPT_SURPLUS_tpu"] in ("False", "false")
    assert float(got["PRIORITY_HALFLIFE"]) == 86400
    assert int(got["NEGOTIATOR_INTERVAL"]) == 60
    body = got[f"JOB_TRANSFORM_{TRANSFORM_NAME}"].splitlines()
    assert body[0] == "REQUIREMENTS MY.FedPolicy =?= undefined"
    assert body[1] == "COPY Requirements FedUserRequirements"
    assert body[2].startswith("SET Requirements (MY.FedUserRequirements) && ")
    assert body[3] == 'SET FedPolicy "cern"'


def test_no_rules_no_groups(minimal_data, tmp_path):
    policy = compile_policy(parse_federation(minimal_data, "f.yaml"))
    assert policy.job_requirements is None and policy.transform is None
    assert "JOB_TRANSFORM" not in policy.config_text and "GROUP_NAMES" not in policy.config_text
    assert policy.slot_rank == "0"
    got = read_params(policy.config_text, ["NEGOTIATOR_PRE_JOB_RANK", "PRIORITY_HALFLIFE"], tmp_path)
    assert got["NEGOTIATOR_PRE_JOB_RANK"] == policy.pre_job_rank


# --------------------------------------------------------------------------- agreement


def virtual_slot(cluster) -> Ad:
    return Ad(
        FedCluster=cluster.name,
        IsCloud=cluster.is_cloud,
        Cpus=cluster.node.cpus,
        Memory=cluster.node.memory,
        Rank=0,
        Arch="X86_64",
        OpSys="LINUX",
    )


def compiled_rank(pre_job_rank: str, slot: Ad, job: Ad) -> float:
    value = classad2.ExprTree(pre_job_rank).eval(to_classad(slot), to_classad(job))
    assert isinstance(value, int | float) and not isinstance(value, bool), value
    default = classad2.ExprTree(HTCONDOR_DEFAULT_PRE_JOB_RANK).eval(to_classad(slot), to_classad(job))
    return (value - default) / RANK_SCALE


def allowed_by_requirements(policy, fed, job: Ad) -> tuple[str, ...]:
    transformed = policy.apply_to_job(job)
    out = []
    for c in fed.clusters:
        ok = classad2.ExprTree(str(transformed["Requirements"])).eval(
            to_classad(transformed), to_classad(virtual_slot(c))
        )
        if ok is True:
            out.append(c.name)
    return tuple(out)


def check_agreement(fed, policy, job: Ad) -> None:
    r = policy.route(job)
    for c in fed.clusters:
        assert compiled_rank(policy.pre_job_rank, virtual_slot(c), job) == r.ranks[c.name], (c.name, job)
    assert allowed_by_requirements(policy, fed, job) == r.allowed, job
    ranked = sorted(r.allowed, key=lambda n: -r.ranks[n])
    assert list(r.order) == ranked
    assert [n for tier in r.tiers for n in tier] == list(r.order)


EXAMPLE_ROUTES = {
    # id: (job, allowed, order, rule)
    "cpu-job-fills-onprem": (
        Ad(RequestCpus=1, RequestMemory=2000, Requirements=True),
        ("meyrin", "prevessin", "exoscale", "tsystems", "gcp"),
        ("meyrin", "prevessin", "exoscale", "tsystems", "gcp"),
        "fill [meyrin, prevessin, *]",
    ),
    "gpu-job-prefers-exoscale": (
        Ad(RequestCpus=1, RequestGPUs=1, Requirements=True),
        ("meyrin", "prevessin", "exoscale", "tsystems", "gcp"),
        ("exoscale", "meyrin", "prevessin", "tsystems", "gcp"),
        "prefer [exoscale] when RequestGPUs > 0",
    ),
    "tpu-job-only-gcp": (
        Ad(RequestCpus=1, AcctGroup="tpu", Requirements=True),
        ("gcp",),
        ("gcp",),
        'require [gcp] when AcctGroup =?= "tpu"',
    ),
    "zero-gpus-is-not-gpu": (
        Ad(RequestGPUs=0, Requirements=True),
        ("meyrin", "prevessin", "exoscale", "tsystems", "gcp"),
        ("meyrin", "prevessin", "exoscale", "tsystems", "gcp"),
        "fill [meyrin, prevessin, *]",
    ),
    "undefined-when-is-false": (
        Ad(RequestGPUs=Expr("NoSuchAttr + 1"), AcctGroup=UNDEFINED, Requirements=True),
        ("meyrin", "prevessin", "exoscale", "tsystems", "gcp"),
        ("meyrin", "prevessin", "exoscale", "tsystems", "gcp"),
        "fill [meyrin, prevessin, *]",
    ),
}


@pytest.mark.parametrize("job,allowed,order,rule", EXAMPLE_ROUTES.values(), ids=EXAMPLE_ROUTES.keys())
def test_example_routes(job, allowed, order, rule, example_data):
    fed = parse_federation(example_data, "f.yaml")
    policy = compile_policy(fed)
    r = policy.route(job)
    assert (r.allowed, r.order, r.rule) == (allowed, order, rule)
    check_agreement(fed, policy, job)


def test_rich_routes(rich_data):
    fed = parse_federation(rich_data, "f.yaml")
    policy = compile_policy(fed)
    # default fill [a, *, b]: a first, c and d tied, b last
    r = policy.route(Ad(Owner="bob", Requirements=True))
    assert r.tiers == (("a",), ("c", "d"), ("b",)) and r.rule == "fill [a, *, b]"
    # carol's own fill [d, c]; a and b uncovered -> tied last
    r = policy.route(Ad(Owner="carol", Requirements=True))
    assert r.tiers == (("d",), ("c",), ("a", "b"))
    # both prefers: the earlier rule's clusters first (b, c), then d from the second
    r = policy.route(Ad(Owner="bob", RequestMemory=20000, RequestGPUs=1, Requirements=True))
    assert r.allowed == ("b", "c") and r.order == ("b", "c")
    r = policy.route(Ad(Owner="bob", RequestMemory=20000, Requirements=True))
    assert r.order == ("c", "d", "a", "b") and r.rule == "prefer [c, d] when RequestMemory >= 10000"
    # two requires intersect
    r = policy.route(Ad(AcctGroup="hpc", RequestGPUs=2, Requirements=True))
    assert r.allowed == ("b", "c") and r.rule == "require [b, c] when RequestGPUs >= 1"
    assert r.matched == (1, 2, 4, 5)


def test_transform_keeps_user_requirements(example_data):
    policy = compile_policy(parse_federation(example_data, "f.yaml"))
    job = Ad(AcctGroup="tpu", Requirements=Expr("TARGET.Memory >= 4000 || TARGET.IsCloud"))
    out = policy.apply_to_job(job)
    assert out["FedUserRequirements"] == job["Requirements"]
    assert str(out["Requirements"]).startswith("(MY.FedUserRequirements) && ")
    assert out["FedPolicy"] == "cern"
    assert policy.apply_to_job(out) is out  # applied once, like the transform's REQUIREMENTS
    assert policy.transform_job(job)["Requirements"] == out["Requirements"]  # alias the simulator uses
    assert "Requirements" not in Ad(x=1) and "FedPolicy" not in job  # input untouched


jobs = st.builds(
    lambda gpus, group, mem, owner: Ad(
        {
            k: v
            for k, v in {
                "RequestGPUs": gpus,
                "AcctGroup": group,
                "RequestMemory": mem,
                "Owner": owner,
                "Requirements": True,
            }.items()
            if v is not None
        }
    ),
    gpus=st.none() | st.integers(0, 3) | st.just(Expr("undefined")),
    group=st.none() | st.sampled_from(["tpu", "hpc", "atlas", ""]),
    mem=st.none() | st.sampled_from([1000, 9999, 10000, 50000]),
    owner=st.none() | st.sampled_from(["carol", "bob"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(job=jobs)
def test_route_agrees_with_compiled_config(job, rich_data, example_data):
    for data in (rich_data, example_data):
        fed = parse_federation(data, "f.yaml")
        check_agreement(fed, compile_policy(fed), job)


def test_route_is_memoized_by_the_referenced_attributes(example_data):
    policy = compile_policy(parse_federation(example_data, "f.yaml"))
    a = policy.route(Ad(AcctGroup="tpu", Owner="x", RequestCpus=1))
    b = policy.route(Ad(AcctGroup="tpu", Owner="y", RequestCpus=8))  # differs only where no rule looks
    assert a is b and a.allowed == ("gcp",)
    # an expression-valued attribute is evaluated, never looked up by its text
    c = policy.route(Ad(AcctGroup=Expr('strcat("tp", "u")')))
    assert c.allowed == ("gcp",)
    d = policy.route(Ad(AcctGroup=Expr('strcat("cm", "s")')))
    assert d.allowed == ("meyrin", "prevessin", "exoscale", "tsystems", "gcp")
