"""Matchmaking: shares, candidate ordering, p-slot splitting, scoping, preemption, autoclusters."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest

from condorfed.core.classads.values import Ad, Expr
from condorfed.core.fairshare import SubmitterUsage, UsageState
from condorfed.core.negotiation import NegotiatorConfig, negotiate

from .conftest import jobs, slots

CFG = NegotiatorConfig()


def test_shares_follow_inverse_eup_4_2_1(evaluator):
    usage = UsageState(
        0.0,
        {
            f"{u}@cern.ch": SubmitterUsage(priority=p, factor=1.0)
            for u, p in (("a", 5.0), ("b", 10.0), ("c", 20.0))
        },
    )
    js = jobs(100, "a", 1) + jobs(100, "b", 2) + jobs(100, "c", 3)
    result = negotiate(js, slots(70), CFG, usage, 0.0, evaluator=evaluator)
    got = Counter(m.submitter for m in result.matches)
    assert dict(got) == {"a@cern.ch": 40, "b@cern.ch": 20, "c@cern.ch": 10}
    assert result.submitters["a@cern.ch"].eup == pytest.approx(5.0)


def test_priority_factor_2000_gets_half_of_factor_1000():
    usage = UsageState(
        0.0,
        {
            "a@cern.ch": SubmitterUsage(priority=1.0, factor=2000.0),
            "b@cern.ch": SubmitterUsage(priority=1.0, factor=1000.0),
        },
    )
    result = negotiate(jobs(50, "a", 1) + jobs(50, "b", 2), slots(30), CFG, usage, 0.0)
    got = Counter(m.submitter for m in result.matches)
    assert got["a@cern.ch"] * 2 == got["b@cern.ch"] == 20


def test_unused_share_is_handed_on_in_later_spins():
    """b wants only 3 of its 15; the next spin gives a the rest."""
    result = negotiate(jobs(100, "a", 1) + jobs(3, "b", 2), slots(30), CFG, UsageState(), 0.0)
    got = Counter(m.submitter for m in result.matches)
    assert got == {"a@cern.ch": 27, "b@cern.ch": 3}


def test_candidate_ordering_pre_rank_post(evaluator):
    table = [(100, 1, 10), (100, 2, 20), (100, 2, 30), (0, 1, 40), (200, 1, 50)]
    pool = []
    for i, (pre, rank, post) in enumerate(table, 1):
        pool += slots(1, prefix=f"slot{i}-", Pre=pre, JobRankValue=rank, Post=post)
    cfg = NegotiatorConfig(pre_job_rank="MY.Pre", post_job_rank="MY.Post")
    js = jobs(3, Rank=Expr("TARGET.JobRankValue"))
    result = negotiate(js, pool, cfg, UsageState(), 0.0, evaluator=evaluator)
    assert [m.slot.split("-")[0] for m in result.matches] == ["slot5", "slot3", "slot2"]


def test_default_pre_job_rank_prefers_unclaimed_then_smaller_slots():
    pool = slots(1, prefix="big", Cpus=8, Memory=16384) + slots(1, prefix="small", Cpus=2, Memory=4096)
    result = negotiate(jobs(1), pool, CFG, UsageState(), 0.0)
    assert result.matches[0].slot.startswith("small")


def pslot(cpus=3, memory=10240, disk=100 * 1024 * 1024, **attrs) -> list[Ad]:
    return slots(
        1,
        prefix="slot1",
        PartitionableSlot=True,
        SlotType="Partitionable",
        Cpus=cpus,
        Memory=memory,
        Disk=disk,
        **attrs,
    )


def test_partitionable_split_leaves_2_cores_8gb_80gb(evaluator):
    js = jobs(1, RequestCpus=1, RequestMemory=2048, RequestDisk=20 * 1024 * 1024)
    result = negotiate(js, pslot(), CFG, UsageState(), 0.0, evaluator=evaluator)
    assert [m.slot for m in result.matches] == ["slot11@host1"]
    left = result.slots_after[0]
    assert (left["Cpus"], left["Memory"], left["Disk"]) == (2, 8192, 80 * 1024 * 1024)


def test_partitionable_memory_is_quantized_to_128_mb():
    js = jobs(1, RequestCpus=1, RequestMemory=2000, RequestDisk=1000)
    result = negotiate(js, pslot(), CFG, UsageState(), 0.0)
    assert result.matches[0].memory == 2048
    assert result.slots_after[0]["Memory"] == 10240 - 2048
    assert result.slots_after[0]["Disk"] == 100 * 1024 * 1024 - 1024


def test_partitionable_slot_takes_jobs_until_it_is_full(evaluator):
    js = jobs(5, RequestCpus=1, RequestMemory=4096)
    result = negotiate(js, pslot(cpus=4, memory=10240), CFG, UsageState(), 0.0, evaluator=evaluator)
    assert len(result.matches) == 2  # memory runs out first: 10240 -> 6144 -> 2048
    assert result.slots_after[0]["Cpus"] == 2
    assert {u.reason for u in result.unmatched} == {"all matching slots are taken"}


def test_partitionable_requirements_are_rechecked_as_resources_shrink(evaluator):
    """A job that wants a slot with at least 3 cores left fits once in a 4-core p-slot."""
    js = jobs(3, Requirements=Expr("TARGET.Cpus >= 3"))
    result = negotiate(js, pslot(cpus=4, memory=10240), CFG, UsageState(), 0.0, evaluator=evaluator)
    assert len(result.matches) == 2  # 4 -> 3 cores left (still >= 3) -> 2 left


NEW_SCOPING_PROBE = """
import classad2  # htcondor2 NOT imported: classad2 keeps New ClassAd scoping
job = classad2.ClassAd('[Requirements = Memory > 1024; RequestCpus = 1]')
machine = classad2.ClassAd('[Memory = 4096; Requirements = true]')
print(job.symmetricMatch(machine))
"""


def test_unscoped_reference_uses_old_classad_lookup(evaluator):
    """Requirements = Memory > 1024 names the slot's Memory: the negotiator matches; New ClassAd scoping
    (classad2 without htcondor2 imported) does not."""
    probe = subprocess.run(
        [sys.executable, "-c", NEW_SCOPING_PROBE], capture_output=True, text=True, check=True
    )
    assert probe.stdout.strip() == "False"
    job = jobs(1)[0]
    job["Requirements"] = Expr("Memory > 1024")
    result = negotiate([job], slots(1), CFG, UsageState(), 0.0, evaluator=evaluator)
    assert len(result.matches) == 1


def test_explicit_my_scope_does_not_fall_back_to_target():
    job = jobs(1, Requirements=Expr("MY.Memory > 1024"))
    assert negotiate(job, slots(1), CFG, UsageState(), 0.0).matches == ()


def test_slot_start_rejects_and_reason_names_it(evaluator):
    pool = slots(3, START=Expr('TARGET.Owner == "bob"'))
    result = negotiate(jobs(2), pool, CFG, UsageState(), 0.0, evaluator=evaluator)
    assert result.matches == ()
    assert {u.reason for u in result.unmatched} == {"no slot's START/Requirements accepts the job"}


def test_autocluster_rejected_once_skips_its_other_jobs():
    js = jobs(4, Requirements=Expr("TARGET.Memory > 1000000"))
    result = negotiate(js, slots(5), CFG, UsageState(), 0.0)
    assert result.autoclusters == 1
    assert {u.reason for u in result.unmatched} == {"no slot satisfies the job's Requirements"}


def test_jobs_with_different_significant_attributes_are_different_autoclusters():
    js = jobs(2, RequestMemory=1024) + jobs(2, cluster=2, RequestMemory=2048) + jobs(2, cluster=3, Foo=1)
    result = negotiate(js, slots(10), CFG, UsageState(), 0.0)
    assert result.autoclusters == 2  # Foo is referenced by nothing, so cluster 3 joins cluster 1


def claimed(n: int, holder: str = "bob@cern.ch", **attrs) -> list[Ad]:
    return slots(n, prefix="busy", State="Claimed", RemoteOwner=holder, RemoteUser=holder, **attrs)


def test_no_priority_preemption_with_default_preemption_requirements():
    usage = UsageState(0.0, {"bob@cern.ch": SubmitterUsage(priority=1000.0)})
    result = negotiate(jobs(3), claimed(3), CFG, usage, 0.0)
    assert result.matches == ()


def test_priority_preemption_when_preemption_requirements_allow(evaluator):
    cfg = NegotiatorConfig(preemption_requirements="RemoteUserPrio > SubmitterUserPrio * 1.2")
    usage = UsageState(0.0, {"bob@cern.ch": SubmitterUsage(priority=1000.0)})
    pool = claimed(3)  # the engine publishes RemoteUserPrio (bob's EUP, 1e6) on the claimed slots
    result = negotiate(jobs(2), pool, cfg, usage, 0.0, evaluator=evaluator)
    assert len(result.matches) == 2
    assert {m.preemption for m in result.matches} == {"priority"}
    assert {m.preempting for m in result.matches} == {"bob@cern.ch"}


def test_machine_rank_preemption():
    pool = claimed(1, Rank=Expr('TARGET.Owner == "alice"'), CurrentRank=0.0)
    result = negotiate(jobs(1), pool, CFG, UsageState(), 0.0)
    assert [m.preemption for m in result.matches] == ["rank"]
    off = NegotiatorConfig(consider_preemption=False)
    assert negotiate(jobs(1), pool, off, UsageState(), 0.0).matches == ()


def test_default_machine_rank_never_preempts():
    assert negotiate(jobs(1), claimed(1), CFG, UsageState(), 0.0).matches == ()


def test_running_jobs_count_as_usage():
    """alice already runs 10 of 20 cores; bob gets the free 10 before alice gets more."""
    busy = claimed(10, holder="alice@cern.ch")
    running = jobs(10, "alice", 9, JobStatus=2)
    result = negotiate(
        running + jobs(10, "alice", 1) + jobs(10, "bob", 2), slots(10) + busy, CFG, UsageState(), 0.0
    )
    got = Counter(m.submitter for m in result.matches)
    assert got == {"bob@cern.ch": 10}


def test_new_usage_is_aged_and_records_resources():
    usage = UsageState(0.0, {"alice@cern.ch": SubmitterUsage(priority=10.0)})
    result = negotiate(jobs(4), slots(4), CFG, usage, 86400.0)
    rec = result.usage.get("alice@cern.ch")
    assert rec.priority == pytest.approx(5.0)
    assert rec.resources_used == 4
    assert result.usage.time == 86400.0


def test_candidate_heavier_than_the_remaining_limit_is_skipped_for_a_lighter_one():
    """b's first-spin limit is 11/6 cores: its preferred 8-core slot is too heavy, so it takes a 1-core
    slot first (as the negotiator does) and gets the big one only in the next spin."""
    pool = slots(1, prefix="big", Cpus=8, Pre=10) + slots(3, prefix="small", Cpus=1, Pre=0)
    cfg = NegotiatorConfig(pre_job_rank="MY.Pre")
    usage = UsageState(
        0.0, {"a@cern.ch": SubmitterUsage(priority=1.0), "b@cern.ch": SubmitterUsage(priority=5.0)}
    )
    js = jobs(1, "a", 1, Requirements=Expr("TARGET.Cpus == 1")) + jobs(4, "b", 2)
    result = negotiate(js, pool, cfg, usage, 0.0)
    got = {m.job: m.slot.split("@")[0] for m in result.matches}
    assert got == {"1.0": "small1", "2.0": "small2", "2.1": "big1", "2.2": "small3"}


def test_submitters_without_claims_use_nothing_after_the_cycle():
    usage = UsageState(0.0, {"gone@cern.ch": SubmitterUsage(priority=8.0, resources_used=8.0)})
    result = negotiate(jobs(1), slots(1), CFG, usage, 0.0)
    assert result.usage.get("gone@cern.ch").resources_used == 0.0
    assert result.usage.get("gone@cern.ch").priority == 8.0


def test_a_slot_matched_in_this_cycle_is_not_preempted_again():
    """The negotiator drops a matched slot from the cycle: a RANK that prefers every job of alice lets
    one of them preempt the running job, not each of them in turn."""
    pool = claimed(1, Rank=Expr('TARGET.Owner == "alice"'), CurrentRank=0.0)
    result = negotiate(jobs(5), pool, CFG, UsageState(), 0.0)
    assert [(m.job, m.preemption) for m in result.matches] == [("1.0", "rank")]
