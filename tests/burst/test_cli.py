"""`condorfed campaign ...` and `condorfed controller manifests` through the real CLI entry point."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import kubernetes_validate
import pytest
from click.testing import CliRunner

from condorfed.adapters.campaign_state import FileStateStore
from condorfed.cli.main import cli
from condorfed.core.burst import ControllerMemory

ROOT = Path(__file__).parents[2]
FED = str(ROOT / "examples" / "federation.yaml")
CAMPAIGN = str(ROOT / "examples" / "campaign.yaml")
DURING = dt.datetime(2027, 3, 2, tzinfo=dt.UTC).timestamp()
K8S = "1.30.0"


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _jobs_file(tmp_path: Path, n: int = 64, group: str = "atlas") -> str:
    req = (
        '(TARGET.Arch == "X86_64") && (TARGET.OpSys == "LINUX")'
        " && (TARGET.Memory >= RequestMemory) && (TARGET.HasFileTransfer)"
    )
    ads = [
        {"ClusterId": 1, "ProcId": i, "JobStatus": 1, "Owner": "alice", "AcctGroup": group,
         "RequestCpus": 1, "RequestMemory": 2000, "RequestDisk": 1024, "RequestGPUs": 0,
         "Requirements": f"/Expr({req})/"}
        for i in range(n)
    ]  # fmt: skip
    path = tmp_path / "jobs.json"
    path.write_text(json.dumps(ads))
    return str(path)


def _machines_file(tmp_path: Path) -> str:
    path = tmp_path / "machines.json"
    path.write_text("[]")
    return str(path)


def test_dry_run_prints_decisions_as_json(tmp_path):
    jobs, machines = _jobs_file(tmp_path), _machines_file(tmp_path)
    result = _invoke("campaign", "run", CAMPAIGN, "--federation", FED, "--dry-run", "--now", str(DURING),
                     "--jobs", jobs, "--machines", machines, "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["phase"] == "active"
    assert doc["demand"]["idleJobs"] == 64
    ups = {a["cluster"]: a["nodes"] for a in doc["actions"] if a["kind"] == "scale-up"}
    # examples: exoscale 16 cores/node weight 20, tsystems 32 cores/node weight 10 -> 2:1 by weight
    assert doc["demand"]["clusters"]["exoscale"]["jobs"] == pytest.approx(64 * 20 / 30, rel=1e-3)
    assert ups == {"exoscale": 3, "tsystems": 1}
    assert not (tmp_path / ".condorfed").exists()


def test_dry_run_before_start_waits(tmp_path):
    jobs, machines = _jobs_file(tmp_path), _machines_file(tmp_path)
    result = _invoke("campaign", "run", CAMPAIGN, "--federation", FED, "--dry-run", "--now", "0",
                     "--jobs", jobs, "--machines", machines, "--json")  # fmt: skip
    doc = json.loads(result.output)
    assert doc["phase"] == "waiting" and doc["actions"] == []


def test_dry_run_live_table(tmp_path):
    jobs, machines = _jobs_file(tmp_path), _machines_file(tmp_path)
    result = _invoke("campaign", "run", CAMPAIGN, "--federation", FED, "--dry-run", "--now", str(DURING),
                     "--jobs", jobs, "--machines", machines)  # fmt: skip
    assert result.exit_code == 0
    assert "moriond-2027: active" in result.output and "exoscale" in result.output
    assert "scale-up exoscale +3" in result.output


def test_now_needs_dry_run(tmp_path):
    result = CliRunner().invoke(cli, ["campaign", "run", CAMPAIGN, "--federation", FED, "--now", "0"])
    assert result.exit_code == 2 and "--dry-run" in result.output


def test_status_and_stop_with_a_state_file(tmp_path):
    state = tmp_path / "state.json"
    FileStateStore(state).save(
        {
            "campaign": "moriond-2027",
            "memory": ControllerMemory(spent=3.5).to_json(),
            "last": {"phase": "active"},
            "recent": [{"time": 1, "kind": "scale-up", "text": "scale-up exoscale +1 node(s) -> 1: demand"}],
        }
    )
    result = _invoke("campaign", "status", CAMPAIGN, "--state-file", str(state), "--json")
    assert json.loads(result.output)["memory"]["spent"] == 3.5
    table = _invoke("campaign", "status", CAMPAIGN, "--state-file", str(state))
    assert "moriond-2027: active, spent 3.50" in table.output and "scale-up exoscale" in table.output
    stopped = _invoke("campaign", "stop", CAMPAIGN, "--state-file", str(state), "--json")
    assert json.loads(stopped.output) == {"campaign": "moriond-2027", "stopped": True}
    assert FileStateStore(state).load()["memory"]["stopped"] is True


def test_bad_campaign_is_one_line_exit_2(tmp_path):
    from condorfed.cli.main import main

    bad = tmp_path / "c.yaml"
    bad.write_text(
        "campaign: {name: x, start: 2027-01-01T00:00:00Z, end: 2027-01-02T00:00:00Z, clusters: [meyrin]}\n"
    )
    with pytest.raises(SystemExit) as exit_:
        main(["campaign", "run", str(bad), "--federation", FED, "--dry-run"])
    assert exit_.value.code == 2


def test_bad_campaign_message(tmp_path, capsys):
    from condorfed.cli.main import main

    bad = tmp_path / "c.yaml"
    bad.write_text(
        "campaign: {name: x, start: 2027-01-01T00:00:00Z, end: 2027-01-02T00:00:00Z, clusters: [meyrin]}\n"
    )
    with pytest.raises(SystemExit):
        main(["campaign", "run", str(bad), "--federation", FED, "--dry-run"])
    err = capsys.readouterr().err.strip()
    assert (
        err
        == f"condorfed: {bad}: campaign.clusters[0]: 'meyrin' is on-prem; a campaign bursts to cloud clusters"
    )


def test_controller_manifests_validate_against_the_kubernetes_schema():
    result = _invoke("controller", "manifests", "--campaign-configmap", "moriond", "--json")
    objects = json.loads(result.output)["objects"]
    assert [o["kind"] for o in objects] == [
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ConfigMap",
        "Deployment",
        "Service",
    ]
    for obj in objects:
        kubernetes_validate.validate(obj, K8S, strict=True)
    deployment = objects[4]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    args = container["args"]
    assert args[:2] == ["controller", "run"] and "--campaign" in args and "$(POD_NAME)" in args
    assert deployment["spec"]["replicas"] == 2
    # the kubeconfig context the args name exists in the rendered host kubeconfig
    import yaml

    kubeconfig = yaml.safe_load(objects[3]["data"]["config"])
    assert args[args.index("--host-context") + 1] == kubeconfig["current-context"]
    # credentials are referenced, never rendered: no Secret, and the kubeconfig points at a token file
    assert "Secret" not in {o["kind"] for o in objects}
    assert kubeconfig["users"][0]["user"] == {
        "tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token"
    }


def test_controller_manifests_yaml():
    result = _invoke("controller", "manifests", "--namespace", "burst", "--replicas", "3")
    assert "namespace: burst" in result.output and "replicas: 3" in result.output
