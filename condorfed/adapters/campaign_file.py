"""Read a campaign file (YAML) into the core's :class:`~condorfed.core.burst.Campaign`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from condorfed.adapters.yaml_file import read_yaml
from condorfed.core.burst.campaign import Campaign, parse_campaign


def load_campaign(path: str | Path, federation: Any = None) -> Campaign:
    """Load and validate ``path``; with ``federation``, its clusters must be that federation's clouds."""
    data = read_yaml(path)
    known = None
    if federation is not None:
        known = {c.name: bool(c.is_cloud) for c in federation.clusters}
    return parse_campaign(data, str(path), known)
