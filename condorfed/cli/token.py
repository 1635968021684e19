"""`condorfed token create | verify`: HTCondor IDTOKENs from a signing key file (no daemon needed)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from condorfed.cli.output import emit_json, emit_table
from condorfed.errors import TokenError


def _key_bytes(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise TokenError(f"--signing-key {path}: {exc.strerror or exc}") from exc


@click.group()
def token() -> None:
    """Mint and check HTCondor IDTOKENs (the format condor_token_create writes)."""


@token.command("create")
@click.option("--signing-key", required=True, type=click.Path(dir_okay=False), help="passwords.d key file.")
@click.option("--identity", required=True, help="Token subject; '@<trust domain>' is added if missing.")
@click.option("--trust-domain", required=True, help="Issuer: the collector's TRUST_DOMAIN.")
@click.option("--key-id", default="POOL", show_default=True, help="Signing key name (kid).")
@click.option("--authz", multiple=True, required=True, help="Authorization level (repeatable).")
@click.option("--lifetime", type=int, help="Seconds until the token expires (default: never).")
def create(signing_key, identity, trust_domain, key_id, authz, lifetime) -> None:
    """Print a new IDTOKEN on stdout (the only place condorfed ever prints one)."""
    from condorfed.core import idtoken

    claims = idtoken.make_claims(
        identity=identity,
        trust_domain=trust_domain,
        authz=authz,
        issued_at=int(time.time()),
        token_id=idtoken.new_token_id(os.urandom(16)),
        lifetime=lifetime,
        key_id=key_id,
    )
    click.echo(idtoken.mint(claims, _key_bytes(signing_key)))


@token.command("verify")
@click.option("--signing-key", required=True, type=click.Path(dir_okay=False), help="passwords.d key file.")
@click.option("--token-file", type=click.Path(dir_okay=False), help="Read the token here (default: stdin).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def verify(signing_key, token_file, as_json) -> None:
    """Check a token's signature and expiry against a key file; print its claims, never the token."""
    from condorfed.core import idtoken

    text = Path(token_file).read_text() if token_file else sys.stdin.read()
    claims = idtoken.verify(text.strip(), _key_bytes(signing_key), now=int(time.time()))
    row = {
        "valid": True,
        "key_id": claims.key_id,
        "issuer": claims.issuer,
        "subject": claims.subject,
        "authz": list(claims.authz),
        "issued_at": claims.issued_at,
        "expires_at": claims.expires_at,
        "token_id": claims.token_id,
    }
    if as_json:
        emit_json(row)
    else:
        emit_table("IDTOKEN: signature valid", ["claim", "value"], [(k, v) for k, v in row.items()])
