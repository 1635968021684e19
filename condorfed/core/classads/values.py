"""The core's ClassAd data model: plain Python values, with attribute names case-insensitive.

Adapters turn ``classad2.ClassAd`` objects (or long-format / JSON files) into :class:`Ad`; the
core never needs the C++ objects except to fall back on classad2 for evaluation.

A value is one of:
- ``bool``, ``int``, ``float``, ``str``: ClassAd literals (str is a *string literal*);
- :class:`Expr`: an unevaluated ClassAd expression, e.g. ``Requirements`` or ``Rank``;
- ``UNDEFINED`` / ``ERROR``: ``classad2.Value.Undefined`` / ``classad2.Value.Error``.
Lists and nested ads are carried as :class:`Expr` text, which evaluates them exactly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TypeAlias

import classad2

UNDEFINED = classad2.Value.Undefined
ERROR = classad2.Value.Error


class Expr(str):
    """ClassAd expression source text, as opposed to a string literal."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Expr({str.__repr__(self)})"


Value: TypeAlias = bool | int | float | str | Expr | classad2.Value


class Ad(Mapping[str, Value]):
    """A ClassAd as a case-insensitive mapping of attribute name to :data:`Value`.

    Lookups are case-insensitive (``ad["memory"] is ad["Memory"]``); iteration yields the names
    with the case they were first given. Ads are cheap: two dicts, no C++ object.
    """

    __slots__ = ("_names", "_values")

    def __init__(self, items: Mapping[str, Value] | None = None, **kwargs: Value) -> None:
        self._values: dict[str, Value] = {}
        self._names: dict[str, str] = {}
        if items:
            for name, value in items.items():
                self[name] = value
        for name, value in kwargs.items():
            self[name] = value

    def __getitem__(self, name: str) -> Value:
        return self._values[name.lower()]

    def __setitem__(self, name: str, value: Value) -> None:
        key = name.lower()
        self._names.setdefault(key, name)
        self._values[key] = value

    def set_lower(self, key: str, name: str, value: Value) -> None:
        """``self[name] = value`` where ``key`` is already ``name.lower()`` (a hot path's shortcut)."""
        self._names.setdefault(key, name)
        self._values[key] = value

    def __delitem__(self, name: str) -> None:
        key = name.lower()
        del self._values[key]
        del self._names[key]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._names.values())

    def __len__(self) -> int:
        return len(self._values)

    def get(self, name: str, default: Value | None = None) -> Value | None:  # type: ignore[override]
        return self._values.get(name.lower(), default)

    def lower_items(self) -> Mapping[str, Value]:
        """The values keyed by lower-cased name (a read-only view for hot loops)."""
        return self._values

    def copy(self) -> Ad:
        new = Ad()
        new._values = dict(self._values)
        new._names = dict(self._names)
        return new

    def update(self, other: Mapping[str, Value]) -> None:
        for name, value in other.items():
            self[name] = value

    def __repr__(self) -> str:
        body = ", ".join(f"{n}={self._values[k]!r}" for k, n in self._names.items())
        return f"Ad({body})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Ad):
            return NotImplemented
        return self._values == other._values

    __hash__ = None  # type: ignore[assignment]
