"""The member-cluster observer against the API emulator (an emulated API server, not Kubernetes)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import yaml

from condorfed.adapters.kube import RetryPolicy, connect
from condorfed.adapters.kube_observe import node_state, observe_member, observe_members
from condorfed.core.burst.members import MemberObservation, NodeState

LABEL = {"condorfed.io/startd": "true"}


def _node(name: str, ready: str = "True", labels=LABEL, unschedulable: bool = False) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {"unschedulable": unschedulable},
        "status": {
            "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": ready}]
        },
    }


def _daemonset(selector: dict | None) -> dict:
    pod = {"containers": [{"name": "startd", "image": "htcondor/execute:24.0"}]}
    if selector is not None:
        pod["nodeSelector"] = selector
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "condorfed-startd", "namespace": "condor"},
        "spec": {
            "selector": {"matchLabels": {"app": "condorfed-startd"}},
            "template": {"metadata": {"labels": {"app": "condorfed-startd"}}, "spec": pod},
        },
    }


def _epoch(stored: dict) -> float:
    return datetime.fromisoformat(stored["metadata"]["creationTimestamp"].replace("Z", "+00:00")).timestamp()


def test_daemonset_and_selected_nodes(emulator):
    emu, client, _ = emulator
    emu.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "condor"}})
    w1 = emu.put(_node("worker-1"))
    emu.put(_node("worker-2", ready="False"))
    emu.put(_node("worker-3", unschedulable=True))
    emu.put(_node("other", labels={"role": "infra"}))  # not picked by the nodeSelector
    client.apply(_daemonset(LABEL))

    obs = observe_member(client, "exoscale")
    assert obs.reachable and obs.cluster == "exoscale"
    # the emulator schedules the DaemonSet on the 3 labelled Nodes (of 4 + the fixture's 4 unlabelled)
    assert (obs.daemonset_desired, obs.daemonset_ready) == (3, 3)
    assert [n.name for n in obs.nodes] == ["worker-1", "worker-2", "worker-3"]
    assert [(n.ready, n.unschedulable) for n in obs.nodes] == [(True, False), (False, False), (True, True)]
    assert obs.nodes[0].created_at == _epoch(w1)


def test_without_node_selector_or_daemonset_all_nodes_are_listed(emulator):
    emu, client, _ = emulator
    missing = observe_member(client, "tsystems")  # no DaemonSet (its namespace does not even exist)
    assert missing.reachable and missing.daemonset_desired is None
    assert len(missing.nodes) == 4  # the fixture's Nodes, no Ready condition: not Ready
    assert not any(n.ready for n in missing.nodes)
    emu.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "condor"}})
    client.apply(_daemonset(None))
    everywhere = observe_member(client, "tsystems")
    assert everywhere.daemonset_desired == 4 and len(everywhere.nodes) == 4


def test_unreachable_and_unknown_contexts_never_crash(emulator, tmp_path):
    _, _, kubeconfig = emulator
    closed = sys.modules["fed_emulator"].closed_port_url()
    config = yaml.safe_load(Path(kubeconfig).read_text())
    config["clusters"].append({"name": "down", "cluster": {"server": closed}})
    config["contexts"].append({"name": "down", "context": {"cluster": "down", "user": "tester"}})
    path = tmp_path / "kubeconfig-down"
    path.write_text(yaml.safe_dump(config))

    def connector(context):
        return connect(context, str(path), timeout=0.5, retry=RetryPolicy(attempts=1), sleep=lambda s: None)

    got = observe_members(
        [("exoscale", "burst"), ("tsystems", "down"), ("ghost", "no-such-context"), ("offline", None)],
        connector,
    )
    assert [(m.cluster, m.reachable) for m in got] == [
        ("exoscale", True),
        ("tsystems", False),
        ("ghost", False),
    ]
    assert "down" in got[1].error and "no-such-context" in got[2].error


def test_node_state_parses_the_ready_condition():
    assert node_state({"metadata": {"name": "n"}}) == NodeState(
        "n", ready=False, unschedulable=False, created_at=None
    )
    node = _node("n", ready="Unknown")
    node["metadata"]["creationTimestamp"] = "2026-11-22T05:00:00Z"
    assert node_state(node) == NodeState("n", False, False, 1795323600.0)
    assert MemberObservation("x").reachable  # defaults: reachable, nothing known


def test_live_wiring_observes_members_and_offline_wiring_does_not(emulator, tmp_path):
    from test_workflow_emulator import _files

    from condorfed.workflows.campaign import Wiring, build_controller

    emu, _, kubeconfig = emulator
    emu.put(_node("worker-1"))
    files = _files(tmp_path, 4)  # cluster "cloud" has context "burst"
    common = {"federation": str(files / "federation.yaml"), "campaign": str(files / "campaign.yaml")}
    live = build_controller(Wiring(**common, kubeconfig=kubeconfig, pool="127.0.0.1:1", dry_run=True))
    assert live.members is not None
    (cloud,) = live.members()
    assert cloud.cluster == "cloud" and cloud.reachable and cloud.daemonset_desired is None
    assert "worker-1" in [n.name for n in cloud.nodes if n.ready]
    offline = build_controller(
        Wiring(
            **common,
            dry_run=True,
            jobs_files=(str(files / "jobs.json"),),
            machines_files=(str(files / "machines.json"),),
        )
    )
    assert offline.members is None
