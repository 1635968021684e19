"""Actuators, campaign state and leader election against the API emulator (not a real cluster)."""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

import pytest

from condorfed.adapters.actuators import (
    DELETION_COST,
    ActuatorSet,
    DeploymentActuator,
    LabelActuator,
    NodePoolActuator,
    actuator_for,
)
from condorfed.adapters.campaign_state import ConfigMapStateStore, configmap_name
from condorfed.core.burst import BackOff, Cancel, ControllerMemory, Drain, Remove, ScaleUp
from condorfed.errors import ClusterError
from condorfed.workflows.controller import LeaderElector

SELECTOR = {"condorfed.io/startd": "true"}


def _labelled(emu) -> list[str]:
    return sorted(
        n["metadata"]["name"]
        for n in emu.objects("Node")
        if (n["metadata"].get("labels") or {}).get("condorfed.io/startd") == "true"
    )


def test_label_actuator_labels_up_to_target_and_unlabels_removed(emulator):
    emu, client, _ = emulator
    act = LabelActuator(client, "meyrin", SELECTOR)
    act.apply(ScaleUp("meyrin", 3, 3, "demand"))
    assert _labelled(emu) == ["burst-node-0", "burst-node-1", "burst-node-2"]
    act.apply(ScaleUp("meyrin", 3, 3, "same action again after a restart"))
    assert len(_labelled(emu)) == 3  # absolute target: applying twice provisions nothing more
    act.apply(Remove("meyrin", ("burst-node-1",), 2, "idle"))
    assert _labelled(emu) == ["burst-node-0", "burst-node-2"]
    act.apply(Cancel("meyrin", 1, 1, "never registered"))
    assert _labelled(emu) == ["burst-node-0"]
    # other labels on the node are untouched
    node = emu.get("v1", "Node", "burst-node-0")
    assert node["metadata"]["labels"]["kubernetes.io/os"] == "linux"


def test_deployment_actuator_sets_replicas_and_deletion_cost(emulator):
    emu, client, _ = emulator
    emu.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "condor"}})
    emu.put(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "condor-startd", "namespace": "condor"},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "startd"}}, "template": {}},
        }
    )
    for i in range(2):
        emu.put(
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"startd-{i}", "namespace": "condor"}}
        )
    act = DeploymentActuator(client, "exoscale", "condor", "condor-startd")
    act.apply(ScaleUp("exoscale", 2, 2, "demand"))
    assert emu.get("apps/v1", "Deployment", "condor-startd", "condor")["spec"]["replicas"] == 2
    act.apply(Remove("exoscale", ("startd-1",), 1, "idle"))
    assert emu.get("apps/v1", "Deployment", "condor-startd", "condor")["spec"]["replicas"] == 1
    pod = emu.get("v1", "Pod", "startd-1", "condor")
    assert pod["metadata"]["annotations"][DELETION_COST] == "-1000"
    assert "annotations" not in emu.get("v1", "Pod", "startd-0", "condor")["metadata"]


class Runner:
    def __init__(self, returncode: int = 0, stderr: str = "") -> None:
        self.calls: list[tuple[list[str], dict]] = []
        self.returncode, self.stderr = returncode, stderr

    def __call__(self, argv, **kw):
        self.calls.append((argv, kw))
        return subprocess.CompletedProcess(argv, self.returncode, "", self.stderr)


def test_nodepool_actuator_runs_the_template_as_argv(federation):
    cluster = SimpleNamespace(
        name="tsystems",
        context=None,
        actuator=SimpleNamespace(
            kind="nodepool",
            argv=lambda c, n: [
                "openstack",
                "coe",
                "nodegroup",
                "resize",
                "cern; rm -rf /",
                "workers",
                "--node-count",
                str(n),
            ],
        ),
    )
    runner = Runner()
    act = actuator_for(cluster, None, runner)
    act.apply(ScaleUp("tsystems", 4, 4, "demand"))
    act.apply(Remove("tsystems", ("w1",), 3, "idle"))
    (argv1, kw1), (argv2, _) = runner.calls
    assert argv1[-1] == "4" and argv2[-1] == "3"
    assert argv1[4] == "cern; rm -rf /"  # one argument, never interpreted by a shell
    assert kw1["shell"] is False and kw1["timeout"] > 0


def test_nodepool_actuator_from_the_federation_model(federation):
    from pathlib import Path

    from condorfed.adapters.federation_file import load_federation

    fed = load_federation(Path(__file__).parents[2] / "examples" / "federation.yaml")
    runner = Runner()
    act = actuator_for(fed.cluster("tsystems"), None, runner)
    act.apply(ScaleUp("tsystems", 2, 2, "demand"))
    assert runner.calls[0][0] == [
        "openstack",
        "coe",
        "nodegroup",
        "resize",
        "cern-burst",
        "condor-workers",
        "--node-count",
        "2",
    ]


def test_nodepool_failure_is_one_cluster_error_line():
    runner = Runner(returncode=1, stderr="Quota exceeded\nfor project cern: instances")
    act = NodePoolActuator(lambda n: ["gcloud", "resize", str(n)], "gcp", runner=runner)
    with pytest.raises(ClusterError, match=r"^cluster gcp: gcloud exited 1: for project cern: instances$"):
        act.apply(ScaleUp("gcp", 1, 1, "demand"))


def test_nodepool_remove_cordons_nodes_first(emulator):
    emu, client, _ = emulator
    runner = Runner()
    act = NodePoolActuator(lambda n: ["resize", str(n)], "exoscale", client=client, runner=runner)
    act.apply(Remove("exoscale", ("burst-node-3",), 3, "drained"))
    assert emu.get("v1", "Node", "burst-node-3")["spec"]["unschedulable"] is True
    assert runner.calls[0][0] == ["resize", "3"]


class Recorder:
    def __init__(self) -> None:
        self.seen: list = []

    def apply(self, action) -> None:
        self.seen.append(action)

    def drain(self, workers, how, reason) -> None:
        self.seen.append(("drain", tuple(workers), how))


def test_actuator_set_routes_drains_to_htcondor_and_skips_backoff():
    rec = Recorder()
    acts = ActuatorSet({"tsystems": rec}, rec)
    actions = [
        Drain("tsystems", ("w1",), "graceful", 10.0, "lease"),
        Remove("tsystems", ("w2",), 0, "idle"),
        BackOff("tsystems", 99.0, 1, "died young"),
    ]
    acts.apply(actions)
    assert rec.seen == [("drain", ("w1",), "graceful"), actions[1]]
    with pytest.raises(ClusterError, match="cluster gcp: no actuator"):
        acts.apply([ScaleUp("gcp", 1, 1, "x")])


def test_campaign_state_in_a_configmap_round_trips(emulator):
    emu, client, _ = emulator
    emu.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "condor"}})
    store = ConfigMapStateStore(client, "condor", "moriond-2027")
    assert store.load() is None
    memory = ControllerMemory(last_tick=5.0, spent=12.5)
    store.save({"campaign": "moriond-2027", "memory": memory.to_json()})
    cm = emu.get("v1", "ConfigMap", configmap_name("moriond-2027"), "condor")
    assert cm["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "condorfed"
    again = ConfigMapStateStore(client, "condor", "moriond-2027").load()
    assert ControllerMemory.from_json(again["memory"]) == memory


def test_leader_election_two_instances(emulator):
    emu, client, kubeconfig = emulator
    from condorfed.adapters.kube import connect

    other = connect("burst", kubeconfig, timeout=5.0)
    a = LeaderElector(client, "default", "condorfed-controller", "replica-a", lease_seconds=15)
    b = LeaderElector(other, "default", "condorfed-controller", "replica-b", lease_seconds=15)
    t = 1_800_000_000.0
    assert a.try_acquire(t) is True
    assert b.try_acquire(t + 1) is False
    assert a.try_acquire(t + 10) is True  # renew
    assert b.try_acquire(t + 20) is False  # renewed at t+10: valid until t+25
    assert b.try_acquire(t + 26) is True  # a stopped renewing: b takes over
    assert a.try_acquire(t + 27) is False
    lease = emu.get("coordination.k8s.io/v1", "Lease", "condorfed-controller", "default")
    assert lease["spec"]["holderIdentity"] == "replica-b" and lease["spec"]["leaseTransitions"] == 1
    b.release(t + 28)
    assert a.try_acquire(t + 29) is True  # released: no need to wait for expiry
    other.close()


def test_leader_election_race_has_one_winner(emulator):
    """Both replicas read an expired Lease; the replace with the stale resourceVersion loses."""
    emu, client, kubeconfig = emulator
    from condorfed.adapters.kube import connect

    other = connect("burst", kubeconfig, timeout=5.0)
    t = 1_800_000_000.0
    LeaderElector(client, "default", "l", "old").try_acquire(t)
    a = LeaderElector(client, "default", "l", "replica-a")
    b = LeaderElector(other, "default", "l", "replica-b")
    stale = client.get_lease("default", "l")
    assert a.try_acquire(t + 100) is True
    # b acts on the Lease it read before a's write
    b.client = SimpleNamespace(
        get_lease=lambda ns, n: stale, replace_lease=other.replace_lease, create_lease=other.create_lease
    )
    assert b.try_acquire(t + 100) is False
    lease = emu.get("coordination.k8s.io/v1", "Lease", "l", "default")
    assert lease["spec"]["holderIdentity"] == "replica-a"
    other.close()
