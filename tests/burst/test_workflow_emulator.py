"""The campaign workflow wired end to end: ad files in, Deployment replicas and state ConfigMap out
(against the API emulator, not a real cluster), and two leader-elected controllers."""

from __future__ import annotations

import datetime as dt
import json
import threading

import yaml
from burst_helpers import DEFAULT_REQ

from condorfed.adapters.campaign_state import configmap_name
from condorfed.workflows.campaign import Wiring, build_controller
from condorfed.workflows.controller import ControllerLoop, LeaderElector, Metrics

NOW = dt.datetime(2027, 1, 15, 9, tzinfo=dt.UTC).timestamp()  # during the campaign


def _files(tmp_path, n_jobs: int):
    fed = {
        "federation": {"name": "t", "trustDomain": "t.example"},
        "clusters": [
            {"name": "onprem", "type": "onprem", "nodes": 1, "node": {"cpus": 8, "memory": 32000}},
            {
                "name": "cloud",
                "type": "cloud",
                "context": "burst",
                "node": {"cpus": 8, "memory": 32000, "disk": 100000},
                "maxCores": 80,
                "costPerCoreHour": 0.01,
                "actuator": {"kind": "deployment", "namespace": "condor", "deployment": "condor-startd"},
            },
        ],
    }
    (tmp_path / "federation.yaml").write_text(yaml.safe_dump(fed))
    (tmp_path / "campaign.yaml").write_text(
        "campaign: {name: spike, start: 2027-01-15T08:00:00Z, end: 2027-01-16T08:00:00Z,\n"
        "           rampUp: {maxNodesPerTick: 3}}\n"
    )
    jobs = [
        {"ClusterId": 1, "ProcId": i, "JobStatus": 1, "Owner": "a", "RequestCpus": 1, "RequestMemory": 1000,
         "RequestDisk": 1000, "Requirements": f"/Expr({DEFAULT_REQ})/"}
        for i in range(n_jobs)
    ]  # fmt: skip
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    (tmp_path / "machines.json").write_text("[]")
    return tmp_path


def _wiring(tmp_path, kubeconfig: str) -> Wiring:
    return Wiring(
        federation=str(tmp_path / "federation.yaml"),
        campaign=str(tmp_path / "campaign.yaml"),
        kubeconfig=kubeconfig,
        host_context="burst",
        namespace="condor",
        jobs_files=(str(tmp_path / "jobs.json"),),
        machines_files=(str(tmp_path / "machines.json"),),
    )


def _prepare(emu) -> None:
    emu.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "condor"}})
    emu.put(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "condor-startd", "namespace": "condor"},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "startd"}}, "template": {}},
        }
    )


def _replicas(emu) -> int:
    return emu.get("apps/v1", "Deployment", "condor-startd", "condor")["spec"]["replicas"]


def test_campaign_ticks_scale_the_deployment_and_resume_from_the_configmap(emulator, tmp_path):
    emu, _client, kubeconfig = emulator
    _prepare(emu)
    files = _files(tmp_path, 64)  # 64 one-core jobs = 8 nodes; ramp-up 3 per tick
    now = NOW
    first = build_controller(_wiring(files, kubeconfig))
    d1 = first.tick(now)
    assert [(a.kind, a.nodes) for a in d1.actions] == [("scale-up", 3)]
    assert _replicas(emu) == 3
    cm = emu.get("v1", "ConfigMap", configmap_name("spike"), "condor")
    state = json.loads(cm["data"]["state.json"])
    assert state["memory"]["clusters"]["cloud"]["targetNodes"] == 3

    restarted = build_controller(_wiring(files, kubeconfig))  # new process: memory from the ConfigMap
    d2 = restarted.tick(now + 60)
    assert [(a.kind, a.nodes, a.target_nodes) for a in d2.actions] == [("scale-up", 3, 6)]
    d3 = restarted.tick(now + 120)
    assert [(a.kind, a.nodes, a.target_nodes) for a in d3.actions] == [("scale-up", 2, 8)]
    d4 = restarted.tick(now + 180)
    assert d4.actions == ()  # the 8 requested nodes absorb the 64 jobs while they provision
    assert _replicas(emu) == 8


def test_two_controllers_only_the_leader_acts(emulator, tmp_path):
    emu, client, kubeconfig = emulator
    _prepare(emu)
    files = _files(tmp_path, 16)
    from condorfed.adapters.kube import connect

    now = NOW
    other = connect("burst", kubeconfig, timeout=5.0)
    clock = {"t": now}
    loops = []
    for identity, c in (("replica-a", client), ("replica-b", other)):
        ctl = build_controller(_wiring(files, kubeconfig))
        elector = LeaderElector(c, "condor", "condorfed-controller", identity, lease_seconds=15)
        loops.append(ControllerLoop(ctl, elector, Metrics(), interval=0, clock=lambda: clock["t"]))
    a, b = loops
    assert a.once() is not None and b.once() is None
    assert a.metrics.leader._value.get() == 1 and b.metrics.leader._value.get() == 0
    assert _replicas(emu) == 2  # 16 jobs = 2 nodes, asked once
    clock["t"] += 5
    assert b.once() is None and a.once() is not None
    # a dies (stops renewing); after the lease duration b takes over and resumes from the state
    clock["t"] += 30
    decision = b.once()
    assert decision is not None and decision.actions == ()  # nothing provisioned twice
    assert _replicas(emu) == 2
    a.run(threading.Event(), ticks=1)  # a comes back as a follower, releases nothing it does not hold
    lease = emu.get("coordination.k8s.io/v1", "Lease", "condorfed-controller", "condor")
    assert lease["spec"]["holderIdentity"] == "replica-b"
    other.close()
