"""Reading a YAML configuration file, with errors that name the file and the position."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from condorfed.errors import ConfigError


def read_yaml(path: str | Path) -> Any:
    """The parsed document; a missing file or a syntax error is one ConfigError line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: {where}invalid YAML: {problem}") from None
