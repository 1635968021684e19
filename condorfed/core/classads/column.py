"""Typed columns: one ClassAd value per row, stored as a type tag plus numpy payload arrays.

A column of length 1 stands for the same value on every row (it broadcasts), so that what
depends only on a single ad is computed once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .values import ERROR, UNDEFINED

__all__ = [
    "T_BOOL",
    "T_ERROR",
    "T_EXPR",
    "T_INT",
    "T_MISSING",
    "T_OTHER",
    "T_REAL",
    "T_STR",
    "T_UNDEF",
    "Column",
]

# Type tags. T_OTHER holds classad2-typed Python objects (lists, nested ads, ...) in ``s``.
# Only in raw attribute columns (before the evaluator resolves them): T_EXPR holds unevaluated
# Expr text in ``s``, and T_MISSING marks an ad without the attribute (which differs from an
# attribute whose value is ``undefined``: only a missing one falls through to TARGET).
T_UNDEF, T_ERROR, T_BOOL, T_INT, T_REAL, T_STR, T_OTHER, T_EXPR, T_MISSING = range(9)
_EMPTY_I = np.zeros(1, dtype=np.int64)
_EMPTY_F = np.zeros(1, dtype=np.float64)


@dataclass(slots=True)
class Column:
    """Values of one expression over rows.

    ``tag``: int8 type tags; ``i``: int64 (ints, and bools as 0/1); ``f``: float64 (reals);
    ``s``: object array (strings and T_OTHER values) or None when no row holds one.
    All arrays have the same length: ``n`` rows, or 1 for a value shared by every row.
    ``codes``/``pool``: optional interning of ``s``: ``s[k] == pool[codes[k]]`` wherever ``s``
    holds a value (codes -1 elsewhere), so per-distinct-string work is done once.
    """

    tag: np.ndarray
    i: np.ndarray
    f: np.ndarray
    s: np.ndarray | None = None
    codes: np.ndarray | None = None
    pool: np.ndarray | None = None
    known_kind: int | None = -1  # -1: not computed yet; see ``kind``
    groups: tuple | None = None  # the evaluator's cache: T_EXPR rows grouped by expression

    @property
    def kind(self) -> int | None:
        """The one type tag every row has, or None if rows differ (computed once)."""
        if self.known_kind == -1:
            tag = self.tag
            first = int(tag[0]) if len(tag) else None
            self.known_kind = first if len(tag) == 1 or (tag == first).all() else None
        return self.known_kind

    def __len__(self) -> int:
        return len(self.tag)

    # -- construction ----------------------------------------------------------------------------
    @staticmethod
    def scalar(value: object) -> Column:
        return Column.from_values([value])

    @staticmethod
    def from_values(values: Sequence[object]) -> Column:
        """Build from classad2-typed Python values (bool, int, float, str, Undefined, Error, other)."""
        n = len(values)
        tag = np.empty(n, dtype=np.int8)
        ival = np.zeros(n, dtype=np.int64)
        fval = np.zeros(n, dtype=np.float64)
        sval: np.ndarray | None = None
        for k, v in enumerate(values):
            # classad2.Value is an IntEnum: test for it before int.
            if v is UNDEFINED:
                tag[k] = T_UNDEF
            elif v is ERROR:
                tag[k] = T_ERROR
            elif v is True or v is False:
                tag[k] = T_BOOL
                ival[k] = int(v)
            elif isinstance(v, int):
                tag[k] = T_INT
                ival[k] = v
            elif isinstance(v, float):
                tag[k] = T_REAL
                fval[k] = v
            else:
                if sval is None:
                    sval = np.empty(n, dtype=object)
                tag[k] = T_STR if isinstance(v, str) else T_OTHER
                sval[k] = v
        return Column(tag, ival, fval, sval)

    @staticmethod
    def const(tag: int, n: int = 1) -> Column:
        return Column(np.full(n, tag, dtype=np.int8), np.zeros(n, np.int64), np.zeros(n, np.float64),
                      known_kind=tag)  # fmt: skip

    @staticmethod
    def bools(mask: np.ndarray) -> Column:
        n = len(mask)
        return Column(np.full(n, T_BOOL, dtype=np.int8), mask.astype(np.int64), np.zeros(n, np.float64),
                      known_kind=T_BOOL)  # fmt: skip

    # -- shape -------------------------------------------------------------------------------------
    def broadcast(self, n: int) -> Column:
        if len(self.tag) == n:
            return self
        if len(self.tag) != 1:
            raise ValueError(f"cannot broadcast a column of {len(self.tag)} rows to {n}")
        s = None if self.s is None else np.full(n, self.s[0], dtype=object)
        codes = None if self.codes is None else np.repeat(self.codes, n)
        return Column(np.repeat(self.tag, n), np.repeat(self.i, n), np.repeat(self.f, n), s, codes,
                      self.pool, int(self.tag[0]))  # fmt: skip

    def take(self, rows: np.ndarray) -> Column:
        """The rows selected by an index array (a length-1 column stays shared)."""
        if len(self.tag) == 1:
            return self
        s = None if self.s is None else self.s[rows]
        codes = None if self.codes is None else self.codes[rows]
        kind = self.known_kind if self.known_kind is not None and self.known_kind >= 0 else -1
        return Column(self.tag[rows], self.i[rows], self.f[rows], s, codes, self.pool, kind)

    def strings(self) -> np.ndarray:
        """The object array, created on demand."""
        if self.s is None:
            self.s = np.empty(len(self.tag), dtype=object)
        return self.s

    def interned(self) -> tuple[np.ndarray, np.ndarray]:
        """(codes, pool) for the rows that hold an object in ``s`` (code -1 elsewhere)."""
        if self.codes is None or self.pool is None:
            n = len(self.tag)
            codes = np.full(n, -1, dtype=np.int64)
            pool: list = []
            if self.s is not None:
                index: dict = {}
                has = (self.tag == T_STR) | (self.tag == T_OTHER) | (self.tag == T_EXPR)
                rows = np.nonzero(has)[0]
                for r, v in zip(rows.tolist(), self.s[rows].tolist(), strict=True):
                    key = (type(v), v)
                    c = index.get(key)
                    if c is None:
                        c = index[key] = len(pool)
                        pool.append(v)
                    codes[r] = c
            arr = np.empty(len(pool), dtype=object)
            arr[:] = pool
            self.codes, self.pool = codes, arr
        return self.codes, self.pool

    # -- results -------------------------------------------------------------------------------------
    def truth(self) -> np.ndarray:
        """True exactly where HTCondor's EvalBool says true: bool true or a non-zero number."""
        tag = self.tag
        return ((tag == T_BOOL) | (tag == T_INT)) & (self.i != 0) | (tag == T_REAL) & (self.f != 0.0)

    def as_float(self) -> np.ndarray:
        """Numbers as float64 (bools as 0/1); undefined, error, strings, others -> 0.0 (as ranks)."""
        tag = self.tag
        out = np.where(tag == T_REAL, self.f, 0.0)
        ints = (tag == T_INT) | (tag == T_BOOL)
        out[ints] = self.i[ints]
        return out

    def to_list(self) -> list:
        """classad2-typed Python values, one per row."""
        out: list = []
        tags = self.tag.tolist()
        ints = self.i.tolist()
        floats = self.f.tolist()
        strs = self.s
        for k, t in enumerate(tags):
            if t == T_BOOL:
                out.append(bool(ints[k]))
            elif t == T_INT:
                out.append(ints[k])
            elif t == T_REAL:
                out.append(floats[k])
            elif t == T_UNDEF:
                out.append(UNDEFINED)
            elif t == T_ERROR:
                out.append(ERROR)
            else:
                out.append(strs[k])  # type: ignore[index]
        return out

    def value(self, row: int) -> object:
        """One row as a classad2-typed Python value."""
        return Column(self.tag[row : row + 1], self.i[row : row + 1], self.f[row : row + 1],
                      None if self.s is None else self.s[row : row + 1]).to_list()[0]  # fmt: skip


def scatter(base: Column, rows: np.ndarray, part: Column) -> Column:
    """``base`` (copied, broadcast to its full length) with ``rows`` replaced by ``part``."""
    return scatter_many(base, [(rows, part)])


def scatter_many(base: Column, parts: list[tuple[np.ndarray, Column]], keep_strings: bool = True) -> Column:
    """``base`` copied once, then each ``(rows, part)`` written over it. ``keep_strings=False``
    drops base's object array (when every row that held one is overwritten)."""
    s = base.s.copy() if keep_strings and base.s is not None else None
    out = Column(base.tag.copy(), base.i.copy(), base.f.copy(), s)
    for rows, part in parts:
        out.tag[rows] = part.tag
        out.i[rows] = part.i
        out.f[rows] = part.f
        if part.s is not None:
            out.strings()[rows] = part.s
    return out


__all__ += ["scatter", "scatter_many"]
del _EMPTY_I, _EMPTY_F
