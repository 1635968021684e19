"""Read ``federation.yaml`` from disk into a :class:`~condorfed.core.federation.model.Federation`."""

from __future__ import annotations

from pathlib import Path

import yaml

from condorfed.core.federation.model import Federation, parse_federation
from condorfed.errors import ConfigError


def load_federation(path: str | Path) -> Federation:
    """Load and validate a federation file; every error names the file (and field path)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: {where}invalid YAML: {problem}") from None
    return parse_federation(data, str(path))
