"""The CLI: one JSON object with --json; bad input is one line on stderr and exit code 2."""

from __future__ import annotations

import base64
import json
import socket

import pytest

from condorfed.cli.main import main
from condorfed.core.render.render import TOKEN_HASH, token_hash

HOST = ("--host-context", "host")
MEMBER_A = ("--cluster-context", "member-a")


def closed_collector() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"127.0.0.1:{port}"


def run(capsys, *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def kc(clusters) -> list[str]:
    return ["--kubeconfig", clusters.kubeconfig, "--timeout", "1"]


def test_init_join_status_unjoin_with_json(clusters, capsys, kc):
    code, out, _ = run(capsys, "init", *HOST, "--collector-address", "127.0.0.1", "--json", *kc)
    assert code == 0 and json.loads(out)["namespace"] == "condor"
    code, out, _ = run(capsys, "join", "cluster-a", *MEMBER_A, "--label", "site=x", "--json", *HOST, *kc)
    joined = json.loads(out)
    assert code == 0 and joined["identity"] == "cluster-a@condorfed.local" and joined["token"] == "minted"
    assert "eyJ" not in out  # no token material in the output
    code, out, _ = run(capsys, "status", *HOST, "--collector", closed_collector(), "--json", *kc)
    st = json.loads(out)
    assert code == 0 and st["members"][0]["name"] == "cluster-a" and st["members"][0]["reachable"]
    assert st["collector_error"].startswith("collector 127.0.0.1:")
    code, out, _ = run(capsys, "unjoin", "cluster-a", "--host-context", "host", "--json", *kc)
    assert code == 0 and json.loads(out)["member_cleanup"] == "done"


def test_status_table_shows_an_unreachable_member(clusters, capsys, kc):
    run(capsys, "init", "--host-context", "host", "--collector-address", "127.0.0.1", *kc)
    run(capsys, "join", "cluster-a", "--cluster-context", "member-a", "--host-context", "host", *kc)
    clusters.member_a.stop()
    code, out, _ = run(capsys, "status", "--host-context", "host", "--collector", closed_collector(), *kc)
    assert code == 0
    assert "cluster-a" in out and "no:" in out and "TOTAL" in out


@pytest.mark.parametrize(
    ("case", "args", "needle"),
    [
        ("unknown context", ["join", "a", "--cluster-context", "nope", *HOST], "'nope' not found"),
        ("invalid name", ["join", "A_b", "--cluster-context", "member-a"], "not a DNS-1123 label"),
        ("join before init", ["join", "a", "--cluster-context", "member-a", "--host-context", "host"],
         "run condorfed init"),
        ("unreachable host", ["status", "--host-context", "down"], "unreachable"),
        ("bad label", ["join", "a", "--cluster-context", "member-a", "--label", "novalue"], "not KEY=VALUE"),
        ("negative retirement", ["join", "a", *MEMBER_A, "--max-job-retirement-time", "-1"],
         "--max-job-retirement-time: -1 must be >= 0"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(clusters, capsys, kc, case, args, needle):
    code, out, err = run(capsys, *args, *kc)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("condorfed: ") and needle in lines[0]
    assert "Traceback" not in err


def test_init_takes_the_host_options_render_init_prints(clusters, capsys, kc):
    # One option list serves `init` and `render init`: what render prints, init can apply.
    args = ("--collector-address", "127.0.0.1", "--spool-size", "25Gi", "--schedd-service-type", "NodePort")
    code, _, err = run(capsys, "init", *HOST, *args, *kc)
    assert code == 0, err
    schedd = clusters.host.get("apps/v1", "StatefulSet", "condorfed-schedd", "condor")
    claim = schedd["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
    assert claim == "25Gi"
    services = {o["spec"].get("type") for o in clusters.host.objects() if o["kind"] == "Service"}
    assert "NodePort" in services


def _comparable(obj: dict) -> dict:
    """What a rendered object says, without what the API server adds (uid, resourceVersion, status...)."""
    meta = obj["metadata"]
    kept = {k: meta[k] for k in ("name", "namespace", "labels", "annotations") if k in meta}
    return {**{k: v for k, v in obj.items() if k not in ("metadata", "status")}, "metadata": kept}


def test_join_applies_what_render_join_prints_with_the_same_member_options(clusters, capsys, kc, tmp_path):
    # One option list serves `join` and `render join`, --max-job-retirement-time included.
    import yaml

    member = ("--cloud", "--provider", "aws", "--label", "site=x", "--weight", "2", "--max-cores", "64")
    member += (
        "--node-selector",
        "pool=condor",
        "--token-lifetime",
        "86400",
        "--max-job-retirement-time",
        "7200",
    )
    code, _, err = run(capsys, "init", *HOST, "--collector-address", "cm.example.org", *kc)
    assert code == 0, err
    code, _, err = run(capsys, "join", "cluster-a", *MEMBER_A, *member, *HOST, *kc)
    assert code == 0, err
    out = tmp_path / "rendered"
    code, _, err = run(
        capsys, "render", "join", "cluster-a", "--collector", "cm.example.org", *member, "-o", str(out)
    )
    assert code == 0, err
    rendered = [yaml.safe_load(p.read_text()) for p in sorted(out.glob("*.yaml"))]
    assert rendered and not any(o["kind"] == "Secret" for o in rendered)
    ds = clusters.member_a.get("apps/v1", "DaemonSet", "condorfed-startd", "condor")
    # The one difference: join knows the token it minted and annotates its identity's digest (a new token
    # rolls the startds); render join without --include-secrets has no token to digest.
    token = base64.b64decode(
        clusters.member_a.get("v1", "Secret", "condorfed-startd-token", "condor")["data"]["token"]
    )
    pod_annotations = ds["spec"]["template"]["metadata"]["annotations"]
    assert pod_annotations.pop(TOKEN_HASH) == token_hash(token.decode())
    for obj in rendered:
        live = clusters.member_a.get(obj["apiVersion"], obj["kind"], obj["metadata"]["name"],
                                     obj["metadata"].get("namespace", ""))  # fmt: skip
        assert live is not None, obj["metadata"]["name"]
        live = ds if obj["kind"] == "DaemonSet" else live
        assert _comparable(live) == _comparable(obj), obj["kind"]
    assert ds["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 7200 + 60
    config = clusters.member_a.get("v1", "ConfigMap", "condorfed-startd-config", "condor")["data"]
    assert "MAXJOBRETIREMENTTIME = 7200" in config["50-condorfed-startd.conf"]
    record = json.loads(
        clusters.host.get("v1", "ConfigMap", "condorfed-registry", "condor")["data"]["member.cluster-a.json"]
    )
    assert (record["max_job_retirement_time"], record["token_lifetime"], record["cloud"]) == (
        7200,
        86400,
        True,
    )


def test_join_rotate_token_mints_a_new_token_and_rolls_the_startds(clusters, capsys, kc):
    run(capsys, "init", *HOST, "--collector-address", "127.0.0.1", *kc)
    code, out, _ = run(capsys, "join", "cluster-a", *MEMBER_A, *HOST, "--json", *kc)
    assert code == 0 and json.loads(out)["token"] == "minted"
    ds = clusters.member_a.get("apps/v1", "DaemonSet", "condorfed-startd", "condor")
    before = ds["spec"]["template"]["metadata"]["annotations"][TOKEN_HASH]
    code, out, _ = run(capsys, "join", "cluster-a", *MEMBER_A, *HOST, "--json", *kc)
    assert code == 0 and json.loads(out)["token"] == "reused"
    code, out, _ = run(capsys, "join", "cluster-a", *MEMBER_A, *HOST, "--rotate-token", "--json", *kc)
    assert code == 0 and json.loads(out)["token"] == "minted" and "eyJ" not in out
    ds = clusters.member_a.get("apps/v1", "DaemonSet", "condorfed-startd", "condor")
    assert ds["spec"]["template"]["metadata"]["annotations"][TOKEN_HASH] != before
