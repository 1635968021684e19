"""Plots (PNG bytes, matplotlib) and the self-contained HTML report of a simulation.

Nothing here writes files: :mod:`condorfed.workflows.simulate` decides where they go. (It lives
in the workflow layer because the simulator itself may not import matplotlib.)
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

_COLORS = ["#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any, dpi: int = 90) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    _pyplot().close(fig)
    return buf.getvalue()


def _hours(series: Mapping[str, Any]) -> np.ndarray:
    return np.asarray(series["t"], dtype=np.float64) / 3600.0


def _draw_jobs(ax: Any, series: Mapping[str, Any], title: str = "") -> None:
    h = _hours(series)
    ax.plot(h, series["idle"], label="idle", color=_COLORS[2], lw=1.2)
    ax.plot(h, series["running"], label="running", color=_COLORS[0], lw=1.2)
    ax.set_xlabel("hours from start")
    ax.set_ylabel("jobs")
    ax.set_title(title or "Idle and running jobs")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)


def plot_jobs(series: Mapping[str, Any], title: str = "") -> bytes:
    fig, ax = _pyplot().subplots(figsize=(8, 3.2))
    _draw_jobs(ax, series, title)
    return _png(fig)


def _draw_cores(ax: Any, series: Mapping[str, Any], title: str = "") -> None:
    h = _hours(series)
    prov = np.asarray(series["provisionedCores"], dtype=np.float64)
    if prov.size:
        labels = [
            f"{n} ({'cloud' if c else 'on-prem'})"
            for n, c in zip(series["clusters"], series["cloud"], strict=True)
        ]
        ax.stackplot(h, prov, labels=labels, colors=_COLORS[: len(prov)], alpha=0.85, step="post")
        busy = np.asarray(series["busyCores"], dtype=np.float64).sum(axis=0)
        ax.plot(h, busy, color="black", lw=0.8, label="busy cores")
    ax.set_xlabel("hours from start")
    ax.set_ylabel("cores")
    ax.set_title(title or "Provisioned cores per cluster (stacked)")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)


def plot_cores(series: Mapping[str, Any], title: str = "") -> bytes:
    fig, ax = _pyplot().subplots(figsize=(8, 3.2))
    _draw_cores(ax, series, title)
    return _png(fig)


def _draw_cloud_spend(ax: Any, series: Mapping[str, Any], title: str = "") -> None:
    h = _hours(series)
    prov = np.asarray(series["provisionedCores"], dtype=np.float64)
    cloud = np.asarray(series["cloud"], dtype=bool)
    cloud_cores = prov[cloud].sum(axis=0) if prov.size and cloud.any() else np.zeros(len(h))
    ax.fill_between(h, cloud_cores, step="post", color=_COLORS[0], alpha=0.4, label="cloud cores")
    ax.set_xlabel("hours from start")
    ax.set_ylabel("cloud cores")
    ax2 = ax.twinx()
    ax2.plot(h, series["spend"], color=_COLORS[3], lw=1.5, label="cumulative spend")
    ax2.set_ylabel("spend (currency units)")
    ax.set_title(title or "Cloud cores and cumulative spend")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)


def plot_cloud_spend(series: Mapping[str, Any], title: str = "") -> bytes:
    fig, ax = _pyplot().subplots(figsize=(8, 3.2))
    _draw_cloud_spend(ax, series, title)
    return _png(fig)


def _draw_waits(ax: Any, waits: Mapping[str, tuple[np.ndarray, np.ndarray]], title: str = "") -> None:
    """Cumulative distribution of wait time per group (weighted by jobs)."""
    longest = max((float(w.max()) for w, _ in waits.values() if len(w)), default=0.0)
    minutes = longest < 3 * 3600  # short waits read better in minutes on a linear axis
    for i, (group, (w, n)) in enumerate(sorted(waits.items())):
        order = np.argsort(w)
        x = w[order] / (60.0 if minutes else 3600.0)
        cum = np.cumsum(n[order]) / n.sum()
        ax.step(x, cum, where="post", label=group, color=_COLORS[i % len(_COLORS)])
    if minutes:
        ax.set_xlabel("wait (minutes idle per job)")
    else:
        ax.set_xscale("symlog", linthresh=0.1)
        ax.set_xlabel("wait (hours idle per job)")
    ax.set_ylabel("fraction of jobs")
    ax.set_title(title or "Wait-time distribution per group")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)


def plot_waits(waits: Mapping[str, tuple[np.ndarray, np.ndarray]], title: str = "") -> bytes:
    fig, ax = _pyplot().subplots(figsize=(8, 3.2))
    _draw_waits(ax, waits, title)
    return _png(fig)


def plot_overview(
    series: Mapping[str, Any], waits: Mapping[str, tuple[np.ndarray, np.ndarray]], title: str
) -> bytes:
    """The four main plots on one figure (the README's picture of the report)."""
    fig, axes = _pyplot().subplots(2, 2, figsize=(13, 6.4))
    _draw_cores(axes[0][0], series)
    _draw_jobs(axes[0][1], series)
    _draw_cloud_spend(axes[1][0], series)
    _draw_waits(axes[1][1], waits)
    fig.suptitle(title)
    fig.tight_layout()
    return _png(fig, dpi=80)


def plot_comparison(rows: Mapping[str, Mapping[str, Any]]) -> bytes:
    """One figure: p95 wait, makespan, cost and fair-share deviation per controller."""
    plt = _pyplot()
    names = list(rows)
    metrics = [
        ("p95 wait (h)", [rows[n]["wait_s"]["p95"] / 3600 for n in names]),
        ("makespan (h)", [rows[n]["makespan_s"] / 3600 for n in names]),
        ("cost", [rows[n]["cost"] for n in names]),
        ("fair-share deviation", [rows[n]["fairShareDeviation"] for n in names]),
    ]
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.2))
    for ax, (label, values) in zip(axes, metrics, strict=True):
        ax.bar(range(len(names)), values, color=[_COLORS[i % len(_COLORS)] for i in range(len(names))])
        ax.set_xticks(range(len(names)), names, rotation=35, ha="right", fontsize=8)
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle("Controllers compared on the same scenario")
    fig.tight_layout()
    return _png(fig)


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    alt = html.escape(alt)
    img = f'<img alt="{alt}" src="data:image/png;base64,{data}">'
    return f"<figure>{img}<figcaption>{alt}</figcaption></figure>"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def fmt_hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h"


def comparison_rows(runs: Mapping[str, Mapping[str, Any]]) -> list[list[str]]:
    return [
        [
            name,
            f"{s['jobs']['completed']:,}/{s['jobs']['submitted']:,}"
            + (" (stalled)" if s.get("stalled") else ""),
            fmt_hours(s["wait_s"]["p95"]),
            fmt_hours(s["makespan_s"]),
            f"{s['cost']:.2f}",
            f"{100 * s['utilization']:.1f}%",
            f"{s['fairShareDeviation']:.3f}",
        ]
        for name, s in runs.items()
    ]


COMPARISON_HEADER = (
    "controller",
    "jobs done",
    "p95 wait",
    "makespan",
    "cost",
    "utilization",
    "fair-share deviation",
)

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;
  max-width:1100px;margin:2em auto;color:#222}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}img{max-width:100%}figcaption{color:#666;font-size:.9em}
pre{background:#f7f7f7;padding:.8em;overflow:auto;font-size:.85em;max-height:28em}
.kpi{display:inline-block;margin:0 1.5em .5em 0}.kpi b{display:block;font-size:1.4em}
"""


def render_html(
    *,
    scenario: str,
    description: str,
    start_iso: str,
    controller: str,
    seed: int,
    summary: Mapping[str, Any],
    plots: Sequence[tuple[str, bytes]],
    federation_text: str,
    policy_text: str,
    campaign_text: str | None = None,
    comparison: Mapping[str, Mapping[str, Any]] | None = None,
    comparison_png: bytes | None = None,
) -> str:
    """The whole report as one HTML document with every image inlined."""
    s = summary
    jobs = s["jobs"]
    kpis = [
        ("jobs completed", f"{jobs['completed']:,} / {jobs['submitted']:,}"),
        ("p50 / p95 wait", f"{fmt_hours(s['wait_s']['p50'])} / {fmt_hours(s['wait_s']['p95'])}"),
        ("makespan", fmt_hours(s["makespan_s"])),
        ("cloud cost", f"{s['cost']:.2f}"),
        ("utilization", f"{100 * s['utilization']:.1f}%"),
        ("fair-share deviation", f"{s['fairShareDeviation']:.3f}"),
        ("preempted jobs", f"{s['preemptions']:,}"),
    ]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>condorfed simulate: {html.escape(scenario)}</title><style>{_CSS}</style></head><body>",
        f"<h1>condorfed simulate: {html.escape(scenario)}</h1>",
        f"<p>{html.escape(description)}</p>",
        f"<p>Controller <b>{html.escape(controller)}</b>, start {html.escape(start_iso)}, seed {seed}, "
        f"{s['cycles']:,} negotiation cycles ({s['cyclesNegotiated']:,} with something to match)"
        + (", <b>stopped at the safety cap</b>" if s.get("capped") else "")
        + (", <b>stalled: idle jobs no cluster can run</b>" if s.get("stalled") else "")
        + ".</p>",
        "<div>"
        + "".join(f"<span class='kpi'>{html.escape(k)}<b>{html.escape(v)}</b></span>" for k, v in kpis)
        + "</div>",
    ]
    if comparison:
        parts.append("<h2>Controllers compared</h2>")
        parts.append(_table(COMPARISON_HEADER, comparison_rows(comparison)))
        if comparison_png:
            parts.append(
                _img(comparison_png, "p95 wait, makespan, cost and fair-share deviation per controller")
            )
    parts.append("<h2>Over time</h2>")
    parts += [_img(png, alt) for alt, png in plots]
    parts.append("<h2>Clusters</h2>")
    parts.append(
        _table(
            ("cluster", "type", "core-hours used", "provisioned core-hours", "peak cores", "cost"),
            [
                [
                    n,
                    c["type"],
                    f"{c['coreHours']:,.1f}",
                    f"{c['provisionedCoreHours']:,.1f}",
                    c["peakCores"],
                    f"{c['cost']:.2f}",
                ]
                for n, c in s["clusters"].items()
            ],
        )
    )
    parts.append("<h2>Accounting groups</h2>")
    parts.append(
        _table(
            ("group", "jobs", "p95 wait", "core-hours", "share received", "share entitled"),
            [
                [
                    g,
                    f"{v['jobs']:,}",
                    fmt_hours(v["wait_p95_s"]),
                    f"{v['coreHours']:,.1f}",
                    f"{v['share']:.3f}",
                    f"{v['entitled']:.3f}",
                ]
                for g, v in s["groups"].items()
            ],
        )
    )
    parts.append("<h2>Policy</h2><p>The federation file:</p>")
    parts.append(f"<pre>{html.escape(federation_text)}</pre>")
    if policy_text:
        parts.append("<p>The HTCondor configuration compiled from it, which the negotiation engine read:</p>")
        parts.append(f"<pre>{html.escape(policy_text)}</pre>")
    if campaign_text:
        parts.append("<p>The campaign:</p>")
        parts.append(f"<pre>{html.escape(campaign_text)}</pre>")
    parts.append("<p style='color:#888'>Generated by condorfed simulate. Definitions: docs/simulate.md.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
