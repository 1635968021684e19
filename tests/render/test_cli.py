"""`condorfed render init | join -o DIR`: files on disk, secrets only on request."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import kubernetes_validate
import yaml
from click.testing import CliRunner

from condorfed.cli.render import render
from condorfed.core import idtoken
from condorfed.core.render import ClusterSettings, JoinOptions, render_join

from .conftest import K8S_VERSION

KEY = b"kat-signing-key-0123456789abcdef"


def _load(directory: Path) -> list[dict]:
    return [yaml.safe_load(p.read_text()) for p in sorted(directory.glob("*.yaml"))]


def test_render_join_writes_what_join_applies(tmp_path: Path) -> None:
    args = ["join", "cluster-a", "--collector", "cm.example.org:9618", "--cloud", "--provider", "aws"]
    args += ["--label", "region=us-east-1", "--node-selector", "pool=condor", "-o", str(tmp_path), "--json"]
    result = CliRunner().invoke(render, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert [r["name"] for r in summary["secret_references"]] == ["condorfed-startd-token"]
    on_disk = _load(tmp_path)
    same = render_join(
        JoinOptions(
            cluster="cluster-a",
            collector="cm.example.org:9618",
            settings=ClusterSettings(
                cloud=True, provider="aws", labels={"region": "us-east-1"}, node_selector={"pool": "condor"}
            ),
        )
    )
    assert on_disk == same  # the same code path as apply
    for obj in on_disk:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    assert not any(o["kind"] == "Secret" for o in on_disk)


def test_include_secrets_mints_a_verifiable_token(tmp_path: Path) -> None:
    key = tmp_path / "POOL"
    key.write_bytes(KEY)
    out = tmp_path / "out"
    args = ["join", "cluster-a", "--collector", "cm", "--trust-domain", "cm.example.org", "-o", str(out)]
    result = CliRunner().invoke(render, [*args, "--include-secrets", "--signing-key", str(key)])
    assert result.exit_code == 0, result.output
    (secret,) = [o for o in _load(out) if o["kind"] == "Secret"]
    token = base64.b64decode(secret["data"]["token"]).decode()
    claims = idtoken.verify(token, KEY)
    assert claims.subject == "cluster-a@cm.example.org"
    assert claims.authz == ("READ", "ADVERTISE_MASTER", "ADVERTISE_STARTD")
    assert token not in result.output
    secret_file = next(out.glob("*-secret-*.yaml"))
    assert secret_file.stat().st_mode & 0o077 == 0


def test_render_init_without_and_with_secrets(tmp_path: Path) -> None:
    plain, secret = tmp_path / "plain", tmp_path / "secret"
    r1 = CliRunner().invoke(render, ["init", "-o", str(plain), "--member", "cluster-a"])
    assert r1.exit_code == 0, r1.output
    assert "condorfed-pool-signing-key" in r1.output  # named as a reference
    assert not any(o["kind"] == "Secret" for o in _load(plain))
    cm = next(o for o in _load(plain) if o["metadata"]["name"] == "condorfed-cm-config")
    assert "cluster-a@condorfed.local" in cm["data"]["60-condorfed-members.conf"]
    r2 = CliRunner().invoke(render, ["init", "-o", str(secret), "--include-secrets"])
    assert r2.exit_code == 0, r2.output
    (key,) = [o for o in _load(secret) if o["kind"] == "Secret"]
    raw = base64.b64decode(key["data"]["POOL"])
    assert len(idtoken.key_from_file_bytes(raw)) == 64  # 32 random bytes as hex, no NUL truncation


def test_bad_cluster_name_is_a_config_error(tmp_path: Path) -> None:
    from condorfed.errors import ConfigError

    result = CliRunner().invoke(render, ["join", "Not_A_Label", "--collector", "cm", "-o", str(tmp_path)])
    assert isinstance(result.exception, ConfigError)
    assert "DNS-1123" in str(result.exception)
    assert not list(tmp_path.glob("*.yaml"))
