"""`condorfed render init | join CLUSTER -o DIR`: the objects `init`/`join` would apply, as YAML files.

Same renderer as apply (condorfed.core.render). Secrets are left out, and only named, unless
``--include-secrets`` is given; then the pool key (init) or the member IDTOKEN (join) is written too.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import click

from condorfed.cli.options import cluster_settings, host_options, member_options
from condorfed.cli.output import emit_json, emit_table
from condorfed.errors import ConfigError, TokenError


def _read_key(path: str | None) -> bytes | None:
    if path is None:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise TokenError(f"--signing-key {path}: {exc.strerror or exc}") from exc


def _write(out_dir: str, objects: list[dict], refs: list[Any], as_json: bool) -> None:
    """One YAML file per object, numbered in apply order; then a summary (never secret values)."""
    import yaml

    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, obj in enumerate(objects, 1):
        path = directory / f"{i:02d}-{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"
        path.write_text(yaml.safe_dump(obj, sort_keys=False))
        if obj["kind"] == "Secret":
            path.chmod(0o600)
        rows.append((path.name, obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]))
    missing = [r for r in refs if not any(row[1] == "Secret" and row[3] == r.name for row in rows)]
    if as_json:
        emit_json(
            {
                "directory": str(directory),
                "files": [dict(zip(("file", "kind", "namespace", "name"), r, strict=True)) for r in rows],
                "secret_references": [
                    {"namespace": r.namespace, "name": r.name, "keys": list(r.keys), "purpose": r.purpose}
                    for r in missing
                ],
            }
        )
        return
    emit_table(f"rendered into {directory}", ["file", "kind", "namespace", "name"], rows)
    for ref in missing:
        keys = ", ".join(ref.keys)
        click.echo(f"Secret {ref.namespace}/{ref.name} (keys: {keys}) must exist: {ref.purpose}")


@click.group()
def render() -> None:
    """Write the Kubernetes objects as YAML without touching any cluster (for GitOps)."""


@render.command("init")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option("--namespace", default="condor", show_default=True)
@host_options
@click.option("--member", "members", multiple=True, help="Joined member cluster name (repeatable).")
@click.option("--include-secrets", is_flag=True, help="Write the pool signing key Secret too.")
@click.option("--signing-key", type=click.Path(dir_okay=False), help="Existing POOL key (else a new one).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def render_init_cmd(out_dir, members, include_secrets, signing_key, as_json, **options) -> None:
    """Host-cluster objects: central manager, schedd, collector Service, config, RBAC."""
    from condorfed.core import idtoken
    from condorfed.core.render import InitOptions, RenderedSecrets, init_secret_refs, render_init

    opts = InitOptions(joined_members=members, **options)
    secrets = None
    if include_secrets:
        key = _read_key(signing_key) or idtoken.pool_key_file_bytes(os.urandom(32))
        secrets = RenderedSecrets(pool_signing_key=key)
    _write(out_dir, render_init(opts, secrets), init_secret_refs(opts), as_json)


@render.command("join")
@click.argument("cluster")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option("--collector", required=True, help="Host collector as members reach it: HOST[:PORT].")
@click.option("--trust-domain", default="condorfed.local", show_default=True)
@click.option("--namespace", default="condor", show_default=True)
@member_options
@click.option("--include-secrets", is_flag=True, help="Mint the member IDTOKEN and write its Secret.")
@click.option("--signing-key", type=click.Path(dir_okay=False), help="POOL key (--include-secrets).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def render_join_cmd(cluster, out_dir, include_secrets, signing_key, as_json, **options) -> None:
    """Member-cluster objects: namespace, RBAC, token Secret, startd config and DaemonSet."""
    from condorfed.core import idtoken
    from condorfed.core.render import JoinOptions, RenderedSecrets, join_secret_refs, render_join

    opts = JoinOptions(cluster=cluster, settings=cluster_settings(options), **options)
    secrets = None
    if include_secrets:
        key = _read_key(signing_key)
        if key is None:
            raise ConfigError("--include-secrets: join needs --signing-key FILE to mint the member token")
        claims = idtoken.make_claims(
            identity=opts.identity,
            trust_domain=opts.trust_domain,
            authz=("READ", "ADVERTISE_MASTER", "ADVERTISE_STARTD"),
            issued_at=int(time.time()),
            token_id=idtoken.new_token_id(os.urandom(16)),
            lifetime=opts.settings.token_lifetime,
        )
        secrets = RenderedSecrets(member_token=idtoken.mint(claims, key))
    _write(out_dir, render_join(opts, secrets), join_secret_refs(opts), as_json)
