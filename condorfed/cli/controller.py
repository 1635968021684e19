"""`condorfed controller run | manifests`: the leader-elected burst controller and its Deployment."""

from __future__ import annotations

import os
import socket
from typing import Any

import click

from condorfed.cli.output import emit_json
from condorfed.core.burst.observe import NODE_ATTR


@click.group()
def controller() -> None:
    """The in-cluster burst controller (leader election, Prometheus metrics)."""


@controller.command()
@click.option("--federation", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--campaign", type=click.Path(exists=True, dir_okay=False), help="Campaign file.")
@click.option("--pool", help="Collector HOST[:PORT] (default: the configured one).")
@click.option("--kubeconfig", type=click.Path(dir_okay=False))
@click.option("--host-context", help="Kube context of the host cluster (state and Lease).")
@click.option("--namespace", default="condor", show_default=True)
@click.option("--identity", default=lambda: os.environ.get("POD_NAME") or socket.gethostname())
@click.option("--lease-name", default="condorfed-controller", show_default=True)
@click.option("--lease-seconds", default=15, show_default=True, type=click.IntRange(min=5))
@click.option("--metrics-address", default="127.0.0.1", show_default=True)
@click.option("--metrics-port", default=9090, show_default=True, type=click.IntRange(0, 65535))
@click.option("--interval", type=float, help="Seconds between ticks (default: controllerInterval).")
@click.option("--ticks", type=click.IntRange(min=1), help="Stop after N ticks.")
@click.option("--node-attr", default=NODE_ATTR, show_default=True, help="Slot attribute naming a worker.")
@click.option("--dry-run", is_flag=True, help="Decide and report; apply nothing, store nothing.")
def run(**kw: Any) -> None:
    """Tick the burst controller while holding the Lease; serve /metrics."""
    from condorfed.workflows.campaign import Wiring
    from condorfed.workflows.controller import ControllerSettings, run_controller

    settings = ControllerSettings(**{f: kw.pop(f) for f in ControllerSettings.__dataclass_fields__})
    run_controller(Wiring(**kw), settings)


@controller.command()
@click.option("--namespace", default="condor", show_default=True)
@click.option("--image", default="ghcr.io/condorfed/condorfed:0.1.0", show_default=True)
@click.option("--replicas", default=2, show_default=True, type=int)
@click.option("--campaign-configmap", help="ConfigMap holding campaign.yaml (default: no campaign).")
@click.option("--pool", help="Collector HOST[:PORT] the controller queries.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object {objects: [...]} instead of YAML.")
def manifests(as_json: bool, **kw: Any) -> None:
    """Print the controller's Deployment, RBAC and Service for the host cluster."""
    import yaml

    from condorfed.core.render.controller import ControllerOptions, render_controller

    objects = render_controller(ControllerOptions(**kw))
    if as_json:
        return emit_json({"objects": objects})
    click.echo(yaml.safe_dump_all(objects, sort_keys=False), nl=False)
