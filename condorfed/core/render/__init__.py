"""Render the Kubernetes objects condorfed applies: pure functions of typed options.

``render_init(opts, secrets)`` -> host-cluster objects; ``render_join(opts, secrets)`` -> member-cluster
objects. With ``secrets=None`` Secrets are left out and only referred to by name (see ``secret_refs``).
"""

from condorfed.core.render.options import (
    ClusterSettings,
    Images,
    InitOptions,
    JoinOptions,
    RenderedSecrets,
    SecretRef,
    member_identity,
    parse_host_port,
    validate_dns1123_label,
)
from condorfed.core.render.render import init_secret_refs, join_secret_refs, render_init, render_join

__all__ = [
    "ClusterSettings",
    "Images",
    "InitOptions",
    "JoinOptions",
    "RenderedSecrets",
    "SecretRef",
    "init_secret_refs",
    "join_secret_refs",
    "member_identity",
    "parse_host_port",
    "render_init",
    "render_join",
    "validate_dns1123_label",
]
