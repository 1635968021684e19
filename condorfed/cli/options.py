"""Options and option parsing shared by commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from condorfed.errors import ConfigError

if TYPE_CHECKING:
    from condorfed.core.render.options import ClusterSettings

F = TypeVar("F", bound=Callable)


def key_value_pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    """``("a=1", "b=2")`` from a repeatable ``--label K=V`` style option, as a dict."""
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{option}: {item!r} is not KEY=VALUE")
        out[key] = value
    return out


def _stack(*options: Callable[[F], F]) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


_SERVICE_TYPES = click.Choice(["LoadBalancer", "NodePort", "ClusterIP"])

# The host options `init` applies and `render init` prints: one list, so the two cannot drift apart.
host_options = _stack(
    click.option("--trust-domain", default="condorfed.local", show_default=True),
    click.option("--collector-service-type", type=_SERVICE_TYPES, default="LoadBalancer", show_default=True),
    click.option("--collector-address", help="HOST[:PORT] member clusters use to reach the collector."),
    click.option(
        "--schedd-service-type",
        type=_SERVICE_TYPES,
        default="ClusterIP",
        show_default=True,
        help="Expose the schedd to member clusters (CCB reverse connections).",
    ),
    click.option("--schedd-address", help="External HOST the schedd advertises (TCP_FORWARDING_HOST)."),
    click.option(
        "--spool-size", "schedd_spool_size", default="10Gi", show_default=True, help="Schedd spool PVC size."
    ),
    click.option("--storage-class", help="StorageClass of the spool PVC (default: the cluster's)."),
)

# The member-cluster options `join` applies and `render join` prints: the fields of ClusterSettings.
member_options = _stack(
    click.option("--cloud", is_flag=True, help="The cluster is a cloud cluster (burst target)."),
    click.option("--provider", default="onprem", show_default=True),
    click.option("--label", "labels", multiple=True, metavar="K=V", help="Cluster label (repeatable)."),
    click.option("--weight", type=float, default=1.0, show_default=True),
    click.option("--min-cores", type=int, default=0, show_default=True),
    click.option("--max-cores", type=int),
    click.option("--cost-per-core-hour", type=float, default=0.0, show_default=True),
    click.option("--node-selector", multiple=True, metavar="K=V", help="Run startds only on these nodes."),
    click.option(
        "--token-lifetime", type=int, help="Seconds the member IDTOKEN is valid (default: never expires)."
    ),
    click.option(
        "--max-job-retirement-time",
        type=int,
        default=3600,
        show_default=True,
        help="Seconds a running job may finish after a drain or rollout starts (MAXJOBRETIREMENTTIME).",
    ),
)


def cluster_settings(options: dict[str, Any]) -> ClusterSettings:
    """Take the :data:`member_options` values out of a command's ``options`` as one ClusterSettings."""
    from condorfed.core.render.options import ClusterSettings

    values = {name: options.pop(name) for name in ClusterSettings.field_names() if name in options}
    values["labels"] = key_value_pairs(values.get("labels", ()), "--label")
    values["node_selector"] = key_value_pairs(values.get("node_selector", ()), "--node-selector")
    return ClusterSettings(**values)
