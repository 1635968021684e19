"""``condorfed simulate``: replay a load spike through the federation and report waits, placement and cost."""

from __future__ import annotations

import time

import click

from condorfed.cli.output import emit_json, emit_table


class _ProgressBar:
    """A rich progress bar on stderr, shown only once a run has taken more than two seconds."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.t0 = time.monotonic()
        self.bar = None
        self.tasks: dict[str, int] = {}

    def __call__(self, controller: str, now: float, fraction: float) -> None:
        if not self.enabled or (self.bar is None and time.monotonic() - self.t0 < 2.0):
            return
        if self.bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TextColumn("sim {task.fields[day]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.bar.start()
        if controller not in self.tasks:
            self.tasks[controller] = self.bar.add_task(f"simulating ({controller})", total=1.0, day="")
        self.bar.update(self.tasks[controller], completed=fraction, day=f"day {now / 86400:.1f}")

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@click.command("simulate")
@click.option(
    "--scenario", metavar="NAME", help="Built-in scenario (default: conference-spike; see --list-scenarios)."
)
@click.option("--federation", type=click.Path(), help="federation.yaml to simulate (with --trace).")
@click.option("--trace", type=click.Path(), help="Job trace, JSONL (with --federation).")
@click.option("--campaign", type=click.Path(), help="campaign.yaml for the burst controller.")
@click.option(
    "--controller",
    metavar="NAME",
    default="condorfed",
    show_default=True,
    help="condorfed | onprem-only | static | glideinwms | cobald",
)
@click.option("--compare", is_flag=True, help="Run every controller on the same scenario and compare.")
@click.option(
    "--static-nodes", metavar="N", help="Cloud nodes for the static controller (default: per scenario)."
)
@click.option(
    "--start",
    metavar="ISO",
    help="Wall-clock time of t=0, ISO 8601 (default: campaign start or 2026-01-01T00:00:00Z).",
)
@click.option(
    "--horizon", metavar="SECONDS", help="Seconds to simulate (default: until every job completed, capped)."
)
@click.option(
    "--seed",
    metavar="N",
    default="1",
    show_default=True,
    help="Random seed (trace generation, spot preemption).",
)
@click.option(
    "--out",
    metavar="DIR",
    default="condorfed-report",
    show_default=True,
    help="Directory for report.html, plots, metrics.json.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--list-scenarios", is_flag=True, help="List the built-in scenarios and exit.")
@click.option(
    "--write-scenario",
    type=click.Path(),
    help="Write the scenario's federation.yaml and trace here and exit.",
)
def simulate(as_json, list_scenarios, write_scenario, **opts):
    """Simulate the federation under a load spike: waits, placement, fair share and cloud cost."""
    from condorfed.workflows import simulate as wf

    if list_scenarios:
        rows = wf.list_scenarios()
        return (
            emit_json({"scenarios": dict(rows)})
            if as_json
            else emit_table("Scenarios", ["name", "what"], rows)
        )
    if write_scenario:
        files = wf.write_scenario(
            opts["scenario"] or wf.DEFAULT_SCENARIO,
            write_scenario,
            wf.parse_int(opts["seed"], "--seed"),
            opts["start"],
        )
        return (
            emit_json({"files": [str(f) for f in files]})
            if as_json
            else click.echo("\n".join(map(str, files)))
        )
    bar = _ProgressBar(enabled=True)
    try:
        result = wf.run_simulate(wf.options_from_cli(opts, progress=bar))
    finally:
        bar.stop()
    if as_json:
        return emit_json(result.to_json())
    for title, columns, rows in wf.summary_tables(result):
        emit_table(title, columns, rows)
    if result.out_dir is not None:
        click.echo(f"Report: {result.out_dir / 'report.html'}")
