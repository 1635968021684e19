"""Evaluation scopes: one side of a match (an Ad, rows of an AdTable, or nothing)."""

from __future__ import annotations

import functools

import numpy as np

from .column import T_MISSING, Column
from .table import AdTable, encode
from .values import Ad

__all__ = ["Scope"]

_MISSING = Column.const(T_MISSING)


def _encode_one(value: object) -> Column:
    """A single ad's attribute as a 1-row column, shared between calls for the same value
    (columns are never written in place)."""
    try:
        # repr tells 0.0 from -0.0 (equal as Python keys, different ClassAd values)
        return _encode_cached(type(value), repr(value) if isinstance(value, float) else value, value)
    except TypeError:  # unhashable: not a ClassAd value anyway; let encode() say so
        return encode([value])


@functools.lru_cache(maxsize=65536)
def _encode_cached(kind: type, key: object, value: object) -> Column:
    return encode([value])


class Scope:
    """The ad(s) an attribute reference reads: a single Ad (columns of length 1), some rows of
    an AdTable (``rows`` None = all), or no ad at all. ``sid`` identifies the underlying ads, for
    the reference-cycle guard."""

    __slots__ = ("_cache", "ad", "rows", "sid", "table")

    def __init__(self, ad: Ad | None = None, table: AdTable | None = None, rows: np.ndarray | None = None,
                 cache: dict | None = None):  # fmt: skip
        self.ad = ad
        self.table = table
        self.rows = rows
        self.sid = id(table) if table is not None else id(ad)
        self._cache: dict[str, Column] = {} if cache is None else cache

    @staticmethod
    def of(side: Ad | AdTable | None) -> Scope:
        if isinstance(side, AdTable):
            return Scope(table=side)
        return Scope(ad=side)

    def attr(self, key: str) -> Column:
        """The raw attribute column (T_MISSING / T_EXPR rows not yet resolved)."""
        col = self._cache.get(key)
        if col is None:
            if self.table is not None:
                col = self.table.attr(key)
                if self.rows is not None:
                    col = col.take(self.rows)
            elif self.ad is not None:
                col = _encode_one(self.ad.lower_items().get(key))
            else:
                col = _MISSING
            self._cache[key] = col
        return col

    @property
    def key(self) -> tuple:
        """Identifies the ads and rows this scope reads (for memoizing within one evaluation)."""
        return (self.sid, None if self.rows is None else id(self.rows))

    def subset(self, local: np.ndarray, *, stable: bool = False) -> Scope:
        """The scope restricted to positions ``local`` of its current rows. ``stable``: ``local``
        is an array the caller keeps and passes again (its columns are then cached by the table)."""
        if self.table is None:
            return self
        if self.rows is None:
            cache = self.table.subset_cache(local) if stable else None
            return Scope(table=self.table, rows=local, cache=cache)
        return Scope(table=self.table, rows=self.rows[local])
