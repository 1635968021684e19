"""ClassAd builtins for the vectorized evaluator.

Numeric conversions run in numpy. String and list functions are evaluated by classad2 once per
*distinct* argument tuple (tables intern their strings, so that is once per distinct value), and
remembered: exact by construction, and as fast as a dict lookup per distinct value.
"""

from __future__ import annotations

import functools

import classad2
import numpy as np

from .column import T_BOOL, T_ERROR, T_INT, T_REAL, T_STR, T_UNDEF, Column
from .ops import INT64_MIN
from .parser import _literal
from .values import ERROR

__all__ = ["MEMO_FUNCTIONS", "NUMERIC_FUNCTIONS", "call_memo", "call_numeric", "type_test"]

# Evaluated per distinct argument tuple by classad2 (any arity: classad2 decides what's ERROR).
MEMO_FUNCTIONS = frozenset(
    {
        "strcmp", "stricmp", "tolower", "toupper", "size", "substr", "strcat", "regexp",
        "stringlistmember", "stringlistimember", "string",
        "int", "real", "floor", "ceiling", "round",
    }
)  # fmt: skip
NUMERIC_FUNCTIONS = frozenset({"int", "real", "floor", "ceiling", "round"})


def type_test(name: str, a: Column) -> Column:
    """isUndefined / isError."""
    want = T_UNDEF if name == "isundefined" else T_ERROR
    m = len(a.tag)
    return Column(np.full(m, T_BOOL, np.int8), (a.tag == want).astype(np.int64), np.zeros(m))


def _to_int(x: np.ndarray) -> np.ndarray:
    """float64 -> int64 like C's cast on x86: out of range and NaN give INT64_MIN."""
    ok = (x >= -(2.0**63)) & (x < 2.0**63)
    with np.errstate(all="ignore"):
        out = np.where(ok, x, 0.0).astype(np.int64)
    out[~ok] = INT64_MIN
    return out


def call_numeric(name: str, a: Column) -> Column | None:
    """int/real/floor/ceiling/round on numeric, undefined and error rows; None if some row holds a
    string (the caller then uses :func:`call_memo`)."""
    if np.any(a.tag == T_STR) or np.any(a.tag > T_STR):
        return None
    m = len(a.tag)
    ints = (a.tag == T_INT) | (a.tag == T_BOOL)
    reals = a.tag == T_REAL
    # isUndefined-like propagation: int/real keep UNDEFINED, floor/ceiling/round give ERROR.
    bad = np.where(a.tag == T_UNDEF, T_UNDEF if name in ("int", "real") else T_ERROR, T_ERROR)
    if name == "real":
        fval = np.where(ints, a.i.astype(np.float64), a.f)
        tag = np.where(ints | reals, T_REAL, bad)
        return Column(tag.astype(np.int8), np.zeros(m, np.int64), fval)
    rounder = {"int": np.trunc, "floor": np.floor, "ceiling": np.ceil, "round": np.rint}[name]
    with np.errstate(all="ignore"):
        ival = np.where(ints, a.i, _to_int(rounder(a.f)))
    tag = np.where(ints | reals, T_INT, bad)
    return Column(tag.astype(np.int8), ival, np.zeros(m))


@functools.lru_cache(maxsize=65536)
def _eval_call(text: str) -> object:
    try:
        return classad2.ExprTree(text).eval()
    except classad2.ClassAdException:
        return ERROR


def _arg_keys(col: Column, m: int) -> np.ndarray | None:
    """Per-row int64 keys equal exactly where two rows hold the same typed value (None: constant)."""
    if len(col.tag) == 1:
        return None
    codes, pool = col.interned()
    keys = np.empty(m, dtype=np.int64)
    has_obj = codes >= 0
    keys[has_obj] = codes[has_obj]
    rest = np.nonzero(~has_obj)[0]
    if len(rest):
        stacked = np.stack([col.tag[rest].astype(np.int64), col.i[rest], col.f[rest].view(np.int64)])
        _, inverse = np.unique(stacked, axis=1, return_inverse=True)
        keys[rest] = len(pool) + inverse.reshape(-1)
    return keys


def call_memo(name: str, args: list[Column], m: int) -> Column:
    """Evaluate ``name(args...)`` by classad2 once per distinct argument tuple."""
    varying = [k for k, a in enumerate(args) if len(a.tag) > 1]
    if len(varying) == 1 and args[varying[0]].kind == T_STR and args[varying[0]].interned()[1].size <= m:
        # The common case (stringListMember(TARGET.Site, "a,b")): one call per distinct string
        # of the column's pool, then a gather by code.
        col = args[varying[0]]
        codes, pool = col.interned()
        values = []
        for p in pool.tolist():
            lits = [_literal(p) if k == varying[0] else _literal(a.value(0)) for k, a in enumerate(args)]
            values.append(_eval_call(f"{name}({', '.join(lits)})"))
        return Column.from_values(values).take(codes)
    keys = [k for k in (_arg_keys(a, m) for a in args) if k is not None]
    if not keys:
        reps, inverse = np.zeros(1, dtype=np.int64), None
    elif len(keys) == 1:
        _, reps, inverse = np.unique(keys[0], return_index=True, return_inverse=True)
    else:
        _, reps, inverse = np.unique(np.stack(keys), axis=1, return_index=True, return_inverse=True)
    values = []
    for r in reps.tolist():
        lits = [_literal(a.value(0 if len(a.tag) == 1 else r)) for a in args]
        values.append(_eval_call(f"{name}({', '.join(lits)})"))
    out = Column.from_values(values)
    if inverse is None:
        return out
    return out.take(inverse.reshape(-1))
