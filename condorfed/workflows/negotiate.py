"""Workflow for ``condorfed negotiate`` and ``condorfed analyze``: read files, build the negotiator's
configuration the way HTCondor reads it, run the engine, write the new usage state."""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from condorfed.adapters import adfiles
from condorfed.adapters.condor_config import load_params
from condorfed.core.fairshare import UsageState
from condorfed.core.federation.policy import CompiledPolicy
from condorfed.core.negotiation import CycleResult, NegotiatorConfig, job_id, negotiate
from condorfed.core.negotiation.analysis import Analysis, analyze
from condorfed.errors import ConfigError

EXAMPLE_POOL = Path("examples/pool")


@dataclass(frozen=True)
class NegotiationRun:
    result: CycleResult
    jobs: int
    slots: int
    now: float


def load_policy(federation: str | None) -> CompiledPolicy | None:
    """The federation's compiled policy: the negotiator's config and the schedd's job transform."""
    if federation is None:
        return None
    from condorfed.adapters.federation_file import load_federation
    from condorfed.core.federation.policy import compile_policy

    return compile_policy(load_federation(federation))


def load_negotiator_config(
    config: str | None = None, policy: CompiledPolicy | None = None, federation: str = "federation"
) -> NegotiatorConfig:
    """The configuration HTCondor would read: ``config`` then the federation's policy (later wins)."""
    if policy is None:
        if config is None:
            return NegotiatorConfig()
        return NegotiatorConfig.from_params(load_params(config), source=str(config))
    text = policy.config_text
    with tempfile.TemporaryDirectory(prefix="condorfed-") as tmp:
        combined = Path(tmp) / "condor_config"
        head = f"include : {Path(config).resolve()}\n" if config else ""
        if config and not Path(config).is_file():
            raise ConfigError(f"{config}: no such configuration file")
        combined.write_text(head + text + "\n", encoding="utf-8")
        params = load_params(combined)
    return NegotiatorConfig.from_params(params, source=f"{config or ''}+{federation}")


def load_usage(path: str | None) -> UsageState:
    if path is None:
        return UsageState()
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: line {exc.lineno}: invalid JSON: {exc.msg}") from None
    return UsageState.from_json(data, str(path))


def write_usage(state: UsageState, path: str) -> None:
    tmp = f"{path}.tmp"
    Path(tmp).write_text(json.dumps(state.to_json(), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _defaults(jobs: tuple[str, ...], machines: tuple[str, ...], config: str | None):
    """With neither --jobs nor --machines, use the example pool shipped in examples/pool."""
    if jobs or machines:
        return jobs, machines, config
    if not (EXAMPLE_POOL / "machines.ads").is_file():
        raise ConfigError("no --jobs/--machines given and examples/pool not found in the current directory")
    return (
        (str(EXAMPLE_POOL / "jobs.ads"), str(EXAMPLE_POOL / "analysis.sub")),
        (str(EXAMPLE_POOL / "machines.ads"),),
        config or str(EXAMPLE_POOL / "condor_config"),
    )


def _login() -> str:
    """condor_submit's default Owner: the user running the command."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "nobody"


def run_negotiation(
    jobs: tuple[str, ...] = (),
    machines: tuple[str, ...] = (),
    *,
    config: str | None = None,
    usage: str | None = None,
    write_usage_to: str | None = None,
    now: float | None = None,
    federation: str | None = None,
    owner: str | None = None,
) -> NegotiationRun:
    """One negotiation cycle on files; writes the aged usage state if asked."""
    if not jobs and not machines and owner is None:
        owner = "dave"  # the example pool's submit file belongs to a user without other jobs
    jobs, machines, config = _defaults(tuple(jobs), tuple(machines), config)
    if not jobs or not machines:
        raise ConfigError("give both --jobs and --machines")
    policy = load_policy(federation)
    cfg = load_negotiator_config(config, policy, federation or "")
    job_ads = adfiles.read_job_files(jobs, owner=owner or _login())
    if policy is not None:
        # What the schedd's JOB_TRANSFORM does to every job before the negotiator sees it.
        job_ads = [policy.apply_to_job(job) for job in job_ads]
    slot_ads = adfiles.read_ad_files(machines)
    when = time.time() if now is None else float(now)
    state = load_usage(usage)
    result = negotiate(job_ads, slot_ads, cfg, state, when)
    if write_usage_to:
        write_usage(result.usage, write_usage_to)
    return NegotiationRun(result, len(job_ads), len(slot_ads), when)


def run_analysis(
    job_file: str, machines: tuple[str, ...], *, config: str | None = None, owner: str | None = None
) -> Analysis:
    """Analyze the first job of ``job_file`` against the machines."""
    cfg = load_negotiator_config(config) if config else NegotiatorConfig()
    job_ads = adfiles.read_job_file(job_file, owner=owner or _login())
    if not job_ads:
        raise ConfigError(f"{job_file}: no job ads")
    slot_ads = adfiles.read_ad_files(machines)
    return analyze(
        job_ads[0],
        slot_ads,
        job_name=job_id(job_ads[0], 0),
        quantize_memory=cfg.quantize_memory,
        quantize_disk=cfg.quantize_disk,
    )
