"""Output helpers shared by every command: one JSON object for machines, rich tables for people."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import click


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "to_json") and callable(value.to_json):
        return value.to_json()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def emit_json(obj: Any) -> None:
    """Print exactly one JSON object on stdout."""
    click.echo(json.dumps(obj, indent=2, sort_keys=False, default=_jsonable))


def emit_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print a rich table on stdout (no colour when stdout is not a terminal).

    In a terminal the table fits the window. Piped or redirected (a log, ``| less``, CI), rich would
    assume 80 columns and fold cells mid-word, so there the table keeps its natural width."""
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console = Console(soft_wrap=False)
    if not console.is_terminal:
        natural = Measurement.get(console, console.options.update(width=10_000), table).maximum
        console.width = max(console.width, natural)
    console.print(table)
