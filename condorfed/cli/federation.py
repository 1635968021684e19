"""`condorfed init | join | unjoin | status`: thin wrappers over :mod:`condorfed.workflows.federation`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from condorfed.cli.options import cluster_settings, host_options, member_options
from condorfed.cli.output import emit_json, emit_table


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object."),
        click.option("--namespace", default="condor", show_default=True, help="condorfed's namespace."),
        click.option("--kubeconfig", envvar="KUBECONFIG", help="Kubeconfig file (default: kubectl's)."),
        click.option("--timeout", default=10.0, show_default=True, help="Seconds per API request."),
    ]
    for option in options:
        func = option(func)
    return func


def _connector(kubeconfig: str | None, timeout: float) -> Any:
    from condorfed.workflows.federation import Connector

    return Connector(kubeconfig=kubeconfig, timeout=timeout, probe_timeout=min(timeout, 3.0))


def _changes(result: Any, as_json: bool, title: str) -> None:
    if as_json:
        emit_json(result.to_json())
    else:
        rows = [(c.context, c.object, c.action) for c in result.changes]
        emit_table(title, ["context", "object", "action"], rows)


_HOST = "Kube context of the host cluster (default: the current context)."


@click.command()
@click.option("--host-context", help=_HOST)
@host_options
@_common
def init(host_context, kubeconfig, timeout, as_json, **options) -> None:
    """Deploy the central manager, schedd, collector Service, pool signing key and registry."""
    from condorfed.core.render.options import InitOptions
    from condorfed.workflows import federation

    opts = InitOptions(**options)
    result = federation.init(opts, host_context=host_context, connector=_connector(kubeconfig, timeout))
    _changes(result, as_json, f"init: namespace {opts.namespace} in context {result.context}")


@click.command()
@click.argument("cluster")
@click.option("--cluster-context", required=True, help="Kube context of the member cluster.")
@click.option("--host-context", help=_HOST)
@member_options
@click.option("--member-namespace", help="Namespace for the startds in the member (default: --namespace).")
@click.option(
    "--rotate-token", is_flag=True, help="Replace the member's token (revokes the old; startds roll)."
)
@click.option("--wait", is_flag=True, help="Wait for the cluster's startds to reach the host collector.")
@click.option("--wait-timeout", type=float, default=300.0, show_default=True)
@_common
def join(kubeconfig, timeout, as_json, **options) -> None:
    """Join a member cluster: token, config, startd DaemonSet, registry entry and host authorization."""
    from condorfed.workflows import federation

    req = federation.JoinRequest(settings=cluster_settings(options), **options)
    result = federation.join(req, connector=_connector(kubeconfig, timeout))
    title = f"join {req.cluster} as {result.identity} (token {result.token}, startds {result.startds})"
    _changes(result, as_json, title)


@click.command()
@click.argument("cluster")
@click.option("--host-context", help=_HOST)
@click.option("--force", is_flag=True, help="Clean up the host side and revoke even if the member is down.")
@click.option("--drain-timeout", type=float, help="Seconds to wait for startd pods to drain.")
@_common
def unjoin(cluster, kubeconfig, timeout, as_json, **options) -> None:
    """Drain and remove a member cluster, and revoke its token."""
    from condorfed.workflows import federation

    result = federation.unjoin(cluster, connector=_connector(kubeconfig, timeout), **options)
    _changes(result, as_json, f"unjoin {cluster}: member cleanup {result.member_cleanup}")


def _counts(m: Any) -> str:
    return "-" if m.desired is None else f"{m.desired}/{m.ready}/{m.updated}"


@click.command()
@click.option("--host-context", help=_HOST)
@click.option("--collector", help="Collector to query, HOST[:PORT] (default: the address members use).")
@_common
def status(kubeconfig, timeout, as_json, **options) -> None:
    """Member clusters: reachability, DaemonSet counts, startds and cores; federation totals."""
    from condorfed.workflows import federation

    st = federation.status(connector=_connector(kubeconfig, timeout), **options)
    if as_json:
        return emit_json(st.to_json())
    t = st.totals
    rows = [
        (m.name, "yes" if m.reachable else f"no: {m.error}", _counts(m), m.startds,
         f"{m.cores_total}/{m.cores_claimed}/{m.cores_unclaimed}", m.cloud, m.weight)
        for m in st.members
    ]  # fmt: skip
    cores = f"{t['cores_total']}/{t['cores_claimed']}/{t['cores_unclaimed']}"
    rows.append(("TOTAL", f"{t['reachable']}/{t['members']} reachable", "", t["startds"], cores, "", ""))
    cols = ["cluster", "reachable", "DaemonSet desired/ready/updated", "startds", "cores total/claimed/free"]
    title = f"federation in {st.namespace} ({st.collector_error or st.collector})"
    emit_table(title, [*cols, "cloud", "weight"], rows)
