"""The htcondor2 adapters against an in-memory fake of the htcondor2 boundary (plus an opt-in e2e)."""

from __future__ import annotations

import enum
import os
from types import SimpleNamespace

import classad2
import pytest

from condorfed.adapters.htcondor_schedd import (
    IDLE,
    JOB_PROJECTION,
    RUNNING,
    NegotiatorUsageReader,
    ScheddJobReader,
)
from condorfed.adapters.htcondor_startd import StartdDrainer
from condorfed.core.burst import group_jobs
from condorfed.errors import PoolError


class FakeHTCondorException(Exception):
    pass


class DaemonType(enum.Enum):
    Schedd = 1
    Startd = 2
    Negotiator = 3


class DrainType(enum.Enum):
    Graceful = 0
    Quick = 1
    Fast = 2


class CompletionType(enum.Enum):
    Nothing = 0
    Exit = 2


def _ad(**attrs) -> classad2.ClassAd:
    ad = classad2.ClassAd()
    for k, v in attrs.items():
        ad[k] = classad2.ExprTree(v[1:]) if isinstance(v, str) and v.startswith("=") else v
    return ad


class FakePool:
    """Two schedds and some startds, with the calls the adapters make recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.broken: set[str] = set()
        self.draining: set[str] = set()
        req = "=(TARGET.Memory >= RequestMemory) && (TARGET.HasDocker =?= true) && MY.WantDocker"
        self.jobs = {
            "schedd-a": [
                _ad(ClusterId=1, ProcId=i, JobStatus=1, Owner="alice", AcctGroup="atlas", RequestCpus=1,
                    RequestMemory=2000, Requirements=req, WantDocker=True, Cmd="/secret/path",
                    AutoClusterAttrs="RequestCpus,RequestMemory,WantDocker")
                for i in range(3)
            ] + [_ad(ClusterId=2, ProcId=0, JobStatus=2, Owner="bob", RequestCpus=4)],
            "schedd-b": [
                _ad(ClusterId=7, ProcId=0, JobStatus=1, Owner="carol", RequestCpus=8, RequestMemory=16000)
            ],
        }  # fmt: skip

    # the htcondor2 module surface the adapters use
    def module(self) -> SimpleNamespace:
        pool = self

        class Collector:
            def __init__(self, where=None):
                pool.calls.append(("Collector", where))
                if "collector" in pool.broken:
                    raise FakeHTCondorException("Failed to connect to collector\nsecond line")

            def locateAll(self, daemon_type):
                assert daemon_type is DaemonType.Schedd
                return [_ad(Name=n, MyAddress=f"<{n}>") for n in sorted(pool.jobs)]

            def locate(self, daemon_type, name=None):
                pool.calls.append(("locate", daemon_type.name, name))
                if name in pool.broken:
                    raise FakeHTCondorException(f"Unable to locate startd {name}")
                return _ad(Name=name, MyAddress=f"<{name}>")

        class Schedd:
            def __init__(self, location):
                self.name = location["Name"]

            def query(self, constraint="True", projection=()):
                pool.calls.append(("query", self.name, constraint, tuple(projection)))
                status = 1 if constraint == IDLE else 2
                out = []
                for job in pool.jobs[self.name]:
                    if job["JobStatus"] != status:
                        continue
                    proj = classad2.ClassAd()
                    for attr in projection:
                        if attr in job:
                            proj[attr] = job.lookup(attr)
                    out.append(proj)
                return out

        class Startd:
            def __init__(self, location):
                self.name = location["Name"]

            def drainJobs(self, drain_type=DrainType.Graceful, on_completion=CompletionType.Nothing,
                          check_expr=None, start_expr=None, reason=None):  # fmt: skip
                if self.name in pool.draining:
                    raise FakeHTCondorException("Failed to start drain: startd is already draining")
                pool.calls.append(("drainJobs", self.name, drain_type.name, on_completion.name, reason))
                return f"req-{self.name}"

        class Negotiator:
            def __init__(self, location):
                self.name = location.get("Name")

            def getPriorities(self, rollup=False):
                pool.calls.append(("getPriorities", self.name, rollup))
                return [
                    _ad(Name="atlas", IsAccountingGroup=True, Priority=100.0, ResourcesUsed=64),
                    _ad(Name="atlas.alice@cern.ch", IsAccountingGroup=False, Priority=12.5,
                        PriorityFactor=1000.0, ResourcesUsed=60, WeightedResourcesUsed=64.0),
                    _ad(Name="bob@cern.ch", Priority=0.5, ResourcesUsed=0),
                ]  # fmt: skip

        return SimpleNamespace(
            Collector=Collector, Schedd=Schedd, Startd=Startd, Negotiator=Negotiator, DaemonType=DaemonType,
            DrainType=DrainType, CompletionType=CompletionType, HTCondorException=FakeHTCondorException,
        )  # fmt: skip


def test_idle_jobs_queried_with_a_projection_of_significant_attrs():
    pool = FakePool()
    reader = ScheddJobReader("cm.example:9618", htcondor=pool.module())
    idle = reader.idle_jobs()
    assert sorted((j["ClusterId"], j["ProcId"]) for j in idle) == [(1, 0), (1, 1), (1, 2), (7, 0)]
    queries = [c for c in pool.calls if c[0] == "query"]
    # schedd-a: AutoClusterAttrs names WantDocker, outside the projection -> one more query with it
    assert [(q[1], q[2]) for q in queries] == [("schedd-a", IDLE), ("schedd-a", IDLE), ("schedd-b", IDLE)]
    assert queries[0][3] == JOB_PROJECTION and queries[1][3] == (*JOB_PROJECTION, "WantDocker")
    assert all("Cmd" not in j for j in idle)  # nothing beyond the projection crosses the boundary
    groups = group_jobs(idle)
    assert sorted(g.count for g in groups) == [1, 3]
    assert pool.calls[0] == ("Collector", "cm.example:9618")


def test_running_jobs_counted():
    pool = FakePool()
    assert ScheddJobReader(htcondor=pool.module()).running_jobs() == 1
    assert {c[2] for c in pool.calls if c[0] == "query"} == {RUNNING}


def test_pool_failure_is_one_pool_error_line():
    pool = FakePool()
    pool.broken.add("collector")
    with pytest.raises(
        PoolError, match=r"^collector cm: cannot locate schedds: Failed to connect to collector$"
    ):
        ScheddJobReader("cm", htcondor=pool.module()).idle_jobs()


@pytest.mark.parametrize(
    ("how", "drain_type"),
    [pytest.param("graceful", "Graceful", id="graceful"), pytest.param("fast", "Fast", id="fast")],
)
def test_drain_through_startd_drainjobs(how, drain_type):
    pool = FakePool()
    drainer = StartdDrainer("cm", htcondor=pool.module())
    drainer.drain(["w1.cloud", "w2.cloud"], how, "campaign lease ended")
    drains = [c for c in pool.calls if c[0] == "drainJobs"]
    assert drains == [
        ("drainJobs", "w1.cloud", drain_type, "Nothing", "condorfed: campaign lease ended"),
        ("drainJobs", "w2.cloud", drain_type, "Nothing", "condorfed: campaign lease ended"),
    ]
    assert ("locate", "Startd", "w1.cloud") in pool.calls
    assert drainer.request_ids == {"w1.cloud": "req-w1.cloud", "w2.cloud": "req-w2.cloud"}


def test_drain_failure_names_the_startd():
    pool = FakePool()
    pool.broken.add("w2.cloud")
    with pytest.raises(PoolError, match=r"^startd w2.cloud: drain \(graceful\) failed: Unable to locate"):
        StartdDrainer(htcondor=pool.module()).drain(["w1.cloud", "w2.cloud"], "graceful", "r")


def test_unknown_drain_type():
    with pytest.raises(PoolError, match="unknown drain type"):
        StartdDrainer(htcondor=FakePool().module()).drain(["w"], "slowly", "r")


@pytest.mark.e2e
@pytest.mark.skipif(
    not os.environ.get("CONDORFED_E2E_POOL"), reason="set CONDORFED_E2E_POOL=collector[:port]"
)
def test_e2e_live_pool_reads_jobs_and_slots():
    from condorfed.adapters.htcondor_collector import CollectorStartdReader

    pool = os.environ["CONDORFED_E2E_POOL"]
    reader = ScheddJobReader(pool)
    idle = reader.idle_jobs()
    assert all(j.get("JobStatus") == 1 for j in idle)
    assert reader.running_jobs() >= 0
    assert isinstance(CollectorStartdReader(pool).startd_ads(projection=("Name", "State")), list)
    usage = NegotiatorUsageReader(pool).usage(0.0)
    assert all(u.priority >= 0 for u in usage.submitters.values())


def test_repeated_drain_is_not_an_error():
    pool = FakePool()
    pool.draining.add("w1.cloud")
    StartdDrainer(htcondor=pool.module()).drain(["w1.cloud", "w2.cloud"], "graceful", "r")
    assert [c[1] for c in pool.calls if c[0] == "drainJobs"] == ["w2.cloud"]


def test_accountant_usage_from_the_negotiator():
    pool = FakePool()
    usage = NegotiatorUsageReader("cm", htcondor=pool.module()).usage(1000.0)
    assert usage.time == 1000.0
    assert set(usage.submitters) == {"atlas.alice@cern.ch", "bob@cern.ch"}  # group records skipped
    alice = usage.submitters["atlas.alice@cern.ch"]
    assert (alice.priority, alice.factor, alice.resources_used) == (12.5, 1000.0, 64.0)
    assert usage.submitters["bob@cern.ch"].factor is None  # DEFAULT_PRIO_FACTOR
    assert ("locate", "Negotiator", None) in pool.calls
    assert [c[0] for c in pool.calls if c[0] == "getPriorities"] == ["getPriorities"]
