"""``condorfed policy``: check, render, explain and apply a federation's placement policy."""

from __future__ import annotations

import click

from condorfed.cli.output import emit_json, emit_table


@click.group("policy")
def policy() -> None:
    """The federation policy (federation.yaml) as HTCondor configuration."""


@policy.command("check")
@click.argument("file", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def check(file: str, as_json: bool) -> None:
    """Validate FILE: schema, ClassAd syntax, rule conflicts, quotas. Exit 2 on the first problem."""
    from condorfed.workflows.policy import check_file

    result = check_file(file)
    if as_json:
        return emit_json(result.to_json())
    click.echo(
        f"{file}: ok (federation {result.federation}: {len(result.clusters)} clusters, "
        f"{len(result.rules)} rules, {len(result.groups)} accounting groups)"
    )


@policy.command("render")
@click.argument("file", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print {config, params} as one JSON object.")
def render(file: str, as_json: bool) -> None:
    """Print the HTCondor configuration compiled from FILE (for the central manager's config.d)."""
    from condorfed.workflows.policy import render_file

    compiled = render_file(file)
    if as_json:
        return emit_json({"config": compiled.config_text, "params": compiled.params})
    click.echo(compiled.config_text, nl=False)


@policy.command("explain")
@click.argument("file", type=click.Path())
@click.option(
    "--jobs", "jobs", multiple=True, required=True, type=click.Path(), help="Job ads or submit files."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def explain(file: str, jobs: tuple[str, ...], as_json: bool) -> None:
    """For each autocluster of the jobs: where it would go and why (rule, rank order)."""
    from condorfed.workflows.policy import explain_files

    rows = explain_files(file, jobs)
    if as_json:
        return emit_json({"autoclusters": [r.to_json() for r in rows]})
    from rich.markup import escape  # rule text has [brackets] that rich would take for markup

    columns = ["autocluster", "jobs", "example", "request", "rule", "rank order", "goes to"]
    emit_table(
        f"Placement under {file}",
        columns,
        [
            (r.autocluster, r.jobs, r.example, r.request, escape(r.rule or "(none: all tied)"), r.rank_text,
             r.target or "nowhere: no allowed cluster's workers match")
            for r in rows
        ],
    )  # fmt: skip


@policy.command("apply")
@click.argument("file", type=click.Path())
@click.option("--host-context", required=True, help="kube context of the host cluster (central manager).")
@click.option("--namespace", default="condor", show_default=True, help="Namespace of condorfed init.")
@click.option("--kubeconfig", type=click.Path(), help="kubeconfig file (default: $KUBECONFIG rules).")
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def apply(file: str, host_context: str, namespace: str, kubeconfig: str | None, dry_run: bool, as_json: bool):
    """Write the compiled policy to the central manager and roll it to reload. Idempotent."""
    from condorfed.workflows.policy import apply_policy_file

    result = apply_policy_file(
        file, host_context=host_context, namespace=namespace, kubeconfig=kubeconfig, dry_run=dry_run
    )
    if as_json:
        return emit_json(result.to_json())
    verb = "would change" if dry_run else "changed"
    if result.changed:
        click.echo(f"{verb}: {', '.join(result.changed)}")
    else:
        click.echo("unchanged: the policy is already applied")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
