"""Entry points: options in, list of Kubernetes object dicts out (no I/O, no clock)."""

from __future__ import annotations

from condorfed.core.render.options import (
    CM_TOKEN_SECRET,
    POOL_KEY_ID,
    POOL_KEY_SECRET,
    STARTD_TOKEN_KEY,
    STARTD_TOKEN_SECRET,
    InitOptions,
    JoinOptions,
    RenderedSecrets,
    SecretRef,
)


def init_secret_refs(opts: InitOptions) -> list[SecretRef]:
    """Secrets the host objects mount; rendered only when material is passed in."""
    return [
        SecretRef(opts.namespace, POOL_KEY_SECRET, (POOL_KEY_ID,), "pool signing key, passwords.d/POOL"),
        SecretRef(opts.namespace, CM_TOKEN_SECRET, ("condor@" + opts.trust_domain,), "daemon IDTOKEN"),
    ]


def join_secret_refs(opts: JoinOptions) -> list[SecretRef]:
    purpose = f"IDTOKEN of {opts.identity}"
    return [SecretRef(opts.namespace, STARTD_TOKEN_SECRET, (STARTD_TOKEN_KEY,), purpose)]


def render_init(opts: InitOptions, secrets: RenderedSecrets | None = None) -> list[dict]:
    """Host-cluster objects for `condorfed init` (stub: filled in by the next commit)."""
    return []


def render_join(opts: JoinOptions, secrets: RenderedSecrets | None = None) -> list[dict]:
    """Member-cluster objects for `condorfed join` (stub: filled in by the next commit)."""
    return []
