"""Job traces: JSONL, one object per line, read into :class:`TraceEntry` records.

A line looks like::

    {"submit": 120, "owner": "alice", "group": "atlas", "cpus": 1, "memory": 2000,
     "gpus": 0, "runtime": 3600, "requirements": "Arch == \"X86_64\"", "count": 10}

``submit`` is seconds from the simulation's start, ``count`` identical jobs arrive at once,
``memory`` and the optional ``disk`` are MB. ``group``, ``requirements``, ``gpus``, ``disk``
and ``count`` may be absent. A bad line is a
:class:`SimulationError` naming ``file:line``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from condorfed.errors import SimulationError

_KNOWN = {"submit", "owner", "group", "cpus", "memory", "disk", "gpus", "runtime", "requirements", "count"}
DEFAULT_DISK_MB = 0  # MB; 0 = not modelled (matches any node, even one with no disk given)


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """``count`` identical jobs submitted at ``submit`` seconds after the start."""

    submit: float
    owner: str
    runtime: float
    cpus: int = 1
    memory: int = 1024
    disk: int = DEFAULT_DISK_MB
    gpus: int = 0
    group: str | None = None
    requirements: str | None = None
    count: int = 1

    def to_json(self) -> dict:
        out: dict = {"submit": self.submit, "owner": self.owner}
        if self.group is not None:
            out["group"] = self.group
        out.update(cpus=self.cpus, memory=self.memory, gpus=self.gpus, runtime=self.runtime)
        if self.disk != DEFAULT_DISK_MB:
            out["disk"] = self.disk
        if self.requirements is not None:
            out["requirements"] = self.requirements
        if self.count != 1:
            out["count"] = self.count
        return out


def _number(
    obj: dict, key: str, where: str, *, default: float | None, integer: bool, minimum: float
) -> float:
    if key not in obj:
        if default is None:
            raise SimulationError(f"{where}: missing required field {key!r}")
        return default
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SimulationError(f"{where}: field {key!r} must be a number, got {value!r}")
    if integer and value != int(value):
        raise SimulationError(f"{where}: field {key!r} must be an integer, got {value!r}")
    if value < minimum:
        raise SimulationError(f"{where}: field {key!r} must be >= {minimum:g}, got {value!r}")
    return int(value) if integer else float(value)


def _text(obj: dict, key: str, where: str, *, required: bool) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise SimulationError(f"{where}: missing required field {key!r}")
        return None
    if not isinstance(value, str) or not value.strip():
        raise SimulationError(f"{where}: field {key!r} must be a non-empty string, got {value!r}")
    return value


def parse_entry(obj: object, where: str) -> TraceEntry:
    """One decoded JSON line -> :class:`TraceEntry` (``where`` is ``file:line`` for errors)."""
    if not isinstance(obj, dict):
        raise SimulationError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - _KNOWN)
    if unknown:
        raise SimulationError(f"{where}: unknown field {unknown[0]!r}")
    requirements = _text(obj, "requirements", where, required=False)
    if requirements is not None:
        _check_expression(requirements, where)
    return TraceEntry(
        submit=_number(obj, "submit", where, default=None, integer=False, minimum=0),
        owner=_text(obj, "owner", where, required=True),  # type: ignore[arg-type]
        runtime=_number(obj, "runtime", where, default=None, integer=False, minimum=0),
        cpus=_number(obj, "cpus", where, default=1, integer=True, minimum=1),  # type: ignore[arg-type]
        memory=_number(obj, "memory", where, default=1024, integer=True, minimum=0),  # type: ignore[arg-type]
        disk=_number(obj, "disk", where, default=DEFAULT_DISK_MB, integer=True, minimum=0),  # type: ignore[arg-type]
        gpus=_number(obj, "gpus", where, default=0, integer=True, minimum=0),  # type: ignore[arg-type]
        group=_text(obj, "group", where, required=False),
        requirements=requirements,
        count=_number(obj, "count", where, default=1, integer=True, minimum=1),  # type: ignore[arg-type]
    )


def _check_expression(text: str, where: str) -> None:
    import classad2

    try:
        classad2.ExprTree(text)
    except Exception as exc:  # classad2 raises plain exceptions on syntax errors
        raise SimulationError(f"{where}: field 'requirements' is not a ClassAd expression: {text!r}") from exc


def parse_trace(lines: Iterable[str], source: str) -> list[TraceEntry]:
    """Parse JSONL text lines; blank lines and lines starting with ``#`` are skipped."""
    entries: list[TraceEntry] = []
    for lineno, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{source}:{lineno}"
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise SimulationError(f"{where}: not valid JSON ({exc.msg})") from exc
        entries.append(parse_entry(obj, where))
    return entries


def read_trace(path: str | Path) -> list[TraceEntry]:
    """Read a JSONL trace file (see the module docstring)."""
    p = Path(path)
    try:
        with p.open(encoding="utf-8") as fh:
            return parse_trace(fh, str(p))
    except OSError as exc:
        raise SimulationError(f"{p}: cannot read trace ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise SimulationError(f"{p}: not UTF-8 text") from exc


def dump_trace(entries: Iterable[TraceEntry]) -> Iterator[str]:
    """JSONL lines (without newlines) for ``entries``."""
    for e in entries:
        yield json.dumps(e.to_json(), separators=(",", ":"))
