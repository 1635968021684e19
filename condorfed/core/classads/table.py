"""AdTable: many ads stored column by column, for vectorized evaluation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .column import T_BOOL, T_ERROR, T_EXPR, T_INT, T_MISSING, T_REAL, T_STR, T_UNDEF, Column
from .values import ERROR, UNDEFINED, Ad, Expr

__all__ = ["AdTable", "encode"]


def encode(values: list[object]) -> Column:
    """One attribute over rows (None: the ad lacks it -> T_MISSING; Expr -> T_EXPR), with
    strings and expression texts interned."""
    n = len(values)
    tag = np.empty(n, dtype=np.int8)
    ival = np.zeros(n, dtype=np.int64)
    fval = np.zeros(n, dtype=np.float64)
    sval: np.ndarray | None = None
    codes: np.ndarray | None = None
    index: dict = {}
    pool: list = []
    for k, v in enumerate(values):
        t = type(v)
        if t is int:
            tag[k] = T_INT
            ival[k] = v
        elif t is float:
            tag[k] = T_REAL
            fval[k] = v
        elif t is bool:
            tag[k] = T_BOOL
            ival[k] = v
        elif v is None:
            tag[k] = T_MISSING
        elif v is UNDEFINED:
            tag[k] = T_UNDEF
        elif v is ERROR:
            tag[k] = T_ERROR
        elif isinstance(v, str):
            if sval is None:
                sval = np.empty(n, dtype=object)
                codes = np.full(n, -1, dtype=np.int64)
            is_expr = isinstance(v, Expr)
            tag[k] = T_EXPR if is_expr else T_STR
            sval[k] = v
            c = index.get((is_expr, v))
            if c is None:
                c = index[(is_expr, v)] = len(pool)
                pool.append(v)
            codes[k] = c  # type: ignore[index]
        elif isinstance(v, int):  # int subclasses such as numpy ints
            tag[k] = T_INT
            ival[k] = int(v)
        elif isinstance(v, float):
            tag[k] = T_REAL
            fval[k] = float(v)
        else:
            raise TypeError(f"not a ClassAd value: {v!r}")
    if sval is None:
        return Column(tag, ival, fval)
    parr = np.empty(len(pool), dtype=object)
    parr[:] = pool
    return Column(tag, ival, fval, sval, codes, parr)


class AdTable:
    """A columnar table of ads: ``AdTable.from_ads(ads)``; ``len(table)``; ``table.ad(i)``.

    Attribute columns are built on first use and cached. Numeric columns can be replaced
    (``set_column``), which is how partitionable slots advertise leftover resources.
    """

    __slots__ = ("_ads", "_classads", "_cols", "_overrides", "_source", "_subsets")

    def __init__(self, ads: Sequence[Ad]) -> None:
        self._ads = list(ads)
        self._cols: dict[str, Column] = {}
        self._overrides: dict[str, np.ndarray] = {}
        self._classads: list | None = None
        self._subsets: dict[int, tuple[np.ndarray, dict]] = {}
        # For a table made by ``take``: (parent, rows, parent's encoded columns at take time).
        # Columns are sliced from the parent on first use, so a subset pays only for what is read.
        self._source: tuple[AdTable, np.ndarray, dict[str, Column]] | None = None

    @classmethod
    def from_ads(cls, ads: Sequence[Ad]) -> AdTable:
        return cls([ad if isinstance(ad, Ad) else Ad(ad) for ad in ads])

    def __len__(self) -> int:
        return len(self._ads)

    def ad(self, i: int) -> Ad:
        """Row ``i`` as an Ad (including values replaced with ``set_column``)."""
        ad = self._ads[i]
        if not self._overrides:
            return ad
        ad = ad.copy()
        for name, arr in self._overrides.items():
            ad[name] = arr[i].item()
        return ad

    def attr(self, name: str) -> Column:
        """The attribute's column (T_EXPR rows hold expression text): for the evaluator."""
        key = name.lower()
        col = self._cols.get(key)
        if col is None:
            col = self._from_source(key)
            if col is None:
                col = encode([ad.lower_items().get(key) for ad in self._ads])
            self._cols[key] = col
        return col

    def _from_source(self, key: str) -> Column | None:
        """The parent's column sliced to this subset's rows, if the parent's is still valid for it:
        encoded when the subset was taken, or never replaced since (so it is the ads' values)."""
        if self._source is None:
            return None
        parent, rows, snapshot = self._source
        col = snapshot.get(key)
        if col is None and key not in parent._overrides:
            col = parent.attr(key)
        return None if col is None else col.take(rows)

    def has_expressions(self, name: str) -> bool:
        return bool(np.any(self.attr(name).tag == T_EXPR))

    def column(self, name: str) -> np.ndarray:
        """A copy of a numeric attribute: int64 if every row holds an int (or bool), else float64
        with NaN where a row holds no number."""
        col = self.attr(name)
        ints = (col.tag == T_INT) | (col.tag == T_BOOL)
        if ints.all():
            return col.i.copy()
        out = np.full(len(col.tag), np.nan)
        out[ints] = col.i[ints]
        reals = col.tag == T_REAL
        out[reals] = col.f[reals]
        return out

    def set_column(self, name: str, values: np.ndarray) -> None:
        """Replace a numeric attribute for every row (int, float or bool array of len(table))."""
        values = np.asarray(values)
        n = len(self._ads)
        if values.shape != (n,):
            raise ValueError(f"set_column({name!r}) needs {n} values, got shape {values.shape}")
        if values.dtype == np.bool_:
            col = Column(np.full(n, T_BOOL, np.int8), values.astype(np.int64), np.zeros(n))
            values = values.astype(bool)
        elif np.issubdtype(values.dtype, np.integer):
            col = Column(np.full(n, T_INT, np.int8), values.astype(np.int64), np.zeros(n))
            values = values.astype(np.int64)
        elif np.issubdtype(values.dtype, np.floating):
            col = Column(np.full(n, T_REAL, np.int8), np.zeros(n, np.int64), values.astype(np.float64))
            values = values.astype(np.float64)
        else:
            raise TypeError(f"set_column({name!r}) needs a numeric array, got {values.dtype}")
        key = name.lower()
        self._cols[key] = col
        # Keyed lower-case: Ad keeps an existing attribute's spelling when assigned.
        self._overrides[key] = values.copy()
        self._classads = None
        for _, cache in self._subsets.values():  # subsets keep their other columns
            cache.pop(key, None)

    def set_rows(self, name: str, rows: np.ndarray, values: np.ndarray) -> bool:
        """Replace some rows of a column set with :meth:`set_column`, in place, when the values keep
        its type (integers in an integer column, reals in a real one). False: nothing was changed."""
        key = name.lower()
        arr, col = self._overrides.get(key), self._cols.get(key)
        values = np.asarray(values)
        if arr is None or col is None:
            return False
        if arr.dtype == np.int64 and np.issubdtype(values.dtype, np.integer):
            col.i[rows] = values
        elif arr.dtype == np.float64 and np.issubdtype(values.dtype, np.floating):
            col.f[rows] = values
        else:
            return False
        arr[rows] = values
        if self._classads is not None:
            for r in np.asarray(rows).tolist():
                self._classads[r] = None
        for _, cache in self._subsets.values():
            cache.pop(key, None)
        return True

    def subset_cache(self, rows: np.ndarray) -> dict:
        """A column cache for a row subset the evaluator uses on every call (the rows of one
        expression text in an expression-valued attribute). Keyed by the array's identity; the
        array is kept alive with it. ``set_column`` drops the replaced column from every cache."""
        hit = self._subsets.get(id(rows))
        if hit is not None and hit[0] is rows:
            return hit[1]
        if len(self._subsets) > 1024:
            self._subsets.clear()
        cache: dict = {}
        self._subsets[id(rows)] = (rows, cache)
        return cache

    def take(self, rows: Sequence[int] | np.ndarray) -> AdTable:
        """A new table of the selected rows (with replaced columns carried over)."""
        rows = np.array(rows, dtype=np.int64)  # a copy: the subset slices lazily
        new = AdTable([self._ads[r] for r in rows.tolist()])
        # Columns are sliced from this table's on first use, not re-encoded from the ads.
        new._source = (self, rows, dict(self._cols))
        new._overrides = {key: arr[rows] for key, arr in self._overrides.items()}
        return new

    def preset_classads(self, ads: list) -> None:
        """Use these classad2 ads (None: build from the Ad) for the fallback path."""
        if len(ads) != len(self._ads):
            raise ValueError("preset_classads needs one entry per row")
        self._classads = list(ads)

    def classad(self, i: int):
        """Row ``i`` as a classad2.ClassAd (cached), for the classad2 fallback."""
        from .convert import to_classad

        if self._classads is None:
            self._classads = [None] * len(self._ads)
        c = self._classads[i]
        if c is None:
            c = self._classads[i] = to_classad(self.ad(i))
        return c
