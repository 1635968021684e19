"""Read ``federation.yaml`` from disk into a :class:`~condorfed.core.federation.model.Federation`."""

from __future__ import annotations

from pathlib import Path

from condorfed.adapters.yaml_file import read_yaml
from condorfed.core.federation.model import Federation, parse_federation


def load_federation(path: str | Path) -> Federation:
    """Load and validate a federation file; every error names the file (and field path)."""
    data = read_yaml(path)
    return parse_federation(data, str(path))
