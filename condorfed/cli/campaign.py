"""`condorfed campaign run | status | stop`: a scripted burst to cloud clusters.

``run`` ticks the burst controller until the campaign has wound down, showing a live table;
``--dry-run`` prints the decisions of one tick (or ``--ticks N``) and acts on nothing.
"""

from __future__ import annotations

from typing import Any

import click

from condorfed.cli.output import emit_json, emit_table
from condorfed.core.burst.observe import NODE_ATTR

_TABLE = ("cluster", "unmet cores", "nodes", "cores", "provisioning", "backoff", "capped by")


def _wiring_options(f):
    for opt in reversed(
        [
            click.option("--pool", help="Collector HOST[:PORT] of the pool (default: the configured one)."),
            click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file."),
            click.option("--host-context", help="Kube context of the host cluster (state ConfigMap)."),
            click.option("--namespace", default="condor", show_default=True, help="Namespace of the state."),
            click.option("--state-file", type=click.Path(dir_okay=False), help="Keep state in a local file."),
            click.option("--node-attr", default=NODE_ATTR, show_default=True, help="Attr naming a worker."),
        ]
    ):
        f = opt(f)
    return f


def _wiring(federation: str | None, campaign: str | None, **kw: Any):
    from condorfed.workflows.campaign import Wiring

    return Wiring(federation=federation or "", campaign=campaign, **kw)


def _view(controller: Any, decision: Any) -> Any:
    """A rich renderable: totals, per-cluster table, last decisions."""
    from rich.console import Group
    from rich.table import Table

    from condorfed.workflows.campaign import live_title, summary_rows

    table = Table(title=live_title(controller, decision))
    for col in _TABLE:
        table.add_column(col)
    for row in summary_rows(decision, decision.memory, controller.campaign, controller.policy):
        table.add_row(*(str(v) for v in row))
    recent = Table(title="last decisions", show_header=False)
    recent.add_column("decision", overflow="fold")
    for item in list(controller.recent)[-8:]:
        recent.add_row(item["text"])
    return Group(table, recent)


@click.group()
def campaign() -> None:
    """Scripted bursts to cloud clusters: run, status, stop."""


@campaign.command()
@click.argument("campaign_file", metavar="CAMPAIGN.yaml", type=click.Path(exists=True, dir_okay=False))
@click.option("--federation", "federation", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Print the decisions; apply nothing, store nothing.")
@click.option("--jobs", "jobs_files", multiple=True, type=click.Path(exists=True), help="Job ads (offline).")
@click.option("--machines", "machines_files", multiple=True, type=click.Path(exists=True), help="Slot ads.")
@click.option("--ticks", type=click.IntRange(min=1), help="Stop after N ticks (dry run: 1).")
@click.option("--interval", type=float, help="Seconds between ticks (default: controllerInterval).")
@click.option("--now", type=float, help="What-if: tick on a virtual clock from EPOCH (with --dry-run).")
@click.option("--json", "as_json", is_flag=True, help="Print the last decision as one JSON object.")
@_wiring_options
def run(campaign_file: str, federation: str, dry_run: bool, ticks: int | None, interval: float | None,
        now: float | None, as_json: bool, **kw: Any) -> None:  # fmt: skip
    """Run CAMPAIGN.yaml against the federation until it has wound down."""
    from rich.live import Live

    from condorfed.workflows.campaign import build_controller, controller_interval, run_campaign

    if now is not None and not dry_run:
        raise click.UsageError("--now runs on a virtual clock: use it with --dry-run")
    ctl = build_controller(_wiring(federation, campaign_file, dry_run=dry_run, **kw))
    ticks = ticks or (1 if dry_run else None)
    every = interval if interval is not None else controller_interval(federation)
    if as_json:
        last = run_campaign(ctl, interval=every, ticks=ticks, start_time=now)
        return emit_json(last.to_json() if last else {})
    with Live(auto_refresh=False) as live:
        show = lambda d: live.update(_view(ctl, d), refresh=True)  # noqa: E731
        run_campaign(ctl, interval=every, ticks=ticks, on_tick=show, start_time=now)


@campaign.command()
@click.argument("campaign_file", metavar="CAMPAIGN.yaml", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@_wiring_options
def status(campaign_file: str, as_json: bool, **kw: Any) -> None:
    """Spend, nodes per cluster, back-off and the last decisions of a campaign."""
    from condorfed.workflows.campaign import campaign_name_of, campaign_status, status_store, status_tables

    doc = campaign_status(status_store(_wiring(None, campaign_file, **kw), campaign_name_of(campaign_file)))
    if as_json:
        return emit_json(doc)
    title, rows, recent = status_tables(doc)
    emit_table(title, ("cluster", "nodes", "provisioning", "failures"), rows)
    emit_table("last decisions", ("decision",), recent)


@campaign.command()
@click.argument("campaign_file", metavar="CAMPAIGN.yaml", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@_wiring_options
def stop(campaign_file: str, as_json: bool, **kw: Any) -> None:
    """Stop a campaign: its controller drains and scales to zero on the next tick."""
    from condorfed.workflows.campaign import campaign_name_of, status_store, stop_campaign

    doc = stop_campaign(status_store(_wiring(None, campaign_file, **kw), campaign_name_of(campaign_file)))
    if as_json:
        return emit_json({"campaign": doc.get("campaign"), "stopped": True})
    click.echo(f"campaign {doc.get('campaign')}: stopped; the controller drains and scales to zero")
