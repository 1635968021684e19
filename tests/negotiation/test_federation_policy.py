"""`negotiate --federation`: the engine sees jobs as the schedd's require transform leaves them."""

from __future__ import annotations

from pathlib import Path

from condorfed.workflows.negotiate import run_negotiation

FEDERATION = Path(__file__).resolve().parents[2] / "examples" / "federation.yaml"

SLOT = """MyType = "Machine"
Name = "slot1@{name}"
Machine = "{name}"
SlotType = "Partitionable"
PartitionableSlot = true
Cpus = 8
Memory = 32000
Disk = 100000000
GPUs = 0
State = "Unclaimed"
Activity = "Idle"
FedCluster = "{cluster}"
IsCloud = {cloud}
Requirements = START
START = true
"""

JOB = """MyType = "Job"
ClusterId = 1
ProcId = {proc}
JobStatus = 1
Owner = "alice"
User = "alice@cern.ch"
AcctGroup = "{group}"
AccountingGroup = "{group}.alice"
RequestCpus = 1
RequestMemory = 1000
RequestDisk = 1000
Requirements = true
"""


def _files(tmp_path: Path, clusters: dict[str, bool]) -> tuple[str, str]:
    machines = tmp_path / "machines.ads"
    slots = [SLOT.format(name=f"{c}-1", cluster=c, cloud=str(cloud).lower()) for c, cloud in clusters.items()]
    machines.write_text("\n".join(slots))
    jobs = tmp_path / "jobs.ads"
    jobs.write_text("\n".join(JOB.format(proc=i, group=g) for i, g in enumerate(["tpu", "atlas"])))
    return str(jobs), str(machines)


def _placement(run) -> dict[str, str]:
    return {m.job: m.slot for m in run.result.matches}


def test_require_rule_keeps_tpu_jobs_off_other_clusters(tmp_path: Path) -> None:
    jobs, machines = _files(tmp_path, {"meyrin": False})
    run = run_negotiation((jobs,), (machines,), federation=str(FEDERATION), now=0)
    # Without the federation both jobs would run on meyrin; the transform confines 1.0 to gcp.
    assert set(_placement(run_negotiation((jobs,), (machines,), now=0))) == {"1.0", "1.1"}
    assert _placement(run) == {"1.1": "slot1@meyrin-1"}


def test_require_rule_lets_tpu_jobs_run_on_gcp(tmp_path: Path) -> None:
    jobs, machines = _files(tmp_path, {"meyrin": False, "gcp": True})
    assert _placement(run_negotiation((jobs,), (machines,), federation=str(FEDERATION), now=0)) == {
        "1.0": "slot1@gcp-1",
        "1.1": "slot1@meyrin-1",
    }
