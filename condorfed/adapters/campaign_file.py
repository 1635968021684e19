"""Read a campaign file (YAML) into the core's :class:`~condorfed.core.burst.Campaign`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from condorfed.core.burst.campaign import Campaign, parse_campaign
from condorfed.errors import ConfigError


def load_campaign(path: str | Path, federation: Any = None) -> Campaign:
    """Load and validate ``path``; with ``federation``, its clusters must be that federation's clouds."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{source}:{where}: invalid YAML: {problem}") from None
    known = None
    if federation is not None:
        known = {c.name: bool(c.is_cloud) for c in federation.clusters}
    return parse_campaign(data, source, known)
