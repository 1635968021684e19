"""`condorfed token create | verify` through the real entry point (exit codes, one-line errors)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from condorfed.core import idtoken

KEY = b"kat-signing-key-0123456789abcdef"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from condorfed.cli.main import main; main()", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "POOL"
    path.write_bytes(KEY)
    return path


def test_create_prints_a_token_htcondor_would_accept(key_file: Path) -> None:
    out = run(
        "token",
        "create",
        "--signing-key",
        str(key_file),
        "--identity",
        "cluster-a",
        "--trust-domain",
        "cm.example.org",
        "--authz",
        "READ",
        "--authz",
        "ADVERTISE_STARTD",
        "--lifetime",
        "3600",
    )
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    claims = idtoken.verify(token, KEY)
    assert claims.subject == "cluster-a@cm.example.org" and claims.issuer == "cm.example.org"
    assert claims.authz == ("READ", "ADVERTISE_STARTD")
    assert claims.expires_at - claims.issued_at == 3600
    header, payload = idtoken.decode_unverified(token)
    assert header == {"alg": "HS256", "kid": "POOL"}
    assert list(payload) == ["exp", "iat", "iss", "jti", "scope", "sub"]


def test_verify_prints_claims_never_the_token(key_file: Path, tmp_path: Path) -> None:
    token = run(
        "token",
        "create",
        "--signing-key",
        str(key_file),
        "--identity",
        "x",
        "--trust-domain",
        "td",
        "--authz",
        "READ",
    ).stdout.strip()
    out = run("token", "verify", "--signing-key", str(key_file), "--json", stdin=token + "\n")
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout)
    assert row["subject"] == "x@td" and row["valid"] is True
    assert token not in out.stdout and token.split(".")[2] not in out.stdout


def test_verify_with_wrong_key_is_one_line_exit_2(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.write_bytes(b"another-key")
    token = idtoken.mint(
        idtoken.make_claims(identity="a", trust_domain="t", authz=["READ"], issued_at=1, token_id="a" * 32),
        KEY,
    )
    out = run("token", "verify", "--signing-key", str(other), stdin=token)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "signature" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        pytest.param(["--authz", "ROOT"], "ROOT", id="unknown-authz"),
        pytest.param(["--authz", "READ", "--lifetime", "-5"], "--lifetime", id="negative-lifetime"),
    ],
)
def test_create_bad_input(key_file: Path, args: list[str], needle: str) -> None:
    base = ["token", "create", "--signing-key", str(key_file), "--identity", "a", "--trust-domain", "t"]
    out = run(*base, *args)
    assert out.returncode == 2 and needle in out.stderr and "Traceback" not in out.stderr


def test_missing_key_file(tmp_path: Path) -> None:
    out = run(
        "token",
        "create",
        "--signing-key",
        str(tmp_path / "nope"),
        "--identity",
        "a",
        "--trust-domain",
        "t",
        "--authz",
        "READ",
    )
    assert out.returncode == 2 and "--signing-key" in out.stderr
