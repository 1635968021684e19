"""``condorfed negotiate`` (one negotiation cycle on ad files) and ``condorfed analyze``."""

from __future__ import annotations

from collections import Counter

import click

from condorfed.cli.output import emit_json, emit_table


def _summary_rows(run) -> tuple[list, list, list, list]:
    r = run.result
    preempting = any(m.preempting for m in r.matches)
    matches = [
        (m.job, m.slot, m.submitter, m.group or "", *([m.preempting or ""] if preempting else []))
        for m in r.matches
    ]
    subs = [
        (n, f"{s.eup:.1f}", f"{s.limit:.1f}", s.matched, f"{s.usage:g}")
        for n, s in sorted(r.submitters.items())
    ]
    groups = [
        (n, f"{g.quota:.2f}", f"{g.allocated:.2f}", f"{g.usage:g}") for n, g in sorted(r.groups.items())
    ]
    reasons = Counter((u.reason, u.submitter) for u in r.unmatched)
    unmatched = [
        (sub, reason, n)
        for (reason, sub), n in sorted(reasons.items(), key=lambda x: (x[0][1] or "", x[0][0]))
    ]
    columns = ["job", "slot", "submitter", "group"] + (["preempting"] if preempting else [])
    title = f"Matches ({len(matches)} of {len(matches) + len(r.unmatched)} idle jobs, {run.slots} slot ads)"
    return (title, columns, matches), subs, groups, unmatched


@click.command("negotiate")
@click.option("--jobs", "jobs", multiple=True, type=click.Path(), help="Job ads (long/JSON) or submit files.")
@click.option("--machines", multiple=True, type=click.Path(), help="Machine (slot) ads, long format or JSON.")
@click.option("--config", type=click.Path(), help="HTCondor configuration file (read by HTCondor's parser).")
@click.option("--usage", type=click.Path(), help="Accountant state JSON before the cycle.")
@click.option("--write-usage", type=click.Path(), help="Write the accountant state after the cycle here.")
@click.option("--now", type=float, help="Cycle time (epoch seconds); default: now.")
@click.option("--federation", type=click.Path(), help="federation.yaml: its policy is added to --config.")
@click.option("--owner", help="Owner for submit files that don't set one.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def negotiate(jobs, machines, config, usage, write_usage, now, federation, owner, as_json):
    """Predict one negotiation cycle: which idle job goes to which slot, and why others wait."""
    from condorfed.workflows.negotiate import run_negotiation

    run = run_negotiation(jobs, machines, config=config, usage=usage, write_usage_to=write_usage, now=now,
                          federation=federation, owner=owner)  # fmt: skip
    if as_json:
        return emit_json(run.result.to_json())
    matches, subs, groups, unmatched = _summary_rows(run)
    emit_table(*matches)
    emit_table("Submitters", ["submitter", "EUP", "limit", "matched", "in use"], subs)
    if groups:
        emit_table("Accounting groups", ["group", "quota", "allocated", "in use"], groups)
    if unmatched:
        emit_table("Idle after this cycle", ["submitter", "reason", "jobs"], unmatched)


@click.command("analyze")
@click.argument("jobfile", type=click.Path())
@click.option("--machines", multiple=True, required=True, type=click.Path(), help="Machine (slot) ads.")
@click.option("--config", type=click.Path(), help="HTCondor configuration file.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def analyze(jobfile, machines, config, as_json):
    """Explain why a job (the first in JOBFILE) does or doesn't match, clause by clause."""
    from condorfed.workflows.negotiate import run_analysis

    a = run_analysis(jobfile, tuple(machines), config=config)
    if as_json:
        return emit_json(a.to_json())
    rows = [(c.clause, f"{c.matching_slots} of {a.slots}") for c in a.clauses]
    emit_table(f"Job {a.job}: Requirements, clause by clause", ["clause", "slots satisfying it"], rows)
    emit_table(
        "Summary",
        ["check", "slots"],
        [
            ("satisfy the job's Requirements", a.satisfy_job),
            ("reject the job through their START/Requirements", ", ".join(a.rejected_by_slot) or "none"),
            ("partitionable slots without enough resources left", ", ".join(a.too_small) or "none"),
            ("match both ways (not claimed now)", f"{len(a.matching)} ({len(a.available)})"),
        ],
    )
