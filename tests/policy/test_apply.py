"""policy apply against the API emulator holding what `condorfed init` renders."""

from __future__ import annotations

import pytest

from condorfed.adapters.kube import connect
from condorfed.cli.main import main
from condorfed.core.federation.model import parse_federation
from condorfed.core.federation.policy import compile_policy
from condorfed.core.render.options import CM_NAME, NEGOTIATOR_CONFIGMAP, SCHEDD_CONFIGMAP
from condorfed.core.render.render import CONFIG_HASH, config_hash
from condorfed.errors import ClusterError
from condorfed.workflows.policy import NEGOTIATOR_KEY, SCHEDD_KEY, apply_policy, negotiator_file_text

NS = "condor"


def _pod_hash(emu, kind, name):
    obj = emu.get("apps/v1", kind, name, NS)
    return obj["spec"]["template"]["metadata"].get("annotations", {}).get(CONFIG_HASH)


def test_apply_writes_rolls_and_is_idempotent(host, example_data):
    emu, kubeconfig = host
    fed = parse_federation(example_data, "federation.yaml")
    client = connect("host", kubeconfig)
    before = _pod_hash(emu, "Deployment", CM_NAME)

    first = apply_policy(fed, client, namespace=NS)
    cm = emu.get("v1", "ConfigMap", NEGOTIATOR_CONFIGMAP, NS)
    assert cm["data"][NEGOTIATOR_KEY] == negotiator_file_text(compile_policy(fed))
    assert len(cm["data"]) == 3  # the other config.d files are untouched
    digest = config_hash(*(cm["data"][k] for k in sorted(cm["data"])))
    assert first.config_hash == digest
    assert _pod_hash(emu, "Deployment", CM_NAME) == digest != before
    assert f"Deployment {NS}/{CM_NAME} (rolled)" in first.changed
    # the transform is written for the schedd too
    assert emu.get("v1", "ConfigMap", SCHEDD_CONFIGMAP, NS)["data"][SCHEDD_KEY].endswith(
        compile_policy(fed).config_text
    )

    versions = {k: emu.get(*k)["metadata"]["resourceVersion"] for k in _keys()}
    again = apply_policy(fed, client, namespace=NS)
    assert again.changed == () and again.config_hash == digest
    assert {k: emu.get(*k)["metadata"]["resourceVersion"] for k in _keys()} == versions

    example_data["fairshare"]["halfLife"] = 3600
    third = apply_policy(parse_federation(example_data, "f.yaml"), client, namespace=NS)
    assert third.config_hash != digest and _pod_hash(emu, "Deployment", CM_NAME) == third.config_hash
    assert (
        "PRIORITY_HALFLIFE = 3600"
        in emu.get("v1", "ConfigMap", NEGOTIATOR_CONFIGMAP, NS)["data"][NEGOTIATOR_KEY]
    )


def _keys():
    return [
        ("v1", "ConfigMap", NEGOTIATOR_CONFIGMAP, NS),
        ("v1", "ConfigMap", SCHEDD_CONFIGMAP, NS),
        ("apps/v1", "Deployment", CM_NAME, NS),
    ]


def test_schedd_mounts_the_policy_so_require_rules_are_enforced(host, example_data):
    emu, kubeconfig = host
    result = apply_policy(parse_federation(example_data, "f.yaml"), connect("host", kubeconfig), namespace=NS)
    mounts = list(_all_mounts(emu.get("apps/v1", "StatefulSet", "condorfed-schedd", NS)))
    assert any(m.get("subPath") == SCHEDD_KEY for m in mounts)
    assert result.warnings == ()
    assert f"StatefulSet {NS}/condorfed-schedd (rolled)" in result.changed


def _all_mounts(obj):
    for c in obj["spec"]["template"]["spec"]["containers"]:
        yield from c.get("volumeMounts", [])


def test_dry_run_changes_nothing(host, example_data):
    emu, kubeconfig = host
    before = emu.get("v1", "ConfigMap", NEGOTIATOR_CONFIGMAP, NS)
    result = apply_policy(
        parse_federation(example_data, "f.yaml"), connect("host", kubeconfig), namespace=NS, dry_run=True
    )
    assert result.dry_run and result.changed
    assert emu.get("v1", "ConfigMap", NEGOTIATOR_CONFIGMAP, NS) == before


def test_without_init_it_says_so(host, example_data):
    _, kubeconfig = host
    with pytest.raises(
        ClusterError, match=r"ConfigMap other/condorfed-cm-config not found; run `condorfed init`"
    ):
        apply_policy(parse_federation(example_data, "f.yaml"), connect("host", kubeconfig), namespace="other")


def test_cli_apply_then_unchanged(host, capsys):
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "examples" / "federation.yaml"
    _, kubeconfig = host
    args = ["policy", "apply", str(example), "--host-context", "host", "--kubeconfig", kubeconfig]
    main(args)  # returns normally on success (errors exit 2)
    assert "changed: ConfigMap condor/condorfed-cm-config" in capsys.readouterr().out
    main(args)
    assert "unchanged" in capsys.readouterr().out
