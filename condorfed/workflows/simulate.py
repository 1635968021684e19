"""``condorfed simulate``: load a scenario (built-in or files), run it, write the report.

The only place that does I/O for the simulator: it reads federation/trace/campaign files,
compiles the federation's policy into HTCondor config and reads that back with HTCondor's own
parser (once, at the start), then hands everything to :mod:`condorfed.sim` and writes
``metrics.json``, the PNG plots and ``report.html`` into the output directory.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from condorfed.errors import ConfigError, SimulationError
from condorfed.sim import SAFETY_CAP_S, SimInputs, run_simulation
from condorfed.sim.baselines import BASELINES, make_baseline
from condorfed.sim.federation_view import cluster_specs, group_quotas
from condorfed.sim.scenarios import DEFAULT_SCENARIO, SCENARIOS, Scenario, build_scenario
from condorfed.sim.trace import TraceEntry, dump_trace, read_trace

DEFAULT_START = "2026-01-01T00:00:00Z"
DEFAULT_OUT = "condorfed-report"
CONTROLLERS = ("condorfed", *BASELINES)
COMPARE_ORDER = ("onprem-only", "static", "glideinwms", "cobald", "condorfed")

Progress = Callable[[str, float, float], None]  # (controller, simulated seconds, fraction of jobs done)


@dataclass
class SimulateOptions:
    scenario: str | None = None
    federation: str | None = None
    trace: str | None = None
    campaign: str | None = None
    controller: str = "condorfed"
    compare: bool = False
    static_nodes: int | None = None
    start: str | None = None
    horizon: float | None = None
    seed: int = 1
    out: str | None = DEFAULT_OUT
    progress: Progress | None = None


@dataclass
class SimulateResult:
    scenario: str
    description: str
    start: str
    seed: int
    controller: str  # the run shown in detail
    runs: dict[str, dict[str, Any]]  # controller -> summary
    out_dir: Path | None = None
    files: list[Path] = field(default_factory=list)

    @property
    def summary(self) -> dict[str, Any]:
        return self.runs[self.controller]

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object: the detailed run's summary (plus the comparison when asked)."""
        out = dict(self.summary)
        out["scenario"] = self.scenario
        out["start"] = self.start
        out["seed"] = self.seed
        if len(self.runs) > 1:
            out["comparison"] = {
                name: {
                    "wait_p95_s": s["wait_s"]["p95"],
                    "makespan_s": s["makespan_s"],
                    "cost": s["cost"],
                    "utilization": s["utilization"],
                    "fairShareDeviation": s["fairShareDeviation"],
                }
                for name, s in self.runs.items()
            }
        if self.out_dir is not None:
            out["report"] = str(self.out_dir / "report.html")
        return out


# ----------------------------------------------------------------------------------- inputs
def parse_start(text: str) -> float:
    """ISO 8601 (``2026-01-01T00:00:00Z``) -> epoch seconds; naive times are UTC."""
    try:
        t = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise SimulationError(f"--start: not an ISO 8601 time: {text!r}") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.timestamp()


def iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def list_scenarios() -> list[tuple[str, str]]:
    return [(name, desc) for name, (desc, _) in SCENARIOS.items()]


def write_scenario(name: str, directory: str, seed: int = 1, start: str | None = None) -> list[Path]:
    """Write a built-in scenario's federation.yaml, trace.jsonl (and campaign.yaml) for editing."""
    sc = build_scenario(name, seed, parse_start(start or DEFAULT_START))
    out = Path(directory)
    try:
        out.mkdir(parents=True, exist_ok=True)
        files = [out / "federation.yaml", out / "trace.jsonl"]
        header = f"# condorfed simulate scenario {sc.name} (seed {seed}): {sc.description}\n"
        files[0].write_text(header + yaml.safe_dump(sc.federation, sort_keys=False), encoding="utf-8")
        t0 = iso(parse_start(start or DEFAULT_START))
        anchor = (
            f"# t = 0 is {t0}: with campaign.yaml, pass --start {t0} (else t = 0 is the campaign's start)\n"
        )
        files[1].write_text(anchor + "\n".join(dump_trace(sc.trace)) + "\n", encoding="utf-8")
        if sc.campaign is not None:
            files.append(out / "campaign.yaml")
            files[2].write_text(anchor + yaml.safe_dump(sc.campaign, sort_keys=False), encoding="utf-8")
    except OSError as exc:
        raise SimulationError(f"{directory}: cannot write scenario ({exc.strerror or exc})") from None
    return files


@dataclass
class _Loaded:
    name: str
    description: str
    federation: Any
    federation_text: str
    trace: list[TraceEntry]
    campaign: Any  # Campaign | None
    campaign_text: str | None
    start: float
    static_nodes: int


def _load(opts: SimulateOptions) -> _Loaded:
    from condorfed.adapters.campaign_file import load_campaign
    from condorfed.adapters.federation_file import load_federation
    from condorfed.core.burst.campaign import parse_campaign
    from condorfed.core.federation.model import parse_federation

    if (opts.federation is None) != (opts.trace is None):
        raise SimulationError("--federation and --trace go together (or use --scenario)")
    if opts.federation is not None and opts.scenario is not None:
        raise SimulationError("give either --scenario or --federation/--trace, not both")
    if opts.federation is not None:
        fed = load_federation(opts.federation)
        fed_text = Path(opts.federation).read_text(encoding="utf-8")
        trace = read_trace(opts.trace)  # type: ignore[arg-type]
        campaign = load_campaign(opts.campaign, fed) if opts.campaign else None
        start = (
            parse_start(opts.start)
            if opts.start
            else (
                campaign.start if campaign and math.isfinite(campaign.start) else parse_start(DEFAULT_START)
            )
        )
        camp_text = Path(opts.campaign).read_text(encoding="utf-8") if opts.campaign else None
        return _Loaded(
            Path(opts.trace).name,
            f"{opts.federation} + {opts.trace}",
            fed,
            fed_text,
            trace,  # type: ignore[arg-type]
            campaign,
            camp_text,
            start,
            opts.static_nodes if opts.static_nodes is not None else 10,
        )
    name = opts.scenario or DEFAULT_SCENARIO
    if opts.campaign:
        # an explicit campaign anchors the start; the scenario is built relative to it
        probe = build_scenario(name, opts.seed, parse_start(DEFAULT_START))
        fed = parse_federation(probe.federation, f"scenario {name}")
        campaign = load_campaign(opts.campaign, fed)
        start = parse_start(opts.start) if opts.start else campaign.start
        camp_text = Path(opts.campaign).read_text(encoding="utf-8")
        sc: Scenario = build_scenario(name, opts.seed, start)
    else:
        start = parse_start(opts.start or DEFAULT_START)
        sc = build_scenario(name, opts.seed, start)
        fed = parse_federation(sc.federation, f"scenario {name}")
        campaign = (
            parse_campaign(sc.campaign, f"scenario {name}", {c.name: c.is_cloud for c in fed.clusters})
            if sc.campaign
            else None
        )
        camp_text = yaml.safe_dump(sc.campaign, sort_keys=False) if sc.campaign else None
    return _Loaded(
        sc.name,
        sc.description,
        fed,
        yaml.safe_dump(sc.federation, sort_keys=False),
        sc.trace,
        campaign,
        camp_text,
        start,
        opts.static_nodes if opts.static_nodes is not None else sc.static_nodes,
    )


def compiled_policy(fed: Any) -> tuple[Any, str, Callable | None]:
    """(NegotiatorConfig, config text, job transform) from the federation's compiled policy.

    The config text is read back by HTCondor's own parser, once, as the engine does elsewhere.
    """
    from condorfed.adapters.condor_config import load_params
    from condorfed.core.federation.policy import compile_policy
    from condorfed.core.negotiation import NegotiatorConfig

    policy = compile_policy(fed)
    text = policy.config_text
    with tempfile.TemporaryDirectory(prefix="condorfed-sim-") as tmp:
        path = Path(tmp) / "condor_config"
        path.write_text(text + "\n", encoding="utf-8")
        params = load_params(path)
    # the schedd's job transform (require rules ANDed into Requirements), applied to each job ad
    config = NegotiatorConfig.from_params(params, source="compiled federation policy")
    return config, text, policy.apply_to_job


def _controller(name: str, loaded: _Loaded) -> Any:
    if name == "condorfed":
        from condorfed.core.burst.policy import BurstPolicy
        from condorfed.sim.burst import BurstController

        return BurstController(BurstPolicy.from_federation(loaded.federation), loaded.campaign, loaded.start)
    return make_baseline(name, loaded.static_nodes)


# ----------------------------------------------------------------------------------- running
def run_simulate(opts: SimulateOptions) -> SimulateResult:
    """Run the scenario under one controller (or all of them with ``compare``), write the report."""
    from condorfed.sim.engine import EngineMatchmaker
    from condorfed.sim.metrics import series, summary, wait_samples
    from condorfed.sim.simulation import Simulation, template_ads

    if opts.controller not in CONTROLLERS:
        raise SimulationError(f"unknown controller {opts.controller!r} (known: {', '.join(CONTROLLERS)})")
    if opts.horizon is not None and not opts.horizon > 0:
        raise SimulationError(f"--horizon must be a positive number of seconds, got {opts.horizon}")
    if opts.static_nodes is not None and opts.static_nodes < 0:
        raise SimulationError(f"--static-nodes must be >= 0, got {opts.static_nodes}")
    loaded = _load(opts)
    config, policy_text, transform = compiled_policy(loaded.federation)
    clusters = cluster_specs(loaded.federation)
    quotas = group_quotas(loaded.federation)
    require = tuple(
        (r.when or "true", frozenset(r.clusters)) for r in loaded.federation.rules if r.kind == "require"
    )
    names = list(COMPARE_ORDER) if opts.compare else [opts.controller]
    if opts.compare and opts.controller not in names:
        names.append(opts.controller)
    runs: dict[str, dict[str, Any]] = {}
    detail: Simulation | None = None
    for name in names:
        progress = None if opts.progress is None else functools.partial(opts.progress, name)
        mm = EngineMatchmaker(config, template_ads(clusters))
        inputs = SimInputs(
            clusters=clusters,
            trace=loaded.trace,
            matchmaker=mm,
            controller=_controller(name, loaded),
            negotiator_interval=loaded.federation.negotiator_interval,
            controller_interval=loaded.federation.controller_interval,
            seed=opts.seed,
            horizon=opts.horizon,
            job_transform=transform,
            require_rules=require,
            group_quotas=quotas,
            progress=progress,
        )
        sim = run_simulation(inputs)
        runs[name] = summary(sim)
        if name == opts.controller:
            detail = sim
    assert detail is not None
    result = SimulateResult(
        loaded.name, loaded.description, iso(loaded.start), opts.seed, opts.controller, runs
    )
    if opts.out:
        _write_report(
            result, detail, loaded, policy_text, Path(opts.out), series(detail), wait_samples(detail)
        )
    return result


def _write_report(
    result: SimulateResult, sim: Any, loaded: _Loaded, policy_text: str, out: Path, ser: dict, waits: dict
) -> None:
    from condorfed.workflows import simulate_report as report

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SimulationError(f"{out}: cannot create the output directory ({exc.strerror or exc})") from None
    plots = [
        ("jobs.png", "Idle and running jobs over time", report.plot_jobs(ser)),
        ("cores.png", "Provisioned cores per cluster (stacked) and busy cores", report.plot_cores(ser)),
        ("cloud-spend.png", "Cloud cores and cumulative spend", report.plot_cloud_spend(ser)),
        ("waits.png", "Wait-time distribution per group", report.plot_waits(waits)),
    ]
    comparison_png = report.plot_comparison(result.runs) if len(result.runs) > 1 else None
    overview = report.plot_overview(
        ser, waits, f"condorfed simulate: {result.scenario} ({result.controller})"
    )
    metrics = {
        "scenario": result.scenario,
        "description": result.description,
        "start": result.start,
        "seed": result.seed,
        "controller": result.controller,
        "safetyCapSeconds": SAFETY_CAP_S,
        "summary": result.summary,
        "runs": result.runs if len(result.runs) > 1 else None,
        "series": ser,
        "actions": [dataclasses.asdict(a) for a in sim.actions],
    }
    html = report.render_html(
        scenario=result.scenario,
        description=result.description,
        start_iso=result.start,
        controller=result.controller,
        seed=result.seed,
        summary=result.summary,
        plots=[(alt, png) for _, alt, png in plots],
        federation_text=loaded.federation_text,
        policy_text=policy_text,
        campaign_text=loaded.campaign_text,
        comparison=result.runs if len(result.runs) > 1 else None,
        comparison_png=comparison_png,
    )
    try:
        files = []
        for fname, _, png in plots:
            (out / fname).write_bytes(png)
            files.append(out / fname)
        (out / "overview.png").write_bytes(overview)  # the four plots on one figure
        files.append(out / "overview.png")
        if comparison_png is not None:
            (out / "comparison.png").write_bytes(comparison_png)
            files.append(out / "comparison.png")
        (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
        (out / "report.html").write_text(html, encoding="utf-8")
        files += [out / "metrics.json", out / "report.html"]
    except OSError as exc:
        raise ConfigError(f"{out}: cannot write the report ({exc.strerror or exc})") from None
    result.out_dir = out
    result.files = files


# ----------------------------------------------------------------------------------- CLI glue
def parse_int(text: str | None, option: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        raise SimulationError(f"{option}: not an integer: {text!r}") from None


def parse_seconds(text: str | None, option: str) -> float | None:
    if text is None:
        return None
    try:
        value = float(str(text).strip())
    except ValueError:
        raise SimulationError(f"{option}: not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise SimulationError(f"{option}: must be a positive number of seconds, got {text!r}")
    return value


def options_from_cli(raw: dict[str, Any], progress: Progress | None = None) -> SimulateOptions:
    """The CLI's string options, checked (every problem is one SimulationError line)."""
    return SimulateOptions(
        scenario=raw.get("scenario"),
        federation=raw.get("federation"),
        trace=raw.get("trace"),
        campaign=raw.get("campaign"),
        controller=raw.get("controller") or "condorfed",
        compare=bool(raw.get("compare")),
        static_nodes=None
        if raw.get("static_nodes") is None
        else parse_int(raw["static_nodes"], "--static-nodes"),
        start=raw.get("start"),
        horizon=parse_seconds(raw.get("horizon"), "--horizon"),
        seed=parse_int(raw.get("seed", "1"), "--seed"),
        out=raw.get("out"),
        progress=progress,
    )


def summary_tables(result: SimulateResult) -> list[tuple[str, list[str], list[list[Any]]]]:
    """(title, columns, rows) for the terminal summary."""
    from condorfed.workflows.simulate_report import COMPARISON_HEADER, comparison_rows, fmt_hours

    s = result.summary
    j = s["jobs"]
    overall = [
        ["jobs submitted / completed", f"{j['submitted']:,} / {j['completed']:,}"],
        ["running / idle at the end", f"{j['running']:,} / {j['idle']:,}"],
        ["wait p50 / p95 / max", " / ".join(fmt_hours(s["wait_s"][k]) for k in ("p50", "p95", "max"))],
        ["makespan", fmt_hours(s["makespan_s"])],
        ["cost", f"{s['cost']:.2f}"],
        ["utilization", f"{100 * s['utilization']:.1f}%"],
        ["fair-share deviation", f"{s['fairShareDeviation']:.3f}"],
        ["preempted jobs (spot)", f"{s['preemptions']:,}"],
        ["nodes provisioned / scaled down", f"{s['scaleUps']:,} / {s['scaleDowns']:,}"],
    ]
    if s.get("capped"):
        overall.append(
            ["note", f"stopped at the safety cap ({SAFETY_CAP_S / 86400:g} days after the last submission)"]
        )
    if s.get("stalled"):
        overall.append(["note", "stalled: idle jobs that no cluster can run"])
    tables = [
        (
            f"{result.scenario} ({result.controller}, start {result.start}, seed {result.seed})",
            ["metric", "value"],
            overall,
        ),
        (
            "Clusters",
            ["cluster", "type", "core-hours", "peak cores", "cost"],
            [
                [n, c["type"], f"{c['coreHours']:,.1f}", c["peakCores"], f"{c['cost']:.2f}"]
                for n, c in s["clusters"].items()
            ],
        ),
        (
            "Accounting groups",
            ["group", "jobs", "p95 wait", "share", "entitled"],
            [
                [g, f"{v['jobs']:,}", fmt_hours(v["wait_p95_s"]), f"{v['share']:.3f}", f"{v['entitled']:.3f}"]
                for g, v in s["groups"].items()
            ],
        ),
    ]
    if len(result.runs) > 1:
        tables.append(("Controllers compared", list(COMPARISON_HEADER), comparison_rows(result.runs)))
    return tables
